/*
 * Classification of a target from its ledger rows.
 *
 * A row matches the codebase migration whose `when` equals its created_at; for the v1 layout a
 * row that carries a name matches the folder of that name first. out_of_order exists only for
 * the journal layout, whose migrator compares timestamps: an unapplied migration is out of
 * order when its `when` is not above the newest created_at in the ledger (drizzle's
 * high-water mark, whatever the order of the rows), which also covers journals whose `when`
 * goes back. Every mismatch becomes a problem, and the status is the most serious problem
 * (TargetStatus is ordered by severity). Without a ledger, what the survey found in the
 * database (objects the migrations create, a ledger elsewhere) is judged by plan_no_ledger.
 */
#include "plan/plan.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/strset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[TARGET_STATUS_COUNT] = {
    [TARGET_IN_SYNC] = "in_sync",
    [TARGET_BEHIND] = "behind",
    [TARGET_UNINITIALIZED] = "uninitialized",
    [TARGET_UNMANAGED] = "unmanaged",
    [TARGET_AHEAD] = "ahead",
    [TARGET_OUT_OF_ORDER] = "out_of_order",
    [TARGET_MODIFIED] = "modified",
    [TARGET_FOREIGN] = "foreign",
    [TARGET_MIGRATING] = "migrating",
    [TARGET_LOCKED] = "locked",
    [TARGET_UNREACHABLE] = "unreachable",
    [TARGET_DRIFTED] = "drifted",
};

const char *plan_status_name(TargetStatus s)
{
    return (unsigned)s < TARGET_STATUS_COUNT ? status_names[s] : "unknown";
}

void ledger_clear(Ledger *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->rows[i].hash);
        free(l->rows[i].name);
        free(l->rows[i].applied_at);
    }
    free(l->rows);
    l->rows = NULL;
    l->n = 0;
}

void plan_clear(Plan *p)
{
    if (!p)
        return;
    free(p->pending);
    free(p->matches);
    for (size_t i = 0; i < p->n_problems; i++) {
        free(p->problems[i].tag);
        free(p->problems[i].message);
    }
    free(p->problems);
    for (size_t i = 0; i < p->n_warnings; i++) {
        free(p->warnings[i].migration);
        free(p->warnings[i].message);
        free(p->warnings[i].hint);
        free(p->warnings[i].pids);
    }
    free(p->warnings);
    free(p->refusal);
    memset(p, 0, sizeof *p);
}

static void add_problem(Plan *p, size_t *cap, TargetStatus kind, const char *tag, int64_t ledger_id,
                        char *message)
{
    PF_GROW(p->problems, *cap, p->n_problems + 1);
    PlanProblem *pr = &p->problems[p->n_problems++];
    pr->kind = kind;
    pr->tag = pf_strdup(tag);
    pr->ledger_id = ledger_id;
    pr->message = message;
    if (kind > p->status)
        p->status = kind;
}

/* The codebase by `when`, tag and hash, built once per classification: matching a ledger of
 * n rows to a folder of n migrations costs n log n, not n * n. */
typedef struct CbIndex {
    const Codebase *cb;
    struct ByWhen {
        int64_t when;
        size_t i;
    } * by_when;     /* every migration's when and index, sorted by when, then by index */
    PfStrSet tags;   /* tag -> index */
    PfStrSet hashes; /* hash -> the first index with it */
} CbIndex;

static int when_cmp(const void *a, const void *b)
{
    const struct ByWhen *x = a, *y = b;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void index_build(CbIndex *ix, const Codebase *cb)
{
    memset(ix, 0, sizeof *ix);
    ix->cb = cb;
    ix->by_when = pf_malloc((cb->n ? cb->n : 1) * sizeof *ix->by_when);
    for (size_t i = 0; i < cb->n; i++) {
        ix->by_when[i] = (struct ByWhen){cb->migrations[i].when, i};
        pf_strset_add(&ix->tags, cb->migrations[i].tag, i, NULL);
        pf_strset_add(&ix->hashes, cb->migrations[i].hash, i, NULL); /* keeps the first */
    }
    qsort(ix->by_when, cb->n, sizeof *ix->by_when, when_cmp);
}

static void index_free(CbIndex *ix)
{
    free(ix->by_when);
    pf_strset_free(&ix->tags);
    pf_strset_free(&ix->hashes);
}

/* [*from, *to) of by_when: the migrations whose `when` is `when`, in index order. */
static void when_range(const CbIndex *ix, int64_t when, size_t *from, size_t *to)
{
    size_t lo = 0, hi = ix->cb->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->by_when[mid].when < when)
            lo = mid + 1;
        else
            hi = mid;
    }
    *from = lo;
    hi = ix->cb->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->by_when[mid].when <= when)
            lo = mid + 1;
        else
            hi = mid;
    }
    *to = lo;
}

/* The one migration with this hash, or -1. */
static long match_hash(const CbIndex *ix, const char *hash)
{
    size_t i;
    return hash && pf_strset_get(&ix->hashes, hash, &i) ? (long)i : -1;
}

/* Among the migrations whose `when` is `when`, the only one, else the one with the row's hash;
 * -1 when there is none (*several tells whether several shared the time). */
static long match_when(const CbIndex *ix, int64_t when, const char *hash, bool *several)
{
    const Codebase *cb = ix->cb;
    long found = -1, same_hash = -1;
    size_t from, to;
    when_range(ix, when, &from, &to);
    for (size_t k = from; k < to; k++) {
        size_t i = ix->by_when[k].i;
        if (found < 0)
            found = (long)i;
        if (hash && same_hash < 0 && strcmp(cb->migrations[i].hash, hash) == 0)
            same_hash = (long)i;
    }
    *several = to - from > 1;
    return to - from > 1 ? same_hash : found;
}

/* Index of the codebase migration a ledger row stands for, or -1.
 * Journal layout: created_at equals `when` (drizzle 0.x's own key). A journal whose `when` goes
 * back may repeat a value: the hash breaks the tie, and failing that (an edited file) the first
 * such migration no earlier row took (taken: per migration, whether a row matched it).
 * Folder layout: the row's name; for a row written by drizzle 0.x (no name), drizzle v1's
 * upgrade rule: created_at rounded down to the second, the hash breaking ties, and failing
 * that any migration with the same hash. */
static long match_row(const CbIndex *ix, const LedgerRow *row, const bool *taken)
{
    const Codebase *cb = ix->cb;
    bool several;
    if (cb->layout == CB_LAYOUT_FOLDERS) {
        if (row->name) {
            size_t i;
            return pf_strset_get(&ix->tags, row->name, &i) ? (long)i : -1;
        }
        long m = -1;
        if (row->has_created_at && row->created_at >= 0)
            m = match_when(ix, row->created_at / 1000 * 1000, row->hash, &several);
        return m >= 0 ? m : match_hash(ix, row->hash);
    }
    if (!row->has_created_at)
        return -1;
    long m = match_when(ix, row->created_at, row->hash, &several);
    if (m < 0 && several) {
        size_t from, to;
        when_range(ix, row->created_at, &from, &to);
        for (size_t k = from; m < 0 && k < to; k++)
            if (!taken[ix->by_when[k].i])
                m = (long)ix->by_when[k].i;
    }
    return m;
}

void plan_classify(const Codebase *cb, const Ledger *ledger, Plan *out)
{
    memset(out, 0, sizeof *out);
    size_t problems_cap = 0, matches_cap = 0;
    bool *applied = pf_calloc(cb->n ? cb->n : 1, sizeof *applied);
    /* A row is ahead when newer than every migration: in a journal whose `when` goes back the
     * last entry is not the newest. */
    bool have_newest = cb->n > 0;
    int64_t newest = 0;
    for (size_t i = 0; i < cb->n; i++)
        if (i == 0 || cb->migrations[i].when > newest)
            newest = cb->migrations[i].when;

    bool have_max = false;
    int64_t max_created = 0;
    CbIndex ix;
    index_build(&ix, cb);
    for (size_t r = 0; ledger->exists && r < ledger->n; r++) {
        const LedgerRow *row = &ledger->rows[r];
        if (row->has_created_at && (!have_max || row->created_at > max_created)) {
            max_created = row->created_at;
            have_max = true;
        }
        long m = match_row(&ix, row, applied);
        if (m < 0) {
            bool newer = row->has_created_at && (!have_newest || row->created_at > newest);
            if (newer)
                add_problem(out, &problems_cap, TARGET_AHEAD, NULL, row->id,
                            pf_asprintf("ledger row %lld (created_at %lld%s%s) is newer than "
                                        "every migration of the codebase",
                                        (long long)row->id, (long long)row->created_at,
                                        row->name ? ", name " : "", row->name ? row->name : ""));
            else {
                char created[32];
                if (row->has_created_at)
                    snprintf(created, sizeof created, "%lld", (long long)row->created_at);
                else
                    snprintf(created, sizeof created, "null");
                add_problem(out, &problems_cap, TARGET_FOREIGN, NULL, row->id,
                            pf_asprintf("ledger row %lld (created_at %s%s%s) matches no migration "
                                        "of the codebase",
                                        (long long)row->id, created, row->name ? ", name " : "",
                                        row->name ? row->name : ""));
            }
            continue;
        }
        const CbMigration *mig = &cb->migrations[m];
        PF_GROW(out->matches, matches_cap, out->n_matches + 1);
        out->matches[out->n_matches++] = (PlanMatch){row->id, (size_t)m};
        if (!applied[m]) {
            applied[m] = true;
            out->n_applied++;
        }
        if (!row->hash || strcmp(row->hash, mig->hash) != 0)
            add_problem(out, &problems_cap, TARGET_MODIFIED, mig->tag, row->id,
                        pf_asprintf("%s was edited after it was applied: ledger hash %.12s, "
                                    "file hash %.12s; hint: restore the file, or if the edit "
                                    "changes nothing that runs (a comment, line endings), "
                                    "record its hash with pgfleet repair",
                                    mig->tag, row->hash ? row->hash : "(null)", mig->hash));
    }

    index_free(&ix);
    size_t pending_cap = 0;
    for (size_t i = 0; i < cb->n; i++) {
        if (applied[i])
            continue;
        PF_GROW(out->pending, pending_cap, out->n_pending + 1);
        out->pending[out->n_pending++] = i;
        const CbMigration *mig = &cb->migrations[i];
        /* drizzle v1 applies every folder missing from the ledger; only the 0.x migrator
         * skips a migration older than the ledger's newest row. */
        if (cb->layout == CB_LAYOUT_JOURNAL && have_max && mig->when <= max_created)
            add_problem(out, &problems_cap, TARGET_OUT_OF_ORDER, mig->tag, 0,
                        pf_asprintf("%s (when %lld) is older than the newest applied migration "
                                    "(created_at %lld): drizzle's migrator would skip it; hint: "
                                    "review it, then apply it with --allow-out-of-order",
                                    mig->tag, (long long)mig->when, (long long)max_created));
    }
    free(applied);

    if (!ledger->exists) {
        if (out->status < TARGET_UNINITIALIZED)
            out->status = TARGET_UNINITIALIZED;
    } else if (out->n_pending > 0 && out->status < TARGET_BEHIND) {
        out->status = TARGET_BEHIND;
    }
}

void plan_no_ledger_clear(PlanNoLedger *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_existing; i++) {
        free(f->existing[i].schema);
        free(f->existing[i].name);
    }
    free(f->existing);
    for (size_t i = 0; i < f->n_lookalikes; i++) {
        free(f->lookalikes[i].schema);
        free(f->lookalikes[i].table);
    }
    free(f->lookalikes);
    memset(f, 0, sizeof *f);
}

/* How many existing objects the unmanaged problem names. */
enum { NAMED_OBJECTS = 3 };

/* where, hint: the ledger found elsewhere and how to use it, or NULL. */
static char *unmanaged_text(const Codebase *cb, const PlanNoLedger *f, const char *where,
                            const char *hint)
{
    PfBuf b = PF_BUF_INIT;
    size_t n = f->n_existing;
    pf_buf_printf(&b, "no ledger, but %zu object%s its migrations create already exist%s: ", n,
                  n == 1 ? "" : "s", n == 1 ? "s" : "");
    for (size_t i = 0; i < n && i < NAMED_OBJECTS; i++) {
        const PlanObject *o = &f->existing[i];
        pf_buf_printf(&b, "%s%s %s%s%s", i ? ", " : "", o->kind, o->schema ? o->schema : "",
                      o->schema ? "." : "", o->name);
    }
    if (n > NAMED_OBJECTS)
        pf_buf_printf(&b, " and %zu more", n - NAMED_OBJECTS);
    /* The objects are in run order: the last one's migration is the newest concerned. */
    size_t newest = f->existing[n - 1].migration;
    pf_buf_printf(
        &b, " (the newest from %s); hint: ", newest < cb->n ? cb->migrations[newest].tag : "?");
    if (where)
        pf_buf_printf(&b, "its ledger looks to be %s: %s", where, hint);
    else
        pf_buf_puts(&b, "adopt it with pgfleet mark-applied --through TAG (the last migration it "
                        "already holds), then apply");
    return pf_buf_take(&b);
}

static void rows_text(PfBuf *b, int64_t rows)
{
    pf_buf_printf(b, "%lld row%s", (long long)rows, rows == 1 ? "" : "s");
}

/* Most rows first: the likeliest to be the ledger in use. */
static int by_rows(const void *a, const void *b)
{
    int64_t ra = ((const PlanLedgerLike *)a)->rows, rb = ((const PlanLedgerLike *)b)->rows;
    return ra < rb ? 1 : ra > rb ? -1 : 0;
}

/* "no ledger at S.T, but X looks like one (N rows)" into what; the likeliest one (X) into
 * where, and what to set to use it into hint. */
static void lookalike_text(const char *schema, const char *table, const PlanNoLedger *f,
                           PfBuf *what, PfBuf *where, PfBuf *hint)
{
    size_t n = f->n_lookalikes;
    PlanLedgerLike *l = pf_calloc(n, sizeof *l);
    memcpy(l, f->lookalikes, n * sizeof *l);
    qsort(l, n, sizeof *l, by_rows);
    pf_buf_printf(what, "no ledger at %s.%s, but ", schema, table);
    for (size_t i = 0; i < n; i++) {
        pf_buf_printf(what, "%s%s.%s",
                      i == 0      ? ""
                      : i + 1 < n ? ", "
                                  : " and ",
                      l[i].schema, l[i].table);
        if (n > 1) {
            pf_buf_puts(what, " (");
            rows_text(what, l[i].rows);
            pf_buf_puts(what, ")");
        }
    }
    pf_buf_puts(what, n == 1 ? " looks like one (" : " look like one");
    if (n == 1) {
        rows_text(what, l[0].rows);
        pf_buf_puts(what, ")");
    }
    pf_buf_printf(where, "%s.%s", l[0].schema, l[0].table);
    pf_buf_printf(hint,
                  "set migrations: {schema: %s, table: %s} in the inventory, or "
                  "-c drizzle.config.ts",
                  l[0].schema, l[0].table);
    free(l);
}

void plan_no_ledger(Plan *p, const Codebase *cb, const char *schema, const char *table,
                    const PlanNoLedger *f)
{
    size_t cap = p->n_problems;
    PfBuf what = PF_BUF_INIT, where = PF_BUF_INIT, hint = PF_BUF_INIT;
    if (f->n_lookalikes > 0)
        lookalike_text(schema, table, f, &what, &where, &hint);
    if (f->n_existing > 0) {
        char *text = unmanaged_text(cb, f, where.data, hint.data);
        add_problem(p, &cap, TARGET_UNMANAGED, NULL, 0, text);
        p->refusal = pf_asprintf("unmanaged: %s", text);
    }
    if (f->n_lookalikes > 0) {
        add_problem(p, &cap, TARGET_UNINITIALIZED, NULL, 0,
                    pf_asprintf("%s; hint: %s", what.data, hint.data));
        /* Refused for the ledger elsewhere first: it explains the objects too. */
        free(p->refusal);
        p->refusal = pf_asprintf("%s: a new ledger here would start from zero beside it; hint: %s",
                                 what.data, hint.data);
    }
    pf_buf_free(&what);
    pf_buf_free(&where);
    pf_buf_free(&hint);
}

bool plan_can_apply(const Plan *p, bool allow_out_of_order, const char **why)
{
    if (p->refusal) {
        *why = p->refusal;
        return false;
    }
    switch (p->status) {
    case TARGET_IN_SYNC:
    case TARGET_BEHIND:
    case TARGET_UNINITIALIZED:
        return true;
    case TARGET_UNMANAGED:
        *why = "unmanaged: no ledger, but objects its migrations create already exist; hint: "
               "adopt it with pgfleet mark-applied --through TAG (the last migration it already "
               "holds), then apply";
        return false;
    case TARGET_OUT_OF_ORDER:
        if (allow_out_of_order)
            return true;
        *why = "out_of_order: a pending migration is older than the newest applied one; "
               "hint: review it, then re-run with --allow-out-of-order";
        return false;
    case TARGET_MODIFIED:
        *why = "modified: an applied migration's file was edited; hint: restore the file as it "
               "was applied, or if the edit changes nothing that runs, record the file's hash "
               "with pgfleet repair";
        return false;
    case TARGET_AHEAD:
        *why = "ahead: the ledger has migrations newer than this codebase; hint: deploy the "
               "newer release instead";
        return false;
    case TARGET_FOREIGN:
        *why = "foreign: the ledger has rows that match no migration of this codebase; hint: "
               "check that the dsn points at the right database";
        return false;
    case TARGET_MIGRATING:
    case TARGET_LOCKED:
        *why = "locked: another migrator holds the lock";
        return false;
    default:
        *why = "unreachable";
        return false;
    }
}
