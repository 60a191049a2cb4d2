/* fuzz_catalogue.c - libFuzzer target for the conformance catalogue parser: any bytes must give
 * either a catalogue or a positioned error, never a crash or a leak. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conformance/catalogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_catalogue_t cat;
    char err[256];

    if (cf_catalogue_parse("fuzz", (const char *)data, size, &cat, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < cat.n; i++)
            if (strlen(cat.cases[i].id) == 0)
                __builtin_trap();
        cf_catalogue_free(&cat);
    } else if (strncmp(err, "fuzz:", 5) != 0) {
        __builtin_trap();
    }
    return 0;
}
