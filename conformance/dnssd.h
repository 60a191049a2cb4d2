/* dnssd.h - the head-end's DNS-SD responder (IEEE 2030.5 §6.5, SunSpec CSIP COMM-001): a unicast
 * DNS server on 127.0.0.1 that answers the client's questions about "_smartenergy._tcp" with the
 * head-end's own address.  cf_dnssd_answer() is the pure part (a query in, an answer out) and
 * holds the DNS encoder (the one in stack/sep/dnssd.c builds queries only and is private);
 * cf_dnssd_responder_* put it on a UDP socket of the caller's event loop. */
#ifndef CONFORMANCE_DNSSD_H
#define CONFORMANCE_DNSSD_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* What the responder announces. */
typedef struct cf_dnssd_service {
    const char *service;  /* NULL: "_smartenergy._tcp.local" */
    const char *instance; /* the instance label, NULL: "gridedge head-end" */
    const char *host;     /* the SRV target, NULL: "headend.local" */
    uint8_t ipv4[4];      /* the host's A record */
    uint16_t port;        /* the SRV port (the head-end's) */
    int https;            /* 1: TXT "https=PORT" says the port speaks TLS */
    const char *dcap;     /* the DeviceCapability path for TXT "dcap=" and "path=", NULL: "/dcap" */
} cf_dnssd_service_t;

#define CF_DNSSD_MAX_MSG 1500

/* Answer the DNS message Q (QLEN bytes) for SVC into OUT (CAP bytes, 512 are always enough): a
 * standard query (QR 0, opcode 0) with one question of type PTR, SRV, TXT, A or ANY (class IN, the
 * mDNS unicast-response bit allowed) about the service, one of its subtypes ("_x._sub.SERVICE"),
 * the instance or the host gets an authoritative answer holding the question and the PTR, SRV,
 * TXT and A records.  Returns the answer's length, 0 when Q asks about something else (no
 * answer), or GE_ERR_PARSE when Q is not a DNS query (WHY, if not NULL, says why).  QNAME (if not
 * NULL, QNAME_SIZE >= 256) gets the question's "TYPE name" when there was one. */
int cf_dnssd_answer(const uint8_t *q, size_t qlen, const cf_dnssd_service_t *svc, uint8_t *out, size_t cap,
                    char *qname, size_t qname_size, char *why, size_t why_size);

typedef struct cf_dnssd_responder cf_dnssd_responder_t;

/* Called for every datagram: QNAME as above ("" for a malformed one), RCODE-like STATUS: 0
 * answered, 1 ignored (another name), -1 malformed (WHY says why). */
typedef void (*cf_dnssd_seen_fn)(void *ud, const char *qname, int status, const char *why);

/* Listen on 127.0.0.1 (an ephemeral UDP port) on BASE; SVC is copied (its strings must outlive the
 * responder).  0 or a negative ge_err. */
int cf_dnssd_responder_new(cf_dnssd_responder_t **out, struct event_base *base, const cf_dnssd_service_t *svc,
                           cf_dnssd_seen_fn seen, void *ud);
uint16_t cf_dnssd_responder_port(const cf_dnssd_responder_t *r);
void cf_dnssd_responder_free(cf_dnssd_responder_t *r);

#endif
