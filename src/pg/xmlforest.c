/* query_to_xml's forest, taken apart (xmlforest.h). */
#include "pg/xmlforest.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* The first occurrence of needle in [s, s + n), or NULL. */
static const char *find(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
            return s + i;
    return NULL;
}

bool pg_xml_next_row(const char **at, PgXmlRow *row)
{
    const char *open = strstr(*at, "<row");
    if (!open || (open[4] != '>' && open[4] != ' '))
        return false;
    const char *content = strchr(open, '>');
    if (!content)
        return false;
    content++;
    const char *close = strstr(content, "</row>");
    if (!close)
        return false;
    row->start = content;
    row->len = (size_t)(close - content);
    *at = close + strlen("</row>");
    return true;
}

/* The character reference at p (after "&#", up to ';') as UTF-8 into b; false when it is not
 * one. */
static bool put_reference(PfBuf *b, const char *p, const char *semi)
{
    int base = 10;
    if (*p == 'x' || *p == 'X') {
        base = 16;
        p++;
    }
    if (p == semi)
        return false;
    char *end;
    unsigned long c = strtoul(p, &end, base);
    if (end != semi || c == 0 || c > 0x10FFFF)
        return false;
    if (c < 0x80) {
        pf_buf_putc(b, (char)c);
    } else if (c < 0x800) {
        pf_buf_putc(b, (char)(0xC0 | (c >> 6)));
        pf_buf_putc(b, (char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        pf_buf_putc(b, (char)(0xE0 | (c >> 12)));
        pf_buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        pf_buf_putc(b, (char)(0x80 | (c & 0x3F)));
    } else {
        pf_buf_putc(b, (char)(0xF0 | (c >> 18)));
        pf_buf_putc(b, (char)(0x80 | ((c >> 12) & 0x3F)));
        pf_buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        pf_buf_putc(b, (char)(0x80 | (c & 0x3F)));
    }
    return true;
}

/* The text between p and e, unescaped. */
static char *unescape(const char *p, const char *e)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    PfBuf b = PF_BUF_INIT;
    for (; p < e; p++) {
        const char *semi = *p == '&' ? memchr(p, ';', (size_t)(e - p)) : NULL;
        bool done = false;
        if (semi && p[1] == '#') {
            done = put_reference(&b, p + 2, semi);
        } else if (semi) {
            size_t n = (size_t)(semi - p - 1);
            for (size_t k = 0; k < sizeof named / sizeof named[0] && !done; k++)
                if (n == strlen(named[k].name) && memcmp(p + 1, named[k].name, n) == 0) {
                    pf_buf_putc(&b, named[k].c);
                    done = true;
                }
        }
        if (done)
            p = semi;
        else
            pf_buf_putc(&b, *p);
    }
    return pf_buf_take(&b);
}

char *pg_xml_column(const PgXmlRow *row, const char *name)
{
    char *open = pf_asprintf("<%s>", name), *close = pf_asprintf("</%s>", name);
    char *out = NULL;
    const char *s = find(row->start, row->len, open);
    if (s) {
        s += strlen(open);
        const char *e = find(s, row->len - (size_t)(s - row->start), close);
        if (e)
            out = unescape(s, e);
    }
    free(open);
    free(close);
    return out;
}

bool pg_xml_has_column(const PgXmlRow *row, const char *name)
{
    char *open = pf_asprintf("<%s>", name), *nil = pf_asprintf("<%s xsi:nil=\"true\"/>", name);
    bool has = find(row->start, row->len, open) || find(row->start, row->len, nil);
    free(open);
    free(nil);
    return has;
}
