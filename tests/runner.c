/* runner.c - main() for every CUnit test program. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "runner.h"

int test_add_suite(const char *name, const test_case_t *cases)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);

    if (!suite)
        return CU_get_error();
    for (; cases->name; cases++)
        if (!CU_add_test(suite, cases->name, cases->fn))
            return CU_get_error();
    return 0;
}

int main(void)
{
    unsigned failures;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (test_register() != 0) {
        fprintf(stderr, "test registration failed: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    if (CU_get_number_of_tests_run() == 0)
        failures = 1; /* a test program that runs nothing has failed */
    CU_cleanup_registry();
    return failures ? 1 : 0;
}
