/* pgfleet mark-applied: record migrations in ledgers without running them. */
#include "cmd/cmd.h"

static const FleetCmdSpec spec = {
    "mark-applied",
    FLEET_MARK,
    "usage: pgfleet mark-applied --through TAG [OPTIONS]\n"
    "       pgfleet mark-applied --migration TAG [--migration TAG...] [OPTIONS]\n\n"
    "Record migrations as applied without running them: for each selected target, under the\n"
    "ledger's advisory lock, insert the rows drizzle-orm's migrator would have written (hash,\n"
    "created_at, and the name in a v1 ledger), creating the ledger as drizzle does when there\n"
    "is none. Each row recorded is printed. Without --yes, it first shows what it would record\n"
    "on every target and asks on the terminal; with no terminal and no --yes it runs nothing.\n\n"
    "  --through TAG      every migration up to and including TAG that the ledger lacks: adopt a\n"
    "                     database made by drizzle-kit push or by hand (status unmanaged)\n"
    "  --migration TAG    this migration (repeatable): e.g. one that drizzle skipped and a later\n"
    "                     migration superseded. A target whose ledger has it already is refused.\n"
    "  --verify           with --through: first compare each target's schema with the one the\n"
    "                     migrations through TAG make (built on the inventory's\n"
    "                     drift.scratch_dsn) and refuse a target that differs, listing each\n"
    "                     difference (docs/drift.md)\n"
    "A tag the codebase lacks is invalid input (exit 3, nothing run).\n\n"
    "Options:\n" CMD_FLEET_HELP
    "      --yes              record without asking\n" CMD_DSN_HELP CMD_EXIT_HELP,
};

int cmd_mark_applied(int argc, char **argv)
{
    return cmd_run_fleet(argc, argv, &spec);
}
