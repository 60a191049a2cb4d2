# conformance: the head-end, its case catalogues and cases (compiled into the program).
GE_CF_CATALOGUES = conformance/catalogue/csip.tsv conformance/catalogue/csip-aus.tsv \
	conformance/catalogue/oadr20b.tsv conformance/catalogue/oadr3.tsv
GE_CF_SOURCES = conformance/catalogue.c conformance/catalogue.h conformance/case.c conformance/case.h \
	conformance/caselib.c \
	conformance/verdict.c conformance/verdict.h conformance/serve.c conformance/serve.h gateway/embedded.c gateway/embedded.h
conformance/catalogue_data.c: $(GE_CF_CATALOGUES) $(srcdir)/gateway/embed_files.py
	$(AM_V_GEN)$(MKDIR_P) conformance && \
	files=; for f in $(GE_CF_CATALOGUES); do files="$$files $(srcdir)/$$f"; done; \
	$(PYTHON3) $(srcdir)/gateway/embed_files.py $@ gw_embedded_catalogue conformance/catalogue $$files
BUILT_SOURCES += conformance/catalogue_data.c
CLEANFILES += conformance/catalogue_data.c
EXTRA_DIST += $(GE_CF_CATALOGUES) gateway/embed_files.py

# The scripted cases (and the fragments they include), compiled into the program.
GE_CF_CASES += \
	conformance/cases/csip/COMM-001.case \
	conformance/cases/csip/COMM-003.case \
	conformance/cases/csip/COMM-004.case \
	conformance/cases/csip/COMM-004A.case \
	conformance/cases/csip/COMM-004B.case \
	conformance/cases/csip/COMM-004C.case \
	conformance/cases/csip/COMM-004D.case \
	conformance/cases/csip/COMM-004E.case \
	conformance/cases/csip/COMM-004F.case \
	conformance/cases/csip/COMM-004G.case \
	conformance/cases/csip/BASIC-001.case \
	conformance/cases/csip/BASIC-019.case \
	conformance/cases/csip/BASIC-021.case \
	conformance/cases/csip/BASIC-023.case \
	conformance/cases/csip/BASIC-025.case \
	conformance/cases/csip/BASIC-026.case \
	conformance/cases/csip/BASIC-027.case \
	conformance/cases/csip/GE-SEP-001.case \
	conformance/cases/csip/BASIC-002.case \
	conformance/cases/csip/BASIC-003.case \
	conformance/cases/csip/BASIC-004.case \
	conformance/cases/csip/BASIC-005.case \
	conformance/cases/csip/BASIC-006.case \
	conformance/cases/csip/BASIC-007.case \
	conformance/cases/csip/BASIC-008.case \
	conformance/cases/csip/BASIC-011.case \
	conformance/cases/csip/BASIC-012.case \
	conformance/cases/csip/BASIC-015.case \
	conformance/cases/csip/BASIC-009.case \
	conformance/cases/csip/BASIC-010.case \
	conformance/cases/csip/BASIC-013.case \
	conformance/cases/csip/BASIC-014.case \
	conformance/cases/csip/BASIC-016.case \
	conformance/cases/csip/BASIC-017.case \
	conformance/cases/csip/BASIC-018.case \
	conformance/cases/csip/BASIC-020.case \
	conformance/cases/csip/BASIC-022.case \
	conformance/cases/csip/BASIC-024.case \
	conformance/cases/csip/BASIC-028.case \
	conformance/cases/csip/BASIC-029.case \
	conformance/cases/csip/COMM-002.case \
	conformance/cases/csip/CORE-003.case \
	conformance/cases/csip/CORE-005.case \
	conformance/cases/csip/CORE-006.case \
	conformance/cases/csip/CORE-009.case \
	conformance/cases/csip/CORE-010.case \
	conformance/cases/csip/CORE-011.case \
	conformance/cases/csip/CORE-012.case \
	conformance/cases/csip/CORE-013.case \
	conformance/cases/csip/CORE-014.case \
	conformance/cases/csip/CORE-018.case \
	conformance/cases/csip/CORE-019.case \
	conformance/cases/csip/CORE-021.case \
	conformance/cases/csip/CORE-022.case \
	conformance/cases/csip/CORE-023.case \
	conformance/cases/csip/DEMO-DAY.case \
	conformance/cases/csip/ERR-001.case \
	conformance/cases/csip/GE-SEP-002.case \
	conformance/cases/csip/GE-SEP-003.case \
	conformance/cases/csip/GE-SEP-004.case \
	conformance/cases/csip/GE-SEP-005.case \
	conformance/cases/csip/GE-SEP-006.case \
	conformance/cases/csip/GE-SEP-007.case \
	conformance/cases/csip/UTIL-002.case \
	conformance/cases/csip/UTIL-003.case \
	conformance/cases/csip/UTIL-004.case \
	conformance/cases/csip/AGG-001.case \
	conformance/cases/csip/AGG-002.case \
	conformance/cases/csip/AGG-003.case \
	conformance/cases/csip/AGG-004.case \
	conformance/cases/csip/AGG-005.case \
	conformance/cases/csip/AGG-006.case \
	conformance/cases/csip/AGG-007.case \
	conformance/cases/csip/AGG-008.case \
	conformance/cases/csip/AGG-009.case \
	conformance/cases/csip/AGG-010.case \
	conformance/cases/csip/AGG-011.case \
	conformance/cases/csip/AGG-012.case \
	conformance/cases/csip/MAINT-001.case \
	conformance/cases/csip/MAINT-003.case \
	conformance/cases/csip/MAINT-004.case \
	conformance/cases/csip/MAINT-005.case \
	conformance/cases/csip/ERR-002.case \
	conformance/cases/csip/csip-agg.inc \
	conformance/cases/csip/csip-base.inc \
	conformance/cases/csip/csip-idle.inc \
	conformance/cases/csip/csip-sub.inc
include $(srcdir)/conformance/cases/csip-aus/local.mk
conformance/cases_data.c: $(GE_CF_CASES) $(srcdir)/gateway/embed_files.py
	$(AM_V_GEN)$(MKDIR_P) conformance && \
	files=; for f in $(GE_CF_CASES); do files="$$files $(srcdir)/$$f"; done; \
	$(PYTHON3) $(srcdir)/gateway/embed_files.py $@ gw_embedded_cases conformance/cases $$files
BUILT_SOURCES += conformance/cases_data.c
CLEANFILES += conformance/cases_data.c
EXTRA_DIST += tests/fuzz/corpus/fuzz_catalogue/oadr3.tsv tests/fuzz/corpus/fuzz_catalogue/reasons.tsv tests/fuzz/corpus/fuzz_case/sample.case tests/fuzz/corpus/fuzz_case/has-bits.case
EXTRA_DIST += tests/fuzz/corpus/fuzz_case/handshake.case
EXTRA_DIST += tests/fuzz/fuzz_cf_dnssd.c tests/fuzz/corpus/fuzz_cf_dnssd/query.seed
EXTRA_DIST += $(GE_CF_CASES) tests/data/conformance/test_client.py tests/data/conformance/hostile_client.py \
	tests/data/conformance/CORE-005.case \
	tests/data/conformance/COMM-002.case

gridedge_SOURCES += $(GE_CF_SOURCES) conformance/server.c conformance/server.h conformance/headend.c \
	conformance/headend.h conformance/dnssd.c conformance/dnssd.h gateway/cmd_conformance.c
nodist_gridedge_SOURCES += conformance/catalogue_data.c conformance/cases_data.c

check_PROGRAMS += tests/test_conformance
tests_test_conformance_SOURCES = tests/test_conformance.c $(GE_CF_SOURCES) conformance/dnssd.c conformance/dnssd.h
nodist_tests_test_conformance_SOURCES = conformance/catalogue_data.c conformance/cases_data.c
tests_test_conformance_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_conformance_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_conformance

# The CSIP certificate-path cases COMM-004, 004A..G end to end (our client, an idle one, a lax one).
check_PROGRAMS += tests/test_comm004
tests_test_comm004_SOURCES = tests/test_comm004.c $(GE_CF_SOURCES)
nodist_tests_test_comm004_SOURCES = conformance/catalogue_data.c conformance/cases_data.c
tests_test_comm004_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_comm004_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_comm004

if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_catalogue tests/fuzz/fuzz_case
EXTRA_PROGRAMS += tests/fuzz/fuzz_catalogue tests/fuzz/fuzz_case
tests_fuzz_fuzz_case_SOURCES = tests/fuzz/fuzz_case.c conformance/case.c
tests_fuzz_fuzz_case_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_case_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_case_LDADD = libgecore.la
tests_fuzz_fuzz_catalogue_SOURCES = tests/fuzz/fuzz_catalogue.c conformance/catalogue.c gateway/embedded.c
nodist_tests_fuzz_fuzz_catalogue_SOURCES = conformance/catalogue_data.c conformance/cases_data.c
tests_fuzz_fuzz_catalogue_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_catalogue_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_catalogue_LDADD = libgecore.la
GE_FUZZERS += tests/fuzz/fuzz_cf_dnssd
EXTRA_PROGRAMS += tests/fuzz/fuzz_cf_dnssd
tests_fuzz_fuzz_cf_dnssd_SOURCES = tests/fuzz/fuzz_cf_dnssd.c conformance/dnssd.c
tests_fuzz_fuzz_cf_dnssd_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_cf_dnssd_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_cf_dnssd_LDADD = libgecore.la
endif
