/*
 * Unit tests for src/inventory/: loading (defaults, overrides, for_each, ${VAR} expansion),
 * the exact error text users see (with file:line:column), dsn masking and target selection.
 * Inline inventories are written to a mkdtemp directory; tests/data/inventory/fleet.yaml is the
 * full example.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "inventory/inv_internal.h"
#include "inventory/inventory.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char g_dir[] = "/tmp/pf-inv-XXXXXX";

/* Write yaml to DIR/name and return the path (caller frees). */
static char *write_file(const char *name, const char *yaml)
{
    char *path = pf_asprintf("%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static Inventory *load_ok(const char *yaml)
{
    char *path = write_file("inv.yaml", yaml);
    Inventory *inv = NULL;
    PfErr err = {0};
    PfErrCode rc = inv_load(path, &inv, &err);
    if (rc != PF_OK)
        print_error("unexpected error: %s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    assert_non_null(inv);
    free(path);
    return inv;
}

/* Load yaml and check the error is PF_ERR_INPUT with "PATH:" + expected. */
static void load_fails(const char *yaml, const char *expected)
{
    char *path = write_file("bad.yaml", yaml);
    Inventory *inv = (Inventory *)&inv; /* must be reset to NULL */
    PfErr err = {0};
    PfErrCode rc = inv_load(path, &inv, &err);
    char *want = pf_asprintf("%s:%s", path, expected);
    assert_int_equal(rc, PF_ERR_INPUT);
    assert_int_equal(err.code, PF_ERR_INPUT);
    assert_null(inv);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(g_dir));
    return 0;
}

static int teardown(void **state)
{
    char *cmd = pf_asprintf("rm -rf '%s'", g_dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

/* ---- loading ---- */

static void test_fixture_fleet(void **state)
{
    const char *path = PF_TEST_DATA "/inventory/fleet.yaml";
    Inventory *inv = NULL;
    PfErr err = {0};
    assert_int_equal(inv_load(path, &inv, &err), PF_OK);
    assert_string_equal(inv->path, path);
    assert_string_equal(inv->migrations_dir, PF_TEST_DATA "/inventory/drizzle");
    assert_int_equal(inv->n, 5);

    const InvTarget *t = &inv->targets[0];
    assert_string_equal(t->name, "staging");
    assert_string_equal(t->dsn, "postgres://app:s3cret@db-staging:5432/app?sslmode=require");
    assert_string_equal(t->dsn_masked, "postgres://app:****@db-staging:5432/app?sslmode=require");
    assert_int_equal(t->n_labels, 2);
    assert_string_equal(t->labels[0].key, "env");
    assert_string_equal(t->labels[0].value, "staging");
    assert_string_equal(t->labels[1].key, "region");
    assert_string_equal(t->labels[1].value, "eu");
    assert_string_equal(t->schema, "ops");
    assert_string_equal(t->table, "migrations_log");
    assert_int_equal(t->line, 16);
    assert_int_equal(t->column, 5);
    /* every default from the file */
    assert_int_equal(t->settings.connect_timeout_ms, 5000);
    assert_int_equal(t->settings.lock_wait_ms, 120000);
    assert_int_equal(t->settings.lock_timeout_ms, 500);
    assert_int_equal(t->settings.statement_timeout_ms, 3600000);
    assert_string_equal(t->settings.sslmode, "require");
    assert_string_equal(t->settings.application_name, "pgfleet-ci");
    assert_int_equal(t->settings.transaction, INV_TX_PER_MIGRATION);
    assert_true(t->settings.lock_key_set);
    assert_true(t->settings.lock_key == INT64_MIN);

    static const char *const tenants[] = {"acme", "globex"};
    for (int i = 0; i < 2; i++) {
        t = &inv->targets[1 + i];
        char *name = pf_asprintf("tenant-%s", tenants[i]);
        char *dsn = pf_asprintf("host=db-tenants dbname=%s password='t0p secret'", tenants[i]);
        char *masked = pf_asprintf("host=db-tenants dbname=%s password=****", tenants[i]);
        char *schema = pf_asprintf("t_%s", tenants[i]);
        assert_string_equal(t->name, name);
        assert_string_equal(t->dsn, dsn);
        assert_string_equal(t->dsn_masked, masked);
        assert_int_equal(t->n_labels, 2);
        assert_string_equal(inv_label(t, "env"), "prod");
        assert_string_equal(inv_label(t, "tenant"), tenants[i]);
        assert_string_equal(t->schema, schema);
        assert_string_equal(t->table, "migrations_log");
        assert_string_equal(t->settings.sslmode, "verify-full");
        assert_int_equal(t->settings.lock_wait_ms, 0);
        assert_int_equal(t->settings.lock_timeout_ms, 500);
        assert_int_equal(t->settings.transaction, INV_TX_PER_MIGRATION);
        assert_int_equal(t->line, 19);
        assert_int_equal(t->column, 5);
        free(name);
        free(dsn);
        free(masked);
        free(schema);
    }

    static const char *const regions[] = {"us", "ap"};
    static const char *const ports[] = {"5433", "5434"};
    for (int i = 0; i < 2; i++) {
        t = &inv->targets[3 + i];
        char *name = pf_asprintf("%s-primary", regions[i]);
        char *dsn = pf_asprintf("postgresql://admin@db-%s:%s/main", regions[i], ports[i]);
        char *table = pf_asprintf("log_%s", ports[i]);
        assert_string_equal(t->name, name);
        assert_string_equal(t->dsn, dsn);
        assert_string_equal(t->dsn_masked, dsn);
        assert_string_equal(inv_label(t, "region"), regions[i]);
        assert_string_equal(t->schema, "ops");
        assert_string_equal(t->table, table);
        assert_int_equal(t->settings.transaction, INV_TX_ALL);
        assert_true(t->settings.lock_key_set);
        assert_true(t->settings.lock_key == 42);
        assert_int_equal(t->settings.connect_timeout_ms, 1500);
        assert_null(t->settings.sslmode); /* null resets the default to libpq's */
        assert_int_equal(t->settings.lock_wait_ms, 120000);
        assert_int_equal(t->line, 26);
        free(name);
        free(dsn);
        free(table);
    }
    inv_free(inv);
}

static void test_builtin_defaults(void **state)
{
    Inventory *inv = load_ok("targets:\n"
                             "  - name: a\n"
                             "    dsn: host=a\n");
    assert_null(inv->migrations_dir);
    assert_int_equal(inv->n, 1);
    const InvTarget *t = &inv->targets[0];
    assert_string_equal(t->name, "a");
    assert_string_equal(t->dsn, "host=a");
    assert_string_equal(t->dsn_masked, "host=a");
    assert_int_equal(t->n_labels, 0);
    assert_null(inv_label(t, "env"));
    assert_string_equal(t->schema, "drizzle");
    assert_string_equal(t->table, "__drizzle_migrations");
    assert_int_equal(t->settings.connect_timeout_ms, 10000);
    assert_int_equal(t->settings.lock_wait_ms, 30000);
    assert_int_equal(t->settings.lock_timeout_ms, 0);
    assert_int_equal(t->settings.statement_timeout_ms, 0);
    assert_null(t->settings.sslmode);
    assert_string_equal(t->settings.application_name, "pgfleet");
    assert_int_equal(t->settings.transaction, INV_TX_ALL);
    assert_false(t->settings.lock_key_set);
    assert_int_equal(t->line, 2);
    assert_int_equal(t->column, 5);
    inv_free(inv);
}

static void test_overrides_and_durations(void **state)
{
    Inventory *inv = load_ok("defaults:\n"
                             "  lock_wait: 30\n"
                             "  lock_key: 7\n"
                             "targets:\n"
                             "  - {name: a, dsn: x, lock_wait: 250ms, statement_timeout: 2m,\n"
                             "     lock_key: ~, application_name: '', connect_timeout: 0}\n"
                             "  - {name: b, dsn: y, lock_key: +12, lock_timeout: 0.5s}\n");
    assert_int_equal(inv->n, 2);
    const InvTarget *a = &inv->targets[0], *b = &inv->targets[1];
    assert_int_equal(a->settings.lock_wait_ms, 250);
    assert_int_equal(a->settings.statement_timeout_ms, 120000);
    assert_false(a->settings.lock_key_set);
    assert_string_equal(a->settings.application_name, "");
    assert_int_equal(a->settings.connect_timeout_ms, 0);
    assert_int_equal(a->line, 5);
    assert_int_equal(a->column, 5);
    assert_int_equal(b->settings.lock_wait_ms, 30000);
    assert_true(b->settings.lock_key_set);
    assert_true(b->settings.lock_key == 12);
    assert_int_equal(b->settings.lock_timeout_ms, 500);
    assert_int_equal(b->settings.connect_timeout_ms, 10000);
    inv_free(inv);
}

static void test_empty_targets(void **state)
{
    Inventory *inv = load_ok("targets: []\n");
    assert_int_equal(inv->n, 0);
    inv_free(inv);
    inv = load_ok("defaults:\nmigrations:\ntargets:\n");
    assert_int_equal(inv->n, 0);
    inv_free(inv);
    /* an empty for_each gives no targets, but the entry is still checked */
    inv = load_ok("targets:\n  - {name: 'n-${each}', dsn: x, for_each: []}\n");
    assert_int_equal(inv->n, 0);
    inv_free(inv);
    load_fails("targets:\n  - {name: 'n-${each}', for_each: []}\n",
               "2:5: missing key 'dsn' in target");
}

static void test_migrations_dir(void **state)
{
    Inventory *inv = load_ok("migrations: {dir: /abs/drizzle}\ntargets: []\n");
    assert_string_equal(inv->migrations_dir, "/abs/drizzle");
    inv_free(inv);
    inv = load_ok("migrations: {dir: ././/sub/mig}\ntargets: []\n");
    char *want = pf_asprintf("%s/sub/mig", g_dir);
    assert_string_equal(inv->migrations_dir, want);
    free(want);
    inv_free(inv);
    inv = load_ok("migrations: {dir: .}\ntargets: []\n");
    want = pf_asprintf("%s/.", g_dir);
    assert_string_equal(inv->migrations_dir, want);
    free(want);
    inv_free(inv);
}

static void test_env_expansion(void **state)
{
    setenv("PF_T_PASS", "pw", 1);
    setenv("PF_T_EMPTY", "", 1);
    setenv("PF_T_WAIT", "45s", 1);
    setenv("PF_T_DIR", "mig", 1);
    unsetenv("PF_T_UNSET");
    Inventory *inv = load_ok("migrations: {dir: '${PF_T_DIR}/x', schema: '${PF_T_UNSET:-s}'}\n"
                             "defaults: {lock_wait: '${PF_T_WAIT}'}\n"
                             "targets:\n"
                             "  - name: a\n"
                             "    dsn: postgres://u:${PF_T_PASS}@h/db\n"
                             "    labels:\n"
                             "      d1: ${PF_T_UNSET:-fallback}\n"
                             "      d2: ${PF_T_EMPTY:-used-when-empty}\n"
                             "      d3: x${PF_T_EMPTY}y\n"
                             "      dollar: a$$b $$${PF_T_PASS}\n"
                             "      lone: $PF_T_PASS $ 5$ ${PF_T_UNSET:-${PF_T_PASS}!}\n"
                             "      empty:\n"
                             "      lit-${PF_T_PASS}: 1\n");
    char *dir = pf_asprintf("%s/mig/x", g_dir);
    assert_string_equal(inv->migrations_dir, dir);
    free(dir);
    const InvTarget *t = &inv->targets[0];
    assert_string_equal(t->schema, "s");
    assert_int_equal(t->settings.lock_wait_ms, 45000);
    assert_string_equal(t->dsn, "postgres://u:pw@h/db");
    assert_string_equal(t->dsn_masked, "postgres://u:****@h/db");
    assert_string_equal(inv_label(t, "d1"), "fallback");
    assert_string_equal(inv_label(t, "d2"), "used-when-empty");
    assert_string_equal(inv_label(t, "d3"), "xy");
    assert_string_equal(inv_label(t, "dollar"), "a$b $pw");
    assert_string_equal(inv_label(t, "lone"), "$PF_T_PASS $ 5$ pw!");
    assert_string_equal(inv_label(t, "empty"), "");
    assert_string_equal(inv_label(t, "lit-${PF_T_PASS}"), "1"); /* keys are not expanded */
    inv_free(inv);
}

static void test_expand_function(void **state)
{
    setenv("PF_T_A", "alpha", 1);
    unsetenv("PF_T_UNSET");
    PfErr err = {0};
    char *s = inv_expand("${PF_T_A}-${PF_T_UNSET:-d}-$$-$", NULL, 0, &err);
    assert_string_equal(s, "alpha-d-$-$");
    free(s);

    /* a substituted value is not expanded again */
    setenv("PF_T_REF", "${PF_T_A}$$", 1);
    s = inv_expand("${PF_T_REF}", NULL, 0, &err);
    assert_string_equal(s, "${PF_T_A}$$");
    free(s);

    InvLabel scalar[] = {{"", "acme"}};
    s = inv_expand("t-${each}", scalar, 1, &err);
    assert_string_equal(s, "t-acme");
    free(s);
    InvLabel map[] = {{"region", "eu"}, {"port", ""}};
    s = inv_expand("${each.region}:${each.port:-5432}:${each.zone:-z}", map, 2, &err);
    assert_string_equal(s, "eu:5432:z");
    free(s);

    const struct {
        const char *in;
        const InvLabel *each;
        size_t n_each;
        const char *msg;
    } bad[] = {
        {"${PF_T_UNSET}", NULL, 0,
         "environment variable PF_T_UNSET is not set (and has no default)"},
        {"${PF_T_A", NULL, 0, "unterminated '${' (no closing '}')"},
        {"${}", NULL, 0,
         "bad reference '${}': expected ${NAME}, ${NAME:-default}, ${each} or ${each.KEY}"},
        {"${A B}", NULL, 0,
         "bad reference '${A B}': expected ${NAME}, ${NAME:-default}, ${each} or ${each.KEY}"},
        {"${A:x}", NULL, 0,
         "bad reference '${A:x}': expected ${NAME}, ${NAME:-default}, ${each} or ${each.KEY}"},
        {"${each}", NULL, 0,
         "${each} is not available here (only in a target entry with for_each)"},
        {"${each:-x}", NULL, 0,
         "${each} is not available here (only in a target entry with for_each)"},
        {"${each.k}", NULL, 0,
         "${each.k} is not available here (only in a target entry with for_each)"},
        {"${each}", map, 2,
         "${each} is not bound: this for_each item is a mapping; use ${each.KEY}"},
        {"${each.zone}", map, 2, "${each.zone} is not bound: this for_each item has no key 'zone'"},
        {"${each.zone}", scalar, 1,
         "${each.zone} is not bound: this for_each item is a scalar; use ${each}"},
        {"${each.}", scalar, 1, "bad reference '${each.}': empty key after 'each.'"},
        {"${PF_T_UNSET:-${PF_T_UNSET2}}", NULL, 0,
         "environment variable PF_T_UNSET2 is not set (and has no default)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pf_err_clear(&err);
        assert_null(inv_expand(bad[i].in, bad[i].each, bad[i].n_each, &err));
        assert_int_equal(err.code, PF_ERR_INPUT);
        assert_string_equal(err.msg, bad[i].msg);
    }
    /* an empty-mapping item binds nothing, but it is still a for_each */
    assert_null(inv_expand_each("${each}", NULL, 0, true, &err));
    assert_string_equal(err.msg,
                        "${each} is not bound: this for_each item is a mapping; use ${each.KEY}");
}

static void test_for_each_items(void **state)
{
    setenv("PF_T_T3", "initech", 1);
    Inventory *inv = load_ok("targets:\n"
                             "  - name: 'db-${each}'\n"
                             "    dsn: 'dbname=${each}'\n"
                             "    for_each:\n"
                             "      - acme\n"
                             "      - ${PF_T_T3}\n"
                             "      - '$$x'\n"
                             "  - name: only\n"
                             "    dsn: x\n"
                             "    for_each: [one]\n"
                             "  - name: 'z-${each.a}${each.b:-}'\n"
                             "    dsn: x\n"
                             "    for_each: [{a: 1, b: ~}, {a: 2, b: c}]\n");
    assert_int_equal(inv->n, 6);
    assert_string_equal(inv->targets[0].name, "db-acme");
    assert_string_equal(inv->targets[1].name, "db-initech");
    assert_string_equal(inv->targets[1].dsn, "dbname=initech");
    assert_string_equal(inv->targets[2].name, "db-$x"); /* item values are not re-expanded */
    assert_string_equal(inv->targets[3].name, "only");  /* one item: no ${each} needed */
    assert_string_equal(inv->targets[4].name, "z-1");
    assert_string_equal(inv->targets[5].name, "z-2c");
    assert_int_equal(inv->targets[5].line, 11);
    inv_free(inv);
}

static void test_anchors(void **state)
{
    Inventory *inv = load_ok("targets:\n"
                             "  - name: a\n"
                             "    dsn: x\n"
                             "    labels: &prod {env: prod, tier: gold}\n"
                             "  - name: b\n"
                             "    dsn: y\n"
                             "    labels: *prod\n");
    assert_string_equal(inv_label(&inv->targets[1], "tier"), "gold");
    assert_int_equal(inv->targets[1].n_labels, 2);
    inv_free(inv);
}

/* The example at the top of inventory.h, verbatim. */
static void test_header_example(void **state)
{
    setenv("STAGING_PASSWORD", "hunter2", 1);
    Inventory *inv = load_ok(
        "migrations: {dir: ./drizzle, table: __drizzle_migrations, schema: drizzle}\n"
        "defaults:   {connect_timeout: 10s, lock_wait: 30s, lock_timeout: 0, statement_timeout: "
        "0,\n"
        "             sslmode: prefer, application_name: pgfleet, transaction: all, lock_key: 42}\n"
        "targets:\n"
        "  - name: staging\n"
        "    dsn: postgres://app:${STAGING_PASSWORD}@db-staging/app\n"
        "    labels: {env: staging}\n"
        "  - name: tenant-${each}            # for_each expands one entry into many targets\n"
        "    for_each: [acme, globex]        # scalars -> ${each}; mappings -> ${each.KEY}\n"
        "    dsn: postgres://app@db/${each}\n"
        "    migrations: {schema: \"${each}\"} # per-target ledger schema/table\n");
    assert_int_equal(inv->n, 3);
    assert_string_equal(inv->targets[0].dsn, "postgres://app:hunter2@db-staging/app");
    assert_string_equal(inv->targets[0].dsn_masked, "postgres://app:****@db-staging/app");
    assert_string_equal(inv->targets[0].settings.sslmode, "prefer");
    assert_int_equal(inv->targets[0].settings.lock_wait_ms, 30000);
    assert_string_equal(inv->targets[1].name, "tenant-acme");
    assert_string_equal(inv->targets[1].schema, "acme");
    assert_string_equal(inv->targets[1].table, "__drizzle_migrations");
    assert_string_equal(inv->targets[2].name, "tenant-globex");
    assert_string_equal(inv->targets[2].dsn, "postgres://app@db/globex");
    assert_string_equal(inv->targets[2].schema, "globex");
    assert_int_equal(inv->targets[2].line, 8);
    inv_free(inv);
    unsetenv("STAGING_PASSWORD");
}

/* ---- errors ---- */

static void test_missing_file(void **state)
{
    char *path = pf_asprintf("%s/nope.yaml", g_dir);
    Inventory *inv = (Inventory *)&inv;
    PfErr err = {0};
    assert_int_equal(inv_load(path, &inv, &err), PF_ERR_IO);
    assert_null(inv);
    char *want = pf_asprintf("%s: No such file or directory", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

static void test_yaml_syntax_errors(void **state)
{
    load_fails("targets:\n  - name: a\n    dsn: b: c\n",
               "3:11: invalid yaml: mapping values are not allowed in this context");
    load_fails("targets:\n  - name: a\n   dsn: x\n",
               "3:4: invalid yaml: did not find expected '-' indicator (while parsing a block "
               "collection at line 2, column 3)");
    load_fails("targets: [a, b\n",
               "2:1: invalid yaml: did not find expected ',' or ']' (while parsing a flow "
               "sequence at line 1, column 10)");
    load_fails(
        "targets:\n  - {name: a, dsn: x, labels: {t: ${PF_T_A}}}\n",
        "2:36: invalid yaml: did not find expected ',' or '}' (while parsing a flow mapping at "
        "line 2, column 31); hint: quote values holding ${...} inside [...] or {...}");
    load_fails("targets: *nowhere\n", "1:10: invalid yaml: found undefined alias");
    load_fails("targets: []\nx: \xff\n",
               "2:4: invalid yaml: invalid leading UTF-8 octet (byte 0xFF)");
    load_fails("targets: []\n---\ntargets: []\n",
               "3:1: the inventory must be a single yaml document");
    load_fails("", "1:1: the inventory is empty; expected a mapping with 'targets'");
    load_fails("- a\n", "1:1: the inventory must be a mapping with 'targets', not a sequence");
}

/* drift: (docs/drift.md): its keys read, defaults, and what is refused. */
static void test_drift(void **state)
{
    Inventory *inv = load_ok("targets: []\n");
    assert_null(inv->drift.scratch_dsn);
    assert_false(inv->drift.audit);
    inv_free(inv);
    setenv("PF_TEST_SCRATCH", "scratch-db", 1);
    inv = load_ok("drift:\n  scratch_dsn: postgresql://u@${PF_TEST_SCRATCH}/postgres\n"
                  "  schemas: [audit, billing]\n  audit: true\ntargets: []\n");
    assert_string_equal(inv->drift.scratch_dsn, "postgresql://u@scratch-db/postgres");
    assert_int_equal(inv->drift.n_schemas, 2);
    assert_string_equal(inv->drift.schemas[1], "billing");
    assert_true(inv->drift.audit);
    assert_false(inv->drift.plan);
    inv_free(inv);
    inv = load_ok("drift: {scratch_dsn: x, schemas: audit, plan: true}\ntargets: []\n");
    assert_int_equal(inv->drift.n_schemas, 1);
    assert_true(inv->drift.plan);
    inv_free(inv);
    load_fails("drift: {audit: true}\ntargets: []\n", "1:8: missing key 'scratch_dsn' in drift");
    load_fails("drift: {scratch_dsn: x, audit: yes}\ntargets: []\n",
               "1:32: bad audit 'yes'; expected true or false");
}

static void test_unknown_keys(void **state)
{
    load_fails(
        "target: []\n",
        "1:1: unknown key 'target' at top level; expected one of: migrations, defaults, "
        "targets, tunnels, waves, plugins, max_targets, drift; hint: did you mean 'targets'?");
    load_fails("targets: []\nversion: 2\n",
               "2:1: unknown key 'version' at top level; expected one of: migrations, defaults, "
               "targets, tunnels, waves, plugins, max_targets, drift");
    load_fails(
        "targets:\n  - name: a\n    dsn: x\n    lbels: {}\n",
        "4:5: unknown key 'lbels' in target; expected one of: name, dsn, labels, "
        "migrations, for_each, schema, schema_map, connect_timeout, lock_wait, "
        "lock_timeout, statement_timeout, sslmode, application_name, transaction, "
        "lock_key, via, expect, preflight_long_xact, create_schema, max_per_server, backup; hint: "
        "did you mean "
        "'labels'?");
    load_fails("defaults:\n  timeout: 5s\ntargets: []\n",
               "2:3: unknown key 'timeout' in defaults; expected one of: connect_timeout, "
               "lock_wait, lock_timeout, statement_timeout, sslmode, application_name, "
               "transaction, lock_key, via, expect, preflight_long_xact, create_schema, "
               "max_per_server, backup");
    load_fails("defaults: {name: x}\ntargets: []\n",
               "1:12: unknown key 'name' in defaults; expected one of: connect_timeout, "
               "lock_wait, lock_timeout, statement_timeout, sslmode, application_name, "
               "transaction, lock_key, via, expect, preflight_long_xact, create_schema, "
               "max_per_server, backup");
    load_fails("migrations: {folder: x}\ntargets: []\n",
               "1:14: unknown key 'folder' in migrations; expected one of: dir, table, schema, "
               "drizzle_config");
    load_fails("targets:\n  - name: a\n    dsn: x\n    migrations: {dir: ./m}\n",
               "4:18: migrations.dir cannot be set per target: one migrations folder per run; "
               "hint: set it in the top-level migrations");
    load_fails("targets:\n  - name: a\n    dsn: x\n    migrations: {schemas: s}\n",
               "4:18: unknown key 'schemas' in target migrations; expected one of: table, "
               "schema; hint: did you mean 'schema'?");
    load_fails("x: &x {name: a}\ntargets:\n  - <<: *x\n    dsn: y\n",
               "1:1: unknown key 'x' at top level; expected one of: migrations, defaults, "
               "targets, tunnels, waves, plugins, max_targets, drift");
    load_fails("targets:\n  - <<: {name: a}\n    dsn: y\n",
               "2:5: merge keys ('<<') are not supported; use defaults or anchors");
}

static void test_duplicate_keys(void **state)
{
    load_fails("targets:\n  - name: a\n    dsn: x\n    dsn: y\n",
               "4:5: duplicate key 'dsn' (first at line 3)");
    load_fails("targets:\n  - name: a\n    dsn: x\n    labels: {env: a, env: b}\n",
               "4:22: duplicate key 'env' (first at line 4)");
    load_fails("targets: []\ntargets: []\n", "2:1: duplicate key 'targets' (first at line 1)");
    load_fails("targets:\n  - {name: a, dsn: x, for_each: [{k: 1, k: 2}]}\n",
               "2:41: duplicate key 'k' (first at line 2)");
}

static void test_wrong_types(void **state)
{
    load_fails("targets:\n  - name: a\n    dsn: x\n    labels: [env]\n",
               "4:13: labels must be a mapping, not a sequence");
    load_fails("targets:\n  - name: a\n    dsn: x\n    labels: {env: [a]}\n",
               "4:19: label 'env' must be a scalar, not a sequence");
    load_fails("targets: {a: 1}\n", "1:10: targets must be a sequence, not a mapping");
    load_fails("targets: all\n", "1:10: targets must be a sequence, not a scalar");
    load_fails("targets:\n  - staging\n", "2:5: each target must be a mapping, not a scalar");
    load_fails("targets:\n  - name: a\n    dsn: {host: x}\n",
               "3:10: dsn must be a string, not a mapping");
    load_fails("targets:\n  - name: [a]\n    dsn: x\n", "2:11: name must be a string, not a "
                                                        "sequence");
    load_fails("targets:\n  - {name: a, dsn: x, lock_wait: [1]}\n",
               "2:34: lock_wait must be a duration, not a sequence");
    load_fails("targets:\n  - {name: a, dsn: x, lock_key: {}}\n",
               "2:33: lock_key must be an integer, not a mapping");
    load_fails("targets:\n  - {name: a, dsn: x, for_each: a}\n",
               "2:33: for_each must be a sequence, not a scalar");
    load_fails("targets:\n  - {name: a, dsn: x, for_each: [[a]]}\n",
               "2:34: for_each items must be scalars or mappings of scalars, not a sequence");
    load_fails("targets:\n  - {name: a, dsn: x, for_each: [{k: [1]}]}\n",
               "2:38: for_each key 'k' must be a scalar, not a sequence");
    load_fails("targets:\n  - name: a\n    dsn: x\n    for_each:\n      -\n",
               "5:8: empty for_each item");
    load_fails("defaults: [a]\ntargets: []\n", "1:11: defaults must be a mapping, not a sequence");
    load_fails("migrations: ./drizzle\ntargets: []\n",
               "1:13: migrations must be a mapping, not a scalar");
    load_fails("targets:\n  - {name: a, dsn: x, migrations: {table: [t]}}\n",
               "2:43: table must be a string, not a sequence");
    load_fails("{[a]: 1}\n", "1:2: keys must be strings, not a sequence");
}

static void test_missing_and_empty(void **state)
{
    load_fails("migrations: {dir: x}\n", "1:1: missing key 'targets' at top level");
    load_fails("targets:\n  - dsn: x\n", "2:5: missing key 'name' in target");
    load_fails("targets:\n  - name: a\n    labels: {}\n", "2:5: missing key 'dsn' in target");
    load_fails("targets:\n  - name: a\n    dsn:\n", "3:9: dsn must not be empty");
    load_fails("targets:\n  - name: ''\n    dsn: x\n", "2:11: name must not be empty");
    load_fails("targets:\n  - name: '${PF_T_UNSET:-}'\n    dsn: x\n",
               "2:11: name must not be empty (after expansion)");
    load_fails("migrations: {dir: ''}\ntargets: []\n", "1:19: dir must not be empty");
    load_fails("targets:\n  - {name: a, dsn: x, migrations: {schema: ~}}\n",
               "2:44: schema must not be empty");
    load_fails("defaults:\n  lock_wait:\ntargets: []\n", "2:13: missing value for lock_wait");
    load_fails("targets:\n  - {name: a, dsn: x, migrations: "
               "{table: a123456789012345678901234567890123456789012345678901234567890123}}\n",
               "2:43: table 'a123456789012345678901234567890123456789012345678901234567890123' "
               "is longer than 63 bytes; postgres would truncate it");
}

static void test_bad_values(void **state)
{
    load_fails("defaults: {lock_wait: 30x}\ntargets: []\n",
               "1:23: bad duration '30x' for lock_wait; expected e.g. 30s, 500ms, 2m, 1h or a "
               "number of seconds (0 = none)");
    static const char *const bad_durations[] = {"-1", "1e3", "inf",  "nan", "s",
                                                ".5", "5 s", "0x10", "1.s", "'5s '"};
    for (size_t i = 0; i < sizeof bad_durations / sizeof bad_durations[0]; i++) {
        char *yaml =
            pf_asprintf("targets:\n  - {name: a, dsn: x, lock_timeout: %s}\n", bad_durations[i]);
        const char *v = bad_durations[i];
        char *shown = v[0] == '\'' ? pf_strndup(v + 1, strlen(v) - 2) : pf_strdup(v);
        char *want = pf_asprintf("2:37: bad duration '%s' for lock_timeout; expected e.g. 30s, "
                                 "500ms, 2m, 1h or a number of seconds (0 = none)",
                                 shown);
        load_fails(yaml, want);
        free(yaml);
        free(shown);
        free(want);
    }
    load_fails("defaults: {sslmode: strict}\ntargets: []\n",
               "1:21: bad sslmode 'strict'; expected one of: disable, allow, prefer, require, "
               "verify-ca, verify-full");
    load_fails("targets:\n  - {name: a, dsn: x, transaction: each}\n",
               "2:36: bad transaction 'each'; expected all or per-migration");
    load_fails("targets:\n  - {name: a, dsn: x, lock_key: 9223372036854775808}\n",
               "2:33: bad lock_key '9223372036854775808'; expected a signed 64-bit integer");
    load_fails("targets:\n  - {name: a, dsn: x, lock_key: 1.5}\n",
               "2:33: bad lock_key '1.5'; expected a signed 64-bit integer");
    load_fails("targets:\n  - {name: a, dsn: x, lock_key: ' 1'}\n",
               "2:33: bad lock_key ' 1'; expected a signed 64-bit integer");
    load_fails("targets:\n  - name: a\n    dsn: \"a\\0b\"\n",
               "3:10: dsn must not contain NUL characters");
}

static void test_duplicate_names(void **state)
{
    load_fails("targets:\n"
               "  - name: a\n"
               "    dsn: x\n"
               "  - name: b\n"
               "    dsn: x\n"
               "  - name: a\n"
               "    dsn: y\n",
               "6:11: duplicate target name 'a' (first at line 2)");
    /* the earliest repeat in file order is reported, whatever the names sort like */
    load_fails("targets:\n"
               "  - {name: z, dsn: x}\n"
               "  - {name: a, dsn: x}\n"
               "  - {name: z, dsn: x}\n"
               "  - {name: a, dsn: x}\n",
               "4:12: duplicate target name 'z' (first at line 2)");
    load_fails("targets:\n"
               "  - name: tenant-${each}\n"
               "    dsn: x\n"
               "    for_each: [a, b]\n"
               "  - name: tenant-b\n"
               "    dsn: x\n",
               "5:11: duplicate target name 'tenant-b' (first at line 2)");
    load_fails("targets:\n"
               "  - name: tenant\n"
               "    dsn: postgres://h/${each}\n"
               "    for_each: [a, b]\n",
               "2:11: for_each gives several targets the same name 'tenant'; hint: use ${each} "
               "or ${each.KEY} in name");
}

static void test_expansion_errors(void **state)
{
    unsetenv("PF_T_UNSET");
    load_fails("targets:\n  - name: a\n    dsn: postgres://u:${PF_T_UNSET}@h/db\n",
               "3:10: environment variable PF_T_UNSET is not set (and has no default)");
    load_fails("defaults:\n  application_name: '${PF_T_UNSET}'\ntargets: []\n",
               "2:21: environment variable PF_T_UNSET is not set (and has no default)");
    load_fails("targets:\n  - name: a-${each}\n    dsn: x\n",
               "2:11: ${each} is not available here (only in a target entry with for_each)");
    load_fails("targets:\n  - name: a\n    dsn: x\n    labels: {t: '${each.t}'}\n",
               "4:17: ${each.t} is not available here (only in a target entry with for_each)");
    load_fails("targets:\n"
               "  - name: 'a-${each.k}'\n"
               "    dsn: x\n"
               "    for_each:\n"
               "      - {k: 1}\n"
               "      - {j: 2}\n",
               "2:11: ${each.k} is not bound: this for_each item has no key 'k' (for_each item "
               "at line 6)");
    load_fails("targets:\n"
               "  - name: 'a-${each}'\n"
               "    dsn: x\n"
               "    for_each: [ok, '${PF_T_UNSET}']\n",
               "4:20: environment variable PF_T_UNSET is not set (and has no default)");
    load_fails("targets:\n"
               "  - name: 'a-${each}'\n"
               "    dsn: x\n"
               "    for_each: [1, 2]\n"
               "    lock_wait: '${each}x'\n",
               "5:16: bad duration '1x' for lock_wait; expected e.g. 30s, 500ms, 2m, 1h or a "
               "number of seconds (0 = none) (for_each item at line 4)");
}

static void test_label_keys(void **state)
{
    load_fails("targets:\n  - {name: a, dsn: x, labels: {name: b}}\n",
               "2:32: label key 'name' is reserved: selectors use it for the target name");
    load_fails("targets:\n  - {name: a, dsn: x, labels: {'a=b': c}}\n",
               "2:32: bad label key 'a=b': keys must be non-empty, without ',', '=', '!' or "
               "whitespace");
    load_fails("targets:\n  - {name: a, dsn: x, labels: {'': c}}\n",
               "2:32: bad label key '': keys must be non-empty, without ',', '=', '!' or "
               "whitespace");
}

/* ---- masking ---- */

static void assert_masked(const char *dsn, const char *want, const char *secret)
{
    char *m = inv_mask_dsn(dsn);
    assert_string_equal(m, want);
    if (secret)
        assert_null(strstr(m, secret));
    free(m);
}

static void test_mask_url(void **state)
{
    assert_masked("postgres://user:secret@host/db?password=x2&sslmode=require",
                  "postgres://user:****@host/db?password=****&sslmode=require", "secret");
    assert_masked("postgres://user:secret@host/db?password=x2&sslmode=require",
                  "postgres://user:****@host/db?password=****&sslmode=require", "x2");
    assert_masked("postgresql://u:p%40ss@h1:5432,h2:5433/db",
                  "postgresql://u:****@h1:5432,h2:5433/db", "p%40ss");
    assert_masked("postgresql://u:pa@ss@h/db", "postgresql://u:****@h/db", "pa");
    assert_masked("POSTGRES://u:topsecret@h", "POSTGRES://u:****@h", "topsecret");
    assert_masked("postgres://u@h/db?sslmode=require&password=abc&application_name=x",
                  "postgres://u@h/db?sslmode=require&password=****&application_name=x", "abc");
    assert_masked("postgres://h/db?pass%77ord=abc&sslpassword=keypw",
                  "postgres://h/db?pass%77ord=****&sslpassword=****", "keypw");
    assert_masked("postgres://h?password=abc", "postgres://h?password=****", "abc");
    assert_masked("postgres://u:@h/db", "postgres://u:****@h/db", NULL);
    /* no password: unchanged */
    assert_masked("postgres://app@db:5432/app?sslmode=verify-full",
                  "postgres://app@db:5432/app?sslmode=verify-full", NULL);
    assert_masked("postgresql://h1,h2:5433/db", "postgresql://h1,h2:5433/db", NULL);
    assert_masked("postgres://", "postgres://", NULL);
    assert_masked("postgres://h/db?passwordx=1&xpassword=2",
                  "postgres://h/db?passwordx=1&xpassword=2", NULL);
}

static void test_mask_keyvalue(void **state)
{
    assert_masked("host=a password=secret user=b", "host=a password=**** user=b", "secret");
    assert_masked("host=a password='se cret' user=b", "host=a password=**** user=b", "cret");
    assert_masked("password='it\\'s a secret' host=a", "password=**** host=a", "secret");
    assert_masked("password=back\\ slash host=a", "password=**** host=a", "slash");
    assert_masked("  host = a   password =  'x y'  ", "  host = a   password =  ****  ", "x y");
    assert_masked("PASSWORD=s3 sslpassword=s4", "PASSWORD=**** sslpassword=****", "s3");
    assert_masked("password=", "password=****", NULL);
    assert_masked("password='unterminated secret", "password=****", "secret");
    assert_masked("dbname='postgres://u:pw1@h/db' host=x", "dbname='postgres://u:****@h/db' host=x",
                  "pw1");
    assert_masked("dbname='host=h password=\\'p w\\'' user=u",
                  "dbname='host=h password=****' user=u", "p w");
    /* libpq reads "password= user=x" as password "user=x" */
    assert_masked("password= user=x", "password= ****", "user");
    /* nothing secret: unchanged, quoting and spacing included */
    assert_masked("host=a dbname='my db' user=b", "host=a dbname='my db' user=b", NULL);
    assert_masked("dbname=password", "dbname=password", NULL);
    assert_masked("", "", NULL);
    assert_masked("host=a password", "host=a password****", NULL);
    /* an unquoted password with a space (libpq refuses it): the stray word is hidden too */
    assert_masked("host=a password=se cret user=b", "host=a password=**** ****", "cret");
    assert_masked("host=a password=x user=b stray", "host=a password=**** user=b stray", NULL);
    assert_null(inv_mask_dsn(NULL));
}

/* ---- selection ---- */

static Inventory *selection_fleet(void)
{
    return load_ok("targets:\n"
                   "  - {name: prod-eu, dsn: x, labels: {env: prod, region: eu}}\n"
                   "  - {name: prod-us, dsn: x, labels: {env: prod, region: us}}\n"
                   "  - {name: staging, dsn: x, labels: {env: staging}}\n"
                   "  - {name: dev, dsn: x}\n");
}

/* Run a selection and compare the chosen names, space-separated. */
static void assert_selects(const Inventory *inv, const char *const *globs, size_t n_globs,
                           const char *const *sels, size_t n_sels, const char *want)
{
    size_t *idx = NULL, n = 99;
    PfErr err = {0};
    assert_int_equal(inv_select(inv, globs, n_globs, sels, n_sels, &idx, &n, &err), PF_OK);
    assert_non_null(idx);
    char got[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(got, " ");
        strcat(got, inv->targets[idx[i]].name);
    }
    assert_string_equal(got, want);
    free(idx);
}

static void test_select(void **state)
{
    Inventory *inv = selection_fleet();
    assert_selects(inv, NULL, 0, NULL, 0, "prod-eu prod-us staging dev");
    const char *g1[] = {"prod-*"};
    assert_selects(inv, g1, 1, NULL, 0, "prod-eu prod-us");
    const char *g2[] = {"dev", "prod-e?"};
    assert_selects(inv, g2, 2, NULL, 0, "prod-eu dev"); /* inventory order, not glob order */
    const char *g3[] = {"nothing*"};
    assert_selects(inv, g3, 1, NULL, 0, "");

    const char *s1[] = {"env=prod"};
    assert_selects(inv, NULL, 0, s1, 1, "prod-eu prod-us");
    const char *s2[] = {"env!=prod"};
    assert_selects(inv, NULL, 0, s2, 1, "staging dev"); /* missing label: != holds */
    const char *s3[] = {"region=*"};
    assert_selects(inv, NULL, 0, s3, 1, "prod-eu prod-us"); /* = needs the label */
    const char *s4[] = {"env=prod,region!=eu"};
    assert_selects(inv, NULL, 0, s4, 1, "prod-us");
    const char *s5[] = {"env=prod", " region = u? "};
    assert_selects(inv, NULL, 0, s5, 2, "prod-us");
    const char *s6[] = {"name=*-eu"};
    assert_selects(inv, NULL, 0, s6, 1, "prod-eu");
    const char *s7[] = {"name!=prod-*,env!=staging"};
    assert_selects(inv, NULL, 0, s7, 1, "dev");
    const char *s8[] = {"env=s[tx]*"};
    assert_selects(inv, NULL, 0, s8, 1, "staging");
    const char *g4[] = {"prod-*", "staging"};
    const char *s9[] = {"region!=us"};
    assert_selects(inv, g4, 2, s9, 1, "prod-eu staging");
    const char *s10[] = {"env="};
    assert_selects(inv, NULL, 0, s10, 1, "");
    inv_free(inv);
}

static void test_select_errors(void **state)
{
    Inventory *inv = selection_fleet();
    static const struct {
        const char *sel;
        const char *msg;
    } bad[] = {
        {"prod", "bad selector 'prod': expected key=value or key!=value"},
        {"=prod", "bad selector '=prod': expected key=value or key!=value"},
        {"!=prod", "bad selector '!=prod': expected key=value or key!=value"},
        {"env=prod,", "bad selector '': expected key=value or key!=value"},
        {"env=prod, region", "bad selector 'region': expected key=value or key!=value"},
        {"", "bad selector '': expected key=value or key!=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t *idx = (size_t *)&idx, n = 99;
        PfErr err = {0};
        assert_int_equal(inv_select(inv, NULL, 0, &bad[i].sel, 1, &idx, &n, &err), PF_ERR_INPUT);
        assert_string_equal(err.msg, bad[i].msg);
        assert_null(idx);
        assert_int_equal(n, 0);
    }
    inv_free(inv);

    /* a bad selector fails even on an empty inventory */
    inv = load_ok("targets: []\n");
    size_t *idx, n;
    PfErr err = {0};
    const char *sel = "oops";
    assert_int_equal(inv_select(inv, NULL, 0, &sel, 1, &idx, &n, &err), PF_ERR_INPUT);
    const char *ok = "env=x";
    assert_int_equal(inv_select(inv, NULL, 0, &ok, 1, &idx, &n, &err), PF_OK);
    assert_int_equal(n, 0);
    free(idx);
    inv_free(inv);
    inv_free(NULL);
}

/* ---- tunnels ---- */

static void test_tunnels(void **state)
{
    setenv("HOME", "/home/tester", 1);
    unsetenv("PF_TEST_BASTION");
    Inventory *inv = load_ok("tunnels:\n"
                             "  jump:\n"
                             "    host: jump.example.com\n"
                             "    user: ops\n"
                             "    agent: true\n"
                             "  eu-bastion:\n"
                             "    host: ${PF_TEST_BASTION:-10.0.0.5}\n"
                             "    port: 2222\n"
                             "    user: deploy\n"
                             "    identity: [~/.ssh/id_ed25519, keys/id_ecdsa, /etc/k]\n"
                             "    passphrase_env: KEY_PASS\n"
                             "    known_hosts: ~/kh\n"
                             "    host_key_policy: accept-new\n"
                             "    keepalive: 30s\n"
                             "    connect_timeout: 5s\n"
                             "    via: jump\n"
                             "defaults:\n"
                             "  via: eu-bastion\n"
                             "targets:\n"
                             "  - name: a\n"
                             "    dsn: host=db1 dbname=a\n"
                             "  - name: b\n"
                             "    dsn: host=db2 dbname=b\n"
                             "    via: jump\n"
                             "  - name: c\n"
                             "    dsn: host=localhost dbname=c\n"
                             "    via: null\n"
                             "  - name: d-${each}\n"
                             "    for_each: [jump]\n"
                             "    dsn: host=db4\n"
                             "    via: ${each}\n");
    assert_int_equal(inv->n_tunnels, 2);
    const InvTunnel *j = &inv->tunnels[0], *e = &inv->tunnels[1];
    assert_string_equal(j->name, "jump");
    assert_string_equal(j->host, "jump.example.com");
    assert_int_equal(j->port, 22);
    assert_string_equal(j->user, "ops");
    assert_true(j->agent);
    assert_int_equal(j->n_identity, 0);
    assert_null(j->passphrase_env);
    assert_string_equal(j->known_hosts, "/home/tester/.ssh/known_hosts");
    assert_int_equal(j->host_key_policy, INV_HOST_KEY_STRICT);
    assert_int_equal(j->keepalive_ms, 15000);
    assert_int_equal(j->connect_timeout_ms, 10000);
    assert_null(j->via);
    assert_int_equal(j->line, 3);

    assert_string_equal(e->name, "eu-bastion");
    assert_string_equal(e->host, "10.0.0.5");
    assert_int_equal(e->port, 2222);
    assert_false(e->agent);
    assert_int_equal(e->n_identity, 3);
    assert_string_equal(e->identity[0], "/home/tester/.ssh/id_ed25519");
    char *rel = pf_asprintf("%s/keys/id_ecdsa", g_dir);
    assert_string_equal(e->identity[1], rel);
    free(rel);
    assert_string_equal(e->identity[2], "/etc/k");
    assert_string_equal(e->passphrase_env, "KEY_PASS");
    assert_string_equal(e->known_hosts, "/home/tester/kh");
    assert_int_equal(e->host_key_policy, INV_HOST_KEY_ACCEPT_NEW);
    assert_int_equal(e->keepalive_ms, 30000);
    assert_int_equal(e->connect_timeout_ms, 5000);
    assert_string_equal(e->via, "jump");
    assert_ptr_equal(inv_tunnel(inv, "jump"), j);
    assert_null(inv_tunnel(inv, "nope"));
    assert_null(inv_tunnel(inv, NULL));

    assert_int_equal(inv->n, 4);
    assert_string_equal(inv->targets[0].via, "eu-bastion");
    assert_string_equal(inv->targets[0].route, "via jump > eu-bastion");
    assert_string_equal(inv->targets[1].via, "jump");
    assert_string_equal(inv->targets[1].route, "via jump");
    assert_null(inv->targets[2].via);
    assert_null(inv->targets[2].route);
    assert_string_equal(inv->targets[3].via, "jump");
    inv_free(inv);

    /* Without tunnels, targets are direct; a tunnel may be defined after the one naming it. */
    inv = load_ok("targets:\n  - {name: a, dsn: x}\n");
    assert_int_equal(inv->n_tunnels, 0);
    assert_null(inv->targets[0].via);
    assert_null(inv->targets[0].route);
    inv_free(inv);
    inv = load_ok("tunnels:\n"
                  "  c: {host: h, user: u, agent: true, via: b}\n"
                  "  b: {host: h, user: u, agent: true, via: a}\n"
                  "  a: {host: h, user: u, identity: k}\n"
                  "targets:\n  - {name: t, dsn: x, via: c}\n");
    assert_string_equal(inv->targets[0].route, "via a > b > c");
    inv_free(inv);
}

static void test_tunnel_errors(void **state)
{
    const char *ok = "host: h, user: u, agent: true";
    (void)ok;
    load_fails("targets:\n  - name: a\n    dsn: x\n    via: nope\n",
               "4:10: unknown tunnel 'nope' in via: the inventory defines no tunnels");
    load_fails("tunnels:\n  t1: {host: h, user: u, agent: true}\n  t2: {host: h, user: u, "
               "agent: true}\ntargets:\n  - name: a\n    dsn: x\n    via: t3\n",
               "7:10: unknown tunnel 't3' in via; expected one of: t1, t2");
    load_fails(
        "tunnels:\n  t1: {host: h, user: u, agent: true}\ndefaults: {via: tx}\ntargets: []\n",
        "3:17: unknown tunnel 'tx' in via; expected one of: t1");
    load_fails("tunnels:\n  t1: {host: h, user: u, agent: true, via: t9}\ntargets: []\n",
               "2:44: unknown tunnel 't9' in via; expected one of: t1");
    load_fails("tunnels:\n"
               "  a: {host: h, user: u, agent: true, via: b}\n"
               "  b: {host: h, user: u, agent: true, via: a}\n"
               "targets: []\n",
               "2:43: tunnels go via each other in a cycle: a > b > a");
    load_fails("tunnels:\n  self: {host: h, user: u, agent: true, via: self}\ntargets: []\n",
               "2:46: tunnels go via each other in a cycle: self > self");
    load_fails(
        "tunnels:\n  t: {host: h, user: u, agent: true, host_key_policy: tofu}\ntargets: []\n",
        "2:55: bad host_key_policy 'tofu'; expected strict or accept-new");
    load_fails("tunnels:\n  t: {host: h, agent: true}\ntargets: []\n",
               "2:6: missing key 'user' in tunnel 't'");
    load_fails("tunnels:\n  t:\n    user: u\n    agent: true\ntargets: []\n",
               "3:5: missing key 'host' in tunnel 't'");
    load_fails("tunnels:\n  t: {host: h, user: u}\ntargets: []\n",
               "2:6: tunnel 't' has no key to log in with; hint: set identity (private key "
               "files) and/or agent: true");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: false}\ntargets: []\n",
               "2:6: tunnel 't' has no key to log in with; hint: set identity (private key "
               "files) and/or agent: true");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true, port: 70000}\ntargets: []\n",
               "2:44: bad port '70000'; expected a number from 1 to 65535");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true, port: -1}\ntargets: []\n",
               "2:44: bad port '-1'; expected a number from 1 to 65535");
    load_fails("tunnels:\n  t: {host: h, usr: u, agent: true}\ntargets: []\n",
               "2:16: unknown key 'usr' in tunnel 't'; expected one of: host, port, user, "
               "identity, passphrase_env, agent, known_hosts, host_key_policy, keepalive, "
               "connect_timeout, via; hint: did you mean 'user'?");
    /* The value is not repeated: it could be the passphrase itself. */
    load_fails("tunnels:\n  t: {host: h, user: u, identity: k, passphrase_env: \"hunter 2\"}\n"
               "targets: []\n",
               "2:54: bad passphrase_env: expected the name of an environment variable that "
               "holds the passphrase (never the passphrase itself)");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: yes}\ntargets: []\n",
               "2:32: bad agent 'yes'; expected true or false");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true, keepalive: 5x}\ntargets: []\n",
               "2:49: bad duration '5x' for keepalive; expected e.g. 30s, 500ms, 2m, 1h or a "
               "number of seconds (0 = none)");
    load_fails("tunnels:\n  t: {host: h, user: u, identity: []}\ntargets: []\n",
               "2:35: identity must not be empty");
    load_fails("tunnels:\n  t: {host: h, user: u, identity: {a: b}}\ntargets: []\n",
               "2:35: identity must be a string or a sequence of strings, not a mapping");
    load_fails("tunnels:\n  - t\ntargets: []\n", "2:3: tunnels must be a mapping, not a sequence");
    load_fails("tunnels:\n  t: x\ntargets: []\n",
               "2:6: tunnel 't' must be a mapping, not a scalar");
    load_fails("tunnels:\n  a b: {host: h, user: u, agent: true}\ntargets: []\n",
               "2:3: bad tunnel name 'a b': use letters, digits, '-', '_' and '.' (it is named "
               "in via and in reports)");
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true}\n  t: {host: h, user: u, agent: "
               "true}\ntargets: []\n",
               "3:3: duplicate key 't' (first at line 2)");
    load_fails("targets:\n  - name: a\n    dsn: x\n    via: [a]\n",
               "4:10: via must be a string, not a sequence");
}

/* ---- inputs past the limits ---- */

#define TOO_LONG(what, max, days)                                                                  \
    "bad duration '600h' for " what "; expected at most " max "ms (about " days " days)"

/* A duration the server (or the kernel) would refuse is refused here, with its position, for
 * every duration the inventory has. */
static void test_duration_bounds(void **state)
{
    static const char *const settings[] = {"connect_timeout", "lock_wait", "lock_timeout",
                                           "statement_timeout", "preflight_long_xact"};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const char *key = settings[i];
        char *yaml = pf_asprintf("defaults:\n  %s: 600h\ntargets: []\n", key);
        char *want = pf_asprintf("2:%d: bad duration '600h' for %s; expected at most 2147483647ms "
                                 "(about 24.9 days)",
                                 (int)strlen(key) + 5, key);
        load_fails(yaml, want);
        free(yaml);
        free(want);
        yaml = pf_asprintf("targets:\n  - name: a\n    dsn: x\n    %s: 2147483648ms\n", key);
        want = pf_asprintf("4:%d: bad duration '2147483648ms' for %s; expected at most "
                           "2147483647ms (about 24.9 days)",
                           (int)strlen(key) + 7, key);
        load_fails(yaml, want);
        free(yaml);
        free(want);
        /* The most is accepted, and kept to the millisecond. */
        yaml = pf_asprintf("defaults: {%s: 2147483647ms}\ntargets: [{name: a, dsn: x}]\n", key);
        Inventory *inv = load_ok(yaml);
        const InvSettings *st = &inv->targets[0].settings;
        int64_t got = i == 0   ? st->connect_timeout_ms
                      : i == 1 ? st->lock_wait_ms
                      : i == 2 ? st->lock_timeout_ms
                      : i == 3 ? st->statement_timeout_ms
                               : st->preflight_long_xact_ms;
        assert_int_equal(got, 2147483647);
        inv_free(inv);
        free(yaml);
    }
    load_fails("defaults: {lock_wait: 596.6h}\ntargets: []\n",
               "1:23: bad duration '596.6h' for lock_wait; expected at most 2147483647ms (about "
               "24.9 days)");
    /* Digits past what a double holds are too long too, not malformed. */
    load_fails("defaults: {lock_wait: 99999999999999999999999999}\ntargets: []\n",
               "1:23: bad duration '99999999999999999999999999' for lock_wait; expected at most "
               "2147483647ms (about 24.9 days)");
    /* Tunnels: keepalive is tripled into TCP_USER_TIMEOUT, an int of milliseconds. */
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true, keepalive: 600h}\ntargets: []\n",
               "2:49: " TOO_LONG("keepalive", "715827882", "8.3"));
    load_fails("tunnels:\n  t: {host: h, user: u, agent: true, connect_timeout: 600h}\n"
               "targets: []\n",
               "2:55: " TOO_LONG("connect_timeout", "2147483647", "24.9"));
    Inventory *inv = load_ok("tunnels:\n  t: {host: h, user: u, agent: true, keepalive: "
                             "715827882ms, connect_timeout: 2147483647ms}\ntargets: []\n");
    assert_int_equal(inv->tunnels[0].keepalive_ms, 715827882);
    assert_int_equal(inv->tunnels[0].connect_timeout_ms, 2147483647);
    inv_free(inv);
    /* Waves: pause. */
    load_fails("targets: [{name: a, dsn: x}]\nwaves:\n  - {name: w, select: all, pause: 600h}\n",
               "3:35: " TOO_LONG("pause", "2147483647", "24.9"));
    inv = load_ok("targets: [{name: a, dsn: x}]\nwaves:\n  - {name: w, select: all, pause: "
                  "2147483.647s}\n");
    assert_int_equal(inv->waves[0].pause_ms, 2147483647);
    inv_free(inv);
}

/* Mappings larger than the pairwise check: repeats are still found, at the repeat. */
static void test_many_keys(void **state)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "targets:\n  - name: a\n    dsn: x\n    labels:\n");
    for (int i = 0; i < 1000; i++)
        pf_buf_printf(&b, "      k%d: v%d\n", i, i);
    Inventory *inv = load_ok(b.data);
    assert_int_equal(inv->targets[0].n_labels, 1000);
    assert_string_equal(inv->targets[0].labels[999].key, "k999");
    inv_free(inv);
    pf_buf_puts(&b, "      k500: again\n");
    load_fails(b.data, "1005:7: duplicate key 'k500' (first at line 505)");
    pf_buf_free(&b);
    /* And a wave with a key given twice among many (each key once is all it may have). */
    load_fails("targets: [{name: a, dsn: x}]\nwaves:\n  - {name: w, select: all, parallel: 1, "
               "max_failures: 0, pause: 0, confirm: false, check: x, targets: a, pause: 1}\n",
               "3:106: duplicate key 'pause' (first at line 3)");
}

/* Write the YAML of an inventory with entries entries, each naming (by alias) one list of
 * items items; names are unique: e<entry>-<item>. */
static char *alias_fleet(int entries, int items, const char *top)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_printf(&b, "%stargets:\n  - {name: \"e0-${each}\", dsn: x, for_each: &l [", top);
    for (int i = 0; i < items; i++)
        pf_buf_printf(&b, "%s%d", i ? "," : "", i);
    pf_buf_puts(&b, "]}\n");
    for (int e = 1; e < entries; e++)
        pf_buf_printf(&b, "  - {name: \"e%d-${each}\", dsn: x, for_each: *l}\n", e);
    return pf_buf_take(&b);
}

static void test_max_targets(void **state)
{
    /* 400 entries naming one 300-item list: 120000 targets, past the default 100000. The
     * error points at the entry, and its item, that would be one too many. */
    char *yaml = alias_fleet(400, 300, "");
    load_fails(yaml, "335:5: the inventory expands to more than 100000 targets; hint: if the "
                     "fleet is this large, raise max_targets at top level (for_each item at "
                     "line 2)");
    free(yaml);
    /* max_targets raises (or lowers) the cap. */
    yaml = alias_fleet(4, 3, "max_targets: 12\n");
    Inventory *inv = load_ok(yaml);
    assert_int_equal(inv->n, 12);
    assert_string_equal(inv->targets[11].name, "e3-2");
    inv_free(inv);
    free(yaml);
    yaml = alias_fleet(4, 3, "max_targets: 11\n");
    load_fails(yaml, "6:5: the inventory expands to more than 11 targets; hint: if the fleet is "
                     "this large, raise max_targets at top level (for_each item at line 3)");
    free(yaml);
    load_fails("max_targets: 0\ntargets: []\n",
               "1:14: bad max_targets '0'; expected a number of targets from 1 to 10000000");
    load_fails("max_targets: 10000001\ntargets: []\n",
               "1:14: bad max_targets '10000001'; expected a number of targets from 1 to "
               "10000000");
    load_fails("max_targets: [1]\ntargets: []\n",
               "1:14: max_targets must be a number, not a sequence");
    load_fails("max_targets:\ntargets: []\n", "1:13: missing value for max_targets");
}

/* Aliases can repeat a large mapping without adding targets: what the loader reads is bounded
 * (by 4 KiB per target that max_targets allows). */
static void test_expansion_budget(void **state)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "max_targets: 100\ntargets:\n  - {name: a, dsn: x, labels: &l {");
    for (int i = 0; i < 100; i++)
        pf_buf_printf(&b, "%sk%d: v", i ? ", " : "", i);
    pf_buf_puts(&b, "}}\n");
    for (int i = 1; i < 200; i++)
        pf_buf_printf(&b, "  - {name: t%d, dsn: x, for_each: [], labels: *l}\n", i);
    /* About 3.6 KB a repeat: the 112th goes past 400 KiB. The error points at that entry. */
    load_fails(b.data, "114:5: the inventory expands to more than 400 KiB of keys and values "
                       "(aliases and for_each repeat what they name); hint: if the fleet is this "
                       "large, raise max_targets at top level (each target allows 4 KiB)");
    pf_buf_free(&b);
}

/* The inventory is read only when it is a regular file, and not a huge one. */
static void test_not_a_file(void **state)
{
    PfErr err = {0};
    Inventory *inv = NULL;
    assert_int_equal(inv_load(g_dir, &inv, &err), PF_ERR_INPUT);
    assert_null(inv);
    char *want = pf_asprintf("%s: not a regular file (it is a directory)", g_dir);
    assert_string_equal(err.msg, want);
    free(want);

    /* A named pipe with no writer: refused at once, not waited on. */
    char *fifo = pf_asprintf("%s/fifo.yaml", g_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(inv_load(fifo, &inv, &err), PF_ERR_INPUT);
    want = pf_asprintf("%s: not a regular file (it is a named pipe)", fifo);
    assert_string_equal(err.msg, want);
    free(want);
    unlink(fifo);
    free(fifo);

    assert_int_equal(inv_load("/dev/zero", &inv, &err), PF_ERR_INPUT);
    assert_string_equal(err.msg, "/dev/zero: not a regular file (it is a character device)");

    /* 16 MiB is the most: one byte more is refused without being read. */
    char *big = pf_asprintf("%s/big.yaml", g_dir);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    fputs("targets: []\n#", f);
    for (long i = 14; i < 16L << 20; i++) /* 16 MiB in all */
        fputc('x', f);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(inv_load(big, &inv, &err), PF_OK);
    inv_free(inv);
    f = fopen(big, "a");
    fputc('\n', f);
    fclose(f);
    assert_int_equal(inv_load(big, &inv, &err), PF_ERR_INPUT);
    assert_null(inv);
    want = pf_asprintf("%s: too large: pgfleet reads files of at most 16 MiB", big);
    assert_string_equal(err.msg, want);
    free(want);
    unlink(big);
    free(big);
}

/* migrations.drizzle_config: out and the ledger from drizzle-kit's config, relative to the
 * inventory; the inventory's own keys win, whatever their order. */
/* backup (docs/backups.md): defaults, a target's keys over them one by one, null back to the
 * defaults, a relative dir taken from the inventory's folder, bad values refused. */
static void test_backup_settings(void **state)
{
    (void)state;
    Inventory *inv = load_ok("defaults:\n"
                             "  backup: {dir: dumps, format: directory, jobs: 4, keep: 3}\n"
                             "targets:\n"
                             "  - {name: a, dsn: x}\n"
                             "  - {name: b, dsn: x, backup: {when: always, keep: null}}\n"
                             "  - {name: c, dsn: x, backup: null}\n"
                             "  - {name: d, dsn: x, backup: {dir: /abs, when: never}}\n");
    char *dumps = pf_asprintf("%s/dumps", g_dir);
    const InvBackup *a = &inv->targets[0].settings.backup, *b = &inv->targets[1].settings.backup;
    const InvBackup *c = &inv->targets[2].settings.backup, *d = &inv->targets[3].settings.backup;
    assert_string_equal(a->dir, dumps);
    assert_int_equal(a->when, INV_BACKUP_NON_EMPTY);
    assert_int_equal(a->format, INV_BACKUP_DIRECTORY);
    assert_int_equal(a->jobs, 4);
    assert_int_equal(a->keep, 3);
    assert_string_equal(b->dir, dumps);
    assert_int_equal(b->when, INV_BACKUP_ALWAYS);
    assert_int_equal(b->format, INV_BACKUP_DIRECTORY);
    assert_int_equal(b->keep, 0);
    assert_null(c->dir);
    assert_int_equal(c->format, INV_BACKUP_CUSTOM);
    assert_string_equal(d->dir, "/abs");
    assert_int_equal(d->when, INV_BACKUP_NEVER);
    free(dumps);
    inv_free(inv);
    load_fails("defaults: {backup: {when: sometimes}}\ntargets: []\n",
               "1:27: bad when 'sometimes'; expected one of: non-empty, always, never");
    load_fails("defaults: {backup: {format: tar}}\ntargets: []\n",
               "1:29: bad format 'tar'; expected custom or directory");
    load_fails("defaults: {backup: {jobs: 0}}\ntargets: []\n",
               "1:27: bad jobs '0'; expected a number of pg_dump jobs from 1 to 64");
    load_fails("targets:\n  - {name: a, dsn: x, backup: {dri: x}}\n",
               "2:32: unknown key 'dri' in backup; expected one of: dir, when, format, jobs, keep; "
               "hint: did you mean 'dir'?");
    load_fails("targets:\n  - {name: a, dsn: x, backup: 3}\n",
               "2:31: backup must be a mapping, not a scalar");
}

static void test_drizzle_config(void **state)
{
    char *cfg =
        write_file("drizzle.config.ts", "import { defineConfig } from 'drizzle-kit';\n"
                                        "export default defineConfig({\n"
                                        "  dialect: 'postgresql',\n"
                                        "  out: './db/migrations',\n"
                                        "  migrations: { table: 'journal', schema: 'ops' },\n"
                                        "});\n");
    Inventory *inv = load_ok("migrations: {drizzle_config: drizzle.config.ts}\n"
                             "targets: [{name: a, dsn: 'host=h'}]\n");
    char *want = pf_asprintf("%s/db/migrations", g_dir);
    assert_string_equal(inv->migrations_dir, want);
    assert_string_equal(inv->targets[0].schema, "ops");
    assert_string_equal(inv->targets[0].table, "journal");
    inv_free(inv);
    inv = load_ok("migrations: {table: mine, drizzle_config: drizzle.config.ts}\n"
                  "targets: [{name: a, dsn: 'host=h'}]\n");
    assert_string_equal(inv->targets[0].schema, "ops");
    assert_string_equal(inv->targets[0].table, "mine");
    inv_free(inv);
    free(want);
    free(cfg);

    cfg = write_file("computed.config.ts",
                     "export default { dialect: 'postgresql', out: path.join(__dirname, 'x') };\n");
    char *path = write_file("bad.yaml", "migrations: {drizzle_config: computed.config.ts}\n"
                                        "targets: [{name: a, dsn: 'host=h'}]\n");
    Inventory *bad = NULL;
    PfErr err = {0};
    assert_int_equal(inv_load(path, &bad, &err), PF_ERR_INPUT);
    assert_null(bad);
    assert_non_null(strstr(err.msg, "bad.yaml:1:30: migrations.drizzle_config: "));
    assert_non_null(strstr(err.msg, "computed.config.ts:1: out: "));
    assert_non_null(strstr(err.msg, "hint: set migrations.dir in the inventory"));
    free(path);
    free(cfg);
}

/* max_per_server: a default and per target; 0 or absent leaves the default (16) to the run. */
static void test_max_per_server(void **state)
{
    Inventory *inv = load_ok("defaults: {max_per_server: 4}\n"
                             "targets:\n"
                             "  - {name: a, dsn: host=x}\n"
                             "  - {name: b, dsn: host=x, max_per_server: 2}\n"
                             "  - {name: c, dsn: host=x, max_per_server: 0}\n");
    assert_int_equal(inv->targets[0].settings.max_per_server, 4);
    assert_int_equal(inv->targets[1].settings.max_per_server, 2);
    assert_int_equal(inv->targets[2].settings.max_per_server, 0);
    inv_free(inv);
    inv = load_ok("targets: [{name: a, dsn: host=x}]\n");
    assert_int_equal(inv->targets[0].settings.max_per_server, 0);
    assert_int_equal(INV_MAX_PER_SERVER_DEFAULT, 16);
    inv_free(inv);
    load_fails("defaults: {max_per_server: -1}\ntargets: []\n",
               "1:28: bad max_per_server '-1'; expected a number of connections from 0 to 100000");
    load_fails("targets: [{name: a, dsn: x, max_per_server: many}]\n",
               "1:45: bad max_per_server 'many'; expected a number of connections from 0 to "
               "100000");
    load_fails("defaults: {max_per_server: 100001}\ntargets: []\n",
               "1:28: bad max_per_server '100001'; expected a number of connections from 0 to "
               "100000");
    (void)state;
}

/* --shard K/N (docs/scale.md): the parse, and the documented hash on known names: the first
 * four bytes of sha256(name), big-endian (printf %s tenant-acme | sha256sum: 9332cc3f...). */
static void test_shard(void **state)
{
    (void)state;
    InvShard sh;
    assert_true(inv_shard_parse("0/1", &sh));
    assert_int_equal(sh.index, 0);
    assert_int_equal(sh.count, 1);
    assert_true(inv_shard_parse("7/8", &sh));
    assert_int_equal(sh.index, 7);
    assert_int_equal(sh.count, 8);
    const char *bad[] = {"", "8/8", "1/0", "-1/4", "1/", "/4", "1/4x", "1 /4", "a/4", "1/100001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(inv_shard_parse(bad[i], &sh));
    assert_int_equal(inv_shard_hash("tenant-acme"), 0x9332cc3fu);
    assert_int_equal(inv_shard_hash("b1"), 0x7dc96f77u);
    assert_int_equal(inv_shard_of("tenant-acme", 8), 0x9332cc3fu % 8);
    assert_int_equal(inv_shard_of("tenant-acme", 1), 0);

    /* The filter keeps the selection's order and says where each kept target stood. */
    Inventory inv = {0};
    InvTarget targets[4] = {{.name = "tenant-acme"}, {.name = "b1"}, {.name = "x"}, {.name = "y"}};
    inv.targets = targets;
    inv.n = 4;
    size_t idx[4] = {3, 2, 1, 0}, n = 4, pos[4];
    InvShard two = {.index = 1, .count = 2};
    inv_shard_filter(&inv, two, idx, &n, pos);
    size_t want = 0;
    for (size_t i = 0; i < 4; i++) {
        if (inv_shard_of(targets[3 - i].name, 2) != 1)
            continue;
        assert_int_equal(idx[want], 3 - i);
        assert_int_equal(pos[want], i);
        want++;
    }
    assert_int_equal(n, want);
    size_t all[3] = {0, 1, 2}, n_all = 3;
    inv_shard_filter(&inv, (InvShard){0}, all, &n_all, NULL);
    assert_int_equal(n_all, 3); /* not sharded: unchanged */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_fleet),
        cmocka_unit_test(test_builtin_defaults),
        cmocka_unit_test(test_overrides_and_durations),
        cmocka_unit_test(test_empty_targets),
        cmocka_unit_test(test_migrations_dir),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_expand_function),
        cmocka_unit_test(test_for_each_items),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_header_example),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_and_empty),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_expansion_errors),
        cmocka_unit_test(test_label_keys),
        cmocka_unit_test(test_mask_url),
        cmocka_unit_test(test_mask_keyvalue),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_select_errors),
        cmocka_unit_test(test_tunnels),
        cmocka_unit_test(test_tunnel_errors),
        cmocka_unit_test(test_duration_bounds),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_max_targets),
        cmocka_unit_test(test_expansion_budget),
        cmocka_unit_test(test_not_a_file),
        cmocka_unit_test(test_drizzle_config),
        cmocka_unit_test(test_max_per_server),
        cmocka_unit_test(test_backup_settings),
        cmocka_unit_test(test_shard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
