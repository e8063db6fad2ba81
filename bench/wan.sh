#!/usr/bin/env bash
# Benchmark: pgfleet against the floor (bench/floor.c: connect, the whole SQL in one query,
# disconnect) and against drizzle-orm's migrator (pinned in tests/interop, run in parallel from
# one node process, bench/drizzle_fleet.mjs), in one run, on loopback and through a local proxy
# that delays every chunk DELAY ms each way (tests/lib/delay_proxy.py):
#   1. apply of a fixture (FIXTURE: tests/fixtures/saas, drizzle-kit's output for a 9-migration SaaS
#      app, 68 statements) to N fresh databases, JOBS at a time, per delay;
#   2. audit of those N databases, in sync, at the largest delay, against connect + `select 1`;
#   3. audit of AUDIT_N in-sync databases on loopback, against connect + one ledger select;
#   4. a folder of MANY migrations applied to one fresh database, per delay, by pgfleet, the
#      floor and drizzle.
# Prints wall-clock times and ratios (pgfleet/floor, drizzle/pgfleet), the client's turns per
# connection the proxy counted (start-up included), and for apply the server's CPU time per
# database each run cost it; asserts nothing.
# Usage: bench/wan.sh   (env: N=100 JOBS=8 DELAYS="0 10 25" AUDIT_N=1000 MANY=150 FIXTURE=saas REPEAT=2
#                        AUDIT_ROUNDS=5 PARTS="apply audit many"
#                        PGFLEET=build-rel/pgfleet, a Release build: the sanitizers distort times;
#                        PF_TMPDIR=/dev/shm puts the cluster in memory, out of the disk's way)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100}
JOBS=${JOBS:-8}
DELAYS=${DELAYS:-"0 10 25"}
AUDIT_N=${AUDIT_N:-1000}
MANY=${MANY:-150}
REPEAT=${REPEAT:-2} # apply runs per tool and delay, on fresh databases each time: the best is printed
# Interleaved runs of each tool in part 3, the best printed: a run costs a few milliseconds per
# database, and on a shared 2-core machine two runs of the same tool differ by up to a fifth.
AUDIT_ROUNDS=${AUDIT_ROUNDS:-5}
FIXTURE=${FIXTURE:-saas} # a folder of tests/fixtures
PARTS=${PARTS:-"apply audit many"} # which of the parts to run
PGFLEET_BIN=${PGFLEET:-$PWD/build-rel/pgfleet}
[ -x "$PGFLEET_BIN" ] || {
    echo "no $PGFLEET_BIN: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target pgfleet" >&2
    exit 2
}
bash tests/interop/setup.sh >/dev/null
source tests/lib/pg.sh
pg_start
# No autovacuum: its workers visit each of the hundreds of databases created here, starting a
# backend and reading its catalogs cold in each, which costs whichever run comes first.
psql -X -q -d postgres -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
cp "$PGFLEET_BIN" "$PF_TMP/pgfleet" # a rebuild while the bench runs must not change what it measures
PGFLEET=$PF_TMP/pgfleet
FLOOR=$PF_TMP/floor
cc -O2 -o "$FLOOR" bench/floor.c -I"$(pg_config --includedir)" -lpq -lpthread
PROXY_PIDS=()
PF_CLEANUP_HOOK='for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null; done'
set +e

mig=$PWD/tests/fixtures/$FIXTURE/drizzle
[ -d "$mig" ] || {
    echo "no fixture $mig" >&2
    exit 2
}
n_mig=$(ls "$mig"/*.sql | wc -l)
now() { date +%s.%N; }
ratio() { echo "scale=2; $1 / $2" | bc; }
secs() { printf "%.2f" "$1"; }

# The floor's SQL for a folder: drizzle's ledger DDL, then one transaction with every chunk
# and every ledger insert, as one query string (what pgfleet's batch holds, without its markers
# and read-back).
cat >"$PF_TMP/floor_sql.py" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
print('CREATE SCHEMA IF NOT EXISTS "drizzle";')
print('CREATE TABLE IF NOT EXISTS "drizzle"."__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);')
print("BEGIN;")
for e in json.load(open(f"{d}/meta/_journal.json"))["entries"]:
    raw = open(f"{d}/{e['tag']}.sql", "rb").read()
    for chunk in raw.decode().split("--> statement-breakpoint"):
        print(chunk)
        print(";")
    print(f"""insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values ('{hashlib.sha256(raw).hexdigest()}', {e['when']});""")
print("COMMIT;")
PY
python3 "$PF_TMP/floor_sql.py" "$mig" >"$PF_TMP/floor.sql"
echo 'select id, hash, created_at from "drizzle"."__drizzle_migrations" order by created_at desc limit 1' >"$PF_TMP/ledger.sql"

# A proxy per delay (none for 0: loopback), each counting its connections' turns in a file.
declare -A PORT TRIPS
for d in $DELAYS; do
    if [ "$d" = 0 ]; then
        PORT[$d]=$PGPORT
        continue
    fi
    PORT[$d]=$(pf_free_port)
    TRIPS[$d]=$PF_TMP/trips_$d
    python3 tests/lib/delay_proxy.py "${PORT[$d]}" "$PGPORT" "$d" "${TRIPS[$d]}" &
    PROXY_PIDS+=($!)
done
sleep 0.5

createdbs() { # PREFIX COUNT [TEMPLATE]
    for i in $(seq 1 "$2"); do echo "CREATE DATABASE $1_$i${3:+ TEMPLATE $3};"; done |
        psql -X -q -d postgres >/dev/null
}
dsns() { # PREFIX COUNT PORT [OPTIONS]
    for i in $(seq 1 "$2"); do echo "postgresql://postgres@127.0.0.1:$3/$1_$i${4:+?$4}"; done
}
mkinv() { # FILE FOLDER PREFIX COUNT PORT
    cat >"$1" <<Y
migrations: {dir: $2}
defaults: {connect_timeout: 60s}
targets:
  - name: \${each}
    for_each: [$(seq -f "$3_%g" 1 "$4" | paste -sd, -)]
    dsn: postgresql://postgres@127.0.0.1:$5/\${each}
Y
}
# Run COMMAND..., set T to its wall-clock seconds and RC to its exit code. A checkpoint first:
# creating databases and migrating them writes WAL that the server would otherwise flush during
# whichever run comes next.
T=0
RC=0
declare -A BEST=() # the least T per key of the part being run: keep_best KEY after each run
keep_best() {
    [ -n "${BEST[$1]:-}" ] && [ "$(echo "$T >= ${BEST[$1]}" | bc)" = 1 ] || BEST[$1]=$T
}
timed() {
    local t0
    psql -X -q -d postgres -c CHECKPOINT >/dev/null
    t0=$(now)
    "$@" >"$PF_TMP/last.out" 2>"$PF_TMP/last.err"
    RC=$?
    T=$(echo "$(now) - $t0" | bc)
    [ "$RC" = 0 ] || echo "  ($1 ... exited $RC: $(head -c 300 "$PF_TMP/last.err"))" >&2
}
# Mean round_trips of the targets of the JSON report FILE.
report_trips() {
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["targets"]; print("%.1f" % (sum(x["round_trips"] for x in t) / len(t)))' "$1" 2>/dev/null || echo "?"
}
# The proxy's count for delay D since the last call: mean client turns per connection, and how
# many connections asked for SSL first.
turns() {
    local f=${TRIPS[$1]:-}
    [ -z "$f" ] || sleep 0.3 # the proxy writes a line once both sides closed
    if [ -z "$f" ] || [ ! -s "$f" ]; then
        echo "-"
        return
    fi
    awk '{ t += $1; if ($2 ~ /ssl/) s++ } END { printf "%.1f turns/conn, %d/%d asked for SSL", t / NR, s, NR }' "$f"
    : >"$f"
}

echo "$("$PGFLEET" --version 2>/dev/null | head -1), PostgreSQL $(pg_psql postgres 'show server_version'), $(nproc) cores, $(uname -m)"
echo "fixture: tests/fixtures/$FIXTURE ($n_mig migrations, $(cat "$mig"/*.sql | grep -c 'statement-breakpoint') breakpoints), $N fresh databases, -j $JOBS"
echo "floor: connect + the whole SQL in one query + disconnect, $JOBS threads; with the same dsn as"
echo "pgfleet (libpq asks the server for SSL first), and with sslmode=disable (it does not)"
# The CPU time (in clock ticks) of the server's processes that have exited: the postmaster's
# children's (/proc/PID/stat fields 16 and 17), which a run's backends join once they are gone.
PM_PID=$(head -1 "$PF_TMP/cluster/pgdata/postmaster.pid")
server_ticks() { awk '{print $16 + $17}' "/proc/$PM_PID/stat"; }
TICK_MS=$((1000 / $(getconf CLK_TCK)))

# apply_run TOOL SET PORT: one timed apply of the fixture to the N databases SET_*, by pgfleet,
# the floor (plain dsn), the floor with sslmode=disable or drizzle; T its time, SRV the server's
# CPU time for it in ms per database.
apply_run() {
    local dbs c0
    c0=$(server_ticks)
    case $1 in
    pf)
        mkinv "$PF_TMP/$2.yaml" "$mig" "$2" "$N" "$3"
        timed "$PGFLEET" apply -q -j "$JOBS" -i "$PF_TMP/$2.yaml" -f json -o "$PF_TMP/$2.json"
        ;;
    fl | flns)
        mapfile -t dbs < <(dsns "$2" "$N" "$3" ${4:+"$4"})
        timed "$FLOOR" "$JOBS" "$PF_TMP/floor.sql" "${dbs[@]}"
        ;;
    dz)
        mapfile -t dbs < <(dsns "$2" "$N" "$3")
        timed node bench/drizzle_fleet.mjs "$JOBS" "$mig" "${dbs[@]}"
        ;;
    esac
    sleep 0.3 # the backends' exits reaped
    SRV=$((($(server_ticks) - c0) * TICK_MS / N))
    rows=$(pg_psql "$2_$N" 'select count(*) from drizzle.__drizzle_migrations' 2>/dev/null)
    [ "$rows" = "$n_mig" ] || echo "  ($2_$N: $rows ledger rows, not $n_mig)" >&2
    for i in $(seq 1 "$N"); do echo "DROP DATABASE $2_$i;"; done | psql -X -q -d postgres >/dev/null
}
if [[ " $PARTS " == *" apply "* ]]; then
    echo
    echo "apply, $N fresh databases, the best of $REPEAT runs each (interleaved, the order reversed every other time)"
    printf "%-7s %9s %9s %9s %9s %7s %7s %7s   %s\n" "delay" "pgfleet" "floor" "fl,nossl" "drizzle" \
        "pf/fl" "pf/flns" "dz/pf" "pgfleet: round_trips, proxy turns"
fi
for d in $DELAYS; do
    [[ " $PARTS " == *" apply "* ]] || break
    p=${PORT[$d]}
    BEST=()
    declare -A CPU=()
    trips_pf=
    for rep in $(seq 1 "$REPEAT"); do
        order="pf fl flns dz"
        [ $((rep % 2)) = 1 ] || order="dz flns fl pf"
        for tool in $order; do
            set=$tool${d}r$rep
            createdbs "$set" "$N"
            apply_run "$tool" "$set" "$p" $([ "$tool" = flns ] && echo sslmode=disable)
            turns=$(turns "$d") # read (and reset) after every run
            [ "$tool" != pf ] || [ -n "$trips_pf" ] || trips_pf="$(report_trips "$PF_TMP/$set.json"); $turns"
            keep_best "$tool"
            CPU[$tool]="${CPU[$tool]:-}${CPU[$tool]:+ }$SRV"
        done
    done
    printf "%-7s %8ss %8ss %8ss %8ss %7s %7s %7s   %s\n" "+${d}ms" "$(secs "${BEST[pf]}")" \
        "$(secs "${BEST[fl]}")" "$(secs "${BEST[flns]}")" "$(secs "${BEST[dz]}")" \
        "$(ratio "${BEST[pf]}" "${BEST[fl]}")" "$(ratio "${BEST[pf]}" "${BEST[flns]}")" \
        "$(ratio "${BEST[dz]}" "${BEST[pf]}")" "$trips_pf"
    printf "%-7s server CPU per database, ms, each run: pgfleet %s; floor %s; floor without SSL %s; drizzle %s\n" \
        "" "${CPU[pf]}" "${CPU[fl]}" "${CPU[flns]}" "${CPU[dz]}"
done

if [[ " $PARTS " == *" audit "* ]]; then
    echo
    printf "%-46s %9s %9s %9s %7s %7s   %s\n" "audit, in-sync databases" "pgfleet" "floor" "fl,nossl" \
        "pf/fl" "pf/flns" "pgfleet: round_trips, proxy turns"
    # In-sync copies of a database pgfleet migrated.
    createdbs tpl 1
    mkinv "$PF_TMP/tpl.yaml" "$mig" tpl 1 "$PGPORT"
    "$PGFLEET" apply -q -i "$PF_TMP/tpl.yaml" >/dev/null || echo "  (apply of the template failed)" >&2
    dmax=${DELAYS##* }
    createdbs "aw" "$N" tpl_1
    mkinv "$PF_TMP/aw.yaml" "$mig" aw "$N" "${PORT[$dmax]}"
    timed "$PGFLEET" audit -q -j "$JOBS" -i "$PF_TMP/aw.yaml" -f json -o "$PF_TMP/aw.json"
    t_pf=$T
    trips_pf=$(turns "$dmax")
    # the floor's databases are the same ones: the audit's have been read once already
    mapfile -t a < <(dsns aw "$N" "${PORT[$dmax]}")
    mapfile -t b < <(dsns aw "$N" "${PORT[$dmax]}" sslmode=disable)
    timed "$FLOOR" "$JOBS" - "${a[@]}"
    FL=$T
    timed "$FLOOR" "$JOBS" - "${b[@]}"
    FLNS=$T
    turns "$dmax" >/dev/null
    printf "%-46s %8ss %8ss %8ss %7s %7s   %s; %s\n" "$N at +${dmax}ms, floor: connect + select 1" \
        "$(secs "$t_pf")" "$(secs "$FL")" "$(secs "$FLNS")" "$(ratio "$t_pf" "$FL")" \
        "$(ratio "$t_pf" "$FLNS")" "$(report_trips "$PF_TMP/aw.json")" "$trips_pf"

    createdbs au "$AUDIT_N" tpl_1
    mkinv "$PF_TMP/au.yaml" "$mig" au "$AUDIT_N" "$PGPORT"
    mapfile -t a < <(dsns au "$AUDIT_N" "$PGPORT")
    mapfile -t b < <(dsns au "$AUDIT_N" "$PGPORT" sslmode=disable)
    timed "$FLOOR" "$JOBS" "$PF_TMP/ledger.sql" "${a[@]}" # once, to read every database once
    BEST=()
    declare -A RUNS=()
    for _ in $(seq 1 "$AUDIT_ROUNDS"); do # interleaved, the best of each: the machine is shared
        timed "$PGFLEET" audit -q -j "$JOBS" -i "$PF_TMP/au.yaml" -f json -o "$PF_TMP/au.json"
        keep_best pf
        RUNS[pf]+=" $(secs "$T")"
        timed "$FLOOR" "$JOBS" "$PF_TMP/ledger.sql" "${a[@]}"
        keep_best fl
        RUNS[fl]+=" $(secs "$T")"
        timed "$FLOOR" "$JOBS" "$PF_TMP/ledger.sql" "${b[@]}"
        keep_best flns
        RUNS[flns]+=" $(secs "$T")"
    done
    printf "%-46s %8ss %8ss %8ss %7s %7s   %s\n" "$AUDIT_N on loopback, floor: connect + ledger select" \
        "$(secs "${BEST[pf]}")" "$(secs "${BEST[fl]}")" "$(secs "${BEST[flns]}")" \
        "$(ratio "${BEST[pf]}" "${BEST[fl]}")" "$(ratio "${BEST[pf]}" "${BEST[flns]}")" \
        "$(report_trips "$PF_TMP/au.json")"
    printf "%-46s pgfleet%s; floor%s; floor without SSL%s\n" "  each run, s:" "${RUNS[pf]}" \
        "${RUNS[fl]}" "${RUNS[flns]}"
fi
[[ " $PARTS " == *" many "* ]] || exit 0

# A folder of MANY migrations, each a table, an index and a foreign key to the previous table
# (what drizzle-kit writes for such a schema), applied to one fresh database.
many=$PF_TMP/many
mkdir -p "$many/meta"
python3 - "$many" "$MANY" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
entries = []
for i in range(n):
    tag = f"{i:04d}_step_{i}"
    stmts = [f'CREATE TABLE "t{i}" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"prev_id" integer,\n\t"name" text NOT NULL\n);\n']
    stmts.append(f'CREATE INDEX "t{i}_name_idx" ON "t{i}" USING btree ("name");')
    if i:
        stmts.append(f'ALTER TABLE "t{i}" ADD CONSTRAINT "t{i}_prev_id_t{i-1}_id_fk" FOREIGN KEY ("prev_id") REFERENCES "public"."t{i-1}"("id") ON DELETE no action ON UPDATE no action;')
    open(f"{d}/{tag}.sql", "w").write("--> statement-breakpoint\n".join(stmts))
    entries.append({"idx": i, "version": "7", "when": 1700000000000 + i * 1000, "tag": tag, "breakpoints": True})
json.dump({"version": "7", "dialect": "postgresql", "entries": entries}, open(f"{d}/meta/_journal.json", "w"), indent=2)
PY
python3 "$PF_TMP/floor_sql.py" "$many" >"$PF_TMP/many.sql"
echo
echo "$MANY migrations ($(($(cat "$many"/*.sql | grep -c 'statement-breakpoint') + MANY)) statements), one fresh database; pgfleet and the floors the best of $REPEAT runs"
printf "%-7s %9s %9s %9s %9s %7s %7s %7s %7s\n" "delay" "pgfleet" "floor" "fl,nossl" "drizzle" "pf/fl" \
    "pf/flns" "dz/pf" "dz/fl"
for d in $DELAYS; do
    p=${PORT[$d]}
    BEST=()
    for rep in $(seq 1 "$REPEAT"); do
        order="pf fl flns"
        [ $((rep % 2)) = 1 ] || order="flns fl pf"
        for tool in $order; do
            set=m$tool${d}r$rep
            createdbs "$set" 1
            case $tool in
            pf)
                mkinv "$PF_TMP/$set.yaml" "$many" "$set" 1 "$p"
                timed "$PGFLEET" apply -q -i "$PF_TMP/$set.yaml"
                ;;
            fl) timed "$FLOOR" 1 "$PF_TMP/many.sql" "$(dsns "$set" 1 "$p")" ;;
            flns) timed "$FLOOR" 1 "$PF_TMP/many.sql" "$(dsns "$set" 1 "$p" sslmode=disable)" ;;
            esac
            turns "$d" >/dev/null
            keep_best "$tool"
        done
    done
    createdbs "mdz$d" 1
    timed node bench/drizzle_fleet.mjs 1 "$many" "$(dsns "mdz$d" 1 "$p")"
    BEST[dz]=$T
    turns "$d" >/dev/null
    printf "%-7s %8ss %8ss %8ss %8ss %7s %7s %7s %7s\n" "+${d}ms" "$(secs "${BEST[pf]}")" \
        "$(secs "${BEST[fl]}")" "$(secs "${BEST[flns]}")" "$(secs "${BEST[dz]}")" \
        "$(ratio "${BEST[pf]}" "${BEST[fl]}")" "$(ratio "${BEST[pf]}" "${BEST[flns]}")" \
        "$(ratio "${BEST[dz]}" "${BEST[pf]}")" "$(ratio "${BEST[dz]}" "${BEST[fl]}")"
done
