#!/usr/bin/env bash
# Benchmark: apply the fixture app's migrations to N fresh databases
#   (a) with pgfleet, -j 1 and -j 8,
#   (b) with drizzle-orm's migrator run once per database (what a shell loop over
#       DATABASE_URLs does today),
# and audit the migrated fleet with pgfleet. Prints wall-clock figures; asserts nothing.
# Usage: bench/fleet_apply.sh [N]   (default 50; needs a build in build/ and tests/interop set up)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
source tests/lib/pg.sh
bash tests/interop/setup.sh >/dev/null
pg_start
set +e

mig=$PWD/tests/fixtures/app/drizzle
dbs() { for i in $(seq 1 "$N"); do echo "$1_$i"; done; }
mkinv() {
    cat >"$PF_TMP/$1.yaml" <<Y
migrations: {dir: $mig}
targets:
  - name: \${each}
    for_each: [$(dbs "$1" | paste -sd, -)]
    dsn: postgresql://postgres@127.0.0.1:$PGPORT/\${each}
Y
}
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

for set in serial parallel drizzle; do
    for db in $(dbs "$set"); do psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null; done
done
mkinv serial
mkinv parallel

t0=$(now); "$PGFLEET" apply -q -j 1 -i "$PF_TMP/serial.yaml" >/dev/null; rc1=$?; t1=$(now)
"$PGFLEET" apply -q -j 8 -i "$PF_TMP/parallel.yaml" >/dev/null; rc2=$?; t2=$(now)
for db in $(dbs drizzle); do
    PGDATABASE=$db node tests/interop/migrate.mjs "$mig" >/dev/null || echo "drizzle failed on $db"
done
t3=$(now)
"$PGFLEET" audit -q -j 8 -i "$PF_TMP/parallel.yaml" >/dev/null; rc3=$?; t4=$(now)

echo "fleet of $N databases, $(ls "$mig"/*.sql | wc -l) migrations each (tests/fixtures/app), $(nproc) cores"
printf "%-44s %8.2f s  (exit %d)\n" "pgfleet apply -j 1" "$(elapsed "$t0" "$t1")" "$rc1"
printf "%-44s %8.2f s  (exit %d)\n" "pgfleet apply -j 8" "$(elapsed "$t1" "$t2")" "$rc2"
printf "%-44s %8.2f s\n" "drizzle-orm migrator, one process per db" "$(elapsed "$t2" "$t3")"
printf "%-44s %8.2f s  (exit %d)\n" "pgfleet audit -j 8 (migrated fleet)" "$(elapsed "$t3" "$t4")" "$rc3"
