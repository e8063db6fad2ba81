/*
 * Internals shared by the inventory's .c files (load.c, expand.c, select.c, mask.c, waves.c).
 * Nothing outside src/inventory/ includes this.
 */
#ifndef PF_INVENTORY_INTERNAL_H
#define PF_INVENTORY_INTERNAL_H

#include "inventory/inventory.h"

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* inv_expand with the for_each context made explicit: in_for_each false makes every
 * ${each...} an error ("not available here"), in_for_each true with n_each 0 means the
 * for_each item is an empty mapping. Returns a new string (caller frees) or NULL with err set
 * (PF_ERR_INPUT, message without position). getenv() is called: not thread-safe against
 * concurrent setenv(). */
char *inv_expand_each(const char *s, const InvLabel *each, size_t n_each, bool in_for_each,
                      PfErr *err);

/* Load the top-level `waves` node (waves.c), once every target is loaded: check each wave,
 * expand its scalars, give every target to the first wave selecting it. Errors are
 * PF_ERR_INPUT "PATH:LINE:COL: ...", among them a target that no wave selects. On error
 * inv->waves may hold what was loaded so far; inv_waves_free frees it. */
PfErrCode inv_waves_load(const char *path, yaml_document_t *doc, const yaml_node_t *waves,
                         Inventory *inv, PfErr *err);
void inv_waves_free(Inventory *inv);

#endif
