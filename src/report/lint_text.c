/* `pgfleet lint` as text: "file:line:column: severity: message [rule]", an indented hint, and a
 * summary line; editors and CI annotators read the first line of each finding. */
#include "report/lint_report.h"

#include "core/buf.h"

char *report_lint_text(const LintResult *r)
{
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->findings[i];
        pf_buf_puts(&b, f->file);
        if (f->line > 0)
            pf_buf_printf(&b, ":%d:%d", f->line, f->column);
        pf_buf_printf(&b, ": %s: %s [%s]\n", lint_severity_name(f->severity), f->message, f->rule);
        pf_buf_printf(&b, "  hint: %s\n", f->hint);
    }
    size_t counts[3];
    lint_counts(r, counts);
    pf_buf_printf(&b, "%s: %zu migration%s checked", r->dir, r->migrations,
                  r->migrations == 1 ? "" : "s");
    if (r->n == 0) {
        pf_buf_puts(&b, ", no findings\n");
        return pf_buf_take(&b);
    }
    pf_buf_printf(&b, ": %zu error%s, %zu warning%s, %zu info\n", counts[LINT_ERROR],
                  counts[LINT_ERROR] == 1 ? "" : "s", counts[LINT_WARNING],
                  counts[LINT_WARNING] == 1 ? "" : "s", counts[LINT_INFO]);
    return pf_buf_take(&b);
}
