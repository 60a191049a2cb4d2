/* test_pki.c - device identity (LFDI/SFDI, IEEE 2030.5 §6.3) checked against the openssl CLI,
 * and `gridedge pki init|issue`: files, modes, certificate contents, output and exit codes. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gridedge/error.h>
#include <gridedge/pki.h>

#include "proc.h"
#include "runner.h"
#include "test_net_util.h"


/* Run the openssl CLI with up to 8 arguments; returns its stdout (caller frees) or NULL. */
static char *openssl_out(const char *a1, const char *a2, const char *a3, const char *a4,
                         const char *a5, const char *a6, const char *a7, const char *a8)
{
    char *argv[10] = { (char *)tnet_openssl(), (char *)a1, (char *)a2, (char *)a3, (char *)a4,
                       (char *)a5, (char *)a6, (char *)a7, (char *)a8, NULL };
    proc_result_t r;
    char *out;

    if (!argv[0] || proc_run(argv, NULL, 20000, &r) != 0)
        return NULL;
    out = r.status == 0 ? strdup(r.out) : NULL;
    proc_result_free(&r);
    return out;
}

/* The LFDI computed independently: `openssl x509 -outform DER`, then `openssl dgst -sha256`,
 * first 40 hex digits, uppercased. */
static int cli_lfdi(const char *dir, const char *pem, char lfdi[41])
{
    const char *der = tnet_path(dir, "cli.der");
    char *out;

    out = openssl_out("x509", "-in", pem, "-outform", "DER", "-out", der, NULL);
    if (!out)
        return -1;
    free(out);
    out = openssl_out("dgst", "-sha256", "-r", der, NULL, NULL, NULL, NULL);
    if (!out || strlen(out) < 64) {
        free(out);
        return -1;
    }
    for (int i = 0; i < 40; i++)
        lfdi[i] = (char)(out[i] >= 'a' && out[i] <= 'f' ? out[i] - 'a' + 'A' : out[i]);
    lfdi[40] = '\0';
    free(out);
    return 0;
}

/* The SFDI computed independently from the LFDI text: 9 hex digits through strtoull, then the
 * digit that brings the digit sum to a multiple of 10. */
static uint64_t cli_sfdi(const char *lfdi)
{
    char nine[10];
    uint64_t v, sfdi;
    unsigned sum = 0;

    memcpy(nine, lfdi, 9);
    nine[9] = '\0';
    v = strtoull(nine, NULL, 16);
    for (uint64_t t = v; t; t /= 10)
        sum += (unsigned)(t % 10);
    sfdi = v * 10;
    while (sum % 10) {
        sfdi++;
        sum++;
    }
    return sfdi;
}

static void test_sfdi_vectors(void)
{
    static const struct {
        const char *lfdi;
        uint64_t sfdi;
    } v[] = {
        /* the worked example of IEEE 2030.5 §6.3.3 */
        { "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", 167261211391ULL },
        { "3e4f45ab31edfe5b67e343e5e4562e31984e23e5", 167261211391ULL },
        /* all zero bits: 0 with check digit 0; all 36 bits set: 68719476735, digit sum 63 -> 7 */
        { "0000000000000000000000000000000000000000", 0ULL },
        { "FFFFFFFFF0000000000000000000000000000000", 687194767357ULL },
    };
    uint64_t s;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CU_ASSERT_EQUAL(ge_sfdi_from_lfdi(v[i].lfdi, &s), 0);
        CU_ASSERT_EQUAL(s, v[i].sfdi);
        CU_ASSERT_TRUE(ge_sfdi_valid(s));
    }
    CU_ASSERT_FALSE(ge_sfdi_valid(167261211392ULL));
    CU_ASSERT_EQUAL(ge_sfdi_from_lfdi("3E4F45AB", &s), GE_ERR_PARSE); /* too short */
    CU_ASSERT_EQUAL(ge_sfdi_from_lfdi("3E4F45AXB31", &s), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(ge_sfdi_from_lfdi(NULL, &s), GE_ERR_INVALID);
}

static void test_lfdi_matches_openssl_cli(void)
{
    char *dir = tnet_tmpdir();
    char lfdi[GE_LFDI_BUF], mine[GE_LFDI_BUF], cli[41];
    uint64_t sfdi, mysfdi;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    if (!tnet_openssl()) {
        printf("\n  note: no openssl CLI; the independent LFDI check is skipped\n");
        CU_PASS("no openssl CLI");
        tnet_rmdir(dir);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(ge_pki_init(dir, lfdi, &sfdi, NULL), 0);
    /* every certificate of the PKI, and keys of other kinds */
    CU_ASSERT_EQUAL(tnet_issue(dir, "p384", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_P384, 0, 0, "ca"), 0);
    CU_ASSERT_EQUAL(tnet_issue(dir, "rsa", GE_PKI_ROLE_CLIENT, GE_PKI_KEY_RSA2048, 0, 0, "ca"), 0);
    static const char *const files[] = { "client.pem", "server.pem", "ca.pem", "p384.pem", "rsa.pem" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *pem = tnet_path(dir, files[i]);

        CU_ASSERT_EQUAL_FATAL(cli_lfdi(dir, pem, cli), 0);
        CU_ASSERT_EQUAL(ge_cert_file_ids(pem, mine, &mysfdi), 0);
        CU_ASSERT_STRING_EQUAL(mine, cli);
        CU_ASSERT_EQUAL(mysfdi, cli_sfdi(cli));
        if (i == 0) {
            CU_ASSERT_STRING_EQUAL(lfdi, cli);
            CU_ASSERT_EQUAL(sfdi, cli_sfdi(cli));
        }
    }
    CU_ASSERT_EQUAL(ge_cert_file_ids(tnet_path(dir, "missing.pem"), mine, NULL), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(ge_cert_file_ids(tnet_path(dir, "client.key"), mine, NULL), GE_ERR_PARSE);
    tnet_rmdir(dir);
}

static proc_result_t run_pki(const char *a1, const char *a2, const char *a3, const char *a4,
                             const char *a5, const char *a6)
{
    char *argv[8] = { (char *)proc_gridedge(), "pki", (char *)a1, (char *)a2, (char *)a3,
                      (char *)a4, (char *)a5, (char *)a6 };
    proc_result_t r;

    argv[7] = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, NULL, 30000, &r), 0);
    CU_ASSERT_FALSE(r.timed_out);
    return r;
}

static int mode_of(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_pki_init_cli(void)
{
    char *top = tnet_tmpdir();
    char dir[4096], lfdi[GE_LFDI_BUF], line[128];
    uint64_t sfdi;
    proc_result_t r;
    char *text;

    CU_ASSERT_PTR_NOT_NULL_FATAL(top);
    snprintf(dir, sizeof dir, "%s/pki", top); /* does not exist yet: init creates it */
    r = run_pki("init", dir, NULL, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    static const char *const files[] = { "ca.pem", "server.pem", "server.key", "client.pem", "client.key" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        CU_ASSERT_EQUAL(access(tnet_path(dir, files[i]), R_OK), 0);
    CU_ASSERT_EQUAL(mode_of(tnet_path(dir, "server.key")), 0600);
    CU_ASSERT_EQUAL(mode_of(tnet_path(dir, "client.key")), 0600);
    /* stdout: exactly the two identity lines of the client certificate */
    CU_ASSERT_EQUAL_FATAL(ge_cert_file_ids(tnet_path(dir, "client.pem"), lfdi, &sfdi), 0);
    snprintf(line, sizeof line, "LFDI: %s\nSFDI: %" PRIu64 "\n", lfdi, sfdi);
    CU_ASSERT_STRING_EQUAL(r.out, line);
    proc_result_free(&r);

    if (tnet_openssl()) {
        /* the chain verifies, for both ends */
        text = openssl_out("verify", "-CAfile", tnet_path(dir, "ca.pem"), tnet_path(dir, "server.pem"),
                           tnet_path(dir, "client.pem"), NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL(text);
        free(text);
        /* P-256, SHA-256, never-expiring device certificate with the 2030.5 policies */
        text = openssl_out("x509", "-in", tnet_path(dir, "client.pem"), "-noout", "-text", NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "prime256v1"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "ecdsa-with-SHA256"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "Dec 31 23:59:59 9999 GMT"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, GE_OID_SEP_POLICY_DEVICE));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "Digital Signature, Key Agreement"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "CA:FALSE"));
        free(text);
        text = openssl_out("asn1parse", "-in", tnet_path(dir, "client.pem"), NULL, NULL, NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "GENERALIZEDTIME   :99991231235959Z"));
        free(text);
        text = openssl_out("x509", "-in", tnet_path(dir, "server.pem"), "-noout", "-text", NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "IP Address:127.0.0.1"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "DNS:localhost"));
        free(text);
        text = openssl_out("x509", "-in", tnet_path(dir, "ca.pem"), "-noout", "-text", NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "CA:TRUE"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "Certificate Sign, CRL Sign"));
        free(text);
    }

    /* a second run over the same directory replaces the PKI (a new client identity) */
    r = run_pki("init", dir, NULL, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NULL(strstr(r.out, lfdi));
    proc_result_free(&r);

    /* extra identities for negative tests */
    r = run_pki("issue", dir, "old", "--expired", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "LFDI: "));
    proc_result_free(&r);
    r = run_pki("issue", dir, "big", "--key", "p384", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(mode_of(tnet_path(dir, "big.key")), 0600);
    if (tnet_openssl()) {
        text = openssl_out("x509", "-in", tnet_path(dir, "big.pem"), "-noout", "-text", NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL(text && strstr(text, "secp384r1"));
        free(text);
        text = openssl_out("x509", "-in", tnet_path(dir, "old.pem"), "-noout", "-checkend", "0", NULL, NULL);
        CU_ASSERT_PTR_NULL(text); /* -checkend 0 fails for an expired certificate */
        free(text);
    }
    tnet_rmdir(strdup(dir)); /* the pki subdirectory first, then its parent */
    tnet_rmdir(top);
}

static void test_pki_cli_errors(void)
{
    static const char *const bad_usage[][4] = {
        { NULL, NULL, NULL, NULL },           /* no action */
        { "init", NULL, NULL, NULL },         /* no DIR */
        { "init", "a", "b", NULL },           /* two DIRs */
        { "frob", "x", NULL, NULL },          /* unknown action */
        { "issue", "/tmp", NULL, NULL },      /* no NAME */
        { "issue", "/tmp", "x", "--bogus" },  /* unknown option */
    };
    char *dir = tnet_tmpdir();
    proc_result_t r;

    for (size_t i = 0; i < sizeof bad_usage / sizeof bad_usage[0]; i++) {
        r = run_pki(bad_usage[i][0], bad_usage[i][1], bad_usage[i][2], bad_usage[i][3], NULL, NULL);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_EQUAL(r.out_len, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
    /* DIR is a regular file: a clear error, exit 1 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    {
        const char *file = tnet_path(dir, "plainfile");
        FILE *f = fopen(file, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fclose(f);
        r = run_pki("init", file, NULL, NULL, NULL, NULL);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_EQUAL(r.out_len, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "plainfile"));
        proc_result_free(&r);
        /* issue without a CA in DIR */
        r = run_pki("issue", dir, "orphan", NULL, NULL, NULL);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "cannot"));
        proc_result_free(&r);
    }
    tnet_rmdir(dir);
}

/* The I-th certificate (0 = first) of the PEM file PATH, or NULL. */
static X509 *pem_cert(const char *path, int i)
{
    FILE *f = fopen(path, "r");
    X509 *x = NULL;

    if (!f)
        return NULL;
    for (int k = 0; k <= i; k++) {
        X509_free(x);
        x = PEM_read_X509(f, NULL, NULL, NULL);
    }
    fclose(f);
    return x;
}

/* X names ISSUER as its issuer and carries its signature. */
static int signed_by(X509 *x, X509 *issuer)
{
    return X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)) == 0 &&
           X509_verify(x, X509_get0_pubkey(issuer)) == 1;
}

/* Chains for the CSIP certificate-path cases: each certificate issued by the next, the roles'
 * extensions, and exactly the one defect each broken shape asks for. */
static void test_issue_chains(void)
{
    char *dir = tnet_tmpdir(), sub[600], path[700];
    X509 *ca, *leaf, *mica, *mca;
    ge_pki_issue_opts_t o;
    int crit = -1;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(ge_pki_init(dir, NULL, NULL, NULL), 0);
    ca = pem_cert(tnet_path(dir, "ca.pem"), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    for (int c = GE_PKI_CHAIN_DEPTH2; c <= GE_PKI_CHAIN_SELF_SIGNED; c++) {
        const char *name = ge_pki_chain_name((ge_pki_chain)c);
        int self = c == GE_PKI_CHAIN_SELF_SIGNED, n = c == GE_PKI_CHAIN_DEPTH2 || self ? 1 : c == GE_PKI_CHAIN_DEPTH4 ? 3 : 2;

        snprintf(sub, sizeof sub, "%s/%s", dir, name);
        CU_ASSERT_EQUAL_FATAL(ge_pki_issue_chain((ge_pki_chain)c, tnet_path(dir, "ca.pem"), tnet_path(dir, "ca.key"),
                                                 sub, NULL, NULL), 0);
        snprintf(path, sizeof path, "%s/server.pem", sub);
        leaf = pem_cert(path, 0);
        mica = n >= 2 ? pem_cert(path, 1) : NULL;
        mca = n == 3 ? pem_cert(path, 2) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(leaf);
        CU_ASSERT_PTR_NULL(pem_cert(path, n)); /* never the root */
        /* who issued whom */
        CU_ASSERT_TRUE(signed_by(leaf, self ? leaf : mica ? mica : ca));
        if (mica)
            CU_ASSERT_TRUE(signed_by(mica, mca ? mca : ca));
        if (mca)
            CU_ASSERT_TRUE(signed_by(mca, ca));
        CU_ASSERT_FALSE(X509_check_ca(leaf));
        if (mica) {
            BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(mica, NID_basic_constraints, &crit, NULL);
            CU_ASSERT_TRUE(bc && bc->ca && crit == 1);
            BASIC_CONSTRAINTS_free(bc);
            if (c != GE_PKI_CHAIN_BAD_NAME_EXT) /* OpenSSL caches no extension of that one */
                CU_ASSERT(X509_get_key_usage(mica) & KU_KEY_CERT_SIGN);
            CU_ASSERT(X509_get_ext_by_NID(mica, NID_certificate_policies, -1) >= 0);
            CU_ASSERT_EQUAL(X509_get_signature_nid(mica), NID_ecdsa_with_SHA256);
            /* the defects, each on the MICA only */
            CU_ASSERT_EQUAL(X509_get_ext_by_NID(mica, NID_ext_key_usage, -1) >= 0, c == GE_PKI_CHAIN_BAD_EKU_CRITICAL);
            CU_ASSERT_EQUAL(X509_get_ext_by_NID(mica, NID_subject_alt_name, -1) >= 0, c == GE_PKI_CHAIN_BAD_NAME_EXT);
            CU_ASSERT_EQUAL(X509_get_ext_by_NID(mica, NID_policy_mappings, -1) >= 0,
                            c == GE_PKI_CHAIN_BAD_POLICY_MAPPING);
        }
        if (c == GE_PKI_CHAIN_BAD_EKU_CRITICAL) {
            EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(mica, NID_ext_key_usage, &crit, NULL);
            CU_ASSERT_TRUE(eku && crit == 1 && sk_ASN1_OBJECT_num(eku) == 1 &&
                           OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_code_sign);
            EXTENDED_KEY_USAGE_free(eku);
        } else if (c == GE_PKI_CHAIN_BAD_NAME_EXT) {
            X509_EXTENSION *e = X509_get_ext(mica, X509_get_ext_by_NID(mica, NID_subject_alt_name, -1));
            CU_ASSERT_FALSE(X509_EXTENSION_get_critical(e));
            CU_ASSERT_PTR_NULL(X509V3_EXT_d2i(e)); /* not valid DER */
        } else if (c == GE_PKI_CHAIN_BAD_POLICY_MAPPING) {
            POLICY_MAPPINGS *m = X509_get_ext_d2i(mica, NID_policy_mappings, &crit, NULL);
            CU_ASSERT_TRUE(m && crit == 0 && sk_POLICY_MAPPING_num(m) == 1 &&
                           OBJ_obj2nid(sk_POLICY_MAPPING_value(m, 0)->issuerDomainPolicy) == NID_any_policy);
            sk_POLICY_MAPPING_pop_free(m, POLICY_MAPPING_free);
        }
        X509_free(leaf);
        X509_free(mica);
        X509_free(mca);
    }
    X509_free(ca);
    /* an intermediate needs an issuer; unknown shapes and defects are refused */
    memset(&o, 0, sizeof o);
    o.role = GE_PKI_ROLE_SUBCA;
    o.cert_out = tnet_path(dir, "x.pem");
    o.key_out = tnet_path(dir, "x.key");
    CU_ASSERT_EQUAL(ge_pki_issue(&o, NULL, NULL, NULL), GE_ERR_INVALID);
    o.role = GE_PKI_ROLE_CLIENT;
    o.defect = (ge_pki_defect)42;
    CU_ASSERT_EQUAL(ge_pki_issue(&o, NULL, NULL, NULL), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(ge_pki_issue_chain((ge_pki_chain)42, tnet_path(dir, "ca.pem"), tnet_path(dir, "ca.key"), dir,
                                       NULL, NULL), GE_ERR_INVALID);
    tnet_rmdir(dir);
}

int test_register(void)
{
    static const test_case_t ids[] = {
        { "SFDI vectors (2030.5 6.3.3)", test_sfdi_vectors },
        { "LFDI/SFDI match the openssl CLI", test_lfdi_matches_openssl_cli },
        { NULL, NULL },
    };
    static const test_case_t cli[] = {
        { "pki init writes a CSIP PKI", test_pki_init_cli },
        { "pki usage and errors", test_pki_cli_errors },
        { "server chains for the certificate-path cases", test_issue_chains },
        { NULL, NULL },
    };
    int rc = test_add_suite("identity", ids);
    return rc ? rc : test_add_suite("pki cli", cli);
}
