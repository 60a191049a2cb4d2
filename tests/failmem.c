/* failmem.c - the failing allocator of failmem.h. */
#include "config.h"

#include <stdlib.h>

#include "failmem.h"

static void *fm_malloc(size_t size, void *ud)
{
    failmem_t *fm = ud;

    if (fm->fail_at >= 0 && fm->count++ == fm->fail_at)
        return NULL;
    if (fm->fail_at < 0)
        fm->count++;
    void *p = malloc(size);
    if (p)
        fm->live++;
    return p;
}

static void *fm_realloc(void *ptr, size_t size, void *ud)
{
    failmem_t *fm = ud;

    if (!ptr)
        return fm_malloc(size, ud);
    if (fm->fail_at >= 0 && fm->count++ == fm->fail_at)
        return NULL;
    if (fm->fail_at < 0)
        fm->count++;
    return realloc(ptr, size);
}

static void fm_free(void *ptr, void *ud)
{
    failmem_t *fm = ud;

    if (ptr)
        fm->live--;
    free(ptr);
}

void failmem_init(failmem_t *fm, long fail_at)
{
    fm->mem.malloc = fm_malloc;
    fm->mem.realloc = fm_realloc;
    fm->mem.free = fm_free;
    fm->mem.ud = fm;
    fm->fail_at = fail_at;
    fm->count = 0;
    fm->live = 0;
}

long failmem_sweep(int (*op)(void *ud, const ge_mem_t *mem), void *ud, long *bad_run)
{
    for (long n = 0; n < 100000; n++) {
        failmem_t fm;
        int rc;

        failmem_init(&fm, n);
        rc = op(ud, &fm.mem);
        if (fm.live != 0 || (fm.count > n && rc >= 0)) {
            if (bad_run)
                *bad_run = n;
            return -1;
        }
        if (fm.count <= n) { /* nothing failed: the whole operation ran */
            if (rc == 0)
                return n + 1;
            if (bad_run)
                *bad_run = n;
            return -1;
        }
    }
    return -1;
}
