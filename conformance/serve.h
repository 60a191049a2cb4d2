/* serve.h - what the head-end answers, as a pure function of the case, the time and the request.
 * The network side (conformance/headend.c) feeds each request in and writes the answer out; all
 * case logic (resources over time, deletions, faults, scripted replies, placeholders) lives here
 * so it is testable without sockets. */
#ifndef CONFORMANCE_SERVE_H
#define CONFORMANCE_SERVE_H

#include <stddef.h>

#include <gridedge/buf.h>

#include "conformance/case.h"

/* Values the placeholders in bodies stand for. */
typedef struct cf_vars {
    double now;             /* the server's clock: real time + the case's time-offset (unix s) */
    double start;           /* the server's clock when the client under test was started */
    const char *lfdi, *sfdi; /* the client identity the head-end issued */
    const char *base;       /* the head-end's URL base, e.g. https://127.0.0.1:4443 */
    const char *ven_name, *ven_id, *registration_id;
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

/* Append TEXT to OUT with placeholders replaced: {now}, {now+N}, {now-N} (server clock, unix s),
 * {start[+-N]} (server clock when the client started: fixed event times), {isonow[+-N]} and
 * {isostart[+-N]} (the same as ISO 8601 UTC), {lfdi}, {sfdi}, {base}, {ven_name}, {ven_id},
 * {registration_id}; anything else in braces is copied as is. */
int cf_substitute(const char *text, size_t len, const cf_vars_t *vars, ge_buf_t *out);

#endif
