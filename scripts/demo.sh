#!/usr/bin/env bash
# Set up everything and run pgfleet on a small local fleet:
#   install what is missing, build, start a throwaway PostgreSQL in .demo/ with a staging and
#   three tenant databases (inventory/demo.yaml), then `pgfleet apply` and `pgfleet audit`.
# `scripts/demo.sh stop` stops the demo cluster and removes .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/.demo
source tests/lib/pg.sh

if [ "${1:-}" = stop ]; then
    pf_cluster_stop "$demo/cluster"
    rm -rf "$demo"
    echo "demo cluster stopped"
    exit 0
fi

bash scripts/install-deps.sh
bash scripts/build.sh
pgfleet=$root/build/pgfleet

if [ -f "$demo/port" ] && [ -f "$demo/cluster/pgdata/postmaster.pid" ]; then
    export PGHOST=127.0.0.1 PGPORT=$(cat "$demo/port") PGUSER=postgres PGDATABASE=postgres
else
    rm -rf "$demo"
    mkdir -p "$demo"
    chmod 755 "$demo"
    pf_cluster_start "$demo/cluster"
    echo "$PGPORT" >"$demo/port"
    pg_createdb staging tenant_acme tenant_globex tenant_initech
fi
export PGFLEET_DEMO_PORT=$PGPORT
echo "demo PostgreSQL on 127.0.0.1:$PGPORT (data in .demo/; stop with: scripts/demo.sh stop)"
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
echo "Try it yourself:  export PGFLEET_DEMO_PORT=$PGPORT; build/pgfleet audit -i inventory/demo.yaml"
