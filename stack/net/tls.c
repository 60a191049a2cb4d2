/* tls.c - TLS profiles (the table in profiles/tls_profiles.def) and the OpenSSL contexts built
 * from them; the certificate checks OpenSSL does not make itself (key type and curve, SHA-256
 * signatures, 2030.5 device policies); and the naming of a failed handshake after the profile
 * requirement it broke.  See gridedge/tls.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gridedge/error.h>
#include <gridedge/tls.h>

#include "net_internal.h"

#define MOD "tls"

enum {
    GE_TLS_KEY_EC_P256 = 1,
    GE_TLS_KEY_EC_P384 = 2,
    GE_TLS_KEY_RSA = 4
};

struct ge_tls_profile {
    const char *name;
    const char *title;
    int min_version, max_version;
    const char *tls12_ciphers;
    const char *tls12_iana;
    const char *tls13_suites;
    const char *groups;
    const char *sigalgs;
    unsigned peer_keys;
    int peer_sig_sha256;
    int client_cert;
    const char *client_policy_arc;
    int system_trust;
    int security_level;
};

#define GE_TLS_PROFILE(name, title, vmin, vmax, c12, iana, c13, groups, sigalgs, keys, sha256, \
                       mutual, policy, systrust, seclevel)                                   \
    { name, title, vmin, vmax, c12, iana, c13, groups, sigalgs, keys, sha256, mutual, policy,   \
      systrust, seclevel },

static const struct ge_tls_profile profiles[] = {
#include "profiles/tls_profiles.def"
};

#undef GE_TLS_PROFILE

struct ge_tls_ctx {
    SSL_CTX *ssl_ctx;
    const struct ge_tls_profile *profile;
    ge_tls_role role;
    int verify_name;
    ge_log_t log;
};

/* --- profiles ------------------------------------------------------------------------------ */

const ge_tls_profile_t *ge_tls_profile_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

const ge_tls_profile_t *ge_tls_profile_at(size_t i)
{
    return i < sizeof profiles / sizeof profiles[0] ? &profiles[i] : NULL;
}

const char *ge_tls_profile_name(const ge_tls_profile_t *p)
{
    return p ? p->name : "";
}

const char *ge_tls_profile_title(const ge_tls_profile_t *p)
{
    return p ? p->title : "";
}

int ge_tls_profile_mutual(const ge_tls_profile_t *p)
{
    return p ? p->client_cert : 0;
}

static const char *versions_text(const struct ge_tls_profile *p)
{
    return p->min_version == p->max_version ? (p->max_version == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3")
                                            : "TLS 1.2 or 1.3";
}

static const char *keys_text(unsigned keys)
{
    switch (keys) {
    case GE_TLS_KEY_EC_P256:
        return "ECDSA on secp256r1 (prime256v1)";
    case GE_TLS_KEY_EC_P256 | GE_TLS_KEY_RSA:
        return "ECDSA on secp256r1 or RSA";
    default:
        return "ECDSA on secp256r1/secp384r1 or RSA";
    }
}

/* --- certificate checks -------------------------------------------------------------------- */

static unsigned key_kind(EVP_PKEY *key, char *name, size_t size)
{
    char group[64] = "";
    size_t len = 0;

    gnet_strlcpy(name, "unknown", size);
    if (!key)
        return 0;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        snprintf(name, size, "RSA-%d", EVP_PKEY_get_bits(key));
        return GE_TLS_KEY_RSA;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return 0;
    if (!EVP_PKEY_get_group_name(key, group, sizeof group, &len))
        return 0;
    gnet_strlcpy(name, group, size);
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return GE_TLS_KEY_EC_P256;
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        return GE_TLS_KEY_EC_P384;
    return 0;
}

static int has_policy_under(X509 *cert, const char *arc)
{
    CERTIFICATEPOLICIES *pols = X509_get_ext_d2i(cert, NID_certificate_policies, NULL, NULL);
    char oid[128];
    int found = 0;

    for (int i = 0; pols && !found && i < sk_POLICYINFO_num(pols); i++) {
        POLICYINFO *pi = sk_POLICYINFO_value(pols, i);

        if (OBJ_obj2txt(oid, sizeof oid, pi->policyid, 1) > 0 && strncmp(oid, arc, strlen(arc)) == 0)
            found = 1;
    }
    CERTIFICATEPOLICIES_free(pols);
    return found;
}

/* The profile's rules for one certificate of the peer's chain (DEPTH 0 = the end certificate;
 * LAST = the trust anchor, whose self-signature proves nothing and is not checked).  Writes the
 * reason into WHY and returns 0 when a rule fails. */
static int check_cert(const struct ge_tls_ctx *ctx, X509 *cert, int depth, int last, char *why,
                      size_t size)
{
    const struct ge_tls_profile *p = ctx->profile;
    const char *peer = ctx->role == GE_TLS_CLIENT ? "server" : "client";
    char keyname[64];
    int md = NID_undef, pk = NID_undef;

    if (p->peer_sig_sha256 && depth < last) {
        if (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md, &pk) || md != NID_sha256) {
            snprintf(why, size,
                     "signature: the %s's certificate chain (depth %d) is signed with %s; profile "
                     "%s requires SHA-256",
                     peer, depth, md != NID_undef ? OBJ_nid2sn(md) : "an unknown algorithm", p->name);
            return 0;
        }
    }
    if (depth != 0)
        return 1;
    if (!(key_kind(X509_get0_pubkey(cert), keyname, sizeof keyname) & p->peer_keys)) {
        snprintf(why, size, "curve: the %s's certificate key is %s; profile %s allows only %s", peer,
                 keyname, p->name, keys_text(p->peer_keys));
        return 0;
    }
    if (ctx->role == GE_TLS_SERVER && p->client_policy_arc[0] &&
        !has_policy_under(cert, p->client_policy_arc)) {
        snprintf(why, size,
                 "policy: the client's certificate has no certificate policy under %s* as profile %s "
                 "requires of device certificates",
                 p->client_policy_arc, p->name);
        return 0;
    }
    return 1;
}

/* Keep the first reason a peer's certificate was refused (the one gnet_tls_explain reports) and
 * log it. */
static void refuse_peer(const struct ge_tls_ctx *ctx, SSL *ssl, const char *why)
{
    gnet_tls_conn_t *conn = ssl ? SSL_get_app_data(ssl) : NULL;

    if (conn && !conn->why[0])
        gnet_strlcpy(conn->why, why, sizeof conn->why);
    ge_log(&ctx->log, ctx->role == GE_TLS_SERVER ? GE_LOG_WARN : GE_LOG_INFO, MOD,
           "refused peer certificate (profile %s): %s", ctx->profile->name, why);
}

/* ", a CA" when CERT is one (an MCA or MICA in a 2030.5 chain), for messages. */
static const char *ca_text(X509 *cert)
{
    return X509_check_ca(cert) ? ", a CA" : "";
}

/* OpenSSL's verdict on the chain, named after the requirement it broke. */
static void explain_verify_error(const struct ge_tls_ctx *ctx, X509_STORE_CTX *xs, char *why, size_t size)
{
    int err = X509_STORE_CTX_get_error(xs), depth = X509_STORE_CTX_get_error_depth(xs), crit = 0;
    const char *peer = ctx->role == GE_TLS_CLIENT ? "server" : "client";
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);

    switch (err) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(why, size, "name: the server's certificate is not for the host we connected to (%s)",
                 X509_verify_cert_error_string(err));
        return;
    case X509_V_ERR_INVALID_PURPOSE:
        if (cert && X509_get_ext_by_NID(cert, NID_ext_key_usage, -1) >= 0) {
            EXTENDED_KEY_USAGE_free(X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL));
            snprintf(why, size,
                     "purpose: the %s's certificate chain (depth %d%s) has a %sextendedKeyUsage that does not "
                     "allow TLS %s authentication (RFC 5280 §4.2.1.12)",
                     peer, depth, ca_text(cert), crit > 0 ? "critical " : "", peer);
            return;
        }
        break;
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
    case X509_V_ERR_NO_EXPLICIT_POLICY:
        snprintf(why, size,
                 "policy: the %s's certificate chain (depth %d%s) has an invalid %s extension (RFC 5280 "
                 "§4.2.1.4-5; IEEE 2030.5 certificate policies): %s",
                 peer, depth, cert ? ca_text(cert) : "",
                 cert && X509_get_ext_by_NID(cert, NID_policy_mappings, -1) >= 0 ? "policyMappings"
                                                                                 : "certificatePolicies",
                 X509_verify_cert_error_string(err));
        return;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        snprintf(why, size,
                 "chain: the %s's certificate is self-signed, not issued under our CA (IEEE 2030.5 "
                 "certificates chain to the SERCA)",
                 peer);
        return;
    default:
        break;
    }
    snprintf(why, size, "chain: the %s's certificate does not verify against our CA: %s (depth %d)", peer,
             X509_verify_cert_error_string(err), depth);
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct ge_tls_ctx *ctx = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
    int depth = X509_STORE_CTX_get_error_depth(xs);
    char why[384];

    if (!ctx)
        return ok;
    why[0] = '\0';
    if (!ok) {
        if (X509_STORE_CTX_get_error(xs) == X509_V_ERR_APPLICATION_VERIFICATION)
            return 0; /* ours: the reason is already recorded */
        explain_verify_error(ctx, xs, why, sizeof why);
    } else {
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(xs);
        int last = chain ? sk_X509_num(chain) - 1 : 0;

        if (check_cert(ctx, X509_STORE_CTX_get_current_cert(xs), depth, last, why, sizeof why))
            return 1;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
    }
    refuse_peer(ctx, ssl, why);
    return 0;
}

static void ext_value_free(const X509V3_EXT_METHOD *m, void *val)
{
    if (m->it)
        ASN1_item_free(val, ASN1_ITEM_ptr(m->it));
    else if (m->ext_free)
        m->ext_free(val);
}

/* The structure rules for one certificate the peer sent (I-th as sent, 0 = its own), before any
 * path is built: every extension OpenSSL knows must decode (RFC 5280 §4.2: a malformed extension
 * - critical or not - makes the certificate invalid; OpenSSL would otherwise just not use it as
 * an issuer and report a missing issuer), and policyMappings must not map anyPolicy (RFC 5280
 * §4.2.1.5).  Writes the reason into WHY and returns 0 when a rule fails. */
static int check_sent_cert(const struct ge_tls_ctx *ctx, X509 *cert, int i, char *why, size_t size)
{
    const char *peer = ctx->role == GE_TLS_CLIENT ? "server" : "client";
    char name[128] = "";

    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    for (int k = 0; k < X509_get_ext_count(cert); k++) {
        X509_EXTENSION *ext = X509_get_ext(cert, k);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        void *val;

        if (!X509V3_EXT_get(ext))
            continue; /* unknown: OpenSSL's path check refuses it when critical */
        val = X509V3_EXT_d2i(ext);
        if (!val) {
            ERR_clear_error();
            snprintf(why, size,
                     "extension: certificate %d the %s sent (\"%s\") has a %s%s extension that is not valid DER "
                     "(RFC 5280 §4.2; IEEE 2030.5 certificate profile)",
                     i, peer, name, X509_EXTENSION_get_critical(ext) ? "critical " : "non-critical ",
                     OBJ_nid2sn(nid));
            return 0;
        }
        if (nid == NID_policy_mappings) {
            POLICY_MAPPINGS *maps = val;
            int any = 0;

            for (int m = 0; m < sk_POLICY_MAPPING_num(maps); m++) {
                POLICY_MAPPING *pm = sk_POLICY_MAPPING_value(maps, m);

                any |= OBJ_obj2nid(pm->issuerDomainPolicy) == NID_any_policy ||
                       OBJ_obj2nid(pm->subjectDomainPolicy) == NID_any_policy;
            }
            ext_value_free(X509V3_EXT_get(ext), val);
            if (any) {
                snprintf(why, size,
                         "policy: certificate %d the %s sent (\"%s\") has a %spolicyMappings extension mapping "
                         "anyPolicy (RFC 5280 §4.2.1.5 forbids it)",
                         i, peer, name, X509_EXTENSION_get_critical(ext) ? "critical " : "non-critical ");
                return 0;
            }
            continue;
        }
        ext_value_free(X509V3_EXT_get(ext), val);
    }
    return 1;
}

/* Replaces X509_verify_cert for profiles built on the 2030.5 certificate profile (those with a
 * device policy arc): the structure rules on every certificate the peer sent, then OpenSSL's path
 * validation with certificate-policy processing (RFC 5280 §6.1) switched on. */
static int verify_chain_cb(X509_STORE_CTX *xs, void *arg)
{
    struct ge_tls_ctx *ctx = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xs);
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    char why[384];
    int ok = 1;

    if (ssl && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
        ok = !leaf || check_sent_cert(ctx, leaf, 0, why, sizeof why);
        for (int i = 0; ok && sent && i < sk_X509_num(sent); i++)
            if (sk_X509_value(sent, i) != leaf)
                ok = check_sent_cert(ctx, sk_X509_value(sent, i), i, why, sizeof why);
        if (!ok) {
            X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
            refuse_peer(ctx, ssl, why);
            return 0;
        }
    }
    X509_STORE_CTX_set_flags(xs, X509_V_FLAG_POLICY_CHECK);
    return X509_verify_cert(xs);
}

/* --- contexts ------------------------------------------------------------------------------ */

static int fail(struct ge_tls_ctx *ctx, int rc, const char *what)
{
    char err[256];

    gnet_ssl_error_text(err, sizeof err);
    ge_log(&ctx->log, GE_LOG_ERROR, MOD, "profile %s: %s%s%s", ctx->profile->name, what,
           err[0] ? ": " : "", err);
    return rc;
}

/* Our own certificate must meet the profile too: a csip device with a P-384 key would only fail
 * later, at every server, with a less clear message. */
static int check_own_cert(struct ge_tls_ctx *ctx)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx->ssl_ctx);
    char keyname[64], msg[256];
    int md = NID_undef, pk = NID_undef;

    if (!cert)
        return 0;
    if (!(key_kind(X509_get0_pubkey(cert), keyname, sizeof keyname) & ctx->profile->peer_keys)) {
        snprintf(msg, sizeof msg, "curve: our certificate key is %s, the profile allows only %s", keyname,
                 keys_text(ctx->profile->peer_keys));
        return fail(ctx, GE_ERR_CERT, msg);
    }
    if (ctx->profile->peer_sig_sha256 &&
        (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md, &pk) || md != NID_sha256))
        return fail(ctx, GE_ERR_CERT, "signature: our certificate is not signed with SHA-256");
    return 0;
}

static int load_identity(struct ge_tls_ctx *ctx, const ge_tls_opts_t *o)
{
    if (!o->cert_file && !o->key_file)
        return 0;
    if (!o->cert_file || !o->key_file)
        return fail(ctx, GE_ERR_CONFIG, "a certificate needs its key and a key its certificate");
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, o->cert_file) != 1)
        return fail(ctx, GE_ERR_IO, "cannot load our certificate");
    if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
        return fail(ctx, ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH ? GE_ERR_CERT : GE_ERR_IO,
                    "cannot load our private key (or it is not our certificate's)");
    if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1)
        return fail(ctx, GE_ERR_CERT, "our private key does not match our certificate");
    return check_own_cert(ctx);
}

static int configure(struct ge_tls_ctx *ctx, const ge_tls_opts_t *o)
{
    const struct ge_tls_profile *p = ctx->profile;
    SSL_CTX *c = ctx->ssl_ctx;
    int mode, rc;

    /* The security level first: OpenSSL drops suites and groups below it from the lists set
     * after.  CCM_8's 64-bit tag is fine at level 1 in OpenSSL 3.0, which csip uses. */
    SSL_CTX_set_security_level(c, p->security_level);
    if (!SSL_CTX_set_min_proto_version(c, p->min_version) || !SSL_CTX_set_max_proto_version(c, p->max_version))
        return fail(ctx, GE_ERR_UNSUPPORTED, "protocol version: this OpenSSL cannot be limited to the profile's versions");
    if (SSL_CTX_set_cipher_list(c, p->tls12_ciphers) != 1)
        return fail(ctx, GE_ERR_UNSUPPORTED, "suite: this OpenSSL lacks the profile's TLS 1.2 suites");
    if (SSL_CTX_set_ciphersuites(c, p->tls13_suites) != 1)
        return fail(ctx, GE_ERR_UNSUPPORTED, "suite: this OpenSSL lacks the profile's TLS 1.3 suites");
    if (SSL_CTX_set1_groups_list(c, p->groups) != 1)
        return fail(ctx, GE_ERR_UNSUPPORTED, "curve: this OpenSSL lacks the profile's groups");
    if (p->sigalgs[0] && (SSL_CTX_set1_sigalgs_list(c, p->sigalgs) != 1 ||
                          SSL_CTX_set1_client_sigalgs_list(c, p->sigalgs) != 1))
        return fail(ctx, GE_ERR_UNSUPPORTED, "signature: this OpenSSL lacks the profile's signature algorithms");
    /* No renegotiation (a profile is checked once, at the handshake), no compression; the server
     * picks from its own preference order; idle connections give their buffers back. */
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    /* Send the chain the certificate file holds, not one completed from our trust store (that
     * would add the root, which the peer must already have: bytes a constrained device pays). */
    SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);

    if (o->ca_file || o->ca_dir) {
        if (SSL_CTX_load_verify_locations(c, o->ca_file, o->ca_dir) != 1)
            return fail(ctx, GE_ERR_IO, "chain: cannot load the CA file/directory");
        if (ctx->role == GE_TLS_SERVER && o->ca_file) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_file);
            if (names)
                SSL_CTX_set_client_CA_list(c, names);
            ERR_clear_error();
        }
    } else if (p->system_trust && ctx->role == GE_TLS_CLIENT) {
        if (SSL_CTX_set_default_verify_paths(c) != 1)
            return fail(ctx, GE_ERR_IO, "chain: cannot load the system trust store");
    } else if (ctx->role == GE_TLS_CLIENT || p->client_cert) {
        return fail(ctx, GE_ERR_CONFIG, "chain: the profile needs a CA file or directory to verify the peer");
    }
    rc = load_identity(ctx, o);
    if (rc)
        return rc;
    if (ctx->role == GE_TLS_SERVER && !SSL_CTX_get0_certificate(c))
        return fail(ctx, GE_ERR_CONFIG, "a server needs a certificate and key");
    if (ctx->role == GE_TLS_CLIENT && p->client_cert && !SSL_CTX_get0_certificate(c))
        return fail(ctx, GE_ERR_CONFIG, "mutual authentication: the profile needs our certificate and key");

    if (ctx->role == GE_TLS_CLIENT)
        mode = SSL_VERIFY_PEER;
    else if (p->client_cert)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else
        mode = (o->ca_file || o->ca_dir) ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(c, mode, verify_cb);
    if (p->client_policy_arc[0])
        SSL_CTX_set_cert_verify_callback(c, verify_chain_cb, ctx);
    if (ctx->role == GE_TLS_SERVER) {
        static const unsigned char sid[] = "gridedge";
        SSL_CTX_set_session_id_context(c, sid, sizeof sid - 1);
    }
    SSL_CTX_set_app_data(c, ctx);
    return 0;
}

int ge_tls_ctx_new(ge_tls_ctx_t **out, const ge_tls_profile_t *profile, ge_tls_role role,
                   const ge_tls_opts_t *opts)
{
    static const ge_tls_opts_t none;
    struct ge_tls_ctx *ctx;
    int rc;

    if (!out || !profile || (role != GE_TLS_CLIENT && role != GE_TLS_SERVER))
        return GE_ERR_INVALID;
    *out = NULL;
    if (!opts)
        opts = &none;
    ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return GE_ERR_NOMEM;
    ctx->profile = profile;
    ctx->role = role;
    ctx->verify_name = !opts->no_verify_name;
    if (opts->log)
        ctx->log = *opts->log;
    ERR_clear_error();
    ctx->ssl_ctx = SSL_CTX_new(role == GE_TLS_CLIENT ? TLS_client_method() : TLS_server_method());
    if (!ctx->ssl_ctx) {
        ERR_clear_error();
        free(ctx);
        return GE_ERR_NOMEM;
    }
    rc = configure(ctx, opts);
    if (rc) {
        ge_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void ge_tls_ctx_free(ge_tls_ctx_t *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

struct ssl_ctx_st *ge_tls_ctx_ssl_ctx(ge_tls_ctx_t *ctx)
{
    return ctx ? ctx->ssl_ctx : NULL;
}

const ge_tls_profile_t *ge_tls_ctx_profile(const ge_tls_ctx_t *ctx)
{
    return ctx ? ctx->profile : NULL;
}

ge_tls_role ge_tls_ctx_role(const ge_tls_ctx_t *ctx)
{
    return ctx ? ctx->role : GE_TLS_CLIENT;
}

int ge_tls_negotiated(const struct ssl_st *ssl, const char **version, const char **cipher,
                      const char **group)
{
    int nid;

    if (!ssl)
        return GE_ERR_INVALID;
    if (version)
        *version = SSL_get_version(ssl);
    if (cipher)
        *cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
    if (group) {
        nid = SSL_get_negotiated_group((SSL *)ssl);
        *group = nid != NID_undef ? OBJ_nid2sn(nid & ~TLSEXT_nid_unknown) : "";
        if (!*group)
            *group = "";
    }
    return 0;
}

/* --- connections --------------------------------------------------------------------------- */

struct ssl_st *gnet_tls_ssl_new(struct ge_tls_ctx *ctx, const char *host, gnet_tls_conn_t *conn)
{
    unsigned char addr[16];
    SSL *ssl;
    int is_ip;

    if (!ctx)
        return NULL;
    ssl = SSL_new(ctx->ssl_ctx);
    if (!ssl) {
        ERR_clear_error();
        return NULL;
    }
    if (conn)
        conn->why[0] = '\0';
    SSL_set_app_data(ssl, conn);
    if (ctx->role == GE_TLS_CLIENT && host && *host) {
        is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
        if (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
            goto fail;
        if (ctx->verify_name) {
            X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
            if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1 : SSL_set1_host(ssl, host) != 1)
                goto fail;
        }
    }
    return ssl;
fail:
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
}

int gnet_tls_explain(const struct ge_tls_ctx *ctx, const gnet_tls_conn_t *conn,
                     const struct ssl_st *ssl, unsigned long e, char *buf, size_t size)
{
    const struct ge_tls_profile *p = ctx->profile;
    int reason = e ? ERR_GET_REASON(e) : 0;
    char text[256] = "no detail from OpenSSL";

    if (conn && conn->why[0]) {
        gnet_strlcpy(buf, conn->why, size);
        return GE_ERR_CERT;
    }
    if (e)
        ERR_error_string_n(e, text, sizeof text);
    /* Once we hold the server's certificate, suites, versions and curves were agreed: an alert
     * now is the server refusing our certificate (its chain, key or policy). */
    if (ssl && SSL_get0_peer_certificate(ssl) && ctx->role == GE_TLS_CLIENT &&
        (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
         reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
         reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN || reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
         reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED || reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR)) {
        snprintf(buf, size,
                 "chain: the server refused our certificate (chain, key or policy; profile %s) (%s)",
                 p->name, text);
        return GE_ERR_CERT;
    }
    switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
        snprintf(buf, size, "protocol version: the peer does not speak %s, which profile %s requires (%s)",
                 versions_text(p), p->name, text);
        return GE_ERR_TLS;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_WRONG_CIPHER_RETURNED:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        /* The peer's alert does not say which: a suite it lacks, or a certificate whose key or
         * curve cannot serve the profile's suites.  Name both, with what the profile needs. */
        snprintf(buf, size,
                 "suite/curve: the peer has no cipher suite and certificate fitting profile %s "
                 "(%s with %s certificates, %s key exchange, %s) (%s)",
                 p->name, p->tls12_iana, keys_text(p->peer_keys), p->groups, versions_text(p), text);
        return GE_ERR_TLS;
    case SSL_R_WRONG_CURVE:
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_BAD_ECPOINT:
    case SSL_R_WRONG_SIGNATURE_TYPE:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        snprintf(buf, size, "curve: the peer's key exchange or signature is outside profile %s (%s; %s) (%s)",
                 p->name, p->groups, p->sigalgs[0] ? p->sigalgs : "default signatures", text);
        return GE_ERR_TLS;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        snprintf(buf, size, "chain: the peer's certificate does not verify (%s)", text);
        return GE_ERR_CERT;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        snprintf(buf, size, "chain: the peer refused our certificate (%s)", text);
        return GE_ERR_CERT;
    default:
        snprintf(buf, size, "TLS handshake failed under profile %s (%s)", p->name, text);
        return GE_ERR_TLS;
    }
}
