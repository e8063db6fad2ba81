/* pgfleet lint: check a drizzle migrations folder without any database (docs/lint.md). */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "lint/down.h"
#include "lint/lint.h"
#include "core/buf.h"
#include "core/util.h"
#include "report/lint_report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "usage: pgfleet lint [-m DIR | -i INVENTORY] [-f text|json] [-o FILE]\n\n"
    "Check a drizzle migrations folder without any database: its journal and files\n"
    "(missing or unlisted files, duplicate numbers, `when` going backwards, v1 folders)\n"
    "and its statements, read by PostgreSQL's parser (drops, renames generated as\n"
    "drop+create, type changes, SET NOT NULL, statements that cannot run inside drizzle's\n"
    "transaction, a COMMIT that ends it, new enum values used in it). Each finding has a\n"
    "rule, a severity, a file:line:column and a hint. plan and apply refuse the errors that\n"
    "fail on every target (docs/lint.md).\n\n"
    "Options:\n"
    "  -m, --migrations DIR   the folder to check (default: the inventory's migrations.dir)\n"
    "  -i, --inventory FILE   the inventory (default: $PGFLEET_INVENTORY, else pgfleet.yaml);\n"
    "                         with tenant schemas in it, also where the folder names a\n"
    "                         schema they map but cannot be rewritten (docs/tenants.md)\n"
    "  -f, --format FMT       text (default) or json\n"
    "  -o, --output FILE      write the findings to FILE (atomically) instead of stdout\n"
    "  -h, --help             show this help\n\n"
    "Rules (docs/lint.md):\n";

static const char usage_tail[] =
    "\nExit codes: 0 no findings, or info only; 1 the worst finding is a warning;\n"
    "2 some finding is an error; 3 invalid input (options, inventory, a folder that is\n"
    "missing or no migrations folder at all, an output file that cannot be written).\n";

static void print_usage(void)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_puts(&b, usage_head);
    for (const LintRule *r = lint_rules; r->id; r++)
        pf_buf_printf(&b, "  %-8s %-20s %s\n", lint_severity_name(r->severity), r->id, r->summary);
    pf_buf_puts(&b, usage_tail);
    char *s = pf_buf_take(&b);
    fputs(s, stdout);
    free(s);
}

/* Exit codes of lint beside PF_EXIT_OK and PF_EXIT_INVALID: by the worst finding. */
enum { LINT_EXIT_WARNING = 1, LINT_EXIT_ERROR = 2 };

static int exit_code(const LintResult *r)
{
    size_t counts[3];
    lint_counts(r, counts);
    return counts[LINT_ERROR]     ? LINT_EXIT_ERROR
           : counts[LINT_WARNING] ? LINT_EXIT_WARNING
                                  : PF_EXIT_OK;
}

int cmd_lint(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"migrations", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    const char *dir = NULL, *output = NULL;
    bool json = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:m:f:o:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            sel.inventory_path = optarg;
            break;
        case 'm':
            dir = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "pgfleet lint: unknown format '%s' (expected text or json)\n",
                        optarg);
                return PF_EXIT_INVALID;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            print_usage();
            return PF_EXIT_OK;
        default:
            fprintf(stderr, "Run 'pgfleet lint --help' for the options.\n");
            return PF_EXIT_INVALID;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pgfleet lint: unexpected argument '%s'; hint: the folder goes after -m\n",
                argv[optind]);
        return PF_EXIT_INVALID;
    }

    /* -m wins; otherwise the inventory says where the folder is. */
    Inventory *inv = NULL;
    size_t *idx = NULL, n_idx = 0;
    if (!dir) {
        inv = cmd_load_selection(&sel, &idx, &n_idx);
        free(idx);
        if (!inv)
            return PF_EXIT_INVALID;
        dir = inv->migrations_dir;
        if (!dir) {
            fprintf(stderr,
                    "pgfleet: %s: no migrations folder; hint: set migrations.dir in the "
                    "inventory or pass --migrations DIR\n",
                    inv->path);
            inv_free(inv);
            return PF_EXIT_INVALID;
        }
    }

    /* The folder is read once: its problems and its migrations, for every rule. */
    PfErr err;
    LintResult *r = NULL;
    Codebase *cb = NULL;
    CbProblems problems;
    int code = PF_EXIT_INVALID;
    if (cb_read_all(dir, &cb, &problems, &err) != PF_OK) {
        cmd_error(&err);
        cb_problems_free(&problems);
        goto out;
    }
    lint_codebase(cb, &problems, &r);
    /* Tenant schemas and down files are about the migrations drizzle-orm runs: only on a
     * folder plan and apply accept (cb_read would). */
    if (!cb_problems_refused(&problems)) {
        size_t n_schemas = 0;
        const char **schemas = inv ? inv_tenant_schemas(inv, NULL, 0, &n_schemas) : NULL;
        if (n_schemas)
            lint_tenant_schemas(r, cb, schemas, n_schemas);
        lint_down_files(r, cb); /* down migrations (docs/rollback.md) */
        free(schemas);
    }
    cb_problems_free(&problems);
    code = exit_code(r);
    char *doc = json ? report_lint_json(r, code) : report_lint_text(r);
    if (pf_write_output(output, doc, "the findings", &err) != PF_OK) {
        cmd_error(&err);
        code = PF_EXIT_INVALID;
    }
    free(doc);
out:
    cb_free(cb);
    lint_result_free(r);
    inv_free(inv);
    return code;
}
