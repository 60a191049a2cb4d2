/* expat_mem.c - the memory expat uses inside a decoder: free lists by size class, fed from the
 * decoder's allocator.
 *
 * XML_ParserReset empties expat's DTD tables (an entry per element name seen), so every document
 * frees and allocates again a few dozen small blocks.  With the C library's allocator that is about
 * a twentieth of the time of a small 2030.5 message, and heap allocations per message that the
 * decoder's own count would not see.  Here a freed block goes onto the free list of its size class and
 * the next document takes it back: after the first few documents a steady stream allocates nothing.
 *
 * expat's memory suite has no user pointer.  The decoder names its pool in a thread-local variable
 * around each call into expat (ge__xml_pool_enter/leave); every block carries its pool in a header,
 * so freeing and resizing need no context. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xml_internal.h"

enum {
    CLASS_MIN_SHIFT = 5,  /* the smallest class holds 32 bytes, header included */
    N_CLASSES = 8,        /* 32 .. 4096 bytes */
    LARGE = N_CLASSES     /* a block above 4096 bytes: straight from the allocator */
};

typedef struct header {
    _Alignas(16) ge__xml_pool_t *pool; /* 16 bytes, so the block after the header is aligned */
    uint32_t cls;
} header_t;

typedef struct free_block {
    struct free_block *next;
} free_block_t;

struct ge__xml_pool {
    const ge_mem_t *mem;
    free_block_t *free[N_CLASSES];
    size_t live; /* bytes of the size-class blocks expat holds */
};

static _Thread_local ge__xml_pool_t *current;

/* the class of a block of TOTAL bytes: the smallest power of two that holds it */
static uint32_t class_of(size_t total)
{
    if (total <= (size_t)1 << CLASS_MIN_SHIFT)
        return 0;
    if (total > (size_t)1 << (CLASS_MIN_SHIFT + N_CLASSES - 1))
        return LARGE;
    return (uint32_t)(64 - __builtin_clzll((unsigned long long)(total - 1))) - CLASS_MIN_SHIFT;
}

static size_t class_size(uint32_t c)
{
    return (size_t)1 << (CLASS_MIN_SHIFT + c);
}

static void *pool_malloc(size_t n)
{
    ge__xml_pool_t *p = current;
    size_t total;
    uint32_t c;
    header_t *h;

    if (!p || n > SIZE_MAX - sizeof(header_t))
        return NULL; /* expat is only called between enter and leave */
    total = n + sizeof(header_t);
    c = class_of(total);
    if (c < LARGE && p->free[c]) {
        h = (header_t *)(void *)p->free[c];
        p->free[c] = p->free[c]->next;
    } else {
        h = p->mem->malloc(c < LARGE ? class_size(c) : total, p->mem->ud);
        if (!h)
            return NULL;
    }
    h->pool = p;
    h->cls = c;
    if (c < LARGE)
        p->live += class_size(c);
    return h + 1;
}

static void pool_free(void *ptr)
{
    header_t *h;
    ge__xml_pool_t *p;

    if (!ptr)
        return;
    h = (header_t *)ptr - 1;
    p = h->pool;
    if (h->cls == LARGE) {
        p->mem->free(h, p->mem->ud);
        return;
    }
    p->live -= class_size(h->cls);
    ((free_block_t *)(void *)h)->next = p->free[h->cls];
    p->free[h->cls] = (free_block_t *)(void *)h;
}

static void *pool_realloc(void *ptr, size_t n)
{
    header_t *h, *nh;
    ge__xml_pool_t *p;
    void *np;

    if (!ptr)
        return pool_malloc(n);
    if (n > SIZE_MAX - sizeof(header_t))
        return NULL;
    h = (header_t *)ptr - 1;
    p = h->pool;
    if (h->cls == LARGE) {
        if (class_of(n + sizeof(header_t)) < LARGE)
            return ptr; /* shrinking below a class: keep the block */
        nh = p->mem->realloc(h, n + sizeof(header_t), p->mem->ud);
        return nh ? nh + 1 : NULL;
    }
    if (n + sizeof(header_t) <= class_size(h->cls))
        return ptr;
    /* a bigger class: take a block from this pool (the one the block came from) */
    {
        ge__xml_pool_t *was = current;
        current = p;
        np = pool_malloc(n);
        current = was;
    }
    if (!np)
        return NULL;
    memcpy(np, ptr, class_size(h->cls) - sizeof(header_t));
    pool_free(ptr);
    return np;
}

static const XML_Memory_Handling_Suite suite = { pool_malloc, pool_realloc, pool_free };

const XML_Memory_Handling_Suite *ge__xml_pool_suite(void)
{
    return &suite;
}

ge__xml_pool_t *ge__xml_pool_new(const ge_mem_t *mem)
{
    ge__xml_pool_t *p = mem->malloc(sizeof(*p), mem->ud);

    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->mem = mem;
    return p;
}

void ge__xml_pool_free(ge__xml_pool_t *p)
{
    if (!p)
        return;
    for (uint32_t c = 0; c < N_CLASSES; c++) {
        while (p->free[c]) {
            free_block_t *b = p->free[c];
            p->free[c] = b->next;
            p->mem->free(b, p->mem->ud);
        }
    }
    p->mem->free(p, p->mem->ud);
}

size_t ge__xml_pool_live(const ge__xml_pool_t *p)
{
    return p->live;
}

ge__xml_pool_t *ge__xml_pool_enter(ge__xml_pool_t *p)
{
    ge__xml_pool_t *was = current;

    current = p;
    return was;
}

void ge__xml_pool_leave(ge__xml_pool_t *was)
{
    current = was;
}
