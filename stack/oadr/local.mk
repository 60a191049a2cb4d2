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
	conformance/cases/oadr20b/N1_0010.case \
	conformance/cases/oadr20b/N1_0020.case \
	conformance/cases/oadr20b/N1_0040.case \
	conformance/cases/oadr20b/N1_0050.case \
	conformance/cases/oadr20b/oadr-base.inc
GE_CF_CASES += $(GE_OADR_CASES)

check_PROGRAMS += tests/test_oadr
tests_test_oadr_SOURCES = tests/test_oadr.c $(GE_CF_SOURCES)
nodist_tests_test_oadr_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_oadr_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr

# `gridedge oadr run` end to end against the conformance head-end (runs the real program).
check_PROGRAMS += tests/test_oadr_run
tests_test_oadr_run_SOURCES = tests/test_oadr_run.c
tests_test_oadr_run_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr_run_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr_run
