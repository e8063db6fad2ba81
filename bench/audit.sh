#!/usr/bin/env bash
# Benchmark: `pgfleet audit` (and `plan`) over a fleet of N databases migrated with the fixture
# app, at several -j values, reached directly on loopback and through a local proxy that delays
# every packet by DELAY_MS each way (a database in another region, or behind a bastion).
# Prints wall-clock figures (the best of ROUNDS runs); asserts nothing.
# Usage: bench/audit.sh [N] [DELAY_MS] [ROUNDS]   (defaults 200, 10, 3; needs a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
DELAY_MS=${2:-10}
ROUNDS=${3:-3}
JOBS=${JOBS:-"1 4 8 16 32"}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
source tests/lib/pg.sh
pg_start
cp "$PGFLEET" "$PF_TMP/pgfleet" # a rebuild while the bench runs must not change what it measures
PGFLEET=$PF_TMP/pgfleet
PROXY_PID=
PF_CLEANUP_HOOK='[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null'
set +e

mig=$PWD/tests/fixtures/app/drizzle
mkinv() { # FILE PORT
    cat >"$1" <<Y
migrations: {dir: $mig}
defaults: {connect_timeout: 30s, max_per_server: 1000}  # every -j value reaches the one cluster
targets:
  - name: \${each}
    for_each: [$(seq -f 'audit_%g' 1 "$N" | paste -sd, -)]
    dsn: postgresql://postgres@127.0.0.1:$2/\${each}
Y
}
now() { date +%s.%N; }

# A TCP proxy to the cluster that holds every chunk DELAY_MS before passing it on, in order.
PROXY_PORT=$(pf_free_port)
python3 tests/lib/delay_proxy.py "$PROXY_PORT" "$PGPORT" "$DELAY_MS" &
PROXY_PID=$!

for i in $(seq 1 "$N"); do echo "CREATE DATABASE audit_$i;"; done | psql -X -q -d postgres >/dev/null
mkinv "$PF_TMP/direct.yaml" "$PGPORT"
mkinv "$PF_TMP/delayed.yaml" "$PROXY_PORT"
"$PGFLEET" apply -q -j 16 -i "$PF_TMP/direct.yaml" >/dev/null || echo "apply failed" >&2

best() { # COMMAND INVENTORY JOBS: the best wall time of ROUNDS runs, and the exit code
    local best= rc t0 t1 t
    for _ in $(seq 1 "$ROUNDS"); do
        t0=$(now)
        "$PGFLEET" "$1" -q -j "$3" -i "$2" >/dev/null
        rc=$?
        t1=$(now)
        t=$(echo "$t1 - $t0" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf "%8.2f s (exit %d)" "$best" "$rc"
}

echo "audit/plan of $N in-sync databases (tests/fixtures/app, $(ls "$mig"/*.sql | wc -l) migrations), $(nproc) cores, best of $ROUNDS"
printf "%-6s %-22s %-22s %-22s\n" "-j" "audit, loopback" "audit, +${DELAY_MS}ms each way" "plan, +${DELAY_MS}ms each way"
for j in $JOBS; do
    printf "%-6s %-22s %-22s %-22s\n" "$j" "$(best audit "$PF_TMP/direct.yaml" "$j")" \
        "$(best audit "$PF_TMP/delayed.yaml" "$j")" "$(best plan "$PF_TMP/delayed.yaml" "$j")"
done
