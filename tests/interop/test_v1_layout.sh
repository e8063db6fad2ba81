#!/usr/bin/env bash
# The drizzle-kit 1.0 folder layout (<YYYYMMDDHHMMSS>_<name>/migration.sql) against
# drizzle-orm 1.0.0-rc.5's migrator:
#   - app-v1: pgfleet-migrated db (pf) and drizzle-v1-migrated db (dz): same ledger definition
#     (id, hash, created_at, name, applied_at timestamptz DEFAULT now()), same (hash, created_at,
#     name) rows, applied_at filled; drizzle v1 on pf applies nothing; audit of both in_sync;
#     pg_dump --schema-only identical;
#   - mixed v1: drizzle v1 applies the first 2 folders, pgfleet the rest (drizzle's rows keep
#     their applied_at), and the reverse;
#   - a folder merged late (older prefix than the newest applied): drizzle v1 applies it (pending =
#     names missing from the ledger); pgfleet says behind (not out_of_order) and applies it too;
#     identical ledgers;
#   - app-up (v1 layout, same bytes as app) on a db migrated by drizzle 0.x (ledger without
#     name/applied_at): audit in_sync; drizzle v1 upgrades that ledger (names filled, applied_at
#     NULL): still in_sync; pgfleet apply there changes nothing;
#   - old 0.x ledger holding the first 2 migrations, pgfleet applies the rest from app-up: drizzle
#     v1 then applies nothing and the final (id, hash, created_at, name) and the ledger definition
#     equal those of a db where drizzle 0.x applied 2 and drizzle v1 the rest.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

V1=$FIXTURES/app-v1/drizzle
UP=$FIXTURES/app-up/drizzle
APP=$FIXTURES/app/drizzle
pg_createdb pf dz dzpf pfdz old oldpf olddz latepf latedz
write_inv "$PF_TMP/v1.yaml" "$V1" -- pf dz dzpf pfdz latepf latedz
write_inv "$PF_TMP/up.yaml" "$UP" -- old oldpf olddz

# v1 folders cut to the first 2
V1FIRST2=$PF_TMP/v1first2
mkdir -p "$V1FIRST2"
v1_folders() { (cd "$V1" && for d in */; do echo "${d%/}"; done | LC_ALL=C sort); }
for d in $(v1_folders | head -n 2); do cp -r "$V1/$d" "$V1FIRST2/"; done
APPFIRST2=$PF_TMP/appfirst2
journal_prefix "$APP" "$APPFIRST2" 2

rows="hash, created_at, name"
want_names=$(cd "$V1" && for d in */; do [ -f "$d/migration.sql" ] && echo "${d%/}"; done)

# --- pgfleet vs drizzle v1 ------------------------------------------------------------------------
pf apply -i "$PF_TMP/v1.yaml" -t pf -f json
assert_eq 0 "$PF_RC" "pgfleet apply v1: exit code"
assert_eq applied "$(pf_target_json pf | jq -r .outcome)" "pgfleet apply v1: outcome"
rc=0; drz1 dz "$V1" || rc=$?
assert_eq 0 "$rc" "drizzle v1 migrate: exit code"

assert_eq "$(ledger_def dz)" "$(ledger_def pf)" "v1 ledger columns/types/nullability/defaults identical"
assert_contains "$(ledger_def pf)" "applied_at|timestamp with time zone|YES|now()" "pgfleet ledger has applied_at DEFAULT now()"
assert_contains "$(ledger_def pf)" "name|text|YES|" "pgfleet ledger has name text"
assert_eq "$(psql -X -d dz -c '\d drizzle.__drizzle_migrations')" \
    "$(psql -X -d pf -c '\d drizzle.__drizzle_migrations')" "\\d of the v1 ledger identical"
assert_eq "$(ledger dz "$rows")" "$(ledger pf "$rows")" "v1 ledger (hash, created_at, name) identical"
assert_eq "$(ledger dz id)" "$(ledger pf id)" "v1 ledger ids identical"
assert_eq "$want_names" "$(ledger pf name)" "pgfleet names = folder names"
assert_eq 0 "$(pg_psql pf 'select count(*) from drizzle.__drizzle_migrations where applied_at is null')" "pgfleet filled applied_at"
assert_eq "$(dump_schema dz)" "$(dump_schema pf)" "v1: pg_dump --schema-only identical"

before=$(ledger pf "id, hash, created_at, name, applied_at")
rc=0; (cd "$INTEROP" && MIGRATE_LOG_QUERIES=1 PGDATABASE=pf node v1/migrate.mjs "$V1") 2>"$PF_TMP/v1-on-pf.log" || rc=$?
assert_eq 0 "$rc" "drizzle v1 on the pgfleet db: exit code"
assert_eq "$before" "$(ledger pf "id, hash, created_at, name, applied_at")" "drizzle v1 on the pgfleet db applies nothing"
assert_eq 0 "$(grep -c "insert into" "$PF_TMP/v1-on-pf.log" || true)" "drizzle v1 sent no insert to the pgfleet db"

pf audit -i "$PF_TMP/v1.yaml" -t dz -t pf -f json
assert_eq 0 "$PF_RC" "audit of v1 dbs: exit code"
assert_eq '["in_sync","in_sync"]' "$(jq -c '[.targets[].status]' <<<"$PF_OUT")" "audit: drizzle-v1 db and pgfleet db in_sync"
assert_eq folders "$(jq -r .codebase.layout <<<"$PF_OUT")" "report: codebase layout" # informative

# --- mixed v1 -----------------------------------------------------------------------------------
rc=0; drz1 dzpf "$V1FIRST2" || rc=$?
assert_eq 0 "$rc" "drizzle v1 first 2"
pf apply -i "$PF_TMP/v1.yaml" -t dzpf -f json
assert_eq 0 "$PF_RC" "pgfleet applies the rest (v1): exit code"
assert_eq 2 "$(pf_target_json dzpf | jq '.applied | length')" "pgfleet applied 2 (v1)"
assert_eq "$(ledger dz "id, $rows")" "$(ledger dzpf "id, $rows")" "drizzle 2 + pgfleet 2 (v1): ledger identical"
assert_eq 0 "$(pg_psql dzpf 'select count(*) from drizzle.__drizzle_migrations where applied_at is null')" \
    "drizzle 2 + pgfleet 2 (v1): every row keeps its applied_at (pgfleet saw the v1 ledger, nothing to upgrade)"

pf apply -i "$PF_TMP/v1.yaml" -m "$V1FIRST2" -t pfdz -f json
assert_eq 0 "$PF_RC" "pgfleet first 2 (v1): exit code"
rc=0; drz1 pfdz "$V1" || rc=$?
assert_eq 0 "$rc" "drizzle v1 applies the rest"
assert_eq "$(ledger dz "id, $rows")" "$(ledger pfdz "id, $rows")" "pgfleet 2 + drizzle 2 (v1): ledger identical"
assert_eq "$(dump_schema dz)" "$(dump_schema pfdz)" "pgfleet 2 + drizzle 2 (v1): schema identical"

# --- v1: a folder merged late is simply pending ---------------------------------------------------
V1LATE=$PF_TMP/v1late
late=$(v1_folders | sed -n 3p)
mkdir -p "$V1LATE"
for d in $(v1_folders); do [ "$d" = "$late" ] || cp -r "$V1/$d" "$V1LATE/"; done
rc=0; drz1 latedz "$V1LATE" && drz1 latepf "$V1LATE" || rc=$?
assert_eq 0 "$rc" "v1 late: drizzle v1 without $late"
rc=0; drz1 latedz "$V1" || rc=$?
assert_eq 0 "$rc" "v1 late: drizzle v1 applies the late folder"
assert_eq "$late" "$(pg_psql latedz 'select name from drizzle.__drizzle_migrations where id = 4')" "v1 late: drizzle v1 applied $late last"
pf audit -i "$PF_TMP/v1.yaml" -t latepf -f json
assert_eq behind "$(pf_target_json latepf | jq -r .status)" "v1 late: pgfleet says behind"
assert_eq "[\"$late\"]" "$(pf_target_json latepf | jq -c .pending)" "v1 late: pgfleet pending = the late folder"
pf apply -i "$PF_TMP/v1.yaml" -t latepf -f json
assert_eq 0 "$PF_RC" "v1 late: pgfleet apply exit code"
assert_eq "$(ledger latedz "id, $rows")" "$(ledger latepf "id, $rows")" "v1 late: ledgers identical"

# --- app-up on a ledger written by drizzle 0.x ---------------------------------------------------
rc=0; drz old "$APP" || rc=$?
assert_eq 0 "$rc" "drizzle 0.x migrate"
assert_eq "" "$(pg_psql old "select column_name from information_schema.columns where table_schema = 'drizzle' and column_name in ('name', 'applied_at')")" "0.x ledger has no name/applied_at"
pf audit -i "$PF_TMP/up.yaml" -t old -f json
assert_eq 0 "$PF_RC" "app-up on the 0.x ledger: audit exit code"
assert_eq in_sync "$(pf_target_json old | jq -r .status)" "app-up on the 0.x ledger: in_sync"

rc=0; drz1 old "$UP" || rc=$?
assert_eq 0 "$rc" "drizzle v1 upgrades the 0.x ledger"
assert_eq "$(ls "$UP")" "$(ledger old name)" "upgrade filled the names"
assert_eq 4 "$(pg_psql old 'select count(*) from drizzle.__drizzle_migrations where applied_at is null')" "upgrade left applied_at NULL"
pf audit -i "$PF_TMP/up.yaml" -t old -f json
assert_eq 0 "$PF_RC" "upgraded ledger: audit exit code"
assert_eq in_sync "$(pf_target_json old | jq -r .status)" "upgraded ledger: in_sync"
before=$(ledger old "id, hash, created_at, name, applied_at")
pf apply -i "$PF_TMP/up.yaml" -t old -f json
assert_eq 0 "$PF_RC" "apply on the upgraded ledger: exit code"
assert_eq unchanged "$(pf_target_json old | jq -r .outcome)" "apply on the upgraded ledger: unchanged"
assert_eq "$before" "$(ledger old "id, hash, created_at, name, applied_at")" "apply on the upgraded ledger: rows unchanged"

# --- 0.x ledger with 2 rows, the rest applied from the v1 layout --------------------------------
# reference: drizzle 0.x applies 2, drizzle v1 upgrades the ledger and applies the rest (whole-second
# created_at for the new rows)
rc=0; drz olddz "$APPFIRST2" || rc=$?
assert_eq 0 "$rc" "reference: drizzle 0.x first 2"
rc=0; drz1 olddz "$UP" || rc=$?
assert_eq 0 "$rc" "reference: drizzle v1 applies the rest of app-up"
pf audit -i "$PF_TMP/up.yaml" -t olddz -f json
assert_eq 0 "$PF_RC" "reference db: audit exit code"
assert_eq in_sync "$(pf_target_json olddz | jq -r .status)" "reference db: in_sync"
rc=0; drz oldpf "$APPFIRST2" || rc=$?
assert_eq 0 "$rc" "drizzle 0.x first 2"
pf apply -i "$PF_TMP/up.yaml" -t oldpf -f json
assert_eq 0 "$PF_RC" "pgfleet applies the rest of app-up onto a 0.x ledger: exit code"
assert_eq 2 "$(pf_target_json oldpf | jq '.applied | length')" "pgfleet applied 2 from app-up"
rc=0; (cd "$INTEROP" && MIGRATE_LOG_QUERIES=1 PGDATABASE=oldpf node v1/migrate.mjs "$UP") 2>"$PF_TMP/v1-on-oldpf.log" || rc=$?
assert_eq 0 "$rc" "drizzle v1 afterwards: exit code"
assert_eq 0 "$(grep -c "insert into" "$PF_TMP/v1-on-oldpf.log" || true)" "drizzle v1 afterwards applies nothing (inserts sent)"
assert_eq "$(ledger olddz "id, $rows")" "$(ledger oldpf "id, $rows")" "final (id, hash, created_at, name) = drizzle 0.x 2 + drizzle v1 rest"
assert_eq "$(ledger_def olddz)" "$(ledger_def oldpf)" "final ledger definition = drizzle 0.x 2 + drizzle v1 rest"
pf audit -i "$PF_TMP/up.yaml" -t oldpf -f json
assert_eq 0 "$PF_RC" "audit afterwards: exit code"
assert_eq in_sync "$(pf_target_json oldpf | jq -r .status)" "audit afterwards: in_sync"

pf_done
