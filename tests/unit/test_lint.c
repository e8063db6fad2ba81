/*
 * src/lint/ (folder.c, statements.c) and src/codebase/sqllex.c: what `pgfleet lint` finds
 * in a folder. Each fixture under tests/data/lint/ shows one rule; the drizzle-kit generated
 * folders under tests/fixtures/ must lint clean. Findings are compared as "rule severity
 * file[:line:col]" lines, file relative to the folder, in the order lint reports them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lint/lint.h"
#include "codebase/sqllex.h"
#include "core/buf.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA PF_TEST_DATA "/lint/"
#define FIXTURES PF_TEST_DATA "/../fixtures/"

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
    } while (0)

/* ---- helpers ---------------------------------------------------------------------------- */

static LintResult *lint_ok(const char *dir)
{
    LintResult *r = NULL;
    PfErr err = {0};
    if (lint_folder(dir, &r, &err) != PF_OK)
        fail_msg("lint_folder(%s): %s", dir, err.msg);
    assert_non_null(r);
    return r;
}

/* One line per finding; also checks what every finding must have. */
static char *describe(const LintResult *r)
{
    PfBuf b = PF_BUF_INIT;
    size_t prefix = strlen(r->dir) + 1;
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->findings[i];
        assert_true(strncmp(f->file, r->dir, prefix - 1) == 0);
        assert_true(f->message[0] && !strchr(f->message, '\n'));
        assert_true(f->hint[0] && !strchr(f->hint, '\n'));
        assert_true(f->line > 0 ? f->column > 0 : f->column == 0);
        pf_buf_printf(&b, "%s %s %s", f->rule, lint_severity_name(f->severity), f->file + prefix);
        if (f->line > 0)
            pf_buf_printf(&b, ":%d:%d", f->line, f->column);
        pf_buf_putc(&b, '\n');
    }
    return pf_buf_take(&b);
}

/* Lint dir: the findings are exactly want, and n_migrations were checked. */
static void check(const char *dir, size_t n_migrations, const char *want)
{
    LintResult *r = lint_ok(dir);
    char *got = describe(r);
    assert_string_equal(got, want);
    assert_int_equal(r->migrations, n_migrations);
    free(got);
    lint_result_free(r);
}

/* The message of the first finding of rule in dir (caller frees). */
static char *message_of(const char *dir, const char *rule, char **hint)
{
    LintResult *r = lint_ok(dir);
    char *msg = NULL;
    for (size_t i = 0; i < r->n && !msg; i++) {
        if (strcmp(r->findings[i].rule, rule) == 0) {
            msg = pf_strdup(r->findings[i].message);
            if (hint)
                *hint = pf_strdup(r->findings[i].hint);
        }
    }
    lint_result_free(r);
    if (!msg)
        fail_msg("%s: no %s finding", dir, rule);
    return msg;
}

static char *make_tmp(void)
{
    char tmpl[] = "/tmp/pgfleet-test-lint-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return pf_strdup(d);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char *path = pf_asprintf("%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    free(path);
}

static void rm_rf(const char *dir)
{
    char *cmd = pf_asprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* ---- clean folders ---------------------------------------------------------------------- */

/* What drizzle-kit generated (journal layout, v1 layout, and `drizzle-kit up` of the first):
 * enums, tables, foreign keys, indexes, a custom migration with DO $$ and a plpgsql function,
 * RLS. None of it is a finding. */
static void test_generated_folders_are_clean(void **state)
{
    (void)state;
    LintResult *r = lint_ok(FIXTURES "app/drizzle");
    assert_int_equal(r->layout, CB_LAYOUT_JOURNAL);
    assert_int_equal(r->migrations, 4);
    assert_int_equal(r->n, 0);
    lint_result_free(r);

    r = lint_ok(FIXTURES "app-v1/drizzle/");
    assert_int_equal(r->layout, CB_LAYOUT_FOLDERS);
    assert_string_equal(r->dir, FIXTURES "app-v1/drizzle");
    assert_int_equal(r->migrations, 4);
    assert_int_equal(r->n, 0);
    lint_result_free(r);

    check(FIXTURES "app-up/drizzle", 4, "");
}

/* Keywords inside comments, strings, quoted identifiers and dollar-quoted bodies are no
 * statements; BEGIN ATOMIC bodies keep their semicolons. */
static void test_lexer_traps_are_clean(void **state)
{
    (void)state;
    check(DATA "lexer_traps", 2, "");
}

/* ---- the folder's structure ------------------------------------------------------------- */

static void test_journal_missing(void **state)
{
    (void)state;
    check(DATA "journal_missing", 2, "journal-missing error meta/_journal.json\n");
    char *msg = message_of(DATA "journal_missing", "journal-missing", NULL);
    assert_contains(msg, "Can't find meta/_journal.json file");
    free(msg);
}

/* One reader, one wording for the folder's problems: cb_read, which plan, apply and audit use
 * and which stops at the first problem it refuses, says it as lint's first finding of that
 * rule does, with its file:line:column and hint; a folder lint finds errors in that drizzle-orm
 * runs all the same (an orphan file, a number used twice, a `when` going back, a v1 folder
 * without migration.sql) is read. */
static void test_folder_problems_same_words(void **state)
{
    (void)state;
    static const struct {
        const char *dir, *rule; /* rule: what cb_read refuses the folder for; NULL: it reads it */
    } cases[] = {
        {"journal_missing", "journal-missing"},
        {"journal_malformed", "journal-malformed"},
        {"journal_conflict", "journal-malformed"},
        {"journal_bad_entry", "journal-malformed"},
        {"missing_file", "missing-file"},
        {"duplicate_tag", "duplicate-tag"},
        {"mixed_layout", "mixed-layout"},
        {"v1_bad_name", "v1-bad-name"},
        {"orphan_sql", NULL},
        {"duplicate_number", NULL},
        {"when_not_increasing", NULL},
        {"v1_missing_sql", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = pf_asprintf(DATA "%s", cases[i].dir);
        Codebase *cb = (Codebase *)1;
        PfErr err = {0};
        PfErrCode rc = cb_read(dir, &cb, &err);
        if (!cases[i].rule) {
            if (rc != PF_OK)
                fail_msg("cb_read(%s): %s", dir, err.msg);
            cb_free(cb);
            free(dir);
            continue;
        }
        assert_int_equal(rc, PF_ERR_INPUT);
        assert_null(cb);
        LintResult *r = lint_ok(dir);
        const LintFinding *f = NULL;
        for (size_t k = 0; k < r->n && !f; k++)
            if (strcmp(r->findings[k].rule, cases[i].rule) == 0)
                f = &r->findings[k];
        if (!f)
            fail_msg("%s: no %s finding", dir, cases[i].rule);
        char *want = f->line > 0 ? pf_asprintf("%s:%d:%d: %s; hint: %s", f->file, f->line,
                                               f->column, f->message, f->hint)
                                 : pf_asprintf("%s: %s; hint: %s", f->file, f->message, f->hint);
        assert_string_equal(err.msg, want);
        free(want);
        lint_result_free(r);
        free(dir);
    }
}

static void test_journal_malformed(void **state)
{
    (void)state;
    /* A missing comma after "when" on line 7: cJSON stops at the "tag" key that follows. */
    check(DATA "journal_malformed", 1,
          "journal-malformed error meta/_journal.json:8:7\n"
          "orphan-sql error 0000_init.sql\n");
    char *hint;
    char *msg = message_of(DATA "journal_conflict", "journal-malformed", &hint);
    assert_string_equal(msg, "malformed JSON: merge conflict markers; drizzle-orm cannot read "
                             "the journal");
    assert_contains(hint, "resolve the conflict");
    free(msg);
    free(hint);
    check(DATA "journal_conflict", 1,
          "journal-malformed error meta/_journal.json:12:1\n"
          "orphan-sql error 0000_init.sql\n");
}

/* A dialect that is not PostgreSQL, an entry whose when is a string, one without a tag, one
 * that is not an object: each at its own line; the good entry is still read. */
static void test_journal_bad_entries(void **state)
{
    (void)state;
    check(DATA "journal_bad_entry", 2,
          "journal-malformed error meta/_journal.json:3:3\n"
          "journal-malformed error meta/_journal.json:15:7\n"
          "journal-malformed error meta/_journal.json:19:5\n"
          "journal-malformed error meta/_journal.json:25:5\n");
}

static void test_missing_file(void **state)
{
    (void)state;
    /* Entry 1's "tag" is on line 16. */
    check(DATA "missing_file", 1, "missing-file error meta/_journal.json:16:7\n");
    char *msg = message_of(DATA "missing_file", "missing-file", NULL);
    assert_string_equal(msg, "0001_gone.sql not found: drizzle-orm fails every run (\"No file "
                             "... found\")");
    free(msg);
}

static void test_orphan_sql(void **state)
{
    (void)state;
    /* Its statements are still checked: two migrations. */
    check(DATA "orphan_sql", 2, "orphan-sql error 0001_unlisted.sql\n");
}

static void test_duplicate_tag(void **state)
{
    (void)state;
    check(DATA "duplicate_tag", 1, "duplicate-tag error meta/_journal.json:16:7\n");
}

/* Two entries numbered 0001 (reported on the later, at its tag), and an unlisted 0002 file
 * beside a listed 0002: reported once, as an orphan, with the hint for an abandoned file
 * (not "generate again" as a second duplicate-number would say). */
static void test_duplicate_number(void **state)
{
    (void)state;
    check(DATA "duplicate_number", 5,
          "duplicate-number error meta/_journal.json:23:7\n"
          "orphan-sql error 0002_unlisted.sql\n");
    char *orphan_hint;
    char *orphan = message_of(DATA "duplicate_number", "orphan-sql", &orphan_hint);
    assert_string_equal(orphan_hint,
                        "the journal runs 0002_tags under the same number: if 0002_unlisted.sql "
                        "was abandoned (a branch's migration that lost the merge), delete it; if "
                        "its change is still wanted, delete it and run drizzle-kit generate "
                        "again on top of the journal");
    free(orphan);
    free(orphan_hint);
    char *hint;
    char *msg = message_of(DATA "duplicate_number", "duplicate-number", &hint);
    assert_string_equal(msg, "0001_posts_body has the same number 0001 as 0001_users_age: two "
                             "branches each generated a migration 0001");
    assert_contains(hint, "delete 0001_posts_body");
    free(msg);
    free(hint);
}

/* when: 1000, 3000, 2000, 3000. The third is before the second; the fourth equals the
 * high-water mark, which drizzle-orm also skips (it applies only `when` > newest). */
static void test_when_not_increasing(void **state)
{
    (void)state;
    check(DATA "when_not_increasing", 4,
          "when-not-increasing error meta/_journal.json:22:7\n"
          "when-not-increasing error meta/_journal.json:29:7\n");
    char *msg = message_of(DATA "when_not_increasing", "when-not-increasing", NULL);
    assert_string_equal(msg, "entry 0002_merged_late has \"when\" 1700000002000, before entry "
                             "0001_a's 1700000003000: drizzle-orm skips 0002_merged_late on "
                             "every database where 0001_a is applied, and reports success");
    free(msg);
}

static void test_mixed_layout(void **state)
{
    (void)state;
    check(DATA "mixed_layout", 1, "mixed-layout error meta/_journal.json\n");
}

static void test_v1_missing_sql(void **state)
{
    (void)state;
    LintResult *r = lint_ok(DATA "v1_missing_sql");
    assert_int_equal(r->layout, CB_LAYOUT_FOLDERS);
    lint_result_free(r);
    check(DATA "v1_missing_sql", 1,
          "v1-missing-sql error 20250102000000_lost\n"
          "orphan-sql error stray.sql\n");
}

/* A folder name without the timestamp and one with month 13; both still checked. */
static void test_v1_bad_name(void **state)
{
    (void)state;
    check(DATA "v1_bad_name", 3,
          "v1-bad-name error 20251301000000_month13\n"
          "v1-bad-name error seed\n");
    char *msg = message_of(DATA "v1_bad_name", "v1-bad-name", NULL);
    assert_string_equal(msg, "invalid timestamp prefix 20251301000000 (month 13 out of range): "
                             "drizzle-orm derives no valid timestamp from it");
    free(msg);
}

/* Nothing to lint is an error of the call, not a finding. */
static void test_not_a_migrations_folder(void **state)
{
    (void)state;
    LintResult *r = (LintResult *)1;
    PfErr err;
    assert_int_equal(lint_folder(DATA "not_migrations", &r, &err), PF_ERR_INPUT);
    assert_null(r);
    assert_string_equal(err.msg, DATA "not_migrations: no meta/_journal.json, no "
                                      "<YYYYMMDDHHMMSS>_<name>/migration.sql folders and no "
                                      ".sql files; is this a drizzle migrations folder?");
    assert_int_equal(lint_folder(DATA "no_such_folder", &r, &err), PF_ERR_IO);
    assert_string_equal(err.msg, DATA "no_such_folder: migrations folder not found");
    assert_int_equal(lint_folder(DATA "not_migrations/README.md", &r, &err), PF_ERR_INPUT);
    assert_string_equal(err.msg, DATA "not_migrations/README.md: not a directory");
}

/* A NUL byte cannot reach the server: invalid input for lint as for plan and apply (exit 3),
 * naming file:line:column, not a finding among others. */
static void test_nul_byte(void **state)
{
    (void)state;
    LintResult *r = (LintResult *)1;
    PfErr err;
    assert_int_equal(lint_folder(DATA "nul_byte", &r, &err), PF_ERR_INPUT);
    assert_null(r);
    assert_string_equal(err.msg, DATA "nul_byte/0001_nul.sql:2:53: a NUL byte: PostgreSQL cannot "
                                      "receive it in a query, and nothing after it would run; "
                                      "hint: delete it (a file saved as UTF-16 is full of them: "
                                      "save it as UTF-8)");
}

/* ---- statements ------------------------------------------------------------------------- */

/* DROP TABLE of two existing tables (one schema-qualified); a table created and dropped in
 * the same migration is no loss. */
static void test_drop_table(void **state)
{
    (void)state;
    check(DATA "drop_table", 2,
          "drop-table warning 0001_drop.sql:5:1\n"
          "drop-table warning 0001_drop.sql:5:1\n");
    char *msg = message_of(DATA "drop_table", "drop-table", NULL);
    assert_string_equal(msg, "DROP TABLE posts deletes the table and every row in it");
    free(msg);
}

/* DROP COLUMN with and without COLUMN; DROP CONSTRAINT and ALTER COLUMN ... DROP DEFAULT are
 * not column drops. The second drop is a subcommand of a multi-command ALTER TABLE: found at
 * the subcommand (line 9), not at the statement (line 7). */
static void test_drop_column(void **state)
{
    (void)state;
    check(DATA "drop_column", 2,
          "drop-column warning 0001_drop.sql:5:1\n"
          "drop-column warning 0001_drop.sql:9:3\n");
}

/* Findings about one subcommand of a multi-command ALTER TABLE point at that subcommand's
 * line:column (the parse tree keeps none for it: the tokens do), past commas inside a string,
 * an ARRAY[...], a USING (...) and a comment; a single-command ALTER TABLE at the statement. */
static void test_alter_subcommands(void **state)
{
    (void)state;
    check(DATA "alter_subcommands", 2,
          "set-not-null info 0001_subcommands.sql:1:41\n"
          "alter-column-type warning 0001_subcommands.sql:6:3\n"
          "set-not-null info 0001_subcommands.sql:8:3\n"
          "set-not-null info 0001_subcommands.sql:10:1\n");
    LintResult *r = lint_ok(DATA "alter_subcommands");
    assert_string_equal(r->findings[1].message,
                        "changing the type of t.y can rewrite the table under an ACCESS EXCLUSIVE "
                        "lock; values that do not convert fail the migration, and a narrower type "
                        "can round or cut them");
    assert_contains(r->findings[2].message, "SET NOT NULL on t.x");
    lint_result_free(r);
}

/* Generated order (CREATE before DROP): orders -> purchases with the same columns, name ->
 * full_name (same type), age dropped and added again; flag (boolean) -> tags (text[]) is no
 * rename; logs dropped and created again. */
static void test_drop_create(void **state)
{
    (void)state;
    check(DATA "drop_create", 2,
          "drop-create warning 0001_renames.sql:6:1\n"
          "drop-create warning 0001_renames.sql:10:1\n"
          "drop-create warning 0001_renames.sql:12:1\n"
          "drop-column warning 0001_renames.sql:16:1\n"
          "drop-create warning 0001_renames.sql:20:1\n");
    LintResult *r = lint_ok(DATA "drop_create");
    assert_string_equal(r->findings[0].message,
                        "table orders is dropped here and table purchases, with the same "
                        "columns, is created at line 1: this looks like a rename generated as "
                        "drop+create, and every row of orders is lost");
    assert_string_equal(r->findings[0].hint, "if it is a rename, use ALTER TABLE orders RENAME "
                                             "TO purchases (answer \"rename\" when drizzle-kit "
                                             "generate asks)");
    assert_string_equal(r->findings[1].message,
                        "column users.name is dropped here and column full_name is added at line "
                        "8: this looks like a rename generated as drop+create, and the column's "
                        "data is lost");
    assert_string_equal(r->findings[1].hint, "if it is a rename, use ALTER TABLE users RENAME "
                                             "COLUMN name TO full_name (answer \"rename\" when "
                                             "drizzle-kit generate asks)");
    assert_string_equal(r->findings[2].message,
                        "column users.age is dropped here and added again at line 14: its data "
                        "is lost");
    assert_string_equal(r->findings[4].message,
                        "table logs is dropped here and created again at line 22: every row is "
                        "lost");
    lint_result_free(r);
}

/* SET DATA TYPE and the short TYPE form; a table created in the same migration has no rows. */
static void test_alter_column_type(void **state)
{
    (void)state;
    check(DATA "alter_column_type", 2,
          "alter-column-type warning 0001_types.sql:1:1\n"
          "alter-column-type warning 0001_types.sql:3:1\n");
}

static void test_set_not_null(void **state)
{
    (void)state;
    check(DATA "set_not_null", 2, "set-not-null info 0001_not_null.sql:7:1\n");
    char *hint;
    char *msg = message_of(DATA "set_not_null", "set-not-null", &hint);
    assert_contains(msg, "users.name");
    assert_string_equal(hint, "fill the NULLs first (UPDATE users SET name = ... WHERE name IS "
                              "NULL); on a large table validate a CHECK (name IS NOT NULL) NOT "
                              "VALID constraint beforehand");
    free(msg);
    free(hint);
}

/* Every kind, several statements per chunk (lines 7-9); REINDEX TABLE and a plain CREATE
 * INDEX run fine in a transaction. */
static void test_non_transactional(void **state)
{
    (void)state;
    check(DATA "non_transactional", 2,
          "non-transactional error 0001_online.sql:1:1\n"
          "non-transactional error 0001_online.sql:3:1\n"
          "non-transactional error 0001_online.sql:5:1\n"
          "non-transactional error 0001_online.sql:8:1\n"
          "non-transactional error 0001_online.sql:9:1\n"
          "non-transactional error 0001_online.sql:11:1\n"
          "non-transactional error 0001_online.sql:13:1\n"
          "non-transactional error 0001_online.sql:15:1\n"
          "non-transactional error 0001_online.sql:17:1\n");
    LintResult *r = lint_ok(DATA "non_transactional");
    const char *const what[] = {"CREATE INDEX CONCURRENTLY",
                                "CREATE INDEX CONCURRENTLY",
                                "DROP INDEX CONCURRENTLY",
                                "REINDEX ... CONCURRENTLY",
                                "REINDEX SCHEMA",
                                "VACUUM",
                                "CREATE DATABASE",
                                "ALTER SYSTEM",
                                "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"};
    for (size_t i = 0; i < r->n; i++) {
        char *want = pf_asprintf("%s cannot run inside a transaction block, and drizzle-orm "
                                 "runs all pending migrations in one: this migration fails and "
                                 "the whole run is rolled back",
                                 what[i]);
        assert_string_equal(r->findings[i].message, want);
        free(want);
    }
    lint_result_free(r);
}

/* 'guest' added in 0001 and used there (SET DEFAULT, line 6) and in 0002 (UPDATE, line 5); an
 * INSERT of 'guest' into a text column of another table, 'guest'::text, a new enum with a
 * 'guest' label and a COMMENT are no uses. */
static void test_enum_value_use(void **state)
{
    (void)state;
    check(DATA "enum_value_use", 3,
          "enum-value-use error 0001_guest.sql:6:53\n"
          "enum-value-use error 0002_backfill.sql:5:17\n");
    LintResult *r = lint_ok(DATA "enum_value_use");
    assert_string_equal(r->findings[0].message,
                        "'guest' is added to enum user_role at line 1 of this migration and used "
                        "here in the same transaction: PostgreSQL fails with \"unsafe use of new "
                        "value\"");
    assert_string_equal(r->findings[1].message,
                        "'guest' is added to enum user_role by migration 0001_guest (line 1), and "
                        "drizzle-orm runs all pending migrations in one transaction: wherever "
                        "both are pending (every new database) PostgreSQL fails with \"unsafe "
                        "use of new value\"");
    assert_string_equal(r->findings[1].migration, "0002_backfill");
    lint_result_free(r);
}

/* The v1 layout runs folders in timestamp order, whatever readdir says: the value is added
 * (20250102) before the folder that uses it (20250103). */
static void test_v1_enum_order(void **state)
{
    (void)state;
    check(DATA "v1_statements", 3, "enum-value-use error 20250103000000_use/migration.sql:1:31\n");
}

/* A breakpoint inside a function body cuts it in two (both halves reported); a string never
 * closed at the end of the file. */
static void test_unterminated(void **state)
{
    (void)state;
    check(DATA "unterminated", 2,
          "unterminated error 0001_function.sql:1:45\n"
          "unterminated error 0001_function.sql:5:5\n"
          "unterminated error 0001_function.sql:7:39\n");
    char *msg = message_of(DATA "unterminated", "unterminated", NULL);
    assert_string_equal(msg, "this dollar-quoted body is cut by the statement-breakpoint at line "
                             "3: drizzle-orm runs the two parts as separate statements, and both "
                             "fail");
    free(msg);
}

/* Line numbers count through a BOM (itself an error: PostgreSQL rejects it), CRLF line ends
 * and breakpoints; columns count characters (the é is one). */
static void test_positions(void **state)
{
    (void)state;
    char *dir = make_tmp();
    put(dir, "meta/_journal.json",
        "{\"version\":\"7\",\"dialect\":\"postgresql\",\"entries\":[{\"idx\":0,\"version\":\"7\","
        "\"when\":1,\"tag\":\"0000_a\",\"breakpoints\":true}]}");
    put(dir, "0000_a.sql",
        "\xEF\xBB\xBF-- caf\xC3\xA9\r\nSELECT 1;\r\n--> statement-breakpoint\r\n"
        "/* caf\xC3\xA9 */ DROP TABLE \"t\";");
    check(dir, 1,
          "byte-order-mark error 0000_a.sql:1:1\n"
          "drop-table warning 0000_a.sql:4:12\n");
    rm_rf(dir);
    free(dir);
}

/* The schema model follows RENAME TO and RENAME COLUMN: the enum column is found under its new
 * names, and the renamed table's columns make a later drop+create look like a rename. Renames
 * themselves are no findings. */
static void test_model_follows_renames(void **state)
{
    (void)state;
    char *dir = make_tmp();
    put(dir, "meta/_journal.json",
        "{\"version\":\"7\",\"dialect\":\"postgresql\",\"entries\":["
        "{\"idx\":0,\"version\":\"7\",\"when\":1,\"tag\":\"0000_a\",\"breakpoints\":true},"
        "{\"idx\":1,\"version\":\"7\",\"when\":2,\"tag\":\"0001_b\",\"breakpoints\":true},"
        "{\"idx\":2,\"version\":\"7\",\"when\":3,\"tag\":\"0002_c\",\"breakpoints\":true}]}");
    put(dir, "0000_a.sql",
        "CREATE TYPE \"public\".\"role\" AS ENUM('a');\n"
        "CREATE TABLE \"users\" (\"id\" integer, \"kind\" \"public\".\"role\");\n");
    put(dir, "0001_b.sql",
        "ALTER TABLE \"users\" RENAME TO \"members\";\n"
        "ALTER TABLE \"members\" RENAME COLUMN \"kind\" TO \"r\";\n"
        "ALTER TYPE \"role\" ADD VALUE 'b';\n"
        "UPDATE \"members\" SET \"r\" = 'b';\n");
    put(dir, "0002_c.sql",
        "CREATE TABLE \"people\" (\"r\" \"role\", \"id\" integer);\n"
        "DROP TABLE \"members\";\n");
    check(dir, 3,
          "enum-value-use error 0001_b.sql:4:28\n"
          "drop-create warning 0002_c.sql:2:1\n");
    rm_rf(dir);
    free(dir);
}

/* ---- false findings of the token rules, and what replaced them -------------------------- */

/* A COMMIT chunk ends drizzle's transaction (escapes-transaction, at the COMMIT); after it a
 * CREATE INDEX CONCURRENTLY alone in its chunk runs (two of them), one that shares its chunk
 * does not (the chunk is one query: one implicit transaction block), and one in a later
 * migration runs inside the transaction wherever that migration is pending alone. */
static void test_escapes_transaction(void **state)
{
    (void)state;
    check(DATA "escapes_transaction", 3,
          "escapes-transaction warning 0001_indexes.sql:3:1\n"
          "non-transactional error 0001_indexes.sql:9:1\n"
          "non-transactional error 0001_indexes.sql:9:56\n"
          "non-transactional error 0002_later.sql:1:1\n");
    LintResult *r = lint_ok(DATA "escapes_transaction");
    assert_string_equal(r->findings[0].message,
                        "this commit ends drizzle's transaction in chunk 2 of 5: the statements "
                        "after it, and every later migration of the same run, run one by one "
                        "outside any transaction; if one of them fails, what ran before it stays "
                        "applied and the migration gets no ledger row, so the next run starts it "
                        "over");
    assert_string_equal(r->findings[1].message,
                        "CREATE INDEX CONCURRENTLY shares its chunk with other statements: "
                        "drizzle-orm sends a chunk as one query, which PostgreSQL runs as one "
                        "transaction block, and refuses CREATE INDEX CONCURRENTLY in it");
    lint_result_free(r);
}

/* A hand-written migration wrapped in BEGIN; ... COMMIT; chunks, as real projects write them:
 * BEGIN inside drizzle's transaction changes nothing, the UPDATE ... FROM with aliases fills
 * the new column, the DO block is not read; the final COMMIT ends drizzle's transaction, so
 * the next migration's plain CREATE INDEX runs outside it (reported once, at the COMMIT). */
static void test_begin_commit_wrapped(void **state)
{
    (void)state;
    check(DATA "begin_commit_wrapped", 3,
          "set-not-null info 0001_owner.sql:20:1\n"
          "escapes-transaction warning 0001_owner.sql:22:1\n");
}

/* type::text <> 'managed_oauth' compares text, and a text column written with the new value
 * holds text: neither is a use of the enum value added just before. */
static void test_enum_compared_as_text(void **state)
{
    (void)state;
    check(DATA "enum_compared_as_text", 2, "");
}

/* organizationId is added, filled from the rows (UPDATE ... SET "organizationId" = (SELECT
 * ...)) and userId dropped: a backfill, not a rename. archived (boolean) dropped and
 * description (text) added are unrelated. Each drop is a plain drop-column. */
static void test_backfill_not_rename(void **state)
{
    (void)state;
    check(DATA "backfill_not_rename", 2,
          "set-not-null info 0001_organizations.sql:5:1\n"
          "drop-column warning 0001_organizations.sql:7:1\n"
          "drop-column warning 0001_organizations.sql:9:1\n");
}

/* varchar(64) -> text, varchar(20) -> varchar(128) and numeric(10,2) -> numeric(12,2)
 * neither rewrite nor narrow: no finding. integer -> bigint converts every value but
 * rewrites; text -> varchar(255) can cut. */
static void test_widening_types(void **state)
{
    (void)state;
    check(DATA "widening_types", 2,
          "alter-column-type warning 0001_widen.sql:7:1\n"
          "alter-column-type warning 0001_widen.sql:9:1\n");
    LintResult *r = lint_ok(DATA "widening_types");
    assert_string_equal(r->findings[0].message,
                        "changing post.views from int4 to int8 converts every value, but "
                        "rewrites the table and its indexes under an ACCESS EXCLUSIVE lock");
    assert_contains(r->findings[1].message, "a narrower type can round or cut them");
    lint_result_free(r);
}

/* A psql meta-command: the parser refuses the chunk, which is said (unparsed), and the chunk
 * is still read by its keywords (the DROP TABLE after it). */
static void test_unparsed(void **state)
{
    (void)state;
    check(DATA "unparsed", 2,
          "unparsed warning 0001_psql.sql:1:1\n"
          "drop-table warning 0001_psql.sql:2:1\n");
    char *hint;
    char *msg = message_of(DATA "unparsed", "unparsed", &hint);
    assert_string_equal(msg, "PostgreSQL's parser (the PostgreSQL 15 grammar) refuses this "
                             "chunk: syntax error at or near \"\\\"; lint checked it by its "
                             "keywords only");
    assert_contains(hint, "psql command");
    free(msg);
    free(hint);
}

/* ---- the lexer -------------------------------------------------------------------------- */

/* The kinds and texts of the tokens of sql, "KIND:text" joined by spaces. */
static char *lex(const char *sql)
{
    static const char *const kinds[] = {"END",    "WORD",  "IDENT", "STRING", "DOLLAR",
                                        "NUMBER", "PARAM", "SEMI",  "OP"};
    SqlLexer lx;
    SqlToken t;
    PfBuf b = PF_BUF_INIT;
    sqllex_init(&lx, sql, strlen(sql));
    while (sqllex_next(&lx, &t) != SQL_TOK_END)
        pf_buf_printf(&b, "%s%s%s:%.*s", b.len ? " " : "", t.unterminated ? "~" : "", kinds[t.kind],
                      (int)t.len, sql + t.start);
    assert_int_equal(sqllex_next(&lx, &t), SQL_TOK_END);
    return pf_buf_take(&b);
}

static void test_lexer_tokens(void **state)
{
    (void)state;
    static const struct {
        const char *sql, *want;
    } cases[] = {
        {"DROP TABLE \"t\";", "WORD:DROP WORD:TABLE IDENT:\"t\" SEMI:;"},
        {"-- DROP TABLE x\nSELECT", "WORD:SELECT"},
        {"/* a /* DROP */ TABLE */ x", "WORD:x"},
        {"/* never closed DROP TABLE", ""},
        {"'it''s; DROP' x", "STRING:'it''s; DROP' WORD:x"},
        {"E'it\\'s; DROP' x", "STRING:E'it\\'s; DROP' WORD:x"},
        {"e'\\\\' x", "STRING:e'\\\\' WORD:x"},
        {"'a\\' x", "STRING:'a\\' WORD:x"},
        {"B'01' X'1F' N'n' U&'u' U&\"i\"", "STRING:B'01' STRING:X'1F' STRING:N'n' STRING:U&'u' "
                                           "IDENT:U&\"i\""},
        {"ax'1'", "WORD:ax STRING:'1'"},
        {"\"a\"\"; DROP\" x", "IDENT:\"a\"\"; DROP\" WORD:x"},
        {"$$ DROP TABLE x; $$ y", "DOLLAR:$$ DROP TABLE x; $$ WORD:y"},
        {"$$ DROP TABLE x; $$; y", "DOLLAR:$$ DROP TABLE x; $$ SEMI:; WORD:y"},
        {"$fn$ $$ ; $other$ $fn$ z", "DOLLAR:$fn$ $$ ; $other$ $fn$ WORD:z"},
        {"$1 a$b $_x$ q $_x$", "PARAM:$1 WORD:a$b DOLLAR:$_x$ q $_x$"},
        {"$ 1.5e-3 .5 0x1F 1_000", "OP:$ NUMBER:1.5e-3 NUMBER:.5 NUMBER:0x1F NUMBER:1_000"},
        {"a::text, (b)", "WORD:a OP:: OP:: WORD:text OP:, OP:( WORD:b OP:)"},
        {"caf\xC3\xA9 x", "WORD:caf\xC3\xA9 WORD:x"},
        {"'open", "~STRING:'open"},
        {"\"open", "~IDENT:\"open"},
        {"$q$ open $q", "~DOLLAR:$q$ open $q"},
        {"E'\\", "~STRING:E'\\"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = lex(cases[i].sql);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("lex(%s):\n  got  [%s]\n  want [%s]", cases[i].sql, got, cases[i].want);
        free(got);
    }
}

static void test_lexer_values(void **state)
{
    (void)state;
    const char *sql = "Users \"Users\" \"a\"\"b\" 'it''s' E'a\\nb\\'c' U&'x' 42 \"open";
    SqlLexer lx;
    SqlToken t[8];
    sqllex_init(&lx, sql, strlen(sql));
    for (int i = 0; i < 8; i++)
        sqllex_next(&lx, &t[i]);
    const char *const want[] = {"users", "Users", "a\"b", "it's", "a\nb'c", "x", NULL, "open"};
    for (int i = 0; i < 8; i++) {
        char *v =
            t[i].kind == SQL_TOK_STRING ? sqllex_string(sql, &t[i]) : sqllex_ident(sql, &t[i]);
        if (!want[i]) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_string_equal(v, want[i]);
        }
        free(v);
    }
    assert_true(sqllex_is(sql, &t[0], "users"));
    assert_false(sqllex_is(sql, &t[1], "users"));
    assert_null(sqllex_string(sql, &t[0]));
}

/* ---- the rule table --------------------------------------------------------------------- */

static void test_rules(void **state)
{
    (void)state;
    size_t n = 0;
    for (const LintRule *r = lint_rules; r->id; r++, n++) {
        for (const LintRule *q = lint_rules; q < r; q++)
            assert_string_not_equal(q->id, r->id);
        assert_true(r->summary && r->summary[0]);
    }
    assert_int_equal(n, 22);
    assert_string_equal(lint_severity_name(LINT_ERROR), "error");
    assert_string_equal(lint_severity_name(LINT_WARNING), "warning");
    assert_string_equal(lint_severity_name(LINT_INFO), "info");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_folders_are_clean),
        cmocka_unit_test(test_lexer_traps_are_clean),
        cmocka_unit_test(test_journal_missing),
        cmocka_unit_test(test_folder_problems_same_words),
        cmocka_unit_test(test_journal_malformed),
        cmocka_unit_test(test_journal_bad_entries),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_orphan_sql),
        cmocka_unit_test(test_duplicate_tag),
        cmocka_unit_test(test_duplicate_number),
        cmocka_unit_test(test_when_not_increasing),
        cmocka_unit_test(test_mixed_layout),
        cmocka_unit_test(test_v1_missing_sql),
        cmocka_unit_test(test_v1_bad_name),
        cmocka_unit_test(test_not_a_migrations_folder),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_drop_table),
        cmocka_unit_test(test_drop_column),
        cmocka_unit_test(test_alter_subcommands),
        cmocka_unit_test(test_drop_create),
        cmocka_unit_test(test_alter_column_type),
        cmocka_unit_test(test_set_not_null),
        cmocka_unit_test(test_non_transactional),
        cmocka_unit_test(test_enum_value_use),
        cmocka_unit_test(test_v1_enum_order),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_model_follows_renames),
        cmocka_unit_test(test_escapes_transaction),
        cmocka_unit_test(test_begin_commit_wrapped),
        cmocka_unit_test(test_enum_compared_as_text),
        cmocka_unit_test(test_backfill_not_rename),
        cmocka_unit_test(test_widening_types),
        cmocka_unit_test(test_unparsed),
        cmocka_unit_test(test_lexer_tokens),
        cmocka_unit_test(test_lexer_values),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
