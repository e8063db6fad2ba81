/*
 * One target's job, run on a worker thread: connect, survey (identity, lock, ledger),
 * classify, and for apply: run the pending migrations in one round trip, verify the ledger,
 * release the lock. Everything the job allocates hangs off its TargetResult.
 */
#include "fleet/internal.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

const char *fleet_outcome_name(TargetOutcome o)
{
    static const char *const names[] = {"none",     "applied",     "unchanged", "refused",
                                        "failed",   "interrupted", "skipped",   "recorded",
                                        "repaired", "rolled_back"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "unknown";
}

const char *fleet_mode_name(FleetMode m)
{
    static const char *const names[] = {"plan",         "apply",  "audit",
                                        "mark-applied", "repair", "rollback"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "plan";
}

bool fleet_mode_writes(FleetMode m)
{
    return m == FLEET_APPLY || m == FLEET_MARK || m == FLEET_REPAIR || m == FLEET_ROLLBACK;
}

static char *holder_text(const PgLockHolder *h)
{
    return pf_asprintf("lock held by pid %d (%s%s%s%s%s) for at most %llds; hint: see "
                       "pg_stat_activity, or raise lock_wait",
                       h->pid, *h->application_name ? h->application_name : "unknown application",
                       *h->client_addr ? " on " : "", h->client_addr, *h->user ? ", user " : "",
                       h->user, (long long)h->session_age_s);
}

/* audit: a migrator is at work; what it is doing to the ledger is not judged. */
static char *migrating_text(const PgLockHolder *h)
{
    char *held = holder_text(h);
    char *semi = strstr(held, "; hint:");
    if (semi)
        *semi = '\0';
    char *text = pf_asprintf("migrating: %s; the ledger may be mid-change, so its problems are "
                             "not counted; hint: audit again once it is done",
                             held);
    free(held);
    return text;
}

/* The server is not the one the target's expect names: foreign, with why (taken over) as the
 * problem; apply refuses it. */
static void refuse_identity(TargetResult *res, char *why, bool applying)
{
    Plan *p = &res->plan;
    p->status = TARGET_FOREIGN;
    p->problems = pf_calloc(1, sizeof *p->problems);
    p->problems[0] = (PlanProblem){TARGET_FOREIGN, NULL, 0, why};
    p->n_problems = 1;
    res->status = TARGET_FOREIGN;
    if (applying) {
        res->outcome = OUTCOME_REFUSED;
        res->error = pf_asprintf("refused: foreign: %s", why);
    }
    pf_log(PF_LOG_WARN, res->target->name, "foreign: %s", why);
}

static char *failure_text(const PgFailure *f)
{
    PfBuf b = PF_BUF_INIT;
    if (f->tag && f->statement > 0)
        pf_buf_printf(&b, "migration %s, statement %d failed: ", f->tag, f->statement);
    else if (f->tag)
        pf_buf_printf(&b, "migration %s failed: ", f->tag);
    else
        pf_buf_puts(&b, "apply failed: ");
    pf_buf_puts(&b, f->message ? f->message : "unknown error");
    if (f->sqlstate[0])
        pf_buf_printf(&b, " (SQLSTATE %s)", f->sqlstate);
    if (f->detail)
        pf_buf_printf(&b, "; detail: %s", f->detail);
    if (f->hint)
        pf_buf_printf(&b, "; hint: %s", f->hint);
    if (f->escape_tag) {
        bool same = f->tag && strcmp(f->tag, f->escape_tag) == 0;
        pf_buf_printf(&b,
                      "; %s failed after %s%s statement %d ended drizzle's transaction: what ran "
                      "outside a transaction since then stays applied, %s has no ledger row; "
                      "hint: fix the failing "
                      "statement, then apply again (statements that stayed applied must not fail "
                      "a second time), or record the migration with pgfleet mark-applied",
                      f->tag ? f->tag : "the run", same ? "its own" : f->escape_tag,
                      same ? "" : "'s", f->escape_statement,
                      f->tag ? f->tag : "the failed migration");
    }
    return pf_buf_take(&b);
}

/* What this apply added to the ledger: the rows of after that before lacks, as codebase
 * indexes (res->applied_now). Rows that match no migration are not counted. */
static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void ledger_gained(const Codebase *cb, const Ledger *before, const Ledger *after,
                          TargetResult *res)
{
    Plan p;
    plan_classify(cb, after, &p);
    res->applied_now = pf_calloc(p.n_matches ? p.n_matches : 1, sizeof *res->applied_now);
    res->n_applied_now = 0;
    /* The rows before, by id: each row after is looked up, not compared with every one. */
    int64_t *ids = pf_malloc((before->n ? before->n : 1) * sizeof *ids);
    for (size_t k = 0; k < before->n; k++)
        ids[k] = before->rows[k].id;
    qsort(ids, before->n, sizeof *ids, id_cmp);
    for (size_t i = 0; i < p.n_matches; i++) {
        int64_t id = p.matches[i].ledger_id;
        if (!bsearch(&id, ids, before->n, sizeof *ids, id_cmp))
            res->applied_now[res->n_applied_now++] = p.matches[i].migration;
    }
    free(ids);
    plan_clear(&p);
}

/* After a successful apply: every migration must be in the ledger with the right hash. */
static bool verify(const Codebase *cb, const Ledger *after, PfErr *err)
{
    Plan check;
    plan_classify(cb, after, &check);
    bool ok = check.n_pending == 0;
    for (size_t i = 0; i < check.n_problems; i++)
        if (check.problems[i].kind == TARGET_MODIFIED)
            ok = false;
    if (!ok)
        pf_err_set(err, PF_ERR_PG,
                   "verification failed: after applying, the ledger has %zu pending "
                   "migration(s) and %zu problem(s)",
                   check.n_pending, check.n_problems);
    plan_clear(&check);
    return ok;
}

PfErrCode fleet_job_connect(const InvTarget *t, SshForward *fwd, JobSlot *slot, PgConn **waited,
                            PgConn **conn, PfErr *err)
{
    PfErrCode rc = PF_OK;
    if (waited && *waited) {
        *conn = *waited;
        *waited = NULL;
    } else {
        rc = fwd ? pg_conn_open_at(t->name, t->dsn, &t->settings, "127.0.0.1",
                                   ssh_forward_port(fwd), conn, err)
                 : pg_conn_open(t->name, t->dsn, &t->settings, conn, err);
    }
    if (rc == PF_OK && slot && slot->connections)
        atomic_fetch_add(slot->connections, 1);
    return rc;
}

/* strcmp, with NULL first. */
static int text_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

int fleet_database_cmp(const InvTarget *a, const InvTarget *b)
{
    int c = text_cmp(a->dsn, b->dsn);
    if (!c)
        c = text_cmp(a->via, b->via);
    if (!c)
        c = text_cmp(a->settings.sslmode, b->settings.sslmode);
    if (!c)
        c = text_cmp(a->settings.application_name, b->settings.application_name);
    return c;
}

bool fleet_same_database(const InvTarget *a, const InvTarget *b)
{
    return a && a->tenant_schema && b->tenant_schema && fleet_database_cmp(a, b) == 0;
}

/* Read the ledger as it is after an apply. end (may be NULL) is what the apply's last message
 * read already; else: on success it exists and has the columns the apply gave it; after a
 * failure anything may be (read both); after a broken connection, on a new one. False
 * (res->ledger_unknown) when it cannot be read. */
static bool read_back(const FleetRun *run, PgConn *conn, SshForward *fwd, JobSlot *slot,
                      const Ledger *before, PfErrCode apply_rc, PgApplyEnd *end, TargetResult *res,
                      Ledger *after)
{
    const InvTarget *t = res->target;
    PfErr err;
    PfErrCode rc;
    memset(after, 0, sizeof *after);
    if (end && end->read) {
        *after = end->after;
        memset(&end->after, 0, sizeof end->after);
        rc = PF_OK;
    } else if (apply_rc == PF_OK) {
        after->exists = true;
        after->has_name_column = before->has_name_column || run->cb->layout == CB_LAYOUT_FOLDERS;
        rc = pg_ledger_read(conn, t->schema, t->table, after, &err);
    } else if (apply_rc == PF_ERR_UNREACHABLE) {
        PgConn *again = NULL;
        rc = fleet_job_connect(t, fwd, slot, NULL, &again, &err);
        if (rc == PF_OK)
            rc = pg_ledger_read_fresh(again, t->schema, t->table, after, &err);
        pg_conn_free(again);
    } else {
        rc = pg_ledger_read_fresh(conn, t->schema, t->table, after, &err);
    }
    if (rc != PF_OK) {
        res->ledger_unknown = true;
        pf_log(PF_LOG_ERROR, t->name,
               "the ledger could not be read back after applying (%s); hint: run pgfleet audit "
               "to see what it holds",
               err.msg);
        ledger_clear(after);
        return false;
    }
    ledger_gained(run->cb, before, after, res);
    return true;
}

static void apply_pending(const FleetRun *run, PgConn *conn, SshForward *fwd, JobSlot *slot,
                          PgSurvey *survey, TargetResult *res, const atomic_int *interrupted)
{
    const InvTarget *t = res->target;
    const char *why = NULL;
    if (!plan_can_apply(&res->plan, run->allow_out_of_order, &why)) {
        res->outcome = OUTCOME_REFUSED;
        res->error = pf_asprintf("refused: %s", why);
        return;
    }
    if (res->plan.n_pending == 0) {
        res->outcome = OUTCOME_UNCHANGED;
        return;
    }
    if (!fleet_job_backup(run, conn, fwd, &survey->ledger, res, interrupted))
        return;
    const CbMigration **migs = pf_calloc(res->plan.n_pending, sizeof *migs);
    /* A tenant runs the files rewritten for its schemas; their hashes stay the files'. */
    CbMigration *rewritten =
        t->tenant_schema && run->tenant_refs
            ? fleet_tenant_migrations(run, t, res->plan.pending, res->plan.n_pending)
            : NULL;
    for (size_t i = 0; i < res->plan.n_pending; i++)
        migs[i] = rewritten ? &rewritten[i] : &run->cb->migrations[res->plan.pending[i]];
    /* A v1 codebase on a ledger drizzle 0.x wrote: upgrade it as drizzle v1 would. */
    bool upgrade = run->cb->layout == CB_LAYOUT_FOLDERS && survey->ledger.exists &&
                   !survey->ledger.has_name_column;
    PgLedgerName *names = pf_calloc(res->plan.n_matches ? res->plan.n_matches : 1, sizeof *names);
    for (size_t i = 0; upgrade && i < res->plan.n_matches; i++)
        names[i] = (PgLedgerName){res->plan.matches[i].ledger_id,
                                  run->cb->migrations[res->plan.matches[i].migration].tag};
    PgApplyRequest req = {
        .schema = t->schema,
        .table = t->table,
        .create_ledger = !survey->ledger.exists,
        .ledger_has_name = run->cb->layout == CB_LAYOUT_FOLDERS || survey->ledger.has_name_column,
        .upgrade_ledger = upgrade,
        .names = names,
        .n_names = upgrade ? res->plan.n_matches : 0,
        .migrations = migs,
        .n = res->plan.n_pending,
        .per_migration = t->settings.transaction == INV_TX_PER_MIGRATION,
        .lock_timeout_ms = t->settings.lock_timeout_ms,
        .statement_timeout_ms = t->settings.statement_timeout_ms,
        .interrupted = interrupted,
        /* The run's last message releases the lock too, unless the wave's check still needs
         * it (fleet_wave_check runs under the lock). */
        .unlock = survey->lock_acquired && !(res->wave && res->wave->check),
        .lock_key = res->lock_key,
    };
    /* Plugins: every migration is "before" right before the apply starts, and "after" once it
     * ended, with what became of each as the ledger says (docs/plugins.md). */
    size_t n = res->plan.n_pending;
    for (size_t i = 0; i < n; i++)
        fleet_event_migration(run, res, PGFLEET_EVENT_MIGRATION_BEFORE, migs[i]->tag, i, n, NULL);
    PfErr err;
    PgApplyEnd end;
    PfErrCode rc = pg_apply(conn, &req, &res->failure, &end, &err);
    if (end.unlocked)
        survey->lock_acquired = false;
    Ledger after;
    bool known = read_back(run, conn, fwd, slot, &survey->ledger, rc, &end, res, &after);
    pg_apply_end_clear(&end);
    /* Per migration of the codebase: whether this run applied it (read back). */
    bool *now = pf_calloc(run->cb->n ? run->cb->n : 1, sizeof *now);
    for (size_t i = 0; i < res->n_applied_now; i++)
        now[res->applied_now[i]] = true;
    for (size_t i = 0; i < n; i++) {
        const char *what =
            now[res->plan.pending[i]] ? "applied"
            : rc != PF_OK && res->failure.tag && strcmp(res->failure.tag, migs[i]->tag) == 0
                ? "failed"
            : known ? "not_applied"
                    : "unknown";
        fleet_event_migration(run, res, PGFLEET_EVENT_MIGRATION_AFTER, migs[i]->tag, i, n, what);
    }
    free(now);
    free(migs);
    free(names);
    fleet_tenant_migrations_free(rewritten, n);
    if (rc != PF_OK) {
        res->has_failure = true;
        res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED : OUTCOME_FAILED;
        res->error = rc != PF_ERR_UNREACHABLE ? failure_text(&res->failure)
                     : known                  ? pf_strdup(err.msg)
                             : pf_asprintf("%s; the ledger could not be read back, so what "
                                           "stayed applied is unknown; hint: run pgfleet "
                                           "audit",
                                           err.msg);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
    } else if (!known) {
        res->outcome = OUTCOME_FAILED;
        res->error = pf_strdup("applied, but the ledger could not be read back to verify it; "
                               "hint: run pgfleet audit");
    } else if (!verify(run->cb, &after, &err)) {
        res->outcome = OUTCOME_FAILED;
        res->error = pf_strdup(err.msg);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
    } else {
        res->outcome = OUTCOME_APPLIED;
        pf_log(PF_LOG_INFO, t->name, "applied %zu migration(s)", res->n_applied_now);
    }
    ledger_clear(&after);
}

/* mark-applied: the changes for this target, or a refusal (res->error) when a migration named
 * with --migration is in the ledger already. */
static bool mark_changes(const FleetRun *run, const Plan *p, TargetResult *res)
{
    bool *in_ledger = pf_calloc(run->cb->n ? run->cb->n : 1, sizeof *in_ledger);
    for (size_t i = 0; i < p->n_matches; i++)
        in_ledger[p->matches[i].migration] = true;
    bool *want = pf_calloc(run->cb->n ? run->cb->n : 1, sizeof *want);
    PfBuf present = PF_BUF_INIT;
    for (size_t i = 0; i < run->n_mark; i++) {
        size_t m = run->mark[i];
        if (in_ledger[m])
            pf_buf_printf(&present, "%s%s", present.len ? ", " : "", run->cb->migrations[m].tag);
        want[m] = true;
    }
    for (size_t m = 0; m < run->mark_through && m < run->cb->n; m++)
        want[m] = want[m] || !in_ledger[m];
    bool ok = present.len == 0;
    if (!ok) {
        res->outcome = OUTCOME_REFUSED;
        res->error =
            pf_asprintf("refused: already in the ledger: %s; nothing recorded", present.data);
    }
    for (size_t m = 0; ok && m < run->cb->n; m++) {
        if (!want[m])
            continue;
        res->changes = pf_realloc(res->changes, (res->n_changes + 1) * sizeof *res->changes);
        res->changes[res->n_changes++] = (FleetChange){m, 0, NULL};
    }
    pf_buf_free(&present);
    free(in_ledger);
    free(want);
    return ok;
}

/* repair: every modified row gets its migration's hash. */
static void repair_changes(const FleetRun *run, const Ledger *ledger, const Plan *p,
                           TargetResult *res)
{
    for (size_t i = 0; i < p->n_problems; i++) {
        const PlanProblem *pr = &p->problems[i];
        if (pr->kind != TARGET_MODIFIED)
            continue;
        for (size_t k = 0; k < p->n_matches; k++) {
            if (p->matches[k].ledger_id != pr->ledger_id)
                continue;
            const char *old = NULL;
            for (size_t r = 0; r < ledger->n; r++)
                if (ledger->rows[r].id == pr->ledger_id)
                    old = ledger->rows[r].hash;
            res->changes = pf_realloc(res->changes, (res->n_changes + 1) * sizeof *res->changes);
            res->changes[res->n_changes++] =
                (FleetChange){p->matches[k].migration, pr->ledger_id, pf_strdup(old)};
        }
    }
}

/* mark-applied and repair, under the lock: work out the changes, then (unless previewing)
 * write them and read the ledger back. */
static void change_ledger(const FleetRun *run, PgConn *conn, SshForward *fwd, JobSlot *slot,
                          PgSurvey *survey, TargetResult *res)
{
    const InvTarget *t = res->target;
    if (run->mode == FLEET_MARK && survey->no_ledger.n_lookalikes > 0) {
        /* Recording here would start a second ledger beside the one drizzle keeps. */
        res->outcome = OUTCOME_REFUSED;
        res->error = pf_asprintf("refused: %s; nothing recorded",
                                 res->plan.refusal ? res->plan.refusal : "a ledger elsewhere");
        return;
    }
    if (run->mode == FLEET_MARK && run->mark_expected && !fleet_drift_verify_mark(run, conn, res))
        return; /* mark-applied --verify: the schema is not that of --through (docs/drift.md) */
    if (run->mode == FLEET_MARK ? !mark_changes(run, &res->plan, res)
                                : (repair_changes(run, &survey->ledger, &res->plan, res), false))
        return;
    if (res->n_changes == 0) {
        res->outcome = OUTCOME_UNCHANGED;
        return;
    }
    for (size_t i = 0; i < res->n_changes; i++) {
        const FleetChange *ch = &res->changes[i];
        const CbMigration *m = &run->cb->migrations[ch->migration];
        if (run->mode == FLEET_MARK)
            pf_log(PF_LOG_NOTICE, t->name, "%s %s (hash %s, created_at %lld)",
                   run->preview ? "would record" : "recording", m->tag, m->hash,
                   (long long)m->when);
        else
            pf_log(PF_LOG_NOTICE, t->name, "%s %s (ledger row %lld): hash %s -> %s",
                   run->preview ? "would repair" : "repairing", m->tag, (long long)ch->ledger_id,
                   ch->old_hash ? ch->old_hash : "NULL", m->hash);
    }
    if (run->preview)
        return;
    const CbMigration **record = pf_calloc(res->n_changes, sizeof *record);
    PgLedgerFix *fix = pf_calloc(res->n_changes, sizeof *fix);
    size_t n_record = 0, n_fix = 0;
    for (size_t i = 0; i < res->n_changes; i++) {
        const FleetChange *ch = &res->changes[i];
        if (run->mode == FLEET_MARK)
            record[n_record++] = &run->cb->migrations[ch->migration];
        else
            fix[n_fix++] =
                (PgLedgerFix){&run->cb->migrations[ch->migration], ch->ledger_id, ch->old_hash};
    }
    PgLedgerWrite w = {
        .schema = t->schema,
        .table = t->table,
        .create_ledger = !survey->ledger.exists,
        .ledger_has_name = run->cb->layout == CB_LAYOUT_FOLDERS || survey->ledger.has_name_column,
        .record = record,
        .n_record = n_record,
        .fix = fix,
        .n_fix = n_fix,
        .unlock = survey->lock_acquired,
        .lock_key = res->lock_key,
    };
    PfErr err;
    PgApplyEnd end;
    PfErrCode rc = pg_ledger_write(conn, &w, &end, &err);
    free(record);
    free(fix);
    if (end.unlocked)
        survey->lock_acquired = false;
    Ledger after;
    bool known = read_back(run, conn, fwd, slot, &survey->ledger, rc, &end, res, &after);
    pg_apply_end_clear(&end);
    if (rc != PF_OK) {
        res->outcome = OUTCOME_FAILED;
        res->error = pf_strdup(err.msg);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
    } else if (!known) {
        res->outcome = OUTCOME_FAILED;
        res->error = pf_strdup("changed, but the ledger could not be read back; hint: run "
                               "pgfleet audit");
    } else {
        res->outcome = run->mode == FLEET_MARK ? OUTCOME_RECORDED : OUTCOME_REPAIRED;
    }
    ledger_clear(&after);
}

/* apply: the ledger that leaves nothing to do, every migration of cb recorded as apply records
 * it, so that the survey releases the lock in its own round trip when it finds exactly that
 * (docs/round-trips.md). False (*e empty) when the lock is needed after the survey anyway (the
 * wave's check runs under it) or when even that ledger would leave something pending. */
static bool in_sync_ledger(const FleetRun *run, const TargetResult *res, const Codebase *cb,
                           Ledger *e)
{
    memset(e, 0, sizeof *e);
    if (run->mode != FLEET_APPLY || run->preview || (res->wave && res->wave->check) || cb->n == 0)
        return false;
    e->exists = true;
    e->has_name_column = cb->layout == CB_LAYOUT_FOLDERS;
    e->rows = pf_calloc(cb->n, sizeof *e->rows);
    for (size_t i = 0; i < cb->n; i++) {
        const CbMigration *m = &cb->migrations[i];
        e->rows[i] = (LedgerRow){(int64_t)i + 1,
                                 pf_strdup(m->hash),
                                 true,
                                 m->when,
                                 e->has_name_column ? pf_strdup(m->tag) : NULL,
                                 NULL};
    }
    e->n = cb->n;
    Plan p;
    plan_classify(cb, e, &p);
    bool nothing_to_do = p.n_pending == 0;
    plan_clear(&p);
    if (!nothing_to_do)
        ledger_clear(e);
    return nothing_to_do;
}

PfErrCode fleet_tunnel_open(const InvTarget *t, JobSlot *slot, SshForward **fwd, PfErr *err)
{
    if (!slot || !slot->hub)
        return pf_err_set(err, PF_ERR_UNREACHABLE, "tunnel %s is not available", t->via);
    char *host;
    int port;
    if (pg_dsn_endpoint(t->dsn, &host, &port, err) != PF_OK) {
        pf_err_prefix(err, "cannot go via %s", t->via);
        err->code = PF_ERR_UNREACHABLE;
        return PF_ERR_UNREACHABLE;
    }
    PfErrCode rc = ssh_hub_forward(slot->hub, t->via, host, port, fwd, err);
    free(host);
    return rc;
}

/* When the target failed because its tunnel did, its error is the tunnel's cause. */
static bool tunnel_blame(SshForward *fwd, TargetResult *res)
{
    char *cause = fwd && res->error ? ssh_forward_error(fwd) : NULL;
    if (!cause)
        return false;
    pf_log(PF_LOG_WARN, res->target->name, "unreachable: %s", cause);
    free(res->error);
    res->error = cause;
    res->status = TARGET_UNREACHABLE;
    return true;
}

void fleet_job_run(const FleetRun *run, TargetResult *res, const atomic_int *interrupted,
                   JobSlot *slot)
{
    const InvTarget *t = res->target;
    int64_t t0 = pf_now_ms();
    res->started = true;
    res->outcome = OUTCOME_NONE;
    res->lock_key =
        t->settings.lock_key_set ? t->settings.lock_key : pg_lock_key_derive(t->schema, t->table);
    bool applying = run->mode == FLEET_APPLY;
    /* apply, mark-applied and repair take the lock and report outcomes; a preview only reads. */
    bool writing = fleet_mode_writes(run->mode) && !run->preview;

    PfErr err;
    PgConn *conn = NULL;
    SshForward *fwd = NULL;
    PfErrCode orc = PF_OK;
    int64_t t1 = t0;
    bool reused = slot && fleet_same_database(slot->kept_for, t);
    if (reused) {
        /* The previous tenant's connection to this database, reset by the survey. */
        conn = slot->kept;
        fwd = slot->kept_fwd;
        slot->kept = NULL;
        slot->kept_fwd = NULL;
        slot->kept_for = NULL;
    } else {
        if (slot)
            job_slot_release(slot);
        orc = t->via ? fleet_tunnel_open(t, slot, &fwd, &err) : PF_OK;
        t1 = pf_now_ms();
        res->tunnel_ms = t->via ? t1 - t0 : 0;
        /* --wait connected already: the target's one connection of the run. */
        PgConn **waited = run->waited && !t->via ? &run->waited[t - run->inv->targets] : NULL;
        if (orc == PF_OK)
            orc = fleet_job_connect(t, fwd, slot, waited, &conn, &err);
        res->new_connection = orc == PF_OK;
    }
    if (orc != PF_OK) {
        res->status = TARGET_UNREACHABLE;
        res->outcome = writing ? OUTCOME_FAILED : OUTCOME_NONE;
        res->error = pf_strdup(err.msg);
        if (!tunnel_blame(fwd, res))
            pf_log(PF_LOG_WARN, t->name, "unreachable: %s", err.msg);
        ssh_forward_close(fwd);
        res->connect_ms = pf_now_ms() - t1;
        res->total_ms = pf_now_ms() - t0;
        return;
    }
    res->connect_ms = pf_now_ms() - t1;
    job_slot_attach(slot, conn);
    int trips_before = pg_conn_round_trips(conn);

    /* A tenant: its schema is the session's search_path, and the survey looks for what the
     * folder creates under the tenant's names. */
    Codebase tenant_cb;
    const Codebase *cb = run->cb;
    PgTenantEnter tenant = {t->tenant_schema, applying && writing && t->settings.create_schema,
                            reused};
    if (t->tenant_schema) {
        fleet_tenant_codebase(run, t, &tenant_cb);
        cb = &tenant_cb;
    }

    Ledger in_sync;
    bool release_if_in_sync = in_sync_ledger(run, res, cb, &in_sync);
    PgSurvey survey;
    PfErrCode rc =
        pg_survey(conn, t->tenant_schema ? &tenant : NULL, t->schema, t->table, res->lock_key,
                  writing ? PG_LOCK_TAKE : PG_LOCK_CHECK, t->settings.lock_wait_ms,
                  &t->settings.expect, cb, release_if_in_sync ? &in_sync : NULL, &survey, &err);
    ledger_clear(&in_sync);
    if (rc != PF_OK) {
        res->status = TARGET_UNREACHABLE;
        res->outcome = atomic_load(interrupted) ? OUTCOME_INTERRUPTED
                       : writing                ? OUTCOME_FAILED
                                                : OUTCOME_NONE;
        res->error = pf_strdup(err.msg);
        pf_log(PF_LOG_WARN, t->name, "%s", err.msg);
        goto unlock; /* what the survey read or took before failing is still released */
    }
    res->identity = survey.identity;
    memset(&survey.identity, 0, sizeof survey.identity);
    if (survey.refused) {
        refuse_identity(res, survey.refused, writing);
        survey.refused = NULL;
        goto unlock;
    }
    /* A command that writes does not read the ledger of a target it could not lock. */
    if (!(survey.locked_by_other && writing)) {
        plan_classify(cb, &survey.ledger, &res->plan);
        if (!survey.ledger.exists)
            plan_no_ledger(&res->plan, cb, t->schema, t->table, &survey.no_ledger);
    }
    res->status = res->plan.status;
    if (survey.locked_by_other) {
        res->has_holder = true;
        res->holder = survey.holder;
        memset(&survey.holder, 0, sizeof survey.holder);
        res->status = run->mode == FLEET_AUDIT ? TARGET_MIGRATING : TARGET_LOCKED;
        if (writing && atomic_load(interrupted)) {
            /* The wait for the lock was cancelled, not timed out. */
            char *held = holder_text(&res->holder);
            res->error = pf_asprintf("interrupted while waiting for the lock: %s", held);
            free(held);
            res->outcome = OUTCOME_INTERRUPTED;
        } else {
            res->error =
                run->mode == FLEET_AUDIT ? migrating_text(&res->holder) : holder_text(&res->holder);
            res->outcome = writing ? OUTCOME_FAILED : OUTCOME_NONE;
        }
        pf_log(PF_LOG_WARN, t->name, "%s", res->error);
    } else if (applying) {
        if (atomic_load(interrupted)) {
            res->outcome = OUTCOME_INTERRUPTED;
        } else if (survey.released && res->plan.n_pending) {
            /* Cannot be: the survey let go of the lock because the ledger leaves nothing to do. */
            res->outcome = OUTCOME_FAILED;
            res->error = pf_strdup("the lock was released for a ledger in sync, but something "
                                   "is pending; nothing was applied; hint: apply again");
            pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
        } else if (!survey.schema_exists && res->plan.n_pending) {
            res->outcome = OUTCOME_FAILED;
            res->error = pf_asprintf("tenant schema \"%s\" does not exist in this database; "
                                     "hint: create it, or set create_schema: true",
                                     t->tenant_schema);
            pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
        } else {
            apply_pending(run, conn, fwd, slot, &survey, res, interrupted);
        }
        /* The wave's health gate, still under the lock (waves.c). */
        fleet_wave_check(conn, res, interrupted);
    } else if (run->mode == FLEET_MARK || run->mode == FLEET_REPAIR) {
        if (atomic_load(interrupted))
            res->outcome = writing ? OUTCOME_INTERRUPTED : OUTCOME_NONE;
        else
            change_ledger(run, conn, fwd, slot, &survey, res);
    } else if (run->mode == FLEET_ROLLBACK || run->rollback_plan) {
        if (atomic_load(interrupted))
            res->outcome = writing ? OUTCOME_INTERRUPTED : OUTCOME_NONE;
        else
            fleet_job_rollback(run, conn, &survey, res, interrupted); /* rollback.c */
    } else if (run->mode == FLEET_PLAN && !atomic_load(interrupted)) {
        fleet_job_preflight(run, conn, res);
    }
    if (run->drift && !writing && !survey.locked_by_other && !atomic_load(interrupted))
        fleet_drift_read(run, conn, res); /* docs/drift.md */
unlock:
    if (survey.lock_acquired && pg_lock_release(conn, res->lock_key, &err) != PF_OK)
        pf_log(PF_LOG_DEBUG, t->name, "unlock: %s (the lock goes with the session)", err.msg);
    pg_survey_clear(&survey);
    if (t->tenant_schema)
        fleet_tenant_codebase_clear(&tenant_cb);
    tunnel_blame(fwd, res);
    job_slot_detach(slot);
    /* A tenant's connection serves the worker's next tenant of the same database, whose survey
     * resets it first. */
    bool keep = t->tenant_schema && slot && !atomic_load(interrupted) && pg_conn_reusable(conn);
    res->round_trips = pg_conn_round_trips(conn) - trips_before;
    if (keep) {
        slot->kept = conn;
        slot->kept_fwd = fwd;
        slot->kept_for = t;
    } else {
        pg_conn_free(conn);
        ssh_forward_close(fwd);
    }
    res->total_ms = pf_now_ms() - t0;
}
