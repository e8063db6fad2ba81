# A failing statement: the report names the migration, the statement, the SQLSTATE and the
# server's message; nothing of the failed transaction remains (with the default
# `transaction: all`, nothing but the empty ledger, which drizzle creates before its
# transaction); with `transaction: per-migration` the migrations before the failing one stay
# committed; the failed transaction is rolled back before anything else is sent on the session;
# a migration that edits the ledger fails verification.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb fail_all fail_behind fail_syntax fail_per

W=$PF_WHEN0
# 0001_two fails at its 2nd statement (a missing relation). The UTF-8 comments shift byte
# offsets away from character offsets.
BAD=$PF_TMP/bad_relation
mig_add "$BAD" 0000_one $((W + 1000)) \
    '-- café ☕ naïve ünïcödé' \
    'CREATE TABLE "one" ("id" integer, "label" text DEFAULT '"'"'é'"'"');' \
    'CREATE TABLE "one_b" ("id" integer);'
mig_add "$BAD" 0001_two $((W + 2000)) \
    'CREATE TABLE "two" ("id" integer); -- ☕☕☕' \
    'INSERT INTO "missing_table" ("id") VALUES (1);' \
    'CREATE TABLE "two_c" ("id" integer);'
mig_add "$BAD" 0002_three $((W + 3000)) \
    'CREATE TABLE "three" ("id" integer);'
# The same, but the failure is a syntax error in the 3rd statement of the 3rd migration: the
# server rejects the whole batch before running anything.
SYN=$PF_TMP/bad_syntax
cp -r "$BAD" "$SYN"
mig_add "$SYN" 0001_two $((W + 2000)) \
    'CREATE TABLE "two" ("id" integer); -- ☕☕☕' \
    'CREATE TABLE "two_b" ("id" integer);'
mig_add "$SYN" 0002_three $((W + 3000)) \
    'CREATE TABLE "three" ("id" integer); -- ü' \
    'CREATE INDEX "three_idx" ON "three" ("id");' \
    'ALTER TABLE "three" ADD COLUMN "x" integer DEFAULTT 1;' \
    'CREATE TABLE "three_d" ("id" integer);'

H0=$(file_hash "$BAD/0000_one.sql")

# --- transaction: all, uninitialized target ------------------------------------------------------
INV=$PF_TMP/all.yaml
inv_write "$INV" "$BAD" "" fail_all
pf all apply -i "$INV" -f json
assert_eq 2 "$RC" "failing migration: apply exits 2"
R=$PF_TMP/all.out
assert_eq "uninitialized failed" "$(jt "$R" fail_all 't["status"] + " " + t["outcome"]')" \
    "status uninitialized, outcome failed"
assert_eq "0001_two" "$(jt "$R" fail_all 't["error"]["migration"]')" "error.migration = 0001_two"
assert_eq "2" "$(jt "$R" fail_all 't["error"]["statement"]')" "error.statement = 2"
assert_eq "42P01" "$(jt "$R" fail_all 't["error"]["sqlstate"]')" "error.sqlstate = 42P01"
assert_contains "$(jt "$R" fail_all 't["error"]["server_message"]')" \
    'relation "missing_table" does not exist' "error.server_message names the relation"
MSG=$(jt "$R" fail_all 't["error"]["message"]')
echo "observed: error.message: $MSG"
assert_contains "$MSG" "0001_two" "error.message names the migration"
assert_contains "$MSG" "missing_table" "error.message carries the server's message"
assert_eq "[]" "$(jt "$R" fail_all 'json.dumps(t["applied"])')" "nothing reported as applied"
assert_eq "t" "$(has_schema fail_all drizzle)" \
    "the ledger stays: created before the migrations' transaction, as drizzle creates it"
assert_lines "tables: " "$(db_state fail_all)" "an empty ledger, and no table of migration 1 or 2"

pf all_text apply -i "$INV"
assert_eq 2 "$RC" "failing migration (text report): exit 2"
assert_contains "$(pf_out all_text)" "0001_two" "text report names the failing migration"
assert_contains "$(pf_out all_text)" 'relation "missing_table" does not exist' \
    "text report shows the server's message"
assert_contains "$(pf_out all_text)" "42P01" "text report shows the SQLSTATE"

# --- transaction: all, a target that already has migration 1 ---------------------------------
ONE=$PF_TMP/only_one
mig_add "$ONE" 0000_one $((W + 1000))
cp "$BAD/0000_one.sql" "$ONE/0000_one.sql"
inv_write "$PF_TMP/behind.yaml" "$BAD" "" fail_behind
pf behind_prep apply -i "$PF_TMP/behind.yaml" -m "$ONE"
assert_eq 0 "$RC" "preparing a target with migration 1 applied"
pf behind apply -i "$PF_TMP/behind.yaml" -f json
assert_eq 2 "$RC" "behind target, failing migration 2: exit 2"
R=$PF_TMP/behind.out
assert_eq "behind failed 0001_two 2 42P01" \
    "$(jt "$R" fail_behind 't["status"] + " " + t["outcome"] + " " + t["error"]["migration"] + " " + str(t["error"]["statement"]) + " " + t["error"]["sqlstate"]')" \
    "behind target: status, outcome, migration, statement, sqlstate"
assert_lines "$H0 $((W + 1000))
tables: one one_b" "$(db_state fail_behind)" "behind target: ledger and tables as before"

# --- a syntax error in a later statement ---------------------------------------------------------
inv_write "$PF_TMP/syntax.yaml" "$SYN" "" fail_syntax
pf syntax apply -i "$PF_TMP/syntax.yaml" -f json
assert_eq 2 "$RC" "syntax error: apply exits 2"
R=$PF_TMP/syntax.out
assert_eq "failed" "$(jt "$R" fail_syntax 't["outcome"]')" "syntax error: outcome failed"
assert_eq "0002_three" "$(jt "$R" fail_syntax 't["error"]["migration"]')" \
    "syntax error: error.migration = 0002_three"
assert_eq "3" "$(jt "$R" fail_syntax 't["error"]["statement"]')" "syntax error: error.statement = 3"
assert_eq "42601" "$(jt "$R" fail_syntax 't["error"]["sqlstate"]')" "syntax error: error.sqlstate = 42601"
assert_contains "$(jt "$R" fail_syntax 't["error"]["server_message"]')" "DEFAULTT" \
    "syntax error: server_message quotes the offending token"
echo "observed: syntax error.message: $(jt "$R" fail_syntax 't["error"]["message"]')"
assert_lines "no ledger
tables: " "$(db_state fail_syntax)" "syntax error: nothing was run"

# The syntax error in the 2nd statement of the 1st migration: same mapping, other span.
SYN1=$PF_TMP/bad_syntax_first
mig_add "$SYN1" 0000_one $((W + 1000)) \
    'CREATE TABLE "s1" ("id" integer); -- ☕' \
    'CREATE TABLE "s2" ("id" integer'
pf syntax1 apply -i "$PF_TMP/syntax.yaml" -m "$SYN1" -f json
assert_eq 2 "$RC" "syntax error (unterminated statement) in migration 1: exit 2"
assert_eq "0000_one 2 42601" \
    "$(jt "$PF_TMP/syntax1.out" fail_syntax 'show(t["error"]["migration"]) + " " + show(t["error"]["statement"]) + " " + show(t["error"]["sqlstate"])')" \
    "syntax error in migration 1 statement 2: named correctly"

# --- transaction: per-migration ----------------------------------------------------------------
inv_write "$PF_TMP/per.yaml" "$BAD" "transaction: per-migration" fail_per
pf per apply -i "$PF_TMP/per.yaml" -f json
assert_eq 2 "$RC" "per-migration: apply exits 2"
R=$PF_TMP/per.out
assert_eq "uninitialized failed 0001_two 2 42P01" \
    "$(jt "$R" fail_per 't["status"] + " " + t["outcome"] + " " + t["error"]["migration"] + " " + str(t["error"]["statement"]) + " " + t["error"]["sqlstate"]')" \
    "per-migration: status, outcome, migration, statement, sqlstate"
assert_eq '["0000_one"]' "$(jt "$R" fail_per 'json.dumps(t["applied"])')" \
    "per-migration: the report lists 0000_one as applied"
assert_lines "$H0 $((W + 1000))
tables: one one_b" "$(db_state fail_per)" \
    "per-migration: migration 1 stays committed (1 ledger row, its tables), migration 2 does not"

pf per_audit audit -i "$PF_TMP/per.yaml" -f json
assert_eq 1 "$RC" "per-migration: audit afterwards exits 1"
assert_eq "behind 0001_two 0002_three" \
    "$(jt "$PF_TMP/per_audit.out" fail_per 't["status"] + " " + show(t["pending"])')" \
    "per-migration: audit says behind with 0001_two 0002_three pending"

# --- a migration that edits the ledger: apply verifies what it applied ---------------------------
# 0001_tamper rewrites 0000_one's ledger row: every statement succeeds, but the ledger read back
# afterwards has a modified row, so the target is failed, not applied.
pg_createdb fail_verify
TAMPER=$PF_TMP/tamper
cp -r "$ONE" "$TAMPER"
mig_add "$TAMPER" 0001_tamper $((W + 2000)) \
    'UPDATE "drizzle"."__drizzle_migrations" SET "hash" = '"'"'tampered'"'"';'
inv_write "$PF_TMP/verify.yaml" "$TAMPER" "" fail_verify
pf verify_prep apply -i "$PF_TMP/verify.yaml" -m "$ONE"
assert_eq 0 "$RC" "verify: 0000_one applied first"
pf verify apply -i "$PF_TMP/verify.yaml" -f json
assert_eq 2 "$RC" "verify: a ledger that does not verify after apply: exit 2"
assert_eq "behind failed" "$(jt "$PF_TMP/verify.out" fail_verify 't["status"] + " " + t["outcome"]')" \
    "verify: outcome failed, not applied"
assert_contains "$(jt "$PF_TMP/verify.out" fail_verify 't["error"]["message"]')" \
    "verification failed: after applying, the ledger has 0 pending migration(s) and 1 problem(s)" \
    "verify: the error says what the ledger read back shows"

# After each failure above, pgfleet ended the failed transaction (ROLLBACK) before sending
# anything else on that session: the server refused none of its later statements (the unlock
# included), which it logs as "current transaction is aborted".
LOG=$PF_TMP/cluster/postgres.log
assert_eq 4 "$(grep -c 'ERROR:  relation "missing_table" does not exist' "$LOG" || true)" \
    "the server logs errors: the 4 failing runs on missing_table"
assert_eq "" "$(grep 'current transaction is aborted' "$LOG" || true)" \
    "no statement after a failure was refused: the failed transaction was rolled back"
assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "no advisory lock left behind"

pf_done
