/* fuzz_sep.c - libFuzzer target for the 2030.5 client engine: the input is a server's answers (split
 * at NUL bytes), handed to whatever the engine asks for; it must never crash, leak or act on garbage. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/sep.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sep_client_config_t cfg = { "/dcap", "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", 167261211391ULL, 0, 1, 1,
                                NULL, NULL, NULL, 0 };
    sep_client_t *c;
    const uint8_t *p = data, *end = data + size;
    double now = 1800000000;

    if (sep_client_new(&c, &cfg) < 0)
        return 0;
    for (int step = 0; step < 64 && p <= end; step++) {
        sep_request_t req;
        sep_control_t ctl;
        ge_der_caps_t caps;
        ge_telemetry_t tel;
        while (sep_client_next_request(c, now, &req) == 1) {
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
            int status = len && p[0] == '!' ? 503 : 200;
            sep_client_response(c, req.id, status, "/mup/1", p, len, now);
            p += len + (nul ? 1 : 0);
            if (p >= end)
                break;
        }
        sep_client_control(c, now, &ctl);
        memset(&caps, 0, sizeof(caps));
        memset(&tel, 0, sizeof(tel));
        caps.rtg_max_w = 5000;
        caps.rtg_max_discharge_rate_w = 5000;
        tel.soc_pct = 50;
        sep_client_set_device(c, &caps, &tel);
        now += 7;
        if (p >= end)
            break;
    }
    sep_client_free(c);
    return 0;
}
