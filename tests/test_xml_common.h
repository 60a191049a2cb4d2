/* test_xml_common.h - helpers the codec's test programs share: where the official schemas and
 * our test documents are, reading files, and running a decode in one call. */
#ifndef TESTS_TEST_XML_COMMON_H
#define TESTS_TEST_XML_COMMON_H

#include <stddef.h>

#include <gridedge/xml.h>

/* The official XSDs: $GE_SHARED_SCHEMAS, else $GE_SRCDIR/../shared/schemas; NULL if neither
 * exists (a distcheck tree), in which case tests that need them pass with a printed note. */
const char *txml_schemas_dir(void);

/* $GE_SRCDIR/tests/data/xml/NAME, malloc'd contents (NUL-terminated) or NULL. */
char *txml_read_data(const char *name, size_t *len);
char *txml_read_file(const char *path, size_t *len);

/* The source tree ($GE_SRCDIR or the compile-time one). */
const char *txml_srcdir(void);

#endif
