/*
 * Internals shared by the inventory's .c files (load.c, expand.c, select.c, mask.c). Nothing
 * outside src/inventory/ includes this.
 */
#ifndef PF_INVENTORY_INTERNAL_H
#define PF_INVENTORY_INTERNAL_H

#include "inventory/inventory.h"

#include <stdbool.h>
#include <stddef.h>

/* inv_expand with the for_each context made explicit: in_for_each false makes every
 * ${each...} an error ("not available here"), in_for_each true with n_each 0 means the
 * for_each item is an empty mapping. Returns a new string (caller frees) or NULL with err set
 * (PF_ERR_INPUT, message without position). getenv() is called: not thread-safe against
 * concurrent setenv(). */
char *inv_expand_each(const char *s, const InvLabel *each, size_t n_each, bool in_for_each,
                      PfErr *err);

#endif
