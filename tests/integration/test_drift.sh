# Schema drift (docs/drift.md): a fleet migrated identically from drizzle-kit's folder
# (tests/fixtures/app, plus a migration that creates an extension) is in sync with --drift;
# then, by hand, one drift per database: an extra index, a dropped column, a changed default, a
# policy removed, an enum value added out of order, a function body edited, an extension
# missing, an index added in one tenant schema. `audit --drift` reports each as exactly that
# difference and nothing else, the others in sync (a database on a second server included), in
# the text and JSON reports, and exits 1. A database whose ledger is behind is compared with
# the schema of its own head (a second build); the scratch databases are gone after every run,
# and after a SIGINT in the middle of a build.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
PORT1=$PGPORT

# A second server: the scratch server, and one database of the fleet.
pf_cluster_start "$PF_TMP/cluster2"
PORT2=$PGPORT
export PGPORT=$PORT1
PF_CLEANUP_HOOK="pf_bg_cleanup; pf_cluster_stop $PF_TMP/cluster2"
psql -X -q -p "$PORT2" -d postgres -c 'CREATE DATABASE far' >/dev/null

MIG=$PF_TMP/drizzle
cp -r "$PF_TESTS_DIR/fixtures/app/drizzle" "$MIG"

DBS="idx col def pol enum fn atomic clean"
# shellcheck disable=SC2086
pg_createdb $DBS old tenants ext
INV=$PF_TMP/fleet.yaml
# shellcheck disable=SC2086
inv_write "$INV" "$MIG" "" $DBS old
inv_add_target "$INV" ext "$(pf_dsn ext)"
cat >>"$INV" <<EOF
  - name: far
    dsn: "postgresql://postgres@127.0.0.1:$PORT2/far"
  - name: tenant-\${each}
    for_each: [acme, globex]
    dsn: "$(pf_dsn tenants)"
    schema: tenant_\${each}
    create_schema: true
drift:
  scratch_dsn: "postgresql://postgres@127.0.0.1:$PORT2/postgres"
EOF

# A function with an SQL-standard body (BEGIN ATOMIC): no prosrc to compare, its parsed body.
mig_add "$MIG" 0004_project_count 1795372880000 \
    'CREATE FUNCTION "public"."project_count"() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM "projects"; END;'

# "old" stops at 0002: its ledger is behind, its schema that of 0002.
OLD=$PF_TMP/drizzle-old
cp -r "$MIG" "$OLD"
mig_del "$OLD" 0003_audit_log
mig_del "$OLD" 0004_project_count
pf apply-old apply -i "$INV" -m "$OLD" -t old
assert_eq 0 "$RC" "old is migrated through 0002"
sel=()
for t in $DBS ext far 'tenant-*'; do sel+=(-t "$t"); done
pf apply apply -i "$INV" "${sel[@]}"
assert_eq 0 "$RC" "the fleet is migrated: $(pf_err apply)"

scratch_dbs() {
    psql -X -A -t -p "$PORT2" -d postgres -c \
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgfleet\\_drift\\_%'"
}

# ---- nothing drifted --------------------------------------------------------------------------
pf clean audit -i "$INV" --drift -f json -o "$PF_TMP/clean.json" -v
assert_eq 1 "$RC" "audit --drift exits 1 (old is behind): $(pf_err clean)"
assert_eq "0" "$(jget "$PF_TMP/clean.json" 'd["counts"]["drifted"]')" "nothing drifted"
assert_lines "idx in_sync
col in_sync
def in_sync
pol in_sync
enum in_sync
fn in_sync
atomic in_sync
clean in_sync
old behind
ext in_sync
far in_sync
tenant-acme in_sync
tenant-globex in_sync" "$(jtargets "$PF_TMP/clean.json" 't["status"]')" "every target is as its ledger says"
assert_eq "true 0" "$(jt "$PF_TMP/clean.json" far '[t["drift"]["checked"], len(t["drift"]["differences"])]')" \
    "the database on the other server compares equal"
assert_eq "true 0 0002_roles_and_rls" \
    "$(jt "$PF_TMP/clean.json" old '[t["drift"]["checked"], len(t["drift"]["differences"]), t["drift"]["head"]]')" \
    "a database behind is compared with its own head's schema"
assert_eq "true 0" "$(jt "$PF_TMP/clean.json" tenant-globex '[t["drift"]["checked"], len(t["drift"]["differences"])]')" \
    "a tenant schema compares equal with the folder's schema mapped to it"
assert_eq 2 "$(grep -c 'expected schema through' "$PF_TMP/clean.err")" "two heads, two builds: $(pf_err clean)"
assert_eq 0 "$(scratch_dbs)" "no scratch database is left"

# ---- one drift per database -------------------------------------------------------------------
pg_psql idx 'CREATE INDEX users_display_name_idx ON users (display_name)' >/dev/null
pg_psql col 'ALTER TABLE users DROP COLUMN last_login_at' >/dev/null
pg_psql def 'ALTER TABLE projects ALTER COLUMN archived SET DEFAULT true' >/dev/null
pg_psql pol 'DROP POLICY projects_tenant_isolation ON projects' >/dev/null
pg_psql enum "ALTER TYPE user_role ADD VALUE 'guest' BEFORE 'admin'" >/dev/null
pg_psql fn "CREATE OR REPLACE FUNCTION public.current_org_id() RETURNS integer LANGUAGE plpgsql STABLE AS \$\$ BEGIN RETURN 1; END; \$\$" >/dev/null
pg_psql atomic 'CREATE OR REPLACE FUNCTION public.project_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) + 1 FROM projects; END' >/dev/null
pg_psql tenants 'CREATE INDEX projects_name_idx ON tenant_globex.projects (name)' >/dev/null

pf drift audit -i "$INV" --drift -f json -o "$PF_TMP/drift.json"
assert_eq 1 "$RC" "audit --drift exits 1 when a target drifted: $(pf_err drift)"
assert_lines "idx drifted
col drifted
def drifted
pol drifted
enum drifted
fn drifted
atomic drifted
clean in_sync
old behind
ext in_sync
far in_sync
tenant-acme in_sync
tenant-globex drifted" "$(jtargets "$PF_TMP/drift.json" 't["status"]')" "exactly the drifted targets are drifted"
diffs() { jt "$PF_TMP/drift.json" "$1" '"\n".join(t["drift"]["differences"])'; }
assert_eq "+ index public.users_display_name_idx" "$(diffs idx)" "an extra index"
assert_eq "- column public.users.last_login_at" "$(diffs col)" "a dropped column"
assert_eq "~ column public.projects.archived: boolean NOT NULL DEFAULT false -> boolean NOT NULL DEFAULT true" \
    "$(diffs def)" "a changed default"
assert_eq "- policy public.projects.projects_tenant_isolation" "$(diffs pol)" "a policy removed"
assert_eq "~ enum public.user_role: 'member', 'admin', 'owner' -> 'member', 'guest', 'admin', 'owner'" \
    "$(diffs enum)" "an enum value added out of order"
fn_line=$(diffs fn)
if [[ "$fn_line" =~ ^"~ function public.current_org_id(): RETURNS integer LANGUAGE plpgsql STABLE body "([0-9a-f]{12})" -> RETURNS integer LANGUAGE plpgsql STABLE body "([0-9a-f]{12})$ ]] &&
    [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ]; then
    pass "a function body edited"
else
    fail "a function body edited: got '$fn_line'"
fi
atomic_line=$(diffs atomic)
if [[ "$atomic_line" =~ ^"~ function public.project_count(): RETURNS bigint LANGUAGE sql STABLE body "([0-9a-f]{12})" -> RETURNS bigint LANGUAGE sql STABLE body "([0-9a-f]{12})$ ]] &&
    [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ]; then
    pass "a BEGIN ATOMIC body edited"
else
    fail "a BEGIN ATOMIC body edited: got '$atomic_line'"
fi
assert_eq "+ index tenant_globex.projects_name_idx" "$(diffs tenant-globex)" \
    "an index added in one tenant schema, named in that schema"
assert_eq "1" "$(jget "$PF_TMP/drift.json" 'd["exit_code"]')" "the report says exit code 1"
assert_eq 0 "$(scratch_dbs)" "no scratch database is left"

# The text report: the status, a summary and each difference below the row.
pf text audit -i "$INV" --drift -t idx -t col
assert_eq 1 "$RC" "text: exit 1"
assert_lines "TARGET  STATUS   PENDING  DETAIL
idx     drifted  0        drifted: 1 difference from the schema through 0004_project_count
    + index public.users_display_name_idx
col     drifted  0        drifted: 1 difference from the schema through 0004_project_count
    - column public.users.last_login_at

2 targets: 2 drifted" "$(pf_out text | sed -n '1,7p')" "the text report lists each difference"

# An extension the migrations create, missing (a folder of its own: tenants cannot have one).
EXTF=$PF_TMP/drizzle-ext
cp -r "$MIG" "$EXTF"
mig_add "$EXTF" 0005_citext 1795372881000 'CREATE EXTENSION IF NOT EXISTS "citext";'
pf ext-apply apply -i "$INV" -m "$EXTF" -t ext
assert_eq 0 "$RC" "ext is migrated with the extension: $(pf_err ext-apply)"
pf ext-clean audit -i "$INV" -m "$EXTF" -t ext --drift -f json -o "$PF_TMP/ext-clean.json"
assert_eq 0 "$RC" "with its extension, ext is in sync: $(pf_err ext-clean)"
pg_psql ext 'DROP EXTENSION citext' >/dev/null
pf ext-drift audit -i "$INV" -m "$EXTF" -t ext --drift -f json -o "$PF_TMP/ext-drift.json"
assert_eq 1 "$RC" "without it, exit 1"
assert_eq "drifted - extension citext" \
    "$(jt "$PF_TMP/ext-drift.json" ext 't["status"] + " " + "\n".join(t["drift"]["differences"])')" \
    "an extension missing"

# Every other report format shows it.
pf prom audit -i "$INV" --drift -t idx -t clean -f prometheus
assert_eq 1 "$RC" "prometheus: exit 1"
assert_lines 'pgfleet_target_drifted{command="audit",target="idx"} 1
pgfleet_target_drifted{command="audit",target="clean"} 0' \
    "$(pf_out prom | grep '^pgfleet_target_drifted{')" "prometheus: the pgfleet_target_drifted gauge"
assert_eq 'pgfleet_targets{command="audit",status="drifted"} 1' \
    "$(pf_out prom | grep '^pgfleet_targets{.*status="drifted"')" "prometheus: drifted counted"
pf junit audit -i "$INV" --drift -t idx -t clean -f junit
assert_eq 1 "$RC" "junit: exit 1"
assert_eq 1 "$(pf_out junit | grep -c '<failure message="drifted: 1 difference from the schema through 0004_project_count" type="drifted">')" \
    "junit: a failure for the drifted target"
assert_contains "$(pf_out junit)" "+ index public.users_display_name_idx" "junit: the failure lists the difference"
assert_eq 1 "$(pf_out junit | grep -c '<testcase classname="pgfleet.audit" name="clean" time="[0-9.]*"/>')" \
    "junit: the target in sync passes"
pf md audit -i "$INV" --drift -t idx -t clean -f markdown
assert_eq 1 "$RC" "markdown: exit 1"
assert_eq '| idx | `drifted` | 0 | drifted: 1 difference from the schema through 0004\_project\_count: + index public.users\_display\_name\_idx |' \
    "$(pf_out md | grep '^| idx ')" "markdown: the row names the difference"
pf html audit -i "$INV" --drift -t idx -t clean -f html
assert_eq 1 "$RC" "html: exit 1"
assert_eq 1 "$(pf_out html | grep -c '<td class="dr bad" data-drift="1" title="+ index public.users_display_name_idx"><details><summary>1</summary><code>+ index public.users_display_name_idx</code></details></td>')" \
    "html: the drift column, the difference on hover and expanded"
assert_eq 1 "$(pf_out html | grep -c '<td class="dr" data-drift="0"')" "html: the target in sync shows no drift"

# plan --drift shows it too; apply would not refuse the target, so plan exits 0.
pf plan plan -i "$INV" --drift -t idx -f json -o "$PF_TMP/plan.json"
assert_eq 0 "$RC" "plan --drift: exit 0: $(pf_err plan)"
assert_eq "drifted + index public.users_display_name_idx" \
    "$(jt "$PF_TMP/plan.json" idx 't["status"] + " " + " ".join(t["drift"]["differences"])')" \
    "plan --drift: drifted, with the difference"

# drift.audit: true in the inventory makes it audit's default.
sed 's/^drift:$/drift:\n  audit: true/' "$INV" >"$PF_TMP/default.yaml"
pf default audit -i "$PF_TMP/default.yaml" -t idx -f json -o "$PF_TMP/default.json"
assert_eq 1 "$RC" "drift.audit: true: audit compares without --drift: $(pf_err default)"
assert_eq "drifted" "$(jt "$PF_TMP/default.json" idx 't["status"]')" "drift.audit: true: drifted"

# Without --drift, audit reads only the ledgers; with it, one query more per database target,
# and one per batch of tenant schemas of a database (made by one of them: docs/drift.md); two
# tenants at the default -j are two batches of one, read side by side.
pf nodrift audit -i "$INV" -t idx -t 'tenant-*' -f json -o "$PF_TMP/nodrift.json"
assert_eq 0 "$RC" "audit without --drift: exit 0"
assert_eq "in_sync null" "$(jt "$PF_TMP/nodrift.json" idx '[t["status"], t["drift"]]')" \
    "without --drift, nothing is compared"
trips() { jt "$1" "$2" 't["round_trips"]'; }
assert_eq "$(($(trips "$PF_TMP/nodrift.json" idx) + 1))" "$(trips "$PF_TMP/drift.json" idx)" \
    "idx: the catalog is one round trip"
assert_eq "$(($(trips "$PF_TMP/nodrift.json" tenant-acme) + $(trips "$PF_TMP/nodrift.json" tenant-globex) + 2))" \
    "$(($(trips "$PF_TMP/drift.json" tenant-acme) + $(trips "$PF_TMP/drift.json" tenant-globex)))" \
    "the two tenant schemas' catalogs are two round trips"

# --drift without a scratch server is refused before anything runs.
grep -v -e '^drift:' -e 'scratch_dsn' "$INV" >"$PF_TMP/noscratch.yaml"
pf noscratch audit -i "$PF_TMP/noscratch.yaml" --drift
assert_eq 3 "$RC" "--drift without drift.scratch_dsn: exit 3"
assert_contains "$(pf_err noscratch)" "hint: set drift: {scratch_dsn: ...}" "it says what to set"

# A scratch server that cannot be reached: drift not checked, the status kept, exit 2, and its
# password nowhere.
sed "s|scratch_dsn: .*|scratch_dsn: \"postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres\"|" "$INV" \
    >"$PF_TMP/down.yaml"
pf down audit -i "$PF_TMP/down.yaml" --drift -t idx -f json -o "$PF_TMP/down.json"
assert_eq 2 "$RC" "an unreachable scratch server: exit 2: $(pf_err down)"
assert_eq "in_sync false" "$(jt "$PF_TMP/down.json" idx '[t["status"], t["drift"]["checked"]]')" \
    "the status stays the ledger's, drift not checked"
assert_contains "$(jt "$PF_TMP/down.json" idx 't["drift"]["error"]')" \
    "the scratch server cannot be reached" "the report says why"
if grep -q s3cret-pw "$PF_TMP/down.json" "$PF_TMP/down.err" "$PF_TMP/down.out"; then
    fail "the scratch server's password appears in the output"
else
    pass "the scratch server's password appears nowhere"
fi

# ---- diff-schema ---------------------------------------------------------------------------
pf ds1 diff-schema -i "$INV" clean idx
assert_eq 1 "$RC" "diff-schema of two different databases: exit 1: $(pf_err ds1)"
assert_lines "--- clean
+++ idx
+ index public.users_display_name_idx" "$(pf_out ds1)" "diff-schema: the one difference"
pf ds2 diff-schema -i "$INV" clean far
assert_eq 0 "$RC" "diff-schema of two equal databases on two servers: exit 0: $(pf_err ds2)"
assert_lines "--- clean
+++ far
no differences" "$(pf_out ds2)" "diff-schema: no differences"
pf ds3 diff-schema -i "$INV" tenant-acme tenant-globex
assert_eq 1 "$RC" "diff-schema of two tenants: exit 1: $(pf_err ds3)"
assert_lines "--- tenant-acme
+++ tenant-globex
+ index public.projects_name_idx" "$(pf_out ds3)" "diff-schema: two tenants compare under the folder's names"
pf ds4 diff-schema -i "$INV" col --against head
assert_eq 1 "$RC" "diff-schema --against head: exit 1: $(pf_err ds4)"
assert_lines "--- head 0004_project_count
+++ col
- column public.users.last_login_at" "$(pf_out ds4)" "diff-schema --against head reads as audit --drift"
assert_eq 0 "$(scratch_dbs)" "diff-schema --against head leaves no scratch database"
pf ds5 diff-schema -i "$INV" clean nosuch
assert_eq 3 "$RC" "diff-schema of an unknown target: exit 3"
assert_contains "$(pf_err ds5)" "no target named nosuch" "it names the unknown target"

# A ledger kept in public (migrations.schema) is left out, public itself is compared.
pg_createdb publedger
cat >"$PF_TMP/pub.yaml" <<EOF
migrations: {dir: "$MIG", schema: public}
drift: {scratch_dsn: "postgresql://postgres@127.0.0.1:$PORT2/postgres"}
targets:
  - {name: publedger, dsn: "$(pf_dsn publedger)"}
EOF
pf pub-apply apply -i "$PF_TMP/pub.yaml"
assert_eq 0 "$RC" "a ledger in public: applied: $(pf_err pub-apply)"
pf pub audit -i "$PF_TMP/pub.yaml" --drift -f json -o "$PF_TMP/pub.json"
assert_eq "0 in_sync true 0" \
    "$(jt "$PF_TMP/pub.json" publedger '[d["exit_code"], t["status"], t["drift"]["checked"], len(t["drift"]["differences"])]')" \
    "a ledger in public: in sync, the ledger not counted as drift"
pg_psql publedger 'ALTER TABLE users ADD COLUMN nickname text' >/dev/null
pf pub2 audit -i "$PF_TMP/pub.yaml" --drift -f json -o "$PF_TMP/pub2.json"
assert_eq "drifted + column public.users.nickname" \
    "$(jt "$PF_TMP/pub2.json" publedger 't["status"] + " " + " ".join(t["drift"]["differences"])')" \
    "a ledger in public: public's own drift is still seen"

# ---- mark-applied --through TAG --verify ----------------------------------------------------
# Two databases made without the migrations' ledger, as drizzle-kit push would: the files of
# 0000 to 0002 run by psql. One of them has an index more.
pg_createdb pushed pushed_bad
for db in pushed pushed_bad; do
    for f in 0000_init 0001_projects 0002_roles_and_rls; do
        psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$MIG/$f.sql" >/dev/null 2>&1
    done
done
pg_psql pushed_bad 'CREATE INDEX projects_name_idx ON projects (name)' >/dev/null
ADOPT=$PF_TMP/adopt.yaml
inv_write "$ADOPT" "$MIG" "" pushed pushed_bad
printf 'drift:\n  scratch_dsn: "postgresql://postgres@127.0.0.1:%s/postgres"\n' "$PORT2" >>"$ADOPT"
pf v-ok mark-applied -i "$ADOPT" -t pushed --through 0002_roles_and_rls --verify --yes
assert_eq 0 "$RC" "--verify: a database with the schema of 0002 is adopted: $(pf_err v-ok)"
assert_eq 3 "$(pg_psql pushed 'SELECT count(*) FROM drizzle.__drizzle_migrations')" \
    "--verify: 0000 to 0002 recorded"
pf v-bad mark-applied -i "$ADOPT" -t pushed_bad --through 0002_roles_and_rls --verify --yes
assert_eq 1 "$RC" "--verify: a database that differs is refused: $(pf_err v-bad)"
assert_contains "$(pf_out v-bad)" "refused: the schema is not the one the migrations through 0002_roles_and_rls make (1 difference); nothing recorded" \
    "--verify: the refusal says why"
assert_eq "    + index public.projects_name_idx" "$(pf_out v-bad | grep '^    [-+~] ')" \
    "--verify: the difference is listed, and nothing else"
assert_eq "t" "$(pg_psql pushed_bad "SELECT to_regclass('drizzle.__drizzle_migrations') IS NULL")" \
    "--verify: nothing recorded on the refused database"
assert_eq 0 "$(scratch_dbs)" "--verify leaves no scratch database"
pf v-noth mark-applied -i "$ADOPT" -t pushed_bad --migration 0000_init --verify --yes
assert_eq 3 "$RC" "--verify without --through: exit 3"


# ---- many tenant schemas of one database: read in batches, each tenant its own part ----------
# 20 tenants at -j 3: three batches (tenants dealt in turn), one query each; drift by hand in
# two tenants of different batches, each reported in its own schema, nothing in the others.
pg_createdb many
cat >"$PF_TMP/many.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: m-\${each}
    for_each: [$(seq -s, -f '%02g' 1 20)]
    dsn: "$(pf_dsn many)"
    schema: m_\${each}
    create_schema: true
drift:
  scratch_dsn: "postgresql://postgres@127.0.0.1:$PORT2/postgres"
EOF
pf many-apply apply -i "$PF_TMP/many.yaml" -j 3
assert_eq 0 "$RC" "20 tenant schemas migrated: $(pf_err many-apply)"
pg_psql many 'CREATE INDEX projects_name_idx ON m_07.projects (name)' >/dev/null
pg_psql many 'ALTER TABLE m_14.projects ALTER COLUMN archived SET DEFAULT true' >/dev/null
pf many-plain audit -i "$PF_TMP/many.yaml" -j 3 -f json -o "$PF_TMP/many-plain.json"
pf many audit -i "$PF_TMP/many.yaml" -j 3 --drift -f json -o "$PF_TMP/many.json"
assert_eq 1 "$RC" "audit --drift over 20 tenants: exit 1: $(pf_err many)"
assert_lines "m-07 + index m_07.projects_name_idx
m-14 ~ column m_14.projects.archived: boolean NOT NULL DEFAULT false -> boolean NOT NULL DEFAULT true" \
    "$(jget "$PF_TMP/many.json" '"\n".join(t["name"] + " " + "|".join(t["drift"]["differences"]) for t in d["targets"] if t["status"] != "in_sync")')" \
    "exactly the two drifted tenants, each with its own difference"
assert_eq 20 "$(jget "$PF_TMP/many.json" 'sum(1 for t in d["targets"] if t["drift"] and t["drift"]["checked"])')" \
    "every tenant was compared"
assert_eq 3 "$(($(jget "$PF_TMP/many.json" 'sum(t["round_trips"] for t in d["targets"])') - $(jget "$PF_TMP/many-plain.json" 'sum(t["round_trips"] for t in d["targets"])')))" \
    "the 20 tenants' catalogs are 3 queries (one per batch at -j 3)"

# ---- SIGINT during a build: the scratch database is dropped ---------------------------------
SLOW=$PF_TMP/drizzle-slow
cp -r "$MIG" "$SLOW"
mig_add "$SLOW" 0005_slow 1795372890000 'SELECT pg_sleep(60);'
pf mark mark-applied -i "$INV" -m "$SLOW" -t clean --through 0005_slow --yes
assert_eq 0 "$RC" "clean's ledger records the slow migration: $(pf_err mark)"
DEFAULT_SIGINT='import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])'
"$PF_PY" -c "$DEFAULT_SIGINT" "$PGFLEET" audit -i "$INV" -m "$SLOW" -t clean --drift \
    >"$PF_TMP/int.out" 2>"$PF_TMP/int.err" &
PID=$!
PF_BG_PIDS+=("$PID")
for _ in $(seq 1 300); do
    [ "$(psql -X -A -t -p "$PORT2" -d postgres -c \
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname LIKE 'pgfleet\\_drift\\_%'")" = 1 ] && break
    sleep 0.1
done
assert_eq 1 "$(scratch_dbs)" "the build runs in its scratch database"
kill -INT "$PID"
RC=0
for _ in $(seq 1 300); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    fail "pgfleet still runs 30 s after SIGINT"
else
    wait "$PID" || RC=$?
fi
assert_eq 130 "$RC" "SIGINT during the build: exit 130: $(cat "$PF_TMP/int.err")"
assert_eq 0 "$(scratch_dbs)" "the scratch database is dropped after SIGINT"

pf_done
