/* fuzz_oadr3.c - libFuzzer target for the OpenADR 3.0 VEN engine's JSON readers: the input is the
 * VTN's answers (split at NUL bytes), handed to whatever the engine asks for, each also tried as a
 * webhook notification and as one event; it must never crash, leak or act on garbage. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/oadr3.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const res[] = { "pv", "battery" };
    oadr3_ven_config_t cfg;
    oadr3_ven_t *v;
    const uint8_t *p = data, *end = data + size;
    double now = 1800000000;
    char why[256];

    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = "/openadr3";
    cfg.ven_name = "fuzz";
    cfg.client_id = "id";
    cfg.client_secret = "secret";
    cfg.callback_url = "http://127.0.0.1:9/hook";
    cfg.callback_token = "cb";
    cfg.resources = res;
    cfg.n_resources = 2;
    if (oadr3_ven_new(&v, &cfg) < 0)
        return 0;
    oadr3_check_event((const char *)data, size, why, sizeof(why));
    for (int step = 0; step < 64 && p < end; step++) {
        oadr3_request_t req;
        oadr3_control_t ctl;
        int guard = 0;
        while (p < end && guard++ < 16 && oadr3_ven_next_request(v, now, &req) == 1) {
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
            int status = len && p[0] == '!' ? 401 : len && p[0] == '#' ? 201 : 200;
            oadr3_ven_response(v, req.id, status, "/openadr3/x/loc-1", p, len, now);
            oadr3_ven_notification(v, p, len, now);
            p += len + (nul ? 1 : 0);
        }
        oadr3_ven_control(v, now, &ctl);
        now += 7;
    }
    oadr3_ven_shutdown(v);
    oadr3_ven_free(v);
    return 0;
}
