/*
 * Password masking for printing a dsn. Both libpq forms are handled the way libpq itself
 * splits them, so that whatever libpq would take as the password is what gets hidden:
 *   URL:        postgres[ql]://user:SECRET@host/db?password=SECRET&sslpassword=SECRET
 *   key=value:  host=a password=SECRET sslpassword='SE \' CRET'
 * In key=value form a dbname that is itself a connection string is masked too. Key names are
 * compared case-insensitively (stricter than libpq, never looser). Nothing else is changed.
 */
#include "inventory/inventory.h"

#include "core/buf.h"
#include "core/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "****"

/* Where the maskers record what they hid (NULL when only masking). */
typedef struct Secrets {
    char **items;
    size_t n, cap;
} Secrets;

static void secret_add(Secrets *sec, const char *s, size_t len)
{
    if (!sec || len == 0)
        return;
    PF_GROW(sec->items, sec->cap, sec->n + 1);
    sec->items[sec->n++] = pf_strndup(s, len);
}

/* The secret as written and, when it differs, percent-decoded. */
static void secret_add_uri(Secrets *sec, const char *s, size_t len);

static char *mask_any(const char *dsn, Secrets *sec);

static bool is_secret_key(const char *key, size_t len)
{
    return (len == 8 && strncasecmp(key, "password", 8) == 0) ||
           (len == 11 && strncasecmp(key, "sslpassword", 11) == 0);
}

static size_t uri_prefix_len(const char *s)
{
    if (strncasecmp(s, "postgresql://", 13) == 0)
        return 13;
    if (strncasecmp(s, "postgres://", 11) == 0)
        return 11;
    return 0;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Is the percent-encoded query key s[0..len) a secret key once decoded? */
static bool is_secret_query_key(const char *s, size_t len)
{
    char key[32];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (n + 1 >= sizeof key)
            return false;
        if (s[i] == '%' && i + 2 < len && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
            key[n++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else {
            key[n++] = s[i];
        }
    }
    return is_secret_key(key, n);
}

static char *mask_uri(const char *dsn, size_t prefix, Secrets *sec)
{
    PfBuf out = PF_BUF_INIT;
    const char *auth = dsn + prefix;
    size_t auth_len = strcspn(auth, "/?");
    pf_buf_append(&out, dsn, prefix);

    /* userinfo ends at the last '@' of the authority; the password follows its first ':'. */
    const char *at = NULL;
    for (const char *p = auth; p < auth + auth_len; p++) {
        if (*p == '@')
            at = p;
    }
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        pf_buf_append(&out, auth, (size_t)(colon - auth) + 1);
        pf_buf_puts(&out, MASK);
        secret_add_uri(sec, colon + 1, (size_t)(at - colon - 1));
        pf_buf_append(&out, at, (size_t)(auth + auth_len - at));
    } else {
        pf_buf_append(&out, auth, auth_len);
    }

    const char *rest = auth + auth_len;
    const char *q = strchr(rest, '?');
    if (!q) {
        pf_buf_puts(&out, rest);
        return pf_buf_take(&out);
    }
    pf_buf_append(&out, rest, (size_t)(q - rest) + 1);
    const char *p = q + 1;
    for (;;) {
        size_t plen = strcspn(p, "&");
        const char *eq = memchr(p, '=', plen);
        if (eq && is_secret_query_key(p, (size_t)(eq - p))) {
            pf_buf_append(&out, p, (size_t)(eq - p) + 1);
            pf_buf_puts(&out, MASK);
            secret_add_uri(sec, eq + 1, plen - (size_t)(eq - p) - 1);
        } else {
            pf_buf_append(&out, p, plen);
        }
        if (p[plen] == '\0')
            break;
        pf_buf_putc(&out, '&');
        p += plen + 1;
    }
    return pf_buf_take(&out);
}

/* Scan one key=value value starting at p as libpq does; decoded text into val (may be NULL).
 * Returns the position just after the value (and after its closing quote). */
static const char *scan_kv_value(const char *p, PfBuf *val)
{
    if (*p != '\'') {
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '\\' && p[1])
                p++;
            if (val)
                pf_buf_putc(val, *p);
            p++;
        }
        return p;
    }
    p++;
    while (*p && *p != '\'') {
        if (*p == '\\' && p[1])
            p++;
        if (val)
            pf_buf_putc(val, *p);
        p++;
    }
    return *p ? p + 1 : p;
}

static void put_quoted(PfBuf *out, const char *s)
{
    pf_buf_putc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            pf_buf_putc(out, '\\');
        pf_buf_putc(out, *s);
    }
    pf_buf_putc(out, '\'');
}

static char *mask_kv(const char *dsn, Secrets *sec)
{
    PfBuf out = PF_BUF_INIT;
    const char *p = dsn;
    bool after_secret = false; /* the previous value was a password */
    while (*p) {
        if (isspace((unsigned char)*p)) {
            pf_buf_putc(&out, *p++);
            continue;
        }
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t key_len = (size_t)(p - key);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=') {
            /* Malformed (libpq refuses it): keep the rest, unless it may hold a secret, as
             * when an unquoted password with a space was substituted ("password=se cret"). */
            if (after_secret) {
                pf_buf_puts(&out, MASK);
                secret_add(sec, key, strlen(key));
            } else if (is_secret_key(key, key_len)) {
                pf_buf_append(&out, key, (size_t)(p - key));
                pf_buf_puts(&out, MASK);
                secret_add(sec, p, strlen(p));
            } else {
                pf_buf_puts(&out, key);
            }
            return pf_buf_take(&out);
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        pf_buf_append(&out, key, (size_t)(p - key));
        const char *val_start = p;
        after_secret = is_secret_key(key, key_len);
        if (after_secret) {
            PfBuf val = PF_BUF_INIT;
            p = scan_kv_value(p, &val);
            pf_buf_puts(&out, MASK);
            secret_add(sec, val_start, (size_t)(p - val_start));
            secret_add(sec, val.data ? val.data : "", val.len);
            pf_buf_free(&val);
        } else if (key_len == 6 && strncasecmp(key, "dbname", 6) == 0) {
            PfBuf val = PF_BUF_INIT;
            p = scan_kv_value(p, &val);
            char *v = pf_buf_take(&val);
            char *masked = mask_any(v, sec);
            if (strcmp(masked, v) != 0 && (uri_prefix_len(v) || strchr(v, '=')))
                put_quoted(&out, masked);
            else
                pf_buf_append(&out, val_start, (size_t)(p - val_start));
            free(masked);
            free(v);
        } else {
            p = scan_kv_value(p, NULL);
            pf_buf_append(&out, val_start, (size_t)(p - val_start));
        }
    }
    return pf_buf_take(&out);
}

static void secret_add_uri(Secrets *sec, const char *s, size_t len)
{
    if (!sec)
        return;
    secret_add(sec, s, len);
    PfBuf dec = PF_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
            pf_buf_putc(&dec, (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2])));
            i += 2;
        } else {
            pf_buf_putc(&dec, s[i]);
        }
    }
    if (dec.len != len)
        secret_add(sec, dec.data, dec.len);
    pf_buf_free(&dec);
}

static char *mask_any(const char *dsn, Secrets *sec)
{
    size_t prefix = uri_prefix_len(dsn);
    return prefix ? mask_uri(dsn, prefix, sec) : mask_kv(dsn, sec);
}

char *inv_mask_dsn(const char *dsn)
{
    return dsn ? mask_any(dsn, NULL) : NULL;
}

char **inv_dsn_secrets(const char *dsn, size_t *n)
{
    Secrets sec = {NULL, 0, 0};
    if (dsn)
        free(mask_any(dsn, &sec));
    *n = sec.n;
    return sec.items;
}
