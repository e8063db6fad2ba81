/* Subcommands. Each parses its own options and returns the process exit code. */
#ifndef PF_CMD_H
#define PF_CMD_H

#include "fleet/fleet.h"

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_mark_applied(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_diff_schema(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* What distinguishes plan, apply, audit, mark-applied and repair; the rest is shared
 * (fleet_cmd.c). */
typedef struct FleetCmdSpec {
    const char *name;
    FleetMode mode;
    const char *usage; /* full --help text */
} FleetCmdSpec;

int cmd_run_fleet(int argc, char **argv, const FleetCmdSpec *spec);

/* Default -j: the read-only commands spend their time waiting on the network (bench/audit.sh);
 * apply keeps to fewer concurrent migrations. */
enum { CMD_JOBS_READ_ONLY = 16, CMD_JOBS_APPLY = 4 };

/* The options every command shares, for --help texts. */
#define CMD_SELECTION_HELP                                                                         \
    "  -i, --inventory FILE   the inventory (default: $PGFLEET_INVENTORY, else pgfleet.yaml)\n"    \
    "  -t, --target GLOB      select targets by name; repeatable, any may match\n"                 \
    "  -s, --select SEL       select by labels: key=value,key!=value; repeatable, all hold\n"

#define CMD_FLEET_HELP                                                                             \
    CMD_SELECTION_HELP                                                                             \
    "  -m, --migrations DIR   the drizzle migrations folder (overrides migrations.dir)\n"          \
    "  -j, --jobs N           targets worked on at once (default 16 for plan, audit and\n"         \
    "                         apply --dry-run, which only read; 4 for apply), at most\n"           \
    "                         max_per_server (16) on one server (docs/inventory.md)\n"             \
    "  -f, --format FMT       report format: text (default), json, junit, prometheus,\n"           \
    "                         markdown or html (docs/report.md)\n"                                 \
    "  -o, --output FILE      write the report to FILE instead of stdout; +FILE appends to FILE\n" \
    "      --shard K/N        only the targets of shard K (0 to N-1) of N, by a hash of their\n"   \
    "                         name, after the selection and waves (docs/scale.md)\n"               \
    "      --report-dir DIR   also keep the run's JSON report in DIR, under a timestamped name\n"  \
    "  -v, --verbose          log each step on stderr\n"                                           \
    "  -q, --quiet            log only errors; no progress line\n"                                 \
    "  -h, --help             show this help\n"

/* Waves (docs/waves.md): plan, apply and audit take --wave and --from-wave. */
#define CMD_WAVES_HELP                                                                             \
    "      --wave NAME        only the targets of this wave of the inventory's waves\n"            \
    "      --from-wave NAME   resume at this wave: it and the waves after it\n"

/* Schema drift (docs/drift.md): plan and audit take --drift. */
#define CMD_DRIFT_HELP                                                                             \
    "      --drift            also compare each target's schema with the one its ledger's\n"       \
    "                         migrations make (built on the inventory's drift.scratch_dsn):\n"     \
    "                         drifted, with the differences (default: drift.audit, drift.plan)\n"

/* One database without an inventory (dsn.c): plan, apply and audit take --dsn, -c and --wait. */
#define CMD_DSN_HELP                                                                               \
    "\nOne database without an inventory (instead of -i):\n"                                       \
    "      --dsn URL          a target: a postgres:// URL or a key=value conninfo; repeatable.\n"  \
    "                         Named HOST[:PORT]/DB, with the inventory's defaults\n"               \
    "  -c, --config FILE      drizzle-kit's config (drizzle.config.ts, .js or .json), read\n"      \
    "                         without running it: out, migrations.table, migrations.schema and,\n" \
    "                         without --dsn, dbCredentials.url (literal or process.env.NAME)\n"    \
    "      --wait DURATION    first wait up to DURATION (30s, 2m) for the server to accept\n"      \
    "                         connections (refused, starting up), then run\n"

#define CMD_EXIT_HELP                                                                              \
    "\nExit codes: 0 all good, 1 fleet not in sync, 2 targets failed or unreachable,\n"            \
    "3 invalid input (nothing was run), 130 interrupted. See docs/statuses.md.\n"

#endif
