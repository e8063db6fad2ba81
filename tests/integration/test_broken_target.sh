# Five good targets, one on a closed port, one naming a database that does not exist: apply
# migrates the good ones, reports the two bad ones unreachable with libpq's reason, exits 2.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

GOOD=(good1 good2 good3 good4 good5)
pg_createdb "${GOOD[@]}"
CLOSED_PORT=$(pf_free_port)

MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((PF_WHEN0 + 1000)) \
    'CREATE TABLE "accounts" ("id" serial PRIMARY KEY NOT NULL);' \
    'CREATE TABLE "invoices" ("id" serial PRIMARY KEY NOT NULL, "account_id" integer);'
mig_add "$MIG" 0001_more $((PF_WHEN0 + 2000)) \
    'ALTER TABLE "invoices" ADD COLUMN "total" numeric;'
WANT="$(file_hash "$MIG/0000_init.sql") $((PF_WHEN0 + 1000))
$(file_hash "$MIG/0001_more.sql") $((PF_WHEN0 + 2000))
tables: accounts invoices"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "connect_timeout: 5s" good1 good2 good3
inv_add_target "$INV" closed-port "postgresql://postgres@127.0.0.1:$CLOSED_PORT/good1"
inv_add_target "$INV" no-such-db "host=127.0.0.1 port=$PGPORT user=postgres dbname=no_such_db"
printf '  - name: %s\n    dsn: "%s"\n' good4 "$(pf_dsn good4)" good5 "$(pf_dsn good5)" >>"$INV"

# --- apply, JSON report ---------------------------------------------------------------------
pf apply apply -i "$INV" -j 3 -f json
assert_eq 2 "$RC" "apply with two unreachable targets exits 2"
R=$PF_TMP/apply.out
assert_eq 2 "$(jget "$R" 'd["exit_code"]')" "report exit_code 2"
assert_lines "good1 uninitialized applied
good2 uninitialized applied
good3 uninitialized applied
closed-port unreachable failed
no-such-db unreachable failed
good4 uninitialized applied
good5 uninitialized applied" "$(jtargets "$R" 't["status"] + " " + t["outcome"]')" \
    "good targets applied, the bad ones unreachable/failed, in inventory order"
assert_eq 2 "$(jget "$R" 'd["counts"]["unreachable"]')" "counts.unreachable = 2"
assert_eq 5 "$(jget "$R" 'd["outcomes"]["applied"]')" "outcomes.applied = 5"
assert_eq 2 "$(jget "$R" 'd["outcomes"]["failed"]')" "outcomes.failed = 2"

MSG_PORT=$(jt "$R" closed-port 't["error"]["message"]')
assert_contains "$MSG_PORT" "Connection refused" "closed port: libpq's reason in error.message"
assert_contains "$MSG_PORT" "$CLOSED_PORT" "closed port: the message names the port"
MSG_DB=$(jt "$R" no-such-db 't["error"]["message"]')
echo "observed: closed-port: $MSG_PORT"
echo "observed: no-such-db: $MSG_DB"
assert_contains "$MSG_DB" 'database "no_such_db" does not exist' \
    "missing database: libpq's reason in error.message"
assert_eq "null null" "$(jt "$R" closed-port 'show(t["server"]) + " " + show(t["pending"] or None)')" \
    "closed port: no server identity, nothing pending"
assert_eq "[]" "$(jt "$R" no-such-db 'json.dumps(t["applied"])')" "missing database: nothing applied"
assert_not_contains "$(jt "$R" closed-port 't["error"]')" '"migration"' \
    "closed port: the error is not a statement failure"

for db in "${GOOD[@]}"; do
    assert_lines "$WANT" "$(db_state "$db")" "$db migrated despite the broken targets"
done
assert_eq 0 "$(pg_psql postgres "select count(*) from pg_database where datname = 'no_such_db'")" \
    "pgfleet did not create the missing database"

# --- apply again, text report ---------------------------------------------------------------------
pf apply_text apply -i "$INV"
assert_eq 2 "$RC" "second apply (text) exits 2"
OUT=$(pf_out apply_text)
assert_contains "$OUT" "closed-port" "text report names closed-port"
assert_contains "$OUT" "no-such-db" "text report names no-such-db"
assert_eq 1 "$(grep -c '^closed-port  *unreachable .*Connection refused' <<<"$OUT" || true)" \
    "text report row: closed-port unreachable with the reason"
assert_eq 1 "$(grep -c '^no-such-db  *unreachable .*does not exist' <<<"$OUT" || true)" \
    "text report row: no-such-db unreachable with the reason"
assert_eq 5 "$(grep -c '^good[1-5]  *in_sync ' <<<"$OUT" || true)" "text report: 5 good targets in_sync"
assert_contains "$OUT" "7 targets: 5 in_sync, 2 unreachable" "text summary line"

# --- plan and audit see the same ----------------------------------------------------------------
pf plan plan -i "$INV" -f json
assert_eq 2 "$RC" "plan with unreachable targets exits 2"
assert_eq "unreachable unreachable" \
    "$(jget "$PF_TMP/plan.out" '[t["status"] for t in d["targets"] if not t["name"].startswith("good")]')" \
    "plan: both bad targets unreachable"
pf audit audit -i "$INV"
assert_eq 2 "$RC" "audit with unreachable targets exits 2"
pf audit_good audit -i "$INV" -t 'good*'
assert_eq 0 "$RC" "audit of the good targets only exits 0"

pf_done
