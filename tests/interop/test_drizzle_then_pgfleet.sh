#!/usr/bin/env bash
# Databases migrated by drizzle itself are in_sync for pgfleet:
#   1. drizzle-orm 0.45.4's migrate() over tests/fixtures/app        -> audit exit 0, in_sync
#   2. `npx drizzle-kit migrate` (0.31.11) with a generated config    -> in_sync
#   3. custom migrationsSchema/Table ("tenant_a"."ledger"), drizzle-orm and drizzle-kit, and an
#      identifier that needs quoting ("Kit S"."kit""ledger"): pgfleet with the same
#      migrations.schema/table (top level or per target) -> in_sync; with the default ledger the
#      same database is uninitialized (pgfleet really reads the configured ledger).
#   4. pgfleet apply on all of them changes nothing (outcome unchanged, rows identical).
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

APP=$FIXTURES/app/drizzle
pg_createdb orm kit custom kitcustom
want_hash=$(jq -r '.entries[].tag' "$APP/meta/_journal.json" | while read -r t; do drizzle_hash "$APP/$t.sql"; done)
want_when=$(jq -r '.entries[].when' "$APP/meta/_journal.json")

check_in_sync() { # check_in_sync INV TARGET MSG
    pf audit -i "$1" -t "$2" -f json
    assert_eq 0 "$PF_RC" "$3: audit exit code"
    local t
    t=$(pf_target_json "$2")
    assert_eq in_sync "$(jq -r .status <<<"$t")" "$3: status"
    assert_eq 0 "$(jq -r .exit_code <<<"$PF_OUT")" "$3: report exit_code"
    assert_eq 4 "$(jq -r .applied_before <<<"$t")" "$3: applied_before"
    assert_eq '[]' "$(jq -c .pending <<<"$t")" "$3: nothing pending"
    assert_eq '[]' "$(jq -c .problems <<<"$t")" "$3: no problems"
}

# --- 1. drizzle-orm migrate() -------------------------------------------------------------------
rc=0; drz orm "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle-orm migrate exit code"
assert_eq "$want_hash" "$(ledger orm hash)" "drizzle ledger hashes = hash.mjs"
assert_eq "$want_when" "$(ledger orm created_at)" "drizzle ledger created_at = journal when"
write_inv "$PF_TMP/default.yaml" "$APP" -- orm kit custom kitcustom
check_in_sync "$PF_TMP/default.yaml" orm "drizzle-orm migrated db"
pf audit -i "$PF_TMP/default.yaml" -t orm
assert_eq 0 "$PF_RC" "text audit exit code"
assert_contains "$PF_OUT" "in_sync" "text audit says in_sync"

# --- 2. drizzle-kit migrate (CLI) ---------------------------------------------------------------
kit_config() { # kit_config FILE DB [MIGRATIONS_OBJECT]
    cat >"$1" <<CONF
export default {
  dialect: 'postgresql',
  out: '$APP',
  dbCredentials: { url: 'postgresql://postgres@127.0.0.1:$PGPORT/$2' },
  ${3:+migrations: $3,}
};
CONF
}
kit_config "$PF_TMP/kit.config.ts" kit
rc=0; (cd "$INTEROP" && npx --no-install drizzle-kit migrate --config="$PF_TMP/kit.config.ts") >"$PF_TMP/kit.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "drizzle-kit migrate exit code"
assert_contains "$(cat "$PF_TMP/kit.log")" "migrations applied successfully" "drizzle-kit migrate output"
assert_eq "$(ledger orm)" "$(ledger kit)" "drizzle-kit ledger = drizzle-orm ledger"
check_in_sync "$PF_TMP/default.yaml" kit "drizzle-kit migrated db"

# --- 3. custom ledger schema/table ----------------------------------------------------------------
rc=0; drz custom "$APP" tenant_a ledger || rc=$?
assert_eq 0 "$rc" "drizzle-orm migrate into tenant_a.ledger"
assert_eq "" "$(pg_psql custom "select to_regclass('drizzle.__drizzle_migrations')")" "drizzle left the default ledger alone"
assert_eq "$(ledger orm)" "$(ledger custom "" tenant_a.ledger)" "tenant_a.ledger rows"

write_inv "$PF_TMP/custom.yaml" "$APP" "schema: tenant_a, table: ledger" -- custom
check_in_sync "$PF_TMP/custom.yaml" custom "custom ledger (top-level migrations.schema/table)"
assert_eq '{"schema":"tenant_a","table":"ledger"}' "$(pf_target_json custom | jq -c .ledger)" "report names the custom ledger"

cat >"$PF_TMP/per-target.yaml" <<INV
migrations: {dir: "$APP"}
targets:
  - name: t-\${each}
    for_each: [custom]
    dsn: postgresql://postgres@127.0.0.1:$PGPORT/\${each}
    migrations: {schema: tenant_a, table: ledger}
INV
check_in_sync "$PF_TMP/per-target.yaml" t-custom "custom ledger (per-target migrations)"

pf audit -i "$PF_TMP/default.yaml" -t custom -f json
assert_eq 1 "$PF_RC" "default ledger on the custom db: audit exit code"
# Its objects are there, under a ledger pgfleet was not told about: not a fresh database.
assert_eq unmanaged "$(pf_target_json custom | jq -r .status)" "default ledger on the custom db: unmanaged"

# drizzle-kit with migrations.schema/table that need quoting
kit_config "$PF_TMP/kitcustom.config.ts" kitcustom "{ schema: 'Kit S', table: 'kit\"ledger' }"
rc=0; (cd "$INTEROP" && npx --no-install drizzle-kit migrate --config="$PF_TMP/kitcustom.config.ts") >"$PF_TMP/kit2.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "drizzle-kit migrate into \"Kit S\".\"kit\"\"ledger\""
assert_eq "$(ledger orm)" "$(ledger kitcustom "" '"Kit S"."kit""ledger"')" "quoted custom ledger rows"
write_inv "$PF_TMP/kitcustom.yaml" "$APP" "schema: \"Kit S\", table: 'kit\"ledger'" -- kitcustom
check_in_sync "$PF_TMP/kitcustom.yaml" kitcustom "custom ledger with identifiers that need quoting"

# --- 4. pgfleet apply changes nothing on drizzle-migrated databases ------------------------------
before_orm=$(ledger orm); before_kit=$(ledger kit); before_custom=$(ledger custom "" tenant_a.ledger)
before_kc=$(ledger kitcustom "" '"Kit S"."kit""ledger"')
pf apply -i "$PF_TMP/default.yaml" -t orm -t kit -f json
assert_eq 0 "$PF_RC" "apply on drizzle-migrated dbs: exit code"
assert_eq '["unchanged","unchanged"]' "$(jq -c '[.targets[].outcome]' <<<"$PF_OUT")" "apply outcomes"
pf apply -i "$PF_TMP/custom.yaml" -f json
assert_eq 0 "$PF_RC" "apply on tenant_a.ledger: exit code"
assert_eq unchanged "$(pf_target_json custom | jq -r .outcome)" "apply outcome on tenant_a.ledger"
pf apply -i "$PF_TMP/kitcustom.yaml" -f json
assert_eq 0 "$PF_RC" "apply on quoted ledger: exit code"
assert_eq unchanged "$(pf_target_json kitcustom | jq -r .outcome)" "apply outcome on quoted ledger"
assert_eq "$before_orm" "$(ledger orm)" "orm ledger unchanged"
assert_eq "$before_kit" "$(ledger kit)" "kit ledger unchanged"
assert_eq "$before_custom" "$(ledger custom "" tenant_a.ledger)" "tenant_a.ledger unchanged"
assert_eq "$before_kc" "$(ledger kitcustom "" '"Kit S"."kit""ledger"')" "quoted ledger unchanged"
assert_eq "" "$(pg_psql custom "select to_regclass('drizzle.__drizzle_migrations')")" "pgfleet created no default ledger on the custom db"

pf_done
