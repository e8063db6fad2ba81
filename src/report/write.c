/* Choosing the format and the destination of a report. */
#include "report/report.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

PfErrCode report_write(const ReportContext *ctx, ReportFormat format, const char *path, PfErr *err)
{
    char *doc = format == REPORT_JSON ? report_json(ctx) : report_text(ctx);
    PfErrCode rc = PF_OK;
    if (path) {
        rc = pf_write_file_atomic(path, doc, strlen(doc), err);
    } else {
        fputs(doc, stdout);
        if (fflush(stdout) != 0)
            rc = pf_err_set(err, PF_ERR_IO, "writing the report to stdout failed");
    }
    free(doc);
    return rc;
}
