# stack/policy: local price response (gridedge/policy.h) and its tests.
libgecore_la_SOURCES += stack/policy/policy.c
gridedgeinclude_HEADERS += stack/include/gridedge/policy.h

check_PROGRAMS += tests/test_policy
tests_test_policy_SOURCES = tests/test_policy.c
tests_test_policy_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_policy_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_policy
