/*
 * Which chunk of a migration leaves drizzle's transaction.
 *
 * drizzle-orm runs all pending migrations inside one BEGIN ... COMMIT, one query per chunk. A
 * chunk that ends that transaction itself (COMMIT, END, ROLLBACK, ABORT, PREPARE TRANSACTION,
 * with or without AND CHAIN) changes what every later chunk runs in: after a COMMIT each one
 * autocommits on its own, which is what lets a migration run CREATE INDEX CONCURRENTLY or CALL
 * a procedure that commits in batches. pgfleet must run such chunks exactly as drizzle does,
 * so it needs to know where the first one is. (BEGIN and START TRANSACTION inside drizzle's
 * transaction only draw a warning: they change nothing, so they do not count. After an
 * escape, pgfleet sends chunks one by one and a BEGIN there opens a transaction as it does
 * for drizzle.)
 *
 * The chunk is read with the statement model (src/sql/, PostgreSQL's parser): it counts when
 * one of its top-level statements ends the transaction (sql_ends_transaction). SAVEPOINT,
 * RELEASE and ROLLBACK TO stay inside it; COMMIT / ROLLBACK PREPARED end nothing (PostgreSQL
 * refuses them inside a transaction block); statements in function bodies, DO blocks,
 * strings and comments are not top-level. A chunk the parser refuses falls back to the
 * lexical test below: a top-level statement that starts with one of those keywords.
 * Counting a chunk that did not need it costs round trips, never correctness: from the first
 * escape on, pgfleet sends one chunk per query, which is what drizzle does for every chunk.
 *
 * The answer is worked out once per migration when the folder is read (CbMigration.escape),
 * on the main thread: the parser stays off the per-target workers that apply it.
 */
#include "codebase/codebase.h"
#include "codebase/sqllex.h"
#include "sql/sql.h"

#include <string.h>

/* The fallback: whether the statement starting at token first (followed by next) ends the
 * transaction, by its first words. */
static bool controls_transaction(const char *text, const SqlToken *first, const SqlToken *next)
{
    if (sqllex_is(text, first, "rollback"))
        return !sqllex_is(text, next, "to"); /* ROLLBACK TO [SAVEPOINT] stays inside */
    if (sqllex_is(text, first, "prepare"))
        return sqllex_is(text, next, "transaction");
    static const char *const words[] = {"commit", "end", "abort"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (sqllex_is(text, first, words[i]))
            return true;
    return false;
}

static void on_statement(const SqlStmt *st, void *escapes)
{
    const SqlToken end = {SQL_TOK_END, 0, 0, false};
    if (controls_transaction(st->text, &st->t[0], st->n > 1 ? &st->t[1] : &end))
        *(bool *)escapes = true;
}

/* Whether a chunk escapes, from its model c (the parse of chunk[0..len)). */
static bool model_escapes(const SqlChunk *c, const char *chunk, size_t len)
{
    bool escapes = false;
    if (c->parsed) {
        for (size_t i = 0; i < c->n && !escapes; i++)
            escapes = sql_ends_transaction(&c->stmts[i]);
    } else {
        sqlstmt_each(chunk, len, on_statement, &escapes);
    }
    return escapes;
}

bool cb_chunk_escapes(const char *chunk, size_t len)
{
    SqlChunk *c = sql_parse(chunk, len);
    bool escapes = model_escapes(c, chunk, len);
    sql_chunk_free(c);
    return escapes;
}

size_t cb_escape_chunk(const CbMigration *m)
{
    for (size_t c = 0; c < m->n_chunks; c++) {
        size_t len = strlen(m->chunks[c]);
        bool escapes = m->parsed ? model_escapes(m->parsed[c], m->chunks[c], len)
                                 : cb_chunk_escapes(m->chunks[c], len);
        if (escapes)
            return c + 1;
    }
    return 0;
}
