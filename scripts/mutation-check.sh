#!/usr/bin/env bash
# Mutation check: does each test catch the bug it is there for? For every deliberate bug in
# tests/mutations/*.mut (a source text and what it becomes, the ctest tests that must catch it),
# on a scratch copy of the repository: apply it, rebuild, run only its tests, restore. A
# mutation is caught when one of its tests fails; missed when they all pass; stale when its text
# is no longer in the file (or no longer once); broken when it does not compile; untested when a
# test it names does not exist. Before any mutation, the tests are run once unmutated: a test
# that fails there catches nothing (baseline). Exit 0 only when every mutation run was caught.
#
#   scripts/mutation-check.sh [--worktree] [--keep] [NAME...]
#
#   NAME        mutations to run (file names without .mut, globs allowed); default: all
#   --worktree  copy the working tree's tracked files (uncommitted changes included) rather
#               than the last commit (git archive HEAD)
#   --keep      keep the scratch directory (its path is printed), with each mutation's test log
#
# The mutations are read from this checkout's tests/mutations (tests/mutations/README.md), so a
# new one can be tried before it is committed; the sources they change are the scratch copy's.
# Not part of scripts/test.sh (it takes a while: one rebuild and one test run per mutation).
# docs/testing.md has the figures of a full run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

worktree=0
keep=0
patterns=()
for arg in "$@"; do
    case "$arg" in
    --worktree) worktree=1 ;;
    --keep) keep=1 ;;
    -h | --help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "mutation-check: unknown option $arg" >&2
        exit 3
        ;;
    *) patterns+=("$arg") ;;
    esac
done

T_START=$(date +%s)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
JOBS=$(nproc 2>/dev/null || echo 2)

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-mutations.XXXXXX")
cleanup() {
    if [ "$keep" = 1 ]; then
        echo "mutation-check: scratch copy kept in $SCRATCH"
    else
        rm -rf "$SCRATCH"
    fi
}
trap cleanup EXIT
SRC=$SCRATCH/src
BUILD=$SCRATCH/build
LOGS=$SCRATCH/logs
mkdir -p "$SRC" "$LOGS"

# ---- the scratch copy ------------------------------------------------------------------------
if [ "$worktree" = 1 ]; then
    echo "mutation-check: copying the working tree's tracked files to $SRC"
    git ls-files -z | while IFS= read -r -d '' f; do
        [ -e "$f" ] || continue # deleted in the working tree
        mkdir -p "$SRC/$(dirname "$f")"
        cp -p "$f" "$SRC/$f"
    done
else
    echo "mutation-check: $(git rev-parse --short HEAD) (git archive) to $SRC"
    git archive --format=tar HEAD | tar -x -C "$SRC"
fi
# The pinned drizzle packages are installed, not committed: share them if they are here.
for nm in tests/interop/node_modules tests/interop/v1/node_modules; do
    [ -d "$ROOT/$nm" ] && [ ! -e "$SRC/$nm" ] && ln -s "$ROOT/$nm" "$SRC/$nm"
done

# ---- the mutations ---------------------------------------------------------------------------
# mut.py list DIR             -> "name<TAB>file<TAB>tests" per mutation
# mut.py count DIR NAME SRC   -> how many times the old text occurs in the file (-1: no file)
# mut.py apply DIR NAME SRC   -> replace it (the original saved as FILE.mutation-orig)
# mut.py restore DIR NAME SRC -> put the original back
cat >"$SCRATCH/mut.py" <<'PY'
import os, sys

def parse(path):
    m = {"desc": [], "file": None, "tests": [], "old": None, "new": None}
    section, buf = None, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for line in lines:
        if line in ("--- old", "--- new", "--- end"):
            if section:
                m[section] = "\n".join(buf)
            section = {"--- old": "old", "--- new": "new", "--- end": None}[line]
            buf = []
            if line == "--- end":
                break
            continue
        if section:
            buf.append(line)
        elif line.startswith("#"):
            m["desc"].append(line[1:].strip())
        elif line.startswith("file:"):
            m["file"] = line[5:].strip()
        elif line.startswith("tests:"):
            m["tests"] = line[6:].split()
    for key in ("file", "old", "new"):
        if m[key] is None:
            sys.exit("%s: no %s" % (path, key))
    if not m["tests"]:
        sys.exit("%s: no tests" % path)
    return m

cmd, d = sys.argv[1], sys.argv[2]
if cmd == "list":
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".mut"):
            m = parse(os.path.join(d, fn))
            print("%s\t%s\t%s" % (fn[:-4], m["file"], " ".join(m["tests"])))
    sys.exit(0)
name, src = sys.argv[3], sys.argv[4]
m = parse(os.path.join(d, name + ".mut"))
path = os.path.join(src, m["file"])
if cmd == "count":
    if not os.path.isfile(path):
        print(-1)
    else:
        print(open(path, encoding="utf-8").read().count(m["old"]))
elif cmd == "apply":
    text = open(path, encoding="utf-8").read()
    assert text.count(m["old"]) == 1
    os.rename(path, path + ".mutation-orig")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(m["old"], m["new"]))
elif cmd == "restore":
    os.replace(path + ".mutation-orig", path)
    # Now, not the original's time: older than the mutated object file, it would not be rebuilt
    # and the next mutation would run with this one still in.
    os.utime(path, None)
PY
mut() { "$PY" "$SCRATCH/mut.py" "$@"; }

# The list is read from this checkout (so that a new mutation can be tried before it is
# committed); the sources it changes are the scratch copy's.
MUT_DIR=$ROOT/tests/mutations
declare -a NAMES=()
declare -A FILE_OF TESTS_OF
while IFS=$'\t' read -r name file tests; do
    if [ ${#patterns[@]} -gt 0 ]; then
        hit=0
        for p in "${patterns[@]}"; do
            # shellcheck disable=SC2053
            [[ "$name" == $p ]] && hit=1
        done
        [ "$hit" = 1 ] || continue
    fi
    NAMES+=("$name")
    FILE_OF[$name]=$file
    TESTS_OF[$name]=$tests
done < <(mut list "$MUT_DIR")
if [ ${#NAMES[@]} -eq 0 ]; then
    echo "mutation-check: no mutation selected" >&2
    exit 3
fi

# ---- build once, list the tests --------------------------------------------------------------
echo "mutation-check: building (Debug, no sanitizers) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DPGFLEET_SANITIZE=OFF >"$LOGS/configure.log" 2>&1 || {
    tail -n 20 "$LOGS/configure.log" >&2
    exit 1
}
cmake --build "$BUILD" -j"$JOBS" >"$LOGS/build.log" 2>&1 || {
    tail -n 20 "$LOGS/build.log" >&2
    exit 1
}
declare -A KNOWN
while read -r t; do KNOWN[$t]=1; done < <(cd "$BUILD" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p')

# run_test NAME LOG: one ctest test, exit status of ctest (a hang fails by its TIMEOUT).
run_test() {
    (cd "$BUILD" && ctest -R "^$1\$" --output-on-failure) >>"$2" 2>&1
}

# Unit tests first: they are quick, and one failing test is enough.
order_tests() {
    local t
    for t in "$@"; do [[ "$t" == unit/* ]] && echo "$t"; done
    for t in "$@"; do [[ "$t" != unit/* ]] && echo "$t"; done
}

declare -A RESULT DETAIL
runnable=()
for name in "${NAMES[@]}"; do
    n=$(mut count "$MUT_DIR" "$name" "$SRC")
    missing=""
    for t in ${TESTS_OF[$name]}; do
        [ -n "${KNOWN[$t]:-}" ] || missing="$missing $t"
    done
    if [ "$n" = -1 ]; then
        RESULT[$name]=stale
        DETAIL[$name]="${FILE_OF[$name]} does not exist"
    elif [ "$n" = 0 ]; then
        RESULT[$name]=stale
        DETAIL[$name]="its text is no longer in ${FILE_OF[$name]}"
    elif [ "$n" != 1 ]; then
        RESULT[$name]=stale
        DETAIL[$name]="its text occurs $n times in ${FILE_OF[$name]}"
    elif [ -n "$missing" ]; then
        RESULT[$name]=untested
        DETAIL[$name]="no such test:$missing"
    else
        runnable+=("$name")
    fi
done

# ---- baseline: the tests pass on the unmutated copy ------------------------------------------
declare -A BASE_FAIL
baseline=()
for name in ${runnable[@]+"${runnable[@]}"}; do
    for t in ${TESTS_OF[$name]}; do
        [[ " ${baseline[*]-} " == *" $t "* ]] || baseline+=("$t")
    done
done
if [ ${#baseline[@]} -gt 0 ]; then
    echo "mutation-check: baseline: ${#baseline[@]} tests on the unmutated copy"
    for t in $(order_tests "${baseline[@]}"); do
        if ! run_test "$t" "$LOGS/baseline.log"; then
            BASE_FAIL[$t]=1
            echo "mutation-check: baseline: $t FAILS without any mutation (see --keep, logs/baseline.log)"
        fi
    done
fi

# ---- each mutation ---------------------------------------------------------------------------
T_ALL=$(date +%s)
for name in ${runnable[@]+"${runnable[@]}"}; do
    T0=$(date +%s)
    log=$LOGS/$name.log
    bad_base=""
    for t in ${TESTS_OF[$name]}; do
        [ -z "${BASE_FAIL[$t]:-}" ] || bad_base="$bad_base $t"
    done
    if [ -n "$bad_base" ]; then
        RESULT[$name]=baseline
        DETAIL[$name]="fails unmutated:$bad_base"
    else
        mut apply "$MUT_DIR" "$name" "$SRC"
        if ! cmake --build "$BUILD" -j"$JOBS" >"$log" 2>&1; then
            RESULT[$name]=broken
            DETAIL[$name]="does not compile (see logs/$name.log)"
        else
            RESULT[$name]=missed
            DETAIL[$name]="all passed: ${TESTS_OF[$name]}"
            for t in $(order_tests ${TESTS_OF[$name]}); do
                if ! run_test "$t" "$log"; then
                    RESULT[$name]=caught
                    DETAIL[$name]="by $t"
                    break
                fi
            done
        fi
        mut restore "$MUT_DIR" "$name" "$SRC"
    fi
    printf '%-8s %-40s %s (%ss)\n' "${RESULT[$name]}" "$name" "${DETAIL[$name]}" $(($(date +%s) - T0))
done
# Put the build back to the unmutated sources (for --keep).
cmake --build "$BUILD" -j"$JOBS" >>"$LOGS/build.log" 2>&1 || true

# ---- summary -------------------------------------------------------------------------------
declare -A COUNT=([caught]=0 [missed]=0 [stale]=0 [broken]=0 [untested]=0 [baseline]=0)
for name in "${NAMES[@]}"; do
    r=${RESULT[$name]}
    COUNT[$r]=$((COUNT[$r] + 1))
    if [ "$r" != caught ] && ! [[ " ${runnable[*]-} " == *" $name "* ]]; then
        printf '%-8s %-40s %s\n' "$r" "$name" "${DETAIL[$name]}"
    fi
done
echo "mutation-check: ${#NAMES[@]} mutations: ${COUNT[caught]} caught, ${COUNT[missed]} missed," \
    "${COUNT[stale]} stale, ${COUNT[broken]} broken, ${COUNT[untested]} untested," \
    "${COUNT[baseline]} with a test failing unmutated ($(($(date +%s) - T_ALL))s for the" \
    "mutations, $(($(date +%s) - T_START))s in all)"
[ "${COUNT[caught]}" = "${#NAMES[@]}" ]
