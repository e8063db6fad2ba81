/*
 * Unit tests for the identity guard: the inventory's `expect` setting (defaults merged key by
 * key, ${VAR} and ${each} expansion, the exact errors with file:line:column) and
 * preflight_long_xact, then pg_identity_mismatch's verdict and wording.
 */
#include "core/mem.h"
#include "inventory/inventory.h"
#include "pg/internal.h"
#include "pg/pg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char g_dir[] = "/tmp/pf-expect-XXXXXX";

static char *write_yaml(const char *yaml)
{
    char *path = pf_asprintf("%s/fleet.yaml", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static Inventory *load(const char *yaml, PfErr *err)
{
    char *path = write_yaml(yaml);
    Inventory *inv = NULL;
    inv_load(path, &inv, err);
    free(path);
    return inv;
}

/* The error message, without the "PATH:" prefix. */
static void assert_load_error(const char *yaml, const char *want)
{
    PfErr err = {0};
    Inventory *inv = load(yaml, &err);
    assert_null(inv);
    assert_int_equal(err.code, PF_ERR_INPUT);
    const char *colon = strstr(err.msg, "fleet.yaml:");
    assert_non_null(colon);
    assert_string_equal(colon + strlen("fleet.yaml:"), want);
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
}

static void assert_expect(const InvTarget *t, const char *database, const char *user,
                          const char *sysid)
{
    assert_str_or_null(t->settings.expect.database, database);
    assert_str_or_null(t->settings.expect.user, user);
    assert_str_or_null(t->settings.expect.system_identifier, sysid);
}

static void test_expect_loading(void **state)
{
    setenv("PF_TEST_EXPECT_DB", "from_env", 1);
    PfErr err = {0};
    Inventory *inv = load("defaults:\n"
                          "  expect: {system_identifier: \"7311068311429248415\", user: app}\n"
                          "targets:\n"
                          "  - name: plain\n"
                          "    dsn: x\n"
                          "  - name: merged\n"
                          "    dsn: x\n"
                          "    expect: {database: app_prod}\n"
                          "  - name: unset_one\n"
                          "    dsn: x\n"
                          "    expect:\n"
                          "      user:\n"
                          "      database: ${PF_TEST_EXPECT_DB}\n"
                          "  - name: none\n"
                          "    dsn: x\n"
                          "    expect: null\n"
                          "  - name: t-${each}\n"
                          "    for_each: [acme, globex]\n"
                          "    dsn: x\n"
                          "    expect: {database: \"tenant_${each}\"}\n",
                          &err);
    if (!inv)
        print_error("%s\n", err.msg);
    assert_non_null(inv);
    assert_int_equal(inv->n, 6);
    assert_expect(&inv->targets[0], NULL, "app", "7311068311429248415");
    assert_expect(&inv->targets[1], "app_prod", "app", "7311068311429248415");
    assert_expect(&inv->targets[2], "from_env", NULL, "7311068311429248415");
    assert_expect(&inv->targets[3], NULL, NULL, NULL);
    assert_expect(&inv->targets[4], "tenant_acme", "app", "7311068311429248415");
    assert_expect(&inv->targets[5], "tenant_globex", "app", "7311068311429248415");
    /* The default threshold of preflight's long-transaction warning. */
    assert_int_equal(inv->targets[0].settings.preflight_long_xact_ms, 60000);
    inv_free(inv);
    unsetenv("PF_TEST_EXPECT_DB");
    (void)state;
}

static void test_preflight_long_xact(void **state)
{
    PfErr err = {0};
    Inventory *inv = load("defaults: {preflight_long_xact: 5s}\n"
                          "targets:\n"
                          "  - {name: a, dsn: x}\n"
                          "  - {name: b, dsn: x, preflight_long_xact: 0}\n"
                          "  - {name: c, dsn: x, preflight_long_xact: 2m}\n",
                          &err);
    assert_non_null(inv);
    assert_int_equal(inv->targets[0].settings.preflight_long_xact_ms, 5000);
    assert_int_equal(inv->targets[1].settings.preflight_long_xact_ms, 0);
    assert_int_equal(inv->targets[2].settings.preflight_long_xact_ms, 120000);
    inv_free(inv);
    assert_load_error("targets:\n  - {name: a, dsn: x, preflight_long_xact: soon}\n",
                      "2:44: bad duration 'soon' for preflight_long_xact; expected e.g. 30s, "
                      "500ms, 2m, 1h or a number of seconds (0 = none)");
    assert_load_error("targets:\n  - {name: a, dsn: x, preflight_long_xact: [1]}\n",
                      "2:44: preflight_long_xact must be a duration, not a sequence");
    (void)state;
}

static void test_expect_errors(void **state)
{
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: {databse: app}\n",
                      "4:14: unknown key 'databse' in expect; expected one of: database, user, "
                      "system_identifier; hint: did you mean 'database'?");
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: app\n",
                      "4:13: expect must be a mapping, not a scalar");
    assert_load_error("defaults:\n  expect: [app]\ntargets: []\n",
                      "2:11: expect must be a mapping, not a sequence");
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: {database: [a]}\n",
                      "4:24: database must be a string, not a sequence");
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: {system_identifier: 12ab}\n",
                      "4:33: bad system_identifier '12ab'; expected the decimal number that "
                      "SELECT system_identifier FROM pg_control_system() (or pg_controldata) "
                      "shows");
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: {user: \"${PF_NOPE:-}\"}\n",
                      "4:20: user must not be empty (after expansion)");
    assert_load_error("targets:\n  - name: a\n    dsn: x\n    expect: {database: a, database: b}\n",
                      "4:27: duplicate key 'database' (first at line 4)");
    /* Checked even when for_each gives no target. */
    assert_load_error("targets:\n  - name: a${each}\n    for_each: []\n    dsn: x\n"
                      "    expect: {host: a}\n",
                      "5:14: unknown key 'host' in expect; expected one of: database, user, "
                      "system_identifier");
    (void)state;
}

static void test_identity_mismatch(void **state)
{
    PgIdentity id = {.database = "app_staging",
                     .user = "app",
                     .server_version = "15.20",
                     .system_identifier = "7311068311429248415"};
    InvExpect none = {0};
    assert_null(pg_identity_mismatch(&id, &none));
    assert_null(pg_identity_mismatch(&id, NULL));
    InvExpect same = {
        .database = "app_staging", .user = "app", .system_identifier = "7311068311429248415"};
    assert_null(pg_identity_mismatch(&id, &same));

    InvExpect db = {.database = "app_prod"};
    char *why = pg_identity_mismatch(&id, &db);
    assert_string_equal(why, "expected database app_prod, connected to database app_staging; "
                             "hint: check the dsn: it points at another database");
    free(why);

    InvExpect both = {.database = "app_staging", .system_identifier = "1234"};
    why = pg_identity_mismatch(&id, &both);
    assert_string_equal(why, "expected database app_staging (system identifier 1234), connected "
                             "to database app_staging (system identifier 7311068311429248415); "
                             "hint: check the dsn: it points at another database");
    free(why);

    InvExpect sysid = {.system_identifier = "1234"};
    why = pg_identity_mismatch(&id, &sysid);
    assert_string_equal(why, "expected system identifier 1234, connected to database "
                             "app_staging (system identifier 7311068311429248415); hint: check "
                             "the dsn: it points at another database");
    free(why);

    InvExpect user = {.database = "app_staging", .user = "owner"};
    why = pg_identity_mismatch(&id, &user);
    assert_string_equal(why, "expected database app_staging as user owner, connected to database "
                             "app_staging as user app; hint: check the dsn: it points at another "
                             "database");
    free(why);

    /* A system identifier the role cannot read never matches, and the hint says why. */
    id.system_identifier = NULL;
    why = pg_identity_mismatch(&id, &same);
    assert_string_equal(why, "expected database app_staging as user app (system identifier "
                             "7311068311429248415), connected to database app_staging as user "
                             "app (system identifier not readable); hint: user app cannot read "
                             "the system identifier: GRANT EXECUTE ON FUNCTION "
                             "pg_catalog.pg_control_system() TO it, or drop system_identifier "
                             "from expect");
    free(why);
    (void)state;
}

/* The guard written into SQL, and pg_quote_literal's quoting of what it compares (and
 * pg_quote_ident's of names): each quote doubled, wherever it stands. */
static void test_expect_sql(void **state)
{
    (void)state;
    InvExpect e = {.database = "o'brien", .user = "'a''b'"};
    char *sql = pg_expect_sql(&e);
    assert_string_equal(sql, "coalesce(true AND current_catalog = 'o''brien' AND current_user = "
                             "'''a''''b''', false)");
    free(sql);
    InvExpect none = {0};
    sql = pg_expect_sql(&none);
    assert_string_equal(sql, "coalesce(true, false)");
    free(sql);
    const struct {
        char *(*quote)(const char *);
        const char *in, *out;
    } cases[] = {
        {pg_quote_literal, "", "''"},           {pg_quote_literal, "'", "''''"},
        {pg_quote_literal, "plain", "'plain'"}, {pg_quote_literal, "a'b'", "'a''b'''"},
        {pg_quote_ident, "", "\"\""},           {pg_quote_ident, "\"", "\"\"\"\""},
        {pg_quote_ident, "it's", "\"it's\""},   {pg_quote_ident, "a\"b\"", "\"a\"\"b\"\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *quoted = cases[i].quote(cases[i].in);
        assert_string_equal(quoted, cases[i].out);
        free(quoted);
    }
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *path = pf_asprintf("%s/fleet.yaml", g_dir);
    unlink(path);
    free(path);
    return rmdir(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expect_loading), cmocka_unit_test(test_preflight_long_xact),
        cmocka_unit_test(test_expect_errors),  cmocka_unit_test(test_identity_mismatch),
        cmocka_unit_test(test_expect_sql),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
