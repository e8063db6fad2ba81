/*
 * The Prometheus text exposition (format 0.0.4), for node_exporter's textfile collector: with
 * -o the file is written atomically (temp file + rename in the same directory), so the collector
 * never reads half a file. Every sample carries a command label, so that plan, apply and audit
 * may each keep a file in the same directory. No sample timestamps: the textfile collector
 * rejects them; the run's time is a gauge instead (docs/report.md).
 */
#include "report/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static void family(PfBuf *b, const char *name, const char *type, const char *help)
{
    pf_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped, as the format requires. */
static void label_value(PfBuf *b, const char *s)
{
    char *u = report_utf8(s);
    for (const char *p = u; *p; p++) {
        if (*p == '\\')
            pf_buf_puts(b, "\\\\");
        else if (*p == '"')
            pf_buf_puts(b, "\\\"");
        else if (*p == '\n')
            pf_buf_puts(b, "\\n");
        else
            pf_buf_putc(b, *p);
    }
    free(u);
}

/* name{command="...",[target="...",][key="value"]} value */
static void sample(PfBuf *b, const char *name, const FleetResult *fr, const TargetResult *r,
                   const char *key, const char *value, const char *number)
{
    pf_buf_printf(b, "%s{command=\"%s\"", name, fleet_mode_name(fr->mode));
    if (r) {
        pf_buf_puts(b, ",target=\"");
        label_value(b, r->target->name);
        pf_buf_putc(b, '"');
    }
    if (key) {
        pf_buf_printf(b, ",%s=\"", key);
        label_value(b, value);
        pf_buf_putc(b, '"');
    }
    pf_buf_printf(b, "} %s\n", number);
}

static void sample_int(PfBuf *b, const char *name, const FleetResult *fr, const TargetResult *r,
                       const char *key, const char *value, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    sample(b, name, fr, r, key, value, num);
}

static void sample_seconds(PfBuf *b, const char *name, const FleetResult *fr, const TargetResult *r,
                           int64_t ms)
{
    char num[32];
    snprintf(num, sizeof num, "%.3f", (double)ms / 1000.0);
    sample(b, name, fr, r, NULL, NULL, num);
}

char *report_prometheus(const ReportContext *ctx)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    ReportTally tally;
    report_tally(fr, &tally);
    int64_t started = report_epoch_seconds(fr->started_at);
    PfBuf b = PF_BUF_INIT;

    family(&b, "pgfleet_run_timestamp_seconds", "gauge",
           "When the run started, in seconds since the epoch.");
    sample_int(&b, "pgfleet_run_timestamp_seconds", fr, NULL, NULL, NULL, (long long)started);
    family(&b, "pgfleet_run_duration_seconds", "gauge", "How long the run took.");
    sample_seconds(&b, "pgfleet_run_duration_seconds", fr, NULL, fr->duration_ms);
    family(&b, "pgfleet_run_exit_code", "gauge",
           "The run's exit code: 0 all good, 1 not in sync, 2 failed or unreachable, 130 "
           "interrupted.");
    sample_int(&b, "pgfleet_run_exit_code", fr, NULL, NULL, NULL, ctx->exit_code);
    family(&b, "pgfleet_run_interrupted", "gauge", "1 when SIGINT or SIGTERM stopped the run.");
    sample_int(&b, "pgfleet_run_interrupted", fr, NULL, NULL, NULL, fr->interrupted ? 1 : 0);

    family(&b, "pgfleet_codebase_migrations", "gauge", "Migrations in the codebase.");
    sample_int(&b, "pgfleet_codebase_migrations", fr, NULL, NULL, NULL, (long long)cb->n);
    const CbMigration *head = cb_head(cb);
    family(&b, "pgfleet_codebase_head_info", "gauge",
           "The codebase's newest migration, as a label; always 1.");
    sample_int(&b, "pgfleet_codebase_head_info", fr, NULL, "head", head ? head->tag : "", 1);

    family(&b, "pgfleet_targets", "gauge",
           "Targets per status as found (not_started: the run was interrupted before them).");
    for (int s = 0; s < TARGET_STATUS_COUNT; s++)
        sample_int(&b, "pgfleet_targets", fr, NULL, "status", plan_status_name((TargetStatus)s),
                   (long long)tally.status[s]);
    sample_int(&b, "pgfleet_targets", fr, NULL, "status", "not_started",
               (long long)tally.not_started);
    family(&b, "pgfleet_targets_in_sync", "gauge", "Targets in sync when the run ended.");
    sample_int(&b, "pgfleet_targets_in_sync", fr, NULL, NULL, NULL, (long long)tally.ok);

    family(&b, "pgfleet_target_status", "gauge",
           "The target's status as found, one-hot: 1 for its status, 0 for the others.");
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        for (int s = 0; s < TARGET_STATUS_COUNT; s++)
            sample_int(&b, "pgfleet_target_status", fr, r, "status",
                       plan_status_name((TargetStatus)s), r->started && (int)r->status == s);
        sample_int(&b, "pgfleet_target_status", fr, r, "status", "not_started", !r->started);
    }
    family(&b, "pgfleet_target_in_sync", "gauge",
           "1 when the target is in sync when the run ends (apply: applied or unchanged).");
    for (size_t i = 0; i < fr->n; i++)
        sample_int(&b, "pgfleet_target_in_sync", fr, &fr->targets[i], NULL, NULL,
                   report_target_ok(fr, &fr->targets[i]));
    family(&b, "pgfleet_target_pending_migrations", "gauge",
           "Migrations not applied when the run ended; absent when the ledger was not read.");
    for (size_t i = 0; i < fr->n; i++)
        if (report_plan_known(fr, &fr->targets[i]))
            sample_int(&b, "pgfleet_target_pending_migrations", fr, &fr->targets[i], NULL, NULL,
                       (long long)report_pending_after(&fr->targets[i]));
    family(&b, "pgfleet_target_problems", "gauge",
           "Problems found on the target (out_of_order, modified, ahead, foreign rows, "
           "unmanaged objects, a ledger elsewhere).");
    for (size_t i = 0; i < fr->n; i++)
        if (report_plan_known(fr, &fr->targets[i]))
            sample_int(&b, "pgfleet_target_problems", fr, &fr->targets[i], NULL, NULL,
                       (long long)fr->targets[i].plan.n_problems);
    bool drift = false;
    for (size_t i = 0; i < fr->n && !drift; i++)
        drift = fr->targets[i].drift != NULL;
    if (drift) {
        family(&b, "pgfleet_target_drifted", "gauge",
               "1 when the target's schema differs from the one its ledger's migrations make, "
               "0 when it does not; absent when it was not compared (docs/drift.md).");
        for (size_t i = 0; i < fr->n; i++) {
            const TargetDrift *d = fr->targets[i].drift;
            if (d && d->checked)
                sample_int(&b, "pgfleet_target_drifted", fr, &fr->targets[i], NULL, NULL,
                           d->n_lines > 0);
        }
        family(&b, "pgfleet_target_drift_differences", "gauge",
               "How many differences the schema comparison found on the target.");
        for (size_t i = 0; i < fr->n; i++) {
            const TargetDrift *d = fr->targets[i].drift;
            if (d && d->checked)
                sample_int(&b, "pgfleet_target_drift_differences", fr, &fr->targets[i], NULL, NULL,
                           (long long)d->n_lines);
        }
    }
    family(&b, "pgfleet_target_last_run_timestamp_seconds", "gauge",
           "When the run that checked the target started, in seconds since the epoch.");
    for (size_t i = 0; i < fr->n; i++)
        if (fr->targets[i].started)
            sample_int(&b, "pgfleet_target_last_run_timestamp_seconds", fr, &fr->targets[i], NULL,
                       NULL, (long long)started);
    family(&b, "pgfleet_target_duration_seconds", "gauge",
           "How long the target's job took (connect, read, apply, verify).");
    for (size_t i = 0; i < fr->n; i++)
        if (fr->targets[i].started)
            sample_seconds(&b, "pgfleet_target_duration_seconds", fr, &fr->targets[i],
                           fr->targets[i].total_ms);
    if (fleet_mode_writes(fr->mode)) {
        family(&b, "pgfleet_target_applied_migrations", "gauge",
               "Migrations this run committed on the target.");
        for (size_t i = 0; i < fr->n; i++)
            sample_int(&b, "pgfleet_target_applied_migrations", fr, &fr->targets[i], NULL, NULL,
                       (long long)fr->targets[i].n_applied_now);
        family(&b, "pgfleet_target_outcome", "gauge",
               "What apply did on the target, one-hot: 1 for its outcome, 0 for the others.");
        for (size_t i = 0; i < fr->n; i++)
            for (int o = OUTCOME_APPLIED; o < OUTCOME_COUNT; o++)
                sample_int(&b, "pgfleet_target_outcome", fr, &fr->targets[i], "outcome",
                           fleet_outcome_name((TargetOutcome)o), (int)fr->targets[i].outcome == o);
    }
    return pf_buf_take(&b);
}
