/*
 * An arena: many small pieces of memory that live and die together (an inventory's strings,
 * a document's nodes). Pieces never move and are not freed one by one; pf_arena_free frees
 * them all. Not thread-safe: one owner at a time.
 */
#ifndef PF_CORE_ARENA_H
#define PF_CORE_ARENA_H

#include <stddef.h>

typedef struct PfArenaBlock PfArenaBlock;

/* Zero-initialise ({0}). */
typedef struct PfArena {
    PfArenaBlock *blocks;
    size_t bytes; /* handed out so far */
} PfArena;

/* size bytes aligned to 8 (pointers, 64-bit integers), uninitialised; never NULL (out of memory
 * aborts). */
void *pf_arena_alloc(PfArena *a, size_t size);
/* A copy of s in the arena; NULL for NULL. */
char *pf_arena_strdup(PfArena *a, const char *s);
/* A copy of the n bytes at p in the arena, unaligned (NULL when n is 0). */
void *pf_arena_memdup(PfArena *a, const void *p, size_t n);
/* Free every piece; the arena is empty again. */
void pf_arena_free(PfArena *a);

#endif
