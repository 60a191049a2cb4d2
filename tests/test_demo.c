/* test_demo.c - `gridedge demo`: a whole simulated day in a few seconds, over real TLS on
 * 127.0.0.1, ends with the summary the README promises. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "runner.h"

static double number_after(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    return p ? strtod(p + strlen(label), NULL) : -1e9;
}

static void test_day(void)
{
    char *argv[] = { (char *)proc_gridedge(), "demo", "--duration", "6", "--port", "0", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "status page: http://127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "A day of the simulated home"));
    /* both of the day's 2030.5 events reached the home over TLS and were followed */
    CU_ASSERT_EQUAL(number_after(r.out, "events honoured"), 2);
    CU_ASSERT(number_after(r.out, "energy imported (kWh)") > 0);
    CU_ASSERT(number_after(r.out, "battery cycles") > 0.3);
    /* charging when cheap and discharging at the peak saves money against no battery at all */
    CU_ASSERT(number_after(r.out, "money saved") > 0);
    /* the evening event shows as the utility's control */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "utility: opModTargetW"));
    proc_result_free(&r);
}

static void test_usage(void)
{
    static const char *bad[][3] = { { "--speed", "0" }, { "--duration", "-1" }, { "--port", "70000" },
                                    { "--bogus", NULL } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = { (char *)proc_gridedge(), "demo", (char *)bad[i][0], (char *)bad[i][1], NULL };
        proc_result_t r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "a day", test_day },
        { NULL, NULL },
    };
    return test_add_suite("demo", cases);
}
