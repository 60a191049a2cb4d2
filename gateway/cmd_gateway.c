/* cmd_gateway.c - `gridedge gateway --config FILE`: the site daemon.  One INI file names the
 * utility links ([sep], [oadr]), the device adapter, the price policy, the state dir and the status
 * page; SIGTERM stops it cleanly, SIGHUP reloads the file (a bad file is reported and the running
 * configuration kept). */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#ifdef GE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <gridedge/error.h>
#include <gridedge/http.h>

#include "gateway/cli.h"
#include "gateway/daemon.h"
#include "gateway/gwconfig.h"
#include "gateway/oadr3_link.h"
#include "gateway/oadr_link.h"
#include "gateway/sep_link.h"
#include "gateway/site.h"
#include "gateway/store.h"

#define TICK_S 0.25
#define HISTORY_PERIOD_S 60
#define STATE_RETRY_S 5     /* a state dir that refused a write or an open (a full disk) is tried again this soon */

typedef struct gateway {
    const char *config_path;
    gw_config_t cfg;
    struct event_base *base;
    gw_store_t *store;
    gw_site_t *site;
    gw_sep_link_t *sep;
    gw_oadr_link_t *oadr;
    gw_oadr3_link_t *oadr3;  /* [oadr] version 3.0 */
    ge_http_server_t *page;
    gw_signals_t sig;
    ge_log_t log;
    double last_history;
    int history_failed;
    double store_retry;   /* the state could not be opened: try again at this time */
    int exit_code;
} gateway_t;

/* The adapter's "key=value ..." options from the config. */
static void adapter_options(const gw_config_t *c, char *buf, size_t size)
{
    if (c->adapter == GW_ADAPTER_SUNSPEC)
        /* lazy: a device that is away at start is waited for (retried with backoff, at most 10 s
         * apart), not a reason to stop the gateway */
        snprintf(buf, size, "host=%s port=%d unit=%d timeout_ms=%d lazy=1 backoff_max_ms=10000", c->sunspec_host,
                 c->sunspec_port, c->sunspec_unit_id, c->sunspec_timeout_ms);
    else
        snprintf(buf, size, "seed=%llu pv_peak_w=%.0f battery_wh=%.0f battery_max_w=%.0f soc=%.1f ev_max_w=%.0f "
                            "house_w=%.0f",
                 (unsigned long long)c->sim_seed, c->sim_pv_peak_w, c->sim_battery_wh, c->sim_battery_max_w,
                 c->sim_start_soc_pct, c->sim_ev_charger_w, c->sim_house_w);
}

/* The status page's opt-out button: the household opts out of an OpenADR 2.0b event. */
static int opt_out(void *ud, const char *event_id)
{
    gateway_t *g = ud;
    return g->oadr ? gw_oadr_link_opt_out(g->oadr, event_id) : GE_ERR_STATE;
}

static void on_page(void *ud, ge_http_exchange_t *ex)
{
    gateway_t *g = ud;

    if (g->site)
        gw_statuspage_serve(ex, gw_site_status(g->site), g->store, (int64_t)gw_now(), g->oadr ? opt_out : NULL, g);
    else
        ge_http_reply(ex, 503, "text/plain", "starting\n", 9);
}

/* Stop what the configuration started (the store and the loop stay). */
static void stop_parts(gateway_t *g)
{
    ge_http_server_free(g->page);
    g->page = NULL;
    gw_sep_link_free(g->sep);
    g->sep = NULL;
    gw_oadr_link_free(g->oadr);
    g->oadr = NULL;
    gw_oadr3_link_free(g->oadr3);
    g->oadr3 = NULL;
    if (g->site)
        gw_site_flush(g->site);
    gw_site_free(g->site);
    g->site = NULL;
}

/* Start the site, the links and the status page from g->cfg. */
static int start_parts(gateway_t *g, char *err, size_t errlen)
{
    const gw_config_t *c = &g->cfg;
    gw_site_opts_t so;
    char options[512];

    memset(&so, 0, sizeof(so));
    adapter_options(c, options, sizeof(options));
    so.adapter = c->adapter == GW_ADAPTER_SUNSPEC ? "sunspec" : "sim";
    so.adapter_config = options;
    so.status_file = c->status_file[0] ? c->status_file : NULL;
    ge_policy_config_default(&so.policy);
    so.policy.charge_below = c->charge_below;
    so.policy.discharge_above = c->discharge_above;
    so.policy.reserve_soc_pct = c->reserve_soc_pct;
    if (c->import_limit_w >= 0) {
        so.policy.has_import_limit = 1;
        so.policy.import_limit_w = c->import_limit_w;
    }
    if (c->export_limit_w >= 0) {
        so.policy.has_export_limit = 1;
        so.policy.export_limit_w = c->export_limit_w;
    }
    so.log = &g->log;
    if (gw_site_new(&g->site, &so, gw_now(), err, errlen) < 0)
        return GE_ERR_CONFIG;
    if (c->sep_enabled) {
        gw_sep_opts_t lo;
        memset(&lo, 0, sizeof(lo));
        lo.url = c->sep_server;
        lo.ca = c->sep_ca[0] ? c->sep_ca : NULL;
        lo.cert = c->sep_cert[0] ? c->sep_cert : NULL;
        lo.key = c->sep_key[0] ? c->sep_key : NULL;
        lo.lfdi = c->sep_lfdi[0] ? c->sep_lfdi : NULL;
        lo.pin = (uint32_t)c->sep_pin;
        lo.profile = c->sep_profile;
        lo.nmi = c->sep_nmi[0] ? c->sep_nmi : NULL;
        lo.notify = c->sep_notify[0] ? c->sep_notify : NULL;
        lo.demand_response = c->sep_demand_response;
        lo.store = g->store;
        lo.log = &g->log;
        if (gw_sep_link_new(&g->sep, g->base, &lo, err, errlen) < 0)
            return GE_ERR_CONFIG;
    }
    if (c->oadr_enabled && c->oadr_version == GW_OADR_30) {
        gw_oadr3_opts_t o3;
        memset(&o3, 0, sizeof(o3));
        o3.url = c->oadr_vtn;
        o3.ca_file = c->oadr_ca[0] ? c->oadr_ca : NULL; /* https: the "modern" TLS profile */
        o3.cert_file = c->oadr_cert[0] ? c->oadr_cert : NULL;
        o3.key_file = c->oadr_key[0] ? c->oadr_key : NULL;
        o3.ven_name = c->oadr_ven_name;
        o3.token = c->oadr_token[0] ? c->oadr_token : NULL;
        o3.client_id = c->oadr_client_id[0] ? c->oadr_client_id : NULL;
        o3.client_secret = c->oadr_client_secret[0] ? c->oadr_client_secret : NULL;
        o3.poll_s = (unsigned)c->oadr_poll_s;
        o3.log = &g->log;
        if (gw_oadr3_link_new(&g->oadr3, g->base, &o3, err, errlen) < 0)
            return GE_ERR_CONFIG;
    } else if (c->oadr_enabled) {
        gw_oadr_opts_t oo;
        memset(&oo, 0, sizeof(oo));
        oo.url = c->oadr_vtn;
        oo.ven_name = c->oadr_ven_name;
        oo.ca_file = c->oadr_ca[0] ? c->oadr_ca : NULL;
        oo.cert_file = c->oadr_cert[0] ? c->oadr_cert : NULL;
        oo.key_file = c->oadr_key[0] ? c->oadr_key : NULL;
        for (size_t i = 0; i < c->oadr_n_opt_out && oo.n_opt_out < GW_OADR_MAX_OPT_OUTS; i++)
            oo.opt_out[oo.n_opt_out++] = c->oadr_opt_out[i];
        memcpy(oo.unavailable, c->oadr_unavailable, sizeof(oo.unavailable));
        oo.n_unavailable = c->oadr_n_unavailable;
        oo.leave = !c->oadr_registered;
        oo.owner_dir = c->state_dir; /* owner.ini: the home owner's live choices */
        oo.push = c->oadr_push;
        oo.push_port = (unsigned short)c->oadr_push_port;
        oo.push_bind = c->oadr_push_bind[0] ? c->oadr_push_bind : NULL;
        oo.push_cert_file = c->oadr_push_cert[0] ? c->oadr_push_cert : NULL;
        oo.push_key_file = c->oadr_push_key[0] ? c->oadr_push_key : NULL;
        oo.sign = c->oadr_sign;
        oo.has_base_price = !isnan(c->base_price);
        oo.base_price = c->base_price;
        oo.store = g->store;
        oo.log = &g->log;
        if (gw_oadr_link_new(&g->oadr, g->base, &oo, err, errlen) < 0)
            return GE_ERR_CONFIG;
    }
    if (c->status_port > 0) {
        ge_http_server_opts_t po;
        memset(&po, 0, sizeof(po));
        po.port = (unsigned short)c->status_port;
        po.handler = on_page;
        po.ud = g;
        po.log = &g->log;
        if (ge_http_server_new(&g->page, g->base, &po) < 0) {
            snprintf(err, errlen, "cannot serve the status page on 127.0.0.1:%d", c->status_port);
            return GE_ERR_IO;
        }
        ge_log(&g->log, GE_LOG_INFO, "gateway", "status page on http://127.0.0.1:%d/", c->status_port);
    }
    return 0;
}

static void print_config_errors(const gw_config_errors_t *errs)
{
    char line[GW_CONFIG_PATH_MAX + 256];
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "%s\n", gw_config_error_format(errs, i, line, sizeof(line)));
}

static void reload(gateway_t *g)
{
    gw_config_t fresh;
    gw_config_errors_t errs;
    char err[512];

    if (gw_config_load(&fresh, g->config_path, &errs) < 0) {
        print_config_errors(&errs);
        ge_log(&g->log, GE_LOG_ERROR, "gateway", "%s: not reloaded; the running configuration stays",
               g->config_path);
        return;
    }
    if (strcmp(fresh.state_dir, g->cfg.state_dir) != 0)
        ge_log(&g->log, GE_LOG_WARN, "gateway", "state_dir changes take effect at the next start");
    stop_parts(g);
    snprintf(fresh.state_dir, sizeof(fresh.state_dir), "%s", g->cfg.state_dir);
    g->cfg = fresh;
    g->log.level = g->cfg.log_level;
    if (start_parts(g, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge gateway: %s\n", err);
        g->exit_code = GW_EXIT_FAIL;
        event_base_loopbreak(g->base);
        return;
    }
    ge_log(&g->log, GE_LOG_INFO, "gateway", "%s reloaded", g->config_path);
}

/* What one OpenADR VTN's events ask: the SIMPLE level (-1: none) and a price per kWh. */
typedef struct oadr_signal {
    int level;
    int has_price;
    double price;
} oadr_signal_t;

/* SIG joins what IN holds from the clients before: the highest SIMPLE level; an OpenADR price in
 * force stands for the tariff's (a 2030.5 TariffProfile's) while it lasts. */
static void take_signal(gw_site_input_t *in, const oadr_signal_t *sig)
{
    if (sig->level > in->simple_level)
        in->simple_level = sig->level;
    if (sig->has_price) {
        in->has_price = 1;
        in->price = sig->price;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    gateway_t *g = arg;
    double now = gw_now();
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    oadr_signal_t sig;
    size_t n = 0;
    const char *fatal;
    (void)fd;
    (void)what;

    if (g->sig.stop) {
        event_base_loopbreak(g->base);
        return;
    }
    if (g->sig.reload) {
        g->sig.reload = 0;
#ifdef GE_HAVE_SYSTEMD
        sd_notify(0, "RELOADING=1");
#endif
        reload(g);
        if (!g->site)
            return;
#ifdef GE_HAVE_SYSTEMD
        sd_notify(0, "READY=1"); /* on the new configuration, or still on the old one */
#endif
    }
    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    ge_setpoint_init(&sp);
    if (g->sep) {
        if ((fatal = gw_sep_link_step(g->sep, now, &in, &sp, controls, GW_STATUS_MAX_CONTROLS)) != NULL) {
            fprintf(stderr, "gridedge gateway: [sep] %s\n", fatal);
            g->exit_code = GW_EXIT_FAIL;
            event_base_loopbreak(g->base);
            return;
        }
        n = in.n_controls;
    }
    if (g->oadr) {
        size_t m = 0;
        ge_setpoint_t osp;
        gw_oadr_link_pump(g->oadr, now);
        /* LOAD_DISPATCH / CHARGE_STATE: what the 2030.5 controls do not decide already */
        if (gw_oadr_link_setpoint(g->oadr, now, &osp)) {
            if (!in.utility) {
                sp = osp;
                in.utility = &sp;
            } else {
                ge_setpoint_merge(&sp, &osp, osp.set & ~sp.set);
            }
        }
        if (gw_oadr_link_control(g->oadr, now, &sig.level, &sig.has_price, &sig.price, controls + n,
                                 GW_STATUS_MAX_CONTROLS - n, &m) == 0) {
            n += m;
            in.controls = controls;
            in.n_controls = n;
            take_signal(&in, &sig);
        }
        if (!in.server_time)
            in.server_time = gw_oadr_link_server_time(g->oadr, now);
    }
    if (g->oadr3) {
        size_t m = 0;
        ge_setpoint_t osp;
        gw_oadr3_link_pump(g->oadr3, now);
        memset(&osp, 0, sizeof(osp));
        if (gw_oadr3_link_control(g->oadr3, now, &sig.level, &sig.has_price, &sig.price, &osp, controls + n,
                                  GW_STATUS_MAX_CONTROLS - n, &m) == 0) {
            n += m;
            in.controls = controls;
            in.n_controls = n;
            take_signal(&in, &sig);
            if (osp.set && !in.utility) {
                sp = osp;
                in.utility = &sp;
            } else if (osp.set) {
                ge_setpoint_merge(&sp, &osp, osp.set & ~sp.set);
            }
        }
        if (!in.server_time)
            in.server_time = gw_oadr3_link_server_time(g->oadr3, now);
    }
    gw_site_tick(g->site, now, &in);
    if (!g->store && now >= g->store_retry) {
        char err[512];
        if (gw_store_open(&g->store, g->cfg.state_dir, NULL, &g->log) < 0) {
            g->store_retry = now + STATE_RETRY_S;
        } else {
            /* the links start again on the store, so that nothing from now on is lost */
            ge_log(&g->log, GE_LOG_INFO, "gateway", "the state in %s is open now", g->cfg.state_dir);
            stop_parts(g);
            if (start_parts(g, err, sizeof(err)) < 0) {
                fprintf(stderr, "gridedge gateway: %s\n", err);
                g->exit_code = GW_EXIT_FAIL;
                event_base_loopbreak(g->base);
            }
            return;
        }
    }
    gw_site_device(g->site, &caps, &tel);
    /* the utility hears of the device once it has answered: no made-up ratings or readings */
    if (g->sep && gw_site_device_ready(g->site))
        gw_sep_link_set_device(g->sep, &caps, &tel);
    if (g->oadr && gw_site_device_ready(g->site))
        gw_oadr_link_sample(g->oadr, now, &caps, &tel);
    if (g->oadr3 && gw_site_device_ready(g->site))
        gw_oadr3_link_telemetry(g->oadr3, gw_site_status(g->site));
    if (g->store && now - g->last_history >= HISTORY_PERIOD_S) {
        const gw_status_t *st = gw_site_status(g->site);
        gw_history_sample_t h;
        memset(&h, 0, sizeof(h));
        h.time = st->time;
        h.site_w = st->site_w;
        h.pv_w = st->pv_w;
        h.battery_w = st->battery_w;
        h.ev_w = st->ev_w;
        h.house_w = st->house_w;
        h.soc_pct = st->soc_pct;
        if (gw_store_history_add(g->store, &h) == 0) {
            if (g->history_failed)
                ge_log(&g->log, GE_LOG_INFO, "gateway", "the state dir takes writes again; history stored");
            g->history_failed = 0;
            g->last_history = now;
        } else {
            /* the store said why; the devices are controlled all the same */
            if (!g->history_failed)
                ge_log(&g->log, GE_LOG_ERROR, "gateway",
                       "cannot write to the state dir %s; still controlling the devices, retrying every %d s",
                       g->cfg.state_dir, STATE_RETRY_S);
            g->history_failed = 1;
            g->last_history = now - HISTORY_PERIOD_S + STATE_RETRY_S;
        }
    }
}

int gw_cmd_gateway(int argc, char **argv)
{
    static const struct option opts[] = { { "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
    const gw_command_t *cmd = gw_command_find("gateway");
    gw_config_errors_t errs;
    gateway_t g;
    struct event *tick = NULL;
    struct timeval period = { 0, (long)(TICK_S * 1e6) };
    char err[512];
    int c;

    memset(&g, 0, sizeof(g));
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'c')
            g.config_path = optarg;
        else
            return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!g.config_path)
        return gw_usage_error(cmd, "--config FILE is required");
    if (gw_config_load(&g.cfg, g.config_path, &errs) < 0) {
        print_config_errors(&errs);
        return GW_EXIT_USAGE;
    }
    g.log.fn = gw_log_stderr;
    g.log.level = g.cfg.log_level;
    g.exit_code = GW_EXIT_OK;
    if (gw_store_open(&g.store, g.cfg.state_dir, NULL, &g.log) < 0) {
        struct stat sb;
        /* a state dir that is not there or not a directory is a set-up mistake: stop.  One whose
         * database cannot be opened (a full disk, an I/O error) must not leave the devices
         * without control: run without the state and keep trying. */
        if (stat(g.cfg.state_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "gridedge gateway: cannot open the state in %s (see the log above)\n", g.cfg.state_dir);
            return GW_EXIT_FAIL;
        }
        ge_log(&g.log, GE_LOG_ERROR, "gateway",
               "cannot open the state in %s; controlling the devices without it (nothing is kept across a "
               "restart) and retrying every %d s", g.cfg.state_dir, STATE_RETRY_S);
        g.store_retry = gw_now() + STATE_RETRY_S;
    }
    g.base = event_base_new();
    if (!g.base || gw_signals_init(&g.sig, g.base) < 0 ||
        !(tick = event_new(g.base, -1, EV_PERSIST, on_tick, &g))) {
        fprintf(stderr, "gridedge gateway: cannot set up the event loop\n");
        g.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (start_parts(&g, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge gateway: %s\n", err);
        g.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    ge_log(&g.log, GE_LOG_INFO, "gateway", "running: %s%s%s, state in %s", g.cfg.sep_enabled ? "[sep] " : "",
           g.cfg.oadr_enabled ? "[oadr] " : "",
           g.cfg.adapter == GW_ADAPTER_SUNSPEC ? "SunSpec device" : "simulated home", g.cfg.state_dir);
#ifdef GE_HAVE_SYSTEMD
    sd_notify(0, "READY=1");
#endif
    event_add(tick, &period);
    on_tick(-1, 0, &g);
    event_base_dispatch(g.base);
#ifdef GE_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
out:
    stop_parts(&g);
    if (tick)
        event_free(tick);
    gw_signals_free(&g.sig);
    if (g.base)
        event_base_free(g.base);
    gw_store_close(g.store);
    return g.exit_code;
}
