/* pgfleet diff: which targets changed between two JSON reports (docs/report.md). */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "core/util.h"
#include "report/history.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: pgfleet diff OLD.json NEW.json [-f text|json] [-o FILE]\n\n"
    "Compare two JSON reports of plan, apply or audit (-f json, or the files --report-dir\n"
    "keeps) target by target: which targets appeared, disappeared, or changed status,\n"
    "pending count or (between two apply reports) outcome. Targets are matched by name.\n\n"
    "Options:\n"
    "  -f, --format FMT       text (default) or json\n"
    "  -o, --output FILE      write the comparison to FILE (atomically) instead of stdout\n"
    "  -h, --help             show this help\n\n"
    "Exit codes: 0 no target changed, 1 some target changed, 3 invalid input (options, a\n"
    "file that cannot be read or is not a pgfleet report).\n";

/* Exit code of diff beside PF_EXIT_OK and PF_EXIT_INVALID. */
enum { DIFF_EXIT_CHANGED = 1 };

int cmd_diff(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    bool json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:o:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "pgfleet diff: unknown format '%s' (expected text or json)\n",
                        optarg);
                return PF_EXIT_INVALID;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet diff --help' for the options.\n");
            return PF_EXIT_INVALID;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "pgfleet diff: expected two reports, OLD.json and NEW.json, not %d\n",
                argc - optind);
        return PF_EXIT_INVALID;
    }

    PfErr err;
    ReportSummary *before = NULL, *after = NULL;
    if (report_summary_read(argv[optind], &before, &err) != PF_OK ||
        report_summary_read(argv[optind + 1], &after, &err) != PF_OK) {
        cmd_error(&err);
        report_summary_free(before);
        return PF_EXIT_INVALID;
    }
    ReportDiff d;
    report_diff(before, after, &d);
    int code = d.n > 0 ? DIFF_EXIT_CHANGED : PF_EXIT_OK;
    char *doc = json ? report_diff_json(before, after, &d) : report_diff_text(before, after, &d);
    if (pf_write_output(output, doc, "the differences", &err) != PF_OK) {
        cmd_error(&err);
        code = PF_EXIT_INVALID;
    }
    free(doc);
    report_diff_clear(&d);
    report_summary_free(before);
    report_summary_free(after);
    return code;
}
