/* The one place that handles out-of-memory: it aborts with a message. */
#define _GNU_SOURCE /* vasprintf */
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pf_oom(size_t n)
{
    fprintf(stderr, "pgfleet: out of memory allocating %zu bytes\n", n);
    abort();
}

void *pf_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        pf_oom(n);
    return p;
}

void *pf_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        pf_oom(count * size);
    return p;
}

void *pf_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        pf_oom(n);
    return q;
}

char *pf_strdup(const char *s)
{
    return s ? pf_strndup(s, strlen(s)) : NULL;
}

char *pf_strndup(const char *s, size_t n)
{
    char *p = pf_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* One formatting pass, into a buffer that grows as it fills (vasprintf), where measuring first
 * formats everything twice: the survey's SQL is formatted per target, kilobytes at a time. */
char *pf_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    int len = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (len < 0)
        pf_oom(0);
    return p;
}

void pf_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    *arr = pf_realloc(*arr, n * elem);
    memset((char *)*arr + *cap * elem, 0, (n - *cap) * elem);
    *cap = n;
}
