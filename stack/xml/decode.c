/* decode.c - the streaming, table-driven decoder: expat events in, typed structs in the caller's
 * arena out.  It enforces element order and multiplicity (a sequence is walked with a cursor over
 * the type's fields, a choice is a group of alternatives), attributes and every facet; refuses
 * DOCTYPE and entities (so no entity expansion can happen: billion laughs, external entities);
 * bounds document size, depth, element count and text length; and keeps the first error with its
 * line and column.  The parser, the frame stack and the scratch lists are kept across documents
 * (XML_ParserReset), so a steady stream of messages costs no heap allocation here. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include <gridedge/error.h>
#include <gridedge/xml.h>

#include "xml_internal.h"

#define NS_SEP ' '
#define NONE UINT32_MAX
static const char XSI_NS[] = "http://www.w3.org/2001/XMLSchema-instance";

enum { FR_COMPLEX, FR_SIMPLE, FR_OPAQUE };
enum { NSC_SIZE = 4 };

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
    const ge_xml_schema_t *want; /* NULL = by namespace */
    const ge_xml_schema_t *schema;
    ge_arena_t *arena;
    frame_t *frames;             /* max_depth entries */
    unsigned depth;
    uint32_t *counts;
    size_t ncounts, capcounts;
    unsigned char *scratch;      /* list items while their parent is open */
    size_t scrlen, scrcap;
    char *text;                  /* the current text value */
    size_t textlen, textcap;
    ge_buf_t raw;                /* the current opaque element, as canonical XML */
    unsigned opaque_depth;
    ge_buf_t rawns;              /* namespace URIs of the open opaque elements, NUL-separated */
    size_t *rawns_off;           /* where each one starts (max_depth entries) */
    size_t raw_open;             /* raw.len just after the last start tag, to write <x/> */
    size_t fed, elements;
    bool started, done, failed;
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

static void set_error_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_error_at(ge_xml_decoder_t *d, int code, unsigned long line, unsigned long col,
                         const char *fmt, ...)
{
    va_list ap;

    if (d->failed)
        return;
    d->failed = true;
    d->err.code = code;
    d->err.line = line;
    d->err.col = col;
    va_start(ap, fmt);
    vsnprintf(d->err.msg, sizeof(d->err.msg), fmt, ap);
    va_end(ap);
    ge_log(d->log, GE_LOG_DEBUG, "xml", "%lu:%lu: %s", line, col, d->err.msg);
    XML_StopParser(d->parser, XML_FALSE);
}

static unsigned long cur_line(ge_xml_decoder_t *d)
{
    return (unsigned long)XML_GetCurrentLineNumber(d->parser);
}

static unsigned long cur_col(ge_xml_decoder_t *d)
{
    return (unsigned long)XML_GetCurrentColumnNumber(d->parser) + 1;
}

#define FAIL(d, code, ...) set_error_at((d), (code), cur_line(d), cur_col(d), __VA_ARGS__)

/* Note where the start tag of FR is (see ge_xml_decoder.final_call). */
static void mark_pos(ge_xml_decoder_t *d, frame_t *fr)
{
    if (d->final_call && d->utf8) {
        if (d->anchored) {
            fr->line = 0;
            fr->pos = XML_GetCurrentByteIndex(d->parser);
            return;
        }
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

/* ---- names ------------------------------------------------------------------------------------------- */

typedef struct qname {
    const char *uri;   /* not NUL-terminated; "" when none */
    size_t urilen;
    const char *local;
    size_t loclen;
    uint16_t ns;       /* the schema's index of URI (see resolve_ns()) */
} qname_t;

#define NS_UNKNOWN 0xFFFEu /* a namespace the schema does not know */

static qname_t split_name(const char *name)
{
    qname_t q;
    const char *sep = strchr(name, NS_SEP);

    if (sep) {
        q.uri = name;
        q.urilen = (size_t)(sep - name);
        q.local = sep + 1;
    } else {
        q.uri = "";
        q.urilen = 0;
        q.local = name;
    }
    q.loclen = strlen(q.local);
    q.ns = GE_XML_NO_NS;
    return q;
}

/* Q's namespace as an index into the current schema's namespaces (GE_XML_NO_NS for none,
 * NS_UNKNOWN if the schema has no such namespace).  A document uses a handful of namespaces:
 * the last few are cached so that names are then matched by comparing integers. */
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
        if (strlen(s->ns_uri[n]) == q->urilen && memcmp(s->ns_uri[n], q->uri, q->urilen) == 0) {
            q->ns = n;
            break;
        }
    if (q->urilen <= sizeof(d->nsc[0].uri)) {
        k = d->nsc_n < NSC_SIZE ? d->nsc_n++ : d->nsc_next++ % NSC_SIZE;
        memcpy(d->nsc[k].uri, q->uri, q->urilen);
        d->nsc[k].len = q->urilen;
        d->nsc[k].ns = q->ns;
    }
}

/* Does Q (resolved) name field F? */
static inline bool field_is(const ge_xml_field_t *f, const qname_t *q)
{
    if (f->name_len != q->loclen || f->ns != q->ns)
        return false;
    for (size_t i = 0; i < q->loclen; i++) /* names are short: no call to memcmp */
        if (f->name[i] != q->local[i])
            return false;
    return true;
}

const char *ge__xml_ns_uri(const ge_xml_schema_t *s, uint16_t ns)
{
    return ns == GE_XML_NO_NS || ns >= s->n_ns ? "" : s->ns_uri[ns];
}

static bool name_is(const ge_xml_schema_t *s, const qname_t *q, const char *local, uint16_t ns)
{
    const char *uri;

    if (q->local[0] != local[0] || strcmp(q->local, local) != 0)
        return false;
    uri = ge__xml_ns_uri(s, ns);
    /* strncmp stops at the end of URI, which may be shorter than Q's */
    return strncmp(uri, q->uri, q->urilen) == 0 && uri[q->urilen] == '\0';
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
static int store_item(ge_xml_decoder_t *d, frame_t *fr, uint32_t idx, const void *val)
{
    const ge_xml_field_t *f = &fr->type->elems[idx];
    size_t isz = ge__xml_item_size(f);
    int rc;

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

/* ---- content model ------------------------------------------------------------------------------------ */

static const ge_xml_group_t *group_of(const ge_xml_ctype_t *t, const ge_xml_field_t *f)
{
    return f->group ? &t->groups[f->group - 1] : NULL;
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
        if (strlen(s->ns_uri[n]) == q->urilen && memcmp(s->ns_uri[n], q->uri, q->urilen) == 0) {
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

/* The field the child element Q fills, walking the sequence forward; NONE after an error. */
static uint32_t match_child(ge_xml_decoder_t *d, frame_t *fr, const qname_t *q)
{
    const ge_xml_ctype_t *t = fr->type;
    uint32_t *counts = d->counts + fr->cbase;
    uint32_t start = fr->cur, j;
    const ge_xml_group_t *g;
    char a[96], b[96], c[160];

    if (start < t->n_elems && (g = group_of(t, &t->elems[start])) != NULL)
        start = g->first;
    for (j = start; j < t->n_elems; j++)
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
    /* everything between the cursor and J is left behind: it must be complete */
    for (uint32_t k = fr->cur; k < j; k++) {
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

    for (uint32_t k = fr->cur; k < t->n_elems; k++) {
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

/* ---- attributes ------------------------------------------------------------------------------------- */

static bool attributes(ge_xml_decoder_t *d, frame_t *fr, const char **atts)
{
    const ge_xml_ctype_t *t = fr->type;
    uint64_t seen = 0;
    char a[96], b[96], msg[200];

    for (size_t i = 0; atts[i]; i += 2) {
        qname_t q = split_name(atts[i]);
        uint32_t k;
        const ge_xml_field_t *f = NULL;
        size_t len;
        int rc;

        if (q.urilen == sizeof(XSI_NS) - 1 && memcmp(q.uri, XSI_NS, q.urilen) == 0) {
            if (strcmp(q.local, "schemaLocation") == 0 || strcmp(q.local, "noNamespaceSchemaLocation") == 0)
                continue;
            FAIL(d, GE_ERR_SCHEMA, "attribute 'xsi:%s' on '%s' is not supported", q.local,
                 frname(d, fr, a, sizeof(a)));
            return false;
        }
        resolve_ns(d, &q);
        for (k = 0; t && k < t->n_attrs; k++)
            if (field_is(&t->attrs[k], &q)) {
                f = &t->attrs[k];
                break;
            }
        if (!f) {
            if (t && t->any_attr)
                continue;
            FAIL(d, GE_ERR_SCHEMA, "attribute '%s' is not allowed on '%s'", q.local, frname(d, fr, a, sizeof(a)));
            return false;
        }
        seen |= (uint64_t)1 << k;
        len = strlen(atts[i + 1]);
        if (len > d->lim.max_string) {
            FAIL(d, GE_ERR_LIMIT, "attribute '%s' of '%s' is longer than %zu bytes", f->name,
                 frname(d, fr, a, sizeof(a)), d->lim.max_string);
            return false;
        }
        /* expat's attribute values are ours to normalize in place (XSD whitespace facet) */
        rc = ge_xml_parse_value(f->stype, (char *)atts[i + 1], len, d->arena,
                                (unsigned char *)fr->obj + f->off, msg, sizeof(msg));
        if (rc == GE_ERR_SCHEMA) {
            FAIL(d, rc, "attribute '%s' of '%s': %s", f->name, frname(d, fr, a, sizeof(a)), msg);
            return false;
        }
        if (rc < 0) {
            fail_alloc(d, rc);
            return false;
        }
        if (f->fixed && strcmp(f->fixed, atts[i + 1]) != 0) {
            FAIL(d, GE_ERR_SCHEMA, "attribute '%s' of '%s' must be '%s'", f->name, frname(d, fr, a, sizeof(a)),
                 f->fixed);
            return false;
        }
        if (f->aux != GE_XML_NO_AUX)
            *(bool *)((unsigned char *)fr->obj + f->aux) = true;
    }
    for (uint32_t k = 0; t && k < t->n_attrs; k++)
        if (t->attrs[k].min && !(seen & ((uint64_t)1 << k))) {
            FAIL(d, GE_ERR_SCHEMA, "missing required attribute '%s' on '%s'", t->attrs[k].name,
                 frname(d, fr, b, sizeof(b)));
            return false;
        }
    return true;
}

/* ---- opaque capture ---------------------------------------------------------------------------------- */

static int raw_start(ge_xml_decoder_t *d, const char *name, const char **atts)
{
    qname_t q = split_name(name);
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
    for (size_t i = 0; atts[i]; i += 2) {
        qname_t a = split_name(atts[i]);
        if (a.urilen) {
            rc |= ge_buf_printf(&d->raw, " xmlns:a%zu=\"", i / 2);
            rc |= ge__xml_escape(&d->raw, a.uri, a.urilen, 1);
            rc |= ge_buf_printf(&d->raw, "\" a%zu:%s=\"", i / 2, a.local);
        } else {
            rc |= ge_buf_printf(&d->raw, " %s=\"", a.local);
        }
        rc |= ge__xml_escape(&d->raw, atts[i + 1], strlen(atts[i + 1]), 1);
        rc |= ge_buf_putc(&d->raw, '"');
    }
    rc |= ge_buf_putc(&d->raw, '>');
    d->raw_open = d->raw.len;
    return rc ? GE_ERR_LIMIT : 0;
}

/* The end tag of a captured element: <x/> when it had no content. */
static int raw_end(ge_xml_decoder_t *d, const char *name)
{
    qname_t q = split_name(name);
    unsigned level = d->opaque_depth - 1;

    d->rawns.len = d->rawns_off[level];
    if (d->raw_open == d->raw.len && d->raw.len > 0) {
        d->raw.data[d->raw.len - 1] = '/';
        d->raw_open = 0;
        return ge_buf_putc(&d->raw, '>') ? GE_ERR_LIMIT : 0;
    }
    d->raw_open = 0;
    return ge_buf_printf(&d->raw, "</%s>", q.local) ? GE_ERR_LIMIT : 0;
}

/* ---- expat callbacks ----------------------------------------------------------------------------------- */

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    ge_xml_decoder_t *d = ud;
    frame_t *parent, *fr;
    qname_t q;
    uint32_t idx;
    const ge_xml_field_t *f;
    char a[96];

    if (d->failed)
        return;
    if (++d->elements > d->lim.max_elements) {
        FAIL(d, GE_ERR_LIMIT, "more than %zu elements in the document", d->lim.max_elements);
        return;
    }
    if (d->depth + d->opaque_depth >= d->lim.max_depth) {
        FAIL(d, GE_ERR_LIMIT, "elements nested deeper than %u levels", d->lim.max_depth);
        return;
    }
    if (d->opaque_depth) {
        d->opaque_depth++;
        if (raw_start(d, name, atts) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    q = split_name(name);
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
        fr = &d->frames[0];
        memset(fr, 0, sizeof(*fr));
        fr->kind = FR_COMPLEX;
        fr->type = root->type;
        fr->list = NONE;
        mark_pos(d, fr);
        fr->obj = ge_arena_zalloc(d->arena, root->type->size);
        if (!fr->obj) {
            fail_alloc(d, ge_arena_error(d->arena));
            return;
        }
        d->result.value = fr->obj;
        fr->cbase = 0;
        if (grow(d, (void **)&d->counts, &d->capcounts, root->type->n_elems + 1, sizeof(uint32_t)) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memset(d->counts, 0, root->type->n_elems * sizeof(uint32_t));
        d->ncounts = root->type->n_elems;
        d->depth = 1;
        d->textlen = 0;
        attributes(d, fr, atts);
        return;
    }
    parent = &d->frames[d->depth - 1];
    if (parent->kind != FR_COMPLEX || parent->type->text) {
        FAIL(d, GE_ERR_SCHEMA, "element '%s' is not allowed inside '%s', which holds a simple value", q.local,
             frname(d, parent, a, sizeof(a)));
        return;
    }
    resolve_ns(d, &q);
    idx = match_child(d, parent, &q);
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
    if (f->what == GE_XML_F_OPAQUE) {
        fr->kind = FR_OPAQUE;
        d->depth++;
        d->opaque_depth = 1;
        ge_buf_clear(&d->raw);
        if (raw_start(d, name, atts) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    if (f->ctype) {
        void *obj = ge_arena_zalloc(d->arena, f->ctype->size);
        if (!obj) {
            fail_alloc(d, ge_arena_error(d->arena));
            return;
        }
        int rc = store_item(d, parent, idx, &obj);
        if (rc < 0) {
            fail_alloc(d, rc); /* the arena's cap (GE_ERR_LIMIT) or the heap */
            return;
        }
        fr->kind = FR_COMPLEX;
        fr->type = f->ctype;
        fr->obj = obj;
        fr->cbase = (uint32_t)d->ncounts;
        if (grow(d, (void **)&d->counts, &d->capcounts, d->ncounts + f->ctype->n_elems + 1,
                 sizeof(uint32_t)) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memset(d->counts + d->ncounts, 0, f->ctype->n_elems * sizeof(uint32_t));
        d->ncounts += f->ctype->n_elems;
        d->depth++;
        attributes(d, fr, atts);
        return;
    }
    fr->kind = FR_SIMPLE;
    d->depth++;
    for (size_t i = 0; atts[i]; i += 2) {
        qname_t at = split_name(atts[i]);
        if (!(at.urilen == sizeof(XSI_NS) - 1 && memcmp(at.uri, XSI_NS, at.urilen) == 0 &&
              strcmp(at.local, "schemaLocation") == 0)) {
            FAIL(d, GE_ERR_SCHEMA, "attribute '%s' is not allowed on '%s'", at.local, fname(d->schema, f, a, sizeof(a)));
            return;
        }
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    ge_xml_decoder_t *d = ud;
    frame_t *fr;
    char a[96];

    if (d->failed || d->depth == 0)
        return;
    if (d->opaque_depth) {
        d->raw_open = 0;
        if (ge__xml_escape(&d->raw, s, (size_t)len, 0) < 0)
            FAIL(d, GE_ERR_LIMIT, "opaque element larger than %zu bytes", d->lim.max_doc_size);
        return;
    }
    fr = &d->frames[d->depth - 1];
    if (fr->kind == FR_SIMPLE || (fr->kind == FR_COMPLEX && fr->type->text)) {
        if (d->textlen + (size_t)len > d->lim.max_string) {
            FAIL(d, GE_ERR_LIMIT, "text of '%s' is longer than %zu bytes", frname(d, fr, a, sizeof(a)),
                 d->lim.max_string);
            return;
        }
        if (grow(d, (void **)&d->text, &d->textcap, d->textlen + (size_t)len + 1, 1) < 0) {
            fail_alloc(d, GE_ERR_NOMEM);
            return;
        }
        memcpy(d->text + d->textlen, s, (size_t)len);
        d->textlen += (size_t)len;
        return;
    }
    for (int i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            FAIL(d, GE_ERR_SCHEMA, "text is not allowed in '%s', which holds elements only",
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

    if (grow(d, (void **)&d->text, &d->textcap, d->textlen + 1, 1) < 0) {
        fail_alloc(d, GE_ERR_NOMEM);
        return false;
    }
    d->text[d->textlen] = '\0';
    rc = ge_xml_parse_value(f->stype, d->text, d->textlen, d->arena, dst, msg, sizeof(msg));
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

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    ge_xml_decoder_t *d = ud;
    frame_t *fr, *parent;
    int rc;

    if (d->failed)
        return;
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
    d->frames = d->counting.malloc(d->lim.max_depth * sizeof(frame_t), d);
    d->rawns_off = d->counting.malloc(d->lim.max_depth * sizeof(size_t), d);
    if (!d->frames || !d->rawns_off) {
        mem->free(d->frames, mem->ud);
        mem->free(d->rawns_off, mem->ud);
        mem->free(d, mem->ud);
        return GE_ERR_NOMEM;
    }
    /* expat's memory suite has no user pointer, so it allocates with malloc; it is created once
     * here and reset between documents */
    d->parser = XML_ParserCreateNS(NULL, NS_SEP);
    if (!d->parser) {
        mem->free(d->frames, mem->ud);
        mem->free(d->rawns_off, mem->ud);
        mem->free(d, mem->ud);
        return GE_ERR_NOMEM;
    }
    d->started = false;
    setup_parser(d);
    *out = d;
    return 0;
}

void ge_xml_decoder_free(ge_xml_decoder_t *d)
{
    if (!d)
        return;
    if (d->parser)
        XML_ParserFree(d->parser);
    ge_buf_free(&d->raw);
    ge_buf_free(&d->rawns);
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
    if (d->started) {
        /* only a used parser needs a reset: the first document after new() starts fresh */
        if (!XML_ParserReset(d->parser, NULL))
            return GE_ERR_NOMEM;
        setup_parser(d);
    }
    d->started = false;
    d->want = schema;
    d->schema = schema ? schema : &ge_xml_schema_sep;
    d->arena = arena;
    d->depth = 0;
    d->ncounts = 0;
    d->scrlen = 0;
    d->textlen = 0;
    d->opaque_depth = 0;
    d->fed = 0;
    d->elements = 0;
    d->done = false;
    d->failed = false;
    d->final_call = false;
    d->nsc_n = 0;
    d->utf8 = true;
    d->anchored = false;
    memset(&d->result, 0, sizeof(d->result));
    memset(&d->err, 0, sizeof(d->err));
    return 0;
}

int ge_xml_decoder_feed(ge_xml_decoder_t *d, const void *data, size_t len, bool is_final)
{
    enum XML_Status st;

    if (!d || (!data && len))
        return GE_ERR_INVALID;
    if (d->failed)
        return d->err.code;
    if (!d->arena)
        return GE_ERR_STATE;
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
    while (len > 0 || is_final) {
        /* expat takes an int length */
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        bool last = is_final && (size_t)n == len;
        d->final_call = last;
        st = XML_Parse(d->parser, data, n, last);
        if (d->failed)
            return d->err.code;
        if (st != XML_STATUS_OK) {
            enum XML_Error e = XML_GetErrorCode(d->parser);
            set_error_at(d, e == XML_ERROR_NO_MEMORY ? GE_ERR_NOMEM : GE_ERR_PARSE,
                         (unsigned long)XML_GetErrorLineNumber(d->parser),
                         (unsigned long)XML_GetErrorColumnNumber(d->parser) + 1, "not well-formed XML: %s",
                         XML_ErrorString(e));
            return d->err.code;
        }
        data = (const char *)data + n;
        len -= (size_t)n;
        if (last)
            break;
    }
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
    return 0;
}

const ge_xml_error_t *ge_xml_decoder_error(const ge_xml_decoder_t *d)
{
    return &d->err;
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
