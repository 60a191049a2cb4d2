/* test_net_util.h - helpers shared by the transport tests (test_pki, test_net_tls, test_http,
 * test_net_loop), defined in test_net_util.c. */
#ifndef TESTS_TEST_NET_UTIL_H
#define TESTS_TEST_NET_UTIL_H

#include <stddef.h>

#include <openssl/ssl.h>

#include <gridedge/http.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "runner.h"

struct event_base;

/* The 2030.5 resource the test servers answer /dcap with. */
#define TNET_DCAP "<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\"/>"

/* Seconds on the monotonic clock. */
double tnet_now(void);

/* The openssl CLI, or NULL. */
const char *tnet_openssl(void);

/* A fresh scratch directory (caller frees with tnet_rmdir), or NULL. */
char *tnet_tmpdir(void);
void tnet_rmdir(char *dir);

/* DIR/FILE in one of a few rotating static buffers (tests use several at once). */
const char *tnet_path(const char *dir, const char *file);

/* Issue DIR/NAME.pem + DIR/NAME.key, signed by DIR/ISSUER.pem (NULL: self-signed). */
int tnet_issue(const char *dir, const char *name, ge_pki_role role, ge_pki_key key, int expired,
               int no_policy, const char *issuer);

/* A suite's set-up for the HTTP tests: SIGPIPE ignored (as gridedge/http.h asks), a scratch
 * directory with `gridedge pki init` in it (*DIR), and the client's LFDI.  0 on success. */
int tnet_suite_pki(char **dir, char lfdi[GE_LFDI_BUF]);

/* A TLS context of PROFILE for ROLE from DIR's ca.pem and server.* or client.* (asserted). */
ge_tls_ctx_t *tnet_tls_ctx(const char *dir, const char *profile, ge_tls_role role);

/* Run BASE until *DONE becomes non-zero or TIMEOUT_MS pass. */
void tnet_loop(struct event_base *base, int *done, int timeout_ms);

/* A TCP connection to 127.0.0.1:PORT whose reads give up after TIMEOUT_S; -1 on failure. */
int tnet_connect(unsigned short port, int timeout_s);

/* A bare OpenSSL client context speaking exactly csip with DIR/client.pem (no verification of
 * the server), for tests that talk TLS to our server without our client. */
SSL_CTX *tnet_csip_client_ctx(const char *dir);

/* Open file descriptors of this process (to see that a teardown closed every socket). */
int tnet_open_fds(void);

/* What a request's on_body and on_done saw, copied (the response's strings die with the call). */
typedef struct tnet_res {
    int done, err, status;
    unsigned attempts;
    size_t body_len, pieces; /* bytes and pieces taken by tnet_res_body so far */
    char body[256];          /* the body when it fits */
    int stop_rc;             /* tnet_res_body returns this when non-zero */
    char errmsg[512], ct[64], loc[64], etag[32], lm[64];
    double t_done;
} tnet_res_t;

/* An on_body and an on_done that fill the tnet_res_t in UD. */
int tnet_res_body(void *ud, const void *data, size_t len);
void tnet_res_done(void *ud, const ge_http_response_t *p);

/* N keep-alive GETs of /dcap, each sent from the previous one's on_done; OK counts the
 * 200s with the DCAP body; DONE is set after the last. */
typedef struct tnet_chain {
    ge_http_client_t *cl;
    int left, ok, done;
} tnet_chain_t;

void tnet_chain_start(tnet_chain_t *ch, ge_http_client_t *cl, int n);

/* Add a suite with set-up INIT and tear-down CLEAN (either may be NULL) and its CASES. */
int tnet_add_suite(const char *name, int (*init)(void), int (*clean)(void), const test_case_t *cases);

#endif
