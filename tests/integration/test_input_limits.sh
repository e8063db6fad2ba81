# Inputs past the limits are refused when they are read, naming the file (and line:column for
# the inventory), with exit 3 and no connection made: an inventory that is not a regular file
# (a device, a named pipe, a directory) or is over 16 MiB, the same for a migration's .sql file
# and the journal, a duration the server would refuse, an inventory whose aliases expand past
# max_targets. The longest durations allowed do reach the server and work.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb lim1

log_connections lim1 # to check that nothing connects

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
GOOD=$PF_TMP/good.yaml
inv_write "$GOOD" "$MIG" "" lim1

# expect_invalid NAME NEEDLE... -- ARGS: pgfleet ARGS exits 3 within 60 s (a read that blocks
# would not), stderr holds every NEEDLE, nothing is on stdout and nothing connected.
expect_invalid() {
    local name=$1 needles=() n before
    shift
    while [ "$1" != "--" ]; do
        needles+=("$1")
        shift
    done
    shift
    before=$(pf_connections)
    RC=0
    timeout 60 "$PGFLEET" "$@" >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" || RC=$?
    echo "observed: $name: $(head -c 300 "$PF_TMP/$name.err" | head -n 1)"
    assert_eq 3 "$RC" "$name: exit 3"
    for n in "${needles[@]}"; do
        assert_contains "$(pf_err "$name")" "$n" "$name: stderr names [$n]"
    done
    assert_eq "" "$(pf_out "$name")" "$name: nothing on stdout"
    assert_eq "$before" "$(pf_connections)" "$name: no connection was made"
}

# --- the inventory is a file, and not a huge one ----------------------------------------------
for cmd in inventory plan apply; do
    expect_invalid "dev_zero_$cmd" "/dev/zero: not a regular file (it is a character device)" -- \
        "$cmd" -i /dev/zero
done
mkfifo "$PF_TMP/fifo.yaml"
expect_invalid fifo_inventory "$PF_TMP/fifo.yaml: not a regular file (it is a named pipe)" -- \
    plan -i "$PF_TMP/fifo.yaml"
mkdir "$PF_TMP/dir.yaml"
expect_invalid dir_inventory "$PF_TMP/dir.yaml: not a regular file (it is a directory)" -- \
    apply -i "$PF_TMP/dir.yaml"
BIG=$PF_TMP/big.yaml
cp "$GOOD" "$BIG"
head -c $((17 << 20)) /dev/zero | tr '\0' '#' >>"$BIG"
expect_invalid big_inventory "$BIG: too large: pgfleet reads files of at most 16 MiB" -- \
    inventory -i "$BIG"

# --- migrations: the .sql files and the journal -------------------------------------------------
FIFO_SQL=$PF_TMP/fifo_sql
mig_add "$FIFO_SQL" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
mig_add "$FIFO_SQL" 0001_next $((W + 2000)) 'CREATE TABLE "u" ("id" integer);'
rm "$FIFO_SQL/0001_next.sql"
mkfifo "$FIFO_SQL/0001_next.sql"
expect_invalid fifo_sql_plan "$FIFO_SQL/meta/_journal.json:16:7: 0001_next.sql" \
    "is not a regular file: drizzle-orm fails every run" -- plan -i "$GOOD" -m "$FIFO_SQL"
expect_invalid fifo_sql_apply "$FIFO_SQL/meta/_journal.json:16:7: 0001_next.sql" \
    "is not a regular file: drizzle-orm fails every run" -- apply -i "$GOOD" -m "$FIFO_SQL"
# lint reports it as a finding (the file is not one drizzle-orm can run), without waiting on it.
RC=0
timeout 60 "$PGFLEET" lint -m "$FIFO_SQL" >"$PF_TMP/fifo_sql_lint.out" 2>&1 || RC=$?
assert_eq 2 "$RC" "lint of a folder with a named pipe for a .sql file: exit 2 (a finding)"
assert_contains "$(cat "$PF_TMP/fifo_sql_lint.out")" "0001_next.sql is not a regular file" \
    "lint names the .sql file that is not a file"

BIG_SQL=$PF_TMP/big_sql
mig_add "$BIG_SQL" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
head -c $((17 << 20)) /dev/zero | tr '\0' '-' >>"$BIG_SQL/0000_init.sql"
expect_invalid big_sql_plan "$BIG_SQL/0000_init.sql: too large" -- plan -i "$GOOD" -m "$BIG_SQL"
expect_invalid big_sql_lint "$BIG_SQL/0000_init.sql: too large" -- lint -m "$BIG_SQL"

DIR_JOURNAL=$PF_TMP/dir_journal
mig_add "$DIR_JOURNAL" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
rm "$DIR_JOURNAL/meta/_journal.json"
mkdir "$DIR_JOURNAL/meta/_journal.json"
expect_invalid dir_journal_plan \
    "$DIR_JOURNAL/meta/_journal.json: not a regular file (it is a directory)" -- \
    plan -i "$GOOD" -m "$DIR_JOURNAL"
expect_invalid dir_journal_lint \
    "$DIR_JOURNAL/meta/_journal.json: not a regular file (it is a directory)" -- \
    lint -m "$DIR_JOURNAL"

# --- durations the server would refuse -----------------------------------------------------------
for key in lock_wait lock_timeout statement_timeout connect_timeout; do
    inv_write "$PF_TMP/long_$key.yaml" "$MIG" "$key: 600h" lim1
    expect_invalid "long_$key" \
        "$PF_TMP/long_$key.yaml:2:$((14 + ${#key})): bad duration '600h' for $key; expected at most 2147483647ms" \
        -- apply -i "$PF_TMP/long_$key.yaml"
done

# --- aliases: 169 KB that would expand to 9M targets ----------------------------------------------
"$PF_PY" - "$PF_TMP/aliases.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("targets:\n  - name: a-${each}\n    dsn: x\n    for_each: &l [%s]\n"
            % ",".join("%d" % i for i in range(3000)))
    for i in range(1, 3000):
        f.write("  - {name: \"b%d-${each}\", dsn: x, for_each: *l}\n" % i)
PY
expect_invalid alias_bomb \
    "$PF_TMP/aliases.yaml:37:5: the inventory expands to more than 100000 targets" \
    "raise max_targets" -- inventory -i "$PF_TMP/aliases.yaml"

assert_eq "f" "$(has_schema lim1 drizzle)" "no drizzle schema appeared: nothing was applied"
assert_eq "0" "$(pf_connections)" "pgfleet never connected during the invalid runs"

# --- the longest durations allowed reach the server, and work ------------------------------------
inv_write "$PF_TMP/longest.yaml" "$MIG" \
    "lock_wait: 2147483647ms, lock_timeout: 2147483647ms, statement_timeout: 2147483647ms" lim1
pf longest apply -i "$PF_TMP/longest.yaml" -f json -o "$PF_TMP/longest.json"
assert_eq 0 "$RC" "apply with every server duration at its most: exit 0 ($(head -c 300 "$PF_TMP/longest.err"))"
assert_eq "applied" "$(jt "$PF_TMP/longest.json" lim1 't["outcome"]')" "lim1 was migrated"
assert_eq "t" "$(has_table lim1 t)" "the migration ran"

pf_done
