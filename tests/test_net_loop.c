/* test_net_loop.c - the transport driven from a plain poll() loop written here (gridedge/net.h):
 * no libevent call in this file.  A csip TLS client makes keep-alive requests against our server,
 * both on loops of their own that one poll() waits for together with a pipe of the test's;
 * timers (a read timeout, the server's idle timeout) fire through the timeout the library
 * exports, without busy waiting; and a server on such a loop serves blocking OpenSSL clients
 * running in other threads. */
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

#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/net.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "runner.h"

/* test_net_util.c: */
char *tnet_tmpdir(void);
void tnet_rmdir(char *dir);
const char *tnet_path(const char *dir, const char *file);
int tnet_connect(unsigned short port, int timeout_s);
SSL_CTX *tnet_csip_client_ctx(const char *dir);

static char *g_dir;
static char g_lfdi[GE_LFDI_BUF];

static const char DCAP[] = "<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\"/>";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
static void own_run(own_loop_t *o, atomic_int *done, int limit_ms)
{
    double end = now_s() + limit_ms / 1000.0, left;

    while (!atomic_load(done) && (left = end - now_s()) > 0)
        own_turn(o, left > 5 ? 5000 : (int)(left * 1000) + 1);
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
        ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, DCAP, sizeof DCAP - 1);
    } else if (strcmp(path, "/edev") == 0 && strcmp(ge_http_method(ex), "POST") == 0) {
        ge_http_set_header(ex, "Location", "/edev/3");
        ge_http_reply(ex, 201, NULL, NULL, 0);
    } else if (strcmp(path, "/tm") == 0) {
        const char *inm = ge_http_header(ex, "If-None-Match");
        ge_http_set_header(ex, "ETag", "\"t1\"");
        if (inm && strcmp(inm, "\"t1\"") == 0)
            ge_http_reply(ex, 304, NULL, NULL, 0);
        else
            ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, DCAP, sizeof DCAP - 1);
    } else if (strcmp(path, "/never") == 0 && !s->held) {
        s->held = ex;
    } else {
        ge_http_reply(ex, 404, NULL, NULL, 0);
    }
}

static void srv_start(srv_t *s, ge_net_loop_t *loop, unsigned idle_s)
{
    ge_tls_opts_t t;
    ge_http_server_opts_t o;

    memset(s, 0, sizeof *s);
    memset(&t, 0, sizeof t);
    t.ca_file = tnet_path(g_dir, "ca.pem");
    t.cert_file = tnet_path(g_dir, "server.pem");
    t.key_file = tnet_path(g_dir, "server.key");
    CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&s->tls, ge_tls_profile_find("csip"), GE_TLS_SERVER, &t), 0);
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

typedef struct res {
    atomic_int done;
    int err, status;
    size_t body_len;
    char loc[32], etag[16], ct[32];
    double t_done;
} res_t;

static void res_done(void *ud, const ge_http_response_t *p)
{
    res_t *r = ud;

    r->err = p->err;
    r->status = p->status;
    r->body_len = p->body_len;
    snprintf(r->loc, sizeof r->loc, "%s", p->location ? p->location : "");
    snprintf(r->etag, sizeof r->etag, "%s", p->etag ? p->etag : "");
    snprintf(r->ct, sizeof r->ct, "%s", p->content_type ? p->content_type : "");
    r->t_done = now_s();
    atomic_store(&r->done, 1);
}

static void request(ge_http_client_t *cl, res_t *r, const char *method, const char *path,
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
        rq.body = DCAP;
        rq.body_len = sizeof DCAP - 1;
        rq.content_type = GE_MEDIA_SEP_XML;
    }
    rq.on_done = res_done;
    rq.ud = r;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(cl, &rq), 0);
}

typedef struct chain {
    ge_http_client_t *cl;
    int left, ok;
    atomic_int done;
} chain_t;

static void chain_next(void *ud, const ge_http_response_t *p);

static void chain_send(chain_t *ch)
{
    ge_http_request_t rq;

    memset(&rq, 0, sizeof rq);
    rq.path = "/dcap";
    rq.on_done = chain_next;
    rq.ud = ch;
    if (ge_http_client_request(ch->cl, &rq) != 0)
        atomic_store(&ch->done, 1);
}

static void chain_next(void *ud, const ge_http_response_t *p)
{
    chain_t *ch = ud;

    ch->ok += p->err == 0 && p->status == 200 && p->body_len == sizeof DCAP - 1;
    if (--ch->left > 0)
        chain_send(ch);
    else
        atomic_store(&ch->done, 1);
}

static void test_client_and_server_on_own_poll_loop(void)
{
    own_loop_t o;
    srv_t s;
    ge_tls_ctx_t *ctls;
    ge_tls_opts_t t;
    ge_http_client_opts_t co;
    ge_http_client_t *cl;
    chain_t ch;
    res_t r;
    int pipefd[2];
    char url[64];
    double t0;
    unsigned long turns0;

    memset(&o, 0, sizeof o);
    CU_ASSERT_EQUAL_FATAL(ge_net_loop_new(&o.net[0], NULL), 0);
    CU_ASSERT_EQUAL_FATAL(ge_net_loop_new(&o.net[1], NULL), 0);
    o.nnet = 2;
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
    memset(&t, 0, sizeof t);
    t.ca_file = tnet_path(g_dir, "ca.pem");
    t.cert_file = tnet_path(g_dir, "client.pem");
    t.key_file = tnet_path(g_dir, "client.key");
    CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&ctls, ge_tls_profile_find("csip"), GE_TLS_CLIENT, &t), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%u", (unsigned)ge_http_server_port(s.http));
    memset(&co, 0, sizeof co);
    co.url = url;
    co.tls = ctls;
    co.read_timeout_ms = 300;
    co.total_timeout_ms = 20000;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&cl, ge_net_loop_base(o.net[1]), &co), 0);

    /* 200 keep-alive GETs over one TLS connection, each started from the previous one's on_done */
    memset(&ch, 0, sizeof ch);
    ch.cl = cl;
    ch.left = 200;
    chain_send(&ch);
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
    t0 = now_s();
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
    /* let the server loop close what the freed client left */
    {
        atomic_int never = 0;
        own_run(&o, &never, 100);
    }
    ge_net_loop_free(o.net[0]);
    ge_net_loop_free(o.net[1]);
    close(pipefd[0]);
    close(pipefd[1]);
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
        double t0 = now_s();
        if (recv(fd, &b, 1, 0) == 0)
            p->closed_after = now_s() - t0;
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
        p->ok += strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, DCAP) != NULL;
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
    atomic_int left = NPEERS + 1, all_done = 0;
    double t0 = now_s();

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
    while (atomic_load(&left) > 0 && now_s() - t0 < 30)
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
    uint64_t sfdi;

    signal(SIGPIPE, SIG_IGN);
    g_dir = tnet_tmpdir();
    return !g_dir || ge_pki_init(g_dir, g_lfdi, &sfdi, NULL) != 0;
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
        { NULL, NULL },
    };
    CU_pSuite s = CU_add_suite("own event loop", suite_init, suite_clean);

    if (!s)
        return CU_get_error();
    for (const test_case_t *c = cases; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return CU_get_error();
    return 0;
}
