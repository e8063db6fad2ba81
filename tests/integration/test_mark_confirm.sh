# mark-applied and repair ask before they change a ledger: on a terminal they first print what
# they would change on every target, then ask; `n` (or end of input) changes nothing (exit 2),
# `y` records exactly what was shown. Without a terminal and without --yes: exit 3, no
# connection made.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb mc_a mc_b

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_base $((W + 1000)) 'CREATE TABLE "items" ("id" serial PRIMARY KEY);'
mig_add "$MIG" 0001_more $((W + 2000)) 'ALTER TABLE "items" ADD COLUMN "name" text;'
mig_add "$MIG" 0002_last $((W + 3000)) 'ALTER TABLE "items" ADD COLUMN "price" numeric;'
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "" mc_a mc_b

pty_run no n mark-applied -i "$INV" --through 0001_more
assert_eq 2 "$RC" "answered n: exit 2"
screen=$(cat "$PF_TMP/no.tty")
assert_contains "$screen" "mc_a: would record 0000_base (hash $(file_hash "$MIG/0000_base.sql"), created_at $((W + 1000)))" "the preview lists each row per target"
assert_contains "$screen" "mc_b: would record 0001_more" "the preview covers every target"
assert_contains "$screen" "record 4 ledger rows on 2 targets, as listed above? [y/N]" "the question counts rows and targets"
assert_contains "$screen" "not confirmed: no ledger was changed" "answered n: says nothing changed"
for db in mc_a mc_b; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "answered n: $db untouched"
done

pty_run yes y mark-applied -i "$INV" --through 0001_more -t mc_a
assert_eq 0 "$RC" "answered y: exit 0 ($(cat "$PF_TMP/yes.tty"))"
assert_contains "$(cat "$PF_TMP/yes.tty")" "mc_a: recording 0001_more" "answered y: it prints what it records"
assert_contains "$(cat "$PF_TMP/yes.tty")" "recorded 2 migrations on 1 target; 0 failed or refused" "answered y: the summary counts what was recorded"
assert_lines "$(file_hash "$MIG/0000_base.sql") $((W + 1000))
$(file_hash "$MIG/0001_more.sql") $((W + 2000))
tables: " "$(db_state mc_a)" "answered y: the two rows, nothing run"
assert_lines "no ledger
tables: " "$(db_state mc_b)" "answered y: the target not selected is untouched"

RC=0
setsid -w "$PGFLEET" repair -i "$INV" </dev/null >"$PF_TMP/notty.out" 2>"$PF_TMP/notty.err" || RC=$?
assert_eq 3 "$RC" "repair without a terminal: exit 3"
assert_eq "pgfleet repair: changes ledgers and asks first, but there is no terminal to ask on; nothing was run; hint: run it on a terminal, or pass --yes" \
    "$(cat "$PF_TMP/notty.err")" "repair without a terminal: says so"

pf_done
