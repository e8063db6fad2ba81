/*
 * The Markdown report: a summary fit for a pull-request comment (GitHub, GitLab and Gitea render
 * it alike). A heading with the command and its verdict, a table of counts per status, then the
 * targets: all of them when there are few, else those not in sync, at most MAX_ROWS.
 */
#include "report/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

enum {
    ALL_TARGETS_UP_TO = 20, /* list every target when there are no more than this */
    MAX_ROWS = 50,          /* and never more rows than this */
    MAX_TAGS = 5,           /* pending migrations named in a row */
};

/* Text inside a table cell: Markdown's punctuation backslash-escaped, so that a name or a
 * message can neither end the cell (|) nor start emphasis, a link, a code span or HTML. Line
 * breaks become spaces: a table row is one line. */
static void md(PfBuf *b, const char *s)
{
    char *u = report_utf8(s);
    for (const char *p = u; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            pf_buf_putc(b, ' ');
        else if (strchr("\\|`*_[]<>&~#!", *p))
            pf_buf_printf(b, "\\%c", *p);
        else
            pf_buf_putc(b, *p);
    }
    free(u);
}

static const char *verdict(const ReportContext *ctx, const ReportTally *t)
{
    const FleetResult *fr = ctx->result;
    if (fr->interrupted)
        return "interrupted";
    switch (ctx->exit_code) {
    case PF_EXIT_OK:
        if (t->ok == fr->n)
            return "in sync";
        return fr->mode == FLEET_PLAN ? "ready to apply" : "in sync";
    case PF_EXIT_NOT_IN_SYNC:
        return fleet_mode_writes(fr->mode) ? "targets refused"
               : fr->mode == FLEET_PLAN    ? "apply would refuse targets"
                                           : "not in sync";
    default:
        return "targets failed or unreachable";
    }
}

/* The detail cell: what is wrong, or what is pending. */
static void detail(PfBuf *b, const ReportContext *ctx, const TargetResult *r)
{
    const char *d = report_detail(r);
    if (r->drift && r->drift->checked && r->drift->n_lines > 0 && d == r->drift->summary) {
        md(b, d);
        pf_buf_puts(b, ": ");
        for (size_t i = 0; i < r->drift->n_lines && i < MAX_TAGS; i++) {
            if (i)
                pf_buf_puts(b, "; ");
            md(b, r->drift->lines[i]);
        }
        if (r->drift->n_lines > MAX_TAGS)
            pf_buf_printf(b, " and %zu more", r->drift->n_lines - MAX_TAGS);
        return;
    }
    if (*d) {
        md(b, d);
        /* The cell shows the error, else the first problem: say how many more there are. */
        size_t more = r->error ? r->plan.n_problems : r->plan.n_problems - 1;
        if (more)
            pf_buf_printf(b, " (+%zu more problem%s)", more, more == 1 ? "" : "s");
        return;
    }
    size_t n = report_pending_after(r);
    if (n == 0 || !report_plan_known(ctx->result, r))
        return;
    size_t first = r->plan.n_pending - n;
    pf_buf_puts(b, "pending: ");
    for (size_t i = 0; i < n && i < MAX_TAGS; i++) {
        if (i)
            pf_buf_puts(b, ", ");
        md(b, ctx->cb->migrations[r->plan.pending[first + i]].tag);
    }
    if (n > MAX_TAGS)
        pf_buf_printf(b, " and %zu more", n - MAX_TAGS);
}

static void row(PfBuf *b, const ReportContext *ctx, const TargetResult *r)
{
    const FleetResult *fr = ctx->result;
    pf_buf_puts(b, "| ");
    md(b, r->target->name);
    pf_buf_printf(b, " | `%s` | ", report_status_label(r));
    if (report_plan_known(fr, r))
        pf_buf_printf(b, "%zu", report_pending_after(r));
    else
        pf_buf_puts(b, "-");
    if (fleet_mode_writes(fr->mode))
        pf_buf_printf(b, " | `%s`", fleet_outcome_name(r->outcome));
    pf_buf_puts(b, " | ");
    detail(b, ctx, r);
    pf_buf_puts(b, " |\n");
}

char *report_markdown(const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    const char *cmd = fleet_mode_name(fr->mode);
    ReportTally t;
    report_tally(fr, &t);
    PfBuf b = PF_BUF_INIT;

    pf_buf_printf(&b, "### pgfleet %s: %s\n\n", cmd, verdict(ctx, &t));
    pf_buf_printf(&b, "**%zu of %zu target%s in sync**", t.ok, fr->n, fr->n == 1 ? "" : "s");
    if (fleet_mode_writes(fr->mode))
        pf_buf_printf(&b, " · applied %zu migration%s to %zu target%s", t.applied_migrations,
                      t.applied_migrations == 1 ? "" : "s", t.applied_targets,
                      t.applied_targets == 1 ? "" : "s");
    const CbMigration *head = cb_head(cb);
    pf_buf_printf(&b, " · codebase: %zu migration%s, head ", cb->n, cb->n == 1 ? "" : "s");
    if (head)
        md(&b, head->tag);
    else
        pf_buf_puts(&b, "(none)");
    char took[32];
    report_duration(took, fr->duration_ms);
    pf_buf_printf(&b, " · %s, %s · exit code %d\n\n", fr->started_at, took, ctx->exit_code);

    pf_buf_puts(&b, "| status | targets |\n| --- | ---: |\n");
    for (int s = 0; s < TARGET_STATUS_COUNT; s++)
        if (t.status[s])
            pf_buf_printf(&b, "| `%s` | %zu |\n", plan_status_name((TargetStatus)s), t.status[s]);
    if (t.not_started)
        pf_buf_printf(&b, "| `not_started` | %zu |\n", t.not_started);
    if (fleet_mode_writes(fr->mode)) {
        pf_buf_puts(&b, "\n| outcome | targets |\n| --- | ---: |\n");
        for (int o = OUTCOME_APPLIED; o < OUTCOME_COUNT; o++)
            if (t.outcome[o])
                pf_buf_printf(&b, "| `%s` | %zu |\n", fleet_outcome_name((TargetOutcome)o),
                              t.outcome[o]);
    }

    bool all = fr->n <= ALL_TARGETS_UP_TO;
    size_t listed = 0, left = 0;
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        if (!all && report_target_ok(fr, r))
            continue;
        if (listed == MAX_ROWS) {
            left++;
            continue;
        }
        if (listed++ == 0) {
            pf_buf_puts(&b, all ? "\n" : "\nTargets not in sync:\n\n");
            pf_buf_puts(&b, fleet_mode_writes(fr->mode)
                                ? "| target | status | pending | outcome | detail |\n"
                                  "| --- | --- | ---: | --- | --- |\n"
                                : "| target | status | pending | detail |\n"
                                  "| --- | --- | ---: | --- |\n");
        }
        row(&b, ctx, r);
    }
    if (left)
        pf_buf_printf(&b, "\n… and %zu more not in sync: see the full report.\n", left);
    if (!all && t.ok)
        pf_buf_printf(&b, "\n%zu target%s in sync not listed.\n", t.ok, t.ok == 1 ? "" : "s");
    return pf_buf_take(&b);
}
