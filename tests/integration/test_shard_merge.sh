# Sharding and merging (docs/scale.md): --shard K/N takes the targets whose sha256(name)'s first
# four bytes, big-endian, modulo N are K, after --target/--select and waves (computed here with
# sha256sum, not by pgfleet); an empty shard is a run of no target, not an error; `pgfleet merge` of
# the shards' JSON reports is the single run's report, in every format (apply with waves and
# backups, plan, plan --rollback, audit --drift; run-specific fields normalised as docs/scale.md
# lists); it refuses a missing shard, a shard twice, overlapping reports, another command or
# codebase, unless --force; `--wave W --check-threshold` decides on the merged wave; -o +FILE
# appends.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
mig_add "$MIG" 0001_more $((W + 2000)) 'ALTER TABLE "items" ADD COLUMN "n" integer;'

DBS=(a1 a2 a3 a4 a5 a6 a7 a8 a9 a10 b1 b2)
pg_createdb "${DBS[@]}"
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "" "${DBS[@]}"

# shard_of NAME N: the documented hash, by hand.
shard_of() {
    local h
    h=$(printf '%s' "$1" | sha256sum | cut -c1-8)
    echo $((16#$h % $2))
}

# --- which targets a shard takes ------------------------------------------------------------------
N=3
for k in 0 1 2; do
    want=$(for db in "${DBS[@]}"; do if [ "$(shard_of "$db" $N)" = "$k" ]; then echo "$db"; fi; done)
    pf plan_$k plan -i "$INV" --shard "$k/$N" -f json -o "$PF_TMP/plan_$k.json"
    assert_eq 0 "$RC" "plan --shard $k/$N: exit 0"
    assert_lines "$want" "$(jget "$PF_TMP/plan_$k.json" '"\n".join(t["name"] for t in d["targets"])')" \
        "shard $k/$N holds the targets whose sha256 prefix mod $N is $k, in inventory order"
    pf inv_$k inventory -i "$INV" --shard "$k/$N"
    assert_lines "$want" "$(grep -v '^NAME\|^$\|selected from' "$PF_TMP/inv_$k.out" | cut -d' ' -f1)" \
        "inventory --shard $k/$N lists the same targets"
    assert_eq "$k $N ${#DBS[@]}" \
        "$(jget "$PF_TMP/plan_$k.json" 'show(d["shard"]["index"]) + " " + show(d["shard"]["count"]) + " " + show(d["shard"]["selected"])')" \
        "the report says which shard of how many, and how many targets were selected"
done
# After the selection: shard 1/3 of -t 'a*' is the a* targets of shard 1/3.
want=$(for db in "${DBS[@]}"; do if [[ $db == a* ]] && [ "$(shard_of "$db" $N)" = 1 ]; then echo "$db"; fi; done)
pf sel plan -i "$INV" -t 'a*' --shard 1/3 -f json -o "$PF_TMP/sel.json"
assert_lines "$want" "$(jget "$PF_TMP/sel.json" '"\n".join(t["name"] for t in d["targets"])')" \
    "--shard applies after --target"
assert_eq 10 "$(jget "$PF_TMP/sel.json" 'show(d["shard"]["selected"])')" "selected counts -t's 10 targets"

# An empty shard: with 20 shards of 12 targets some are empty; find one.
for k in $(seq 0 19); do
    empty=1
    for db in "${DBS[@]}"; do if [ "$(shard_of "$db" 20)" = "$k" ]; then empty=0; fi; done
    if [ "$empty" = 1 ]; then break; fi
done
assert_eq 1 "$empty" "some shard of 20 holds none of 12 targets"
pf empty apply -i "$INV" --shard "$k/20" -f json -o "$PF_TMP/empty.json"
assert_eq 0 "$RC" "apply of an empty shard: exit 0, nothing to do"
assert_eq "0 0" "$(jget "$PF_TMP/empty.json" 'show(d["counts"]["targets"]) + " " + show(len(d["targets"]))')" \
    "its report has no target"
pf bad_shard plan -i "$INV" --shard 3/3
assert_eq 3 "$RC" "--shard 3/3: invalid"
assert_eq "pgfleet plan: --shard takes K/N, shard K (from 0) of N (at most 100000), not '3/3'" \
    "$(head -n 1 "$PF_TMP/bad_shard.err")" "the error says what --shard takes"

# --- merge equals the single run ----------------------------------------------------------------------
# Twin states: b1 is modified after a first apply (refused), a3 is already in sync.
pf pre apply -i "$INV" -t a3 -t b1
assert_eq 0 "$RC" "first apply on a3 and b1"
pg_psql b1 "UPDATE drizzle.__drizzle_migrations SET hash = 'x' WHERE id = 1" >/dev/null
for k in 0 1 2; do
    pf apply_$k apply -i "$INV" --shard "$k/$N" -f json -o "$PF_TMP/apply_$k.json"
done
pf merged merge "$PF_TMP"/apply_{0,1,2}.json -f json -o "$PF_TMP/merged.json"
assert_eq 1 "$RC" "merge: the fleet's exit code, 1 (b1 refused as modified)"
# The single run, on the same databases made as they were: reset, then one apply.
for db in "${DBS[@]}"; do
    pg_psql "$db" 'SET client_min_messages = warning; DROP SCHEMA IF EXISTS drizzle CASCADE; DROP TABLE IF EXISTS items' >/dev/null
done
pf pre2 apply -i "$INV" -t a3 -t b1
pg_psql b1 "UPDATE drizzle.__drizzle_migrations SET hash = 'x' WHERE id = 1" >/dev/null
pf single apply -i "$INV" --report-dir "$PF_TMP/kept"
assert_eq 1 "$RC" "the single run: exit 1"
cp "$PF_TMP"/kept/*.json "$PF_TMP/single.json"
# What a run is: everything but times, round trips and the run's own identity.
norm='
def strip(t):
    for k in ("timings", "round_trips"):
        t.pop(k, None)
    return t
for k in ("started_at", "run_id", "duration_ms", "connections"):
    d.pop(k, None)
d["targets"] = [strip(t) for t in d["targets"]]
print(json.dumps(d, indent=1, sort_keys=True))
'
normalize() { "$PF_PY" -c "import json, sys
d = json.load(open(sys.argv[1]))
$norm" "$1"; }
assert_lines "$(normalize "$PF_TMP/single.json")" "$(normalize "$PF_TMP/merged.json")" \
    "the merged JSON report is the single run's (times aside)"
assert_eq "applied:10 refused:1 unchanged:1" \
    "$(jget "$PF_TMP/merged.json" '" ".join("%s:%d" % (k, v) for k, v in sorted(d["outcomes"].items()) if v)')" \
    "merged outcomes: 10 applied, b1 refused, a3 unchanged"
pf merged_text merge "$PF_TMP"/apply_{2,0,1}.json
assert_eq 1 "$RC" "merge in text: exit 1 too"
sed -e 's/[0-9.]* \(ms\|s\)\b/T/g' "$PF_TMP/merged_text.out" >"$PF_TMP/m.txt"
sed -e 's/[0-9.]* \(ms\|s\)\b/T/g' "$PF_TMP/single.out" >"$PF_TMP/s.txt"
assert_lines "$(cat "$PF_TMP/s.txt")" "$(cat "$PF_TMP/m.txt")" \
    "the merged text report is the single run's, whatever the order of the files"

# --- refusals ---------------------------------------------------------------------------------------
pf missing merge "$PF_TMP"/apply_{0,1}.json
assert_eq 3 "$RC" "a shard missing: exit 3"
assert_eq "pgfleet: shard 2/3 is missing; hint: merge the reports of one run, or pass --force" \
    "$(cat "$PF_TMP/missing.err")" "the error names the missing shard"
pf twice merge "$PF_TMP"/apply_{0,1,1,2}.json
assert_eq 3 "$RC" "a shard twice: exit 3"
assert_contains "$(cat "$PF_TMP/twice.err")" "is in $PF_TMP/apply_1.json and in $PF_TMP/apply_1.json" \
    "the overlap is named"
pf mixed merge "$PF_TMP"/apply_{0,1}.json "$PF_TMP/plan_2.json"
assert_eq 3 "$RC" "an apply and a plan report: exit 3"
assert_contains "$(cat "$PF_TMP/mixed.err")" "are reports of different commands (apply, plan)" \
    "different commands are named"
pf forced merge "$PF_TMP"/apply_{0,1}.json --force -f json -o "$PF_TMP/forced.json"
assert_eq 1 "$RC" "--force merges a partial run (exit of what is there)"
assert_contains "$(cat "$PF_TMP/forced.err")" "warning: shard 2/3 is missing (merged anyway: --force)" \
    "with --force the reason is a warning"
# Another codebase: the same reports against a folder with one more migration.
cp -r "$MIG" "$PF_TMP/drizzle2"
mig_add "$PF_TMP/drizzle2" 0002_extra $((W + 3000)) 'SELECT 1;'
pf other_cb merge "$PF_TMP"/apply_{0,1,2}.json -m "$PF_TMP/drizzle2"
assert_eq 3 "$RC" "another codebase: exit 3"
assert_contains "$(cat "$PF_TMP/other_cb.err")" "the reports were made with another codebase" \
    "the codebase mismatch is named"
pf not_report merge "$INV"
assert_eq 3 "$RC" "not a report: exit 3"

# --- every format of merge is the single run's -------------------------------------------------------
# The twin fleet: these databases put back into the same starting states before each run — a3 in
# sync, a4 behind (0000 applied), b1 modified, a5 ahead (a ledger row newer than every
# migration), a2 failing ("items" there under an empty ledger), the rest uninitialized — and
# backups taken, so that every part of every format has something to show. Each format of
# `merge` over one sharded run is compared with the same format of a single run, byte for byte
# once what differs between two runs of one fleet is normalised (docs/scale.md): timestamps (the
# run's start, a dump's name), durations, and in JSON the run id, connections and round trips.
MIG1=$PF_TMP/drizzle1
mig_add "$MIG1" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
TWIN=$PF_TMP/twin.yaml
inv_write "$TWIN" "$MIG" "" "${DBS[@]}"
printf 'waves:\n  - {name: early, targets: ["b*"], max_failures: 1}\n  - {name: rest, select: all, max_failures: 50%%}\n' >>"$TWIN"
inv_write "$PF_TMP/twin1.yaml" "$MIG1" "" a4
twin_states() {
    local db
    for db in "${DBS[@]}"; do
        pg_psql "$db" 'SET client_min_messages = warning; DROP SCHEMA IF EXISTS drizzle CASCADE; DROP TABLE IF EXISTS items' >/dev/null
    done
    rm -rf "$PF_TMP/dumps"
    pf twin_pre apply -q -i "$TWIN" -t a3 -t b1 -t a5
    assert_eq 0 "$RC" "starting states: a3, b1 and a5 migrated"
    pf twin_pre1 apply -q -i "$PF_TMP/twin1.yaml"
    assert_eq 0 "$RC" "starting states: a4 through 0000"
    pg_psql b1 "UPDATE drizzle.__drizzle_migrations SET hash = 'x' WHERE id = 1" >/dev/null
    pg_psql a5 "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('y', $((W + 9000)))" >/dev/null
    break_with a2 items
}
# norm FMT FILE: the report without what two runs of the same fleet do not share.
norm() {
    [ -s "$2" ] || { echo "no report: $2"; return 0; }
    "$PF_PY" - "$1" "$2" <<'PY'
import json, re, sys
fmt, path = sys.argv[1], sys.argv[2]
text = open(path).read()
if fmt == "json":
    d = json.loads(text)
    for k in ("started_at", "run_id", "duration_ms", "connections"):
        d.pop(k, None)
    for t in d["targets"]:
        for k in ("timings", "round_trips"):
            t.pop(k, None)
        if isinstance(t.get("backup"), dict):
            t["backup"].pop("duration_ms", None)
    for w in d["waves"] or []:
        for k in ("started_at", "duration_ms", "paused_ms"):
            w.pop(k, None)
    text = json.dumps(d, indent=1, sort_keys=True) + "\n"
# the run's start (JUnit's without its Z), a dump's name
text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?|\d{8}T\d{6}Z", "TIME", text)
# text, Markdown and HTML durations; JUnit's time="s.sss" and HTML's data-ms
text = re.sub(r"\b\d+(\.\d+)? ?(ms|s)\b", "DURATION", text)
text = re.sub(r'\b(time|data-ms)="[0-9.]+"', r'\1="DURATION"', text)
# Prometheus: the run's start and the durations
text = re.sub(r"^(pgfleet_(run|target_last_run)_timestamp_seconds|pgfleet_(run|target)_duration_seconds)"
              r"(\{[^}]*\}) .*$", r"\1\4 N", text, flags=re.M)
sys.stdout.write(text)
PY
}
FORMATS="text json junit prometheus markdown html"
twin_states
for k in 0 1 2; do
    pf twin_$k apply -i "$TWIN" --backup-dir "$PF_TMP/dumps" --shard "$k/$N" -f json -o "$PF_TMP/twin_$k.json"
done
for fmt in $FORMATS; do
    pf "merged_$fmt" merge "$PF_TMP"/twin_{0,1,2}.json -f "$fmt" -o "$PF_TMP/merged.$fmt"
    assert_eq 2 "$RC" "merge -f $fmt: exit 2 (a2 failed)"
    twin_states
    pf "single_$fmt" apply -i "$TWIN" --backup-dir "$PF_TMP/dumps" -f "$fmt" -o "$PF_TMP/single.$fmt"
    assert_eq 2 "$RC" "the single run -f $fmt: exit 2"
    assert_lines "$(norm "$fmt" "$PF_TMP/single.$fmt")" "$(norm "$fmt" "$PF_TMP/merged.$fmt")" \
        "apply -f $fmt: the merged report is the single run's (times aside)"
done
# What the comparison covers is there: a dump, the failure, the refusals, the modified cell.
assert_contains "$(cat "$PF_TMP/merged.text")" "    backup: $PF_TMP/dumps/a4/" "the merged text names a4's dump"
assert_eq "applied:8 failed:1 refused:2 unchanged:1" \
    "$(jget "$PF_TMP/merged.json" '" ".join("%s:%d" % (k, v) for k, v in sorted(d["outcomes"].items()) if v)')" \
    "merged outcomes: a2 failed, b1 and a5 refused, a3 unchanged, the rest applied"
assert_contains "$(grep 'data-target="b1"' "$PF_TMP/merged.html" | head -n 1)" "<td class=m>!" \
    "the merged matrix marks b1's edited migration modified"
assert_contains "$(grep 'data-target="a5"' "$PF_TMP/merged.html" | head -n 1)" 'data-ahead="1"' \
    "and a5's ledger row ahead"

# Read-only commands over the fleet as the last apply left it, with an index added by hand to a4:
# plan, plan --rollback (with a down file for 0001) and audit --drift (the scratch databases on
# this cluster). a2's ledger is empty (its apply failed): plan --rollback has nothing of it to
# undo.
printf 'drift:\n  scratch_dsn: "%s"\n' "$(pf_dsn postgres)" >>"$TWIN"
pg_psql a4 'CREATE INDEX items_id_idx ON items (id)' >/dev/null
mkdir -p "$MIG/down"
printf 'ALTER TABLE "items" DROP COLUMN "n";\n' >"$MIG/down/0001_more.sql"
for spec in "plan|plan" "rollback|plan --rollback --steps 1" "audit|audit --drift"; do
    c=${spec%%|*}
    cmd=${spec#*|}
    want=1 # b1 and a5 (and a2) not in sync: apply or rollback would refuse them
    # shellcheck disable=SC2086
    for k in 0 1 2; do
        pf ${c}_$k $cmd -i "$TWIN" --shard "$k/$N" -f json -o "$PF_TMP/${c}_$k.json"
    done
    for fmt in $FORMATS; do
        pf "merged_${c}_$fmt" merge "$PF_TMP"/${c}_{0,1,2}.json -f "$fmt" -o "$PF_TMP/merged_$c.$fmt"
        merged_rc=$RC
        # shellcheck disable=SC2086
        pf "single_${c}_$fmt" $cmd -i "$TWIN" -f "$fmt" -o "$PF_TMP/single_$c.$fmt"
        assert_eq "$want $want" "$RC $merged_rc" "${cmd%% -t *} -f $fmt: the single run and merge exit $want"
        [ "$RC $merged_rc" = "$want $want" ] ||
            cat "$PF_TMP/single_${c}_$fmt.err" "$PF_TMP/merged_${c}_$fmt.err" "$PF_TMP/${c}_0.err" >&2
        assert_lines "$(norm "$fmt" "$PF_TMP/single_$c.$fmt")" "$(norm "$fmt" "$PF_TMP/merged_$c.$fmt")" \
            "${cmd%% -t *} -f $fmt: the merged report is the single run's (times aside)"
    done
done
assert_contains "$(cat "$PF_TMP/merged_audit.text")" "drifted: 1 difference from the schema through 0001_more" \
    "the merged audit --drift says a4 drifted"
assert_contains "$(cat "$PF_TMP/merged_rollback.text")" "    would roll back: 0001_more" \
    "the merged plan --rollback says what would be undone"

# --- waves: one job per wave, the threshold on the merged wave ------------------------------------------
for db in "${DBS[@]}"; do
    pg_psql "$db" 'SET client_min_messages = warning; DROP SCHEMA IF EXISTS drizzle CASCADE; DROP TABLE IF EXISTS items' >/dev/null
done
printf 'waves:\n  - {name: early, targets: ["b*"], max_failures: 0}\n  - {name: rest, select: all, max_failures: 20%%}\n' >>"$INV"
break_with a1 items
break_with a2 items
for k in 0 1 2; do
    pf w_$k apply -i "$INV" --wave rest --shard "$k/$N" -f json -o "$PF_TMP/w_$k.json"
done
pf wave_ok merge "$PF_TMP"/w_{0,1,2}.json --wave rest --check-threshold -o "$PF_TMP/w.txt"
assert_eq 0 "$RC" "2 failures of 10 within max_failures 20%: go on (exit 0)"
assert_eq "pgfleet merge: wave rest: 2 failures of 10 targets, max_failures 20% allows 2: go on" \
    "$(cat "$PF_TMP/wave_ok.err")" "the verdict, with the counts over every shard"
pg_psql a3 'SET client_min_messages = warning; DROP SCHEMA drizzle CASCADE; DROP TABLE items' >/dev/null
break_with a3 items
for k in 0 1 2; do
    pf w2_$k apply -i "$INV" --wave rest --shard "$k/$N" -f json -o "$PF_TMP/w2_$k.json"
done
pf wave_halt merge "$PF_TMP"/w2_{0,1,2}.json --wave rest --check-threshold -f json -o "$PF_TMP/w2.json"
assert_eq 2 "$RC" "3 failures of 10 over 20%: halt (exit 2), counted over every shard"
assert_eq "pgfleet merge: halt: wave rest halted the rollout: 3 failures > max_failures 20% (2 of 10 targets)" \
    "$(cat "$PF_TMP/wave_halt.err")" "the halt says why"
assert_eq "true 3" "$(jget "$PF_TMP/w2.json" '" ".join(show(w[k]) for w in d["waves"] if w["name"] == "rest" for k in ("halted", "failures"))')" \
    "the merged report's wave halted, with 3 failures"
pf wave_none merge "$PF_TMP"/w2_{0,1,2}.json --wave early --check-threshold
assert_eq 3 "$RC" "a wave these shards did not run: exit 3"

# --- -o +FILE appends ---------------------------------------------------------------------------------
echo "# summary" >"$PF_TMP/summary.md"
pf app1 plan -i "$INV" -t a4 -f markdown -o "+$PF_TMP/summary.md"
pf app2 merge "$PF_TMP"/w2_{0,1,2}.json -f markdown -o "+$PF_TMP/summary.md"
assert_eq "# summary" "$(head -n 1 "$PF_TMP/summary.md")" "-o +FILE keeps what FILE held"
assert_eq 2 "$(grep -c '^### pgfleet' "$PF_TMP/summary.md")" "and appends each report after it"
pf app3 plan -i "$INV" -t a4 -f markdown -o "+$PF_TMP/new.md"
assert_eq "$(cat "$PF_TMP/app1.out" "$PF_TMP/new.md" | grep -c '^### pgfleet')" "1" \
    "-o +FILE creates a missing FILE, and nothing goes to stdout"

pf_done
