/* pgfleet's entry point: dispatch to a subcommand from one table. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"plan", cmd_plan, "show each target's status and pending migrations (read-only)"},
    {"apply", cmd_apply, "apply pending migrations to every target, under advisory locks"},
    {"audit", cmd_audit, "check the fleet (read-only); the exit code says whether it is in sync"},
    {"mark-applied", cmd_mark_applied, "record migrations as applied without running them"},
    {"repair", cmd_repair, "record the hash of migrations edited on purpose (modified)"},
    {"rollback", cmd_rollback, "undo the newest migrations with their down files, under the lock"},
    {"restore", cmd_restore, "print (or run) the pg_restore command for a backup of apply"},
    {"inventory", cmd_inventory, "list the targets after expansion and selection"},
    {"lint", cmd_lint, "check the migrations folder without any database"},
    {"diff", cmd_diff, "compare two JSON reports: which targets changed status"},
    {"diff-schema", cmd_diff_schema, "compare two targets' schemas, or one with the codebase's"},
    {"merge", cmd_merge, "collate the JSON reports of a sharded run (--shard) into one report"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: pgfleet COMMAND [OPTIONS]\n\n"
                 "Plan, apply and audit Drizzle ORM migrations across a fleet of PostgreSQL "
                 "databases.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'pgfleet COMMAND --help' for a command's options.\n" CMD_EXIT_HELP);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PF_EXIT_INVALID;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(commands[i].name, argv[2]) == 0)
                    return commands[i].run(2, args);
        }
        usage(stdout);
        return PF_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            /* getopt names the program in its messages: "pgfleet apply: invalid option". */
            char prog[64];
            snprintf(prog, sizeof prog, "pgfleet %s", commands[i].name);
            argv[1] = prog;
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "pgfleet: unknown command '%s'\n\n", name);
    usage(stderr);
    return PF_EXIT_INVALID;
}
