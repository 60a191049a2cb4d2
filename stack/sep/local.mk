# stack/sep: the IEEE 2030.5 (CSIP) client engine, sans I/O (issue 5).
libgecore_la_SOURCES += stack/sep/client.c stack/sep/messages.c stack/sep/sep_internal.h stack/sep/dnssd.c \
	stack/sep/wellknown.c stack/sep/pricing.c
gridedgeinclude_HEADERS += stack/include/gridedge/sep.h stack/include/gridedge/sep_dnssd.h

check_PROGRAMS += tests/test_sep
tests_test_sep_SOURCES = tests/test_sep.c tests/sep_play.c tests/sep_play.h $(GE_CF_SOURCES)
nodist_tests_test_sep_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_sep_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_sep_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_sep

# Answers' bodies streamed into the engine (sep_client_body): whole, byte by byte, random pieces,
# interleaved; broken and unanswered bodies; no copy of a body held.
check_PROGRAMS += tests/test_sep_stream
tests_test_sep_stream_SOURCES = tests/test_sep_stream.c tests/sep_play.h $(GE_CF_SOURCES)
nodist_tests_test_sep_stream_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_sep_stream_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_sep_stream_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_sep_stream

# DNS-SD discovery: the parser, and `sep discover` / `sep run` without --server on 127.0.0.1.
check_PROGRAMS += tests/test_dnssd
tests_test_dnssd_SOURCES = tests/test_dnssd.c
tests_test_dnssd_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_dnssd_LDADD = $(GE_TEST_LIBS) -lpthread
TESTS += tests/test_dnssd

# `gridedge sep run` end to end against the conformance head-end (runs the real program).
check_PROGRAMS += tests/test_sep_run
tests_test_sep_run_SOURCES = tests/test_sep_run.c
tests_test_sep_run_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_sep_run_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_sep_run
CLEANFILES += test_sep_run-report.json test_sep_run-agg-report.json

if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_sep
EXTRA_PROGRAMS += tests/fuzz/fuzz_sep
tests_fuzz_fuzz_sep_SOURCES = tests/fuzz/fuzz_sep.c
tests_fuzz_fuzz_sep_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_sep_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_sep_LDADD = libgecore.la
endif
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_dnssd
EXTRA_PROGRAMS += tests/fuzz/fuzz_dnssd
tests_fuzz_fuzz_dnssd_SOURCES = tests/fuzz/fuzz_dnssd.c
tests_fuzz_fuzz_dnssd_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_dnssd_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_dnssd_LDADD = libgecore.la
endif
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_wellknown
EXTRA_PROGRAMS += tests/fuzz/fuzz_wellknown
tests_fuzz_fuzz_wellknown_SOURCES = tests/fuzz/fuzz_wellknown.c
tests_fuzz_fuzz_wellknown_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_wellknown_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_wellknown_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/fuzz_wellknown.c tests/fuzz/corpus/fuzz_wellknown/sdvn01.seed \
	tests/fuzz/corpus/fuzz_wellknown/v12.seed tests/fuzz/corpus/fuzz_wellknown/bad.seed
EXTRA_DIST += tests/fuzz/fuzz_sep.c tests/fuzz/corpus/fuzz_sep/base.seed tests/fuzz/corpus/fuzz_sep/notify.seed \
	tests/fuzz/corpus/fuzz_sep/restored_prices.seed tests/fuzz/fuzz_dnssd.c \
	tests/fuzz/corpus/fuzz_dnssd/answer.seed
