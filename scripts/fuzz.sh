#!/usr/bin/env bash
# Fuzz pgfleet's input readers with libFuzzer (docs/testing.md#fuzzing): build the harnesses of
# fuzz/ with clang, AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/, then, for
# each harness, replay every input kept in fuzz/regressions/<harness>/ and fuzz for FUZZ_SECONDS
# (default 60) from the seeds in fuzz/corpus/<harness>/. A crash, a failed check, a leak, a
# timeout or running out of memory is kept in fuzz/regressions/<harness>/, printed (base64, for
# CI logs), and fails the run.
#
#   scripts/fuzz.sh                          # build, then every harness
#   scripts/fuzz.sh mask lint                # build, then these (fuzz_mask, fuzz_lint)
#   FUZZ_SECONDS=600 scripts/fuzz.sh codebase
#   scripts/fuzz.sh --build-only             # ctest builds once, as its own test,
#   scripts/fuzz.sh --no-build mask          # then runs each harness as a test
#
# Environment: FUZZ_SECONDS (per harness; 0 replays the kept inputs only), FUZZ_BUILD_DIR (default build-fuzz), FUZZ_ARGS (more
# libFuzzer flags), FUZZ_SEED (libFuzzer's -seed: the same inputs in the same order on every
# run; ctest sets it, so that the suite is a regression check that fails on a change, not on
# luck; unset, each run explores anew). New inputs that reach new code stay in build-fuzz/corpus/<harness>/ across
# runs; only the seeds in fuzz/corpus/ are committed.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
do_build=1
fuzz=1
harnesses=()
for arg in "$@"; do
    case $arg in
    --build-only) fuzz=0 ;;
    --no-build) do_build=0 ;;
    -*)
        echo "fuzz: unknown option $arg" >&2
        exit 2
        ;;
    *) harnesses+=("${arg#fuzz_}") ;;
    esac
done
if [ ${#harnesses[@]} -eq 0 ]; then
    for src in fuzz/fuzz_*.c; do
        name=${src#fuzz/fuzz_}
        harnesses+=("${name%.c}")
    done
fi
case $seconds in
'' | *[!0-9]*)
    echo "fuzz: FUZZ_SECONDS must be a number of seconds, not '$seconds'" >&2
    exit 2
    ;;
esac

if [ $do_build -eq 1 ]; then
    if ! command -v clang >/dev/null 2>&1; then
        echo "fuzz: clang is not installed; hint: scripts/install-deps.sh installs it" >&2
        exit 1
    fi
    cmake -S fuzz -B "$build" -DCMAKE_C_COMPILER=clang >/dev/null
    cmake --build "$build" -j"$(nproc)"
fi
[ $fuzz -eq 1 ] || exit 0

# Per harness: the largest input, and how long one input may take before it counts as a hang
# (the folder harnesses write files; CI machines are slow and shared).
max_len() {
    case $1 in
    mask) echo 1024 ;;
    inventory | drizzle_config) echo 8192 ;;
    *) echo 16384 ;;
    esac
}

# The folder harnesses write their files here; removed at the end, crash or not.
if [ -w /dev/shm ]; then
    scratch=$(mktemp -d /dev/shm/pgfleet-fuzz.XXXXXX)
else
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/pgfleet-fuzz.XXXXXX")
fi
trap 'rm -rf "$scratch"' EXIT
export FUZZ_SCRATCH=$scratch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Print an input that failed, so that a CI log alone is enough to reproduce it.
show_input() {
    echo "fuzz: input $1 ($(wc -c <"$1") bytes), base64:"
    base64 -w 76 "$1"
}

failed=()
summary=()
for h in "${harnesses[@]}"; do
    bin=$build/fuzz_$h
    if [ ! -x "$bin" ]; then
        echo "fuzz: no harness $bin; hint: scripts/fuzz.sh builds it (fuzz/fuzz_$h.c)" >&2
        failed+=("$h")
        continue
    fi
    regressions=fuzz/regressions/$h
    logs=$build/logs
    mkdir -p "$regressions" "$build/corpus/$h" "$build/artifacts/$h" "$logs"

    # Every kept input first: each once, each on its own, so that all failures are named.
    replay_failed=0
    for input in "$regressions"/*; do
        [ -f "$input" ] || continue
        if ! "$bin" -timeout=60 -rss_limit_mb=2048 "$input" >"$logs/$h.replay.log" 2>&1; then
            echo "fuzz: $h: kept input $input still fails:"
            grep -E '^(==[0-9]+==ERROR|SUMMARY|==== )|runtime error|    #[0-9] ' \
                "$logs/$h.replay.log" | head -40
            replay_failed=1
        fi
    done
    if [ $replay_failed -eq 1 ]; then
        failed+=("$h")
        summary+=("$(printf '%-16s kept inputs fail: not fuzzed' "$h")")
        continue
    fi

    if [ "$seconds" -eq 0 ]; then
        summary+=("$(printf '%-16s kept inputs pass; FUZZ_SECONDS=0: not fuzzed' "$h")")
        continue
    fi
    dict=()
    [ -f "fuzz/fuzz_$h.dict" ] && dict=(-dict="fuzz/fuzz_$h.dict")
    rm -f "$build/artifacts/$h"/*
    rc=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    seed=()
    [ -z "${FUZZ_SEED:-}" ] || seed=(-seed="$FUZZ_SEED")
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$h")" -timeout=30 "${seed[@]}" \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$h/" \
        "${dict[@]}" ${FUZZ_ARGS:-} "$build/corpus/$h" "fuzz/corpus/$h" \
        >"$logs/$h.log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$h.log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$h.log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$logs/$h.log" | tail -1 || true)
    summary+=("$(printf '%-16s %10s runs %7s/s  %s' "$h" "${execs:-?}" "${rate:-?}" "$cov")")
    kept=0
    for a in "$build/artifacts/$h"/*; do
        [ -f "$a" ] || continue
        case $(basename "$a") in
        crash-* | leak-* | timeout-* | oom-*) ;;
        *) continue ;; # slow-unit-*: slow, not wrong
        esac
        cp "$a" "$regressions/"
        echo "fuzz: $h: kept $regressions/$(basename "$a")"
        show_input "$a"
        kept=1
    done
    if [ $rc -ne 0 ] || [ $kept -eq 1 ]; then
        echo "fuzz: $h failed (exit $rc); the end of $logs/$h.log:"
        tail -60 "$logs/$h.log"
        failed+=("$h")
    fi
done

printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]}; hint: run the kept input again with $build/fuzz_<harness> FILE" >&2
    exit 1
fi
