# History on a real PostgreSQL: --report-dir keeps each run's JSON report under
# pgfleet-<command>-<UTC time>-<pid>.json (the directory created when missing, the file written
# atomically, the normal output unchanged); after the fleet changes, pgfleet diff between two
# kept reports names every target that appeared, disappeared, changed status or pending count,
# exits 1, and 0 between two runs where nothing changed; invalid input exits 3 naming the file.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

pg_createdb h_a h_b h_c h_d h_e
CLOSED_PORT=$(pf_free_port)
W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_a $((W + 1000)) 'CREATE TABLE "a" ("id" integer);'
mig_add "$MIG" 0001_b $((W + 2000)) 'CREATE TABLE "b" ("id" integer);'
ONLY_A=$PF_TMP/only_a
mig_add "$ONLY_A" 0000_a $((W + 1000))
cp "$MIG/0000_a.sql" "$ONLY_A/"

INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$MIG" "connect_timeout: 5s" h_a h_b h_c h_e
pf prep apply -i "$INV" -t h_a -t h_b
assert_eq 0 "$RC" "h_a and h_b migrated"
pf prep apply -i "$INV" -m "$ONLY_A" -t h_e
assert_eq 0 "$RC" "h_e migrated to 0000_a only"

H=$PF_TMP/reports/nightly # neither reports/ nor nightly/ exists yet
NAME_RE='^pgfleet-(plan|apply|audit)-[0-9]{8}T[0-9]{6}Z-[0-9]+\.json$'

# newest: the report the last run kept.
newest() { ls -t "$H" | head -n 1; }

# ---- the first audit ------------------------------------------------------------------------------
pf audit1 audit -i "$INV" --report-dir "$H"
assert_eq 1 "$RC" "audit 1: exit 1 (h_c uninitialized, h_e behind)"
assert_eq 1 "$(grep -c '^h_c  *uninitialized ' "$PF_TMP/audit1.out")" \
    "audit 1: the text report is still printed on stdout"
[ -d "$H" ] && pass "--report-dir: the directory and its parent were created" ||
    fail "--report-dir: $H was not created"
A1=$(newest)
[[ "$A1" =~ $NAME_RE ]] && pass "--report-dir: the name is $A1" || fail "--report-dir: unexpected name $A1"
assert_eq "$(jget "$H/$A1" 'd["started_at"].replace("-", "").replace(":", "")')" \
    "$(sed -E 's/^pgfleet-audit-([0-9T]+Z)-.*/\1/' <<<"$A1")" "--report-dir: the name holds the run's UTC start"
assert_eq "1 audit 1" "$(jget "$H/$A1" '"%d %s %d" % (d["report_version"], d["command"], d["exit_code"])')" \
    "--report-dir: the file is the JSON report of the run"
assert_lines "h_a in_sync 0
h_b in_sync 0
h_c uninitialized 2
h_e behind 1" "$(jtargets "$H/$A1" 't["status"] + " " + str(len(t["pending"]))')" "audit 1: the kept statuses"

# ---- the fleet changes ---------------------------------------------------------------------------
sleep 1 # a later second, so that the names sort in run order
pf apply2 apply -i "$INV" -t h_c -f json -o "$PF_TMP/apply2.json" --report-dir "$H" -v
assert_eq 0 "$RC" "apply h_c: exit 0"
P2=$(newest)
[[ "$P2" =~ ^pgfleet-apply- ]] && pass "apply: kept as $P2" || fail "apply: unexpected name $P2"
cmp -s "$PF_TMP/apply2.json" "$H/$P2" && pass "the kept report is byte for byte the one -o wrote" ||
    fail "the kept report differs from -o's"
assert_contains "$(pf_err apply2)" "pgfleet: info: report kept in $H/$P2" "-v: says where the report was kept"

sleep 1
mig_add "$MIG" 0002_c $((W + 3000)) 'CREATE TABLE "c" ("id" integer);'
{
    echo "migrations: {dir: \"$MIG\"}"
    echo "defaults: {connect_timeout: 5s}"
    echo "targets:"
    printf '  - name: %s\n    dsn: "%s"\n' h_a "$(pf_dsn h_a)" \
        h_c "postgresql://postgres@127.0.0.1:$CLOSED_PORT/h_c" \
        h_e "$(pf_dsn h_e)" h_d "$(pf_dsn h_d)"
} >"$INV"
pf audit3 audit -i "$INV" --report-dir "$H" -f json -o "$PF_TMP/audit3.json"
assert_eq 2 "$RC" "audit 3: exit 2 (h_c unreachable)"
A3=$(newest)
sleep 1
pf audit4 audit -i "$INV" --report-dir "$H" -q
assert_eq 2 "$RC" "audit 4 (-q): exit 2 (h_c unreachable)"
A4=$(newest)
assert_contains "$(pf_err audit3)" "h_c: unreachable:" "without -q: the unreachable target is a warning on stderr"
assert_eq "" "$(pf_err audit4)" "-q: no warning on stderr"
assert_eq 1 "$(grep -c '^h_c  *unreachable ' "$PF_TMP/audit4.out")" "-q: the text report is still printed"
assert_eq 3 "$(ls "$H" | grep -c '^pgfleet-audit-')" "three audits kept"
assert_eq "$A1 $A3 $A4" "$(ls "$H" | grep '^pgfleet-audit-' | tr '\n' ' ' | sed 's/ $//')" \
    "the audits' names sort in run order"
bad=$(ls -A "$H" | grep -Ev "$NAME_RE" || true)
assert_eq "" "$bad" "nothing but reports in the directory (no temporary file left)"

# ---- pgfleet diff -----------------------------------------------------------------------------
pf diff13 diff "$H/$A1" "$H/$A3"
assert_eq 1 "$RC" "diff audit 1 -> audit 3: exit 1 (something changed)"
assert_lines "old: $H/$A1 (audit, $(jget "$H/$A1" 'd["started_at"]'), 4 targets)
new: $H/$A3 (audit, $(jget "$H/$A3" 'd["started_at"]'), 4 targets)
h_a: in_sync -> behind, pending 0 -> 1
h_c: uninitialized -> unreachable
h_e: pending 1 -> 2 (behind)
h_d: appeared, uninitialized, pending 3
h_b: disappeared, was in_sync
3 changed, 1 appeared, 1 disappeared, 0 unchanged" "$(pf_out diff13)" "diff audit 1 -> audit 3: every change"

pf diff13j diff "$H/$A1" "$H/$A3" --format json
assert_eq 1 "$RC" "diff --format json: exit 1"
R=$PF_TMP/diff13j.out
assert_eq "true 3 1 1 0" \
    "$(jget "$R" '"%s %d %d %d %d" % (show(d["changed"]), d["counts"]["changed"], d["counts"]["appeared"], d["counts"]["disappeared"], d["counts"]["unchanged"])')" \
    "diff JSON: the counts"
assert_lines "h_a changed status,pending
h_c changed status
h_e changed pending
h_d appeared 
h_b disappeared " "$(jget "$R" '"\n".join(c["target"] + " " + c["change"] + " " + ",".join(c["what"]) for c in d["changes"])')" \
    "diff JSON: each change and what changed"
assert_eq "uninitialized null" "$(jget "$R" '[show(c["old"]["status"]) + " " + show(c["new"]["pending"]) for c in d["changes"] if c["target"] == "h_c"][0]')" \
    "diff JSON: an unreachable target's pending count is null"

pf diff34 diff "$H/$A3" "$H/$A4"
assert_eq 0 "$RC" "diff between two audits of an unchanged fleet: exit 0"
assert_eq "no change: 4 targets unchanged" "$(pf_out diff34 | tail -n 1)" "diff: no change"
pf diff33 diff "$PF_TMP/audit3.json" "$H/$A3"
assert_eq 0 "$RC" "diff of a report with itself (-o's copy and the kept one): exit 0"

pf diff_o diff "$H/$A1" "$H/$A3" -o "$PF_TMP/diff.txt"
assert_eq 1 "$RC" "diff -o: exit 1"
assert_eq "$(pf_out diff13)" "$(cat "$PF_TMP/diff.txt")" "diff -o: the file holds what stdout would"
assert_eq "" "$(pf_out diff_o)" "diff -o: nothing on stdout"

pf diff_apply diff "$H/$P2" "$H/$A3"
assert_eq 1 "$RC" "diff apply -> audit: exit 1"
assert_contains "$(pf_out diff_apply)" "h_c: uninitialized -> unreachable" \
    "diff apply -> audit: the apply report's status as found"

# ---- invalid input: exit 3, naming the file -----------------------------------------------------
pf missing diff "$H/$A1" "$PF_TMP/nope.json"
assert_eq 3 "$RC" "diff: a missing file: exit 3"
assert_eq "pgfleet: $PF_TMP/nope.json: No such file or directory" "$(pf_err missing)" \
    "diff: a missing file: the message names it"
printf '{"report_version": 1,\n  "command": "audit",\n  "targets": [\n' >"$PF_TMP/cut.json"
pf cut diff "$PF_TMP/cut.json" "$H/$A1"
assert_eq 3 "$RC" "diff: a truncated report: exit 3"
assert_eq "pgfleet: $PF_TMP/cut.json: not valid JSON (line 4)" "$(pf_err cut)" \
    "diff: a truncated report: the file and the line"
pf lintjson lint -m "$MIG" -f json -o "$PF_TMP/lint.json"
assert_eq 0 "$RC" "lint -f json -o: exit 0 (stderr: $(pf_err lintjson))"
pf notreport diff "$H/$A1" "$PF_TMP/lint.json"
assert_eq 3 "$RC" "diff: a lint report: exit 3"
assert_eq "pgfleet: $PF_TMP/lint.json: not a pgfleet report; hint: pass the JSON report of plan, apply or audit (-f json, or a file kept by --report-dir)" \
    "$(pf_err notreport)" "diff: a lint report: the message"
pf html diff "$H/$A1" "$PF_TMP/audit3.json" -f html
assert_eq 3 "$RC" "diff -f html: exit 3"
assert_eq "pgfleet diff: unknown format 'html' (expected text or json)" "$(pf_err html)" \
    "diff -f html: the message"
pf one diff "$H/$A1"
assert_eq 3 "$RC" "diff with one report: exit 3"
assert_eq "pgfleet diff: expected two reports, OLD.json and NEW.json, not 1" "$(pf_err one)" \
    "diff with one report: the message"
pf help diff --help
assert_eq 0 "$RC" "diff --help: exit 0"
assert_contains "$(pf_out help)" "usage: pgfleet diff OLD.json NEW.json [-f text|json] [-o FILE]" \
    "diff --help: the usage line"
pf help2 help diff
assert_eq 0 "$RC" "pgfleet help diff: exit 0"
assert_eq "$(pf_out help)" "$(pf_out help2)" "pgfleet help diff = pgfleet diff --help"
pf top --help
assert_eq 0 "$RC" "pgfleet --help: exit 0"
assert_eq 1 "$(pf_out top | grep -cE '^  diff +compare two JSON reports')" "pgfleet --help lists diff"

# ---- a --report-dir that cannot be used: exit 3, nothing run ------------------------------------
touch "$PF_TMP/a-file"
pf notdir apply -i "$INV" -t h_d --report-dir "$PF_TMP/a-file"
assert_eq 3 "$RC" "--report-dir naming a file: exit 3"
assert_eq "pgfleet: $PF_TMP/a-file: not a directory" "$(pf_err notdir)" \
    "--report-dir naming a file: the message"
pf under apply -i "$INV" -t h_d --report-dir "$PF_TMP/a-file/sub"
assert_eq 3 "$RC" "--report-dir under a file: exit 3"
assert_eq "pgfleet: $PF_TMP/a-file/sub: cannot create the report directory: Not a directory" \
    "$(pf_err under)" "--report-dir under a file: the message"
assert_eq f "$(has_schema h_d drizzle)" "--report-dir unusable: apply ran nothing"
pf help_audit audit --help
assert_eq 0 "$RC" "audit --help: exit 0"
assert_contains "$(pf_out help_audit)" "--report-dir DIR" "audit --help mentions --report-dir"

pf_done
