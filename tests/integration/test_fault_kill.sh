# kill -9 of pgfleet at random moments of a slow apply (20 databases at -j 10, 4 migrations
# that each create a table and sleep 0.3 s), 8 kills in `transaction: all` and 8 in
# `transaction: per-migration`, at delays drawn from a printed seed (PF_FAULT_SEED=N replays
# them). After every kill, on every database: the ledger equals the tables (each migration
# whose table exists has its ledger row and the other way round, none twice, in order; with
# `transaction: all`, all of them or none), and once the server has noticed, no pgfleet
# session and no advisory lock is left. Every second kill falls on what the first left; then a
# re-run converges (apply exit 0, audit exit 0, every migration once everywhere).
#
# Then a migration that ends drizzle's transaction (a chunk `COMMIT;`, then CREATE INDEX
# CONCURRENTLY) killed while its index is being built: what ran before the COMMIT stays
# committed (the earlier migration with its ledger row, the rows inserted), the escaped
# migration has no ledger row, the index is left invalid; a re-run fails on the statement
# that already ran, as drizzle-orm's migrator would, until the migration is finished by hand
# and recorded with mark-applied; a migration written to be re-run converges by itself.
source "$PF_TESTS_DIR/integration/lib.sh"
source "$PF_TESTS_DIR/integration/fault_lib.sh"
pf_start
fault_seed

MIG=$PF_TMP/drizzle
# Each database's migrations take 1.2 s, longer than the 1 s after which the server first checks
# that its client is still there (client_connection_check_interval, set by pgfleet): a kill
# then stops a batch part way (a shorter batch runs to its end after the kill), and with
# `transaction: per-migration` the migrations committed before the check stay.
fault_fixture "$MIG" 4 0.3
fault_dbs kill 20
JOBS=10

# An uninterrupted apply, to know how long one takes here.
fault_inv "$PF_TMP/full.yaml" all "${DBS[@]}"
t0=$(now_ms)
pf full apply -i "$PF_TMP/full.yaml" -j $JOBS
FULL_MS=$(($(now_ms) - t0))
assert_eq 0 "$RC" "an uninterrupted apply exits 0"
echo "observed: an uninterrupted apply of 4 migrations x 20 databases at -j $JOBS takes $FULL_MS ms"
fault_check "uninterrupted" all "${DBS[@]}"
fault_quiet "uninterrupted"

KILLS=8
for TX in all per-migration; do
    INV=$PF_TMP/kill-$TX.yaml
    fault_inv "$INV" "$TX" "${DBS[@]}"
    outcomes=""
    for ((k = 1; k <= KILLS; k++)); do
        if ((k % 2 == 1)); then
            fault_reset "${DBS[@]}"
        fi
        permille=$(fault_rand 20 900)
        delay=$((FULL_MS * permille / 1000))
        REPORT=$PF_TMP/kill-$TX-$k.json
        fault_launch "kill-$TX-$k" apply -i "$INV" -j $JOBS -f json -o "$REPORT"
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -9 "$FAULT_PID" 2>/dev/null || true
        fault_wait_exit 5
        case $RC in
        137) how="killed" ;;
        0) how="had already finished" ;;
        *)
            how="exit $RC"
            fail "$TX kill $k: exit $RC, expected 137 (killed) or 0 (finished before the kill)"
            ;;
        esac
        # The report is written atomically: a kill leaves none or a whole one.
        if [ -f "$REPORT" ]; then
            jget "$REPORT" 'd["exit_code"]' | grep -q '^[0-9]' ||
                fail "$TX kill $k: a half-written report: $(head -c 200 "$REPORT")"
        fi
        fault_quiet "$TX kill $k"
        fault_check "$TX kill $k (at $delay ms, $permille/1000, $how)" "$TX" "${DBS[@]}"
        outcomes+="  kill $k at ${delay} ms ($how): [$FAULT_HIST], server let go after ${FAULT_QUIET_MS} ms"$'\n'
        if ((k % 2 == 0)); then
            t0=$(now_ms)
            fault_converge "$TX-kill$k" "$INV" "${DBS[@]}"
            outcomes+="  re-run: $(jget "$PF_TMP/$TX-kill$k-rerun.json" 'd["outcomes"]'), $(($(now_ms) - t0)) ms"$'\n'
        fi
    done
    echo "observed: $TX: $KILLS kills:"$'\n'"${outcomes%$'\n'}"
done

# --- a migration that ends drizzle's transaction, killed in its CREATE INDEX CONCURRENTLY ---------
W=$PF_WHEN0
ESC=$PF_TMP/escape
mig_add "$ESC" 0000_base $((W + 1000)) 'CREATE TABLE "base" ("id" integer);'
mig_add "$ESC" 0001_escape $((W + 2000)) \
    'CREATE TABLE "esc" ("id" integer PRIMARY KEY, "v" integer);' \
    'INSERT INTO "esc" SELECT g, g FROM generate_series(1, 1000) g;' \
    'COMMIT;' \
    'CREATE INDEX CONCURRENTLY "esc_v_idx" ON "esc" ("v");' \
    'CREATE TABLE "esc_after" ("id" integer);'
mig_add "$ESC" 0002_later $((W + 3000)) 'CREATE TABLE "later" ("id" integer);'
# The same migration written so that it can run again after a failure or a kill: each statement
# that ran stays correct when it runs a second time, and an index a killed build left invalid is
# dropped first.
REDO=$PF_TMP/rerunnable
mig_add "$REDO" 0000_base $((W + 1000)) 'CREATE TABLE "base" ("id" integer);'
mig_add "$REDO" 0001_escape $((W + 2000)) \
    'CREATE TABLE IF NOT EXISTS "esc" ("id" integer PRIMARY KEY, "v" integer);' \
    'INSERT INTO "esc" SELECT g, g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;' \
    'COMMIT;' \
    'DROP INDEX CONCURRENTLY IF EXISTS "esc_v_idx";' \
    'CREATE INDEX CONCURRENTLY "esc_v_idx" ON "esc" ("v");' \
    'CREATE TABLE IF NOT EXISTS "esc_after" ("id" integer);'
mig_add "$REDO" 0002_later $((W + 3000)) 'CREATE TABLE "later" ("id" integer);'

pg_createdb esc_all esc_per esc_redo
esc_inv() { # FILE DIR then "NAME TRANSACTION"...
    local file=$1 dir=$2 t
    shift 2
    {
        echo "migrations: {dir: \"$dir\"}"
        echo "defaults: {application_name: pgfleet-fault, lock_wait: 10s}"
        echo "targets:"
        for t in "$@"; do
            set -- $t
            echo "  - {name: $1, dsn: \"$(pf_dsn "$1")\", transaction: $2}"
        done
    } >"$file"
}
esc_inv "$PF_TMP/esc.yaml" "$ESC" "esc_all all" "esc_per per-migration"
esc_inv "$PF_TMP/redo.yaml" "$REDO" "esc_redo all"

# CREATE INDEX CONCURRENTLY waits for every transaction of its database holding an older
# snapshot: one open in each database keeps the build waiting, so that the kill lands in it.
snapshot_hold() { # DB
    PGAPPNAME=snapshot-$1 psql -X -q -d "$1" -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
        -c "SELECT txid_current()" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
    PF_BG_PIDS+=("$!")
    wait_for "select count(*) from pg_stat_activity where application_name = 'snapshot-$1'
              and backend_xid is not null and wait_event = 'PgSleep'" 1 10 ||
        fail "snapshot_hold: no transaction open on $1"
}
snapshot_release() {
    pg_psql postgres "select pg_terminate_backend(pid) from pg_stat_activity
                      where application_name like 'snapshot-%'" >/dev/null
    wait_for "select count(*) from pg_stat_activity where application_name like 'snapshot-%'" 0 10 ||
        fail "the snapshot holders did not go away"
}
# The index builds waiting (CIC waits on the older snapshot's virtual transaction id).
cic_waiting() {
    echo "select count(*) from pg_stat_activity where application_name = 'pgfleet-fault'
          and query like '%CREATE INDEX CONCURRENTLY%' and wait_event = 'virtualxid'"
}
# DB -> "tables; ledger tags; esc rows; index valid?"
esc_state() {
    pg_psql "$1" "select coalesce((select string_agg(tablename, ' ' order by tablename) from pg_tables
                     where schemaname = 'public'), '')
                  || '; ledger: ' || coalesce((select string_agg(case created_at
                     when $((W + 1000)) then '0000' when $((W + 2000)) then '0001'
                     when $((W + 3000)) then '0002' else '?' end, ' ' order by id)
                     from drizzle.__drizzle_migrations), '')
                  || '; rows: ' || (select count(*) from esc)
                  || '; index: ' || coalesce((select case when i.indisvalid then 'valid' else 'invalid' end
                     from pg_index i where i.indexrelid = to_regclass('public.esc_v_idx')), 'none')"
}

kill_in_cic() { # NAME INV N: apply, kill -9 once N index builds wait
    local name=$1 inv=$2 n=$3
    fault_launch "$name" apply -i "$inv" -j 2 -f json -o "$PF_TMP/$name.json"
    wait_for "$(cic_waiting)" "$n" 15 ||
        fail "$name: the index builds never waited: $(cat "$PF_TMP/$name.err")"
    kill -9 "$FAULT_PID"
    fault_wait_exit 5
    assert_eq 137 "$RC" "$name: pgfleet killed (exit 137)"
    # The server sees the client gone while the build waits (client_connection_check_interval),
    # cancels it, and the session (with its lock) ends, though the snapshot is still held.
    fault_quiet "$name: with the older snapshot still open"
    snapshot_release
}

snapshot_hold esc_all
snapshot_hold esc_per
kill_in_cic esc "$PF_TMP/esc.yaml" 2
for db in esc_all esc_per; do
    assert_eq "base esc; ledger: 0000; rows: 1000; index: invalid" "$(esc_state "$db")" \
        "escape, $db: 0000 and 0001's part before its COMMIT stayed, no 0001 row, an invalid index"
done

# A re-run runs 0001 again from its first statement, as drizzle-orm would: it fails there
# (the table exists), and changes nothing.
pf esc-rerun apply -i "$PF_TMP/esc.yaml" -f json
assert_eq 2 "$RC" "escape: a re-run exits 2"
R=$PF_TMP/esc-rerun.out
for db in esc_all esc_per; do
    assert_eq "behind failed 0001_escape 1 42P07 []" \
        "$(jt "$R" "$db" '" ".join([t["status"], t["outcome"], t["error"]["migration"],
                                    str(t["error"]["statement"]), t["error"]["sqlstate"],
                                    json.dumps(t["applied"])])')" \
        "escape, $db: the re-run fails on 0001's statement 1 (42P07), applies nothing"
    assert_eq "base esc; ledger: 0000; rows: 1000; index: invalid" "$(esc_state "$db")" \
        "escape, $db: the failed re-run changed nothing"
done
echo "observed: escape re-run: $(jt "$R" esc_all 't["error"]["message"]')"
fault_quiet "escape re-run"

# Finishing by hand what the killed run did not, then recording the migration: apply runs the
# rest and the fleet converges.
for db in esc_all esc_per; do
    pg_psql "$db" 'DROP INDEX CONCURRENTLY "esc_v_idx"' >/dev/null
    pg_psql "$db" 'CREATE INDEX CONCURRENTLY "esc_v_idx" ON "esc" ("v")' >/dev/null
    pg_psql "$db" 'CREATE TABLE "esc_after" ("id" integer)' >/dev/null
done
pf esc-mark mark-applied -i "$PF_TMP/esc.yaml" --migration 0001_escape --yes
assert_eq 0 "$RC" "escape: mark-applied --migration 0001_escape exits 0"
[ "$RC" = 0 ] || cat "$PF_TMP/esc-mark.err" >&2
pf esc-final apply -i "$PF_TMP/esc.yaml"
assert_eq 0 "$RC" "escape: apply after mark-applied exits 0 (0002 runs)"
pf esc-audit audit -i "$PF_TMP/esc.yaml"
assert_eq 0 "$RC" "escape: audit exits 0"
for db in esc_all esc_per; do
    assert_eq "base esc esc_after later; ledger: 0000 0001 0002; rows: 1000; index: valid" \
        "$(esc_state "$db")" "escape, $db: converged: every table, every ledger row once, a valid index"
done

# The re-runnable migration: killed the same way, a plain re-run converges.
snapshot_hold esc_redo
kill_in_cic redo "$PF_TMP/redo.yaml" 1
assert_eq "base esc; ledger: 0000; rows: 1000; index: invalid" "$(esc_state esc_redo)" \
    "re-runnable escape: the same state after the kill"
pf redo-rerun apply -i "$PF_TMP/redo.yaml"
assert_eq 0 "$RC" "re-runnable escape: a re-run exits 0"
[ "$RC" = 0 ] || cat "$PF_TMP/redo-rerun.err" >&2
pf redo-audit audit -i "$PF_TMP/redo.yaml"
assert_eq 0 "$RC" "re-runnable escape: audit exits 0"
assert_eq "base esc esc_after later; ledger: 0000 0001 0002; rows: 1000; index: valid" \
    "$(esc_state esc_redo)" "re-runnable escape: converged, the invalid index rebuilt"
fault_quiet "escape, the end"

pf_done
