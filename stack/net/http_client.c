/* http_client.c - the HTTP/1.1 client (see gridedge/http.h): one keep-alive evhttp connection
 * per server over a TLS profile, bodies streamed to the caller, bounded time and size, retries
 * with exponential backoff and jitter for connection failures and 5xx answers.  A host name is
 * resolved off the loop (resolve.c) and evhttp is given the address, so it never resolves (and
 * never blocks) itself. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>

#include "net_internal.h"

#define MOD "http"

struct conn;
struct call;

struct ge_http_client {
    struct event_base *base;
    ge_tls_ctx_t *tls;
    char host[256];
    unsigned short port;
    size_t max_header, max_body;
    unsigned connect_ms, read_ms, total_ms, max_retries, backoff_ms, backoff_max_ms;
    uint64_t rng;
    ge_log_t log;
    int numeric;             /* the host is an IP address: never resolved */
    gnet_resolve_t *res;     /* the resolution in progress, or NULL */
    gnet_addrs_t addrs;      /* what the host resolved to, when RESOLVED */
    size_t addr_next;        /* the address the next connection goes to */
    int resolved;
    struct conn *conn;       /* the live connection, or NULL */
    struct conn *graveyard;  /* dead connections waiting to be freed outside evhttp's callbacks */
    struct call *calls;      /* every request not yet finished */
    struct event *reaper;
    unsigned long nconns;
    SSL_SESSION *session;    /* the last TLS session, offered again on reconnect */
};

struct conn {
    struct ge_http_client *cl;
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    gnet_tls_conn_t tls;
    int dead;
    int nodelay;       /* TCP_NODELAY set on its socket */
    int session_kept;  /* its TLS session is saved in the client */
    int answered;      /* a response came over it */
    size_t addr_idx;   /* which of the client's addresses it went to */
    struct conn *next; /* in the graveyard */
};

struct call {
    struct ge_http_client *cl;
    struct call *next, *prev;
    /* the request, copied */
    enum evhttp_cmd_type cmd;
    char *path, *accept, *ctype, *inm, *ims;
    unsigned char *body;
    size_t body_len;
    ge_http_field_t *fields; /* one block: the array, then its strings */
    size_t nfields;
    ge_http_body_fn on_body;
    ge_http_done_fn on_done;
    void *ud;
    /* progress */
    struct evhttp_request *req; /* in flight, or NULL */
    struct conn *conn;          /* the connection it is in flight on */
    struct event *step;         /* start, backoff and finish */
    struct event *deadline;     /* total timeout */
    struct event *connect_to;   /* connect (TCP + TLS) timeout of the attempt */
    unsigned attempts;
    int ev_error;               /* the evhttp error of the attempt, -1 if none */
    int suppress_body;          /* a 5xx that will be retried: its body is not the answer */
    int stale_resent;           /* sent again after a kept-alive connection closed unanswered */
    int abort_rc;               /* on_body asked to stop */
    int finished;
    int orphaned;               /* its connection died under it (see reap) */
    int orphanings;             /* how often that happened */
    int resolving;              /* waits for the host name to be resolved */
    /* the answer */
    ge_http_response_t resp;
    char errmsg[512];
    char *ct, *loc, *etag, *lm;
};

static void start_attempt(struct call *c);
static void on_resolved(void *arg, int err, const gnet_addrs_t *addrs, const char *why);
static void retry_now(struct call *c);

/* --- small helpers ------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int dup_field(char **dst, const char *src)
{
    *dst = dup_or_null(src);
    return !src || *dst;
}

static struct timeval tv_ms(unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    return tv;
}

static uint64_t rng_next(struct ge_http_client *cl)
{
    /* xorshift64*: jitter only needs to spread clients apart, not to be secret. */
    uint64_t x = cl->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    cl->rng = x;
    return x * 2685821657736338717ULL;
}

/* Delay before retry N (1-based): base * 2^(N-1), capped, then "equal jitter": a uniform pick in
 * [d/2, d], so a fleet that failed together does not come back together. */
static unsigned backoff_delay(struct ge_http_client *cl, unsigned n)
{
    uint64_t d = cl->backoff_ms;

    for (unsigned i = 1; i < n && d < cl->backoff_max_ms; i++)
        d *= 2;
    if (d > cl->backoff_max_ms)
        d = cl->backoff_max_ms;
    return (unsigned)(d / 2 + (d / 2 ? rng_next(cl) % (d / 2 + 1) : 0));
}

/* --- connections --------------------------------------------------------------------------- */

static void conn_free(struct conn *k)
{
    if (!k)
        return;
    if (k->evcon) {
        evhttp_connection_set_closecb(k->evcon, NULL, NULL);
        evhttp_connection_free(k->evcon); /* frees the bufferevent and the SSL with it */
    }
    free(k);
}

static void attempt_failed(struct call *c, int err, int retryable, const char *msg);

static void reap(evutil_socket_t fd, short what, void *arg)
{
    struct ge_http_client *cl = arg;
    struct conn *k;
    struct call *c;

    (void)fd;
    (void)what;
    while ((k = cl->graveyard) != NULL) {
        cl->graveyard = k->next;
        /* Requests still queued on a dead connection are dropped by evhttp without a call back:
         * take them off it first, and give them a new attempt once it is gone. */
        for (c = cl->calls; c; c = c->next)
            if (c->conn == k) {
                c->conn = NULL;
                c->req = NULL;
                c->orphaned = 1;
            }
        conn_free(k);
        for (c = cl->calls; c; c = c->next)
            if (c->orphaned) {
                c->orphaned = 0;
                /* Most were only queued behind the request that failed: do not count this
                 * attempt against them (a few times, so a request cannot loop forever). */
                if (c->orphanings++ < 3 && c->attempts > 0)
                    c->attempts--;
                if (!c->finished)
                    attempt_failed(c, GE_ERR_CLOSED, 1, "the connection closed before the answer");
            }
    }
}

/* A connection that failed or closed is never reused: an SSL cannot be reconnected.  It is freed
 * from a fresh loop turn, never inside evhttp's own callback. */
static void conn_kill(struct conn *k)
{
    struct ge_http_client *cl = k->cl;
    struct timeval zero = { 0, 0 };

    if (k->dead)
        return;
    k->dead = 1;
    if (cl->conn == k)
        cl->conn = NULL;
    k->next = cl->graveyard;
    cl->graveyard = k;
    evtimer_add(cl->reaper, &zero);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_kill(arg);
}

static struct conn *conn_get(struct ge_http_client *cl)
{
    struct conn *k;
    SSL *ssl = NULL;

    if (cl->conn && !cl->conn->dead)
        return cl->conn;
    k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->cl = cl;
    if (cl->tls) {
        ssl = gnet_tls_ssl_new(cl->tls, cl->host, &k->tls);
        if (!ssl)
            goto fail;
        /* Resume the last session: a reconnect then costs no ECDHE and no certificate
         * signatures, which matters on a small device.  The session was verified under the same
         * context, hence the same profile, and keeps its suite and peer certificate. */
        if (cl->session && SSL_set_session(ssl, cl->session) != 1)
            ERR_clear_error();
        /* the bufferevent owns SSL from here on, also when it fails (libevent frees it then) */
        k->bev = bufferevent_openssl_socket_new(cl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (!k->bev)
            goto fail;
        bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
    } else {
        k->bev = bufferevent_socket_new(cl->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!k->bev)
            goto fail;
    }
    k->addr_idx = cl->addr_next;
    k->evcon = evhttp_connection_base_bufferevent_new(
        cl->base, NULL, k->bev, cl->numeric ? cl->host : cl->addrs.addr[cl->addr_next], cl->port);
    if (!k->evcon) {
        bufferevent_free(k->bev);
        goto fail;
    }
    {
        struct timeval rt = tv_ms(cl->read_ms);
        evhttp_connection_set_timeout_tv(k->evcon, &rt);
    }
    evhttp_connection_set_max_headers_size(k->evcon, (ev_ssize_t)cl->max_header);
    evhttp_connection_set_max_body_size(k->evcon, (ev_ssize_t)cl->max_body);
    evhttp_connection_set_retries(k->evcon, 0); /* retries are ours, on a fresh connection */
    evhttp_connection_set_closecb(k->evcon, on_conn_close, k);
    cl->conn = k;
    cl->nconns++;
    return k;
fail:
    ERR_clear_error();
    free(k);
    return NULL;
}

/* --- finishing ----------------------------------------------------------------------------- */

static void call_unlink(struct call *c)
{
    struct ge_http_client *cl = c->cl;

    if (c->prev)
        c->prev->next = c->next;
    else
        cl->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void call_free(struct call *c)
{
    if (c->step)
        event_free(c->step);
    if (c->deadline)
        event_free(c->deadline);
    if (c->connect_to)
        event_free(c->connect_to);
    free(c->path);
    free(c->accept);
    free(c->ctype);
    free(c->inm);
    free(c->ims);
    free(c->body);
    free(c->fields);
    free(c->ct);
    free(c->loc);
    free(c->etag);
    free(c->lm);
    free(c);
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;

    (void)fd;
    (void)what;
    c->resp.content_type = c->ct;
    c->resp.location = c->loc;
    c->resp.etag = c->etag;
    c->resp.last_modified = c->lm;
    c->resp.errmsg = c->resp.err ? c->errmsg : NULL;
    c->resp.attempts = c->attempts;
    /* Off the list first: on_done may free the client, or queue more requests. */
    call_unlink(c);
    if (c->on_done)
        c->on_done(c->ud, &c->resp);
    call_free(c);
}

/* End the call: its on_done runs from a fresh loop turn (so the caller may free the client
 * from it, and never runs inside evhttp's callbacks). */
static void finish(struct call *c, int err, const char *msg)
{
    struct timeval zero = { 0, 0 };

    c->finished = 1;
    c->resp.err = err;
    if (err && msg)
        gnet_strlcpy(c->errmsg, msg, sizeof c->errmsg);
    if (c->deadline)
        evtimer_del(c->deadline);
    if (c->connect_to)
        evtimer_del(c->connect_to);
    event_assign(c->step, c->cl->base, -1, 0, deliver, c);
    evtimer_add(c->step, &zero);
}

static void retry_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_attempt(arg);
}

/* Start the next attempt from a fresh loop turn, with no delay. */
static void retry_now(struct call *c)
{
    struct timeval zero = { 0, 0 };

    event_assign(c->step, c->cl->base, -1, 0, retry_later, c);
    evtimer_add(c->step, &zero);
}

/* A failed attempt: retry if allowed and time remains, else finish with ERR. */
static void attempt_failed(struct call *c, int err, int retryable, const char *msg)
{
    struct ge_http_client *cl = c->cl;
    unsigned delay;
    struct timeval tv;

    if (retryable && c->attempts <= cl->max_retries) {
        delay = backoff_delay(cl, c->attempts);
        ge_log(&cl->log, GE_LOG_INFO, MOD, "attempt %u failed (%s); retrying in %u ms", c->attempts,
               msg, delay);
        tv = tv_ms(delay);
        event_assign(c->step, cl->base, -1, 0, retry_later, c);
        evtimer_add(c->step, &tv);
        return;
    }
    finish(c, err, msg);
}

/* --- evhttp callbacks ---------------------------------------------------------------------- */

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct call *c = arg;

    c->ev_error = (int)e;
}

static int on_headers(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    int status = evhttp_request_get_response_code(req);

    c->suppress_body = status >= 500 && c->attempts <= c->cl->max_retries;
    return 0;
}

static void take_body(struct call *c, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer_iovec v[8];
    size_t seen;
    int n;

    while (evbuffer_get_length(in) > 0) {
        n = evbuffer_peek(in, -1, NULL, v, 8);
        if (n <= 0)
            break;
        if (n > 8)
            n = 8;
        seen = 0;
        /* hand the pieces on as they lie in the buffer (no copy), then drop them */
        for (int i = 0; i < n; i++) {
            if (!c->suppress_body && !c->abort_rc) {
                if (c->on_body) {
                    int rc = c->on_body(c->ud, v[i].iov_base, v[i].iov_len);
                    if (rc < 0)
                        c->abort_rc = rc;
                }
                if (!c->abort_rc)
                    c->resp.body_len += v[i].iov_len;
            }
            seen += v[i].iov_len;
        }
        evbuffer_drain(in, seen);
    }
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
    take_body(arg, req);
}

static const char *ev_error_text(int e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timed out waiting for the server";
    case EVREQ_HTTP_EOF:
        return "the server closed the connection";
    case EVREQ_HTTP_INVALID_HEADER:
        return "malformed response from the server";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection error";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response larger than the configured cap";
    default:
        return "connection failed";
    }
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    struct ge_http_client *cl = c->cl;
    struct conn *k = c->conn;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    char msg[480];

    c->req = NULL;
    c->conn = NULL;
    evtimer_del(c->connect_to);
    if (c->finished)
        return;
    if (status == 0) {
        unsigned long oe = 0, e;
        int err;

        /* libevent queues OpenSSL's errors on the bufferevent; entries of "library 0" are its
         * own SSL_get_error() codes for socket failures, not TLS refusals. */
        while (k && k->bev && cl->tls && (e = bufferevent_get_openssl_error(k->bev)) != 0)
            if (!oe && ERR_GET_LIB(e) != 0)
                oe = e;
        if (k)
            conn_kill(k);
        if (k && !k->answered && !cl->numeric) {
            /* This address never answered: the next one, at once and not counted as an attempt;
             * after the last, the name is resolved again for the next attempt. */
            if (k->addr_idx + 1 < cl->addrs.n && k->addr_idx == cl->addr_next && !(cl->tls && (k->tls.why[0] || oe))) {
                cl->addr_next++;
                ge_log(&cl->log, GE_LOG_INFO, MOD, "%s:%u: no connection to %s; trying %s", cl->host,
                       (unsigned)cl->port, cl->addrs.addr[k->addr_idx], cl->addrs.addr[cl->addr_next]);
                c->attempts--;
                retry_now(c);
                return;
            }
            if (k->addr_idx + 1 >= cl->addrs.n)
                cl->resolved = 0;
        }
        if (k && k->answered && !c->stale_resent && c->cmd != EVHTTP_REQ_POST && c->resp.body_len == 0 &&
            (c->ev_error == EVREQ_HTTP_EOF || c->ev_error < 0)) {
            /* A kept-alive connection that the server closed as the request went out (its idle
             * timeout crossed the request): nothing was answered, so an idempotent request is
             * sent again once, on a new connection, and not counted as an attempt (RFC 9112
             * 9.3.1).  A POST is not: whether it was applied is unknown (its caller retries). */
            c->stale_resent = 1;
            c->attempts--;
            ge_log(&cl->log, GE_LOG_INFO, MOD, "%s:%u: the kept-alive connection closed unanswered; sending again",
                   cl->host, (unsigned)cl->port);
            retry_now(c);
            return;
        }
        if (cl->tls && k && (k->tls.why[0] || oe)) {
            /* A profile failure: the handshake ended before any request byte was sent; trying
             * again would meet the same certificate or the same server configuration. */
            err = gnet_tls_explain(cl->tls, &k->tls, bufferevent_openssl_get_ssl(k->bev), oe, msg,
                                   sizeof msg);
            attempt_failed(c, err, 0, msg);
            return;
        }
        switch (c->ev_error) {
        case EVREQ_HTTP_TIMEOUT:
            err = GE_ERR_TIMEOUT;
            break;
        case EVREQ_HTTP_DATA_TOO_LONG:
            err = GE_ERR_LIMIT;
            break;
        case EVREQ_HTTP_INVALID_HEADER:
            err = GE_ERR_HTTP;
            break;
        case EVREQ_HTTP_EOF:
            err = GE_ERR_CLOSED;
            break;
        default:
            err = GE_ERR_IO;
            break;
        }
        snprintf(msg, sizeof msg, "%s:%u: %s", cl->host, (unsigned)cl->port,
                 c->ev_error >= 0 ? ev_error_text(c->ev_error) : "cannot connect or the connection broke");
        /* A cap or a malformed answer would come back the same way: not retried. */
        attempt_failed(c, err, err != GE_ERR_LIMIT && err != GE_ERR_HTTP, msg);
        return;
    }
    if (k)
        k->answered = 1;
    if (k && cl->tls && !k->session_kept) {
        SSL_SESSION *live = SSL_get1_session(bufferevent_openssl_get_ssl(k->bev));
        /* A copy: OpenSSL marks the live session unusable when its connection is freed without
         * a close_notify, which is how HTTP connections usually end. */
        SSL_SESSION *sess = live ? SSL_SESSION_dup(live) : NULL;

        SSL_SESSION_free(live);
        if (sess) {
            SSL_SESSION_free(cl->session);
            cl->session = sess;
            k->session_kept = 1;
        }
    }
    take_body(c, req);
    if (status >= 500 && c->attempts <= cl->max_retries) {
        snprintf(msg, sizeof msg, "HTTP %d from %s:%u", status, cl->host, (unsigned)cl->port);
        attempt_failed(c, GE_ERR_HTTP, 1, msg);
        return;
    }
    {
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        if (!dup_field(&c->ct, evhttp_find_header(h, "Content-Type")) ||
            !dup_field(&c->loc, evhttp_find_header(h, "Location")) ||
            !dup_field(&c->etag, evhttp_find_header(h, "ETag")) ||
            !dup_field(&c->lm, evhttp_find_header(h, "Last-Modified"))) {
            finish(c, GE_ERR_NOMEM, "out of memory");
            return;
        }
    }
    c->resp.status = status;
    if (c->abort_rc)
        finish(c, c->abort_rc, "the body callback stopped the transfer");
    else
        finish(c, 0, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;
    char msg[400];

    (void)fd;
    (void)what;
    if (c->req) {
        struct conn *k = c->conn;
        struct evhttp_request *r = c->req;

        c->req = NULL;
        c->conn = NULL;
        c->finished = 1; /* evhttp may call back while cancelling */
        evhttp_cancel_request(r);
        if (k)
            conn_kill(k);
    }
    evtimer_del(c->step);
    snprintf(msg, sizeof msg, "%s:%u: no answer within the total timeout of %u ms", c->cl->host,
             (unsigned)c->cl->port, c->cl->total_ms);
    finish(c, GE_ERR_TIMEOUT, msg);
}

/* The TLS handshake (or TCP connect) must be done within connect_ms of the attempt's start. */
static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct call *c = arg;
    struct conn *k = c->conn;
    SSL *ssl;
    struct evhttp_request *r;
    char msg[400];

    (void)fd;
    (void)what;
    if (!c->req || !k)
        return;
    ssl = k->bev && c->cl->tls ? bufferevent_openssl_get_ssl(k->bev) : NULL;
    if (!ssl || SSL_is_init_finished(ssl))
        return; /* connected: the read timeout takes over */
    r = c->req;
    c->req = NULL;
    c->conn = NULL;
    evhttp_cancel_request(r);
    conn_kill(k);
    snprintf(msg, sizeof msg, "%s:%u: TLS connection not established within %u ms", c->cl->host,
             (unsigned)c->cl->port, c->cl->connect_ms);
    attempt_failed(c, GE_ERR_TIMEOUT, 1, msg);
}

/* --- attempts ------------------------------------------------------------------------------ */

static int add_fields(const struct call *c, struct evkeyvalq *h)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (evhttp_add_header(h, c->fields[i].name, c->fields[i].value) != 0)
            return -1;
    return 0;
}

static void start_attempt(struct call *c)
{
    struct ge_http_client *cl = c->cl;
    struct evhttp_request *r;
    struct evkeyvalq *h;
    struct conn *k;
    char hostport[300];
    struct timeval tv;

    if (c->finished)
        return;
    if (!cl->numeric && !cl->resolved && !(cl->conn && !cl->conn->dead)) {
        /* the name first: the attempt starts when it is resolved (on_resolved) */
        int rc = cl->res ? 0 : gnet_resolve_start(&cl->res, cl->base, cl->host, cl->connect_ms, on_resolved, cl);
        char msg[400];

        if (rc == 0) {
            c->resolving = 1;
            return;
        }
        c->attempts++;
        snprintf(msg, sizeof msg, "cannot resolve %s: %s", cl->host,
                 rc == GE_ERR_LIMIT ? "too many resolutions under way" : "out of resources");
        attempt_failed(c, rc, rc == GE_ERR_LIMIT, msg);
        return;
    }
    c->attempts++;
    c->ev_error = -1;
    c->suppress_body = 0;
    k = conn_get(cl);
    r = k ? evhttp_request_new(on_response, c) : NULL;
    if (!r) {
        finish(c, GE_ERR_NOMEM, "out of memory");
        return;
    }
    evhttp_request_set_chunked_cb(r, on_chunk);
    evhttp_request_set_header_cb(r, on_headers);
    evhttp_request_set_error_cb(r, on_error);
    h = evhttp_request_get_output_headers(r);
    /* an IPv6 address goes in brackets (RFC 3986 §3.2.2) */
    snprintf(hostport, sizeof hostport, strchr(cl->host, ':') ? "[%s]:%u" : "%s:%u", cl->host, (unsigned)cl->port);
    if (evhttp_add_header(h, "Host", hostport) != 0 ||
        (c->accept && evhttp_add_header(h, "Accept", c->accept) != 0) ||
        (c->ctype && evhttp_add_header(h, "Content-Type", c->ctype) != 0) ||
        (c->inm && evhttp_add_header(h, "If-None-Match", c->inm) != 0) ||
        (c->ims && evhttp_add_header(h, "If-Modified-Since", c->ims) != 0) || add_fields(c, h) != 0 ||
        (c->body_len && evbuffer_add(evhttp_request_get_output_buffer(r), c->body, c->body_len) != 0)) {
        evhttp_request_free(r);
        finish(c, GE_ERR_INVALID, "a request header is invalid (CR or LF in a value?)");
        return;
    }
    if (evhttp_make_request(k->evcon, r, c->cmd, c->path) != 0) {
        /* evhttp frees R when it fails to queue it. */
        conn_kill(k);
        attempt_failed(c, GE_ERR_IO, 1, "cannot queue the request");
        return;
    }
    c->req = r;
    c->conn = k;
    if (!k->nodelay) {
        /* Requests are small and answered at once: without TCP_NODELAY each would wait out
         * Nagle against the server's delayed ACK (about 40 ms a request on Linux). */
        evutil_socket_t fd = bufferevent_getfd(k->bev);
        int one = 1;

        if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
            k->nodelay = 1;
    }
    if (cl->tls) {
        tv = tv_ms(cl->connect_ms);
        evtimer_add(c->connect_to, &tv);
    }
}

static void on_resolved(void *arg, int err, const gnet_addrs_t *addrs, const char *why)
{
    struct ge_http_client *cl = arg;
    struct call *c, *next;

    cl->res = NULL;
    if (err == 0) {
        cl->addrs = *addrs;
        cl->addr_next = 0;
        cl->resolved = 1;
    } else {
        ge_log(&cl->log, GE_LOG_WARN, MOD, "%s", why);
    }
    /* Neither path unlinks a call here (on_done always runs from a later loop turn). */
    for (c = cl->calls; c; c = next) {
        next = c->next;
        if (!c->resolving)
            continue;
        c->resolving = 0;
        if (c->finished)
            continue;
        if (err == 0) {
            start_attempt(c);
        } else {
            c->attempts++;
            /* no such name: asking again gives the same answer */
            attempt_failed(c, err, err != GE_ERR_NOTFOUND, why);
        }
    }
}

static void start_first(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_attempt(arg);
}

/* --- public -------------------------------------------------------------------------------- */

static int parse_url(struct ge_http_client *cl, const char *url, int *https)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme, *host;
    int port, rc = GE_ERR_INVALID;

    if (!u)
        return GE_ERR_INVALID;
    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);
    port = evhttp_uri_get_port(u);
    if (scheme && host && *host && strlen(host) < sizeof cl->host) {
        if (strcmp(scheme, "https") == 0)
            *https = 1, rc = 0;
        else if (strcmp(scheme, "http") == 0)
            *https = 0, rc = 0;
        if (rc == 0) {
            size_t n = strlen(host);

            /* "[2001:db8::1]": the address without its brackets (connect, TLS name check) */
            if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
                memcpy(cl->host, host + 1, n - 2);
                cl->host[n - 2] = '\0';
            } else {
                gnet_strlcpy(cl->host, host, sizeof cl->host);
            }
            cl->numeric = gnet_numeric_host(cl->host);
            cl->port = (unsigned short)(port > 0 && port < 65536 ? port : (*https ? 443 : 80));
        }
    }
    evhttp_uri_free(u);
    return rc;
}

int ge_http_client_new(ge_http_client_t **out, struct event_base *base, const ge_http_client_opts_t *o)
{
    struct ge_http_client *cl;
    int https = 0, rc;

    if (!out || !base || !o || !o->url)
        return GE_ERR_INVALID;
    *out = NULL;
    cl = calloc(1, sizeof *cl);
    if (!cl)
        return GE_ERR_NOMEM;
    rc = parse_url(cl, o->url, &https);
    if (rc == 0 && https && (!o->tls || ge_tls_ctx_role(o->tls) != GE_TLS_CLIENT))
        rc = GE_ERR_CONFIG; /* https needs a client TLS context */
    if (rc) {
        free(cl);
        return rc;
    }
    cl->base = base;
    cl->tls = https ? o->tls : NULL;
    cl->max_header = o->max_header_bytes ? o->max_header_bytes : 16384;
    cl->max_body = o->max_body_bytes ? o->max_body_bytes : 1048576;
    cl->connect_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
    cl->read_ms = o->read_timeout_ms ? o->read_timeout_ms : 30000;
    cl->total_ms = o->total_timeout_ms ? o->total_timeout_ms : 120000;
    cl->max_retries = o->max_retries;
    cl->backoff_ms = o->backoff_ms ? o->backoff_ms : 500;
    cl->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 30000;
    cl->rng = o->jitter_seed;
    if (!cl->rng && RAND_bytes((unsigned char *)&cl->rng, sizeof cl->rng) != 1)
        cl->rng = 0x9e3779b97f4a7c15ULL;
    if (!cl->rng)
        cl->rng = 1;
    if (o->log)
        cl->log = *o->log;
    cl->reaper = evtimer_new(base, reap, cl);
    if (!cl->reaper) {
        free(cl);
        return GE_ERR_NOMEM;
    }
    *out = cl;
    return 0;
}

void ge_http_client_free(ge_http_client_t *cl)
{
    if (!cl)
        return;
    gnet_resolve_cancel(cl->res);
    cl->res = NULL;
    /* Connections first: evhttp frees their queued requests without calling back. */
    if (cl->conn)
        conn_free(cl->conn);
    cl->conn = NULL;
    reap(-1, 0, cl);
    while (cl->calls) {
        struct call *c = cl->calls;

        if (!c->finished) {
            c->resp.err = GE_ERR_CLOSED;
            snprintf(c->errmsg, sizeof c->errmsg, "%s", "the client was freed");
        }
        c->req = NULL;
        deliver(-1, 0, c);
    }
    event_free(cl->reaper);
    SSL_SESSION_free(cl->session);
    free(cl);
}

unsigned long ge_http_client_connections(const ge_http_client_t *cl)
{
    return cl ? cl->nconns : 0;
}

/* RFC 9110 §5.1, §5.5: a name is a token; a value has no control characters but HTAB. */
static int field_ok(const ge_http_field_t *f)
{
    static const char *const ours[] = { "Host", "Content-Length", "Transfer-Encoding", "Connection" };
    const unsigned char *p;

    if (!f->name || !f->value || !f->name[0])
        return 0;
    for (p = (const unsigned char *)f->name; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p))
            return 0;
    for (p = (const unsigned char *)f->value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strcasecmp(f->name, ours[i]) == 0)
            return 0;
    return 1;
}

/* Copy the request's extra fields into one block owned by C.  GE_ERR_INVALID for a bad field or
 * too many, GE_ERR_NOMEM. */
static int copy_fields(struct call *c, const ge_http_field_t *fields, size_t n)
{
    size_t bytes = 0, off;
    char *blk;

    if (n == 0)
        return 0;
    if (!fields || n > GE_HTTP_MAX_FIELDS)
        return GE_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!field_ok(&fields[i]))
            return GE_ERR_INVALID;
        bytes += strlen(fields[i].name) + strlen(fields[i].value) + 2;
        if (bytes > GE_HTTP_MAX_FIELD_BYTES + 2 * n)
            return GE_ERR_INVALID;
    }
    off = n * sizeof *c->fields;
    blk = malloc(off + bytes);
    if (!blk)
        return GE_ERR_NOMEM;
    c->fields = (ge_http_field_t *)(void *)blk;
    c->nfields = n;
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(fields[i].name) + 1, b = strlen(fields[i].value) + 1;

        memcpy(blk + off, fields[i].name, a);
        c->fields[i].name = blk + off;
        off += a;
        memcpy(blk + off, fields[i].value, b);
        c->fields[i].value = blk + off;
        off += b;
    }
    return 0;
}

static int method_cmd(const char *m, enum evhttp_cmd_type *cmd)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type cmd;
    } map[] = {
        { "GET", EVHTTP_REQ_GET },       { "PUT", EVHTTP_REQ_PUT }, { "POST", EVHTTP_REQ_POST },
        { "DELETE", EVHTTP_REQ_DELETE }, { "HEAD", EVHTTP_REQ_HEAD },
    };

    for (size_t i = 0; m && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(m, map[i].name) == 0) {
            *cmd = map[i].cmd;
            return 0;
        }
    return GE_ERR_INVALID;
}

int ge_http_client_request(ge_http_client_t *cl, const ge_http_request_t *rq)
{
    struct call *c;
    struct timeval zero = { 0, 0 }, total;
    int rc;

    if (!cl || !rq || !rq->path || rq->path[0] != '/' || !rq->on_done || (rq->body_len && !rq->body))
        return GE_ERR_INVALID;
    c = calloc(1, sizeof *c);
    if (!c)
        return GE_ERR_NOMEM;
    c->cl = cl;
    if (method_cmd(rq->method ? rq->method : "GET", &c->cmd) != 0) {
        free(c);
        return GE_ERR_INVALID;
    }
    c->on_body = rq->on_body;
    c->on_done = rq->on_done;
    c->ud = rq->ud;
    c->body_len = rq->body_len;
    c->ev_error = -1;
    if (!dup_field(&c->path, rq->path) || !dup_field(&c->accept, rq->accept) ||
        !dup_field(&c->ctype, rq->content_type) || !dup_field(&c->inm, rq->if_none_match) ||
        !dup_field(&c->ims, rq->if_modified_since) ||
        (rq->body_len && !(c->body = malloc(rq->body_len))))
        goto nomem;
    if (rq->body_len)
        memcpy(c->body, rq->body, rq->body_len);
    rc = copy_fields(c, rq->fields, rq->nfields);
    if (rc) {
        call_free(c);
        return rc;
    }
    c->step = evtimer_new(cl->base, start_first, c);
    c->deadline = evtimer_new(cl->base, on_deadline, c);
    c->connect_to = evtimer_new(cl->base, on_connect_timeout, c);
    if (!c->step || !c->deadline || !c->connect_to)
        goto nomem;
    c->next = cl->calls;
    if (cl->calls)
        cl->calls->prev = c;
    cl->calls = c;
    total = tv_ms(cl->total_ms);
    evtimer_add(c->deadline, &total);
    evtimer_add(c->step, &zero);
    return 0;
nomem:
    call_free(c); /* not linked yet */
    return GE_ERR_NOMEM;
}
