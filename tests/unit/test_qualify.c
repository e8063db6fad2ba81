/*
 * Tenant schemas (src/codebase/qualify.c): which identifiers of a folder's SQL name the schemas
 * a tenant target maps, the chunks rewritten for one tenant, and what cannot be rewritten
 * safely, with its line and column in the file. Statements as drizzle-kit writes them.
 */
#include "codebase/codebase.h"
#include "codebase/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define BREAK "--> statement-breakpoint\n"

/* One migration holding sql, split as drizzle splits it. */
static void one_migration(Codebase *cb, CbMigration *m, const char *sql)
{
    memset(m, 0, sizeof *m);
    m->tag = "0000_x";
    m->sql = (char *)sql;
    m->sql_len = strlen(sql);
    cb_split(sql, m->sql_len, &m->chunks, &m->n_chunks);
    memset(cb, 0, sizeof *cb);
    cb->dir = "drizzle";
    cb->migrations = m;
    cb->n = 1;
}

/* sql rewritten for schemas[k] -> to[k], chunks joined back with drizzle's marker. */
static char *rewritten(const char *sql, const char *const *schemas, const char *const *to, size_t n,
                       size_t *n_problems)
{
    Codebase cb;
    CbMigration m;
    one_migration(&cb, &m, sql);
    CbSchemaRefs r;
    cb_schema_refs_find(&cb, schemas, n, &r);
    char **chunks = cb_schema_refs_apply(&r, &cb, 0, to);
    size_t len = 1;
    for (size_t c = 0; c < m.n_chunks; c++)
        len += strlen(chunks[c]) + 32;
    char *out = calloc(1, len);
    for (size_t c = 0; c < m.n_chunks; c++) {
        if (c)
            strcat(out, "--> statement-breakpoint");
        strcat(out, chunks[c]);
    }
    if (n_problems)
        *n_problems = r.n_problems;
    cb_chunks_free(chunks, m.n_chunks);
    cb_schema_refs_clear(&r);
    cb_chunks_free(m.chunks, m.n_chunks);
    return out;
}

static const char *PUBLIC[] = {"public"};
static const char *TENANT[] = {"tenant_a"};

static void assert_rewrite(const char *sql, const char *want)
{
    size_t problems = 99;
    char *got = rewritten(sql, PUBLIC, TENANT, 1, &problems);
    assert_string_equal(got, want);
    assert_int_equal(problems, 0);
    free(got);
}

/* drizzle-kit's foreign keys, enums and indexes name "public": each becomes the tenant's. */
static void test_drizzle_kit_output(void **state)
{
    (void)state;
    assert_rewrite(
        "CREATE TYPE \"public\".\"role\" AS ENUM('admin', 'member');" BREAK
        "CREATE TABLE \"users\" (\n\t\"id\" serial PRIMARY KEY NOT NULL,\n\t\"role\" "
        "\"public\".\"role\" DEFAULT 'member' NOT NULL,\n\t\"org_id\" integer\n);\n" BREAK
        "ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_id_orgs_id_fk\" FOREIGN KEY "
        "(\"org_id\") REFERENCES \"public\".\"orgs\"(\"id\") ON DELETE cascade ON UPDATE no "
        "action;" BREAK "CREATE INDEX \"users_org_idx\" ON \"users\" USING btree (\"org_id\");",
        "CREATE TYPE \"tenant_a\".\"role\" AS ENUM('admin', 'member');" BREAK
        "CREATE TABLE \"users\" (\n\t\"id\" serial PRIMARY KEY NOT NULL,\n\t\"role\" "
        "\"tenant_a\".\"role\" DEFAULT 'member' NOT NULL,\n\t\"org_id\" integer\n);\n" BREAK
        "ALTER TABLE \"users\" ADD CONSTRAINT \"users_org_id_orgs_id_fk\" FOREIGN KEY "
        "(\"org_id\") REFERENCES \"tenant_a\".\"orgs\"(\"id\") ON DELETE cascade ON UPDATE no "
        "action;" BREAK "CREATE INDEX \"users_org_idx\" ON \"users\" USING btree (\"org_id\");");
}

/* Older drizzle-kit wrapped foreign keys in DO blocks: their bodies are rewritten too. */
static void test_do_block(void **state)
{
    (void)state;
    assert_rewrite("DO $$ BEGIN\n ALTER TABLE \"posts\" ADD CONSTRAINT \"p_fk\" FOREIGN KEY "
                   "(\"u\") REFERENCES \"public\".\"users\"(\"id\");\nEXCEPTION\n WHEN "
                   "duplicate_object THEN null;\nEND $$;",
                   "DO $$ BEGIN\n ALTER TABLE \"posts\" ADD CONSTRAINT \"p_fk\" FOREIGN KEY "
                   "(\"u\") REFERENCES \"tenant_a\".\"users\"(\"id\");\nEXCEPTION\n WHEN "
                   "duplicate_object THEN null;\nEND $$;");
    assert_rewrite("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT count(*) FROM "
                   "public.users $body$;",
                   "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT count(*) FROM "
                   "\"tenant_a\".users $body$;");
}

/* Only qualifiers: not a table or column called public, not comments, not the second part of
 * a name; unquoted names fold, quoted ones do not. */
static void test_only_qualifiers(void **state)
{
    (void)state;
    assert_rewrite("-- public.users stays in the comment\nSELECT public.users.id, x.public.y, "
                   "\"Public\".t, PUBLIC.t, public FROM /* public.z */ public . users;",
                   "-- public.users stays in the comment\nSELECT \"tenant_a\".users.id, "
                   "x.public.y, \"Public\".t, \"tenant_a\".t, public FROM /* public.z */ "
                   "\"tenant_a\" . users;");
    assert_rewrite("CREATE TABLE \"t\" (\"public\" text);",
                   "CREATE TABLE \"t\" (\"public\" text);");
}

/* A folder of several schemas: each maps to its own, schema statements included. */
static void test_schema_map(void **state)
{
    (void)state;
    const char *from[] = {"public", "billing"};
    const char *to[] = {"acme", "acme_billing"};
    char *got = rewritten(
        "CREATE SCHEMA \"billing\";" BREAK "CREATE SCHEMA IF NOT EXISTS billing;" BREAK
        "CREATE TABLE \"billing\".\"invoices\" (\"org\" integer REFERENCES "
        "\"public\".\"orgs\"(\"id\"));" BREAK "ALTER TABLE \"t\" SET SCHEMA \"billing\";" BREAK
        "GRANT USAGE ON SCHEMA billing TO app;" BREAK
        "DROP SCHEMA IF EXISTS \"old\", billing CASCADE;",
        from, to, 2, NULL);
    assert_string_equal(got, "CREATE SCHEMA \"acme_billing\";" BREAK
                             "CREATE SCHEMA IF NOT EXISTS \"acme_billing\";" BREAK
                             "CREATE TABLE \"acme_billing\".\"invoices\" (\"org\" integer "
                             "REFERENCES \"acme\".\"orgs\"(\"id\"));" BREAK
                             "ALTER TABLE \"t\" SET SCHEMA \"acme_billing\";" BREAK
                             "GRANT USAGE ON SCHEMA \"acme_billing\" TO app;" BREAK
                             "DROP SCHEMA IF EXISTS \"old\", \"acme_billing\" CASCADE;");
    free(got);
    /* NULL keeps a schema as written. */
    const char *keep[] = {"acme", NULL};
    got = rewritten("SELECT 1 FROM public.a, billing.b;", from, keep, 2, NULL);
    assert_string_equal(got, "SELECT 1 FROM \"acme\".a, billing.b;");
    free(got);
    /* A name that needs quoting is quoted, quotes doubled. */
    const char *odd[] = {"Tenant \"A\""};
    got = rewritten("SELECT 1 FROM public.a;", PUBLIC, odd, 1, NULL);
    assert_string_equal(got, "SELECT 1 FROM \"Tenant \"\"A\"\"\".a;");
    free(got);
}

/* What cannot be rewritten is reported at its line and column in the file. */
static void test_problems(void **state)
{
    (void)state;
    Codebase cb;
    CbMigration m;
    one_migration(&cb, &m,
                  "CREATE TABLE a (id int);\n" BREAK
                  "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\";\n" BREAK
                  "SELECT 'public.a'::regclass, 'public a', 'republic.x';\n" BREAK
                  "DO $$ BEGIN EXECUTE 'ALTER TABLE \"public\".a ADD c int'; END $$;");
    CbSchemaRefs r;
    cb_schema_refs_find(&cb, PUBLIC, 1, &r);
    assert_int_equal(r.n_problems, 3);
    assert_int_equal(r.problems[0].line, 3);
    assert_int_equal(r.problems[0].column, 1);
    assert_true(strncmp(r.problems[0].message, "CREATE EXTENSION in a tenant folder", 35) == 0);
    assert_int_equal(r.problems[1].line, 5);
    assert_int_equal(r.problems[1].column, 8);
    assert_true(strstr(r.problems[1].message, "a string names schema \"public\"") != NULL);
    assert_int_equal(r.problems[2].line, 7);
    assert_int_equal(r.problems[2].column, 21);
    for (size_t i = 0; i < r.n_problems; i++)
        assert_int_equal(r.problems[i].migration, 0);
    cb_schema_refs_clear(&r);
    cb_schema_refs_clear(NULL);
    cb_chunks_free(m.chunks, m.n_chunks);
}

/* Chunks without a reference come back as they were, empty ones included. */
static void test_untouched(void **state)
{
    (void)state;
    assert_rewrite("CREATE TABLE \"a\" (\"id\" int);" BREAK "" BREAK "\n",
                   "CREATE TABLE \"a\" (\"id\" int);" BREAK "" BREAK "\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drizzle_kit_output), cmocka_unit_test(test_do_block),
        cmocka_unit_test(test_only_qualifiers),    cmocka_unit_test(test_schema_map),
        cmocka_unit_test(test_problems),           cmocka_unit_test(test_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
