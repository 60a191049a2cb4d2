# gateway/infra.mk - the gateway's infrastructure: SQLite state (store), INI configuration
# (config), the status file and status page (status, statuspage/).  Included from Makefile.am.

gridedge_SOURCES += gateway/store.c gateway/store.h

check_PROGRAMS += tests/test_store
tests_test_store_SOURCES = tests/test_store.c gateway/store.c gateway/store.h
tests_test_store_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_store_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_store

gridedge_SOURCES += gateway/url.c gateway/url.h

check_PROGRAMS += tests/test_url
tests_test_url_SOURCES = tests/test_url.c gateway/url.c gateway/url.h
tests_test_url_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_url_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_url

# The config parser checks URLs and listening addresses with gateway/url.c: a program with the
# parser takes both.
GE_GWCONFIG_SOURCES = gateway/gwconfig.c gateway/gwconfig.h gateway/url.c gateway/url.h
gridedge_SOURCES += gateway/gwconfig.c gateway/gwconfig.h

check_PROGRAMS += tests/test_config
tests_test_config_SOURCES = tests/test_config.c $(GE_GWCONFIG_SOURCES)
tests_test_config_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_config_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_config

EXTRA_DIST += docs/gridedge.ini

# The status page: its files are compiled into the program by a generator (outputs in the build
# dir); gateway/status.c serves them.
GW_STATUSPAGE_FILES = gateway/statuspage/index.html gateway/statuspage/style.css \
	gateway/statuspage/app.js
gridedge_SOURCES += gateway/status.c gateway/status.h
nodist_gridedge_SOURCES += gateway/statuspage_assets.c
BUILT_SOURCES += gateway/statuspage_assets.c
CLEANFILES += gateway/statuspage_assets.c
EXTRA_DIST += $(GW_STATUSPAGE_FILES) gateway/statuspage/embed.py
gateway/statuspage_assets.c: $(GW_STATUSPAGE_FILES:%=$(srcdir)/%) $(srcdir)/gateway/statuspage/embed.py
	$(AM_V_GEN)$(MKDIR_P) gateway && \
	$(PYTHON3) $(srcdir)/gateway/statuspage/embed.py $@ $(GW_STATUSPAGE_FILES:%=$(srcdir)/%)

check_PROGRAMS += tests/test_status
tests_test_status_SOURCES = tests/test_status.c gateway/status.c gateway/status.h gateway/store.c \
	gateway/store.h
nodist_tests_test_status_SOURCES = gateway/statuspage_assets.c
# the render test serves the page with python3's http.server
tests_test_status_CFLAGS = $(GE_TEST_CFLAGS) -DGE_PYTHON3='"$(PYTHON3)"'
tests_test_status_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_status
CLEANFILES += tests/statuspage.png
# The status page's actions (the opt-out form body) under libFuzzer.
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_statuspage
EXTRA_PROGRAMS += tests/fuzz/fuzz_statuspage
tests_fuzz_fuzz_statuspage_SOURCES = tests/fuzz/fuzz_statuspage.c gateway/status.c gateway/status.h gateway/store.c \
	gateway/store.h
nodist_tests_fuzz_fuzz_statuspage_SOURCES = gateway/statuspage_assets.c
tests_fuzz_fuzz_statuspage_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_statuspage_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_statuspage_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/fuzz_statuspage.c tests/fuzz/corpus/fuzz_statuspage/opt-out.seed

EXTRA_DIST += docs/gridedge.service docs/gateway.md
