/* server.h - the head-end's HTTP(S) side: serves one case on 127.0.0.1 (answers from serve.c) on the
 * caller's event loop and keeps every exchange as evidence.  Its clock is the caller's, so the demo
 * can play a day in a minute while the conformance runner uses real time. */
#ifndef CONFORMANCE_SERVER_H
#define CONFORMANCE_SERVER_H

#include <stddef.h>

#include <gridedge/log.h>

#include "conformance/case.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"

struct event_base;

typedef struct cf_server cf_server_t;

typedef struct cf_server_opts {
    const char *suite;          /* selects the URL path, media type and TLS profile */
    const cf_case_t *c;         /* borrowed; outlives the server */
    int https;
    const char *pki_dir;        /* https: ca.pem, server.pem, server.key in it */
    double (*clock)(void *ud);  /* unix seconds of the (real or simulated) world; NULL = wall clock */
    void *clock_ud;
    const ge_log_t *log;
    const char *cert_file;      /* https: the chain to present (leaf first) and its key; NULL: */
    const char *key_file;       /* pki_dir's server.pem and server.key */
} cf_server_opts_t;

int cf_server_new(cf_server_t **out, struct event_base *base, const cf_server_opts_t *opts, char *err,
                  size_t errlen);
void cf_server_free(cf_server_t *s);

/* Start the case's clock: t = 0 now; the server's time is the clock plus the case's time-offset. */
void cf_server_start(cf_server_t *s);

/* Seconds since cf_server_start(), on the server's clock. */
double cf_server_elapsed(const cf_server_t *s);

/* The server's clock at t = 0 (what {start} stands for). */
double cf_server_start_time(const cf_server_t *s);

/* The placeholders' values; set lfdi/sfdi etc. before the client starts. */
cf_vars_t *cf_server_vars(cf_server_t *s);

/* "https://127.0.0.1:PORT" and the client's URL (base + the suite's path, e.g. /dcap). */
const char *cf_server_base_url(const cf_server_t *s);
const char *cf_server_url(const cf_server_t *s);

/* The exchanges so far (valid until the next exchange or free), and how many did not fit. */
const cf_exchange_t *cf_server_exchanges(const cf_server_t *s, size_t *n, size_t *dropped);

/* The request headers of the exchanges ("Name: value\n" lines of Authorization, Content-Type and
 * Accept; an entry may be NULL), parallel to cf_server_exchanges(); *N of them. */
const char *const *cf_server_headers(const cf_server_t *s, size_t *n);

/* The TLS handshakes clients began (https), in order, *N of them (valid until the next or free):
 * each from its ClientHello to Finished or a fatal alert - what `expect handshake` judges. */
const cf_handshake_t *cf_server_handshakes(const cf_server_t *s, size_t *n);

/* Record an exchange that did not come over HTTP (e.g. a DNS-SD question, method "DNS") at the
 * current time, as evidence and for the expectations; REPLY may be NULL. */
void cf_server_record(cf_server_t *s, const char *method, const char *path, const char *body, int status,
                      const char *reply);

/* What the server answered to exchange I (cut to 4 KiB). */
const char *cf_server_reply(const cf_server_t *s, size_t i);

#endif
