/* gridedge/sep_dnssd.h - finding an IEEE 2030.5 server with DNS-SD (2030.5 §6.5, SunSpec CSIP
 * COMM-001), sans I/O.
 *
 * A 2030.5 server announces the service type "_smartenergy._tcp" (RFC 6763) over multicast DNS
 * (RFC 6762).  Its instance records say where it is: SRV (host and port), TXT ("txtvers=1",
 * "dcap=/path" the DeviceCapability path, "https=PORT" the TLS port, "level=-S1" ...), and the
 * host's A record.  The caller sends the query this module builds (to 224.0.0.251:5353, or a
 * unicast DNS server) and hands every answer datagram to sep_dnssd_parse(); the module keeps no
 * socket and no clock. */
#ifndef GRIDEDGE_SEP_DNSSD_H
#define GRIDEDGE_SEP_DNSSD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEP_DNSSD_SERVICE "_smartenergy._tcp.local"
#define SEP_DNSSD_MAX_SERVERS 8

/* One server found. */
typedef struct sep_dnssd_server {
    char instance[256];  /* the service instance name, e.g. "Utility head-end._smartenergy._tcp.local" */
    char host[256];      /* the SRV target */
    char ipv4[16];       /* dotted quad, "" if no A record came */
    uint16_t port;       /* SRV port */
    uint16_t https_port; /* TXT https=, 0 if absent */
    char dcap[128];      /* TXT dcap=, default "/dcap" */
    char url[320];       /* https://ipv4:https_port/dcap (or http://ipv4:port/dcap without https=) */
} sep_dnssd_server_t;

typedef struct sep_dnssd_result {
    size_t n;
    sep_dnssd_server_t servers[SEP_DNSSD_MAX_SERVERS];
    /* the A records seen so far (an answer may come before or after the SRV naming its host) */
    size_t n_hosts;
    struct { char host[256]; char ipv4[16]; } hosts[SEP_DNSSD_MAX_SERVERS];
} sep_dnssd_result_t;

/* A DNS query for the PTR records of SERVICE (NULL: SEP_DNSSD_SERVICE) with the unicast-response
 * bit set, into BUF; its length, or GE_ERR_LIMIT if CAP is too small / GE_ERR_INVALID. */
int sep_dnssd_query(uint8_t *buf, size_t cap, uint16_t id, const char *service);

/* Merge what the DNS message MSG says about SERVICE (NULL: SEP_DNSSD_SERVICE) into OUT (zero it
 * before the first answer): PTR, SRV, TXT and A records, in any section and order, name
 * compression followed with loop and bounds checks.  Servers whose SRV and A are both known get
 * a url.  0, or GE_ERR_PARSE with WHY ("offset N: ...") for a malformed message (OUT keeps what
 * earlier messages said). */
int sep_dnssd_parse(const uint8_t *msg, size_t len, const char *service, sep_dnssd_result_t *out, char *why,
                    size_t why_size);

/* The first server with a url, preferring https; NULL if none. */
const sep_dnssd_server_t *sep_dnssd_best(const sep_dnssd_result_t *r);

#ifdef __cplusplus
}
#endif
#endif
