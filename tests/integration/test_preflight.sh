# Preflight warnings in plan (docs/preflight.md), each produced for real on a database: ADD
# COLUMN ... NOT NULL on a table with rows, SET NOT NULL over NULLs, CREATE EXTENSION that the
# connecting role cannot run (untrusted, not available, trusted without CREATE), a transaction
# older than preflight_long_xact, and a lock held on a table a pending migration touches (with
# their pids). Warnings change neither the status nor the exit code; apply --dry-run shows them,
# audit does not look; the real apply then fails where plan said it would. Then what the
# statement model decides: routine bodies (a BEGIN ATOMIC function's UPDATE is no backfill, a
# CALLed procedure's is, a table named in a body is touched), a chunk PostgreSQL 15 cannot
# parse (read with token rules, and said so), and tenant schemas in the names checked.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
# Preflight reads the migrations with PostgreSQL's own parser: the binary links libpg_query.
assert_contains "$(ldd "$PGFLEET")" "libpg_query.so" "ldd pgfleet shows libpg_query"
pg_psql postgres "CREATE ROLE pfapp LOGIN; CREATE ROLE pfnocreate LOGIN;" >/dev/null
pg_psql postgres "CREATE DATABASE pre_app OWNER pfapp" >/dev/null

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_base $((W + 1000)) \
    'CREATE TABLE "users" ("id" integer, "name" text);' \
    'CREATE TABLE "empty_t" ("id" integer);' \
    'CREATE TABLE "locked_t" ("id" integer);'
INV=$PF_TMP/fleet.yaml
dsn_as() { echo "postgresql://$1@127.0.0.1:$PGPORT/pre_app"; }
cat >"$INV" <<EOF
migrations: {dir: "$MIG"}
targets:
  - {name: as_app, dsn: "$(dsn_as pfapp)"}
  - {name: as_app_1s, dsn: "$(dsn_as pfapp)", preflight_long_xact: 1s}
  - {name: as_nocreate, dsn: "$(dsn_as pfnocreate)"}
  - {name: as_super, dsn: "$(dsn_as postgres)"}
EOF
pf prep apply -i "$INV" -t as_app
assert_eq 0 "$RC" "prepare: the base migration applied as pfapp"
pg_psql pre_app "INSERT INTO users VALUES (1, NULL), (2, 'b');
                 GRANT USAGE ON SCHEMA drizzle TO pfnocreate;
                 GRANT SELECT ON ALL TABLES IN SCHEMA drizzle, public TO pfnocreate;" >/dev/null

mig_add "$MIG" 0001_pending $((W + 2000)) \
    'ALTER TABLE "users" ADD COLUMN "age" integer NOT NULL;' \
    'ALTER TABLE "empty_t" ADD COLUMN "age" integer NOT NULL;' \
    'ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL;' \
    'ALTER TABLE "users" ALTER COLUMN "id" SET NOT NULL;' \
    'CREATE EXTENSION IF NOT EXISTS "pg_stat_statements";' \
    'CREATE EXTENSION IF NOT EXISTS "pgcrypto";' \
    'CREATE EXTENSION IF NOT EXISTS "no_such_ext";' \
    'ALTER TABLE "locked_t" ADD COLUMN "note" text;'
KINDS='[w["kind"] + ":" + show(w["statement"]) for w in t["warnings"]]'
MSG() { echo "[w['message'] + '; hint: ' + w['hint'] for w in t['warnings'] if w['statement'] == $1][0]"; }

# --- the statements' warnings ---------------------------------------------------------------
pf plan plan -i "$INV" -t as_app -f json
R=$PF_TMP/plan.out
assert_eq 0 "$RC" "plan with warnings exits 0: warnings do not change the exit code"
assert_eq "behind 0001_pending" "$(jt "$R" as_app 't["status"] + " " + ",".join(t["pending"])')" \
    "plan: status behind, as without warnings"
assert_eq "add_not_null:1 set_not_null:3 create_extension:5 create_extension:7" "$(jt "$R" as_app "$KINDS")" \
    "plan: one warning per statement that will fail (not the empty table, not the column without NULLs, not trusted pgcrypto)"
assert_eq "migration 0001_pending statement 1 adds NOT NULL column age to users, which has rows: it will fail; hint: add a default, or add the column nullable, backfill it, then set it NOT NULL" \
    "$(jt "$R" as_app "$(MSG 1)")" "add_not_null: the message and hint"
assert_eq "migration 0001_pending statement 3 sets column name of users NOT NULL, but it holds NULLs: it will fail; hint: backfill first (UPDATE users SET name = ... WHERE name IS NULL) in an earlier statement, or give the column a default" \
    "$(jt "$R" as_app "$(MSG 3)")" "set_not_null: the message and hint"
assert_eq "migration 0001_pending statement 5 creates extension pg_stat_statements, which pfapp cannot: pg_stat_statements is not trusted and pfapp is not a superuser; it will fail; hint: have a superuser run CREATE EXTENSION pg_stat_statements on this database before the migration" \
    "$(jt "$R" as_app "$(MSG 5)")" "create_extension (untrusted, not a superuser): the message and hint"
assert_eq "migration 0001_pending statement 7 creates extension no_such_ext, which is not available on this server: it will fail; hint: install the package that provides no_such_ext on the server (pg_available_extensions lists what is there)" \
    "$(jt "$R" as_app "$(MSG 7)")" "create_extension (not available): the message and hint"
assert_eq "0001_pending []" "$(jt "$R" as_app 't["warnings"][0]["migration"] + " " + json.dumps(t["warnings"][0]["pids"])')" \
    "a statement's warning names its migration, and no pids"
assert_eq 2 "$(jt "$R" as_app 't["round_trips"]')" "plan of a behind target with preflight: 2 round trips (survey with the ledger, preflight)"

pf nocreate plan -i "$INV" -t as_nocreate -f json
assert_eq "create_extension:6" "$(jt "$PF_TMP/nocreate.out" as_nocreate '[w["kind"] + ":" + show(w["statement"]) for w in t["warnings"] if w["statement"] == 6][0]')" \
    "a role without CREATE on the database: trusted pgcrypto warned too"
assert_eq "migration 0001_pending statement 6 creates extension pgcrypto, which pfnocreate cannot: pgcrypto is trusted but pfnocreate has no CREATE privilege on database pre_app; it will fail; hint: GRANT CREATE ON DATABASE pre_app TO pfnocreate, or create the extension beforehand as a superuser" \
    "$(jt "$PF_TMP/nocreate.out" as_nocreate "$(MSG 6)")" "create_extension (trusted, no CREATE): the message and hint"
pf super plan -i "$INV" -t as_super -f json
assert_eq "add_not_null:1 set_not_null:3 create_extension:7" "$(jt "$PF_TMP/super.out" as_super "$KINDS")" \
    "a superuser: only the extension that is not available"

pf plan_text plan -i "$INV" -t as_app
assert_contains "$(pf_out plan_text)" "    pending: 0001_pending
    warning: migration 0001_pending statement 1 adds NOT NULL column age to users, which has rows: it will fail; hint: add a default" \
    "text report: the warnings are printed under the target's row"
pf dry apply --dry-run -i "$INV" -t as_app -f json
assert_eq "0 plan $(jt "$R" as_app "$KINDS")" "$RC $(jget "$PF_TMP/dry.out" 'd["command"]') $(jt "$PF_TMP/dry.out" as_app "$KINDS")" \
    "apply --dry-run: the same warnings, exit 0"
pf audit audit -i "$INV" -t as_app -f json
assert_eq "1 []" "$RC $(jt "$PF_TMP/audit.out" as_app 'json.dumps(t["warnings"])')" "audit: no preflight (warnings [])"

# --- other sessions: a long transaction, a lock on a touched table ------------------------------------
# The sessions are pfapp's own: a role sees the transactions of other roles only as a superuser
# or a member of pg_read_all_stats (docs/preflight.md).
bg_session() { # APP SQL...: a background psql of pfapp on pre_app in one open transaction
    local app=$1
    shift
    local args=(-c "BEGIN") s
    for s in "$@"; do args+=(-c "$s"); done
    PGAPPNAME=$app PGUSER=pfapp psql -X -q -d pre_app "${args[@]}" -c "SELECT pg_sleep(50)" >"$PF_TMP/$app.log" 2>&1 &
    PF_BG_PIDS+=("$!")
    wait_for "select count(*) from pg_stat_activity where application_name = '$app' and state = 'active' and query like '%pg_sleep%'" 1 ||
        fail "the session $app did not start"
    pg_psql postgres "select pid from pg_stat_activity where application_name = '$app'"
}
LONG_PID=$(bg_session pf-long-xact "SELECT txid_current()")
LOCK_PID=$(bg_session pf-lock-holder "LOCK TABLE locked_t IN ACCESS SHARE MODE")
echo "observed: long transaction pid $LONG_PID, lock holder pid $LOCK_PID"
sleep 2

pf sessions plan -i "$INV" -t as_app -t as_app_1s -f json
R=$PF_TMP/sessions.out
assert_eq 0 "$RC" "plan with long transactions and locks: still exit 0"
assert_eq "add_not_null:1 set_not_null:3 create_extension:5 create_extension:7 lock:8" "$(jt "$R" as_app "$KINDS")" \
    "default threshold (60s): no long_transaction warning yet; the lock is reported"
assert_eq "add_not_null:1 set_not_null:3 create_extension:5 create_extension:7 long_transaction:null lock:8" \
    "$(jt "$R" as_app_1s "$KINDS")" "preflight_long_xact: 1s: the long transactions are reported too"
LX='[w for w in t["warnings"] if w["kind"] == "long_transaction"][0]'
assert_eq "$(printf '%s\n' "$LONG_PID" "$LOCK_PID" | sort -n | paste -sd' ')" \
    "$(jt "$R" as_app_1s "' '.join(str(p) for p in sorted($LX['pids']))")" \
    "long_transaction: the pids of both open transactions"
assert_contains "$(jt "$R" as_app_1s "$LX['message']")" "2 transactions open for more than 1s in database pre_app: pid " \
    "long_transaction: the message counts them and names the database"
assert_contains "$(jt "$R" as_app_1s "$LX['message']")" "pid $LONG_PID (pf-long-xact on 127.0.0.1, user pfapp, active) for " \
    "long_transaction: each session with its application, client, user, state and age"
LK='[w for w in t["warnings"] if w["kind"] == "lock"][0]'
assert_eq "$LOCK_PID" "$(jt "$R" as_app "' '.join(str(p) for p in $LK['pids'])")" "lock: the holder's pid"
assert_contains "$(jt "$R" as_app "$LK['message']")" \
    "table locked_t, which migration 0001_pending statement 8 touches, is locked by pid $LOCK_PID holding AccessShareLock (pf-lock-holder on 127.0.0.1, user pfapp, active, transaction open " \
    "lock: the table, the statement touching it, the holder, its lock mode and age"
assert_eq "0001_pending 8" "$(jt "$R" as_app "$LK['migration'] + ' ' + show($LK['statement'])")" \
    "lock: the warning names the first statement touching the table"

pg_psql postgres "select pg_terminate_backend(pid) from pg_stat_activity where application_name in ('pf-long-xact', 'pf-lock-holder')" >/dev/null
wait_for "select count(*) from pg_stat_activity where application_name in ('pf-long-xact', 'pf-lock-holder')" 0 ||
    fail "the background sessions did not go away"

# --- plan was right: apply fails on statement 1 ----------------------------------------------------
pf apply apply -i "$INV" -t as_app -f json
assert_eq "2 failed 1" "$RC $(jt "$PF_TMP/apply.out" as_app 't["outcome"] + " " + show(t["error"]["statement"])')" \
    "apply fails where plan warned: statement 1"
assert_contains "$(jt "$PF_TMP/apply.out" as_app 't["error"]["message"]')" 'column "age" of relation "users" contains null values' \
    "apply's error is the one predicted"

# --- statements inside routine bodies, backfills, a chunk the parser refuses ----------------------
# A database and folder of their own, so that the cases above keep their numbers.
pg_psql postgres "CREATE DATABASE pre_body OWNER pfapp" >/dev/null
BMIG=$PF_TMP/drizzle_body
mig_add "$BMIG" 0000_base $((W + 1000)) \
    'CREATE TABLE "t_atomic" ("id" integer, "v" text);' \
    'CREATE TABLE "t_backfill" ("id" integer, "v" text);' \
    'CREATE TABLE "t_called" ("id" integer, "v" text);' \
    'CREATE TABLE "t_newer" ("id" integer, "g" integer);'
BINV=$PF_TMP/body.yaml
printf '%s\n' "migrations: {dir: \"$BMIG\"}" "targets:" \
    "  - {name: body, dsn: \"postgresql://pfapp@127.0.0.1:$PGPORT/pre_body\"}" >"$BINV"
pf body_prep apply -i "$BINV"
assert_eq 0 "$RC" "prepare: the body folder's base applied"
pg_psql pre_body "INSERT INTO t_atomic VALUES (1, NULL); INSERT INTO t_backfill VALUES (1, NULL);
                  INSERT INTO t_called VALUES (1, NULL); INSERT INTO t_newer VALUES (1, 1);" >/dev/null
mig_add "$BMIG" 0001_bodies $((W + 2000)) \
    'CREATE FUNCTION "fill_atomic"() RETURNS void LANGUAGE sql BEGIN ATOMIC UPDATE "t_atomic" SET "v" = '"'x'"' WHERE "v" IS NULL; END;' \
    'ALTER TABLE "t_atomic" ALTER COLUMN "v" SET NOT NULL;' \
    'UPDATE "t_backfill" SET "v" = '"'x'"' WHERE "v" IS NULL;' \
    'ALTER TABLE "t_backfill" ALTER COLUMN "v" SET NOT NULL;' \
    'CREATE PROCEDURE "fill_called"() LANGUAGE sql AS $$ UPDATE "t_called" SET "v" = '"'x'"' WHERE "v" IS NULL $$;' \
    'CALL "fill_called"();' \
    'ALTER TABLE "t_called" ALTER COLUMN "v" SET NOT NULL;'
# Syntax of PostgreSQL 17 (SET EXPRESSION): PostgreSQL 15's parser refuses the chunk.
mig_add "$BMIG" 0002_newer $((W + 3000)) \
    'ALTER TABLE "t_newer" ADD COLUMN "n" integer NOT NULL;
ALTER TABLE "t_newer" ALTER COLUMN "g" SET EXPRESSION AS (2);'
pf body_plan plan -i "$BINV" -f json
R=$PF_TMP/body_plan.out
assert_eq "0 behind" "$RC $(jt "$R" body 't["status"]')" "plan of the bodies: behind, exit 0"
assert_eq "unparsed:1 set_not_null:2 add_not_null:1" "$(jt "$R" body "$KINDS")" \
    "a BEGIN ATOMIC function's UPDATE is no backfill (statement 2 warned); an UPDATE before and a CALLed procedure's UPDATE are; the chunk the parser refuses is said so and still checked"
assert_eq "migration 0001_bodies statement 2 sets column v of t_atomic NOT NULL, but it holds NULLs: it will fail; hint: backfill first (UPDATE t_atomic SET v = ... WHERE v IS NULL) in an earlier statement, or give the column a default" \
    "$(jt "$R" body "[w['message'] + '; hint: ' + w['hint'] for w in t['warnings'] if w['kind'] == 'set_not_null'][0]")" \
    "set_not_null after a BEGIN ATOMIC function: the message and hint"
assert_eq "migration 0002_newer statement 1 is not SQL that PostgreSQL 15's parser reads (syntax error at or near \"EXPRESSION\", line 2, column 44 of the file): preflight read it with token rules only; hint: psql meta-commands and syntax newer than PostgreSQL 15 are not understood; check this statement against the server by hand" \
    "$(jt "$R" body "[w['message'] + '; hint: ' + w['hint'] for w in t['warnings'] if w['kind'] == 'unparsed'][0]")" \
    "unparsed: the parser's error, where, and how the chunk was read"
assert_eq 2 "$(jt "$R" body 't["round_trips"]')" "the bodies' plan: still 2 round trips"

# A lock on a table that only a routine's body names before statement 7 (t_called: statement 5).
PGAPPNAME=pf-body-lock PGUSER=pfapp psql -X -q -d pre_body -c "BEGIN" \
    -c "LOCK TABLE t_called IN SHARE MODE" -c "SELECT pg_sleep(50)" >"$PF_TMP/body-lock.log" 2>&1 &
PF_BG_PIDS+=("$!")
wait_for "select count(*) from pg_stat_activity where application_name = 'pf-body-lock' and state = 'active' and query like '%pg_sleep%'" 1 ||
    fail "the session pf-body-lock did not start"
BODY_LOCK_PID=$(pg_psql postgres "select pid from pg_stat_activity where application_name = 'pf-body-lock'")
pf body_lock plan -i "$BINV" -f json
LK='[w for w in t["warnings"] if w["kind"] == "lock"][0]'
assert_eq "0001_bodies 5 $BODY_LOCK_PID" \
    "$(jt "$PF_TMP/body_lock.out" body "$LK['migration'] + ' ' + show($LK['statement']) + ' ' + ' '.join(str(p) for p in $LK['pids'])")" \
    "lock: a table named in a procedure's body is touched where the procedure is defined"
pg_psql postgres "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pf-body-lock'" >/dev/null
wait_for "select count(*) from pg_stat_activity where application_name = 'pf-body-lock'" 0 ||
    fail "the session pf-body-lock did not go away"

# The server parses the whole batch before it runs any of it: without 0002_newer, so that
# statement 2 runs.
mig_del "$BMIG" 0002_newer
pf body_apply apply -i "$BINV" -f json
assert_eq "2 failed 2" "$RC $(jt "$PF_TMP/body_apply.out" body 't["outcome"] + " " + show(t["error"]["statement"])')" \
    "apply fails where plan warned: the SET NOT NULL after the BEGIN ATOMIC function"
assert_contains "$(jt "$PF_TMP/body_apply.out" body 't["error"]["message"]')" 'column "v" of relation "t_atomic" contains null values' \
    "apply's error is the one predicted"

# --- schema-per-tenant targets: names mapped to the tenant's schema ----------------------------------
TMIG=$PF_TMP/drizzle_tenant
mig_add "$TMIG" 0000_base $((W + 1000)) \
    'CREATE TABLE "public"."members" ("id" integer, "name" text);'
TINV=$PF_TMP/tenants.yaml
printf '%s\n' "migrations: {dir: \"$TMIG\"}" "defaults: {create_schema: true}" "targets:" \
    "  - name: \"tenant-\${each}\"" \
    "    dsn: \"postgresql://pfapp@127.0.0.1:$PGPORT/pre_body\"" \
    "    schema: \"tenant_\${each}\"" \
    "    for_each: [a, b]" >"$TINV"
pf tenant_prep apply -i "$TINV"
assert_eq 0 "$RC" "prepare: two tenant schemas"
pg_psql pre_body "INSERT INTO tenant_a.members VALUES (1, NULL); INSERT INTO tenant_b.members VALUES (1, 'b');" >/dev/null
mig_add "$TMIG" 0001_names $((W + 2000)) \
    'ALTER TABLE "public"."members" ALTER COLUMN "name" SET NOT NULL;'
pf tenant_plan plan -i "$TINV" -f json
R=$PF_TMP/tenant_plan.out
assert_eq "set_not_null:1 |" "$(jt "$R" tenant-a "$KINDS") |$(jt "$R" tenant-b "$KINDS")" \
    "tenants: the NULLs of tenant_a's table are found, tenant_b's table has none (public has no such table)"
assert_eq "migration 0001_names statement 1 sets column name of tenant_a.members NOT NULL, but it holds NULLs: it will fail" \
    "$(jt "$R" tenant-a 't["warnings"][0]["message"]')" "tenants: the table is named in the tenant's schema"

pf_done
