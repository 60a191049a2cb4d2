/* embedded.h - data files compiled into the program by gateway/embed_files.py (status page assets,
 * conformance catalogues and cases).  Each table ends with an entry whose name is NULL; each file's
 * data is followed by a NUL byte not counted in len, so text files can be used as C strings. */
#ifndef GATEWAY_EMBEDDED_H
#define GATEWAY_EMBEDDED_H

#include <stddef.h>

typedef struct gw_embedded {
    const char *name;
    const unsigned char *data;
    size_t len;
} gw_embedded_t;

/* The entry called NAME in TABLE, or NULL. */
const gw_embedded_t *gw_embedded_find(const gw_embedded_t *table, const char *name);

#endif
