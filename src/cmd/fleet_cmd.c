/* The body of plan, apply and audit: options, targets (an inventory, or --dsn), codebase, fleet
 * run, report. */
#include "cmd/cmd.h"
#include "cmd/common.h"

#include "codebase/codebase.h"
#include "codebase/down.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "lint/lint.h"
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
enum { OPT_MIGRATION = 1300, OPT_THROUGH };       /* mark-applied */
enum { OPT_FORCE = 1400 };                        /* plan, apply: docs/lint.md */
enum { OPT_DRIFT = 1500, OPT_VERIFY };            /* docs/drift.md */
enum { OPT_BACKUP_DIR = 1600 };                   /* apply: docs/backups.md */
enum { OPT_TO = 1700, OPT_STEPS, OPT_ROLLBACK };  /* rollback, plan --rollback */
enum { OPT_SHARD = 1800 };                        /* docs/scale.md */

/* mark-applied's tags as codebase indexes: every --migration, and --through as an index + 1
 * (0 when not given). Prints the error and returns false for a tag the codebase lacks. */
static bool resolve_tags(const char *cmd, const Codebase *cb, const char **tags, size_t n_tags,
                         const char *through, size_t *idx, size_t *through_end)
{
    bool ok = true;
    for (size_t i = 0; i <= n_tags; i++) {
        const char *tag = i < n_tags ? tags[i] : through;
        if (!tag)
            continue;
        size_t m = 0;
        while (m < cb->n && strcmp(cb->migrations[m].tag, tag) != 0)
            m++;
        if (m == cb->n) {
            fprintf(stderr,
                    "pgfleet %s: %s: no migration %s in %s; hint: use a tag from the journal "
                    "(or a folder name of the v1 layout)\n",
                    cmd, tag, tag, cb->dir);
            ok = false;
        } else if (i < n_tags) {
            idx[i] = m;
        } else {
            *through_end = m + 1;
        }
    }
    return ok;
}

/* mark-applied and repair without --yes: run once only to see what would change, show it (the
 * jobs print each change), and ask. PF_EXIT_OK to go on; otherwise the exit code. */
static int confirm_changes(const FleetRun *run, const char *cmd)
{
    FleetRun preview = *run;
    preview.preview = true;
    preview.plugins = NULL;
    FleetResult pr;
    PfErr err;
    if (fleet_run(&preview, &pr, &err) != PF_OK) {
        cmd_error(&err);
        fleet_result_clear(&pr);
        return PF_EXIT_FAILED;
    }
    size_t changes = 0, targets = 0;
    for (size_t i = 0; i < pr.n; i++) {
        changes += pr.targets[i].n_changes;
        targets += pr.targets[i].n_changes > 0;
    }
    bool interrupted = pr.interrupted;
    fleet_result_clear(&pr);
    if (interrupted)
        return PF_EXIT_INTERRUPTED;
    if (changes == 0)
        return PF_EXIT_OK; /* nothing to change: the run says so per target */
    char *question =
        run->mode == FLEET_ROLLBACK
            ? pf_asprintf("pgfleet: roll back %zu migration%s (run their down files, delete "
                          "their ledger rows) on %zu target%s, as listed above? [y/N] ",
                          changes, changes == 1 ? "" : "s", targets, targets == 1 ? "" : "s")
            : pf_asprintf("pgfleet: %s %zu ledger row%s on %zu target%s, as listed "
                          "above? [y/N] ",
                          run->mode == FLEET_MARK ? "record" : "rewrite the hash of", changes,
                          changes == 1 ? "" : "s", targets, targets == 1 ? "" : "s");
    /* Not inside a run: SIGINT still ends the process at the prompt. */
    fleet_signals_open();
    WaveConfirm answer = fleet_ask(question, NULL);
    fleet_signals_hold();
    free(question);
    if (answer == WAVE_CONFIRM_YES)
        return PF_EXIT_OK;
    fprintf(stderr, "pgfleet %s: not confirmed: no ledger was changed\n", cmd);
    return PF_EXIT_FAILED;
}

/* plan and apply: lint's findings of what fails on every target (lint_certain_failures),
 * printed on stderr. True when there are none; the run then goes on. */
static bool certain_failures_allowed(const char *cmd, const Codebase *cb)
{
    LintResult *r;
    lint_certain_failures(cb, &r);
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->findings[i];
        fprintf(stderr, "pgfleet %s: %s:%d:%d: error: %s [%s]\n  hint: %s\n", cmd, f->file, f->line,
                f->column, f->message, f->rule, f->hint);
    }
    bool ok = r->n == 0;
    if (!ok)
        fprintf(stderr,
                "pgfleet %s: refused before connecting to any target: %zu statement%s above "
                "will fail on every target; hint: fix %s (pgfleet lint lists every finding), "
                "or pass --force to run anyway\n",
                cmd, r->n, r->n == 1 ? "" : "s", r->n == 1 ? "it" : "them");
    lint_result_free(r);
    return ok;
}

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
        {"migration", required_argument, NULL, OPT_MIGRATION},
        {"through", required_argument, NULL, OPT_THROUGH},
        {"force", no_argument, NULL, OPT_FORCE},
        {"drift", no_argument, NULL, OPT_DRIFT},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"backup-dir", required_argument, NULL, OPT_BACKUP_DIR},
        {"to", required_argument, NULL, OPT_TO},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"rollback", no_argument, NULL, OPT_ROLLBACK},
        {"shard", required_argument, NULL, OPT_SHARD},
        {NULL, 0, NULL, 0},
    };
    CmdSelection sel = {0};
    const char *migrations_dir = NULL, *output = NULL, *report_dir = NULL;
    ReportFormat format = REPORT_TEXT;
    int jobs = 0, verbosity = 0; /* jobs 0: the command's default (cmd.h) */
    bool dry_run = false, allow_ooo = false, force = false, drift = false, verify = false;
    const char *wave_only = NULL, *wave_from = NULL;
    bool assume_yes = false;
    const char *backup_dir = NULL;
    const char *rollback_to = NULL;
    long rollback_steps = 0;
    bool rollback_plan = false;
    CbDown *downs = NULL;
    InvShard shard = {0};
    CmdDsnMode dsn_mode = {0};
    const char *wait_text = NULL;
    PgConn **waited = NULL; /* --wait: the connections made, for the run */
    int64_t wait_ms = 0;
    const char **mark_tags = NULL, *through = NULL;
    size_t n_mark_tags = 0;
    size_t *mark_idx = NULL;
    bool changes_ledgers =
        spec->mode == FLEET_MARK || spec->mode == FLEET_REPAIR || spec->mode == FLEET_ROLLBACK;
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
        case OPT_SHARD:
            if (!inv_shard_parse(optarg, &shard)) {
                fprintf(stderr,
                        "pgfleet %s: --shard takes K/N, shard K (from 0) of N (at most %d), "
                        "not '%s'\n",
                        spec->name, INV_SHARD_MAX, optarg);
                goto invalid;
            }
            break;
        case OPT_WAVE:
            wave_only = optarg;
            break;
        case OPT_FROM_WAVE:
            wave_from = optarg;
            break;
        case OPT_YES:
            if (spec->mode != FLEET_APPLY && !changes_ledgers) {
                fprintf(stderr,
                        "pgfleet %s: --yes is an option of apply, mark-applied and repair\n",
                        spec->name);
                goto invalid;
            }
            assume_yes = true;
            break;
        case OPT_MIGRATION:
        case OPT_THROUGH:
            if (spec->mode != FLEET_MARK) {
                fprintf(stderr, "pgfleet %s: %s is an option of mark-applied\n", spec->name,
                        argv[optind - 1]);
                goto invalid;
            }
            if (opt == OPT_THROUGH) {
                through = optarg;
            } else {
                mark_tags = pf_realloc(mark_tags, (n_mark_tags + 1) * sizeof *mark_tags);
                mark_tags[n_mark_tags++] = optarg;
            }
            break;
        case OPT_FORCE:
            if (spec->mode != FLEET_PLAN && spec->mode != FLEET_APPLY) {
                fprintf(stderr, "pgfleet %s: --force is an option of plan and apply\n", spec->name);
                goto invalid;
            }
            force = true;
            break;
        case OPT_DRIFT:
            if (spec->mode != FLEET_AUDIT && spec->mode != FLEET_PLAN) {
                fprintf(stderr, "pgfleet %s: --drift is an option of audit and plan\n", spec->name);
                goto invalid;
            }
            drift = true;
            break;
        case OPT_VERIFY:
            if (spec->mode != FLEET_MARK) {
                fprintf(stderr, "pgfleet %s: --verify is an option of mark-applied\n", spec->name);
                goto invalid;
            }
            verify = true;
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
            free(mark_tags);
            return PF_EXIT_OK;
        case OPT_ROLLBACK:
            if (spec->mode != FLEET_PLAN) {
                fprintf(stderr, "pgfleet %s: --rollback is an option of plan\n", spec->name);
                goto invalid;
            }
            rollback_plan = true;
            break;
        case OPT_TO:
        case OPT_STEPS:
            if (spec->mode != FLEET_ROLLBACK && spec->mode != FLEET_PLAN) {
                fprintf(stderr, "pgfleet %s: %s is an option of rollback and plan --rollback\n",
                        spec->name, argv[optind - 1]);
                goto invalid;
            }
            if (opt == OPT_TO) {
                rollback_to = optarg;
            } else {
                char *end;
                rollback_steps = strtol(optarg, &end, 10);
                if (*end || rollback_steps < 1 || rollback_steps > 1000000) {
                    fprintf(stderr, "pgfleet %s: --steps takes a number from 1, not '%s'\n",
                            spec->name, optarg);
                    goto invalid;
                }
            }
            break;
        case OPT_BACKUP_DIR:
            if (spec->mode != FLEET_APPLY) {
                fprintf(stderr, "pgfleet %s: --backup-dir is an option of apply\n", spec->name);
                goto invalid;
            }
            backup_dir = optarg;
            break;
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
    if (spec->mode == FLEET_MARK && !through && n_mark_tags == 0) {
        fprintf(stderr,
                "pgfleet %s: say what to record: --through TAG (every migration up to TAG that "
                "the ledger lacks) or --migration TAG (repeatable)\n",
                spec->name);
        goto invalid;
    }
    bool rolling_back = spec->mode == FLEET_ROLLBACK || rollback_plan;
    if (rolling_back && !rollback_to == !rollback_steps) {
        fprintf(stderr, "pgfleet %s: say how far to roll back: --to TAG or --steps N (one)\n",
                spec->name);
        goto invalid;
    }
    if (!rolling_back && (rollback_to || rollback_steps)) {
        fprintf(stderr, "pgfleet %s: --to and --steps go with --rollback\n", spec->name);
        goto invalid;
    }
    if (changes_ledgers && !assume_yes && !fleet_terminal_available()) {
        fprintf(stderr,
                "pgfleet %s: changes ledgers and asks first, but there is no terminal to ask on; "
                "nothing was run; hint: run it on a terminal, or pass --yes\n",
                spec->name);
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

    size_t *idx = NULL, n_idx = 0, *positions = NULL;
    PluginHost *plugins = NULL;
    char *dsn_dir = NULL; /* --dsn mode: -m, or the config's out */
    dsn_mode.migrations_dir = migrations_dir;
    Inventory *inv = dsn_run ? cmd_dsn_load(&dsn_mode, &sel, &idx, &n_idx, &dsn_dir)
                             : cmd_load_selection_plugins(&sel, &idx, &n_idx, &plugins);
    cmd_selection_free(&sel);
    if (!inv)
        return PF_EXIT_INVALID;
    /* From here to the exit: a signal interrupts the run (at once if it has not started), and
     * the report and the exit code agree. */
    fleet_signals_hold();
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
    if ((spec->mode == FLEET_PLAN || spec->mode == FLEET_APPLY) && !force &&
        !certain_failures_allowed(spec->name, cb))
        goto out;
    size_t selected = n_idx; /* before --shard: every shard's report says it */
    positions = pf_calloc(n_idx ? n_idx : 1, sizeof *positions);
    inv_shard_filter(inv, shard, idx, &n_idx, positions);
    if (n_idx == 0 && shard.count == 0) {
        fprintf(stderr, "pgfleet: %s: no target is selected%s\n", inv->path,
                inv->n ? "; hint: check --target and --select" : "");
        goto out;
    }
    size_t mark_through = 0;
    mark_idx = pf_calloc(n_mark_tags ? n_mark_tags : 1, sizeof *mark_idx);
    if (!resolve_tags(spec->name, cb, mark_tags, n_mark_tags, through, mark_idx, &mark_through))
        goto out;
    drift = drift || (spec->mode == FLEET_AUDIT && inv->drift.audit) ||
            (spec->mode == FLEET_PLAN && !dry_run && inv->drift.plan);
    if (verify && mark_through == 0) {
        fprintf(stderr,
                "pgfleet %s: --verify checks the schema against --through TAG's; hint: "
                "pass --through\n",
                spec->name);
        goto out;
    }
    if ((drift || verify) && !inv->drift.scratch_dsn) {
        fprintf(stderr,
                "pgfleet %s: --%s needs a scratch server to build the expected schema on; "
                "nothing was run; hint: set drift: {scratch_dsn: ...} in the inventory "
                "(docs/drift.md)\n",
                spec->name, verify ? "verify" : "drift");
        goto out;
    }
    size_t rollback_end = 0; /* --to TAG: its index + 1 */
    if (rollback_to && !resolve_tags(spec->name, cb, NULL, 0, rollback_to, NULL, &rollback_end))
        goto out;
    if (rolling_back && cb_downs_read(cb, &downs, &err) != PF_OK) {
        cmd_error(&err);
        goto out;
    }
    if (wait_text) {
        /* Nothing has run: SIGINT ends the wait, and pgfleet, at once. */
        fleet_signals_open();
        waited = cmd_dsn_wait(inv, idx, n_idx, wait_ms);
        fleet_signals_hold();
    }

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
        .mark = mark_idx,
        .n_mark = n_mark_tags,
        .mark_through = mark_through,
        .drift = drift || verify ? &inv->drift : NULL,
        .mark_verify = verify,
        .backup_dir = backup_dir,
        .rollback_plan = rollback_plan,
        .rollback_to = rollback_end,
        .rollback_steps = (size_t)rollback_steps,
        .downs = downs,
        .waited = waited,
    };
    if (changes_ledgers && !assume_yes && (code = confirm_changes(&run, spec->name)) != PF_EXIT_OK)
        goto out;
    /* git describe runs as a child process beside the run: the report needs its answer, the
     * run does not. */
    CbRevisionAsk revision_ask;
    cb_revision_start(cb, &revision_ask);
    FleetResult result;
    PfErrCode run_rc = fleet_run(&run, &result, &err);
    fleet_signals_defer();
    CbRevision revision;
    cb_revision_finish(&revision_ask, &revision);
    if (run_rc != PF_OK) {
        cmd_error(&err);
        code = err.code == PF_ERR_INPUT ? PF_EXIT_INVALID : PF_EXIT_FAILED;
        fleet_result_clear(&result);
        cb_revision_clear(&revision);
        goto out;
    }
    code = fleet_exit_code(&result);
    const char *no_color = getenv("NO_COLOR");
    ReportContext ctx = {
        .inventory_path = dsn_run ? NULL : inv->path,
        .cb = cb,
        .result = &result,
        .exit_code = code,
        .shard = shard,
        .shard_selected = selected,
        .shard_positions = positions,
        .color = !output && isatty(STDOUT_FILENO) && !(no_color && *no_color),
        .revision = &revision,
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
    fleet_signals_report_late(code);
    cb_revision_clear(&revision);
    fleet_result_clear(&result);
out:
    if (inv)
        cmd_dsn_wait_free(waited, inv->n);
    if (cb)
        cb_downs_free(downs, cb->n);
    plugin_host_free(plugins); /* fini, after run_end */
    cb_free(cb);
    inv_free(inv);
    free(idx);
    free(positions);
    free(dsn_dir);
    free(mark_tags);
    free(mark_idx);
    return code;
invalid:
    cmd_selection_free(&sel);
    free(dsn_mode.dsns);
    free(mark_tags);
    return PF_EXIT_INVALID;
}
