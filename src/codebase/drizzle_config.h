/*
 * drizzle-kit's config file (drizzle.config.ts, .js, .mjs, .cjs or .json), read statically: no
 * JavaScript runs. A small tolerant scanner finds the object literal of
 * `export default defineConfig({...})`, `export default {...} satisfies Config`,
 * `module.exports = {...}`, `export default config` (a `const config = ...` of the same file) or
 * a JSON document, and reads from it the values pgfleet needs: `out`, `migrations.table`,
 * `migrations.schema`, `dbCredentials.url` (or the older `dbCredentials.connectionString`),
 * `dialect`.
 *
 * A value is readable when it is a string literal ('..', "..", `..`), `process.env.NAME` or
 * `process.env["NAME"]` (with or without TypeScript's `!`, `as T`), a template literal whose
 * `${...}` parts are such values, a top-level `const` of the same file holding one, or such
 * values joined with `??` or `||` (evaluated as JavaScript would, an unset variable being
 * undefined). Anything else (a function call, an imported name, path.join(...)) is reported
 * when it is asked for, never guessed.
 */
#ifndef PF_CODEBASE_DRIZZLE_CONFIG_H
#define PF_CODEBASE_DRIZZLE_CONFIG_H

#include "core/err.h"

#include <stdbool.h>

typedef struct DrizzleConfig DrizzleConfig;

/* Read and scan path (a regular file of at most 1 MiB). Errors (PF_ERR_IO: the file cannot be
 * read; PF_ERR_INPUT: "PATH: ..." when no config object can be found in it or its object literal
 * is malformed). Environment variables are looked up (getenv) while reading. On success the
 * caller frees *out with drizzle_config_free. */
PfErrCode drizzle_config_read(const char *path, DrizzleConfig **out, PfErr *err);

/* The same on text already in memory; path names it in messages and decides nothing else. */
PfErrCode drizzle_config_parse(const char *path, const char *text, DrizzleConfig **out, PfErr *err);

void drizzle_config_free(DrizzleConfig *c);

/* The file's path, as given. */
const char *drizzle_config_path(const DrizzleConfig *c);

/* The string at a dotted key ("migrations.table"). PF_OK with *value a copy (caller frees), or
 * NULL when the file does not set the key. PF_ERR_INPUT when the file sets it to something that
 * cannot be read statically, or to process.env.NAME with NAME unset (and no fallback): the
 * message is "PATH:LINE: KEY: why; hint: <instead>", instead saying what to use in its place
 * (e.g. "pass --migrations DIR"). */
PfErrCode drizzle_config_string(const DrizzleConfig *c, const char *key, const char *instead,
                                char **value, PfErr *err);

/* What the config says about the migrations, for pgfleet's run: dir = `out` resolved against
 * the config file's folder (drizzle-kit's default "drizzle" when unset; only when want_dir),
 * schema and table = `migrations.schema` / `migrations.table` (NULL when unset: drizzle's
 * defaults). Refuses a dialect other than postgresql, and values that cannot be read or are
 * empty, with instead_dir / instead_ledger as the hint. Caller clears *out. */
typedef struct DrizzleConfigMigrations {
    char *dir;
    char *schema;
    char *table;
} DrizzleConfigMigrations;

PfErrCode drizzle_config_migrations(const DrizzleConfig *c, bool want_dir, const char *instead_dir,
                                    const char *instead_ledger, DrizzleConfigMigrations *out,
                                    PfErr *err);
void drizzle_config_migrations_clear(DrizzleConfigMigrations *m);

#endif
