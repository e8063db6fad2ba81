/*
 * Snapshots of a catalog and their comparison (see drift.h). An object is keyed by (schema,
 * kind, name); two snapshots are walked side by side in that order, so a comparison is linear
 * once both are sorted.
 */
#include "plan/drift.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void drift_snapshot_add(DriftSnapshot *s, const char *kind, const char *schema, const char *name,
                        const char *relation, const char *def)
{
    s->objs = pf_realloc(s->objs, (s->n + 1) * sizeof *s->objs);
    s->objs[s->n++] =
        (DriftObject){pf_strdup(kind), pf_strdup(schema ? schema : ""), pf_strdup(name ? name : ""),
                      pf_strdup(relation), pf_strdup(def ? def : "")};
}

static int key_cmp(const DriftObject *a, const DriftObject *b)
{
    int c = strcmp(a->schema, b->schema);
    if (c == 0)
        c = strcmp(a->kind, b->kind);
    if (c == 0)
        c = strcmp(a->name, b->name);
    return c;
}

static int obj_cmp(const void *a, const void *b)
{
    return key_cmp(a, b);
}

void drift_snapshot_sort(DriftSnapshot *s)
{
    if (s->n > 1)
        qsort(s->objs, s->n, sizeof *s->objs, obj_cmp);
}

static void obj_free(DriftObject *o)
{
    free(o->kind);
    free(o->schema);
    free(o->name);
    free(o->relation);
    free(o->def);
}

void drift_snapshot_clear(DriftSnapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        obj_free(&s->objs[i]);
    free(s->objs);
    s->objs = NULL;
    s->n = 0;
}

void drift_snapshot_map(const DriftSnapshot *in, const char *const *from, const char *const *to,
                        size_t n, DriftSnapshot *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < in->n; i++) {
        const DriftObject *o = &in->objs[i];
        const char *schema = o->schema;
        for (size_t k = 0; k < n; k++)
            if (strcmp(schema, from[k]) == 0) {
                schema = to[k];
                break;
            }
        drift_snapshot_add(out, o->kind, schema, o->name, o->relation, o->def);
    }
    drift_snapshot_sort(out);
}

static bool listed(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

void drift_snapshot_keep(DriftSnapshot *s, const char *const *keep, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!s->objs[i].schema[0] || listed(s->objs[i].schema, keep, n))
            s->objs[w++] = s->objs[i];
        else
            obj_free(&s->objs[i]);
    }
    s->n = w;
}

/* The first object of in (sorted) whose schema is not before schema. */
static size_t schema_start(const DriftSnapshot *in, const char *schema)
{
    size_t lo = 0, hi = in->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(in->objs[mid].schema, schema) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void drift_snapshot_slice(const DriftSnapshot *in, const char *const *schemas, size_t n,
                          DriftSnapshot *out)
{
    memset(out, 0, sizeof *out);
    const char **names = pf_calloc(n + 1, sizeof *names);
    names[0] = "";
    memcpy(names + 1, schemas, n * sizeof *names);
    qsort(names, n + 1, sizeof *names, str_cmp); /* "" first; ranges then come in order */
    for (size_t k = 0; k <= n; k++) {
        if (k > 0 && strcmp(names[k], names[k - 1]) == 0)
            continue;
        for (size_t i = schema_start(in, names[k]);
             i < in->n && strcmp(in->objs[i].schema, names[k]) == 0; i++) {
            const DriftObject *o = &in->objs[i];
            drift_snapshot_add(out, o->kind, o->schema, o->name, o->relation, o->def);
        }
    }
    free(names);
}

const char **drift_snapshot_schemas(const DriftSnapshot *s, size_t *n)
{
    const char **out = pf_calloc(s->n ? s->n : 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->objs[i].kind, "schema") == 0)
            out[(*n)++] = s->objs[i].schema;
    return out;
}

static char *display(const DriftObject *o)
{
    if (strcmp(o->kind, "schema") == 0)
        return pf_asprintf("schema %s", o->schema);
    if (strcmp(o->kind, "grant") == 0 && !o->relation)
        return pf_asprintf("grant on schema %s %s", o->schema, o->name);
    if (strcmp(o->kind, "grant") == 0)
        return pf_asprintf("grant on %s.%s", o->schema, o->name);
    if (!o->schema[0])
        return pf_asprintf("%s %s", o->kind, o->name);
    return pf_asprintf("%s %s.%s", o->kind, o->schema, o->name);
}

static bool is_relation(const char *kind)
{
    return strcmp(kind, "table") == 0 || strcmp(kind, "view") == 0 ||
           strcmp(kind, "materialized view") == 0 || strcmp(kind, "foreign table") == 0;
}

/* Schemas and relations that are only on one side: what they hold is not listed again. */
typedef struct Gone {
    const DriftObject **objs;
    size_t n;
} Gone;

static bool covered(const Gone *g, const DriftObject *o)
{
    for (size_t i = 0; i < g->n; i++) {
        const DriftObject *p = g->objs[i];
        if (p == o || strcmp(p->schema, o->schema) != 0)
            continue;
        if (strcmp(p->kind, "schema") == 0)
            return true;
        if (o->relation && strcmp(p->name, o->relation) == 0)
            return true;
    }
    return false;
}

typedef struct Walk {
    const DriftSnapshot *e, *a;
    size_t i, j;
} Walk;

/* The next step of the side-by-side walk: *x (expected) and/or *y (actual), NULL when the
 * object is on the other side only. False at the end. */
static bool walk_next(Walk *w, const DriftObject **x, const DriftObject **y)
{
    *x = w->i < w->e->n ? &w->e->objs[w->i] : NULL;
    *y = w->j < w->a->n ? &w->a->objs[w->j] : NULL;
    if (!*x && !*y)
        return false;
    int c = !*x ? 1 : !*y ? -1 : key_cmp(*x, *y);
    if (c < 0) {
        *y = NULL;
        w->i++;
    } else if (c > 0) {
        *x = NULL;
        w->j++;
    } else {
        w->i++;
        w->j++;
    }
    return true;
}

void drift_compare(const DriftSnapshot *expected, const DriftSnapshot *actual, char ***lines,
                   size_t *n)
{
    Gone gone = {pf_calloc(expected->n + actual->n + 1, sizeof *gone.objs), 0};
    Walk w = {expected, actual, 0, 0};
    const DriftObject *x, *y;
    while (walk_next(&w, &x, &y)) {
        const DriftObject *only = x && !y ? x : y && !x ? y : NULL;
        if (only && (strcmp(only->kind, "schema") == 0 || is_relation(only->kind)))
            gone.objs[gone.n++] = only;
    }
    char **out = NULL;
    size_t count = 0;
    w = (Walk){expected, actual, 0, 0};
    while (walk_next(&w, &x, &y)) {
        char *line = NULL;
        if (x && y) {
            if (strcmp(x->def, y->def) != 0) {
                char *d = display(x);
                line = pf_asprintf("~ %s: %s -> %s", d, x->def[0] ? x->def : "(nothing)",
                                   y->def[0] ? y->def : "(nothing)");
                free(d);
            }
        } else {
            const DriftObject *o = x ? x : y;
            if (!covered(&gone, o)) {
                char *d = display(o);
                line = pf_asprintf("%c %s", x ? '-' : '+', d);
                free(d);
            }
        }
        if (line) {
            out = pf_realloc(out, (count + 1) * sizeof *out);
            out[count++] = line;
        }
    }
    free(gone.objs);
    *lines = out;
    *n = count;
}

void drift_lines_free(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}
