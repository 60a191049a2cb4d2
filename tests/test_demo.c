/* test_demo.c - `gridedge demo`: a whole simulated day in a few seconds, 2030.5 over real TLS and
 * OpenADR 2.0b on 127.0.0.1, ends with the summary the README promises. */
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
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "retailer's VTN (OpenADR 2.0b): http://127.0.0.1:"));
    /* both of the day's 2030.5 controls reached the home over TLS, both OpenADR price events from
     * the VTN, and all four were followed */
    CU_ASSERT_EQUAL(number_after(r.out, "events honoured"), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "(2 IEEE 2030.5 DER controls, 2 OpenADR events)"));
    /* the price the gateway acted on came from the OpenADR events: charging in the dip, and the
     * peak's price in force in the evening */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "price 0.08  charging  utility: ELECTRICITY_PRICE"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "price 0.45"));
    CU_ASSERT(number_after(r.out, "energy imported (kWh)") > 0);
    CU_ASSERT(number_after(r.out, "battery cycles") > 0.3);
    /* charging when cheap and discharging at the peak saves money against no battery at all */
    CU_ASSERT(number_after(r.out, "money saved") > 0);
    /* ... and against the same battery left to its own self-consumption controller */
    CU_ASSERT(number_after(r.out, "saved vs no gateway") > 0);
    /* the evening event shows as the utility's control */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "utility: opModTargetW"));
    proc_result_free(&r);
}

static void test_usage(void)
{
    static const char *const bad[][4] = { { "demo", "--speed", "0" }, { "demo", "--duration", "-1" },
                                          { "demo", "--port", "70000" }, { "demo", "--bogus", NULL } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        proc_expect_usage(bad[i]);
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
