/* xml_internal.h - what the codec's source files share and nothing outside stack/xml uses:
 * value helpers and the limits that bound work on one value. */
#ifndef STACK_XML_INTERNAL_H
#define STACK_XML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gridedge/buf.h>
#include <gridedge/xml.h>

/* Longest text checked against a pattern (the NFA run is linear, this bounds it). */
#define GE__XML_PATTERN_MAX_INPUT ((size_t)64 << 10)
/* Longest value of a union type (unions are token enumerations or extension tokens). */
#define GE__XML_UNION_MAX 255

/* Bytes a value of KIND takes in C. */
static inline size_t ge__xml_kind_size(int kind)
{
    switch (kind) {
    case GE_XML_STRING: return sizeof(char *);
    case GE_XML_BOOL: return sizeof(bool);
    case GE_XML_I8: case GE_XML_U8: return 1;
    case GE_XML_I16: case GE_XML_U16: return 2;
    case GE_XML_I32: case GE_XML_U32: return 4;
    case GE_XML_I64: case GE_XML_U64: return 8;
    case GE_XML_DOUBLE: return sizeof(double);
    default: return sizeof(ge_xml_bytes_t);
    }
}

size_t ge__xml_ws(int ws, char *s, size_t len);
int64_t ge__xml_get_int(int kind, const void *v);
uint64_t ge__xml_get_uint(int kind, const void *v);

/* Bytes one item of FIELD takes in a struct or an array. */
static inline size_t ge__xml_item_size(const ge_xml_field_t *f)
{
    if (f->what == GE_XML_F_OPAQUE || f->ctype)
        return sizeof(void *);
    return ge__xml_kind_size(f->stype->n_members ? GE_XML_STRING : f->stype->kind);
}

/* Append S escaped for element content (ATTR 0) or a double-quoted attribute value (ATTR 1). */
int ge__xml_escape(ge_buf_t *out, const char *s, size_t len, int attr);

/* A namespace URI of the schema by its index ("" for none). */
const char *ge__xml_ns_uri(const ge_xml_schema_t *s, uint16_t ns);

#endif
