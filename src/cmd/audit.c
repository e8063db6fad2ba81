/* pgfleet audit: read-only; the exit code says whether the fleet is in sync. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "audit",
    FLEET_AUDIT,
    "usage: pgfleet audit [OPTIONS]\n"
    "       pgfleet audit --dsn URL -m DIR [OPTIONS]       (one database, no inventory)\n"
    "       pgfleet audit -c drizzle.config.ts [OPTIONS]\n\n"
    "Check every selected target against the codebase without changing anything and without\n"
    "taking a lock. A target whose ledger lock another session holds is migrating (with who\n"
    "holds it), its ledger not judged. With --drift, a target whose ledger is fine but whose\n"
    "schema is not what its migrations make is drifted, with the differences. Exits 0 only\n"
    "when every target is in_sync, 1 when some target is not (migrating and drifted\n"
    "included), 2 when some target is unreachable or its drift could not be checked.\n\n"
    "Options:\n" CMD_FLEET_HELP CMD_WAVES_HELP CMD_DRIFT_HELP CMD_DSN_HELP CMD_EXIT_HELP,
};

int cmd_audit(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
