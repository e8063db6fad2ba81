#!/usr/bin/env bash
# Migrations run in drizzle's order, not a sorted one:
#   0.x: the order of the journal's entries (drizzle-orm 0.45.4 runs entries as listed, even when
#        their `when` values do not increase, and so does pgfleet: the same ledger, and each
#        audits the other's database in_sync; tests/interop/test_when_goes_back.sh has the rest);
#   v1:  folder names sorted with JavaScript localeCompare (drizzle-orm 1.0.0-rc.5): within the
#        same 14-digit second, `_alpha` < `_Beta` < `_gamma` (a byte sort puts `_Beta` first);
#        a folder without migration.sql is ignored.
# In each case the second migration depends on the first, so the wrong order fails. pgfleet's
# ledger must equal drizzle's (ids included), drizzle then applies nothing to pgfleet's db, and
# pgfleet audits drizzle's db as in_sync.
#   0.x journal with breakpoints:false: the reader still splits on the marker (a marker in a
#        comment splits, the text after it runs).
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

pg_createdb pf_j dz_j pf_v dz_v pf_nb dz_nb
write_inv "$PF_TMP/inv.yaml" "$PF_TMP/none" -- pf_j dz_j pf_v dz_v pf_nb dz_nb

# --- 0.x: journal order with decreasing `when` ----------------------------------------------------
J=$PF_TMP/journal-order
mkdir -p "$J/meta"
printf 'CREATE TABLE jo (id int);\n' >"$J/0000_create.sql"
printf 'ALTER TABLE jo ADD COLUMN c int;\n' >"$J/0001_alter.sql"
printf 'ALTER TABLE jo ADD COLUMN d int;\n' >"$J/0002_alter_more.sql"
cat >"$J/meta/_journal.json" <<'JSON'
{"version":"7","dialect":"postgresql","entries":[
 {"idx":0,"version":"7","when":1700000005000,"tag":"0000_create","breakpoints":true},
 {"idx":1,"version":"7","when":1700000001000,"tag":"0001_alter","breakpoints":true},
 {"idx":2,"version":"7","when":1700000009000,"tag":"0002_alter_more","breakpoints":true}]}
JSON
rc=0; drz dz_j "$J" || rc=$?
assert_eq 0 "$rc" "journal order: drizzle exit code"
assert_eq "$(printf '1|1700000005000\n2|1700000001000\n3|1700000009000')" "$(ledger dz_j "id, created_at")" \
    "journal order: drizzle ran the entries as listed"
pf apply -i "$PF_TMP/inv.yaml" -m "$J" -t pf_j -f json
assert_eq 0 "$PF_RC" "journal order: pgfleet applies a journal whose when decreases"
assert_eq "$(ledger dz_j "id, hash, created_at")" "$(ledger pf_j "id, hash, created_at")" \
    "journal order: ledgers identical (entries as listed)"
assert_eq '["0001_alter"]' "$(jq -c '[.codebase.notes[].migration]' <<<"$PF_OUT")" \
    "journal order: the entry whose when goes back is noted on the codebase"
pf audit -i "$PF_TMP/inv.yaml" -m "$J" -t dz_j -f json
assert_eq 0 "$PF_RC" "journal order: audit of drizzle's database: exit 0"
assert_eq in_sync "$(pf_target_json dz_j | jq -r .status)" "journal order: drizzle's database is in_sync"

# --- v1: localeCompare order within one second ----------------------------------------------------
V=$PF_TMP/v1-order
mkdir -p "$V/20250101000000_alpha" "$V/20250101000000_Beta" "$V/20250101000001_gamma" "$V/20250101000002_empty"
printf 'CREATE TABLE lc (id int);\n' >"$V/20250101000000_alpha/migration.sql"
printf 'ALTER TABLE lc ADD COLUMN b int;\n' >"$V/20250101000000_Beta/migration.sql"
printf 'ALTER TABLE lc ADD COLUMN g int;\n' >"$V/20250101000001_gamma/migration.sql"
echo '{}' >"$V/20250101000002_empty/snapshot.json"
rc=0; drz1 dz_v "$V" || rc=$?
assert_eq 0 "$rc" "v1 order: drizzle exit code"
assert_eq "$(printf '1|20250101000000_alpha|1735689600000\n2|20250101000000_Beta|1735689600000\n3|20250101000001_gamma|1735689601000')" \
    "$(ledger dz_v "id, name, created_at")" "v1 order: drizzle used localeCompare and skipped the empty folder"
pf apply -i "$PF_TMP/inv.yaml" -m "$V" -t pf_v -f json
assert_eq 0 "$PF_RC" "v1 order: pgfleet apply exit code"
[ "$PF_RC" = 0 ] || echo "    pgfleet: $(pf_target_json pf_v | jq -c '{status, outcome, pending, error}') $PF_ERR" >&2
assert_eq "$(ledger dz_v "id, hash, created_at, name")" "$(ledger pf_v "id, hash, created_at, name" 2>/dev/null || true)" \
    "v1 order: ledgers identical"
pf audit -i "$PF_TMP/inv.yaml" -m "$V" -t dz_v -f json
assert_eq 0 "$PF_RC" "v1 order: audit of drizzle's db exit code"
assert_eq in_sync "$(pf_target_json dz_v | jq -r .status)" "v1 order: drizzle's db in_sync"
assert_eq 3 "$(jq -r .codebase.migrations <<<"$PF_OUT")" "v1 order: pgfleet counts 3 migrations (empty folder ignored)"

# --- 0.x: breakpoints:false still splits ----------------------------------------------------------
NB=$PF_TMP/no-breakpoints
mkdir -p "$NB/meta"
printf 'CREATE TABLE nb (id int);\n-- split anyway --> statement-breakpoint INSERT INTO nb VALUES (7);\n' >"$NB/0000_nb.sql"
echo '{"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1700000000000,"tag":"0000_nb","breakpoints":false}]}' \
    >"$NB/meta/_journal.json"
rc=0; drz dz_nb "$NB" || rc=$?
assert_eq 0 "$rc" "breakpoints:false: drizzle exit code"
assert_eq 7 "$(pg_psql dz_nb 'select id from nb')" "breakpoints:false: drizzle split on the marker"
pf apply -i "$PF_TMP/inv.yaml" -m "$NB" -t pf_nb -f json
assert_eq 0 "$PF_RC" "breakpoints:false: pgfleet apply exit code"
assert_eq 7 "$(pg_psql pf_nb 'select id from nb' 2>/dev/null || true)" "breakpoints:false: pgfleet split on the marker"
assert_eq "$(ledger dz_nb)" "$(ledger pf_nb 2>/dev/null || true)" "breakpoints:false: ledgers identical"

pf_done
