/* net_loop.c - the transport driven from the caller's own event loop (see gridedge/net.h).
 *
 * The loop owns a libevent base that it never blocks in.  ge_net_loop_fds() reports what that
 * base waits for: the sockets of its pending read/write events (merged per fd) and the earliest
 * timer, read with event_base_foreach_event() and event_pending().  ge_net_loop_process() runs
 * one non-blocking pass of the base (EVLOOP_NONBLOCK | EVLOOP_ONCE): the backend polls with a
 * zero timeout, so it sees the same readiness the caller's wait saw. */
#include "config.h"

#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/error.h>
#include <gridedge/net.h>

#define MOD "net"

struct ge_net_loop {
    struct event_base *base;
    struct event *probe;   /* a private timer that reads "now" on the base's own clock */
    ge_log_t log;
    struct pollfd *seen;   /* scratch: one entry per pending I/O event, before merging */
    size_t nseen, cap;
    int nomem;
    struct timeval first;  /* the earliest timer expiry (base clock as event_pending gives it) */
    int have_first;
};

int ge_net_loop_new(ge_net_loop_t **out, const ge_log_t *log)
{
    struct ge_net_loop *l;

    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    l = calloc(1, sizeof *l);
    if (!l)
        return GE_ERR_NOMEM;
    if (log)
        l->log = *log;
    l->base = event_base_new();
    l->probe = l->base ? evtimer_new(l->base, NULL, NULL) : NULL;
    if (!l->probe) {
        ge_log(&l->log, GE_LOG_ERROR, MOD, "cannot create an event base");
        if (l->base)
            event_base_free(l->base);
        free(l);
        return GE_ERR_NOMEM;
    }
    *out = l;
    return 0;
}

void ge_net_loop_free(ge_net_loop_t *l)
{
    if (!l)
        return;
    event_free(l->probe);
    event_base_free(l->base);
    free(l->seen);
    free(l);
}

struct event_base *ge_net_loop_base(ge_net_loop_t *l)
{
    return l ? l->base : NULL;
}

static int collect(const struct event_base *base, const struct event *ev, void *arg)
{
    struct ge_net_loop *l = arg;
    struct timeval tv;
    short io;

    (void)base;
    if (ev == l->probe)
        return 0;
    io = (short)event_pending(ev, EV_READ | EV_WRITE | EV_CLOSED, NULL);
    if (io && event_get_fd(ev) >= 0) {
        if (l->nseen == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 32;
            struct pollfd *p = realloc(l->seen, cap * sizeof *p);

            if (!p) {
                l->nomem = 1;
                return 1; /* stops the walk */
            }
            l->seen = p;
            l->cap = cap;
        }
        l->seen[l->nseen].fd = event_get_fd(ev);
        /* EV_CLOSED (peer hang-up) shows as readability in poll() everywhere. */
        l->seen[l->nseen].events = (short)(((io & (EV_READ | EV_CLOSED)) ? POLLIN : 0) |
                                           ((io & EV_WRITE) ? POLLOUT : 0));
        l->seen[l->nseen].revents = 0;
        l->nseen++;
    }
    if (event_pending(ev, EV_TIMEOUT, &tv) &&
        (!l->have_first || evutil_timercmp(&tv, &l->first, <))) {
        l->first = tv;
        l->have_first = 1;
    }
    return 0;
}

static int by_fd(const void *a, const void *b)
{
    const struct pollfd *x = a, *y = b;

    return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Milliseconds until l->first, rounded up (waking early would only cost an idle pass). */
static int ms_until_first(struct ge_net_loop *l, const struct timeval *now)
{
    struct timeval d;
    long long ms;

    if (!evutil_timercmp(&l->first, now, >))
        return 0;
    evutil_timersub(&l->first, now, &d);
    ms = (long long)d.tv_sec * 1000 + (d.tv_usec + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int ge_net_loop_fds(ge_net_loop_t *l, struct pollfd *out, size_t max, int *timeout_ms)
{
    struct timeval zero = { 0, 0 }, now;
    size_t n = 0;

    if (!l || (max && !out) || !timeout_ms)
        return GE_ERR_INVALID;
    l->nseen = 0;
    l->nomem = 0;
    l->have_first = 0;
    /* event_pending() reports expiries as the base's monotonic time plus an offset to the wall
     * clock that the base re-learns now and then; a timer added now, with no delay, reads "now"
     * with that same offset, so the difference is exact whatever the wall clock does.  It is
     * added before the walk so that one offset serves both. */
    if (evtimer_add(l->probe, &zero) != 0)
        return GE_ERR_INTERNAL;
    event_base_foreach_event(l->base, collect, l);
    if (!event_pending(l->probe, EV_TIMEOUT, &now))
        evutil_gettimeofday(&now, NULL);
    evtimer_del(l->probe);
    if (l->nomem)
        return GE_ERR_NOMEM;
    /* A bufferevent has a read and a write event on the same socket: one pollfd for both. */
    if (l->nseen > 1)
        qsort(l->seen, l->nseen, sizeof *l->seen, by_fd);
    for (size_t i = 0; i < l->nseen; i++) {
        if (n > 0 && i > 0 && l->seen[i].fd == l->seen[i - 1].fd) {
            if (n <= max)
                out[n - 1].events |= l->seen[i].events;
            continue;
        }
        if (n < max)
            out[n] = l->seen[i];
        n++;
    }
    /* Callbacks already made active (deferred bufferevent callbacks, a reply queued from a
     * handler) must run without waiting for any fd. */
    if (event_base_get_num_events(l->base, EVENT_BASE_COUNT_ACTIVE) > 0)
        *timeout_ms = 0;
    else
        *timeout_ms = l->have_first ? ms_until_first(l, &now) : -1;
    return n > INT_MAX ? INT_MAX : (int)n;
}

int ge_net_loop_process(ge_net_loop_t *l)
{
    if (!l)
        return GE_ERR_INVALID;
    /* 1 means "no events at all", which is not an error for us. */
    if (event_base_loop(l->base, EVLOOP_NONBLOCK | EVLOOP_ONCE) < 0) {
        ge_log(&l->log, GE_LOG_ERROR, MOD, "the event backend failed");
        return GE_ERR_IO;
    }
    return 0;
}
