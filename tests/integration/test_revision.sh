# The codebase's revision in reports and history files (docs/report.md): `git describe --tags
# --always --dirty` of the migrations folder when it is in a git checkout, else the sha256 of
# the journal, so that "which image was this fleet on" is answered from a report.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb rev1

REPO=$PF_TMP/app
MIG=$REPO/drizzle
mig_add "$MIG" 0000_users $((PF_WHEN0 + 1000)) 'CREATE TABLE "users" ("id" int);'
inv_write "$PF_TMP/fleet.yaml" "$MIG" "" rev1

# --- not a git checkout: the journal's hash --------------------------------------------------
pf nogit plan -i "$PF_TMP/fleet.yaml" -f json
assert_eq 0 "$RC" "plan exits 0 (stderr: $(pf_err nogit))"
assert_eq "journal sha256:$(file_hash "$MIG/meta/_journal.json")" \
    "$(jget "$PF_TMP/nogit.out" 'd["codebase"]["revision"]["source"] + " " + d["codebase"]["revision"]["id"]')" \
    "outside git: the sha256 of the journal"

# --- a git checkout: git describe ------------------------------------------------------------
g() { git -C "$REPO" -c user.name=t -c user.email=t@example.com "$@" >/dev/null; }
g init -q
g add -A
g commit -q -m one
g tag v1.0
pf tagged apply -i "$PF_TMP/fleet.yaml" -f json --report-dir "$PF_TMP/history"
assert_eq 0 "$RC" "apply (stderr: $(pf_err tagged))"
assert_eq "git v1.0" \
    "$(jget "$PF_TMP/tagged.out" 'd["codebase"]["revision"]["source"] + " " + d["codebase"]["revision"]["id"]')" \
    "at a tag: the tag"
kept=$(ls "$PF_TMP/history"/*.json)
assert_eq "v1.0" "$(jget "$kept" 'd["codebase"]["revision"]["id"]')" "the history file has it too"

mig_add "$MIG" 0001_posts $((PF_WHEN0 + 2000)) 'CREATE TABLE "posts" ("id" int);'
g add -A
g commit -q -m two
sha=$(git -C "$REPO" rev-parse --short HEAD)
pf after plan -i "$PF_TMP/fleet.yaml"
assert_eq 0 "$RC" "plan (stderr: $(pf_err after))"
assert_contains "$(pf_out after)" "codebase: 2 migrations, head 0001_posts, revision v1.0-1-g$sha" \
    "a commit after the tag: described from it, in the text report"
echo '-- edited' >>"$MIG/0001_posts.sql"
pf dirty plan -i "$PF_TMP/fleet.yaml" -f json
assert_eq 0 "$RC" "plan (stderr: $(pf_err dirty))"
assert_eq "v1.0-1-g$sha-dirty" "$(jget "$PF_TMP/dirty.out" 'd["codebase"]["revision"]["id"]')" \
    "uncommitted changes: -dirty"

pf_done
