/* daemon.c - logging, clock and signals for the long-running subcommands (see daemon.h). */
#include "config.h"

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "gateway/daemon.h"

void gw_log_stderr(void *ud, ge_log_level level, const char *module, const char *msg)
{
    (void)ud;
    fprintf(stderr, "gridedge: %s: %s: %s\n", module, ge_log_level_name(level), msg);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int gw_rm_tree(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

double gw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    gw_signals_t *s = arg;
    (void)sig;
    (void)what;
    s->stop = 1;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    gw_signals_t *s = arg;
    (void)sig;
    (void)what;
    s->reload = 1;
}

int gw_signals_init(gw_signals_t *s, struct event_base *base)
{
    memset(s, 0, sizeof(*s));
    signal(SIGPIPE, SIG_IGN);
    s->term = evsignal_new(base, SIGTERM, on_stop, s);
    s->intr = evsignal_new(base, SIGINT, on_stop, s);
    s->hup = evsignal_new(base, SIGHUP, on_hup, s);
    if (!s->term || !s->intr || !s->hup || evsignal_add(s->term, NULL) < 0 || evsignal_add(s->intr, NULL) < 0 ||
        evsignal_add(s->hup, NULL) < 0) {
        gw_signals_free(s);
        return -1;
    }
    return 0;
}

void gw_signals_free(gw_signals_t *s)
{
    if (s->term)
        event_free(s->term);
    if (s->intr)
        event_free(s->intr);
    if (s->hup)
        event_free(s->hup);
    s->term = s->intr = s->hup = NULL;
}
