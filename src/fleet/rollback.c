/*
 * Rollback's job step (docs/rollback.md), on the worker that surveyed the target: which
 * applied migrations to undo, whether they can be, and undoing them with their down files in
 * one transaction (src/pg/rollback.c) that deletes their ledger rows too.
 */
#include "fleet/internal.h"

#include "codebase/down.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static void refuse(TargetResult *res, char *why)
{
    res->outcome = OUTCOME_REFUSED;
    res->error = pf_asprintf("refused: %s; nothing was rolled back", why);
    free(why);
    pf_log(PF_LOG_WARN, res->target->name, "%s", res->error);
}

static int by_ledger_id(const void *a, const void *b)
{
    const PlanMatch *x = a, *y = b;
    return x->ledger_id < y->ledger_id ? -1 : x->ledger_id > y->ledger_id;
}

/* The ledger must be the codebase's first k migrations, in order, and nothing else: then its
 * head is the migration the codebase expects after them, and undoing the newest ones leaves
 * a ledger drizzle would have written. NULL when it is, else why not (caller frees). */
static char *not_a_prefix(const FleetRun *run, const Ledger *ledger, const Plan *p,
                          PlanMatch *sorted)
{
    if (p->status != TARGET_IN_SYNC && p->status != TARGET_BEHIND &&
        p->status != TARGET_UNINITIALIZED)
        return pf_asprintf("%s%s%s", plan_status_name(p->status), p->n_problems ? ": " : "",
                           p->n_problems ? p->problems[0].message : "");
    if (p->n_problems)
        return pf_strdup(p->problems[0].message);
    if (ledger->n != p->n_matches)
        return pf_asprintf("the ledger has %zu row(s) that match no migration of the codebase",
                           ledger->n - p->n_matches);
    for (size_t i = 0; i < p->n_matches; i++)
        if (sorted[i].migration != i)
            return pf_asprintf("the ledger's row %lld is %s where the codebase expects %s; hint: "
                               "run pgfleet audit",
                               (long long)sorted[i].ledger_id,
                               run->cb->migrations[sorted[i].migration].tag,
                               run->cb->migrations[i].tag);
    return NULL;
}

static bool has_row(const Ledger *l, int64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->rows[i].id == id)
            return true;
    return false;
}

static const char *row_hash(const Ledger *l, int64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->rows[i].id == id)
            return l->rows[i].hash;
    return NULL;
}

void fleet_job_rollback(const FleetRun *run, PgConn *conn, PgSurvey *survey, TargetResult *res,
                        const atomic_int *interrupted)
{
    const InvTarget *t = res->target;
    bool writing = run->mode == FLEET_ROLLBACK && !run->preview;
    const char *say = writing ? "rolling back" : "would roll back";
    const Plan *p = &res->plan;
    PlanMatch *sorted = pf_calloc(p->n_matches ? p->n_matches : 1, sizeof *sorted);
    if (p->n_matches) { /* an empty ledger has no matches (p->matches NULL) */
        memcpy(sorted, p->matches, p->n_matches * sizeof *sorted);
        qsort(sorted, p->n_matches, sizeof *sorted, by_ledger_id);
    }
    char *why = not_a_prefix(run, &survey->ledger, p, sorted);
    if (why) {
        refuse(res, why);
        free(sorted);
        return;
    }
    /* Undo [first, k): the migrations after TAG, or the --steps newest. */
    size_t k = p->n_matches;
    size_t first = run->rollback_to          ? run->rollback_to
                   : run->rollback_steps < k ? k - run->rollback_steps
                                             : 0;
    if (first >= k) {
        res->outcome = writing ? OUTCOME_UNCHANGED : OUTCOME_NONE;
        pf_log(PF_LOG_INFO, t->name, "nothing to roll back: the ledger's head is %s",
               k ? run->cb->migrations[k - 1].tag : "(empty)");
        free(sorted);
        return;
    }
    PfBuf missing = PF_BUF_INIT;
    for (size_t m = k; m-- > first;) {
        const CbDown *d = &run->downs[m];
        if (!d->present)
            pf_buf_printf(&missing, "%s%s", missing.len ? ", " : "", d->path);
        res->changes = pf_realloc(res->changes, (res->n_changes + 1) * sizeof *res->changes);
        res->changes[res->n_changes++] = (FleetChange){m, sorted[m].ledger_id, NULL};
    }
    free(sorted);
    if (missing.len) {
        refuse(res,
               pf_asprintf("no down file: %s; hint: write it (docs/rollback.md)", missing.data));
        pf_buf_free(&missing);
        return;
    }
    for (size_t i = 0; i < res->n_changes; i++) {
        const FleetChange *ch = &res->changes[i];
        pf_log(PF_LOG_NOTICE, t->name, "%s %s (ledger row %lld) with %s", say,
               run->cb->migrations[ch->migration].tag, (long long)ch->ledger_id,
               run->downs[ch->migration].path);
    }
    if (!writing)
        return;
    size_t n = res->n_changes;
    PgRollbackStep *steps = pf_calloc(n, sizeof *steps);
    /* A tenant runs its down files with the folder's schemas renamed to its own, as apply runs
     * its migrations (docs/tenants.md); its session's search_path is its schema already. */
    char ***rewritten =
        t->tenant_schema && run->tenant_downs ? pf_calloc(n, sizeof *rewritten) : NULL;
    for (size_t i = 0; i < n; i++) {
        const FleetChange *ch = &res->changes[i];
        const CbDown *d = &run->downs[ch->migration];
        if (rewritten)
            rewritten[i] = fleet_tenant_down_chunks(run, t, ch->migration);
        steps[i] = (PgRollbackStep){run->cb->migrations[ch->migration].tag, ch->ledger_id,
                                    row_hash(&survey->ledger, ch->ledger_id),
                                    rewritten ? rewritten[i] : d->chunks, d->n_chunks};
        fleet_event_migration(run, res, PGFLEET_EVENT_MIGRATION_BEFORE, steps[i].tag, i, n, NULL);
    }
    PgRollbackRequest req = {
        .schema = t->schema,
        .table = t->table,
        .steps = steps,
        .n = n,
        .lock_timeout_ms = t->settings.lock_timeout_ms,
        .statement_timeout_ms = t->settings.statement_timeout_ms,
        .interrupted = interrupted,
        .unlock = survey->lock_acquired,
        .lock_key = res->lock_key,
    };
    PfErr err;
    PgApplyEnd end;
    PfErrCode rc = pg_rollback(conn, &req, &res->failure, &end, &err);
    if (end.unlocked)
        survey->lock_acquired = false;
    /* What the ledger says now: every row undone is gone, or (after a failure) every row is
     * still there. */
    bool known = end.read;
    size_t gone = 0;
    for (size_t i = 0; known && i < n; i++)
        gone += !has_row(&end.after, steps[i].ledger_id);
    size_t left = known ? end.after.n : 0;
    for (size_t i = 0; i < n; i++) {
        bool undone = known && rc == PF_OK;
        const char *what =
            undone ? "rolled_back"
            : rc != PF_OK && res->failure.tag && strcmp(res->failure.tag, steps[i].tag) == 0
                ? "failed"
            : known ? "not_rolled_back"
                    : "unknown";
        fleet_event_migration(run, res, PGFLEET_EVENT_MIGRATION_AFTER, steps[i].tag, i, n, what);
    }
    free(steps);
    for (size_t i = 0; rewritten && i < n; i++)
        cb_chunks_free(rewritten[i], run->downs[res->changes[i].migration].n_chunks);
    free(rewritten);
    if (rc != PF_OK) {
        res->has_failure = true;
        res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED : OUTCOME_FAILED;
        PfBuf b = PF_BUF_INIT;
        if (res->failure.tag && res->failure.statement > 0)
            pf_buf_printf(&b, "rollback of %s, down statement %d failed: ", res->failure.tag,
                          res->failure.statement);
        else if (res->failure.tag)
            pf_buf_printf(&b, "rollback of %s failed: ", res->failure.tag);
        else
            pf_buf_puts(&b, "rollback failed: ");
        pf_buf_puts(&b, res->failure.message ? res->failure.message : err.msg);
        if (res->failure.sqlstate[0])
            pf_buf_printf(&b, " (SQLSTATE %s)", res->failure.sqlstate);
        pf_buf_printf(&b, "; the transaction was rolled back: the target is as it was%s",
                      known && left == survey->ledger.n ? "" : " (hint: run pgfleet audit)");
        res->error = pf_buf_take(&b);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
    } else if (!known || gone != n || left != survey->ledger.n - n) {
        res->outcome = OUTCOME_FAILED;
        res->error = pf_strdup("rolled back, but the ledger read back does not show it; hint: "
                               "run pgfleet audit");
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
    } else {
        res->outcome = OUTCOME_ROLLED_BACK;
        pf_log(PF_LOG_INFO, t->name, "rolled back %zu migration(s)", n);
    }
    pg_apply_end_clear(&end);
}
