/* fuzz_case.c - libFuzzer target for the conformance case parser: any bytes give a case or a
 * positioned error, never a crash, a leak or unbounded memory (the arena is capped). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/arena.h>

#include "conformance/case.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ge_arena_t *arena;
    cf_case_t c;
    char err[256];

    if (ge_arena_new(&arena, NULL, 0, 8u * 1024u * 1024u) < 0)
        return 0;
    if (cf_case_parse("fuzz", (const char *)data, size, arena, NULL, NULL, &c, err, sizeof(err)) == 0) {
        if (!c.id)
            __builtin_trap();
        for (size_t i = 0; i < c.n_actions; i++)
            if (!c.actions[i].path || strlen(c.actions[i].body) != c.actions[i].body_len)
                __builtin_trap();
    } else if (strncmp(err, "fuzz:", 5) != 0) {
        __builtin_trap();
    }
    ge_arena_free(arena);
    return 0;
}
