/* pki.c - device identity (LFDI/SFDI, IEEE 2030.5 §6.3) and the test-certificate issuer behind
 * `gridedge pki init` (see gridedge/pki.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gridedge/error.h>
#include <gridedge/pki.h>

#include "net_internal.h"

#define MOD "pki"

/* --- shared helpers ----------------------------------------------------------------------- */

void gnet_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n;

    if (!size)
        return;
    n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

const char *gnet_ssl_error_text(char *buf, size_t size)
{
    /* The first error queued is the cause; later ones are the layers that passed it up. */
    unsigned long e = ERR_get_error();

    if (size)
        buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

/* --- LFDI / SFDI -------------------------------------------------------------------------- */

int ge_cert_lfdi_der(const unsigned char *der, size_t len, char out[GE_LFDI_BUF])
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!der || !len || !out)
        return GE_ERR_INVALID;
    if (!EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) || mdlen < 20) {
        ERR_clear_error();
        return GE_ERR_INTERNAL;
    }
    /* §6.3.4: the LFDI is the fingerprint left-truncated to 160 bits. */
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[GE_LFDI_HEX_LEN] = '\0';
    return 0;
}

int ge_cert_lfdi(const struct x509_st *cert, char out[GE_LFDI_BUF])
{
    unsigned char *der = NULL;
    int len, rc;

    if (!cert || !out)
        return GE_ERR_INVALID;
    len = i2d_X509((X509 *)cert, &der);
    if (len <= 0) {
        ERR_clear_error();
        return GE_ERR_CERT;
    }
    rc = ge_cert_lfdi_der(der, (size_t)len, out);
    OPENSSL_free(der);
    return rc;
}

unsigned ge_sfdi_check_digit(uint64_t v)
{
    unsigned sum = 0;

    for (; v; v /= 10)
        sum += (unsigned)(v % 10);
    return (10 - sum % 10) % 10;
}

int ge_sfdi_valid(uint64_t sfdi)
{
    return ge_sfdi_check_digit(sfdi / 10) == (unsigned)(sfdi % 10);
}

int ge_sfdi_from_lfdi(const char *lfdi_hex, uint64_t *sfdi)
{
    uint64_t v = 0;

    if (!lfdi_hex || !sfdi)
        return GE_ERR_INVALID;
    /* §6.3.3: the SFDI is the fingerprint left-truncated to 36 bits = the first 9 hex digits. */
    for (int i = 0; i < 9; i++) {
        char c = lfdi_hex[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return GE_ERR_PARSE;
        v = (v << 4) | d;
    }
    *sfdi = v * 10 + ge_sfdi_check_digit(v);
    return 0;
}

int ge_cert_sfdi(const struct x509_st *cert, uint64_t *sfdi)
{
    char lfdi[GE_LFDI_BUF];
    int rc = ge_cert_lfdi(cert, lfdi);

    return rc ? rc : ge_sfdi_from_lfdi(lfdi, sfdi);
}

int ge_cert_file_ids(const char *pem_path, char lfdi[GE_LFDI_BUF], uint64_t *sfdi)
{
    char buf[GE_LFDI_BUF];
    X509 *x;
    FILE *f;
    int rc;

    if (!pem_path)
        return GE_ERR_INVALID;
    f = fopen(pem_path, "r");
    if (!f)
        return errno == ENOENT ? GE_ERR_NOTFOUND : GE_ERR_IO;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) {
        ERR_clear_error();
        return GE_ERR_PARSE;
    }
    rc = ge_cert_lfdi(x, buf);
    X509_free(x);
    if (rc)
        return rc;
    if (lfdi)
        memcpy(lfdi, buf, GE_LFDI_BUF);
    return sfdi ? ge_sfdi_from_lfdi(buf, sfdi) : 0;
}

/* --- issuer ------------------------------------------------------------------------------- */

static EVP_PKEY *gen_key(ge_pki_key kind)
{
    switch (kind) {
    case GE_PKI_KEY_P256:
        return EVP_EC_gen("P-256");
    case GE_PKI_KEY_P384:
        return EVP_EC_gen("P-384");
    case GE_PKI_KEY_RSA2048:
        return EVP_RSA_gen(2048);
    }
    return NULL;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A positive random serial of 63 bits: unique per issuer with overwhelming probability, as RFC
 * 5280 §4.1.2.2 asks, and short enough for any constrained verifier. */
static int set_serial(X509 *cert)
{
    unsigned char r[8];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(r, sizeof r) != 1)
        return 0;
    r[0] &= 0x7f;
    r[0] |= 0x01; /* never zero, never negative */
    bn = BN_bin2bn(r, sizeof r, NULL);
    if (!bn)
        return 0;
    ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

static int write_key(const char *path, EVP_PKEY *key)
{
    FILE *f;
    int fd, ok;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return GE_ERR_IO;
    /* An existing file keeps its mode through O_CREAT: force 0600 on it too. */
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        return GE_ERR_IO;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return GE_ERR_IO;
    }
    ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : GE_ERR_IO;
}

static int write_cert(const char *path, X509 *cert)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return GE_ERR_IO;
    ok = PEM_write_X509(f, cert);
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : GE_ERR_IO;
}

static int read_issuer(const char *cert_path, const char *key_path, X509 **cert, EVP_PKEY **key)
{
    FILE *f = fopen(cert_path, "r");

    if (!f)
        return GE_ERR_IO;
    *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!*cert)
        return GE_ERR_PARSE;
    f = fopen(key_path, "r");
    if (!f)
        return GE_ERR_IO;
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return *key ? 0 : GE_ERR_PARSE;
}

/* certificatePolicies (critical) holding the given OIDs.  Built by hand: the text form needs an
 * OpenSSL config database we do not want to depend on. */
static int add_policies(X509 *cert, const char *const *oids, size_t n)
{
    CERTIFICATEPOLICIES *pols = CERTIFICATEPOLICIES_new();
    int ok = pols != NULL;

    for (size_t i = 0; ok && i < n; i++) {
        POLICYINFO *pi = POLICYINFO_new();

        ok = pi != NULL;
        if (ok) {
            ASN1_OBJECT_free(pi->policyid);
            pi->policyid = OBJ_txt2obj(oids[i], 1);
            ok = pi->policyid && sk_POLICYINFO_push(pols, pi) > 0;
            if (!ok)
                POLICYINFO_free(pi);
        }
    }
    if (ok)
        ok = X509_add1_ext_i2d(cert, NID_certificate_policies, pols, 1, X509V3_ADD_DEFAULT) == 1;
    CERTIFICATEPOLICIES_free(pols);
    return ok;
}

static const char *role_name(ge_pki_role r)
{
    return r == GE_PKI_ROLE_CA ? "CA" : r == GE_PKI_ROLE_SERVER ? "server" : r == GE_PKI_ROLE_SUBCA ? "intermediate CA" : "client";
}

/* The deliberate defects of ge_pki_defect (for certificate-path tests). */
static int add_defect(X509 *cert, X509 *issuer, ge_pki_defect d)
{
    /* A SEQUENCE whose inner element claims more bytes than there are: not DER of anything. */
    static const unsigned char bad_names[] = { 0x30, 0x06, 0xa0, 0x09, 0x06, 0x03, 0x2b, 0x06 };
    int ok = 0;

    switch (d) {
    case GE_PKI_DEFECT_NONE:
        return 1;
    case GE_PKI_DEFECT_EKU_CRITICAL:
        return add_ext(cert, issuer, NID_ext_key_usage, "critical,codeSigning");
    case GE_PKI_DEFECT_NAME_EXT: {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ext = NULL;

        if (os && ASN1_OCTET_STRING_set(os, bad_names, (int)sizeof bad_names))
            ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
        ok = ext && X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
        ASN1_OCTET_STRING_free(os);
        return ok;
    }
    case GE_PKI_DEFECT_POLICY_MAPPING: {
        POLICY_MAPPINGS *maps = sk_POLICY_MAPPING_new_null();
        POLICY_MAPPING *m = POLICY_MAPPING_new();

        if (maps && m) {
            ASN1_OBJECT_free(m->issuerDomainPolicy);
            ASN1_OBJECT_free(m->subjectDomainPolicy);
            m->issuerDomainPolicy = OBJ_nid2obj(NID_any_policy);
            m->subjectDomainPolicy = OBJ_txt2obj(GE_OID_SEP_POLICY_DEVICE, 1);
            if (m->issuerDomainPolicy && m->subjectDomainPolicy && sk_POLICY_MAPPING_push(maps, m) > 0) {
                m = NULL;
                ok = X509_add1_ext_i2d(cert, NID_policy_mappings, maps, 0, X509V3_ADD_DEFAULT) == 1;
            }
        }
        POLICY_MAPPING_free(m);
        sk_POLICY_MAPPING_pop_free(maps, POLICY_MAPPING_free);
        return ok;
    }
    }
    return 0;
}

/* The extensions each role gets.  Device certificates (2030.5 §6.11) carry keyUsage
 * digitalSignature + keyAgreement (ECDSA signing in the handshake, ECDH), the device policy and
 * the test policy; the CA is a root with the policies it may issue under. */
static int add_role_exts(X509 *cert, X509 *issuer, const ge_pki_issue_opts_t *o)
{
    static const char *const policies[] = { GE_OID_SEP_POLICY_DEVICE, GE_OID_SEP_POLICY_TEST };
    const char *ku = o->key == GE_PKI_KEY_RSA2048 ? "critical,digitalSignature,keyEncipherment"
                                                  : "critical,digitalSignature,keyAgreement";

    if (!add_ext(cert, issuer, NID_subject_key_identifier, "hash"))
        return 0;
    if (issuer != cert && !add_ext(cert, issuer, NID_authority_key_identifier, "keyid:always"))
        return 0;
    switch (o->role) {
    case GE_PKI_ROLE_CA:
    case GE_PKI_ROLE_SUBCA:
        if (!add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") ||
            !add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign"))
            return 0;
        break;
    case GE_PKI_ROLE_SERVER:
        if (!add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
            !add_ext(cert, issuer, NID_key_usage, ku) ||
            !add_ext(cert, issuer, NID_subject_alt_name,
                     o->san ? o->san : "IP:127.0.0.1,DNS:localhost"))
            return 0;
        break;
    case GE_PKI_ROLE_CLIENT:
        if (!add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
            !add_ext(cert, issuer, NID_key_usage, ku))
            return 0;
        if (o->san && !add_ext(cert, issuer, NID_subject_alt_name, o->san))
            return 0;
        break;
    }
    if (!o->no_policy && !add_policies(cert, policies, 2))
        return 0;
    return add_defect(cert, issuer, o->defect);
}

static int set_validity(X509 *cert, int expired)
{
    if (expired)
        return X509_gmtime_adj(X509_getm_notBefore(cert), -2L * 86400) &&
               X509_gmtime_adj(X509_getm_notAfter(cert), -1L * 86400);
    /* A minute of slack for clocks that lag; then "never" as RFC 5280 §4.1.2.5 spells it (the
     * year 9999 forces GeneralizedTime, which is what verifiers must accept). */
    return X509_gmtime_adj(X509_getm_notBefore(cert), -60) &&
           ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), GE_PKI_NOT_AFTER_FOREVER);
}

int ge_pki_issue(const ge_pki_issue_opts_t *o, char lfdi[GE_LFDI_BUF], uint64_t *sfdi,
                 const ge_log_t *log)
{
    char cn[128], err[256];
    X509 *cert = NULL, *icert = NULL;
    EVP_PKEY *key = NULL, *ikey = NULL;
    X509_NAME *name;
    int rc = GE_ERR_CERT;

    if (!o || !o->cert_out || !o->key_out || (!o->issuer_cert) != (!o->issuer_key) ||
        o->key > GE_PKI_KEY_RSA2048 || o->role > GE_PKI_ROLE_SUBCA ||
        (o->role == GE_PKI_ROLE_SUBCA && !o->issuer_cert) || o->defect > GE_PKI_DEFECT_POLICY_MAPPING)
        return GE_ERR_INVALID;
    ERR_clear_error();
    if (o->issuer_cert) {
        rc = read_issuer(o->issuer_cert, o->issuer_key, &icert, &ikey);
        if (rc) {
            ge_log(log, GE_LOG_ERROR, MOD, "cannot read the issuer %s / %s", o->issuer_cert,
                   o->issuer_key);
            goto out;
        }
        rc = GE_ERR_CERT;
    }
    key = gen_key(o->key);
    cert = X509_new();
    if (!key || !cert)
        goto fail;
    if (o->common_name)
        gnet_strlcpy(cn, o->common_name, sizeof cn);
    else
        snprintf(cn, sizeof cn, "gridedge test %s", role_name(o->role));
    name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, 2) || !set_serial(cert) || !set_validity(cert, o->expired) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"gridedge test",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_issuer_name(cert, icert ? X509_get_subject_name(icert) : name) ||
        !X509_set_pubkey(cert, key) || !add_role_exts(cert, icert ? icert : cert, o) ||
        !X509_sign(cert, ikey ? ikey : key, o->sha384 ? EVP_sha384() : EVP_sha256()))
        goto fail;
    rc = write_key(o->key_out, key);
    if (rc == 0)
        rc = write_cert(o->cert_out, cert);
    if (rc) {
        ge_log(log, GE_LOG_ERROR, MOD, "cannot write %s or %s: %s", o->cert_out, o->key_out,
               strerror(errno));
        goto out;
    }
    if (lfdi || sfdi) {
        char id[GE_LFDI_BUF];

        rc = ge_cert_lfdi(cert, id);
        if (rc == 0 && lfdi)
            memcpy(lfdi, id, GE_LFDI_BUF);
        if (rc == 0 && sfdi)
            rc = ge_sfdi_from_lfdi(id, sfdi);
    }
    goto out;
fail:
    if (!key || !cert)
        rc = GE_ERR_NOMEM;
    ge_log(log, GE_LOG_ERROR, MOD, "cannot issue the %s certificate: %s", role_name(o->role),
           gnet_ssl_error_text(err, sizeof err));
out:
    ERR_clear_error();
    X509_free(cert);
    X509_free(icert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ikey);
    return rc;
}

static int path_in(char *buf, size_t size, const char *dir, const char *file)
{
    int n = snprintf(buf, size, "%s/%s", dir, file);

    return n < 0 || (size_t)n >= size ? GE_ERR_LIMIT : 0;
}

int ge_pki_init(const char *dir, char lfdi[GE_LFDI_BUF], uint64_t *sfdi, const ge_log_t *log)
{
    static const struct {
        ge_pki_role role;
        const char *cert, *key, *cn;
    } items[] = {
        { GE_PKI_ROLE_CA, "ca.pem", "ca.key", "gridedge test CA" },
        { GE_PKI_ROLE_SERVER, "server.pem", "server.key", "localhost" },
        { GE_PKI_ROLE_CLIENT, "client.pem", "client.key", "gridedge test device" },
    };
    char ca_cert[4096], ca_key[4096], cert[4096], key[4096];
    struct stat st;
    int rc;

    if (!dir || !*dir)
        return GE_ERR_INVALID;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ge_log(log, GE_LOG_ERROR, MOD, "cannot create %s: %s", dir, strerror(errno));
        return GE_ERR_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ge_log(log, GE_LOG_ERROR, MOD, "%s is not a directory", dir);
        return GE_ERR_IO;
    }
    if ((rc = path_in(ca_cert, sizeof ca_cert, dir, "ca.pem")) != 0 ||
        (rc = path_in(ca_key, sizeof ca_key, dir, "ca.key")) != 0)
        return rc;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        ge_pki_issue_opts_t o;

        memset(&o, 0, sizeof o);
        o.role = items[i].role;
        o.key = GE_PKI_KEY_P256;
        o.common_name = items[i].cn;
        if (items[i].role != GE_PKI_ROLE_CA) {
            o.issuer_cert = ca_cert;
            o.issuer_key = ca_key;
        }
        if ((rc = path_in(cert, sizeof cert, dir, items[i].cert)) != 0 ||
            (rc = path_in(key, sizeof key, dir, items[i].key)) != 0)
            return rc;
        o.cert_out = cert;
        o.key_out = key;
        rc = ge_pki_issue(&o, items[i].role == GE_PKI_ROLE_CLIENT ? lfdi : NULL,
                          items[i].role == GE_PKI_ROLE_CLIENT ? sfdi : NULL, log);
        if (rc)
            return rc;
    }
    return 0;
}

/* --- server chains (CSIP COMM-004A..G) ------------------------------------------------------ */

static const char *const chain_names[] = { "depth2", "depth3", "depth4", "bad-eku-critical",
                                           "bad-name-ext", "bad-policy-mapping", "self-signed" };

const char *ge_pki_chain_name(ge_pki_chain shape)
{
    return (unsigned)shape < sizeof chain_names / sizeof chain_names[0] ? chain_names[shape] : NULL;
}

int ge_pki_chain_parse(const char *name, ge_pki_chain *out)
{
    for (size_t i = 0; name && i < sizeof chain_names / sizeof chain_names[0]; i++)
        if (strcmp(name, chain_names[i]) == 0) {
            *out = (ge_pki_chain)i;
            return 0;
        }
    return GE_ERR_NOTFOUND;
}

/* Append the file FROM to the open stream TO. */
static int append_file(FILE *to, const char *from)
{
    char buf[4096];
    FILE *f = fopen(from, "r");
    size_t n;
    int rc = 0;

    if (!f)
        return GE_ERR_IO;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            rc = GE_ERR_IO;
    if (ferror(f))
        rc = GE_ERR_IO;
    fclose(f);
    return rc;
}

/* An intermediate CA called CN (with DEFECT) under *ICERT and *IKEY into CERT and KEY, which become the
 * issuer of what comes next. */
static int issue_sub_ca(const char *cn, ge_pki_defect defect, const char **icert, const char **ikey,
                        const char *cert, const char *key, const ge_log_t *log)
{
    ge_pki_issue_opts_t o;
    int rc;

    memset(&o, 0, sizeof o);
    o.role = GE_PKI_ROLE_SUBCA;
    o.key = GE_PKI_KEY_P256;
    o.common_name = cn;
    o.issuer_cert = *icert;
    o.issuer_key = *ikey;
    o.cert_out = cert;
    o.key_out = key;
    o.defect = defect;
    rc = ge_pki_issue(&o, NULL, NULL, log);
    if (rc == 0) {
        *icert = cert;
        *ikey = key;
    }
    return rc;
}

int ge_pki_issue_chain(ge_pki_chain shape, const char *root_cert, const char *root_key, const char *dir,
                       const char *san, const ge_log_t *log)
{
    /* The CAs below the root, top down: which of them the shape has and the MICA's defect. */
    int has_mca = shape == GE_PKI_CHAIN_DEPTH4;
    int has_mica = shape != GE_PKI_CHAIN_DEPTH2 && shape != GE_PKI_CHAIN_SELF_SIGNED;
    ge_pki_defect defect = shape == GE_PKI_CHAIN_BAD_EKU_CRITICAL  ? GE_PKI_DEFECT_EKU_CRITICAL
                           : shape == GE_PKI_CHAIN_BAD_NAME_EXT     ? GE_PKI_DEFECT_NAME_EXT
                           : shape == GE_PKI_CHAIN_BAD_POLICY_MAPPING ? GE_PKI_DEFECT_POLICY_MAPPING
                                                                    : GE_PKI_DEFECT_NONE;
    char mca[4096], mca_key[4096], mica[4096], mica_key[4096], leaf[4096], key[4096], out[4096];
    const char *icert = root_cert, *ikey = root_key;
    ge_pki_issue_opts_t o;
    FILE *f;
    int rc;

    if (!ge_pki_chain_name(shape) || !root_cert || !root_key || !dir || !*dir)
        return GE_ERR_INVALID;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ge_log(log, GE_LOG_ERROR, MOD, "cannot create %s: %s", dir, strerror(errno));
        return GE_ERR_IO;
    }
    if ((rc = path_in(mca, sizeof mca, dir, "mca.pem")) != 0 ||
        (rc = path_in(mca_key, sizeof mca_key, dir, "mca.key")) != 0 ||
        (rc = path_in(mica, sizeof mica, dir, "mica.pem")) != 0 ||
        (rc = path_in(mica_key, sizeof mica_key, dir, "mica.key")) != 0 ||
        (rc = path_in(leaf, sizeof leaf, dir, "leaf.pem")) != 0 ||
        (rc = path_in(key, sizeof key, dir, "server.key")) != 0 ||
        (rc = path_in(out, sizeof out, dir, "server.pem")) != 0)
        return rc;
    if ((has_mca && (rc = issue_sub_ca("gridedge test MCA", GE_PKI_DEFECT_NONE, &icert, &ikey, mca, mca_key, log))) ||
        (has_mica && (rc = issue_sub_ca("gridedge test MICA", defect, &icert, &ikey, mica, mica_key, log))))
        return rc;
    memset(&o, 0, sizeof o);
    o.key = GE_PKI_KEY_P256;
    o.role = GE_PKI_ROLE_SERVER;
    o.common_name = "localhost";
    o.san = san;
    if (shape != GE_PKI_CHAIN_SELF_SIGNED) {
        o.issuer_cert = icert;
        o.issuer_key = ikey;
    }
    o.cert_out = leaf;
    o.key_out = key;
    if ((rc = ge_pki_issue(&o, NULL, NULL, log)) != 0)
        return rc;
    /* What the server sends: its certificate first, then each issuer up to (not with) the root. */
    f = fopen(out, "w");
    if (!f) {
        ge_log(log, GE_LOG_ERROR, MOD, "cannot write %s: %s", out, strerror(errno));
        return GE_ERR_IO;
    }
    rc = append_file(f, leaf);
    if (rc == 0 && has_mica)
        rc = append_file(f, mica);
    if (rc == 0 && has_mca)
        rc = append_file(f, mca);
    if (fclose(f) != 0 && rc == 0)
        rc = GE_ERR_IO;
    if (rc)
        ge_log(log, GE_LOG_ERROR, MOD, "cannot write the chain %s", out);
    return rc;
}
