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
 * The test is lexical and conservative: a chunk counts as soon as one of its top-level
 * statements starts with one of those keywords (SAVEPOINT, RELEASE and ROLLBACK TO stay inside
 * the transaction and do not count). Text inside strings, comments, dollar quotes and
 * BEGIN ATOMIC ... END bodies is never read as a statement. Counting a chunk that did not need
 * it costs round trips, never correctness: from the first escape on, pgfleet sends one chunk
 * per query, which is what drizzle does for every chunk.
 */
#include "codebase/codebase.h"
#include "codebase/sqllex.h"

#include <string.h>

/* Whether the statement starting at token first (followed by next) ends the transaction. */
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

bool cb_chunk_escapes(const char *chunk, size_t len)
{
    bool escapes = false;
    sqlstmt_each(chunk, len, on_statement, &escapes);
    return escapes;
}

size_t cb_escape_chunk(const CbMigration *m)
{
    for (size_t c = 0; c < m->n_chunks; c++)
        if (cb_chunk_escapes(m->chunks[c], strlen(m->chunks[c])))
            return c + 1;
    return 0;
}
