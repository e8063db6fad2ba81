/* Which chunks end drizzle's transaction (src/codebase/escape.c). */
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
        cmocka_unit_test(test_first_escaping_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
