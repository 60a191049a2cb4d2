/* xml_internal.h - what the codec's source files share and nothing outside stack/xml uses:
 * value helpers and the limits that bound work on one value. */
#ifndef STACK_XML_INTERNAL_H
#define STACK_XML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <expat.h>

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

/* Does S (LEN bytes) hold a byte <= ' ' (whitespace, or another control)?  Eight bytes at a time:
 * a byte below 0x21 borrows in x - 0x21..21 and has its top bit clear in x. */
static inline bool ge__xml_has_ctl(const char *s, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    uint64_t x;

    for (; i + 8 <= len; i += 8) {
        memcpy(&x, s + i, 8);
        if ((x - ones * 0x21) & ~x & highs)
            return true;
    }
    if (i < len && len >= 8) { /* the last eight bytes, overlapping some already seen */
        memcpy(&x, s + len - 8, 8);
        return ((x - ones * 0x21) & ~x & highs) != 0;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] <= ' ')
            return true;
    return false;
}

/* The commonest values in one pass, before any whitespace handling, from text that is not
 * modified (it may be expat's buffer): an integer of plain digits (at most 18, so no overflow) in
 * range, hexBinary of at most 64 octets, a boolean spelt exactly, a string with nothing to normalize
 * and no facet but a maxLength, for a type without enumerations.  Anything else
 * (whitespace, a '+', out of range, another type...) returns 1 having changed nothing, for
 * ge_xml_parse_value() to parse or to report.  0: stored in VALUE (as ge_xml_parse_value() would);
 * negative: the arena's error. */
int ge__xml_parse_fast(const ge_xml_stype_t *t, const char *s, size_t len, ge_arena_t *arena, void *value);
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

/* Did the decoder's current (or last) document go into the parser's open wrapper rather than a
 * parser of its own (decode.c, ge_xml_decoder.pstate)?  For tests. */
bool ge__xml_decoder_wrapped(const ge_xml_decoder_t *d);

/* The memory expat uses inside a decoder (expat_mem.c): free lists by size class, fed from MEM, so
 * that a parser reset between documents and the next document reuse the same blocks.  Every call into
 * expat that may allocate runs between enter(pool) and leave(what enter returned). */
typedef struct ge__xml_pool ge__xml_pool_t;
ge__xml_pool_t *ge__xml_pool_new(const ge_mem_t *mem);
void ge__xml_pool_free(ge__xml_pool_t *p); /* after the parser that used it is freed */
const XML_Memory_Handling_Suite *ge__xml_pool_suite(void);
/* Bytes of the small blocks (up to 4096 bytes: DTD table entries, names) expat holds now. */
size_t ge__xml_pool_live(const ge__xml_pool_t *p);
ge__xml_pool_t *ge__xml_pool_enter(ge__xml_pool_t *p);
void ge__xml_pool_leave(ge__xml_pool_t *was);

#endif
