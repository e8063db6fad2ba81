#!/usr/bin/env bash
# A database migrated by pgfleet is indistinguishable from one migrated by drizzle-orm 0.45.4:
#   - db pf (pgfleet apply) vs db dz (drizzle migrate()) over tests/fixtures/app:
#     `select id, hash, created_at` identical; ledger table definition identical (columns,
#     types, nullability, defaults, `\d`, owned sequence); `pg_dump --schema-only` identical;
#   - drizzle's migrator run on pf afterwards applies nothing (exit 0, rows unchanged, no insert
#     sent);
#   - mixed: drizzle applies the first 2 migrations (journal cut to 2 entries) and pgfleet the
#     rest, and the reverse: ledger and schema identical to dz, both tools then see nothing to do;
#   - the same with a custom ledger "tenant_a"."ledger" created by pgfleet.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

APP=$FIXTURES/app/drizzle
FIRST2=$PF_TMP/first2
journal_prefix "$APP" "$FIRST2" 2
pg_createdb pf dz dzpf pfdz pfcustom dzcustom

write_inv "$PF_TMP/inv.yaml" "$APP" -- pf dz dzpf pfdz
write_inv "$PF_TMP/custom.yaml" "$APP" "schema: tenant_a, table: ledger" -- pfcustom dzcustom

# --- pgfleet vs drizzle on fresh databases -------------------------------------------------------
pf apply -i "$PF_TMP/inv.yaml" -t pf -f json
assert_eq 0 "$PF_RC" "pgfleet apply exit code"
assert_eq applied "$(pf_target_json pf | jq -r .outcome)" "pgfleet apply outcome"
rc=0; drz dz "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle migrate exit code"

assert_eq "$(ledger dz)" "$(ledger pf)" "ledger rows (id, hash, created_at) identical"
assert_eq 4 "$(pg_psql pf 'select count(*) from drizzle.__drizzle_migrations')" "pgfleet ledger has 4 rows"
assert_eq "$(ledger_def dz)" "$(ledger_def pf)" "ledger columns/types/nullability/defaults identical"
assert_eq "$(psql -X -d dz -c '\d drizzle.__drizzle_migrations')" \
    "$(psql -X -d pf -c '\d drizzle.__drizzle_migrations')" "\\d of the ledger identical"
seqdef="select sequencename, data_type, start_value, increment_by, max_value, cycle from pg_sequences where schemaname = 'drizzle'"
assert_eq "$(pg_psql dz "$seqdef")" "$(pg_psql pf "$seqdef")" "ledger id sequence identical"
assert_eq "$(pg_psql dz "select last_value from drizzle.__drizzle_migrations_id_seq")" \
    "$(pg_psql pf "select last_value from drizzle.__drizzle_migrations_id_seq")" "ledger sequence position identical"
dump_dz=$(dump_schema dz)
assert_contains "$dump_dz" "CREATE POLICY projects_tenant_isolation" "pg_dump of dz has the app schema"
assert_contains "$dump_dz" "CREATE TABLE drizzle.__drizzle_migrations" "pg_dump of dz has the ledger"
if [ "$dump_dz" == "$(dump_schema pf)" ]; then
    pass "pg_dump --schema-only identical"
else
    fail "pg_dump --schema-only differs: $(diff <(echo "$dump_dz") <(dump_schema pf) | head -40)"
fi

before=$(ledger pf "id, hash, created_at")
rc=0; (cd "$INTEROP" && MIGRATE_LOG_QUERIES=1 PGDATABASE=pf node migrate.mjs "$APP") 2>"$PF_TMP/dz-on-pf.log" || rc=$?
assert_eq 0 "$rc" "drizzle migrate on the pgfleet db: exit code"
assert_eq "$before" "$(ledger pf)" "drizzle migrate on the pgfleet db: rows unchanged"
assert_eq 0 "$(grep -c "insert into" "$PF_TMP/dz-on-pf.log" || true)" "drizzle sent no insert to the pgfleet db"

# --- mixed: drizzle 2, pgfleet the rest ---------------------------------------------------------
rc=0; drz dzpf "$FIRST2" || rc=$?
assert_eq 0 "$rc" "drizzle migrate first 2"
pf audit -i "$PF_TMP/inv.yaml" -t dzpf -f json
assert_eq 1 "$PF_RC" "audit after drizzle's first 2: exit code"
assert_eq behind "$(pf_target_json dzpf | jq -r .status)" "audit after drizzle's first 2: behind"
assert_eq '["0002_roles_and_rls","0003_audit_log"]' "$(pf_target_json dzpf | jq -c .pending)" "pending after drizzle's first 2"
pf apply -i "$PF_TMP/inv.yaml" -t dzpf -f json
assert_eq 0 "$PF_RC" "pgfleet applies the rest: exit code"
assert_eq '["0002_roles_and_rls","0003_audit_log"]' "$(pf_target_json dzpf | jq -c .applied)" "pgfleet applied the rest"
assert_eq "$(ledger dz)" "$(ledger dzpf)" "drizzle 2 + pgfleet 2: ledger identical to drizzle's"
assert_eq "$dump_dz" "$(dump_schema dzpf)" "drizzle 2 + pgfleet 2: schema identical"
before=$(ledger dzpf)
rc=0; drz dzpf "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle afterwards: exit code"
assert_eq "$before" "$(ledger dzpf)" "drizzle afterwards applies nothing"

# --- mixed: pgfleet 2, drizzle the rest ---------------------------------------------------------
pf apply -i "$PF_TMP/inv.yaml" -m "$FIRST2" -t pfdz -f json
assert_eq 0 "$PF_RC" "pgfleet applies first 2: exit code"
assert_eq '["0000_init","0001_projects"]' "$(pf_target_json pfdz | jq -c .applied)" "pgfleet applied first 2"
rc=0; drz pfdz "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle applies the rest: exit code"
assert_eq "$(ledger dz)" "$(ledger pfdz)" "pgfleet 2 + drizzle 2: ledger identical to drizzle's"
assert_eq "$dump_dz" "$(dump_schema pfdz)" "pgfleet 2 + drizzle 2: schema identical"
pf audit -i "$PF_TMP/inv.yaml" -f json
assert_eq 0 "$PF_RC" "audit of all four: exit code"
assert_eq '["in_sync","in_sync","in_sync","in_sync"]' "$(jq -c '[.targets[].status]' <<<"$PF_OUT")" "all four in_sync"

# --- custom ledger created by pgfleet -----------------------------------------------------------
pf apply -i "$PF_TMP/custom.yaml" -t pfcustom -f json
assert_eq 0 "$PF_RC" "pgfleet apply into tenant_a.ledger: exit code"
rc=0; drz dzcustom "$APP" tenant_a ledger || rc=$?
assert_eq 0 "$rc" "drizzle migrate into tenant_a.ledger"
assert_eq "$(ledger dzcustom "" tenant_a.ledger)" "$(ledger pfcustom "" tenant_a.ledger)" "custom ledger rows identical"
assert_eq "$(ledger_def dzcustom tenant_a ledger)" "$(ledger_def pfcustom tenant_a ledger)" "custom ledger definition identical"
assert_eq "" "$(pg_psql pfcustom "select to_regclass('drizzle.__drizzle_migrations')")" "pgfleet created no default ledger"
assert_eq "$(dump_schema dzcustom)" "$(dump_schema pfcustom)" "custom ledger: pg_dump identical"
before=$(ledger pfcustom "" tenant_a.ledger)
rc=0; drz pfcustom "$APP" tenant_a ledger || rc=$?
assert_eq 0 "$rc" "drizzle on pgfleet's tenant_a.ledger: exit code"
assert_eq "$before" "$(ledger pfcustom "" tenant_a.ledger)" "drizzle on pgfleet's tenant_a.ledger applies nothing"

pf_done
