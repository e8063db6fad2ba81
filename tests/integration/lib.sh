# Shared helpers for tests/integration/test_*.sh. Source this file (it sources tests/lib/pg.sh,
# so `set -euo pipefail` is in force), then call pf_start (pg_start + a private copy of
# $PGFLEET).
#
#   assert_lines WANT GOT MSG      assert_eq for multi-line values (shows a diff)
#   mig_add DIR TAG WHEN STMT...   write DIR/TAG.sql (statements joined by breakpoints) and its
#                                  journal entry (the journal is kept sorted by `when`)
#   mig_del DIR TAG                drop TAG's journal entry (the .sql file stays)
#   inv_write FILE DIR DEFAULTS DB...  inventory: migrations.dir DIR, defaults {DEFAULTS},
#                                  one target per database of the test cluster, named after it
#   inv_add_target FILE NAME DSN   append a target
#   pf NAME ARGS...                run pgfleet; stdout/stderr in $PF_TMP/NAME.out/.err, exit
#                                  status in $RC
#   jget FILE EXPR / jt FILE TARGET EXPR   a python expression over the JSON report (d, or t =
#                                  the target named TARGET); strings bare, None -> null,
#                                  booleans -> true/false, lists space-separated
#   jtargets FILE EXPR             "NAME VALUE" for every target of the report
#   db_state DB                    ledger rows ("hash created_at", or "no ledger") + "tables: ..."
#   ledger DB / ledger_rows DB     "hash created_at" / "id hash created_at" per ledger row
#   has_table DB NAME / has_schema DB NAME   t or f
#   lock_hold DB KEY APP / lock_release APP  a background psql session holding an advisory lock
#                                  (HOLDER_PID: its backend pid; HOLDER_PSQL_PID: the psql)
#   log_connections DB            have the server log every connection (PGLOG: its log), checked
#                                  with a session to DB; pf_connections then counts the pgfleet
#                                  sessions it has seen, to show that nothing connected
#   break_with DB TABLE            make the fixture migration creating TABLE fail on DB: TABLE is
#                                  there already, under drizzle's empty ledger (without a ledger
#                                  the database would be unmanaged, and refused before running)
#   pty_run NAME ANSWER ARGS...    pgfleet ARGS on a pseudo-terminal, typing ANSWER (or Ctrl-C
#                                  for INT) at its [y/N] prompt; the screen in $PF_TMP/NAME.tty

source "$PF_TESTS_DIR/lib/pg.sh"

PF_BG_PIDS=()
pf_bg_cleanup() {
    local p
    for p in ${PF_BG_PIDS[@]+"${PF_BG_PIDS[@]}"}; do
        kill "$p" 2>/dev/null || true
    done
}
PF_CLEANUP_HOOK=pf_bg_cleanup

PF_WHEN0=1700000000000

# pg_start, then run a private copy of the binary: a rebuild of $PGFLEET while the test runs
# (another build in the same tree) must not make a command fail with 126/127.
pf_start() {
    pg_start
    local i
    for i in $(seq 1 120); do
        if cp "$PGFLEET" "$PF_TMP/pgfleet" 2>/dev/null && "$PF_TMP/pgfleet" version >/dev/null 2>&1; then
            PGFLEET=$PF_TMP/pgfleet
            return 0
        fi
        sleep 1
    done
    echo "cannot run $PGFLEET" >&2
    return 1
}

# A python3 without a version-manager shim in front (a pyenv shim costs ~0.2 s per call).
PF_PY=python3
[ -x /usr/bin/python3 ] && PF_PY=/usr/bin/python3

# assert_lines WANT GOT MSG: like assert_eq, but a mismatch is shown as a diff.
assert_lines() {
    if [ "$1" == "$2" ]; then
        pass "$3"
    else
        fail "$3: differs (- expected, + got):"$'\n'"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") |
            grep '^[<>]' | sed 's/^</-/; s/^>/+/' | head -n 40)"
    fi
}

# ---- migration folders -----------------------------------------------------------------------

mig_init() {
    mkdir -p "$1/meta"
    [ -f "$1/meta/_journal.json" ] ||
        printf '{\n  "version": "7",\n  "dialect": "postgresql",\n  "entries": []\n}\n' \
            >"$1/meta/_journal.json"
}

mig_journal_set() { # DIR TAG WHEN|"" : add/replace (WHEN) or remove ("") an entry
    "$PF_PY" - "$1/meta/_journal.json" "$2" "$3" <<'PY'
import json, sys
path, tag, when = sys.argv[1], sys.argv[2], sys.argv[3]
j = json.load(open(path))
entries = [e for e in j["entries"] if e["tag"] != tag]
if when:
    entries.append({"idx": 0, "version": "7", "when": int(when), "tag": tag, "breakpoints": True})
entries.sort(key=lambda e: e["when"])
for i, e in enumerate(entries):
    e["idx"] = i
j["entries"] = entries
with open(path, "w") as f:
    json.dump(j, f, indent=2)
    f.write("\n")
PY
}

mig_add() {
    local dir=$1 tag=$2 when=$3
    shift 3
    mig_init "$dir"
    local s first=1
    {
        for s in "$@"; do
            [ "$first" = 1 ] || printf '\n--> statement-breakpoint\n'
            printf '%s' "$s"
            first=0
        done
        printf '\n'
    } >"$dir/$tag.sql"
    mig_journal_set "$dir" "$tag" "$when"
}

mig_del() {
    mig_journal_set "$1" "$2" ""
}

file_hash() {
    sha256sum "$1" | cut -d' ' -f1
}

# ---- inventories ----------------------------------------------------------------------------

pf_dsn() {
    echo "postgresql://postgres@127.0.0.1:$PGPORT/$1"
}

inv_write() {
    local file=$1 dir=$2 defaults=$3 db
    shift 3
    {
        echo "migrations: {dir: \"$dir\"}"
        [ -z "$defaults" ] || echo "defaults: {$defaults}"
        echo "targets:"
        for db in "$@"; do
            echo "  - name: $db"
            echo "    dsn: \"$(pf_dsn "$db")\""
        done
    } >"$file"
}

inv_add_target() {
    printf '  - name: %s\n    dsn: "%s"\n' "$2" "$3" >>"$1"
}

# ---- running pgfleet ------------------------------------------------------------------------

RC=0
pf() {
    local name=$1
    shift
    RC=0
    "$PGFLEET" "$@" >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" || RC=$?
}

pf_out() { cat "$PF_TMP/$1.out"; }
pf_err() { cat "$PF_TMP/$1.err"; }

# ---- JSON -----------------------------------------------------------------------------------

PF_JSON_PY='
import json, sys
def show(v):
    if v is None: return "null"
    if v is True: return "true"
    if v is False: return "false"
    if isinstance(v, list): return " ".join(show(x) for x in v)
    if isinstance(v, dict): return json.dumps(v, sort_keys=True)
    return str(v)
def ev(expr, d, t):
    try:
        return show(eval(expr, {"json": json, "show": show}, {"d": d, "t": t}))
    except Exception as e:
        return "<error: %r>" % e
mode, path, expr = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    d = json.load(open(path))
except Exception as e:
    print("<invalid json: %s>" % e); sys.exit(0)
if mode == "doc":
    print(ev(expr, d, None))
elif mode == "target":
    t = next((x for x in d.get("targets", []) if x.get("name") == sys.argv[4]), None)
    print(ev(expr, d, t) if t is not None else "<no target %s>" % sys.argv[4])
else:
    for t in d.get("targets", []):
        print(t.get("name"), ev(expr, d, t))
'

jget() {
    "$PF_PY" -c "$PF_JSON_PY" doc "$1" "$2"
}

jt() {
    "$PF_PY" -c "$PF_JSON_PY" target "$1" "$3" "$2"
}

# jtargets FILE EXPR: one line "NAME VALUE" per target of the report, t = the target.
jtargets() {
    "$PF_PY" -c "$PF_JSON_PY" all "$1" "$2"
}

# ---- the databases --------------------------------------------------------------------------

ledger() {
    pg_psql "$1" "select hash || ' ' || created_at from drizzle.__drizzle_migrations order by id"
}

ledger_rows() {
    pg_psql "$1" "select id || ' ' || hash || ' ' || created_at from drizzle.__drizzle_migrations order by id"
}

# db_state DB: the ledger ("hash created_at" per row, or "no ledger") and "tables: ..." (public).
db_state() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -f - <<'SQL'
select to_regclass('drizzle.__drizzle_migrations') is not null as has_ledger \gset
\if :has_ledger
select hash || ' ' || created_at from drizzle.__drizzle_migrations order by id;
\else
select 'no ledger';
\endif
select 'tables: ' || coalesce(string_agg(tablename, ' ' order by tablename), '')
  from pg_tables where schemaname = 'public';
SQL
}

has_table() {
    pg_psql "$1" "select to_regclass('public.$2') is not null"
}

has_schema() {
    pg_psql "$1" "select exists (select 1 from pg_namespace where nspname = '$2')"
}

# Wait until a SQL query (on db postgres) prints WANT; up to SECONDS (default 10).
wait_for() {
    local sql=$1 want=$2 secs=${3:-10} i
    for i in $(seq 1 $((secs * 10))); do
        [ "$(pg_psql postgres "$sql")" = "$want" ] && return 0
        sleep 0.1
    done
    return 1
}

# A background psql session (application_name APP) holding advisory lock KEY on DB, until
# lock_release APP; MODE shared takes it in shared mode. Sets HOLDER_PID to its backend pid.
lock_hold() {
    local db=$1 key=$2 app=$3 fn=pg_advisory_lock
    [ "${4:-}" = shared ] && fn=pg_advisory_lock_shared
    PGAPPNAME=$app psql -X -q -d "$db" -c "select $fn($key)" \
        -c "select pg_sleep(3600)" >"$PF_TMP/holder.$app.log" 2>&1 &
    HOLDER_PSQL_PID=$!
    PF_BG_PIDS+=("$HOLDER_PSQL_PID")
    if ! wait_for "select count(*) from pg_locks l join pg_stat_activity a using (pid)
                   where l.locktype = 'advisory' and l.granted and a.application_name = '$app'" 1; then
        fail "lock_hold: $app did not get the advisory lock $key on $db"
        HOLDER_PID=0
        return 0
    fi
    HOLDER_PID=$(pg_psql postgres "select l.pid from pg_locks l join pg_stat_activity a using (pid)
                   where l.locktype = 'advisory' and l.granted and a.application_name = '$app'")
}

lock_release() {
    pg_psql postgres "select pg_terminate_backend(pid) from pg_stat_activity
                      where application_name = '$1'" >/dev/null
    wait_for "select count(*) from pg_stat_activity where application_name = '$1'" 0 ||
        fail "lock_release: the session $1 did not go away"
    pf_bg_reap "${HOLDER_PSQL_PID:-}"
}

# Wait for a background process started by this script and forget it.
pf_bg_reap() {
    local pid=$1 p keep=()
    [ -n "$pid" ] || return 0
    wait "$pid" 2>/dev/null || true
    for p in ${PF_BG_PIDS[@]+"${PF_BG_PIDS[@]}"}; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    PF_BG_PIDS=(${keep[@]+"${keep[@]}"})
}

# ---- a terminal ------------------------------------------------------------------------------

# Drive pgfleet on a pseudo-terminal: once the prompt shows, type ANSWER (or Ctrl-C for INT).
# Prints what the terminal showed; exits with pgfleet's exit status.
PTY_PY='
import os, pty, select, sys, time
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, sent, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        seen += data
    if not sent and b"[y/N] " in seen:
        time.sleep(0.3)
        os.write(fd, b"\x03" if answer == "INT" else answer.encode() + b"\n")
        sent = True
else:
    os.kill(pid, 9)
status = os.waitpid(pid, 0)[1]
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
'
pty_run() { # NAME ANSWER ARGS...
    local name=$1 answer=$2
    shift 2
    RC=0
    "$PF_PY" -c "$PTY_PY" "$answer" "$PGFLEET" "$@" >"$PF_TMP/$name.tty" 2>&1 || RC=$?
}

break_with() {
    pg_psql "$1" "CREATE SCHEMA IF NOT EXISTS drizzle; CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint); CREATE TABLE $2 (broken integer)" >/dev/null
}

log_connections() {
    pg_psql postgres "alter system set log_connections = on" >/dev/null
    pg_psql postgres "select pg_reload_conf()" >/dev/null
    PGLOG=$PF_TMP/cluster/postgres.log
    [ -f "$PGLOG" ] || PGLOG=$PF_TMP/postgres.log
    sleep 0.5
    psql -X -q -d "$1" -c 'select 1' >/dev/null
    grep -q "connection authorized: .*database=$1" "$PGLOG" ||
        fail "log_connections does not work: cannot check that nothing connects"
}

pf_connections() { # how many pgfleet sessions the server has seen so far
    grep -c 'connection authorized: .*application_name=pgfleet' "$PGLOG" || true
}
