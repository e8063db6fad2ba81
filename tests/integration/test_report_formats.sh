# The report formats from real runs on a real PostgreSQL. A fleet with every status (and a
# target whose name holds every character a format must escape); plan, audit and apply each
# write JUnit, Prometheus, Markdown and HTML while --report-dir keeps the JSON report of the
# same run, and each output is parsed back and compared with that JSON
# (tests/lib/report_formats.py): JUnit with xml.etree (counts, one test case per target,
# failing = not in sync), Prometheus with a parser of the exposition format (every per-target
# value), Markdown (count tables and rows, escapes undone), HTML rendered in headless Chromium
# (the counts shown, targets x migrations cells, each cell's state, sticky header, no resource
# loaded). Then the Prometheus file is rewritten under a reader that must never see half of
# it, and a 500-target x 100-migration fleet checks the HTML's size and rendering.
# PF_KEEP_SCREENSHOTS=DIR keeps Chromium's screenshots (small-audit.png, big-audit.png) there.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

CHECK=("$PF_PY" "$PF_TESTS_DIR/lib/report_formats.py")
CHROMIUM=$(command -v chromium || true)

# browser ARGS... URL: headless Chromium, isolated, quiet, bounded in time.
browser() {
    local profile
    profile=$(mktemp -d "$PF_TMP/chromium.XXXXXX")
    timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-extensions --user-data-dir="$profile" "$@" 2>>"$PF_TMP/chromium.log"
}

# check NAME KIND ARGS...: run a report_formats.py check; its lines in $PF_TMP/NAME.check.
check() {
    local name=$1
    shift
    if "${CHECK[@]}" "$@" >"$PF_TMP/$name.check" 2>&1; then
        pass "$name: $(grep -c '^ok:' "$PF_TMP/$name.check") checks passed"
    else
        fail "$name: $(tail -n 3 "$PF_TMP/$name.check")"
    fi
}

# check_html NAME HTML JSON: no external resource; rendered by Chromium, the probe's findings
# (counts, cells, states) match the JSON.
check_html() {
    local name=$1 page=$2 json=$3
    check "$name.raw" html-raw "$page"
    "${CHECK[@]}" html-probe "$page" "$PF_TMP/$name.probe.html"
    browser --window-size=1280,900 --dump-dom "file://$PF_TMP/$name.probe.html" \
        >"$PF_TMP/$name.dom" || fail "$name: chromium --dump-dom failed: $(tail -n 3 "$PF_TMP/chromium.log")"
    check "$name.dom" html-dom "$PF_TMP/$name.dom" "$json"
}

if [ -z "$CHROMIUM" ]; then
    fail "chromium is not installed; hint: scripts/install-deps.sh installs it"
fi

# ---- the fleet ----------------------------------------------------------------------------------
ST=(st_sync st_behind st_uninit st_ooo st_modified st_ahead st_foreign st_locked)
pg_createdb "${ST[@]}"
CLOSED_PORT=$(pf_free_port)
W=$PF_WHEN0
FULL=$PF_TMP/drizzle
mig_add "$FULL" 0000_a $((W + 1000)) 'CREATE TABLE "a" ("id" integer);'
mig_add "$FULL" 0001_b $((W + 2000)) 'CREATE TABLE "b" ("id" integer);'
mig_add "$FULL" 0002_c $((W + 3000)) 'CREATE TABLE "c" ("id" integer);'
ONLY_A=$PF_TMP/only_a
mig_add "$ONLY_A" 0000_a $((W + 1000))
cp "$FULL/0000_a.sql" "$ONLY_A/"
AC=$PF_TMP/ac # a branch without 0001_b
cp -r "$FULL" "$AC"
mig_del "$AC" 0001_b
PRE_EDIT=$PF_TMP/pre_edit # 0000_a as it was before it was edited
cp -r "$FULL" "$PRE_EDIT"
printf 'CREATE TABLE "a" ("id" bigint);\n' >"$PRE_EDIT/0000_a.sql"

ODD='odd | "quoted" <b>&amp;</b> \ end'
INV=$PF_TMP/fleet.yaml
inv_write "$INV" "$FULL" "connect_timeout: 5s, lock_wait: 1s" "${ST[@]}"
cat >>"$INV" <<YAML
  - name: st_unreachable
    dsn: "postgresql://postgres@127.0.0.1:$CLOSED_PORT/st_sync"
  - name: 'odd | "quoted" <b>&amp;</b> \\ end'
    dsn: "postgresql://postgres:secret@127.0.0.1:$CLOSED_PORT/odd"
YAML

prep() { # TARGET FOLDER: apply FOLDER to TARGET
    pf prep apply -i "$INV" -m "$2" -t "$1"
    [ "$RC" = 0 ] || fail "preparing $1 with $2: exit $RC: $(pf_err prep)"
}
prep st_sync "$FULL"
prep st_behind "$ONLY_A"
prep st_ooo "$AC"
prep st_modified "$PRE_EDIT"
prep st_ahead "$FULL"
pg_psql st_ahead "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf n | sha256sum | cut -c1-64)', $((W + 9000)))"
prep st_foreign "$FULL"
pg_psql st_foreign "insert into drizzle.__drizzle_migrations (hash, created_at) values ('$(printf f | sha256sum | cut -c1-64)', $((W + 1500)))"
prep st_locked "$FULL"
pf inv inventory -i "$INV" -f json
assert_eq 0 "$RC" "inventory -f json: exit 0 (stderr: $(pf_err inv))"
lock_hold st_locked "$(jget "$PF_TMP/inv.out" '[t["lock_key"] for t in d["targets"] if t["name"] == "st_locked"][0]')" report-test-holder

# apply changes st_behind and st_uninit: put them back before each apply.
reset_movers() {
    psql -X -q -d postgres -c 'DROP DATABASE st_behind' -c 'DROP DATABASE st_uninit' >/dev/null
    pg_createdb st_behind st_uninit
    prep st_behind "$ONLY_A"
}

# ---- every format from plan, audit and apply ----------------------------------------------------
for cmd in plan audit apply; do
    for fmt in junit prometheus markdown html; do
        [ "$cmd" = apply ] && reset_movers
        H=$PF_TMP/history/$cmd-$fmt
        OUT=$PF_TMP/$cmd.$fmt
        pf "$cmd.$fmt" "$cmd" -i "$INV" -f "$fmt" -o "$OUT" --report-dir "$H"
        assert_eq 2 "$RC" "$cmd -f $fmt: exit 2 (two targets unreachable)"
        assert_eq "" "$(pf_out "$cmd.$fmt")" "$cmd -f $fmt -o FILE: nothing on stdout"
        assert_eq 1 "$(ls "$H" | wc -l)" "$cmd -f $fmt --report-dir: one JSON report kept"
        J=$(ls "$H"/*.json)
        cp "$J" "$PF_TMP/$cmd.$fmt.json"
        if [ "$fmt" = html ]; then
            check_html "$cmd.$fmt" "$OUT" "$J"
        else
            check "$cmd.$fmt" "$fmt" "$OUT" "$J"
        fi
    done
done

# The runs really saw every status (the checks above compare each format with its JSON).
# (plan's statuses: audit may say migrating where plan says locked.)
assert_lines "st_sync in_sync
st_behind behind
st_uninit uninitialized
st_ooo out_of_order
st_modified modified
st_ahead ahead
st_foreign foreign
st_locked locked
st_unreachable unreachable
$ODD unreachable" "$(jtargets "$PF_TMP/plan.junit.json" 't["status"]')" "plan: every status in the fleet"
assert_lines "st_sync in_sync unchanged
st_behind behind applied
st_uninit uninitialized applied
st_ooo out_of_order refused
st_modified modified refused
st_ahead ahead refused
st_foreign foreign refused
st_locked locked failed
st_unreachable unreachable failed
$ODD unreachable failed" "$(jtargets "$PF_TMP/apply.junit.json" 't["status"] + " " + t["outcome"]')" \
    "apply: every outcome in the fleet"

# ---- pinned outcomes, beside the comparison with JSON -------------------------------------------
NOT_SYNC="$ODD st_ahead st_behind st_foreign st_locked st_modified st_ooo st_uninit st_unreachable"
assert_eq "failing: $NOT_SYNC" "$(grep '^failing:' "$PF_TMP/audit.junit.check")" \
    "audit JUnit: the failing test cases are the targets not in sync"
assert_eq "failing: $NOT_SYNC" "$(grep '^failing:' "$PF_TMP/plan.junit.check")" \
    "plan JUnit: the failing test cases are the targets not in sync"
assert_eq "failing: $ODD st_ahead st_foreign st_locked st_modified st_ooo st_unreachable" \
    "$(grep '^failing:' "$PF_TMP/apply.junit.check")" \
    "apply JUnit: behind and uninitialized pass once applied"
X=$(cat "$PF_TMP/audit.junit")
assert_contains "$X" '<testsuite name="pgfleet-audit" tests="10" failures="7" errors="2" skipped="0"' \
    "audit JUnit: 10 tests, 7 failures, 2 errors"
assert_contains "$X" '<failure message="behind: 2 pending migrations" type="behind">status: behind
pending: 0001_b 0002_c
' "audit JUnit: a behind target's failure lists its pending migrations"
assert_contains "$X" 'name="odd | &quot;quoted&quot; &lt;b&gt;&amp;amp;&lt;/b&gt; \ end"' \
    "JUnit: the odd name XML-escaped"
assert_contains "$(cat "$PF_TMP/audit.prometheus")" \
    'pgfleet_target_pending_migrations{command="audit",target="st_behind"} 2' \
    "Prometheus: st_behind has 2 pending migrations"
assert_contains "$(cat "$PF_TMP/audit.prometheus")" \
    'pgfleet_target_status{command="audit",target="odd | \"quoted\" <b>&amp;</b> \\ end",status="unreachable"} 1' \
    "Prometheus: the odd name escaped as a label value"
assert_contains "$(cat "$PF_TMP/apply.prometheus")" \
    'pgfleet_target_pending_migrations{command="apply",target="st_uninit"} 0' \
    "Prometheus (apply): nothing pending on st_uninit after the run"
M=$(cat "$PF_TMP/audit.markdown")
assert_eq "### pgfleet audit: targets failed or unreachable" "$(head -n 1 <<<"$M")" \
    "Markdown: the heading says the command and the verdict"
assert_contains "$M" '| odd \| "quoted" \<b\>\&amp;\</b\> \\ end | `unreachable` | - | connection to server' \
    "Markdown: the odd name's pipe and markup escaped"
assert_contains "$M" '| st\_behind | `behind` | 2 | pending: 0001\_b, 0002\_c |' \
    "Markdown: a behind target's row"
assert_contains "$(cat "$PF_TMP/apply.markdown")" "**3 of 10 targets in sync** · applied 5 migrations to 2 targets" \
    "Markdown (apply): what was applied"

# One screenshot of the small fleet's audit, to look at by hand (kept in the test's log).
browser --window-size=1280,900 --screenshot="$PF_TMP/audit.png" "file://$PF_TMP/audit.html" >/dev/null || true
[ -s "$PF_TMP/audit.png" ] && pass "Chromium made a screenshot of the HTML report" ||
    fail "no screenshot: $(tail -n 3 "$PF_TMP/chromium.log")"
[ -n "${PF_KEEP_SCREENSHOTS:-}" ] && cp "$PF_TMP/audit.png" "$PF_KEEP_SCREENSHOTS/small-audit.png"

# ---- options ------------------------------------------------------------------------------------
pf bad_format audit -i "$INV" -f xml
assert_eq 3 "$RC" "unknown format: exit 3"
assert_eq "pgfleet audit: unknown format 'xml' (expected text, json, junit, prometheus, markdown or html)" \
    "$(pf_err bad_format)" "unknown format: the message names every format"
for cmd in plan apply audit; do
    pf "help_$cmd" "$cmd" --help
    assert_eq 0 "$RC" "$cmd --help: exit 0"
    assert_contains "$(pf_out "help_$cmd")" "text (default), json, junit, prometheus," "$cmd --help lists the formats"
done
pf md_stdout audit -i "$INV" -f markdown -t st_sync
assert_eq 0 "$RC" "markdown on stdout: exit 0"
assert_eq "### pgfleet audit: in sync" "$(pf_out md_stdout | head -n 1)" "markdown on stdout: in sync"

# ---- Prometheus for the textfile collector: rewritten atomically ------------------------------
PROM_DIR=$PF_TMP/textfile
mkdir -p "$PROM_DIR"
pf prom1 audit -i "$INV" -f prometheus -o "$PROM_DIR/pgfleet.prom" -t 'st_[a-s]*'
assert_eq 1 "$RC" "Prometheus -o: audit exits 1 (not in sync) (stderr: $(pf_err prom1))"
INODE1=$(stat -c %i "$PROM_DIR/pgfleet.prom")
# A reader reads the file in a loop while audits rewrite it; every read must be whole.
"$PF_PY" - "$PROM_DIR/pgfleet.prom" "$PF_TMP/prom.stop" >"$PF_TMP/prom.reader" 2>&1 <<'PY' &
import os, sys, time
path, stop = sys.argv[1], sys.argv[2]
reads = partial = 0
while not os.path.exists(stop) and reads < 200000:
    with open(path) as f:
        t = f.read()
    reads += 1
    if not (t.endswith("\n") and "pgfleet_target_duration_seconds{" in t and t.startswith("# HELP")):
        partial += 1
print(reads, partial)
PY
READER=$!
PF_BG_PIDS+=("$READER")
for i in 1 2 3 4 5; do
    pf "prom_again$i" audit -i "$INV" -f prometheus -o "$PROM_DIR/pgfleet.prom" -t 'st_[a-s]*'
    assert_eq 1 "$RC" "Prometheus -o: audit $i exits 1"
done
touch "$PF_TMP/prom.stop"
pf_bg_reap "$READER"
read -r READS PARTIAL <"$PF_TMP/prom.reader" || true
echo "observed: the reader read the file $READS times"
assert_eq 0 "$PARTIAL" "Prometheus -o: a reader never sees a partial file"
[ "${READS:-0}" -gt 5 ] && pass "the reader read while the file was rewritten" || fail "the reader did not run: $(cat "$PF_TMP/prom.reader")"
assert_eq "pgfleet.prom" "$(ls -A "$PROM_DIR")" "Prometheus -o: no temporary file left in the directory"
[ "$(stat -c %i "$PROM_DIR/pgfleet.prom")" != "$INODE1" ] && pass "Prometheus -o: replaced by rename (new inode)" ||
    fail "Prometheus -o: the file was rewritten in place"

# ---- 500 targets x 100 migrations ---------------------------------------------------------------
BIG=$PF_TMP/big
BIG60=$PF_TMP/big60
"$PF_PY" - "$BIG" "$BIG60" "$W" <<'PY'
import json, os, sys
big, big60, w = sys.argv[1], sys.argv[2], int(sys.argv[3])
for folder, n in ((big, 100), (big60, 60)):
    os.makedirs(folder + "/meta")
    entries = []
    for i in range(n):
        tag = "%04d_step_%s" % (i, "abcdefghij"[i % 10] * (4 + i % 7))
        with open("%s/%s.sql" % (folder, tag), "w") as f:
            f.write('CREATE TABLE "t%d" ("id" integer);\n' % i)
        entries.append({"idx": i, "version": "7", "when": w + 1000 * (i + 1), "tag": tag,
                        "breakpoints": True})
    with open(folder + "/meta/_journal.json", "w") as f:
        json.dump({"version": "7", "dialect": "postgresql", "entries": entries}, f, indent=2)
PY
pg_createdb big_sync big_behind big_uninit big_modified
BIGINV=$PF_TMP/big.yaml
inv_write "$BIGINV" "$BIG" "connect_timeout: 5s" big_sync big_behind big_uninit big_modified
pf big_prep apply -i "$BIGINV" -t big_sync -t big_modified
assert_eq 0 "$RC" "500 targets: 100 migrations applied to big_sync and big_modified"
pf big_prep apply -i "$BIGINV" -m "$BIG60" -t big_behind
assert_eq 0 "$RC" "500 targets: the first 60 applied to big_behind"
pg_psql big_modified "update drizzle.__drizzle_migrations set hash = 'edited' where id = 42"
# 500 uniquely named targets over 4 databases (dsns repeat), every tenth one unreachable.
"$PF_PY" - "$BIG" "$PGPORT" "$CLOSED_PORT" >"$BIGINV" <<'PY'
import sys
folder, port, closed = sys.argv[1], sys.argv[2], sys.argv[3]
dbs = ["big_sync", "big_behind", "big_uninit", "big_modified"]
print('migrations: {dir: "%s"}' % folder)
print("defaults: {connect_timeout: 5s}")
print("targets:")
for i in range(500):
    db = "gone" if i % 10 == 9 else dbs[i % 4]
    print('  - name: tenant-%03d-%s' % (i, db.replace("big_", "")))
    print('    dsn: "postgresql://postgres@127.0.0.1:%s/%s"' % (closed if db == "gone" else port, db))
PY
T0=$(date +%s.%N)
pf big_html audit -i "$BIGINV" -j 8 -f html -o "$PF_TMP/big.html" --report-dir "$PF_TMP/big-history"
echo "observed: audit of 500 targets took $(echo "$(date +%s.%N) - $T0" | bc) s"
assert_eq 2 "$RC" "500 targets: audit exits 2 (50 unreachable)"
BJ=$(ls "$PF_TMP"/big-history/*.json)
assert_eq "50 125 100 125 100" \
    "$(jget "$BJ" '"%d %d %d %d %d" % (d["counts"]["unreachable"], d["counts"]["in_sync"], d["counts"]["behind"], d["counts"]["uninitialized"], d["counts"]["modified"])')" \
    "500 targets: 50 unreachable, 125 in_sync, 100 behind, 125 uninitialized, 100 modified"
SIZE=$(stat -c %s "$PF_TMP/big.html")
echo "observed: the HTML report of 500 targets x 100 migrations is $SIZE bytes"
[ "$SIZE" -lt 1500000 ] && pass "500 targets: the HTML is under 1.5 MB ($SIZE bytes)" ||
    fail "500 targets: the HTML is $SIZE bytes"
T0=$(date +%s.%N)
check_html big.html "$PF_TMP/big.html" "$BJ"
echo "observed: Chromium rendered and probed it in $(echo "$(date +%s.%N) - $T0" | bc) s"
browser --window-size=1400,1000 --screenshot="$PF_TMP/big.png" "file://$PF_TMP/big.html" >/dev/null || true
[ -s "$PF_TMP/big.png" ] && pass "500 targets: Chromium made a screenshot" || fail "500 targets: no screenshot"
[ -n "${PF_KEEP_SCREENSHOTS:-}" ] && cp "$PF_TMP/big.png" "$PF_KEEP_SCREENSHOTS/big-audit.png"

pf big_md audit -i "$BIGINV" -j 8 -f markdown -o "$PF_TMP/big.md" --report-dir "$PF_TMP/big-md"
assert_eq 2 "$RC" "500 targets: audit -f markdown exits 2 (50 unreachable)"
check big.md markdown "$PF_TMP/big.md" "$(ls "$PF_TMP"/big-md/*.json)"
assert_eq "… and 325 more not in sync: see the full report." "$(grep '^… and' "$PF_TMP/big.md")" \
    "500 targets: Markdown lists 50 targets not in sync and counts the rest"
assert_contains "$(cat "$PF_TMP/big.md")" "125 targets in sync not listed." \
    "500 targets: Markdown says how many in sync it left out"

lock_release report-test-holder
pf_done
