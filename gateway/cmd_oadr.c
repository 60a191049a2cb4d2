/* cmd_oadr.c - `gridedge oadr run`: the OpenADR VEN driving a site (CLI-CONTRACT.md).  2.0b is the
 * simple HTTP VEN of stack/oadr (pull, or push with --push-port; TLS with --ca/--cert/--key);
 * 3.0 is gateway/cmd_oadr3.c. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/error.h>

#include "gateway/cli.h"
#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"
#include "gateway/oadr_link.h"
#include "gateway/site.h"
#include "gateway/store.h"

#define TICK_S 0.25

typedef struct oadr_run {
    struct event_base *base;
    gw_oadr_link_t *link;
    gw_site_t *site;
    gw_signals_t sig;
    double deadline;   /* 0: run until a signal */
    int exit_code;
} oadr_run_t;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    oadr_run_t *r = arg;
    double now = gw_now();
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    size_t n = 0;
    (void)fd;
    (void)what;

    if (r->sig.stop || (r->deadline && now >= r->deadline)) {
        event_base_loopbreak(r->base);
        return;
    }
    {
        ge_der_caps_t caps;
        ge_telemetry_t tel;
        gw_site_device(r->site, &caps, &tel);
        gw_oadr_link_sample(r->link, now, &caps, &tel);
    }
    gw_oadr_link_pump(r->link, now);
    memset(&in, 0, sizeof(in));
    if (gw_oadr_link_setpoint(r->link, now, &sp))
        in.utility = &sp;
    in.simple_level = -1;
    if (gw_oadr_link_control(r->link, now, &in.simple_level, &in.has_price, &in.price, controls,
                             GW_STATUS_MAX_CONTROLS, &n) == 0) {
        in.controls = controls;
        in.n_controls = n;
    }
    in.server_time = gw_oadr_link_server_time(r->link, now);
    gw_site_tick(r->site, now, &in);
}

int gw_cmd_oadr(int argc, char **argv)
{
    static const struct option opts[] = {
        { "vtn", required_argument, NULL, 'u' },         { "ven-name", required_argument, NULL, 'n' },
        { "version", required_argument, NULL, 'V' },     { "token", required_argument, NULL, 't' },
        { "client-id", required_argument, NULL, 'i' },   { "client-secret", required_argument, NULL, 's' },
        { "ca", required_argument, NULL, 'a' },          { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },         { "adapter", required_argument, NULL, 'A' },
        { "state-dir", required_argument, NULL, 'S' },   { "duration", required_argument, NULL, 'd' },
        { "status-file", required_argument, NULL, 'f' }, { "verbose", no_argument, NULL, 'v' },
        { "seed", required_argument, NULL, 'r' },        { "adapter-config", required_argument, NULL, 'C' },
        { "opt-out", required_argument, NULL, 'O' },    { "push-port", required_argument, NULL, 'P' },
        { "push-bind", required_argument, NULL, 'B' },
        { NULL, 0, NULL, 0 }
    };
    const gw_command_t *cmd = gw_command_find("oadr");
    gw_oadr_opts_t oo;
    gw_site_opts_t site_opts;
    const char *state_dir = NULL, *adapter = "sim", *version = "2.0b";
    const char *token = NULL, *client_id = NULL, *client_secret = NULL, *ca = NULL, *cert = NULL, *key = NULL;
    double duration = 0;
    int verbose = 0, c;
    ge_log_t log = { gw_log_stderr, NULL, GE_LOG_WARN };
    gw_store_t *store = NULL;
    oadr_run_t run;
    struct event *tick = NULL;
    struct timeval period = { 0, (long)(TICK_S * 1e6) };
    char err[512];
    char *end;

    if (argc < 2 || strcmp(argv[1], "run") != 0)
        return gw_usage_error(cmd, argc < 2 ? "missing action: run" : "unknown action '%s'", argv[argc < 2 ? 0 : 1]);
    argc--;
    argv++;
    memset(&oo, 0, sizeof(oo));
    memset(&site_opts, 0, sizeof(site_opts));
    ge_policy_config_default(&site_opts.policy);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'u': oo.url = optarg; break;
        case 'n': oo.ven_name = optarg; break;
        case 'V': version = optarg; break;
        case 't': token = optarg; break;
        case 'i': client_id = optarg; break;
        case 's': client_secret = optarg; break;
        case 'a': ca = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'A': adapter = optarg; break;
        case 'C': site_opts.adapter_config = optarg; break;
        case 'P': {
            /* 2.0b push mode: the VTN POSTs to our server on this port (0: any free one) */
            unsigned long port;
            errno = 0;
            port = strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || port > 65535)
                return gw_usage_error(cmd, "--push-port needs a port number, not '%s'", optarg);
            oo.push = 1;
            oo.push_port = (unsigned short)port;
            break;
        }
        case 'B': oo.push_bind = optarg; break;
        case 'O':
            /* 2.0b extension: the home owner opts out of this event (answered optOut, not acted on) */
            if (oo.n_opt_out == GW_OADR_MAX_OPT_OUTS)
                return gw_usage_error(cmd, "at most %d --opt-out", GW_OADR_MAX_OPT_OUTS);
            if (!*optarg || strlen(optarg) >= OADR_ID_MAX)
                return gw_usage_error(cmd, "--opt-out needs an eventID (1 to %d characters)", OADR_ID_MAX - 1);
            oo.opt_out[oo.n_opt_out++] = optarg;
            break;
        case 'S': state_dir = optarg; break;
        case 'f': site_opts.status_file = optarg; break;
        case 'v': verbose = 1; break;
        case 'd':
            errno = 0;
            duration = strtod(optarg, &end);
            if (errno || *end || !(duration > 0) || duration > 1e7)
                return gw_usage_error(cmd, "--duration needs a number of seconds, not '%s'", optarg);
            break;
        case 'r':
            errno = 0;
            oo.seed = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg)
                return gw_usage_error(cmd, "--seed needs a number, not '%s'", optarg);
            break;
        default: return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (strcmp(version, "2.0b") != 0 && strcmp(version, "3.0") != 0)
        return gw_usage_error(cmd, "--version must be 2.0b or 3.0, not '%s'", version);
    if (!oo.url)
        return gw_usage_error(cmd, "--vtn URL is required");
    if (!oo.ven_name || !*oo.ven_name)
        return gw_usage_error(cmd, "--ven-name NAME is required");
    if (strlen(oo.ven_name) >= OADR_ID_MAX * 2)
        return gw_usage_error(cmd, "--ven-name is too long (at most %d characters)", OADR_ID_MAX * 2 - 1);
    if (strncmp(oo.url, "http://", 7) != 0 && strncmp(oo.url, "https://", 8) != 0)
        return gw_usage_error(cmd, "--vtn must be an http:// or https:// URL");
    if ((ca || cert || key) && !(ca && cert && key))
        return gw_usage_error(cmd, "--ca, --cert and --key go together");
    if ((client_id && !client_secret) || (!client_id && client_secret))
        return gw_usage_error(cmd, "--client-id and --client-secret go together");
    if (token && client_id)
        return gw_usage_error(cmd, "--token or --client-id/--client-secret, not both");
    if (strcmp(version, "3.0") == 0) {
        gw_oadr3_run_opts_t o3 = { oo.url, oo.ven_name, token, client_id, client_secret, ca, cert, key, adapter,
                                   site_opts.adapter_config, state_dir, site_opts.status_file, duration, verbose,
                                   oo.seed };
        return gw_cmd_oadr3_run(&o3);
    }
    if (token || client_id)
        fprintf(stderr, "gridedge oadr: --token/--client-id are OpenADR 3.0 options; ignored for 2.0b\n");
    if (strncmp(oo.url, "https://", 8) == 0 && !ca)
        return gw_usage_error(cmd, "an https:// VTN needs --ca, --cert and --key");
    if (oo.push_bind && !oo.push)
        return gw_usage_error(cmd, "--push-bind goes with --push-port");
    oo.ca_file = ca;
    oo.cert_file = cert;
    oo.key_file = key;
    if (verbose)
        log.level = GE_LOG_INFO;

    memset(&run, 0, sizeof(run));
    run.exit_code = GW_EXIT_OK;
    if (state_dir && gw_store_open(&store, state_dir, NULL, &log) < 0) {
        fprintf(stderr, "gridedge oadr: cannot open the state in %s\n", state_dir);
        return GW_EXIT_FAIL;
    }
    oo.store = store;
    oo.log = &log;
    site_opts.adapter = adapter;
    site_opts.log = &log;
    run.base = event_base_new();
    if (!run.base) {
        gw_store_close(store);
        fprintf(stderr, "gridedge oadr: cannot create the event loop\n");
        return GW_EXIT_FAIL;
    }
    if (gw_site_new(&run.site, &site_opts, gw_now(), err, sizeof(err)) < 0 ||
        gw_oadr_link_new(&run.link, run.base, &oo, err, sizeof(err)) < 0) {
        fprintf(stderr, "gridedge oadr: %s\n", err);
        run.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (gw_signals_init(&run.sig, run.base) < 0 || !(tick = event_new(run.base, -1, EV_PERSIST, on_tick, &run))) {
        fprintf(stderr, "gridedge oadr: cannot set up the event loop\n");
        run.exit_code = GW_EXIT_FAIL;
        goto out;
    }
    if (duration > 0)
        run.deadline = gw_now() + duration;
    event_add(tick, &period);
    on_tick(-1, 0, &run);
    event_base_dispatch(run.base);
    gw_site_flush(run.site);
out:
    if (tick)
        event_free(tick);
    gw_signals_free(&run.sig);
    gw_oadr_link_free(run.link);
    gw_site_free(run.site);
    event_base_free(run.base);
    gw_store_close(store);
    return run.exit_code;
}
