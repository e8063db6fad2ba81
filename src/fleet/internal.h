/* Shared between the files of src/fleet/ only. */
#ifndef PF_FLEET_INTERNAL_H
#define PF_FLEET_INTERNAL_H

#include "fleet/fleet.h"
#include "ssh/ssh.h"

#include <pthread.h>

/* Where a worker publishes its open connection so that the supervisor can cancel it. */
typedef struct JobSlot {
    pthread_mutex_t *mutex; /* the pool's slot mutex */
    PgConn *conn;           /* guarded by mutex */
    const char *target;     /* name of the target in flight, or NULL; guarded by mutex */
    SshHub *hub;            /* the run's tunnels, or NULL when no selected target uses one */
} JobSlot;

void job_slot_attach(JobSlot *slot, PgConn *conn);
void job_slot_detach(JobSlot *slot);

/* Run one target's job on the calling thread. slot may be NULL. */
void fleet_job_run(const FleetRun *run, TargetResult *res, const volatile int *interrupted,
                   JobSlot *slot);

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
int64_t fleet_wave_pause(int64_t ms, const volatile int *interrupted);

/* Ask on the terminal (/dev/tty, else stdin when it is one) whether to start next after done;
 * polls *interrupted while waiting for the answer. */
WaveConfirm fleet_wave_ask(const WaveResult *done, const WaveResult *next,
                           const volatile int *interrupted);

/* Worker thread: run res->wave's check query (if any) on a target that apply just left
 * applied or unchanged, on the job's connection while it holds the lock. False or an error
 * turns the outcome into failed, with the reason in res->error. */
void fleet_wave_check(PgConn *conn, TargetResult *res, const volatile int *interrupted);

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
