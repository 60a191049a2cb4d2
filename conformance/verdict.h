/* verdict.h - judge a case's expectations against what the head-end observed: the HTTP exchanges
 * with the client under test and the samples of its status file.  Pure: no I/O, no clock. */
#ifndef CONFORMANCE_VERDICT_H
#define CONFORMANCE_VERDICT_H

#include <stddef.h>

#include <gridedge/oadr_sig.h>

#include "conformance/case.h"

typedef struct cf_exchange {
    double t;               /* seconds after the client started */
    const char *method;
    const char *path;       /* request target as sent (with any query) */
    const char *body;       /* request body, NUL-terminated (may be "") */
    int status;             /* the head-end's answer */
} cf_exchange_t;

/* One TLS handshake a client began with the head-end (its ClientHello arrived). */
typedef enum cf_tls_outcome {
    CF_TLS_UNFINISHED = 0, /* no Finished and no alert (yet): the client closed or stalled */
    CF_TLS_COMPLETED,      /* the handshake finished */
    CF_TLS_REFUSED,        /* the client aborted it with a fatal alert (e.g. it refused our chain) */
    CF_TLS_FAILED          /* the head-end aborted it (e.g. it refused the client's certificate) */
} cf_tls_outcome;

typedef struct cf_handshake {
    double t;               /* seconds after the client started, when its ClientHello arrived */
    cf_tls_outcome outcome;
    char detail[96];        /* the alert, e.g. "the client sent a fatal alert: bad certificate" */
} cf_handshake_t;

typedef struct cf_sample {
    double t;
    const char *json;       /* the status file's content at T */
} cf_sample_t;

typedef struct cf_observed {
    const cf_exchange_t *ex;
    size_t n_ex;
    const cf_sample_t *samples;
    size_t n_samples;
    double end;             /* when the run ended (the window end for "until the end") */
    double start;           /* the server's clock when the client started ({server-time} at t = 0) */
} cf_observed_t;

/* "completed", "refused" (an unfinished handshake counts: the client gave up on it), "failed". */
const char *cf_tls_outcome_name(cf_tls_outcome o);

/* What SUITE requires of everything a client sends, whatever a case expects: the body of each of
 * its POSTs and PUTs carries the suite's media type (HEADERS[i], "Name: value" lines as the server
 * keeps them, for OBS->ex[i]; NULL or beyond N_HEADERS: not judged) and is a valid document of the
 * suite's schema, and so is the body of each 2xx answer to a head-end send.  csip and csip-aus:
 * application/sep+xml, IEEE 2030.5 with the CSIP-AUS extensions (v1.2 or v1.3 namespace); oadr20b:
 * application/xml, an OpenADR 2.0b payload; oadr3: application/json, well-formed JSON.  1, or 0 with
 * the first breach (what, when, why) in DETAIL. */
int cf_wire_check(const char *suite, const cf_observed_t *obs, const char *const *headers, size_t n_headers,
                  char *detail, size_t detail_len);

/* cf_expect_check_headers() for `expect handshake` too: HS[0..N_HS) are the TLS handshakes the client
 * began (cf_expect_check and cf_expect_check_headers judge those expectations as if there were none). */
int cf_expect_check_tls(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers, size_t n_headers,
                        const cf_handshake_t *hs, size_t n_hs, char *detail, size_t detail_len);

/* Non-zero when PATH (a request target) matches PATTERN: equal without the query string, or, for a
 * pattern ending in '*', starting with the pattern's prefix; a pattern holding '?' compares the
 * query too. */
int cf_path_matches(const char *pattern, const char *path);

/* 1 if BODY is JSON satisfying the rules of schema NAME (cf_json_schema_rules), else 0. */
int cf_json_conforms(const char *name, const char *body);

/* 1 if E holds for OBS, 0 if not; DETAIL gets one line saying why, either way. */
int cf_expect_check(const cf_expect_t *e, const cf_observed_t *obs, char *detail, size_t detail_len);

/* cf_expect_check() with the request headers of the exchanges: HEADERS[i] ("Name: value\n" lines, or
 * NULL) belongs to OBS->ex[i] for i < N_HEADERS; `has-header` needs them. */
int cf_expect_check_headers(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers,
                            size_t n_headers, char *detail, size_t detail_len);

/* `expect signed` E: every request matching it carries a valid OpenADR XML signature by SIG (the
 * head-end's verifier, the run's CA; NULL: none counts as signed), its ReplayProtect judged
 * against the real clock REAL_START + t, and there are COUNT_MIN..MAX of them.  (The other
 * cf_expect_check* functions judge an `expect signed` as unmet: they have no verifier.) */
int cf_expect_check_signed(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers,
                           size_t n_headers, oadr_sig_t *sig, double real_start, char *detail, size_t dlen);

/* Look up KEY (dotted: battery.power_w, active_controls.0.id, active_controls.# for a length) in
 * JSON text and compare it as E says; SERVER_TIME is what {server-time} stands for in this sample.
 * 1 holds, 0 does not, -1 the key is missing or JSON is bad. */
int cf_status_holds(const cf_expect_t *e, const char *json, double server_time);

#endif
