/*
 * The pgfleet plugin ABI (docs/plugins.md). A plugin is a shared object that exports one
 * symbol, `pgfleet_plugin`, a PgfleetPlugin. pgfleet loads it with dlopen(RTLD_NOW |
 * RTLD_LOCAL) from the inventory's `plugins:` list before anything runs, checks abi_version,
 * calls init once, then discover (if set) while the inventory loads, then on_event for every
 * event of the run, and fini once at the end.
 *
 * Everything a plugin sees is plain C data: strings, counts and arrays of key/value strings.
 * Pointers passed to a callback are valid for that call only; copy what you keep. Strings are
 * never NULL unless a field says so.
 *
 * Thread safety: pgfleet serializes every call into every plugin behind one mutex, so no two
 * plugin callbacks ever run at the same time, but target and migration events come from the
 * worker threads (not always the same thread). Do not rely on thread-local storage across
 * calls. A callback blocks the run while it runs (the other workers wait at their next event).
 *
 * Compatibility: abi_version is the version of this header the plugin was built against.
 * pgfleet loads plugins of every version from 1 up to its own PGFLEET_PLUGIN_ABI_VERSION and
 * refuses any other (a plugin built for a newer pgfleet, or a garbage version). The version
 * changes whenever a struct here changes, and a change only ever adds fields at the end of a
 * struct, so that older plugins keep working unrebuilt:
 *   - a struct a plugin fills (PgfleetPlugin, PgfleetTarget) is read by pgfleet only as far as
 *     the plugin's abi_version has it: a version-1 plugin's PgfleetTarget ends at `table`, and
 *     pgfleet never reads `tenant_schema` from it (it is taken as NULL);
 *   - a struct pgfleet fills (PgfleetEvent) is whole; an older plugin does not see the fields
 *     added after its version.
 * Versions: 1, the first; 2, PgfleetTarget.tenant_schema.
 */
#ifndef PGFLEET_PLUGIN_H
#define PGFLEET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PGFLEET_PLUGIN_ABI_VERSION 2

/* What a callback returns. */
#define PGFLEET_OK 0     /* carry on */
#define PGFLEET_VETO 1   /* wave_end only: do not start the next wave */
#define PGFLEET_ERROR -1 /* failed: err holds why; reported in the log and the report */

typedef struct PgfleetKV {
    const char *key;
    const char *value;
} PgfleetKV;

typedef enum PgfleetEventKind {
    PGFLEET_EVENT_RUN_START = 1,
    PGFLEET_EVENT_RUN_END,
    PGFLEET_EVENT_WAVE_START,
    PGFLEET_EVENT_WAVE_END, /* may be vetoed (PGFLEET_VETO) */
    PGFLEET_EVENT_TARGET_START,
    PGFLEET_EVENT_TARGET_END,
    PGFLEET_EVENT_MIGRATION_BEFORE,
    PGFLEET_EVENT_MIGRATION_AFTER,
} PgfleetEventKind;

/* One event. Which fields are set depends on the kind (docs/plugins.md has the table); the
 * others are NULL or 0. */
typedef struct PgfleetEvent {
    PgfleetEventKind kind;
    const char *name;    /* "run_start", "run_end", "wave_start", ... */
    const char *run_id;  /* the same for every event of one run */
    const char *command; /* "plan", "apply", "audit", "mark-applied", "repair", "rollback" */

    /* run_start, run_end */
    size_t n_targets;    /* targets selected for the run */
    int exit_code;       /* run_end: the exit code the results give (docs/statuses.md) */
    int64_t duration_ms; /* run_end, wave_end, target_end */

    /* wave_start, wave_end; and the target's wave on target and migration events */
    const char *wave;        /* NULL when the inventory has no waves */
    size_t wave_targets;     /* wave_start, wave_end: the wave's target count */
    size_t wave_failures;    /* wave_end */
    int wave_halted;         /* wave_end: 1 when it already halted the rollout (max_failures) */
    const char *wave_state;  /* wave_end: "done" or "interrupted" */
    const char *wave_reason; /* wave_end: why it halted or was interrupted, or NULL */
    const char *next_wave;   /* wave_end: the wave a veto would stop, or NULL when none */

    /* target_start, target_end, migration_before, migration_after */
    const char *target;     /* the target's name */
    const char *dsn_masked; /* its dsn with any password as "****" */
    const PgfleetKV *labels;
    size_t n_labels;

    /* target_end */
    const char *status;         /* as found: "in_sync", "behind", "unreachable", ... */
    const char *outcome;        /* "none", "applied", "unchanged", "refused", "failed", ... */
    const char *error;          /* one line, or NULL */
    size_t n_pending;           /* pending migrations found */
    const char *const *applied; /* tags committed by this run */
    size_t n_applied;
    const char *started_at; /* run_start, run_end: the run's start, UTC ISO-8601 */

    /* migration_before, migration_after */
    const char *migration;  /* the tag */
    size_t migration_index; /* 0-based among this target's pending migrations */
    size_t migration_count;
    const char *migration_result; /* after: "applied", "failed" or "not_applied"; rollback:
                                     "rolled_back", "failed" or "not_rolled_back" */
} PgfleetEvent;

/* A target a plugin adds to the inventory. name and dsn are required; the others may be NULL.
 * The inventory's defaults apply to it. */
typedef struct PgfleetTarget {
    const char *name;
    const char *dsn;
    const PgfleetKV *labels;
    size_t n_labels;
    const char *schema; /* the LEDGER's schema; NULL: the inventory's (for a tenant: its schema) */
    const char *table;  /* the ledger's table; NULL: the inventory's */
    /* Since version 2. Schema-per-tenant (docs/tenants.md): the schema the folder is applied in,
     * as a target's `schema:` key; NULL: not a tenant. A tenant's ledger is in this schema
     * unless `schema` names another, and the folder's public schema maps to it. */
    const char *tenant_schema;
} PgfleetTarget;

/* Handed to discover: add one target. Returns PGFLEET_OK, or PGFLEET_ERROR with err filled
 * (an invalid or duplicate target); the inventory fails to load either way after such an
 * error, so return it. */
typedef int (*PgfleetAddTarget)(void *ctx, const PgfleetTarget *t, char *err, size_t err_size);

typedef struct PgfleetPlugin {
    int abi_version;  /* PGFLEET_PLUGIN_ABI_VERSION, as this header defines it */
    const char *name; /* short, for messages ("exec") */
    /* Required. config: the entry's `config` mapping as key/value strings (a list value is
     * joined with ","); ${VAR} already expanded. *state is handed to every other callback.
     * Return PGFLEET_OK, or PGFLEET_ERROR with err set: nothing runs, exit 3. */
    int (*init)(const PgfleetKV *config, size_t n_config, void **state, char *err, size_t err_size);
    /* Optional. Called once, after run_end (also when the run stopped early). */
    void (*fini)(void *state);
    /* Optional. Every event of the run, in order (docs/plugins.md). */
    int (*on_event)(void *state, const PgfleetEvent *ev, char *err, size_t err_size);
    /* Optional. Add targets while the inventory loads (after its own targets, before waves
     * choose among them). An error fails the load: exit 3, nothing runs. */
    int (*discover)(void *state, PgfleetAddTarget add, void *ctx, char *err, size_t err_size);
} PgfleetPlugin;

/* The symbol pgfleet looks up. Define it as
 *     PGFLEET_PLUGIN_EXPORT const PgfleetPlugin pgfleet_plugin = {...};
 * (PGFLEET_PLUGIN_EXPORT keeps it visible when the plugin builds with hidden visibility). */
#define PGFLEET_PLUGIN_SYMBOL "pgfleet_plugin"
#if defined(__GNUC__)
#define PGFLEET_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PGFLEET_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif
