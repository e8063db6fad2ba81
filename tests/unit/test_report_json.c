/*
 * The JSON report, written one target at a time (report_json_stream), is byte for byte what
 * cJSON prints for the whole tree: parsing it and printing it again with cJSON_Print gives it
 * back unchanged — with no target, one, several, waves (whose own "targets" keys must not be
 * mistaken for the report's) and plugin errors after the targets. And report_write to a file
 * writes the same bytes as report_json returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/util.h"
#include "report/report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static CbMigration migs[2] = {
    {.tag = "0000_a", .when = 1000, .hash = "aaaa"},
    {.tag = "0001_b", .when = 2000, .hash = "bbbb"},
};
static Codebase cb = {.dir = "drizzle", .layout = CB_LAYOUT_JOURNAL, .migrations = migs, .n = 2};

static InvLabel labels[] = {{"env", "prod"}, {"tab", "a\tb\nc"}};
static InvTarget targets[3] = {
    {.name = "one",
     .dsn_masked = "postgresql://app@db/one",
     .labels = labels,
     .n_labels = 2,
     .schema = "drizzle",
     .table = "__drizzle_migrations"},
    {.name = "two \"quoted\"\n",
     .dsn_masked = "postgresql://app:****@db/two",
     .schema = "drizzle",
     .table = "__drizzle_migrations",
     .via = "bastion",
     .route = "via bastion"},
    {.name = "three", .dsn_masked = "host=db", .schema = "t", .table = "l"},
};
static size_t pending[] = {0, 1};
static PlanProblem problems[] = {
    {.kind = TARGET_AHEAD, .ledger_id = 3, .message = "row 3 is newer"},
};
static InvWave inv_waves[1] = {{.name = "canary", .max_failures_text = "0"}};
static size_t wave_targets[] = {0, 2};
static WaveResult waves[1];
static char *plugin_errors[] = {"plugin x: failed"};
static TargetResult results[3];

static FleetResult fleet_of(size_t n, bool with_waves, bool with_errors)
{
    memset(results, 0, sizeof results);
    results[0] =
        (TargetResult){.target = &targets[0],
                       .started = true,
                       .status = TARGET_BEHIND,
                       .plan = {.status = TARGET_BEHIND, .pending = pending, .n_pending = 2},
                       .connect_ms = 3,
                       .total_ms = 12,
                       .round_trips = 1};
    results[1] = (TargetResult){.target = &targets[1],
                                .started = true,
                                .status = TARGET_UNREACHABLE,
                                .error = "connection \"refused\"\tagain"};
    results[2] =
        (TargetResult){.target = &targets[2],
                       .started = true,
                       .status = TARGET_AHEAD,
                       .plan = {.status = TARGET_AHEAD, .problems = problems, .n_problems = 1}};
    waves[0] =
        (WaveResult){.wave = &inv_waves[0], .state = WAVE_DONE, .targets = wave_targets, .n = 2};
    return (FleetResult){.mode = FLEET_PLAN,
                         .targets = results,
                         .n = n,
                         .started_at = "2026-12-01T10:00:00Z",
                         .run_id = "20261201T100000Z-42",
                         .duration_ms = 2500,
                         .waves = with_waves ? waves : NULL,
                         .n_waves = with_waves ? 1 : 0,
                         .plugin_errors = with_errors ? plugin_errors : NULL,
                         .n_plugin_errors = with_errors ? 1 : 0};
}

/* The report, parsed and printed again by cJSON, is itself. */
static void as_cjson_prints_it(size_t n, bool with_waves, bool with_errors)
{
    FleetResult fr = fleet_of(n, with_waves, with_errors);
    ReportContext ctx = {.inventory_path = "fleet.yaml", .cb = &cb, .result = &fr, .exit_code = 2};
    char *doc = report_json(&ctx);
    cJSON *tree = cJSON_Parse(doc);
    assert_non_null(tree);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tree, "targets")), (int)n);
    char *again = cJSON_Print(tree);
    size_t len = strlen(again);
    assert_int_equal(strlen(doc), len + 1);
    assert_memory_equal(doc, again, len);
    assert_int_equal(doc[len], '\n');
    cJSON_free(again);
    cJSON_Delete(tree);

    /* To a file, through the writer the commands use: the same bytes. */
    char path[] = "/tmp/pgfleet-report-json-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    PfErr err;
    assert_int_equal(report_write(&ctx, REPORT_JSON, path, &err), PF_OK);
    char *written;
    size_t wlen;
    assert_int_equal(pf_read_file(path, &written, &wlen, &err), PF_OK);
    assert_int_equal(wlen, strlen(doc));
    assert_memory_equal(written, doc, wlen);
    free(written);
    unlink(path);
    free(doc);
}

static void test_no_targets(void **state)
{
    as_cjson_prints_it(0, false, false);
}

static void test_one_target(void **state)
{
    as_cjson_prints_it(1, false, false);
}

static void test_targets_waves_and_plugin_errors(void **state)
{
    as_cjson_prints_it(3, false, false);
    as_cjson_prints_it(3, true, false);
    as_cjson_prints_it(3, true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_targets),
        cmocka_unit_test(test_one_target),
        cmocka_unit_test(test_targets_waves_and_plugin_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
