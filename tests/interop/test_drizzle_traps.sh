#!/usr/bin/env bash
# Traps drizzle-orm 0.45.4's migrator walks into silently, caught by pgfleet on the same database:
#   (a) a migration merged late with an older `when` (journal entry between two applied ones):
#       drizzle exits 0 and applies nothing (no insert sent, the migration's objects absent);
#       pgfleet audit: out_of_order naming the tag, exit 1; apply refuses it (exit 1, nothing run);
#       apply --allow-out-of-order applies it; afterwards drizzle still applies nothing and
#       pgfleet is in_sync;
#   (b) an applied file edited afterwards: drizzle exits 0, applies nothing; pgfleet: modified
#       naming the tag, exit 1; apply refuses;
#   (a2) the late migration appended at the end of the journal (older `when`, as a resolved merge
#       conflict leaves it): drizzle exits 0 and applies nothing; pgfleet reads the journal as
#       drizzle does, notes the late entry once on the codebase, and says out_of_order for it on
#       this database (exit 1); apply refuses and runs nothing;
#   (c) a database migrated by a newer release (codebase rolled back to 2 migrations): drizzle
#       exits 0; pgfleet: ahead, exit 1;
#   (d) the wrong database (a ledger of another app, older than this codebase): pgfleet: foreign,
#       exit 1, the problem names the row's created_at; apply refuses and runs nothing; drizzle
#       happily applies the whole app on top of it (exit 0).
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

APP=$FIXTURES/app/drizzle
LATE=0002_roles_and_rls
pg_createdb late edited ahead

# the branch deployed first: app without 0002 (its journal lists 0000, 0001, 0003)
BEFORE=$PF_TMP/before-merge
mkdir -p "$BEFORE/meta"
cp "$APP"/*.sql "$BEFORE/"
jq --arg t "$LATE" '.entries |= map(select(.tag != $t))' "$APP/meta/_journal.json" >"$BEFORE/meta/_journal.json"
write_inv "$PF_TMP/inv.yaml" "$APP" -- late edited ahead

drz_logged() { # drz_logged DB FOLDER -> sets rc, log in $PF_TMP/drz.log
    rc=0
    (cd "$INTEROP" && MIGRATE_LOG_QUERIES=1 PGDATABASE=$1 node migrate.mjs "$2") 2>"$PF_TMP/drz.log" || rc=$?
}
inserts() { grep -c 'insert into' "$PF_TMP/drz.log" || true; }
rls() { pg_psql late "select relrowsecurity from pg_class where oid = 'public.projects'::regclass"; }

# --- (a) late-merged migration --------------------------------------------------------------------
drz_logged late "$BEFORE"
assert_eq 0 "$rc" "(a) drizzle migrate before the merge"
assert_eq 3 "$(pg_psql late 'select count(*) from drizzle.__drizzle_migrations')" "(a) 3 rows before the merge"

drz_logged late "$APP"
assert_eq 0 "$rc" "(a) drizzle after the merge: exit 0"
assert_eq 0 "$(inserts)" "(a) drizzle after the merge: no insert sent"
assert_eq 3 "$(pg_psql late 'select count(*) from drizzle.__drizzle_migrations')" "(a) drizzle after the merge: still 3 rows"
assert_eq f "$(rls)" "(a) drizzle after the merge: $LATE never ran (no RLS on projects)"
echo "    drizzle sent: $(grep -o '"query":"[^"]\{0,60\}' "$PF_TMP/drz.log" | tr '\n' ' ')"

pf audit -i "$PF_TMP/inv.yaml" -t late -f json
assert_eq 1 "$PF_RC" "(a) pgfleet audit: exit 1"
t=$(pf_target_json late)
assert_eq out_of_order "$(jq -r .status <<<"$t")" "(a) pgfleet audit: out_of_order"
assert_eq "[\"$LATE\"]" "$(jq -c '[.problems[] | select(.kind == "out_of_order") | .migration]' <<<"$t")" "(a) problem names the late tag"
assert_eq "[\"$LATE\"]" "$(jq -c .pending <<<"$t")" "(a) only the late migration is unapplied"
pf audit -i "$PF_TMP/inv.yaml" -t late
assert_contains "$PF_OUT" "out_of_order" "(a) text report says out_of_order"
assert_contains "$PF_OUT" "$LATE" "(a) text report names $LATE"

pf apply -i "$PF_TMP/inv.yaml" -t late -f json
assert_eq 1 "$PF_RC" "(a) pgfleet apply without the flag: exit 1 (refused, not failed)"
assert_eq refused "$(pf_target_json late | jq -r .outcome)" "(a) apply without the flag: refused"
assert_eq 3 "$(pg_psql late 'select count(*) from drizzle.__drizzle_migrations')" "(a) refused apply wrote nothing"
assert_eq f "$(rls)" "(a) refused apply ran nothing"

pf apply -i "$PF_TMP/inv.yaml" -t late --allow-out-of-order -f json
assert_eq 0 "$PF_RC" "(a) apply --allow-out-of-order: exit 0"
assert_eq applied "$(pf_target_json late | jq -r .outcome)" "(a) apply --allow-out-of-order: applied"
assert_eq "[\"$LATE\"]" "$(pf_target_json late | jq -c .applied)" "(a) apply --allow-out-of-order applied only $LATE"
assert_eq t "$(rls)" "(a) $LATE ran (RLS on projects)"
late_row=$(pg_psql late "select hash, created_at from drizzle.__drizzle_migrations where id = 4")
assert_eq "$(drizzle_hash "$APP/$LATE.sql")|$(jq -r --arg t "$LATE" '.entries[] | select(.tag == $t) | .when' "$APP/meta/_journal.json")" \
    "$late_row" "(a) the late row is (drizzle hash, its own when)"

before=$(ledger late)
drz_logged late "$APP"
assert_eq 0 "$rc" "(a) drizzle afterwards: exit 0"
assert_eq 0 "$(inserts)" "(a) drizzle afterwards: no insert"
assert_eq "$before" "$(ledger late)" "(a) drizzle afterwards: ledger unchanged"
pf audit -i "$PF_TMP/inv.yaml" -t late -f json
assert_eq 0 "$PF_RC" "(a) pgfleet audit afterwards: exit 0"
assert_eq in_sync "$(pf_target_json late | jq -r .status)" "(a) pgfleet audit afterwards: in_sync"

# --- (a2) the same late migration appended at the end of the journal ----------------------------
# The usual shape after resolving a journal merge conflict: the late entry gets the next idx and is
# appended, keeping its older `when`. drizzle: exit 0, nothing applied, forever. pgfleet reads the
# journal as drizzle does (docs/statuses.md): a note on the codebase names the late entry once,
# and this database, migrated before the merge, is out_of_order for it.
APPENDED=$PF_TMP/appended
mkdir -p "$APPENDED/meta"
cp "$APP"/*.sql "$APPENDED/"
jq --arg t "$LATE" '.entries = ([.entries[] | select(.tag != $t)] + [.entries[] | select(.tag == $t)])
    | .entries |= [to_entries[] | .value.idx = .key | .value]' "$APP/meta/_journal.json" >"$APPENDED/meta/_journal.json"
pg_createdb late2
drz_logged late2 "$BEFORE"
drz_logged late2 "$APPENDED"
assert_eq 0 "$rc" "(a2) drizzle with the appended late entry: exit 0"
assert_eq 0 "$(inserts)" "(a2) drizzle with the appended late entry: nothing applied"
write_inv "$PF_TMP/inv2.yaml" "$APPENDED" -- late2
before_rows=$(ledger late2)
for cmd in audit apply; do
    pf $cmd -i "$PF_TMP/inv2.yaml" -f json
    assert_eq 1 "$PF_RC" "(a2) pgfleet $cmd: exit 1"
    assert_eq out_of_order "$(pf_target_json late2 | jq -r .status)" "(a2) $cmd: out_of_order"
    assert_eq "[\"$LATE\"]" "$(pf_target_json late2 | jq -c '[.problems[] | select(.kind == "out_of_order") | .migration]')" \
        "(a2) $cmd: the problem names the late entry"
    assert_eq "[\"$LATE\"]" "$(jq -c '[.codebase.notes[].migration]' <<<"$PF_OUT")" \
        "(a2) $cmd: the codebase note names the late entry"
    assert_contains "$(jq -r '.codebase.notes[0].message' <<<"$PF_OUT")" "--allow-out-of-order" "(a2) $cmd: the note's hint"
done
assert_eq refused "$(pf_target_json late2 | jq -r .outcome)" "(a2) apply: refused"
assert_eq "$before_rows" "$(ledger late2)" "(a2) the ledger is untouched"

# --- (b) applied file edited afterwards -----------------------------------------------------------
EDITED=$PF_TMP/edited
mkdir -p "$EDITED"
cp -r "$APP"/. "$EDITED/"
drz_logged edited "$APP"
assert_eq 0 "$rc" "(b) drizzle migrate"
printf '\nCREATE INDEX "projects_name_idx" ON "projects" USING btree ("name");\n' >>"$EDITED/0001_projects.sql"
before=$(ledger edited)
drz_logged edited "$EDITED"
assert_eq 0 "$rc" "(b) drizzle with the edited file: exit 0"
assert_eq 0 "$(inserts)" "(b) drizzle with the edited file: nothing applied"
assert_eq "$before" "$(ledger edited)" "(b) drizzle with the edited file: ledger unchanged"
assert_eq "" "$(pg_psql edited "select to_regclass('public.projects_name_idx')")" "(b) the edit never ran"

pf audit -i "$PF_TMP/inv.yaml" -m "$EDITED" -t edited -f json
assert_eq 1 "$PF_RC" "(b) pgfleet audit: exit 1"
t=$(pf_target_json edited)
assert_eq modified "$(jq -r .status <<<"$t")" "(b) pgfleet audit: modified"
assert_eq '["0001_projects"]' "$(jq -c '[.problems[] | select(.kind == "modified") | .migration]' <<<"$t")" "(b) problem names 0001_projects"
pf apply -i "$PF_TMP/inv.yaml" -m "$EDITED" -t edited -f json
assert_eq 1 "$PF_RC" "(b) pgfleet apply: exit 1 (refused)"
assert_eq refused "$(pf_target_json edited | jq -r .outcome)" "(b) pgfleet apply: refused"
assert_eq "$before" "$(ledger edited)" "(b) refused apply wrote nothing"
pf audit -i "$PF_TMP/inv.yaml" -t edited -f json
assert_eq in_sync "$(pf_target_json edited | jq -r .status)" "(b) with the original file: in_sync"

# --- (c) database ahead of the codebase -----------------------------------------------------------
FIRST2=$PF_TMP/first2
journal_prefix "$APP" "$FIRST2" 2
drz_logged ahead "$APP"
drz_logged ahead "$FIRST2"
assert_eq 0 "$rc" "(c) drizzle with an older codebase: exit 0"
assert_eq 0 "$(inserts)" "(c) drizzle with an older codebase: nothing applied"
pf audit -i "$PF_TMP/inv.yaml" -m "$FIRST2" -t ahead -f json
assert_eq 1 "$PF_RC" "(c) pgfleet audit: exit 1"
assert_eq ahead "$(pf_target_json ahead | jq -r .status)" "(c) pgfleet audit: ahead"
assert_eq '[3,4]' "$(pf_target_json ahead | jq -c '[.problems[] | select(.kind == "ahead") | .ledger_id]')" "(c) rows 3 and 4 are ahead"

# --- (d) the wrong database ----------------------------------------------------------------------
OTHER=$PF_TMP/other-app
mkdir -p "$OTHER/meta"
printf 'CREATE TABLE invoices (id int);\n' >"$OTHER/0000_invoices.sql"
echo '{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1700000000000,"tag":"0000_invoices","breakpoints":true}]}' \
    >"$OTHER/meta/_journal.json"
pg_createdb wrongdb
write_inv "$PF_TMP/inv3.yaml" "$APP" -- wrongdb
drz_logged wrongdb "$OTHER"
assert_eq 0 "$rc" "(d) the other app migrated its db"
pf audit -i "$PF_TMP/inv3.yaml" -f json
assert_eq 1 "$PF_RC" "(d) pgfleet audit: exit 1"
t=$(pf_target_json wrongdb)
assert_eq foreign "$(jq -r .status <<<"$t")" "(d) pgfleet audit: foreign"
assert_eq '[1]' "$(jq -c '[.problems[] | select(.kind == "foreign") | .ledger_id]' <<<"$t")" "(d) row 1 is foreign"
assert_contains "$(jq -r '.problems[] | select(.kind == "foreign") | .message' <<<"$t")" "1700000000000" \
    "(d) the foreign problem names the row's created_at"
pf apply -i "$PF_TMP/inv3.yaml" -f json
assert_eq refused "$(pf_target_json wrongdb | jq -r .outcome)" "(d) pgfleet apply: refused"
assert_eq "" "$(pg_psql wrongdb "select to_regclass('public.organizations')")" "(d) pgfleet ran nothing"
drz_logged wrongdb "$APP"
assert_eq 0 "$rc" "(d) drizzle applies the app onto the wrong database: exit 0"
assert_eq 4 "$(inserts)" "(d) drizzle applied all 4 migrations there"

pf_done
