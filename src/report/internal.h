/*
 * What the report formats share, internal to src/report: the tally of a run, a target's verdict
 * when the run ended, the state of each migration on a target, and escaping for XML and HTML.
 */
#ifndef PF_REPORT_INTERNAL_H
#define PF_REPORT_INTERNAL_H

#include "core/buf.h"
#include "report/report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ReportTally {
    size_t status[TARGET_STATUS_COUNT]; /* started targets, by status as found */
    size_t not_started;
    size_t outcome[OUTCOME_COUNT];
    size_t ok; /* targets for which report_target_ok holds */
    size_t applied_targets;
    size_t applied_migrations;
} ReportTally;

void report_tally(const FleetResult *fr, ReportTally *t);

/* Whether the target is in sync when the run ends: for plan and audit its status is in_sync;
 * for apply its outcome is applied or unchanged. */
bool report_target_ok(const FleetResult *fr, const TargetResult *r);

/* Whether the target's ledger was read and classified, so that its plan means something: false
 * for a target not started, unreachable, or locked by another migrator during apply. */
bool report_plan_known(const FleetResult *fr, const TargetResult *r);

/* The status as found ("in_sync", ...), or "not_started" (static strings). */
const char *report_status_label(const TargetResult *r);

/* Migrations still pending when the run ended (apply subtracts what it committed). */
size_t report_pending_after(const TargetResult *r);

/* One line that says what is wrong: the error, else the first problem, else "" (borrowed). */
const char *report_detail(const TargetResult *r);

/* A duration for people: "812 ms", "3.1 s". */
void report_duration(char out[32], int64_t ms);

/* Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SSZ" timestamp; 0 when malformed. */
int64_t report_epoch_seconds(const char *iso8601);

/* Append s escaped for XML and HTML (& < > " '). Invalid UTF-8 and the control characters
 * XML 1.0 forbids become U+FFFD. In an attribute value (attr) tabs and line breaks become
 * character references, which XML parsers would otherwise turn into spaces; in text they stay. */
void report_xml_escape(PfBuf *b, const char *s, bool attr);

/* s as valid UTF-8 (invalid sequences replaced by U+FFFD); caller frees. */
char *report_utf8(const char *s);

/* The state of one codebase migration on one target, as the HTML matrix shows it. */
typedef enum {
    CELL_UNKNOWN, /* the target's ledger was not read */
    CELL_APPLIED,
    CELL_APPLIED_NOW, /* committed by this run (apply) */
    CELL_PENDING,
    CELL_MODIFIED,
    CELL_OUT_OF_ORDER, /* pending, and older than the newest applied migration */
} ReportCell;

/* Fill cells[cb->n] with the state of every migration on target r, derived from its plan. */
void report_cells(const Codebase *cb, const FleetResult *fr, const TargetResult *r,
                  ReportCell *cells);

#endif
