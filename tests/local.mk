# tests: one CUnit program per module.
check_PROGRAMS += tests/test_core tests/test_cli
tests_test_core_SOURCES = tests/test_core.c
tests_test_core_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_core_LDADD = $(GE_TEST_LIBS)
tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_cli_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_core tests/test_cli
