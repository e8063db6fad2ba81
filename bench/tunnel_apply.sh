#!/usr/bin/env bash
# Benchmark: apply the fixture app's migrations to N fresh databases directly, then to N other
# fresh databases of the same server through one SSH tunnel (a local OpenSSH sshd on
# loopback), and audit both fleets. Prints wall-clock figures and the tunnel's set-up time;
# asserts nothing. Each figure is the best of R rounds (fresh databases each round).
# Usage: bench/tunnel_apply.sh [N] [JOBS] [ROUNDS]   (default 30 8 3; needs a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-30}
JOBS=${2:-8}
ROUNDS=${3:-3}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
source tests/lib/pg.sh
pg_start
source tests/lib/sshd.sh
set +e

mig=$PWD/tests/fixtures/app/drizzle
ssh_key ed25519 "$PF_TMP/id_ed25519"
sshd_start bench
sshd_authorize bench "$PF_TMP/id_ed25519.pub"
sshd_known_hosts_line bench >"$PF_TMP/known_hosts"

dbs() { for i in $(seq 1 "$N"); do echo "$1_$i"; done; }
mkinv() { # NAME VIA
    {
        echo "migrations: {dir: $mig}"
        echo "tunnels:"
        echo "  bench:"
        echo "    host: 127.0.0.1"
        echo "    port: $(sshd_port bench)"
        echo "    user: $PF_SSH_USER"
        echo "    identity: $PF_TMP/id_ed25519"
        echo "    known_hosts: $PF_TMP/known_hosts"
        echo "targets:"
        echo "  - name: \${each}"
        echo "    for_each: [$(dbs "$1" | paste -sd, -)]"
        echo "    dsn: postgresql://postgres@127.0.0.1:$PGPORT/\${each}"
        [ -z "$2" ] || echo "    via: $2"
    } >"$PF_TMP/$1.yaml"
}
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
best() { printf '%s\n' "$@" | sort -n | head -n 1; }

direct_apply=() tunnel_apply=() direct_audit=() tunnel_audit=()
for r in $(seq 1 "$ROUNDS"); do
    for set in "direct$r" "tunnel$r"; do
        for db in $(dbs "$set"); do psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null; done
    done
    mkinv "direct$r" ""
    mkinv "tunnel$r" bench
    t0=$(now)
    "$PGFLEET" apply -q -j "$JOBS" -i "$PF_TMP/direct$r.yaml" >/dev/null || echo "direct apply failed"
    t1=$(now)
    "$PGFLEET" apply -q -j "$JOBS" -i "$PF_TMP/tunnel$r.yaml" -f json -o "$PF_TMP/tunnel$r.json" ||
        echo "tunnel apply failed"
    t2=$(now)
    "$PGFLEET" audit -q -j "$JOBS" -i "$PF_TMP/direct$r.yaml" >/dev/null || echo "direct audit failed"
    t3=$(now)
    "$PGFLEET" audit -q -j "$JOBS" -i "$PF_TMP/tunnel$r.yaml" >/dev/null || echo "tunnel audit failed"
    t4=$(now)
    direct_apply+=("$(elapsed "$t0" "$t1")")
    tunnel_apply+=("$(elapsed "$t1" "$t2")")
    direct_audit+=("$(elapsed "$t2" "$t3")")
    tunnel_audit+=("$(elapsed "$t3" "$t4")")
done
setup=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(max(t["timings"]["tunnel_ms"] for t in d["targets"]))' "$PF_TMP/tunnel$ROUNDS.json")
sessions=$(sshd_log bench | grep -c 'Accepted publickey')

echo "fleet of $N databases, $(ls "$mig"/*.sql | wc -l) migrations each (tests/fixtures/app)," \
    "-j $JOBS, $(nproc) cores, best of $ROUNDS"
printf "%-40s %8.3f s\n" "pgfleet apply, direct" "$(best "${direct_apply[@]}")"
printf "%-40s %8.3f s\n" "pgfleet apply, through one ssh tunnel" "$(best "${tunnel_apply[@]}")"
printf "%-40s %8.3f s\n" "pgfleet audit, direct" "$(best "${direct_audit[@]}")"
printf "%-40s %8.3f s\n" "pgfleet audit, through one ssh tunnel" "$(best "${tunnel_audit[@]}")"
echo "tunnel set-up (connect, handshake, host key, auth, first channel): ${setup} ms;" \
    "ssh sessions opened: $sessions (one per run)"
