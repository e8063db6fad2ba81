/* Shared between the files of src/pg/ only. */
#ifndef PF_PG_INTERNAL_H
#define PF_PG_INTERNAL_H

#include "core/buf.h"
#include "pg/pg.h"

#include <libpq-fe.h>
#include <pthread.h>

/* A server's connection limit as this process has learnt it (conn.c, connect.h). */
typedef struct PgGate PgGate;

struct PgConn {
    PGconn *conn;
    char *name;
    PgGate *gate; /* the server's: its count of open connections drops when this one closes */
    int round_trips;
    pthread_mutex_t cancel_mutex; /* guards cancel against pg_conn_free */
    PGcancel *cancel;
};

/* Every result of one multi-statement query. */
typedef struct PgResults {
    PGresult **res;
    int n;
    int error_index; /* index of the first error result, or -1 */
} PgResults;

/* Send sql as one simple query (one round trip) and collect every result. Returns PF_ERR_PG
 * with the first error's message, or PF_ERR_UNREACHABLE when the connection broke. The
 * results are kept in either case; clear them with pg_results_clear. */
PfErrCode pg_exec_all(PgConn *c, const char *sql, PgResults *out, PfErr *err);
void pg_results_clear(PgResults *r);

PfErrCode pg_err_from_result(const PGresult *res, PfErr *err);
char *pg_one_line(const char *msg);
char *pg_quote_ident(const char *ident);               /* "a""b", as drizzle quotes */
char *pg_quote_literal(const char *s);                 /* 'it''s' (standard_conforming_strings) */
char *pg_value(const PGresult *res, int row, int col); /* copy, or NULL when NULL */

/* guard.c: whether e expects anything, and the SQL boolean expression "the server is what e
 * expects" (caller frees), for the lock statement of the survey. */
bool pg_expect_any(const InvExpect *e);
char *pg_expect_sql(const InvExpect *e);

#endif
