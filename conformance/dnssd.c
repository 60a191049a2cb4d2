/* dnssd.c - the head-end's DNS-SD responder (see dnssd.h).  DNS wire format per RFC 1035 §4, the
 * DNS-SD records per RFC 6763, the 2030.5 TXT keys per IEEE 2030.5 §6.5. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/event.h>

#include <gridedge/error.h>

#include "conformance/dnssd.h"

enum { T_A = 1, T_PTR = 12, T_TXT = 16, T_SRV = 33, T_ANY = 255 };
enum { C_IN = 1, C_ANY = 255 };

#define TTL 120
#define NAME_MAX_TEXT 255

typedef struct wr {
    uint8_t *p;
    size_t cap, off;
    int full;
} wr_t;

static void put(wr_t *w, const void *data, size_t n)
{
    if (w->full || n > w->cap - w->off) {
        w->full = 1;
        return;
    }
    memcpy(w->p + w->off, data, n);
    w->off += n;
}

static void put16(wr_t *w, unsigned v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(w, b, 2);
}

/* A dotted NAME as DNS labels (no compression); labels may hold spaces (instance names do). */
static void put_name(wr_t *w, const char *name)
{
    const char *p = name;

    while (*p) {
        size_t n = strcspn(p, ".");
        uint8_t len = (uint8_t)(n > 63 ? 63 : n);
        put(w, &len, 1);
        put(w, p, len);
        p += n + (p[n] == '.');
    }
    put(w, "", 1);
}

/* One resource record: NAME TYPE IN TTL, then the RDATA the caller writes between rr_begin and rr_end. */
static size_t rr_begin(wr_t *w, const char *name, unsigned type)
{
    size_t at;

    put_name(w, name);
    put16(w, type);
    put16(w, C_IN);
    put16(w, TTL >> 16);
    put16(w, TTL & 0xffff);
    at = w->off;
    put16(w, 0); /* RDLENGTH, filled by rr_end */
    return at;
}

static void rr_end(wr_t *w, size_t at)
{
    size_t len;

    if (w->full)
        return;
    len = w->off - at - 2;
    w->p[at] = (uint8_t)(len >> 8);
    w->p[at + 1] = (uint8_t)len;
}

static void put_txt(wr_t *w, const char *kv)
{
    uint8_t len = (uint8_t)strlen(kv);
    put(w, &len, 1);
    put(w, kv, len);
}

/* The question's name as dotted text (labels only: a compression pointer in a question is refused). */
static int read_qname(const uint8_t *q, size_t qlen, size_t *off, char *out, size_t size, const char **why)
{
    size_t o = *off, n = 0;

    for (;;) {
        unsigned l;
        if (o >= qlen) {
            *why = "question name runs past the end";
            return GE_ERR_PARSE;
        }
        l = q[o++];
        if (l == 0)
            break;
        if (l > 63) {
            *why = "compressed or reserved label in the question";
            return GE_ERR_PARSE;
        }
        if (l > qlen - o) {
            *why = "label runs past the end";
            return GE_ERR_PARSE;
        }
        if (n + l + 2 > size) {
            *why = "question name longer than 255 characters";
            return GE_ERR_PARSE;
        }
        if (n)
            out[n++] = '.';
        for (unsigned i = 0; i < l; i++) {
            uint8_t c = q[o + i];
            /* a dot or a control byte inside a label cannot match any of our names */
            out[n++] = (char)(c < 0x20 || c == '.' || c >= 0x7f ? '?' : c);
        }
        o += l;
    }
    out[n] = '\0';
    *off = o;
    return 0;
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case T_A: return "A";
    case T_PTR: return "PTR";
    case T_TXT: return "TXT";
    case T_SRV: return "SRV";
    case T_ANY: return "ANY";
    default: return "TYPE?";
    }
}

/* NAME is SERVICE or a subtype of it ("_x._sub.SERVICE"). */
static int is_service(const char *name, const char *service)
{
    size_t n = strlen(name), s = strlen(service);

    if (strcasecmp(name, service) == 0)
        return 1;
    return n > s + 6 && strcasecmp(name + n - s, service) == 0 && strncasecmp(name + n - s - 6, "._sub.", 6) == 0 &&
           name[0] != '.';
}

int cf_dnssd_answer(const uint8_t *q, size_t qlen, const cf_dnssd_service_t *svc, uint8_t *out, size_t cap,
                    char *qname, size_t qname_size, char *why, size_t why_size)
{
    const char *service = svc->service ? svc->service : "_smartenergy._tcp.local";
    const char *host = svc->host ? svc->host : "headend.local";
    const char *dcap = svc->dcap ? svc->dcap : "/dcap";
    char name[NAME_MAX_TEXT + 2], instance[NAME_MAX_TEXT + 2], kv[256];
    const char *bad = NULL;
    size_t off = 12, at;
    unsigned qtype, qclass, an = 0;
    int ask_service, ask_instance, ask_host;
    wr_t w = { out, cap, 0, 0 };

    if (qname && qname_size)
        qname[0] = '\0';
    if (why && why_size)
        why[0] = '\0';
    snprintf(instance, sizeof(instance), "%s.%s", svc->instance ? svc->instance : "gridedge head-end", service);
    if (qlen < 12)
        bad = "shorter than a DNS header";
    else if (q[2] & 0x80)
        bad = "a response, not a query";
    else if (q[2] & 0x78)
        bad = "not a standard query (opcode)";
    else if (q[4] != 0 || q[5] != 1)
        bad = "not exactly one question";
    else if (read_qname(q, qlen, &off, name, sizeof(name), &bad) == 0 && off + 4 > qlen)
        bad = "question cut off";
    if (bad) {
        if (why && why_size)
            snprintf(why, why_size, "%s", bad);
        return GE_ERR_PARSE;
    }
    qtype = (unsigned)q[off] << 8 | q[off + 1];
    qclass = ((unsigned)q[off + 2] << 8 | q[off + 3]) & 0x7fff; /* the top bit: mDNS "unicast response" */
    if (qname && qname_size)
        snprintf(qname, qname_size, "%s %s", type_name(qtype), name);
    if (qclass != C_IN && qclass != C_ANY)
        return 0;
    ask_service = is_service(name, service) && (qtype == T_PTR || qtype == T_ANY);
    ask_instance = strcasecmp(name, instance) == 0 && (qtype == T_SRV || qtype == T_TXT || qtype == T_ANY);
    ask_host = strcasecmp(name, host) == 0 && (qtype == T_A || qtype == T_ANY);
    if (!ask_service && !ask_instance && !ask_host)
        return 0;

    /* header: the query's ID and RD, QR and AA set; the question repeated (RFC 6762 §6.7) */
    put(&w, q, 2);
    {
        uint8_t flags[2] = { (uint8_t)(0x84 | (q[2] & 0x01)), 0 };
        put(&w, flags, 2);
    }
    put16(&w, 1);
    put16(&w, 0); /* ANCOUNT, filled below */
    put16(&w, 0);
    put16(&w, 0); /* ARCOUNT, filled below */
    put(&w, q + 12, off + 4 - 12);

    /* answers first (the records asked for), then the rest as additional records */
    for (int pass = 0; pass < 2; pass++) {
        int ptr = ask_service, srv_txt = ask_instance, a = ask_host;
        if (pass == 1) {
            ptr = 0;
            srv_txt = !ask_instance;
            a = !ask_host;
        }
        if (ptr) {
            at = rr_begin(&w, name, T_PTR);
            put_name(&w, instance);
            rr_end(&w, at);
            an++;
        }
        if (srv_txt) {
            at = rr_begin(&w, instance, T_SRV);
            put16(&w, 0); /* priority */
            put16(&w, 0); /* weight */
            put16(&w, svc->port);
            put_name(&w, host);
            rr_end(&w, at);
            at = rr_begin(&w, instance, T_TXT);
            put_txt(&w, "txtvers=1");
            snprintf(kv, sizeof(kv), "dcap=%s", dcap);
            put_txt(&w, kv);
            snprintf(kv, sizeof(kv), "path=%s", dcap);
            put_txt(&w, kv);
            if (svc->https) {
                snprintf(kv, sizeof(kv), "https=%u", (unsigned)svc->port);
                put_txt(&w, kv);
            }
            put_txt(&w, "level=-S1");
            rr_end(&w, at);
            an += 2;
        }
        if (a) {
            at = rr_begin(&w, host, T_A);
            put(&w, svc->ipv4, 4);
            rr_end(&w, at);
            an++;
        }
        if (pass == 0 && !w.full) {
            out[6] = (uint8_t)(an >> 8);
            out[7] = (uint8_t)an;
            an = 0;
        }
    }
    if (w.full)
        return GE_ERR_LIMIT;
    out[10] = (uint8_t)(an >> 8);
    out[11] = (uint8_t)an;
    return (int)w.off;
}

/* ---- the UDP side -------------------------------------------------------------------------------------- */

struct cf_dnssd_responder {
    int fd;
    uint16_t port;
    struct event *ev;
    cf_dnssd_service_t svc;
    cf_dnssd_seen_fn seen;
    void *ud;
};

static void on_datagram(evutil_socket_t fd, short what, void *arg)
{
    cf_dnssd_responder_t *r = arg;
    (void)what;

    /* at most a few datagrams per wake-up, so a flood cannot starve the HTTP side */
    for (int k = 0; k < 16; k++) {
        uint8_t q[CF_DNSSD_MAX_MSG], a[CF_DNSSD_MAX_MSG];
        char qname[300], why[128];
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
        int len;
        if (n < 0)
            return;
        len = cf_dnssd_answer(q, (size_t)n, &r->svc, a, sizeof(a), qname, sizeof(qname), why, sizeof(why));
        if (len > 0)
            (void)sendto(fd, a, (size_t)len, 0, (struct sockaddr *)&from, flen);
        if (r->seen)
            r->seen(r->ud, qname, len > 0 ? 0 : len == 0 ? 1 : -1, len < 0 ? why : "");
    }
}

int cf_dnssd_responder_new(cf_dnssd_responder_t **out, struct event_base *base, const cf_dnssd_service_t *svc,
                           cf_dnssd_seen_fn seen, void *ud)
{
    cf_dnssd_responder_t *r = calloc(1, sizeof(*r));
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    *out = NULL;
    if (!r)
        return GE_ERR_NOMEM;
    r->svc = *svc;
    r->seen = seen;
    r->ud = ud;
    r->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (r->fd < 0) {
        free(r);
        return GE_ERR_IO;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(r->fd, (struct sockaddr *)&sa, &len) < 0 ||
        evutil_make_socket_nonblocking(r->fd) < 0 || evutil_make_socket_closeonexec(r->fd) < 0)
        goto fail;
    r->port = ntohs(sa.sin_port);
    if (!(r->ev = event_new(base, r->fd, EV_READ | EV_PERSIST, on_datagram, r)) || event_add(r->ev, NULL) < 0)
        goto fail;
    *out = r;
    return 0;
fail:
    cf_dnssd_responder_free(r);
    return GE_ERR_IO;
}

uint16_t cf_dnssd_responder_port(const cf_dnssd_responder_t *r)
{
    return r ? r->port : 0;
}

void cf_dnssd_responder_free(cf_dnssd_responder_t *r)
{
    if (!r)
        return;
    if (r->ev)
        event_free(r->ev);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}
