/*
 * The HTML report: one self-contained page (inline CSS, a few lines of inline JavaScript for
 * cell tooltips, nothing fetched). The summary on top, then a matrix: one row per target, one
 * column per codebase migration, each cell coloured by the migration's state on the target,
 * and a last column for ledger rows that match no migration (ahead or foreign). Below, every
 * target not in sync with all its problems.
 *
 * Built for 500 targets x 100 migrations: a cell is a bare `<td class=X>` (about 12 bytes) and
 * its tooltip is made on hover from the row and column headers, instead of 50,000 title
 * attributes; the header row and the target column stay in view while scrolling.
 *
 * Elements a test or a script may read: #verdict, #exit-code, #codebase-migrations,
 * #codebase-head, #count-targets, #count-<status> and #count-not_started, #count-ok and
 * #outcome-<outcome> (apply only), each with data-count; table#matrix (data-targets,
 * data-migrations), its rows (data-target, data-status) and cells (class a, n, p, o, m or u).
 */
#include "report/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_LISTED_PENDING = 8 }; /* pending migrations named in the details list */

static const char *const cell_class[] = {
    [CELL_UNKNOWN] = "u", [CELL_APPLIED] = "a",  [CELL_APPLIED_NOW] = "n",
    [CELL_PENDING] = "p", [CELL_MODIFIED] = "m", [CELL_OUT_OF_ORDER] = "o",
};

/* What a cell shows besides its colour, so that states differ without colour too. */
static const char *const cell_mark[] = {
    [CELL_UNKNOWN] = "", [CELL_APPLIED] = "",   [CELL_APPLIED_NOW] = "+",
    [CELL_PENDING] = "", [CELL_MODIFIED] = "!", [CELL_OUT_OF_ORDER] = "o",
};

static const char CSS[] =
    ":root{--a:#2e9d4c;--n:#8fd8a0;--p:#f0b429;--o:#8e44ad;--m:#d64541;--u:#d9d9d9;"
    "--ahead:#3b82f6;--bad:#b3261e}\n"
    "body{font:13px/1.4 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:0;color:#1f1f1f;"
    "background:#fff}\n"
    "header{padding:12px 16px 4px}\n"
    "h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:16px 0 6px}\n"
    ".verdict.ok{color:var(--a)}.verdict.bad{color:var(--bad)}\n"
    ".meta{margin:2px 0;color:#555}code{font-size:12px}\n"
    "ul.counts{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0;margin:8px 0}\n"
    "ul.counts li{border:1px solid #ccc;border-left-width:5px;border-radius:3px;"
    "padding:1px 8px}\n"
    "ul.counts li b{font-size:15px}ul.counts li.zero{opacity:.45}\n"
    ".legend{margin:6px 0;color:#444}\n"
    ".sw{display:inline-block;width:14px;height:14px;line-height:14px;text-align:center;"
    "font-size:10px;color:#fff;vertical-align:middle;margin:0 3px 0 10px}\n"
    ".a{background:var(--a)}.n{background:var(--n)}.p{background:var(--p)}"
    ".o{background:var(--o)}.m{background:var(--m)}.u{background:var(--u)}\n"
    "main{padding:0 16px 16px}\n"
    ".wrap{overflow:auto;max-height:80vh;border:1px solid #ddd}\n"
    "table.mx{border-collapse:separate;border-spacing:0}\n"
    ".mx th,.mx td{padding:0;border:solid #fff;border-width:0 1px 1px 0}\n"
    ".mx thead th{position:sticky;top:0;z-index:2;background:#f4f4f4;vertical-align:bottom;"
    "font-weight:600;padding:2px 6px}\n"
    ".mx thead th.tn{left:0;z-index:3;text-align:left}\n"
    ".mx thead th.mg{padding:2px 0;font-weight:400;font-size:11px}\n"
    ".mx th.mg div{writing-mode:vertical-rl;transform:rotate(180deg);max-height:110px;"
    "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;width:14px;line-height:14px}\n"
    ".mx tbody th{position:sticky;left:0;z-index:1;background:#fff;text-align:left;"
    "font-weight:400;white-space:nowrap;max-width:260px;overflow:hidden;"
    "text-overflow:ellipsis;padding:0 8px 0 4px;border-left:5px solid #999}\n"
    ".mx td{min-width:14px;width:14px;height:16px;text-align:center;font-size:10px;"
    "line-height:16px;color:#fff}\n"
    ".mx td.st,.mx td.pn,.mx td.oc{width:auto;padding:0 6px;color:#1f1f1f;white-space:nowrap;"
    "font-size:12px}\n"
    ".mx td.pn{text-align:right}.mx td.st{text-align:left}\n"
    ".mx td.x{width:auto;padding:0 6px;white-space:nowrap;color:#fff;background:var(--ahead)}\n"
    ".mx td.x.f{background:var(--bad)}\n"
    ".mx td.dr{width:auto;padding:0 6px;white-space:nowrap;text-align:left}\n"
    ".mx td.dr.bad{color:#fff;background:var(--bad)}\n"
    ".mx td.dr code{display:block;font-size:11px}\n"
    ".mx tbody tr:hover th,.mx tbody tr:hover td.st{background:#fff3c4}\n"
    "#only-bad:checked~.wrap tr.ok{display:none}\n"
    ".s-in_sync{border-left-color:var(--a)!important}"
    ".s-behind,.s-uninitialized{border-left-color:var(--p)!important}"
    ".s-out_of_order{border-left-color:var(--o)!important}"
    ".s-modified,.s-foreign,.s-unmanaged{border-left-color:var(--m)!important}"
    ".s-ahead{border-left-color:var(--ahead)!important}"
    ".s-locked,.s-migrating{border-left-color:#6b7280!important}"
    ".s-unreachable{border-left-color:#3f3f46!important}"
    ".s-not_started{border-left-color:#c4c4c4!important}\n"
    "ul.details{padding-left:18px}ul.details li{margin:4px 0}\n"
    "ul.details .why{color:#444;display:block;margin-left:12px}\n"
    "footer{color:#888;padding:8px 16px;font-size:11px}\n";

/* Cell tooltips on hover: "target · tag (when ...): state", from the row and column headers. */
static const char JS[] =
    "(function(){var n={a:\"applied\",n:\"applied by this run\",p:\"pending\","
    "o:\"out of order\",m:\"modified\",u:\"unknown\"},t=document.getElementById(\"matrix\"),"
    "h=t.tHead.rows[0].cells;t.addEventListener(\"mouseover\",function(e){var c=e.target;"
    "if(c.tagName===\"TD\"&&!c.title&&n[c.className])c.title=c.parentNode.cells[0].textContent+"
    "\" \\u00b7 \"+h[c.cellIndex].title+\": \"+n[c.className];});})();\n";

static void esc(PfBuf *b, const char *s)
{
    report_xml_escape(b, s, true);
}

static void count_item(PfBuf *b, const char *id, const char *cls, size_t n, const char *label)
{
    pf_buf_printf(b, "<li id=\"%s\" class=\"%s%s\" data-count=\"%zu\"><b>%zu</b> %s</li>\n", id,
                  cls, n ? "" : " zero", n, n, label);
}

static void summary(PfBuf *b, const ReportContext *ctx, const ReportTally *t, bool ok)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    const char *cmd = fleet_mode_name(fr->mode);
    pf_buf_printf(b, "<header>\n<h1>pgfleet %s: <span id=\"verdict\" class=\"verdict %s\">", cmd,
                  ok ? "ok" : "bad");
    pf_buf_printf(b, "%s</span></h1>\n",
                  fr->interrupted       ? "interrupted"
                  : ctx->exit_code == 0 ? (t->ok == fr->n ? "in sync" : "ready to apply")
                  : ctx->exit_code == 1 ? "not in sync"
                                        : "targets failed or unreachable");
    pf_buf_puts(b, "<p class=\"meta\">inventory <code>");
    esc(b, ctx->inventory_path ? ctx->inventory_path : "");
    pf_buf_printf(b, "</code> · started <time id=\"started-at\">");
    esc(b, fr->started_at);
    char took[32];
    report_duration(took, fr->duration_ms);
    pf_buf_printf(b,
                  "</time> · took <span id=\"duration\" data-ms=\"%lld\">%s</span> · exit "
                  "code <span id=\"exit-code\" data-count=\"%d\">%d</span></p>\n",
                  (long long)fr->duration_ms, took, ctx->exit_code, ctx->exit_code);
    pf_buf_puts(b, "<p class=\"meta\">codebase <code>");
    esc(b, cb->dir);
    pf_buf_printf(b,
                  "</code> (%s) · <span id=\"codebase-migrations\" data-count=\"%zu\">%zu</span> "
                  "migrations · head <code id=\"codebase-head\">",
                  cb->layout == CB_LAYOUT_JOURNAL ? "journal" : "folders", cb->n, cb->n);
    const CbMigration *head = cb_head(cb);
    esc(b, head ? head->tag : "(none)");
    pf_buf_puts(b, "</code></p>\n<ul class=\"counts\">\n");
    count_item(b, "count-targets", "", fr->n, "targets");
    if (fleet_mode_writes(fr->mode))
        count_item(b, "count-ok", "s-in_sync", t->ok, "in sync after the run");
    for (int s = 0; s < TARGET_STATUS_COUNT; s++) {
        const char *name = plan_status_name((TargetStatus)s);
        char id[48], cls[48];
        snprintf(id, sizeof id, "count-%s", name);
        snprintf(cls, sizeof cls, "s-%s", name);
        count_item(b, id, cls, t->status[s], name);
    }
    count_item(b, "count-not_started", "s-not_started", t->not_started, "not_started");
    pf_buf_puts(b, "</ul>\n");
    if (fleet_mode_writes(fr->mode)) {
        pf_buf_puts(b, "<ul class=\"counts outcomes\">\n");
        for (int o = OUTCOME_APPLIED; o < OUTCOME_COUNT; o++) {
            const char *name = fleet_outcome_name((TargetOutcome)o);
            char id[48];
            snprintf(id, sizeof id, "outcome-%s", name);
            count_item(b, id, "", t->outcome[o], name);
        }
        pf_buf_printf(b, "</ul>\n<p class=\"meta\">applied %zu migration%s to %zu target%s</p>\n",
                      t->applied_migrations, t->applied_migrations == 1 ? "" : "s",
                      t->applied_targets, t->applied_targets == 1 ? "" : "s");
    }
    pf_buf_puts(b, "<p class=\"legend\">cells:<span class=\"sw a\"></span>applied");
    if (fleet_mode_writes(fr->mode))
        pf_buf_puts(b, "<span class=\"sw n\">+</span>applied by this run");
    pf_buf_puts(b, "<span class=\"sw p\"></span>pending<span class=\"sw o\">o</span>out of order"
                   "<span class=\"sw m\">!</span>modified<span class=\"sw u\"></span>unknown "
                   "(ledger not read)</p>\n</header>\n");
}

/* The last cell of a row: ledger rows that match no migration of the codebase. */
static void other_rows_cell(PfBuf *b, const FleetResult *fr, const TargetResult *r)
{
    size_t ahead = 0, foreign = 0;
    for (size_t i = 0; report_plan_known(fr, r) && i < r->plan.n_problems; i++) {
        if (r->plan.problems[i].kind == TARGET_AHEAD)
            ahead++;
        else if (r->plan.problems[i].kind == TARGET_FOREIGN)
            foreign++;
    }
    if (!ahead && !foreign) {
        pf_buf_puts(b, "<td class=xn></td>");
        return;
    }
    pf_buf_printf(b, "<td class=\"x%s\" data-ahead=\"%zu\" data-foreign=\"%zu\" title=\"",
                  foreign ? " f" : "", ahead, foreign);
    const char *sep = "";
    for (size_t i = 0; i < r->plan.n_problems; i++) {
        const PlanProblem *p = &r->plan.problems[i];
        if (p->kind != TARGET_AHEAD && p->kind != TARGET_FOREIGN)
            continue;
        pf_buf_puts(b, sep);
        esc(b, p->message);
        sep = "&#10;";
    }
    pf_buf_puts(b, "\">");
    if (ahead)
        pf_buf_printf(b, "%zu ahead", ahead);
    if (foreign)
        pf_buf_printf(b, "%s%zu foreign", ahead ? ", " : "", foreign);
    pf_buf_puts(b, "</td>");
}

/* The drift column (docs/drift.md): the number of differences, each on hover and expanded on
 * click; "=" when equal, "–" when not compared. */
static void drift_cell(PfBuf *b, const TargetResult *r)
{
    const TargetDrift *d = r->drift;
    if (!d || !d->checked) {
        pf_buf_puts(b, "<td class=\"dr\" title=\"");
        esc(b, d && d->summary ? d->summary : "not compared");
        pf_buf_puts(b, "\">–</td>");
        return;
    }
    if (d->n_lines == 0) {
        pf_buf_puts(b, "<td class=\"dr\" data-drift=\"0\" title=\"the schema is the one its "
                       "ledger's migrations make\">=</td>");
        return;
    }
    pf_buf_printf(b, "<td class=\"dr bad\" data-drift=\"%zu\" title=\"", d->n_lines);
    for (size_t i = 0; i < d->n_lines; i++) {
        if (i)
            pf_buf_puts(b, "&#10;");
        esc(b, d->lines[i]);
    }
    pf_buf_printf(b, "\"><details><summary>%zu</summary>", d->n_lines);
    for (size_t i = 0; i < d->n_lines; i++) {
        pf_buf_puts(b, "<code>");
        esc(b, d->lines[i]);
        pf_buf_puts(b, "</code>");
    }
    pf_buf_puts(b, "</details></td>");
}

static void matrix(PfBuf *b, const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    bool apply = fleet_mode_writes(fr->mode);
    pf_buf_puts(b, "<main>\n<h2>Targets × migrations</h2>\n<input type=\"checkbox\" "
                   "id=\"only-bad\"> <label for=\"only-bad\">show only the targets not in "
                   "sync</label>\n<div class=\"wrap\">\n");
    pf_buf_printf(b,
                  "<table class=\"mx\" id=\"matrix\" data-targets=\"%zu\" "
                  "data-migrations=\"%zu\">\n<thead><tr><th class=\"tn\">target</th>"
                  "<th>status</th><th title=\"migrations not applied when the run "
                  "ended\">pending</th>%s",
                  fr->n, cb->n, apply ? "<th>outcome</th>" : "");
    for (size_t m = 0; m < cb->n; m++) {
        const CbMigration *mig = &cb->migrations[m];
        pf_buf_puts(b, "<th class=\"mg\" title=\"");
        esc(b, mig->tag);
        pf_buf_printf(b, " (when %lld)\"><div>", (long long)mig->when);
        esc(b, mig->tag);
        pf_buf_puts(b, "</div></th>");
    }
    bool drift = false;
    for (size_t i = 0; i < fr->n && !drift; i++)
        drift = fr->targets[i].drift != NULL;
    pf_buf_puts(b, "<th class=\"xh\" title=\"ledger rows that match no migration of the "
                   "codebase: ahead (newer than its head) or foreign\">other ledger rows</th>");
    if (drift)
        pf_buf_puts(b, "<th class=\"xh\" title=\"differences between the schema and the one its "
                       "ledger's migrations make\">drift</th>");
    pf_buf_puts(b, "</tr></thead>\n<tbody>\n");
    ReportCell *cells = pf_calloc(cb->n ? cb->n : 1, sizeof *cells);
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        const char *status = report_status_label(r);
        pf_buf_printf(b, "<tr class=\"%s\" data-target=\"", report_target_ok(fr, r) ? "ok" : "bad");
        esc(b, r->target->name);
        pf_buf_printf(b, "\" data-status=\"%s\"><th class=\"s-%s\" title=\"", status, status);
        esc(b, r->target->dsn_masked);
        pf_buf_puts(b, "\">");
        esc(b, r->target->name);
        pf_buf_puts(b, "</th><td class=\"st\" title=\"");
        esc(b, report_detail(r));
        pf_buf_printf(b, "\">%s</td><td class=\"pn\">", status);
        if (report_plan_known(fr, r))
            pf_buf_printf(b, "%zu", report_pending_after(r));
        else
            pf_buf_puts(b, "–");
        pf_buf_puts(b, "</td>");
        if (apply)
            pf_buf_printf(b, "<td class=\"oc\">%s</td>", fleet_outcome_name(r->outcome));
        report_cells(cb, fr, r, cells);
        for (size_t m = 0; m < cb->n; m++)
            pf_buf_printf(b, "<td class=%s>%s", cell_class[cells[m]], cell_mark[cells[m]]);
        other_rows_cell(b, fr, r);
        if (drift)
            drift_cell(b, r);
        pf_buf_puts(b, "</tr>\n");
    }
    free(cells);
    pf_buf_puts(b, "</tbody>\n</table>\n</div>\n");
}

/* Every target not in sync, with all its problems, its error and what is pending. */
static void details(PfBuf *b, const ReportContext *ctx, const ReportTally *t)
{
    const FleetResult *fr = ctx->result;
    size_t bad = fr->n - t->ok;
    if (!bad)
        return;
    pf_buf_printf(b, "<h2>Targets not in sync (%zu)</h2>\n<ul class=\"details\" id=\"details\">\n",
                  bad);
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        if (report_target_ok(fr, r))
            continue;
        pf_buf_puts(b, "<li data-target=\"");
        esc(b, r->target->name);
        pf_buf_puts(b, "\"><b>");
        esc(b, r->target->name);
        pf_buf_printf(b, "</b>: %s", report_status_label(r));
        if (fleet_mode_writes(fr->mode))
            pf_buf_printf(b, ", %s", fleet_outcome_name(r->outcome));
        if (r->error) {
            pf_buf_puts(b, "<span class=\"why\">");
            esc(b, r->error);
            pf_buf_puts(b, "</span>");
        }
        for (size_t k = 0; r->drift && r->drift->checked && k < r->drift->n_lines; k++) {
            pf_buf_puts(b, "<span class=\"why\">");
            esc(b, r->drift->lines[k]);
            pf_buf_puts(b, "</span>");
        }
        for (size_t p = 0; p < r->plan.n_problems; p++) {
            pf_buf_printf(b,
                          "<span class=\"why\">%s: ", plan_status_name(r->plan.problems[p].kind));
            esc(b, r->plan.problems[p].message);
            pf_buf_puts(b, "</span>");
        }
        size_t n = report_pending_after(r);
        if (n > 0 && report_plan_known(fr, r)) {
            /* The matrix shows which; a long list here would only repeat it. */
            size_t first = r->plan.n_pending - n;
            const CbMigration *m = ctx->cb->migrations;
            if (n <= MAX_LISTED_PENDING) {
                pf_buf_puts(b, "<span class=\"why\">pending:");
                for (size_t k = first; k < r->plan.n_pending; k++) {
                    pf_buf_putc(b, ' ');
                    esc(b, m[r->plan.pending[k]].tag);
                }
            } else {
                pf_buf_printf(b, "<span class=\"why\">pending: %zu migrations, ", n);
                esc(b, m[r->plan.pending[first]].tag);
                pf_buf_puts(b, " … ");
                esc(b, m[r->plan.pending[r->plan.n_pending - 1]].tag);
            }
            pf_buf_puts(b, "</span>");
        }
        pf_buf_puts(b, "</li>\n");
    }
    pf_buf_puts(b, "</ul>\n");
}

char *report_html(const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    ReportTally t;
    report_tally(fr, &t);
    bool ok = ctx->exit_code == 0;
    PfBuf b = PF_BUF_INIT;
    pf_buf_printf(&b,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"generator\" content=\"pgfleet %s\">\n<title>pgfleet %s: ",
                  PGFLEET_VERSION, fleet_mode_name(fr->mode));
    pf_buf_printf(&b, "%zu of %zu targets in sync</title>\n<style>\n%s</style>\n</head>\n<body>\n",
                  t.ok, fr->n, CSS);
    summary(&b, ctx, &t, ok);
    matrix(&b, ctx);
    details(&b, ctx, &t);
    pf_buf_printf(&b,
                  "</main>\n<footer>pgfleet %s · one row per target, one column per "
                  "migration of the codebase; hover a cell for its target and "
                  "migration</footer>\n<script>\n%s</script>\n</body>\n</html>\n",
                  PGFLEET_VERSION, JS);
    return pf_buf_take(&b);
}
