# stack/xml: the schema-driven XML codec (issue 9).  schemas/*.schema (committed, made from the
# official XSDs by schemas/xsd2schema.py) -> stack/xml/gen_codec.py -> generated C in the BUILD
# tree: the message types (stack/include/gridedge/xml_*.h) and the tables (stack/xml/xml_*_tables.c).


GE_XML_SCHEMAS = sep oadr20b
GE_XML_GEN_H = stack/include/gridedge/xml_sep.h stack/include/gridedge/xml_oadr20b.h
GE_XML_GEN_C = stack/xml/xml_sep_tables.c stack/xml/xml_oadr20b_tables.c

libgecore_la_SOURCES += stack/xml/value.c stack/xml/decode.c stack/xml/encode.c stack/xml/expat_mem.c \
	stack/xml/xml_internal.h
nodist_libgecore_la_SOURCES = $(GE_XML_GEN_C)
gridedgeinclude_HEADERS += stack/include/gridedge/xml.h
nodist_gridedgeinclude_HEADERS = $(GE_XML_GEN_H)
BUILT_SOURCES += $(GE_XML_GEN_H) $(GE_XML_GEN_C)
CLEANFILES += $(GE_XML_GEN_H) $(GE_XML_GEN_C)
EXTRA_DIST += schemas/xsd2schema.py schemas/sep.schema schemas/oadr20b.schema stack/xml/gen_codec.py

# One rule writes both outputs; the .c depends on the .h (automake's recipe for multiple outputs).
stack/include/gridedge/xml_sep.h: $(srcdir)/schemas/sep.schema $(srcdir)/stack/xml/gen_codec.py
	$(AM_V_GEN)$(MKDIR_P) stack/include/gridedge stack/xml && \
	$(PYTHON3) $(srcdir)/stack/xml/gen_codec.py $(srcdir)/schemas/sep.schema $@ stack/xml/xml_sep_tables.c
stack/xml/xml_sep_tables.c: stack/include/gridedge/xml_sep.h
	@test -f $@ || { rm -f stack/include/gridedge/xml_sep.h; $(MAKE) $(AM_MAKEFLAGS) stack/include/gridedge/xml_sep.h; }
stack/include/gridedge/xml_oadr20b.h: $(srcdir)/schemas/oadr20b.schema $(srcdir)/stack/xml/gen_codec.py
	$(AM_V_GEN)$(MKDIR_P) stack/include/gridedge stack/xml && \
	$(PYTHON3) $(srcdir)/stack/xml/gen_codec.py $(srcdir)/schemas/oadr20b.schema $@ stack/xml/xml_oadr20b_tables.c
stack/xml/xml_oadr20b_tables.c: stack/include/gridedge/xml_oadr20b.h
	@test -f $@ || { rm -f stack/include/gridedge/xml_oadr20b.h; $(MAKE) $(AM_MAKEFLAGS) stack/include/gridedge/xml_oadr20b.h; }

# Regenerate the committed descriptions from the official XSDs (then review and commit them).
GE_SHARED_SCHEMAS ?= $(abs_top_srcdir)/../shared/schemas
schemas-update:
	for s in $(GE_XML_SCHEMAS); do \
	  $(PYTHON3) $(srcdir)/schemas/xsd2schema.py --preset $$s --xsd-dir $(GE_SHARED_SCHEMAS) \
	    --out $(srcdir)/schemas/$$s.schema || exit 1; done
.PHONY: schemas-update

# `gridedge xml decode|validate`
gridedge_SOURCES += gateway/cmd_xml.c

# Tests (CUnit): the codec, the staleness of schemas/, the CLI.
GE_XML_TEST_DOCS = tests/data/xml/sep-dercontrol.xml tests/data/xml/sep-dcap.xml \
	tests/data/xml/sep-enddevice-list.xml tests/data/xml/sep-mirror-usage-point.xml \
	tests/data/xml/sep-dercapability-csipaus.xml tests/data/xml/sep-notification.xml \
	tests/data/xml/oadr-distribute-event.xml \
	tests/data/xml/oadr-register-report.xml tests/data/xml/oadr-update-report.xml \
	tests/data/xml/oadr-create-party-registration.xml tests/data/xml/oadr-created-event.xml
EXTRA_DIST += $(GE_XML_TEST_DOCS)
GE_XML_TEST_COMMON = tests/test_xml_common.c tests/test_xml_common.h
check_PROGRAMS += tests/test_xml tests/test_xml_schemas tests/test_xml_cli
tests_test_xml_SOURCES = tests/test_xml.c $(GE_XML_TEST_COMMON)
tests_test_xml_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_xml_LDADD = $(GE_TEST_LIBS)
tests_test_xml_schemas_SOURCES = tests/test_xml_schemas.c $(GE_XML_TEST_COMMON)
tests_test_xml_schemas_CFLAGS = $(GE_TEST_CFLAGS) -DGE_PYTHON3='"$(PYTHON3)"'
tests_test_xml_schemas_LDADD = $(GE_TEST_LIBS)
tests_test_xml_cli_SOURCES = tests/test_xml_cli.c $(GE_XML_TEST_COMMON)
tests_test_xml_cli_CFLAGS = $(GE_TEST_CFLAGS)
tests_test_xml_cli_LDADD = $(GE_TEST_LIBS)
TESTS += tests/test_xml tests/test_xml_schemas tests/test_xml_cli

# libFuzzer targets, one per schema (make fuzz, with CC=clang --enable-fuzz); seed corpus in
# tests/fuzz/corpus/fuzz_xml_sep and tests/fuzz/corpus/fuzz_xml_oadr20b.
EXTRA_DIST += tests/fuzz/fuzz_xml.c
if GE_FUZZ
GE_FUZZERS += tests/fuzz/fuzz_xml_sep tests/fuzz/fuzz_xml_oadr20b
EXTRA_PROGRAMS += tests/fuzz/fuzz_xml_sep tests/fuzz/fuzz_xml_oadr20b
tests_fuzz_fuzz_xml_sep_SOURCES = tests/fuzz/fuzz_xml.c
tests_fuzz_fuzz_xml_sep_CFLAGS = $(AM_CFLAGS) -DGE_FUZZ_SCHEMA='"sep"'
tests_fuzz_fuzz_xml_sep_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_xml_sep_LDADD = libgecore.la
tests_fuzz_fuzz_xml_oadr20b_SOURCES = tests/fuzz/fuzz_xml.c
tests_fuzz_fuzz_xml_oadr20b_CFLAGS = $(AM_CFLAGS) -DGE_FUZZ_SCHEMA='"oadr20b"'
tests_fuzz_fuzz_xml_oadr20b_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_xml_oadr20b_LDADD = libgecore.la
endif
EXTRA_DIST += tests/fuzz/corpus/fuzz_xml_sep/sep-dercontrol.xml tests/fuzz/corpus/fuzz_xml_sep/sep-dcap.xml \
	tests/fuzz/corpus/fuzz_xml_sep/sep-enddevice-list.xml tests/fuzz/corpus/fuzz_xml_sep/sep-mirror-usage-point.xml \
	tests/fuzz/corpus/fuzz_xml_sep/sep-dercapability-csipaus.xml tests/fuzz/corpus/fuzz_xml_sep/sep-notification.xml \
	tests/fuzz/corpus/fuzz_xml_oadr20b/oadr-distribute-event.xml \
	tests/fuzz/corpus/fuzz_xml_oadr20b/oadr-register-report.xml \
	tests/fuzz/corpus/fuzz_xml_oadr20b/oadr-update-report.xml \
	tests/fuzz/corpus/fuzz_xml_oadr20b/oadr-create-party-registration.xml \
	tests/fuzz/corpus/fuzz_xml_oadr20b/oadr-created-event.xml

# `make bench`: decode throughput and memory against expat and libxml2 (figures: docs/performance.md).
EXTRA_PROGRAMS += bench/bench_codec
GE_BENCHES += bench/bench_codec
bench_bench_codec_SOURCES = bench/bench_codec.c bench/bench.c bench/bench.h
bench_bench_codec_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_codec_LDADD = libgecore.la
EXTRA_DIST += docs/codec.md docs/performance.md
