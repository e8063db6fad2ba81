/*
 * A set of strings, each with a value (an index, a line): open addressing, so that checking n
 * names for repeats takes time in proportion to n. The strings are not copied: they must
 * outlive the set.
 */
#ifndef PF_CORE_STRSET_H
#define PF_CORE_STRSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct PfStrSetSlot {
    const char *s;
    size_t value;
} PfStrSetSlot;

/* Zero-initialise ({0}); free with pf_strset_free. */
typedef struct PfStrSet {
    PfStrSetSlot *slots;
    size_t n, cap;
} PfStrSet;

/* Add s with value. False when s is already in: nothing changes, and *prev (when not NULL) is
 * the value it was added with. */
bool pf_strset_add(PfStrSet *set, const char *s, size_t value, size_t *prev);

/* Set s's value, adding s when it is not in: true when it was added; else *prev (when not
 * NULL) is the value it had, and s's first string is the one kept. */
bool pf_strset_put(PfStrSet *set, const char *s, size_t value, size_t *prev);

/* Whether s is in; *value (when not NULL) is its value. */
bool pf_strset_get(const PfStrSet *set, const char *s, size_t *value);

/* Frees the table (not the strings) and empties the set. Accepts an empty set. */
void pf_strset_free(PfStrSet *set);

#endif
