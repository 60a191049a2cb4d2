# csip-aus: the scripted CSIP-AUS client cases (compiled into the program with the others) and their tests.
GE_CF_CASES += \
	conformance/cases/csip-aus/ALL-01.case \
	conformance/cases/csip-aus/ALL-02.case \
	conformance/cases/csip-aus/ALL-03-REJ.case \
	conformance/cases/csip-aus/ALL-03.case \
	conformance/cases/csip-aus/ALL-04.case \
	conformance/cases/csip-aus/ALL-05.case \
	conformance/cases/csip-aus/ALL-06.case \
	conformance/cases/csip-aus/ALL-07.case \
	conformance/cases/csip-aus/ALL-08.case \
	conformance/cases/csip-aus/ALL-09.case \
	conformance/cases/csip-aus/ALL-10.case \
	conformance/cases/csip-aus/ALL-11.case \
	conformance/cases/csip-aus/ALL-12.case \
	conformance/cases/csip-aus/ALL-13.case \
	conformance/cases/csip-aus/ALL-14.case \
	conformance/cases/csip-aus/ALL-15.case \
	conformance/cases/csip-aus/ALL-16.case \
	conformance/cases/csip-aus/ALL-17.case \
	conformance/cases/csip-aus/ALL-18.case \
	conformance/cases/csip-aus/ALL-19.case \
	conformance/cases/csip-aus/ALL-20.case \
	conformance/cases/csip-aus/ALL-21.case \
	conformance/cases/csip-aus/ALL-22.case \
	conformance/cases/csip-aus/ALL-23.case \
	conformance/cases/csip-aus/ALL-24.case \
	conformance/cases/csip-aus/ALL-25.case \
	conformance/cases/csip-aus/ALL-25-EXT.case \
	conformance/cases/csip-aus/ALL-26.case \
	conformance/cases/csip-aus/ALL-27.case \
	conformance/cases/csip-aus/ALL-28.case \
	conformance/cases/csip-aus/ALL-29.case \
	conformance/cases/csip-aus/ALL-30.case \
	conformance/cases/csip-aus/ALT-ALL-29.case \
	conformance/cases/csip-aus/ALT-LOA-13.case \
	conformance/cases/csip-aus/DRA-01.case \
	conformance/cases/csip-aus/DRA-02.case \
	conformance/cases/csip-aus/DRD-01.case \
	conformance/cases/csip-aus/DRG-01.case \
	conformance/cases/csip-aus/DRL-01.case \
	conformance/cases/csip-aus/GE-CSIPAUS-001.case \
	conformance/cases/csip-aus/GE-CSIPAUS-002.case \
	conformance/cases/csip-aus/GEN-01.case \
	conformance/cases/csip-aus/GEN-02.case \
	conformance/cases/csip-aus/GEN-03.case \
	conformance/cases/csip-aus/GEN-04.case \
	conformance/cases/csip-aus/GEN-05.case \
	conformance/cases/csip-aus/GEN-06.case \
	conformance/cases/csip-aus/GEN-07.case \
	conformance/cases/csip-aus/GEN-08.case \
	conformance/cases/csip-aus/GEN-09.case \
	conformance/cases/csip-aus/GEN-10.case \
	conformance/cases/csip-aus/GEN-11.case \
	conformance/cases/csip-aus/GEN-12.case \
	conformance/cases/csip-aus/GEN-13.case \
	conformance/cases/csip-aus/LOA-01.case \
	conformance/cases/csip-aus/LOA-02.case \
	conformance/cases/csip-aus/LOA-03.case \
	conformance/cases/csip-aus/LOA-04.case \
	conformance/cases/csip-aus/LOA-05.case \
	conformance/cases/csip-aus/LOA-06.case \
	conformance/cases/csip-aus/LOA-07.case \
	conformance/cases/csip-aus/LOA-08.case \
	conformance/cases/csip-aus/LOA-09.case \
	conformance/cases/csip-aus/LOA-10.case \
	conformance/cases/csip-aus/LOA-11.case \
	conformance/cases/csip-aus/LOA-12.case \
	conformance/cases/csip-aus/LOA-13.case \
	conformance/cases/csip-aus/MUL-01.case \
	conformance/cases/csip-aus/MUL-02.case \
	conformance/cases/csip-aus/MUL-03.case \
	conformance/cases/csip-aus/P-01.case \
	conformance/cases/csip-aus/P-02.case \
	conformance/cases/csip-aus/P-03.case \
	conformance/cases/csip-aus/SDVN-01.case \
	conformance/cases/csip-aus/STO-01.case \
	conformance/cases/csip-aus/STO-02.case \
	conformance/cases/csip-aus/STO-03.case \
	conformance/cases/csip-aus/STO-04.case \
	conformance/cases/csip-aus/STO-05.case \
	conformance/cases/csip-aus/STO-06.case \
	conformance/cases/csip-aus/PRC-01.case \
	conformance/cases/csip-aus/PRC-02.case \
	conformance/cases/csip-aus/PRC-03.case \
	conformance/cases/csip-aus/PRC-04.case \
	conformance/cases/csip-aus/PRC-05.case \
	conformance/cases/csip-aus/csipaus-base.inc \
	conformance/cases/csip-aus/csipaus-sub.inc \
	conformance/cases/csip-aus/csipaus-v13.inc \
	conformance/cases/csip-aus/csipaus-prc.inc

# The cases played to the 2030.5 engine in simulated time, and over TLS against `gridedge sep run`.
check_PROGRAMS += tests/test_csipaus tests/test_csipaus_run
tests_test_csipaus_SOURCES = tests/test_csipaus.c tests/sep_play.c tests/sep_play.h $(GE_CF_SOURCES)
nodist_tests_test_csipaus_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
tests_test_csipaus_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_csipaus_LDADD = $(GE_TEST_LIBS)
tests_test_csipaus_run_SOURCES = tests/test_csipaus_run.c
tests_test_csipaus_run_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_csipaus_run_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_csipaus tests/test_csipaus_run
