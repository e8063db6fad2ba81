#!/usr/bin/env bash
# Benchmark: memory and time of pgfleet over a large fleet, no database needed. For each size N
# (10,000 and 100,000 by default) it writes an inventory of N targets listed one by one (each
# with its own name, dsn, password and two labels, the defaults shared) whose dsns all point at
# a closed port on loopback (nothing listens: every target is unreachable at once), and prints
# the peak resident memory (GNU time's maximum RSS), the wall-clock time and the CPU time (user
# + system: steadier than wall-clock time on a shared machine) of:
#   - `pgfleet inventory` (text and JSON),
#   - `pgfleet plan -j 64` and `pgfleet audit -j 64` (text, and the JSON report to a file).
# Every target is on one server: max_per_server: 64 lets -j 64 open 64 connections to it (the
# default, 16, would make it -j 16; MAX_PER_SERVER= leaves it out, for a build from before the
# setting). Asserts nothing. Sanitizers multiply memory: measure a
# build without them, e.g.
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGFLEET_TESTS=OFF
#   cmake --build build-rel --target pgfleet && PGFLEET=build-rel/pgfleet bench/scale.sh
# Usage: bench/scale.sh [SIZES...]   (default "10000 100000"; PGFLEET, JOBS override)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${*:-"10000 100000"}
JOBS=${JOBS:-64}
MAX_PER_SERVER=${MAX_PER_SERVER-64}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
[ -x /usr/bin/time ] || { echo "scale.sh: needs GNU time in /usr/bin/time" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-scale.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp "$PGFLEET" "$TMP/pgfleet" # a rebuild while the bench runs must not change what it measures
PGFLEET=$TMP/pgfleet
MIG=$PWD/tests/fixtures/app/drizzle

# A port nothing listens on: bound once by the kernel's choice, then closed.
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# measure WHAT ARGS...: run pgfleet ARGS, print peak RSS, time and exit status.
measure() {
    local what=$1 rc=0
    shift
    /usr/bin/time -o "$TMP/time" -f '%M %e %U %S' "$PGFLEET" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    read -r kb secs user sys < <(tail -n 1 "$TMP/time") # after "Command exited with ..." when not 0
    printf '%-36s %8.1f MB %8.2f s wall %8.2f s cpu  (exit %d%s)\n' "$what" \
        "$(echo "$kb / 1024" | bc -l)" "$secs" "$(echo "$user + $sys" | bc -l)" \
        "$rc" "$([ "$rc" = 0 ] || [ "$rc" = 2 ] || echo ": $(head -c 100 "$TMP/err")")"
}

for n in $SIZES; do
    "$PY" - "$TMP/fleet_$n.yaml" "$n" "$PORT" "$MIG" "$MAX_PER_SERVER" <<'PY'
import sys
path, n, port, mig, cap = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with open(path, "w") as f:
    f.write("max_targets: %d\nmigrations: {dir: %s}\n" % (n, mig))
    f.write("defaults: {connect_timeout: 5s, lock_wait: 30s%s}\n"
            % (", max_per_server: " + cap if cap else ""))
    f.write("targets:\n")
    for i in range(n):
        f.write("  - name: tenant-%06d\n    dsn: postgresql://app:pw%d@127.0.0.1:%s/db_%d\n"
                "    labels: {env: prod, shard: '%d'}\n" % (i, i, port, i, i % 64))
PY
    echo "== $n targets ($(($(stat -c %s "$TMP/fleet_$n.yaml") / 1024)) KB of inventory, port $PORT closed)"
    measure "inventory" inventory -i "$TMP/fleet_$n.yaml"
    measure "inventory -f json" inventory -i "$TMP/fleet_$n.yaml" -f json
    measure "plan -j $JOBS" plan -q -j "$JOBS" -i "$TMP/fleet_$n.yaml"
    measure "plan -j $JOBS -f json -o FILE" plan -q -j "$JOBS" -i "$TMP/fleet_$n.yaml" -f json \
        -o "$TMP/plan.json"
    measure "audit -j $JOBS" audit -q -j "$JOBS" -i "$TMP/fleet_$n.yaml"
    measure "audit -j $JOBS -f json -o FILE" audit -q -j "$JOBS" -i "$TMP/fleet_$n.yaml" -f json \
        -o "$TMP/audit.json"
    rm -f "$TMP/fleet_$n.yaml" "$TMP/plan.json" "$TMP/audit.json"
done
