/*
 * The fleet report, one file per format: text.c (aligned table for people, colour on a
 * terminal unless NO_COLOR is set) and json.c (the schema in docs/report.md).
 */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include "codebase/codebase.h"
#include "core/err.h"
#include "fleet/fleet.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum { REPORT_TEXT, REPORT_JSON } ReportFormat;

typedef struct ReportContext {
    const char *inventory_path;
    const Codebase *cb;
    const FleetResult *result;
    int exit_code;
    bool color; /* text only */
} ReportContext;

/* Render the report; the returned string is the caller's to free. */
char *report_text(const ReportContext *ctx);
char *report_json(const ReportContext *ctx);

/* Render in the given format and write it to path (atomically) or, when path is NULL, stdout. */
PfErrCode report_write(const ReportContext *ctx, ReportFormat format, const char *path, PfErr *err);

#endif
