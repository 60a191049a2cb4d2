/* test_oadr_run.c - `gridedge oadr run --version 2.0b` end to end: the real program against our own
 * conformance head-end playing the VTN on 127.0.0.1 (simple HTTP pull), plus its command line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proc.h"
#include "runner.h"

/* Registration, cancellation by the VTN, events with SIMPLE levels, prices, LOAD_DISPATCH and
 * CHARGE_STATE driving the simulated home, modification and cancellation, reports from the site's
 * meter, the owner's opt-out (--opt-out) - judged on the wire and in the status file. */
static void test_oadr20b_cases(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "N1_0040",
                     "--case", "E1_1020", "--case", "E1_1040", "--case", "A_E1_0230", "--case", "N1_0020",
                     "--case", "R1_3010", "--case", "R1_3140", "--case", "E1_1050", "--case", "E1_1027", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--version", "2.0b", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", "--opt-out", "EV-1050-B", NULL };
    static const char *const ids[] = { "N1_0040", "E1_1020", "E1_1040", "A_E1_0230",
                                       "N1_0020", "R1_3010", "R1_3140", "E1_1050", "E1_1027" };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 400000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "PASS %s ", ids[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 9 passed, 0 failed, 0 skipped\n"));
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
                     "--case", "R0_8010", "--case", "N0_5040", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--push-port", "0", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 120000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS E0_6020 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS R0_8010 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS N0_5040 "));
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
    static const char *bad[][10] = {
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
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[12] = { (char *)proc_gridedge() };
        for (int k = 0; bad[i][k]; k++)
            argv[k + 1] = (char *)bad[i][k];
        proc_result_t r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
        if (r.status != 2)
            fprintf(stderr, "case %zu: status %d: %s\n", i, r.status, r.err);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "no VTN", test_no_vtn },
        { "oadr20b cases against the head-end", test_oadr20b_cases },
        { "oadr20b over TLS", test_oadr20b_tls },
        { "oadr20b push", test_oadr20b_push },
        { NULL, NULL },
    };
    return test_add_suite("oadr run", cases);
}
