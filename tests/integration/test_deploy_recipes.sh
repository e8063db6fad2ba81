# The deployment recipes of docs/deploy/ (GitHub Actions, GitLab CI, Kubernetes, systemd) are
# parsed and checked (tests/lib/check_recipes.py: PyYAML for the YAML, systemd-analyze verify for
# the units), and every command line they run is run, in order, against a fleet of this test's
# server: a matrix, parallel or Indexed Job line once per shard, with the values CI or Kubernetes
# would give; the recipes' paths (/etc/pgfleet, /reports, ...) mapped into a scratch directory.
# No command may be refused as invalid (exit 3) or fail (2); each file's rollout leaves the
# fleet in sync, and what the recipes promise to write is there.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
SRC=$(cd "$PF_TESTS_DIR/.." && pwd)

OUT=$PF_TMP/recipes
RC=0
"$PF_PY" "$PF_TESTS_DIR/lib/check_recipes.py" "$SRC/docs/deploy" "$OUT" >"$PF_TMP/check.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "the recipes parse and pass their checks"
assert_eq "" "$(cat "$PF_TMP/check.out")" "no problem reported"
for f in github-actions.md gitlab-ci.md kubernetes.md systemd.md; do
    assert_contains "$(cut -f1 "$OUT/commands.tsv" | sort -u)" "$f" "$f has commands to run"
done
assert_contains "$(cut -f2 "$OUT/commands.tsv" | sort -u | paste -sd' ')" \
    "github-matrix:4 gitlab gitlab-parallel:4 k8s k8s-indexed:8 systemd" \
    "the shard recipes were found: a matrix, a parallel job, an Indexed Job"

# --- systemd units, as systemd reads them ------------------------------------------------------
mkdir -p "$PF_TMP/units"
sed -e "s#^ExecStart=/usr/bin/pgfleet#ExecStart=$PGFLEET#" -e 's#^EnvironmentFile=#EnvironmentFile=-#' \
    "$OUT/units/pgfleet-audit.service" >"$PF_TMP/units/pgfleet-audit.service"
cp "$OUT/units/pgfleet-audit.timer" "$PF_TMP/units/"
RC=0
(cd "$PF_TMP/units" && systemd-analyze verify ./pgfleet-audit.service ./pgfleet-audit.timer) \
    >"$PF_TMP/verify.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "systemd-analyze verify accepts the service and the timer"
assert_eq "" "$(cat "$PF_TMP/verify.out")" "without a warning (an unknown key is one)"

# --- a fleet for the commands: four databases, two waves ---------------------------------------
pg_createdb r1 r2 r3 r4
W=$PF_TMP/w
mkdir -p "$W/work" "$W/etc" "$W/reports" "$W/textfile" "$W/state" "$W/bin"
ln -s "$PGFLEET" "$W/bin/pgfleet"
mig_add "$W/work/drizzle" 0000_items $((PF_WHEN0 + 1000)) 'CREATE TABLE "items" ("id" integer);'
{
    echo "migrations: {dir: ./drizzle}"
    echo "targets:"
    for db in r1 r2 r3 r4; do
        echo "  - name: $db"
        echo "    dsn: postgresql://postgres@127.0.0.1:$PGPORT/$db"
    done
    echo "waves:"
    echo "  - {name: canary, targets: [r1], max_failures: 0}"
    echo "  - {name: rest, select: all, max_failures: 10%}"
} >"$W/work/fleet.yaml"
sed "s#dir: ./drizzle#dir: $W/work/drizzle#" "$W/work/fleet.yaml" >"$W/etc/fleet.yaml"
export GITHUB_STEP_SUMMARY=$W/summary.md
reset_fleet() {
    local db
    for db in r1 r2 r3 r4; do
        pg_psql "$db" 'SET client_min_messages = warning; DROP SCHEMA IF EXISTS drizzle CASCADE; DROP TABLE IF EXISTS items' >/dev/null
    done
}

# run_line N LINE [ENV...]: LINE as its CI or Kubernetes would run it, with the paths mapped.
run_line() {
    local n=$1 line=$2
    shift 2
    line=${line//\/usr\/bin\/pgfleet/pgfleet}
    line=${line//\/etc\/pgfleet/$W/etc}
    line=${line//\/var\/lib\/prometheus\/node-exporter/$W/textfile}
    line=${line//\/var\/lib\/pgfleet/$W/state}
    line=${line// \/reports/ $W/reports}
    line=${line//\'\/reports/\'$W/reports}
    local rc=0
    (cd "$W/work" && env PATH="$W/bin:$PATH" PGFLEET_INVENTORY=fleet.yaml "$@" bash -c "$line") \
        >"$PF_TMP/cmd_$n.out" 2>"$PF_TMP/cmd_$n.err" || rc=$?
    if [ "$rc" = 0 ] || [ "$rc" = 1 ]; then
        pass "$line ($*): exit $rc"
    else
        fail "$line ($*): exit $rc: $(head -c 600 "$PF_TMP/cmd_$n.err")"
    fi
}

# after FILE: what the recipe leaves: the rollouts the whole fleet (Kubernetes: the wave its
# Indexed Job ran) in sync; the systemd audit, which only reads, leaves it as it was.
after() {
    local sel=() want=0 rc=0
    [ "$1" = kubernetes.md ] && sel=(--wave rest)
    [ "$1" = systemd.md ] && want=1
    (cd "$W/work" && "$PGFLEET" audit -q -i fleet.yaml "${sel[@]}" >/dev/null 2>&1) || rc=$?
    assert_eq "$want" "$rc" "after $1's commands: audit ${sel[*]} exits $want"
}

n=0
current=""
while IFS=$'\t' read -r file kind line; do
    if [ "$file" != "$current" ]; then
        # Each recipe starts from a fleet where nothing is applied.
        [ -z "$current" ] || after "$current"
        reset_fleet
        rm -f "$W"/work/*.json "$W"/work/*.xml "$W"/reports/*
        current=$file
    fi
    n=$((n + 1))
    case $kind in
    github-matrix:*)
        for k in $(seq 0 $((${kind#*:} - 1))); do
            run_line "$n.$k" "${line//\$\{\{ matrix.shard \}\}/$k}"
        done
        ;;
    gitlab-parallel:*)
        for k in $(seq 1 "${kind#*:}"); do
            run_line "$n.$k" "$line" CI_NODE_INDEX="$k" CI_NODE_TOTAL="${kind#*:}"
        done
        ;;
    k8s-indexed:*)
        for k in $(seq 0 $((${kind#*:} - 1))); do
            run_line "$n.$k" "${line//\$(JOB_COMPLETION_INDEX)/$k}"
        done
        ;;
    *)
        run_line "$n" "$line"
        ;;
    esac
    case $line in
    *--check-threshold*)
        assert_eq "pgfleet merge: wave rest: 0 failures of 3 targets, max_failures 10% allows 0: go on" \
            "$(cat "$PF_TMP/cmd_$n.err")" "$file: the merged wave's verdict: go on"
        ;;
    esac
done <"$OUT/commands.tsv"
after "$current"

# What the recipes write.
assert_contains "$(cat "$GITHUB_STEP_SUMMARY")" "### pgfleet plan" "the step summary got the plan, appended"
assert_contains "$(cat "$GITHUB_STEP_SUMMARY")" "### pgfleet apply" "and the apply reports after it"
assert_contains "$(cat "$W/textfile/pgfleet.prom")" "pgfleet_run_exit_code" \
    "the systemd audit wrote the textfile collector's file"
assert_eq 1 "$(ls "$W/state/reports" | wc -l)" "and kept its JSON report"

pf_done
