/* dnssd_probe.h - DNS-SD discovery of an IEEE 2030.5 server over the network: sends the query of
 * gridedge/sep_dnssd.h over UDP (multicast DNS by default) and collects the answers for a bounded
 * time. */
#ifndef GATEWAY_DNSSD_PROBE_H
#define GATEWAY_DNSSD_PROBE_H

#include <gridedge/log.h>
#include <gridedge/sep_dnssd.h>

#define GW_DNSSD_MDNS "224.0.0.251:5353"

/* Ask DEST ("IPV4:PORT"; NULL: GW_DNSSD_MDNS) for _smartenergy._tcp, three times a second apart,
 * and merge the answers into OUT until a server with a URL is known and no answer came for 0.3 s,
 * or TIMEOUT_S seconds passed.  0 (OUT may still be empty), or GE_ERR_INVALID for a bad DEST,
 * GE_ERR_IO if no socket.  Malformed answers are logged and skipped. */
int gw_dnssd_discover(const char *dest, double timeout_s, sep_dnssd_result_t *out, const ge_log_t *log);

#endif
