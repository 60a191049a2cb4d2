/* test_oadr_sig.c - OpenADR 2.0b XML signatures (stack/oadr/sig.c): what we sign verifies, with our
 * verifier and with the independent xmlsec1 tool, and validates against the official XSDs; a
 * changed byte, a missing or moved signature, a stranger's certificate, a stale ReplayProtect and a
 * replayed nonce are each refused with the reason. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/oadr_sig.h>
#include <gridedge/pki.h>

#include "gateway/gwconfig.h"
#include "proc.h"
#include "runner.h"
#include "stack/oadr/oadr_internal.h"
#include "xsd.h"

static char pki_a[] = "/tmp/ge-oadr-sig-a-XXXXXX", pki_b[] = "/tmp/ge-oadr-sig-b-XXXXXX";
static oadr_sig_t *signer_a, *verifier_a, *verifier_b;

static void path(char *out, size_t n, const char *dir, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

static int suite_init(void)
{
    char ca[600], cert[600], key[600], err[256];

    if (!mkdtemp(pki_a) || !mkdtemp(pki_b) || ge_pki_init(pki_a, NULL, NULL, NULL) < 0 ||
        ge_pki_init(pki_b, NULL, NULL, NULL) < 0)
        return -1;
    path(ca, sizeof(ca), pki_a, "ca.pem");
    path(cert, sizeof(cert), pki_a, "client.pem");
    path(key, sizeof(key), pki_a, "client.key");
    if (oadr_sig_new(&signer_a, cert, key, NULL, err, sizeof(err)) < 0 ||
        oadr_sig_new(&verifier_a, NULL, NULL, ca, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    path(ca, sizeof(ca), pki_b, "ca.pem");
    return oadr_sig_new(&verifier_b, NULL, NULL, ca, err, sizeof(err)) < 0 ? -1 : 0;
}

static int suite_clean(void)
{
    char *argv[] = { "/bin/rm", "-rf", pki_a, pki_b, NULL };
    proc_result_t r;

    oadr_sig_free(signer_a);
    oadr_sig_free(verifier_a);
    oadr_sig_free(verifier_b);
    if (proc_run(argv, NULL, 20000, &r) == 0)
        proc_result_free(&r);
    return 0;
}

/* An oadrCreatedEvent as the engine writes it, signed by A's client identity at NOW into OUT. */
static void signed_payload(double now, ge_buf_t *out)
{
    ge_buf_t plain;
    char err[256] = "";
    int rc;

    ge_buf_init(&plain, NULL, 1u << 20);
    ge_buf_init(out, NULL, OADR_SIG_MAX_BYTES);
    CU_ASSERT_EQUAL_FATAL(oadr__created_event_xml(&plain, "RQ-1", "VEN-1", "EV-1", 3, "200", "optIn"), 0);
    rc = oadr_sig_sign(signer_a, plain.data, plain.len, now, out, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "sign: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    ge_buf_free(&plain);
}

static int verify_text(oadr_sig_t *v, const char *text, double now, char *err, size_t errlen)
{
    return oadr_sig_verify(v, text, strlen(text), now, OADR_SIG_DEFAULT_SKEW_S, err, errlen);
}

static void test_roundtrip(void)
{
    double now = (double)time(NULL);
    ge_buf_t doc;
    char err[256] = "";
    const char *s;

    signed_payload(now, &doc);
    s = ge_buf_str(&doc);
    CU_ASSERT_EQUAL(verify_text(verifier_a, s, now, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "verify: %s\n", err);
    /* the profile's shape: Signature first in oadrPayload, by Id, exclusive C14N, ECDSA-SHA256,
     * a ReplayProtect property, the certificate in X509Data */
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "<ds:Signature"));
    CU_ASSERT_TRUE(strstr(s, "<ds:Signature") < strstr(s, "<oadrSignedObject") ||
                   strstr(s, "<ds:Signature") < strstr(s, ":oadrSignedObject"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Id=\"oadrSignedObject\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "URI=\"#oadrSignedObject\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "http://www.w3.org/2001/10/xml-exc-c14n#"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "http://www.w3.org/2001/04/xmlenc#sha256"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "dsp:ReplayProtect"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "<ds:X509Certificate>"));
    /* signing something signed, or something that is not a payload, is refused */
    ge_buf_t again;
    ge_buf_init(&again, NULL, OADR_SIG_MAX_BYTES);
    CU_ASSERT_EQUAL(oadr_sig_sign(signer_a, doc.data, doc.len, now, &again, err, sizeof(err)), GE_ERR_STATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "signed already"));
    CU_ASSERT_EQUAL(oadr_sig_sign(signer_a, "<a/>", 4, now, &again, err, sizeof(err)), GE_ERR_PARSE);
    ge_buf_free(&again);
    ge_buf_free(&doc);
}

/* One byte of the signed content changed (the eventID's last character). */
static void test_tampered(void)
{
    double now = (double)time(NULL);
    ge_buf_t doc;
    char err[256] = "", *s, *p;

    signed_payload(now, &doc);
    s = (char *)ge_buf_str(&doc);
    p = strstr(s, "EV-1<");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p[3] = '2';
    CU_ASSERT_EQUAL(verify_text(verifier_a, s, now, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "#oadrSignedObject does not match"));
    p[3] = '1';
    CU_ASSERT_EQUAL(verify_text(verifier_a, s, now, err, sizeof(err)), 0);
    /* and one byte of the signature value */
    p = strstr(s, "<ds:SignatureValue>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p += strlen("<ds:SignatureValue>") + 4;
    *p = *p == 'A' ? 'B' : 'A';
    CU_ASSERT_EQUAL(verify_text(verifier_a, s, now, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "SignatureValue does not verify"));
    ge_buf_free(&doc);
}

/* Signature wrapping: the signed oadrSignedObject moved into the signature's ds:Object and a
 * different one put in its place under the same Id. */
static void test_wrapping(void)
{
    double now = (double)time(NULL);
    ge_buf_t doc, forged;
    char err[256] = "";
    const char *s, *so, *so_end, *obj_end;

    signed_payload(now, &doc);
    s = ge_buf_str(&doc);
    so = strstr(s, "<oadrSignedObject");
    so_end = strstr(s, "</oadrSignedObject>");
    obj_end = strstr(s, "</ds:Object>");
    CU_ASSERT_FATAL(so && so_end && obj_end && obj_end < so);
    so_end += strlen("</oadrSignedObject>");
    ge_buf_init(&forged, NULL, OADR_SIG_MAX_BYTES);
    ge_buf_append(&forged, s, (size_t)(obj_end - s));
    ge_buf_append(&forged, so, (size_t)(so_end - so)); /* the original, hidden in the Object */
    ge_buf_append(&forged, obj_end, (size_t)(so - obj_end));
    {
        /* the forged object in place: optOut instead of optIn */
        size_t start = forged.len;
        ge_buf_append(&forged, so, (size_t)(so_end - so));
        char *opt = strstr(ge_buf_str(&forged) + start, "optIn");
        CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
        memcpy(opt, "optOu", 5);
    }
    ge_buf_append(&forged, so_end, strlen(so_end));
    CU_ASSERT_EQUAL(verify_text(verifier_a, ge_buf_str(&forged), now, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not match"));
    ge_buf_free(&forged);
    ge_buf_free(&doc);
}

static void test_refusals(void)
{
    double now = (double)time(NULL);
    ge_buf_t doc, plain;
    char err[256] = "";
    static const char dtd[] = "<?xml version=\"1.0\"?><!DOCTYPE oadrPayload [<!ENTITY a \"aaaa\">]>"
                              "<oadrPayload xmlns=\"http://openadr.org/oadr-2.0b/2012/07\">&a;</oadrPayload>";

    signed_payload(now, &doc);
    /* a certificate from another CA */
    CU_ASSERT_EQUAL(verify_text(verifier_b, ge_buf_str(&doc), now, err, sizeof(err)), GE_ERR_CERT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not chain to the CA"));
    /* replayed ten minutes later */
    CU_ASSERT_EQUAL(verify_text(verifier_a, ge_buf_str(&doc), now + 600, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ReplayProtect timestamp"));
    /* unsigned */
    ge_buf_init(&plain, NULL, 1u << 20);
    CU_ASSERT_EQUAL_FATAL(oadr__poll_xml(&plain, "VEN-1"), 0);
    CU_ASSERT_EQUAL(verify_text(verifier_a, ge_buf_str(&plain), now, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not signed"));
    /* DTDs and entities, garbage, nothing, too much */
    CU_ASSERT_EQUAL(verify_text(verifier_a, dtd, now, err, sizeof(err)), GE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "DOCTYPE"));
    CU_ASSERT_EQUAL(verify_text(verifier_a, "<oadrPayload", now, err, sizeof(err)), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(oadr_sig_verify(verifier_a, "", 0, now, 0, err, sizeof(err)), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(oadr_sig_verify(verifier_a, doc.data, OADR_SIG_MAX_BYTES + 1, now, 0, err, sizeof(err)),
                    GE_ERR_PARSE);
    /* a verifier cannot sign, a signer cannot verify */
    CU_ASSERT_EQUAL(oadr_sig_sign(verifier_a, plain.data, plain.len, now, &doc, err, sizeof(err)), GE_ERR_STATE);
    CU_ASSERT_EQUAL(verify_text(signer_a, ge_buf_str(&plain), now, err, sizeof(err)), GE_ERR_STATE);
    ge_buf_free(&plain);
    ge_buf_free(&doc);
}

/* ReplayProtect nonces: a payload verified twice within the window is refused the second time, a
 * different nonce is not; a nonce is forgotten once a replay would fail the timestamp check; a
 * full table refuses rather than forgets; 0 remembers nothing. */
static void test_nonce_memory(void)
{
    double now = (double)time(NULL);
    oadr_sig_t *v;
    ge_buf_t a, b, c, d;
    char ca[600], err[256] = "";

    path(ca, sizeof(ca), pki_a, "ca.pem");
    CU_ASSERT_EQUAL_FATAL(oadr_sig_new(&v, NULL, NULL, ca, err, sizeof(err)), 0);
    signed_payload(now, &a);
    signed_payload(now, &b);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&a), now, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 1);
    /* the same payload again, 10 s later: its timestamp passes, its nonce does not */
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&a), now + 10, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "nonce was seen already"));
    /* another payload (another nonce) of the same moment */
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&b), now + 10, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 2);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&b), now + 299, err, sizeof(err)), GE_ERR_PROTOCOL);
    /* 310 s on, both are forgotten (a replay of them fails on its timestamp) */
    signed_payload(now + 310, &c);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&c), now + 310, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 1);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&a), now + 310, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "ReplayProtect timestamp"));
    /* a table of two: the third payload within the window is refused, not a nonce forgotten */
    CU_ASSERT_EQUAL(oadr_sig_set_nonce_memory(v, 2), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 0);
    signed_payload(now + 310, &d);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&a), now, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&b), now, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&c), now + 10, err, sizeof(err)), GE_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused until the oldest nonce expires"));
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&a), now + 10, err, sizeof(err)), GE_ERR_PROTOCOL);
    /* ... and taken once the first two have expired */
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&c), now + 301, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&d), now + 301, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 2);
    /* a failed verification takes no place: C changed, refused for its digest, not as a replay */
    char *p = strstr((char *)ge_buf_str(&c), "EV-1<");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p[3] = '2';
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&c), now + 301, err, sizeof(err)), GE_ERR_PROTOCOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not match"));
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 2);
    /* none remembered: the same payload verifies twice (re-checking recorded traffic) */
    CU_ASSERT_EQUAL(oadr_sig_set_nonce_memory(v, 0), 0);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&d), now + 301, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(verify_text(v, ge_buf_str(&d), now + 301, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_nonces_remembered(v), 0);
    CU_ASSERT_EQUAL(oadr_sig_set_nonce_memory(v, (size_t)OADR_SIG_MAX_NONCES + 1), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(oadr_sig_set_nonce_memory(NULL, 1), GE_ERR_INVALID);
    ge_buf_free(&a);
    ge_buf_free(&b);
    ge_buf_free(&c);
    ge_buf_free(&d);
    oadr_sig_free(v);
}

/* The VEN says it signs when it registers (oadrXmlSignature), and says it does not otherwise. */
static void test_registration_says_so(void)
{
    ge_buf_t a, b;

    ge_buf_init(&a, NULL, 1u << 20);
    ge_buf_init(&b, NULL, 1u << 20);
    CU_ASSERT_EQUAL(oadr__create_party_registration_xml(&a, "RQ-1", NULL, NULL, "ven", NULL, 1), 0);
    CU_ASSERT_EQUAL(oadr__create_party_registration_xml(&b, "RQ-1", NULL, NULL, "ven", NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&a), "<oadrXmlSignature>true</oadrXmlSignature>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "<oadrXmlSignature>false</oadrXmlSignature>"));
    ge_buf_free(&a);
    ge_buf_free(&b);
}

/* The gateway's `[oadr] sign`: taken with ca/cert/key, refused with FILE:LINE without them or for 3.0. */
static void test_ini_key(void)
{
    static const char good[] = "[oadr]\nenabled=1\nvtn=http://vtn/OpenADR2/Simple/2.0b\nven_name=v\n"
                               "ca=a\ncert=b\nkey=c\nsign=true\n";
    static const struct {
        const char *text, *first;
    } bad[] = {
        { "[oadr]\nenabled=1\nvtn=http://vtn/OpenADR2/Simple/2.0b\nven_name=v\nsign=true\n",
          "t.ini:5: error: sign = true needs ca (to verify the VTN's signatures), cert and key (to sign ours)" },
        { "[oadr]\nenabled=1\nversion=3.0\nvtn=http://vtn/openadr3\nven_name=v\ntoken=t\nsign=yes\n",
          "t.ini:7: error: sign (XML signatures) is an OpenADR 2.0b feature" },
        { "[oadr]\nsign=maybe\n", "t.ini:2: error: " },
    };
    gw_config_t c;
    gw_config_errors_t e;
    char buf[512];

    CU_ASSERT_EQUAL(gw_config_parse_string(&c, "t.ini", good, &e), 0);
    CU_ASSERT_EQUAL(c.oadr_sign, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(gw_config_parse_string(&c, "t.ini", bad[i].text, &e), GE_ERR_CONFIG);
        gw_config_error_format(&e, 0, buf, sizeof(buf));
        if (strncmp(buf, bad[i].first, strlen(bad[i].first)) != 0)
            fprintf(stderr, "\n  bad[%zu]: %s\n", i, buf);
        CU_ASSERT_EQUAL(strncmp(buf, bad[i].first, strlen(bad[i].first)), 0);
    }
}

static void test_bad_setup(void)
{
    oadr_sig_t *s = NULL;
    char err[256] = "", cert[600];

    path(cert, sizeof(cert), pki_a, "client.pem");
    CU_ASSERT_EQUAL(oadr_sig_new(&s, NULL, NULL, NULL, err, sizeof(err)), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(oadr_sig_new(&s, cert, NULL, NULL, err, sizeof(err)), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(oadr_sig_new(&s, cert, "/nonexistent/key.pem", NULL, err, sizeof(err)), GE_ERR_CERT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/key.pem"));
    CU_ASSERT_EQUAL(oadr_sig_new(&s, NULL, NULL, "/nonexistent/ca.pem", err, sizeof(err)), GE_ERR_CERT);
    CU_ASSERT_PTR_NULL(s);
}

/* The official XSDs (oadr_20b.xsd with its ds and dsp parts) take what we sign. */
static void test_schema_valid(void)
{
    xsd_t *x = xsd_load("oadr20b/oadr_20b.xsd");
    ge_buf_t doc;
    char err[512] = "";

    if (!x) {
        printf("\n  (skipped: the official OpenADR 2.0b XSDs are not available) ");
        return;
    }
    signed_payload((double)time(NULL), &doc);
    CU_ASSERT_EQUAL(xsd_valid(x, doc.data, doc.len, err, sizeof(err)), 1);
    if (err[0])
        fprintf(stderr, "xsd: %s\n", err);
    ge_buf_free(&doc);
    xsd_free(x);
}

/* Interoperability: the xmlsec1 command-line tool verifies what we sign against the CA. */
static void test_xmlsec1_tool(void)
{
    char file[600], ca[600], *tool = "/usr/bin/xmlsec1";
    ge_buf_t doc;
    FILE *f;
    proc_result_t r;

    if (access(tool, X_OK) != 0)
        tool = "/usr/local/bin/xmlsec1";
    if (access(tool, X_OK) != 0) {
        printf("\n  (skipped: the xmlsec1 tool is not installed; apt-get install xmlsec1) ");
        return;
    }
    signed_payload((double)time(NULL), &doc);
    path(file, sizeof(file), pki_a, "signed.xml");
    path(ca, sizeof(ca), pki_a, "ca.pem");
    f = fopen(file, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(doc.data, 1, doc.len, f), doc.len);
    fclose(f);
    char *argv[] = { tool, "--verify", "--trusted-pem", ca, "--enabled-reference-uris", "same-doc",
                     "--id-attr:Id", "http://openadr.org/oadr-2.0b/2012/07:oadrSignedObject", file, NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 20000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "xmlsec1 (exit %d): %s%s\n", r.status, r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "OK"));
    proc_result_free(&r);
    /* and refuses it with one byte changed */
    char *p = strstr((char *)ge_buf_str(&doc), "EV-1<");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p[3] = '9';
    f = fopen(file, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(doc.data, 1, doc.len, f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 20000, &r), 0);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    proc_result_free(&r);
    unlink(file);
    ge_buf_free(&doc);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "sign and verify", test_roundtrip },
        { "a changed byte fails", test_tampered },
        { "signature wrapping fails", test_wrapping },
        { "refusals say why", test_refusals },
        { "a replayed nonce is refused", test_nonce_memory },
        { "bad set-up", test_bad_setup },
        { "the registration says oadrXmlSignature", test_registration_says_so },
        { "gateway INI [oadr] sign", test_ini_key },
        { "signed payload validates against the XSDs", test_schema_valid },
        { "xmlsec1 tool verifies our signature", test_xmlsec1_tool },
        { NULL, NULL },
    };
    CU_pSuite s = CU_add_suite("oadr_sig", suite_init, suite_clean);
    if (!s)
        return CU_get_error();
    for (const test_case_t *c = cases; c->name; c++)
        if (!CU_add_test(s, c->name, c->fn))
            return CU_get_error();
    return 0;
}
