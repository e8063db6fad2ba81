/*
 * Fuzzing the inventory loader through its public entry point, inv_load_discover: the input is
 * the inventory file (written to the scratch directory for each run). The discover callback
 * adds one target per `config` pair of each plugin entry (name = key, dsn = value, every third
 * one a tenant in schema = value), so that inv_discovered_add gets fuzzed values too. A loaded
 * inventory is then selected from (inv_select, inv_waves_select) and looked up (inv_tunnel,
 * inv_wave, inv_label).
 *
 * Checked beyond the sanitizers: a failure says why and leaves no inventory; every target has a
 * name (unique), a dsn and its masked form, and the masking property of dsn_check.h holds for
 * its dsn; a tenant's schema is a name of 1 to 63 bytes with a schema_map; every duration is
 * within the bound docs/inventory.md gives; waves own each target once, the first wave that
 * selects it; selections are in inventory order.
 *
 * The environment has the variables the documented inventories use (docs/inventory.md).
 */
#include "dsn_check.h"
#include "common.h"

#include "inventory/inventory.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DSN_CHECKS 8 /* per inventory: the expansion may make thousands of targets */
#define MAX_UNIQUE_CHECK 2000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "%s/inventory.yaml", fz_scratch());
    setenv("STAGING_PASSWORD", "s3cr3t-staging", 1);
    setenv("TENANTS_PASSWORD", "p@ss/word?x", 1);
    setenv("PRIMARY_PASSWORD", "it's a secret", 1);
    setenv("PGFLEET_DEMO_PORT", "54329", 1);
    unsetenv("PGFLEET_DEMO_SSH_PORT");
    return 0;
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "\n==== inventory: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static PfErrCode discover(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err)
{
    (void)ctx;
    for (size_t p = 0; p < inv->n_plugins; p++) {
        const InvPlugin *pl = &inv->plugins[p];
        for (size_t c = 0; c < pl->n_config && c < 16; c++) {
            const InvLabel *kv = &pl->config[c];
            InvDiscovered found = {.name = kv->key,
                                   .dsn = kv->value,
                                   .labels = pl->config,
                                   .n_labels = pl->n_config,
                                   .table = c % 2 ? kv->key : NULL,
                                   .tenant_schema = c % 3 == 2 ? kv->value : NULL};
            PfErrCode rc = inv_discovered_add(d, pl, &found, err);
            if (rc != PF_OK)
                return rc;
        }
    }
    return PF_OK;
}

static void check_sorted(const size_t *idx, size_t n, size_t limit, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= limit || (i > 0 && idx[i] <= idx[i - 1]))
            fail(what, "indexes out of range or out of order");
}

static void select_some(const Inventory *inv)
{
    const char *globs[2] = {"*", inv->n ? inv->targets[0].name : "tenant-*"};
    char label[512] = "env=prod";
    if (inv->n && inv->targets[0].n_labels)
        snprintf(label, sizeof label, "%s!=%s", inv->targets[0].labels[0].key,
                 inv->targets[0].labels[0].value);
    const char *selectors[2] = {"env!=staging", label};
    size_t *idx, n_idx;
    PfErr err = {0};
    for (size_t g = 0; g <= 2; g++) {
        for (size_t s = 0; s <= 2; s++) {
            if (inv_select(inv, globs, g, selectors, s, &idx, &n_idx, &err) != PF_OK)
                continue; /* a label key or value that is no selector */
            check_sorted(idx, n_idx, inv->n, "inv_select");
            free(idx);
        }
    }
    for (size_t w = 0; w < inv->n_waves && w < 4; w++) {
        for (int from = 0; from <= 1; from++) {
            if (inv_select(inv, NULL, 0, NULL, 0, &idx, &n_idx, &err) != PF_OK)
                fail("inv_select without globs or selectors failed", err.msg);
            size_t first, end;
            const char *name = inv->waves[w].name;
            if (inv_waves_select(inv, from ? NULL : name, from ? name : NULL, idx, &n_idx, &first,
                                 &end, &err) != PF_OK)
                fail("inv_waves_select refused a wave of the inventory", err.msg);
            if (first > end || end > inv->n_waves)
                fail("inv_waves_select", "wave range out of bounds");
            for (size_t i = 0; i < n_idx; i++)
                if (idx[i] >= inv->n)
                    fail("inv_waves_select", "index out of range");
            free(idx);
        }
        if (inv_wave(inv, inv->waves[w].name) != &inv->waves[w])
            fail("inv_wave does not find a wave by its name", inv->waves[w].name);
        inv_wave_allowed_failures(&inv->waves[w], inv->waves[w].n_targets);
    }
}

/* docs/inventory.md: every duration is at most 2147483647ms (a tunnel's keepalive 715827882ms),
 * since PostgreSQL and the socket take them as 32-bit counts; a longer one is a load error. */
#define MAX_DURATION 2147483647
#define MAX_KEEPALIVE 715827882

static void check_duration(int64_t ms, int64_t max, const char *what, const char *name)
{
    if (ms < 0 || ms > max) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s of %s is %lldms", what, name ? name : "?",
                 (long long)ms);
        fail("a duration past its bound was loaded", detail);
    }
}

static void check_settings(const InvSettings *s, const char *name)
{
    check_duration(s->connect_timeout_ms, MAX_DURATION, "connect_timeout", name);
    check_duration(s->lock_wait_ms, MAX_DURATION, "lock_wait", name);
    check_duration(s->lock_timeout_ms, MAX_DURATION, "lock_timeout", name);
    check_duration(s->statement_timeout_ms, MAX_DURATION, "statement_timeout", name);
    check_duration(s->preflight_long_xact_ms, MAX_DURATION, "preflight_long_xact", name);
}

static void check_inventory(const Inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++) {
        const InvTarget *t = &inv->targets[i];
        if (!t->name || !*t->name || !t->dsn || !t->dsn_masked || !t->schema || !t->table)
            fail("a target without name, dsn, masked dsn, schema or table", t->name);
        check_settings(&t->settings, t->name);
        if (t->tenant_schema && (!*t->tenant_schema || strlen(t->tenant_schema) > 63 ||
                                 t->n_schema_map == 0 || !t->schema_map))
            fail("a tenant without a schema name of 1 to 63 bytes, or without a schema_map",
                 t->name);
        if (i < MAX_DSN_CHECKS)
            fz_check_dsn(t->dsn);
        if (inv->n <= MAX_UNIQUE_CHECK)
            for (size_t k = 0; k < i; k++)
                if (strcmp(inv->targets[k].name, t->name) == 0)
                    fail("two targets with one name", t->name);
        for (size_t l = 0; l < t->n_labels; l++)
            if (inv_label(t, t->labels[l].key) == NULL)
                fail("inv_label does not find a label of the target", t->labels[l].key);
    }
    for (size_t i = 0; i < inv->n_tunnels; i++) {
        const InvTunnel *t = &inv->tunnels[i];
        if (inv_tunnel(inv, t->name) != t)
            fail("inv_tunnel does not find a tunnel by its name", t->name);
        check_duration(t->connect_timeout_ms, MAX_DURATION, "connect_timeout", t->name);
        check_duration(t->keepalive_ms, MAX_KEEPALIVE, "keepalive", t->name);
    }
    for (size_t w = 0; w < inv->n_waves; w++)
        check_duration(inv->waves[w].pause_ms, MAX_DURATION, "pause", inv->waves[w].name);
    if (inv->n_waves) {
        size_t owned = 0;
        if (!inv->wave_of && inv->n)
            fail("waves without wave_of", NULL);
        for (size_t w = 0; w < inv->n_waves; w++) {
            const InvWave *wave = &inv->waves[w];
            check_sorted(wave->targets, wave->n_targets, inv->n, "a wave's targets");
            for (size_t k = 0; k < wave->n_targets; k++)
                if (inv->wave_of[wave->targets[k]] != w)
                    fail("a wave owns a target that wave_of gives to another", wave->name);
            owned += wave->n_targets;
        }
        if (owned != inv->n)
            fail("the waves do not own every target once", NULL);
    }
    select_some(inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write(path, data, size);
    Inventory *inv = NULL;
    PfErr err = {0};
    if (inv_load_discover(path, discover, NULL, &inv, &err) == PF_OK) {
        if (!inv)
            fail("inv_load_discover succeeded without an inventory", NULL);
        check_inventory(inv);
        inv_free(inv);
    } else if (inv || !err.msg[0]) {
        fail("inv_load_discover failed without a message, or left an inventory", NULL);
    }
    return 0;
}
