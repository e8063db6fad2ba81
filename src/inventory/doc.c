/*
 * The inventory's YAML document, composed from libyaml's events into compact nodes.
 *
 * libyaml's own loader (yaml_parser_load) keeps about 2 KB per target of a large inventory:
 * a node array that doubles as it grows, a tag string and a pair stack per node. An inventory
 * of 100,000 targets took 200 MB there before a single target was built. Here a node is 40
 * bytes in blocks that never move, and texts, pairs and items are cut from one arena. The
 * result reads as libyaml's did: nodes numbered from 1 in the order libyaml numbers them (a
 * collection before its children), an alias standing for the node its anchor names (the same
 * number), marks and scalar styles as the events give them, and the same composer errors
 * (an undefined alias, a repeated anchor) in the parser's error fields.
 */
#include "inventory/inv_internal.h"

#include "core/arena.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

#define NODES_PER_BLOCK 4096
typedef struct Anchor {
    char *name;
    int node;
    yaml_mark_t mark;
} Anchor;

struct InvYaml {
    InvNode **blocks; /* NODES_PER_BLOCK nodes each */
    size_t n_blocks;
    int n;         /* nodes */
    PfArena arena; /* texts, pairs, items */
};

static int node_new(InvYaml *y, yaml_node_type_t type, yaml_mark_t mark)
{
    size_t i = (size_t)y->n;
    if (i % NODES_PER_BLOCK == 0) {
        y->blocks = pf_realloc(y->blocks, (y->n_blocks + 1) * sizeof *y->blocks);
        y->blocks[y->n_blocks++] = pf_malloc(NODES_PER_BLOCK * sizeof(InvNode));
    }
    InvNode *n = &y->blocks[i / NODES_PER_BLOCK][i % NODES_PER_BLOCK];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->start_mark.line = (uint32_t)mark.line;
    n->start_mark.column = (uint32_t)mark.column;
    return ++y->n;
}

InvNode *inv_yaml_node(const InvYaml *y, int index)
{
    if (!y || index < 1 || index > y->n)
        return NULL;
    size_t i = (size_t)index - 1;
    return &y->blocks[i / NODES_PER_BLOCK][i % NODES_PER_BLOCK];
}

InvNode *inv_yaml_root(const InvYaml *y)
{
    return inv_yaml_node(y, 1);
}

void inv_yaml_free(InvYaml *y)
{
    if (!y)
        return;
    for (size_t i = 0; i < y->n_blocks; i++)
        free(y->blocks[i]);
    free(y->blocks);
    pf_arena_free(&y->arena);
    free(y);
}

/* What the composer is in the middle of: open collections and their children so far. */
typedef struct Composer {
    yaml_parser_t *parser;
    InvYaml *y;
    int *open; /* node numbers of the open collections, outermost first */
    size_t n_open, open_cap;
    size_t *open_base; /* where each open collection's children start in kids */
    int *kids;
    size_t n_kids, kids_cap;
    Anchor *anchors;
    size_t n_anchors, anchors_cap;
} Composer;

static bool composer_error(Composer *c, const char *context, yaml_mark_t context_mark,
                           const char *problem, yaml_mark_t problem_mark)
{
    c->parser->error = YAML_COMPOSER_ERROR;
    c->parser->context = context;
    c->parser->context_mark = context_mark;
    c->parser->problem = problem;
    c->parser->problem_mark = problem_mark;
    return false;
}

/* Take the event's anchor (NULL: none) for node; a repeated name is libyaml's error. */
static bool anchor_add(Composer *c, yaml_char_t *anchor, int node, yaml_mark_t mark)
{
    if (!anchor)
        return true;
    for (size_t i = 0; i < c->n_anchors; i++)
        if (strcmp(c->anchors[i].name, (const char *)anchor) == 0)
            return composer_error(c, "found duplicate anchor; first occurrence", c->anchors[i].mark,
                                  "second occurrence", mark);
    PF_GROW(c->anchors, c->anchors_cap, c->n_anchors + 1);
    c->anchors[c->n_anchors++] = (Anchor){pf_strdup((const char *)anchor), node, mark};
    return true;
}

static void kid_add(Composer *c, int node)
{
    if (c->n_open == 0)
        return; /* the root: node 1 */
    PF_GROW(c->kids, c->kids_cap, c->n_kids + 1);
    c->kids[c->n_kids++] = node;
}

static void open_push(Composer *c, int node)
{
    if (c->n_open == c->open_cap) {
        c->open_cap = c->open_cap ? 2 * c->open_cap : 16;
        c->open = pf_realloc(c->open, c->open_cap * sizeof *c->open);
        c->open_base = pf_realloc(c->open_base, c->open_cap * sizeof *c->open_base);
    }
    c->open[c->n_open] = node;
    c->open_base[c->n_open] = c->n_kids;
    c->n_open++;
}

/* The innermost open collection is complete: its children move to the arena. */
static void open_pop(Composer *c)
{
    c->n_open--;
    InvNode *n = inv_yaml_node(c->y, c->open[c->n_open]);
    size_t base = c->open_base[c->n_open], count = c->n_kids - base;
    if (n->type == YAML_MAPPING_NODE) {
        size_t pairs = count / 2;
        InvNodePair *p = pairs ? pf_arena_alloc(&c->y->arena, pairs * sizeof *p) : NULL;
        for (size_t i = 0; i < pairs; i++)
            p[i] = (InvNodePair){c->kids[base + 2 * i], c->kids[base + 2 * i + 1]};
        n->data.mapping.pairs.start = p;
        n->data.mapping.pairs.top = p ? p + pairs : NULL; /* no arithmetic on NULL */
    } else {
        InvNodeItem *items = count ? pf_arena_alloc(&c->y->arena, count * sizeof *items) : NULL;
        if (count)
            memcpy(items, c->kids + base, count * sizeof *items);
        n->data.sequence.items.start = items;
        n->data.sequence.items.top = items ? items + count : NULL;
    }
    c->n_kids = base;
}

static bool compose_event(Composer *c, yaml_event_t *e)
{
    int node;
    switch (e->type) {
    case YAML_ALIAS_EVENT:
        for (size_t i = 0; i < c->n_anchors; i++)
            if (strcmp(c->anchors[i].name, (const char *)e->data.alias.anchor) == 0) {
                kid_add(c, c->anchors[i].node);
                return true;
            }
        return composer_error(c, NULL, (yaml_mark_t){0}, "found undefined alias", e->start_mark);
    case YAML_SCALAR_EVENT: {
        node = node_new(c->y, YAML_SCALAR_NODE, e->start_mark);
        InvNode *n = inv_yaml_node(c->y, node);
        size_t len = e->data.scalar.length;
        n->data.scalar.value = pf_arena_memdup(&c->y->arena, e->data.scalar.value, len + 1);
        n->data.scalar.length = len;
        n->data.scalar.style = e->data.scalar.style;
        if (!anchor_add(c, e->data.scalar.anchor, node, e->start_mark))
            return false;
        kid_add(c, node);
        return true;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = e->type == YAML_SEQUENCE_START_EVENT;
        node = node_new(c->y, seq ? YAML_SEQUENCE_NODE : YAML_MAPPING_NODE, e->start_mark);
        yaml_char_t *anchor = seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
        if (!anchor_add(c, anchor, node, e->start_mark))
            return false;
        kid_add(c, node);
        open_push(c, node);
        return true;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        open_pop(c);
        return true;
    default:
        return true;
    }
}

bool inv_yaml_load(yaml_parser_t *parser, InvYaml **out)
{
    InvYaml *y = pf_calloc(1, sizeof *y);
    Composer c = {.parser = parser, .y = y};
    *out = NULL;
    yaml_event_t e;
    bool ok = true, in_document = false, done = parser->stream_end_produced;
    while (ok && !done) {
        if (!yaml_parser_parse(parser, &e)) {
            ok = false;
            break;
        }
        switch (e.type) {
        case YAML_STREAM_START_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            done = true; /* no (more) documents: an empty one, as libyaml gives */
            break;
        case YAML_DOCUMENT_START_EVENT:
            in_document = true;
            break;
        case YAML_DOCUMENT_END_EVENT:
            done = true;
            break;
        default:
            ok = in_document && compose_event(&c, &e);
            break;
        }
        yaml_event_delete(&e);
    }
    for (size_t i = 0; i < c.n_anchors; i++)
        free(c.anchors[i].name);
    free(c.anchors);
    free(c.open);
    free(c.open_base);
    free(c.kids);
    if (!ok) {
        inv_yaml_free(y);
        return false;
    }
    *out = y;
    return true;
}
