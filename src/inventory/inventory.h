/*
 * The inventory: a YAML file (read with libyaml) that lists the fleet's targets.
 *
 *   migrations: {dir: ./drizzle, table: __drizzle_migrations, schema: drizzle}
 *   defaults:   {connect_timeout: 10s, lock_wait: 30s, lock_timeout: 0, statement_timeout: 0,
 *                sslmode: prefer, application_name: pgfleet, transaction: all, lock_key: 42}
 *   targets:
 *     - name: staging
 *       dsn: postgres://app:${STAGING_PASSWORD}@db-staging/app
 *       labels: {env: staging}
 *     - name: tenant-${each}            # for_each expands one entry into many targets
 *       for_each: [acme, globex]        # scalars -> ${each}; mappings -> ${each.KEY}
 *       dsn: postgres://app@db/${each}
 *       migrations: {schema: "${each}"} # per-target ledger schema/table; in [...] or {...}
 *                                       # quote values holding ${...}
 *
 *   tunnels:                             # SSH tunnels (docs/tunnels.md), by name
 *     eu-bastion: {host: bastion.eu, user: deploy, identity: ~/.ssh/id_ed25519, via: jump}
 *   (a target, or defaults, says `via: eu-bastion`; `via: null` on a target goes direct)
 *
 *   waves:                               # rolling apply, in this order (docs/waves.md)
 *     - {name: canary, targets: [staging], max_failures: 0, pause: 5m, confirm: true}
 *     - {name: rest, select: all, parallel: 8, max_failures: 5%, check: "select true"}
 *   (a target belongs to the first wave that selects it; every target must be in one)
 *
 *   A target (or defaults) may say what it must reach, checked on connecting, and how old a
 *   transaction must be for plan to warn of it:
 *     expect: {database: app, user: app, system_identifier: "7311068311429248415"}
 *     preflight_long_xact: 60s
 *
 * ${VAR} and ${VAR:-default} expand from the environment in every scalar. Any defaults key
 * may also be set on a target. Errors carry file:line:column and nothing is run.
 */
#ifndef PF_INVENTORY_H
#define PF_INVENTORY_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { INV_TX_ALL, INV_TX_PER_MIGRATION } InvTransaction;

typedef struct InvLabel {
    char *key;
    char *value;
} InvLabel;

/* What a target must be (the `expect` setting): checked right after connecting, before
 * anything else runs; a mismatch refuses the target (docs/inventory.md). NULL = not checked.
 * A target's keys override the defaults' keys one by one. */
typedef struct InvExpect {
    char *database;          /* current_database() */
    char *user;              /* current_user */
    char *system_identifier; /* pg_control_system().system_identifier, in decimal */
} InvExpect;

/* Backups before apply (the `backup` setting, docs/backups.md). A target's keys override the
 * defaults' keys one by one. */
typedef enum { INV_BACKUP_NON_EMPTY, INV_BACKUP_ALWAYS, INV_BACKUP_NEVER } InvBackupWhen;
typedef enum { INV_BACKUP_CUSTOM, INV_BACKUP_DIRECTORY } InvBackupFormat;

typedef struct InvBackup {
    char *dir; /* where dumps go (relative to the inventory's folder, expanded); NULL: none */
    InvBackupWhen when;     /* default non-empty */
    InvBackupFormat format; /* pg_dump --format; default custom */
    int jobs;               /* pg_dump --jobs (directory format only); 0 = 1 */
    int keep;               /* dumps kept per target, the newest; 0 = all */
} InvBackup;

/* Connection and locking settings: defaults, overridden per target. Durations in ms; 0 = none. */
typedef struct InvSettings {
    int64_t connect_timeout_ms;   /* default 10000 */
    int64_t lock_wait_ms;         /* how long apply waits for the advisory lock; default 30000 */
    int64_t lock_timeout_ms;      /* server lock_timeout during apply; default 0 */
    int64_t statement_timeout_ms; /* server statement_timeout during apply; default 0 */
    char *sslmode;                /* NULL = libpq's default (or PGSSLMODE) */
    char *application_name;       /* default "pgfleet" */
    InvTransaction transaction;   /* default INV_TX_ALL */
    bool lock_key_set;
    int64_t lock_key; /* when unset, derived from schema and table */
    InvExpect expect;
    int64_t preflight_long_xact_ms; /* plan warns of transactions older than this; 60000 */
    bool create_schema;             /* apply creates a missing tenant schema; default false */
    int max_per_server; /* most connections at once to the target's server; 0 = the default */
    InvBackup backup;
} InvSettings;

/* max_per_server when a target says 0 or nothing. */
#define INV_MAX_PER_SERVER_DEFAULT 16

/* A target's strings and arrays belong to its inventory (inv_target_settle): texts many targets
 * share (schema, table, labels, settings, via, route) are one copy; never free them one by one. */
typedef struct InvTarget {
    char *name;
    char *dsn;        /* as expanded: may hold a password; never print it (use dsn_masked) */
    char *dsn_masked; /* the dsn with any password replaced by "****" */
    InvLabel *labels;
    size_t n_labels;
    char *schema; /* ledger schema, default "drizzle" (the tenant schema for a tenant) */
    char *table;  /* ledger table, default "__drizzle_migrations" */
    /* Schema-per-tenant (docs/tenants.md): the schema the folder is applied in (`schema:`),
     * or NULL; and which of the folder's schemas become which of the tenant's (`schema_map`,
     * by default public -> tenant_schema), as InvLabel key (folder) -> value (tenant). */
    char *tenant_schema;
    InvLabel *schema_map;
    size_t n_schema_map;
    InvSettings settings;
    int line; /* where the entry stands in the inventory file (1-based) */
    int column;
    char *via;   /* the tunnel this target is reached through, or NULL (direct) */
    char *route; /* "via jump > eu-bastion" (outermost hop first), or NULL when direct */
} InvTarget;

typedef enum { INV_HOST_KEY_STRICT, INV_HOST_KEY_ACCEPT_NEW } InvHostKeyPolicy;

/* An SSH tunnel (a bastion), from the top-level `tunnels` mapping. Paths are expanded: `~` is
 * $HOME, a relative path is taken relative to the inventory file's directory. */
typedef struct InvTunnel {
    char *name;
    char *host;
    int port; /* default 22 */
    char *user;
    char **identity; /* private key files, tried in order; may be empty when agent is true */
    size_t n_identity;
    char *passphrase_env; /* name of the environment variable holding the keys' passphrase */
    bool agent;           /* also try the keys of ssh-agent (SSH_AUTH_SOCK) */
    char *known_hosts;    /* default ~/.ssh/known_hosts */
    InvHostKeyPolicy host_key_policy;
    int64_t keepalive_ms;       /* default 15000; 0 = none */
    int64_t connect_timeout_ms; /* default 10000; 0 = none */
    char *via;                  /* the tunnel this one is reached through (a jump host), or NULL */
    int line;                   /* where the tunnel's settings stand in the file (1-based) */
    int column;
} InvTunnel;

/* A wave of a rolling apply (docs/waves.md), from the top-level `waves` list. */
typedef struct InvWave {
    char *name;       /* letters, digits, '-', '_', '.'; unique */
    bool select_all;  /* select: all */
    char **selectors; /* select: label selectors as for -s (all must hold) */
    size_t n_selectors;
    char **globs; /* targets: name globs as for -t (any may match) */
    size_t n_globs;
    int parallel;         /* most targets of the wave at once; 0 = as many as -j allows */
    int64_t max_failures; /* a count, or hundredths of a percent when max_failures_pct */
    bool max_failures_pct;
    char *max_failures_text; /* as written (expanded): "0", "2", "10%" */
    int64_t pause_ms;        /* wait after the wave before the next one; 0 = none */
    bool confirm;            /* ask on the terminal before the next wave */
    char *check;             /* SQL returning one boolean, run on each target; NULL = none */
    int line;                /* where the wave's mapping stands in the file (1-based) */
    int column;
    size_t *targets; /* indexes into Inventory.targets of the targets it owns, in file order */
    size_t n_targets;
} InvWave;

/* A plugin to load (docs/plugins.md), from the top-level `plugins` list. */
typedef struct InvPlugin {
    char *path;       /* expanded; `~` is $HOME, relative to the inventory file's directory */
    InvLabel *config; /* the `config` mapping, values expanded; a list is joined with "," */
    size_t n_config;
    int line; /* where the entry stands in the file (1-based) */
    int column;
} InvPlugin;

/* drift: (docs/drift.md): where the expected schemas are built, and what is compared. */
typedef struct InvDrift {
    char *scratch_dsn; /* a server pgfleet may create and drop databases on; NULL: none */
    char **schemas;    /* compared beside the schemas the migrations create */
    size_t n_schemas;
    bool audit, plan; /* audit / plan check drift without --drift */
} InvDrift;

typedef struct Inventory {
    char *path;
    char *migrations_dir; /* resolved relative to the inventory file; NULL when not given */
    InvTarget *targets;   /* in file order, for_each expanded in place */
    size_t n;
    InvTunnel *tunnels; /* in file order; every via names one of them, without cycles */
    size_t n_tunnels;
    InvWave *waves; /* in file order; none when the file has no waves (one implicit wave) */
    size_t n_waves;
    size_t *wave_of;    /* per target: the index of the first wave selecting it (NULL: no waves) */
    InvPlugin *plugins; /* in file order; loaded by src/plugin/, not here */
    size_t n_plugins;
    struct InvStrings *strings; /* what the targets' strings and arrays are kept in */
    InvDrift drift;
} Inventory;

typedef struct InvStrings InvStrings;

/* A copy of s (NULL for NULL) that inv keeps and frees with itself. inv_intern gives equal
 * texts one copy: for what many targets say alike. */
char *inv_keep(Inventory *inv, const char *s);
char *inv_intern(Inventory *inv, const char *s);

/* Hand t's strings and its label and schema_map arrays (each malloc'd, as a target is built)
 * to inv, which frees them: t then points at inv's copies. Call once, before t is added to
 * inv->targets. */
void inv_target_settle(Inventory *inv, InvTarget *t);

/* Load and validate the file. Errors (PF_ERR_INPUT, message "FILE:LINE:COL: ..."): YAML
 * syntax, unknown keys, wrong types, duplicate target names, an unset ${VAR} without default,
 * a bad duration (or one longer than the server takes), sslmode or transaction value, a via
 * naming no tunnel, a via cycle, more targets than max_targets (default 100000) or aliases that
 * expand past it; and ("FILE: ...") a path that is not a regular file or is over 16 MiB.
 * Identity and known_hosts files are not opened here (only when a tunnel is used). On error
 * *out is NULL. */
PfErrCode inv_load(const char *path, Inventory **out, PfErr *err);
void inv_free(Inventory *inv);

/* ---- discovery: targets that plugins add (docs/plugins.md) ---- */

typedef struct InvDiscovery InvDiscovery; /* handed to the callback; valid during it only */

/* Called by inv_load_discover once the file's targets are loaded and checked for duplicates,
 * before waves choose among them: inv->plugins is set, and inv_discovered_add adds targets.
 * Return PF_OK, or an error (err set; the load fails with it). */
typedef PfErrCode (*InvDiscoverFn)(void *ctx, Inventory *inv, InvDiscovery *d, PfErr *err);

/* inv_load, calling discover (may be NULL) as above. */
PfErrCode inv_load_discover(const char *path, InvDiscoverFn discover, void *ctx, Inventory **out,
                            PfErr *err);

/* A target as a plugin describes it (borrowed strings; NULL where not given). */
typedef struct InvDiscovered {
    const char *name; /* required */
    const char *dsn;  /* required */
    const InvLabel *labels;
    size_t n_labels;
    const char *schema;        /* ledger schema; NULL: the inventory's, or a tenant's own */
    const char *table;         /* ledger table; NULL: the inventory's */
    const char *tenant_schema; /* the schema the folder is applied in; NULL: not a tenant */
} InvDiscovered;

/* Add a target found by the plugin source. The defaults apply as to a file's target, and a
 * tenant's as to a file's target with `schema:` (its ledger in its schema unless found->schema
 * names one; public mapped to it). PF_ERR_INPUT ("FILE:LINE:COL: plugin PATH: target 'x' ...",
 * at the plugin's entry) for an empty name or dsn, a bad label key, a ledger schema or table or
 * a tenant schema that is empty or longer than 63 bytes, or a name the inventory already has.
 * Copies everything. */
PfErrCode inv_discovered_add(InvDiscovery *d, const InvPlugin *source, const InvDiscovered *found,
                             PfErr *err);

/* Expand ${VAR} and ${VAR:-default} in s using getenv, and ${each}/${each.KEY} from the
 * given bindings (n_each pairs, key "" for a scalar item; may be 0). Returns a new string, or
 * NULL with err set (message without position) when a variable is unset without a default. */
char *inv_expand(const char *s, const InvLabel *each, size_t n_each, PfErr *err);

/* Selection. globs: target-name patterns (any may match; none = all). selectors: strings
 * "key=value" or "key!=value", comma-separated lists allowed, all must hold. Values may be
 * globs. Fills *idx (caller frees) with the indexes of selected targets in inventory order.
 * A malformed selector is PF_ERR_INPUT. */
PfErrCode inv_select(const Inventory *inv, const char *const *globs, size_t n_globs,
                     const char *const *selectors, size_t n_selectors, size_t **idx, size_t *n_idx,
                     PfErr *err);

/* A copy of a libpq URL or key=value conninfo with each password replaced by "****": what
 * libpq reads as a password, and in a dsn that looks mistyped (libpq rejects it, or an '@' or
 * '/' in a URL password moved libpq's split) all that may be one (src/inventory/mask.c).
 * NULL for NULL; caller frees. Thread-safe. */
char *inv_mask_dsn(const char *dsn);

/* The passwords a dsn holds (each as written and as libpq decodes it), as inv_mask_dsn hides
 * them. To scrub a message, use inv_dsn_scrub: it also knows the pieces of a mistyped password
 * and replaces whole tokens only. Returns an array of *n strings; the caller frees each and
 * the array (NULL when there are none). */
char **inv_dsn_secrets(const char *dsn, size_t *n);

/* A copy of text (a libpq or server message about dsn) in which every whole token that is one
 * of dsn's passwords, or in a mistyped dsn a piece of one that libpq may have split off, is
 * replaced by "****". Only whole tokens: a one-letter password leaves the words that contain
 * that letter alone. dsn may be NULL (text is copied). Caller frees. Thread-safe. */
char *inv_dsn_scrub(const char *text, const char *dsn);

/* The folder schemas that the tenant targets among idx[0..n) map (every target when idx is
 * NULL), each once, in first-seen order: borrowed strings in an array the caller frees. */
const char **inv_tenant_schemas(const Inventory *inv, const size_t *idx, size_t n, size_t *count);

/* The tunnel named name, or NULL. */
const InvTunnel *inv_tunnel(const Inventory *inv, const char *name);

/* Label value or NULL. */
const char *inv_label(const InvTarget *t, const char *key);

/* ---- waves (waves.c) ---- */

/* The wave named name, or NULL. */
const InvWave *inv_wave(const Inventory *inv, const char *name);

/* Parse a max_failures value: a count ("0", "3") or a percentage of the wave ("10%", "2.5%",
 * at most two decimals, 0 to 100). A percentage is returned in hundredths of a percent with
 * *pct true. False when malformed. */
bool inv_parse_max_failures(const char *s, int64_t *value, bool *pct);

/* How many of a wave's n targets may fail without halting the rollout: the count, or the
 * percentage of n rounded down (50% of 5 is 2). */
size_t inv_wave_allowed_failures(const InvWave *w, size_t n);

/* --wave / --from-wave: keep in idx (selected targets, as inv_select gives them) only the
 * targets of the waves the run covers, ordered wave by wave (file order within a wave), and
 * set [*first, *end) to those waves' indexes. only and from may be NULL (all waves); giving
 * both, naming no wave, or naming a wave when the inventory has none is PF_ERR_INPUT. Without
 * waves idx is unchanged and *first = *end = 0. */
PfErrCode inv_waves_select(const Inventory *inv, const char *only, const char *from, size_t *idx,
                           size_t *n_idx, size_t *first, size_t *end, PfErr *err);

/* Where a plugin given by a bare file name (`path: exec.so`) is looked for when it is not beside
 * the inventory: $PGFLEET_PLUGIN_DIR, else the directory the shipped plugins are installed in
 * (PGFLEET_PLUGIN_DIR, set by the build). Borrowed. */
const char *inv_plugin_dir(void);

/* ---- shards (shard.c, docs/scale.md) ---- */

/* --shard K/N: shard index of count (0 <= index < count); count 0 = not sharded. */
typedef struct InvShard {
    unsigned index;
    unsigned count;
} InvShard;

enum { INV_SHARD_MAX = 100000 };

/* Parse "K/N" (decimal, 0 <= K < N <= INV_SHARD_MAX). False when malformed. */
bool inv_shard_parse(const char *s, InvShard *out);

/* The first four bytes of sha256(name), big-endian: the same on every machine and version. */
uint32_t inv_shard_hash(const char *name);

/* The shard of count that the target named name belongs to: inv_shard_hash(name) % count. */
unsigned inv_shard_of(const char *name, unsigned count);

/* Keep in idx (indexes into inv->targets, order kept) only the targets of shard; no-op when
 * shard.count is 0. Applied after the selection and the waves. positions (may be NULL; room for
 * *n_idx) receives where each kept target stood in idx before. */
void inv_shard_filter(const Inventory *inv, InvShard shard, size_t *idx, size_t *n_idx,
                      size_t *positions);

#endif
