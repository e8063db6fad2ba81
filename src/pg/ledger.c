/*
 * Reading where a target stands: identity, the advisory lock and the ledger, in as few round
 * trips as the server allows (one query string per step, several statements each).
 */
#include "pg/internal.h"

#include "core/mem.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t pg_lock_key_derive(const char *schema, const char *table)
{
    char *text = pf_asprintf("pgfleet:%s.%s", schema, table);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL);
    free(text);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | md[i];
    int64_t key;
    memcpy(&key, &v, sizeof key);
    return key;
}

void pg_identity_clear(PgIdentity *id)
{
    free(id->database);
    free(id->user);
    free(id->server_version);
    free(id->system_identifier);
    memset(id, 0, sizeof *id);
}

void pg_lock_holder_clear(PgLockHolder *h)
{
    free(h->application_name);
    free(h->client_addr);
    free(h->user);
    memset(h, 0, sizeof *h);
}

void pg_survey_clear(PgSurvey *s)
{
    if (!s)
        return;
    pg_identity_clear(&s->identity);
    pg_lock_holder_clear(&s->holder);
    ledger_clear(&s->ledger);
    plan_no_ledger_clear(&s->no_ledger);
    free(s->refused);
    s->refused = NULL;
}

static const char identity_sql[] =
    "SELECT current_database(), current_user, current_setting('server_version'), "
    "CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'execute') "
    "THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END;\n";

/* One row: does the table exist, and does it have v1's name column. */
static char *existence_sql(const char *schema, const char *table)
{
    char *qs = pg_quote_ident(schema), *qt = pg_quote_ident(table);
    char *rel = pf_asprintf("%s.%s", qs, qt);
    char *lit = pg_quote_literal(rel);
    char *sql =
        pf_asprintf("SELECT r.oid IS NOT NULL, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
                    "WHERE a.attrelid = r.oid AND a.attname = 'name' AND NOT a.attisdropped) "
                    "FROM (SELECT pg_catalog.to_regclass(%s) AS oid) r;\n",
                    lit);
    free(qs);
    free(qt);
    free(rel);
    free(lit);
    return sql;
}

/* The ledger's columns as drizzle makes them ("name:type"; v1 adds name and applied_at). */
static const char ledger_columns[] = "'id:integer', 'id:bigint', 'hash:text', 'created_at:bigint'";
static const char ledger_columns_v1[] = "'name:text', 'applied_at:timestamp with time zone'";

/* Only while the ledger schema.table is missing (else no rows):
 * - 'o', i, schema, name for each created[i] that exists already, an unqualified name looked
 *   up in current_schema(), where its CREATE would put it;
 * - 'l', NULL, schema, table, rows for each table that looks like this codebase's ledger
 *   elsewhere: drizzle's columns and nothing else, in the ledger's schema, drizzle's default
 *   one or a schema of the search_path (not another tenant's schema), holding a row whose hash
 *   is one of cb's migrations' (not the ledger of another migrations folder); a table this user
 *   may not read is not the ledger of migrations it runs.
 * Names are looked up in the catalogs, which every user may read (to_regclass fails on a
 * schema the user may not use). query_to_xml is how plain SQL counts the rows of a table named
 * at run time; OFFSET 0 keeps it from running on tables that do not have the ledger's shape. */
static char *no_ledger_sql(const char *schema, const char *table, const Codebase *cb,
                           const CbObject *created, size_t n)
{
    char *ls = pg_quote_literal(schema), *lt = pg_quote_literal(table);
    char *missing = pf_asprintf("NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN "
                                "pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace "
                                "WHERE ns.nspname = %s AND c.relname = %s)",
                                ls, lt);
    PfBuf q = PF_BUF_INIT;
    pf_buf_puts(&q, "SELECT * FROM (");
    if (n > 0) {
        static const char space_code[] = {
            [CB_OBJECT_RELATION] = 'r', [CB_OBJECT_TYPE] = 't', [CB_OBJECT_SCHEMA] = 'n'};
        pf_buf_puts(&q, "SELECT 'o'::text, o.i, x.s, o.n, NULL::bigint FROM (VALUES ");
        for (size_t i = 0; i < n; i++) {
            char *s = created[i].schema ? pg_quote_literal(created[i].schema) : NULL;
            char *nm = pg_quote_literal(created[i].name);
            pf_buf_printf(&q, "%s(%zu, '%c', %s::text, %s::text)", i ? ", " : "", i,
                          space_code[created[i].space], s ? s : "NULL", nm);
            free(s);
            free(nm);
        }
        pf_buf_printf(
            &q,
            ") AS o(i, k, s, n), LATERAL (SELECT coalesce(o.s, pg_catalog.current_schema()::text) "
            "AS s) x WHERE %s AND CASE o.k "
            "WHEN 'r' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace "
            "WHERE ns.nspname = x.s AND c.relname = o.n) "
            "WHEN 't' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_type t "
            "JOIN pg_catalog.pg_namespace ns ON ns.oid = t.typnamespace "
            "WHERE ns.nspname = x.s AND t.typname = o.n) "
            "ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = o.n) END "
            "UNION ALL ",
            missing);
    }
    PfBuf hashes = PF_BUF_INIT;
    pf_buf_putc(&hashes, '{');
    for (size_t i = 0; i < cb->n; i++)
        pf_buf_printf(&hashes, "%s%s", i ? "," : "", cb->migrations[i].hash);
    pf_buf_putc(&hashes, '}');
    char *hashes_lit = pg_quote_literal(hashes.data);
    pf_buf_free(&hashes);
    pf_buf_printf(
        &q,
        "SELECT 'l'::text, NULL::integer, l.nspname::text, l.relname::text, "
        "pg_catalog.substring(l.t, '<n>([0-9]+)</n>')::bigint FROM ("
        "SELECT n.nspname, c.relname, CASE WHEN pg_catalog.has_schema_privilege(n.oid, 'USAGE') "
        "AND pg_catalog.has_table_privilege(c.oid, 'SELECT') THEN pg_catalog.query_to_xml("
        "pg_catalog.format('SELECT pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE "
        "hash = ANY (%%L::text[])) AS m FROM %%I.%%I', %s, n.nspname, c.relname), false, true, "
        "'')::text END AS t "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE %s AND c.relkind IN ('r', 'p') "
        "AND (n.nspname IN (%s, 'drizzle') OR n.nspname = ANY (pg_catalog.current_schemas(false))) "
        "AND (SELECT pg_catalog.count(DISTINCT pg_catalog.split_part(x, ':', 1)) FILTER "
        "(WHERE x IN (%s)) = 3 AND pg_catalog.bool_and(x IN (%s, %s)) "
        "FROM (SELECT a.attname::text || ':' || pg_catalog.format_type(a.atttypid, NULL) AS x "
        "FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped) cols) OFFSET 0) l "
        "WHERE pg_catalog.substring(l.t, '<m>([0-9]+)</m>')::bigint > 0"
        ") f ORDER BY 1 DESC, 2, 3, 4;\n",
        hashes_lit, missing, ls, ledger_columns, ledger_columns, ledger_columns_v1);
    free(hashes_lit);
    free(missing);
    free(ls);
    free(lt);
    return pf_buf_take(&q);
}

/* Who else holds the advisory lock of this key in this database (zero or one row). */
static char *holder_sql(int64_t key)
{
    uint64_t k;
    memcpy(&k, &key, sizeof k);
    return pf_asprintf(
        "SELECT l.pid, coalesce(a.application_name, ''), "
        "coalesce(host(a.client_addr), CASE WHEN a.pid IS NOT NULL AND a.client_port = -1 "
        "THEN 'local' ELSE '' END), coalesce(a.usename::text, ''), "
        "coalesce(extract(epoch FROM now() - a.backend_start)::bigint, 0) "
        "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
        "WHERE datname = current_database()) "
        "AND l.classid = '%u'::oid AND l.objid = '%u'::oid AND l.objsubid = 1 LIMIT 1;\n",
        (unsigned)(k >> 32), (unsigned)(k & 0xffffffffu));
}

static void read_identity(const PGresult *res, PgIdentity *id)
{
    id->database = pg_value(res, 0, 0);
    id->user = pg_value(res, 0, 1);
    id->server_version = pg_value(res, 0, 2);
    id->system_identifier = pg_value(res, 0, 3);
}

static void read_existence(const PGresult *res, Ledger *l)
{
    l->exists = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    l->has_name_column = l->exists && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
}

/* What the survey asks besides the lock: whether the ledger exists (existence_sql) and, when
 * it does not, what the database holds instead (no_ledger_sql). Two statements, read with
 * read_exist. */
typedef struct ExistAsk {
    char *sql;
    const CbObject *created;
    size_t n_created;
} ExistAsk;

/* The answer to no_ledger_sql (what a previous attempt read is replaced). */
static void read_no_ledger(const PGresult *res, const CbObject *created, size_t n_created,
                           PlanNoLedger *f)
{
    plan_no_ledger_clear(f);
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        if (strcmp(PQgetvalue(res, r, 0), "o") == 0) {
            size_t i = (size_t)strtoull(PQgetvalue(res, r, 1), NULL, 10);
            if (i >= n_created)
                continue;
            const CbObject *o = &created[i];
            f->existing = pf_realloc(f->existing, (f->n_existing + 1) * sizeof *f->existing);
            f->existing[f->n_existing++] =
                (PlanObject){o->kind, o->space == CB_OBJECT_SCHEMA ? NULL : pg_value(res, r, 2),
                             pf_strdup(o->name), o->migration};
        } else {
            f->lookalikes =
                pf_realloc(f->lookalikes, (f->n_lookalikes + 1) * sizeof *f->lookalikes);
            f->lookalikes[f->n_lookalikes++] = (PlanLedgerLike){
                pg_value(res, r, 2), pg_value(res, r, 3), strtoll(PQgetvalue(res, r, 4), NULL, 10)};
        }
    }
}

/* The answers to ask->sql, at res[0] and res[1]. */
static void read_exist(PGresult *const *res, const ExistAsk *ask, PgSurvey *out)
{
    read_existence(res[0], &out->ledger);
    read_no_ledger(res[1], ask->created, ask->n_created, &out->no_ledger);
}

/* Returns true when a holder row was present. */
static bool read_holder(const PGresult *res, PgLockHolder *h)
{
    if (PQntuples(res) == 0)
        return false;
    h->pid = atoi(PQgetvalue(res, 0, 0));
    h->application_name = pg_value(res, 0, 1);
    h->client_addr = pg_value(res, 0, 2);
    h->user = pg_value(res, 0, 3);
    h->session_age_s = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    return true;
}

/* Who holds the lock: h stays empty (NULL fields) when nobody does any more. */
static PfErrCode query_holder(PgConn *c, int64_t key, PgLockHolder *h, PfErr *err)
{
    char *sql = holder_sql(key);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    if (rc == PF_OK && r.n >= 1)
        read_holder(r.res[0], h);
    pg_results_clear(&r);
    return rc;
}

/* Wait up to lock_wait_ms for the lock: lock_timeout bounds advisory lock waits too. The SET
 * is undone by the implicit transaction's rollback when the wait times out (or is cancelled);
 * that is no error here, only a broken connection is. */
static PfErrCode wait_for_lock(PgConn *c, int64_t lock_key, int64_t lock_wait_ms,
                               const ExistAsk *exist, PgSurvey *out, PfErr *err)
{
    char *sql = pf_asprintf("SET lock_timeout = '%lldms'; SELECT pg_catalog.pg_advisory_lock("
                            "%lld); SET lock_timeout = DEFAULT; %s",
                            (long long)lock_wait_ms, (long long)lock_key, exist->sql);
    PfErr wait_err;
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, &wait_err);
    free(sql);
    if (rc == PF_OK && r.n >= 5) {
        out->lock_acquired = true;
        read_exist(&r.res[3], exist, out);
    }
    pg_results_clear(&r);
    if (rc == PF_ERR_UNREACHABLE) {
        *err = wait_err;
        return rc;
    }
    return PF_OK;
}

/* One more pg_try_advisory_lock, with the existence check under it when it is granted. */
static PfErrCode try_lock_again(PgConn *c, int64_t lock_key, const ExistAsk *exist, PgSurvey *out,
                                PfErr *err)
{
    char *sql = pf_asprintf("SELECT pg_catalog.pg_try_advisory_lock(%lld); %s", (long long)lock_key,
                            exist->sql);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    if (rc == PF_OK && r.n >= 3 && strcmp(PQgetvalue(r.res[0], 0, 0), "t") == 0) {
        out->lock_acquired = true;
        read_exist(&r.res[1], exist, out);
    }
    pg_results_clear(&r);
    return rc;
}

PfErrCode pg_ledger_read(PgConn *c, const char *schema, const char *table, Ledger *out, PfErr *err)
{
    ledger_clear(out);
    if (!out->exists)
        return PF_OK;
    char *qs = pg_quote_ident(schema), *qt = pg_quote_ident(table);
    char *sql = pf_asprintf("SELECT id, hash, created_at%s FROM %s.%s ORDER BY id",
                            out->has_name_column ? ", name, applied_at::text" : "", qs, qt);
    free(qs);
    free(qt);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    if (rc != PF_OK) {
        pf_err_prefix(err, "reading the ledger %s.%s", schema, table);
        pg_results_clear(&r);
        return rc;
    }
    const PGresult *res = r.res[r.n - 1];
    int rows = PQntuples(res);
    out->rows = pf_calloc((size_t)(rows ? rows : 1), sizeof *out->rows);
    for (int i = 0; i < rows; i++) {
        LedgerRow *row = &out->rows[i];
        row->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        row->hash = pg_value(res, i, 1);
        row->has_created_at = !PQgetisnull(res, i, 2);
        row->created_at = row->has_created_at ? strtoll(PQgetvalue(res, i, 2), NULL, 10) : 0;
        if (out->has_name_column) {
            row->name = pg_value(res, i, 3);
            row->applied_at = pg_value(res, i, 4);
        }
    }
    out->n = (size_t)rows;
    pg_results_clear(&r);
    return PF_OK;
}

PfErrCode pg_ledger_read_fresh(PgConn *c, const char *schema, const char *table, Ledger *out,
                               PfErr *err)
{
    ledger_clear(out);
    out->exists = out->has_name_column = false;
    char *exist = existence_sql(schema, table);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, exist, &r, err);
    free(exist);
    if (rc == PF_OK && r.n >= 1)
        read_existence(r.res[r.n - 1], out);
    pg_results_clear(&r);
    if (rc != PF_OK) {
        pf_err_prefix(err, "reading the ledger %s.%s", schema, table);
        return rc;
    }
    return pg_ledger_read(c, schema, table, out, err);
}

PfErrCode pg_survey(PgConn *c, const char *schema, const char *table, int64_t lock_key,
                    PgLockMode mode, int64_t lock_wait_ms, const InvExpect *expect,
                    const Codebase *cb, PgSurvey *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    PfBuf q = PF_BUF_INIT;
    char *existence = existence_sql(schema, table);
    char *instead = no_ledger_sql(schema, table, cb, cb->created, cb->n_created);
    ExistAsk exist_ask = {pf_asprintf("%s%s", existence, instead), cb->created, cb->n_created};
    const ExistAsk *exist = &exist_ask;
    free(existence);
    free(instead);
    pf_buf_puts(&q, identity_sql);
    if (mode == PG_LOCK_TAKE) {
        /* The lock comes before the existence check so that what we read is under it. A
         * server that is not the one expected does not get it. */
        if (pg_expect_any(expect)) {
            char *guard = pg_expect_sql(expect);
            pf_buf_printf(&q,
                          "SELECT CASE WHEN %s THEN pg_catalog.pg_try_advisory_lock(%lld) "
                          "ELSE false END;\n",
                          guard, (long long)lock_key);
            free(guard);
        } else {
            pf_buf_printf(&q, "SELECT pg_catalog.pg_try_advisory_lock(%lld);\n",
                          (long long)lock_key);
        }
        pf_buf_puts(&q, exist->sql);
    } else {
        pf_buf_puts(&q, exist->sql);
        char *holder = holder_sql(lock_key);
        pf_buf_puts(&q, holder);
        free(holder);
    }
    PgResults r;
    PfErrCode rc = pg_exec_all(c, q.data, &r, err);
    pf_buf_free(&q);
    if (rc != PF_OK || r.n < 4) {
        if (rc == PF_OK)
            rc = pf_err_set(err, PF_ERR_PG, "unexpected answer to the survey query");
        pg_results_clear(&r);
        free(exist_ask.sql);
        return rc;
    }
    read_identity(r.res[0], &out->identity);
    if (mode == PG_LOCK_TAKE) {
        out->lock_acquired = strcmp(PQgetvalue(r.res[1], 0, 0), "t") == 0;
        read_exist(&r.res[2], exist, out);
    } else {
        read_exist(&r.res[1], exist, out);
        out->locked_by_other = read_holder(r.res[3], &out->holder);
    }
    pg_results_clear(&r);
    if ((out->refused = pg_identity_mismatch(&out->identity, expect))) {
        free(exist_ask.sql);
        out->locked_by_other = false;
        pg_lock_holder_clear(&out->holder);
        if (out->lock_acquired) {
            /* The SQL test let it through: let go of it (failing that, it goes with the
             * session, which the caller closes). */
            PfErr ignored;
            out->lock_acquired = false;
            pg_lock_release(c, lock_key, &ignored);
        }
        return PF_OK;
    }

    /* Not locked: wait for it (lock_wait), then ask who holds it. The holder can let go
     * between our attempt and that question; then there is nobody to report and the lock
     * is free: try again (a few times: each attempt found a different holder that left). */
    for (int attempt = 0; mode == PG_LOCK_TAKE && !out->lock_acquired; attempt++) {
        if (lock_wait_ms > 0 && attempt == 0) {
            rc = wait_for_lock(c, lock_key, lock_wait_ms, exist, out, err);
            if (rc != PF_OK || out->lock_acquired)
                break;
        }
        PgLockHolder h = {0};
        rc = query_holder(c, lock_key, &h, err);
        if (rc != PF_OK) {
            pg_lock_holder_clear(&h);
            break;
        }
        if (h.application_name || attempt >= 20) {
            out->locked_by_other = true;
            out->holder = h;
            if (!h.application_name) /* it kept changing hands: say so, not a stale pid */
                out->holder = (PgLockHolder){0, pf_strdup(""), pf_strdup(""), pf_strdup(""), 0};
            free(exist_ask.sql);
            return PF_OK;
        }
        rc = try_lock_again(c, lock_key, exist, out, err);
        if (rc != PF_OK)
            break;
    }
    free(exist_ask.sql);
    if (rc != PF_OK)
        return rc;
    return pg_ledger_read(c, schema, table, &out->ledger, err);
}

PfErrCode pg_lock_release(PgConn *c, int64_t lock_key, PfErr *err)
{
    char *sql = pf_asprintf("SELECT pg_catalog.pg_advisory_unlock(%lld)", (long long)lock_key);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    pg_results_clear(&r);
    return rc;
}
