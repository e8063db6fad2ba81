# The identity guard (docs/inventory.md, `expect`): a target whose dsn reaches another database
# (by name, by system identifier, or as another user) is `foreign` for plan, audit and apply,
# with the exact problem and hint; apply runs nothing on it and never takes its lock; plan and
# audit exit 1, apply exits 1 (refused). A matching expect changes nothing.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb ex_prod ex_staging

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
SYSID=$(pg_psql postgres "select system_identifier from pg_control_system()")
echo "observed: system identifier $SYSID"

export EX_PROD_DB=ex_prod
INV=$PF_TMP/fleet.yaml
cat >"$INV" <<EOF
migrations: {dir: "$MIG"}
defaults:
  expect: {system_identifier: "$SYSID"}
targets:
  - name: good
    dsn: "$(pf_dsn ex_prod)"
    expect: {database: "\${EX_PROD_DB}", user: postgres}
  - name: wrong_db
    dsn: "$(pf_dsn ex_staging)"
    expect: {database: "\${EX_PROD_DB}"}
  - name: wrong_sysid
    dsn: "$(pf_dsn ex_prod)"
    expect: {database: ex_prod, system_identifier: "1234"}
  - name: wrong_user
    dsn: "$(pf_dsn ex_prod)"
    expect: {user: app}
EOF
WRONG=(wrong_db wrong_sysid wrong_user)
declare -A WHY=(
    [wrong_db]="expected database ex_prod (system identifier $SYSID), connected to database ex_staging (system identifier $SYSID); hint: check the dsn: it points at another database"
    [wrong_sysid]="expected database ex_prod (system identifier 1234), connected to database ex_prod (system identifier $SYSID); hint: check the dsn: it points at another database"
    [wrong_user]="expected user app (system identifier $SYSID), connected to database ex_prod as user postgres (system identifier $SYSID); hint: check the dsn: it points at another database"
)

# --- plan and audit: foreign, with the problem; exit 1 --------------------------------------------
for cmd in plan audit; do
    for t in "${WRONG[@]}"; do
        pf "${cmd}_$t" "$cmd" -i "$INV" -t "$t" -f json
        R=$PF_TMP/${cmd}_$t.out
        assert_eq 1 "$RC" "$cmd $t: exit 1"
        assert_eq "foreign" "$(jt "$R" "$t" 't["status"]')" "$cmd $t: status foreign"
        assert_eq "foreign null null|${WHY[$t]}" \
            "$(jt "$R" "$t" '" ".join(show(x) for x in (t["problems"][0]["kind"], t["problems"][0]["migration"], t["problems"][0]["ledger_id"])) + "|" + t["problems"][0]["message"]')" \
            "$cmd $t: the problem says what was expected and what was reached"
        assert_eq "1 []" "$(jt "$R" "$t" 'str(len(t["problems"])) + " " + json.dumps(t["pending"])')" \
            "$cmd $t: nothing else read (no ledger, no pending list)"
        assert_eq 1 "$(jt "$R" "$t" 't["round_trips"]')" "$cmd $t: one round trip (the survey), nothing after it"
    done
done
pf plan_text plan -i "$INV" -t wrong_db
assert_contains "$(pf_out plan_text)" "wrong_db  foreign  0        foreign: ${WHY[wrong_db]}" \
    "text report: the row shows foreign and the problem"
assert_contains "$(pf_err plan_text)" "wrong_db: foreign: expected database ex_prod" "logged on stderr"

# --- apply: refused, nothing run, no lock taken ---------------------------------------------------
pf inv inventory -i "$INV" -f json
KEY_DB=$(jget "$PF_TMP/inv.out" '[t["lock_key"] for t in d["targets"] if t["name"] == "wrong_db"][0]')
BEFORE_STAGING=$(db_state ex_staging)
for t in "${WRONG[@]}"; do
    pf "apply_$t" apply -i "$INV" -t "$t" -f json
    R=$PF_TMP/apply_$t.out
    assert_eq 1 "$RC" "apply $t: exit 1 (refused)"
    assert_eq "foreign refused []" "$(jt "$R" "$t" 't["status"] + " " + t["outcome"] + " " + json.dumps(t["applied"])')" \
        "apply $t: foreign, refused, nothing applied"
    assert_eq "refused: foreign: ${WHY[$t]}" "$(jt "$R" "$t" 't["error"]["message"]')" "apply $t: the error says why"
    # The lock statement carries the same test: a wrong server never gets the lock, so there
    # is no unlock either: one round trip in all.
    assert_eq 1 "$(jt "$R" "$t" 't["round_trips"]')" "apply $t: one round trip: no lock taken (none to release)"
done
assert_eq "no ledger
tables: " "$(db_state ex_prod)" "apply of the wrong targets ran nothing on ex_prod"
assert_eq "$BEFORE_STAGING" "$(db_state ex_staging)" "apply of wrong_db ran nothing on ex_staging"

# While another session holds wrong_db's lock on ex_staging, apply does not wait for it (lock_wait
# 30s): the guard refuses first.
lock_hold ex_staging "$KEY_DB" expect-test-holder
pf apply_held apply -i "$INV" -t wrong_db -f json
assert_eq "1 foreign refused null" \
    "$RC $(jt "$PF_TMP/apply_held.out" wrong_db 't["status"] + " " + t["outcome"] + " " + show(t["lock"]["holder"])')" \
    "apply wrong_db while its lock is held elsewhere: refused at once, not locked"
assert_eq 1 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory' and granted")" \
    "only the holder's advisory lock exists"
lock_release expect-test-holder

# --- a matching expect changes nothing ----------------------------------------------------------
pf plan_good plan -i "$INV" -t good -f json
assert_eq "0 uninitialized 0" "$RC $(jt "$PF_TMP/plan_good.out" good 't["status"] + " " + str(len(t["problems"]))')" \
    "plan good: uninitialized, no problem, exit 0"
# The identity the report shows: the version is the one the server reported at start-up.
assert_eq "ex_prod postgres $(pg_psql postgres "show server_version") $SYSID" \
    "$(jt "$PF_TMP/plan_good.out" good 't["server"]["database"] + " " + t["server"]["user"] + " " + t["server"]["version"] + " " + t["server"]["system_identifier"]')" \
    "plan good: the server's database, user, version and system identifier"
pf apply_good apply -i "$INV" -t good -f json
assert_eq "0 applied" "$RC $(jt "$PF_TMP/apply_good.out" good 't["outcome"]')" "apply good: applied, exit 0"
assert_eq "tables: t" "$(db_state ex_prod | tail -n 1)" "apply good: the migration ran"
pf audit_good audit -i "$INV" -t good
assert_eq 0 "$RC" "audit good: in sync, exit 0"

# A fleet with the good and a wrong target: apply applies the good one and refuses the other.
pg_createdb ex_prod2
cat >"$PF_TMP/mixed.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: good2
    dsn: "$(pf_dsn ex_prod2)"
    expect: {database: ex_prod2}
  - name: swapped
    dsn: "$(pf_dsn ex_staging)"
    expect: {database: ex_prod2}
EOF
pf mixed apply -i "$PF_TMP/mixed.yaml" -f json
assert_eq 1 "$RC" "mixed fleet: apply exits 1 (one refused)"
assert_lines "good2 uninitialized applied
swapped foreign refused" "$(jtargets "$PF_TMP/mixed.out" 't["status"] + " " + t["outcome"]')" \
    "mixed fleet: the good target applied, the swapped one refused"
assert_eq "$BEFORE_STAGING" "$(db_state ex_staging)" "mixed fleet: nothing ran on ex_staging"

# --- invalid expect: exit 3, file:line:col, nothing run ----------------------------------------------
cat >"$PF_TMP/bad.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: a
    dsn: "$(pf_dsn ex_prod)"
    expect: {system_identifier: "abc"}
EOF
pf bad plan -i "$PF_TMP/bad.yaml"
assert_eq 3 "$RC" "bad system_identifier: exit 3"
assert_eq "pgfleet: $PF_TMP/bad.yaml:5:33: bad system_identifier 'abc'; expected the decimal number that SELECT system_identifier FROM pg_control_system() (or pg_controldata) shows" \
    "$(pf_err bad)" "bad system_identifier: the error points at the value"

pf_done
