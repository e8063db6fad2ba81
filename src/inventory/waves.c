/*
 * Waves: the top-level `waves` list, an ordered rolling apply (docs/waves.md). They are loaded
 * after the targets because a wave chooses among them: each target belongs to the first wave
 * whose `select` (label selectors, as -s) and `targets` (name globs, as -t) choose it, and a
 * target that no wave chooses is an error. Also here: max_failures arithmetic and the
 * --wave / --from-wave choice of waves.
 */
#include "inventory/inv_internal.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARALLEL 100000

static const char *const WAVE_KEYS[] = {"name",  "select",  "targets", "parallel", "max_failures",
                                        "pause", "confirm", "check",   NULL};

typedef struct WaveLoader {
    const char *path;
    yaml_document_t *doc;
    Inventory *inv;
    PfErr *err;
} WaveLoader;

static PfErrCode fail(WaveLoader *W, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static PfErrCode fail(WaveLoader *W, const yaml_node_t *n, const char *fmt, ...)
{
    char what[sizeof W->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pf_err_set(W->err, PF_ERR_INPUT, "%s:%d:%d: %s", W->path, (int)n->start_mark.line + 1,
                      (int)n->start_mark.column + 1, what);
}

static yaml_node_t *node(WaveLoader *W, int index)
{
    return yaml_document_get_node(W->doc, index);
}

static const char *text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static const char *kind(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE     ? "a scalar"
           : n->type == YAML_SEQUENCE_NODE ? "a sequence"
           : n->type == YAML_MAPPING_NODE  ? "a mapping"
                                           : "nothing";
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = text(n);
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

/* Edit distance between two short words, for "did you mean" (99 when either is long). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Keys must be known strings, each given once. */
static PfErrCode check_wave_keys(WaveLoader *W, const yaml_node_t *map)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = node(W, p->key);
        if (key->type != YAML_SCALAR_NODE)
            return fail(W, key, "keys must be strings, not %s", kind(key));
        bool known = false;
        const char *best = NULL;
        size_t best_d = 3;
        PfBuf expected = PF_BUF_INIT;
        for (const char *const *k = WAVE_KEYS; *k; k++) {
            known = known || strcmp(*k, text(key)) == 0;
            pf_buf_printf(&expected, "%s%s", k == WAVE_KEYS ? "" : ", ", *k);
            size_t d = distance(text(key), *k);
            if (d < best_d) {
                best_d = d;
                best = *k;
            }
        }
        if (!known) {
            if (strcmp(text(key), "<<") == 0)
                fail(W, key, "merge keys ('<<') are not supported; use defaults or anchors");
            else if (best)
                fail(W, key,
                     "unknown key '%s' in wave; expected one of: %s; hint: did you mean '%s'?",
                     text(key), expected.data, best);
            else
                fail(W, key, "unknown key '%s' in wave; expected one of: %s", text(key),
                     expected.data);
        }
        pf_buf_free(&expected);
        if (!known)
            return PF_ERR_INPUT;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = node(W, q->key);
            if (strcmp(text(prev), text(key)) == 0)
                return fail(W, key, "duplicate key '%s' (first at line %d)", text(key),
                            (int)prev->start_mark.line + 1);
        }
    }
    return PF_OK;
}

/* A scalar value, ${VAR}-expanded and not empty; *out is the caller's. */
static PfErrCode scalar(WaveLoader *W, const yaml_node_t *n, const char *what, const char *noun,
                        char **out)
{
    *out = NULL;
    if (n->type != YAML_SCALAR_NODE)
        return fail(W, n, "%s must be %s, not %s", what, noun, kind(n));
    if (strlen(text(n)) != n->data.scalar.length)
        return fail(W, n, "%s must not contain NUL characters", what);
    if (is_null(n))
        return fail(W, n, "missing value for %s", what);
    PfErr e;
    char *v = inv_expand_each(text(n), NULL, 0, false, &e);
    if (!v)
        return fail(W, n, "%s", e.msg);
    if (!*v) {
        free(v);
        return fail(W, n, "%s must not be empty (after expansion)", what);
    }
    *out = v;
    return PF_OK;
}

static void push(char ***list, size_t *n, char *s)
{
    *list = pf_realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = s;
}

/* One `select` item: "all", or selectors as -s takes them (checked here, with a position). */
static PfErrCode select_item(WaveLoader *W, const yaml_node_t *n, InvWave *w)
{
    char *s;
    if (scalar(W, n, "select", "a string or a sequence of strings", &s) != PF_OK)
        return PF_ERR_INPUT;
    if (strcmp(s, "all") == 0) {
        free(s);
        w->select_all = true;
        return PF_OK;
    }
    const char *one[] = {s};
    size_t *idx, n_idx;
    PfErr e;
    if (inv_select(W->inv, NULL, 0, one, 1, &idx, &n_idx, &e) != PF_OK) {
        fail(W, n,
             "%s; hint: select takes label selectors as -s does (env=prod,region!=eu), or all",
             e.msg);
        free(s);
        return PF_ERR_INPUT;
    }
    free(idx);
    push(&w->selectors, &w->n_selectors, s);
    return PF_OK;
}

static PfErrCode glob_item(WaveLoader *W, const yaml_node_t *n, InvWave *w)
{
    char *s;
    if (scalar(W, n, "targets", "a string or a sequence of strings", &s) != PF_OK)
        return PF_ERR_INPUT;
    push(&w->globs, &w->n_globs, s);
    return PF_OK;
}

/* select and targets: one string or a sequence of them. */
static PfErrCode each_item(WaveLoader *W, const yaml_node_t *n, const char *what, InvWave *w,
                           PfErrCode (*one)(WaveLoader *, const yaml_node_t *, InvWave *))
{
    if (n->type != YAML_SEQUENCE_NODE)
        return one(W, n, w);
    if (n->data.sequence.items.top == n->data.sequence.items.start)
        return fail(W, n, "%s must not be empty", what);
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        if (one(W, node(W, *i), w) != PF_OK)
            return PF_ERR_INPUT;
    }
    return PF_OK;
}

static bool name_ok(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return false;
    }
    return true;
}

/* Digits, an optional fraction, an optional unit: the inventory's duration syntax. */
static bool parse_duration(const char *s, int64_t *ms)
{
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    double v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        for (double scale = 0.1; *p >= '0' && *p <= '9'; scale /= 10)
            v += (*p++ - '0') * scale;
    }
    double unit = !*p || strcmp(p, "s") == 0                     ? 1000
                  : strcmp(p, "ms") == 0                         ? 1
                  : strcmp(p, "m") == 0 || strcmp(p, "min") == 0 ? 60000
                  : strcmp(p, "h") == 0                          ? 3600000
                                                                 : -1;
    if (unit < 0 || v * unit > 9.0e15)
        return false;
    *ms = (int64_t)(v * unit + 0.5);
    return true;
}

bool inv_parse_max_failures(const char *s, int64_t *value, bool *pct)
{
    const char *p = s;
    int64_t whole = 0, frac = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 1000000000)
            return false;
    }
    if (!*p) {
        *value = whole;
        *pct = false;
        return true;
    }
    if (*p == '.') {
        p++;
        int digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 2; p++, digits++)
            frac = frac * 10 + (*p - '0');
        if (digits == 0)
            return false;
        if (digits == 1)
            frac *= 10;
    }
    if (strcmp(p, "%") != 0 || whole * 100 + frac > 10000)
        return false;
    *value = whole * 100 + frac;
    *pct = true;
    return true;
}

size_t inv_wave_allowed_failures(const InvWave *w, size_t n)
{
    if (!w->max_failures_pct)
        return (size_t)w->max_failures;
    return (size_t)(((uint64_t)n * (uint64_t)w->max_failures) / 10000u);
}

static void wave_free(InvWave *w)
{
    free(w->name);
    for (size_t i = 0; i < w->n_selectors; i++)
        free(w->selectors[i]);
    free(w->selectors);
    for (size_t i = 0; i < w->n_globs; i++)
        free(w->globs[i]);
    free(w->globs);
    free(w->max_failures_text);
    free(w->check);
    free(w->targets);
    memset(w, 0, sizeof *w);
}

void inv_waves_free(Inventory *inv)
{
    for (size_t i = 0; i < inv->n_waves; i++)
        wave_free(&inv->waves[i]);
    free(inv->waves);
    free(inv->wave_of);
    inv->waves = NULL;
    inv->wave_of = NULL;
    inv->n_waves = 0;
}

/* One key of a wave's mapping. */
static PfErrCode wave_setting(WaveLoader *W, InvWave *w, const char *key, const yaml_node_t *val)
{
    if (strcmp(key, "select") == 0)
        return each_item(W, val, "select", w, select_item);
    if (strcmp(key, "targets") == 0)
        return each_item(W, val, "targets", w, glob_item);
    const char *noun = strcmp(key, "parallel") == 0       ? "a number"
                       : strcmp(key, "max_failures") == 0 ? "a count or a percentage"
                       : strcmp(key, "pause") == 0        ? "a duration"
                       : strcmp(key, "confirm") == 0      ? "true or false"
                                                          : "a string";
    char *v;
    if (scalar(W, val, key, noun, &v) != PF_OK)
        return PF_ERR_INPUT;
    PfErrCode rc = PF_OK;
    if (strcmp(key, "name") == 0) {
        if (name_ok(v)) {
            w->name = v;
            v = NULL;
        } else {
            rc = fail(W, val,
                      "bad wave name '%s': use letters, digits, '-', '_' and '.' (it is named by "
                      "--wave and in reports)",
                      v);
        }
    } else if (strcmp(key, "parallel") == 0) {
        char *end;
        long n = strtol(v, &end, 10);
        if (v[0] >= '0' && v[0] <= '9' && !*end && n >= 1 && n <= MAX_PARALLEL)
            w->parallel = (int)n;
        else
            rc = fail(W, val, "bad parallel '%s'; expected a number of targets from 1 to %d", v,
                      MAX_PARALLEL);
    } else if (strcmp(key, "max_failures") == 0) {
        if (inv_parse_max_failures(v, &w->max_failures, &w->max_failures_pct)) {
            free(w->max_failures_text);
            w->max_failures_text = v;
            v = NULL;
        } else {
            rc = fail(W, val,
                      "bad max_failures '%s'; expected a count of targets (0, 3) or a percentage "
                      "of the wave from 0%% to 100%% (10%%, 2.5%%)",
                      v);
        }
    } else if (strcmp(key, "pause") == 0) {
        if (!parse_duration(v, &w->pause_ms))
            rc = fail(W, val,
                      "bad duration '%s' for pause; expected e.g. 30s, 500ms, 2m, 1h or a number "
                      "of seconds (0 = none)",
                      v);
    } else if (strcmp(key, "confirm") == 0) {
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            w->confirm = strcmp(v, "true") == 0;
        else
            rc = fail(W, val, "bad confirm '%s'; expected true or false", v);
    } else { /* check */
        w->check = v;
        v = NULL;
    }
    free(v);
    return rc;
}

static const yaml_node_t *map_get(WaveLoader *W, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        if (strcmp(text(node(W, p->key)), key) == 0)
            return node(W, p->value);
    }
    return NULL;
}

static PfErrCode load_wave(WaveLoader *W, const yaml_node_t *map)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail(W, map, "each wave must be a mapping, not %s", kind(map));
    if (check_wave_keys(W, map) != PF_OK)
        return PF_ERR_INPUT;
    const yaml_node_t *name = map_get(W, map, "name");
    const yaml_node_t *sel = map_get(W, map, "select");
    const yaml_node_t *globs = map_get(W, map, "targets");
    if (!name)
        return fail(W, map, "missing key 'name' in wave");
    InvWave w = {0};
    w.line = (int)map->start_mark.line + 1;
    w.column = (int)map->start_mark.column + 1;
    w.max_failures_text = pf_strdup("0");
    PfErrCode rc = PF_OK;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         rc == PF_OK && p < map->data.mapping.pairs.top; p++)
        rc = wave_setting(W, &w, text(node(W, p->key)), node(W, p->value));
    if (rc == PF_OK && !sel && !globs)
        rc = fail(W, map,
                  "wave '%s' selects no target; hint: add select (label selectors, or all) "
                  "and/or targets (name globs)",
                  w.name);
    if (rc == PF_OK && w.select_all && (w.n_selectors > 0 || globs))
        rc = fail(W, sel,
                  "select: all takes every remaining target: it cannot be combined with "
                  "other selectors or with targets");
    for (size_t i = 0; rc == PF_OK && i < W->inv->n_waves; i++) {
        if (strcmp(W->inv->waves[i].name, w.name) == 0)
            rc = fail(W, name, "duplicate wave name '%s' (first at line %d)", w.name,
                      W->inv->waves[i].line);
    }
    if (rc != PF_OK) {
        wave_free(&w);
        return PF_ERR_INPUT;
    }
    Inventory *inv = W->inv;
    inv->waves = pf_realloc(inv->waves, (inv->n_waves + 1) * sizeof *inv->waves);
    inv->waves[inv->n_waves++] = w;
    return PF_OK;
}

/* Give every target to the first wave that selects it; every target must have one. */
static PfErrCode assign(WaveLoader *W, const yaml_node_t *waves)
{
    Inventory *inv = W->inv;
    inv->wave_of = pf_malloc((inv->n ? inv->n : 1) * sizeof *inv->wave_of);
    for (size_t i = 0; i < inv->n; i++)
        inv->wave_of[i] = SIZE_MAX;
    for (size_t wi = 0; wi < inv->n_waves; wi++) {
        InvWave *w = &inv->waves[wi];
        size_t *idx, n_idx;
        PfErr e;
        if (inv_select(inv, (const char *const *)w->globs, w->n_globs,
                       (const char *const *)w->selectors, w->n_selectors, &idx, &n_idx,
                       &e) != PF_OK)
            return pf_err_set(W->err, PF_ERR_INPUT, "%s:%d:%d: %s", W->path, w->line, w->column,
                              e.msg);
        w->targets = pf_malloc((n_idx ? n_idx : 1) * sizeof *w->targets);
        for (size_t k = 0; k < n_idx; k++) {
            if (inv->wave_of[idx[k]] == SIZE_MAX) {
                inv->wave_of[idx[k]] = wi;
                w->targets[w->n_targets++] = idx[k];
            }
        }
        free(idx);
    }
    for (size_t i = 0; i < inv->n; i++) {
        if (inv->wave_of[i] != SIZE_MAX)
            continue;
        const InvTarget *t = &inv->targets[i];
        return pf_err_set(W->err, PF_ERR_INPUT,
                          "%s:%d:%d: target '%s' is in no wave; hint: select it in one of the "
                          "waves (line %d), or end them with a wave that has select: all",
                          W->path, t->line, t->column, t->name, (int)waves->start_mark.line + 1);
    }
    return PF_OK;
}

PfErrCode inv_waves_load(const char *path, yaml_document_t *doc, const yaml_node_t *waves,
                         Inventory *inv, PfErr *err)
{
    WaveLoader W = {path, doc, inv, err};
    if (is_null(waves))
        return PF_OK;
    if (waves->type != YAML_SEQUENCE_NODE)
        return fail(&W, waves, "waves must be a sequence, not %s", kind(waves));
    for (yaml_node_item_t *i = waves->data.sequence.items.start; i < waves->data.sequence.items.top;
         i++) {
        if (load_wave(&W, node(&W, *i)) != PF_OK)
            return PF_ERR_INPUT;
    }
    if (inv->n_waves == 0)
        return PF_OK; /* waves: [] is no waves: one implicit wave */
    return assign(&W, waves);
}

const InvWave *inv_wave(const Inventory *inv, const char *name)
{
    for (size_t i = 0; name && i < inv->n_waves; i++) {
        if (strcmp(inv->waves[i].name, name) == 0)
            return &inv->waves[i];
    }
    return NULL;
}

static PfErrCode unknown_wave(const Inventory *inv, const char *option, const char *name,
                              PfErr *err)
{
    PfBuf names = PF_BUF_INIT;
    for (size_t i = 0; i < inv->n_waves; i++)
        pf_buf_printf(&names, "%s%s", i ? ", " : "", inv->waves[i].name);
    pf_err_set(err, PF_ERR_INPUT, "%s: unknown wave '%s' in %s; expected one of: %s", inv->path,
               name, option, names.data);
    pf_buf_free(&names);
    return PF_ERR_INPUT;
}

PfErrCode inv_waves_select(const Inventory *inv, const char *only, const char *from, size_t *idx,
                           size_t *n_idx, size_t *first, size_t *end, PfErr *err)
{
    *first = *end = 0;
    if (only && from)
        return pf_err_set(err, PF_ERR_INPUT,
                          "--wave and --from-wave cannot be combined: --wave runs one wave, "
                          "--from-wave that wave and the ones after it");
    const char *name = only ? only : from;
    const char *option = only ? "--wave" : "--from-wave";
    if (inv->n_waves == 0) {
        if (name)
            return pf_err_set(err, PF_ERR_INPUT,
                              "%s: %s %s: the inventory defines no waves; hint: see docs/waves.md",
                              inv->path, option, name);
        return PF_OK;
    }
    *end = inv->n_waves;
    if (name) {
        const InvWave *w = inv_wave(inv, name);
        if (!w)
            return unknown_wave(inv, option, name, err);
        *first = (size_t)(w - inv->waves);
        if (only)
            *end = *first + 1;
    }
    size_t *kept = pf_malloc((*n_idx ? *n_idx : 1) * sizeof *kept);
    size_t n = 0;
    for (size_t wi = *first; wi < *end; wi++) {
        for (size_t i = 0; i < *n_idx; i++)
            if (inv->wave_of[idx[i]] == wi)
                kept[n++] = idx[i];
    }
    memcpy(idx, kept, n * sizeof *kept);
    *n_idx = n;
    free(kept);
    return PF_OK;
}
