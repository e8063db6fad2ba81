# The advisory lock: while another session ('other-migrator') holds the ledger's key, apply
# waits lock_wait and then reports the target locked with the holder's pid and
# application_name (exit 2); plan reports it locked too (exit 1); once the holder lets go,
# apply succeeds. A `lock_key` in defaults is the key used. A session holding the key shared
# is no migration to audit, and apply tries again before naming it.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb lockdb keydb

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "widgets" ("id" integer);'
WANT="$(file_hash "$MIG/0000_init.sql") $((W + 1000))
tables: widgets"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "lock_wait: 1s" lockdb
pf inv inventory -i "$INV" -f json
KEY=$(jt "$PF_TMP/inv.out" lockdb 't["lock_key"]')
echo "observed: derived lock_key $KEY"

lock_hold lockdb "$KEY" other-migrator
echo "observed: holder pid $HOLDER_PID"

# --- apply waits lock_wait, then gives up --------------------------------------------------------
pf apply_locked apply -i "$INV" -f json
assert_eq 2 "$RC" "apply while another session holds the lock exits 2"
R=$PF_TMP/apply_locked.out
assert_eq "locked failed" "$(jt "$R" lockdb 't["status"] + " " + t["outcome"]')" "status locked, outcome failed"
MSG=$(jt "$R" lockdb 't["error"]["message"]')
echo "observed: error.message: $MSG"
assert_contains "$MSG" "lock held by" "error message says 'lock held by'"
assert_contains "$MSG" "$HOLDER_PID" "error message names the holder's pid"
assert_contains "$MSG" "other-migrator" "error message names the holder's application_name"
assert_eq "$HOLDER_PID other-migrator postgres 127.0.0.1 $KEY" \
    "$(jt "$R" lockdb 'show(t["lock"]["holder"]["pid"]) + " " + t["lock"]["holder"]["application_name"] + " " + t["lock"]["holder"]["user"] + " " + t["lock"]["holder"]["client_addr"] + " " + t["lock"]["key"]')" \
    "lock.holder: pid, application_name, user, client_addr; lock.key"
assert_eq "true" "$(jt "$R" lockdb 'show(isinstance(t["lock"]["holder"]["session_age_s"], (int, float)) and t["lock"]["holder"]["session_age_s"] >= 0)')" \
    "lock.holder.session_age_s is a number"
WAITED=$(jt "$R" lockdb 't["timings"]["total_ms"]')
echo "observed: apply gave up after $WAITED ms (lock_wait 1s)"
[ "$WAITED" -ge 900 ] && [ "$WAITED" -lt 10000 ] && pass "apply waited about lock_wait before giving up" ||
    fail "apply should wait about lock_wait (1s) for the lock, took $WAITED ms"
assert_eq "no ledger
tables: " "$(db_state lockdb)" "nothing was applied while locked"

pf apply_locked_text apply -i "$INV"
assert_eq 2 "$RC" "apply (text) while locked exits 2"
assert_contains "$(pf_out apply_locked_text)" "lock held by pid $HOLDER_PID" "text report names the holder"

# --- plan (read-only) sees it too ----------------------------------------------------------------
pf plan_locked plan -i "$INV" -f json
assert_eq 1 "$RC" "plan while locked exits 1"
assert_eq "locked $HOLDER_PID other-migrator" \
    "$(jt "$PF_TMP/plan_locked.out" lockdb 't["status"] + " " + show(t["lock"]["holder"]["pid"]) + " " + t["lock"]["holder"]["application_name"]')" \
    "plan: status locked, holder named"
assert_contains "$(jt "$PF_TMP/plan_locked.out" lockdb 'show(t["error"])')" "other-migrator" \
    "plan: the error names the holder"
pf audit_locked audit -i "$INV"
assert_eq 1 "$RC" "audit while locked exits 1"
assert_eq 1 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory' and granted")" \
    "plan and audit took no lock of their own"

# --- the holder lets go -------------------------------------------------------------------------
lock_release other-migrator
pf apply_free apply -i "$INV" -f json
assert_eq 0 "$RC" "apply after the holder released the lock exits 0"
assert_eq "uninitialized applied" "$(jt "$PF_TMP/apply_free.out" lockdb 't["status"] + " " + t["outcome"]')" \
    "apply after release: applied"
assert_lines "$WANT" "$(db_state lockdb)" "apply after release: ledger and table"
assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "apply released its lock"

# --- apply waits for a holder that lets go within lock_wait ---------------------------------------
mig_add "$MIG" 0001_next $((W + 2000)) 'CREATE TABLE "gadgets" ("id" integer);'
inv_write "$PF_TMP/wait.yaml" "$MIG" "lock_wait: 20s" lockdb
PGAPPNAME=short-holder psql -X -q -d lockdb -c "select pg_advisory_lock($KEY), pg_sleep(1.5)" \
    >"$PF_TMP/short.log" 2>&1 &
SHORT=$!
PF_BG_PIDS+=("$SHORT")
wait_for "select count(*) from pg_locks where locktype = 'advisory' and granted" 1 ||
    fail "the short holder did not get the lock"
pf apply_wait apply -i "$PF_TMP/wait.yaml" -f json
assert_eq 0 "$RC" "apply waits for a holder that releases within lock_wait, then exits 0"
assert_eq "behind applied" "$(jt "$PF_TMP/apply_wait.out" lockdb 't["status"] + " " + t["outcome"]')" \
    "apply after waiting: applied"
pf_bg_reap "$SHORT"

# --- a custom lock_key ---------------------------------------------------------------------------
inv_write "$PF_TMP/key.yaml" "$MIG" "lock_wait: 0, lock_key: 12345" keydb
pf inv_key inventory -i "$PF_TMP/key.yaml" -f json
assert_eq 12345 "$(jt "$PF_TMP/inv_key.out" keydb 't["lock_key"]')" "inventory shows lock_key 12345"
lock_hold keydb 12345 key-holder
pf apply_key apply -i "$PF_TMP/key.yaml" -f json
assert_eq 2 "$RC" "apply while key 12345 is held exits 2"
assert_eq "locked 12345 $HOLDER_PID key-holder" \
    "$(jt "$PF_TMP/apply_key.out" keydb 't["status"] + " " + t["lock"]["key"] + " " + show(t["lock"]["holder"]["pid"]) + " " + t["lock"]["holder"]["application_name"]')" \
    "the custom key 12345 is the one used"
pf plan_key plan -i "$PF_TMP/key.yaml" -f json
assert_eq 1 "$RC" "plan while key 12345 is held exits 1"
assert_eq "locked" "$(jt "$PF_TMP/plan_key.out" keydb 't["status"]')" "plan: locked on key 12345"
lock_release key-holder

# --- a session holding the key in shared mode --------------------------------------------------
# audit's probe takes the key shared for a moment; a shared holder is not a migration running.
lock_hold keydb 12345 shared-holder shared
pg_psql postgres "alter system set log_statement = 'all'" >/dev/null
pg_psql postgres "select pg_reload_conf()" >/dev/null
sleep 0.3
pf audit_shared audit -i "$PF_TMP/key.yaml" -f json
pg_psql postgres "alter system reset log_statement" >/dev/null
pg_psql postgres "select pg_reload_conf()" >/dev/null
assert_eq "uninitialized None" "$(jt "$PF_TMP/audit_shared.out" keydb 't["status"] + " " + str(t["lock"]["holder"])')" \
    "audit beside a shared holder: what the ledger says (uninitialized), no holder (the probe's shared try is granted)"
# The probe lets go of the key in the statement that takes it: replayed (as the server logged
# it) in a session that then asks, that session holds no advisory lock.
PROBE=$(grep -o 'SELECT CASE WHEN NOT pg_catalog.pg_try_advisory_lock_shared(12345).*END;$' \
    "$PF_TMP/cluster/postgres.log" | tail -n 1)
[ -n "$PROBE" ] || fail "the audit's probe is not in the server's log"
assert_eq 0 "$(pg_psql keydb "$PROBE select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()" | tail -n 1)" \
    "the probe, replayed: its session holds no advisory lock after it"
# apply (lock_wait 0) asks again while only a shared holder is there (an audit's probe would be
# gone), and names the holder when it stays: the survey, then 20 times the holder's look-up and
# another try, then the last look-up.
pf apply_shared apply -i "$PF_TMP/key.yaml" -f json
assert_eq "2 locked shared-holder $HOLDER_PID 42" \
    "$RC $(jt "$PF_TMP/apply_shared.out" keydb 't["status"] + " " + t["lock"]["holder"]["application_name"] + " " + show(t["lock"]["holder"]["pid"]) + " " + show(t["round_trips"])')" \
    "apply beside a shared holder: tried again, then locked naming it"
lock_release shared-holder

# The derived key is not taken when a custom key is set: holding it does not block.
lock_hold keydb "$KEY" derived-holder
pf apply_key2 apply -i "$PF_TMP/key.yaml" -f json
assert_eq 0 "$RC" "with lock_key 12345, holding the derived key does not block apply"
lock_release derived-holder

pf_done
