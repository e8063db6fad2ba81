/*
 * The PostgreSQL edge: the only code that includes <libpq-fe.h>. Everything it returns is
 * pgfleet's own types (Ledger, PgIdentity, PgFailure), never libpq's.
 *
 * Round trips per target are fixed and small, whatever the number of statements (see
 * docs/round-trips.md): pg_survey is one, the ledger read included (two when it must wait for
 * the lock), pg_apply one, the ledger read back and the unlock included (plus one after a
 * failure, and one per chunk after a chunk that ends drizzle's transaction), pg_lock_release
 * one when nothing released the lock before.
 *
 * Thread safety: a PgConn is used by one thread at a time, except pg_conn_cancel, which any
 * thread may call at any time while the connection is open.
 */
#ifndef PF_PG_H
#define PF_PG_H

#include "codebase/codebase.h"
#include "core/err.h"
#include "inventory/inventory.h"
#include "plan/drift.h"
#include "plan/plan.h"
#include "plan/preflight.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct PgConn PgConn;

typedef struct PgIdentity {
    char *database;
    char *user;
    char *server_version;
    char *system_identifier; /* NULL when not readable */
} PgIdentity;

typedef struct PgLockHolder {
    int pid;
    char *application_name;
    char *client_addr; /* "local" for a Unix-socket client, "" when hidden */
    char *user;
    int64_t session_age_s; /* how long the holding session has been connected */
    bool shared;           /* held in shared mode only (an audit's probe, for a moment) */
} PgLockHolder;

/* What failed during apply, for the report. */
typedef struct PgFailure {
    char *tag;     /* the migration, or NULL when it failed outside one */
    int statement; /* 1-based statement (chunk) number within the migration; 0 when none */
    char sqlstate[6];
    char *message;
    char *detail;
    char *hint;
    /* The failure came after escape_tag's chunk escape_statement left drizzle's transaction:
     * what ran since then outside a transaction stays committed. NULL / 0 otherwise. */
    char *escape_tag;
    int escape_statement;
} PgFailure;

typedef enum { PG_LOCK_CHECK, PG_LOCK_TAKE } PgLockMode;

typedef struct PgSurvey {
    PgIdentity identity;
    bool lock_acquired;   /* PG_LOCK_TAKE: we hold the lock now */
    bool locked_by_other; /* someone else holds it (CHECK), or we could not get it (TAKE) */
    /* TAKE with release_if: the lock was taken, the ledger read under it, and released in the
     * same round trip because the ledger is exactly release_if (lock_acquired is false). */
    bool released;
    /* With a tenant: whether its schema exists (always true with create); true otherwise. */
    bool schema_exists;
    PgLockHolder holder; /* filled when locked_by_other */
    Ledger ledger;       /* filled unless locked_by_other in TAKE mode */
    /* The identity is not what the target's expect says: why, for the report (one line with a
     * hint). Then nothing else was read and no lock is held. NULL when it matches. */
    char *refused;
    /* No ledger (ledger.exists false): which objects of the survey's created list the database
     * holds already, and which tables elsewhere look like a ledger (plan_no_ledger). Empty
     * when the ledger exists. */
    PlanNoLedger no_ledger;
} PgSurvey;

/* Connect. application_name, connect_timeout and sslmode come from settings and override the
 * dsn. name prefixes NOTICE lines in the log. On failure: PF_ERR_UNREACHABLE with libpq's
 * reason (the password never appears in it). */
PfErrCode pg_conn_open(const char *name, const char *dsn, const InvSettings *settings, PgConn **out,
                       PfErr *err);
void pg_conn_free(PgConn *c);

/* pg_conn_open, but reach the server at hostaddr:port (a tunnel's loopback end) instead of the
 * dsn's address. The dsn's host is still what TLS verifies (sslmode=verify-full) and what
 * .pgpass matches (with the local port: use * as the port of such entries). */
PfErrCode pg_conn_open_at(const char *name, const char *dsn, const InvSettings *settings,
                          const char *hostaddr, int port, PgConn **out, PfErr *err);

/* Where a dsn connects: its host (or hostaddr) and port (PGHOST/PGPORT when the dsn has none;
 * port default 5432). *host is the caller's to free. PF_ERR_INPUT for a dsn libpq cannot
 * parse, a Unix-socket host, no host at all, or several hosts (multi-host dsns are refused:
 * a tunnel forwards to one destination). */
PfErrCode pg_dsn_endpoint(const char *dsn, char **host, int *port, PfErr *err);

/* The server a dsn reaches, as "host:port" for counting connections per server
 * (max_per_server): hostaddr, else host, else PGHOSTADDR or PGHOST, as written (a socket
 * directory, a host list), and the port (PGPORT, default 5432). No password is in it. NULL
 * when libpq cannot parse the dsn. Caller frees. */
char *pg_dsn_server(const char *dsn);

/* Ask the server to cancel whatever the connection is running. Thread-safe; no-op when idle. */
void pg_conn_cancel(PgConn *c);

/* Queries sent on this connection so far (each is one network round trip). */
int pg_conn_round_trips(const PgConn *c);

/* Schema-per-tenant (docs/tenants.md): the schema pg_survey makes the session's search_path
 * before anything else, in the survey's own message, creating it first when create. reset:
 * the session served another target before: first make it as new, as DISCARD ALL would
 * (settings, search_path, advisory locks, temporary tables, prepared statements, cursors),
 * in statements one message may carry (DISCARD ALL may not share one). */
typedef struct PgTenantEnter {
    const char *schema;
    bool create;
    bool reset;
} PgTenantEnter;

/* Whether a connection that served one target may serve another (after a reset: see
 * PgTenantEnter): not broken, not inside a transaction. Sends nothing. */
bool pg_conn_reusable(const PgConn *c);

/* The advisory lock key for a ledger: the first 8 bytes of sha256("pgfleet:" schema "." table)
 * read as a big-endian signed 64-bit integer. */
int64_t pg_lock_key_derive(const char *schema, const char *table);

/* Identity, ledger and lock state, in one round trip. In PG_LOCK_TAKE mode the session-level
 * advisory lock is taken (waiting up to lock_wait_ms) before the ledger is read, and the
 * ledger is read only when it was. A held lock is not an error:
 * it is reported through locked_by_other. expect (may be NULL) is checked on the identity
 * first: on a mismatch out->refused says why, the lock is not taken (the lock statement
 * carries the same test) and the ledger is not read. When the ledger is missing, the same
 * round trip asks which of the objects cb's migrations create (cb->created) exist already and
 * which tables elsewhere look like cb's ledger (out->no_ledger). release_if (TAKE mode; may be
 * NULL): when the ledger's rows, read under the lock, are exactly its rows (hash, created_at and
 * name, in id order), the lock is released in the same round trip (out->released): for a caller
 * that needs the lock only when the ledger is anything else. tenant (may be NULL): enter its
 * schema first, in the same round trip (out->schema_exists). Free with pg_survey_clear. */
PfErrCode pg_survey(PgConn *c, const PgTenantEnter *tenant, const char *schema, const char *table,
                    int64_t lock_key, PgLockMode mode, int64_t lock_wait_ms,
                    const InvExpect *expect, const Codebase *cb, const Ledger *release_if,
                    PgSurvey *out, PfErr *err);

/* NULL when the identity is what e expects (or e expects nothing), else the problem: "expected
 * database X (system identifier Y), connected to database Z (system identifier W); hint: ...".
 * A system identifier that cannot be read does not match. Pure; the caller frees. */
char *pg_identity_mismatch(const PgIdentity *id, const InvExpect *e);

/* Preflight (src/plan/preflight.h): ask the server, in one round trip, what it knows about
 * p's checks and tables: one row per check, the transactions of this database older than
 * long_xact_ms (0 = not asked), and the locks other sessions hold or wait for on p's tables.
 * Read-only; waits at most 1 s for a lock and 10 s for a statement. server_major is the
 * server's major version (features are asked for only where they exist). Free *out with
 * preflight_facts_clear. PF_ERR_PG or PF_ERR_UNREACHABLE on failure (*out is then empty). */
PfErrCode pg_preflight(PgConn *c, const Preflight *p, int64_t long_xact_ms, int server_major,
                       PreflightFacts *out, PfErr *err);
void pg_survey_clear(PgSurvey *s);

/* Re-read the ledger rows (used to verify after apply). */
PfErrCode pg_ledger_read(PgConn *c, const char *schema, const char *table, Ledger *out, PfErr *err);

/* Whether the ledger exists, which columns it has, and its rows: pg_ledger_read for when that
 * is not known (after a failed apply). One round trip. */
PfErrCode pg_ledger_read_fresh(PgConn *c, const char *schema, const char *table, Ledger *out,
                               PfErr *err);

/* A ledger row's id and the v1 folder name it gets when an old ledger is upgraded. */
typedef struct PgLedgerName {
    int64_t id;
    const char *name;
} PgLedgerName;

typedef struct PgApplyRequest {
    const char *schema;
    const char *table;
    bool create_ledger;   /* create schema and table as drizzle-orm does */
    bool ledger_has_name; /* v1 ledger: insert the folder name too */
    /* Upgrade a 0.x ledger to v1 first, exactly as drizzle-orm v1 does: add name and
     * applied_at, then set each row's name (and applied_at to NULL). */
    bool upgrade_ledger;
    const PgLedgerName *names;
    size_t n_names;
    const CbMigration *const *migrations; /* in run order */
    size_t n;
    bool per_migration;      /* commit each migration on its own */
    int64_t lock_timeout_ms; /* 0 = none */
    int64_t statement_timeout_ms;
    /* Stop before the next query once set (by another thread: the run's supervisor); may be
     * NULL. */
    const atomic_int *interrupted;
    /* Release the advisory lock lock_key at the end of the run, in the message that reads the
     * ledger back (nothing may need the lock after the run). */
    bool unlock;
    int64_t lock_key;
} PgApplyRequest;

/* How a run ended, read in its last message (or, after a failure, in one message of its
 * own): the ledger as it is now, and whether the lock was released. read false: the ledger
 * was not read (the connection broke, or the read failed): read it with pg_ledger_read_fresh.
 * unlocked false: release it with pg_lock_release. Free with pg_apply_end_clear. */
typedef struct PgApplyEnd {
    bool read;
    Ledger after; /* with exists and has_name_column */
    bool unlocked;
} PgApplyEnd;

void pg_apply_end_clear(PgApplyEnd *end);

/* Run the migrations as drizzle-orm would (src/pg/apply.c): one round trip for everything
 * that stays inside drizzle's transaction, the ledger read back and the unlock included, then
 * one per chunk after a chunk left it (and one for the read-back). On a failed statement: a
 * transaction left open is rolled back, *failure says where and why, and PF_ERR_PG is
 * returned (PF_ERR_UNREACHABLE when the connection broke); the rollback, the read-back and the
 * unlock are one more round trip. *end says what the ledger holds afterwards (the report's
 * figures come from it). Free failure with pg_failure_clear, end with pg_apply_end_clear. */
PfErrCode pg_apply(PgConn *c, const PgApplyRequest *req, PgFailure *failure, PgApplyEnd *end,
                   PfErr *err);

/* mark-applied and repair: record rows for migrations without running them (drizzle's rows,
 * the ledger created first as drizzle creates it), and rewrite stored hashes, in one
 * transaction (two round trips: the changes, then COMMIT once every UPDATE met its row with
 * the old hash, with the ledger read back and the unlock; else ROLLBACK, the same read and
 * unlock, and PF_ERR_PG). */
typedef struct PgLedgerFix {
    const CbMigration *migration; /* its hash is written */
    int64_t ledger_id;
    const char *old_hash; /* what the row must still hold (NULL: a NULL hash) */
} PgLedgerFix;

typedef struct PgLedgerWrite {
    const char *schema;
    const char *table;
    bool create_ledger;
    bool ledger_has_name;
    const CbMigration *const *record;
    size_t n_record;
    const PgLedgerFix *fix;
    size_t n_fix;
    bool unlock; /* release the advisory lock lock_key with the read-back (as PgApplyRequest) */
    int64_t lock_key;
} PgLedgerWrite;

/* *end: the ledger read back with the COMMIT (or, after a failure, with the ROLLBACK), and
 * whether the lock went with it, as pg_apply's. Free with pg_apply_end_clear. */
PfErrCode pg_ledger_write(PgConn *c, const PgLedgerWrite *w, PgApplyEnd *end, PfErr *err);

PfErrCode pg_lock_release(PgConn *c, int64_t lock_key, PfErr *err);

/* A wave's health check (docs/waves.md): run sql, which must be ONE statement returning one row
 * of one boolean column, in a read-only transaction that is rolled back (three round trips),
 * under statement_timeout_ms (0 = none). PF_OK sets *ok to its value; PF_ERR_PG when the query
 * failed or its answer is not one boolean (null included), the message saying which;
 * PF_ERR_UNREACHABLE when the connection broke. */
PfErrCode pg_check_query(PgConn *c, const char *sql, int64_t statement_timeout_ms, bool *ok,
                         PfErr *err);

/* Rollback (docs/rollback.md): undo migrations with their down files and delete their ledger
 * rows, newest first, in one transaction. */
typedef struct PgRollbackStep {
    const char *tag;     /* the migration, for the failure */
    int64_t ledger_id;   /* its ledger row */
    const char *hash;    /* what that row must still hold (NULL: a NULL hash) */
    char *const *chunks; /* the down file's statements */
    size_t n_chunks;
} PgRollbackStep;

typedef struct PgRollbackRequest {
    const char *schema;
    const char *table;
    const PgRollbackStep *steps; /* in the order they run: newest migration first */
    size_t n;
    int64_t lock_timeout_ms; /* 0 = none */
    int64_t statement_timeout_ms;
    const atomic_int *interrupted; /* stop before the next statement once set; may be NULL */
    bool unlock;                   /* release lock_key at the end, as PgApplyRequest */
    int64_t lock_key;
} PgRollbackRequest;

/* BEGIN; every statement of each step's down file, then the DELETE of its ledger row (which
 * must find the row with its hash: else the rollback fails); COMMIT. One round trip for the
 * BEGIN, one per statement and per DELETE, one for the COMMIT; then the ledger is read back
 * (and the lock released) in one more. On a failure (PF_ERR_PG; PF_ERR_UNREACHABLE when the
 * connection broke) everything is rolled back, *failure says which step (tag) and statement
 * (0: the ledger row) failed and why. *end: the ledger as it is afterwards. Free failure with
 * pg_failure_clear, end with pg_apply_end_clear. */
PfErrCode pg_rollback(PgConn *c, const PgRollbackRequest *req, PgFailure *failure, PgApplyEnd *end,
                      PfErr *err);

/* Backups (docs/backups.md, `when: non-empty`): whether the database holds no table, view,
 * sequence or other relation outside the system schemas (with schema: inside that schema).
 * One round trip; PF_ERR_PG or PF_ERR_UNREACHABLE on failure. */
PfErrCode pg_database_empty(PgConn *c, const char *schema, bool *empty, PfErr *err);

void pg_identity_clear(PgIdentity *id);
void pg_lock_holder_clear(PgLockHolder *h);
void pg_failure_clear(PgFailure *f);

/* ---- schema drift (docs/drift.md; catalog.c) ---- */

/* pg_conn_open, connecting to database dbname of the server dsn names (the scratch databases). */
PfErrCode pg_conn_open_db(const char *name, const char *dsn, const char *dbname,
                          const InvSettings *settings, PgConn **out, PfErr *err);

/* What pg_catalog_snapshot reads: the schemas schemas[0..n_schemas), each printed under its
 * own search_path paths[i] (one schema: names in it print unqualified), so that the tenant
 * schemas of a database are read in one query; or, when n_schemas is 0, every schema but
 * PostgreSQL's own and exclude_schema (may be NULL), all printed under path. Never a ledger
 * ledger_schemas[i].ledger_tables[i] (i < n_ledgers), nor its sequence. */
typedef struct PgCatalogScope {
    const char *const *schemas;
    const char *const *paths;
    size_t n_schemas;
    const char *exclude_schema;
    const char *path;
    const char *const *ledger_schemas;
    const char *const *ledger_tables;
    size_t n_ledgers;
} PgCatalogScope;

/* The catalog of the connected database as normalised objects (plan/drift.h), sorted, in one
 * round trip, in a read-only transaction. Free *out with drift_snapshot_clear (empty on
 * failure: PF_ERR_PG, or PF_ERR_UNREACHABLE when the connection broke). */
PfErrCode pg_catalog_snapshot(PgConn *c, const PgCatalogScope *scope, DriftSnapshot *out,
                              PfErr *err);

/* CREATE DATABASE dbname / DROP DATABASE IF EXISTS dbname WITH (FORCE) (PostgreSQL 13+) on the
 * server admin is connected to. */
PfErrCode pg_scratch_create(PgConn *admin, const char *dbname, PfErr *err);
PfErrCode pg_scratch_drop(PgConn *admin, const char *dbname, PfErr *err);

/* libpq's version, for `pgfleet version`. */
int pg_libpq_version(void);

#endif
