/* server.c - the head-end's HTTP(S) server for one case (see server.h). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/tls.h>

#include "conformance/server.h"

#define MAX_EXCHANGES 20000 /* a flooding client cannot make the evidence unbounded */
#define REPLY_EVIDENCE_MAX 4096
#define MAX_HANDSHAKES 2000 /* likewise for TLS handshakes */

typedef struct delayed {
    struct cf_server *srv;
    ge_http_exchange_t *ex;
    struct event *ev;
    int status;
    const char *type;
    char *body;
    size_t len;
    struct delayed *next;
} delayed_t;

struct cf_server {
    cf_server_opts_t opts;
    struct event_base *base;
    ge_http_server_t *http;
    ge_tls_ctx_t *tls;
    ge_tls_ctx_t *send_tls; /* https: our identity when we send to the client (2030.5 notifications) */
    cf_serve_state_t st;
    cf_vars_t vars;
    double t0;              /* clock at t = 0 */
    cf_exchange_t *ex;      /* method, path and body are owned (malloc'd) */
    char **replies;
    size_t n_ex, cap_ex, dropped;
    char **headers;         /* request headers per exchange (record_headers), parallel to ex */
    size_t cap_headers;
    delayed_t *delayed;
    char base_url[64];
    char url[128];
    /* the case's `send` lines: the head-end's own requests to the client (see send_due) */
    cf_captures_t caps;
    struct event *send_tick;
    struct sending *sending;
    int closing;
    cf_handshake_t *hs;     /* TLS handshakes begun (tls_info) */
    size_t n_hs, cap_hs;
};

/* One request the head-end sends to the client (a `send` line), until the client answers. */
typedef struct sending {
    struct cf_server *srv;
    ge_http_client_t *http;
    double t;
    char *method, *path, *sent;
    size_t sent_len;
    ge_buf_t answer;
    int done;
    struct sending *next;
} sending_t;

static double wall_clock(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static const char *suite_path(const char *suite)
{
    if (strcmp(suite, "oadr20b") == 0)
        return "/OpenADR2/Simple/2.0b";
    if (strcmp(suite, "oadr3") == 0)
        return "/openadr3";
    return "/dcap";
}

static const char *suite_type(const char *suite)
{
    if (strcmp(suite, "oadr20b") == 0)
        return "application/xml";
    if (strcmp(suite, "oadr3") == 0)
        return "application/json";
    return GE_MEDIA_SEP_XML;
}

static const char *suite_profile(const char *suite)
{
    if (strcmp(suite, "csip") == 0 || strcmp(suite, "csip-aus") == 0)
        return suite;
    if (strcmp(suite, "oadr20b") == 0)
        return "oadr20b";
    return "modern";
}

static void record(cf_server_t *s, double t, const char *method, const char *path, const char *body, size_t blen,
                   int status, const char *reply, size_t rlen)
{
    cf_exchange_t *x;
    char *m, *p, *b, *r;

    if (s->n_ex == MAX_EXCHANGES) {
        s->dropped++;
        return;
    }
    if (s->n_ex == s->cap_ex) {
        size_t cap = s->cap_ex ? s->cap_ex * 2 : 64;
        cf_exchange_t *nx = realloc(s->ex, cap * sizeof(*nx));
        if (!nx) {
            s->dropped++;
            return;
        }
        s->ex = nx;
        char **nr = realloc(s->replies, cap * sizeof(*nr));
        if (!nr) {
            s->dropped++;
            return;
        }
        s->replies = nr;
        s->cap_ex = cap;
    }
    m = dup_n(method, strlen(method));
    p = dup_n(path, strlen(path));
    b = dup_n(body ? body : "", body ? blen : 0);
    r = dup_n(reply ? reply : "", reply ? (rlen < REPLY_EVIDENCE_MAX ? rlen : REPLY_EVIDENCE_MAX) : 0);
    if (!m || !p || !b || !r) {
        free(m);
        free(p);
        free(b);
        free(r);
        s->dropped++;
        return;
    }
    x = &s->ex[s->n_ex];
    x->t = t;
    x->method = m;
    x->path = p;
    x->body = b;
    x->status = status;
    s->replies[s->n_ex] = r;
    s->n_ex++;
}

/* The request headers the cases look at (has-header, if-header), as "Name: value\n" lines. */
static char *request_headers(ge_http_exchange_t *ex)
{
    static const char *const names[] = { "Authorization", "Content-Type", "Accept" };
    ge_buf_t b;

    ge_buf_init(&b, NULL, 16 * 1024);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = ge_http_header(ex, names[i]);
        if (v && ge_buf_printf(&b, "%s: %s\n", names[i], v) < 0)
            break;
    }
    if (!b.data && ge_buf_puts(&b, "") < 0)
        return NULL;
    return b.data;
}

/* Keep HEADERS (owned from now on) with the exchange just recorded, if it was: s->headers runs
 * parallel to s->ex (NULL where none were kept). */
static void record_headers(cf_server_t *s, size_t n_before, char *headers)
{
    if (s->n_ex > n_before && s->n_ex > s->cap_headers) {
        size_t cap = s->cap_ex;
        char **nh = realloc(s->headers, cap * sizeof(*nh));
        if (nh) {
            memset(nh + s->cap_headers, 0, (cap - s->cap_headers) * sizeof(*nh));
            s->headers = nh;
            s->cap_headers = cap;
        }
    }
    if (s->n_ex > n_before && s->n_ex <= s->cap_headers)
        s->headers[s->n_ex - 1] = headers;
    else
        free(headers);
}

static void drop_delayed(cf_server_t *s, delayed_t *d)
{
    for (delayed_t **pp = &s->delayed; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    event_free(d->ev);
    free(d->body);
    free(d);
}

static void send_delayed(evutil_socket_t fd, short what, void *arg)
{
    delayed_t *d = arg;
    (void)fd;
    (void)what;

    ge_http_reply(d->ex, d->status, d->type, d->body, d->len);
    drop_delayed(d->srv, d);
}

static void handle(void *ud, ge_http_exchange_t *ex)
{
    cf_server_t *s = ud;
    double now = s->opts.clock(s->opts.clock_ud);
    double t = now - s->t0;
    const char *method = ge_http_method(ex), *path = ge_http_path(ex);
    size_t blen = 0;
    const char *b = ge_http_body(ex, &blen);
    char *body = dup_n(b ? b : "", b ? blen : 0);
    cf_answer_t ans;
    ge_buf_t out;
    int rc;

    ge_buf_init(&out, NULL, 4u * 1024u * 1024u);
    s->vars.now = now + s->opts.c->time_offset;
    char *headers = request_headers(ex);
    size_t n_before = s->n_ex;

    rc = body ? cf_serve_req(s->opts.c, &s->st, &s->vars, t, method, path, headers, body, suite_type(s->opts.suite),
                             &ans, &out)
              : GE_ERR_NOMEM;
    if (rc < 0) {
        ge_http_reply(ex, 500, NULL, NULL, 0);
        record(s, t, method, path, body, blen, 500, NULL, 0);
        record_headers(s, n_before, headers);
        headers = NULL;
        goto done;
    }
    record(s, t, method, path, body, blen, ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status, out.data, out.len);
    record_headers(s, n_before, headers);
    headers = NULL;
    if (ans.kind == CF_ANSWER_CLOSE) {
        ge_http_abort(ex);
        goto done;
    }
    if (ans.location[0])
        ge_http_set_header(ex, "Location", ans.location);
    if (ans.delay_ms > 0) {
        delayed_t *d = calloc(1, sizeof(*d));
        struct timeval tv = { ans.delay_ms / 1000, (ans.delay_ms % 1000) * 1000 };
        if (d && (d->ev = evtimer_new(s->base, send_delayed, d)) != NULL) {
            d->srv = s;
            d->ex = ex;
            d->status = ans.status;
            d->type = ans.type;
            d->len = out.len;
            d->body = out.len ? dup_n(out.data, out.len) : NULL;
            d->next = s->delayed;
            s->delayed = d;
            evtimer_add(d->ev, &tv);
            goto done;
        }
        free(d);
    }
    ge_http_reply(ex, ans.status, out.len ? ans.type : NULL, out.data, out.len);
done:
    free(body);
    ge_buf_free(&out);
}

static int on_send_body(void *ud, const void *data, size_t len)
{
    sending_t *q = ud;
    return ge_buf_append(&q->answer, data, len);
}

static void on_send_done(void *ud, const ge_http_response_t *resp)
{
    sending_t *q = ud;
    cf_server_t *s = q->srv;

    q->done = 1;
    if (s->closing)
        return;
    /* evidence: "SEND METHOD" to the URL's path, the client's answer as the body, ours as the reply */
    record(s, q->t, q->method, q->path, q->answer.data ? q->answer.data : "", q->answer.len,
           resp->err ? 0 : resp->status, q->sent, q->sent_len);
}

static void sending_free(sending_t *q)
{
    ge_http_client_free(q->http);
    ge_buf_free(&q->answer);
    free(q->method);
    free(q->path);
    free(q->sent);
    free(q);
}

/* Send action A now (T seconds after the start): placeholders filled, the answer recorded. */
static void send_one(cf_server_t *s, const cf_action_t *a, double t)
{
    ge_buf_t url, body;
    ge_http_client_opts_t ho;
    ge_http_request_t rq;
    sending_t *q = calloc(1, sizeof(*q));
    char method[16], base[256];
    const char *why = NULL, *slash;
    int rc;

    snprintf(method, sizeof(method), "SEND %s", a->method);
    ge_buf_init(&url, NULL, 4096);
    ge_buf_init(&body, NULL, 4u * 1024u * 1024u);
    rc = cf_send_render(a, &s->vars, &url, &body);
    if (!q)
        why = "out of memory";
    else if (rc == GE_ERR_NOTFOUND)
        why = "not sent: its URL names a value the client never sent (capture)";
    else if (rc < 0)
        why = "not sent: the body is too large";
    else if (strncmp(url.data, "http://", 7) != 0 && strncmp(url.data, "https://", 8) != 0)
        why = "not sent: only http:// and https:// URLs can be sent to";
    else if (url.data[4] == 's' && !s->send_tls)
        why = "not sent: https:// needs the head-end's TLS identity (an https case)";
    if (!why) {
        slash = strchr(url.data + (url.data[4] == 's' ? 8 : 7), '/');
        snprintf(base, sizeof(base), "%.*s", (int)(slash ? (size_t)(slash - url.data) : strlen(url.data)), url.data);
        q->srv = s;
        q->t = t;
        q->method = strdup(method);
        q->path = strdup(slash ? slash : "/");
        q->sent = body.len ? dup_n(body.data, body.len) : dup_n("", 0);
        q->sent_len = body.len;
        ge_buf_init(&q->answer, NULL, 1u << 20);
        memset(&ho, 0, sizeof(ho));
        ho.url = base;
        ho.tls = url.data[4] == 's' ? s->send_tls : NULL;
        ho.connect_timeout_ms = 3000;
        ho.read_timeout_ms = 5000;
        ho.total_timeout_ms = 8000;
        ho.log = s->opts.log;
        if (!q->method || !q->path || !q->sent || ge_http_client_new(&q->http, s->base, &ho) < 0) {
            why = "not sent: cannot reach the URL";
        } else {
            memset(&rq, 0, sizeof(rq));
            rq.method = a->method;
            rq.path = q->path;
            rq.content_type = a->type ? a->type : suite_type(s->opts.suite);
            rq.accept = rq.content_type;
            rq.body = q->sent;
            rq.body_len = q->sent_len;
            rq.on_body = on_send_body;
            rq.on_done = on_send_done;
            rq.ud = q;
            if (ge_http_client_request(q->http, &rq) < 0)
                why = "not sent: the request could not be started";
        }
        if (!why) {
            q->next = s->sending;
            s->sending = q;
            q = NULL;
        }
    }
    if (why)
        record(s, t, method, url.data ? url.data : a->path, "", 0, 0, why, strlen(why));
    if (q) {
        if (q->srv)
            sending_free(q);
        else
            free(q);
    }
    ge_buf_free(&url);
    ge_buf_free(&body);
}

/* Every 100 ms: the sends that fell due, in the server's clock (simulated or real). */
static void send_due(evutil_socket_t fd, short what, void *arg)
{
    cf_server_t *s = arg;
    double t = s->opts.clock(s->opts.clock_ud) - s->t0;
    (void)fd;
    (void)what;

    s->vars.now = s->opts.clock(s->opts.clock_ud) + s->opts.c->time_offset;
    for (size_t i = 0; i < s->opts.c->n_actions; i++) {
        const cf_action_t *a = &s->opts.c->actions[i];
        if (a->kind != CF_ACT_SEND || s->st.fired[i] || a->at > t)
            continue;
        s->st.fired[i] = 1;
        send_one(s, a, t);
    }
}

/* --- TLS handshakes as evidence ----------------------------------------------------------------
 * OpenSSL's info callback on the server's context sees every handshake: one begins for the record
 * when a ClientHello has arrived, and ends at Finished or at the first fatal alert, whoever sent it.
 * A client that refuses our chain sends a fatal alert (or just hangs up) instead of its Finished:
 * that is the evidence a certificate-path case needs, since such a client never sends a request. */

static int hs_ctx_index(void)
{
    static int idx = -1;
    if (idx < 0)
        idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return idx;
}

static int hs_ssl_index(void)
{
    static int idx = -1;
    if (idx < 0)
        idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return idx;
}

static void tls_info(const SSL *ssl, int where, int ret)
{
    cf_server_t *s = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), hs_ctx_index());
    size_t slot = (size_t)(uintptr_t)SSL_get_ex_data(ssl, hs_ssl_index());
    cf_handshake_t *h;

    if (!s)
        return;
    if (!slot) {
        if (!(where & SSL_CB_LOOP) || SSL_get_state(ssl) != TLS_ST_SR_CLNT_HELLO || s->n_hs == MAX_HANDSHAKES)
            return;
        if (s->n_hs == s->cap_hs) {
            size_t cap = s->cap_hs ? s->cap_hs * 2 : 16;
            cf_handshake_t *n = realloc(s->hs, cap * sizeof(*n));
            if (!n)
                return;
            s->hs = n;
            s->cap_hs = cap;
        }
        h = &s->hs[s->n_hs++];
        memset(h, 0, sizeof(*h));
        h->t = cf_server_elapsed(s);
        h->outcome = CF_TLS_UNFINISHED;
        snprintf(h->detail, sizeof(h->detail), "the client stopped before the handshake finished");
        SSL_set_ex_data((SSL *)ssl, hs_ssl_index(), (void *)(uintptr_t)s->n_hs);
        return;
    }
    h = &s->hs[slot - 1];
    if (h->outcome != CF_TLS_UNFINISHED)
        return;
    if (where & SSL_CB_HANDSHAKE_DONE) {
        h->outcome = CF_TLS_COMPLETED;
        snprintf(h->detail, sizeof(h->detail), "%s %s", SSL_get_version(ssl),
                 SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
    } else if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
        int ours = (where & SSL_CB_WRITE) != 0;
        h->outcome = ours ? CF_TLS_FAILED : CF_TLS_REFUSED;
        snprintf(h->detail, sizeof(h->detail), "the %s sent a fatal alert: %s", ours ? "head-end" : "client",
                 SSL_alert_desc_string_long(ret));
    }
}

const cf_handshake_t *cf_server_handshakes(const cf_server_t *s, size_t *n)
{
    *n = s->n_hs;
    return s->hs;
}

int cf_server_new(cf_server_t **out, struct event_base *base, const cf_server_opts_t *opts, char *err, size_t errlen)
{
    cf_server_t *s = calloc(1, sizeof(*s));
    ge_http_server_opts_t so;
    int rc;

    *out = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    s->opts = *opts;
    if (!s->opts.clock)
        s->opts.clock = wall_clock;
    s->base = base;
    s->st.fired = calloc(opts->c->n_actions ? opts->c->n_actions : 1, sizeof(unsigned));
    if (!s->st.fired) {
        rc = GE_ERR_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (opts->https) {
        char ca[600], cert[600], key[600];
        ge_tls_opts_t to;
        snprintf(ca, sizeof(ca), "%s/ca.pem", opts->pki_dir);
        snprintf(cert, sizeof(cert), "%s/server.pem", opts->pki_dir);
        snprintf(key, sizeof(key), "%s/server.key", opts->pki_dir);
        memset(&to, 0, sizeof(to));
        to.ca_file = ca;
        to.cert_file = opts->cert_file ? opts->cert_file : cert;
        to.key_file = opts->cert_file && opts->key_file ? opts->key_file : key;
        to.log = opts->log;
        rc = ge_tls_ctx_new(&s->tls, ge_tls_profile_find(suite_profile(opts->suite)), GE_TLS_SERVER, &to);
        if (rc < 0) {
            snprintf(err, errlen, "TLS server set-up: %s", ge_strerror(rc));
            goto fail;
        }
        if (hs_ctx_index() < 0 || hs_ssl_index() < 0 ||
            !SSL_CTX_set_ex_data(ge_tls_ctx_ssl_ctx(s->tls), hs_ctx_index(), s)) {
            rc = GE_ERR_NOMEM;
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        SSL_CTX_set_info_callback(ge_tls_ctx_ssl_ctx(s->tls), tls_info);
        /* Sending to the client (a 2030.5 server POSTs Notifications): the head-end's own
         * certificate as the TLS client's, the client's checked against the CA.  2030.5 identifies
         * devices by certificate, not by host name. */
        to.cert_file = cert;
        to.key_file = key;
        to.no_verify_name = 1;
        if (ge_tls_ctx_new(&s->send_tls, ge_tls_profile_find(suite_profile(opts->suite)), GE_TLS_CLIENT, &to) < 0)
            s->send_tls = NULL; /* then a send to an https:// URL is recorded as not sent, with why */
    }
    memset(&so, 0, sizeof(so));
    so.tls = s->tls;
    so.handler = handle;
    so.ud = s;
    so.log = opts->log;
    so.idle_timeout_s = 10;
    rc = ge_http_server_new(&s->http, base, &so);
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1: %s", ge_strerror(rc));
        goto fail;
    }
    snprintf(s->base_url, sizeof(s->base_url), "%s://127.0.0.1:%u", opts->https ? "https" : "http",
             (unsigned)ge_http_server_port(s->http));
    snprintf(s->url, sizeof(s->url), "%s%s", s->base_url, suite_path(opts->suite));
    s->vars.base = s->base_url;
    s->vars.captures = &s->caps;
    for (size_t i = 0; i < opts->c->n_actions && !s->send_tick; i++)
        if (opts->c->actions[i].kind == CF_ACT_SEND) {
            struct timeval tv = { 0, 100000 };
            if (!(s->send_tick = event_new(base, -1, EV_PERSIST, send_due, s)) || event_add(s->send_tick, &tv) < 0) {
                rc = GE_ERR_NOMEM;
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
    cf_server_start(s);
    *out = s;
    return 0;
fail:
    cf_server_free(s);
    return rc;
}

void cf_server_free(cf_server_t *s)
{
    if (!s)
        return;
    s->closing = 1;
    if (s->send_tick)
        event_free(s->send_tick);
    while (s->sending) {
        sending_t *q = s->sending;
        s->sending = q->next;
        sending_free(q);
    }
    cf_captures_clear(&s->caps);
    while (s->delayed) {
        ge_http_reply(s->delayed->ex, 503, NULL, NULL, 0);
        drop_delayed(s, s->delayed);
    }
    ge_http_server_free(s->http);
    ge_tls_ctx_free(s->tls);
    ge_tls_ctx_free(s->send_tls);
    free(s->hs);
    for (size_t i = 0; i < s->n_ex; i++) {
        free((char *)s->ex[i].method);
        free((char *)s->ex[i].path);
        free((char *)s->ex[i].body);
        free(s->replies[i]);
    }
    free(s->ex);
    for (size_t i = 0; i < s->cap_headers; i++)
        free(s->headers[i]);
    free(s->headers);
    free(s->replies);
    free(s->st.fired);
    free(s);
}

void cf_server_start(cf_server_t *s)
{
    /* a (re)start: the sends are due again from the new t = 0 */
    for (size_t i = 0; i < s->opts.c->n_actions; i++)
        if (s->opts.c->actions[i].kind == CF_ACT_SEND)
            s->st.fired[i] = 0;
    s->t0 = s->opts.clock(s->opts.clock_ud);
    s->vars.start = s->t0 + s->opts.c->time_offset;
    s->vars.now = s->vars.start;
}

double cf_server_elapsed(const cf_server_t *s)
{
    return s->opts.clock(s->opts.clock_ud) - s->t0;
}

double cf_server_start_time(const cf_server_t *s)
{
    return s->vars.start;
}

cf_vars_t *cf_server_vars(cf_server_t *s)
{
    return &s->vars;
}

const char *cf_server_base_url(const cf_server_t *s)
{
    return s->base_url;
}

const char *cf_server_url(const cf_server_t *s)
{
    return s->url;
}

void cf_server_record(cf_server_t *s, const char *method, const char *path, const char *body, int status,
                      const char *reply)
{
    size_t n_before = s->n_ex;

    record(s, cf_server_elapsed(s), method, path, body, body ? strlen(body) : 0, status, reply,
           reply ? strlen(reply) : 0);
    record_headers(s, n_before, NULL);
}

const cf_exchange_t *cf_server_exchanges(const cf_server_t *s, size_t *n, size_t *dropped)
{
    *n = s->n_ex;
    if (dropped)
        *dropped = s->dropped;
    return s->ex;
}

const char *cf_server_reply(const cf_server_t *s, size_t i)
{
    return i < s->n_ex ? s->replies[i] : "";
}

const char *const *cf_server_headers(const cf_server_t *s, size_t *n)
{
    *n = s->n_ex < s->cap_headers ? s->n_ex : s->cap_headers;
    return (const char *const *)s->headers;
}
