/* fuzz_dnssd.c - libFuzzer target for the DNS-SD answer parser: any datagram is parsed without
 * crashing, reading out of bounds or looping; what it yields is well-formed. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/sep_dnssd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sep_dnssd_result_t r;
    char why[160];

    memset(&r, 0, sizeof(r));
    (void)sep_dnssd_parse(data, size, NULL, &r, why, sizeof(why));
    if (r.n > SEP_DNSSD_MAX_SERVERS || r.n_hosts > SEP_DNSSD_MAX_SERVERS)
        __builtin_trap();
    for (size_t i = 0; i < r.n; i++)
        if (memchr(r.servers[i].url, 0, sizeof(r.servers[i].url)) == NULL)
            __builtin_trap();
    (void)sep_dnssd_best(&r);
    return 0;
}
