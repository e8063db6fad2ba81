/*
 * The codebase: a Drizzle migrations folder read exactly as drizzle-orm's migrator reads it.
 *
 * Two layouts, detected automatically:
 *   CB_LAYOUT_JOURNAL  drizzle-kit 0.x: meta/_journal.json + <tag>.sql, run in journal order.
 *   CB_LAYOUT_FOLDERS  drizzle-kit v1: <YYYYMMDDHHMMSS>_<name>/migration.sql, no journal,
 *                      `when` = Date.UTC of the 14-digit prefix, ordered as drizzle orders it.
 *
 * The hash is drizzle's: sha256 hex of the file decoded as UTF-8 (invalid sequences become
 * U+FFFD, as Node's Buffer.toString() does) and re-encoded. The SQL kept for execution is that
 * same decoded text, split on the literal "--> statement-breakpoint" exactly as drizzle splits.
 */
#ifndef PF_CODEBASE_H
#define PF_CODEBASE_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CB_LAYOUT_JOURNAL, CB_LAYOUT_FOLDERS } CbLayout;

typedef struct CbMigration {
    char *tag;     /* journal tag, or the v1 folder name ("20250101120000_init") */
    int64_t when;  /* ms since the epoch: the journal's `when`, or the v1 prefix */
    char hash[65]; /* lowercase sha256 hex, as drizzle-orm computes it */
    char *path;    /* the .sql file, for messages */
    char *sql;     /* decoded text (NUL-terminated, none inside; may contain U+FFFD) */
    size_t sql_len;
    char **chunks; /* sql split on "--> statement-breakpoint"; chunks[i] NUL-terminated */
    size_t n_chunks;
    /* Each chunk read by PostgreSQL's parser (src/sql/sql.h), n_chunks of them, by cb_read on
     * the reading thread: per-target workers, which must not parse (sql.h says why), read
     * these models. Owned by the migration. */
    struct SqlChunk **parsed;
    size_t escape; /* cb_escape_chunk's answer, worked out by cb_read from parsed */
} CbMigration;

/* Something about the folder as a whole that every target's report should say once, not an
 * error: the folder is read and applied as drizzle-orm reads it. */
typedef struct CbNote {
    const char *kind; /* static: "when_not_increasing" (a journal entry whose `when` is not above
                         every earlier entry's: drizzle-orm skips it where those are applied),
                         "ends_transaction" (a chunk ends drizzle's transaction: cb_escape_chunk) */
    char *migration;  /* the migration concerned */
    char *message;    /* one line, for people, ending with a hint */
} CbNote;

typedef struct Codebase {
    char *dir;
    CbLayout layout;
    CbMigration *migrations; /* in the order drizzle runs them */
    size_t n;
    /* cb_read_all only (0 from cb_read): files drizzle-orm never runs but lint checks all the
     * same, read like the others and kept after them, at migrations[n .. n + n_unlisted): a
     * .sql file in no journal entry (byte order), a migration folder not named
     * <YYYYMMDDHHMMSS>_<name>. */
    size_t n_unlisted;
    CbNote *notes; /* in run order of the migrations concerned */
    size_t n_notes;
    /* What the migrations create (cb_created, below), worked out once when the folder is
     * read: every survey of a target without a ledger asks whether they exist already. */
    struct CbObject *created;
    size_t n_created;
} Codebase;

/* A problem of the folder's structure (journal, files, names), as the reader finds it: the
 * one reader of the folder, for plan, apply and audit (cb_read, which stops at the first one
 * it refuses) and for lint (cb_read_all, which keeps them all as findings), in the same
 * words. The rules are lint's (docs/lint.md). */
typedef enum {
    CB_PROBLEM_REFUSED, /* cb_read refuses the folder: plan, apply and audit stop on it */
    CB_PROBLEM_READ,    /* cb_read reads the folder as drizzle-orm does all the same (a file it
                           never runs, a `when` it skips where a newer one is applied) */
} CbSeverity;

typedef struct CbProblem {
    const char *rule; /* static: lint's rule id, e.g. "missing-file" */
    CbSeverity severity;
    char *file;          /* the file or folder concerned, joined to the folder */
    char *migration;     /* tag or folder name of the migration concerned; NULL when none */
    size_t line, column; /* 1-based, the column in characters; 0 for the file as a whole */
    char *message;       /* one line, without the file */
    char *hint;          /* one line: what to do */
} CbProblem;

typedef struct CbProblems {
    CbProblem *v; /* journal first, then by file and line (the order lint prints them) */
    size_t n;
} CbProblems;

/* Read the folder. On error *out is NULL and err names the file (and, for JSON, the position).
 * Errors: a missing folder or one that is no drizzle migrations folder, a file that cannot be
 * read, a migration holding a NUL byte (named by file:line:column: the server cannot receive
 * it, and everything after it would be lost), and the first problem of the folder that is
 * CB_PROBLEM_REFUSED (missing journal, malformed JSON, an entry without its file, duplicate
 * tags, a journal beside v1 folders, a badly named v1 folder), said as cb_problem_error says
 * it, in lint's words. A journal whose `when` values do not increase is read as drizzle-orm
 * reads it (list order), with one note per entry concerned. Codes: PF_ERR_IO when the folder
 * is missing or a file cannot be read, PF_ERR_INPUT for the rest. On success the caller owns
 * *out and frees it with cb_free. */
PfErrCode cb_read(const char *dir, Codebase **out, PfErr *err);

/* Read the folder as lint does, in the same one pass: every problem of it into *problems (the
 * caller frees them with cb_problems_free, also on error), none of them an error, and what can
 * be read of it into *out, unlisted files included (Codebase.n_unlisted). Fails only as
 * cb_read does for what is no problem of the folder (a missing folder, an unreadable file, a
 * NUL byte), with *out NULL. */
PfErrCode cb_read_all(const char *dir, Codebase **out, CbProblems *problems, PfErr *err);
void cb_problems_free(CbProblems *p);

/* Whether any problem is CB_PROBLEM_REFUSED (cb_read fails on the folder). */
bool cb_problems_refused(const CbProblems *p);

/* p as cb_read's error: "<file>[:line:column]: <message>; hint: <hint>", PF_ERR_INPUT. */
PfErrCode cb_problem_error(const CbProblem *p, PfErr *err);

void cb_free(Codebase *cb);

/* The newest migration (last in run order), or NULL for an empty codebase. */
const CbMigration *cb_head(const Codebase *cb);

/* Decode bytes as UTF-8 the way Node's Buffer.toString('utf8') does, replacing each maximal
 * invalid subpart with U+FFFD. Returns a new NUL-terminated string (caller frees). */
char *cb_utf8_decode(const char *bytes, size_t len, size_t *out_len);

/* sha256 of data as 64 lowercase hex digits + NUL. */
void cb_sha256_hex(const void *data, size_t len, char out[65]);

/* A migration file's raw bytes as drizzle-orm reads them: returns the text it executes
 * (cb_utf8_decode, caller frees; *text_len its length, may be NULL) and fills hash with drizzle's
 * hash, sha256 hex of that text. The reader and the hash tests both call this one function. */
char *cb_drizzle_hash(const char *bytes, size_t len, size_t *text_len, char hash[65]);

/* Split text on the literal "--> statement-breakpoint", keeping everything else verbatim
 * (empty chunks kept, nothing trimmed), like JavaScript's String.prototype.split.
 * *chunks is an array of *n newly allocated strings (caller frees each and the array). */
void cb_split(const char *sql, size_t len, char ***chunks, size_t *n);

/* Whether a chunk ends the transaction at its top level (COMMIT, END, ROLLBACK, ABORT, PREPARE
 * TRANSACTION, with or without AND CHAIN): after such a chunk drizzle-orm's later chunks no
 * longer run inside its transaction (src/codebase/escape.c). Reads the chunk with PostgreSQL's
 * parser (src/sql/), so call it where the folder is read, not on worker threads. */
bool cb_chunk_escapes(const char *chunk, size_t len);

/* The 1-based number of m's first chunk that escapes (as cb_chunk_escapes says), or 0 when it
 * stays inside; from m->parsed when cb_read has filled it, else by parsing the chunks. cb_read
 * keeps it in m->escape. */
size_t cb_escape_chunk(const CbMigration *m);

/* An object that a migration creates with a statement that fails when it exists already:
 * CREATE TABLE, VIEW, MATERIALIZED VIEW, SEQUENCE, INDEX, TYPE, DOMAIN or SCHEMA without IF NOT
 * EXISTS or OR REPLACE (src/codebase/created.c). A database that holds one without the ledger was
 * made some other way (drizzle-kit push, by hand). */
typedef enum {
    CB_OBJECT_RELATION, /* table, view, materialized view, sequence, index: one namespace
                           (pg_class) */
    CB_OBJECT_TYPE,     /* type, domain */
    CB_OBJECT_SCHEMA,
} CbObjectSpace;

typedef struct CbObject {
    CbObjectSpace space;
    const char *kind; /* static: "table", "view", "materialized view", "sequence", "index",
                         "type", "domain", "schema" */
    char *schema;     /* NULL when unqualified: the search_path's first schema ("public" by
                         default); an index's is its table's; always NULL for a schema */
    char *name;       /* unquoted names folded to lowercase, quoted ones as written */
    size_t migration; /* codebase index of the first migration that creates it */
} CbObject;

/* Every such object the migrations of cb create, in run order, each once; one that an earlier
 * statement drops first (DROP ... IF EXISTS, then CREATE) is left out, since its CREATE cannot
 * fail. Statements are read with PostgreSQL's parser (src/sql/), a chunk it refuses with the
 * lexer (src/codebase/sqllex.h): nothing inside strings, comments, function bodies or DO
 * blocks counts. Parses: call it where the folder is read. *out is the caller's: free it with
 * cb_objects_free. */
void cb_created(const Codebase *cb, CbObject **out, size_t *n);
void cb_objects_free(CbObject *objects, size_t n);

/* ---- tenant schemas (qualify.c, docs/tenants.md) ---- */

/* Where a migration's SQL names one of the schemas a tenant target maps: an identifier in
 * qualifier position ("public"."orgs", public.orgs.id, "public"."role"), or the name after
 * CREATE / ALTER / DROP SCHEMA, SET SCHEMA and ON SCHEMA. Found with the lexer, also inside
 * dollar-quoted bodies (DO blocks, functions); never inside strings or comments. */
typedef struct CbSchemaRef {
    size_t chunk;  /* index into the migration's chunks */
    size_t offset; /* of the identifier in the chunk */
    size_t len;    /* of the identifier as written (quotes included) */
    size_t schema; /* index into CbSchemaRefs.schemas */
} CbSchemaRef;

/* What cannot be mapped safely, with where it stands. */
typedef struct CbTenantProblem {
    size_t migration; /* codebase index */
    size_t line, column;
    char *message;    /* what it is and why it cannot be rewritten */
    const char *hint; /* static: what to do */
} CbTenantProblem;

typedef struct CbSchemaRefs {
    char **schemas; /* the schemas looked for, as PostgreSQL names them ("public") */
    size_t n_schemas;
    size_t n_migrations;
    CbSchemaRef **refs; /* per migration (cb->n), in text order */
    size_t *n_refs;
    CbTenantProblem *problems; /* in migration and text order */
    size_t n_problems;
} CbSchemaRefs;

/* Find, once for a fleet, every reference in cb to the schemas (n of them) and what cannot be
 * mapped: a schema name inside a string constant (dynamic SQL, a 'public.t'::regclass),
 * CREATE EXTENSION (an extension belongs to a database, not to a tenant schema). *out is the
 * caller's: free it with cb_schema_refs_clear. */
void cb_schema_refs_find(const Codebase *cb, const char *const *schemas, size_t n,
                         CbSchemaRefs *out);
void cb_schema_refs_clear(CbSchemaRefs *r);

/* Migration m's chunks with every reference to schemas[k] renamed to to[k] (quoted; NULL
 * keeps the name). The caller frees them with cb_chunks_free(chunks, cb->migrations[m].n_chunks).
 */
char **cb_schema_refs_apply(const CbSchemaRefs *r, const Codebase *cb, size_t m,
                            const char *const *to);
void cb_chunks_free(char **chunks, size_t n);

#endif
