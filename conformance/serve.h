/* serve.h - what the head-end answers, as a pure function of the case, the time and the request.
 * The network side (conformance/headend.c) feeds each request in and writes the answer out; all
 * case logic (resources over time, deletions, faults, scripted replies, placeholders) lives here
 * so it is testable without sockets. */
#ifndef CONFORMANCE_SERVE_H
#define CONFORMANCE_SERVE_H

#include <stddef.h>

#include <gridedge/buf.h>
#include <gridedge/oadr_sig.h>

#include "conformance/case.h"

/* What the case's `capture` lines took from the client's requests, by capture (caller-owned,
 * zeroed; cf_captures_clear() frees the values). */
typedef struct cf_captures {
    const char *name[CF_MAX_CAPTURES];
    char *value[CF_MAX_CAPTURES];
} cf_captures_t;

void cf_captures_clear(cf_captures_t *caps);

/* Values the placeholders in bodies stand for. */
typedef struct cf_vars {
    double now;             /* the server's clock: real time + the case's time-offset (unix s) */
    double start;           /* the server's clock when the client under test was started */
    const char *lfdi, *sfdi; /* the client identity the head-end issued */
    const char *base;       /* the head-end's URL base, e.g. https://127.0.0.1:4443 */
    const char *ven_name, *ven_id, *registration_id;
    const char *client_id, *client_secret; /* the OAuth2 client credentials the client was given */
    cf_captures_t *captures; /* NULL: `capture` lines take nothing, {NAME} stays as is */
    /* `sign-payloads`: the OpenADR payloads of replies and sends are XML-signed with this (the
     * ReplayProtect timestamp on the real clock: NOW - TIME_OFFSET); NULL: sent as written */
    oadr_sig_t *signer;
    double time_offset;
} cf_vars_t;

/* Mutable per-run state: how often each fault and reply has fired, POST counter. */
typedef struct cf_serve_state {
    unsigned *fired;        /* one per case action; caller-allocated, zeroed */
    unsigned posts;
} cf_serve_state_t;

typedef enum cf_answer_kind {
    CF_ANSWER_HTTP,         /* send STATUS with BODY */
    CF_ANSWER_CLOSE,        /* drop the connection */
    CF_ANSWER_GARBAGE       /* send 200 with a malformed body */
} cf_answer_kind;

typedef struct cf_answer {
    cf_answer_kind kind;
    int status;
    const char *type;       /* media type, or NULL for none */
    char location[600];     /* Location header, or "" */
    int delay_ms;           /* wait this long before answering */
    const cf_action_t *by;  /* the action that decided the answer, NULL for defaults */
} cf_answer_t;

/* Answer METHOD PATH (with request BODY) at time T (seconds after the client started).  The answer's
 * body, placeholders filled in, is appended to BODY_OUT.  DEFAULT_TYPE is the suite's media type. */
int cf_serve(const cf_case_t *c, cf_serve_state_t *st, const cf_vars_t *vars, double t, const char *method,
             const char *path, const char *body, const char *default_type, cf_answer_t *ans, ge_buf_t *body_out);

/* cf_serve() for a request whose headers are HEADERS ("Name: value\n" lines, may be NULL): faults
 * and replies with if-header / unless-header look at them. */
int cf_serve_req(const cf_case_t *c, cf_serve_state_t *st, const cf_vars_t *vars, double t, const char *method,
                 const char *path, const char *headers, const char *body, const char *default_type, cf_answer_t *ans,
                 ge_buf_t *body_out);

/* The URL and body of send action A (placeholders filled) into URL and BODY: 0, or GE_ERR_NOTFOUND
 * when the URL still holds a placeholder (e.g. nothing was captured for it yet). */
int cf_send_render(const cf_action_t *a, const cf_vars_t *vars, ge_buf_t *url, ge_buf_t *body);

/* Append TEXT to OUT with placeholders replaced: {now}, {now+N}, {now-N} (server clock, unix s),
 * {start[+-N]} (server clock when the client started: fixed event times), {isonow[+-N]} and
 * {isostart[+-N]} (the same as ISO 8601 UTC), {lfdi}, {sfdi}, {base}, {ven_name}, {ven_id},
 * {registration_id}, {client_id}, {client_secret}, and the case's captures ({NAME}); anything else in
 * braces is copied as is. */
int cf_substitute(const char *text, size_t len, const cf_vars_t *vars, ge_buf_t *out);

#endif
