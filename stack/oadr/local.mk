# stack/oadr: the OpenADR 2.0b VEN engine, sans I/O (issue 6), and `gridedge oadr run`.
libgecore_la_SOURCES += stack/oadr/ven.c stack/oadr/messages.c stack/oadr/oadr_internal.h
gridedgeinclude_HEADERS += stack/include/gridedge/oadr.h
gridedge_SOURCES += gateway/oadr_link.c gateway/oadr_link.h gateway/cmd_oadr.c
EXTRA_DIST += docs/openadr.md

# The oadr20b conformance cases (VTN scripts), compiled into the program with the others.
GE_OADR_CASES = \
	conformance/cases/oadr20b/A_E1_0130.case \
	conformance/cases/oadr20b/A_E1_0210.case \
	conformance/cases/oadr20b/A_E1_0230.case \
	conformance/cases/oadr20b/A_E1_0240.case \
	conformance/cases/oadr20b/E1_1010.case \
	conformance/cases/oadr20b/E1_1020.case \
	conformance/cases/oadr20b/E1_1030.case \
	conformance/cases/oadr20b/E1_1040.case \
	conformance/cases/oadr20b/E1_1060.case \
	conformance/cases/oadr20b/G1_4010.case \
	conformance/cases/oadr20b/N0_5040.case \
	conformance/cases/oadr20b/N1_0010.case \
	conformance/cases/oadr20b/N1_0020.case \
	conformance/cases/oadr20b/N1_0030.case \
	conformance/cases/oadr20b/N1_0040.case \
	conformance/cases/oadr20b/N1_0050.case \
	conformance/cases/oadr20b/E0_6020.case \
	conformance/cases/oadr20b/E1_1025.case \
	conformance/cases/oadr20b/E1_1027.case \
	conformance/cases/oadr20b/E1_1050.case \
	conformance/cases/oadr20b/P1_2010.case \
	conformance/cases/oadr20b/P1_2015.case \
	conformance/cases/oadr20b/P1_2020.case \
	conformance/cases/oadr20b/R0_8010.case \
	conformance/cases/oadr20b/R1_3010.case \
	conformance/cases/oadr20b/R1_3030.case \
	conformance/cases/oadr20b/R1_3040.case \
	conformance/cases/oadr20b/R1_3045.case \
	conformance/cases/oadr20b/R1_3070.case \
	conformance/cases/oadr20b/R1_3090.case \
	conformance/cases/oadr20b/R1_3140.case \
	conformance/cases/oadr20b/R1_3150.case \
	conformance/cases/oadr20b/R1_3180.case \
	conformance/cases/oadr20b/oadr-base.inc
GE_CF_CASES += $(GE_OADR_CASES)

check_PROGRAMS += tests/test_oadr
tests_test_oadr_SOURCES = tests/test_oadr.c $(GE_CF_SOURCES)
nodist_tests_test_oadr_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_oadr_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr

# The 2.0b engine under libFuzzer (the VTN's answers and pushes).
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_oadr
EXTRA_PROGRAMS += tests/fuzz/fuzz_oadr
tests_fuzz_fuzz_oadr_SOURCES = tests/fuzz/fuzz_oadr.c
tests_fuzz_fuzz_oadr_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_oadr_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_oadr_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/fuzz_oadr.c tests/fuzz/corpus/fuzz_oadr/base.seed tests/fuzz/corpus/fuzz_oadr/push.seed

# `gridedge oadr run` end to end against the conformance head-end (runs the real program).
check_PROGRAMS += tests/test_oadr_run
tests_test_oadr_run_SOURCES = tests/test_oadr_run.c
tests_test_oadr_run_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr_run_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr_run

# --- OpenADR 3.0 (REST/JSON): the VEN engine, `gridedge oadr run --version 3.0`, the oadr3 cases.
libgecore_la_SOURCES += stack/oadr/ven3.c stack/oadr/msg3.c stack/oadr/oadr3_internal.h
gridedgeinclude_HEADERS += stack/include/gridedge/oadr3.h
gridedge_SOURCES += gateway/oadr3_link.c gateway/oadr3_link.h gateway/cmd_oadr3.c
EXTRA_DIST += docs/openadr3.md

GE_OADR3_CASES = \
	conformance/cases/oadr3/GE-OADR3-AUTH-001.case \
	conformance/cases/oadr3/GE-OADR3-AUTH-002.case \
	conformance/cases/oadr3/GE-OADR3-ERR-001.case \
	conformance/cases/oadr3/GE-OADR3-EVT-001.case \
	conformance/cases/oadr3/GE-OADR3-EVT-002.case \
	conformance/cases/oadr3/GE-OADR3-EVT-003.case \
	conformance/cases/oadr3/GE-OADR3-PRICE-001.case \
	conformance/cases/oadr3/GE-OADR3-PROG-001.case \
	conformance/cases/oadr3/GE-OADR3-RPT-001.case \
	conformance/cases/oadr3/GE-OADR3-SUB-001.case \
	conformance/cases/oadr3/GE-OADR3-VEN-001.case \
	conformance/cases/oadr3/oadr3-base.inc
GE_CF_CASES += $(GE_OADR3_CASES)

check_PROGRAMS += tests/test_oadr3
tests_test_oadr3_SOURCES = tests/test_oadr3.c $(GE_CF_SOURCES)
nodist_tests_test_oadr3_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_oadr3_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr3_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr3

# `gridedge oadr run --version 3.0` end to end against the conformance head-end and a webhook VTN.
check_PROGRAMS += tests/test_oadr3_run
tests_test_oadr3_run_SOURCES = tests/test_oadr3_run.c
tests_test_oadr3_run_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr3_run_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr3_run

if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_oadr3
EXTRA_PROGRAMS += tests/fuzz/fuzz_oadr3
tests_fuzz_fuzz_oadr3_SOURCES = tests/fuzz/fuzz_oadr3.c
tests_fuzz_fuzz_oadr3_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_oadr3_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_oadr3_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/fuzz_oadr3.c tests/fuzz/corpus/fuzz_oadr3/base.seed
