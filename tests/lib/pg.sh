# Test harness: a throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory on a
# free loopback port), removed when the sourcing script exits. Source it, then call pg_start.
#
#   pg_start            -> exports PGHOST PGPORT PGUSER PGDATABASE (PGPASSWORD unset) and
#                          PF_TMP (a scratch directory removed at exit)
#   pg_createdb NAME... -> creates databases
#   pg_psql DB SQL      -> runs SQL on DB, prints unaligned tuples-only output
#   fail MSG / pass MSG / assert_eq WANT GOT MSG / assert_contains HAYSTACK NEEDLE MSG
#
# initdb refuses to run as root, so as root the cluster runs as the `postgres` system user.

set -euo pipefail

PF_PG_BIN=${PF_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGFLEET=${PGFLEET:-pgfleet}
PF_FAILURES=0

pf_as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pf_cleanup() {
    local rc=$?
    [ -n "${PF_TMP:-}" ] && pf_cluster_stop "$PF_TMP/cluster"
    [ -n "${PF_CLEANUP_HOOK:-}" ] && eval "$PF_CLEANUP_HOOK" || true
    [ -n "${PF_TMP:-}" ] && rm -rf "$PF_TMP"
    exit "$rc"
}

pf_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
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

# A cluster for one test script, removed when the script exits.
pg_start() {
    PF_TMP=$(mktemp -d /tmp/pgfleet-test.XXXXXX)
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
    echo "FAIL: $*" >&2
    PF_FAILURES=$((PF_FAILURES + 1))
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
    if [ "$PF_FAILURES" -ne 0 ]; then
        echo "$PF_FAILURES assertion(s) failed" >&2
        exit 1
    fi
    echo "all assertions passed"
}
