/* test_csipaus_run.c - the csip-aus cases against the real `gridedge sep run` over the CSIP TLS
 * profile: our conformance head-end on 127.0.0.1, the client with the simulated site, a connection
 * point id (--nmi), judged on the wire and in the status file. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc.h"
#include "runner.h"

/* In-band registration with the ConnectionPoint PUT, the CSIP-AUS DER resources, an export limit and
 * an import limit on the simulated site; and, with subscriptions, every offered resource subscribed to
 * and notified (ALL-14), a default export limit and a control notified (GEN-07), an import limit
 * notified (LOA-05), the head-end POSTing each Notification to the client's own TLS server; CSIP-AUS
 * v1.3 version negotiation through /.well-known/csipaus (SDVN-01): about 235 s of cases. */
static void test_csipaus_over_tls(void)
{
    static const char *const ids[] = { "ALL-03", "ALL-09", "GEN-01", "LOA-01", "ALL-14", "GEN-07", "LOA-05",
                                       "SDVN-01" };
    char *argv[64];
    int n = 0;
    proc_result_t r;

    argv[n++] = (char *)proc_gridedge();
    argv[n++] = "conformance";
    argv[n++] = "run";
    argv[n++] = "--suite";
    argv[n++] = "csip-aus";
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        argv[n++] = "--case";
        argv[n++] = (char *)ids[i];
    }
    static char *const client[] = { "--", NULL, "sep", "run", "--server", "{url}", "--ca", "{ca}", "--cert",
                                    "{cert}", "--key", "{key}", "--nmi", "4123456789", "--state-dir",
                                    "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}" };
    for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++)
        argv[n++] = client[i] ? client[i] : (char *)proc_gridedge();
    argv[n] = NULL;

    r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 360000);
    proc_result_free(&r);
}

/* The CSIP-AUS v1.3 storage extension over TLS: v1.3 negotiated, the storage fields in DERCapability
 * and DERSettings (STO-02), the battery's stored energy mirrored with the DER (STO-01), a storage
 * target with an export limit followed by the simulated battery, Responses 1, 2, 3 (STO-03), and the
 * six back-to-back storage targets and export limits measured on the simulated site (STO-06): about
 * 140 s.  (STO-04 and STO-05 ask the client for what STO-01 and STO-02 do; they run in simulated time.) */
static void test_storage_over_tls(void)
{
    static const char *const ids[] = { "STO-01", "STO-02", "STO-03", "STO-06" };
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "STO-01",
                     "--case", "STO-02", "--case", "STO-03", "--case", "STO-06", "--", (char *)proc_gridedge(), "sep",
                     "run", "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--nmi",
                     "4123456789", "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration",
                     "{duration}", NULL };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 300000);

    proc_result_free(&r);
}

/* A site of several devices as one DER over TLS, the simulated site's devices switched off and tripped
 * through the head-end's fault file: DERStatus aggregating the PV and the battery (MUL-01), and the
 * ratings and settings the totals over the two inverters (MUL-03): about 85 s.  (MUL-02, the
 * aggregated telemetry, runs in simulated time.) */
static void test_multi_der_over_tls(void)
{
    static const char *const ids[] = { "MUL-01", "MUL-03" };
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "MUL-01",
                     "--case", "MUL-03", "--", (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca",
                     "{ca}", "--cert", "{cert}", "--key", "{key}", "--nmi", "4123456789", "--adapter-config",
                     "fault_file={fault_file}", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", NULL };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 180000);

    proc_result_free(&r);
}

/* CSIP-AUS v1.3 pricing over TLS (PRC-04, the shortest pricing case: 24 s): PriceResponses 1 for
 * each interval and 6 for the cancelled one only, the import price in the status file and the
 * simulated battery following it (discharging at 0.45/kWh, charging at 0.05/kWh).  The other PRC
 * cases run in simulated time. */
static void test_pricing_over_tls(void)
{
    static const char *const ids[] = { "PRC-04" };
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "PRC-04", "--",
                     (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}",
                     "--key", "{key}", "--nmi", "4123456789", "--state-dir", "{state_dir}", "--status-file",
                     "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 90000);

    proc_result_free(&r);
}

/* Demand response over TLS with `sep run --demand-response` (the two shortest cases: about 55 s): the
 * in-band EndDevice names its deviceCategory (DRA-01), and DRM0 (opModConnect false) is reported as
 * operationalModeStatus 100 with alarmStatus 0 while PV and battery stop (DRA-02).  DRD-01, DRG-01
 * and DRL-01 run in simulated time. */
static void test_demand_response_over_tls(void)
{
    static const char *const ids[] = { "DRA-01", "DRA-02" };
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "DRA-01",
                     "--case", "DRA-02", "--", (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca",
                     "{ca}", "--cert", "{cert}", "--key", "{key}", "--pin", "111115", "--nmi", "4123456789",
                     "--state-dir", "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}",
                     "--demand-response", NULL };
    proc_result_t r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 150000);

    proc_result_free(&r);
}

/* Without --nmi the client has no connection point to register: ALL-03 fails, and says why. */
static void test_connection_point_needs_nmi(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "ALL-03", "--",
                     (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}",
                     "--key", "{key}", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", NULL };
    proc_result_t r;

    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL ALL-03 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PUT /edev/1/cp"));
    proc_result_free(&r);
}

/* With --profile csip the client does not negotiate (it walks from the URL's /dcap, which SDVN-01
 * forbids too): the case fails, and says why. */
static void test_negotiation_needs_csipaus_profile(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip-aus", "--case", "SDVN-01", "--",
                     (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}",
                     "--key", "{key}", "--nmi", "4123456789", "--profile", "csip", "--state-dir", "{state_dir}",
                     "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r;

    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL SDVN-01 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "expected GET /.well-known/csipaus"));
    if (!strstr(r.out, "expected GET /.well-known/csipaus"))
        fprintf(stderr, "%s\n", r.out);
    proc_result_free(&r);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "csip-aus cases over TLS", test_csipaus_over_tls },
        { "CSIP-AUS v1.3 storage cases over TLS", test_storage_over_tls },
        { "CSIP-AUS v1.3 pricing case over TLS", test_pricing_over_tls },
        { "multi-DER site cases over TLS", test_multi_der_over_tls },
        { "demand response cases over TLS (--demand-response)", test_demand_response_over_tls },
        { "connection point needs --nmi", test_connection_point_needs_nmi },
        { "SDVN-01 needs version negotiation (fails with --profile csip)", test_negotiation_needs_csipaus_profile },
        { NULL, NULL },
    };
    return test_add_suite("csip-aus run", cases);
}
