/*
 * DESIGN: the only place pgfleet creates threads.
 *
 * The threads only feed state machines that know nothing of threads, each in its own file
 * with its own unit test: the work queue (queue.c), the supervisor's decisions
 * (supervisor.c), the rollout of waves (rollout.c), one target's job (job.c).
 *
 * - N worker threads (-j) take the next target from the work queue (its own mutex) and run its
 *   whole job on their own thread: one PgConn and one job per worker at a time, never shared.
 *   Each worker writes only its own TargetResult.
 * - max_per_server (docs/inventory.md): when a server's cap is below -j, the queue hands a
 *   worker the first target in order whose server (host:port as reached, behind its tunnel)
 *   has room; a worker whose slot keeps a tenant's connection holds that server until it
 *   closes the connection, so kept connections count too. A worker that finds every server
 *   with targets left full gives back what it holds and waits on the queue's condition
 *   variable (woken when a server gets room, or every 100 ms to see `interrupted`).
 * - One supervisor thread owns signals and the progress line. SIGINT and SIGTERM are blocked
 *   in every thread before the workers start, and the supervisor takes them with sigtimedwait.
 *   On the first signal it sets `interrupted` (workers start no new target and stop between
 *   steps) and calls pg_conn_cancel on every connection published in the job slots (guarded
 *   by slot_mutex, so a slot's connection is never freed while it is being cancelled):
 *   running statements fail, their transactions roll back, and the jobs release their locks.
 *   A second signal exits at once (the server rolls back what the dropped connections had
 *   open).
 * - `interrupted` and `done` are the only state threads share outside a lock: C11 atomics,
 *   read and written with atomic_load and atomic_store, never volatile.
 * - The supervisor wakes every 200 ms to redraw the progress line (terminals only) and stops
 *   when the main thread sets `done` after joining the workers and wakes it with SIGUSR1
 *   (blocked everywhere else, so it only ends that wait).
 * - When a selected target goes `via` an SSH tunnel, one more thread runs the SshHub's event
 *   loop (src/ssh/loop.c): it alone makes libssh2 calls, so each SSH session is touched by one
 *   thread only. Workers get forwards from it through ssh_hub_forward (a queue and a condition
 *   variable inside the hub). It is started before the workers and stopped (ssh_hub_stop) and
 *   joined after they are joined, so no forward outlives it.
 * - Waves (docs/waves.md, waves.c, rollout.c): apply runs one batch of workers per wave,
 *   min(parallel, -j) of them, and joins them before the next wave starts, so no target of a
 *   later wave is touched before every target of the earlier one has finished. Between waves
 *   the main thread alone counts failures, pauses and asks at a confirm, polling
 *   `interrupted` every 100 ms; meanwhile the supervisor and the hub keep running (one of each
 *   for the whole run), so SIGINT during a pause or a prompt stops the run with the report so
 *   far. The queue's `quiet` keeps the progress line off the terminal while a prompt is on
 *   it. plan and audit, being read-only, run every target in one batch.
 * - Child processes (docs/backups.md): apply's pg_dump runs from the worker that holds the
 *   target's lock, through posix_spawn (src/core/proc.c: no fork in a threaded process), with
 *   the signals this file blocks unblocked and every descriptor past stderr closed in the
 *   child; the worker polls `interrupted` while it waits and stops the child once it is set.
 * - Plugins (docs/plugins.md, events.c): run and wave events are sent from the main thread,
 *   target and migration events from the worker running the target. The plugin host
 *   (src/plugin/) creates no thread; it holds one mutex around every call into a plugin, so
 *   callbacks never overlap, and a slow one makes the other workers wait at their next event.
 */
#include "fleet/internal.h"
#include "pg/connect.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"
#include "plan/preflight.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct Pool {
    const FleetRun *run;
    FleetResult *result;
    FleetQueue queue; /* the batch's targets, the counts and the progress line's state */
    pthread_mutex_t slot_mutex;
    JobSlot *slots;         /* one per worker */
    int n_workers;          /* the most workers at once: -j, at most one per target */
    struct Worker *workers; /* n_workers, reused by every batch */
    pthread_t *threads;
    atomic_int interrupted; /* set by the supervisor (or the main thread, after the run) */
    atomic_bool done;       /* set by the main thread once the workers are joined */
    sigset_t signals;
} Pool;

typedef struct Worker {
    Pool *pool;
    JobSlot *slot;
} Worker;

void job_slot_attach(JobSlot *slot, PgConn *conn)
{
    if (!slot)
        return;
    pthread_mutex_lock(slot->mutex);
    slot->conn = conn;
    pthread_mutex_unlock(slot->mutex);
}

void job_slot_release(JobSlot *slot)
{
    pg_conn_free(slot->kept);
    ssh_forward_close(slot->kept_fwd);
    slot->kept = NULL;
    slot->kept_fwd = NULL;
    slot->kept_for = NULL;
}

void job_slot_detach(JobSlot *slot)
{
    if (!slot)
        return;
    pthread_mutex_lock(slot->mutex);
    slot->conn = NULL;
    pthread_mutex_unlock(slot->mutex);
}

static bool result_failed(const TargetResult *r)
{
    return r->status == TARGET_UNREACHABLE || r->outcome == OUTCOME_FAILED ||
           r->outcome == OUTCOME_REFUSED;
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    Pool *p = w->pool;
    size_t k, held = FLEET_NO_SERVER; /* the server of the connection the slot keeps */
    for (;;) {
        QueueTake got = fleet_queue_try_take(&p->queue, &p->interrupted, held, &k);
        if (got == QUEUE_EMPTY)
            break;
        if (got == QUEUE_WAIT) {
            /* Every server with targets left is full: give back the one held while waiting. */
            job_slot_release(w->slot);
            fleet_queue_release(&p->queue, held);
            held = FLEET_NO_SERVER;
            fleet_queue_wait(&p->queue, &p->interrupted);
            continue;
        }
        size_t server = fleet_queue_server(&p->queue, k);
        if (held != server) {
            /* Close the kept connection before its server counts one less. */
            job_slot_release(w->slot);
            fleet_queue_release(&p->queue, held);
        }
        held = server;
        TargetResult *res = &p->result->targets[k];
        pthread_mutex_lock(&p->slot_mutex);
        w->slot->target = res->target->name;
        pthread_mutex_unlock(&p->slot_mutex);
        fleet_event_target(p->run, res, PGFLEET_EVENT_TARGET_START);
        fleet_job_run(p->run, res, &p->interrupted, w->slot);
        fleet_event_target(p->run, res, PGFLEET_EVENT_TARGET_END);
        pthread_mutex_lock(&p->slot_mutex);
        w->slot->target = NULL;
        pthread_mutex_unlock(&p->slot_mutex);
        fleet_queue_done(&p->queue, result_failed(res));
        if (!w->slot->kept) {
            fleet_queue_release(&p->queue, held);
            held = FLEET_NO_SERVER;
        }
    }
    job_slot_release(w->slot);
    fleet_queue_release(&p->queue, held);
    return NULL;
}

static void progress_draw(Pool *p, bool final)
{
    if (final) {
        pf_log_progress("");
        return;
    }
    char line[512];
    int n = fleet_queue_progress(&p->queue, p->result->n, line, sizeof line);
    pthread_mutex_lock(&p->slot_mutex);
    fleet_progress_in_flight(line, sizeof line, n, p->slots, p->n_workers);
    pthread_mutex_unlock(&p->slot_mutex);
    fleet_queue_show(&p->queue, line);
}

static void interrupt_all(Pool *p)
{
    atomic_store(&p->interrupted, 1);
    pg_conn_retry_cancel(true); /* a connection being retried gives up at once */
    pthread_mutex_lock(&p->slot_mutex);
    for (int i = 0; i < p->n_workers; i++)
        if (p->slots[i].conn)
            pg_conn_cancel(p->slots[i].conn);
    pthread_mutex_unlock(&p->slot_mutex);
}

static void *hub_main(void *arg)
{
    ssh_hub_run(arg);
    return NULL;
}

PfErrCode fleet_hub_start(const Inventory *inv, FleetHub *h, PfErr *err)
{
    h->hub = NULL;
    SshHub *hub;
    if (ssh_hub_new(inv, &hub, err) != PF_OK) {
        err->code = PF_ERR_UNREACHABLE;
        return PF_ERR_UNREACHABLE;
    }
    if (pthread_create(&h->thread, NULL, hub_main, hub) != 0) {
        ssh_hub_free(hub);
        return pf_err_set(err, PF_ERR_UNREACHABLE, "cannot create the ssh tunnel thread");
    }
    h->hub = hub;
    return PF_OK;
}

void fleet_hub_stop(FleetHub *h)
{
    if (!h->hub)
        return;
    ssh_hub_stop(h->hub);
    pthread_join(h->thread, NULL);
    ssh_hub_free(h->hub);
    h->hub = NULL;
}

/* The tunnels' loop when some selected target goes through a tunnel; else (or when it cannot
 * start: each tunnelled target then fails, saying its tunnel is not available) not started. */
static void hub_for(const FleetRun *run, FleetHub *h)
{
    h->hub = NULL;
    bool used = false;
    for (size_t i = 0; i < run->n && !used; i++)
        used = run->inv->targets[run->selected[i]].via != NULL;
    PfErr err;
    if (used && fleet_hub_start(run->inv, h, &err) != PF_OK)
        pf_log(PF_LOG_ERROR, NULL, "%s", err.msg);
}

/* A target's max_per_server (docs/inventory.md): 0 is the default. */
static int target_cap(const InvTarget *t)
{
    return t->settings.max_per_server > 0 ? t->settings.max_per_server : INV_MAX_PER_SERVER_DEFAULT;
}

/* max_per_server: each run target's server (*server_of) and each server's cap (*cap: the
 * smallest of its targets'), for the queue. A server is the host and port a target's dsn
 * reaches, behind its tunnel when it has one; tenant schemas of one database share theirs.
 * Nothing (0 servers) when no cap is below the workers: every target may start at once. */
static size_t servers_prepare(const FleetResult *out, int n_workers, size_t **server_of, int **cap)
{
    *server_of = NULL;
    *cap = NULL;
    bool needed = false;
    for (size_t i = 0; i < out->n && !needed; i++)
        needed = target_cap(out->targets[i].target) < n_workers;
    if (!needed)
        return 0;
    PfStrSet seen = {0};
    char **keys = pf_calloc(out->n, sizeof *keys); /* the set borrows them */
    size_t *of = pf_malloc(out->n * sizeof *of);
    int *caps = NULL;
    size_t n = 0, caps_size = 0;
    for (size_t i = 0; i < out->n; i++) {
        const InvTarget *t = out->targets[i].target;
        char *server = pg_dsn_server(t->dsn);
        /* A dsn libpq cannot parse fails on its own: a server of its own. */
        keys[i] = server ? pf_asprintf("%s%s%s", t->via ? t->via : "", t->via ? " > " : "", server)
                         : pf_asprintf("\n%zu", i);
        free(server);
        size_t s = n;
        if (pf_strset_add(&seen, keys[i], n, &s)) {
            PF_GROW(caps, caps_size, n + 1);
            caps[n++] = target_cap(t);
        } else if (target_cap(t) < caps[s]) {
            caps[s] = target_cap(t);
        }
        of[i] = s;
    }
    pf_strset_free(&seen);
    for (size_t i = 0; i < out->n; i++)
        free(keys[i]);
    free(keys);
    *server_of = of;
    *cap = caps;
    return n;
}

/* Take a SIGINT or SIGTERM that is pending (blocked in every thread): the signal, or 0. Only
 * those two are waited for: a SIGUSR1 pending beside them is not taken for one. */
static int signal_take_pending(void)
{
    sigset_t pending, stop;
    sigpending(&pending);
    if (!sigismember(&pending, SIGINT) && !sigismember(&pending, SIGTERM))
        return 0;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    int sig = 0;
    sigwait(&stop, &sig);
    return sig;
}

static void *supervisor_main(void *arg)
{
    Pool *p = arg;
    struct timespec tick = {0, 200 * 1000 * 1000};
    while (!atomic_load(&p->done)) {
        int sig = sigtimedwait(&p->signals, NULL, &tick);
        switch (fleet_signal_action(sig, atomic_load(&p->interrupted))) {
        case FLEET_SIGNAL_EXIT: {
            static const char msg[] = "\npgfleet: second signal, exiting now\n";
            ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
            _exit(PF_EXIT_INTERRUPTED);
        }
        case FLEET_SIGNAL_INTERRUPT:
            pf_log(PF_LOG_WARN, NULL,
                   "%s received: starting no new targets, cancelling running statements",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
            interrupt_all(p);
            break;
        case FLEET_SIGNAL_NONE:
            break;
        }
        if (p->run->progress && !atomic_load(&p->done))
            progress_draw(p, false);
    }
    if (p->run->progress)
        progress_draw(p, true);
    return NULL;
}

/* Work through one batch of targets (indexes into result->targets) on up to n_workers worker
 * threads, and return once every one of them has finished. */
static PfErrCode pool_work(Pool *p, const size_t *items, size_t n, int n_workers, PfErr *err)
{
    if (n == 0)
        return PF_OK;
    if (n_workers > p->n_workers)
        n_workers = p->n_workers;
    if ((size_t)n_workers > n)
        n_workers = (int)n;
    fleet_queue_batch(&p->queue, items, n);
    int started = 0;
    for (int i = 0; i < n_workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(p->threads[i], NULL);
    if (started == 0)
        return pf_err_set(err, PF_ERR_INTERNAL, "cannot create worker threads");
    return PF_OK;
}

/* apply: wave after wave, as the rollout (rollout.c) says. */
static PfErrCode run_waves(Pool *p, WaveResult *waves, size_t n_waves, PfErr *err)
{
    Rollout r;
    fleet_rollout_init(&r, p->run, p->result, waves, n_waves);
    for (;;) {
        switch (fleet_rollout_next(&r, atomic_load(&p->interrupted))) {
        case ROLLOUT_RUN: {
            if (r.wave->wave)
                fleet_queue_set_phase(&p->queue, "wave %s", r.wave->wave->name);
            int64_t t0 = pf_now_ms();
            PfErrCode rc = pool_work(p, r.wave->targets, r.wave->n, r.workers, err);
            if (rc != PF_OK) {
                r.wave->duration_ms = pf_now_ms() - t0;
                r.wave->state = atomic_load(&p->interrupted) ? WAVE_INTERRUPTED : WAVE_DONE;
                return rc;
            }
            fleet_rollout_ran(&r, atomic_load(&p->interrupted), pf_now_ms() - t0);
            break;
        }
        case ROLLOUT_PAUSE:
            fleet_queue_set_phase(&p->queue, "wave %s done, pause before wave %s",
                                  r.wave->wave->name, r.next->wave->name);
            fleet_rollout_paused(&r, fleet_wave_pause(r.pause_ms, &p->interrupted));
            break;
        case ROLLOUT_CONFIRM: {
            fleet_queue_hush(&p->queue, true, p->run->progress);
            WaveConfirm answer = fleet_wave_ask(r.wave, r.next, &p->interrupted);
            fleet_queue_hush(&p->queue, false, false);
            fleet_rollout_answered(&r, answer);
            break;
        }
        case ROLLOUT_END:
            return PF_OK;
        }
    }
}

/* plan and audit only read: every target at once, the waves only group them. */
static PfErrCode run_all(Pool *p, WaveResult *waves, size_t n_waves, PfErr *err)
{
    FleetResult *out = p->result;
    size_t *all = pf_malloc((out->n ? out->n : 1) * sizeof *all);
    for (size_t i = 0; i < out->n; i++)
        all[i] = i;
    PfErrCode rc = pool_work(p, all, out->n, p->n_workers, err);
    free(all);
    for (size_t i = 0; i < n_waves; i++) {
        if (waves[i].state == WAVE_NOT_SELECTED)
            continue;
        waves[i].state = atomic_load(&p->interrupted) ? WAVE_INTERRUPTED : WAVE_DONE;
        fleet_wave_tally(p->run, out, &waves[i]);
    }
    return rc;
}

PfErrCode fleet_run(const FleetRun *run, FleetResult *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    out->mode = run->mode;
    out->n = run->n;
    out->targets = pf_calloc(run->n ? run->n : 1, sizeof *out->targets);
    for (size_t i = 0; i < run->n; i++) {
        out->targets[i].target = &run->inv->targets[run->selected[i]];
        out->targets[i].outcome = OUTCOME_SKIPPED;
    }
    CbSchemaRefs *tenant_refs;
    FleetTenantDowns *tenant_downs = NULL;
    if (fleet_tenants_prepare(run, &tenant_refs, err) != PF_OK ||
        fleet_tenant_downs_prepare(run, &tenant_downs, err) != PF_OK) {
        fleet_tenants_free(tenant_refs);
        fleet_tenant_downs_free(tenant_downs);
        return PF_ERR_INPUT;
    }
    WaveResult *waves;
    size_t n_waves = fleet_waves_prepare(run, out, &waves);
    if (fleet_waves_check_terminal(run, waves, n_waves, err) != PF_OK) {
        fleet_waves_free(waves, n_waves);
        fleet_tenants_free(tenant_refs);
        fleet_tenant_downs_free(tenant_downs);
        return PF_ERR_INPUT;
    }
    pf_utc_iso8601(out->started_at);
    int64_t t0 = pf_now_ms();
    /* The run's own copy: it carries the run id every plugin event names. */
    FleetRun run_copy = *run;
    run_copy.tenant_refs = tenant_refs;
    run_copy.tenant_downs = tenant_downs;
    /* Read here, on the main thread, once for every target (workers never parse: sql.h). */
    PreflightPrep *preflight =
        run->mode == FLEET_PLAN ? preflight_prepare(run->cb->migrations, run->cb->n) : NULL;
    run_copy.preflight = preflight;
    FleetDriftBatches *drift_batches = fleet_drift_batches_new(run);
    run_copy.drift_batches = drift_batches;
    run = &run_copy;
    atomic_size_t connections;
    atomic_init(&connections, 0);
    {
        char compact[32];
        size_t k = 0;
        for (const char *c = out->started_at; *c && k < sizeof compact - 1; c++)
            if (*c != '-' && *c != ':')
                compact[k++] = *c;
        compact[k] = '\0';
        snprintf(run_copy.run_id, sizeof run_copy.run_id, "%s-%ld", compact, (long)getpid());
        memcpy(out->run_id, run_copy.run_id, sizeof out->run_id);
    }
    fleet_event_run(run, out, PGFLEET_EVENT_RUN_START);

    Pool p;
    memset(&p, 0, sizeof p);
    atomic_init(&p.interrupted, 0);
    atomic_init(&p.done, false);
    p.run = run;
    p.result = out;
    p.n_workers = run->jobs < 1 ? 1 : run->jobs;
    if ((size_t)p.n_workers > run->n && run->n > 0)
        p.n_workers = (int)run->n;
    fleet_queue_init(&p.queue);
    size_t *server_of;
    int *server_cap;
    size_t n_servers = servers_prepare(out, p.n_workers, &server_of, &server_cap);
    if (n_servers)
        fleet_queue_servers(&p.queue, server_of, server_cap, n_servers);
    pthread_mutex_init(&p.slot_mutex, NULL);
    p.slots = pf_calloc((size_t)p.n_workers, sizeof *p.slots);
    p.workers = pf_calloc((size_t)p.n_workers, sizeof *p.workers);
    p.threads = pf_calloc((size_t)p.n_workers, sizeof *p.threads);

    sigemptyset(&p.signals);
    sigaddset(&p.signals, SIGINT);
    sigaddset(&p.signals, SIGTERM);
    sigaddset(&p.signals, SIGUSR1); /* "the workers are done": ends the supervisor's wait */
    sigset_t old_mask;
    pthread_sigmask(SIG_BLOCK, &p.signals, &old_mask);

    /* A signal held since before the run (fleet_signals_hold) interrupts it before any worker
     * starts: every target is then skipped, none half-begun. */
    int early = signal_take_pending();
    if (early) {
        pf_log(PF_LOG_WARN, NULL, "%s received before the run started: starting no target",
               early == SIGINT ? "SIGINT" : "SIGTERM");
        atomic_store(&p.interrupted, 1);
    }

    PfErrCode rc = PF_OK;
    FleetHub hub;
    hub_for(run, &hub);
    pthread_t supervisor;
    bool have_supervisor = pthread_create(&supervisor, NULL, supervisor_main, &p) == 0;
    if (!have_supervisor)
        rc = pf_err_set(err, PF_ERR_INTERNAL, "cannot create the supervisor thread");
    for (int i = 0; i < p.n_workers; i++) {
        p.slots[i].mutex = &p.slot_mutex;
        p.slots[i].hub = hub.hub;
        p.slots[i].connections = &connections;
        p.workers[i] = (Worker){&p, &p.slots[i]};
    }
    DriftSnapshot mark_expected = {0};
    if (rc == PF_OK && run->mark_verify && run->drift && run->mark_through > 0 &&
        !atomic_load(&p.interrupted)) {
        /* mark-applied --verify: the schema to compare with, built once for the run. */
        fleet_queue_set_phase(&p.queue, "verify");
        rc = fleet_drift_mark_expected(run, &p.interrupted, &p.slots[0], &mark_expected, err);
        run_copy.mark_expected = &mark_expected;
    }
    if (rc == PF_OK)
        rc = run->mode == FLEET_APPLY || run->mode == FLEET_ROLLBACK
                 ? run_waves(&p, waves, n_waves, err)
                 : run_all(&p, waves, n_waves, err);
    if (rc == PF_OK && run->drift) {
        /* The workers are done; the supervisor still cancels on SIGINT (docs/drift.md). */
        fleet_queue_set_phase(&p.queue, "drift");
        fleet_drift_compare(run, out, &p.interrupted, &p.slots[0]);
    }
    fleet_hub_stop(&hub);
    atomic_store(&p.done, true);
    if (have_supervisor) {
        pthread_kill(supervisor, SIGUSR1);
        pthread_join(supervisor, NULL);
    }

    /* A signal that arrived after the last sigtimedwait stays pending: count it too. */
    if (signal_take_pending())
        atomic_store(&p.interrupted, 1);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

    out->interrupted = atomic_load(&p.interrupted) != 0;
    out->duration_ms = pf_now_ms() - t0;
    out->connections = atomic_load(&connections);
    if (run->inv->n_waves) {
        out->waves = waves;
        out->n_waves = n_waves;
    } else {
        fleet_waves_free(waves, n_waves);
    }
    fleet_event_run(run, out, PGFLEET_EVENT_RUN_END);
    size_t n_errors;
    const char *const *errors = plugin_host_errors(run->plugins, &n_errors);
    out->plugin_errors = pf_calloc(n_errors ? n_errors : 1, sizeof *out->plugin_errors);
    for (size_t i = 0; i < n_errors; i++)
        out->plugin_errors[out->n_plugin_errors++] = pf_strdup(errors[i]);
    fleet_queue_destroy(&p.queue);
    free(server_of);
    free(server_cap);
    pthread_mutex_destroy(&p.slot_mutex);
    free(p.slots);
    free(p.workers);
    free(p.threads);
    fleet_tenants_free(tenant_refs);
    fleet_tenant_downs_free(tenant_downs);
    preflight_prep_free(preflight);
    fleet_drift_batches_free(drift_batches);
    drift_snapshot_clear(&mark_expected);
    return rc;
}

void fleet_result_clear(FleetResult *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        TargetResult *t = &r->targets[i];
        plan_clear(&t->plan);
        pg_identity_clear(&t->identity);
        pg_lock_holder_clear(&t->holder);
        pg_failure_clear(&t->failure);
        free(t->applied_now);
        for (size_t k = 0; k < t->n_changes; k++)
            free(t->changes[k].old_hash);
        free(t->changes);
        free(t->error);
        fleet_target_drift_free(t->drift);
        backup_dump_clear(&t->backup);
    }
    free(r->targets);
    fleet_waves_free(r->waves, r->n_waves);
    for (size_t i = 0; i < r->n_plugin_errors; i++)
        free(r->plugin_errors[i]);
    free(r->plugin_errors);
    memset(r, 0, sizeof *r);
}

int fleet_exit_code(const FleetResult *r)
{
    if (r->interrupted)
        return PF_EXIT_INTERRUPTED;
    bool failed = false, drift = false;
    for (size_t i = 0; i < r->n; i++) {
        const TargetResult *t = &r->targets[i];
        if (t->status == TARGET_UNREACHABLE || t->outcome == OUTCOME_FAILED ||
            t->outcome == OUTCOME_INTERRUPTED || t->outcome == OUTCOME_SKIPPED ||
            (t->drift && t->drift->error))
            failed = true;
        switch (r->mode) {
        case FLEET_APPLY:
        case FLEET_MARK:
        case FLEET_REPAIR:
        case FLEET_ROLLBACK:
            if (t->outcome == OUTCOME_REFUSED)
                drift = true;
            break;
        case FLEET_AUDIT:
            if (t->status != TARGET_IN_SYNC)
                drift = true;
            break;
        case FLEET_PLAN: {
            const char *why;
            if (t->status != TARGET_UNREACHABLE && !plan_can_apply(&t->plan, false, &why))
                drift = true;
            if (t->status == TARGET_LOCKED || t->outcome == OUTCOME_REFUSED) /* plan --rollback */
                drift = true;
            break;
        }
        }
    }
    return failed ? PF_EXIT_FAILED : drift ? PF_EXIT_NOT_IN_SYNC : PF_EXIT_OK;
}
