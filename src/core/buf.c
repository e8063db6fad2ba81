/* Growable NUL-terminated buffer. */
#include "core/buf.h"

#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_reserve(PfBuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = pf_realloc(b->data, cap);
    b->cap = cap;
}

void pf_buf_append(PfBuf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void pf_buf_puts(PfBuf *b, const char *s)
{
    pf_buf_append(b, s, strlen(s));
}

void pf_buf_putc(PfBuf *b, char c)
{
    pf_buf_append(b, &c, 1);
}

/* Formatted into the room the buffer has; only when that is too little, again after growing it. */
void pf_buf_printf(PfBuf *b, const char *fmt, ...)
{
    buf_reserve(b, 0);
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= room) {
        buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

char *pf_buf_take(PfBuf *b)
{
    char *d = b->data ? b->data : pf_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void pf_buf_free(PfBuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
