/*
 * Where an inventory's targets keep their strings and arrays: one arena, so that a target
 * costs its texts and nothing per allocation, and one set of shared texts, so that what many
 * targets say alike (a schema, a table, a label, a setting, a route) is kept once. A fleet of
 * 100,000 targets is held in a few tens of megabytes this way.
 */
#include "inventory/inv_internal.h"

#include "core/arena.h"
#include "core/mem.h"
#include "core/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct InvStrings {
    PfArena arena;
    PfStrSet shared; /* each text once; its value is the text's address */
};

static InvStrings *strings_of(Inventory *inv)
{
    if (!inv->strings)
        inv->strings = pf_calloc(1, sizeof *inv->strings);
    return inv->strings;
}

char *inv_keep(Inventory *inv, const char *s)
{
    return s ? pf_arena_strdup(&strings_of(inv)->arena, s) : NULL;
}

char *inv_intern(Inventory *inv, const char *s)
{
    if (!s)
        return NULL;
    InvStrings *st = strings_of(inv);
    size_t at;
    if (pf_strset_get(&st->shared, s, &at))
        return (char *)(uintptr_t)at;
    char *copy = pf_arena_strdup(&st->arena, s);
    pf_strset_add(&st->shared, copy, (size_t)(uintptr_t)copy, NULL);
    return copy;
}

static InvLabel *pairs_settle(Inventory *inv, InvLabel *pairs, size_t n)
{
    if (!pairs)
        return NULL;
    InvLabel *kept = pf_arena_alloc(&strings_of(inv)->arena, (n ? n : 1) * sizeof *kept);
    for (size_t i = 0; i < n; i++) {
        kept[i].key = inv_intern(inv, pairs[i].key);
        kept[i].value = inv_intern(inv, pairs[i].value);
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    return kept;
}

/* *slot (malloc'd) becomes its shared copy. */
static void intern_slot(Inventory *inv, char **slot)
{
    char *s = *slot;
    *slot = inv_intern(inv, s);
    free(s);
}

static void keep_slot(Inventory *inv, char **slot)
{
    char *s = *slot;
    *slot = inv_keep(inv, s);
    free(s);
}

void inv_target_settle(Inventory *inv, InvTarget *t)
{
    keep_slot(inv, &t->name);
    keep_slot(inv, &t->dsn);
    keep_slot(inv, &t->dsn_masked);
    t->labels = pairs_settle(inv, t->labels, t->n_labels);
    intern_slot(inv, &t->schema);
    intern_slot(inv, &t->table);
    intern_slot(inv, &t->tenant_schema);
    t->schema_map = pairs_settle(inv, t->schema_map, t->n_schema_map);
    intern_slot(inv, &t->settings.sslmode);
    intern_slot(inv, &t->settings.application_name);
    intern_slot(inv, &t->settings.expect.database);
    intern_slot(inv, &t->settings.expect.user);
    intern_slot(inv, &t->settings.expect.system_identifier);
    intern_slot(inv, &t->settings.backup.dir);
    intern_slot(inv, &t->via);
    intern_slot(inv, &t->route);
}

void inv_strings_free(Inventory *inv)
{
    if (!inv->strings)
        return;
    pf_strset_free(&inv->strings->shared);
    pf_arena_free(&inv->strings->arena);
    free(inv->strings);
    inv->strings = NULL;
}
