/* pgfleet repair: give modified ledger rows their file's hash. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "repair",
    FLEET_REPAIR,
    "usage: pgfleet repair [OPTIONS]\n\n"
    "For a migration whose file was edited on purpose after it was applied (a comment, line\n"
    "endings: nothing that runs), record the file's hash in the ledger: for each selected\n"
    "target, under the ledger's advisory lock, every `modified` row gets its migration's hash\n"
    "(drizzle's hash of the file as it is now), old and new hash printed. Nothing else is\n"
    "touched, and nothing runs. Without --yes, it first shows what it would rewrite on every\n"
    "target and asks on the terminal; with no terminal and no --yes it runs nothing.\n\n"
    "Options:\n" CMD_FLEET_HELP
    "      --yes              rewrite without asking\n" CMD_DSN_HELP CMD_EXIT_HELP,
};

int cmd_repair(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
