/* Which chunks end drizzle's transaction (src/codebase/escape.c), read with PostgreSQL's parser
 * (src/sql/) and, for a chunk it refuses, by first words. */
#include "codebase/codebase.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static bool escapes(const char *chunk)
{
    return cb_chunk_escapes(chunk, strlen(chunk));
}

static void test_statements_that_end_it(void **state)
{
    (void)state;
    assert_true(escapes("COMMIT;"));
    assert_true(escapes("\ncommit\n"));
    assert_true(escapes("END;"));
    assert_true(escapes("end transaction;"));
    assert_true(escapes("ROLLBACK;"));
    assert_true(escapes("abort;"));
    assert_true(escapes("COMMIT AND CHAIN;"));
    assert_true(escapes("PREPARE TRANSACTION 'x';"));
    assert_true(
        escapes("ALTER TABLE t ADD COLUMN w int; COMMIT; CREATE INDEX CONCURRENTLY i ON t (w);"));
    assert_true(escapes("-- a comment\n/* and another */ COMMIT"));
}

static void test_statements_that_stay_inside(void **state)
{
    (void)state;
    assert_false(escapes("BEGIN;")); /* inside drizzle's transaction: a warning, nothing else */
    assert_false(escapes("START TRANSACTION;"));
    assert_false(escapes("ROLLBACK TO SAVEPOINT s;"));
    assert_false(escapes("rollback to s;"));
    assert_false(escapes("SAVEPOINT s; RELEASE s;"));
    assert_false(escapes("CALL fill_in_batches();"));
    assert_false(escapes("SELECT 'COMMIT;';"));
    assert_false(escapes("-- COMMIT;\nSELECT 1;"));
    assert_false(escapes("/* COMMIT; */ SELECT 1;"));
    assert_false(escapes("DO $$ BEGIN COMMIT; END $$;"));
    assert_false(escapes("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
                         "END;"));
    assert_false(escapes("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC UPDATE t SET a = CASE "
                         "WHEN a > 0 THEN 1 ELSE 0 END; END;"));
    assert_false(escapes("SELECT commit FROM t;"));
    assert_false(escapes(""));
}

/* What PostgreSQL's parser tells apart that the first words did not: ROLLBACK WORK /
 * TRANSACTION TO stays inside; COMMIT / ROLLBACK PREPARED end nothing (PostgreSQL refuses them
 * inside a transaction block); a COMMIT in a LANGUAGE sql body is the procedure's. */
static void test_read_by_the_parser(void **state)
{
    (void)state;
    assert_false(escapes("ROLLBACK TRANSACTION TO SAVEPOINT s;"));
    assert_false(escapes("ROLLBACK WORK TO s;"));
    assert_false(escapes("COMMIT PREPARED 'x';"));
    assert_false(escapes("ROLLBACK PREPARED 'x';"));
    assert_false(escapes("PREPARE q AS SELECT 1;"));
    assert_false(escapes("CREATE PROCEDURE p() LANGUAGE sql AS $$ UPDATE t SET a = 1; COMMIT $$;"));
    assert_false(escapes("SELECT 1 AS \"end\"; SELECT 'ROLLBACK';"));
    assert_true(escapes("END WORK;"));
    assert_true(escapes("ROLLBACK AND CHAIN;"));
    assert_true(escapes("/* c */ SELECT 1; -- c\nABORT TRANSACTION"));
    assert_true(escapes("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"
                        "\nCOMMIT;"));
}

/* A chunk the parser refuses is read by its first words, as before the parser. */
static void test_unparsed_falls_back(void **state)
{
    (void)state;
    assert_true(escapes("COMMIT;\n\\c otherdb"));
    assert_true(escapes("SELEC 1; END;"));
    assert_false(escapes("\\c otherdb\nSELECT 1;"));
    assert_false(escapes("SELECT 'COMMIT; -- never closed"));
}

static void test_first_escaping_chunk(void **state)
{
    (void)state;
    char *chunks[] = {"ALTER TABLE t ADD COLUMN w int;", "\nCOMMIT;", "\nCREATE INDEX x;",
                      "\nROLLBACK;"};
    CbMigration m = {.chunks = chunks, .n_chunks = 4};
    assert_int_equal(cb_escape_chunk(&m), 2);
    m.n_chunks = 1;
    assert_int_equal(cb_escape_chunk(&m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statements_that_end_it),
        cmocka_unit_test(test_statements_that_stay_inside),
        cmocka_unit_test(test_read_by_the_parser),
        cmocka_unit_test(test_unparsed_falls_back),
        cmocka_unit_test(test_first_escaping_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
