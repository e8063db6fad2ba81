#!/usr/bin/env bash
# Install everything pgfleet needs to build, test and run its demo, from Debian 12's packages.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(build-essential cmake pkg-config libpq-dev libyaml-dev libcjson-dev libssl-dev
          libssh2-1-dev libcmocka-dev libpg-query-dev postgresql postgresql-contrib
          openssh-server openssh-client clang-format clang libclang-rt-14-dev jq bc chromium
          python3 python3-yaml debootstrap dpkg-dev systemd)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# What scripts/test.sh runs must be there afterwards, whatever dpkg says: the format check
# fails rather than being skipped.
require_commands() {
    local cmd
    for cmd in cmake pkg-config clang-format psql jq python3 node npm; do
        if ! command -v "$cmd" >/dev/null 2>&1; then
            echo "install-deps: $cmd is not on PATH after installing" >&2
            exit 1
        fi
    done
}

# --package: only what scripts/package.sh needs to build the .deb (the image's build stage).
if [ "${1:-}" = --package ]; then
    packages=(build-essential cmake pkg-config libpq-dev libyaml-dev libcjson-dev libssl-dev
              libssh2-1-dev libpg-query-dev dpkg-dev file)
    require_commands() { command -v cmake >/dev/null && command -v cpack >/dev/null; }
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    require_commands
    echo "install-deps: everything is installed"
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
# The packaged cluster is not used: tests and the demo start their own.
require_commands
