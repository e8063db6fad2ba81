/* Shared between the files of src/fleet/ only. */
#ifndef PF_FLEET_INTERNAL_H
#define PF_FLEET_INTERNAL_H

#include "fleet/fleet.h"
#include "ssh/ssh.h"

#include <pthread.h>
#include <stdatomic.h>

/* Where a worker publishes its open connection so that the supervisor can cancel it. */
typedef struct JobSlot {
    pthread_mutex_t *mutex; /* the pool's slot mutex */
    PgConn *conn;           /* guarded by mutex */
    const char *target;     /* name of the target in flight, or NULL; guarded by mutex */
    SshHub *hub;            /* the run's tunnels, or NULL when no selected target uses one */
    /* The worker's own: a tenant's connection kept for the next tenant of the same database
     * (same dsn and via), reset; with its forward when via a tunnel. */
    PgConn *kept;
    SshForward *kept_fwd;
    const InvTarget *kept_for;
    atomic_size_t *connections; /* the run's count of connections opened */
} JobSlot;

/* Close what the slot kept (worker's end). */
void job_slot_release(JobSlot *slot);

void job_slot_attach(JobSlot *slot, PgConn *conn);
void job_slot_detach(JobSlot *slot);

/* ---- the work queue (queue.c); every function locks the queue, from any thread ---- */

/* A server of the run (docs/inventory.md, max_per_server): where targets connect, with the
 * most connections pgfleet may have open to it at once. FLEET_NO_SERVER: none. */
#define FLEET_NO_SERVER ((size_t)-1)

typedef struct FleetQueue {
    pthread_mutex_t mutex;
    pthread_cond_t room; /* broadcast when a server gets room */
    /* The current batch (a wave): indexes into the run's targets, borrowed until it ends. */
    const size_t *items;
    size_t n_items;
    size_t next;             /* items taken (without servers: the next to take) */
    size_t finished, failed; /* targets done so far in the run, and how many of them failed */
    char phase[128];         /* the progress line's prefix ("wave canary"), or "" */
    bool quiet;              /* a prompt is on the terminal: no progress line */
    /* Servers (fleet_queue_servers), borrowed; NULL: every target may start at once. */
    const size_t *server_of; /* per run target: its server */
    const int *cap;          /* per server: its max_per_server */
    size_t n_servers;
    /* Per server, for the batch: how many workers hold it (a target in flight, or a
     * connection kept for the next tenant), and its items in batch order (positions into
     * items): by_server[first[s] .. end[s]), the next at head[s]. */
    int *busy;
    size_t *first, *head, *end, *by_server;
    /* Servers that have room and items, keyed by their next item's position (a min-heap;
     * entries whose server has moved on since are dropped when they come up). */
    struct FleetQueueEntry {
        size_t pos, server;
    } * ready;
    size_t n_ready, ready_cap;
} FleetQueue;

void fleet_queue_init(FleetQueue *q);
void fleet_queue_destroy(FleetQueue *q);

/* Cap connections per server: server_of[k] is run target k's server (< n), cap[s] the most
 * targets of server s in flight at once. Borrowed; call before the first batch. */
void fleet_queue_servers(FleetQueue *q, const size_t *server_of, const int *cap, size_t n);

/* Start a batch: items[0..n). Call while no worker takes from the queue. */
void fleet_queue_batch(FleetQueue *q, const size_t *items, size_t n);

typedef enum {
    QUEUE_TAKEN, /* *target is the worker's: its server is held (fleet_queue_release) */
    QUEUE_WAIT,  /* targets remain, but none whose server has room: fleet_queue_wait */
    QUEUE_EMPTY, /* the batch is exhausted, or the run interrupted */
} QueueTake;

/* The first target in batch order whose server has room. held: the server the worker holds
 * (a connection kept for its next tenant), or FLEET_NO_SERVER; a target of that server
 * counts as having room (the hold carries over to it), else the caller releases held once
 * it has closed that connection. */
QueueTake fleet_queue_try_take(FleetQueue *q, const atomic_int *interrupted, size_t held,
                               size_t *target);

/* The server of run target k (FLEET_NO_SERVER without servers). */
size_t fleet_queue_server(FleetQueue *q, size_t k);

/* A worker no longer holds server s (no-op for FLEET_NO_SERVER): room for another. */
void fleet_queue_release(FleetQueue *q, size_t s);

/* After QUEUE_WAIT: wait until a server gets room (or 100 ms, or interrupted). */
void fleet_queue_wait(FleetQueue *q, const atomic_int *interrupted);

/* A worker's next target (*target, an index into the run's targets), holding nothing: false
 * once the batch is exhausted or *interrupted is set. Waits while every server is full. */
bool fleet_queue_take(FleetQueue *q, const atomic_int *interrupted, size_t *target);

/* A worker is done with a target; failed: unreachable, failed or refused. */
void fleet_queue_done(FleetQueue *q, bool failed);

void fleet_queue_set_phase(FleetQueue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The progress line's counts into line: "wave canary [3/8] 1 failed" (total: the run's
 * targets). Returns what snprintf returns. */
int fleet_queue_progress(FleetQueue *q, size_t total, char *line, size_t size);

/* Draw line as the progress line unless a prompt is on the terminal; whether it was drawn. */
bool fleet_queue_show(FleetQueue *q, const char *line);

/* A prompt goes on the terminal (quiet) or leaves it; erase: take the progress line off first.
 * Once it returns quiet, no progress line is drawn until it is called again with false. */
void fleet_queue_hush(FleetQueue *q, bool quiet, bool erase);

/* ---- the supervisor's decisions (supervisor.c); pure, any thread ---- */

typedef enum {
    FLEET_SIGNAL_NONE,      /* not SIGINT or SIGTERM: nothing to do */
    FLEET_SIGNAL_INTERRUPT, /* the first: start no new target, cancel running statements */
    FLEET_SIGNAL_EXIT,      /* the second: exit at once */
} FleetSignalAction;

FleetSignalAction fleet_signal_action(int sig, bool interrupted);

/* Append " | in flight: a, b" (the targets of slots[0..n_slots) that have one) to the n bytes
 * of line, while it has room; returns the new length. The caller holds the slots' mutex. */
int fleet_progress_in_flight(char *line, size_t size, int n, const JobSlot *slots, int n_slots);

/* ---- the rollout of apply (rollout.c); main thread ---- */

typedef enum {
    ROLLOUT_RUN,     /* run wave's targets on at most workers workers, then fleet_rollout_ran */
    ROLLOUT_PAUSE,   /* wait pause_ms (fleet_wave_pause), then fleet_rollout_paused */
    ROLLOUT_CONFIRM, /* ask whether next starts (fleet_wave_ask), then fleet_rollout_answered */
    ROLLOUT_END,     /* no wave is left to start */
} RolloutStep;

typedef struct Rollout {
    const FleetRun *run;
    FleetResult *out;
    WaveResult *waves; /* borrowed, n */
    size_t n;
    size_t i;         /* the wave at hand */
    int at;           /* where in its life the wave at hand is (rollout.c) */
    const char *stop; /* why no later wave starts (a wave's reason), or NULL */
    /* What the last step is about: */
    WaveResult *wave; /* RUN: the wave to run; PAUSE, CONFIRM: the one that ran */
    WaveResult *next; /* PAUSE, CONFIRM: the wave that starts after it */
    int workers;      /* RUN */
    int64_t pause_ms; /* PAUSE */
} Rollout;

void fleet_rollout_init(Rollout *r, const FleetRun *run, FleetResult *out, WaveResult *waves,
                        size_t n);

/* What to do next; interrupted: the run's flag now. Waves that will not start (an earlier one
 * halted, a confirm said no, interrupted) are marked on the way, with their reason; RUN sets
 * the wave's started_at and sends its wave_start event. */
RolloutStep fleet_rollout_next(Rollout *r, bool interrupted);

/* After RUN: the wave's targets ran (interrupted: the run's flag once they had) in
 * duration_ms. Tallies its failures, sends wave_end (a plugin's veto halts the rollout). */
void fleet_rollout_ran(Rollout *r, bool interrupted, int64_t duration_ms);

/* After PAUSE: how long was waited. */
void fleet_rollout_paused(Rollout *r, int64_t waited_ms);

/* After CONFIRM: the answer. No halts the rollout after the wave, saying why; the waves after
 * an interrupted prompt are marked by the next step. */
void fleet_rollout_answered(Rollout *r, WaveConfirm answer);

/* Run one target's job on the calling thread. slot may be NULL. *interrupted is the run's flag,
 * set by the supervisor thread: the job stops between steps once it is. */
void fleet_job_run(const FleetRun *run, TargetResult *res, const atomic_int *interrupted,
                   JobSlot *slot);

/* ---- the SSH tunnels' loop (pool.c) ---- */

/* The inventory's tunnels, their loop (ssh_hub_run) on a thread of its own. */
typedef struct FleetHub {
    SshHub *hub; /* NULL: not started */
    pthread_t thread;
} FleetHub;

/* Start h for inv's tunnels. Call with SIGINT/SIGTERM blocked: the loop's thread inherits the
 * mask. PF_ERR_UNREACHABLE (err says why) when the hub or its thread cannot be made; h is then
 * not started. */
PfErrCode fleet_hub_start(const Inventory *inv, FleetHub *h, PfErr *err);
/* Stop the loop, join its thread and free the hub; nothing when h was not started. */
void fleet_hub_stop(FleetHub *h);

/* Connecting to a target (job.c). fleet_tunnel_open: for a target with via, the tunnel's
 * forward to its dsn's host and port, on slot->hub (see src/ssh/ssh.h). fleet_job_connect: the
 * connection --wait made (taken from *waited, when waited and *waited are set), else a new one,
 * through fwd when set; counted in slot->connections when slot has it. */
PfErrCode fleet_tunnel_open(const InvTarget *t, JobSlot *slot, SshForward **fwd, PfErr *err);
PfErrCode fleet_job_connect(const InvTarget *t, SshForward *fwd, JobSlot *slot, PgConn **waited,
                            PgConn **conn, PfErr *err);

/* Whether a connection made for target a serves target b as well: two tenant schemas of one
 * database, reached the same way (job.c). */
bool fleet_same_database(const InvTarget *a, const InvTarget *b);
/* An order of targets by what fleet_same_database compares (dsn, via, sslmode,
 * application_name): 0 when a connection to one would reach the other's database. */
int fleet_database_cmp(const InvTarget *a, const InvTarget *b);

/* ---- schema drift (drift.c, docs/drift.md) ---- */

/* The tenant schemas of one database whose catalogs one query reads: a run's tenant targets
 * grouped by database (fleet_same_database) in run order, dealt in turn to as many batches as
 * the run has jobs, up to FLEET_DRIFT_BATCH tenants each. The first job of a batch to need it
 * reads it; the others wait for it and take their part. Shared by the workers; its own lock. */
#define FLEET_DRIFT_BATCH 256
typedef struct FleetDriftBatches FleetDriftBatches;

/* On the main thread before the jobs: the batches of run (audit or plan with drift), or NULL
 * when it has no tenant target to check. */
FleetDriftBatches *fleet_drift_batches_new(const FleetRun *run);
void fleet_drift_batches_free(FleetDriftBatches *b);

/* On the job's thread, once res is classified: when its ledger holds a prefix of the codebase,
 * read its catalog into res->drift: one round trip for a database target; for a tenant, one
 * per batch of tenants (made by the batch's first job, run->drift_batches). */
void fleet_drift_read(const FleetRun *run, PgConn *conn, TargetResult *res);

/* On the main thread, once every job ran: build the expected schema of each distinct head on
 * the scratch server (slot: where its connection is published, so that SIGINT cancels it),
 * compare every target read, and make the drifted ones TARGET_DRIFTED. The scratch databases
 * are dropped whatever happens, interrupted included. */
void fleet_drift_compare(const FleetRun *run, FleetResult *out, const atomic_int *interrupted,
                         JobSlot *slot);
void fleet_target_drift_free(TargetDrift *d);

/* mark-applied --verify, on the main thread before any job: the schema the migrations through
 * run->mark_through make, into *out (free with drift_snapshot_clear). PF_ERR_PG or
 * PF_ERR_UNREACHABLE (err says why) when it cannot be built; PF_ERR_INTERRUPTED. */
PfErrCode fleet_drift_mark_expected(const FleetRun *run, const atomic_int *interrupted,
                                    JobSlot *slot, DriftSnapshot *out, PfErr *err);

/* mark-applied --verify, on the job's thread under the lock: compare the target's schema with
 * run->mark_expected. False when it differs (res refused, the differences in res->drift) or
 * cannot be read (res failed). */
bool fleet_drift_verify_mark(const FleetRun *run, PgConn *conn, TargetResult *res);

/* ---- backups (backup.c, docs/backups.md); worker thread ---- */

/* apply, under the lock, before the first pending migration: dump the target when its backups
 * are on (backup_dir, when), through the tunnel's forward fwd when it has one. True when the
 * apply may go on (dumped, or no dump wanted: res->backup_skipped says why); false when the
 * dump failed: res->outcome is then failed and res->error says why, and nothing was applied. */
bool fleet_job_backup(const FleetRun *run, PgConn *conn, SshForward *fwd, const Ledger *ledger,
                      TargetResult *res, const atomic_int *interrupted);

/* ---- rollback (rollback.c, docs/rollback.md); worker thread ---- */

/* rollback (or plan --rollback, or a preview) of a surveyed target, under the lock when it
 * writes: work out the migrations to undo (res->changes), refuse what cannot be undone, run
 * the down files and delete the ledger rows in one transaction, read the ledger back. */
void fleet_job_rollback(const FleetRun *run, PgConn *conn, PgSurvey *survey, TargetResult *res,
                        const atomic_int *interrupted);

/* ---- tenant schemas (tenants.c, docs/tenants.md) ---- */

/* When plan or apply selects tenant targets: find where the folder names the schemas they
 * map (*out, or NULL when no tenant is selected; free with fleet_tenants_free). Every place
 * that cannot be rewritten is logged (file:line:column) and fails the run with PF_ERR_INPUT;
 * audit, the ledger commands and rollback (plan --rollback too) run no migration, and go on. */
PfErrCode fleet_tenants_prepare(const FleetRun *run, CbSchemaRefs **out, PfErr *err);
void fleet_tenants_free(CbSchemaRefs *r);

/* The migrations idx[0..n) rewritten for tenant target t: copies sharing all but their chunks;
 * free with fleet_tenant_migrations_free. */
CbMigration *fleet_tenant_migrations(const FleetRun *run, const InvTarget *t, const size_t *idx,
                                     size_t n);
void fleet_tenant_migrations_free(CbMigration *m, size_t n);

/* rollback and plan --rollback of tenant targets: the down files read as a codebase of their
 * own (entry m: migration m's down file; an absent one has no chunks) and where they name the
 * schemas the selected tenants map. */
typedef struct FleetTenantDowns {
    Codebase cb; /* borrows the run's downs (only the array is its own) */
    CbSchemaRefs refs;
} FleetTenantDowns;

/* When the run has down files (run->downs) and selects tenant targets: find where the down
 * files name the tenants' schemas (*out, or NULL; free with fleet_tenant_downs_free). A place
 * that cannot be rewritten is logged (file:line:column) and fails the run with PF_ERR_INPUT. */
PfErrCode fleet_tenant_downs_prepare(const FleetRun *run, FleetTenantDowns **out, PfErr *err);
void fleet_tenant_downs_free(FleetTenantDowns *d);

/* Migration m's down file rewritten for tenant t: its chunks (run->downs[m].n_chunks of them),
 * freed with cb_chunks_free. */
char **fleet_tenant_down_chunks(const FleetRun *run, const InvTarget *t, size_t m);

/* A shallow copy of the run's codebase for tenant t whose created objects (what a survey of a
 * database without the ledger looks for) are named as t's schemas name them. Clear it with
 * fleet_tenant_codebase_clear (frees only the copy's objects). */
void fleet_tenant_codebase(const FleetRun *run, const InvTarget *t, Codebase *out);
void fleet_tenant_codebase_clear(Codebase *cb);

/* Plan only, on the job's thread: the preflight warnings of a classified target with pending
 * migrations, into res->plan.warnings (one round trip; preflight.c). */
void fleet_job_preflight(const FleetRun *run, PgConn *conn, TargetResult *res);

/* ---- waves (waves.c); called by the main thread, except fleet_wave_check ---- */

/* One WaveResult per inventory wave (a single implicit one, wave NULL, when it has none), each
 * with the indexes of its targets in out; sets every TargetResult's wave. Waves outside
 * [run->wave_first, run->wave_end) are WAVE_NOT_SELECTED. Returns the count; free with
 * fleet_waves_free. */
size_t fleet_waves_prepare(const FleetRun *run, FleetResult *out, WaveResult **waves);
void fleet_waves_free(WaveResult *waves, size_t n);

/* The wave after i that the run will start (it has targets), or NULL. */
WaveResult *fleet_wave_next(WaveResult *waves, size_t n, size_t i);

/* Before anything runs: PF_ERR_INPUT when apply would have to ask at a confirm but there is
 * no terminal to ask on and run->assume_yes is not set. */
PfErrCode fleet_waves_check_terminal(const FleetRun *run, WaveResult *waves, size_t n, PfErr *err);

/* After a wave's targets ran: count its failures; for apply, past max_failures it halted. */
void fleet_wave_tally(const FleetRun *run, const FleetResult *res, WaveResult *w);

/* A wave that will not start: its state, and reason (copied) on it and on its targets. */
void fleet_wave_skip(FleetResult *res, WaveResult *w, WaveState state, const char *reason);

/* Sleep up to ms, returning early once *interrupted is set. Returns the time waited. */
int64_t fleet_wave_pause(int64_t ms, const atomic_int *interrupted);

/* Ask on the terminal (/dev/tty, else stdin when it is one) whether to start next after done;
 * polls *interrupted while waiting for the answer. */
WaveConfirm fleet_wave_ask(const WaveResult *done, const WaveResult *next,
                           const atomic_int *interrupted);

/* Worker thread: run res->wave's check query (if any) on a target that apply just left
 * applied or unchanged, on the job's connection while it holds the lock. False or an error
 * turns the outcome into failed, with the reason in res->error. */
void fleet_wave_check(PgConn *conn, TargetResult *res, const atomic_int *interrupted);

/* ---- plugin events (events.c); no-ops when run->plugins is NULL ---- */

void fleet_event_run(const FleetRun *run, const FleetResult *res, PgfleetEventKind kind);
/* wave_start / wave_end; next: the wave a veto would stop (wave_end). Returns the veto text
 * (caller frees) when a plugin vetoed wave_end, else NULL. */
char *fleet_event_wave(const FleetRun *run, const WaveResult *w, const WaveResult *next,
                       PgfleetEventKind kind);
/* target_start / target_end, on the worker thread. */
void fleet_event_target(const FleetRun *run, const TargetResult *res, PgfleetEventKind kind);
/* migration_before / migration_after of migs[i] (of n); result for after. */
void fleet_event_migration(const FleetRun *run, const TargetResult *res, PgfleetEventKind kind,
                           const char *tag, size_t i, size_t n, const char *result);

#endif
