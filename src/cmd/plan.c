/* pgfleet plan: read-only; each target's status and pending migrations. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "plan",
    FLEET_PLAN,
    "usage: pgfleet plan [OPTIONS]\n"
    "       pgfleet plan --dsn URL -m DIR [OPTIONS]       (one database, no inventory)\n"
    "       pgfleet plan -c drizzle.config.ts [OPTIONS]\n\n"
    "Connect to every selected target (read-only, no lock taken), classify it and list the\n"
    "migrations apply would run. Statuses: in_sync, behind, uninitialized, out_of_order,\n"
    "modified, ahead, foreign, locked, unreachable (docs/statuses.md). With `waves` in the\n"
    "inventory, targets are listed wave by wave, in the order apply would run them\n"
    "(docs/waves.md). Warns, per target, of what its pending migrations will meet on the\n"
    "server: NOT NULL on a table with rows, CREATE EXTENSION without the privilege, long\n"
    "transactions and locks on the tables they touch (docs/preflight.md); warnings change\n"
    "neither the status nor the exit code.\n\n"
    "Options:\n" CMD_FLEET_HELP CMD_WAVES_HELP CMD_DRIFT_HELP
    "      --force            plan even when a migration will certainly fail on every\n"
    "                         target (docs/lint.md); without it such a folder is refused,\n"
    "                         exit 3, before any target is connected to\n"
    "      --rollback         with --to TAG or --steps N: show what pgfleet rollback would\n"
    "                         undo on each target (docs/rollback.md); exit 1 when a target\n"
    "                         would be refused\n"
    "      --to TAG, --steps N  how far (with --rollback)\n" CMD_DSN_HELP CMD_EXIT_HELP,
};

int cmd_plan(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
