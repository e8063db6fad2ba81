# A server out of connections (SQLSTATE 53300) is waited for, not failed: a role with
# CONNECTION LIMIT 2 and a cluster whose max_connections leaves 4 slots, each reached at -j 16
# over 16 databases, are migrated and audited to exit 0 with every target in sync, though the
# server refused many of the attempts (its log says so). A role that can never connect
# (CONNECTION LIMIT 0) fails once connect_timeout is spent, with the server's reason, the
# attempts and a hint.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_users $((W + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL);'
mig_add "$MIG" 0001_posts $((W + 2000)) \
    'CREATE TABLE "posts" ("id" serial PRIMARY KEY NOT NULL, "body" text);' \
    'CREATE INDEX "posts_body_idx" ON "posts" ("body");'

# A role that is not a superuser (superusers are exempt from CONNECTION LIMIT) owning the
# databases, so that it may create the ledger and the tables.
pg_psql postgres "CREATE ROLE lim LOGIN CONNECTION LIMIT 2" >/dev/null
pg_psql postgres "CREATE ROLE never LOGIN CONNECTION LIMIT 0" >/dev/null
DBS=()
for i in $(seq -w 1 16); do DBS+=("oc$i"); done
for db in "${DBS[@]}"; do
    pg_psql postgres "CREATE DATABASE \"$db\" OWNER lim" >/dev/null
done

# write_inv FILE USER DEFAULTS: one target per database, connecting as USER.
write_inv() {
    local file=$1 user=$2 defaults=$3 db
    {
        echo "migrations: {dir: \"$MIG\"}"
        [ -z "$defaults" ] || echo "defaults: {$defaults}"
        echo "targets:"
        for db in "${DBS[@]}"; do
            echo "  - {name: $db, dsn: \"postgresql://$user@127.0.0.1:$PGPORT/$db\"}"
        done
    } >"$file"
}
# Every target with the same VALUE, one line each.
each() {
    local db
    for db in "${DBS[@]}"; do echo "$db $*"; done
}
LOG=$PF_TMP/cluster/postgres.log
refusals() {
    grep -c "$1" "$LOG" || true
}

# --- a role at its CONNECTION LIMIT ---------------------------------------------------------------
INV=$PF_TMP/lim.yaml
write_inv "$INV" lim ""
before=$(refusals 'too many connections for role "lim"')
pf apply apply -i "$INV" -j 16 -f json -o "$PF_TMP/apply.json"
assert_eq 0 "$RC" "apply -j 16 as a role with CONNECTION LIMIT 2: exit 0"
assert_lines "$(each applied)" "$(jtargets "$PF_TMP/apply.json" 't["outcome"]')" \
    "apply -j 16, CONNECTION LIMIT 2: every target applied"
after=$(refusals 'too many connections for role "lim"')
[ "$after" -gt "$before" ] && pass "the server refused some attempts ($((after - before)))" ||
    fail "the server refused no attempt: the limit was not reached"
bad=""
for db in "${DBS[@]}"; do
    [ "$(pg_psql "$db" "select count(*) from drizzle.__drizzle_migrations")" = 2 ] &&
        [ "$(has_table "$db" posts)" = t ] || bad+=" $db"
done
assert_eq "" "$bad" "every database has both ledger rows and the tables"

before=$after
pf audit audit -i "$INV" -j 16 -f json -o "$PF_TMP/audit.json"
assert_eq 0 "$RC" "audit -j 16 as a role with CONNECTION LIMIT 2: exit 0"
assert_lines "$(each in_sync)" "$(jtargets "$PF_TMP/audit.json" 't["status"]')" \
    "audit -j 16, CONNECTION LIMIT 2: every target in sync"
pf plan plan -i "$INV" -j 16 -f json -o "$PF_TMP/plan.json"
assert_eq 0 "$RC" "plan -j 16 as a role with CONNECTION LIMIT 2: exit 0"
pf apply2 apply -i "$INV" -j 16 -f json -o "$PF_TMP/apply2.json"
assert_eq 0 "$RC" "apply -j 16 again (all in sync): exit 0"
assert_lines "$(each unchanged)" "$(jtargets "$PF_TMP/apply2.json" 't["outcome"]')" \
    "apply -j 16 again: every target unchanged"
after=$(refusals 'too many connections for role "lim"')
[ "$after" -gt "$before" ] && pass "audit, plan and apply were refused too ($((after - before)))" ||
    fail "audit, plan and apply met no refusal"

# --- a role that can never connect: connect_timeout bounds the retries -----------------------------
INV0=$PF_TMP/never.yaml
DBS=(oc01)
write_inv "$INV0" never "connect_timeout: 2s"
t0=$(date +%s%N)
pf never audit -i "$INV0" -f json -o "$PF_TMP/never.json"
ms=$((($(date +%s%N) - t0) / 1000000))
assert_eq 2 "$RC" "a role with CONNECTION LIMIT 0: exit 2"
assert_eq unreachable "$(jt "$PF_TMP/never.json" oc01 't["status"]')" \
    "a role with CONNECTION LIMIT 0: unreachable"
err=$(jt "$PF_TMP/never.json" oc01 't["error"]["message"]')
assert_contains "$err" 'FATAL:  too many connections for role "never" (' \
    "the error is the server's"
assert_contains "$err" "attempts in " "the error says how often it tried"
assert_contains "$err" "; hint: the server is out of connections: lower -j" "the error has a hint"
[ "$ms" -ge 1500 ] && [ "$ms" -lt 8000 ] && pass "it retried for about connect_timeout (${ms} ms)" ||
    fail "retries took ${ms} ms, expected about 2000"

# --- a cluster at max_connections -------------------------------------------------------------
# 5 slots, 1 kept for superusers: 4 for lim (no role limit now) and the test's own psql.
pg_psql postgres "ALTER ROLE lim CONNECTION LIMIT -1" >/dev/null
pg_psql postgres "ALTER SYSTEM SET max_connections = 5" >/dev/null
pg_psql postgres "ALTER SYSTEM SET superuser_reserved_connections = 1" >/dev/null
pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_TMP/cluster/pgdata" -l "$LOG" -w -t 60 restart >/dev/null
assert_eq 5 "$(pg_psql postgres "show max_connections")" "the cluster has max_connections 5"
DBS=()
for i in $(seq -w 1 16); do DBS+=("oc$i"); done
mig_add "$MIG" 0002_tags $((W + 3000)) 'CREATE TABLE "tags" ("id" integer);'
before=$(refusals "sorry, too many clients already\|remaining connection slots are reserved")
pf max apply -i "$INV" -j 16 -f json -o "$PF_TMP/max.json"
assert_eq 0 "$RC" "apply -j 16 on a server with 4 free slots: exit 0"
assert_lines "$(each applied)" "$(jtargets "$PF_TMP/max.json" 't["outcome"]')" \
    "apply -j 16 at max_connections: every target applied"
pf maxaudit audit -i "$INV" -j 16 -f json -o "$PF_TMP/maxaudit.json"
assert_eq 0 "$RC" "audit -j 16 on a server with 4 free slots: exit 0"
assert_lines "$(each in_sync)" "$(jtargets "$PF_TMP/maxaudit.json" 't["status"]')" \
    "audit -j 16 at max_connections: every target in sync"
after=$(refusals "sorry, too many clients already\|remaining connection slots are reserved")
[ "$after" -gt "$before" ] && pass "the server ran out of slots ($((after - before)) refusals)" ||
    fail "the server never ran out of slots"

pf_done
