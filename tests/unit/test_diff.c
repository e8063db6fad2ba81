/*
 * Reading reports back and comparing them: appeared, disappeared, status, pending and outcome
 * changes, what stays unchanged, the text and JSON renderings, and each kind of invalid input
 * with the message a user sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/history.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* A report with the given targets (JSON objects, comma-separated). */
static ReportSummary *report(const char *command, const char *targets)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"report_version\": 1, \"command\": \"%s\", \"started_at\": "
             "\"2026-11-22T18:43:20Z\", \"targets\": [%s]}",
             command, targets);
    ReportSummary *s = NULL;
    PfErr err;
    if (report_summary_parse(json, "r.json", &s, &err) != PF_OK)
        fail_msg("parse: %s", err.msg);
    return s;
}

#define T(name, status, pending)                                                                   \
    "{\"name\": \"" name "\", \"status\": " status ", \"outcome\": null, \"pending\": " pending "}"

static void test_nothing_changed(void **state)
{
    ReportSummary *a =
        report("audit", T("x", "\"in_sync\"", "[]") "," T("y", "\"behind\"", "[\"m1\"]"));
    ReportSummary *b =
        report("audit", T("y", "\"behind\"", "[\"m1\"]") "," T("x", "\"in_sync\"", "[]"));
    ReportDiff d;
    report_diff(a, b, &d);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.unchanged, 2);
    char *text = report_diff_text(a, b, &d);
    assert_string_equal(text, "old: r.json (audit, 2026-11-22T18:43:20Z, 2 targets)\n"
                              "new: r.json (audit, 2026-11-22T18:43:20Z, 2 targets)\n"
                              "no change: 2 targets unchanged\n");
    free(text);
    report_diff_clear(&d);
    report_summary_free(a);
    report_summary_free(b);
}

static void test_every_kind_of_change(void **state)
{
    ReportSummary *a = report("audit", T("same", "\"in_sync\"", "[]") ","      /* */
                              T("fixed", "\"behind\"", "[\"m1\", \"m2\"]") "," /* */
                              T("more", "\"behind\"", "[\"m2\"]") ","          /* */
                              T("down", "\"in_sync\"", "[]") ","               /* */
                              T("gone", "\"modified\"", "[]"));
    ReportSummary *b = report("audit", T("new", "\"uninitialized\"", "[\"m1\", \"m2\"]") "," /* */
                              T("same", "\"in_sync\"", "[]") ","                             /* */
                              T("fixed", "\"in_sync\"", "[]") ","                            /* */
                              T("more", "\"behind\"", "[\"m2\", \"m3\"]") ","                /* */
                              T("down", "\"unreachable\"", "[]"));
    ReportDiff d;
    report_diff(a, b, &d);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.appeared, 1);
    assert_int_equal(d.disappeared, 1);
    assert_int_equal(d.changed, 3);
    assert_int_equal(d.unchanged, 1);
    /* in the new report's order, then what disappeared */
    assert_int_equal(d.entries[0].kind, REPORT_DIFF_APPEARED);
    assert_string_equal(d.entries[0].after->name, "new");
    assert_true(d.entries[1].status_changed && d.entries[1].pending_changed);
    assert_false(d.entries[2].status_changed);
    assert_true(d.entries[2].pending_changed);
    /* unreachable: its pending count is unknown, so only the status changed */
    assert_true(d.entries[3].status_changed);
    assert_false(d.entries[3].pending_changed);
    assert_int_equal(d.entries[4].kind, REPORT_DIFF_DISAPPEARED);
    char *text = report_diff_text(a, b, &d);
    assert_string_equal(text, "old: r.json (audit, 2026-11-22T18:43:20Z, 5 targets)\n"
                              "new: r.json (audit, 2026-11-22T18:43:20Z, 5 targets)\n"
                              "new: appeared, uninitialized, pending 2\n"
                              "fixed: behind -> in_sync, pending 2 -> 0\n"
                              "more: pending 1 -> 2 (behind)\n"
                              "down: in_sync -> unreachable\n"
                              "gone: disappeared, was modified\n"
                              "3 changed, 1 appeared, 1 disappeared, 1 unchanged\n");
    free(text);

    char *json = report_diff_json(a, b, &d);
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "changed")));
    cJSON *counts = cJSON_GetObjectItem(j, "counts");
    assert_int_equal(cJSON_GetObjectItem(counts, "unchanged")->valueint, 1);
    cJSON *changes = cJSON_GetObjectItem(j, "changes");
    assert_int_equal(cJSON_GetArraySize(changes), 5);
    cJSON *down = cJSON_GetArrayItem(changes, 3);
    assert_string_equal(cJSON_GetObjectItem(down, "target")->valuestring, "down");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(down, "new"), "pending")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(changes, 0), "old")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(changes, 4), "new")));
    cJSON_Delete(j);
    free(json);
    report_diff_clear(&d);
    report_summary_free(a);
    report_summary_free(b);
}

static void test_not_started_and_outcomes(void **state)
{
    ReportSummary *a = report(
        "apply", "{\"name\": \"t\", \"status\": null, \"outcome\": \"skipped\", \"pending\": []},"
                 "{\"name\": \"u\", \"status\": \"behind\", \"outcome\": \"failed\", "
                 "\"pending\": [\"m1\"]}");
    ReportSummary *b =
        report("apply", "{\"name\": \"t\", \"status\": \"in_sync\", \"outcome\": \"unchanged\", "
                        "\"pending\": []},"
                        "{\"name\": \"u\", \"status\": \"behind\", \"outcome\": \"applied\", "
                        "\"pending\": [\"m1\"]}");
    assert_null(a->targets[0].status);
    assert_int_equal(a->targets[0].pending, -1);
    ReportDiff d;
    report_diff(a, b, &d);
    assert_int_equal(d.changed, 2);
    char *text = report_diff_text(a, b, &d);
    assert_non_null(strstr(text, "t: not started -> in_sync, outcome skipped -> unchanged\n"));
    assert_non_null(strstr(text, "u: outcome failed -> applied (behind)\n"));
    free(text);
    report_diff_clear(&d);
    report_summary_free(a);
    report_summary_free(b);
}

static void test_outcome_ignored_against_audit(void **state)
{
    ReportSummary *a = report("apply", "{\"name\": \"t\", \"status\": \"in_sync\", "
                                       "\"outcome\": \"unchanged\", \"pending\": []}");
    ReportSummary *b = report("audit", T("t", "\"in_sync\"", "[]"));
    ReportDiff d;
    report_diff(a, b, &d);
    assert_int_equal(d.n, 0);
    report_diff_clear(&d);
    report_summary_free(a);
    report_summary_free(b);
}

static void expect_invalid(const char *json, const char *message)
{
    ReportSummary *s = (ReportSummary *)1;
    PfErr err;
    assert_int_equal(report_summary_parse(json, "bad.json", &s, &err), PF_ERR_INPUT);
    assert_null(s);
    assert_string_equal(err.msg, message);
}

static void test_invalid_reports(void **state)
{
    expect_invalid("{\"report_version\": 1,\n \"command\": \"audit\",\n oops}",
                   "bad.json: not valid JSON (line 3)");
    expect_invalid("", "bad.json: not valid JSON (line 1)");
    expect_invalid("[1, 2]",
                   "bad.json: not a pgfleet report; hint: pass the JSON report of plan, apply or "
                   "audit (-f json, or a file kept by --report-dir)");
    expect_invalid("{\"migrations_dir\": \"x\", \"findings\": []}",
                   "bad.json: not a pgfleet report; hint: pass the JSON report of plan, apply or "
                   "audit (-f json, or a file kept by --report-dir)");
    expect_invalid("{\"report_version\": 2, \"command\": \"audit\", \"targets\": []}",
                   "bad.json: report_version 2 is not supported (this pgfleet reads 1)");
    expect_invalid("{\"report_version\": 1, \"command\": \"audit\", \"targets\": [{}]}",
                   "bad.json: targets[0] has no name");
    expect_invalid("{\"report_version\": 1, \"command\": \"audit\", \"targets\": "
                   "[{\"name\": \"a\", \"status\": 3}]}",
                   "bad.json: target 'a': status must be a string or null");
    expect_invalid("{\"report_version\": 1, \"command\": \"audit\", \"targets\": "
                   "[{\"name\": \"a\", \"status\": \"in_sync\", \"pending\": 2}]}",
                   "bad.json: target 'a': pending must be an array");
    expect_invalid("{\"report_version\": 1, \"command\": \"audit\", \"targets\": "
                   "[{\"name\": \"a\", \"status\": \"in_sync\"}, {\"name\": \"a\", \"status\": "
                   "\"behind\"}]}",
                   "bad.json: target 'a' appears twice");
}

static void test_unreadable_file(void **state)
{
    ReportSummary *s = NULL;
    PfErr err;
    assert_int_equal(report_summary_read("/nonexistent/old.json", &s, &err), PF_ERR_IO);
    assert_null(s);
    assert_string_equal(err.msg, "/nonexistent/old.json: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_changed),
        cmocka_unit_test(test_every_kind_of_change),
        cmocka_unit_test(test_not_started_and_outcomes),
        cmocka_unit_test(test_outcome_ignored_against_audit),
        cmocka_unit_test(test_invalid_reports),
        cmocka_unit_test(test_unreadable_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
