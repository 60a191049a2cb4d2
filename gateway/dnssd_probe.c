/* dnssd_probe.c - DNS-SD discovery over UDP (see dnssd_probe.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gridedge/error.h>

#include "gateway/daemon.h"
#include "gateway/dnssd_probe.h"

static int parse_dest(const char *dest, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(dest, ':');
    char *end;
    unsigned long port;

    if (!colon || (size_t)(colon - dest) >= sizeof(host))
        return GE_ERR_INVALID;
    memcpy(host, dest, (size_t)(colon - dest));
    host[colon - dest] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535)
        return GE_ERR_INVALID;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : GE_ERR_INVALID;
}

int gw_dnssd_discover(const char *dest, double timeout_s, sep_dnssd_result_t *out, const ge_log_t *log)
{
    struct sockaddr_in sa;
    uint8_t q[512], ans[9000];
    double start = gw_now(), last_answer = 0, next_send = start;
    int fd, qlen, sends = 0;
    unsigned char ttl = 255;

    if (!dest)
        dest = GW_DNSSD_MDNS;
    memset(out, 0, sizeof(*out));
    if (parse_dest(dest, &sa) < 0)
        return GE_ERR_INVALID;
    qlen = sep_dnssd_query(q, sizeof(q), 0, NULL);
    if (qlen < 0)
        return qlen;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return GE_ERR_IO;
    if (IN_MULTICAST(ntohl(sa.sin_addr.s_addr)))
        (void)setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
    for (;;) {
        double now = gw_now();
        struct pollfd pfd = { fd, POLLIN, 0 };
        int wait_ms;
        if (now - start >= timeout_s || (sep_dnssd_best(out) && last_answer && now - last_answer >= 0.3))
            break;
        if (sends < 3 && now >= next_send) {
            if (sendto(fd, q, (size_t)qlen, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                ge_log(log, GE_LOG_WARN, "dnssd", "query to %s: %s", dest, strerror(errno));
            sends++;
            next_send = now + 1.0;
        }
        wait_ms = (int)(1000 * (sends < 3 ? next_send - now : start + timeout_s - now));
        if (wait_ms > 100)
            wait_ms = 100;
        if (poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms) > 0) {
            char why[160];
            ssize_t n = recv(fd, ans, sizeof(ans), 0);
            if (n <= 0)
                continue;
            if (sep_dnssd_parse(ans, (size_t)n, NULL, out, why, sizeof(why)) < 0)
                ge_log(log, GE_LOG_WARN, "dnssd", "malformed answer from %s (%zd bytes): %s; skipped", dest, n, why);
            else
                last_answer = gw_now();
        }
    }
    close(fd);
    return 0;
}
