/* drizzle-kit's config read statically: the shapes drizzle-kit's docs and real projects use, the
 * values pgfleet can know without running the file, and the errors for the ones it cannot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "codebase/drizzle_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static DrizzleConfig *parse(const char *text)
{
    DrizzleConfig *c = NULL;
    PfErr err = {0};
    PfErrCode rc = drizzle_config_parse("drizzle.config.ts", text, &c, &err);
    if (rc != PF_OK)
        fail_msg("parse failed: %s", err.msg);
    return c;
}

/* The value of key, or "<absent>", or "<error: MESSAGE>". */
static char *get(const DrizzleConfig *c, const char *key)
{
    char *v = NULL;
    PfErr err = {0};
    if (drizzle_config_string(c, key, "do X instead", &v, &err) != PF_OK) {
        assert_null(v);
        size_t n = strlen(err.msg) + 16;
        char *s = malloc(n);
        snprintf(s, n, "<error: %s>", err.msg);
        return s;
    }
    return v ? v : strdup("<absent>");
}

#define assert_key(c, key, want)                                                                   \
    do {                                                                                           \
        char *got_ = get((c), (key));                                                              \
        assert_string_equal(got_, (want));                                                         \
        free(got_);                                                                                \
    } while (0)

static void parse_fails(const char *text, const char *want)
{
    DrizzleConfig *c = NULL;
    PfErr err = {0};
    assert_int_equal(drizzle_config_parse("drizzle.config.ts", text, &c, &err), PF_ERR_INPUT);
    assert_null(c);
    assert_string_equal(err.msg, want);
}

static void test_define_config(void **state)
{
    setenv("PF_DKC_URL", "postgresql://app@db/app", 1);
    DrizzleConfig *c =
        parse("import { defineConfig } from \"drizzle-kit\";\n"
              "\n"
              "export default defineConfig({\n"
              "  schema: \"./src/db/schema.ts\",\n"
              "  out: \"./drizzle\",\n"
              "  dialect: \"postgresql\",\n"
              "  dbCredentials: {\n"
              "    url: process.env.PF_DKC_URL!,\n"
              "  },\n"
              "  migrations: {\n"
              "    table: 'my-migrations-table', // `__drizzle_migrations` by default\n"
              "    schema: 'public', /* `drizzle` by default */\n"
              "  },\n"
              "});\n");
    assert_string_equal(drizzle_config_path(c), "drizzle.config.ts");
    assert_key(c, "out", "./drizzle");
    assert_key(c, "dialect", "postgresql");
    assert_key(c, "dbCredentials.url", "postgresql://app@db/app");
    assert_key(c, "migrations.table", "my-migrations-table");
    assert_key(c, "migrations.schema", "public");
    assert_key(c, "migrations.prefix", "<absent>");
    assert_key(c, "dbCredentials.connectionString", "<absent>");
    assert_key(c, "verbose", "<absent>");
    drizzle_config_free(c);
    unsetenv("PF_DKC_URL");
}

static void test_satisfies_and_old_keys(void **state)
{
    setenv("PF_DKC_URL", "postgres://u@h/d", 1);
    DrizzleConfig *c = parse("import type { Config } from \"drizzle-kit\";\n"
                             "export default {\n"
                             "  schema: \"./src/schema/*\",\n"
                             "  out: \"./migrations\",\n"
                             "  driver: \"pg\",\n"
                             "  dbCredentials: {\n"
                             "    connectionString: process.env.PF_DKC_URL as string,\n"
                             "  },\n"
                             "} satisfies Config;\n");
    assert_key(c, "out", "./migrations");
    assert_key(c, "dbCredentials.connectionString", "postgres://u@h/d");
    assert_key(c, "dbCredentials.url", "<absent>");
    assert_key(c, "dialect", "<absent>");
    drizzle_config_free(c);
    unsetenv("PF_DKC_URL");
}

static void test_json_and_commonjs(void **state)
{
    DrizzleConfig *c = parse("{\n  \"dialect\": \"postgresql\",\n  \"out\": \"./db/m\\u00e9\",\n"
                             "  \"migrations\": {\"table\": \"t\\\"x\", \"schema\": \"s\"}\n}\n");
    assert_key(c, "out", "./db/m\xc3\xa9");
    assert_key(c, "migrations.table", "t\"x");
    assert_key(c, "migrations.schema", "s");
    drizzle_config_free(c);

    c = parse("/** @type { import(\"drizzle-kit\").Config } */\n"
              "module.exports = {\n"
              "  schema: './schema.js',\n"
              "  out: './drizzle/pg',\n"
              "};\n");
    assert_key(c, "out", "./drizzle/pg");
    drizzle_config_free(c);
}

static void test_named_config_and_constants(void **state)
{
    setenv("PF_DKC_URL", "postgresql://x@y/z", 1);
    DrizzleConfig *c = parse("import { defineConfig, type Config } from 'drizzle-kit'\n"
                             "const databaseUrl = process.env[\"PF_DKC_URL\"]\n"
                             "if (!databaseUrl) {\n"
                             "  throw new Error('PF_DKC_URL is required')\n"
                             "}\n"
                             "const OUT = './sql'\n"
                             "const migrations = { table: `ledger_${'v1'}`, schema: 'ops' }\n"
                             "const config: Config = defineConfig({\n"
                             "  out: OUT,\n"
                             "  migrations,\n"
                             "  dbCredentials: { url: databaseUrl },\n"
                             "})\n"
                             "export default config\n");
    assert_key(c, "out", "./sql");
    assert_key(c, "migrations.table", "ledger_v1");
    assert_key(c, "migrations.schema", "ops");
    assert_key(c, "dbCredentials.url", "postgresql://x@y/z");
    drizzle_config_free(c);
    unsetenv("PF_DKC_URL");
}

static void test_fallbacks_and_templates(void **state)
{
    unsetenv("PF_DKC_UNSET");
    setenv("PF_DKC_EMPTY", "", 1);
    setenv("PF_DKC_USER", "app", 1);
    DrizzleConfig *c =
        parse("const HOST = 'db.internal'\n"
              "export default defineConfig({\n"
              "  out: process.env.PF_DKC_UNSET ?? './drizzle',\n"
              "  dbCredentials: {\n"
              "    url: `postgresql://${process.env.PF_DKC_USER}@${HOST}:5432/${'app'}`,\n"
              "  },\n"
              "  migrations: {\n"
              "    table: process.env.PF_DKC_EMPTY || process.env.PF_DKC_UNSET || 'fallback',\n"
              "    schema: process.env.PF_DKC_EMPTY ?? 'not used: ?? keeps an empty string',\n"
              "  },\n"
              "  dialect: (\"postgresql\"),\n"
              "})\n");
    assert_key(c, "out", "./drizzle");
    assert_key(c, "dbCredentials.url", "postgresql://app@db.internal:5432/app");
    assert_key(c, "migrations.table", "fallback");
    assert_key(c, "migrations.schema", "");
    assert_key(c, "dialect", "postgresql");
    drizzle_config_free(c);
    unsetenv("PF_DKC_EMPTY");
    unsetenv("PF_DKC_USER");
}

static void test_unreadable_values(void **state)
{
    unsetenv("PF_DKC_UNSET");
    DrizzleConfig *c = parse("import path from 'node:path'\n"
                             "import { env } from './src/env'\n"
                             "export default defineConfig({\n"
                             "  out: path.join(__dirname, 'drizzle'),\n"
                             "  dbCredentials: {\n"
                             "    url: env.DATABASE_URL,\n"
                             "  },\n"
                             "  migrations: {\n"
                             "    table: process.env.PF_DKC_UNSET!,\n"
                             "    schema: `${process.env.PF_DKC_UNSET}`,\n"
                             "  },\n"
                             "  schema: getSchemas(), // never asked for: no error\n"
                             "})\n");
    assert_key(c, "out",
               "<error: drizzle.config.ts:4: out: `path.join(__dirname, 'drizzle')` cannot be read "
               "without running the file (pgfleet reads string literals, process.env.NAME and "
               "constants of the file holding them); hint: do X instead>");
    assert_key(c, "dbCredentials.url",
               "<error: drizzle.config.ts:6: dbCredentials.url: `env.DATABASE_URL` cannot be read "
               "without running the file (pgfleet reads string literals, process.env.NAME and "
               "constants of the file holding them); hint: do X instead>");
    assert_key(c, "migrations.table",
               "<error: drizzle.config.ts:9: migrations.table: process.env.PF_DKC_UNSET is not "
               "set; hint: do X instead>");
    assert_key(c, "migrations.schema",
               "<error: drizzle.config.ts:10: migrations.schema: process.env.PF_DKC_UNSET is not "
               "set; hint: do X instead>");
    drizzle_config_free(c);

    /* dotenv loads a .env file when the config runs; pgfleet says so */
    c = parse("import 'dotenv/config'\n"
              "export default { dbCredentials: { url: process.env.PF_DKC_UNSET } }\n");
    assert_key(c, "dbCredentials.url",
               "<error: drizzle.config.ts:2: dbCredentials.url: process.env.PF_DKC_UNSET is not "
               "set (the file loads a .env file with dotenv, which pgfleet does not read: export "
               "the variable); hint: do X instead>");
    drizzle_config_free(c);
}

static void test_objects_that_cannot_be_followed(void **state)
{
    DrizzleConfig *c = parse("import base from './drizzle.base'\n"
                             "export default defineConfig({\n"
                             "  out: './drizzle',\n"
                             "  ...base,\n"
                             "  migrations: migrationSettings(),\n"
                             "  dialect: 'postgresql',\n"
                             "})\n");
    assert_key(c, "out",
               "<error: drizzle.config.ts:4: out: cannot tell whether `...base` sets it without "
               "running the file; hint: do X instead>");
    assert_key(c, "dialect", "postgresql"); /* set after the spread */
    assert_key(c, "migrations.table",
               "<error: drizzle.config.ts:5: migrations.table: migrations is "
               "`migrationSettings()`, which cannot be read without running the file; hint: do X "
               "instead>");
    drizzle_config_free(c);
}

static void test_tolerant_scanning(void **state)
{
    /* braces and quotes inside comments, strings and templates; trailing commas; quoted and
     * repeated keys (the last wins, as in JavaScript) */
    DrizzleConfig *c = parse("// export default { out: 'not this' }\n"
                             "/* { ' \" ` */\n"
                             "const note = `a } b ${ \"}\" } c`;\n"
                             "export default defineConfig({\n"
                             "  'out': 'first',\n"
                             "  \"out\": 'it\\'s \\x41\\n',\n"
                             "  tablesFilter: ['a*', \"b{\"],\n"
                             "  migrations: { table: \"t\", },\n"
                             "},);\n");
    assert_key(c, "out", "it's A\n");
    assert_key(c, "migrations.table", "t");
    drizzle_config_free(c);
}

static void test_no_config(void **state)
{
    parse_fails("export const schema = './s.ts'\n",
                "drizzle.config.ts: no config object found (looked for `export default "
                "defineConfig({...})`, `export default {...}`, `module.exports = {...}` or a "
                "JSON object)");
    parse_fails("import { build } from './cfg'\n\nexport default build(process.env.X)\n",
                "drizzle.config.ts:3: the config object `build(process.env.X)` cannot be read "
                "without running the file");
    parse_fails("export default defineConfig({\n  out: './drizzle',\n",
                "drizzle.config.ts:1: '{' is never closed");
    parse_fails("export default {\n  out: './drizzle)',\n  x: [1, 2),\n}\n",
                "drizzle.config.ts:3: unbalanced ')'");
    parse_fails("export default {\n  out: './drizzle,\n}\n",
                "drizzle.config.ts:2: unterminated string");
}

static void test_read_file(void **state)
{
    char dir[] = "/tmp/pf-dkc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/drizzle.config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"out\": \"./m\"}\n", f);
    fclose(f);
    DrizzleConfig *c = NULL;
    PfErr err = {0};
    assert_int_equal(drizzle_config_read(path, &c, &err), PF_OK);
    assert_key(c, "out", "./m");
    drizzle_config_free(c);

    assert_int_equal(drizzle_config_read(dir, &c, &err), PF_ERR_IO);
    char want[512];
    snprintf(want, sizeof want, "%s: not a regular file", dir);
    assert_string_equal(err.msg, want);
    snprintf(path, sizeof path, "%s/missing.ts", dir);
    assert_int_equal(drizzle_config_read(path, &c, &err), PF_ERR_IO);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err.msg, want);

    snprintf(path, sizeof path, "%s/drizzle.config.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_define_config),
        cmocka_unit_test(test_satisfies_and_old_keys),
        cmocka_unit_test(test_json_and_commonjs),
        cmocka_unit_test(test_named_config_and_constants),
        cmocka_unit_test(test_fallbacks_and_templates),
        cmocka_unit_test(test_unreadable_values),
        cmocka_unit_test(test_objects_that_cannot_be_followed),
        cmocka_unit_test(test_tolerant_scanning),
        cmocka_unit_test(test_no_config),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
