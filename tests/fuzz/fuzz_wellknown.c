/* fuzz_wellknown.c - libFuzzer target for the CSIP-AUS /.well-known/csipaus answer parser: any
 * bytes are read without crashing, leaking or reading out of bounds; a version it picks comes with
 * a DeviceCapability path the client can send. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/sep.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sep_csipaus_choice_t ch;
    char why[160];
    int rc = sep_csipaus_versions_parse(data, size, &ch, why, sizeof(why));

    if (memchr(why, 0, sizeof(why)) == NULL)
        __builtin_trap();
    if (rc < 0 && rc != GE_ERR_PARSE && rc != GE_ERR_LIMIT)
        __builtin_trap();
    if (rc == 0 && ch.version != SEP_CSIPAUS_NONE) {
        size_t n = strnlen(ch.dcap_path, sizeof(ch.dcap_path));
        if (n == 0 || n == sizeof(ch.dcap_path) || ch.dcap_path[0] != '/')
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)ch.dcap_path[i] <= 0x20 || (unsigned char)ch.dcap_path[i] >= 0x7f)
                __builtin_trap();
    }
    return 0;
}
