#!/usr/bin/env bash
# Benchmark: how the inventory loader and lint scale with the size of their input, no database
# needed. Prints wall-clock seconds (the best of ROUNDS runs) for:
#   - `pgfleet inventory` on one target with N labels (the duplicate-key check),
#   - `pgfleet inventory` on N targets from one for_each, and N targets written out,
#   - `pgfleet lint` on a journal of N entries (and their .sql files): the entry checks alone
#     (`SELECT 1` in each file), with every `when` equal (one finding per entry), and with a
#     CREATE TABLE in each file (the statement checks too),
#   - how long an inventory of YAML aliases that would expand to 9M targets takes to be refused.
# Asserts nothing; a run that fails prints its exit status and first line of stderr.
# Usage: bench/inventory_scale.sh [ROUNDS]   (default 1; needs a build in build/, or PGFLEET=...)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
LABELS=${LABELS:-"10000 100000"}
TARGETS=${TARGETS:-"10000 100000"}
ENTRIES=${ENTRIES:-"20000 100000"}
PGFLEET=${PGFLEET:-$PWD/build/pgfleet}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cp "$PGFLEET" "$TMP/pgfleet" # a rebuild while the bench runs must not change what it measures
PGFLEET=$TMP/pgfleet

# best WHAT ARGS...: run pgfleet ARGS ROUNDS times, print the best wall-clock time.
best() {
    local what=$1 best= i t0 t1 rc
    shift
    for i in $(seq 1 "$ROUNDS"); do
        t0=$(date +%s.%N)
        rc=0
        "$PGFLEET" "$@" >/dev/null 2>"$TMP/err" || rc=$?
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf '%-52s %8.2f s  (exit %d%s)\n' "$what" "$best" "$rc" \
        "$([ "$rc" = 0 ] || [ "$rc" = 2 ] || echo ": $(head -c 100 "$TMP/err")")"
}

mkdir -p "$TMP/drizzle/meta"
echo '{"version": "7", "dialect": "postgresql", "entries": []}' >"$TMP/drizzle/meta/_journal.json"

for n in $LABELS; do
    "$PY" - "$TMP/labels_$n.yaml" "$n" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("targets:\n  - name: a\n    dsn: host=x\n    labels:\n")
    for i in range(n):
        f.write("      k%d: v%d\n" % (i, i))
PY
    best "inventory: 1 target, $n labels" inventory -i "$TMP/labels_$n.yaml" -f json
done

for n in $TARGETS; do
    "$PY" - "$TMP/for_each_$n.yaml" "$TMP/written_$n.yaml" "$n" <<'PY'
import sys
fe, written, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(fe, "w") as f:
    f.write("max_targets: %d\ntargets:\n  - name: t${each}\n    dsn: host=db dbname=t${each}\n"
            "    labels: {env: prod}\n    for_each: [%s]\n" % (n, ", ".join(str(i) for i in range(n))))
with open(written, "w") as f:
    f.write("max_targets: %d\ntargets:\n" % n)
    for i in range(n):
        f.write("  - name: t%d\n    dsn: host=db dbname=t%d\n    labels: {env: prod, n: '%d'}\n"
                % (i, i, i))
PY
    best "inventory: $n targets from one for_each" inventory -i "$TMP/for_each_$n.yaml" -f json
    best "inventory: $n targets written out" inventory -i "$TMP/written_$n.yaml" -f json
done

for n in $ENTRIES; do
    for kind in ordered same_when create_table; do
        "$PY" - "$TMP/lint_${kind}_$n" "$n" "$kind" <<'PY'
import json, os, sys
d, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(d + "/meta")
entries = []
for i in range(n):
    tag = "%05d_m%d" % (i, i)
    when = 1700000000000 + (0 if kind == "same_when" else i)
    entries.append({"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True})
    with open("%s/%s.sql" % (d, tag), "w") as f:
        f.write('CREATE TABLE "t%d" ("id" integer);\n' % i if kind == "create_table"
                else "SELECT 1;\n")
with open(d + "/meta/_journal.json", "w") as f:
    json.dump({"version": "7", "dialect": "postgresql", "entries": entries}, f, indent=2)
PY
        best "lint: $n entries ($kind)" lint -m "$TMP/lint_${kind}_$n" -f json
        rm -rf "$TMP/lint_${kind}_$n"
    done
done

# 169 KB of YAML: 3000 entries, each naming a 3000-item for_each list by alias: 9M targets.
"$PY" - "$TMP/aliases.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("targets:\n  - name: a-${each}\n    dsn: x\n    for_each: &l [%s]\n"
            % ",".join("%d" % i for i in range(3000)))
    for i in range(1, 3000):
        f.write("  - {name: \"b%d-${each}\", dsn: x, for_each: *l}\n" % i)
PY
best "inventory: aliases expanding to 9M targets ($(($(stat -c %s "$TMP/aliases.yaml") / 1024)) KB)" \
    inventory -i "$TMP/aliases.yaml" -f json
