/* pgfleet merge: the JSON reports of a sharded run collated into one report (docs/scale.md). */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "codebase/codebase.h"
#include "report/merge.h"
#include "report/report.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: pgfleet merge REPORT.json... [OPTIONS]\n\n"
    "Collate the JSON reports of the shards of one run (plan, apply or audit with --shard K/N\n"
    "and -f json) into one fleet report, in any format: the targets in the order of the\n"
    "unsharded selection, counts, outcomes and waves over the whole fleet, the exit code of\n"
    "the fleet. Reports of different runs are refused: another command, inventory or\n"
    "codebase, another split, a shard missing or given twice, a target in two reports.\n\n"
    "Options:\n"
    "  -m, --migrations DIR   the migrations folder the shards ran with (default: the one the\n"
    "                         reports name); its head must be theirs\n"
    "  -f, --format FMT       text (default), json, junit, prometheus, markdown or html\n"
    "  -o, --output FILE      write the report to FILE instead of stdout; +FILE appends to FILE\n"
    "      --wave NAME        with --check-threshold: the wave whose shards these are\n"
    "      --check-threshold  exit 0 when the wave's failures over all shards are within its\n"
    "                         max_failures (start the next wave), 2 when they halt the rollout\n"
    "      --force            merge reports that are not the shards of one run (each reason\n"
    "                         is printed as a warning)\n"
    "  -h, --help             show this help\n\n"
    "Exit codes: as the run's (0 all good, 1 fleet not in sync, 2 targets failed or\n"
    "unreachable, 130 interrupted); with --check-threshold 0 go on, 2 halt; 3 invalid input.\n";

enum { OPT_WAVE = 1100, OPT_CHECK_THRESHOLD, OPT_FORCE };

/* --check-threshold: the verdict on wave name of the merged result, on stderr. */
static int check_threshold(const FleetResult *fr, const char *name)
{
    for (size_t i = 0; i < fr->n_waves; i++) {
        const WaveResult *w = &fr->waves[i];
        if (strcmp(w->wave->name, name) != 0)
            continue;
        if (w->state != WAVE_DONE && w->state != WAVE_INTERRUPTED) {
            fprintf(stderr,
                    "pgfleet merge: wave %s did not run in these reports (%s); hint: merge the "
                    "reports of `apply --wave %s --shard K/N`\n",
                    name, fleet_wave_state_name(w->state), name);
            return PF_EXIT_INVALID;
        }
        if (w->halted) {
            fprintf(stderr, "pgfleet merge: halt: %s\n", w->reason ? w->reason : name);
            return PF_EXIT_FAILED;
        }
        fprintf(stderr,
                "pgfleet merge: wave %s: %zu failure%s of %zu target%s, max_failures %s allows "
                "%zu: go on\n",
                name, w->failures, w->failures == 1 ? "" : "s", w->n, w->n == 1 ? "" : "s",
                w->wave->max_failures_text, w->allowed);
        return PF_EXIT_OK;
    }
    fprintf(stderr, "pgfleet merge: --wave %s: the reports have no such wave\n", name);
    return PF_EXIT_INVALID;
}

int cmd_merge(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"migrations", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"wave", required_argument, NULL, OPT_WAVE},
        {"check-threshold", no_argument, NULL, OPT_CHECK_THRESHOLD},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *dir = NULL, *wave = NULL;
    ReportFormat format = REPORT_TEXT;
    bool check = false, force = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "m:f:o:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            dir = optarg;
            break;
        case 'f':
            if (!report_format_parse(optarg, &format)) {
                fprintf(stderr,
                        "pgfleet merge: unknown format '%s' (expected text, json, junit, "
                        "prometheus, markdown or html)\n",
                        optarg);
                return PF_EXIT_INVALID;
            }
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_WAVE:
            wave = optarg;
            break;
        case OPT_CHECK_THRESHOLD:
            check = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet merge --help' for the options.\n");
            return PF_EXIT_INVALID;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "pgfleet merge: expected the JSON reports to merge\n");
        return PF_EXIT_INVALID;
    }
    if (check != (wave != NULL)) {
        fprintf(stderr, "pgfleet merge: --wave NAME and --check-threshold go together\n");
        return PF_EXIT_INVALID;
    }
    PfErr err;
    if (output && cmd_check_output(output, &err) != PF_OK) {
        cmd_error(&err);
        return PF_EXIT_INVALID;
    }
    ReportMerge *m = NULL;
    if (report_merge_load((const char *const *)argv + optind, (size_t)(argc - optind), force, &m,
                          &err) != PF_OK) {
        cmd_error(&err);
        return PF_EXIT_INVALID;
    }
    int code = PF_EXIT_INVALID;
    Codebase *cb = NULL;
    const FleetResult *fr = NULL;
    if (!dir)
        dir = report_merge_codebase_dir(m);
    if (!dir) {
        fprintf(stderr,
                "pgfleet merge: the reports name no migrations folder; hint: pass -m DIR\n");
        goto out;
    }
    if (cb_read(dir, &cb, &err) != PF_OK) {
        fprintf(stderr, "pgfleet merge: %s; hint: pass the folder the shards ran with: -m DIR\n",
                err.msg);
        goto out;
    }
    if (report_merge_build(m, cb, &fr, &err) != PF_OK) {
        cmd_error(&err);
        goto out;
    }
    code = fleet_exit_code(fr);
    const char *no_color = getenv("NO_COLOR");
    CbRevision revision;
    bool has_revision = report_merge_revision(m, &revision);
    ReportContext ctx = {
        .inventory_path = report_merge_inventory(m),
        .cb = cb,
        .revision = has_revision ? &revision : NULL,
        .result = fr,
        .exit_code = code,
        .color = !output && isatty(STDOUT_FILENO) && !(no_color && *no_color),
    };
    if (report_write(&ctx, format, output, &err) != PF_OK) {
        cmd_error(&err);
        code = PF_EXIT_INVALID;
        goto out;
    }
    if (check)
        code = check_threshold(fr, wave);
out:
    cb_free(cb);
    report_merge_free(m);
    return code;
}
