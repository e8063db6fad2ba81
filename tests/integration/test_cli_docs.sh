# The three descriptions of the command line cannot disagree: docs/cli.md lists every command of
# `pgfleet --help` and every long option of every `pgfleet COMMAND --help`, and the man page
# (pgfleet.1, written at build time by scripts/gen-man.sh) holds each of those texts verbatim.
source "$PF_TESTS_DIR/integration/lib.sh"
MAN=$(dirname "$PGFLEET")/pgfleet.1
SRC=$(cd "$PF_TESTS_DIR/.." && pwd)
CLI=$SRC/docs/cli.md

commands=$("$PGFLEET" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
assert_contains "$commands" "merge" "the command list is read from --help"
missing=""
for c in $commands; do
    grep -qF "| \`$c\` |" "$CLI" || missing="$missing command:$c"
    for o in $("$PGFLEET" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
        grep -qE -- "$o([^a-z-]|\$)" "$CLI" || missing="$missing $c:$o"
    done
done
assert_eq "" "$missing" "docs/cli.md names every command and every option --help shows"

# The man page: each help text, line by line, as roff shows it (\e is a backslash).
[ -f "$MAN" ] || fail "$MAN is missing; hint: it is built with pgfleet (the 'man' target)"
if [ -f "$MAN" ]; then
    shown=$(sed -e 's/\\e/\\/g' -e "s/^\\\\&//" "$MAN")
    absent=""
    for c in "" $commands; do
        while IFS= read -r line; do
            [ -z "$line" ] && continue
            grep -qxF -- "$line" <<<"$shown" || absent="$absent
${c:-pgfleet}: $line"
        done < <(if [ -z "$c" ]; then "$PGFLEET" --help; else "$PGFLEET" "$c" --help; fi)
    done
    assert_eq "" "$absent" "pgfleet.1 holds every line of every --help"
    assert_eq "$(printf '%s\n' $commands | wc -l)" "$(grep -c '^\.SS ' "$MAN")" \
        "pgfleet.1 has a section per command"
fi
pf_done
