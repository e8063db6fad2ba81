/*
 * A dsn as libpq reads it (src/pg/dsn.h): PQconninfoParse's answer copied into pgfleet's own
 * types, so that the rest of pgfleet can ask libpq what a dsn says without including libpq.
 */
#include "pg/dsn.h"

#include "core/mem.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

bool pg_dsn_options(const char *dsn, PgDsnOption **opts, size_t *n)
{
    *opts = NULL;
    *n = 0;
    char *errmsg = NULL;
    PQconninfoOption *all = PQconninfoParse(dsn, &errmsg);
    PQfreemem(errmsg);
    if (!all)
        return false;
    size_t count = 0;
    for (const PQconninfoOption *o = all; o->keyword; o++)
        count += o->val != NULL;
    *opts = pf_calloc(count ? count : 1, sizeof **opts);
    for (const PQconninfoOption *o = all; o->keyword; o++) {
        if (o->val) {
            (*opts)[*n].keyword = pf_strdup(o->keyword);
            (*opts)[*n].value = pf_strdup(o->val);
            (*n)++;
        }
    }
    PQconninfoFree(all);
    return true;
}

void pg_dsn_options_free(PgDsnOption *opts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(opts[i].keyword);
        free(opts[i].value);
    }
    free(opts);
}

const char *pg_dsn_option(const PgDsnOption *opts, size_t n, const char *keyword)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(opts[i].keyword, keyword) == 0)
            return opts[i].value;
    }
    return NULL;
}

bool pg_dsn_keyword(const char *keyword)
{
    /* An empty conninfo parses to the full option table, every value unset. */
    PQconninfoOption *all = PQconninfoParse("", NULL);
    bool known = false;
    for (const PQconninfoOption *o = all; o && o->keyword && !known; o++)
        known = strcmp(o->keyword, keyword) == 0;
    PQconninfoFree(all);
    return known;
}

void pg_dsn_put_value(PfBuf *out, const char *value)
{
    if (*value && !value[strcspn(value, " \t\n\v\f\r='\\")]) {
        pf_buf_puts(out, value);
        return;
    }
    pf_buf_putc(out, '\'');
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            pf_buf_putc(out, '\\');
        pf_buf_putc(out, *p);
    }
    pf_buf_putc(out, '\'');
}
