/* dnssd.c - DNS-SD discovery of an IEEE 2030.5 server: the query and the answer parser, no I/O
 * (see gridedge/sep_dnssd.h).  DNS wire format per RFC 1035 §4, mDNS per RFC 6762, DNS-SD per
 * RFC 6763; the 2030.5 TXT keys per IEEE 2030.5 §6.5. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gridedge/error.h>
#include <gridedge/sep_dnssd.h>

enum { T_A = 1, T_PTR = 12, T_TXT = 16, T_SRV = 33 };

#define NAME_MAX_LEN 255
#define MAX_JUMPS 32

static int put_name(uint8_t *buf, size_t cap, size_t *off, const char *name)
{
    const char *p = name;

    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n > 63)
            return GE_ERR_INVALID;
        if (*off + 1 + n >= cap)
            return GE_ERR_LIMIT;
        buf[(*off)++] = (uint8_t)n;
        memcpy(buf + *off, p, n);
        *off += n;
        p += n + (dot ? 1 : 0);
    }
    if (*off + 1 > cap)
        return GE_ERR_LIMIT;
    buf[(*off)++] = 0;
    return 0;
}

int sep_dnssd_query(uint8_t *buf, size_t cap, uint16_t id, const char *service)
{
    size_t off = 12;
    int rc;

    if (!buf)
        return GE_ERR_INVALID;
    if (!service)
        service = SEP_DNSSD_SERVICE;
    if (cap < 12 + 4 || strlen(service) > NAME_MAX_LEN)
        return cap < 16 ? GE_ERR_LIMIT : GE_ERR_INVALID;
    memset(buf, 0, 12);
    buf[0] = (uint8_t)(id >> 8);
    buf[1] = (uint8_t)id;
    buf[5] = 1; /* one question; flags 0: a standard query */
    if ((rc = put_name(buf, cap, &off, service)) < 0)
        return rc;
    if (off + 4 > cap)
        return GE_ERR_LIMIT;
    buf[off++] = 0;
    buf[off++] = T_PTR;
    buf[off++] = 0x80; /* QU: ask for a unicast answer (RFC 6762 §5.4), class IN */
    buf[off++] = 1;
    return (int)off;
}

/* ---- parsing ----------------------------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *m;
    size_t len;
    char *why;
    size_t why_size;
} rd_t;

static int bad(rd_t *r, size_t off, const char *what)
{
    snprintf(r->why, r->why_size, "offset %zu: %s", off, what);
    return GE_ERR_PARSE;
}

/* The name at *OFF into OUT (dotted, no trailing dot); *OFF moves past it (not past what a
 * compression pointer points at). */
static int read_name(rd_t *r, size_t *off, char *out, size_t size)
{
    size_t p = *off, n = 0, end = 0;
    int jumps = 0;

    for (;;) {
        uint8_t l;
        if (p >= r->len)
            return bad(r, p, "name runs past the end of the message");
        l = r->m[p];
        if ((l & 0xC0) == 0xC0) {
            size_t target;
            if (p + 1 >= r->len)
                return bad(r, p, "compression pointer cut off");
            target = (size_t)(l & 0x3F) << 8 | r->m[p + 1];
            if (!end)
                end = p + 2;
            if (++jumps > MAX_JUMPS || target >= p)
                return bad(r, p, "compression pointer loops or points forward");
            p = target;
            continue;
        }
        if (l & 0xC0)
            return bad(r, p, "unknown label type");
        if (l == 0) {
            if (!end)
                end = p + 1;
            break;
        }
        if (p + 1 + l > r->len)
            return bad(r, p, "label runs past the end of the message");
        if (n + l + 2 > size || n + l + 1 > NAME_MAX_LEN)
            return bad(r, p, "name longer than 255 bytes");
        if (n)
            out[n++] = '.';
        memcpy(out + n, r->m + p + 1, l);
        n += l;
        p += 1u + l;
    }
    out[n] = '\0';
    *off = end;
    return 0;
}

static uint16_t u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Is NAME "<instance>.SERVICE"? */
static int is_instance_of(const char *name, const char *service)
{
    size_t n = strlen(name), s = strlen(service);

    return n > s + 1 && name[n - s - 1] == '.' && strcasecmp(name + n - s, service) == 0;
}

static sep_dnssd_server_t *server_get(sep_dnssd_result_t *out, const char *instance)
{
    for (size_t i = 0; i < out->n; i++)
        if (strcasecmp(out->servers[i].instance, instance) == 0)
            return &out->servers[i];
    if (out->n == SEP_DNSSD_MAX_SERVERS)
        return NULL;
    sep_dnssd_server_t *s = &out->servers[out->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->instance, sizeof(s->instance), "%s", instance);
    snprintf(s->dcap, sizeof(s->dcap), "/dcap");
    return s;
}

static void take_txt(sep_dnssd_server_t *s, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t l = p[i++];
        char kv[256];
        if (l > n - i)
            break;
        memcpy(kv, p + i, l);
        kv[l] = '\0';
        i += l;
        if (strncasecmp(kv, "dcap=", 5) == 0 && kv[5] == '/' && l - 5 < sizeof(s->dcap) &&
            !strpbrk(kv + 5, " \t\r\n")) {
            memcpy(s->dcap, kv + 5, l - 5);
            s->dcap[l - 5] = '\0';
        }
        else if (strncasecmp(kv, "https=", 6) == 0) {
            unsigned long port = 0;
            const char *q = kv + 6;
            while (*q >= '0' && *q <= '9' && port <= 65535)
                port = port * 10 + (unsigned long)(*q++ - '0');
            if (!*q && q > kv + 6 && port > 0 && port <= 65535)
                s->https_port = (uint16_t)port;
        }
    }
}

int sep_dnssd_parse(const uint8_t *msg, size_t len, const char *service, sep_dnssd_result_t *out, char *why,
                    size_t why_size)
{
    rd_t r = { msg, len, why, why_size };
    size_t off = 12, counts[4];
    char name[NAME_MAX_LEN + 1], target[NAME_MAX_LEN + 1];

    if (!msg || !out || !why || !why_size)
        return GE_ERR_INVALID;
    why[0] = '\0';
    if (!service)
        service = SEP_DNSSD_SERVICE;
    if (len < 12)
        return bad(&r, 0, "shorter than a DNS header");
    if (!(msg[2] & 0x80))
        return bad(&r, 2, "a query, not a response");
    for (int k = 0; k < 4; k++)
        counts[k] = u16(msg + 4 + 2 * k);
    for (size_t q = 0; q < counts[0]; q++) { /* questions: skip */
        if (read_name(&r, &off, name, sizeof(name)) < 0)
            return GE_ERR_PARSE;
        if (off + 4 > len)
            return bad(&r, off, "question cut off");
        off += 4;
    }
    for (size_t i = 0; i < counts[1] + counts[2] + counts[3]; i++) {
        uint16_t type, rdlen;
        size_t rdata;
        sep_dnssd_server_t *s;
        if (read_name(&r, &off, name, sizeof(name)) < 0)
            return GE_ERR_PARSE;
        if (off + 10 > len)
            return bad(&r, off, "resource record header cut off");
        type = u16(msg + off);
        rdlen = u16(msg + off + 8);
        rdata = off + 10;
        if (rdata + rdlen > len)
            return bad(&r, off, "record data runs past the end of the message");
        off = rdata + rdlen;
        switch (type) {
        case T_PTR: {
            size_t p = rdata;
            if (strcasecmp(name, service) != 0)
                break;
            if (read_name(&r, &p, target, sizeof(target)) < 0)
                return GE_ERR_PARSE;
            if (p > rdata + rdlen)
                return bad(&r, rdata, "PTR name longer than its record");
            if (is_instance_of(target, service))
                server_get(out, target);
            break;
        }
        case T_SRV: {
            size_t p = rdata + 6;
            if (!is_instance_of(name, service))
                break;
            if (rdlen < 7)
                return bad(&r, rdata, "SRV record too short");
            if (read_name(&r, &p, target, sizeof(target)) < 0)
                return GE_ERR_PARSE;
            if (p > rdata + rdlen)
                return bad(&r, rdata, "SRV target longer than its record");
            if ((s = server_get(out, name)) != NULL) {
                s->port = u16(msg + rdata + 4);
                snprintf(s->host, sizeof(s->host), "%s", target);
            }
            break;
        }
        case T_TXT:
            if (is_instance_of(name, service) && (s = server_get(out, name)) != NULL)
                take_txt(s, msg + rdata, rdlen);
            break;
        case T_A:
            if (rdlen != 4)
                return bad(&r, rdata, "A record is not 4 bytes");
            if (out->n_hosts < SEP_DNSSD_MAX_SERVERS) {
                size_t h = 0;
                while (h < out->n_hosts && strcasecmp(out->hosts[h].host, name) != 0)
                    h++;
                if (h == out->n_hosts)
                    out->n_hosts++;
                snprintf(out->hosts[h].host, sizeof(out->hosts[h].host), "%s", name);
                snprintf(out->hosts[h].ipv4, sizeof(out->hosts[h].ipv4), "%u.%u.%u.%u", msg[rdata], msg[rdata + 1],
                         msg[rdata + 2], msg[rdata + 3]);
            }
            break;
        default: break;
        }
    }
    /* servers whose host address is known now get their URL */
    for (size_t i = 0; i < out->n; i++) {
        sep_dnssd_server_t *s = &out->servers[i];
        for (size_t h = 0; h < out->n_hosts && s->host[0]; h++)
            if (strcasecmp(out->hosts[h].host, s->host) == 0)
                snprintf(s->ipv4, sizeof(s->ipv4), "%s", out->hosts[h].ipv4);
        if (s->ipv4[0] && (s->https_port || s->port))
            snprintf(s->url, sizeof(s->url), "%s://%s:%u%s", s->https_port ? "https" : "http", s->ipv4,
                     (unsigned)(s->https_port ? s->https_port : s->port), s->dcap);
    }
    return 0;
}

const sep_dnssd_server_t *sep_dnssd_best(const sep_dnssd_result_t *r)
{
    const sep_dnssd_server_t *any = NULL;

    for (size_t i = 0; r && i < r->n; i++) {
        if (!r->servers[i].url[0])
            continue;
        if (r->servers[i].https_port)
            return &r->servers[i];
        if (!any)
            any = &r->servers[i];
    }
    return any;
}
