/*
 * Fuzzing the static reader of drizzle-kit's config file (src/codebase/drizzle_config.h): the
 * input is the file's text, up to its first NUL byte, read with drizzle_config_parse, then asked
 * for every key pgfleet reads. A value that is a dsn gets the masking check of dsn_check.h.
 *
 * Checked beyond the sanitizers: a failure says why and leaves no config; a key answers with a
 * value or a message.
 */
#include "dsn_check.h"
#include "common.h"

#include "codebase/drizzle_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("DATABASE_URL", "postgresql://app:s3cr3t@db:5432/app", 1);
    setenv("DB_SCHEMA", "drizzle", 1);
    setenv("EMPTY", "", 1);
    unsetenv("UNSET");
    return 0;
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "\n==== drizzle config: %s: %s\n", what, detail ? detail : "(null)");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {
        "out",     "migrations.table",  "migrations.schema",
        "dialect", "dbCredentials.url", "dbCredentials.connectionString",
        "schema",  "migrations"};
    char *text = fz_strndup(data, size);
    DrizzleConfig *c = NULL;
    PfErr err = {0};
    if (drizzle_config_parse("drizzle.config.ts", text, &c, &err) != PF_OK) {
        if (c || !err.msg[0])
            fail("drizzle_config_parse failed without a message, or left a config", err.msg);
        free(text);
        return 0;
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char *value = NULL;
        PfErr kerr = {0};
        if (drizzle_config_string(c, keys[k], "pass it on the command line", &value, &kerr) ==
            PF_OK) {
            if (value && strncmp(keys[k], "dbCredentials.", 14) == 0)
                fz_check_dsn(value);
            free(value);
        } else if (value || !kerr.msg[0]) {
            fail("drizzle_config_string failed without a message, or gave a value", keys[k]);
        }
    }
    drizzle_config_free(c);
    free(text);
    return 0;
}
