/*
 * Applying migrations in one round trip.
 *
 * Drizzle sends each statement chunk as its own simple query; pgfleet sends the whole batch as
 * ONE simple query holding every chunk, so a target behind an SSH tunnel or a WAN link pays one
 * round trip however many statements it has. The server runs the statements of one query
 * string in order and stops at the first error, so the semantics are drizzle's: the same
 * statements, the same transaction boundaries, the same ledger rows.
 *
 * To say which statement failed, a tiny marker query `SELECT 'm:c' AS pgfleet_mark` precedes
 * each chunk: the last marker returned before the error names the migration and the chunk. A
 * syntax error fails the whole string before anything runs; its position (in characters) is
 * mapped back to the chunk through the offsets recorded while building the batch.
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

static void build_batch(const PgApplyRequest *req, int server_version, Batch *b)
{
    char *qs = pg_quote_ident(req->schema), *qt = pg_quote_ident(req->table);
    /* The whole batch is one message: without this the server would run it to the end (and
     * commit) even after pgfleet or its tunnel went away. PostgreSQL 14+ checks the client
     * between statements of a long run and aborts the transaction when it is gone. */
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
    batch_put(b, "BEGIN;\n");
    if (req->create_ledger)
        put_ledger_ddl(b, qs, qt, req->ledger_has_name);
    if (req->upgrade_ledger)
        put_ledger_upgrade(b, qs, qt, req);
    for (size_t m = 0; m < req->n; m++) {
        const CbMigration *mig = req->migrations[m];
        if (m > 0 && req->per_migration)
            batch_put(b, "BEGIN;\n");
        for (size_t c = 0; c < mig->n_chunks; c++) {
            char what[32];
            snprintf(what, sizeof what, "%zu", c + 1);
            batch_mark(b, m, what);
            PF_GROW(b->spans, b->cap_spans, b->n_spans + 1);
            b->spans[b->n_spans++] = (ChunkSpan){b->chars, m, (int)c + 1};
            batch_put(b, mig->chunks[c]);
            /* A newline first: a chunk may end inside a line comment. */
            batch_put(b, "\n;\n");
        }
        PF_GROW(b->spans, b->cap_spans, b->n_spans + 1);
        b->spans[b->n_spans++] = (ChunkSpan){b->chars, m, 0};
        batch_mark(b, m, "ledger");
        char *ins;
        if (req->ledger_has_name) {
            char *name = pg_quote_literal(mig->tag);
            ins = pf_asprintf("insert into %s.%s (\"hash\", \"created_at\", \"name\") values "
                              "('%s', %lld, %s);\n",
                              qs, qt, mig->hash, (long long)mig->when, name);
            free(name);
        } else {
            ins = pf_asprintf("insert into %s.%s (\"hash\", \"created_at\") values ('%s', %lld);\n",
                              qs, qt, mig->hash, (long long)mig->when);
        }
        batch_put(b, ins);
        free(ins);
        if (req->per_migration || m + 1 == req->n)
            batch_put(b, "COMMIT;\n");
    }
    if (req->n == 0)
        batch_put(b, "COMMIT;\n");
    free(qs);
    free(qt);
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
    if (pos && mig < 0) {
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

PfErrCode pg_apply(PgConn *c, const PgApplyRequest *req, size_t *n_committed, PgFailure *failure,
                   PfErr *err)
{
    memset(failure, 0, sizeof *failure);
    *n_committed = 0;
    Batch b = {PF_BUF_INIT, 0, NULL, 0, 0};
    build_batch(req, PQserverVersion(c->conn), &b);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, b.sql.data, &r, err);

    for (int i = 0; i < r.n && (r.error_index < 0 || i < r.error_index); i++)
        if (PQresultStatus(r.res[i]) == PGRES_COMMAND_OK &&
            strcmp(PQcmdStatus(r.res[i]), "COMMIT") == 0)
            (*n_committed)++;
    if (!req->per_migration && *n_committed > 0)
        *n_committed = req->n;

    if (rc != PF_OK) {
        fill_failure(req, &b, &r, r.error_index >= 0 ? r.res[r.error_index] : NULL, failure);
        if (!failure->message)
            failure->message = pf_strdup(err->msg);
        if (rc == PF_ERR_PG && PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
            PgResults rb;
            PfErr rb_err;
            pg_exec_all(c, "ROLLBACK", &rb, &rb_err);
            pg_results_clear(&rb);
        }
    }
    pg_results_clear(&r);
    pf_buf_free(&b.sql);
    free(b.spans);
    return rc;
}
