# stack/net: sources, headers, tests and tools of this area (included by Makefile.am).
# Secure transport (issue 4): TLS profiles (profiles/tls_profiles.def), certificates and device
# identity, HTTP/1.1 client and server on libevent; `gridedge pki`.
libgecore_la_SOURCES += stack/net/net_internal.h stack/net/pki.c stack/net/tls.c \
	stack/net/http_client.c stack/net/http_server.c stack/net/net_loop.c stack/net/resolve.c
# resolve.c runs the system resolver in worker threads
libgecore_la_LIBADD += -lpthread
gridedgeinclude_HEADERS += stack/include/gridedge/pki.h stack/include/gridedge/tls.h \
	stack/include/gridedge/http.h stack/include/gridedge/net.h
gridedge_SOURCES += gateway/cmd_pki.c
EXTRA_DIST += docs/transport.md profiles/tls_profiles.def

check_PROGRAMS += tests/test_pki
tests_test_pki_SOURCES = tests/test_pki.c tests/test_net_util.c tests/test_net_util.h
tests_test_pki_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_pki_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_pki

check_PROGRAMS += tests/test_net_tls
tests_test_net_tls_SOURCES = tests/test_net_tls.c tests/test_net_util.c tests/test_net_util.h
tests_test_net_tls_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_net_tls_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_net_tls

check_PROGRAMS += tests/test_http
tests_test_http_SOURCES = tests/test_http.c tests/test_net_util.c tests/test_net_util.h
tests_test_http_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_http_LDADD = $(GE_TEST_LIBS) -lpthread
TESTS += tests/test_http

# The transport driven by a plain poll() loop of the test's own (gridedge/net.h).
check_PROGRAMS += tests/test_net_loop
tests_test_net_loop_SOURCES = tests/test_net_loop.c tests/test_net_util.c tests/test_net_util.h
tests_test_net_loop_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_net_loop_LDADD = $(GE_TEST_LIBS) -lpthread
TESTS += tests/test_net_loop

# `make bench`: small sep+xml GETs over csip TLS keep-alive vs a bare OpenSSL loop, and the
# server's memory per idle TLS connection.
EXTRA_PROGRAMS += bench/bench_http
GE_BENCHES += bench/bench_http
bench_bench_http_SOURCES = bench/bench_http.c bench/bench.c bench/bench.h
bench_bench_http_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_http_LDADD = libgecore.la
