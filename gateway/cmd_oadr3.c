/* cmd_oadr3.c - `gridedge oadr run --version 3.0` (CLI-CONTRACT.md): the OpenADR 3.0 VEN driving a
 * site.  gateway/cmd_oadr.c parses the options and calls gw_cmd_oadr3_run(). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/error.h>

#include "gateway/cli.h"
#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"
#include "gateway/site.h"
#include "gateway/store.h"

#define TICK_S 0.25
#define STOP_GRACE_S 2.0 /* at most this long to delete the subscriptions when stopping */

typedef struct oadr3_run {
    struct event_base *base;
    gw_oadr3_link_t *link;
    gw_site_t *site;
    gw_signals_t sig;
    double deadline;   /* 0: run until a signal */
    double stop_by;    /* stopping: give up on the goodbyes by then */
} oadr3_run_t;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    oadr3_run_t *r = arg;
    double now = gw_now();
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    size_t n = 0;
    (void)fd;
    (void)what;

    if (!r->stop_by && (r->sig.stop || (r->deadline && now >= r->deadline))) {
        r->stop_by = now + STOP_GRACE_S;
        gw_oadr3_link_shutdown(r->link);
    }
    if (r->stop_by && (now >= r->stop_by || gw_oadr3_link_done(r->link))) {
        event_base_loopbreak(r->base);
        return;
    }
    gw_oadr3_link_pump(r->link, now);
    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    if (gw_oadr3_link_control(r->link, now, &in.simple_level, &in.has_price, &in.price, &sp, controls,
                              GW_STATUS_MAX_CONTROLS, &n) == 0) {
        in.controls = controls;
        in.n_controls = n;
        in.utility = sp.set ? &sp : NULL;
    }
    in.server_time = gw_oadr3_link_server_time(r->link, now);
    gw_site_tick(r->site, now, &in);
    gw_oadr3_link_telemetry(r->link, gw_site_status(r->site));
}

/* Subscriptions need the VTN to reach our webhook on 127.0.0.1: only for a VTN on this machine. */
static int vtn_is_local(const char *url)
{
    return strncmp(url, "http://127.0.0.1:", 17) == 0 || strncmp(url, "http://127.0.0.1/", 17) == 0 ||
           strncmp(url, "http://localhost:", 17) == 0 || strncmp(url, "http://localhost/", 17) == 0;
}

int gw_cmd_oadr3_run(const gw_oadr3_run_opts_t *o)
{
    ge_log_t log = { gw_log_stderr, NULL, o->verbose ? GE_LOG_INFO : GE_LOG_WARN };
    gw_oadr3_opts_t lo;
    gw_site_opts_t site_opts;
    gw_store_t *store = NULL;
    oadr3_run_t run;
    struct event *tick = NULL;
    struct timeval period = { 0, (long)(TICK_S * 1e6) };
    char err[512];
    int exit_code = GW_EXIT_OK;

    if (strncmp(o->url, "https://", 8) == 0 || o->ca) {
        fprintf(stderr, "gridedge oadr: TLS for OpenADR 3.0 is not built yet; use an http:// VTN URL\n");
        return GW_EXIT_FAIL;
    }
    memset(&lo, 0, sizeof(lo));
    lo.url = o->url;
    lo.ven_name = o->ven_name;
    lo.token = o->token;
    lo.client_id = o->client_id;
    lo.client_secret = o->client_secret;
    lo.webhook = vtn_is_local(o->url);
    lo.seed = o->seed;
    lo.log = &log;
    memset(&site_opts, 0, sizeof(site_opts));
    ge_policy_config_default(&site_opts.policy);
    site_opts.adapter = o->adapter ? o->adapter : "sim";
    site_opts.adapter_config = o->adapter_config;
    site_opts.status_file = o->status_file;
    site_opts.log = &log;

    memset(&run, 0, sizeof(run));
    /* the state dir holds the site's store like the other clients'; the 3.0 VEN finds its
     * registration on the VTN by venName, so it keeps nothing of its own there yet */
    if (o->state_dir && gw_store_open(&store, o->state_dir, NULL, &log) < 0) {
        fprintf(stderr, "gridedge oadr: cannot open the state in %s\n", o->state_dir);
        return GW_EXIT_FAIL;
    }
    run.base = event_base_new();
    if (!run.base) {
        gw_store_close(store);
        fprintf(stderr, "gridedge oadr: cannot create the event loop\n");
        return GW_EXIT_FAIL;
    }
    if (gw_site_new(&run.site, &site_opts, gw_now(), err, sizeof(err)) < 0 ||
        gw_oadr3_link_new(&run.link, run.base, &lo, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge oadr: %s\n", err);
        exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (gw_signals_init(&run.sig, run.base) < 0 || !(tick = event_new(run.base, -1, EV_PERSIST, on_tick, &run))) {
        fprintf(stderr, "gridedge oadr: cannot set up the event loop\n");
        exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (o->duration > 0)
        run.deadline = gw_now() + o->duration;
    event_add(tick, &period);
    on_tick(-1, 0, &run);
    event_base_dispatch(run.base);
    gw_site_flush(run.site);
out:
    if (tick)
        event_free(tick);
    gw_signals_free(&run.sig);
    gw_oadr3_link_free(run.link);
    gw_site_free(run.site);
    event_base_free(run.base);
    gw_store_close(store);
    return exit_code;
}
