#!/usr/bin/env bash
# Benchmark: lint on migration folders of growing size, no database needed. Prints wall-clock
# seconds (the best of ROUNDS runs) of:
#   - `pgfleet lint` on a 300-migration folder written the way a real project's grows (tables
#     with enums, foreign keys and indexes, columns added, backfilled and dropped, enum values
#     added, type changes, a COMMIT then CREATE INDEX CONCURRENTLY), and on the same folder
#     repeated to N migrations,
#   - `pgfleet lint` on N synthetic journal entries, each file a CREATE TABLE and an ALTER TABLE
#     of an earlier table (every table in the schema model, findings in every migration),
#   - `pgfleet plan` refusing the same folders (one CREATE INDEX CONCURRENTLY without COMMIT in
#     the last migration): the folder read, every chunk parsed, the certain-failure rules, and
#     no database (the refusal comes before any connection).
# The cost should grow in proportion to N: compare the per-migration figures.
# Asserts nothing; a run that fails prints its exit status and first line of stderr.
# Usage: bench/lint.sh [ROUNDS]   (default 1; needs a build in build/, or PGFLEET=...; a
# Release build without sanitizers gives the figures of docs/lint.md; needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
REAL=${REAL:-"300 3000"}  # real-project-shaped migrations
ENTRIES=${ENTRIES:-"10000 100000"}  # synthetic entries
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp "$PGFLEET" "$TMP/pgfleet" # a rebuild while the bench runs must not change what it measures
PGFLEET=$TMP/pgfleet

# best WHAT N ARGS...: run pgfleet ARGS ROUNDS times; print the best wall-clock and CPU (user +
# system) seconds, and the CPU time per migration (on a shared machine the wall clock mostly
# measures the other processes).
best() {
    local what=$1 n=$2 best= cpu= i rc e c
    shift 2
    for i in $(seq 1 "$ROUNDS"); do
        rc=0
        /usr/bin/time -f '%e %U %S' -o "$TMP/time" "$PGFLEET" "$@" >/dev/null 2>"$TMP/err" || rc=$?
        read -r e u s < <(tail -n 1 "$TMP/time")
        c=$(echo "$u + $s" | bc)
        if [ -z "$best" ] || [ "$(echo "$e < $best" | bc)" = 1 ]; then best=$e; fi
        if [ -z "$cpu" ] || [ "$(echo "$c < $cpu" | bc)" = 1 ]; then cpu=$c; fi
    done
    printf '%-44s %7.2f s wall %7.2f s cpu %6.1f us/migration  (exit %d%s)\n' "$what" "$best" \
        "$cpu" "$(echo "$cpu * 1000000 / $n" | bc -l)" "$rc" \
        "$(case $rc in 0 | 1 | 2 | 3) ;; *) echo ": $(head -c 100 "$TMP/err")" ;; esac)"
}

# real DIR N: N migrations the way a project grows them, in groups of 10 per "feature".
real() {
    "$PY" - "$1" "$2" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d + "/meta", exist_ok=True)
BP = "\n--> statement-breakpoint\n"
entries = []
def mig(i, stmts):
    tag = "%04d_m%d" % (i, i)
    with open("%s/%s.sql" % (d, tag), "w") as f:
        f.write(BP.join(stmts) + "\n")
    entries.append({"idx": i, "version": "7", "when": 1700000000000 + i * 1000, "tag": tag,
                    "breakpoints": True})
for i in range(n):
    g, k = divmod(i, 10)
    t = '"t%d"' % g
    if k == 0:
        mig(i, ['CREATE TYPE "public"."status%d" AS ENUM(\'new\', \'done\');' % g,
                'CREATE TABLE %s (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"owner_id" text NOT NULL,\n'
                '\t"name" varchar(64),\n\t"status" "status%d" DEFAULT \'new\' NOT NULL,\n'
                '\t"price" numeric(10, 2),\n\t"created_at" timestamp DEFAULT now() NOT NULL\n);' % (t, g),
                'CREATE INDEX IF NOT EXISTS "t%d_owner_idx" ON %s USING btree ("owner_id");' % (g, t)])
    elif k == 1:
        mig(i, ['ALTER TABLE %s ADD COLUMN "org_id" text;' % t,
                'UPDATE %s SET "org_id" = "owner_id";' % t,
                'ALTER TABLE %s ALTER COLUMN "org_id" SET NOT NULL;' % t,
                'ALTER TABLE %s DROP COLUMN "owner_id";' % t])
    elif k == 2:
        mig(i, ['ALTER TYPE "public"."status%d" ADD VALUE \'archived\';' % g])
    elif k == 3:
        mig(i, ['UPDATE %s SET "status" = \'archived\' WHERE "status"::text <> \'new\';' % t])
    elif k == 4:
        mig(i, ['ALTER TABLE %s ALTER COLUMN "name" SET DATA TYPE text;' % t,
                'ALTER TABLE %s ALTER COLUMN "price" SET DATA TYPE numeric(12, 2);' % t])
    elif k == 5:
        mig(i, ['ALTER TABLE %s ADD COLUMN "note" text;' % t, 'COMMIT;',
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "t%d_name_idx" ON %s ("name");' % (g, t)])
    elif k == 6:
        mig(i, ['CREATE TABLE "t%d_log" ("id" serial PRIMARY KEY NOT NULL, "t_id" integer, "line" text);' % g,
                'ALTER TABLE "t%d_log" ADD CONSTRAINT "t%d_log_fk" FOREIGN KEY ("t_id") REFERENCES '
                '"public".%s("id") ON DELETE cascade ON UPDATE no action;' % (g, g, t)])
    elif k == 7:
        mig(i, ['ALTER TABLE "t%d_log" ENABLE ROW LEVEL SECURITY;' % g,
                'CREATE POLICY "own" ON "t%d_log" AS PERMISSIVE FOR SELECT TO public USING (true);' % g])
    elif k == 8:
        mig(i, ['CREATE OR REPLACE FUNCTION "t%d_touch"() RETURNS trigger LANGUAGE plpgsql AS $$\n'
                'BEGIN NEW."note" := \'touched\'; RETURN NEW; END $$;' % g])
    else:
        mig(i, ['DROP TABLE "t%d_log" CASCADE;' % g])
with open(d + "/meta/_journal.json", "w") as f:
    json.dump({"version": "7", "dialect": "postgresql", "entries": entries}, f, indent=2)
PY
}

# synthetic DIR N: N entries, each a CREATE TABLE and an ALTER of the table before it.
synthetic() {
    "$PY" - "$1" "$2" <<'PY'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d + "/meta", exist_ok=True)
entries = []
for i in range(n):
    tag = "%06d_e%d" % (i, i)
    sql = 'CREATE TABLE "e%d" ("id" integer PRIMARY KEY, "v" text);' % i
    if i:
        sql += '\n--> statement-breakpoint\nALTER TABLE "e%d" ALTER COLUMN "v" SET NOT NULL;' % (i - 1)
    with open("%s/%s.sql" % (d, tag), "w") as f:
        f.write(sql + "\n")
    entries.append({"idx": i, "version": "7", "when": 1700000000000 + i, "tag": tag,
                    "breakpoints": True})
with open(d + "/meta/_journal.json", "w") as f:
    json.dump({"version": "7", "dialect": "postgresql", "entries": entries}, f, indent=2)
PY
}

# A target nothing listens for: plan must refuse before trying it.
printf 'migrations: {dir: "%s"}\ntargets:\n  - {name: nowhere, dsn: "postgresql://u@127.0.0.1:1/x"}\n' \
    "$TMP/dir" >"$TMP/inv.yaml"
plan_refused() { # WHAT N DIR: the last migration gets a CREATE INDEX CONCURRENTLY of its own
    local last
    last=$(find "$3" -maxdepth 1 -name "*.sql" | sort | tail -n 1)
    printf '%s\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY "bench_idx" ON "bench" ("id");\n' \
        "$(cat "$last")" >"$last"
    best "$1" "$2" plan -i "$TMP/inv.yaml" -m "$3"
}

for n in $REAL; do
    real "$TMP/real$n" "$n"
    best "lint: $n real-project migrations" "$n" lint -m "$TMP/real$n"
    plan_refused "plan refusal: $n real-project migrations" "$n" "$TMP/real$n"
done
for n in $ENTRIES; do
    synthetic "$TMP/syn$n" "$n"
    best "lint: $n synthetic entries" "$n" lint -m "$TMP/syn$n"
    plan_refused "plan refusal: $n synthetic entries" "$n" "$TMP/syn$n"
done
