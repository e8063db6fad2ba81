# A report that cannot be written is found out before anything runs: -o in a missing folder or
# naming a folder, for plan, apply and audit, with an inventory (whose plugins are not even
# loaded) or --dsn: exit 3, the path named, no migration applied, no ledger created. A writable
# -o still gets the report, and nothing else is left beside it; -o naming a device, a FIFO, a
# pipe or a symbolic link writes through it and leaves it what it was.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start

PLUG=$PF_TMP/plugins
mkdir -p "$PLUG"
cp "$PF_TEST_PLUGINS_DIR"/record.so "$PLUG"/

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_items $((W + 1000)) 'CREATE TABLE "items" ("id" integer);'
mig_add "$MIG" 0001_more $((W + 2000)) 'CREATE TABLE "more" ("id" integer);'

pg_createdb rp_a rp_b
INV=$PF_TMP/fleet.yaml
REC=$PF_TMP/events.txt
inv_write "$INV" "$MIG" "" rp_a rp_b
printf 'plugins:\n  - {path: "%s/record.so", config: {file: "%s"}}\n' "$PLUG" "$REC" >>"$INV"

BAD=/nonexistent/dir/r.json
mkdir -p "$PF_TMP/reports"
for cmd in plan apply audit; do
    pf "$cmd.missing" "$cmd" -i "$INV" -f json -o "$BAD"
    assert_eq 3 "$RC" "$cmd -o in a missing folder: exit 3"
    assert_eq "pgfleet: $BAD: cannot write the report there: No such file or directory" \
        "$(pf_err "$cmd.missing")" "$cmd -o in a missing folder: the message names the path"
    assert_eq "" "$(pf_out "$cmd.missing")" "$cmd -o in a missing folder: no report on stdout"

    pf "$cmd.dir" "$cmd" -i "$INV" -o "$PF_TMP/reports"
    assert_eq 3 "$RC" "$cmd -o naming a folder: exit 3"
    assert_eq "pgfleet: $PF_TMP/reports: cannot write the report there: is a directory" \
        "$(pf_err "$cmd.dir")" "$cmd -o naming a folder: the message"

    pf "$cmd.dsn" "$cmd" --dsn "$(pf_dsn rp_a)" -m "$MIG" -o "$BAD"
    assert_eq 3 "$RC" "$cmd --dsn -o in a missing folder: exit 3"
    assert_eq "pgfleet: $BAD: cannot write the report there: No such file or directory" \
        "$(pf_err "$cmd.dsn")" "$cmd --dsn -o in a missing folder: the message"

    pf "$cmd.both" "$cmd" -i "$INV" -o "$BAD" --report-dir "$PF_TMP/reports/kept"
    assert_eq 3 "$RC" "$cmd -o bad with --report-dir: exit 3"
    [ -e "$PF_TMP/reports/kept" ] && fail "$cmd: -o was checked after --report-dir was created" ||
        pass "$cmd: -o is checked first, --report-dir not created"
done
for db in rp_a rp_b; do
    assert_eq "f f" "$(has_schema "$db" drizzle) $(has_table "$db" items)" \
        "$db: nothing was applied, no ledger created"
done
[ -e "$REC" ] && fail "the inventory's plugin was loaded: $(cat "$REC")" ||
    pass "the inventory's plugins were not loaded"
assert_eq "" "$(ls -A "$PF_TMP/reports")" "no temporary file left in the -o folder"

# --report-dir that cannot be created: exit 3 before anything (as with -o).
touch "$PF_TMP/a-file"
pf rdir apply -i "$INV" --report-dir "$PF_TMP/a-file/sub"
assert_eq 3 "$RC" "--report-dir under a file: exit 3"
assert_eq "pgfleet: $PF_TMP/a-file/sub: cannot create the report directory: Not a directory" \
    "$(pf_err rdir)" "--report-dir under a file: the message"
assert_eq "f" "$(has_schema rp_a drizzle)" "--report-dir unusable: nothing applied"

# A writable -o: the run happens and the report is the only file written there.
pf ok apply -i "$INV" -f json -o "$PF_TMP/reports/r.json"
assert_eq 0 "$RC" "apply -o into a writable folder: exit 0"
assert_eq "rp_a applied
rp_b applied" "$(jtargets "$PF_TMP/reports/r.json" 't["outcome"]')" "the report was written"
assert_eq "r.json" "$(ls -A "$PF_TMP/reports")" "only the report is in the folder"
assert_eq "t t" "$(has_table rp_a items) $(has_table rp_b more)" "the migrations were applied"

# -o naming something other than a file is written to in place, never replaced by a file: a
# device (/dev/null's kind, made here so that a failure cannot harm the machine's own), a FIFO
# (a process substitution's /dev/fd/N is a pipe too) and a pipe as /dev/stdout. A symbolic link
# to a file stays a link; the file it points to gets the report, with nothing left beside it.
if mknod "$PF_TMP/null" c 1 3 2>/dev/null; then
    for cmd in audit plan; do
        pf "$cmd.null" "$cmd" -i "$INV" -f json -o "$PF_TMP/null"
        assert_eq "0 yes" "$RC $([ -c "$PF_TMP/null" ] && echo yes)" "$cmd -o a device: exit 0, still a device"
    done
else
    echo "skip: mknod is not allowed here (not root)"
fi
mkfifo "$PF_TMP/fifo"
for f in json text; do
    timeout 30 cat "$PF_TMP/fifo" >"$PF_TMP/from_fifo.$f" & # a reader that gives up if nothing writes
    reader=$!
    pf "fifo.$f" audit -i "$INV" -f "$f" -o "$PF_TMP/fifo"
    wait "$reader"
    assert_eq "0 yes" "$RC $([ -p "$PF_TMP/fifo" ] && echo yes)" "audit -f $f -o a FIFO: exit 0, still a FIFO"
    assert_contains "$(cat "$PF_TMP/from_fifo.$f")" "rp_b" "audit -f $f -o a FIFO: the report came through it"
done
assert_eq "rp_a in_sync" "$(jtargets "$PF_TMP/from_fifo.json" 't["status"]' | head -1)" "the FIFO's JSON report reads back"
"$PGFLEET" audit -i "$INV" -f json -o /dev/stdout | cat >"$PF_TMP/piped.json"
assert_eq "rp_a in_sync" "$(jtargets "$PF_TMP/piped.json" 't["status"]' | head -1)" "-o /dev/stdout into a pipe: the report"
mkdir -p "$PF_TMP/linked"
ln -s ../linked/real.json "$PF_TMP/reports/link.json"
: >"$PF_TMP/linked/real.json"
pf link audit -i "$INV" -f json -o "$PF_TMP/reports/link.json"
assert_eq "0 yes" "$RC $([ -L "$PF_TMP/reports/link.json" ] && echo yes)" "-o a symbolic link: exit 0, still a link"
assert_eq "rp_a in_sync" "$(jtargets "$PF_TMP/linked/real.json" 't["status"]' | head -1)" "-o a symbolic link: the file it points to has the report"
assert_eq "real.json" "$(ls -A "$PF_TMP/linked")" "-o a symbolic link: nothing left beside the file"
# A link to a file that does not exist yet, through a second link: the file is created there.
ln -s ../linked/first.json "$PF_TMP/reports/hop.json"
ln -s hop.json "$PF_TMP/reports/dangling.json"
pf dangling audit -i "$INV" -f json -o "$PF_TMP/reports/dangling.json"
assert_eq "0 yes yes" "$RC $([ -L "$PF_TMP/reports/dangling.json" ] && echo yes) $([ -L "$PF_TMP/reports/hop.json" ] && echo yes)" \
    "-o a link to a missing file: exit 0, both links stay"
assert_eq "rp_a in_sync" "$(jtargets "$PF_TMP/linked/first.json" 't["status"]' | head -1)" \
    "-o a link to a missing file: the file is created where the links point"

pf_done
