/*
 * The chunk's arena: every string and array of a SqlChunk is allocated here and freed with it
 * at once, so the model has one owner and no per-field free. Blocks of 32 KiB (or one block
 * for a larger request), never reused before sql_arena_free.
 */
#include "sql/internal.h"

#include "core/mem.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (32 * 1024)
#define ALIGN (alignof(max_align_t))

typedef struct Block {
    struct Block *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
} Block;

struct SqlArena {
    Block *head;
};

SqlArena *sql_arena_new(void)
{
    return pf_calloc(1, sizeof(SqlArena));
}

void sql_arena_free(SqlArena *a)
{
    if (!a)
        return;
    for (Block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *sql_arena_alloc(SqlArena *a, size_t n)
{
    n = (n + ALIGN - 1) / ALIGN * ALIGN;
    if (n == 0)
        n = ALIGN;
    Block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        b = pf_malloc(sizeof(Block) + size);
        b->used = 0;
        b->size = size;
        /* A block made for one large request goes behind the current one, which may still
         * have room for small ones. */
        if (a->head && size > BLOCK_SIZE) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *sql_arena_strndup(SqlArena *a, const char *s, size_t n)
{
    char *d = sql_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sql_arena_strdup(SqlArena *a, const char *s)
{
    return s ? sql_arena_strndup(a, s, strlen(s)) : NULL;
}

void *sql_arena_keep(SqlArena *a, void *tmp, size_t n, size_t elem)
{
    void *kept = NULL;
    if (n > 0) {
        kept = sql_arena_alloc(a, n * elem);
        memcpy(kept, tmp, n * elem);
    }
    free(tmp);
    return kept;
}
