#!/usr/bin/env bash
# Journals whose `when` goes back (an entry merged late keeps its older `when`, and real projects
# keep it for good), against drizzle-orm 0.45.4's migrator, with one and with two such entries:
#   fresh:  drizzle and pgfleet each migrate a fresh database: every entry in journal order, the
#           same ledger (ids, hashes, created_at) and the same `pg_dump -s`; each tool then finds
#           nothing to do on the other's database (pgfleet audit: in_sync, exit 0);
#   before: databases that drizzle migrated BEFORE the late entries existed; with the new
#           journal drizzle skips them (exit 0) and applies only the entries above its
#           high-water mark; pgfleet plan and audit say out_of_order for those entries only on
#           those databases (exit 1), with a hint naming --allow-out-of-order; apply refuses
#           (exit 1, nothing run); apply --allow-out-of-order applies them in journal order,
#           giving the fresh database's ledger and schema; then audit is in_sync (exit 0);
#   notes:  the codebase carries one note per late entry, shown once in the text report and in
#           the JSON report's codebase.notes, not per target.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

W=1700000000000

# mk_folder DIR TAG:WHEN:SQL...: a 0.x folder whose journal lists the entries in the order given.
mk_folder() {
    local dir=$1 spec tag when sql entries="" idx=0
    shift
    mkdir -p "$dir/meta"
    for spec in "$@"; do
        tag=${spec%%:*}
        spec=${spec#*:}
        when=${spec%%:*}
        sql=${spec#*:}
        printf '%s\n' "$sql" >"$dir/$tag.sql"
        [ -z "$entries" ] || entries+=","
        entries+="{\"idx\":$idx,\"version\":\"7\",\"when\":$when,\"tag\":\"$tag\",\"breakpoints\":true}"
        idx=$((idx + 1))
    done
    printf '{"version":"7","dialect":"postgresql","entries":[%s]}\n' "$entries" >"$dir/meta/_journal.json"
}

columns() { # columns DB TABLE: its columns in order, or nothing when it does not exist
    pg_psql "$1" "select string_agg(attname, ' ' order by attnum) from pg_attribute
                  where attrelid = to_regclass('public.$2') and attnum > 0 and not attisdropped"
}

# run_case NAME BEFORE_N LATE_TAGS FOLDER: the whole story on one folder whose first BEFORE_N
# entries are what drizzle saw before the late entries (LATE_TAGS, space-separated) existed.
run_case() {
    local name=$1 before_n=$2 late=$3 full=$4
    local late_json
    late_json=$(jq -cn --arg s "$late" '$s | split(" ")')
    local dz_fresh=${name}_dz_fresh pf_fresh=${name}_pf_fresh dz_old=${name}_dz_old pf_old=${name}_pf_old
    pg_createdb "$dz_fresh" "$pf_fresh" "$dz_old" "$pf_old"
    local inv=$PF_TMP/$name.yaml
    write_inv "$inv" "$full" -- "$dz_fresh" "$pf_fresh" "$dz_old" "$pf_old"

    # --- the codebase: notes, not an error ------------------------------------------------------
    pf plan -i "$inv" -t "$pf_fresh" -f json
    assert_eq 0 "$PF_RC" "$name: plan of a fresh database: exit 0 (the journal is accepted)"
    assert_eq uninitialized "$(pf_target_json "$pf_fresh" | jq -r .status)" "$name: fresh: uninitialized"
    assert_eq "$late_json" "$(jq -c '[.codebase.notes[] | .migration]' <<<"$PF_OUT")" \
        "$name: JSON codebase.notes names every late entry"
    assert_eq "[\"when_not_increasing\"]" "$(jq -c '[.codebase.notes[] | .kind] | unique' <<<"$PF_OUT")" \
        "$name: notes are when_not_increasing"
    assert_eq "[]" "$(pf_target_json "$pf_fresh" | jq -c .problems)" "$name: no problem on the fresh target"

    # --- fresh databases: the same as drizzle ----------------------------------------------------
    local rc=0
    drz "$dz_fresh" "$full" || rc=$?
    assert_eq 0 "$rc" "$name: drizzle on a fresh database: exit 0"
    pf apply -i "$inv" -t "$pf_fresh" -f json
    assert_eq 0 "$PF_RC" "$name: pgfleet apply on a fresh database: exit 0"
    assert_eq "$(jq -c '[.entries[].tag]' "$full/meta/_journal.json")" "$(pf_target_json "$pf_fresh" | jq -c .applied)" \
        "$name: fresh: pgfleet applied every entry, in journal order"
    assert_eq "$(jq -r '.entries[].when' "$full/meta/_journal.json")" "$(ledger "$dz_fresh" created_at)" \
        "$name: fresh: drizzle ran every entry in journal order"
    assert_eq "$(ledger "$dz_fresh")" "$(ledger "$pf_fresh")" "$name: fresh: ledgers identical (id, hash, created_at)"
    assert_eq "$(dump_schema "$dz_fresh")" "$(dump_schema "$pf_fresh")" "$name: fresh: pg_dump -s identical"
    local before_rows
    before_rows=$(ledger "$pf_fresh")
    rc=0
    drz "$pf_fresh" "$full" || rc=$?
    assert_eq 0 "$rc" "$name: fresh: drizzle afterwards on pgfleet's database: exit 0"
    assert_eq "$before_rows" "$(ledger "$pf_fresh")" "$name: fresh: drizzle afterwards applies nothing"
    pf audit -i "$inv" -t "$dz_fresh" -t "$pf_fresh" -f json
    assert_eq 0 "$PF_RC" "$name: fresh: audit of both: exit 0 (notes do not count)"
    assert_eq "in_sync in_sync" "$(jq -r '[.targets[].status] | join(" ")' <<<"$PF_OUT")" "$name: fresh: both in_sync"

    # --- databases drizzle migrated before the late entries existed -------------------------------
    local early=$PF_TMP/$name-early
    journal_prefix "$full" "$early" "$before_n"
    for db in "$dz_old" "$pf_old"; do
        rc=0
        drz "$db" "$early" || rc=$?
        assert_eq 0 "$rc" "$name: drizzle on $db before the late entries"
    done
    rc=0
    drz "$dz_old" "$full" || rc=$?
    assert_eq 0 "$rc" "$name: drizzle with the late entries: exit 0"
    local t
    for t in $late; do
        assert_eq 0 "$(pg_psql "$dz_old" "select count(*) from drizzle.__drizzle_migrations
                                         where created_at = $(jq --arg t "$t" '.entries[] | select(.tag == $t) | .when' "$full/meta/_journal.json")")" \
            "$name: drizzle skipped $t"
    done

    # pgfleet on both: out_of_order for exactly the late entries, with the hint.
    local db
    for db in "$dz_old" "$pf_old"; do
        pf plan -i "$inv" -t "$db" -f json
        assert_eq 1 "$PF_RC" "$name: plan on $db: exit 1 (apply would refuse)"
        local tj
        tj=$(pf_target_json "$db")
        assert_eq out_of_order "$(jq -r .status <<<"$tj")" "$name: plan on $db: out_of_order"
        assert_eq "$late_json" "$(jq -c '[.problems[] | select(.kind == "out_of_order") | .migration]' <<<"$tj")" \
            "$name: plan on $db: out_of_order names exactly the late entries"
        assert_contains "$(jq -r '.problems[0].message' <<<"$tj")" "hint: review it, then apply it with --allow-out-of-order" \
            "$name: plan on $db: the problem's hint names --allow-out-of-order"
        pf audit -i "$inv" -t "$db" -f json
        assert_eq 1 "$PF_RC" "$name: audit on $db: exit 1"
        assert_eq out_of_order "$(pf_target_json "$db" | jq -r .status)" "$name: audit on $db: out_of_order"
    done

    # The text report: the notes once, whatever the number of targets.
    pf plan -i "$inv"
    assert_eq 1 "$PF_RC" "$name: plan of the whole fleet (text): exit 1"
    assert_eq "$(wc -w <<<"$late")" "$(grep -c '^  note: ' <<<"$PF_OUT")" "$name: text: one note line per late entry"
    for t in $late; do
        assert_contains "$PF_OUT" "  note: $t (when " "$name: text: the note names $t"
    done
    assert_contains "$PF_OUT" "--allow-out-of-order" "$name: text: the note's hint names --allow-out-of-order"

    before_rows=$(ledger "$pf_old")
    pf apply -i "$inv" -t "$pf_old" -f json
    assert_eq 1 "$PF_RC" "$name: apply on $pf_old without the flag: exit 1"
    assert_eq refused "$(pf_target_json "$pf_old" | jq -r .outcome)" "$name: apply without the flag: refused"
    assert_eq "$before_rows" "$(ledger "$pf_old")" "$name: refused apply wrote nothing"

    pf apply -i "$inv" -t "$pf_old" --allow-out-of-order -f json
    assert_eq 0 "$PF_RC" "$name: apply --allow-out-of-order: exit 0"
    assert_eq applied "$(pf_target_json "$pf_old" | jq -r .outcome)" "$name: apply --allow-out-of-order: applied"
    assert_eq "$(jq -c --argjson n "$before_n" '[.entries[$n:][].tag]' "$full/meta/_journal.json")" \
        "$(pf_target_json "$pf_old" | jq -c .applied)" "$name: apply --allow-out-of-order: the rest, in journal order"
    assert_eq "$(ledger "$dz_fresh")" "$(ledger "$pf_old")" "$name: after --allow-out-of-order: the fresh database's ledger"
    assert_eq "$(dump_schema "$dz_fresh")" "$(dump_schema "$pf_old")" "$name: after --allow-out-of-order: the fresh database's schema"
    pf audit -i "$inv" -t "$pf_old" -f json
    assert_eq 0 "$PF_RC" "$name: audit afterwards: exit 0"
    assert_eq in_sync "$(pf_target_json "$pf_old" | jq -r .status)" "$name: audit afterwards: in_sync"
    before_rows=$(ledger "$pf_old")
    rc=0
    drz "$pf_old" "$full" || rc=$?
    assert_eq 0 "$rc" "$name: drizzle afterwards: exit 0"
    assert_eq "$before_rows" "$(ledger "$pf_old")" "$name: drizzle afterwards: applies nothing"

    # drizzle's own database keeps the skipped entries out_of_order until someone applies them.
    pf apply -i "$inv" -t "$dz_old" --allow-out-of-order -f json
    assert_eq 0 "$PF_RC" "$name: apply --allow-out-of-order on drizzle's database: exit 0"
    assert_eq "$late_json" "$(pf_target_json "$dz_old" | jq -c .applied)" \
        "$name: on drizzle's database only the skipped entries were applied"
    for t in $late; do
        assert_eq 1 "$(pg_psql "$dz_old" "select count(*) from drizzle.__drizzle_migrations where hash = '$(drizzle_hash "$full/$t.sql")'")" \
            "$name: $t is in drizzle's ledger now, with drizzle's hash"
    done
    pf audit -i "$inv" -t "$dz_old" -f json
    assert_eq 0 "$PF_RC" "$name: audit of drizzle's database afterwards: exit 0"
}

# --- one entry whose `when` goes back ------------------------------------------------------------
# 0002_tags was generated on a branch before 0001_posts was merged, and merged after it.
ONE=$PF_TMP/one
mk_folder "$ONE" \
    "0000_users:$((W + 1000)):CREATE TABLE \"users\" (\"id\" integer PRIMARY KEY, \"name\" text NOT NULL);" \
    "0001_posts:$((W + 5000)):CREATE TABLE \"posts\" (\"id\" integer PRIMARY KEY, \"user_id\" integer REFERENCES \"users\" (\"id\"));" \
    "0002_tags:$((W + 3000)):CREATE TABLE \"tags\" (\"id\" integer PRIMARY KEY, \"label\" text);
--> statement-breakpoint
ALTER TABLE \"users\" ADD COLUMN \"tag_id\" integer REFERENCES \"tags\" (\"id\");" \
    "0003_comments:$((W + 7000)):CREATE TABLE \"comments\" (\"post_id\" integer REFERENCES \"posts\" (\"id\"), \"body\" text);"
run_case one 2 "0002_tags" "$ONE"
assert_eq "id name tag_id" "$(columns one_pf_old users)" "one: 0002_tags's column is there"

# --- two entries whose `when` goes back, the second depending on the first ----------------------
TWO=$PF_TMP/two
mk_folder "$TWO" \
    "0000_accounts:$((W + 1000)):CREATE TABLE \"accounts\" (\"id\" integer PRIMARY KEY);" \
    "0001_invoices:$((W + 9000)):CREATE TABLE \"invoices\" (\"id\" integer PRIMARY KEY, \"account_id\" integer);" \
    "0002_plans:$((W + 4000)):CREATE TABLE \"plans\" (\"id\" integer PRIMARY KEY, \"name\" text);" \
    "0003_plan_price:$((W + 6000)):ALTER TABLE \"plans\" ADD COLUMN \"price\" numeric(10, 2);" \
    "0004_audit:$((W + 12000)):CREATE TABLE \"audit\" (\"at\" timestamp with time zone DEFAULT now());"
run_case two 2 "0002_plans 0003_plan_price" "$TWO"
assert_eq "id name price" "$(columns two_pf_old plans)" "two: both late entries ran, in journal order"

pf_done
