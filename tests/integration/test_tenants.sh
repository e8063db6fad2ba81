# Schema-per-tenant (docs/tenants.md): one folder of drizzle-kit-style SQL (foreign keys and
# enum types qualified with "public", an old-style DO block) applied to 200 tenant schemas of
# one database whose public schema holds look-alike tables. After apply every foreign key, enum
# type and index of a tenant lives in that tenant's schema and references only it, public is
# untouched, each tenant has its own ledger with the files' hashes, and the server saw at most
# -j connections. A tenant that fails leaves the others applied and itself unchanged; a second
# run changes nothing; a tenant added later is migrated alone; a missing schema is reported
# unless create_schema; a folder that names public where it cannot be rewritten is refused by
# plan and apply before anything connects, and named by lint.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

N=200
MIG=$PF_TMP/drizzle
W=$PF_WHEN0
mig_add "$MIG" 0000_init $((W + 1000)) \
    'CREATE TYPE "public"."role" AS ENUM('"'"'admin'"'"', '"'"'member'"'"');' \
    'CREATE TABLE "orgs" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL
);' \
    'CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" integer NOT NULL,
	"role" "public"."role" DEFAULT '"'"'member'"'"' NOT NULL
);' \
    'ALTER TABLE "users" ADD CONSTRAINT "users_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;' \
    'CREATE INDEX "users_org_idx" ON "users" USING btree ("org_id");'
mig_add "$MIG" 0001_invites $((W + 2000)) \
    'ALTER TABLE "users" ADD COLUMN "invited_by" integer;' \
    'DO $$ BEGIN
 ALTER TABLE "users" ADD CONSTRAINT "users_invited_by_users_id_fk" FOREIGN KEY ("invited_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;'
H0=$(file_hash "$MIG/0000_init.sql")
H1=$(file_hash "$MIG/0001_invites.sql")

pg_createdb app
# public holds look-alikes of the tenants' tables, with rows: nothing may reference them.
pg_psql app "CREATE TYPE public.role AS ENUM ('x'); CREATE TABLE public.orgs (id int PRIMARY KEY, name text);
  CREATE TABLE public.users (id int PRIMARY KEY, org_id int, role public.role);
  INSERT INTO public.orgs VALUES (1, 'public org'); INSERT INTO public.users VALUES (1, 1, 'x')" >/dev/null
public_schema() { pg_dump -s -n public app | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict'; }
public_before=$(public_schema)

# Tenant 007 fails: its schema holds drizzle's empty ledger and a table in the way.
pg_psql app 'CREATE SCHEMA tenant_007; CREATE TABLE tenant_007.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint); CREATE TABLE tenant_007.orgs (in_the_way int)' >/dev/null

tenants() { # the for_each list of tenants FROM..TO
    local i
    for i in $(seq -f '%03g' "$1" "$2"); do echo "      - \"$i\""; done
}
write_inventory() { # FILE LAST [EXTRA DEFAULTS]
    {
        echo "migrations: {dir: \"$MIG\"}"
        echo "defaults: {create_schema: true${3:+, $3}}"
        echo "targets:"
        echo "  - name: \"tenant-\${each}\""
        echo "    dsn: \"$(pf_dsn app)\""
        echo "    schema: \"tenant_\${each}\""
        echo "    labels: {kind: tenant}"
        echo "    for_each:"
        tenants 1 "$2"
    } >"$1"
}
INV=$PF_TMP/tenants.yaml
write_inventory "$INV" $N

log_connections app
before=$(pf_connections)
pf apply1 apply -i "$INV" -j 4 -f json -o "$PF_TMP/apply1.json"
assert_eq 2 "$RC" "apply exits 2: one tenant failed"
seen=$(($(pf_connections) - before))
[ "$seen" -ge 1 ] && [ "$seen" -le 4 ] && pass "the server saw $seen connections for $N tenants (-j 4)" ||
    fail "the server saw $seen pgfleet connections for $N tenants; expected 1 to 4"
conns=$(jget "$PF_TMP/apply1.json" 'd["connections"]')
assert_eq "$seen" "$conns" "the report counts the connections the server saw"
assert_eq "$((N - 1))" "$(jget "$PF_TMP/apply1.json" 'sum(1 for t in d["targets"] if t["outcome"] == "applied")')" \
    "every other tenant was applied"
assert_eq "failed" "$(jt "$PF_TMP/apply1.json" tenant-007 't["outcome"]')" "tenant 007 failed"
assert_contains "$(jt "$PF_TMP/apply1.json" tenant-007 't["error"]["message"]')" 'relation "orgs" already exists' \
    "tenant 007 says why"

# Every tenant's objects live in its own schema and reference only it.
q() { pg_psql app "$1"; }
assert_eq "$((2 * (N - 1)))" "$(q "select count(*) from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace where c.contype = 'f' and n.nspname like 'tenant\_%'")" \
    "two foreign keys per applied tenant"
assert_eq 0 "$(q "select count(*) from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_class f on f.oid = c.confrelid where c.contype = 'f' and r.relnamespace <> f.relnamespace")" \
    "no foreign key references another schema"
assert_eq 0 "$(q "select count(*) from pg_attribute a join pg_class r on r.oid = a.attrelid join pg_type t on t.oid = a.atttypid where a.attname = 'role' and r.relname = 'users' and r.relnamespace <> t.typnamespace")" \
    "every users.role is its own schema's enum"
assert_eq "$((N - 1))" "$(q "select count(*) from pg_type t join pg_namespace n on n.oid = t.typnamespace where t.typname = 'role' and n.nspname like 'tenant\_%'")" \
    "one enum type per applied tenant"
assert_eq "$((N - 1))" "$(q "select count(*) from pg_class i join pg_index x on x.indexrelid = i.oid join pg_class r on r.oid = x.indrelid where i.relname = 'users_org_idx' and i.relnamespace = r.relnamespace")" \
    "one users_org_idx per applied tenant, beside its table"
assert_eq "$public_before" "$(public_schema)" "public's schema is untouched"
assert_eq "1 1" "$(q "select (select count(*) from public.orgs) || ' ' || (select count(*) from public.users)")" \
    "public's rows are untouched"
assert_eq "$H0
$H1" "$(q "select hash from tenant_042.__drizzle_migrations order by id")" \
    "a tenant's ledger holds the files' hashes"
assert_eq "0 true" "$(q "select (select count(*) from tenant_007.__drizzle_migrations) || ' ' || (to_regclass('tenant_007.users') is null)")" \
    "tenant 007 is unchanged: empty ledger, no users table"

# Fix tenant 007; the second run applies it alone.
q 'DROP TABLE tenant_007.orgs' >/dev/null
pf apply2 apply -i "$INV" -j 4 -f json -o "$PF_TMP/apply2.json"
assert_eq 0 "$RC" "the second apply exits 0"
assert_eq "tenant-007" "$(jget "$PF_TMP/apply2.json" '" ".join(t["name"] for t in d["targets"] if t["outcome"] == "applied")')" \
    "only tenant 007 is applied the second time"
pf apply3 apply -i "$INV" -j 4 -f json -o "$PF_TMP/apply3.json"
assert_eq 0 "$RC" "a third apply exits 0"
assert_eq "$N" "$(jget "$PF_TMP/apply3.json" 'sum(1 for t in d["targets"] if t["outcome"] == "unchanged")')" \
    "a third apply changes nothing"

# A tenant added later is migrated alone.
write_inventory "$INV" $((N + 1))
pf plan4 plan -i "$INV" -f json -o "$PF_TMP/plan4.json"
assert_eq "tenant-201 uninitialized" "$(jget "$PF_TMP/plan4.json" '" ".join(t["name"] + " " + t["status"] for t in d["targets"] if t["status"] != "in_sync")')" \
    "plan: only the new tenant has anything to do"
pf apply4 apply -i "$INV" -f json -o "$PF_TMP/apply4.json"
assert_eq 0 "$RC" "the new tenant's apply exits 0"
assert_eq "t" "$(q "select to_regclass('tenant_201.users') is not null")" "the new tenant has its tables"

# Without create_schema a missing schema is reported, not created.
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "targets:"
    echo "  - {name: lonely, dsn: \"$(pf_dsn app)\", schema: tenant_none}"
} >"$PF_TMP/none.yaml"
pf none apply -i "$PF_TMP/none.yaml" -f json -o "$PF_TMP/none.json"
assert_eq 2 "$RC" "apply to a missing schema fails (exit 2)"
assert_eq 'tenant schema "tenant_none" does not exist in this database; hint: create it, or set create_schema: true' \
    "$(jt "$PF_TMP/none.json" lonely 't["error"]["message"]')" "the missing schema is named, with the fix"
assert_eq "f" "$(has_schema app tenant_none)" "the schema was not created"

# A folder that names public where it cannot be rewritten: refused before anything connects.
BAD=$PF_TMP/bad
mig_add "$BAD" 0000_ext $((W + 1000)) 'CREATE EXTENSION IF NOT EXISTS "pgcrypto";' \
    'CREATE TABLE "t" ("id" integer);'
mig_add "$BAD" 0001_dyn $((W + 2000)) \
    'DO $$ BEGIN EXECUTE '"'"'ALTER TABLE public.t ADD COLUMN c int'"'"'; END $$;'
sed "s|dir: \"$MIG\"|dir: \"$BAD\"|" "$INV" >"$PF_TMP/bad.yaml"
before=$(pf_connections)
for cmd in plan apply; do
    pf "bad_$cmd" "$cmd" -i "$PF_TMP/bad.yaml"
    assert_eq 3 "$RC" "$cmd refuses a folder it cannot rewrite for tenants (exit 3)"
    assert_contains "$(pf_err "bad_$cmd")" "$BAD/0000_ext.sql:1:1: CREATE EXTENSION in a tenant folder" \
        "$cmd names the CREATE EXTENSION with its place"
    assert_contains "$(pf_err "bad_$cmd")" "$BAD/0001_dyn.sql:1:21: a string names schema \"public\"" \
        "$cmd names the string holding public with its place"
done
assert_eq "$before" "$(pf_connections)" "nothing connected for the refused folder"
pf bad_lint lint -i "$PF_TMP/bad.yaml" -f json -o "$PF_TMP/bad_lint.json"
assert_eq 2 "$RC" "lint with the tenants' inventory finds errors (exit 2)"
assert_eq "tenant-unmappable $BAD/0000_ext.sql 1:1
tenant-unmappable $BAD/0001_dyn.sql 1:21" \
    "$(jget "$PF_TMP/bad_lint.json" '"\n".join("%s %s %d:%d" % (f["rule"], f["file"], f["line"], f["column"]) for f in d["findings"] if f["rule"] == "tenant-unmappable")')" \
    "lint names both places with the tenant-unmappable rule"
pf good_lint lint -i "$INV"
assert_eq 0 "$RC" "lint of the tenants' own folder finds nothing"

pf_done
