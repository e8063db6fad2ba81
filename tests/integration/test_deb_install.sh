# The .deb on a fresh Debian 12 (docs/deploy/container.md): scripts/package.sh builds it, and
# scripts/install-deb.sh — the container image's runtime stage, the same script — installs it
# into a fresh Debian 12 root made by debootstrap from Debian's packages, pulling its library
# dependencies from Debian. There, as the unprivileged `pgfleet` user: `pgfleet version`, the man
# page, the plugin header, a plugin found by its bare name in the default plugin directory, and a
# one-database apply against this test's server.
#
# The root is made once and kept in $PGFLEET_TEST_CACHE (default /var/cache/pgfleet-test, never
# in the repository); each run installs into a copy of it. Needs root (chroot) and debootstrap
# (scripts/install-deps.sh installs it).
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

SRC=$(cd "$PF_TESTS_DIR/.." && pwd)
CACHE=${PGFLEET_TEST_CACHE:-/var/cache/pgfleet-test}
BASE=$CACHE/bookworm-minbase

if [ "$(id -u)" != 0 ]; then
    fail "this test installs into a chroot: run it as root"
    pf_done
fi
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing; hint: scripts/install-deps.sh"

# The Dockerfile's steps are these scripts, so that this test tests the image's install too.
assert_eq "RUN scripts/install-deps.sh --package && scripts/package.sh /build && cp /build/pgfleet_*.deb /pgfleet.deb
RUN sh /tmp/install-deb.sh /tmp/pgfleet.deb && rm /tmp/pgfleet.deb /tmp/install-deb.sh" \
    "$(grep '^RUN ' "$SRC/Dockerfile")" "the Dockerfile builds with package.sh and installs with install-deb.sh"

# --- the .deb ------------------------------------------------------------------------------------
RC=0
DEB=$(bash "$SRC/scripts/package.sh" "$PF_TMP/build-deb") || RC=$?
assert_eq 0 "$RC" "scripts/package.sh built a .deb"
deps=$(dpkg-deb -f "$DEB" Depends)
for lib in libpq5 libyaml-0-2 libcjson1 libssh2-1 libssl3 libpg-query1504.0; do
    assert_contains "$deps" "$lib" "the .deb depends on Debian's $lib"
done
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/pgfleet ./usr/include/pgfleet/plugin.h ./usr/share/man/man1/pgfleet.1; do
    assert_contains "$files" "$f" "the .deb holds $f"
done
assert_contains "$files" "/pgfleet/plugins/exec.so" "the .deb holds the shipped plugins"

# --- a fresh Debian 12 root ----------------------------------------------------------------------
if [ ! -x "$BASE/bin/sh" ]; then
    # Debian's registry, as this machine's apt is configured to reach it.
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
    mkdir -p "$CACHE"
    rm -rf "$BASE.tmp"
    debootstrap --variant=minbase bookworm "$BASE.tmp" "$mirror" >"$PF_TMP/debootstrap.log" 2>&1 ||
        { tail -n 20 "$PF_TMP/debootstrap.log" >&2; fail "debootstrap failed"; pf_done; }
    mv "$BASE.tmp" "$BASE"
fi
ROOT=$PF_TMP/root
cp -a "$BASE" "$ROOT"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$ROOT/tmp/pgfleet.deb"
cp "$SRC/scripts/install-deb.sh" "$ROOT/tmp/install-deb.sh"
assert_eq "" "$(chroot "$ROOT" sh -c 'command -v pgfleet; ls /usr/lib/x86_64-linux-gnu/libpq.so.5 2>/dev/null' || true)" \
    "the fresh root has neither pgfleet nor libpq"

RC=0
chroot "$ROOT" sh /tmp/install-deb.sh /tmp/pgfleet.deb >"$PF_TMP/install.out" 2>"$PF_TMP/install.err" || RC=$?
assert_eq 0 "$RC" "install-deb.sh installed the .deb and its dependencies"
[ "$RC" = 0 ] || cat "$PF_TMP/install.err" >&2
in_root() { chroot "$ROOT" runuser -u pgfleet -- "$@"; }

RC=0
in_root pgfleet version >"$PF_TMP/version.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "pgfleet version runs there, as the pgfleet user"
assert_eq "pgfleet $(sed -n 's/^project(pgfleet VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")" \
    "$(head -n 1 "$PF_TMP/version.out")" "it is this version"
plugdir=$(sed -n 's/^plugins: //p' "$PF_TMP/version.out")
assert_eq "/usr/lib/x86_64-linux-gnu/pgfleet/plugins" "$plugdir" "the default plugin directory is the package's"
assert_eq "pgfleet.1" "$(ls "$ROOT/usr/share/man/man1" | grep pgfleet)" "the man page is installed"
assert_eq "t" "$([ -f "$ROOT/usr/include/pgfleet/plugin.h" ] && echo t)" "the plugin header is installed"

# --- one database, from inside the root, against this test's server (loopback is shared) --------
pg_createdb app
mkdir -p "$ROOT/home/pgfleet/app"
MIG=$ROOT/home/pgfleet/app/drizzle
mig_add "$MIG" 0000_items $((PF_WHEN0 + 1000)) 'CREATE TABLE "items" ("id" integer);'
# A plugin by bare name: the shipped exec.so, from the default plugin directory.
cat >"$ROOT/home/pgfleet/app/fleet.yaml" <<Y
migrations: {dir: ./drizzle}
plugins:
  - path: exec.so
    config: {events: [run_end], command: 'echo "run ended: \$PGFLEET_EXIT_CODE" >> /home/pgfleet/app/events'}
targets:
  - name: app
    dsn: postgresql://postgres@127.0.0.1:$PGPORT/app
Y
chroot "$ROOT" chown -R pgfleet /home/pgfleet/app
RC=0
in_root pgfleet apply --dsn "postgresql://postgres@127.0.0.1:$PGPORT/app" -m /home/pgfleet/app/drizzle \
    -f json -o /home/pgfleet/app/report.json >"$PF_TMP/apply.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "apply --dsn from the installed package: exit 0"
assert_eq "applied 0000_items" "$(jt "$ROOT/home/pgfleet/app/report.json" "127.0.0.1:$PGPORT/app" 't["outcome"] + " " + show(t["applied"])')" \
    "the report says 0000_items was applied"
assert_lines "$(file_hash "$MIG/0000_items.sql") $((PF_WHEN0 + 1000))" "$(ledger app)" \
    "the server's ledger holds it"
RC=0
in_root sh -c 'cd /home/pgfleet/app && pgfleet audit -i fleet.yaml -q' >"$PF_TMP/audit.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "audit with the plugin named exec.so: exit 0 (in sync)"
assert_eq "run ended: 0" "$(cat "$ROOT/home/pgfleet/app/events" 2>/dev/null)" \
    "exec.so was found in the default plugin directory and ran at run_end"

pf_done
