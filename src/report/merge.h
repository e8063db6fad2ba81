/*
 * Merging reports (merge.c, `pgfleet merge`, docs/scale.md): the JSON reports of the shards of
 * one run (--shard K/N) read back into one fleet result, which every report format renders as
 * it renders a single run's.
 */
#ifndef PF_REPORT_MERGE_H
#define PF_REPORT_MERGE_H

#include "codebase/codebase.h"
#include "codebase/revision.h"
#include "core/err.h"
#include "fleet/fleet.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ReportMerge ReportMerge;

/* Read the JSON reports at paths[0..n) (report_version 1, of plan, apply or audit) and check
 * that they are the shards of one run: the same command, inventory and codebase (count, layout
 * and head hash), every shard K of the same N exactly once, with the same selection, and
 * together as many targets as were selected. force accepts reports that fail those checks
 * (each reason is still printed on stderr as a warning). A target name found twice, a file that
 * is not a report, or a report of mark-applied or repair is refused even so. PF_ERR_INPUT
 * ("FILE: ...") or PF_ERR_IO; on success free *out with report_merge_free. */
PfErrCode report_merge_load(const char *const *paths, size_t n, bool force, ReportMerge **out,
                            PfErr *err);
void report_merge_free(ReportMerge *m);

/* The migrations folder the first report names (borrowed). */
const char *report_merge_codebase_dir(const ReportMerge *m);

/* The inventory the reports name (borrowed), or NULL. */
const char *report_merge_inventory(const ReportMerge *m);

/* The codebase revision the reports carry (the same in every one: report_merge_load checks
 * it), borrowed from them; false when they carry none. */
bool report_merge_revision(const ReportMerge *m, CbRevision *out);

/* Build the merged result against the codebase the reports were made with: targets in the order
 * of the unsharded selection, statuses, outcomes, plans and errors as the shards reported them,
 * waves with their targets, failures and halt recomputed over the whole fleet. A codebase that
 * differs from the reports' is PF_ERR_INPUT unless force was given (a migration it lacks is then
 * left out of the lists). The result (borrowed; valid until report_merge_free) is what a single
 * run's report is made from; its exit code is fleet_exit_code's. Call once. */
PfErrCode report_merge_build(ReportMerge *m, const Codebase *cb, const FleetResult **out,
                             PfErr *err);

#endif
