/* Inventory loading and target selection shared by the subcommands. */
#include "cmd/common.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>

void cmd_selection_add_glob(CmdSelection *s, const char *glob)
{
    s->globs = pf_realloc(s->globs, (s->n_globs + 1) * sizeof *s->globs);
    s->globs[s->n_globs++] = glob;
}

void cmd_selection_add_selector(CmdSelection *s, const char *sel)
{
    s->selectors = pf_realloc(s->selectors, (s->n_selectors + 1) * sizeof *s->selectors);
    s->selectors[s->n_selectors++] = sel;
}

void cmd_selection_free(CmdSelection *s)
{
    free(s->globs);
    free(s->selectors);
}

void cmd_error(const PfErr *err)
{
    fprintf(stderr, "pgfleet: %s\n", err->msg);
}

Inventory *cmd_load_selection(const CmdSelection *s, size_t **idx, size_t *n_idx)
{
    PluginHost *host = NULL;
    Inventory *inv = cmd_load_selection_plugins(s, idx, n_idx, &host);
    plugin_host_free(host); /* loaded for discovery only */
    return inv;
}

Inventory *cmd_load_selection_plugins(const CmdSelection *s, size_t **idx, size_t *n_idx,
                                      PluginHost **host)
{
    *host = NULL;
    const char *path = s->inventory_path;
    if (!path)
        path = getenv("PGFLEET_INVENTORY");
    if (!path || !*path)
        path = "pgfleet.yaml";
    PfErr err;
    Inventory *inv = NULL;
    if (inv_load_discover(path, plugin_host_inv_discover, host, &inv, &err) != PF_OK) {
        cmd_error(&err);
        return NULL;
    }
    if (inv_select(inv, s->globs, s->n_globs, s->selectors, s->n_selectors, idx, n_idx, &err) !=
        PF_OK) {
        cmd_error(&err);
        plugin_host_free(*host);
        *host = NULL;
        inv_free(inv);
        return NULL;
    }
    return inv;
}
