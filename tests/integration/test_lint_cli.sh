# pgfleet lint from the command line: exit codes by the worst finding (0 none or info, 1
# warnings, 2 errors, 3 invalid invocation), text and JSON outputs parsed back and compared,
# -o, the folder taken from the inventory, --help (every rule listed and documented).
# Needs no database.
source "$PF_TESTS_DIR/lib/pg.sh"

PF_TMP=$(mktemp -d /tmp/pgfleet-test.XXXXXX)
export PF_TMP
trap pf_cleanup EXIT

DATA=$PF_TESTS_DIR/data/lint
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# run NAME ARGS...: pgfleet's stdout/stderr in $PF_TMP/NAME.out/.err, exit status in $RC.
run() {
    local name=$1
    shift
    RC=0
    "$PGFLEET" "$@" >"$PF_TMP/$name.out" 2>"$PF_TMP/$name.err" || RC=$?
}
out() { cat "$PF_TMP/$1.out"; }
err() { cat "$PF_TMP/$1.err"; }

# jq-like: a python expression over the JSON document in FILE (d).
jget() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"
}

# ---- exit codes by the worst severity -------------------------------------------------------

run clean lint -m "$PF_TESTS_DIR/fixtures/app/drizzle"
assert_eq 0 "$RC" "drizzle-kit generated folder: exit 0"
assert_eq "$PF_TESTS_DIR/fixtures/app/drizzle: 4 migrations checked, no findings" "$(out clean)" \
    "drizzle-kit generated folder: only the summary"

run info lint -m "$DATA/set_not_null"
assert_eq 0 "$RC" "info only: exit 0"
assert_eq "$DATA/set_not_null/0001_not_null.sql:7:1: info: SET NOT NULL on users.name, an existing column: PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock, and the migration fails if any row holds NULL [set-not-null]
  hint: fill the NULLs first (UPDATE users SET name = ... WHERE name IS NULL); on a large table validate a CHECK (name IS NOT NULL) NOT VALID constraint beforehand
$DATA/set_not_null: 2 migrations checked: 0 errors, 0 warnings, 1 info" "$(out info)" \
    "info: the finding, its hint, the summary"

run warn lint -m "$DATA/drop_column"
assert_eq 1 "$RC" "warnings only: exit 1"
assert_eq "$DATA/drop_column: 2 migrations checked: 0 errors, 2 warnings, 0 info" \
    "$(out warn | tail -n 1)" "warnings: summary"

run error lint -m "$DATA/non_transactional"
assert_eq 2 "$RC" "errors: exit 2"

# Errors beside warnings: the worst wins.
cp -r "$DATA/drop_column" "$PF_TMP/mixed"
printf '%s\n' '--> statement-breakpoint' 'VACUUM "users";' >>"$PF_TMP/mixed/0001_drop.sql"
run mixed lint -m "$PF_TMP/mixed" -f json
assert_eq 2 "$RC" "errors and warnings: exit 2"
assert_eq "drop-column:warning drop-column:warning non-transactional:error" \
    "$(jget "$PF_TMP/mixed.out" '[f["rule"] + ":" + f["severity"] for f in d["findings"]]')" \
    "errors and warnings: the findings in line order"

# Structure errors exit 2 too, and statements are still checked.
run struct lint -m "$DATA/duplicate_number"
assert_eq 2 "$RC" "duplicate numbers: exit 2"
assert_contains "$(out struct)" \
    "$DATA/duplicate_number/meta/_journal.json:23:7: error: 0001_posts_body has the same number 0001 as 0001_users_age" \
    "duplicate numbers: reported at the later entry's line of the journal"

# ---- JSON, and text parsed back against it ------------------------------------------------

check_json() { # NAME: the JSON document in NAME.out is well formed and consistent
    "$PY" - "$PF_TMP/$1.out" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rc = int(sys.argv[2])
assert set(d) == {"migrations_dir", "layout", "migrations_checked", "counts", "exit_code",
                  "findings"}, sorted(d)
assert d["layout"] in ("journal", "folders")
assert d["exit_code"] == rc, (d["exit_code"], rc)
keys = {"rule", "severity", "file", "line", "column", "migration", "message", "hint"}
counts = {"error": 0, "warning": 0, "info": 0}
for f in d["findings"]:
    assert set(f) == keys, sorted(f)
    counts[f["severity"]] += 1
    assert f["file"].startswith(d["migrations_dir"] + "/"), f["file"]
    assert (f["line"] is None) == (f["column"] is None)
    assert f["line"] is None or (f["line"] >= 1 and f["column"] >= 1)
    assert f["message"] and f["hint"] and "\n" not in f["message"] + f["hint"]
assert d["counts"] == counts, (d["counts"], counts)
worst = 2 if counts["error"] else 1 if counts["warning"] else 0
assert worst == rc, (worst, rc)
PY
}

# The text lines "file[:line:column]: severity: message [rule]" against the JSON findings.
text_matches_json() { # TEXT JSON
    "$PY" - "$PF_TMP/$1.out" "$PF_TMP/$2.out" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.load(open(sys.argv[2]))
got = []
for i, l in enumerate(lines[:-1]):
    if i % 2 == 1:
        assert l.startswith("  hint: "), l
        got[-1]["hint"] = l[len("  hint: "):]
        continue
    m = re.match(r"^(.+?)(?::(\d+):(\d+))?: (error|warning|info): (.*) \[([a-z0-9-]+)\]$", l)
    assert m, l
    got.append({"file": m[1], "line": int(m[2]) if m[2] else None,
                "column": int(m[3]) if m[3] else None, "severity": m[4], "message": m[5],
                "rule": m[6]})
want = [{k: f[k] for k in ("file", "line", "column", "severity", "message", "rule", "hint")}
        for f in d["findings"]]
assert got == want, (got, want)
c = d["counts"]
n = d["migrations_checked"]
summary = "%s: %d migration%s checked" % (d["migrations_dir"], n, "" if n == 1 else "s")
summary += (": %d error%s, %d warning%s, %d info" % (
    c["error"], "" if c["error"] == 1 else "s", c["warning"], "" if c["warning"] == 1 else "s",
    c["info"]) if d["findings"] else ", no findings")
assert lines[-1] == summary, (lines[-1], summary)
PY
}

for fixture in "$DATA"/*/ "$PF_TESTS_DIR/fixtures/app/drizzle/" "$PF_TESTS_DIR/fixtures/app-v1/drizzle/"; do
    fixture=${fixture%/}
    name=$(basename "$(dirname "$fixture")")_$(basename "$fixture")
    case $(basename "$fixture") in not_migrations | nul_byte) continue ;; esac # exit 3
    run "$name.text" lint -m "$fixture"
    text_rc=$RC
    run "$name.json" lint --migrations "$fixture" --format json
    assert_eq "$text_rc" "$RC" "$name: same exit code in text and JSON"
    if check_json "$name.json" "$RC"; then
        pass "$name: JSON well formed, counts and exit_code consistent"
    else
        fail "$name: JSON"
    fi
    if text_matches_json "$name.text" "$name.json"; then
        pass "$name: text lines parse back to the JSON findings"
    else
        fail "$name: text vs JSON"
    fi
done

assert_eq "enum-value-use error 0001_guest 6 53|enum-value-use error 0002_backfill 5 17" \
    "$(jget "$PF_TMP/lint_enum_value_use.json.out" \
        '"|".join("%s %s %s %s %s" % (f["rule"], f["severity"], f["migration"], f["line"], f["column"]) for f in d["findings"])')" \
    "JSON: enum value use, with migration, line and column"
assert_eq "None None journal" \
    "$(jget "$PF_TMP/lint_journal_missing.json.out" \
        '"%s %s %s" % (d["findings"][0]["line"], d["findings"][0]["migration"], d["layout"])')" \
    "JSON: a finding on a file as a whole has null line and migration"
assert_eq folders "$(jget "$PF_TMP/lint_v1_bad_name.json.out" 'd["layout"]')" "JSON: v1 layout"

# ---- -o --------------------------------------------------------------------------------------

run to_file lint -m "$DATA/drop_table" -f json -o "$PF_TMP/report.json"
assert_eq 1 "$RC" "-o: exit code still by the findings"
assert_eq "" "$(out to_file)" "-o: nothing on stdout"
run to_stdout lint -m "$DATA/drop_table" -f json
assert_eq "$(out to_stdout)" "$(cat "$PF_TMP/report.json")" "-o: the file holds what stdout would"

# ---- the folder from the inventory -----------------------------------------------------------

mkdir -p "$PF_TMP/project"
cat >"$PF_TMP/project/pgfleet.yaml" <<YAML
migrations:
  dir: ./drizzle
targets: []
YAML
cp -r "$DATA/drop_table" "$PF_TMP/project/drizzle"
run inv lint -i "$PF_TMP/project/pgfleet.yaml"
assert_eq 1 "$RC" "-i: migrations.dir, relative to the inventory"
SUMMARY=$(out inv | tail -n 1)
assert_contains "$SUMMARY" "$PF_TMP/project/" "-i: the folder is resolved next to the inventory"
assert_contains "$SUMMARY" "drizzle: 2 migrations checked: 0 errors, 2 warnings, 0 info" \
    "-i: the folder named by the inventory"
RC=0
(cd "$PF_TMP/project" && "$PGFLEET" lint >"$PF_TMP/cwd.out" 2>&1) || RC=$?
assert_eq 1 "$RC" "no -i: pgfleet.yaml in the current directory"
RC=0
(cd / && PGFLEET_INVENTORY="$PF_TMP/project/pgfleet.yaml" "$PGFLEET" lint >/dev/null 2>&1) || RC=$?
assert_eq 1 "$RC" "no -i: \$PGFLEET_INVENTORY"
run m_wins lint -i "$PF_TMP/project/pgfleet.yaml" -m "$PF_TESTS_DIR/fixtures/app/drizzle"
assert_eq 0 "$RC" "-m wins over the inventory's migrations.dir"

printf 'targets: []\n' >"$PF_TMP/nodir.yaml"
run nodir lint -i "$PF_TMP/nodir.yaml"
assert_eq 3 "$RC" "inventory without migrations.dir: exit 3"
assert_eq "pgfleet: $PF_TMP/nodir.yaml: no migrations folder; hint: set migrations.dir in the inventory or pass --migrations DIR" \
    "$(err nodir)" "inventory without migrations.dir: the message"
run noinv lint -i "$PF_TMP/no-such.yaml"
assert_eq 3 "$RC" "missing inventory: exit 3"

# ---- invalid invocations: exit 3 ------------------------------------------------------------

run bad_format lint -m "$DATA/drop_table" -f xml
assert_eq 3 "$RC" "unknown format: exit 3"
assert_eq "pgfleet lint: unknown format 'xml' (expected text or json)" "$(err bad_format)" \
    "unknown format: the message"
run bad_opt lint --jobs 3 -m "$DATA/drop_table"
assert_eq 3 "$RC" "unknown option: exit 3"
run extra lint "$DATA/drop_table"
assert_eq 3 "$RC" "a stray argument: exit 3"
assert_contains "$(err extra)" "hint: the folder goes after -m" "a stray argument: the hint"
run missing lint -m "$PF_TMP/nowhere"
assert_eq 3 "$RC" "missing folder: exit 3"
assert_eq "pgfleet: $PF_TMP/nowhere: migrations folder not found" "$(err missing)" \
    "missing folder: the message"
run notmig lint -m "$DATA/not_migrations"
assert_eq 3 "$RC" "not a migrations folder: exit 3"
assert_contains "$(err notmig)" "is this a drizzle migrations folder?" \
    "not a migrations folder: the message"
assert_eq "" "$(out notmig)" "not a migrations folder: nothing on stdout"
# One reader of the folder, one wording: for each problem plan, apply and audit refuse a folder for,
# they stop at the first one with the words, file:line:column and hint of lint's first
# finding of that rule ("pgfleet: FILE[:LINE:COL]: MESSAGE; hint: HINT"), before any target
# is reached.
said_as_lint() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == sys.argv[2]][0]
at = "%s:%d:%d" % (f["file"], f["line"], f["column"]) if f["line"] else f["file"]
print("pgfleet: %s: %s; hint: %s" % (at, f["message"], f["hint"]))' "$1" "$2"
}
for c in journal_missing:journal-missing journal_malformed:journal-malformed \
    journal_conflict:journal-malformed journal_bad_entry:journal-malformed \
    missing_file:missing-file duplicate_tag:duplicate-tag mixed_layout:mixed-layout \
    v1_bad_name:v1-bad-name; do
    folder=${c%%:*} rule=${c#*:}
    run "words_$folder" lint -m "$DATA/$folder" -f json
    assert_eq 2 "$RC" "$folder: lint exit 2"
    WANT=$(said_as_lint "$PF_TMP/words_$folder.out" "$rule")
    for cmd in plan apply audit; do
        run "words_${folder}_$cmd" "$cmd" --dsn "postgresql://nobody@127.0.0.1:1/none" \
            -m "$DATA/$folder"
        assert_eq 3 "$RC" "$folder: $cmd exit 3"
        assert_eq "$WANT" "$(err "words_${folder}_$cmd")" "$folder: $cmd says it as lint does"
    done
done
# The words themselves, as lint prints them.
run nometa lint -m "$DATA/journal_missing"
assert_contains "$(out nometa)" "$DATA/journal_missing/meta/_journal.json: error: no meta/_journal.json beside the .sql files: drizzle-orm refuses the folder (\"Can't find meta/_journal.json file\") [journal-missing]" \
    "no meta/: lint's words"
assert_eq "pgfleet: $DATA/journal_missing/meta/_journal.json: no meta/_journal.json beside the .sql files: drizzle-orm refuses the folder (\"Can't find meta/_journal.json file\"); hint: commit meta/ too: drizzle-kit generate writes the journal and the snapshots there" \
    "$(err words_journal_missing_plan)" "no meta/: plan's words"
# What drizzle-orm runs all the same (a file it never runs, a number used twice, a `when`
# going back, a v1 folder without migration.sql) is lint's error, not plan's: plan goes on to
# the target (unreachable here, another exit code).
for folder in orphan_sql duplicate_number when_not_increasing v1_missing_sql; do
    run "read_$folder" plan --dsn "postgresql://nobody@127.0.0.1:1/none" -m "$DATA/$folder"
    assert_contains "$(err "read_$folder")" "127.0.0.1" "$folder: plan reads the folder and goes on to the target"
done
run badout lint -m "$DATA/drop_table" -o "$PF_TMP/no/such/dir/out.txt"
assert_eq 3 "$RC" "unwritable -o: exit 3"

# ---- --help ----------------------------------------------------------------------------------

run help lint --help
assert_eq 0 "$RC" "--help: exit 0"
HELP=$(out help)
assert_contains "$HELP" "usage: pgfleet lint [-m DIR | -i INVENTORY] [-f text|json] [-o FILE]" \
    "--help: usage line"
assert_contains "$HELP" "Exit codes: 0 no findings, or info only; 1 the worst finding is a warning;" \
    "--help: exit codes"
run help2 help lint
assert_eq "$HELP" "$(out help2)" "pgfleet help lint = pgfleet lint --help"
run top --help
assert_contains "$(out top)" "  lint          check the migrations folder without any database" \
    "pgfleet --help lists lint"

# Every rule --help lists is documented with the same severity in docs/lint.md.
RULES=$(printf '%s\n' "$HELP" | sed -n '/^Rules/,/^$/p' | awk 'NF >= 2 && $1 ~ /^(error|warning|info)$/ {print $1, $2}')
assert_eq 22 "$(printf '%s\n' "$RULES" | wc -l)" "--help: 22 rules"
DOC=$PF_TESTS_DIR/../docs/lint.md
while read -r severity rule; do
    if grep -qE "^\| \`$rule\` \| $severity \|" "$DOC"; then
        pass "docs/lint.md: $rule ($severity)"
    else
        fail "docs/lint.md has no row | \`$rule\` | $severity |"
    fi
done <<<"$RULES"

pf_done
