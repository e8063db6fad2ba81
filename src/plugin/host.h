/*
 * The plugin host (docs/plugins.md): loads the inventory's plugins (dlopen, ABI check, init),
 * runs their target discovery while the inventory loads, and delivers the run's events to
 * them. It creates no threads: src/fleet/ calls it from its workers, and one mutex here
 * serializes every call into every plugin, so plugins never run concurrently.
 */
#ifndef PF_PLUGIN_HOST_H
#define PF_PLUGIN_HOST_H

#include "core/err.h"
#include "inventory/inventory.h"

#include <pgfleet/plugin.h>
#include <stddef.h>

typedef struct PluginHost PluginHost;

/* Load every plugin of inv->plugins, in order: dlopen(RTLD_NOW | RTLD_LOCAL), the
 * pgfleet_plugin symbol, its abi_version (1 to PGFLEET_PLUGIN_ABI_VERSION: an older plugin's
 * structs are read only as far as its version has them), init with its config. PF_ERR_INPUT
 * naming the plugin's path when any of that fails (the plugins loaded so far are finalized and
 * closed). *out is NULL when the inventory has no plugins. Free with plugin_host_free. */
PfErrCode plugin_host_load(const Inventory *inv, PluginHost **out, PfErr *err);

/* An InvDiscoverFn for inv_load_discover: ctx is a PluginHost ** that receives the loaded
 * host (plugin_host_load), whose plugins' discover then add targets through d. On error
 * *ctx is NULL (everything loaded was freed). */
PfErrCode plugin_host_inv_discover(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err);

/* Deliver ev to every plugin, in inventory order, one call at a time (any thread). A
 * callback's error is logged and kept (plugin_host_errors). When veto is not NULL and a
 * plugin returns PGFLEET_VETO, *veto is set (caller frees) to the first veto's text: "plugin
 * NAME (PATH) vetoed it[: why]"; a veto on another event is an error of the plugin. NULL h:
 * nothing. */
void plugin_host_emit(PluginHost *h, const PgfleetEvent *ev, char **veto);

/* The callback errors so far, each "plugin NAME (PATH): EVENT[ on TARGET]: why"; borrowed,
 * valid until plugin_host_free. */
const char *const *plugin_host_errors(const PluginHost *h, size_t *n);

/* fini every plugin, then dlclose them. Accepts NULL. */
void plugin_host_free(PluginHost *h);

#endif
