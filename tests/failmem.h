/* failmem.h - a counting ge_mem_t for tests: it can fail the Nth allocation (failmalloc style)
 * and tells whether everything allocated was freed. */
#ifndef TESTS_FAILMEM_H
#define TESTS_FAILMEM_H

#include <stddef.h>

#include <gridedge/mem.h>

typedef struct failmem {
    ge_mem_t mem;        /* hand &fm.mem to the code under test */
    long fail_at;        /* the allocation (0-based) that fails; -1 = none */
    long count;          /* allocations attempted (malloc and growing realloc) */
    long live;           /* blocks allocated and not yet freed */
} failmem_t;

void failmem_init(failmem_t *fm, long fail_at);

/* Run OP(ud, mem) with allocation 0, 1, 2, ... failing in turn until a run makes no failed
 * allocation.  After each run every block must be freed and OP must have returned either 0 (when no
 * allocation failed) or a negative code.  Returns the number of runs, or -1 on a leak (the run's
 * number is put in *bad_run).  OP returns 0 or a negative ge_err. */
long failmem_sweep(int (*op)(void *ud, const ge_mem_t *mem), void *ud, long *bad_run);

#endif
