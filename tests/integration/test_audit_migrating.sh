# audit while a migrator holds a ledger's advisory lock (docs/statuses.md): the target is
# `migrating`, with who holds the lock (pid, application_name, client, age), not drifted — its
# ledger problems are listed but not counted — and audit takes no lock itself. plan says
# `locked` for the same target. Exit codes: a fleet whose only non-in-sync targets are
# migrating exits 1; with an unreachable target, 2. A real `pgfleet apply` in progress shows
# up the same way.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb mg_sync mg_busy mg_edited mg_real
CLOSED_PORT=$(pf_free_port)

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_a $((W + 1000)) 'CREATE TABLE "a" ("id" integer);'
mig_add "$MIG" 0001_b $((W + 2000)) 'CREATE TABLE "b" ("id" integer);'
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "connect_timeout: 5s" mg_sync mg_busy mg_edited mg_real
inv_add_target "$INV" mg_down "postgresql://postgres@127.0.0.1:$CLOSED_PORT/mg_sync"
pf prep apply -i "$INV" -t mg_sync -t mg_busy -t mg_edited -t mg_real
assert_eq 0 "$RC" "prepare: every reachable target in sync"
# mg_edited: a row whose hash no longer matches its file (what a migrator may leave mid-change).
pg_psql mg_edited "update drizzle.__drizzle_migrations set hash = '$(printf x | sha256sum | cut -c1-64)' where created_at = $((W + 2000))"

pf inv inventory -i "$INV" -f json
KEY=$(jget "$PF_TMP/inv.out" '[t["lock_key"] for t in d["targets"] if t["name"] == "mg_busy"][0]')

# --- a session holds mg_busy's lock ---------------------------------------------------------------
lock_hold mg_busy "$KEY" migrating-test-holder
pf audit_busy audit -i "$INV" -t mg_busy -f json
R=$PF_TMP/audit_busy.out
assert_eq 1 "$RC" "audit of a migrating target exits 1 (not in sync)"
assert_eq "migrating" "$(jt "$R" mg_busy 't["status"]')" "audit: status migrating"
H='t["lock"]["holder"]'
assert_eq "$HOLDER_PID migrating-test-holder 127.0.0.1 postgres" \
    "$(jt "$R" mg_busy "show($H['pid']) + ' ' + $H['application_name'] + ' ' + $H['client_addr'] + ' ' + $H['user']")" \
    "audit: the holder's pid, application_name, client and user"
assert_eq "true" "$(jt "$R" mg_busy 'isinstance(t["lock"]["holder"]["session_age_s"], (int, float)) and t["lock"]["holder"]["session_age_s"] >= 0')" \
    "audit: the holder's age in seconds"
MSG=$(jt "$R" mg_busy 't["error"]["message"]')
assert_contains "$MSG" "migrating: lock held by pid $HOLDER_PID (migrating-test-holder on 127.0.0.1, user postgres) for at most" \
    "audit: the message names the holder"
assert_contains "$MSG" "the ledger may be mid-change, so its problems are not counted; hint: audit again once it is done" \
    "audit: the message says why it is not judged"
assert_eq "1 0" "$(jget "$R" 'str(d["counts"]["migrating"]) + " " + str(d["counts"]["locked"])')" \
    "audit: counts.migrating 1, counts.locked 0"
pf audit_busy_text audit -i "$INV" -t mg_busy
assert_eq 1 "$(grep -c "^mg_busy  migrating  0        migrating: lock held by pid $HOLDER_PID" "$PF_TMP/audit_busy_text.out" || true)" \
    "audit text: the row shows migrating and the holder"
assert_contains "$(pf_out audit_busy_text)" "1 target: 1 migrating" "audit text: the summary counts it"

# audit takes no lock: the holder's is still the only advisory lock, and audit did not wait.
assert_eq 1 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "audit took no advisory lock"
assert_eq 1 "$(jt "$R" mg_busy 't["round_trips"]')" "audit of a migrating target: 1 round trip (the survey reads the ledger too)"

# plan keeps saying locked (docs/statuses.md), and exits 1.
pf plan_busy plan -i "$INV" -t mg_busy -f json
assert_eq "1 locked $HOLDER_PID" "$RC $(jt "$PF_TMP/plan_busy.out" mg_busy 't["status"] + " " + str(t["lock"]["holder"]["pid"])')" \
    "plan of the same target: locked, with the holder, exit 1"

# Fleets: migrating + in_sync -> 1; + unreachable -> 2.
pf audit_two audit -i "$INV" -t mg_busy -t mg_sync -f json
assert_eq 1 "$RC" "audit of {migrating, in_sync}: exit 1"
assert_lines "mg_sync in_sync
mg_busy migrating" "$(jtargets "$PF_TMP/audit_two.out" 't["status"]')" "audit of {migrating, in_sync}: statuses"
pf audit_down audit -i "$INV" -t mg_busy -t mg_down
assert_eq 2 "$RC" "audit of {migrating, unreachable}: exit 2"
lock_release migrating-test-holder

# --- a migrating target's ledger problems are listed, not counted --------------------------------------
pf audit_edited audit -i "$INV" -t mg_edited -f json
assert_eq "1 modified" "$RC $(jt "$PF_TMP/audit_edited.out" mg_edited 't["status"]')" "mg_edited, nobody migrating: modified, exit 1"
pf inv2 inventory -i "$INV" -f json
KEY_E=$(jget "$PF_TMP/inv2.out" '[t["lock_key"] for t in d["targets"] if t["name"] == "mg_edited"][0]')
lock_hold mg_edited "$KEY_E" migrating-test-edit
pf audit_edited_busy audit -i "$INV" -t mg_edited -f json
R=$PF_TMP/audit_edited_busy.out
assert_eq "1 migrating modified 0" \
    "$RC $(jt "$R" mg_edited 't["status"] + " " + ",".join(p["kind"] for p in t["problems"])') $(jget "$R" 'd["counts"]["modified"]')" \
    "mg_edited while migrating: status migrating, the modified row still listed, not counted as modified"
lock_release migrating-test-edit

# --- a real pgfleet apply in progress ---------------------------------------------------------
mig_add "$MIG" 0002_slow $((W + 3000)) 'SELECT pg_sleep(4);' 'CREATE TABLE "c" ("id" integer);'
"$PGFLEET" apply -q -i "$INV" -t mg_real >"$PF_TMP/bg_apply.out" 2>&1 &
APPLY_PID=$!
PF_BG_PIDS+=("$APPLY_PID")
wait_for "select count(*) from pg_locks l join pg_stat_activity a using (pid)
          where l.locktype = 'advisory' and l.granted and a.application_name = 'pgfleet'
          and a.datname = 'mg_real'" 1 ||
    fail "the background apply did not take its lock"
pf audit_real audit -i "$INV" -t mg_real -f json
R=$PF_TMP/audit_real.out
assert_eq "1 migrating pgfleet 127.0.0.1" \
    "$RC $(jt "$R" mg_real 't["status"] + " " + t["lock"]["holder"]["application_name"] + " " + t["lock"]["holder"]["client_addr"]')" \
    "audit during a real apply: migrating, held by pgfleet"
assert_eq "0002_slow" "$(jt "$R" mg_real '",".join(t["pending"])')" "audit during the apply: what was read (0002_slow pending)"
wait "$APPLY_PID"
assert_eq 0 "$?" "the background apply finished"
pf_bg_reap "$APPLY_PID"
pf audit_after audit -i "$INV" -t mg_real
assert_eq 0 "$RC" "audit after the apply: in sync, exit 0"

# --- the same key held in other databases of the server too --------------------------------------
# Advisory locks are per database; the holder named is the one in the target's database, not
# whichever comes first in the server's lock table.
for db in mg_sync mg_edited mg_real; do
    lock_hold "$db" "$KEY" "holder-in-$db"
done
lock_hold mg_busy "$KEY" holder-in-mg_busy
pf audit_many audit -i "$INV" -t mg_busy -t mg_sync -f json
assert_lines "mg_sync migrating holder-in-mg_sync
mg_busy migrating $HOLDER_PID holder-in-mg_busy" \
    "$(jtargets "$PF_TMP/audit_many.out" 't["status"] + " " + (show(t["lock"]["holder"]["pid"]) + " " if t["name"] == "mg_busy" else "") + t["lock"]["holder"]["application_name"]')" \
    "each target names the holder in its own database"
for db in mg_busy mg_sync mg_edited mg_real; do
    lock_release "holder-in-$db"
done

pf_done
