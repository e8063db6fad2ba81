/* pgfleet inventory: the targets after expansion and selection, passwords masked. */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "core/buf.h"
#include "core/mem.h"
#include "pg/pg.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_SHARD = 1400 }; /* docs/scale.md */

static const char usage[] =
    "usage: pgfleet inventory [OPTIONS]\n\n"
    "Print the targets after for_each expansion, ${VAR} expansion and selection, with\n"
    "passwords masked. Connects to nothing.\n\n"
    "Options:\n" CMD_SELECTION_HELP
    "      --shard K/N        only the targets of shard K (0 to N-1) of N, as the fleet commands\n"
    "                         split them (docs/scale.md)\n"
    "  -f, --format FMT       text (default) or json\n"
    "  -h, --help             show this help\n";

static char *labels_text(const InvTarget *t)
{
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < t->n_labels; i++)
        pf_buf_printf(&b, "%s%s=%s", i ? "," : "", t->labels[i].key, t->labels[i].value);
    return pf_buf_take(&b);
}

static cJSON *target_json(const Inventory *inv, const InvTarget *t, size_t index)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dsn", t->dsn_masked);
    cJSON *labels = cJSON_AddObjectToObject(o, "labels");
    for (size_t l = 0; l < t->n_labels; l++)
        cJSON_AddStringToObject(labels, t->labels[l].key, t->labels[l].value);
    cJSON_AddStringToObject(o, "schema", t->schema);
    cJSON_AddStringToObject(o, "table", t->table);
    char key[32];
    snprintf(key, sizeof key, "%lld",
             (long long)(t->settings.lock_key_set ? t->settings.lock_key
                                                  : pg_lock_key_derive(t->schema, t->table)));
    cJSON_AddStringToObject(o, "lock_key", key);
    if (t->route)
        cJSON_AddStringToObject(o, "route", t->route);
    else
        cJSON_AddNullToObject(o, "route");
    cJSON_AddStringToObject(o, "transaction",
                            t->settings.transaction == INV_TX_PER_MIGRATION ? "per-migration"
                                                                            : "all");
    const InvExpect *e = &t->settings.expect;
    if (e->database || e->user || e->system_identifier) {
        cJSON *ex = cJSON_AddObjectToObject(o, "expect");
        const char *vals[] = {e->database, e->user, e->system_identifier};
        const char *keys[] = {"database", "user", "system_identifier"};
        for (int k = 0; k < 3; k++)
            if (vals[k])
                cJSON_AddStringToObject(ex, keys[k], vals[k]);
            else
                cJSON_AddNullToObject(ex, keys[k]);
    } else {
        cJSON_AddNullToObject(o, "expect");
    }
    cJSON_AddNumberToObject(o, "line", t->line);
    if (inv->n_waves)
        cJSON_AddStringToObject(o, "wave", inv->waves[inv->wave_of[index]].name);
    else
        cJSON_AddNullToObject(o, "wave");
    return o;
}

/* As cJSON_Print prints the whole tree, one target at a time (as the JSON report does): each
 * target printed on its own and indented by the two levels it stands at. */
static void print_json(const Inventory *inv, const size_t *idx, size_t n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "inventory", inv->path);
    if (inv->migrations_dir)
        cJSON_AddStringToObject(root, "migrations_dir", inv->migrations_dir);
    else
        cJSON_AddNullToObject(root, "migrations_dir");
    cJSON_AddArrayToObject(root, "targets"); /* the last key: printed "[]" */
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    size_t len = strlen(s);
    if (n == 0 || len < 4 || strcmp(s + len - 4, "[]\n}") != 0) {
        puts(s);
        cJSON_free(s);
        return;
    }
    fwrite(s, 1, len - 3, stdout); /* up to the '[' */
    for (size_t i = 0; i < n; i++) {
        cJSON *o = target_json(inv, &inv->targets[idx[i]], idx[i]);
        char *ts = cJSON_Print(o);
        cJSON_Delete(o);
        if (i)
            fputs(", ", stdout);
        for (const char *p = ts; *p; p++) {
            putchar(*p);
            if (*p == '\n')
                fputs("\t\t", stdout);
        }
        cJSON_free(ts);
    }
    puts("]\n}");
    cJSON_free(s);
}

static void print_text(const Inventory *inv, const size_t *idx, size_t n)
{
    size_t w_name = 4, w_ledger = 6, w_labels = 6;
    char **labels = pf_calloc(n ? n : 1, sizeof *labels);
    char **ledgers = pf_calloc(n ? n : 1, sizeof *ledgers);
    for (size_t i = 0; i < n; i++) {
        const InvTarget *t = &inv->targets[idx[i]];
        labels[i] = labels_text(t);
        ledgers[i] = pf_asprintf("%s.%s", t->schema, t->table);
        if (strlen(t->name) > w_name)
            w_name = strlen(t->name);
        if (strlen(labels[i]) > w_labels)
            w_labels = strlen(labels[i]);
        if (strlen(ledgers[i]) > w_ledger)
            w_ledger = strlen(ledgers[i]);
    }
    printf("%-*s  %-*s  %-*s  %s\n", (int)w_name, "NAME", (int)w_labels, "LABELS", (int)w_ledger,
           "LEDGER", "DSN");
    for (size_t i = 0; i < n; i++) {
        const InvTarget *t = &inv->targets[idx[i]];
        printf("%-*s  %-*s  %-*s  %s%s%s\n", (int)w_name, t->name, (int)w_labels, labels[i],
               (int)w_ledger, ledgers[i], t->dsn_masked, t->route ? "  " : "",
               t->route ? t->route : "");
        free(labels[i]);
        free(ledgers[i]);
    }
    printf("\n%zu of %zu target%s selected from %s\n", n, inv->n, inv->n == 1 ? "" : "s",
           inv->path);
    free(labels);
    free(ledgers);
}

int cmd_inventory(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"target", required_argument, NULL, 't'},
        {"select", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"shard", required_argument, NULL, OPT_SHARD},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    InvShard shard = {0};
    bool json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:t:s:f:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            sel.inventory_path = optarg;
            break;
        case 't':
            cmd_selection_add_glob(&sel, optarg);
            break;
        case 's':
            cmd_selection_add_selector(&sel, optarg);
            break;
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "pgfleet inventory: unknown format '%s' (expected text or json)\n",
                        optarg);
                cmd_selection_free(&sel);
                return PF_EXIT_INVALID;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case OPT_SHARD:
            if (!inv_shard_parse(optarg, &shard)) {
                fprintf(stderr,
                        "pgfleet inventory: --shard takes K/N, shard K (from 0) of N (at most "
                        "%d), not '%s'\n",
                        INV_SHARD_MAX, optarg);
                cmd_selection_free(&sel);
                return PF_EXIT_INVALID;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            cmd_selection_free(&sel);
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet inventory --help' for the options.\n");
            cmd_selection_free(&sel);
            return PF_EXIT_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pgfleet inventory: unexpected argument '%s'\n", argv[optind]);
        cmd_selection_free(&sel);
        return PF_EXIT_INVALID;
    }
    size_t *idx = NULL, n = 0;
    Inventory *inv = cmd_load_selection(&sel, &idx, &n);
    cmd_selection_free(&sel);
    if (!inv)
        return PF_EXIT_INVALID;
    inv_shard_filter(inv, shard, idx, &n, NULL);
    if (json)
        print_json(inv, idx, n);
    else
        print_text(inv, idx, n);
    free(idx);
    inv_free(inv);
    return PF_EXIT_OK;
}
