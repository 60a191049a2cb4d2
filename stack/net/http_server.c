/* http_server.c - the HTTP/1.1 server (see gridedge/http.h): libevent's evhttp for framing, our
 * TLS profiles for the connections, the peer's certificate identity for the handler, and
 * deadlines on each request's header and body (slow senders).
 * Why evhttp and not a parser of our own: docs/transport.md. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>

#include "net_internal.h"

#define MOD "http"

struct guard;

struct ge_http_server {
    struct event_base *base;
    struct evhttp *http;
    ge_tls_ctx_t *tls;
    ge_http_handler_fn handler;
    void *ud;
    ge_log_t log;
    unsigned short port;
    unsigned long requests;
    unsigned header_timeout_s, body_timeout_s;
    struct guard *guards; /* one per connection (see "request deadlines") */
};

/* --- request deadlines ------------------------------------------------------------------------
 * evhttp 2.1 bounds a request's header and body size and the silence between reads, not the time
 * a request takes: a client sending a byte every few seconds holds a connection as long as it
 * likes ("slowloris"), and many such clients hold the server.  Each connection gets a guard with
 * one timer and a phase:
 *   HEADER   armed at accept (the TLS handshake counts) and at the first byte of each later
 *            request, for header_timeout_s;
 *   BODY     from the empty line that ends the header block (seen in the decrypted input), for
 *            body_timeout_s;
 *   HANDLER  evhttp handed the complete request to the handler: no deadline (replies may be late);
 *   IDLE     the server started its answer: the idle timeout is evhttp's; the next byte starts a
 *            new request.
 * When the timer fires the socket is shut down and evhttp frees the connection the usual way.
 *
 * Lifetimes.  TLS: the guard lives exactly as long as the connection's SSL: OpenSSL frees it
 * through ex_data when the bufferevent frees the SSL, so it never outlives, or is outlived by,
 * the connection.  Plain HTTP has no such hook (a filter bufferevent would have been one, but
 * evhttp frees a "Connection: close" connection as soon as the filter's output drains into the
 * socket's, losing the last reply), so the guard holds a reference on the socket bufferevent,
 * created without BEV_OPT_CLOSE_ON_FREE so that evhttp closes the socket itself when it frees the
 * connection.  bufferevent_free() clears the callbacks, which is how a guard sees that its
 * connection is gone; such guards are released at the next accept, when their timer fires, and
 * when the server is freed: never more of them than connections were open at once. */

enum { G_IDLE, G_HEADER, G_BODY, G_HANDLER, G_CUT };

struct guard {
    struct ge_http_server *srv; /* NULL once the server is gone */
    struct guard *next, *prev;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *in_cb, *out_cb;
    struct event *timer;
    ge_log_t log;
    struct timeval header_limit, body_limit;
    int phase;
    int line;  /* 0 inside a line, 1 at the start of one, 2 after a CR there */
    int plain; /* holds a reference on BEV (see above) */
};

static void guard_unlink(struct guard *g)
{
    if (!g->srv)
        return;
    if (g->prev)
        g->prev->next = g->next;
    else
        g->srv->guards = g->next;
    if (g->next)
        g->next->prev = g->prev;
    g->srv = NULL;
}

static void guard_free(struct guard *g)
{
    if (!g)
        return;
    guard_unlink(g);
    if (g->bev) {
        if (g->in_cb)
            evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->in_cb);
        if (g->out_cb)
            evbuffer_remove_cb_entry(bufferevent_get_output(g->bev), g->out_cb);
        if (g->plain)
            bufferevent_decref(g->bev); /* the last reference: libevent finalizes it */
    }
    if (g->timer)
        event_free(g->timer);
    free(g);
}

static void guard_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    guard_free(ptr);
}

/* One ex_data slot for the whole process (OpenSSL's registry is process-wide).  Two threads that
 * race here each register one; the loser's slot is simply never used. */
static int guard_index(void)
{
    static atomic_int idx = -1;
    int cur = atomic_load(&idx);

    if (cur < 0) {
        int mine = SSL_get_ex_new_index(0, NULL, NULL, NULL, guard_ex_free);
        if (mine < 0)
            return -1;
        if (!atomic_compare_exchange_strong(&idx, &cur, mine))
            return cur;
        cur = mine;
    }
    return cur;
}

/* A plain guard's connection is gone once evhttp has freed its bufferevent (no callbacks left). */
static int guard_orphaned(const struct guard *g)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;

    if (!g->plain)
        return 0;
    bufferevent_getcb(g->bev, &rd, &wr, &ev, NULL);
    return !rd && !wr && !ev;
}

static void guard_reap(struct ge_http_server *srv)
{
    struct guard *g = srv->guards, *next;

    for (; g; g = next) {
        next = g->next;
        if (guard_orphaned(g))
            guard_free(g);
    }
}

static void guard_arm(struct guard *g, int phase)
{
    g->phase = phase;
    g->line = 0;
    evtimer_add(g->timer, phase == G_BODY ? &g->body_limit : &g->header_limit);
}

static void guard_disarm(struct guard *g, int phase)
{
    g->phase = phase;
    evtimer_del(g->timer);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct guard *g = arg;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char peer[INET6_ADDRSTRLEN] = "?";
    evutil_socket_t sock;

    (void)fd;
    (void)what;
    if (guard_orphaned(g)) {
        guard_free(g);
        return;
    }
    sock = bufferevent_getfd(g->bev);
    if (sock >= 0 && getpeername(sock, (struct sockaddr *)&ss, &sl) == 0)
        inet_ntop(ss.ss_family,
                  ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                           : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
                  peer, sizeof peer);
    if (g->phase == G_BODY)
        ge_log(&g->log, GE_LOG_WARN, MOD,
               "closing the connection from %s: request body not complete within %ld s of its header "
               "(slow sender)",
               peer, (long)g->body_limit.tv_sec);
    else
        ge_log(&g->log, GE_LOG_WARN, MOD,
               "closing the connection from %s: request header not complete within %ld s (slow sender)",
               peer, (long)g->header_limit.tv_sec);
    g->phase = G_CUT;
    /* evhttp then reads end-of-file and frees the connection (and, with TLS, its SSL and this
     * guard). */
    if (sock >= 0)
        shutdown(sock, SHUT_RDWR);
}

static void guard_in(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct guard *g = arg;
    struct evbuffer_ptr p;
    struct evbuffer_iovec v[4];
    size_t len, left;
    int n;

    if (info->n_added == 0 || (g->phase != G_IDLE && g->phase != G_HEADER))
        return;
    if (g->phase == G_IDLE)
        guard_arm(g, G_HEADER);
    /* scan the bytes just added for the empty line that ends the header block */
    len = evbuffer_get_length(buf);
    left = info->n_added <= len ? info->n_added : len;
    if (evbuffer_ptr_set(buf, &p, len - left, EVBUFFER_PTR_SET) != 0)
        return;
    while (left > 0) {
        n = evbuffer_peek(buf, (ev_ssize_t)left, &p, v, 4);
        if (n <= 0)
            return;
        for (int i = 0; i < n && i < 4 && left > 0; i++) {
            const unsigned char *b = v[i].iov_base;
            size_t k = v[i].iov_len < left ? v[i].iov_len : left;

            for (size_t j = 0; j < k; j++) {
                if (b[j] == '\n') {
                    if (g->line) {
                        guard_arm(g, G_BODY);
                        return;
                    }
                    g->line = 1;
                } else {
                    g->line = b[j] == '\r' && g->line == 1 ? 2 : 0;
                }
            }
            left -= k;
            if (evbuffer_ptr_set(buf, &p, k, EVBUFFER_PTR_ADD) != 0)
                return;
        }
    }
}

static void guard_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct guard *g = arg;

    (void)buf;
    /* The server is answering a complete request (or refusing a broken one): the next byte from
     * the client starts a new one.  Output during the body ("100 Continue", or an error reply
     * before the connection closes) changes nothing. */
    if (info->n_added > 0 && (g->phase == G_HANDLER || g->phase == G_HEADER))
        guard_disarm(g, G_IDLE);
}

/* Give BEV (whose SSL is SSL, NULL for plain HTTP) a guard, armed now.  When memory runs out the
 * connection has only the idle timeout, and a warning says so. */
static void guard_attach(struct ge_http_server *srv, struct bufferevent *bev, SSL *ssl)
{
    struct guard *g = calloc(1, sizeof *g);
    int idx = ssl ? guard_index() : 0;

    if (!g || idx < 0 || (ssl && SSL_set_ex_data(ssl, idx, g) != 1)) {
        free(g);
        ERR_clear_error();
        ge_log(&srv->log, GE_LOG_WARN, MOD, "no request deadlines for a connection (out of memory)");
        return;
    }
    /* From here on SSL_free (TLS) or guard_reap (plain) frees G. */
    g->bev = bev;
    if (!ssl) {
        g->plain = 1;
        bufferevent_incref(bev);
    }
    g->log = srv->log;
    g->header_limit.tv_sec = (time_t)srv->header_timeout_s;
    g->body_limit.tv_sec = (time_t)srv->body_timeout_s;
    g->timer = evtimer_new(srv->base, on_deadline, g);
    g->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), guard_in, g);
    g->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), guard_out, g);
    g->srv = srv;
    g->next = srv->guards;
    if (srv->guards)
        srv->guards->prev = g;
    srv->guards = g;
    if (!g->timer || !g->in_cb || !g->out_cb) {
        ge_log(&srv->log, GE_LOG_WARN, MOD, "no request deadlines for a connection (out of memory)");
        g->phase = G_CUT;
        return;
    }
    guard_arm(g, G_HEADER);
}

/* The guard of the connection REQ came on, NULL if it has none. */
static struct guard *guard_of(struct ge_http_server *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl;
    int idx;

    if (!bev)
        return NULL;
    if (srv->tls) {
        ssl = bufferevent_openssl_get_ssl(bev);
        idx = guard_index();
        return ssl && idx >= 0 ? SSL_get_ex_data(ssl, idx) : NULL;
    }
    for (struct guard *g = srv->guards; g; g = g->next)
        if (g->bev == bev)
            return g;
    return NULL;
}

/* An exchange is the evhttp request itself: no allocation per request of our own. */
static struct evhttp_request *req_of(const ge_http_exchange_t *ex)
{
    return (struct evhttp_request *)ex;
}

/* Each accepted connection gets a fresh SSL in accept state (or a plain socket bufferevent). */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    struct ge_http_server *srv = arg;
    struct bufferevent *bev;
    SSL *ssl;

    if (!srv->tls) {
        guard_reap(srv);
        /* no BEV_OPT_CLOSE_ON_FREE: evhttp closes the socket itself (see "request deadlines") */
        bev = bufferevent_socket_new(base, -1, 0);
        if (bev)
            guard_attach(srv, bev, NULL);
        return bev;
    }
    ssl = gnet_tls_ssl_new(srv->tls, NULL, NULL);
    if (!ssl)
        return NULL;
    /* With BEV_OPT_CLOSE_ON_FREE the bufferevent owns SSL from here on, even when it fails:
     * libevent frees it then (freeing it here too would free it twice). */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    /* A peer that drops TCP without close_notify is common and harmless for HTTP with framing. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    guard_attach(srv, bev, ssl);
    return bev;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ge_http_server *srv = arg;
    struct guard *g = guard_of(srv, req);

    /* the request is complete: no deadline while the handler works */
    if (g && g->phase != G_CUT)
        guard_disarm(g, G_HANDLER);
    srv->requests++;
    if (!srv->handler) {
        evhttp_send_error(req, 404, NULL);
        return;
    }
    srv->handler(srv->ud, (ge_http_exchange_t *)req);
}

int ge_http_server_new(ge_http_server_t **out, struct event_base *base, const ge_http_server_opts_t *opts)
{
    struct ge_http_server *srv;
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    const char *addr;

    if (!out || !base || !opts || !opts->handler)
        return GE_ERR_INVALID;
    *out = NULL;
    if (opts->tls && ge_tls_ctx_role(opts->tls) != GE_TLS_SERVER)
        return GE_ERR_INVALID;
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return GE_ERR_NOMEM;
    srv->base = base;
    srv->tls = opts->tls;
    srv->handler = opts->handler;
    srv->ud = opts->ud;
    srv->header_timeout_s = opts->header_timeout_s ? opts->header_timeout_s : 10;
    srv->body_timeout_s = opts->body_timeout_s ? opts->body_timeout_s : 30;
    if (opts->log)
        srv->log = *opts->log;
    srv->http = evhttp_new(base);
    if (!srv->http) {
        free(srv);
        return GE_ERR_NOMEM;
    }
    evhttp_set_bevcb(srv->http, make_bev, srv);
    evhttp_set_gencb(srv->http, on_request, srv);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)(opts->max_header_bytes ? opts->max_header_bytes : 16384));
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)(opts->max_body_bytes ? opts->max_body_bytes : 1048576));
    evhttp_set_timeout(srv->http, opts->idle_timeout_s ? (int)opts->idle_timeout_s : 30);
    /* evhttp would label every reply text/html; a reply without a body type carries none. */
    evhttp_set_default_content_type(srv->http, NULL);
    addr = opts->address ? opts->address : "127.0.0.1";
    sock = evhttp_bind_socket_with_handle(srv->http, addr, opts->port);
    if (!sock) {
        ge_log(&srv->log, GE_LOG_ERROR, MOD, "cannot listen on %s:%u", addr, (unsigned)opts->port);
        evhttp_free(srv->http);
        free(srv);
        return GE_ERR_IO;
    }
    {
        /* Accepted sockets inherit TCP_NODELAY from the listener (Linux, BSD): replies leave at
         * once instead of waiting out Nagle against the client's delayed ACK. */
        int one = 1;
        setsockopt(evhttp_bound_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    ge_log(&srv->log, GE_LOG_INFO, MOD, "listening on %s:%u (%s)", addr, (unsigned)srv->port,
           srv->tls ? ge_tls_profile_name(ge_tls_ctx_profile(srv->tls)) : "plain HTTP");
    *out = srv;
    return 0;
}

void ge_http_server_free(ge_http_server_t *srv)
{
    if (!srv)
        return;
    /* TLS connections may outlive us by a loop turn (libevent finalizes bufferevents late):
     * their guards stop here and forget the server; their SSL frees them.  Plain guards let go of
     * their bufferevent, which evhttp_free() then frees with its connection. */
    while (srv->guards) {
        struct guard *g = srv->guards;

        if (g->plain) {
            guard_free(g);
            continue;
        }
        if (g->timer)
            evtimer_del(g->timer);
        g->phase = G_CUT;
        guard_unlink(g);
    }
    evhttp_free(srv->http);
    free(srv);
}

unsigned short ge_http_server_port(const ge_http_server_t *srv)
{
    return srv ? srv->port : 0;
}

unsigned long ge_http_server_requests(const ge_http_server_t *srv)
{
    return srv ? srv->requests : 0;
}

const char *ge_http_method(const ge_http_exchange_t *ex)
{
    switch (evhttp_request_get_command(req_of(ex))) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    default:
        return "OTHER";
    }
}

const char *ge_http_path(const ge_http_exchange_t *ex)
{
    return evhttp_request_get_uri(req_of(ex));
}

const char *ge_http_header(const ge_http_exchange_t *ex, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req_of(ex)), name);
}

const void *ge_http_body(const ge_http_exchange_t *ex, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(req_of(ex));
    size_t n = evbuffer_get_length(b);

    if (len)
        *len = n;
    return n ? evbuffer_pullup(b, -1) : NULL;
}

struct ssl_st *ge_http_peer_ssl(const ge_http_exchange_t *ex)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req_of(ex));
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    return bev ? bufferevent_openssl_get_ssl(bev) : NULL;
}

int ge_http_peer_id(const ge_http_exchange_t *ex, char lfdi[GE_LFDI_BUF], uint64_t *sfdi)
{
    SSL *ssl = ge_http_peer_ssl(ex);
    X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    char id[GE_LFDI_BUF];
    int rc;

    if (!peer)
        return GE_ERR_NOTFOUND;
    rc = ge_cert_lfdi(peer, id);
    if (rc)
        return rc;
    if (lfdi)
        memcpy(lfdi, id, GE_LFDI_BUF);
    return sfdi ? ge_sfdi_from_lfdi(id, sfdi) : 0;
}

int ge_http_set_header(ge_http_exchange_t *ex, const char *name, const char *value)
{
    if (!ex || !name || !value)
        return GE_ERR_INVALID;
    /* evhttp refuses CR/LF in values, which keeps a handler from splitting the response. */
    return evhttp_add_header(evhttp_request_get_output_headers(req_of(ex)), name, value) == 0
               ? 0
               : GE_ERR_INVALID;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

int ge_http_abort(ge_http_exchange_t *ex)
{
    struct evhttp_request *req = req_of(ex);
    struct evhttp_connection *conn;
    struct bufferevent *bev;
    evutil_socket_t fd = -1;

    if (!ex)
        return GE_ERR_INVALID;
    conn = evhttp_request_get_connection(req);
    bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    if (bev)
        fd = bufferevent_getfd(bev);
    /* Shut the socket first: the reply below then fails to go out and evhttp frees the connection
     * and the request the usual way, so the peer sees the connection close with no answer. */
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    evhttp_send_reply(req, 503, reason_phrase(503), NULL);
    return 0;
}

int ge_http_reply(ge_http_exchange_t *ex, int status, const char *content_type, const void *body,
                  size_t len)
{
    struct evhttp_request *req = req_of(ex);
    struct evbuffer *out;

    if (!ex || status < 100 || status > 599)
        return GE_ERR_INVALID;
    out = evhttp_request_get_output_buffer(req);
    if ((content_type &&
         evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type) != 0) ||
        (body && len && evbuffer_add(out, body, len) != 0)) {
        /* The exchange must still end: tell the client, and the caller. */
        evhttp_send_error(req, 500, NULL);
        return GE_ERR_INVALID;
    }
    evhttp_send_reply(req, status, reason_phrase(status), NULL);
    return 0;
}
