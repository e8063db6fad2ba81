/*
 * The plugin host: dlopen, the ABI check, init and fini, discovery and event delivery. Every
 * call into a plugin happens under `mutex`, so plugin code never runs on two threads at once
 * (target and migration events arrive from the fleet's workers). A plugin that crashes takes
 * pgfleet with it: it runs in-process, and nothing here can catch that.
 */
#include "plugin/host.h"

#include "core/log.h"
#include "core/mem.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SIZE 512

/* The oldest plugin ABI still loaded: structs only grow at their end (<pgfleet/plugin.h>), so a
 * plugin built against any version from this one to PGFLEET_PLUGIN_ABI_VERSION works, as long
 * as nothing reads a field its version does not have. */
#define PLUGIN_ABI_OLDEST 1
/* The version that added PgfleetTarget.tenant_schema. */
#define PLUGIN_ABI_TENANT_SCHEMA 2

typedef struct Plugin {
    const InvPlugin *conf; /* borrowed from the inventory */
    void *dl;
    const PgfleetPlugin *desc;
    void *state;
    bool initialized;
} Plugin;

struct PluginHost {
    pthread_mutex_t mutex; /* every call into a plugin, and errors */
    const Inventory *inv;
    Plugin *plugins;
    size_t n;
    char **errors;
    size_t n_errors;
    /* Discovery: the plugin whose discover runs, and the first error of its add calls. */
    InvDiscovery *disc;
    const Plugin *discovering;
    PfErr add_err;
    bool add_failed;
};

static const char *plugin_name(const Plugin *p)
{
    return p->desc && p->desc->name && *p->desc->name ? p->desc->name : "?";
}

static PfErrCode load_one(const Inventory *inv, const InvPlugin *conf, Plugin *p, PfErr *err)
{
    memset(p, 0, sizeof *p);
    p->conf = conf;
    const char *where = inv->path;
    p->dl = dlopen(conf->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *why = dlerror();
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s: cannot load it: %s", where,
                          conf->line, conf->column, conf->path, why ? why : "unknown error");
    }
    dlerror();
    p->desc = dlsym(p->dl, PGFLEET_PLUGIN_SYMBOL);
    if (!p->desc)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s:%d:%d: plugin %s: it exports no symbol '%s'; hint: define "
                          "`const PgfleetPlugin %s` (include <pgfleet/plugin.h>)",
                          where, conf->line, conf->column, conf->path, PGFLEET_PLUGIN_SYMBOL,
                          PGFLEET_PLUGIN_SYMBOL);
    int v = p->desc->abi_version;
    if (v < PLUGIN_ABI_OLDEST || v > PGFLEET_PLUGIN_ABI_VERSION) {
        p->desc = NULL;
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s:%d:%d: plugin %s: ABI version %d, but this pgfleet loads versions "
                          "%d to %d; hint: %s against this pgfleet's <pgfleet/plugin.h>",
                          where, conf->line, conf->column, conf->path, v, PLUGIN_ABI_OLDEST,
                          PGFLEET_PLUGIN_ABI_VERSION,
                          v > PGFLEET_PLUGIN_ABI_VERSION
                              ? "it was built for a newer pgfleet: upgrade pgfleet, or rebuild it"
                              : "rebuild the plugin");
    }
    if (!p->desc->init) {
        p->desc = NULL;
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s: its descriptor has no init",
                          where, conf->line, conf->column, conf->path);
    }
    PgfleetKV *kv = pf_calloc(conf->n_config ? conf->n_config : 1, sizeof *kv);
    for (size_t i = 0; i < conf->n_config; i++)
        kv[i] = (PgfleetKV){conf->config[i].key, conf->config[i].value};
    char why[ERR_SIZE] = "";
    int rc = p->desc->init(kv, conf->n_config, &p->state, why, sizeof why);
    free(kv);
    why[sizeof why - 1] = '\0';
    if (rc != PGFLEET_OK)
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s (%s): init failed: %s", where,
                          conf->line, conf->column, conf->path, plugin_name(p),
                          *why ? why : "no reason given");
    p->initialized = true;
    return PF_OK;
}

static void unload_one(Plugin *p)
{
    if (p->initialized && p->desc->fini)
        p->desc->fini(p->state);
    if (p->dl)
        dlclose(p->dl);
    memset(p, 0, sizeof *p);
}

PfErrCode plugin_host_load(const Inventory *inv, PluginHost **out, PfErr *err)
{
    *out = NULL;
    if (inv->n_plugins == 0)
        return PF_OK;
    PluginHost *h = pf_calloc(1, sizeof *h);
    pthread_mutex_init(&h->mutex, NULL);
    h->inv = inv;
    h->plugins = pf_calloc(inv->n_plugins, sizeof *h->plugins);
    for (size_t i = 0; i < inv->n_plugins; i++) {
        PfErrCode rc = load_one(inv, &inv->plugins[i], &h->plugins[i], err);
        h->n = i + 1; /* so that free unloads this one too */
        if (rc != PF_OK) {
            plugin_host_free(h);
            return rc;
        }
        pf_log(PF_LOG_DEBUG, NULL, "plugin %s (%s) loaded", plugin_name(&h->plugins[i]),
               inv->plugins[i].path);
    }
    *out = h;
    return PF_OK;
}

/* The PgfleetAddTarget handed to discover. */
static int add_target(void *ctx, const PgfleetTarget *t, char *why, size_t why_size)
{
    PluginHost *h = ctx;
    PfErr e;
    PfErrCode rc;
    if (!t) {
        rc = pf_err_set(&e, PF_ERR_INPUT, "plugin %s: add called with no target",
                        h->discovering->conf->path);
    } else {
        InvLabel *labels = pf_calloc(t->n_labels ? t->n_labels : 1, sizeof *labels);
        for (size_t i = 0; i < t->n_labels; i++)
            labels[i] = (InvLabel){(char *)t->labels[i].key, (char *)t->labels[i].value};
        InvDiscovered found = {.name = t->name,
                               .dsn = t->dsn,
                               .labels = labels,
                               .n_labels = t->n_labels,
                               .schema = t->schema,
                               .table = t->table};
        /* A version-1 plugin's PgfleetTarget ends at table: the field is not there to read. */
        if (h->discovering->desc->abi_version >= PLUGIN_ABI_TENANT_SCHEMA)
            found.tenant_schema = t->tenant_schema;
        rc = inv_discovered_add(h->disc, h->discovering->conf, &found, &e);
        free(labels);
    }
    if (rc == PF_OK)
        return PGFLEET_OK;
    if (!h->add_failed) {
        h->add_failed = true;
        h->add_err = e;
    }
    if (why && why_size)
        snprintf(why, why_size, "%s", e.msg);
    return PGFLEET_ERROR;
}

static PfErrCode discover_all(PluginHost *h, InvDiscovery *d, PfErr *err)
{
    for (size_t i = 0; i < h->n; i++) {
        Plugin *p = &h->plugins[i];
        if (!p->desc->discover)
            continue;
        h->disc = d;
        h->discovering = p;
        h->add_failed = false;
        char why[ERR_SIZE] = "";
        size_t before = h->inv->n;
        int rc = p->desc->discover(p->state, add_target, h, why, sizeof why);
        why[sizeof why - 1] = '\0';
        h->disc = NULL;
        if (h->add_failed) {
            *err = h->add_err;
            return err->code;
        }
        if (rc != PGFLEET_OK)
            return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s (%s): discovery failed: %s",
                              h->inv->path, p->conf->line, p->conf->column, p->conf->path,
                              plugin_name(p), *why ? why : "no reason given");
        pf_log(PF_LOG_INFO, NULL, "plugin %s discovered %zu target%s", plugin_name(p),
               h->inv->n - before, h->inv->n - before == 1 ? "" : "s");
    }
    return PF_OK;
}

PfErrCode plugin_host_inv_discover(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err)
{
    PluginHost **out = ctx;
    PfErrCode rc = plugin_host_load(inv, out, err);
    if (rc != PF_OK || !*out)
        return rc;
    rc = discover_all(*out, d, err);
    if (rc != PF_OK) {
        plugin_host_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Under h->mutex. */
static void keep_error(PluginHost *h, const Plugin *p, const PgfleetEvent *ev, const char *why)
{
    char *msg = pf_asprintf("plugin %s (%s): %s%s%s: %s", plugin_name(p), p->conf->path, ev->name,
                            ev->target ? " on " : "", ev->target ? ev->target : "", why);
    pf_log(PF_LOG_ERROR, ev->target, "%s", msg);
    h->errors = pf_realloc(h->errors, (h->n_errors + 1) * sizeof *h->errors);
    h->errors[h->n_errors++] = msg;
}

void plugin_host_emit(PluginHost *h, const PgfleetEvent *ev, char **veto)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mutex);
    for (size_t i = 0; i < h->n; i++) {
        Plugin *p = &h->plugins[i];
        if (!p->desc->on_event)
            continue;
        char why[ERR_SIZE] = "";
        int rc = p->desc->on_event(p->state, ev, why, sizeof why);
        why[sizeof why - 1] = '\0';
        if (rc == PGFLEET_OK)
            continue;
        if (rc == PGFLEET_VETO && veto) {
            if (!*veto)
                *veto = pf_asprintf("plugin %s (%s) vetoed it%s%s", plugin_name(p), p->conf->path,
                                    *why ? ": " : "", why);
            pf_log(PF_LOG_WARN, NULL, "plugin %s vetoed %s%s%s", plugin_name(p), ev->name,
                   *why ? ": " : "", why);
            continue;
        }
        char *text = rc == PGFLEET_VETO
                         ? pf_asprintf("returned PGFLEET_VETO, but %s cannot be vetoed", ev->name)
                     : rc == PGFLEET_ERROR
                         ? pf_strdup(*why ? why : "failed (no reason given)")
                         : pf_asprintf("returned %d%s%s", rc, *why ? ": " : "", why);
        keep_error(h, p, ev, text);
        free(text);
    }
    pthread_mutex_unlock(&h->mutex);
}

const char *const *plugin_host_errors(const PluginHost *h, size_t *n)
{
    *n = h ? h->n_errors : 0;
    return h ? (const char *const *)h->errors : NULL;
}

void plugin_host_free(PluginHost *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        unload_one(&h->plugins[i]);
    for (size_t i = 0; i < h->n_errors; i++)
        free(h->errors[i]);
    free(h->errors);
    free(h->plugins);
    pthread_mutex_destroy(&h->mutex);
    free(h);
}
