/* gridedge/http.h - HTTP/1.1 client and server over TLS profiles, on the caller's libevent loop.
 *
 * Both sides take a `struct event_base *` the caller runs: nothing here blocks (a client URL
 * with a host name is resolved in a short-lived worker thread, see gridedge/net.h).  A program
 * with a libevent loop passes its own base; a program with another loop
 * (poll, select, an RTOS) passes ge_net_loop_base() of a ge_net_loop_t and drives it with
 * ge_net_loop_fds() / ge_net_loop_process() (gridedge/net.h).  Everything is bounded: header and
 * body sizes, connect/read/total time, retries, and (server) the time a request's header and body
 * may take.
 *
 * Client: one persistent (keep-alive) connection per server, reopened when it closes; requests
 * on it are queued in order.  Response bodies (Content-Length or chunked) are handed to a
 * callback piece by piece as they arrive, so a resumable decoder can be fed.  Connection
 * failures, timeouts and 5xx answers are retried with exponential backoff and jitter; 4xx never.
 *
 * Server: TLS with client certificates where the profile says so; the handler sees the peer's
 * certificate identity (LFDI/SFDI); bounded requests (size, and time for header and body),
 * idle timeouts, keep-alive.
 *
 * The process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) before using either side: a peer
 * that closes while we write would otherwise kill it.  The library does not change signal
 * dispositions itself (that is process-wide state, the embedding program's to decide). */
#ifndef GRIDEDGE_HTTP_H
#define GRIDEDGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/* The IEEE 2030.5 media types (XML and EXI representations of the same resources). */
#define GE_MEDIA_SEP_XML "application/sep+xml"
#define GE_MEDIA_SEP_EXI "application/sep-exi"

/* --- client ---------------------------------------------------------------------------------- */

typedef struct ge_http_client ge_http_client_t;

typedef struct ge_http_client_opts {
    const char *url;              /* the server: "https://host:port" or "http://host:port" (a path is ignored) */
    ge_tls_ctx_t *tls;            /* a GE_TLS_CLIENT context for https (borrowed; outlives the client) */
    size_t max_header_bytes;      /* response headers cap; 0 = 16 KiB */
    size_t max_body_bytes;        /* response body cap; 0 = 1 MiB */
    unsigned connect_timeout_ms;  /* TCP + TLS handshake, and apart from it resolving a host name; 0 = 10 s */
    unsigned read_timeout_ms;     /* silence while waiting for the response; 0 = 30 s */
    unsigned total_timeout_ms;    /* one request, all attempts and waits included; 0 = 120 s */
    unsigned max_retries;         /* further attempts after the first; default (0) none */
    unsigned backoff_ms;          /* first retry delay before jitter; 0 = 500 ms; doubles each time */
    unsigned backoff_max_ms;      /* cap on the delay; 0 = 30 s */
    uint64_t jitter_seed;         /* seeds the jitter; 0 = from OpenSSL's RNG */
    const ge_log_t *log;
} ge_http_client_opts_t;

typedef struct ge_http_response {
    int err;                    /* 0, or why no usable answer came (GE_ERR_TLS, GE_ERR_CERT, GE_ERR_TIMEOUT, ...) */
    const char *errmsg;         /* a sentence when err != 0 (names the TLS requirement that failed) */
    int status;                 /* HTTP status, 0 when none was received */
    const char *content_type;   /* header values, NULL when absent */
    const char *location;
    const char *etag;
    const char *last_modified;
    size_t body_len;            /* bytes handed to on_body */
    unsigned attempts;          /* 1 + retries made */
} ge_http_response_t;

/* Return 0 to go on, negative to abort the request (it then ends with that error). */
typedef int (*ge_http_body_fn)(void *ud, const void *data, size_t len);
/* Called exactly once per accepted request; RESP and its strings live until the call returns. */
typedef void (*ge_http_done_fn)(void *ud, const ge_http_response_t *resp);

/* One request header field, e.g. { "Authorization", "Bearer <token>" }. */
typedef struct ge_http_field {
    const char *name;  /* a token (RFC 9110 §5.1) */
    const char *value; /* no CR, LF or NUL */
} ge_http_field_t;

/* Bounds on a request's extra header fields (ge_http_request_t.fields). */
#define GE_HTTP_MAX_FIELDS 32
#define GE_HTTP_MAX_FIELD_BYTES 16384 /* names and values together */

typedef struct ge_http_request {
    const char *method;          /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *path;            /* "/dcap", with query if any */
    const char *accept;          /* Accept header, or NULL */
    const char *content_type;    /* of BODY, e.g. GE_MEDIA_SEP_XML */
    const void *body;            /* copied at the call; NULL for none */
    size_t body_len;
    const char *if_none_match;   /* conditional GET: a previous ETag, or NULL */
    const char *if_modified_since; /* conditional GET: a previous Last-Modified, or NULL */
    ge_http_body_fn on_body;     /* may be NULL: the body is dropped (still bounded) */
    ge_http_done_fn on_done;
    void *ud;
    /* Further header fields, sent in this order on every attempt of this request (e.g. the
     * OpenADR 3.0 "Authorization: Bearer" token); copied at the call.  Not allowed, as the client
     * writes them itself: Host, Content-Length, Transfer-Encoding, Connection; a bad name or
     * value, more than GE_HTTP_MAX_FIELDS, or more than GE_HTTP_MAX_FIELD_BYTES make the call
     * fail with GE_ERR_INVALID. */
    const ge_http_field_t *fields;
    size_t nfields;
} ge_http_request_t;

int ge_http_client_new(ge_http_client_t **out, struct event_base *base, const ge_http_client_opts_t *opts);

/* Free the client; requests still pending end with GE_ERR_CLOSED (their on_done is called). */
void ge_http_client_free(ge_http_client_t *client);

/* Queue a request.  Returns 0 (on_done will be called later, never from inside this call) or a
 * negative error (on_done will not be called). */
int ge_http_client_request(ge_http_client_t *client, const ge_http_request_t *req);

/* Connections the client has opened so far (for tests of keep-alive and retries). */
unsigned long ge_http_client_connections(const ge_http_client_t *client);

/* --- server ---------------------------------------------------------------------------------- */

typedef struct ge_http_server ge_http_server_t;
typedef struct ge_http_exchange ge_http_exchange_t; /* one request and its reply */

/* The handler must end every exchange with ge_http_reply(), now or later (before the server is
 * freed). */
typedef void (*ge_http_handler_fn)(void *ud, ge_http_exchange_t *ex);

typedef struct ge_http_server_opts {
    const char *address;         /* bind address; NULL = "127.0.0.1" */
    unsigned short port;         /* 0 = any free port (see ge_http_server_port) */
    ge_tls_ctx_t *tls;           /* a GE_TLS_SERVER context, or NULL for plain HTTP (borrowed) */
    size_t max_header_bytes;     /* 0 = 16 KiB; larger requests get 431/400 and the connection closes */
    size_t max_body_bytes;       /* 0 = 1 MiB; larger get 413 */
    unsigned idle_timeout_s;     /* idle or slow connection closed after this; 0 = 30 s */
    ge_http_handler_fn handler;
    void *ud;
    const ge_log_t *log;
    /* A request's header block must be complete within this many seconds of its first byte (of
     * the accept, for the first request: a TLS handshake counts), or the connection is closed,
     * however steadily the client dribbles bytes (a "slowloris").  Plain HTTP and TLS.  0 = 10 s. */
    unsigned header_timeout_s;
    /* Likewise its body, counted from the end of its header block.  0 = 30 s. */
    unsigned body_timeout_s;
} ge_http_server_opts_t;

int ge_http_server_new(ge_http_server_t **out, struct event_base *base, const ge_http_server_opts_t *opts);
void ge_http_server_free(ge_http_server_t *server);

/* The port the server listens on (the one the system chose when opts.port was 0). */
unsigned short ge_http_server_port(const ge_http_server_t *server);

/* Requests the server has handed to the handler so far. */
unsigned long ge_http_server_requests(const ge_http_server_t *server);

const char *ge_http_method(const ge_http_exchange_t *ex);       /* "GET", ... */
const char *ge_http_path(const ge_http_exchange_t *ex);         /* the request target, e.g. "/dcap?x=1" */
const char *ge_http_header(const ge_http_exchange_t *ex, const char *name); /* NULL if absent */
const void *ge_http_body(const ge_http_exchange_t *ex, size_t *len);

/* The client certificate's identity; GE_ERR_NOTFOUND without TLS or without a client
 * certificate.  Either out-parameter may be NULL. */
int ge_http_peer_id(const ge_http_exchange_t *ex, char lfdi[GE_LFDI_BUF], uint64_t *sfdi);

/* The TLS connection of the exchange (an OpenSSL SSL *), NULL for plain HTTP. */
struct ssl_st *ge_http_peer_ssl(const ge_http_exchange_t *ex);

/* Add a response header (before ge_http_reply). */
int ge_http_set_header(ge_http_exchange_t *ex, const char *name, const char *value);

/* End the exchange without an answer: the connection is closed (for tests of clients that must
 * cope with a server that goes away mid-request). */
int ge_http_abort(ge_http_exchange_t *ex);

/* Send the reply and end the exchange: STATUS with BODY (copied; may be NULL) of CONTENT_TYPE. */
int ge_http_reply(ge_http_exchange_t *ex, int status, const char *content_type, const void *body,
                  size_t len);

#ifdef __cplusplus
}
#endif
#endif
