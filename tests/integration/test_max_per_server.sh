# max_per_server (docs/inventory.md): two PostgreSQL servers, 12 databases on each, listed one
# server after the other, applied with -j 8 and max_per_server: 3. Each database's migration
# samples, from the server side, how many pgfleet sessions its server has (pg_stat_activity,
# by application_name) at its start, in its middle and at its end, with the time, into a table
# of its own. Then:
#   - no sample on either server counts more than 3 pgfleet sessions, and each server reached 3
#     (8 workers, 2 x 3 places: both full at once);
#   - the two servers were used at the same time (a migration on one ran while one ran on the
#     other), though every target of the first server comes first in the file;
#   - the same fleet without the cap (max_per_server 0: the default 16, more than -j) puts more
#     than 3 sessions on the first server: the samples can see a broken cap;
#   - tenant schemas of one database share its server's cap, kept connections included: 10
#     tenants, -j 6, max_per_server 2 never have more than 2 sessions on their server.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
PORT_A=$PGPORT
pf_cluster_start "$PF_TMP/second"
PORT_B=$PGPORT
export PGPORT=$PORT_A
PF_CLEANUP_HOOK='pf_cluster_stop "$PF_TMP/second"; pf_bg_cleanup'

APP=pgfleet-cap
N=12
on() { # PORT DB SQL: pg_psql on the server at PORT
    local port=$1
    shift
    PGPORT=$port pg_psql "$@"
}

# A migration that samples its server's pgfleet sessions three times, 0.3 s apart.
SAMPLE="SELECT pg_stat_clear_snapshot();
--> statement-breakpoint
INSERT INTO seen SELECT clock_timestamp(), count(*) FROM pg_stat_activity WHERE application_name = '$APP'"
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_sample $PF_WHEN0 \
    "CREATE TABLE seen (at timestamptz NOT NULL, sessions int NOT NULL)" \
    "$SAMPLE" "SELECT pg_sleep(0.3)" "$SAMPLE" "SELECT pg_sleep(0.3)" "$SAMPLE"

# fleet FILE CAP: every database of server A, then every database of server B.
fleet() {
    {
        echo "migrations: {dir: \"$MIG\"}"
        echo "defaults: {application_name: $APP, max_per_server: $2}"
        echo "targets:"
        for s in A B; do
            local port=$PORT_A
            [ "$s" = A ] || port=$PORT_B
            echo "  - name: $s-\${each}"
            echo "    for_each: [$(seq -s, 1 "$N")]"
            echo "    dsn: \"postgresql://postgres@127.0.0.1:$port/db_\${each}\""
        done
    } >"$1"
}

createdbs() {
    local port i
    for port in $PORT_A $PORT_B; do
        for i in $(seq 1 "$N"); do
            on "$port" postgres "CREATE DATABASE db_$i" >/dev/null
        done
    done
}

# Back to before the migration, in every database.
unapply() {
    local port i
    for port in $PORT_A $PORT_B; do
        for i in $(seq 1 "$N"); do
            on "$port" "db_$i" "DROP SCHEMA drizzle CASCADE; DROP TABLE seen" >/dev/null 2>&1
        done
    done
}

# most PORT: the largest sample taken on that server; spans PORT: "start end" per database.
most() {
    local port=$1 i m=0 x
    for i in $(seq 1 "$N"); do
        x=$(on "$port" "db_$i" "SELECT max(sessions) FROM seen")
        [ "$x" -gt "$m" ] && m=$x
    done
    echo "$m"
}
spans() {
    local port=$1 i
    for i in $(seq 1 "$N"); do
        on "$port" "db_$i" "SELECT extract(epoch FROM min(at)) || ' ' || extract(epoch FROM max(at)) FROM seen"
    done
}

createdbs
fleet "$PF_TMP/capped.yaml" 3
pf capped apply -j 8 -i "$PF_TMP/capped.yaml" -f json
assert_eq 0 "$RC" "capped apply: exit 0 (stderr: $(head -c 300 "$PF_TMP/capped.err"))"
assert_eq "applied" "$(jtargets "$PF_TMP/capped.out" 't["outcome"]' | cut -d' ' -f2 | sort -u)" \
    "capped apply: every target applied"
assert_eq 3 "$(most "$PORT_A")" "capped: server A had at most 3 pgfleet sessions, and 3 at once"
assert_eq 3 "$(most "$PORT_B")" "capped: server B had at most 3 pgfleet sessions, and 3 at once"
spans "$PORT_A" >"$PF_TMP/spans_a"
spans "$PORT_B" >"$PF_TMP/spans_b"
overlap=$("$PF_PY" - "$PF_TMP/spans_a" "$PF_TMP/spans_b" <<'PY'
import sys
a = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
b = [tuple(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
print(sum(1 for x in a for y in b if x[0] < y[1] and y[0] < x[1]))
PY
)
if [ "$overlap" -gt 0 ]; then
    pass "capped: migrations on server A and on server B ran at the same time ($overlap pairs)"
else
    fail "capped: no migration on server B ran while one ran on server A"
fi

# Without the cap (0: the default, 16, is more than -j): server A's targets come first, and
# more than 3 of them run at once.
unapply
fleet "$PF_TMP/uncapped.yaml" 0
pf uncapped apply -j 8 -i "$PF_TMP/uncapped.yaml" -f json
assert_eq 0 "$RC" "uncapped apply: exit 0 (stderr: $(head -c 300 "$PF_TMP/uncapped.err"))"
m=$(most "$PORT_A")
if [ "$m" -gt 3 ]; then
    pass "uncapped: server A had $m pgfleet sessions at once: the samples see it"
else
    fail "uncapped: server A had only $m pgfleet sessions at once; the test cannot see a broken cap"
fi

# Tenant schemas of one database on server B: one server, kept connections counted.
on "$PORT_B" postgres "CREATE DATABASE tenants" >/dev/null
TMIG=$PF_TMP/tenant_drizzle
mig_add "$TMIG" 0000_sample $PF_WHEN0 \
    "CREATE TABLE \"public\".\"seen\" (at timestamptz NOT NULL, sessions int NOT NULL)" \
    "SELECT pg_stat_clear_snapshot()" \
    "INSERT INTO \"public\".\"seen\" SELECT clock_timestamp(), count(*) FROM pg_stat_activity WHERE application_name = '$APP'" \
    "SELECT pg_sleep(0.2)" \
    "SELECT pg_stat_clear_snapshot()" \
    "INSERT INTO \"public\".\"seen\" SELECT clock_timestamp(), count(*) FROM pg_stat_activity WHERE application_name = '$APP'"
cat >"$PF_TMP/tenants.yaml" <<Y
migrations: {dir: "$TMIG"}
defaults: {application_name: $APP, max_per_server: 2, create_schema: true}
targets:
  - name: tenant-\${each}
    for_each: [$(seq -s, 1 10)]
    dsn: "postgresql://postgres@127.0.0.1:$PORT_B/tenants"
    schema: "t_\${each}"
Y
pf tenants apply -j 6 -i "$PF_TMP/tenants.yaml" -f json
assert_eq 0 "$RC" "tenants apply: exit 0 (stderr: $(head -c 300 "$PF_TMP/tenants.err"))"
tm=$(on "$PORT_B" tenants "SELECT max(sessions) FROM (SELECT sessions FROM t_1.seen$(for i in $(seq 2 10); do printf ' UNION ALL SELECT sessions FROM t_%d.seen' "$i"; done)) s")
assert_eq 2 "$tm" "tenants: at most 2 pgfleet sessions on their server, and 2 at once"
connections=$(jget "$PF_TMP/tenants.out" 'd["connections"]')
if [ "$connections" -lt 10 ]; then
    pass "tenants: $connections connections for 10 tenants (kept connections still serve them)"
else
    fail "tenants: $connections connections for 10 tenants: none was kept for the next tenant"
fi

pf_done
