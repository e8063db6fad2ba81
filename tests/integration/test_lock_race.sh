# Lock races with lock_wait 0: five `pgfleet apply -j 8` at once on 30 databases, several
# rounds, while on some databases another session takes and lets go of the same advisory lock
# in a tight loop. A holder that lets go between pgfleet's attempt and its question "who holds
# it?" leaves nobody to report: pgfleet tries the lock again, never crashes. Every run ends
# with a report (exit 0 or 2, never a signal), every target is applied, unchanged or locked
# with a holder pid, each migration is in each ledger exactly once, no advisory lock is left,
# and a last run converges (exit 0, all in sync).
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

KEY=4242
DBS=()
for i in $(seq -w 1 30); do DBS+=("race$i"); done
pg_createdb "${DBS[@]}"

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_base $((W + 1000)) 'CREATE TABLE "items" ("id" serial PRIMARY KEY, "name" text);'
mig_add "$MIG" 0001_more $((W + 2000)) 'ALTER TABLE "items" ADD COLUMN "price" numeric;'
WANT="$(file_hash "$MIG/0000_base.sql") $((W + 1000))
$(file_hash "$MIG/0001_more.sql") $((W + 2000))
tables: items"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "lock_wait: 0, lock_key: $KEY" "${DBS[@]}"

# Flappers: take and release the lock in a loop for about 20 s (session-level advisory locks
# are not transactional, so each call takes effect at once inside the DO block).
for db in race01 race02 race03 race04 race05 race06; do
    PGAPPNAME=race-flapper psql -X -q -d "$db" -c "DO \$\$ BEGIN FOR i IN 1..20000 LOOP
        PERFORM pg_advisory_lock($KEY); PERFORM pg_advisory_unlock($KEY);
        IF i % 100 = 0 THEN PERFORM pg_sleep(0.1); END IF; END LOOP; END \$\$" \
        >/dev/null 2>&1 &
    PF_BG_PIDS+=("$!")
done

bad_rc="" bad_outcome=""
for round in 1 2 3 4; do
    pids=()
    for r in 1 2 3 4 5; do
        "$PGFLEET" apply -i "$INV" -j 8 -f json -o "$PF_TMP/r$round-$r.json" \
            >"$PF_TMP/r$round-$r.out" 2>"$PF_TMP/r$round-$r.err" &
        pids+=("$!")
    done
    for r in 1 2 3 4 5; do
        rc=0
        wait "${pids[$((r - 1))]}" || rc=$?
        case $rc in
        0 | 2) ;;
        *) bad_rc+=" round$round/run$r:rc=$rc($(head -c 300 "$PF_TMP/r$round-$r.err"))" ;;
        esac
        [ -s "$PF_TMP/r$round-$r.json" ] || { bad_rc+=" round$round/run$r:no-report"; continue; }
        bad_outcome+=$("$PF_PY" - "$PF_TMP/r$round-$r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for t in d["targets"]:
    o = t["outcome"]
    if o in ("applied", "unchanged"):
        continue
    h = t["lock"]["holder"] or {}
    if o == "failed" and t["status"] == "locked" and h.get("pid", 0) > 0 \
            and isinstance(h.get("application_name"), str) \
            and t["error"]["message"].startswith("lock held by pid %d " % h["pid"]):
        continue
    out.append(f' {t["name"]}:{o}:{t["status"]}:{(t["error"] or {}).get("message")}')
print("".join(out), end="")
PY
)
    done
done
assert_eq "" "$bad_rc" "every concurrent run ended with a report, exit 0 or 2 (no crash)"
assert_eq "" "$bad_outcome" "every target was applied, unchanged, or locked with its holder named"

# Stop the flappers on the server: a psql client killed mid-statement leaves its backend
# running the loop, still taking the lock, until the loop ends.
lock_release race-flapper
for p in "${PF_BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${PF_BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PF_BG_PIDS=()

bad=""
for db in "${DBS[@]}"; do
    [ "$(db_state "$db")" = "$WANT" ] || bad+=" $db"
done
assert_eq "" "$bad" "each migration is in each ledger exactly once"
assert_eq "" "$(pg_psql postgres "select string_agg(format('%s:%s:%s', d.datname,
        a.application_name, l.mode), ' ') from pg_locks l join pg_database d on d.oid = l.database
        left join pg_stat_activity a using (pid) where l.locktype = 'advisory'")" \
    "no advisory lock is left behind"

pf final apply -i "$INV" -j 8
assert_eq 0 "$RC" "a last run converges: exit 0"
pf audit audit -i "$INV" -j 8
assert_eq 0 "$RC" "audit: every target in sync"

pf_done
