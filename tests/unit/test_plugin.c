/*
 * Unit tests for plugins on the inventory side (src/inventory/load.c) and the host's checks
 * (src/plugin/host.c): the `plugins:` key (path relative to the inventory, config values
 * expanded, lists joined with ","), its errors, discovered targets going through the same
 * checks as the file's (defaults applied, duplicates and bad labels refused, waves choosing
 * among them), discovered tenants getting a file tenant's defaults, a plugin that cannot be
 * opened named with its path, and the ABI versions the host loads (the test plugin `record`
 * built as version 1, as this version and as version 3, from PF_TEST_PLUGINS_DIR).
 */
#include "core/mem.h"
#include "inventory/inventory.h"
#include "plugin/host.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char g_dir[] = "/tmp/pf-plugin-XXXXXX";

static char *write_file(const char *name, const char *yaml)
{
    char *path = pf_asprintf("%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

static void test_plugins_key(void **state)
{
    setenv("PF_TEST_TOKEN", "s3cret", 1);
    char *path = write_file("inv.yaml", "targets: [{name: a, dsn: 'postgres://h/a'}]\n"
                                        "plugins:\n"
                                        "  - path: plugins/exec.so\n"
                                        "    config:\n"
                                        "      command: \"notify ${PF_TEST_TOKEN}\"\n"
                                        "      events: [wave_end, run_end]\n"
                                        "      empty:\n"
                                        "  - {path: /abs/x.so}\n");
    Inventory *inv = NULL;
    PfErr err = {0};
    assert_int_equal(inv_load(path, &inv, &err), PF_OK);
    assert_int_equal(inv->n_plugins, 2);
    char *want = pf_asprintf("%s/plugins/exec.so", g_dir);
    assert_string_equal(inv->plugins[0].path, want);
    assert_int_equal(inv->plugins[0].line, 3);
    assert_int_equal(inv->plugins[0].n_config, 3);
    assert_string_equal(inv->plugins[0].config[0].key, "command");
    assert_string_equal(inv->plugins[0].config[0].value, "notify s3cret");
    assert_string_equal(inv->plugins[0].config[1].value, "wave_end,run_end");
    assert_string_equal(inv->plugins[0].config[2].value, "");
    assert_string_equal(inv->plugins[1].path, "/abs/x.so");
    assert_int_equal(inv->plugins[1].n_config, 0);
    free(want);
    inv_free(inv);
    free(path);
}

static void load_fails(const char *yaml, const char *expected)
{
    char *path = write_file("bad.yaml", yaml);
    Inventory *inv = NULL;
    PfErr err = {0};
    assert_int_equal(inv_load(path, &inv, &err), PF_ERR_INPUT);
    assert_null(inv);
    char *want = pf_asprintf("%s:%s", path, expected);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

static void test_plugins_errors(void **state)
{
    load_fails("targets: []\nplugins: [{config: {a: b}}]\n",
               "2:11: missing key 'path' in a plugins entry");
    load_fails("targets: []\nplugins: [{path: x.so, conf: {}}]\n",
               "2:24: unknown key 'conf' in a plugins entry; expected one of: path, config; hint: "
               "did you mean 'config'?");
    load_fails("targets: []\nplugins: [{path: x.so, config: {a: {b: c}}}]\n",
               "2:36: plugin config 'a' must be a scalar or a list of scalars, not a mapping");
    load_fails("targets: []\nplugins: {path: x.so}\n",
               "2:10: plugins must be a sequence, not a mapping");
}

/* A discovery callback that adds what ctx lists: name, dsn, label key, label value. */
static PfErrCode add_some(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err)
{
    const char *const *rows = ctx;
    for (size_t i = 0; rows[i]; i += 4) {
        InvLabel label = {(char *)rows[i + 2], (char *)rows[i + 3]};
        InvDiscovered found = {.name = rows[i],
                               .dsn = rows[i + 1],
                               .labels = &label,
                               .n_labels = 1,
                               .table = strcmp(rows[i], "t2") == 0 ? "ledger2" : NULL};
        PfErrCode rc = inv_discovered_add(d, &inv->plugins[0], &found, err);
        if (rc != PF_OK)
            return rc;
    }
    return PF_OK;
}

static const char *const DISC_YAML = "defaults: {lock_wait: 5s}\n"
                                     "migrations: {schema: ops}\n"
                                     "targets: [{name: a, dsn: 'postgres://h/a'}]\n"
                                     "plugins: [{path: d.so}]\n"
                                     "waves:\n"
                                     "  - {name: first, select: [src=disc]}\n"
                                     "  - {name: rest, select: all}\n";

static void test_discovered_targets(void **state)
{
    char *path = write_file("disc.yaml", DISC_YAML);
    const char *rows[] = {
        "t1", "postgres://u:pw@h/t1", "src", "disc", "t2", "postgres://h/t2", "src", "other", NULL};
    Inventory *inv = NULL;
    PfErr err = {0};
    PfErrCode rc = inv_load_discover(path, add_some, (void *)rows, &inv, &err);
    if (rc != PF_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    assert_int_equal(inv->n, 3);
    const InvTarget *t1 = &inv->targets[1], *t2 = &inv->targets[2];
    assert_string_equal(t1->name, "t1");
    assert_string_equal(t1->dsn_masked, "postgres://u:****@h/t1");
    assert_string_equal(t1->schema, "ops");
    assert_string_equal(t1->table, "__drizzle_migrations");
    assert_int_equal(t1->settings.lock_wait_ms, 5000);
    assert_string_equal(inv_label(t1, "src"), "disc");
    assert_string_equal(t2->table, "ledger2");
    assert_int_equal(inv->wave_of[1], 0); /* waves choose among discovered targets */
    assert_int_equal(inv->wave_of[0], 1);
    assert_int_equal(inv->wave_of[2], 1);
    inv_free(inv);

    const char *dup[] = {"a", "postgres://h/x", "src", "x", NULL};
    inv = (Inventory *)&inv;
    assert_int_equal(inv_load_discover(path, add_some, (void *)dup, &inv, &err), PF_ERR_INPUT);
    assert_null(inv);
    char *want = pf_asprintf("%s:4:11: plugin %s/d.so: target 'a' duplicates the name of a "
                             "target already in the inventory",
                             path, g_dir);
    assert_string_equal(err.msg, want);
    free(want);

    const char *bad_label[] = {"t9", "postgres://h/x", "name", "x", NULL};
    assert_int_equal(inv_load_discover(path, add_some, (void *)bad_label, &inv, &err),
                     PF_ERR_INPUT);
    assert_non_null(strstr(err.msg, "target 't9' has a bad label key"));
    free(path);
}

/* A discovery callback that adds the InvDiscovered ctx points to (a NULL name ends them). */
static PfErrCode add_found(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err)
{
    for (const InvDiscovered *f = ctx; f->name; f++) {
        PfErrCode rc = inv_discovered_add(d, &inv->plugins[0], f, err);
        if (rc != PF_OK)
            return rc;
    }
    return PF_OK;
}

static void assert_schema_map(const InvTarget *t, const char *from, const char *to)
{
    assert_int_equal(t->n_schema_map, 1);
    assert_string_equal(t->schema_map[0].key, from);
    assert_string_equal(t->schema_map[0].value, to);
}

/* A discovered tenant is a file target with `schema:`: its ledger in its schema (over the
 * inventory's migrations.schema) unless the plugin names one, and public mapped to it. */
static void test_discovered_tenants(void **state)
{
    char *path = write_file("tenants.yaml", "migrations: {schema: ops}\n"
                                            "defaults: {create_schema: true}\n"
                                            "targets:\n"
                                            "  - {name: file, dsn: 'postgres://h/app', "
                                            "schema: tenant_file}\n"
                                            "plugins: [{path: d.so}]\n");
    InvDiscovered found[] = {
        {.name = "acme", .dsn = "postgres://h/app", .tenant_schema = "tenant_acme"},
        {.name = "globex",
         .dsn = "postgres://h/app",
         .tenant_schema = "tenant_globex",
         .schema = "ledgers",
         .table = "globex_migrations"},
        {.name = "plain", .dsn = "postgres://h/plain"},
        {0},
    };
    Inventory *inv = NULL;
    PfErr err = {0};
    PfErrCode rc = inv_load_discover(path, add_found, found, &inv, &err);
    if (rc != PF_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    assert_int_equal(inv->n, 4);
    const InvTarget *file = &inv->targets[0], *acme = &inv->targets[1];
    const InvTarget *globex = &inv->targets[2], *plain = &inv->targets[3];
    assert_string_equal(file->schema, "tenant_file");
    assert_schema_map(file, "public", "tenant_file");
    assert_string_equal(acme->tenant_schema, "tenant_acme");
    assert_string_equal(acme->schema, "tenant_acme");
    assert_string_equal(acme->table, "__drizzle_migrations");
    assert_schema_map(acme, "public", "tenant_acme");
    assert_true(acme->settings.create_schema);
    assert_string_equal(globex->tenant_schema, "tenant_globex");
    assert_string_equal(globex->schema, "ledgers");
    assert_string_equal(globex->table, "globex_migrations");
    assert_schema_map(globex, "public", "tenant_globex");
    assert_null(plain->tenant_schema);
    assert_string_equal(plain->schema, "ops");
    assert_int_equal(plain->n_schema_map, 0);
    inv_free(inv);

    /* The tenant schema is checked as the `schema` key is: 1 to 63 bytes. */
    char long_name[65];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    const char *bad[] = {"", long_name};
    for (size_t i = 0; i < 2; i++) {
        InvDiscovered one[] = {{.name = "t9", .dsn = "postgres://h/app", .tenant_schema = bad[i]},
                               {0}};
        inv = (Inventory *)&inv;
        assert_int_equal(inv_load_discover(path, add_found, one, &inv, &err), PF_ERR_INPUT);
        assert_null(inv);
        char *want = pf_asprintf("%s:5:11: plugin %s/d.so: target 't9' has an empty tenant "
                                 "schema, or one longer than 63 bytes",
                                 path, g_dir);
        assert_string_equal(err.msg, want);
        free(want);
    }
    long_name[63] = '\0'; /* 63 bytes: fine */
    InvDiscovered max[] = {{.name = "t9", .dsn = "postgres://h/app", .tenant_schema = long_name},
                           {0}};
    assert_int_equal(inv_load_discover(path, add_found, max, &inv, &err), PF_OK);
    assert_string_equal(inv->targets[1].schema, long_name);
    inv_free(inv);
    free(path);
}

/* Load the test plugin VARIANT (record, record_abi1, ...) with CONFIG (a flow mapping), through
 * the host as pgfleet does. Returns the load's status; *inv and *host are set on success. */
static PfErrCode host_load(const char *variant, const char *config, Inventory **inv,
                           PluginHost **host, PfErr *err)
{
    char *yaml = pf_asprintf("migrations: {schema: ops}\n"
                             "targets: []\n"
                             "plugins:\n"
                             "  - {path: \"%s/%s.so\", config: %s}\n",
                             PF_TEST_PLUGINS_DIR, variant, config);
    char *path = write_file("abi.yaml", yaml);
    PfErrCode rc = inv_load_discover(path, plugin_host_inv_discover, host, inv, err);
    free(path);
    free(yaml);
    return rc;
}

static void test_host_abi_versions(void **state)
{
    Inventory *inv = NULL;
    PluginHost *host = NULL;
    PfErr err = {0};

    /* This version: the tenant schema is read. */
    PfErrCode rc = host_load("record",
                             "{add: 'a=postgres://h/app,b=postgres://h/app', "
                             "tenant_schema: tenant_x}",
                             &inv, &host, &err);
    if (rc != PF_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    assert_non_null(host);
    assert_int_equal(inv->n, 2);
    assert_string_equal(inv->targets[0].tenant_schema, "tenant_x");
    assert_string_equal(inv->targets[0].schema, "tenant_x");
    assert_schema_map(&inv->targets[1], "public", "tenant_x");
    assert_string_equal(inv_label(&inv->targets[1], "source"), "record");
    plugin_host_free(host);
    inv_free(inv);

    /* Version 1 still loads; its smaller PgfleetTarget is read as far as it goes (past it,
     * record's decoy would make a tenant): no tenant, the ledger schema it gave. */
    rc = host_load("record_abi1", "{add: 'old=postgres://h/old', ledger_schema: legacy}", &inv,
                   &host, &err);
    if (rc != PF_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, PF_OK);
    assert_int_equal(inv->n, 1);
    assert_string_equal(inv->targets[0].name, "old");
    assert_null(inv->targets[0].tenant_schema);
    assert_string_equal(inv->targets[0].schema, "legacy");
    assert_int_equal(inv->targets[0].n_schema_map, 0);
    plugin_host_free(host);
    inv_free(inv);

    /* A version this pgfleet does not know is refused, with what to do. */
    host = (PluginHost *)&host;
    assert_int_equal(host_load("record_bad_abi", "{}", &inv, &host, &err), PF_ERR_INPUT);
    assert_null(inv);
    assert_null(host);
    char *want = pf_asprintf("%s/abi.yaml:4:5: plugin %s/record_bad_abi.so: ABI version 3, but "
                             "this pgfleet loads versions 1 to 2; hint: it was built for a newer "
                             "pgfleet: upgrade pgfleet, or rebuild it against this pgfleet's "
                             "<pgfleet/plugin.h>",
                             g_dir, PF_TEST_PLUGINS_DIR);
    assert_string_equal(err.msg, want);
    free(want);
}

static void test_host_cannot_open(void **state)
{
    char *path = write_file("host.yaml", "targets: []\nplugins: [{path: missing.so}]\n");
    PluginHost *host = (PluginHost *)&host;
    Inventory *inv = NULL;
    PfErr err = {0};
    assert_int_equal(inv_load_discover(path, plugin_host_inv_discover, &host, &inv, &err),
                     PF_ERR_INPUT);
    assert_null(inv);
    assert_null(host);
    char *want = pf_asprintf("%s:2:11: plugin %s/missing.so: cannot load it: ", path, g_dir);
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    free(want);
    free(path);

    /* No plugins: no host, and events are no-ops. */
    path = write_file("none.yaml", "targets: []\n");
    assert_int_equal(inv_load_discover(path, plugin_host_inv_discover, &host, &inv, &err), PF_OK);
    assert_null(host);
    PgfleetEvent ev = {.kind = PGFLEET_EVENT_RUN_START, .name = "run_start"};
    plugin_host_emit(host, &ev, NULL);
    size_t n;
    assert_null(plugin_host_errors(host, &n));
    assert_int_equal(n, 0);
    inv_free(inv);
    free(path);
}

int main(void)
{
    if (!mkdtemp(g_dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_key),        cmocka_unit_test(test_plugins_errors),
        cmocka_unit_test(test_discovered_targets), cmocka_unit_test(test_discovered_tenants),
        cmocka_unit_test(test_host_abi_versions),  cmocka_unit_test(test_host_cannot_open),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char *cmd = pf_asprintf("rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    free(cmd);
    return rc;
}
