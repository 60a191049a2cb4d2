/* gridedge/tls.h - TLS profiles and the OpenSSL contexts built from them.
 *
 * A profile (table in profiles/tls_profiles.def) fixes what a connection must meet: protocol
 * versions, cipher suites, key-exchange groups, signature algorithms, certificate key types and
 * signatures, mutual authentication, certificate policies.  A ge_tls_ctx_t is an SSL_CTX
 * configured from one profile for one role; OpenSSL then refuses, during the handshake, anything
 * outside the profile, and our certificate callback adds the checks OpenSSL does not make.  So
 * a connection that cannot meet its profile fails before any application byte is sent.
 *
 * Profiles: "csip", "csip-aus", "oadr20b", "modern" (OpenADR 3.0). */
#ifndef GRIDEDGE_TLS_H
#define GRIDEDGE_TLS_H

#include <stddef.h>

#include <gridedge/log.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct ssl_st;     /* OpenSSL's SSL */

typedef struct ge_tls_profile ge_tls_profile_t;
typedef struct ge_tls_ctx ge_tls_ctx_t;

typedef enum ge_tls_role {
    GE_TLS_CLIENT = 0,
    GE_TLS_SERVER = 1
} ge_tls_role;

/* The profile called NAME, or NULL. */
const ge_tls_profile_t *ge_tls_profile_find(const char *name);

/* The I-th profile (0, 1, ...), NULL past the last: for listing them. */
const ge_tls_profile_t *ge_tls_profile_at(size_t i);

const char *ge_tls_profile_name(const ge_tls_profile_t *p);
const char *ge_tls_profile_title(const ge_tls_profile_t *p);

/* Non-zero when the profile requires the client to present a certificate. */
int ge_tls_profile_mutual(const ge_tls_profile_t *p);

typedef struct ge_tls_opts {
    const char *ca_file;    /* trust anchors (PEM), or NULL */
    const char *ca_dir;     /* a hashed CA directory (c_rehash), or NULL */
    const char *cert_file;  /* our certificate chain (PEM, end certificate first), or NULL */
    const char *key_file;   /* its private key (PEM) */
    int no_verify_name;     /* client: do not match the server's name/IP against its certificate */
    const ge_log_t *log;    /* where configuration and handshake problems are reported */
} ge_tls_opts_t;

/* Build a context for ROLE from PROFILE.  Fails with GE_ERR_CONFIG when the profile needs
 * something OPTS lack (a CA, our certificate), GE_ERR_CERT when our own certificate does not meet
 * the profile (e.g. a P-384 key under csip) or does not match its key, GE_ERR_IO when a file
 * cannot be read; the reason goes to OPTS->log. */
int ge_tls_ctx_new(ge_tls_ctx_t **out, const ge_tls_profile_t *profile, ge_tls_role role,
                   const ge_tls_opts_t *opts);

/* NULL is a no-op. */
void ge_tls_ctx_free(ge_tls_ctx_t *ctx);

/* The OpenSSL context (owned by CTX), for callers that run their own TLS connections. */
struct ssl_ctx_st *ge_tls_ctx_ssl_ctx(ge_tls_ctx_t *ctx);
const ge_tls_profile_t *ge_tls_ctx_profile(const ge_tls_ctx_t *ctx);
ge_tls_role ge_tls_ctx_role(const ge_tls_ctx_t *ctx);

/* What a finished handshake negotiated, for logs and tests: e.g. "TLSv1.2",
 * "ECDHE-ECDSA-AES128-CCM8", "prime256v1".  Any out-parameter may be NULL. */
int ge_tls_negotiated(const struct ssl_st *ssl, const char **version, const char **cipher,
                      const char **group);

#ifdef __cplusplus
}
#endif
#endif
