/* test_dnssd.c - DNS-SD discovery of an IEEE 2030.5 server: the query on the wire, the answer
 * parser (compression, records across datagrams, malformed answers), and `gridedge sep discover` /
 * `sep run` without --server against a responder on 127.0.0.1. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gridedge/error.h>
#include <gridedge/sep_dnssd.h>

#include "proc.h"
#include "runner.h"

/* ---- building answers --------------------------------------------------------------------------------- */

typedef struct msg {
    uint8_t b[1500];
    size_t n;
} msg_t;

static void put8(msg_t *m, unsigned v)
{
    m->b[m->n++] = (uint8_t)v;
}

static void put16(msg_t *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

/* A name as labels; "@N" as the last label is a compression pointer to offset N. */
static void name(msg_t *m, const char *dotted)
{
    const char *p = dotted;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (p[0] == '@') {
            put16(m, 0xC000u | (unsigned)atoi(p + 1));
            return;
        }
        put8(m, (unsigned)n);
        memcpy(m->b + m->n, p, n);
        m->n += n;
        p += n + (dot ? 1 : 0);
    }
    put8(m, 0);
}

static void header(msg_t *m, unsigned an)
{
    m->n = 0;
    put16(m, 0);
    put16(m, 0x8400); /* response, authoritative */
    put16(m, 0);
    put16(m, an);
    put16(m, 0);
    put16(m, 0);
}

/* Record header for OWNER of TYPE; returns where RDLENGTH goes (filled by rr_end). */
static size_t rr(msg_t *m, const char *owner, unsigned type)
{
    name(m, owner);
    put16(m, type);
    put16(m, 0x8001);
    put16(m, 0);
    put16(m, 120);
    put16(m, 0);
    return m->n;
}

static void rr_end(msg_t *m, size_t at)
{
    size_t len = m->n - at;
    m->b[at - 2] = (uint8_t)(len >> 8);
    m->b[at - 1] = (uint8_t)len;
}

static void txt(msg_t *m, const char *s)
{
    put8(m, (unsigned)strlen(s));
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
}

/* The full answer of a server "Head end" at he.local = 127.0.0.1, HTTP port HTTP_PORT, TLS port
 * HTTPS_PORT (0: none), DeviceCapability at /sep/dcap; names compressed after their first use. */
static void full_answer(msg_t *m, unsigned http_port, unsigned https_port)
{
    size_t at, svc, inst;

    header(m, 4);
    svc = m->n;
    at = rr(m, "_smartenergy._tcp.local", 12);
    inst = m->n;
    put8(m, 8);
    memcpy(m->b + m->n, "Head end", 8);
    m->n += 8;
    put16(m, 0xC000u | (unsigned)svc);
    rr_end(m, at);
    {
        char ptr[16];
        snprintf(ptr, sizeof(ptr), "@%zu", inst);
        at = rr(m, ptr, 33);
    }
    put16(m, 0);
    put16(m, 0);
    put16(m, http_port);
    name(m, "he.local");
    rr_end(m, at);
    {
        char ptr[16];
        snprintf(ptr, sizeof(ptr), "@%zu", inst);
        at = rr(m, ptr, 16);
    }
    txt(m, "txtvers=1");
    txt(m, "dcap=/sep/dcap");
    if (https_port) {
        char h[32];
        snprintf(h, sizeof(h), "https=%u", https_port);
        txt(m, h);
    }
    txt(m, "level=-S1");
    rr_end(m, at);
    at = rr(m, "he.local", 1);
    put8(m, 127);
    put8(m, 0);
    put8(m, 0);
    put8(m, 1);
    rr_end(m, at);
}

/* ---- the parser ---------------------------------------------------------------------------------------- */

static void test_query(void)
{
    uint8_t q[128];
    static const uint8_t want[] = { 0x00, 0x07, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 12, '_', 's', 'm', 'a', 'r', 't',
                                    'e', 'n', 'e', 'r', 'g', 'y', 4, '_', 't', 'c', 'p', 5, 'l', 'o', 'c', 'a',
                                    'l', 0, 0, 12, 0x80, 1 };
    int n = sep_dnssd_query(q, sizeof(q), 7, NULL);

    CU_ASSERT_EQUAL_FATAL(n, (int)sizeof(want));
    CU_ASSERT_EQUAL(memcmp(q, want, sizeof(want)), 0);
    CU_ASSERT_EQUAL(sep_dnssd_query(q, 20, 7, NULL), GE_ERR_LIMIT);
    CU_ASSERT_EQUAL(sep_dnssd_query(q, sizeof(q), 7, "a..b"), GE_ERR_INVALID);
}

static void test_parse_full(void)
{
    static sep_dnssd_result_t r;
    msg_t m;
    char why[160];
    const sep_dnssd_server_t *s;

    full_answer(&m, 8080, 8443);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL_FATAL(sep_dnssd_parse(m.b, m.n, NULL, &r, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    s = sep_dnssd_best(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s->instance, "Head end._smartenergy._tcp.local");
    CU_ASSERT_STRING_EQUAL(s->host, "he.local");
    CU_ASSERT_EQUAL(s->port, 8080);
    CU_ASSERT_EQUAL(s->https_port, 8443);
    CU_ASSERT_STRING_EQUAL(s->dcap, "/sep/dcap");
    CU_ASSERT_STRING_EQUAL(s->url, "https://127.0.0.1:8443/sep/dcap");

    /* without https= the plain port is used */
    full_answer(&m, 8080, 0);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(sep_dnssd_parse(m.b, m.n, NULL, &r, why, sizeof(why)), 0);
    CU_ASSERT_STRING_EQUAL(r.servers[0].url, "http://127.0.0.1:8080/sep/dcap");
}

/* The host's address in one datagram, the service records in the next. */
static void test_parse_split(void)
{
    static sep_dnssd_result_t r;
    msg_t a, m;
    char why[160];
    size_t at;

    header(&a, 1);
    at = rr(&a, "he.local", 1);
    put8(&a, 10);
    put8(&a, 1);
    put8(&a, 2);
    put8(&a, 3);
    rr_end(&a, at);
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(sep_dnssd_parse(a.b, a.n, NULL, &r, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NULL(sep_dnssd_best(&r));
    full_answer(&m, 80, 443);
    /* drop the A record of the full answer (the last 4 + header bytes): count 3 */
    m.b[7] = 3;
    CU_ASSERT_EQUAL(sep_dnssd_parse(m.b, m.n, NULL, &r, why, sizeof(why)), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sep_dnssd_best(&r));
    CU_ASSERT_STRING_EQUAL(sep_dnssd_best(&r)->url, "https://10.1.2.3:443/sep/dcap");
}

static void expect_bad(const uint8_t *b, size_t n, const char *what)
{
    static sep_dnssd_result_t r;
    char why[160];
    int rc;

    memset(&r, 0, sizeof(r));
    rc = sep_dnssd_parse(b, n, NULL, &r, why, sizeof(why));
    if (rc != GE_ERR_PARSE)
        fprintf(stderr, "%s: rc %d\n", what, rc);
    CU_ASSERT_EQUAL(rc, GE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "offset "));
}

static void test_parse_malformed(void)
{
    msg_t m, t;
    size_t at;

    full_answer(&m, 8080, 8443);
    /* every truncation is refused cleanly */
    for (size_t n = 0; n < m.n; n++) {
        static sep_dnssd_result_t r;
        char why[160];
        memset(&r, 0, sizeof(r));
        int rc = sep_dnssd_parse(m.b, n, NULL, &r, why, sizeof(why));
        CU_ASSERT(rc == GE_ERR_PARSE);
    }
    expect_bad(m.b, 5, "short header");
    /* a query is not an answer */
    t = m;
    t.b[2] = 0;
    expect_bad(t.b, t.n, "query");
    /* a pointer to itself */
    header(&t, 1);
    put16(&t, 0xC000u | 12);
    expect_bad(t.b, t.n, "loop");
    /* a pointer forward */
    header(&t, 1);
    put16(&t, 0xC000u | 200);
    expect_bad(t.b, t.n, "forward");
    /* a label type that does not exist */
    header(&t, 1);
    put8(&t, 0x80);
    expect_bad(t.b, t.n, "label type");
    /* record data longer than the message */
    header(&t, 1);
    at = rr(&t, "he.local", 1);
    put8(&t, 1);
    t.b[at - 1] = 40;
    expect_bad(t.b, t.n, "rdlength");
    /* an A record of 3 bytes */
    header(&t, 1);
    at = rr(&t, "he.local", 1);
    put8(&t, 1);
    put8(&t, 2);
    put8(&t, 3);
    rr_end(&t, at);
    expect_bad(t.b, t.n, "A length");
    /* a name longer than 255 bytes */
    header(&t, 1);
    for (int i = 0; i < 5; i++) {
        put8(&t, 60);
        memset(t.b + t.n, 'a', 60);
        t.n += 60;
    }
    put8(&t, 0);
    expect_bad(t.b, t.n, "long name");
}

/* ---- over the network ---------------------------------------------------------------------------------- */

typedef struct responder {
    int fd;
    unsigned port;
    int queries;
    volatile int stop;
} responder_t;

static void *respond(void *arg)
{
    responder_t *rs = arg;
    msg_t m;

    full_answer(&m, 9, 0); /* http://127.0.0.1:9/sep/dcap: nothing listens there */
    while (!rs->stop) {
        struct pollfd p = { rs->fd, POLLIN, 0 };
        uint8_t q[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n;
        if (poll(&p, 1, 100) <= 0)
            continue;
        n = recvfrom(rs->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 12 || (q[2] & 0x80))
            continue;
        rs->queries++;
        (void)sendto(rs->fd, m.b, m.n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

static int responder_start(responder_t *rs, pthread_t *th)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);

    memset(rs, 0, sizeof(*rs));
    rs->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (rs->fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(rs->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(rs->fd, (struct sockaddr *)&sa, &sl) < 0)
        return -1;
    rs->port = ntohs(sa.sin_port);
    return pthread_create(th, NULL, respond, rs);
}

static void test_discover_command(void)
{
    responder_t rs;
    pthread_t th;
    char dest[32];
    proc_result_t r;

    CU_ASSERT_EQUAL_FATAL(responder_start(&rs, &th), 0);
    snprintf(dest, sizeof(dest), "127.0.0.1:%u", rs.port);
    {
        char *argv[] = { (char *)proc_gridedge(), "sep", "discover", "--dnssd", dest, "--timeout", "5", NULL };
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 20000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_STRING_EQUAL(r.out, "http://127.0.0.1:9/sep/dcap\tHead end._smartenergy._tcp.local\n");
        proc_result_free(&r);
    }
    {
        /* sep run without --server finds the server the same way and goes there */
        char *argv[] = { (char *)proc_gridedge(), "sep", "run", "--dnssd", dest, "--lfdi",
                         "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", "--duration", "2", "--verbose", NULL };
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 30000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "DNS-SD: Head end._smartenergy._tcp.local at http://127.0.0.1:9/sep/dcap"));
        proc_result_free(&r);
    }
    rs.stop = 1;
    pthread_join(th, NULL);
    close(rs.fd);
    CU_ASSERT(rs.queries >= 2);
}

/* Nobody answers: a clear error, exit 1, within the timeout. */
static void test_discover_nobody(void)
{
    responder_t rs;
    pthread_t th;
    char dest[32];
    proc_result_t r;

    CU_ASSERT_EQUAL_FATAL(responder_start(&rs, &th), 0);
    rs.stop = 1; /* bound, but never answers */
    pthread_join(th, NULL);
    snprintf(dest, sizeof(dest), "127.0.0.1:%u", rs.port);
    char *argv[] = { (char *)proc_gridedge(), "sep", "discover", "--dnssd", dest, "--timeout", "1", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 20000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no IEEE 2030.5 server answered"));
    proc_result_free(&r);
    /* sep run without --server and nobody answering: a clear error, exit 1 */
    char *run[] = { (char *)proc_gridedge(), "sep", "run", "--dnssd", dest, "--lfdi",
                    "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(run, NULL, 30000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no --server given and no IEEE 2030.5 server answered DNS-SD"));
    proc_result_free(&r);
    char *bad[] = { (char *)proc_gridedge(), "sep", "discover", "--dnssd", "nowhere", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(bad, NULL, 20000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    proc_result_free(&r);
    close(rs.fd);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "query", test_query },
        { "answer with compression", test_parse_full },
        { "records across datagrams", test_parse_split },
        { "malformed answers", test_parse_malformed },
        { "sep discover / sep run via DNS-SD", test_discover_command },
        { "nobody answers", test_discover_nobody },
        { NULL, NULL },
    };
    return test_add_suite("dnssd", cases);
}
