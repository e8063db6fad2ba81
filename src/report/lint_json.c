/* `pgfleet lint` as JSON (schema in docs/lint.md), built with cJSON. */
#include "report/lint_report.h"

#include "core/mem.h"

#include <cjson/cJSON.h>

char *report_lint_json(const LintResult *r, int exit_code)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "migrations_dir", r->dir);
    cJSON_AddStringToObject(root, "layout", r->layout == CB_LAYOUT_FOLDERS ? "folders" : "journal");
    cJSON_AddNumberToObject(root, "migrations_checked", (double)r->migrations);
    size_t counts[3];
    lint_counts(r, counts);
    cJSON *c = cJSON_AddObjectToObject(root, "counts");
    cJSON_AddNumberToObject(c, "error", (double)counts[LINT_ERROR]);
    cJSON_AddNumberToObject(c, "warning", (double)counts[LINT_WARNING]);
    cJSON_AddNumberToObject(c, "info", (double)counts[LINT_INFO]);
    cJSON_AddNumberToObject(root, "exit_code", exit_code);
    cJSON *arr = cJSON_AddArrayToObject(root, "findings");
    for (size_t i = 0; i < r->n; i++) {
        const LintFinding *f = &r->findings[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "rule", f->rule);
        cJSON_AddStringToObject(o, "severity", lint_severity_name(f->severity));
        cJSON_AddStringToObject(o, "file", f->file);
        if (f->line > 0) {
            cJSON_AddNumberToObject(o, "line", f->line);
            cJSON_AddNumberToObject(o, "column", f->column);
        } else {
            cJSON_AddNullToObject(o, "line");
            cJSON_AddNullToObject(o, "column");
        }
        if (f->migration)
            cJSON_AddStringToObject(o, "migration", f->migration);
        else
            cJSON_AddNullToObject(o, "migration");
        cJSON_AddStringToObject(o, "message", f->message);
        cJSON_AddStringToObject(o, "hint", f->hint);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = pf_asprintf("%s\n", s);
    cJSON_free(s);
    return out;
}
