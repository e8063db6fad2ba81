/* Connecting when the server cannot take us yet (src/pg/connect.h): which failures are retried,
 * read from libpq 15's messages as a real server makes them, and the names --dsn targets get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg/connect.h"

#include <stdlib.h>
#include <string.h>

#define AT "connection to server at \"127.0.0.1\", port 5432 failed: "

static void test_out_of_connections(void **state)
{
    /* PostgreSQL 15, as libpq 15 prints them (checked against a real server) */
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  sorry, too many clients already"),
                     PG_CONNECT_BUSY);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  too many connections for role \"lim\""),
                     PG_CONNECT_BUSY);
    assert_int_equal(
        pg_connect_error_kind(AT "FATAL:  too many connections for database \"tenant_1\""),
        PG_CONNECT_BUSY);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  remaining connection slots are reserved "
                                              "for non-replication superuser connections"),
                     PG_CONNECT_BUSY);
    /* PostgreSQL 16 */
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  remaining connection slots are reserved "
                                              "for roles with the SUPERUSER attribute"),
                     PG_CONNECT_BUSY);
    /* verbose errors carry the SQLSTATE */
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  53300: sorry, too many clients already "
                                              "LOCATION:  InitProcess, proc.c:357"),
                     PG_CONNECT_BUSY);
}

static void test_not_accepting_yet(void **state)
{
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  the database system is starting up"),
                     PG_CONNECT_STARTING);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  the database system is shutting down"),
                     PG_CONNECT_STARTING);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  the database system is in recovery mode"),
                     PG_CONNECT_STARTING);
    assert_int_equal(
        pg_connect_error_kind(AT "FATAL:  the database system is not yet accepting connections "
                                 "DETAIL:  Consistent recovery state has not been yet reached."),
        PG_CONNECT_STARTING);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  57P03: the database system is starting up"),
                     PG_CONNECT_STARTING);
}

static void test_nothing_listening(void **state)
{
    assert_int_equal(pg_connect_error_kind(AT "Connection refused  Is the server running on that "
                                              "host and accepting TCP/IP connections?"),
                     PG_CONNECT_REFUSED);
    assert_int_equal(
        pg_connect_error_kind("connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" "
                              "failed: No such file or directory  Is the server running locally "
                              "and accepting connections on that socket?"),
        PG_CONNECT_REFUSED);
}

static void test_not_retried(void **state)
{
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  password authentication failed for user "
                                              "\"app\""),
                     PG_CONNECT_OTHER);
    assert_int_equal(pg_connect_error_kind(AT "FATAL:  database \"nope\" does not exist"),
                     PG_CONNECT_OTHER);
    assert_int_equal(pg_connect_error_kind("could not translate host name \"db\" to address: "
                                           "Name or service not known"),
                     PG_CONNECT_OTHER);
    assert_int_equal(pg_connect_error_kind(AT "timeout expired"), PG_CONNECT_OTHER);
    /* a missing file that is not the server's socket */
    assert_int_equal(pg_connect_error_kind("could not open certificate file "
                                           "\"/x/client.crt\": No such file or directory"),
                     PG_CONNECT_OTHER);
    assert_int_equal(pg_connect_error_kind(""), PG_CONNECT_OTHER);
    assert_int_equal(pg_connect_error_kind(NULL), PG_CONNECT_OTHER);
}

static void check_label(const char *dsn, const char *want)
{
    char *label = NULL;
    PfErr err = {0};
    if (pg_dsn_label(dsn, &label, &err) != PF_OK)
        fail_msg("%s: %s", dsn, err.msg);
    assert_string_equal(label, want);
    free(label);
}

static void test_dsn_labels(void **state)
{
    check_label("postgresql://app:S3cret-pw@db.example.com/app", "db.example.com/app");
    check_label("postgres://app@db.example.com:6432/tenant_acme?sslmode=require",
                "db.example.com:6432/tenant_acme");
    check_label("host=10.0.0.7 port=5433 dbname=app user=app password=S3cret-pw",
                "10.0.0.7:5433/app");
    check_label("hostaddr=10.0.0.8 dbname=app", "10.0.0.8/app");
    check_label("postgresql:///app?host=/var/run/postgresql", "local/app");
    check_label("postgresql://app@/app", "local/app");
    check_label("postgresql://db1,db2/app", "db1,db2/app");
    check_label("postgresql://app@db", "db");
    check_label("", "local");

    char *label = NULL;
    PfErr err = {0};
    assert_int_equal(pg_dsn_label("host=db port", &label, &err), PF_ERR_INPUT);
    assert_null(label);
    assert_string_equal(err.msg, "invalid connection string: missing \"=\" after \"port\" in "
                                 "connection info string");
    /* libpq quotes the piece it cannot read, which may be the password */
    assert_int_equal(pg_dsn_label("postgresql://app:S3cret-pw%zz@db/app", &label, &err),
                     PF_ERR_INPUT);
    assert_string_equal(err.msg, "invalid connection string: invalid percent-encoded token: "
                                 "\"****\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_connections), cmocka_unit_test(test_not_accepting_yet),
        cmocka_unit_test(test_nothing_listening),  cmocka_unit_test(test_not_retried),
        cmocka_unit_test(test_dsn_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
