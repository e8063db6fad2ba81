/*
 * The fleet report, one file per format: text.c (aligned table for people, colour on a
 * terminal unless NO_COLOR is set), json.c (the schema in docs/report.md), junit.c (JUnit XML
 * for CI), prometheus.c (text exposition for node_exporter's textfile collector), markdown.c
 * (a pull-request comment) and html.c (one self-contained page: targets x migrations).
 */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include "codebase/codebase.h"
#include "codebase/revision.h"
#include "core/err.h"
#include "fleet/fleet.h"

#include <stdbool.h>
#include <stdio.h>

typedef enum {
    REPORT_TEXT,
    REPORT_JSON,
    REPORT_JUNIT,
    REPORT_PROMETHEUS,
    REPORT_MARKDOWN,
    REPORT_HTML,
} ReportFormat;

/* "text", "json", "junit", "prometheus", "markdown" or "html"; false for anything else. */
bool report_format_parse(const char *name, ReportFormat *out);

typedef struct ReportContext {
    const char *inventory_path;
    const Codebase *cb;
    const FleetResult *result;
    int exit_code;
    bool color; /* text only */
    /* The codebase's revision (git describe, or a hash of the journal), or NULL. */
    const CbRevision *revision;
    /* --shard (docs/scale.md): this run's shard (count 0: not sharded) and how many targets
     * were selected before it, and where each of result's targets stood among those. */
    InvShard shard;
    size_t shard_selected;
    const size_t *shard_positions;
} ReportContext;

/* Render the report; the returned string is the caller's to free. */
char *report_text(const ReportContext *ctx);
/* The text report written to out as it is rendered (what report_text returns). */
void report_text_stream(const ReportContext *ctx, FILE *out);
char *report_json(const ReportContext *ctx);
/* The JSON report written to out as it is rendered, one target at a time (what report_json
 * returns, without holding it): for fleets of 100,000. */
void report_json_stream(const ReportContext *ctx, FILE *out);
char *report_junit(const ReportContext *ctx);
char *report_prometheus(const ReportContext *ctx);
char *report_markdown(const ReportContext *ctx);
char *report_html(const ReportContext *ctx);

/* Render in the given format and write it to path (atomically) or, when path is NULL, stdout. */
PfErrCode report_write(const ReportContext *ctx, ReportFormat format, const char *path, PfErr *err);

#endif
