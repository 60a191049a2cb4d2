/* bench_http.c - small application/sep+xml GETs over one csip TLS keep-alive connection
 * (TLS 1.2, ECDHE-ECDSA-AES128-CCM8, P-256), client and server on this machine, against a
 * baseline measured in the same run, and the server's memory per idle TLS connection.
 *
 * Subject:  our HTTP client -> our HTTP server (evhttp over OpenSSL bufferevents), each in its own
 *           process, the server on its own libevent loop.
 * Baseline: the floor for the same bytes on the wire: a bare blocking OpenSSL client writes the
 *           same request and reads the same response from a bare blocking OpenSSL server that
 *           answers with a canned reply, with the same TLS configuration (SSL_write/SSL_read
 *           loop, no HTTP parsing, no event loop).  The ratio says what our framing and event
 *           handling cost on top of TLS itself.
 * Memory:   RSS of the server process (VmRSS) before and after N clients each complete a
 *           handshake and one request and then stay connected and idle; the growth divided by N.
 *           Goal: <= 40 KiB per idle connection. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <gridedge/http.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "bench.h"

#define BATCH 300     /* requests per timed batch */
#define ROUNDS 7
#define IDLE_CONNS 200

static const char DCAP[] = "<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\" "
                           "pollRate=\"900\"><TimeLink href=\"/tm\"/><EndDeviceListLink "
                           "href=\"/edev\" all=\"1\"/></DeviceCapability>";
static const char REQ[] = "GET /dcap HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/sep+xml\r\n\r\n";

static char g_dir[64];

static void log_stderr(void *ud, ge_log_level level, const char *module, const char *msg)
{
    (void)ud;
    fprintf(stderr, "bench_http: %s: %s: %s\n", ge_log_level_name(level), module, msg);
}

static const ge_log_t g_log = { log_stderr, NULL, GE_LOG_WARN };

static const char *path(const char *file)
{
    static char bufs[8][128];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof bufs[0], "%s/%s", g_dir, file);
    return b;
}

/* --- processes ----------------------------------------------------------------------------- */

/* The loop the embedding program would make: epoll with a change list, so adding and removing
 * the write event around every reply costs no epoll_ctl round trip. */
static struct event_base *make_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (!cfg)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static void handler(void *ud, ge_http_exchange_t *ex)
{
    (void)ud;
    ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, DCAP, sizeof DCAP - 1);
}

/* Child: our server; writes its port to FD, then serves until killed. */
static int run_our_server(int fd)
{
    struct event_base *base = make_base();
    ge_tls_ctx_t *tls = NULL;
    ge_http_server_t *srv = NULL;
    ge_tls_opts_t t;
    ge_http_server_opts_t o;
    unsigned short port;

    memset(&t, 0, sizeof t);
    t.ca_file = path("ca.pem");
    t.cert_file = path("server.pem");
    t.key_file = path("server.key");
    t.log = &g_log;
    memset(&o, 0, sizeof o);
    o.handler = handler;
    o.idle_timeout_s = 120;
    if (!base || ge_tls_ctx_new(&tls, ge_tls_profile_find("csip"), GE_TLS_SERVER, &t) != 0)
        return 1;
    o.tls = tls;
    if (ge_http_server_new(&srv, base, &o) != 0)
        return 1;
    port = ge_http_server_port(srv);
    if (write(fd, &port, sizeof port) != sizeof port)
        return 1;
    close(fd);
    event_base_dispatch(base);
    return 0;
}

static SSL_CTX *bare_ctx(int server)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (!c)
        return NULL;
    SSL_CTX_set_security_level(c, 1);
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-CCM8");
    SSL_CTX_set1_groups_list(c, "P-256");
    SSL_CTX_use_certificate_file(c, path(server ? "server.pem" : "client.pem"), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(c, path(server ? "server.key" : "client.key"), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(c, path("ca.pem"), NULL);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    return c;
}

static int listen_loopback(unsigned short *port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
        return -1;
    *port = ntohs(sin.sin_port);
    return fd;
}

/* Child: the baseline server; one connection at a time, a canned reply per request. */
static int run_bare_server(int pfd)
{
    char reply[512], buf[4096];
    int rlen = snprintf(reply, sizeof reply,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/sep+xml\r\nContent-Length: %zu\r\n\r\n%s",
                        sizeof DCAP - 1, DCAP);
    SSL_CTX *ctx = bare_ctx(1);
    unsigned short port;
    int lfd = listen_loopback(&port);

    if (!ctx || lfd < 0 || write(pfd, &port, sizeof port) != sizeof port)
        return 1;
    close(pfd);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        SSL *ssl;
        size_t have = 0;

        if (fd < 0)
            continue;
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            for (;;) {
                int n = SSL_read(ssl, buf + have, (int)(sizeof buf - have - 1));
                if (n <= 0)
                    break;
                have += (size_t)n;
                buf[have] = '\0';
                if (strstr(buf, "\r\n\r\n")) {
                    have = 0;
                    if (SSL_write(ssl, reply, rlen) != rlen)
                        break;
                }
            }
        }
        SSL_free(ssl);
        close(fd);
    }
}

static pid_t spawn(int (*fn)(int), unsigned short *port)
{
    int p[2];
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(fn(p[1]));
    }
    close(p[1]);
    if (pid < 0 || read(p[0], port, sizeof *port) != sizeof *port) {
        close(p[0]);
        return -1;
    }
    close(p[0]);
    return pid;
}

static long rss_kib_of(pid_t pid)
{
    char file[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(file, sizeof file, "/proc/%d/status", (int)pid);
    f = fopen(file, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

/* --- the two clients ----------------------------------------------------------------------- */

typedef struct both {
    /* subject */
    struct event_base *base;
    ge_http_client_t *cl;
    int left, done, failed;
    /* baseline */
    SSL *ssl;
} both_t;

static void next(void *ud, const ge_http_response_t *r);

static void send_one(both_t *s)
{
    ge_http_request_t rq;

    memset(&rq, 0, sizeof rq);
    rq.path = "/dcap";
    rq.accept = GE_MEDIA_SEP_XML;
    rq.on_done = next;
    rq.ud = s;
    if (ge_http_client_request(s->cl, &rq) != 0) {
        s->failed = 1;
        s->done = 1;
    }
}

static void next(void *ud, const ge_http_response_t *r)
{
    both_t *s = ud;

    if (r->err || r->status != 200 || r->body_len != sizeof DCAP - 1)
        s->failed = 1;
    if (--s->left > 0 && !s->failed)
        send_one(s);
    else
        s->done = 1;
}

static double run_subject(void *ud)
{
    both_t *s = ud;
    double t0 = bench_now_ns();

    s->left = BATCH;
    s->done = 0;
    send_one(s);
    while (!s->done && event_base_loop(s->base, EVLOOP_ONCE) == 0)
        ;
    if (s->failed) {
        fprintf(stderr, "bench_http: a request over our client failed\n");
        exit(1);
    }
    return bench_now_ns() - t0;
}

static double run_bare(void *ud)
{
    both_t *b = ud;
    char buf[4096];
    double t0 = bench_now_ns();

    for (int i = 0; i < BATCH; i++) {
        size_t have = 0;
        if (SSL_write(b->ssl, REQ, (int)sizeof REQ - 1) != (int)sizeof REQ - 1)
            exit(1);
        /* read the whole reply: headers, then exactly the body's length */
        for (;;) {
            int n = SSL_read(b->ssl, buf + have, (int)(sizeof buf - have - 1));
            char *end;
            if (n <= 0)
                exit(1);
            have += (size_t)n;
            buf[have] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end && have - (size_t)(end + 4 - buf) >= sizeof DCAP - 1)
                break;
        }
    }
    return bench_now_ns() - t0;
}

static SSL *bare_connect(SSL_CTX *ctx, unsigned short port, int *fdp)
{
    struct sockaddr_in sin;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    SSL *ssl;

    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return NULL;
    }
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    *fdp = fd;
    return ssl;
}

static void cleanup_dir(void)
{
    static const char *const files[] = { "ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key" };

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(path(files[i]));
    rmdir(g_dir);
}

/* Open N connections to our server that each finish a handshake and one request, then idle;
 * return the server's RSS growth per connection in KiB (or -1). */
static double idle_rss_per_conn(SSL_CTX *cctx, pid_t server, unsigned short port)
{
    SSL *ssl[IDLE_CONNS];
    int fd[IDLE_CONNS], n = 0;
    long before, after;
    char buf[2048];

    usleep(200000);
    before = rss_kib_of(server);
    for (; n < IDLE_CONNS; n++) {
        ssl[n] = bare_connect(cctx, port, &fd[n]);
        if (!ssl[n] || SSL_write(ssl[n], REQ, (int)sizeof REQ - 1) <= 0 || SSL_read(ssl[n], buf, sizeof buf) <= 0)
            break;
    }
    usleep(300000);
    after = rss_kib_of(server);
    for (int i = 0; i < n; i++) {
        SSL_free(ssl[i]);
        close(fd[i]);
    }
    if (n < IDLE_CONNS || before < 0 || after < 0)
        return -1;
    return (double)(after - before) / n;
}

int main(void)
{
    unsigned short our_port = 0, bare_port = 0;
    pid_t ours, bare;
    both_t s;
    SSL_CTX *cctx = NULL;
    ge_tls_ctx_t *tls = NULL;
    ge_tls_opts_t t;
    ge_http_client_opts_t o;
    char url[64];
    int bare_fd = -1, rc = 1;
    double subject_ns = 0, baseline_ns = 0, per_conn;

    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/gridedge-bench-XXXXXX");
    if (!mkdtemp(g_dir) || ge_pki_init(g_dir, NULL, NULL, NULL) != 0) {
        fprintf(stderr, "bench_http: cannot make a test PKI\n");
        return 1;
    }
    ours = spawn(run_our_server, &our_port);
    bare = spawn(run_bare_server, &bare_port);
    memset(&s, 0, sizeof s);
    if (ours < 0 || bare < 0) {
        fprintf(stderr, "bench_http: cannot start the servers\n");
        goto out;
    }
    /* subject: our client over one keep-alive connection; baseline: one bare TLS connection */
    cctx = bare_ctx(0);
    memset(&t, 0, sizeof t);
    t.ca_file = path("ca.pem");
    t.cert_file = path("client.pem");
    t.key_file = path("client.key");
    t.log = &g_log;
    snprintf(url, sizeof url, "https://127.0.0.1:%u", (unsigned)our_port);
    memset(&o, 0, sizeof o);
    o.url = url;
    s.base = make_base();
    if (!s.base || !cctx || ge_tls_ctx_new(&tls, ge_tls_profile_find("csip"), GE_TLS_CLIENT, &t) != 0 ||
        (o.tls = tls, ge_http_client_new(&s.cl, s.base, &o)) != 0) {
        fprintf(stderr, "bench_http: cannot set up our client\n");
        goto out;
    }
    s.ssl = bare_connect(cctx, bare_port, &bare_fd);
    if (!s.ssl) {
        fprintf(stderr, "bench_http: cannot connect to the baseline server\n");
        goto out;
    }
    run_subject(&s); /* warm up both: handshakes, first allocations */
    run_bare(&s);
    bench_compare(run_subject, run_bare, &s, ROUNDS, &subject_ns, &baseline_ns);
    printf("http GET /dcap over csip TLS keep-alive: ours %.0f req/s, bare OpenSSL loop %.0f req/s\n",
           BATCH * 1e9 / subject_ns, BATCH * 1e9 / baseline_ns);
    printf("http throughput ratio ours/bare: %.2f (1.0 = no cost over TLS itself)\n", baseline_ns / subject_ns);
    per_conn = idle_rss_per_conn(cctx, ours, our_port);
    if (per_conn < 0) {
        fprintf(stderr, "bench_http: cannot measure the idle connections\n");
        goto out;
    }
    printf("server RSS per idle TLS connection: %.1f KiB over %d connections (goal <= 40 KiB: %s)\n",
           per_conn, IDLE_CONNS, per_conn <= 40.0 ? "met" : "MISSED");
    rc = 0;
out:
    if (s.ssl) {
        SSL_free(s.ssl);
        close(bare_fd);
    }
    ge_http_client_free(s.cl);
    ge_tls_ctx_free(tls);
    if (s.base)
        event_base_free(s.base);
    SSL_CTX_free(cctx);
    if (ours > 0)
        kill(ours, SIGTERM), waitpid(ours, NULL, 0);
    if (bare > 0)
        kill(bare, SIGTERM), waitpid(bare, NULL, 0);
    cleanup_dir();
    return rc;
}
