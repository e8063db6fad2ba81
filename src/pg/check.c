/*
 * A wave's health check (docs/waves.md). The user's SQL is sent with the extended protocol,
 * which refuses more than one statement per string, inside a read-only transaction that is
 * always rolled back: a check can look at the database, never change it.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>

/* pg_type.oid of boolean (catalog/pg_type_d.h is a server header, not libpq's). */
#define BOOL_OID 16

static PfErrCode simple(PgConn *c, const char *sql, PfErr *err)
{
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    pg_results_clear(&r);
    return rc;
}

static PfErrCode lost(PgConn *c, PfErr *err)
{
    char *msg = pg_one_line(PQerrorMessage(c->conn));
    pf_err_set(err, PF_ERR_UNREACHABLE, "connection lost: %s", msg);
    free(msg);
    return PF_ERR_UNREACHABLE;
}

/* One row, one boolean column, not null: its value in *ok. */
static PfErrCode read_answer(const PGresult *res, bool *ok, PfErr *err)
{
    if (PQnfields(res) != 1)
        return pf_err_set(err, PF_ERR_PG,
                          "it returned %d columns; expected one row of one boolean column",
                          PQnfields(res));
    if (PQftype(res, 0) != BOOL_OID)
        return pf_err_set(err, PF_ERR_PG,
                          "its column \"%s\" is not a boolean; hint: return a comparison, e.g. "
                          "select count(*) > 0 from ...",
                          PQfname(res, 0));
    if (PQntuples(res) != 1)
        return pf_err_set(err, PF_ERR_PG,
                          "it returned %d rows; expected one row of one boolean column",
                          PQntuples(res));
    if (PQgetisnull(res, 0, 0))
        return pf_err_set(err, PF_ERR_PG, "it returned null");
    *ok = PQgetvalue(res, 0, 0)[0] == 't';
    return PF_OK;
}

PfErrCode pg_check_query(PgConn *c, const char *sql, int64_t statement_timeout_ms, bool *ok,
                         PfErr *err)
{
    *ok = false;
    char *begin = statement_timeout_ms > 0
                      ? pf_asprintf("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = "
                                    "'%lldms'",
                                    (long long)statement_timeout_ms)
                      : pf_strdup("BEGIN TRANSACTION READ ONLY");
    PfErrCode rc = simple(c, begin, err);
    free(begin);
    if (rc != PF_OK) {
        PfErr ignored;
        if (rc == PF_ERR_PG)
            simple(c, "ROLLBACK", &ignored);
        return rc;
    }

    c->round_trips++;
    PGresult *res = PQexecParams(c->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (!res || PQstatus(c->conn) == CONNECTION_BAD) {
        PQclear(res);
        return lost(c, err);
    }
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        rc = read_answer(res, ok, err);
        break;
    case PGRES_COMMAND_OK:
        rc = pf_err_set(err, PF_ERR_PG,
                        "it returned no rows (not a query?); expected one row of one boolean "
                        "column");
        break;
    case PGRES_FATAL_ERROR:
        rc = pg_err_from_result(res, err);
        break;
    default:
        rc = pf_err_set(err, PF_ERR_PG, "unexpected answer to the check query: %s",
                        PQresStatus(PQresultStatus(res)));
        break;
    }
    PQclear(res);

    PfErr rb;
    if (simple(c, "ROLLBACK", &rb) != PF_OK && rc == PF_OK) {
        *err = rb;
        rc = rb.code;
    }
    return rc;
}
