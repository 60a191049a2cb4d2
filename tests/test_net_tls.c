/* test_net_tls.c - TLS profiles end to end: our HTTP client against our HTTP server on 127.0.0.1
 * over every profile (what was negotiated, the peer's LFDI at the server), and the refusals:
 * wrong CA, expired certificate, wrong curve, TLS 1.3-only peer, a suite outside the profile, a
 * name mismatch, a device certificate without the 2030.5 policy, the broken certificate paths of
 * CSIP COMM-004D..G (while the chains of depth 2..4 pass) - each refused with an error
 * that names the failed requirement, and with no request reaching the server. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "runner.h"
#include "test_net_util.h"


static char *g_dir;                 /* the PKI shared by all tests of this program */
static char g_client_lfdi[GE_LFDI_BUF];

typedef struct fx {
    struct event_base *base;
    ge_tls_ctx_t *sctx, *cctx;
    ge_http_server_t *srv;
    ge_http_client_t *cl;
    /* what the server saw */
    int handled;
    char peer_lfdi[GE_LFDI_BUF];
    char version[32], cipher[64], group[32];
    char slog[2048];
    /* what the client got */
    int done, err, status;
    char errmsg[512];
    char body[256];
    size_t body_len;
} fx_t;

static const char DCAP[] = "<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\"/>";

static void capture_log(void *ud, ge_log_level level, const char *module, const char *msg)
{
    fx_t *f = ud;
    size_t n = strlen(f->slog);

    (void)level;
    snprintf(f->slog + n, sizeof f->slog - n, "%s: %s\n", module, msg);
}

static void handler(void *ud, ge_http_exchange_t *ex)
{
    fx_t *f = ud;
    const char *v = "", *c = "", *g = "";

    f->handled++;
    if (ge_http_peer_id(ex, f->peer_lfdi, NULL) != 0)
        f->peer_lfdi[0] = '\0';
    ge_tls_negotiated(ge_http_peer_ssl(ex), &v, &c, &g);
    snprintf(f->version, sizeof f->version, "%s", v);
    snprintf(f->cipher, sizeof f->cipher, "%s", c ? c : "");
    snprintf(f->group, sizeof f->group, "%s", g ? g : "");
    ge_http_reply(ex, 200, GE_MEDIA_SEP_XML, DCAP, sizeof DCAP - 1);
}

static int on_body(void *ud, const void *data, size_t len)
{
    fx_t *f = ud;

    if (f->body_len + len < sizeof f->body) {
        memcpy(f->body + f->body_len, data, len);
        f->body_len += len;
        f->body[f->body_len] = '\0';
    }
    return 0;
}

static void on_done(void *ud, const ge_http_response_t *r)
{
    fx_t *f = ud;

    f->done = 1;
    f->err = r->err;
    f->status = r->status;
    snprintf(f->errmsg, sizeof f->errmsg, "%s", r->errmsg ? r->errmsg : "");
}

static void fx_init(fx_t *f)
{
    memset(f, 0, sizeof *f);
    f->base = event_base_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->base);
}

static void fx_free(fx_t *f)
{
    ge_http_client_free(f->cl);
    ge_http_server_free(f->srv);
    ge_tls_ctx_free(f->cctx);
    ge_tls_ctx_free(f->sctx);
    event_base_free(f->base);
}

/* A server under PROFILE with DIR/CERT.pem + DIR/CERT.key, trusting DIR/CA.pem (CA may be NULL). */
static int serve(fx_t *f, const char *profile, const char *cert, const char *ca)
{
    char certf[512], keyf[512], caf[512];
    ge_log_t log = { capture_log, f, GE_LOG_DEBUG };
    ge_tls_opts_t o;
    ge_http_server_opts_t so;
    int rc;

    snprintf(certf, sizeof certf, "%s/%s.pem", g_dir, cert);
    snprintf(keyf, sizeof keyf, "%s/%s.key", g_dir, cert);
    memset(&o, 0, sizeof o);
    o.cert_file = certf;
    o.key_file = keyf;
    if (ca) {
        snprintf(caf, sizeof caf, "%s/%s.pem", g_dir, ca);
        o.ca_file = caf;
    }
    o.log = &log;
    rc = ge_tls_ctx_new(&f->sctx, ge_tls_profile_find(profile), GE_TLS_SERVER, &o);
    if (rc)
        return rc;
    memset(&so, 0, sizeof so);
    so.tls = f->sctx;
    so.handler = handler;
    so.ud = f;
    so.log = &log;
    so.idle_timeout_s = 5;
    return ge_http_server_new(&f->srv, f->base, &so);
}

/* GET /dcap with a client under PROFILE trusting DIR/CA.pem, presenting DIR/CERT (NULL: none). */
static int fetch(fx_t *f, const char *profile, const char *ca, const char *cert, const char *host)
{
    char certf[512], keyf[512], caf[512], url[128];
    ge_tls_opts_t o;
    ge_http_client_opts_t co;
    ge_http_request_t rq;
    int rc;

    memset(&o, 0, sizeof o);
    snprintf(caf, sizeof caf, "%s/%s.pem", g_dir, ca);
    o.ca_file = caf;
    if (cert) {
        snprintf(certf, sizeof certf, "%s/%s.pem", g_dir, cert);
        snprintf(keyf, sizeof keyf, "%s/%s.key", g_dir, cert);
        o.cert_file = certf;
        o.key_file = keyf;
    }
    rc = ge_tls_ctx_new(&f->cctx, ge_tls_profile_find(profile), GE_TLS_CLIENT, &o);
    if (rc)
        return rc;
    memset(&co, 0, sizeof co);
    snprintf(url, sizeof url, "https://%s:%u", host ? host : "127.0.0.1", ge_http_server_port(f->srv));
    co.url = url;
    co.tls = f->cctx;
    co.total_timeout_ms = 10000;
    co.max_retries = 2; /* a profile failure must not be retried (asserted via attempts below) */
    co.backoff_ms = 50;
    rc = ge_http_client_new(&f->cl, f->base, &co);
    if (rc)
        return rc;
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = "/dcap";
    rq.accept = GE_MEDIA_SEP_XML;
    rq.on_body = on_body;
    rq.on_done = on_done;
    rq.ud = f;
    rc = ge_http_client_request(f->cl, &rq);
    if (rc)
        return rc;
    tnet_loop(f->base, &f->done, 15000);
    return f->done ? 0 : GE_ERR_TIMEOUT;
}

/* --- every profile ------------------------------------------------------------------------- */

static void roundtrip(const char *profile, const char *scert, const char *ccert, const char *version,
                      const char *cipher, const char *group)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, profile, scert, "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, profile, "ca", ccert, NULL), 0);
    if (f.err)
        printf("\n  %s: %s\n  server log:\n%s", profile, f.errmsg, f.slog);
    CU_ASSERT_EQUAL(f.err, 0);
    CU_ASSERT_EQUAL(f.status, 200);
    CU_ASSERT_STRING_EQUAL(f.body, DCAP);
    CU_ASSERT_EQUAL(f.handled, 1);
    CU_ASSERT_STRING_EQUAL(f.version, version);
    CU_ASSERT_STRING_EQUAL(f.cipher, cipher);
    if (group)
        CU_ASSERT_STRING_EQUAL(f.group, group);
    if (ccert && strcmp(ccert, "client") == 0)
        CU_ASSERT_STRING_EQUAL(f.peer_lfdi, g_client_lfdi);
    fx_free(&f);
}

static void test_profile_csip(void)
{
    roundtrip("csip", "server", "client", "TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", "prime256v1");
}

static void test_profile_csip_aus(void)
{
    roundtrip("csip-aus", "server", "client", "TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", "prime256v1");
}

static void test_profile_oadr20b_ecc(void)
{
    roundtrip("oadr20b", "server", "client", "TLSv1.2", "ECDHE-ECDSA-AES128-SHA256", "prime256v1");
}

static void test_profile_oadr20b_rsa(void)
{
    /* RSA certificates: the profile's other suite, TLS_RSA_WITH_AES_128_CBC_SHA256 */
    roundtrip("oadr20b", "rsasrv", "rsacli", "TLSv1.2", "AES128-SHA256", NULL);
}

static void test_profile_modern(void)
{
    roundtrip("modern", "server", "client", "TLSv1.3", "TLS_AES_128_GCM_SHA256", NULL);
}

static void test_profiles_listed(void)
{
    static const char *const names[] = { "csip", "csip-aus", "oadr20b", "modern" };
    size_t n = 0;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CU_ASSERT_PTR_NOT_NULL(ge_tls_profile_find(names[i]));
    while (ge_tls_profile_at(n))
        n++;
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_PTR_NULL(ge_tls_profile_find("tls1.0"));
    CU_ASSERT_TRUE(ge_tls_profile_mutual(ge_tls_profile_find("csip")));
    CU_ASSERT_FALSE(ge_tls_profile_mutual(ge_tls_profile_find("modern")));
}

/* What each profile's contexts allow, read back from OpenSSL: the rules of the standards. */
static void test_profile_table(void)
{
    static const struct {
        const char *profile;
        int min, max;
        const char *suites; /* the TLS 1.2 suites, in order, ':'-joined */
        int verify;         /* the server's verify mode */
    } rules[] = {
        /* IEEE 2030.5 §6.11 / CSIP: TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 only, mutual auth */
        { "csip", TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-CCM8",
          SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT },
        { "csip-aus", TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-CCM8",
          SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT },
        /* OpenADR 2.0b: TLS 1.2, the two SHA-256 CBC suites, client certificates */
        { "oadr20b", TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256:AES128-SHA256",
          SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT },
        /* OpenADR 3.0: TLS 1.2 or 1.3, AEAD suites; a client certificate is optional */
        { "modern", TLS1_2_VERSION, TLS1_3_VERSION,
          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
          SSL_VERIFY_PEER },
    };

    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        ge_tls_ctx_t *ctx = NULL;
        ge_tls_opts_t o;
        char list[512] = "";
        STACK_OF(SSL_CIPHER) *ciphers;
        SSL_CTX *c;

        memset(&o, 0, sizeof o);
        o.ca_file = tnet_path(g_dir, "ca.pem");
        o.cert_file = tnet_path(g_dir, "server.pem");
        o.key_file = tnet_path(g_dir, "server.key");
        CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find(rules[i].profile), GE_TLS_SERVER, &o), 0);
        c = ge_tls_ctx_ssl_ctx(ctx);
        CU_ASSERT_EQUAL(SSL_CTX_get_min_proto_version(c), rules[i].min);
        CU_ASSERT_EQUAL(SSL_CTX_get_max_proto_version(c), rules[i].max);
        CU_ASSERT_EQUAL(SSL_CTX_get_verify_mode(c), rules[i].verify);
        ciphers = SSL_CTX_get_ciphers(c);
        for (int k = 0; k < sk_SSL_CIPHER_num(ciphers); k++) {
            const SSL_CIPHER *sc = sk_SSL_CIPHER_value(ciphers, k);
            if (strncmp(SSL_CIPHER_get_name(sc), "TLS_", 4) == 0)
                continue; /* TLS 1.3 suites (OpenSSL names them TLS_...) are listed too */
            if (list[0])
                strncat(list, ":", sizeof list - strlen(list) - 1);
            strncat(list, SSL_CIPHER_get_name(sc), sizeof list - strlen(list) - 1);
        }
        if (strcmp(list, rules[i].suites) != 0)
            printf("\n  %s: %s\n", rules[i].profile, list);
        CU_ASSERT_STRING_EQUAL(list, rules[i].suites);
        CU_ASSERT_STRING_EQUAL(ge_tls_profile_name(ge_tls_ctx_profile(ctx)), rules[i].profile);
        ge_tls_ctx_free(ctx);
    }
}

/* --- refusals ------------------------------------------------------------------------------ */

/* The client must fail with ERR and a message containing WORD, after one attempt, and the server
 * must not have seen a single request. */
static void expect_refused(fx_t *f, int err, const char *word)
{
    CU_ASSERT_TRUE(f->done);
    CU_ASSERT_EQUAL(f->err, err);
    CU_ASSERT_EQUAL(f->status, 0);
    printf("\n    -> %s\n", f->errmsg); /* the message a user would see */
    if (!strstr(f->errmsg, word))
        printf("  expected \"%s\" in it\n", word);
    CU_ASSERT_PTR_NOT_NULL(strstr(f->errmsg, word));
    CU_ASSERT_EQUAL(f->handled, 0);
    CU_ASSERT_EQUAL(ge_http_server_requests(f->srv), 0);
}

static void test_refuse_wrong_ca(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "otherca", "client", NULL), 0);
    expect_refused(&f, GE_ERR_CERT, "chain:");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errmsg, "does not verify against our CA"));
    fx_free(&f);
}

static void test_refuse_expired(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "expired", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "client", NULL), 0);
    expect_refused(&f, GE_ERR_CERT, "chain:");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errmsg, "expired"));
    fx_free(&f);
}

static void test_refuse_wrong_curve(void)
{
    fx_t f;

    /* A server outside the profile: P-384 certificate, served under "modern" at TLS 1.2. */
    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "modern", "p384srv", "ca"), 0);
    SSL_CTX_set_max_proto_version(ge_tls_ctx_ssl_ctx(f.sctx), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ge_tls_ctx_ssl_ctx(f.sctx), "ECDHE-ECDSA-AES128-CCM8");
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "client", NULL), 0);
    CU_ASSERT_NOT_EQUAL(f.err, 0);
    expect_refused(&f, f.err, "curve");
    fx_free(&f);
}

static void test_refuse_device_wrong_curve(void)
{
    fx_t f;

    /* a device outside the profile (P-384 key), speaking csip's suite: the server refuses it */
    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    {
        ge_tls_opts_t o;
        ge_http_client_opts_t co;
        ge_http_request_t rq;
        char url[64];

        memset(&o, 0, sizeof o);
        o.ca_file = tnet_path(g_dir, "ca.pem");
        o.cert_file = tnet_path(g_dir, "p384cli.pem");
        o.key_file = tnet_path(g_dir, "p384cli.key");
        CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&f.cctx, ge_tls_profile_find("modern"), GE_TLS_CLIENT, &o), 0);
        SSL_CTX_set_max_proto_version(ge_tls_ctx_ssl_ctx(f.cctx), TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ge_tls_ctx_ssl_ctx(f.cctx), "ECDHE-ECDSA-AES128-CCM8");
        memset(&co, 0, sizeof co);
        snprintf(url, sizeof url, "https://127.0.0.1:%u", ge_http_server_port(f.srv));
        co.url = url;
        co.tls = f.cctx;
        CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&f.cl, f.base, &co), 0);
        memset(&rq, 0, sizeof rq);
        rq.path = "/dcap";
        rq.on_done = on_done;
        rq.ud = &f;
        CU_ASSERT_EQUAL(ge_http_client_request(f.cl, &rq), 0);
        tnet_loop(f.base, &f.done, 10000);
    }
    expect_refused(&f, GE_ERR_CERT, "refused our certificate");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.slog, "curve: the client's certificate key is secp384r1"));
    fx_free(&f);
}

static void test_refuse_tls13_only(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "modern", "server", "ca"), 0);
    SSL_CTX_set_min_proto_version(ge_tls_ctx_ssl_ctx(f.sctx), TLS1_3_VERSION);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "client", NULL), 0);
    expect_refused(&f, GE_ERR_TLS, "protocol version");
    fx_free(&f);
}

static void test_refuse_foreign_suite(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "modern", "server", "ca"), 0);
    SSL_CTX_set_max_proto_version(ge_tls_ctx_ssl_ctx(f.sctx), TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(ge_tls_ctx_ssl_ctx(f.sctx), "ECDHE-ECDSA-AES256-GCM-SHA384");
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "client", NULL), 0);
    expect_refused(&f, GE_ERR_TLS, "suite");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.errmsg, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"));
    fx_free(&f);
}

static void test_refuse_name_mismatch(void)
{
    fx_t f;

    fx_init(&f);
    /* a valid server certificate, but for other.example, while we connect to 127.0.0.1 */
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "othername", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "client", NULL), 0);
    expect_refused(&f, GE_ERR_CERT, "name:");
    fx_free(&f);
}

static void test_refuse_device_without_policy(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "nopolicy", NULL), 0);
    CU_ASSERT_NOT_EQUAL(f.err, 0);
    expect_refused(&f, f.err, "refused our certificate");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.slog, "policy:"));
    fx_free(&f);
}

static void test_refuse_client_from_other_ca(void)
{
    fx_t f;

    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "roguecli", NULL), 0);
    CU_ASSERT_NOT_EQUAL(f.err, 0);
    expect_refused(&f, f.err, "refused our certificate");
    CU_ASSERT_PTR_NOT_NULL(strstr(f.slog, "chain:"));
    fx_free(&f);
}

static void test_refuse_expired_device(void)
{
    fx_t f;

    /* an expired device certificate is refused by the server, before any request byte */
    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", "expiredcli", NULL), 0);
    CU_ASSERT_NOT_EQUAL(f.err, 0);
    expect_refused(&f, f.err, "refused our certificate");
    if (!strstr(f.slog, "expired"))
        printf("  server log:\n%s", f.slog);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.slog, "chain: the client's certificate does not verify against our "
                                          "CA: certificate has expired"));
    fx_free(&f);
}

static void test_refuse_missing_client_cert(void)
{
    fx_t f;

    /* csip needs our certificate: refused when the context is built */
    fx_init(&f);
    CU_ASSERT_EQUAL_FATAL(serve(&f, "csip", "server", "ca"), 0);
    CU_ASSERT_EQUAL(fetch(&f, "csip", "ca", NULL, NULL), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(f.handled, 0);
    fx_free(&f);
}

static void test_refuse_own_cert_outside_profile(void)
{
    ge_tls_ctx_t *ctx = NULL;
    ge_tls_opts_t o;

    memset(&o, 0, sizeof o);
    o.ca_file = tnet_path(g_dir, "ca.pem");
    o.cert_file = tnet_path(g_dir, "p384srv.pem");
    o.key_file = tnet_path(g_dir, "p384srv.key");
    CU_ASSERT_EQUAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find("csip"), GE_TLS_SERVER, &o), GE_ERR_CERT);
    CU_ASSERT_PTR_NULL(ctx);
    o.cert_file = tnet_path(g_dir, "rsasrv.pem");
    o.key_file = tnet_path(g_dir, "rsasrv.key");
    CU_ASSERT_EQUAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find("csip"), GE_TLS_SERVER, &o), GE_ERR_CERT);
    /* a key that is not the certificate's */
    o.cert_file = tnet_path(g_dir, "server.pem");
    o.key_file = tnet_path(g_dir, "client.key");
    CU_ASSERT_EQUAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find("csip"), GE_TLS_SERVER, &o), GE_ERR_CERT);
    /* no CA: a csip client cannot verify its server */
    o.ca_file = NULL;
    o.cert_file = tnet_path(g_dir, "client.pem");
    o.key_file = tnet_path(g_dir, "client.key");
    CU_ASSERT_EQUAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find("csip"), GE_TLS_CLIENT, &o), GE_ERR_CONFIG);
    /* a missing file */
    o.ca_file = tnet_path(g_dir, "nothere.pem");
    CU_ASSERT_EQUAL(ge_tls_ctx_new(&ctx, ge_tls_profile_find("csip"), GE_TLS_CLIENT, &o), GE_ERR_IO);
}

/* --- certificate paths (CSIP COMM-004A..G) ---------------------------------------------------- */

/* The server under csip serves the chain of SHAPE (issued into DIR/chain-SHAPE in suite_init). */
static void chain_case(ge_pki_chain shape, fx_t *f)
{
    char cert[128];

    snprintf(cert, sizeof cert, "chain-%s/server", ge_pki_chain_name(shape));
    fx_init(f);
    CU_ASSERT_EQUAL_FATAL(serve(f, "csip", cert, "ca"), 0);
    CU_ASSERT_EQUAL(fetch(f, "csip", "ca", "client", NULL), 0);
}

static void chain_accepted(ge_pki_chain shape)
{
    fx_t f;

    chain_case(shape, &f);
    if (f.err)
        printf("\n  %s: %s\n", ge_pki_chain_name(shape), f.errmsg);
    CU_ASSERT_EQUAL(f.err, 0);
    CU_ASSERT_EQUAL(f.status, 200);
    CU_ASSERT_EQUAL(f.handled, 1);
    CU_ASSERT_STRING_EQUAL(f.peer_lfdi, g_client_lfdi);
    fx_free(&f);
}

/* Refused before any request, with the requirement named: WORD in the message. */
static void chain_refused(ge_pki_chain shape, const char *word)
{
    fx_t f;

    chain_case(shape, &f);
    expect_refused(&f, GE_ERR_CERT, word);
    fx_free(&f);
}

static void test_chain_depth2(void)
{
    chain_accepted(GE_PKI_CHAIN_DEPTH2);
}

static void test_chain_depth3(void)
{
    chain_accepted(GE_PKI_CHAIN_DEPTH3);
}

static void test_chain_depth4(void)
{
    chain_accepted(GE_PKI_CHAIN_DEPTH4);
}

static void test_chain_bad_eku(void)
{
    chain_refused(GE_PKI_CHAIN_BAD_EKU_CRITICAL, "extendedKeyUsage");
}

static void test_chain_bad_name_ext(void)
{
    chain_refused(GE_PKI_CHAIN_BAD_NAME_EXT, "subjectAltName");
}

static void test_chain_bad_policy_mapping(void)
{
    chain_refused(GE_PKI_CHAIN_BAD_POLICY_MAPPING, "policyMappings");
}

static void test_chain_self_signed(void)
{
    chain_refused(GE_PKI_CHAIN_SELF_SIGNED, "self-signed");
}

/* The chain files hold what a server must send: leaf first, intermediates, never the root. */
static void test_chain_files(void)
{
    static const struct {
        ge_pki_chain shape;
        int certs;
    } shapes[] = { { GE_PKI_CHAIN_DEPTH2, 1 }, { GE_PKI_CHAIN_DEPTH3, 2 }, { GE_PKI_CHAIN_DEPTH4, 3 },
                   { GE_PKI_CHAIN_BAD_EKU_CRITICAL, 2 }, { GE_PKI_CHAIN_SELF_SIGNED, 1 } };
    ge_pki_chain c;

    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char path[512], line[256];
        FILE *fp;
        int n = 0;

        snprintf(path, sizeof path, "%s/chain-%s/server.pem", g_dir, ge_pki_chain_name(shapes[i].shape));
        fp = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        while (fgets(line, sizeof line, fp))
            n += strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
        fclose(fp);
        CU_ASSERT_EQUAL(n, shapes[i].certs);
        CU_ASSERT_EQUAL(ge_pki_chain_parse(ge_pki_chain_name(shapes[i].shape), &c), 0);
        CU_ASSERT_EQUAL(c, shapes[i].shape);
    }
    CU_ASSERT_EQUAL(ge_pki_chain_parse("depth5", &c), GE_ERR_NOTFOUND);
    CU_ASSERT_PTR_NULL(ge_pki_chain_name((ge_pki_chain)99));
    CU_ASSERT_EQUAL(ge_pki_issue_chain(GE_PKI_CHAIN_DEPTH3, NULL, NULL, g_dir, NULL, NULL), GE_ERR_INVALID);
}

static int suite_init(void)
{
    uint64_t sfdi;

    /* A peer that closes while we write must give EPIPE, not kill the process: the program
     * embedding the transport ignores SIGPIPE (see gridedge/http.h), and so do we. */
    signal(SIGPIPE, SIG_IGN);
    g_dir = tnet_tmpdir();
    if (!g_dir || ge_pki_init(g_dir, g_client_lfdi, &sfdi, NULL) != 0)
        return 1;
    /* the negative cast */
    if (tnet_issue(g_dir, "otherca", GE_PKI_ROLE_CA, GE_PKI_KEY_P256, 0, 0, NULL) ||
        tnet_issue(g_dir, "roguecli", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_P256, 0, 0, "otherca") ||
        tnet_issue(g_dir, "expired", GE_PKI_ROLE_SERVER, GE_PKI_KEY_P256, 1, 0, "ca") ||
        tnet_issue(g_dir, "expiredcli", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_P256, 1, 0, "ca") ||
        tnet_issue(g_dir, "p384srv", GE_PKI_ROLE_SERVER, GE_PKI_KEY_P384, 0, 0, "ca") ||
        tnet_issue(g_dir, "p384cli", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_P384, 0, 0, "ca") ||
        tnet_issue(g_dir, "rsasrv", GE_PKI_ROLE_SERVER, GE_PKI_KEY_RSA2048, 0, 0, "ca") ||
        tnet_issue(g_dir, "rsacli", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_RSA2048, 0, 0, "ca") ||
        tnet_issue(g_dir, "nopolicy", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_P256, 0, 1, "ca"))
        return 1;
    {
        char cert[512], key[512], ca[512], cakey[512];
        ge_pki_issue_opts_t o;

        memset(&o, 0, sizeof o);
        snprintf(cert, sizeof cert, "%s/othername.pem", g_dir);
        snprintf(key, sizeof key, "%s/othername.key", g_dir);
        snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
        snprintf(cakey, sizeof cakey, "%s/ca.key", g_dir);
        o.role = GE_PKI_ROLE_SERVER;
        o.key = GE_PKI_KEY_P256;
        o.san = "DNS:other.example";
        o.cert_out = cert;
        o.key_out = key;
        o.issuer_cert = ca;
        o.issuer_key = cakey;
        if (ge_pki_issue(&o, NULL, NULL, NULL))
            return 1;
        for (int c = GE_PKI_CHAIN_DEPTH2; c <= GE_PKI_CHAIN_SELF_SIGNED; c++) {
            char dir[512];

            snprintf(dir, sizeof dir, "%s/chain-%s", g_dir, ge_pki_chain_name((ge_pki_chain)c));
            if (ge_pki_issue_chain((ge_pki_chain)c, ca, cakey, dir, NULL, NULL))
                return 1;
        }
    }
    return 0;
}

static int suite_clean(void)
{
    tnet_rmdir(g_dir);
    g_dir = NULL;
    return 0;
}

int test_register(void)
{
    static const test_case_t profiles[] = {
        { "profiles listed", test_profiles_listed },
        { "profile rules as OpenSSL sees them", test_profile_table },
        { "csip round trip", test_profile_csip },
        { "csip-aus round trip", test_profile_csip_aus },
        { "oadr20b round trip (ECC)", test_profile_oadr20b_ecc },
        { "oadr20b round trip (RSA)", test_profile_oadr20b_rsa },
        { "modern round trip", test_profile_modern },
        { NULL, NULL },
    };
    static const test_case_t refusals[] = {
        { "wrong CA", test_refuse_wrong_ca },
        { "expired certificate", test_refuse_expired },
        { "wrong curve (P-384)", test_refuse_wrong_curve },
        { "device certificate on the wrong curve", test_refuse_device_wrong_curve },
        { "TLS 1.3-only server", test_refuse_tls13_only },
        { "suite outside the profile", test_refuse_foreign_suite },
        { "name mismatch", test_refuse_name_mismatch },
        { "device certificate without 2030.5 policy", test_refuse_device_without_policy },
        { "client certificate from another CA", test_refuse_client_from_other_ca },
        { "expired device certificate", test_refuse_expired_device },
        { "no client certificate under csip", test_refuse_missing_client_cert },
        { "own certificate outside the profile", test_refuse_own_cert_outside_profile },
        { NULL, NULL },
    };
    static const test_case_t paths[] = {
        { "chain files", test_chain_files },
        { "accept chain of depth 2 (SERCA, server)", test_chain_depth2 },
        { "accept chain of depth 3 (SERCA, MICA, server)", test_chain_depth3 },
        { "accept chain of depth 4 (SERCA, MCA, MICA, server)", test_chain_depth4 },
        { "refuse MICA with a critical extendedKeyUsage", test_chain_bad_eku },
        { "refuse MICA with a malformed name extension", test_chain_bad_name_ext },
        { "refuse MICA mapping anyPolicy", test_chain_bad_policy_mapping },
        { "refuse a self-signed server certificate", test_chain_self_signed },
        { NULL, NULL },
    };
    CU_pSuite s;

    /* both suites share one PKI, made once */
    s = CU_add_suite("tls profiles", suite_init, NULL);
    if (!s)
        return CU_get_error();
    for (const test_case_t *c = profiles; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return CU_get_error();
    s = CU_add_suite("tls refusals", NULL, NULL);
    if (!s)
        return CU_get_error();
    for (const test_case_t *c = refusals; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return CU_get_error();
    s = CU_add_suite("tls certificate paths", NULL, suite_clean);
    if (!s)
        return CU_get_error();
    for (const test_case_t *c = paths; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return CU_get_error();
    return 0;
}
