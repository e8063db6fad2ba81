# SIGINT and SIGTERM at random moments of a slow apply (12 databases, 4 migrations that each
# create a table and sleep), 8 runs: each signal in `transaction: all` and `per-migration`,
# twice, at delays drawn from a printed seed (PF_FAULT_SEED=N replays them). pgfleet exits 130
# within 5 s with a whole report (interrupted: true); each target is applied, interrupted or
# skipped, its `applied` is what its ledger gained (with `transaction: all` an interrupted
# target gained nothing), a skipped target was not touched. On every database the ledger
# equals the tables, no pgfleet session or advisory lock is left, and a re-run converges
# (apply exit 0, audit exit 0). A run that had ended when its signal came exits 0 with a
# report saying so; at least 4 runs must be interrupted. test_interrupt.sh pins the rest:
# interrupted in a lock wait, a late signal, -j 1.
source "$PF_TESTS_DIR/integration/lib.sh"
source "$PF_TESTS_DIR/integration/fault_lib.sh"
pf_start
fault_seed

MIG=$PF_TMP/drizzle
fault_fixture "$MIG" 4 0.08
fault_dbs sig 12
JOBS=4

# An uninterrupted apply, to know how long one takes here.
fault_inv "$PF_TMP/full.yaml" all "${DBS[@]}"
t0=$(now_ms)
pf full apply -i "$PF_TMP/full.yaml" -j $JOBS
FULL_MS=$(($(now_ms) - t0))
assert_eq 0 "$RC" "an uninterrupted apply exits 0"
echo "observed: an uninterrupted apply of 4 migrations x 12 databases at -j $JOBS takes $FULL_MS ms"

summary=""
run=0
interrupted=0
for case in "INT all" "TERM all" "INT per-migration" "TERM per-migration" \
    "INT all" "TERM all" "INT per-migration" "TERM per-migration"; do
    set -- $case
    SIG=$1 TX=$2
    run=$((run + 1))
    NAME=sig$run-$SIG-$TX
    INV=$PF_TMP/$NAME.yaml
    fault_inv "$INV" "$TX" "${DBS[@]}"
    fault_reset "${DBS[@]}"
    REPORT=$PF_TMP/$NAME.json
    permille=$(fault_rand 100 900)
    delay=$((FULL_MS * permille / 1000))
    fault_launch "$NAME" apply -i "$INV" -j $JOBS -f json -o "$REPORT"
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    t0=$(now_ms)
    if ! kill -s "$SIG" "$FAULT_PID" 2>/dev/null; then
        fault_wait_exit 5
        assert_eq 0 "$RC" "$NAME: finished before SIG$SIG at $delay ms: exit 0"
        summary+="  $NAME: finished before the signal at $delay ms"$'\n'
        continue
    fi
    fault_wait_exit 10
    exit_ms=$(($(now_ms) - t0))
    if [ "$RC" = 0 ] && [ -f "$REPORT" ]; then
        # The run had ended when the signal came: it changes nothing (docs/reliability.md).
        fault_report_check "$NAME" "$REPORT" "$TX" "applied" "${DBS[@]}"
        assert_eq "exit_code=0 interrupted=false unknown=0" "$FAULT_REPORT" \
            "$NAME: the run had ended at SIG$SIG ($delay ms): exit 0, the report says so, all applied"
        summary+="  $NAME: the run had ended when SIG$SIG came at $delay ms (exit 0)"$'\n'
        continue
    fi
    interrupted=$((interrupted + 1))
    assert_eq 130 "$RC" "$NAME: SIG$SIG at $delay ms: exit 130"
    [ "$exit_ms" -lt 5000 ] && pass "$NAME: exited ${exit_ms} ms after SIG$SIG" ||
        fail "$NAME: exited ${exit_ms} ms after SIG$SIG (more than 5 s)"
    if [ ! -f "$REPORT" ]; then
        fail "$NAME: no report ($(head -c 400 "$PF_TMP/$NAME.err"))"
        continue
    fi
    fault_report_check "$NAME" "$REPORT" "$TX" "applied interrupted skipped" "${DBS[@]}"
    assert_eq "exit_code=130 interrupted=true unknown=0" "$FAULT_REPORT" \
        "$NAME: the report says interrupted, exit_code 130; every ledger was read back"
    fault_quiet "$NAME"
    fault_check "$NAME" "$TX" "${DBS[@]}"
    summary+="  $NAME: SIG$SIG at $delay ms ($permille/1000), exit $RC after $exit_ms ms;"
    summary+=" outcomes $FAULT_OUTCOMES; databases [$FAULT_HIST]"$'\n'
    fault_converge "$NAME" "$INV" "${DBS[@]}"
done
echo "observed: $run runs:"$'\n'"${summary%$'\n'}"
# Signals come at 10% to 90% of an uninterrupted apply: most runs must have been interrupted,
# or the test did not test interruption.
[ "$interrupted" -ge 4 ] && pass "$interrupted of $run runs were interrupted (at least 4)" ||
    fail "only $interrupted of $run runs were interrupted (at least 4 expected)"

pf_done
