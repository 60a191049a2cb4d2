# adapters: the driver interface (gridedge/adapter.h) and the built-in drivers; their tests.
libgecore_la_SOURCES += adapters/adapter.c adapters/sim/sim.c
gridedgeinclude_HEADERS += stack/include/gridedge/adapter.h
EXTRA_DIST += docs/porting.md

check_PROGRAMS += tests/test_sim
tests_test_sim_SOURCES = tests/test_sim.c
tests_test_sim_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_sim_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_sim
