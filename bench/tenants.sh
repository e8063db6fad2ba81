#!/usr/bin/env bash
# Benchmark: one database with N tenant schemas (docs/tenants.md), the fixture app's folder
# applied to every one. pgfleet (`apply -j JOBS`, connections shared by the tenants of the
# database) against the plain way: for each tenant, one psql connection that creates the
# schema and runs the folder's SQL, rewritten for the tenant with sed, in one transaction,
# JOBS at a time. Prints wall-clock figures and the connections each took; asserts nothing.
# Usage: bench/tenants.sh [N] [JOBS]   (defaults 2000, 8; needs a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
JOBS=${2:-8}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
source tests/lib/pg.sh
pg_start
cp "$PGFLEET" "$PF_TMP/pgfleet"
PGFLEET=$PF_TMP/pgfleet
mig=$PWD/tests/fixtures/app/drizzle
now() { date +%s.%N; }

for db in pgfleet_db plain_db; do
    psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
done
sessions() { # DB: sessions the server has counted for it since start
    psql -X -A -t -d postgres -c "select sessions from pg_stat_database where datname = '$1'"
}

cat >"$PF_TMP/tenants.yaml" <<Y
migrations: {dir: $mig}
defaults: {create_schema: true}
targets:
  - name: t-\${each}
    dsn: postgresql://postgres@127.0.0.1:$PGPORT/pgfleet_db
    schema: t_\${each}
    for_each: [$(seq -f '%05g' 1 "$N" | paste -sd, -)]
Y

s0=$(sessions pgfleet_db)
t0=$(now)
"$PGFLEET" apply -i "$PF_TMP/tenants.yaml" -j "$JOBS" -f json -o "$PF_TMP/apply.json" -q || {
    echo "pgfleet apply failed" >&2
    exit 1
}
t1=$(now)
pf_conns=$(($(sessions pgfleet_db) - s0))

# The plain way: the folder's chunks joined, public rewritten by sed, one psql per tenant.
sql=$PF_TMP/folder.sql
for f in "$mig"/*.sql; do sed 's/--> statement-breakpoint//' "$f"; echo ';'; done >"$sql"
plain_one() {
    local t=t_$1
    { echo "BEGIN; CREATE SCHEMA $t; SET LOCAL search_path TO $t;"
      sed -e "s/\"public\"/\"$t\"/g" "$sql"
      echo "COMMIT;"; } | psql -X -q -v ON_ERROR_STOP=1 -d plain_db >/dev/null
}
export -f plain_one
export sql
s0=$(sessions plain_db)
t2=$(now)
seq -f '%05g' 1 "$N" | xargs -P "$JOBS" -I{} bash -c 'plain_one {}'
t3=$(now)
plain_conns=$(($(sessions plain_db) - s0))

printf '%d tenant schemas, -j %d, the fixture app (%d migrations)\n' "$N" "$JOBS" \
    "$(ls "$mig"/*.sql | wc -l)"
printf '  pgfleet apply          %6.2f s   %5d connections\n' "$(echo "$t1 - $t0" | bc)" "$pf_conns"
printf '  psql per tenant (sed)  %6.2f s   %5d connections\n' "$(echo "$t3 - $t2" | bc)" "$plain_conns"
