#!/usr/bin/env bash
# Installs the pinned reference drizzle packages from the lockfiles (tests/interop and
# tests/interop/v1) with `npm ci`, only when node_modules is missing or older than the lockfile.
# Idempotent; installs nothing else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

install_if_stale() {
    local dir=$1
    local stamp=$dir/node_modules/.package-lock.json
    if [ -d "$dir/node_modules" ] && [ -f "$stamp" ] && ! [ "$dir/package-lock.json" -nt "$stamp" ] &&
        ! [ "$dir/package.json" -nt "$stamp" ]; then
        return 0
    fi
    echo "setup.sh: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

command -v npm >/dev/null || { echo "setup.sh: npm not found" >&2; exit 1; }
install_if_stale "$here"
install_if_stale "$here/v1"
