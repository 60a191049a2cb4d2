/* xsd.h - validate documents against the official XSDs (../shared/schemas, read-only data) with
 * libxml2, for tests that check what our code sends or serves. */
#ifndef TESTS_XSD_H
#define TESTS_XSD_H

#include <stddef.h>

typedef struct xsd xsd_t;

/* The official schemas' folder: $GE_SHARED_SCHEMAS, or ../shared/schemas beside the source tree;
 * NULL (with a note on stdout) when it is not there, e.g. in a distcheck tree. */
const char *xsd_dir(void);

/* Load REL (e.g. "csipaus/csipaus-core.xsd") from xsd_dir(); NULL if unavailable. */
xsd_t *xsd_load(const char *rel);
void xsd_free(xsd_t *x);

/* 1 if TEXT (LEN bytes) validates, else 0 with the first problem in ERR. */
int xsd_valid(xsd_t *x, const char *text, size_t len, char *err, size_t errlen);

#endif
