/* Choosing the format and the destination of a report. */
#include "report/report.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    ReportFormat format;
    char *(*render)(const ReportContext *ctx);
} formats[] = {
    {"text", REPORT_TEXT, report_text},
    {"json", REPORT_JSON, report_json},
    {"junit", REPORT_JUNIT, report_junit},
    {"prometheus", REPORT_PROMETHEUS, report_prometheus},
    {"markdown", REPORT_MARKDOWN, report_markdown},
    {"html", REPORT_HTML, report_html},
};

bool report_format_parse(const char *name, ReportFormat *out)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].format;
            return true;
        }
    return false;
}

PfErrCode report_write(const ReportContext *ctx, ReportFormat format, const char *path, PfErr *err)
{
    if (format == REPORT_JSON || format == REPORT_TEXT) {
        /* The largest reports: written as they are rendered. */
        PfOut o;
        if (pf_out_open(&o, path, err) != PF_OK)
            return PF_ERR_IO;
        if (format == REPORT_JSON)
            report_json_stream(ctx, o.f);
        else
            report_text_stream(ctx, o.f);
        return pf_out_close(&o, "the report", err);
    }
    char *(*render)(const ReportContext *) = report_text;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i].format == format)
            render = formats[i].render;
    char *doc = render(ctx);
    PfErrCode rc = pf_write_output(path, doc, "the report", err);
    free(doc);
    return rc;
}
