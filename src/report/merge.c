/* Merging the JSON reports of a sharded run into one fleet result (merge.h, docs/scale.md). */
#include "report/merge.h"

#include "core/mem.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct MergeDoc {
    char *path;
    cJSON *root;
    const cJSON *targets;
    const cJSON *shard; /* NULL when the report is not a shard's */
} MergeDoc;

/* One target of a report, and where it stood in the unsharded selection. */
typedef struct MergeItem {
    const cJSON *json;
    size_t doc;
    size_t position;
} MergeItem;

struct ReportMerge {
    MergeDoc *docs;
    size_t n_docs;
    bool force;
    FleetMode mode;
    MergeItem *items;
    size_t n_items;
    /* built by report_merge_build */
    InvTarget *targets;
    InvWave *waves;
    size_t n_waves;
    char **strings; /* owned copies the result borrows (warning kinds) */
    size_t n_strings;
    FleetResult result;
    bool built;
};

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_str(const cJSON *o, const char *key)
{
    const char *s = get_str(o, key);
    return s ? pf_strdup(s) : NULL;
}

static double get_num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void report_merge_free(ReportMerge *m)
{
    if (!m)
        return;
    fleet_result_clear(&m->result);
    for (size_t i = 0; m->targets && i < m->n_items; i++) {
        InvTarget *t = &m->targets[i];
        free(t->name);
        free(t->dsn_masked);
        for (size_t k = 0; k < t->n_labels; k++) {
            free(t->labels[k].key);
            free(t->labels[k].value);
        }
        free(t->labels);
        free(t->schema);
        free(t->table);
        free(t->via);
        free(t->route);
    }
    free(m->targets);
    for (size_t i = 0; i < m->n_waves; i++) {
        free(m->waves[i].name);
        free(m->waves[i].max_failures_text);
        free(m->waves[i].check);
    }
    free(m->waves);
    for (size_t i = 0; i < m->n_strings; i++)
        free(m->strings[i]);
    free(m->strings);
    for (size_t i = 0; i < m->n_docs; i++) {
        free(m->docs[i].path);
        cJSON_Delete(m->docs[i].root);
    }
    free(m->docs);
    free(m->items);
    free(m);
}

static PfErrCode read_doc(const char *path, MergeDoc *d, PfErr *err)
{
    char *text = NULL;
    size_t len = 0;
    if (pf_read_file(path, &text, &len, err) != PF_OK)
        return err->code;
    d->path = pf_strdup(path);
    d->root = strlen(text) == len ? cJSON_Parse(text) : NULL;
    free(text);
    if (!d->root)
        return pf_err_set(err, PF_ERR_INPUT, "%s: not valid JSON", path);
    const cJSON *version = get(d->root, "report_version");
    const char *command = get_str(d->root, "command");
    d->targets = get(d->root, "targets");
    if (!cJSON_IsNumber(version) || !command || !cJSON_IsArray(d->targets) ||
        !cJSON_IsObject(get(d->root, "codebase")))
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: not a pgfleet report; hint: pass the JSON reports of plan, apply "
                          "or audit (-f json)",
                          path);
    if (version->valuedouble != 1)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: report_version %g is not supported (this pgfleet reads 1)", path,
                          version->valuedouble);
    if (strcmp(command, "plan") != 0 && strcmp(command, "apply") != 0 &&
        strcmp(command, "audit") != 0)
        return pf_err_set(err, PF_ERR_INPUT,
                          "%s: a report of %s; merge collates reports of plan, apply and audit",
                          path, command);
    const cJSON *shard = get(d->root, "shard");
    d->shard = cJSON_IsObject(shard) ? shard : NULL;
    return PF_OK;
}

static FleetMode mode_of(const char *command)
{
    return strcmp(command, "apply") == 0   ? FLEET_APPLY
           : strcmp(command, "audit") == 0 ? FLEET_AUDIT
                                           : FLEET_PLAN;
}

/* A reason why the reports are not the shards of one run: an error, or with force a warning. */
__attribute__((format(printf, 3, 4))) static bool mismatch(const ReportMerge *m, PfErr *err,
                                                           const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m->force) {
        fprintf(stderr, "pgfleet merge: warning: %s (merged anyway: --force)\n", msg);
        return false;
    }
    pf_err_set(err, PF_ERR_INPUT, "%s; hint: merge the reports of one run, or pass --force", msg);
    return true;
}

static char *codebase_key(const cJSON *root)
{
    const cJSON *c = get(root, "codebase");
    const cJSON *head = get(c, "head");
    return pf_asprintf("%g migrations, %s layout, head %s", get_num(c, "migrations"),
                       get_str(c, "layout") ? get_str(c, "layout") : "?",
                       cJSON_IsObject(head) && get_str(head, "hash") ? get_str(head, "hash")
                                                                     : "(none)");
}

/* The codebase's revision a report gives (borrowed from its JSON): false when it gives none. */
static bool revision_of(const cJSON *root, const char **source, const char **id)
{
    const cJSON *r = get(get(root, "codebase"), "revision");
    *source = get_str(r, "source");
    *id = get_str(r, "id");
    return *source && *id;
}

/* The codebase's revision as a report gives it: "git v1.4.0-3-g1a2b3c4", or "none". */
static char *revision_key(const cJSON *root)
{
    const char *source, *id;
    return revision_of(root, &source, &id) ? pf_asprintf("%s %s", source, id) : pf_strdup("none");
}

static bool check_run(ReportMerge *m, PfErr *err)
{
    const MergeDoc *first = &m->docs[0];
    bool bad = false;
    for (size_t i = 1; i < m->n_docs && !bad; i++) {
        const MergeDoc *d = &m->docs[i];
        const char *ca = get_str(first->root, "command"), *cb = get_str(d->root, "command");
        if (strcmp(ca, cb) != 0)
            bad = mismatch(m, err, "%s and %s are reports of different commands (%s, %s)",
                           first->path, d->path, ca, cb);
        const char *ia = get_str(first->root, "inventory"), *ib = get_str(d->root, "inventory");
        if (!bad && !same_str(ia, ib))
            bad = mismatch(m, err, "%s and %s name different inventories (%s, %s)", first->path,
                           d->path, ia ? ia : "none", ib ? ib : "none");
        char *ka = codebase_key(first->root), *kb = codebase_key(d->root);
        if (!bad && strcmp(ka, kb) != 0) {
            bad = mismatch(m, err, "%s and %s are reports of different codebases (%s; %s)",
                           first->path, d->path, ka, kb);
        }
        free(ka);
        free(kb);
        char *ra = revision_key(first->root), *rb = revision_key(d->root);
        if (!bad && strcmp(ra, rb) != 0)
            bad = mismatch(m, err, "%s and %s are reports of different codebase revisions (%s; %s)",
                           first->path, d->path, ra, rb);
        free(ra);
        free(rb);
    }
    if (bad)
        return false;
    /* The shards: each K of one N once, the same selection, all of its targets. */
    double count = first->shard ? get_num(first->shard, "count") : 0;
    double selected = first->shard ? get_num(first->shard, "selected") : 0;
    bool *seen =
        count > 0 && count <= INV_SHARD_MAX ? pf_calloc((size_t)count, sizeof *seen) : NULL;
    for (size_t i = 0; i < m->n_docs && !bad; i++) {
        const MergeDoc *d = &m->docs[i];
        if (!d->shard) {
            bad = mismatch(m, err, "%s is not a shard's report (run without --shard K/N)", d->path);
            continue;
        }
        double k = get_num(d->shard, "index");
        if (get_num(d->shard, "count") != count || get_num(d->shard, "selected") != selected) {
            bad = mismatch(m, err,
                           "%s: a shard of another split (%g shards of %g selected targets; %s: "
                           "%g of %g)",
                           d->path, get_num(d->shard, "count"), get_num(d->shard, "selected"),
                           first->path, count, selected);
        } else if (seen && k >= 0 && k < count && seen[(size_t)k]) {
            bad = mismatch(m, err, "%s: shard %g/%g is given twice", d->path, k, count);
        } else if (seen && k >= 0 && k < count) {
            seen[(size_t)k] = true;
        }
    }
    for (size_t k = 0; seen && k < (size_t)count && !bad; k++)
        if (!seen[k]) {
            bad = mismatch(m, err, "shard %zu/%g is missing", k, count);
        }
    free(seen);
    if (!bad && first->shard && (double)m->n_items != selected) {
        bad = mismatch(m, err, "the reports hold %zu targets, but %g were selected", m->n_items,
                       selected);
    }
    return !bad;
}

static int cmp_items(const void *a, const void *b)
{
    const MergeItem *x = a, *y = b;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int cmp_item_names(const void *a, const void *b)
{
    const MergeItem *x = *(const MergeItem *const *)a, *y = *(const MergeItem *const *)b;
    return strcmp(get_str(x->json, "name"), get_str(y->json, "name"));
}

PfErrCode report_merge_load(const char *const *paths, size_t n, bool force, ReportMerge **out,
                            PfErr *err)
{
    *out = NULL;
    if (n == 0)
        return pf_err_set(err, PF_ERR_INPUT, "no report to merge");
    ReportMerge *m = pf_calloc(1, sizeof *m);
    m->force = force;
    m->docs = pf_calloc(n, sizeof *m->docs);
    for (size_t i = 0; i < n; i++) {
        m->n_docs++;
        if (read_doc(paths[i], &m->docs[i], err) != PF_OK) {
            report_merge_free(m);
            return err->code;
        }
        m->n_items += (size_t)cJSON_GetArraySize(m->docs[i].targets);
    }
    m->mode = mode_of(get_str(m->docs[0].root, "command"));
    m->items = pf_calloc(m->n_items ? m->n_items : 1, sizeof *m->items);
    size_t at = 0, base = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *positions = m->docs[i].shard ? get(m->docs[i].shard, "positions") : NULL;
        size_t k = 0, n_here = (size_t)cJSON_GetArraySize(m->docs[i].targets);
        const cJSON *t;
        cJSON_ArrayForEach(t, m->docs[i].targets)
        {
            if (!cJSON_IsObject(t) || !get_str(t, "name")) {
                pf_err_set(err, PF_ERR_INPUT, "%s: targets[%zu] has no name", paths[i], k);
                report_merge_free(m);
                return PF_ERR_INPUT;
            }
            const cJSON *p =
                cJSON_IsArray(positions) ? cJSON_GetArrayItem(positions, (int)k) : NULL;
            m->items[at].json = t;
            m->items[at].doc = i;
            /* Without positions (not a shard's report), the reports' order. */
            m->items[at].position = cJSON_IsNumber(p) ? (size_t)p->valuedouble : base + k;
            at++;
            k++;
        }
        base += n_here;
    }
    /* A name twice is a target counted twice, whatever else was said. */
    const MergeItem **sorted = pf_calloc(m->n_items ? m->n_items : 1, sizeof *sorted);
    for (size_t i = 0; i < m->n_items; i++)
        sorted[i] = &m->items[i];
    qsort(sorted, m->n_items, sizeof *sorted, cmp_item_names);
    PfErrCode rc = PF_OK;
    for (size_t i = 1; i < m->n_items && rc == PF_OK; i++)
        if (strcmp(get_str(sorted[i - 1]->json, "name"), get_str(sorted[i]->json, "name")) == 0)
            rc = pf_err_set(err, PF_ERR_INPUT,
                            "target '%s' is in %s and in %s: the reports overlap; hint: merge "
                            "the reports of one run's shards",
                            get_str(sorted[i]->json, "name"), m->docs[sorted[i - 1]->doc].path,
                            m->docs[sorted[i]->doc].path);
    free(sorted);
    if (rc == PF_OK && !check_run(m, err))
        rc = PF_ERR_INPUT;
    if (rc != PF_OK) {
        report_merge_free(m);
        return rc;
    }
    qsort(m->items, m->n_items, sizeof *m->items, cmp_items);
    *out = m;
    return PF_OK;
}

const char *report_merge_codebase_dir(const ReportMerge *m)
{
    return get_str(get(m->docs[0].root, "codebase"), "dir");
}

const char *report_merge_inventory(const ReportMerge *m)
{
    return get_str(m->docs[0].root, "inventory");
}

bool report_merge_revision(const ReportMerge *m, CbRevision *out)
{
    const char *source, *id;
    if (!revision_of(m->docs[0].root, &source, &id))
        return false;
    /* Both borrowed from the report's JSON, valid until report_merge_free. */
    *out = (CbRevision){source, (char *)id};
    return true;
}

/* ---- building the result ---- */

static bool migration_index(const Codebase *cb, const char *tag, size_t *out)
{
    for (size_t i = 0; tag && i < cb->n; i++)
        if (strcmp(cb->migrations[i].tag, tag) == 0) {
            *out = i;
            return true;
        }
    return false;
}

/* The codebase indexes of an array of tags; tags the codebase lacks are left out. */
static size_t *tag_indexes(const Codebase *cb, const cJSON *arr, size_t *n)
{
    *n = 0;
    size_t *out = pf_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *out);
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsString(v) && migration_index(cb, v->valuestring, &out[*n]))
            (*n)++;
    }
    return out;
}

static const char *keep_string(ReportMerge *m, const char *s)
{
    for (size_t i = 0; i < m->n_strings; i++)
        if (strcmp(m->strings[i], s) == 0)
            return m->strings[i];
    m->strings = pf_realloc(m->strings, (m->n_strings + 1) * sizeof *m->strings);
    return m->strings[m->n_strings++] = pf_strdup(s);
}

static bool status_of(const char *name, TargetStatus *out)
{
    for (int s = 0; s < TARGET_STATUS_COUNT && name; s++)
        if (strcmp(plan_status_name((TargetStatus)s), name) == 0) {
            *out = (TargetStatus)s;
            return true;
        }
    return false;
}

static TargetOutcome outcome_of(const char *name)
{
    for (int o = 0; o < OUTCOME_COUNT && name; o++)
        if (strcmp(fleet_outcome_name((TargetOutcome)o), name) == 0)
            return (TargetOutcome)o;
    return OUTCOME_NONE;
}

/* Schema drift (docs/drift.md) as the report gives it, or NULL when it was not compared. */
static TargetDrift *build_drift(const Codebase *cb, const cJSON *j)
{
    size_t at;
    if (!cJSON_IsObject(j) || !migration_index(cb, get_str(j, "head"), &at))
        return NULL; /* (a head this codebase lacks: merged with --force) */
    TargetDrift *d = pf_calloc(1, sizeof *d);
    d->head = at + 1;
    d->checked = cJSON_IsTrue(get(j, "checked"));
    const cJSON *lines = get(j, "differences"), *l;
    d->lines = pf_calloc((size_t)cJSON_GetArraySize(lines) + 1, sizeof *d->lines);
    cJSON_ArrayForEach(l, lines)
    {
        if (cJSON_IsString(l))
            d->lines[d->n_lines++] = pf_strdup(l->valuestring);
    }
    d->error = dup_str(j, "error");
    d->summary = dup_str(j, "summary");
    return d;
}

/* apply's dump before migrating (docs/backups.md), or why none was taken. */
static void build_backup(ReportMerge *m, const cJSON *j, TargetResult *r)
{
    if (!cJSON_IsObject(j))
        return;
    const char *skipped = get_str(j, "skipped");
    if (skipped) {
        r->backup_skipped = keep_string(m, skipped);
        return;
    }
    r->has_backup = true;
    r->backup.path = pf_strdup(get_str(j, "path") ? get_str(j, "path") : "");
    r->backup.tool = pf_strdup(get_str(j, "pg_dump") ? get_str(j, "pg_dump") : "");
    r->backup.format = keep_string(m, get_str(j, "format") ? get_str(j, "format") : "custom");
    r->backup.bytes = (int64_t)get_num(j, "bytes");
    r->backup.duration_ms = (int64_t)get_num(j, "duration_ms");
    r->backup.pruned = (int)get_num(j, "pruned");
}

static void build_target(ReportMerge *m, const Codebase *cb, const cJSON *j, InvTarget *t,
                         TargetResult *r)
{
    t->name = dup_str(j, "name");
    t->dsn_masked = dup_str(j, "dsn");
    if (!t->dsn_masked)
        t->dsn_masked = pf_strdup("");
    const cJSON *labels = get(j, "labels"), *l;
    t->labels = pf_calloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof *t->labels);
    cJSON_ArrayForEach(l, labels)
    {
        if (!cJSON_IsString(l))
            continue;
        t->labels[t->n_labels].key = pf_strdup(l->string);
        t->labels[t->n_labels++].value = pf_strdup(l->valuestring);
    }
    t->route = dup_str(j, "route");
    const cJSON *timings = get(j, "timings");
    if (cJSON_IsNumber(get(timings, "tunnel_ms")))
        t->via = pf_strdup(t->route ? t->route : "");
    const cJSON *ledger = get(j, "ledger");
    t->schema = dup_str(ledger, "schema");
    t->table = dup_str(ledger, "table");
    if (!t->schema)
        t->schema = pf_strdup("drizzle");
    if (!t->table)
        t->table = pf_strdup("__drizzle_migrations");

    r->target = t;
    r->started = cJSON_IsTrue(get(j, "started"));
    if (!status_of(get_str(j, "status"), &r->status))
        r->status = TARGET_IN_SYNC;
    r->outcome = outcome_of(get_str(j, "outcome"));
    Plan *p = &r->plan;
    p->status = r->status;
    const cJSON *problems = get(j, "problems"), *po;
    p->problems = pf_calloc((size_t)cJSON_GetArraySize(problems) + 1, sizeof *p->problems);
    cJSON_ArrayForEach(po, problems)
    {
        PlanProblem *pr = &p->problems[p->n_problems];
        if (!status_of(get_str(po, "kind"), &pr->kind))
            continue;
        pr->tag = dup_str(po, "migration");
        pr->ledger_id = (int64_t)get_num(po, "ledger_id");
        pr->message = dup_str(po, "message");
        if (!pr->message)
            pr->message = pf_strdup("");
        p->n_problems++;
    }
    p->pending = tag_indexes(cb, get(j, "pending"), &p->n_pending);
    const cJSON *warnings = get(j, "warnings"), *wo;
    p->warnings = pf_calloc((size_t)cJSON_GetArraySize(warnings) + 1, sizeof *p->warnings);
    cJSON_ArrayForEach(wo, warnings)
    {
        PlanWarning *w = &p->warnings[p->n_warnings++];
        w->kind = keep_string(m, get_str(wo, "kind") ? get_str(wo, "kind") : "preflight");
        w->migration = dup_str(wo, "migration");
        w->statement = (int)get_num(wo, "statement");
        w->message = dup_str(wo, "message");
        if (!w->message)
            w->message = pf_strdup("");
        w->hint = dup_str(wo, "hint");
        const cJSON *pids = get(wo, "pids"), *pid;
        w->pids = pf_calloc((size_t)cJSON_GetArraySize(pids) + 1, sizeof *w->pids);
        cJSON_ArrayForEach(pid, pids)
        {
            if (cJSON_IsNumber(pid))
                w->pids[w->n_pids++] = (int)pid->valuedouble;
        }
    }
    r->applied_now = tag_indexes(cb, get(j, "applied"), &r->n_applied_now);
    r->ledger_unknown = cJSON_IsTrue(get(j, "ledger_unknown"));
    p->n_applied = (size_t)get_num(j, "applied_before");
    /* The report keeps no ledger matches; when every migration is either applied or pending
     * they are the migrations not pending (the HTML matrix shows them), a modified one
     * keeping its problem's ledger row. */
    if (p->n_applied + p->n_pending == cb->n && p->n_applied > 0) {
        p->matches = pf_calloc(p->n_applied, sizeof *p->matches);
        for (size_t i = 0; i < cb->n; i++) {
            bool pending = false;
            for (size_t k = 0; k < p->n_pending && !pending; k++)
                pending = p->pending[k] == i;
            if (pending)
                continue;
            PlanMatch *pm = &p->matches[p->n_matches++];
            pm->migration = i;
            for (size_t k = 0; k < p->n_problems; k++)
                if (p->problems[k].kind == TARGET_MODIFIED && p->problems[k].tag &&
                    strcmp(p->problems[k].tag, cb->migrations[i].tag) == 0)
                    pm->ledger_id = p->problems[k].ledger_id;
        }
    }
    const cJSON *lock = get(j, "lock");
    const char *key = get_str(lock, "key");
    r->lock_key = key ? strtoll(key, NULL, 10) : 0;
    const cJSON *holder = get(lock, "holder");
    if (cJSON_IsObject(holder)) {
        r->has_holder = true;
        r->holder.pid = (int)get_num(holder, "pid");
        r->holder.application_name = dup_str(holder, "application_name");
        r->holder.client_addr = dup_str(holder, "client_addr");
        r->holder.user = dup_str(holder, "user");
        r->holder.session_age_s = (int64_t)get_num(holder, "session_age_s");
    }
    const cJSON *server = get(j, "server");
    if (cJSON_IsObject(server)) {
        r->identity.database = dup_str(server, "database");
        r->identity.user = dup_str(server, "user");
        r->identity.server_version = dup_str(server, "version");
        r->identity.system_identifier = dup_str(server, "system_identifier");
    }
    const cJSON *e = get(j, "error");
    if (cJSON_IsObject(e)) {
        r->error = dup_str(e, "message");
        if (get(e, "statement")) {
            r->has_failure = true;
            r->failure.tag = dup_str(e, "migration");
            r->failure.statement = (int)get_num(e, "statement");
            const char *state = get_str(e, "sqlstate");
            snprintf(r->failure.sqlstate, sizeof r->failure.sqlstate, "%s", state ? state : "");
            r->failure.message = dup_str(e, "server_message");
            r->failure.detail = dup_str(e, "detail");
            r->failure.hint = dup_str(e, "hint");
        }
    }
    r->connect_ms = (int64_t)get_num(timings, "connect_ms");
    r->tunnel_ms = (int64_t)get_num(timings, "tunnel_ms");
    r->total_ms = (int64_t)get_num(timings, "total_ms");
    r->round_trips = (int)get_num(j, "round_trips");
    const cJSON *check = get(j, "check");
    if (cJSON_IsObject(check)) {
        r->check_ran = true;
        r->check_passed = cJSON_IsTrue(get(check, "passed"));
    }
    r->drift = build_drift(cb, get(j, "drift"));
    build_backup(m, get(j, "backup"), r);
    /* plan --rollback: what would be undone, newest first (ledger rows are not in the report) */
    size_t n_rollback = 0;
    size_t *rollback = tag_indexes(cb, get(j, "rollback"), &n_rollback);
    if (n_rollback) {
        r->changes = pf_calloc(n_rollback, sizeof *r->changes);
        for (size_t i = 0; i < n_rollback; i++)
            r->changes[r->n_changes++].migration = rollback[i];
    }
    free(rollback);
}

static WaveState wave_state_of(const char *name)
{
    for (int s = WAVE_NOT_SELECTED; s <= WAVE_INTERRUPTED; s++)
        if (name && strcmp(fleet_wave_state_name((WaveState)s), name) == 0)
            return (WaveState)s;
    return WAVE_NOT_SELECTED;
}

static WaveConfirm wave_confirm_of(const char *name)
{
    for (int c = WAVE_CONFIRM_YES; c <= WAVE_CONFIRM_INTERRUPTED; c++)
        if (name && strcmp(fleet_wave_confirm_name((WaveConfirm)c), name) == 0)
            return (WaveConfirm)c;
    return WAVE_CONFIRM_NONE;
}

static bool target_failed(const TargetResult *r)
{
    return r->started && (r->status == TARGET_UNREACHABLE || r->outcome == OUTCOME_FAILED ||
                          r->outcome == OUTCOME_REFUSED || r->outcome == OUTCOME_INTERRUPTED);
}

/* Waves: the first report's list (every shard lists every wave of the inventory); per wave the
 * state the shards that ran it agree on (interrupted wins, then done), the earliest start, the
 * longest duration and pause, and failures and the halt over all of its targets, as one run
 * counts them (fleet_wave_tally). */
static void build_waves(ReportMerge *m)
{
    const cJSON *list = get(m->docs[0].root, "waves");
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return;
    FleetResult *fr = &m->result;
    size_t n = (size_t)cJSON_GetArraySize(list);
    m->waves = pf_calloc(n, sizeof *m->waves);
    fr->waves = pf_calloc(n, sizeof *fr->waves);
    const cJSON *wj;
    cJSON_ArrayForEach(wj, list)
    {
        InvWave *iw = &m->waves[m->n_waves];
        WaveResult *w = &fr->waves[m->n_waves];
        m->n_waves++;
        fr->n_waves++;
        iw->name = dup_str(wj, "name");
        if (!iw->name)
            iw->name = pf_strdup("");
        iw->parallel = (int)get_num(wj, "parallel");
        iw->max_failures_text = dup_str(wj, "max_failures");
        if (!iw->max_failures_text)
            iw->max_failures_text = pf_strdup("0");
        if (!inv_parse_max_failures(iw->max_failures_text, &iw->max_failures,
                                    &iw->max_failures_pct))
            iw->max_failures = 0;
        iw->pause_ms = (int64_t)get_num(wj, "pause_ms");
        iw->confirm = cJSON_IsTrue(get(wj, "confirm"));
        iw->check = dup_str(wj, "check");
        w->wave = iw;
        w->targets = pf_calloc(fr->n + 1, sizeof *w->targets);
        for (size_t i = 0; i < fr->n; i++)
            if (fr->targets[i].wave == NULL && get_str(m->items[i].json, "wave") &&
                strcmp(get_str(m->items[i].json, "wave"), iw->name) == 0) {
                fr->targets[i].wave = iw;
                w->targets[w->n++] = i;
            }
        bool done = false, interrupted = false, skipped = false, other_halt = false;
        for (size_t d = 0; d < m->n_docs; d++) {
            const cJSON *dw = NULL, *x;
            cJSON_ArrayForEach(x, get(m->docs[d].root, "waves"))
            {
                if (same_str(get_str(x, "name"), iw->name))
                    dw = x;
            }
            if (!dw)
                continue;
            WaveState s = wave_state_of(get_str(dw, "state"));
            done |= s == WAVE_DONE;
            interrupted |= s == WAVE_INTERRUPTED;
            skipped |= s == WAVE_SKIPPED;
            const char *started = get_str(dw, "started_at");
            if (started && (!w->started_at[0] || strcmp(started, w->started_at) < 0))
                snprintf(w->started_at, sizeof w->started_at, "%s", started);
            if ((int64_t)get_num(dw, "duration_ms") > w->duration_ms)
                w->duration_ms = (int64_t)get_num(dw, "duration_ms");
            if ((int64_t)get_num(dw, "paused_ms") > w->paused_ms)
                w->paused_ms = (int64_t)get_num(dw, "paused_ms");
            if (w->confirm == WAVE_CONFIRM_NONE)
                w->confirm = wave_confirm_of(get_str(dw, "confirmed"));
            /* A shard that halted for another reason than its failures (a plugin's veto, a
             * confirm answered no) keeps that halt and its reason. */
            if (cJSON_IsTrue(get(dw, "halted"))) {
                size_t shard_n = (size_t)cJSON_GetArraySize(get(dw, "targets"));
                if (get_num(dw, "failures") <= (double)inv_wave_allowed_failures(iw, shard_n) &&
                    !w->reason) {
                    other_halt = true;
                    w->reason = dup_str(dw, "reason");
                }
            } else if (!w->reason && get_str(dw, "reason") && s != WAVE_DONE) {
                w->reason = dup_str(dw, "reason");
            }
        }
        w->state = interrupted ? WAVE_INTERRUPTED
                   : done      ? WAVE_DONE
                   : skipped   ? WAVE_SKIPPED
                               : WAVE_NOT_SELECTED;
        w->allowed = inv_wave_allowed_failures(iw, w->n);
        for (size_t i = 0; i < w->n; i++)
            w->failures += target_failed(&fr->targets[w->targets[i]]);
        bool ran = w->state == WAVE_DONE || w->state == WAVE_INTERRUPTED;
        if (m->mode == FLEET_APPLY && ran && w->failures > w->allowed) {
            w->halted = true;
            free(w->reason);
            if (iw->max_failures_pct)
                w->reason =
                    pf_asprintf("wave %s halted the rollout: %zu failure%s > "
                                "max_failures %s (%zu of %zu target%s)",
                                iw->name, w->failures, w->failures == 1 ? "" : "s",
                                iw->max_failures_text, w->allowed, w->n, w->n == 1 ? "" : "s");
            else
                w->reason = pf_asprintf("wave %s halted the rollout: %zu failure%s > "
                                        "max_failures %s",
                                        iw->name, w->failures, w->failures == 1 ? "" : "s",
                                        iw->max_failures_text);
        } else {
            w->halted = other_halt;
        }
    }
}

PfErrCode report_merge_build(ReportMerge *m, const Codebase *cb, const FleetResult **out,
                             PfErr *err)
{
    *out = NULL;
    if (m->built)
        return pf_err_set(err, PF_ERR_INPUT, "the reports are merged already");
    const CbMigration *head = cb_head(cb);
    const cJSON *c = get(m->docs[0].root, "codebase");
    const cJSON *rh = get(c, "head");
    const char *want = cJSON_IsObject(rh) ? get_str(rh, "hash") : NULL;
    if (get_num(c, "migrations") != (double)cb->n || !same_str(want, head ? head->hash : NULL)) {
        char *ka = codebase_key(m->docs[0].root);
        bool bad = mismatch(m, err,
                            "%s: the reports were made with another codebase (%s) than this one "
                            "(%zu migrations, head %s)",
                            cb->dir, ka, cb->n, head ? head->hash : "(none)");
        free(ka);
        if (bad)
            return PF_ERR_INPUT;
    }
    m->built = true;
    FleetResult *fr = &m->result;
    fr->mode = m->mode;
    fr->n = m->n_items;
    fr->targets = pf_calloc(fr->n ? fr->n : 1, sizeof *fr->targets);
    m->targets = pf_calloc(fr->n ? fr->n : 1, sizeof *m->targets);
    for (size_t i = 0; i < fr->n; i++)
        build_target(m, cb, m->items[i].json, &m->targets[i], &fr->targets[i]);
    for (size_t d = 0; d < m->n_docs; d++) {
        const cJSON *root = m->docs[d].root;
        const char *started = get_str(root, "started_at");
        if (started && (!fr->started_at[0] || strcmp(started, fr->started_at) < 0))
            snprintf(fr->started_at, sizeof fr->started_at, "%s", started);
        if ((int64_t)get_num(root, "duration_ms") > fr->duration_ms)
            fr->duration_ms = (int64_t)get_num(root, "duration_ms");
        fr->connections += (size_t)get_num(root, "connections");
        fr->interrupted |= cJSON_IsTrue(get(root, "interrupted"));
        const cJSON *pe;
        cJSON_ArrayForEach(pe, get(root, "plugin_errors"))
        {
            if (!cJSON_IsString(pe))
                continue;
            fr->plugin_errors = pf_realloc(fr->plugin_errors,
                                           (fr->n_plugin_errors + 1) * sizeof *fr->plugin_errors);
            fr->plugin_errors[fr->n_plugin_errors++] = pf_strdup(pe->valuestring);
        }
    }
    build_waves(m);
    *out = fr;
    return PF_OK;
}
