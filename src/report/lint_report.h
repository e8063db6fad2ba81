/*
 * The output of `pgfleet lint` (docs/lint.md), one file per format: lint_text.c (one line per
 * finding, compiler style, and a summary) and lint_json.c (the documented schema).
 */
#ifndef PF_REPORT_LINT_REPORT_H
#define PF_REPORT_LINT_REPORT_H

#include "lint/lint.h"

/* Render the findings; the returned string is the caller's to free. JSON also carries the
 * exit code the command returns. */
char *report_lint_text(const LintResult *r);
char *report_lint_json(const LintResult *r, int exit_code);

#endif
