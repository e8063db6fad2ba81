# Test harness: a throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory on a
# free loopback port), removed when the sourcing script exits. Source it, then call pg_start.
#
#   pg_start            -> exports PGHOST PGPORT PGUSER PGDATABASE (PGPASSWORD unset) and
#                          PF_TMP (a scratch directory removed at exit)
#   pg_createdb NAME... -> creates databases
#   pg_psql DB SQL      -> runs SQL on DB, prints unaligned tuples-only output
#   fail MSG / pass MSG / assert_eq WANT GOT MSG / assert_contains HAYSTACK NEEDLE MSG
#   pf_done             -> call last: exits 1 when any assertion failed
#
# A failure fails the test wherever `fail` runs: inside $(...), a pipeline, ( ... ) or a
# background job, whose variables die with them. Each failure is a line in $PF_FAIL_FILE (made
# when this file is sourced, not exported, so a test script run by a test has its own), and both
# pf_done and the exit trap read that file: a script that exits 0, or never calls pf_done, after
# a failure still exits 1.
#
# initdb refuses to run as root, so as root the cluster runs as the `postgres` system user.

set -euo pipefail

PF_PG_BIN=${PF_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGFLEET=${PGFLEET:-pgfleet}
PF_FAIL_FILE=$(mktemp "${TMPDIR:-/tmp}/pgfleet-failures.XXXXXX")
trap pf_cleanup EXIT

pf_as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pf_cleanup() {
    local rc=$? n
    [ -n "${PF_TMP:-}" ] && pf_cluster_stop "$PF_TMP/cluster"
    [ -n "${PF_CLEANUP_HOOK:-}" ] && eval "$PF_CLEANUP_HOOK" || true
    [ -n "${PF_TMP:-}" ] && rm -rf "$PF_TMP"
    n=$(pf_failures)
    if [ "$n" -ne 0 ]; then
        echo "$n assertion(s) failed" >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    rm -f "$PF_FAIL_FILE"
    exit "$rc"
}

pf_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 12000)) # below Linux's ephemeral ports (32768 on)
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# Create and start a cluster whose files live in DIR (kept until pf_cluster_stop DIR).
# Exports PGHOST PGPORT PGUSER PGDATABASE for it.
pf_cluster_start() {
    local dir=$1
    mkdir -p "$dir/pgdata" "$dir/sock"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$dir/pgdata" "$dir/sock"
    pf_as_pg "$PF_PG_BIN/initdb" -D "$dir/pgdata" -U postgres -A trust --no-sync \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    cp "$dir/pgdata/postgresql.conf" "$dir/postgresql.conf.orig"
    local tries
    for tries in 1 2 3 4 5; do
        PGPORT=$(pf_free_port)
        cp "$dir/postgresql.conf.orig" "$dir/pgdata/postgresql.conf"
        cat >>"$dir/pgdata/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
        if pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 \
            start >"$dir/pg_ctl.log" 2>&1; then
            break
        fi
        if [ "$tries" = 5 ]; then
            cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null
            return 1
        fi
    done
    export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres
    unset PGPASSWORD PGSERVICE PGSSLMODE || true
}

pf_cluster_stop() {
    local dir=$1
    if [ -f "$dir/pgdata/postmaster.pid" ]; then
        pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$dir/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    fi
}

# A cluster for one test script, removed when the script exits; in a directory under
# PF_TMPDIR (default /tmp: /dev/shm keeps a benchmark's server off the disk).
pg_start() {
    PF_TMP=$(mktemp -d "${PF_TMPDIR:-/tmp}/pgfleet-test.XXXXXX")
    chmod 755 "$PF_TMP"
    export PF_TMP
    trap pf_cleanup EXIT
    pf_cluster_start "$PF_TMP/cluster"
}

pg_createdb() {
    local db
    for db in "$@"; do
        psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
    done
}

pg_psql() {
    local db=$1
    shift
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "$*"
}

fail() {
    local msg="$*"
    echo "FAIL: $msg" >&2
    # One line per failure (O_APPEND: concurrent writers do not mix lines).
    printf '%s\n' "${msg//$'\n'/ | }" >>"$PF_FAIL_FILE"
}

# The number of failures so far, in this shell and every subshell of it.
pf_failures() {
    if [ -s "$PF_FAIL_FILE" ]; then
        wc -l <"$PF_FAIL_FILE" | tr -d ' '
    else
        echo 0
    fi
}

pass() {
    echo "ok: $*"
}

assert_eq() {
    if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: expected [$1], got [$2]"; fi
}

assert_contains() {
    if [[ "$1" == *"$2"* ]]; then pass "$3"; else fail "$3: [$2] not found in: $1"; fi
}

assert_not_contains() {
    if [[ "$1" != *"$2"* ]]; then pass "$3"; else fail "$3: [$2] unexpectedly found in: $1"; fi
}

# Call last: exits non-zero when any assertion failed.
pf_done() {
    local n
    n=$(pf_failures)
    if [ "$n" -ne 0 ]; then
        exit 1 # pf_cleanup says how many
    fi
    echo "all assertions passed"
}
