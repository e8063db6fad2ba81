#!/usr/bin/env bash
# Checks the committed fixtures against drizzle-orm's real migrators on a throwaway cluster:
#   - tests/fixtures/app (0.x layout) with migrate.mjs: ledger hashes equal hash.mjs, created_at
#     equals the journal's `when`, a re-run and a second database of the same cluster succeed;
#   - tests/fixtures/app-v1 (1.0 layout) with v1/migrate.mjs: hash, name = folder, created_at =
#     Date.UTC of the folder's 14-digit prefix;
#   - tests/fixtures/app-up: a ledger written by the 0.x migrator is upgraded by the 1.0 migrator;
#   - the 1.0 migrator refuses a folder that still has meta/_journal.json;
#   - tests/fixtures/saas (the benchmarks' 9-migration SaaS app) applies with migrate.mjs;
#   - tests/fixtures/sql-model (the statement model's drizzle-kit output, tests/unit/test_sql.c):
#     drizzle's one transaction fails on the CREATE INDEX CONCURRENTLY of 0001_alter that the
#     model classifies as refused inside a transaction, and nothing of the run is left.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fixtures=$(cd "$here/../fixtures" && pwd)
# shellcheck source=../lib/pg.sh
source "$here/../lib/pg.sh"

bash "$here/setup.sh"
pg_start
pg_createdb old1 old2 new1 up1 model1 saas1
cd "$here"

ledger() { pg_psql "$1" "select ${2:-hash} from drizzle.__drizzle_migrations order by id"; }
hashes() { node hash.mjs "$@" | cut -d' ' -f1; }

# 0.x
want_hash=$(node -e '
  const j = require(process.argv[1] + "/meta/_journal.json");
  for (const e of j.entries) console.log(process.argv[1] + "/" + e.tag + ".sql");
' "$fixtures/app/drizzle" | xargs node hash.mjs | cut -d' ' -f1)
want_when=$(node -e 'for (const e of require(process.argv[1]).entries) console.log(e.when)' \
    "$fixtures/app/drizzle/meta/_journal.json")
PGDATABASE=old1 node migrate.mjs "$fixtures/app/drizzle" || fail "0.x migrate old1"
assert_eq "$want_hash" "$(ledger old1)" "0.x ledger hashes equal hash.mjs"
assert_eq "$want_when" "$(ledger old1 created_at)" "0.x created_at equals journal when"
PGDATABASE=old1 node migrate.mjs "$fixtures/app/drizzle" || fail "0.x re-run"
assert_eq 4 "$(pg_psql old1 'select count(*) from drizzle.__drizzle_migrations')" "0.x re-run adds nothing"
PGDATABASE=old2 node migrate.mjs "$fixtures/app/drizzle" || fail "0.x second database"
assert_eq "$want_hash" "$(ledger old2)" "0.x second database of the cluster (shared role)"
assert_eq t "$(pg_psql old2 "select relrowsecurity from pg_class where relname = 'projects'")" "custom migration enabled RLS"

# 1.0
PGDATABASE=new1 node v1/migrate.mjs "$fixtures/app-v1/drizzle" || fail "v1 migrate new1"
folders=$(cd "$fixtures/app-v1/drizzle" && for d in */; do [ -f "$d/migration.sql" ] && echo "${d%/}"; done)
assert_eq "$(hashes "$fixtures"/app-v1/drizzle/*/migration.sql)" "$(ledger new1)" "v1 ledger hashes equal hash.mjs"
assert_eq "$folders" "$(ledger new1 name)" "v1 ledger names are the folder names"
want_ms=$(for f in $folders; do
    node -e 'const s = process.argv[1]; console.log(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1,
      +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14)))' "$f"
done)
assert_eq "$want_ms" "$(ledger new1 created_at)" "v1 created_at is the folder prefix in whole seconds"
assert_eq 0 "$(pg_psql new1 'select count(*) from drizzle.__drizzle_migrations where applied_at is null')" "v1 applied_at filled"

# 0.x ledger upgraded by the 1.0 migrator
PGDATABASE=up1 node migrate.mjs "$fixtures/app/drizzle" || fail "0.x migrate up1"
PGDATABASE=up1 node v1/migrate.mjs "$fixtures/app-up/drizzle" || fail "v1 upgrade up1"
assert_eq "$want_hash" "$(ledger up1)" "upgrade keeps hashes"
assert_eq "$want_when" "$(ledger up1 created_at)" "upgrade keeps created_at"
assert_eq "$(ls "$fixtures/app-up/drizzle")" "$(ledger up1 name)" "upgrade fills name"
assert_eq 4 "$(pg_psql up1 'select count(*) from drizzle.__drizzle_migrations where applied_at is null')" "upgrade sets applied_at NULL"

out=$(PGDATABASE=up1 node v1/migrate.mjs "$fixtures/app/drizzle" 2>&1) && fail "v1 accepted a journal folder" || true
assert_contains "$out" 'drizzle-kit up' "v1 refuses meta/_journal.json"

# The benchmarks' SaaS app: every migration applies in drizzle's transaction.
PGDATABASE=saas1 node migrate.mjs "$fixtures/saas/drizzle" || fail "saas migrate saas1"
assert_eq 9 "$(pg_psql saas1 'select count(*) from drizzle.__drizzle_migrations')" "saas: 9 ledger rows"

# The statement model's fixture: drizzle's transaction refuses what the model says it refuses.
out=$(PGDATABASE=model1 node migrate.mjs "$fixtures/sql-model/drizzle" 2>&1) && fail "sql-model: CONCURRENTLY ran in a transaction" || true
assert_contains "$out" 'CREATE INDEX CONCURRENTLY cannot run inside a transaction block' \
    "sql-model: the server refuses 0001_alter's concurrent index in drizzle's transaction"
assert_eq "0|f|f" "$(pg_psql model1 "select count(*), to_regclass('billing.invoices') is not null, exists (select 1 from pg_enum where enumlabel = 'team') from drizzle.__drizzle_migrations")" \
    "sql-model: the whole run rolled back: no ledger row, no table of 0000_create, no value of 0001_alter"

pf_done
