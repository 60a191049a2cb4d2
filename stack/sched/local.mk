# stack/sched: the pure event scheduler (gridedge/sched.h), its tests and its benchmark.
libgecore_la_SOURCES += stack/sched/sched.c
gridedgeinclude_HEADERS += stack/include/gridedge/sched.h

check_PROGRAMS += tests/test_sched
tests_test_sched_SOURCES = tests/test_sched.c
tests_test_sched_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_sched_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_sched

EXTRA_PROGRAMS += bench/bench_sched
GE_BENCHES += bench/bench_sched
bench_bench_sched_SOURCES = bench/bench_sched.c $(GE_BENCH_SRC)
bench_bench_sched_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_sched_LDADD = libgecore.la
