/*
 * cb_created (src/codebase/created.c): which objects the migrations create with a statement
 * that fails when the object exists already, read with PostgreSQL's parser (a chunk it refuses
 * by first words), in run order, each once.
 */
#include "codebase/codebase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A codebase of up to three migrations given by their chunks. */
#define MIG(name, ...)                                                                             \
    static char *name##_chunks[] = {__VA_ARGS__};                                                  \
    static CbMigration name = {.tag = #name,                                                       \
                               .chunks = name##_chunks,                                            \
                               .n_chunks = sizeof name##_chunks / sizeof name##_chunks[0]}

/* "kind schema.name@migration" per object, one line each (schema "-" when NULL). */
static char *created_text(CbMigration *m1, CbMigration *m2)
{
    CbMigration migs[2];
    size_t n = 0;
    migs[n++] = *m1;
    if (m2)
        migs[n++] = *m2;
    Codebase cb = {.dir = "x", .migrations = migs, .n = n};
    CbObject *o;
    size_t count;
    cb_created(&cb, &o, &count);
    size_t cap = 64 + count * 160, len = 0;
    char *text = calloc(1, cap);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s %s.%s@%zu%s\n", o[i].kind,
                                o[i].schema ? o[i].schema : "-", o[i].name, o[i].migration,
                                o[i].space == CB_OBJECT_RELATION ? " r"
                                : o[i].space == CB_OBJECT_TYPE   ? " t"
                                                                 : " n");
    cb_objects_free(o, count);
    return text;
}

#define ASSERT_CREATED(want, m1, m2)                                                               \
    do {                                                                                           \
        char *got_ = created_text(m1, m2);                                                         \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* What drizzle-kit generates: enum types, tables, a schema; names quoted, breakpoints. */
MIG(kit0, "CREATE TYPE \"public\".\"user_role\" AS ENUM('admin', 'member');",
    "\nCREATE TABLE \"users\" (\n\t\"id\" serial PRIMARY KEY NOT NULL,\n\t\"role\" "
    "\"user_role\" DEFAULT 'member'\n);\n",
    "\nCREATE SCHEMA \"billing\";\n", "\nCREATE TABLE \"billing\".\"Invoices\" (\"id\" integer);\n",
    "\nALTER TABLE \"billing\".\"Invoices\" ADD CONSTRAINT \"x\" FOREIGN KEY (\"id\") REFERENCES "
    "\"public\".\"users\"(\"id\");");
MIG(kit1, "CREATE TABLE \"posts\" (\"id\" integer);\nCREATE INDEX \"posts_id\" ON \"posts\" "
          "(\"id\");\nCREATE SEQUENCE \"public\".\"seq\";\nCREATE VIEW \"v\" AS SELECT 1;");

static void test_drizzle_kit_output(void **state)
{
    ASSERT_CREATED("type public.user_role@0 t\n"
                   "table -.users@0 r\n"
                   "schema -.billing@0 n\n"
                   "table billing.Invoices@0 r\n"
                   "table -.posts@1 r\n"
                   "index -.posts_id@1 r\n"
                   "sequence public.seq@1 r\n"
                   "view -.v@1 r\n",
                   &kit0, &kit1);
}

/* Unquoted names fold to lowercase; quoted ones keep their case. */
MIG(fold, "create table Accounts (id int); CREATE TYPE App.Mood AS ENUM ('ok');"
          "CREATE TABLE \"MixedCase\" (id int);");

static void test_case_folding(void **state)
{
    ASSERT_CREATED("table -.accounts@0 r\n"
                   "type app.mood@0 t\n"
                   "table -.MixedCase@0 r\n",
                   &fold, NULL);
}

/* Statements that do not fail on an existing object, or create nothing that lasts. */
MIG(harmless, "CREATE TABLE IF NOT EXISTS \"a\" (id int);", "CREATE SCHEMA IF NOT EXISTS \"s\";",
    "CREATE OR REPLACE VIEW \"v\" AS SELECT 1;",
    "CREATE TEMP TABLE \"t\" (id int); CREATE GLOBAL TEMPORARY TABLE g (id int);",
    "CREATE SEQUENCE IF NOT EXISTS \"q\"; CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1;",
    "CREATE UNIQUE INDEX IF NOT EXISTS \"i\" ON \"a\" (id); CREATE INDEX ON \"a\" (id);",
    "CREATE EXTENSION pgcrypto;",
    "DO $$ BEGIN CREATE TYPE \"public\".\"st\" AS ENUM('a'); EXCEPTION WHEN duplicate_object "
    "THEN null; END $$;",
    "-- CREATE TABLE \"commented\" (id int);\nSELECT 'CREATE TABLE \"quoted\" (id int)';",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ CREATE TABLE inner_t (id int) $f$;");

static void test_harmless_statements(void **state)
{
    ASSERT_CREATED("", &harmless, NULL);
}

/* Other forms that fail on an existing object. */
MIG(forms, "CREATE UNLOGGED TABLE \"u\" (id int);",
    "CREATE TABLE \"p1\" PARTITION OF p FOR VALUES IN (1);",
    "CREATE MATERIALIZED VIEW \"mv\" AS SELECT 1;", "CREATE DOMAIN \"d\" AS int;",
    "CREATE SCHEMA AUTHORIZATION joe;", "CREATE SCHEMA AUTHORIZATION CURRENT_USER;",
    "CREATE SCHEMA \"named\" AUTHORIZATION joe;", "CREATE FOREIGN TABLE \"ft\" (id int) SERVER s;",
    "CREATE TABLE db.sch.tbl (id int);", "CREATE TABLE \"copy\" AS SELECT 1;");

static void test_other_forms(void **state)
{
    ASSERT_CREATED("table -.u@0 r\n"
                   "table -.p1@0 r\n"
                   "materialized view -.mv@0 r\n"
                   "domain -.d@0 t\n"
                   "schema -.joe@0 n\n"
                   "schema -.named@0 n\n"
                   "table -.ft@0 r\n"
                   "table sch.tbl@0 r\n"
                   "table -.copy@0 r\n",
                   &forms, NULL);
}

/* An index lives in its table's schema, as drizzle-kit's CREATE INDEX on a "public"-qualified
 * table puts it; UNIQUE, CONCURRENTLY and ONLY change nothing. A DROP INDEX before the CREATE, or
 * an ALTER TABLE ... DROP CONSTRAINT of its name (the index of a unique constraint goes with
 * it), means the CREATE cannot fail. A chunk the parser refuses is read by its first words. */
MIG(idx0,
    "CREATE UNIQUE INDEX \"users_email_idx\" ON \"public\".\"users\" USING btree (\"email\");",
    "CREATE INDEX CONCURRENTLY \"Big_Idx\" ON ONLY billing.invoices (id);",
    "DROP INDEX IF EXISTS \"public\".\"again_idx\"; CREATE INDEX \"again_idx\" ON \"t\" (id);",
    "ALTER TABLE \"public\".\"users\" DROP CONSTRAINT \"users_name_unique\";\n"
    "CREATE UNIQUE INDEX \"users_name_unique\" ON \"public\".\"users\" (\"name\");",
    "ALTER TABLE \"users\" DROP CONSTRAINT \"users_x_unique\";\n"
    "CREATE UNIQUE INDEX \"users_x_unique\" ON \"other\".\"users\" (\"x\");");
MIG(idx1, "CREATE UNIQUE INDEX \"lexed_idx\" ON \"s\".\"t\" (id);\n\\c otherdb\n",
    "DROP INDEX CONCURRENTLY \"gone_idx\"; SELEC 1;", "CREATE INDEX \"gone_idx\" ON t (id);",
    "CREATE INDEX IF NOT EXISTS \"maybe_idx\" ON t (id); SELEC 1;");

static void test_indexes(void **state)
{
    ASSERT_CREATED("index public.users_email_idx@0 r\n"
                   "index billing.Big_Idx@0 r\n"
                   "index other.users_x_unique@0 r\n"
                   "index s.lexed_idx@1 r\n",
                   &idx0, &idx1);
}

/* Each object once, from its first CREATE; a DROP before the CREATE means it cannot fail
 * (unqualified and public. name the same object). */
MIG(once0, "CREATE TABLE \"a\" (id int);", "DROP TABLE IF EXISTS \"public\".\"b\", c CASCADE;",
    "CREATE TABLE \"b\" (id int); CREATE TABLE public.c (id int);",
    "DROP TYPE IF EXISTS \"e\"; CREATE TYPE \"e\" AS ENUM ('x');");
MIG(once1, "DROP TABLE \"a\";", "CREATE TABLE \"public\".\"a\" (id int);",
    "DROP SCHEMA IF EXISTS s1, s2; CREATE SCHEMA s2; CREATE SCHEMA s3;",
    "DROP VIEW IF EXISTS \"r\"; CREATE TABLE \"r\" (id int); CREATE TYPE \"a\" AS ENUM ('y');");

static void test_each_once_drop_first(void **state)
{
    ASSERT_CREATED("table -.a@0 r\n"
                   "schema -.s3@1 n\n"
                   "type -.a@1 t\n",
                   &once0, &once1);
}

/* What only the parser sees: SELECT ... INTO creates a table, CREATE SCHEMA's elements are
 * created in it, composite and range types are types; temporary views and sequences, and
 * what a LANGUAGE sql body or a BEGIN ATOMIC body holds, do not count. */
MIG(parsed, "SELECT 1 AS id INTO \"from_select\";",
    "CREATE SCHEMA \"tenant\" CREATE TABLE \"t\" (id int) CREATE VIEW v AS SELECT 1;",
    "CREATE TYPE \"pair\" AS (x int, y int); CREATE TYPE r AS RANGE (subtype = int4);",
    "CREATE TEMP VIEW tv AS SELECT 1; CREATE TEMPORARY SEQUENCE ts;",
    "CREATE PROCEDURE p() LANGUAGE sql AS $$ CREATE TABLE in_body (id int) $$;",
    "CREATE TABLE IF NOT EXISTS \"ctas\" AS SELECT 1; CREATE TABLE \"ctas2\" AS SELECT 1;");

static void test_read_by_the_parser(void **state)
{
    ASSERT_CREATED("table -.from_select@0 r\n"
                   "schema -.tenant@0 n\n"
                   "table tenant.t@0 r\n"
                   "view tenant.v@0 r\n"
                   "type -.pair@0 t\n"
                   "type -.r@0 t\n"
                   "table -.ctas2@0 r\n",
                   &parsed, NULL);
}

/* A chunk the parser refuses is read by first words, as before the parser: the psql
 * meta-command does not hide the CREATE TABLE before it, nor the DROP in the next chunk. */
MIG(unparsed, "CREATE TABLE \"before\" (id int);\n\\c otherdb\n",
    "DROP TABLE IF EXISTS \"after\"; SELEC 1;", "CREATE TABLE \"after\" (id int);");

static void test_unparsed_falls_back(void **state)
{
    ASSERT_CREATED("table -.before@0 r\n", &unparsed, NULL);
}

static void test_empty(void **state)
{
    Codebase cb = {.dir = "x"};
    CbObject *o = NULL;
    size_t n = 99;
    cb_created(&cb, &o, &n);
    assert_int_equal(n, 0);
    cb_objects_free(o, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drizzle_kit_output),
        cmocka_unit_test(test_case_folding),
        cmocka_unit_test(test_harmless_statements),
        cmocka_unit_test(test_other_forms),
        cmocka_unit_test(test_each_once_drop_first),
        cmocka_unit_test(test_read_by_the_parser),
        cmocka_unit_test(test_unparsed_falls_back),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
