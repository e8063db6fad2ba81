# Schema drift against the real drizzle-kit (docs/drift.md). A database made by `drizzle-kit
# push` of the fixture app's schema-v2 holds exactly the schema its migrations 0000 and 0001
# make: `mark-applied --through 0001_projects --verify` adopts it, reporting nothing; after
# `apply`, `audit --drift` finds it in sync. A database pushed from schema-v3 (what 0003 adds,
# pushed early, as on a staging where someone ran push) is refused by the same --verify, with
# exactly what 0003 adds listed; after adoption through 0001 and `apply`, it is in sync too.
# Then a push onto an adopted database (schema-v3 plus one column) is drift: the column, and
# the policy and row level security of the custom migration 0002, which push removed.
source "$PF_TESTS_DIR/interop/lib/interop.sh"

APP=$FIXTURES/app/drizzle
pg_createdb pushed2 pushed3
INV=$PF_TMP/inv.yaml
write_inv "$INV" "$APP" -- pushed2 pushed3
echo "drift: {scratch_dsn: \"postgresql://postgres@127.0.0.1:$PGPORT/postgres\"}" >>"$INV"

push() { # DB SCHEMA_TS: drizzle-kit push of SCHEMA_TS to DB
    local P=$PF_TMP/push-$1 rc=0
    mkdir -p "$P"
    cp "$2" "$P/schema.ts"
    cat >"$P/drizzle.config.ts" <<'EOF'
export default { dialect: 'postgresql', schema: './schema.ts', dbCredentials: { url: process.env.DATABASE_URL } };
EOF
    (cd "$P" && DATABASE_URL="postgresql://postgres@127.0.0.1:$PGPORT/$1" \
        NODE_PATH="$INTEROP/node_modules" \
        "$INTEROP/node_modules/.bin/drizzle-kit" push --config=drizzle.config.ts --force) \
        >"$PF_TMP/push-$1.log" 2>&1 || rc=$?
    assert_eq 0 "$rc" "drizzle-kit push of $(basename "$2") to $1 ($(tail -n 3 "$PF_TMP/push-$1.log"))"
}
diffs() { # NAME: the differences of target NAME in the JSON report in PF_OUT, one a line
    pf_target_json "$1" | jq -r '.drift.differences[]'
}

push pushed2 "$FIXTURES/app/schema-v2.ts"
push pushed3 "$FIXTURES/app/schema-v3.ts"

pf mark-applied -i "$INV" -t pushed2 --through 0001_projects --verify --yes -f json
assert_eq 0 "$PF_RC" "--verify: push's schema-v2 is the schema of 0000 and 0001 ($PF_ERR)"
assert_eq "recorded []" "$(pf_target_json pushed2 | jq -r '.outcome + " " + (.drift.differences | tostring)')" \
    "--verify: recorded, no difference"

pf mark-applied -i "$INV" -t pushed3 --through 0001_projects --verify --yes -f json
assert_eq 1 "$PF_RC" "--verify: push's schema-v3 is not the schema of 0000 and 0001"
assert_eq refused "$(pf_target_json pushed3 | jq -r .outcome)" "--verify: refused"
assert_eq "+ column public.projects.status
+ enum public.project_status
+ table public.audit_log" "$(diffs pushed3)" "--verify: exactly what 0003 adds"
assert_eq "f" "$(pg_psql pushed3 "select to_regclass('drizzle.__drizzle_migrations') is not null")" \
    "--verify: nothing recorded on the refused database"

# Adopted through 0001, then migrated by pgfleet: both in sync, schemas included.
pf mark-applied -i "$INV" -t pushed3 --through 0001_projects --yes
assert_eq 0 "$PF_RC" "pushed3 adopted through 0001 without --verify ($PF_ERR)"
pf apply -i "$INV" -t pushed2
assert_eq 0 "$PF_RC" "apply to head on pushed2 ($PF_ERR)"
pf audit -i "$INV" -t pushed2 --drift -f json
assert_eq 0 "$PF_RC" "audit --drift: pushed2 is in sync, its schema too ($PF_ERR)"
assert_eq "in_sync true 0" \
    "$(pf_target_json pushed2 | jq -r '[.status, .drift.checked, (.drift.differences | length)] | join(" ")')" \
    "pushed2: push, then the migrations: the schema the migrations make"

# pushed3 holds 0003's objects already: its ledger says behind (0002 and 0003 pending), and
# its schema is not 0001's: drifted, with exactly what was pushed early.
pf audit -i "$INV" -t pushed3 --drift -f json
assert_eq 1 "$PF_RC" "audit --drift: pushed3 is not in sync"
assert_eq "drifted 0001_projects" "$(pf_target_json pushed3 | jq -r '.status + " " + .drift.head')" \
    "pushed3: drifted, compared with the schema of its ledger's head"
assert_eq "+ column public.projects.status
+ enum public.project_status
+ table public.audit_log" "$(diffs pushed3)" "pushed3: the objects pushed early"

# A column pushed onto pushed2 (schema-v3 plus one column, on a database migrated to head):
# drizzle-kit push changes the schema, never the ledger.
sed "s/^\\(\\s*\\)displayName: text('display_name'),/&\\n\\1nickname: text('nickname'),/" \
    "$FIXTURES/app/schema-v3.ts" >"$PF_TMP/schema-v3-nick.ts"
if grep -q nickname "$PF_TMP/schema-v3-nick.ts"; then
    pass "a schema with one column more"
else
    fail "the column could not be added to schema-v3.ts"
fi
push pushed2 "$PF_TMP/schema-v3-nick.ts"
pf audit -i "$INV" -t pushed2 --drift -f json
assert_eq 1 "$PF_RC" "audit --drift after a push: exit 1"
assert_eq "drifted" "$(pf_target_json pushed2 | jq -r .status)" "after a push: drifted"
# schema-v3.ts declares neither 0002's policy nor its row level security, so push took both
# away too: drift says so, beside the column.
assert_eq "+ column public.users.nickname
- policy public.projects.projects_tenant_isolation
~ table public.projects: row level security on -> row level security off" "$(diffs pushed2)" \
    "after a push: the pushed column, and the policy and RLS push removed"

pf_done
