/* The body of plan, apply and audit: options, targets (an inventory, or --dsn), codebase, fleet
 * run, report. */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "codebase/codebase.h"
#include "core/log.h"
#include "core/util.h"
#include "report/history.h"
#include "report/report.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_DRY_RUN = 1000, OPT_ALLOW_OOO, OPT_REPORT_DIR };
enum { OPT_WAVE = 1100, OPT_FROM_WAVE, OPT_YES }; /* docs/waves.md */
enum { OPT_DSN = 1200, OPT_WAIT };                /* one database without an inventory */

int cmd_run_fleet(int argc, char **argv, const FleetCmdSpec *spec)
{
    static const struct option long_opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"migrations", required_argument, NULL, 'm'},
        {"target", required_argument, NULL, 't'},
        {"select", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"allow-out-of-order", no_argument, NULL, OPT_ALLOW_OOO},
        {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
        {"wave", required_argument, NULL, OPT_WAVE},
        {"from-wave", required_argument, NULL, OPT_FROM_WAVE},
        {"yes", no_argument, NULL, OPT_YES},
        {"dsn", required_argument, NULL, OPT_DSN},
        {"config", required_argument, NULL, 'c'},
        {"wait", required_argument, NULL, OPT_WAIT},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    const char *migrations_dir = NULL, *output = NULL, *report_dir = NULL;
    ReportFormat format = REPORT_TEXT;
    int jobs = 0, verbosity = 0; /* jobs 0: the command's default (cmd.h) */
    bool dry_run = false, allow_ooo = false;
    const char *wave_only = NULL, *wave_from = NULL;
    bool assume_yes = false;
    CmdDsnMode dsn_mode = {0};
    const char *wait_text = NULL;
    int64_t wait_ms = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:m:t:s:j:f:o:c:vqh", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            sel.inventory_path = optarg;
            break;
        case 'm':
            migrations_dir = optarg;
            break;
        case 't':
            cmd_selection_add_glob(&sel, optarg);
            break;
        case 's':
            cmd_selection_add_selector(&sel, optarg);
            break;
        case 'j': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1024) {
                fprintf(stderr, "pgfleet %s: --jobs takes a number from 1 to 1024, not '%s'\n",
                        spec->name, optarg);
                goto invalid;
            }
            jobs = (int)v;
            break;
        }
        case 'f':
            if (!report_format_parse(optarg, &format)) {
                fprintf(stderr,
                        "pgfleet %s: unknown format '%s' (expected text, json, junit, "
                        "prometheus, markdown or html)\n",
                        spec->name, optarg);
                goto invalid;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_REPORT_DIR:
            report_dir = optarg;
            break;
        case OPT_DSN:
            cmd_dsn_add(&dsn_mode, optarg);
            break;
        case 'c':
            dsn_mode.config = optarg;
            break;
        case OPT_WAIT:
            if (!pf_parse_duration_ms(optarg, &wait_ms)) {
                fprintf(stderr, "pgfleet %s: --wait takes a duration (30s, 2m, 500ms), not '%s'\n",
                        spec->name, optarg);
                goto invalid;
            }
            wait_text = optarg;
            break;
        case OPT_WAVE:
            wave_only = optarg;
            break;
        case OPT_FROM_WAVE:
            wave_from = optarg;
            break;
        case OPT_YES:
            if (spec->mode != FLEET_APPLY) {
                fprintf(stderr, "pgfleet %s: --yes is an option of apply\n", spec->name);
                goto invalid;
            }
            assume_yes = true;
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity = -1;
            break;
        case 'h':
            fputs(spec->usage, stdout);
            cmd_selection_free(&sel);
            free(dsn_mode.dsns);
            return PF_EXIT_OK;
        case OPT_DRY_RUN:
        case OPT_ALLOW_OOO:
            if (spec->mode != FLEET_APPLY) {
                fprintf(stderr, "pgfleet %s: %s is an option of apply\n", spec->name,
                        argv[optind - 1]);
                goto invalid;
            }
            if (opt == OPT_DRY_RUN)
                dry_run = true;
            else
                allow_ooo = true;
            break;
        default:
            fprintf(stderr, "Run 'pgfleet %s --help' for the options.\n", spec->name);
            goto invalid;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pgfleet %s: unexpected argument '%s'\n", spec->name, argv[optind]);
        goto invalid;
    }
    bool dsn_run = dsn_mode.n_dsns > 0 || dsn_mode.config;
    if (dsn_run && sel.inventory_path) {
        fprintf(stderr,
                "pgfleet %s: -i names the targets of an inventory, %s of one database: pass "
                "one or the other%s\n",
                spec->name, dsn_mode.n_dsns ? "--dsn" : "-c",
                dsn_mode.n_dsns ? ""
                                : " (with an inventory, set migrations.dir, table and schema "
                                  "in it)");
        goto invalid;
    }
    if (wait_text && !dsn_run) {
        fprintf(stderr,
                "pgfleet %s: --wait goes with --dsn (or -c with dbCredentials.url): it waits "
                "for one server to start\n",
                spec->name);
        goto invalid;
    }
    /* Where the report goes, before anything connects (an inventory's plugins may): a run
     * whose report cannot be written is not started. */
    PfErr err;
    if (output && cmd_check_output(output, &err) != PF_OK) {
        cmd_error(&err);
        goto invalid;
    }
    if (report_dir && report_history_prepare(report_dir, &err) != PF_OK) {
        cmd_error(&err);
        goto invalid;
    }
    pf_log_set_level(verbosity < 0    ? PF_LOG_ERROR
                     : verbosity == 0 ? PF_LOG_WARN
                     : verbosity == 1 ? PF_LOG_INFO
                                      : PF_LOG_DEBUG);

    size_t *idx = NULL, n_idx = 0;
    PluginHost *plugins = NULL;
    char *dsn_dir = NULL; /* --dsn mode: -m, or the config's out */
    dsn_mode.migrations_dir = migrations_dir;
    Inventory *inv = dsn_run ? cmd_dsn_load(&dsn_mode, &sel, &idx, &n_idx, &dsn_dir)
                             : cmd_load_selection_plugins(&sel, &idx, &n_idx, &plugins);
    cmd_selection_free(&sel);
    if (!inv)
        return PF_EXIT_INVALID;
    int code = PF_EXIT_INVALID;
    Codebase *cb = NULL;
    size_t wave_first = 0, wave_end = 0;
    if (inv_waves_select(inv, wave_only, wave_from, idx, &n_idx, &wave_first, &wave_end, &err) !=
        PF_OK) {
        cmd_error(&err);
        goto out;
    }
    const char *dir = dsn_run ? dsn_dir : migrations_dir ? migrations_dir : inv->migrations_dir;
    if (!dir) {
        if (dsn_run)
            fprintf(stderr, "pgfleet: --dsn: no migrations folder; hint: pass --migrations DIR "
                            "or -c drizzle.config.ts\n");
        else
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
    if (n_idx == 0) {
        fprintf(stderr, "pgfleet: %s: no target is selected%s\n", inv->path,
                inv->n ? "; hint: check --target and --select" : "");
        goto out;
    }
    if (wait_text)
        cmd_dsn_wait(inv, idx, n_idx, wait_ms);

    if (jobs == 0)
        jobs = spec->mode == FLEET_APPLY && !dry_run ? CMD_JOBS_APPLY : CMD_JOBS_READ_ONLY;
    FleetRun run = {
        .mode = dry_run ? FLEET_PLAN : spec->mode,
        .cb = cb,
        .inv = inv,
        .selected = idx,
        .n = n_idx,
        .jobs = jobs,
        .allow_out_of_order = allow_ooo,
        .wave_first = wave_first,
        .wave_end = wave_end,
        .assume_yes = assume_yes,
        .plugins = plugins,
        .progress = verbosity >= 0 && verbosity < 2 && isatty(STDERR_FILENO),
    };
    FleetResult result;
    if (fleet_run(&run, &result, &err) != PF_OK) {
        cmd_error(&err);
        code = err.code == PF_ERR_INPUT ? PF_EXIT_INVALID : PF_EXIT_FAILED;
        fleet_result_clear(&result);
        goto out;
    }
    code = fleet_exit_code(&result);
    const char *no_color = getenv("NO_COLOR");
    ReportContext ctx = {
        .inventory_path = dsn_run ? NULL : inv->path,
        .cb = cb,
        .result = &result,
        .exit_code = code,
        .color = !output && isatty(STDOUT_FILENO) && !(no_color && *no_color),
    };
    if (report_write(&ctx, format, output, &err) != PF_OK) {
        cmd_error(&err);
        if (code == PF_EXIT_OK)
            code = PF_EXIT_FAILED;
    }
    char *kept = NULL;
    if (report_dir && report_history_keep(&ctx, report_dir, &kept, &err) != PF_OK) {
        cmd_error(&err);
        if (code == PF_EXIT_OK)
            code = PF_EXIT_FAILED;
    }
    if (kept)
        pf_log(PF_LOG_INFO, NULL, "report kept in %s", kept);
    free(kept);
    fleet_result_clear(&result);
out:
    plugin_host_free(plugins); /* fini, after run_end */
    cb_free(cb);
    inv_free(inv);
    free(idx);
    free(dsn_dir);
    return code;
invalid:
    cmd_selection_free(&sel);
    free(dsn_mode.dsns);
    return PF_EXIT_INVALID;
}
