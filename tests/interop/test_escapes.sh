#!/usr/bin/env bash
# Migrations that leave drizzle's transaction themselves (a chunk `COMMIT;` before CREATE INDEX
# CONCURRENTLY, a CALL of a procedure that commits in batches, a chunk that opens a transaction
# again): what every database holds after pgfleet equals what it holds after drizzle-orm
# 0.45.4's migrator on a twin database, on success and with a failing chunk injected at every
# position (before the escape, on it, right after it, later in the same migration, in a later
# migration), in both transaction modes:
#   transaction: all          twin = one drizzle run over the whole folder;
#   transaction: per-migration twin = one drizzle run per journal prefix (each migration in a
#                              transaction of its own), stopping at the first failure.
# Compared: pg_dump --schema-only, the ledger rows (hash, created_at), the rows the procedure
# filled; and the report: the exit code, `applied` in JSON equals the rows the ledger gained,
# the failure names the migration and statement and says what stayed applied.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

W0=1700000000000
BP='--> statement-breakpoint'

# mkmig DIR IDX TAG CHUNK... : DIR/TAG.sql with the chunks joined by breakpoints, and its entry.
mkmig() {
    local dir=$1 idx=$2 tag=$3 sql=""
    shift 3
    mkdir -p "$dir/meta"
    [ -f "$dir/meta/_journal.json" ] ||
        echo '{"version":"7","dialect":"postgresql","entries":[]}' >"$dir/meta/_journal.json"
    local c first=1
    for c in "$@"; do
        if [ $first = 1 ]; then sql=$c; first=0; else sql+="$BP"$'\n'"$c"; fi
    done
    printf '%s\n' "$sql" >"$dir/$tag.sql"
    jq --arg t "$tag" --argjson i "$idx" --argjson w $((W0 + idx * 1000)) \
        '.entries += [{idx: $i, version: "7", when: $w, tag: $t, breakpoints: true}]' \
        "$dir/meta/_journal.json" >"$dir/meta/j.tmp" && mv "$dir/meta/j.tmp" "$dir/meta/_journal.json"
}

BASE_T='CREATE TABLE "t" ("id" serial PRIMARY KEY, "v" int NOT NULL);'
BASE_ROWS='INSERT INTO "t" ("v") SELECT g FROM generate_series(1, 50) g;'
# Commits after each batch of rows: only possible when CALL runs outside a transaction block.
BASE_PROC='CREATE PROCEDURE "fill_w"() LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 0..4 LOOP
    UPDATE "t" SET "w" = "v" * 2 WHERE "id" % 5 = i;
    COMMIT;
  END LOOP;
END $$;'
ESC=(
    'ALTER TABLE "t" ADD COLUMN "w" int;'
    'COMMIT;'
    'CREATE INDEX CONCURRENTLY "t_w_idx" ON "t" ("w");'
    'CALL "fill_w"();'
    'ALTER TABLE "t" ADD COLUMN "x" int;'
)
LATER=(
    'CREATE TABLE "u" ("id" int, "t_id" int);'
    'BEGIN;'
    'ALTER TABLE "u" ADD COLUMN "note" text;'
    'CREATE INDEX "u_id_idx" ON "u" ("id");'
)
BAD='SELECT pgfleet_no_such_function();'

# variant NAME [WHERE POS]: the folder with the failing chunk BAD inserted in migration WHERE
# (1 = the escaping one, 2 = the later one) before chunk POS (0-based), or "on" (the escape
# chunk itself fails after committing).
variant() {
    local name=$1 where=${2:-} pos=${3:-} dir=$PF_TMP/$1
    local -a esc=("${ESC[@]}") later=("${LATER[@]}")
    if [ "$where" = 1 ] && [ "$pos" = on ]; then
        esc[1]=$'COMMIT;\n'"$BAD"
    elif [ "$where" = 1 ]; then
        esc=("${esc[@]:0:pos}" "$BAD" "${esc[@]:pos}")
    elif [ "$where" = 2 ]; then
        later=("${later[@]:0:pos}" "$BAD" "${later[@]:pos}")
    fi
    mkmig "$dir" 0 0000_base "$BASE_T" "$BASE_ROWS" "$BASE_PROC"
    mkmig "$dir" 1 0001_escape "${esc[@]}"
    mkmig "$dir" 2 0002_later "${later[@]}"
    echo "$dir"
}

state() { # what a database holds: schema, ledger, the procedure's rows
    dump_schema "$1"
    echo "-- ledger"
    pg_psql "$1" "select hash, created_at from drizzle.__drizzle_migrations order by id" 2>/dev/null || echo "no ledger"
    echo "-- rows"
    pg_psql "$1" "select count(*), count(w) from t" 2>/dev/null || echo "no t"
    pg_psql "$1" "select indisvalid from pg_index where indexrelid = 'public.t_w_idx'::regclass" 2>/dev/null || echo "no index"
}

ledger_tags() { # the tags of DIR whose `when` is in DB's ledger, in ledger order
    local db=$1 dir=$2 w
    for w in $(pg_psql "$db" "select created_at from drizzle.__drizzle_migrations order by id" 2>/dev/null); do
        jq -r --argjson w "$w" '.entries[] | select(.when == $w) | .tag' "$dir/meta/_journal.json"
    done | jq -R . | jq -sc .
}

n=0
check() { # check MODE NAME [WHERE POS]
    local mode=$1 name=$2 dir dz pf_db drc=0 k
    dir=$(variant "$mode-$name" "${@:3}")
    n=$((n + 1))
    dz=dz_$n pf_db=pf_$n
    pg_createdb "$dz" "$pf_db"
    if [ "$mode" = all ]; then
        drz "$dz" "$dir" >/dev/null 2>&1 || drc=$?
    else
        for k in 1 2 3; do
            journal_prefix "$dir" "$PF_TMP/prefix-$n-$k" "$k"
            drz "$dz" "$PF_TMP/prefix-$n-$k" >/dev/null 2>&1 || { drc=$?; break; }
        done
    fi
    local tx=all
    [ "$mode" = per ] && tx=per-migration
    cat >"$PF_TMP/inv-$n.yaml" <<EOF
migrations: {dir: "$dir"}
defaults: {transaction: $tx}
targets:
  - {name: $pf_db, dsn: "postgresql://postgres@127.0.0.1:$PGPORT/$pf_db"}
EOF
    pf apply -i "$PF_TMP/inv-$n.yaml" -f json
    local want_rc=0
    [ "$drc" != 0 ] && want_rc=2
    assert_eq "$want_rc" "$PF_RC" "$mode/$name: pgfleet exit code (drizzle exit $drc)"
    assert_lines "$(state "$dz")" "$(state "$pf_db")" "$mode/$name: same schema, ledger and rows as drizzle"
    assert_eq "$(ledger_tags "$pf_db" "$dir")" "$(pf_target_json "$pf_db" | jq -c .applied)" \
        "$mode/$name: the report's applied list is what the ledger gained"
    LAST_ERR=$(pf_target_json "$pf_db" | jq -r '.error.message // ""')
}

# assert_lines WANT GOT MSG (a diff on mismatch)
assert_lines() {
    if [ "$1" == "$2" ]; then
        pass "$3"
    else
        fail "$3: differs:"$'\n'"$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | head -n 30)"
    fi
}

for mode in all per; do
    check "$mode" ok
    assert_eq 0 "$(pg_psql pf_$n "select count(*) - count(w) from t")" "$mode/ok: the procedure filled every row in batches"
    assert_eq t "$(pg_psql pf_$n "select indisvalid from pg_index where indexrelid = 'public.t_w_idx'::regclass")" \
        "$mode/ok: the concurrent index is valid"
    for pos in 0 1 2 3 4 5 on; do
        check "$mode" "fail-escape-$pos" 1 "$pos"
        assert_contains "$LAST_ERR" "migration 0001_escape, statement" "$mode/fail-escape-$pos: the error names the migration"
        case $pos in
        0 | 1) assert_not_contains "$LAST_ERR" "stays applied" "$mode/fail-escape-$pos: failed inside the transaction, nothing stays" ;;
        *) assert_contains "$LAST_ERR" "0001_escape failed after its own statement 2 ended drizzle's transaction: what ran outside a transaction since then stays applied, 0001_escape has no ledger row" \
            "$mode/fail-escape-$pos: the error says what stayed applied" ;;
        esac
    done
    for pos in 0 1 2 4; do
        check "$mode" "fail-later-$pos" 2 "$pos"
        if [ "$mode" = all ]; then
            assert_contains "$LAST_ERR" "0002_later failed after 0001_escape's statement 2 ended drizzle's transaction" \
                "$mode/fail-later-$pos: the error says the run had left the transaction"
        else
            assert_not_contains "$LAST_ERR" "stays applied" "$mode/fail-later-$pos: its own transaction, nothing stays"
        fi
    done
done

# The two-migration reproduction: drizzle applies both; so does pgfleet, in one batch plus one
# query per chunk after the COMMIT.
R=$PF_TMP/repro
mkmig "$R" 0 0000_t 'CREATE TABLE "t" ("id" int);'
mkmig "$R" 1 0001_b 'ALTER TABLE "t" ADD COLUMN "w" int;' 'COMMIT;' 'CREATE INDEX CONCURRENTLY "t_w" ON "t" ("w");' \
    'ALTER TABLE "t" ADD COLUMN "x" int;'
pg_createdb dz_r pf_r
drz dz_r "$R" >/dev/null
write_inv "$PF_TMP/inv-r.yaml" "$R" -- pf_r
pf plan -i "$PF_TMP/inv-r.yaml" -f json
assert_eq 0 "$PF_RC" "repro: plan exit 0"
assert_eq '[["ends_transaction","0001_b"]]' "$(jq -c '[.codebase.notes[] | [.kind, .migration]]' <<<"$PF_OUT")" \
    "repro: plan notes the migration that ends the transaction, once, on the codebase"
pf plan -i "$PF_TMP/inv-r.yaml"
assert_contains "$PF_OUT" "note: 0001_b ends drizzle's transaction at statement 2 of 4: its later statements" \
    "repro: the text plan says so, and what a failure there leaves"
pf apply -i "$PF_TMP/inv-r.yaml" -f json
assert_eq 0 "$PF_RC" "repro: pgfleet applies both"
assert_eq '["0000_t","0001_b"]' "$(pf_target_json pf_r | jq -c .applied)" "repro: applied both"
assert_lines "$(state dz_r)" "$(state pf_r)" "repro: same database as drizzle"
# survey (no ledger yet) + the batch (through the COMMIT) + 2 chunks + the insert + the ledger
# read back with the unlock
assert_eq 6 "$(pf_target_json pf_r | jq -r .round_trips)" "repro: round trips: one per chunk after the COMMIT"
pf audit -i "$PF_TMP/inv-r.yaml"
assert_eq 0 "$PF_RC" "repro: audit in sync afterwards"

pf_done
