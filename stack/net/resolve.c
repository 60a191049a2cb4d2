/* resolve.c - host name resolution that never blocks the caller's loop (see net_internal.h).
 *
 * The system resolver (getaddrinfo: /etc/hosts, DNS, mDNS, whatever nsswitch says) only comes as
 * a blocking call, so each resolution runs it in a short-lived detached thread of its own.  The
 * thread reports through a pipe whose read end is an ordinary event on the caller's base: a
 * program with its own loop sees it among the fds of ge_net_loop_fds() like any socket, and the
 * timeout like any timer.  Cancelling, or a timeout, only stops waiting: getaddrinfo cannot be
 * interrupted, so the thread finishes in its own time and the last of the two sides to let go of
 * the job (a reference count) closes the pipe and frees it.  Nothing is shared but the job.
 * Why not libevent's evdns: docs/transport.md. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include <gridedge/error.h>

#include "net_internal.h"

/* Resolver threads that may exist at once, process-wide: a resolver that stops answering must
 * not turn every retry into another stuck thread. */
#define MAX_THREADS 16

static atomic_uint g_threads;        /* running now */
static atomic_ulong g_started;       /* ever started */

struct job {
    atomic_int refs;  /* the waiting side and the thread */
    atomic_int done;  /* the thread has written the results */
    int rfd, wfd;     /* the pipe: one byte when done */
    char host[256];
    int rc;           /* getaddrinfo's */
    int sys_errno;    /* with EAI_SYSTEM */
    gnet_addrs_t out;
};

struct gnet_resolve {
    struct job *job;
    struct event *ev; /* read on job->rfd, with the timeout */
    unsigned timeout_ms;
    gnet_resolve_fn cb;
    void *ud;
};

static void job_unref(struct job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    close(j->rfd);
    close(j->wfd);
    free(j);
}

static void keep(gnet_addrs_t *o, const struct sockaddr *sa)
{
    char buf[INET6_ADDRSTRLEN];
    const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                                              : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

    if (o->n >= GNET_MAX_ADDRS || !inet_ntop(sa->sa_family, a, buf, sizeof buf))
        return;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->addr[i], buf) == 0)
            return;
    memcpy(o->addr[o->n++], buf, sizeof buf);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct addrinfo hints, *res = NULL;
    ssize_t w;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    j->rc = getaddrinfo(j->host, NULL, &hints, &res);
    j->sys_errno = errno;
    for (struct addrinfo *ai = res; j->rc == 0 && ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            keep(&j->out, ai->ai_addr);
    if (res)
        freeaddrinfo(res);
    atomic_store(&j->done, 1);
    do
        w = write(j->wfd, "", 1);
    while (w < 0 && errno == EINTR);
    job_unref(j);
    /* counted out last: once gnet_resolve_running() says 0, the job's pipe is closed too */
    atomic_fetch_sub(&g_threads, 1);
    return NULL;
}

static void finish(struct gnet_resolve *r, int err, const char *why)
{
    gnet_resolve_fn cb = r->cb;
    void *ud = r->ud;
    gnet_addrs_t out;

    out = r->job->out;
    gnet_resolve_cancel(r); /* the callback may free its owner */
    cb(ud, err, err ? NULL : &out, why);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    struct gnet_resolve *r = arg;
    struct job *j = r->job;
    char why[400];

    (void)fd;
    if (!(what & EV_READ) || !atomic_load(&j->done)) {
        snprintf(why, sizeof why, "cannot resolve %s: no answer from the system resolver within %u ms",
                 j->host, r->timeout_ms);
        finish(r, GE_ERR_TIMEOUT, why);
        return;
    }
    if (j->rc == 0 && j->out.n > 0) {
        finish(r, 0, NULL);
        return;
    }
    snprintf(why, sizeof why, "cannot resolve %s: %s", j->host,
             j->rc == 0 ? "no IPv4 or IPv6 address" : j->rc == EAI_SYSTEM ? strerror(j->sys_errno) : gai_strerror(j->rc));
    /* "no such name" is an answer; a resolver that failed to answer may do better later */
    finish(r, j->rc == 0 || j->rc == EAI_NONAME
#ifdef EAI_NODATA
                      || j->rc == EAI_NODATA
#endif
                  ? GE_ERR_NOTFOUND
                  : GE_ERR_IO,
           why);
}

int gnet_resolve_start(gnet_resolve_t **out, struct event_base *base, const char *host,
                       unsigned timeout_ms, gnet_resolve_fn cb, void *ud)
{
    struct gnet_resolve *r;
    struct job *j;
    int fds[2];
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, old;
    struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)((timeout_ms % 1000) * 1000) };
    int rc;

    if (!out || !base || !host || !*host || strlen(host) >= sizeof j->host || !cb)
        return GE_ERR_INVALID;
    *out = NULL;
    if (atomic_fetch_add(&g_threads, 1) >= MAX_THREADS) {
        atomic_fetch_sub(&g_threads, 1);
        return GE_ERR_LIMIT;
    }
    r = calloc(1, sizeof *r);
    j = calloc(1, sizeof *j);
    rc = !r || !j ? GE_ERR_NOMEM : pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0 ? GE_ERR_IO : 0;
    if (rc) {
        atomic_fetch_sub(&g_threads, 1);
        free(r);
        free(j);
        return rc;
    }
    j->rfd = fds[0];
    j->wfd = fds[1];
    atomic_init(&j->refs, 1);
    memcpy(j->host, host, strlen(host) + 1);
    r->job = j;
    r->timeout_ms = timeout_ms;
    r->cb = cb;
    r->ud = ud;
    r->ev = event_new(base, j->rfd, EV_READ, on_ready, r);
    if (!r->ev || event_add(r->ev, &tv) != 0) {
        atomic_fetch_sub(&g_threads, 1);
        gnet_resolve_cancel(r);
        return GE_ERR_NOMEM;
    }
    /* The thread takes its reference before it exists; it blocks every signal, so that signals
     * meant for the program reach the threads that expect them. */
    atomic_fetch_add(&j->refs, 1);
    sigfillset(&all);
    rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = pthread_create(&th, &attr, worker, j);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        atomic_fetch_sub(&j->refs, 1);
        atomic_fetch_sub(&g_threads, 1);
        gnet_resolve_cancel(r);
        return rc == EAGAIN ? GE_ERR_LIMIT : GE_ERR_NOMEM;
    }
    atomic_fetch_add(&g_started, 1);
    *out = r;
    return 0;
}

void gnet_resolve_cancel(gnet_resolve_t *r)
{
    if (!r)
        return;
    if (r->ev)
        event_free(r->ev);
    job_unref(r->job);
    free(r);
}

unsigned long gnet_resolve_started(void)
{
    return atomic_load(&g_started);
}

unsigned gnet_resolve_running(void)
{
    return atomic_load(&g_threads);
}

int gnet_numeric_host(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];

    return host && (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1);
}
