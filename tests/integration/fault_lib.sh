# Helpers for the fault-injection tests (tests/integration/test_fault_*.sh). Source it after
# lib.sh and pf_start. Every check reads the databases, never pgfleet's report alone.
#
#   fault_seed                      seed $RANDOM from PF_FAULT_SEED (else the clock) and print
#                                   the seed, so that a failing run can be replayed
#   fault_fixture DIR N SLEEP       N migrations m00..m(N-1): each creates the table of its name,
#                                   then sleeps SLEEP s (pg_sleep), so an apply takes a while
#   fault_dbs PREFIX N              DBS=(PREFIX01 ... PREFIXN), created
#   fault_inv FILE TRANSACTION DB...  inventory over DB..., application_name pgfleet-fault
#   fault_reset DB...               drop the ledger schema and every table (one psql)
#   fault_state DB...               "DB|tables|ledger|table" per database: the public tables
#                                   sorted by name, the ledger rows in id order as table names
#                                   (a row whose created_at and hash match no migration:
#                                   ?created_at), and whether the ledger table exists (t or f)
#   fault_check LABEL TX DB...      the end state: tables == ledger (so each applied migration
#                                   is there once, with its objects, and nothing applied is
#                                   missing from the ledger), the ledger a prefix of the
#                                   migrations, and with TX=all nothing or everything;
#                                   sets FAULT_HIST ("k applied: n databases" ...)
#   fault_quiet LABEL [SECS]        wait (bounded) until no pgfleet session and no advisory lock
#                                   is left on the server; sets FAULT_QUIET_MS
#   fault_converge LABEL INV DB...  apply -j $JOBS (exit 0), audit (exit 0), every migration
#                                   everywhere
#   fault_report_check LABEL REPORT TX OUTCOMES DB...  the JSON report of a run on empty
#                                   databases against them: every outcome one of OUTCOMES
#                                   ("applied failed"), `applied` equals the ledger unless
#                                   ledger_unknown, a skipped target untouched (no ledger
#                                   table), with TX=all an interrupted target with nothing
#                                   applied; sets FAULT_REPORT ("exit_code=N
#                                   interrupted=B unknown=N") and FAULT_OUTCOMES
#   fault_launch NAME ARGS...       pgfleet ARGS in the background, SIGINT at its default
#                                   disposition (as from a terminal); FAULT_PID, FAULT_T0
#   fault_wait_exit SECS            wait for FAULT_PID to end (bounded; kill -9 after);
#                                   RC = its exit status, FAULT_EXIT_MS = ms since FAULT_T0

now_ms() { echo $(($(date +%s%N) / 1000000)); }

fault_seed() {
    FAULT_SEED=${PF_FAULT_SEED:-$(($(date +%s%N) / 1000 % 1000000))}
    RANDOM=$FAULT_SEED
    echo "seed: $FAULT_SEED (replay with PF_FAULT_SEED=$FAULT_SEED)"
}

# A random integer in [LO, HI), from the seeded sequence.
fault_rand() { echo $(($1 + RANDOM % ($2 - $1))); }

FAULT_TAGS=()
FAULT_VALUES=""
fault_fixture() {
    local dir=$1 n=$2 sleep=$3 i tag when
    FAULT_TAGS=()
    FAULT_VALUES=""
    for ((i = 0; i < n; i++)); do
        tag=$(printf 'm%02d' "$i")
        when=$((PF_WHEN0 + (i + 1) * 1000))
        mig_add "$dir" "${tag}" "$when" "CREATE TABLE \"$tag\" (\"id\" integer);" \
            "SELECT pg_sleep($sleep);"
        FAULT_TAGS+=("$tag")
        FAULT_VALUES+="${FAULT_VALUES:+, }($when::bigint, '$(file_hash "$dir/$tag.sql")', '$tag')"
    done
}

fault_dbs() {
    local prefix=$1 n=$2 i
    DBS=()
    for ((i = 1; i <= n; i++)); do DBS+=("$(printf '%s%02d' "$prefix" "$i")"); done
    pg_createdb "${DBS[@]}"
}

fault_inv() {
    local file=$1 tx=$2
    shift 2
    inv_write "$file" "$MIG" "application_name: pgfleet-fault, transaction: $tx, lock_wait: 10s" "$@"
}

fault_reset() {
    local db sql=""
    for db in "$@"; do
        sql+="\\c $db
DROP SCHEMA IF EXISTS drizzle CASCADE;
DROP SCHEMA public CASCADE;
CREATE SCHEMA public;
"
    done
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -f - <<<"$sql" >/dev/null 2>&1 ||
        fail "fault_reset: could not reset $*"
}

fault_state() {
    local db sql="" tables
    for db in "$@"; do
        tables="coalesce((select string_agg(tablename, ' ' order by tablename) from pg_tables
                          where schemaname = 'public'), '')"
        sql+="\\c $db
select to_regclass('drizzle.__drizzle_migrations') is not null as has_ledger \\gset
\\if :has_ledger
select '$db|' || $tables || '|' || coalesce((select string_agg(coalesce(f.tag, '?' || l.created_at),
       ' ' order by l.id) from drizzle.__drizzle_migrations l left join (values $FAULT_VALUES)
       f (created_at, hash, tag) on f.created_at = l.created_at and f.hash = l.hash), '') || '|t';
\\else
select '$db|' || $tables || '||f';
\\endif
"
    done
    psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -f - <<<"$sql"
}

FAULT_HIST=""
fault_check() {
    local label=$1 tx=$2 st db tables ledger has k bad="" n=0 rows
    shift 2
    local -A hist=()
    st=$(fault_state "$@") || {
        fail "$label: the databases could not be read"
        return 0
    }
    while IFS='|' read -r db tables ledger has; do
        n=$((n + 1))
        [ "$tables" = "$ledger" ] || bad+=" $db(tables: [$tables] ledger: [$ledger])"
        read -ra rows <<<"$ledger"
        k=${#rows[@]}
        [ "$ledger" = "${FAULT_TAGS[*]:0:k}" ] || bad+=" $db(ledger [$ledger] is not a prefix of the migrations)"
        [ "$tx" != all ] || [ "$k" = 0 ] || [ "$k" = "${#FAULT_TAGS[@]}" ] ||
            bad+=" $db(transaction all, yet $k of ${#FAULT_TAGS[@]} migrations applied)"
        hist[$k]=$((${hist[$k]:-0} + 1))
    done <<<"$st"
    [ "$n" = "$#" ] || bad+=" (read $n databases of $#)"
    FAULT_HIST=""
    for k in $(printf '%s\n' "${!hist[@]}" | sort -n); do FAULT_HIST+="${FAULT_HIST:+, }$k applied: ${hist[$k]}"; done
    assert_eq "" "$bad" "$label: every database's ledger equals its tables [$FAULT_HIST]"
}

FAULT_QUIET_MS=0
fault_quiet() {
    local label=$1 secs=${2:-10} t0 i left
    t0=$(now_ms)
    for ((i = 0; i < secs * 10; i++)); do
        left=$(pg_psql postgres "select (select count(*) from pg_stat_activity
                                          where application_name like 'pgfleet%')
                                      + (select count(*) from pg_locks where locktype = 'advisory')")
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    FAULT_QUIET_MS=$(($(now_ms) - t0))
    if [ "$left" = 0 ]; then
        pass "$label: no pgfleet session and no advisory lock left (after ${FAULT_QUIET_MS} ms)"
    else
        fail "$label: ${secs} s later, still: $(pg_psql postgres "select string_agg(a.pid || ' ' ||
              a.application_name || ' ' || a.state || ' ' || left(a.query, 40) || coalesce(' lock ' ||
              l.objid, ''), '; ') from pg_stat_activity a left join pg_locks l on l.pid = a.pid and
              l.locktype = 'advisory' where a.application_name like 'pgfleet%' or l.pid is not null")"
    fi
}

fault_converge() {
    local label=$1 inv=$2 db want=""
    shift 2
    pf "$label-rerun" apply -i "$inv" -j "${JOBS:-4}" -f json -o "$PF_TMP/$label-rerun.json"
    assert_eq 0 "$RC" "$label: a re-run converges (exit 0)"
    [ "$RC" = 0 ] || cat "$PF_TMP/$label-rerun.err" >&2
    pf "$label-audit" audit -i "$inv"
    assert_eq 0 "$RC" "$label: audit after the re-run exits 0"
    for db in "$@"; do want+="$db|${FAULT_TAGS[*]}|${FAULT_TAGS[*]}|t"$'\n'; done
    assert_lines "${want%$'\n'}" "$(fault_state "$@")" \
        "$label: after the re-run every database has every migration once, with its table"
}

FAULT_REPORT_PY='
import json, sys
path, tx, allowed = sys.argv[1], sys.argv[2], sys.argv[3].split()
d = json.load(open(path))
state = {}
for line in sys.stdin.read().splitlines():
    db, tables, ledger, has = line.split("|")
    state[db] = (tables.split(), ledger.split(), has == "t")
bad = []
for t in d["targets"]:
    name, o = t["name"], t["outcome"]
    tables, ledger, has = state.get(name, (None, None, None))
    if o not in allowed:
        bad.append("%s: outcome %s" % (name, o))
    if not t.get("ledger_unknown") and t["applied"] != ledger:
        bad.append("%s: report applied %s, ledger %s" % (name, t["applied"], ledger))
    if o == "skipped" and (t["started"] or has or tables):
        bad.append("%s: skipped, yet started %s, ledger table %s, tables %s" % (name, t["started"], has, tables))
    if tx == "all" and o == "interrupted" and t["applied"]:
        bad.append("%s: %s with transaction all, yet applied %s" % (name, o, t["applied"]))
print("; ".join(bad) or "ok")
print("exit_code=%s interrupted=%s unknown=%d" % (d.get("exit_code"), str(d.get("interrupted")).lower(),
      sum(1 for t in d["targets"] if t.get("ledger_unknown"))))
print(json.dumps({k: v for k, v in d["outcomes"].items() if v}))
'
FAULT_REPORT=""
FAULT_OUTCOMES=""
fault_report_check() {
    local label=$1 report=$2 tx=$3 allowed=$4 out lines
    shift 4
    out=$(fault_state "$@" | "$PF_PY" -c "$FAULT_REPORT_PY" "$report" "$tx" "$allowed") ||
        out="the report could not be read"
    mapfile -t lines <<<"$out"
    FAULT_REPORT=${lines[1]:-}
    FAULT_OUTCOMES=${lines[2]:-}
    assert_eq ok "${lines[0]}" \
        "$label: outcomes in [$allowed]; applied = what each ledger gained; skipped untouched [$FAULT_REPORT]"
}

# pgfleet is started through python, which resets SIGINT to its default disposition (a
# non-interactive shell starts background commands with SIGINT ignored) and execs it, so that
# $! is pgfleet's pid.
FAULT_SIGDFL='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'
fault_launch() {
    local name=$1
    shift
    FAULT_T0=$(now_ms)
    "$PF_PY" -c "$FAULT_SIGDFL" "$PGFLEET" "$@" >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" &
    FAULT_PID=$!
    PF_BG_PIDS+=("$FAULT_PID")
}

fault_wait_exit() {
    local secs=$1 i stuck=0
    # The shell's own notice of a job killed by a signal ("Killed") is not wanted on stderr: it
    # comes after any later command, so stderr is closed until the job is reaped.
    exec 3>&2 2>/dev/null
    for ((i = 0; i < secs * 20; i++)); do
        kill -0 "$FAULT_PID" || break
        sleep 0.05
    done
    if kill -0 "$FAULT_PID"; then
        stuck=1
        kill -9 "$FAULT_PID" || true
    fi
    RC=0
    wait "$FAULT_PID" || RC=$?
    exec 2>&3 3>&-
    FAULT_EXIT_MS=$(($(now_ms) - FAULT_T0))
    pf_bg_reap "$FAULT_PID"
    [ "$stuck" = 0 ] || fail "pgfleet (pid $FAULT_PID) still ran after $secs s: killed"
}
