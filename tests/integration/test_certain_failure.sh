# plan and apply refuse a folder holding a statement that fails on every target (docs/lint.md):
# CREATE INDEX CONCURRENTLY inside drizzle's transaction, a new enum value used in the
# migration that adds it. Exit 3 with the finding (file:line:column, rule, hint), before any
# target is connected to (the server logs no pgfleet session, no ledger appears); --force runs
# anyway and the target fails as drizzle-orm would. The same index after a COMMIT chunk is no
# certain failure: plan and apply run, and the index is built.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb cf1 cf2
log_connections cf1

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) \
    'CREATE TABLE "project" ("id" serial PRIMARY KEY NOT NULL, "name" text);'
mig_add "$MIG" 0001_index $((W + 2000)) \
    'CREATE INDEX CONCURRENTLY "project_name_idx" ON "project" ("name");'
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "" cf1 cf2
state_before=$(db_state cf1)

# refused NAME CMD RULE MESSAGE: exit 3, the finding on stderr, nothing on stdout, no session.
refused() {
    local name=$1 cmd=$2 rule=$3 message=$4 before
    before=$(pf_connections)
    pf "$name" "$cmd" -i "$INV"
    assert_eq 3 "$RC" "$name: $cmd exits 3"
    assert_contains "$(pf_err "$name")" "pgfleet $cmd: $message [$rule]" "$name: the finding"
    assert_contains "$(pf_err "$name")" \
        "pgfleet $cmd: refused before connecting to any target: 1 statement above will fail on every target; hint: fix it (pgfleet lint lists every finding), or pass --force to run anyway" \
        "$name: why, and what to do"
    assert_eq "" "$(pf_out "$name")" "$name: no report"
    assert_eq "$before" "$(pf_connections)" "$name: no target connected to"
}

CIC="$MIG/0001_index.sql:1:1: error: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and drizzle-orm runs all pending migrations in one: this migration fails and the whole run is rolled back"
refused plan_cic plan non-transactional "$CIC"
refused apply_cic apply non-transactional "$CIC"
assert_contains "$(pf_err apply_cic)" "  hint: put COMMIT; in a chunk of its own before it" \
    "apply_cic: the hint follows the finding"
assert_eq "$state_before" "$(db_state cf1)" "refused: cf1 untouched"

# --force: the run goes on, and fails where drizzle-orm fails.
before=$(pf_connections)
pf plan_force plan -i "$INV" --force -f json
assert_eq 0 "$RC" "plan --force: runs (exit 0: nothing apply would refuse)"
assert_eq "uninitialized" "$(jt "$PF_TMP/plan_force.out" cf1 "t['status']")" "plan --force: cf1 read"
pf apply_force apply -i "$INV" -t cf1 --force -f json
assert_eq 2 "$RC" "apply --force: the target fails (exit 2)"
assert_eq "failed" "$(jt "$PF_TMP/apply_force.out" cf1 "t['outcome']")" "apply --force: cf1 failed"
assert_contains "$(pf_out apply_force)" "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" \
    "apply --force: PostgreSQL's own refusal"
[ "$(pf_connections)" -gt "$before" ] || fail "--force: the targets were connected to"
assert_eq "" "$(ledger cf1)" "apply --force: rolled back, no ledger row"
assert_eq "f" "$(has_table cf1 project)" "apply --force: rolled back, no table"

# After a COMMIT chunk the index runs alone, outside the transaction: no certain failure.
mig_add "$MIG" 0001_index $((W + 2000)) 'COMMIT;' \
    'CREATE INDEX CONCURRENTLY "project_name_idx" ON "project" ("name");'
pf plan_escaped plan -i "$INV"
assert_eq 0 "$RC" "escaped: plan runs (exit 0)"
pf apply_escaped apply -i "$INV" -t cf2
assert_eq 0 "$RC" "escaped: apply runs and succeeds"
assert_eq "1" "$(psql -X -A -t -d cf2 -c "select count(*) from pg_indexes where indexname = 'project_name_idx'")" \
    "escaped: the index is built"

# A new enum value used in the migration that adds it.
MIG2=$PF_TMP/drizzle2
mig_add "$MIG2" 0000_init $((W + 1000)) \
    'CREATE TYPE "public"."role" AS ENUM('"'member'"');' \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "role" "role" NOT NULL);'
mig_add "$MIG2" 0001_guest $((W + 2000)) \
    'ALTER TYPE "public"."role" ADD VALUE '"'guest'"';' \
    'UPDATE "users" SET "role" = '"'guest'"' WHERE "id" > 100;'
inv_write "$INV" "$MIG2" "" cf1
refused plan_enum plan enum-value-use \
    "$MIG2/0001_guest.sql:3:29: error: 'guest' is added to enum role at line 1 of this migration and used here in the same transaction: PostgreSQL fails with \"unsafe use of new value\""
assert_eq "" "$(ledger cf1)" "enum refused: cf1 untouched"
assert_eq "f" "$(has_table cf1 users)" "enum refused: cf1 untouched (no table)"

pf_done
