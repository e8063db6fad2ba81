/* A set of strings with values: open addressing with linear probing, FNV-1a hashes. */
#include "core/strset.h"

#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

/* The slot holding s, or the empty slot where it would go. cap is a power of two. */
static PfStrSetSlot *find(PfStrSetSlot *slots, size_t cap, const char *s)
{
    size_t j = hash_str(s) & (cap - 1);
    while (slots[j].s && strcmp(slots[j].s, s) != 0)
        j = (j + 1) & (cap - 1);
    return &slots[j];
}

bool pf_strset_add(PfStrSet *set, const char *s, size_t value, size_t *prev)
{
    if ((set->n + 1) * 2 > set->cap) { /* at most half full */
        size_t cap = set->cap ? set->cap * 2 : 16;
        PfStrSetSlot *slots = pf_calloc(cap, sizeof *slots);
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slots[i].s)
                *find(slots, cap, set->slots[i].s) = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    PfStrSetSlot *slot = find(set->slots, set->cap, s);
    if (slot->s) {
        if (prev)
            *prev = slot->value;
        return false;
    }
    *slot = (PfStrSetSlot){s, value};
    set->n++;
    return true;
}

bool pf_strset_put(PfStrSet *set, const char *s, size_t value, size_t *prev)
{
    if (pf_strset_add(set, s, value, prev))
        return true;
    find(set->slots, set->cap, s)->value = value;
    return false;
}

bool pf_strset_get(const PfStrSet *set, const char *s, size_t *value)
{
    if (!set->cap)
        return false;
    const PfStrSetSlot *slot = find(set->slots, set->cap, s);
    if (slot->s && value)
        *value = slot->value;
    return slot->s != NULL;
}

void pf_strset_free(PfStrSet *set)
{
    free(set->slots);
    *set = (PfStrSet){0};
}
