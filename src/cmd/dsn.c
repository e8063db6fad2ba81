/*
 * One database without an inventory, as a container entrypoint runs it:
 *   pgfleet apply --dsn "$DATABASE_URL" -m drizzle     (--dsn may repeat)
 *   pgfleet apply -c drizzle.config.ts                 (out, migrations.*, dbCredentials.url)
 * A fleet of one target per dsn, with the inventory's defaults: same statuses, reports and exit
 * codes as with an inventory.
 */
#include "cmd/common.h"

#include "codebase/drizzle_config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "pg/connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The inventory's defaults (docs/inventory.md), for targets that have no inventory. */
enum {
    DSN_CONNECT_TIMEOUT_MS = 10000,
    DSN_LOCK_WAIT_MS = 30000,
    DSN_PREFLIGHT_LONG_XACT_MS = 60000,
};

void cmd_dsn_add(CmdDsnMode *m, const char *dsn)
{
    m->dsns = pf_realloc(m->dsns, (m->n_dsns + 1) * sizeof *m->dsns);
    m->dsns[m->n_dsns++] = dsn;
}

/* What the config says for the run: its folder, ledger and (without --dsn) the dsn. */
typedef struct ConfigValues {
    char *dir;
    char *schema;
    char *table;
    char *url;
} ConfigValues;

static void config_values_clear(ConfigValues *v)
{
    free(v->dir);
    free(v->schema);
    free(v->table);
    free(v->url);
    memset(v, 0, sizeof *v);
}

/* A string of the config, or an error printed. Empty strings are refused (a key set to
 * process.env.X ?? "" with X unset): nothing pgfleet reads may be empty. */
static bool config_string(const DrizzleConfig *dc, const char *key, const char *instead,
                          char **value)
{
    PfErr err;
    if (drizzle_config_string(dc, key, instead, value, &err) != PF_OK) {
        cmd_error(&err);
        return false;
    }
    if (*value && !**value) {
        fprintf(stderr, "pgfleet: %s: %s is empty; hint: %s\n", drizzle_config_path(dc), key,
                instead);
        free(*value);
        *value = NULL;
        return false;
    }
    return true;
}

static bool config_read(const CmdDsnMode *m, ConfigValues *v)
{
    DrizzleConfig *dc = NULL;
    PfErr err;
    if (drizzle_config_read(m->config, &dc, &err) != PF_OK) {
        cmd_error(&err);
        return false;
    }
    DrizzleConfigMigrations mig;
    bool ok =
        drizzle_config_migrations(
            dc, !m->migrations_dir, "pass --migrations DIR (or set migrations.dir in an inventory)",
            "write it as a string literal, or use an inventory with migrations.schema "
            "and migrations.table",
            &mig, &err) == PF_OK;
    if (!ok)
        cmd_error(&err);
    v->dir = mig.dir;
    v->schema = mig.schema;
    v->table = mig.table;
    if (ok && m->n_dsns == 0) {
        ok = config_string(dc, "dbCredentials.url", "pass --dsn URL", &v->url);
        if (ok && !v->url) /* drizzle-kit before 0.21 */
            ok = config_string(dc, "dbCredentials.connectionString", "pass --dsn URL", &v->url);
        if (ok && !v->url) {
            fprintf(stderr,
                    "pgfleet: %s: dbCredentials.url is not set (pgfleet reads no host, user or "
                    "password keys); hint: pass --dsn URL\n",
                    m->config);
            ok = false;
        }
    }
    drizzle_config_free(dc);
    return ok;
}

static bool name_taken(const Inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->n; i++)
        if (strcmp(inv->targets[i].name, name) == 0)
            return true;
    return false;
}

/* One target for dsn; from names where it came from in messages ("--dsn #2"). */
static bool add_target(Inventory *inv, const char *dsn, const char *schema, const char *table,
                       const char *from)
{
    char *label;
    PfErr err;
    if (pg_dsn_label(dsn, &label, &err) != PF_OK) {
        fprintf(stderr, "pgfleet: %s: %s\n", from, err.msg);
        return false;
    }
    char *name = pf_strdup(label);
    for (int k = 2; name_taken(inv, name); k++) {
        free(name);
        name = pf_asprintf("%s#%d", label, k);
    }
    free(label);
    InvTarget *t = &inv->targets[inv->n++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dsn = pf_strdup(dsn);
    t->dsn_masked = inv_mask_dsn(dsn);
    t->schema = pf_strdup(schema ? schema : "drizzle");
    t->table = pf_strdup(table ? table : "__drizzle_migrations");
    t->settings.connect_timeout_ms = DSN_CONNECT_TIMEOUT_MS;
    t->settings.lock_wait_ms = DSN_LOCK_WAIT_MS;
    t->settings.application_name = pf_strdup("pgfleet");
    t->settings.transaction = INV_TX_ALL;
    t->settings.preflight_long_xact_ms = DSN_PREFLIGHT_LONG_XACT_MS;
    inv_target_settle(inv, t);
    return true;
}

Inventory *cmd_dsn_load(CmdDsnMode *m, const CmdSelection *s, size_t **idx, size_t *n_idx,
                        char **dir)
{
    *idx = NULL;
    *n_idx = 0;
    *dir = NULL;
    ConfigValues v = {0};
    Inventory *inv = NULL;
    if (m->config && !config_read(m, &v))
        goto fail;
    inv = pf_calloc(1, sizeof *inv);
    inv->path = pf_strdup("--dsn");
    size_t n = m->n_dsns ? m->n_dsns : 1;
    inv->targets = pf_calloc(n, sizeof *inv->targets);
    for (size_t i = 0; i < n; i++) {
        char *from = m->n_dsns ? pf_asprintf("--dsn #%zu", i + 1)
                               : pf_asprintf("%s: dbCredentials.url", m->config);
        bool ok = add_target(inv, m->n_dsns ? m->dsns[i] : v.url, v.schema, v.table, from);
        free(from);
        if (!ok)
            goto fail;
    }
    PfErr err;
    if (inv_select(inv, s->globs, s->n_globs, s->selectors, s->n_selectors, idx, n_idx, &err) !=
        PF_OK) {
        cmd_error(&err);
        goto fail;
    }
    *dir = m->migrations_dir ? pf_strdup(m->migrations_dir) : v.dir;
    if (m->migrations_dir)
        free(v.dir);
    v.dir = NULL;
    config_values_clear(&v);
    free(m->dsns);
    m->dsns = NULL;
    return inv;
fail:
    config_values_clear(&v);
    inv_free(inv);
    free(*idx);
    *idx = NULL;
    free(m->dsns);
    m->dsns = NULL;
    return NULL;
}

PgConn **cmd_dsn_wait(const Inventory *inv, const size_t *idx, size_t n_idx, int64_t wait_ms)
{
    PgConn **waited = pf_calloc(inv->n ? inv->n : 1, sizeof *waited);
    int64_t deadline = pf_now_ms() + wait_ms;
    for (size_t i = 0; i < n_idx; i++) {
        const InvTarget *t = &inv->targets[idx[i]];
        int64_t left = deadline - pf_now_ms();
        PfErr err;
        if (pg_conn_wait(t->name, t->dsn, &t->settings, left > 0 ? left : 0, &waited[idx[i]],
                         &err) != PF_OK)
            pf_log(PF_LOG_WARN, t->name, "--wait: %s", err.msg);
    }
    return waited;
}

void cmd_dsn_wait_free(PgConn **waited, size_t n)
{
    for (size_t i = 0; waited && i < n; i++)
        pg_conn_free(waited[i]);
    free(waited);
}
