/* cmd_oadr3.c - `gridedge oadr run --version 3.0` (CLI-CONTRACT.md): the OpenADR 3.0 VEN driving a
 * site.  gateway/cmd_oadr.c parses the options and calls gw_cmd_oadr3_run(). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/error.h>

#include "gateway/cli.h"
#include "gateway/client_run.h"
#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"
#include "gateway/site.h"
#include "gateway/store.h"
#include "gateway/url.h"

#define STOP_GRACE_S 2.0 /* at most this long to delete the subscriptions when stopping */

/* One tick: the link's exchanges, the site driven by the events in force, telemetry for reports. */
static const char *oadr3_tick(void *link, gw_site_t *site, double now)
{
    gw_oadr3_link_t *l = link;
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    size_t n = 0;
    const char *fatal;

    if ((fatal = gw_oadr3_link_fatal(l)) != NULL)
        return fatal;
    gw_oadr3_link_pump(l, now);
    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    if (gw_oadr3_link_control(l, now, &in.simple_level, &in.has_price, &in.price, &sp, controls,
                              GW_STATUS_MAX_CONTROLS, &n) == 0) {
        in.controls = controls;
        in.n_controls = n;
        in.utility = sp.set ? &sp : NULL;
    }
    in.server_time = gw_oadr3_link_server_time(l, now);
    gw_site_tick(site, now, &in);
    gw_oadr3_link_telemetry(l, gw_site_status(site));
    return NULL;
}

typedef struct oadr3_run {
    gw_client_run_t run;
    const gw_oadr3_opts_t *lo;
} oadr3_run_t;

/* The state dir holds the site's store like the other clients'; the 3.0 VEN finds its
 * registration on the VTN by venName, so it keeps nothing of its own there yet. */
static int oadr3_link_new(gw_client_run_t *r, struct event_base *base, gw_store_t *store, char *err, size_t errlen)
{
    gw_oadr3_link_t *l = NULL;
    int rc;

    (void)store;
    rc = gw_oadr3_link_new(&l, base, ((oadr3_run_t *)r)->lo, err, errlen);
    r->link = l;
    return rc;
}

static void oadr3_link_free(void *link)
{
    gw_oadr3_link_free(link);
}

static void oadr3_shutdown(void *link)
{
    gw_oadr3_link_shutdown(link);
}

static int oadr3_done(void *link)
{
    return gw_oadr3_link_done(link);
}

/* Subscriptions need the VTN to reach our webhook (plain HTTP on 127.0.0.1): only for a VTN on
 * this machine. */
static int vtn_is_local(const char *url)
{
    gw_url_t u;

    return gw_url_parse(url, &u) == 0 && (strcmp(u.host, "127.0.0.1") == 0 || strcmp(u.host, "localhost") == 0);
}

int gw_cmd_oadr3_run(const gw_oadr3_run_opts_t *o)
{
    ge_log_t log = { gw_log_stderr, NULL, o->verbose ? GE_LOG_INFO : GE_LOG_WARN };
    gw_oadr3_opts_t lo;
    gw_site_opts_t site_opts;
    oadr3_run_t run;

    memset(&lo, 0, sizeof(lo));
    lo.url = o->url;
    if (strncmp(o->url, "https://", 8) == 0) {
        lo.ca_file = o->ca;
        lo.cert_file = o->cert;
        lo.key_file = o->key;
    } else if (o->ca || o->cert) {
        ge_log(&log, GE_LOG_INFO, "oadr3", "--ca/--cert/--key are for an https:// VTN; not used for %s", o->url);
    }
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
    run.lo = &lo;
    run.run.name = "oadr";
    run.run.state_dir = o->state_dir;
    run.run.site = &site_opts;
    run.run.duration = o->duration;
    run.run.log = &log;
    run.run.link_new = oadr3_link_new;
    run.run.link_free = oadr3_link_free;
    run.run.tick = oadr3_tick;
    run.run.shutdown = oadr3_shutdown;
    run.run.done = oadr3_done;
    run.run.grace = STOP_GRACE_S;
    return gw_client_run(&run.run);
}
