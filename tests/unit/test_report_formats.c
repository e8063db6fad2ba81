/*
 * The report formats on a fleet result made by hand: escaping in each format (XML, Prometheus
 * label values, Markdown cells, HTML), the state of each migration on a target as the HTML
 * matrix derives it from the plan, JUnit's verdicts, timestamps and history file names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/history.h"
#include "report/internal.h"

#include <stdlib.h>
#include <string.h>

static CbMigration migs[4] = {
    {.tag = "0000_a", .when = 1000, .hash = "aaaa"},
    {.tag = "0001_b", .when = 2000, .hash = "bbbb"},
    {.tag = "0002_c", .when = 3000, .hash = "cccc"},
    {.tag = "0003_d", .when = 4000, .hash = "dddd"},
};
static Codebase cb = {.dir = "drizzle", .layout = CB_LAYOUT_JOURNAL, .migrations = migs, .n = 4};

/* A name with everything each format must escape: quotes, markup, a pipe, a backslash, a
 * newline, a control character and a byte that is not UTF-8. */
static char odd_name[] = "we\"ird <b>&'x' | \\ \n\x01\xff";

static InvTarget targets[3] = {
    {.name = "plain", .dsn_masked = "postgresql://app@db/plain"},
    {.name = odd_name, .dsn_masked = "postgresql://app:****@db/odd"},
    {.name = "gone", .dsn_masked = "postgresql://app@db/gone"},
};

static PlanMatch matches_plain[] = {{1, 0}, {2, 2}};
static size_t pending_plain[] = {1, 3};
static PlanProblem problems_plain[] = {
    {.kind = TARGET_MODIFIED, .tag = "0000_a", .ledger_id = 1, .message = "0000_a was edited"},
    {.kind = TARGET_OUT_OF_ORDER, .tag = "0001_b", .message = "0001_b is older"},
    {.kind = TARGET_AHEAD, .ledger_id = 3, .message = "row 3 is newer"},
};

static TargetResult results[3];
static FleetResult fleet;
static ReportContext ctx;

static int setup(void **state)
{
    memset(results, 0, sizeof results);
    results[0] = (TargetResult){
        .target = &targets[0],
        .started = true,
        .status = TARGET_MODIFIED,
        .plan = {.status = TARGET_MODIFIED,
                 .matches = matches_plain,
                 .n_matches = 2,
                 .pending = pending_plain,
                 .n_pending = 2,
                 .n_applied = 2,
                 .problems = problems_plain,
                 .n_problems = 3},
        .total_ms = 1234,
    };
    results[1] = (TargetResult){
        .target = &targets[1],
        .started = true,
        .status = TARGET_UNREACHABLE,
        .error = "connection \"refused\"\nsecond <line>",
    };
    results[2] = (TargetResult){.target = &targets[2], .started = false};
    fleet = (FleetResult){.mode = FLEET_AUDIT,
                          .targets = results,
                          .n = 3,
                          .started_at = "2026-11-22T18:43:20Z",
                          .duration_ms = 2500};
    ctx = (ReportContext){
        .inventory_path = "fleet.yaml", .cb = &cb, .result = &fleet, .exit_code = 2};
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("[%s] not found in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("[%s] unexpectedly found", needle);
}

static void test_cells_from_plan(void **state)
{
    ReportCell cells[4];
    report_cells(&cb, &fleet, &results[0], cells);
    assert_int_equal(cells[0], CELL_MODIFIED);
    assert_int_equal(cells[1], CELL_OUT_OF_ORDER);
    assert_int_equal(cells[2], CELL_APPLIED);
    assert_int_equal(cells[3], CELL_PENDING);
    report_cells(&cb, &fleet, &results[1], cells); /* unreachable: nothing known */
    for (int i = 0; i < 4; i++)
        assert_int_equal(cells[i], CELL_UNKNOWN);
    report_cells(&cb, &fleet, &results[2], cells); /* not started */
    assert_int_equal(cells[0], CELL_UNKNOWN);
}

static void test_cells_after_apply(void **state)
{
    /* apply committed the first pending migration (out of order, allowed) of two */
    fleet.mode = FLEET_APPLY;
    results[0].outcome = OUTCOME_APPLIED;
    static size_t gained[] = {1}; /* the ledger gained codebase migration 1 */
    results[0].applied_now = gained;
    results[0].n_applied_now = 1;
    ReportCell cells[4];
    report_cells(&cb, &fleet, &results[0], cells);
    assert_int_equal(cells[1], CELL_APPLIED_NOW);
    assert_int_equal(cells[3], CELL_PENDING);
    assert_int_equal(report_pending_after(&results[0]), 1);
    /* a target apply could not lock has no plan: unknown, even with a plan in memory */
    results[0].status = TARGET_LOCKED;
    report_cells(&cb, &fleet, &results[0], cells);
    assert_int_equal(cells[2], CELL_UNKNOWN);
}

static void test_junit_escapes_and_verdicts(void **state)
{
    char *x = report_junit(&ctx);
    assert_contains(x, "tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"1\"");
    assert_contains(x, "timestamp=\"2026-11-22T18:43:20\"");
    assert_contains(
        x, "name=\"we&quot;ird &lt;b&gt;&amp;&#39;x&#39; | \\ &#10;\xef\xbf\xbd\xef\xbf\xbd\"");
    assert_contains(x, "<failure message=\"0000_a was edited\" type=\"modified\">");
    assert_contains(x, "<error message=\"connection &quot;refused&quot;&#10;second &lt;line&gt;\" "
                       "type=\"unreachable\">");
    /* in element text a line break stays a line break */
    assert_contains(x, "error: connection &quot;refused&quot;\nsecond &lt;line&gt;\n");
    assert_contains(x, "<skipped message=\"not started: the run was interrupted\"/>");
    assert_contains(x, "time=\"1.234\"");
    assert_lacks(x, "\x01");
    assert_lacks(x, "\xff");
    free(x);
}

static void test_prometheus_escapes_labels(void **state)
{
    char *p = report_prometheus(&ctx);
    assert_contains(p, "pgfleet_target_in_sync{command=\"audit\",target=\"we\\\"ird <b>&'x' | "
                       "\\\\ \\n\x01\xef\xbf\xbd\"} 0\n");
    assert_contains(p, "pgfleet_target_status{command=\"audit\",target=\"plain\","
                       "status=\"modified\"} 1\n");
    assert_contains(p, "pgfleet_target_status{command=\"audit\",target=\"gone\","
                       "status=\"not_started\"} 1\n");
    assert_contains(p, "pgfleet_target_pending_migrations{command=\"audit\",target=\"plain\"} 2\n");
    /* no pending count for a target whose ledger was not read */
    assert_lacks(p, "pgfleet_target_pending_migrations{command=\"audit\",target=\"gone\"}");
    assert_contains(p, "pgfleet_run_timestamp_seconds{command=\"audit\"} 1795373000\n");
    assert_contains(p,
                    "pgfleet_target_duration_seconds{command=\"audit\",target=\"plain\"} 1.234\n");
    assert_contains(p, "# TYPE pgfleet_targets gauge\n");
    free(p);
}

static void test_markdown_escapes_cells(void **state)
{
    char *m = report_markdown(&ctx);
    assert_contains(m, "### pgfleet audit: targets failed or unreachable\n");
    assert_contains(m, "| we\"ird \\<b\\>\\&'x' \\| \\\\  \x01\xef\xbf\xbd | `unreachable` | - | "
                       "connection \"refused\" second \\<line\\> |\n");
    assert_contains(m, "| plain | `modified` | 2 | 0000\\_a was edited (+2 more problems) |\n");
    assert_contains(m, "| `not_started` | 1 |\n");
    free(m);
}

static void test_html_escapes_and_cells(void **state)
{
    char *h = report_html(&ctx);
    assert_lacks(h, "<b>&'x'");
    assert_contains(h, "we&quot;ird &lt;b&gt;&amp;&#39;x&#39; | \\ &#10;");
    assert_contains(h, "data-migrations=\"4\"");
    /* plain: modified, out of order, applied, pending; then one ahead row */
    assert_contains(h, "<td class=m>!<td class=o>o<td class=a><td class=p><td class=\"x\" "
                       "data-ahead=\"1\" data-foreign=\"0\" title=\"row 3 is newer\">1 ahead</td>");
    assert_contains(h, "<li id=\"count-modified\" class=\"s-modified\" data-count=\"1\">");
    assert_contains(h, "<li id=\"count-not_started\" class=\"s-not_started\" data-count=\"1\">");
    assert_lacks(h, "http://");
    assert_lacks(h, "https://");
    free(h);
}

static void test_epoch_and_history_names(void **state)
{
    assert_int_equal(report_epoch_seconds("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(report_epoch_seconds("2026-11-22T18:43:20Z"), 1795373000);
    assert_int_equal(report_epoch_seconds("2026-11-22 18:43:20"), 0);
    char *n = report_history_name("audit", "2026-11-22T18:43:20Z", 4242);
    assert_string_equal(n, "pgfleet-audit-20261122T184320Z-4242.json");
    free(n);
}

static void test_format_names(void **state)
{
    static const char *const names[] = {"text", "json", "junit", "prometheus", "markdown", "html"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ReportFormat f;
        assert_true(report_format_parse(names[i], &f));
        assert_int_equal(f, (ReportFormat)i);
    }
    ReportFormat f;
    assert_false(report_format_parse("xml", &f));
    assert_false(report_format_parse("", &f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cells_from_plan, setup),
        cmocka_unit_test_setup(test_cells_after_apply, setup),
        cmocka_unit_test_setup(test_junit_escapes_and_verdicts, setup),
        cmocka_unit_test_setup(test_prometheus_escapes_labels, setup),
        cmocka_unit_test_setup(test_markdown_escapes_cells, setup),
        cmocka_unit_test_setup(test_html_escapes_and_cells, setup),
        cmocka_unit_test(test_epoch_and_history_names),
        cmocka_unit_test(test_format_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
