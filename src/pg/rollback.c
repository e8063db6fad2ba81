/*
 * Rollback (docs/rollback.md): run down files and delete ledger rows in one transaction. Each
 * statement is its own round trip, so that a failure names its statement from the answer
 * alone; a rollback is rare and short, unlike apply, whose round trips are folded
 * (docs/round-trips.md).
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(PgFailure *f, const char *tag, int statement, const PGresult *error,
                 const char *message)
{
    free(f->tag);
    f->tag = pf_strdup(tag);
    f->statement = statement;
    if (error) {
        const char *state = PQresultErrorField(error, PG_DIAG_SQLSTATE);
        snprintf(f->sqlstate, sizeof f->sqlstate, "%s", state ? state : "");
        f->message = pg_one_line(PQresultErrorField(error, PG_DIAG_MESSAGE_PRIMARY));
        const char *detail = PQresultErrorField(error, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(error, PG_DIAG_MESSAGE_HINT);
        f->detail = detail ? pg_one_line(detail) : NULL;
        f->hint = hint ? pg_one_line(hint) : NULL;
    } else {
        f->message = pf_strdup(message);
    }
}

/* Run sql; on a failure fill f (tag, statement). */
static PfErrCode step(PgConn *c, const char *sql, const char *tag, int statement, PgFailure *f,
                      int *rows, PfErr *err)
{
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    if (rc == PF_ERR_PG)
        fill(f, tag, statement, r.res[r.error_index], NULL);
    else if (rc != PF_OK)
        fill(f, tag, statement, NULL, err->msg);
    if (rows)
        *rows = rc == PF_OK && r.n > 0 ? PQntuples(r.res[r.n - 1]) : 0;
    pg_results_clear(&r);
    return rc;
}

static char *delete_sql(const PgRollbackRequest *req, const PgRollbackStep *s)
{
    char *qs = pg_quote_ident(req->schema);
    char *qt = pg_quote_ident(req->table);
    char *hash = s->hash ? pg_quote_literal(s->hash) : pf_strdup("NULL");
    char *sql = pf_asprintf("DELETE FROM %s.%s WHERE id = %lld AND hash IS NOT DISTINCT FROM %s "
                            "RETURNING id",
                            qs, qt, (long long)s->ledger_id, hash);
    free(qs);
    free(qt);
    free(hash);
    return sql;
}

PfErrCode pg_rollback(PgConn *c, const PgRollbackRequest *req, PgFailure *failure, PgApplyEnd *end,
                      PfErr *err)
{
    memset(failure, 0, sizeof *failure);
    memset(end, 0, sizeof *end);
    char *begin =
        pf_asprintf("BEGIN;\nSET LOCAL lock_timeout = %lld;\n"
                    "SET LOCAL statement_timeout = %lld;",
                    (long long)req->lock_timeout_ms, (long long)req->statement_timeout_ms);
    PfErrCode rc = step(c, begin, NULL, 0, failure, NULL, err);
    free(begin);
    bool open = rc == PF_OK;
    for (size_t i = 0; rc == PF_OK && i < req->n; i++) {
        const PgRollbackStep *s = &req->steps[i];
        for (size_t k = 0; rc == PF_OK && k < s->n_chunks; k++) {
            if (req->interrupted && atomic_load(req->interrupted)) {
                fill(failure, s->tag, (int)k + 1, NULL,
                     "interrupted before this statement was sent");
                snprintf(failure->sqlstate, sizeof failure->sqlstate, "57014");
                rc = pf_err_set(err, PF_ERR_PG, "interrupted");
                break;
            }
            rc = step(c, s->chunks[k], s->tag, (int)k + 1, failure, NULL, err);
        }
        if (rc != PF_OK)
            break;
        char *del = delete_sql(req, s);
        int rows = 0;
        rc = step(c, del, s->tag, 0, failure, &rows, err);
        free(del);
        if (rc == PF_OK && rows != 1) {
            fill(failure, s->tag, 0, NULL, "");
            free(failure->message);
            failure->message = pf_asprintf("ledger row %lld no longer holds this migration's "
                                           "hash: the ledger changed since it was read",
                                           (long long)s->ledger_id);
            rc = pf_err_set(err, PF_ERR_PG, "%s", failure->message);
        }
    }
    if (rc == PF_OK)
        rc = step(c, "COMMIT", NULL, 0, failure, NULL, err);
    /* The ledger as it is now, and the unlock, in one message (after a ROLLBACK when the
     * transaction is still open). */
    bool rollback = open && rc != PF_OK && rc != PF_ERR_UNREACHABLE;
    char *exist = pg_existence_sql(req->schema, req->table);
    char *rows = pg_ledger_rows_any_sql(req->schema, req->table, NULL);
    char *unlock = req->unlock ? pg_unlock_sql(req->lock_key) : pf_strdup("");
    char *sql = pf_asprintf("%s%s%s%s", rollback ? "ROLLBACK;\n" : "", exist, rows, unlock);
    PgResults r;
    PfErr ignored;
    int at = rollback ? 1 : 0;
    if (rc != PF_ERR_UNREACHABLE && pg_exec_all(c, sql, &r, &ignored) == PF_OK &&
        r.n >= at + 2 + (req->unlock ? 1 : 0)) {
        pg_existence_read(r.res[at], &end->after);
        pg_ledger_rows_read(r.res[at + 1], &end->after);
        end->read = true;
        end->unlocked = req->unlock;
    }
    if (rc != PF_ERR_UNREACHABLE)
        pg_results_clear(&r);
    free(sql);
    free(exist);
    free(rows);
    free(unlock);
    return rc;
}
