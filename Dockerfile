# pgfleet in a container (docs/deploy/container.md). Two stages: the .deb is built on debian:12
# by scripts/package.sh, then installed on debian:12-slim by scripts/install-deb.sh, with its
# libraries from Debian's packages. tests/integration/test_deb_install.sh runs each stage's RUN
# line as written here in a fresh Debian 12 root, so these steps are tested where no container
# runtime is; it fails if they stop calling those scripts.
#
#   docker build -t pgfleet .
#   docker run --rm -v "$PWD:/work:ro" -e DATABASE_URL pgfleet plan --dsn "$DATABASE_URL" -m drizzle
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh --package && scripts/package.sh /build && cp /build/pgfleet_*.deb /pgfleet.deb

FROM debian:12-slim
COPY --from=build /pgfleet.deb /tmp/pgfleet.deb
COPY scripts/install-deb.sh /tmp/install-deb.sh
RUN sh /tmp/install-deb.sh /tmp/pgfleet.deb && rm /tmp/pgfleet.deb /tmp/install-deb.sh
# The migrations folder and the inventory are mounted here; secrets come by environment
# (${VAR} in the inventory, PGPASSWORD, or a mounted .pgpass / PGPASSFILE).
WORKDIR /work
USER pgfleet
ENTRYPOINT ["pgfleet"]
CMD ["--help"]
