/* test_oadr_run.c - `gridedge oadr run --version 2.0b` end to end: the real program against our own
 * conformance head-end playing the VTN on 127.0.0.1 (simple HTTP pull), plus its command line. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "runner.h"

/* Registration, cancellation by the VTN, events with SIMPLE levels and prices driving the
 * simulated home, modification and cancellation - judged on the wire and in the status file. */
static void test_oadr20b_cases(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr20b", "--case", "N1_0040",
                     "--case", "E1_1020", "--case", "E1_1040", "--case", "A_E1_0230", "--",
                     (char *)proc_gridedge(), "oadr", "run", "--vtn", "{url}", "--ven-name", "{ven_name}",
                     "--version", "2.0b", "--state-dir", "{state_dir}", "--status-file", "{status_file}",
                     "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 240000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS N1_0040 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS E1_1020 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS E1_1040 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS A_E1_0230 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 4 passed, 0 failed, 0 skipped\n"));
    proc_result_free(&r);
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

/* OpenADR 3.0 is a separate VEN that is not built yet: said plainly, exit 1. */
static void test_version_3_not_built(void)
{
    char *argv[] = { (char *)proc_gridedge(), "oadr", "run", "--vtn", "http://127.0.0.1:1/openadr3", "--ven-name",
                     "v", "--version", "3.0", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not built yet"));
    proc_result_free(&r);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "3.0 not built yet", test_version_3_not_built },
        { "no VTN", test_no_vtn },
        { "oadr20b cases against the head-end", test_oadr20b_cases },
        { NULL, NULL },
    };
    return test_add_suite("oadr run", cases);
}
