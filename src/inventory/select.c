/*
 * Target selection: name globs (any may match) and label selectors "key=value" /
 * "key!=value" (all must hold; values are globs). The pseudo-label "name" is the target name.
 * Selectors are parsed up front, so a malformed one fails even when no target is loaded.
 */
#include "inventory/inventory.h"

#include "core/mem.h"
#include "core/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct Selector {
    char *key;
    char *value; /* a glob */
    bool negate;
} Selector;

static char *trimmed_dup(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return pf_strndup(s, len);
}

static void free_selectors(Selector *sel, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(sel[i].key);
        free(sel[i].value);
    }
    free(sel);
}

/* Parse one comma-free part (already trimmed) into sel. */
static bool parse_part(const char *part, Selector *sel)
{
    const char *eq = strchr(part, '=');
    if (!eq)
        return false;
    bool negate = eq > part && eq[-1] == '!';
    const char *key_end = negate ? eq - 1 : eq;
    char *key = trimmed_dup(part, (size_t)(key_end - part));
    if (!*key) {
        free(key);
        return false;
    }
    sel->key = key;
    sel->value = trimmed_dup(eq + 1, strlen(eq + 1));
    sel->negate = negate;
    return true;
}

static PfErrCode parse_selectors(const char *const *selectors, size_t n_selectors, Selector **out,
                                 size_t *n_out, PfErr *err)
{
    Selector *sel = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < n_selectors; i++) {
        const char *p = selectors[i];
        for (;;) {
            size_t len = strcspn(p, ",");
            char *part = trimmed_dup(p, len);
            PF_GROW(sel, cap, n + 1);
            if (!parse_part(part, &sel[n])) {
                pf_err_set(err, PF_ERR_INPUT, "bad selector '%s': expected key=value or key!=value",
                           part);
                free(part);
                free_selectors(sel, n);
                return PF_ERR_INPUT;
            }
            free(part);
            n++;
            if (p[len] == '\0')
                break;
            p += len + 1;
        }
    }
    *out = sel;
    *n_out = n;
    return PF_OK;
}

static bool selector_holds(const Selector *s, const InvTarget *t)
{
    const char *v = strcmp(s->key, "name") == 0 ? t->name : inv_label(t, s->key);
    if (!v)
        return s->negate;
    bool match = pf_glob_match(s->value, v);
    return s->negate ? !match : match;
}

PfErrCode inv_select(const Inventory *inv, const char *const *globs, size_t n_globs,
                     const char *const *selectors, size_t n_selectors, size_t **idx, size_t *n_idx,
                     PfErr *err)
{
    *idx = NULL;
    *n_idx = 0;
    Selector *sel;
    size_t n_sel;
    if (parse_selectors(selectors, n_selectors, &sel, &n_sel, err) != PF_OK)
        return PF_ERR_INPUT;
    size_t *out = pf_malloc((inv->n ? inv->n : 1) * sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < inv->n; i++) {
        const InvTarget *t = &inv->targets[i];
        bool ok = n_globs == 0;
        for (size_t g = 0; g < n_globs && !ok; g++)
            ok = pf_glob_match(globs[g], t->name);
        for (size_t s = 0; s < n_sel && ok; s++)
            ok = selector_holds(&sel[s], t);
        if (ok)
            out[n++] = i;
    }
    free_selectors(sel, n_sel);
    *idx = out;
    *n_idx = n;
    return PF_OK;
}

const char *inv_label(const InvTarget *t, const char *key)
{
    for (size_t i = 0; i < t->n_labels; i++) {
        if (strcmp(t->labels[i].key, key) == 0)
            return t->labels[i].value;
    }
    return NULL;
}
