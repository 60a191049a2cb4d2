/* test_net_util.c - helpers shared by the transport tests (test_pki, test_net_tls, test_http,
 * test_net_loop): a scratch directory with a test PKI in it, the openssl CLI, a bounded event
 * loop, and bare TCP and csip TLS clients.
 * The prototypes are repeated in each test file under "test_net_util.c:" (no header of our own). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <gridedge/pki.h>

#include "proc.h"

const char *tnet_openssl(void);
char *tnet_tmpdir(void);
void tnet_rmdir(char *dir);
const char *tnet_path(const char *dir, const char *file);
int tnet_issue(const char *dir, const char *name, ge_pki_role role, ge_pki_key key, int expired,
               int no_policy, const char *issuer);
void tnet_loop(struct event_base *base, int *done, int timeout_ms);
int tnet_connect(unsigned short port, int timeout_s);
SSL_CTX *tnet_csip_client_ctx(const char *dir);

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
