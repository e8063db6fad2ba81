/* Reading a JSON fleet report back (report_version 1), keeping what `pgfleet diff` compares. */
#include "report/history.h"

#include "core/mem.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void report_summary_free(ReportSummary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->targets[i].name);
        free(s->targets[i].status);
        free(s->targets[i].outcome);
    }
    free(s->targets);
    free(s->source);
    free(s->command);
    free(s->started_at);
    free(s);
}

static int line_of(const char *text, const char *at)
{
    int line = 1;
    for (const char *p = text; p < at && *p; p++)
        if (*p == '\n')
            line++;
    return line;
}

static int cmp_names(const void *a, const void *b)
{
    const ReportTargetState *x = *(const ReportTargetState *const *)a;
    const ReportTargetState *y = *(const ReportTargetState *const *)b;
    return strcmp(x->name, y->name);
}

/* A string member or null: *out is a copy, or NULL. False when it is anything else. */
static bool string_or_null(const cJSON *o, const char *key, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return true;
    if (!cJSON_IsString(v))
        return false;
    *out = pf_strdup(v->valuestring);
    return true;
}

static PfErrCode parse_target(const cJSON *t, size_t i, const char *source, ReportTargetState *out,
                              PfErr *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (!cJSON_IsObject(t) || !cJSON_IsString(name) || !*name->valuestring)
        return pf_err_set(err, PF_ERR_INPUT, "%s: targets[%zu] has no name", source, i);
    out->name = pf_strdup(name->valuestring);
    if (!string_or_null(t, "status", &out->status))
        return pf_err_set(err, PF_ERR_INPUT, "%s: target '%s': status must be a string or null",
                          source, out->name);
    if (!string_or_null(t, "outcome", &out->outcome))
        return pf_err_set(err, PF_ERR_INPUT, "%s: target '%s': outcome must be a string or null",
                          source, out->name);
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive(t, "pending");
    if (pending && !cJSON_IsArray(pending))
        return pf_err_set(err, PF_ERR_INPUT, "%s: target '%s': pending must be an array", source,
                          out->name);
    bool known = out->status && strcmp(out->status, "unreachable") != 0;
    out->pending = known ? cJSON_GetArraySize(pending) : -1;
    return PF_OK;
}

PfErrCode report_summary_parse(const char *json, const char *source, ReportSummary **out,
                               PfErr *err)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root)
        return pf_err_set(err, PF_ERR_INPUT, "%s: not valid JSON (line %d)", source,
                          line_of(json, end ? end : json));
    ReportSummary *s = pf_calloc(1, sizeof *s);
    s->source = pf_strdup(source);
    PfErrCode rc = PF_OK;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "report_version");
    const cJSON *command = cJSON_GetObjectItemCaseSensitive(root, "command");
    const cJSON *started = cJSON_GetObjectItemCaseSensitive(root, "started_at");
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(root, "targets");
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(version) || !cJSON_IsString(command) ||
        !cJSON_IsArray(targets)) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "%s: not a pgfleet report; hint: pass the JSON report of plan, apply or "
                        "audit (-f json, or a file kept by --report-dir)",
                        source);
        goto out;
    }
    if (version->valuedouble != 1) {
        rc = pf_err_set(err, PF_ERR_INPUT,
                        "%s: report_version %g is not supported (this pgfleet reads 1)", source,
                        version->valuedouble);
        goto out;
    }
    s->command = pf_strdup(command->valuestring);
    s->started_at = pf_strdup(cJSON_IsString(started) ? started->valuestring : "");
    size_t n = (size_t)cJSON_GetArraySize(targets);
    s->targets = pf_calloc(n ? n : 1, sizeof *s->targets);
    const cJSON *t;
    cJSON_ArrayForEach(t, targets)
    {
        rc = parse_target(t, s->n, source, &s->targets[s->n], err);
        s->n++;
        if (rc != PF_OK)
            goto out;
    }
    /* Names are unique in an inventory; a report where one repeats was not made by pgfleet. */
    const ReportTargetState **sorted = pf_calloc(n ? n : 1, sizeof *sorted);
    for (size_t i = 0; i < s->n; i++)
        sorted[i] = &s->targets[i];
    qsort(sorted, s->n, sizeof *sorted, cmp_names);
    for (size_t i = 1; i < s->n && rc == PF_OK; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            rc = pf_err_set(err, PF_ERR_INPUT, "%s: target '%s' appears twice", source,
                            sorted[i]->name);
    free(sorted);
out:
    cJSON_Delete(root);
    if (rc != PF_OK) {
        report_summary_free(s);
        return rc;
    }
    *out = s;
    return PF_OK;
}

PfErrCode report_summary_read(const char *path, ReportSummary **out, PfErr *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    if (pf_read_file(path, &text, &len, err) != PF_OK)
        return PF_ERR_IO;
    PfErrCode rc;
    if (strlen(text) != len)
        rc = pf_err_set(err, PF_ERR_INPUT, "%s: not valid JSON (a NUL byte)", path);
    else
        rc = report_summary_parse(text, path, out, err);
    free(text);
    return rc;
}
