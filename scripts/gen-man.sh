#!/usr/bin/env bash
# Write the man page pgfleet.1 from the binary's own --help texts: the command list of
# `pgfleet --help` and every command's `pgfleet COMMAND --help`, verbatim, so that the page
# cannot say anything the binary does not (tests/integration/test_cli_docs.sh checks docs/cli.md
# against the same texts). Usage: scripts/gen-man.sh PGFLEET OUT
set -euo pipefail
pgfleet=$1
out=$2
version=$("$pgfleet" version | sed -n '1s/^pgfleet //p')

# roff-escape: backslashes, and a line starting with . or ' must not be read as a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

main_help=$("$pgfleet" --help)
# The commands: the indented names under "Commands:".
commands=$(printf '%s\n' "$main_help" | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')

tmp=$(mktemp "$out.XXXXXX")
{
    echo ".TH PGFLEET 1 \"\" \"pgfleet $version\" \"User Commands\""
    echo ".SH NAME"
    echo "pgfleet \\- plan, apply and audit Drizzle ORM migrations across a fleet of PostgreSQL databases"
    echo ".SH SYNOPSIS"
    echo ".B pgfleet"
    echo ".I COMMAND"
    echo "[\\fIOPTIONS\\fR]"
    echo ".SH DESCRIPTION"
    echo ".nf"
    printf '%s\n' "$main_help" | esc
    echo ".fi"
    echo ".SH COMMANDS"
    for c in $commands; do
        echo ".SS $c"
        echo ".nf"
        "$pgfleet" "$c" --help | esc
        echo ".fi"
    done
    echo ".SH ENVIRONMENT"
    echo ".TP"
    echo ".B PGFLEET_INVENTORY"
    echo "the inventory when -i is not given (else pgfleet.yaml)"
    echo ".TP"
    echo ".B PGFLEET_PLUGIN_DIR"
    echo "where a plugin named by a bare file name (path: exec.so) is looked for when it is not"
    echo "beside the inventory; \`pgfleet version' prints the directory in use"
    echo ".TP"
    echo ".B PGHOST, PGUSER, PGPASSWORD, ..."
    echo "libpq's variables, .pgpass and service files apply to every target"
    echo ".SH SEE ALSO"
    echo "The documentation in the docs/ folder of pgfleet's source: cli.md, inventory.md,"
    echo "statuses.md, report.md, waves.md, plugins.md, scale.md."
} >"$tmp"
mv "$tmp" "$out"
