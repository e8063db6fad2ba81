/*
 * Applying migrations as drizzle-orm does, in as few round trips as that allows.
 *
 * Drizzle sends each statement chunk as its own simple query inside one BEGIN ... COMMIT.
 * While the chunks stay inside that transaction, pgfleet sends them all as ONE simple query,
 * so a target behind an SSH tunnel or a WAN link pays one round trip however many statements
 * it has: the server runs the statements of one query string in order and stops at the first
 * error, so the semantics are drizzle's: the same statements, the same transaction, the same
 * ledger rows.
 *
 * A chunk that ends the transaction itself (COMMIT, ROLLBACK...: cb_escape_chunk) ends
 * the batch. From the next chunk on, what drizzle does depends on each chunk being its own
 * query (after a COMMIT each one autocommits; CREATE INDEX CONCURRENTLY and procedures that
 * commit need exactly that), so pgfleet sends them one by one too, ledger inserts included,
 * until the end of the run (per-migration: the end of that migration), and commits a
 * transaction that a chunk opened again, as drizzle's final commit does.
 *
 * To say which statement failed, a tiny marker query `SELECT 'm:c' AS pgfleet_mark` precedes
 * each chunk of a batch: the last marker returned before the error names the migration and the
 * chunk. A syntax error fails the whole string before anything runs; its position (in
 * characters) is mapped back to the chunk through the offsets recorded while building it.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_COLUMN "pgfleet_mark"

/* Where each chunk starts in the batch, in characters (server positions count characters). */
typedef struct ChunkSpan {
    long start_chars;
    size_t migration; /* index into the request */
    int chunk;        /* 1-based */
} ChunkSpan;

typedef struct Batch {
    PfBuf sql;
    long chars;
    ChunkSpan *spans;
    size_t n_spans, cap_spans;
} Batch;

static long utf8_chars(const char *s, size_t len)
{
    long n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static void batch_put(Batch *b, const char *s)
{
    size_t len = strlen(s);
    pf_buf_append(&b->sql, s, len);
    b->chars += utf8_chars(s, len);
}

static void batch_mark(Batch *b, size_t migration, const char *what)
{
    char line[128];
    snprintf(line, sizeof line, "SELECT '%zu:%s' AS " MARK_COLUMN ";\n", migration, what);
    batch_put(b, line);
}

void pg_failure_clear(PgFailure *f)
{
    if (!f)
        return;
    free(f->tag);
    free(f->message);
    free(f->detail);
    free(f->hint);
    free(f->escape_tag);
    memset(f, 0, sizeof *f);
}

static void put_ledger_ddl(Batch *b, const char *qs, const char *qt, bool with_name)
{
    char *ddl = pf_asprintf("CREATE SCHEMA IF NOT EXISTS %s;\n"
                            "CREATE TABLE IF NOT EXISTS %s.%s (\n"
                            "\t\t\tid SERIAL PRIMARY KEY,\n"
                            "\t\t\thash text NOT NULL,\n"
                            "\t\t\tcreated_at bigint%s\n"
                            "\t\t);\n",
                            qs, qs, qt,
                            with_name ? ",\n\t\t\tname text,\n\t\t\tapplied_at timestamp with "
                                        "time zone DEFAULT now()"
                                      : "");
    batch_put(b, ddl);
    free(ddl);
}

static void put_ledger_upgrade(Batch *b, const char *qs, const char *qt, const PgApplyRequest *req)
{
    char *sql = pf_asprintf("ALTER TABLE %s.%s ADD COLUMN IF NOT EXISTS \"name\" text;\n"
                            "ALTER TABLE %s.%s ADD COLUMN IF NOT EXISTS \"applied_at\" timestamp "
                            "with time zone DEFAULT now();\n",
                            qs, qt, qs, qt);
    batch_put(b, sql);
    free(sql);
    for (size_t i = 0; i < req->n_names; i++) {
        char *name = pg_quote_literal(req->names[i].name);
        sql = pf_asprintf("UPDATE %s.%s SET \"name\" = %s, \"applied_at\" = NULL WHERE \"id\" = "
                          "%lld;\n",
                          qs, qt, name, (long long)req->names[i].id);
        batch_put(b, sql);
        free(sql);
        free(name);
    }
}

static void put_prologue(Batch *b, const PgApplyRequest *req, int server_version)
{
    /* The batch is one message: without this the server would run it to the end (and commit)
     * even after pgfleet or its tunnel went away. PostgreSQL 14+ checks the client between
     * statements of a long run and aborts the transaction when it is gone. */
    if (server_version >= 140000)
        batch_put(b, "SET client_connection_check_interval = '1s';\n");
    if (req->lock_timeout_ms > 0) {
        char *s = pf_asprintf("SET lock_timeout = '%lldms';\n", (long long)req->lock_timeout_ms);
        batch_put(b, s);
        free(s);
    }
    if (req->statement_timeout_ms > 0) {
        char *s = pf_asprintf("SET statement_timeout = '%lldms';\n",
                              (long long)req->statement_timeout_ms);
        batch_put(b, s);
        free(s);
    }
}

/* drizzle's ledger row for mig (caller frees). */
static char *ledger_insert_sql(const PgApplyRequest *req, const CbMigration *mig)
{
    char *rel = pg_quote_qualified(req->schema, req->table), *ins;
    if (req->ledger_has_name) {
        char *name = pg_quote_literal(mig->tag);
        ins = pf_asprintf("insert into %s (\"hash\", \"created_at\", \"name\") values "
                          "('%s', %lld, %s);\n",
                          rel, mig->hash, (long long)mig->when, name);
        free(name);
    } else {
        ins = pf_asprintf("insert into %s (\"hash\", \"created_at\") values ('%s', %lld);\n", rel,
                          mig->hash, (long long)mig->when);
    }
    free(rel);
    return ins;
}

static void put_span(Batch *b, size_t migration, int chunk)
{
    PF_GROW(b->spans, b->cap_spans, b->n_spans + 1);
    b->spans[b->n_spans++] = (ChunkSpan){b->chars, migration, chunk};
}

/* One batch: everything from migration *m on that can share drizzle's transaction, i.e. up to
 * and including the first chunk that leaves it. Sets *escape to that chunk's 1-based number
 * (migration *m then is the escaping one), or leaves it 0 when the batch reached the end. */
static void build_batch(const PgApplyRequest *req, int server_version, bool first, size_t *m,
                        size_t *escape, Batch *b)
{
    *escape = 0;
    if (first)
        put_prologue(b, req, server_version);
    if (first && (req->create_ledger || req->upgrade_ledger)) {
        /* drizzle creates (v1: upgrades) the ledger before its transaction: that stays when a
         * migration fails. The COMMIT ends the message's implicit block there. */
        char *qs = pg_quote_ident(req->schema), *qt = pg_quote_ident(req->table);
        if (req->create_ledger)
            put_ledger_ddl(b, qs, qt, req->ledger_has_name);
        if (req->upgrade_ledger)
            put_ledger_upgrade(b, qs, qt, req);
        batch_put(b, "COMMIT;\n");
        free(qs);
        free(qt);
    }
    batch_put(b, "BEGIN;\n");
    size_t start = *m;
    for (; *m < req->n; (*m)++) {
        const CbMigration *mig = req->migrations[*m];
        if (*m > start && req->per_migration)
            batch_put(b, "BEGIN;\n");
        size_t esc = mig->escape; /* cb_escape_chunk's, from cb_read: no parsing here */
        size_t upto = esc ? esc : mig->n_chunks;
        for (size_t c = 0; c < upto; c++) {
            char what[32];
            snprintf(what, sizeof what, "%zu", c + 1);
            batch_mark(b, *m, what);
            put_span(b, *m, (int)c + 1);
            batch_put(b, mig->chunks[c]);
            /* A newline first: a chunk may end inside a line comment. Nothing of pgfleet's
             * follows an escaping chunk in the same message: what it leaves open (an implicit
             * block after its COMMIT) must end with the message, as it does for drizzle. */
            batch_put(b, esc && c + 1 == esc ? "\n" : "\n;\n");
        }
        if (esc) {
            *escape = esc;
            return;
        }
        put_span(b, *m, 0);
        batch_mark(b, *m, "ledger");
        char *ins = ledger_insert_sql(req, mig);
        batch_put(b, ins);
        free(ins);
        if (req->per_migration || *m + 1 == req->n)
            batch_put(b, "COMMIT;\n");
    }
    if (req->n == 0)
        batch_put(b, "COMMIT;\n");
}

/* The chunk containing a 1-based character position, or NULL. */
static const ChunkSpan *span_at(const Batch *b, long position)
{
    const ChunkSpan *hit = NULL;
    for (size_t i = 0; i < b->n_spans; i++)
        if (b->spans[i].start_chars < position)
            hit = &b->spans[i];
    return hit;
}

static void fill_failure(const PgApplyRequest *req, const Batch *b, const PgResults *r,
                         const PGresult *error, PgFailure *f)
{
    /* The last marker before the error says where execution was. */
    long mig = -1;
    int chunk = 0;
    for (int i = 0; i < r->error_index; i++) {
        const PGresult *res = r->res[i];
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 1 &&
            strcmp(PQfname(res, 0), MARK_COLUMN) == 0 && PQntuples(res) == 1) {
            const char *v = PQgetvalue(res, 0, 0);
            const char *colon = strchr(v, ':');
            mig = strtol(v, NULL, 10);
            chunk = colon && strcmp(colon + 1, "ledger") != 0 ? atoi(colon + 1) : 0;
        }
    }
    const char *pos = error ? PQresultErrorField(error, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos && mig < 0 && b) {
        const ChunkSpan *s = span_at(b, strtol(pos, NULL, 10));
        if (s) {
            mig = (long)s->migration;
            chunk = s->chunk;
        }
    }
    if (mig >= 0 && (size_t)mig < req->n)
        f->tag = pf_strdup(req->migrations[mig]->tag);
    f->statement = chunk;
    if (error) {
        const char *state = PQresultErrorField(error, PG_DIAG_SQLSTATE);
        snprintf(f->sqlstate, sizeof f->sqlstate, "%s", state ? state : "");
        f->message = pg_one_line(PQresultErrorField(error, PG_DIAG_MESSAGE_PRIMARY));
        const char *detail = PQresultErrorField(error, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(error, PG_DIAG_MESSAGE_HINT);
        f->detail = detail ? pg_one_line(detail) : NULL;
        f->hint = hint ? pg_one_line(hint) : NULL;
    }
}

/* Whether the escaping chunk that failed had ended the transaction before its failing
 * statement: a COMMIT or ROLLBACK result after its marker. */
static bool ended_before_error(const PgResults *r)
{
    for (int i = r->error_index - 1; i >= 0; i--) {
        const PGresult *res = r->res[i];
        if (PQnfields(res) == 1 && strcmp(PQfname(res, 0), MARK_COLUMN) == 0)
            return false;
        const char *tag = PQcmdStatus((PGresult *)res);
        if (strcmp(tag, "COMMIT") == 0 || strcmp(tag, "ROLLBACK") == 0 ||
            strcmp(tag, "PREPARE TRANSACTION") == 0)
            return true;
    }
    return false;
}

#define DONE_COLUMN "pgfleet_done"

void pg_apply_end_clear(PgApplyEnd *end)
{
    if (!end)
        return;
    ledger_clear(&end->after);
    memset(end, 0, sizeof *end);
}

/* What ends a successful run, after everything it ran committed: the ledger read back (its
 * shape is the one the run gave it) and the lock released, when asked. */
static char *end_sql(const PgApplyRequest *req)
{
    char *rows = pg_ledger_rows_sql(req->schema, req->table, req->ledger_has_name);
    char *unlock = req->unlock ? pg_unlock_sql(req->lock_key) : pf_strdup("");
    char *sql = pf_asprintf("%s%s", rows, unlock);
    free(rows);
    free(unlock);
    return sql;
}

/* The answers to end_sql from r->res[at] on (the ledger, then the unlock). */
static void read_end(const PgApplyRequest *req, const PgResults *r, int at, PgApplyEnd *end)
{
    bool ok = r->error_index < 0;
    if ((ok || r->error_index > at) && at < r->n) {
        end->after.exists = true;
        end->after.has_name_column = req->ledger_has_name;
        pg_ledger_rows_read(r->res[at], &end->after);
        end->read = true;
    }
    end->unlocked = req->unlock && (ok || r->error_index > at + 1) && at + 1 < r->n;
}

/* After a failed run: end what it left open (rollback), then read what the ledger holds now (it may
 * not exist, and may have either shape) and release the lock when asked, in one message. */
static void end_after_failure(PgConn *c, const PgApplyRequest *req, bool rollback, PgApplyEnd *end)
{
    char *exist = pg_existence_sql(req->schema, req->table);
    char *rows = pg_ledger_rows_any_sql(req->schema, req->table, NULL);
    char *unlock = req->unlock ? pg_unlock_sql(req->lock_key) : pf_strdup("");
    char *sql = pf_asprintf("%s%s%s%s", rollback ? "ROLLBACK;\n" : "", exist, rows, unlock);
    PgResults r;
    PfErr ignored;
    PfErrCode rc = pg_exec_all(c, sql, &r, &ignored);
    int at = rollback ? 1 : 0;
    if (rc == PF_OK && r.n >= at + 2 + (req->unlock ? 1 : 0)) {
        pg_existence_read(r.res[at], &end->after);
        pg_ledger_rows_read(r.res[at + 1], &end->after);
        end->read = true;
        end->unlocked = req->unlock;
    }
    pg_results_clear(&r);
    free(sql);
    free(exist);
    free(rows);
    free(unlock);
}

/* Send one batch; on a failure fill *failure from its markers. The batch ends with migration
 * esc_m's chunk esc when esc > 0. A batch that ends the run carries the run's end after a
 * DONE_COLUMN marker (end_sql): its answers are read into *end; a failure there is not the
 * batch's (it committed) and leaves end->read false. */
static PfErrCode run_batch(PgConn *c, const PgApplyRequest *req, const Batch *b, size_t esc_m,
                           size_t esc, bool with_end, PgApplyEnd *end, PgFailure *failure,
                           PfErr *err)
{
    PgResults r;
    PfErr batch_err;
    PfErrCode rc = pg_exec_all(c, b->sql.data, &r, &batch_err);
    int done = -1;
    for (int i = 0; with_end && i < r.n && (r.error_index < 0 || i < r.error_index); i++)
        if (PQnfields(r.res[i]) == 1 && strcmp(PQfname(r.res[i], 0), DONE_COLUMN) == 0)
            done = i;
    if (done >= 0) {
        read_end(req, &r, done + 1, end);
        rc = PF_OK;
    } else if (rc != PF_OK) {
        *err = batch_err;
        fill_failure(req, b, &r, r.error_index >= 0 ? r.res[r.error_index] : NULL, failure);
        if (esc && failure->statement == (int)esc && failure->tag &&
            strcmp(failure->tag, req->migrations[esc_m]->tag) == 0 && ended_before_error(&r)) {
            failure->escape_tag = pf_strdup(failure->tag);
            failure->escape_statement = (int)esc;
        }
    }
    pg_results_clear(&r);
    return rc;
}

/* Send one chunk (or ledger insert) on its own, as drizzle sends it. statement is the chunk's
 * 1-based number, 0 for the insert. */
static PfErrCode run_solo(PgConn *c, const PgApplyRequest *req, size_t m, int statement,
                          const char *sql, PgFailure *failure, PfErr *err)
{
    if (req->interrupted && atomic_load(req->interrupted)) {
        failure->tag = pf_strdup(req->migrations[m]->tag);
        failure->statement = statement;
        snprintf(failure->sqlstate, sizeof failure->sqlstate, "57014");
        failure->message = pf_strdup("interrupted before this statement was sent");
        return pf_err_set(err, PF_ERR_PG, "interrupted");
    }
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    if (rc != PF_OK) {
        fill_failure(req, NULL, &r, r.error_index >= 0 ? r.res[r.error_index] : NULL, failure);
        free(failure->tag);
        failure->tag = pf_strdup(req->migrations[m]->tag);
        failure->statement = statement;
    }
    pg_results_clear(&r);
    return rc;
}

/* After migration esc_m's chunk esc left the transaction: run the rest of that migration, and
 * (one transaction for all) of every later one, one query per chunk and per ledger insert, as
 * drizzle does; then commit a transaction a chunk opened again, as drizzle's final commit does.
 * Returns the index of the first migration not run. */
static PfErrCode run_escaped(PgConn *c, const PgApplyRequest *req, size_t esc_m, size_t esc,
                             size_t *next, PgFailure *failure, PfErr *err)
{
    size_t end = req->per_migration ? esc_m + 1 : req->n;
    PfErrCode rc = PF_OK;
    for (size_t m = esc_m; m < end && rc == PF_OK; m++) {
        const CbMigration *mig = req->migrations[m];
        for (size_t ch = m == esc_m ? esc : 0; ch < mig->n_chunks && rc == PF_OK; ch++)
            rc = run_solo(c, req, m, (int)ch + 1, mig->chunks[ch], failure, err);
        if (rc == PF_OK) {
            char *ins = ledger_insert_sql(req, mig);
            rc = run_solo(c, req, m, 0, ins, failure, err);
            free(ins);
        }
    }
    if (rc != PF_OK) {
        failure->escape_tag = pf_strdup(req->migrations[esc_m]->tag);
        failure->escape_statement = (int)esc;
        return rc;
    }
    if (PQtransactionStatus(c->conn) == PQTRANS_INTRANS) {
        PgResults r;
        rc = pg_exec_all(c, "COMMIT", &r, err);
        if (rc != PF_OK) {
            fill_failure(req, NULL, &r, r.error_index >= 0 ? r.res[r.error_index] : NULL, failure);
            failure->tag = pf_strdup(req->migrations[end - 1]->tag);
        }
        pg_results_clear(&r);
    }
    *next = end;
    return rc;
}

PfErrCode pg_apply(PgConn *c, const PgApplyRequest *req, PgFailure *failure, PgApplyEnd *end,
                   PfErr *err)
{
    memset(failure, 0, sizeof *failure);
    memset(end, 0, sizeof *end);
    PfErrCode rc = PF_OK;
    size_t m = 0;
    bool first = true, end_sent = false;
    do {
        Batch b = {PF_BUF_INIT, 0, NULL, 0, 0};
        size_t esc = 0, esc_m;
        build_batch(req, PQserverVersion(c->conn), first, &m, &esc, &b);
        first = false;
        esc_m = m;
        if (!esc) {
            /* The last batch: the run's end goes in the same message. */
            char *tail = end_sql(req);
            batch_put(&b, "SELECT true AS " DONE_COLUMN ";\n");
            batch_put(&b, tail);
            free(tail);
            end_sent = true;
        }
        rc = run_batch(c, req, &b, esc_m, esc, !esc, end, failure, err);
        pf_buf_free(&b.sql);
        free(b.spans);
        if (rc == PF_OK && esc)
            rc = run_escaped(c, req, esc_m, esc, &m, failure, err);
    } while (rc == PF_OK && m < req->n);

    if (rc == PF_OK && !end_sent) {
        /* The run ended with a chunk sent on its own: its end is a message of its own. */
        char *tail = end_sql(req);
        PgResults r;
        PfErr ignored;
        pg_exec_all(c, tail, &r, &ignored);
        read_end(req, &r, 0, end);
        pg_results_clear(&r);
        free(tail);
    }
    if (rc != PF_OK) {
        if (!failure->message)
            failure->message = pf_strdup(err->msg);
        /* A transaction left open is rolled back first, in the message that reads back. */
        bool rollback = rc == PF_ERR_PG && PQtransactionStatus(c->conn) != PQTRANS_IDLE;
        if (rc == PF_ERR_PG)
            end_after_failure(c, req, rollback, end);
    }
    return rc;
}

PfErrCode pg_ledger_write(PgConn *c, const PgLedgerWrite *w, PgApplyEnd *end, PfErr *err)
{
    memset(end, 0, sizeof *end);
    /* The request's ledger fields, for the shared SQL builders. */
    PgApplyRequest req = {.schema = w->schema,
                          .table = w->table,
                          .ledger_has_name = w->ledger_has_name,
                          .unlock = w->unlock,
                          .lock_key = w->lock_key};
    char *qs = pg_quote_ident(w->schema), *qt = pg_quote_ident(w->table);
    Batch b = {PF_BUF_INIT, 0, NULL, 0, 0};
    if (w->create_ledger) {
        put_ledger_ddl(&b, qs, qt, w->ledger_has_name);
        batch_put(&b, "COMMIT;\n");
    }
    batch_put(&b, "BEGIN;\n");
    for (size_t i = 0; i < w->n_record; i++) {
        char *ins = ledger_insert_sql(&req, w->record[i]);
        batch_put(&b, ins);
        free(ins);
    }
    for (size_t i = 0; i < w->n_fix; i++) {
        char *old = w->fix[i].old_hash ? pg_quote_literal(w->fix[i].old_hash) : pf_strdup("NULL");
        char *upd =
            pf_asprintf("UPDATE %s.%s SET \"hash\" = '%s' WHERE \"id\" = %lld AND "
                        "\"hash\" IS NOT DISTINCT FROM %s;\n",
                        qs, qt, w->fix[i].migration->hash, (long long)w->fix[i].ledger_id, old);
        batch_put(&b, upd);
        free(upd);
        free(old);
    }
    free(qs);
    free(qt);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, b.sql.data, &r, err);
    pf_buf_free(&b.sql);
    free(b.spans);
    /* Each UPDATE must have met its row as the survey read it: else nothing is kept. */
    int changed = 0;
    for (int i = 0; rc == PF_OK && i < r.n; i++)
        if (strncmp(PQcmdStatus(r.res[i]), "UPDATE ", 7) == 0)
            changed += atoi(PQcmdTuples(r.res[i]));
    pg_results_clear(&r);
    if (rc == PF_OK && changed != (int)w->n_fix)
        rc = pf_err_set(err, PF_ERR_PG,
                        "the ledger changed under the lock (%d of %zu rows still had the hash "
                        "read a moment before); nothing was changed; hint: look for a migrator "
                        "that does not take the lock, then run repair again",
                        changed, w->n_fix);
    if (rc == PF_OK) {
        /* COMMIT, then the ledger read back and the unlock, in one message (as apply's end). */
        char *tail = end_sql(&req);
        char *sql = pf_asprintf("COMMIT;\nSELECT true AS " DONE_COLUMN ";\n%s", tail);
        rc = pg_exec_all(c, sql, &r, err);
        if (r.n >= 2 && (r.error_index < 0 || r.error_index > 1)) {
            read_end(&req, &r, 2, end); /* committed; a failed read is the caller's to redo */
            rc = PF_OK;
        }
        pg_results_clear(&r);
        free(sql);
        free(tail);
    } else if (rc == PF_ERR_PG) {
        end_after_failure(c, &req, PQtransactionStatus(c->conn) != PQTRANS_IDLE, end);
    }
    return rc;
}
