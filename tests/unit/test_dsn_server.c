/*
 * pg_dsn_server (src/pg/endpoint.c): the server a dsn reaches, as max_per_server counts
 * connections: host (hostaddr first) and port as libpq reads them from a URL or key=value
 * pairs, PGHOST/PGPORT when the dsn has none, 5432 by default, never the password, and NULL
 * for a dsn libpq rejects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg/pg.h"

#include <stdlib.h>
#include <string.h>

static void server_is(const char *dsn, const char *want)
{
    char *got = pg_dsn_server(dsn);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_servers(void **state)
{
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    unsetenv("PGPORT");
    server_is("postgresql://app:secret@db.internal:6432/tenant_1", "db.internal:6432");
    server_is("postgresql://app:secret@db.internal/tenant_2", "db.internal:5432");
    server_is("host=db.internal port=5433 dbname=a password=secret", "db.internal:5433");
    server_is("host=db.internal hostaddr=10.0.0.7 dbname=a", "10.0.0.7:5432");
    server_is("postgresql://%2Fvar%2Frun%2Fpostgresql/app", "/var/run/postgresql:5432");
    server_is("host=a,b port=5432,5433 dbname=x", "a,b:5432,5433");
    server_is("dbname=app", ":5432");
    setenv("PGHOST", "envhost", 1);
    setenv("PGPORT", "7777", 1);
    server_is("dbname=app", "envhost:7777");
    server_is("host=db dbname=app", "db:7777");
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    server_is("host='unterminated", NULL);
    server_is("postgresql://app:secret@[::1/x", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
