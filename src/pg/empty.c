/* Whether a database (or a tenant's schema) holds anything of its own: backups' when: non-empty. */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

PfErrCode pg_database_empty(PgConn *c, const char *schema, bool *empty, PfErr *err)
{
    *empty = false;
    char *where = schema ? pg_quote_literal(schema) : NULL;
    char *sql = pf_asprintf(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid = c.relnamespace WHERE %s%s%s)",
        where ? "n.nspname = " : "", where ? where : "",
        where ? ""
              : "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ "
                "'^pg_(toast|temp_)'");
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    if (rc == PF_OK && r.n == 1 && PQntuples(r.res[0]) == 1)
        *empty = strcmp(PQgetvalue(r.res[0], 0, 0), "t") == 0;
    pg_results_clear(&r);
    free(sql);
    free(where);
    return rc;
}
