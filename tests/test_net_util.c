/* test_net_util.c - helpers shared by the transport tests (see test_net_util.h): a scratch
 * directory with a test PKI in it, the openssl CLI, a bounded event loop, bare TCP and csip TLS
 * clients, and the client-side bookkeeping of requests. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <gridedge/pki.h>

#include "runner.h"
#include "test_net_util.h"

double tnet_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *tnet_openssl(void)
{
    static const char *const cands[] = { "/usr/bin/openssl", "/usr/local/bin/openssl", "/bin/openssl" };

    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    return NULL;
}

char *tnet_tmpdir(void)
{
    char tmpl[] = "/tmp/gridedge-net-XXXXXX";
    char *d = mkdtemp(tmpl);

    return d ? strdup(d) : NULL;
}

void tnet_rmdir(char *dir)
{
    DIR *d;
    struct dirent *e;
    char p[4096];

    if (!dir)
        return;
    d = opendir(dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* DIR/FILE in one of a few rotating static buffers (tests use several at once). */
const char *tnet_path(const char *dir, const char *file)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof bufs[0], "%s/%s", dir, file);
    return b;
}

/* Issue DIR/NAME.pem + DIR/NAME.key, signed by DIR/ISSUER.pem (NULL: self-signed). */
int tnet_issue(const char *dir, const char *name, ge_pki_role role, ge_pki_key key, int expired,
               int no_policy, const char *issuer)
{
    char cert[4096], keyf[4096], icert[4096], ikey[4096];
    ge_pki_issue_opts_t o;

    memset(&o, 0, sizeof o);
    snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
    snprintf(keyf, sizeof keyf, "%s/%s.key", dir, name);
    o.role = role;
    o.key = key;
    o.cert_out = cert;
    o.key_out = keyf;
    o.expired = expired;
    o.no_policy = no_policy;
    if (role == GE_PKI_ROLE_SERVER)
        o.common_name = "localhost";
    if (issuer) {
        snprintf(icert, sizeof icert, "%s/%s.pem", dir, issuer);
        snprintf(ikey, sizeof ikey, "%s/%s.key", dir, issuer);
        o.issuer_cert = icert;
        o.issuer_key = ikey;
    }
    return ge_pki_issue(&o, NULL, NULL, NULL);
}

static void loop_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run BASE until *DONE becomes non-zero or TIMEOUT_MS pass. */
void tnet_loop(struct event_base *base, int *done, int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    struct event *t = evtimer_new(base, loop_timeout, base);

    evtimer_add(t, &tv);
    while (!*done) {
        if (event_base_loop(base, EVLOOP_ONCE) < 0)
            break;
        if (event_base_got_break(base))
            break;
    }
    event_free(t);
}

/* A TCP connection to 127.0.0.1:PORT whose reads give up after TIMEOUT_S; -1 on failure. */
int tnet_connect(unsigned short port, int timeout_s)
{
    struct sockaddr_in sin;
    struct timeval tv = { timeout_s, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A bare OpenSSL client context speaking exactly csip (TLS 1.2, CCM_8, P-256) with DIR/client.pem,
 * for tests that talk TLS to our server without our client (no verification of the server). */
SSL_CTX *tnet_csip_client_ctx(const char *dir)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx)
        return NULL;
    SSL_CTX_set_security_level(ctx, 1); /* CCM_8 needs level 1 under OpenSSL 3.0 */
    if (SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-CCM8") != 1 ||
        SSL_CTX_set1_groups_list(ctx, "P-256") != 1 ||
        SSL_CTX_use_certificate_file(ctx, tnet_path(dir, "client.pem"), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tnet_path(dir, "client.key"), SSL_FILETYPE_PEM) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int tnet_suite_pki(char **dir, char lfdi[GE_LFDI_BUF])
{
    uint64_t sfdi;

    signal(SIGPIPE, SIG_IGN);
    *dir = tnet_tmpdir();
    return !*dir || ge_pki_init(*dir, lfdi, &sfdi, NULL) != 0;
}

ge_tls_ctx_t *tnet_tls_ctx(const char *dir, const char *profile, ge_tls_role role)
{
    ge_tls_opts_t t;
    ge_tls_ctx_t *ctx = NULL;
    const char *who = role == GE_TLS_SERVER ? "server" : "client";
    char cert[64], key[64];

    snprintf(cert, sizeof cert, "%s.pem", who);
    snprintf(key, sizeof key, "%s.key", who);
    memset(&t, 0, sizeof t);
    t.ca_file = tnet_path(dir, "ca.pem");
    t.cert_file = tnet_path(dir, cert);
    t.key_file = tnet_path(dir, key);
    CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find(profile), role, &t), 0);
    return ctx;
}

int tnet_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

int tnet_res_body(void *ud, const void *data, size_t len)
{
    tnet_res_t *r = ud;

    r->pieces++;
    if (r->stop_rc)
        return r->stop_rc;
    if (r->body_len + len < sizeof r->body) {
        memcpy(r->body + r->body_len, data, len);
        r->body[r->body_len + len] = '\0';
    }
    r->body_len += len;
    return 0;
}

void tnet_res_done(void *ud, const ge_http_response_t *p)
{
    tnet_res_t *r = ud;

    r->done = 1;
    r->err = p->err;
    r->status = p->status;
    r->attempts = p->attempts;
    r->body_len = p->body_len;
    r->t_done = tnet_now();
    snprintf(r->errmsg, sizeof r->errmsg, "%s", p->errmsg ? p->errmsg : "");
    snprintf(r->ct, sizeof r->ct, "%s", p->content_type ? p->content_type : "");
    snprintf(r->loc, sizeof r->loc, "%s", p->location ? p->location : "");
    snprintf(r->etag, sizeof r->etag, "%s", p->etag ? p->etag : "");
    snprintf(r->lm, sizeof r->lm, "%s", p->last_modified ? p->last_modified : "");
}

static void chain_next(void *ud, const ge_http_response_t *p);

static void chain_send(tnet_chain_t *ch)
{
    ge_http_request_t rq;

    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = "/dcap";
    rq.accept = GE_MEDIA_SEP_XML;
    rq.on_done = chain_next;
    rq.ud = ch;
    if (ge_http_client_request(ch->cl, &rq) != 0)
        ch->done = 1;
}

static void chain_next(void *ud, const ge_http_response_t *p)
{
    tnet_chain_t *ch = ud;

    ch->ok += p->err == 0 && p->status == 200 && p->body_len == sizeof TNET_DCAP - 1;
    if (--ch->left > 0)
        chain_send(ch);
    else
        ch->done = 1;
}

void tnet_chain_start(tnet_chain_t *ch, ge_http_client_t *cl, int n)
{
    memset(ch, 0, sizeof *ch);
    ch->cl = cl;
    ch->left = n;
    chain_send(ch);
}

int tnet_add_suite(const char *name, int (*init)(void), int (*clean)(void), const test_case_t *cases)
{
    int rc = test_add_suite(name, cases);
    CU_pSuite suite = rc ? NULL : CU_get_suite(name);

    if (rc)
        return rc;
    if (!suite || CU_set_suite_initfunc(suite, init) != CUE_SUCCESS ||
        CU_set_suite_cleanupfunc(suite, clean) != CUE_SUCCESS)
        return CU_get_error();
    return 0;
}
