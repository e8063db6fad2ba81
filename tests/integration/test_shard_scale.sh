# Sharding at scale (docs/scale.md): 2,000 targets applied by 8 shard processes at once
# (--shard K/8), and the same targets in one run. Every target is applied by exactly one shard
# (no name in two shard reports, every ledger holds each migration once), and `pgfleet merge` of
# the 8 reports equals the single run's report: statuses, outcomes, pending and applied lists,
# errors, counts and the exit code. The fleet mixes every case apply meets: uninitialized,
# behind, in sync, modified (refused) and failing targets.
#
# PF_SCALE_TARGETS (2000) targets; PF_SCALE_LAYOUT `schemas` (default: tenant schemas, 50 to a
# database; the single run is on a twin fleet of as many databases) or `databases` (a database
# per target; the single run is on the same 2,000 databases, put back into their starting states
# after the sharded run: two fleets would take ~30 GB and 7 minutes to create on this machine).
# Prints the time the databases took to create and the disk they take, the wall time of both
# runs and the shard sizes; asserts no time.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

N=${PF_SCALE_TARGETS:-2000}
LAYOUT=${PF_SCALE_LAYOUT:-schemas}
SHARDS=8
PER_DB=50
[ "$LAYOUT" = databases ] && PER_DB=1
DBS=$(((N + PER_DB - 1) / PER_DB))

W=$PF_WHEN0
MIG1=$PF_TMP/v1
MIG=$PF_TMP/v2
mig_add "$MIG1" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
cp -r "$MIG1" "$MIG"
mig_add "$MIG" 0001_tags $((W + 2000)) 'CREATE TABLE "tags" ("id" integer);' \
    'ALTER TABLE "items" ADD COLUMN "tag" integer;'

# The fleets: a runs sharded; the single run is on TWIN, b (schemas) or a again (databases).
FLEETS="a b"
TWIN=b
if [ "$LAYOUT" = databases ]; then
    FLEETS=a
    TWIN=a
fi

now() { date +%s%N; }
# The fleets' databases, two psql sessions at a time.
tc0=$(now)
for fleet in $FLEETS; do
    for half in 0 1; do
        for i in $(seq $((1 + half)) 2 "$DBS"); do echo "CREATE DATABASE scale_${fleet}_$i;"; done |
            psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null &
    done
done
wait
tc1=$(now)
echo "figures: created $(echo $FLEETS | wc -w) x $DBS databases in $(((tc1 - tc0) / 1000000)) ms;" \
    "the cluster takes $(du -sm "$PF_TMP/cluster/pgdata" | cut -f1) MB"

# inventory FILE FLEET DIR: target t-NNNN in database (NNNN / PER_DB) + 1 of FLEET.
inventory() {
    "$PF_PY" - "$1" "$2" "$3" "$N" "$PER_DB" "$PGPORT" "$LAYOUT" <<'PY'
import sys
path, fleet, mig, n, per_db, port, layout = sys.argv[1:]
n, per_db = int(n), int(per_db)
with open(path, "w") as f:
    f.write(f'migrations: {{dir: "{mig}"}}\ndefaults: {{create_schema: true}}\ntargets:\n')
    for i in range(n):
        f.write(f"  - name: t-{i:04d}\n    dsn: postgresql://postgres@127.0.0.1:{port}/"
                f"scale_{fleet}_{i // per_db + 1}\n")
        if layout == "schemas":
            f.write(f"    schema: s_{i:04d}\n")
PY
}
for fleet in $FLEETS; do
    inventory "$PF_TMP/$fleet.yaml" "$fleet" "$MIG"
    inventory "$PF_TMP/${fleet}1.yaml" "$fleet" "$MIG1"
done

# psql_target FLEET I SQL: SQL where target t-I's migrations run (none when PF_SCALE_TARGETS
# leaves t-I out).
psql_target() {
    local i=$((10#$2))
    [ "$i" -lt "$N" ] || return 0
    if [ "$LAYOUT" = schemas ]; then
        pg_psql "scale_${1}_$((i / PER_DB + 1))" "SET search_path = s_$2; $3" >/dev/null
    else
        pg_psql "scale_${1}_$((i + 1))" "SET search_path = public, drizzle; $3" >/dev/null
    fi
}
# starting_states FLEET: t-19* behind (0000 applied), t-199* in sync, t-0007 and t-0421
# modified, t-0100 and t-1950 failing (0001's "tags" is there already), the rest uninitialized.
starting_states() {
    pf pre1_$1 apply -q -j 8 -i "$PF_TMP/${1}1.yaml" -t 't-19*' -t t-0007 -t t-0421 -t t-0100
    assert_eq 0 "$RC" "fleet $1: 0000 applied to t-19*, t-0007, t-0421, t-0100"
    pf pre2_$1 apply -q -j 8 -i "$PF_TMP/$1.yaml" -t 't-199*' -t t-0007 -t t-0421
    assert_eq 0 "$RC" "fleet $1: both applied to t-199*, t-0007, t-0421"
    psql_target "$1" 0007 "UPDATE __drizzle_migrations SET hash = 'edited' WHERE id = 1"
    psql_target "$1" 0421 "UPDATE __drizzle_migrations SET hash = 'edited' WHERE id = 2"
    psql_target "$1" 0100 'CREATE TABLE tags (id integer)'
    psql_target "$1" 1950 'CREATE TABLE tags (id integer)'
}
# each_database FLEET SQL: SQL in every database of FLEET, one psql session connecting to each in
# turn (a psql per database costs ~0.5 s here: 17 minutes for 2,000). :i is the database's number.
each_database() {
    local i
    for i in $(seq 1 "$DBS"); do
        printf '\\c scale_%s_%d\n\\set i %d\n%s\n' "$1" "$i" "$i" "$2"
    done | psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres
}
for fleet in $FLEETS; do
    starting_states $fleet
done

# --- fleet a: 8 shard processes at once ---------------------------------------------------------------
t0=$(now)
pids=()
for k in $(seq 0 $((SHARDS - 1))); do
    "$PGFLEET" apply -q -j 4 -i "$PF_TMP/a.yaml" --shard "$k/$SHARDS" -f json \
        -o "$PF_TMP/shard_$k.json" 2>"$PF_TMP/shard_$k.err" &
    pids+=($!)
done
codes=()
for p in "${pids[@]}"; do
    rc=0
    wait "$p" || rc=$?
    codes+=("$rc")
done
t1=$(now)
for k in $(seq 0 $((SHARDS - 1))); do
    assert_eq "${codes[$k]}" "$(jget "$PF_TMP/shard_$k.json" 'show(d["exit_code"])')" \
        "shard $k/$SHARDS ran to its report, and exited with the exit code it reports"
done

# --- every target in exactly one shard -----------------------------------------------------------------
"$PF_PY" - "$PF_TMP" "$SHARDS" "$N" >"$PF_TMP/shards.txt" <<'PY'
import json, sys, collections
tmp, shards, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = collections.Counter()
sizes = []
for k in range(shards):
    d = json.load(open(f"{tmp}/shard_{k}.json"))
    sizes.append(len(d["targets"]))
    seen.update(t["name"] for t in d["targets"])
print("twice:", sorted(x for x, c in seen.items() if c > 1))
print("missing:", sorted(set(f"t-{i:04d}" for i in range(n)) - set(seen)))
print("sizes:", " ".join(map(str, sizes)))
PY
assert_eq "twice: []" "$(sed -n 1p "$PF_TMP/shards.txt")" "no target in two shards"
assert_eq "missing: []" "$(sed -n 2p "$PF_TMP/shards.txt")" "no target left out"
echo "shard sizes: $(sed -n 3p "$PF_TMP/shards.txt" | cut -d' ' -f2-)"

# ledgers FLEET: "database.schema rows" for every ledger of the fleet, database by database.
ledgers() {
    each_database "$1" "SELECT :i || '.' || n.nspname || ' ' || (xpath('/row/c/text()',
        query_to_xml(format('SELECT count(*) AS c, count(DISTINCT hash) AS h FROM %I.%I',
        n.nspname, c.relname), false, true, '')))[1]::text FROM pg_class c JOIN pg_namespace
        n ON n.oid = c.relnamespace WHERE c.relname = '__drizzle_migrations' ORDER BY 1;"
}
ledgers a >"$PF_TMP/ledgers_a"
assert_eq "$N" "$(wc -l <"$PF_TMP/ledgers_a")" "fleet a: a ledger per target"
assert_eq "" "$(awk '$2 > 2' "$PF_TMP/ledgers_a")" "no ledger holds more than the 2 migrations"

# --- the twin fleet: one run ----------------------------------------------------------------------
if [ "$TWIN" = a ]; then
    # The same databases as the sharded run left them, put back into their starting states.
    tr0=$(now)
    each_database a 'SET client_min_messages = warning;
        DROP SCHEMA IF EXISTS drizzle CASCADE; DROP TABLE IF EXISTS items, tags;'
    assert_eq "" "$(each_database a "SELECT :i FROM pg_class WHERE relname IN
        ('__drizzle_migrations', 'items', 'tags')")" "fleet a reset: no ledger, items or tags left"
    starting_states a
    tr1=$(now)
    echo "figures: fleet a put back into its starting states in $(((tr1 - tr0) / 1000000)) ms"
fi
t2=$(now)
pf single apply -q -j 8 -i "$PF_TMP/$TWIN.yaml" -f json -o "$PF_TMP/single.json"
t3=$(now)
assert_eq 2 "$RC" "the single run: exit 2 (two targets failed)"
echo "figures: $N targets ($LAYOUT), $SHARDS shards with -j 4 each: $(((t1 - t0) / 1000000)) ms;" \
    "one run with -j 8: $(((t3 - t2) / 1000000)) ms"
ledgers "$TWIN" >"$PF_TMP/ledgers_b"
assert_lines "$(cat "$PF_TMP/ledgers_b")" "$(cat "$PF_TMP/ledgers_a")" \
    "the sharded run's ledgers hold as many rows as the single run's"

# --- the merged report is the single run's ------------------------------------------------------------
pf merge merge "$PF_TMP"/shard_*.json -f json -o "$PF_TMP/merged.json"
assert_eq 2 "$RC" "merge: the fleet's exit code, 2, as the single run's"
fleet_view() { # REPORT: what a run says of the fleet, without times, connections or places
    "$PF_PY" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keep = ("name", "started", "status", "outcome", "problems", "pending", "applied",
        "ledger_unknown", "applied_before", "ledger", "wave", "check")
print(json.dumps({"command": d["command"], "exit_code": d["exit_code"], "counts": d["counts"],
                  "outcomes": d["outcomes"], "interrupted": d["interrupted"],
                  "errors": {t["name"]: (t["error"] or {}).get("message") for t in d["targets"]},
                  "targets": [{k: t[k] for k in keep} for t in d["targets"]]}, indent=1))
PY
}
assert_lines "$(fleet_view "$PF_TMP/single.json")" "$(fleet_view "$PF_TMP/merged.json")" \
    "merged: statuses, outcomes, pending and applied lists, errors and counts as the single run's"
"$PF_PY" - "$PF_TMP/merged.json" >"$PF_TMP/tally.txt" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.Counter(f'{t["status"]}/{t["outcome"]}' for t in d["targets"])
print(" ".join(f"{k}:{v}" for k, v in sorted(c.items())))
PY
if [ "$N" = 2000 ]; then
    assert_eq "behind/applied:89 behind/failed:2 in_sync/unchanged:10 modified/refused:2 uninitialized/applied:1897" \
        "$(cat "$PF_TMP/tally.txt")" "merged: every case as the starting states make it"
fi

pf_done
