/* gridedge/pki.h - device identity from certificates (LFDI, SFDI) and a small issuer of test
 * certificates shaped the way IEEE 2030.5 / CSIP wants them.
 *
 * IEEE 2030.5-2018 §6.3.2-6.3.4: the certificate fingerprint is SHA-256 over the whole DER
 * certificate; the LFDI is that fingerprint cut to its first 160 bits (40 hex digits), the SFDI
 * its first 36 bits as a decimal number followed by one check digit chosen so that the sum of
 * all digits is 0 mod 10.  We print LFDIs as 40 uppercase hex digits without separators.
 *
 * The issuer writes PEM files: it exists for tests, `gridedge pki init` and lab set-ups, never
 * for production identities (those come from a manufacturer's CA). */
#ifndef GRIDEDGE_PKI_H
#define GRIDEDGE_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>

#ifdef __cplusplus
extern "C" {
#endif

struct x509_st; /* OpenSSL's X509 */

/* 40 hex digits and the terminator. */
#define GE_LFDI_HEX_LEN 40
#define GE_LFDI_BUF (GE_LFDI_HEX_LEN + 1)

/* The IEEE 2030.5 certificate policy arc (1.3.6.1.4.1.40732) and the policies we use. */
#define GE_OID_SEP_POLICY_DEVICE "1.3.6.1.4.1.40732.1.1" /* id-sep-dev-generic */
#define GE_OID_SEP_POLICY_MOBILE "1.3.6.1.4.1.40732.1.2"
#define GE_OID_SEP_POLICY_POSTMFG "1.3.6.1.4.1.40732.1.3"
#define GE_OID_SEP_POLICY_TEST "1.3.6.1.4.1.40732.2.1" /* test certificate */
#define GE_OID_SEP_POLICY_SELFSIGNED "1.3.6.1.4.1.40732.2.2"
#define GE_OID_SEP_POLICY_SERVICER "1.3.6.1.4.1.40732.2.3"
#define GE_OID_SEP_POLICY_BULK "1.3.6.1.4.1.40732.2.4"

/* "No well-defined expiration date" (RFC 5280 §4.1.2.5), which 2030.5 device certificates use. */
#define GE_PKI_NOT_AFTER_FOREVER "99991231235959Z"

/* LFDI of the DER certificate DER[0..LEN): 40 uppercase hex digits into OUT. */
int ge_cert_lfdi_der(const unsigned char *der, size_t len, char out[GE_LFDI_BUF]);

/* LFDI and SFDI of an OpenSSL certificate.  Either out-parameter may be NULL. */
int ge_cert_lfdi(const struct x509_st *cert, char out[GE_LFDI_BUF]);
int ge_cert_sfdi(const struct x509_st *cert, uint64_t *sfdi);

/* LFDI/SFDI of the first certificate in a PEM file.  Either out-parameter may be NULL. */
int ge_cert_file_ids(const char *pem_path, char lfdi[GE_LFDI_BUF], uint64_t *sfdi);

/* SFDI from an LFDI given as hex (at least the first 9 digits are used; case-insensitive;
 * GE_ERR_PARSE if they are not hex).  The result has 11 or 12 decimal digits. */
int ge_sfdi_from_lfdi(const char *lfdi_hex, uint64_t *sfdi);

/* The check digit for the 36-bit value V: the digit that makes the digit sum of V*10+d 0 mod 10. */
unsigned ge_sfdi_check_digit(uint64_t v);

/* Non-zero when SFDI's last digit is the right check digit. */
int ge_sfdi_valid(uint64_t sfdi);

/* --- test PKI -------------------------------------------------------------------------------- */

typedef enum ge_pki_key {
    GE_PKI_KEY_P256 = 0, /* ECDSA secp256r1: what 2030.5 requires */
    GE_PKI_KEY_P384,
    GE_PKI_KEY_RSA2048
} ge_pki_key;

typedef enum ge_pki_role {
    GE_PKI_ROLE_CA = 0,  /* a root: basicConstraints CA, keyCertSign/cRLSign */
    GE_PKI_ROLE_SERVER,  /* a server: subjectAltName from san (default IP:127.0.0.1, localhost) */
    GE_PKI_ROLE_CLIENT,  /* a device: 2030.5 device policy */
    GE_PKI_ROLE_SUBCA    /* an intermediate CA (2030.5 MCA, MICA): needs an issuer */
} ge_pki_role;

/* Deliberate defects, for tests of certificate-path validation (SunSpec CSIP COMM-004D..F). */
typedef enum ge_pki_defect {
    GE_PKI_DEFECT_NONE = 0,
    GE_PKI_DEFECT_EKU_CRITICAL,   /* a critical extendedKeyUsage allowing only codeSigning */
    GE_PKI_DEFECT_NAME_EXT,       /* a non-critical subjectAltName whose value is not valid DER */
    GE_PKI_DEFECT_POLICY_MAPPING  /* a non-critical policyMappings mapping anyPolicy (RFC 5280
                                   * §4.2.1.5: anyPolicy MUST NOT be mapped) */
} ge_pki_defect;

typedef struct ge_pki_issue_opts {
    ge_pki_role role;
    ge_pki_key key;
    const char *common_name;     /* NULL: "gridedge test <role>" */
    const char *issuer_cert;     /* PEM of the issuing CA; NULL: self-signed */
    const char *issuer_key;      /* its key (PEM) */
    const char *cert_out;        /* where the certificate goes (PEM) */
    const char *key_out;         /* where the key goes (PEM, created mode 0600) */
    const char *san;             /* subjectAltName in OpenSSL syntax; NULL: role's default */
    int expired;                 /* validity ended a day ago (for negative tests) */
    int no_policy;               /* leave out the 2030.5 certificate policies */
    int sha384;                  /* sign with SHA-384 instead of SHA-256 (for negative tests) */
    ge_pki_defect defect;        /* add this deliberate defect (for negative tests) */
} ge_pki_issue_opts_t;

/* Issue one certificate and key as OPTS says.  If LFDI/SFDI are not NULL they receive the new
 * certificate's identity.  Errors: GE_ERR_INVALID (options), GE_ERR_IO (files),
 * GE_ERR_CERT (OpenSSL refused), GE_ERR_NOMEM.  A message goes to LOG. */
int ge_pki_issue(const ge_pki_issue_opts_t *opts, char lfdi[GE_LFDI_BUF], uint64_t *sfdi,
                 const ge_log_t *log);

/* Create DIR (mode 0700) if missing and write a CSIP test PKI into it: ca.pem/ca.key, server.pem/
 * server.key (SAN IP:127.0.0.1, DNS:localhost), client.pem/client.key; all ECDSA P-256 with
 * SHA-256, device certificates with notAfter 99991231235959Z.  The client's identity goes to
 * LFDI/SFDI (either may be NULL). */
int ge_pki_init(const char *dir, char lfdi[GE_LFDI_BUF], uint64_t *sfdi, const ge_log_t *log);

/* Server certificate chains of the shapes the CSIP certificate-path cases (COMM-004A..G) serve.
 * SERCA is the 2030.5 root (the trust anchor), MCA a manufacturer CA, MICA a manufacturer
 * issuing CA; all ECDSA P-256, SHA-256, the 2030.5 device and test policies. */
typedef enum ge_pki_chain {
    GE_PKI_CHAIN_DEPTH2 = 0,        /* SERCA -> server */
    GE_PKI_CHAIN_DEPTH3,            /* SERCA -> MICA -> server */
    GE_PKI_CHAIN_DEPTH4,            /* SERCA -> MCA -> MICA -> server */
    GE_PKI_CHAIN_BAD_EKU_CRITICAL,  /* depth 3, the MICA with GE_PKI_DEFECT_EKU_CRITICAL */
    GE_PKI_CHAIN_BAD_NAME_EXT,      /* depth 3, the MICA with GE_PKI_DEFECT_NAME_EXT */
    GE_PKI_CHAIN_BAD_POLICY_MAPPING,/* depth 3, the MICA with GE_PKI_DEFECT_POLICY_MAPPING */
    GE_PKI_CHAIN_SELF_SIGNED        /* a self-signed server certificate */
} ge_pki_chain;

/* The shape's name ("depth2", "depth3", "depth4", "bad-eku-critical", "bad-name-ext",
 * "bad-policy-mapping", "self-signed"); NULL for an unknown value. */
const char *ge_pki_chain_name(ge_pki_chain shape);

/* The shape called NAME into *OUT; GE_ERR_NOTFOUND when there is none. */
int ge_pki_chain_parse(const char *name, ge_pki_chain *out);

/* Issue a server chain of SHAPE under the root ROOT_CERT/ROOT_KEY (PEM) into DIR (created mode
 * 0700 if missing): DIR/server.pem holds the server certificate followed by the intermediates
 * (leaf first, without the root: what a TLS server sends), DIR/server.key its key; the
 * intermediates also stay in DIR (mca.pem, mica.pem and their keys).  SAN is the server's
 * subjectAltName (NULL: IP:127.0.0.1, DNS:localhost).  Errors as ge_pki_issue(). */
int ge_pki_issue_chain(ge_pki_chain shape, const char *root_cert, const char *root_key, const char *dir,
                       const char *san, const ge_log_t *log);

#ifdef __cplusplus
}
#endif
#endif
