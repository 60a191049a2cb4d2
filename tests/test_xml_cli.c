/* test_xml_cli.c - `gridedge xml decode|validate` as CLI-CONTRACT.md fixes it: canonical XML or
 * JSON on stdout and exit 0; one "NAME:LINE:COL: error: MESSAGE" line on stderr and exit 1; usage
 * errors exit 2. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "runner.h"
#include "test_xml_common.h"

static proc_result_t run(const char *const *args, const char *input)
{
    char *argv[16];
    proc_result_t r;
    size_t n = 0;

    argv[n++] = (char *)proc_gridedge();
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, input, 20000, &r), 0);
    CU_ASSERT_FALSE(r.timed_out);
    return r;
}

static char *data_path(const char *name)
{
    static char path[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/tests/data/xml/%s", txml_srcdir(), name);
    return path[k];
}

static void test_decode_valid(void)
{
    const char *args[] = { "xml", "decode", data_path("sep-dercontrol.xml"), NULL };
    proc_result_t r = run(args, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(r.err_len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "<DERControl xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "<csipaus:opModExpLimW><multiplier>0</multiplier><value>1500</value></csipaus:opModExpLimW>"));
    CU_ASSERT_TRUE(r.out_len > 0 && r.out[r.out_len - 1] == '\n');
    /* the canonical output decodes to itself */
    {
        const char *again[] = { "xml", "decode", "--schema", "sep", "-", NULL };
        proc_result_t r2 = run(again, r.out);
        CU_ASSERT_EQUAL(r2.status, 0);
        CU_ASSERT_STRING_EQUAL(r2.out, r.out);
        proc_result_free(&r2);
    }
    proc_result_free(&r);
}

static void test_decode_json(void)
{
    const char *args[] = { "xml", "decode", "--schema", "auto", "--json", data_path("oadr-distribute-event.xml"), NULL };
    proc_result_t r = run(args, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "{\"oadrPayload\":{\"oadrSignedObject\":{\"oadrDistributeEvent\":{\"@schemaVersion\":\"2.0b\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"ei:signalName\":\"SIMPLE\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"ei:value\":2}"));
    proc_result_free(&r);
}

/* A 2030.5 Notification whose Resource is a DERControlList (xsi:type), as XML and as JSON. */
static void test_decode_xsi_type(void)
{
    const char *xml[] = { "xml", "decode", data_path("sep-notification.xml"), NULL };
    const char *json[] = { "xml", "decode", "--json", data_path("sep-notification.xml"), NULL };
    proc_result_t r = run(xml, NULL);

    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><subscribedResource>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "<Resource xsi:type=\"DERControlList\" href=\"/derp/1/derc\" all=\"2\" results=\"2\">"));
    proc_result_free(&r);
    r = run(json, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "{\"Notification\":{\"subscribedResource\":\"/derp/1/derc\",\"Resource\":"
                                         "{\"@xsi:type\":\"DERControlList\",\"@href\":\"/derp/1/derc\",\"@all\":2,"));
    proc_result_free(&r);
}

static void test_decode_invalid(void)
{
    static const struct {
        const char *doc, *schema, *line;
    } cases[] = {
        { "<DERControl xmlns=\"urn:ieee:std:2030.5:ns\">\n  <mRID>00112233445566778899AABBCCDDEEFF00</mRID>\n</DERControl>\n",
          "sep", "-:2:3: error: element 'sep:mRID': hexBinary value of 17 octets is longer than maxLength 16 of sep:HexBinary128\n" },
        { "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><quality>1</quality></Time>", "auto",
          "-:1:38: error: missing required element 'sep:currentTime' before 'sep:quality' in 'sep:Time'\n" },
        { "<oadr:oadrPayload xmlns:oadr=\"http://openadr.org/oadr-2.0b/2012/07\"/>", "sep",
          "-:1:1: error: unknown root element 'oadrPayload' in namespace 'http://openadr.org/oadr-2.0b/2012/07' for schema sep\n" },
        { "<Time xmlns=\"urn:ieee:std:2030.5:ns\">", "auto", "-:1:38: error: not well-formed XML: no element found\n" },
        { "<Notification xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
          "<subscribedResource>/r</subscribedResource>\n  <Resource xsi:type=\"DERControlBase\"/>", "sep",
          "-:3:3: error: xsi:type 'sep:DERControlBase' on 'sep:Resource' is not derived from sep:Resource\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[] = { "xml", "decode", "--schema", cases[i].schema, "-", NULL };
        proc_result_t r = run(args, cases[i].doc);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_EQUAL(r.out_len, 0);
        if (strcmp(r.err, cases[i].line) != 0)
            fprintf(stderr, "\nwant: %sgot:  %s", cases[i].line, r.err);
        CU_ASSERT_STRING_EQUAL(r.err, cases[i].line);
        proc_result_free(&r);
    }
    /* NAME is the file name as given */
    {
        char tmp[] = "/tmp/ge-xml-XXXXXX";
        int fd = mkstemp(tmp);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs("<DERControl xmlns=\"urn:ieee:std:2030.5:ns\"><mRID>ABC</mRID></DERControl>", f);
        fclose(f);
        {
            const char *args[] = { "xml", "decode", tmp, NULL };
            char want[256];
            proc_result_t r = run(args, NULL);
            snprintf(want, sizeof(want), "%s:1:44: error: element 'sep:mRID': value 'ABC' is not hexBinary (odd number of digits)\n", tmp);
            CU_ASSERT_EQUAL(r.status, 1);
            CU_ASSERT_STRING_EQUAL(r.err, want);
            proc_result_free(&r);
        }
        remove(tmp);
    }
}

static void test_usage(void)
{
    static const char *const bad[][6] = {
        { "xml", NULL },
        { "xml", "frob", NULL },
        { "xml", "decode", NULL },
        { "xml", "decode", "--schema", "frob", "-", NULL },
        { "xml", "decode", "--frob", "-", NULL },
        { "xml", "decode", "a", "b", NULL },
        { "xml", "validate", "-", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        proc_result_t r = run(bad[i], "");
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_EQUAL(r.out_len, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
}

static void test_validate(void)
{
    const char *dir = txml_schemas_dir();
    if (!dir) {
        printf("\n  note: official schemas not found; xml validate not run\n");
        CU_PASS("no official schemas here");
        return;
    }
    {
        const char *args[] = { "xml", "validate", "--xsd-dir", dir, data_path("oadr-update-report.xml"), NULL };
        proc_result_t r = run(args, NULL);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "valid (oadr20b)"));
        proc_result_free(&r);
    }
    {
        const char *args[] = { "xml", "validate", "--xsd-dir", dir, "--schema", "sep", "-", NULL };
        proc_result_t r = run(args, "<DERControl xmlns=\"urn:ieee:std:2030.5:ns\">\n<mRID>ABC</mRID></DERControl>");
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "-:2:"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, ": error: "));
        proc_result_free(&r);
    }
    /* CSIP-AUS v1.3's namespace (root or inner elements): checked against v1.3's XSDs, which know
     * vppModesSupported; the same element in v1.2's namespace is not v1.2's */
    {
        static const char *const docs[][2] = {
            { "https://csipaus.org/ns/v1.3", "0" },
            { "https://csipaus.org/ns", "1" },
        };
        for (size_t i = 0; i < 2; i++) {
            const char *args[] = { "xml", "validate", "--xsd-dir", dir, "-", NULL };
            char doc[1024];
            snprintf(doc, sizeof(doc),
                     "<DERCapability xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"%s\"><modesSupported>00500088"
                     "</modesSupported><rtgMaxW><multiplier>0</multiplier><value>5000</value></rtgMaxW><type>83</type>"
                     "<csipaus:doeModesSupported>0F</csipaus:doeModesSupported>"
                     "<csipaus:vppModesSupported>03</csipaus:vppModesSupported></DERCapability>", docs[i][0]);
            proc_result_t r = run(args, doc);
            CU_ASSERT_EQUAL(r.status, docs[i][1][0] - '0');
            proc_result_free(&r);
        }
        const char *args[] = { "xml", "validate", "--xsd-dir", dir, "-", NULL };
        proc_result_t r = run(args, "<ConnectionPoint xmlns=\"https://csipaus.org/ns/v1.3\">"
                                    "<connectionPointId>4123456789</connectionPointId></ConnectionPoint>");
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "valid (sep)"));
        proc_result_free(&r);
    }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "decode: canonical XML, exit 0", test_decode_valid },
        { "decode --json", test_decode_json },
        { "decode: xsi:type, XML and JSON", test_decode_xsi_type },
        { "decode: one error line with position, exit 1", test_decode_invalid },
        { "usage errors exit 2", test_usage },
        { "validate with the official XSDs", test_validate },
        { NULL, NULL },
    };
    return test_add_suite("xml cli", cases);
}
