/*
 * The JUnit XML report, for CI dashboards: one test suite for the run, one test case per
 * target. A test case passes when its target is in sync when the run ends; it has an <error>
 * when the target was unreachable, is <skipped> when it never started (the run was
 * interrupted), and has a <failure> otherwise (docs/report.md).
 */
#include "report/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void attr(PfBuf *b, const char *name, const char *value)
{
    pf_buf_printf(b, " %s=\"", name);
    report_xml_escape(b, value, true);
    pf_buf_putc(b, '"');
}

static void attr_seconds(PfBuf *b, const char *name, int64_t ms)
{
    pf_buf_printf(b, " %s=\"%.3f\"", name, (double)ms / 1000.0);
}

static void property(PfBuf *b, const char *name, const char *value)
{
    pf_buf_puts(b, "      <property");
    attr(b, "name", name);
    attr(b, "value", value);
    pf_buf_puts(b, "/>\n");
}

/* What a failing test case's message attribute says. */
static char *failure_message(const TargetResult *r)
{
    const char *detail = report_detail(r);
    if (*detail)
        return pf_strdup(detail);
    size_t n = report_pending_after(r);
    if (n > 0)
        return pf_asprintf("%s: %zu pending migration%s", report_status_label(r), n,
                           n == 1 ? "" : "s");
    return pf_strdup(report_status_label(r));
}

/* The body of a failure or error: everything known about the target, one fact a line. */
static char *failure_body(const ReportContext *ctx, const TargetResult *r)
{
    const FleetResult *fr = ctx->result;
    PfBuf b = PF_BUF_INIT;
    pf_buf_printf(&b, "status: %s\n", report_status_label(r));
    if (fleet_mode_writes(fr->mode))
        pf_buf_printf(&b, "outcome: %s\n", fleet_outcome_name(r->outcome));
    if (r->plan.n_pending > 0) {
        pf_buf_puts(&b, "pending:");
        for (size_t i = 0; i < r->plan.n_pending; i++)
            pf_buf_printf(&b, " %s", ctx->cb->migrations[r->plan.pending[i]].tag);
        pf_buf_putc(&b, '\n');
    }
    if (r->n_applied_now > 0) {
        pf_buf_puts(&b, "applied:");
        for (size_t i = 0; i < r->n_applied_now; i++)
            pf_buf_printf(&b, " %s", ctx->cb->migrations[r->applied_now[i]].tag);
        pf_buf_putc(&b, '\n');
    }
    for (size_t i = 0; i < r->plan.n_problems; i++)
        pf_buf_printf(&b, "%s: %s\n", plan_status_name(r->plan.problems[i].kind),
                      r->plan.problems[i].message);
    if (r->error)
        pf_buf_printf(&b, "error: %s\n", r->error);
    if (r->drift && r->drift->summary)
        pf_buf_printf(&b, "%s\n", r->drift->summary);
    for (size_t i = 0; r->drift && r->drift->checked && i < r->drift->n_lines; i++)
        pf_buf_printf(&b, "%s\n", r->drift->lines[i]);
    pf_buf_printf(&b, "dsn: %s\n", r->target->dsn_masked);
    return pf_buf_take(&b);
}

static void testcase(PfBuf *b, const ReportContext *ctx, const TargetResult *r)
{
    const FleetResult *fr = ctx->result;
    pf_buf_puts(b, "    <testcase");
    char classname[32];
    snprintf(classname, sizeof classname, "pgfleet.%s", fleet_mode_name(fr->mode));
    attr(b, "classname", classname);
    attr(b, "name", r->target->name);
    attr_seconds(b, "time", r->total_ms);
    if (report_target_ok(fr, r)) {
        pf_buf_puts(b, "/>\n");
        return;
    }
    pf_buf_puts(b, ">\n");
    if (!r->started) {
        pf_buf_puts(b, "      <skipped message=\"not started: the run was interrupted\"/>\n");
        pf_buf_puts(b, "    </testcase>\n");
        return;
    }
    const char *element = r->status == TARGET_UNREACHABLE ? "error" : "failure";
    char *message = failure_message(r);
    char *body = failure_body(ctx, r);
    pf_buf_printf(b, "      <%s", element);
    attr(b, "message", message);
    attr(b, "type", plan_status_name(r->status));
    pf_buf_putc(b, '>');
    report_xml_escape(b, body, false);
    pf_buf_printf(b, "</%s>\n    </testcase>\n", element);
    free(message);
    free(body);
}

char *report_junit(const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    size_t failures = 0, errors = 0, skipped = 0;
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        if (!r->started)
            skipped++;
        else if (r->status == TARGET_UNREACHABLE)
            errors++;
        else if (!report_target_ok(fr, r))
            failures++;
    }
    /* JUnit's timestamp has no zone designator; pgfleet's is UTC. */
    char timestamp[32];
    snprintf(timestamp, sizeof timestamp, "%s", fr->started_at);
    size_t tl = strlen(timestamp);
    if (tl > 0 && timestamp[tl - 1] == 'Z')
        timestamp[tl - 1] = '\0';
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char suite[32];
    snprintf(suite, sizeof suite, "pgfleet-%s", fleet_mode_name(fr->mode));

    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    pf_buf_printf(&b, "<testsuites name=\"pgfleet\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\"",
                  fr->n, failures, errors);
    pf_buf_printf(&b, " skipped=\"%zu\"", skipped);
    attr_seconds(&b, "time", fr->duration_ms);
    pf_buf_puts(&b, ">\n  <testsuite");
    attr(&b, "name", suite);
    pf_buf_printf(&b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"", fr->n,
                  failures, errors, skipped);
    attr(&b, "timestamp", timestamp);
    attr_seconds(&b, "time", fr->duration_ms);
    attr(&b, "hostname", host);
    pf_buf_puts(&b, ">\n    <properties>\n");
    property(&b, "inventory", ctx->inventory_path ? ctx->inventory_path : "");
    property(&b, "codebase.dir", cb->dir);
    property(&b, "codebase.layout", cb->layout == CB_LAYOUT_JOURNAL ? "journal" : "folders");
    char num[32];
    snprintf(num, sizeof num, "%zu", cb->n);
    property(&b, "codebase.migrations", num);
    const CbMigration *head = cb_head(cb);
    property(&b, "codebase.head", head ? head->tag : "");
    snprintf(num, sizeof num, "%d", ctx->exit_code);
    property(&b, "exit_code", num);
    property(&b, "interrupted", fr->interrupted ? "true" : "false");
    pf_buf_puts(&b, "    </properties>\n");
    for (size_t i = 0; i < fr->n; i++)
        testcase(&b, ctx, &fr->targets[i]);
    pf_buf_puts(&b, "  </testsuite>\n</testsuites>\n");
    return pf_buf_take(&b);
}
