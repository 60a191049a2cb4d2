/* client_run.h - the run loop that `sep run` and `oadr run` (2.0b and 3.0) share around their
 * link: the state store, the site, SIGTERM/SIGINT, --duration, and a tick every quarter second. */
#ifndef GATEWAY_CLIENT_RUN_H
#define GATEWAY_CLIENT_RUN_H

#include <gridedge/log.h>

#include "gateway/site.h"
#include "gateway/store.h"

struct event_base;

typedef struct gw_client_run {
    const char *name;           /* "sep", "oadr": "gridedge NAME: ..." in messages */
    const char *state_dir;      /* NULL: no store */
    const gw_site_opts_t *site; /* the site's options (its log is LOG); NULL: none (tick gets NULL:
                                 * the link runs sites of its own, as an aggregator does) */
    double duration;            /* seconds, 0: until SIGTERM/SIGINT */
    const ge_log_t *log;
    void *link;                 /* the caller's, made by link_new */
    /* Make the link once the loop and the store (NULL without a state dir) exist: 0, or < 0 with
     * a message in ERR. */
    int (*link_new)(struct gw_client_run *r, struct event_base *base, gw_store_t *store, char *err, size_t errlen);
    void (*link_free)(void *link);
    /* One tick at NOW: pump the link, tick SITE with what it asks for, hand the device back.
     * Returns a fatal error's message (the run stops, exit 1), or NULL. */
    const char *(*tick)(void *link, gw_site_t *site, double now);
    /* Optional: asked to stop (a signal or --duration) at NOW; the loop goes on ticking until
     * done() says the link is done or GRACE seconds have passed. */
    void (*shutdown)(void *link);
    int (*done)(void *link);
    double grace;
} gw_client_run_t;

/* Run until a signal, --duration or a fatal error; returns the exit code (GW_EXIT_*). */
int gw_client_run(gw_client_run_t *r);

#endif
