/* An arena of blocks: pieces are cut from the newest block; a large piece gets its own. */
#include "core/arena.h"

#include "core/mem.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (64 * 1024)

struct PfArenaBlock {
    PfArenaBlock *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

/* size bytes at a multiple of align (a power of two, at most 16) in the block. */
static void *arena_cut(PfArena *a, size_t size, size_t align)
{
    a->bytes += size;
    PfArenaBlock *b = a->blocks;
    size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (b && at <= b->cap && b->cap - at >= size) {
        b->used = at + size;
        return b->data + at;
    }
    if (size > BLOCK_SIZE / 4) {
        /* A large piece: a block of its own, behind the one being filled. */
        PfArenaBlock *big = pf_malloc(sizeof *big + size);
        big->used = big->cap = size;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            big->next = NULL;
            a->blocks = big;
        }
        return big->data;
    }
    PfArenaBlock *nb = pf_malloc(sizeof *nb + BLOCK_SIZE);
    nb->next = b;
    nb->cap = BLOCK_SIZE;
    nb->used = size;
    a->blocks = nb;
    return nb->data;
}

void *pf_arena_alloc(PfArena *a, size_t size)
{
    return arena_cut(a, size ? size : 1, 8);
}

char *pf_arena_strdup(PfArena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(arena_cut(a, n, 1), s, n);
}

void *pf_arena_memdup(PfArena *a, const void *p, size_t n)
{
    return n ? memcpy(arena_cut(a, n, 1), p, n) : NULL;
}

void pf_arena_free(PfArena *a)
{
    for (PfArenaBlock *b = a->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->blocks = NULL;
    a->bytes = 0;
}
