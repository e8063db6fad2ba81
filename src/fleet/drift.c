/*
 * Schema drift (docs/drift.md): each job reads its target's catalog in one round trip; once
 * every job ran, the main thread builds the schema each distinct ledger head should produce
 * (the codebase's migrations up to it, applied by pg_apply exactly as apply applies them, in a
 * scratch database of its own), once per head for the run, and compares.
 *
 * Scratch databases are named pgfleet_drift_<pid>_<start ms>_<head>, so that two runs cannot
 * meet, and dropped (WITH (FORCE)) however the build ended: SIGINT cancels the running build
 * through the slot the connection is published in, and the drop still runs.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCRATCH_LEDGER_SCHEMA "drizzle"
#define SCRATCH_LEDGER_TABLE "__drizzle_migrations"
#define SCRATCH_LOG "drift"

/* The folder's schemas a target maps, and what they become (a tenant's schema_map, by default
 * public -> its schema); none for a database target. Arrays borrowed from t; caller frees. */
static size_t schema_map(const InvTarget *t, const char ***from, const char ***to)
{
    if (!t->tenant_schema) {
        *from = *to = NULL;
        return 0;
    }
    size_t n = t->n_schema_map ? t->n_schema_map : 1;
    *from = pf_calloc(n, sizeof **from);
    *to = pf_calloc(n, sizeof **to);
    if (!t->n_schema_map) {
        (*from)[0] = "public";
        (*to)[0] = t->tenant_schema;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        (*from)[i] = t->schema_map[i].key;
        (*to)[i] = t->schema_map[i].value;
    }
    return n;
}

/* Where names print unqualified: the schema public maps to (public for a database). */
static const char *home_schema(const InvTarget *t)
{
    if (!t->tenant_schema)
        return "public";
    for (size_t i = 0; i < t->n_schema_map; i++)
        if (strcmp(t->schema_map[i].key, "public") == 0)
            return t->schema_map[i].value;
    return t->tenant_schema;
}

/* The ledger holds exactly the codebase's first n_applied migrations: its head. */
static bool ledger_head(const Plan *p, size_t *head)
{
    if (p->status != TARGET_IN_SYNC && p->status != TARGET_BEHIND)
        return false;
    if (p->n_applied == 0 || p->n_problems > 0)
        return false;
    for (size_t i = 0; i < p->n_matches; i++)
        if (p->matches[i].migration >= p->n_applied)
            return false;
    *head = p->n_applied;
    return true;
}

/* plan and audit compare every target (mark-applied --verify has its own way). */
static bool checks_drift(const FleetRun *run)
{
    return run->drift && (run->mode == FLEET_AUDIT || run->mode == FLEET_PLAN);
}

/* d could not be checked: why, for the report. */
static void drift_failed(TargetDrift *d, const char *why)
{
    d->error = pf_strdup(why);
    d->summary = pf_asprintf("drift not checked: %s", why);
    drift_snapshot_clear(&d->actual);
}

/* The schemas a tenant's part of a catalog holds: its mapped schemas and drift's configured
 * ones; *n_map of them are mapped. Borrowed strings; caller frees the array. */
static const char **tenant_schemas(const InvTarget *t, const InvDrift *drift, size_t *n,
                                   size_t *n_map)
{
    const char **from, **to;
    *n_map = schema_map(t, &from, &to);
    *n = *n_map + drift->n_schemas;
    const char **schemas = pf_calloc(*n ? *n : 1, sizeof *schemas);
    for (size_t i = 0; i < *n_map; i++)
        schemas[i] = to[i];
    for (size_t i = 0; i < drift->n_schemas; i++)
        schemas[*n_map + i] = drift->schemas[i];
    free(from);
    free(to);
    return schemas;
}

/* The catalog of targets[0..n) as the server names it, on conn, in one query: for tenant
 * schemas of one database, each one's mapped schemas printed under its home search_path and
 * drift's configured ones under public (as the expected schema prints them); for a database
 * target (n is 1), every schema but the ledger's (kept to what the expected schema holds once
 * it is known). */
static PfErrCode targets_catalog(PgConn *conn, const InvTarget *const *targets, size_t n,
                                 const InvDrift *drift, DriftSnapshot *out, PfErr *err)
{
    const char **schemas = NULL, **paths = NULL;
    size_t n_schemas = 0, cap = 0;
    const char **ledger_schemas = pf_calloc(n, sizeof *ledger_schemas);
    const char **ledger_tables = pf_calloc(n, sizeof *ledger_tables);
    for (size_t k = 0; k < n; k++) {
        const InvTarget *t = targets[k];
        ledger_schemas[k] = t->schema;
        ledger_tables[k] = t->table;
        if (!t->tenant_schema)
            continue;
        size_t m, n_map;
        const char **mine = tenant_schemas(t, drift, &m, &n_map);
        size_t old_cap = cap;
        PF_GROW(schemas, cap, n_schemas + m);
        if (cap != old_cap)
            paths = pf_realloc(paths, cap * sizeof *paths);
        for (size_t i = 0; i < m; i++) {
            schemas[n_schemas] = mine[i];
            paths[n_schemas++] = i < n_map ? home_schema(t) : "public";
        }
        free(mine);
    }
    PgCatalogScope scope = {
        .schemas = schemas,
        .paths = paths,
        .n_schemas = n_schemas,
        .path = "public",
        .ledger_schemas = ledger_schemas,
        .ledger_tables = ledger_tables,
        .n_ledgers = n,
    };
    PfErrCode rc = pg_catalog_snapshot(conn, &scope, out, err);
    free(schemas);
    free(paths);
    free(ledger_schemas);
    free(ledger_tables);
    return rc;
}

static PfErrCode target_catalog(PgConn *conn, const InvTarget *t, const InvDrift *drift,
                                DriftSnapshot *out, PfErr *err)
{
    return targets_catalog(conn, &t, 1, drift, out, err);
}

/* ---- the tenants of a database read together ---- */

typedef enum { BATCH_UNREAD, BATCH_READING, BATCH_READ, BATCH_FAILED } BatchState;

typedef struct DriftBatch {
    const InvTarget **members; /* borrowed from the inventory, in run order */
    size_t n;
    size_t n_untaken; /* members that have not taken their part: the catalog goes with the last */
    BatchState state;
    DriftSnapshot snap; /* once read, until the last member took its part */
    char *error;        /* when it failed: why */
} DriftBatch;

struct FleetDriftBatches {
    pthread_mutex_t mutex;
    pthread_cond_t changed; /* a batch was read, or failed */
    DriftBatch *batches;
    size_t n;
    DriftBatch **of; /* per inventory target: its batch, or NULL */
    const InvDrift *drift;
};

/* A selected tenant target and its place in the run. */
typedef struct {
    const InvTarget *t;
    size_t pos;
} Member;

/* By database (fleet_database_cmp), then run order. */
static int member_cmp(const void *pa, const void *pb)
{
    const Member *a = pa, *b = pb;
    int c = fleet_database_cmp(a->t, b->t);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

FleetDriftBatches *fleet_drift_batches_new(const FleetRun *run)
{
    if (!checks_drift(run))
        return NULL;
    Member *m = pf_calloc(run->n ? run->n : 1, sizeof *m);
    size_t n = 0;
    for (size_t i = 0; i < run->n; i++) {
        const InvTarget *t = &run->inv->targets[run->selected[i]];
        if (t->tenant_schema)
            m[n++] = (Member){t, i};
    }
    if (n == 0) {
        free(m);
        return NULL;
    }
    qsort(m, n, sizeof *m, member_cmp);
    FleetDriftBatches *b = pf_calloc(1, sizeof *b);
    pthread_mutex_init(&b->mutex, NULL);
    pthread_cond_init(&b->changed, NULL);
    b->drift = run->drift;
    b->of = pf_calloc(run->inv->n, sizeof *b->of);
    b->batches = pf_calloc(n, sizeof *b->batches); /* at most one per member */
    /* The first jobs tenants of a database go to jobs different batches, and so on in turn,
     * so that the workers read batches side by side rather than wait for one; in chunks of
     * jobs full batches, so that about that many are held at once. */
    size_t jobs = run->jobs > 0 ? (size_t)run->jobs : 1;
    size_t chunk = jobs * FLEET_DRIFT_BATCH;
    for (size_t i = 0; i < n;) {
        size_t end = i + 1;
        while (end < n && end - i < chunk && fleet_same_database(m[i].t, m[end].t))
            end++;
        size_t n_batches = end - i < jobs ? end - i : jobs;
        DriftBatch *first = &b->batches[b->n];
        b->n += n_batches;
        for (size_t k = 0; k < n_batches; k++)
            first[k].members =
                pf_calloc((end - i + n_batches - 1) / n_batches, sizeof *first[k].members);
        for (size_t k = i; k < end; k++) {
            DriftBatch *batch = &first[(k - i) % n_batches];
            batch->members[batch->n++] = m[k].t;
            batch->n_untaken++;
            b->of[m[k].t - run->inv->targets] = batch;
        }
        i = end;
    }
    free(m);
    return b;
}

void fleet_drift_batches_free(FleetDriftBatches *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->batches[i].members);
        drift_snapshot_clear(&b->batches[i].snap);
        free(b->batches[i].error);
    }
    free(b->batches);
    free(b->of);
    pthread_cond_destroy(&b->changed);
    pthread_mutex_destroy(&b->mutex);
    free(b);
}

/* Tenant t's part of its batch's catalog, reading the batch on conn when no job has yet. */
static PfErrCode batch_take(FleetDriftBatches *b, const Inventory *inv, PgConn *conn,
                            const InvTarget *t, DriftSnapshot *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    DriftBatch *batch = b->of[t - inv->targets];
    pthread_mutex_lock(&b->mutex);
    while (batch->state == BATCH_READING)
        pthread_cond_wait(&b->changed, &b->mutex);
    if (batch->state == BATCH_UNREAD) {
        batch->state = BATCH_READING;
        pthread_mutex_unlock(&b->mutex);
        DriftSnapshot snap;
        PfErr e;
        PfErrCode rc = targets_catalog(conn, batch->members, batch->n, b->drift, &snap, &e);
        pthread_mutex_lock(&b->mutex);
        batch->snap = snap;
        batch->state = rc == PF_OK ? BATCH_READ : BATCH_FAILED;
        if (rc != PF_OK)
            batch->error = pf_strdup(e.msg);
        pthread_cond_broadcast(&b->changed);
    }
    PfErrCode rc = PF_OK;
    if (batch->state == BATCH_READ) {
        size_t n, n_map;
        const char **schemas = tenant_schemas(t, b->drift, &n, &n_map);
        drift_snapshot_slice(&batch->snap, schemas, n, out);
        free(schemas);
    } else {
        rc = pf_err_set(err, PF_ERR_PG, "%s", batch->error);
    }
    if (--batch->n_untaken == 0)
        drift_snapshot_clear(&batch->snap);
    pthread_mutex_unlock(&b->mutex);
    return rc;
}

void fleet_drift_read(const FleetRun *run, PgConn *conn, TargetResult *res)
{
    size_t head;
    if (!checks_drift(run) || !ledger_head(&res->plan, &head))
        return;
    const InvTarget *t = res->target;
    TargetDrift *d = pf_calloc(1, sizeof *d);
    d->head = head;
    res->drift = d;
    PfErr err;
    PfErrCode rc = t->tenant_schema && run->drift_batches
                       ? batch_take(run->drift_batches, run->inv, conn, t, &d->actual, &err)
                       : target_catalog(conn, t, run->drift, &d->actual, &err);
    if (rc != PF_OK) {
        drift_failed(d, err.msg);
        pf_log(PF_LOG_WARN, t->name, "%s", d->summary);
    }
}

/* One expected schema: the catalog a fresh database holds after the first head migrations. */
typedef struct Expected {
    size_t head;
    DriftSnapshot snap;
    char *error; /* the build failed: why */
} Expected;

static PfErrCode build_in(PgConn *db, const FleetRun *run, size_t head,
                          const atomic_int *interrupted, DriftSnapshot *out, PfErr *err)
{
    const CbMigration **migs = pf_calloc(head, sizeof *migs);
    for (size_t i = 0; i < head; i++)
        migs[i] = &run->cb->migrations[i];
    PgApplyRequest req = {
        .schema = SCRATCH_LEDGER_SCHEMA,
        .table = SCRATCH_LEDGER_TABLE,
        .create_ledger = true,
        .ledger_has_name = run->cb->layout == CB_LAYOUT_FOLDERS,
        .migrations = migs,
        .n = head,
        .interrupted = interrupted,
    };
    PgFailure failure;
    memset(&failure, 0, sizeof failure);
    PgApplyEnd end;
    PfErrCode rc = pg_apply(db, &req, &failure, &end, err);
    pg_apply_end_clear(&end);
    free(migs);
    if (rc != PF_OK) {
        if (failure.tag)
            pf_err_set(err, rc, "migration %s, statement %d failed: %s", failure.tag,
                       failure.statement, failure.message ? failure.message : "unknown error");
        pg_failure_clear(&failure);
        return rc;
    }
    pg_failure_clear(&failure);
    const char *ledger_schema = SCRATCH_LEDGER_SCHEMA, *ledger_table = SCRATCH_LEDGER_TABLE;
    PgCatalogScope scope = {
        .exclude_schema = SCRATCH_LEDGER_SCHEMA,
        .path = "public",
        .ledger_schemas = &ledger_schema,
        .ledger_tables = &ledger_table,
        .n_ledgers = 1,
    };
    return pg_catalog_snapshot(db, &scope, out, err);
}

/* Build e on the scratch server admin is connected to. */
static void build(PgConn *admin, const FleetRun *run, Expected *e, const char *run_tag,
                  const atomic_int *interrupted, JobSlot *slot)
{
    static const InvSettings settings = {.connect_timeout_ms = 10000};
    char *dbname = pf_asprintf("pgfleet_drift_%s_%zu", run_tag, e->head);
    PfErr err;
    int64_t t0 = pf_now_ms();
    if (pg_scratch_create(admin, dbname, &err) != PF_OK) {
        e->error = pf_strdup(err.msg);
        free(dbname);
        return;
    }
    PgConn *db = NULL;
    PfErrCode rc =
        pg_conn_open_db(SCRATCH_LOG, run->drift->scratch_dsn, dbname, &settings, &db, &err);
    if (rc == PF_OK) {
        job_slot_attach(slot, db);
        rc = build_in(db, run, e->head, interrupted, &e->snap, &err);
        job_slot_detach(slot);
    }
    pg_conn_free(db);
    if (rc != PF_OK) {
        e->error = pf_asprintf("the expected schema (through %s) could not be built on the "
                               "scratch server: %s",
                               run->cb->migrations[e->head - 1].tag, err.msg);
        drift_snapshot_clear(&e->snap);
    } else {
        pf_log(PF_LOG_INFO, SCRATCH_LOG, "expected schema through %s built in %lld ms",
               run->cb->migrations[e->head - 1].tag, (long long)(pf_now_ms() - t0));
    }
    if (pg_scratch_drop(admin, dbname, &err) != PF_OK)
        pf_log(PF_LOG_ERROR, SCRATCH_LOG, "%s; hint: drop it by hand", err.msg);
    free(dbname);
}

static void compare(const FleetRun *run, const Expected *e, TargetResult *res)
{
    TargetDrift *d = res->drift;
    const InvTarget *t = res->target;
    const char **from, **to;
    size_t n_map = schema_map(t, &from, &to);
    DriftSnapshot expected;
    drift_snapshot_map(&e->snap, from, to, n_map, &expected);
    size_t n_keep;
    const char **keep = drift_snapshot_schemas(&expected, &n_keep);
    keep = pf_realloc(keep, (n_keep + run->drift->n_schemas + 1) * sizeof *keep);
    for (size_t i = 0; i < run->drift->n_schemas; i++)
        keep[n_keep++] = run->drift->schemas[i];
    drift_snapshot_keep(&d->actual, keep, n_keep);
    drift_compare(&expected, &d->actual, &d->lines, &d->n_lines);
    d->checked = true;
    free(keep);
    drift_snapshot_clear(&expected);
    drift_snapshot_clear(&d->actual);
    free(from);
    free(to);
    if (d->n_lines > 0 && (res->status == TARGET_IN_SYNC || res->status == TARGET_BEHIND)) {
        res->status = TARGET_DRIFTED;
        d->summary =
            pf_asprintf("drifted: %zu difference%s from the schema through %s%s", d->n_lines,
                        d->n_lines == 1 ? "" : "s", run->cb->migrations[d->head - 1].tag,
                        res->plan.n_pending ? " (the ledger's head)" : "");
        pf_log(PF_LOG_WARN, t->name, "%s", d->summary);
    }
}

PfErrCode fleet_drift_mark_expected(const FleetRun *run, const atomic_int *interrupted,
                                    JobSlot *slot, DriftSnapshot *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    static const InvSettings settings = {.connect_timeout_ms = 10000};
    PgConn *admin = NULL;
    if (pg_conn_open(SCRATCH_LOG, run->drift->scratch_dsn, &settings, &admin, err) != PF_OK) {
        pf_err_prefix(err, "--verify: the scratch server cannot be reached");
        return PF_ERR_UNREACHABLE;
    }
    Expected e = {.head = run->mark_through};
    char tag[64];
    snprintf(tag, sizeof tag, "%ld_%lld", (long)getpid(), (long long)pf_now_ms());
    build(admin, run, &e, tag, interrupted, slot);
    pg_conn_free(admin);
    PfErrCode rc = PF_OK;
    if (atomic_load(interrupted))
        rc = pf_err_set(err, PF_ERR_INTERRUPTED, "interrupted while building the schema to verify");
    else if (e.error)
        rc = pf_err_set(err, PF_ERR_PG, "--verify: %s", e.error);
    if (rc == PF_OK)
        *out = e.snap;
    else
        drift_snapshot_clear(&e.snap);
    free(e.error);
    return rc;
}

bool fleet_drift_verify_mark(const FleetRun *run, PgConn *conn, TargetResult *res)
{
    const InvTarget *t = res->target;
    const char *through = run->cb->migrations[run->mark_through - 1].tag;
    TargetDrift *d = pf_calloc(1, sizeof *d);
    d->head = run->mark_through;
    res->drift = d;
    PfErr err;
    if (target_catalog(conn, t, run->drift, &d->actual, &err) != PF_OK) {
        drift_failed(d, err.msg);
        res->outcome = OUTCOME_FAILED;
        res->error = pf_asprintf("--verify: %s; nothing recorded", err.msg);
        pf_log(PF_LOG_ERROR, t->name, "%s", res->error);
        return false;
    }
    Expected e = {.head = run->mark_through, .snap = *run->mark_expected};
    TargetStatus before = res->status;
    compare(run, &e, res);
    res->status = before; /* the status is the ledger's; the refusal says the rest */
    free(d->summary);
    d->summary = NULL;
    if (d->n_lines == 0) {
        pf_log(PF_LOG_INFO, t->name, "--verify: the schema is the one through %s", through);
        return true;
    }
    res->outcome = OUTCOME_REFUSED;
    res->error = pf_asprintf("refused: the schema is not the one the migrations through %s make "
                             "(%zu difference%s); nothing recorded; hint: make it so, or adopt "
                             "it through the migration it does match",
                             through, d->n_lines, d->n_lines == 1 ? "" : "s");
    pf_log(PF_LOG_WARN, t->name, "%s", res->error);
    return false;
}

void fleet_drift_compare(const FleetRun *run, FleetResult *out, const atomic_int *interrupted,
                         JobSlot *slot)
{
    if (!checks_drift(run))
        return;
    Expected *heads = pf_calloc(run->cb->n + 1, sizeof *heads);
    size_t n_heads = 0;
    for (size_t k = 1; k <= run->cb->n; k++) {
        bool wanted = false;
        for (size_t i = 0; i < out->n && !wanted; i++) {
            const TargetDrift *d = out->targets[i].drift;
            wanted = d && !d->error && d->head == k;
        }
        if (wanted)
            heads[n_heads++].head = k;
    }
    PgConn *admin = NULL;
    PfErr err;
    char *admin_error = NULL;
    if (n_heads > 0 && !atomic_load(interrupted)) {
        static const InvSettings settings = {.connect_timeout_ms = 10000};
        if (pg_conn_open(SCRATCH_LOG, run->drift->scratch_dsn, &settings, &admin, &err) != PF_OK)
            admin_error = pf_asprintf("the scratch server cannot be reached: %s", err.msg);
    }
    char run_tag[64];
    snprintf(run_tag, sizeof run_tag, "%ld_%lld", (long)getpid(), (long long)pf_now_ms());
    for (size_t h = 0; h < n_heads; h++) {
        Expected *e = &heads[h];
        if (atomic_load(interrupted))
            e->error = pf_strdup("interrupted before the expected schema was built");
        else if (admin_error)
            e->error = pf_strdup(admin_error);
        else
            build(admin, run, e, run_tag, interrupted, slot);
    }
    pg_conn_free(admin);
    free(admin_error);
    for (size_t i = 0; i < out->n; i++) {
        TargetResult *res = &out->targets[i];
        TargetDrift *d = res->drift;
        if (!d || d->error)
            continue;
        for (size_t h = 0; h < n_heads; h++) {
            if (heads[h].head != d->head)
                continue;
            if (heads[h].error) {
                drift_failed(d, heads[h].error);
            } else {
                compare(run, &heads[h], res);
            }
        }
    }
    for (size_t h = 0; h < n_heads; h++) {
        if (heads[h].error)
            pf_log(PF_LOG_ERROR, SCRATCH_LOG, "%s", heads[h].error);
        drift_snapshot_clear(&heads[h].snap);
        free(heads[h].error);
    }
    free(heads);
}

void fleet_target_drift_free(TargetDrift *d)
{
    if (!d)
        return;
    drift_snapshot_clear(&d->actual);
    drift_lines_free(d->lines, d->n_lines);
    free(d->error);
    free(d->summary);
    free(d);
}

/* ---- diff-schema: two targets, or a target and the codebase's schema ---- */

/* What lets SIGINT/SIGTERM cancel diff-schema's queries: a thread that waits for them (the
 * calling thread keeps them blocked) and cancels the connection published in slot. */
typedef struct DiffGuard {
    sigset_t signals, old_mask;
    pthread_mutex_t mutex;
    JobSlot slot;
    atomic_int interrupted;
    atomic_bool done;
    pthread_t thread;
    bool running;
    FleetHub hub; /* the inventory's tunnels, when a target goes via one */
} DiffGuard;

static void *guard_main(void *arg)
{
    DiffGuard *g = arg;
    struct timespec tick = {0, 200 * 1000 * 1000};
    while (!atomic_load(&g->done)) {
        int sig = sigtimedwait(&g->signals, NULL, &tick);
        if (sig != SIGINT && sig != SIGTERM)
            continue;
        if (fleet_signal_action(sig, atomic_load(&g->interrupted)) == FLEET_SIGNAL_EXIT)
            _exit(PF_EXIT_INTERRUPTED);
        atomic_store(&g->interrupted, 1);
        pthread_mutex_lock(&g->mutex);
        if (g->slot.conn)
            pg_conn_cancel(g->slot.conn);
        pthread_mutex_unlock(&g->mutex);
    }
    return NULL;
}

static void guard_start(DiffGuard *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mutex, NULL);
    g->slot.mutex = &g->mutex;
    atomic_init(&g->interrupted, 0);
    atomic_init(&g->done, false);
    sigemptyset(&g->signals);
    sigaddset(&g->signals, SIGINT);
    sigaddset(&g->signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &g->signals, &g->old_mask);
    g->running = pthread_create(&g->thread, NULL, guard_main, g) == 0;
}

static void guard_stop(DiffGuard *g)
{
    atomic_store(&g->done, true);
    if (g->running)
        pthread_join(g->thread, NULL);
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
        int sig;
        sigwait(&g->signals, &sig);
        atomic_store(&g->interrupted, 1);
    }
    pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
    pthread_mutex_destroy(&g->mutex);
}

/* Start the inventory's tunnels when a or b goes via one (after guard_start: the loop's
 * thread inherits the blocked signals). */
static PfErrCode hub_start(DiffGuard *g, const Inventory *inv, const InvTarget *a,
                           const InvTarget *b, PfErr *err)
{
    g->hub.hub = NULL;
    if (!a->via && !(b && b->via))
        return PF_OK;
    PfErrCode rc = fleet_hub_start(inv, &g->hub, err);
    g->slot.hub = g->hub.hub;
    return rc;
}

/* A connection to t, as a job makes it: direct, or through its tunnel's forward (*fwd, closed
 * by the caller). */
static PfErrCode target_connect(const InvTarget *t, DiffGuard *g, SshForward **fwd, PgConn **conn,
                                PfErr *err)
{
    *fwd = NULL;
    PfErrCode rc = t->via ? fleet_tunnel_open(t, &g->slot, fwd, err) : PF_OK;
    return rc == PF_OK ? fleet_job_connect(t, *fwd, &g->slot, NULL, conn, err) : rc;
}

/* Target t's schema, under the folder's schema names (a tenant's mapped back). */
static PfErrCode target_snapshot(const Inventory *inv, const InvTarget *t, DiffGuard *g,
                                 DriftSnapshot *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    PgConn *conn = NULL;
    SshForward *fwd = NULL;
    if (target_connect(t, g, &fwd, &conn, err) != PF_OK) {
        ssh_forward_close(fwd);
        pf_err_prefix(err, "%s", t->name);
        return PF_ERR_UNREACHABLE;
    }
    DriftSnapshot raw;
    job_slot_attach(&g->slot, conn);
    PfErrCode rc = target_catalog(conn, t, &inv->drift, &raw, err);
    job_slot_detach(&g->slot);
    pg_conn_free(conn);
    ssh_forward_close(fwd);
    if (rc != PF_OK) {
        pf_err_prefix(err, "%s", t->name);
    } else {
        const char **from, **to;
        size_t n_map = schema_map(t, &from, &to);
        drift_snapshot_map(&raw, to, from, n_map, out);
        free(from);
        free(to);
    }
    drift_snapshot_clear(&raw);
    return rc;
}

PfErrCode fleet_drift_diff(const Codebase *cb, const Inventory *inv, const InvTarget *a,
                           const InvTarget *b, char ***lines, size_t *n, PfErr *err)
{
    *lines = NULL;
    *n = 0;
    DiffGuard g;
    guard_start(&g);
    DriftSnapshot sa = {0}, sb = {0};
    PfErrCode rc = hub_start(&g, inv, a, b, err);
    if (rc == PF_OK)
        rc = target_snapshot(inv, a, &g, &sa, err);
    if (rc == PF_OK && b) {
        rc = target_snapshot(inv, b, &g, &sb, err);
    } else if (rc == PF_OK && cb->n == 0) {
        rc = pf_err_set(err, PF_ERR_INPUT, "%s: the codebase has no migrations", cb->dir);
    } else if (rc == PF_OK) {
        static const InvSettings settings = {.connect_timeout_ms = 10000};
        PgConn *admin = NULL;
        rc = pg_conn_open(SCRATCH_LOG, inv->drift.scratch_dsn, &settings, &admin, err);
        if (rc == PF_OK) {
            FleetRun run = {.cb = cb, .inv = inv, .drift = &inv->drift};
            Expected e = {.head = cb->n};
            char tag[64];
            snprintf(tag, sizeof tag, "%ld_%lld", (long)getpid(), (long long)pf_now_ms());
            build(admin, &run, &e, tag, &g.interrupted, &g.slot);
            if (e.error)
                rc = pf_err_set(err, PF_ERR_PG, "%s", e.error);
            sb = e.snap;
            free(e.error);
        } else {
            pf_err_prefix(err, "the scratch server cannot be reached");
        }
        pg_conn_free(admin);
    }
    fleet_hub_stop(&g.hub);
    guard_stop(&g);
    if (atomic_load(&g.interrupted))
        rc = pf_err_set(err, PF_ERR_INTERRUPTED, "interrupted");
    if (rc == PF_OK && !b) {
        /* Against the codebase: the schemas its migrations make, and the configured ones. */
        size_t nk;
        const char **keep = drift_snapshot_schemas(&sb, &nk);
        keep = pf_realloc(keep, (nk + inv->drift.n_schemas + 1) * sizeof *keep);
        for (size_t i = 0; i < inv->drift.n_schemas; i++)
            keep[nk++] = inv->drift.schemas[i];
        drift_snapshot_keep(&sa, keep, nk);
        free(keep);
    }
    if (rc == PF_OK && b)
        drift_compare(&sa, &sb, lines, n);
    else if (rc == PF_OK)
        drift_compare(&sb, &sa, lines, n); /* as audit --drift reads: expected -> found */
    drift_snapshot_clear(&sa);
    drift_snapshot_clear(&sb);
    return rc;
}
