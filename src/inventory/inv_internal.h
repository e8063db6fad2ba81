/*
 * Internals shared by the inventory's .c files (load.c, keys.c, expand.c, select.c, mask.c,
 * waves.c).
 * Nothing outside src/inventory/ includes this.
 */
#ifndef PF_INVENTORY_INTERNAL_H
#define PF_INVENTORY_INTERNAL_H

#include "inventory/inventory.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* inv_expand with the for_each context made explicit: in_for_each false makes every
 * ${each...} an error ("not available here"), in_for_each true with n_each 0 means the
 * for_each item is an empty mapping. Returns a new string (caller frees) or NULL with err set
 * (PF_ERR_INPUT, message without position). getenv() is called: not thread-safe against
 * concurrent setenv(). */
char *inv_expand_each(const char *s, const InvLabel *each, size_t n_each, bool in_for_each,
                      PfErr *err);

/* Free what inv_keep, inv_intern and inv_target_settle kept (strings.c). */
void inv_strings_free(Inventory *inv);

/* ---- the document (doc.c) ---- */

/* A node of the document, read as libyaml's InvNode is (the fields the loader uses), in
 * 40 bytes. Node numbers start at 1; a mapping's pairs and a sequence's items are numbers. */
typedef struct InvNodePair {
    int key, value;
} InvNodePair;
typedef int InvNodeItem;
typedef struct InvMark {
    uint32_t line, column; /* 0-based */
} InvMark;
typedef struct InvNode {
    yaml_node_type_t type;
    InvMark start_mark;
    union {
        struct {
            yaml_char_t *value; /* NUL-terminated; may hold NULs before length */
            size_t length;
            yaml_scalar_style_t style;
        } scalar;
        struct {
            struct {
                InvNodePair *start, *top;
            } pairs;
        } mapping;
        struct {
            struct {
                InvNodeItem *start, *top;
            } items;
        } sequence;
    } data;
} InvNode;

typedef struct InvYaml InvYaml;

/* Compose the parser's next document (as yaml_parser_load does: after the last one, an empty
 * one). False on a YAML error, in the parser's error fields as libyaml sets them (composer
 * errors included); *out is then NULL. Free with inv_yaml_free. */
bool inv_yaml_load(yaml_parser_t *parser, InvYaml **out);
void inv_yaml_free(InvYaml *y);
/* Node number index, or NULL outside 1..count; the root is node 1 (NULL: an empty document). */
InvNode *inv_yaml_node(const InvYaml *y, int index);
InvNode *inv_yaml_root(const InvYaml *y);

/* ---- reading the document (keys.c) ---- */

/* The most targets an inventory may expand to unless its max_targets says otherwise, and the
 * most max_targets may say. */
#define INV_MAX_TARGETS_DEFAULT 100000
#define INV_MAX_TARGETS_LIMIT 10000000
/* The expansion budget: what aliases and for_each may make of a small file. Each key checked
 * and each value expanded costs its length plus INV_VALUE_OVERHEAD (what keeping it costs
 * besides its text), counted again each time an alias or a for_each item repeats it; the
 * budget is INV_BYTES_PER_TARGET per target that max_targets allows. */
#define INV_BYTES_PER_TARGET 4096
#define INV_VALUE_OVERHEAD 32

/* The document being loaded, and where its problems go. */
typedef struct InvDoc {
    const char *path;
    InvYaml *doc;
    PfErr *err;
    const InvNode *item;  /* while a for_each item is built: named in every message */
    size_t spent, budget; /* the expansion budget, in bytes */
    /* What is being loaded (a target entry, a wave): where a spent budget is reported, rather
     * than at a node an alias reached. NULL: at the node. */
    const InvNode *entry;
} InvDoc;

/* Set d->err to PF_ERR_INPUT "PATH:LINE:COL: what" (plus " (for_each item at line N)" while
 * an item is built) and return PF_ERR_INPUT. inv_fail takes the position of node n. */
PfErrCode inv_fail(InvDoc *d, const InvNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
PfErrCode inv_fail_at(InvDoc *d, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
PfErrCode inv_vfail_at(InvDoc *d, int line, int column, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

InvNode *inv_node(const InvDoc *d, int index);
const char *inv_text(const InvNode *n); /* a scalar's text */
const char *inv_kind(const InvNode *n); /* "a scalar", "a sequence", "a mapping" */
bool inv_is_null(const InvNode *n);     /* an empty plain scalar, "~" or "null" */
/* The value for key in a mapping, or NULL. */
InvNode *inv_map_get(const InvDoc *d, const InvNode *map, const char *key);

/* Spend len + INV_VALUE_OVERHEAD bytes of the expansion budget on node n; past the budget, an
 * error at d->entry (or n). */
PfErrCode inv_charge(InvDoc *d, const InvNode *n, size_t len);

/* ---- the keys (keys.c): one table of name, place, type and bounds ---- */

/* Where a key stands. INV_AT_ANY: a mapping whose keys are free (labels, for_each items, the
 * tunnels by name, a plugin's config). */
typedef enum {
    INV_AT_TOP,
    INV_AT_MIGRATIONS,
    INV_AT_TARGET_MIGRATIONS,
    INV_AT_DEFAULTS,
    INV_AT_TARGET,
    INV_AT_EXPECT,
    INV_AT_BACKUP,
    INV_AT_TUNNEL,
    INV_AT_WAVE,
    INV_AT_PLUGIN,
    INV_AT_DRIFT,
    INV_AT_ANY,
} InvPlace;

typedef enum {
    INV_T_STRING,
    INV_T_STRINGS, /* a string or a sequence of them */
    INV_T_MAPPING, /* or null: empty */
    INV_T_SEQUENCE,
    INV_T_DURATION,     /* in ms, from 0 to max */
    INV_T_INTEGER,      /* from min to max; a sign only when min is negative */
    INV_T_CHOICE,       /* one of choices: its index */
    INV_T_BOOL,         /* true or false */
    INV_T_MAX_FAILURES, /* inv_parse_max_failures */
    INV_T_IDENT,        /* a PostgreSQL identifier: at most max bytes */
} InvType;

/* What a null value (nothing, "~", "null") means. */
typedef enum {
    INV_NULL_MISSING, /* an error: "missing value for KEY" */
    INV_NULL_EMPTY,   /* an error: "KEY must not be empty" */
    INV_NULL_UNSETS,  /* unset: back to the default (or to none) */
} InvNull;

typedef struct InvKey {
    const char *name;
    unsigned places; /* bits: 1u << InvPlace */
    InvType type;
    const char *noun; /* "KEY must be NOUN, not a mapping" */
    int64_t min, max;
    const char *expected;       /* INTEGER, MAX_FAILURES: "bad KEY 'x'; expected EXPECTED" */
    const char *const *choices; /* CHOICE, BOOL: NULL-terminated */
    const char *item_noun;      /* STRINGS: what each item of the sequence must be */
    InvNull on_null;
    bool required;
} InvKey;

/* A typed scalar: a duration in ms, an integer, a choice's index, a bool (0 or 1), or a
 * max_failures value (with pct). */
typedef struct InvValue {
    int64_t n;
    bool pct;
} InvValue;

/* The row for key name at place at, or NULL when the key may not stand there. */
const InvKey *inv_key(InvPlace at, const char *name);

/* Check a mapping's keys: strings without NUL, each given once, each allowed at place at
 * (unless INV_AT_ANY; where, e.g. "in target", ends the message). Charges the budget. */
PfErrCode inv_keys_check(InvDoc *d, const InvNode *map, InvPlace at, const char *where);
/* "missing key 'KEY' WHERE" for the first required key of place at that map lacks. */
PfErrCode inv_keys_required(InvDoc *d, const InvNode *map, InvPlace at, const char *where);
/* Check that val has key k's shape: a scalar without NUL, a mapping or a sequence (or null), a
 * string or a non-empty sequence of them. */
PfErrCode inv_value_check(InvDoc *d, const InvKey *k, const InvNode *val);
/* Set *null when val is null; an error when k does not allow that (k->on_null). */
PfErrCode inv_value_null(InvDoc *d, const InvKey *k, const InvNode *val, bool *null);
/* Parse v, the expanded text of scalar val, as k's type says, within its bounds. */
PfErrCode inv_value_parse(InvDoc *d, const InvKey *k, const InvNode *val, const char *v,
                          InvValue *out);

/* Load the top-level `waves` node (waves.c), once every target is loaded: check each wave,
 * expand its scalars, give every target to the first wave selecting it. Errors are
 * PF_ERR_INPUT "PATH:LINE:COL: ...", among them a target that no wave selects. On error
 * inv->waves may hold what was loaded so far; inv_waves_free frees it. */
PfErrCode inv_waves_load(InvDoc *d, const InvNode *waves, Inventory *inv);
void inv_waves_free(Inventory *inv);

#endif
