/*
 * Schema-per-tenant sessions (docs/tenants.md): a session that served one tenant is made fit
 * for the next tenant of the same database, and enters its schema (its search_path, the schema
 * created when asked): statements the survey sends first, in its own message.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* DISCARD ALL, as the documentation spells it out, in statements a multi-statement message may
 * carry: nine answers. */
static const char reset_sql[] = "CLOSE ALL;\nSET SESSION AUTHORIZATION DEFAULT;\nRESET ALL;\n"
                                "DEALLOCATE ALL;\nUNLISTEN *;\n"
                                "SELECT pg_catalog.pg_advisory_unlock_all();\nDISCARD PLANS;\n"
                                "DISCARD TEMP;\nDISCARD SEQUENCES;\n";
#define RESET_RESULTS 9

char *pg_tenant_enter_sql(const PgTenantEnter *t, int *n_results)
{
    char *ident = pg_quote_ident(t->schema);
    char *lit = pg_quote_literal(t->schema);
    char *enter = t->create ? pf_asprintf("CREATE SCHEMA IF NOT EXISTS %s;\nSET search_path TO "
                                          "%s;\nSELECT true;\n",
                                          ident, ident)
                            : pf_asprintf("SET search_path TO %s;\nSELECT EXISTS (SELECT FROM "
                                          "pg_catalog.pg_namespace WHERE nspname = %s);\n",
                                          ident, lit);
    char *sql = pf_asprintf("%s%s", t->reset ? reset_sql : "", enter);
    *n_results = (t->reset ? RESET_RESULTS : 0) + (t->create ? 3 : 2);
    free(enter);
    free(lit);
    free(ident);
    return sql;
}

bool pg_conn_reusable(const PgConn *c)
{
    return PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) == PQTRANS_IDLE;
}
