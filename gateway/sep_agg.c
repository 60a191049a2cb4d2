/* sep_agg.c - the CSIP aggregator client (see sep_agg.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <gridedge/error.h>

#include "gateway/daemon.h"
#include "gateway/sep_agg.h"
#include "gateway/status.h"
#include "gateway/store.h"
#include "gateway/url.h"

#define STATUS_PERIOD_S 0.5
#define RETRY_S 30.0 /* an EndDevice whose link or site could not be made is tried again after this */

/* An EndDevice's messages: the aggregator's log, each line led by the EndDevice's href.  On the
 * heap, so that its address stays put while the devices move in the array. */
typedef struct dev_log {
    ge_log_t log;
    const ge_log_t *parent;
    char href[SEP_PATH_MAX];
} dev_log_t;

static void dev_log_fn(void *ud, ge_log_level level, const char *module, const char *msg)
{
    const dev_log_t *dl = ud;
    char line[GE_LOG_MAX + SEP_PATH_MAX + 8];

    snprintf(line, sizeof(line), "%s: %s", dl->href, msg);
    dl->parent->fn(dl->parent->ud, level, module, line);
}

typedef struct agg_dev {
    sep_end_device_t ed;
    dev_log_t *log;       /* NULL: the aggregator's own */
    int slot;             /* its notification server's port is the configured one + 1 + slot */
    gw_sep_link_t *link;  /* NULL: could not be made (retry_at) */
    gw_site_t *site;
    gw_store_t *store;
    double retry_at;
} agg_dev_t;

struct gw_sep_agg {
    struct event_base *base;
    gw_sep_opts_t opts;       /* each EndDevice's link's (acts_for_* set per EndDevice) */
    gw_site_opts_t site_opts; /* each EndDevice's site's (no status file of its own) */
    const char *status_file;
    const char *state_dir;
    const ge_log_t *log;
    char notify_addr[64];     /* the configured notification address ("" = toward the server) */
    unsigned notify_port;     /* the configured port (0: any) */
    gw_sep_link_t *list_link; /* reads the EndDeviceList */
    agg_dev_t dev[SEP_MAX_END_DEVICES];
    size_t n;
    unsigned long gen;        /* of the EndDevice set the devices follow */
    double last_status;
};

static void dev_close(agg_dev_t *d)
{
    gw_sep_link_free(d->link);
    gw_site_free(d->site);
    gw_store_close(d->store);
    free(d->log);
    d->link = NULL;
    d->site = NULL;
    d->store = NULL;
    d->log = NULL;
}

/* Make D's store, site and link; on failure log why and leave it to be tried again. */
static void dev_open(gw_sep_agg_t *a, agg_dev_t *d, double now)
{
    gw_sep_opts_t o = a->opts;
    gw_site_opts_t so = a->site_opts;
    char notify[96], path[1100], err[1200];

    err[0] = '\0';
    if (a->log && a->log->fn && (d->log = calloc(1, sizeof(*d->log))) != NULL) {
        d->log->log = *a->log;
        d->log->log.fn = dev_log_fn;
        d->log->log.ud = d->log;
        d->log->parent = a->log;
        snprintf(d->log->href, sizeof(d->log->href), "%s", d->ed.href);
        o.log = so.log = &d->log->log;
    }
    if (a->state_dir) {
        snprintf(path, sizeof(path), "%s/edev-%s", a->state_dir, d->ed.lfdi);
        if (gw_store_open(&d->store, path, NULL, a->log) < 0) {
            snprintf(err, sizeof(err), "cannot open its state in %s", path);
            goto fail;
        }
    }
    if (a->notify_addr[0]) { /* the configured address, a port of its own */
        int v6 = strchr(a->notify_addr, ':') != NULL;
        snprintf(notify, sizeof(notify), "%s%s%s:%u", v6 ? "[" : "", a->notify_addr, v6 ? "]" : "",
                 a->notify_port ? a->notify_port + 1 + (unsigned)d->slot : 0);
        o.notify = notify;
    }
    o.store = d->store;
    o.agg_register = NULL;
    o.n_agg_register = 0;
    for (size_t r = 0; r < a->opts.n_agg_register; r++) /* one of our own sites: its connection point */
        if (strcmp(a->opts.agg_register[r].lfdi, d->ed.lfdi) == 0 && a->opts.agg_register_nmi)
            o.nmi = a->opts.agg_register_nmi[r];
    o.acts_for_lfdi = d->ed.lfdi;
    o.acts_for_sfdi = d->ed.sfdi;
    if (gw_site_new(&d->site, &so, now, err, sizeof(err)) < 0 ||
        gw_sep_link_new(&d->link, a->base, &o, err, sizeof(err)) < 0)
        goto fail;
    ge_log(a->log, GE_LOG_INFO, "sep", "aggregator: acting for EndDevice %s (LFDI %s)", d->ed.href, d->ed.lfdi);
    return;
fail:
    ge_log(a->log, GE_LOG_ERROR, "sep", "aggregator: EndDevice %s (LFDI %s): %s; trying again in %.0f s",
           d->ed.href, d->ed.lfdi, err, RETRY_S);
    dev_close(d);
    d->retry_at = now + RETRY_S;
}

/* Follow the set of EndDevices LIST (N of them): keep those still listed, leave the others, take
 * up the new ones; the devices end up in the list's order. */
static void sync_devices(gw_sep_agg_t *a, const sep_end_device_t *list, size_t n, double now)
{
    agg_dev_t old[SEP_MAX_END_DEVICES];
    size_t n_old = a->n;
    int used[SEP_MAX_END_DEVICES] = { 0 };

    memcpy(old, a->dev, n_old * sizeof(old[0]));
    a->n = 0;
    for (size_t i = 0; i < n && i < SEP_MAX_END_DEVICES; i++) {
        agg_dev_t *d = &a->dev[a->n++];
        size_t k;

        for (k = 0; k < n_old && strcmp(old[k].ed.lfdi, list[i].lfdi) != 0; k++)
            ;
        if (k < n_old) {
            *d = old[k];
            d->ed = list[i]; /* its href may have moved */
            old[k].ed.lfdi[0] = '\0';
            used[d->slot] = 1;
            continue;
        }
        memset(d, 0, sizeof(*d));
        d->ed = list[i];
        d->slot = -1;
    }
    for (size_t k = 0; k < n_old; k++)
        if (old[k].ed.lfdi[0]) {
            ge_log(a->log, GE_LOG_INFO, "sep", "aggregator: EndDevice %s (LFDI %s) is no longer listed; "
                   "no longer acting for it", old[k].ed.href, old[k].ed.lfdi);
            dev_close(&old[k]);
        }
    for (size_t i = 0; i < a->n; i++) {
        agg_dev_t *d = &a->dev[i];
        if (d->slot >= 0)
            continue;
        for (d->slot = 0; used[d->slot]; d->slot++)
            ;
        used[d->slot] = 1;
        dev_open(a, d, now);
    }
}

/* The status file: the sites summed (a control shared by several EndDevices once), and each
 * EndDevice's own under "devices". */
static void write_status(gw_sep_agg_t *a, double now)
{
    gw_status_t sum;
    json_t *j = NULL, *devices = json_array();
    size_t live = 0;

    memset(&sum, 0, sizeof(sum));
    sum.time = gw_sep_link_server_time(a->list_link, now);
    for (size_t i = 0; i < a->n; i++) {
        const gw_status_t *s;
        json_t *dj = NULL;

        if (!a->dev[i].site)
            continue;
        s = gw_site_status(a->dev[i].site);
        live++;
        if (s->time > sum.time)
            sum.time = s->time;
        sum.site_w += s->site_w;
        sum.pv_w += s->pv_w;
        sum.battery_w += s->battery_w;
        sum.ev_w += s->ev_w;
        sum.house_w += s->house_w;
        sum.soc_pct += s->soc_pct;
        for (size_t c = 0; c < s->n_controls; c++) {
            size_t k;
            for (k = 0; k < sum.n_controls && strcmp(sum.controls[k].id, s->controls[c].id) != 0; k++)
                ;
            if (k == sum.n_controls && k < GW_STATUS_MAX_CONTROLS)
                sum.controls[sum.n_controls++] = s->controls[c];
        }
        if (s->has_price && !sum.has_price) {
            sum.has_price = 1;
            sum.price = s->price;
        }
        if (devices && gw_status_to_json(s, &dj) == 0) {
            json_object_set_new(dj, "lfdi", json_string(a->dev[i].ed.lfdi));
            json_object_set_new(dj, "edev", json_string(a->dev[i].ed.href));
            json_array_append_new(devices, dj);
        }
    }
    if (live)
        sum.soc_pct /= (double)live;
    snprintf(sum.mode, sizeof(sum.mode), "aggregator");
    snprintf(sum.reason, sizeof(sum.reason), "acting for %zu EndDevice%s", live, live == 1 ? "" : "s");
    if (gw_status_to_json(&sum, &j) == 0 && devices) {
        json_object_set(j, "devices", devices);
        gw_status_write_json(j, a->status_file, a->log);
    }
    json_decref(j);
    json_decref(devices);
}

int gw_sep_agg_new(gw_sep_agg_t **out, struct event_base *base, const gw_sep_opts_t *opts,
                   const gw_site_opts_t *site, const char *state_dir, char *err, size_t errlen)
{
    gw_sep_agg_t *a;
    gw_sep_opts_t lo;
    int rc;

    *out = NULL;
    if (opts->nmi) {
        snprintf(err, errlen, "an aggregator has no connection point of its own: each EndDevice has its own");
        return GE_ERR_INVALID;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    a->base = base;
    a->opts = *opts;
    a->opts.aggregator = 0;
    a->opts.store = NULL; /* each EndDevice's store is its own (STATE_DIR/edev-LFDI) */
    a->site_opts = *site;
    a->site_opts.status_file = NULL;
    a->status_file = site->status_file;
    a->state_dir = state_dir;
    a->log = opts->log;
    if (opts->notify && strcmp(opts->notify, "off") != 0 &&
        gw_notify_addr_parse(opts->notify, a->notify_addr, sizeof(a->notify_addr), &a->notify_port) < 0) {
        snprintf(err, errlen, "notification address '%s': expected IPADDR[:PORT] or [IPV6]:PORT", opts->notify);
        free(a);
        return GE_ERR_INVALID;
    }
    lo = *opts;
    lo.aggregator = 1;
    lo.notify = "off"; /* it subscribes to nothing: it has no EndDevice of its own */
    if ((rc = gw_sep_link_new(&a->list_link, base, &lo, err, errlen)) < 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void gw_sep_agg_free(gw_sep_agg_t *a)
{
    if (!a)
        return;
    if (a->status_file)
        write_status(a, gw_now());
    for (size_t i = 0; i < a->n; i++)
        dev_close(&a->dev[i]);
    gw_sep_link_free(a->list_link);
    free(a);
}

const char *gw_sep_agg_tick(gw_sep_agg_t *a, double now)
{
    sep_end_device_t list[SEP_MAX_END_DEVICES];
    unsigned long gen;
    size_t n;
    const char *fatal;

    gw_sep_link_pump(a->list_link, now);
    if ((fatal = gw_sep_link_fatal(a->list_link)) != NULL)
        return fatal;
    n = gw_sep_link_end_devices(a->list_link, list, SEP_MAX_END_DEVICES, &gen);
    if (gen != a->gen) {
        sync_devices(a, list, n, now);
        a->gen = gen;
    }
    for (size_t i = 0; i < a->n; i++) {
        agg_dev_t *d = &a->dev[i];
        if (!d->link && now >= d->retry_at)
            dev_open(a, d, now);
        if (d->link && (fatal = gw_sep_link_drive(d->link, d->site, now)) != NULL)
            return fatal;
    }
    if (a->status_file && now - a->last_status >= STATUS_PERIOD_S) {
        a->last_status = now;
        write_status(a, now);
    }
    return NULL;
}
