/* pgfleet diff-schema: the differences between two targets' schemas, or between a target's
 * and the one the codebase's migrations make (docs/drift.md). */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "codebase/codebase.h"
#include "core/log.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: pgfleet diff-schema [-i INVENTORY] TARGET_A TARGET_B\n"
    "       pgfleet diff-schema [-i INVENTORY] [-m DIR] TARGET --against head\n\n"
    "Compare two targets' schemas, as audit --drift compares a target with the schema its\n"
    "ledger's migrations make: one line per difference, '-' only in the first, '+' only in\n"
    "the second, '~' in both but different (first -> second). A tenant schema is compared\n"
    "under the folder's schema names, so two tenants compare as two databases do. With\n"
    "--against head the first is the schema every migration of the codebase makes, built on\n"
    "the inventory's drift.scratch_dsn in a database of its own, dropped afterwards, and the\n"
    "second the target's.\n\n"
    "Options:\n"
    "  -i, --inventory FILE   the inventory (default: $PGFLEET_INVENTORY, else pgfleet.yaml)\n"
    "  -m, --migrations DIR   the drizzle migrations folder (overrides migrations.dir)\n"
    "      --against head     compare with the codebase's schema instead of a second target\n"
    "  -v, --verbose          log each step on stderr\n"
    "  -h, --help             show this help\n\n"
    "Exit codes: 0 the schemas are the same, 1 they differ, 2 a target or the scratch server\n"
    "failed, 3 invalid input, 130 interrupted.\n";

enum { OPT_AGAINST = 1000 };

static const InvTarget *find_target(const Inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->n; i++)
        if (strcmp(inv->targets[i].name, name) == 0)
            return &inv->targets[i];
    fprintf(stderr,
            "pgfleet diff-schema: %s: no target named %s; hint: pgfleet inventory lists "
            "them\n",
            inv->path, name);
    return NULL;
}

int cmd_diff_schema(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"migrations", required_argument, NULL, 'm'},
        {"against", required_argument, NULL, OPT_AGAINST},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    const char *migrations_dir = NULL;
    bool against_head = false;
    int verbosity = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:m:vh", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            sel.inventory_path = optarg;
            break;
        case 'm':
            migrations_dir = optarg;
            break;
        case OPT_AGAINST:
            if (strcmp(optarg, "head") != 0) {
                fprintf(stderr, "pgfleet diff-schema: --against takes head, not '%s'\n", optarg);
                return PF_EXIT_INVALID;
            }
            against_head = true;
            break;
        case 'v':
            verbosity++;
            break;
        case 'h':
            fputs(usage, stdout);
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet diff-schema --help' for the options.\n");
            return PF_EXIT_INVALID;
        }
    }
    int want = against_head ? 1 : 2;
    if (argc - optind != want) {
        fprintf(stderr,
                "pgfleet diff-schema: name %s; hint: pgfleet diff-schema TARGET_A TARGET_B, or "
                "TARGET --against head\n",
                against_head ? "one target with --against head" : "two targets");
        return PF_EXIT_INVALID;
    }
    pf_log_set_level(verbosity > 0 ? PF_LOG_INFO : PF_LOG_WARN);
    size_t *idx = NULL, n_idx = 0;
    Inventory *inv = cmd_load_selection(&sel, &idx, &n_idx);
    free(idx);
    if (!inv)
        return PF_EXIT_INVALID;
    int code = PF_EXIT_INVALID;
    Codebase *cb = NULL;
    const InvTarget *a = find_target(inv, argv[optind]);
    const InvTarget *b = against_head ? NULL : find_target(inv, argv[optind + 1]);
    if (!a || (!against_head && !b))
        goto out;
    PfErr err;
    if (against_head) {
        const char *dir = migrations_dir ? migrations_dir : inv->migrations_dir;
        if (!inv->drift.scratch_dsn) {
            fprintf(stderr, "pgfleet diff-schema: --against head builds the codebase's schema on "
                            "a scratch server; hint: set drift: {scratch_dsn: ...} in the "
                            "inventory (docs/drift.md)\n");
            goto out;
        }
        if (!dir) {
            fprintf(stderr,
                    "pgfleet: %s: no migrations folder; hint: set migrations.dir in the "
                    "inventory or pass --migrations DIR\n",
                    inv->path);
            goto out;
        }
        if (cb_read(dir, &cb, &err) != PF_OK) {
            cmd_error(&err);
            goto out;
        }
    }
    char **lines;
    size_t n;
    if (fleet_drift_diff(cb, inv, a, b, &lines, &n, &err) != PF_OK) {
        cmd_error(&err);
        code = err.code == PF_ERR_INTERRUPTED ? PF_EXIT_INTERRUPTED
               : err.code == PF_ERR_INPUT     ? PF_EXIT_INVALID
                                              : PF_EXIT_FAILED;
        goto out;
    }
    const CbMigration *head = cb ? cb_head(cb) : NULL;
    if (b)
        printf("--- %s\n+++ %s\n", a->name, b->name);
    else
        printf("--- head %s\n+++ %s\n", head ? head->tag : "", a->name);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", lines[i]);
    if (n == 0)
        printf("no differences\n");
    drift_lines_free(lines, n);
    code = n ? PF_EXIT_NOT_IN_SYNC : PF_EXIT_OK;
out:
    cb_free(cb);
    inv_free(inv);
    return code;
}
