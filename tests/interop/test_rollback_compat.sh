#!/usr/bin/env bash
# Rollback against drizzle-orm's own migrator (docs/rollback.md): databases at different heads
# (migrated by pgfleet and by drizzle-orm 0.45.4), rolled back by pgfleet to TAG, have the same
# schema (pg_dump --schema-only) and the same ledger rows as a database drizzle-orm migrated
# only to TAG; drizzle-orm's migrator then applies the rest, giving the same database as one it
# migrated from scratch, with the down files of tests/fixtures/app (drizzle/down/, written by
# hand as a team would).
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

APP=$PF_TMP/app
mkdir -p "$APP"
cp -r "$FIXTURES/app/drizzle/." "$APP/"
TAG=0001_projects

pg_createdb by_pgfleet by_drizzle ref full_ref
journal_prefix "$APP" "$PF_TMP/upto2" 2
journal_prefix "$APP" "$PF_TMP/upto3" 3
rc=0; drz ref "$PF_TMP/upto2" || rc=$?
assert_eq 0 "$rc" "drizzle-orm migrates ref to $TAG"
rc=0; drz by_drizzle "$PF_TMP/upto3" || rc=$?
assert_eq 0 "$rc" "drizzle-orm migrates by_drizzle to 0002 (one head)"
rc=0; drz full_ref "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle-orm migrates full_ref to the end"
write_inv "$PF_TMP/fleet.yaml" "$APP" -- by_pgfleet by_drizzle
pf apply -i "$PF_TMP/fleet.yaml" -t by_pgfleet
assert_eq 0 "$PF_RC" "pgfleet migrates by_pgfleet to the end (another head): $PF_ERR"

pf rollback -i "$PF_TMP/fleet.yaml" --to "$TAG" --yes -f json
assert_eq 0 "$PF_RC" "rollback --to $TAG: $PF_ERR"
assert_eq '["0003_audit_log","0002_roles_and_rls"]' "$(pf_target_json by_pgfleet | jq -c .rollback)" \
    "by_pgfleet: two migrations undone, newest first"
assert_eq '["0002_roles_and_rls"]' "$(pf_target_json by_drizzle | jq -c .rollback)" \
    "by_drizzle: one undone"
for db in by_pgfleet by_drizzle; do
    assert_eq "$(dump_schema ref)" "$(dump_schema "$db")" \
        "$db rolled back to $TAG: the schema of a database drizzle-orm migrated only to $TAG"
    assert_eq "$(ledger ref hash,created_at)" "$(ledger "$db" hash,created_at)" \
        "$db: the ledger rows of that database"
done

# drizzle-orm's migrator takes it from there.
for db in by_pgfleet by_drizzle; do
    rc=0; drz "$db" "$APP" || rc=$?
    assert_eq 0 "$rc" "drizzle-orm migrates $db again after the rollback"
    assert_eq "$(dump_schema full_ref)" "$(dump_schema "$db")" \
        "$db: the same database as one drizzle-orm migrated from scratch"
    assert_eq "$(ledger full_ref hash,created_at)" "$(ledger "$db" hash,created_at)" \
        "$db: and the same ledger rows"
done
pf audit -i "$PF_TMP/fleet.yaml"
assert_eq 0 "$PF_RC" "audit: in sync again"

pf_done
