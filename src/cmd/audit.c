/* pgfleet audit: read-only; the exit code says whether the fleet is in sync. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "audit",
    FLEET_AUDIT,
    "usage: pgfleet audit [OPTIONS]\n\n"
    "Check every selected target against the codebase without changing anything and without\n"
    "taking a lock. Exits 0 only when every target is in_sync, 1 when some target is not,\n"
    "2 when some target is unreachable.\n\n"
    "Options:\n" CMD_FLEET_HELP CMD_EXIT_HELP,
};

int cmd_audit(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
