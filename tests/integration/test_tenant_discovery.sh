# Tenant schemas from discovery plugins (docs/plugins.md, docs/tenants.md): discover-pg's
# schema_pattern finds exactly the 12 tenant schemas of a database (not public, not a look-alike
# that LIKE's `_` would match, not the system schemas), and apply migrates a drizzle-kit-style
# folder (foreign keys to "public"."x") into each, with the ledger in the tenant's schema and
# every foreign key pointing at the tenant's own table, over shared connections. The query
# mode's 6th column makes a row a tenant (with or without a ledger schema of its own), or not
# (null). A version-1 plugin still loads (its targets are never tenants: its PgfleetTarget has
# no such field, and pgfleet does not read past it), and version 3 is refused.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

PLUG=$PF_TMP/plugins
mkdir -p "$PLUG"
cp "$PF_TEST_PLUGINS_DIR"/*.so "$PF_PLUGINS_DIR"/*.so "$PLUG"/

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) \
    'CREATE TABLE "orgs" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL
);' \
    'CREATE TABLE "users" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" integer NOT NULL
);' \
    'ALTER TABLE "users" ADD CONSTRAINT "users_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;'
mig_add "$MIG" 0001_invites $((W + 2000)) \
    'CREATE TABLE "invites" (
	"id" serial PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL
);' \
    'ALTER TABLE "invites" ADD CONSTRAINT "invites_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;'
H0=$(file_hash "$MIG/0000_init.sql")
H1=$(file_hash "$MIG/0001_invites.sql")

# --- schema_pattern: a tenant per matching schema ---------------------------------------------
TENANTS=$(seq -f 'tenant_%02g' 1 12)
pg_createdb app
{
    for s in $TENANTS tenantsdata billing; do echo "CREATE SCHEMA $s;"; done
    # public holds look-alikes with rows: a foreign key left pointing at public would show.
    echo "CREATE TABLE public.orgs (id int PRIMARY KEY, name text);"
    echo "CREATE TABLE public.users (id int PRIMARY KEY, org_id int);"
    echo "INSERT INTO public.orgs VALUES (1, 'public org'); INSERT INTO public.users VALUES (1, 1);"
} | psql -X -q -v ON_ERROR_STOP=1 -d app >/dev/null
q() { pg_psql app "$1"; }

# LIKE's `_` matches any character: 'tenant\_%' (single-quoted: no YAML escape) keeps
# tenantsdata out.
cat >"$PF_TMP/schemas.yaml" <<YAML
migrations: {dir: "$MIG"}
targets: []
plugins:
  - path: plugins/discover-pg.so
    config:
      dsn: "$(pf_dsn app)"
      schema_pattern: 'tenant\_%'
      name_template: "{database}-{schema}"
      labels: [tier=tenants]
YAML
pf schemas apply -i "$PF_TMP/schemas.yaml" -j 3 -f json
R=$PF_TMP/schemas.out
assert_eq 0 "$RC" "schema_pattern: apply exits 0 (stderr: $(pf_err schemas))"
assert_eq "$(echo "$TENANTS" | sed 's/^/app-/' | tr '\n' ' ' | sed 's/ $//')" \
    "$(jget "$R" '[t["name"] for t in d["targets"]]')" \
    "schema_pattern: exactly the 12 tenant schemas, in name order, named from the template"
assert_eq 12 "$(jget "$R" 'd["outcomes"]["applied"]')" "schema_pattern: every tenant applied"
assert_eq "tenants" "$(jget "$R" 'sorted(set(t["labels"]["tier"] for t in d["targets"]))')" \
    "schema_pattern: the config's labels on every target"
conns=$(jget "$R" 'd["connections"]')
[ "$conns" -ge 1 ] && [ "$conns" -le 3 ] && pass "schema_pattern: the tenants shared $conns connection(s) (-j 3)" ||
    fail "schema_pattern: $conns connections for 12 tenants of one database with -j 3"
for s in $TENANTS; do
    assert_eq "$H0 $((W + 1000))
$H1 $((W + 2000))" "$(q "select hash || ' ' || created_at from $s.__drizzle_migrations order by id")" \
        "$s: its ledger, in its schema, holds the files' hashes"
done
assert_eq "f" "$(has_schema app drizzle)" "schema_pattern: no ledger outside the tenants (no drizzle schema)"
# Every foreign key of a tenant references that tenant's own table.
FKS="select n.nspname || ' ' || c.conname || ' ' || fn.nspname || '.' || f.relname
  from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace
  join pg_class f on f.oid = c.confrelid join pg_namespace fn on fn.oid = f.relnamespace
  where c.contype = 'f'"
assert_lines "$(for s in $TENANTS; do
    echo "$s invites_user_id_users_id_fk $s.users"
    echo "$s users_org_id_orgs_id_fk $s.orgs"
done)" "$(q "$FKS order by 1")" "every tenant's foreign keys reference its own tables, none public's"
assert_eq "0 0" "$(q "select (select count(*) from pg_tables where schemaname in ('tenantsdata', 'billing')) || ' ' || (select count(*) from pg_tables where schemaname = 'public' and tablename = 'invites')")" \
    "tenantsdata, billing and public are untouched"
pf schemas2 apply -i "$PF_TMP/schemas.yaml" -f json
assert_eq "0 12" "$RC $(jget "$PF_TMP/schemas2.out" 'd["outcomes"]["unchanged"]')" \
    "schema_pattern: a second apply changes nothing"

# dsn_template: the targets connect with it ({database} is the dsn's database), not with the
# discovery dsn.
sed -i "s|      labels: \[tier=tenants\]|      dsn_template: \"postgresql://postgres@127.0.0.1:$PGPORT/{database}?application_name=tenants\"|" \
    "$PF_TMP/schemas.yaml"
pf templ inventory -i "$PF_TMP/schemas.yaml" -f json
assert_eq 0 "$RC" "dsn_template: inventory exits 0 (stderr: $(pf_err templ))"
assert_eq "postgresql://postgres@127.0.0.1:$PGPORT/app?application_name=tenants" \
    "$(jget "$PF_TMP/templ.out" 'sorted(set(t["dsn"] for t in d["targets"]))')" \
    "dsn_template: every tenant's dsn, {database} filled"
assert_eq "tenant_01.__drizzle_migrations" \
    "$(jget "$PF_TMP/templ.out" 'd["targets"][0]["schema"] + "." + d["targets"][0]["table"]')" \
    "inventory: a discovered tenant's ledger is in its schema"

# Config errors: one target per schema, and one dsn per database.
for case in "name_template: x|a schema pattern needs name_template holding {schema} (one target per schema)" \
    "dsn_template: \"postgresql://{schema}@h/app\"|dsn_template cannot hold {schema}: the tenants of one database share its dsn (and its connections); pgfleet enters each tenant's schema itself" \
    "database_pattern: x|give exactly one of database_pattern, database_regex, schema_pattern or query"; do
    cat >"$PF_TMP/bad_schemas.yaml" <<YAML
targets: []
plugins:
  - path: "$PLUG/discover-pg.so"
    config:
      dsn: "$(pf_dsn app)"
      schema_pattern: 'tenant\_%'
      ${case%%|*}
YAML
    pf bad_schemas plan -i "$PF_TMP/bad_schemas.yaml"
    assert_eq "3
pgfleet: $PF_TMP/bad_schemas.yaml:3:5: plugin $PLUG/discover-pg.so (discover-pg): init failed: ${case#*|}" \
        "$RC
$(pf_err bad_schemas)" "schema_pattern with ${case%%|*}: refused"
done

# --- query mode: the 6th column is the tenant schema -----------------------------------------
pg_createdb control app2 solo
pg_psql control "create table tenants (name text, dsn text, labels jsonb, ledger_schema text,
    ledger_table text, tenant_schema text, active bool);
  insert into tenants values
    ('acme', '$(pf_dsn app2)', null, null, null, 'acme', true),
    ('globex', '$(pf_dsn app2)', '{\"plan\": \"gold\"}', 'ledgers', 'globex_migrations', 'globex', true),
    ('solo', '$(pf_dsn solo)', null, null, null, null, true),
    ('blank', '$(pf_dsn app2)', null, null, null, '', false)" >/dev/null
QUERY="select name, dsn, labels, ledger_schema, ledger_table, tenant_schema from tenants where active order by name"
cat >"$PF_TMP/query.yaml" <<YAML
migrations: {dir: "$MIG"}
defaults: {create_schema: true}
targets: []
plugins:
  - path: "$PLUG/discover-pg.so"
    config: {dsn: "$(pf_dsn control)", query: "$QUERY"}
YAML
pf query apply -i "$PF_TMP/query.yaml" -f json
R=$PF_TMP/query.out
assert_eq 0 "$RC" "query: apply exits 0 (stderr: $(pf_err query))"
assert_eq "acme applied|globex applied|solo applied" \
    "$(jget "$R" '"|".join(t["name"] + " " + t["outcome"] for t in d["targets"])')" "query: one target per row"
assert_eq "$H0
$H1" "$(pg_psql app2 'select hash from acme.__drizzle_migrations order by id')" \
    "query: acme, a tenant: its ledger in its schema"
assert_eq "$H0
$H1" "$(pg_psql app2 'select hash from ledgers.globex_migrations order by id')" \
    "query: globex, a tenant with the ledger the row names"
assert_eq "f" "$(pg_psql app2 "select to_regclass('globex.__drizzle_migrations') is not null")" \
    "query: globex has no ledger in its own schema"
assert_lines "acme invites_user_id_users_id_fk acme.users
acme users_org_id_orgs_id_fk acme.orgs
globex invites_user_id_users_id_fk globex.users
globex users_org_id_orgs_id_fk globex.orgs" "$(pg_psql app2 "$FKS order by 1")" \
    "query: each tenant's foreign keys reference its own tables (the schemas were created)"
assert_eq "2 true" "$(pg_psql solo "select (select count(*) from drizzle.__drizzle_migrations) || ' ' || (to_regclass('public.invites') is not null)")" \
    "query: solo (tenant_schema null) is a plain target: drizzle's ledger, tables in public"
sed -i 's/where active order/where active or name = '"'"'blank'"'"' order/' "$PF_TMP/query.yaml"
pf query_blank plan -i "$PF_TMP/query.yaml"
assert_eq "3
pgfleet: $PF_TMP/query.yaml:5:5: plugin $PLUG/discover-pg.so: target 'blank' has an empty tenant schema, or one longer than 63 bytes" \
    "$RC
$(pf_err query_blank)" "query: an empty tenant schema is refused, the plugin and the row named"

# --- ABI versions: 1 still loads, 3 is refused -----------------------------------------------
pg_createdb old
cat >"$PF_TMP/v1.yaml" <<YAML
migrations: {dir: "$MIG"}
targets: []
plugins:
  - {path: "$PLUG/record_abi1.so", config: {file: "$PF_TMP/v1.txt", add: "old=$(pf_dsn old)"}}
YAML
pf v1 apply -i "$PF_TMP/v1.yaml" -f json
assert_eq 0 "$RC" "a version-1 plugin loads (stderr: $(pf_err v1))"
assert_eq "old applied" "$(jget "$PF_TMP/v1.out" '" ".join(t["name"] + " " + t["outcome"] for t in d["targets"])')" \
    "a version-1 plugin's discovered target is applied"
assert_eq 2 "$(pg_psql old 'select count(*) from drizzle.__drizzle_migrations')" \
    "a version-1 plugin's target is not a tenant: drizzle's ledger"
assert_contains "$(cat "$PF_TMP/v1.txt")" "target_end target=old wave=- labels=source:record status=uninitialized outcome=applied" \
    "a version-1 plugin gets its events"
sed -i 's|add: |tenant_schema: t, add: |' "$PF_TMP/v1.yaml"
pf v1_tenant plan -i "$PF_TMP/v1.yaml"
assert_eq "3 pgfleet: $PF_TMP/v1.yaml:4:5: plugin $PLUG/record_abi1.so (record): init failed: unknown config key 'tenant_schema'" \
    "$RC $(pf_err v1_tenant)" "the version-1 build of record knows no tenant_schema"
sed -i 's|record_abi1.so|record_bad_abi.so|; s|tenant_schema: t, ||' "$PF_TMP/v1.yaml"
pf v3 apply -i "$PF_TMP/v1.yaml"
assert_eq "3 pgfleet: $PF_TMP/v1.yaml:4:5: plugin $PLUG/record_bad_abi.so: ABI version 3, but this pgfleet loads versions 1 to 2; hint: it was built for a newer pgfleet: upgrade pgfleet, or rebuild it against this pgfleet's <pgfleet/plugin.h>" \
    "$RC $(pf_err v3)" "version 3 is refused, with what to do"
assert_eq 2 "$(pg_psql old 'select count(*) from drizzle.__drizzle_migrations')" "version 3: nothing ran"

pf_done
