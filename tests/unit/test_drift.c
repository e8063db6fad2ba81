/*
 * Comparing catalog snapshots (src/plan/drift.c): equal snapshots give nothing, each kind of
 * difference gives exactly its line, what belongs to a missing or extra relation or schema is
 * not listed again, and a tenant's mapping renames schemas before the comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "plan/drift.h"

#include <stdlib.h>
#include <string.h>

/* The app's schema, in a given schema. */
static void base(DriftSnapshot *s, const char *schema)
{
    drift_snapshot_add(s, "schema", schema, "", NULL, "");
    drift_snapshot_add(s, "table", schema, "users", NULL, "");
    drift_snapshot_add(s, "column", schema, "users.id", "users", "integer NOT NULL");
    drift_snapshot_add(s, "column", schema, "users.name", "users", "text NOT NULL");
    drift_snapshot_add(s, "constraint", schema, "users.users_pkey", "users", "PRIMARY KEY (id)");
    drift_snapshot_add(s, "index", schema, "users_name_idx", "users",
                       "CREATE INDEX users_name_idx ON users USING btree (name)");
    drift_snapshot_add(s, "enum", schema, "role", NULL, "'member', 'admin'");
    drift_snapshot_add(s, "grant", schema, "users to app", "users", "SELECT");
}

/* The lines of compare(e, a), joined by newlines. */
static char *diff(DriftSnapshot *e, DriftSnapshot *a)
{
    drift_snapshot_sort(e);
    drift_snapshot_sort(a);
    char **lines;
    size_t n;
    drift_compare(e, a, &lines, &n);
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        pf_buf_printf(&b, "%s%s", i ? "\n" : "", lines[i]);
    drift_lines_free(lines, n);
    drift_snapshot_clear(e);
    drift_snapshot_clear(a);
    char *out = pf_buf_take(&b);
    return out ? out : strdup("");
}

static void test_equal(void **state)
{
    DriftSnapshot e = {0}, a = {0};
    base(&e, "public");
    drift_snapshot_add(&e, "extension", "", "citext", NULL, "version 1.6");
    base(&a, "public");
    drift_snapshot_add(&a, "extension", "", "citext", NULL, "version 1.6");
    char *d = diff(&e, &a);
    assert_string_equal(d, "");
    free(d);
}

static void test_each_kind_of_difference(void **state)
{
    DriftSnapshot e = {0}, a = {0};
    base(&e, "public");
    drift_snapshot_add(&e, "policy", "public", "users.own", "users", "PERMISSIVE FOR ALL");
    base(&a, "public");
    drift_snapshot_add(&a, "index", "public", "users_extra_idx", "users", "CREATE INDEX ...");
    /* The same key twice in a would be a bug of the query; a changed def replaces one. */
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.objs[i].name, "users.name") == 0) {
            free(a.objs[i].def);
            a.objs[i].def = strdup("text NULL");
        }
    char *d = diff(&e, &a);
    assert_string_equal(d, "~ column public.users.name: text NOT NULL -> text NULL\n"
                           "+ index public.users_extra_idx\n"
                           "- policy public.users.own");
    free(d);
}

static void test_missing_table_listed_once(void **state)
{
    DriftSnapshot e = {0}, a = {0};
    base(&e, "public");
    drift_snapshot_add(&a, "schema", "public", "", NULL, "");
    drift_snapshot_add(&a, "enum", "public", "role", NULL, "'member', 'admin'");
    char *d = diff(&e, &a);
    assert_string_equal(d, "- table public.users");
    free(d);
}

static void test_extra_schema_listed_once(void **state)
{
    DriftSnapshot e = {0}, a = {0};
    base(&e, "public");
    base(&a, "public");
    base(&a, "audit");
    char *d = diff(&e, &a);
    assert_string_equal(d, "+ schema audit");
    free(d);
}

static void test_grant_names(void **state)
{
    DriftSnapshot e = {0}, a = {0};
    drift_snapshot_add(&e, "grant", "public", "to app", NULL, "USAGE");
    drift_snapshot_add(&e, "grant", "public", "users to app", "users", "SELECT");
    char *d = diff(&e, &a);
    assert_string_equal(d, "- grant on schema public to app\n"
                           "- grant on public.users to app");
    free(d);
}

static void test_tenant_mapping_and_keep(void **state)
{
    DriftSnapshot folder = {0}, e, a = {0};
    base(&folder, "public");
    drift_snapshot_sort(&folder);
    const char *from[] = {"public"}, *to[] = {"tenant_acme"};
    drift_snapshot_map(&folder, from, to, 1, &e);
    drift_snapshot_clear(&folder);
    base(&a, "tenant_acme");
    base(&a, "tenant_globex"); /* another tenant's schema in the same database */
    size_t n;
    const char **keep = drift_snapshot_schemas(&e, &n);
    assert_int_equal(n, 1);
    assert_string_equal(keep[0], "tenant_acme");
    drift_snapshot_keep(&a, keep, n);
    free(keep);
    drift_snapshot_add(&a, "index", "tenant_acme", "users_x_idx", "users", "CREATE INDEX ...");
    char *d = diff(&e, &a);
    assert_string_equal(d, "+ index tenant_acme.users_x_idx");
    free(d);
}

/* One tenant's part of a catalog read for many: its schemas (and the extensions, schema ""),
 * sorted, nothing of the others, even when they sort before, between or after it. */
static void test_slice(void **state)
{
    (void)state;
    DriftSnapshot all = {0}, part;
    base(&all, "t_b");
    base(&all, "t_a");
    base(&all, "audit");
    base(&all, "t_c");
    drift_snapshot_add(&all, "extension", "", "pgcrypto", NULL, "version 1.3");
    drift_snapshot_sort(&all);
    const char *schemas[] = {"t_b", "audit", "t_b", "missing"};
    drift_snapshot_slice(&all, schemas, 4, &part);
    assert_int_equal(part.n, 1 + 2 * 8);
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < part.n; i++)
        pf_buf_printf(&b, "%s%s.%s", i ? " " : "", part.objs[i].schema, part.objs[i].kind);
    char *got = pf_buf_take(&b);
    assert_string_equal(got, ".extension audit.column audit.column audit.constraint audit.enum "
                             "audit.grant audit.index audit.schema audit.table t_b.column "
                             "t_b.column t_b.constraint t_b.enum t_b.grant t_b.index t_b.schema "
                             "t_b.table");
    free(got);
    drift_snapshot_clear(&part);
    const char *none[] = {"nowhere"};
    drift_snapshot_slice(&all, none, 1, &part);
    assert_int_equal(part.n, 1);
    assert_string_equal(part.objs[0].kind, "extension");
    drift_snapshot_clear(&part);
    drift_snapshot_clear(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_each_kind_of_difference),
        cmocka_unit_test(test_missing_table_listed_once),
        cmocka_unit_test(test_extra_schema_listed_once),
        cmocka_unit_test(test_grant_names),
        cmocka_unit_test(test_tenant_mapping_and_keep),
        cmocka_unit_test(test_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
