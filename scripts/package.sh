#!/usr/bin/env bash
# Build pgfleet's .deb: a Release build without the tests, installed under /usr (so that the
# plugin directory compiled in is the package's), packed by CPack with the Debian packages of
# the libraries it links as dependencies. Prints the .deb's path.
# Usage: scripts/package.sh [BUILD_DIR]   (default build-deb/; JOBS=2 parallel jobs)
# The container image's build stage (Dockerfile) runs it; tests/integration/test_deb_install.sh
# runs that stage's RUN line in a fresh Debian 12 root.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-deb}
mkdir -p "$build"
log=$build/package.log
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPGFLEET_TESTS=OFF \
    -DPGFLEET_SANITIZE=OFF -DCMAKE_INSTALL_PREFIX=/usr >"$log" 2>&1 ||
    { cat "$log" >&2; exit 1; }
cmake --build "$build" -j"${JOBS:-2}" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
rm -f "$build"/pgfleet_*.deb
(cd "$build" && cpack -G DEB >>"$log" 2>&1) || { tail -n 40 "$log" >&2; exit 1; }
ls "$build"/pgfleet_*.deb
