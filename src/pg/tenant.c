/*
 * Schema-per-tenant sessions (docs/tenants.md): a session enters a tenant's schema (its
 * search_path, the schema created when asked), and a session that served one target is made
 * fit for the next tenant of the same database.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

PfErrCode pg_tenant_enter(PgConn *c, const char *schema, bool create, bool *exists, PfErr *err)
{
    char *ident = pg_quote_ident(schema);
    char *lit = pg_quote_literal(schema);
    char *sql =
        create ? pf_asprintf("CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s; SELECT true",
                             ident, ident)
               : pf_asprintf("SET search_path TO %s; SELECT EXISTS (SELECT FROM "
                             "pg_catalog.pg_namespace WHERE nspname = %s)",
                             ident, lit);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    if (rc == PF_OK) {
        const PGresult *last = r.res[r.n - 1];
        char *v = pg_value(last, 0, 0);
        *exists = v && strcmp(v, "t") == 0;
        free(v);
    } else {
        pf_err_prefix(err, "cannot enter schema %s", ident);
    }
    pg_results_clear(&r);
    free(sql);
    free(lit);
    free(ident);
    return rc;
}

bool pg_conn_reset(PgConn *c)
{
    if (PQstatus(c->conn) != CONNECTION_OK || PQtransactionStatus(c->conn) != PQTRANS_IDLE)
        return false;
    PgResults r;
    PfErr err;
    PfErrCode rc = pg_exec_all(c, "DISCARD ALL", &r, &err);
    pg_results_clear(&r);
    return rc == PF_OK;
}
