/* url.h - the http:// and https:// URLs the gateway's links are given (a 2030.5 server's
 * DeviceCapability, an OpenADR VTN's base), split once for all of them, and the addresses its
 * servers listen on. */
#ifndef GATEWAY_URL_H
#define GATEWAY_URL_H

typedef struct gw_url {
    int https;         /* https:// (else http://) */
    char base[264];    /* "scheme://authority", as given */
    char host[256];    /* an IPv6 literal without its brackets */
    char port[6];      /* as given, or 80 / 443 */
    char path[512];    /* from the first '/' after the authority (query included), or "" */
} gw_url_t;

/* Split URL into *U: 0, or GE_ERR_INVALID when it is not "http[s]://host[:port][/path]" with a
 * host, a port of 1..65535, no user part and no whitespace, or a part does not fit. */
int gw_url_parse(const char *url, gw_url_t *u);

/* Parse a listening address "IPADDR[:PORT]" / "[IPV6]:PORT" (numeric, port 0..65535, 0 or none =
 * any free port; a 2030.5 client's notification server) into ADDR and *PORT: 0, or GE_ERR_INVALID. */
int gw_notify_addr_parse(const char *spec, char *addr, size_t addrlen, unsigned *port);

#endif
