/*
 * Loading the inventory: the file is parsed into a libyaml document (so every node keeps its
 * line and column), checked against the format, and turned into targets. Which keys may stand
 * where, and what their values must be, is the table in keys.c. Each target entry is first
 * checked for shape (keys, types), then built once per for_each item (or once), with every
 * scalar expanded (expand.c). Names are checked for duplicates at the end. The first problem
 * found, in file order, is reported as "FILE:LINE:COL: what" and nothing is returned.
 */
#include "inventory/inv_internal.h"

#include "codebase/drizzle_config.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/strset.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define PREFLIGHT_LONG_XACT_MS 60000 /* default preflight_long_xact (docs/inventory.md) */

/* Where a target's name stands, and which entry it came from: for the duplicate check. */
typedef struct NameMark {
    int line, column; /* 1-based */
    size_t entry;
} NameMark;

typedef struct Loader {
    InvDoc d; /* the document, where errors go, the expansion budget */
    Inventory *inv;
    size_t targets_cap;
    size_t max_targets;
    NameMark *marks;
    size_t marks_cap;
    PfStrSet names; /* target names, once the file's are checked for duplicates */
    InvSettings defaults;
    char *default_via; /* defaults' via, or NULL */
    char *schema;
    char *table;
    /* While a for_each item is being built (L->d.item): its bindings for ${each...}, and
     * whether the entry has a for_each at all. */
    InvLabel *each;
    size_t n_each;
    bool in_for_each;
    InvDiscoverFn discover; /* plugins' discovery, or NULL */
    void *discover_ctx;
} Loader;

/* The target cap (max_targets), for the file's targets and plugins' alike. */
#define TOO_MANY_TARGETS                                                                           \
    "the inventory expands to more than %zu targets; hint: if the fleet is this large, raise "     \
    "max_targets at top level"

/* What a discovery callback adds targets through: the loader, with the plugin it runs for. */
struct InvDiscovery {
    Loader *L;
};

/* The table's row for a key already checked to stand at place at. */
static const InvKey *key_at(InvPlace at, const char *name)
{
    const InvKey *k = inv_key(at, name);
    if (!k) {
        fprintf(stderr, "pgfleet: internal error: no key '%s' in the inventory table\n", name);
        abort();
    }
    return k;
}

/* A mapping or sequence value of key at place at: its shape checked, *present false when it is
 * null (empty). */
static PfErrCode container(Loader *L, InvPlace at, const char *key, const InvNode *n, bool *present)
{
    *present = n->type != YAML_SCALAR_NODE;
    return inv_value_check(&L->d, key_at(at, key), n);
}

/* Expand a scalar node with the current for_each bindings; *out is caller-owned. */
static PfErrCode expand(Loader *L, const InvNode *n, char **out)
{
    PfErr e;
    *out = inv_expand_each(inv_text(n), L->each, L->n_each, L->in_for_each, &e);
    if (!*out)
        return inv_fail(&L->d, n, "%s", e.msg);
    if (inv_charge(&L->d, n, strlen(*out)) != PF_OK) {
        free(*out);
        *out = NULL;
        return PF_ERR_INPUT;
    }
    return PF_OK;
}

/* A required non-empty string. */
static PfErrCode expand_nonempty(Loader *L, const InvNode *n, const char *what, char **out)
{
    if (inv_is_null(n))
        return inv_fail(&L->d, n, "%s must not be empty", what);
    if (expand(L, n, out) != PF_OK)
        return PF_ERR_INPUT;
    if (!**out) {
        free(*out);
        *out = NULL;
        return inv_fail(&L->d, n, "%s must not be empty%s", what,
                        strchr(inv_text(n), '$') ? " (after expansion)" : "");
    }
    return PF_OK;
}

/* A non-empty scalar of key k, expanded and parsed as the table says; *out is caller-owned. */
static PfErrCode expand_value(Loader *L, const InvKey *k, const InvNode *n, char **out, InvValue *v)
{
    if (expand_nonempty(L, n, k->name, out) != PF_OK)
        return PF_ERR_INPUT;
    if (inv_value_parse(&L->d, k, n, *out, v) != PF_OK) {
        free(*out);
        *out = NULL;
        return PF_ERR_INPUT;
    }
    return PF_OK;
}

/* A ledger schema or table name. */
static PfErrCode expand_ident(Loader *L, InvPlace at, const InvNode *n, const char *key,
                              char **slot)
{
    char *s;
    InvValue v;
    if (expand_value(L, key_at(at, key), n, &s, &v) != PF_OK)
        return PF_ERR_INPUT;
    free(*slot);
    *slot = s;
    return PF_OK;
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
    free(s->backup.dir);
    memset(&s->backup, 0, sizeof s->backup);
}

static void settings_copy(InvSettings *dst, const InvSettings *src)
{
    *dst = *src;
    dst->sslmode = pf_strdup(src->sslmode);
    dst->application_name = pf_strdup(src->application_name);
    dst->expect.database = pf_strdup(src->expect.database);
    dst->expect.user = pf_strdup(src->expect.user);
    dst->expect.system_identifier = pf_strdup(src->expect.system_identifier);
    dst->backup.dir = pf_strdup(src->backup.dir);
}

/* expect: {database, user, system_identifier}: a mapping of strings, or null. */
static PfErrCode check_expect(Loader *L, const InvNode *val)
{
    if (inv_value_check(&L->d, key_at(INV_AT_DEFAULTS, "expect"), val) != PF_OK)
        return PF_ERR_INPUT;
    if (val->type != YAML_MAPPING_NODE)
        return PF_OK;
    if (inv_keys_check(&L->d, val, INV_AT_EXPECT, "in expect") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        const InvKey *k = key_at(INV_AT_EXPECT, inv_text(inv_node(&L->d, p->key)));
        if (inv_value_check(&L->d, k, inv_node(&L->d, p->value)) != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

/* Merge an expect mapping into e, key by key: a key with no value unsets it, and
 * `expect: null` unsets them all. */
static PfErrCode load_expect(Loader *L, const InvNode *val, InvExpect *e)
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
    for (InvNodePair *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *v = inv_node(&L->d, p->value);
        char **slot = strcmp(key, "database") == 0 ? &e->database
                      : strcmp(key, "user") == 0   ? &e->user
                                                   : &e->system_identifier;
        char *x = NULL;
        if (!inv_is_null(v) && expand_nonempty(L, v, key, &x) != PF_OK)
            return PF_ERR_INPUT;
        if (x && slot == &e->system_identifier &&
            (strlen(x) > 20 || strspn(x, "0123456789") != strlen(x))) {
            inv_fail(&L->d, v,
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

/* backup: {dir, when, format, jobs, keep} (docs/backups.md): a mapping, or null. */
static PfErrCode check_backup(Loader *L, const InvNode *val)
{
    if (inv_value_check(&L->d, key_at(INV_AT_DEFAULTS, "backup"), val) != PF_OK)
        return PF_ERR_INPUT;
    if (val->type != YAML_MAPPING_NODE)
        return PF_OK;
    if (inv_keys_check(&L->d, val, INV_AT_BACKUP, "in backup") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        const InvKey *k = key_at(INV_AT_BACKUP, inv_text(inv_node(&L->d, p->key)));
        if (inv_value_check(&L->d, k, inv_node(&L->d, p->value)) != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

static char *tunnel_path(Loader *L, const char *p);

/* Merge a backup mapping into b, key by key: a key with no value goes back to its default,
 * and `backup: null` turns backups off (every key to its default). */
static PfErrCode load_backup(Loader *L, const InvNode *val, InvBackup *b)
{
    if (check_backup(L, val) != PF_OK)
        return PF_ERR_INPUT;
    if (val->type != YAML_MAPPING_NODE) {
        free(b->dir);
        memset(b, 0, sizeof *b);
        return PF_OK;
    }
    for (InvNodePair *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        const InvKey *k = key_at(INV_AT_BACKUP, key);
        InvNode *v = inv_node(&L->d, p->value);
        char *x = NULL;
        InvValue n = {0};
        if (!inv_is_null(v) && expand_value(L, k, v, &x, &n) != PF_OK)
            return PF_ERR_INPUT;
        if (strcmp(key, "dir") == 0) {
            free(b->dir);
            b->dir = x ? tunnel_path(L, x) : NULL;
        } else if (strcmp(key, "when") == 0) {
            b->when = (InvBackupWhen)n.n;
        } else if (strcmp(key, "format") == 0) {
            b->format = (InvBackupFormat)n.n;
        } else if (strcmp(key, "jobs") == 0) {
            b->jobs = (int)n.n;
        } else {
            b->keep = (int)n.n;
        }
        free(x);
    }
    return PF_OK;
}

/* Apply one settings key (already known valid) from a defaults or target mapping. */
static PfErrCode apply_setting(Loader *L, const char *key, const InvNode *val, InvSettings *s)
{
    const InvKey *k = key_at(INV_AT_DEFAULTS, key);
    if (strcmp(key, "expect") == 0)
        return load_expect(L, val, &s->expect);
    if (strcmp(key, "backup") == 0)
        return load_backup(L, val, &s->backup);
    bool null;
    if (inv_value_check(&L->d, k, val) != PF_OK || inv_value_null(&L->d, k, val, &null) != PF_OK)
        return PF_ERR_INPUT;
    char *v = NULL;
    InvValue x = {0};
    if (!null && expand(L, val, &v) != PF_OK)
        return PF_ERR_INPUT;
    if (!null && inv_value_parse(&L->d, k, val, v, &x) != PF_OK) {
        free(v);
        return PF_ERR_INPUT;
    }
    if (strcmp(key, "sslmode") == 0) {
        free(s->sslmode);
        s->sslmode = v; /* NULL: libpq's default */
        v = NULL;
    } else if (strcmp(key, "application_name") == 0) {
        free(s->application_name);
        s->application_name = v;
        v = NULL;
    } else if (strcmp(key, "transaction") == 0) {
        s->transaction = x.n == 0 ? INV_TX_ALL : INV_TX_PER_MIGRATION;
    } else if (strcmp(key, "lock_key") == 0) {
        s->lock_key_set = !null;
        s->lock_key = x.n;
    } else if (strcmp(key, "connect_timeout") == 0) {
        s->connect_timeout_ms = x.n;
    } else if (strcmp(key, "lock_wait") == 0) {
        s->lock_wait_ms = x.n;
    } else if (strcmp(key, "lock_timeout") == 0) {
        s->lock_timeout_ms = x.n;
    } else if (strcmp(key, "preflight_long_xact") == 0) {
        s->preflight_long_xact_ms = x.n;
    } else if (strcmp(key, "create_schema") == 0) {
        s->create_schema = !null && x.n != 0;
    } else if (strcmp(key, "max_per_server") == 0) {
        s->max_per_server = (int)x.n;
    } else {
        s->statement_timeout_ms = x.n;
    }
    free(v);
    return PF_OK;
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
    char *base = pf_dirname(L->d.path);
    char *out = pf_path_join(base, p);
    free(base);
    return out;
}

/* A plugin's path: as tunnel_path, except that a bare file name ("exec.so") that is not beside
 * the inventory but is in the plugin directory ($PGFLEET_PLUGIN_DIR, else where the shipped
 * plugins are installed: docs/plugins.md) is that one. Found in neither, it stays the path
 * beside the inventory, which the error then names. */
static char *plugin_path(Loader *L, const char *raw)
{
    char *p = tunnel_path(L, raw);
    if (strchr(raw, '/') || raw[0] == '~' || access(p, F_OK) == 0)
        return p;
    char *shipped = pf_path_join(inv_plugin_dir(), raw);
    if (access(shipped, F_OK) != 0) {
        free(shipped);
        return p;
    }
    free(p);
    return shipped;
}

const char *inv_plugin_dir(void)
{
    const char *dir = getenv("PGFLEET_PLUGIN_DIR");
    return dir && *dir ? dir : PGFLEET_PLUGIN_DIR;
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

const char **inv_tenant_schemas(const Inventory *inv, const size_t *idx, size_t n, size_t *count)
{
    const char **out = NULL;
    size_t cap = 0;
    *count = 0;
    if (!idx)
        n = inv->n;
    for (size_t i = 0; i < n; i++) {
        const InvTarget *t = &inv->targets[idx ? idx[i] : i];
        for (size_t k = 0; t->tenant_schema && k < t->n_schema_map; k++) {
            bool seen = false;
            for (size_t j = 0; j < *count && !seen; j++)
                seen = strcmp(out[j], t->schema_map[k].key) == 0;
            if (!seen) {
                PF_GROW(out, cap, *count + 1);
                out[(*count)++] = t->schema_map[k].key;
            }
        }
    }
    return out;
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
static PfErrCode load_via(Loader *L, const InvNode *val, char **slot)
{
    bool null;
    const InvKey *k = key_at(INV_AT_DEFAULTS, "via");
    if (inv_value_check(&L->d, k, val) != PF_OK || inv_value_null(&L->d, k, val, &null) != PF_OK)
        return PF_ERR_INPUT;
    if (null) {
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
            rc = inv_fail(&L->d, val,
                          "unknown tunnel '%s' in via: the inventory defines no tunnels", v);
        } else {
            PfBuf names = PF_BUF_INIT;
            for (size_t i = 0; i < L->inv->n_tunnels; i++)
                pf_buf_printf(&names, "%s%s", i ? ", " : "", L->inv->tunnels[i].name);
            rc = inv_fail(&L->d, val, "unknown tunnel '%s' in via; expected one of: %s", v,
                          names.data);
            pf_buf_free(&names);
        }
        free(v);
        return rc;
    }
    free(*slot);
    *slot = v;
    return PF_OK;
}

static PfErrCode tunnel_setting(Loader *L, InvTunnel *t, const char *key, const InvNode *val)
{
    const InvKey *k = key_at(INV_AT_TUNNEL, key);
    bool null;
    if (inv_value_check(&L->d, k, val) != PF_OK)
        return PF_ERR_INPUT;
    if (strcmp(key, "identity") == 0) {
        bool list = val->type == YAML_SEQUENCE_NODE;
        size_t n =
            list ? (size_t)(val->data.sequence.items.top - val->data.sequence.items.start) : 1;
        t->identity = pf_calloc(n, sizeof *t->identity);
        for (size_t i = 0; i < n; i++) {
            const InvNode *item = list ? inv_node(&L->d, val->data.sequence.items.start[i]) : val;
            char *v;
            if (expand_nonempty(L, item, "identity", &v) != PF_OK)
                return PF_ERR_INPUT;
            t->identity[t->n_identity++] = tunnel_path(L, v);
            free(v);
        }
        return PF_OK;
    }
    if (inv_value_null(&L->d, k, val, &null) != PF_OK)
        return PF_ERR_INPUT;
    if (strcmp(key, "via") == 0) {
        /* Checked once every tunnel is known (a tunnel may name one defined after it). */
        free(t->via);
        t->via = NULL;
        return null ? PF_OK : expand_nonempty(L, val, "via", &t->via);
    }
    char *v;
    InvValue x;
    if (expand_value(L, k, val, &v, &x) != PF_OK)
        return PF_ERR_INPUT;
    PfErrCode rc = PF_OK;
    if (strcmp(key, "host") == 0) {
        free(t->host);
        t->host = v;
        v = NULL;
    } else if (strcmp(key, "user") == 0) {
        free(t->user);
        t->user = v;
        v = NULL;
    } else if (strcmp(key, "port") == 0) {
        t->port = (int)x.n;
    } else if (strcmp(key, "passphrase_env") == 0) {
        if (env_name_ok(v)) {
            free(t->passphrase_env);
            t->passphrase_env = v;
            v = NULL;
        } else {
            rc = inv_fail(&L->d, val,
                          "bad passphrase_env: expected the name of an environment variable that "
                          "holds the passphrase (never the passphrase itself)");
        }
    } else if (strcmp(key, "agent") == 0) {
        t->agent = x.n != 0;
    } else if (strcmp(key, "known_hosts") == 0) {
        free(t->known_hosts);
        t->known_hosts = tunnel_path(L, v);
    } else if (strcmp(key, "host_key_policy") == 0) {
        t->host_key_policy = x.n == 0 ? INV_HOST_KEY_STRICT : INV_HOST_KEY_ACCEPT_NEW;
    } else if (strcmp(key, "keepalive") == 0) {
        t->keepalive_ms = x.n;
    } else {
        t->connect_timeout_ms = x.n;
    }
    free(v);
    return rc;
}

static PfErrCode load_tunnel(Loader *L, const InvNode *key, const InvNode *map)
{
    const char *name = inv_text(key);
    if (!tunnel_name_ok(name))
        return inv_fail(&L->d, key,
                        "bad tunnel name '%s': use letters, digits, '-', '_' and '.' (it is "
                        "named in via and in reports)",
                        name);
    if (map->type != YAML_MAPPING_NODE)
        return inv_fail(&L->d, map, "tunnel '%s' must be a mapping, not %s", name, inv_kind(map));
    char where[128];
    snprintf(where, sizeof where, "in tunnel '%s'", name);
    if (inv_keys_check(&L->d, map, INV_AT_TUNNEL, where) != PF_OK)
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
    for (InvNodePair *p = map->data.mapping.pairs.start;
         rc == PF_OK && p < map->data.mapping.pairs.top; p++)
        rc = tunnel_setting(L, &t, inv_text(inv_node(&L->d, p->key)), inv_node(&L->d, p->value));
    if (rc == PF_OK)
        rc = inv_keys_required(&L->d, map, INV_AT_TUNNEL, where);
    if (rc == PF_OK && t.n_identity == 0 && !t.agent)
        rc = inv_fail(&L->d, map,
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

static const InvNode *tunnel_via_node(Loader *L, const InvNode *tunnels, size_t i)
{
    const InvNode *map = inv_node(&L->d, tunnels->data.mapping.pairs.start[i].value);
    return inv_map_get(&L->d, map, "via");
}

/* tunnels: {NAME: {host, port, user, ...}, ...}. Every via must name a tunnel, without cycles. */
static PfErrCode load_tunnels(Loader *L, const InvNode *n)
{
    bool present;
    if (container(L, INV_AT_TOP, "tunnels", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (inv_keys_check(&L->d, n, INV_AT_ANY, "in tunnels") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        if (load_tunnel(L, inv_node(&L->d, p->key), inv_node(&L->d, p->value)) != PF_OK)
            return PF_ERR_INPUT;
    }
    Inventory *inv = L->inv;
    for (size_t i = 0; i < inv->n_tunnels; i++) {
        const InvTunnel *t = &inv->tunnels[i];
        if (!t->via)
            continue;
        const InvNode *via = tunnel_via_node(L, n, i);
        if (!inv_tunnel(inv, t->via)) {
            PfBuf names = PF_BUF_INIT;
            for (size_t j = 0; j < inv->n_tunnels; j++)
                pf_buf_printf(&names, "%s%s", j ? ", " : "", inv->tunnels[j].name);
            inv_fail(&L->d, via, "unknown tunnel '%s' in via; expected one of: %s", t->via,
                     names.data);
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
                inv_fail(&L->d, via, "tunnels go via each other in a cycle: %s", chain.data);
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

/* migrations.drizzle_config: out, migrations.schema and migrations.table from drizzle-kit's
 * config (read without running it), relative to this file; the inventory's own dir, schema
 * and table, read after it, win. */
static PfErrCode load_drizzle_config(Loader *L, const InvNode *val)
{
    char *rel;
    if (expand_nonempty(L, val, "drizzle_config", &rel) != PF_OK)
        return PF_ERR_INPUT;
    char *base = pf_dirname(L->d.path);
    char *path = pf_path_join(base, rel);
    free(base);
    free(rel);
    DrizzleConfig *dc = NULL;
    DrizzleConfigMigrations m = {0};
    PfErr err;
    PfErrCode rc = drizzle_config_read(path, &dc, &err);
    if (rc == PF_OK)
        rc = drizzle_config_migrations(dc, true, "set migrations.dir in the inventory",
                                       "set migrations.schema and migrations.table in the "
                                       "inventory",
                                       &m, &err);
    drizzle_config_free(dc);
    free(path);
    if (rc != PF_OK)
        return inv_fail(&L->d, val, "migrations.drizzle_config: %s", err.msg);
    free(L->inv->migrations_dir);
    L->inv->migrations_dir = m.dir;
    if (m.schema) {
        free(L->schema);
        L->schema = m.schema;
    }
    if (m.table) {
        free(L->table);
        L->table = m.table;
    }
    return PF_OK;
}

static PfErrCode load_migrations(Loader *L, const InvNode *n)
{
    bool present;
    if (container(L, INV_AT_TOP, "migrations", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (inv_keys_check(&L->d, n, INV_AT_MIGRATIONS, "in migrations") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *val = inv_node(&L->d, p->value);
        if (strcmp(key, "drizzle_config") == 0 &&
            (inv_value_check(&L->d, key_at(INV_AT_MIGRATIONS, key), val) != PF_OK ||
             load_drizzle_config(L, val) != PF_OK))
            return PF_ERR_INPUT;
    }
    for (InvNodePair *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *val = inv_node(&L->d, p->value);
        if (strcmp(key, "drizzle_config") == 0)
            continue;
        if (inv_value_check(&L->d, key_at(INV_AT_MIGRATIONS, key), val) != PF_OK)
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
            char *base = pf_dirname(L->d.path);
            free(L->inv->migrations_dir);
            L->inv->migrations_dir = pf_path_join(base, rel);
            free(base);
            free(dir);
        } else if (expand_ident(L, INV_AT_MIGRATIONS, val, key,
                                strcmp(key, "table") == 0 ? &L->table : &L->schema) != PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

/* drift: {scratch_dsn, schemas, audit, plan} (docs/drift.md). */
static PfErrCode load_drift(Loader *L, const InvNode *n)
{
    bool present;
    if (container(L, INV_AT_TOP, "drift", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (inv_keys_check(&L->d, n, INV_AT_DRIFT, "in drift") != PF_OK ||
        inv_keys_required(&L->d, n, INV_AT_DRIFT, "in drift") != PF_OK)
        return PF_ERR_INPUT;
    InvDrift *d = &L->inv->drift;
    for (InvNodePair *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *val = inv_node(&L->d, p->value);
        const InvKey *k = key_at(INV_AT_DRIFT, key);
        if (inv_value_check(&L->d, k, val) != PF_OK)
            return PF_ERR_INPUT;
        if (strcmp(key, "schemas") == 0) {
            bool list = val->type == YAML_SEQUENCE_NODE;
            size_t count =
                list ? (size_t)(val->data.sequence.items.top - val->data.sequence.items.start) : 1;
            d->schemas = pf_calloc(count, sizeof *d->schemas);
            for (size_t i = 0; i < count; i++) {
                const InvNode *item =
                    list ? inv_node(&L->d, val->data.sequence.items.start[i]) : val;
                if (expand_nonempty(L, item, "schemas", &d->schemas[d->n_schemas]) != PF_OK)
                    return PF_ERR_INPUT;
                d->n_schemas++;
            }
            continue;
        }
        char *v;
        InvValue x;
        if (expand_value(L, k, val, &v, &x) != PF_OK)
            return PF_ERR_INPUT;
        if (strcmp(key, "scratch_dsn") == 0) {
            free(d->scratch_dsn);
            d->scratch_dsn = v;
            v = NULL;
        } else if (strcmp(key, "audit") == 0) {
            d->audit = x.n != 0;
        } else {
            d->plan = x.n != 0;
        }
        free(v);
    }
    return PF_OK;
}

static PfErrCode load_defaults(Loader *L, const InvNode *n)
{
    bool present;
    if (container(L, INV_AT_TOP, "defaults", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    if (inv_keys_check(&L->d, n, INV_AT_DEFAULTS, "in defaults") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        if (strcmp(key, "via") == 0) {
            if (load_via(L, inv_node(&L->d, p->value), &L->default_via) != PF_OK)
                return PF_ERR_INPUT;
        } else if (apply_setting(L, key, inv_node(&L->d, p->value), &L->defaults) != PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

/* ---- one target entry: shape ---- */

static PfErrCode check_label_key(Loader *L, const InvNode *key)
{
    const char *k = inv_text(key);
    if (strcmp(k, "name") == 0)
        return inv_fail(&L->d, key,
                        "label key 'name' is reserved: selectors use it for the target name");
    if (!*k || strpbrk(k, ",=! \t\r\n"))
        return inv_fail(&L->d, key,
                        "bad label key '%s': keys must be non-empty, without ',', '=', '!' or "
                        "whitespace",
                        k);
    return PF_OK;
}

static PfErrCode check_no_nul(Loader *L, const InvNode *n, const char *what)
{
    if (strlen(inv_text(n)) != n->data.scalar.length)
        return inv_fail(&L->d, n, "%s must not contain NUL characters", what);
    return PF_OK;
}

/* A mapping whose values must all be scalars (labels, for_each items). */
static PfErrCode check_scalar_map(Loader *L, const InvNode *map, const char *what, bool label_keys)
{
    if (inv_keys_check(&L->d, map, INV_AT_ANY, what) != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        InvNode *key = inv_node(&L->d, p->key), *val = inv_node(&L->d, p->value);
        if (label_keys && check_label_key(L, key) != PF_OK)
            return PF_ERR_INPUT;
        if (val->type != YAML_SCALAR_NODE)
            return inv_fail(&L->d, val, "%s '%s' must be a scalar, not %s", what, inv_text(key),
                            inv_kind(val));
        if (check_no_nul(L, val, inv_text(key)) != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

static PfErrCode check_for_each(Loader *L, const InvNode *val)
{
    for (InvNodeItem *i = val->data.sequence.items.start; i < val->data.sequence.items.top; i++) {
        InvNode *item = inv_node(&L->d, *i);
        if (item->type == YAML_MAPPING_NODE) {
            if (check_scalar_map(L, item, "for_each key", false) != PF_OK)
                return PF_ERR_INPUT;
        } else if (item->type != YAML_SCALAR_NODE) {
            return inv_fail(&L->d, item,
                            "for_each items must be scalars or mappings of scalars, not %s",
                            inv_kind(item));
        } else if (inv_is_null(item)) {
            return inv_fail(&L->d, item, "empty for_each item");
        } else if (check_no_nul(L, item, "for_each item") != PF_OK ||
                   inv_charge(&L->d, item, item->data.scalar.length) != PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

static PfErrCode check_entry(Loader *L, const InvNode *entry)
{
    if (entry->type != YAML_MAPPING_NODE)
        return inv_fail(&L->d, entry, "each target must be a mapping, not %s", inv_kind(entry));
    if (inv_keys_check(&L->d, entry, INV_AT_TARGET, "in target") != PF_OK ||
        inv_keys_required(&L->d, entry, INV_AT_TARGET, "in target") != PF_OK)
        return PF_ERR_INPUT;
    for (InvNodePair *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *val = inv_node(&L->d, p->value);
        if (strcmp(key, "expect") == 0 || strcmp(key, "backup") == 0) {
            if ((key[0] == 'e' ? check_expect(L, val) : check_backup(L, val)) != PF_OK)
                return PF_ERR_INPUT;
            continue;
        }
        if (inv_value_check(&L->d, key_at(INV_AT_TARGET, key), val) != PF_OK)
            return PF_ERR_INPUT;
        if (val->type == YAML_SCALAR_NODE) {
            continue;
        } else if (strcmp(key, "labels") == 0) {
            if (check_scalar_map(L, val, "label", true) != PF_OK)
                return PF_ERR_INPUT;
        } else if (strcmp(key, "schema_map") == 0) {
            if (check_scalar_map(L, val, "schema_map entry", false) != PF_OK)
                return PF_ERR_INPUT;
        } else if (strcmp(key, "migrations") == 0) {
            InvNode *dir = NULL;
            for (InvNodePair *q = val->data.mapping.pairs.start; q < val->data.mapping.pairs.top;
                 q++) {
                InvNode *k = inv_node(&L->d, q->key);
                if (k->type == YAML_SCALAR_NODE && strcmp(inv_text(k), "dir") == 0)
                    dir = k;
            }
            if (dir)
                return inv_fail(&L->d, dir,
                                "migrations.dir cannot be set per target: one migrations folder "
                                "per run; hint: set it in the top-level migrations");
            if (inv_keys_check(&L->d, val, INV_AT_TARGET_MIGRATIONS, "in target migrations") !=
                PF_OK)
                return PF_ERR_INPUT;
            for (InvNodePair *q = val->data.mapping.pairs.start; q < val->data.mapping.pairs.top;
                 q++) {
                const InvKey *k =
                    key_at(INV_AT_TARGET_MIGRATIONS, inv_text(inv_node(&L->d, q->key)));
                if (inv_value_check(&L->d, k, inv_node(&L->d, q->value)) != PF_OK)
                    return PF_ERR_INPUT;
            }
        } else if (check_for_each(L, val) != PF_OK) {
            return PF_ERR_INPUT;
        }
    }
    return PF_OK;
}

/* ---- one target entry: building ---- */

/* A target being built: its strings are its own until inv_target_settle. */
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
    free(t->tenant_schema);
    for (size_t i = 0; i < t->n_schema_map; i++) {
        free(t->schema_map[i].key);
        free(t->schema_map[i].value);
    }
    free(t->schema_map);
    settings_free(&t->settings);
    free(t->via);
    free(t->route);
}

static PfErrCode build_labels(Loader *L, const InvNode *map, InvTarget *t)
{
    if (map->type != YAML_MAPPING_NODE)
        return PF_OK; /* null: no labels */
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    t->labels = pf_calloc(n, sizeof *t->labels);
    for (InvNodePair *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        InvNode *val = inv_node(&L->d, p->value);
        char *v;
        if (inv_is_null(val))
            v = pf_strdup("");
        else if (expand(L, val, &v) != PF_OK)
            return PF_ERR_INPUT;
        t->labels[t->n_labels].key = pf_strdup(inv_text(inv_node(&L->d, p->key)));
        t->labels[t->n_labels].value = v;
        t->n_labels++;
    }
    return PF_OK;
}

/* schema_map: each folder schema (a key, as PostgreSQL names it) to the tenant's (expanded);
 * both non-empty identifiers of at most 63 bytes. */
static PfErrCode build_schema_map(Loader *L, const InvNode *map, InvTarget *t)
{
    if (map->type != YAML_MAPPING_NODE)
        return PF_OK; /* null: the default map */
    size_t max = (size_t)key_at(INV_AT_TARGET, "schema")->max;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    t->schema_map = pf_calloc(n ? n : 1, sizeof *t->schema_map);
    for (InvNodePair *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        InvNode *k = inv_node(&L->d, p->key), *val = inv_node(&L->d, p->value);
        const char *from = inv_text(k);
        if (!*from || strlen(from) > max)
            return inv_fail(&L->d, k, "schema_map key '%s' must be a schema name of 1 to %zu bytes",
                            from, max);
        char *to = NULL;
        if (inv_is_null(val) || expand(L, val, &to) != PF_OK || !*to || strlen(to) > max) {
            PfErrCode rc = inv_is_null(val) || (to && (!*to || strlen(to) > max))
                               ? inv_fail(&L->d, val,
                                          "schema_map '%s' must map to a schema name of 1 to "
                                          "%zu bytes",
                                          from, max)
                               : PF_ERR_INPUT;
            free(to);
            return rc;
        }
        t->schema_map[t->n_schema_map++] = (InvLabel){pf_strdup(from), to};
    }
    return PF_OK;
}

/* A tenant target: its ledger in its schema unless the target names one, and public mapped to
 * its schema unless it has a schema_map. Also for discovered targets (entry NULL: they have
 * no schema_map). */
static PfErrCode finish_tenant(Loader *L, const InvNode *entry, InvTarget *t,
                               bool ledger_schema_set)
{
    if (!t->tenant_schema) {
        if (t->schema_map)
            return inv_fail(&L->d, entry,
                            "target '%s' has a schema_map but no schema; hint: set schema: to "
                            "the tenant schema the folder is applied in",
                            t->name ? t->name : "");
        return PF_OK;
    }
    if (!ledger_schema_set) {
        free(t->schema);
        t->schema = pf_strdup(t->tenant_schema);
    }
    if (!t->schema_map) {
        t->schema_map = pf_calloc(1, sizeof *t->schema_map);
        t->schema_map[0] = (InvLabel){pf_strdup("public"), pf_strdup(t->tenant_schema)};
        t->n_schema_map = 1;
    }
    return PF_OK;
}

static PfErrCode build_target(Loader *L, const InvNode *entry, size_t entry_index)
{
    if (L->inv->n >= L->max_targets)
        return inv_fail(&L->d, entry, TOO_MANY_TARGETS, L->max_targets);
    InvTarget t = {0};
    t.schema = pf_strdup(L->schema);
    t.table = pf_strdup(L->table);
    settings_copy(&t.settings, &L->defaults);
    t.via = pf_strdup(L->default_via);
    t.line = (int)entry->start_mark.line + 1;
    t.column = (int)entry->start_mark.column + 1;
    NameMark mark = {0, 0, entry_index};
    bool ledger_schema_set = false;
    for (InvNodePair *p = entry->data.mapping.pairs.start; p < entry->data.mapping.pairs.top; p++) {
        const char *key = inv_text(inv_node(&L->d, p->key));
        InvNode *val = inv_node(&L->d, p->value);
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
            for (InvNodePair *q = val->data.mapping.pairs.start;
                 q < val->data.mapping.pairs.top && rc == PF_OK; q++) {
                const char *k = inv_text(inv_node(&L->d, q->key));
                rc = expand_ident(L, INV_AT_TARGET_MIGRATIONS, inv_node(&L->d, q->value), k,
                                  strcmp(k, "table") == 0 ? &t.table : &t.schema);
                ledger_schema_set = ledger_schema_set || strcmp(k, "schema") == 0;
            }
        } else if (strcmp(key, "via") == 0) {
            rc = load_via(L, val, &t.via);
        } else if (strcmp(key, "schema") == 0) {
            if (!inv_is_null(val))
                rc = expand_ident(L, INV_AT_TARGET, val, "schema", &t.tenant_schema);
        } else if (strcmp(key, "schema_map") == 0) {
            rc = build_schema_map(L, val, &t);
        } else if (strcmp(key, "for_each") != 0) {
            rc = apply_setting(L, key, val, &t.settings);
        }
        if (rc != PF_OK) {
            target_free(&t);
            return PF_ERR_INPUT;
        }
    }
    if (finish_tenant(L, entry, &t, ledger_schema_set) != PF_OK) {
        target_free(&t);
        return PF_ERR_INPUT;
    }
    t.dsn_masked = inv_mask_dsn(t.dsn);
    t.route = route_of(L->inv, t.via);
    Inventory *inv = L->inv;
    inv_target_settle(inv, &t);
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
static PfErrCode item_bindings(Loader *L, const InvNode *item, InvLabel **out, size_t *n)
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
    for (InvNodePair *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        InvNode *val = inv_node(&L->d, p->value);
        char *v;
        if (inv_is_null(val))
            v = pf_strdup("");
        else if (expand(L, val, &v) != PF_OK) {
            free_bindings(b, *n);
            return PF_ERR_INPUT;
        }
        b[*n].key = pf_strdup(inv_text(inv_node(&L->d, p->key)));
        b[*n].value = v;
        (*n)++;
    }
    *out = b;
    return PF_OK;
}

static PfErrCode load_entry(Loader *L, const InvNode *entry, size_t entry_index)
{
    if (check_entry(L, entry) != PF_OK)
        return PF_ERR_INPUT;
    InvNode *fe = inv_map_get(&L->d, entry, "for_each");
    if (!fe)
        return build_target(L, entry, entry_index);
    if (fe->type != YAML_SEQUENCE_NODE)
        return PF_OK; /* null: no items, no targets */
    for (InvNodeItem *i = fe->data.sequence.items.start; i < fe->data.sequence.items.top; i++) {
        InvNode *item = inv_node(&L->d, *i);
        PfErrCode rc = item_bindings(L, item, &L->each, &L->n_each);
        if (rc == PF_OK) {
            L->d.item = item;
            L->in_for_each = true;
            rc = build_target(L, entry, entry_index);
        }
        free_bindings(L->each, L->n_each);
        L->each = NULL;
        L->n_each = 0;
        L->d.item = NULL;
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
static PfErrCode plugin_config_value(Loader *L, const InvNode *key, const InvNode *val, char **out)
{
    if (val->type == YAML_SCALAR_NODE)
        return inv_is_null(val) ? (*out = pf_strdup(""), PF_OK) : expand(L, val, out);
    if (val->type != YAML_SEQUENCE_NODE)
        return inv_fail(&L->d, val,
                        "plugin config '%s' must be a scalar or a list of scalars, not %s",
                        inv_text(key), inv_kind(val));
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, "");
    for (InvNodeItem *i = val->data.sequence.items.start; i < val->data.sequence.items.top; i++) {
        InvNode *item = inv_node(&L->d, *i);
        char *v;
        if (item->type != YAML_SCALAR_NODE) {
            free(pf_buf_take(&b));
            return inv_fail(&L->d, item, "plugin config '%s' must be a list of scalars, not of %s",
                            inv_text(key), inv_kind(item));
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

static PfErrCode load_plugin(Loader *L, const InvNode *entry)
{
    if (entry->type != YAML_MAPPING_NODE)
        return inv_fail(&L->d, entry,
                        "a plugins entry must be a mapping {path: ..., config: {...}}, not %s",
                        inv_kind(entry));
    if (inv_keys_check(&L->d, entry, INV_AT_PLUGIN, "in a plugins entry") != PF_OK ||
        inv_keys_required(&L->d, entry, INV_AT_PLUGIN, "in a plugins entry") != PF_OK)
        return PF_ERR_INPUT;
    InvNode *path = inv_map_get(&L->d, entry, "path");
    InvNode *config = inv_map_get(&L->d, entry, "config");
    if (inv_value_check(&L->d, key_at(INV_AT_PLUGIN, "path"), path) != PF_OK)
        return PF_ERR_INPUT;
    InvPlugin p = {.line = (int)entry->start_mark.line + 1,
                   .column = (int)entry->start_mark.column + 1};
    char *raw;
    if (expand_nonempty(L, path, "path", &raw) != PF_OK)
        return PF_ERR_INPUT;
    p.path = plugin_path(L, raw);
    free(raw);
    bool present = false;
    if (config && container(L, INV_AT_PLUGIN, "config", config, &present) != PF_OK) {
        plugin_free(&p);
        return PF_ERR_INPUT;
    }
    if (present) {
        size_t n = (size_t)(config->data.mapping.pairs.top - config->data.mapping.pairs.start);
        p.config = pf_calloc(n ? n : 1, sizeof *p.config);
        for (InvNodePair *q = config->data.mapping.pairs.start; q < config->data.mapping.pairs.top;
             q++) {
            InvNode *key = inv_node(&L->d, q->key);
            char *v;
            if (key->type != YAML_SCALAR_NODE || !*inv_text(key)) {
                plugin_free(&p);
                return inv_fail(&L->d, key, "plugin config keys must be non-empty scalars");
            }
            if (plugin_config_value(L, key, inv_node(&L->d, q->value), &v) != PF_OK) {
                plugin_free(&p);
                return PF_ERR_INPUT;
            }
            p.config[p.n_config].key = pf_strdup(inv_text(key));
            p.config[p.n_config].value = v;
            p.n_config++;
        }
    }
    Inventory *inv = L->inv;
    inv->plugins = pf_realloc(inv->plugins, (inv->n_plugins + 1) * sizeof *inv->plugins);
    inv->plugins[inv->n_plugins++] = p;
    return PF_OK;
}

static PfErrCode load_plugins(Loader *L, const InvNode *n)
{
    bool present = false;
    if (container(L, INV_AT_TOP, "plugins", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    for (InvNodeItem *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
        if (load_plugin(L, inv_node(&L->d, *i)) != PF_OK)
            return PF_ERR_INPUT;
    return PF_OK;
}

static bool label_key_ok(const char *k)
{
    return *k && strcmp(k, "name") != 0 && !strpbrk(k, ",=! \t\r\n");
}

static bool ident_ok(const char *s, size_t max)
{
    return *s && strlen(s) <= max;
}

PfErrCode inv_discovered_add(InvDiscovery *d, const InvPlugin *source, const InvDiscovered *found,
                             PfErr *err)
{
    Loader *L = d->L;
    Inventory *inv = L->inv;
    size_t max_ident = (size_t)key_at(INV_AT_MIGRATIONS, "schema")->max;
    const char *name = found->name, *what = NULL;
    if (!name || !*name)
        what = "a discovered target has no name";
    else if (!found->dsn || !*found->dsn)
        what = "has no dsn";
    else if ((found->schema && !ident_ok(found->schema, max_ident)) ||
             (found->table && !ident_ok(found->table, max_ident)))
        what = "has an empty ledger schema or table, or one longer than 63 bytes";
    else if (found->tenant_schema && !ident_ok(found->tenant_schema, max_ident))
        what = "has an empty tenant schema, or one longer than 63 bytes";
    for (size_t i = 0; !what && i < found->n_labels; i++)
        if (!found->labels[i].key || !label_key_ok(found->labels[i].key) || !found->labels[i].value)
            what = "has a bad label key (non-empty, not 'name', without ',', '=', '!' or "
                   "whitespace)";
    if (!what && inv->n >= L->max_targets)
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s: " TOO_MANY_TARGETS, L->d.path,
                          source->line, source->column, source->path, L->max_targets);
    /* The set borrows its strings: the inventory keeps this one. */
    char *copy = what ? NULL : inv_keep(inv, name);
    if (copy && !pf_strset_add(&L->names, copy, inv->n, NULL))
        what = "duplicates the name of a target already in the inventory";
    if (what)
        return pf_err_set(err, PF_ERR_INPUT, "%s:%d:%d: plugin %s: target '%s' %s", L->d.path,
                          source->line, source->column, source->path, name ? name : "", what);
    InvTarget t = {0};
    t.dsn = pf_strdup(found->dsn);
    t.dsn_masked = inv_mask_dsn(found->dsn);
    t.labels = pf_calloc(found->n_labels ? found->n_labels : 1, sizeof *t.labels);
    for (size_t i = 0; i < found->n_labels; i++)
        t.labels[t.n_labels++] =
            (InvLabel){pf_strdup(found->labels[i].key), pf_strdup(found->labels[i].value)};
    t.schema = pf_strdup(found->schema ? found->schema : L->schema);
    t.table = pf_strdup(found->table ? found->table : L->table);
    t.tenant_schema = pf_strdup(found->tenant_schema);
    (void)finish_tenant(L, NULL, &t, found->schema != NULL); /* no schema_map: cannot fail */
    settings_copy(&t.settings, &L->defaults);
    t.via = pf_strdup(L->default_via);
    t.route = route_of(inv, t.via);
    t.line = source->line;
    t.column = source->column;
    inv_target_settle(inv, &t);
    t.name = copy;
    PF_GROW(inv->targets, L->targets_cap, inv->n + 1);
    inv->targets[inv->n++] = t;
    return PF_OK;
}

/* ---- duplicate names ---- */

/* Report the earliest target (in file order) whose name an earlier target already has. The
 * names stay in L->names for the targets plugins add. */
static PfErrCode check_duplicates(Loader *L)
{
    Inventory *inv = L->inv;
    for (size_t i = 0; i < inv->n; i++) {
        size_t first;
        if (pf_strset_add(&L->names, inv->targets[i].name, i, &first))
            continue;
        const NameMark *a = &L->marks[first], *b = &L->marks[i];
        if (a->entry == b->entry)
            return inv_fail_at(&L->d, b->line, b->column,
                               "for_each gives several targets the same name '%s'; hint: use "
                               "${each} or ${each.KEY} in name",
                               inv->targets[i].name);
        return inv_fail_at(&L->d, b->line, b->column,
                           "duplicate target name '%s' (first at line %d)", inv->targets[i].name,
                           a->line);
    }
    return PF_OK;
}

/* ---- the document ---- */

static PfErrCode yaml_error(Loader *L, const yaml_parser_t *parser, const char *data, size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return pf_err_set(L->d.err, PF_ERR_INTERNAL, "%s: out of memory while parsing", L->d.path);
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
            return inv_fail_at(&L->d, line, column, "invalid yaml: %s (byte 0x%02X)", problem,
                               (unsigned)parser->problem_value & 0xFFu);
        return inv_fail_at(&L->d, line, column, "invalid yaml: %s", problem);
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
        return inv_fail_at(&L->d, line, column, "invalid yaml: %s (%s at line %d, column %d)%s",
                           problem, parser->context, (int)parser->context_mark.line + 1,
                           (int)parser->context_mark.column + 1, hint);
    return inv_fail_at(&L->d, line, column, "invalid yaml: %s", problem);
}

/* max_targets: the target cap, and with it the expansion budget. */
static PfErrCode load_max_targets(Loader *L, const InvNode *n)
{
    const InvKey *k = key_at(INV_AT_TOP, "max_targets");
    bool null;
    char *v;
    InvValue x;
    if (inv_value_check(&L->d, k, n) != PF_OK || inv_value_null(&L->d, k, n, &null) != PF_OK ||
        expand_value(L, k, n, &v, &x) != PF_OK)
        return PF_ERR_INPUT;
    free(v);
    L->max_targets = (size_t)x.n;
    L->d.budget = L->max_targets * INV_BYTES_PER_TARGET;
    return PF_OK;
}

static PfErrCode load_root(Loader *L)
{
    InvNode *root = inv_yaml_root(L->d.doc);
    if (!root)
        return inv_fail_at(&L->d, 1, 1,
                           "the inventory is empty; expected a mapping with 'targets'");
    if (root->type != YAML_MAPPING_NODE)
        return inv_fail(&L->d, root, "the inventory must be a mapping with 'targets', not %s",
                        inv_kind(root));
    if (inv_keys_check(&L->d, root, INV_AT_TOP, "at top level") != PF_OK)
        return PF_ERR_INPUT;
    InvNode *n;
    /* The cap first: it bounds everything after it. */
    if ((n = inv_map_get(&L->d, root, "max_targets")) && load_max_targets(L, n) != PF_OK)
        return PF_ERR_INPUT;
    /* Tunnels next: defaults and targets name them in via. */
    if ((n = inv_map_get(&L->d, root, "tunnels")) && load_tunnels(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = inv_map_get(&L->d, root, "migrations")) && load_migrations(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = inv_map_get(&L->d, root, "defaults")) && load_defaults(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = inv_map_get(&L->d, root, "plugins")) && load_plugins(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if ((n = inv_map_get(&L->d, root, "drift")) && load_drift(L, n) != PF_OK)
        return PF_ERR_INPUT;
    if (inv_keys_required(&L->d, root, INV_AT_TOP, "at top level") != PF_OK)
        return PF_ERR_INPUT;
    n = inv_map_get(&L->d, root, "targets");
    bool present;
    if (container(L, INV_AT_TOP, "targets", n, &present) != PF_OK)
        return PF_ERR_INPUT;
    if (present) {
        for (InvNodeItem *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
            L->d.entry = inv_node(&L->d, *i);
            if (load_entry(L, L->d.entry, (size_t)(i - n->data.sequence.items.start)) != PF_OK)
                return PF_ERR_INPUT;
            L->d.entry = NULL;
        }
    }
    if (check_duplicates(L) != PF_OK)
        return PF_ERR_INPUT;
    /* Plugins add their targets after the file's own, before waves choose among them. */
    if (L->discover) {
        InvDiscovery d = {L};
        if (L->discover(L->discover_ctx, L->inv, &d, L->d.err) != PF_OK)
            return L->d.err->code ? L->d.err->code : PF_ERR_INPUT;
    }
    /* Waves last: they choose among the targets (waves.c). */
    if ((n = inv_map_get(&L->d, root, "waves")))
        return inv_waves_load(&L->d, n, L->inv);
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
    Loader L = {.d = {.path = path,
                      .err = err ? err : &local,
                      .budget = (size_t)INV_MAX_TARGETS_DEFAULT * INV_BYTES_PER_TARGET},
                .max_targets = INV_MAX_TARGETS_DEFAULT,
                .discover = discover,
                .discover_ctx = ctx};
    pf_err_clear(L.d.err);
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
    InvYaml *doc, *extra;
    if (!yaml_parser_initialize(&parser)) {
        fprintf(stderr, "pgfleet: out of memory initialising the yaml parser\n");
        abort();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!inv_yaml_load(&parser, &doc)) {
        rc = yaml_error(&L, &parser, data, len);
        yaml_parser_delete(&parser);
        free(data);
    } else {
        /* Anything after the first document is a mistake, not something to ignore; it is read
         * now, so that the file's text is freed before the targets are built, and reported
         * only if the first document has no problem. */
        PfErr *err_out = L.d.err, after;
        PfErrCode after_rc = PF_OK;
        L.d.err = &after;
        if (!inv_yaml_load(&parser, &extra)) {
            after_rc = yaml_error(&L, &parser, data, len);
        } else {
            InvNode *r = inv_yaml_root(extra);
            if (r)
                after_rc =
                    inv_fail_at(&L.d, (int)r->start_mark.line + 1, (int)r->start_mark.column + 1,
                                "the inventory must be a single yaml document");
            inv_yaml_free(extra);
        }
        L.d.err = err_out;
        yaml_parser_delete(&parser);
        free(data);
        L.d.doc = doc;
        rc = load_root(&L);
        if (rc == PF_OK && after_rc != PF_OK) {
            *L.d.err = after;
            rc = after_rc;
        }
        inv_yaml_free(doc);
    }
    settings_free(&L.defaults);
    free(L.default_via);
    free(L.schema);
    free(L.table);
    free(L.marks);
    pf_strset_free(&L.names);
    if (rc != PF_OK) {
        inv_free(L.inv);
        return rc;
    }
    /* The array grew by doubling: give back what the targets do not use. */
    if (L.inv->n && L.targets_cap > L.inv->n)
        L.inv->targets = pf_realloc(L.inv->targets, L.inv->n * sizeof *L.inv->targets);
    *out = L.inv;
    return PF_OK;
}

void inv_free(Inventory *inv)
{
    if (!inv)
        return;
    free(inv->targets); /* their strings are in inv->strings */
    inv_strings_free(inv);
    for (size_t i = 0; i < inv->n_tunnels; i++)
        tunnel_free(&inv->tunnels[i]);
    free(inv->tunnels);
    inv_waves_free(inv);
    for (size_t i = 0; i < inv->n_plugins; i++)
        plugin_free(&inv->plugins[i]);
    free(inv->plugins);
    free(inv->migrations_dir);
    free(inv->drift.scratch_dsn);
    for (size_t i = 0; i < inv->drift.n_schemas; i++)
        free(inv->drift.schemas[i]);
    free(inv->drift.schemas);
    free(inv->path);
    free(inv);
}
