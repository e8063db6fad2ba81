/*
 * Allocation that never returns NULL: out-of-memory aborts here, so callers carry no checks.
 * Everything returned is freed with free().
 */
#ifndef PF_CORE_MEM_H
#define PF_CORE_MEM_H

#include <stddef.h>

void *pf_malloc(size_t n);
void *pf_calloc(size_t count, size_t size);
void *pf_realloc(void *p, size_t n);
char *pf_strdup(const char *s); /* pf_strdup(NULL) returns NULL */
char *pf_strndup(const char *s, size_t n);
char *pf_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of element size elem) so that it holds at least need elements; *cap is updated. */
void pf_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define PF_GROW(arr, cap, need) pf_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

#endif
