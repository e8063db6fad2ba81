/* pgfleet rollback: undo the newest migrations with their down files (docs/rollback.md). */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "rollback",
    FLEET_ROLLBACK,
    "usage: pgfleet rollback --to TAG [OPTIONS]\n"
    "       pgfleet rollback --steps N [OPTIONS]\n\n"
    "For every selected target, under the ledger's advisory lock: run the down file of each\n"
    "applied migration after TAG (or of the N newest), newest first, and delete their ledger\n"
    "rows, all in one transaction: the target ends at TAG, or as it was when anything fails.\n"
    "Down files: down/<tag>.sql beside the journal, or <folder>/down.sql in the v1 layout.\n"
    "A target is refused when a down file is missing, when it is modified, ahead,\n"
    "out_of_order, foreign or unmanaged, or when its ledger is not the codebase's first\n"
    "migrations in order. A target already at or before TAG is unchanged. Without --yes it\n"
    "first shows what it would undo on every target and asks on the terminal; with no\n"
    "terminal and no --yes it runs nothing. `pgfleet plan --rollback --to TAG` only shows it.\n"
    "Waves run one after the other, as for apply (docs/waves.md).\n\n"
    "Options:\n" CMD_FLEET_HELP CMD_WAVES_HELP
    "      --to TAG           undo every applied migration after TAG (a journal tag or a v1\n"
    "                         folder name)\n"
    "      --steps N          undo the N newest applied migrations of each target\n"
    "      --yes              roll back without asking\n" CMD_DSN_HELP CMD_EXIT_HELP,
};

int cmd_rollback(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
