/* pgfleet apply: migrate every behind or uninitialized target under its advisory lock. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "apply",
    FLEET_APPLY,
    "usage: pgfleet apply [OPTIONS]\n"
    "       pgfleet apply --dsn URL -m DIR [OPTIONS]       (one database, no inventory)\n"
    "       pgfleet apply -c drizzle.config.ts [OPTIONS]\n\n"
    "For every selected target: take the ledger's advisory lock (waiting up to lock_wait),\n"
    "read the ledger, and apply the pending migrations of a behind or uninitialized target in\n"
    "one transaction (or one per migration with `transaction: per-migration`), then verify\n"
    "the ledger. Targets with any other status are refused with the reason.\n\n"
    "With `waves` in the inventory, the waves run one after the other: a wave starts once the\n"
    "one before it has finished within its max_failures, paused and been confirmed\n"
    "(docs/waves.md).\n\n"
    "Options:\n" CMD_FLEET_HELP CMD_WAVES_HELP
    "      --yes              start each next wave without asking at a wave's confirm\n"
    "      --dry-run          only plan: connect read-only and show what would be applied\n"
    "      --backup-dir DIR   dump each target with pg_dump into DIR/<target>/ before its\n"
    "                         first pending migration (backup settings: docs/backups.md)\n"
    "      --allow-out-of-order\n"
    "                         also apply migrations older than the newest applied "
    "one\n"
    "      --force            apply even when a migration will certainly fail on every\n"
    "                         target (docs/lint.md); without it such a folder is refused,\n"
    "                         exit 3, before any target is connected to\n" CMD_DSN_HELP
        CMD_EXIT_HELP,
};

int cmd_apply(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
