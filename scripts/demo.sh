#!/usr/bin/env bash
# Set up everything and run pgfleet on a small local fleet:
#   install what is missing, build, start a throwaway PostgreSQL in .demo/ with a staging and
#   three tenant databases (inventory/demo.yaml), and a throwaway OpenSSH sshd on loopback that
#   a fourth tenant is reached through (an SSH tunnel, docs/tunnels.md), then `pgfleet apply`
#   (a pg_dump of each database first: docs/backups.md) and `pgfleet audit`; after an index
#   added by hand, `pgfleet audit --drift`; then `pgfleet rollback` to 0001_projects
#   (docs/rollback.md) and `pgfleet apply` again.
# `scripts/demo.sh stop` stops the demo cluster and sshd, and removes .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/.demo
source tests/lib/pg.sh
PF_TMP=$demo # where tests/lib/sshd.sh keeps its servers: .demo/sshd-NAME
source tests/lib/sshd.sh

if [ "${1:-}" = stop ]; then
    pf_cluster_stop "$demo/cluster"
    [ -f "$demo/sshd-bastion/pid" ] && sshd_stop bastion
    rm -rf "$demo"
    echo "demo cluster and sshd stopped"
    exit 0
fi

bash scripts/install-deps.sh
bash scripts/build.sh
pgfleet=$root/build/pgfleet

if [ -f "$demo/port" ] && [ -f "$demo/cluster/pgdata/postmaster.pid" ]; then
    export PGHOST=127.0.0.1 PGPORT=$(cat "$demo/port") PGUSER=postgres PGDATABASE=postgres
    [ "$(pg_psql postgres "select count(*) from pg_database where datname = 'tenant_umbrella'")" = 1 ] ||
        pg_createdb tenant_umbrella
else
    rm -rf "$demo"
    mkdir -p "$demo"
    chmod 755 "$demo"
    pf_cluster_start "$demo/cluster"
    echo "$PGPORT" >"$demo/port"
    pg_createdb staging tenant_acme tenant_globex tenant_initech tenant_umbrella
fi
export PGFLEET_DEMO_PORT=$PGPORT
echo "demo PostgreSQL on 127.0.0.1:$PGPORT (data in .demo/; stop with: scripts/demo.sh stop)"

# An SSH bastion for tenant-umbrella: a local sshd with a throwaway host key and client key.
if ! { [ -f "$demo/sshd-bastion/pid" ] && kill -0 "$(sshd_pid bastion)" 2>/dev/null; }; then
    mkdir -p "$demo/ssh"
    ssh_key ed25519 "$demo/ssh/id_ed25519"
    sshd_start bastion
    sshd_authorize bastion "$demo/ssh/id_ed25519.pub"
    sshd_known_hosts_line bastion >"$demo/ssh/known_hosts"
fi
export PGFLEET_DEMO_SSH_PORT=$(sshd_port bastion) PGFLEET_DEMO_SSH_USER=$PF_SSH_USER
echo "demo sshd on 127.0.0.1:$PGFLEET_DEMO_SSH_PORT (tenant-umbrella goes via it)"
echo

echo "\$ pgfleet plan -i inventory/demo.yaml"
"$pgfleet" plan -i inventory/demo.yaml || true
echo
echo "\$ pgfleet apply -i inventory/demo.yaml"
"$pgfleet" apply -i inventory/demo.yaml
echo
echo "\$ pgfleet audit -i inventory/demo.yaml"
"$pgfleet" audit -i inventory/demo.yaml
echo
echo "\$ psql -d tenant_globex -c 'CREATE INDEX projects_name_idx ON projects (name)'   # a hot-fix by hand"
psql -X -q -d tenant_globex -c 'CREATE INDEX IF NOT EXISTS projects_name_idx ON projects (name)'
echo "\$ pgfleet audit -i inventory/demo.yaml --drift"
"$pgfleet" audit -i inventory/demo.yaml --drift || true
echo
# Back to 0001_projects with the fixture's down files (docs/rollback.md), then forward again:
# apply dumps each database first (backup in inventory/demo.yaml, docs/backups.md).
echo "\$ pgfleet rollback -i inventory/demo.yaml --to 0001_projects --yes"
"$pgfleet" rollback -i inventory/demo.yaml --to 0001_projects --yes
echo
echo "\$ pgfleet apply -i inventory/demo.yaml"
"$pgfleet" apply -i inventory/demo.yaml
echo
echo "Try it yourself:  export PGFLEET_DEMO_PORT=$PGPORT PGFLEET_DEMO_SSH_PORT=$PGFLEET_DEMO_SSH_PORT" \
    "PGFLEET_DEMO_SSH_USER=$PF_SSH_USER; build/pgfleet audit -i inventory/demo.yaml"
