/* Option handling shared by the subcommands. */
#ifndef PF_CMD_COMMON_H
#define PF_CMD_COMMON_H

#include "core/err.h"
#include "inventory/inventory.h"
#include "pg/pg.h"
#include "plugin/host.h"

#include <stddef.h>
#include <stdint.h>

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

/* Before anything runs: can a report be written to path (-o)? Tries to create (and removes) the
 * temporary file the report will be written through, beside path; for "+FILE" (append), opens
 * FILE for appending (creating it empty when missing). PF_ERR_IO naming path and
 * why when it cannot, or when path is a directory. */
PfErrCode cmd_check_output(const char *path, PfErr *err);

/* ---- one database without an inventory (dsn.c) ---- */

/* What --dsn mode was given: the dsns (borrowed from argv; none means the config's
 * dbCredentials.url), -c FILE (or NULL) and -m DIR (or NULL). */
typedef struct CmdDsnMode {
    const char **dsns;
    size_t n_dsns;
    const char *config;
    const char *migrations_dir;
} CmdDsnMode;

void cmd_dsn_add(CmdDsnMode *m, const char *dsn);

/* An inventory of one target per dsn, named HOST[:PORT]/DB after it (masked, "#2" added to a
 * name already taken), with the inventory defaults and the ledger of the config (-c) or
 * drizzle's; then the selection, as cmd_load_selection makes it. *dir receives the migrations
 * folder (-m, else the config's out resolved against the config's folder, else NULL); the
 * caller frees it. Prints the error and returns NULL on failure (nothing was run). Frees the
 * dsn array of m. */
Inventory *cmd_dsn_load(CmdDsnMode *m, const CmdSelection *s, size_t **idx, size_t *n_idx,
                        char **dir);

/* --wait: wait up to wait_ms in all for the server of each selected target to accept a
 * connection (pg_conn_wait). A server that does not is reported on stderr; its target then
 * fails in the run as unreachable. Returns the connections made, indexed like inv->targets
 * (NULL where none), for FleetRun.waited; free with cmd_dsn_wait_free. */
PgConn **cmd_dsn_wait(const Inventory *inv, const size_t *idx, size_t n_idx, int64_t wait_ms);

/* Close what cmd_dsn_wait made that the run did not take, and free the array (NULL is fine). */
void cmd_dsn_wait_free(PgConn **waited, size_t n);

#endif
