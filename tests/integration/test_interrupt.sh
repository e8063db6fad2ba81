# SIGINT (and SIGTERM) during apply: pgfleet cancels the running statements, exits 130 within
# a few seconds, the report says interrupted, nothing was committed, and no pgfleet session or
# advisory lock is left on the server. A signal before the run starts, or after it has ended,
# still leaves a whole report that agrees with the exit code.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb int1 int2 int3 term1 term2 term3

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_first $((W + 1000)) 'CREATE TABLE "first" ("id" integer);'
mig_add "$MIG" 0001_slow $((W + 2000)) \
    'CREATE TABLE "slow" ("id" integer);' \
    'SELECT pg_sleep(20);' \
    'CREATE TABLE "after_sleep" ("id" integer);'
mig_add "$MIG" 0002_last $((W + 3000)) 'CREATE TABLE "last" ("id" integer);'

# pgfleet is started through python, which resets SIGINT to its default disposition (as from
# a terminal: a non-interactive shell starts background commands with SIGINT ignored) and
# execs it, so that $! is pgfleet's pid.
DEFAULT_SIGINT='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'

interrupt_run() { # NAME SIGNAL DB...: apply on DB... -j $JOBS, send SIGNAL once $JOBS sleeps run
    local name=$1 sig=$2
    shift 2
    local inv=$PF_TMP/$name.yaml
    inv_write "$inv" "$MIG" "application_name: pgfleet-$name" "$@"
    "$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" apply -i "$inv" -j "$JOBS" -f json -o "$PF_TMP/$name.json" \
        >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" &
    local pid=$!
    PF_BG_PIDS+=("$pid")
    if ! wait_for "select count(*) from pg_stat_activity where application_name = 'pgfleet-$name'
                   and wait_event = 'PgSleep'" "$JOBS" 15; then
        fail "$name: the $JOBS sleeps never showed up in pg_stat_activity"
    fi
    local t0
    t0=$(date +%s%N)
    kill -s "$sig" "$pid"
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
    RC=0
    if kill -0 "$pid" 2>/dev/null; then
        fail "$name: pgfleet still runs 10 s after SIG$sig"
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" || RC=$?
    pf_bg_reap "$pid"
    echo "observed: $name: exit $RC ${ELAPSED_MS} ms after SIG$sig; stderr: $(tr '\n' ' ' <"$PF_TMP/$name.err")"
}

check_after() { # NAME SIGNAL DB...
    local name=$1 sig=$2 db
    shift 2
    assert_eq 130 "$RC" "$name: pgfleet exits 130 after SIG$sig"
    [ "$ELAPSED_MS" -lt 5000 ] && pass "$name: it exited within 5 s (${ELAPSED_MS} ms)" ||
        fail "$name: it took ${ELAPSED_MS} ms to exit after SIG$sig"
    local R=$PF_TMP/$name.json
    [ -f "$R" ] || fail "$name: no report was written to -o $R"
    assert_eq "true 130" "$(jget "$R" 'show(d["interrupted"]) + " " + str(d["exit_code"])')" \
        "$name: report has interrupted:true, exit_code 130"
    local want=""
    for db in "$@"; do want+="$db uninitialized interrupted []"$'\n'; done
    assert_lines "${want%$'\n'}" "$(jtargets "$R" 't["status"] + " " + t["outcome"] + " " + json.dumps(t["applied"])')" \
        "$name: every target: outcome interrupted, nothing applied"
    assert_eq "$#" "$(jget "$R" 'd["outcomes"]["interrupted"]')" "$name: outcomes.interrupted = $#"
    for db in "$@"; do
        # The ledger is created before the migrations' transaction, as drizzle creates it.
        assert_lines "tables: " "$(db_state "$db")" "$name: $db has an empty ledger and no table"
    done
    wait_for "select count(*) from pg_stat_activity where application_name = 'pgfleet-$name'" 0 5 &&
        pass "$name: no pgfleet session remains" ||
        fail "$name: pgfleet sessions remain: $(pg_psql postgres "select pid, state, left(query, 40) from pg_stat_activity where application_name = 'pgfleet-$name'")"
    assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
        "$name: no advisory lock remains"
    assert_eq 0 "$(pg_psql postgres "select count(*) from pg_prepared_xacts")" "$name: no prepared transaction"
}

JOBS=3
interrupt_run sigint INT int1 int2 int3
check_after sigint INT int1 int2 int3

interrupt_run sigterm TERM term1 term2 term3
check_after sigterm TERM term1 term2 term3

# -j 1: the first target is interrupted, the two others never start (outcome skipped).
pg_createdb one1 one2 one3
JOBS=1
interrupt_run one INT one1 one2 one3
assert_eq 130 "$RC" "-j 1: pgfleet exits 130 after SIGINT"
assert_lines "one1 true uninitialized interrupted
one2 false null skipped
one3 false null skipped" "$(jtargets "$PF_TMP/one.json" 'show(t["started"]) + " " + show(t["status"]) + " " + t["outcome"]')" \
    "-j 1: the running target interrupted, the others skipped (not started)"
assert_eq "1 2 2" "$(jget "$PF_TMP/one.json" 'str(d["outcomes"]["interrupted"]) + " " + str(d["outcomes"]["skipped"]) + " " + str(d["counts"]["not_started"])')" \
    "-j 1: outcomes.interrupted 1, outcomes.skipped 2, counts.not_started 2"
assert_lines "tables: " "$(db_state one1)" "-j 1: one1 (interrupted) has an empty ledger and no table"
for db in one2 one3; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "-j 1: $db untouched"
done
assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "-j 1: no advisory lock remains"

# Interrupted while waiting for the advisory lock (lock_wait 30s): the wait is cancelled too.
pg_createdb waitdb
inv_write "$PF_TMP/wait.yaml" "$MIG" "lock_wait: 30s, application_name: pgfleet-wait" waitdb
pf wait_inv inventory -i "$PF_TMP/wait.yaml" -f json
lock_hold waitdb "$(jt "$PF_TMP/wait_inv.out" waitdb 't["lock_key"]')" interrupt-holder
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" apply -i "$PF_TMP/wait.yaml" -f json -o "$PF_TMP/wait.json" \
    >"$PF_TMP/wait.out" 2>"$PF_TMP/wait.err" &
WPID=$!
PF_BG_PIDS+=("$WPID")
wait_for "select count(*) from pg_stat_activity where application_name = 'pgfleet-wait'
          and wait_event_type = 'Lock' and wait_event = 'advisory'" 1 10 ||
    fail "lock wait: pgfleet never waited for the advisory lock"
T0=$(date +%s%N)
kill -INT "$WPID"
for i in $(seq 1 100); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
RC=0
if kill -0 "$WPID" 2>/dev/null; then
    fail "lock wait: pgfleet still runs 10 s after SIGINT"
    kill -9 "$WPID" 2>/dev/null || true
fi
wait "$WPID" || RC=$?
pf_bg_reap "$WPID"
echo "observed: lock wait: exit $RC $((($(date +%s%N) - T0) / 1000000)) ms after SIGINT; stderr: $(tr '\n' ' ' <"$PF_TMP/wait.err")"
assert_eq 130 "$RC" "lock wait: exit 130 after SIGINT"
assert_eq "true interrupted" "$(jget "$PF_TMP/wait.json" 'show(d["interrupted"]) + " " + d["targets"][0]["outcome"]')" \
    "lock wait: report interrupted:true, outcome interrupted"
lock_release interrupt-holder
assert_lines "no ledger
tables: " "$(db_state waitdb)" "lock wait: nothing applied"

# A signal before the run has started (here: while a plugin's run_start hook, the exec plugin
# running a command that takes its time, holds the run back) is held: the run starts
# interrupted, every target skipped and untouched, and the report is written.
pg_createdb early1 early2
inv_write "$PF_TMP/early.yaml" "$MIG" "" early1 early2
mkdir -p "$PF_TMP/slowhook"
cat >>"$PF_TMP/early.yaml" <<EOF
plugins:
  - path: "$PF_PLUGINS_DIR/exec.so"
    config: {events: [run_start], timeout: 20s, command: 'touch "$PF_TMP/slowhook/started"; sleep 3'}
EOF
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" apply -i "$PF_TMP/early.yaml" \
    -f json -o "$PF_TMP/early.json" >"$PF_TMP/early.out" 2>"$PF_TMP/early.err" &
EPID=$!
PF_BG_PIDS+=("$EPID")
for i in $(seq 1 300); do [ -e "$PF_TMP/slowhook/started" ] && break; sleep 0.1; done
[ -e "$PF_TMP/slowhook/started" ] || fail "early signal: pgfleet never ran the run_start hook"
kill -INT "$EPID"
RC=0
wait "$EPID" || RC=$?
pf_bg_reap "$EPID"
echo "observed: early signal: exit $RC; stderr: $(tr '\n' ' ' <"$PF_TMP/early.err" | head -c 400); outcomes: $(jget "$PF_TMP/early.json" '" ".join(t["name"] + "=" + t["outcome"] for t in d["targets"])' 2>&1)"
assert_eq 130 "$RC" "early signal: exit 130"
assert_contains "$(cat "$PF_TMP/early.err")" "SIGINT received before the run started: starting no target" \
    "early signal: stderr says no target was started"
assert_eq "true 130 2" "$(jget "$PF_TMP/early.json" 'show(d["interrupted"]) + " " + str(d["exit_code"]) + " " + str(d["outcomes"]["skipped"])')" \
    "early signal: the report says interrupted, exit_code 130, both targets skipped"
for db in early1 early2; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "early signal: $db untouched"
done

# The same for mark-applied --verify, whose run first builds the expected schema on the
# scratch server: with the run interrupted before it starts, nothing is built (no scratch
# database made) and every target is skipped, with the report.
{
    cat "$PF_TMP/early.yaml"
    echo "drift: {scratch_dsn: \"$(pf_dsn postgres)\"}"
} >"$PF_TMP/early_verify.yaml"
rm -f "$PF_TMP/slowhook/started"
SCRATCH_BEFORE=$(pg_psql postgres "select count(*) from pg_database")
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" mark-applied --through 0000_first --verify --yes \
    -i "$PF_TMP/early_verify.yaml" -f json -o "$PF_TMP/early_verify.json" >"$PF_TMP/early_verify.out" 2>"$PF_TMP/early_verify.err" &
EPID=$!
PF_BG_PIDS+=("$EPID")
for i in $(seq 1 300); do [ -e "$PF_TMP/slowhook/started" ] && break; sleep 0.1; done
kill -INT "$EPID"
RC=0
wait "$EPID" || RC=$?
pf_bg_reap "$EPID"
echo "observed: early signal, mark-applied --verify: exit $RC; stderr: $(tr '\n' ' ' <"$PF_TMP/early_verify.err" | head -c 400)"
assert_eq "130 true 2" "$RC $(jget "$PF_TMP/early_verify.json" 'show(d["interrupted"]) + " " + str(d["outcomes"]["skipped"])')" \
    "early signal, mark-applied --verify: exit 130, the report says interrupted, both targets skipped"
assert_eq "$SCRATCH_BEFORE" "$(pg_psql postgres "select count(*) from pg_database")" \
    "early signal, mark-applied --verify: no scratch database was made"
for db in early1 early2; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "early signal, mark-applied --verify: $db untouched"
done

# A signal after the run has ended changes nothing: the report is written whole, and pgfleet
# exits as the report says. 400 tenant targets make a JSON report larger than a pipe holds;
# nobody reads the pipe until pgfleet is seen blocked writing it, and SIGINT is sent then.
pg_createdb late
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "targets:"
    for i in $(seq 1 400); do
        printf '  - {name: late_%d, dsn: "%s", schema: late_%d}\n' "$i" "$(pf_dsn late)" "$i"
    done
} >"$PF_TMP/late.yaml"
mkfifo "$PF_TMP/late.fifo"
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" audit -i "$PF_TMP/late.yaml" -j 4 -f json \
    >"$PF_TMP/late.fifo" 2>"$PF_TMP/late.err" &
LPID=$!
PF_BG_PIDS+=("$LPID")
exec 7<"$PF_TMP/late.fifo"
blocked=""
for i in $(seq 1 600); do
    case "$(cat "/proc/$LPID/wchan" 2>/dev/null)" in *pipe_write) true ;; *) false ;; esac && { blocked=yes; break; }
    kill -0 "$LPID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$blocked" ] && pass "late signal: pgfleet blocks writing its report to the pipe" ||
    fail "late signal: pgfleet never blocked writing its report (wchan: $(cat "/proc/$LPID/wchan" 2>/dev/null))"
kill -INT "$LPID"
sleep 0.5
kill -0 "$LPID" 2>/dev/null && pass "late signal: SIGINT after the run did not end pgfleet" ||
    fail "late signal: SIGINT after the run ended pgfleet before its report was written"
cat <&7 >"$PF_TMP/late.json"
exec 7<&-
RC=0
wait "$LPID" || RC=$?
pf_bg_reap "$LPID"
echo "observed: late signal: exit $RC; stderr: $(tr '\n' ' ' <"$PF_TMP/late.err" | head -c 600)"
assert_eq "400 false $RC" "$(jget "$PF_TMP/late.json" 'str(len(d["targets"])) + " " + show(d["interrupted"]) + " " + str(d["exit_code"])')" \
    "late signal: the whole report (400 targets, not interrupted), its exit_code is pgfleet's exit ($RC)"
grep -q "a signal arrived after the run had ended" "$PF_TMP/late.err" &&
    pass "late signal: stderr says the signal came after the run had ended" ||
    fail "late signal: stderr does not say so: $(head -c 400 "$PF_TMP/late.err")"

# Afterwards the fleet is still fine: a plain apply (with the sleep) completes.
mig_add "$MIG" 0001_slow $((W + 2000)) 'CREATE TABLE "slow" ("id" integer);' 'SELECT pg_sleep(0.1);'
inv_write "$PF_TMP/after.yaml" "$MIG" "" int1 int2 int3
pf after apply -i "$PF_TMP/after.yaml" -j 3
assert_eq 0 "$RC" "after the interrupt, apply completes"

pf_done
