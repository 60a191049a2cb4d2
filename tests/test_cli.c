/* test_cli.c - the gridedge program's command line: version, help, dispatch and usage errors. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "proc.h"
#include "runner.h"

static proc_result_t run(const char *a1, const char *a2, const char *a3)
{
    char *argv[5] = { (char *)proc_gridedge(), (char *)a1, (char *)a2, (char *)a3, NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL(proc_run(argv, NULL, 10000, &r), 0);
    CU_ASSERT_FALSE(r.timed_out);
    return r;
}

static void test_version(void)
{
    proc_result_t r = run("--version", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "gridedge " PACKAGE_VERSION));
    proc_result_free(&r);
    r = run("version", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, PACKAGE_VERSION));
    proc_result_free(&r);
}

static void test_help_lists_subcommands(void)
{
    proc_result_t r = run("--help", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: gridedge"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "version"));
    CU_ASSERT_EQUAL(r.err_len, 0);
    proc_result_free(&r);
    r = run("help", "version", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: gridedge version"));
    proc_result_free(&r);
}

static void test_usage_errors_exit_2(void)
{
    static const char *bad[][2] = {
        { "frobnicate", NULL },   /* unknown subcommand */
        { "--frobnicate", NULL }, /* unknown global flag */
        { "help", "frobnicate" }, /* help for an unknown subcommand */
        { "version", "--extra" }, /* unexpected argument */
        { NULL, NULL },           /* no subcommand at all */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        proc_result_t r = run(bad[i][0], bad[i][1], NULL);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_EQUAL(r.out_len, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
}

int test_register(void)
{
    static const test_case_t cli[] = {
        { "version", test_version },
        { "help lists subcommands", test_help_lists_subcommands },
        { "usage errors exit 2", test_usage_errors_exit_2 },
        { NULL, NULL },
    };
    return test_add_suite("cli", cli);
}
