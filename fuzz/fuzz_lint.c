/*
 * Fuzzing lint: lint_folder on a migrations folder built from the input (the folder input of
 * common.h). Without flags, the input is the SQL of the migrations, separated by "%%"
 * lines, in a folder with a journal made to list them: what the corpus mostly holds, so that
 * the statement checks get the fuzzing; the flags reach the folder checks. Both reports (text
 * and JSON) are rendered from every result.
 *
 * Checked beyond the sanitizers: every finding has a rule of lint_rules with that rule's
 * severity, a file and a message, and a position that is none (0:0) or 1-based; lint_counts
 * adds up; the JSON report parses; a journal that is not JSON as drizzle-orm's JSON.parse reads
 * it (fz_json_strict) gets a journal-malformed finding; a failure always says why.
 */
#include "common.h"

#include "lint/lint.h"
#include "report/lint_report.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const LintFinding *f)
{
    fprintf(stderr, "\n==== lint: %s\n", what);
    if (f)
        fprintf(stderr, "  finding: %s %s:%d:%d: %s\n", f->rule ? f->rule : "(null)",
                f->file ? f->file : "(null)", f->line, f->column,
                f->message ? f->message : "(null)");
    abort();
}

static void check_result(const LintResult *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->findings[i];
        const LintRule *rule = lint_rules;
        while (rule->id && (!f->rule || strcmp(rule->id, f->rule) != 0))
            rule++;
        if (!rule->id || rule->severity != f->severity)
            fail("a finding of a rule lint_rules does not list, or of another severity", f);
        if (!f->file || !f->message || !*f->message)
            fail("a finding without file or message", f);
        if (f->line < 0 || f->column < 0 || (f->line == 0) != (f->column == 0))
            fail("a finding whose position is neither 0:0 nor 1-based", f);
    }
    size_t counts[3];
    lint_counts(r, counts);
    if (counts[LINT_INFO] + counts[LINT_WARNING] + counts[LINT_ERROR] != r->n)
        fail("lint_counts does not add up to the findings", NULL);

    free(report_lint_text(r));
    char *json = report_lint_json(r, counts[LINT_ERROR] ? 1 : 0);
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail("the JSON report does not parse", NULL);
    cJSON_Delete(doc);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *dir = fz_folder(data, size);
    LintResult *r = NULL;
    PfErr err = {0};
    if (lint_folder(dir, &r, &err) == PF_OK) {
        check_result(r);
        const uint8_t *journal;
        size_t journal_len;
        if (fz_folder_journal(data, size, &journal, &journal_len) &&
            !fz_json_strict(journal, journal_len)) {
            bool said = false;
            for (size_t i = 0; i < r->n && !said; i++)
                said = strcmp(r->findings[i].rule, "journal-malformed") == 0;
            if (!said)
                fail("no journal-malformed for a journal that is not JSON (drizzle-orm's "
                     "JSON.parse rejects it)",
                     NULL);
        }
        lint_result_free(r);
    } else if (r || !err.msg[0]) {
        fail("lint_folder failed without a message, or left a result", NULL);
    }
    fz_rmtree(dir);
    free(dir);
    return 0;
}
