#!/usr/bin/env bash
# Benchmark: what --drift costs (docs/drift.md). One database with N tenant schemas, the fixture
# app's folder applied to every one, then `audit` without and with --drift (the scratch server
# is the same cluster), ROUNDS times each. Prints wall-clock figures, round trips in all and
# the builds each drift run made; asserts nothing.
# Usage: bench/drift.sh [N] [JOBS] [ROUNDS]   (defaults 1000, 8, 3; needs a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
JOBS=${2:-8}
ROUNDS=${3:-3}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
source tests/lib/pg.sh
pg_start
cp "$PGFLEET" "$PF_TMP/pgfleet"
PGFLEET=$PF_TMP/pgfleet
mig=$PWD/tests/fixtures/app/drizzle
now() { date +%s.%N; }

psql -X -q -d postgres -c "CREATE DATABASE app" >/dev/null
cat >"$PF_TMP/tenants.yaml" <<Y
migrations: {dir: $mig}
defaults: {create_schema: true}
drift: {scratch_dsn: "postgresql://postgres@127.0.0.1:$PGPORT/postgres"}
targets:
  - name: t-\${each}
    dsn: postgresql://postgres@127.0.0.1:$PGPORT/app
    schema: t_\${each}
    for_each: [$(seq -f '%05g' 1 "$N" | paste -sd, -)]
Y
"$PGFLEET" apply -i "$PF_TMP/tenants.yaml" -j "$JOBS" -q -f json -o "$PF_TMP/apply.json" || {
    echo "pgfleet apply failed" >&2
    exit 1
}

trips() { # REPORT: the round trips of every target, in all
    python3 -c 'import json,sys; print(sum(t["round_trips"] for t in json.load(open(sys.argv[1]))["targets"]))' "$1"
}
run() { # NAME ARGS...: ROUNDS audits, the best wall clock in s
    local name=$1 best="" t0 t1 d r
    shift
    for r in $(seq 1 "$ROUNDS"); do
        t0=$(now)
        "$PGFLEET" audit -i "$PF_TMP/tenants.yaml" -j "$JOBS" -f json -o "$PF_TMP/$name.json" \
            "$@" 2>"$PF_TMP/$name.err" || true
        t1=$(now)
        d=$(echo "$t1 - $t0" | bc)
        if [ -z "$best" ] || [ "$(echo "$d < $best" | bc)" = 1 ]; then best=$d; fi
    done
    echo "$best"
}
plain=$(run plain)
drift=$(run drift --drift -v)
builds=$(grep -c 'expected schema through' "$PF_TMP/drift.err" || true)

printf '%d tenant schemas in one database, -j %d, the fixture app (%d migrations), best of %d\n' \
    "$N" "$JOBS" "$(ls "$mig"/*.sql | wc -l)" "$ROUNDS"
printf '  audit          %6.2f s   %d round trips in all\n' "$plain" "$(trips "$PF_TMP/plain.json")"
printf '  audit --drift  %6.2f s   %d round trips in all (%d catalog queries), %d build(s) of the expected schema\n' \
    "$drift" "$(trips "$PF_TMP/drift.json")" "$(($(trips "$PF_TMP/drift.json") - $(trips "$PF_TMP/plain.json")))" "$builds"
printf '  ratio          %6.2f   (the goal: at most 2 x the audit, plus the builds)\n' "$(echo "scale=2; $drift / $plain" | bc)"
printf '  load average   %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
