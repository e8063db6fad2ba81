# Statements do not cost round trips: the JSON field round_trips of a target is the same
# whether it gets 1 migration of 1 statement or 10 migrations of 20 statements each, for an
# uninitialized and for a behind target, in apply, plan and audit.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb rt_small rt_big rt_small_b rt_big_b rt_none

W=$PF_WHEN0
SMALL=$PF_TMP/small # 1 migration of 1 statement
mig_add "$SMALL" 0000_one $((W + 1000)) 'CREATE TABLE "small_one" ("id" integer);'
BIG=$PF_TMP/big # 10 migrations of 20 statements each
for m in $(seq 0 9); do
    stmts=()
    for s in $(seq 1 20); do stmts+=("CREATE TABLE \"big_${m}_$s\" (\"id\" integer);"); done
    mig_add "$BIG" "$(printf '%04d' "$m")_big" $((W + 1000 * (m + 1))) "${stmts[@]}"
done
# The behind variant: a first migration already applied, then the same pending work.
BASE=$PF_TMP/base
mig_add "$BASE" 0000_base $((W + 500)) 'CREATE TABLE "base" ("id" integer);'
SMALL_B=$PF_TMP/small_b
cp -r "$BASE" "$SMALL_B"
mig_add "$SMALL_B" 0001_one $((W + 1000)) 'CREATE TABLE "small_one" ("id" integer);'
BIG_B=$PF_TMP/big_b
cp -r "$BASE" "$BIG_B"
for m in $(seq 1 10); do
    stmts=()
    for s in $(seq 1 20); do stmts+=("CREATE TABLE \"big_${m}_$s\" (\"id\" integer);"); done
    mig_add "$BIG_B" "$(printf '%04d' "$m")_big" $((W + 1000 * m + 600)) "${stmts[@]}"
done

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$SMALL" "" rt_small rt_big rt_small_b rt_big_b rt_none
# rt NAME TARGET FOLDER ARGS...: a run of ARGS on TARGET with FOLDER, which must exit 0; RT =
# TARGET's round_trips. (Not a $(...): its assertions' output would be taken for the value.)
RT=
rt() {
    local name=$1 target=$2 folder=$3
    shift 3
    pf "$name" "$@" -i "$INV" -m "$folder" -t "$target" -f json
    assert_eq 0 "$RC" "$name: exit 0 (stderr: $(pf_err "$name"))"
    RT=$(jt "$PF_TMP/$name.out" "$target" 't["round_trips"]')
}

# --- uninitialized targets -------------------------------------------------------------------------
rt plan_small rt_small "$SMALL" plan
P_SMALL=$RT
rt plan_big rt_big "$BIG" plan
P_BIG=$RT
rt apply_small rt_small "$SMALL" apply
A_SMALL=$RT
rt apply_big rt_big "$BIG" apply
A_BIG=$RT
assert_eq "uninitialized applied 1" \
    "$(jt "$PF_TMP/apply_small.out" rt_small 't["status"] + " " + t["outcome"] + " " + str(len(t["applied"]))')" "small: applied 1 migration"
assert_eq "uninitialized applied 10" \
    "$(jt "$PF_TMP/apply_big.out" rt_big 't["status"] + " " + t["outcome"] + " " + str(len(t["applied"]))')" "big: applied 10 migrations"
assert_eq 200 "$(pg_psql rt_big "select count(*) from pg_tables where tablename like 'big\_%'")" "big: 200 statements ran"
rt audit_small rt_small "$SMALL" audit
U_SMALL=$RT
rt audit_big rt_big "$BIG" audit
U_BIG=$RT
echo "observed: uninitialized: plan $P_SMALL vs $P_BIG, apply (1x1) $A_SMALL vs (10x20) $A_BIG; audit after: $U_SMALL vs $U_BIG"
assert_eq "$P_SMALL" "$P_BIG" "plan: same round trips for 1x1 and 10x20 pending"
assert_eq "$A_SMALL" "$A_BIG" "apply of an uninitialized target: same round trips for 1x1 and 10x20 statements"
assert_eq "$U_SMALL" "$U_BIG" "audit: same round trips for 1 and 10 applied migrations"
# docs/round-trips.md: audit 1 with or without a ledger (the survey reads it), plan 1 more for its
# preflight when something is pending; apply uninitialized 2 (survey; the batch with the ledger
# read back and the unlock).
assert_eq "2 2 2 2 1 1" "$P_SMALL $P_BIG $A_SMALL $A_BIG $U_SMALL $U_BIG" \
    "round trips as documented: plan (no ledger, preflight) 2, apply (uninitialized) 2, audit (ledger) 1"
rt apply_again rt_big "$BIG" apply
IN_SYNC=$RT
assert_eq unchanged "$(jt "$PF_TMP/apply_again.out" rt_big 't["outcome"]')" "apply again: in sync, unchanged"
assert_eq 1 "$IN_SYNC" "round trips as documented: apply of an in_sync target 1 (the survey releases the lock)"
rt plan_sync rt_big "$BIG" plan
assert_eq 1 "$RT" "round trips as documented: plan with a ledger and nothing pending 1"
# In sync, but the ledger is not exactly the codebase's rows (a migration recorded twice): the
# survey keeps the lock, and the unlock is a round trip of its own.
pg_psql rt_big 'INSERT INTO drizzle.__drizzle_migrations (hash, created_at) SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id LIMIT 1' >/dev/null
rt apply_dup rt_big "$BIG" apply
assert_eq "in_sync unchanged 2" "$(jt "$PF_TMP/apply_dup.out" rt_big 't["status"] + " " + t["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: apply in sync with a ledger other than the codebase's rows 2 (survey, unlock)"
pf audit_none audit -i "$INV" -m "$SMALL" -t rt_none -f json
assert_eq 1 "$RC" "audit of an uninitialized target: exit 1 (not in sync)"
assert_eq "uninitialized 1" "$(jt "$PF_TMP/audit_none.out" rt_none 't["status"] + " " + str(t["round_trips"])')" \
    "round trips as documented: audit without a ledger 1"

# --- behind targets --------------------------------------------------------------------------------
pf prep_small apply -i "$INV" -m "$BASE" -t rt_small_b
assert_eq 0 "$RC" "rt_small_b: the base applied (stderr: $(pf_err prep_small))"
pf prep_big apply -i "$INV" -m "$BASE" -t rt_big_b
assert_eq 0 "$RC" "rt_big_b: the base applied (stderr: $(pf_err prep_big))"
rt plan_small_b rt_small_b "$SMALL_B" plan
PB_SMALL=$RT
rt plan_big_b rt_big_b "$BIG_B" plan
PB_BIG=$RT
assert_eq "behind 1 | behind 10" \
    "$(jt "$PF_TMP/plan_small_b.out" rt_small_b 't["status"] + " " + str(len(t["pending"]))') | $(jt "$PF_TMP/plan_big_b.out" rt_big_b 't["status"] + " " + str(len(t["pending"]))')" \
    "behind: plan sees 1 and 10 pending migrations"
rt apply_small_b rt_small_b "$SMALL_B" apply
AB_SMALL=$RT
rt apply_big_b rt_big_b "$BIG_B" apply
AB_BIG=$RT
assert_eq "behind 1 | behind 10" \
    "$(jt "$PF_TMP/apply_small_b.out" rt_small_b 't["status"] + " " + str(len(t["applied"]))') | $(jt "$PF_TMP/apply_big_b.out" rt_big_b 't["status"] + " " + str(len(t["applied"]))')" \
    "behind: 1 and 10 migrations applied"
echo "observed: behind: plan $PB_SMALL vs $PB_BIG, apply (1x1) $AB_SMALL vs (10x20) $AB_BIG"
assert_eq "$PB_SMALL" "$PB_BIG" "plan of behind targets: same round trips"
assert_eq "$AB_SMALL" "$AB_BIG" "apply of a behind target: same round trips for 1x1 and 10x20 statements"
assert_eq "2 2 2 2" "$PB_SMALL $PB_BIG $AB_SMALL $AB_BIG" \
    "round trips as documented: plan (ledger, preflight) 2, apply (behind) 2"

# Both in one run, one codebase: base + the 10x20 + a last 1-statement migration. One target
# lacks only the last (1 statement pending), the other has only the base (201 pending).
ALL=$PF_TMP/all
cp -r "$BIG_B" "$ALL"
mig_add "$ALL" 0011_one $((W + 20000)) 'CREATE TABLE "last_one" ("id" integer);'
pg_createdb rt_same_small rt_same_big
inv_write "$PF_TMP/same.yaml" "$ALL" "" rt_same_small rt_same_big
pf same_prep1 apply -i "$PF_TMP/same.yaml" -m "$BIG_B" -t rt_same_small
assert_eq 0 "$RC" "rt_same_small: all but the last applied (stderr: $(pf_err same_prep1))"
pf same_prep2 apply -i "$PF_TMP/same.yaml" -m "$BASE" -t rt_same_big
assert_eq 0 "$RC" "rt_same_big: the base applied (stderr: $(pf_err same_prep2))"
pf same apply -i "$PF_TMP/same.yaml" -f json
assert_eq 0 "$RC" "one run with both targets: exit 0"
assert_lines "rt_same_small behind 1
rt_same_big behind 11" "$(jtargets "$PF_TMP/same.out" 't["status"] + " " + str(len(t["applied"]))')" \
    "one run: 1 and 11 migrations applied"
S1=$(jt "$PF_TMP/same.out" rt_same_small 't["round_trips"]')
S2=$(jt "$PF_TMP/same.out" rt_same_big 't["round_trips"]')
echo "observed: one run: 1 statement pending -> $S1 round trips, 201 statements pending -> $S2"
assert_eq "$S1" "$S2" "one run: same round trips for 1 and 201 pending statements"
assert_eq 2 "$S1" "round trips as documented: apply of a behind target 2"

# --- failed, refused, a wave's check, a tenant -----------------------------------------------------
# A failure costs one more round trip, whatever failed: the rollback, the ledger read back (what the
# report's applied list is made of) and the unlock share one message.
pg_createdb rt_fail rt_fail_pm rt_refused rt_check rt_tenant
FAIL=$PF_TMP/fail
cp -r "$BASE" "$FAIL"
mig_add "$FAIL" 0001_ok $((W + 1000)) 'CREATE TABLE "ok_one" ("id" integer);'
mig_add "$FAIL" 0002_bad $((W + 2000)) 'CREATE TABLE "bad_one" ("id" integer);' 'SELECT 1/0;'
inv_write "$PF_TMP/fail.yaml" "$FAIL" "" rt_fail rt_refused rt_check
inv_write "$PF_TMP/fail_pm.yaml" "$FAIL" "transaction: per-migration" rt_fail_pm
for db in rt_fail rt_fail_pm rt_refused; do
    pf "prep_$db" apply -i "$PF_TMP/fail.yaml" -m "$BASE" -t "$db"
    [ "$db" = rt_fail_pm ] && pf "prep_$db" apply -i "$PF_TMP/fail_pm.yaml" -m "$BASE" -t "$db"
    assert_eq 0 "$RC" "$db: the base applied (stderr: $(pf_err "prep_$db"))"
done
pf fail apply -i "$PF_TMP/fail.yaml" -t rt_fail -f json
assert_eq "2 failed [] 3" "$RC $(jt "$PF_TMP/fail.out" rt_fail 't["outcome"] + " " + json.dumps(t["applied"]) + " " + str(t["round_trips"])')" \
    "round trips as documented: a failed apply 3 (survey, batch, rollback + read back + unlock)"
pf fail_pm apply -i "$PF_TMP/fail_pm.yaml" -t rt_fail_pm -f json
assert_eq "2 failed [\"0001_ok\"] 3" "$RC $(jt "$PF_TMP/fail_pm.out" rt_fail_pm 't["outcome"] + " " + json.dumps(t["applied"]) + " " + str(t["round_trips"])')" \
    "per-migration: the migration before the failure stays applied, read back in the same 3 round trips"
# refused: an applied file edited since (modified), with a ledger.
EDITED=$PF_TMP/edited
cp -r "$BASE" "$EDITED"
printf -- '-- edited\n' >>"$EDITED/0000_base.sql"
pf refused apply -i "$PF_TMP/fail.yaml" -m "$EDITED" -t rt_refused -f json
assert_eq "1 modified refused 2" "$RC $(jt "$PF_TMP/refused.out" rt_refused 't["status"] + " " + t["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: apply refused with a ledger 2 (survey, unlock)"
# mark-applied and repair: the COMMIT carries the ledger read back and the unlock.
pf repair repair -i "$PF_TMP/fail.yaml" -m "$EDITED" -t rt_refused --yes -f json
assert_eq "0 repaired 3" "$RC $(jt "$PF_TMP/repair.out" rt_refused 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: repair 3 (survey, the change, COMMIT + read back + unlock)"
assert_eq "$(file_hash "$EDITED/0000_base.sql")" "$(pg_psql rt_refused 'select hash from drizzle.__drizzle_migrations')" \
    "repair: the row has the edited file's hash"
pg_createdb rt_mark
inv_write "$PF_TMP/mark.yaml" "$FAIL" "" rt_mark
pf mark mark-applied -i "$PF_TMP/mark.yaml" -t rt_mark --through 0001_ok --yes -f json
assert_eq "0 recorded 3 2" "$RC $(jt "$PF_TMP/mark.out" rt_mark 't["outcome"] + " " + str(t["round_trips"])') $(pg_psql rt_mark 'select count(*) from drizzle.__drizzle_migrations')" \
    "round trips as documented: mark-applied 3 (survey, the rows, COMMIT + read back + unlock)"
pf mark_again mark-applied -i "$PF_TMP/mark.yaml" -t rt_mark --through 0001_ok --yes -f json
assert_eq "0 unchanged 2" "$RC $(jt "$PF_TMP/mark_again.out" rt_mark 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: mark-applied with nothing to change 2 (survey, unlock)"
# A wave with a check keeps the lock until the check ran: the unlock is its own round trip.
inv_write "$PF_TMP/check.yaml" "$BASE" "" rt_check
printf 'waves:\n  - name: gate\n    targets: [rt_check]\n    check: select true\n' >>"$PF_TMP/check.yaml"
pf check_apply apply -i "$PF_TMP/check.yaml" -m "$BASE" -t rt_check -f json
assert_eq "0 applied 6" "$RC $(jt "$PF_TMP/check_apply.out" rt_check 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: apply with a wave check 6 (survey, batch + read back, check 3, unlock)"
pf check_sync apply -i "$PF_TMP/check.yaml" -m "$BASE" -t rt_check -f json
assert_eq "0 unchanged 5" "$RC $(jt "$PF_TMP/check_sync.out" rt_check 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: apply in sync with a wave check 5 (survey, check 3, unlock)"
# Tenant schemas (docs/tenants.md): entering the schema is part of the survey's message; two
# tenants of one database share a connection (-j 1), and the reset between them (what DISCARD
# ALL does) opens the second one's survey message: a tenant costs what a database costs.
{
    echo "migrations: {dir: \"$BASE\"}"
    echo "defaults: {create_schema: true}"
    echo "targets:"
    for tn in a b; do
        echo "  - name: tenant-$tn"
        echo "    dsn: \"$(pf_dsn rt_tenant)\""
        echo "    schema: tenant_$tn"
    done
} >"$PF_TMP/tenant.yaml"
pf tenant_apply apply -i "$PF_TMP/tenant.yaml" -j 1 -f json
assert_lines "tenant-a applied 2
tenant-b applied 2" "$(jtargets "$PF_TMP/tenant_apply.out" 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: a tenant's apply 2 (enter + survey, batch + read back + unlock)"
assert_eq "0 1" "$RC $(jget "$PF_TMP/tenant_apply.out" 'str(d["connections"])')" "the two tenants shared one connection"
assert_eq "t t" "$(pg_psql rt_tenant "select to_regclass('tenant_a.base') is not null, to_regclass('tenant_b.base') is not null" | tr '|' ' ')" \
    "each tenant's table is in its own schema (the second's search_path was reset and set)"
pf tenant_sync apply -i "$PF_TMP/tenant.yaml" -j 1 -f json
assert_lines "tenant-a unchanged 1
tenant-b unchanged 1" "$(jtargets "$PF_TMP/tenant_sync.out" 't["outcome"] + " " + str(t["round_trips"])')" \
    "round trips as documented: a tenant in sync 1 (enter + survey with the unlock)"
pf tenant_audit audit -i "$PF_TMP/tenant.yaml" -j 1 -f json
assert_lines "tenant-a in_sync 1
tenant-b in_sync 1" "$(jtargets "$PF_TMP/tenant_audit.out" 't["status"] + " " + str(t["round_trips"])')" \
    "round trips as documented: a tenant's audit 1"

# --- the connection's start-up ---------------------------------------------------------------------
# libpq asks a server for SSL before the startup packet when sslmode is prefer (its default), a
# round trip the server answers "no" to when it has no SSL. pgfleet remembers that answer per
# server, so that later connections to it (sslmode prefer) skip the question. Counted by a proxy:
# the client's turns per connection, and whether it asked for SSL first. -j 1: in order.
pg_createdb rt_c1 rt_c2 rt_c3
# A port that looked free may still be taken (the local end of some connection) when the
# proxy binds it: then the proxy exits, and another port is tried.
up=""
for attempt in 1 2 3 4 5; do
    PROXY_PORT=$(pf_free_port)
    "$PF_PY" "$PF_TESTS_DIR/lib/delay_proxy.py" "$PROXY_PORT" "$PGPORT" 0 "$PF_TMP/trips" \
        2>"$PF_TMP/proxy.err" &
    PROXY_PID=$!
    PF_BG_PIDS+=("$PROXY_PID")
    for _ in $(seq 1 100); do
        kill -0 "$PROXY_PID" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null; then
            sleep 0.2
            kill -0 "$PROXY_PID" 2>/dev/null && up=yes
            break
        fi
        sleep 0.1
    done
    [ -n "$up" ] && break
    echo "observed: the counting proxy did not listen on $PROXY_PORT (attempt $attempt): $(head -c 300 "$PF_TMP/proxy.err")"
    kill "$PROXY_PID" 2>/dev/null || true
    pf_bg_reap "$PROXY_PID"
done
[ -n "$up" ] || fail "the counting proxy never listened"
{
    echo "migrations: {dir: \"$SMALL\"}"
    echo "targets:"
    for target in rt_c1 rt_c2 rt_nodb "rt_c3?sslmode=prefer"; do
        echo "  - name: ${target%%\?*}"
        echo "    dsn: \"postgresql://postgres@127.0.0.1:$PROXY_PORT/$target\""
    done
} >"$PF_TMP/proxied.yaml"
: >"$PF_TMP/trips"
pf proxied audit -i "$PF_TMP/proxied.yaml" -j 1 -f json
assert_eq 2 "$RC" "audit through the proxy: exit 2 (one target unreachable; stderr: $(pf_err proxied))"
assert_lines "rt_c1 uninitialized 1
rt_c2 uninitialized 1
rt_nodb unreachable 0
rt_c3 uninitialized 1" "$(jtargets "$PF_TMP/proxied.out" 't["status"] + " " + str(t["round_trips"])')" \
    "through the proxy: statuses and round trips as without it"
assert_eq "connection to server at \"127.0.0.1\", port $PROXY_PORT failed: FATAL:  database \"rt_nodb\" does not exist" \
    "$(jt "$PF_TMP/proxied.out" rt_nodb 't["error"]["message"]')" \
    "a connection that fails after skipping the question: the error of a connection that asked, one attempt"
for _ in $(seq 1 100); do [ "$(grep -vc '^0 ' "$PF_TMP/trips")" -ge 5 ] && break || sleep 0.1; done
# rt_c1 asks (4 turns: SSL request, startup, survey, terminate); rt_c2 does not (3); rt_nodb does
# not (1: the startup, refused), then asks again at once (2: SSL request, startup, refused) in case
# the server changed; rt_c3 (sslmode=prefer written out) asks again. (The probe that saw the
# proxy listen made a connection of 0 turns.)
assert_lines "4 ssl
3 -
1 -
2 ssl
4 ssl" "$(grep -v '^0 ' "$PF_TMP/trips")" \
    "start-up round trips: the SSL request only until the server has said it has no SSL"

pf_done
