# Two `pgfleet apply` runs started at once on the same 10 databases (lock_wait 30s): the
# advisory lock serializes them per target, so both exit 0, every migration is in every
# ledger exactly once, and for each target exactly one run applied and the other found it
# in_sync.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

DBS=()
for i in $(seq -w 1 10); do DBS+=("conc$i"); done
pg_createdb "${DBS[@]}"

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_base $((W + 1000)) \
    'CREATE TABLE "items" ("id" serial PRIMARY KEY NOT NULL, "name" text NOT NULL);'
mig_add "$MIG" 0001_slow $((W + 2000)) \
    'SELECT pg_sleep(0.3);' \
    'ALTER TABLE "items" ADD COLUMN "price" numeric;' \
    'INSERT INTO "items" ("name") VALUES ('"'"'first'"'"');'
mig_add "$MIG" 0002_more $((W + 3000)) \
    'CREATE TABLE "orders" ("id" serial PRIMARY KEY NOT NULL, "item_id" integer);'
WANT="$(file_hash "$MIG/0000_base.sql") $((W + 1000))
$(file_hash "$MIG/0001_slow.sql") $((W + 2000))
$(file_hash "$MIG/0002_more.sql") $((W + 3000))
tables: items orders"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "lock_wait: 30s" "${DBS[@]}"


START=$(date +%s%N)
"$PGFLEET" apply -i "$INV" -j 5 -f json -o "$PF_TMP/run1.json" >"$PF_TMP/run1.out" 2>"$PF_TMP/run1.err" &
P1=$!
PF_BG_PIDS+=("$P1")
"$PGFLEET" apply -i "$INV" -j 5 -f json -o "$PF_TMP/run2.json" >"$PF_TMP/run2.out" 2>"$PF_TMP/run2.err" &
P2=$!
PF_BG_PIDS+=("$P2")
RC1=0
wait "$P1" || RC1=$?
RC2=0
wait "$P2" || RC2=$?
PF_BG_PIDS=()
echo "observed: both runs took $((($(date +%s%N) - START) / 1000000)) ms"

assert_eq 0 "$RC1" "first concurrent apply exits 0 (stderr: $(cat "$PF_TMP/run1.err"))"
assert_eq 0 "$RC2" "second concurrent apply exits 0 (stderr: $(cat "$PF_TMP/run2.err"))"

bad=""
for db in "${DBS[@]}"; do
    [ "$(db_state "$db")" = "$WANT" ] || bad+=" $db"
    dup=$(pg_psql "$db" "select count(*) - count(distinct created_at) from drizzle.__drizzle_migrations")
    [ "$dup" = 0 ] || bad+=" $db(duplicates)"
    [ "$(pg_psql "$db" "select count(*) from items")" = 1 ] || bad+=" $db(items)"
done
assert_eq "" "$bad" "every db has each migration exactly once in the ledger (no duplicate created_at), and its data once"

OUTCOMES=$("$PF_PY" - "$PF_TMP/run1.json" "$PF_TMP/run2.json" <<'PY'
import json, sys
r1, r2 = (json.load(open(p)) for p in sys.argv[1:3])
o2 = {t["name"]: t for t in r2["targets"]}
for t in r1["targets"]:
    u = o2[t["name"]]
    pair = sorted([t["outcome"], u["outcome"]])
    applied = sorted(t["applied"] + u["applied"])
    print(t["name"], "/".join(pair), " ".join(applied))
waited = [n for r in (r1, r2) for n in [t["name"] for t in r["targets"]
          if t["outcome"] == "unchanged" and t["timings"]["total_ms"] >= 250]]
print("observed: targets where one run waited for the other's lock (>= 250 ms):",
      len(waited), file=sys.stderr)
PY
)
EXPECT=""
for db in "${DBS[@]}"; do EXPECT+="$db applied/unchanged 0000_base 0001_slow 0002_more"$'\n'; done
assert_lines "${EXPECT%$'\n'}" "$OUTCOMES" \
    "per target, one run applied all three migrations and the other found it in_sync (unchanged)"
echo "observed: run 1 applied $(jget "$PF_TMP/run1.json" 'd["outcomes"]["applied"]'), run 2 applied $(jget "$PF_TMP/run2.json" 'd["outcomes"]["applied"]') targets"

assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "no advisory lock left behind"

pf audit audit -i "$INV"
assert_eq 0 "$RC" "audit afterwards exits 0"

pf_done
