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
if command -v clang-format >/dev/null 2>&1; then
    bash scripts/check-format.sh
fi
cd build-test
ctest --output-on-failure -j"$(nproc)" "$@"
