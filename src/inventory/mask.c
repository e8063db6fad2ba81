/*
 * Password masking for printing a dsn, and scrubbing a dsn's password out of messages.
 *
 * The password is what libpq says it is: the dsn is read by libpq's own parser
 * (pg_dsn_options), and its text is scanned the way that parser splits it to find where the
 * password is written:
 *   URL:        postgres[ql]://user:SECRET@host/db?password=SECRET&sslpassword=SECRET
 *   key=value:  host=a password=SECRET sslpassword='SE \' CRET'
 * The masked text must then read, to libpq, as the dsn did but for the passwords.
 *
 * Where the dsn was likely mistyped, more is hidden. A URL that libpq rejects, or reads with an
 * '@' that it does not take as the end of the userinfo (an unencoded '/' or '@' in a password
 * moves libpq's split), a port that is not a number or a host holding an '@', shows nothing
 * between the user's ':' and the last '@', nor any query value from the first password key on.
 * A key=value string that libpq rejects hides what follows a password value when that cannot
 * be a new option (an unquoted password with a space). If the scan and libpq still disagree,
 * the dsn is shown as libpq read it, as key=value pairs with the passwords hidden.
 *
 * Key names are compared case-insensitively (stricter than libpq, never looser), and a dbname
 * that is itself a connection string is masked too (libpq and the server quote a dbname).
 * Scrubbing replaces the whole tokens of a message that are a password (as written, as decoded,
 * and, where the dsn was likely mistyped, each piece libpq may have cut it into), never the
 * letters of ordinary words that happen to occur in one.
 */
#include "inventory/inventory.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/util.h"
#include "pg/dsn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "****"
#define MAX_NESTING 4 /* a dbname holding a connection string holding a dbname ... */
#define MIN_PIECE 3   /* shorter pieces of a password are everyday words: not scrubbed */

/* Where libpq cuts a URL that has a password in the wrong place, and a key=value string. */
static const char URI_DELIMS[] = "@/?:,&=[]";
static const char KV_DELIMS[] = " \t\n\v\f\r='\\";

typedef struct Strings {
    char **items;
    size_t n, cap;
} Strings;

/* What masking hid: each password as written and as libpq decodes it, and the pieces of a
 * password in a likely mistyped dsn. */
typedef struct Found {
    Strings secrets;
    Strings pieces;
} Found;

static char *mask_any(const char *dsn, Found *f, int depth);

static void strings_add(Strings *s, const char *p, size_t len)
{
    if (len == 0)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (strlen(s->items[i]) == len && memcmp(s->items[i], p, len) == 0)
            return;
    }
    PF_GROW(s->items, s->cap, s->n + 1);
    s->items[s->n++] = pf_strndup(p, len);
}

static bool strings_has(const Strings *s, const char *p)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->items[i], p) == 0)
            return true;
    }
    return false;
}

static void strings_free(Strings *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i]);
    free(s->items);
    *s = (Strings){NULL, 0, 0};
}

static void found_merge(Found *into, Found *from)
{
    for (size_t i = 0; i < from->secrets.n; i++)
        strings_add(&into->secrets, from->secrets.items[i], strlen(from->secrets.items[i]));
    for (size_t i = 0; i < from->pieces.n; i++)
        strings_add(&into->pieces, from->pieces.items[i], strlen(from->pieces.items[i]));
    strings_free(&from->secrets);
    strings_free(&from->pieces);
}

/* Percent-decode s[0..len) into out as libpq does; false where libpq refuses (a malformed
 * escape, or %00). */
static bool uri_decode(const char *s, size_t len, PfBuf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            pf_buf_putc(out, s[i]);
            continue;
        }
        if (i + 2 >= len)
            return false;
        int hi = pf_hex_digit(s[i + 1]), lo = pf_hex_digit(s[i + 2]);
        if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
            return false;
        pf_buf_putc(out, (char)(hi * 16 + lo));
        i += 2;
    }
    return true;
}

/* A password of a URL, as written and, when libpq can decode it, decoded. */
static void found_uri_secret(Found *f, const char *s, size_t len)
{
    strings_add(&f->secrets, s, len);
    PfBuf dec = PF_BUF_INIT;
    if (uri_decode(s, len, &dec))
        strings_add(&f->secrets, dec.data ? dec.data : "", dec.len);
    pf_buf_free(&dec);
}

/* A piece worth scrubbing: long enough not to be an everyday word, and not the name of a
 * connection option (libpq's messages name those). */
static void found_piece(Found *f, const char *s, size_t len)
{
    if (len < MIN_PIECE)
        return;
    char *piece = pf_strndup(s, len);
    if (!pg_dsn_keyword(piece))
        strings_add(&f->pieces, piece, len);
    free(piece);
}

/* The pieces libpq may cut s[0..len) into at delims (decoded too, in a URL). */
static void found_pieces(Found *f, const char *s, size_t len, const char *delims, bool uri)
{
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && !strchr(delims, s[j]))
            j++;
        found_piece(f, s + i, j - i);
        PfBuf dec = PF_BUF_INIT;
        if (uri && uri_decode(s + i, j - i, &dec) && dec.data)
            found_piece(f, dec.data, dec.len);
        pf_buf_free(&dec);
        i = j + 1;
    }
}

static bool is_secret_key(const char *key, size_t len)
{
    return (len == 8 && strncasecmp(key, "password", 8) == 0) ||
           (len == 11 && strncasecmp(key, "sslpassword", 11) == 0);
}

/* Is the percent-encoded query key s[0..len) a secret key once decoded? */
static bool is_secret_query_key(const char *s, size_t len)
{
    PfBuf key = PF_BUF_INIT;
    bool secret = len < 64 && uri_decode(s, len, &key) && key.data &&
                  is_secret_key(key.data, strlen(key.data));
    pf_buf_free(&key);
    return secret;
}

/* postgres:// or postgresql://, in any letter case (libpq wants lower case: a URL it does not
 * take as one is still masked as one). */
static size_t uri_prefix_len(const char *s)
{
    if (strncasecmp(s, "postgresql://", 13) == 0)
        return 13;
    if (strncasecmp(s, "postgres://", 11) == 0)
        return 11;
    return 0;
}

static bool uri_prefix_exact(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* What libpq would take for a connection string rather than a database name. */
static bool is_conninfo(const char *s)
{
    return uri_prefix_len(s) || strchr(s, '=');
}

/* A dbname value, masked when it is itself a connection string. Caller frees. */
static char *mask_dbname(const char *v, Found *f, int depth)
{
    return is_conninfo(v) ? mask_any(v, f, depth + 1) : pf_strdup(v);
}

/* ---- checking a masked dsn against libpq's reading -------------------------------------- */

/* Whether the secrets libpq reads in o are among those the scan hid. */
static bool secrets_hidden(const PgDsnOption *o, size_t n, const Found *f)
{
    const char *keys[] = {"password", "sslpassword"};
    for (size_t k = 0; k < 2; k++) {
        const char *v = pg_dsn_option(o, n, keys[k]);
        if (v && *v && !strings_has(&f->secrets, v))
            return false;
    }
    return true;
}

/* Whether masked reads, to libpq, as o does but for the passwords (now MASK) and a dbname
 * holding a connection string (now masked). */
static bool reads_as(const PgDsnOption *o, size_t n, const char *masked, int depth)
{
    PgDsnOption *m;
    size_t mn;
    if (!pg_dsn_options(masked, &m, &mn))
        return false;
    bool same = true;
    for (size_t i = 0; i < n && same; i++) {
        const char *k = o[i].keyword, *v = o[i].value;
        const char *mv = pg_dsn_option(m, mn, k);
        if (is_secret_key(k, strlen(k))) {
            same = mv ? strcmp(mv, MASK) == 0 : !*v;
        } else if (strcmp(k, "dbname") == 0) {
            Found scratch = {{NULL, 0, 0}, {NULL, 0, 0}};
            char *want = mask_dbname(v, &scratch, depth);
            same = mv && strcmp(mv, want) == 0;
            free(want);
            strings_free(&scratch.secrets);
            strings_free(&scratch.pieces);
        } else {
            same = mv && strcmp(mv, v) == 0;
        }
    }
    for (size_t i = 0; i < mn && same; i++) {
        const char *k = m[i].keyword;
        same = pg_dsn_option(o, n, k) || (is_secret_key(k, strlen(k)) && !strcmp(m[i].value, MASK));
    }
    pg_dsn_options_free(m, mn);
    return same;
}

/* The dsn as libpq read it, as key=value pairs, passwords hidden: for a dsn whose text could
 * not be masked in place with certainty. */
static char *mask_rebuilt(const PgDsnOption *o, size_t n, Found *f, int depth)
{
    PfBuf out = PF_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].keyword, *v = o[i].value;
        pf_buf_printf(&out, "%s%s=", i ? " " : "", k);
        if (is_secret_key(k, strlen(k))) {
            pf_buf_puts(&out, MASK);
            strings_add(&f->secrets, v, strlen(v));
        } else if (strcmp(k, "dbname") == 0) {
            char *masked = mask_dbname(v, f, depth);
            pg_dsn_put_value(&out, masked);
            free(masked);
        } else {
            pg_dsn_put_value(&out, v);
        }
    }
    return pf_buf_take(&out);
}

/* masked if libpq reads it as o but for the secrets and the scan (what it hid) caught every
 * secret libpq sees; else masked is freed and the dsn rebuilt from o. */
static char *checked(char *masked, const PgDsnOption *o, size_t n, Found *f, Found *scan, int depth)
{
    if (secrets_hidden(o, n, scan) && reads_as(o, n, masked, depth)) {
        found_merge(f, scan);
        return masked;
    }
    free(masked);
    found_merge(f, scan);
    return mask_rebuilt(o, n, f, depth);
}

/* ---- URLs --------------------------------------------------------------------------------- */

/* Where libpq's URL parser (conninfo_uri_parse_options) splits s, the text after the scheme:
 * the userinfo ends at the first '@' unless a '/' comes first; host[:port] pairs (IPv6 in
 * brackets) end at '/' or '?'; the database name runs to the '?' of the query. */
typedef struct UriSplit {
    const char *at;    /* the '@' ending the userinfo, or NULL */
    const char *query; /* the '?' starting the query, or NULL */
} UriSplit;

static UriSplit uri_split(const char *s)
{
    UriSplit u = {NULL, NULL};
    const char *p = s + strcspn(s, "@/");
    if (*p == '@')
        u.at = p++;
    else
        p = s;
    for (;;) {
        if (*p == '[') {
            p = strchr(p, ']');
            if (!p)
                return u; /* libpq rejects it */
            p++;
        } else {
            p += strcspn(p, ":/?,");
        }
        if (*p == ':')
            p += 1 + strcspn(p + 1, "/?,");
        if (*p != ',')
            break;
        p++;
    }
    if (*p == '/')
        p += strcspn(p, "?");
    if (*p == '?')
        u.query = p;
    return u;
}

/* Whether libpq's reading of the URL s (after the scheme) looks like what was meant: every '@'
 * is the userinfo's or inside the query, ports are numbers, hosts hold no '@'. */
static bool uri_plausible(const char *s, UriSplit u, const PgDsnOption *o, size_t n)
{
    const char *host = u.at ? u.at + 1 : s;
    const char *end = u.query ? u.query : s + strlen(s);
    if (memchr(host, '@', (size_t)(end - host)) || (!u.at && strchr(s, '@')))
        return false;
    const char *port = pg_dsn_option(o, n, "port");
    if (port && port[strspn(port, "0123456789,")])
        return false;
    const char *keys[] = {"host", "hostaddr"};
    for (size_t k = 0; k < 2; k++) {
        const char *h = pg_dsn_option(o, n, keys[k]);
        if (h && strchr(h, '@'))
            return false;
    }
    return true;
}

/* Mask each secret value of the query starting after '?' at q. */
static void mask_query(PfBuf *out, const char *q, Found *f)
{
    for (const char *p = q;;) {
        size_t plen = strcspn(p, "&");
        const char *eq = memchr(p, '=', plen);
        if (eq && is_secret_query_key(p, (size_t)(eq - p))) {
            pf_buf_append(out, p, (size_t)(eq - p) + 1);
            pf_buf_puts(out, MASK);
            found_uri_secret(f, eq + 1, plen - (size_t)(eq - p) - 1);
        } else {
            pf_buf_append(out, p, plen);
        }
        if (p[plen] == '\0')
            return;
        pf_buf_putc(out, '&');
        p += plen + 1;
    }
}

/* The URL as libpq splits it, each password replaced. */
static char *mask_uri_split(const char *dsn, size_t prefix, UriSplit u, Found *f)
{
    PfBuf out = PF_BUF_INIT;
    const char *s = dsn + prefix, *p = s;
    pf_buf_append(&out, dsn, prefix);
    const char *colon = u.at ? memchr(s, ':', (size_t)(u.at - s)) : NULL;
    if (colon) {
        pf_buf_append(&out, s, (size_t)(colon + 1 - s));
        pf_buf_puts(&out, MASK);
        found_uri_secret(f, colon + 1, (size_t)(u.at - colon - 1));
        p = u.at;
    }
    if (!u.query) {
        pf_buf_puts(&out, p);
        return pf_buf_take(&out);
    }
    pf_buf_append(&out, p, (size_t)(u.query + 1 - p));
    mask_query(&out, u.query + 1, f);
    return pf_buf_take(&out);
}

/* The value of the first secret parameter in s, read as a query wherever it starts, or NULL. */
static const char *first_secret_value(const char *s)
{
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, "?&");
        const char *eq = memchr(p, '=', len);
        if (eq && is_secret_query_key(p, (size_t)(eq - p)))
            return eq + 1;
        p += len + (p[len] != '\0');
    }
    return NULL;
}

/* Hide s[from..to) of a URL whose reading is in doubt. */
static void hide_uri(PfBuf *out, const char *from, const char *to, Found *f)
{
    pf_buf_puts(out, MASK);
    found_uri_secret(f, from, (size_t)(to - from));
    found_pieces(f, from, (size_t)(to - from), URI_DELIMS, true);
}

/* A URL (or a string libpq takes for a database name that holds an '@') whose reading is in
 * doubt: nothing between the user's ':' and the last '@' is shown, nor anything from the first
 * password parameter's value on. */
static char *mask_uri_unsure(const char *dsn, size_t prefix, Found *f)
{
    PfBuf out = PF_BUF_INIT;
    const char *s = dsn + prefix, *end = s + strlen(s);
    const char *at = strrchr(s, '@'), *from = NULL;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        from = colon ? colon + 1 : s;
    }
    /* Parameters are looked for after the userinfo libpq reads (up to the first '@', unless a
     * '/' comes first): the letters of a password there must not decide what is shown. */
    const char *userinfo_end = s + strcspn(s, "@/");
    const char *value = first_secret_value(*userinfo_end == '@' ? userinfo_end + 1 : s);
    pf_buf_append(&out, dsn, prefix);
    if (value && (!at || value <= at)) {
        const char *start = from && from < value ? from : value;
        pf_buf_append(&out, s, (size_t)(start - s));
        hide_uri(&out, start, end, f);
        return pf_buf_take(&out);
    }
    const char *rest = s;
    if (at) {
        pf_buf_append(&out, s, (size_t)(from - s));
        hide_uri(&out, from, at, f);
        pf_buf_putc(&out, '@');
        rest = at + 1;
    }
    if (!value) {
        pf_buf_puts(&out, rest);
        return pf_buf_take(&out);
    }
    pf_buf_append(&out, rest, (size_t)(value - rest));
    hide_uri(&out, value, end, f);
    return pf_buf_take(&out);
}

static char *mask_uri(const char *dsn, size_t prefix, Found *f, int depth)
{
    PgDsnOption *o = NULL;
    size_t n = 0;
    UriSplit u = uri_split(dsn + prefix);
    if (!uri_prefix_exact(dsn) || !pg_dsn_options(dsn, &o, &n) ||
        !uri_plausible(dsn + prefix, u, o, n)) {
        pg_dsn_options_free(o, n);
        return mask_uri_unsure(dsn, prefix, f);
    }
    Found scan = {{NULL, 0, 0}, {NULL, 0, 0}};
    char *masked = checked(mask_uri_split(dsn, prefix, u, &scan), o, n, f, &scan, depth);
    pg_dsn_options_free(o, n);
    return masked;
}

/* ---- key=value ---------------------------------------------------------------------------- */

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

/* Hide the rest of a rejected key=value string from rest on: it may be a password's. */
static void hide_rest(PfBuf *out, const char *rest, Found *f)
{
    pf_buf_puts(out, MASK);
    strings_add(&f->secrets, rest, strlen(rest));
    found_pieces(f, rest, strlen(rest), KV_DELIMS, false);
}

/* The key=value string as libpq splits it, each password replaced. rejected: libpq refuses
 * the string, so what follows a password value may still be part of it. */
static char *mask_kv_split(const char *dsn, bool rejected, Found *f, int depth)
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
            /* libpq refuses it: the rest stays, unless it may hold a secret, as when an
             * unquoted password with a space was substituted ("password=se cret"). */
            if (after_secret) {
                hide_rest(&out, key, f);
            } else if (is_secret_key(key, key_len)) {
                pf_buf_append(&out, key, (size_t)(p - key));
                hide_rest(&out, p, f);
            } else {
                pf_buf_puts(&out, key);
            }
            return pf_buf_take(&out);
        }
        if (rejected && after_secret) {
            char *k = pf_strndup(key, key_len);
            bool known = pg_dsn_keyword(k);
            free(k);
            if (!known) {
                hide_rest(&out, key, f);
                return pf_buf_take(&out);
            }
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
            strings_add(&f->secrets, val_start, (size_t)(p - val_start));
            strings_add(&f->secrets, val.data ? val.data : "", val.len);
            pf_buf_free(&val);
        } else if (key_len == 6 && strncasecmp(key, "dbname", 6) == 0) {
            PfBuf val = PF_BUF_INIT;
            p = scan_kv_value(p, &val);
            char *v = pf_buf_take(&val);
            char *masked = mask_dbname(v, f, depth);
            if (strcmp(masked, v) != 0)
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

static char *mask_kv(const char *dsn, Found *f, int depth)
{
    PgDsnOption *o;
    size_t n;
    if (!pg_dsn_options(dsn, &o, &n))
        return mask_kv_split(dsn, true, f, depth);
    Found scan = {{NULL, 0, 0}, {NULL, 0, 0}};
    char *masked = checked(mask_kv_split(dsn, false, &scan, depth), o, n, f, &scan, depth);
    pg_dsn_options_free(o, n);
    return masked;
}

/* ---- entry points ------------------------------------------------------------------------- */

static char *mask_any(const char *dsn, Found *f, int depth)
{
    if (depth > MAX_NESTING) {
        strings_add(&f->secrets, dsn, strlen(dsn));
        found_pieces(f, dsn, strlen(dsn), KV_DELIMS, false);
        return pf_strdup(MASK);
    }
    size_t prefix = uri_prefix_len(dsn);
    if (prefix)
        return mask_uri(dsn, prefix, f, depth);
    /* Neither URL nor key=value: libpq takes the dsn for a database name, which the server
     * quotes back. One holding an '@' is likely a mistyped URL. */
    if (depth == 0 && !strchr(dsn, '=') && strchr(dsn, '@'))
        return mask_uri_unsure(dsn, 0, f);
    return mask_kv(dsn, f, depth);
}

char *inv_mask_dsn(const char *dsn)
{
    if (!dsn)
        return NULL;
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}};
    char *masked = mask_any(dsn, &f, 0);
    strings_free(&f.secrets);
    strings_free(&f.pieces);
    return masked;
}

char **inv_dsn_secrets(const char *dsn, size_t *n)
{
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}};
    if (dsn)
        free(mask_any(dsn, &f, 0));
    strings_free(&f.pieces);
    *n = f.secrets.n;
    return f.secrets.items;
}

/* Characters that glue a token to its neighbours: a password "0" is not the 0 of 10.0.0.7. */
static bool is_word(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-' || c >= 0x80;
}

static bool is_quote_or_space(char c)
{
    return c == '"' || c == '\'' || isspace((unsigned char)c);
}

/* Does token t occur at text[i] as a whole token? Where t begins or ends with a word character
 * it must not be glued to another one there (a one-letter password is not every such letter of
 * the message); a token without any must stand between quotes, spaces or the ends. */
static bool token_at(const char *text, size_t i, const char *t, size_t len)
{
    if (strncmp(text + i, t, len) != 0)
        return false;
    char before = i > 0 ? text[i - 1] : '\0', after = text[i + len];
    bool wordy = false;
    for (size_t k = 0; k < len && !wordy; k++)
        wordy = is_word((unsigned char)t[k]);
    if (!wordy)
        return t[strspn(t, " \t\n\v\f\r")] && (!before || is_quote_or_space(before)) &&
               (!after || is_quote_or_space(after));
    if (before && is_word((unsigned char)before) && is_word((unsigned char)t[0]))
        return false;
    return !(after && is_word((unsigned char)after) && is_word((unsigned char)t[len - 1]));
}

static int longer_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

char *inv_dsn_scrub(const char *text, const char *dsn)
{
    Found f = {{NULL, 0, 0}, {NULL, 0, 0}};
    if (dsn)
        free(mask_any(dsn, &f, 0));
    Strings *tokens = &f.secrets;
    for (size_t i = 0; i < f.pieces.n; i++)
        strings_add(tokens, f.pieces.items[i], strlen(f.pieces.items[i]));
    strings_free(&f.pieces);
    if (tokens->n > 1)
        qsort(tokens->items, tokens->n, sizeof *tokens->items, longer_first);

    PfBuf out = PF_BUF_INIT;
    for (size_t i = 0; text[i];) {
        size_t hit = 0;
        for (size_t k = 0; k < tokens->n && !hit; k++) {
            size_t len = strlen(tokens->items[k]);
            if (token_at(text, i, tokens->items[k], len))
                hit = len;
        }
        if (hit) {
            pf_buf_puts(&out, MASK);
            i += hit;
        } else {
            pf_buf_putc(&out, text[i++]);
        }
    }
    strings_free(tokens);
    return pf_buf_take(&out);
}
