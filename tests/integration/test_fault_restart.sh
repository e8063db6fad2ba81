# The server restarted in the middle of an apply (12 databases, 4 migrations that each create a
# table and sleep): `pg_ctl restart -m fast` (sessions terminated, clean shutdown) and
# `-m immediate` (crash and recovery), each in `transaction: all` and `per-migration`, at a
# moment drawn from a printed seed. pgfleet ends with a report, exit 2: every target applied
# or failed, each failure with the server's or libpq's reason; the report's `applied` is what
# each ledger gained, read back from the restarted server (or ledger_unknown). On every
# database the ledger equals the tables, no pgfleet session or advisory lock is left, and a
# re-run converges (apply exit 0, audit exit 0).
source "$PF_TESTS_DIR/integration/lib.sh"
source "$PF_TESTS_DIR/integration/fault_lib.sh"
pf_start
fault_seed

# A commit that pgfleet saw must survive the crash of -m immediate: the test cluster runs with
# synchronous_commit off, which would lose the last ones (fsync stays off: the machine does not
# crash, only the server).
pg_psql postgres "ALTER SYSTEM SET synchronous_commit = on" >/dev/null
pg_psql postgres "select pg_reload_conf()" >/dev/null

MIG=$PF_TMP/drizzle
# Long enough that a restart drawn within its first half lands in it on a slow, loaded machine
# (the restart comes up to 0.5 s after two sleeps showed, and pg_ctl takes its own time).
fault_fixture "$MIG" 4 0.25
fault_dbs rs 12
JOBS=4
PGDATA_DIR=$PF_TMP/cluster/pgdata

run=0
summary=""
for case in "fast all" "immediate per-migration" "fast per-migration" "immediate all"; do
    set -- $case
    MODE=$1 TX=$2
    run=$((run + 1))
    NAME=restart-$MODE-$TX
    INV=$PF_TMP/$NAME.yaml
    inv_write "$INV" "$MIG" "application_name: pgfleet-fault, transaction: $TX, connect_timeout: 5s" "${DBS[@]}"
    fault_reset "${DBS[@]}"
    REPORT=$PF_TMP/$NAME.json
    fault_launch "$NAME" apply -i "$INV" -j $JOBS -f json -o "$REPORT"
    # Once the first targets are in their migrations, a little later (seeded).
    wait_for "select count(*) >= 2 from pg_stat_activity where application_name = 'pgfleet-fault'
              and wait_event = 'PgSleep'" t 15 || fail "$NAME: the apply never started sleeping"
    extra=$(fault_rand 0 500)
    sleep "$(printf '0.%03d' "$extra")"
    t0=$(now_ms)
    pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PF_TMP/cluster/postgres.log" -m "$MODE" \
        -w -t 60 restart >"$PF_TMP/$NAME.pg_ctl" 2>&1 ||
        fail "$NAME: pg_ctl restart failed: $(cat "$PF_TMP/$NAME.pg_ctl")"
    restart_ms=$(($(now_ms) - t0))
    fault_wait_exit 60
    assert_eq 2 "$RC" "$NAME: pgfleet ends with exit 2"
    if [ ! -f "$REPORT" ]; then
        fail "$NAME: no report ($(head -c 400 "$PF_TMP/$NAME.err"))"
        continue
    fi
    fault_report_check "$NAME" "$REPORT" "$TX" "applied failed" "${DBS[@]}"
    nfailed=$(jget "$REPORT" 'd["outcomes"]["failed"]')
    [ "$nfailed" -ge 1 ] && pass "$NAME: the restart failed $nfailed targets" ||
        fail "$NAME: no target failed: the restart missed the apply ($FAULT_OUTCOMES)"
    noerr=$(jtargets "$REPORT" 'show(t["outcome"] == "failed" and not (t.get("error") or {}).get("message"))' |
        grep ' true$' || true)
    assert_eq "" "$noerr" "$NAME: every failed target says why"
    errors=$(jtargets "$REPORT" '(t.get("error") or {}).get("message") or ""' | cut -d' ' -f2- |
        sed 's/[0-9][0-9]* ms/N ms/g; s/[0-9][0-9]* attempts/N attempts/g' | grep -v '^$' | sort | uniq -c |
        sed 's/^ */    /')
    fault_quiet "$NAME"
    fault_check "$NAME" "$TX" "${DBS[@]}"
    summary+="  $NAME: restart $extra ms after 2 sleeps showed, took $restart_ms ms;"
    summary+=" pgfleet exit $RC after $FAULT_EXIT_MS ms; outcomes $FAULT_OUTCOMES; $FAULT_REPORT;"
    summary+=" databases [$FAULT_HIST]; errors:"$'\n'"$errors"$'\n'
    fault_converge "$NAME" "$INV" "${DBS[@]}"
done
echo "observed: $run restarts:"$'\n'"${summary%$'\n'}"

pf_done
