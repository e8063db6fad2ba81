# The harness itself (tests/lib/pg.sh): an assertion that fails anywhere fails its test — in
# $(...), a pipeline, ( ... ) or a background job, whose variables die with them — even when
# the script then exits 0 or never calls pf_done; a script whose assertions all pass exits 0.
# Each case is a small test script run on its own. Needs no database.
source "$PF_TESTS_DIR/lib/pg.sh"

PF_TMP=$(mktemp -d /tmp/pgfleet-test.XXXXXX)
export PF_TMP

# child NAME BODY: run a test script that sources pg.sh, then BODY; exit status in $RC,
# stdout and stderr together in $OUT; its temporary files in $PF_TMP/tmp.
child() {
    printf 'source "%s/lib/pg.sh"\n%s\n' "$PF_TESTS_DIR" "$2" >"$PF_TMP/$1.sh"
    RC=0
    mkdir -p "$PF_TMP/tmp"
    OUT=$(env -u PF_TMP TMPDIR="$PF_TMP/tmp" bash "$PF_TMP/$1.sh" 2>&1) || RC=$?
}

child passing 'x=$(assert_eq a a "same in a substitution"); echo "$x"
echo y | while read -r l; do assert_eq y "$l" "same in a pipeline"; done
pf_done'
assert_eq 0 "$RC" "every assertion passes: exit 0 (output: $OUT)"
assert_contains "$OUT" "ok: same in a substitution" "a passing assertion in \$(...) prints ok"
assert_contains "$OUT" "all assertions passed" "pf_done says all passed"

child subst 'x=$(fail "inside a command substitution"; echo value)
assert_eq value "$x" "the substitution still returns its output"
pf_done'
assert_eq 1 "$RC" "fail inside \$(...), then pf_done: exit 1"
assert_contains "$OUT" "FAIL: inside a command substitution" "the failure is printed"
assert_contains "$OUT" "1 assertion(s) failed" "the failure is counted"
assert_not_contains "$OUT" "all assertions passed" "pf_done does not claim success"

child assert_in_subst 'x=$(assert_eq want got "compared in a substitution"; echo done)
pf_done'
assert_eq 1 "$RC" "a failing assert_eq inside \$(...): exit 1"

child no_done 'x=$(fail "and no pf_done")'
assert_eq 1 "$RC" "fail inside \$(...) and no pf_done: exit 1"

child exit0 '( fail "in ( ... )" )
exit 0'
assert_eq 1 "$RC" "fail inside ( ... ), then exit 0: exit 1"

child pipeline 'printf "a\nb\n" | while read -r l; do fail "in a pipeline: $l"; done
pf_done'
assert_eq 1 "$RC" "fail inside a pipeline: exit 1"
assert_contains "$OUT" "2 assertion(s) failed" "both failures in the pipeline counted"

child background 'fail "in a background job" &
wait
pf_done'
assert_eq 1 "$RC" "fail inside a background job: exit 1"

child multiline 'fail "first line
second line"
pf_done'
assert_contains "$OUT" "1 assertion(s) failed" "a multi-line message counts once"

child exit3 'fail "then exit 3"
exit 3'
assert_eq 3 "$RC" "a failure does not hide the script's own non-zero exit"

assert_eq "" "$(ls -A "$PF_TMP/tmp")" "every child's failure file is removed at exit"

pf_done
