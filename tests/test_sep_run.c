/* test_sep_run.c - `gridedge sep run` end to end: the real program against our own conformance
 * head-end on 127.0.0.1, over the CSIP TLS profile and over plain http, plus its command line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "runner.h"

static const char *srcdir(void)
{
    const char *s = getenv("GE_SRCDIR");
    return s && *s ? s : GE_SRCDIR;
}

/* What the client sent in the failed cases of the report at PATH (POST and PUT exchanges). */
static void print_evidence(const char *path)
{
    json_error_t jerr;
    json_t *rep = json_load_file(path, 0, &jerr), *cases, *c;
    size_t i, k;

    if (!rep) {
        fprintf(stderr, "no report %s: %s\n", path, jerr.text);
        return;
    }
    cases = json_object_get(rep, "cases");
    json_array_foreach(cases, i, c) {
        json_t *ev, *x;
        if (strcmp(json_string_value(json_object_get(c, "result")) ?: "", "fail") != 0)
            continue;
        fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(c, "id")),
                json_string_value(json_object_get(c, "detail")) ?: "");
        ev = json_object_get(c, "evidence");
        json_array_foreach(ev, k, x) {
            const char *m = json_string_value(json_object_get(x, "method")) ?: "";
            if (strcmp(m, "GET") != 0)
                fprintf(stderr, "  %.2f %s %s -> %lld %.200s\n", json_number_value(json_object_get(x, "t")), m,
                        json_string_value(json_object_get(x, "path")) ?: "",
                        (long long)json_integer_value(json_object_get(x, "status")),
                        json_string_value(json_object_get(x, "request")) ?: "");
        }
    }
    json_decref(rep);
}

/* The built-in CSIP cases over TLS: discovery, a control executed, its Responses, a curve control,
 * subscriptions with Notifications POSTed by the head-end to the client's own TLS server, a DER fault
 * raised through the head-end's fault file (the simulated device watches it) reported as alarm and
 * LogEvent. */
static void test_csip_over_tls(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--report",
                     "test_sep_run-report.json", "--case", "COMM-002", "--case", "CORE-012", "--case", "CORE-022", "--case", "BASIC-006",
                     "--case", "CORE-018", "--case", "CORE-019", "--case", "BASIC-027", "--", (char *)proc_gridedge(),
                     "sep", "run",
                     "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--state-dir",
                     "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                     "--adapter-config", "fault_file={fault_file}", NULL };
    /* BASIC-006: a curve mode, the DERCurve read and applied; CORE-018: a Notification brings a
     * control; CORE-019: defaults, re-reads, re-subscription; BASIC-027: alarm and LogEvent */
    static const char *const ids[] = { "COMM-002", "CORE-012", "CORE-022", "BASIC-006", "CORE-018", "CORE-019",
                                       "BASIC-027" };
    /* the cases take about 3 minutes; the bound leaves room for a loaded machine */
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 480000);
    if (r.status != 0) /* the report keeps the evidence: what the client sent */
        print_evidence("test_sep_run-report.json");
    proc_result_free(&r);
}

/* `sep run --aggregator` over TLS: subscriptions and Notifications per EndDevice, each EndDevice's
 * control answered with its LFDI (AGG-001); a malformed Notification, a cancelled subscription and a
 * stray document handled (ERR-002); EndDevices taken up and left as the server's list changes, each
 * with a store of its own under the state dir (MAINT-001). */
static void test_aggregator_over_tls(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--report",
                     "test_sep_run-agg-report.json", "--case", "AGG-001", "--case", "ERR-002", "--case", "MAINT-001",
                     "--", (char *)proc_gridedge(), "sep", "run", "--aggregator", "--server", "{url}", "--ca", "{ca}",
                     "--cert", "{cert}", "--key", "{key}", "--state-dir", "{state_dir}", "--status-file",
                     "{status_file}", "--duration", "{duration}", NULL };
    static const char *const ids[] = { "AGG-001", "ERR-002", "MAINT-001" };
    /* about 2 minutes; the bound leaves room for a loaded machine */
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 300000);
    if (r.status != 0)
        print_evidence("test_sep_run-agg-report.json");
    proc_result_free(&r);
}

/* `sep run --aggregator --register-edev LFDI:NMI` over TLS: the server lists none of the aggregator's
 * sites; it registers each in band, then acts for each with its connection point (GE-CSIPAUS-002). */
static void test_aggregator_registers_over_tls(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "GE-CSIPAUS-002",
                     "--", (char *)proc_gridedge(), "sep", "run", "--aggregator", "--register-edev",
                     "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21:4123456701", "--register-edev",
                     "c47e0b9d3a6f5128e0d4b7a92c1f6e83d5b0a974:4123456702", "--server", "{url}", "--ca", "{ca}",
                     "--cert", "{cert}", "--key", "{key}", "--pin", "111115", "--state-dir", "{state_dir}",
                     "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    static const char *const ids[] = { "GE-CSIPAUS-002" };
    proc_result_t r = proc_expect_passes(argv, ids, 1, 120000);
    proc_result_free(&r);
}

/* Plain http for test servers: the identity comes from --lfdi. */
static void test_plain_http(void)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/data/conformance", srcdir());
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir, "--case",
                     "CORE-005", "--", (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--lfdi", "{lfdi}",
                     "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS CORE-005 "));
    proc_result_free(&r);
}

/* A server whose certificate does not verify against --ca: no request is sent, exit != 0. */
static void test_wrong_ca_refused(void)
{
    char other[] = "/tmp/ge-sep-ca-XXXXXX", ca[1100];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(other));
    char *pki[] = { (char *)proc_gridedge(), "pki", "init", other, NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(pki, NULL, 30000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    snprintf(ca, sizeof(ca), "%s/ca.pem", other);
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case", "COMM-002", "--",
                     (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca", ca, "--cert", "{cert}",
                     "--key", "{key}", "--duration", "{duration}", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL COMM-002 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "saw 0"));
    /* the client gave up by itself, with a failure status, well before the case's 15 s */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "the client exited with status 1 without a request"));
    proc_result_free(&r);
    char *rm[] = { "/bin/rm", "-rf", other, NULL };
    proc_run(rm, NULL, 10000, &r);
    proc_result_free(&r);
}

static void test_usage(void)
{
    static const char *const bad[][12] = {
        { "sep", "run", "--profile", "csip-us", NULL },
        { "sep", "run", "--nmi", "", NULL },
        { "sep", "run", "--server", "https://127.0.0.1:1/dcap", NULL },
        { "sep", "run", "--server", "http://127.0.0.1:1/dcap", NULL },
        { "sep", "run", "--server", "ftp://x/dcap", "--lfdi", "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", NULL },
        { "sep", "run", "--server", "http://127.0.0.1:1/dcap", "--duration", "soon", NULL },
        { "sep", "walk", NULL },
        { "sep", "run", "--notify", "localhost:8443", NULL },   /* a listening address is numeric */
        { "sep", "run", "--notify", "127.0.0.1:99999", NULL },
        { "sep", "run", "--notify", "[::1", NULL },
        /* an aggregator's EndDevices have connection points of their own */
        { "sep", "run", "--aggregator", "--nmi", "4123456789", "--server", "http://127.0.0.1:1/dcap", "--lfdi",
          "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", NULL },
        /* an aggregator's own sites: 40 hex digits each, an NMI of 1 to 32 characters, only with --aggregator */
        { "sep", "run", "--register-edev", "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21", "--server",
          "http://127.0.0.1:1/dcap", "--lfdi", "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", NULL },
        { "sep", "run", "--aggregator", "--register-edev", "5A1C3D7E:4123456701", NULL },
        { "sep", "run", "--aggregator", "--register-edev", "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4AZZ", NULL },
        { "sep", "run", "--aggregator", "--register-edev", "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21:", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        proc_expect_usage(bad[i]);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "wrong CA refused", test_wrong_ca_refused },
        { "plain http", test_plain_http },
        { "CSIP cases over TLS", test_csip_over_tls },
        { "aggregator over TLS", test_aggregator_over_tls },
        { "aggregator registering its sites over TLS", test_aggregator_registers_over_tls },
        { NULL, NULL },
    };
    return test_add_suite("sep run", cases);
}
