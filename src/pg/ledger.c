/*
 * Reading where a target stands: identity, the advisory lock and the ledger, in as few round
 * trips as the server allows (one query string per step, several statements each).
 */
#include "pg/internal.h"

#include "core/mem.h"
#include "pg/xmlforest.h"

#include <errno.h>
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

/* The identity: the system identifier (which reads the control file) only when expect names
 * one, else NULL. current_catalog and current_user are keywords, not functions: a new session
 * looks nothing up for them. The server's version is not asked: the server sends it when the
 * session starts (read_identity). */
static const char *identity_sql(const InvExpect *expect)
{
    return expect && expect->system_identifier
               ? "SELECT current_catalog, current_user, "
                 "CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'execute') "
                 "THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) "
                 "END;\n"
               : "SELECT current_catalog, current_user, NULL::text;\n";
}

/* One row: does the table exist, and does it have v1's name column. The column is read from
 * the keys of the table's row type as jsonb (a row of NULLs: dropped columns are not in it),
 * inside query_to_xml, only when the table exists: a statement naming a missing table fails.
 * The row type comes from the caches, where a query on pg_attribute would be planned cold, a
 * millisecond or more on a new session; the rows' read uses jsonb anyway. */
char *pg_existence_sql(const char *schema, const char *table)
{
    char *lit = pg_regclass_literal(schema, table);
    char *rel = pg_quote_qualified(schema, table);
    char *query = pf_asprintf("SELECT 1 AS e WHERE pg_catalog.to_jsonb("
                              "pg_catalog.jsonb_populate_record(NULL::%s, '{}')) ? 'name'",
                              rel);
    char *query_lit = pg_quote_literal(query);
    char *sql = pf_asprintf("SELECT r.oid IS NOT NULL, CASE WHEN r.oid IS NOT NULL THEN "
                            "pg_catalog.query_to_xml(%s, false, true, '')::text <> '' END FROM "
                            "(SELECT pg_catalog.to_regclass(%s) AS oid OFFSET 0) r;\n",
                            query_lit, lit);
    free(lit);
    free(rel);
    free(query);
    free(query_lit);
    return sql;
}

char *pg_ledger_rows_sql(const char *schema, const char *table, bool has_name)
{
    char *rel = pg_quote_qualified(schema, table);
    char *sql = pf_asprintf("SELECT id, hash, created_at, %s FROM %s ORDER BY id;\n",
                            has_name ? "name, applied_at::text" : "NULL::text, NULL::text", rel);
    free(rel);
    return sql;
}

/* A ledger row's columns from its to_jsonb (j), the same for 0.x and v1 ledgers (a 0.x row
 * has no name or applied_at: NULL). */
#define ROW_COLUMNS                                                                                \
    "(j->>'id')::bigint AS id, j->>'hash' AS hash, (j->>'created_at')::bigint AS created_at, "     \
    "j->>'name' AS name, (j->>'applied_at')::timestamptz::text AS applied_at"

/* The rows of a ledger that may not exist, of either shape, in one statement that never fails
 * for want of the table: a statement naming a missing table fails as a whole (and with it the
 * rest of its message), so the table is named only in a query string that query_to_xml runs
 * when the table exists and gate holds (CASE evaluates only the branch it takes: query_to_xml
 * is volatile, so the planner does not fold it). Each row comes back as to_jsonb text, which
 * has the same keys for 0.x and v1 ledgers; JSON escapes control characters, so inside the XML
 * only &, < and > are escaped, and undone here (&amp; last). Ordering by hash and created_at
 * too makes a table without those columns fail, as the plain read does. */
static char *rows_any_from(const char *schema, const char *table, const char *gate)
{
    char *rel = pg_quote_qualified(schema, table);
    char *rel_lit = pg_quote_literal(rel);
    char *inner = pf_asprintf("SELECT pg_catalog.to_jsonb(pgfleet_row)::text AS j FROM %s "
                              "pgfleet_row ORDER BY pgfleet_row.id, pgfleet_row.hash, "
                              "pgfleet_row.created_at",
                              rel);
    char *inner_lit = pg_quote_literal(inner);
    char *sql = pf_asprintf(
        "(SELECT " ROW_COLUMNS ", m.i AS ord FROM (SELECT CASE WHEN pg_catalog.to_regclass(%s) "
        "IS NOT NULL AND %s THEN pg_catalog.query_to_xml(%s, false, true, '')::text END AS x) q, "
        "LATERAL pg_catalog.regexp_matches(q.x, '<j>([^<]*)</j>', 'g') WITH ORDINALITY AS m(v, "
        "i), LATERAL (SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(m.v[1], "
        "'&lt;', '<'), '&gt;', '>'), '&amp;', '&')::jsonb AS j) d) pgfleet_ledger",
        rel_lit, gate ? gate : "true", inner_lit);
    free(rel);
    free(rel_lit);
    free(inner);
    free(inner_lit);
    return sql;
}

/* The same rows, for a query that runs only when the table exists (inside query_to_xml, behind
 * rows_xml_sql's test): read straight from the table, each row's jsonb taken once. */
static char *rows_direct_from(const char *schema, const char *table)
{
    char *rel = pg_quote_qualified(schema, table);
    char *sql = pf_asprintf(
        "(SELECT " ROW_COLUMNS ", pg_catalog.row_number() OVER (ORDER BY s.id, s.hash, "
        "s.created_at) AS ord FROM (SELECT pg_catalog.to_jsonb(pgfleet_row) AS j, pgfleet_row.id, "
        "pgfleet_row.hash, pgfleet_row.created_at FROM %s pgfleet_row) s) pgfleet_ledger",
        rel);
    free(rel);
    return sql;
}

/* The rows of a ledger source (rows_any_from, rows_direct_from) in order, without a
 * terminator. */
static char *rows_select(const char *from)
{
    return pf_asprintf("SELECT id, hash, created_at, name, applied_at FROM %s ORDER BY ord", from);
}

char *pg_ledger_rows_any_sql(const char *schema, const char *table, const char *gate)
{
    char *from = rows_any_from(schema, table, gate);
    char *select = rows_select(from);
    char *sql = pf_asprintf("%s;\n", select);
    free(from);
    free(select);
    return sql;
}

/* The rows of the ledger source from (rows_direct_from) with a sixth column, pgfleet_released:
 * the advisory lock lock_key is released when the rows are exactly e's (the same hash,
 * created_at and name, in id order), and the column is then non-NULL on every row. One
 * statement (without a terminator), so the rows compared are the rows returned (one snapshot),
 * and the unlock runs only once all of them were read: it needs their aggregate. Neither CTE is
 * folded into the query (l is read twice, u calls a volatile function), so each runs once; no
 * MATERIALIZED, which PostgreSQL 11 cannot parse. */
static char *rows_release_sql(const char *from, int64_t lock_key, const Ledger *e)
{
    PfBuf h = PF_BUF_INIT, c = PF_BUF_INIT, n = PF_BUF_INIT;
    for (size_t i = 0; i < e->n; i++) {
        const LedgerRow *row = &e->rows[i];
        char *hash = row->hash ? pg_quote_literal(row->hash) : pf_strdup("NULL");
        char *name = row->name ? pg_quote_literal(row->name) : pf_strdup("NULL");
        pf_buf_printf(&h, "%s%s", i ? ", " : "", hash);
        if (row->has_created_at)
            pf_buf_printf(&c, "%s%lld", i ? ", " : "", (long long)row->created_at);
        else
            pf_buf_printf(&c, "%sNULL", i ? ", " : "");
        pf_buf_printf(&n, "%s%s", i ? ", " : "", name);
        free(hash);
        free(name);
    }
    char *sql = pf_asprintf(
        "WITH l AS (SELECT * FROM %s), u AS (SELECT "
        "pg_catalog.pg_advisory_unlock(%lld) AS released FROM (SELECT pg_catalog.array_agg(hash "
        "ORDER BY ord) AS h, pg_catalog.array_agg(created_at ORDER BY ord) AS c, "
        "pg_catalog.array_agg(name ORDER BY ord) AS n FROM l) a WHERE a.h = ARRAY[%s]::text[] "
        "AND a.c = ARRAY[%s]::bigint[] AND a.n = ARRAY[%s]::text[]) "
        "SELECT id, hash, created_at, name, applied_at, (SELECT released FROM u) AS "
        "pgfleet_released FROM l ORDER BY ord",
        from, (long long)lock_key, h.data ? h.data : "", c.data ? c.data : "",
        n.data ? n.data : "");
    pf_buf_free(&h);
    pf_buf_free(&c);
    pf_buf_free(&n);
    return sql;
}

void pg_ledger_rows_read(const PGresult *res, Ledger *out)
{
    ledger_clear(out);
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
}

char *pg_unlock_sql(int64_t lock_key)
{
    return pf_asprintf("SELECT pg_catalog.pg_advisory_unlock(%lld) AS pgfleet_unlocked;\n",
                       (long long)lock_key);
}

/* The ledger's columns as drizzle makes them ("name:type"; v1 adds name and applied_at). */
static const char ledger_columns[] = "'id:integer', 'id:bigint', 'hash:text', 'created_at:bigint'";
static const char ledger_columns_v1[] = "'name:text', 'applied_at:timestamp with time zone'";

/* Only while the ledger schema.table is missing (else NULL), as query_to_xml text of one row
 * whose o and a are forests in turn (read_no_ledger), a row each:
 * - 'o', i, schema, name for each created[i] that exists already, an unqualified name looked
 *   up in current_schema(), where its CREATE would put it;
 * - 'l', NULL, schema, table, rows for each table that looks like this codebase's ledger
 *   elsewhere: drizzle's columns and nothing else, in the ledger's schema, drizzle's default
 *   one (not for a tenant schema: a ledger there is the database's own, of the migrations run
 *   outside the tenants) or a schema of the search_path (not another tenant's schema), holding a
 * row whose hash is one of cb's migrations' (not the ledger of another migrations folder); a table
 * this user may not read is not the ledger of migrations it runs.
 * Both are queries that a new session would spend far longer planning (every catalog, function
 * and operator they use looked up cold) than running, so each is a string that query_to_xml
 * plans and runs only when it is needed:
 * - the objects are looked up by name through the session's caches (to_regclass, to_regtype,
 *   to_regnamespace), as a CREATE would find them; in a schema the user may not use, where
 *   to_regclass fails, in the catalogs, which every user may read;
 * - the look-alikes only when one of the objects exists, or when a migration creates none that
 *   is looked for: a ledger elsewhere that holds one of cb's hashes has run a migration whose
 *   objects then exist, unless every one of them was dropped since.
 * query_to_xml is how plain SQL counts the rows of a table named at run time; OFFSET 0 keeps it
 * from running on tables that do not have the ledger's shape. */
static char *no_ledger_sql(const char *schema, const char *table, const Codebase *cb,
                           const CbObject *created, size_t n, bool tenant)
{
    char *ls = pg_quote_literal(schema);
    /* Whether some migration creates nothing looked for: then the look-alikes are always
     * looked for. */
    bool *creates = pf_calloc(cb->n ? cb->n : 1, sizeof *creates);
    for (size_t i = 0; i < n; i++)
        if (created[i].migration < cb->n)
            creates[created[i].migration] = true;
    bool always = n == 0;
    for (size_t m = 0; m < cb->n; m++)
        always = always || !creates[m];
    free(creates);

    char *objects_lit = NULL;
    if (n > 0) {
        static const char space_code[] = {
            [CB_OBJECT_RELATION] = 'r', [CB_OBJECT_TYPE] = 't', [CB_OBJECT_SCHEMA] = 'n'};
        PfBuf q = PF_BUF_INIT;
        pf_buf_puts(&q, "SELECT 'o'::text AS k, o.i, x.s, o.n, NULL::bigint AS r FROM (VALUES ");
        for (size_t i = 0; i < n; i++) {
            char *s = created[i].schema ? pg_quote_literal(created[i].schema) : NULL;
            char *nm = pg_quote_literal(created[i].name);
            pf_buf_printf(&q, "%s(%zu, '%c', %s::text, %s::text)", i ? ", " : "", i,
                          space_code[created[i].space], s ? s : "NULL", nm);
            free(s);
            free(nm);
        }
        pf_buf_puts(
            &q,
            ") AS o(i, k, s, n), LATERAL (SELECT y.s, pg_catalog.to_regnamespace("
            "pg_catalog.quote_ident(y.s)) AS ns FROM (SELECT coalesce(o.s, "
            "pg_catalog.current_schema()::text) AS s) y) x WHERE CASE "
            "WHEN o.k = 'n' THEN pg_catalog.to_regnamespace(pg_catalog.quote_ident(o.n)) IS NOT "
            "NULL WHEN x.ns IS NULL THEN false "
            "WHEN pg_catalog.has_schema_privilege(x.ns, 'USAGE') THEN CASE o.k "
            "WHEN 'r' THEN pg_catalog.to_regclass(pg_catalog.format('%I.%I', x.s, o.n)) IS NOT "
            "NULL ELSE pg_catalog.to_regtype(pg_catalog.format('%I.%I', x.s, o.n)) IS NOT NULL END "
            "ELSE pg_catalog.query_to_xml(pg_catalog.format(CASE o.k WHEN 'r' THEN 'SELECT 1 AS e "
            "FROM pg_catalog.pg_class WHERE relnamespace = %s AND relname = %L' ELSE 'SELECT 1 AS "
            "e FROM pg_catalog.pg_type WHERE typnamespace = %s AND typname = %L' END, "
            "x.ns::oid, o.n), false, true, '')::text <> '' END ORDER BY o.i");
        objects_lit = pg_quote_literal(q.data);
        pf_buf_free(&q);
    }

    PfBuf hashes = PF_BUF_INIT;
    pf_buf_putc(&hashes, '{');
    for (size_t i = 0; i < cb->n; i++)
        pf_buf_printf(&hashes, "%s%s", i ? "," : "", cb->migrations[i].hash);
    pf_buf_putc(&hashes, '}');
    char *hashes_lit = pg_quote_literal(hashes.data);
    pf_buf_free(&hashes);
    char *alikes = pf_asprintf(
        "SELECT 'l'::text AS k, NULL::integer AS i, l.nspname::text AS s, l.relname::text AS n, "
        "pg_catalog.substring(l.t, '<n>([0-9]+)</n>')::bigint AS r FROM ("
        "SELECT n.nspname, c.relname, CASE WHEN pg_catalog.has_schema_privilege(n.oid, 'USAGE') "
        "AND pg_catalog.has_table_privilege(c.oid, 'SELECT') THEN pg_catalog.query_to_xml("
        "pg_catalog.format('SELECT pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE "
        "hash = ANY (%%L::text[])) AS m FROM %%I.%%I', %s, n.nspname, c.relname), false, true, "
        "'')::text END AS t "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') "
        "AND (n.nspname IN (%s, %s) OR n.nspname = ANY (pg_catalog.current_schemas(false))) "
        "AND (SELECT pg_catalog.count(DISTINCT pg_catalog.split_part(x, ':', 1)) FILTER "
        "(WHERE x IN (%s)) = 3 AND pg_catalog.bool_and(x IN (%s, %s)) "
        "FROM (SELECT a.attname::text || ':' || pg_catalog.format_type(a.atttypid, NULL) AS x "
        "FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "AND NOT a.attisdropped) cols) OFFSET 0) l "
        "WHERE pg_catalog.substring(l.t, '<m>([0-9]+)</m>')::bigint > 0 ORDER BY 3, 4",
        hashes_lit, ls, tenant ? ls : "'drizzle'", ledger_columns, ledger_columns,
        ledger_columns_v1);
    char *alikes_lit = pg_quote_literal(alikes);
    /* Both run only when the ledger is missing, which the to_regclass guard alone decides:
     * what reads them and gates the look-alikes on the objects is itself a query string, so
     * that a session whose ledger exists, as most do, plans one function call for them.
     * pgfleet takes the text apart (xmlforest.h): one row, o and a, each the text of a forest
     * whose rows have an element per column: k, i, s, n, r (read_no_ledger). */
    char *objects =
        objects_lit ? pf_asprintf("pg_catalog.query_to_xml(%s, false, true, '')::text", objects_lit)
                    : pf_strdup("''::text");
    char *both = pf_asprintf("SELECT x.o, CASE WHEN %s THEN pg_catalog.query_to_xml(%s, false, "
                             "true, '')::text END AS a FROM (SELECT %s AS o OFFSET 0) x",
                             always ? "true" : "x.o <> ''", alikes_lit, objects);
    char *both_lit = pg_quote_literal(both);
    char *rel = pg_regclass_literal(schema, table);
    char *sql = pf_asprintf("SELECT CASE WHEN pg_catalog.to_regclass(%s) IS NULL THEN "
                            "pg_catalog.query_to_xml(%s, false, true, '')::text END;\n",
                            rel, both_lit);
    free(both);
    free(both_lit);
    free(objects);
    free(rel);
    free(alikes_lit);
    free(alikes);
    free(objects_lit);
    free(hashes_lit);
    free(ls);
    return sql;
}

/* query (one statement over rows_direct_from, without a terminator) run by query_to_xml only
 * when the ledger exists and gate holds, its rows returned as one text (read_rows_xml): a new
 * session plans none of what reads and compares the rows (jsonb and array operators) for a
 * database without the ledger, where that planning was most of the survey's server time. */
static char *rows_xml_sql(const char *schema, const char *table, const char *gate,
                          const char *query)
{
    char *query_lit = pg_quote_literal(query);
    char *rel = pg_regclass_literal(schema, table);
    char *sql = pf_asprintf("SELECT CASE WHEN pg_catalog.to_regclass(%s) IS NOT NULL AND %s THEN "
                            "pg_catalog.query_to_xml(%s, false, true, '')::text END;\n",
                            rel, gate ? gate : "true", query_lit);
    free(query_lit);
    free(rel);
    return sql;
}

/* The key's two halves as pg_locks shows an advisory lock taken with a bigint key. */
static void key_halves(int64_t key, unsigned *hi, unsigned *lo)
{
    uint64_t k;
    memcpy(&k, &key, sizeof k);
    *hi = (unsigned)(k >> 32);
    *lo = (unsigned)(k & 0xffffffffu);
}

/* Who else holds the advisory lock of this key, from a session of this database other than
 * this one: at most one row of pid, app, addr, usr, age and shared, as query_to_xml gives it.
 * An exclusive holder (an apply, a rollback, a mark: what TAKE mode takes) comes first; a
 * shared one is most likely the CHECK survey's probe (probe_sql), which holds the key only
 * between two function calls. The lock table is read through pg_lock_status(), the function
 * behind pg_locks (a new connection need not load the view's definition). A holder that ended
 * meanwhile has no row: its lock went with it. */
static char *holder_xml_sql(int64_t key)
{
    unsigned hi, lo;
    key_halves(key, &hi, &lo);
    char *query = pf_asprintf(
        "SELECT l.pid, coalesce(a.application_name, '') AS app, coalesce(host(a.client_addr), "
        "CASE WHEN a.client_port = -1 THEN 'local' ELSE '' END) AS addr, "
        "coalesce(pg_catalog.pg_get_userbyid(a.usesysid)::text, '') AS usr, "
        "coalesce(extract(epoch FROM now() - a.backend_start)::bigint, 0) AS age, l.mode <> "
        "'ExclusiveLock' AS shared FROM pg_catalog.pg_lock_status() l, LATERAL "
        "pg_catalog.pg_stat_get_activity(l.pid) a WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = '%u'::oid AND l.objid = '%u'::oid AND l.objsubid = 1 AND a.pid <> "
        "pg_catalog.pg_backend_pid() AND a.datid = (SELECT s.datid FROM "
        "pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) s) ORDER BY 6 LIMIT 1",
        hi, lo);
    char *lit = pg_quote_literal(query);
    char *sql = pf_asprintf("pg_catalog.query_to_xml(%s, false, true, '')::text", lit);
    free(query);
    free(lit);
    return sql;
}

/* The holder, asked outright: one row, its text empty when nobody holds the key. */
static char *holder_sql(int64_t key)
{
    char *xml = holder_xml_sql(key);
    char *sql = pf_asprintf("SELECT %s;\n", xml);
    free(xml);
    return sql;
}

/* The holder, asked only when the key is taken: a shared try of the key, let go at once when
 * granted (CASE evaluates its branches in order), fails only while someone holds it
 * exclusively; only then is the lock table read and the holder's session looked up, planned
 * inside query_to_xml. A new session thus plans two function calls when nobody holds the key,
 * as in almost every survey. One row, NULL when the key is free (or when expect names
 * another server: that one is not tried, as TAKE mode does not lock it). The shared hold lasts
 * microseconds; a TAKE attempt that meets it finds no exclusive holder and tries again
 * (pg_survey). */
static char *probe_sql(int64_t key, const InvExpect *expect)
{
    char *xml = holder_xml_sql(key);
    char *guard = pg_expect_any(expect) ? pg_expect_sql(expect) : NULL;
    char *unexpected = guard ? pf_asprintf("WHEN NOT %s THEN NULL ", guard) : pf_strdup("");
    char *sql = pf_asprintf("SELECT CASE %sWHEN NOT "
                            "pg_catalog.pg_try_advisory_lock_shared(%lld) THEN %s WHEN "
                            "pg_catalog.pg_advisory_unlock_shared(%lld) THEN NULL END;\n",
                            unexpected, (long long)key, xml, (long long)key);
    free(xml);
    free(guard);
    free(unexpected);
    return sql;
}

/* The statement that takes the lock records whether it got it in a setting of the session
 * (taken_sql: the lock's boolean, remembered), and what the lock gates reads it back
 * (HELD_SQL: true only when this message's attempt got it; NULL before any attempt): no look
 * in pg_locks. A failed attempt's message stops there, and rolls the setting back with it. */
#define HELD_SQL "(pg_catalog.current_setting('pgfleet.locked', true) = 'true')"

static char *taken_sql(const char *lock)
{
    return pf_asprintf("pg_catalog.set_config('pgfleet.locked', (%s)::text, false)::boolean", lock);
}

/* The answer to identity_sql, with the server_version the server reported at start-up (the
 * same text as current_setting('server_version')). */
static void read_identity(const PGresult *res, PGconn *conn, PgIdentity *id)
{
    const char *version = PQparameterStatus(conn, "server_version");
    id->database = pg_value(res, 0, 0);
    id->user = pg_value(res, 0, 1);
    id->server_version = version ? pf_strdup(version) : NULL;
    id->system_identifier = pg_value(res, 0, 2);
}

void pg_existence_read(const PGresult *res, Ledger *l)
{
    l->exists = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    l->has_name_column = l->exists && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
}

/* What the survey asks besides the lock, and under it (when it takes the lock: TAKE mode):
 * whether the ledger exists (pg_existence_sql, which a writing command needs to know the
 * ledger's columns), when it does not what the database holds instead (no_ledger_sql), and
 * when it does (and the gate holds: the lock is ours, the server is the one expected) its rows
 * (pg_ledger_rows_any_sql; with release_if, rows_release_sql: the lock released when those
 * rows are exactly release_if's). Three statements. A survey that only reads (CHECK mode)
 * asks two: no_ledger_sql, then rows_check_sql (existence and rows at once). Read with
 * read_exist. */
typedef struct ExistAsk {
    char *sql;
    bool check; /* the two statements of CHECK mode */
    const CbObject *created;
    size_t n_created;
} ExistAsk;

/* How many statements ask->sql holds; the one that reads the rows is the last. */
static int exist_results(const ExistAsk *ask)
{
    return ask->check ? 2 : 3;
}

/* The text of a statement that answers one query_to_xml forest in one row and column, or ""
 * when it answered NULL (its CASE did not run the query) or nothing. */
static const char *xml_answer(const PGresult *res)
{
    return PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
}

/* The rows of one of no_ledger_sql's forests into f. */
static void read_no_ledger_forest(const char *at, const CbObject *created, size_t n_created,
                                  PlanNoLedger *f)
{
    PgXmlRow row;
    while (pg_xml_next_row(&at, &row)) {
        char *k = pg_xml_column(&row, "k"), *i = pg_xml_column(&row, "i");
        char *sch = pg_xml_column(&row, "s"), *n = pg_xml_column(&row, "n");
        char *r = pg_xml_column(&row, "r");
        if (k && strcmp(k, "o") == 0) {
            size_t ix = i ? (size_t)strtoull(i, NULL, 10) : n_created;
            if (ix < n_created) {
                const CbObject *o = &created[ix];
                f->existing = pf_realloc(f->existing, (f->n_existing + 1) * sizeof *f->existing);
                f->existing[f->n_existing++] =
                    (PlanObject){o->kind, o->space == CB_OBJECT_SCHEMA ? NULL : sch,
                                 pf_strdup(o->name), o->migration};
                if (o->space != CB_OBJECT_SCHEMA)
                    sch = NULL; /* the object's now */
            }
        } else if (k) {
            f->lookalikes =
                pf_realloc(f->lookalikes, (f->n_lookalikes + 1) * sizeof *f->lookalikes);
            f->lookalikes[f->n_lookalikes++] =
                (PlanLedgerLike){sch, n, r ? strtoll(r, NULL, 10) : 0};
            sch = n = NULL; /* the lookalike's now */
        }
        free(k);
        free(i);
        free(sch);
        free(n);
        free(r);
    }
}

/* The answer to no_ledger_sql (what a previous attempt read is replaced): its one row's o, the
 * objects that exist, then its a, the look-alikes. */
static void read_no_ledger(const PGresult *res, const CbObject *created, size_t n_created,
                           PlanNoLedger *f)
{
    plan_no_ledger_clear(f);
    const char *at = xml_answer(res);
    PgXmlRow row;
    if (!pg_xml_next_row(&at, &row))
        return;
    char *objects = pg_xml_column(&row, "o"), *alikes = pg_xml_column(&row, "a");
    read_no_ledger_forest(objects ? objects : "", created, n_created, f);
    read_no_ledger_forest(alikes ? alikes : "", created, n_created, f);
    free(objects);
    free(alikes);
}

/* CHECK mode: one row, whether the ledger exists and, when it does and gate holds, its rows as
 * query_to_xml text (read_rows_check). Every column of either of drizzle's ledger shapes comes
 * back under its own name, a NULL one as an empty element (nulls true), so v1's name column
 * shows in every row. No catalog table is read: to_regclass goes through the session's caches,
 * which is what a new session answers quickest. The rows come unsorted: ORDER BY would have a
 * new session look up each column type's ordering, which costs more than the rest of the read;
 * read_rows_check sorts them. */
static char *rows_check_sql(const char *schema, const char *table, const char *gate)
{
    char *qualified = pg_quote_qualified(schema, table);
    char *inner = pf_asprintf("SELECT * FROM %s", qualified);
    char *inner_lit = pg_quote_literal(inner);
    char *rel = pg_regclass_literal(schema, table);
    char *sql = pf_asprintf("SELECT r.oid IS NOT NULL, CASE WHEN r.oid IS NOT NULL AND %s THEN "
                            "pg_catalog.query_to_xml(%s, true, true, '')::text END FROM (SELECT "
                            "pg_catalog.to_regclass(%s) AS oid) r;\n",
                            gate ? gate : "true", inner_lit, rel);
    free(qualified);
    free(inner);
    free(inner_lit);
    free(rel);
    return sql;
}

/* An integer column of a ledger row (text as PostgreSQL prints it); false when it is not one. */
static bool parse_int64(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return false;
    *out = v;
    return true;
}

/* One ledger row of query_to_xml's text (a column's element missing when it is NULL: v1's name
 * and applied_at on a 0.x ledger too), into *row (its strings the caller's); *id_null, when
 * asked, says the id was NULL. false when id or created_at is not an integer. */
static bool xml_ledger_row(const PgXmlRow *xr, LedgerRow *row, bool *id_null)
{
    memset(row, 0, sizeof *row);
    char *id = pg_xml_column(xr, "id"), *created = pg_xml_column(xr, "created_at");
    row->hash = pg_xml_column(xr, "hash");
    if (id_null)
        *id_null = !id;
    bool ok =
        (!id || parse_int64(id, &row->id)) && (!created || parse_int64(created, &row->created_at));
    row->has_created_at = created != NULL;
    row->name = pg_xml_column(xr, "name");
    row->applied_at = pg_xml_column(xr, "applied_at");
    free(id);
    free(created);
    return ok;
}

/* A row of rows_check_sql's answer, with what the order needs to know of it. */
typedef struct CheckRow {
    LedgerRow row;
    bool id_null;
} CheckRow;

/* ORDER BY id, hash, created_at, as the other reads order them: NULLs last; hashes compared
 * byte by byte (drizzle's are hex, where every collation agrees). */
static int check_row_cmp(const void *pa, const void *pb)
{
    const CheckRow *a = pa, *b = pb;
    if (a->id_null != b->id_null)
        return a->id_null ? 1 : -1;
    if (a->row.id != b->row.id)
        return a->row.id < b->row.id ? -1 : 1;
    if (!a->row.hash != !b->row.hash)
        return a->row.hash ? -1 : 1;
    int c = a->row.hash ? strcmp(a->row.hash, b->row.hash) : 0;
    if (c)
        return c;
    if (a->row.has_created_at != b->row.has_created_at)
        return a->row.has_created_at ? -1 : 1;
    return a->row.created_at < b->row.created_at ? -1 : a->row.created_at > b->row.created_at;
}

/* The answer to rows_check_sql into l, in the ledger's order; false (l empty) when a row's id
 * or created_at is not an integer, as the plain read would fail. */
static bool read_rows_check(const PGresult *res, Ledger *l)
{
    ledger_clear(l);
    l->exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    l->has_name_column = false;
    const char *at = l->exists && !PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 1) : "";
    CheckRow *rows = NULL;
    size_t n = 0, cap = 0;
    PgXmlRow xr;
    bool ok = true;
    while (ok && pg_xml_next_row(&at, &xr)) {
        PF_GROW(rows, cap, n + 1);
        CheckRow *cr = &rows[n++];
        ok = xml_ledger_row(&xr, &cr->row, &cr->id_null);
        if (pg_xml_has_column(&xr, "name")) /* v1's shape: the column is there, null or not */
            l->has_name_column = true;
    }
    if (n > 1)
        qsort(rows, n, sizeof *rows, check_row_cmp);
    l->rows = pf_calloc(n ? n : 1, sizeof *l->rows);
    for (size_t i = 0; i < n; i++)
        l->rows[i] = rows[i].row;
    l->n = n;
    free(rows);
    if (!ok)
        ledger_clear(l);
    return ok;
}

/* The answer to rows_xml_sql into l's rows, which it replaces (exists and has_name_column are
 * pg_existence_read's); true when a row says the lock was released (rows_release_sql's
 * pgfleet_released, set on every row when it was). The statement cast id and created_at to
 * bigint, so they read as integers. */
static bool read_rows_xml(const PGresult *res, Ledger *l)
{
    ledger_clear(l);
    const char *at = xml_answer(res);
    size_t cap = 0;
    bool released = false;
    PgXmlRow xr;
    while (pg_xml_next_row(&at, &xr)) {
        PF_GROW(l->rows, cap, l->n + 1);
        xml_ledger_row(&xr, &l->rows[l->n++], NULL);
        released = released || pg_xml_has_column(&xr, "pgfleet_released");
    }
    if (!l->rows)
        l->rows = pf_calloc(1, sizeof *l->rows);
    return released;
}

static void exist_ask_init(ExistAsk *ask, const char *schema, const char *table, const Codebase *cb,
                           bool tenant, PgLockMode mode, const char *gate, int64_t lock_key,
                           const Ledger *release_if)
{
    char *instead = no_ledger_sql(schema, table, cb, cb->created, cb->n_created, tenant);
    ask->check = mode == PG_LOCK_CHECK;
    if (ask->check) {
        char *rows = rows_check_sql(schema, table, gate);
        ask->sql = pf_asprintf("%s%s", instead, rows);
        free(rows);
    } else {
        char *existence = pg_existence_sql(schema, table);
        char *from = rows_direct_from(schema, table);
        char *rows = release_if ? rows_release_sql(from, lock_key, release_if) : rows_select(from);
        char *guarded = rows_xml_sql(schema, table, gate, rows);
        ask->sql = pf_asprintf("%s%s%s", existence, instead, guarded);
        free(existence);
        free(from);
        free(rows);
        free(guarded);
    }
    ask->created = cb->created;
    ask->n_created = cb->n_created;
    free(instead);
}

/* The answers to ask->sql, at res[0] .. res[exist_results(ask) - 1]; false when the ledger's rows
 * could not be read (CHECK mode: an id or created_at that is not an integer). */
static bool read_exist(PGresult *const *res, const ExistAsk *ask, PgSurvey *out)
{
    if (ask->check) {
        read_no_ledger(res[0], ask->created, ask->n_created, &out->no_ledger);
        return read_rows_check(res[1], &out->ledger);
    }
    pg_existence_read(res[0], &out->ledger);
    read_no_ledger(res[1], ask->created, ask->n_created, &out->no_ledger);
    if (read_rows_xml(res[2], &out->ledger)) {
        out->lock_acquired = false;
        out->released = true;
    }
    return true;
}

/* Returns true when a holder row was present. */
static bool read_holder(const PGresult *res, PgLockHolder *h)
{
    const char *at = xml_answer(res); /* empty when nobody holds the key */
    PgXmlRow row;
    if (!pg_xml_next_row(&at, &row))
        return false;
    char *pid = pg_xml_column(&row, "pid");
    char *age = pg_xml_column(&row, "age");
    char *shared = pg_xml_column(&row, "shared");
    h->shared = shared && strcmp(shared, "true") == 0;
    free(shared);
    h->pid = pid ? atoi(pid) : 0;
    h->application_name = pg_xml_column(&row, "app");
    h->client_addr = pg_xml_column(&row, "addr");
    h->user = pg_xml_column(&row, "usr");
    if (!h->application_name)
        h->application_name = pf_strdup("");
    if (!h->client_addr)
        h->client_addr = pf_strdup("");
    if (!h->user)
        h->user = pf_strdup("");
    h->session_age_s = age ? strtoll(age, NULL, 10) : 0;
    free(pid);
    free(age);
    return true;
}

/* Whether res (a lock statement's answer, when there is one) says the lock was granted. */
static bool granted(const PgResults *r, int i)
{
    return i < r->n && (r->error_index < 0 || i < r->error_index) &&
           PQresultStatus(r->res[i]) == PGRES_TUPLES_OK && PQntuples(r->res[i]) == 1 &&
           strcmp(PQgetvalue(r->res[i], 0, 0), "t") == 0;
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
 * that is no error here, only a broken connection is. The COMMIT after the lock starts a new
 * transaction, whose snapshot is taken under the lock whatever the isolation level. */
static PfErrCode wait_for_lock(PgConn *c, int64_t lock_key, int64_t lock_wait_ms,
                               const ExistAsk *exist, PgSurvey *out, PfErr *err)
{
    char *sql = pf_asprintf("SET lock_timeout = '%lldms'; SELECT pg_catalog.pg_advisory_lock("
                            "%lld), pg_catalog.set_config('pgfleet.locked', 'true', false); SET "
                            "lock_timeout = DEFAULT; COMMIT; %s",
                            (long long)lock_wait_ms, (long long)lock_key, exist->sql);
    PfErr wait_err;
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, &wait_err);
    free(sql);
    if (r.n >= 2 && (r.error_index < 0 || r.error_index > 1))
        out->lock_acquired = true; /* pg_advisory_lock returned: ours, even if a read failed */
    if (rc == PF_OK && r.n >= 4 + exist_results(exist))
        read_exist(&r.res[4], exist, out); /* TAKE mode: always true */
    pg_results_clear(&r);
    if (rc == PF_ERR_UNREACHABLE || (rc != PF_OK && out->lock_acquired)) {
        *err = wait_err;
        return rc;
    }
    return PF_OK;
}

/* One more pg_try_advisory_lock, with the existence check and the ledger under it when it is
 * granted. */
static PfErrCode try_lock_again(PgConn *c, int64_t lock_key, const ExistAsk *exist, PgSurvey *out,
                                PfErr *err)
{
    char *try_lock = pf_asprintf("pg_catalog.pg_try_advisory_lock(%lld)", (long long)lock_key);
    char *taken = taken_sql(try_lock);
    char *sql = pf_asprintf("SELECT %s; COMMIT; %s", taken, exist->sql);
    free(try_lock);
    free(taken);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    out->lock_acquired = granted(&r, 0);
    if (rc == PF_OK && out->lock_acquired && r.n >= 2 + exist_results(exist))
        read_exist(&r.res[2], exist, out); /* TAKE mode: always true */
    pg_results_clear(&r);
    return rc;
}

PfErrCode pg_ledger_read(PgConn *c, const char *schema, const char *table, Ledger *out, PfErr *err)
{
    ledger_clear(out);
    if (!out->exists)
        return PF_OK;
    char *sql = pg_ledger_rows_sql(schema, table, out->has_name_column);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    if (rc != PF_OK) {
        pf_err_prefix(err, "reading the ledger %s.%s", schema, table);
        pg_results_clear(&r);
        return rc;
    }
    pg_ledger_rows_read(r.res[r.n - 1], out);
    pg_results_clear(&r);
    return PF_OK;
}

PfErrCode pg_ledger_read_fresh(PgConn *c, const char *schema, const char *table, Ledger *out,
                               PfErr *err)
{
    ledger_clear(out);
    out->exists = out->has_name_column = false;
    char *exist = pg_existence_sql(schema, table);
    char *rows = pg_ledger_rows_any_sql(schema, table, NULL);
    char *sql = pf_asprintf("%s%s", exist, rows);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(exist);
    free(rows);
    free(sql);
    if (rc == PF_OK && r.n >= 2) {
        pg_existence_read(r.res[0], out);
        pg_ledger_rows_read(r.res[1], out);
    }
    pg_results_clear(&r);
    if (rc != PF_OK)
        pf_err_prefix(err, "reading the ledger %s.%s", schema, table);
    return rc;
}

PfErrCode pg_survey(PgConn *c, const PgTenantEnter *tenant, const char *schema, const char *table,
                    int64_t lock_key, PgLockMode mode, int64_t lock_wait_ms,
                    const InvExpect *expect, const Codebase *cb, const Ledger *release_if,
                    PgSurvey *out, PfErr *err)
{
    memset(out, 0, sizeof *out);
    out->schema_exists = true;
    PfBuf q = PF_BUF_INIT;
    /* A tenant's schema first: the search_path it sets is where what follows looks (the
     * objects the migrations create, unqualified). at: the identity's answer. */
    int at = 0;
    if (tenant) {
        char *enter = pg_tenant_enter_sql(tenant, &at);
        pf_buf_puts(&q, enter);
        free(enter);
    }
    /* What gates reading the ledger: in TAKE mode holding the lock (which the identity guard
     * gates in turn), in CHECK mode the identity guard itself. */
    char *gate = mode == PG_LOCK_TAKE    ? pf_strdup(HELD_SQL)
                 : pg_expect_any(expect) ? pg_expect_sql(expect)
                                         : NULL;
    ExistAsk exist_ask;
    exist_ask_init(&exist_ask, schema, table, cb, tenant != NULL, mode, gate, lock_key,
                   mode == PG_LOCK_TAKE ? release_if : NULL);
    const ExistAsk *exist = &exist_ask;
    free(gate);
    pf_buf_puts(&q, identity_sql(expect));
    int exist_at; /* counted from the identity's answer */
    if (mode == PG_LOCK_TAKE) {
        /* The lock comes before the existence check and the ledger so that what we read is
         * under it; the COMMIT after it makes what follows a new transaction, whose snapshot is
         * taken under the lock even at REPEATABLE READ. A server that is not the one expected
         * does not get it. */
        char *try_lock;
        if (pg_expect_any(expect)) {
            char *guard = pg_expect_sql(expect);
            try_lock = pf_asprintf("CASE WHEN %s THEN pg_catalog.pg_try_advisory_lock(%lld) "
                                   "ELSE false END",
                                   guard, (long long)lock_key);
            free(guard);
        } else {
            try_lock = pf_asprintf("pg_catalog.pg_try_advisory_lock(%lld)", (long long)lock_key);
        }
        char *taken = taken_sql(try_lock);
        pf_buf_printf(&q, "SELECT %s;\n", taken);
        free(taken);
        free(try_lock);
        pf_buf_puts(&q, "COMMIT;\n");
        pf_buf_puts(&q, exist->sql);
        exist_at = 3;
    } else {
        pf_buf_puts(&q, exist->sql);
        char *probe = probe_sql(lock_key, expect);
        pf_buf_puts(&q, probe);
        free(probe);
        exist_at = 1;
    }
    exist_at += at;
    PgResults r;
    PfErrCode rc = pg_exec_all(c, q.data, &r, err);
    pf_buf_free(&q);
    /* Taken before a later statement failed: still ours to release. */
    out->lock_acquired = mode == PG_LOCK_TAKE && granted(&r, at + 1);
    if (rc != PF_OK || r.n < exist_at + exist_results(exist) + (mode == PG_LOCK_TAKE ? 0 : 1)) {
        if (rc == PF_OK)
            rc = pf_err_set(err, PF_ERR_PG, "unexpected answer to the survey query");
        else if (r.error_index >= 0 && r.error_index < at) {
            char *ident = pg_quote_ident(tenant->schema);
            pf_err_prefix(err, "cannot enter schema %s", ident);
            free(ident);
        } else if (r.error_index == exist_at + exist_results(exist) - 1)
            pf_err_prefix(err, "reading the ledger %s.%s", schema, table);
        pg_results_clear(&r);
        free(exist_ask.sql);
        return rc;
    }
    if (tenant) {
        const char *v = PQgetvalue(r.res[at - 1], 0, 0);
        out->schema_exists = PQntuples(r.res[at - 1]) == 1 && strcmp(v, "t") == 0;
    }
    read_identity(r.res[at], c->conn, &out->identity);
    bool rows_read = read_exist(&r.res[exist_at], exist, out);
    if (mode == PG_LOCK_CHECK)
        out->locked_by_other = read_holder(r.res[exist_at + exist_results(exist)], &out->holder);
    pg_results_clear(&r);
    if ((out->refused = pg_identity_mismatch(&out->identity, expect))) {
        free(exist_ask.sql);
        out->locked_by_other = false;
        pg_lock_holder_clear(&out->holder);
        ledger_clear(&out->ledger);
        if (out->lock_acquired) {
            /* The SQL test let it through: let go of it (failing that, it goes with the
             * session, which the caller closes). */
            PfErr ignored;
            out->lock_acquired = false;
            pg_lock_release(c, lock_key, &ignored);
        }
        return PF_OK;
    }
    if (!rows_read) { /* CHECK mode only: nothing is held */
        free(exist_ask.sql);
        return pf_err_set(err, PF_ERR_PG,
                          "reading the ledger %s.%s: a row's id or created_at is not an integer",
                          schema, table);
    }

    /* Not locked: wait for it (lock_wait), then ask who holds it. The holder can let go
     * between our attempt and that question; then there is nobody to report and the lock is
     * free: try again (a few times: each attempt found a different holder that left). A holder
     * of the key in shared mode is most likely an audit's probe, gone a moment later: try
     * again too, and name it only when it is still there after those attempts. */
    for (int attempt = 0; mode == PG_LOCK_TAKE && !out->lock_acquired && !out->released;
         attempt++) {
        if (lock_wait_ms > 0 && attempt == 0) {
            rc = wait_for_lock(c, lock_key, lock_wait_ms, exist, out, err);
            if (rc != PF_OK || out->lock_acquired || out->released)
                break;
        }
        PgLockHolder h = {0};
        rc = query_holder(c, lock_key, &h, err);
        if (rc != PF_OK) {
            pg_lock_holder_clear(&h);
            break;
        }
        if ((h.application_name && !h.shared) || attempt >= 20) {
            out->locked_by_other = true;
            out->holder = h;
            if (!h.application_name) /* it kept changing hands: say so, not a stale pid */
                out->holder =
                    (PgLockHolder){0, pf_strdup(""), pf_strdup(""), pf_strdup(""), 0, false};
            free(exist_ask.sql);
            return PF_OK;
        }
        pg_lock_holder_clear(&h); /* a shared holder: likely gone already */
        rc = try_lock_again(c, lock_key, exist, out, err);
        if (rc != PF_OK || out->released)
            break;
    }
    free(exist_ask.sql);
    return rc;
}

PfErrCode pg_lock_release(PgConn *c, int64_t lock_key, PfErr *err)
{
    char *sql = pg_unlock_sql(lock_key);
    PgResults r;
    PfErrCode rc = pg_exec_all(c, sql, &r, err);
    free(sql);
    pg_results_clear(&r);
    return rc;
}
