# stack/oadr: the OpenADR 2.0b VEN engine, sans I/O (issue 6), and `gridedge oadr run`.
libgecore_la_SOURCES += stack/oadr/ven.c stack/oadr/messages.c stack/oadr/oadr_internal.h
gridedgeinclude_HEADERS += stack/include/gridedge/oadr.h
# XML signatures (oadrSignedObject, XMLDSig on xmlsec): `oadr run --sign`, the head-end's `sign-payloads`.
libgecore_la_SOURCES += stack/oadr/sig.c
gridedgeinclude_HEADERS += stack/include/gridedge/oadr_sig.h
gridedge_SOURCES += gateway/oadr_link.c gateway/oadr_link.h gateway/cmd_oadr.c gateway/owner.c gateway/owner.h
EXTRA_DIST += docs/openadr.md

# The oadr20b conformance cases (VTN scripts), compiled into the program with the others.
include $(srcdir)/conformance/cases/oadr20b/local.mk

check_PROGRAMS += tests/test_oadr
tests_test_oadr_SOURCES = tests/test_oadr.c $(GE_CF_SOURCES) gateway/owner.c gateway/owner.h $(GE_GWCONFIG_SOURCES)
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

# XML signatures under libFuzzer: verify what a VTN sends; sign, verify, change a byte, verify.
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_oadr_sig
EXTRA_PROGRAMS += tests/fuzz/fuzz_oadr_sig
tests_fuzz_fuzz_oadr_sig_SOURCES = tests/fuzz/fuzz_oadr_sig.c
tests_fuzz_fuzz_oadr_sig_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_oadr_sig_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_oadr_sig_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/fuzz_oadr_sig.c tests/fuzz/corpus/fuzz_oadr_sig/signed-event.seed \
	tests/fuzz/corpus/fuzz_oadr_sig/signed-poll.seed tests/fuzz/corpus/fuzz_oadr_sig/sign-event.seed \
	tests/fuzz/corpus/fuzz_oadr_sig/sign-poll.seed

# XML signatures: sign/verify, tampering, wrapping, the XSDs, the xmlsec1 tool.
check_PROGRAMS += tests/test_oadr_sig
tests_test_oadr_sig_SOURCES = tests/test_oadr_sig.c $(GE_GWCONFIG_SOURCES)
tests_test_oadr_sig_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_oadr_sig_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_oadr_sig

# The home owner's file (gateway/owner.c, read by gateway/gwconfig.c's parser).
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_owner
EXTRA_PROGRAMS += tests/fuzz/fuzz_owner
tests_fuzz_fuzz_owner_SOURCES = tests/fuzz/fuzz_owner.c gateway/owner.c gateway/owner.h $(GE_GWCONFIG_SOURCES)
tests_fuzz_fuzz_owner_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_owner_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_owner_LDADD = libgecore.la $(INIH_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz_owner.c tests/fuzz/corpus/fuzz_owner/owner.seed tests/fuzz/corpus/fuzz_owner/windows.seed

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
