# Plugins (docs/plugins.md): the test plugin `record` writes every event it gets; each fires
# once, in order, with the right data, on a real fleet with two waves; a veto at wave end stops
# the next wave; an ABI mismatch, a missing symbol or a failing init stop everything (exit 3,
# the plugin's path named); a callback's error is reported; plugins may add targets, which go
# through the inventory's checks.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

# Private copies of the modules, as pf_start does for the binary.
PLUG=$PF_TMP/plugins
mkdir -p "$PLUG"
cp "$PF_TEST_PLUGINS_DIR"/*.so "$PF_PLUGINS_DIR"/*.so "$PLUG"/

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
mig_add "$MIG" 0001_more $((W + 2000)) 'CREATE TABLE "more" ("id" integer);'

# write_inv FILE PLUGINS_YAML WAVES_YAML DB...: a target per database (label env=test), the
# plugins, then the waves.
write_inv() {
    local file=$1 plugins=$2 waves=$3 db
    shift 3
    {
        echo "migrations: {dir: \"$MIG\"}"
        echo "targets:"
        for db in "$@"; do
            echo "  - {name: $db, dsn: \"$(pf_dsn "$db")\", labels: {env: test}}"
        done
        [ -z "$plugins" ] || printf 'plugins:\n%s\n' "$plugins"
        [ -z "$waves" ] || printf 'waves:\n%s\n' "$waves"
    } >"$file"
}
# recorded FILE REPORT: the recorded events with the run id of the JSON report REPORT replaced
# by RUN. Any other run id stays as it is, so the comparison that follows fails on it; and every
# run= must be that one id.
recorded() {
    local id
    id=$(jget "$2" 'd["run_id"]')
    assert_eq "run=$id" "$(grep -o 'run=[^ ]*' "$1" | sort -u)" "$1: one run id, the report's" >&2
    sed "s/run=$id\( \|\$\)/run=RUN\1/" "$1"
}

# --- every event, once, in order, with its data ---------------------------------------------------
pg_createdb c1 r1 r2
# 0001_more fails on r2, and takes 0000_items with it (one transaction: not_applied).
break_with r2 more
REC=$PF_TMP/events.txt
write_inv "$PF_TMP/order.yaml" "  - {path: \"$PLUG/record.so\", config: {file: \"$REC\"}}" \
    '  - {name: canary, targets: [c1]}
  - {name: rest, select: all, parallel: 1, max_failures: 1}' c1 r1 r2
pf order apply -i "$PF_TMP/order.yaml" -f json
assert_eq 2 "$RC" "r2 fails: exit 2 (stderr: $(pf_err order))"
assert_lines "run_start run=RUN command=apply targets=3
wave_start wave=canary targets=1
target_start target=c1 wave=canary labels=env:test
migration_before target=c1 migration=0000_items 1/2
migration_before target=c1 migration=0001_more 2/2
migration_after target=c1 migration=0000_items 1/2 result=applied
migration_after target=c1 migration=0001_more 2/2 result=applied
target_end target=c1 wave=canary labels=env:test status=uninitialized outcome=applied pending=2 applied=0000_items,0001_more error=-
wave_end wave=canary state=done failures=0 halted=0 next=rest
wave_start wave=rest targets=2
target_start target=r1 wave=rest labels=env:test
migration_before target=r1 migration=0000_items 1/2
migration_before target=r1 migration=0001_more 2/2
migration_after target=r1 migration=0000_items 1/2 result=applied
migration_after target=r1 migration=0001_more 2/2 result=applied
target_end target=r1 wave=rest labels=env:test status=uninitialized outcome=applied pending=2 applied=0000_items,0001_more error=-
target_start target=r2 wave=rest labels=env:test
migration_before target=r2 migration=0000_items 1/2
migration_before target=r2 migration=0001_more 2/2
migration_after target=r2 migration=0000_items 1/2 result=not_applied
migration_after target=r2 migration=0001_more 2/2 result=failed
target_end target=r2 wave=rest labels=env:test status=behind outcome=failed pending=2 applied= error=migration 0001_more, statement 1 failed: relation \"more\" already exists (SQLSTATE 42P07)
wave_end wave=rest state=done failures=1 halted=0 next=-
run_end run=RUN exit=2
fini" "$(recorded "$REC" "$PF_TMP/order.out")" "apply: every event once, in order, with its data"
assert_eq "$(jget "$PF_TMP/order.out" 'd.get("plugin_errors")')" "null" "no plugin errors in the report"

# plan: target events only (no wave events, no migrations run). r2 is behind: its failed apply
# left the ledger drizzle creates before the migrations' transaction.
rm -f "$REC"
pf order_plan plan -i "$PF_TMP/order.yaml" -j 1 -f json
assert_eq 0 "$RC" "plan: exit 0 (stderr: $(pf_err order_plan))"
assert_lines "run_start run=RUN command=plan targets=3
target_start target=c1 wave=canary labels=env:test
target_end target=c1 wave=canary labels=env:test status=in_sync outcome=none pending=0 applied= error=-
target_start target=r1 wave=rest labels=env:test
target_end target=r1 wave=rest labels=env:test status=in_sync outcome=none pending=0 applied= error=-
target_start target=r2 wave=rest labels=env:test
target_end target=r2 wave=rest labels=env:test status=behind outcome=none pending=2 applied= error=-
run_end run=RUN exit=0
fini" "$(recorded "$REC" "$PF_TMP/order_plan.out")" "plan: run and target events only"

# --- a veto at wave end stops the next wave -------------------------------------------------------
pg_createdb v1 v2 v3
REC=$PF_TMP/veto.txt
write_inv "$PF_TMP/veto.yaml" "  - {path: \"$PLUG/record.so\", config: {file: \"$REC\", veto_wave: canary}}" \
    '  - {name: canary, targets: [v1]}
  - {name: rest, select: all}' v1 v2 v3
pf veto apply -i "$PF_TMP/veto.yaml" -f json
R=$PF_TMP/veto.out
REASON="wave canary halted the rollout: plugin record ($PLUG/record.so) vetoed it: record says no"
assert_eq 2 "$RC" "veto: exit 2 (the later targets are skipped)"
assert_lines "v1 true applied
v2 false skipped
v3 false skipped" "$(jtargets "$R" 'show(t["started"]) + " " + t["outcome"]')" "veto: the next wave did not start"
assert_eq "$REASON" "$(jt "$R" v2 't["error"]["message"]')" "veto: the skipped targets' reason names the plugin"
assert_eq "done true $REASON|skipped false $REASON" \
    "$(jget "$R" '"|".join(w["state"] + " " + show(w["halted"]) + " " + w["reason"] for w in d["waves"])')" \
    "veto: canary halted, rest skipped, with the plugin named"
assert_contains "$(pf_err veto)" "pgfleet: warning: $REASON" "veto: logged"
assert_eq "no ledger" "$(db_state v2 | head -n 1)" "veto: v2 untouched"
assert_eq "wave_end wave=canary state=done failures=0 halted=0 next=rest
run_end run=RUN exit=2" "$(recorded "$REC" "$R" | tail -n 3 | head -n 2)" "veto: no event of the vetoed wave"

# --- loading errors: exit 3, the plugin's path named, nothing run -------------------------------
pg_createdb l1
for case in "record_bad_abi.so|plugin $PLUG/record_bad_abi.so: ABI version 3, but this pgfleet loads versions 1 to 2; hint: it was built for a newer pgfleet: upgrade pgfleet, or rebuild it against this pgfleet's <pgfleet/plugin.h>" \
    "record_no_symbol.so|plugin $PLUG/record_no_symbol.so: it exports no symbol 'pgfleet_plugin'" \
    "nope.so|plugin $PLUG/nope.so: cannot load it: $PLUG/nope.so: cannot open shared object file"; do
    so=${case%%|*}
    want=${case#*|}
    write_inv "$PF_TMP/bad.yaml" "  - {path: \"plugins/$so\"}" "" l1
    pf bad apply -i "$PF_TMP/bad.yaml"
    assert_eq 3 "$RC" "$so: exit 3"
    assert_contains "$(pf_err bad)" "pgfleet: $PF_TMP/bad.yaml:5:5: $want" "$so: the error names the path (relative to the inventory)"
    assert_eq "no ledger" "$(db_state l1 | head -n 1)" "$so: nothing run"
done
write_inv "$PF_TMP/init.yaml" "  - {path: \"$PLUG/record.so\", config: {file: \"$PF_TMP/init.txt\"}}
  - {path: \"$PLUG/record.so\", config: {fail_init: \"no token in \${PF_NO_TOKEN:-TOKEN}\"}}" "" l1
pf init apply -i "$PF_TMP/init.yaml"
assert_eq 3 "$RC" "init failure: exit 3"
assert_eq "pgfleet: $PF_TMP/init.yaml:6:5: plugin $PLUG/record.so (record): init failed: no token in TOKEN" \
    "$(pf_err init)" "init failure: the path, the plugin's reason (config expanded)"
assert_eq "fini" "$(cat "$PF_TMP/init.txt")" "init failure: the plugin loaded before it got fini, and no event"
assert_eq "no ledger" "$(db_state l1 | head -n 1)" "init failure: nothing run"

# --- a callback's error is reported, the run goes on ---------------------------------------------
pg_createdb e1
REC=$PF_TMP/err.txt
write_inv "$PF_TMP/err.yaml" "  - {path: \"$PLUG/record.so\", config: {file: \"$REC\", fail_on: target_end}}" "" e1
pf err apply -i "$PF_TMP/err.yaml" -f json
assert_eq 0 "$RC" "a failing callback does not change the outcome: exit 0"
MSG="plugin record ($PLUG/record.so): target_end on e1: record: asked to fail on target_end"
assert_eq "$MSG" "$(jget "$PF_TMP/err.out" 'd["plugin_errors"]')" "json report: plugin_errors"
assert_contains "$(pf_err err)" "pgfleet: error: e1: $MSG" "stderr: the error is logged"
pf err_text apply -i "$PF_TMP/err.yaml"
assert_eq 0 "$RC" "text report: exit 0 (in sync already)"
assert_contains "$(pf_out err_text)" "plugin errors (1):
  $MSG" "text report: plugin errors"

# --- discovery: added targets, checked like the file's -------------------------------------------
pg_createdb d1 d2
REC=$PF_TMP/disc.txt
write_inv "$PF_TMP/disc.yaml" "  - {path: \"$PLUG/record.so\", config: {file: \"$REC\", add: \"d2=$(pf_dsn d2)\"}}" "" d1
pf disc apply -i "$PF_TMP/disc.yaml" -s source=record -f json
assert_eq 0 "$RC" "discovered target selected by label and applied (stderr: $(pf_err disc))"
assert_eq "d2 applied" "$(jget "$PF_TMP/disc.out" '" ".join(t["name"] + " " + t["outcome"] for t in d["targets"])')" \
    "the discovered target ran"
write_inv "$PF_TMP/dup.yaml" "  - {path: \"$PLUG/record.so\", config: {add: \"d1=$(pf_dsn d1)\"}}" "" d1
pf dup plan -i "$PF_TMP/dup.yaml"
assert_eq 3 "$RC" "a discovered duplicate: exit 3"
assert_eq "pgfleet: $PF_TMP/dup.yaml:5:5: plugin $PLUG/record.so: target 'd1' duplicates the name of a target already in the inventory" \
    "$(pf_err dup)" "a discovered duplicate: the plugin named"
write_inv "$PF_TMP/empty.yaml" "  - {path: \"$PLUG/record.so\", config: {add: \"d3=\"}}" "" d1
pf empty plan -i "$PF_TMP/empty.yaml"
assert_eq 3 "$RC" "a discovered target without dsn: exit 3"
assert_contains "$(pf_err empty)" "plugin $PLUG/record.so: target 'd3' has no dsn" "no dsn: says so"

# --- discover-pg: one target per matching database, then apply to all of them -----------------
TENANTS=$(for i in $(seq -w 1 12); do echo "tenant_$i"; done)
pg_createdb $TENANTS other_db
SERVER=$(pf_dsn postgres)
cat >"$PF_TMP/discover.yaml" <<YAML
migrations: {dir: "$MIG"}
targets: []
plugins:
  - path: plugins/discover-pg.so
    config:
      dsn: "\${PF_DISCOVER_DSN}"
      database_pattern: "tenant_%"
      dsn_template: "postgresql://postgres@127.0.0.1:$PGPORT/{database}"
      name_template: "t-{database}"
      labels: [tier=tenants, region=eu]
waves:
  - {name: first, targets: [t-tenant_01]}
  - {name: others, select: all}
YAML
export PF_DISCOVER_DSN=$SERVER
pf disc_pg apply -i "$PF_TMP/discover.yaml" -j 4 -f json
R=$PF_TMP/disc_pg.out
assert_eq 0 "$RC" "discover-pg: 12 tenants applied (stderr: $(pf_err disc_pg))"
assert_eq "$(echo "$TENANTS" | sed 's/^/t-/' | tr '\n' ' ' | sed 's/ $//')" \
    "$(jget "$R" '[t["name"] for t in d["targets"]]')" "discover-pg: one target per tenant_% database, in name order (not other_db)"
assert_eq "12" "$(jget "$R" 'd["outcomes"]["applied"]')" "discover-pg: every tenant applied"
assert_eq "1 11" "$(jget "$R" '" ".join(str(len(w["targets"])) for w in d["waves"])')" "discover-pg: waves choose among discovered targets"
for db in $TENANTS; do
    [ "$(pg_psql "$db" 'select count(*) from drizzle.__drizzle_migrations')" = 2 ] || fail "$db: not applied"
done
assert_eq "no ledger" "$(db_state other_db | head -n 1)" "discover-pg: other_db untouched"
pf disc_inv inventory -i "$PF_TMP/discover.yaml" -s tier=tenants,region=eu
assert_eq 0 "$RC" "inventory lists discovered targets, selected by their labels (stderr: $(pf_err disc_inv))"
assert_contains "$(pf_out disc_inv)" "t-tenant_12" "inventory: the last tenant listed"
unset PF_DISCOVER_DSN

# query mode: rows of a control-plane table
pg_createdb control
pg_psql control "create table tenants (name text, dsn text, labels jsonb, active bool);
  insert into tenants values
    ('acme', '$(pf_dsn tenant_01)', '{\"plan\": \"gold\"}', true),
    ('globex', '$(pf_dsn tenant_02)', null, true),
    ('gone', '$(pf_dsn tenant_03)', null, false)" >/dev/null
cat >"$PF_TMP/query.yaml" <<YAML
migrations: {dir: "$MIG"}
targets: []
plugins:
  - path: "$PLUG/discover-pg.so"
    config: {dsn: "$(pf_dsn control)", query: "select name, dsn, labels from tenants where active order by name"}
YAML
pf query audit -i "$PF_TMP/query.yaml" -f json
assert_eq 0 "$RC" "discover-pg query: audit exits 0 (stderr: $(pf_err query))"
assert_eq 'acme {"plan": "gold"}|globex {}' "$(jget "$PF_TMP/query.out" '"|".join(t["name"] + " " + json.dumps(t["labels"], sort_keys=True) for t in d["targets"])')" \
    "discover-pg query: one target per row, labels from the JSON column"
sed -i 's/from tenants/from nope/' "$PF_TMP/query.yaml"
pf query_bad audit -i "$PF_TMP/query.yaml"
assert_eq 3 "$RC" "discover-pg: a failing query: exit 3"
assert_eq "pgfleet: $PF_TMP/query.yaml:4:5: plugin $PLUG/discover-pg.so (discover-pg): discovery failed: query: ERROR:  relation \"nope\" does not exist
LINE 1: select name, dsn, labels from nope where active order by nam...
                                      ^" "$(pf_err query_bad)" "discover-pg: the server's error, the plugin named"

# --- exec: a command on chosen events; exit 1 at wave end vetoes ---------------------------------
pg_createdb x1 x2
OUT=$PF_TMP/exec.txt
write_inv "$PF_TMP/exec.yaml" "  - path: \"$PLUG/exec.so\"
    config:
      events: [target_end, wave_end]
      command: 'echo \"\$PGFLEET_EVENT|\$PGFLEET_TARGET|\$PGFLEET_STATUS|\$PGFLEET_OUTCOME|\$PGFLEET_WAVE|\$PGFLEET_NEXT_WAVE|\$PGFLEET_APPLIED|\$PGFLEET_LABELS\" >>$OUT; [ \"\$PGFLEET_EVENT\" != wave_end ] || exit 1'" \
    '  - {name: one, targets: [x1]}
  - {name: two, select: all}' x1 x2
pf exec apply -i "$PF_TMP/exec.yaml" -f json
R=$PF_TMP/exec.out
assert_eq 2 "$RC" "exec veto: exit 2 (stderr: $(pf_err exec))"
assert_lines "target_end|x1|uninitialized|applied|one||0000_items,0001_more|env=test
wave_end||||one|two||" "$(cat "$OUT")" "exec: the command ran on target_end and wave_end, with the event's data"
assert_eq "wave one halted the rollout: plugin exec ($PLUG/exec.so) vetoed it: command exited with 1" \
    "$(jget "$R" 'd["waves"][0]["reason"]')" "exec: exit 1 at wave end vetoed the next wave"
assert_eq "skipped" "$(jt "$R" x2 't["outcome"]')" "exec: x2 skipped"
write_inv "$PF_TMP/slow.yaml" "  - {path: \"$PLUG/exec.so\", config: {events: run_start, timeout: 300ms, command: 'sleep 30; echo late >$PF_TMP/late.txt'}}" "" x2
T0=$(date +%s)
pf slow plan -i "$PF_TMP/slow.yaml" -f json
assert_eq 0 "$RC" "exec timeout: the run goes on"
[ $(($(date +%s) - T0)) -lt 10 ] && pass "exec timeout: the command was killed, not waited for" || fail "exec timeout: took too long"
assert_eq "plugin exec ($PLUG/exec.so): run_start: command timed out after 300 ms and was killed" \
    "$(jget "$PF_TMP/slow.out" 'd["plugin_errors"]')" "exec timeout: reported"
sleep 0.5
[ ! -e "$PF_TMP/late.txt" ] && pass "exec timeout: the command's group is gone" || fail "exec timeout: the command went on"
write_inv "$PF_TMP/nocmd.yaml" "  - {path: \"$PLUG/exec.so\", config: {events: run_start}}" "" x2
pf nocmd plan -i "$PF_TMP/nocmd.yaml"
assert_eq 3 "$RC" "exec without command: exit 3"
assert_contains "$(pf_err nocmd)" "plugin $PLUG/exec.so (exec): init failed: config 'command' is required" "exec without command: says so"

# --- history-pg: one row per target at run end ----------------------------------------------------
pg_createdb ops h1 h2
break_with h2 items
pg_psql ops 'create schema fleet' >/dev/null
write_inv "$PF_TMP/hist.yaml" "  - {path: \"$PLUG/history-pg.so\", config: {dsn: \"$(pf_dsn ops)\", table: fleet.history}}" "" h1 h2
pf hist apply -i "$PF_TMP/hist.yaml" -f json
assert_eq 2 "$RC" "history-pg: h2 fails, exit 2"
RUN_ID=$(jget "$PF_TMP/hist.out" 'd.get("run_id")')
assert_lines "apply h1 uninitialized applied 2 {0000_items,0001_more} -
apply h2 behind failed 2 {} migration 0000_items, statement 1 failed: relation \"items\" already exists (SQLSTATE 42P07)" \
    "$(pg_psql ops "select command, target, status, outcome, pending, applied, coalesce(error, '-') from fleet.history order by target" | tr '|' ' ')" \
    "history-pg: one row per target with its result"
assert_eq "1 t t" "$(pg_psql ops "select count(distinct run_id), bool_and(duration_ms >= 0), bool_and(started_at <= recorded_at) from fleet.history" | tr '|' ' ')" \
    "history-pg: one run id, durations and start times"
assert_eq "$RUN_ID" "$(pg_psql ops 'select distinct run_id from fleet.history')" "history-pg: the run id is the report's"
pf hist2 plan -i "$PF_TMP/hist.yaml"
assert_eq 0 "$RC" "history-pg: plan exits 0 (stderr: $(pf_err hist2))"
assert_eq "4 2" "$(pg_psql ops "select count(*), count(distinct run_id) from fleet.history" | tr '|' ' ')" "history-pg: a second run adds its rows"
write_inv "$PF_TMP/hist_bad.yaml" "  - {path: \"$PLUG/history-pg.so\", config: {dsn: \"$(pf_dsn ops)\", table: nope.history}}" "" h1
pf hist_bad plan -i "$PF_TMP/hist_bad.yaml" -f json
assert_eq 0 "$RC" "history-pg: a failure to write does not change the exit code"
assert_contains "$(jget "$PF_TMP/hist_bad.out" 'd["plugin_errors"]')" "run_end: creating the table: ERROR:  schema \"nope\" does not exist" \
    "history-pg: a failure to write is reported"

# --- the minimal example of docs/plugins.md (plugins/example/) -----------------------------------
pg_createdb ex1 ex2 ex3
break_with ex1 items
write_inv "$PF_TMP/example.yaml" "  - {path: \"$PLUG/example.so\", config: {strict: \"true\"}}" \
    '  - {name: first, targets: [ex1, ex2], max_failures: 1}
  - {name: last, select: all}' ex1 ex2 ex3
pf example apply -i "$PF_TMP/example.yaml" -f json
assert_eq 2 "$RC" "example: exit 2"
assert_contains "$(pf_err example)" "example: ex2: uninitialized, applied" "example: prints each target's end"
assert_eq "wave first halted the rollout: plugin example ($PLUG/example.so) vetoed it: wave first had 1 failure(s)" \
    "$(jget "$PF_TMP/example.out" 'd["waves"][0]["reason"]')" "example: strict vetoes after a failure within max_failures"
assert_eq "skipped" "$(jt "$PF_TMP/example.out" ex3 't["outcome"]')" "example: ex3 skipped"

pf_done
