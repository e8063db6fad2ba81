/*
 * The smallest useful pgfleet plugin (docs/plugins.md): prints one line on stderr when each
 * target ends, and when a wave ends with failures, vetoes the next wave if its config says
 * `strict: "true"`.
 *
 *   cc -shared -fPIC -I/path/to/pgfleet/include -o example.so example.c
 *
 *   plugins:
 *     - path: ./example.so
 *       config: {strict: "true"}
 */
#include <pgfleet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Example {
    int strict;
} Example;

static int example_init(const PgfleetKV *config, size_t n, void **state, char *err, size_t err_size)
{
    Example *ex = calloc(1, sizeof *ex);
    if (!ex) {
        snprintf(err, err_size, "out of memory");
        return PGFLEET_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(config[i].key, "strict") == 0) {
            ex->strict = strcmp(config[i].value, "true") == 0;
        } else {
            snprintf(err, err_size, "unknown config key '%s'", config[i].key);
            free(ex);
            return PGFLEET_ERROR;
        }
    }
    *state = ex;
    return PGFLEET_OK;
}

static void example_fini(void *state)
{
    free(state);
}

static int example_event(void *state, const PgfleetEvent *ev, char *err, size_t err_size)
{
    Example *ex = state;
    switch (ev->kind) {
    case PGFLEET_EVENT_TARGET_END:
        fprintf(stderr, "example: %s: %s, %s%s%s\n", ev->target, ev->status, ev->outcome,
                ev->error ? ": " : "", ev->error ? ev->error : "");
        return PGFLEET_OK;
    case PGFLEET_EVENT_WAVE_END:
        if (ex->strict && ev->wave_failures > 0) {
            snprintf(err, err_size, "wave %s had %zu failure(s)", ev->wave, ev->wave_failures);
            return PGFLEET_VETO;
        }
        return PGFLEET_OK;
    default:
        return PGFLEET_OK;
    }
}

PGFLEET_PLUGIN_EXPORT const PgfleetPlugin pgfleet_plugin = {
    .abi_version = PGFLEET_PLUGIN_ABI_VERSION,
    .name = "example",
    .init = example_init,
    .fini = example_fini,
    .on_event = example_event,
};
