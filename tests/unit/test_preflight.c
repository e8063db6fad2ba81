/*
 * Unit tests for src/plan/preflight.c, the pure halves of preflight: which statements of the
 * pending migrations become checks and which tables they touch (preflight_analyze), and the
 * warnings the server's answers turn into, word for word (preflight_warnings).
 */
#include "plan/preflight.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A pending migration of the given chunks (statements). */
#define MIG(name, ...)                                                                             \
    static char *name##_chunks[] = {__VA_ARGS__};                                                  \
    static CbMigration name = {.tag = #name,                                                       \
                               .chunks = name##_chunks,                                            \
                               .n_chunks = sizeof name##_chunks / sizeof name##_chunks[0]}

/* The checks of m1 (then m2) pending, read as preflight_prepare reads a folder: the chunks
 * are parsed there, since these migrations come without models. */
static Preflight analyze_renamed(const CbMigration *m1, const CbMigration *m2,
                                 const PreflightRename *renames, size_t n_renames)
{
    CbMigration folder[2] = {*m1, m2 ? *m2 : *m1};
    size_t pending[2] = {0, 1};
    PreflightPrep *prep = preflight_prepare(folder, m2 ? 2 : 1);
    Preflight p;
    preflight_analyze(prep, folder, pending, m2 ? 2 : 1, true, renames, n_renames, &p);
    preflight_prep_free(prep);
    return p;
}

static Preflight analyze(const CbMigration *m1, const CbMigration *m2)
{
    return analyze_renamed(m1, m2, NULL, 0);
}

static void assert_check(const Preflight *p, size_t i, PreflightCheckKind kind, const char *mig,
                         int statement, const char *schema, const char *name, const char *column)
{
    assert_true(i < p->n_checks);
    const PreflightCheck *k = &p->checks[i];
    assert_int_equal(k->kind, kind);
    assert_string_equal(k->migration, mig);
    assert_int_equal(k->statement, statement);
    if (schema)
        assert_string_equal(k->schema, schema);
    else
        assert_null(k->schema);
    assert_string_equal(k->name, name);
    if (column)
        assert_string_equal(k->column, column);
    else
        assert_null(k->column);
}

/* The touched tables as "schema.name" / "name", space-separated, in order. */
static void assert_tables(const Preflight *p, const char *want)
{
    char got[1024] = "";
    for (size_t i = 0; i < p->n_tables; i++) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s%s%s", i ? " " : "",
                 p->tables[i].schema ? p->tables[i].schema : "", p->tables[i].schema ? "." : "",
                 p->tables[i].name);
    }
    assert_string_equal(got, want);
}

MIG(m_add, "ALTER TABLE \"users\" ADD COLUMN \"age\" integer NOT NULL;",
    "ALTER TABLE \"public\".\"users\" ADD COLUMN \"score\" integer DEFAULT 0 NOT NULL;\n"
    "ALTER TABLE users ADD COLUMN nick text NOT NULL DEFAULT NULL;",
    "ALTER TABLE \"users\" ADD COLUMN \"id2\" serial NOT NULL;",
    "ALTER TABLE \"users\" ADD COLUMN \"id3\" integer GENERATED ALWAYS AS IDENTITY NOT NULL;",
    "ALTER TABLE \"users\" ADD COLUMN \"total\" integer GENERATED ALWAYS AS (1 + 1) STORED NOT "
    "NULL;",
    "ALTER TABLE \"users\" ADD COLUMN \"code\" text PRIMARY KEY;",
    "ALTER TABLE \"users\" ADD \"legacy\" text NOT NULL;",
    "ALTER TABLE \"users\" ADD COLUMN IF NOT EXISTS \"maybe\" text NOT NULL CHECK (maybe <> '');",
    "ALTER TABLE \"users\" ADD COLUMN \"nullable\" text, ADD COLUMN \"also\" text CHECK (also IS "
    "NOT NULL);");

static void test_add_not_null(void **state)
{
    Preflight p = analyze(&m_add, NULL);
    assert_int_equal(p.n_checks, 5);
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_add", 1, NULL, "users", "age");
    /* DEFAULT NULL is no default. */
    assert_check(&p, 1, PREFLIGHT_ADD_NOT_NULL, "m_add", 2, NULL, "users", "nick");
    /* serial and identity columns fill themselves; generated columns are computed. */
    assert_check(&p, 2, PREFLIGHT_ADD_NOT_NULL, "m_add", 6, NULL, "users", "code");
    assert_check(&p, 3, PREFLIGHT_ADD_NOT_NULL, "m_add", 7, NULL, "users", "legacy");
    assert_check(&p, 4, PREFLIGHT_ADD_NOT_NULL, "m_add", 8, NULL, "users", "maybe");
    (void)state;
    preflight_clear(&p);
}

MIG(m_multi, "ALTER TABLE \"s1\".\"t\" ADD COLUMN \"a\" int NOT NULL, ADD COLUMN \"b\" int NOT "
             "NULL DEFAULT 1, ALTER COLUMN \"c\" SET NOT NULL, ALTER \"d\" SET NOT NULL, "
             "ALTER COLUMN \"e\" DROP NOT NULL;");

static void test_several_actions(void **state)
{
    Preflight p = analyze(&m_multi, NULL);
    assert_int_equal(p.n_checks, 3);
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_multi", 1, "s1", "t", "a");
    assert_check(&p, 1, PREFLIGHT_SET_NOT_NULL, "m_multi", 1, "s1", "t", "c");
    assert_check(&p, 2, PREFLIGHT_SET_NOT_NULL, "m_multi", 1, "s1", "t", "d");
    assert_tables(&p, "s1.t");
    (void)state;
    preflight_clear(&p);
}

MIG(m_backfill, "ALTER TABLE \"a\" ADD COLUMN \"x\" text;", "UPDATE \"a\" SET \"x\" = 'n';",
    "ALTER TABLE \"a\" ALTER COLUMN \"x\" SET NOT NULL;",
    "ALTER TABLE \"b\" ALTER COLUMN \"y\" SET NOT NULL;", "DELETE FROM \"c\" WHERE \"z\" IS NULL;",
    "ALTER TABLE \"c\" ALTER COLUMN \"z\" SET NOT NULL;",
    "ALTER TABLE \"d\" ADD COLUMN \"w\" text;\nALTER TABLE \"d\" ALTER COLUMN \"w\" SET NOT NULL;");
MIG(m_later, "ALTER TABLE \"public\".\"b\" ALTER COLUMN \"v\" SET NOT NULL;",
    "ALTER TABLE \"e\" ALTER COLUMN \"u\" SET NOT NULL;");
MIG(m_update_e, "UPDATE e SET u = 1 WHERE u IS NULL;");

static void test_set_not_null_after_backfill(void **state)
{
    /* Backfilled by an UPDATE or DELETE before, or a column added before: no check. */
    Preflight p = analyze(&m_backfill, &m_later);
    assert_int_equal(p.n_checks, 3);
    assert_check(&p, 0, PREFLIGHT_SET_NOT_NULL, "m_backfill", 4, NULL, "b", "y");
    assert_check(&p, 1, PREFLIGHT_SET_NOT_NULL, "m_later", 1, "public", "b", "v");
    assert_check(&p, 2, PREFLIGHT_SET_NOT_NULL, "m_later", 2, NULL, "e", "u");
    preflight_clear(&p);
    /* An update in an earlier pending migration counts too. */
    p = analyze(&m_update_e, &m_later);
    assert_int_equal(p.n_checks, 1);
    assert_check(&p, 0, PREFLIGHT_SET_NOT_NULL, "m_later", 1, "public", "b", "v");
    (void)state;
    preflight_clear(&p);
}

MIG(m_atomic_body,
    "CREATE FUNCTION \"fill\"() RETURNS void LANGUAGE sql BEGIN ATOMIC SELECT 1; UPDATE \"f\" "
    "SET \"x\" = 1; END;",
    "ALTER TABLE \"f\" ALTER COLUMN \"x\" SET NOT NULL;");

static void test_function_body_is_no_backfill(void **state)
{
    /* The UPDATE inside a BEGIN ATOMIC body runs when the function is called, not here: the
     * column may still hold NULLs. */
    Preflight p = analyze(&m_atomic_body, NULL);
    assert_int_equal(p.n_checks, 1);
    assert_check(&p, 0, PREFLIGHT_SET_NOT_NULL, "m_atomic_body", 2, NULL, "f", "x");
    /* Defining it names f (the server analyzes the body, locking the table). */
    assert_tables(&p, "f");
    assert_int_equal(p.tables[0].statement, 1);
    (void)state;
    preflight_clear(&p);
}

MIG(m_called,
    "CREATE PROCEDURE \"fill\"() LANGUAGE sql BEGIN ATOMIC UPDATE \"g\" SET \"x\" = 1 WHERE "
    "\"x\" IS NULL; END;",
    "CREATE PROCEDURE \"s\".\"fill_h\"() LANGUAGE sql AS $$ UPDATE \"h\" SET \"y\" = 0 $$;",
    "CALL \"fill\"();\nCALL s.fill_h();\nCALL \"unknown\"();",
    "ALTER TABLE \"g\" ALTER COLUMN \"x\" SET NOT NULL;",
    "ALTER TABLE \"h\" ALTER COLUMN \"y\" SET NOT NULL;",
    "CREATE FUNCTION \"k_fn\"() RETURNS void LANGUAGE sql AS $$ INSERT INTO \"k\" VALUES (1) $$;\n"
    "WITH u AS (UPDATE \"m\" SET \"z\" = 1 RETURNING 1) SELECT count(*) FROM u;",
    "ALTER TABLE \"m\" ALTER COLUMN \"z\" SET NOT NULL;");

static void test_called_bodies_backfill(void **state)
{
    /* CALL runs a procedure the folder defines, BEGIN ATOMIC or LANGUAGE sql: its UPDATE is a
     * backfill. So is an UPDATE in a WITH clause. */
    Preflight p = analyze(&m_called, NULL);
    assert_int_equal(p.n_checks, 0);
    /* Bodies name their tables where the routine is defined; a CALL where it runs. */
    assert_tables(&p, "g h k m");
    assert_int_equal(p.tables[0].statement, 1);
    assert_int_equal(p.tables[1].statement, 2);
    assert_int_equal(p.tables[2].statement, 6);
    (void)state;
    preflight_clear(&p);
}

MIG(m_newer, "SELECT 1;\n",
    "\nALTER TABLE \"users\" ADD COLUMN \"age\" integer NOT NULL;\n"
    "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET EXPRESSION AS (1);",
    "ALTER TABLE \"users\" ALTER COLUMN \"name\" SET NOT NULL;");

static void test_unparsed_chunk_by_tokens(void **state)
{
    /* Syntax newer than PostgreSQL 15 (SET EXPRESSION is 17's): the parser refuses the
     * chunk, the token rules still find the check, and the plan says how it was read. */
    Preflight p = analyze(&m_newer, NULL);
    assert_int_equal(p.n_checks, 2);
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_newer", 2, NULL, "users", "age");
    assert_check(&p, 1, PREFLIGHT_SET_NOT_NULL, "m_newer", 3, NULL, "users", "name");
    assert_int_equal(p.n_unparsed, 1);
    assert_string_equal(p.unparsed[0].migration, "m_newer");
    assert_int_equal(p.unparsed[0].statement, 2);
    Plan plan = {0};
    preflight_notes(&p, 15, &plan);
    assert_int_equal(plan.n_warnings, 1);
    assert_string_equal(plan.warnings[0].kind, "unparsed");
    assert_string_equal(plan.warnings[0].migration, "m_newer");
    assert_int_equal(plan.warnings[0].statement, 2);
    /* Where in the file: the line after the marker's is the chunk's second. */
    assert_string_equal(plan.warnings[0].message,
                        "migration m_newer statement 2 is not SQL that PostgreSQL 15's parser "
                        "reads (syntax error at or near \"EXPRESSION\", line 4, column 38 of "
                        "the file): preflight read it with token rules only");
    assert_string_equal(plan.warnings[0].hint,
                        "psql meta-commands and syntax newer than PostgreSQL 15 are not "
                        "understood; check this statement against the server by hand");
    plan_clear(&plan);
    (void)state;
    preflight_clear(&p);
}

MIG(m_tenant, "ALTER TABLE \"public\".\"users\" ADD COLUMN \"age\" integer NOT NULL;",
    "ALTER TABLE \"orgs\" ADD CONSTRAINT \"fk\" FOREIGN KEY (\"b\") REFERENCES "
    "\"billing\".\"accounts\"(\"id\");",
    "ALTER TABLE \"other\".\"t\" ALTER COLUMN \"c\" SET NOT NULL;",
    "CREATE EXTENSION IF NOT EXISTS \"pgcrypto\" WITH SCHEMA \"public\";");

static void test_tenant_schema_names(void **state)
{
    /* A tenant names the folder's schemas its own way; unqualified names stay unqualified
     * (the tenant's search_path), other schemas and extensions are not renamed. */
    PreflightRename renames[] = {{"public", "tenant_a"}, {"billing", "tenant_a_billing"}};
    Preflight p = analyze_renamed(&m_tenant, NULL, renames, 2);
    assert_int_equal(p.n_checks, 3);
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_tenant", 1, "tenant_a", "users", "age");
    assert_check(&p, 1, PREFLIGHT_SET_NOT_NULL, "m_tenant", 3, "other", "t", "c");
    assert_check(&p, 2, PREFLIGHT_CREATE_EXTENSION, "m_tenant", 4, NULL, "pgcrypto", NULL);
    assert_tables(&p, "tenant_a.users orgs tenant_a_billing.accounts other.t");
    preflight_clear(&p);
    p = analyze(&m_tenant, NULL);
    assert_tables(&p, "public.users orgs billing.accounts other.t");
    (void)state;
    preflight_clear(&p);
}

MIG(m_fill_first, "UPDATE \"users\" SET \"name\" = '' WHERE \"name\" IS NULL;");
MIG(m_set_after, "ALTER TABLE \"users\" ALTER COLUMN \"name\" SET NOT NULL;");

static void test_prepared_once_for_every_target(void **state)
{
    /* One reading of the folder; each target replays its own pending migrations: the
     * backfill counts only where it is pending too. */
    CbMigration folder[] = {m_fill_first, m_set_after};
    PreflightPrep *prep = preflight_prepare(folder, 2);
    size_t both[] = {0, 1}, last[] = {1};
    Preflight p;
    preflight_analyze(prep, folder, both, 2, true, NULL, 0, &p);
    assert_int_equal(p.n_checks, 0);
    assert_tables(&p, "users");
    preflight_clear(&p);
    preflight_analyze(prep, folder, last, 1, true, NULL, 0, &p);
    assert_int_equal(p.n_checks, 1);
    assert_check(&p, 0, PREFLIGHT_SET_NOT_NULL, "m_set_after", 1, NULL, "users", "name");
    preflight_clear(&p);
    preflight_prep_free(prep);
    (void)state;
}

MIG(m_add_value, "ALTER TYPE \"status\" ADD VALUE 'archived';", "SELECT 1;");
static char *m_commit_first_chunks[] = {
    "COMMIT;", "ALTER TYPE \"public\".\"status\" ADD VALUE 'alone';",
    "ALTER TYPE \"public\".\"status\" ADD VALUE 'shared'; SELECT 1;"};
static CbMigration m_commit_first = {
    .tag = "m_commit_first", .chunks = m_commit_first_chunks, .n_chunks = 3, .escape = 1};

/* The enum values added inside a transaction block when m1 then m2 are pending, as
 * "migration:statement:type:value" words. */
static void assert_add_values(const CbMigration *m1, const CbMigration *m2, bool one_transaction,
                              const PreflightRename *renames, size_t n_renames,
                              const char *expected)
{
    CbMigration folder[2] = {*m1, m2 ? *m2 : *m1};
    size_t pending[2] = {0, 1};
    PreflightPrep *prep = preflight_prepare(folder, m2 ? 2 : 1);
    Preflight p;
    preflight_analyze(prep, folder, pending, m2 ? 2 : 1, one_transaction, renames, n_renames, &p);
    char got[512] = "";
    for (size_t i = 0; i < p.n_add_values; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s:%d:%s:%s", i ? " " : "",
                 p.add_values[i].migration, p.add_values[i].statement, p.add_values[i].type,
                 p.add_values[i].value);
    assert_string_equal(got, expected);
    preflight_clear(&p);
    preflight_prep_free(prep);
}

static void test_add_value_inside_a_transaction(void **state)
{
    /* Inside drizzle's transaction; after a COMMIT only when it shares its chunk (an implicit
     * transaction block); a tenant names the type in its schema. */
    assert_add_values(&m_add_value, NULL, true, NULL, 0, "m_add_value:1:status:archived");
    assert_add_values(&m_commit_first, NULL, true, NULL, 0,
                      "m_commit_first:3:public.status:shared");
    PreflightRename renames[] = {{"public", "tenant_a"}};
    assert_add_values(&m_commit_first, NULL, true, renames, 1,
                      "m_commit_first:3:tenant_a.status:shared");
    /* After a migration that ends the one transaction, a later one runs outside any; with a
     * transaction per migration, it has its own again. */
    assert_add_values(&m_commit_first, &m_add_value, true, NULL, 0,
                      "m_commit_first:3:public.status:shared");
    assert_add_values(&m_commit_first, &m_add_value, false, NULL, 0,
                      "m_commit_first:3:public.status:shared m_add_value:1:status:archived");
    (void)state;
}

static void test_add_value_refused_before_12(void **state)
{
    CbMigration folder[] = {m_add_value};
    size_t pending[] = {0};
    PreflightPrep *prep = preflight_prepare(folder, 1);
    Preflight p;
    preflight_analyze(prep, folder, pending, 1, true, NULL, 0, &p);
    Plan plan = {0};
    preflight_notes(&p, 12, &plan);
    preflight_notes(&p, 0, &plan); /* the version unknown: nothing said */
    assert_int_equal(plan.n_warnings, 0);
    preflight_notes(&p, 11, &plan);
    assert_int_equal(plan.n_warnings, 1);
    assert_string_equal(plan.warnings[0].kind, "add_value_in_transaction");
    assert_string_equal(plan.warnings[0].migration, "m_add_value");
    assert_int_equal(plan.warnings[0].statement, 1);
    assert_string_equal(plan.warnings[0].message,
                        "migration m_add_value statement 1 adds value 'archived' to enum status "
                        "inside a transaction block, which PostgreSQL 11 refuses (12 and later "
                        "allow it): it will fail");
    assert_string_equal(plan.warnings[0].hint,
                        "put COMMIT; in a chunk of its own before it, so that it runs outside "
                        "drizzle's transaction (see lint's escapes-transaction), or upgrade the "
                        "server to PostgreSQL 12 or later");
    plan_clear(&plan);
    preflight_clear(&p);
    preflight_prep_free(prep);
    (void)state;
}

MIG(m_new_tables, "CREATE TABLE \"fresh\" (\"id\" integer);",
    "ALTER TABLE \"fresh\" ADD COLUMN \"n\" integer NOT NULL;",
    "ALTER TABLE \"old\" RENAME TO \"renamed\";",
    "ALTER TABLE \"renamed\" ADD COLUMN \"n\" integer NOT NULL;", "TRUNCATE \"logs\";",
    "ALTER TABLE \"logs\" ADD COLUMN \"n\" integer NOT NULL;", "DELETE FROM \"queue\";",
    "ALTER TABLE \"queue\" ADD COLUMN \"n\" integer NOT NULL;",
    "DROP TABLE \"gone\";\nCREATE TABLE \"gone\" (\"id\" integer);",
    "ALTER TABLE \"gone\" ADD COLUMN \"n\" integer NOT NULL;",
    "ALTER TABLE \"kept\" ADD COLUMN \"n\" integer NOT NULL;");

static void test_tables_changed_before(void **state)
{
    /* Created, renamed, truncated, emptied or re-created earlier: not the table there now. */
    Preflight p = analyze(&m_new_tables, NULL);
    assert_int_equal(p.n_checks, 1);
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_new_tables", 11, NULL, "kept", "n");
    (void)state;
    preflight_clear(&p);
}

MIG(m_ext, "CREATE EXTENSION IF NOT EXISTS \"pgcrypto\";",
    "create extension pg_stat_statements with schema public;", "CREATE EXTENSION \"pgcrypto\";");

static void test_extensions(void **state)
{
    Preflight p = analyze(&m_ext, NULL);
    assert_int_equal(p.n_checks, 2);
    assert_check(&p, 0, PREFLIGHT_CREATE_EXTENSION, "m_ext", 1, NULL, "pgcrypto", NULL);
    assert_check(&p, 1, PREFLIGHT_CREATE_EXTENSION, "m_ext", 2, NULL, "pg_stat_statements", NULL);
    assert_int_equal(p.n_tables, 0);
    (void)state;
    preflight_clear(&p);
}

MIG(m_touch,
    "ALTER TABLE \"a\" ADD CONSTRAINT \"a_fk\" FOREIGN KEY (\"b_id\") REFERENCES "
    "\"public\".\"b\"(\"id\") ON DELETE cascade ON UPDATE no action;",
    "DROP TABLE \"c\", \"d\" CASCADE;", "TRUNCATE TABLE ONLY \"e\";",
    "CREATE INDEX IF NOT EXISTS \"f_idx\" ON \"f\" USING btree (\"x\");",
    "CREATE UNIQUE INDEX CONCURRENTLY \"g_idx\" ON ONLY \"s\".\"g\" (\"x\");",
    "INSERT INTO \"h\" (\"id\") VALUES (1);", "UPDATE ONLY \"i\" SET \"x\" = 1;",
    "DELETE FROM \"j\" WHERE true;", "LOCK TABLE \"k\" IN ACCESS EXCLUSIVE MODE;",
    "CREATE OR REPLACE TRIGGER \"t\" BEFORE UPDATE OF \"x\" ON \"l\" FOR EACH ROW EXECUTE "
    "FUNCTION f();",
    "CREATE POLICY \"p\" ON \"m\" AS PERMISSIVE FOR SELECT TO public USING (true);",
    "CREATE TABLE \"n\" (\"id\" integer, \"o_id\" integer REFERENCES \"o\"(\"id\"));",
    "CREATE TABLE \"part\" PARTITION OF \"q\" FOR VALUES IN (1);",
    "ALTER TABLE \"a\" RENAME COLUMN \"x\" TO \"y\";", "CREATE VIEW \"v\" AS SELECT * FROM \"r\";",
    "DROP INDEX \"f_idx\";");

static void test_touched_tables(void **state)
{
    Preflight p = analyze(&m_touch, NULL);
    assert_int_equal(p.n_checks, 0);
    /* Once each, in order of first touch; views and indexes by name are not followed. */
    assert_tables(&p, "a public.b c d e f s.g h i j k l m o q");
    assert_string_equal(p.tables[0].migration, "m_touch");
    assert_int_equal(p.tables[0].statement, 1);
    assert_int_equal(p.tables[2].statement, 2);
    assert_int_equal(p.tables[14].statement, 13);
    (void)state;
    preflight_clear(&p);
}

MIG(m_quoted, "-- ALTER TABLE \"c1\" ADD COLUMN \"x\" int NOT NULL;\n"
              "/* ALTER TABLE \"c2\" ADD COLUMN \"x\" int NOT NULL; */\n"
              "SELECT 'ALTER TABLE c3 ADD COLUMN x int NOT NULL';\n"
              "DO $$ BEGIN ALTER TABLE c4 ADD COLUMN x int NOT NULL; END $$;\n"
              "ALTER TABLE \"We\"\"ird\" ADD COLUMN \"Col\" int NOT NULL;\n"
              "ALTER TABLE MixedCase ADD COLUMN Other int NOT NULL;");

static void test_comments_strings_and_names(void **state)
{
    Preflight p = analyze(&m_quoted, NULL);
    assert_int_equal(p.n_checks, 2);
    /* Quoted names keep their case (and "" is one "), unquoted names fold to lowercase. */
    assert_check(&p, 0, PREFLIGHT_ADD_NOT_NULL, "m_quoted", 1, NULL, "We\"ird", "Col");
    assert_check(&p, 1, PREFLIGHT_ADD_NOT_NULL, "m_quoted", 1, NULL, "mixedcase", "other");
    assert_tables(&p, "We\"ird mixedcase");
    (void)state;
    preflight_clear(&p);
}

/* ---- warnings ----------------------------------------------------------------------------- */

static PreflightCheck check_of(PreflightCheckKind kind, const char *schema, const char *name,
                               const char *column)
{
    return (PreflightCheck){kind, "0003_more", 2, (char *)schema, (char *)name, (char *)column};
}

static Plan warn(PreflightCheck k, PreflightFact f)
{
    Preflight p = {.checks = &k, .n_checks = 1};
    PreflightFacts facts = {.user = "app", .database = "appdb", .facts = &f};
    Plan plan = {0};
    preflight_warnings(&p, &facts, 60000, &plan);
    return plan;
}

static void assert_warning(const Plan *plan, const char *kind, const char *message,
                           const char *hint)
{
    assert_int_equal(plan->n_warnings, 1);
    const PlanWarning *w = &plan->warnings[0];
    assert_string_equal(w->kind, kind);
    assert_string_equal(w->migration, "0003_more");
    assert_int_equal(w->statement, 2);
    assert_string_equal(w->message, message);
    assert_string_equal(w->hint, hint);
    assert_int_equal(w->n_pids, 0);
}

static void test_not_null_warnings(void **state)
{
    PreflightCheck add = check_of(PREFLIGHT_ADD_NOT_NULL, "public", "users", "age");
    Plan plan = warn(add, (PreflightFact){.exists = true, .readable = true, .hit = true});
    assert_warning(&plan, "add_not_null",
                   "migration 0003_more statement 2 adds NOT NULL column age to public.users, "
                   "which has rows: it will fail",
                   "add a default, or add the column nullable, backfill it, then set it NOT "
                   "NULL");
    plan_clear(&plan);
    /* Empty, missing, unreadable, or the column is there already: nothing to say. */
    PreflightFact quiet[] = {
        {.exists = true, .readable = true, .hit = false},
        {.exists = false},
        {.exists = true, .readable = false},
        {.exists = true, .readable = true, .hit = true, .column_exists = true},
    };
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        plan = warn(add, quiet[i]);
        assert_int_equal(plan.n_warnings, 0);
        plan_clear(&plan);
    }

    PreflightCheck set = check_of(PREFLIGHT_SET_NOT_NULL, NULL, "users", "name");
    plan = warn(
        set, (PreflightFact){.exists = true, .column_exists = true, .readable = true, .hit = true});
    assert_warning(&plan, "set_not_null",
                   "migration 0003_more statement 2 sets column name of users NOT NULL, but it "
                   "holds NULLs: it will fail",
                   "backfill first (UPDATE users SET name = ... WHERE name IS NULL) in an "
                   "earlier statement, or give the column a default");
    plan_clear(&plan);
    plan = warn(set, (PreflightFact){.exists = true,
                                     .column_exists = true,
                                     .not_null = true,
                                     .readable = true,
                                     .hit = true});
    assert_int_equal(plan.n_warnings, 0);
    plan_clear(&plan);
    plan = warn(set, (PreflightFact){.exists = true, .column_exists = false, .readable = true});
    assert_int_equal(plan.n_warnings, 0);
    (void)state;
    plan_clear(&plan);
}

static void test_extension_warnings(void **state)
{
    PreflightCheck ext = check_of(PREFLIGHT_CREATE_EXTENSION, NULL, "pg_stat_statements", NULL);
    Plan plan = warn(ext, (PreflightFact){.exists = false});
    assert_warning(&plan, "create_extension",
                   "migration 0003_more statement 2 creates extension pg_stat_statements, which "
                   "is not available on this server: it will fail",
                   "install the package that provides pg_stat_statements on the server "
                   "(pg_available_extensions lists what is there)");
    plan_clear(&plan);
    plan = warn(ext, (PreflightFact){.exists = true, .needs_superuser = true, .can_create = true});
    assert_warning(&plan, "create_extension",
                   "migration 0003_more statement 2 creates extension pg_stat_statements, which "
                   "app cannot: pg_stat_statements is not trusted and app is not a superuser; "
                   "it will fail",
                   "have a superuser run CREATE EXTENSION pg_stat_statements on this database "
                   "before the migration");
    plan_clear(&plan);
    ext.name = "pgcrypto";
    plan = warn(ext, (PreflightFact){.exists = true, .needs_superuser = true, .trusted = true});
    assert_warning(&plan, "create_extension",
                   "migration 0003_more statement 2 creates extension pgcrypto, which app "
                   "cannot: pgcrypto is trusted but app has no CREATE privilege on database "
                   "appdb; it will fail",
                   "GRANT CREATE ON DATABASE appdb TO app, or create the extension beforehand "
                   "as a superuser");
    plan_clear(&plan);
    PreflightFact fine[] = {
        {.exists = true, .needs_superuser = true, .trusted = true, .can_create = true},
        {.exists = true, .needs_superuser = true, .superuser = true},
        {.exists = true, .needs_superuser = false},
        {.exists = true, .installed = true, .needs_superuser = true},
        {.exists = false, .installed = true},
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        plan = warn(ext, fine[i]);
        assert_int_equal(plan.n_warnings, 0);
        plan_clear(&plan);
    }
    (void)state;
}

static void test_session_warnings(void **state)
{
    PreflightTable tables[] = {{NULL, "users", "0002_a", 3}, {"s", "orgs", "0003_b", 1}};
    Preflight p = {.tables = tables, .n_tables = 2};
    PreflightSession xacts[] = {
        {.pid = 11,
         .user = "app",
         .application_name = "psql",
         .client_addr = "local",
         .state = "idle in transaction",
         .xact_age_s = 95},
        {.pid = 12,
         .user = "",
         .application_name = "",
         .client_addr = "",
         .state = "",
         .xact_age_s = 70},
    };
    PreflightSession locks[] = {
        {.pid = 21,
         .user = "app",
         .application_name = "worker",
         .client_addr = "10.0.0.7",
         .state = "active",
         .xact_age_s = 12,
         .mode = "AccessShareLock",
         .granted = true,
         .table = 0},
        {.pid = 22,
         .user = "ops",
         .application_name = "",
         .client_addr = "",
         .state = "",
         .xact_age_s = 3,
         .mode = "AccessExclusiveLock",
         .granted = false,
         .table = 0},
        {.pid = 0,
         .user = "",
         .application_name = "",
         .client_addr = "",
         .state = "",
         .xact_age_s = -1,
         .mode = "RowExclusiveLock",
         .granted = true,
         .table = 1},
    };
    PreflightFacts f = {.user = "app",
                        .database = "appdb",
                        .long_xacts = xacts,
                        .n_long_xacts = 2,
                        .locks = locks,
                        .n_locks = 3};
    Plan plan = {0};
    preflight_warnings(&p, &f, 1500, &plan);
    assert_int_equal(plan.n_warnings, 3);

    const PlanWarning *w = &plan.warnings[0];
    assert_string_equal(w->kind, "long_transaction");
    assert_null(w->migration);
    assert_int_equal(w->statement, 0);
    assert_string_equal(w->message,
                        "2 transactions open for more than 1500ms in database appdb: pid 11 "
                        "(psql on local, user app, idle in transaction) for 95s, pid 12 for 70s");
    assert_int_equal(w->n_pids, 2);
    assert_int_equal(w->pids[0], 11);
    assert_int_equal(w->pids[1], 12);

    w = &plan.warnings[1];
    assert_string_equal(w->kind, "lock");
    assert_string_equal(w->migration, "0002_a");
    assert_int_equal(w->statement, 3);
    assert_string_equal(w->message,
                        "table users, which migration 0002_a statement 3 touches, is locked by "
                        "pid 21 holding AccessShareLock (worker on 10.0.0.7, user app, active, "
                        "transaction open 12s), pid 22 waiting for AccessExclusiveLock (user "
                        "ops, transaction open 3s)");
    assert_string_equal(w->hint, "the migration will wait for them (up to lock_timeout) while "
                                 "every other query on users waits behind it: let them finish, "
                                 "or end them (pg_terminate_backend)");
    assert_int_equal(w->n_pids, 2);
    assert_int_equal(w->pids[1], 22);

    w = &plan.warnings[2];
    assert_string_equal(w->migration, "0003_b");
    assert_string_equal(w->message, "table s.orgs, which migration 0003_b statement 1 touches, "
                                    "is locked by pid 0 holding RowExclusiveLock (a prepared "
                                    "transaction)");
    assert_int_equal(w->n_pids, 0);
    (void)state;
    plan_clear(&plan);
}

static void test_preflight_failed(void **state)
{
    Plan plan = {0};
    preflight_failed(&plan, "permission denied for schema s (SQLSTATE 42501)");
    assert_int_equal(plan.n_warnings, 1);
    assert_string_equal(plan.warnings[0].kind, "preflight");
    assert_string_equal(plan.warnings[0].message, "preflight checks could not run: permission "
                                                  "denied for schema s (SQLSTATE 42501)");
    (void)state;
    plan_clear(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_not_null),
        cmocka_unit_test(test_several_actions),
        cmocka_unit_test(test_set_not_null_after_backfill),
        cmocka_unit_test(test_function_body_is_no_backfill),
        cmocka_unit_test(test_called_bodies_backfill),
        cmocka_unit_test(test_unparsed_chunk_by_tokens),
        cmocka_unit_test(test_tenant_schema_names),
        cmocka_unit_test(test_prepared_once_for_every_target),
        cmocka_unit_test(test_add_value_inside_a_transaction),
        cmocka_unit_test(test_add_value_refused_before_12),
        cmocka_unit_test(test_tables_changed_before),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_touched_tables),
        cmocka_unit_test(test_comments_strings_and_names),
        cmocka_unit_test(test_not_null_warnings),
        cmocka_unit_test(test_extension_warnings),
        cmocka_unit_test(test_session_warnings),
        cmocka_unit_test(test_preflight_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
