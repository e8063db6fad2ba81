/*
 * The statement model: one chunk of migration SQL (the text between drizzle's
 * "--> statement-breakpoint" markers: any number of statements, comments, BEGIN ATOMIC and
 * dollar-quoted bodies) read by PostgreSQL's own parser (libpg_query, the PostgreSQL 15
 * grammar) into its statements, each classified from its parse tree, never from token
 * patterns: transaction control, what cannot run inside a transaction block, the objects
 * created, dropped, renamed and altered, ALTER TABLE's subcommands, enum values added, string
 * constants and what they are compared with, cast to or written into, the rows written, and
 * routines with their bodies (BEGIN ATOMIC and LANGUAGE sql bodies are read as statements too).
 *
 * Only src/sql/ includes <pg_query.h>: nothing of libpg_query's shows here.
 *
 * Memory: sql_parse returns a SqlChunk that owns everything reachable from it (one arena);
 * sql_chunk_free frees it all. Nothing inside is freed on its own, and every pointer stays
 * valid until sql_chunk_free. Time and memory grow linearly with the chunk.
 *
 * Threads: sql_parse may run on any thread (libpg_query keeps its parser state per thread),
 * but each thread that parses keeps libpg_query's memory context until it exits and takes a
 * pthread key that libpg_query 15-4.0.0 never gives back: after about a thousand such threads
 * no key is left for anyone in the process. Parse where the migrations folder is read (the
 * main thread), not in per-target workers. pg_query_exit is never called: it cannot be undone
 * in a thread that parses again, and LeakSanitizer finds the main thread's context reachable.
 */
#ifndef PF_SQL_H
#define PF_SQL_H

#include <stdbool.h>
#include <stddef.h>

/* A place in the chunk: byte offset, 1-based line (lines end at \n) and 1-based column
 * (counted in characters, not bytes), as src/codebase counts them. */
typedef struct SqlPos {
    size_t offset;
    size_t line, column;
} SqlPos;

/* Why the parser refused some text. */
typedef struct SqlError {
    const char *message; /* PostgreSQL's, e.g. "syntax error at or near \"\\\"" */
    SqlPos pos;          /* where it stopped (the end of the text for "at end of input") */
} SqlError;

/* A name as the parser resolved it: unquoted identifiers folded to lowercase, quoted ones as
 * written. schema is NULL when the name is unqualified (the search_path decides); a database
 * qualifier (db.schema.name) is dropped. */
typedef struct SqlName {
    const char *schema;
    const char *name;
} SqlName;

/* A type as written. The grammar maps the SQL standard names to PostgreSQL's: int is
 * pg_catalog.int4, varchar pg_catalog.varchar, bigint pg_catalog.int8, serial stays serial. */
typedef struct SqlType {
    const char *schema; /* NULL when unqualified */
    const char *name;   /* last component: "int4", "text", "user_role"; NULL when no type */
    const char *text;   /* for messages: "varchar(20)[]", "public.user_role" */
    bool array;
} SqlType;

/* What kind of statement, from its parse node (SqlStatement.node names it exactly). */
typedef enum {
    SQL_KIND_UNPARSED,         /* the parser refused it: SqlStatement.error */
    SQL_KIND_TRANSACTION,      /* BEGIN, COMMIT, ROLLBACK, SAVEPOINT...: SqlStatement.tx */
    SQL_KIND_CREATE_TABLE,     /* CREATE [FOREIGN] TABLE, PARTITION OF, CREATE TABLE AS */
    SQL_KIND_CREATE_VIEW,      /* CREATE [MATERIALIZED] VIEW */
    SQL_KIND_CREATE_SEQUENCE,  /* CREATE SEQUENCE */
    SQL_KIND_CREATE_INDEX,     /* CREATE INDEX */
    SQL_KIND_CREATE_TYPE,      /* CREATE TYPE (enum, composite, range, base, shell), DOMAIN */
    SQL_KIND_CREATE_SCHEMA,    /* CREATE SCHEMA (its elements' objects are in its list) */
    SQL_KIND_CREATE_EXTENSION, /* CREATE EXTENSION */
    SQL_KIND_CREATE_FUNCTION,  /* CREATE FUNCTION / PROCEDURE: SqlStatement.routine */
    SQL_KIND_CREATE_TRIGGER,   /* CREATE [CONSTRAINT] TRIGGER */
    SQL_KIND_CREATE_POLICY,    /* CREATE POLICY */
    SQL_KIND_ALTER_TABLE,      /* ALTER TABLE / INDEX / VIEW / SEQUENCE ...: SqlStatement.alters */
    SQL_KIND_ALTER_TYPE,       /* ALTER TYPE ... ADD / RENAME VALUE: SqlStatement.enum_values */
    SQL_KIND_ALTER_POLICY,     /* ALTER POLICY */
    SQL_KIND_ALTER_OTHER,      /* other ALTER ...: SET SCHEMA, OWNER TO, ALTER DATABASE... */
    SQL_KIND_RENAME,           /* ALTER ... RENAME [COLUMN | CONSTRAINT] ... TO */
    SQL_KIND_DROP,             /* DROP of any object, DROP DATABASE / TABLESPACE */
    SQL_KIND_SELECT,           /* SELECT, VALUES, TABLE (SELECT ... INTO creates a table) */
    SQL_KIND_INSERT,
    SQL_KIND_UPDATE,
    SQL_KIND_DELETE,
    SQL_KIND_MERGE,
    SQL_KIND_TRUNCATE,
    SQL_KIND_LOCK,
    SQL_KIND_COPY,
    SQL_KIND_CALL,        /* CALL: SqlStatement.call */
    SQL_KIND_DO,          /* DO: SqlStatement.routine */
    SQL_KIND_MAINTENANCE, /* VACUUM, ANALYZE, REINDEX, CLUSTER, CHECKPOINT, REFRESH MATERIALIZED
                             VIEW */
    SQL_KIND_OTHER,       /* anything else (GRANT, COMMENT, SET...): SqlStatement.node */
} SqlKind;

/* Transaction control (TransactionStmt). BEGIN and START TRANSACTION are both SQL_TX_BEGIN,
 * COMMIT and END both SQL_TX_COMMIT, ROLLBACK and ABORT both SQL_TX_ROLLBACK. */
typedef enum {
    SQL_TX_NONE,
    SQL_TX_BEGIN,
    SQL_TX_COMMIT,
    SQL_TX_ROLLBACK,
    SQL_TX_SAVEPOINT,
    SQL_TX_RELEASE,
    SQL_TX_ROLLBACK_TO, /* ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] s */
    SQL_TX_PREPARE,     /* PREPARE TRANSACTION 'id' */
    SQL_TX_COMMIT_PREPARED,
    SQL_TX_ROLLBACK_PREPARED,
} SqlTx;

/* Why a statement cannot run inside a transaction block: the PostgreSQL 15 callers of
 * PreventInTransactionBlock, as far as the statement's text decides. Only the catalog knows
 * the rest: CLUSTER and REINDEX of a partitioned table are not flagged, and DROP SUBSCRIPTION
 * is flagged although one without a replication slot runs anywhere. */
typedef enum {
    SQL_NONTX_NONE,
    SQL_NONTX_CREATE_INDEX_CONCURRENTLY,
    SQL_NONTX_DROP_INDEX_CONCURRENTLY,
    SQL_NONTX_REINDEX_CONCURRENTLY,
    SQL_NONTX_REINDEX_SCHEMA,
    SQL_NONTX_REINDEX_DATABASE,
    SQL_NONTX_REINDEX_SYSTEM,
    SQL_NONTX_VACUUM,  /* VACUUM; ANALYZE alone runs anywhere */
    SQL_NONTX_CLUSTER, /* CLUSTER without a table: every clustered table */
    SQL_NONTX_CREATE_DATABASE,
    SQL_NONTX_DROP_DATABASE,
    SQL_NONTX_ALTER_DATABASE_SET_TABLESPACE,
    SQL_NONTX_CREATE_TABLESPACE,
    SQL_NONTX_DROP_TABLESPACE,
    SQL_NONTX_ALTER_SYSTEM,
    SQL_NONTX_DETACH_PARTITION_CONCURRENTLY,
    SQL_NONTX_DISCARD_ALL,
    SQL_NONTX_COMMIT_PREPARED,
    SQL_NONTX_ROLLBACK_PREPARED,
    SQL_NONTX_CREATE_SUBSCRIPTION,  /* unless WITH (create_slot = false) or (connect = false) */
    SQL_NONTX_ALTER_SUBSCRIPTION,   /* REFRESH PUBLICATION, or SET/ADD/DROP PUBLICATION unless
                                       WITH (refresh = false) */
    SQL_NONTX_DROP_SUBSCRIPTION,    /* when it has a replication slot (the usual case) */
    SQL_NONTX_ALTER_TYPE_ADD_VALUE, /* refused before PostgreSQL 12 only; from 12 on it runs,
                                       but the new value cannot be used before the commit */
} SqlNonTx;

/* What a statement does to an object. */
typedef enum {
    SQL_ACT_CREATE,
    SQL_ACT_DROP,
    SQL_ACT_RENAME,     /* SqlObject.new_name */
    SQL_ACT_SET_SCHEMA, /* SqlObject.new_name is the new schema */
    SQL_ACT_ALTER,      /* ALTER TABLE's table, ALTER POLICY's policy, ALTER TYPE's type... */
    SQL_ACT_TRUNCATE,
    SQL_ACT_LOCK,
    SQL_ACT_REFERENCE, /* named without being changed: a foreign key's table, PARTITION OF's and
                          LIKE's tables, an index's or trigger's or policy's table */
} SqlAction;

typedef enum {
    SQL_OBJ_TABLE,
    SQL_OBJ_FOREIGN_TABLE,
    SQL_OBJ_VIEW,
    SQL_OBJ_MATVIEW,
    SQL_OBJ_SEQUENCE,
    SQL_OBJ_INDEX,
    SQL_OBJ_COLUMN,     /* SqlObject.table is its table */
    SQL_OBJ_CONSTRAINT, /* SqlObject.table is its table (or domain) */
    SQL_OBJ_TYPE,       /* enum, composite, range, base: SqlObject.type_form */
    SQL_OBJ_DOMAIN,
    SQL_OBJ_SCHEMA,
    SQL_OBJ_FUNCTION,
    SQL_OBJ_PROCEDURE,
    SQL_OBJ_TRIGGER, /* SqlObject.table is its table */
    SQL_OBJ_POLICY,  /* SqlObject.table is its table */
    SQL_OBJ_EXTENSION,
    SQL_OBJ_DATABASE,
    SQL_OBJ_TABLESPACE,
    SQL_OBJ_OTHER, /* roles, rules, operators...: SqlObject.what says which */
} SqlObjKind;

typedef enum {
    SQL_TYPE_UNKNOWN, /* a DROP TYPE or rename: the statement does not say */
    SQL_TYPE_ENUM,
    SQL_TYPE_COMPOSITE,
    SQL_TYPE_RANGE,
    SQL_TYPE_BASE, /* CREATE TYPE name (INPUT = ...), or the shell CREATE TYPE name */
} SqlTypeForm;

/* A column's default, as written. */
typedef enum {
    SQL_DEFAULT_NONE,
    SQL_DEFAULT_NULL,       /* DEFAULT NULL: the same as none */
    SQL_DEFAULT_CONSTANT,   /* a literal, or a cast of one ('x'::t, -1, true) */
    SQL_DEFAULT_EXPRESSION, /* anything else: now(), nextval(...), a + 1 */
} SqlDefault;

/* A column defined by CREATE TABLE, CREATE TYPE ... AS (...) or ALTER TABLE ... ADD COLUMN. */
typedef struct SqlColumn {
    const char *name;
    SqlType type;
    bool not_null;    /* NOT NULL or PRIMARY KEY */
    bool primary_key; /* PRIMARY KEY on the column itself */
    SqlDefault default_kind;
    /* Each row gets its own value, so adding the column rewrites the table: a default that
     * calls random, gen_random_uuid, uuidv4, uuidv7, uuid_generate_v1/v1mc/v4,
     * clock_timestamp, timeofday, nextval or setseed, a serial type, an identity or a stored
     * generated column. A default calling another function may be volatile too: only the
     * catalog knows. */
    bool volatile_default;
    bool serial;    /* serial, bigserial, smallserial, serial2/4/8 */
    bool identity;  /* GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY */
    bool generated; /* GENERATED ALWAYS AS (expr) STORED */
} SqlColumn;

typedef enum {
    SQL_CON_CHECK,
    SQL_CON_NOT_NULL,
    SQL_CON_PRIMARY_KEY,
    SQL_CON_UNIQUE,
    SQL_CON_FOREIGN_KEY,
    SQL_CON_EXCLUSION,
    SQL_CON_OTHER,
} SqlConKind;

typedef struct SqlConstraint {
    SqlConKind kind;
    const char *name;   /* NULL when the server names it */
    bool not_valid;     /* NOT VALID: existing rows are not checked */
    SqlName references; /* foreign keys: the referenced table */
    const char *column; /* a column constraint: its column; NULL for a table constraint */
} SqlConstraint;

/* An object the statement creates, drops, renames, alters, truncates, locks or names, in the
 * order the statement names them: CREATE TABLE gives the table, then each element in turn (a
 * column, followed by its CHECK / UNIQUE / PRIMARY KEY / REFERENCES constraints; a table
 * constraint), each followed by a REFERENCE to a foreign key's table, then the tables of
 * INHERITS and PARTITION OF. */
typedef struct SqlObject {
    SqlAction action;
    SqlObjKind kind;
    const char *what;     /* the object kind in words: "table", "materialized view", "column" */
    SqlName name;         /* name.name is NULL when the server picks it: an index or constraint
                             without a name, CREATE SCHEMA AUTHORIZATION CURRENT_USER */
    SqlName table;        /* columns, constraints, triggers, policies, indexes: their table */
    const char *new_name; /* RENAME: the new name; SET SCHEMA: the new schema */
    bool if_not_exists;   /* CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT EXISTS */
    bool or_replace;      /* CREATE OR REPLACE */
    bool if_exists;       /* DROP / ALTER ... IF EXISTS */
    bool cascade;         /* DROP ... CASCADE */
    bool temporary;       /* CREATE TEMP ...: gone with the session */
    bool unlogged;
    bool concurrently;         /* CREATE / DROP INDEX CONCURRENTLY */
    SqlTypeForm type_form;     /* SQL_OBJ_TYPE */
    const char *const *labels; /* CREATE TYPE ... AS ENUM: its values in order */
    size_t n_labels;
    const SqlColumn *column;         /* a column created: its definition */
    const SqlConstraint *constraint; /* a constraint created */
} SqlObject;

/* One subcommand of ALTER TABLE (AlterTableStmt; also ALTER INDEX, VIEW, TYPE ... ADD
 * ATTRIBUTE). */
typedef enum {
    SQL_ALTER_ADD_COLUMN,
    SQL_ALTER_DROP_COLUMN,
    SQL_ALTER_COLUMN_TYPE, /* ALTER COLUMN ... [SET DATA] TYPE */
    SQL_ALTER_SET_NOT_NULL,
    SQL_ALTER_DROP_NOT_NULL,
    SQL_ALTER_SET_DEFAULT,
    SQL_ALTER_DROP_DEFAULT,
    SQL_ALTER_ADD_CONSTRAINT,
    SQL_ALTER_DROP_CONSTRAINT,
    SQL_ALTER_VALIDATE_CONSTRAINT,
    SQL_ALTER_ATTACH_PARTITION,
    SQL_ALTER_DETACH_PARTITION,
    SQL_ALTER_ENABLE_RLS, /* ENABLE / FORCE ROW LEVEL SECURITY */
    SQL_ALTER_DISABLE_RLS,
    SQL_ALTER_OTHER, /* SqlAlter.subtype names it */
} SqlAlterKind;

typedef struct SqlAlter {
    SqlAlterKind kind;
    const char *subtype;     /* the parse tree's AlterTableType: "AT_AddColumn", "AT_SetStorage" */
    const char *column;      /* column subcommands: the column */
    const SqlColumn *def;    /* ADD COLUMN: the column; COLUMN TYPE: def->type is the new type */
    bool using_expr;         /* COLUMN TYPE ... USING expr */
    SqlDefault default_kind; /* SET DEFAULT: what it sets */
    const SqlConstraint *constraint; /* ADD CONSTRAINT */
    const char *name;                /* DROP / VALIDATE CONSTRAINT: the constraint */
    SqlName partition;               /* ATTACH / DETACH PARTITION */
    bool missing_ok;                 /* ADD COLUMN IF NOT EXISTS, DROP ... IF EXISTS */
    bool cascade;
    bool concurrently; /* DETACH PARTITION ... CONCURRENTLY */
    SqlPos pos; /* its first token when the statement has several subcommands (ADD COLUMN ...,
                   ALTER COLUMN ...); the statement's pos when it has one, or when the tokens
                   cannot tell (a body parsed from a '...' string) */
} SqlAlter;

/* ALTER TYPE ... ADD VALUE, or RENAME VALUE (old_value set). */
typedef struct SqlEnumValue {
    SqlName type;
    const char *value; /* the value added, or the new name */
    const char *old_value;
    const char *neighbor; /* BEFORE / AFTER this value; NULL at the end */
    bool after;
    bool if_not_exists;
} SqlEnumValue;

/* Where a string constant stands, so that a rule can tell 'x'::my_enum (a use of the enum's
 * value) from my_col::text <> 'x' (a comparison with text). */
typedef enum {
    SQL_STR_CAST,            /* 'x'::t, CAST('x' AS t), t 'x': .type (the outermost cast) */
    SQL_STR_COMPARED_CAST,   /* compared with an expression cast to .type: role::text <> 'x' */
    SQL_STR_COMPARED_COLUMN, /* compared with a column: role = 'x', role IN ('x'): .column */
    SQL_STR_ASSIGNED,        /* written to .column: UPDATE SET role = 'x', INSERT (role) VALUES */
    SQL_STR_DEFAULT,         /* .column's default (.type: the column's type when given) */
    SQL_STR_OTHER,           /* anywhere else: a function's argument, a select list... */
} SqlStrUse;

typedef struct SqlString {
    const char *value; /* unescaped */
    SqlStrUse use;
    SqlType type;       /* CAST, COMPARED_CAST, DEFAULT; all NULL otherwise */
    const char *column; /* COMPARED_COLUMN, ASSIGNED, DEFAULT: the column's (last) name */
    SqlPos pos;
} SqlString;

typedef enum { SQL_DML_INSERT, SQL_DML_UPDATE, SQL_DML_DELETE, SQL_DML_MERGE } SqlDmlKind;

/* Rows written: the statement's own, or one in a WITH clause. */
typedef struct SqlDml {
    SqlDmlKind kind;
    SqlName table;
    const char *const *columns; /* UPDATE: the columns SET; INSERT: its column list (none: all) */
    size_t n_columns;
    bool has_where; /* UPDATE / DELETE with WHERE */
} SqlDml;

typedef enum { SQL_ROUTINE_FUNCTION, SQL_ROUTINE_PROCEDURE, SQL_ROUTINE_DO } SqlRoutineKind;

typedef enum {
    SQL_BODY_NONE,   /* no body here (a C function's 'obj', 'sym') */
    SQL_BODY_ATOMIC, /* BEGIN ATOMIC ... END or RETURN expr: parsed with the statement */
    SQL_BODY_STRING, /* AS '...' or $$...$$ */
} SqlBodyForm;

typedef struct SqlRoutine {
    SqlRoutineKind kind;
    SqlName name; /* NULL for DO */
    bool or_replace;
    const char *language; /* lowercase; "sql" for a BEGIN ATOMIC body, "plpgsql" for DO when
                             not given; NULL when not given otherwise */
    SqlBodyForm body_form;
    SqlPos body_pos; /* where the body starts (for SQL_BODY_STRING, its quote) */
    /* Whether body/n_body hold the body's statements: true for BEGIN ATOMIC, and for a string
     * body in LANGUAGE sql that parses. False for other languages (plpgsql bodies are not
     * parsed) and for SQL the parser refuses (body_error). */
    bool body_parsed;
    const SqlError *body_error;
    /* The body's statements, classified as any statement, with in_body set. Their positions
     * are exact for BEGIN ATOMIC and dollar-quoted bodies; in a body written as a '...'
     * string they are all the string's (its quotes and escapes shift the text). */
    const struct SqlStatement *body;
    size_t n_body;
} SqlRoutine;

typedef struct SqlStatement {
    SqlKind kind;
    const char *node; /* the parse tree's node: "CreateStmt", "AlterTableStmt"; NULL unparsed */
    SqlPos pos;       /* its first token (comments before it left out) */
    size_t len;       /* bytes from pos.offset to the end of its last token, ';' left out */
    const SqlError *error; /* SQL_KIND_UNPARSED: why */
    bool in_body;          /* a statement of a routine's body, not of the chunk */
    SqlTx tx;
    bool tx_chain; /* COMMIT / ROLLBACK AND CHAIN */
    SqlNonTx nontx;
    SqlName relation; /* the relation it works on: CREATE TABLE / VIEW's, ALTER TABLE's and
                         RENAME's, an index's, trigger's or policy's table, DML's, COPY's,
                         REINDEX's and CLUSTER's; NULL name otherwise */
    const SqlObject *objects;
    size_t n_objects;
    const SqlAlter *alters;
    size_t n_alters;
    const SqlEnumValue *enum_values;
    size_t n_enum_values;
    const SqlString *strings; /* in the order the parse tree holds them */
    size_t n_strings;
    const SqlDml *dml;
    size_t n_dml;
    SqlName call;              /* CALL: the procedure */
    const SqlRoutine *routine; /* CREATE FUNCTION / PROCEDURE and DO; NULL otherwise */
} SqlStatement;

/* A parsed chunk. When the parser refused some of it, parsed is false and error holds its
 * first refusal; the statements are still listed (see sql_parse). */
typedef struct SqlChunk {
    bool parsed;
    const SqlError *error;     /* NULL when parsed */
    const SqlStatement *stmts; /* top-level statements in order; comments and empty
                                  statements (";;") are none */
    size_t n;
    struct SqlArena *arena; /* everything above lives here */
} SqlChunk;

/* Parse text[0..len) (a chunk: it need not be NUL-terminated). Never fails: what the parser
 * refuses is reported in the result. When the whole chunk does not parse, it is cut at the
 * semicolons PostgreSQL's scanner finds outside parentheses and BEGIN ATOMIC ... END bodies,
 * and each piece is parsed on its own: pieces that parse get their model, one that does not
 * is a SQL_KIND_UNPARSED statement with its own error. The cut is the scanner's guess, not
 * the grammar's (a broken BEGIN ATOMIC body can be cut wrongly), so a caller that needs
 * certainty treats a chunk that is not parsed as a whole. After a string, quoted identifier,
 * dollar-quoted body or comment that is never closed, the rest of the chunk is one unparsed
 * statement; a NUL byte ends what can be parsed the same way. The caller frees the result
 * with sql_chunk_free. */
SqlChunk *sql_parse(const char *text, size_t len);

/* Frees the chunk and everything in it. Accepts NULL. */
void sql_chunk_free(SqlChunk *chunk);

/* Whether the statement ends the transaction it runs in: COMMIT, ROLLBACK, PREPARE
 * TRANSACTION, with or without AND CHAIN. SAVEPOINT, RELEASE and ROLLBACK TO stay inside it;
 * COMMIT / ROLLBACK PREPARED are refused inside one (nontx). */
bool sql_ends_transaction(const SqlStatement *st);

/* Whether PostgreSQL of this version (server_version_num, e.g. 150004) refuses the statement
 * inside a transaction block. */
bool sql_nontx_refused(SqlNonTx why, int server_version_num);

/* Names for messages and tests (static strings). */
const char *sql_kind_name(SqlKind kind);    /* "create_table" */
const char *sql_nontx_name(SqlNonTx why);   /* "CREATE INDEX CONCURRENTLY"; "" for NONE */
const char *sql_tx_name(SqlTx tx);          /* "commit"; "" for NONE */
const char *sql_action_name(SqlAction a);   /* "create" */
const char *sql_alter_name(SqlAlterKind k); /* "add_column" */
const char *sql_str_use_name(SqlStrUse u);  /* "compared_cast" */

#endif
