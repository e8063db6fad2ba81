/*
 * The inventory's keys, in one table: each key's name, where it may appear, the type of its
 * value, its bounds, what a null value means, and whether it is required. load.c and waves.c
 * check every mapping's keys, every value's shape and every typed scalar through the functions
 * here, so a rule (and the error text that states it) is written once.
 *
 * Also here: what both loaders need to read the document (positions in messages, nodes) and the
 * expansion budget that bounds what aliases and for_each can make of a small file.
 */
#include "inventory/inv_internal.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/strset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AT(place) (1u << (place))
#define SETTING (AT(INV_AT_DEFAULTS) | AT(INV_AT_TARGET))
#define LEDGER (AT(INV_AT_MIGRATIONS) | AT(INV_AT_TARGET_MIGRATIONS))

/* Servers and kernels take these as a signed 32-bit count of milliseconds. */
#define MAX_MS INT32_MAX
/* TCP_USER_TIMEOUT is three keepalive intervals, in an int of milliseconds. */
#define MAX_KEEPALIVE_MS (INT32_MAX / 3)

#define MAX_IDENT_LEN 63 /* PostgreSQL truncates longer identifiers (NAMEDATALEN - 1) */

static const char *const SSLMODES[] = {"disable",   "allow",       "prefer", "require",
                                       "verify-ca", "verify-full", NULL};
static const char *const TRANSACTIONS[] = {"all", "per-migration", NULL}; /* InvTransaction */
static const char *const HOST_KEY_POLICIES[] = {"strict", "accept-new", NULL};
static const char *const BOOLS[] = {"true", "false", NULL};
static const char *const BACKUP_WHEN[] = {"non-empty", "always", "never", NULL}; /* InvBackupWhen */
static const char *const BACKUP_FORMATS[] = {"custom", "directory", NULL}; /* InvBackupFormat */

/* A row's first fields: its name, where it may stand, its type and what the type is called. */
#define KEY(key, at, t, what) .name = (key), .places = (at), .type = (t), .noun = (what)
#define DURATION(key, at, ms) KEY(key, at, INV_T_DURATION, "a duration"), .max = (ms)
#define STRINGS "a string or a sequence of strings"

/* In each place, keys are listed (and suggested) in the order of this table. */
static const InvKey KEYS[] = {
    /* top level */
    {KEY("migrations", AT(INV_AT_TOP), INV_T_MAPPING, "a mapping")},
    {KEY("defaults", AT(INV_AT_TOP), INV_T_MAPPING, "a mapping")},
    {KEY("targets", AT(INV_AT_TOP), INV_T_SEQUENCE, "a sequence"), .required = true},
    {KEY("tunnels", AT(INV_AT_TOP), INV_T_MAPPING, "a mapping")},
    {KEY("waves", AT(INV_AT_TOP), INV_T_SEQUENCE, "a sequence")},
    {KEY("plugins", AT(INV_AT_TOP), INV_T_SEQUENCE, "a sequence")},
    {KEY("max_targets", AT(INV_AT_TOP), INV_T_INTEGER, "a number"), .min = 1,
     .max = INV_MAX_TARGETS_LIMIT, .expected = "a number of targets"},
    {KEY("drift", AT(INV_AT_TOP), INV_T_MAPPING, "a mapping")},
    /* migrations, and a target's ledger */
    {KEY("dir", AT(INV_AT_MIGRATIONS), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY},
    {KEY("table", LEDGER, INV_T_IDENT, "a string"), .max = MAX_IDENT_LEN,
     .on_null = INV_NULL_EMPTY},
    {KEY("schema", LEDGER, INV_T_IDENT, "a string"), .max = MAX_IDENT_LEN,
     .on_null = INV_NULL_EMPTY},
    {KEY("drizzle_config", AT(INV_AT_MIGRATIONS), INV_T_STRING, "a string"),
     .on_null = INV_NULL_EMPTY},
    /* a target */
    {KEY("name", AT(INV_AT_TARGET), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("dsn", AT(INV_AT_TARGET), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("labels", AT(INV_AT_TARGET), INV_T_MAPPING, "a mapping")},
    {KEY("migrations", AT(INV_AT_TARGET), INV_T_MAPPING, "a mapping")},
    {KEY("for_each", AT(INV_AT_TARGET), INV_T_SEQUENCE, "a sequence")},
    {KEY("schema", AT(INV_AT_TARGET), INV_T_IDENT, "a string"), .max = MAX_IDENT_LEN,
     .on_null = INV_NULL_EMPTY},
    {KEY("schema_map", AT(INV_AT_TARGET), INV_T_MAPPING, "a mapping")},
    /* settings: defaults and every target */
    {DURATION("connect_timeout", SETTING, MAX_MS)},
    {DURATION("lock_wait", SETTING, MAX_MS)},
    {DURATION("lock_timeout", SETTING, MAX_MS)},
    {DURATION("statement_timeout", SETTING, MAX_MS)},
    {KEY("sslmode", SETTING, INV_T_CHOICE, "a string"), .choices = SSLMODES,
     .on_null = INV_NULL_UNSETS},
    {KEY("application_name", SETTING, INV_T_STRING, "a string")},
    {KEY("transaction", SETTING, INV_T_CHOICE, "a string"), .choices = TRANSACTIONS},
    {KEY("lock_key", SETTING, INV_T_INTEGER, "an integer"), .min = INT64_MIN, .max = INT64_MAX,
     .expected = "a signed 64-bit integer", .on_null = INV_NULL_UNSETS},
    {KEY("via", SETTING, INV_T_STRING, "a string"), .on_null = INV_NULL_UNSETS},
    {KEY("expect", SETTING, INV_T_MAPPING, "a mapping"), .on_null = INV_NULL_UNSETS},
    {DURATION("preflight_long_xact", SETTING, MAX_MS)},
    {KEY("create_schema", SETTING, INV_T_BOOL, "true or false"), .choices = BOOLS},
    {KEY("max_per_server", SETTING, INV_T_INTEGER, "a number"), .min = 0, .max = 100000,
     .expected = "a number of connections"},
    {KEY("backup", SETTING, INV_T_MAPPING, "a mapping"), .on_null = INV_NULL_UNSETS},
    /* expect */
    {KEY("database", AT(INV_AT_EXPECT), INV_T_STRING, "a string"), .on_null = INV_NULL_UNSETS},
    {KEY("user", AT(INV_AT_EXPECT), INV_T_STRING, "a string"), .on_null = INV_NULL_UNSETS},
    {KEY("system_identifier", AT(INV_AT_EXPECT), INV_T_STRING, "a string"),
     .on_null = INV_NULL_UNSETS},
    /* backup (docs/backups.md) */
    {KEY("dir", AT(INV_AT_BACKUP), INV_T_STRING, "a string"), .on_null = INV_NULL_UNSETS},
    {KEY("when", AT(INV_AT_BACKUP), INV_T_CHOICE, "a string"), .choices = BACKUP_WHEN,
     .on_null = INV_NULL_UNSETS},
    {KEY("format", AT(INV_AT_BACKUP), INV_T_CHOICE, "a string"), .choices = BACKUP_FORMATS,
     .on_null = INV_NULL_UNSETS},
    {KEY("jobs", AT(INV_AT_BACKUP), INV_T_INTEGER, "a number"), .min = 1, .max = 64,
     .expected = "a number of pg_dump jobs", .on_null = INV_NULL_UNSETS},
    {KEY("keep", AT(INV_AT_BACKUP), INV_T_INTEGER, "a number"), .min = 0, .max = 100000,
     .expected = "a number of dumps (0 = all)", .on_null = INV_NULL_UNSETS},
    /* a tunnel */
    {KEY("host", AT(INV_AT_TUNNEL), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("port", AT(INV_AT_TUNNEL), INV_T_INTEGER, "a port number"), .min = 1, .max = 65535,
     .expected = "a number", .on_null = INV_NULL_EMPTY},
    {KEY("user", AT(INV_AT_TUNNEL), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("identity", AT(INV_AT_TUNNEL), INV_T_STRINGS, STRINGS), .item_noun = "a string",
     .on_null = INV_NULL_EMPTY},
    {KEY("passphrase_env", AT(INV_AT_TUNNEL), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY},
    {KEY("agent", AT(INV_AT_TUNNEL), INV_T_BOOL, "true or false"), .choices = BOOLS,
     .on_null = INV_NULL_EMPTY},
    {KEY("known_hosts", AT(INV_AT_TUNNEL), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY},
    {KEY("host_key_policy", AT(INV_AT_TUNNEL), INV_T_CHOICE, "a string"),
     .choices = HOST_KEY_POLICIES, .on_null = INV_NULL_EMPTY},
    {DURATION("keepalive", AT(INV_AT_TUNNEL), MAX_KEEPALIVE_MS), .on_null = INV_NULL_EMPTY},
    {DURATION("connect_timeout", AT(INV_AT_TUNNEL), MAX_MS), .on_null = INV_NULL_EMPTY},
    {KEY("via", AT(INV_AT_TUNNEL), INV_T_STRING, "a string"), .on_null = INV_NULL_UNSETS},
    /* a wave */
    {KEY("name", AT(INV_AT_WAVE), INV_T_STRING, "a string"), .required = true},
    {KEY("select", AT(INV_AT_WAVE), INV_T_STRINGS, STRINGS), .item_noun = STRINGS},
    {KEY("targets", AT(INV_AT_WAVE), INV_T_STRINGS, STRINGS), .item_noun = STRINGS},
    {KEY("parallel", AT(INV_AT_WAVE), INV_T_INTEGER, "a number"), .min = 1, .max = 100000,
     .expected = "a number of targets"},
    {KEY("max_failures", AT(INV_AT_WAVE), INV_T_MAX_FAILURES, "a count or a percentage"),
     .expected = "a count of targets (0, 3) or a percentage of the wave from 0% to 100% (10%, "
                 "2.5%)"},
    {DURATION("pause", AT(INV_AT_WAVE), MAX_MS)},
    {KEY("confirm", AT(INV_AT_WAVE), INV_T_BOOL, "true or false"), .choices = BOOLS},
    {KEY("check", AT(INV_AT_WAVE), INV_T_STRING, "a string")},
    /* drift (docs/drift.md) */
    {KEY("scratch_dsn", AT(INV_AT_DRIFT), INV_T_STRING, "a string"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("schemas", AT(INV_AT_DRIFT), INV_T_STRINGS, STRINGS), .item_noun = "a string",
     .on_null = INV_NULL_EMPTY},
    {KEY("audit", AT(INV_AT_DRIFT), INV_T_BOOL, "true or false"), .choices = BOOLS},
    {KEY("plan", AT(INV_AT_DRIFT), INV_T_BOOL, "true or false"), .choices = BOOLS},
    /* a plugins entry */
    {KEY("path", AT(INV_AT_PLUGIN), INV_T_STRING, "a file path"), .on_null = INV_NULL_EMPTY,
     .required = true},
    {KEY("config", AT(INV_AT_PLUGIN), INV_T_MAPPING, "a mapping")},
};

#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

const InvKey *inv_key(InvPlace at, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if ((KEYS[i].places & AT(at)) && strcmp(KEYS[i].name, name) == 0)
            return &KEYS[i];
    }
    return NULL;
}

/* ---- reading the document ---- */

PfErrCode inv_vfail_at(InvDoc *d, int line, int column, const char *fmt, va_list ap)
{
    char what[sizeof d->err->msg];
    vsnprintf(what, sizeof what, fmt, ap);
    if (d->item)
        return pf_err_set(d->err, PF_ERR_INPUT, "%s:%d:%d: %s (for_each item at line %d)", d->path,
                          line, column, what, (int)d->item->start_mark.line + 1);
    return pf_err_set(d->err, PF_ERR_INPUT, "%s:%d:%d: %s", d->path, line, column, what);
}

PfErrCode inv_fail_at(InvDoc *d, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    inv_vfail_at(d, line, column, fmt, ap);
    va_end(ap);
    return PF_ERR_INPUT;
}

PfErrCode inv_fail(InvDoc *d, const InvNode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    inv_vfail_at(d, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return PF_ERR_INPUT;
}

InvNode *inv_node(const InvDoc *d, int index)
{
    return inv_yaml_node(d->doc, index);
}

const char *inv_text(const InvNode *n)
{
    return (const char *)n->data.scalar.value;
}

const char *inv_kind(const InvNode *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

bool inv_is_null(const InvNode *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = inv_text(n);
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

InvNode *inv_map_get(const InvDoc *d, const InvNode *map, const char *key)
{
    for (InvNodePair *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const InvNode *k = inv_node(d, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(inv_text(k), key) == 0)
            return inv_node(d, p->value);
    }
    return NULL;
}

PfErrCode inv_charge(InvDoc *d, const InvNode *n, size_t len)
{
    size_t cost = len + INV_VALUE_OVERHEAD;
    if (d->spent <= d->budget && cost <= d->budget - d->spent) {
        d->spent += cost;
        return PF_OK;
    }
    bool mib = d->budget >= (size_t)1 << 20;
    return inv_fail(d, d->entry ? d->entry : n,
                    "the inventory expands to more than %zu %s of keys and values (aliases and "
                    "for_each repeat what they name); hint: if the fleet is this large, raise "
                    "max_targets at top level (each target allows %d KiB)",
                    d->budget >> (mib ? 20 : 10), mib ? "MiB" : "KiB", INV_BYTES_PER_TARGET >> 10);
}

/* ---- keys ---- */

/* Levenshtein distance, capped: used only to suggest a key for a typo. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t prev[41], cur[41];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

static PfErrCode unknown_key(InvDoc *d, const InvNode *key, InvPlace at, const char *where)
{
    if (strcmp(inv_text(key), "<<") == 0)
        return inv_fail(d, key, "merge keys ('<<') are not supported; use defaults or anchors");
    PfBuf expected = PF_BUF_INIT;
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!(KEYS[i].places & AT(at)))
            continue;
        pf_buf_printf(&expected, "%s%s", expected.len ? ", " : "", KEYS[i].name);
        size_t dist = edit_distance(inv_text(key), KEYS[i].name);
        if (dist < best_d) {
            best_d = dist;
            best = KEYS[i].name;
        }
    }
    if (best)
        inv_fail(d, key, "unknown key '%s' %s; expected one of: %s; hint: did you mean '%s'?",
                 inv_text(key), where, expected.data, best);
    else
        inv_fail(d, key, "unknown key '%s' %s; expected one of: %s", inv_text(key), where,
                 expected.data);
    pf_buf_free(&expected);
    return PF_ERR_INPUT;
}

/* Mappings this small are checked for repeats pairwise; larger ones with a set. */
#define PAIRWISE_MAX 8

PfErrCode inv_keys_check(InvDoc *d, const InvNode *map, InvPlace at, const char *where)
{
    InvNodePair *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
    bool hashed = top - start > PAIRWISE_MAX;
    PfStrSet seen = {0};
    PfErrCode rc = PF_OK;
    for (InvNodePair *p = start; rc == PF_OK && p < top; p++) {
        InvNode *key = inv_node(d, p->key);
        if (key->type != YAML_SCALAR_NODE) {
            rc = inv_fail(d, key, "keys must be strings, not %s", inv_kind(key));
            break;
        }
        const char *k = inv_text(key);
        if (strlen(k) != key->data.scalar.length) {
            rc = inv_fail(d, key, "keys must not contain NUL characters");
            break;
        }
        if ((rc = inv_charge(d, key, key->data.scalar.length)) != PF_OK)
            break;
        if (at != INV_AT_ANY && !inv_key(at, k)) {
            rc = unknown_key(d, key, at, where);
            break;
        }
        size_t first = 0;
        bool repeat = false;
        if (hashed) {
            repeat = !pf_strset_add(&seen, k, key->start_mark.line, &first);
        } else {
            for (InvNodePair *q = start; q < p && !repeat; q++) {
                const InvNode *prev = inv_node(d, q->key);
                repeat = strcmp(inv_text(prev), k) == 0;
                first = prev->start_mark.line;
            }
        }
        if (repeat)
            rc = inv_fail(d, key, "duplicate key '%s' (first at line %d)", k, (int)first + 1);
    }
    pf_strset_free(&seen);
    return rc;
}

PfErrCode inv_keys_required(InvDoc *d, const InvNode *map, InvPlace at, const char *where)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const InvKey *k = &KEYS[i];
        if (k->required && (k->places & AT(at)) && !inv_map_get(d, map, k->name))
            return inv_fail(d, map, "missing key '%s' %s", k->name, where);
    }
    return PF_OK;
}

/* ---- values ---- */

static PfErrCode want_scalar(InvDoc *d, const InvKey *k, const InvNode *n, const char *noun)
{
    if (n->type != YAML_SCALAR_NODE)
        return inv_fail(d, n, "%s must be %s, not %s", k->name, noun, inv_kind(n));
    if (strlen(inv_text(n)) != n->data.scalar.length)
        return inv_fail(d, n, "%s must not contain NUL characters", k->name);
    return PF_OK;
}

PfErrCode inv_value_check(InvDoc *d, const InvKey *k, const InvNode *val)
{
    switch (k->type) {
    case INV_T_MAPPING:
    case INV_T_SEQUENCE:
        if (val->type == (k->type == INV_T_MAPPING ? YAML_MAPPING_NODE : YAML_SEQUENCE_NODE) ||
            inv_is_null(val))
            return PF_OK;
        return inv_fail(d, val, "%s must be %s, not %s", k->name, k->noun, inv_kind(val));
    case INV_T_STRINGS:
        if (val->type != YAML_SEQUENCE_NODE)
            return want_scalar(d, k, val, k->noun);
        if (val->data.sequence.items.top == val->data.sequence.items.start)
            return inv_fail(d, val, "%s must not be empty", k->name);
        for (InvNodeItem *i = val->data.sequence.items.start; i < val->data.sequence.items.top;
             i++) {
            if (want_scalar(d, k, inv_node(d, *i), k->item_noun) != PF_OK)
                return PF_ERR_INPUT;
        }
        return PF_OK;
    default:
        return want_scalar(d, k, val, k->noun);
    }
}

PfErrCode inv_value_null(InvDoc *d, const InvKey *k, const InvNode *val, bool *null)
{
    *null = inv_is_null(val);
    if (!*null || k->on_null == INV_NULL_UNSETS)
        return PF_OK;
    if (k->on_null == INV_NULL_EMPTY)
        return inv_fail(d, val, "%s must not be empty", k->name);
    return inv_fail(d, val, "missing value for %s", k->name);
}

/* Digits, an optional fraction, an optional unit: what the format promises for durations. */
static bool duration_syntax_ok(const char *s)
{
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return !*p || strcmp(p, "ms") == 0 || strcmp(p, "s") == 0 || strcmp(p, "m") == 0 ||
           strcmp(p, "min") == 0 || strcmp(p, "h") == 0;
}

static PfErrCode parse_duration(InvDoc *d, const InvKey *k, const InvNode *val, const char *v,
                                int64_t *ms)
{
    if (!duration_syntax_ok(v))
        return inv_fail(d, val,
                        "bad duration '%s' for %s; expected e.g. 30s, 500ms, 2m, 1h or a number "
                        "of seconds (0 = none)",
                        v, k->name);
    char *unit;
    double x = strtod(v, &unit);
    double scale = !*unit || strcmp(unit, "s") == 0                     ? 1000
                   : strcmp(unit, "ms") == 0                            ? 1
                   : strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0 ? 60000
                                                                        : 3600000;
    double r = x * scale + 0.5; /* to the nearest millisecond */
    if (r >= (double)k->max + 1)
        return inv_fail(d, val,
                        "bad duration '%s' for %s; expected at most %lldms (about %.1f days)", v,
                        k->name, (long long)k->max, (double)k->max / 86400000.0);
    *ms = (int64_t)r;
    return PF_OK;
}

/* Decimal digits, with a sign only when the key allows negative values. */
static PfErrCode parse_integer(InvDoc *d, const InvKey *k, const InvNode *val, const char *v,
                               int64_t *out)
{
    bool ok = (*v >= '0' && *v <= '9') || (k->min < 0 && (*v == '-' || *v == '+'));
    char *end = NULL;
    errno = 0;
    long long x = ok ? strtoll(v, &end, 10) : 0;
    ok = ok && !errno && end != v && !*end && x >= k->min && x <= k->max;
    if (ok) {
        *out = (int64_t)x;
        return PF_OK;
    }
    if (k->min == INT64_MIN && k->max == INT64_MAX)
        return inv_fail(d, val, "bad %s '%s'; expected %s", k->name, v, k->expected);
    return inv_fail(d, val, "bad %s '%s'; expected %s from %lld to %lld", k->name, v, k->expected,
                    (long long)k->min, (long long)k->max);
}

static PfErrCode parse_choice(InvDoc *d, const InvKey *k, const InvNode *val, const char *v,
                              int64_t *index)
{
    size_t n = 0;
    for (; k->choices[n]; n++) {
        if (strcmp(k->choices[n], v) == 0) {
            *index = (int64_t)n;
            return PF_OK;
        }
    }
    PfBuf expected = PF_BUF_INIT;
    if (n == 2) {
        pf_buf_printf(&expected, "%s or %s", k->choices[0], k->choices[1]);
    } else {
        pf_buf_puts(&expected, "one of: ");
        for (size_t i = 0; i < n; i++)
            pf_buf_printf(&expected, "%s%s", i ? ", " : "", k->choices[i]);
    }
    inv_fail(d, val, "bad %s '%s'; expected %s", k->name, v, expected.data);
    pf_buf_free(&expected);
    return PF_ERR_INPUT;
}

PfErrCode inv_value_parse(InvDoc *d, const InvKey *k, const InvNode *val, const char *v,
                          InvValue *out)
{
    *out = (InvValue){0};
    switch (k->type) {
    case INV_T_DURATION:
        return parse_duration(d, k, val, v, &out->n);
    case INV_T_INTEGER:
        return parse_integer(d, k, val, v, &out->n);
    case INV_T_CHOICE:
        return parse_choice(d, k, val, v, &out->n);
    case INV_T_BOOL:
        if (parse_choice(d, k, val, v, &out->n) != PF_OK)
            return PF_ERR_INPUT;
        out->n = out->n == 0; /* BOOLS: true, false */
        return PF_OK;
    case INV_T_MAX_FAILURES:
        if (inv_parse_max_failures(v, &out->n, &out->pct))
            return PF_OK;
        return inv_fail(d, val, "bad %s '%s'; expected %s", k->name, v, k->expected);
    case INV_T_IDENT:
        if (strlen(v) <= (size_t)k->max)
            return PF_OK;
        return inv_fail(d, val, "%s '%s' is longer than %lld bytes; postgres would truncate it",
                        k->name, v, (long long)k->max);
    default:
        return PF_OK;
    }
}
