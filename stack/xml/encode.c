/* encode.c - typed structs back to canonical XML, and to JSON, driven by the same tables as the
 * decoder; the lookups of roots, schemas and complex types by name.  Before writing, the value is
 * checked against the schema (required fields, counts, choices, facets, that a polymorphic
 * element's type derives from the declared one), so what we send is valid by construction; the
 * root element declares only the namespaces the message uses (xsi when some element carries
 * xsi:type). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/xml.h>

#include "xml_internal.h"

/* Nesting the encoder follows; deeper values are refused (a cycle or a runaway structure). */
#define ENC_MAX_DEPTH 64

static const char XSI_NS[] = "http://www.w3.org/2001/XMLSchema-instance";

typedef struct enc {
    const ge_xml_schema_t *schema;
    uint16_t root_ns;
    uint64_t prefixed;      /* namespaces that need a prefix declaration (bit per index) */
    bool xsi;               /* some element carries xsi:type: the root declares xmlns:xsi */
    ge_buf_t *out;
    ge_xml_error_t *err;
    ge_buf_t tmp;           /* one formatted value */
} enc_t;

static int enc_fail(enc_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int enc_fail(enc_t *e, const char *fmt, ...)
{
    va_list ap;

    if (e->err) {
        e->err->code = GE_ERR_SCHEMA;
        e->err->line = e->err->col = 0;
        va_start(ap, fmt);
        vsnprintf(e->err->msg, sizeof(e->err->msg), fmt, ap);
        va_end(ap);
    }
    return GE_ERR_SCHEMA;
}

int ge__xml_escape(ge_buf_t *out, const char *s, size_t len, int attr)
{
    size_t start = 0;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        case '\r': rep = "&#13;"; break;
        case '\t': rep = attr ? "&#9;" : NULL; break;
        case '\n': rep = attr ? "&#10;" : NULL; break;
        default: break;
        }
        if (rep) {
            rc = ge_buf_append(out, s + start, i - start);
            if (rc == 0)
                rc = ge_buf_puts(out, rep);
            start = i + 1;
        }
    }
    if (rc == 0)
        rc = ge_buf_append(out, s + start, len - start);
    return rc;
}

/* ---- field access ---------------------------------------------------------------------------------- */

/* How many values FIELD holds in OBJ, and where the first one is. */
static size_t field_values(const ge_xml_field_t *f, const void *obj, const unsigned char **first)
{
    const unsigned char *p = (const unsigned char *)obj + f->off;

    if (f->max > 1) {
        *first = *(unsigned char *const *)p;
        return *first ? *(const size_t *)((const unsigned char *)obj + f->aux) : 0;
    }
    *first = p;
    if (f->aux != GE_XML_NO_AUX)
        return *(const bool *)((const unsigned char *)obj + f->aux) ? 1 : 0;
    if (f->what == GE_XML_F_OPAQUE || f->ctype || f->stype->n_members || f->stype->kind == GE_XML_STRING)
        return *(void *const *)p ? 1 : 0;
    if (f->stype->kind == GE_XML_HEX || f->stype->kind == GE_XML_BASE64)
        return ((const ge_xml_bytes_t *)p)->data ? 1 : 0;
    return 1; /* a required scalar is always there */
}

static const char *qual(const ge_xml_schema_t *s, const ge_xml_field_t *f, char *buf, size_t size)
{
    if (f->ns == GE_XML_NO_NS || f->ns >= s->n_ns)
        snprintf(buf, size, "%s", f->name);
    else
        snprintf(buf, size, "%s:%s", s->ns_prefix[f->ns], f->name);
    return buf;
}

/* The namespace index of a type named "pfx:Local" (GE_XML_NO_NS if the prefix is not the schema's). */
static uint16_t type_ns(const ge_xml_schema_t *s, const char *name)
{
    const char *colon = strchr(name, ':');

    for (uint16_t n = 0; colon && n < s->n_ns; n++)
        if (strlen(s->ns_prefix[n]) == (size_t)(colon - name) && memcmp(s->ns_prefix[n], name, (size_t)(colon - name)) == 0)
            return n;
    return GE_XML_NO_NS;
}

/* T's name as written in xsi:type: without the prefix when it is in the root's (default) namespace. */
static const char *type_ref(const ge_xml_schema_t *s, uint16_t root_ns, const ge_xml_ctype_t *t)
{
    const char *colon = strchr(t->name, ':');
    return colon && type_ns(s, t->name) == root_ns ? colon + 1 : t->name;
}

/* The type of the value of element field F in OBJ: the one its NAME_xsi member names (a
 * polymorphic element), else the declared one. */
static const ge_xml_ctype_t *elem_type(const ge_xml_field_t *f, const void *obj)
{
    const ge_xml_ctype_t *t = NULL;

    if (f->xsi_off)
        t = *(const ge_xml_ctype_t *const *)((const unsigned char *)obj + f->xsi_off);
    return t ? t : f->ctype;
}

/* ---- checking ------------------------------------------------------------------------------------------ */

/* Can a value of type T be written where DECL is declared (element or root WHERE)? */
static int check_derived(enc_t *e, const ge_xml_ctype_t *t, const ge_xml_ctype_t *decl, const char *where)
{
    uint16_t ns;

    if (t != decl) {
        if (!ge_xml_ctype_is_a(t, decl))
            return enc_fail(e, "'%s' has the type %s, which is not derived from %s", where, t->name, decl->name);
        e->xsi = true;
        ns = type_ns(e->schema, t->name);
        if (ns != GE_XML_NO_NS && ns != e->root_ns && ns < 64)
            e->prefixed |= (uint64_t)1 << ns;
    }
    if (t->abstract)
        return enc_fail(e, "'%s' has the abstract type %s: set its type to a derived one", where, t->name);
    return 0;
}

static int check_simple(enc_t *e, const ge_xml_field_t *f, const void *v, const char *where)
{
    char msg[200], a[96];
    int rc = ge_xml_check_value(f->stype, v, msg, sizeof(msg));

    if (rc < 0)
        return enc_fail(e, "'%s' in '%s': %s", qual(e->schema, f, a, sizeof(a)), where, msg);
    if (f->fixed) {
        ge_buf_clear(&e->tmp);
        if ((rc = ge_xml_format_value(&e->tmp, f->stype, v)) < 0)
            return rc;
        if (strcmp(ge_buf_str(&e->tmp), f->fixed) != 0)
            return enc_fail(e, "'%s' in '%s' must be '%s'", qual(e->schema, f, a, sizeof(a)), where, f->fixed);
    }
    return 0;
}

static int check_type(enc_t *e, const ge_xml_ctype_t *t, const void *obj, const char *where, int depth)
{
    char a[96];
    int rc;

    if (depth > ENC_MAX_DEPTH)
        return enc_fail(e, "'%s' is nested deeper than %d levels", where, ENC_MAX_DEPTH);
    for (uint32_t k = 0; k < t->n_attrs; k++) {
        const ge_xml_field_t *f = &t->attrs[k];
        const unsigned char *v;
        size_t n = field_values(f, obj, &v);
        if (n == 0 && f->min)
            return enc_fail(e, "missing required attribute '%s' on '%s'", f->name, where);
        if (n && (rc = check_simple(e, f, v, where)) < 0)
            return rc;
        if (n && f->ns != GE_XML_NO_NS && f->ns < 64)
            e->prefixed |= (uint64_t)1 << f->ns;
    }
    if (t->text && (rc = check_simple(e, t->text, (const unsigned char *)obj + t->text->off, where)) < 0)
        return rc;
    for (uint32_t g = 0; g < t->n_groups; g++) {
        const ge_xml_group_t *gr = &t->groups[g];
        size_t total = 0, used = 0;
        for (uint16_t k = 0; k < gr->n; k++) {
            const unsigned char *v;
            size_t n = field_values(&t->elems[gr->first + k], obj, &v);
            total += n;
            used += n > 0;
        }
        if (total < gr->min)
            return enc_fail(e, "'%s' needs one of its choice of '%s'...", where,
                            qual(e->schema, &t->elems[gr->first], a, sizeof(a)));
        if (gr->max == 1 && used > 1)
            return enc_fail(e, "'%s' uses more than one alternative of the choice of '%s'...", where,
                            qual(e->schema, &t->elems[gr->first], a, sizeof(a)));
        if (gr->max != GE_XML_UNBOUNDED && gr->max > 1 && total > gr->max)
            return enc_fail(e, "'%s': the choice of '%s'... occurs more than %u times", where,
                            qual(e->schema, &t->elems[gr->first], a, sizeof(a)), (unsigned)gr->max);
    }
    for (uint32_t k = 0; k < t->n_elems; k++) {
        const ge_xml_field_t *f = &t->elems[k];
        const unsigned char *v;
        size_t n = field_values(f, obj, &v);
        size_t isz = ge__xml_item_size(f);
        if (n < f->min && n == 0)
            return enc_fail(e, "missing required element '%s' in '%s'", qual(e->schema, f, a, sizeof(a)), where);
        if (n < f->min)
            return enc_fail(e, "'%s' occurs %zu times in '%s', fewer than %u", qual(e->schema, f, a, sizeof(a)),
                            n, where, (unsigned)f->min);
        if (f->max != GE_XML_UNBOUNDED && n > f->max)
            return enc_fail(e, "'%s' occurs %zu times in '%s', more than %u", qual(e->schema, f, a, sizeof(a)),
                            n, where, (unsigned)f->max);
        /* opaque parts declare their own namespaces */
        if (n && f->what != GE_XML_F_OPAQUE && f->ns != GE_XML_NO_NS && f->ns != e->root_ns && f->ns < 64)
            e->prefixed |= (uint64_t)1 << f->ns;
        for (size_t i = 0; i < n; i++) {
            const unsigned char *item = v + i * isz;
            if (f->what == GE_XML_F_OPAQUE) {
                if (!*(char *const *)item)
                    return enc_fail(e, "'%s' in '%s' has a NULL item", qual(e->schema, f, a, sizeof(a)), where);
            } else if (f->ctype) {
                const void *child = *(void *const *)item;
                const ge_xml_ctype_t *ct = elem_type(f, obj);
                if (!child)
                    return enc_fail(e, "'%s' in '%s' has a NULL item", qual(e->schema, f, a, sizeof(a)), where);
                qual(e->schema, f, a, sizeof(a));
                if ((rc = check_derived(e, ct, f->ctype, a)) < 0 || (rc = check_type(e, ct, child, a, depth + 1)) < 0)
                    return rc;
            } else if ((rc = check_simple(e, f, item, where)) < 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------------------- */

static int put_name(enc_t *e, uint16_t ns, const char *name, int is_attr)
{
    int rc = 0;
    if (ns != GE_XML_NO_NS && ns < e->schema->n_ns && (is_attr || ns != e->root_ns)) {
        rc |= ge_buf_puts(e->out, e->schema->ns_prefix[ns]);
        rc |= ge_buf_putc(e->out, ':');
    }
    rc |= ge_buf_puts(e->out, name);
    return rc ? GE_ERR_LIMIT : 0;
}

static int put_value(enc_t *e, const ge_xml_stype_t *t, const void *v, int attr)
{
    int rc;
    ge_buf_clear(&e->tmp);
    if ((rc = ge_xml_format_value(&e->tmp, t, v)) < 0)
        return rc;
    return ge__xml_escape(e->out, e->tmp.data ? e->tmp.data : "", e->tmp.len, attr);
}

/* Write element NAME of type T (declared type DECL: xsi:type says which when they differ). */
static int write_type(enc_t *e, const ge_xml_ctype_t *t, const ge_xml_ctype_t *decl, const void *obj, uint16_t ns,
                      const char *name, bool root)
{
    int rc = 0;
    bool empty = !t->text;

    rc |= ge_buf_putc(e->out, '<');
    rc |= put_name(e, ns, name, 0);
    if (root) {
        if (ns != GE_XML_NO_NS) {
            rc |= ge_buf_printf(e->out, " xmlns=\"%s\"", e->schema->ns_uri[ns]);
        }
        for (uint16_t k = 0; k < e->schema->n_ns && k < 64; k++)
            if (e->prefixed & ((uint64_t)1 << k))
                rc |= ge_buf_printf(e->out, " xmlns:%s=\"%s\"", e->schema->ns_prefix[k], e->schema->ns_uri[k]);
        if (e->xsi)
            rc |= ge_buf_printf(e->out, " xmlns:xsi=\"%s\"", XSI_NS);
    }
    if (t != decl)
        rc |= ge_buf_printf(e->out, " xsi:type=\"%s\"", type_ref(e->schema, e->root_ns, t));
    for (uint32_t k = 0; k < t->n_attrs; k++) {
        const ge_xml_field_t *f = &t->attrs[k];
        const unsigned char *v;
        if (field_values(f, obj, &v) == 0)
            continue;
        rc |= ge_buf_putc(e->out, ' ');
        rc |= put_name(e, f->ns, f->name, 1);
        rc |= ge_buf_puts(e->out, "=\"");
        rc |= put_value(e, f->stype, v, 1);
        rc |= ge_buf_putc(e->out, '"');
    }
    if (rc)
        return GE_ERR_LIMIT;
    for (uint32_t k = 0; k < t->n_elems && empty; k++) {
        const unsigned char *v;
        empty = field_values(&t->elems[k], obj, &v) == 0;
    }
    if (empty)
        return ge_buf_puts(e->out, "/>") ? GE_ERR_LIMIT : 0;
    if (ge_buf_putc(e->out, '>'))
        return GE_ERR_LIMIT;
    if (t->text && (rc = put_value(e, t->text->stype, (const unsigned char *)obj + t->text->off, 0)) < 0)
        return rc;
    for (uint32_t k = 0; k < t->n_elems; k++) {
        const ge_xml_field_t *f = &t->elems[k];
        const unsigned char *v;
        size_t n = field_values(f, obj, &v), isz = ge__xml_item_size(f);
        for (size_t i = 0; i < n; i++) {
            const unsigned char *item = v + i * isz;
            if (f->what == GE_XML_F_OPAQUE) {
                rc = ge_buf_puts(e->out, *(char *const *)item);
            } else if (f->ctype) {
                rc = write_type(e, elem_type(f, obj), f->ctype, *(void *const *)item, f->ns, f->name, false);
            } else {
                rc = ge_buf_putc(e->out, '<');
                rc |= put_name(e, f->ns, f->name, 0);
                rc |= ge_buf_putc(e->out, '>');
                if (rc == 0)
                    rc = put_value(e, f->stype, item, 0);
                if (rc == 0) {
                    rc |= ge_buf_puts(e->out, "</");
                    rc |= put_name(e, f->ns, f->name, 0);
                    rc |= ge_buf_putc(e->out, '>');
                }
            }
            if (rc)
                return rc < 0 ? rc : GE_ERR_LIMIT;
        }
    }
    rc |= ge_buf_puts(e->out, "</");
    rc |= put_name(e, ns, name, 0);
    rc |= ge_buf_putc(e->out, '>');
    return rc ? GE_ERR_LIMIT : 0;
}

/* VALUE is a struct of TYPE: ROOT's type or one derived from it. */
static int encode(ge_buf_t *out, const ge_xml_schema_t *schema, const ge_xml_root_t *root,
                  const ge_xml_ctype_t *type, const void *value, ge_xml_error_t *err)
{
    enc_t e;
    size_t mark;
    char where[96];
    int rc;

    if (!out || !schema || !root || !value)
        return GE_ERR_INVALID;
    if (!type)
        type = root->type;
    memset(&e, 0, sizeof(e));
    e.schema = schema;
    e.root_ns = root->ns;
    e.out = out;
    e.err = err;
    if (err)
        memset(err, 0, sizeof(*err));
    ge_buf_init(&e.tmp, NULL, out->cap ? out->cap : 0);
    snprintf(where, sizeof(where), "%s", root->name);
    rc = check_derived(&e, type, root->type, where);
    if (rc == 0)
        rc = check_type(&e, type, value, where, 0);
    if (rc == 0) {
        mark = out->len;
        rc = write_type(&e, type, root->type, value, root->ns, root->name, true);
        if (rc < 0) {
            out->len = mark; /* leave OUT as it was */
            if (out->data)
                out->data[mark] = '\0';
            if (err && rc != GE_ERR_SCHEMA) {
                err->code = rc;
                snprintf(err->msg, sizeof(err->msg), "%s", rc == GE_ERR_LIMIT ? "output buffer is full" : ge_strerror(rc));
            }
        }
    }
    ge_buf_free(&e.tmp);
    return rc;
}

int ge_xml_encode(ge_buf_t *out, const ge_xml_schema_t *schema, const ge_xml_root_t *root, const void *value,
                  ge_xml_error_t *err)
{
    return encode(out, schema, root, NULL, value, err);
}

int ge_xml_encode_msg(ge_buf_t *out, const ge_xml_msg_t *msg, ge_xml_error_t *err)
{
    if (!msg)
        return GE_ERR_INVALID;
    return encode(out, msg->schema, msg->root, msg->type, msg->value, err);
}

/* ---- JSON ------------------------------------------------------------------------------------------------ */

static int json_str(ge_buf_t *out, const char *s, size_t len)
{
    int rc = ge_buf_putc(out, '"');
    size_t start = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20) {
            rc |= ge_buf_append(out, s + start, i - start);
            if (c == '"' || c == '\\')
                rc |= ge_buf_printf(out, "\\%c", c);
            else if (c == '\n')
                rc |= ge_buf_puts(out, "\\n");
            else if (c == '\t')
                rc |= ge_buf_puts(out, "\\t");
            else if (c == '\r')
                rc |= ge_buf_puts(out, "\\r");
            else
                rc |= ge_buf_printf(out, "\\u%04x", c);
            start = i + 1;
        }
    }
    rc |= ge_buf_append(out, s + start, len - start);
    rc |= ge_buf_putc(out, '"');
    return rc ? GE_ERR_LIMIT : 0;
}

static int json_simple(ge_buf_t *out, ge_buf_t *tmp, const ge_xml_stype_t *t, const void *v)
{
    int rc;
    int kind = t->n_members ? GE_XML_STRING : t->kind;

    ge_buf_clear(tmp);
    if ((rc = ge_xml_format_value(tmp, t, v)) < 0)
        return rc;
    if (kind == GE_XML_STRING || kind == GE_XML_HEX || kind == GE_XML_BASE64 ||
        (kind == GE_XML_DOUBLE && !isfinite(*(const double *)v)))
        return json_str(out, ge_buf_str(tmp), tmp->len);
    return ge_buf_append(out, ge_buf_str(tmp), tmp->len);
}

static int json_key(ge_buf_t *out, const ge_xml_schema_t *s, uint16_t root_ns, const ge_xml_field_t *f,
                    bool *first)
{
    char key[128];
    int rc = 0;

    if (!*first)
        rc |= ge_buf_putc(out, ',');
    *first = false;
    if (f->what == GE_XML_F_ATTR)
        snprintf(key, sizeof(key), "@%s", f->name);
    else if (f->what == GE_XML_F_TEXT)
        snprintf(key, sizeof(key), "$");
    else if (f->ns != GE_XML_NO_NS && f->ns != root_ns && f->ns < s->n_ns)
        snprintf(key, sizeof(key), "%s:%s", s->ns_prefix[f->ns], f->name);
    else
        snprintf(key, sizeof(key), "%s", f->name);
    rc |= json_str(out, key, strlen(key));
    rc |= ge_buf_putc(out, ':');
    return rc ? GE_ERR_LIMIT : 0;
}

/* OBJ, a struct of type T where DECL is declared, as a JSON object ("@xsi:type" first when they differ). */
static int json_type(ge_buf_t *out, ge_buf_t *tmp, const ge_xml_schema_t *s, uint16_t root_ns,
                     const ge_xml_ctype_t *t, const ge_xml_ctype_t *decl, const void *obj, int depth)
{
    bool first = true;
    int rc = 0;

    if (depth > ENC_MAX_DEPTH)
        return GE_ERR_LIMIT;
    if (ge_buf_putc(out, '{'))
        return GE_ERR_LIMIT;
    if (t != decl) {
        const char *ref = type_ref(s, root_ns, t);
        first = false;
        if (ge_buf_puts(out, "\"@xsi:type\":") || json_str(out, ref, strlen(ref)) < 0)
            return GE_ERR_LIMIT;
    }
    for (uint32_t k = 0; k < t->n_attrs && rc == 0; k++) {
        const unsigned char *v;
        if (field_values(&t->attrs[k], obj, &v) == 0)
            continue;
        rc = json_key(out, s, root_ns, &t->attrs[k], &first);
        if (rc == 0)
            rc = json_simple(out, tmp, t->attrs[k].stype, v);
    }
    if (t->text && rc == 0) {
        rc = json_key(out, s, root_ns, t->text, &first);
        if (rc == 0)
            rc = json_simple(out, tmp, t->text->stype, (const unsigned char *)obj + t->text->off);
    }
    for (uint32_t k = 0; k < t->n_elems && rc == 0; k++) {
        const ge_xml_field_t *f = &t->elems[k];
        const unsigned char *v;
        size_t n = field_values(f, obj, &v), isz = ge__xml_item_size(f);
        if (n == 0)
            continue;
        rc = json_key(out, s, root_ns, f, &first);
        if (rc == 0 && f->max > 1)
            rc = ge_buf_putc(out, '[');
        for (size_t i = 0; i < n && rc == 0; i++) {
            const unsigned char *item = v + i * isz;
            if (i)
                rc = ge_buf_putc(out, ',');
            if (rc)
                break;
            if (f->what == GE_XML_F_OPAQUE)
                rc = json_str(out, *(char *const *)item, strlen(*(char *const *)item));
            else if (f->ctype)
                rc = json_type(out, tmp, s, root_ns, elem_type(f, obj), f->ctype, *(void *const *)item, depth + 1);
            else
                rc = json_simple(out, tmp, f->stype, item);
        }
        if (rc == 0 && f->max > 1)
            rc = ge_buf_putc(out, ']');
    }
    if (rc == 0)
        rc = ge_buf_putc(out, '}');
    return rc < 0 ? rc : rc ? GE_ERR_LIMIT : 0;
}

int ge_xml_to_json(ge_buf_t *out, const ge_xml_msg_t *msg)
{
    ge_buf_t tmp;
    int rc = 0;

    if (!out || !msg || !msg->root || !msg->value)
        return GE_ERR_INVALID;
    ge_buf_init(&tmp, NULL, out->cap);
    rc |= ge_buf_putc(out, '{');
    if (rc == 0)
        rc = json_str(out, msg->root->name, strlen(msg->root->name));
    if (rc == 0)
        rc = ge_buf_putc(out, ':');
    if (rc == 0)
        rc = json_type(out, &tmp, msg->schema, msg->root->ns, msg->type ? msg->type : msg->root->type,
                       msg->root->type, msg->value, 0);
    if (rc == 0)
        rc = ge_buf_putc(out, '}');
    ge_buf_free(&tmp);
    return rc < 0 ? rc : rc ? GE_ERR_LIMIT : 0;
}

/* ---- lookups ------------------------------------------------------------------------------------------- */

const ge_xml_root_t *ge_xml_root_find(const ge_xml_schema_t *schema, const char *name)
{
    const char *colon;
    size_t plen = 0;

    if (!schema || !name)
        return NULL;
    colon = strchr(name, ':');
    if (colon) {
        plen = (size_t)(colon - name);
        name = colon + 1;
    }
    for (uint32_t r = 0; r < schema->n_roots; r++) {
        const ge_xml_root_t *root = &schema->roots[r];
        if (strcmp(root->name, name) != 0)
            continue;
        if (colon) {
            const char *p = root->ns < schema->n_ns ? schema->ns_prefix[root->ns] : "";
            if (strlen(p) != plen || memcmp(p, name - plen - 1, plen) != 0)
                continue;
        }
        return root;
    }
    return NULL;
}

const ge_xml_ctype_t *ge_xml_ctype_find(const ge_xml_schema_t *schema, const char *qname)
{
    char buf[160];

    if (!schema || !qname)
        return NULL;
    if (!strchr(qname, ':')) {
        for (uint16_t n = 0; n < schema->n_ns; n++) {
            const ge_xml_ctype_t *t;
            if (snprintf(buf, sizeof(buf), "%s:%s", schema->ns_prefix[n], qname) >= (int)sizeof(buf))
                return NULL;
            if ((t = ge_xml_ctype_find(schema, buf)) != NULL)
                return t;
        }
        return NULL;
    }
    for (uint32_t lo = 0, hi = schema->n_types; lo < hi;) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(schema->types[mid]->name, qname);
        if (c == 0)
            return schema->types[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool ge_xml_ctype_is_a(const ge_xml_ctype_t *t, const ge_xml_ctype_t *base)
{
    /* derivation chains are short and acyclic (the generator checks); the bound guards a table
     * built by hand */
    for (int n = 0; t && n < 64; t = t->base, n++)
        if (t == base)
            return true;
    return false;
}

const ge_xml_schema_t *ge_xml_schema_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "sep") == 0)
        return &ge_xml_schema_sep;
    if (strcmp(name, "oadr20b") == 0)
        return &ge_xml_schema_oadr20b;
    return NULL;
}
