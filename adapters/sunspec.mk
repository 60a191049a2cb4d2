# adapters/sunspec.mk - the SunSpec Modbus TCP driver (adapters/sunspec/), the SunSpec device
# simulator the tests run it against (tests/sunspec_sim.[ch]) and its tests.
if GE_HAVE_LIBMODBUS
libgecore_la_SOURCES += adapters/sunspec/sunspec.c adapters/sunspec/points.c \
	adapters/sunspec/sunspec.h

check_PROGRAMS += tests/test_sunspec
tests_test_sunspec_SOURCES = tests/test_sunspec.c tests/sunspec_sim.c tests/sunspec_sim.h
tests_test_sunspec_CFLAGS = $(GE_TEST_CFLAGS) -pthread
tests_test_sunspec_LDADD = $(GE_TEST_LIBS) -lpthread
TESTS += tests/test_sunspec
endif
EXTRA_DIST += docs/sunspec.md
