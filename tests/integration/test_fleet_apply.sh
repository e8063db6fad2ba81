# A fleet of 24 fresh databases: apply with -j 8 creates every ledger and table; a second apply
# is a no-op; audit is clean; a new migration makes every target behind, plan lists it and
# apply runs only it.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

DBS=()
for i in $(seq -w 1 24); do DBS+=("fleet$i"); done
pg_createdb "${DBS[@]}"

MIG=$PF_TMP/drizzle
W=$PF_WHEN0
mig_add "$MIG" 0000_users $((W + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL);' \
    'CREATE UNIQUE INDEX "users_email_idx" ON "users" ("email");'
mig_add "$MIG" 0001_posts $((W + 2000)) \
    'CREATE TABLE "posts" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer NOT NULL, "body" text);' \
    'ALTER TABLE "posts" ADD CONSTRAINT "posts_user_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id");' \
    'CREATE INDEX "posts_user_idx" ON "posts" ("user_id");'
mig_add "$MIG" 0002_tags $((W + 3000)) \
    'CREATE TABLE "tags" ("id" serial PRIMARY KEY NOT NULL, "name" text NOT NULL);'

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "" "${DBS[@]}"

expected_ledger() {
    local tag
    for tag in "$@"; do
        echo "$(file_hash "$MIG/$tag.sql") $(jget "$MIG/meta/_journal.json" \
            "next(e['when'] for e in d['entries'] if e['tag'] == '$tag')")"
    done
}
# Every target NAME with the same VALUE, one line each.
each() {
    local db
    for db in "${DBS[@]}"; do echo "$db $*"; done
}
# Which databases' state differs from WANT (lines of db_state); "" when none.
check_dbs() {
    local want=$1 db bad=""
    for db in "${DBS[@]}"; do
        [ "$(db_state "$db")" = "$want" ] || bad+=" $db"
    done
    echo "$bad"
}
TABLES3="tables: posts tags users"
WANT3=$(expected_ledger 0000_users 0001_posts 0002_tags)

# --- apply --dry-run: only plans --------------------------------------------------------------
pf dry apply -i "$INV" -j 8 --dry-run -f json
assert_eq 0 "$RC" "apply --dry-run exits 0"
assert_eq "plan null" "$(jget "$PF_TMP/dry.out" 'd["command"] + " " + show(d["outcomes"])')" \
    "apply --dry-run reports command plan, outcomes null (docs/report.md)"
assert_lines "$(each "uninitialized 0000_users 0001_posts 0002_tags []")" \
    "$(jtargets "$PF_TMP/dry.out" 't["status"] + " " + show(t["pending"]) + " " + json.dumps(t["applied"])')" \
    "apply --dry-run: every target uninitialized with 3 pending, nothing applied"
assert_eq "" "$(check_dbs "no ledger"$'\n'"tables: ")" "apply --dry-run changed nothing"

# --- first apply ----------------------------------------------------------------------------
pf apply1 apply -i "$INV" -j 8 -f json -o "$PF_TMP/apply1.json"
assert_eq 0 "$RC" "apply -j 8 on 24 fresh databases exits 0 (stderr: $(pf_err apply1))"
R=$PF_TMP/apply1.json
assert_eq 24 "$(jget "$R" 'd["counts"]["targets"]')" "report counts 24 targets"
assert_eq 24 "$(jget "$R" 'd["outcomes"]["applied"]')" "24 targets applied"
assert_eq 24 "$(jget "$R" 'd["counts"]["uninitialized"]')" "24 targets were uninitialized before"
assert_eq "false" "$(jget "$R" 'd["interrupted"]')" "not interrupted"
assert_eq 0 "$(jget "$R" 'd["exit_code"]')" "report exit_code 0"
assert_lines "$(each "applied | 0000_users 0001_posts 0002_tags | null")" \
    "$(jtargets "$R" 't["outcome"] + " | " + show(t["applied"]) + " | " + show(t["error"])')" \
    "every target: outcome applied, applied [0000_users 0001_posts 0002_tags], no error"
assert_eq "" "$(check_dbs "$WANT3"$'\n'"$TABLES3")" \
    "every db has exactly the 3 ledger rows (sha256 of the files, journal when) and the tables"

declare -A IDS_BEFORE
for db in "${DBS[@]}"; do IDS_BEFORE[$db]=$(ledger_rows "$db"); done

# --- re-run: a no-op --------------------------------------------------------------------------
pf apply2 apply -i "$INV" -j 8 -f json
assert_eq 0 "$RC" "second apply exits 0"
R=$PF_TMP/apply2.out
assert_eq 24 "$(jget "$R" 'd["outcomes"]["unchanged"]')" "second apply: 24 unchanged"
assert_eq 0 "$(jget "$R" 'd["outcomes"]["applied"]')" "second apply: none applied"
assert_eq 24 "$(jget "$R" 'd["counts"]["in_sync"]')" "second apply: 24 in_sync"
assert_lines "$(each "in_sync unchanged [] 3")" \
    "$(jtargets "$R" 't["status"] + " " + t["outcome"] + " " + json.dumps(t["applied"]) + " " + show(t["applied_before"])')" \
    "second apply: every target in_sync, outcome unchanged, nothing applied"
bad=""
for db in "${DBS[@]}"; do
    [ "$(ledger_rows "$db")" = "${IDS_BEFORE[$db]}" ] || bad+=" $db"
done
assert_eq "" "$bad" "second apply: ledger rows (ids, hashes, created_at) unchanged everywhere"

pf audit1 audit -i "$INV" -j 8
assert_eq 0 "$RC" "audit of the migrated fleet exits 0"
assert_contains "$(pf_out audit1)" "24 targets: 24 in_sync" "audit text summary"

# --- a new migration ----------------------------------------------------------------------------
mig_add "$MIG" 0003_comments $((W + 4000)) \
    'CREATE TABLE "comments" ("id" serial PRIMARY KEY NOT NULL, "post_id" integer NOT NULL);' \
    'ALTER TABLE "posts" ADD COLUMN "title" text;'

pf audit2 audit -i "$INV" -j 8 -f json
assert_eq 1 "$RC" "audit after adding a migration exits 1"
R=$PF_TMP/audit2.out
assert_eq 24 "$(jget "$R" 'd["counts"]["behind"]')" "audit: 24 behind"
assert_lines "$(each "behind [\"0003_comments\"] null")" \
    "$(jtargets "$R" 't["status"] + " " + json.dumps(t["pending"]) + " " + show(t["outcome"])')" \
    "audit: every target behind with pending [0003_comments]"

pf plan1 plan -i "$INV" -j 8
assert_eq 0 "$RC" "plan with only behind targets exits 0"
assert_contains "$(pf_out plan1)" "pending: 0003_comments" "plan text lists the pending migration"
assert_not_contains "$(pf_out plan1)" "0000_users" "plan text lists nothing already applied"
pf plan2 plan -i "$INV" -j 8 -f json
assert_eq 0 "$RC" "plan --format json exits 0"
assert_lines "$(each "behind [\"0003_comments\"]")" \
    "$(jtargets "$PF_TMP/plan2.out" 't["status"] + " " + json.dumps(t["pending"])')" \
    "plan json: every target behind, pending [0003_comments]"
assert_eq "" "$(check_dbs "$WANT3"$'\n'"$TABLES3")" "plan and audit changed nothing"

pf apply3 apply -i "$INV" -j 8 -f json
assert_eq 0 "$RC" "apply of the new migration exits 0"
R=$PF_TMP/apply3.out
assert_eq 24 "$(jget "$R" 'd["outcomes"]["applied"]')" "third apply: 24 applied"
assert_lines "$(each "applied [\"0003_comments\"] 3")" \
    "$(jtargets "$R" 't["outcome"] + " " + json.dumps(t["applied"]) + " " + show(t["applied_before"])')" \
    "third apply: every target applied only [0003_comments]"
WANT4=$(expected_ledger 0000_users 0001_posts 0002_tags 0003_comments)
assert_eq "" "$(check_dbs "$WANT4"$'\n'"tables: comments posts tags users")" \
    "third apply: one new ledger row per db and the comments table"
bad=""
for db in "${DBS[@]}"; do
    [ "$(ledger_rows "$db" | head -n 3)" = "${IDS_BEFORE[$db]}" ] || bad+=" $db(old rows)"
    [ "$(pg_psql "$db" "select count(*) from information_schema.columns where table_name = 'posts' and column_name = 'title'")" = 1 ] ||
        bad+=" $db(posts.title)"
done
assert_eq "" "$bad" "third apply: the old rows kept their ids; posts.title added"

pf audit3 audit -i "$INV" -j 8
assert_eq 0 "$RC" "audit after the third apply exits 0"

pf_done
