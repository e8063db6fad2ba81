/* query_to_xml's forest taken apart (src/pg/xmlforest.c), on text as PostgreSQL 15 writes it. */
#include "pg/xmlforest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Two rows of a ledger read (nulls false, tableforest true): the second has no hash (NULL). */
static const char FOREST[] = "<row xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                             "  <id>1</id>\n"
                             "  <hash>1e862d93</hash>\n"
                             "  <created_at>1795372874681</created_at>\n"
                             "</row>\n"
                             "\n"
                             "<row xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                             "  <id>2</id>\n"
                             "  <created_at>1795372876298</created_at>\n"
                             "</row>\n"
                             "\n";

static void assert_column(const PgXmlRow *row, const char *name, const char *want)
{
    char *got = pg_xml_column(row, name);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(want, got);
    free(got);
}

static void test_rows_in_order(void **state)
{
    (void)state;
    const char *at = FOREST;
    PgXmlRow row;
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "id", "1");
    assert_column(&row, "hash", "1e862d93");
    assert_column(&row, "created_at", "1795372874681");
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "id", "2");
    assert_column(&row, "hash", NULL); /* NULL: no element */
    assert_column(&row, "created_at", "1795372876298");
    assert_false(pg_xml_next_row(&at, &row));
}

static void test_nothing(void **state)
{
    (void)state;
    const char *at = "";
    PgXmlRow row;
    assert_false(pg_xml_next_row(&at, &row));
    at = "<row>\n  <id>1</id>\n"; /* cut short */
    assert_false(pg_xml_next_row(&at, &row));
    at = "<rows><id>1</id></row>"; /* not a row element */
    assert_false(pg_xml_next_row(&at, &row));
}

/* What escape_xml writes (&, <, >, carriage return), and any other reference, read back; an
 * element's name inside a value is escaped, so it is never taken for the element. */
static void test_escapes(void **state)
{
    (void)state;
    const char *at =
        "<row>\n  <hash>a&lt;/hash&gt;&amp;&#x0d;\n&#233;&#x1F600;&quot;&apos;&bogus;&</hash>\n"
        "  <j>{\"name\": \"x\"}</j>\n  <empty></empty>\n</row>\n";
    PgXmlRow row;
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "hash", "a</hash>&\r\n\xc3\xa9\xf0\x9f\x98\x80\"'&bogus;&");
    assert_column(&row, "j", "{\"name\": \"x\"}");
    assert_column(&row, "empty", "");
    assert_column(&row, "hashes", NULL);
    assert_column(&row, "has", NULL);
}

/* A column is looked for inside its row only. */
static void test_row_bounds(void **state)
{
    (void)state;
    const char *at = "<row>\n  <id>1</id>\n</row>\n<row>\n  <id>2</id>\n  <name>b</name>\n</row>\n";
    PgXmlRow row;
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "name", NULL);
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "name", "b");
}

/* With nulls true a NULL column is an empty element that says so: the column is there, its
 * value is NULL (what the survey reads v1's name column by). */
static void test_nulls(void **state)
{
    (void)state;
    const char *at = "<row xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                     "  <id>1</id>\n"
                     "  <hash>1e862d93</hash>\n"
                     "  <created_at xsi:nil=\"true\"/>\n"
                     "  <name xsi:nil=\"true\"/>\n"
                     "</row>\n"
                     "\n"
                     "<row xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                     "  <id>2</id>\n"
                     "  <name>0001_b</name>\n"
                     "</row>\n";
    PgXmlRow row;
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "created_at", NULL);
    assert_column(&row, "name", NULL);
    assert_true(pg_xml_has_column(&row, "name"));
    assert_true(pg_xml_has_column(&row, "created_at"));
    assert_true(pg_xml_has_column(&row, "id"));
    assert_false(pg_xml_has_column(&row, "applied_at"));
    assert_false(pg_xml_has_column(&row, "nam"));
    assert_true(pg_xml_next_row(&at, &row));
    assert_column(&row, "name", "0001_b");
    assert_true(pg_xml_has_column(&row, "name"));
    assert_false(pg_xml_has_column(&row, "hash"));
    assert_false(pg_xml_next_row(&at, &row));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_in_order), cmocka_unit_test(test_nothing),
        cmocka_unit_test(test_escapes),       cmocka_unit_test(test_row_bounds),
        cmocka_unit_test(test_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
