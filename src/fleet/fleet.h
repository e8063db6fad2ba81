/*
 * The fleet run: every selected target goes through one job (connect, survey under the lock,
 * classify, apply, verify, unlock) on a pool of worker threads. See pool.c for the threading
 * design. One target's failure never stops the others.
 */
#ifndef PF_FLEET_H
#define PF_FLEET_H

#include "backup/backup.h"
#include "codebase/codebase.h"
#include "core/err.h"
#include "inventory/inventory.h"
#include "pg/pg.h"
#include "plan/plan.h"
#include "plugin/host.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FLEET_MARK (mark-applied), FLEET_REPAIR and FLEET_ROLLBACK (docs/rollback.md) change
 * ledgers under the lock, as apply does. */
typedef enum {
    FLEET_PLAN,
    FLEET_APPLY,
    FLEET_AUDIT,
    FLEET_MARK,
    FLEET_REPAIR,
    FLEET_ROLLBACK
} FleetMode;

/* Whether the mode takes the lock and changes targets (apply, mark-applied, repair): its
 * reports have outcomes. */
bool fleet_mode_writes(FleetMode m);

typedef enum {
    OUTCOME_NONE, /* plan and audit: nothing was to be done */
    OUTCOME_APPLIED,
    OUTCOME_UNCHANGED,
    OUTCOME_REFUSED,
    OUTCOME_FAILED,
    OUTCOME_INTERRUPTED,
    OUTCOME_SKIPPED,
    OUTCOME_RECORDED,    /* mark-applied wrote ledger rows */
    OUTCOME_REPAIRED,    /* repair rewrote stored hashes */
    OUTCOME_ROLLED_BACK, /* rollback ran down files and deleted their ledger rows */
    OUTCOME_COUNT
} TargetOutcome;

const char *fleet_outcome_name(TargetOutcome o);
const char *fleet_mode_name(FleetMode m);

/* A ledger change of mark-applied (ledger_id 0, old_hash NULL: a row recorded for migration),
 * repair (the row's stored hash old_hash becomes migration's hash) or rollback (the row
 * ledger_id of migration is undone by its down file and deleted; old_hash NULL). */
typedef struct FleetChange {
    size_t migration; /* codebase index */
    int64_t ledger_id;
    char *old_hash;
} FleetChange;

/* Schema drift of one target (docs/drift.md). */
typedef struct TargetDrift {
    size_t head;          /* the ledger holds the codebase's first head migrations */
    DriftSnapshot actual; /* the target's catalog, read by its job; emptied once compared */
    bool checked;         /* compared with the expected schema of head */
    char **lines;         /* the differences ("+ index ...", "- column ...", "~ ..."), n_lines */
    size_t n_lines;
    char *error; /* why it could not be checked (the scratch build failed...), or NULL */
    /* One line for the reports' detail: "drifted: 2 differences from the schema through TAG",
     * "drift not checked: ..."; NULL when checked and equal. */
    char *summary;
} TargetDrift;

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
    PgFailure failure; /* the failed statement, when has_failure */
    /* What this run added to the ledger, read back from it after apply (success or failure):
     * codebase indexes of the rows it gained, in ledger order. ledger_unknown: the ledger
     * could not be read back (the connection broke and could not be opened again). */
    size_t *applied_now;
    size_t n_applied_now;
    bool ledger_unknown;
    /* mark-applied and repair: what they record or rewrite (or, in a preview, would). */
    struct FleetChange *changes;
    size_t n_changes;
    int64_t lock_key;
    int64_t connect_ms;
    int64_t tunnel_ms; /* getting the tunnel's forward (0 when direct), before connect_ms */
    int64_t total_ms;
    int round_trips;
    bool new_connection; /* this target opened a connection (not one a tenant before it used) */
    const InvWave *wave; /* the target's wave (borrowed), or NULL when the inventory has none */
    bool check_ran;      /* apply ran the wave's check query on this target */
    bool check_passed;   /* it returned true (when false, error says why) */
    /* The run checks drift and the ledger holds a prefix of the codebase: what was found.
     * NULL otherwise. */
    TargetDrift *drift;

    /* apply with backups (docs/backups.md): the dump taken before the first pending migration;
     * backup_skipped: why none was taken though backups are on (static text), else NULL. */
    bool has_backup;
    BackupDump backup;
    const char *backup_skipped;
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
    /* Waves (docs/waves.md): the run covers inv->waves[wave_first, wave_end) (as
     * inv_waves_select sets them; both 0 = every wave) and selected holds only their targets.
     * assume_yes (--yes) answers every confirm without asking. */
    size_t wave_first, wave_end;
    bool assume_yes;
    /* Plugins (docs/plugins.md) that get the run's events, or NULL. */
    PluginHost *plugins;
    char run_id[48]; /* set by fleet_run: "20261122T183417Z-4242" (UTC start, pid) */
    /* mark-applied: record mark[0..n_mark) (codebase indexes), and every migration before
     * mark_through (an index + 1; 0 = none) that the ledger lacks. */
    const size_t *mark;
    size_t n_mark;
    size_t mark_through;
    /* mark-applied and repair: only read and say what would change (no lock taken). */
    bool preview;
    /* Set by fleet_run when a selected target is a tenant schema (docs/tenants.md): where the
     * folder names the schemas the tenants map, found once. */
    const CbSchemaRefs *tenant_refs;
    /* Set by fleet_run for rollback (and plan --rollback) of tenant targets: the same, for the
     * down files (fleet/internal.h). */
    const struct FleetTenantDowns *tenant_downs;
    /* Set by fleet_run for plan: what the folder's statements mean to preflight, read once
     * (src/plan/preflight.h). */
    const struct PreflightPrep *preflight;
    /* Set by fleet_run for audit and plan with drift over tenant schemas: which tenants'
     * catalogs are read together (fleet/internal.h). */
    struct FleetDriftBatches *drift_batches;
    /* plan and audit: compare each target's schema with the expected one (docs/drift.md);
     * NULL: not checked. */
    const InvDrift *drift;
    /* mark-applied --verify (docs/drift.md): before recording anything on a target, compare its
     * schema with the one the migrations through mark_through make (built once for the run on
     * inv->drift.scratch_dsn, by fleet_run: mark_expected) and refuse it on a difference. */
    bool mark_verify;
    const DriftSnapshot *mark_expected;

    /* Rollback (docs/rollback.md): mode FLEET_ROLLBACK, or FLEET_PLAN showing what it would
     * do (rollback_plan). Undo every applied migration after rollback_to (a codebase index +
     * 1; 0 = every one), or the rollback_steps newest (when rollback_to is 0). downs: the down
     * file of each codebase migration (cb->n). */
    bool rollback_plan;
    size_t rollback_to;
    size_t rollback_steps;
    const struct CbDown *downs;
    /* apply --backup-dir: the folder every target's backups go to, whatever backup.dir says
     * (docs/backups.md); NULL: each target's backup.dir. */
    const char *backup_dir;
    /* --wait (docs/cli.md): the connection made while waiting for each target's server,
     * indexed like inv->targets (NULL entries: none), or NULL. The target's job takes its
     * entry (and sets it NULL) instead of connecting again; the caller frees what is left. */
    PgConn **waited;
} FleetRun;

typedef enum {
    WAVE_NOT_SELECTED, /* outside --wave / --from-wave */
    WAVE_DONE,         /* its targets ran (plan and audit: were read) */
    WAVE_SKIPPED,     /* did not start: an earlier wave halted the rollout, or no go at a confirm */
    WAVE_INTERRUPTED, /* SIGINT/SIGTERM arrived while it ran or before it started */
} WaveState;

typedef enum {
    WAVE_CONFIRM_NONE,        /* not asked (no confirm, or no next wave to start) */
    WAVE_CONFIRM_YES,         /* answered yes on the terminal */
    WAVE_CONFIRM_NO,          /* answered anything else, or end of input */
    WAVE_CONFIRM_ASSUMED,     /* --yes */
    WAVE_CONFIRM_INTERRUPTED, /* SIGINT/SIGTERM while asking */
} WaveConfirm;

/* Names for the reports (static strings): "done", "skipped", ...; "yes", "assumed_yes", ... */
const char *fleet_wave_state_name(WaveState s);
const char *fleet_wave_confirm_name(WaveConfirm c); /* NULL for WAVE_CONFIRM_NONE */

/* One wave of the run, for the report. */
typedef struct WaveResult {
    const InvWave *wave; /* borrowed from the inventory */
    WaveState state;
    size_t *targets; /* indexes into FleetResult.targets, in run order */
    size_t n;
    size_t failures;     /* targets unreachable, failed (check included), refused or interrupted */
    size_t allowed;      /* max_failures as a count of n */
    bool halted;         /* apply: failures > allowed, so no later wave started */
    char *reason;        /* why it halted, was skipped or was interrupted; NULL otherwise */
    char started_at[32]; /* UTC; "" when it did not start */
    int64_t duration_ms; /* from its first target's start to its last target's end */
    int64_t paused_ms;   /* the pause waited after it */
    WaveConfirm confirm; /* the confirm before the next wave */
} WaveResult;

typedef struct FleetResult {
    FleetMode mode;
    TargetResult *targets; /* n, in selection order */
    size_t n;
    bool interrupted;
    char started_at[32];
    int64_t duration_ms;
    WaveResult *waves; /* every wave of the inventory, in order; NULL when it has none */
    size_t n_waves;
    char run_id[48];
    char **plugin_errors; /* plugin callbacks that failed during the run (owned), in order */
    size_t n_plugin_errors;
    size_t connections; /* database connections the run opened (tenants of a database share) */
} FleetResult;

/* Run the fleet. Blocks SIGINT/SIGTERM for its duration and handles them itself: no new target
 * starts, running statements are cancelled (their transactions roll back), locks are released,
 * and out->interrupted is set. apply runs the waves one after the other (docs/waves.md); plan
 * and audit read every target at once and only group them by wave. Fails only when threads
 * cannot be created, or (PF_ERR_INPUT, before anything runs) when a wave must confirm and
 * there is no terminal to ask on and no assume_yes, or when plan or apply selects tenant
 * schemas and the folder names their schemas where it cannot be rewritten (each place is
 * logged as an error: file:line:column). */
PfErrCode fleet_run(const FleetRun *run, FleetResult *out, PfErr *err);
void fleet_result_clear(FleetResult *r);

/* Signals around a run, so that every run that starts ends with its report, and the report
 * and the exit code agree. fleet_signals_hold blocks SIGINT/SIGTERM in the calling thread once
 * the targets are known: one that arrives before the run is held and interrupts it as soon as
 * it starts (fleet_run handles them while it runs). fleet_signals_open unblocks them (at a
 * prompt outside a run: a pending or new one then ends pgfleet, as by default).
 * fleet_signals_defer, once the run has returned: from then on the first signal is only noted
 * (the run is over: what it did is what the report will say) and a second one exits 130 at
 * once. fleet_signals_report_late, once the report is written: says on stderr that a signal
 * was noted; pgfleet then exits as its report says. */
void fleet_signals_hold(void);
void fleet_signals_open(void);
void fleet_signals_defer(void);
void fleet_signals_report_late(int exit_code);

/* Asking a person (waves' confirm, mark-applied, repair): whether there is a terminal to ask on
 * (/dev/tty, else stdin when it is one), and the answer to question there: YES, NO (anything
 * else, end of input, or no terminal), INTERRUPTED once *interrupted (the run's flag, which
 * the supervisor thread sets) is; NULL outside a run, where SIGINT ends the process. */
bool fleet_terminal_available(void);
WaveConfirm fleet_ask(const char *question, const atomic_int *interrupted);

/* Exit codes (docs/statuses.md). */
enum {
    PF_EXIT_OK = 0,
    PF_EXIT_NOT_IN_SYNC = 1,
    PF_EXIT_FAILED = 2,
    PF_EXIT_INVALID = 3,
    PF_EXIT_INTERRUPTED = 130,
};
int fleet_exit_code(const FleetResult *r);

/* pgfleet diff-schema (docs/drift.md), on the calling thread: the differences (drift.h's lines)
 * from target a's schema to target b's, or, with b NULL, from the schema every migration of cb
 * makes (built on inv->drift.scratch_dsn) to a's, as audit --drift reads. A tenant's schemas are
 * compared under the folder's names. SIGINT/SIGTERM cancel what runs (a scratch database is still
 * dropped): PF_ERR_INTERRUPTED. PF_ERR_UNREACHABLE, PF_ERR_PG or PF_ERR_INPUT (a target behind a
 * tunnel) otherwise. Free *lines with drift_lines_free. */
PfErrCode fleet_drift_diff(const Codebase *cb, const Inventory *inv, const InvTarget *a,
                           const InvTarget *b, char ***lines, size_t *n, PfErr *err);

#endif
