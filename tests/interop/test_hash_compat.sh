#!/usr/bin/env bash
# Hashing and statement splitting byte for byte like drizzle-orm 0.45.4. Each case is a 0.x folder
# (journal written here) applied by pgfleet on pf_<case> and by drizzle on dz_<case>; both must
# succeed, leave identical ledgers whose hash equals `node hash.mjs` (drizzle's hash), and
# identical databases (full pg_dump, schema and data: the bytes drizzle sent).
#   crlf            CRLF line endings, CRLF inside a string literal
#   utf8            é, 日本, emoji, combining marks in comments, literals, identifiers, COMMENT ON
#   invalid_comment invalid UTF-8 only inside comments: \xff, \xc0\x80, truncated \xf0\x9f\x98
#                   (drizzle sends U+FFFD, so it runs); hash != sha256sum
#   invalid_tricky  more invalid sequences in comments: UTF-16 surrogate, > U+10FFFF, overlong
#                   3-byte, lone continuation bytes, 5-byte lead, truncated 3-byte, truncated at EOF
#   invalid_string  invalid UTF-8 inside a string literal: stored as U+FFFD by drizzle
#   trailing_bp     file ends with `--> statement-breakpoint` (empty last chunk); two markers in a row
#   comment_chunk   a chunk that is only a comment line without trailing newline (middle and last)
#   marker_comment  the marker inside a `--` comment still splits: the text after it runs
# And a UTF-8 BOM: PostgreSQL rejects a statement starting with U+FEFF, so drizzle fails on such a
# file; pgfleet must fail the same way and apply nothing. Its hash (codebase.head.hash, and a
# ledger row written with drizzle's hash -> in_sync) must still be drizzle's = sha256sum.
source "${PF_TESTS_DIR:-$(dirname "$0")/..}/interop/lib/interop.sh"

BASE_WHEN=1700000000000
M=$PF_TMP/m
mkdir -p "$M"

mkjournal() { # mkjournal DIR TAG... (when = BASE_WHEN + 1000 * idx)
    local dir=$1 i=0 tag sep=""
    shift
    mkdir -p "$dir/meta"
    {
        printf '{"version":"7","dialect":"postgresql","entries":['
        for tag in "$@"; do
            printf '%s{"idx":%d,"version":"7","when":%d,"tag":"%s","breakpoints":true}' \
                "$sep" "$i" $((BASE_WHEN + 1000 * i)) "$tag"
            sep=,
            i=$((i + 1))
        done
        printf ']}\n'
    } >"$dir/meta/_journal.json"
}

CASES="crlf utf8 invalid_comment invalid_tricky invalid_string trailing_bp comment_chunk marker_comment"
for c in $CASES; do mkdir -p "$M/$c"; done

printf 'CREATE TABLE crlf_t (\r\n  id int,\r\n  note text DEFAULT '"'"'a\r\nb'"'"'\r\n);\r\n--> statement-breakpoint\r\nINSERT INTO crlf_t (id) VALUES (1);\r\n--> statement-breakpoint\r\nINSERT INTO crlf_t VALUES (2, '"'"'x\r\ny'"'"');\r\n' \
    >"$M/crlf/0000_crlf.sql"

cat >"$M/utf8/0000_utf8.sql" <<'SQL'
-- café, 日本語, emoji 😀🚀, combining e + U+0301: é
CREATE TABLE "utf8_t" ("s" text, "naïve_列" text DEFAULT '日本');
--> statement-breakpoint
INSERT INTO "utf8_t" ("s") VALUES ('é'), ('日本'), ('😀'), ('é'), ('𝔘𝔫𝔦𝔠𝔬𝔡𝔢');--> statement-breakpoint
/* block comment: ñ 中文 🎉 */
COMMENT ON TABLE "utf8_t" IS 'таблица 🚀 テーブル';
SQL

printf -- '-- invalid bytes in a comment: \xff | \xc0\x80 | \xf0\x9f\x98 | end\nCREATE TABLE inv_t (id int);\n--> statement-breakpoint\n/* block \xff\xfe */ INSERT INTO inv_t VALUES (1);\n--> statement-breakpoint\n-- truncated at the end of a line \xf0\x9f\x98\nINSERT INTO inv_t VALUES (2);\n' \
    >"$M/invalid_comment/0000_invalid_comment.sql"

printf -- '-- surrogate \xed\xa0\x80 | above U+10FFFF \xf4\x90\x80\x80 | overlong \xe0\x80\xaf | lone \x80\xbf | 5-byte \xf8\x88\x80\x80\x80 | truncated 3-byte \xe2\x82x | \xc3\n-- valid after invalid: \xf0\x9f\x98\xf0\x9f\x98\x80 \xe6\x97\xa5\nCREATE TABLE inv2_t (id int);\n--> statement-breakpoint\nINSERT INTO inv2_t VALUES (1);\n-- truncated at EOF \xf0\x9f' \
    >"$M/invalid_tricky/0000_invalid_tricky.sql"

printf 'CREATE TABLE invs_t (s text);\n--> statement-breakpoint\nINSERT INTO invs_t VALUES (%s), (%s);\n' \
    $'\'a\xffb\xc0\x80c\'' $'\'\xf0\x9f\x98!\'' >"$M/invalid_string/0000_invalid_string.sql"

printf 'CREATE TABLE tb_t (id int);\n--> statement-breakpoint--> statement-breakpoint\nINSERT INTO tb_t VALUES (1);\n--> statement-breakpoint' \
    >"$M/trailing_bp/0000_trailing_bp.sql"

printf 'CREATE TABLE cc_t (id int);\n--> statement-breakpoint\n-- a chunk that is only a comment--> statement-breakpoint\nINSERT INTO cc_t VALUES (1);\n--> statement-breakpoint\n-- the last chunk is only a comment, no newline' \
    >"$M/comment_chunk/0000_comment_chunk.sql"

printf 'CREATE TABLE mc_t (id int);\n-- drizzle splits here --> statement-breakpoint INSERT INTO mc_t VALUES (42);\n' \
    >"$M/marker_comment/0000_marker_comment.sql"

dbs=""
for c in $CASES; do
    mkjournal "$M/$c" "0000_$c"
    dbs="$dbs pf_$c dz_$c"
done
# shellcheck disable=SC2086
pg_createdb $dbs pf_bom dz_bom hand_bom
# shellcheck disable=SC2086
write_inv "$PF_TMP/inv.yaml" "$M/crlf" -- $dbs pf_bom dz_bom hand_bom

dump_all() { pg_dump --no-password -d "$1" | grep -v -E '^\\(un)?restrict '; }

# sanity of the inputs
for c in invalid_comment invalid_tricky invalid_string; do
    if iconv -f UTF-8 -t UTF-8 "$M/$c/0000_$c.sql" >/dev/null 2>&1; then
        fail "$c: the file should not be valid UTF-8"
    fi
done

for c in $CASES; do
    file=$M/$c/0000_$c.sql
    want=$(drizzle_hash "$file")
    pf apply -i "$PF_TMP/inv.yaml" -m "$M/$c" -t "pf_$c" -f json
    assert_eq 0 "$PF_RC" "$c: pgfleet apply exit code"
    [ "$PF_RC" = 0 ] || echo "    pgfleet: $(pf_target_json "pf_$c" | jq -c '{outcome, error}') $PF_ERR" >&2
    rc=0; drz "dz_$c" "$M/$c" 2>"$PF_TMP/drz.err" || rc=$?
    assert_eq 0 "$rc" "$c: drizzle migrate exit code"
    [ "$rc" = 0 ] || echo "    drizzle: $(cat "$PF_TMP/drz.err")" >&2
    assert_eq "$want" "$(ledger "dz_$c" hash)" "$c: drizzle's ledger hash = hash.mjs"
    assert_eq "$want" "$(ledger "pf_$c" hash 2>/dev/null || true)" "$c: pgfleet's ledger hash = hash.mjs"
    assert_eq "$(ledger "dz_$c")" "$(ledger "pf_$c" 2>/dev/null || true)" "$c: ledgers identical"
    dz_dump=$(dump_all "dz_$c")
    pf_dump=$(dump_all "pf_$c")
    if [ "$dz_dump" == "$pf_dump" ]; then
        pass "$c: full pg_dump identical"
    else
        fail "$c: full pg_dump differs: $(diff <(echo "$dz_dump") <(echo "$pf_dump") | head -20)"
    fi
    pf audit -i "$PF_TMP/inv.yaml" -m "$M/$c" -t "dz_$c" -f json
    assert_eq in_sync "$(pf_target_json "dz_$c" | jq -r .status)" "$c: audit of the drizzle db in_sync"
    sha=$(sha256sum "$file" | cut -d' ' -f1)
    case $c in
    invalid_*)
        if [ "$want" != "$sha" ]; then pass "$c: drizzle's hash differs from sha256sum"
        else fail "$c: drizzle's hash equals sha256sum"; fi ;;
    *) assert_eq "$sha" "$want" "$c: drizzle's hash = sha256sum (valid UTF-8)" ;;
    esac
done

# what drizzle actually stored for the special cases
assert_eq "$(printf 'a\xef\xbf\xbdb\xef\xbf\xbd\xef\xbf\xbdc\n\xef\xbf\xbd!')" \
    "$(pg_psql dz_invalid_string 'select s from invs_t order by s')" "invalid_string: drizzle stored U+FFFD"
assert_eq "$(printf 'a\r\nb\nx\r\ny')" "$(pg_psql dz_crlf 'select note from crlf_t order by id')" "crlf: drizzle kept CR LF in literals"
assert_eq 42 "$(pg_psql dz_marker_comment 'select id from mc_t')" "marker_comment: drizzle ran the text after the marker"
assert_eq 42 "$(pg_psql pf_marker_comment 'select id from mc_t' 2>/dev/null || true)" "marker_comment: pgfleet ran the text after the marker"

# --- UTF-8 BOM ------------------------------------------------------------------------------------
mkdir -p "$M/bom"
printf 'CREATE TABLE bom_base (id int);\n' >"$M/bom/0000_base.sql"
printf '\xef\xbb\xbfCREATE TABLE bom_t (id int);\n--> statement-breakpoint\nINSERT INTO bom_t VALUES (1);\n' >"$M/bom/0001_bom.sql"
mkjournal "$M/bom" 0000_base 0001_bom
bom_hash=$(drizzle_hash "$M/bom/0001_bom.sql")
assert_eq "$(sha256sum "$M/bom/0001_bom.sql" | cut -d' ' -f1)" "$bom_hash" "bom: drizzle's hash keeps the BOM (= sha256sum)"

rc=0; drz dz_bom "$M/bom" 2>"$PF_TMP/drz-bom.err" || rc=$?
assert_eq 1 "$rc" "bom: drizzle fails"
assert_contains "$(cat "$PF_TMP/drz-bom.err")" "syntax error" "bom: drizzle's error is PostgreSQL's syntax error"
assert_eq "" "$(pg_psql dz_bom "select to_regclass('bom_base')")" "bom: drizzle rolled everything back"

pf apply -i "$PF_TMP/inv.yaml" -m "$M/bom" -t pf_bom -f json
assert_eq 2 "$PF_RC" "bom: pgfleet apply fails like drizzle (exit 2)"
assert_eq failed "$(pf_target_json pf_bom | jq -r .outcome)" "bom: pgfleet outcome failed"
assert_contains "$(pf_target_json pf_bom | jq -r .error.message)" "syntax error" "bom: pgfleet reports PostgreSQL's syntax error"
assert_eq "" "$(pg_psql pf_bom "select to_regclass('bom_base')")" "bom: pgfleet rolled everything back"
assert_eq "" "$(pg_psql pf_bom "select to_regclass('bom_t')")" "bom: pgfleet did not create bom_t"
ledger_rows() { # rows of the default ledger, "none" when there is no ledger table
    if [ -n "$(pg_psql "$1" "select to_regclass('drizzle.__drizzle_migrations')")" ]; then
        pg_psql "$1" 'select count(*) from drizzle.__drizzle_migrations'
    else
        echo none
    fi
}
assert_eq 0 "$(ledger_rows dz_bom)" "bom: drizzle left an empty ledger (created outside its transaction)"
pf_rows=$(ledger_rows pf_bom)
if [ "$pf_rows" = 0 ] || [ "$pf_rows" = none ]; then pass "bom: pgfleet wrote no ledger row"
else fail "bom: pgfleet ledger rows: $pf_rows"; fi
# informational: drizzle creates schema + ledger before its transaction; report what pgfleet left
echo "note: after the failed run the ledger table is: drizzle=$(ledger_rows dz_bom) rows, pgfleet=$pf_rows"
pf audit -i "$PF_TMP/inv.yaml" -m "$M/bom" -t dz_bom -t pf_bom -f json
assert_eq behind "$(pf_target_json dz_bom | jq -r .status)" "bom: drizzle's empty ledger audits as behind"
assert_eq '["0000_base","0001_bom"]' "$(pf_target_json dz_bom | jq -c .pending)" "bom: drizzle's db: both pending"
assert_eq '["0000_base","0001_bom"]' "$(pf_target_json pf_bom | jq -c .pending)" "bom: pgfleet's db: both pending"

pf plan -i "$PF_TMP/inv.yaml" -m "$M/bom" -t pf_bom -f json
assert_eq "$bom_hash" "$(jq -r .codebase.head.hash <<<"$PF_OUT")" "bom: pgfleet's hash of the BOM file = drizzle's"

# a database where someone ran the BOM file by hand and wrote drizzle's ledger row
cut2=$PF_TMP/bom-first
mkdir -p "$cut2"
cp "$M/bom/0000_base.sql" "$cut2/"
mkjournal "$cut2" 0000_base
drz hand_bom "$cut2" || fail "bom: drizzle migrate of the base"
pg_psql hand_bom "CREATE TABLE bom_t (id int); INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('$bom_hash', $((BASE_WHEN + 1000)))" >/dev/null
pf audit -i "$PF_TMP/inv.yaml" -m "$M/bom" -t hand_bom -f json
assert_eq 0 "$PF_RC" "bom: audit of a ledger holding drizzle's hash: exit code"
assert_eq in_sync "$(pf_target_json hand_bom | jq -r .status)" "bom: audit of a ledger holding drizzle's hash: in_sync"

pf_done
