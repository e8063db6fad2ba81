/*
 * A test plugin: appends every event, with its data, as one line to the file named by its
 * `file` config, and misbehaves on request:
 *   fail_init: TEXT      init fails with TEXT
 *   fail_on: EVENT       on_event returns PGFLEET_ERROR ("record: asked to fail on EVENT")
 *   veto_wave: NAME      wave_end of wave NAME returns PGFLEET_VETO ("record says no")
 *   add: "N=DSN,..."     discover adds targets N (label source=record) with dsn DSN
 *   tenant_schema: S     ... each a tenant in schema S (ABI 2 and later)
 *   ledger_schema: S     ... each with its ledger in schema S
 * Built four times by tests/CMakeLists.txt: as is; with RECORD_ABI=1, a plugin built against
 * version 1 of <pgfleet/plugin.h> (its PgfleetTarget ends at `table`; what follows it in memory
 * is a decoy string, so that pgfleet reading `tenant_schema` from it would make the target a
 * tenant of schema "decoy_past_v1_target"); with RECORD_ABI=3 (a version this pgfleet does not
 * know); and with RECORD_NO_SYMBOL (no descriptor).
 */
#include <pgfleet/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RECORD_ABI
#define RECORD_ABI PGFLEET_PLUGIN_ABI_VERSION
#endif

typedef struct Record {
    char *file;
    char *fail_on;
    char *veto_wave;
    char *add;
    char *tenant_schema;
    char *ledger_schema;
} Record;

static void record_free(Record *r)
{
    free(r->file);
    free(r->fail_on);
    free(r->veto_wave);
    free(r->add);
    free(r->tenant_schema);
    free(r->ledger_schema);
    free(r);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int record_init(const PgfleetKV *config, size_t n, void **state, char *err, size_t err_size)
{
    Record *r = calloc(1, sizeof *r);
    if (!r)
        return PGFLEET_ERROR;
    for (size_t i = 0; i < n; i++) {
        const char *k = config[i].key, *v = config[i].value;
        if (strcmp(k, "fail_init") == 0) {
            snprintf(err, err_size, "%s", v);
            free(r);
            return PGFLEET_ERROR;
        }
        char **slot = strcmp(k, "file") == 0                               ? &r->file
                      : strcmp(k, "fail_on") == 0                          ? &r->fail_on
                      : strcmp(k, "veto_wave") == 0                        ? &r->veto_wave
                      : strcmp(k, "add") == 0                              ? &r->add
                      : strcmp(k, "tenant_schema") == 0 && RECORD_ABI >= 2 ? &r->tenant_schema
                      : strcmp(k, "ledger_schema") == 0                    ? &r->ledger_schema
                                                                           : NULL;
        if (!slot) {
            snprintf(err, err_size, "unknown config key '%s'", k);
            record_free(r);
            return PGFLEET_ERROR;
        }
        free(*slot);
        *slot = dup_or_null(v);
    }
    *state = r;
    return PGFLEET_OK;
}

static void record_fini(void *state)
{
    Record *r = state;
    if (r->file) {
        FILE *f = fopen(r->file, "a");
        if (f) {
            fputs("fini\n", f);
            fclose(f);
        }
    }
    record_free(r);
}

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static int record_event(void *state, const PgfleetEvent *ev, char *err, size_t err_size)
{
    Record *r = state;
    FILE *f = r->file ? fopen(r->file, "a") : NULL;
    if (f) {
        fprintf(f, "%s", ev->name);
        switch (ev->kind) {
        case PGFLEET_EVENT_RUN_START:
            fprintf(f, " run=%s command=%s targets=%zu", ev->run_id, ev->command, ev->n_targets);
            break;
        case PGFLEET_EVENT_RUN_END:
            fprintf(f, " run=%s exit=%d", ev->run_id, ev->exit_code);
            break;
        case PGFLEET_EVENT_WAVE_START:
            fprintf(f, " wave=%s targets=%zu", ev->wave, ev->wave_targets);
            break;
        case PGFLEET_EVENT_WAVE_END:
            fprintf(f, " wave=%s state=%s failures=%zu halted=%d next=%s", ev->wave, ev->wave_state,
                    ev->wave_failures, ev->wave_halted, or_dash(ev->next_wave));
            break;
        case PGFLEET_EVENT_TARGET_START:
        case PGFLEET_EVENT_TARGET_END:
            fprintf(f, " target=%s wave=%s labels=", ev->target, or_dash(ev->wave));
            for (size_t i = 0; i < ev->n_labels; i++)
                fprintf(f, "%s%s:%s", i ? "," : "", ev->labels[i].key, ev->labels[i].value);
            if (ev->kind == PGFLEET_EVENT_TARGET_END) {
                fprintf(f, " status=%s outcome=%s pending=%zu applied=", ev->status, ev->outcome,
                        ev->n_pending);
                for (size_t i = 0; i < ev->n_applied; i++)
                    fprintf(f, "%s%s", i ? "," : "", ev->applied[i]);
                fprintf(f, " error=%s", or_dash(ev->error));
            }
            break;
        case PGFLEET_EVENT_MIGRATION_BEFORE:
        case PGFLEET_EVENT_MIGRATION_AFTER:
            fprintf(f, " target=%s migration=%s %zu/%zu", ev->target, ev->migration,
                    ev->migration_index + 1, ev->migration_count);
            if (ev->kind == PGFLEET_EVENT_MIGRATION_AFTER)
                fprintf(f, " result=%s", ev->migration_result);
            break;
        }
        fputc('\n', f);
        fclose(f);
    }
    if (r->fail_on && strcmp(r->fail_on, ev->name) == 0) {
        snprintf(err, err_size, "record: asked to fail on %s", ev->name);
        return PGFLEET_ERROR;
    }
    if (ev->kind == PGFLEET_EVENT_WAVE_END && r->veto_wave && strcmp(r->veto_wave, ev->wave) == 0) {
        snprintf(err, err_size, "record says no");
        return PGFLEET_VETO;
    }
    return PGFLEET_OK;
}

static int record_discover(void *state, PgfleetAddTarget add, void *ctx, char *err, size_t err_size)
{
    Record *r = state;
    if (!r->add)
        return PGFLEET_OK;
    char *list = strdup(r->add), *save = NULL;
    int rc = PGFLEET_OK;
    PgfleetKV label = {"source", "record"};
    for (char *item = strtok_r(list, ",", &save); item && rc == PGFLEET_OK;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, err_size, "add: '%s' is not NAME=DSN", item);
            rc = PGFLEET_ERROR;
            break;
        }
        *eq = '\0';
#if RECORD_ABI == 1
        /* Version 1's PgfleetTarget, and the decoy where version 2 has tenant_schema. */
        struct {
            struct {
                const char *name;
                const char *dsn;
                const PgfleetKV *labels;
                size_t n_labels;
                const char *schema;
                const char *table;
            } t;
            const char *decoy;
        } v1 = {.t = {.name = item,
                      .dsn = eq + 1,
                      .labels = &label,
                      .n_labels = 1,
                      .schema = r->ledger_schema},
                .decoy = "decoy_past_v1_target"};
        rc = add(ctx, (const PgfleetTarget *)(const void *)&v1.t, err, err_size);
#else
        PgfleetTarget t = {.name = item,
                           .dsn = eq + 1,
                           .labels = &label,
                           .n_labels = 1,
                           .schema = r->ledger_schema,
                           .tenant_schema = r->tenant_schema};
        rc = add(ctx, &t, err, err_size);
#endif
    }
    free(list);
    return rc;
}

#ifdef RECORD_NO_SYMBOL
#define RECORD_SYMBOL pgfleet_plugin_typo /* exported, but not under the name pgfleet wants */
#else
#define RECORD_SYMBOL pgfleet_plugin
#endif

PGFLEET_PLUGIN_EXPORT const PgfleetPlugin RECORD_SYMBOL = {
    .abi_version = RECORD_ABI,
    .name = "record",
    .init = record_init,
    .fini = record_fini,
    .on_event = record_event,
    .discover = record_discover,
};
