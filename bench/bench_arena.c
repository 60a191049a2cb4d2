/* bench_arena.c - the arena against malloc/free for the allocation pattern of a decoded message:
 * a few hundred small objects and strings, all released together.  Prints the speed ratio
 * (baseline time / arena time; above 1 means the arena is faster). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <gridedge/arena.h>

#include "bench.h"

#define OBJECTS 300
#define MESSAGES 2000

static const size_t sizes[] = { 48, 16, 24, 8, 96, 33, 12, 64 };

static double run_arena(void *ud)
{
    ge_arena_t *a = ud;
    double t0 = bench_now_ns();
    for (int m = 0; m < MESSAGES; m++) {
        for (int i = 0; i < OBJECTS; i++) {
            char *p = ge_arena_alloc(a, sizes[i % 8], 8);
            if (!p)
                abort();
            p[0] = (char)i;
        }
        ge_arena_reset(a);
    }
    return bench_now_ns() - t0;
}

static double run_malloc(void *ud)
{
    void *ptrs[OBJECTS];
    (void)ud;
    double t0 = bench_now_ns();
    for (int m = 0; m < MESSAGES; m++) {
        for (int i = 0; i < OBJECTS; i++) {
            char *p = malloc(sizes[i % 8]);
            if (!p)
                abort();
            p[0] = (char)i;
            ptrs[i] = p;
        }
        for (int i = 0; i < OBJECTS; i++)
            free(ptrs[i]);
    }
    return bench_now_ns() - t0;
}

int main(void)
{
    ge_arena_t *a;
    double arena_ns, malloc_ns;

    if (ge_arena_new(&a, NULL, 0, 0) < 0)
        return 1;
    bench_compare(run_arena, run_malloc, a, 15, &arena_ns, &malloc_ns);
    unsigned long allocs = ge_arena_heap_allocs(a);
    printf("arena: %.1f ns/object, malloc+free: %.1f ns/object\n",
           arena_ns / (OBJECTS * MESSAGES), malloc_ns / (OBJECTS * MESSAGES));
    printf("arena speed ratio vs malloc+free: %.2fx (goal >= 2x)\n", malloc_ns / arena_ns);
    printf("arena heap allocations over %d messages x 32 rounds: %lu\n", MESSAGES, allocs);
    ge_arena_free(a);
    return 0;
}
