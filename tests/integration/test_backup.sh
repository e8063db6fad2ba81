# Backups before apply (docs/backups.md): the real pg_dump, matched to the server's major
# version, dumps each target under its lock before its first pending migration, directly and
# through an SSH tunnel; the dumps, restored into new databases (pgfleet restore --yes, and
# pg_restore by hand), equal the databases as they were (pg_dump -s, row counts). The password
# reaches pg_dump in its environment, never in argv, and appears in no output. A failing
# backup fails its target with pg_dump's message and nothing applied; no pg_dump for the
# server is a clear error; an empty database is not dumped (when: non-empty); backup.keep
# prunes the older dumps.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
source "$PF_TESTS_DIR/lib/sshd.sh"

PW='Bk-s3cret-pw'
pg_psql postgres "set password_encryption = default; create role app login password '$PW'" >/dev/null
cat >"$PF_TMP/cluster/pgdata/pg_hba.conf" <<'HBA'
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
pg_psql postgres "select pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do
    PGPASSWORD=not-it psql -X -q -h 127.0.0.1 -U app -d postgres -c 'select 1' >/dev/null 2>&1 || break
    sleep 0.1
done
assert_contains "$(PGPASSWORD=not-it psql -X -q -h 127.0.0.1 -U app -d postgres -c 'select 1' 2>&1 || true)" \
    'password authentication failed for user "app"' "the cluster checks passwords"
for db in bk_a bk_b bk_empty bk_fail r_a r_b; do
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db owner app" >/dev/null
done
MAJOR=$(($(pg_psql postgres 'show server_version_num') / 10000))

MIG=$PF_TMP/drizzle
W=$PF_WHEN0
mig_add "$MIG" 0000_users $((W + 1000)) \
    'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL, "email" text NOT NULL);'

KEY=$PF_TMP/id_ed25519
ssh_key ed25519 "$KEY"
KH=$PF_TMP/known_hosts
sshd_start bastion
sshd_authorize bastion "$KEY.pub"
sshd_known_hosts_line bastion >"$KH"

dsn() { echo "postgresql://app:$PW@127.0.0.1:$PGPORT/$1"; }
BK=$PF_TMP/backups
INV=$PF_TMP/fleet.yaml
write_inv() { # BACKUP_MAPPING
    cat >"$INV" <<YAML
migrations: {dir: "$MIG"}
defaults:
  backup: $1
tunnels:
  bastion: {host: 127.0.0.1, port: $(sshd_port bastion), user: $PF_SSH_USER, identity: "$KEY", known_hosts: "$KH"}
targets:
  - {name: bk_a, dsn: "$(dsn bk_a)"}
  - {name: bk_b, dsn: "$(dsn bk_b)", via: bastion}
  - {name: bk_empty, dsn: "$(dsn bk_empty)"}
YAML
}

# --- the first migration, without backups; then rows -----------------------------------------
write_inv null
pf first apply -i "$INV" -f json -o "$PF_TMP/first.json"
assert_eq 0 "$RC" "first apply without backups (stderr: $(pf_err first))"
assert_eq "bk_a null bk_b null bk_empty null" "$(jtargets "$PF_TMP/first.json" 't["backup"]' | tr '\n' ' ' | sed 's/ $//')" \
    "without backup settings no target is dumped"
[ ! -e "$BK" ] || fail "no backup folder without backup settings"
pg_psql bk_empty 'drop table users; drop schema drizzle cascade' >/dev/null
for db in bk_a bk_b; do
    pg_psql "$db" "insert into users (email) select 'u' || g || '@$db' from generate_series(1, 37) g" >/dev/null
done
pg_psql bk_b "insert into users (email) values ('extra@bk_b')" >/dev/null

# DB's pg_dump -s without comments, blank lines and the per-run \restrict key.
schema_of() { pg_dump -s -d "$1" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' -e '^$'; }
A_SCHEMA=$(schema_of bk_a)
B_SCHEMA=$(schema_of bk_b)
assert_contains "$A_SCHEMA" "CREATE TABLE public.users" "the schema dump to compare with shows the table"

# --- a second migration, applied with backups (custom format) -----------------------------------
mig_add "$MIG" 0001_posts $((W + 2000)) \
    'CREATE TABLE "posts" ("id" serial PRIMARY KEY NOT NULL, "body" text);'
write_inv "{dir: \"$BK\"}"
pf second apply -i "$INV" -f json -o "$PF_TMP/second.json"
R=$PF_TMP/second.json
assert_eq 0 "$RC" "apply with backups exits 0 (stderr: $(pf_err second))"
assert_lines "bk_a applied"$'\n'"bk_b applied"$'\n'"bk_empty applied" "$(jtargets "$R" 't["outcome"]')" \
    "every target applied"
assert_eq '{"skipped": "empty"}' "$(jt "$R" bk_empty 't["backup"]')" \
    "an empty database is not dumped (when: non-empty), and the report says why"
for db in bk_a bk_b; do
    path=$(jt "$R" "$db" 't["backup"]["path"]')
    case "$path" in
    "$BK/$db/"[0-9]*T[0-9]*Z-0000_users.dump) pass "$db: dumped to DIR/<target>/<time>-<head>.dump" ;;
    *) fail "$db: dump path $path" ;;
    esac
    [ -f "$path" ] && pass "$db: the dump is there" || fail "$db: no file $path"
    assert_eq "$(stat -c %s "$path" 2>/dev/null)" "$(jt "$R" "$db" 't["backup"]["bytes"]')" \
        "$db: the report gives the dump's size"
    assert_eq "custom" "$(jt "$R" "$db" 't["backup"]["format"]')" "$db: custom format"
    case "$(jt "$R" "$db" 't["backup"]["duration_ms"]')" in
    [0-9]*) pass "$db: the report gives pg_dump's duration" ;;
    *) fail "$db: duration_ms" ;;
    esac
    assert_eq "PGDMP" "$(head -c 5 "$path")" "$db: a pg_dump custom-format archive"
    assert_eq "" "$(ls -A "$BK/$db" | grep -v '\.dump$' || true)" "$db: no temporary file left"
done
assert_eq "/usr/lib/postgresql/$MAJOR/bin/pg_dump" "$(jt "$R" bk_a 't["backup"]["pg_dump"]')" \
    "the pg_dump of the server's major version"
assert_eq "tt" "$(has_table bk_a posts)$(has_table bk_b posts)" "the migration ran after the dump"
assert_contains "$(pf_err second)" "backup: $BK/bk_a/" "apply says where each dump went"

# --- restored into new databases, they equal the databases as they were -----------------------
A_DUMP=$(jt "$R" bk_a 't["backup"]["path"]')
B_DUMP=$(jt "$R" bk_b 't["backup"]["path"]')
pf restore_print restore -i "$INV" bk_a --backup "$A_DUMP" --into r_a
assert_eq 0 "$RC" "restore prints the command (stderr: $(pf_err restore_print))"
assert_contains "$(pf_out restore_print)" \
    "/usr/lib/postgresql/$MAJOR/bin/pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password" \
    "the printed pg_restore command"
assert_contains "$(pf_out restore_print)" "dbname=r_a" "it restores into the database named by --into"
assert_contains "$(pf_out restore_print)" "# the dsn's password is not shown" "and says where the password comes from"
pf restore_run restore -i "$INV" bk_a --backup "$A_DUMP" --into r_a --yes
assert_eq 0 "$RC" "restore --yes runs pg_restore (stderr: $(pf_err restore_run))"
assert_lines "$A_SCHEMA" "$(schema_of r_a)" "bk_a's dump restored: the same schema as bk_a before the apply"
assert_eq 37 "$(pg_psql r_a 'select count(*) from users')" "bk_a's dump restored: the same rows"
assert_eq 1 "$(pg_psql r_a 'select count(*) from drizzle.__drizzle_migrations')" \
    "bk_a's dump restored: the ledger as it was"
pg_restore --exit-on-error -d r_b "$B_DUMP" 2>"$PF_TMP/restore_b.err" ||
    fail "pg_restore of the tunnelled target's dump: $(cat "$PF_TMP/restore_b.err")"
assert_lines "$B_SCHEMA" "$(schema_of r_b)" "bk_b's dump (through the tunnel) restored: the same schema"
assert_eq 38 "$(pg_psql r_b 'select count(*) from users')" "bk_b's dump restored: the same rows"
pf restore_via restore -i "$INV" bk_b --backup "$B_DUMP" --yes
assert_eq 3 "$RC" "restore --yes refuses a tunnelled target"
assert_contains "$(pf_err restore_via)" "bk_b is reached via bastion" "and says why"

# --- the password: in pg_dump's environment, never in its argv ---------------------------------
LIB=$PF_TMP/pglib
for v in 13 $((MAJOR + 1)) 99; do
    mkdir -p "$LIB/$v/bin"
    cat >"$LIB/$v/bin/pg_dump" <<SH
#!/bin/sh
echo $v >>"$PF_TMP/fake.version"
printf '%s\n' "\$@" >"$PF_TMP/fake.argv"
printf '%s' "\${PGPASSWORD:-}" >"$PF_TMP/fake.pw"
exec /usr/lib/postgresql/$MAJOR/bin/pg_dump "\$@"
SH
    chmod +x "$LIB/$v/bin/pg_dump"
done
mig_add "$MIG" 0002_tags $((W + 3000)) 'CREATE TABLE "tags" ("id" serial PRIMARY KEY NOT NULL);'
write_inv "{dir: \"$BK\", format: directory, jobs: 2}"
PGFLEET_POSTGRESQL_LIBDIR=$LIB pf third apply -i "$INV" -t bk_a -f json -o "$PF_TMP/third.json"
assert_eq 0 "$RC" "apply with a pg_dump wrapper (stderr: $(pf_err third))"
assert_eq "$((MAJOR + 1))" "$(cat "$PF_TMP/fake.version")" \
    "the lowest pg_dump at or above the server's major version is chosen (13 is too old, 99 newer)"
assert_eq "" "$(grep -F -- "$PW" "$PF_TMP/fake.argv" || true)" "the password is not in pg_dump's argv"
assert_eq "$PW" "$(cat "$PF_TMP/fake.pw")" "pg_dump gets the password in its environment"
assert_contains "$(cat "$PF_TMP/fake.argv")" "--format=directory" "format: directory"
assert_contains "$(cat "$PF_TMP/fake.argv")" "--jobs=2" "jobs: 2"
P3=$(jt "$PF_TMP/third.json" bk_a 't["backup"]["path"]')
[ -f "$P3/toc.dat" ] && pass "a directory-format dump" || fail "no toc.dat in $P3"

# --- no pg_dump for the server: a clear error, nothing applied ---------------------------------
mkdir -p "$PF_TMP/oldlib/13/bin"
cp "$LIB/13/bin/pg_dump" "$PF_TMP/oldlib/13/bin/"
mig_add "$MIG" 0003_notes $((W + 4000)) 'CREATE TABLE "notes" ("id" serial PRIMARY KEY NOT NULL);'
PGFLEET_POSTGRESQL_LIBDIR=$PF_TMP/oldlib pf nodump apply -i "$INV" -t bk_a -f json -o "$PF_TMP/nodump.json"
assert_eq 2 "$RC" "no pg_dump for the server fails the target"
assert_eq "backup failed: no pg_dump for PostgreSQL $MAJOR or newer in $PF_TMP/oldlib (it has: 13); hint: install postgresql-client-$MAJOR, or set PGFLEET_POSTGRESQL_LIBDIR; nothing was applied" \
    "$(jt "$PF_TMP/nodump.json" bk_a 't["error"]["message"]')" "the error says what is missing"
assert_eq "f" "$(has_table bk_a notes)" "nothing was applied"

# --- a failing pg_dump fails the target, nothing applied, nothing left ------------------------
# A table app may not read (created by postgres): pg_dump, logged in as app, fails on it.
pg_psql bk_fail "create table secret (x int); revoke all on secret from public" >/dev/null
cat >>"$INV" <<YAML
  - {name: bk_fail, dsn: "$(dsn bk_fail)"}
YAML
before=$(ls -A "$BK" | sort)
pf failing apply -i "$INV" -t bk_fail -f json -o "$PF_TMP/failing.json"
assert_eq 2 "$RC" "a failing backup fails the run"
assert_eq failed "$(jt "$PF_TMP/failing.json" bk_fail 't["outcome"]')" "the target failed"
assert_eq "backup failed: pg_dump: error: query failed: ERROR:  permission denied for table secret; nothing was applied" \
    "$(jt "$PF_TMP/failing.json" bk_fail 't["error"]["message"]')" "with pg_dump's own message"
assert_eq "no ledger"$'\n'"tables: secret" "$(db_state bk_fail)" "the target is untouched: no ledger, no table"
assert_eq "" "$(ls -A "$BK/bk_fail" 2>/dev/null || true)" "no dump and no temporary file left"

# --- backup.keep: the newest N dumps stay ------------------------------------------------------
write_inv "{dir: \"$BK\", keep: 2}"
pf keep apply -i "$INV" -t bk_a -f json -o "$PF_TMP/keep.json"
assert_eq 0 "$RC" "apply with keep: 2 (stderr: $(pf_err keep))"
assert_eq 1 "$(jt "$PF_TMP/keep.json" bk_a 't["backup"]["pruned"]')" "one older dump pruned"
assert_eq 2 "$(ls "$BK/bk_a" | grep -c '\.dump$')" "two dumps of bk_a are left"
assert_contains "$(ls "$BK/bk_a")" "$(basename "$(jt "$PF_TMP/keep.json" bk_a 't["backup"]["path"]')")" \
    "the newest is one of them"
[ -e "$A_DUMP" ] && fail "the oldest dump was not pruned" || pass "the oldest dump was pruned"

# --- when: always dumps an empty database too; --backup-dir overrides dir ----------------------------
psql -X -q -d postgres -c "create database bk_empty2 owner app" >/dev/null
cat >>"$INV" <<YAML
  - {name: bk_empty2, dsn: "$(dsn bk_empty2)", backup: {when: always}}
YAML
pf always apply -i "$INV" -t bk_empty2 -f json -o "$PF_TMP/always.json"
assert_eq 0 "$RC" "when: always (stderr: $(pf_err always))"
assert_contains "$(jt "$PF_TMP/always.json" bk_empty2 't["backup"]["path"]')" "$BK/bk_empty2/" \
    "when: always dumps an empty database"
mig_add "$MIG" 0004_more $((W + 5000)) 'CREATE TABLE "more" ("id" int);'
pf never apply -i "$INV" -t bk_empty2 --backup-dir "$PF_TMP/elsewhere" -f json -o "$PF_TMP/never.json"
assert_eq 0 "$RC" "apply --backup-dir (stderr: $(pf_err never))"
assert_contains "$(jt "$PF_TMP/never.json" bk_empty2 't["backup"]["path"]')" "$PF_TMP/elsewhere/bk_empty2/" \
    "--backup-dir overrides backup.dir"

# --- a tenant schema: its schema only -----------------------------------------------------------
psql -X -q -d postgres -c "create database bk_tenants owner app" >/dev/null
pg_psql bk_tenants "create table public.shared (x int)" >/dev/null
cat >>"$INV" <<YAML
  - {name: bk_t1, dsn: "$(dsn bk_tenants)", schema: Tenant_One, create_schema: true, backup: {when: always}}
YAML
pf tenant apply -i "$INV" -t bk_t1 -f json -o "$PF_TMP/tenant.json"
assert_eq 0 "$RC" "a tenant schema applied with a backup (stderr: $(pf_err tenant))"
TP=$(jt "$PF_TMP/tenant.json" bk_t1 't["backup"]["path"]')
assert_eq "SCHEMA - Tenant_One" "$(pg_restore -l "$TP" | grep -o 'SCHEMA - [A-Za-z_]*' | sort -u)" \
    "the tenant's dump holds its schema (a name that needs quoting)"
assert_eq "" "$(pg_restore -l "$TP" | grep -w shared || true)" "and nothing of the other schemas"

# --- no output holds the password ---------------------------------------------------------------
leaks=$(grep -l -F -- "$PW" "$PF_TMP"/*.out "$PF_TMP"/*.err "$PF_TMP"/*.json 2>/dev/null || true)
assert_eq "" "$leaks" "the password appears in no output or report"

pf_done
