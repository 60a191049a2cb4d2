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

/* --- name resolution off the loop (resolve.c) --- */
struct event_base;

#define GNET_MAX_ADDRS 8

/* The addresses a name resolved to, numeric ("192.0.2.1", "2001:db8::1"), in the system
 * resolver's order of preference. */
typedef struct gnet_addrs {
    size_t n;
    char addr[GNET_MAX_ADDRS][46];
} gnet_addrs_t;

typedef struct gnet_resolve gnet_resolve_t;

/* ERR is 0 (ADDRS has at least one address), GE_ERR_NOTFOUND (no such name), GE_ERR_TIMEOUT or
 * GE_ERR_IO (the resolver failed; may work later); WHY says which name and why.  Both live only
 * during the call.  The resolution is over when this runs: do not cancel it. */
typedef void (*gnet_resolve_fn)(void *ud, int err, const gnet_addrs_t *addrs, const char *why);

/* Resolve HOST (a name; see gnet_numeric_host) with the system resolver in a worker thread; CB
 * runs on BASE's loop when it answers or after TIMEOUT_MS, never from inside this call.
 * GE_ERR_LIMIT when too many resolutions are outstanding in the process. */
int gnet_resolve_start(gnet_resolve_t **out, struct event_base *base, const char *host,
                       unsigned timeout_ms, gnet_resolve_fn cb, void *ud);

/* Stop waiting: CB will not run.  The thread, if still running, frees what is left when it ends.
 * NULL is a no-op. */
void gnet_resolve_cancel(gnet_resolve_t *r);

/* Resolutions started since the process began, and resolver threads running now (for tests). */
unsigned long gnet_resolve_started(void);
unsigned gnet_resolve_running(void);

/* 1 when HOST is an IPv4 or IPv6 address (without brackets): it needs no resolution. */
int gnet_numeric_host(const char *host);

#endif
