/* catalogue.c - parse the conformance catalogues (see catalogue.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>

#include "conformance/catalogue.h"
#include "gateway/embedded.h"

extern const gw_embedded_t gw_embedded_catalogue[];

const char *const cf_suites[] = { "csip", "csip-aus", "oadr20b", "oadr3", NULL };

int cf_suite_known(const char *suite)
{
    for (const char *const *s = cf_suites; *s; s++)
        if (strcmp(*s, suite) == 0)
            return 1;
    return 0;
}

static int valid_id(const char *p, size_t n)
{
    if (n == 0 || n >= CF_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_'))
            return 0;
    return 1;
}

static int fail(char *err, size_t errlen, const char *name, unsigned line, const char *msg, int rc)
{
    if (err && errlen)
        snprintf(err, errlen, "%s:%u: %s", name, line, msg);
    return rc;
}

/* Copy field [p, p+n) into DST of SIZE bytes; 0 if it does not fit or holds a control byte. */
static int copy_field(char *dst, size_t size, const char *p, size_t n)
{
    if (n >= size)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20)
            return 0;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 1;
}

int cf_catalogue_parse(const char *name, const char *text, size_t len, cf_catalogue_t *out, char *err,
                       size_t errlen)
{
    const char *p = text, *end = text + len;
    size_t cap = 0;
    unsigned line = 0;
    int rc = 0;

    out->cases = NULL;
    out->n = 0;
    while (p < end && rc == 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *f[4] = { p, NULL, NULL, NULL };
        size_t fl[4] = { 0, 0, 0, 0 };
        int nf = 1;
        cf_case_info_t *c;

        line++;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p || *p == '#')
            goto next;
        for (const char *q = p; q < le; q++) {
            if (*q != '\t')
                continue;
            if (nf == 4) {
                rc = fail(err, errlen, name, line, "more than four tab-separated fields", GE_ERR_PARSE);
                break;
            }
            fl[nf - 1] = (size_t)(q - f[nf - 1]);
            f[nf++] = q + 1;
        }
        if (rc)
            break;
        fl[nf - 1] = (size_t)(le - f[nf - 1]);
        if (nf < 2 || fl[1] == 0) {
            rc = fail(err, errlen, name, line, "expected ID<TAB>TITLE", GE_ERR_PARSE);
            break;
        }
        if (!valid_id(f[0], fl[0])) {
            rc = fail(err, errlen, name, line, "case ID must be 1-31 of A-Z 0-9 - _", GE_ERR_PARSE);
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            cf_case_info_t *nc = realloc(out->cases, ncap * sizeof(*nc));
            if (!nc) {
                rc = fail(err, errlen, name, line, "out of memory", GE_ERR_NOMEM);
                break;
            }
            out->cases = nc;
            cap = ncap;
        }
        c = &out->cases[out->n];
        memset(c, 0, sizeof(*c));
        memcpy(c->id, f[0], fl[0]);
        if (!copy_field(c->title, sizeof(c->title), f[1], fl[1]) ||
            (nf >= 3 && !copy_field(c->note, sizeof(c->note), f[2], fl[2])) ||
            (nf == 4 && !copy_field(c->unscripted, sizeof(c->unscripted), f[3], fl[3]))) {
            rc = fail(err, errlen, name, line, "title, note or reason too long or has control characters",
                      GE_ERR_PARSE);
            break;
        }
        if (nf == 4 && fl[3] == 0) {
            rc = fail(err, errlen, name, line, "empty reason in the fourth field", GE_ERR_PARSE);
            break;
        }
        if (cf_catalogue_find(out, c->id)) {
            rc = fail(err, errlen, name, line, "duplicate case ID", GE_ERR_PARSE);
            break;
        }
        out->n++;
    next:
        p = eol ? eol + 1 : end;
    }
    if (rc)
        cf_catalogue_free(out);
    return rc;
}

int cf_catalogue_load(const char *suite, cf_catalogue_t *out, char *err, size_t errlen)
{
    char file[64];
    const gw_embedded_t *e;

    out->cases = NULL;
    out->n = 0;
    if (!cf_suite_known(suite)) {
        snprintf(err, errlen, "unknown suite '%s' (csip, csip-aus, oadr20b, oadr3)", suite);
        return GE_ERR_NOTFOUND;
    }
    snprintf(file, sizeof(file), "%s.tsv", suite);
    e = gw_embedded_find(gw_embedded_catalogue, file);
    if (!e) {
        snprintf(err, errlen, "no catalogue built in for suite '%s'", suite);
        return GE_ERR_NOTFOUND;
    }
    return cf_catalogue_parse(file, (const char *)e->data, e->len, out, err, errlen);
}

const cf_case_info_t *cf_catalogue_find(const cf_catalogue_t *cat, const char *id)
{
    for (size_t i = 0; i < cat->n; i++)
        if (strcmp(cat->cases[i].id, id) == 0)
            return &cat->cases[i];
    return NULL;
}

void cf_catalogue_free(cf_catalogue_t *cat)
{
    free(cat->cases);
    cat->cases = NULL;
    cat->n = 0;
}
