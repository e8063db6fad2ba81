/*
 * The fleet run: every selected target goes through one job (connect, survey under the lock,
 * classify, apply, verify, unlock) on a pool of worker threads. See pool.c for the threading
 * design. One target's failure never stops the others.
 */
#ifndef PF_FLEET_H
#define PF_FLEET_H

#include "codebase/codebase.h"
#include "core/err.h"
#include "inventory/inventory.h"
#include "pg/pg.h"
#include "plan/plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FLEET_PLAN, FLEET_APPLY, FLEET_AUDIT } FleetMode;

typedef enum {
    OUTCOME_NONE, /* plan and audit: nothing was to be done */
    OUTCOME_APPLIED,
    OUTCOME_UNCHANGED,
    OUTCOME_REFUSED,
    OUTCOME_FAILED,
    OUTCOME_INTERRUPTED,
    OUTCOME_SKIPPED,
} TargetOutcome;

const char *fleet_outcome_name(TargetOutcome o);
const char *fleet_mode_name(FleetMode m);

typedef struct TargetResult {
    const InvTarget *target; /* borrowed from the inventory */
    bool started;
    TargetStatus status; /* as found, before applying */
    TargetOutcome outcome;
    Plan plan;
    PgIdentity identity;
    bool has_holder;
    PgLockHolder holder;
    char *error; /* one line for people, or NULL */
    bool has_failure;
    PgFailure failure;    /* the failed statement, when has_failure */
    size_t n_applied_now; /* how many of plan.pending were committed by this run */
    int64_t lock_key;
    int64_t connect_ms;
    int64_t tunnel_ms; /* getting the tunnel's forward (0 when direct), before connect_ms */
    int64_t total_ms;
    int round_trips;
} TargetResult;

typedef struct FleetRun {
    FleetMode mode;
    const Codebase *cb;
    const Inventory *inv;
    const size_t *selected; /* indexes into inv->targets */
    size_t n;
    int jobs;
    bool allow_out_of_order;
    bool progress; /* live progress line on stderr */
} FleetRun;

typedef struct FleetResult {
    FleetMode mode;
    TargetResult *targets; /* n, in selection order */
    size_t n;
    bool interrupted;
    char started_at[32];
    int64_t duration_ms;
} FleetResult;

/* Run the fleet. Blocks SIGINT/SIGTERM for its duration and handles them itself: no new target
 * starts, running statements are cancelled (their transactions roll back), locks are released,
 * and out->interrupted is set. Fails only when threads cannot be created. */
PfErrCode fleet_run(const FleetRun *run, FleetResult *out, PfErr *err);
void fleet_result_clear(FleetResult *r);

/* Exit codes (docs/statuses.md). */
enum {
    PF_EXIT_OK = 0,
    PF_EXIT_NOT_IN_SYNC = 1,
    PF_EXIT_FAILED = 2,
    PF_EXIT_INVALID = 3,
    PF_EXIT_INTERRUPTED = 130,
};
int fleet_exit_code(const FleetResult *r);

#endif
