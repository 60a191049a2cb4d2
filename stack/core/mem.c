/* mem.c - the default allocator behind ge_mem_t. */
#include "config.h"

#include <stdlib.h>

#include <gridedge/mem.h>

static void *default_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static const ge_mem_t default_mem = { default_malloc, default_realloc, default_free, NULL };

const ge_mem_t *ge_mem_default(void)
{
    return &default_mem;
}
