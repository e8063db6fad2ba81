/*
 * Comparing two reports target by target: which targets appeared, disappeared, or changed
 * status, pending count or (between two apply reports) outcome. Targets are matched by name.
 */
#include "report/history.h"

#include "core/buf.h"
#include "core/mem.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int cmp_names(const void *a, const void *b)
{
    const ReportTargetState *x = *(const ReportTargetState *const *)a;
    const ReportTargetState *y = *(const ReportTargetState *const *)b;
    return strcmp(x->name, y->name);
}

/* Pointers to s's targets sorted by name, for bsearch; caller frees. */
static const ReportTargetState **by_name(const ReportSummary *s)
{
    const ReportTargetState **v = pf_calloc(s->n ? s->n : 1, sizeof *v);
    for (size_t i = 0; i < s->n; i++)
        v[i] = &s->targets[i];
    qsort(v, s->n, sizeof *v, cmp_names);
    return v;
}

static const ReportTargetState *find(const ReportTargetState **sorted, size_t n,
                                     const ReportTargetState *key)
{
    const ReportTargetState *const *hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_names);
    return hit ? *hit : NULL;
}

void report_diff(const ReportSummary *before, const ReportSummary *after, ReportDiff *out)
{
    memset(out, 0, sizeof *out);
    out->entries = pf_calloc(before->n + after->n + 1, sizeof *out->entries);
    const ReportTargetState **old_sorted = by_name(before);
    const ReportTargetState **new_sorted = by_name(after);
    for (size_t i = 0; i < after->n; i++) {
        const ReportTargetState *a = &after->targets[i];
        const ReportTargetState *b = find(old_sorted, before->n, a);
        if (!b) {
            out->entries[out->n++] = (ReportDiffEntry){.kind = REPORT_DIFF_APPEARED, .after = a};
            out->appeared++;
            continue;
        }
        ReportDiffEntry e = {.kind = REPORT_DIFF_CHANGED, .before = b, .after = a};
        e.status_changed = !same_str(b->status, a->status);
        e.pending_changed = b->pending >= 0 && a->pending >= 0 && b->pending != a->pending;
        e.outcome_changed = b->outcome && a->outcome && strcmp(b->outcome, a->outcome) != 0;
        if (e.status_changed || e.pending_changed || e.outcome_changed) {
            out->entries[out->n++] = e;
            out->changed++;
        } else {
            out->unchanged++;
        }
    }
    for (size_t i = 0; i < before->n; i++) {
        const ReportTargetState *b = &before->targets[i];
        if (!find(new_sorted, after->n, b)) {
            out->entries[out->n++] =
                (ReportDiffEntry){.kind = REPORT_DIFF_DISAPPEARED, .before = b};
            out->disappeared++;
        }
    }
    free(old_sorted);
    free(new_sorted);
}

void report_diff_clear(ReportDiff *d)
{
    if (!d)
        return;
    free(d->entries);
    memset(d, 0, sizeof *d);
}

static const char *status_text(const ReportTargetState *t)
{
    return t->status ? t->status : "not started";
}

static void describe(PfBuf *b, const ReportDiffEntry *e)
{
    const ReportTargetState *x = e->before, *y = e->after;
    switch (e->kind) {
    case REPORT_DIFF_APPEARED:
        pf_buf_printf(b, "%s: appeared, %s", y->name, status_text(y));
        if (y->pending > 0)
            pf_buf_printf(b, ", pending %ld", y->pending);
        break;
    case REPORT_DIFF_DISAPPEARED:
        pf_buf_printf(b, "%s: disappeared, was %s", x->name, status_text(x));
        break;
    case REPORT_DIFF_CHANGED: {
        pf_buf_printf(b, "%s: ", y->name);
        const char *sep = "";
        if (e->status_changed) {
            pf_buf_printf(b, "%s -> %s", status_text(x), status_text(y));
            sep = ", ";
        }
        if (e->pending_changed) {
            pf_buf_printf(b, "%spending %ld -> %ld", sep, x->pending, y->pending);
            sep = ", ";
        }
        if (e->outcome_changed)
            pf_buf_printf(b, "%soutcome %s -> %s", sep, x->outcome, y->outcome);
        if (!e->status_changed)
            pf_buf_printf(b, " (%s)", status_text(y));
        break;
    }
    }
    pf_buf_putc(b, '\n');
}

char *report_diff_text(const ReportSummary *before, const ReportSummary *after, const ReportDiff *d)
{
    PfBuf b = PF_BUF_INIT;
    pf_buf_printf(&b, "old: %s (%s, %s, %zu target%s)\n", before->source, before->command,
                  before->started_at, before->n, before->n == 1 ? "" : "s");
    pf_buf_printf(&b, "new: %s (%s, %s, %zu target%s)\n", after->source, after->command,
                  after->started_at, after->n, after->n == 1 ? "" : "s");
    for (size_t i = 0; i < d->n; i++)
        describe(&b, &d->entries[i]);
    if (d->n == 0)
        pf_buf_printf(&b, "no change: %zu target%s unchanged\n", d->unchanged,
                      d->unchanged == 1 ? "" : "s");
    else
        pf_buf_printf(&b, "%zu changed, %zu appeared, %zu disappeared, %zu unchanged\n", d->changed,
                      d->appeared, d->disappeared, d->unchanged);
    return pf_buf_take(&b);
}

static cJSON *report_json_ref(const ReportSummary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", s->source);
    cJSON_AddStringToObject(o, "command", s->command);
    cJSON_AddStringToObject(o, "started_at", s->started_at);
    cJSON_AddNumberToObject(o, "targets", (double)s->n);
    return o;
}

static cJSON *state_json(const ReportTargetState *t)
{
    if (!t)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "status",
                          t->status ? cJSON_CreateString(t->status) : cJSON_CreateNull());
    if (t->pending >= 0)
        cJSON_AddNumberToObject(o, "pending", (double)t->pending);
    else
        cJSON_AddNullToObject(o, "pending");
    cJSON_AddItemToObject(o, "outcome",
                          t->outcome ? cJSON_CreateString(t->outcome) : cJSON_CreateNull());
    return o;
}

char *report_diff_json(const ReportSummary *before, const ReportSummary *after, const ReportDiff *d)
{
    static const char *const kinds[] = {
        [REPORT_DIFF_APPEARED] = "appeared",
        [REPORT_DIFF_DISAPPEARED] = "disappeared",
        [REPORT_DIFF_CHANGED] = "changed",
    };
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "diff_version", 1);
    cJSON_AddItemToObject(root, "old", report_json_ref(before));
    cJSON_AddItemToObject(root, "new", report_json_ref(after));
    cJSON_AddBoolToObject(root, "changed", d->n > 0);
    cJSON *counts = cJSON_AddObjectToObject(root, "counts");
    cJSON_AddNumberToObject(counts, "changed", (double)d->changed);
    cJSON_AddNumberToObject(counts, "appeared", (double)d->appeared);
    cJSON_AddNumberToObject(counts, "disappeared", (double)d->disappeared);
    cJSON_AddNumberToObject(counts, "unchanged", (double)d->unchanged);
    cJSON *changes = cJSON_AddArrayToObject(root, "changes");
    for (size_t i = 0; i < d->n; i++) {
        const ReportDiffEntry *e = &d->entries[i];
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "target", e->after ? e->after->name : e->before->name);
        cJSON_AddStringToObject(c, "change", kinds[e->kind]);
        cJSON *what = cJSON_AddArrayToObject(c, "what");
        if (e->status_changed)
            cJSON_AddItemToArray(what, cJSON_CreateString("status"));
        if (e->pending_changed)
            cJSON_AddItemToArray(what, cJSON_CreateString("pending"));
        if (e->outcome_changed)
            cJSON_AddItemToArray(what, cJSON_CreateString("outcome"));
        cJSON_AddItemToObject(c, "old", state_json(e->before));
        cJSON_AddItemToObject(c, "new", state_json(e->after));
        cJSON_AddItemToArray(changes, c);
    }
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = pf_asprintf("%s\n", s);
    cJSON_free(s);
    return out;
}
