/* client_run.c - the run loop of `sep run` and `oadr run` (see client_run.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "gateway/cli.h"
#include "gateway/client_run.h"
#include "gateway/daemon.h"

#define TICK_S 0.25

typedef struct loop {
    gw_client_run_t *r;
    struct event_base *base;
    gw_site_t *site;
    gw_signals_t sig;
    double deadline; /* 0: until a signal */
    double stop_by;  /* stopping: the end of the grace */
    int exit_code;
} loop_t;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    loop_t *lp = arg;
    gw_client_run_t *r = lp->r;
    double now = gw_now();
    const char *fatal;
    (void)fd;
    (void)what;

    if (!lp->stop_by && (lp->sig.stop || (lp->deadline && now >= lp->deadline))) {
        lp->stop_by = now + (r->shutdown ? r->grace : 0);
        if (r->shutdown)
            r->shutdown(r->link);
    }
    if (lp->stop_by && (now >= lp->stop_by || !r->done || r->done(r->link))) {
        event_base_loopbreak(lp->base);
        return;
    }
    if ((fatal = r->tick(r->link, lp->site, now)) != NULL) {
        fprintf(stderr, "gridedge %s: %s\n", r->name, fatal);
        lp->exit_code = GW_EXIT_FAIL;
        event_base_loopbreak(lp->base);
    }
}

int gw_client_run(gw_client_run_t *r)
{
    loop_t lp;
    gw_store_t *store = NULL;
    struct event *tick = NULL;
    struct timeval period = { 0, (long)(TICK_S * 1e6) };
    char err[512];

    memset(&lp, 0, sizeof(lp));
    lp.r = r;
    lp.exit_code = GW_EXIT_OK;
    if (r->state_dir && gw_store_open(&store, r->state_dir, NULL, r->log) < 0) {
        fprintf(stderr, "gridedge %s: cannot open the state in %s\n", r->name, r->state_dir);
        return GW_EXIT_FAIL;
    }
    lp.base = event_base_new();
    if (!lp.base) {
        gw_store_close(store);
        fprintf(stderr, "gridedge %s: cannot create the event loop\n", r->name);
        return GW_EXIT_FAIL;
    }
    if ((r->site && gw_site_new(&lp.site, r->site, gw_now(), err, sizeof(err)) < 0) ||
        r->link_new(r, lp.base, store, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge %s: %s\n", r->name, err);
        lp.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (gw_signals_init(&lp.sig, lp.base) < 0 || !(tick = event_new(lp.base, -1, EV_PERSIST, on_tick, &lp))) {
        fprintf(stderr, "gridedge %s: cannot set up the event loop\n", r->name);
        lp.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (r->duration > 0)
        lp.deadline = gw_now() + r->duration;
    event_add(tick, &period);
    on_tick(-1, 0, &lp);
    event_base_dispatch(lp.base);
    if (lp.site)
        gw_site_flush(lp.site);
out:
    if (tick)
        event_free(tick);
    gw_signals_free(&lp.sig);
    if (r->link)
        r->link_free(r->link);
    r->link = NULL;
    gw_site_free(lp.site);
    event_base_free(lp.base);
    gw_store_close(store);
    return lp.exit_code;
}
