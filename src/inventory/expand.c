/*
 * Variable expansion in inventory strings: ${VAR} and ${VAR:-default} from the environment,
 * ${each} / ${each.KEY} from a for_each item, and $$ for a literal '$'. One pass: substituted
 * values are never expanded again. A default is itself expanded, and only when it is used.
 */
#include "inventory/inv_internal.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* Offset of the '}' closing the reference whose text starts at s (just after "${"), counting
 * nested "${...}" in a default and skipping "$$"; -1 when there is none. */
static long find_close(const char *s)
{
    int depth = 0;
    for (const char *p = s; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            p++;
        } else if (p[0] == '$' && p[1] == '{') {
            depth++;
            p++;
        } else if (*p == '}') {
            if (depth == 0)
                return (long)(p - s);
            depth--;
        }
    }
    return -1;
}

static bool is_env_name(const char *name)
{
    if (!(*name == '_' || (*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z')))
        return false;
    for (const char *p = name + 1; *p; p++) {
        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    }
    return true;
}

/* Value of ${each} (key NULL) or ${each.KEY}; NULL with err set when not bound. */
static const char *each_value(const char *ref, const char *key, const InvLabel *each, size_t n_each,
                              bool in_for_each, PfErr *err)
{
    if (!in_for_each) {
        pf_err_set(err, PF_ERR_INPUT,
                   "${%s} is not available here (only in a target entry with for_each)", ref);
        return NULL;
    }
    bool scalar_item = n_each == 1 && each[0].key[0] == '\0';
    if (!key) {
        if (scalar_item)
            return each[0].value;
        pf_err_set(err, PF_ERR_INPUT,
                   "${each} is not bound: this for_each item is a mapping; use ${each.KEY}");
        return NULL;
    }
    if (scalar_item) {
        pf_err_set(err, PF_ERR_INPUT,
                   "${%s} is not bound: this for_each item is a scalar; use ${each}", ref);
        return NULL;
    }
    for (size_t i = 0; i < n_each; i++) {
        if (strcmp(each[i].key, key) == 0)
            return each[i].value;
    }
    pf_err_set(err, PF_ERR_INPUT, "${%s} is not bound: this for_each item has no key '%s'", ref,
               key);
    return NULL;
}

/* Expand one reference: inner is the text between "${" and its '}'. */
static bool expand_ref(PfBuf *out, const char *inner, const InvLabel *each, size_t n_each,
                       bool in_for_each, PfErr *err)
{
    const char *colon = strchr(inner, ':');
    size_t name_len = colon ? (size_t)(colon - inner) : strlen(inner);
    const char *dflt = NULL;
    if (colon) {
        if (colon[1] != '-') {
            pf_err_set(err, PF_ERR_INPUT,
                       "bad reference '${%s}': expected ${NAME}, ${NAME:-default}, ${each} or "
                       "${each.KEY}",
                       inner);
            return false;
        }
        dflt = colon + 2;
    }
    char *name = pf_strndup(inner, name_len);
    const char *val;
    bool ok = true;
    bool is_each = strcmp(name, "each") == 0 || strncmp(name, "each.", 5) == 0;
    if (is_each && strcmp(name, "each.") == 0) {
        pf_err_set(err, PF_ERR_INPUT, "bad reference '${%s}': empty key after 'each.'", inner);
        free(name);
        return false;
    }
    if (is_each) {
        const char *key = name[4] == '.' ? name + 5 : NULL;
        PfErr unbound;
        val = each_value(name, key, each, n_each, in_for_each, &unbound);
        /* A default covers a missing key of a mapping item, never a missing for_each. */
        if (!val && !(dflt && in_for_each)) {
            if (err)
                *err = unbound;
            ok = false;
        }
    } else if (is_env_name(name)) {
        val = getenv(name);
        if (!val && !dflt) {
            pf_err_set(err, PF_ERR_INPUT, "environment variable %s is not set (and has no default)",
                       name);
            ok = false;
        }
    } else {
        pf_err_set(err, PF_ERR_INPUT,
                   "bad reference '${%s}': expected ${NAME}, ${NAME:-default}, ${each} or "
                   "${each.KEY}",
                   inner);
        ok = false;
    }
    free(name);
    if (!ok)
        return false;
    if (val && (*val || !dflt)) {
        pf_buf_puts(out, val);
        return true;
    }
    char *d = inv_expand_each(dflt, each, n_each, in_for_each, err);
    if (!d)
        return false;
    pf_buf_puts(out, d);
    free(d);
    return true;
}

char *inv_expand_each(const char *s, const InvLabel *each, size_t n_each, bool in_for_each,
                      PfErr *err)
{
    PfBuf out = PF_BUF_INIT;
    const char *p = s;
    while (*p) {
        if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
            pf_buf_putc(&out, *p++);
            continue;
        }
        if (p[1] == '$') {
            pf_buf_putc(&out, '$');
            p += 2;
            continue;
        }
        long close = find_close(p + 2);
        if (close < 0) {
            pf_err_set(err, PF_ERR_INPUT, "unterminated '${' (no closing '}')");
            pf_buf_free(&out);
            return NULL;
        }
        char *inner = pf_strndup(p + 2, (size_t)close);
        bool ok = expand_ref(&out, inner, each, n_each, in_for_each, err);
        free(inner);
        if (!ok) {
            pf_buf_free(&out);
            return NULL;
        }
        p += 2 + close + 1;
    }
    return pf_buf_take(&out);
}

char *inv_expand(const char *s, const InvLabel *each, size_t n_each, PfErr *err)
{
    return inv_expand_each(s, each, n_each, n_each > 0, err);
}
