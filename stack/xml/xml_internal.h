/* xml_internal.h - what the codec's source files share and nothing outside stack/xml uses:
 * value helpers and the limits that bound work on one value. */
#ifndef STACK_XML_INTERNAL_H
#define STACK_XML_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/buf.h>
#include <gridedge/xml.h>

/* Longest text checked against a pattern (the NFA run is linear, this bounds it). */
#define GE__XML_PATTERN_MAX_INPUT ((size_t)64 << 10)
/* Longest value of a union type (unions are token enumerations or extension tokens). */
#define GE__XML_UNION_MAX 255

size_t ge__xml_kind_size(int kind);
size_t ge__xml_ws(int ws, char *s, size_t len);
int64_t ge__xml_get_int(int kind, const void *v);
uint64_t ge__xml_get_uint(int kind, const void *v);

/* Bytes one item of FIELD takes in a struct or an array. */
size_t ge__xml_item_size(const ge_xml_field_t *f);

/* Append S escaped for element content (ATTR 0) or a double-quoted attribute value (ATTR 1). */
int ge__xml_escape(ge_buf_t *out, const char *s, size_t len, int attr);

/* A namespace URI of the schema by its index ("" for none). */
const char *ge__xml_ns_uri(const ge_xml_schema_t *s, uint16_t ns);

#endif
