/* cmd_demo.c - `gridedge demo`: a day in the life of a home in a virtual power plant, in about a
 * minute.  The built-in head-end plays the utility's day on 127.0.0.1: the distribution utility's
 * IEEE 2030.5 DER controls (conformance/cases/csip/DEMO-DAY.case) over the CSIP TLS profile to the
 * real 2030.5 client, and the retailer's OpenADR 2.0b price events (conformance/cases/oadr20b/
 * DEMO-DAY.case: a morning price dip, an evening peak) from a VTN to the real OpenADR VEN.  They
 * drive the simulated home together with the local price policy; the clock runs N times faster
 * than real time.  Two more copies of the home run alongside to tell what the day saved: one
 * without a battery, one whose battery runs on its own (self-consumption) without the gateway.
 * The status page is served while it runs. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/pki.h>

#include "conformance/case.h"
#include "conformance/server.h"
#include "gateway/cli.h"
#include "gateway/daemon.h"
#include "gateway/oadr_link.h"
#include "gateway/sep_link.h"
#include "gateway/site.h"
#include "gateway/store.h"

#define DAY_S 86400.0
#define TICK_S 0.05            /* real seconds between steps */
#define FEED_IN 0.05           /* per kWh paid for export */

/* The household's tariff on the demo's day (per kWh, local time of the home), what the bill is
 * computed with: the retailer announces its dip and its peak as OpenADR price events (the oadr20b
 * DEMO-DAY case has the same numbers); the gateway hears nothing else about prices. */
static double tariff(double local_hour)
{
    if (local_hour >= 10 && local_hour < 14)
        return 0.08;
    if (local_hour >= 17 && local_hour < 21)
        return 0.45;
    return 0.22;
}

typedef struct ledger {
    double import_wh, export_wh, cost;
    double last_import, last_export;
    int started;
} ledger_t;

static void ledger_add(ledger_t *l, const ge_telemetry_t *t, double price)
{
    if (l->started) {
        double di = t->import_wh - l->last_import, de = t->export_wh - l->last_export;
        l->import_wh += di;
        l->export_wh += de;
        l->cost += di / 1000.0 * price - de / 1000.0 * FEED_IN;
    }
    l->last_import = t->import_wh;
    l->last_export = t->export_wh;
    l->started = 1;
}

typedef struct demo {
    struct event_base *base;
    double speed;
    double t_real0;            /* wall clock at the start */
    double last_real;          /* wall clock at the last tick */
    double v;                  /* the simulated clock now */
    double v0;                 /* the simulated clock at the start: local midnight */
    double v_end;
    double utc_offset;
    cf_server_t *headend;      /* the 2030.5 server */
    cf_server_t *vtn;          /* the OpenADR 2.0b VTN */
    gw_sep_link_t *link;
    gw_oadr_link_t *oadr;
    gw_site_t *site;
    ge_sim_t *baseline;        /* the same home without a battery */
    ge_sim_t *alone;           /* the same home, its battery on its own controller, no gateway */
    gw_store_t *store;
    ge_http_server_t *page;
    gw_signals_t sig;
    ledger_t with, without, no_gateway;
    double discharge_wh0;
    struct {
        char id[sizeof(((gw_status_control_t *)0)->id)];
        gw_source_t source;
    } seen[16];                /* the utility's controls and events the home followed */
    size_t n_seen;
    int tty;
    double last_line;
    int stopped_early;
} demo_t;

/* The simulated clock moves at each tick by the real time since the last one times the speed, but
 * never by more than two ticks' worth: on a slow or busy machine the day runs longer instead of
 * skipping what the utility and the home do. */
static double vclock(void *ud)
{
    const demo_t *d = ud;
    return d->v;
}

static void advance(demo_t *d)
{
    double real = gw_now(), dt = real - d->last_real;

    d->last_real = real;
    if (dt > 2 * TICK_S)
        dt = 2 * TICK_S;
    if (dt > 0)
        d->v += dt * d->speed;
}

static void remember_event(demo_t *d, const gw_status_control_t *c)
{
    for (size_t i = 0; i < d->n_seen; i++)
        if (d->seen[i].source == c->source && strcmp(d->seen[i].id, c->id) == 0)
            return;
    if (d->n_seen < sizeof(d->seen) / sizeof(d->seen[0])) {
        memcpy(d->seen[d->n_seen].id, c->id, sizeof(d->seen[0].id)); /* same size, NUL-terminated */
        d->seen[d->n_seen++].source = c->source;
    }
}

static size_t events_from(const demo_t *d, gw_source_t source)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_seen; i++)
        n += d->seen[i].source == source;
    return n;
}

/* The same home without the gateway: the battery (if any) follows its own self-consumption
 * controller, nobody hears the utility. */
static void step_without_gateway(ge_sim_t *sim, double v, const ge_policy_config_t *self, ledger_t *l, double price)
{
    ge_setpoint_t idle;
    ge_telemetry_t tel;

    ge_sim_step(sim, v);
    if (self) {
        ge_policy_input_t pin;
        ge_policy_output_t pout;
        memset(&pin, 0, sizeof(pin));
        pin.now = v;
        pin.simple_level = -1;
        ge_sim_read(sim, &pin.tel);
        ge_sim_capabilities(sim, &pin.caps);
        if (ge_policy_decide(self, &pin, &pout) == 0)
            ge_sim_apply(sim, &pout.sp, NULL);
    } else {
        ge_setpoint_init(&idle);
        idle.set = GE_SP_BATTERY_W;
        idle.battery_w = 0;
        ge_sim_apply(sim, &idle, NULL);
    }
    ge_sim_read(sim, &tel);
    ledger_add(l, &tel, price);
}

static void progress(demo_t *d, double v, const gw_status_t *st, double price)
{
    double frac = fmin(fmax((v - d->v0) / (d->v_end - d->v0), 0), 1);
    double local = fmod(v + d->utc_offset, DAY_S);
    int hh = (int)(local / 3600), mm = (int)fmod(local / 60, 60);
    char bar[31];
    int filled = (int)(frac * 30);

    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    if (d->tty) {
        printf("\r[%s] %02d:%02d  PV %4.1f kW  battery %+5.1f kW  SoC %3.0f%%  grid %+5.1f kW  %.2f/kWh  %-22.22s",
               bar, hh, mm, st->pv_w / 1000, st->battery_w / 1000, st->soc_pct, st->site_w / 1000, price, st->mode);
        fflush(stdout);
    } else if (v - d->last_line >= 3600 || d->last_line == 0) {
        printf("%02d:%02d  PV %4.1f kW  battery %+5.1f kW  SoC %3.0f%%  grid %+5.1f kW  price %.2f  %s%s%s\n", hh, mm,
               st->pv_w / 1000, st->battery_w / 1000, st->soc_pct, st->site_w / 1000, price, st->mode,
               st->n_controls ? "  utility: " : "", st->n_controls ? st->controls[0].kind : "");
        d->last_line = v;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    demo_t *d = arg;
    double v;
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    ge_policy_config_t self;
    size_t n = 0;
    double price;
    (void)fd;
    (void)what;

    advance(d);
    v = d->v;
    if (d->sig.stop || v >= d->v_end) {
        d->stopped_early = d->sig.stop;
        event_base_loopbreak(d->base);
        return;
    }
    price = tariff(fmod(v + d->utc_offset, DAY_S) / 3600.0);
    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    gw_sep_link_step(d->link, v, &in, &sp, controls, GW_STATUS_MAX_CONTROLS); /* plain http: nothing fatal */
    n = in.n_controls;
    gw_oadr_link_pump(d->oadr, v);
    {
        size_t m = 0;
        if (gw_oadr_link_control(d->oadr, v, &in.simple_level, &in.has_price, &in.price, controls + n,
                                 GW_STATUS_MAX_CONTROLS - n, &m) == 0)
            n += m;
    }
    in.controls = controls;
    in.n_controls = n;
    for (size_t i = 0; i < n; i++)
        remember_event(d, &controls[i]);
    gw_site_tick(d->site, v, &in);
    gw_site_device(d->site, &caps, &tel);
    gw_sep_link_set_device(d->link, &caps, &tel);
    ledger_add(&d->with, &tel, price);

    /* the same home without a battery, and with a battery but no gateway */
    step_without_gateway(d->baseline, v, NULL, &d->without, price);
    ge_policy_config_default(&self);
    step_without_gateway(d->alone, v, &self, &d->no_gateway, price);

    if (d->store) {
        const gw_status_t *st = gw_site_status(d->site);
        gw_history_sample_t h;
        memset(&h, 0, sizeof(h));
        h.time = (int64_t)v;
        h.site_w = st->site_w;
        h.pv_w = st->pv_w;
        h.battery_w = st->battery_w;
        h.ev_w = st->ev_w;
        h.house_w = st->house_w;
        h.soc_pct = st->soc_pct;
        gw_store_history_add(d->store, &h);
    }
    progress(d, v, gw_site_status(d->site), in.has_price ? in.price : price);
}

/* The status page's opt-out button: the household opts out of an OpenADR 2.0b event. */
static int opt_out(void *ud, const char *event_id)
{
    demo_t *d = ud;
    return d->oadr ? gw_oadr_link_opt_out(d->oadr, event_id) : GE_ERR_STATE;
}

static void on_page(void *ud, ge_http_exchange_t *ex)
{
    demo_t *d = ud;

    gw_statuspage_serve(ex, gw_site_status(d->site), d->store, (int64_t)vclock(d), d->oadr ? opt_out : NULL, d);
}

static void summary(demo_t *d)
{
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    double cycles;

    gw_site_device(d->site, &caps, &tel);
    cycles = caps.rtg_max_wh > 0 ? (tel.battery_discharge_wh - d->discharge_wh0) / caps.rtg_max_wh : 0;
    if (d->tty)
        printf("\n");
    printf("\n%s of the simulated home (PV 5 kW, battery 13.5 kWh, EV charger 7.2 kW):\n",
           d->stopped_early ? "Part of a day" : "A day");
    printf("                            with gridedge      no battery   battery, no gateway\n");
    printf("  energy imported (kWh)     %13.1f   %13.1f   %13.1f\n", d->with.import_wh / 1000,
           d->without.import_wh / 1000, d->no_gateway.import_wh / 1000);
    printf("  energy exported (kWh)     %13.1f   %13.1f   %13.1f\n", d->with.export_wh / 1000,
           d->without.export_wh / 1000, d->no_gateway.export_wh / 1000);
    printf("  electricity cost          %13.2f   %13.2f   %13.2f\n", d->with.cost, d->without.cost, d->no_gateway.cost);
    printf("  battery cycles            %13.2f\n", cycles);
    printf("  events honoured           %13zu   (%zu IEEE 2030.5 DER controls, %zu OpenADR events)\n", d->n_seen,
           events_from(d, GW_SOURCE_SEP), events_from(d, GW_SOURCE_OADR));
    printf("  money saved               %13.2f   (vs the same home without a battery)\n",
           d->without.cost - d->with.cost);
    printf("  saved vs no gateway       %13.2f   (vs the battery on its own, self-consumption only)\n",
           d->no_gateway.cost - d->with.cost);
    printf("(prices per kWh: 0.08 from 10:00 to 14:00 and 0.45 from 17:00 to 21:00 as OpenADR events, 0.22 otherwise;\n"
           " export earns %.2f)\n", FEED_IN);
}

int gw_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        { "duration", required_argument, NULL, 'd' }, { "speed", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },     { "verbose", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };
    const gw_command_t *cmd = gw_command_find("demo");
    double duration = 0, speed = 0;
    long port = 8080;
    int c, rc = GW_EXIT_FAIL, verbose = 0;
    char *end, work[] = "/tmp/gridedge-demo-XXXXXX", pki[600], state[600], err[512];
    char lfdi[GE_LFDI_BUF], sfdi_s[32];
    uint64_t sfdi;
    ge_log_t log = { gw_log_stderr, NULL, GE_LOG_ERROR };
    demo_t d;
    ge_arena_t *arena = NULL;
    cf_case_t day, oadr_day;
    struct event *tick = NULL;
    struct timeval period = { 0, (long)(TICK_S * 1e6) };

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            errno = 0;
            duration = strtod(optarg, &end);
            if (errno || *end || !(duration > 0) || duration > 86400)
                return gw_usage_error(cmd, "--duration needs seconds (0 < s <= 86400), not '%s'", optarg);
            break;
        case 's':
            errno = 0;
            speed = strtod(optarg, &end);
            if (errno || *end || !(speed >= 1) || speed > 1e6)
                return gw_usage_error(cmd, "--speed needs a factor from 1 to 1000000, not '%s'", optarg);
            break;
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || *end || port < 0 || port > 65535)
                return gw_usage_error(cmd, "--port needs a TCP port (0 = any free one), not '%s'", optarg);
            break;
        case 'v': verbose = 1; break;
        default: return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    /* a day in about a minute unless told otherwise */
    if (!speed && !duration) {
        speed = 1440;
        duration = DAY_S / speed;
    } else if (!speed) {
        speed = DAY_S / duration;
    } else if (!duration) {
        duration = fmin(DAY_S / speed, 86400);
    }
    if (verbose)
        log.level = GE_LOG_INFO;

    memset(&d, 0, sizeof(d));
    d.speed = speed;
    d.tty = isatty(1);
    if (!mkdtemp(work)) {
        fprintf(stderr, "gridedge demo: cannot make a scratch directory: %s\n", strerror(errno));
        return GW_EXIT_FAIL;
    }
    snprintf(pki, sizeof(pki), "%s/pki", work);
    snprintf(state, sizeof(state), "%s/state", work);
    if (ge_pki_init(pki, lfdi, &sfdi, &log) < 0) {
        fprintf(stderr, "gridedge demo: cannot make the demo's certificates in %s\n", pki);
        goto out;
    }
    if (ge_arena_new(&arena, NULL, 0, 4u << 20) < 0 ||
        cf_case_load("csip", "DEMO-DAY", NULL, arena, &day, err, sizeof(err)) < 0 ||
        cf_case_load("oadr20b", "DEMO-DAY", NULL, arena, &oadr_day, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge demo: the built-in day: %s\n", err);
        goto out;
    }
    d.base = event_base_new();
    if (!d.base || gw_signals_init(&d.sig, d.base) < 0) {
        fprintf(stderr, "gridedge demo: cannot set up the event loop\n");
        goto out;
    }
    {
        ge_sim_config_t sc;
        ge_sim_config_default(&sc);
        d.utc_offset = sc.utc_offset_s;
        d.t_real0 = gw_now();
        /* start at the home's next local midnight: the simulated clock then stays ahead of the
         * wall clock all day, so what a link times by the wall clock (its HTTP answers) is never
         * in the simulated future */
        d.v0 = (floor((d.t_real0 + d.utc_offset) / DAY_S) + 1) * DAY_S - d.utc_offset;
        d.v = d.v0;
        d.last_real = d.t_real0;
        d.v_end = d.v0 + duration * speed;
        if (ge_sim_new(&d.baseline, NULL, &sc) < 0 || ge_sim_new(&d.alone, NULL, &sc) < 0) {
            fprintf(stderr, "gridedge demo: cannot create the homes to compare with\n");
            goto out;
        }
    }
    {
        cf_server_opts_t so;
        memset(&so, 0, sizeof(so));
        so.suite = "csip";
        so.c = &day;
        so.https = 1;
        so.pki_dir = pki;
        so.clock = vclock;
        so.clock_ud = &d;
        so.log = &log;
        if (cf_server_new(&d.headend, d.base, &so, err, sizeof(err)) < 0) {
            fprintf(stderr, "gridedge demo: head-end: %s\n", err);
            goto out;
        }
        snprintf(sfdi_s, sizeof(sfdi_s), "%llu", (unsigned long long)sfdi);
        cf_server_vars(d.headend)->lfdi = lfdi;
        cf_server_vars(d.headend)->sfdi = sfdi_s;
        /* the retailer's VTN: simple HTTP on 127.0.0.1 */
        so.suite = "oadr20b";
        so.c = &oadr_day;
        so.https = 0;
        if (cf_server_new(&d.vtn, d.base, &so, err, sizeof(err)) < 0) {
            fprintf(stderr, "gridedge demo: VTN: %s\n", err);
            goto out;
        }
        cf_server_vars(d.vtn)->ven_name = "gridedge-demo";
        cf_server_vars(d.vtn)->ven_id = "VEN-DEMO";
        cf_server_vars(d.vtn)->registration_id = "REG-DEMO";
    }
    {
        char ca[700], cert[700], key[700];
        snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
        snprintf(cert, sizeof(cert), "%s/client.pem", pki);
        snprintf(key, sizeof(key), "%s/client.key", pki);
        if (gw_store_open(&d.store, state, NULL, &log) < 0) {
            fprintf(stderr, "gridedge demo: cannot open the state in %s\n", state);
            goto out;
        }
        gw_site_opts_t site;
        memset(&site, 0, sizeof(site));
        site.adapter = "sim";
        ge_policy_config_default(&site.policy);
        site.log = &log;
        if (gw_site_new(&d.site, &site, d.v0, err, sizeof(err)) < 0) {
            fprintf(stderr, "gridedge demo: %s\n", err);
            goto out;
        }
        gw_sep_opts_t so;
        memset(&so, 0, sizeof(so));
        so.url = cf_server_url(d.headend);
        so.ca = ca;
        so.cert = cert;
        so.key = key;
        so.store = d.store;
        so.log = &log;
        so.clock = vclock;
        so.clock_ud = &d;
        if (gw_sep_link_new(&d.link, d.base, &so, err, sizeof(err)) < 0) {
            fprintf(stderr, "gridedge demo: %s\n", err);
            goto out;
        }
        gw_oadr_opts_t oo;
        memset(&oo, 0, sizeof(oo));
        oo.url = cf_server_url(d.vtn);
        oo.ven_name = "gridedge-demo";
        oo.store = d.store;
        oo.log = &log;
        oo.clock = vclock;
        oo.clock_ud = &d;
        if (gw_oadr_link_new(&d.oadr, d.base, &oo, err, sizeof(err)) < 0) {
            fprintf(stderr, "gridedge demo: %s\n", err);
            goto out;
        }
    }
    {
        ge_http_server_opts_t po;
        memset(&po, 0, sizeof(po));
        po.port = (unsigned short)port;
        po.handler = on_page;
        po.ud = &d;
        po.log = &log;
        if (ge_http_server_new(&d.page, d.base, &po) < 0) {
            fprintf(stderr, "gridedge demo: cannot serve the status page on 127.0.0.1:%ld (in use? try --port 0)\n",
                    port);
            goto out;
        }
    }
    {
        ge_der_caps_t caps;
        ge_telemetry_t tel;
        gw_site_device(d.site, &caps, &tel);
        d.discharge_wh0 = tel.battery_discharge_wh;
    }
    printf("gridedge demo: one %s of a home in a virtual power plant, %.0fx faster than real time (%.0f s)\n",
           duration * speed >= DAY_S ? "day" : "part of a day", speed, duration);
    printf("utility head-end (IEEE 2030.5, CSIP TLS): %s\n", cf_server_url(d.headend));
    printf("retailer's VTN (OpenADR 2.0b): %s\n", cf_server_url(d.vtn));
    printf("status page: http://127.0.0.1:%u/\n\n", (unsigned)ge_http_server_port(d.page));
    fflush(stdout);
    if (!(tick = event_new(d.base, -1, EV_PERSIST, on_tick, &d))) {
        fprintf(stderr, "gridedge demo: out of memory\n");
        goto out;
    }
    cf_server_start(d.headend);
    cf_server_start(d.vtn);
    d.last_real = gw_now();
    event_add(tick, &period);
    event_base_dispatch(d.base);
    summary(&d);
    rc = GW_EXIT_OK;
out:
    if (tick)
        event_free(tick);
    ge_http_server_free(d.page);
    gw_sep_link_free(d.link);
    gw_oadr_link_free(d.oadr);
    gw_site_free(d.site);
    cf_server_free(d.headend);
    cf_server_free(d.vtn);
    gw_signals_free(&d.sig);
    if (d.base)
        event_base_free(d.base);
    ge_sim_free(d.baseline);
    ge_sim_free(d.alone);
    gw_store_close(d.store);
    ge_arena_free(arena);
    gw_rm_tree(work);
    return rc;
}
