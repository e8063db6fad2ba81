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
char *pg_quote_ident(const char *ident); /* "a""b", as drizzle quotes */
char *pg_quote_literal(const char *s);   /* 'it''s' (standard_conforming_strings) */
/* "schema"."name" (just "name" when schema is NULL), and that as a string literal: what
 * to_regclass reads. */
char *pg_quote_qualified(const char *schema, const char *name);
char *pg_regclass_literal(const char *schema, const char *name);
char *pg_value(const PGresult *res, int row, int col); /* copy, or NULL when NULL */

/* guard.c: whether e expects anything, and the SQL boolean expression "the server is what e
 * expects" (caller frees), for the lock statement of the survey. */
bool pg_expect_any(const InvExpect *e);
char *pg_expect_sql(const InvExpect *e);

/* ledger.c: the statements that read a ledger, for the messages that fold a read into other
 * work (the survey, the end of apply). Each returns one statement ending in ";\n" (caller
 * frees).
 * - pg_existence_sql: one row, (exists, has v1's name column); read with pg_existence_read.
 * - pg_ledger_rows_sql: the rows of a ledger known to exist with the given shape.
 * - pg_ledger_rows_any_sql: the rows of a ledger of either shape that may not exist (none
 *   then), read only when gate (an SQL boolean, NULL = true) holds; never fails for want of
 *   the table.
 * Both row statements answer (id, hash, created_at, name, applied_at::text), read with
 * pg_ledger_rows_read, which replaces out's rows and keeps its exists and has_name_column.
 * - pg_unlock_sql: pg_advisory_unlock(lock_key), one row. */
char *pg_existence_sql(const char *schema, const char *table);
void pg_existence_read(const PGresult *res, Ledger *out);
char *pg_ledger_rows_sql(const char *schema, const char *table, bool has_name);
char *pg_ledger_rows_any_sql(const char *schema, const char *table, const char *gate);
void pg_ledger_rows_read(const PGresult *res, Ledger *out);
char *pg_unlock_sql(int64_t lock_key);

/* tenant.c: the statements that enter t (PgTenantEnter); the last of their *n_results answers
 * says whether its schema exists. Caller frees. */
char *pg_tenant_enter_sql(const PgTenantEnter *t, int *n_results);

#endif
