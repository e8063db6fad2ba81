# shellcheck shell=bash disable=SC2034
# Shared helpers of the interop tests (tests/interop/test_*.sh). Source it first: it sources
# tests/lib/pg.sh, installs the pinned drizzle packages (setup.sh, idempotent) and starts a
# throwaway cluster.
#
#   INTEROP / FIXTURES           tests/interop and tests/fixtures (absolute)
#   drz DB FOLDER [SCHEMA TABLE] drizzle-orm 0.45.4's migrator on DB (exit code returned)
#   drz1 DB FOLDER [SCHEMA TABLE] drizzle-orm 1.0.0-rc.5's migrator on DB
#   write_inv FILE DIR [MIGRATIONS_EXTRA] -- DB...
#                                one target per DB, named after it; MIGRATIONS_EXTRA is added to
#                                the top-level migrations mapping (e.g. 'schema: x, table: y')
#   pf ARGS...                   runs $PGFLEET, sets PF_RC, PF_OUT (stdout), PF_ERR (stderr)
#   pf_target_json NAME          the report's target object for NAME (from PF_OUT, json format)
#   ledger DB [COLS] [QUALIFIED_TABLE]
#                                ledger rows ordered by id (default cols id,hash,created_at)
#   ledger_def DB [SCHEMA TABLE] the ledger table's columns: name|type|nullable|default
#   dump_schema DB               pg_dump --schema-only, minus the random \restrict key lines
#   journal_prefix SRC DST N     copy of a 0.x folder whose journal lists its first N entries
#   drizzle_hash FILE            hash.mjs of FILE (drizzle's hash)

if [ -z "${PF_TESTS_DIR:-}" ]; then
    PF_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
INTEROP=$PF_TESTS_DIR/interop
FIXTURES=$PF_TESTS_DIR/fixtures
# shellcheck source=../../lib/pg.sh
source "$PF_TESTS_DIR/lib/pg.sh"

bash "$INTEROP/setup.sh"
command -v jq >/dev/null || { echo "interop tests need jq" >&2; exit 1; }
[ -x "$PGFLEET" ] || command -v "$PGFLEET" >/dev/null || { echo "PGFLEET=$PGFLEET not found" >&2; exit 1; }
pg_start

drz() {
    local db=$1
    shift
    (cd "$INTEROP" && PGDATABASE=$db node migrate.mjs "$@")
}

drz1() {
    local db=$1
    shift
    (cd "$INTEROP" && PGDATABASE=$db node v1/migrate.mjs "$@")
}

write_inv() {
    local file=$1 dir=$2 extra="" db
    shift 2
    if [ "${1:-}" != "--" ]; then
        extra=", $1"
        shift
    fi
    [ "${1:-}" = "--" ] && shift
    {
        echo "migrations: {dir: \"$dir\"$extra}"
        echo "targets:"
        for db in "$@"; do
            echo "  - name: $db"
            echo "    dsn: postgresql://postgres@127.0.0.1:$PGPORT/$db"
        done
    } >"$file"
}

pf() {
    PF_RC=0
    PF_OUT=$("$PGFLEET" "$@" 2>"$PF_TMP/pf.stderr") || PF_RC=$?
    PF_ERR=$(cat "$PF_TMP/pf.stderr")
}

pf_target_json() {
    jq -c --arg n "$1" '.targets[] | select(.name == $n)' <<<"$PF_OUT"
}

ledger() {
    pg_psql "$1" "select ${2:-id, hash, created_at} from ${3:-drizzle.__drizzle_migrations} order by id"
}

ledger_def() {
    local schema=${2:-drizzle} table=${3:-__drizzle_migrations}
    pg_psql "$1" "select column_name, data_type, is_nullable, coalesce(column_default, '')
                  from information_schema.columns
                  where table_schema = '${schema//\'/\'\'}' and table_name = '${table//\'/\'\'}'
                  order by ordinal_position"
}

dump_schema() {
    pg_dump --schema-only --no-password -d "$1" | grep -v -E '^\\(un)?restrict '
}

journal_prefix() {
    local src=$1 dst=$2 n=$3
    mkdir -p "$dst/meta"
    cp "$src"/*.sql "$dst/"
    jq --argjson n "$n" '.entries |= .[:$n]' "$src/meta/_journal.json" >"$dst/meta/_journal.json"
}

drizzle_hash() {
    (cd "$INTEROP" && node hash.mjs "$1") | cut -d' ' -f1
}
