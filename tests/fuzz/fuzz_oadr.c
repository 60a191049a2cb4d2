/* fuzz_oadr.c - libFuzzer target for the OpenADR 2.0b VEN engine: the input is the VTN's side
 * (split at NUL bytes), each part the answer to whatever the engine asks next, or, when it starts
 * with 'P', a payload the VTN pushes, or with 'S', a saved state to restore; the engine also gets
 * readings, targets and the owner's opt-outs.  It must never crash, leak, flood or act on garbage,
 * and the state it saves at the end must restore into a fresh engine as the same text. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/buf.h>
#include <gridedge/oadr.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oadr_ven_config_t cfg = { "/OpenADR2/Simple/2.0b", "fuzz-ven", NULL, NULL, 0, 0, 1, NULL, NULL,
                              size && data[0] == 'P' ? "http://127.0.0.1:9/OpenADR2/Simple/2.0b" : NULL, 0,
                              1, 0.2 }; /* a base price: relative price signals are taken */
    oadr_ven_t *v;
    const uint8_t *p = data, *end = data + size;
    double now = 1800000000;
    ge_buf_t ans;

    if (oadr_ven_new(&v, &cfg) < 0)
        return 0;
    ge_buf_init(&ans, NULL, 1u << 20);
    oadr_ven_opt_out(v, "EV-2");
    oadr_ven_add_target(v, OADR_TARGET_RESOURCE, "RES-1");
    for (int step = 0; step < 64 && p < end; step++) {
        oadr_request_t req;
        oadr_control_t ctl;
        oadr_sample_t s;
        int guard = 0;
        memset(&s, 0, sizeof(s));
        s.power_w = 1000 + step;
        s.energy_wh = 100 * step;
        s.online = 1;
        oadr_ven_sample(v, now, &s);
        while (p < end && guard++ < 16) {
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
            if (len && p[0] == 'P') {
                ge_buf_clear(&ans);
                oadr_ven_push(v, p + 1, len - 1, now, &ans);
            } else if (len && p[0] == 'S') {
                oadr_ven_restore(v, (const char *)p + 1, len - 1);
            } else if (oadr_ven_next_request(v, now, &req) == 1) {
                oadr_ven_response(v, req.id, len && p[0] == '!' ? 503 : 200, p, len, now);
            } else {
                break;
            }
            p += len + (nul ? 1 : 0);
        }
        oadr_ven_control(v, now, &ctl);
        now += 1;
    }
    /* what is saved restores, as itself */
    ge_buf_clear(&ans);
    if (oadr_ven_save(v, &ans) == 0) {
        oadr_ven_t *w;
        ge_buf_t again;
        ge_buf_init(&again, NULL, 1u << 20);
        if (oadr_ven_new(&w, &cfg) == 0) {
            if (oadr_ven_restore(w, ans.data, ans.len) != 0 || oadr_ven_save(w, &again) != 0 || again.len != ans.len ||
                (ans.len && memcmp(again.data, ans.data, ans.len) != 0))
                __builtin_trap();
            oadr_ven_free(w);
        }
        ge_buf_free(&again);
    }
    ge_buf_free(&ans);
    oadr_ven_free(v);
    return 0;
}
