/* Helpers shared by the report formats (internal.h). */
#include "report/internal.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void report_tally(const FleetResult *fr, ReportTally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < fr->n; i++) {
        const TargetResult *r = &fr->targets[i];
        if (r->started)
            t->status[r->status]++;
        else
            t->not_started++;
        if ((unsigned)r->outcome < OUTCOME_COUNT)
            t->outcome[r->outcome]++;
        if (report_target_ok(fr, r))
            t->ok++;
        /* From the ledgers: a failed target keeps what it committed before the failure. */
        if (r->n_applied_now > 0) {
            t->applied_targets++;
            t->applied_migrations += r->n_applied_now;
        }
    }
}

bool report_target_ok(const FleetResult *fr, const TargetResult *r)
{
    if (!r->started)
        return false;
    if (fleet_mode_writes(fr->mode))
        return r->outcome == OUTCOME_APPLIED || r->outcome == OUTCOME_UNCHANGED ||
               r->outcome == OUTCOME_RECORDED || r->outcome == OUTCOME_REPAIRED;
    return r->status == TARGET_IN_SYNC;
}

bool report_plan_known(const FleetResult *fr, const TargetResult *r)
{
    if (!r->started || r->status == TARGET_UNREACHABLE)
        return false;
    return !(fleet_mode_writes(fr->mode) && r->status == TARGET_LOCKED);
}

const char *report_status_label(const TargetResult *r)
{
    return r->started ? plan_status_name(r->status) : "not_started";
}

size_t report_pending_after(const TargetResult *r)
{
    size_t left = 0;
    for (size_t i = 0; i < r->plan.n_pending; i++) {
        bool done = false;
        for (size_t k = 0; k < r->n_applied_now && !done; k++)
            done = r->applied_now[k] == r->plan.pending[i];
        left += !done;
    }
    return left;
}

const char *report_detail(const TargetResult *r)
{
    if (r->error)
        return r->error;
    if (r->plan.n_problems > 0)
        return r->plan.problems[0].message;
    if (r->drift && r->drift->summary)
        return r->drift->summary;
    return "";
}

void report_duration(char out[32], int64_t ms)
{
    if (ms < 1000)
        snprintf(out, 32, "%lld ms", (long long)ms);
    else
        snprintf(out, 32, "%.1f s", (double)ms / 1000.0);
}

int64_t report_epoch_seconds(const char *iso8601)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char z = 0;
    if (!iso8601 ||
        sscanf(iso8601, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z')
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : (int64_t)t;
}

char *report_utf8(const char *s)
{
    size_t n;
    return cb_utf8_decode(s ? s : "", s ? strlen(s) : 0, &n);
}

void report_xml_escape(PfBuf *b, const char *s, bool attr)
{
    char *u = report_utf8(s);
    for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
        switch (*p) {
        case '&':
            pf_buf_puts(b, "&amp;");
            break;
        case '<':
            pf_buf_puts(b, "&lt;");
            break;
        case '>':
            pf_buf_puts(b, "&gt;");
            break;
        case '"':
            pf_buf_puts(b, "&quot;");
            break;
        case '\'':
            pf_buf_puts(b, "&#39;");
            break;
        case '\t':
        case '\n':
        case '\r':
            if (attr)
                pf_buf_printf(b, "&#%d;", *p);
            else
                pf_buf_putc(b, (char)*p);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                pf_buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD: XML 1.0 allows no other controls */
            else
                pf_buf_putc(b, (char)*p);
        }
    }
    free(u);
}

void report_cells(const Codebase *cb, const FleetResult *fr, const TargetResult *r,
                  ReportCell *cells)
{
    for (size_t i = 0; i < cb->n; i++)
        cells[i] = CELL_UNKNOWN;
    if (!report_plan_known(fr, r))
        return;
    const Plan *p = &r->plan;
    for (size_t i = 0; i < p->n_matches; i++)
        if (p->matches[i].migration < cb->n)
            cells[p->matches[i].migration] = CELL_APPLIED;
    for (size_t i = 0; i < p->n_pending; i++)
        if (p->pending[i] < cb->n)
            cells[p->pending[i]] = CELL_PENDING;
    for (size_t i = 0; i < r->n_applied_now; i++)
        if (r->applied_now[i] < cb->n)
            cells[r->applied_now[i]] = CELL_APPLIED_NOW;
    for (size_t i = 0; i < p->n_problems; i++) {
        const PlanProblem *pr = &p->problems[i];
        if (pr->kind == TARGET_MODIFIED) {
            /* The ledger row names the migration it was matched to. */
            for (size_t m = 0; m < p->n_matches; m++)
                if (p->matches[m].ledger_id == pr->ledger_id && p->matches[m].migration < cb->n)
                    cells[p->matches[m].migration] = CELL_MODIFIED;
        } else if (pr->kind == TARGET_OUT_OF_ORDER && pr->tag) {
            for (size_t k = 0; k < p->n_pending; k++) {
                size_t m = p->pending[k];
                if (m < cb->n && cells[m] == CELL_PENDING &&
                    strcmp(cb->migrations[m].tag, pr->tag) == 0)
                    cells[m] = CELL_OUT_OF_ORDER;
            }
        }
    }
}
