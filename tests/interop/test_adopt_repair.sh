#!/usr/bin/env bash
# Adopting a database that drizzle-kit push made, and repairing an edited migration:
#   (a) a database pushed by the real drizzle-kit (schema-v2 of the fixture app, i.e. what
#       0000_init + 0001_projects create) has no ledger: apply fails on an object that already
#       exists; `mark-applied --through 0001_projects` records the two rows exactly as drizzle's
#       migrator writes them (hash, created_at; compared with a twin drizzle migrated), only
#       with --yes (no terminal: exit 3, nothing recorded); then apply brings it to head, audit
#       is in sync and drizzle's migrator finds nothing to do;
#   (b) mark-applied refuses a tag the codebase lacks (exit 3) and a row already present
#       (refused, exit 1, nothing recorded);
#   (c) a migration converted to CRLF after it was applied is `modified` with a hint naming
#       repair; `repair --yes` rewrites that row's hash to the file's (drizzle's hash), shows old
#       and new, touches no other row; audit is then in sync.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

APP=$FIXTURES/app/drizzle
pg_createdb pushed twin crlf
write_inv "$PF_TMP/inv.yaml" "$APP" -- pushed twin crlf
ROWS="select hash, created_at from drizzle.__drizzle_migrations order by id"

# --- (a) a push-made database -----------------------------------------------------------------------
P=$PF_TMP/push
mkdir -p "$P"
cp "$FIXTURES/app/schema-v2.ts" "$P/schema.ts"
cat >"$P/drizzle.config.ts" <<'EOF'
export default { dialect: 'postgresql', schema: './schema.ts', dbCredentials: { url: process.env.DATABASE_URL } };
EOF
rc=0
(cd "$P" && DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/pushed" NODE_PATH="$INTEROP/node_modules" \
    "$INTEROP/node_modules/.bin/drizzle-kit" push --config=drizzle.config.ts --force) >"$PF_TMP/push.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "(a) drizzle-kit push made the database ($(tail -n 3 "$PF_TMP/push.log"))"
assert_eq "t" "$(pg_psql pushed "select to_regclass('public.projects') is not null")" "(a) push created projects"
assert_eq "f" "$(pg_psql pushed "select to_regclass('drizzle.__drizzle_migrations') is not null")" "(a) push left no ledger"

pf mark-applied -i "$PF_TMP/inv.yaml" -t pushed --through 0001_projects </dev/null
assert_eq 3 "$PF_RC" "(a) mark-applied without --yes and without a terminal: exit 3"
assert_contains "$PF_ERR" "--yes" "(a) the error says to pass --yes"
assert_eq "f" "$(pg_psql pushed "select to_regclass('drizzle.__drizzle_migrations') is not null")" "(a) nothing recorded"

pf mark-applied -i "$PF_TMP/inv.yaml" -t pushed --through 0001_projects --yes -f json
assert_eq 0 "$PF_RC" "(a) mark-applied --through --yes: exit 0 ($PF_ERR)"
assert_eq recorded "$(pf_target_json pushed | jq -r .outcome)" "(a) outcome recorded"
assert_eq '["0000_init","0001_projects"]' "$(pf_target_json pushed | jq -c .applied)" "(a) the report lists the rows recorded"
assert_contains "$PF_ERR" "recording 0000_init (hash $(drizzle_hash "$APP/0000_init.sql")" "(a) it prints what it records"
journal_prefix "$APP" "$PF_TMP/first2" 2
drz twin "$PF_TMP/first2"
assert_eq "$(pg_psql twin "$ROWS")" "$(pg_psql pushed "$ROWS")" "(a) the rows are the ones drizzle's migrator writes"
assert_eq "$(ledger_def twin)" "$(ledger_def pushed)" "(a) the ledger table is drizzle's"

pf apply -i "$PF_TMP/inv.yaml" -t pushed -f json
assert_eq 0 "$PF_RC" "(a) apply to head after adoption: exit 0 ($(pf_target_json pushed | jq -r .error.message))"
assert_eq '["0002_roles_and_rls","0003_audit_log"]' "$(pf_target_json pushed | jq -c .applied)" "(a) applied the rest"
pf audit -i "$PF_TMP/inv.yaml" -t pushed
assert_eq 0 "$PF_RC" "(a) audit: in sync"
before=$(pg_psql pushed "$ROWS")
drz pushed "$APP"
assert_eq "$before" "$(pg_psql pushed "$ROWS")" "(a) drizzle's migrator finds nothing to do"

# --- (b) refusals ---------------------------------------------------------------------------------
pf mark-applied -i "$PF_TMP/inv.yaml" -t pushed --migration 0009_nope --yes
assert_eq 3 "$PF_RC" "(b) a tag the codebase lacks: exit 3"
assert_contains "$PF_ERR" "0009_nope" "(b) the error names the tag"
pf mark-applied -i "$PF_TMP/inv.yaml" -t pushed --migration 0000_init --yes -f json
assert_eq 1 "$PF_RC" "(b) a row already present: exit 1"
assert_eq refused "$(pf_target_json pushed | jq -r .outcome)" "(b) refused"
assert_contains "$(pf_target_json pushed | jq -r .error.message)" "already in the ledger: 0000_init" "(b) the error names it"
assert_eq "$before" "$(pg_psql pushed "$ROWS")" "(b) nothing recorded"
pf mark-applied -i "$PF_TMP/inv.yaml" -t pushed --through 0003_audit_log --yes -f json
assert_eq 0 "$PF_RC" "(b) --through with every row present: exit 0"
assert_eq unchanged "$(pf_target_json pushed | jq -r .outcome)" "(b) unchanged"

# --- (c) repair of a CRLF-converted migration -----------------------------------------------------
pf apply -i "$PF_TMP/inv.yaml" -t crlf
assert_eq 0 "$PF_RC" "(c) apply the app"
C=$PF_TMP/crlf-app
cp -r "$APP" "$C"
sed -i 's/$/\r/' "$C/0001_projects.sql"
write_inv "$PF_TMP/inv-c.yaml" "$C" -- crlf
pf audit -i "$PF_TMP/inv-c.yaml" -f json
assert_eq 1 "$PF_RC" "(c) audit after the CRLF conversion: exit 1"
assert_eq modified "$(pf_target_json crlf | jq -r .status)" "(c) modified"
assert_contains "$(pf_target_json crlf | jq -r '.problems[0].message')" "pgfleet repair" "(c) the hint names repair"
old=$(pg_psql crlf "select hash from drizzle.__drizzle_migrations where id = 2")
others=$(pg_psql crlf "select id, hash, created_at from drizzle.__drizzle_migrations where id <> 2 order by id")
pf repair -i "$PF_TMP/inv-c.yaml" </dev/null
assert_eq 3 "$PF_RC" "(c) repair without --yes and without a terminal: exit 3"
pf repair -i "$PF_TMP/inv-c.yaml" --yes -f json
assert_eq 0 "$PF_RC" "(c) repair --yes: exit 0"
assert_eq repaired "$(pf_target_json crlf | jq -r .outcome)" "(c) outcome repaired"
new=$(drizzle_hash "$C/0001_projects.sql")
assert_contains "$PF_ERR" "repairing 0001_projects (ledger row 2): hash $old -> $new" "(c) old and new hash shown"
assert_eq "$new" "$(pg_psql crlf "select hash from drizzle.__drizzle_migrations where id = 2")" "(c) the row has drizzle's hash of the file"
assert_eq "$others" "$(pg_psql crlf "select id, hash, created_at from drizzle.__drizzle_migrations where id <> 2 order by id")" "(c) no other row touched"
pf audit -i "$PF_TMP/inv-c.yaml"
assert_eq 0 "$PF_RC" "(c) audit: in sync"

pf_done
