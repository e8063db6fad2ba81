#!/usr/bin/env bash
# Fail when a C file differs from .clang-format's style.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format: clang-format is not installed; hint: scripts/install-deps.sh installs it" >&2
    exit 1
fi
bad=0
while IFS= read -r f; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "format: $f differs from .clang-format (run: clang-format -i $f)"
        bad=1
    fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests -name '*.[ch]')
exit $bad
