/* Option handling shared by the subcommands. */
#ifndef PF_CMD_COMMON_H
#define PF_CMD_COMMON_H

#include "core/err.h"
#include "inventory/inventory.h"
#include "plugin/host.h"

#include <stddef.h>

/* Selection options collected from the command line (arrays borrowed from argv). */
typedef struct CmdSelection {
    const char *inventory_path;
    const char **globs;
    size_t n_globs;
    const char **selectors;
    size_t n_selectors;
} CmdSelection;

void cmd_selection_add_glob(CmdSelection *s, const char *glob);
void cmd_selection_add_selector(CmdSelection *s, const char *sel);
void cmd_selection_free(CmdSelection *s);

/* Load the inventory (path from the selection, $PGFLEET_INVENTORY or pgfleet.yaml) and select
 * targets. Prints the error and returns NULL on failure. *idx is the caller's to free. */
Inventory *cmd_load_selection(const CmdSelection *s, size_t **idx, size_t *n_idx);

/* The same, keeping the inventory's plugins loaded (*host, NULL when it has none) for the
 * run's events (docs/plugins.md): free *host before the inventory. On failure *host is NULL. */
Inventory *cmd_load_selection_plugins(const CmdSelection *s, size_t **idx, size_t *n_idx,
                                      PluginHost **host);

/* Print "pgfleet: <msg>" on stderr. */
void cmd_error(const PfErr *err);

#endif
