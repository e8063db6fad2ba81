# Waves run strictly in order and never more than `parallel` targets of a wave at once, as the
# server sees it: every target's migration records when its session connected
# (pg_stat_activity.backend_start), how many pgfleet sessions were running a query when it
# started and when it ended, and when it finished. No session of a later wave may connect
# before the last target of the earlier wave has finished (plus the wave's pause), and the
# peak of concurrent sessions within a wave is exactly its parallel (capped by -j). plan lists
# the waves in order, with their targets and what each would apply (text and JSON).
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

ONE=(one1 one2)
TWO=(two1 two2 two3 two4 two5 two6)
THREE=(three1 three2 three3)
pg_createdb "${ONE[@]}" "${TWO[@]}" "${THREE[@]}"

APP=pgfleet-waves
ACTIVE="(SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP' AND state = 'active')"
W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_probe $((W + 1000)) \
    'CREATE TABLE "probe" ("connected" timestamptz, "started" timestamptz, "finished" timestamptz, "active_start" bigint, "active_end" bigint);' \
    "INSERT INTO \"probe\" SELECT (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()), clock_timestamp(), NULL, $ACTIVE, NULL;" \
    'SELECT pg_sleep(0.8);' \
    "UPDATE \"probe\" SET \"finished\" = clock_timestamp(), \"active_end\" = $ACTIVE;"
mig_add "$MIG" 0001_more $((W + 2000)) 'CREATE TABLE "more" ("id" integer);'

# File order is not wave order: wave one is listed last, and wave three takes what is left.
INV=$PF_TMP/fleet.yaml
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "defaults: {application_name: $APP}"
    echo "targets:"
    for db in "${THREE[@]}" "${TWO[@]}" "${ONE[@]}"; do
        echo "  - name: $db"
        echo "    dsn: \"$(pf_dsn "$db")\""
        echo "    labels: {tier: ${db%[0-9]}}"
    done
    cat <<'YAML'
waves:
  - name: one
    targets: [one*]
    parallel: 1
    pause: 1s
  - name: two
    select: tier=two
    parallel: 3
    max_failures: 10%
  - name: three
    select: all
YAML
} >"$INV"

# --- plan: the waves in order, with their targets and pending migrations -------------------------
pf plan plan -i "$INV" -j 8
assert_eq 0 "$RC" "plan exits 0 (stderr: $(pf_err plan))"
OUT=$(pf_out plan)
echo "$OUT"
assert_lines "WAVE   TARGET  STATUS         PENDING  DETAIL
one    one1    uninitialized  2        
    pending: 0000_probe 0001_more
one    one2    uninitialized  2        
    pending: 0000_probe 0001_more
two    two1    uninitialized  2        " "$(echo "$OUT" | head -n 6)" \
    "plan text: a WAVE column, targets wave by wave, pending migrations below each"
assert_contains "$OUT" "waves, in order:
  one    2 targets; parallel 1; max_failures 0; pause 1s
  two    6 targets; parallel 3; max_failures 10% = 0 of 6
  three  3 targets; max_failures 0" "plan text: the waves section lists each wave's settings"
pf plan_json plan -i "$INV" -j 8 -f json
R=$PF_TMP/plan_json.out
assert_eq "one two three" "$(jget "$R" '[w["name"] for w in d["waves"]]')" "plan json: waves in order"
assert_eq "one1 one2|two1 two2 two3 two4 two5 two6|three1 three2 three3" \
    "$(jget "$R" '"|".join(" ".join(w["targets"]) for w in d["waves"])')" "plan json: each wave's targets"
assert_eq "one1 one2 two1 two2 two3 two4 two5 two6 three1 three2 three3" \
    "$(jget "$R" '[t["name"] for t in d["targets"]]')" "plan json: targets listed in wave order"
assert_eq "one one two two two two two two three three three" \
    "$(jget "$R" '[t["wave"] for t in d["targets"]]')" "plan json: every target names its wave"
assert_eq "done done done|null null null|1 3 null|0 10% 0|0 0 0" \
    "$(jget "$R" '" ".join(w["state"] for w in d["waves"]) + "|" + show([w["failures"] for w in d["waves"]]) + "|" + show([w["parallel"] for w in d["waves"]]) + "|" + show([w["max_failures"] for w in d["waves"]]) + "|" + show([w["allowed_failures"] for w in d["waves"]])')" \
    "plan json: state, failures (apply only), parallel, max_failures, allowed_failures"
assert_eq "0000_probe 0001_more" "$(jt "$R" three2 't["pending"]')" "plan json: what each target would apply"

pf inv inventory -i "$INV" -f json
assert_eq "three1 three|two1 two|one1 one" \
    "$(jget "$PF_TMP/inv.out" '"|".join(t["name"] + " " + t["wave"] for t in d["targets"] if t["name"].endswith("1"))')" \
    "inventory json: each target's wave (file order, no connection)"

# --- apply ---------------------------------------------------------------------------------------
pf apply apply -i "$INV" -j 8 -f json
R=$PF_TMP/apply.out
assert_eq 0 "$RC" "apply exits 0 (stderr: $(pf_err apply))"
assert_eq "done done done|false false false|0 0 0" \
    "$(jget "$R" '" ".join(w["state"] for w in d["waves"]) + "|" + show([w["halted"] for w in d["waves"]]) + "|" + show([w["failures"] for w in d["waves"]])')" \
    "apply json: every wave done, none halted, no failure"
assert_eq "11" "$(jget "$R" 'd["outcomes"]["applied"]')" "apply json: all 11 targets applied"
PAUSED=$(jget "$R" 'd["waves"][0]["paused_ms"]')
[ "$PAUSED" -ge 1000 ] && [ "$PAUSED" -lt 3000 ] && pass "wave one paused 1s (paused_ms $PAUSED)" ||
    fail "wave one should pause about 1000 ms, paused_ms $PAUSED"

# What the server saw, per target: wave, connected, started, finished (epoch s), peak active.
probe() { # WAVE DB...
    local wave=$1 db
    shift
    for db in "$@"; do
        echo "$wave $db $(pg_psql "$db" "select extract(epoch from connected) || ' ' || extract(epoch from started) || ' ' || extract(epoch from finished) || ' ' || greatest(active_start, active_end) from probe")"
    done
}
PROBES=$( (probe 1 "${ONE[@]}"; probe 2 "${TWO[@]}"; probe 3 "${THREE[@]}") )
echo "observed (wave db connected started finished peak_active):"
echo "$PROBES"
CHECK=$("$PF_PY" - <<PY
rows = [l.split() for l in """$PROBES""".strip().splitlines()]
waves = {}
for w, db, conn, start, fin, peak in rows:
    waves.setdefault(int(w), []).append((db, float(conn), float(start), float(fin), int(peak)))
for w in (1, 2):
    last_end = max(r[3] for r in waves[w])
    first_conn = min(r[1] for r in waves[w + 1])
    print("wave %d ends before wave %d connects: %s" % (w, w + 1, last_end < first_conn))
    print("gap %d-%d >= %s: %s" % (w, w + 1, "1s" if w == 1 else "0s",
          first_conn - last_end >= (1.0 if w == 1 else 0.0)))
for w in (1, 2, 3):
    print("wave %d peak %d" % (w, max(r[4] for r in waves[w])))
PY
)
echo "$CHECK"
assert_lines "wave 1 ends before wave 2 connects: True
gap 1-2 >= 1s: True
wave 2 ends before wave 3 connects: True
gap 2-3 >= 0s: True
wave 1 peak 1
wave 2 peak 3
wave 3 peak 3" "$CHECK" \
    "server timestamps: no session of a wave connects before the previous wave finished (and paused 1s); peak concurrency = parallel (1, 3) and -j 8 capped by 3 targets"

# --- -j caps parallel ----------------------------------------------------------------------------
mig_add "$MIG" 0002_probe $((W + 3000)) \
    'CREATE TABLE "probe2" ("active_start" bigint, "active_end" bigint);' \
    "INSERT INTO \"probe2\" SELECT $ACTIVE, NULL;" \
    'SELECT pg_sleep(0.4);' \
    "UPDATE \"probe2\" SET \"active_end\" = $ACTIVE;"
pf apply_j2 apply -i "$INV" -j 2 -f json
assert_eq 0 "$RC" "apply -j 2 exits 0 (stderr: $(pf_err apply_j2))"
PEAK=0
for db in "${TWO[@]}"; do
    p=$(pg_psql "$db" "select greatest(active_start, active_end) from probe2")
    [ "$p" -gt "$PEAK" ] && PEAK=$p
done
assert_eq 2 "$PEAK" "with -j 2, wave two (parallel 3) never runs more than 2 targets at once"

# --- re-running is a no-op -----------------------------------------------------------------------
pf again apply -i "$INV" -j 8 -f json
assert_eq 0 "$RC" "a second apply exits 0"
assert_eq 11 "$(jget "$PF_TMP/again.out" 'd["outcomes"]["unchanged"]')" "a second apply changes nothing"

pf_done
