/*
 * Preflight's catalog query (src/plan/preflight.h): one simple-query message, read-only, with
 * one statement per check, then the long transactions, then the locks on touched tables.
 *
 * One message means one implicit transaction, and an error anywhere loses the whole answer,
 * so nothing in it may fail on a table that does not exist (yet) or that the role cannot
 * read: names are resolved with to_regclass (NULL, not an error, when missing), and the two
 * checks that must read a table (has it rows? has the column NULLs?) build their query with
 * format() and run it through query_to_xml inside a CASE that is taken only when the table
 * exists, is readable and no other session holds an ACCESS EXCLUSIVE lock on it. lock_timeout
 * and statement_timeout are set for this transaction only (set_config(..., true)).
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* Starts the query, so that pgfleet's other preflights (targets sharing a database) are known
 * by their query text and their short AccessShareLocks are not reported. */
#define PREFLIGHT_TAG "/* pgfleet preflight */"
#define PREFLIGHT_LOCK_TIMEOUT "1s"
#define PREFLIGHT_STATEMENT_TIMEOUT "10s"

/* Whether the table may be read now: readable by the role, not locked exclusively by another
 * session (the read would wait). rel is an SQL expression of type regclass. */
static void readable_sql(PfBuf *b, const char *rel, const char *privilege)
{
    pf_buf_printf(b,
                  "coalesce(%s AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
                  "WHERE l.locktype = 'relation' AND l.relation = %s AND l.mode = "
                  "'AccessExclusiveLock' AND l.pid <> pg_catalog.pg_backend_pid()), false)",
                  privilege, rel);
}

static void add_not_null_sql(PfBuf *b, const PreflightCheck *k)
{
    char *rel = pg_regclass_literal(k->schema, k->name), *col = pg_quote_literal(k->column);
    PfBuf ok = PF_BUF_INIT;
    readable_sql(&ok, "r.oid", "pg_catalog.has_table_privilege(r.oid, 'SELECT')");
    pf_buf_printf(b,
                  "SELECT r.oid IS NOT NULL, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
                  "WHERE a.attrelid = r.oid AND a.attname = %s AND a.attnum > 0 AND NOT "
                  "a.attisdropped), false, %s, CASE WHEN %s THEN pg_catalog.query_to_xml("
                  "pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %%s) AS x', r.oid), false, "
                  "true, '')::text LIKE '%%<x>true</x>%%' END "
                  "FROM (SELECT pg_catalog.to_regclass(%s) AS oid) r;\n",
                  col, ok.data, ok.data, rel);
    pf_buf_free(&ok);
    free(rel);
    free(col);
}

static void set_not_null_sql(PfBuf *b, const PreflightCheck *k)
{
    char *rel = pg_regclass_literal(k->schema, k->name), *col = pg_quote_literal(k->column);
    PfBuf ok = PF_BUF_INIT;
    readable_sql(&ok, "r.oid",
                 "NOT a.attnotnull AND pg_catalog.has_column_privilege(r.oid, a.attnum, "
                 "'SELECT')");
    pf_buf_printf(b,
                  "SELECT r.oid IS NOT NULL, a.attnum IS NOT NULL, coalesce(a.attnotnull, false), "
                  "%s, CASE WHEN %s THEN pg_catalog.query_to_xml(pg_catalog.format('SELECT "
                  "EXISTS (SELECT 1 FROM %%s WHERE %%I IS NULL) AS x', r.oid, a.attname), false, "
                  "true, '')::text LIKE '%%<x>true</x>%%' END "
                  "FROM (SELECT pg_catalog.to_regclass(%s) AS oid) r "
                  "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attname = %s "
                  "AND a.attnum > 0 AND NOT a.attisdropped;\n",
                  ok.data, ok.data, rel, col);
    pf_buf_free(&ok);
    free(rel);
    free(col);
}

static void extension_sql(PfBuf *b, const PreflightCheck *k, int server_major)
{
    char *name = pg_quote_literal(k->name);
    pf_buf_printf(
        b,
        "SELECT x.name IS NOT NULL, EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE "
        "e.extname = %s), coalesce((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = "
        "current_user), false), %s, coalesce(v.superuser, true), "
        "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') "
        "FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_available_extensions x ON x.name = %s "
        "LEFT JOIN pg_catalog.pg_available_extension_versions v ON v.name = x.name "
        "AND v.version = x.default_version;\n",
        name, server_major >= 13 ? "coalesce(v.trusted, false)" : "false", name);
    free(name);
}

static const char session_cols[] =
    "coalesce(a.usename::text, ''), coalesce(a.application_name, ''), "
    "coalesce(host(a.client_addr), CASE WHEN a.client_port = -1 THEN 'local' ELSE '' END, ''), "
    "coalesce(a.state, '')";

static void long_xacts_sql(PfBuf *b, int64_t long_xact_ms, int server_major)
{
    pf_buf_printf(b,
                  "SELECT a.pid, %s, extract(epoch FROM now() - a.xact_start)::bigint "
                  "FROM pg_catalog.pg_stat_activity a WHERE a.datname = "
                  "pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid() "
                  "%sAND a.xact_start < now() - interval '%lld milliseconds' "
                  "ORDER BY a.xact_start LIMIT 50;\n",
                  session_cols, server_major >= 10 ? "AND a.backend_type = 'client backend' " : "",
                  (long long)long_xact_ms);
}

static void locks_sql(PfBuf *b, const Preflight *p)
{
    pf_buf_puts(b, "SELECT t.i, coalesce(l.pid, 0), l.mode, l.granted, ");
    pf_buf_puts(b, session_cols);
    pf_buf_puts(b, ", coalesce(extract(epoch FROM now() - coalesce(a.xact_start, "
                   "a.backend_start))::bigint, -1) FROM (VALUES ");
    for (size_t i = 0; i < p->n_tables; i++) {
        char *rel = pg_regclass_literal(p->tables[i].schema, p->tables[i].name);
        pf_buf_printf(b, "%s(%zu, pg_catalog.to_regclass(%s))", i ? ", " : "", i, rel);
        free(rel);
    }
    pf_buf_puts(b, ") t(i, oid) JOIN pg_catalog.pg_locks l ON l.locktype = 'relation' "
                   "AND l.relation = t.oid AND l.database = (SELECT d.oid FROM "
                   "pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) "
                   "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
                   "WHERE l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() "
                   "AND NOT coalesce(a.state = 'active' AND a.query LIKE '" PREFLIGHT_TAG "%', "
                   "false) ORDER BY t.i, l.granted DESC, l.pid;\n");
}

static bool yes(const PGresult *res, int row, int col)
{
    return row < PQntuples(res) && col < PQnfields(res) && !PQgetisnull(res, row, col) &&
           strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static char *text_or_empty(const PGresult *res, int row, int col)
{
    char *v = pg_value(res, row, col);
    return v ? v : pf_strdup("");
}

/* Columns: pid, user, application_name, client_addr, state, age — from col on. */
static void read_session(const PGresult *res, int row, int col, PreflightSession *s)
{
    s->pid = atoi(PQgetvalue(res, row, col));
    s->user = text_or_empty(res, row, col + 1);
    s->application_name = text_or_empty(res, row, col + 2);
    s->client_addr = text_or_empty(res, row, col + 3);
    s->state = text_or_empty(res, row, col + 4);
    s->xact_age_s =
        PQgetisnull(res, row, col + 5) ? -1 : strtoll(PQgetvalue(res, row, col + 5), NULL, 10);
}

PfErrCode pg_preflight(PgConn *c, const Preflight *p, int64_t long_xact_ms, int server_major,
                       PreflightFacts *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    PfBuf q = PF_BUF_INIT;
    pf_buf_puts(&q, PREFLIGHT_TAG
                " SELECT current_user, pg_catalog.current_database(), "
                "pg_catalog.set_config('lock_timeout', '" PREFLIGHT_LOCK_TIMEOUT "', true), "
                "pg_catalog.set_config('statement_timeout', '" PREFLIGHT_STATEMENT_TIMEOUT
                "', true);\n");
    for (size_t i = 0; i < p->n_checks; i++) {
        const PreflightCheck *k = &p->checks[i];
        if (k->kind == PREFLIGHT_ADD_NOT_NULL)
            add_not_null_sql(&q, k);
        else if (k->kind == PREFLIGHT_SET_NOT_NULL)
            set_not_null_sql(&q, k);
        else
            extension_sql(&q, k, server_major);
    }
    if (long_xact_ms > 0)
        long_xacts_sql(&q, long_xact_ms, server_major);
    if (p->n_tables > 0)
        locks_sql(&q, p);

    PgResults r;
    PfErrCode rc = pg_exec_all(c, q.data, &r, err);
    pf_buf_free(&q);
    int want = 1 + (int)p->n_checks + (long_xact_ms > 0) + (p->n_tables > 0);
    if (rc == PF_OK && r.n != want)
        rc = pf_err_set(err, PF_ERR_PG, "unexpected answer to the preflight query (%d results)",
                        r.n);
    if (rc != PF_OK) {
        pg_results_clear(&r);
        return rc;
    }
    int at = 0;
    out->user = pg_value(r.res[at], 0, 0);
    out->database = pg_value(r.res[at], 0, 1);
    at++;
    out->facts = pf_calloc(p->n_checks ? p->n_checks : 1, sizeof *out->facts);
    for (size_t i = 0; i < p->n_checks; i++, at++) {
        const PGresult *res = r.res[at];
        PreflightFact *f = &out->facts[i];
        if (p->checks[i].kind == PREFLIGHT_CREATE_EXTENSION) {
            f->exists = yes(res, 0, 0);
            f->installed = yes(res, 0, 1);
            f->superuser = yes(res, 0, 2);
            f->trusted = yes(res, 0, 3);
            f->needs_superuser = yes(res, 0, 4);
            f->can_create = yes(res, 0, 5);
        } else {
            f->exists = yes(res, 0, 0);
            f->column_exists = yes(res, 0, 1);
            f->not_null = yes(res, 0, 2);
            f->readable = yes(res, 0, 3);
            f->hit = yes(res, 0, 4);
        }
    }
    if (long_xact_ms > 0) {
        const PGresult *res = r.res[at++];
        int rows = PQntuples(res);
        out->long_xacts = pf_calloc(rows ? (size_t)rows : 1, sizeof *out->long_xacts);
        for (int i = 0; i < rows; i++)
            read_session(res, i, 0, &out->long_xacts[i]);
        out->n_long_xacts = (size_t)rows;
    }
    if (p->n_tables > 0) {
        const PGresult *res = r.res[at++];
        int rows = PQntuples(res);
        out->locks = pf_calloc(rows ? (size_t)rows : 1, sizeof *out->locks);
        for (int i = 0; i < rows; i++) {
            PreflightSession *s = &out->locks[i];
            s->table = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
            s->mode = pg_value(res, i, 2);
            s->granted = yes(res, i, 3);
            /* pid, then the session columns and the age, in read_session's order. */
            s->pid = atoi(PQgetvalue(res, i, 1));
            s->user = text_or_empty(res, i, 4);
            s->application_name = text_or_empty(res, i, 5);
            s->client_addr = text_or_empty(res, i, 6);
            s->state = text_or_empty(res, i, 7);
            s->xact_age_s = strtoll(PQgetvalue(res, i, 8), NULL, 10);
        }
        out->n_locks = (size_t)rows;
    }
    pg_results_clear(&r);
    return PF_OK;
}
