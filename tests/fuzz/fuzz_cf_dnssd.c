/* fuzz_cf_dnssd.c - libFuzzer target for the head-end's DNS-SD responder (conformance/dnssd.c):
 * any datagram gets an answer, no answer or a refusal, never a crash or a read past its end; and
 * every answer it gives is one our own client's parser accepts. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <gridedge/sep_dnssd.h>

#include "conformance/dnssd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const cf_dnssd_service_t svc = { NULL, NULL, NULL, { 127, 0, 0, 1 }, 4443, 1, "/dcap" };
    uint8_t ans[CF_DNSSD_MAX_MSG];
    char qname[300], why[128];
    sep_dnssd_result_t res = { 0 };
    int n = cf_dnssd_answer(data, size, &svc, ans, sizeof(ans), qname, sizeof(qname), why, sizeof(why));

    if (n > (int)sizeof(ans))
        __builtin_trap();
    if (n > 0 && sep_dnssd_parse(ans, (size_t)n, NULL, &res, why, sizeof(why)) != 0)
        __builtin_trap();
    return 0;
}
