/* arena.c - the bounded arena allocator (see gridedge/arena.h). */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#define ARENA_DEFAULT_BLOCK 4096u

typedef struct arena_block {
    struct arena_block *next;
    size_t size; /* bytes of data after the header */
    size_t used;
    alignas(max_align_t) unsigned char data[];
} arena_block_t;

struct ge_arena {
    const ge_mem_t *mem;
    arena_block_t *blocks; /* newest first */
    size_t block_size;     /* size of the next ordinary block */
    size_t cap;
    size_t reserved;
    size_t used;
    unsigned long heap_allocs;
    int err;
};

int ge_arena_new(ge_arena_t **out, const ge_mem_t *mem, size_t block_size, size_t cap)
{
    ge_arena_t *a;

    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!mem)
        mem = ge_mem_default();
    a = mem->malloc(sizeof(*a), mem->ud);
    if (!a)
        return GE_ERR_NOMEM;
    memset(a, 0, sizeof(*a));
    a->mem = mem;
    a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
    a->cap = cap ? cap : SIZE_MAX;
    *out = a;
    return 0;
}

static void free_blocks(ge_arena_t *a)
{
    arena_block_t *b = a->blocks;

    while (b) {
        arena_block_t *next = b->next;
        a->mem->free(b, a->mem->ud);
        b = next;
    }
    a->blocks = NULL;
    a->reserved = 0;
}

void ge_arena_free(ge_arena_t *a)
{
    if (!a)
        return;
    free_blocks(a);
    a->mem->free(a, a->mem->ud);
}

/* Offset of the first ALIGN-aligned byte at or after data+used, or SIZE_MAX if none fits SIZE. */
static size_t fit(const arena_block_t *b, size_t size, size_t align)
{
    uintptr_t p = (uintptr_t)(b->data + b->used);
    size_t pad = (size_t)((align - (p & (align - 1))) & (align - 1));

    if (pad > b->size - b->used || size > b->size - b->used - pad)
        return SIZE_MAX;
    return b->used + pad;
}

static arena_block_t *add_block(ge_arena_t *a, size_t min_data)
{
    size_t size = min_data > a->block_size ? min_data : a->block_size;
    arena_block_t *b;

    if (size > SIZE_MAX - sizeof(arena_block_t) || size > a->cap - a->reserved) {
        /* A smaller block that still holds the request may fit under the cap. */
        if (min_data <= a->cap - a->reserved && min_data <= SIZE_MAX - sizeof(arena_block_t))
            size = min_data;
        else {
            a->err = GE_ERR_LIMIT;
            return NULL;
        }
    }
    b = a->mem->malloc(sizeof(*b) + size, a->mem->ud);
    if (!b) {
        a->err = GE_ERR_NOMEM;
        return NULL;
    }
    a->heap_allocs++;
    b->size = size;
    b->used = 0;
    b->next = a->blocks;
    a->blocks = b;
    a->reserved += size;
    /* Grow geometrically so a large document needs few blocks. */
    if (a->block_size <= SIZE_MAX / 2)
        a->block_size *= 2;
    return b;
}

/* ge_arena_alloc() when the newest block cannot take the request, or the request is odd: checks the
 * arguments, adds a block.  Out of line, so the common case below is a leaf that saves no registers. */
static __attribute__((noinline)) void *alloc_slow(ge_arena_t *a, size_t size, size_t align)
{
    arena_block_t *b;
    size_t off;

    if (!a)
        return NULL;
    if (align == 0)
        align = alignof(max_align_t);
    if ((align & (align - 1)) != 0 || align > 4096) {
        a->err = GE_ERR_INVALID;
        return NULL;
    }
    if (size == 0)
        size = 1;
    b = a->blocks;
    off = b ? fit(b, size, align) : SIZE_MAX;
    if (off == SIZE_MAX) {
        if (size > SIZE_MAX - align) {
            a->err = GE_ERR_LIMIT;
            return NULL;
        }
        b = add_block(a, size + align - 1);
        if (!b)
            return NULL;
        off = fit(b, size, align);
    }
    a->used += off + size - b->used;
    b->used = off + size;
    return b->data + off;
}

/* The common case of ge_arena_alloc(): a power-of-two alignment up to 4096 (0: max_align_t) and a
 * size that fits the newest block; NULL if not (alloc_slow() then takes the request). */
static inline void *alloc_fast(ge_arena_t *a, size_t size, size_t align)
{
    arena_block_t *b;

    if (a && (b = a->blocks) != NULL && size && (align & (align - 1)) == 0 && align <= 4096) {
        size_t mask = (align ? align : alignof(max_align_t)) - 1;
        size_t pad = (size_t)(-(uintptr_t)(b->data + b->used) & mask), room = b->size - b->used;
        if (pad <= room && size <= room - pad) {
            size_t off = b->used + pad;
            a->used += pad + size;
            b->used = off + size;
            return b->data + off;
        }
    }
    return NULL;
}

void *ge_arena_alloc(ge_arena_t *a, size_t size, size_t align)
{
    void *p = alloc_fast(a, size, align);

    return p ? p : alloc_slow(a, size, align);
}

void *ge_arena_zalloc(ge_arena_t *a, size_t size)
{
    void *p = alloc_fast(a, size, 0);

    if (!p)
        p = alloc_slow(a, size, 0);
    if (p)
        memset(p, 0, size);
    return p;
}

char *ge_arena_strndup(ge_arena_t *a, const char *s, size_t len)
{
    char *p;

    if (!s || len == SIZE_MAX)
        return NULL;
    p = alloc_fast(a, len + 1, 1);
    if (!p && !(p = alloc_slow(a, len + 1, 1)))
        return NULL;
    if (len >= 8 && len <= 16) { /* short strings (hrefs, mRIDs): two overlapping words, no call */
        uint64_t x, y;
        memcpy(&x, s, 8);
        memcpy(&y, s + len - 8, 8);
        memcpy(p, &x, 8);
        memcpy(p + len - 8, &y, 8);
    } else {
        memcpy(p, s, len);
    }
    p[len] = '\0';
    return p;
}

void ge_arena_reset(ge_arena_t *a)
{
    size_t total;

    if (!a)
        return;
    a->err = 0;
    a->used = 0;
    if (!a->blocks)
        return;
    if (!a->blocks->next) {
        a->blocks->used = 0;
        return;
    }
    /* Several blocks: next round gets one block the size of all of them, so that a stream of
     * similar messages settles on a single block and no heap traffic. */
    total = a->reserved;
    free_blocks(a);
    a->block_size = total;
}

int ge_arena_error(const ge_arena_t *a)
{
    return a ? a->err : GE_ERR_INVALID;
}

size_t ge_arena_used(const ge_arena_t *a)
{
    return a ? a->used : 0;
}

size_t ge_arena_reserved(const ge_arena_t *a)
{
    return a ? a->reserved : 0;
}

unsigned long ge_arena_heap_allocs(const ge_arena_t *a)
{
    return a ? a->heap_allocs : 0;
}
