/*
 * Preflight: what a target's pending migrations will meet on the server, found read-only
 * before anything runs (`plan`, `apply --dry-run`; docs/preflight.md). Two pure halves around
 * one catalog query (pg_preflight, src/pg/preflight.c):
 *
 *   preflight_prepare   the folder's migrations -> what each statement means to preflight,
 *                       read once per run from the statement models (src/sql/sql.h) that
 *                       the codebase reader made: the same for every target;
 *   preflight_analyze   a target's pending migrations -> checks: the statements that fail for
 *                       reasons only the server knows (ADD COLUMN ... NOT NULL without a default
 *                       on a table with rows, SET NOT NULL over NULLs, CREATE EXTENSION without
 *                       the privilege), and the tables the migrations touch (for the lock
 *                       check), named as the target names them (tenant schemas);
 *   preflight_warnings  checks + the server's answers -> PlanWarnings in the target's plan.
 *
 * Statements inside BEGIN ATOMIC and LANGUAGE sql bodies are read too: defining a routine
 * touches the tables its body names, and a CALL of a procedure the folder defines runs its
 * body's statements (an UPDATE there is a backfill). A chunk PostgreSQL's parser refuses is
 * read with the codebase's lexer (sqllex.h) and a few token rules instead, and the plan says
 * so (preflight_notes).
 */
#ifndef PF_PLAN_PREFLIGHT_H
#define PF_PLAN_PREFLIGHT_H

#include "codebase/codebase.h"
#include "plan/plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    PREFLIGHT_ADD_NOT_NULL,     /* ALTER TABLE t ADD [COLUMN] c ... NOT NULL, no default */
    PREFLIGHT_SET_NOT_NULL,     /* ALTER TABLE t ALTER [COLUMN] c SET NOT NULL */
    PREFLIGHT_CREATE_EXTENSION, /* CREATE EXTENSION [IF NOT EXISTS] e */
} PreflightCheckKind;

typedef struct PreflightCheck {
    PreflightCheckKind kind;
    const char *migration; /* tag, borrowed from the codebase */
    int statement;         /* 1-based statement (chunk) of the migration */
    char *schema;          /* as written; NULL when the name is unqualified (search_path) */
    char *name;            /* the table, or the extension */
    char *column;          /* NOT NULL checks: the column; NULL otherwise */
} PreflightCheck;

/* A table some pending statement touches (ALTER, DROP, TRUNCATE, CREATE INDEX ON, REFERENCES,
 * INSERT, UPDATE, DELETE, LOCK, CREATE TRIGGER/POLICY ... ON), once each. */
typedef struct PreflightTable {
    char *schema; /* as written; NULL when unqualified (resolved with the search_path) */
    char *name;
    const char *migration; /* the first pending statement touching it (tag borrowed) */
    int statement;
} PreflightTable;

/* A chunk the parser refused, read with the token rules instead. */
typedef struct PreflightUnparsed {
    const char *migration; /* tag, borrowed from the codebase */
    int statement;
    char *why; /* the parser's error and where: "syntax error at or near ... at line 2, column 1" */
} PreflightUnparsed;

/* ALTER TYPE ... ADD VALUE that runs inside a transaction block (drizzle's, or an implicit
 * one: a chunk of several statements): refused by servers before PostgreSQL 12. */
typedef struct PreflightAddValue {
    const char *migration; /* tag, borrowed from the codebase */
    int statement;
    char *type; /* as the target names it: "public.status", "status" */
    char *value;
} PreflightAddValue;

typedef struct Preflight {
    PreflightCheck *checks; /* in run order */
    size_t n_checks;
    PreflightTable *tables; /* in order of first touch */
    size_t n_tables;
    PreflightUnparsed *unparsed; /* in run order */
    size_t n_unparsed;
    PreflightAddValue *add_values; /* in run order */
    size_t n_add_values;
} Preflight;

/* What the migrations' statements mean to preflight, for any target. */
typedef struct PreflightPrep PreflightPrep;

/* Read migrations[0..n) (a codebase's, in run order) from their models (m->parsed); a
 * migration without models is parsed here, so call it where the folder is read, not on
 * worker threads (sql.h). Never fails; free with preflight_prep_free (accepts NULL). The
 * result borrows nothing: it may outlive the migrations. */
PreflightPrep *preflight_prepare(const CbMigration *migrations, size_t n);
void preflight_prep_free(PreflightPrep *p);

/* A schema the target names differently: a tenant's schema_map entry (docs/tenants.md). */
typedef struct PreflightRename {
    const char *from, *to;
} PreflightRename;

/* Find the checks and touched tables of the pending migrations: pending[0..n) are indexes,
 * in run order, into the migrations prep was made of (migrations: the same array, for the
 * tags and where each ends drizzle's transaction). one_transaction: the target runs them all
 * in one transaction (transaction: all), so a migration after one that ends it runs outside
 * a transaction block. Qualified names whose schema is a renames[].from are named with its .to. A
 * check whose subject an earlier pending statement changes is left out: a NOT NULL column added to
 * a table created, dropped, renamed, truncated or emptied before it; SET NOT NULL on a column
 * added before it or on a table updated (backfilled) or deleted from before it; an extension
 * already created before it. Pure and thread-safe (prep is only read). Never fails; free with
 * preflight_clear. */
void preflight_analyze(const PreflightPrep *prep, const CbMigration *migrations,
                       const size_t *pending, size_t n, bool one_transaction,
                       const PreflightRename *renames, size_t n_renames, Preflight *out);
void preflight_clear(Preflight *p);

/* What is known without the server's catalog: one "unparsed" warning per chunk read with the
 * token rules and, when the server's major version (0: unknown) is below 12, one
 * "add_value_in_transaction" warning per enum value added inside a transaction block,
 * appended to plan->warnings. */
void preflight_notes(const Preflight *p, int server_major, Plan *plan);

/* The server's answer for one check. */
typedef struct PreflightFact {
    bool exists;          /* NOT NULL: the table exists; EXTENSION: it is available */
    bool column_exists;   /* NOT NULL: the column exists already */
    bool not_null;        /* SET NOT NULL: the column is NOT NULL already */
    bool readable;        /* NOT NULL: the role may read the table (else rows are unknown) */
    bool hit;             /* ADD: the table has rows; SET: the column holds NULLs */
    bool installed;       /* EXTENSION: installed in this database */
    bool superuser;       /* EXTENSION: the role is a superuser */
    bool trusted;         /* EXTENSION: its default version is trusted (PostgreSQL 13+) */
    bool needs_superuser; /* EXTENSION: its control file says superuser (the default) */
    bool can_create;      /* EXTENSION: the role has CREATE on the database */
} PreflightFact;

/* Another session: a long transaction, or one holding (or waiting for) a lock. */
typedef struct PreflightSession {
    int pid; /* 0 for a prepared transaction */
    char *user;
    char *application_name;
    char *client_addr;  /* "local" for a Unix socket, "" when hidden or none */
    char *state;        /* pg_stat_activity.state, "" when hidden */
    int64_t xact_age_s; /* age of its transaction (or session); -1 when hidden */
    char *mode;         /* locks: "AccessShareLock", ...; NULL otherwise */
    bool granted;       /* locks: held (true) or waited for (false) */
    size_t table;       /* locks: index into Preflight.tables */
} PreflightSession;

typedef struct PreflightFacts {
    char *user;                   /* current_user */
    char *database;               /* current_database() */
    PreflightFact *facts;         /* one per check, same order */
    PreflightSession *long_xacts; /* transactions older than the threshold, oldest first */
    size_t n_long_xacts;
    PreflightSession *locks; /* by table, then pid */
    size_t n_locks;
} PreflightFacts;

void preflight_facts_clear(PreflightFacts *f);

/* Turn the answers into warnings appended to plan->warnings: one per failing check, one for
 * the long transactions (when any; long_xact_ms only words the message), one per touched table
 * that other sessions lock. Pure; never fails. */
void preflight_warnings(const Preflight *p, const PreflightFacts *f, int64_t long_xact_ms,
                        Plan *plan);

/* A "preflight" warning: the checks could not run (why: one line, e.g. the server's error). */
void preflight_failed(Plan *plan, const char *why);

#endif
