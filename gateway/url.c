/* url.c - splitting http:// and https:// URLs and listening addresses (see url.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <gridedge/error.h>

#include "gateway/url.h"

int gw_url_parse(const char *url, gw_url_t *u)
{
    const char *a, *end, *h, *he, *colon;
    size_t skip;

    if (!url || !u)
        return GE_ERR_INVALID;
    memset(u, 0, sizeof(*u));
    if (strncmp(url, "https://", 8) == 0)
        skip = 8, u->https = 1;
    else if (strncmp(url, "http://", 7) == 0)
        skip = 7;
    else
        return GE_ERR_INVALID;
    if (strpbrk(url, " \t\r\n"))
        return GE_ERR_INVALID;
    a = url + skip;
    end = a + strcspn(a, "/?#");
    if (memchr(a, '@', (size_t)(end - a)))
        return GE_ERR_INVALID; /* no user:password@ */
    if (*a == '[') { /* [IPv6]:port */
        h = a + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (!he || (he[1] != ':' && he + 1 != end))
            return GE_ERR_INVALID;
        colon = he[1] == ':' ? he + 1 : NULL;
    } else {
        h = a;
        colon = memchr(a, ':', (size_t)(end - a));
        he = colon ? colon : end;
    }
    if (he == h || (size_t)(he - h) >= sizeof(u->host) || (size_t)(end - url) >= sizeof(u->base))
        return GE_ERR_INVALID;
    memcpy(u->host, h, (size_t)(he - h));
    if (colon) {
        size_t n = (size_t)(end - colon - 1);
        char *e;
        long p;
        if (n == 0 || n >= sizeof(u->port) || strspn(colon + 1, "0123456789") < n)
            return GE_ERR_INVALID;
        memcpy(u->port, colon + 1, n);
        p = strtol(u->port, &e, 10);
        if (p < 1 || p > 65535)
            return GE_ERR_INVALID;
    } else {
        snprintf(u->port, sizeof(u->port), "%s", u->https ? "443" : "80");
    }
    memcpy(u->base, url, (size_t)(end - url));
    if (strlen(end) >= sizeof(u->path) || (*end && *end != '/'))
        return GE_ERR_INVALID;
    snprintf(u->path, sizeof(u->path), "%s", end);
    return 0;
}

int gw_notify_addr_parse(const char *spec, char *addr, size_t addrlen, unsigned *port)
{
    const char *a = spec, *colon = NULL;
    size_t n;
    unsigned char bin[16];
    char *end;

    *port = 0;
    if (spec[0] == '[') { /* [v6] or [v6]:PORT */
        const char *close = strchr(spec, ']');
        if (!close || (close[1] && close[1] != ':'))
            return GE_ERR_INVALID;
        a = spec + 1;
        n = (size_t)(close - a);
        colon = close[1] ? close + 1 : NULL;
    } else if ((colon = strchr(spec, ':')) != NULL && strchr(colon + 1, ':')) {
        n = strlen(spec); /* a bare IPv6 address */
        colon = NULL;
    } else {
        n = colon ? (size_t)(colon - spec) : strlen(spec);
    }
    if (n == 0 || n >= addrlen)
        return GE_ERR_INVALID;
    memcpy(addr, a, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
        return GE_ERR_INVALID;
    if (colon) {
        unsigned long v;
        errno = 0;
        v = strtoul(colon + 1, &end, 10);
        if (errno || !colon[1] || *end || v > 65535)
            return GE_ERR_INVALID;
        *port = (unsigned)v;
    }
    return 0;
}
