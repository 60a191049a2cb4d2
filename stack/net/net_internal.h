/* net_internal.h - helpers shared by the files of stack/net (not installed).  Names start with
 * gnet_ so the shared library's version script (which exports ge_*, sep_*, oadr_*) hides them. */
#ifndef STACK_NET_INTERNAL_H
#define STACK_NET_INTERNAL_H

#include <stddef.h>

#include <gridedge/log.h>

/* The text of OpenSSL's oldest queued error (the root cause) into BUF, and clear the queue.
 * Returns BUF; "" when the queue was empty. */
const char *gnet_ssl_error_text(char *buf, size_t size);

/* Copy SRC into DST[SIZE] (always terminated, cut if needed). */
void gnet_strlcpy(char *dst, const char *src, size_t size);

/* --- TLS (tls.c) --- */
struct ssl_st;
struct ge_tls_ctx;

/* Per-connection TLS state a client keeps: the first reason the handshake was refused. */
typedef struct gnet_tls_conn {
    char why[384];
} gnet_tls_conn_t;

/* A new SSL for one connection from CTX.  Client: HOST (a name or an IP literal) is verified
 * against the server certificate (unless the context says not to) and sent as SNI when it is a
 * name.  CONN (may be NULL) receives the reason of a refused certificate and must outlive the
 * SSL.  NULL on allocation failure. */
struct ssl_st *gnet_tls_ssl_new(struct ge_tls_ctx *ctx, const char *host, gnet_tls_conn_t *conn);

/* Explain why a TLS connection failed into BUF: the certificate reason in CONN when there is one,
 * else OSSL_ERR (from ERR_get_error or bufferevent_get_openssl_error; 0 = unknown) named after
 * the profile requirement it breaks (protocol version, suite, curve, chain, name, policy).
 * Returns GE_ERR_CERT for certificate problems, GE_ERR_TLS otherwise. */
int gnet_tls_explain(const struct ge_tls_ctx *ctx, const gnet_tls_conn_t *conn,
                     const struct ssl_st *ssl, unsigned long ossl_err, char *buf, size_t size);

#endif
