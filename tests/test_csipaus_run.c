/* test_csipaus_run.c - the csip-aus cases against the real `gridedge sep run` over the CSIP TLS
 * profile: our conformance head-end on 127.0.0.1, the client with the simulated site, a connection
 * point id (--nmi), judged on the wire and in the status file. */
#include "config.h"

#include <string.h>

#include "proc.h"
#include "runner.h"

/* In-band registration with the ConnectionPoint PUT, the CSIP-AUS DER resources, an export limit and
 * an import limit on the simulated site; and, with subscriptions, every offered resource subscribed to
 * and notified (ALL-14), a default export limit and a control notified (GEN-07), an import limit
 * notified (LOA-05), the head-end POSTing each Notification to the client's own TLS server: about
 * 210 s of cases. */
static void test_csipaus_over_tls(void)
{
    static const char *const ids[] = { "ALL-03", "ALL-09", "GEN-01", "LOA-01", "ALL-14", "GEN-07", "LOA-05" };
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

    r = proc_expect_passes(argv, ids, sizeof(ids) / sizeof(ids[0]), 330000);
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

int test_register(void)
{
    static const test_case_t cases[] = {
        { "csip-aus cases over TLS", test_csipaus_over_tls },
        { "connection point needs --nmi", test_connection_point_needs_nmi },
        { NULL, NULL },
    };
    return test_add_suite("csip-aus run", cases);
}
