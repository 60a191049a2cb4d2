/* fuzz_sep.c - libFuzzer target for the 2030.5 client engine: the input is a server's answers (split
 * at NUL bytes), handed to whatever the engine asks for; a part that starts with '#' is a
 * Notification POSTed to the client instead.  The input's last byte, N, says how the answers'
 * bodies arrive: whole with the status (N = 0), or streamed through sep_client_body() in pieces of
 * N bytes, the last piece shorter than N going with the status.  A first part that starts with 'S'
 * is a saved control state to restore before anything else.  It must never crash, leak or act on
 * garbage, and the state it saves at the end must restore into a fresh engine as the same text. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gridedge/buf.h>
#include <gridedge/sep.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5",
                                .sfdi = 167261211391ULL, .seed = 1, .min_poll_s = 1,
                                .notify_uri = "http://127.0.0.1:9/ntfy" };
    sep_client_t *c;
    const uint8_t *p = data, *end = data + size;
    size_t piece = size ? data[size - 1] : 0;
    double now = 1800000000;

    if (sep_client_new(&c, &cfg) < 0)
        return 0;
    if (p < end && *p == 'S') {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        sep_client_restore(c, (const char *)p, len);
        p += len + (nul ? 1 : 0);
    }
    for (int step = 0; step < 64 && p <= end; step++) {
        sep_request_t req;
        sep_control_t ctl;
        ge_der_caps_t caps;
        ge_telemetry_t tel;
        while (p < end && *p == '#') {
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
            sep_client_notification(c, p + 1, len - 1, now);
            p += len + (nul ? 1 : 0);
        }
        while (sep_client_next_request(c, now, &req) == 1) {
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
            int status = len && p[0] == '!' ? 503 : 200;
            size_t fed = 0;
            while (piece && len - fed >= piece) {
                sep_client_body(c, req.id, p + fed, piece);
                fed += piece;
            }
            sep_client_response(c, req.id, status, "/mup/1", p + fed, len - fed, now);
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
    {
        /* what is saved restores, as itself */
        ge_buf_t saved, again;
        sep_client_t *w;
        ge_buf_init(&saved, NULL, 0);
        ge_buf_init(&again, NULL, 0);
        if (sep_client_save(c, &saved) == 0 && sep_client_new(&w, &cfg) == 0) {
            if (sep_client_restore(w, saved.data, saved.len) != 0 || sep_client_save(w, &again) != 0 ||
                again.len != saved.len || memcmp(again.data, saved.data, saved.len) != 0)
                __builtin_trap();
            sep_client_free(w);
        }
        ge_buf_free(&saved);
        ge_buf_free(&again);
    }
    sep_client_free(c);
    return 0;
}
