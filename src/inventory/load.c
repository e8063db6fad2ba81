/*
 * Loading the inventory: the file is parsed into a libyaml document (so every node keeps its
 * line and column), checked against the format, and turned into targets. Each target entry is
 * first checked for shape (keys, types), then built once per for_each item (or once), with
 * every scalar expanded (expand.c). Names are checked for duplicates at the end. The first
 * problem found, in file order, is reported as "FILE:LINE:COL: what" and nothing is returned.
 */
#include "inventory/inv_internal.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_IDENT_LEN 63 /* PostgreSQL truncates longer identifiers (NAMEDATALEN - 1) */

#define PREFLIGHT_LONG_XACT_MS 60000 /* default preflight_long_xact (docs/inventory.md) */

static const char *const TOP_KEYS[] = {"migrations", "defaults", "targets", "tunnels",
                                       "waves",      "plugins",  NULL};
static const char *const PLUGIN_KEYS[] = {"path", "config", NULL};
static const char *const MIGRATIONS_KEYS[] = {"dir", "table", "schema", NULL};
static const char *const TARGET_MIGRATIONS_KEYS[] = {"table", "schema", NULL};
/* The settings keys, allowed in defaults and on every target (listed once, used twice). */
#define SETTING_KEY_NAMES                                                                          \
    "connect_timeout", "lock_wait", "lock_timeout", "statement_timeout", "sslmode",                \
        "application_name", "transaction", "lock_key", "via", "expect", "preflight_long_xact"
static const char *const SETTING_KEYS[] = {SETTING_KEY_NAMES, NULL};
static const char *const TARGET_KEYS[] = {
    "name", "dsn", "labels", "migrations", "for_each", SETTING_KEY_NAMES, NULL};
static const char *const EXPECT_KEYS[] = {"database", "user", "system_identifier", NULL};
static const char *const TUNNEL_KEYS[] = {"host",
                                          "port",
                                          "user",
                                          "identity",
                                          "passphrase_env",
                                          "agent",
                                          "known_hosts",
                                          "host_key_policy",
                                          "keepalive",
                                          "connect_timeout",
                                          "via",
                                          NULL};
static const char *const SSLMODES[] = {"disable",   "allow",       "prefer", "require",
                                       "verify-ca", "verify-full", NULL};

/* Where a target's name stands, and which entry it came from: for the duplicate check. */
typedef struct NameMark {
    int line, column; /* 1-based */
    size_t entry;
} NameMark;

typedef struct Loader {
    const char *path;
    yaml_document_t *doc;
    PfErr *err;
    Inventory *inv;
    size_t targets_cap;
    NameMark *marks;
    size_t marks_cap;
    InvSettings defaults;
    char *default_via; /* defaults' via, or NULL */
    char *schema;
    char *table;
    /* While a for_each item is being built: its node, named in every error message. */
    const yaml_node_t *item;
    /* Its bindings for ${each...}, and whether the entry has a for_each at all. */
    InvLabel *each;
    size_t n_each;
    bool in_for_each;
    InvDiscoverFn discover; /* plugins' discovery, or NULL */
    void *discover_ctx;
} Loader;

/* What a discovery callback adds targets through: the loader, with the plugin it runs for. */
struct InvDiscovery {
    Loader *L;
};

static PfErrCode fail_at(Loader *L, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static PfErrCode fail(Loader *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static PfErrCode vfail_at(Loader *L, int line, int column, const char *fmt, va_list ap)
{
    char what[sizeof L->err->msg];
    vsnprintf(what, sizeof what, fmt, ap);
    if (L->item)
        return pf_err_set(L->err, PF_ERR_INPUT, "%s:%d:%d: %s (for_each item at line %d)", L->path,
                          line, column, what, (int)L->item->start_mark.line + 1);
    return pf_err_set(L->err, PF_ERR_INPUT, "%s:%d:%d: %s", L->path, line, column, what);
}

static PfErrCode fail_at(Loader *L, int line, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(L, line, column, fmt, ap);
    va_end(ap);
    return PF_ERR_INPUT;
}

static PfErrCode fail(Loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail_at(L, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1, fmt, ap);
    va_end(ap);
    return PF_ERR_INPUT;
}

static yaml_node_t *node(Loader *L, int index)
{
    return yaml_document_get_node(L->doc, index);
}

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static const char *kind(const yaml_node_t *n)
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

/* A YAML null: an empty plain scalar, "~" or "null". */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = text(n);
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++) {
        if (strcmp(*list, s) == 0)
            return true;
    }
    return false;
}

static void join_list(char *out, size_t size, const char *const *list)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *const *k = list; *k && used < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", k == list ? "" : ", ", *k);
}

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

static PfErrCode unknown_key(Loader *L, const yaml_node_t *key, const char *where,
                             const char *const *allowed)
{
    if (strcmp(text(key), "<<") == 0)
        return fail(L, key, "merge keys ('<<') are not supported; use defaults or anchors");
    char expected[512];
    join_list(expected, sizeof expected, allowed);
    const char *best = NULL;
    size_t best_d = 3;
    for (const char *const *k = allowed; *k; k++) {
        size_t d = edit_distance(text(key), *k);
        if (d < best_d) {
            best_d = d;
            best = *k;
        }
    }
    if (best)
        return fail(L, key, "unknown key '%s' %s; expected one of: %s; hint: did you mean '%s'?",
                    text(key), where, expected, best);
    return fail(L, key, "unknown key '%s' %s; expected one of: %s", text(key), where, expected);
}

/* Check a mapping's keys: scalars, no duplicates, and (when allowed is not NULL) known. */
static PfErrCode check_keys(Loader *L, const yaml_node_t *map, const char *const *allowed,
                            const char *where)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = node(L, p->key);
        if (key->type != YAML_SCALAR_NODE)
            return fail(L, key, "keys must be strings, not %s", kind(key));
        if (strlen(text(key)) != key->data.scalar.length)
            return fail(L, key, "keys must not contain NUL characters");
        if (allowed && !in_list(allowed, text(key)))
            return unknown_key(L, key, where, allowed);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = node(L, q->key);
            if (prev->type == YAML_SCALAR_NODE && strcmp(text(prev), text(key)) == 0)
                return fail(L, key, "duplicate key '%s' (first at line %d)", text(key),
                            (int)prev->start_mark.line + 1);
        }
    }
    return PF_OK;
}

/* The value for key in a mapping whose keys were checked, or NULL. */
static yaml_node_t *map_get(Loader *L, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        if (strcmp(text(node(L, p->key)), key) == 0)
            return node(L, p->value);
    }
    return NULL;
}

/* Accept a mapping (true), or a null standing for an empty one (false); else an error. */
static PfErrCode want_mapping(Loader *L, const yaml_node_t *n, const char *what, bool *present)
{
    *present = n->type == YAML_MAPPING_NODE;
    if (*present || is_null(n))
        return PF_OK;
    return fail(L, n, "%s must be a mapping, not %s", what, kind(n));
}

static PfErrCode want_sequence(Loader *L, const yaml_node_t *n, const char *what, bool *present)
{
    *present = n->type == YAML_SEQUENCE_NODE;
    if (*present || is_null(n))
        return PF_OK;
    return fail(L, n, "%s must be a sequence, not %s", what, kind(n));
}

static PfErrCode want_scalar(Loader *L, const yaml_node_t *n, const char *what, const char *noun)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(L, n, "%s must be %s, not %s", what, noun, kind(n));
    if (strlen(text(n)) != n->data.scalar.length)
        return fail(L, n, "%s must not contain NUL characters", what);
    return PF_OK;
}

static const char *setting_noun(const char *key)
{
    if (strcmp(key, "expect") == 0)
        return "a mapping";
    if (strcmp(key, "preflight_long_xact") == 0)
        return "a duration";
    if (strcmp(key, "lock_key") == 0)
        return "an integer";
    if (strstr(key, "timeout") || strcmp(key, "lock_wait") == 0)
        return "a duration";
    return "a string";
}

/* Expand a scalar node with the current for_each bindings; *out is caller-owned. */
static PfErrCode expand(Loader *L, const yaml_node_t *n, char **out)
{
    PfErr e;
    *out = inv_expand_each(text(n), L->each, L->n_each, L->in_for_each, &e);
    return *out ? PF_OK : fail(L, n, "%s", e.msg);
}

/* A required non-empty string. */
static PfErrCode expand_nonempty(Loader *L, const yaml_node_t *n, const char *what, char **out)
{
    if (is_null(n))
        return fail(L, n, "%s must not be empty", what);
    if (expand(L, n, out) != PF_OK)
        return PF_ERR_INPUT;
    if (!**out) {
        free(*out);
        *out = NULL;
        return fail(L, n, "%s must not be empty%s", what,
                    strchr(text(n), '$') ? " (after expansion)" : "");
    }
    return PF_OK;
}

/* A ledger schema or table name. */
static PfErrCode expand_ident(Loader *L, const yaml_node_t *n, const char *what, char **slot)
{
    char *s;
    if (expand_nonempty(L, n, what, &s) != PF_OK)
        return PF_ERR_INPUT;
    if (strlen(s) > MAX_IDENT_LEN) {
        fail(L, n, "%s '%s' is longer than %d bytes; postgres would truncate it", what, s,
             MAX_IDENT_LEN);
        free(s);
        return PF_ERR_INPUT;
    }
    free(*slot);
    *slot = s;
    return PF_OK;
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

static bool parse_int64(const char *s, int64_t *v)
{
    if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *v = (int64_t)x;
    return true;
}

static void settings_free(InvSettings *s)
{
    free(s->sslmode);
    free(s->application_name);
    s->sslmode = s->application_name = NULL;
    free(s->expect.database);
    free(s->expect.user);
    free(s->expect.system_identifier);
    memset(&s->expect, 0, sizeof s->expect);
}

static void settings_copy(InvSettings *dst, const InvSettings *src)
{
    *dst = *src;
    dst->sslmode = pf_strdup(src->sslmode);
    dst->application_name = pf_strdup(src->application_name);
    dst->expect.database = pf_strdup(src->expect.database);
    dst->expect.user = pf_strdup(src->expect.user);
    dst->expect.system_identifier = pf_strdup(src->expect.system_identifier);
}

/* expect: {database, user, system_identifier}: a mapping of strings, or null. */
static PfErrCode check_expect(Loader *L, const yaml_node_t *val)
{
    bool present;
    if (want_mapping(L, val, "expect", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (check_keys(L, val, EXPECT_KEYS, "in expect") != PF_OK)
        return PF_ERR_INPUT;
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top;
         p++) {
        if (want_scalar(L, node(L, p->value), text(node(L, p->key)), "a string") != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

/* Merge an expect mapping into e, key by key: a key with no value unsets it, and
 * `expect: null` unsets them all. */
static PfErrCode load_expect(Loader *L, const yaml_node_t *val, InvExpect *e)
{
    if (check_expect(L, val) != PF_OK)
        return PF_ERR_INPUT;
    if (val->type != YAML_MAPPING_NODE) {
        free(e->database);
        free(e->user);
        free(e->system_identifier);
        memset(e, 0, sizeof *e);
        return PF_OK;
    }
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top;
         p++) {
        const char *key = text(node(L, p->key));
        yaml_node_t *v = node(L, p->value);
        char **slot = strcmp(key, "database") == 0 ? &e->database
                      : strcmp(key, "user") == 0   ? &e->user
                                                   : &e->system_identifier;
        char *x = NULL;
        if (!is_null(v) && expand_nonempty(L, v, key, &x) != PF_OK)
            return PF_ERR_INPUT;
        if (x && slot == &e->system_identifier &&
            (strlen(x) > 20 || strspn(x, "0123456789") != strlen(x))) {
            fail(L, v,
                 "bad system_identifier '%s'; expected the decimal number that SELECT "
                 "system_identifier FROM pg_control_system() (or pg_controldata) shows",
                 x);
            free(x);
            return PF_ERR_INPUT;
        }
        free(*slot);
        *slot = x;
    }
    return PF_OK;
}

/* The value v of key (node val) as a duration in ms, or an error at val's position. */
static PfErrCode parse_duration(Loader *L, const yaml_node_t *val, const char *key, const char *v,
                                int64_t *ms)
{
    if (duration_syntax_ok(v) && pf_parse_duration_ms(v, ms))
        return PF_OK;
    return fail(L, val,
                "bad duration '%s' for %s; expected e.g. 30s, 500ms, 2m, 1h or a number of "
                "seconds (0 = none)",
                v, key);
}

/* Apply one settings key (already known valid) from a defaults or target mapping. */
static PfErrCode apply_setting(Loader *L, const char *key, const yaml_node_t *val, InvSettings *s)
{
    if (strcmp(key, "expect") == 0)
        return load_expect(L, val, &s->expect);
    if (want_scalar(L, val, key, setting_noun(key)) != PF_OK)
        return PF_ERR_INPUT;
    bool unsettable = strcmp(key, "sslmode") == 0 || strcmp(key, "lock_key") == 0;
    if (is_null(val)) {
        if (!unsettable)
            return fail(L, val, "missing value for %s", key);
        if (strcmp(key, "sslmode") == 0) {
            free(s->sslmode);
            s->sslmode = NULL;
        } else {
            s->lock_key_set = false;
            s->lock_key = 0;
        }
        return PF_OK;
    }
    char *v;
    if (expand(L, val, &v) != PF_OK)
        return PF_ERR_INPUT;
    PfErrCode rc = PF_OK;
    int64_t ms;
    if (strcmp(key, "sslmode") == 0) {
        if (in_list(SSLMODES, v)) {
            free(s->sslmode);
            s->sslmode = v;
            v = NULL;
        } else {
            char expected[128];
            join_list(expected, sizeof expected, SSLMODES);
            rc = fail(L, val, "bad sslmode '%s'; expected one of: %s", v, expected);
        }
    } else if (strcmp(key, "application_name") == 0) {
        free(s->application_name);
        s->application_name = v;
        v = NULL;
    } else if (strcmp(key, "transaction") == 0) {
        if (strcmp(v, "all") == 0)
            s->transaction = INV_TX_ALL;
        else if (strcmp(v, "per-migration") == 0)
            s->transaction = INV_TX_PER_MIGRATION;
        else
            rc = fail(L, val, "bad transaction '%s'; expected all or per-migration", v);
    } else if (strcmp(key, "lock_key") == 0) {
        if (parse_int64(v, &s->lock_key))
            s->lock_key_set = true;
        else
            rc = fail(L, val, "bad lock_key '%s'; expected a signed 64-bit integer", v);
    } else if ((rc = parse_duration(L, val, key, v, &ms)) == PF_OK) {
        if (strcmp(key, "connect_timeout") == 0)
            s->connect_timeout_ms = ms;
        else if (strcmp(key, "lock_wait") == 0)
            s->lock_wait_ms = ms;
        else if (strcmp(key, "lock_timeout") == 0)
            s->lock_timeout_ms = ms;
        else if (strcmp(key, "preflight_long_xact") == 0)
            s->preflight_long_xact_ms = ms;
        else
            s->statement_timeout_ms = ms;
    }
    free(v);
    return rc;
}

/* ---- tunnels ---- */

static bool tunnel_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    }
    return true;
}

static bool env_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    }
    return true;
}

/* "~" and "~/x" are $HOME; a relative path is relative to the inventory file's directory. */
static char *tunnel_path(Loader *L, const char *p)
{
    if (p[0] == '~' && (p[1] == '/' || !p[1])) {
        const char *home = getenv("HOME");
        return pf_asprintf("%s%s", home && *home ? home : "/", p + 1);
    }
    if (p[0] == '/')
        return pf_strdup(p);
    char *base = pf_dirname(L->path);
    char *out = pf_path_join(base, p);
    free(base);
    return out;
}

static void tunnel_free(InvTunnel *t)
{
    free(t->name);
    free(t->host);
    free(t->user);
    for (size_t i = 0; i < t->n_identity; i++)
        free(t->identity[i]);
    free(t->identity);
    free(t->passphrase_env);
    free(t->known_hosts);
    free(t->via);
}

const InvTunnel *inv_tunnel(const Inventory *inv, const char *name)
{
    for (size_t i = 0; name && i < inv->n_tunnels; i++) {
        if (strcmp(inv->tunnels[i].name, name) == 0)
            return &inv->tunnels[i];
    }
    return NULL;
}

/* A via value: null (direct) or the name of a defined tunnel. */
static PfErrCode load_via(Loader *L, const yaml_node_t *val, char **slot)
{
    if (want_scalar(L, val, "via", "a string") != PF_OK)
        return PF_ERR_INPUT;
    if (is_null(val)) {
        free(*slot);
        *slot = NULL;
        return PF_OK;
    }
    char *v;
    if (expand_nonempty(L, val, "via", &v) != PF_OK)
        return PF_ERR_INPUT;
    if (!inv_tunnel(L->inv, v)) {
        PfErrCode rc;
        if (L->inv->n_tunnels == 0) {
            rc = fail(L, val, "unknown tunnel '%s' in via: the inventory defines no tunnels", v);
        } else {
            PfBuf names = PF_BUF_INIT;
            for (size_t i = 0; i < L->inv->n_tunnels; i++)
                pf_buf_printf(&names, "%s%s", i ? ", " : "", L->inv->tunnels[i].name);
            rc = fail(L, val, "unknown tunnel '%s' in via; expected one of: %s", v, names.data);
            pf_buf_free(&names);
        }
        free(v);
        return rc;
    }
    free(*slot);
    *slot = v;
    return PF_OK;
}

static PfErrCode tunnel_setting(Loader *L, InvTunnel *t, const char *key, const yaml_node_t *val)
{
    if (strcmp(key, "identity") == 0) {
        if (val->type == YAML_SEQUENCE_NODE) {
            size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
            t->identity = pf_calloc(n ? n : 1, sizeof *t->identity);
            for (yaml_node_item_t *i = val->data.sequence.items.start;
                 i < val->data.sequence.items.top; i++) {
                yaml_node_t *item = node(L, *i);
                char *v;
                if (want_scalar(L, item, "identity", "a string") != PF_OK ||
                    expand_nonempty(L, item, "identity", &v) != PF_OK)
                    return PF_ERR_INPUT;
                t->identity[t->n_identity++] = tunnel_path(L, v);
                free(v);
            }
            if (n == 0)
                return fail(L, val, "identity must not be empty");
            return PF_OK;
        }
        char *v;
        if (want_scalar(L, val, "identity", "a string or a sequence of strings") != PF_OK ||
            expand_nonempty(L, val, "identity", &v) != PF_OK)
            return PF_ERR_INPUT;
        t->identity = pf_calloc(1, sizeof *t->identity);
        t->identity[t->n_identity++] = tunnel_path(L, v);
        free(v);
        return PF_OK;
    }
    if (strcmp(key, "via") == 0) {
        /* Checked once every tunnel is known (a tunnel may name one defined after it). */
        if (want_scalar(L, val, "via", "a string") != PF_OK)
            return PF_ERR_INPUT;
        free(t->via);
        t->via = NULL;
        return is_null(val) ? PF_OK : expand_nonempty(L, val, "via", &t->via);
    }
    const char *noun = strcmp(key, "port") == 0    ? "a port number"
                       : strcmp(key, "agent") == 0 ? "true or false"
                       : strcmp(key, "keepalive") == 0 || strcmp(key, "connect_timeout") == 0
                           ? "a duration"
                           : "a string";
    char *v;
    if (want_scalar(L, val, key, noun) != PF_OK || expand_nonempty(L, val, key, &v) != PF_OK)
        return PF_ERR_INPUT;
    PfErrCode rc = PF_OK;
    int64_t ms;
    if (strcmp(key, "host") == 0) {
        free(t->host);
        t->host = v;
        v = NULL;
    } else if (strcmp(key, "user") == 0) {
        free(t->user);
        t->user = v;
        v = NULL;
    } else if (strcmp(key, "port") == 0) {
        int64_t port;
        if (parse_int64(v, &port) && port >= 1 && port <= 65535 && v[0] != '+' && v[0] != '-')
            t->port = (int)port;
        else
            rc = fail(L, val, "bad port '%s'; expected a number from 1 to 65535", v);
    } else if (strcmp(key, "passphrase_env") == 0) {
        if (env_name_ok(v)) {
            free(t->passphrase_env);
            t->passphrase_env = v;
            v = NULL;
        } else {
            rc = fail(L, val,
                      "bad passphrase_env: expected the name of an environment variable that "
                      "holds the passphrase (never the passphrase itself)");
        }
    } else if (strcmp(key, "agent") == 0) {
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            t->agent = strcmp(v, "true") == 0;
        else
            rc = fail(L, val, "bad agent '%s'; expected true or false", v);
    } else if (strcmp(key, "known_hosts") == 0) {
        free(t->known_hosts);
        t->known_hosts = tunnel_path(L, v);
    } else if (strcmp(key, "host_key_policy") == 0) {
        if (strcmp(v, "strict") == 0)
            t->host_key_policy = INV_HOST_KEY_STRICT;
        else if (strcmp(v, "accept-new") == 0)
            t->host_key_policy = INV_HOST_KEY_ACCEPT_NEW;
        else
            rc = fail(L, val, "bad host_key_policy '%s'; expected strict or accept-new", v);
    } else if ((rc = parse_duration(L, val, key, v, &ms)) == PF_OK) {
        if (strcmp(key, "keepalive") == 0)
            t->keepalive_ms = ms;
        else
            t->connect_timeout_ms = ms;
    }
    free(v);
    return rc;
}

static PfErrCode load_tunnel(Loader *L, const yaml_node_t *key, const yaml_node_t *map)
{
    const char *name = text(key);
    if (!tunnel_name_ok(name))
        return fail(L, key,
                    "bad tunnel name '%s': use letters, digits, '-', '_' and '.' (it is named in "
                    "via and in reports)",
                    name);
    if (map->type != YAML_MAPPING_NODE)
        return fail(L, map, "tunnel '%s' must be a mapping, not %s", name, kind(map));
    char where[128];
    snprintf(where, sizeof where, "in tunnel '%s'", name);
    if (check_keys(L, map, TUNNEL_KEYS, where) != PF_OK)
        return PF_ERR_INPUT;
    InvTunnel t = {0};
    t.name = pf_strdup(name);
    t.port = 22;
    t.keepalive_ms = 15000;
    t.connect_timeout_ms = 10000;
    t.host_key_policy = INV_HOST_KEY_STRICT;
    t.line = (int)map->start_mark.line + 1;
    t.column = (int)map->start_mark.column + 1;
    PfErrCode rc = PF_OK;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         rc == PF_OK && p < map->data.mapping.pairs.top; p++)
        rc = tunnel_setting(L, &t, text(node(L, p->key)), node(L, p->value));
    if (rc == PF_OK && !t.host)
        rc = fail(L, map, "missing key 'host' in tunnel '%s'", name);
    if (rc == PF_OK && !t.user)
        rc = fail(L, map, "missing key 'user' in tunnel '%s'", name);
    if (rc == PF_OK && t.n_identity == 0 && !t.agent)
        rc = fail(L, map,
                  "tunnel '%s' has no key to log in with; hint: set identity (private key "
                  "files) and/or agent: true",
                  name);
    if (rc == PF_OK && !t.known_hosts)
        t.known_hosts = tunnel_path(L, "~/.ssh/known_hosts");
    if (rc != PF_OK) {
        tunnel_free(&t);
        return PF_ERR_INPUT;
    }
    Inventory *inv = L->inv;
    inv->tunnels = pf_realloc(inv->tunnels, (inv->n_tunnels + 1) * sizeof *inv->tunnels);
    inv->tunnels[inv->n_tunnels++] = t;
    return PF_OK;
}

static const yaml_node_t *tunnel_via_node(Loader *L, const yaml_node_t *tunnels, size_t i)
{
    const yaml_node_t *map = node(L, tunnels->data.mapping.pairs.start[i].value);
    return map_get(L, map, "via");
}

/* tunnels: {NAME: {host, port, user, ...}, ...}. Every via must name a tunnel, without cycles. */
static PfErrCode load_tunnels(Loader *L, const yaml_node_t *n)
{
    bool present;
    if (want_mapping(L, n, "tunnels", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (check_keys(L, n, NULL, "in tunnels") != PF_OK)
        return PF_ERR_INPUT;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        if (load_tunnel(L, node(L, p->key), node(L, p->value)) != PF_OK)
            return PF_ERR_INPUT;
    }
    Inventory *inv = L->inv;
    for (size_t i = 0; i < inv->n_tunnels; i++) {
        const InvTunnel *t = &inv->tunnels[i];
        if (!t->via)
            continue;
        const yaml_node_t *via = tunnel_via_node(L, n, i);
        if (!inv_tunnel(inv, t->via)) {
            PfBuf names = PF_BUF_INIT;
            for (size_t j = 0; j < inv->n_tunnels; j++)
                pf_buf_printf(&names, "%s%s", j ? ", " : "", inv->tunnels[j].name);
            fail(L, via, "unknown tunnel '%s' in via; expected one of: %s", t->via, names.data);
            pf_buf_free(&names);
            return PF_ERR_INPUT;
        }
        /* Follow the chain: coming back to t is a cycle (one through t is reported here). */
        PfBuf chain = PF_BUF_INIT;
        pf_buf_puts(&chain, t->name);
        const InvTunnel *hop = inv_tunnel(inv, t->via);
        for (size_t steps = 0; hop && steps <= inv->n_tunnels; steps++) {
            pf_buf_printf(&chain, " > %s", hop->name);
            if (hop == t) {
                fail(L, via, "tunnels go via each other in a cycle: %s", chain.data);
                pf_buf_free(&chain);
                return PF_ERR_INPUT;
            }
            hop = inv_tunnel(inv, hop->via);
        }
        pf_buf_free(&chain);
    }
    return PF_OK;
}

/* "via jump > eu-bastion": the hops from the outermost in, or NULL when direct. */
static char *route_of(const Inventory *inv, const char *via)
{
    if (!via)
        return NULL;
    const char *hops[64];
    size_t n = 0;
    for (const InvTunnel *t = inv_tunnel(inv, via); t && n < 64; t = inv_tunnel(inv, t->via))
        hops[n++] = t->name;
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "via ");
    for (size_t i = n; i > 0; i--)
        pf_buf_printf(&b, "%s%s", i == n ? "" : " > ", hops[i - 1]);
    return pf_buf_take(&b);
}

/* ---- top-level sections ---- */

static PfErrCode load_migrations(Loader *L, const yaml_node_t *n)
{
    bool present;
    if (want_mapping(L, n, "migrations", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (check_keys(L, n, MIGRATIONS_KEYS, "in migrations") != PF_OK)
        return PF_ERR_INPUT;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = text(node(L, p->key));
        yaml_node_t *val = node(L, p->value);
        if (want_scalar(L, val, key, "a string") != PF_OK)
            return PF_ERR_INPUT;
        if (strcmp(key, "dir") == 0) {
            char *dir;
            if (expand_nonempty(L, val, "dir", &dir) != PF_OK)
                return PF_ERR_INPUT;
            /* "./drizzle" next to "inv/fleet.yaml" reads better as "inv/drizzle". */
            const char *rel = dir;
            while (rel[0] == '.' && rel[1] == '/') {
                const char *r = rel + 1;
                while (*r == '/')
                    r++;
                if (!*r)
                    break;
                rel = r;
            }
            char *base = pf_dirname(L->path);
            free(L->inv->migrations_dir);
            L->inv->migrations_dir = pf_path_join(base, rel);
            free(base);
            free(dir);
        } else if (expand_ident(L, val, key, strcmp(key, "table") == 0 ? &L->table : &L->schema) !=
                   PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

static PfErrCode load_defaults(Loader *L, const yaml_node_t *n)
{
    bool present;
    if (want_mapping(L, n, "defaults", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (check_keys(L, n, SETTING_KEYS, "in defaults") != PF_OK)
        return PF_ERR_INPUT;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = text(node(L, p->key));
        if (strcmp(key, "via") == 0) {
            if (load_via(L, node(L, p->value), &L->default_via) != PF_OK)
                return PF_ERR_INPUT;
        } else if (apply_setting(L, key, node(L, p->value), &L->defaults) != PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

/* ---- one target entry: shape ---- */

static PfErrCode check_label_key(Loader *L, const yaml_node_t *key)
{
    const char *k = text(key);
    if (strcmp(k, "name") == 0)
        return fail(L, key, "label key 'name' is reserved: selectors use it for the target name");
    if (!*k || strpbrk(k, ",=! \t\r\n"))
        return fail(L, key,
                    "bad label key '%s': keys must be non-empty, without ',', '=', '!' or "
                    "whitespace",
                    k);
    return PF_OK;
}

/* A mapping whose values must all be scalars (labels, for_each items). */
static PfErrCode check_scalar_map(Loader *L, const yaml_node_t *map, const char *what,
                                  bool label_keys)
{
    if (check_keys(L, map, NULL, what) != PF_OK)
        return PF_ERR_INPUT;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = node(L, p->key), *val = node(L, p->value);
        if (label_keys && check_label_key(L, key) != PF_OK)
            return PF_ERR_INPUT;
        if (val->type != YAML_SCALAR_NODE)
            return fail(L, val, "%s '%s' must be a scalar, not %s", what, text(key), kind(val));
        if (want_scalar(L, val, text(key), "a scalar") != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

static PfErrCode check_entry(Loader *L, const yaml_node_t *entry)
{
    if (entry->type != YAML_MAPPING_NODE)
        return fail(L, entry, "each target must be a mapping, not %s", kind(entry));
    if (check_keys(L, entry, TARGET_KEYS, "in target") != PF_OK)
        return PF_ERR_INPUT;
    if (!map_get(L, entry, "name"))
        return fail(L, entry, "missing key 'name' in target");
    if (!map_get(L, entry, "dsn"))
        return fail(L, entry, "missing key 'dsn' in target");
    bool present;
    for (yaml_node_pair_t *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top;
         p++) {
        const char *key = text(node(L, p->key));
        yaml_node_t *val = node(L, p->value);
        if (strcmp(key, "labels") == 0) {
            if (want_mapping(L, val, "labels", &present) != PF_OK)
                return PF_ERR_INPUT;
            if (present && check_scalar_map(L, val, "label", true) != PF_OK)
                return PF_ERR_INPUT;
        } else if (strcmp(key, "migrations") == 0) {
            if (want_mapping(L, val, "migrations", &present) != PF_OK)
                return PF_ERR_INPUT;
            if (!present)
                continue;
            yaml_node_t *dir = NULL;
            for (yaml_node_pair_t *q = val->data.mapping.pairs.start;
                 q < val->data.mapping.pairs.top; q++) {
                yaml_node_t *k = node(L, q->key);
                if (k->type == YAML_SCALAR_NODE && strcmp(text(k), "dir") == 0)
                    dir = k;
            }
            if (dir)
                return fail(L, dir,
                            "migrations.dir cannot be set per target: one migrations folder "
                            "per run; hint: set it in the top-level migrations");
            if (check_keys(L, val, TARGET_MIGRATIONS_KEYS, "in target migrations") != PF_OK)
                return PF_ERR_INPUT;
            for (yaml_node_pair_t *q = val->data.mapping.pairs.start;
                 q < val->data.mapping.pairs.top; q++) {
                if (want_scalar(L, node(L, q->value), text(node(L, q->key)), "a string") != PF_OK)
                    return PF_ERR_INPUT;
            }
        } else if (strcmp(key, "for_each") == 0) {
            if (want_sequence(L, val, "for_each", &present) != PF_OK)
                return PF_ERR_INPUT;
            if (!present)
                continue;
            for (yaml_node_item_t *i = val->data.sequence.items.start;
                 i < val->data.sequence.items.top; i++) {
                yaml_node_t *item = node(L, *i);
                if (item->type == YAML_MAPPING_NODE) {
                    if (check_scalar_map(L, item, "for_each key", false) != PF_OK)
                        return PF_ERR_INPUT;
                } else if (item->type != YAML_SCALAR_NODE) {
                    return fail(L, item,
                                "for_each items must be scalars or mappings of scalars, not %s",
                                kind(item));
                } else if (is_null(item)) {
                    return fail(L, item, "empty for_each item");
                } else if (want_scalar(L, item, "for_each item", "a scalar") != PF_OK) {
                    return PF_ERR_INPUT;
                }
            }
        } else if (strcmp(key, "expect") == 0) {
            if (check_expect(L, val) != PF_OK)
                return PF_ERR_INPUT;
        } else {
            const char *noun = strcmp(key, "name") == 0 || strcmp(key, "dsn") == 0
                                   ? "a string"
                                   : setting_noun(key);
            if (want_scalar(L, val, key, noun) != PF_OK)
                return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

/* ---- one target entry: building ---- */

static void target_free(InvTarget *t)
{
    free(t->name);
    free(t->dsn);
    free(t->dsn_masked);
    for (size_t i = 0; i < t->n_labels; i++) {
        free(t->labels[i].key);
        free(t->labels[i].value);
    }
    free(t->labels);
    free(t->schema);
    free(t->table);
    settings_free(&t->settings);
    free(t->via);
    free(t->route);
}

static PfErrCode build_labels(Loader *L, const yaml_node_t *map, InvTarget *t)
{
    if (map->type != YAML_MAPPING_NODE)
        return PF_OK; /* null: no labels */
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    t->labels = pf_calloc(n, sizeof *t->labels);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *val = node(L, p->value);
        char *v;
        if (is_null(val))
            v = pf_strdup("");
        else if (expand(L, val, &v) != PF_OK)
            return PF_ERR_INPUT;
        t->labels[t->n_labels].key = pf_strdup(text(node(L, p->key)));
        t->labels[t->n_labels].value = v;
        t->n_labels++;
    }
    return PF_OK;
}

static PfErrCode build_target(Loader *L, const yaml_node_t *entry, size_t entry_index)
{
    InvTarget t = {0};
    t.schema = pf_strdup(L->schema);
    t.table = pf_strdup(L->table);
    settings_copy(&t.settings, &L->defaults);
    t.via = pf_strdup(L->default_via);
    t.line = (int)entry->start_mark.line + 1;
    t.column = (int)entry->start_mark.column + 1;
    NameMark mark = {0, 0, entry_index};
    for (yaml_node_pair_t *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top;
         p++) {
        const char *key = text(node(L, p->key));
        yaml_node_t *val = node(L, p->value);
        PfErrCode rc = PF_OK;
        if (strcmp(key, "name") == 0) {
            rc = expand_nonempty(L, val, "name", &t.name);
            mark.line = (int)val->start_mark.line + 1;
            mark.column = (int)val->start_mark.column + 1;
        } else if (strcmp(key, "dsn") == 0) {
            rc = expand_nonempty(L, val, "dsn", &t.dsn);
        } else if (strcmp(key, "labels") == 0) {
            rc = build_labels(L, val, &t);
        } else if (strcmp(key, "migrations") == 0) {
            if (val->type != YAML_MAPPING_NODE)
                continue;
            for (yaml_node_pair_t *q = val->data.mapping.pairs.start;
                 q < val->data.mapping.pairs.top && rc == PF_OK; q++) {
                const char *k = text(node(L, q->key));
                rc = expand_ident(L, node(L, q->value), k,
                                  strcmp(k, "table") == 0 ? &t.table : &t.schema);
            }
        } else if (strcmp(key, "via") == 0) {
            rc = load_via(L, val, &t.via);
        } else if (strcmp(key, "for_each") != 0) {
            rc = apply_setting(L, key, val, &t.settings);
        }
        if (rc != PF_OK) {
            target_free(&t);
            return PF_ERR_INPUT;
        }
    }
    t.dsn_masked = inv_mask_dsn(t.dsn);
    t.route = route_of(L->inv, t.via);
    Inventory *inv = L->inv;
    PF_GROW(inv->targets, L->targets_cap, inv->n + 1);
    PF_GROW(L->marks, L->marks_cap, inv->n + 1);
    inv->targets[inv->n] = t;
    L->marks[inv->n] = mark;
    inv->n++;
    return PF_OK;
}

static void free_bindings(InvLabel *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].key);
        free(b[i].value);
    }
    free(b);
}

/* The ${each...} bindings of one for_each item, its scalars expanded from the environment. */
static PfErrCode item_bindings(Loader *L, const yaml_node_t *item, InvLabel **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (item->type == YAML_SCALAR_NODE) {
        char *v;
        if (expand(L, item, &v) != PF_OK)
            return PF_ERR_INPUT;
        *out = pf_malloc(sizeof **out);
        (*out)[0].key = pf_strdup("");
        (*out)[0].value = v;
        *n = 1;
        return PF_OK;
    }
    size_t cap = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
    InvLabel *b = pf_calloc(cap, sizeof *b);
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        yaml_node_t *val = node(L, p->value);
        char *v;
        if (is_null(val))
            v = pf_strdup("");
        else if (expand(L, val, &v) != PF_OK) {
            free_bindings(b, *n);
            return PF_ERR_INPUT;
        }
        b[*n].key = pf_strdup(text(node(L, p->key)));
        b[*n].value = v;
        (*n)++;
    }
    *out = b;
    return PF_OK;
}

static PfErrCode load_entry(Loader *L, const yaml_node_t *entry, size_t entry_index)
{
    if (check_entry(L, entry) != PF_OK)
        return PF_ERR_INPUT;
    yaml_node_t *fe = map_get(L, entry, "for_each");
    if (!fe)
        return build_target(L, entry, entry_index);
    if (fe->type != YAML_SEQUENCE_NODE)
        return PF_OK; /* null: no items, no targets */
    for (yaml_node_item_t *i = fe->data.sequence.items.start; i < fe->data.sequence.items.top;
         i++) {
        yaml_node_t *item = node(L, *i);
        PfErrCode rc = item_bindings(L, item, &L->each, &L->n_each);
        if (rc == PF_OK) {
            L->item = item;
            L->in_for_each = true;
            rc = build_target(L, entry, entry_index);
        }
        free_bindings(L->each, L->n_each);
        L->each = NULL;
        L->n_each = 0;
        L->item = NULL;
        L->in_for_each = false;
        if (rc != PF_OK)
            return rc;
    }
    return PF_OK;
}

/* ---- plugins (docs/plugins.md) ---- */

static void plugin_free(InvPlugin *p)
{
    free(p->path);
    for (size_t i = 0; i < p->n_config; i++) {
        free(p->config[i].key);
        free(p->config[i].value);
    }
    free(p->config);
}

/* A config value: a scalar (expanded), or a list of scalars joined with ",". */
static PfErrCode plugin_config_value(Loader *L, const yaml_node_t *key, const yaml_node_t *val,
                                     char **out)
{
    if (val->type == YAML_SCALAR_NODE)
        return is_null(val) ? (*out = pf_strdup(""), PF_OK) : expand(L, val, out);
    if (val->type != YAML_SEQUENCE_NODE)
        return fail(L, val, "plugin config '%s' must be a scalar or a list of scalars, not %s",
                    text(key), kind(val));
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "");
    for (yaml_node_item_t *i = val->data.sequence.items.start; i < val->data.sequence.items.top;
         i++) {
        yaml_node_t *item = node(L, *i);
        char *v;
        if (item->type != YAML_SCALAR_NODE) {
            free(pf_buf_take(&b));
            return fail(L, item, "plugin config '%s' must be a list of scalars, not of %s",
                        text(key), kind(item));
        }
        if (expand(L, item, &v) != PF_OK) {
            free(pf_buf_take(&b));
            return PF_ERR_INPUT;
        }
        pf_buf_printf(&b, "%s%s", i == val->data.sequence.items.start ? "" : ",", v);
        free(v);
    }
    *out = pf_buf_take(&b);
    return PF_OK;
}

static PfErrCode load_plugin(Loader *L, const yaml_node_t *entry)
{
    if (entry->type != YAML_MAPPING_NODE)
        return fail(L, entry,
                    "a plugins entry must be a mapping {path: ..., config: {...}}, not %s",
                    kind(entry));
    if (check_keys(L, entry, PLUGIN_KEYS, "in a plugins entry") != PF_OK)
        return PF_ERR_INPUT;
    yaml_node_t *path = map_get(L, entry, "path"), *config = map_get(L, entry, "config");
    if (!path)
        return fail(L, entry, "missing key 'path' in a plugins entry");
    if (want_scalar(L, path, "path", "a file path") != PF_OK)
        return PF_ERR_INPUT;
    InvPlugin p = {.line = (int)entry->start_mark.line + 1,
                   .column = (int)entry->start_mark.column + 1};
    char *raw;
    if (expand_nonempty(L, path, "path", &raw) != PF_OK)
        return PF_ERR_INPUT;
    p.path = tunnel_path(L, raw);
    free(raw);
    bool present = false;
    if (config && want_mapping(L, config, "config", &present) != PF_OK) {
        plugin_free(&p);
        return PF_ERR_INPUT;
    }
    if (present) {
        size_t n = (size_t)(config->data.mapping.pairs.top - config->data.mapping.pairs.start);
        p.config = pf_calloc(n ? n : 1, sizeof *p.config);
        for (yaml_node_pair_t *q = config->data.mapping.pairs.start;
             q < config->data.mapping.pairs.top; q++) {
            yaml_node_t *key = node(L, q->key);
            char *v;
            if (key->type != YAML_SCALAR_NODE || !*text(key)) {
                plugin_free(&p);
                return fail(L, key, "plugin config keys must be non-empty scalars");
            }
            if (plugin_config_value(L, key, node(L, q->value), &v) != PF_OK) {
                plugin_free(&p);
                return PF_ERR_INPUT;
            }
            p.config[p.n_config].key = pf_strdup(text(key));
            p.config[p.n_config].value = v;
            p.n_config++;
        }
    }
    Inventory *inv = L->inv;
    inv->plugins = pf_realloc(inv->plugins, (inv->n_plugins + 1) * sizeof *inv->plugins);
    inv->plugins[inv->n_plugins++] = p;
    return PF_OK;
}

static PfErrCode load_plugins(Loader *L, const yaml_node_t *n)
{
    bool present = false;
    if (want_sequence(L, n, "plugins", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
        if (load_plugin(L, node(L, *i)) != PF_OK)
            return PF_ERR_INPUT;
    return PF_OK;
}

static bool label_key_ok(const char *k)
{
    return *k && strcmp(k, "name") != 0 && !strpbrk(k, ",=! \t\r\n");
}

PfErrCode inv_discovered_add(InvDiscovery *d, const InvPlugin *source, const char *name,
                             const char *dsn, const InvLabel *labels, size_t n_labels,
                             const char *schema, const char *table, PfErr *err)
{
    Loader *L = d->L;
    Inventory *inv = L->inv;
    const char *what = NULL;
    if (!name || !*name)
        what = "a discovered target has no name";
    else if (!dsn || !*dsn)
        what = "has no dsn";
    else if ((schema && (!*schema || strlen(schema) > MAX_IDENT_LEN)) ||
             (table && (!*table || strlen(table) > MAX_IDENT_LEN)))
        what = "has an empty ledger schema or table, or one longer than 63 bytes";
    for (size_t i = 0; !what && i < n_labels; i++)
        if (!labels[i].key || !label_key_ok(labels[i].key) || !labels[i].value)
            what = "has a bad label key (non-empty, not 'name', without ',', '=', '!' or "
                   "whitespace)";
    for (size_t i = 0; !what && i < inv->n; i++)
        if (strcmp(inv->targets[i].name, name) == 0)
            what = "duplicates the name of a target already in the inventory";
    if (what)
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s: target '%s' %s", L->path,
                          source->line, source->column, source->path, name ? name : "", what);
    InvTarget t = {0};
    t.name = pf_strdup(name);
    t.dsn = pf_strdup(dsn);
    t.dsn_masked = inv_mask_dsn(dsn);
    t.labels = pf_calloc(n_labels ? n_labels : 1, sizeof *t.labels);
    for (size_t i = 0; i < n_labels; i++)
        t.labels[t.n_labels++] = (InvLabel){pf_strdup(labels[i].key), pf_strdup(labels[i].value)};
    t.schema = pf_strdup(schema ? schema : L->schema);
    t.table = pf_strdup(table ? table : L->table);
    settings_copy(&t.settings, &L->defaults);
    t.via = pf_strdup(L->default_via);
    t.route = route_of(inv, t.via);
    t.line = source->line;
    t.column = source->column;
    PF_GROW(inv->targets, L->targets_cap, inv->n + 1);
    inv->targets[inv->n++] = t;
    return PF_OK;
}

/* ---- duplicate names ---- */

typedef struct NameRef {
    const char *name;
    size_t index;
} NameRef;

static int cmp_name_ref(const void *a, const void *b)
{
    const NameRef *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Report the earliest target (in file order) whose name an earlier target already has. */
static PfErrCode check_duplicates(Loader *L)
{
    Inventory *inv = L->inv;
    if (inv->n < 2)
        return PF_OK;
    NameRef *refs = pf_malloc(inv->n * sizeof *refs);
    for (size_t i = 0; i < inv->n; i++)
        refs[i] = (NameRef){inv->targets[i].name, i};
    qsort(refs, inv->n, sizeof *refs, cmp_name_ref);
    size_t first = 0, second = SIZE_MAX;
    for (size_t i = 1; i < inv->n; i++) {
        /* Within a group, refs[i] is a repeat when the previous one has the same name. */
        if (strcmp(refs[i].name, refs[i - 1].name) == 0 && refs[i].index < second &&
            (i < 2 || strcmp(refs[i - 2].name, refs[i].name) != 0)) {
            second = refs[i].index;
            first = refs[i - 1].index;
        }
    }
    free(refs);
    if (second == SIZE_MAX)
        return PF_OK;
    const NameMark *a = &L->marks[first], *b = &L->marks[second];
    const char *name = inv->targets[second].name;
    if (a->entry == b->entry)
        return fail_at(L, b->line, b->column,
                       "for_each gives several targets the same name '%s'; hint: use ${each} "
                       "or ${each.KEY} in name",
                       name);
    return fail_at(L, b->line, b->column, "duplicate target name '%s' (first at line %d)", name,
                   a->line);
}

/* ---- the document ---- */

static PfErrCode yaml_error(Loader *L, const yaml_parser_t *parser, const char *data, size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return pf_err_set(L->err, PF_ERR_INTERNAL, "%s: out of memory while parsing", L->path);
    const char *problem = parser->problem ? parser->problem : "unknown error";
    if (parser->error == YAML_READER_ERROR) {
        /* No mark for reader errors: count lines up to the offending byte. */
        int line = 1, column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
            if (data[i] == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        if (parser->problem_value != -1)
            return fail_at(L, line, column, "invalid yaml: %s (byte 0x%02X)", problem,
                           (unsigned)parser->problem_value & 0xFFu);
        return fail_at(L, line, column, "invalid yaml: %s", problem);
    }
    int line = (int)parser->problem_mark.line + 1;
    int column = (int)parser->problem_mark.column + 1;
    /* '{' and '}' end a plain scalar inside [...] or {...}: the usual cause with ${VAR}. */
    const char *hint = "";
    if (parser->context && strstr(parser->context, "flow")) {
        size_t from = parser->context_mark.index, to = parser->problem_mark.index;
        while (to < len && data[to] != '\n')
            to++;
        for (size_t i = from; i + 1 < to; i++) {
            if (data[i] == '$' && data[i + 1] == '{')
                hint = "; hint: quote values holding ${...} inside [...] or {...}";
        }
    }
    if (parser->context)
        return fail_at(L, line, column, "invalid yaml: %s (%s at line %d, column %d)%s", problem,
                       parser->context, (int)parser->context_mark.line + 1,
                       (int)parser->context_mark.column + 1, hint);
    return fail_at(L, line, column, "invalid yaml: %s", problem);
}

static PfErrCode load_root(Loader *L)
{
    yaml_node_t *root = yaml_document_get_root_node(L->doc);
    if (!root)
        return fail_at(L, 1, 1, "the inventory is empty; expected a mapping with 'targets'");
    if (root->type != YAML_MAPPING_NODE)
        return fail(L, root, "the inventory must be a mapping with 'targets', not %s", kind(root));
    if (check_keys(L, root, TOP_KEYS, "at top level") != PF_OK)
        return PF_ERR_INPUT;
    yaml_node_t *n;
    /* Tunnels first: defaults and targets name them in via. */
    if ((n = map_get(L, root, "tunnels")) && load_tunnels(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = map_get(L, root, "migrations")) && load_migrations(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = map_get(L, root, "defaults")) && load_defaults(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = map_get(L, root, "plugins")) && load_plugins(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if (!(n = map_get(L, root, "targets")))
        return fail(L, root, "missing key 'targets' at top level");
    bool present;
    if (want_sequence(L, n, "targets", &present) != PF_OK)
        return PF_ERR_INPUT;
    if (present) {
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++) {
            if (load_entry(L, node(L, *i), (size_t)(i - n->data.sequence.items.start)) != PF_OK)
                return PF_ERR_INPUT;
        }
    }
    if (check_duplicates(L) != PF_OK)
        return PF_ERR_INPUT;
    /* Plugins add their targets after the file's own, before waves choose among them. */
    if (L->discover) {
        InvDiscovery d = {L};
        if (L->discover(L->discover_ctx, L->inv, &d, L->err) != PF_OK)
            return L->err->code ? L->err->code : PF_ERR_INPUT;
    }
    /* Waves last: they choose among the targets (waves.c). */
    if ((n = map_get(L, root, "waves")))
        return inv_waves_load(L->path, L->doc, n, L->inv, L->err);
    return PF_OK;
}

PfErrCode inv_load(const char *path, Inventory **out, PfErr *err)
{
    return inv_load_discover(path, NULL, NULL, out, err);
}

PfErrCode inv_load_discover(const char *path, InvDiscoverFn discover, void *ctx, Inventory **out,
                            PfErr *err)
{
    *out = NULL;
    char *data;
    size_t len;
    PfErrCode rc = pf_read_file(path, &data, &len, err);
    if (rc != PF_OK)
        return rc;

    PfErr local;
    Loader L = {.path = path, .err = err ? err : &local, .discover = discover, .discover_ctx = ctx};
    pf_err_clear(L.err);
    L.inv = pf_calloc(1, sizeof *L.inv);
    L.inv->path = pf_strdup(path);
    L.defaults.connect_timeout_ms = 10000;
    L.defaults.lock_wait_ms = 30000;
    L.defaults.application_name = pf_strdup("pgfleet");
    L.defaults.transaction = INV_TX_ALL;
    L.defaults.preflight_long_xact_ms = PREFLIGHT_LONG_XACT_MS;
    L.schema = pf_strdup("drizzle");
    L.table = pf_strdup("__drizzle_migrations");

    yaml_parser_t parser;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&parser)) {
        fprintf(stderr, "pgfleet: out of memory initialising the yaml parser\n");
        abort();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_error(&L, &parser, data, len);
    } else {
        L.doc = &doc;
        rc = load_root(&L);
        if (rc == PF_OK) {
            /* Anything after the first document is a mistake, not something to ignore. */
            if (!yaml_parser_load(&parser, &extra)) {
                rc = yaml_error(&L, &parser, data, len);
            } else {
                yaml_node_t *r = yaml_document_get_root_node(&extra);
                if (r)
                    rc = fail_at(&L, (int)r->start_mark.line + 1, (int)r->start_mark.column + 1,
                                 "the inventory must be a single yaml document");
                yaml_document_delete(&extra);
            }
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    free(data);
    settings_free(&L.defaults);
    free(L.default_via);
    free(L.schema);
    free(L.table);
    free(L.marks);
    if (rc != PF_OK) {
        inv_free(L.inv);
        return rc;
    }
    *out = L.inv;
    return PF_OK;
}

void inv_free(Inventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->n; i++)
        target_free(&inv->targets[i]);
    free(inv->targets);
    for (size_t i = 0; i < inv->n_tunnels; i++)
        tunnel_free(&inv->tunnels[i]);
    free(inv->tunnels);
    inv_waves_free(inv);
    for (size_t i = 0; i < inv->n_plugins; i++)
        plugin_free(&inv->plugins[i]);
    free(inv->plugins);
    free(inv->migrations_dir);
    free(inv->path);
    free(inv);
}
