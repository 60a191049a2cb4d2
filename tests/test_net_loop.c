/* test_net_loop.c - the transport driven from a plain poll() loop written here (gridedge/net.h):
 * no libevent call in this file.  A csip TLS client makes keep-alive requests against our server,
 * both on loops of their own that one poll() waits for together with a pipe of the test's;
 * timers (a read timeout, the server's idle timeout) fire through the timeout the library
 * exports, without busy waiting; a server on such a loop serves blocking OpenSSL clients
 * running in other threads; and a host name is resolved through a pipe the loop waits for. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/net.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "runner.h"
#include "test_net_util.h"

static char *g_dir;
static char g_lfdi[GE_LFDI_BUF];

/* --- the caller's event loop: poll() over the transport's fds and one fd of its own ------- */

typedef struct own_loop {
    ge_net_loop_t *net[2];
    size_t nnet;
    int own_fd;            /* a pipe the "device" also waits on, or -1 */
    unsigned long own_reads;
    unsigned long turns;   /* poll() calls */
    unsigned long idle_turns; /* poll() calls that returned with nothing ready */
    int max_fds;
} own_loop_t;

/* One turn: ask every transport loop what to wait for, wait, let them work. */
static void own_turn(own_loop_t *o, int cap_ms)
{
    struct pollfd fds[512];
    size_t n = 0;
    int wait = cap_ms, rc;

    for (size_t i = 0; i < o->nnet; i++) {
        int t = -1;
        int k = ge_net_loop_fds(o->net[i], fds + n, sizeof fds / sizeof fds[0] - 1 - n, &t);

        CU_ASSERT_FATAL(k >= 0 && (size_t)k <= sizeof fds / sizeof fds[0] - 1 - n);
        for (int j = 0; j < k; j++)
            CU_ASSERT(fds[n + (size_t)j].fd >= 0 && (fds[n + (size_t)j].events & (POLLIN | POLLOUT)));
        n += (size_t)k;
        if (t >= 0 && (wait < 0 || t < wait))
            wait = t;
    }
    if ((int)n > o->max_fds)
        o->max_fds = (int)n;
    if (o->own_fd >= 0) {
        fds[n].fd = o->own_fd;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        n++;
    }
    rc = poll(fds, (nfds_t)n, wait);
    CU_ASSERT(rc >= 0 || errno == EINTR);
    o->turns++;
    if (rc == 0)
        o->idle_turns++;
    if (o->own_fd >= 0 && (fds[n - 1].revents & POLLIN)) {
        char b[64];
        if (read(o->own_fd, b, sizeof b) > 0)
            o->own_reads++;
    }
    for (size_t i = 0; i < o->nnet; i++)
        CU_ASSERT_EQUAL(ge_net_loop_process(o->net[i]), 0);
}

/* Turn until *DONE or LIMIT_MS pass.  The wait is capped only so a broken test cannot hang. */
static void own_run(own_loop_t *o, int *done, int limit_ms)
{
    double end = tnet_now() + limit_ms / 1000.0, left;

    while (!*done && (left = end - tnet_now()) > 0)
        own_turn(o, left > 5 ? 5000 : (int)(left * 1000) + 1);
}

/* Two transport loops (0: the server's, 1: the client's) and no fd of the test's own. */
static void loops_new(own_loop_t *o)
{
    memset(o, 0, sizeof *o);
    CU_ASSERT_EQUAL_FATAL(ge_net_loop_new(&o->net[0], NULL), 0);
    CU_ASSERT_EQUAL_FATAL(ge_net_loop_new(&o->net[1], NULL), 0);
    o->nnet = 2;
    o->own_fd = -1;
}

/* Let the loops close what was freed on them, then free them. */
static void loops_free(own_loop_t *o)
{
    int never = 0;

    own_run(o, &never, 100);
    for (size_t i = 0; i < o->nnet; i++)
        ge_net_loop_free(o->net[i]);
}

/* --- a server with a few routes ------------------------------------------------------------ */

typedef struct srv {
    ge_tls_ctx_t *tls;
    ge_http_server_t *http;
    char peer_lfdi[GE_LFDI_BUF];
    ge_http_exchange_t *held; /* /never: answered only when the test ends */
} srv_t;

static void route(void *ud, ge_http_exchange_t *ex)
{
    srv_t *s = ud;
    const char *path = ge_http_path(ex);

    if (ge_http_peer_id(ex, s->peer_lfdi, NULL) != 0)
        s->peer_lfdi[0] = '\0';
    if (strcmp(path, "/dcap") == 0) {
        ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    } else if (strcmp(path, "/edev") == 0 && strcmp(ge_http_method(ex), "POST") == 0) {
        ge_http_set_header(ex, "Location", "/edev/3");
        ge_http_reply(ex, 201, NULL, NULL, 0);
    } else if (strcmp(path, "/tm") == 0) {
        const char *inm = ge_http_header(ex, "If-None-Match");
        ge_http_set_header(ex, "ETag", "\"t1\"");
        if (inm && strcmp(inm, "\"t1\"") == 0)
            ge_http_reply(ex, 304, NULL, NULL, 0);
        else
            ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, TNET_DCAP, sizeof TNET_DCAP - 1);
    } else if (strcmp(path, "/never") == 0 && !s->held) {
        s->held = ex;
    } else {
        ge_http_reply(ex, 404, NULL, NULL, 0);
    }
}

static void srv_start(srv_t *s, ge_net_loop_t *loop, unsigned idle_s)
{
    ge_http_server_opts_t o;

    memset(s, 0, sizeof *s);
    s->tls = tnet_tls_ctx(g_dir, "csip", GE_TLS_SERVER);
    memset(&o, 0, sizeof o);
    o.tls = s->tls;
    o.handler = route;
    o.ud = s;
    o.idle_timeout_s = idle_s;
    CU_ASSERT_EQUAL_FATAL(ge_http_server_new(&s->http, ge_net_loop_base(loop), &o), 0);
}

static void srv_stop(srv_t *s)
{
    if (s->held)
        ge_http_reply(s->held, 503, NULL, NULL, 0);
    ge_http_server_free(s->http);
    ge_tls_ctx_free(s->tls);
}

/* --- client side --------------------------------------------------------------------------- */

/* A csip client on loop 1 for the server S, at https://HOST:port, with *CTLS its TLS context. */
static ge_http_client_t *client_new(own_loop_t *o, const srv_t *s, const char *host, ge_http_client_opts_t *co,
                                    ge_tls_ctx_t **ctls)
{
    ge_http_client_t *cl;
    char url[64];

    *ctls = tnet_tls_ctx(g_dir, "csip", GE_TLS_CLIENT);
    snprintf(url, sizeof url, "https://%s:%u", host, (unsigned)ge_http_server_port(s->http));
    co->url = url;
    co->tls = *ctls;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&cl, ge_net_loop_base(o->net[1]), co), 0);
    return cl;
}

static void request(ge_http_client_t *cl, tnet_res_t *r, const char *method, const char *path,
                    const char *inm)
{
    ge_http_request_t rq;

    memset(r, 0, sizeof *r);
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.accept = GE_MEDIA_SEP_XML;
    rq.if_none_match = inm;
    if (strcmp(method, "POST") == 0) {
        rq.body = TNET_DCAP;
        rq.body_len = sizeof TNET_DCAP - 1;
        rq.content_type = GE_MEDIA_SEP_XML;
    }
    rq.on_done = tnet_res_done;
    rq.ud = r;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(cl, &rq), 0);
}

static void test_client_and_server_on_own_poll_loop(void)
{
    own_loop_t o;
    srv_t s;
    ge_tls_ctx_t *ctls;
    ge_http_client_opts_t co;
    ge_http_client_t *cl;
    tnet_chain_t ch;
    tnet_res_t r;
    int pipefd[2];
    double t0;
    unsigned long turns0;

    loops_new(&o);
    CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
    o.own_fd = pipefd[0];

    /* nothing registered yet: no fds, no timer */
    {
        struct pollfd f[4];
        int to = 123;
        CU_ASSERT_EQUAL(ge_net_loop_fds(o.net[0], f, 4, &to), 0);
        CU_ASSERT_EQUAL(to, -1);
        CU_ASSERT_EQUAL(ge_net_loop_fds(NULL, f, 4, &to), GE_ERR_INVALID);
        CU_ASSERT_EQUAL(ge_net_loop_process(o.net[0]), 0);
    }

    srv_start(&s, o.net[0], 30);
    {
        /* the listening socket is what the server waits for */
        struct pollfd f[4];
        int to = 123;
        CU_ASSERT_EQUAL(ge_net_loop_fds(o.net[0], f, 4, &to), 1);
        CU_ASSERT_EQUAL(f[0].events, POLLIN);
        CU_ASSERT_EQUAL(to, -1);
        /* asking with no room still counts */
        CU_ASSERT_EQUAL(ge_net_loop_fds(o.net[0], NULL, 0, &to), 1);
    }
    memset(&co, 0, sizeof co);
    co.read_timeout_ms = 300;
    co.total_timeout_ms = 20000;
    cl = client_new(&o, &s, "127.0.0.1", &co, &ctls);

    /* 200 keep-alive GETs over one TLS connection, each started from the previous one's on_done */
    tnet_chain_start(&ch, cl, 200);
    CU_ASSERT_EQUAL(write(pipefd[1], "x", 1), 1); /* the loop's own fd wakes it too */
    own_run(&o, &ch.done, 30000);
    CU_ASSERT_EQUAL(ch.ok, 200);
    CU_ASSERT_EQUAL(ge_http_client_connections(cl), 1);
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), 200);
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi); /* mutual TLS: the server saw our identity */
    CU_ASSERT_EQUAL(o.own_reads, 1);
    CU_ASSERT(o.max_fds >= 2); /* listener + accepted socket, and the client's socket */

    /* Location, conditional GET */
    request(cl, &r, "POST", "/edev", NULL);
    own_run(&o, &r.done, 10000);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_STRING_EQUAL(r.loc, "/edev/3");
    request(cl, &r, "GET", "/tm", NULL);
    own_run(&o, &r.done, 10000);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.ct, GE_MEDIA_SEP_XML);
    CU_ASSERT_STRING_EQUAL(r.etag, "\"t1\"");
    request(cl, &r, "GET", "/tm", "\"t1\"");
    own_run(&o, &r.done, 10000);
    CU_ASSERT_EQUAL(r.status, 304);
    CU_ASSERT_EQUAL(r.body_len, 0);

    /* A timer: the server holds /never; the client's 300 ms read timeout must fire from the
     * timeout the loop exports, without the loop spinning meanwhile. */
    turns0 = o.turns;
    t0 = tnet_now();
    request(cl, &r, "GET", "/never", NULL);
    own_run(&o, &r.done, 10000);
    CU_ASSERT_EQUAL(r.err, GE_ERR_TIMEOUT);
    CU_ASSERT(r.t_done - t0 >= 0.29);
    CU_ASSERT(r.t_done - t0 < 3.0);
    CU_ASSERT(o.turns - turns0 < 40);
    if (o.turns - turns0 >= 40)
        printf("\n  %lu poll() turns for one 300 ms timeout\n", o.turns - turns0);
    CU_ASSERT_PTR_NOT_NULL(s.held);

    ge_http_client_free(cl);
    ge_tls_ctx_free(ctls);
    srv_stop(&s);
    loops_free(&o);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* --- a host name, resolved through an fd of the caller's loop ------------------------------ */

static void test_host_name_on_own_poll_loop(void)
{
    own_loop_t o;
    srv_t s;
    ge_tls_ctx_t *ctls;
    ge_http_client_opts_t co;
    ge_http_client_t *cl;
    tnet_res_t r;
    struct pollfd f[4];
    struct stat st;
    int to = -1, n;

    loops_new(&o);
    srv_start(&s, o.net[0], 30);
    memset(&co, 0, sizeof co);
    co.connect_timeout_ms = 5000;
    cl = client_new(&o, &s, "localhost", &co, &ctls);
    request(cl, &r, "GET", "/dcap", NULL);
    CU_ASSERT_EQUAL(ge_net_loop_process(o.net[1]), 0); /* the request starts: the name first */
    /* What the client waits for now is the resolver's pipe, with the resolution's timeout: the
     * caller's poll() waits for it like for any socket, and nothing blocked. */
    n = ge_net_loop_fds(o.net[1], f, 4, &to);
    CU_ASSERT_EQUAL(n, 1);
    if (n == 1) {
        CU_ASSERT_EQUAL(f[0].events, POLLIN);
        CU_ASSERT(fstat(f[0].fd, &st) == 0 && S_ISFIFO(st.st_mode));
        CU_ASSERT(to > 0 && to <= 5000);
    }
    own_run(&o, &r.done, 10000);
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi);
    ge_http_client_free(cl);
    ge_tls_ctx_free(ctls);
    srv_stop(&s);
    loops_free(&o);
}

/* --- the server on the caller's loop, blocking OpenSSL clients in threads -------------------- */

typedef struct peer {
    pthread_t th;
    unsigned short port;
    int requests;     /* to make */
    int ok;           /* 200s with the right body */
    int idle;         /* 1 = connect, send nothing, time how long until the server closes */
    double closed_after;
    atomic_int *left;
} peer_t;

static void *peer_run(void *arg)
{
    peer_t *p = arg;
    int fd = tnet_connect(p->port, 5);
    SSL_CTX *ctx = tnet_csip_client_ctx(g_dir);
    SSL *ssl = NULL;

    if (fd < 0 || !ctx)
        goto out;
    if (p->idle) {
        char b;
        double t0 = tnet_now();
        if (recv(fd, &b, 1, 0) == 0)
            p->closed_after = tnet_now() - t0;
        goto out;
    }
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        goto out;
    for (int i = 0; i < p->requests; i++) {
        static const char rq[] = "GET /dcap HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        char buf[1024];
        size_t got = 0;
        int n;

        if (SSL_write(ssl, rq, sizeof rq - 1) != (int)sizeof rq - 1)
            break;
        /* read until the body (it ends the reply) is in */
        while (got < sizeof buf - 1 && (n = SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got))) > 0) {
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "</DeviceCapability>") || strstr(buf, "/>"))
                break;
        }
        buf[got] = '\0';
        p->ok += strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, TNET_DCAP) != NULL;
    }
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    atomic_fetch_sub(p->left, 1);
    return NULL;
}

static void test_server_on_own_poll_loop(void)
{
    enum { NPEERS = 4, NREQ = 25 };
    own_loop_t o;
    srv_t s;
    peer_t peers[NPEERS + 1];
    atomic_int left = NPEERS + 1;
    int all_done = 0;
    double t0 = tnet_now();

    memset(&o, 0, sizeof o);
    CU_ASSERT_EQUAL_FATAL(ge_net_loop_new(&o.net[0], NULL), 0);
    o.nnet = 1;
    o.own_fd = -1;
    srv_start(&s, o.net[0], 1); /* 1 s idle timeout: a timer of the server's */
    memset(peers, 0, sizeof peers);
    for (int i = 0; i <= NPEERS; i++) {
        peers[i].port = ge_http_server_port(s.http);
        peers[i].requests = NREQ;
        peers[i].idle = i == NPEERS;
        peers[i].left = &left;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&peers[i].th, NULL, peer_run, &peers[i]), 0);
    }
    while (atomic_load(&left) > 0 && tnet_now() - t0 < 30)
        own_run(&o, &all_done, 50);
    for (int i = 0; i <= NPEERS; i++)
        pthread_join(peers[i].th, NULL);
    for (int i = 0; i < NPEERS; i++)
        CU_ASSERT_EQUAL(peers[i].ok, NREQ);
    CU_ASSERT_EQUAL(ge_http_server_requests(s.http), NPEERS * NREQ);
    CU_ASSERT_STRING_EQUAL(s.peer_lfdi, g_lfdi);
    /* the silent connection was closed by the idle timer, through the exported timeout */
    CU_ASSERT(peers[NPEERS].closed_after > 0.5);
    CU_ASSERT(peers[NPEERS].closed_after < 4.0);
    srv_stop(&s);
    ge_net_loop_free(o.net[0]);
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
    static const test_case_t cases[] = {
        { "TLS client and server driven by the caller's poll() loop", test_client_and_server_on_own_poll_loop },
        { "server on the caller's poll() loop, clients in threads", test_server_on_own_poll_loop },
        { "a host name resolved through an fd of the caller's loop", test_host_name_on_own_poll_loop },
        { NULL, NULL },
    };
    return tnet_add_suite("own event loop", suite_init, suite_clean, cases);
}
