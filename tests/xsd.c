/* xsd.c - XSD validation for tests (see xsd.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "xsd.h"

struct xsd {
    xmlSchemaPtr schema;
    xmlSchemaValidCtxtPtr ctx;
    char err[512];
};

const char *xsd_dir(void)
{
    static char dir[1024];
    const char *env = getenv("GE_SHARED_SCHEMAS"), *src = getenv("GE_SRCDIR");
    char probe[1100];

    if (env && *env)
        snprintf(dir, sizeof(dir), "%s", env);
    else
        snprintf(dir, sizeof(dir), "%s/../shared/schemas", src && *src ? src : GE_SRCDIR);
    snprintf(probe, sizeof(probe), "%s/sep/sep.xsd", dir);
    if (access(probe, R_OK) != 0) {
        printf("note: official schemas not found in %s (set GE_SHARED_SCHEMAS); not validating\n", dir);
        return NULL;
    }
    return dir;
}

/* csipaus-ext.xsd imports sep.xsd a second time, which libxml2 reports as a warning: not ours. */
static void ignore(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void keep_error(void *ctx, xmlErrorPtr e)
{
    xsd_t *x = ctx;
    if (!x->err[0] && e && e->message)
        snprintf(x->err, sizeof(x->err), "line %d: %s", e->line, e->message);
}

xsd_t *xsd_load(const char *rel)
{
    const char *dir = xsd_dir();
    char path[1200];
    xmlSchemaParserCtxtPtr p;
    xsd_t *x;

    if (!dir)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    x = calloc(1, sizeof(*x));
    if (!x || !(p = xmlSchemaNewParserCtxt(path))) {
        free(x);
        return NULL;
    }
    xmlSchemaSetParserErrors(p, ignore, ignore, NULL);
    x->schema = xmlSchemaParse(p);
    xmlSchemaFreeParserCtxt(p);
    if (!x->schema || !(x->ctx = xmlSchemaNewValidCtxt(x->schema))) {
        xsd_free(x);
        return NULL;
    }
    xmlSchemaSetValidStructuredErrors(x->ctx, keep_error, x);
    return x;
}

void xsd_free(xsd_t *x)
{
    if (!x)
        return;
    if (x->ctx)
        xmlSchemaFreeValidCtxt(x->ctx);
    if (x->schema)
        xmlSchemaFree(x->schema);
    free(x);
}

int xsd_valid(xsd_t *x, const char *text, size_t len, char *err, size_t errlen)
{
    xmlDocPtr d = xmlReadMemory(text, (int)len, "doc.xml", NULL, XML_PARSE_NONET);
    int ok;

    x->err[0] = '\0';
    if (!d) {
        snprintf(err, errlen, "not well-formed XML");
        return 0;
    }
    ok = xmlSchemaValidateDoc(x->ctx, d) == 0;
    xmlFreeDoc(d);
    if (!ok)
        snprintf(err, errlen, "%s", x->err[0] ? x->err : "invalid");
    return ok;
}
