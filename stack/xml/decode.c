/* decode.c - the streaming, table-driven decoder: expat events in, typed structs in the caller's
 * arena out.  It enforces element order and multiplicity (a sequence is walked with a cursor over
 * the type's fields, a choice is a group of alternatives), attributes and every facet; refuses
 * DOCTYPE and entities (so no entity expansion can happen: billion laughs, external entities);
 * decodes an element whose xsi:type names a derived type by that type's rules;
 * resolves namespace prefixes itself (expat runs without namespace processing, which is cheaper);
 * bounds document size, depth, element count and text length; and keeps the first error with its
 * line and column.  The parser, the frame stack and the scratch lists are kept across documents
 * (XML_ParserReset), and expat's own memory comes from free lists kept across documents too (expat_mem.c),
 * so a steady stream of messages costs no heap allocation here. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include <gridedge/error.h>
#include <gridedge/xml.h>

#include "xml_internal.h"

#define NONE UINT32_MAX
static const char XSI_NS[] = "http://www.w3.org/2001/XMLSchema-instance";
static const char XML_NS[] = "http://www.w3.org/XML/1998/namespace";
static const char XMLNS_NS[] = "http://www.w3.org/2000/xmlns/";

enum { FR_COMPLEX, FR_SIMPLE, FR_OPAQUE };
enum { NSC_SIZE = 4 };
/* The parser between documents (see ge_xml_decoder.pstate). */
enum { P_FRESH, P_STREAM, P_USED };
/* The wrapper element documents are fed into (see ge_xml_decoder.pstate). */
static const char WRAPPER[] = "<_>";
/* Above this many bytes of small blocks in expat (its tables of names) the parser starts afresh
 * before the next document: names in prefixes or in opaque content are the document's to choose. */
#define STREAM_MEM_MAX ((size_t)256 << 10)
/* Documents whose first chunk is larger than this are parsed alone: in the wrapper, expat counts
 * lines over all of a call's bytes when the call returns (it skips that only in a document's last
 * call), about 10 instructions a byte, which is more than a reset costs beyond 1.5 KiB or so. */
#define STREAM_FIRST_MAX ((size_t)1536)

typedef struct qname {
    const char *uri;   /* not NUL-terminated; "" when none */
    size_t urilen;
    const char *local;
    size_t loclen;
    uint16_t ns;       /* the schema's index of URI (see resolve_ns()) */
    const char *value; /* an attribute's value */
} qname_t;

/* A namespace declaration in scope: "prefix\0uri\0" at OFF in d->nsdecl (prefix "" for the
 * default namespace), made on the element at LEVEL; NS is the URI's index in SCHEMA. */
typedef struct nsbind {
    size_t off, plen, ulen;
    unsigned level;
    const ge_xml_schema_t *schema;
    uint16_t ns;
} nsbind_t;

typedef struct frame {
    const ge_xml_ctype_t *type;  /* FR_COMPLEX: the element's type */
    const ge_xml_field_t *field; /* the parent's field this element fills (NULL for the root) */
    void *obj;                   /* FR_COMPLEX: the struct being filled */
    uint32_t cur;                /* index of the element field matched last */
    uint32_t cbase;              /* this frame's occurrence counters in d->counts */
    uint32_t list;               /* element field whose items are collected in scratch, or NONE */
    size_t lbase;                /* where that list starts in scratch */
    unsigned long line, col;     /* of the start tag; line 0: not computed yet, see frame_pos() */
    XML_Index pos;               /* byte index of the start tag */
    uint8_t kind;
} frame_t;

struct ge_xml_decoder {
    const ge_mem_t *mem;
    ge_mem_t counting;           /* MEM, counting allocations */
    unsigned long heap_allocs;
    ge_xml_limits_t lim;
    const ge_log_t *log;
    XML_Parser parser;
    ge__xml_pool_t *pool;        /* the memory expat uses (expat_mem.c) */
    const ge_xml_schema_t *want; /* NULL = by namespace */
    const ge_xml_schema_t *schema;
    const ge_xml_schema_t *alt_seen; /* SCHEMA when a name used one of its alternative URIs */
    ge_arena_t *arena;
    frame_t *frames;             /* max_depth entries */
    unsigned depth;
    uint32_t *counts;
    size_t ncounts, capcounts;
    unsigned char *scratch;      /* list items while their parent is open */
    size_t scrlen, scrcap;
    char *text;                  /* the current text value */
    size_t textlen, textcap;
    /* A text value that came in one piece is not copied: TPTR points at it in expat's buffer
     * (TLEN bytes, textlen 0), which stays put until XML_Parse returns; it is copied into TEXT
     * when more text follows or the call ends.  BUF_LO..BUF_HI: that buffer in this call, found
     * on first use (0: not yet).  Other text (a character reference, a newline, converted
     * input) arrives in expat's scratch space and is copied at once. */
    const char *tptr;
    size_t tlen;
    uintptr_t buf_lo, buf_hi;
    ge_buf_t raw;                /* the current opaque element, as canonical XML */
    unsigned opaque_depth;
    ge_buf_t rawns;              /* namespace URIs of the open opaque elements, NUL-separated */
    size_t *rawns_off;           /* where each one starts (max_depth entries) */
    size_t raw_open;             /* raw.len just after the last start tag, to write <x/> */
    /* Expat runs without namespace processing (it costs it a seventh of its time); names are
     * resolved here with the declarations in scope, innermost last.  Documents declare
     * namespaces on a few elements, usually the root. */
    ge_buf_t nsdecl;
    nsbind_t *bind;
    size_t n_bind, cap_bind;
    unsigned bind_level;         /* the innermost declaration's level (0: none) */
    size_t def;                  /* 1 + the index of the innermost default namespace's, 0 if none */
    unsigned open;               /* elements open, the current one included */
    qname_t *atq;                /* the current start tag's attributes, resolved */
    size_t n_atq, cap_atq;
    size_t fed, elements;
    bool started, done, failed;
    /* Between documents the parser is either reset (XML_ParserReset), or it stays open inside a
     * wrapper element of ours and takes the next document as the wrapper's content.  The second
     * is what most messages get (see stream_prefix()): expat then keeps its table of element and
     * attribute names from one document to the next, which a reset would empty for the document to
     * fill again, a sixth of the time of a small message.  The decoder itself checks what expat no
     * longer can in the wrapper: a single root, nothing but whitespace, comments and PIs outside it,
     * the document not ending inside a token.  Positions are made the document's own again. */
    uint8_t pstate;              /* P_FRESH (new or reset), P_STREAM (wrapper open), P_USED */
    bool stream_doc;             /* this document is fed into the wrapper */
    bool clean_end;              /* ... and ended with nothing left in expat (the next may follow) */
    XML_Index stream_fed;        /* bytes given to expat since the wrapper opened */
    unsigned long base_line, base_col; /* expat's line (from 1) and column (from 0) where it begins */
    unsigned long pre_lines, pre_col;  /* lines and last column of what was left out of it */
    struct {
        char uri[120];
        size_t len;
        uint16_t ns;
    } nsc[NSC_SIZE];             /* resolve_ns() cache for the current schema */
    unsigned nsc_n, nsc_next;
    /* Positions of start tags are needed only for errors found at their end tag.  In the last
     * XML_Parse call of a document expat keeps all of the call's input in its buffer, so there a
     * start tag records only its byte index, and line:col are counted from an anchor when an
     * error needs them (expat itself counts positions only when asked, and asking at every start
     * tag would be a second pass over the document).  Counting bytes needs a UTF-8 document. */
    bool final_call;             /* inside the last XML_Parse call of the document */
    bool utf8;                   /* the document's bytes are UTF-8 (or ASCII) */
    bool anchored;               /* anchor_* hold a position in the last call's buffer */
    XML_Index anchor_pos;
    unsigned long anchor_line, anchor_col;
    ge_xml_msg_t result;
    ge_xml_error_t err;
};

/* ---- allocation ------------------------------------------------------------------------------------ */

static void *cm_malloc(size_t n, void *ud)
{
    ge_xml_decoder_t *d = ud;
    d->heap_allocs++;
    return d->mem->malloc(n, d->mem->ud);
}

static void *cm_realloc(void *p, size_t n, void *ud)
{
    ge_xml_decoder_t *d = ud;
    d->heap_allocs++;
    return d->mem->realloc(p, n, d->mem->ud);
}

static void cm_free(void *p, void *ud)
{
    ge_xml_decoder_t *d = ud;
    d->mem->free(p, d->mem->ud);
}

static int grow(ge_xml_decoder_t *d, void **p, size_t *cap, size_t need, size_t unit)
{
    size_t ncap = *cap ? *cap : 64;
    void *np;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    np = d->counting.realloc(*p, ncap * unit, d->counting.ud);
    if (!np)
        return GE_ERR_NOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- errors ------------------------------------------------------------------------------------------ */

/* Errors are rare: their code stays out of the way of the handlers' (cold). */
static void verror_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col, const char *fmt,
                      va_list ap) __attribute__((cold, format(printf, 5, 0)));
static void verror_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col, const char *fmt,
                      va_list ap)
{
    if (d->failed)
        return;
    d->failed = true;
    d->err.code = code;
    d->err.line = line;
    d->err.col = col;
    vsnprintf(d->err.msg, sizeof(d->err.msg), fmt, ap);
    ge_log(d->log, GE_LOG_DEBUG, "xml", "%lu:%lu: %s", line, col, d->err.msg);
    XML_StopParser(d->parser, XML_FALSE);
}

static void set_error_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col,
                         const char *fmt, ...) __attribute__((cold, format(printf, 5, 6)));
static void set_error_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col,
                         const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verror_at(d, code, line, col, fmt, ap);
    va_end(ap);
}

/* Where expat is, in the document (see ge_xml_decoder.pstate): line and column from 1. */
static unsigned long cur_line(ge_xml_decoder_t *d)
{
    unsigned long l = (unsigned long)XML_GetCurrentLineNumber(d->parser);

    return d->stream_doc ? l - d->base_line + 1 + d->pre_lines : l;
}

static unsigned long cur_col(ge_xml_decoder_t *d)
{
    unsigned long c = (unsigned long)XML_GetCurrentColumnNumber(d->parser);

    if (d->stream_doc && (unsigned long)XML_GetCurrentLineNumber(d->parser) == d->base_line)
        c = c - d->base_col + d->pre_col;
    return c + 1;
}

/* An error where expat is. */
static void fail_here(ge_xml_decoder_t *d, int code, const char *fmt, ...) __attribute__((cold, format(printf, 3, 4)));
static void fail_here(ge_xml_decoder_t *d, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verror_at(d, code, cur_line(d), cur_col(d), fmt, ap);
    va_end(ap);
}

#define FAIL(d, code, ...) fail_here((d), (code), __VA_ARGS__)

/* Note where the start tag of FR is (see ge_xml_decoder.final_call). */
static void mark_pos_slow(ge_xml_decoder_t *d, frame_t *fr)
{
    if (d->final_call && d->utf8) {
        int off, size;
        if (!XML_GetInputContext(d->parser, &off, &size)) {
            d->utf8 = false; /* an expat without XML_CONTEXT_BYTES: count positions eagerly */
            fr->line = cur_line(d);
            fr->col = cur_col(d);
            return;
        }
        d->anchored = true;
        d->anchor_pos = XML_GetCurrentByteIndex(d->parser);
        d->anchor_line = cur_line(d);
        d->anchor_col = cur_col(d);
        fr->line = d->anchor_line;
        fr->col = d->anchor_col;
        return;
    }
    fr->line = cur_line(d);
    fr->col = cur_col(d);
}

static inline void mark_pos(ge_xml_decoder_t *d, frame_t *fr)
{
    if (d->anchored && d->final_call && d->utf8) { /* the common case: a byte index */
        fr->line = 0;
        fr->pos = XML_GetCurrentByteIndex(d->parser);
        return;
    }
    mark_pos_slow(d, fr);
}

/* Line and column of FR's start tag: counted forward from the anchor over expat's buffer the way
 * expat counts (a column per character; CR, LF and CR LF end a line). */
static void frame_pos(ge_xml_decoder_t *d, const frame_t *fr, unsigned long *line, unsigned long *col)
{
    int off = 0, size = 0;
    const char *buf;
    XML_Index base;

    *line = fr->line;
    *col = fr->col;
    if (fr->line)
        return;
    buf = XML_GetInputContext(d->parser, &off, &size);
    base = XML_GetCurrentByteIndex(d->parser) - off;
    if (!buf || d->anchor_pos < base || fr->pos < d->anchor_pos || fr->pos - base > size) {
        /* not expected: expat keeps the whole last call in its buffer; say where we are */
        *line = cur_line(d);
        *col = cur_col(d);
        return;
    }
    *line = d->anchor_line;
    *col = d->anchor_col;
    for (const char *p = buf + (d->anchor_pos - base), *end = buf + (fr->pos - base); p < end; p++) {
        if (*p == '\n' || *p == '\r') {
            if (*p == '\r' && p + 1 < end && p[1] == '\n')
                p++;
            ++*line;
            *col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

static void fail_alloc(ge_xml_decoder_t *d, int rc)
{
    if (rc == GE_ERR_LIMIT)
        FAIL(d, rc, "decoded message is larger than the arena allows");
    else
        FAIL(d, rc ? rc : GE_ERR_NOMEM, "out of memory");
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Expat's error E where it is.  Past the root a document alone and one in the wrapper (see
 * ge_xml_decoder.pstate) get different verdicts from expat for the same bytes (its epilog is not
 * the wrapper's content: a quote there opens a literal, say): anything wrong there is "junk after
 * document element", the verdict expat gives most of it. */
static void parse_error(ge_xml_decoder_t *d, enum XML_Error e, unsigned long col_off)
{
    if (d->done && e != XML_ERROR_NO_MEMORY)
        e = XML_ERROR_JUNK_AFTER_DOC_ELEMENT;
    set_error_at(d, e == XML_ERROR_NO_MEMORY ? GE_ERR_NOMEM : GE_ERR_PARSE, cur_line(d), cur_col(d) + col_off,
                 "not well-formed XML: %s", XML_ErrorString(e));
}

/* Something past the root that expat allows in the wrapper, COL_OFF characters from where expat is. */
static void outside(ge_xml_decoder_t *d, unsigned long col_off)
{
    parse_error(d, XML_ERROR_JUNK_AFTER_DOC_ELEMENT, col_off);
}

/* ---- names ------------------------------------------------------------------------------------------- */

#define NS_UNKNOWN 0xFFFEu /* a namespace the schema does not know */

static void resolve_ns(ge_xml_decoder_t *d, qname_t *q);

/* Is the attribute NAME a namespace declaration (xmlns or xmlns:PREFIX)? */
static inline bool is_xmlns(const char *name)
{
    return name[0] == 'x' && strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':');
}

/* The innermost binding of PREFIX (PLEN bytes; "" = the default namespace), or NULL. */
static nsbind_t *binding(ge_xml_decoder_t *d, const char *prefix, size_t plen)
{
    for (size_t i = d->n_bind; i-- > 0;) {
        nsbind_t *b = &d->bind[i];
        if (b->plen == plen && memcmp(d->nsdecl.data + b->off, prefix, plen) == 0)
            return b;
    }
    return NULL;
}

/* Declare the namespaces of the start tag's xmlns attributes (ATTS), checking them as
 * Namespaces in XML 1.0 does.  false after an error. */
static bool declare_ns(ge_xml_decoder_t *d, const char **atts)
{
    for (size_t i = 0; atts[i]; i += 2) {
        const char *name = atts[i], *uri = atts[i + 1], *prefix;
        size_t plen, ulen;
        bool is_xml_uri, is_xmlns_uri;
        nsbind_t *b;
        int rc;

        if (!is_xmlns(name))
            continue;
        prefix = name[5] ? name + 6 : "";
        plen = strlen(prefix);
        ulen = strlen(uri);
        is_xml_uri = ulen == sizeof(XML_NS) - 1 && memcmp(uri, XML_NS, ulen) == 0;
        is_xmlns_uri = ulen == sizeof(XMLNS_NS) - 1 && memcmp(uri, XMLNS_NS, ulen) == 0;
        if (name[5] && (!plen || strchr(prefix, ':'))) {
            FAIL(d, GE_ERR_PARSE, "namespace declaration '%s' does not name a valid prefix", name);
            return false;
        }
        if ((plen == 5 && memcmp(prefix, "xmlns", 5) == 0) || is_xmlns_uri) {
            FAIL(d, GE_ERR_PARSE, "reserved prefix (xmlns) must not be declared or undeclared");
            return false;
        }
        if ((plen == 3 && memcmp(prefix, "xml", 3) == 0) != is_xml_uri) {
            FAIL(d, GE_ERR_PARSE, "reserved prefix (xml) must not be undeclared or bound to another namespace name");
            return false;
        }
        if (plen && !ulen) {
            FAIL(d, GE_ERR_PARSE, "prefix '%s' must not be undeclared (xmlns:%s=\"\")", prefix, prefix);
            return false;
        }
        if (d->n_bind == d->cap_bind && grow(d, (void **)&d->bind, &d->cap_bind, d->n_bind + 1, sizeof(nsbind_t)) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return false;
        }
        if ((rc = ge_buf_reserve(&d->nsdecl, plen + ulen + 2)) < 0) {
            if (rc == GE_ERR_LIMIT)
                FAIL(d, rc, "namespace declarations in scope exceed %zu bytes", d->lim.max_doc_size);
            else
                fail_alloc(d, rc);
            return false;
        }
        b = &d->bind[d->n_bind++];
        b->off = d->nsdecl.len;
        b->plen = plen;
        b->ulen = ulen;
        b->level = d->open;
        d->bind_level = d->open;
        b->schema = NULL;
        memcpy(d->nsdecl.data + b->off, prefix, plen + 1);
        memcpy(d->nsdecl.data + b->off + plen + 1, uri, ulen + 1);
        d->nsdecl.len += plen + ulen + 2;
        if (!plen)
            d->def = d->n_bind;
    }
    return true;
}

/* The end tag of the element at level d->open: its declarations go out of scope. */
static void undeclare_ns(ge_xml_decoder_t *d)
{
    bool def = false;

    while (d->n_bind && d->bind[d->n_bind - 1].level == d->open) {
        def |= d->bind[--d->n_bind].plen == 0;
        d->nsdecl.len = d->bind[d->n_bind].off;
    }
    d->bind_level = d->n_bind ? d->bind[d->n_bind - 1].level : 0;
    if (def) {
        d->def = 0;
        for (size_t i = d->n_bind; i-- > 0 && !d->def;)
            if (!d->bind[i].plen)
                d->def = i + 1;
    }
}

/* Does a name of N bytes at S (N >= 8) have a ':' in its first eight bytes?  A hint only, for a
 * prefix of up to seven characters: a byte of X is zero where S has a colon, and (X - 1s) & ~X
 * flags the high bit of some byte exactly when one is. */
static inline bool colon_ahead(const char *s)
{
    const uint64_t ones = 0x0101010101010101u;
    uint64_t x;

    memcpy(&x, s, 8);
    x ^= ones * ':';
    return ((x - ones) & ~x & ones * 0x80) != 0;
}

/* Q's namespace is declaration B's: its URI, and its index in the current schema (resolved once
 * per declaration, then names are matched by comparing integers). */
static inline void bound_ns(ge_xml_decoder_t *d, nsbind_t *b, qname_t *q)
{
    q->uri = d->nsdecl.data + b->off + b->plen + 1;
    q->urilen = b->ulen;
    if (b->schema != d->schema) {
        resolve_ns(d, q);
        b->ns = q->ns;
        b->schema = d->schema;
    }
    q->ns = b->ns;
}

/* Q's namespace when Q is an unprefixed element name: the innermost default declaration's (its
 * schema index resolved once per declaration), or none (Q's uri "", GE_XML_NO_NS). */
static inline void default_ns(ge_xml_decoder_t *d, qname_t *q)
{
    q->uri = "";
    q->urilen = 0;
    q->ns = GE_XML_NO_NS;
    if (!d->def)
        return;
    bound_ns(d, &d->bind[d->def - 1], q);
}

/* NAME, a QName as expat reports it without namespace processing, split and resolved with the
 * declarations in scope (ATTR: an unprefixed attribute has no namespace), with the namespace's
 * index in the current schema (NS_UNKNOWN if it has none).  false after an error. */
static inline __attribute__((always_inline)) bool qresolve(ge_xml_decoder_t *d, const char *name, bool attr,
                                                           qname_t *q)
{
    size_t n = strlen(name);
    const char *colon = memchr(name, ':', n);
    nsbind_t *b;

    if (colon && (colon == name || !colon[1] || memchr(colon + 1, ':', n - (size_t)(colon - name) - 1))) {
        FAIL(d, GE_ERR_PARSE, "'%s' is not a valid qualified name", name);
        return false;
    }
    q->local = colon ? colon + 1 : name;
    q->loclen = (size_t)(name + n - q->local);
    q->uri = "";
    q->urilen = 0;
    q->ns = GE_XML_NO_NS;
    if (!colon && attr)
        return true;
    if (!colon) {
        default_ns(d, q);
        return true;
    }
    b = binding(d, name, (size_t)(colon - name));
    if (!b) {
        if (colon - name == 3 && memcmp(name, "xml", 3) == 0) {
            q->uri = XML_NS;
            q->urilen = sizeof(XML_NS) - 1;
            q->ns = NS_UNKNOWN;
            return true;
        }
        FAIL(d, GE_ERR_PARSE, "prefix '%.*s' of '%s' is not declared", (int)(colon - name), name, name);
        return false;
    }
    bound_ns(d, b, q);
    return true;
}

/* Are A and B the same expanded name? */
static inline bool same_name(const qname_t *a, const qname_t *b)
{
    return a->loclen == b->loclen && a->urilen == b->urilen && memcmp(a->local, b->local, a->loclen) == 0 &&
           memcmp(a->uri, b->uri, a->urilen) == 0;
}

/* The attributes of a start tag, resolved (namespace declarations left out) into d->atq, with
 * their values; an expanded name twice is an error, as in Namespaces in XML.  false after an
 * error.  d->n_atq of them. */
static bool resolve_atts(ge_xml_decoder_t *d, const char **atts)
{
    size_t n = 0, prefixed = 0;

    d->n_atq = 0;
    for (size_t i = 0; atts[i]; i += 2)
        n++;
    if (n > d->cap_atq && grow(d, (void **)&d->atq, &d->cap_atq, n, sizeof(qname_t)) < 0) {
        fail_alloc(d, GE_ERR_NOMEM);
        return false;
    }
    for (size_t i = 0; atts[i]; i += 2) {
        qname_t *q = &d->atq[d->n_atq];
        if (is_xmlns(atts[i]))
            continue;
        if (!qresolve(d, atts[i], true, q))
            return false;
        q->value = atts[i + 1];
        if (q->urilen) {
            /* expat saw no two attributes with one QName; two prefixes of one URI can still clash */
            for (size_t j = 0; prefixed && j < d->n_atq; j++)
                if (same_name(&d->atq[j], q)) {
                    FAIL(d, GE_ERR_PARSE, "duplicate attribute '%s'", atts[i]);
                    return false;
                }
            prefixed++;
        }
        d->n_atq++;
    }
    return true;
}

/* Is the URI of LEN bytes at URI namespace N of S's alternative URI? */
static bool ns_is_alt(const ge_xml_schema_t *s, uint16_t n, const char *uri, size_t len)
{
    const char *alt = s->ns_alt ? s->ns_alt[n] : NULL;

    return alt && strlen(alt) == len && memcmp(alt, uri, len) == 0;
}

/* Is the URI of LEN bytes at URI namespace N of S, by its URI or its alternative? */
static bool ns_matches(const ge_xml_schema_t *s, uint16_t n, const char *uri, size_t len)
{
    return (strlen(s->ns_uri[n]) == len && memcmp(s->ns_uri[n], uri, len) == 0) || ns_is_alt(s, n, uri, len);
}

/* Q's namespace as an index into the current schema's namespaces (GE_XML_NO_NS for none,
 * NS_UNKNOWN if the schema has no such namespace).  A document uses a handful of namespaces:
 * the last few are cached so that names are then matched by comparing integers (an alternative
 * URI is cached like any other: it costs one more comparison on a miss only). */
static void resolve_ns(ge_xml_decoder_t *d, qname_t *q)
{
    const ge_xml_schema_t *s = d->schema;
    unsigned k;

    if (!q->urilen) {
        q->ns = GE_XML_NO_NS;
        return;
    }
    for (k = 0; k < d->nsc_n; k++)
        if (d->nsc[k].len == q->urilen && memcmp(d->nsc[k].uri, q->uri, q->urilen) == 0) {
            q->ns = d->nsc[k].ns;
            return;
        }
    q->ns = NS_UNKNOWN;
    for (uint16_t n = 0; n < s->n_ns; n++)
        if (ns_matches(s, n, q->uri, q->urilen)) {
            q->ns = n;
            if (ns_is_alt(s, n, q->uri, q->urilen))
                d->alt_seen = s; /* a miss: once per URI and document at most */
            break;
        }
    if (q->urilen <= sizeof(d->nsc[0].uri)) {
        k = d->nsc_n < NSC_SIZE ? d->nsc_n++ : d->nsc_next++ % NSC_SIZE;
        memcpy(d->nsc[k].uri, q->uri, q->urilen);
        d->nsc[k].len = q->urilen;
        d->nsc[k].ns = q->ns;
    }
}

/* Are the N bytes at A and B equal?  Names are short: compared a word at a time (the last word
 * overlapping the one before it), never reading past either end, and without a call to memcmp. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        size_t i;
        for (i = 0; i + 8 <= n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        if (i == n)
            return true;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x1, y1, x2, y2;
        memcpy(&x1, a, 4);
        memcpy(&y1, b, 4);
        memcpy(&x2, a + n - 4, 4);
        memcpy(&y2, b + n - 4, 4);
        return x1 == y1 && x2 == y2;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Does Q (resolved) name field F? */
static inline bool field_is(const ge_xml_field_t *f, const qname_t *q)
{
    return f->name_len == q->loclen && f->ns == q->ns && same_bytes(f->name, q->local, q->loclen);
}

const char *ge__xml_ns_uri(const ge_xml_schema_t *s, uint16_t ns)
{
    return ns == GE_XML_NO_NS || ns >= s->n_ns ? "" : s->ns_uri[ns];
}

static bool name_is(const ge_xml_schema_t *s, const qname_t *q, const char *local, uint16_t ns)
{
    if (q->local[0] != local[0] || strcmp(q->local, local) != 0)
        return false;
    if (ns == GE_XML_NO_NS || ns >= s->n_ns)
        return q->urilen == 0;
    return ns_matches(s, ns, q->uri, q->urilen);
}

/* The root element Q of schema S: roots are sorted by local name (binary search). */
static const ge_xml_root_t *find_root(const ge_xml_schema_t *s, const qname_t *q)
{
    uint32_t lo = 0, hi = s->n_roots;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->roots[mid].name, q->local) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < s->n_roots && strcmp(s->roots[lo].name, q->local) == 0; lo++)
        if (name_is(s, q, s->roots[lo].name, s->roots[lo].ns))
            return &s->roots[lo];
    return NULL;
}

/* "pfx:local" of a field for messages. */
static const char *fname(const ge_xml_schema_t *s, const ge_xml_field_t *f, char *buf, size_t size)
{
    if (f->ns == GE_XML_NO_NS || f->ns >= s->n_ns)
        snprintf(buf, size, "%s", f->name);
    else
        snprintf(buf, size, "%s:%s", s->ns_prefix[f->ns], f->name);
    return buf;
}

/* The element name of frame FR for messages. */
static const char *frname(ge_xml_decoder_t *d, const frame_t *fr, char *buf, size_t size)
{
    if (fr->field)
        return fname(d->schema, fr->field, buf, size);
    snprintf(buf, size, "%s:%s", d->schema->ns_prefix[d->result.root->ns], d->result.root->name);
    return buf;
}

/* ---- lists --------------------------------------------------------------------------------------------- */

static int flush_list(ge_xml_decoder_t *d, frame_t *fr)
{
    const ge_xml_field_t *f;
    size_t isz, n, old;
    unsigned char *arr, *base = fr->obj;
    void **slot;
    size_t *count;

    if (fr->list == NONE)
        return 0;
    f = &fr->type->elems[fr->list];
    isz = ge__xml_item_size(f);
    n = (d->scrlen - fr->lbase) / isz;
    slot = (void **)(base + f->off);
    count = (size_t *)(base + f->aux);
    old = *count;
    /* items of one field may come in runs when a repeated choice interleaves alternatives */
    arr = ge_arena_alloc(d->arena, (old + n) * isz, 0);
    if (!arr)
        return ge_arena_error(d->arena);
    if (old)
        memcpy(arr, *slot, old * isz);
    memcpy(arr + old * isz, d->scratch + fr->lbase, n * isz);
    *slot = arr;
    *count = old + n;
    d->scrlen = fr->lbase;
    fr->list = NONE;
    return 0;
}

/* Store one item of field IDX of frame FR: VAL points at ge__xml_item_size() bytes. */
/* store_item() for a repeated field: the item goes to the scratch list flushed at the parent's end. */
static int store_list_item(ge_xml_decoder_t *d, frame_t *fr, uint32_t idx, const void *val, size_t isz)
{
    int rc;

    if (fr->list != idx) {
        if ((rc = flush_list(d, fr)) < 0)
            return rc;
        fr->list = idx;
        fr->lbase = d->scrlen;
    }
    if ((rc = grow(d, (void **)&d->scratch, &d->scrcap, d->scrlen + isz, 1)) < 0)
        return rc;
    memcpy(d->scratch + d->scrlen, val, isz);
    d->scrlen += isz;
    return 0;
}

/* Store VAL (a value, or a pointer to a child) in field IDX of FR's object. */
static inline __attribute__((always_inline)) int store_item(ge_xml_decoder_t *d, frame_t *fr, uint32_t idx,
                                                             const void *val)
{
    const ge_xml_field_t *f = &fr->type->elems[idx];
    size_t isz = ge__xml_item_size(f);

    if (f->max <= 1) {
        unsigned char *dst = (unsigned char *)fr->obj + f->off;
        switch (isz) { /* constant sizes: no call to memcpy */
        case 1: memcpy(dst, val, 1); break;
        case 2: memcpy(dst, val, 2); break;
        case 4: memcpy(dst, val, 4); break;
        case 8: memcpy(dst, val, 8); break;
        default: memcpy(dst, val, isz); break;
        }
        if (f->aux != GE_XML_NO_AUX)
            *(bool *)((unsigned char *)fr->obj + f->aux) = true;
        return 0;
    }
    return store_list_item(d, fr, idx, val, isz);
}

/* ---- content model ------------------------------------------------------------------------------------ */

static const ge_xml_group_t *group_of(const ge_xml_ctype_t *t, const ge_xml_field_t *f)
{
    return f->group ? &t->groups[f->group - 1] : NULL;
}

/* The decoder walks the field tables: a field is one cache line on 64-bit targets. */
_Static_assert(sizeof(void *) != 8 || sizeof(ge_xml_field_t) == 64, "ge_xml_field_t grew past 64 bytes");

/* The field after K that leaving behind can find short (ge_xml_field_t.next_req). */
static inline uint32_t next_req(const ge_xml_ctype_t *t, uint32_t k)
{
    uint32_t n = t->elems[k].next_req;
    return n > k ? n : k + 1;
}

static uint32_t group_total(const ge_xml_group_t *g, const uint32_t *counts)
{
    uint32_t n = 0;
    for (uint16_t k = 0; k < g->n; k++)
        n += counts[g->first + k];
    return n;
}

/* Q as "prefix:local" when the schema knows its namespace, else "uri local" (for messages). */
static const char *qdisplay(const ge_xml_schema_t *s, const qname_t *q, char *c, size_t size)
{
    if (q->urilen)
        snprintf(c, size, "%.*s %s", (int)q->urilen, q->uri, q->local);
    else
        snprintf(c, size, "%s", q->local);
    for (uint16_t n = 0; n < s->n_ns; n++)
        if (ns_matches(s, n, q->uri, q->urilen)) {
            snprintf(c, size, "%s:%s", s->ns_prefix[n], q->local);
            break;
        }
    return c;
}

/* Can the walk leave field K (or K's group) behind?  Reports the missing element if not. */
static bool leave_ok(ge_xml_decoder_t *d, frame_t *fr, uint32_t k, const qname_t *next)
{
    char nb[160];
    const char *before;
    const ge_xml_ctype_t *t = fr->type;
    const ge_xml_field_t *f = &t->elems[k];
    const uint32_t *counts = d->counts + fr->cbase;
    const ge_xml_group_t *g = group_of(t, f);
    char a[96], b[96];

    if (g ? !(g->min > 0 && group_total(g, counts) < g->min) : counts[k] >= f->min)
        return true;
    before = next ? qdisplay(d->schema, next, nb, sizeof(nb)) : NULL;
    if (g) {
        if (g->min > 0 && group_total(g, counts) < g->min) {
            if (before)
                FAIL(d, GE_ERR_SCHEMA, "missing required element '%s' (or another choice) before '%s' in '%s'",
                     fname(d->schema, f, a, sizeof(a)), before, frname(d, fr, b, sizeof(b)));
            else
                FAIL(d, GE_ERR_SCHEMA, "missing required element '%s' (or another choice) in '%s'",
                     fname(d->schema, f, a, sizeof(a)), frname(d, fr, b, sizeof(b)));
            return false;
        }
        return true;
    }
    if (counts[k] < f->min) {
        if (counts[k] > 0)
            FAIL(d, GE_ERR_SCHEMA, "element '%s' occurs %u times in '%s', fewer than minOccurs %u",
                 fname(d->schema, f, a, sizeof(a)), (unsigned)counts[k], frname(d, fr, b, sizeof(b)),
                 (unsigned)f->min);
        else if (before)
            FAIL(d, GE_ERR_SCHEMA, "missing required element '%s' before '%s' in '%s'",
                 fname(d->schema, f, a, sizeof(a)), before, frname(d, fr, b, sizeof(b)));
        else
            FAIL(d, GE_ERR_SCHEMA, "missing required element '%s' in '%s'",
                 fname(d->schema, f, a, sizeof(a)), frname(d, fr, b, sizeof(b)));
        return false;
    }
    return true;
}

/* Where the search for FR's next child element begins: the cursor, or the first alternative of
 * the cursor's choice. */
static inline uint32_t scan_start(const frame_t *fr)
{
    const ge_xml_ctype_t *t = fr->type;
    uint32_t start = fr->cur;
    const ge_xml_group_t *g;

    if (start < t->n_elems && (g = group_of(t, &t->elems[start])) != NULL)
        start = g->first;
    return start;
}

/* The field the child element NAME (N bytes) fills if NAME has no prefix and its namespace is NS
 * (the default namespace's): the first from FR's scan_start() on with that local name and namespace,
 * as match_child() finds it; NONE if there is none (NAME may have a prefix: field names have no
 * colon).  This spares an element the split of its name (the memchr) and the qname_t. */
static inline uint32_t find_plain(const frame_t *fr, const char *name, size_t n, uint16_t ns)
{
    const ge_xml_ctype_t *t = fr->type;
    const qname_t q = { .local = name, .loclen = n, .ns = ns };

    for (uint32_t j = scan_start(fr); j < t->n_elems; j++)
        if (field_is(&t->elems[j], &q))
            return j;
    return NONE;
}

/* The field the child element Q fills, walking the sequence forward; NONE after an error.  HINT:
 * that field if find_plain() found it, else NONE. */
static uint32_t match_child(ge_xml_decoder_t *d, frame_t *fr, const qname_t *q, uint32_t hint)
{
    const ge_xml_ctype_t *t = fr->type;
    uint32_t *counts = d->counts + fr->cbase;
    uint32_t start = 0, j = hint;
    const ge_xml_group_t *g;
    char a[96], b[96], c[160];

    if (j == NONE)
        for (j = start = scan_start(fr); j < t->n_elems; j++)
            if (field_is(&t->elems[j], q))
                break;
    if (j == t->n_elems) {
        qdisplay(d->schema, q, c, sizeof(c));
        for (j = 0; j < start; j++)
            if (field_is(&t->elems[j], q)) {
                FAIL(d, GE_ERR_SCHEMA, "element '%s' is out of order in '%s': it must come before '%s'",
                     c, frname(d, fr, a, sizeof(a)), fname(d->schema, &t->elems[fr->cur], b, sizeof(b)));
                return NONE;
            }
        /* name the first element still required, if any, to help the reader */
        for (j = fr->cur; j < t->n_elems; j++) {
            const ge_xml_field_t *f = &t->elems[j];
            const ge_xml_group_t *gg = group_of(t, f);
            if (gg ? (gg->min > 0 && group_total(gg, counts) == 0) : counts[j] < f->min) {
                FAIL(d, GE_ERR_SCHEMA, "element '%s' is not allowed in '%s' here (expected '%s')", c,
                     frname(d, fr, a, sizeof(a)), fname(d->schema, f, b, sizeof(b)));
                return NONE;
            }
        }
        FAIL(d, GE_ERR_SCHEMA, "element '%s' is not allowed in '%s' here", c, frname(d, fr, a, sizeof(a)));
        return NONE;
    }
    /* everything between the cursor and J is left behind: it must be complete (only the cursor's
     * field and those with a minimum can be short) */
    for (uint32_t k = fr->cur; k < j; k = next_req(t, k)) {
        const ge_xml_group_t *gk = group_of(t, &t->elems[k]);
        if (!gk && counts[k] >= t->elems[k].min)
            continue;
        if (gk && gk == group_of(t, &t->elems[j]))
            continue;
        if (!leave_ok(d, fr, k, q))
            return NONE;
        if (gk)
            k = gk->first + gk->n - 1u;
    }
    g = group_of(t, &t->elems[j]);
    if (g) {
        uint32_t total = group_total(g, counts);
        if (g->max == 1 && total > 0 && counts[j] == 0) {
            qdisplay(d->schema, q, c, sizeof(c));
            FAIL(d, GE_ERR_SCHEMA, "element '%s' is not allowed in '%s': only one alternative of the choice "
                 "may be used", c, frname(d, fr, a, sizeof(a)));
            return NONE;
        }
        if (g->max != GE_XML_UNBOUNDED && g->max > 1 && total >= g->max) {
            qdisplay(d->schema, q, c, sizeof(c));
            FAIL(d, GE_ERR_SCHEMA, "element '%s' in '%s': the choice occurs more than %u times", c,
                 frname(d, fr, a, sizeof(a)), (unsigned)g->max);
            return NONE;
        }
    }
    if (t->elems[j].max != GE_XML_UNBOUNDED && counts[j] >= t->elems[j].max) {
        qdisplay(d->schema, q, c, sizeof(c));
        FAIL(d, GE_ERR_SCHEMA, "element '%s' occurs more than %u time%s in '%s'", c,
             (unsigned)t->elems[j].max, t->elems[j].max == 1 ? "" : "s", frname(d, fr, a, sizeof(a)));
        return NONE;
    }
    counts[j]++;
    fr->cur = j;
    return j;
}

/* At the end tag: everything from the cursor on must be complete. */
static bool complete(ge_xml_decoder_t *d, frame_t *fr)
{
    const ge_xml_ctype_t *t = fr->type;

    for (uint32_t k = fr->cur; k < t->n_elems; k = next_req(t, k)) {
        const ge_xml_group_t *g = group_of(t, &t->elems[k]);
        if (!g && d->counts[fr->cbase + k] >= t->elems[k].min)
            continue;
        if (!leave_ok(d, fr, k, NULL))
            return false;
        if (g)
            k = g->first + g->n - 1u;
    }
    return true;
}

/* ---- xsi:type ---------------------------------------------------------------------------------------- */

/* The namespace URI bound to PREFIX (PLEN bytes; "" = the default namespace) where the parser
 * is, or NULL if it is not declared.  No default namespace: "" (no namespace). */
static const char *ns_lookup(ge_xml_decoder_t *d, const char *prefix, size_t plen)
{
    const nsbind_t *b = binding(d, prefix, plen);

    if (b)
        return d->nsdecl.data + b->off + b->plen + 1;
    if (plen == 3 && memcmp(prefix, "xml", 3) == 0)
        return XML_NS;
    return plen ? NULL : "";
}

/* The value of the xsi:type attribute of the current start tag, or NULL. */
static char *xsi_type_attr(const ge_xml_decoder_t *d)
{
    for (size_t i = 0; i < d->n_atq; i++) {
        const qname_t *q = &d->atq[i];
        if (q->loclen == 4 && q->urilen == sizeof(XSI_NS) - 1 && memcmp(q->local, "type", 4) == 0 &&
            memcmp(q->uri, XSI_NS, q->urilen) == 0)
            return (char *)q->value;
    }
    return NULL;
}

/* The complex type that the xsi:type value V names on element WHERE, whose declared type is DECL.
 * F is the parent's field for that element (NULL for the root, which may take any type derived
 * from its own).  NULL after an error. */
static const ge_xml_ctype_t *xsi_type(ge_xml_decoder_t *d, const ge_xml_field_t *f, const ge_xml_ctype_t *decl,
                                      const char *where, char *v)
{
    const ge_xml_schema_t *s = d->schema;
    const ge_xml_ctype_t *t;
    const char *colon, *local;
    char name[160];
    qname_t q;
    size_t len = ge__xml_ws(GE_XML_WS_COLLAPSE, v, strlen(v));

    v[len] = '\0';
    colon = strchr(v, ':');
    local = colon ? colon + 1 : v;
    if (!*local || colon == v || strchr(local, ':') || strpbrk(v, " ")) {
        FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s' is not a QName", v, where);
        return NULL;
    }
    q.uri = ns_lookup(d, v, colon ? (size_t)(colon - v) : 0);
    if (!q.uri) {
        FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s': prefix '%.*s' is not declared", v, where,
             (int)(colon - v), v);
        return NULL;
    }
    q.urilen = strlen(q.uri);
    q.local = local;
    q.loclen = strlen(local);
    resolve_ns(d, &q);
    if (q.ns >= s->n_ns) {
        if (q.urilen)
            FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s': namespace '%s' has no types in schema %s", v, where,
                 q.uri, s->name);
        else
            FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s': no namespace, and schema %s has no types without one", v,
                 where, s->name);
        return NULL;
    }
    snprintf(name, sizeof(name), "%s:%s", s->ns_prefix[q.ns], local);
    t = ge_xml_ctype_find(s, name);
    if (!t) {
        FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s': schema %s has no such complex type", name, where, s->name);
        return NULL;
    }
    if (t != decl && f && !f->xsi_off) {
        if (f->max > 1)
            FAIL(d, GE_ERR_SCHEMA, "xsi:type not allowed on '%s': a repeated element takes only its declared type %s",
                 where, decl->name);
        else
            FAIL(d, GE_ERR_SCHEMA, "xsi:type not allowed on '%s': its type %s has no derived types", where,
                 decl->name);
        return NULL;
    }
    if (!ge_xml_ctype_is_a(t, decl)) {
        FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s' is not derived from %s", name, where, decl->name);
        return NULL;
    }
    if (t->abstract) {
        FAIL(d, GE_ERR_SCHEMA, "xsi:type '%s' on '%s' names an abstract type", name, where);
        return NULL;
    }
    return t;
}

/* Does the start tag of an element whose declared type is T get checked for xsi:type before
 * its struct is made?  The root and the polymorphic elements (F NULL: the root). */
static inline bool xsi_first(const ge_xml_field_t *f, const ge_xml_ctype_t *t)
{
    return !f || f->xsi_off || t->abstract;
}

/* The type an element is decoded with: DECL, or what its xsi:type names.  NULL after an error. */
static const ge_xml_ctype_t *actual_type(ge_xml_decoder_t *d, const ge_xml_field_t *f, const ge_xml_ctype_t *decl)
{
    char *v = xsi_type_attr(d);
    char where[96];

    if (!v && !decl->abstract)
        return decl;
    if (f)
        fname(d->schema, f, where, sizeof(where));
    else
        snprintf(where, sizeof(where), "%s:%s", d->schema->ns_prefix[d->result.root->ns], d->result.root->name);
    if (v)
        return xsi_type(d, f, decl, where, v);
    if (decl->abstract) {
        FAIL(d, GE_ERR_SCHEMA, "element '%s' has the abstract type %s: it needs an xsi:type naming a derived type",
             where, decl->name);
        return NULL;
    }
    return decl;
}

/* ---- attributes ------------------------------------------------------------------------------------- */

/* The value of attribute F of FR's element, VALUE (expat's, ours to normalize in place), checked and
 * stored.  false after an error. */
static inline __attribute__((always_inline)) bool attr_value(ge_xml_decoder_t *d, frame_t *fr,
                                                             const ge_xml_field_t *f, char *value)
{
    size_t len = strlen(value);
    char a[96], msg[200];
    int rc;

    if (len > d->lim.max_string) {
        FAIL(d, GE_ERR_LIMIT, "attribute '%s' of '%s' is longer than %zu bytes", f->name,
             frname(d, fr, a, sizeof(a)), d->lim.max_string);
        return false;
    }
    /* expat's attribute values are ours to normalize in place (XSD whitespace facet); the
     * common ones (plain hrefs, numbers) take the short path */
    rc = ge__xml_parse_fast(f->stype, value, len, d->arena, (unsigned char *)fr->obj + f->off);
    if (rc == 1)
        rc = ge_xml_parse_value(f->stype, value, len, d->arena, (unsigned char *)fr->obj + f->off, msg,
                                sizeof(msg));
    if (rc == GE_ERR_SCHEMA) {
        FAIL(d, rc, "attribute '%s' of '%s': %s", f->name, frname(d, fr, a, sizeof(a)), msg);
        return false;
    }
    if (rc < 0) {
        fail_alloc(d, rc);
        return false;
    }
    if (f->fixed && strcmp(f->fixed, value) != 0) {
        FAIL(d, GE_ERR_SCHEMA, "attribute '%s' of '%s' must be '%s'", f->name, frname(d, fr, a, sizeof(a)),
             f->fixed);
        return false;
    }
    if (f->aux != GE_XML_NO_AUX)
        *(bool *)((unsigned char *)fr->obj + f->aux) = true;
    return true;
}

/* After the attributes of FR's element (SEEN: a bit for each attribute field given): the required
 * ones must all be there.  false after an error. */
static inline __attribute__((always_inline)) bool required_attrs(ge_xml_decoder_t *d, frame_t *fr, uint64_t seen)
{
    const ge_xml_ctype_t *t = fr->type;
    char b[96];

    for (uint32_t k = 0; t && k < t->n_attrs; k++)
        if (t->attrs[k].min && !(seen & ((uint64_t)1 << k))) {
            FAIL(d, GE_ERR_SCHEMA, "missing required attribute '%s' on '%s'", t->attrs[k].name,
                 frname(d, fr, b, sizeof(b)));
            return false;
        }
    return true;
}

enum { PLAIN_MAX = 16, PLAIN_XMLNS = 0xFF };

/* Are the attributes of the start tag ATTS, namespace declarations aside, all unprefixed names of
 * attributes of T?  Then KS (PLAIN_MAX entries) receives each one's index in T's attributes, or
 * PLAIN_XMLNS for a declaration, and attributes_plain() takes them without resolving their names
 * (an unprefixed attribute has no namespace: nothing to resolve, nothing to check).  No side
 * effects: on false the general path resolves them. */
static bool plain_atts(const ge_xml_ctype_t *t, const char **atts, uint8_t *ks)
{
    size_t i;

    if (t->n_attrs > 64)
        return false;
    for (i = 0; atts[2 * i]; i++) {
        const char *name = atts[2 * i];
        const qname_t q = { .local = name, .loclen = strlen(name), .ns = GE_XML_NO_NS };
        uint32_t k;

        if (i == PLAIN_MAX)
            return false;
        if (is_xmlns(name)) {
            ks[i] = PLAIN_XMLNS;
            continue;
        }
        for (k = 0; k < t->n_attrs; k++)
            if (field_is(&t->attrs[k], &q))
                break;
        if (k == t->n_attrs)
            return false;
        ks[i] = (uint8_t)k;
    }
    return true;
}

static bool attributes(ge_xml_decoder_t *d, frame_t *fr)
{
    const ge_xml_ctype_t *t = fr->type;
    uint64_t seen = 0;
    char a[96];

    for (size_t i = 0; i < d->n_atq; i++) {
        const qname_t *q = &d->atq[i];
        char *value = (char *)q->value;
        uint32_t k;
        const ge_xml_field_t *f = NULL;

        if (q->urilen == sizeof(XSI_NS) - 1 && memcmp(q->uri, XSI_NS, q->urilen) == 0) {
            if (strcmp(q->local, "schemaLocation") == 0 || strcmp(q->local, "noNamespaceSchemaLocation") == 0)
                continue;
            if (strcmp(q->local, "type") == 0) {
                /* an element that takes derived types had it checked before its struct was made */
                if (xsi_first(fr->field, fr->field ? fr->field->ctype : NULL) ||
                    xsi_type(d, fr->field, fr->type, frname(d, fr, a, sizeof(a)), value))
                    continue;
                return false;
            }
            FAIL(d, GE_ERR_SCHEMA, "attribute 'xsi:%s' on '%s' is not supported", q->local,
                 frname(d, fr, a, sizeof(a)));
            return false;
        }
        for (k = 0; t && k < t->n_attrs; k++)
            if (field_is(&t->attrs[k], q)) {
                f = &t->attrs[k];
                break;
            }
        if (!f) {
            if (t && t->any_attr)
                continue;
            FAIL(d, GE_ERR_SCHEMA, "attribute '%s' is not allowed on '%s'", q->local, frname(d, fr, a, sizeof(a)));
            return false;
        }
        seen |= (uint64_t)1 << k;
        if (!attr_value(d, fr, f, value))
            return false;
    }
    return required_attrs(d, fr, seen);
}

/* attributes() when plain_atts() matched every attribute of the start tag ATTS to a field of FR's
 * type: KS holds the fields' indices (PLAIN_XMLNS for a namespace declaration).  The same checks in
 * the same order, without the names' resolution. */
static bool attributes_plain(ge_xml_decoder_t *d, frame_t *fr, const char **atts, const uint8_t *ks)
{
    const ge_xml_ctype_t *t = fr->type;
    uint64_t seen = 0;

    for (size_t i = 0; atts[2 * i]; i++) {
        if (ks[i] == PLAIN_XMLNS)
            continue;
        seen |= (uint64_t)1 << ks[i];
        if (!attr_value(d, fr, &t->attrs[ks[i]], (char *)atts[2 * i + 1]))
            return false;
    }
    return required_attrs(d, fr, seen);
}

/* ---- opaque capture ---------------------------------------------------------------------------------- */

static int raw_start(ge_xml_decoder_t *d, const qname_t *qp)
{
    const qname_t q = *qp;
    unsigned level = d->opaque_depth - 1; /* 0 for the opaque element itself */
    int rc = 0;
    bool declare = true;

    /* the fragment stands alone: its top element declares its namespace as the default, and a
     * child declares one only where it differs from its parent's */
    if (level > 0) {
        const char *parent = d->rawns.data + d->rawns_off[level - 1];
        declare = strlen(parent) != q.urilen || memcmp(parent, q.uri, q.urilen) != 0;
    } else {
        ge_buf_clear(&d->rawns);
        declare = q.urilen > 0;
    }
    d->rawns_off[level] = d->rawns.len;
    rc |= ge_buf_append(&d->rawns, q.uri, q.urilen);
    rc |= ge_buf_append(&d->rawns, "", 1);
    rc |= ge_buf_putc(&d->raw, '<');
    rc |= ge_buf_puts(&d->raw, q.local);
    if (declare) {
        rc |= ge_buf_puts(&d->raw, " xmlns=\"");
        rc |= ge__xml_escape(&d->raw, q.uri, q.urilen, 1);
        rc |= ge_buf_putc(&d->raw, '"');
    }
    for (size_t i = 0; i < d->n_atq; i++) {
        const qname_t a = d->atq[i];
        if (a.urilen) {
            rc |= ge_buf_printf(&d->raw, " xmlns:a%zu=\"", i);
            rc |= ge__xml_escape(&d->raw, a.uri, a.urilen, 1);
            rc |= ge_buf_printf(&d->raw, "\" a%zu:%s=\"", i, a.local);
        } else {
            rc |= ge_buf_printf(&d->raw, " %s=\"", a.local);
        }
        rc |= ge__xml_escape(&d->raw, a.value, strlen(a.value), 1);
        rc |= ge_buf_putc(&d->raw, '"');
    }
    rc |= ge_buf_putc(&d->raw, '>');
    d->raw_open = d->raw.len;
    return rc ? GE_ERR_LIMIT : 0;
}

/* The end tag of a captured element: <x/> when it had no content. */
static int raw_end(ge_xml_decoder_t *d, const char *name)
{
    const char *colon = strrchr(name, ':');
    unsigned level = d->opaque_depth - 1;

    d->rawns.len = d->rawns_off[level];
    if (d->raw_open == d->raw.len && d->raw.len > 0) {
        d->raw.data[d->raw.len - 1] = '/';
        d->raw_open = 0;
        return ge_buf_putc(&d->raw, '>') ? GE_ERR_LIMIT : 0;
    }
    d->raw_open = 0;
    return ge_buf_printf(&d->raw, "</%s>", colon ? colon + 1 : name) ? GE_ERR_LIMIT : 0;
}

/* ---- expat callbacks ----------------------------------------------------------------------------------- */

/* The start tag of a child element Q of PARENT (a complex element with element content), its
 * name and attributes resolved (the attributes in d->atq, or, with KS, as plain_atts() matched
 * them in ATTS).  HINT: the field find_plain() found for it, or NONE. */
static void start_child(ge_xml_decoder_t *d, frame_t *parent, const qname_t *q, uint32_t hint, const char **atts,
                        const uint8_t *ks)
{
    frame_t *fr;
    uint32_t idx;
    const ge_xml_field_t *f;
    const ge_xml_ctype_t *t;
    char a[96];

    idx = match_child(d, parent, q, hint);
    if (idx == NONE)
        return;
    f = &parent->type->elems[idx];
    fr = &d->frames[d->depth];
    memset(fr, 0, sizeof(*fr));
    fr->field = f;
    fr->list = NONE;
    if (!f->ctype || f->ctype->text) /* only a text value is checked at the end tag */
        mark_pos(d, fr);
    d->textlen = 0;
    d->tptr = NULL;
    d->tlen = 0;
    if (f->what == GE_XML_F_OPAQUE) {
        fr->kind = FR_OPAQUE;
        d->depth++;
        d->opaque_depth = 1;
        ge_buf_clear(&d->raw);
        if (raw_start(d, q) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    if (f->ctype) {
        void *obj;
        t = f->ctype;
        if (xsi_first(f, t) && !(t = actual_type(d, f, t)))
            return;
        obj = ge_arena_zalloc(d->arena, t->size);
        if (!obj) {
            fail_alloc(d, ge_arena_error(d->arena));
            return;
        }
        int rc = store_item(d, parent, idx, &obj);
        if (rc < 0) {
            fail_alloc(d, rc); /* the arena's cap (GE_ERR_LIMIT) or the heap */
            return;
        }
        if (f->xsi_off)
            *(const ge_xml_ctype_t **)((unsigned char *)parent->obj + f->xsi_off) = t;
        fr->kind = FR_COMPLEX;
        fr->type = t;
        fr->obj = obj;
        fr->cbase = (uint32_t)d->ncounts;
        if (grow(d, (void **)&d->counts, &d->capcounts, d->ncounts + t->n_elems + 1, sizeof(uint32_t)) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memset(d->counts + d->ncounts, 0, t->n_elems * sizeof(uint32_t));
        d->ncounts += t->n_elems;
        d->depth++;
        if (ks)
            attributes_plain(d, fr, atts, ks);
        else if (d->n_atq || t->n_attrs) /* else nothing to check: no call */
            attributes(d, fr);
        return;
    }
    fr->kind = FR_SIMPLE;
    d->depth++;
    for (size_t i = 0; i < d->n_atq; i++) {
        const qname_t at = d->atq[i];
        if (!(at.urilen == sizeof(XSI_NS) - 1 && memcmp(at.uri, XSI_NS, at.urilen) == 0 &&
              strcmp(at.local, "schemaLocation") == 0)) {
            FAIL(d, GE_ERR_SCHEMA, "attribute '%s' is not allowed on '%s'", at.local, fname(d->schema, f, a, sizeof(a)));
            return;
        }
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    ge_xml_decoder_t *d = ud;
    frame_t *parent, *fr;
    qname_t q;
    const ge_xml_ctype_t *t;
    char a[96];

    if (d->failed)
        return;
    if (d->done) { /* only in the wrapper: expat itself allows one root */
        outside(d, 0);
        return;
    }
    d->open++;
    if (++d->elements > d->lim.max_elements) {
        FAIL(d, GE_ERR_LIMIT, "more than %zu elements in the document", d->lim.max_elements);
        return;
    }
    if (d->depth + d->opaque_depth >= d->lim.max_depth) {
        FAIL(d, GE_ERR_LIMIT, "elements nested deeper than %u levels", d->lim.max_depth);
        return;
    }
    /* namespaces: the declarations first, then the names they bind */
    if (atts[0] && !declare_ns(d, atts))
        return;
    /* the common case first: a child of a complex element, with an unprefixed name in a default
     * namespace already resolved, that names one of the fields ahead (find_plain()), and
     * attributes that are unprefixed names of its type's (plain_atts()) */
    if (d->depth && !d->opaque_depth) {
        parent = &d->frames[d->depth - 1];
        if (parent->kind == FR_COMPLEX && !parent->type->text &&
            (!d->def || d->bind[d->def - 1].schema == d->schema)) {
            size_t n = strlen(name);
            uint32_t hint = NONE;
            /* a prefixed name would be looked for in vain (and it has its namespace to resolve) */
            if (n < 8 || !colon_ahead(name)) {
                default_ns(d, &q);
                hint = find_plain(parent, name, n, q.ns);
            }
            if (hint != NONE) {
                const ge_xml_field_t *f = &parent->type->elems[hint];
                uint8_t ks[PLAIN_MAX];
                bool plain = false;
                q.local = name;
                q.loclen = n;
                d->n_atq = 0;
                if (atts[0] && !(plain = f->what != GE_XML_F_OPAQUE && f->ctype && !xsi_first(f, f->ctype) &&
                                         plain_atts(f->ctype, atts, ks)) &&
                    !resolve_atts(d, atts))
                    return;
                start_child(d, parent, &q, hint, atts, plain ? ks : NULL);
                return;
            }
        }
    }
    if (!qresolve(d, name, false, &q))
        return;
    if (!atts[0])
        d->n_atq = 0;
    else if (!resolve_atts(d, atts))
        return;
    if (d->opaque_depth) {
        d->opaque_depth++;
        if (raw_start(d, &q) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    if (d->depth == 0) {
        const ge_xml_schema_t *cands[2] = { &ge_xml_schema_sep, &ge_xml_schema_oadr20b };
        const ge_xml_root_t *root = NULL;
        for (int s = 0; s < 2 && !root; s++) {
            const ge_xml_schema_t *sc = d->want ? d->want : cands[s];
            if ((root = find_root(sc, &q)) != NULL)
                d->schema = sc;
            if (d->want)
                break;
        }
        if (!root) {
            if (q.urilen)
                FAIL(d, GE_ERR_SCHEMA, "unknown root element '%s' in namespace '%.*s'%s%s", q.local,
                     (int)q.urilen, q.uri, d->want ? " for schema " : "", d->want ? d->want->name : "");
            else
                FAIL(d, GE_ERR_SCHEMA, "unknown root element '%s' (no namespace)%s%s", q.local,
                     d->want ? " for schema " : "", d->want ? d->want->name : "");
            return;
        }
        d->result.schema = d->schema;
        d->result.root = root;
        d->nsc_n = 0; /* indices are the root's schema's */
        /* names resolved before the root was known count only if it was under this schema
         * (bindings resolved under another one are resolved again) */
        if (d->alt_seen != d->schema)
            d->alt_seen = NULL;
        if (root->ns < d->schema->n_ns && ns_is_alt(d->schema, root->ns, q.uri, q.urilen))
            d->alt_seen = d->schema;
        if (!(t = actual_type(d, NULL, root->type)))
            return;
        d->result.type = t;
        fr = &d->frames[0];
        memset(fr, 0, sizeof(*fr));
        fr->kind = FR_COMPLEX;
        fr->type = t;
        fr->list = NONE;
        mark_pos(d, fr);
        fr->obj = ge_arena_zalloc(d->arena, t->size);
        if (!fr->obj) {
            fail_alloc(d, ge_arena_error(d->arena));
            return;
        }
        d->result.value = fr->obj;
        fr->cbase = 0;
        if (grow(d, (void **)&d->counts, &d->capcounts, t->n_elems + 1, sizeof(uint32_t)) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memset(d->counts, 0, t->n_elems * sizeof(uint32_t));
        d->ncounts = t->n_elems;
        d->depth = 1;
        d->textlen = 0;
        d->tptr = NULL;
        d->tlen = 0;
        attributes(d, fr);
        return;
    }
    parent = &d->frames[d->depth - 1];
    if (parent->kind != FR_COMPLEX || parent->type->text) {
        FAIL(d, GE_ERR_SCHEMA, "element '%s' is not allowed inside '%s', which holds a simple value", q.local,
             frname(d, parent, a, sizeof(a)));
        return;
    }
    start_child(d, parent, &q, NONE, atts, NULL);
}

/* Copy the text value at d->tptr into d->text (see ge_xml_decoder.tptr).  false after an error. */
static bool keep_text(ge_xml_decoder_t *d)
{
    if (grow(d, (void **)&d->text, &d->textcap, d->tlen + 1, 1) < 0) {
        fail_alloc(d, GE_ERR_NOMEM);
        return false;
    }
    memcpy(d->text, d->tptr, d->tlen);
    d->textlen = d->tlen;
    d->tptr = NULL;
    d->tlen = 0;
    return true;
}

/* Text outside the root, which expat reports only in the wrapper: whitespace as written is all a
 * document may have there.  A reference (to a space, say) takes more bytes than it gives; a CR LF
 * gives one LF.  Reported at the first character that is not whitespace as written. */
static void outside_text(ge_xml_decoder_t *d, const char *s, int len)
{
    int bytes = XML_GetCurrentByteCount(d->parser);
    bool literal = bytes == len || (len == 1 && s[0] == '\n' && bytes == 2);

    for (int i = 0; i < len; i++)
        if (!literal || !is_space(s[i])) {
            outside(d, literal ? (unsigned long)i : 0);
            return;
        }
}

static void XMLCALL on_cdata(void *ud)
{
    ge_xml_decoder_t *d = ud;

    if (!d->failed && d->depth == 0) /* only in the wrapper, after the root */
        outside(d, 0);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    ge_xml_decoder_t *d = ud;
    frame_t *fr;
    char a[96];

    if (d->failed)
        return;
    if (d->depth == 0) {
        outside_text(d, s, len);
        return;
    }
    if (d->opaque_depth) {
        d->raw_open = 0;
        if (ge__xml_escape(&d->raw, s, (size_t)len, 0) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    fr = &d->frames[d->depth - 1];
    if (fr->kind == FR_SIMPLE || (fr->kind == FR_COMPLEX && fr->type->text)) {
        if (d->textlen + d->tlen + (size_t)len > d->lim.max_string) {
            FAIL(d, GE_ERR_LIMIT, "text of '%s' is longer than %zu bytes", frname(d, fr, a, sizeof(a)),
                 d->lim.max_string);
            return;
        }
        if (!d->textlen && !d->tptr) {
            if (!d->buf_lo) {
                int off, size;
                const char *b = XML_GetInputContext(d->parser, &off, &size);
                /* none (an expat without XML_CONTEXT_BYTES): an empty range, every piece is copied */
                d->buf_lo = b ? (uintptr_t)b : 1;
                d->buf_hi = b ? (uintptr_t)b + (size_t)size : 1;
            }
            if ((uintptr_t)s >= d->buf_lo && (uintptr_t)s + (size_t)len <= d->buf_hi && len > 0) {
                d->tptr = s;
                d->tlen = (size_t)len;
                return;
            }
        }
        if (d->tptr && !keep_text(d))
            return;
        if (grow(d, (void **)&d->text, &d->textcap, d->textlen + (size_t)len + 1, 1) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memcpy(d->text + d->textlen, s, (size_t)len);
        d->textlen += (size_t)len;
        return;
    }
    for (int i = 0; i < len; i++)
        if (!is_space(s[i])) {
            /* at the first character that is not whitespace (one column a byte before it, unless the
             * text came from a reference), wherever expat's pieces of text begin */
            unsigned long col = cur_col(d) + (XML_GetCurrentByteCount(d->parser) == len ? (unsigned long)i : 0);
            set_error_at(d, GE_ERR_SCHEMA, cur_line(d), col, "text is not allowed in '%s', which holds elements only",
                         frname(d, fr, a, sizeof(a)));
            return;
        }
}

/* Parse the collected text as field F's value into DST. */
static bool finish_value(ge_xml_decoder_t *d, frame_t *fr, const ge_xml_field_t *f, void *dst)
{
    char a[96], msg[200];
    unsigned long line, col;
    int rc;

    if (d->tptr && !f->fixed) {
        /* in expat's buffer, which must not be written: integers and hexBinary are parsed from
         * it, and any value that needs no whitespace normalized (the only write) */
        const char *s = d->tptr;
        size_t len = d->tlen;
        rc = ge__xml_parse_fast(f->stype, s, len, d->arena, dst);
        if (rc == 1 && !ge__xml_has_ctl(s, len))
            rc = ge_xml_parse_value(f->stype, (char *)s, len, d->arena, dst, msg, sizeof(msg));
        if (rc != 1) {
            d->tptr = NULL;
            d->tlen = 0;
            goto parsed;
        }
    }
    if (d->tptr && !keep_text(d))
        return false;
    if (grow(d, (void **)&d->text, &d->textcap, d->textlen + 1, 1) < 0) {
        fail_alloc(d, GE_ERR_NOMEM);
        return false;
    }
    d->text[d->textlen] = '\0';
    rc = ge_xml_parse_value(f->stype, d->text, d->textlen, d->arena, dst, msg, sizeof(msg));
parsed:
    if (rc == GE_ERR_SCHEMA) {
        frame_pos(d, fr, &line, &col);
        set_error_at(d, rc, line, col, "element '%s': %s", frname(d, fr, a, sizeof(a)), msg);
        return false;
    }
    if (rc < 0) {
        fail_alloc(d, rc);
        return false;
    }
    if (f->fixed) {
        /* parse_value normalized the text in place */
        size_t n = strlen(f->fixed);
        if (strncmp(d->text, f->fixed, n) != 0 || (d->text[n] != '\0' && d->textlen > n)) {
            frame_pos(d, fr, &line, &col);
            set_error_at(d, GE_ERR_SCHEMA, line, col, "element '%s' must be '%s'",
                         frname(d, fr, a, sizeof(a)), f->fixed);
            return false;
        }
    }
    d->textlen = 0;
    return true;
}

static void end_element(ge_xml_decoder_t *d, const char *name)
{
    frame_t *fr, *parent;
    int rc;

    if (d->opaque_depth > 1) {
        if (raw_end(d, name) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        d->opaque_depth--;
        return;
    }
    fr = &d->frames[d->depth - 1];
    parent = d->depth > 1 ? &d->frames[d->depth - 2] : NULL;
    if (fr->kind == FR_OPAQUE) {
        char *copy;
        if (raw_end(d, name) < 0) {
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
            return;
        }
        d->opaque_depth = 0;
        copy = ge_arena_strndup(d->arena, d->raw.data, d->raw.len);
        if (!copy) {
            fail_alloc(d, ge_arena_error(d->arena));
            return;
        }
        int rc2 = store_item(d, parent, (uint32_t)(fr->field - parent->type->elems), &copy);
        if (rc2 < 0)
            fail_alloc(d, rc2);
        d->depth--;
        return;
    }
    if (fr->kind == FR_SIMPLE) {
        union {
            void *p;
            uint64_t u;
            double x;
            ge_xml_bytes_t b;
        } val;
        const ge_xml_field_t *f = fr->field;
        if (f->max <= 1) { /* straight into the parent's member, as store_item() would copy it */
            if (!finish_value(d, fr, f, (unsigned char *)parent->obj + f->off))
                return;
            if (f->aux != GE_XML_NO_AUX)
                *(bool *)((unsigned char *)parent->obj + f->aux) = true;
            d->depth--;
            return;
        }
        memset(&val, 0, sizeof(val));
        if (!finish_value(d, fr, f, &val))
            return;
        if ((rc = store_item(d, parent, (uint32_t)(f - parent->type->elems), &val)) < 0) {
            fail_alloc(d, rc);
            return;
        }
        d->depth--;
        return;
    }
    /* complex */
    if (fr->type->text && !finish_value(d, fr, fr->type->text, (unsigned char *)fr->obj + fr->type->text->off))
        return;
    if (!complete(d, fr))
        return;
    if ((rc = flush_list(d, fr)) < 0) {
        fail_alloc(d, rc);
        return;
    }
    d->ncounts = fr->cbase;
    d->depth--;
    if (d->depth == 0)
        d->done = true;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    ge_xml_decoder_t *d = ud;

    if (d->failed)
        return;
    if (!d->open) { /* the wrapper's end tag: an end tag after the root, for expat invalid at its '/' */
        outside(d, 1);
        return;
    }
    end_element(d, name);
    if (d->bind_level == d->open)
        undeclare_ns(d);
    d->open--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    ge_xml_decoder_t *d = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    FAIL(d, GE_ERR_SCHEMA, "DOCTYPE is not allowed (no DTDs, entities or external references)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    ge_xml_decoder_t *d = ud;
    (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid, (void)notation;
    FAIL(d, GE_ERR_SCHEMA, "entity declaration '%s' is not allowed", name);
}

static void XMLCALL on_skipped(void *ud, const XML_Char *name, int is_param)
{
    ge_xml_decoder_t *d = ud;
    (void)is_param;
    FAIL(d, GE_ERR_SCHEMA, "reference to undeclared entity '%s'", name);
}

static void XMLCALL on_xmldecl(void *ud, const XML_Char *version, const XML_Char *encoding, int standalone)
{
    ge_xml_decoder_t *d = ud;
    (void)version, (void)standalone;
    if (encoding && strcasecmp(encoding, "UTF-8") != 0 && strcasecmp(encoding, "US-ASCII") != 0)
        d->utf8 = false;
}

static void setup_parser(ge_xml_decoder_t *d)
{
    /* a salt of the caller's spares expat a getrandom() call per document */
    if (d->lim.hash_salt)
        XML_SetHashSalt(d->parser, d->lim.hash_salt);
    XML_SetUserData(d->parser, d);
    XML_SetElementHandler(d->parser, on_start, on_end);
    XML_SetCharacterDataHandler(d->parser, on_text);
    XML_SetStartDoctypeDeclHandler(d->parser, on_doctype);
    XML_SetEntityDeclHandler(d->parser, on_entity);
    XML_SetSkippedEntityHandler(d->parser, on_skipped);
    XML_SetXmlDeclHandler(d->parser, on_xmldecl);
    XML_SetStartCdataSectionHandler(d->parser, on_cdata);
    XML_SetParamEntityParsing(d->parser, XML_PARAM_ENTITY_PARSING_NEVER);
}

/* ---- API ----------------------------------------------------------------------------------------------- */

int ge_xml_decoder_new(ge_xml_decoder_t **out, const ge_mem_t *mem, const ge_xml_limits_t *limits,
                       const ge_log_t *log)
{
    ge_xml_decoder_t *d;

    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!mem)
        mem = ge_mem_default();
    d = mem->malloc(sizeof(*d), mem->ud);
    if (!d)
        return GE_ERR_NOMEM;
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    d->heap_allocs = 1;
    d->counting.malloc = cm_malloc;
    d->counting.realloc = cm_realloc;
    d->counting.free = cm_free;
    d->counting.ud = d;
    d->log = log;
    if (limits)
        d->lim = *limits;
    if (!d->lim.max_doc_size)
        d->lim.max_doc_size = GE_XML_DEFAULT_MAX_DOC_SIZE;
    if (!d->lim.max_depth)
        d->lim.max_depth = GE_XML_DEFAULT_MAX_DEPTH;
    if (!d->lim.max_elements)
        d->lim.max_elements = GE_XML_DEFAULT_MAX_ELEMENTS;
    if (!d->lim.max_string)
        d->lim.max_string = GE_XML_DEFAULT_MAX_STRING;
    if (d->lim.max_depth > 4096)
        d->lim.max_depth = 4096;
    ge_buf_init(&d->raw, &d->counting, d->lim.max_doc_size);
    ge_buf_init(&d->rawns, &d->counting, d->lim.max_doc_size);
    ge_buf_init(&d->nsdecl, &d->counting, d->lim.max_doc_size);
    d->frames = d->counting.malloc(d->lim.max_depth * sizeof(frame_t), d);
    d->rawns_off = d->counting.malloc(d->lim.max_depth * sizeof(size_t), d);
    if (!d->frames || !d->rawns_off) {
        mem->free(d->frames, mem->ud);
        mem->free(d->rawns_off, mem->ud);
        mem->free(d, mem->ud);
        return GE_ERR_NOMEM;
    }
    /* the parser is created once here and reset between documents; its memory comes from free
     * lists fed by the counting allocator, so what a reset frees the next document takes back */
    d->pool = ge__xml_pool_new(&d->counting);
    if (d->pool) {
        ge__xml_pool_t *was = ge__xml_pool_enter(d->pool);
        d->parser = XML_ParserCreate_MM(NULL, ge__xml_pool_suite(), NULL);
        ge__xml_pool_leave(was);
    }
    if (!d->parser) {
        ge__xml_pool_free(d->pool);
        mem->free(d->frames, mem->ud);
        mem->free(d->rawns_off, mem->ud);
        mem->free(d, mem->ud);
        return GE_ERR_NOMEM;
    }
    d->started = false;
    d->pstate = P_FRESH;
    setup_parser(d);
    *out = d;
    return 0;
}

void ge_xml_decoder_free(ge_xml_decoder_t *d)
{
    if (!d)
        return;
    if (d->parser) {
        ge__xml_pool_t *was = ge__xml_pool_enter(d->pool);
        XML_ParserFree(d->parser);
        ge__xml_pool_leave(was);
    }
    ge__xml_pool_free(d->pool);
    ge_buf_free(&d->raw);
    ge_buf_free(&d->rawns);
    ge_buf_free(&d->nsdecl);
    d->mem->free(d->bind, d->mem->ud);
    d->mem->free(d->atq, d->mem->ud);
    d->mem->free(d->rawns_off, d->mem->ud);
    d->mem->free(d->frames, d->mem->ud);
    d->mem->free(d->counts, d->mem->ud);
    d->mem->free(d->scratch, d->mem->ud);
    d->mem->free(d->text, d->mem->ud);
    d->mem->free(d, d->mem->ud);
}

int ge_xml_decoder_reset(ge_xml_decoder_t *d, const ge_xml_schema_t *schema, ge_arena_t *arena)
{
    if (!d || !arena)
        return GE_ERR_INVALID;
    /* the parser is made ready for the next document by its first bytes (begin_document()) */
    if (d->stream_doc && !d->clean_end)
        d->pstate = P_USED;
    d->stream_doc = false;
    d->clean_end = false;
    d->started = false;
    d->want = schema;
    d->schema = schema ? schema : &ge_xml_schema_sep;
    d->arena = arena;
    d->depth = 0;
    d->ncounts = 0;
    d->scrlen = 0;
    d->textlen = 0;
    d->tptr = NULL;
    d->tlen = 0;
    d->opaque_depth = 0;
    ge_buf_clear(&d->nsdecl);
    d->n_bind = 0;
    d->bind_level = 0;
    d->def = 0;
    d->n_atq = 0;
    d->open = 0;
    d->fed = 0;
    d->elements = 0;
    d->done = false;
    d->failed = false;
    d->final_call = false;
    d->nsc_n = 0;
    d->alt_seen = NULL;
    d->utf8 = true;
    d->anchored = false;
    memset(&d->result, 0, sizeof(d->result));
    memset(&d->err, 0, sizeof(d->err));
    return 0;
}

/* Where the first END (N bytes) is in the LEN bytes at S, past it; 0 if it is not there. */
static size_t past(const char *s, size_t len, const char *end, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (s[i] == end[0] && memcmp(s + i, end, n) == 0)
            return i + n;
    return 0;
}

/* Does the document whose first LEN bytes are S begin plainly enough to go into the wrapper (see
 * ge_xml_decoder.pstate)?  That is: a UTF-8 byte order mark, an XML declaration of version 1.0 in
 * UTF-8 or US-ASCII (or of no encoding), each optional, then whitespace, comments and processing
 * instructions and a start tag, all within S.  *SKIP: the bytes of the mark and the declaration,
 * left out; *LINES, *COL: the lines they end and the column (from 0) they end at, as expat counts.
 * Anything else (a DOCTYPE, another encoding, a first chunk too short to tell) is a document expat
 * parses alone. */
static bool stream_prefix(const char *s, size_t len, size_t *skip, unsigned long *lines, unsigned long *col)
{
    static const char *const pseudo[] = { "version", "encoding", "standalone" };
    size_t i = 0, decl;
    unsigned next = 0;

    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    decl = i;
    if (len - i >= 5 && memcmp(s + i, "<?xml", 5) == 0) {
        for (i += 5;;) {
            size_t ws = 0, name, v, vlen;
            char q;
            while (i + ws < len && is_space(s[i + ws]))
                ws++;
            if (i + ws + 1 < len && s[i + ws] == '?' && s[i + ws + 1] == '>') {
                i += ws + 2;
                break;
            }
            if (!ws || next == 3)
                return false;
            i += ws;
            for (name = next; name < 3; name++)
                if (len - i >= strlen(pseudo[name]) && memcmp(s + i, pseudo[name], strlen(pseudo[name])) == 0)
                    break;
            if (name == 3 || (next == 0 && name != 0))
                return false;
            i += strlen(pseudo[name]);
            next = (unsigned)name + 1;
            while (i < len && is_space(s[i]))
                i++;
            if (i >= len || s[i] != '=')
                return false;
            for (i++; i < len && is_space(s[i]); i++)
                ;
            if (i >= len || (s[i] != '"' && s[i] != '\''))
                return false;
            q = s[i++];
            for (v = i; i < len && s[i] != q; i++)
                ;
            if (i >= len)
                return false;
            vlen = i++ - v;
            if (name == 0 && !(vlen == 3 && memcmp(s + v, "1.0", 3) == 0))
                return false;
            if (name == 1 && !((vlen == 5 && strncasecmp(s + v, "UTF-8", 5) == 0) ||
                               (vlen == 8 && strncasecmp(s + v, "US-ASCII", 8) == 0)))
                return false;
            if (name == 2 && !((vlen == 3 && memcmp(s + v, "yes", 3) == 0) || (vlen == 2 && memcmp(s + v, "no", 2) == 0)))
                return false;
        }
        if (next == 0)
            return false;
    }
    for (size_t j = i, k;;) {
        unsigned char c;
        while (j < len && is_space(s[j]))
            j++;
        if (len - j >= 4 && memcmp(s + j, "<!--", 4) == 0 && (k = past(s + j + 4, len - j - 4, "-->", 3)) != 0) {
            j += 4 + k;
            continue;
        }
        if (len - j >= 2 && memcmp(s + j, "<?", 2) == 0 && (k = past(s + j + 2, len - j - 2, "?>", 2)) != 0) {
            j += 2 + k;
            continue;
        }
        if (j + 1 >= len || s[j] != '<')
            return false;
        c = (unsigned char)s[j + 1];
        if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c != '_' && c != ':' && c < 0x80)
            return false;
        break;
    }
    *skip = i;
    *lines = 0;
    *col = decl ? 1 : 0; /* the mark is a character of the first line */
    for (size_t k = decl; k < i; k++) {
        if (s[k] == '\r' || s[k] == '\n') {
            if (s[k] == '\r' && k + 1 < i && s[k + 1] == '\n')
                k++;
            ++*lines;
            *col = 0;
        } else {
            ++*col;
        }
    }
    return true;
}

/* The first bytes of a document, *DATA (*LEN bytes), make the parser ready for it: the open
 * wrapper if the document may go into it, a reset parser if not (see ge_xml_decoder.pstate).
 * What stream_prefix() leaves out is taken off *DATA.  A negative code after an error. */
static int begin_document(ge_xml_decoder_t *d, const void **data, size_t *len)
{
    size_t skip = 0;
    bool stream = *len <= STREAM_FIRST_MAX && stream_prefix(*data, *len, &skip, &d->pre_lines, &d->pre_col);
    ge__xml_pool_t *was;
    bool ok = true;

    if (d->pstate != P_FRESH && !(stream && d->pstate == P_STREAM)) {
        was = ge__xml_pool_enter(d->pool);
        ok = XML_ParserReset(d->parser, NULL);
        ge__xml_pool_leave(was);
        d->pstate = P_FRESH;
        if (ok)
            setup_parser(d);
    }
    if (ok && stream && d->pstate == P_FRESH) {
        /* the handlers see nothing of the wrapper (they skip everything while failed is set) */
        d->failed = true;
        was = ge__xml_pool_enter(d->pool);
        ok = XML_Parse(d->parser, WRAPPER, sizeof(WRAPPER) - 1, 0) == XML_STATUS_OK;
        ge__xml_pool_leave(was);
        d->failed = false;
        d->stream_fed = sizeof(WRAPPER) - 1;
    }
    d->pstate = stream ? P_STREAM : P_USED;
    if (!ok) {
        d->pstate = P_USED;
        set_error_at(d, GE_ERR_NOMEM, 1, 1, "out of memory");
        return d->err.code;
    }
    if (stream) {
        d->base_line = (unsigned long)XML_GetCurrentLineNumber(d->parser);
        d->base_col = (unsigned long)XML_GetCurrentColumnNumber(d->parser);
        d->stream_doc = true;
        *data = (const char *)*data + skip;
        *len -= skip;
    }
    return 0;
}

/* The end of a document in the wrapper: expat must have taken every byte of it.  What it keeps
 * is an unfinished token (a truncated document), a CR it waits to pair with an LF, or what it
 * deferred when the last chunk was empty.  false after an error. */
static bool end_stream(ge_xml_decoder_t *d)
{
    XML_Index at = XML_GetCurrentByteIndex(d->parser);
    ge__xml_pool_t *was;
    enum XML_Status st;
    enum XML_Error e;

    if (d->done && at == d->stream_fed) {
        d->clean_end = ge__xml_pool_live(d->pool) <= STREAM_MEM_MAX;
        return true;
    }
    /* expat keeps bytes back, or the root is open: the wrapper's last call has expat judge them as it
     * judges the end of a document alone, and leaves the parser to be reset */
    was = ge__xml_pool_enter(d->pool);
    st = XML_Parse(d->parser, "", 0, 1);
    ge__xml_pool_leave(was);
    if (d->failed)
        return false;
    e = st == XML_STATUS_OK ? XML_ERROR_NONE : XML_GetErrorCode(d->parser);
    if (d->done && (e == XML_ERROR_NO_ELEMENTS || e == XML_ERROR_NONE))
        return true; /* a CR after the root, or whitespace expat deferred: the wrapper is what is open */
    parse_error(d, e == XML_ERROR_NONE ? XML_ERROR_NO_ELEMENTS : e, 0);
    return false;
}

/* Expat's reparse deferral (where it has one) on or off. */
static void set_deferral(ge_xml_decoder_t *d, bool on)
{
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
    XML_SetReparseDeferralEnabled(d->parser, on ? XML_TRUE : XML_FALSE);
#else
    (void)d, (void)on;
#endif
}

int ge_xml_decoder_feed(ge_xml_decoder_t *d, const void *data, size_t len, bool is_final)
{
    enum XML_Status st;
    ge__xml_pool_t *was;
    bool first;

    if (!d || (!data && len))
        return GE_ERR_INVALID;
    if (d->failed)
        return d->err.code;
    if (!d->arena)
        return GE_ERR_STATE;
    first = !d->started;
    d->started = true;
    if (len > d->lim.max_doc_size - d->fed) {
        set_error_at(d, GE_ERR_LIMIT, cur_line(d), cur_col(d), "document larger than %zu bytes",
                     d->lim.max_doc_size);
        return d->err.code;
    }
    /* UTF-16 (a BOM or a NUL in the first two bytes): positions are left to expat */
    for (size_t i = d->fed; i < 2 && i - d->fed < len; i++) {
        unsigned char c = ((const unsigned char *)data)[i - d->fed];
        if (c == 0 || (i == 0 && (c == 0xFE || c == 0xFF)))
            d->utf8 = false;
    }
    d->fed += len;
    if (first && begin_document(d, &data, &len) < 0)
        return d->err.code;
    while (len > 0 || is_final) {
        /* expat takes an int length */
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        bool last = is_final && (size_t)n == len;
        d->final_call = last;
        d->buf_lo = d->buf_hi = 0;
        was = ge__xml_pool_enter(d->pool);
        if (last && d->stream_doc)
            set_deferral(d, false); /* a partial token expat deferred is parsed now */
        st = XML_Parse(d->parser, data, n, last && !d->stream_doc);
        if (last && d->stream_doc)
            set_deferral(d, true);
        ge__xml_pool_leave(was);
        d->stream_fed += n;
        /* expat may move its buffer in the next call: a text value pointing into it is copied */
        if (d->tptr && !d->failed && !keep_text(d))
            return d->err.code;
        if (d->failed)
            return d->err.code;
        if (st != XML_STATUS_OK) {
            parse_error(d, XML_GetErrorCode(d->parser), 0);
            return d->err.code;
        }
        data = (const char *)data + n;
        len -= (size_t)n;
        if (last)
            break;
    }
    if (is_final && d->stream_doc && !end_stream(d))
        return d->err.code;
    if (is_final && !d->done) {
        set_error_at(d, GE_ERR_PARSE, cur_line(d), cur_col(d), "document ends before its root element is complete");
        return d->err.code;
    }
    return 0;
}

int ge_xml_decoder_result(const ge_xml_decoder_t *d, ge_xml_msg_t *msg)
{
    if (!d || !msg)
        return GE_ERR_INVALID;
    if (d->failed)
        return d->err.code;
    if (!d->done)
        return GE_ERR_AGAIN;
    *msg = d->result;
    /* the document wrote its namespaces' alternative URIs: re-encoding it writes them too */
    if (d->alt_seen == d->result.schema && d->result.schema->alt)
        msg->schema = d->result.schema->alt;
    return 0;
}

const ge_xml_error_t *ge_xml_decoder_error(const ge_xml_decoder_t *d)
{
    return &d->err;
}

bool ge__xml_decoder_wrapped(const ge_xml_decoder_t *d)
{
    return d->stream_doc;
}

unsigned long ge_xml_decoder_heap_allocs(const ge_xml_decoder_t *d)
{
    return d ? d->heap_allocs : 0;
}

int ge_xml_decode(ge_xml_decoder_t *d, const ge_xml_schema_t *schema, ge_arena_t *arena, const void *data,
                  size_t len, ge_xml_msg_t *msg)
{
    int rc = ge_xml_decoder_reset(d, schema, arena);
    if (rc < 0)
        return rc;
    rc = ge_xml_decoder_feed(d, data, len, true);
    if (rc < 0)
        return rc;
    return ge_xml_decoder_result(d, msg);
}
