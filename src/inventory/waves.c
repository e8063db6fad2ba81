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
#include "core/strset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct WaveLoader {
    InvDoc *d;
    Inventory *inv;
    PfStrSet names; /* the waves' names, for duplicates */
} WaveLoader;

/* A scalar value (a whole value, or an item of a sequence), ${VAR}-expanded and not empty;
 * *out is the caller's. */
static PfErrCode scalar(WaveLoader *W, const InvKey *k, const InvNode *n, char **out)
{
    *out = NULL;
    bool null;
    if (inv_value_null(W->d, k, n, &null) != PF_OK)
        return PF_ERR_INPUT;
    PfErr e;
    char *v = inv_expand_each(inv_text(n), NULL, 0, false, &e);
    if (!v)
        return inv_fail(W->d, n, "%s", e.msg);
    if (!*v) {
        free(v);
        return inv_fail(W->d, n, "%s must not be empty (after expansion)", k->name);
    }
    if (inv_charge(W->d, n, strlen(v)) != PF_OK) {
        free(v);
        return PF_ERR_INPUT;
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
static PfErrCode select_item(WaveLoader *W, const InvKey *k, const InvNode *n, InvWave *w)
{
    char *s;
    if (scalar(W, k, n, &s) != PF_OK)
        return PF_ERR_INPUT;
    if (strcmp(s, "all") == 0) {
        free(s);
        w->select_all = true;
        return PF_OK;
    }
    /* Parsed against no target: only its syntax is checked here, whatever the fleet's size. */
    static const Inventory none = {0};
    const char *one[] = {s};
    size_t *idx, n_idx;
    PfErr e;
    if (inv_select(&none, NULL, 0, one, 1, &idx, &n_idx, &e) != PF_OK) {
        inv_fail(W->d, n,
                 "%s; hint: select takes label selectors as -s does (env=prod,region!=eu), or "
                 "all",
                 e.msg);
        free(s);
        return PF_ERR_INPUT;
    }
    free(idx);
    push(&w->selectors, &w->n_selectors, s);
    return PF_OK;
}

static PfErrCode glob_item(WaveLoader *W, const InvKey *k, const InvNode *n, InvWave *w)
{
    char *s;
    if (scalar(W, k, n, &s) != PF_OK)
        return PF_ERR_INPUT;
    push(&w->globs, &w->n_globs, s);
    return PF_OK;
}

/* select and targets: one string or a sequence of them (shapes already checked). */
static PfErrCode each_item(WaveLoader *W, const InvKey *k, const InvNode *n, InvWave *w,
                           PfErrCode (*one)(WaveLoader *, const InvKey *, const InvNode *,
                                            InvWave *))
{
    if (n->type != YAML_SEQUENCE_NODE)
        return one(W, k, n, w);
    for (InvNodeItem *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        if (one(W, k, inv_node(W->d, *i), w) != PF_OK)
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
static PfErrCode wave_setting(WaveLoader *W, InvWave *w, const char *key, const InvNode *val)
{
    const InvKey *k = inv_key(INV_AT_WAVE, key);
    if (inv_value_check(W->d, k, val) != PF_OK)
        return PF_ERR_INPUT;
    if (strcmp(key, "select") == 0)
        return each_item(W, k, val, w, select_item);
    if (strcmp(key, "targets") == 0)
        return each_item(W, k, val, w, glob_item);
    char *v;
    InvValue x;
    if (scalar(W, k, val, &v) != PF_OK)
        return PF_ERR_INPUT;
    if (inv_value_parse(W->d, k, val, v, &x) != PF_OK) {
        free(v);
        return PF_ERR_INPUT;
    }
    PfErrCode rc = PF_OK;
    if (strcmp(key, "name") == 0) {
        if (name_ok(v)) {
            w->name = v;
            v = NULL;
        } else {
            rc = inv_fail(W->d, val,
                          "bad wave name '%s': use letters, digits, '-', '_' and '.' (it is "
                          "named by --wave and in reports)",
                          v);
        }
    } else if (strcmp(key, "parallel") == 0) {
        w->parallel = (int)x.n;
    } else if (strcmp(key, "max_failures") == 0) {
        w->max_failures = x.n;
        w->max_failures_pct = x.pct;
        free(w->max_failures_text);
        w->max_failures_text = v;
        v = NULL;
    } else if (strcmp(key, "pause") == 0) {
        w->pause_ms = x.n;
    } else if (strcmp(key, "confirm") == 0) {
        w->confirm = x.n != 0;
    } else { /* check */
        w->check = v;
        v = NULL;
    }
    free(v);
    return rc;
}

static PfErrCode load_wave(WaveLoader *W, const InvNode *map)
{
    if (map->type != YAML_MAPPING_NODE)
        return inv_fail(W->d, map, "each wave must be a mapping, not %s", inv_kind(map));
    if (inv_keys_check(W->d, map, INV_AT_WAVE, "in wave") != PF_OK ||
        inv_keys_required(W->d, map, INV_AT_WAVE, "in wave") != PF_OK)
        return PF_ERR_INPUT;
    const InvNode *name = inv_map_get(W->d, map, "name");
    const InvNode *sel = inv_map_get(W->d, map, "select");
    const InvNode *globs = inv_map_get(W->d, map, "targets");
    InvWave w = {0};
    w.line = (int)map->start_mark.line + 1;
    w.column = (int)map->start_mark.column + 1;
    w.max_failures_text = pf_strdup("0");
    PfErrCode rc = PF_OK;
    for (InvNodePair *p = map->data.mapping.pairs.start;
         rc == PF_OK && p < map->data.mapping.pairs.top; p++)
        rc = wave_setting(W, &w, inv_text(inv_node(W->d, p->key)), inv_node(W->d, p->value));
    if (rc == PF_OK && !sel && !globs)
        rc = inv_fail(W->d, map,
                      "wave '%s' selects no target; hint: add select (label selectors, or all) "
                      "and/or targets (name globs)",
                      w.name);
    if (rc == PF_OK && w.select_all && (w.n_selectors > 0 || globs))
        rc = inv_fail(W->d, sel,
                      "select: all takes every remaining target: it cannot be combined with "
                      "other selectors or with targets");
    size_t first;
    if (rc == PF_OK && !pf_strset_add(&W->names, w.name, W->inv->n_waves, &first))
        rc = inv_fail(W->d, name, "duplicate wave name '%s' (first at line %d)", w.name,
                      W->inv->waves[first].line);
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
static PfErrCode assign(WaveLoader *W, const InvNode *waves)
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
            return inv_fail_at(W->d, w->line, w->column, "%s", e.msg);
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
        return inv_fail_at(W->d, t->line, t->column,
                           "target '%s' is in no wave; hint: select it in one of the waves (line "
                           "%d), or end them with a wave that has select: all",
                           t->name, (int)waves->start_mark.line + 1);
    }
    return PF_OK;
}

PfErrCode inv_waves_load(InvDoc *d, const InvNode *waves, Inventory *inv)
{
    WaveLoader W = {d, inv, {0}};
    bool present = waves->type != YAML_SCALAR_NODE;
    if (inv_value_check(d, inv_key(INV_AT_TOP, "waves"), waves) != PF_OK)
        return PF_ERR_INPUT;
    if (!present)
        return PF_OK;
    PfErrCode rc = PF_OK;
    for (InvNodeItem *i = waves->data.sequence.items.start;
         rc == PF_OK && i < waves->data.sequence.items.top; i++) {
        d->entry = inv_node(d, *i);
        rc = load_wave(&W, d->entry);
    }
    d->entry = NULL;
    pf_strset_free(&W.names);
    if (rc != PF_OK)
        return PF_ERR_INPUT;
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
