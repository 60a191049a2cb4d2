/* test_oadr_run.c - `gridedge oadr run --version 2.0b` end to end: the real program against our own
 * conformance head-end playing the VTN on 127.0.0.1 (simple HTTP pull), plus its command line. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gridedge/http.h>
#include <gridedge/tls.h>

#include "proc.h"
#include "runner.h"

/* Registration, cancellation by the VTN, events with SIMPLE levels, prices, LOAD_DISPATCH and
 * CHARGE_STATE driving the simulated home, modification and cancellation, reports from the site's
 * meter, the owner's opt-out (--opt-out) - judged on the wire and in the status file. */
static void test_oadr20b_cases(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "N1_0040",
                     "--case", "E1_1020", "--case", "E1_1040", "--case", "A_E1_0230", "--case", "N1_0020",
                     "--case", "R1_3010", "--case", "R1_3140", "--case", "E1_1050", "--case", "E1_1027",
                     "--case", "R1_3050", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--version", "2.0b", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", "--opt-out", "EV-1050-B", NULL };
    static const char *const ids[] = { "N1_0040", "E1_1020", "E1_1040", "A_E1_0230",
                                       "N1_0020", "R1_3010", "R1_3140", "E1_1050", "E1_1027", "R1_3050" };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 400000);
    proc_result_free(&r);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = malloc(4u << 20);
    n = buf ? fread(buf, 1, (4u << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static void remove_tree(const char *dir)
{
    char *argv[] = { "rm", "-rf", (char *)dir, NULL };
    proc_result_t r;
    if (proc_run(argv, NULL, 20000, &r) == 0)
        proc_result_free(&r);
}

/* Push mode: the VEN's own HTTP server (--push-port 0), its address captured by the head-end from
 * the registration, the VTN's POSTs answered in the exchange, no polling. */
static void test_oadr20b_push(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "E0_6020",
                     "--case", "R0_8010", "--case", "N0_5040", "--case", "R0_8060", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--push-port", "0", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", NULL };
    static const char *const ids[] = { "E0_6020", "R0_8010", "N0_5040", "R0_8060" };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 120000);
    proc_result_free(&r);
}

/* The OpenADR fingerprint of a PEM certificate: the last 10 bytes of its SHA-256, "AB:CD:...". */
static int fingerprint(const char *path, char out[32])
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (f)
        fclose(f);
    if (!x || X509_digest(x, EVP_sha256(), md, &n) != 1 || n < 10) {
        X509_free(x);
        return -1;
    }
    X509_free(x);
    for (unsigned i = 0; i < 10; i++)
        snprintf(out + 3 * i, 4, "%02X%s", md[n - 10 + i], i < 9 ? ":" : "");
    return 0;
}

/* TLS per the OpenADR 2.0b profile against the head-end serving https: the VEN presents the
 * head-end's client certificate, verifies the server's, and offers its certificate's fingerprint
 * as venID when registering. */
static void test_oadr20b_tls(void)
{
    char dir[] = "/tmp/ge-oadr-tls-XXXXXX", report[600], cert[600], fp[32], want[80];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(report, sizeof(report), "%s/report.json", dir);
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "G1_4010",
                     "--work-dir", dir, "--report", report, "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--state-dir", "{state_dir}",
                     "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 120000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS G1_4010 "));
    proc_result_free(&r);
    snprintf(cert, sizeof(cert), "%s/pki/client.pem", dir);
    CU_ASSERT_EQUAL_FATAL(fingerprint(cert, fp), 0);
    snprintf(want, sizeof(want), "<ei:venID>%s</ei:venID><oadrProfileName>", fp);
    char *json = read_file(report);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, want));
    free(json);
    remove_tree(dir);
}

/* XML signatures (--sign): GE-OADR20B-005, where the head-end signs its payloads and requires the
 * VEN's to be signed, passes with --sign and fails without; a VEN with --sign facing a VTN that
 * does not sign (E1_1020) ignores every answer, saying why, and acts on nothing; GE-OADR20B-006 is
 * the same in push mode over TLS. */
static void test_oadr20b_sign(void)
{
    char dir[] = "/tmp/ge-oadr-sign-XXXXXX", log[600], status[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *with[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "GE-OADR20B-005",
                     "--case", "E1_1020", "--work-dir", dir, "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--sign", "--state-dir", "{state_dir}",
                     "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(with, NULL, 120000, &r), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS GE-OADR20B-005 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL E1_1020 "));
    if (!strstr(r.out, "PASS GE-OADR20B-005 "))
        fprintf(stderr, "%s%s", r.out, r.err);
    proc_result_free(&r);
    snprintf(log, sizeof(log), "%s/E1_1020/client.log", dir);
    char *text = read_file(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ignored the VTN's answer: XML signature check failed: the payload is not "
                                        "signed"));
    free(text);
    snprintf(status, sizeof(status), "%s/E1_1020/status.json", dir);
    text = read_file(status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"active_controls\":[]"));
    free(text);

    char *without[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case",
                        "GE-OADR20B-005", "--work-dir", dir, "--",
                        (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                        "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--state-dir", "{state_dir}",
                        "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(without, NULL, 120000, &r), 0);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL GE-OADR20B-005 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "is not validly signed: the payload is not signed"));
    proc_result_free(&r);
    remove_tree(dir);

    /* push over TLS, signed both ways: the head-end POSTs a signed event, the answer comes signed */
    char *push[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "GE-OADR20B-006",
                     "--", (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--sign", "--push-port", "0",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    static const char *const push_ids[] = { "GE-OADR20B-006" };
    r = proc_expect_passes(push, push_ids, 1, 120000);
    proc_result_free(&r);

    /* G0_9010, the push mirror of G1_4010: the OpenADR TLS profile both ways, the venID from the
     * certificate */
    char *g0[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "G0_9010", "--",
                   (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}", "--ca", "{ca}",
                   "--cert", "{cert}", "--key", "{key}", "--push-port", "0", "--state-dir", "{state_dir}",
                   "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    static const char *const g0_ids[] = { "G0_9010" };
    r = proc_expect_passes(g0, g0_ids, 1, 120000);
    proc_result_free(&r);
}

/* Targets, randomized start, DEMAND_CHARGE / BID_PRICE / LOAD_CONTROL driving the simulated home,
 * ramp-up and recovery, and report requests kept across a kill -9 and restart (the head-end
 * restarts the VEN on the same state dir).  The home has no EV here: an EV that must charge
 * before it leaves is a load no battery covers, and whether it is home depends on the hour. */
static void test_oadr20b_signals_and_restart(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "A_E1_0070",
                     "--case", "A_E1_0260", "--case", "GE-OADR20B-001", "--case", "GE-OADR20B-002", "--case",
                     "GE-OADR20B-003", "--case", "GE-OADR20B-004", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                     "--resource-id", "GE-RESOURCE-1", "--adapter-config", "ev_probability=0", NULL };
    static const char *const ids[] = { "A_E1_0070", "A_E1_0260", "GE-OADR20B-001", "GE-OADR20B-002",
                                       "GE-OADR20B-003", "GE-OADR20B-004" };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 300000);
    proc_result_free(&r);
}

/* ELECTRICITY_PRICE priceMultiplier (GE-OADR20B-007): with --base-price 0.20 the VEN acts on 2.5 x
 * 0.20 = 0.50 per kWh as on that absolute price (the battery discharges at its maximum, with no
 * EV whose charging would depend on the hour); without a tariff the signal is not acted on (never
 * taken as an absolute 2.5), the client log says why, and the case fails. */
static void test_oadr20b_relative_price(void)
{
    char dir[] = "/tmp/ge-oadr-price-XXXXXX", log[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *with[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "GE-OADR20B-007",
                     "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                     "--adapter-config", "ev_probability=0", "--base-price", "0.20", NULL };
    static const char *const ids[] = { "GE-OADR20B-007" };
    proc_result_t r = proc_expect_passes(with, ids, 1, 120000);
    proc_result_free(&r);

    char *without[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case",
                        "GE-OADR20B-007", "--work-dir", dir, "--",
                        (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                        "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                        "--adapter-config", "ev_probability=0", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(without, NULL, 120000, &r), 0);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL GE-OADR20B-007 "));
    proc_result_free(&r);
    snprintf(log, sizeof(log), "%s/GE-OADR20B-007/client.log", dir);
    char *text = read_file(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "signal ELECTRICITY_PRICE (priceMultiplier) not acted on: no base price"));
    /* once, not at each of the poll answers that repeat the event */
    const char *first = strstr(text, "(priceMultiplier) not acted on");
    CU_ASSERT_PTR_NULL(first ? strstr(first + 1, "(priceMultiplier) not acted on") : NULL);
    free(text);
    remove_tree(dir);
}

/* The home owner's file (STATE_DIR/owner.ini) over the network, with the plain contract command: the
 * head-end writes the cases' `at T owner` choices and the VEN creates, cancels and revises its
 * availability schedules and leaves the program, pull and push.  Then a bad owner file: one log
 * line naming the file, the line and the problem; the VEN runs on. */
static void test_oadr20b_owner_file(void)
{
    char *pull[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "P1_2030",
                     "--case", "P1_2040", "--case", "N1_0030", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    static const char *const pull_ids[] = { "P1_2030", "P1_2040", "N1_0030" };
    proc_result_t r = proc_expect_passes(pull, pull_ids, 3, 200000);
    proc_result_free(&r);
    char *push[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "P0_7050", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                     "--push-port", "0", NULL };
    static const char *const push_ids[] = { "P0_7050" };
    r = proc_expect_passes(push, push_ids, 1, 120000);
    proc_result_free(&r);

    char dir[] = "/tmp/ge-oadr-owner-XXXXXX", owner[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(owner, sizeof(owner), "%s/owner.ini", dir);
    FILE *f = fopen(owner, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("[oadr]\nunavailable = 2026-12-01T18:00:00Z/two hours\n", f);
    fclose(f);
    char *bad[] = { (char *)proc_gridedge(), "oadr", "run", "--vtn", "http://127.0.0.1:9/OpenADR2/Simple/2.0b",
                    "--ven-name", "ven-1", "--state-dir", dir, "--duration", "3", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(bad, NULL, 20000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    const char *line = r.err ? strstr(r.err, "owner.ini:2: error: unavailable: the window '2026-12-01T18:00:00Z/two") : NULL;
    CU_ASSERT_PTR_NOT_NULL(line);
    CU_ASSERT_PTR_NULL(line ? strstr(line + 1, "owner.ini:2: error") : NULL); /* once, not every second */
    proc_result_free(&r);
    remove_tree(dir);
}

/* A VTN that is not there: the VEN keeps trying, writes its status file, and exits 0 at the end
 * of --duration. */
static void test_no_vtn(void)
{
    char dir[] = "/tmp/ge-oadr-run-XXXXXX", status[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(status, sizeof(status), "%s/status.json", dir);
    char *argv[] = { (char *)proc_gridedge(), "oadr", "run", "--vtn", "http://127.0.0.1:9/OpenADR2/Simple/2.0b",
                     "--ven-name", "ven-1", "--status-file", status, "--duration", "2", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 20000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    FILE *f = fopen(status, "r");
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f) {
        char buf[4096];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"active_controls\":[]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"price\":null"));
    }
    unlink(status);
    rmdir(dir);
}

static void test_usage(void)
{
    static const char *const bad[][12] = {
        { "oadr", NULL },
        { "oadr", "walk", NULL },
        { "oadr", "run", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/OpenADR2/Simple/2.0b", NULL },
        { "oadr", "run", "--ven-name", "v", NULL },
        { "oadr", "run", "--vtn", "ftp://x/", "--ven-name", "v", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--version", "2.0a", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--duration", "soon", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--ca", "ca.pem", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--bogus", NULL },
        { "oadr", "run", "--vtn", "https://127.0.0.1:1/", "--ven-name", "v", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--opt-out", "", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--push-port", "70000", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--push-bind", "0.0.0.0", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--sign", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--sign", "--cert", "c", "--key", "k",
          NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--base-price", "cheap", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--base-price", "nan", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--base-price", "", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--unavailable", "2026-12-01T18:00:00Z",
          NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--unavailable", "2026-12-01/PT1H", NULL },
        { "oadr", "run", "--vtn", "http://127.0.0.1:1/", "--ven-name", "v", "--unavailable", "", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        proc_expect_usage(bad[i]);
}

/* ---- push over TLS ------------------------------------------------------------------------------------ */

typedef struct push_answer {
    int done, err, status;
    char body[8192];
    size_t len;
} push_answer_t;

static int push_body(void *ud, const void *data, size_t len)
{
    push_answer_t *a = ud;
    size_t n = len < sizeof(a->body) - 1 - a->len ? len : sizeof(a->body) - 1 - a->len;
    memcpy(a->body + a->len, data, n);
    a->len += n;
    a->body[a->len] = '\0';
    return 0;
}

static void push_done(void *ud, const ge_http_response_t *resp)
{
    push_answer_t *a = ud;
    a->done = 1;
    a->err = resp->err;
    a->status = resp->status;
}

/* POST BODY to the push VEN at https://127.0.0.1:PORT as a VTN with certificate CERT/KEY (trusting
 * CA); the answer into *A. */
static void push_post(unsigned short port, const char *ca, const char *cert, const char *key, const char *body,
                      push_answer_t *a)
{
    struct event_base *base = event_base_new();
    ge_tls_ctx_t *tls = NULL;
    ge_http_client_t *http = NULL;
    ge_tls_opts_t to;
    ge_http_client_opts_t ho;
    ge_http_request_t rq;
    char url[64];

    memset(a, 0, sizeof(*a));
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    memset(&to, 0, sizeof(to));
    to.ca_file = ca;
    to.cert_file = cert;
    to.key_file = key;
    CU_ASSERT_EQUAL_FATAL(ge_tls_ctx_new(&tls, ge_tls_profile_find("oadr20b"), GE_TLS_CLIENT, &to), 0);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u", (unsigned)port);
    memset(&ho, 0, sizeof(ho));
    ho.url = url;
    ho.tls = tls;
    ho.connect_timeout_ms = 5000;
    ho.total_timeout_ms = 10000;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_new(&http, base, &ho), 0);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.path = "/OpenADR2/Simple/2.0b/EiEvent";
    rq.content_type = "application/xml";
    rq.accept = "application/xml";
    rq.body = body;
    rq.body_len = strlen(body);
    rq.on_body = push_body;
    rq.on_done = push_done;
    rq.ud = a;
    CU_ASSERT_EQUAL_FATAL(ge_http_client_request(http, &rq), 0);
    while (!a->done && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    ge_http_client_free(http);
    ge_tls_ctx_free(tls);
    event_base_free(base);
}

/* A free TCP port on 127.0.0.1 (bound, read, released). */
static unsigned short free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned short port = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* 1 once something accepts connections on 127.0.0.1:PORT (within about 10 s). */
static int wait_listening(unsigned short port)
{
    for (int i = 0; i < 100; i++) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return 1;
        usleep(100000);
    }
    return 0;
}

#define PUSHED_EVENT \
    "<oadrPayload xmlns=\"http://openadr.org/oadr-2.0b/2012/07\" " \
    "xmlns:ei=\"http://docs.oasis-open.org/ns/energyinterop/201110\" " \
    "xmlns:pyld=\"http://docs.oasis-open.org/ns/energyinterop/201110/payloads\"><oadrSignedObject>" \
    "<oadrDistributeEvent ei:schemaVersion=\"2.0b\"><pyld:requestID>DE-TLS</pyld:requestID><ei:vtnID>GE-VTN" \
    "</ei:vtnID></oadrDistributeEvent></oadrSignedObject></oadrPayload>"

/* Push mode over TLS: `oadr run --push-port` with --ca/--cert/--key serves https with the OpenADR
 * 2.0b profile (its certificate from --push-cert/--push-key); a VTN whose client certificate
 * verifies against --ca gets its oadrDistributeEvent answered (oadrResponse quoting its requestID);
 * one with a certificate from elsewhere is refused in the handshake; plain http gets nothing. */
static void test_oadr20b_push_tls(void)
{
    char dir[] = "/tmp/ge-oadr-push-XXXXXX", ca[600], cert[600], key[600], pcert[600], pkey[600], vcert[600],
         vkey[600], scert[600], skey[600], portbuf[16];
    unsigned short port = free_port();
    push_answer_t a;
    proc_result_t r;
    pid_t pid;
    int st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_FATAL(port != 0);
    {
        char *init[] = { (char *)proc_gridedge(), "pki", "init", dir, NULL };
        char *ven[] = { (char *)proc_gridedge(), "pki", "issue", dir, "ven-push", "--role", "server", NULL };
        char *vtn[] = { (char *)proc_gridedge(), "pki", "issue", dir, "vtn", "--role", "client", NULL };
        char *str[] = { (char *)proc_gridedge(), "pki", "issue", dir, "stranger", "--role", "client", "--self-signed",
                        NULL };
        char **cmds[] = { init, ven, vtn, str };
        for (size_t i = 0; i < 4; i++) {
            CU_ASSERT_EQUAL_FATAL(proc_run(cmds[i], NULL, 30000, &r), 0);
            CU_ASSERT_EQUAL(r.status, 0);
            proc_result_free(&r);
        }
    }
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/client.pem", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    snprintf(pcert, sizeof(pcert), "%s/ven-push.pem", dir);
    snprintf(pkey, sizeof(pkey), "%s/ven-push.key", dir);
    snprintf(vcert, sizeof(vcert), "%s/vtn.pem", dir);
    snprintf(vkey, sizeof(vkey), "%s/vtn.key", dir);
    snprintf(scert, sizeof(scert), "%s/stranger.pem", dir);
    snprintf(skey, sizeof(skey), "%s/stranger.key", dir);
    snprintf(portbuf, sizeof(portbuf), "%u", (unsigned)port);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        /* the VTN it registers with is not there: the push server runs all the same */
        char *argv[] = { (char *)proc_gridedge(), "oadr", "run", "--vtn", "https://127.0.0.1:9/OpenADR2/Simple/2.0b",
                         "--ven-name", "ven-push", "--ca", ca, "--cert", cert, "--key", key, "--push-port", portbuf,
                         "--push-cert", pcert, "--push-key", pkey, "--duration", "20", NULL };
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    CU_ASSERT_TRUE(wait_listening(port));
    push_post(port, ca, vcert, vkey, PUSHED_EVENT, &a);
    if (a.err || a.status != 200)
        fprintf(stderr, "push over TLS: err %d status %d: %s\n", a.err, a.status, a.body);
    CU_ASSERT_EQUAL(a.err, 0);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "oadrResponse"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a.body, "<pyld:requestID>DE-TLS</pyld:requestID>"));
    /* a VTN with a certificate the VEN does not trust: refused, nothing answered */
    push_post(port, scert, scert, skey, PUSHED_EVENT, &a);
    CU_ASSERT_NOT_EQUAL(a.err, 0);
    CU_ASSERT_EQUAL(a.status, 0);
    /* plain http on the https port: no HTTP answer */
    {
        char url[80];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/OpenADR2/Simple/2.0b/EiEvent", (unsigned)port);
        char *curl[] = { "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", "--data", "x", url, NULL };
        if (proc_run(curl, NULL, 10000, &r) == 0) {
            if (r.status != 127)
                CU_ASSERT_PTR_NULL(strstr(r.out, "200"));
            proc_result_free(&r);
        }
    }
    kill(pid, SIGTERM);
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    remove_tree(dir);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "no VTN", test_no_vtn },
        { "oadr20b cases against the head-end", test_oadr20b_cases },
        { "oadr20b over TLS", test_oadr20b_tls },
        { "oadr20b push", test_oadr20b_push },
        { "oadr20b push over TLS", test_oadr20b_push_tls },
        { "oadr20b signals, targets, ramps, restart", test_oadr20b_signals_and_restart },
        { "oadr20b XML signatures (--sign)", test_oadr20b_sign },
        { "oadr20b priceMultiplier against --base-price", test_oadr20b_relative_price },
        { "oadr20b the home owner's file", test_oadr20b_owner_file },
        { NULL, NULL },
    };
    return test_add_suite("oadr run", cases);
}
