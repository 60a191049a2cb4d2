/* test_http.c - the HTTP/1.1 client and server on 127.0.0.1: keep-alive (1,000 requests over one
 * TLS connection), methods and bodies, Location, chunked bodies streamed as they arrive, size caps,
 * connect/read/total timeouts, retries with backoff for connection failures and 5xx but never 4xx,
 * conditional GET, many concurrent TLS connections, and a server that survives malformed
 * requests (bad chunk sizes, huge headers, slow and stalled senders, early close, garbage). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "runner.h"
#include "stack/net/net_internal.h"
#include "test_net_util.h"

static char *g_dir;
static char g_lfdi[GE_LFDI_BUF];
static const char *g_host = "127.0.0.1"; /* the host in the URL of clients started next */
static unsigned g_header_s, g_body_s; /* deadlines for servers started next; 0 = the default */


/* --- the server side: routes of a small test resource tree ---------------------------------- */

typedef struct srv {
    struct event_base *base;
    ge_tls_ctx_t *tls;
    ge_http_server_t *http;
    unsigned long hits;
    int flaky_left;        /* /flaky answers 503 this many times */
    unsigned slow_ms;      /* /slow answers after this long */
    char peer_lfdi[GE_LFDI_BUF];
    ge_log_t log;
    char warnings[1024]; /* what the server logged at WARN and above */
    int reused; /* the last request came over a resumed TLS session */
    char auth_seen[64]; /* the last Authorization header /auth saw */
    struct pending {
        struct event *ev;
        ge_http_exchange_t *ex;
    } slow[8];
    int nslow;
} srv_t;

static void slow_reply(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;

    (void)fd;
    (void)what;
    ge_http_reply(p->ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    p->ex = NULL;
}

static void route(void *ud, ge_http_exchange_t *ex)
{
    srv_t *s = ud;
    const char *path = ge_http_path(ex);
    size_t len;
    const void *body = ge_http_body(ex, &len);
    char buf[256];

    s->hits++;
    if (ge_http_peer_id(ex, s->peer_lfdi, NULL) != 0)
        s->peer_lfdi[0] = '\0';
    s->reused = ge_http_peer_ssl(ex) ? (int)SSL_session_reused(ge_http_peer_ssl(ex)) : -1;
    if (strcmp(path, "/dcap") == 0) {
        ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    } else if (strncmp(path, "/big?n=", 7) == 0) {
        long n = strtol(path + 7, NULL, 10);
        char *b = malloc((size_t)n);
        memset(b, 'x', (size_t)n);
        ge_http_reply(ex, 200, GE_MEDIA_SEP_EXI, b, (size_t)n);
        free(b);
    } else if (strcmp(path, "/etag") == 0) {
        const char *inm = ge_http_header(ex, "If-None-Match");
        ge_http_set_header(ex, "ETag", "\"v1\"");
        ge_http_set_header(ex, "Last-Modified", "Mon, 30 Nov 2026 12:00:00 GMT");
        if (inm && strcmp(inm, "\"v1\"") == 0)
            ge_http_reply(ex, 304, NULL, NULL, 0);
        else
            ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    } else if (strcmp(path, "/flaky") == 0 || (strcmp(path, "/auth") == 0 && s->flaky_left > 0)) {
        if (s->flaky_left > 0) {
            s->flaky_left--;
            ge_http_reply(ex, 503, "text/plain", "busy", 4);
        } else {
            ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
        }
    } else if (strcmp(path, "/slow") == 0 && s->nslow < 8) {
        struct pending *p = &s->slow[s->nslow++];
        struct timeval tv = { s->slow_ms / 1000, (s->slow_ms % 1000) * 1000 };
        p->ex = ex;
        p->ev = evtimer_new(s->base, slow_reply, p);
        evtimer_add(p->ev, &tv);
    } else if (strcmp(path, "/things") == 0 && strcmp(ge_http_method(ex), "POST") == 0) {
        const char *ct = ge_http_header(ex, "Content-Type");
        ge_http_set_header(ex, "Location", "/things/7");
        snprintf(buf, sizeof buf, "POST %zu %s", len, ct ? ct : "-");
        ge_http_reply(ex, 201, "text/plain", buf, strlen(buf));
    } else if (strncmp(path, "/echo", 5) == 0) {
        int n = snprintf(buf, sizeof buf, "%s %s ", ge_http_method(ex), path);
        if (body && len < sizeof buf - (size_t)n - 1)
            memcpy(buf + n, body, len), n += (int)len;
        ge_http_reply(ex, 200, "text/plain", buf, (size_t)n);
    } else if (strcmp(path, "/auth") == 0) {
        const char *auth = ge_http_header(ex, "Authorization"), *trace = ge_http_header(ex, "X-Trace");
        if (!auth) {
            ge_http_reply(ex, 401, NULL, NULL, 0);
        } else {
            snprintf(s->auth_seen, sizeof s->auth_seen, "%s", auth);
            snprintf(buf, sizeof buf, "Authorization=%s X-Trace=%s", auth, trace ? trace : "-");
            ge_http_reply(ex, 200, "text/plain", buf, strlen(buf));
        }
    } else if (strcmp(path, "/hugeheader") == 0) {
        char *v = malloc(20000);
        memset(v, 'h', 19999);
        v[19999] = '\0';
        ge_http_set_header(ex, "X-Huge", v);
        free(v);
        ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    } else {
        ge_http_reply(ex, 404, "text/plain", "no such resource", 16);
    }
}

static void srv_log(void *ud, ge_log_level level, const char *module, const char *msg)
{
    srv_t *s = ud;
    size_t n = strlen(s->warnings);

    (void)module;
    if (level <= GE_LOG_WARN && n < sizeof s->warnings - 1)
        snprintf(s->warnings + n, sizeof s->warnings - n, "%s\n", msg);
}

/* TLS = a csip profile name or NULL (plain HTTP). */
static void srv_start(srv_t *s, struct event_base *base, const char *profile, unsigned short port,
                      unsigned idle_s)
{
    ge_http_server_opts_t o;

    memset(s, 0, sizeof *s);
    s->base = base;
    if (profile)
        s->tls = tnet_tls_ctx(g_dir, profile, GE_TLS_SERVER);
    memset(&o, 0, sizeof o);
    o.port = port;
    o.tls = s->tls;
    o.handler = route;
    o.ud = s;
    o.idle_timeout_s = idle_s ? idle_s : 10;
    o.max_body_bytes = 64 * 1024;
    o.max_header_bytes = 8192;
    o.header_timeout_s = g_header_s;
    o.body_timeout_s = g_body_s;
    s->log.fn = srv_log;
    s->log.ud = s;
    s->log.level = GE_LOG_WARN;
    o.log = &s->log;
    CU_ASSERT_EQUAL_FATAL(ge_http_server_new(&s->http, base, &o), 0);
}

static void srv_stop(srv_t *s)
{
    /* answer what is still waiting, so no exchange outlives the server */
    for (int i = 0; i < s->nslow; i++) {
        if (s->slow[i].ex)
            slow_reply(-1, 0, &s->slow[i]);
        event_free(s->slow[i].ev);
    }
    ge_http_server_free(s->http);
    ge_tls_ctx_free(s->tls);
}

/* --- the client side ----------------------------------------------------------------------- */

typedef struct cli {
    ge_tls_ctx_t *tls;
    ge_http_client_t *http;
} cli_t;

static void cli_start(cli_t *c, struct event_base *base, const char *profile, unsigned short port,
                      ge_http_client_opts_t *o)
{
    char url[64];

    memset(c, 0, sizeof *c);
    if (profile)
        c->tls = tnet_tls_ctx(g_dir, profile, GE_TLS_CLIENT);
    snprintf(url, sizeof url, "%s://%s:%u", profile ? "https" : "http", g_host, (unsigned)port);
    o->url = url;
    o->tls = c->tls;
    if (!o->total_timeout_ms)
        o->total_timeout_ms = 10000;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&c->http, base, o), 0);
}

static void cli_stop(cli_t *c)
{
    ge_http_client_free(c->http);
    ge_tls_ctx_free(c->tls);
}

static int send_req(cli_t *c, tnet_res_t *r, const char *method, const char *path, const char *body,
                    const char *inm)
{
    ge_http_request_t rq;

    memset(r, 0, sizeof *r);
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.accept = GE_MEDIA_SEP_XML;
    if (body) {
        rq.body = body;
        rq.body_len = strlen(body);
        rq.content_type = GE_MEDIA_SEP_XML;
    }
    rq.if_none_match = inm;
    rq.on_body = tnet_res_body;
    rq.on_done = tnet_res_done;
    rq.ud = r;
    return ge_http_client_request(c->http, &rq);
}

static void do_req(struct event_base *base, cli_t *c, tnet_res_t *r, const char *method, const char *path,
                   const char *body, const char *inm)
{
    CU_ASSERT_EQUAL_FATAL(send_req(c, r, method, path, body, inm), 0);
    CU_ASSERT_FALSE(r->done); /* never called back from inside the call */
    tnet_loop(base, &r->done, 20000);
    CU_ASSERT_TRUE(r->done);
}

/* --- keep-alive ---------------------------------------------------------------------------- */

static void test_keepalive_1000_over_tls(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_chain_t ch;
    double t0, dt;

    srv_start(&s, base, "csip", 0, 0);
    memset(&o, 0, sizeof o);
    o.total_timeout_ms = 60000;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    t0 = tnet_now();
    tnet_chain_start(&ch, c.http, 1000);
    tnet_loop(base, &ch.done, 120000);
    dt = tnet_now() - t0;
    CU_ASSERT_EQUAL(ch.ok, 1000);
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), 1000);
    CU_ASSERT_EQUAL(ge_http_client_connections(c.http), 1); /* one TLS connection for all */
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi);
    printf("\n  1000 keep-alive GETs over one csip TLS connection: %.3f s (%.0f req/s)\n", dt, 1000 / dt);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

static void test_idle_close_reconnects(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    int never = 0;

    srv_start(&s, base, "csip", 0, 1); /* the server drops idle connections after 1 s */
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    tnet_loop(base, &never, 1800);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(ge_http_client_connections(c.http), 2);
    /* the new connection resumed the TLS session, and the server still knows the device */
    CU_ASSERT_EQUAL(s.reused, 1);
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

/* --- methods, headers, bodies -------------------------------------------------------------- */

static void test_methods_and_location(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;

    srv_start(&s, base, "csip", 0, 0);
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "POST", "/things", "<MirrorUsagePoint/>", NULL);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_STRING_EQUAL(r.loc, "/things/7");
    CU_ASSERT_STRING_EQUAL(r.body, "POST 19 " GE_MEDIA_SEP_XML);
    do_req(base, &c, &r, "PUT", "/echo/1", "<DER/>", NULL);
    CU_ASSERT_STRING_EQUAL(r.body, "PUT /echo/1 <DER/>");
    do_req(base, &c, &r, "DELETE", "/echo/2", NULL, NULL);
    CU_ASSERT_STRING_EQUAL(r.body, "DELETE /echo/2 ");
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_STRING_EQUAL(r.ct, GE_MEDIA_SEP_XML);
    do_req(base, &c, &r, "GET", "/big?n=3000", NULL, NULL);
    CU_ASSERT_STRING_EQUAL(r.ct, GE_MEDIA_SEP_EXI);
    CU_ASSERT_EQUAL(r.body_len, 3000);
    CU_ASSERT_EQUAL(ge_http_client_connections(c.http), 1);
    /* bad requests are refused at the call */
    {
        ge_http_request_t rq;
        memset(&rq, 0, sizeof rq);
        rq.method = "BREW";
        rq.path = "/pot";
        rq.on_done = tnet_res_done;
        CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
        rq.method = "GET";
        rq.path = "no-slash";
        CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
    }
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

static void test_conditional_get(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    char etag[32];

    srv_start(&s, base, NULL, 0, 0);
    memset(&o, 0, sizeof o);
    cli_start(&c, base, NULL, ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/etag", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.etag, "\"v1\"");
    CU_ASSERT_STRING_EQUAL(r.lm, "Mon, 30 Nov 2026 12:00:00 GMT");
    snprintf(etag, sizeof etag, "%s", r.etag);
    do_req(base, &c, &r, "GET", "/etag", NULL, etag);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 304);
    CU_ASSERT_EQUAL(r.body_len, 0);
    do_req(base, &c, &r, "GET", "/etag", NULL, "\"v0\"");
    CU_ASSERT_EQUAL(r.status, 200);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

/* --- caps and timeouts --------------------------------------------------------------------- */

static void test_caps(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;

    srv_start(&s, base, NULL, 0, 0);
    memset(&o, 0, sizeof o);
    o.max_body_bytes = 1000;
    o.max_header_bytes = 4096;
    o.max_retries = 3; /* caps are not retried */
    o.backoff_ms = 10;
    cli_start(&c, base, NULL, ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/big?n=999", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.body_len, 999);
    do_req(base, &c, &r, "GET", "/big?n=5000", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, GE_ERR_LIMIT);
    CU_ASSERT_EQUAL(r.attempts, 1);
    CU_ASSERT_TRUE(r.body_len <= 1000);
    do_req(base, &c, &r, "GET", "/hugeheader", NULL, NULL);
    CU_ASSERT_NOT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.attempts, 1);
    /* the client goes on working after both */
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

static void test_body_callback_can_stop(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    ge_http_request_t rq;
    srv_t s;
    cli_t c;
    tnet_res_t r;

    srv_start(&s, base, NULL, 0, 0);
    memset(&o, 0, sizeof o);
    cli_start(&c, base, NULL, ge_http_server_port(s.http), &o);
    memset(&r, 0, sizeof r);
    r.stop_rc = GE_ERR_SCHEMA; /* e.g. the decoder found the document invalid */
    memset(&rq, 0, sizeof rq);
    rq.path = "/big?n=50000";
    rq.on_body = tnet_res_body;
    rq.on_done = tnet_res_done;
    rq.ud = &r;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(c.http, &rq), 0);
    tnet_loop(base, &r.done, 10000);
    CU_ASSERT_EQUAL(r.err, GE_ERR_SCHEMA);
    CU_ASSERT_TRUE(r.pieces >= 1);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

static void test_timeouts(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    double t0;

    srv_start(&s, base, "csip", 0, 0);
    s.slow_ms = 1500;
    /* read timeout: the server is silent for longer than 300 ms */
    memset(&o, 0, sizeof o);
    o.read_timeout_ms = 300;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    t0 = tnet_now();
    do_req(base, &c, &r, "GET", "/slow", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, GE_ERR_TIMEOUT);
    CU_ASSERT_TRUE(r.t_done - t0 < 1.2);
    {
        /* a request queued behind the one that timed out is not lost with its connection,
         * even without retries: it was never on the wire */
        tnet_res_t r2;
        CU_ASSERT_EQUAL(send_req(&c, &r, "GET", "/slow", NULL, NULL), 0);
        CU_ASSERT_EQUAL(send_req(&c, &r2, "GET", "/dcap", NULL, NULL), 0);
        tnet_loop(base, &r2.done, 5000);
        CU_ASSERT_EQUAL(r.err, GE_ERR_TIMEOUT);
        CU_ASSERT_EQUAL(r2.err, 0);
        CU_ASSERT_EQUAL(r2.status, 200);
    }
    cli_stop(&c);
    /* total timeout: one request, however patient the reads */
    memset(&o, 0, sizeof o);
    o.read_timeout_ms = 5000;
    o.total_timeout_ms = 400;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    t0 = tnet_now();
    do_req(base, &c, &r, "GET", "/slow", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, GE_ERR_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errmsg, "total timeout"));
    CU_ASSERT_TRUE(r.t_done - t0 >= 0.35 && r.t_done - t0 < 1.2);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

/* A listener that accepts and then says nothing: the TLS handshake never completes. */
static void mute_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *a, int n, void *arg)
{
    int *fds = arg;

    (void)l;
    (void)a;
    (void)n;
    for (int i = 0; i < 8; i++)
        if (fds[i] < 0) {
            fds[i] = fd;
            return;
        }
    close(fd);
}

static struct evconnlistener *listen_any(struct event_base *base, evconnlistener_cb cb, void *arg,
                                         unsigned short *port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    struct evconnlistener *l;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                (struct sockaddr *)&sin, sizeof sin);
    if (!l)
        return NULL;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &sl);
    *port = ntohs(sin.sin_port);
    return l;
}

static void test_connect_timeout(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    int fds[8];
    unsigned short port = 0;
    struct evconnlistener *l;
    cli_t c;
    tnet_res_t r;
    double t0;

    for (int i = 0; i < 8; i++)
        fds[i] = -1;
    l = listen_any(base, mute_accept, fds, &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = 300;
    cli_start(&c, base, "csip", port, &o);
    t0 = tnet_now();
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, GE_ERR_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.errmsg, "TLS connection not established"));
    CU_ASSERT_TRUE(r.t_done - t0 < 1.5);
    cli_stop(&c);
    evconnlistener_free(l);
    for (int i = 0; i < 8; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    event_base_free(base);
}

/* --- retries ------------------------------------------------------------------------------- */

static void test_retry_5xx_with_backoff(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    double t0;

    srv_start(&s, base, "csip", 0, 0);
    s.flaky_left = 2;
    memset(&o, 0, sizeof o);
    o.max_retries = 3;
    o.backoff_ms = 200; /* delays: [100,200] then [200,400] ms with jitter */
    o.jitter_seed = 42;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    t0 = tnet_now();
    do_req(base, &c, &r, "GET", "/flaky", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.attempts, 3);
    CU_ASSERT_STRING_EQUAL(r.body, TNET_DCAP); /* the 503 bodies were not handed on */
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), 3);
    CU_ASSERT_TRUE(r.t_done - t0 >= 0.29);
    CU_ASSERT_TRUE(r.t_done - t0 < 2.0);
    /* retries exhausted: the last 5xx is the answer */
    s.flaky_left = 5;
    do_req(base, &c, &r, "GET", "/flaky", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_EQUAL(r.attempts, 4);
    CU_ASSERT_STRING_EQUAL(r.body, "busy");
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

static void test_no_retry_4xx(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;

    srv_start(&s, base, NULL, 0, 0);
    memset(&o, 0, sizeof o);
    o.max_retries = 3;
    o.backoff_ms = 10;
    cli_start(&c, base, NULL, ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/nothing-here", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 404);
    CU_ASSERT_EQUAL(r.attempts, 1);
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), 1);
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

typedef struct late {
    srv_t *s;
    struct event_base *base;
    unsigned short port;
    int started;
} late_t;

static void late_start(evutil_socket_t fd, short what, void *arg)
{
    late_t *l = arg;

    (void)fd;
    (void)what;
    srv_start(l->s, l->base, "csip", l->port, 0);
    l->started = 1;
}

static void test_retry_connection_failure(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    late_t l;
    struct timeval tv = { 0, 250000 };
    struct event *ev;

    /* learn a free port, then leave it closed for a while */
    srv_start(&s, base, NULL, 0, 0);
    l.port = ge_http_server_port(s.http);
    srv_stop(&s);
    memset(&o, 0, sizeof o);
    o.max_retries = 0;
    cli_start(&c, base, "csip", l.port, &o);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, GE_ERR_IO); /* refused, no retries allowed */
    CU_ASSERT_EQUAL(r.attempts, 1);
    cli_stop(&c);

    l.s = &s;
    l.base = base;
    l.started = 0;
    ev = evtimer_new(base, late_start, &l);
    evtimer_add(ev, &tv);
    o.max_retries = 6;
    o.backoff_ms = 100;
    cli_start(&c, base, "csip", l.port, &o);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_TRUE(l.started);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_TRUE(r.attempts >= 2);
    cli_stop(&c);
    event_free(ev);
    if (l.started)
        srv_stop(&s);
    event_base_free(base);
}

/* --- extra request header fields (e.g. OpenADR 3.0 bearer tokens) ------------------------- */

static void test_request_fields(void)
{
    static const ge_http_field_t ok[] = {
        { "Authorization", "Bearer tok-1" },
        { "X-Trace", "a b\tc" },
    };
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    ge_http_request_t rq;
    srv_t s;
    cli_t c;
    tnet_res_t r;

    srv_start(&s, base, "csip", 0, 0);
    s.flaky_left = 1;
    memset(&o, 0, sizeof o);
    o.max_retries = 2;
    o.backoff_ms = 10;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    memset(&rq, 0, sizeof rq);
    memset(&r, 0, sizeof r);
    rq.path = "/auth";
    rq.fields = ok;
    rq.nfields = 2;
    rq.on_body = tnet_res_body;
    rq.on_done = tnet_res_done;
    rq.ud = &r;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(c.http, &rq), 0);
    tnet_loop(base, &r.done, 10000);
    /* the first attempt got a 503; the retry carried the fields again */
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(r.attempts, 2);
    CU_ASSERT_STRING_EQUAL(r.body, "Authorization=Bearer tok-1 X-Trace=a b\tc");
    CU_ASSERT_STRING_EQUAL(s.auth_seen, "Bearer tok-1");
    /* without them the server refuses */
    do_req(base, &c, &r, "GET", "/auth", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 401);
    {
        /* refused at the call: bad names and values, fields the client writes itself, too many */
        static const ge_http_field_t bad[][1] = {
            { { "Bad Name", "v" } },         { { "", "v" } },
            { { "X-A", "v\r\nX-B: w" } },   { { "X-A", "v\nw" } },
            { { "X-A", NULL } },             { { NULL, "v" } },
            { { "host", "evil" } },          { { "Content-Length", "0" } },
            { { "Transfer-Encoding", "chunked" } }, { { "Connection", "close" } },
            { { "X:Y", "v" } },
        };
        ge_http_field_t many[GE_HTTP_MAX_FIELDS + 1];
        char *huge = malloc(GE_HTTP_MAX_FIELD_BYTES + 2);
        ge_http_field_t big = { "X-Big", huge };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            rq.fields = bad[i];
            rq.nfields = 1;
            CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
        }
        rq.fields = NULL;
        rq.nfields = 1;
        CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
        for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
            many[i] = ok[0];
        rq.fields = many;
        rq.nfields = GE_HTTP_MAX_FIELDS + 1;
        CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
        memset(huge, 'v', GE_HTTP_MAX_FIELD_BYTES + 1);
        huge[GE_HTTP_MAX_FIELD_BYTES + 1] = '\0';
        rq.fields = &big;
        rq.nfields = 1;
        CU_ASSERT_EQUAL(ge_http_client_request(c.http, &rq), GE_ERR_INVALID);
        free(huge);
        CU_ASSERT_FALSE(r.done && r.err == GE_ERR_INVALID); /* no on_done for a refused call */
    }
    cli_stop(&c);
    srv_stop(&s);
    event_base_free(base);
}

/* --- host names resolved off the loop ------------------------------------------------------ */

typedef struct ticker {
    struct event *ev;
    unsigned long ticks;
} ticker_t;

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((ticker_t *)arg)->ticks++;
}

static void test_host_names(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r;
    unsigned long started;
    double t0;

    srv_start(&s, base, "csip", 0, 0);
    /* an IP address never goes through the resolver */
    started = gnet_resolve_started();
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(gnet_resolve_started(), started);
    cli_stop(&c);

    /* "localhost": resolved once for the connection, which keep-alive then reuses; the TLS
     * name check is against "localhost" (the server certificate's DNS name) */
    g_host = "localhost";
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_EQUAL(gnet_resolve_started(), started + 1);
    CU_ASSERT_EQUAL(ge_http_client_connections(c.http), 1);
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi);
    cli_stop(&c);

    /* a name that does not exist (RFC 6761: .invalid never resolves): an error naming it, in
     * bounded time whether the resolver answers "no such name" or never answers (offline), not
     * retried when it is "no such name"; the loop runs on meanwhile */
    g_host = "gridedge-test.invalid";
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = 2000;
    o.max_retries = 3;
    o.backoff_ms = 10;
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    {
        ticker_t tk = { NULL, 0 };
        struct timeval tv = { 0, 20000 };

        tk.ev = event_new(base, -1, EV_PERSIST, tick, &tk);
        event_add(tk.ev, &tv);
        t0 = tnet_now();
        do_req(base, &c, &r, "GET", "/dcap", NULL, NULL);
        event_free(tk.ev);
        printf("\n  %s: %s after %.3f s, %u attempt(s)\n", g_host, r.errmsg, r.t_done - t0, r.attempts);
        CU_ASSERT(r.err == GE_ERR_NOTFOUND || r.err == GE_ERR_TIMEOUT || r.err == GE_ERR_IO);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.errmsg, "cannot resolve gridedge-test.invalid"));
        CU_ASSERT_EQUAL(r.status, 0);
        if (r.err == GE_ERR_NOTFOUND)
            CU_ASSERT_EQUAL(r.attempts, 1);
        CU_ASSERT(r.t_done - t0 < 4 * 2.0 + 1.0); /* each attempt bounded by connect_timeout_ms */
        /* the timer kept running while the name was looked up */
        CU_ASSERT(tk.ticks + 2 >= (unsigned long)((r.t_done - t0) / 0.02) / 2);
    }
    cli_stop(&c);
    g_host = "127.0.0.1";
    srv_stop(&s);
    event_base_free(base);
}

/* Clients freed while their name is being resolved: the resolver threads finish on their own and
 * leave nothing behind (no memory under ASan, no pipe). */
static void test_host_name_cancelled(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    tnet_res_t r;
    int fds0 = tnet_open_fds(), never = 0;
    double t0;

    g_host = "localhost";
    for (int i = 0; i < 40; i++) {
        cli_t c;

        memset(&o, 0, sizeof o);
        cli_start(&c, base, NULL, 9, &o);
        CU_ASSERT_EQUAL(send_req(&c, &r, "GET", "/dcap", NULL, NULL), 0);
        /* freed before the resolution starts, while it runs or just after it answered, and
         * once the connection is being made */
        if (i % 3)
            tnet_loop(base, &never, i % 3 == 1 ? 1 : 50);
        cli_stop(&c);
        CU_ASSERT(r.done);
        /* freed with the request pending, or (port 9 refusing) already failed */
        CU_ASSERT(r.err == GE_ERR_CLOSED || r.err == GE_ERR_IO);
    }
    g_host = "127.0.0.1";
    for (t0 = tnet_now(); gnet_resolve_running() > 0 && tnet_now() - t0 < 5;)
        usleep(10000);
    CU_ASSERT_EQUAL(gnet_resolve_running(), 0);
    /* libevent closes freed connections' sockets a turn later; on a loaded machine (the sanitizer
     * build with other tests beside it) that can take more than one slice: a leak never comes back */
    for (t0 = tnet_now(); tnet_open_fds() != fds0 && tnet_now() - t0 < 5;)
        tnet_loop(base, &never, 50);
    CU_ASSERT_EQUAL(tnet_open_fds(), fds0);
    event_base_free(base);
}

static void test_free_with_pending(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    srv_t s;
    cli_t c;
    tnet_res_t r1, r2;
    int never = 0;

    srv_start(&s, base, "csip", 0, 0);
    s.slow_ms = 300;
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    CU_ASSERT_EQUAL(send_req(&c, &r1, "GET", "/slow", NULL, NULL), 0);
    CU_ASSERT_EQUAL(send_req(&c, &r2, "GET", "/dcap", NULL, NULL), 0);
    tnet_loop(base, &never, 100); /* the first is on the wire */
    cli_stop(&c);
    CU_ASSERT_TRUE(r1.done && r2.done);
    CU_ASSERT_EQUAL(r1.err, GE_ERR_CLOSED);
    CU_ASSERT_EQUAL(r2.err, GE_ERR_CLOSED);
    tnet_loop(base, &never, 500); /* the server answers into a closed connection */
    srv_stop(&s);
    event_base_free(base);
}

typedef struct freer {
    cli_t *c;
    int done, status;
} freer_t;

static void free_from_done(void *ud, const ge_http_response_t *p)
{
    freer_t *f = ud;

    f->status = p->status;
    f->done = 1;
    cli_stop(f->c); /* the caller may free the client from its own callback */
}

static void test_free_from_callback(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    ge_http_request_t rq;
    srv_t s;
    cli_t c;
    freer_t f = { &c, 0, 0 };
    tnet_res_t r2;

    srv_start(&s, base, "csip", 0, 0);
    memset(&o, 0, sizeof o);
    cli_start(&c, base, "csip", ge_http_server_port(s.http), &o);
    memset(&rq, 0, sizeof rq);
    rq.path = "/dcap";
    rq.on_done = free_from_done;
    rq.ud = &f;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(c.http, &rq), 0);
    CU_ASSERT_EQUAL_FATAL(send_req(&c, &r2, "GET", "/dcap", NULL, NULL), 0); /* queued behind */
    tnet_loop(base, &f.done, 10000);
    CU_ASSERT_EQUAL(f.status, 200);
    CU_ASSERT_TRUE(r2.done); /* ended by the free, not lost */
    CU_ASSERT_EQUAL(r2.err, GE_ERR_CLOSED);
    srv_stop(&s);
    event_base_free(base);
}

/* --- chunked bodies, streamed -------------------------------------------------------------- */

typedef struct canned {
    struct event_base *base;
    const char *first, *second; /* written on the request, and 150 ms later */
    struct bufferevent *bev;
    struct event *later;
} canned_t;

static void canned_later(evutil_socket_t fd, short what, void *arg)
{
    canned_t *k = arg;

    (void)fd;
    (void)what;
    if (k->bev && k->second)
        bufferevent_write(k->bev, k->second, strlen(k->second));
}

static void canned_read(struct bufferevent *bev, void *arg)
{
    canned_t *k = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    struct timeval tv = { 0, 150000 };

    if (p.pos < 0)
        return;
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_write(bev, k->first, strlen(k->first));
    evtimer_add(k->later, &tv);
}

static void canned_event(struct bufferevent *bev, short what, void *arg)
{
    canned_t *k = arg;

    (void)what;
    if (k->bev == bev)
        k->bev = NULL;
    bufferevent_free(bev);
}

static void canned_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *a, int n, void *arg)
{
    canned_t *k = arg;

    (void)l;
    (void)a;
    (void)n;
    if (k->bev)
        bufferevent_free(k->bev);
    k->bev = bufferevent_socket_new(k->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(k->bev, canned_read, NULL, canned_event, k);
    bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

typedef struct watch {
    tnet_res_t *r;
    size_t pieces_at_second;
} watch_t;

static void test_chunked_streamed(void)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    canned_t k;
    struct evconnlistener *l;
    unsigned short port = 0;
    cli_t c;
    tnet_res_t r;

    memset(&k, 0, sizeof k);
    k.base = base;
    k.first = "HTTP/1.1 200 OK\r\nContent-Type: application/sep+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
              "6\r\n<Time>\r\n";
    k.second = "7\r\n</Time>\r\n0\r\n\r\n";
    k.later = evtimer_new(base, canned_later, &k);
    l = listen_any(base, canned_accept, &k, &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    memset(&o, 0, sizeof o);
    cli_start(&c, base, NULL, port, &o);
    CU_ASSERT_EQUAL_FATAL(send_req(&c, &r, "GET", "/tm", NULL, NULL), 0);
    {
        int never = 0;
        tnet_loop(base, &never, 100);
    }
    /* the first chunk reached the body callback before the rest was even sent */
    CU_ASSERT_FALSE(r.done);
    CU_ASSERT_EQUAL(r.body_len, 6);
    tnet_loop(base, &r.done, 5000);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "<Time></Time>");
    CU_ASSERT_TRUE(r.pieces >= 2);

    /* a bad chunk size from the server: an error, not a crash, not retried */
    k.first = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n";
    k.second = NULL;
    do_req(base, &c, &r, "GET", "/tm", NULL, NULL);
    CU_ASSERT_NOT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.attempts, 1);
    cli_stop(&c);
    if (k.bev)
        bufferevent_free(k.bev);
    event_free(k.later);
    evconnlistener_free(l);
    event_base_free(base);
}

/* --- a kept-alive connection closed as a request goes out ----------------------------------- */

/* A server that answers every request, except the second one on its first connection: that
 * connection is closed unanswered, as when the server's idle timeout crosses a request. */
typedef struct stale_srv {
    struct event_base *base;
    int conns;
    struct stale_conn {
        struct bufferevent *bev;
        int index, requests;
    } c[4];
} stale_srv_t;

static void stale_read(struct bufferevent *bev, void *arg)
{
    struct stale_conn *k = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/sep+xml\r\nContent-Length: 7\r\n\r\n"
                                "<Time/>";

    if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos < 0)
        return;
    evbuffer_drain(in, evbuffer_get_length(in));
    if (k->index == 0 && ++k->requests == 2) {
        bufferevent_free(bev);
        k->bev = NULL;
        return;
    }
    bufferevent_write(bev, reply, sizeof reply - 1);
}

static void stale_event(struct bufferevent *bev, short what, void *arg)
{
    struct stale_conn *k = arg;

    (void)what;
    bufferevent_free(bev);
    k->bev = NULL;
}

static void stale_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *a, int n, void *arg)
{
    stale_srv_t *sv = arg;
    struct stale_conn *k;

    (void)l;
    (void)a;
    (void)n;
    if (sv->conns >= 4) {
        evutil_closesocket(fd);
        return;
    }
    k = &sv->c[sv->conns];
    k->index = sv->conns++;
    k->bev = bufferevent_socket_new(sv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(k->bev, stale_read, NULL, stale_event, k);
    bufferevent_enable(k->bev, EV_READ | EV_WRITE);
}

static void stale_round(const char *method, int *err, int *status, unsigned *attempts, int *conns)
{
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    stale_srv_t sv;
    struct evconnlistener *l;
    unsigned short port = 0;
    cli_t c;
    tnet_res_t r;

    memset(&sv, 0, sizeof sv);
    sv.base = base;
    l = listen_any(base, stale_accept, &sv, &port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    memset(&o, 0, sizeof o);
    o.max_retries = 0;
    cli_start(&c, base, NULL, port, &o);
    do_req(base, &c, &r, "GET", "/tm", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 200);
    do_req(base, &c, &r, method, "/tm", NULL, NULL);
    *err = r.err;
    *status = r.status;
    *attempts = r.attempts;
    *conns = sv.conns;
    cli_stop(&c);
    for (int i = 0; i < sv.conns; i++)
        if (sv.c[i].bev)
            bufferevent_free(sv.c[i].bev);
    evconnlistener_free(l);
    event_base_free(base);
}

/* Retries off: a GET the server closed unanswered on a kept-alive connection is sent once more on
 * a new connection (nothing was answered, and a GET may be repeated); a POST is not, as whether it
 * was applied is unknown (RFC 9112 9.3.1): it fails with GE_ERR_CLOSED, and its caller (the
 * engines' outboxes) decides. */
static void test_stale_keepalive(void)
{
    int err, status, conns;
    unsigned attempts;

    stale_round("GET", &err, &status, &attempts, &conns);
    CU_ASSERT_EQUAL(err, 0);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(attempts, 1);
    CU_ASSERT_EQUAL(conns, 2);
    stale_round("POST", &err, &status, &attempts, &conns);
    CU_ASSERT_EQUAL(err, GE_ERR_CLOSED);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(conns, 1);
}

/* --- many connections ---------------------------------------------------------------------- */

static void test_many_concurrent_tls(void)
{
    enum { N = 40 };
    struct event_base *base = event_base_new();
    ge_http_client_opts_t o;
    ge_tls_ctx_t *tls;
    ge_http_client_t *cl[N];
    tnet_res_t *r = calloc(N, sizeof *r);
    char url[64];
    srv_t s;
    int all = 0, ok = 0;

    srv_start(&s, base, "csip", 0, 0);
    tls = tnet_tls_ctx(g_dir, "csip", GE_TLS_CLIENT);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", ge_http_server_port(s.http));
    memset(&o, 0, sizeof o);
    o.url = url;
    o.tls = tls;
    for (int i = 0; i < N; i++) {
        ge_http_request_t rq;
        CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&cl[i], base, &o), 0);
        memset(&rq, 0, sizeof rq);
        rq.path = "/dcap";
        rq.on_body = tnet_res_body;
        rq.on_done = tnet_res_done;
        rq.ud = &r[i];
        CU_ASSERT_EQUAL(ge_http_client_request(cl[i], &rq), 0);
    }
    for (int round = 0; round < 200 && !all; round++) {
        int never = 0;
        tnet_loop(base, &never, 50);
        all = 1;
        for (int i = 0; i < N; i++)
            all &= r[i].done;
    }
    for (int i = 0; i < N; i++) {
        ok += r[i].err == 0 && r[i].status == 200;
        ge_http_client_free(cl[i]);
    }
    CU_ASSERT_EQUAL(ok, N);
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), N);
    free(r);
    ge_tls_ctx_free(tls);
    srv_stop(&s);
    event_base_free(base);
}

/* --- malformed requests against a server running in its own thread ------------------------ */

typedef struct bg {
    pthread_t th;
    struct event_base *base;
    srv_t s;
    atomic_int stop;
    struct event *tick;
} bg_t;

static void bg_tick(evutil_socket_t fd, short what, void *arg)
{
    bg_t *b = arg;

    (void)fd;
    (void)what;
    if (atomic_load(&b->stop))
        event_base_loopbreak(b->base);
}

static void *bg_run(void *arg)
{
    bg_t *b = arg;

    event_base_dispatch(b->base);
    return NULL;
}

static void bg_start(bg_t *b, const char *profile, unsigned idle_s)
{
    struct timeval tv = { 0, 20000 };

    memset(b, 0, sizeof *b);
    b->base = event_base_new();
    srv_start(&b->s, b->base, profile, 0, idle_s);
    b->tick = event_new(b->base, -1, EV_PERSIST, bg_tick, b);
    event_add(b->tick, &tv);
    pthread_create(&b->th, NULL, bg_run, b);
}

static void bg_stop(bg_t *b)
{
    atomic_store(&b->stop, 1);
    pthread_join(b->th, NULL);
    event_free(b->tick);
    srv_stop(&b->s);
    event_base_free(b->base);
}

/* Send DATA (in pieces of STEP bytes every GAP_MS when STEP > 0), then read until the server
 * closes or 3 s pass; the reply's first line goes to LINE.  Returns bytes read, -1 on timeout. */
static long raw_exchange(unsigned short port, const char *data, size_t len, size_t step, unsigned gap_ms,
                         int close_early, char *line, size_t size)
{
    char buf[4096];
    long total = 0;
    ssize_t n;
    int fd = tnet_connect(port, 3);

    if (size)
        line[0] = '\0';
    if (fd < 0)
        return -2;
    for (size_t off = 0; off < len;) {
        size_t k = step && step < len - off ? step : len - off;
        if (send(fd, data + off, k, MSG_NOSIGNAL) < 0)
            break;
        off += k;
        if (step && gap_ms)
            usleep(gap_ms * 1000);
    }
    if (close_early) {
        close(fd);
        return 0;
    }
    while ((n = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
        if (total == 0 && size) {
            buf[n] = '\0';
            char *nl = strstr(buf, "\r\n");
            if (nl)
                *nl = '\0';
            size_t m = strlen(buf) < size ? strlen(buf) : size - 1;
            memcpy(line, buf, m);
            line[m] = '\0';
        }
        total += n;
        /* keep-alive: stop after one reply */
        if (strstr(buf, "\r\n\r\n") && !strstr(buf, "Transfer-Encoding"))
            break;
    }
    close(fd);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && total == 0 ? -1 : total;
}

static int good_request_works(unsigned short port)
{
    static const char req[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";
    char line[128];

    raw_exchange(port, req, sizeof req - 1, 0, 0, 0, line, sizeof line);
    return strcmp(line, "HTTP/1.1 200 OK") == 0;
}

static void test_malformed_requests(void)
{
    static const struct {
        const char *what;
        const char *data;
        const char *expect; /* first line of the reply, or "" = any error reply or a close */
    } cases[] = {
        { "bad chunk size",
          "POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n", "" },
        { "negative chunk size",
          "POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", "" },
        { "huge chunk size",
          "POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nhi\r\n", "" },
        { "negative content-length", "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "" },
        { "garbage content-length", "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n", "" },
        { "body over the cap", "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n",
          "HTTP/1.1 413 Request Entity Too Large" },
        { "bad request line", "GARBAGE\r\n\r\n", "" },
        { "unknown method", "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 501 Not Implemented" },
        { "binary noise", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xff\xfe\r\n\r\n", "" },
        { "header without colon", "GET /dcap HTTP/1.1\r\nHost x\r\n\r\n", "" },
    };
    bg_t b;
    unsigned short port;
    char line[256];

    bg_start(&b, NULL, 1);
    port = ge_http_server_port(b.s.http);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long n = raw_exchange(port, cases[i].data, strlen(cases[i].data), 0, 0, 0, line, sizeof line);
        if (n == -1)
            printf("\n  %s: no reply and no close within 3 s\n", cases[i].what);
        CU_ASSERT_NOT_EQUAL(n, -1); /* answered or closed, never left hanging */
        if (cases[i].expect[0] && strcmp(line, cases[i].expect) != 0)
            printf("\n  %s: got \"%s\"\n", cases[i].what, line);
        if (cases[i].expect[0])
            CU_ASSERT_STRING_EQUAL(line, cases[i].expect);
        CU_ASSERT_TRUE(strncmp(line, "HTTP/1.1 2", 10) != 0);
        CU_ASSERT_TRUE(good_request_works(port));
    }
    {
        /* huge headers: 64 KiB of one header against an 8 KiB cap */
        size_t big = 65536;
        char *req = malloc(big + 64);
        int k = snprintf(req, 64, "GET /dcap HTTP/1.1\r\nX-Big: ");
        memset(req + k, 'a', big);
        memcpy(req + k + big, "\r\n\r\n", 5);
        long n = raw_exchange(port, req, strlen(req), 0, 0, 0, line, sizeof line);
        CU_ASSERT_NOT_EQUAL(n, -1);
        CU_ASSERT_TRUE(strncmp(line, "HTTP/1.1 2", 10) != 0);
        free(req);
        /* many small headers past the cap */
        req = malloc(200000);
        k = snprintf(req, 64, "GET /dcap HTTP/1.1\r\n");
        for (int h = 0; h < 5000; h++)
            k += snprintf(req + k, 40, "X-H%d: v\r\n", h);
        snprintf(req + k, 8, "\r\n");
        n = raw_exchange(port, req, strlen(req), 0, 0, 0, line, sizeof line);
        CU_ASSERT_NOT_EQUAL(n, -1);
        CU_ASSERT_TRUE(strncmp(line, "HTTP/1.1 2", 10) != 0);
        free(req);
        CU_ASSERT_TRUE(good_request_works(port));
    }
    {
        /* a well-formed chunked request body is accepted and reassembled */
        static const char req[] = "POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        raw_exchange(port, req, sizeof req - 1, 0, 0, 0, line, sizeof line);
        CU_ASSERT_STRING_EQUAL(line, "HTTP/1.1 201 Created");
    }
    {
        /* a slow but honest sender: 3 bytes every 10 ms is served */
        static const char req[] = "GET /dcap HTTP/1.1\r\nHost: slow\r\n\r\n";
        raw_exchange(port, req, sizeof req - 1, 3, 10, 0, line, sizeof line);
        CU_ASSERT_STRING_EQUAL(line, "HTTP/1.1 200 OK");
    }
    {
        /* a stalled sender: half a request, then silence; the 1 s idle timeout closes it */
        static const char req[] = "GET /dcap HTTP/1.1\r\nHo";
        double t0 = tnet_now();
        long n = raw_exchange(port, req, sizeof req - 1, 0, 0, 0, line, sizeof line);
        CU_ASSERT_NOT_EQUAL(n, -1);
        CU_ASSERT_TRUE(tnet_now() - t0 < 2.9);
    }
    {
        /* early close: mid-headers, mid-body */
        static const char a[] = "GET /dcap HTTP/1.1\r\nHost: x\r\nX-Cut: ";
        static const char bb[] = "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-bit";
        raw_exchange(port, a, sizeof a - 1, 0, 0, 1, line, sizeof line);
        raw_exchange(port, bb, sizeof bb - 1, 0, 0, 1, line, sizeof line);
        usleep(100000);
        CU_ASSERT_TRUE(good_request_works(port));
    }
    bg_stop(&b);
}

static void test_malformed_tls(void)
{
    bg_t b;
    unsigned short port;
    char line[128];
    SSL_CTX *ctx;

    bg_start(&b, "csip", 1);
    port = ge_http_server_port(b.s.http);
    /* plain HTTP into the TLS port */
    {
        static const char req[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";
        long n = raw_exchange(port, req, sizeof req - 1, 0, 0, 0, line, sizeof line);
        CU_ASSERT_NOT_EQUAL(n, -1);
        CU_ASSERT_TRUE(strncmp(line, "HTTP/1.1 2", 10) != 0);
    }
    /* a truncated ClientHello and then close */
    {
        static const char hello[] = "\x16\x03\x01\x00\xff\x01\x00\x00\xfb\x03\x03";
        raw_exchange(port, hello, sizeof hello - 1, 0, 0, 1, line, sizeof line);
    }
    /* a full csip handshake, then a bad chunk size, then an early close after the handshake */
    ctx = tnet_csip_client_ctx(g_dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    for (int round = 0; round < 3; round++) {
        int fd = tnet_connect(port, 3);
        SSL *ssl = SSL_new(ctx);
        char buf[512];
        int n;

        SSL_set_fd(ssl, fd);
        CU_ASSERT_EQUAL(SSL_connect(ssl), 1);
        if (round == 0) {
            static const char bad[] =
                "POST /things HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nQQ\r\nx\r\n0\r\n\r\n";
            SSL_write(ssl, bad, sizeof bad - 1);
            n = SSL_read(ssl, buf, sizeof buf - 1);
            /* a 4xx or a close, never a 2xx */
            CU_ASSERT_TRUE(n <= 0 || strncmp(buf, "HTTP/1.1 2", 10) != 0);
        } else if (round == 1) {
            static const char good[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";
            SSL_write(ssl, good, sizeof good - 1);
            n = SSL_read(ssl, buf, sizeof buf - 1);
            CU_ASSERT_TRUE(n > 0 && strncmp(buf, "HTTP/1.1 200 OK", 15) == 0);
        }
        /* round 2: handshake done, nothing sent, close without close_notify */
        SSL_free(ssl);
        close(fd);
    }
    SSL_CTX_free(ctx);
    usleep(100000);
    bg_stop(&b);
}


/* --- slow senders against the request deadlines ------------------------------------------- */

/* A test client's connection: plain TCP, or TLS when SSL is set (blocking, 3 s read timeout). */
typedef struct tconn {
    int fd;
    SSL *ssl;
} tconn_t;

static int tc_open(tconn_t *c, unsigned short port, SSL_CTX *ctx)
{
    c->ssl = NULL;
    c->fd = tnet_connect(port, 3);
    if (c->fd < 0)
        return -1;
    if (!ctx)
        return 0;
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static int tc_write(tconn_t *c, const char *data, size_t len)
{
    if (c->ssl)
        return SSL_write(c->ssl, data, (int)len) == (int)len ? 0 : -1;
    return send(c->fd, data, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int tc_read(tconn_t *c, char *buf, size_t size)
{
    if (c->ssl)
        return SSL_read(c->ssl, buf, (int)size);
    return (int)recv(c->fd, buf, size, 0);
}

static void tc_close(tconn_t *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Read one reply (headers and body may come in separate reads) and put its first line in LINE;
 * 0 = the server closed (or said nothing for 3 s) first. */
static int tc_read_reply(tconn_t *c, char *line, size_t size)
{
    char buf[1024];
    int n, got = 0;
    char *nl;

    line[0] = '\0';
    while (got < (int)sizeof buf - 1 && (n = tc_read(c, buf + got, sizeof buf - 1 - (size_t)got)) > 0) {
        got += n;
        buf[got] = '\0';
        if (strstr(buf, "/>") || (strstr(buf, "\r\n\r\n") && strncmp(buf, "HTTP/1.1 200", 12) != 0))
            break;
    }
    if (got == 0)
        return 0;
    buf[got] = '\0';
    if ((nl = strstr(buf, "\r\n")) != NULL)
        *nl = '\0';
    n = (int)strlen(buf) < (int)size ? (int)strlen(buf) : (int)size - 1;
    memcpy(line, buf, (size_t)n);
    line[n] = '\0';
    return 1;
}

typedef struct drip {
    unsigned short port;
    SSL_CTX *ctx;       /* NULL: plain HTTP */
    const char *first;  /* a whole request sent at once first (keep-alive), or NULL */
    const char *head;   /* sent at once before DATA, or NULL */
    const char *data;   /* then this, one byte every GAP_MS */
    unsigned gap_ms;
    double t_connect, t_cut; /* when the server closed (0 = it did not) */
    size_t sent;
    char reply[128];    /* the first line of the answer to DATA, if any */
} drip_t;

/* Send D->data a byte at a time; stop when the server answers or closes. */
static void drip_run(drip_t *d)
{
    tconn_t c;
    char line[128];

    d->t_connect = tnet_now();
    if (tc_open(&c, d->port, d->ctx) != 0) {
        CU_FAIL("cannot connect");
        tc_close(&c);
        return;
    }
    if (d->first) {
        tc_write(&c, d->first, strlen(d->first));
        CU_ASSERT(tc_read_reply(&c, line, sizeof line));
        CU_ASSERT_STRING_EQUAL(line, "HTTP/1.1 200 OK");
    }
    if (d->head)
        tc_write(&c, d->head, strlen(d->head));
    for (d->sent = 0; d->data[d->sent]; d->sent++) {
        struct pollfd p = { c.fd, POLLIN, 0 };

        if (poll(&p, 1, (int)d->gap_ms) > 0) {
            if (!tc_read_reply(&c, d->reply, sizeof d->reply))
                d->t_cut = tnet_now();
            break;
        }
        if (tc_write(&c, d->data + d->sent, 1) != 0) {
            d->t_cut = tnet_now();
            break;
        }
    }
    if (!d->data[d->sent] && !d->t_cut && !tc_read_reply(&c, d->reply, sizeof d->reply))
        d->t_cut = tnet_now();
    tc_close(&c);
}

static void *drip_thread(void *arg)
{
    drip_run(arg);
    return NULL;
}

/* Slow senders against a server (PROFILE, NULL = plain HTTP) with a 2 s header and a 3 s body
 * deadline and a 10 s idle timeout (which alone would never cut a dripping client). */
static void slow_senders(const char *profile)
{
    static const char good[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char post[] = "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n";
    static const char post_small[] = "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n";
    enum { N = 5 };
    char slow[512], body[201];
    bg_t b;
    SSL_CTX *ctx = profile ? tnet_csip_client_ctx(g_dir) : NULL;
    drip_t d[N];
    pthread_t th[N];
    int served = 0, tries = 0;
    /* how long after its connect each drip must be cut: [lo, hi] s, or 0 = served */
    static const double lo[N] = { 1.9, 1.9, 0, 2.9, 0 }, hi[N] = { 3.5, 3.5, 0, 4.5, 0 };

    CU_ASSERT_FATAL(!profile || ctx);
    /* a header that would take 30 s at one byte per 100 ms, a body that would take 20 s */
    snprintf(slow, sizeof slow, "GET /dcap HTTP/1.1\r\nHost: x\r\nX-Pad: %0*d\r\n\r\n", 260, 0);
    memset(body, 'b', 200);
    body[200] = '\0';
    g_header_s = 2;
    g_body_s = 3;
    bg_start(&b, profile, 10);
    g_header_s = g_body_s = 0;
    memset(d, 0, sizeof d);
    for (int i = 0; i < N; i++) {
        d[i].port = ge_http_server_port(b.s.http);
        d[i].ctx = ctx;
        d[i].data = slow;
        d[i].gap_ms = 100;
    }
    d[1].first = good;        /* the deadline is re-armed for each request on a connection */
    d[2].data = good;         /* slow but within the deadline: 31 bytes * 30 ms < 1 s */
    d[2].gap_ms = 30;
    d[3].head = post;         /* the header at once, the body a byte per 100 ms */
    d[3].data = body;
    d[4].head = post_small;   /* a slow body within its deadline: 20 bytes * 30 ms */
    d[4].data = body + 180;
    d[4].gap_ms = 30;
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, drip_thread, &d[i]), 0);
    /* meanwhile other clients are served, each on a fresh connection */
    for (double t0 = tnet_now(); tnet_now() - t0 < 3.5; usleep(200000)) {
        tconn_t c;
        char line[128];

        tries++;
        if (tc_open(&c, ge_http_server_port(b.s.http), ctx) == 0 && tc_write(&c, good, sizeof good - 1) == 0 &&
            tc_read_reply(&c, line, sizeof line) && strcmp(line, "HTTP/1.1 200 OK") == 0)
            served++;
        tc_close(&c);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(served, tries);
    CU_ASSERT(tries >= 8);
    for (int i = 0; i < N; i++) {
        double after = d[i].t_cut - d[i].t_connect;

        if (!lo[i]) {
            CU_ASSERT_EQUAL(d[i].t_cut, 0);
            CU_ASSERT_STRING_EQUAL(d[i].reply, i == 4 ? "HTTP/1.1 201 Created" : "HTTP/1.1 200 OK");
            continue;
        }
        if (!d[i].t_cut || after < lo[i] || after > hi[i])
            printf("\n  %s dripping client %d: cut %s after %.2f s, %zu bytes sent\n", profile ? profile : "plain",
                   i, d[i].t_cut ? "" : "never", after, d[i].sent);
        CU_ASSERT(d[i].t_cut > 0);
        CU_ASSERT(after >= lo[i]); /* not before the deadline ... */
        CU_ASSERT(after <= hi[i]); /* ... and at it, not at the idle timeout */
        CU_ASSERT(d[i].sent < strlen(d[i].data));
        CU_ASSERT_STRING_EQUAL(d[i].reply, "");
    }
    /* the server still serves: the good ones, the first request of d[1], d[2] and d[4] */
    CU_ASSERT_EQUAL(ge_http_server_requests(b.s.http), (unsigned long)served + 3);
    {
        /* two pipelined requests in one write, then a pause longer than the deadline: a
         * connection idle between requests is the idle timeout's, not cut */
        tconn_t c;
        char two[2 * sizeof good], buf[2048], line[128];
        int got = 0, n;

        snprintf(two, sizeof two, "%s%s", good, good);
        CU_ASSERT_EQUAL_FATAL(tc_open(&c, ge_http_server_port(b.s.http), ctx), 0);
        CU_ASSERT_EQUAL(tc_write(&c, two, strlen(two)), 0);
        while (got < (int)sizeof buf - 1 && (n = tc_read(&c, buf + got, sizeof buf - 1 - (size_t)got)) > 0) {
            got += n;
            buf[got] = '\0';
            if (strstr(buf, "/>") && strstr(strstr(buf, "/>") + 2, "/>"))
                break;
        }
        buf[got > 0 ? got : 0] = '\0';
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, "/>") ? strstr(strstr(buf, "/>") + 2, "/>") : NULL);
        usleep(2500000);
        CU_ASSERT_EQUAL(tc_write(&c, good, sizeof good - 1), 0);
        CU_ASSERT(tc_read_reply(&c, line, sizeof line));
        CU_ASSERT_STRING_EQUAL(line, "HTTP/1.1 200 OK");
        tc_close(&c);
    }
    SSL_CTX_free(ctx);
    bg_stop(&b);
    /* read once the server thread has stopped */
    CU_ASSERT_PTR_NOT_NULL(strstr(b.s.warnings, "closing the connection from 127.0.0.1: request header "
                                                "not complete within 2 s (slow sender)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.s.warnings, "closing the connection from 127.0.0.1: request body "
                                                "not complete within 3 s of its header (slow sender)"));
}

static void test_slow_senders_plain(void)
{
    slow_senders(NULL);
}

static void test_slow_senders_tls(void)
{
    slow_senders("csip");
}

/* Many clients dripping headers at once (plain and TLS) do not keep a good client from being
 * served, and are all cut at the header deadline. */
static void test_many_slow_clients(void)
{
    enum { NPLAIN = 48, NTLS = 16, N = NPLAIN + NTLS };
    static const char good[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char part[] = "GET /dcap HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    bg_t plain, tls;
    SSL_CTX *ctx = tnet_csip_client_ctx(g_dir);
    tconn_t c[N];
    double opened[N];
    int cut = 0, served = 0, tries = 0;
    double worst = 0, t0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    g_header_s = 2;
    bg_start(&plain, NULL, 30);
    bg_start(&tls, "csip", 30);
    g_header_s = 0;
    for (int i = 0; i < N; i++) {
        opened[i] = tnet_now();
        CU_ASSERT_EQUAL_FATAL(tc_open(&c[i], ge_http_server_port(i < NPLAIN ? plain.s.http : tls.s.http),
                                      i < NPLAIN ? NULL : ctx),
                              0);
        CU_ASSERT_EQUAL(tc_write(&c[i], part, sizeof part - 1), 0);
    }
    t0 = tnet_now();
    /* for 3.5 s: every slow client sends a byte every 250 ms; a good request on each server
     * every 250 ms must be answered at once */
    while (tnet_now() - t0 < 3.5) {
        for (int i = 0; i < N; i++) {
            struct pollfd p = { c[i].fd, POLLIN, 0 };
            char b;

            if (c[i].fd < 0)
                continue;
            if (poll(&p, 1, 0) > 0 || tc_write(&c[i], "x", 1) != 0) {
                /* the server closed it: nothing may have been answered */
                CU_ASSERT(tc_read(&c[i], &b, 1) <= 0);
                CU_ASSERT(tnet_now() - opened[i] >= 1.9);
                tc_close(&c[i]);
                cut++;
            }
        }
        for (int k = 0; k < 2; k++) {
            tconn_t g;
            char line[128];
            double t1 = tnet_now();

            tries++;
            if (tc_open(&g, ge_http_server_port(k ? tls.s.http : plain.s.http), k ? ctx : NULL) == 0 &&
                tc_write(&g, good, sizeof good - 1) == 0 && tc_read_reply(&g, line, sizeof line) &&
                strcmp(line, "HTTP/1.1 200 OK") == 0)
                served++;
            if (tnet_now() - t1 > worst)
                worst = tnet_now() - t1;
            tc_close(&g);
        }
        usleep(250000);
    }
    printf("\n  %d dripping clients: %d cut by the header deadline; %d/%d good requests served, slowest %.3f s\n",
           N, cut, served, tries, worst);
    CU_ASSERT_EQUAL(cut, N);
    CU_ASSERT_EQUAL(served, tries);
    CU_ASSERT(worst < 1.0);
    for (int i = 0; i < N; i++)
        tc_close(&c[i]);
    SSL_CTX_free(ctx);
    bg_stop(&plain);
    bg_stop(&tls);
}

/* --- teardown with connections in every state ---------------------------------------------- */

enum { ST_HANDSHAKE, ST_HANDSHAKE_CLOSED, ST_SILENT, ST_HALF_HEADER, ST_HALF_BODY, ST_HALF_REPLY,
       ST_IDLE, ST_N };

typedef struct holder {
    pthread_t th;
    int state;
    unsigned short port;
    SSL_CTX *ctx;       /* NULL: plain HTTP */
    atomic_int reached; /* the connection is in its state */
    atomic_int *release;
    tconn_t c;
} holder_t;

/* Put a connection in H->state, say so, and hold it until released. */
static void *hold_run(void *arg)
{
    holder_t *h = arg;
    char buf[256];

    h->c.fd = -1;
    h->c.ssl = NULL;
    if (h->state == ST_HANDSHAKE || h->state == ST_HANDSHAKE_CLOSED) {
        /* our ClientHello out, the server's answer in, our next flight never sent */
        struct pollfd p;

        h->c.fd = tnet_connect(h->port, 3);
        h->c.ssl = SSL_new(h->ctx);
        SSL_set_fd(h->c.ssl, h->c.fd);
        fcntl(h->c.fd, F_SETFL, fcntl(h->c.fd, F_GETFL) | O_NONBLOCK);
        CU_ASSERT_EQUAL(SSL_get_error(h->c.ssl, SSL_connect(h->c.ssl)), SSL_ERROR_WANT_READ);
        p.fd = h->c.fd;
        p.events = POLLIN;
        CU_ASSERT_EQUAL(poll(&p, 1, 3000), 1);
        if (h->state == ST_HANDSHAKE_CLOSED)
            tc_close(&h->c);
    } else if (tc_open(&h->c, h->port, h->ctx) == 0) {
        static const char half_header[] = "GET /dcap HTTP/1.1\r\nHost: x\r\nX-Cut: ";
        static const char half_body[] = "POST /things HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789";
        static const char big[] = "GET /big?n=8000000 HTTP/1.1\r\nHost: x\r\n\r\n";
        static const char good[] = "GET /dcap HTTP/1.1\r\nHost: x\r\n\r\n";

        switch (h->state) {
        case ST_HALF_HEADER:
            CU_ASSERT_EQUAL(tc_write(&h->c, half_header, sizeof half_header - 1), 0);
            break;
        case ST_HALF_BODY:
            CU_ASSERT_EQUAL(tc_write(&h->c, half_body, sizeof half_body - 1), 0);
            break;
        case ST_HALF_REPLY:
            /* 8 MB asked for, a little read: the rest stays queued in the server */
            CU_ASSERT_EQUAL(tc_write(&h->c, big, sizeof big - 1), 0);
            CU_ASSERT(tc_read(&h->c, buf, sizeof buf) > 0);
            break;
        case ST_IDLE:
            CU_ASSERT_EQUAL(tc_write(&h->c, good, sizeof good - 1), 0);
            CU_ASSERT(tc_read_reply(&h->c, buf, sizeof buf));
            break;
        default:
            break;
        }
    } else {
        CU_FAIL("cannot connect");
    }
    usleep(200000); /* for the server to take in what was sent */
    atomic_store(&h->reached, 1);
    while (!atomic_load(h->release))
        usleep(10000);
    tc_close(&h->c);
    return NULL;
}

static void stop_route(void *ud, ge_http_exchange_t *ex)
{
    srv_t *s = ud;

    if (strcmp(ge_http_path(ex), "/stop") == 0) {
        /* answer, and end the loop before that answer can leave: the server is freed with a
         * reply queued on this connection */
        ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
        event_base_loopbreak(s->base);
        return;
    }
    route(ud, ex);
}

typedef struct stopper {
    unsigned short port;
    SSL_CTX *ctx;
} stopper_t;

static void *stop_run(void *arg)
{
    stopper_t *st = arg;
    static const char req[] = "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n";
    tconn_t c;
    char line[128];

    if (tc_open(&c, st->port, st->ctx) == 0 && tc_write(&c, req, sizeof req - 1) == 0)
        tc_read_reply(&c, line, sizeof line); /* the answer may or may not get out */
    tc_close(&c);
    return NULL;
}

/* The server (PROFILE, NULL = plain) is freed with a connection in each state and a reply just
 * queued; LOOP_AFTER: the loop runs once more before the base is freed, or not at all.  Every
 * socket is closed afterwards, and (under ASan) nothing leaks: not an SSL, not a guard. */
static void teardown(const char *profile, int loop_after)
{
    holder_t h[ST_N];
    atomic_int release = 0;
    int fds0 = tnet_open_fds(), all = 0, never = 0;
    struct event_base *base = event_base_new();
    SSL_CTX *ctx = profile ? tnet_csip_client_ctx(g_dir) : NULL;
    ge_http_server_opts_t o;
    srv_t s;
    stopper_t st;
    pthread_t stop_th;

    CU_ASSERT_FATAL(fds0 > 0);
    srv_start(&s, base, profile, 0, 30);
    /* a server of the same settings whose handler also knows /stop */
    ge_http_server_free(s.http);
    memset(&o, 0, sizeof o);
    o.tls = s.tls;
    o.handler = stop_route;
    o.ud = &s;
    o.max_body_bytes = 64 * 1024;
    CU_ASSERT_EQUAL_FATAL(ge_http_server_new(&s.http, base, &o), 0);
    memset(h, 0, sizeof h);
    for (int i = 0; i < ST_N; i++) {
        h[i].state = i;
        h[i].port = ge_http_server_port(s.http);
        h[i].ctx = ctx;
        h[i].release = &release;
        if (!profile && (i == ST_HANDSHAKE || i == ST_HANDSHAKE_CLOSED))
            atomic_store(&h[i].reached, 1); /* no handshake in plain HTTP */
        else
            CU_ASSERT_EQUAL_FATAL(pthread_create(&h[i].th, NULL, hold_run, &h[i]), 0);
    }
    for (double t0 = tnet_now(); !all && tnet_now() - t0 < 10;) {
        tnet_loop(base, &never, 50);
        all = 1;
        for (int i = 0; i < ST_N; i++)
            all &= atomic_load(&h[i].reached);
    }
    CU_ASSERT(all);
    st.port = ge_http_server_port(s.http);
    st.ctx = ctx;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&stop_th, NULL, stop_run, &st), 0);
    tnet_loop(base, &never, 5000); /* until /stop breaks it */
    ge_http_server_free(s.http);
    if (loop_after)
        tnet_loop(base, &never, 100);
    event_base_free(base);
    ge_tls_ctx_free(s.tls);
    atomic_store(&release, 1);
    for (int i = 0; i < ST_N; i++)
        if (h[i].th)
            pthread_join(h[i].th, NULL);
    pthread_join(stop_th, NULL);
    SSL_CTX_free(ctx);
    CU_ASSERT_EQUAL(tnet_open_fds(), fds0);
}

static void test_teardown_tls(void)
{
    teardown("csip", 1);
    teardown("csip", 0);
}

static void test_teardown_plain(void)
{
    teardown(NULL, 1);
    teardown(NULL, 0);
}

static int suite_init(void)
{
    return tnet_suite_pki(&g_dir, g_lfdi);
}

static int suite_clean(void)
{
    tnet_rmdir(g_dir);
    return 0;
}

int test_register(void)
{
    static const test_case_t client[] = {
        { "1000 keep-alive requests over one TLS connection", test_keepalive_1000_over_tls },
        { "idle close by the server, then a new connection", test_idle_close_reconnects },
        { "methods, bodies, Location, media types", test_methods_and_location },
        { "conditional GET (ETag, Last-Modified)", test_conditional_get },
        { "header and body caps", test_caps },
        { "body callback stops the transfer", test_body_callback_can_stop },
        { "read and total timeouts", test_timeouts },
        { "connect timeout (TLS handshake never answered)", test_connect_timeout },
        { "5xx retried with backoff", test_retry_5xx_with_backoff },
        { "4xx never retried", test_no_retry_4xx },
        { "connection failures retried", test_retry_connection_failure },
        { "extra request header fields (Authorization)", test_request_fields },
        { "host names resolved off the loop; addresses never", test_host_names },
        { "clients freed while their host name resolves", test_host_name_cancelled },
        { "free with requests pending", test_free_with_pending },
        { "free from the done callback", test_free_from_callback },
        { "a kept-alive connection closed unanswered", test_stale_keepalive },
        { "chunked body streamed as it arrives", test_chunked_streamed },
        { NULL, NULL },
    };
    static const test_case_t server[] = {
        { "many concurrent TLS connections", test_many_concurrent_tls },
        { "malformed requests (plain)", test_malformed_requests },
        { "malformed requests (TLS)", test_malformed_tls },
        { "slow senders cut at the header and body deadlines (plain)", test_slow_senders_plain },
        { "slow senders cut at the header and body deadlines (TLS)", test_slow_senders_tls },
        { "many slow clients do not stop a good one", test_many_slow_clients },
        { "server freed with connections in every state (TLS)", test_teardown_tls },
        { "server freed with connections in every state (plain)", test_teardown_plain },
        { NULL, NULL },
    };
    int rc = tnet_add_suite("http client", suite_init, NULL, client);

    return rc ? rc : tnet_add_suite("http server", NULL, suite_clean, server);
}
