#!/usr/bin/env bash
# The whole test suite: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer, install the pinned drizzle packages, run every test with ctest.
# Unit tests need nothing; integration and interop tests start their own PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash tests/interop/setup.sh
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DPGFLEET_SANITIZE=ON >/dev/null
cmake --build build-test -j"$(nproc)"
# The format check is a ctest test too (format/check-format); first, so that a missing
# clang-format or a misformatted file stops the run before the long tests.
bash scripts/check-format.sh
(cd build-test && ctest --output-on-failure -j"$(nproc)" "$@")

# ThreadSanitizer, which cannot share a binary with ASan: a second build, and the tests whose
# pgfleet runs threads that meet (the pool and its supervisor, waves, the SSH hub, signals,
# concurrent runners, connection retries) run again against it. Any report fails its test
# (exit 66) and, kept in build-tsan/tsan/, the run.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DPGFLEET_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$(nproc)"
rm -rf build-tsan/tsan && mkdir build-tsan/tsan
tsan_tests='^unit/test_(ssh|waves|queue|requests|bytequeue|conn_retry)$'
tsan_tests+='|^integration/test_(waves_.*|ssh_.*|concurrent_apply|lock|lock_race|interrupt)$'
tsan_tests+='|^integration/test_(fleet_apply|out_of_connections|plugins|drift|max_per_server)$'
# GCC 12's TSan cannot place its shadow memory under more than 28 bits of mmap randomness.
no_aslr=()
[ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -le 28 ] || no_aslr=(setarch -R)
tsan_options="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
tsan_options+=" log_path=$PWD/build-tsan/tsan/report"
tsan_rc=0
(cd build-tsan && TSAN_OPTIONS="$tsan_options" "${no_aslr[@]}" \
    ctest --output-on-failure --no-tests=error -j"$(nproc)" -R "$tsan_tests") || tsan_rc=$?
if compgen -G 'build-tsan/tsan/report.*' >/dev/null; then
    echo "ThreadSanitizer reports (build-tsan/tsan/):" >&2
    cat build-tsan/tsan/report.* >&2
    tsan_rc=1
fi
exit $tsan_rc
