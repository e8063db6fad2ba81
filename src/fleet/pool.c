/*
 * DESIGN: the only place pgfleet creates threads.
 *
 * - N worker threads (-j) take the next target index from a shared counter (guarded by
 *   queue_mutex) and run its whole job on their own thread: one PgConn and one job per worker
 *   at a time, never shared. Each worker writes only its own TargetResult.
 * - One supervisor thread owns signals and the progress line. SIGINT and SIGTERM are blocked
 *   in every thread before the workers start, and the supervisor takes them with sigtimedwait.
 *   On the first signal it sets `interrupted` (workers start no new target and stop between
 *   steps) and calls pg_conn_cancel on every connection published in the job slots (guarded by
 *   slot_mutex, so a slot's connection is never freed while it is being cancelled): running
 *   statements fail, their transactions roll back, and the jobs release their locks. A second
 *   signal exits at once (the server rolls back what the dropped connections had open).
 * - The supervisor wakes every 200 ms to redraw the progress line (terminals only) and stops
 *   when the main thread sets `done` after joining the workers and wakes it with SIGUSR1
 *   (blocked everywhere else, so it only ends that wait).
 * - When a selected target goes `via` an SSH tunnel, one more thread runs the SshHub's event
 *   loop (src/ssh/hub.c): it alone makes libssh2 calls, so each SSH session is touched by one
 *   thread only. Workers get forwards from it through ssh_hub_forward (a queue and a condition
 *   variable inside the hub). It is started before the workers and stopped (ssh_hub_stop) and
 *   joined after they are joined, so no forward outlives it.
 */
#include "fleet/internal.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"

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
    pthread_mutex_t queue_mutex;
    size_t next;     /* guarded by queue_mutex */
    size_t finished; /* guarded by queue_mutex */
    size_t failed;   /* guarded by queue_mutex */
    pthread_mutex_t slot_mutex;
    JobSlot *slots; /* one per worker */
    int n_workers;
    volatile int interrupted;
    volatile int done;
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
    for (;;) {
        pthread_mutex_lock(&p->queue_mutex);
        size_t i = p->next < p->result->n && !p->interrupted ? p->next++ : p->result->n;
        pthread_mutex_unlock(&p->queue_mutex);
        if (i >= p->result->n)
            break;
        TargetResult *res = &p->result->targets[i];
        pthread_mutex_lock(&p->slot_mutex);
        w->slot->target = res->target->name;
        pthread_mutex_unlock(&p->slot_mutex);
        fleet_job_run(p->run, res, &p->interrupted, w->slot);
        pthread_mutex_lock(&p->slot_mutex);
        w->slot->target = NULL;
        pthread_mutex_unlock(&p->slot_mutex);
        pthread_mutex_lock(&p->queue_mutex);
        p->finished++;
        if (result_failed(res))
            p->failed++;
        pthread_mutex_unlock(&p->queue_mutex);
    }
    return NULL;
}

static void progress_draw(Pool *p, bool final)
{
    if (final) {
        pf_log_progress("");
        return;
    }
    char line[512];
    pthread_mutex_lock(&p->queue_mutex);
    int n =
        snprintf(line, sizeof line, "[%zu/%zu] %zu failed", p->finished, p->result->n, p->failed);
    pthread_mutex_unlock(&p->queue_mutex);
    pthread_mutex_lock(&p->slot_mutex);
    const char *sep = " | in flight: ";
    for (int i = 0; i < p->n_workers && n > 0 && (size_t)n < sizeof line - 64; i++) {
        if (!p->slots[i].target)
            continue;
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", sep, p->slots[i].target);
        sep = ", ";
    }
    pthread_mutex_unlock(&p->slot_mutex);
    pf_log_progress(line);
}

static void interrupt_all(Pool *p)
{
    p->interrupted = 1;
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

/* A hub when some selected target goes through a tunnel, else NULL. */
static SshHub *hub_for(const FleetRun *run)
{
    bool used = false;
    for (size_t i = 0; i < run->n && !used; i++)
        used = run->inv->targets[run->selected[i]].via != NULL;
    SshHub *hub = NULL;
    PfErr err;
    if (used && ssh_hub_new(run->inv, &hub, &err) != PF_OK)
        pf_log(PF_LOG_ERROR, NULL, "%s", err.msg);
    return hub;
}

static void *supervisor_main(void *arg)
{
    Pool *p = arg;
    struct timespec tick = {0, 200 * 1000 * 1000};
    while (!p->done) {
        int sig = sigtimedwait(&p->signals, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            if (p->interrupted) {
                static const char msg[] = "\npgfleet: second signal, exiting now\n";
                ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
                (void)w;
                _exit(PF_EXIT_INTERRUPTED);
            }
            pf_log(PF_LOG_WARN, NULL,
                   "%s received: starting no new targets, cancelling running statements",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
            interrupt_all(p);
        }
        if (p->run->progress && !p->done)
            progress_draw(p, false);
    }
    if (p->run->progress)
        progress_draw(p, true);
    return NULL;
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
    pf_utc_iso8601(out->started_at);
    int64_t t0 = pf_now_ms();

    Pool p;
    memset(&p, 0, sizeof p);
    p.run = run;
    p.result = out;
    p.n_workers = run->jobs < 1 ? 1 : run->jobs;
    if ((size_t)p.n_workers > run->n && run->n > 0)
        p.n_workers = (int)run->n;
    pthread_mutex_init(&p.queue_mutex, NULL);
    pthread_mutex_init(&p.slot_mutex, NULL);
    p.slots = pf_calloc((size_t)p.n_workers, sizeof *p.slots);
    Worker *workers = pf_calloc((size_t)p.n_workers, sizeof *workers);
    pthread_t *threads = pf_calloc((size_t)p.n_workers, sizeof *threads);

    sigemptyset(&p.signals);
    sigaddset(&p.signals, SIGINT);
    sigaddset(&p.signals, SIGTERM);
    sigaddset(&p.signals, SIGUSR1); /* "the workers are done": ends the supervisor's wait */
    sigset_t old_mask;
    pthread_sigmask(SIG_BLOCK, &p.signals, &old_mask);

    PfErrCode rc = PF_OK;
    SshHub *hub = hub_for(run);
    pthread_t hub_thread;
    if (hub && pthread_create(&hub_thread, NULL, hub_main, hub) != 0) {
        pf_log(PF_LOG_ERROR, NULL, "cannot create the ssh tunnel thread");
        ssh_hub_free(hub);
        hub = NULL;
    }
    pthread_t supervisor;
    bool have_supervisor = pthread_create(&supervisor, NULL, supervisor_main, &p) == 0;
    if (!have_supervisor)
        rc = pf_err_set(err, PF_ERR_INTERNAL, "cannot create the supervisor thread");
    int started = 0;
    for (int i = 0; rc == PF_OK && i < p.n_workers; i++) {
        p.slots[i].mutex = &p.slot_mutex;
        p.slots[i].hub = hub;
        workers[i] = (Worker){&p, &p.slots[i]};
        if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
            if (started == 0)
                rc = pf_err_set(err, PF_ERR_INTERNAL, "cannot create worker threads");
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (hub) {
        ssh_hub_stop(hub);
        pthread_join(hub_thread, NULL);
        ssh_hub_free(hub);
    }
    p.done = 1;
    if (have_supervisor) {
        pthread_kill(supervisor, SIGUSR1);
        pthread_join(supervisor, NULL);
    }

    /* A signal that arrived after the last sigtimedwait stays pending: count it too. */
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
        int sig;
        sigwait(&p.signals, &sig);
        p.interrupted = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

    out->interrupted = p.interrupted != 0;
    out->duration_ms = pf_now_ms() - t0;
    pthread_mutex_destroy(&p.queue_mutex);
    pthread_mutex_destroy(&p.slot_mutex);
    free(p.slots);
    free(workers);
    free(threads);
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
        free(t->error);
    }
    free(r->targets);
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
            t->outcome == OUTCOME_INTERRUPTED || t->outcome == OUTCOME_SKIPPED)
            failed = true;
        switch (r->mode) {
        case FLEET_APPLY:
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
            if (t->status == TARGET_LOCKED)
                drift = true;
            break;
        }
        }
    }
    return failed ? PF_EXIT_FAILED : drift ? PF_EXIT_NOT_IN_SYNC : PF_EXIT_OK;
}
