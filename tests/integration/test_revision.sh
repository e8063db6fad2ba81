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

# --- git runs beside the run, not before it ----------------------------------------------------
# A git that answers only once the run has applied the migrations (the ledger holds both rows):
# run before the run, it would give up after 20 s and the revision would be the journal's hash.
pg_createdb rev2
inv_write "$PF_TMP/beside.yaml" "$MIG" "" rev2
mkdir -p "$PF_TMP/besidegit"
cat >"$PF_TMP/besidegit/git" <<SH
#!/bin/sh
for i in \$(seq 1 200); do
    n=\$(psql -X -At -d rev2 -c "select count(*) from drizzle.__drizzle_migrations" 2>/dev/null)
    [ "\$n" = 2 ] && { echo v-beside; exit 0; }
    sleep 0.1
done
exit 128
SH
chmod +x "$PF_TMP/besidegit/git"
RC=0
PATH="$PF_TMP/besidegit:$PATH" "$PGFLEET" apply -i "$PF_TMP/beside.yaml" -f json \
    >"$PF_TMP/beside.out" 2>"$PF_TMP/beside.err" || RC=$?
assert_eq 0 "$RC" "apply with a git that waits for the run (stderr: $(pf_err beside))"
assert_eq "git v-beside" \
    "$(jget "$PF_TMP/beside.out" 'd["codebase"]["revision"]["source"] + " " + d["codebase"]["revision"]["id"]')" \
    "git ran while the run applied the migrations, and the report has its answer"

pf_done
