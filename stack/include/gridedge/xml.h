/* gridedge/xml.h - the schema-driven XML codec: table types shared by the generated message
 * types (gridedge/xml_sep.h, gridedge/xml_oadr20b.h), the streaming decoder, the encoder and the
 * JSON writer.
 *
 * The tables are generated from schemas/ *.schema by stack/xml/gen_codec.py; docs/codec.md says
 * how each schema construct maps onto C.  In short: one struct per complex type with its base
 * type's fields first; an element that occurs at most once is a value (optional scalars get a
 * `has_NAME` flag, strings/bytes/complex are NULL when absent); a repeated element is a
 * (pointer, NAME_count) pair; strings are NUL-terminated arena copies; hexBinary and base64Binary
 * are ge_xml_bytes_t; integers use the smallest C type that holds the schema's range.
 *
 * xsi:type.  An element that occurs at most once and whose complex type has derived types in the
 * same schema is polymorphic (sep: Notification.Resource, EndDevice.ConnectionPointLink): its
 * pointer member NAME is followed by `const ge_xml_ctype_t *NAME_xsi`, and its field has
 * xsi_off != 0.  After decoding, whenever NAME is set NAME_xsi is set too: it is the type NAME
 * really points to -- the declared type (e.g. types[SEP_TYPE_Resource]) when the element had no
 * xsi:type, else the derived type the xsi:type named; cast NAME to that type's struct
 * (`(sep_DERControlList_t *)n->Resource` when n->Resource_xsi == types[SEP_TYPE_DERControlList]).
 * A struct begins with its base type's members in the same layout, so NAME can also be read as
 * the declared type (n->Resource->href).  For encoding, NAME_xsi NULL or the declared type writes
 * no xsi:type; a derived type writes xsi:type="Local" (prefixed when not in the root's namespace)
 * and declares xmlns:xsi on the root.  The root element may carry xsi:type too (msg.type).  Only
 * xsi:type is taken: xsi:nil and other xsi attributes are refused, xsi:schemaLocation and
 * xsi:noNamespaceSchemaLocation ignored; a repeated element, or one whose type has no derived
 * types, takes only its declared type.
 *
 * Decoding is streaming: feed bytes in chunks of any size as they arrive.  Decoded messages live
 * in a caller-owned ge_arena_t; the decoder itself is reused across documents so that a steady
 * stream of messages needs no heap allocation. */
#ifndef GRIDEDGE_XML_H
#define GRIDEDGE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gridedge/arena.h>
#include <gridedge/buf.h>
#include <gridedge/log.h>
#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tables (generated; read-only) ------------------------------------------------------------ */

/* How a simple value is held in C. */
typedef enum ge_xml_kind {
    GE_XML_STRING = 0, /* char * (NUL-terminated, arena) */
    GE_XML_BOOL,       /* bool */
    GE_XML_I8, GE_XML_I16, GE_XML_I32, GE_XML_I64,
    GE_XML_U8, GE_XML_U16, GE_XML_U32, GE_XML_U64,
    GE_XML_DOUBLE,     /* double (xs:float, xs:double, xs:decimal) */
    GE_XML_HEX,        /* ge_xml_bytes_t from xs:hexBinary */
    GE_XML_BASE64      /* ge_xml_bytes_t from xs:base64Binary */
} ge_xml_kind;

/* hexBinary / base64Binary content; DATA is NULL when the element is absent. */
typedef struct ge_xml_bytes {
    uint8_t *data;
    size_t len;
} ge_xml_bytes_t;

/* A regular expression (xs:pattern) compiled by the generator into a Thompson NFA. */
typedef struct ge_xml_nfa_state {
    uint8_t op;         /* GE_XML_NFA_* */
    uint8_t negate;     /* for a class: match what is NOT in the ranges */
    uint16_t out, out1; /* next states */
    uint16_t first, n;  /* class: ranges[first .. first+n) */
} ge_xml_nfa_state_t;

enum { GE_XML_NFA_CLASS = 0, GE_XML_NFA_SPLIT = 1, GE_XML_NFA_MATCH = 2 };

typedef struct ge_xml_pattern {
    const char *source;              /* the pattern as written in the schema */
    const ge_xml_nfa_state_t *states;
    uint16_t n_states;
    uint16_t start;
    const uint32_t *ranges;          /* pairs lo, hi (code points, inclusive) */
} ge_xml_pattern_t;

/* Whitespace handling before facets apply (XSD part 2, 4.3.6). */
enum { GE_XML_WS_PRESERVE = 0, GE_XML_WS_REPLACE = 1, GE_XML_WS_COLLAPSE = 2 };

/* ge_xml_stype_t.flags */
enum {
    GE_XML_S_MINLEN = 1, GE_XML_S_MAXLEN = 2, GE_XML_S_DMIN = 4, GE_XML_S_DMAX = 8,
    GE_XML_S_DMIN_EXCL = 16, GE_XML_S_DMAX_EXCL = 32, GE_XML_S_DECIMAL = 64,
    GE_XML_S_LIST = 128 /* an xs:list: space-separated items of members[0], kept as a string */
};

/* A simple type: an XSD built-in narrowed by facets, or a union of simple types. */
typedef struct ge_xml_stype {
    const char *name;     /* "sep:UInt8", "xs:string", ... */
    const char *builtin;  /* the XSD built-in it restricts ("dateTime", "anyURI"...), NULL for a union */
    uint8_t kind;         /* ge_xml_kind */
    uint8_t ws;           /* GE_XML_WS_* */
    uint8_t flags;        /* GE_XML_S_* */
    int64_t imin, imax;   /* integer kinds, signed: the allowed range */
    uint64_t umin, umax;  /* integer kinds, unsigned */
    double dmin, dmax;    /* GE_XML_DOUBLE with GE_XML_S_DMIN/DMAX */
    uint32_t minlen, maxlen; /* characters (strings) or octets (binary) */
    const char *const *enums;
    uint32_t n_enums;
    const ge_xml_pattern_t *const *patterns; /* all must match */
    uint32_t n_patterns;
    const struct ge_xml_stype *const *members; /* union: valid if valid for one member; kind STRING
                                                  (with GE_XML_S_LIST: the item type) */
    uint32_t n_members;
} ge_xml_stype_t;

struct ge_xml_ctype;

/* What a field holds. */
enum {
    GE_XML_F_ELEM = 0,   /* a child element */
    GE_XML_F_ATTR = 1,   /* an attribute */
    GE_XML_F_TEXT = 2,   /* the value of a type with simple content */
    GE_XML_F_OPAQUE = 3  /* a child element kept as raw canonical XML (char *) */
};

#define GE_XML_UNBOUNDED UINT32_MAX
#define GE_XML_NO_AUX UINT32_MAX

typedef struct ge_xml_field {
    const char *name;          /* local name (also the C member name, modulo keywords) */
    uint16_t ns;               /* index into the schema's namespaces; GE_XML_NO_NS = none */
    uint8_t what;              /* GE_XML_F_* */
    uint8_t group;             /* 0, or 1 + index of the choice group this alternative is in */
    uint32_t min, max;         /* occurrences (attributes: min 1 = required) */
    uint32_t off;              /* offset of the value / pointer / array in the struct */
    uint32_t aux;              /* offset of the has_ flag (bool) or the _count (size_t) */
    const ge_xml_stype_t *stype;        /* simple-valued fields */
    const struct ge_xml_ctype *ctype;   /* complex elements */
    const char *fixed;         /* the value the schema fixes, or NULL */
    uint16_t name_len;         /* strlen(name): the decoder matches names by length first */
    uint16_t next_req;         /* elements: the first element after this one that has a minOccurs or is
                                  in a choice with one (n_elems if none); the decoder checks only those
                                  when it leaves elements behind.  0 (a table built by hand): the next.
                                  (Here, in what was padding: the struct stays 64 bytes, a cache line.) */
    uint32_t xsi_off;          /* polymorphic element (maxOccurs 1, its type has derived types): offset
                                  of the NAME_xsi member (const ge_xml_ctype_t *); 0 = not polymorphic */
} ge_xml_field_t;

#define GE_XML_NO_NS 0xFFFFu

/* A choice: between MIN and MAX of its alternatives' occurrences; with MAX 1 only one
 * alternative may be used. */
typedef struct ge_xml_group {
    uint32_t min, max;
    uint16_t first, n;   /* element fields [first, first+n) */
} ge_xml_group_t;

typedef struct ge_xml_ctype {
    const char *name;          /* "sep:DERControl" */
    uint32_t size;             /* sizeof the C struct */
    const ge_xml_field_t *elems;
    uint32_t n_elems;
    const ge_xml_field_t *attrs;
    uint32_t n_attrs;
    const ge_xml_field_t *text; /* simple content, or NULL */
    const ge_xml_group_t *groups;
    uint32_t n_groups;
    bool any_attr;             /* undeclared attributes are allowed (and dropped) */
    const struct ge_xml_ctype *base; /* the type this one extends, or NULL */
    bool abstract;             /* usable only through a derived type named by xsi:type */
} ge_xml_ctype_t;

typedef struct ge_xml_root {
    const char *name;          /* local name */
    uint16_t ns;
    const ge_xml_ctype_t *type;
} ge_xml_root_t;

typedef struct ge_xml_schema {
    const char *name;          /* "sep", "oadr20b" */
    const char *const *ns_uri;
    const char *const *ns_prefix;
    uint16_t n_ns;
    const ge_xml_root_t *roots; /* sorted by (name, ns) */
    uint32_t n_roots;
    const ge_xml_ctype_t *const *types; /* every complex type, sorted by name */
    uint32_t n_types;
    /* per namespace, a second URI the decoder takes as that namespace (NULL: none); the encoder
     * writes ns_uri.  NULL (a table built by hand): no alternatives. */
    const char *const *ns_alt;
    /* the same schema with each namespace's alternative URI as its URI (NULL: none): a decoded
     * message whose document used an alternative URI has it as its schema */
    const struct ge_xml_schema *alt;
} ge_xml_schema_t;

/* The built-in schemas (generated). */
extern const ge_xml_schema_t ge_xml_schema_sep;
extern const ge_xml_schema_t ge_xml_schema_oadr20b;
/* ge_xml_schema_sep.alt: the same roots and types (so SEP_ROOT_* and the structs are shared),
 * but the encoder writes CSIP-AUS v1.3's namespace https://csipaus.org/ns/v1.3 where
 * ge_xml_schema_sep writes v1.2's https://csipaus.org/ns.  Either schema decodes both. */
extern const ge_xml_schema_t ge_xml_schema_sep_alt;

/* The root element named NAME ("DERControl", or "ei:eiEvent" to pick a namespace by its prefix);
 * roots are sorted by local name, so SEP_ROOT_* / OADR_ROOT_* index them directly;
 * NULL if the schema has none. */
const ge_xml_root_t *ge_xml_root_find(const ge_xml_schema_t *schema, const char *name);

/* The built-in schema called NAME ("sep", "oadr20b"), or NULL. */
const ge_xml_schema_t *ge_xml_schema_find(const char *name);

/* The complex type called QNAME in SCHEMA, spelled as in the schema description
 * ("sep:DERControlList", "csipaus:ConnectionPointType"; binary search), or NULL.  Without a
 * prefix ("DERControlList") the first of the schema's namespaces that has such a type is taken.
 * The generated SEP_TYPE_* / OADR_TYPE_* constants index schema->types directly. */
const ge_xml_ctype_t *ge_xml_ctype_find(const ge_xml_schema_t *schema, const char *qname);

/* Is T the type BASE or derived from it (through ->base, any number of steps)? */
bool ge_xml_ctype_is_a(const ge_xml_ctype_t *t, const ge_xml_ctype_t *base);

/* ---- decoded message ------------------------------------------------------------------------------ */

typedef struct ge_xml_msg {
    const ge_xml_schema_t *schema;
    const ge_xml_root_t *root;
    void *value;               /* a struct of TYPE, in the caller's arena */
    const ge_xml_ctype_t *type; /* the type of VALUE: root->type, or a type derived from it that
                                   the root element's xsi:type names.  The encoder takes NULL as
                                   root->type (a message filled in by hand). */
} ge_xml_msg_t;

/* ---- decoder ----------------------------------------------------------------------------------------- */

/* Caps that keep bad input from costing unbounded memory or time.  0 in a field = its default. */
typedef struct ge_xml_limits {
    size_t max_doc_size;       /* bytes of input per document (default 4 MiB) */
    unsigned max_depth;        /* element nesting (default 32) */
    size_t max_elements;       /* elements per document (default 200000) */
    size_t max_string;         /* bytes of one text value or attribute (default 64 KiB) */
    /* expat salts its hash tables against inputs crafted to collide.  0: expat draws a fresh
     * random salt for every document (a getrandom() call each time); otherwise this value is used
     * for every document of the decoder: take it once from your own entropy source. */
    unsigned long hash_salt;
} ge_xml_limits_t;

#define GE_XML_DEFAULT_MAX_DOC_SIZE ((size_t)4 << 20)
#define GE_XML_DEFAULT_MAX_DEPTH 32u
#define GE_XML_DEFAULT_MAX_ELEMENTS ((size_t)200000)
#define GE_XML_DEFAULT_MAX_STRING ((size_t)64 << 10)

/* The first error of a document: where and what. */
typedef struct ge_xml_error {
    int code;                  /* GE_ERR_PARSE, GE_ERR_SCHEMA, GE_ERR_LIMIT, GE_ERR_NOMEM, ... */
    unsigned long line, col;   /* 1-based */
    char msg[256];
} ge_xml_error_t;

typedef struct ge_xml_decoder ge_xml_decoder_t;

/* Create a decoder.  MEM may be NULL (malloc); LIMITS may be NULL (defaults).  LOG may be NULL. */
int ge_xml_decoder_new(ge_xml_decoder_t **out, const ge_mem_t *mem, const ge_xml_limits_t *limits,
                       const ge_log_t *log);

/* Start a new document: decode with SCHEMA (NULL = choose by the root element's namespace) into
 * ARENA (caller-owned; the decoded message stays valid until the arena is reset).  Keeps the
 * parser and scratch memory of earlier documents. */
int ge_xml_decoder_reset(ge_xml_decoder_t *d, const ge_xml_schema_t *schema, ge_arena_t *arena);

/* Feed LEN bytes (chunks of any size); IS_FINAL on the last call (LEN may be 0).  Returns 0 while
 * all is well (after the final chunk: the message is complete), or the negative code of the first
 * error; ge_xml_decoder_error() tells where and why.  After an error, only reset or free. */
int ge_xml_decoder_feed(ge_xml_decoder_t *d, const void *data, size_t len, bool is_final);

/* The decoded message after a successful final feed. */
int ge_xml_decoder_result(const ge_xml_decoder_t *d, ge_xml_msg_t *msg);

/* The first error of the current document (code 0 if none). */
const ge_xml_error_t *ge_xml_decoder_error(const ge_xml_decoder_t *d);

/* Heap allocations the decoder has made since it was created (for benchmarks and tests). */
unsigned long ge_xml_decoder_heap_allocs(const ge_xml_decoder_t *d);

void ge_xml_decoder_free(ge_xml_decoder_t *d);

/* reset + one final feed + result. */
int ge_xml_decode(ge_xml_decoder_t *d, const ge_xml_schema_t *schema, ge_arena_t *arena,
                  const void *data, size_t len, ge_xml_msg_t *msg);

/* ---- encoder -------------------------------------------------------------------------------------- */

/* Write VALUE (a struct of ROOT's type) as canonical XML: the root element declares the
 * namespaces used (the root's as default namespace, others with the schema's prefixes, xsi when
 * an element carries xsi:type), elements in schema order, no insignificant whitespace, no XML
 * declaration.  The value is checked against
 * the schema first (required fields, counts, facets): GE_ERR_SCHEMA if it breaks it, with ERR
 * (may be NULL) saying where; GE_ERR_LIMIT if OUT is full.  OUT is appended to. */
int ge_xml_encode(ge_buf_t *out, const ge_xml_schema_t *schema, const ge_xml_root_t *root,
                  const void *value, ge_xml_error_t *err);

/* The same for a decoded message; VALUE is a struct of msg->type (NULL: msg->root->type), which
 * the root element then names with xsi:type when it is a type derived from the root's. */
int ge_xml_encode_msg(ge_buf_t *out, const ge_xml_msg_t *msg, ge_xml_error_t *err);

/* Write the message as JSON: {"ROOT": {...}}, elements by local name (prefixed "pfx:" when not
 * in the root's namespace), attributes as "@name", simple content as "$", repeated elements as
 * arrays, numbers and booleans as JSON values, binary as hex strings, opaque parts as XML strings;
 * an element (or the root) of a type derived from its declared one starts with
 * "@xsi:type": "DERControlList" (the type's local name, "pfx:Local" outside the root's namespace). */
int ge_xml_to_json(ge_buf_t *out, const ge_xml_msg_t *msg);

/* ---- single values (used by the engines and tests) ------------------------------------------------ */

/* Check TEXT (LEN bytes as in the document; whitespace is normalized in place, so TEXT is
 * modified) against simple type T and, if VALUE is not NULL, store it there (VALUE points at
 * storage of T's C type; strings and bytes are copied into ARENA).  Returns 0, GE_ERR_SCHEMA with a
 * message in MSG (MSG may be NULL), or GE_ERR_NOMEM/GE_ERR_LIMIT from the arena. */
int ge_xml_parse_value(const ge_xml_stype_t *t, char *text, size_t len, ge_arena_t *arena,
                       void *value, char *msg, size_t msg_size);

/* Check a value held in C (as ge_xml_parse_value() stores it) against T's facets. */
int ge_xml_check_value(const ge_xml_stype_t *t, const void *value, char *msg, size_t msg_size);

/* Append VALUE's canonical lexical form to OUT, unescaped. */
int ge_xml_format_value(ge_buf_t *out, const ge_xml_stype_t *t, const void *value);

/* Does TEXT (NUL-terminated UTF-8) match pattern P as a whole? 1 yes, 0 no, GE_ERR_LIMIT if the
 * input is too long to check (over 64 KiB). */
int ge_xml_pattern_match(const ge_xml_pattern_t *p, const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
