/*
 * The masking property (dsn_check.h): a copy of libpq's dsn parser that notes where the
 * passwords are written, the twin dsn, and the checks.
 *
 * FUZZ_DSN_DEBUG=1 in the environment prints every dsn the copy of the parser reads otherwise
 * than libpq, every twin libpq reads otherwise, and counts at exit: how far the checks reach.
 */
#include "dsn_check.h"

#include "core/buf.h"
#include "core/util.h"
#include "inventory/inventory.h"
#include "pg/dsn.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "****"
#define MAX_SPANS 64
#define MAX_OPTS 128

typedef struct Span {
    size_t start, end;
} Span;

typedef struct Opt {
    char *key;
    char *val;
} Opt;

/* The dsn as the copy of libpq's parser reads it. */
typedef struct Reading {
    Opt opts[MAX_OPTS];
    size_t n;
    Span spans[MAX_SPANS]; /* where password and sslpassword values are written */
    size_t n_spans;
    bool uri;
    bool overflow; /* too many spans to note: the dsn is not checked */
} Reading;

static struct {
    unsigned long seen, accepted, agreed, twins, twin_misread, checked_a, a_explained_by_twin;
    bool debug, registered;
} stats;

static void print_stats(void)
{
    fprintf(stderr,
            "dsn_check: %lu dsns, %lu accepted by libpq, %lu read alike by the copy, "
            "%lu twins compared, %lu twins read otherwise, %lu passwords found in the masked "
            "text (%lu of them public text, by the twin)\n",
            stats.seen, stats.accepted, stats.agreed, stats.twins, stats.twin_misread,
            stats.checked_a, stats.a_explained_by_twin);
}

static bool is_secret(const char *key)
{
    return strcmp(key, "password") == 0 || strcmp(key, "sslpassword") == 0;
}

/* libpq's conninfo_uri_decode: NULL where it refuses (a bad escape, or %00). */
static char *uri_decode(const char *s, size_t len)
{
    PfBuf b = PF_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            pf_buf_putc(&b, s[i]);
            continue;
        }
        int hi = i + 1 < len ? pf_hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < len ? pf_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            pf_buf_free(&b);
            return NULL;
        }
        pf_buf_putc(&b, (char)(hi * 16 + lo));
        i += 2;
    }
    return pf_buf_take(&b);
}

static void reading_free(Reading *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->opts[i].key);
        free(r->opts[i].val);
    }
    r->n = 0;
}

/* libpq's conninfo_storeval: the value of key s[0..len) (decoded first when decode), written
 * at span. False where libpq refuses. */
static bool store(Reading *r, const char *key, const char *val, size_t len, bool decode, Span span)
{
    char *v = decode ? uri_decode(val, len) : strndup(val, len);
    if (!v)
        return false;
    if (strcmp(key, "requiressl") == 0) {
        /* libpq looks at the value as written, before decoding it. */
        bool one = len > 0 && val[0] == '1';
        free(v);
        v = strdup(one ? "require" : "prefer");
        key = "sslmode";
    }
    if (!pg_dsn_keyword(key)) {
        free(v);
        return false;
    }
    if (is_secret(key)) {
        if (r->n_spans == MAX_SPANS)
            r->overflow = true;
        else
            r->spans[r->n_spans++] = span;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->opts[i].key, key) == 0) {
            free(r->opts[i].val);
            r->opts[i].val = v;
            return true;
        }
    }
    if (r->n == MAX_OPTS) {
        free(v);
        r->overflow = true;
        return true;
    }
    r->opts[r->n].key = strdup(key);
    r->opts[r->n++].val = v;
    return true;
}

/* conninfo_parse: key = value pairs, values bare or quoted, with backslash escapes. */
static bool read_kv(const char *d, Reading *r)
{
    const char *p = d;
    while (*p) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *key = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t key_len = (size_t)(p - key);
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '=')
            return false;
        p++;
        while (isspace((unsigned char)*p))
            p++;
        PfBuf val = PF_BUF_INIT;
        Span span;
        if (*p != '\'') {
            span.start = (size_t)(p - d);
            while (*p && !isspace((unsigned char)*p)) {
                if (*p == '\\') {
                    p++;
                    if (*p)
                        pf_buf_putc(&val, *p++);
                } else {
                    pf_buf_putc(&val, *p++);
                }
            }
            span.end = (size_t)(p - d);
            if (*p)
                p++;
        } else {
            p++;
            span.start = (size_t)(p - d);
            for (;;) {
                if (!*p) {
                    pf_buf_free(&val);
                    return false;
                }
                if (*p == '\\') {
                    p++;
                    if (*p)
                        pf_buf_putc(&val, *p++);
                    continue;
                }
                if (*p == '\'')
                    break;
                pf_buf_putc(&val, *p++);
            }
            span.end = (size_t)(p - d);
            p++;
        }
        char *k = strndup(key, key_len);
        char *v = pf_buf_take(&val);
        bool ok = store(r, k, v, strlen(v), false, span);
        free(k);
        free(v);
        if (!ok)
            return false;
    }
    return true;
}

/* conninfo_uri_parse_params: key=value&... after the '?' at d[at]. */
static bool read_query(const char *d, size_t at, Reading *r)
{
    const char *p = d + at;
    while (*p) {
        const char *key = p, *eq = NULL;
        for (;;) {
            if (*p == '=') {
                if (eq)
                    return false;
                eq = p++;
            } else if (*p == '&' || *p == '\0') {
                if (!eq)
                    return false;
                break;
            } else {
                p++;
            }
        }
        char *k = uri_decode(key, (size_t)(eq - key));
        char *v = k ? uri_decode(eq + 1, (size_t)(p - eq - 1)) : NULL;
        bool ok = k && v;
        if (ok) {
            Span span = {(size_t)(eq + 1 - d), (size_t)(p - d)};
            if (strcmp(k, "ssl") == 0 && strcmp(v, "true") == 0)
                ok = store(r, "sslmode", "require", 7, false, span);
            else
                ok = store(r, k, v, strlen(v), false, span);
        }
        free(k);
        free(v);
        if (!ok)
            return false;
        if (*p)
            p++;
    }
    return true;
}

/* conninfo_uri_parse_options, after the prefix of prefix bytes. */
static bool read_uri(const char *d, size_t prefix, Reading *r)
{
    r->uri = true;
    const char *start = d + prefix, *p = start;
    while (*p && *p != '@' && *p != '/')
        p++;
    if (*p == '@') {
        const char *user = start;
        p = user;
        while (*p != ':' && *p != '@')
            p++;
        Span us = {(size_t)(user - d), (size_t)(p - d)};
        if (p > user && !store(r, "user", user, (size_t)(p - user), true, us))
            return false;
        if (*p == ':') {
            const char *pw = ++p;
            while (*p != '@')
                p++;
            Span ps = {(size_t)(pw - d), (size_t)(p - d)};
            if (p > pw && !store(r, "password", pw, (size_t)(p - pw), true, ps))
                return false;
        }
        p++;
    } else {
        p = start;
    }
    PfBuf hosts = PF_BUF_INIT, ports = PF_BUF_INIT;
    char prev;
    bool ok = false;
    for (;;) {
        const char *host;
        size_t host_len;
        if (*p == '[') {
            host = ++p;
            while (*p && *p != ']')
                p++;
            if (!*p || p == host)
                goto out;
            host_len = (size_t)(p - host);
            p++;
            if (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
                goto out;
        } else {
            host = p;
            while (*p && *p != ':' && *p != '/' && *p != '?' && *p != ',')
                p++;
            host_len = (size_t)(p - host);
        }
        prev = *p;
        pf_buf_append(&hosts, host, host_len);
        if (prev == ':') {
            const char *port = ++p;
            while (*p && *p != '/' && *p != '?' && *p != ',')
                p++;
            prev = *p;
            pf_buf_append(&ports, port, (size_t)(p - port));
        }
        if (prev != ',')
            break;
        p++;
        pf_buf_putc(&hosts, ',');
        pf_buf_putc(&ports, ',');
    }
    Span none = {0, 0};
    if (hosts.len && !store(r, "host", hosts.data, hosts.len, true, none))
        goto out;
    if (ports.len && !store(r, "port", ports.data, ports.len, true, none))
        goto out;
    if (prev && prev != '?') {
        const char *db = ++p;
        while (*p && *p != '?')
            p++;
        prev = *p;
        if (p > db && !store(r, "dbname", db, (size_t)(p - db), true, none))
            goto out;
    }
    ok = !prev || read_query(d, (size_t)(p + 1 - d), r);
out:
    pf_buf_free(&hosts);
    pf_buf_free(&ports);
    return ok;
}

static bool read_dsn(const char *d, Reading *r)
{
    memset(r, 0, sizeof *r);
    if (strncmp(d, "postgresql://", 13) == 0)
        return read_uri(d, 13, r);
    if (strncmp(d, "postgres://", 11) == 0)
        return read_uri(d, 11, r);
    return read_kv(d, r);
}

/* Whether the copy read what libpq read. */
static bool same_reading(const Reading *r, const PgDsnOption *o, size_t n)
{
    if (r->overflow || r->n != n)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        const char *v = pg_dsn_option(o, n, r->opts[i].key);
        if (!v || strcmp(v, r->opts[i].val) != 0)
            return false;
    }
    return true;
}

static char rotate(char c)
{
    if (c >= 'a' && c <= 'z')
        return (char)('a' + (c - 'a' + 13) % 26);
    if (c >= 'A' && c <= 'Z')
        return (char)('A' + (c - 'A' + 13) % 26);
    if (c >= '0' && c <= '9')
        return (char)('0' + (c - '0' + 5) % 10);
    return c;
}

/* The dsn with every letter and digit of each written password rotated (not the two hex
 * digits after a '%' in a URL). */
static char *twin_of(const char *d, const Reading *r)
{
    char *t = strdup(d);
    for (size_t s = 0; s < r->n_spans; s++) {
        for (size_t i = r->spans[s].start; i < r->spans[s].end; i++) {
            if (r->uri && d[i] == '%')
                i += 2;
            else
                t[i] = rotate(d[i]);
        }
    }
    return t;
}

/* Whether libpq reads twin as o but for the passwords. */
static bool twin_reads_alike(const char *twin, const PgDsnOption *o, size_t n)
{
    PgDsnOption *t;
    size_t tn;
    if (!pg_dsn_options(twin, &t, &tn))
        return false;
    bool alike = tn == n;
    for (size_t i = 0; i < n && alike; i++) {
        const char *v = pg_dsn_option(t, tn, o[i].keyword);
        alike = v && (is_secret(o[i].keyword) || strcmp(v, o[i].value) == 0);
    }
    pg_dsn_options_free(t, tn);
    return alike;
}

static bool has_alnum(const char *s)
{
    for (; *s; s++)
        if (isalnum((unsigned char)*s))
            return true;
    return false;
}

static int by_start(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool in_span(const char *text, size_t from, size_t to, const char *p)
{
    size_t len = strlen(p);
    for (size_t i = from; i + len <= to; i++)
        if (memcmp(text + i, p, len) == 0)
            return true;
    return false;
}

static bool is_conninfo(const char *v)
{
    return strncasecmp(v, "postgresql://", 13) == 0 || strncasecmp(v, "postgres://", 11) == 0 ||
           strchr(v, '=');
}

/* Whether p, found in the masked text, is text that is not secret (property 2). */
static bool public_text(const char *d, Reading *r, const PgDsnOption *o, size_t n, const char *p)
{
    qsort(r->spans, r->n_spans, sizeof *r->spans, by_start);
    size_t from = 0;
    for (size_t s = 0; s <= r->n_spans; s++) {
        size_t to = s < r->n_spans ? r->spans[s].start : strlen(d);
        if (to > from && in_span(d, from, to, p))
            return true;
        if (s < r->n_spans && r->spans[s].end > from)
            from = r->spans[s].end;
    }
    PfBuf rebuilt = PF_BUF_INIT;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        const char *k = o[i].keyword, *v = o[i].value;
        pf_buf_printf(&rebuilt, "%s%s=", i ? " " : "", k);
        if (is_secret(k)) {
            pf_buf_puts(&rebuilt, MASK);
            continue;
        }
        found = strstr(v, p) != NULL;
        if (strcmp(k, "dbname") == 0 && is_conninfo(v)) {
            /* The masker hides the passwords of a dbname that is a connection string. */
            char *nested = inv_mask_dsn(v);
            found = found || strstr(nested, p);
            pg_dsn_put_value(&rebuilt, nested);
            free(nested);
        } else {
            pg_dsn_put_value(&rebuilt, v);
        }
    }
    found = found || (rebuilt.data && strstr(rebuilt.data, p));
    pf_buf_free(&rebuilt);
    return found;
}

static void violation(const char *what, const char *dsn, const char *label, const char *out,
                      const char *twin, const char *twin_masked, const char *secret)
{
    fprintf(stderr, "\n==== dsn masking: %s\n", what);
    fprintf(stderr, "  dsn:          \"%s\"\n", dsn);
    fprintf(stderr, "  %-13s \"%s\"\n", label, out);
    if (twin) {
        fprintf(stderr, "  twin dsn:     \"%s\"\n", twin);
        fprintf(stderr, "  twin masked:  \"%s\"\n", twin_masked);
    }
    if (secret)
        fprintf(stderr, "  password:     \"%s\"\n", secret);
    abort();
}

/* Property 3: each secret inv_dsn_secrets knows is scrubbed from a line of its own. */
static void check_scrub(const char *dsn)
{
    size_t n;
    char **secrets = inv_dsn_secrets(dsn, &n);
    for (size_t i = 0; i < n; i++) {
        const char *s = secrets[i];
        if (strlen(s) >= 3 && !strchr(s, '*') && s[strspn(s, " \t\n\v\f\r")]) {
            PfBuf text = PF_BUF_INIT;
            pf_buf_printf(&text, "\n%s\n", s);
            char *out = inv_dsn_scrub(text.data, dsn);
            if (strstr(out, s))
                violation("inv_dsn_scrub left a secret that inv_dsn_secrets names", dsn,
                          "scrubbed:", out, NULL, NULL, s);
            free(out);
            pf_buf_free(&text);
        }
        free(secrets[i]);
    }
    free(secrets);
}

void fz_check_dsn(const char *dsn)
{
    static int depth; /* a dbname that is a connection string is checked on its own too */
    if (!stats.registered) {
        stats.registered = true;
        const char *dbg = getenv("FUZZ_DSN_DEBUG");
        stats.debug = dbg && *dbg && strcmp(dbg, "0") != 0;
        if (stats.debug)
            atexit(print_stats);
    }
    stats.seen++;
    char *masked = inv_mask_dsn(dsn);
    free(inv_dsn_scrub(dsn, dsn));
    free(inv_dsn_scrub(masked, dsn));
    check_scrub(dsn);

    PgDsnOption *o;
    size_t n;
    if (!pg_dsn_options(dsn, &o, &n)) {
        free(masked);
        return;
    }
    stats.accepted++;
    Reading r;
    bool read = read_dsn(dsn, &r);
    if (!read || !same_reading(&r, o, n)) {
        if (stats.debug)
            fprintf(stderr, "dsn_check: the copy of libpq's parser reads otherwise: \"%s\"\n", dsn);
        goto out;
    }
    stats.agreed++;
    const char *db = pg_dsn_option(o, n, "dbname");
    if (db && is_conninfo(db) && depth < 4) {
        depth++;
        fz_check_dsn(db);
        depth--;
    }

    /* Property 1: the twin masks alike. */
    char *twin = twin_of(dsn, &r);
    bool twin_ok = strcmp(twin, dsn) != 0 && twin_reads_alike(twin, o, n);
    char *twin_masked = NULL;
    if (twin_ok) {
        stats.twins++;
        twin_masked = inv_mask_dsn(twin);
        if (strcmp(masked, twin_masked) != 0)
            violation("the masked text depends on the password", dsn, "masked:", masked, twin,
                      twin_masked, pg_dsn_option(o, n, "password"));
    } else if (strcmp(twin, dsn) != 0) {
        stats.twin_misread++;
        if (stats.debug)
            fprintf(stderr, "dsn_check: libpq reads the twin otherwise: \"%s\" -> \"%s\"\n", dsn,
                    twin);
    }

    /* Property 2: a password in the masked text is text that is not secret. */
    for (size_t i = 0; i < n; i++) {
        const char *p = o[i].value;
        if (!is_secret(o[i].keyword) || strlen(p) < 3 || strchr(p, '*') || !strstr(masked, p))
            continue;
        stats.checked_a++;
        if (public_text(dsn, &r, o, n, p))
            continue;
        if (twin_ok && has_alnum(p)) {
            /* The twin masks alike, so this is text the password does not decide. */
            stats.a_explained_by_twin++;
            if (stats.debug)
                fprintf(stderr, "dsn_check: \"%s\" in \"%s\" is explained by the twin only\n", p,
                        masked);
            continue;
        }
        violation("the masked text shows the password", dsn, "masked:", masked,
                  twin_ok ? twin : NULL, twin_masked, p);
    }
    free(twin);
    free(twin_masked);
out:
    reading_free(&r);
    pg_dsn_options_free(o, n);
    free(masked);
}
