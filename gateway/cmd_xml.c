/* cmd_xml.c - `gridedge xml decode` (our codec: canonical XML or JSON out, or the first error as
 * "NAME:LINE:COL: error: MESSAGE") and `gridedge xml validate` (libxml2 against the official XSDs,
 * for cross-checking the codec).  The output formats are fixed by CLI-CONTRACT.md. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include <gridedge/gridedge.h>
#include <gridedge/xml.h>

#include "cli.h"

#define READ_CHUNK 65536

static const gw_command_t *xml_cmd(void)
{
    return gw_command_find("xml");
}

static FILE *open_input(const char *path)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    return fopen(path, "rb");
}

static int xml_decode(int argc, char **argv)
{
    const ge_xml_schema_t *schema = NULL;
    const char *path = NULL;
    bool json = false;
    ge_xml_decoder_t *d = NULL;
    ge_arena_t *arena = NULL;
    ge_xml_msg_t msg;
    ge_buf_t out;
    static char chunk[READ_CHUNK];
    FILE *in;
    int rc = 0, status = GW_EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0) {
            if (++i >= argc)
                return gw_usage_error(xml_cmd(), "--schema needs a value");
            if (strcmp(argv[i], "auto") == 0)
                schema = NULL;
            else if (!(schema = ge_xml_schema_find(argv[i])))
                return gw_usage_error(xml_cmd(), "unknown schema '%s' (sep, oadr20b or auto)", argv[i]);
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return gw_usage_error(xml_cmd(), "unknown option '%s'", argv[i]);
        } else if (path) {
            return gw_usage_error(xml_cmd(), "unexpected argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return gw_usage_error(xml_cmd(), "decode needs a FILE (or - for standard input)");
    in = open_input(path);
    if (!in) {
        fprintf(stderr, "%s:0:0: error: cannot open: %s\n", path, strerror(errno));
        return GW_EXIT_FAIL;
    }
    if ((rc = ge_xml_decoder_new(&d, NULL, NULL, NULL)) < 0 ||
        (rc = ge_arena_new(&arena, NULL, 0, (size_t)512 << 20)) < 0 ||
        (rc = ge_xml_decoder_reset(d, schema, arena)) < 0) {
        fprintf(stderr, "%s:0:0: error: %s\n", path, ge_strerror(rc));
        goto done;
    }
    /* stream the input through the decoder as it is read */
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), in);
        bool eof = n < sizeof(chunk);
        if (eof && ferror(in)) {
            fprintf(stderr, "%s:0:0: error: cannot read: %s\n", path, strerror(errno));
            goto done;
        }
        rc = ge_xml_decoder_feed(d, chunk, n, eof && feof(in));
        if (rc < 0 || (eof && feof(in)))
            break;
    }
    if (rc == 0)
        rc = ge_xml_decoder_result(d, &msg);
    if (rc < 0) {
        const ge_xml_error_t *e = ge_xml_decoder_error(d);
        if (e->code)
            fprintf(stderr, "%s:%lu:%lu: error: %s\n", path, e->line, e->col, e->msg);
        else
            fprintf(stderr, "%s:0:0: error: %s\n", path, ge_strerror(rc));
        goto done;
    }
    ge_buf_init(&out, NULL, (size_t)1 << 30);
    if (json)
        rc = ge_xml_to_json(&out, &msg);
    else
        rc = ge_xml_encode_msg(&out, &msg, NULL);
    if (rc < 0) {
        fprintf(stderr, "%s:0:0: error: cannot write the message: %s\n", path, ge_strerror(rc));
    } else {
        fwrite(out.data, 1, out.len, stdout);
        fputc('\n', stdout);
        status = fflush(stdout) == 0 ? GW_EXIT_OK : GW_EXIT_FAIL;
    }
    ge_buf_free(&out);
done:
    if (in != stdin)
        fclose(in);
    ge_arena_free(arena);
    ge_xml_decoder_free(d);
    return status;
}

/* ---- validate (libxml2) ---------------------------------------------------------------------------- */

typedef struct first_error {
    int seen;
    long line, col;
    char msg[512];
} first_error_t;

static void xml_err(void *ud, const xmlError *err)
{
    first_error_t *fe = ud;
    size_t n;

    if (fe->seen || !err)
        return;
    fe->seen = 1;
    fe->line = err->line;
    fe->col = err->int2;
    snprintf(fe->msg, sizeof(fe->msg), "%s", err->message ? err->message : "invalid");
    n = strlen(fe->msg);
    while (n > 0 && (fe->msg[n - 1] == '\n' || fe->msg[n - 1] == ' '))
        fe->msg[--n] = '\0';
}

/* Structured error callbacks changed constness across libxml2 versions. */
static void xml_err_cb(void *ud, xmlErrorPtr err)
{
    xml_err(ud, err);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

#define CSIPAUS_NS "https://csipaus.org/ns"
#define CSIPAUS_NS_V13 "https://csipaus.org/ns/v1.3"

/* Does an element or attribute under NODE use the namespace URI? */
static bool uses_ns(xmlNodePtr node, const char *uri)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        if (node->ns && strcmp((const char *)node->ns->href, uri) == 0)
            return true;
        for (xmlAttrPtr a = node->properties; a; a = a->next)
            if (a->ns && strcmp((const char *)a->ns->href, uri) == 0)
                return true;
        if (uses_ns(node->children, uri))
            return true;
    }
    return false;
}

/* The entry XSD for SCHEMA under DIR (the folder of ../shared/schemas or one of its subfolders);
 * V13: CSIP-AUS v1.3's, whose namespace differs from v1.2's. */
static int find_xsd(const char *dir, const char *schema, bool v13, char *out, size_t size)
{
    static const char *sep[] = { "csipaus/csipaus-core.xsd", "csipaus-core.xsd", "sep/sep.xsd", "sep.xsd", NULL };
    static const char *sep13[] = { "csipaus/csipaus-core-v1.3.xsd", "csipaus-core-v1.3.xsd", NULL };
    static const char *oadr[] = { "oadr20b/oadr_20b.xsd", "oadr_20b.xsd", NULL };
    const char **cand = strcmp(schema, "sep") == 0 ? (v13 ? sep13 : sep) : oadr;

    for (int i = 0; cand[i]; i++) {
        snprintf(out, size, "%s/%s", dir, cand[i]);
        if (file_exists(out))
            return 0;
    }
    return -1;
}

static int xml_validate(int argc, char **argv)
{
    const char *path = NULL, *dir = NULL, *schema = "auto";
    bool v13;
    char xsd[4096];
    first_error_t fe;
    xmlDocPtr doc = NULL;
    xmlSchemaParserCtxtPtr pctx = NULL;
    xmlSchemaPtr xs = NULL;
    xmlSchemaValidCtxtPtr vctx = NULL;
    int status = GW_EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--xsd-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
            schema = argv[++i];
            if (strcmp(schema, "sep") && strcmp(schema, "oadr20b") && strcmp(schema, "auto"))
                return gw_usage_error(xml_cmd(), "unknown schema '%s' (sep, oadr20b or auto)", schema);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return gw_usage_error(xml_cmd(), "unknown option or missing value '%s'", argv[i]);
        } else if (path) {
            return gw_usage_error(xml_cmd(), "unexpected argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!dir)
        return gw_usage_error(xml_cmd(), "validate needs --xsd-dir DIR (the official XSDs)");
    if (!path)
        return gw_usage_error(xml_cmd(), "validate needs a FILE (or - for standard input)");
    memset(&fe, 0, sizeof(fe));
    xmlSetStructuredErrorFunc(&fe, xml_err_cb);
    /* no network, no entity substitution, no DTD loading */
    doc = xmlReadFile(strcmp(path, "-") == 0 ? "/dev/stdin" : path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (!doc) {
        fprintf(stderr, "%s:%ld:%ld: error: %s\n", path, fe.line, fe.col, fe.seen ? fe.msg : "cannot read");
        goto done;
    }
    if (strcmp(schema, "auto") == 0) {
        xmlNodePtr root = xmlDocGetRootElement(doc);
        const char *ns = root && root->ns ? (const char *)root->ns->href : "";
        schema = (strcmp(ns, "urn:ieee:std:2030.5:ns") == 0 || strcmp(ns, CSIPAUS_NS) == 0 ||
                  strcmp(ns, CSIPAUS_NS_V13) == 0) ? "sep" : "oadr20b";
    }
    /* a CSIP-AUS v1.3 document is checked against v1.3's XSDs (a superset under its own URI) */
    v13 = strcmp(schema, "sep") == 0 && uses_ns(xmlDocGetRootElement(doc), CSIPAUS_NS_V13);
    if (find_xsd(dir, schema, v13, xsd, sizeof(xsd)) < 0) {
        fprintf(stderr, "gridedge xml: no %s XSD under %s\n", schema, dir);
        goto done;
    }
    pctx = xmlSchemaNewParserCtxt(xsd);
    xs = pctx ? xmlSchemaParse(pctx) : NULL;
    if (!xs) {
        fprintf(stderr, "gridedge xml: cannot load %s: %s\n", xsd, fe.seen ? fe.msg : "error");
        goto done;
    }
    memset(&fe, 0, sizeof(fe));
    vctx = xmlSchemaNewValidCtxt(xs);
    if (!vctx)
        goto done;
    xmlSchemaSetValidStructuredErrors(vctx, xml_err_cb, &fe);
    if (xmlSchemaValidateDoc(vctx, doc) == 0) {
        printf("%s: valid (%s)\n", path, schema);
        status = GW_EXIT_OK;
    } else {
        fprintf(stderr, "%s:%ld:%ld: error: %s\n", path, fe.line, fe.col, fe.seen ? fe.msg : "invalid");
    }
done:
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (vctx)
        xmlSchemaFreeValidCtxt(vctx);
    if (xs)
        xmlSchemaFree(xs);
    if (pctx)
        xmlSchemaFreeParserCtxt(pctx);
    if (doc)
        xmlFreeDoc(doc);
    xmlCleanupParser();
    return status;
}

int gw_cmd_xml(int argc, char **argv)
{
    if (argc < 2)
        return gw_usage_error(xml_cmd(), "missing action (decode or validate)");
    if (strcmp(argv[1], "decode") == 0)
        return xml_decode(argc - 1, argv + 1);
    if (strcmp(argv[1], "validate") == 0)
        return xml_validate(argc - 1, argv + 1);
    return gw_usage_error(xml_cmd(), "unknown action '%s' (decode or validate)", argv[1]);
}
