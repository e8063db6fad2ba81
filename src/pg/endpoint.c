/*
 * Where a dsn points: read with libpq's own parser, so a URL, key=value pairs and percent- or
 * quote-encoded values are understood exactly as libpq will understand them when connecting.
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static const char *option(const PQconninfoOption *opts, const char *key)
{
    for (const PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, key) == 0)
            return o->val && *o->val ? o->val : NULL;
    }
    return NULL;
}

PfErrCode pg_dsn_endpoint(const char *dsn, char **host, int *port, PfErr *err)
{
    *host = NULL;
    *port = 0;
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
    if (!opts) {
        /* libpq's message may quote part of the dsn, password included: not repeated. */
        PQfreemem(errmsg);
        return pf_err_set(err, PF_ERR_INPUT, "the dsn cannot be parsed (libpq rejects it)");
    }
    const char *h = option(opts, "hostaddr");
    if (!h)
        h = option(opts, "host");
    if (!h)
        h = getenv("PGHOSTADDR") && *getenv("PGHOSTADDR") ? getenv("PGHOSTADDR") : getenv("PGHOST");
    const char *p = option(opts, "port");
    if (!p)
        p = getenv("PGPORT");
    PfErrCode rc = PF_OK;
    if (!h || !*h) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "the dsn names no host: a tunnel needs the database's host as the bastion "
                        "sees it; hint: add host=... to the dsn");
    } else if (strchr(h, ',') || (p && strchr(p, ','))) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "multi-host dsns cannot go through a tunnel (it forwards to one "
                        "destination); hint: give one host, or one target per host");
    } else if (h[0] == '/' || h[0] == '@') {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "the dsn's host '%s' is a Unix socket, which a tunnel cannot reach", h);
    } else {
        char *end = NULL;
        long v = p && *p ? strtol(p, &end, 10) : 5432;
        if ((p && *p && *end) || v < 1 || v > 65535) {
            rc = pf_err_set(err, PF_ERR_INPUT, "bad port '%s' in the dsn", p);
        } else {
            *host = pf_strdup(h);
            *port = (int)v;
        }
    }
    PQconninfoFree(opts);
    return rc;
}

char *pg_dsn_server(const char *dsn)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
    if (!opts) {
        PQfreemem(errmsg);
        return NULL;
    }
    const char *h = option(opts, "hostaddr");
    if (!h)
        h = option(opts, "host");
    if (!h)
        h = getenv("PGHOSTADDR") && *getenv("PGHOSTADDR") ? getenv("PGHOSTADDR") : getenv("PGHOST");
    const char *p = option(opts, "port");
    if (!p)
        p = getenv("PGPORT");
    char *server = pf_asprintf("%s:%s", h ? h : "", p && *p ? p : "5432");
    PQconninfoFree(opts);
    return server;
}
