/*
 * History: keeping each run's JSON report in a directory (history.c), reading a JSON report
 * back (read.c), and comparing two of them target by target (diff.c), for `pgfleet diff`.
 */
#ifndef PF_REPORT_HISTORY_H
#define PF_REPORT_HISTORY_H

#include "core/err.h"
#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- keeping reports (history.c) ---------------------------------------------------------- */

/* Create dir (and its parents) when missing; PF_ERR_IO naming dir when that fails or dir is not
 * a writable directory. Called before a run, so that a bad --report-dir runs nothing. */
PfErrCode report_history_prepare(const char *dir, PfErr *err);

/* "pgfleet-<command>-<yyyymmddThhmmssZ>-<pid>.json" for a run that started at started_at
 * ("2026-11-22T18:43:20Z"); caller frees. */
char *report_history_name(const char *command, const char *started_at, long pid);

/* Write the run's JSON report into dir (atomically: temp file + rename in dir) under
 * report_history_name. *path_out (may be NULL) receives the file's path; caller frees. */
PfErrCode report_history_keep(const ReportContext *ctx, const char *dir, char **path_out,
                              PfErr *err);

/* ---- reading a report back (read.c) ------------------------------------------------------- */

typedef struct ReportTargetState {
    char *name;
    char *status;  /* as found; NULL when the target was not started */
    long pending;  /* migrations pending as found; -1 when unknown (not started, unreachable) */
    char *outcome; /* apply reports only; NULL otherwise */
} ReportTargetState;

typedef struct ReportSummary {
    char *source; /* the file (or name) it was read from, for messages */
    char *command;
    char *started_at;
    ReportTargetState *targets; /* in report order; names are unique */
    size_t n;
} ReportSummary;

/* Parse a JSON report (report_version 1). source names it in messages. Errors (PF_ERR_INPUT,
 * "SOURCE: ..."): not JSON (with the line), not a pgfleet fleet report, a report_version other
 * than 1, a target without a name or with a malformed status, pending or outcome, a name that
 * appears twice. On success the caller frees *out with report_summary_free. */
PfErrCode report_summary_parse(const char *json, const char *source, ReportSummary **out,
                               PfErr *err);

/* report_summary_parse of a file; PF_ERR_IO naming the file when it cannot be read. */
PfErrCode report_summary_read(const char *path, ReportSummary **out, PfErr *err);
void report_summary_free(ReportSummary *s);

/* ---- comparing two reports (diff.c) ------------------------------------------------------- */

typedef enum { REPORT_DIFF_APPEARED, REPORT_DIFF_DISAPPEARED, REPORT_DIFF_CHANGED } ReportDiffKind;

typedef struct ReportDiffEntry {
    ReportDiffKind kind;
    const ReportTargetState *before; /* NULL when the target appeared */
    const ReportTargetState *after;  /* NULL when the target disappeared */
    bool status_changed;
    bool pending_changed; /* both counts known and different */
    bool outcome_changed; /* both reports from apply and the outcomes differ */
} ReportDiffEntry;

typedef struct ReportDiff {
    ReportDiffEntry *entries; /* the targets of `after` in its order, then those that disappeared */
    size_t n;
    size_t appeared, disappeared, changed, unchanged;
} ReportDiff;

/* Compare two reports. The entries borrow from before and after, which must outlive the diff.
 * Never fails; free with report_diff_clear. */
void report_diff(const ReportSummary *before, const ReportSummary *after, ReportDiff *out);
void report_diff_clear(ReportDiff *d);

/* One line per change and a summary line / the JSON document (docs/report.md); caller frees. */
char *report_diff_text(const ReportSummary *before, const ReportSummary *after,
                       const ReportDiff *d);
char *report_diff_json(const ReportSummary *before, const ReportSummary *after,
                       const ReportDiff *d);

#endif
