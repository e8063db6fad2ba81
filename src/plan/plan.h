/*
 * Where a target stands: compare the codebase with the target's ledger and classify it.
 * Pure logic, no I/O: the pg module reads the ledger, the fleet module acts on the plan.
 */
#ifndef PF_PLAN_H
#define PF_PLAN_H

#include "codebase/codebase.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ordered from harmless to most serious; a target's status is its most serious problem. */
typedef enum {
    TARGET_IN_SYNC,
    TARGET_BEHIND,
    TARGET_UNINITIALIZED,
    TARGET_UNMANAGED, /* no ledger, but objects the migrations create exist: apply would fail */
    TARGET_AHEAD,
    TARGET_OUT_OF_ORDER,
    TARGET_MODIFIED,
    TARGET_FOREIGN,
    TARGET_MIGRATING, /* audit only: a migrator holds the lock; plan and apply say locked */
    TARGET_LOCKED,
    TARGET_UNREACHABLE,
    /* The ledger is fine (in_sync or behind), the schema is not what its migrations make
     * (docs/drift.md). Never a plan's status: set after the comparison, on the TargetResult. */
    TARGET_DRIFTED,
    TARGET_STATUS_COUNT
} TargetStatus;

/* "in_sync", "behind", ... (static strings). */
const char *plan_status_name(TargetStatus s);

/* One row of drizzle.__drizzle_migrations. */
typedef struct LedgerRow {
    int64_t id;
    char *hash;          /* NULL when the column is NULL */
    bool has_created_at; /* false when created_at is NULL */
    int64_t created_at;
    char *name;       /* v1 ledgers only; NULL otherwise */
    char *applied_at; /* v1 ledgers only, as text (ISO 8601 from plan's and audit's read,
                         PostgreSQL's timestamptz text from the others); NULL otherwise */
} LedgerRow;

typedef struct Ledger {
    bool exists;          /* the ledger table exists */
    bool has_name_column; /* v1 ledger: name and applied_at columns present */
    LedgerRow *rows;      /* ordered by id */
    size_t n;
} Ledger;

void ledger_clear(Ledger *l); /* frees the rows; the struct itself is the caller's */

typedef struct PlanProblem {
    TargetStatus kind; /* TARGET_OUT_OF_ORDER, _MODIFIED, _AHEAD, _FOREIGN, _UNMANAGED, or
                          _UNINITIALIZED for a table elsewhere that looks like the ledger */
    char *tag;         /* the codebase migration concerned, or NULL (ledger-only row) */
    int64_t ledger_id; /* the ledger row concerned, or 0 */
    char *message;     /* one line, for people */
} PlanProblem;

/* A ledger row and the codebase migration it stands for. */
typedef struct PlanMatch {
    int64_t ledger_id;
    size_t migration; /* index into the codebase */
} PlanMatch;

/* A preflight warning (plan only; src/plan/preflight.h): something the pending migrations will
 * meet on the server. Warnings change neither the status nor the exit code. */
typedef struct PlanWarning {
    const char *kind; /* static: add_not_null, set_not_null, create_extension,
                         long_transaction, lock, add_value_in_transaction (before PostgreSQL
                         12), unparsed (a chunk read with token rules)
                         or preflight (the checks could not run) */
    char *migration;  /* the migration concerned, or NULL */
    int statement;    /* 1-based statement (chunk) in that migration; 0 when none */
    char *message;    /* one line, for people */
    char *hint;       /* what to do about it, or NULL */
    int *pids;        /* long_transaction, lock: the sessions concerned */
    size_t n_pids;
} PlanWarning;

typedef struct Plan {
    TargetStatus status;
    PlanMatch *matches; /* every matched ledger row, in ledger order */
    size_t n_matches;
    size_t *pending; /* codebase indexes not in the ledger, in run order (incl. out of order) */
    size_t n_pending;
    size_t n_applied; /* codebase migrations found in the ledger */
    PlanProblem *problems;
    size_t n_problems;
    PlanWarning *warnings; /* preflight, filled after classification (plan only) */
    size_t n_warnings;
    char *refusal; /* why apply refuses, when the status alone does not say it (plan_no_ledger):
                      "unmanaged: ..." or the ledger found elsewhere; NULL otherwise */
} Plan;

/* Classify. The plan owns its arrays (warnings too); free them with plan_clear. Never fails. */
void plan_classify(const Codebase *cb, const Ledger *ledger, Plan *out);
void plan_clear(Plan *p);

/* An object the migrations create (cb_created) that a database without the ledger holds. */
typedef struct PlanObject {
    const char *kind; /* static: CbObject's kind */
    char *schema;     /* where it is (an unqualified name resolved); NULL for a schema */
    char *name;
    size_t migration; /* codebase index of the first migration that creates it */
} PlanObject;

/* A table that looks like this codebase's ledger where the ledger was not looked for (drizzle's
 * columns, nothing else, and rows with the hashes of its migrations: src/pg/ledger.c). */
typedef struct PlanLedgerLike {
    char *schema;
    char *table;
    int64_t rows;
} PlanLedgerLike;

/* What the survey of a database without the ledger found in it (src/pg/ledger.c). */
typedef struct PlanNoLedger {
    PlanObject *existing; /* in the migrations' order */
    size_t n_existing;
    PlanLedgerLike *lookalikes;
    size_t n_lookalikes;
} PlanNoLedger;

void plan_no_ledger_clear(PlanNoLedger *f);

/* After plan_classify of a target without the ledger (schema.table, where it was looked for):
 * objects its migrations create that exist already make it unmanaged, with one problem naming
 * a few of them; a table elsewhere that looks like the ledger is a problem of kind
 * uninitialized. Either way apply refuses it (p->refusal says why). No-op when f found
 * nothing. */
void plan_no_ledger(Plan *p, const Codebase *cb, const char *schema, const char *table,
                    const PlanNoLedger *f);

/* Whether apply may run on this plan; when not, *why says why (static or plan-owned text). */
bool plan_can_apply(const Plan *p, bool allow_out_of_order, const char **why);

#endif
