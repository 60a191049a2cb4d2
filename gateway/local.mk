# gateway: the gridedge program.
gridedge_SOURCES += gateway/main.c gateway/cli.c gateway/cli.h gateway/commands.c gateway/daemon.c \
	gateway/daemon.h gateway/client_run.c gateway/client_run.h gateway/site.c gateway/site.h gateway/sep_link.c gateway/sep_link.h gateway/sep_agg.c gateway/sep_agg.h gateway/dnssd_probe.c gateway/dnssd_probe.h gateway/cmd_sep.c \
	gateway/cmd_demo.c gateway/cmd_gateway.c

check_PROGRAMS += tests/test_demo
tests_test_demo_SOURCES = tests/test_demo.c
tests_test_demo_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_demo_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_demo

check_PROGRAMS += tests/test_gateway
tests_test_gateway_SOURCES = tests/test_gateway.c $(GE_CF_SOURCES) conformance/server.c conformance/server.h
nodist_tests_test_gateway_SOURCES = conformance/cases_data.c conformance/catalogue_data.c
if GE_HAVE_LIBMODBUS
# a SunSpec device that misbehaves, for the daemon's device-fault test
tests_test_gateway_SOURCES += tests/sunspec_sim.c tests/sunspec_sim.h
endif
tests_test_gateway_CFLAGS = $(GE_TEST_CFLAGS) -pthread
tests_test_gateway_LDADD = $(GE_TEST_LIBS) -lpthread
TESTS += tests/test_gateway
EXTRA_DIST += tests/data/gateway/csip/GW-KILL9.case tests/data/gateway/oadr20b/GW-KILL9.case \
	tests/data/gateway/csip-aus/GW-PRICES.case tests/data/gateway/oadr20b/GW-PRICES.case

# The demo's OpenADR day (a VTN script the built-in head-end serves; not a certification case, so
# not in the oadr20b catalogue).
GE_CF_CASES += conformance/cases/oadr20b/DEMO-DAY.case
