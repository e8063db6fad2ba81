/*
 * The identity guard (`expect` in the inventory): is the server we reached the one the
 * inventory means? Checked on the identity the survey reads anyway; in apply, the same test
 * is written into the survey's lock statement so that a wrong database never gets the lock.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

bool pg_expect_any(const InvExpect *e)
{
    return e && (e->database || e->user || e->system_identifier);
}

static bool differs(const char *want, const char *got)
{
    return want && (!got || strcmp(want, got) != 0);
}

/* "database X as user U (system identifier S)", with only the parts that are given. */
static void describe(PfBuf *b, const char *database, const char *user, const char *sysid)
{
    const char *sep = "";
    if (database) {
        pf_buf_printf(b, "database %s", database);
        sep = " ";
    }
    if (user) {
        pf_buf_printf(b, "%s%s %s", sep, *sep ? "as user" : "user", user);
        sep = " ";
    }
    if (sysid)
        pf_buf_printf(b, *sep ? " (system identifier %s)" : "system identifier %s", sysid);
}

char *pg_identity_mismatch(const PgIdentity *id, const InvExpect *e)
{
    if (!pg_expect_any(e))
        return NULL;
    bool sysid_hidden = e->system_identifier && !id->system_identifier;
    if (!differs(e->database, id->database) && !differs(e->user, id->user) &&
        !differs(e->system_identifier, id->system_identifier))
        return NULL;
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "expected ");
    describe(&b, e->database, e->user, e->system_identifier);
    pf_buf_puts(&b, ", connected to ");
    describe(&b, id->database ? id->database : "(unknown)", e->user ? id->user : NULL,
             e->system_identifier ? (id->system_identifier ? id->system_identifier : "not readable")
                                  : NULL);
    if (sysid_hidden && !differs(e->database, id->database) && !differs(e->user, id->user))
        pf_buf_printf(&b,
                      "; hint: user %s cannot read the system identifier: GRANT EXECUTE ON "
                      "FUNCTION pg_catalog.pg_control_system() TO it, or drop system_identifier "
                      "from expect",
                      id->user ? id->user : "(unknown)");
    else
        pf_buf_puts(&b, "; hint: check the dsn: it points at another database");
    return pf_buf_take(&b);
}

char *pg_expect_sql(const InvExpect *e)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "coalesce(true");
    if (e->database) {
        char *lit = pg_quote_literal(e->database);
        pf_buf_printf(&b, " AND current_catalog = %s", lit);
        free(lit);
    }
    if (e->user) {
        char *lit = pg_quote_literal(e->user);
        pf_buf_printf(&b, " AND current_user = %s", lit);
        free(lit);
    }
    if (e->system_identifier) {
        char *lit = pg_quote_literal(e->system_identifier);
        pf_buf_printf(&b,
                      " AND CASE WHEN pg_catalog.has_function_privilege("
                      "'pg_catalog.pg_control_system()', 'execute') THEN (SELECT "
                      "system_identifier::text FROM pg_catalog.pg_control_system()) END = %s",
                      lit);
        free(lit);
    }
    pf_buf_puts(&b, ", false)");
    return pf_buf_take(&b);
}
