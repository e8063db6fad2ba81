#!/usr/bin/env bash
# Benchmark: the server's own time for a survey on a new session, the part of an audit (or an
# apply) that no round-trip count shows. One database migrated with a fixture (in sync: the
# 9-migration SaaS fixture by default), one left empty (uninitialized). pgfleet's survey messages are taken from the server's log
# (log_statement) as pgfleet sends them, then each is sent again by bench/floor.c over N new
# connections, one at a time (two sessions of apply's survey on one database would contend for
# its lock, and the one that does not get it skips the ledger's read), with the server logging
# every message's duration
# (log_min_duration_statement = 0): the medians printed are the server's time for the message,
# which excludes connecting and the client; beside them, the page faults each session cost the
# server (its backends' minor faults, counted by the kernel: steadier than any time on a shared
# machine, and a measure of the memory a new session touches for what it plans and runs). A
# bare ledger select and `select 1` are the baselines. Asserts nothing.
# Usage: bench/survey_server.sh   (env: N=300, FIXTURE=saas, PGFLEET=build-rel/pgfleet)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300}
FIXTURE=${FIXTURE:-saas}
PGFLEET_BIN=${PGFLEET:-$PWD/build-rel/pgfleet}
[ -x "$PGFLEET_BIN" ] || {
    echo "no $PGFLEET_BIN: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target pgfleet" >&2
    exit 2
}
source tests/lib/pg.sh
pg_start
FLOOR=$PF_TMP/floor
cc -O2 -o "$FLOOR" bench/floor.c -I"$(pg_config --includedir)" -lpq -lpthread
LOG=$PF_TMP/cluster/postgres.log
mig=$PWD/tests/fixtures/$FIXTURE/drizzle
set +e
# No autovacuum: its workers are the postmaster's children too, and would count in the faults.
psql -X -q -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
PM_PID=$(head -1 "$PF_TMP/cluster/pgdata/postmaster.pid")
child_faults() { awk '{print $11}' "/proc/$PM_PID/stat"; } # the reaped backends' minor faults

setting() { # NAME VALUE
    psql -X -q -d postgres -c "alter system set $1 = $2" -c "select pg_reload_conf()" >/dev/null
    sleep 0.3
}
# The first message pgfleet sends DB (the survey), as the server logged it.
survey_of() { # COMMAND DB OUT
    cat >"$PF_TMP/$2.yaml" <<Y
migrations: {dir: $mig}
targets:
  - {name: $2, dsn: "postgresql://postgres@127.0.0.1:$PGPORT/$2"}
Y
    local before
    before=$(wc -l <"$LOG")
    setting log_statement "'all'"
    "$PGFLEET_BIN" "$1" -q -i "$PF_TMP/$2.yaml" >/dev/null 2>&1
    setting log_statement "'none'"
    tail -n +$((before + 1)) "$LOG" | awk '/statement: SELECT current_(catalog|database)/ {f = 1; sub(/^.*statement: /, ""); print; next}
        f && /^[0-9][0-9][0-9][0-9]-/ {exit} f {sub(/^\t/, ""); print}' | grep -v '^$' >"$3"
    [ -s "$3" ] || {
        echo "survey_server.sh: no survey of pgfleet $1 found in the server's log" >&2
        exit 1
    }
}
median_ms() { # FILE DB: the server's median duration of FILE's message over N new sessions,
    #              and the faults per session
    local dsns before f0
    dsns=$(for _ in $(seq "$N"); do printf 'postgresql://postgres@127.0.0.1:%s/%s?sslmode=disable\n' "$PGPORT" "$2"; done)
    before=$(wc -l <"$LOG")
    f0=$(child_faults)
    # shellcheck disable=SC2086
    "$FLOOR" 1 "$1" $dsns >/dev/null 2>&1
    sleep 0.3
    tail -n +$((before + 1)) "$LOG" | grep -o 'duration: [0-9.]* ms' | awk '{print $2}' | sort -n |
        awk '{a[NR] = $1} END {printf "%8.2f", a[int((NR + 1) / 2)]}'
    printf ' %8d' $((($(child_faults) - f0) / N))
}

createdb insync && createdb empty && createdb empty2
cat >"$PF_TMP/insync.yaml" <<Y
migrations: {dir: $mig}
targets:
  - {name: insync, dsn: "postgresql://postgres@127.0.0.1:$PGPORT/insync"}
Y
"$PGFLEET_BIN" apply -q -i "$PF_TMP/insync.yaml" >/dev/null
survey_of audit insync "$PF_TMP/audit.sql"
survey_of apply insync "$PF_TMP/apply_insync.sql" # in sync: takes the lock and releases it
survey_of apply empty "$PF_TMP/apply_empty.sql" # migrates empty: the survey is replayed on empty2
echo 'select 1;' >"$PF_TMP/select1.sql"
echo 'select id, hash, created_at from drizzle.__drizzle_migrations order by id;' >"$PF_TMP/ledger.sql"

echo "$("$PGFLEET_BIN" --version | head -1), $(pg_config --version), $(nproc) cores"
echo "server time of one message on a new session, median of $N sessions (log_min_duration_statement),"
echo "and the server's page faults per session (connecting and ending it included)"
setting log_min_duration_statement 0
printf '%-58s %8s %8s\n' "message" "ms" "faults"
printf '%-58s %s\n' "select 1" "$(median_ms "$PF_TMP/select1.sql" insync)"
printf '%-58s %s\n' "ledger select (the audit floor's query)" "$(median_ms "$PF_TMP/ledger.sql" insync)"
printf '%-58s %s\n' "audit's survey, in-sync database ($(wc -l <"$PF_TMP/audit.sql") statements)" \
    "$(median_ms "$PF_TMP/audit.sql" insync)"
printf '%-58s %s\n' "apply's survey, in-sync database ($(wc -l <"$PF_TMP/apply_insync.sql") statements)" \
    "$(median_ms "$PF_TMP/apply_insync.sql" insync)"
printf '%-58s %s\n' "apply's survey, empty database ($(wc -l <"$PF_TMP/apply_empty.sql") statements)" \
    "$(median_ms "$PF_TMP/apply_empty.sql" empty2)"
setting log_min_duration_statement -1
