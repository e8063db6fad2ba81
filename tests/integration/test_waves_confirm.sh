# Between waves: `confirm: true` asks on the terminal before the next wave. Without a terminal
# apply refuses up front (exit 3, nothing run) unless --yes; on a pseudo-terminal "y" proceeds
# and "n" stops the rollout (later waves skipped, exit 2). SIGINT during a pause, or Ctrl-C at
# the prompt, stops the run at once with the report so far (exit 130).
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
H0="$(file_hash "$MIG/0000_items.sql") $((W + 1000))"

# write_inv NAME CANARY_SETTINGS DB...: the first db is the canary, the others the rest.
write_inv() {
    local name=$1 settings=$2 canary=$3
    shift 3
    inv_write "$PF_TMP/$name.yaml" "$MIG" "application_name: pgfleet-$name" "$canary" "$@"
    printf 'waves:\n  - {name: canary, targets: [%s], %s}\n  - {name: rest, select: all}\n' \
        "$canary" "$settings" >>"$PF_TMP/$name.yaml"
}
untouched() { # MSG DB...
    local msg=$1 db
    shift
    for db in "$@"; do
        assert_lines "no ledger
tables: " "$(db_state "$db")" "$msg: $db untouched"
    done
}

# --- no terminal: refused before anything runs; --yes proceeds -----------------------------------
pg_createdb nt_canary nt_rest1 nt_rest2
write_inv notty "confirm: true" nt_canary nt_rest1 nt_rest2
RC=0
setsid -w "$PGFLEET" apply -i "$PF_TMP/notty.yaml" -f json -o "$PF_TMP/notty.json" </dev/null \
    >"$PF_TMP/notty.out" 2>"$PF_TMP/notty.err" || RC=$?
assert_eq 3 "$RC" "confirm without a terminal: exit 3"
assert_eq "pgfleet: wave canary has confirm: true, but there is no terminal to ask on (no /dev/tty, and stdin is not a terminal); nothing was run; hint: pass --yes to start each next wave without asking" \
    "$(cat "$PF_TMP/notty.err")" "confirm without a terminal: says so, with the --yes hint"
[ -e "$PF_TMP/notty.json" ] && fail "no report is written when nothing ran" || pass "no report written"
untouched "no terminal" nt_canary nt_rest1 nt_rest2

RC=0
setsid -w "$PGFLEET" apply -i "$PF_TMP/notty.yaml" --yes -f json -o "$PF_TMP/yes.json" </dev/null \
    >"$PF_TMP/yes.out" 2>"$PF_TMP/yes.err" || RC=$?
assert_eq 0 "$RC" "--yes without a terminal: exit 0 (stderr: $(cat "$PF_TMP/yes.err"))"
assert_eq "assumed_yes null" "$(jget "$PF_TMP/yes.json" 'd["waves"][0]["confirmed"] + " " + show(d["waves"][1]["confirmed"])')" \
    "--yes: the canary's confirm is recorded as assumed_yes"
for db in nt_canary nt_rest1 nt_rest2; do
    assert_lines "$H0
tables: items" "$(db_state "$db")" "--yes: $db migrated"
done
# --wave canary: no next wave in this run, so nothing to confirm and no terminal needed.
RC=0
setsid -w "$PGFLEET" apply -i "$PF_TMP/notty.yaml" --wave canary </dev/null >/dev/null 2>&1 || RC=$?
assert_eq 0 "$RC" "--wave canary alone needs no confirm"

# --- answered on a pseudo-terminal ---------------------------------------------------------------
pg_createdb y_canary y_rest1 y_rest2
write_inv tty_yes "confirm: true" y_canary y_rest1 y_rest2
pty_run tty_yes y apply -i "$PF_TMP/tty_yes.yaml" -f json -o "$PF_TMP/tty_yes.json"
echo "observed: terminal: $(tr -d '\r' <"$PF_TMP/tty_yes.tty" | tr '\n' '|')"
assert_eq 0 "$RC" "answering y: exit 0"
assert_contains "$(tr -d '\r' <"$PF_TMP/tty_yes.tty")" "pgfleet: wave canary done: 1 target, 0 failures (max_failures 0).
pgfleet: start wave rest (2 targets)? [y/N] " "the prompt says how the wave went and what comes next"
assert_eq "yes applied applied" \
    "$(jget "$PF_TMP/tty_yes.json" 'd["waves"][0]["confirmed"] + " " + " ".join(t["outcome"] for t in d["targets"][1:])')" \
    "answering y: confirmed yes, the next wave applied"

pg_createdb n_canary n_rest1 n_rest2
write_inv tty_no "confirm: true" n_canary n_rest1 n_rest2
pty_run tty_no n apply -i "$PF_TMP/tty_no.yaml" -f json -o "$PF_TMP/tty_no.json"
R=$PF_TMP/tty_no.json
assert_eq 2 "$RC" "answering n: exit 2 (the rest is skipped)"
REASON="the rollout stopped after wave canary: starting wave rest was not confirmed"
assert_eq "no true $REASON|skipped $REASON" \
    "$(jget "$R" '"|".join(" ".join(show(x) for x in ([w["confirmed"], w["halted"], w["reason"]] if w["name"] == "canary" else [w["state"], w["reason"]])) for w in d["waves"])')" \
    "answering n: the canary halted the rollout; rest skipped with the reason"
assert_eq "applied skipped skipped" "$(jget "$R" '[t["outcome"] for t in d["targets"]]')" \
    "answering n: only the canary was applied"
untouched "answering n" n_rest1 n_rest2

# --- SIGINT at the prompt (Ctrl-C on the terminal) ----------------------------------------------
pg_createdb c_canary c_rest1
write_inv tty_int "confirm: true" c_canary c_rest1
pty_run tty_int INT apply -i "$PF_TMP/tty_int.yaml" -f json -o "$PF_TMP/tty_int.json"
R=$PF_TMP/tty_int.json
assert_eq 130 "$RC" "Ctrl-C at the prompt: exit 130"
assert_eq "true 130 interrupted done interrupted" \
    "$(jget "$R" 'show(d["interrupted"]) + " " + str(d["exit_code"]) + " " + d["waves"][0]["confirmed"] + " " + d["waves"][0]["state"] + " " + d["waves"][1]["state"]')" \
    "Ctrl-C at the prompt: report interrupted; canary done; rest interrupted before it started"
assert_eq "applied|skipped interrupted before wave rest started" \
    "$(jget "$R" 'd["targets"][0]["outcome"] + "|" + d["targets"][1]["outcome"] + " " + d["targets"][1]["error"]["message"]')" \
    "Ctrl-C at the prompt: the report so far"
untouched "Ctrl-C at the prompt" c_rest1

# --- SIGINT during a pause -----------------------------------------------------------------------
DEFAULT_SIGINT='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'
pg_createdb p_canary p_rest1 p_rest2
write_inv pause "pause: 60s" p_canary p_rest1 p_rest2
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" apply -i "$PF_TMP/pause.yaml" -f json -o "$PF_TMP/pause.json" \
    >"$PF_TMP/pause.out" 2>"$PF_TMP/pause.err" &
PID=$!
PF_BG_PIDS+=("$PID")
# In the pause: the canary's ledger exists and pgfleet has no session left.
for i in $(seq 1 100); do
    [ "$(pg_psql p_canary "select to_regclass('drizzle.__drizzle_migrations') is not null")" = t ] &&
        [ "$(pg_psql postgres "select count(*) from pg_stat_activity where application_name = 'pgfleet-pause'")" = 0 ] &&
        break
    sleep 0.1
done
sleep 0.5
T0=$(date +%s%N)
kill -INT "$PID"
for i in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
RC=0
if kill -0 "$PID" 2>/dev/null; then
    fail "SIGINT during the pause: pgfleet still runs 5 s later"
    kill -9 "$PID" 2>/dev/null || true
fi
wait "$PID" || RC=$?
pf_bg_reap "$PID"
ELAPSED=$((($(date +%s%N) - T0) / 1000000))
echo "observed: exit $RC ${ELAPSED} ms after SIGINT during the pause; stderr: $(tr '\n' ' ' <"$PF_TMP/pause.err")"
R=$PF_TMP/pause.json
assert_eq 130 "$RC" "SIGINT during the pause: exit 130"
[ "$ELAPSED" -lt 2000 ] && pass "SIGINT during the pause: exits within 2 s (${ELAPSED} ms)" ||
    fail "SIGINT during the pause: took ${ELAPSED} ms"
assert_eq "true 130" "$(jget "$R" 'show(d["interrupted"]) + " " + str(d["exit_code"])')" \
    "SIGINT during the pause: report interrupted, exit_code 130"
assert_lines "p_canary applied
p_rest1 skipped
p_rest2 skipped" "$(jtargets "$R" 't["outcome"]')" "SIGINT during the pause: the canary applied, the rest skipped"
assert_eq "done interrupted true" \
    "$(jget "$R" 'd["waves"][0]["state"] + " " + d["waves"][1]["state"] + " " + show(0 < d["waves"][0]["paused_ms"] < 60000)')" \
    "SIGINT during the pause: canary done, the pause cut short, rest interrupted"
assert_lines "$H0
tables: items" "$(db_state p_canary)" "SIGINT during the pause: the canary's migration stays"
untouched "SIGINT during the pause" p_rest1 p_rest2
# Re-running: the canary is in sync, so it applies nothing and there is nothing to pause for.
T0=$(date +%s%N)
pf again apply -i "$PF_TMP/pause.yaml" -f json
ELAPSED=$((($(date +%s%N) - T0) / 1000000))
assert_eq 0 "$RC" "re-running after the interrupt finishes the rollout"
assert_eq "unchanged applied applied 0" \
    "$(jget "$PF_TMP/again.out" '" ".join(t["outcome"] for t in d["targets"]) + " " + str(d["waves"][0]["paused_ms"])')" \
    "re-running: the canary unchanged, the rest applied, no pause after a wave that applied nothing"
[ "$ELAPSED" -lt 10000 ] && pass "re-running did not wait the 60 s pause (${ELAPSED} ms)" ||
    fail "re-running took ${ELAPSED} ms"

pf_done
