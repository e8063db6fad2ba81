# What a migration file holds reaches the server intact, or nothing runs:
#   - a NUL byte ends a query string (libpq, the protocol), so everything after it would silently
#     never run while the ledger records the migration: plan, apply, audit and lint all refuse
#     the folder (exit 3) naming file:line:column, connect to nothing, and no database changes;
#   - invalid UTF-8 is sent as drizzle-orm sends it: each invalid sequence decoded to U+FFFD,
#     so the stored text and the ledger hash are those of the decoded file;
#   - the text goes as UTF-8 whatever the database's encoding or PGCLIENTENCODING say (as
#     node-postgres sends it): a LATIN1 database stores 'é' as one character.
source "$PF_TESTS_DIR/integration/lib.sh"
pf_start
pg_createdb sb_fresh sb_old sb_utf8

log_connections sb_fresh # to check that nothing connects

W=$PF_WHEN0
MIG=$PF_TMP/drizzle
mig_add "$MIG" 0000_init $((W + 1000)) 'CREATE TABLE "t" ("id" integer);'
INV=$PF_TMP/inv.yaml
inv_write "$INV" "$MIG" "" sb_fresh sb_old

# sb_old has 0000_init before the bad file arrives.
pf init apply -i "$INV" -t sb_old
assert_eq 0 "$RC" "setup: apply 0000_init to sb_old"
old_state=$(db_state sb_old)

# 0001 holds a NUL on its second line, after /*é*/ALTER TABLE "t" ADD COLUMN "a" int; (40
# characters, 41 bytes): column 41. Everything after it is the part that would never run.
printf 'ALTER TABLE "t" ADD COLUMN "z" int;\n/*é*/ALTER TABLE "t" ADD COLUMN "a" int;\0\n--> statement-breakpoint\nALTER TABLE "t" ADD COLUMN "b" int;\n' \
    >"$MIG/0001_nul.sql"
mig_journal_set "$MIG" 0001_nul $((W + 2000))
WANT="$MIG/0001_nul.sql:2:41: a NUL byte: PostgreSQL cannot receive it in a query, and nothing after it would run; hint: delete it (a file saved as UTF-16 is full of them: save it as UTF-8)"

before=$(pf_connections)
for cmd in plan apply audit; do
    pf "nul_$cmd" "$cmd" -i "$INV"
    echo "observed: $cmd: $(head -n 1 "$PF_TMP/nul_$cmd.err")"
    assert_eq 3 "$RC" "NUL: $cmd exits 3"
    assert_eq "pgfleet: $WANT" "$(pf_err "nul_$cmd")" "NUL: $cmd names file:line:column"
    assert_eq "" "$(pf_out "nul_$cmd")" "NUL: $cmd prints no report"
done
pf nul_apply_ooo apply -i "$INV" --allow-out-of-order -f json
assert_eq 3 "$RC" "NUL: apply --allow-out-of-order exits 3 too"
assert_eq "$before" "$(pf_connections)" "NUL: no connection was made"
assert_eq "no ledger"$'\n'"tables: " "$(db_state sb_fresh)" "NUL: nothing ran on the fresh database"
assert_eq "$old_state" "$(db_state sb_old)" "NUL: nothing ran on the migrated database"
assert_eq "" "$(pg_psql sb_old "select string_agg(column_name::text, ' ') from information_schema.columns where table_name = 't' and column_name <> 'id'")" \
    "NUL: not even the statements before it"

for fmt in text json; do
    pf "nul_lint_$fmt" lint -m "$MIG" -f "$fmt"
    assert_eq 3 "$RC" "NUL: lint -f $fmt exits 3"
    assert_eq "pgfleet: $WANT" "$(pf_err "nul_lint_$fmt")" "NUL: lint -f $fmt names file:line:column"
    assert_eq "" "$(pf_out "nul_lint_$fmt")" "NUL: lint -f $fmt prints no findings"
done

# The same file without its NUL applies whole.
"$PF_PY" - "$MIG/0001_nul.sql" <<'PY'
import sys
p = sys.argv[1]
data = open(p, "rb").read()
open(p, "wb").write(data.replace(b"\0", b""))
PY
pf fixed apply -i "$INV"
assert_eq 0 "$RC" "without the NUL: apply exits 0"
for db in sb_fresh sb_old; do
    assert_eq "z a b" "$(pg_psql "$db" "select string_agg(column_name::text, ' ' order by ordinal_position) from information_schema.columns where table_name = 't' and column_name <> 'id'")" \
        "without the NUL: $db has every column"
done

# --- invalid UTF-8: the decoded text is what runs, and what is hashed ---------------------------
U=$PF_TMP/utf8
mig_add "$U" 0000_text $((W + 1000)) 'CREATE TABLE "s" ("v" text);'
# 'a' FF 'b' C3 'c' E2 82 'd': three invalid sequences, one U+FFFD each (as Node decodes them).
printf "INSERT INTO \"s\" VALUES ('a\xffb\xc3c\xe2\x82d');\n" >"$U/0001_bytes.sql"
mig_journal_set "$U" 0001_bytes $((W + 2000))
inv_write "$PF_TMP/utf8.yaml" "$U" "" sb_utf8
pf utf8 apply -i "$PF_TMP/utf8.yaml"
assert_eq 0 "$RC" "invalid UTF-8: apply exits 0"
assert_eq "61efbfbd62efbfbd63efbfbd64" "$(pg_psql sb_utf8 "select encode(convert_to(v, 'UTF8'), 'hex') from s")" \
    "invalid UTF-8: the stored text is the decoded one"
decoded_hash=$(printf "INSERT INTO \"s\" VALUES ('a\xef\xbf\xbdb\xef\xbf\xbdc\xef\xbf\xbdd');\n" | sha256sum | cut -d' ' -f1)
assert_eq "$decoded_hash" "$(pg_psql sb_utf8 "select hash from drizzle.__drizzle_migrations where created_at = $((W + 2000))")" \
    "invalid UTF-8: the ledger hash is the decoded text's"
pf utf8_audit audit -i "$PF_TMP/utf8.yaml"
assert_eq 0 "$RC" "invalid UTF-8: audit in sync"

# A LATIN1 database, and PGCLIENTENCODING saying LATIN1 too: pgfleet still speaks UTF-8.
psql -X -q -d postgres -c "CREATE DATABASE sb_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'" >/dev/null
L=$PF_TMP/latin1
mig_add "$L" 0000_text $((W + 1000)) 'CREATE TABLE "l" ("v" text);' "INSERT INTO \"l\" VALUES ('é€');"
inv_write "$PF_TMP/latin1.yaml" "$L" "" sb_latin1
PGCLIENTENCODING=LATIN1 pf latin1 apply -i "$PF_TMP/latin1.yaml"
assert_eq 2 "$RC" "LATIN1 database: € has no LATIN1 form, the server refuses it (exit 2)"
assert_contains "$(pf_err latin1)" "has no equivalent in encoding \"LATIN1\"" "LATIN1 database: the server's conversion error"
mig_add "$L" 0000_text $((W + 1000)) 'CREATE TABLE "l" ("v" text);' "INSERT INTO \"l\" VALUES ('é');"
PGCLIENTENCODING=LATIN1 pf latin1_ok apply -i "$PF_TMP/latin1.yaml"
assert_eq 0 "$RC" "LATIN1 database: apply exits 0"
assert_eq "1 e9" "$(pg_psql sb_latin1 "select length(v) || ' ' || encode(convert_to(v, 'LATIN1'), 'hex') from l")" \
    "LATIN1 database: é stored as one character (E9), as drizzle stores it"

pf_done
