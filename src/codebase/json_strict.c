/*
 * Is this text JSON that drizzle-orm's JSON.parse accepts? cJSON, which reads the journal, is
 * looser: any byte up to 0x20 counts as whitespace (a NUL included), raw control characters
 * may stand inside strings, and numbers such as 01 or 1. pass. A journal drizzle-orm cannot
 * read must not be applied (or linted clean) by pgfleet, so the text is checked against
 * RFC 8259's grammar first: whitespace is space, tab, CR and LF; strings hold no byte below
 * 0x20 and only the escapes \" \\ \/ \b \f \n \r \t \uXXXX; numbers are
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Bytes of 0x80 and above are left to the
 * UTF-8 decoding (Node replaces what is invalid), so they are accepted inside strings. One
 * deliberate difference: a \u0000 escape is refused (see string()).
 */
#include "codebase/internal.h"

#include <stdbool.h>
#include <string.h>

enum { MAX_DEPTH = 512 };

typedef struct Scan {
    const char *s;
    size_t len, i;
} Scan;

static void ws(Scan *c)
{
    while (c->i < c->len && strchr(" \t\r\n", c->s[c->i]) && c->s[c->i])
        c->i++;
}

static bool digits(Scan *c)
{
    size_t start = c->i;
    while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        c->i++;
    return c->i > start;
}

static bool number(Scan *c)
{
    if (c->s[c->i] == '-')
        c->i++;
    if (c->i < c->len && c->s[c->i] == '0')
        c->i++;
    else if (!digits(c))
        return false;
    if (c->i < c->len && c->s[c->i] == '.') {
        c->i++;
        if (!digits(c))
            return false;
    }
    if (c->i < c->len && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->len && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (!digits(c))
            return false;
    }
    return true;
}

static bool hex4(Scan *c)
{
    for (int k = 0; k < 4; c->i++, k++)
        if (c->i >= c->len || !strchr("0123456789abcdefABCDEF", c->s[c->i]) || !c->s[c->i])
            return false;
    return true;
}

static bool string(Scan *c)
{
    c->i++; /* the opening quote */
    while (c->i < c->len) {
        unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch != '\\') {
            c->i++;
            continue;
        }
        c->i++;
        if (c->i >= c->len)
            return false;
        char e = c->s[c->i];
        if (e == 'u') {
            c->i++;
            size_t at = c->i;
            if (!hex4(c))
                return false;
            /* JSON.parse takes \u0000, but a journal holding it is refused here: cJSON would
             * cut the string there (a tag naming another file than drizzle opens). */
            if (memcmp(c->s + at, "0000", 4) == 0) {
                c->i = at - 2;
                return false;
            }
        } else if (e && strchr("\"\\/bfnrt", e)) {
            c->i++;
        } else {
            return false;
        }
    }
    return false;
}

static bool literal(Scan *c, const char *word)
{
    size_t n = strlen(word);
    if (c->len - c->i < n || memcmp(c->s + c->i, word, n) != 0)
        return false;
    c->i += n;
    return true;
}

static bool value(Scan *c, int depth);

static bool container(Scan *c, int depth)
{
    char close = c->s[c->i] == '{' ? '}' : ']';
    c->i++;
    ws(c);
    if (c->i < c->len && c->s[c->i] == close) {
        c->i++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            ws(c);
            if (c->i >= c->len || c->s[c->i] != '"' || !string(c))
                return false;
            ws(c);
            if (c->i >= c->len || c->s[c->i] != ':')
                return false;
            c->i++;
        }
        if (!value(c, depth + 1))
            return false;
        ws(c);
        if (c->i >= c->len)
            return false;
        if (c->s[c->i] == close) {
            c->i++;
            return true;
        }
        if (c->s[c->i] != ',')
            return false;
        c->i++;
    }
}

static bool value(Scan *c, int depth)
{
    ws(c);
    if (c->i >= c->len || depth > MAX_DEPTH)
        return false;
    char ch = c->s[c->i];
    if (ch == '{' || ch == '[')
        return container(c, depth);
    if (ch == '"')
        return string(c);
    if (ch == '-' || (ch >= '0' && ch <= '9'))
        return number(c);
    return literal(c, "true") || literal(c, "false") || literal(c, "null");
}

bool cb_json_strict(const char *text, size_t len, size_t *bad_at)
{
    Scan c = {text, len, 0};
    bool ok = value(&c, 0);
    if (ok) {
        ws(&c);
        ok = c.i == len;
    }
    if (!ok)
        *bad_at = c.i < len ? c.i : len;
    return ok;
}
