# A database without the ledger is looked at before anything is applied to it:
#   (a) made by running the migrations' SQL by hand (as drizzle-kit push makes one): unmanaged,
#       naming what exists; plan and audit exit 1; apply refuses it (exit 1, nothing run, no
#       ledger created); mark-applied --through, as the hint says, then apply brings it to head;
#   (b) holding only objects no migration creates (Supabase's auth and storage schemas, a table
#       of its own, another folder's ledger, another tenant's ledger outside the search_path):
#       uninitialized, and apply works;
#   (c) whose ledger is public.__drizzle_migrations while the inventory expects
#       drizzle.__drizzle_migrations: the problem names it with the setting to use, plan and
#       audit exit 1, apply refuses it; with the inventory fixed it is in_sync. The same for a
#       ledger under another name (drizzle.my_migrations) of a folder whose CREATEs all say IF
#       NOT EXISTS: uninitialized, with the problem, and refused;
#   (d) whose objects are in a schema the user may not use: found all the same;
#   (e) whose ledger is elsewhere but every object its migrations made was dropped since:
#       uninitialized (the look-alikes are looked for only when one of those objects exists);
#   (f) of a folder whose last migration only adds indexes (as drizzle-kit writes one): made by
#       hand, unmanaged, naming the indexes and that migration as the newest; and (e) again with
#       that folder: an index is looked for like a table, so the look-alikes still are not;
#   and none of this costs a round trip (docs/round-trips.md).
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb byhand fresh unrelated elsewhere renamed

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) \
    "CREATE TYPE \"public\".\"user_role\" AS ENUM('admin', 'member');" \
    "CREATE TABLE \"users\" (\"id\" serial PRIMARY KEY NOT NULL, \"email\" text NOT NULL, \"role\" \"user_role\" DEFAULT 'member' NOT NULL);"
mig_add "$MIG" 0001_billing $((W + 2000)) \
    'CREATE SCHEMA "billing";' \
    'CREATE TABLE "billing"."invoices" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer NOT NULL);' \
    'ALTER TABLE "billing"."invoices" ADD CONSTRAINT "invoices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id");'
mig_add "$MIG" 0002_posts $((W + 3000)) \
    'CREATE TABLE "posts" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer NOT NULL);'

inv() { # FILE DB [MIGRATIONS-EXTRA]: one target, DB, with the migrations of $MIG
    printf 'migrations: {dir: "%s"%s}\ntargets:\n  - name: %s\n    dsn: "%s"\n' \
        "$MIG" "${3:+, $3}" "$2" "$(pf_dsn "$2")" >"$1"
}
has_ledger_schema() { pg_psql "$1" "select exists (select 1 from pg_namespace where nspname = 'drizzle')"; }

# What a fresh database costs, to compare with (docs/round-trips.md: plan 2, audit 1).
inv "$PF_TMP/fresh.yaml" fresh
pf fresh_plan plan -i "$PF_TMP/fresh.yaml" -f json
pf fresh_audit audit -i "$PF_TMP/fresh.yaml" -f json
assert_eq "uninitialized 2 | uninitialized 1" \
    "$(jt "$PF_TMP/fresh_plan.out" fresh 't["status"] + " " + str(t["round_trips"])') | $(jt "$PF_TMP/fresh_audit.out" fresh 't["status"] + " " + str(t["round_trips"])')" \
    "a fresh database: uninitialized, plan 2 round trips, audit 1"

# --- (a) made by hand ---------------------------------------------------------------------------
# The first two migrations' SQL run by hand, as a push of that schema would leave it.
for tag in 0000_init 0001_billing; do
    psql -X -q -v ON_ERROR_STOP=1 -d byhand -f "$MIG/$tag.sql" >/dev/null ||
        fail "(a) running $tag.sql by hand"
done
UNMANAGED="no ledger, but 4 objects its migrations create already exist: type public.user_role, table public.users, schema billing and 1 more (the newest from 0001_billing); hint: adopt it with pgfleet mark-applied --through TAG (the last migration it already holds), then apply"
inv "$PF_TMP/a.yaml" byhand

pf a_plan plan -i "$PF_TMP/a.yaml" -f json
assert_eq 1 "$RC" "(a) plan: exit 1, apply would refuse (stderr: $(pf_err a_plan))"
assert_eq "unmanaged 3 2" "$(jt "$PF_TMP/a_plan.out" byhand 't["status"] + " " + str(len(t["pending"])) + " " + str(t["round_trips"])')" \
    "(a) plan: unmanaged, 3 pending, 2 round trips as for a fresh database"
assert_eq "unmanaged null null" "$(jt "$PF_TMP/a_plan.out" byhand 'show([show(x) for p in t["problems"] for x in (p["kind"], p["migration"], p["ledger_id"])])')" \
    "(a) plan: one problem, of kind unmanaged"
assert_eq "$UNMANAGED" "$(jt "$PF_TMP/a_plan.out" byhand 't["problems"][0]["message"]')" \
    "(a) plan: the problem names a few of the objects and says how to adopt the database"
assert_eq 1 "$(jget "$PF_TMP/a_plan.out" 'd["counts"]["unmanaged"]')" "(a) plan: counts.unmanaged"

pf a_text plan -i "$PF_TMP/a.yaml"
assert_contains "$(pf_out a_text)" "byhand  unmanaged  3        unmanaged: $UNMANAGED" "(a) plan, text: the row says it"

pf a_audit audit -i "$PF_TMP/a.yaml" -f json
assert_eq 1 "$RC" "(a) audit: exit 1, not in sync"
assert_eq "unmanaged 1" "$(jt "$PF_TMP/a_audit.out" byhand 't["status"] + " " + str(t["round_trips"])')" \
    "(a) audit: unmanaged, 1 round trip as for a fresh database"

pf a_apply apply -i "$PF_TMP/a.yaml" -f json
assert_eq 1 "$RC" "(a) apply: exit 1, refused (stderr: $(pf_err a_apply))"
assert_eq "unmanaged refused 2" "$(jt "$PF_TMP/a_apply.out" byhand 't["status"] + " " + t["outcome"] + " " + str(t["round_trips"])')" \
    "(a) apply: refused, 2 round trips (survey, unlock)"
assert_eq "refused: unmanaged: $UNMANAGED" "$(jt "$PF_TMP/a_apply.out" byhand 't["error"]["message"]')" \
    "(a) apply: the refusal carries the hint"
assert_eq "" "$(jt "$PF_TMP/a_apply.out" byhand 'show(t["applied"])')" "(a) apply: nothing applied"
assert_eq "f f" "$(has_ledger_schema byhand) $(has_table byhand posts)" "(a) apply: no ledger created, nothing run"

# As the hint says: adopt it, then apply.
pf a_mark mark-applied -i "$PF_TMP/a.yaml" --through 0001_billing --yes
assert_eq 0 "$RC" "(a) mark-applied --through 0001_billing: exit 0 (stderr: $(pf_err a_mark))"
pf a_apply2 apply -i "$PF_TMP/a.yaml" -f json
assert_eq 0 "$RC" "(a) apply after mark-applied: exit 0 (stderr: $(pf_err a_apply2))"
assert_eq "behind applied 0002_posts" "$(jt "$PF_TMP/a_apply2.out" byhand 't["status"] + " " + t["outcome"] + " " + show(t["applied"])')" \
    "(a) apply after mark-applied: behind, the last migration applied"
pf a_audit2 audit -i "$PF_TMP/a.yaml"
assert_eq 0 "$RC" "(a) audit after adopting: in sync"

# --- (b) only unrelated objects -----------------------------------------------------------------
pg_psql unrelated "
    CREATE SCHEMA auth; CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2');
    CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
    CREATE SCHEMA storage; CREATE TABLE storage.objects (id uuid PRIMARY KEY, name text);
    CREATE TABLE public.profiles (id uuid PRIMARY KEY);
    CREATE TYPE public.mood AS ENUM ('ok');
    -- another migrations folder's ledger, on the search_path: none of its hashes are ours
    CREATE TABLE public.other_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
    INSERT INTO public.other_migrations (hash, created_at) VALUES ('0123abcd', 1);
    -- another tenant's ledger of the same folder, in its own schema (not on the search_path)
    CREATE SCHEMA tenant_a;
    CREATE TABLE tenant_a.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);
    INSERT INTO tenant_a.__drizzle_migrations (hash, created_at)
        VALUES ('$(file_hash "$MIG/0000_init.sql")', $((W + 1000)));" >/dev/null
inv "$PF_TMP/b.yaml" unrelated
pf b_plan plan -i "$PF_TMP/b.yaml" -f json
assert_eq 0 "$RC" "(b) plan: exit 0 (stderr: $(pf_err b_plan))"
assert_eq "uninitialized 0 2" "$(jt "$PF_TMP/b_plan.out" unrelated 't["status"] + " " + str(len(t["problems"])) + " " + str(t["round_trips"])')" \
    "(b) plan: uninitialized, no problem, 2 round trips"
pf b_apply apply -i "$PF_TMP/b.yaml" -f json
assert_eq 0 "$RC" "(b) apply: exit 0 (stderr: $(pf_err b_apply))"
assert_eq "uninitialized applied 0000_init 0001_billing 0002_posts" \
    "$(jt "$PF_TMP/b_apply.out" unrelated 't["status"] + " " + t["outcome"] + " " + show(t["applied"])')" \
    "(b) apply: every migration applied"
assert_eq "t t" "$(has_table unrelated posts) $(pg_psql unrelated "select to_regclass('auth.users') is not null")" \
    "(b) apply: the migrations ran beside what was there"

# --- (c) a ledger in the wrong place ------------------------------------------------------------
inv "$PF_TMP/c_public.yaml" elsewhere "schema: public"
pf c_prep apply -i "$PF_TMP/c_public.yaml"
assert_eq 0 "$RC" "(c) migrated with its ledger at public.__drizzle_migrations (stderr: $(pf_err c_prep))"
inv "$PF_TMP/c.yaml" elsewhere
ELSEWHERE="no ledger at drizzle.__drizzle_migrations, but public.__drizzle_migrations looks like one (3 rows)"
HINT="hint: set migrations: {schema: public, table: __drizzle_migrations} in the inventory, or -c drizzle.config.ts"

pf c_plan plan -i "$PF_TMP/c.yaml" -f json
assert_eq 1 "$RC" "(c) plan: exit 1, apply would refuse"
assert_eq "unmanaged 2" "$(jt "$PF_TMP/c_plan.out" elsewhere 't["status"] + " " + str(t["round_trips"])')" \
    "(c) plan: unmanaged (its objects exist), 2 round trips"
assert_lines "unmanaged: no ledger, but 5 objects its migrations create already exist: type public.user_role, table public.users, schema billing and 2 more (the newest from 0002_posts); hint: its ledger looks to be public.__drizzle_migrations: set migrations: {schema: public, table: __drizzle_migrations} in the inventory, or -c drizzle.config.ts
uninitialized: $ELSEWHERE; $HINT" \
    "$(jt "$PF_TMP/c_plan.out" elsewhere '"\n".join(p["kind"] + ": " + p["message"] for p in t["problems"])')" \
    "(c) plan: the ledger found elsewhere, and the setting to use it"
pf c_audit audit -i "$PF_TMP/c.yaml" -f json
assert_eq 1 "$RC" "(c) audit: exit 1"
assert_eq 1 "$(jt "$PF_TMP/c_audit.out" elsewhere 't["round_trips"]')" "(c) audit: 1 round trip"
pf c_apply apply -i "$PF_TMP/c.yaml" -f json
assert_eq 1 "$RC" "(c) apply: exit 1, refused"
assert_eq "refused refused: $ELSEWHERE: a new ledger here would start from zero beside it; $HINT" \
    "$(jt "$PF_TMP/c_apply.out" elsewhere 't["outcome"] + " " + t["error"]["message"]')" \
    "(c) apply: refused, a second ledger would start from zero"
assert_eq f "$(has_ledger_schema elsewhere)" "(c) apply: no second ledger created"
pf c_mark mark-applied -i "$PF_TMP/c.yaml" --through 0001_billing --yes -f json
assert_eq 1 "$RC" "(c) mark-applied: exit 1, refused"
assert_contains "$(jt "$PF_TMP/c_mark.out" elsewhere 't["outcome"] + " " + t["error"]["message"]')" \
    "refused refused: $ELSEWHERE" "(c) mark-applied: refused, naming the ledger found elsewhere"
assert_eq f "$(has_ledger_schema elsewhere)" "(c) mark-applied: no second ledger created"

pf c_fixed audit -i "$PF_TMP/c_public.yaml" -f json
assert_eq 0 "$RC" "(c) audit with the inventory fixed: exit 0"
assert_eq "in_sync 0" "$(jt "$PF_TMP/c_fixed.out" elsewhere 't["status"] + " " + str(len(t["problems"]))')" \
    "(c) with the inventory fixed: in_sync"
pf c_fixed_plan plan -i "$PF_TMP/c_public.yaml"
assert_eq 0 "$RC" "(c) plan with the inventory fixed: exit 0"

# Under another name, of a folder that creates nothing that could already exist.
IDEM=$PF_TMP/idempotent
mig_add "$IDEM" 0000_init $((W + 1000)) 'CREATE TABLE IF NOT EXISTS "things" ("id" integer);'
mig_add "$IDEM" 0001_more $((W + 2000)) 'CREATE TABLE IF NOT EXISTS "more" ("id" integer);'
printf 'migrations: {dir: "%s", table: my_migrations}\ntargets:\n  - name: renamed\n    dsn: "%s"\n' \
    "$IDEM" "$(pf_dsn renamed)" >"$PF_TMP/r_named.yaml"
pf r_prep apply -i "$PF_TMP/r_named.yaml"
assert_eq 0 "$RC" "(c) migrated with its ledger at drizzle.my_migrations (stderr: $(pf_err r_prep))"
inv "$PF_TMP/r.yaml" renamed
pf r_plan plan -i "$PF_TMP/r.yaml" -m "$IDEM" -f json
assert_eq 1 "$RC" "(c) plan, ledger under another name: exit 1"
assert_eq "uninitialized uninitialized: no ledger at drizzle.__drizzle_migrations, but drizzle.my_migrations looks like one (2 rows); hint: set migrations: {schema: drizzle, table: my_migrations} in the inventory, or -c drizzle.config.ts" \
    "$(jt "$PF_TMP/r_plan.out" renamed 't["status"] + " " + " | ".join(p["kind"] + ": " + p["message"] for p in t["problems"])')" \
    "(c) plan: uninitialized (nothing could fail), with the ledger found"
pf r_apply apply -i "$PF_TMP/r.yaml" -m "$IDEM" -f json
assert_eq 1 "$RC" "(c) apply, ledger under another name: exit 1"
assert_eq "uninitialized refused 2" "$(jt "$PF_TMP/r_apply.out" renamed 't["status"] + " " + t["outcome"] + " " + str(t["round_trips"])')" \
    "(c) apply: refused, 2 round trips"
assert_eq f "$(pg_psql renamed "select to_regclass('drizzle.__drizzle_migrations') is not null")" \
    "(c) apply: no second ledger beside drizzle.my_migrations"

# --- (d) objects in a schema the user may not use -----------------------------------------------
# Looked up in the catalogs, which every user may read (a look-up by name would fail there).
pg_createdb hidden
pg_psql hidden "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id integer);
    CREATE ROLE pf_plain LOGIN; GRANT CREATE ON SCHEMA public TO pf_plain" >/dev/null
printf 'migrations: {dir: "%s"}\ntargets:\n  - name: hidden\n    dsn: "postgresql://pf_plain@127.0.0.1:%s/hidden"\n' \
    "$MIG" "$PGPORT" >"$PF_TMP/d.yaml"
assert_eq f "$(pg_psql hidden "select has_schema_privilege('pf_plain', 'billing', 'USAGE')")" "(d) pf_plain may not use schema billing"
for cmd in plan audit; do
    pf "d_$cmd" "$cmd" -i "$PF_TMP/d.yaml" -f json
    assert_eq 1 "$RC" "(d) $cmd: exit 1 (stderr: $(pf_err "d_$cmd"))"
    assert_eq "unmanaged: no ledger, but 2 objects its migrations create already exist: schema billing, table billing.invoices (the newest from 0001_billing); hint: adopt it with pgfleet mark-applied --through TAG (the last migration it already holds), then apply" \
        "$(jt "$PF_TMP/d_$cmd.out" hidden 't["status"] + ": " + t["problems"][0]["message"]')" \
        "(d) $cmd: unmanaged, the objects in the schema it may not use found"
done

# --- (e) a ledger elsewhere, every object of its migrations dropped since -----------------------
# The look-alikes are looked for only when an object the migrations create exists (or a
# migration creates none that is looked for, as in (c)'s second case): a ledger elsewhere holding
# this folder's hashes has run migrations whose objects then exist, unless every one of them was
# dropped since. Then the database is taken for a new one (docs/statuses.md).
pg_createdb wiped
inv "$PF_TMP/e_public.yaml" wiped "schema: public"
pf e_prep apply -i "$PF_TMP/e_public.yaml"
assert_eq 0 "$RC" "(e) migrated with its ledger at public.__drizzle_migrations (stderr: $(pf_err e_prep))"
inv "$PF_TMP/e.yaml" wiped
pf e_kept plan -i "$PF_TMP/e.yaml" -f json
assert_eq "unmanaged 1" "$(jt "$PF_TMP/e_kept.out" wiped 't["status"] + " " + str(len([p for p in t["problems"] if p["kind"] == "uninitialized"]))')" \
    "(e) its objects there: unmanaged, and the ledger elsewhere is found"
pg_psql wiped "DROP SCHEMA billing CASCADE; DROP TABLE posts, users; DROP TYPE user_role" >/dev/null
pf e_plan plan -i "$PF_TMP/e.yaml" -f json
assert_eq "0 uninitialized 0" "$RC $(jt "$PF_TMP/e_plan.out" wiped 't["status"] + " " + str(len(t["problems"]))')" \
    "(e) every object dropped: uninitialized, the ledger elsewhere not looked for"

# --- (f) a last migration that only adds indexes ------------------------------------------------
# An index is a relation its CREATE INDEX fails on, in its table's schema; the one whose unique
# constraint is dropped first cannot make it fail, and is not looked for.
IDX=$PF_TMP/indexed
cp -r "$MIG" "$IDX"
mig_add "$IDX" 0003_hardening $((W + 4000)) \
    'CREATE INDEX "posts_user_id_idx" ON "public"."posts" USING btree ("user_id");' \
    'ALTER TABLE "billing"."invoices" ADD CONSTRAINT "invoices_user_id_unique" UNIQUE("user_id");' \
    'ALTER TABLE "billing"."invoices" DROP CONSTRAINT "invoices_user_id_unique";' \
    'CREATE UNIQUE INDEX "invoices_user_id_unique" ON "billing"."invoices" USING btree ("user_id");'
pg_createdb indexed
for tag in 0000_init 0001_billing 0002_posts 0003_hardening; do
    psql -X -q -v ON_ERROR_STOP=1 -d indexed -f "$IDX/$tag.sql" >/dev/null ||
        fail "(f) running $tag.sql by hand"
done
printf 'migrations: {dir: "%s"}\ntargets:\n  - name: indexed\n    dsn: "%s"\n' \
    "$IDX" "$(pf_dsn indexed)" >"$PF_TMP/f.yaml"
pf f_plan plan -i "$PF_TMP/f.yaml" -f json
assert_eq 1 "$RC" "(f) plan: exit 1 (stderr: $(pf_err f_plan))"
assert_eq "unmanaged: no ledger, but 6 objects its migrations create already exist: type public.user_role, table public.users, schema billing and 3 more (the newest from 0003_hardening); hint: adopt it with pgfleet mark-applied --through TAG (the last migration it already holds), then apply" \
    "$(jt "$PF_TMP/f_plan.out" indexed 't["status"] + ": " + t["problems"][0]["message"]')" \
    "(f) plan: unmanaged, the index-only migration named as the newest"
pg_psql indexed "DROP SCHEMA billing CASCADE; DROP TABLE posts, users; DROP TYPE user_role;
    CREATE TABLE kept (user_id integer); CREATE INDEX posts_user_id_idx ON kept (user_id)" >/dev/null
pf f_index plan -i "$PF_TMP/f.yaml" -f json
assert_eq "unmanaged: no ledger, but 1 object its migrations create already exists: index public.posts_user_id_idx (the newest from 0003_hardening)" \
    "$(jt "$PF_TMP/f_index.out" indexed 't["status"] + ": " + t["problems"][0]["message"].split("; hint")[0]')" \
    "(f) the index alone (on another table) is what makes it unmanaged"

pg_createdb wiped2
inv "$PF_TMP/f_public.yaml" wiped2 "schema: public"
sed -i "s|$MIG|$IDX|" "$PF_TMP/f_public.yaml"
pf f_prep apply -i "$PF_TMP/f_public.yaml"
assert_eq 0 "$RC" "(f) migrated with its ledger at public.__drizzle_migrations (stderr: $(pf_err f_prep))"
pg_psql wiped2 "DROP SCHEMA billing CASCADE; DROP TABLE posts, users; DROP TYPE user_role" >/dev/null
inv "$PF_TMP/f_wiped.yaml" wiped2
sed -i "s|$MIG|$IDX|" "$PF_TMP/f_wiped.yaml"
pf f_wiped plan -i "$PF_TMP/f_wiped.yaml" -f json
assert_eq "0 uninitialized 0" "$RC $(jt "$PF_TMP/f_wiped.out" wiped2 't["status"] + " " + str(len(t["problems"]))')" \
    "(f) every object dropped: uninitialized, the ledger elsewhere not looked for (the last migration creates indexes)"

pf_done
