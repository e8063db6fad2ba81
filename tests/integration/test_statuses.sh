# Every status, produced for real and detected by plan (JSON) and audit, with the documented
# exit codes; several problems on one target are all listed; apply refuses the dangerous
# statuses without changing anything (exit 1); --allow-out-of-order applies the skipped one, and
# a migration merged later, older than the newest created_at, is out_of_order on that ledger.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

ST=(st_sync st_behind st_uninit st_ooo st_modified st_ahead st_foreign st_locked st_multi)
pg_createdb "${ST[@]}"
CLOSED_PORT=$(pf_free_port)

W=$PF_WHEN0
FULL=$PF_TMP/drizzle # the codebase: A, B, C
mig_add "$FULL" 0000_a $((W + 1000)) 'CREATE TABLE "a" ("id" integer);' 'CREATE INDEX "a_idx" ON "a" ("id");'
mig_add "$FULL" 0001_b $((W + 2000)) 'CREATE TABLE "b" ("id" integer);'
mig_add "$FULL" 0002_c $((W + 3000)) 'CREATE TABLE "c" ("id" integer);'
HA=$(file_hash "$FULL/0000_a.sql")
HB=$(file_hash "$FULL/0001_b.sql")
HC=$(file_hash "$FULL/0002_c.sql")

ONLY_A=$PF_TMP/only_a # an older release
mig_add "$ONLY_A" 0000_a $((W + 1000))
cp "$FULL/0000_a.sql" "$ONLY_A/"
AC=$PF_TMP/ac # a branch without B
cp -r "$FULL" "$AC"
mig_del "$AC" 0001_b
PRE_EDIT=$PF_TMP/pre_edit # the codebase as it was before 0000_a.sql was edited
cp -r "$FULL" "$PRE_EDIT"
printf 'CREATE TABLE "a" ("id" integer);\n' >"$PRE_EDIT/0000_a.sql"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$FULL" "connect_timeout: 5s" "${ST[@]}"
inv_add_target "$INV" st_unreachable "postgresql://postgres@127.0.0.1:$CLOSED_PORT/st_sync"

prep() { # TARGET FOLDER: apply FOLDER to TARGET
    pf prep apply -i "$INV" -m "$2" -t "$1"
    [ "$RC" = 0 ] || fail "preparing $1 with $2: exit $RC: $(pf_out prep) $(pf_err prep)"
}
prep st_sync "$FULL"
prep st_behind "$ONLY_A"
prep st_ooo "$AC"
prep st_modified "$PRE_EDIT"
prep st_ahead "$FULL"
pg_psql st_ahead "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf 'newer' | sha256sum | cut -c1-64)', $((W + 9000)))"
prep st_foreign "$FULL"
pg_psql st_foreign "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf 'other app' | sha256sum | cut -c1-64)', $((W + 1500)))"
prep st_locked "$FULL"
prep st_multi "$AC" # out_of_order (B) ...
pg_psql st_multi "update drizzle.__drizzle_migrations set hash = '$(printf x | sha256sum | cut -c1-64)' where created_at = $((W + 1000))" # ... modified (A) ...
pg_psql st_multi "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf f | sha256sum | cut -c1-64)', $((W + 500)))" # ... foreign ...
pg_psql st_multi "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf n | sha256sum | cut -c1-64)', $((W + 9000)))" # ... and ahead

pf inv inventory -i "$INV" -f json
assert_eq 0 "$RC" "inventory -f json: exit 0 (stderr: $(pf_err inv))"
LOCK_KEY=$(jget "$PF_TMP/inv.out" '[t["lock_key"] for t in d["targets"] if t["name"] == "st_locked"][0]')
echo "observed: lock_key of st_locked: $LOCK_KEY"
lock_hold st_locked "$LOCK_KEY" status-test-holder

declare -A SNAP
for t in "${ST[@]}"; do SNAP[$t]="$(ledger_rows "$t" 2>/dev/null || true)|$(db_state "$t")"; done

# --- each status, one target at a time ------------------------------------------------------------
#          target          status         plan audit pending             problem kinds (sorted)
while read -r t status plan_rc audit_rc pending kinds; do
    pf "plan_$t" plan -i "$INV" -t "$t" -f json
    assert_eq "$plan_rc" "$RC" "$t: plan exits $plan_rc"
    R=$PF_TMP/plan_$t.out
    assert_eq "$status" "$(jt "$R" "$t" 't["status"]')" "$t: plan says $status"
    assert_eq "$pending" "$(jt "$R" "$t" '",".join(t["pending"]) or "-"')" "$t: pending = $pending"
    assert_eq "$kinds" "$(jt "$R" "$t" '",".join(sorted(p["kind"] for p in t["problems"])) or "-"')" \
        "$t: problems = $kinds"
    pf "audit_$t" audit -i "$INV" -t "$t" -f json
    assert_eq "$audit_rc" "$RC" "$t: audit exits $audit_rc"
    audit_status=$status # what plan calls locked, audit calls migrating (docs/statuses.md)
    [ "$status" != locked ] || audit_status=migrating
    assert_eq "$audit_status" "$(jt "$PF_TMP/audit_$t.out" "$t" 't["status"]')" "$t: audit says $audit_status"
    pf "audit_text_$t" audit -i "$INV" -t "$t"
    assert_eq 1 "$(grep -c "^$t  *$audit_status " "$PF_TMP/audit_text_$t.out" || true)" \
        "$t: the text report's row shows $audit_status"
done <<EOF
st_sync         in_sync        0 0 -                   -
st_behind       behind         0 1 0001_b,0002_c       -
st_uninit       uninitialized  0 1 0000_a,0001_b,0002_c -
st_ooo          out_of_order   1 1 0001_b              out_of_order
st_modified     modified       1 1 -                   modified
st_ahead        ahead          1 1 -                   ahead
st_foreign      foreign        1 1 -                   foreign
st_locked       locked         1 1 -                   -
st_multi        foreign        1 1 0001_b              ahead,foreign,modified,out_of_order
st_unreachable  unreachable    2 2 -                   -
EOF

R=$PF_TMP/plan_st_ooo.out
assert_eq "0001_b null" "$(jt "$R" st_ooo 'show(t["problems"][0]["migration"]) + " " + show(t["problems"][0]["ledger_id"])')" \
    "out_of_order problem names migration 0001_b"
R=$PF_TMP/plan_st_modified.out
assert_eq "0000_a 1" "$(jt "$R" st_modified 'show(t["problems"][0]["migration"]) + " " + show(t["problems"][0]["ledger_id"])')" \
    "modified problem names migration 0000_a and ledger row 1"
R=$PF_TMP/plan_st_ahead.out
assert_eq "null 4" "$(jt "$R" st_ahead 'show(t["problems"][0]["migration"]) + " " + show(t["problems"][0]["ledger_id"])')" \
    "ahead problem names ledger row 4"
R=$PF_TMP/plan_st_foreign.out
assert_eq "null 4" "$(jt "$R" st_foreign 'show(t["problems"][0]["migration"]) + " " + show(t["problems"][0]["ledger_id"])')" \
    "foreign problem names ledger row 4"
R=$PF_TMP/plan_st_locked.out
assert_eq "$HOLDER_PID status-test-holder $LOCK_KEY" \
    "$(jt "$R" st_locked 'show(t["lock"]["holder"]["pid"]) + " " + t["lock"]["holder"]["application_name"] + " " + t["lock"]["key"]')" \
    "locked: the report names the holder's pid and application_name, and the key"
R=$PF_TMP/plan_st_unreachable.out
assert_contains "$(jt "$R" st_unreachable 't["error"]["message"]')" "Connection refused" \
    "unreachable: libpq's reason"
pf plan_multi_text plan -i "$INV" -t st_multi
assert_eq 1 "$RC" "st_multi: the text plan exits 1"
for i in 0 1 2 3; do
    msg=$(jt "$PF_TMP/plan_st_multi.out" st_multi "t['problems'][$i]['message']")
    assert_contains "$(pf_out plan_multi_text)" "$msg" "st_multi: the text report lists problem $((i + 1)) of 4"
done
assert_contains "$(jt "$PF_TMP/plan_st_multi.out" st_multi '[p["message"] for p in t["problems"] if p["kind"] == "foreign"][0]')" \
    "created_at $((W + 500))" "foreign problem message shows the row's created_at"
assert_contains "$(jt "$PF_TMP/plan_st_foreign.out" st_foreign 't["problems"][0]["message"]')" \
    "created_at $((W + 1500))" "st_foreign: the problem message shows the row's created_at"
# An update moves a row to the end of its table: st_multi's rows 1 and 3 (modified and foreign)
# are now stored after the others. The ledger is read in id order all the same, whichever way
# (plan and audit sort query_to_xml's rows in pgfleet, apply's read orders them on the server),
# and the problems come in that order. Nothing changes in the ledger's content.
pg_psql st_multi "update drizzle.__drizzle_migrations set hash = hash where id = 3" >/dev/null
assert_eq "2 1 4 3" "$(pg_psql st_multi "select id from drizzle.__drizzle_migrations" | tr '\n' ' ' | sed 's/ $//')" \
    "st_multi: the table holds rows 1 and 3 after the others"
PROBS='" ".join(p["kind"] + ":" + show(p["ledger_id"]) for p in t["problems"])'
for cmd in plan audit apply; do
    pf "order_$cmd" "$cmd" -i "$INV" -t st_multi -f json
    assert_eq "modified:1 foreign:3 ahead:4 out_of_order:null" "$(jt "$PF_TMP/order_$cmd.out" st_multi "$PROBS")" \
        "st_multi, $cmd: the problems in the ledger's id order"
done

# The literal edit: a file edited after it was applied.
EDITED=$PF_TMP/edited
cp -r "$FULL" "$EDITED"
pg_createdb st_edited
inv_write "$PF_TMP/edited.yaml" "$EDITED" "" st_edited
pf edited_apply apply -i "$PF_TMP/edited.yaml"
assert_eq 0 "$RC" "edited: first apply"
printf '\n--> statement-breakpoint\nALTER TABLE "b" ADD COLUMN "x" integer;\n' >>"$EDITED/0001_b.sql"
pf edited_plan plan -i "$PF_TMP/edited.yaml" -f json
assert_eq 1 "$RC" "edited: plan after editing an applied file exits 1"
assert_eq "modified 0001_b" \
    "$(jt "$PF_TMP/edited_plan.out" st_edited 't["status"] + " " + show([p["migration"] for p in t["problems"]])')" \
    "edited: status modified, problem names 0001_b"
pf edited_audit audit -i "$PF_TMP/edited.yaml"
assert_eq 1 "$RC" "edited: audit exits 1"

# --- the whole fleet at once ------------------------------------------------------------------
pf plan_all plan -i "$INV" -f json -j 4
assert_eq 2 "$RC" "plan of the whole fleet (one unreachable) exits 2"
assert_lines "st_sync in_sync
st_behind behind
st_uninit uninitialized
st_ooo out_of_order
st_modified modified
st_ahead ahead
st_foreign foreign
st_locked locked
st_multi foreign
st_unreachable unreachable" "$(jtargets "$PF_TMP/plan_all.out" 't["status"]')" "plan of the whole fleet: every status"
pf plan_most plan -i "$INV" -t 'st_[a-t]*' -f json
assert_eq 1 "$RC" "plan of the reachable targets exits 1"
pf audit_most audit -i "$INV" -t 'st_[a-t]*'
assert_eq 1 "$RC" "audit of the reachable targets exits 1"
pf audit_all audit -i "$INV"
assert_eq 2 "$RC" "audit of the whole fleet exits 2"

# --- apply refuses (docs/statuses.md: exit 1, "apply: some target was refused") -----------------
lock_release status-test-holder
for t in st_ooo st_modified st_ahead st_foreign st_multi; do
    pf "apply_$t" apply -i "$INV" -t "$t" -f json
    assert_eq 1 "$RC" "$t: apply exits 1 (refused)"
    R=$PF_TMP/apply_$t.out
    assert_eq "refused" "$(jt "$R" "$t" 't["outcome"]')" "$t: outcome refused"
    assert_eq "[]" "$(jt "$R" "$t" 'json.dumps(t["applied"])')" "$t: nothing applied"
    status=$(jt "$R" "$t" 't["status"]')
    assert_contains "$(jt "$R" "$t" 't["error"]["message"]')" "$status" "$t: the error says why ($status)"
    assert_eq "${SNAP[$t]}" "$(ledger_rows "$t")|$(db_state "$t")" "$t: apply changed nothing"
done
pf apply_multi_ooo apply -i "$INV" -t st_multi --allow-out-of-order
assert_eq 1 "$RC" "st_multi: --allow-out-of-order does not override foreign/modified/ahead (exit 1)"
pf apply_refused_and_unreachable apply -i "$INV" -t st_foreign -t st_unreachable
assert_eq 2 "$RC" "apply with a refused and an unreachable target exits 2 (2 wins over 1)"
assert_eq "${SNAP[st_multi]}" "$(ledger_rows st_multi)|$(db_state st_multi)" "st_multi: still unchanged"

pf apply_ooo apply -i "$INV" -t st_ooo --allow-out-of-order -f json
assert_eq 0 "$RC" "st_ooo: apply --allow-out-of-order exits 0"
R=$PF_TMP/apply_ooo.out
assert_eq "out_of_order applied 0001_b" "$(jt "$R" st_ooo 't["status"] + " " + t["outcome"] + " " + show(t["applied"])')" \
    "st_ooo: status out_of_order, outcome applied, applied [0001_b]"
assert_lines "$HA $((W + 1000))
$HC $((W + 3000))
$HB $((W + 2000))
tables: a b c" "$(db_state st_ooo)" "st_ooo: the ledger gained 0001_b's row with its own created_at"
pf audit_ooo audit -i "$INV" -t st_ooo
assert_eq 0 "$RC" "st_ooo: in_sync afterwards"

# After that apply the ledger's last row (by id) is 0001_b (W+2000), not the newest (0002_c,
# W+3000). A migration merged later with a `when` between the two is still out_of_order; one
# newer than every row is behind.
LATE=$PF_TMP/late
cp -r "$FULL" "$LATE"
mig_add "$LATE" 0003_late $((W + 2500)) 'CREATE TABLE "late" ("id" integer);'
pf plan_late plan -i "$INV" -m "$LATE" -t st_ooo -f json
assert_eq 1 "$RC" "st_ooo + a late migration: plan exits 1 (stderr: $(pf_err plan_late))"
assert_eq "out_of_order 0003_late" "$(jt "$PF_TMP/plan_late.out" st_ooo 't["status"] + " " + show(t["pending"])')" \
    "st_ooo + a late migration: out_of_order, judged against the newest created_at, not the last row"
assert_contains "$(jt "$PF_TMP/plan_late.out" st_ooo 't["problems"][0]["message"]')" \
    "(created_at $((W + 3000)))" "st_ooo + a late migration: the problem names the newest created_at"
pf apply_late apply -i "$INV" -m "$LATE" -t st_ooo -f json
assert_eq 1 "$RC" "st_ooo + a late migration: apply refuses it (exit 1)"
assert_eq f "$(has_table st_ooo late)" "st_ooo + a late migration: not applied"
NEWER=$PF_TMP/newer
cp -r "$FULL" "$NEWER"
mig_add "$NEWER" 0003_newer $((W + 4000)) 'CREATE TABLE "newer" ("id" integer);'
pf plan_newer plan -i "$INV" -m "$NEWER" -t st_ooo -f json
assert_eq 0 "$RC" "st_ooo + a newer migration: plan exits 0"
assert_eq "behind 0003_newer" "$(jt "$PF_TMP/plan_newer.out" st_ooo 't["status"] + " " + show(t["pending"])')" \
    "st_ooo + a newer migration: behind"

# apply on the harmless statuses, for completeness
pf apply_rest apply -i "$INV" -t st_sync -t st_behind -t st_uninit -t st_locked -f json
assert_eq 0 "$RC" "apply of in_sync/behind/uninitialized/(released) locked targets exits 0"
assert_lines "st_sync in_sync unchanged
st_behind behind applied
st_uninit uninitialized applied
st_locked in_sync unchanged" "$(jtargets "$PF_TMP/apply_rest.out" 't["status"] + " " + t["outcome"]')" \
    "apply outcomes of the harmless statuses"

# The ledger's text comes back byte for byte, whichever way the survey reads it (plan and audit
# take query_to_xml's text apart in pgfleet; apply reads the rows on the server): a v1-shaped
# ledger whose rows' name holds what XML escapes (&, <, >, a carriage return), a closing tag, a
# quote and non-ASCII text, with a NULL created_at and a NULL name beside it.
pg_createdb st_text
pg_psql st_text "create schema drizzle; create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint, name text, applied_at timestamp with time zone);
insert into drizzle.__drizzle_migrations (hash, created_at, name) values
  ('h<&>' || chr(13), null, 'a<b>&c' || chr(13) || chr(10) || '</name>\"d''é'),
  ('$HA', $((W + 1000)), null)" >/dev/null
inv_add_target "$INV" st_text "$(pf_dsn st_text)"
WANT="ledger row 1 (created_at null, name a<b>&c"$'\r\n'"</name>\"d'é) matches no migration of the codebase"
for cmd in audit plan apply; do
    pf "text_$cmd" "$cmd" -i "$INV" -t st_text -f json
    assert_eq "foreign $WANT" "$(jt "$PF_TMP/text_$cmd.out" st_text 't["status"] + " " + t["problems"][0]["message"]')" \
        "$cmd: the odd name read back exactly, created_at null"
done
assert_eq 2 "$(pg_psql st_text 'select count(*) from drizzle.__drizzle_migrations')" "apply refused it: the ledger as it was"

# A ledger whose id is not an integer (not a table drizzle made) is a failure that names the
# ledger, for the read of plan and audit as for apply's; nothing is changed.
pg_createdb st_badid
pg_psql st_badid "create schema drizzle; create table drizzle.__drizzle_migrations (id text primary key, hash text not null, created_at bigint);
insert into drizzle.__drizzle_migrations values ('x', '$HA', $((W + 1000)))" >/dev/null
inv_add_target "$INV" st_badid "$(pf_dsn st_badid)"
pf badid_audit audit -i "$INV" -t st_badid -f json
assert_eq "2 unreachable" "$RC $(jt "$PF_TMP/badid_audit.out" st_badid 't["status"]')" "audit of a ledger with a text id: exit 2, the target not read"
assert_contains "$(jt "$PF_TMP/badid_audit.out" st_badid 't["error"]["message"]')" \
    "reading the ledger drizzle.__drizzle_migrations: a row's id or created_at is not an integer" "audit: the error names the ledger"
pf badid_apply apply -i "$INV" -t st_badid -f json
assert_contains "$(jt "$PF_TMP/badid_apply.out" st_badid 't["error"]["message"]')" \
    "reading the ledger drizzle.__drizzle_migrations" "apply: the error names the ledger too"
assert_eq "x $HA" "$(pg_psql st_badid 'select id, hash from drizzle.__drizzle_migrations' | tr '|' ' ')" "the ledger as it was"

pf_done
