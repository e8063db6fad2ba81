# Halting a rollout: a broken canary stops it (later waves untouched, reported skipped with the
# reason, exit 2); re-running after the fix is safe; max_failures as a percentage (2 of 5
# failing passes 50%, 3 of 5 halts); a `check:` query that returns false or fails counts as a
# failure of its target (and cannot write); --from-wave resumes, --wave runs one wave only; a
# canary that apply refuses (out_of_order, or foreign by its expect) halts the rollout too.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
H0="$(file_hash "$MIG/0000_items.sql") $((W + 1000))"

# write_inv FILE WAVES_YAML DB...: a target per database, then the waves.
write_inv() {
    local file=$1 waves=$2 db
    shift 2
    inv_write "$file" "$MIG" "" "$@"
    printf 'waves:\n%s\n' "$waves" >>"$file"
}
# break_db DB: "items" already exists, so 0000_items fails there.
break_db() { break_with "$1" items; }
fix_db() { pg_psql "$1" 'DROP TABLE items' >/dev/null; }

# --- a broken canary halts the rollout ------------------------------------------------------------
pg_createdb canary1 early1 early2 rest1 rest2
break_db canary1
INV=$PF_TMP/canary.yaml
write_inv "$INV" '  - {name: canary, targets: [canary1], max_failures: 0}
  - {name: early, targets: ["early*"], parallel: 2}
  - {name: rest, select: all}' canary1 early1 early2 rest1 rest2
pf halt apply -i "$INV" -f json
R=$PF_TMP/halt.out
assert_eq 2 "$RC" "a failing canary: exit 2 (skipped targets count as failed)"
REASON="wave canary halted the rollout: 1 failure > max_failures 0"
assert_lines "canary1 true failed
early1 false skipped
early2 false skipped
rest1 false skipped
rest2 false skipped" "$(jtargets "$R" 'show(t["started"]) + " " + t["outcome"]')" \
    "the canary failed; every target of the later waves is skipped, not started"
assert_lines "early1 null $REASON
early2 null $REASON
rest1 null $REASON
rest2 null $REASON" "$(jtargets "$R" 'show(t["status"]) + " " + t["error"]["message"]' | tail -n 4)" \
    "skipped targets carry the reason in error.message"
assert_eq "done true 1 0|skipped false|skipped false" \
    "$(jget "$R" '"|".join(" ".join(show(x) for x in ([w["state"], w["halted"]] + ([w["failures"], w["allowed_failures"]] if w["state"] == "done" else []))) for w in d["waves"])')" \
    "waves: canary done and halted (1 failure, 0 allowed); early and rest skipped"
assert_eq "$REASON|$REASON|$REASON" "$(jget "$R" '"|".join(w["reason"] for w in d["waves"])')" \
    "waves: the halting wave and the skipped ones give the reason"
assert_eq "1 4" "$(jget "$R" 'str(d["outcomes"]["failed"]) + " " + str(d["outcomes"]["skipped"])')" \
    "outcomes: 1 failed, 4 skipped"
for db in early1 early2 rest1 rest2; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "$db untouched (no ledger, no table)"
done
pf halt_text apply -i "$INV"
assert_eq 2 "$RC" "text report: exit 2 as well"
assert_contains "$(pf_out halt_text)" "  canary  1 target: done, 1 failed (max_failures 0), " \
    "text report: the canary's line"
assert_contains "$(pf_out halt_text)" "          HALTED: $REASON" "text report: HALTED with the reason"
assert_contains "$(pf_out halt_text)" "  early   2 targets: skipped: $REASON" "text report: early skipped"
assert_contains "$(pf_err halt_text)" "pgfleet: warning: $REASON" "the halt is logged on stderr"

# Fixed, re-run: everything applies; run again: nothing to do.
fix_db canary1
pf rerun apply -i "$INV" -f json
assert_eq 0 "$RC" "after fixing the canary, apply exits 0 (stderr: $(pf_err rerun))"
assert_eq "applied applied applied applied applied" \
    "$(jget "$PF_TMP/rerun.out" '[t["outcome"] for t in d["targets"]]')" "every target applied"
pf rerun2 apply -i "$INV" -f json
assert_eq 0 "$RC" "re-running after a complete rollout exits 0"
assert_eq "5" "$(jget "$PF_TMP/rerun2.out" 'd["outcomes"]["unchanged"]')" "re-running changes nothing"

# --- --from-wave resumes, --wave runs one wave --------------------------------------------------
mig_add "$MIG" 0001_more $((W + 2000)) 'CREATE TABLE "more" ("id" integer);'
H1="$(file_hash "$MIG/0001_more.sql") $((W + 2000))"
break_with early2 more
pf from1 apply -i "$INV" -f json
assert_eq 2 "$RC" "early2 fails: exit 2"
assert_eq "done false|done true|skipped false" \
    "$(jget "$PF_TMP/from1.out" '"|".join(w["state"] + " " + show(w["halted"]) for w in d["waves"])')" \
    "canary passed, early halted, rest skipped"
assert_eq 1 "$(pg_psql rest1 'select count(*) from drizzle.__drizzle_migrations')" "rest1 still has only 0000"
pg_psql early2 'DROP TABLE more' >/dev/null
pf from2 apply -i "$INV" --from-wave early -f json
R=$PF_TMP/from2.out
assert_eq 0 "$RC" "--from-wave early after the fix exits 0 (stderr: $(pf_err from2))"
assert_eq "early1 early2 rest1 rest2" "$(jget "$R" '[t["name"] for t in d["targets"]]')" \
    "--from-wave early: the canary is not selected (not in targets)"
assert_eq "unchanged applied applied applied" "$(jget "$R" '[t["outcome"] for t in d["targets"]]')" \
    "--from-wave early: early1 already in sync, the others applied"
assert_eq "not_selected done done" "$(jget "$R" '[w["state"] for w in d["waves"]]')" \
    "--from-wave early: canary not_selected in waves"
assert_eq 0 "$(jget "$R" 'len(d["waves"][0]["targets"])')" "--from-wave: a wave not selected lists no target"
for db in early1 early2 rest1 rest2 canary1; do
    assert_lines "$H0
$H1" "$(ledger "$db")" "$db: both migrations in the ledger"
done

mig_add "$MIG" 0002_last $((W + 3000)) 'CREATE TABLE "last" ("id" integer);'
pf only apply -i "$INV" --wave early -f json
R=$PF_TMP/only.out
assert_eq 0 "$RC" "--wave early exits 0"
assert_eq "early1 applied|early2 applied" "$(jget "$R" '"|".join(t["name"] + " " + t["outcome"] for t in d["targets"])')" \
    "--wave early: only early's targets, applied"
assert_eq "not_selected done not_selected" "$(jget "$R" '[w["state"] for w in d["waves"]]')" \
    "--wave early: the other waves are not_selected"
assert_eq "3 3 2 2 2" "$(for db in early1 early2 canary1 rest1 rest2; do pg_psql "$db" 'select count(*) from drizzle.__drizzle_migrations'; done | tr '\n' ' ' | sed 's/ $//')" \
    "--wave early: 0002 reached early1 and early2 only"
pf plan_from plan -i "$INV" --from-wave rest -f json
assert_eq "rest1 rest2" "$(jget "$PF_TMP/plan_from.out" '[t["name"] for t in d["targets"]]')" \
    "plan takes --from-wave too"
pf only_t apply -i "$INV" --wave early -t rest1
assert_eq 3 "$RC" "--wave early -t rest1 selects nothing: exit 3"
pf bad_wave apply -i "$INV" --wave nope
assert_eq 3 "$RC" "--wave nope: exit 3"
assert_eq "pgfleet: $INV: unknown wave 'nope' in --wave; expected one of: canary, early, rest" \
    "$(pf_err bad_wave)" "--wave nope: names the waves"
pf both apply -i "$INV" --wave early --from-wave rest
assert_eq 3 "$RC" "--wave with --from-wave: exit 3"
assert_contains "$(pf_err both)" "--wave and --from-wave cannot be combined" "--wave with --from-wave: says so"
pf plan_yes plan -i "$INV" --yes
assert_eq 3 "$RC" "plan --yes: exit 3"
assert_eq "pgfleet plan: --yes is an option of apply, mark-applied and repair" "$(pf_err plan_yes)" \
    "plan --yes: says so"

# --- max_failures as a percentage ----------------------------------------------------------------
PCT='  - {name: tenants, targets: ["p*"], max_failures: 50%}
  - {name: after, select: all}'
pg_createdb p1 p2 p3 p4 p5 after1
break_db p2
break_db p4
write_inv "$PF_TMP/pct.yaml" "$PCT" p1 p2 p3 p4 p5 after1
pf pct2 apply -i "$PF_TMP/pct.yaml" -f json
R=$PF_TMP/pct2.out
assert_eq 2 "$RC" "2 of 5 failing: exit 2 (two targets failed)"
assert_eq "done false 2 2|done false" \
    "$(jget "$R" '"|".join(" ".join(show(x) for x in [w["state"], w["halted"]] + ([w["failures"], w["allowed_failures"]] if w["name"] == "tenants" else [])) for w in d["waves"])')" \
    "2 failures within 50% of 5 (2 allowed): not halted"
assert_eq "applied" "$(jt "$R" after1 't["outcome"]')" "the next wave ran"
pg_createdb q1 q2 q3 q4 q5 after2
for db in q1 q3 q5; do break_db "$db"; done
write_inv "$PF_TMP/pct3.yaml" "${PCT//p\*/q*}" q1 q2 q3 q4 q5 after2
pf pct3 apply -i "$PF_TMP/pct3.yaml" -f json
R=$PF_TMP/pct3.out
assert_eq 2 "$RC" "3 of 5 failing: exit 2"
assert_eq "wave tenants halted the rollout: 3 failures > max_failures 50% (2 of 5 targets)" \
    "$(jget "$R" 'd["waves"][0]["reason"]')" "3 failures > 50% of 5: halted, with the arithmetic"
assert_eq "true skipped" "$(jget "$R" 'show(d["waves"][0]["halted"]) + " " + d["waves"][1]["state"]')" \
    "3 of 5: the next wave is skipped"
assert_eq "skipped false" "$(jt "$R" after2 't["outcome"] + " " + show(t["started"])')" \
    "3 of 5: after2 not started"
assert_lines "no ledger
tables: " "$(db_state after2)" "3 of 5: after2 untouched"

# --- check: false and error count as failures ---------------------------------------------------
pg_createdb k1 k2 k3 k4 k5
pg_psql k2 'CREATE TABLE bad_marker (x integer)' >/dev/null
CHECKS='  - name: gate
    targets: [k1, k2]
    max_failures: 1
    check: select to_regclass('"'"'public.bad_marker'"'"') is null
  - name: broken-check
    targets: [k3]
    check: select count(*) > 0 from nope
  - {name: last, select: all}'
write_inv "$PF_TMP/check.yaml" "$CHECKS" k1 k2 k3 k4 k5
pf check apply -i "$PF_TMP/check.yaml" -f json
R=$PF_TMP/check.out
assert_eq 2 "$RC" "failing checks: exit 2"
assert_lines "k1 applied {\"passed\": true}
k2 failed {\"passed\": false}
k3 failed {\"passed\": false}
k4 skipped null
k5 skipped null" "$(jtargets "$R" 't["outcome"] + " " + show(t["check"])')" \
    "k1's check passed; k2's returned false; k3's failed; the last wave skipped"
assert_eq "wave gate check failed: it returned false" "$(jt "$R" k2 't["error"]["message"]')" \
    "k2: the reason is the check returning false"
assert_eq "wave broken-check check failed: relation \"nope\" does not exist (SQLSTATE 42P01)" \
    "$(jt "$R" k3 't["error"]["message"]')" "k3: the reason is the check's error"
assert_eq "0000_items 0001_more 0002_last|0000_items 0001_more 0002_last" "$(jt "$R" k2 '" ".join(t["applied"])')|$(jt "$R" k3 '" ".join(t["applied"])')" \
    "the migrations committed before the check stay applied (and reported)"
assert_lines "$H0
$H1
$(file_hash "$MIG/0002_last.sql") $((W + 3000))" "$(ledger k2)" "k2's ledger has every migration"
assert_eq "false 1 1 1|true 1 0 1" \
    "$(jget "$R" '"|".join(" ".join(show(x) for x in [w["halted"], w["failures"], w["allowed_failures"], w["checks_failed"]]) for w in d["waves"][:2])')" \
    "gate: 1 failure (its check) within max_failures 1; broken-check: 1 > 0, halted"
for db in k4 k5; do
    assert_lines "no ledger
tables: " "$(db_state "$db")" "$db untouched"
done
# A check cannot write (read-only transaction), nor hold more than one statement.
write_inv "$PF_TMP/rw.yaml" '  - name: w
    select: all
    max_failures: 100%
    check: with x as (insert into items values (1) returning 1) select count(*) = 1 from x' k1
pf rw apply -i "$PF_TMP/rw.yaml" -f json
assert_eq "failed" "$(jt "$PF_TMP/rw.out" k1 't["outcome"]')" "a writing check fails"
assert_contains "$(jt "$PF_TMP/rw.out" k1 't["error"]["message"]')" \
    "in a read-only transaction (SQLSTATE 25006)" "a writing check: read-only transaction"
assert_eq 0 "$(pg_psql k1 'select count(*) from items')" "a writing check wrote nothing"
write_inv "$PF_TMP/multi.yaml" '  - {name: m, select: all, check: "select true; select true"}' k1
pf multi apply -i "$PF_TMP/multi.yaml" -f json
assert_contains "$(jt "$PF_TMP/multi.out" k1 't["error"]["message"]')" \
    "cannot insert multiple commands into a prepared statement" "a check is one statement"
write_inv "$PF_TMP/notbool.yaml" '  - {name: m, select: all, check: "select 1 as one"}' k1
pf notbool apply -i "$PF_TMP/notbool.yaml" -f json
assert_eq "wave m check failed: its column \"one\" is not a boolean; hint: return a comparison, e.g. select count(*) > 0 from ..." \
    "$(jt "$PF_TMP/notbool.out" k1 't["error"]["message"]')" "a check must return a boolean"
pf check_plan plan -i "$PF_TMP/check.yaml" -f json
assert_eq "null null null null null" "$(jget "$PF_TMP/check_plan.out" '[t["check"] for t in d["targets"]]')" \
    "plan runs no check"
assert_eq 0 "$(pg_psql postgres "select count(*) from pg_locks where locktype = 'advisory'")" \
    "no advisory lock left behind"

# --- a refused canary halts the rollout (docs/waves.md: refused counts as a failure) ------------
# r_ooo got 0000 and 0002 from a branch without 0001: with the full folder 0001_more is
# out_of_order, and apply refuses it. r_foreign's dsn reaches r_wrong where it expects r_right.
pg_createdb r_ooo r_right r_wrong r_next1 r_next2
NO_MORE=$PF_TMP/no_more
cp -r "$MIG" "$NO_MORE"
mig_del "$NO_MORE" 0001_more
inv_write "$PF_TMP/ooo_prep.yaml" "$NO_MORE" "" r_ooo
pf ooo_prep apply -i "$PF_TMP/ooo_prep.yaml"
assert_eq 0 "$RC" "r_ooo: 0000 and 0002 applied from the branch (stderr: $(pf_err ooo_prep))"
for case in ooo foreign; do
    {
        echo "migrations: {dir: \"$MIG\"}"
        echo "targets:"
        if [ "$case" = ooo ]; then
            echo "  - {name: r_canary, dsn: \"$(pf_dsn r_ooo)\"}"
        else
            echo "  - {name: r_canary, dsn: \"$(pf_dsn r_wrong)\", expect: {database: r_right}}"
        fi
        echo "  - {name: r_next1, dsn: \"$(pf_dsn r_next1)\"}"
        echo "  - {name: r_next2, dsn: \"$(pf_dsn r_next2)\"}"
        echo "waves:"
        echo "  - {name: canary, targets: [r_canary]}"
        echo "  - {name: rest, select: all}"
    } >"$PF_TMP/refuse_$case.yaml"
    pf "refuse_$case" apply -i "$PF_TMP/refuse_$case.yaml" -f json
    R=$PF_TMP/refuse_$case.out
    assert_eq 2 "$RC" "$case canary: exit 2 (a wave halted the rollout) (stderr: $(pf_err "refuse_$case"))"
    want_status=out_of_order
    [ "$case" = ooo ] || want_status=foreign
    assert_lines "r_canary $want_status true refused
r_next1 null false skipped
r_next2 null false skipped" "$(jtargets "$R" 'show(t["status"]) + " " + show(t["started"]) + " " + t["outcome"]')" \
        "$case canary: refused, and the next wave not started"
    assert_eq "done true 1 0|skipped false" \
        "$(jget "$R" '"|".join(" ".join(show(x) for x in ([w["state"], w["halted"]] + ([w["failures"], w["allowed_failures"]] if w["state"] == "done" else []))) for w in d["waves"])')" \
        "$case canary: the refused target is the wave's 1 failure > 0 allowed: halted"
    assert_eq "wave canary halted the rollout: 1 failure > max_failures 0" \
        "$(jt "$R" r_next1 't["error"]["message"]')" "$case canary: the skipped targets say why"
    for db in r_next1 r_next2; do
        assert_lines "no ledger
tables: " "$(db_state "$db")" "$case canary: $db untouched"
    done
done
assert_eq "no ledger" "$(db_state r_wrong | head -n 1)" "foreign canary: nothing run on the database it reached"
assert_eq 2 "$(pg_psql r_ooo 'select count(*) from drizzle.__drizzle_migrations')" \
    "out_of_order canary: nothing applied (still 0000 and 0002)"

pf_done
