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
cd build-test
ctest --output-on-failure -j"$(nproc)" "$@"
