/* test_net_util.c - helpers shared by the transport tests (test_pki, test_net_tls, test_http):
 * a scratch directory with a test PKI in it, the openssl CLI, and a bounded event loop.
 * The prototypes are repeated in each test file under "test_net_util.c:" (no header of our own). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include <gridedge/pki.h>

#include "proc.h"

const char *tnet_openssl(void);
char *tnet_tmpdir(void);
void tnet_rmdir(char *dir);
const char *tnet_path(const char *dir, const char *file);
int tnet_issue(const char *dir, const char *name, ge_pki_role role, ge_pki_key key, int expired,
               int no_policy, const char *issuer);
void tnet_loop(struct event_base *base, int *done, int timeout_ms);

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
