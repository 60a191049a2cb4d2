/* runner.h - the shared CUnit runner: each test program defines test_register(), which adds its
 * suites to the registry; runner.c runs them and exits non-zero on any failure. */
#ifndef TESTS_RUNNER_H
#define TESTS_RUNNER_H

#include <CUnit/CUnit.h>

/* Add this program's suites; return 0 or a CUnit error. */
int test_register(void);

/* Add a suite with its tests in one call; tests end with a NULL name. */
typedef struct test_case {
    const char *name;
    CU_TestFunc fn;
} test_case_t;

int test_add_suite(const char *name, const test_case_t *cases);

#endif
