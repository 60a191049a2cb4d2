/* http_server.c - the HTTP/1.1 server (see gridedge/http.h): libevent's evhttp for framing, our
 * TLS profiles for the connections, the peer's certificate identity for the handler.
 * Why evhttp and not a parser of our own: docs/transport.md. */
#include "config.h"

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

struct ge_http_server {
    struct event_base *base;
    struct evhttp *http;
    ge_tls_ctx_t *tls;
    ge_http_handler_fn handler;
    void *ud;
    ge_log_t log;
    unsigned short port;
    unsigned long requests;
};

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

    if (!srv->tls)
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    ssl = gnet_tls_ssl_new(srv->tls, NULL, NULL);
    if (!ssl)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A peer that drops TCP without close_notify is common and harmless for HTTP with framing. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ge_http_server *srv = arg;

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
