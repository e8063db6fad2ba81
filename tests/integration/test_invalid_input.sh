# Invalid input (inventory, migrations folder, command line) exits 3, names the file (with
# line:column for YAML and JSON) and connects to no database at all. Every command's --help
# exits 0 and lists its options.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb inv1 inv2

log_connections inv1 # to check that nothing connects

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'

D1=$(pf_dsn inv1)
D2=$(pf_dsn inv2)
GOOD=$PF_TMP/good.yaml
inv_write "$GOOD" "$MIG" "" inv1 inv2

# expect_invalid NAME NEEDLE... -- ARGS: pgfleet ARGS exits 3 and stderr holds every NEEDLE.
expect_invalid() {
    local name=$1 needles=() n
    shift
    while [ "$1" != "--" ]; do
        needles+=("$1")
        shift
    done
    shift
    local before
    before=$(pf_connections)
    pf "$name" "$@"
    echo "observed: $name: $(head -n 1 "$PF_TMP/$name.err")"
    assert_eq 3 "$RC" "$name: exit 3"
    for n in "${needles[@]}"; do
        assert_contains "$(pf_err "$name")" "$n" "$name: stderr names [$n]"
    done
    assert_eq "" "$(pf_out "$name")" "$name: nothing on stdout"
    assert_eq "$before" "$(pf_connections)" "$name: no connection was made"
}

# --- the inventory -------------------------------------------------------------------------------
cat >"$PF_TMP/unknown_key.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: inv1
    dsn: "$D1"
  - name: inv2
    dsn: "$D2"
    colour: red
EOF
for cmd in plan apply audit inventory; do
    expect_invalid "unknown_key_$cmd" "$PF_TMP/unknown_key.yaml:7:5:" "colour" -- \
        "$cmd" -i "$PF_TMP/unknown_key.yaml"
done

cat >"$PF_TMP/bad_yaml.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: inv1
    dsn: "$D1"
  - name: [inv2
    dsn: "$D2"
EOF
for cmd in plan apply; do
    expect_invalid "bad_yaml_$cmd" "$PF_TMP/bad_yaml.yaml:" "invalid yaml" -- "$cmd" -i "$PF_TMP/bad_yaml.yaml"
done
assert_contains "$(pf_err bad_yaml_apply)" "$PF_TMP/bad_yaml.yaml:6:" "bad yaml: the position is line 6"

cat >"$PF_TMP/unset_var.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: inv1
    dsn: "$D1"
  - name: inv2
    dsn: "postgresql://postgres:\${PF_TEST_SURELY_UNSET}@127.0.0.1:$PGPORT/inv2"
EOF
unset PF_TEST_SURELY_UNSET || true
expect_invalid unset_var "$PF_TMP/unset_var.yaml:6:10:" "PF_TEST_SURELY_UNSET" -- apply -i "$PF_TMP/unset_var.yaml"
expect_invalid unset_var_inventory "$PF_TMP/unset_var.yaml:6:10:" "PF_TEST_SURELY_UNSET" -- \
    inventory -i "$PF_TMP/unset_var.yaml"

cat >"$PF_TMP/bad_value.yaml" <<EOF
migrations: {dir: "$MIG"}
defaults:
  lock_wait: soon
targets:
  - name: inv1
    dsn: "$D1"
EOF
expect_invalid bad_duration "$PF_TMP/bad_value.yaml:3:14:" "lock_wait" -- apply -i "$PF_TMP/bad_value.yaml"

cat >"$PF_TMP/dup.yaml" <<EOF
migrations: {dir: "$MIG"}
targets:
  - name: inv1
    dsn: "$D1"
  - name: inv1
    dsn: "$D2"
EOF
expect_invalid duplicate_name "$PF_TMP/dup.yaml:5:" "inv1" -- apply -i "$PF_TMP/dup.yaml"

expect_invalid missing_inventory "$PF_TMP/no-such-inventory.yaml" -- apply -i "$PF_TMP/no-such-inventory.yaml"

# --- the migrations folder -------------------------------------------------------------------------
inv_write "$PF_TMP/no_folder.yaml" "$PF_TMP/no-such-folder" "" inv1 inv2
expect_invalid missing_folder "no-such-folder" "not found" -- apply -i "$PF_TMP/no_folder.yaml"
expect_invalid missing_folder_opt "$PF_TMP/elsewhere" -- plan -i "$GOOD" -m "$PF_TMP/elsewhere"

BADJ=$PF_TMP/bad_journal
mig_add "$BADJ" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
printf '{\n  "version": "7",\n  "dialect": "postgresql",\n  "entries": [\n    {"idx": 0, "when": 1, "tag": "0000_init",}\n  ]\n}\n' \
    >"$BADJ/meta/_journal.json"
expect_invalid malformed_journal "$BADJ/meta/_journal.json:5:" "malformed JSON" -- apply -i "$GOOD" -m "$BADJ"

NOFILE=$PF_TMP/no_file
mig_add "$NOFILE" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
mig_add "$NOFILE" 0001_gone $((W + 2000)) 'CREATE TABLE "u" ("id" integer);'
rm "$NOFILE/0001_gone.sql"
expect_invalid entry_without_file "$NOFILE/meta/_journal.json" "0001_gone.sql" -- apply -i "$GOOD" -m "$NOFILE"
expect_invalid entry_without_file_audit "0001_gone.sql" -- audit -i "$GOOD" -m "$NOFILE"

# --- the command line ------------------------------------------------------------------------------
expect_invalid unknown_command "unknown command 'frobnicate'" -- frobnicate -i "$GOOD"
expect_invalid bad_option "--bogus" -- apply -i "$GOOD" --bogus
expect_invalid bad_jobs "--jobs" "0" -- apply -i "$GOOD" -j 0
expect_invalid bad_format "xml" -- plan -i "$GOOD" -f xml
expect_invalid dry_run_on_audit "--dry-run" -- audit -i "$GOOD" --dry-run
expect_invalid ooo_on_plan "--allow-out-of-order" -- plan -i "$GOOD" --allow-out-of-order
expect_invalid stray_argument "extra" -- plan -i "$GOOD" extra
expect_invalid no_target_selected "no target" -- apply -i "$GOOD" -t 'nothing-matches-*'
expect_invalid bad_selector "" -- apply -i "$GOOD" -s '=x'
pf no_command
assert_eq 3 "$RC" "no command at all: exit 3"

assert_eq "f f" "$(has_schema inv1 drizzle) $(has_schema inv2 drizzle)" "no drizzle schema appeared anywhere"
assert_eq "0" "$(pf_connections)" "pgfleet never connected during the invalid runs"

# --- help ------------------------------------------------------------------------------------------
SHARED="--inventory --migrations --target --select --jobs --format --output --verbose --quiet"
for cmd in plan apply audit; do
    pf "help_$cmd" "$cmd" --help
    assert_eq 0 "$RC" "$cmd --help exits 0"
    for opt in $SHARED; do
        assert_contains "$(pf_out "help_$cmd")" "$opt" "$cmd --help mentions $opt"
    done
    pf "h_$cmd" "$cmd" -h
    assert_eq "0 $(pf_out "help_$cmd")" "$RC $(pf_out "h_$cmd")" "$cmd -h is --help"
done
for opt in --dry-run --allow-out-of-order; do
    assert_contains "$(pf_out help_apply)" "$opt" "apply --help mentions $opt"
done
pf help_inventory inventory --help
assert_eq 0 "$RC" "inventory --help exits 0"
# docs/cli.md: inventory takes -i -t -s -f and connects to nothing; the fleet options are refused.
for opt in --inventory --target --select --format; do
    assert_contains "$(pf_out help_inventory)" "$opt" "inventory --help mentions $opt"
done
for opt in --migrations --jobs --output; do
    assert_not_contains "$(pf_out help_inventory)" "$opt" "inventory --help does not offer $opt"
done
pf inventory_fmt inventory -i "$GOOD" -f json
assert_eq 0 "$RC" "inventory -f json exits 0"
for args in "-m $MIG" "-j 2"; do
    pf inventory_fleet inventory -i "$GOOD" $args
    assert_eq 3 "$RC" "inventory refuses $args (exit 3)"
done
pf help_version version --help
assert_eq 0 "$RC" "version --help exits 0"
assert_contains "$(pf_out help_version)" "usage: pgfleet version" "version --help shows its usage"
pf help_top --help
assert_eq 0 "$RC" "pgfleet --help exits 0"
for cmd in plan apply audit inventory version; do
    assert_contains "$(pf_out help_top)" "$cmd" "pgfleet --help lists $cmd"
done
pf help_plan_via_help help plan
assert_eq "0 $(pf_out help_plan)" "$RC $(pf_out help_plan_via_help)" "pgfleet help plan = plan --help"

# The valid inventory works, and the connection check does see pgfleet's sessions.
pf inventory_ok inventory -i "$GOOD"
assert_eq 0 "$RC" "inventory of the valid file exits 0"
assert_eq "0" "$(pf_connections)" "inventory connects to nothing"
pf plan_ok plan -i "$GOOD"
assert_eq 0 "$RC" "plan of the valid inventory exits 0"
sleep 0.2
[ "$(pf_connections)" -ge 2 ] && pass "the server log does show pgfleet's connections" ||
    fail "the server log shows no pgfleet connection after a valid plan"

pf_done
