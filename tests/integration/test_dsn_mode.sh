# One database without an inventory, as a container entrypoint runs it: --dsn (repeatable, any
# libpq form, names HOST[:PORT]/DB, masked, unique) with -m, or -c drizzle.config.ts|json read
# without running it (out, migrations.table/schema, dbCredentials.url); the same statuses,
# reports and exit codes as with an inventory; the config's unreadable values named with the
# flag to use instead; --wait for a server that starts after pgfleet does.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_users $((W + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL);'
mig_add "$MIG" 0001_posts $((W + 2000)) 'CREATE TABLE "posts" ("id" integer);'
pg_createdb dsn_a dsn_b dsn_c dsn_d dsn_e
H=127.0.0.1:$PGPORT
expected_ledger() { # DIR TAG...: "hash when" per migration, as drizzle records them
    local dir=$1 tag
    shift
    for tag in "$@"; do
        echo "$(file_hash "$dir/$tag.sql") $(jget "$dir/meta/_journal.json" \
            "next(e['when'] for e in d['entries'] if e['tag'] == '$tag')")"
    done
}

# --- --dsn: a one-target fleet ------------------------------------------------------------------
pf plan0 plan --dsn "$(pf_dsn dsn_a)" -m "$MIG" -f json
assert_eq 0 "$RC" "plan --dsn on a fresh database: exit 0"
assert_eq "$H/dsn_a uninitialized 0000_users 0001_posts" \
    "$(jtargets "$PF_TMP/plan0.out" 't["status"] + " " + show(t["pending"])')" \
    "plan --dsn: one target named HOST:PORT/DB, uninitialized, both pending"
assert_eq "null" "$(jget "$PF_TMP/plan0.out" 'd["inventory"]')" "the report names no inventory"

pf apply1 apply --dsn "$(pf_dsn dsn_a)" -m "$MIG"
assert_eq 0 "$RC" "apply --dsn: exit 0"
assert_contains "$(pf_out apply1)" "$H/dsn_a" "the text report names the target"
assert_lines "$(expected_ledger "$MIG" 0000_users 0001_posts)" "$(ledger dsn_a)" \
    "apply --dsn: drizzle's ledger rows"

pf audit1 audit --dsn "$(pf_dsn dsn_a)" -m "$MIG" -f json
assert_eq 0 "$RC" "audit --dsn, in sync: exit 0"
assert_eq "$H/dsn_a in_sync" "$(jtargets "$PF_TMP/audit1.out" 't["status"]')" "audit: in_sync"
pf audit2 audit --dsn "$(pf_dsn dsn_b)" -m "$MIG" -f json
assert_eq 1 "$RC" "audit --dsn, not migrated: exit 1"
pf audit3 audit --dsn "postgresql://postgres@127.0.0.1:1/dsn_a" -m "$MIG" -f json
assert_eq 2 "$RC" "audit --dsn, nothing listening: exit 2"
assert_eq "127.0.0.1:1/dsn_a unreachable" "$(jtargets "$PF_TMP/audit3.out" 't["status"]')" \
    "audit --dsn, nothing listening: unreachable"

# Several --dsn, every libpq form; names unique and without the password.
PW=Sekr1t-Pw_77
pf many audit -m "$MIG" -f json \
    --dsn "postgresql://postgres:$PW@127.0.0.1:$PGPORT/dsn_a" \
    --dsn "host=127.0.0.1 port=$PGPORT dbname=dsn_b user=postgres password=$PW" \
    --dsn "$(pf_dsn dsn_a)" \
    --dsn "postgresql:///dsn_c?host=$PF_TMP/cluster/sock&port=$PGPORT&user=postgres"
assert_eq 1 "$RC" "audit of four --dsn, two not migrated: exit 1"
assert_lines "$H/dsn_a in_sync
$H/dsn_b uninitialized
$H/dsn_a#2 in_sync
local:$PGPORT/dsn_c uninitialized" "$(jtargets "$PF_TMP/many.out" 't["status"]')" \
    "four --dsn: named HOST:PORT/DB (local for a socket), the repeated one made unique"
assert_not_contains "$(pf_out many)$(pf_err many)" "$PW" "the password appears nowhere"
assert_contains "$(jget "$PF_TMP/many.out" '[t["dsn"] for t in d["targets"]]')" \
    "postgresql://postgres:****@127.0.0.1:$PGPORT/dsn_a" "the report's dsn is masked"
pf sel audit -m "$MIG" -f json --dsn "$(pf_dsn dsn_a)" --dsn "$(pf_dsn dsn_b)" -t '*/dsn_a'
assert_eq "0 $H/dsn_a" "$RC $(jtargets "$PF_TMP/sel.out" '""' | tr -d ' ')" \
    "-t selects among --dsn targets by name"

# --- what is refused before anything runs ------------------------------------------------------
pf bad_dsn apply --dsn "$(pf_dsn dsn_b)" --dsn "host=127.0.0.1 port" -m "$MIG"
assert_eq 3 "$RC" "an invalid --dsn: exit 3"
assert_eq "pgfleet: --dsn #2: invalid connection string: missing \"=\" after \"port\" in connection info string" \
    "$(pf_err bad_dsn)" "an invalid --dsn: the message"
echo "targets: []" >"$PF_TMP/inv.yaml"
pf with_inv apply -i "$PF_TMP/inv.yaml" --dsn "$(pf_dsn dsn_b)" -m "$MIG"
assert_eq 3 "$RC" "-i with --dsn: exit 3"
assert_eq "pgfleet apply: -i names the targets of an inventory, --dsn of one database: pass one or the other" \
    "$(pf_err with_inv)" "-i with --dsn: the message"
pf no_dir apply --dsn "$(pf_dsn dsn_b)"
assert_eq 3 "$RC" "--dsn without a migrations folder: exit 3"
assert_eq "pgfleet: --dsn: no migrations folder; hint: pass --migrations DIR or -c drizzle.config.ts" \
    "$(pf_err no_dir)" "--dsn without a migrations folder: the message"
pf wait_inv audit -i "$PF_TMP/inv.yaml" --wait 5s
assert_eq 3 "$RC" "--wait with an inventory: exit 3"
pf wait_bad audit --dsn "$(pf_dsn dsn_b)" -m "$MIG" --wait soon
assert_eq 3 "$RC" "--wait soon: exit 3"
assert_eq "pgfleet audit: --wait takes a duration (30s, 2m, 500ms), not 'soon'" \
    "$(pf_err wait_bad)" "--wait soon: the message"
assert_eq "f" "$(has_schema dsn_b drizzle)" "nothing ran on dsn_b"

# --- -c drizzle.config.ts -----------------------------------------------------------------------
APP=$PF_TMP/app
mkdir -p "$APP"
cp -r "$MIG" "$APP/sql"
cat >"$APP/drizzle.config.ts" <<'TS'
import 'dotenv/config';
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  schema: "./src/db/schema.ts",
  out: "./sql",
  dialect: "postgresql",
  dbCredentials: {
    url: process.env.PF_TEST_DATABASE_URL!,
  },
  migrations: {
    table: "app_migrations",
    schema: "ops",
  },
});
TS
export PF_TEST_DATABASE_URL
PF_TEST_DATABASE_URL=$(pf_dsn dsn_c)
cd "$PF_TMP" # out is relative to the config file, not to where pgfleet runs
pf cfg apply -c "$APP/drizzle.config.ts" -f json
assert_eq 0 "$RC" "apply -c drizzle.config.ts: exit 0"
assert_eq "$H/dsn_c applied" "$(jtargets "$PF_TMP/cfg.out" 't["outcome"]')" \
    "apply -c: the target is dbCredentials.url's"
assert_lines "$(expected_ledger "$MIG" 0000_users 0001_posts)" \
    "$(pg_psql dsn_c "select hash || ' ' || created_at from ops.app_migrations order by id")" \
    "apply -c: the ledger is the config's migrations.schema.table"
assert_eq "f" "$(has_schema dsn_c drizzle)" "apply -c: no ledger in drizzle's default place"
pf cfg_dsn audit -c "$APP/drizzle.config.ts" --dsn "$(pf_dsn dsn_d)" -f json
assert_eq "1 $H/dsn_d uninitialized" "$RC $(jtargets "$PF_TMP/cfg_dsn.out" 't["status"]')" \
    "-c with --dsn: --dsn is the target, the config gives the rest"

# A JSON config, and the defaults of drizzle-kit (out: drizzle, drizzle.__drizzle_migrations).
mkdir -p "$PF_TMP/jsonapp"
cp -r "$MIG" "$PF_TMP/jsonapp/drizzle"
echo '{"dialect": "postgresql", "schema": "./schema.ts"}' >"$PF_TMP/jsonapp/drizzle.config.json"
pf cfg_json apply -c "$PF_TMP/jsonapp/drizzle.config.json" --dsn "$(pf_dsn dsn_d)"
assert_eq 0 "$RC" "apply -c drizzle.config.json without out: exit 0"
assert_lines "$(expected_ledger "$MIG" 0000_users 0001_posts)" "$(ledger dsn_d)" \
    "apply -c json: drizzle's default folder and ledger"

# Values that cannot be read without running the file: named, with what to use instead.
cat >"$APP/computed.config.ts" <<'TS'
import path from "node:path";
import { defineConfig } from "drizzle-kit";
import { env } from "./src/env";

export default defineConfig({
  out: path.join(__dirname, "sql"),
  dialect: "postgresql",
  dbCredentials: { url: env.DATABASE_URL },
});
TS
pf comp_out plan -c "$APP/computed.config.ts" --dsn "$(pf_dsn dsn_e)"
assert_eq 3 "$RC" "an unreadable out: exit 3"
assert_eq "pgfleet: $APP/computed.config.ts:6: out: \`path.join(__dirname, \"sql\")\` cannot be read without running the file (pgfleet reads string literals, process.env.NAME and constants of the file holding them); hint: pass --migrations DIR (or set migrations.dir in an inventory)" \
    "$(pf_err comp_out)" "an unreadable out: file, line, key and the flag to use"
pf comp_url plan -c "$APP/computed.config.ts" -m "$MIG"
assert_eq 3 "$RC" "an unreadable dbCredentials.url without --dsn: exit 3"
assert_eq "pgfleet: $APP/computed.config.ts:8: dbCredentials.url: \`env.DATABASE_URL\` cannot be read without running the file (pgfleet reads string literals, process.env.NAME and constants of the file holding them); hint: pass --dsn URL" \
    "$(pf_err comp_url)" "an unreadable dbCredentials.url: the message"
pf comp_ok plan -c "$APP/computed.config.ts" -m "$MIG" --dsn "$(pf_dsn dsn_e)"
assert_eq 0 "$RC" "-m and --dsn replace what the config cannot say: exit 0"
unset PF_TEST_DATABASE_URL
pf unset_url plan -c "$APP/drizzle.config.ts"
assert_eq 3 "$RC" "dbCredentials.url from an unset variable: exit 3"
assert_eq "pgfleet: $APP/drizzle.config.ts:9: dbCredentials.url: process.env.PF_TEST_DATABASE_URL is not set (the file loads a .env file with dotenv, which pgfleet does not read: export the variable); hint: pass --dsn URL" \
    "$(pf_err unset_url)" "an unset variable: the message"
sed 's/"postgresql"/"mysql"/' "$APP/drizzle.config.ts" >"$APP/mysql.config.ts"
pf mysql plan -c "$APP/mysql.config.ts" --dsn "$(pf_dsn dsn_e)"
assert_eq "3 pgfleet: $APP/mysql.config.ts: dialect is 'mysql': pgfleet migrates PostgreSQL databases only" \
    "$RC $(pf_err mysql)" "a config for another dialect: exit 3, named"
pf cfg_inv plan -c "$APP/drizzle.config.ts" -i "$PF_TMP/inv.yaml"
assert_eq 3 "$RC" "-c with -i: exit 3"
assert_eq "f f" "$(has_schema dsn_e drizzle) $(has_schema dsn_e ops)" "nothing ran on dsn_e"

# --- --wait: the server starts after pgfleet ------------------------------------------------------
# Sessions the server counted on dsn_e (PostgreSQL 14+; kept across a clean restart), once no
# backend is left on it (a session's count is written as it ends).
sessions_e() {
    for _ in $(seq 1 50); do
        [ "$(pg_psql postgres "select count(*) from pg_stat_activity where datname = 'dsn_e'")" = 0 ] &&
            break
        sleep 0.1
    done
    pg_psql postgres "select sessions from pg_stat_database where datname = 'dsn_e'"
}
SESSIONS_E=$(sessions_e)
pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_TMP/cluster/pgdata" -w stop >/dev/null
pf down apply --dsn "$(pf_dsn dsn_e)" -m "$MIG" -f json
assert_eq 2 "$RC" "apply --dsn, server down, no --wait: exit 2"
assert_contains "$(jt "$PF_TMP/down.out" "$H/dsn_e" 't["error"]["message"]')" "Connection refused" \
    "server down, no --wait: connection refused"

t0=$(date +%s)
(
    sleep 3
    pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_TMP/cluster/pgdata" -l "$PF_TMP/cluster/postgres.log" \
        -w start >/dev/null
) &
STARTER=$!
PF_BG_PIDS+=("$STARTER")
pf waited apply --dsn "$(pf_dsn dsn_e)" -m "$MIG" --wait 60s -f json -v
secs=$(($(date +%s) - t0))
pf_bg_reap "$STARTER"
assert_eq 0 "$RC" "apply --wait 60s, server up 3 s later: exit 0"
assert_eq "$H/dsn_e applied" "$(jtargets "$PF_TMP/waited.out" 't["outcome"]')" \
    "apply --wait: applied once the server was up"
[ "$secs" -ge 3 ] && [ "$secs" -lt 30 ] && pass "it waited for the server (${secs} s)" ||
    fail "apply --wait returned after ${secs} s"
assert_contains "$(pf_err waited)" "accepting TCP/IP connections?; trying again in" \
    "apply --wait -v: each refused attempt is logged"
assert_eq 1 "$(($(sessions_e) - SESSIONS_E))" \
    "apply --wait: one session on the database, the wait's connection used by the run"
assert_eq 1 "$(jget "$PF_TMP/waited.out" 'd["connections"]')" "apply --wait: one connection in the report"
assert_lines "$(expected_ledger "$MIG" 0000_users 0001_posts)" "$(ledger dsn_e)" \
    "apply --wait: the ledger"

pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_TMP/cluster/pgdata" -w stop >/dev/null
pf gave_up audit --dsn "$(pf_dsn dsn_e)" -m "$MIG" --wait 1s -f json
assert_eq 2 "$RC" "audit --wait 1s, server never up: exit 2"
assert_contains "$(pf_err gave_up)" "--wait: connection to server at" "the wait's failure is said"
assert_contains "$(pf_err gave_up)" "attempts in 1." "the wait gave up after about 1 s"
assert_eq unreachable "$(jt "$PF_TMP/gave_up.out" "$H/dsn_e" 't["status"]')" \
    "audit --wait 1s, server never up: unreachable"

# SIGINT while waiting ends pgfleet at once (nothing has run yet), however long --wait is.
"$PF_PY" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$PGFLEET" audit --dsn "$(pf_dsn dsn_e)" -m "$MIG" --wait 120s -v \
    >"$PF_TMP/wait_int.out" 2>"$PF_TMP/wait_int.err" &
WPID=$!
PF_BG_PIDS+=("$WPID")
for _ in $(seq 1 100); do grep -q "trying again in" "$PF_TMP/wait_int.err" && break; sleep 0.1; done
kill -INT "$WPID"
for _ in $(seq 1 50); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$WPID" 2>/dev/null; then
    fail "SIGINT during --wait: pgfleet still waits 5 s later"
    kill -9 "$WPID" 2>/dev/null || true
fi
RC=0
wait "$WPID" || RC=$?
pf_bg_reap "$WPID"
assert_eq 130 "$RC" "SIGINT during --wait: exit 130"
pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_TMP/cluster/pgdata" -l "$PF_TMP/cluster/postgres.log" \
    -w start >/dev/null

pf_done
