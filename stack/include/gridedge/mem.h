/* gridedge/mem.h - the pluggable allocator.  Every object that allocates takes a ge_mem_t
 * (NULL means the C library's malloc/free), so a device maker can supply pools and tests can
 * fail each allocation in turn. */
#ifndef GRIDEDGE_MEM_H
#define GRIDEDGE_MEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ge_mem {
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
} ge_mem_t;

/* The allocator backed by malloc/realloc/free. */
const ge_mem_t *ge_mem_default(void);

#ifdef __cplusplus
}
#endif
#endif
