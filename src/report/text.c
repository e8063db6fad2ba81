/* The text report: one aligned row per target, details below, a summary line. */
#include "report/report.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RED "\033[31m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *status_color(const TargetResult *r)
{
    if (!r->started)
        return YELLOW;
    switch (r->status) {
    case TARGET_IN_SYNC:
        return GREEN;
    case TARGET_BEHIND:
    case TARGET_UNINITIALIZED:
        return r->outcome == OUTCOME_APPLIED ? GREEN : YELLOW;
    default:
        return RED;
    }
}

static const char *status_label(const TargetResult *r)
{
    return r->started ? plan_status_name(r->status) : "-";
}

static void pad(PfBuf *b, const char *s, size_t width)
{
    pf_buf_puts(b, s);
    for (size_t n = strlen(s); n < width; n++)
        pf_buf_putc(b, ' ');
}

/* A duration as the inventory would say it: 1h, 2m, 30s, 500ms. */
static void put_ms(PfBuf *b, int64_t ms)
{
    if (ms > 0 && ms % 3600000 == 0)
        pf_buf_printf(b, "%lldh", (long long)(ms / 3600000));
    else if (ms > 0 && ms % 60000 == 0)
        pf_buf_printf(b, "%lldm", (long long)(ms / 60000));
    else if (ms > 0 && ms % 1000 == 0)
        pf_buf_printf(b, "%llds", (long long)(ms / 1000));
    else
        pf_buf_printf(b, "%lldms", (long long)ms);
}

static void put_threshold(PfBuf *b, const WaveResult *w)
{
    pf_buf_printf(b, "max_failures %s", w->wave->max_failures_text);
    if (w->wave->max_failures_pct)
        pf_buf_printf(b, " = %zu of %zu", w->allowed, w->n);
}

/* After the table: each wave in order, with its settings (plan, audit) or how it went. */
static void put_waves(PfBuf *b, const FleetResult *fr)
{
    size_t w_name = 0;
    for (size_t i = 0; i < fr->n_waves; i++)
        if (strlen(fr->waves[i].wave->name) > w_name)
            w_name = strlen(fr->waves[i].wave->name);
    pf_buf_puts(b, "\nwaves, in order:\n");
    for (size_t i = 0; i < fr->n_waves; i++) {
        const WaveResult *w = &fr->waves[i];
        const InvWave *iw = w->wave;
        pf_buf_puts(b, "  ");
        pad(b, iw->name, w_name + 2);
        if (w->state == WAVE_NOT_SELECTED) {
            pf_buf_puts(b, "not selected (--wave / --from-wave)\n");
            continue;
        }
        pf_buf_printf(b, "%zu target%s", w->n, w->n == 1 ? "" : "s");
        if (fr->mode != FLEET_APPLY && fr->mode != FLEET_ROLLBACK) {
            if (iw->parallel > 0)
                pf_buf_printf(b, "; parallel %d", iw->parallel);
            pf_buf_puts(b, "; ");
            put_threshold(b, w);
            if (iw->pause_ms > 0) {
                pf_buf_puts(b, "; pause ");
                put_ms(b, iw->pause_ms);
            }
            if (iw->confirm)
                pf_buf_puts(b, "; confirm");
            if (iw->check)
                pf_buf_puts(b, "; check");
            pf_buf_putc(b, '\n');
            continue;
        }
        if (w->state == WAVE_SKIPPED) {
            pf_buf_printf(b, ": skipped: %s\n", w->reason ? w->reason : "not started");
            continue;
        }
        pf_buf_printf(b, ": %s, %zu failed (", fleet_wave_state_name(w->state), w->failures);
        put_threshold(b, w);
        pf_buf_puts(b, "), ");
        put_ms(b, w->duration_ms);
        if (w->paused_ms > 0) {
            pf_buf_puts(b, "; paused ");
            put_ms(b, w->paused_ms);
        }
        if (fleet_wave_confirm_name(w->confirm))
            pf_buf_printf(b, "; confirm: %s", fleet_wave_confirm_name(w->confirm));
        pf_buf_putc(b, '\n');
        if (w->reason)
            pf_buf_printf(b, "  %*s%s%s\n", (int)w_name + 2, "", w->halted ? "HALTED: " : "",
                          w->reason);
    }
}

/* Schema drift (docs/drift.md): each difference below the row, or why it was not checked. */
static void put_drift(PfBuf *b, const Codebase *cb, const TargetResult *r)
{
    const TargetDrift *d = r->drift;
    if (!d)
        return;
    /* The summary is the row's detail unless something else is; then it goes below. */
    if (d->summary && (r->error || r->plan.n_problems > 0))
        pf_buf_printf(b, "    %s\n", d->summary);
    for (size_t i = 0; d->checked && i < d->n_lines; i++)
        pf_buf_printf(b, "    %s\n", d->lines[i]);
    (void)cb;
}

static void put_detail(PfBuf *b, const TargetResult *r)
{
    if (r->drift && r->drift->summary && !r->error && r->plan.n_problems == 0)
        pf_buf_puts(b, r->drift->summary);
    else if (r->error)
        pf_buf_puts(b, r->error);
    else if (r->plan.n_problems > 0)
        pf_buf_printf(b, "%s: %s", plan_status_name(r->plan.problems[0].kind),
                      r->plan.problems[0].message);
}

/* What b holds so far goes to out (when there is one) once it is large: a report of 100,000
 * targets is never held whole. */
static void spill(PfBuf *b, FILE *out, size_t at_least)
{
    if (!out || b->len < at_least || !b->len)
        return;
    fwrite(b->data, 1, b->len, out);
    b->len = 0;
    b->data[0] = '\0';
}

/* The report: returned (out NULL), or written to out as it is rendered (returns NULL). */
static char *text_render(const ReportContext *ctx, FILE *out)
{
    const FleetResult *fr = ctx->result;
    const Codebase *cb = ctx->cb;
    bool apply = fleet_mode_writes(fr->mode);
    size_t w_name = strlen("TARGET"), w_status = strlen("STATUS"), w_result = strlen("RESULT");
    size_t w_route = 0; /* a ROUTE column only when some target goes through a tunnel */
    size_t w_wave = 0;  /* a WAVE column only when the inventory has waves */
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        const char *route = r->target->route;
        if (route && strlen(route) > w_route)
            w_route = strlen(route) < strlen("ROUTE") ? strlen("ROUTE") : strlen(route);
        size_t n = strlen(r->target->name);
        if (n > w_name)
            w_name = n;
        if (r->wave && strlen(r->wave->name) > w_wave)
            w_wave =
                strlen(r->wave->name) < strlen("WAVE") ? strlen("WAVE") : strlen(r->wave->name);
        n = strlen(status_label(r));
        if (n > w_status)
            w_status = n;
        n = strlen(fleet_outcome_name(r->outcome));
        if (n > w_result)
            w_result = n;
    }
    PfBuf b = PF_BUF_INIT;
    if (ctx->color)
        pf_buf_puts(&b, BOLD);
    if (w_wave)
        pad(&b, "WAVE", w_wave + 2);
    pad(&b, "TARGET", w_name + 2);
    pad(&b, "STATUS", w_status + 2);
    pad(&b, "PENDING", 9);
    if (apply)
        pad(&b, "RESULT", w_result + 2);
    if (w_route)
        pad(&b, "ROUTE", w_route + 2);
    pf_buf_puts(&b, "DETAIL");
    if (ctx->color)
        pf_buf_puts(&b, RESET);
    pf_buf_putc(&b, '\n');

    size_t counts[TARGET_STATUS_COUNT] = {0};
    size_t applied_targets = 0, applied_migrations = 0, failed = 0, not_started = 0;
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        if (r->started)
            counts[r->status]++;
        else
            not_started++;
        if (r->n_applied_now > 0) {
            applied_targets++;
            applied_migrations += r->n_applied_now;
        }
        if (r->status == TARGET_UNREACHABLE || r->outcome == OUTCOME_FAILED ||
            r->outcome == OUTCOME_REFUSED || r->outcome == OUTCOME_INTERRUPTED)
            failed++;
        if (w_wave)
            pad(&b, r->wave ? r->wave->name : "", w_wave + 2);
        pad(&b, r->target->name, w_name + 2);
        if (ctx->color)
            pf_buf_puts(&b, status_color(r));
        pad(&b, status_label(r), w_status);
        if (ctx->color)
            pf_buf_puts(&b, RESET);
        pf_buf_puts(&b, "  ");
        char pending[32];
        snprintf(pending, sizeof pending, "%zu", r->plan.n_pending);
        pad(&b, r->started && r->status != TARGET_UNREACHABLE ? pending : "-", 9);
        if (apply)
            pad(&b, fleet_outcome_name(r->outcome), w_result + 2);
        if (w_route)
            pad(&b, r->target->route ? r->target->route : "direct", w_route + 2);
        put_detail(&b, r);
        pf_buf_putc(&b, '\n');
        /* Further problems and, for plan, the pending migrations, indented below the row. */
        for (size_t p = r->error ? 0 : 1; p < r->plan.n_problems; p++)
            pf_buf_printf(&b, "    %s: %s\n", plan_status_name(r->plan.problems[p].kind),
                          r->plan.problems[p].message);
        if ((fr->mode == FLEET_ROLLBACK || fr->mode == FLEET_PLAN) && r->n_changes) {
            pf_buf_puts(&b, r->outcome == OUTCOME_ROLLED_BACK ? "    rolled back:"
                                                              : "    would roll back:");
            for (size_t c = 0; c < r->n_changes; c++)
                pf_buf_printf(&b, " %s", cb->migrations[r->changes[c].migration].tag);
            pf_buf_putc(&b, '\n');
        }
        if (r->has_backup)
            pf_buf_printf(&b, "    backup: %s (%lld bytes, %lld ms)\n", r->backup.path,
                          (long long)r->backup.bytes, (long long)r->backup.duration_ms);
        if (fr->mode == FLEET_PLAN && r->plan.n_pending > 0) {
            pf_buf_puts(&b, "    pending:");
            for (size_t p = 0; p < r->plan.n_pending; p++)
                pf_buf_printf(&b, " %s", cb->migrations[r->plan.pending[p]].tag);
            pf_buf_putc(&b, '\n');
        }
        put_drift(&b, cb, r);
        for (size_t w = 0; w < r->plan.n_warnings; w++) {
            const PlanWarning *pw = &r->plan.warnings[w];
            pf_buf_printf(&b, "    %swarning%s: %s", ctx->color ? YELLOW : "",
                          ctx->color ? RESET : "", pw->message);
            if (pw->hint)
                pf_buf_printf(&b, "; hint: %s", pw->hint);
            pf_buf_putc(&b, '\n');
        }
        spill(&b, out, 64 * 1024);
    }

    pf_buf_printf(&b, "\n%zu target%s:", fr->n, fr->n == 1 ? "" : "s");
    const char *sep = " ";
    for (int s = 0; s < TARGET_STATUS_COUNT; s++) {
        if (!counts[s])
            continue;
        pf_buf_printf(&b, "%s%zu %s", sep, counts[s], plan_status_name((TargetStatus)s));
        sep = ", ";
    }
    if (not_started)
        pf_buf_printf(&b, "%s%zu not started", sep, not_started);
    pf_buf_putc(&b, '\n');
    const CbMigration *head = cb_head(cb);
    pf_buf_printf(&b, "codebase: %zu migration%s, head %s", cb->n, cb->n == 1 ? "" : "s",
                  head ? head->tag : "(none)");
    if (ctx->revision)
        pf_buf_printf(&b, ", revision %s", ctx->revision->id);
    pf_buf_putc(&b, '\n');
    for (size_t i = 0; i < cb->n_notes; i++)
        pf_buf_printf(&b, "  note: %s\n", cb->notes[i].message);
    if (fr->mode == FLEET_ROLLBACK) {
        size_t rows = 0, targets = 0;
        for (size_t i = 0; i < fr->n; i++)
            if (fr->targets[i].outcome == OUTCOME_ROLLED_BACK) {
                rows += fr->targets[i].n_changes;
                targets++;
            }
        pf_buf_printf(&b, "rolled back %zu migration%s on %zu target%s; %zu failed or refused\n",
                      rows, rows == 1 ? "" : "s", targets, targets == 1 ? "" : "s", failed);
    } else if (fr->mode == FLEET_REPAIR) {
        size_t rows = 0, targets = 0;
        for (size_t i = 0; i < fr->n; i++)
            if (fr->targets[i].outcome == OUTCOME_REPAIRED) {
                rows += fr->targets[i].n_changes;
                targets++;
            }
        pf_buf_printf(&b, "repaired %zu ledger row%s on %zu target%s; %zu failed or refused\n",
                      rows, rows == 1 ? "" : "s", targets, targets == 1 ? "" : "s", failed);
    } else if (apply) {
        pf_buf_printf(&b, "%s %zu migration%s %s %zu target%s; %zu failed or refused\n",
                      fr->mode == FLEET_MARK ? "recorded" : "applied", applied_migrations,
                      applied_migrations == 1 ? "" : "s", fr->mode == FLEET_MARK ? "on" : "to",
                      applied_targets, applied_targets == 1 ? "" : "s", failed);
    }
    if (fr->interrupted)
        pf_buf_puts(&b, "interrupted: targets not started are listed with status '-'\n");
    if (fr->n_waves)
        put_waves(&b, fr);
    if (fr->n_plugin_errors) {
        pf_buf_printf(&b, "\nplugin errors (%zu):\n", fr->n_plugin_errors);
        for (size_t i = 0; i < fr->n_plugin_errors; i++)
            pf_buf_printf(&b, "  %s\n", fr->plugin_errors[i]);
    }
    if (!out)
        return pf_buf_take(&b);
    spill(&b, out, 0);
    pf_buf_free(&b);
    return NULL;
}

char *report_text(const ReportContext *ctx)
{
    return text_render(ctx, NULL);
}

void report_text_stream(const ReportContext *ctx, FILE *out)
{
    text_render(ctx, out);
}
