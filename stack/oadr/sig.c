/* sig.c - OpenADR 2.0b XML signatures on xmlsec: signing an oadrPayload and verifying one, with
 * the profile's rules checked around xmlsec's XMLDSig processing (see gridedge/oadr_sig.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <xmlsec/base64.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/oadr_sig.h>

#include "stack/oadr/oadr_internal.h"

#define NS_OADR "http://openadr.org/oadr-2.0b/2012/07"
#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_DSP "http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties"
#define ID_SIGNED "oadrSignedObject"
#define ID_SIGNATURE "oadrSignature"
#define ID_REPLAY "oadrReplayProtect"
#define ID_MAX 128

static const xmlChar *ds_ids[] = { BAD_CAST "Id", NULL }; /* XMLDSig's ID attribute */

struct oadr_sig {
    xmlSecKeyPtr key;         /* signing key with its certificate, or NULL */
    int ecdsa;                /* the key is EC (else RSA) */
    xmlSecKeysMngrPtr mngr;   /* the CA as xmlsec's trusted certificates, or NULL */
    X509_STORE *store;        /* the same CA for our own chain check (a clear reason when it fails) */
    /* ReplayProtect nonces of the payloads verified within the window (see oadr_sig_set_nonce_memory) */
    struct seen_nonce {
        unsigned char hash[32]; /* SHA-256 of the nonce's text */
        double until;           /* after this a replay fails the timestamp check anyway */
    } *seen;
    size_t n_seen, seen_cap;  /* entries in use; the table's fixed size (0: nonces not remembered) */
};

/* ---- one-time set-up of libxml2 and xmlsec; xmlsec's errors kept, not printed -------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;
static _Thread_local char last_xmlsec_error[160];

static void on_xmlsec_error(const char *file, int line, const char *func, const char *obj, const char *subj,
                            int reason, const char *msg)
{
    (void)file;
    (void)line;
    (void)func;
    (void)obj;
    snprintf(last_xmlsec_error, sizeof(last_xmlsec_error), "%s%s%s (xmlsec reason %d)", subj ? subj : "",
             subj ? ": " : "", msg ? msg : "", reason);
}

static void init_libs(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
        init_rc = GE_ERR_UNSUPPORTED;
        return;
    }
    xmlSecErrorsSetCallback(on_xmlsec_error);
}

static int ensure_init(char *err, size_t errlen)
{
    pthread_once(&init_once, init_libs);
    if (init_rc < 0)
        snprintf(err, errlen, "xmlsec (OpenSSL) could not be initialised: the library and its headers differ");
    return init_rc;
}

static void fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the context ----------------------------------------------------------------------------------- */

/* FILE (a PEM file, WHAT) is there to read: checked first, for a plain message, and because xmlsec
 * 1.2.37 leaks a BIO when it cannot open a file. */
static int readable(const char *file, const char *what, char *err, size_t errlen)
{
    if (access(file, R_OK) == 0)
        return 0;
    fail(err, errlen, "cannot read the %s %s: %s", what, file, strerror(errno));
    return GE_ERR_CERT;
}

int oadr_sig_new(oadr_sig_t **out, const char *cert_file, const char *key_file, const char *ca_file, char *err,
                 size_t errlen)
{
    oadr_sig_t *s;
    int rc;

    *out = NULL;
    if ((rc = ensure_init(err, errlen)) < 0)
        return rc;
    if (!cert_file != !key_file || (!cert_file && !ca_file)) {
        fail(err, errlen, "XML signatures need a certificate and its key (to sign) and/or a CA (to verify)");
        return GE_ERR_INVALID;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        fail(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    s->seen_cap = OADR_SIG_DEFAULT_NONCES;
    if ((key_file && ((rc = readable(key_file, "signing key", err, errlen)) < 0 ||
                      (rc = readable(cert_file, "certificate", err, errlen)) < 0)) ||
        (ca_file && (rc = readable(ca_file, "CA certificate(s)", err, errlen)) < 0))
        goto bad;
    if (key_file) {
        xmlSecKeyDataPtr v;
        last_xmlsec_error[0] = '\0';
        s->key = xmlSecCryptoAppKeyLoad(key_file, xmlSecKeyDataFormatPem, NULL, NULL, NULL);
        if (!s->key) {
            fail(err, errlen, "cannot load the signing key %s (PEM): %s", key_file, last_xmlsec_error);
            rc = GE_ERR_CERT;
            goto bad;
        }
        if (xmlSecCryptoAppKeyCertLoad(s->key, cert_file, xmlSecKeyDataFormatPem) < 0) {
            fail(err, errlen, "cannot load the certificate %s (PEM) with the key %s: %s", cert_file, key_file,
                 last_xmlsec_error);
            rc = GE_ERR_CERT;
            goto bad;
        }
        v = xmlSecKeyGetValue(s->key);
        if (v && xmlSecKeyDataCheckId(v, xmlSecKeyDataEcdsaId)) {
            s->ecdsa = 1;
        } else if (!v || !xmlSecKeyDataCheckId(v, xmlSecKeyDataRsaId)) {
            fail(err, errlen, "the key %s is neither EC nor RSA (OpenADR 2.0b signs with ECDSA or RSA)", key_file);
            rc = GE_ERR_CERT;
            goto bad;
        }
    }
    if (ca_file) {
        if (!(s->mngr = xmlSecKeysMngrCreate()) || xmlSecCryptoAppDefaultKeysMngrInit(s->mngr) < 0 ||
            !(s->store = X509_STORE_new())) {
            fail(err, errlen, "out of memory");
            rc = GE_ERR_NOMEM;
            goto bad;
        }
        if (xmlSecCryptoAppKeysMngrCertLoad(s->mngr, ca_file, xmlSecKeyDataFormatPem, xmlSecKeyDataTypeTrusted) < 0 ||
            X509_STORE_load_file(s->store, ca_file) != 1) {
            fail(err, errlen, "cannot load the CA certificate(s) %s (PEM)", ca_file);
            rc = GE_ERR_CERT;
            goto bad;
        }
    }
    *out = s;
    return 0;
bad:
    oadr_sig_free(s);
    return rc;
}

void oadr_sig_free(oadr_sig_t *s)
{
    if (!s)
        return;
    if (s->key)
        xmlSecKeyDestroy(s->key);
    if (s->mngr)
        xmlSecKeysMngrDestroy(s->mngr);
    X509_STORE_free(s->store);
    free(s->seen);
    free(s);
}

int oadr_sig_set_nonce_memory(oadr_sig_t *s, size_t max_nonces)
{
    if (!s || max_nonces > OADR_SIG_MAX_NONCES)
        return GE_ERR_INVALID;
    free(s->seen);
    s->seen = NULL;
    s->n_seen = 0;
    s->seen_cap = max_nonces;
    return 0;
}

size_t oadr_sig_nonces_remembered(const oadr_sig_t *s)
{
    return s ? s->n_seen : 0;
}

/* ---- ReplayProtect nonces --------------------------------------------------------------------------- */

/* Forget the nonces whose window has passed at NOW; then HASH (a nonce whose replay would pass the
 * timestamp check until UNTIL) is refused if seen, else remembered.  A full table refuses the
 * payload rather than forget a nonce early: only the VTN can sign, so it fills only if the VTN
 * sends more than the table holds within the window, and accepting a replay would be worse than
 * refusing that VTN's burst (the VTN sends again; a replayed event could not be taken back). */
static int remember_nonce(oadr_sig_t *s, const unsigned char hash[32], double until, double now, char *err,
                          size_t errlen)
{
    size_t kept = 0;

    if (s->seen_cap == 0)
        return 0;
    if (!s->seen && !(s->seen = calloc(s->seen_cap, sizeof(*s->seen)))) {
        fail(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n_seen; i++)
        if (s->seen[i].until >= now)
            s->seen[kept++] = s->seen[i];
    s->n_seen = kept;
    for (size_t i = 0; i < s->n_seen; i++)
        if (memcmp(s->seen[i].hash, hash, 32) == 0) {
            fail(err, errlen, "the ReplayProtect nonce was seen already in a payload verified within the "
                 "timestamp window: a replay");
            return GE_ERR_PROTOCOL;
        }
    if (s->n_seen == s->seen_cap) {
        fail(err, errlen, "%zu signed payloads verified within the ReplayProtect window already (the most "
             "remembered): refused until the oldest nonce expires", s->seen_cap);
        return GE_ERR_LIMIT;
    }
    memcpy(s->seen[s->n_seen].hash, hash, 32);
    s->seen[s->n_seen++].until = until;
    return 0;
}

/* ---- the document ----------------------------------------------------------------------------------- */

static const char no_doctype[] = "the payload has a DOCTYPE, which OpenADR payloads never carry (refused: "
                                 "entities, DTDs)";

/* IN as a tree: bounded, no network, no DTD (a DOCTYPE is refused: no entities to expand). */
static int parse(const void *in, size_t len, xmlDocPtr *out, char *err, size_t errlen)
{
    xmlDocPtr doc;

    *out = NULL;
    if (!in || len == 0 || len > OADR_SIG_MAX_BYTES) {
        fail(err, errlen, "the payload is empty or larger than %u bytes", OADR_SIG_MAX_BYTES);
        return GE_ERR_PARSE;
    }
    /* refused before parsing, so no entity in an internal subset is ever expanded (the tree's
     * intSubset check below catches what this scan cannot, e.g. UTF-16 input) */
    if (memmem(in, len, "<!DOCTYPE", 9)) {
        fail(err, errlen, "%s", no_doctype);
        return GE_ERR_PARSE;
    }
    doc = xmlReadMemory(in, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        fail(err, errlen, "the payload is not well-formed XML: %s", e && e->message ? e->message : "parse error");
        if (err && errlen && strlen(err) && err[strlen(err) - 1] == '\n')
            err[strlen(err) - 1] = '\0';
        return GE_ERR_PARSE;
    }
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        fail(err, errlen, "%s", no_doctype);
        return GE_ERR_PARSE;
    }
    *out = doc;
    return 0;
}

static int is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns) &&
           xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr next_elem(xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (is_elem(n, ns, name))
            return n;
    return NULL;
}

/* The oadrSignedObject's Id attribute: oadr:Id (the schema's attributeFormDefault is qualified),
 * or an unqualified Id as some VTNs write it. */
static xmlAttrPtr signed_object_id(xmlNodePtr so)
{
    xmlAttrPtr a = xmlHasNsProp(so, BAD_CAST "Id", BAD_CAST NS_OADR);
    return a ? a : xmlHasNsProp(so, BAD_CAST "Id", NULL);
}

/* An xs:ID we can put in a same-document URI ("#ID") as it is: an ASCII NCName. */
static int plain_id(const char *v)
{
    if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || *v == '_'))
        return 0;
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '_' ||
              *v == '-' || *v == '.'))
            return 0;
    return 1;
}

/* The text of attribute A (at most ID_MAX - 1 bytes, a plain Id) into OUT: 0, or -1. */
static int attr_text(xmlAttrPtr a, char out[ID_MAX])
{
    xmlChar *v = a ? xmlNodeListGetString(a->doc, a->children, 1) : NULL;
    int ok = v && *v && strlen((const char *)v) < ID_MAX && plain_id((const char *)v);

    if (ok)
        snprintf(out, ID_MAX, "%s", (const char *)v);
    xmlFree(v);
    return ok ? 0 : -1;
}

/* oadrPayload's element children: a ds:Signature (or NULL) and the oadrSignedObject. */
static int payload_parts(xmlDocPtr doc, xmlNodePtr *sig, xmlNodePtr *so, char *err, size_t errlen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), n;

    *sig = *so = NULL;
    if (!is_elem(root, NS_OADR, "oadrPayload")) {
        fail(err, errlen, "the root element is not oadr:oadrPayload");
        return GE_ERR_PARSE;
    }
    n = next_elem(root->children);
    if (is_elem(n, NS_DS, "Signature")) {
        *sig = n;
        n = next_elem(n->next);
    }
    if (!is_elem(n, NS_OADR, "oadrSignedObject") || next_elem(n->next)) {
        fail(err, errlen, "oadrPayload must hold [ds:Signature] then oadrSignedObject and nothing else");
        return GE_ERR_PARSE;
    }
    *so = n;
    return 0;
}

/* ---- signing ---------------------------------------------------------------------------------------- */

/* The oadr namespace with a prefix, in scope at NODE (an attribute needs one; declared on the root
 * when the document uses it as the default namespace only). */
static xmlNsPtr oadr_prefixed_ns(xmlDocPtr doc, xmlNodePtr node)
{
    xmlNsPtr *all = xmlGetNsList(doc, node), found = NULL;

    for (size_t i = 0; all && all[i]; i++)
        if (all[i]->prefix && xmlStrEqual(all[i]->href, BAD_CAST NS_OADR) &&
            xmlSearchNs(doc, node, all[i]->prefix) == all[i]) {
            found = all[i];
            break;
        }
    xmlFree(all);
    if (found)
        return found;
    if (xmlSearchNs(doc, node, BAD_CAST "oadr"))
        return NULL; /* "oadr" bound to something else: odd, refuse rather than guess */
    return xmlNewNs(xmlDocGetRootElement(doc), BAD_CAST NS_OADR, BAD_CAST "oadr");
}

/* The ds:Object holding the ReplayProtect property, its Id registered for the reference. */
static int add_replay_protect(xmlDocPtr doc, xmlNodePtr sig, double now)
{
    xmlNodePtr obj = xmlSecTmplSignatureAddObject(sig, NULL, NULL, NULL), props, prop, rp, n;
    xmlNsPtr ds = sig->ns, dsp;
    unsigned char raw[16];
    char nonce[33], ts[32];
    xmlAttrPtr id;

    if (!obj || RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
    oadr__format_datetime((int64_t)floor(now), ts);
    if (!(props = xmlNewChild(obj, ds, BAD_CAST "SignatureProperties", NULL)) ||
        !(prop = xmlNewChild(props, ds, BAD_CAST "SignatureProperty", NULL)) ||
        !(id = xmlSetProp(prop, BAD_CAST "Id", BAD_CAST ID_REPLAY)) ||
        !xmlSetProp(prop, BAD_CAST "Target", BAD_CAST "#" ID_SIGNATURE) ||
        !(rp = xmlNewChild(prop, NULL, BAD_CAST "ReplayProtect", NULL)) ||
        !(dsp = xmlNewNs(rp, BAD_CAST NS_DSP, BAD_CAST "dsp")))
        return -1;
    xmlSetNs(rp, dsp);
    if (!(n = xmlNewTextChild(rp, dsp, BAD_CAST "timestamp", BAD_CAST ts)) ||
        !(n = xmlNewTextChild(rp, dsp, BAD_CAST "nonce", BAD_CAST nonce)))
        return -1;
    return xmlAddID(NULL, doc, BAD_CAST ID_REPLAY, id) ? 0 : -1;
}

int oadr_sig_sign(oadr_sig_t *s, const void *in, size_t len, double now, ge_buf_t *out, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr sig = NULL, so, old, ref, ki, x509;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlAttrPtr ida;
    xmlChar *mem = NULL;
    char id[ID_MAX], uri[ID_MAX + 1];
    int rc, size = 0;

    if (!s || !s->key) {
        fail(err, errlen, "no signing key: give a certificate and its key");
        return GE_ERR_STATE;
    }
    if ((rc = parse(in, len, &doc, err, errlen)) < 0)
        return rc;
    if ((rc = payload_parts(doc, &old, &so, err, errlen)) < 0)
        goto out;
    if (old) {
        fail(err, errlen, "the payload is signed already");
        rc = GE_ERR_STATE;
        goto out;
    }
    ida = signed_object_id(so);
    if (!ida) {
        xmlNsPtr ns = oadr_prefixed_ns(doc, so);
        if (!ns || !(ida = xmlSetNsProp(so, ns, BAD_CAST "Id", BAD_CAST ID_SIGNED))) {
            fail(err, errlen, "cannot give the oadrSignedObject an oadr:Id");
            rc = GE_ERR_NOMEM;
            goto out;
        }
    }
    if (attr_text(ida, id) < 0 || !xmlAddID(NULL, doc, BAD_CAST id, ida)) {
        fail(err, errlen, "the oadrSignedObject's Id is empty, too long, not an ASCII NCName or not unique");
        rc = GE_ERR_PARSE;
        goto out;
    }
    snprintf(uri, sizeof(uri), "#%s", id);
    rc = GE_ERR_NOMEM;
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                          s->ecdsa ? xmlSecTransformEcdsaSha256Id : xmlSecTransformRsaSha256Id,
                                          BAD_CAST ID_SIGNATURE, BAD_CAST "ds");
    if (!sig || !xmlAddPrevSibling(so, sig)) {
        fail(err, errlen, "out of memory building the ds:Signature");
        if (sig && !sig->parent)
            xmlFreeNode(sig);
        goto out;
    }
    if (!(ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri, NULL)) ||
        !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) ||
        !(ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST "#" ID_REPLAY, NULL)) ||
        !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) || add_replay_protect(doc, sig, now) < 0 ||
        !(ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) || !(x509 = xmlSecTmplKeyInfoAddX509Data(ki)) ||
        !xmlSecTmplX509DataAddCertificate(x509)) {
        fail(err, errlen, "out of memory building the ds:Signature");
        goto out;
    }
    if (!(ctx = xmlSecDSigCtxCreate(NULL)) || !(ctx->signKey = xmlSecKeyDuplicate(s->key))) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    last_xmlsec_error[0] = '\0';
    if (xmlSecDSigCtxSign(ctx, sig) < 0) {
        fail(err, errlen, "signing failed: %s", last_xmlsec_error);
        rc = GE_ERR_INTERNAL;
        goto out;
    }
    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (!mem || size <= 0) {
        fail(err, errlen, "out of memory writing the signed payload");
        goto out;
    }
    rc = ge_buf_append(out, mem, (size_t)size);
    if (rc < 0)
        fail(err, errlen, "the signed payload does not fit the output (%d bytes)", size);
out:
    xmlFree(mem);
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return rc;
}

/* ---- verifying -------------------------------------------------------------------------------------- */

/* The signer's certificate (the first X509Certificate of KeyInfo/X509Data) and the others there
 * (intermediates) as UNTRUSTED; NULL when there is none or it does not decode. */
static X509 *signer_cert(xmlNodePtr sig, STACK_OF(X509) *untrusted)
{
    xmlNodePtr x509data = child(child(sig, NS_DS, "KeyInfo"), NS_DS, "X509Data");
    X509 *first = NULL;

    for (xmlNodePtr n = x509data ? x509data->children : NULL; n; n = n->next) {
        xmlChar *text;
        xmlSecSize len = 0;
        const unsigned char *p;
        X509 *x;

        if (!is_elem(n, NS_DS, "X509Certificate") || !(text = xmlNodeGetContent(n)))
            continue;
        p = text;
        x = xmlSecBase64DecodeInPlace(text, &len) == 0 && len > 0 && len < INT_MAX ? d2i_X509(NULL, &p, (long)len)
                                                                                      : NULL;
        xmlFree(text);
        if (!x)
            continue;
        if (!first)
            first = x;
        else if (!sk_X509_push(untrusted, x))
            X509_free(x);
    }
    return first;
}

static int check_chain(oadr_sig_t *s, xmlNodePtr sig, char *err, size_t errlen)
{
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    X509 *leaf = untrusted ? signer_cert(sig, untrusted) : NULL;
    int rc = 0;

    if (!untrusted || !vc) {
        fail(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
    } else if (!leaf) {
        fail(err, errlen, "no signer certificate in ds:KeyInfo/ds:X509Data/ds:X509Certificate");
        rc = GE_ERR_PROTOCOL;
    } else if (X509_STORE_CTX_init(vc, s->store, leaf, untrusted) != 1 || X509_verify_cert(vc) != 1) {
        fail(err, errlen, "the signer's certificate does not chain to the CA: %s",
             X509_verify_cert_error_string(X509_STORE_CTX_get_error(vc)));
        rc = GE_ERR_CERT;
    }
    X509_STORE_CTX_free(vc);
    X509_free(leaf);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}

/* Before any crypto: SignedInfo references only this document, by Id, and names both the signed
 * object (URI) and the ReplayProtect property (*REPLAY_URI gets its URI, the property node *PROP). */
static int check_references(xmlDocPtr doc, xmlNodePtr sig, const char *uri, char replay_uri[ID_MAX + 1],
                            xmlNodePtr *prop, char *err, size_t errlen)
{
    xmlNodePtr si = child(sig, NS_DS, "SignedInfo");
    int have_object = 0;

    *prop = NULL;
    replay_uri[0] = '\0';
    if (!si) {
        fail(err, errlen, "the ds:Signature has no ds:SignedInfo");
        return GE_ERR_PROTOCOL;
    }
    for (xmlNodePtr r = si->children; r; r = r->next) {
        xmlChar *u;
        xmlAttrPtr a;
        xmlNodePtr target;

        if (!is_elem(r, NS_DS, "Reference"))
            continue;
        u = xmlGetNoNsProp(r, BAD_CAST "URI");
        if (!u || u[0] != '#' || !u[1] || xmlStrlen(u) > ID_MAX) {
            fail(err, errlen, "a ds:Reference has URI \"%.60s\": only same-document references by Id are accepted",
                 u ? (const char *)u : "");
            xmlFree(u);
            return GE_ERR_PROTOCOL;
        }
        a = xmlGetID(doc, u + 1);
        target = a ? a->parent : NULL;
        if (strcmp((const char *)u, uri) == 0)
            have_object = 1;
        else if (is_elem(target, NS_DS, "SignatureProperty") && child(target, NS_DSP, "ReplayProtect") &&
                 is_elem(target->parent, NS_DS, "SignatureProperties") &&
                 is_elem(target->parent->parent, NS_DS, "Object") && target->parent->parent->parent == sig) {
            snprintf(replay_uri, ID_MAX + 1, "%s", (const char *)u);
            *prop = target;
        }
        xmlFree(u);
    }
    if (!have_object) {
        fail(err, errlen, "no ds:Reference points at the oadrSignedObject (URI \"%s\")", uri);
        return GE_ERR_PROTOCOL;
    }
    if (!*prop) {
        fail(err, errlen, "no ds:Reference points at a dsp:ReplayProtect signature property of this signature");
        return GE_ERR_PROTOCOL;
    }
    return 0;
}

/* The ReplayProtect timestamp within MAX_SKEW_S of NOW (0: not checked); HASH gets the SHA-256 of
 * the nonce, *UNTIL the time after which a replay fails the timestamp check (the default window
 * when the timestamp is not checked). */
static int check_replay(xmlNodePtr prop, double now, double max_skew_s, unsigned char hash[32], double *until,
                        char *err, size_t errlen)
{
    xmlNodePtr rp = child(prop, NS_DSP, "ReplayProtect");
    xmlNodePtr ts = child(rp, NS_DSP, "timestamp"), nonce = child(rp, NS_DSP, "nonce");
    xmlChar *text = ts ? xmlNodeGetContent(ts) : NULL, *n = nonce ? xmlNodeGetContent(nonce) : NULL;
    int64_t t = 0;
    int ok = text && oadr_parse_datetime((const char *)text, &t) == 0 && n && n[0];
    int hashed = ok && EVP_Digest(n, strlen((const char *)n), hash, NULL, EVP_sha256(), NULL) == 1;

    xmlFree(text);
    xmlFree(n);
    if (!ok) {
        fail(err, errlen, "dsp:ReplayProtect needs a dsp:timestamp (xs:dateTime) and a dsp:nonce");
        return GE_ERR_PROTOCOL;
    }
    if (!hashed) {
        fail(err, errlen, "cannot hash the ReplayProtect nonce (OpenSSL)");
        return GE_ERR_INTERNAL;
    }
    if (max_skew_s > 0 && fabs((double)t - now) > max_skew_s) {
        fail(err, errlen, "the ReplayProtect timestamp is %.0f s from our clock (at most %.0f s): a replay or a "
             "clock problem", fabs((double)t - now), max_skew_s);
        return GE_ERR_PROTOCOL;
    }
    *until = max_skew_s > 0 ? (double)t + max_skew_s : fmax((double)t, now) + OADR_SIG_DEFAULT_SKEW_S;
    return 0;
}

/* xmlsec may process only what the 2.0b profile uses. */
static int restrict_ctx(xmlSecDSigCtxPtr ctx)
{
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->keyInfoReadCtx.maxRetrievalMethodLevel = 0;
    ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_STOP_ON_INVALID_CERT;
    return xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
                   xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id) < 0 ||
                   xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0 ||
                   xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData, BAD_CAST xmlSecKeyDataX509Id) < 0
               ? -1
               : 0;
}

/* After xmlsec: why the signature did not verify, or that the two references we need did. */
static int judge(xmlSecDSigCtxPtr ctx, const char *uri, const char *replay_uri, char *err, size_t errlen)
{
    xmlSecSize n = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
    int object_ok = 0, replay_ok = 0;

    for (xmlSecSize i = 0; i < n; i++) {
        xmlSecDSigReferenceCtxPtr r = xmlSecPtrListGetItem(&ctx->signedInfoReferences, i);
        if (!r)
            continue;
        if (r->status != xmlSecDSigStatusSucceeded) {
            fail(err, errlen, "the digest of %s does not match: the signed content was changed",
                 r->uri ? (const char *)r->uri : "a reference");
            return GE_ERR_PROTOCOL;
        }
        if (r->uri && strcmp((const char *)r->uri, uri) == 0)
            object_ok = 1;
        if (r->uri && strcmp((const char *)r->uri, replay_uri) == 0)
            replay_ok = 1;
    }
    if (ctx->status != xmlSecDSigStatusSucceeded) {
        fail(err, errlen, "the ds:SignatureValue does not verify with the signer's certificate");
        return GE_ERR_PROTOCOL;
    }
    if (!object_ok || !replay_ok) {
        fail(err, errlen, "the verified references do not cover the oadrSignedObject and the ReplayProtect");
        return GE_ERR_PROTOCOL;
    }
    return 0;
}

int oadr_sig_verify(oadr_sig_t *s, const void *in, size_t len, double now, double max_skew_s, char *err,
                    size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr sig, so, prop;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlAttrPtr ida, check;
    char id[ID_MAX], uri[ID_MAX + 1], replay_uri[ID_MAX + 1];
    unsigned char nonce_hash[32];
    double until = 0;
    int rc;

    if (!s || !s->mngr) {
        fail(err, errlen, "no CA to verify signatures against");
        return GE_ERR_STATE;
    }
    if ((rc = parse(in, len, &doc, err, errlen)) < 0)
        return rc;
    if ((rc = payload_parts(doc, &sig, &so, err, errlen)) < 0)
        goto out;
    rc = GE_ERR_PROTOCOL;
    if (!sig) {
        fail(err, errlen, "the payload is not signed (no ds:Signature in oadrPayload)");
        goto out;
    }
    ida = signed_object_id(so);
    if (!ida || attr_text(ida, id) < 0) {
        fail(err, errlen, "the oadrSignedObject has no Id (an ASCII NCName) for the signature to reference");
        goto out;
    }
    /* registered first, so an element elsewhere claiming the same Id cannot take its place */
    if (!xmlAddID(NULL, doc, BAD_CAST id, ida)) {
        fail(err, errlen, "the oadrSignedObject's Id \"%s\" is not usable", id);
        goto out;
    }
    xmlSecAddIDs(doc, sig, ds_ids);
    snprintf(uri, sizeof(uri), "#%s", id);
    if ((rc = check_references(doc, sig, uri, replay_uri, &prop, err, errlen)) < 0 ||
        (rc = check_chain(s, sig, err, errlen)) < 0 ||
        (rc = check_replay(prop, now, max_skew_s, nonce_hash, &until, err, errlen)) < 0)
        goto out;
    if (!(ctx = xmlSecDSigCtxCreate(s->mngr)) || restrict_ctx(ctx) < 0) {
        fail(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
        goto out;
    }
    last_xmlsec_error[0] = '\0';
    if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
        fail(err, errlen, "the signature could not be processed: %s",
             last_xmlsec_error[0] ? last_xmlsec_error : "malformed ds:Signature");
        rc = GE_ERR_PROTOCOL;
        goto out;
    }
    if ((rc = judge(ctx, uri, replay_uri, err, errlen)) < 0)
        goto out;
    /* what the reference resolved to is the oadrSignedObject itself */
    check = xmlGetID(doc, BAD_CAST id);
    if (!check || check->parent != so) {
        fail(err, errlen, "the Id \"%s\" does not name the oadrSignedObject", id);
        rc = GE_ERR_PROTOCOL;
        goto out;
    }
    /* last: only a payload the VTN really signed takes a place in the table */
    rc = remember_nonce(s, nonce_hash, until, now, err, errlen);
out:
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return rc;
}
