/* gridedge/arena.h - a bounded arena (region) allocator.
 *
 * Decoded messages live in an arena owned by the caller: many small allocations, one reset or free.
 * The arena never holds more than its cap in blocks; an allocation that would pass it fails with
 * GE_ERR_LIMIT (ge_arena_error()).  After a reset the arena keeps one block big enough for what the
 * last round used, so a steady stream of similar messages needs no heap allocation at all. */
#ifndef GRIDEDGE_ARENA_H
#define GRIDEDGE_ARENA_H

#include <stddef.h>

#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ge_arena ge_arena_t;

/* Create an arena.  MEM may be NULL (malloc).  BLOCK_SIZE is the size of the first block
 * (0 = 4096); CAP bounds the bytes held in blocks (0 = no bound beyond SIZE_MAX). */
int ge_arena_new(ge_arena_t **out, const ge_mem_t *mem, size_t block_size, size_t cap);

/* Free the arena and everything allocated in it.  NULL is a no-op. */
void ge_arena_free(ge_arena_t *arena);

/* SIZE bytes aligned to ALIGN (a power of two; 0 = the platform's max_align_t).  NULL when the cap
 * would be passed (GE_ERR_LIMIT), the allocator fails (GE_ERR_NOMEM), or ALIGN is invalid
 * (GE_ERR_INVALID); ge_arena_error() tells which.  SIZE 0 gives a valid unique pointer. */
void *ge_arena_alloc(ge_arena_t *arena, size_t size, size_t align);

/* As ge_arena_alloc() with max alignment, zero-filled. */
void *ge_arena_zalloc(ge_arena_t *arena, size_t size);

/* A NUL-terminated copy of the first LEN bytes of S. */
char *ge_arena_strndup(ge_arena_t *arena, const char *s, size_t len);

/* Forget every allocation (pointers from before become invalid); keep memory for reuse. */
void ge_arena_reset(ge_arena_t *arena);

/* The error of the last failed allocation (0 if none since the last reset). */
int ge_arena_error(const ge_arena_t *arena);

/* Bytes handed out since the last reset, alignment padding included. */
size_t ge_arena_used(const ge_arena_t *arena);

/* Bytes held in blocks now. */
size_t ge_arena_reserved(const ge_arena_t *arena);

/* Heap allocations the arena has made since it was created (for benchmarks). */
unsigned long ge_arena_heap_allocs(const ge_arena_t *arena);

#ifdef __cplusplus
}
#endif
#endif
