# Rollback with down migrations (docs/rollback.md): a fleet at different heads brought to TAG
# (down files run newest first, ledger rows deleted, in one transaction), --steps, plan
# --rollback (shows, changes nothing), the refusals (no down file, modified, ahead, a ledger
# that is not the codebase's first migrations), a failing down file leaves the target as it
# was, apply afterwards re-applies, the v1 layout's <folder>/down.sql, tenant schemas (down
# files rewritten for each tenant), and lint's rules.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

MIG=$PF_TMP/drizzle
W=$PF_WHEN0
mig_add "$MIG" 0000_users $((W + 1000)) 'CREATE TABLE "users" ("id" int);'
mig_add "$MIG" 0001_posts $((W + 2000)) 'CREATE TABLE "posts" ("id" int);'
mig_add "$MIG" 0002_tags $((W + 3000)) 'CREATE TABLE "tags" ("id" int);' 'CREATE INDEX "tags_id" ON "tags" ("id");'
mkdir -p "$MIG/down"
printf 'DROP TABLE "users";\n' >"$MIG/down/0000_users.sql"
printf 'DROP TABLE "posts";\n' >"$MIG/down/0001_posts.sql"
printf 'DROP INDEX "tags_id";\n--> statement-breakpoint\nDROP TABLE "tags";\n' >"$MIG/down/0002_tags.sql"

pg_createdb rb_a rb_b rb_c rb_mod
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "" rb_a rb_b rb_c rb_mod
pf full apply -i "$INV" -t rb_a -t rb_mod
assert_eq 0 "$RC" "rb_a and rb_mod fully applied (stderr: $(pf_err full))"
# rb_b at 0001, rb_c at 0000: the same folder, cut short
cp -r "$MIG" "$PF_TMP/two"; mig_del "$PF_TMP/two" 0002_tags
cp -r "$PF_TMP/two" "$PF_TMP/one"; mig_del "$PF_TMP/one" 0001_posts
pf two apply -i "$INV" -m "$PF_TMP/two" -t rb_b
assert_eq 0 "$RC" "rb_b at 0001 (stderr: $(pf_err two))"
pf one apply -i "$INV" -m "$PF_TMP/one" -t rb_c
assert_eq 0 "$RC" "rb_c at 0000 (stderr: $(pf_err one))"
pg_psql rb_mod "update drizzle.__drizzle_migrations set hash = 'edited' where id = 2" >/dev/null
A_BEFORE=$(db_state rb_a)

# --- plan --rollback: what would run, nothing changes -------------------------------------------
pf plan plan --rollback --to 0000_users -i "$INV" -f json
assert_eq 1 "$RC" "plan --rollback exits 1: a target would be refused (stderr: $(pf_err plan))"
assert_lines "rb_a 0002_tags 0001_posts"$'\n'"rb_b 0001_posts"$'\n'"rb_c "$'\n'"rb_mod " \
    "$(jtargets "$PF_TMP/plan.out" 'show(t.get("rollback", []))')" \
    "plan --rollback lists each target's migrations to undo, newest first"
assert_contains "$(jt "$PF_TMP/plan.out" rb_mod 't["error"]["message"]')" "refused: modified" \
    "and says a modified target would be refused"
assert_eq "$A_BEFORE" "$(db_state rb_a)" "plan --rollback changed nothing"

# --- refusals ------------------------------------------------------------------------------------
pf noterm rollback --to 0000_users -i "$INV" </dev/null
assert_eq 3 "$RC" "no terminal and no --yes: nothing runs"
mv "$MIG/down/0001_posts.sql" "$PF_TMP/saved.sql"
pf nodown rollback --to 0000_users -i "$INV" -t rb_a --yes -f json
assert_eq 1 "$RC" "a missing down file refuses the target (exit 1)"
assert_eq "refused: no down file: $MIG/down/0001_posts.sql; hint: write it (docs/rollback.md); nothing was rolled back" \
    "$(jt "$PF_TMP/nodown.out" rb_a 't["error"]["message"]')" "the refusal names the file"
assert_eq "$A_BEFORE" "$(db_state rb_a)" "nothing was rolled back"
mv "$PF_TMP/saved.sql" "$MIG/down/0001_posts.sql"

# --- a failing down file: the target as it was --------------------------------------------------
cp "$MIG/down/0002_tags.sql" "$PF_TMP/tags_down.sql"
printf 'DROP INDEX "tags_id";\n--> statement-breakpoint\nDROP TABLE "nope";\n' >"$MIG/down/0002_tags.sql"
pf failing rollback --to 0000_users -i "$INV" -t rb_a --yes -f json
assert_eq 2 "$RC" "a failing down file fails the target"
assert_eq failed "$(jt "$PF_TMP/failing.out" rb_a 't["outcome"]')" "outcome failed"
assert_eq 'rollback of 0002_tags, down statement 2 failed: table "nope" does not exist (SQLSTATE 42P01); the transaction was rolled back: the target is as it was' \
    "$(jt "$PF_TMP/failing.out" rb_a 't["error"]["message"]')" "the error names the statement"
assert_eq "$A_BEFORE" "$(db_state rb_a)" "the target is as it was: tables and ledger"
assert_eq 1 "$(pg_psql rb_a "select count(*) from pg_indexes where indexname = 'tags_id'")" \
    "the index the first down statement dropped is back"
cp "$PF_TMP/tags_down.sql" "$MIG/down/0002_tags.sql"

# --- rollback --to: each target to TAG ----------------------------------------------------------
pf to rollback --to 0000_users -i "$INV" --yes -f json
R=$PF_TMP/to.out
assert_eq 1 "$RC" "rollback exits 1: rb_mod refused (stderr: $(pf_err to))"
assert_lines "rb_a rolled_back"$'\n'"rb_b rolled_back"$'\n'"rb_c unchanged"$'\n'"rb_mod refused" \
    "$(jtargets "$R" 't["outcome"]')" "each target at its own head is brought to 0000_users"
assert_eq "0002_tags 0001_posts" "$(jt "$R" rb_a 'show(t["rollback"])')" "rb_a: two undone, newest first"
want="$(file_hash "$MIG/0000_users.sql") $((W + 1000))"$'\n'"tables: users"
assert_eq "$want" "$(db_state rb_a)" "rb_a: the ledger's first row and only its table"
assert_eq "$want" "$(db_state rb_b)" "rb_b: the same"
assert_eq "$want" "$(db_state rb_c)" "rb_c: untouched"
assert_eq 3 "$(pg_psql rb_mod 'select count(*) from drizzle.__drizzle_migrations')" "rb_mod: untouched"
assert_contains "$(pf_err to)" "rolling back 0002_tags (ledger row 3) with $MIG/down/0002_tags.sql" \
    "each down file is named as it runs"

# --- apply afterwards, then --steps -------------------------------------------------------------
pf again apply -i "$INV" -t rb_a -t rb_b
assert_eq 0 "$RC" "apply re-applies what was rolled back (stderr: $(pf_err again))"
assert_eq "$A_BEFORE" "$(db_state rb_a)" "rb_a as before the rollback"
pf steps rollback --steps 1 -i "$INV" -t rb_a --yes -f json
assert_eq 0 "$RC" "rollback --steps 1 (stderr: $(pf_err steps))"
assert_eq "0002_tags" "$(jt "$PF_TMP/steps.out" rb_a 'show(t["rollback"])')" "--steps 1 undoes the newest"
assert_eq "f" "$(has_table rb_a tags)" "tags is gone"
assert_eq 2 "$(pg_psql rb_a 'select count(*) from drizzle.__drizzle_migrations')" "two rows left"

# --- ahead: a ledger row the codebase does not know --------------------------------------------
pg_createdb rb_ahead
inv_add_target "$INV" rb_ahead "$(pf_dsn rb_ahead)"
pf ahead_apply apply -i "$INV" -t rb_ahead
pg_psql rb_ahead "insert into drizzle.__drizzle_migrations (hash, created_at) values ('unknown', $((W + 9000)))" >/dev/null
AHEAD_BEFORE=$(db_state rb_ahead)
pf ahead rollback --to 0000_users -i "$INV" -t rb_ahead --yes -f json
assert_eq 1 "$RC" "an ahead target is refused (exit 1)"
assert_contains "$(jt "$PF_TMP/ahead.out" rb_ahead 't["error"]["message"]')" "refused: ahead" "and says ahead"
assert_eq "$AHEAD_BEFORE" "$(db_state rb_ahead)" "nothing was rolled back"

# --- plugin events: command rollback, a migration event per migration undone ------------------
REC=$PF_TMP/events.txt
{
    cat "$INV"
    echo "plugins:"
    echo "  - {path: \"$PF_TEST_PLUGINS_DIR/record.so\", config: {file: \"$REC\"}}"
} >"$PF_TMP/plug.yaml"
pf events rollback --steps 1 -i "$PF_TMP/plug.yaml" -t rb_a --yes
assert_eq 0 "$RC" "rollback with a plugin (stderr: $(pf_err events))"
assert_contains "$(grep '^run_start' "$REC")" "command=rollback" "run_start says the command"
assert_lines "migration_before target=rb_a migration=0001_posts 1/1
migration_after target=rb_a migration=0001_posts 1/1 result=rolled_back" \
    "$(grep '^migration_' "$REC")" "migration_before and migration_after, result rolled_back"

# --- the v1 layout: <folder>/down.sql ---------------------------------------------------------
V1=$PF_TMP/v1
mkdir -p "$V1/20250101000000_users" "$V1/20250102000000_posts"
printf 'CREATE TABLE "v_users" ("id" int);\n' >"$V1/20250101000000_users/migration.sql"
printf 'CREATE TABLE "v_posts" ("id" int);\n' >"$V1/20250102000000_posts/migration.sql"
printf 'DROP TABLE "v_posts";\n' >"$V1/20250102000000_posts/down.sql"
pg_createdb rb_v1
inv_write "$PF_TMP/v1.yaml" "$V1" "" rb_v1
pf v1apply apply -i "$PF_TMP/v1.yaml"
assert_eq 0 "$RC" "v1 layout applied (stderr: $(pf_err v1apply))"
pf v1rb rollback --to 20250101000000_users -i "$PF_TMP/v1.yaml" --yes -f json
assert_eq 0 "$RC" "v1 rollback (stderr: $(pf_err v1rb))"
assert_eq "20250102000000_posts" "$(jt "$PF_TMP/v1rb.out" rb_v1 'show(t["rollback"])')" "v1: down.sql in the folder"
assert_eq "tf" "$(has_table rb_v1 v_users)$(has_table rb_v1 v_posts)" "v1: v_posts is gone"
assert_eq "20250101000000_users" "$(pg_psql rb_v1 'select name from drizzle.__drizzle_migrations')" \
    "v1: the ledger keeps the first folder"

# --- tenant schemas: the down files rewritten for each tenant, public untouched ----------------
# drizzle-kit qualifies with "public"; a tenant's down files run with the folder's schemas renamed
# to its own, as its migrations did (docs/tenants.md).
TEN=$PF_TMP/tenants
mig_add "$TEN" 0000_orgs $((W + 1000)) 'CREATE TABLE "orgs" ("id" serial PRIMARY KEY NOT NULL);'
mig_add "$TEN" 0001_members $((W + 2000)) 'CREATE TABLE "members" ("id" serial PRIMARY KEY NOT NULL, "org_id" integer);' \
    'ALTER TABLE "members" ADD CONSTRAINT "members_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;'
mig_add "$TEN" 0002_role $((W + 3000)) "CREATE TYPE \"public\".\"role\" AS ENUM('owner', 'member');" \
    'ALTER TABLE "members" ADD COLUMN "role" "public"."role" DEFAULT '"'member'"';'
mkdir -p "$TEN/down"
printf 'DROP TABLE "public"."orgs";\n' >"$TEN/down/0000_orgs.sql"
printf 'ALTER TABLE "public"."members" DROP CONSTRAINT "members_org_id_orgs_id_fk";\n--> statement-breakpoint\nDROP TABLE "public"."members";\n' \
    >"$TEN/down/0001_members.sql"
printf 'ALTER TABLE "public"."members" DROP COLUMN "role";\n--> statement-breakpoint\nDROP TYPE "public"."role";\n' \
    >"$TEN/down/0002_role.sql"
pg_createdb rb_ten
TINV=$PF_TMP/tenants.yaml
{
    echo "migrations: {dir: \"$TEN\"}"
    echo "defaults: {create_schema: true}"
    echo "targets:"
    echo "  - {name: ten-public, dsn: \"$(pf_dsn rb_ten)\"}"
    for x in a b c; do echo "  - {name: ten-$x, dsn: \"$(pf_dsn rb_ten)\", schema: ten_$x}"; done
} >"$TINV"
cp -r "$TEN" "$PF_TMP/ten_one"; mig_del "$PF_TMP/ten_one" 0002_role; mig_del "$PF_TMP/ten_one" 0001_members
pf tapply apply -i "$TINV" -t ten-public -t ten-a -t ten-b
assert_eq 0 "$RC" "public and two tenants fully applied (stderr: $(pf_err tapply))"
pf tone apply -i "$TINV" -m "$PF_TMP/ten_one" -t ten-c
assert_eq 0 "$RC" "ten-c applied only to 0000_orgs (stderr: $(pf_err tone))"
# pg_dump -s of one schema, without comments and the \restrict key it draws anew each time
schema_dump() { pg_dump -s -n "$1" "$(pf_dsn rb_ten)" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict'; }
shape() { schema_dump "$1" | sed "s/$1/TENANT/g"; }
PUBLIC_BEFORE=$(schema_dump public; pg_psql rb_ten 'select hash, created_at from drizzle.__drizzle_migrations order by id')
pf tsteps rollback --steps 1 -i "$TINV" -t ten-b --yes -f json
assert_eq 0 "$RC" "a tenant rolled back one step (stderr: $(pf_err tsteps))"
assert_eq "0002_role" "$(jt "$PF_TMP/tsteps.out" ten-b 'show(t["rollback"])')" "ten-b: 0002_role undone"
assert_eq "0" "$(pg_psql rb_ten "select count(*) from pg_type where typname = 'role' and typnamespace = 'ten_b'::regnamespace")" \
    "ten-b: its own enum dropped"
pf tplan plan --rollback --to 0000_orgs -i "$TINV" -t 'ten-[abc]' -f json
assert_eq 0 "$RC" "plan --rollback over the tenants (stderr: $(pf_err tplan))"
assert_lines "ten-a 0002_role 0001_members"$'\n'"ten-b 0001_members"$'\n'"ten-c " \
    "$(jtargets "$PF_TMP/tplan.out" 'show(t.get("rollback", []))')" "plan --rollback: each tenant's own list"
pf tto rollback --to 0000_orgs -i "$TINV" -t 'ten-[abc]' --yes -f json
assert_eq 0 "$RC" "the tenants rolled back to 0000_orgs (stderr: $(pf_err tto))"
assert_lines "ten-a rolled_back"$'\n'"ten-b rolled_back"$'\n'"ten-c unchanged" \
    "$(jtargets "$PF_TMP/tto.out" 't["outcome"]')" "each tenant from its own head"
for x in a b; do
    assert_eq "$(shape ten_c)" "$(shape "ten_$x")" "ten-$x: the schema of a tenant migrated only to 0000_orgs"
    assert_eq "$(pg_psql rb_ten 'select hash, created_at from ten_c.__drizzle_migrations order by id')" \
        "$(pg_psql rb_ten "select hash, created_at from ten_$x.__drizzle_migrations order by id")" \
        "ten-$x: the ledger of a tenant migrated only to 0000_orgs"
done
assert_eq "$PUBLIC_BEFORE" "$(schema_dump public; pg_psql rb_ten 'select hash, created_at from drizzle.__drizzle_migrations order by id')" \
    "public's tables, enum and ledger untouched"
pf tagain apply -i "$TINV" -t 'ten-[abc]'
assert_eq 0 "$RC" "apply brings the tenants forward again (stderr: $(pf_err tagain))"
assert_eq "$(shape ten_a | sort)" "$(shape ten_c | sort)" "ten-a and ten-c alike after apply"
# A tenant schema made by hand (its first table, as a push would) beside the migrated public:
# unmanaged for its own objects, and the database's drizzle.__drizzle_migrations, the ledger
# of the migrations run outside the tenants, is not taken for a ledger of its own.
pg_psql rb_ten 'CREATE SCHEMA ten_d; CREATE TABLE ten_d.orgs (id serial PRIMARY KEY NOT NULL)' >/dev/null
printf 'migrations: {dir: "%s"}\ntargets:\n  - {name: ten-d, dsn: "%s", schema: ten_d}\n' "$TEN" "$(pf_dsn rb_ten)" \
    >"$PF_TMP/ten_d.yaml"
pf tend plan -i "$PF_TMP/ten_d.yaml" -f json
assert_eq "1 unmanaged unmanaged" "$RC $(jt "$PF_TMP/tend.out" ten-d 't["status"] + " " + " ".join(p["kind"] for p in t["problems"])')" \
    "a tenant schema made by hand: unmanaged, the public ledger not taken for its own (stderr: $(pf_err tend))"
# plan --rollback runs no migration: an up migration that cannot be rewritten for the tenants
# is a warning for it, not a refusal (rollback itself says the same).
cp -r "$TEN" "$PF_TMP/ten_more"
mig_add "$PF_TMP/ten_more" 0003_cast $((W + 4000)) "SELECT 'public.orgs'::regclass;"
pf tmore plan --rollback --to 0001_members -m "$PF_TMP/ten_more" -i "$TINV" -t ten-a -f json
assert_eq "0 0002_role" "$RC $(jt "$PF_TMP/tmore.out" ten-a 'show(t["rollback"])')" \
    "plan --rollback beside an up migration that cannot be rewritten: not refused (stderr: $(pf_err tmore))"
assert_contains "$(pf_err tmore)" "$PF_TMP/ten_more/0003_cast.sql:1:" "and the place is still named"
# A down file naming the schema where it cannot be rewritten (inside a string) stops the run.
printf "DROP TABLE \"public\".\"members\";\n--> statement-breakpoint\nSELECT 'public.members'::regclass;\n" \
    >"$TEN/down/0001_members.sql"
pf tbad rollback --to 0000_orgs -i "$TINV" -t ten-a --yes
assert_eq 3 "$RC" "a down file that cannot be rewritten: nothing runs (exit 3)"
assert_contains "$(pf_err tbad)" "$TEN/down/0001_members.sql:3:" "the place is named"
assert_eq "3" "$(pg_psql rb_ten 'select count(*) from ten_a.__drizzle_migrations')" "ten-a untouched"

# --- lint: down files without their migration, migrations without down files ---------------------
printf 'DROP TABLE "x";\n' >"$MIG/down/0009_gone.sql"
rm "$MIG/down/0000_users.sql"
pf lint lint -m "$MIG" -f json
assert_eq 1 "$RC" "lint exits 1: a warning (stderr: $(pf_err lint))"
assert_lines "down-orphan warning $MIG/down/0009_gone.sql"$'\n'"down-missing info 0000_users" \
    "$(jget "$PF_TMP/lint.out" '"\n".join(f["rule"] + " " + f["severity"] + " " + (f["migration"] or f["file"]) for f in d["findings"] if f["rule"].startswith("down-"))')" \
    "lint: down-orphan and down-missing"

pf_done
