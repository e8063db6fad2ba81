# The .deb on a fresh Debian 12 (docs/deploy/container.md), made and installed by the Dockerfile's
# own steps: its two RUN lines are run here as written, each in a fresh Debian 12 root made by
# debootstrap from Debian's packages, standing for its stage's image. The build stage's
# (scripts/install-deps.sh --package, then scripts/package.sh) runs in a root holding the tree as
# `COPY . .` copies it, less what .dockerignore leaves out; the runtime stage's
# (scripts/install-deb.sh: the .deb and its library dependencies from Debian, the user `pgfleet`)
# in another, with the .deb the first one made. So the image's steps are tested where no container
# runtime is, and the test fails if the Dockerfile stops calling those scripts. Then, there, as the
# unprivileged `pgfleet` user: `pgfleet version`, the man page, the plugin header, a plugin found
# by its bare name in the default plugin directory, and a one-database apply against this test's
# server.
#
# The root is made once and kept in $PGFLEET_TEST_CACHE (default /var/cache/pgfleet-test, never
# in the repository); each stage runs in a copy of it. Needs root (chroot) and debootstrap
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

# --- the Dockerfile ------------------------------------------------------------------------------
# Its RUN lines, one per stage, and the files its COPY lines give them.
mapfile -t RUNS < <(sed -n 's/^RUN //p' "$SRC/Dockerfile")
assert_eq 2 "${#RUNS[@]}" "the Dockerfile has two RUN lines, the build stage's and the runtime stage's"
assert_contains "${RUNS[0]:-}" "scripts/install-deps.sh --package && scripts/package.sh /build" \
    "the build stage installs what the build needs and builds the .deb with the scripts run here"
assert_contains "${RUNS[1]:-}" "sh /tmp/install-deb.sh /tmp/pgfleet.deb" \
    "the runtime stage installs it with scripts/install-deb.sh"
assert_eq "COPY . .
COPY --from=build /pgfleet.deb /tmp/pgfleet.deb
COPY scripts/install-deb.sh /tmp/install-deb.sh" "$(grep '^COPY ' "$SRC/Dockerfile")" \
    "the COPY lines are those this test does by hand"
assert_eq "WORKDIR /src" "$(grep -m 1 '^WORKDIR ' "$SRC/Dockerfile")" "the build stage runs in /src"
# run_stage ROOT DIR RUN: a stage's RUN line in ROOT, from DIR, in an environment as bare as an
# image's.
run_stage() {
    chroot "$1" env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        sh -c "cd $2 && $3"
}

# --- a fresh Debian 12 root, once ----------------------------------------------------------------
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

# --- the build stage: the .deb -------------------------------------------------------------------
BROOT=$PF_TMP/build-root
cp -a "$BASE" "$BROOT"
cp /etc/resolv.conf "$BROOT/etc/resolv.conf" 2>/dev/null || true
mkdir "$BROOT/src"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude=./.demo --exclude=node_modules \
    -cf - . | tar -C "$BROOT/src" -xf -
RC=0
run_stage "$BROOT" /src "${RUNS[0]:-false}" >"$PF_TMP/build-stage.out" 2>&1 || RC=$?
assert_eq 0 "$RC" "the build stage's RUN line built the .deb in a fresh Debian 12 root"
[ "$RC" = 0 ] || tail -n 40 "$PF_TMP/build-stage.out" >&2
DEB=$BROOT/pgfleet.deb
deps=$(dpkg-deb -f "$DEB" Depends)
for lib in libpq5 libyaml-0-2 libcjson1 libssh2-1 libssl3 libpg-query1504.0; do
    assert_contains "$deps" "$lib" "the .deb depends on Debian's $lib"
done
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/pgfleet ./usr/include/pgfleet/plugin.h ./usr/share/man/man1/pgfleet.1; do
    assert_contains "$files" "$f" "the .deb holds $f"
done
assert_contains "$files" "/pgfleet/plugins/exec.so" "the .deb holds the shipped plugins"

# --- the runtime stage: the .deb installed -------------------------------------------------------
ROOT=$PF_TMP/root
cp -a "$BASE" "$ROOT"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$ROOT/tmp/pgfleet.deb"
cp "$SRC/scripts/install-deb.sh" "$ROOT/tmp/install-deb.sh"
rm -rf "$BROOT"
assert_eq "" "$(chroot "$ROOT" sh -c 'command -v pgfleet; ls /usr/lib/x86_64-linux-gnu/libpq.so.5 2>/dev/null' || true)" \
    "the fresh root has neither pgfleet nor libpq"

RC=0
run_stage "$ROOT" / "${RUNS[1]:-false}" >"$PF_TMP/install.out" 2>"$PF_TMP/install.err" || RC=$?
assert_eq 0 "$RC" "the runtime stage's RUN line installed the .deb and its dependencies"
[ "$RC" = 0 ] || cat "$PF_TMP/install.err" >&2
assert_eq "" "$(ls "$ROOT/tmp/pgfleet.deb" "$ROOT/tmp/install-deb.sh" 2>/dev/null)" \
    "and removed what the image does not keep"
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
