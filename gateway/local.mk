# gateway: the gridedge program.
gridedge_SOURCES += gateway/main.c gateway/cli.c gateway/cli.h gateway/commands.c gateway/daemon.c \
	gateway/daemon.h gateway/site.c gateway/site.h gateway/sep_link.c gateway/sep_link.h gateway/dnssd_probe.c gateway/dnssd_probe.h gateway/cmd_sep.c \
	gateway/cmd_demo.c gateway/cmd_gateway.c

check_PROGRAMS += tests/test_demo
tests_test_demo_SOURCES = tests/test_demo.c
tests_test_demo_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_demo_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_demo

check_PROGRAMS += tests/test_gateway
tests_test_gateway_SOURCES = tests/test_gateway.c
tests_test_gateway_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_gateway_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_gateway
