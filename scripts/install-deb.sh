#!/bin/sh
# Install pgfleet's .deb into this Debian 12 system, its dependencies from Debian's packages,
# and add the unprivileged user `pgfleet` to run it as; then print `pgfleet version`. Run as
# root. The container image's runtime stage (Dockerfile) runs this script; the test that installs
# the .deb (tests/integration/test_deb_install.sh) runs that stage's RUN line in a fresh
# debootstrap root.
# Usage: install-deb.sh /path/to/pgfleet_VERSION_ARCH.deb
set -eu
deb=$1
case $deb in /*) ;; *) deb=./$deb ;; esac
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$deb" >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/*
id pgfleet >/dev/null 2>&1 ||
    useradd --system --create-home --home-dir /home/pgfleet --shell /usr/sbin/nologin pgfleet
pgfleet version
