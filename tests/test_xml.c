/* test_xml.c - the XML codec: every root element of both schemas built from the tables, encoded,
 * validated with libxml2 against the official XSDs, decoded and encoded again to the same bytes;
 * our test documents decoded whole and one byte at a time; one negative case per rule the decoder
 * enforces (order, multiplicity, each facet kind, attributes, roots, DTDs and entities, caps); the
 * encoder's own checks; reuse without heap allocation; and a failmalloc sweep. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include <gridedge/gridedge.h>
#include <gridedge/xml.h>
#include <gridedge/xml_oadr20b.h>
#include <gridedge/xml_sep.h>

#include "failmem.h"
#include "runner.h"
#include "stack/xml/xml_internal.h"
#include "test_xml_common.h"

/* ---- libxml2 against the official XSDs ----------------------------------------------------------- */

typedef struct xsd {
    xmlSchemaPtr schema;
    int tried;
} xsd_t;

static xsd_t xsd_sep, xsd_sep13, xsd_sep_plain, xsd_oadr;
static char xsd_msg[512];

static void xsd_err(void *ud, xmlErrorPtr err)
{
    (void)ud;
    if (err && !xsd_msg[0])
        snprintf(xsd_msg, sizeof(xsd_msg), "line %d: %s", err->line, err->message ? err->message : "?");
}

static int is_sep(const ge_xml_schema_t *s)
{
    return s == &ge_xml_schema_sep || s == &ge_xml_schema_sep_alt;
}

/* sep: the CSIP-AUS set (csipaus-core.xsd redefines sep.xsd; ge_xml_schema_sep_alt writes CSIP-AUS
 * v1.3's namespace: csipaus-core-v1.3.xsd) or, with PLAIN, IEEE 2030.5 alone */
static xmlSchemaPtr xsd_for(const ge_xml_schema_t *s, int plain)
{
    int v13 = s == &ge_xml_schema_sep_alt;
    xsd_t *x = is_sep(s) ? (plain ? &xsd_sep_plain : v13 ? &xsd_sep13 : &xsd_sep) : &xsd_oadr;
    const char *dir = txml_schemas_dir();
    char path[4096];
    xmlSchemaParserCtxtPtr p;

    if (x->tried)
        return x->schema;
    x->tried = 1;
    if (!dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir,
             !is_sep(s) ? "oadr20b/oadr_20b.xsd" : plain ? "sep/sep.xsd"
             : v13 ? "csipaus/csipaus-core-v1.3.xsd" : "csipaus/csipaus-core.xsd");
    xmlSetStructuredErrorFunc(NULL, xsd_err);
    p = xmlSchemaNewParserCtxt(path);
    if (p) {
        x->schema = xmlSchemaParse(p);
        xmlSchemaFreeParserCtxt(p);
    }
    xmlSetStructuredErrorFunc(NULL, NULL);
    return x->schema;
}

static int xsd_valid1(const ge_xml_schema_t *s, int plain, const char *doc, size_t len);

/* 1 valid, 0 invalid (message in xsd_msg), -1 no XSDs here.  Our sep schema takes both IEEE
 * 2030.5 documents and CSIP-AUS ones (whose DERCapability requires doeModesSupported). */
static int xsd_valid(const ge_xml_schema_t *s, const char *doc, size_t len)
{
    int v = xsd_valid1(s, 0, doc, len);
    char first[sizeof(xsd_msg)];
    if (v != 0 || !is_sep(s))
        return v;
    memcpy(first, xsd_msg, sizeof(first));
    v = xsd_valid1(s, 1, doc, len);
    if (v == 0)
        memcpy(xsd_msg, first, sizeof(first));
    return v;
}

static int xsd_valid1(const ge_xml_schema_t *s, int plain, const char *doc, size_t len)
{
    xmlSchemaPtr schema = xsd_for(s, plain);
    xmlSchemaValidCtxtPtr v;
    xmlDocPtr d;
    int ok;

    if (!schema)
        return -1;
    xsd_msg[0] = '\0';
    xmlSetStructuredErrorFunc(NULL, xsd_err);
    d = xmlReadMemory(doc, (int)len, "doc.xml", NULL, XML_PARSE_NONET);
    if (!d) {
        xmlSetStructuredErrorFunc(NULL, NULL);
        return 0;
    }
    v = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(v, xsd_err, NULL);
    ok = xmlSchemaValidateDoc(v, d) == 0;
    xmlSchemaFreeValidCtxt(v);
    xmlFreeDoc(d);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return ok;
}

/* ---- building a sample of any type from the tables ----------------------------------------------- */

typedef struct sampler {
    ge_arena_t *arena;
    int full;      /* fill optional parts too */
    int alt;       /* which alternative of each choice (modulo its size) */
    unsigned counter;
    int failed;
} sampler_t;

/* The shortest string the pattern's NFA accepts (BFS over states; a class gives its first char). */
static void nfa_sample(const ge_xml_pattern_t *p, char *out, size_t size)
{
    int prev[1024], via[1024];
    uint16_t queue[1024];
    size_t head = 0, tail = 0;
    int match = -1;

    for (int i = 0; i < p->n_states; i++)
        prev[i] = -2;
    prev[p->start] = -1;
    via[p->start] = 0;
    queue[tail++] = p->start;
    while (head < tail && match < 0) {
        uint16_t s = queue[head++];
        const ge_xml_nfa_state_t *st = &p->states[s];
        uint16_t next[2];
        int nn = 0, ch = 0;
        if (st->op == GE_XML_NFA_MATCH) {
            match = s;
            break;
        }
        if (st->op == GE_XML_NFA_SPLIT) {
            next[nn++] = st->out;
            next[nn++] = st->out1;
        } else {
            if (st->negate) {
                /* the first of a few friendly characters not in the ranges */
                const char *try = "a0Z_";
                for (const char *c = try; *c && !ch; c++) {
                    int in = 0;
                    for (uint16_t k = 0; k < st->n; k++)
                        if ((uint32_t)*c >= p->ranges[2 * (st->first + k)] &&
                            (uint32_t)*c <= p->ranges[2 * (st->first + k) + 1])
                            in = 1;
                    if (!in)
                        ch = *c;
                }
            } else {
                ch = (int)p->ranges[2 * st->first];
            }
            next[nn++] = st->out;
        }
        for (int k = 0; k < nn; k++)
            if (prev[next[k]] == -2) {
                prev[next[k]] = s;
                via[next[k]] = st->op == GE_XML_NFA_CLASS ? ch : 0;
                queue[tail++] = next[k];
            }
    }
    {
        char rev[256];
        size_t n = 0;
        for (int s = match; s >= 0 && prev[s] != -1 && n < sizeof(rev); s = prev[s])
            if (via[s])
                rev[n++] = (char)via[s];
        size_t j = 0;
        while (n > 0 && j + 1 < size)
            out[j++] = rev[--n];
        out[j] = '\0';
    }
}

static void sample_text(sampler_t *s, const ge_xml_stype_t *t, char *out, size_t size)
{
    const char *b = t->builtin ? t->builtin : "";

    if (t->n_members) {
        sample_text(s, t->members[(unsigned)s->alt % t->n_members], out, size);
        return;
    }
    if (t->n_enums) {
        snprintf(out, size, "%s", t->enums[(unsigned)s->alt % t->n_enums]);
        return;
    }
    if (!strcmp(b, "dateTime")) {
        snprintf(out, size, "2026-11-30T17:%02u:00Z", s->counter++ % 60);
        return;
    }
    if (t->n_patterns) {
        nfa_sample(t->patterns[0], out, size);
        return;
    }
    if (!strcmp(b, "duration")) {
        snprintf(out, size, "PT1H");
    } else if (!strcmp(b, "date")) {
        snprintf(out, size, "2026-11-30");
    } else if (!strcmp(b, "time")) {
        snprintf(out, size, "17:00:00");
    } else if (!strcmp(b, "anyURI")) {
        snprintf(out, size, "/r/%u", s->counter++);
    } else if (!strcmp(b, "language")) {
        snprintf(out, size, "en");
    } else if (!strcmp(b, "boolean")) {
        snprintf(out, size, s->alt % 2 ? "false" : "true");
    } else if (t->kind == GE_XML_HEX) {
        size_t n = 2;
        if ((t->flags & GE_XML_S_MINLEN) && t->minlen > n)
            n = t->minlen;
        if ((t->flags & GE_XML_S_MAXLEN) && t->maxlen < n)
            n = t->maxlen;
        out[0] = '\0';
        for (size_t i = 0; i < n && 2 * i + 2 < size; i++)
            snprintf(out + 2 * i, size - 2 * i, "%02X", (unsigned)(0xA0 + i + s->counter % 16));
        s->counter++;
    } else if (t->kind == GE_XML_BASE64) {
        snprintf(out, size, (t->flags & GE_XML_S_MAXLEN) && t->maxlen < 3 ? "AA==" : "AAEC");
    } else if (t->kind >= GE_XML_I8 && t->kind <= GE_XML_I64) {
        long long v = s->alt % 2 ? -1 : 1;
        if (v < t->imin)
            v = t->imin;
        if (v > t->imax)
            v = t->imax;
        snprintf(out, size, "%lld", v);
    } else if (t->kind >= GE_XML_U8 && t->kind <= GE_XML_U64) {
        unsigned long long v = 1 + (unsigned)s->alt;
        if (v < t->umin)
            v = t->umin;
        if (v > t->umax)
            v = t->umax;
        snprintf(out, size, "%llu", v);
    } else if (t->kind == GE_XML_DOUBLE) {
        double v = 1.5;
        if ((t->flags & GE_XML_S_DMIN) && v <= t->dmin)
            v = t->dmin + 0.5;
        if ((t->flags & GE_XML_S_DMAX) && v >= t->dmax)
            v = t->dmax - 0.5;
        snprintf(out, size, "%g", v);
    } else {
        /* strings: unique (xs:ID must be), within the length facets */
        size_t max = (t->flags & GE_XML_S_MAXLEN) ? t->maxlen : 40;
        size_t min = (t->flags & GE_XML_S_MINLEN) ? t->minlen : 0;
        snprintf(out, size, "s%u", s->counter++);
        if (strlen(out) > max)
            out[max] = '\0';
        for (size_t l = strlen(out); l < min && l + 1 < size; l++) {
            out[l] = 'x';
            out[l + 1] = '\0';
        }
    }
}

static void fill_simple(sampler_t *s, const ge_xml_field_t *f, void *dst)
{
    char text[256], msg[200];
    int rc;

    if (f->fixed)
        snprintf(text, sizeof(text), "%s", f->fixed);
    else
        sample_text(s, f->stype, text, sizeof(text));
    rc = ge_xml_parse_value(f->stype, text, strlen(text), s->arena, dst, msg, sizeof(msg));
    if (rc < 0) {
        fprintf(stderr, "\nsample '%s' for %s (%s) rejected: %s\n", text, f->name, f->stype->name, msg);
        s->failed = 1;
    }
}

static const char *opaque_sample(const ge_xml_schema_t *sc, const ge_xml_field_t *f, char *buf, size_t size)
{
    if (!strcmp(f->name, "feed"))
        snprintf(buf, size, "<feed xmlns=\"http://www.w3.org/2005/Atom\"><id>urn:x</id><title>t</title>"
                            "<updated>2026-11-30T00:00:00Z</updated></feed>");
    else
        snprintf(buf, size, "<%s xmlns=\"%s\"/>", f->name, f->ns < sc->n_ns ? sc->ns_uri[f->ns] : "");
    return buf;
}

static void *build(sampler_t *s, const ge_xml_schema_t *sc, const ge_xml_ctype_t *t, int depth)
{
    unsigned char *obj = ge_arena_zalloc(s->arena, t->size);
    uint32_t chosen[64];

    if (!obj) {
        s->failed = 1;
        return NULL;
    }
    for (uint32_t k = 0; k < t->n_attrs; k++) {
        const ge_xml_field_t *f = &t->attrs[k];
        if (!f->min && !s->full)
            continue;
        fill_simple(s, f, obj + f->off);
        if (f->aux != GE_XML_NO_AUX)
            *(bool *)(obj + f->aux) = true;
    }
    if (t->text)
        fill_simple(s, t->text, obj + t->text->off);
    for (uint32_t g = 0; g < t->n_groups && g < 64; g++)
        chosen[g] = t->groups[g].first + (uint32_t)s->alt % t->groups[g].n;
    for (uint32_t k = 0; k < t->n_elems; k++) {
        const ge_xml_field_t *f = &t->elems[k];
        size_t n, isz;
        unsigned char *dst;
        if (f->group) {
            const ge_xml_group_t *g = &t->groups[f->group - 1];
            n = k != chosen[f->group - 1] ? 0 : (g->min > 0 || (s->full && depth < 4)) ? (g->min > 1 ? g->min : 1) : 0;
        } else {
            n = f->min;
            /* optional opaque parts (xmldsig) are left out: we do not make signatures here */
            if (s->full && depth < 4 && n == 0 && f->what != GE_XML_F_OPAQUE)
                n = 1;
            if (s->full && depth < 2 && f->max > 1 && n < 2)
                n = 2;
        }
        if (n == 0)
            continue;
        isz = f->what == GE_XML_F_OPAQUE || f->ctype ? sizeof(void *) : 0;
        if (!isz) {
            switch (f->stype->n_members ? GE_XML_STRING : f->stype->kind) {
            case GE_XML_STRING: isz = sizeof(char *); break;
            case GE_XML_BOOL: isz = sizeof(bool); break;
            case GE_XML_I8: case GE_XML_U8: isz = 1; break;
            case GE_XML_I16: case GE_XML_U16: isz = 2; break;
            case GE_XML_I32: case GE_XML_U32: isz = 4; break;
            case GE_XML_I64: case GE_XML_U64: isz = 8; break;
            case GE_XML_DOUBLE: isz = sizeof(double); break;
            default: isz = sizeof(ge_xml_bytes_t); break;
            }
        }
        if (f->max > 1) {
            dst = ge_arena_zalloc(s->arena, n * isz);
            *(void **)(obj + f->off) = dst;
            *(size_t *)(obj + f->aux) = n;
        } else {
            dst = obj + f->off;
            if (f->aux != GE_XML_NO_AUX)
                *(bool *)(obj + f->aux) = true;
        }
        for (size_t i = 0; i < n && dst; i++) {
            unsigned char *item = dst + i * isz;
            if (f->what == GE_XML_F_OPAQUE) {
                char buf[512];
                opaque_sample(sc, f, buf, sizeof(buf));
                *(char **)item = ge_arena_strndup(s->arena, buf, strlen(buf));
            } else if (f->ctype) {
                *(void **)item = build(s, sc, f->ctype, depth + 1);
            } else {
                fill_simple(s, f, item);
            }
        }
    }
    return obj;
}

/* ---- round trips ------------------------------------------------------------------------------------ */

static ge_xml_decoder_t *dec;
static ge_arena_t *arena1, *arena2;

static void teardown(void)
{
    ge_xml_decoder_free(dec);
    ge_arena_free(arena1);
    ge_arena_free(arena2);
    if (xsd_sep.schema)
        xmlSchemaFree(xsd_sep.schema);
    if (xsd_sep13.schema)
        xmlSchemaFree(xsd_sep13.schema);
    if (xsd_sep_plain.schema)
        xmlSchemaFree(xsd_sep_plain.schema);
    if (xsd_oadr.schema)
        xmlSchemaFree(xsd_oadr.schema);
    xmlCleanupParser();
}

static int setup(void)
{
    atexit(teardown);
    if (ge_xml_decoder_new(&dec, NULL, NULL, NULL) < 0)
        return -1;
    if (ge_arena_new(&arena1, NULL, 0, 0) < 0 || ge_arena_new(&arena2, NULL, 0, 0) < 0)
        return -1;
    return 0;
}

/* Encode VALUE of ROOT (a struct of TYPE, NULL: the root's type), validate, decode, encode
 * again: same bytes.  Returns 0 on success. */
static int round_trip(const ge_xml_schema_t *sc, const ge_xml_root_t *root, const ge_xml_ctype_t *type,
                      const void *value, const char *what, int *validated)
{
    ge_buf_t a, b, j;
    ge_xml_error_t err;
    ge_xml_msg_t msg = { sc, root, (void *)value, type };
    int rc, bad = 0, v;

    ge_buf_init(&a, NULL, 64 << 20);
    ge_buf_init(&b, NULL, 64 << 20);
    ge_buf_init(&j, NULL, 64 << 20);
    rc = type ? ge_xml_encode_msg(&a, &msg, &err) : ge_xml_encode(&a, sc, root, value, &err);
    if (rc < 0) {
        fprintf(stderr, "\n%s %s: encode failed: %s\n", what, root->name, err.msg);
        bad = 1;
        goto out;
    }
    v = xsd_valid(sc, a.data, a.len);
    if (v == 0) {
        fprintf(stderr, "\n%s %s: encoder output is not valid per the XSD: %s\n%s\n", what, root->name, xsd_msg, a.data);
        bad = 1;
    }
    if (v == 1)
        (*validated)++;
    ge_arena_reset(arena2);
    rc = ge_xml_decode(dec, sc, arena2, a.data, a.len, &msg);
    if (rc < 0) {
        const ge_xml_error_t *e = ge_xml_decoder_error(dec);
        fprintf(stderr, "\n%s %s: decode failed at %lu:%lu: %s\n%s\n", what, root->name, e->line, e->col, e->msg, a.data);
        bad = 1;
        goto out;
    }
    if (msg.root != root || msg.type != (type ? type : root->type)) {
        fprintf(stderr, "\n%s %s: decoded as root %s of type %s\n", what, root->name, msg.root->name, msg.type->name);
        bad = 1;
    }
    rc = ge_xml_encode_msg(&b, &msg, &err);
    if (rc < 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr, "\n%s %s: second encoding differs\n%s\n%s\n", what, root->name, a.data, ge_buf_str(&b));
        bad = 1;
    }
    if (ge_xml_to_json(&j, &msg) < 0 || j.len < 2 || j.data[0] != '{') {
        fprintf(stderr, "\n%s %s: JSON failed\n", what, root->name);
        bad = 1;
    }
out:
    ge_buf_free(&a);
    ge_buf_free(&b);
    ge_buf_free(&j);
    return bad ? -1 : 0;
}

static void every_root(const ge_xml_schema_t *sc)
{
    int failures = 0, validated = 0, runs = 0;
    static const struct {
        int full, alt;
        const char *name;
    } variants[] = { { 0, 0, "minimal" }, { 1, 0, "full" }, { 1, 1, "full/alt" } };

    for (uint32_t r = 0; r < sc->n_roots; r++) {
        for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
            sampler_t s = { arena1, variants[v].full, variants[v].alt, 0, 0 };
            void *value;
            ge_arena_reset(arena1);
            value = build(&s, sc, sc->roots[r].type, 0);
            runs++;
            if (s.failed || !value || round_trip(sc, &sc->roots[r], NULL, value, variants[v].name, &validated) < 0)
                failures++;
        }
    }
    printf("\n  %s: %u roots, %d round trips, %d checked against the XSD, %d failed\n", sc->name,
           (unsigned)sc->n_roots, runs, validated, failures);
    CU_ASSERT_EQUAL(failures, 0);
    if (txml_schemas_dir()) {
        CU_ASSERT_EQUAL(validated, runs);
    } else {
        printf("  note: official XSDs not found; encoder output not validated\n");
    }
}

/* Samples of every type fill in CSIP-AUS v1.3's additions too: written in v1.3's namespace, they
 * are checked against v1.3's XSDs (a superset of v1.2's). */
static void test_every_sep_root(void)
{
    every_root(&ge_xml_schema_sep_alt);
}

static void test_every_oadr_root(void)
{
    every_root(&ge_xml_schema_oadr20b);
}

/* ---- our documents ------------------------------------------------------------------------------------ */

static const char *const docs[] = {
    "sep-dercontrol.xml", "sep-dcap.xml", "sep-enddevice-list.xml", "sep-mirror-usage-point.xml",
    "sep-dercapability-csipaus.xml", "sep-notification.xml", "oadr-distribute-event.xml", "oadr-register-report.xml",
    "oadr-update-report.xml", "oadr-create-party-registration.xml", "oadr-created-event.xml", NULL,
};

static char *decode_to_xml(const char *doc, size_t len, size_t chunk, const ge_xml_schema_t *sc,
                           ge_xml_error_t *errout)
{
    ge_xml_msg_t msg;
    ge_buf_t out;
    int rc;

    ge_arena_reset(arena1);
    rc = ge_xml_decoder_reset(dec, sc, arena1);
    for (size_t off = 0; rc == 0 && off < len; off += chunk)
        rc = ge_xml_decoder_feed(dec, doc + off, off + chunk < len ? chunk : len - off, false);
    if (rc == 0)
        rc = ge_xml_decoder_feed(dec, NULL, 0, true);
    if (rc == 0)
        rc = ge_xml_decoder_result(dec, &msg);
    if (rc < 0) {
        if (errout)
            *errout = *ge_xml_decoder_error(dec);
        return NULL;
    }
    ge_buf_init(&out, NULL, 0);
    if (ge_xml_encode_msg(&out, &msg, NULL) < 0) {
        ge_buf_free(&out);
        return NULL;
    }
    return out.data;
}

static void test_documents(void)
{
    for (int i = 0; docs[i]; i++) {
        size_t len;
        char *doc = txml_read_data(docs[i], &len);
        ge_xml_error_t err;
        char *whole, *again;
        const ge_xml_schema_t *sc = strncmp(docs[i], "sep", 3) == 0 ? &ge_xml_schema_sep : &ge_xml_schema_oadr20b;
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        /* our documents are valid per the official XSDs */
        CU_ASSERT_NOT_EQUAL(xsd_valid(sc, doc, len), 0);
        memset(&err, 0, sizeof(err));
        whole = decode_to_xml(doc, len, len ? len : 1, NULL, &err);
        if (!whole)
            fprintf(stderr, "\n%s:%lu:%lu: %s\n", docs[i], err.line, err.col, err.msg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
        CU_ASSERT_NOT_EQUAL(xsd_valid(sc, whole, strlen(whole)), 0);
        /* canonical output is a fixed point */
        again = decode_to_xml(whole, strlen(whole), strlen(whole), sc, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(again);
        CU_ASSERT_STRING_EQUAL(whole, again);
        free(again);
        /* any chunking gives the same message */
        for (size_t chunk = 1; chunk < 200; chunk = chunk * 3 + 4) {
            char *part = decode_to_xml(doc, len, chunk, sc, NULL);
            CU_ASSERT_PTR_NOT_NULL(part);
            if (part) {
                CU_ASSERT_STRING_EQUAL(whole, part);
            }
            free(part);
        }
        free(whole);
        free(doc);
    }
}

/* CSIP-AUS v1.3 writes its extensions in https://csipaus.org/ns/v1.3 (v1.2: https://csipaus.org/ns).
 * Either schema object decodes both; a decoded message keeps the URIs its document used; the
 * encoder writes v1.2's with ge_xml_schema_sep and v1.3's with ge_xml_schema_sep_alt; other
 * namespaces are still refused. */
#define DERCAP_HEAD(ns) "<DERCapability xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"" ns "\" href=\"/edev/0/der/0/dercap\">" \
    "<modesSupported>00500088</modesSupported><rtgMaxW><multiplier>0</multiplier><value>5000</value></rtgMaxW>" \
    "<type>83</type><csipaus:doeModesSupported>0F</csipaus:doeModesSupported>"

static void test_csipaus_v13_namespace(void)
{
    static const char dercap13[] = DERCAP_HEAD("https://csipaus.org/ns/v1.3")
        "<csipaus:vppModesSupported>03</csipaus:vppModesSupported></DERCapability>";
    static const char dercap12[] = DERCAP_HEAD("https://csipaus.org/ns") "</DERCapability>";
    static const char cp13[] = "<ConnectionPoint xmlns=\"https://csipaus.org/ns/v1.3\" href=\"/edev/1/cp\">"
                               "<connectionPointId>4123456789</connectionPointId></ConnectionPoint>";
    static const char *const refused[][2] = {
        { DERCAP_HEAD("https://csipaus.org/ns/v1.4") "</DERCapability>", "https://csipaus.org/ns/v1.4" },
        { "<ConnectionPoint xmlns=\"https://csipaus.org/ns/v1.4\"><connectionPointId>1</connectionPointId></ConnectionPoint>",
          "unknown root element 'ConnectionPoint' in namespace 'https://csipaus.org/ns/v1.4'" },
        { DERCAP_HEAD("https://csipaus.org/ns/v1.3") "<csipaus:bogus/></DERCapability>", "csipaus:bogus" },
    };
    const ge_xml_schema_t *wants[] = { &ge_xml_schema_sep, &ge_xml_schema_sep_alt, NULL };
    ge_xml_msg_t msg;
    ge_buf_t out;
    char *whole;

    /* decoded by any schema, whole or in pieces: re-encoded in v1.3, valid per v1.3's XSDs */
    for (size_t w = 0; w < sizeof(wants) / sizeof(wants[0]); w++)
        for (size_t chunk = 1; chunk < 400; chunk = chunk * 3 + 4) {
            ge_xml_error_t err;
            memset(&err, 0, sizeof(err));
            whole = decode_to_xml(dercap13, sizeof(dercap13) - 1, chunk, wants[w], &err);
            if (!whole)
                fprintf(stderr, "\n%lu:%lu: %s\n", err.line, err.col, err.msg);
            CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
            CU_ASSERT_PTR_NOT_NULL(strstr(whole, "xmlns:csipaus=\"https://csipaus.org/ns/v1.3\""));
            CU_ASSERT_PTR_NOT_NULL(strstr(whole, "<csipaus:vppModesSupported>03</csipaus:vppModesSupported>"));
            CU_ASSERT_NOT_EQUAL(xsd_valid(&ge_xml_schema_sep_alt, whole, strlen(whole)), 0);
            free(whole);
        }
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, &ge_xml_schema_sep, arena1, dercap13, sizeof(dercap13) - 1, &msg), 0);
    CU_ASSERT_PTR_EQUAL(msg.schema, &ge_xml_schema_sep_alt);
    CU_ASSERT_PTR_EQUAL(msg.root, &ge_xml_schema_sep.roots[SEP_ROOT_DERCapability]);
    CU_ASSERT_EQUAL(((const sep_DERCapability_t *)msg.value)->vppModesSupported.len, 1);
    CU_ASSERT_EQUAL(((const sep_DERCapability_t *)msg.value)->doeModesSupported.data[0], 0x0F);
    /* the same value written as v1.2 asks: v1.2's URI */
    ge_buf_init(&out, NULL, 0);
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, msg.root, msg.value, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "xmlns:csipaus=\"https://csipaus.org/ns\""));
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&out), "v1.3"));
    ge_buf_free(&out);

    /* a v1.3 root: its v1.2 form is valid per v1.2's XSDs, its v1.3 form per v1.3's */
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, NULL, arena1, cp13, sizeof(cp13) - 1, &msg), 0);
    CU_ASSERT_PTR_EQUAL(msg.schema, &ge_xml_schema_sep_alt);
    CU_ASSERT_PTR_EQUAL(msg.root, &ge_xml_schema_sep.roots[SEP_ROOT_csipaus_ConnectionPoint]);
    ge_buf_init(&out, NULL, 0);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, NULL), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&out), cp13);
    CU_ASSERT_NOT_EQUAL(xsd_valid(&ge_xml_schema_sep_alt, out.data, out.len), 0);
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, msg.root, msg.value, NULL), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&out), "<ConnectionPoint xmlns=\"https://csipaus.org/ns\" href=\"/edev/1/cp\">"
                                             "<connectionPointId>4123456789</connectionPointId></ConnectionPoint>");
    CU_ASSERT_NOT_EQUAL(xsd_valid(&ge_xml_schema_sep, out.data, out.len), 0);
    ge_buf_free(&out);

    /* a v1.2 document stays v1.2, whichever schema decodes it */
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, &ge_xml_schema_sep_alt, arena1, dercap12, sizeof(dercap12) - 1, &msg), 0);
    CU_ASSERT_PTR_EQUAL(msg.schema, &ge_xml_schema_sep);
    whole = decode_to_xml(dercap12, sizeof(dercap12) - 1, 7, &ge_xml_schema_sep_alt, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    CU_ASSERT_PTR_NULL(strstr(whole, "v1.3"));
    CU_ASSERT_NOT_EQUAL(xsd_valid(&ge_xml_schema_sep, whole, strlen(whole)), 0);
    free(whole);

    /* other namespaces: refused, and said so */
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        ge_xml_error_t err;
        memset(&err, 0, sizeof(err));
        whole = decode_to_xml(refused[i][0], strlen(refused[i][0]), 5, &ge_xml_schema_sep, &err);
        CU_ASSERT_PTR_NULL(whole);
        free(whole);
        CU_ASSERT_EQUAL(err.code, GE_ERR_SCHEMA);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, refused[i][1]));
        if (!strstr(err.msg, refused[i][1]))
            fprintf(stderr, "\n%s\n", err.msg);
    }
}

/* Typed access: what an engine reads out of a decoded DERControl and oadrDistributeEvent. */
static void test_typed_access(void)
{
    size_t len;
    char *doc = txml_read_data("sep-dercontrol.xml", &len);
    ge_xml_msg_t msg;
    const sep_DERControl_t *c;
    const oadr_oadrPayload_t *p;
    const oadr_ei_eiEventType_t *ev;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, &ge_xml_schema_sep, arena1, doc, len, &msg), 0);
    CU_ASSERT_PTR_EQUAL(msg.root, &ge_xml_schema_sep.roots[SEP_ROOT_DERControl]);
    c = msg.value;
    CU_ASSERT_EQUAL(c->mRID.len, 16);
    CU_ASSERT_EQUAL(c->mRID.data[0], 0xB1);
    CU_ASSERT_STRING_EQUAL(c->href, "/derp/0/derc/1");
    CU_ASSERT_EQUAL(c->creationTime, 1767225600);
    CU_ASSERT_TRUE(c->has_version);
    CU_ASSERT_EQUAL(c->version, 1);
    CU_ASSERT_EQUAL(c->interval->duration, 3600);
    CU_ASSERT_TRUE(c->DERControlBase->has_opModConnect && c->DERControlBase->opModConnect);
    CU_ASSERT_TRUE(c->DERControlBase->has_opModFixedW);
    CU_ASSERT_EQUAL(c->DERControlBase->opModFixedW, -5000);
    CU_ASSERT_EQUAL(c->DERControlBase->opModTargetW->value, 2500);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->DERControlBase->opModExpLimW);
    CU_ASSERT_EQUAL(c->DERControlBase->opModExpLimW->value, 1500);
    CU_ASSERT_PTR_NULL(c->DERControlBase->opModImpLimW);
    CU_ASSERT_FALSE(c->has_randomizeDuration);
    free(doc);

    doc = txml_read_data("oadr-distribute-event.xml", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, NULL, arena1, doc, len, &msg), 0);
    CU_ASSERT_PTR_EQUAL(msg.schema, &ge_xml_schema_oadr20b);
    p = msg.value;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p->oadrSignedObject->oadrDistributeEvent);
    CU_ASSERT_EQUAL_FATAL(p->oadrSignedObject->oadrDistributeEvent->oadrEvent_count, 1);
    ev = p->oadrSignedObject->oadrDistributeEvent->oadrEvent[0]->eiEvent;
    CU_ASSERT_STRING_EQUAL(ev->eventDescriptor->eventID, "event-7");
    CU_ASSERT_STRING_EQUAL(ev->eiEventSignals->eiEventSignal[0]->signalName, "SIMPLE");
    CU_ASSERT_DOUBLE_EQUAL(ev->eiEventSignals->eiEventSignal[0]->intervals->interval[0]->signalPayload[0]->payloadFloat->value,
                           2.0, 1e-9);
    free(doc);
}

/* ---- negative cases ------------------------------------------------------------------------------------ */

#define SEPNS "xmlns=\"urn:ieee:std:2030.5:ns\""
#define OADRNS "xmlns:oadr=\"http://openadr.org/oadr-2.0b/2012/07\" xmlns:ei=\"http://docs.oasis-open.org/ns/energyinterop/201110\" xmlns:pyld=\"http://docs.oasis-open.org/ns/energyinterop/201110/payloads\""
#define XSINS "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
#define NOTIF_HEAD "<Notification " SEPNS " " XSINS "><subscribedResource>/r</subscribedResource>"
#define NOTIF_TAIL "<status>0</status><subscriptionURI>/s</subscriptionURI></Notification>"
#define TIME_OK "<currentTime>1</currentTime><dstEndTime>2</dstEndTime><dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime><quality>7</quality><tzOffset>36000</tzOffset>"

/* '^' marks where the error must be reported (it is removed before decoding). */
static const struct neg {
    const char *what;
    const char *schema;  /* "sep", "oadr20b" or NULL (auto) */
    const char *doc;
    int code;
    const char *msg;     /* a part of the message */
} negatives[] = {
    { "order", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>^<currentTime>1</currentTime></Time>",
      GE_ERR_SCHEMA, "'sep:currentTime' is out of order in 'sep:Time'" },
    { "missing required element", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>"
      "<dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime><quality>7</quality>^</Time>",
      GE_ERR_SCHEMA, "missing required element 'sep:tzOffset' in 'sep:Time'" },
    { "missing required before next", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^<dstOffset>3600</dstOffset></Time>",
      GE_ERR_SCHEMA, "missing required element 'sep:dstEndTime' before 'sep:dstOffset'" },
    { "maxOccurs", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^<currentTime>1</currentTime></Time>",
      GE_ERR_SCHEMA, "'sep:currentTime' occurs more than 1 time in 'sep:Time'" },
    { "unknown element", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^<frob>1</frob></Time>",
      GE_ERR_SCHEMA, "element 'sep:frob' is not allowed in 'sep:Time' here (expected 'sep:dstEndTime')" },
    /* names of a field's length that differ in one byte: in the first or last word compared */
    { "name differs at its end", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^<dstEndTimX>2</dstEndTimX></Time>",
      GE_ERR_SCHEMA, "element 'sep:dstEndTimX' is not allowed in 'sep:Time' here" },
    { "name differs at its start", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^<dstXndTime>2</dstXndTime></Time>",
      GE_ERR_SCHEMA, "element 'sep:dstXndTime' is not allowed in 'sep:Time' here" },
    { "short name differs in its last bytes", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>"
      "<dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime>^<qualiXy>7</qualiXy></Time>",
      GE_ERR_SCHEMA, "element 'sep:qualiXy' is not allowed in 'sep:Time' here" },
    { "short name differs in its first bytes", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>"
      "<dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime>^<quXlity>7</quXlity></Time>",
      GE_ERR_SCHEMA, "element 'sep:quXlity' is not allowed in 'sep:Time' here" },
    { "element in another namespace", "sep", "<Time " SEPNS ">^<currentTime xmlns=\"urn:other\">1</currentTime></Time>",
      GE_ERR_SCHEMA, "'urn:other currentTime' is not allowed in 'sep:Time'" },
    { "hexBinary within maxLength", "sep", "<EndDevice " SEPNS "><lFDI>00</lFDI><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>",
      0, NULL },
    { "hexBinary too long", "sep", "<DERControl " SEPNS ">^<mRID>00112233445566778899AABBCCDDEEFF00</mRID></DERControl>",
      GE_ERR_SCHEMA, "hexBinary value of 17 octets is longer than maxLength 16 of sep:HexBinary128" },
    { "hexBinary odd digits", "sep", "<DERControl " SEPNS ">^<mRID>ABC</mRID></DERControl>",
      GE_ERR_SCHEMA, "is not hexBinary (odd number of digits)" },
    { "hexBinary bad digit", "sep", "<DERControl " SEPNS ">^<mRID>ZZ</mRID></DERControl>",
      GE_ERR_SCHEMA, "value 'ZZ' is not hexBinary" },
    { "UInt8 range", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>"
      "<dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime>^<quality>256</quality><tzOffset>0</tzOffset></Time>",
      GE_ERR_SCHEMA, "value '256' is outside the range 0..255 of sep:UInt8" },
    { "negative UInt", "sep", "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime>"
      "<dstOffset>3600</dstOffset><dstStartTime>4</dstStartTime>^<quality>-1</quality><tzOffset>0</tzOffset></Time>",
      GE_ERR_SCHEMA, "outside the range 0..255" },
    { "Int16 range", "sep", "<ActivePower " SEPNS "><multiplier>0</multiplier>^<value>40000</value></ActivePower>",
      GE_ERR_SCHEMA, "outside the range -32768..32767 of sep:Int16" },
    { "Int48 maxInclusive", "sep", "<Reading " SEPNS ">^<value>140737488355329</value></Reading>", GE_ERR_SCHEMA,
      "value 140737488355329 is outside the range -140737488355328..140737488355328 of sep:Int48" },
    { "Int48 within range", "sep", "<Reading " SEPNS "><value>-140737488355328</value></Reading>", 0, NULL },
    { "not an integer", "sep", "<ActivePower " SEPNS "><multiplier>0</multiplier>^<value>12a</value></ActivePower>",
      GE_ERR_SCHEMA, "value '12a' is not an integer" },
    { "String maxLength", "sep", "<DERControl " SEPNS "><mRID>00</mRID>^<description>"
      "0123456789012345678901234567890123</description></DERControl>",
      GE_ERR_SCHEMA, "34 characters long, more than maxLength 32 of sep:String32" },
    { "maxLength counts characters", "sep", "<FunctionSetAssignmentsBase " SEPNS "/>", 0, NULL },
    { "boolean", "sep", "<DERControlBase " SEPNS ">^<opModConnect>yes</opModConnect></DERControlBase>",
      GE_ERR_SCHEMA, "value 'yes' is not a boolean" },
    { "text in element-only", "sep", "<DERControlBase " SEPNS ">^hello</DERControlBase>",
      GE_ERR_SCHEMA, "text is not allowed in 'sep:DERControlBase'" },
    { "element inside simple", "sep", "<ActivePower " SEPNS "><multiplier>^<value>1</value></multiplier></ActivePower>",
      GE_ERR_SCHEMA, "which holds a simple value" },
    { "unknown attribute", "sep", "^<DERControlBase " SEPNS " frob=\"1\"/>",
      GE_ERR_SCHEMA, "attribute 'frob' is not allowed on 'sep:DERControlBase'" },
    { "required attribute", "sep", "<DeviceCapability " SEPNS ">^<CustomerAccountListLink/></DeviceCapability>",
      GE_ERR_SCHEMA, "missing required attribute 'href' on 'sep:CustomerAccountListLink'" },
    { "attribute facet", "sep", "^<DERControl " SEPNS " responseRequired=\"0102\"><mRID>00</mRID></DERControl>",
      GE_ERR_SCHEMA, "attribute 'responseRequired' of 'sep:DERControl': hexBinary value of 2 octets" },
    { "unknown root", "sep", "^<Frobnicate " SEPNS "/>", GE_ERR_SCHEMA,
      "unknown root element 'Frobnicate' in namespace 'urn:ieee:std:2030.5:ns' for schema sep" },
    { "root of the other schema", "oadr20b", "^<Time " SEPNS "/>", GE_ERR_SCHEMA, "for schema oadr20b" },
    { "root in a longer namespace", NULL, "^<DERControl xmlns=\"urn:ieee:std:2030.5:ns:and-then-some-more\"/>", GE_ERR_SCHEMA,
      "unknown root element 'DERControl' in namespace 'urn:ieee:std:2030.5:ns:and-then-some-more'" },
    { "child in a longer namespace", "sep", "<Time " SEPNS ">^<currentTime xmlns=\"urn:ieee:std:2030.5:ns:and-then-some-more\">1</currentTime></Time>",
      GE_ERR_SCHEMA, "is not allowed in 'sep:Time'" },
    { "root without namespace", NULL, "^<DERControl/>", GE_ERR_SCHEMA, "unknown root element 'DERControl' (no namespace)" },
    { "not well-formed", "sep", "<Time " SEPNS "><currentTime>1</^dstEndTime></Time>", GE_ERR_PARSE,
      "not well-formed XML: mismatched tag" },
    { "truncated", "sep", "<Time " SEPNS "><currentTime>1</currentTime>^", GE_ERR_PARSE, "not well-formed XML" },
    { "empty document", "sep", "^", GE_ERR_PARSE, "not well-formed XML: no element found" },
    /* expat reports a DOCTYPE where its name (and external id) end */
    { "DOCTYPE", "sep", "<!DOCTYPE Time ^[<!ELEMENT Time ANY>]><Time " SEPNS "/>", GE_ERR_SCHEMA, "DOCTYPE is not allowed" },
    { "entity bomb", "sep", "<!DOCTYPE lolz ^[<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;\">]><Time " SEPNS "><currentTime>&lol3;</currentTime></Time>",
      GE_ERR_SCHEMA, "DOCTYPE is not allowed" },
    { "external entity", "sep", "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"^><Time " SEPNS "/>", GE_ERR_SCHEMA,
      "DOCTYPE is not allowed" },
    { "undeclared entity", "sep", "<Time " SEPNS "><currentTime>^&x;</currentTime></Time>", GE_ERR_PARSE,
      "undefined entity" },
    /* xsi:type (polymorphic elements; the positive cases are in test_xsi_*) */
    { "xsi:type: unknown type", "sep", NOTIF_HEAD "^<Resource xsi:type=\"Frob\"/>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "xsi:type 'sep:Frob' on 'sep:Resource': schema sep has no such complex type" },
    { "xsi:type: not derived", "sep", NOTIF_HEAD "^<Resource xsi:type=\"DERControlBase\"/>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "xsi:type 'sep:DERControlBase' on 'sep:Resource' is not derived from sep:Resource" },
    { "xsi:type: root not derived", "sep", "^<DERControl " SEPNS " " XSINS " xsi:type=\"EndDevice\"/>", GE_ERR_SCHEMA,
      "xsi:type 'sep:EndDevice' on 'sep:DERControl' is not derived from sep:DERControl" },
    { "xsi:type: element without derived types", "sep", "<DERControl " SEPNS " " XSINS "><mRID>00</mRID>"
      "<creationTime>1</creationTime>\n  ^<EventStatus xsi:type=\"DERControl\"/></DERControl>", GE_ERR_SCHEMA,
      "xsi:type not allowed on 'sep:EventStatus': its type sep:EventStatus has no derived types" },
    { "xsi:type: repeated element", "sep", "<ResponseList " SEPNS " " XSINS " all=\"1\" results=\"1\">"
      "^<Response xsi:type=\"DERControlResponse\"/></ResponseList>", GE_ERR_SCHEMA,
      "xsi:type not allowed on 'sep:Response': a repeated element takes only its declared type sep:Response" },
    { "xsi:type: unbound prefix", "sep", NOTIF_HEAD "^<Resource xsi:type=\"foo:DERControlList\"/>" NOTIF_TAIL,
      GE_ERR_SCHEMA, "xsi:type 'foo:DERControlList' on 'sep:Resource': prefix 'foo' is not declared" },
    { "xsi:type: prefix out of scope", "sep", "<Notification " SEPNS " " XSINS "><subscribedResource xmlns:p=\"urn:ieee:std:2030.5:ns\">"
      "/r</subscribedResource>^<Resource xsi:type=\"p:EndDevice\"/>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "xsi:type 'p:EndDevice' on 'sep:Resource': prefix 'p' is not declared" },
    { "xsi:type: namespace without types", "sep", NOTIF_HEAD "^<Resource xmlns:o=\"urn:other\" xsi:type=\"o:EndDevice\"/>"
      NOTIF_TAIL, GE_ERR_SCHEMA, "xsi:type 'o:EndDevice' on 'sep:Resource': namespace 'urn:other' has no types in schema sep" },
    { "xsi:type: not a QName", "sep", NOTIF_HEAD "^<Resource xsi:type=\"sep:List:x\"/>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "xsi:type 'sep:List:x' on 'sep:Resource' is not a QName" },
    { "xsi:type: the derived type's content model applies", "sep", NOTIF_HEAD "<Resource xsi:type=\"EndDevice\">"
      "<sFDI>4</sFDI>^<frob/></Resource>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "element 'sep:frob' is not allowed in 'sep:Resource' here (expected 'sep:changedTime')" },
    { "xsi:type: the derived type's required attributes", "sep", NOTIF_HEAD "^<Resource xsi:type=\"DERControlList\"/>" NOTIF_TAIL,
      GE_ERR_SCHEMA, "missing required attribute 'all' on 'sep:Resource'" },
    { "xsi:type: on a simple element", "sep", "<Notification " SEPNS " " XSINS ">^<subscribedResource xsi:type=\"String32\">"
      "/r</subscribedResource>" NOTIF_TAIL, GE_ERR_SCHEMA, "attribute 'type' is not allowed on 'sep:subscribedResource'" },
    { "xsi:nil still refused", "sep", NOTIF_HEAD "^<Resource xsi:nil=\"true\"/>" NOTIF_TAIL, GE_ERR_SCHEMA,
      "attribute 'xsi:nil' on 'sep:Resource' is not supported" },
    { "xsi:noNamespaceSchemaLocation ignored, xsi:foo refused", "sep", "^<DERControlBase " SEPNS " " XSINS
      " xsi:noNamespaceSchemaLocation=\"x.xsd\" xsi:foo=\"1\"/>", GE_ERR_SCHEMA,
      "attribute 'xsi:foo' on 'sep:DERControlBase' is not supported" },
    { "xsi:type: attributes before it", "sep", NOTIF_HEAD "<Resource all=\"0\" results=\"0\" xsi:type=\"DERControlList\" "
      "xsi:schemaLocation=\"urn:ieee:std:2030.5:ns sep.xsd\"/>" NOTIF_TAIL, 0, NULL },
    { "xsi:type: its declared type, on any element", "sep", "<DefaultDERControl " SEPNS " " XSINS " xsi:type=\"DefaultDERControl\">"
      "<mRID>00</mRID><DERControlBase xsi:type=\" sep:DERControlBase \" xmlns:sep=\"urn:ieee:std:2030.5:ns\"/></DefaultDERControl>",
      0, NULL },
    /* namespaces are resolved by the decoder (expat runs without namespace processing) */
    { "ns: explicit prefix, redeclared inside, out of scope again", "sep", "<s:Time xmlns:s=\"urn:ieee:std:2030.5:ns\">"
      "<s:currentTime>1</s:currentTime><t:dstEndTime xmlns:t=\"urn:ieee:std:2030.5:ns\" xmlns:s=\"urn:other\">2"
      "</t:dstEndTime><dstOffset " SEPNS ">3600</dstOffset><s:dstStartTime>4</s:dstStartTime><s:quality>7</s:quality>"
      "<s:tzOffset>36000</s:tzOffset></s:Time>", 0, NULL },
    { "ns: a prefix redeclared on an element names the element", "sep", "<s:Time xmlns:s=\"urn:ieee:std:2030.5:ns\">"
      "^<s:currentTime xmlns:s=\"urn:other\">1</s:currentTime></s:Time>", GE_ERR_SCHEMA,
      "element 'urn:other currentTime' is not allowed in 'sep:Time'" },
    { "ns: undeclared element prefix", "sep", "<Time " SEPNS ">^<p:currentTime>1</p:currentTime></Time>", GE_ERR_PARSE,
      "prefix 'p' of 'p:currentTime' is not declared" },
    { "ns: undeclared attribute prefix", "sep", "^<DERControlBase " SEPNS " p:x=\"1\"/>", GE_ERR_PARSE,
      "prefix 'p' of 'p:x' is not declared" },
    { "ns: prefix out of scope after its element", "sep", "<Time " SEPNS "><currentTime xmlns:p=\"urn:ieee:std:2030.5:ns\">1"
      "</currentTime>^<p:dstEndTime>2</p:dstEndTime></Time>", GE_ERR_PARSE, "prefix 'p' of 'p:dstEndTime' is not declared" },
    { "ns: default namespace undeclared", "sep", "<Time " SEPNS ">^<currentTime xmlns=\"\">1</currentTime></Time>",
      GE_ERR_SCHEMA, "'currentTime' is not allowed in 'sep:Time'" },
    { "ns: prefix undeclared", "sep", "^<DERControlBase " SEPNS " xmlns:p=\"\"/>", GE_ERR_PARSE,
      "prefix 'p' must not be undeclared" },
    { "ns: xmlns declared", "sep", "^<DERControlBase " SEPNS " xmlns:xmlns=\"urn:x\"/>", GE_ERR_PARSE,
      "reserved prefix (xmlns)" },
    { "ns: the xmlns namespace bound", "sep", "^<DERControlBase " SEPNS " xmlns:p=\"http://www.w3.org/2000/xmlns/\"/>",
      GE_ERR_PARSE, "reserved prefix (xmlns)" },
    { "ns: xml bound elsewhere", "sep", "^<DERControlBase " SEPNS " xmlns:xml=\"urn:x\"/>", GE_ERR_PARSE,
      "reserved prefix (xml)" },
    { "ns: the xml namespace bound to another prefix", "sep", "^<DERControlBase " SEPNS
      " xmlns:x=\"http://www.w3.org/XML/1998/namespace\"/>", GE_ERR_PARSE, "reserved prefix (xml)" },
    { "ns: xml declared as itself", "sep", "<DERControlBase " SEPNS " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>",
      0, NULL },
    { "ns: empty prefix in a declaration", "sep", "^<DERControlBase " SEPNS " xmlns:=\"urn:x\"/>", GE_ERR_PARSE,
      "namespace declaration 'xmlns:' does not name a valid prefix" },
    { "ns: two colons in a name", "sep", "<Time " SEPNS ">^<sep:a:b/></Time>", GE_ERR_PARSE,
      "'sep:a:b' is not a valid qualified name" },
    { "ns: empty local part", "sep", "<Time " SEPNS " xmlns:sep=\"urn:ieee:std:2030.5:ns\">^<sep:/></Time>", GE_ERR_PARSE,
      "'sep:' is not a valid qualified name" },
    { "ns: empty prefix", "sep", "<Time " SEPNS ">^<:currentTime/></Time>", GE_ERR_PARSE,
      "':currentTime' is not a valid qualified name" },
    { "ns: one expanded attribute name twice", "sep", "^<DERControlBase " SEPNS " xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" "
      "a:k=\"1\" b:k=\"2\"/>", GE_ERR_PARSE, "duplicate attribute 'b:k'" },
    { "ns: one local name in two namespaces", "sep", "^<DERControlBase " SEPNS " xmlns:a=\"urn:x\" xmlns:b=\"urn:y\" "
      "a:k=\"1\" b:k=\"2\"/>", GE_ERR_SCHEMA, "attribute 'k' is not allowed on 'sep:DERControlBase'" },
    { "choice: two alternatives", "oadr20b", "<oadr:oadrSignedObject " OADRNS "><oadr:oadrPoll ei:schemaVersion=\"2.0b\">"
      "<ei:venID>v</ei:venID></oadr:oadrPoll>^<oadr:oadrPoll ei:schemaVersion=\"2.0b\"><ei:venID>v</ei:venID>"
      "</oadr:oadrPoll></oadr:oadrSignedObject>", GE_ERR_SCHEMA, "'oadr:oadrPoll' occurs more than 1 time" },
    { "choice: another alternative", "oadr20b", "<oadr:oadrSignedObject " OADRNS "><oadr:oadrPoll ei:schemaVersion=\"2.0b\">"
      "<ei:venID>v</ei:venID></oadr:oadrPoll>^<oadr:oadrResponse ei:schemaVersion=\"2.0b\"/></oadr:oadrSignedObject>",
      GE_ERR_SCHEMA, "only one alternative of the choice may be used" },
    { "choice: none", "oadr20b", "<oadr:oadrSignedObject " OADRNS ">^</oadr:oadrSignedObject>", GE_ERR_SCHEMA,
      "missing required element 'oadr:oadrDistributeEvent' (or another choice) in 'oadr:oadrSignedObject'" },
    { "enumeration", "oadr20b", "<ei:eiResponse " OADRNS "><ei:responseCode>200</ei:responseCode>"
      "<pyld:requestID>r</pyld:requestID></ei:eiResponse>", 0, NULL },
    { "pattern", "oadr20b", "<ei:eiResponse " OADRNS ">^<ei:responseCode>20x</ei:responseCode>"
      "<pyld:requestID>r</pyld:requestID></ei:eiResponse>", GE_ERR_SCHEMA,
      "value '20x' does not match the pattern '[0-9][0-9][0-9]' of ei:ResponseCodeType" },
    { "union: neither member", "oadr20b", "<ei:eiEventSignal " OADRNS "><strm:intervals xmlns:strm=\"urn:ietf:params:xml:ns:icalendar-2.0:stream\">"
      "<ei:interval><ei:signalPayload><ei:payloadFloat><ei:value>1</ei:value></ei:payloadFloat></ei:signalPayload></ei:interval>"
      "</strm:intervals>^<ei:signalName>FROB</ei:signalName></ei:eiEventSignal>", GE_ERR_SCHEMA,
      "value 'FROB' is valid for none of the member types of ei:signalNameType" },
    { "enumeration value", "oadr20b", "<ei:eiEvent " OADRNS "><ei:eventDescriptor><ei:eventID>e</ei:eventID>"
      "<ei:modificationNumber>0</ei:modificationNumber><ei:eiMarketContext><emix:marketContext xmlns:emix=\"http://docs.oasis-open.org/ns/emix/2011/06\">"
      "http://m</emix:marketContext></ei:eiMarketContext><ei:createdDateTime>2026-11-30T12:00:00Z</ei:createdDateTime>"
      "^<ei:eventStatus>soon</ei:eventStatus></ei:eventDescriptor></ei:eiEvent>", GE_ERR_SCHEMA,
      "value 'soon' is not one of the enumeration of ei:EventStatusEnumeratedType" },
    { "dateTime pattern", "oadr20b", "<ei:eiEvent " OADRNS "><ei:eventDescriptor><ei:eventID>e</ei:eventID>"
      "<ei:modificationNumber>0</ei:modificationNumber><ei:eiMarketContext><emix:marketContext xmlns:emix=\"http://docs.oasis-open.org/ns/emix/2011/06\">"
      "http://m</emix:marketContext></ei:eiMarketContext>^<ei:createdDateTime>yesterday</ei:createdDateTime>"
      "</ei:eventDescriptor></ei:eiEvent>", GE_ERR_SCHEMA, "does not match the pattern" },
    { "fixed value", "oadr20b", "<power:powerReal xmlns:power=\"http://docs.oasis-open.org/ns/emix/2011/06/power\">"
      "^<power:itemDescription>Power</power:itemDescription></power:powerReal>", GE_ERR_SCHEMA,
      "element 'power:itemDescription' must be 'RealPower'" },
    { "float", "oadr20b", "<ei:payloadFloat " OADRNS ">^<ei:value>1,5</ei:value></ei:payloadFloat>", GE_ERR_SCHEMA,
      "value '1,5' is not a floating-point number" },
    { "qualified attribute", "oadr20b", "^<oadr:oadrPoll " OADRNS " ei:schemaVersion=\"3.0\"><ei:venID>v</ei:venID></oadr:oadrPoll>",
      GE_ERR_SCHEMA, "attribute 'schemaVersion' of 'oadr:oadrPoll': value '3.0' is valid for none of the member types" },
    { "unqualified attribute where qualified", "oadr20b", "^<oadr:oadrPoll " OADRNS " schemaVersion=\"2.0b\"><ei:venID>v</ei:venID></oadr:oadrPoll>",
      GE_ERR_SCHEMA, "attribute 'schemaVersion' is not allowed on 'oadr:oadrPoll'" },
};

static void strip_marker(const char *in, char *out, size_t size, unsigned long *line, unsigned long *col)
{
    size_t j = 0;
    *line = 1;
    *col = 1;
    for (size_t i = 0; in[i] && j + 1 < size; i++) {
        if (in[i] == '^') {
            unsigned long l = 1, c = 1;
            for (size_t k = 0; k < j; k++) {
                if (out[k] == '\n') {
                    l++;
                    c = 1;
                } else {
                    c++;
                }
            }
            *line = l;
            *col = c;
            continue;
        }
        out[j++] = in[i];
    }
    out[j] = '\0';
}

static void test_negative(void)
{
    for (size_t i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
        const struct neg *n = &negatives[i];
        static char doc[8192];
        unsigned long line, col;
        ge_xml_msg_t msg;
        int rc;
        strip_marker(n->doc, doc, sizeof(doc), &line, &col);
        ge_arena_reset(arena1);
        rc = ge_xml_decode(dec, n->schema ? ge_xml_schema_find(n->schema) : NULL, arena1, doc, strlen(doc), &msg);
        if (n->code == 0) {
            if (rc != 0)
                fprintf(stderr, "\n[%s] expected valid, got: %s\n", n->what, ge_xml_decoder_error(dec)->msg);
            CU_ASSERT_EQUAL(rc, 0);
            continue;
        }
        {
            const ge_xml_error_t *e = ge_xml_decoder_error(dec);
            int ok = rc == n->code && e->code == n->code && e->line == line && e->col == col && strstr(e->msg, n->msg);
            if (!ok)
                fprintf(stderr, "\n[%s] want %d at %lu:%lu '%s'\n          got %d at %lu:%lu '%s'\n", n->what, n->code,
                        line, col, n->msg, rc, e->line, e->col, e->msg);
            CU_ASSERT_TRUE(ok);
        }
    }
}

/* Where expat itself puts the start tag of the first element called NAME (the oracle). */
typedef struct where {
    XML_Parser p;
    const char *name;
    unsigned long line, col;
} where_t;

static void XMLCALL where_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    where_t *w = ud;
    (void)atts;
    if (!w->line && strcmp(name, w->name) == 0) {
        w->line = (unsigned long)XML_GetCurrentLineNumber(w->p);
        w->col = (unsigned long)XML_GetCurrentColumnNumber(w->p) + 1;
    }
}

static void test_positions(void)
{
    /* A bad value is reported at its start tag, which the decoder locates only when the error
     * happens (see decode.c, mark_pos): after CR LF, CR and LF line ends and 2-, 3- and 4-byte
     * UTF-8 characters, whole and in chunks, it must say what expat says; and the same in a
     * Latin-1 document, where positions are left to expat. */
    static const char *const docs_pos[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<DERControl " SEPNS " href=\"/d\">\r\n"
        " <mRID>00112233445566778899AABBCCDDEEFF</mRID>\n <description>caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\r"
        "two\r\nthree</description>\r\n\t<!-- \xc3\xa9\xe2\x82\xac\n -->  <version>70000</version></DERControl>",
        "<DERControl " SEPNS "><mRID>00112233445566778899AABBCCDDEEFF</mRID><description>\xc3\xa9\xc3\xa9"
        "</description><version>70000</version></DERControl>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<DERControl " SEPNS ">\n<mRID>00112233445566778899AABBCCDDEEFF"
        "</mRID><description>caf\xe9\n\xe9t\xe9</description> <version>70000</version></DERControl>",
    };
    static const size_t chunks[] = { 0, 1, 2, 7, 64 };

    for (size_t i = 0; i < sizeof(docs_pos) / sizeof(docs_pos[0]); i++) {
        const char *doc = docs_pos[i];
        size_t len = strlen(doc);
        where_t w = { XML_ParserCreate(NULL), "version", 0, 0 };
        CU_ASSERT_PTR_NOT_NULL_FATAL(w.p);
        XML_SetUserData(w.p, &w);
        XML_SetStartElementHandler(w.p, where_start);
        CU_ASSERT_EQUAL(XML_Parse(w.p, doc, (int)len, 1), XML_STATUS_OK);
        XML_ParserFree(w.p);
        CU_ASSERT_TRUE(w.line > 1 || i == 1);
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            const ge_xml_error_t *e;
            int rc = 0;
            ge_arena_reset(arena1);
            CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_reset(dec, &ge_xml_schema_sep, arena1), 0);
            if (!chunks[c]) {
                rc = ge_xml_decoder_feed(dec, doc, len, true);
            } else {
                for (size_t off = 0; off < len && rc == 0; off += chunks[c]) {
                    size_t n = len - off < chunks[c] ? len - off : chunks[c];
                    rc = ge_xml_decoder_feed(dec, doc + off, n, off + n == len);
                }
            }
            e = ge_xml_decoder_error(dec);
            if (rc != GE_ERR_SCHEMA || e->line != w.line || e->col != w.col || !strstr(e->msg, "version'"))
                fprintf(stderr, "\n[doc %zu, chunks of %zu] want %lu:%lu, got %d at %lu:%lu '%s'\n", i, chunks[c],
                        w.line, w.col, rc, e->line, e->col, e->msg);
            CU_ASSERT_EQUAL(rc, GE_ERR_SCHEMA);
            CU_ASSERT_EQUAL(e->line, w.line);
            CU_ASSERT_EQUAL(e->col, w.col);
        }
    }
}

/* ---- xsi:type ------------------------------------------------------------------------------------------- */

static const ge_xml_ctype_t *sep_type(const char *name)
{
    return ge_xml_ctype_find(&ge_xml_schema_sep, name);
}

/* Decode DOC with the sep schema into arena1 (CU failure and NULL if it does not decode). */
static void *decode_sep(const char *doc, size_t len, ge_xml_msg_t *msg)
{
    ge_arena_reset(arena1);
    if (ge_xml_decode(dec, &ge_xml_schema_sep, arena1, doc, len, msg) < 0) {
        const ge_xml_error_t *e = ge_xml_decoder_error(dec);
        fprintf(stderr, "\n%lu:%lu: %s\n", e->line, e->col, e->msg);
        CU_FAIL("decode");
        return NULL;
    }
    return msg->value;
}

/* Encode MSG, check it against the official XSDs, decode it again and encode that: same bytes;
 * the encoding contains WANT and not UNWANTED (NULL: not checked). */
static void xsi_round_trip(const ge_xml_msg_t *msg, const char *want, const char *unwanted)
{
    ge_buf_t a, b;
    ge_xml_error_t err;
    ge_xml_msg_t again;

    ge_buf_init(&a, NULL, 0);
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(ge_xml_encode_msg(&a, msg, &err), 0);
    CU_ASSERT_NOT_EQUAL(xsd_valid(msg->schema, a.data, a.len), 0);
    ge_arena_reset(arena2);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, msg->schema, arena2, a.data, a.len, &again), 0);
    CU_ASSERT_PTR_EQUAL(again.type, msg->type ? msg->type : msg->root->type);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&b, &again, &err), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&a), ge_buf_str(&b));
    if (!strstr(ge_buf_str(&a), want) || (unwanted && strstr(ge_buf_str(&a), unwanted))) {
        fprintf(stderr, "\nwant '%s' (and not '%s') in\n%s\n", want, unwanted ? unwanted : "", ge_buf_str(&a));
        CU_FAIL("encoding");
    }
    ge_buf_free(&a);
    ge_buf_free(&b);
}

static void test_xsi_types_table(void)
{
    const ge_xml_schema_t *schemas[] = { &ge_xml_schema_sep, &ge_xml_schema_oadr20b };

    /* lookups: by index, by name, unprefixed; every type is found by its own name (sorted) */
    CU_ASSERT_PTR_NOT_NULL_FATAL(sep_type("sep:DERControlList"));
    CU_ASSERT_PTR_EQUAL(sep_type("sep:DERControlList"), ge_xml_schema_sep.types[SEP_TYPE_DERControlList]);
    CU_ASSERT_PTR_EQUAL(sep_type("DERControlList"), ge_xml_schema_sep.types[SEP_TYPE_DERControlList]);
    CU_ASSERT_PTR_EQUAL(sep_type("csipaus:ConnectionPointType"),
                        ge_xml_schema_sep.types[SEP_TYPE_csipaus_ConnectionPointType]);
    CU_ASSERT_PTR_EQUAL(ge_xml_ctype_find(&ge_xml_schema_oadr20b, "ei:eiEventType"),
                        ge_xml_schema_oadr20b.types[OADR_TYPE_ei_eiEventType]);
    CU_ASSERT_PTR_NULL(sep_type("sep:Frob"));
    CU_ASSERT_PTR_NULL(sep_type("csipaus:DERControlList"));
    CU_ASSERT_PTR_NULL(sep_type(""));
    CU_ASSERT_PTR_NULL(ge_xml_ctype_find(NULL, "sep:List"));
    /* derivation */
    CU_ASSERT_PTR_EQUAL(sep_type("sep:DERControlList")->base, sep_type("sep:SubscribableList"));
    CU_ASSERT_TRUE(ge_xml_ctype_is_a(sep_type("sep:DERControlList"), sep_type("sep:Resource")));
    CU_ASSERT_TRUE(ge_xml_ctype_is_a(sep_type("sep:Resource"), sep_type("sep:Resource")));
    CU_ASSERT_FALSE(ge_xml_ctype_is_a(sep_type("sep:Resource"), sep_type("sep:List")));
    CU_ASSERT_FALSE(ge_xml_ctype_is_a(sep_type("sep:DERControlBase"), sep_type("sep:Resource")));
    CU_ASSERT_TRUE(ge_xml_ctype_find(&ge_xml_schema_oadr20b, "emix:ItemBaseType")->abstract);
    CU_ASSERT_FALSE(sep_type("sep:Resource")->abstract);
    for (size_t i = 0; i < 2; i++) {
        const ge_xml_schema_t *sc = schemas[i];
        for (uint32_t k = 0; k < sc->n_types; k++) {
            const ge_xml_ctype_t *t = sc->types[k], *b = t->base;
            CU_ASSERT_PTR_EQUAL(ge_xml_ctype_find(sc, t->name), t);
            if (!b)
                continue;
            /* a struct starts with its base type's members: base fields sit at the same offsets,
             * so a derived value can be read through a pointer to its base type */
            CU_ASSERT_TRUE(b->size <= t->size && b->n_elems <= t->n_elems && b->n_attrs <= t->n_attrs);
            for (uint32_t f = 0; f < b->n_elems && f < t->n_elems; f++) {
                const ge_xml_field_t *x = &b->elems[f], *y = &t->elems[f];
                if (strcmp(x->name, y->name) || x->off != y->off || x->aux != y->aux || x->xsi_off != y->xsi_off) {
                    fprintf(stderr, "\n%s: element %s of base %s is laid out differently\n", t->name, x->name, b->name);
                    CU_FAIL("layout");
                }
            }
            for (uint32_t f = 0; f < b->n_attrs && f < t->n_attrs; f++) {
                const ge_xml_field_t *x = &b->attrs[f], *y = &t->attrs[f];
                if (strcmp(x->name, y->name) || x->off != y->off || x->aux != y->aux) {
                    fprintf(stderr, "\n%s: attribute %s of base %s is laid out differently\n", t->name, x->name, b->name);
                    CU_FAIL("layout");
                }
            }
            if (b->text) {
                CU_ASSERT_TRUE(t->text && t->text->off == b->text->off);
            }
        }
    }
    /* the polymorphic elements of the 2030.5 schema (OpenADR 2.0b expands its substitution
     * groups into choices and has none) */
    {
        const ge_xml_ctype_t *n = sep_type("sep:Notification");
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        for (uint32_t f = 0; f < n->n_elems; f++)
            CU_ASSERT_EQUAL(n->elems[f].xsi_off != 0, strcmp(n->elems[f].name, "Resource") == 0);
        CU_ASSERT_EQUAL(n->elems[2].xsi_off, offsetof(sep_Notification_t, Resource_xsi));
        for (uint32_t k = 0; k < ge_xml_schema_oadr20b.n_types; k++)
            for (uint32_t f = 0; f < ge_xml_schema_oadr20b.types[k]->n_elems; f++)
                CU_ASSERT_EQUAL(ge_xml_schema_oadr20b.types[k]->elems[f].xsi_off, 0);
    }
}

/* The Notification of the task: a DERControlList of two DERControls, with xsi:type. */
static void test_xsi_notification_dercontrol_list(void)
{
    size_t len;
    char *doc = txml_read_data("sep-notification.xml", &len);
    ge_xml_msg_t msg;
    const sep_Notification_t *n;
    const sep_DERControlList_t *l;
    ge_buf_t j;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    n = decode_sep(doc, len, &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_EQUAL(msg.root, &ge_xml_schema_sep.roots[SEP_ROOT_Notification]);
    CU_ASSERT_PTR_EQUAL(msg.type, msg.root->type);
    CU_ASSERT_STRING_EQUAL(n->subscribedResource, "/derp/1/derc");
    CU_ASSERT_EQUAL(n->status, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n->Resource);
    CU_ASSERT_PTR_EQUAL_FATAL(n->Resource_xsi, ge_xml_schema_sep.types[SEP_TYPE_DERControlList]);
    CU_ASSERT_STRING_EQUAL(n->Resource_xsi->name, "sep:DERControlList");
    /* the base type's members are readable through the declared pointer */
    CU_ASSERT_STRING_EQUAL(n->Resource->href, "/derp/1/derc");
    l = (const sep_DERControlList_t *)n->Resource;
    CU_ASSERT_STRING_EQUAL(l->href, "/derp/1/derc");
    CU_ASSERT_EQUAL(l->all, 2);
    CU_ASSERT_EQUAL(l->results, 2);
    CU_ASSERT_FALSE(l->has_subscribable);
    CU_ASSERT_EQUAL_FATAL(l->DERControl_count, 2);
    CU_ASSERT_STRING_EQUAL(l->DERControl[0]->href, "/derp/1/derc/1");
    CU_ASSERT_STRING_EQUAL(l->DERControl[0]->description, "Export limit 1.5 kW");
    CU_ASSERT_EQUAL(l->DERControl[0]->mRID.len, 16);
    CU_ASSERT_EQUAL(l->DERControl[0]->mRID.data[15], 0x01);
    CU_ASSERT_EQUAL(l->DERControl[0]->interval->duration, 3600);
    CU_ASSERT_EQUAL(l->DERControl[0]->interval->start, 1767229200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l->DERControl[0]->DERControlBase->opModExpLimW);
    CU_ASSERT_EQUAL(l->DERControl[0]->DERControlBase->opModExpLimW->value, 1500);
    CU_ASSERT_STRING_EQUAL(l->DERControl[1]->href, "/derp/1/derc/2");
    CU_ASSERT_EQUAL(l->DERControl[1]->creationTime, 1767225660);
    CU_ASSERT_EQUAL(l->DERControl[1]->interval->duration, 1800);
    CU_ASSERT_TRUE(l->DERControl[1]->DERControlBase->has_opModConnect);
    CU_ASSERT_FALSE(l->DERControl[1]->DERControlBase->opModConnect);
    CU_ASSERT_PTR_NULL(l->DERControl[1]->description);
    /* encoded as 2030.5 servers write it: xsi:type unprefixed in the default namespace, xmlns:xsi
     * on the root; valid per the XSD; a fixed point */
    xsi_round_trip(&msg, "<Notification xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\" "
                         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><subscribedResource>/derp/1/derc"
                         "</subscribedResource><Resource xsi:type=\"DERControlList\" href=\"/derp/1/derc\" all=\"2\" "
                         "results=\"2\"><DERControl href=\"/derp/1/derc/1\"", NULL);
    /* JSON names the derived type */
    ge_buf_init(&j, NULL, 0);
    CU_ASSERT_EQUAL(ge_xml_to_json(&j, &msg), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&j), "\"Resource\":{\"@xsi:type\":\"DERControlList\",\"@href\":\"/derp/1/derc\","
                                                  "\"@all\":2,\"@results\":2,\"DERControl\":[{\"@href\":\"/derp/1/derc/1\""));
    ge_buf_free(&j);
    free(doc);
}

/* An EndDevice (prefixed xsi:type, other prefixes), a DefaultDERControl, a CSIP-AUS type, the
 * declared type itself, and xsi:type on the root. */
static void test_xsi_other_types(void)
{
    static const char edev[] =
        "<Notification xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<subscribedResource>/edev/3</subscribedResource>\n"
        "<Resource xmlns:s=\"urn:ieee:std:2030.5:ns\" i:type=\" s:EndDevice \" href=\"/edev/3\" subscribable=\"1\">"
        "<sFDI>167261211391</sFDI><changedTime>1767225602</changedTime><enabled>true</enabled></Resource>"
        "<status>0</status><subscriptionURI>/edev/0/sub/2</subscriptionURI></Notification>";
    static const char dderc[] =
        NOTIF_HEAD "<Resource xsi:type=\"DefaultDERControl\" href=\"/derp/1/dderc\"><mRID>0A0B</mRID>"
        "<DERControlBase><opModConnect>true</opModConnect><opModEnergize>true</opModEnergize>"
        "<opModFixedW>-2000</opModFixedW></DERControlBase><setESDelay>300</setESDelay><setGradW>1000</setGradW></Resource>"
        NOTIF_TAIL;
    static const char cp[] =
        NOTIF_HEAD "<Resource xmlns:c=\"https://csipaus.org/ns\" xsi:type=\"c:ConnectionPointType\" href=\"/cp\">"
        "<c:connectionPointId>NMI-4102</c:connectionPointId></Resource>" NOTIF_TAIL;
    static const char plain[] = NOTIF_HEAD "<Resource href=\"/r/1\"/>" NOTIF_TAIL;
    static const char root[] = "<Resource " SEPNS " " XSINS " xsi:type=\"EndDevice\" href=\"/edev/4\">"
                               "<sFDI>4</sFDI><changedTime>5</changedTime></Resource>";
    ge_xml_msg_t msg;
    const sep_Notification_t *n;

    n = decode_sep(edev, sizeof(edev) - 1, &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_EQUAL_FATAL(n->Resource_xsi, ge_xml_schema_sep.types[SEP_TYPE_EndDevice]);
    {
        const sep_EndDevice_t *e = (const sep_EndDevice_t *)n->Resource;
        CU_ASSERT_STRING_EQUAL(e->href, "/edev/3");
        CU_ASSERT_TRUE(e->has_subscribable && e->subscribable == 1);
        CU_ASSERT_EQUAL(e->sFDI, 167261211391ULL);
        CU_ASSERT_EQUAL(e->changedTime, 1767225602);
        CU_ASSERT_TRUE(e->has_enabled && e->enabled);
        CU_ASSERT_PTR_NULL(e->ConnectionPointLink);
    }
    xsi_round_trip(&msg, "<Resource xsi:type=\"EndDevice\" href=\"/edev/3\" subscribable=\"1\">", NULL);

    n = decode_sep(dderc, sizeof(dderc) - 1, &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_EQUAL_FATAL(n->Resource_xsi, sep_type("sep:DefaultDERControl"));
    {
        const sep_DefaultDERControl_t *c = (const sep_DefaultDERControl_t *)n->Resource;
        CU_ASSERT_STRING_EQUAL(c->href, "/derp/1/dderc");
        CU_ASSERT_EQUAL(c->mRID.len, 2);
        CU_ASSERT_TRUE(c->DERControlBase->has_opModFixedW);
        CU_ASSERT_EQUAL(c->DERControlBase->opModFixedW, -2000);
        CU_ASSERT_TRUE(c->has_setESDelay);
        CU_ASSERT_EQUAL(c->setESDelay, 300);
        CU_ASSERT_EQUAL(c->setGradW, 1000);
        CU_ASSERT_FALSE(c->has_setSoftGradW);
    }
    xsi_round_trip(&msg, "<Resource xsi:type=\"DefaultDERControl\" href=\"/derp/1/dderc\">", NULL);

    /* a type of another namespace keeps its prefix, declared on the root */
    n = decode_sep(cp, sizeof(cp) - 1, &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_EQUAL_FATAL(n->Resource_xsi, ge_xml_schema_sep.types[SEP_TYPE_csipaus_ConnectionPointType]);
    CU_ASSERT_STRING_EQUAL(((const sep_csipaus_ConnectionPointType_t *)n->Resource)->connectionPointId, "NMI-4102");
    xsi_round_trip(&msg, "xmlns:csipaus=\"https://csipaus.org/ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                         "<subscribedResource>/r</subscribedResource><Resource xsi:type=\"csipaus:ConnectionPointType\" "
                         "href=\"/cp\">", NULL);

    /* without xsi:type: the declared type, and no xsi in the output */
    n = decode_sep(plain, sizeof(plain) - 1, &msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_PTR_EQUAL(n->Resource_xsi, ge_xml_schema_sep.types[SEP_TYPE_Resource]);
    CU_ASSERT_STRING_EQUAL(n->Resource->href, "/r/1");
    xsi_round_trip(&msg, "<Resource href=\"/r/1\"/>", "xsi");

    /* on the root: msg.root stays Resource, msg.type is EndDevice */
    CU_ASSERT_PTR_NOT_NULL_FATAL(decode_sep(root, sizeof(root) - 1, &msg));
    CU_ASSERT_PTR_EQUAL(msg.root, &ge_xml_schema_sep.roots[SEP_ROOT_Resource]);
    CU_ASSERT_PTR_EQUAL_FATAL(msg.type, ge_xml_schema_sep.types[SEP_TYPE_EndDevice]);
    CU_ASSERT_EQUAL(((const sep_EndDevice_t *)msg.value)->changedTime, 5);
    xsi_round_trip(&msg, "<Resource xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                         "xsi:type=\"EndDevice\" href=\"/edev/4\">", NULL);
    {
        ge_buf_t j;
        ge_buf_init(&j, NULL, 0);
        CU_ASSERT_EQUAL(ge_xml_to_json(&j, &msg), 0);
        CU_ASSERT_STRING_EQUAL(ge_buf_str(&j), "{\"Resource\":{\"@xsi:type\":\"EndDevice\",\"@href\":\"/edev/4\","
                                               "\"sFDI\":4,\"changedTime\":5}}");
        ge_buf_free(&j);
    }
}

/* Every polymorphic element of a root, and every root, with each type derived from its declared
 * type: built from the tables, encoded with xsi:type, XSD-valid, decoded, same bytes. */
static void test_xsi_every_derived_type(void)
{
    const ge_xml_schema_t *sc = &ge_xml_schema_sep_alt; /* v1.3's additions included: see every_root */
    int runs = 0, failures = 0, validated = 0;

    for (uint32_t r = 0; r < sc->n_roots; r++) {
        const ge_xml_root_t *root = &sc->roots[r];
        for (uint32_t k = 0; k < sc->n_types; k++) {
            const ge_xml_ctype_t *d = sc->types[k];
            if (d->abstract)
                continue;
            /* the root element itself */
            if (d != root->type && ge_xml_ctype_is_a(d, root->type)) {
                sampler_t s = { arena1, 1, 0, 0, 0 };
                void *v;
                ge_arena_reset(arena1);
                v = build(&s, sc, d, 0);
                runs++;
                if (s.failed || !v || round_trip(sc, root, d, v, "xsi:type on the root", &validated) < 0)
                    failures++;
            }
            /* its polymorphic elements */
            for (uint32_t f = 0; f < root->type->n_elems; f++) {
                const ge_xml_field_t *fd = &root->type->elems[f];
                sampler_t s = { arena1, 1, 0, 0, 0 };
                unsigned char *v;
                if (!fd->xsi_off || d == fd->ctype || !ge_xml_ctype_is_a(d, fd->ctype))
                    continue;
                ge_arena_reset(arena1);
                v = build(&s, sc, root->type, 0);
                if (v) {
                    *(void **)(v + fd->off) = build(&s, sc, d, 1);
                    *(const ge_xml_ctype_t **)(v + fd->xsi_off) = d;
                }
                runs++;
                if (s.failed || !v || round_trip(sc, root, NULL, v, "xsi:type", &validated) < 0)
                    failures++;
            }
        }
    }
    printf("\n  sep: %d values with xsi:type, %d checked against the XSD, %d failed\n", runs, validated, failures);
    CU_ASSERT_TRUE(runs > 300);
    CU_ASSERT_EQUAL(failures, 0);
    if (txml_schemas_dir()) {
        CU_ASSERT_EQUAL(validated, runs);
    }
}

/* The encoder refuses a type that is not derived from the declared one. */
static void test_xsi_encoder_checks(void)
{
    sep_Notification_t n;
    sep_Resource_t res = { "/r" };
    sep_DERControlBase_t base;
    ge_buf_t out;
    ge_xml_error_t err;
    ge_xml_msg_t msg = { &ge_xml_schema_sep, &ge_xml_schema_sep.roots[SEP_ROOT_Notification], &n, NULL };

    memset(&n, 0, sizeof(n));
    memset(&base, 0, sizeof(base));
    n.subscribedResource = "/r";
    n.subscriptionURI = "/s";
    n.Resource = &res;
    ge_buf_init(&out, NULL, 0);
    /* NULL and the declared type: no xsi:type */
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&out), "xsi"));
    n.Resource_xsi = sep_type("sep:Resource");
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), 0);
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&out), "xsi"));
    /* not derived */
    n.Resource = (sep_Resource_t *)&base;
    n.Resource_xsi = sep_type("sep:DERControlBase");
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), GE_ERR_SCHEMA);
    CU_ASSERT_STRING_EQUAL(err.msg, "'sep:Resource' has the type sep:DERControlBase, which is not derived from sep:Resource");
    CU_ASSERT_EQUAL(out.len, 0);
    /* the derived type's own rules apply */
    {
        sep_DERControlList_t l;
        memset(&l, 0, sizeof(l));
        l.href = "/derp/1/derc";
        l.DERControl_count = 1; /* but no array */
        n.Resource = (sep_Resource_t *)&l;
        n.Resource_xsi = ge_xml_schema_sep.types[SEP_TYPE_DERControlList];
        CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), 0); /* a NULL array is an empty list */
        CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "<Resource xsi:type=\"DERControlList\" href=\"/derp/1/derc\" all=\"0\" results=\"0\"/>"));
    }
    /* on the root */
    msg.root = &ge_xml_schema_sep.roots[SEP_ROOT_DERControl];
    msg.type = sep_type("sep:EndDevice");
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), GE_ERR_SCHEMA);
    CU_ASSERT_STRING_EQUAL(err.msg, "'DERControl' has the type sep:EndDevice, which is not derived from sep:DERControl");
    ge_buf_free(&out);
}

/* Abstract types, which the built-in schemas never declare for an element: a small schema by hand. */
typedef struct tx_top {
    void *a;
    const ge_xml_ctype_t *a_xsi;
} tx_top_t;
typedef struct tx_b {
    char *n;
} tx_b_t;

static const ge_xml_stype_t tx_string = { "xs:string", "string", GE_XML_STRING, GE_XML_WS_PRESERVE, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0 };
static const ge_xml_ctype_t tx_a = { "t:A", sizeof(char), NULL, 0, NULL, 0, NULL, NULL, 0, false, NULL, true };
static const ge_xml_field_t tx_b_attrs[] = {
    { "n", GE_XML_NO_NS, GE_XML_F_ATTR, 0, 1, 1, offsetof(tx_b_t, n), GE_XML_NO_AUX, &tx_string, NULL, NULL, 1, 0, 0 },
};
static const ge_xml_ctype_t tx_b = { "t:B", sizeof(tx_b_t), NULL, 0, tx_b_attrs, 1, NULL, NULL, 0, false, &tx_a, false };
static const ge_xml_field_t tx_top_elems[] = {
    { "a", 0, GE_XML_F_ELEM, 0, 1, 1, offsetof(tx_top_t, a), GE_XML_NO_AUX, NULL, &tx_a, NULL, 1, 0, offsetof(tx_top_t, a_xsi) },
};
static const ge_xml_ctype_t tx_top = { "t:Top", sizeof(tx_top_t), tx_top_elems, 1, NULL, 0, NULL, NULL, 0, false, NULL, false };
static const char *const tx_uri[] = { "urn:t" }, *const tx_prefix[] = { "t" };
static const ge_xml_root_t tx_roots[] = { { "Top", 0, &tx_top } };
static const ge_xml_ctype_t *const tx_types[] = { &tx_a, &tx_b, &tx_top };
static const ge_xml_schema_t tx_schema = { "t", tx_uri, tx_prefix, 1, tx_roots, 1, tx_types, 3, NULL, NULL };

static void test_xsi_abstract(void)
{
    static const struct {
        const char *doc, *msg;
    } cases[] = {
        { "<Top xmlns=\"urn:t\">^<a/></Top>", "element 't:a' has the abstract type t:A: it needs an xsi:type naming a derived type" },
        { "<Top xmlns=\"urn:t\" " XSINS ">^<a xsi:type=\"A\"/></Top>", "xsi:type 't:A' on 't:a' names an abstract type" },
        { "<Top xmlns=\"urn:t\" " XSINS ">\n ^<a xsi:type=\"Top\"/></Top>", "xsi:type 't:Top' on 't:a' is not derived from t:A" },
        { "<Top xmlns=\"urn:t\" " XSINS ">^<a xsi:type=\"B\"/></Top>", "missing required attribute 'n' on 't:a'" },
    };
    static const char good[] = "<Top xmlns=\"urn:t\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
                               "<a xsi:type=\"B\" n=\"x\"/></Top>";
    ge_xml_msg_t msg;
    const tx_top_t *top;
    ge_buf_t out;
    ge_xml_error_t err;
    tx_top_t t2;
    tx_b_t b2 = { "y" };
    char a2 = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        unsigned long line, col;
        const ge_xml_error_t *e;
        strip_marker(cases[i].doc, doc, sizeof(doc), &line, &col);
        ge_arena_reset(arena1);
        CU_ASSERT_EQUAL(ge_xml_decode(dec, &tx_schema, arena1, doc, strlen(doc), &msg), GE_ERR_SCHEMA);
        e = ge_xml_decoder_error(dec);
        if (e->line != line || e->col != col || strcmp(e->msg, cases[i].msg) != 0)
            fprintf(stderr, "\nwant %lu:%lu '%s'\ngot  %lu:%lu '%s'\n", line, col, cases[i].msg, e->line, e->col, e->msg);
        CU_ASSERT_TRUE(e->line == line && e->col == col && strcmp(e->msg, cases[i].msg) == 0);
    }
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, &tx_schema, arena1, good, sizeof(good) - 1, &msg), 0);
    top = msg.value;
    CU_ASSERT_PTR_EQUAL_FATAL(top->a_xsi, &tx_b);
    CU_ASSERT_STRING_EQUAL(((const tx_b_t *)top->a)->n, "x");
    ge_buf_init(&out, NULL, 0);
    CU_ASSERT_EQUAL(ge_xml_encode_msg(&out, &msg, &err), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&out), good);
    /* the encoder wants a derived type too */
    t2.a = &a2;
    t2.a_xsi = NULL;
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &tx_schema, &tx_roots[0], &t2, &err), GE_ERR_SCHEMA);
    CU_ASSERT_STRING_EQUAL(err.msg, "'t:a' has the abstract type t:A: set its type to a derived one");
    t2.a = &b2;
    t2.a_xsi = &tx_b;
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &tx_schema, &tx_roots[0], &t2, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "<a xsi:type=\"B\" n=\"y\"/>"));
    ge_buf_free(&out);
}

/* ---- caps --------------------------------------------------------------------------------------------- */

static void test_deep_nesting(void)
{
    /* 10,000 nested elements: refused at the depth cap, long before the end */
    size_t n = 10000, len = 0;
    char *doc = malloc(n * 40 + 100);
    int rc;
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    len += (size_t)snprintf(doc, 100, "<DERControlBase " SEPNS ">");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(doc + len, 40, "<opModTargetW>");
    ge_arena_reset(arena1);
    ge_xml_decoder_reset(dec, &ge_xml_schema_sep, arena1);
    rc = ge_xml_decoder_feed(dec, doc, len, true);
    CU_ASSERT_EQUAL(rc, GE_ERR_SCHEMA); /* opModTargetW inside opModTargetW breaks the schema first */
    free(doc);

    /* nesting that the schema would allow forever is stopped by the depth cap */
    {
        ge_xml_decoder_t *d;
        ge_xml_limits_t lim = { 0, 8, 0, 0, 0 };
        const char *deep = "<DERControlList " SEPNS " all=\"1\" results=\"1\"><DERControl><mRID>00</mRID><creationTime>1</creationTime>"
                           "<EventStatus><currentStatus>0</currentStatus><dateTime>0</dateTime><potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
                           "<interval><duration>1</duration><start>0</start></interval><DERControlBase><opModTargetW><multiplier>0</multiplier>"
                           "<value>1</value></opModTargetW></DERControlBase></DERControl></DERControlList>";
        CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&d, NULL, &lim, NULL), 0);
        CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, arena1, deep, strlen(deep), &(ge_xml_msg_t){ 0 }), 0);
        lim.max_depth = 4;
        ge_xml_decoder_free(d);
        CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&d, NULL, &lim, NULL), 0);
        CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, arena1, deep, strlen(deep), &(ge_xml_msg_t){ 0 }), GE_ERR_LIMIT);
        CU_ASSERT_PTR_NOT_NULL(strstr(ge_xml_decoder_error(d)->msg, "nested deeper than 4 levels"));
        ge_xml_decoder_free(d);
    }
}

static void test_huge_text(void)
{
    /* a 50 MB text node fed in 1 MB chunks fails at the string cap, after the first chunk */
    size_t chunk = 1 << 20, fed = 0;
    char *buf = malloc(chunk);
    const char *head = "<DERControl " SEPNS "><mRID>00</mRID><description>";
    int rc = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    memset(buf, 'a', chunk);
    ge_arena_reset(arena1);
    ge_xml_decoder_reset(dec, &ge_xml_schema_sep, arena1);
    CU_ASSERT_EQUAL(ge_xml_decoder_feed(dec, head, strlen(head), false), 0);
    while (fed < (size_t)50 << 20 && rc == 0) {
        rc = ge_xml_decoder_feed(dec, buf, chunk, false);
        fed += chunk;
    }
    CU_ASSERT_EQUAL(rc, GE_ERR_LIMIT);
    CU_ASSERT_TRUE(fed <= 2 * chunk);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_xml_decoder_error(dec)->msg, "text of 'sep:description' is longer than"));
    CU_ASSERT_TRUE(ge_arena_used(arena1) < 4096);
    free(buf);
}

static void test_caps(void)
{
    ge_xml_decoder_t *d;
    ge_xml_limits_t lim = { 200, 0, 5, 16, 0 };
    const char *doc = "<Time " SEPNS ">" TIME_OK "</Time>";
    ge_xml_msg_t m;

    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&d, NULL, &lim, NULL), 0);
    /* the document size cap */
    CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, arena1, doc, strlen(doc), &m), GE_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_xml_decoder_error(d)->msg, "document larger than 200 bytes"));
    ge_xml_decoder_free(d);
    lim.max_doc_size = 0;
    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&d, NULL, &lim, NULL), 0);
    /* the element count cap: 7 elements > 5 */
    CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, arena1, doc, strlen(doc), &m), GE_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_xml_decoder_error(d)->msg, "more than 5 elements"));
    /* the attribute length cap */
    {
        const char *a = "<DERControl " SEPNS " href=\"/01234567890123456789\"><mRID>00</mRID></DERControl>";
        CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, arena1, a, strlen(a), &m), GE_ERR_LIMIT);
    }
    ge_xml_decoder_free(d);
    /* the arena's own cap */
    {
        ge_arena_t *small;
        size_t len;
        char *big = txml_read_data("sep-enddevice-list.xml", &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&small, NULL, 256, 512), 0);
        CU_ASSERT_EQUAL(ge_xml_decode(dec, NULL, small, big, len, &m), GE_ERR_LIMIT);
        ge_arena_free(small);
        free(big);
    }
}

/* ---- reuse, memory --------------------------------------------------------------------------------------- */

/* an allocator that counts the blocks it has out */
static void *live_malloc(size_t n, void *ud)
{
    void *p = malloc(n);
    if (p)
        ++*(long *)ud;
    return p;
}

static void *live_realloc(void *p, size_t n, void *ud)
{
    void *np = realloc(p, n);
    if (np && !p)
        ++*(long *)ud;
    return np;
}

static void live_free(void *p, void *ud)
{
    if (p)
        --*(long *)ud;
    free(p);
}

/* expat's memory comes from the decoder's allocator too, and all of it goes back at the end */
static void test_expat_memory(void)
{
    long live = 0;
    ge_mem_t mem = { live_malloc, live_realloc, live_free, &live };
    ge_xml_decoder_t *d;
    ge_arena_t *a;
    ge_xml_msg_t m;
    size_t len;
    char *doc = txml_read_data("sep-dercontrol.xml", &len);
    long before;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 0), 0);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&d, &mem, NULL, NULL), 0);
    before = live;
    CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, a, doc, len, &m), 0);
    /* expat's element-type table: a block per element name, from MEM */
    CU_ASSERT_TRUE(live > before + 10);
    /* a second document in the open wrapper: expat's input buffer grows to hold the context it
     * keeps from the first (decode.c, ge_xml_decoder.pstate) */
    ge_arena_reset(a);
    CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, a, doc, len, &m), 0);
    before = live;
    for (int i = 0; i < 20; i++) {
        ge_arena_reset(a);
        CU_ASSERT_EQUAL(ge_xml_decode(d, NULL, a, doc, len, &m), 0);
    }
    CU_ASSERT_EQUAL(live, before); /* kept on free lists: nothing taken, nothing lost */
    ge_xml_decoder_free(d);
    CU_ASSERT_EQUAL(live, 0);
    ge_arena_free(a);
    free(doc);
}

static void test_reuse_without_heap(void)
{
    size_t len;
    char *doc = txml_read_data("sep-dercontrol.xml", &len);
    unsigned long dec_allocs, arena_allocs;
    ge_xml_msg_t m;

    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    for (int i = 0; i < 3; i++) { /* warm up */
        ge_arena_reset(arena1);
        CU_ASSERT_EQUAL(ge_xml_decode(dec, NULL, arena1, doc, len, &m), 0);
    }
    dec_allocs = ge_xml_decoder_heap_allocs(dec);
    arena_allocs = ge_arena_heap_allocs(arena1);
    for (int i = 0; i < 1000; i++) {
        ge_arena_reset(arena1);
        CU_ASSERT_EQUAL(ge_xml_decode(dec, NULL, arena1, doc, len, &m), 0);
    }
    CU_ASSERT_EQUAL(ge_xml_decoder_heap_allocs(dec), dec_allocs);
    CU_ASSERT_EQUAL(ge_arena_heap_allocs(arena1), arena_allocs);
    /* the issue's budget: at most 600 bytes of arena per decoded DERControl */
    printf("\n  arena per DERControl: %zu bytes\n", ge_arena_used(arena1));
    CU_ASSERT_TRUE(ge_arena_used(arena1) <= 600);
    /* expat's memory is kept too (free lists, expat_mem.c): a large document fed in small chunks, which
     * makes expat grow its input buffer and its tag stack, costs nothing after the first rounds */
    {
        size_t big_len;
        char *big = txml_read_data("sep-enddevice-list.xml", &big_len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        for (int round = 0; round < 6; round++) {
            if (round == 3) {
                dec_allocs = ge_xml_decoder_heap_allocs(dec);
                arena_allocs = ge_arena_heap_allocs(arena1);
            }
            ge_arena_reset(arena1);
            CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_reset(dec, NULL, arena1), 0);
            for (size_t off = 0; off < big_len; off += 7) {
                size_t n = big_len - off < 7 ? big_len - off : 7;
                CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_feed(dec, big + off, n, off + n == big_len), 0);
            }
            CU_ASSERT_EQUAL(ge_xml_decoder_result(dec, &m), 0);
        }
        CU_ASSERT_EQUAL(ge_xml_decoder_heap_allocs(dec), dec_allocs);
        CU_ASSERT_EQUAL(ge_arena_heap_allocs(arena1), arena_allocs);
        free(big);
    }
    /* an error in one document does not spoil the next */
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL(ge_xml_decode(dec, NULL, arena1, "<x", 2, &m), GE_ERR_PARSE);
    ge_arena_reset(arena1);
    CU_ASSERT_EQUAL(ge_xml_decode(dec, NULL, arena1, doc, len, &m), 0);
    free(doc);
}

/* ---- documents fed into the open wrapper ----------------------------------------------------------------- */

/* Decode DOC (LEN bytes) into arena1: a first chunk of FIRST bytes, then chunks of CHUNK bytes (0:
 * the rest whole), the last one final or followed by an empty final one (EMPTY_END); the error or NULL. */
static const ge_xml_error_t *decode_split(ge_xml_decoder_t *d, const char *doc, size_t len, size_t first,
                                          size_t chunk, bool empty_end)
{
    int rc;
    ge_xml_msg_t m;

    ge_arena_reset(arena1);
    rc = ge_xml_decoder_reset(d, NULL, arena1);
    for (size_t off = 0; rc == 0 && off < len;) {
        size_t want = off == 0 ? first : chunk ? chunk : len - off;
        size_t n = len - off < want ? len - off : want;
        rc = ge_xml_decoder_feed(d, doc + off, n, !empty_end && off + n == len);
        off += n;
    }
    if (rc == 0 && (empty_end || !len))
        rc = ge_xml_decoder_feed(d, "", 0, true);
    if (rc == 0)
        rc = ge_xml_decoder_result(d, &m);
    return rc == 0 ? NULL : ge_xml_decoder_error(d);
}

/* Decode DOC (LEN bytes) into arena1 in chunks of CHUNK bytes (0: whole); the error or NULL. */
static const ge_xml_error_t *decode_chunked(ge_xml_decoder_t *d, const char *doc, size_t len, size_t chunk)
{
    if (!chunk)
        chunk = len ? len : 1;
    return decode_split(d, doc, len, chunk, chunk, false);
}

static void test_wrapper(void)
{
    /* A small document that begins plainly goes into a wrapper element the parser keeps open
     * (decode.c, ge_xml_decoder.pstate); one fed a byte at a time, or after a first chunk that does
     * not tell, is parsed alone, as expat parses any document.  Both must give the same verdict,
     * position and message: here every way a document can end or go on past its root. */
#define T "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>2</dstEndTime><dstOffset>3</dstOffset>" \
          "<dstStartTime>4</dstStartTime><quality>7</quality><tzOffset>5</tzOffset></Time>"
    static const char *const docs_w[] = {
        T, T "\n", T "\r", T "\r\n \t", T "<!-- after -->", T "<?pi after?>\n",
        "<?xml version=\"1.0\"?>" T, "\xEF\xBB\xBF<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n\n" T,
        "<?xml version=\"1.0\"\n  encoding=\"US-ASCII\"?>" T, "  \n  " T,
        /* errors */
        T T, T "x", T "&#32;", T "&amp;", T "<![CDATA[ ]]>", T "</_>", T "<?xml version=\"1.0\"?>",
        T "<!-- unclosed", T "<", "<Time " SEPNS "><currentTime>1", "<Time " SEPNS "><curr",
        "<Time " SEPNS "><currentTime>1</currentTime><dstEndTime>x</dstEndTime></Time>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Time " SEPNS ">\r\n<currentTime>1</currentTime>\n"
        "<dstEndTime>x</dstEndTime></Time>",
        "<?xml version='1.0'\r\n?><Time " SEPNS "><dstEndTime>2</dstEndTime></Time>",
        "\xEF\xBB\xBF<Time " SEPNS "><currentTime>1</currentTime><bogus/></Time>",
        "<Time " SEPNS "><currentTime>1</currentTime></Tim>", "<Time " SEPNS " a='1' a='2'/>",
        "<Time " SEPNS "><currentTime>&#0;</currentTime></Time>", "<Time " SEPNS "><currentTime>1</currentTime>\xff</Time>",
        "<_ " SEPNS "/>", "<_>" T "</_>",
    };
    ge_xml_decoder_t *fresh;
    ge_xml_error_t alone;

    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&fresh, NULL, NULL, NULL), 0);
    for (size_t i = 0; i < sizeof(docs_w) / sizeof(docs_w[0]); i++) {
        const char *doc = docs_w[i];
        size_t len = strlen(doc);
        const ge_xml_error_t *e = decode_chunked(fresh, doc, len, 1);
        bool ok_alone = e == NULL;
        CU_ASSERT_FALSE(ge__xml_decoder_wrapped(fresh));
        if (e)
            alone = *e;
        /* whole: into the wrapper of a fresh decoder, then of one that took documents before */
        for (int round = 0; round < 3; round++) {
            ge_xml_decoder_t *d = round == 0 ? fresh : dec;
            if (round == 2)
                CU_ASSERT_PTR_NULL(decode_chunked(dec, T, strlen(T), 0));
            e = decode_chunked(d, doc, len, 0);
            CU_ASSERT_TRUE(ge__xml_decoder_wrapped(d));
            if ((e == NULL) != ok_alone ||
                (e && (e->code != alone.code || e->line != alone.line || e->col != alone.col ||
                       strcmp(e->msg, alone.msg) != 0))) {
                fprintf(stderr, "\n[doc %zu round %d] alone: %s %lu:%lu %s\n                  wrapper: %s %lu:%lu %s\n",
                        i, round, ok_alone ? "ok" : "error", ok_alone ? 0 : alone.line, ok_alone ? 0 : alone.col,
                        ok_alone ? "" : alone.msg, e ? "error" : "ok", e ? e->line : 0, e ? e->col : 0,
                        e ? e->msg : "");
                CU_FAIL("the wrapper and a document alone disagree");
            }
            /* and the next document is not spoilt */
            e = decode_chunked(d, T, strlen(T), 0);
            if (e)
                fprintf(stderr, "\n[doc %zu round %d] next: %lu:%lu %s\n", i, round, e->line, e->col, e->msg);
            CU_ASSERT_PTR_NULL(e);
        }
    }
    ge_xml_decoder_free(fresh);
#undef T
}

/* The same comparison over our documents with random damage: bytes replaced by markup characters,
 * removed, doubled, or the document cut short, with a fixed seed. */
static void test_wrapper_damaged(void)
{
    static const char *const files[] = { "sep-dcap.xml", "sep-dercontrol.xml", "sep-dercapability-csipaus.xml",
                                         "sep-notification.xml", "oadr-created-event.xml",
                                         "oadr-create-party-registration.xml" };
    static const char marks[] = "<>/&;=\"' \r\n?!-[]x:\xff\xc3";
    unsigned long seed = 20261201;
    ge_xml_decoder_t *fresh;
    unsigned wrapped = 0, total = 0, errors = 0;

    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&fresh, NULL, NULL, NULL), 0);
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        char *orig = txml_read_data(files[f], &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
        char *doc = malloc(len + 8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        for (int k = 0; k < 400; k++) {
            size_t n = len, at;
            ge_xml_error_t alone;
            const ge_xml_error_t *e;
            bool ok_alone;
            memcpy(doc, orig, len);
            for (int m = 0; m < 1 + k % 3; m++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                at = (size_t)(seed >> 33) % n;
                switch ((seed >> 20) % 4) {
                case 0: doc[at] = marks[(seed >> 8) % (sizeof(marks) - 1)]; break;
                case 1: memmove(doc + at, doc + at + 1, n - at - 1); n--; break;
                case 2: memmove(doc + at + 1, doc + at, n - at); n++; break;
                default: n = at + 1; break;
                }
                if (n > len + 4 || n < 2)
                    break;
            }
            e = decode_chunked(fresh, doc, n, 1);
            ok_alone = e == NULL;
            if (e)
                alone = *e;
            total++;
            errors += !ok_alone;
            /* whole, then in pieces after a first chunk that lets it into the wrapper, the end empty */
            for (int way = 0; way < 2; way++) {
                e = way == 0 ? decode_chunked(dec, doc, n, 0) : decode_split(dec, doc, n, 300, 5 + k % 11, true);
                wrapped += way == 0 && ge__xml_decoder_wrapped(dec);
                if ((e == NULL) != ok_alone ||
                    (e && (e->code != alone.code || e->line != alone.line || e->col != alone.col ||
                           strcmp(e->msg, alone.msg) != 0))) {
                    fprintf(stderr, "\n[%s #%d way %d] alone: %s %lu:%lu %s\n   wrapper: %s %lu:%lu %s\n%.*s\n", files[f],
                            k, way, ok_alone ? "ok" : "error", ok_alone ? 0 : alone.line, ok_alone ? 0 : alone.col,
                            ok_alone ? "" : alone.msg, e ? "error" : "ok", e ? e->line : 0, e ? e->col : 0,
                            e ? e->msg : "", (int)(n > 120 ? 120 : n), doc + (n > 120 ? n - 120 : 0));
                    CU_FAIL("the wrapper and a document alone disagree");
                }
            }
        }
        free(doc);
        free(orig);
    }
    printf("\n  %u damaged documents, %u refused, %u through the wrapper\n", total, errors, wrapped);
    CU_ASSERT_TRUE(wrapped > total / 2);
    ge_xml_decoder_free(fresh);
}

/* Names a document chooses (prefixes, opaque content) fill expat's table of names, which the wrapper keeps
 * from one document to the next: past a bound the parser starts afresh, so memory stays bounded. */
static void test_wrapper_memory(void)
{
    unsigned long allocs = 0;
    ge_xml_msg_t m;
    char doc[512];

    for (unsigned i = 0; i < 30000; i++) {
        int n = snprintf(doc, sizeof(doc),
                         "<p%u:Time xmlns:p%u=\"urn:ieee:std:2030.5:ns\"><p%u:currentTime>1</p%u:currentTime>"
                         "<p%u:dstEndTime>2</p%u:dstEndTime><p%u:dstOffset>3</p%u:dstOffset><p%u:dstStartTime>4"
                         "</p%u:dstStartTime><p%u:quality>7</p%u:quality><p%u:tzOffset>5</p%u:tzOffset></p%u:Time>",
                         i, i, i, i, i, i, i, i, i, i, i, i, i, i, i);
        ge_arena_reset(arena1);
        CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, NULL, arena1, doc, (size_t)n, &m), 0);
        if (i == 15000)
            allocs = ge_xml_decoder_heap_allocs(dec);
    }
    /* blocks come back from the free lists once the table was emptied the first times */
    CU_ASSERT_EQUAL(ge_xml_decoder_heap_allocs(dec), allocs);
}

/* ---- encoder checks --------------------------------------------------------------------------------------- */

static void test_encoder_checks(void)
{
    sep_ActivePower_t ap = { 0, 100 };
    sep_DERControl_t c;
    sep_EventStatus_t es;
    sep_DateTimeInterval_t iv = { 3600, 0 };
    sep_DERControlBase_t base;
    uint8_t mrid[17] = { 1 };
    ge_buf_t out;
    ge_xml_error_t err;
    const ge_xml_root_t *root = ge_xml_root_find(&ge_xml_schema_sep, "DERControl");
    char small[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_PTR_EQUAL(ge_xml_root_find(&ge_xml_schema_sep, "sep:DERControl"), root);
    CU_ASSERT_PTR_NULL(ge_xml_root_find(&ge_xml_schema_sep, "csipaus:DERControl"));
    memset(&c, 0, sizeof(c));
    memset(&es, 0, sizeof(es));
    memset(&base, 0, sizeof(base));
    c.mRID.data = mrid;
    c.mRID.len = 16;
    c.creationTime = 5;
    c.EventStatus = &es;
    c.interval = &iv;
    c.DERControlBase = &base;
    base.opModTargetW = &ap;
    ge_buf_init(&out, NULL, 0);
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, root, &c, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "<mRID>01000000000000000000000000000000</mRID>"));
    CU_ASSERT_EQUAL(xsd_valid(&ge_xml_schema_sep, out.data, out.len) != 0, 1);
    /* each broken rule is refused with a message naming it */
    c.mRID.len = 17;
    ge_buf_clear(&out);
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, root, &c, &err), GE_ERR_SCHEMA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "maxLength 16"));
    CU_ASSERT_EQUAL(out.len, 0);
    c.mRID.len = 16;
    c.interval = NULL;
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, root, &c, &err), GE_ERR_SCHEMA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing required element 'sep:interval' in 'DERControl'"));
    c.interval = &iv;
    c.description = "this description is longer than thirty-two characters";
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, root, &c, &err), GE_ERR_SCHEMA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "maxLength 32"));
    c.description = "a < b & \"c\"";
    CU_ASSERT_EQUAL(ge_xml_encode(&out, &ge_xml_schema_sep, root, &c, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "<description>a &lt; b &amp; \"c\"</description>"));
    /* a full output buffer: GE_ERR_LIMIT, content unchanged */
    {
        ge_buf_t fixed;
        ge_buf_init_fixed(&fixed, small, sizeof(small));
        ge_buf_puts(&fixed, "keep");
        CU_ASSERT_EQUAL(ge_xml_encode(&fixed, &ge_xml_schema_sep, root, &c, &err), GE_ERR_LIMIT);
        CU_ASSERT_STRING_EQUAL(ge_buf_str(&fixed), "keep");
    }
    ge_buf_free(&out);
}

/* ---- failmalloc -------------------------------------------------------------------------------------------- */

static const char *fm_doc;
static size_t fm_len;

static int fm_op(void *ud, const ge_mem_t *mem)
{
    ge_xml_decoder_t *d = NULL;
    ge_arena_t *a = NULL;
    ge_xml_msg_t m;
    ge_buf_t out;
    int rc;
    (void)ud;

    rc = ge_xml_decoder_new(&d, mem, NULL, NULL);
    if (rc == 0)
        rc = ge_arena_new(&a, mem, 512, 0);
    if (rc == 0)
        rc = ge_xml_decode(d, NULL, a, fm_doc, fm_len, &m);
    if (rc == 0) {
        ge_buf_init(&out, mem, 0);
        rc = ge_xml_encode_msg(&out, &m, NULL);
        ge_buf_free(&out);
    }
    ge_arena_free(a);
    ge_xml_decoder_free(d);
    return rc < 0 ? rc : 0;
}

static void test_failmalloc(void)
{
    const char *names[] = { "oadr-distribute-event.xml", "sep-dercontrol.xml", "sep-notification.xml", NULL };
    for (int i = 0; names[i]; i++) {
        long bad = -1, runs;
        char *doc = txml_read_data(names[i], &fm_len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
        fm_doc = doc;
        runs = failmem_sweep(fm_op, NULL, &bad);
        if (runs < 0)
            fprintf(stderr, "\nfailmalloc: %s: run %ld leaked or hid a failure\n", names[i], bad);
        CU_ASSERT_TRUE(runs > 3);
        free(doc);
    }
}

/* ---- values -------------------------------------------------------------------------------------------------- */

static void test_values(void)
{
    /* the patterns the schemas use, through the NFA compiled by the generator */
    static const struct {
        const char *type, *text;
        int ok;
    } cases[] = {
        { "ei:EiExtensionTokenType", "x-custom", 1 },
        { "ei:EiExtensionTokenType", "x-", 0 },
        { "ei:EiExtensionTokenType", "y-custom", 0 },
        { "xcal:DurationValueType", "PT1H", 1 },
        { "xcal:DurationValueType", "-P1DT2H3M4S", 1 },
        /* as written, the pattern's '|' splits the whole expression: weeks come without 'P' */
        { "xcal:DurationValueType", "P2W", 0 },
        { "xcal:DurationValueType", "2W", 1 },
        { "xcal:DurationValueType", "1H", 0 },
        { "xcal:DateTimeType", "2026-11-30T17:00:00Z", 1 },
        { "xcal:DateTimeType", "2026-11-30T17:00:00.123", 1 },
        { "xcal:DateTimeType", "2026-11-30 17:00:00", 0 },
        { "ei:ResponseCodeType", "200", 1 },
        { "ei:ResponseCodeType", "2000", 0 },
        { "ei:signalNameType", "ELECTRICITY_PRICE", 1 },
        { "ei:signalNameType", "x-vendor", 1 },
        { "ei:signalNameType", "price", 0 },
    };
    const ge_xml_schema_t *sc = &ge_xml_schema_oadr20b;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ge_xml_stype_t *t = NULL;
        char buf[128];
        /* find the simple type through any field that uses it, or a union that has it */
        for (uint32_t k = 0; k < sc->n_types && !t; k++)
            for (uint32_t f = 0; f < sc->types[k]->n_elems && !t; f++) {
                const ge_xml_stype_t *st = sc->types[k]->elems[f].stype;
                if (!st)
                    continue;
                if (!strcmp(st->name, cases[i].type))
                    t = st;
                for (uint32_t m = 0; m < st->n_members && !t; m++)
                    if (!strcmp(st->members[m]->name, cases[i].type))
                        t = st->members[m];
            }
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        snprintf(buf, sizeof(buf), "%s", cases[i].text);
        if ((ge_xml_parse_value(t, buf, strlen(buf), NULL, NULL, NULL, 0) == 0) != cases[i].ok) {
            fprintf(stderr, "\n%s '%s' should be %s\n", cases[i].type, cases[i].text, cases[i].ok ? "valid" : "invalid");
            CU_FAIL("pattern");
        }
    }
    /* canonical numbers */
    {
        ge_buf_t b;
        double v = 0.1;
        ge_xml_stype_t d = { "xs:double", "double", GE_XML_DOUBLE, GE_XML_WS_COLLAPSE, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             NULL, 0, NULL, 0, NULL, 0 };
        ge_buf_init(&b, NULL, 0);
        ge_xml_format_value(&b, &d, &v);
        CU_ASSERT_STRING_EQUAL(ge_buf_str(&b), "0.1");
        ge_buf_free(&b);
    }
}

/* The one-pass values (ge__xml_parse_fast) give what the full parser gives: hexBinary, eight digits
 * at a time, with every byte at every place of a 20-digit value; booleans spelt every way. */
static void test_fast_values(void)
{
    static const ge_xml_stype_t hex = { "xs:hexBinary", "hexBinary", GE_XML_HEX, GE_XML_WS_COLLAPSE, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0 };
    static const ge_xml_stype_t boolean = { "xs:boolean", "boolean", GE_XML_BOOL, GE_XML_WS_COLLAPSE, 0, 0, 0, 0,
                                            0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0 };
    static const char *const bools[] = { "true", "false", "1", "0", "True", "FALSE", "tru", "truee", "2", "01", "t" };
    ge_arena_t *arena;
    unsigned mismatches = 0, fast = 0;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 0), 0);
    for (size_t pos = 0; pos < 20; pos++)
        for (unsigned c = 1; c < 256; c++) {
            char s[21] = "0123456789abcdefABCD", full[21];
            ge_xml_bytes_t a = { NULL, 0 }, b = { NULL, 0 };
            int rf, rp;
            s[pos] = (char)c;
            memcpy(full, s, sizeof(full));
            rf = ge__xml_parse_fast(&hex, s, 20, arena, &a);
            rp = ge_xml_parse_value(&hex, full, 20, arena, &b, NULL, 0);
            if (rf == 0) {
                fast++;
                if (rp != 0 || a.len != 10 || b.len != 10 || memcmp(a.data, b.data, 10) != 0)
                    mismatches++;
            } else if (rf != 1 || (c > ' ' && rp == 0)) { /* only whitespace is left to the full parser */
                mismatches++;
            }
        }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_EQUAL(fast, 20 * 22); /* the 22 hex digits at each place */
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        char full[8];
        bool a = false, b = false;
        int rf = ge__xml_parse_fast(&boolean, bools[i], strlen(bools[i]), arena, &a);
        snprintf(full, sizeof(full), "%s", bools[i]);
        int rp = ge_xml_parse_value(&boolean, full, strlen(full), arena, &b, NULL, 0);
        CU_ASSERT(rf == 0 ? rp == 0 && a == b : rf == 1 && rp != 0);
        CU_ASSERT_EQUAL(rf, i < 4 ? 0 : 1);
    }
    ge_arena_free(arena);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "every sep root: build, encode, XSD-valid, decode, same bytes", test_every_sep_root },
        { "every oadr20b root: build, encode, XSD-valid, decode, same bytes", test_every_oadr_root },
        { "our documents: decode whole and in chunks, canonical fixed point", test_documents },
        { "CSIP-AUS v1.3 namespace: decoded as v1.2's, written as v1.2 or v1.3, others refused", test_csipaus_v13_namespace },
        { "typed access to decoded messages", test_typed_access },
        { "negative cases: first error with line:col and rule", test_negative },
        { "documents in the open wrapper: same verdicts and positions as alone", test_wrapper },
        { "documents in the open wrapper: damaged documents, same verdicts as alone", test_wrapper_damaged },
        { "documents in the open wrapper: names they choose stay bounded", test_wrapper_memory },
        { "xsi:type: type lookups, derivation, base-first layout", test_xsi_types_table },
        { "xsi:type: Notification with a DERControlList of two DERControls", test_xsi_notification_dercontrol_list },
        { "xsi:type: EndDevice, DefaultDERControl, CSIP-AUS type, declared type, root", test_xsi_other_types },
        { "xsi:type: every derived type on every polymorphic element and root, XSD-valid", test_xsi_every_derived_type },
        { "xsi:type: encoder refuses types not derived from the declared one", test_xsi_encoder_checks },
        { "xsi:type: abstract types", test_xsi_abstract },
        { "error positions after CR/LF and multibyte characters, whole and in chunks", test_positions },
        { "10,000-deep nesting and the depth cap", test_deep_nesting },
        { "50 MB text node stops at the string cap", test_huge_text },
        { "document, element, attribute and arena caps", test_caps },
        { "reuse: no heap allocation in steady state, <= 600 B per DERControl", test_reuse_without_heap },
        { "expat allocates from the decoder's allocator and keeps its blocks", test_expat_memory },
        { "encoder refuses invalid values", test_encoder_checks },
        { "failmalloc sweep over decode and encode", test_failmalloc },
        { "patterns, unions and canonical numbers", test_values },
        { "one-pass values agree with the full parser: hexBinary, booleans", test_fast_values },
        { NULL, NULL },
    };
    if (setup() < 0)
        return -1;
    return test_add_suite("xml codec", cases);
}
