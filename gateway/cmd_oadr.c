/* cmd_oadr.c - `gridedge oadr run`: the OpenADR VEN driving a site (CLI-CONTRACT.md).  2.0b is the
 * simple HTTP VEN of stack/oadr (pull, or push with --push-port; TLS with --ca/--cert/--key, for
 * the push server too; XML signatures both ways with --sign);
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
#include "gateway/client_run.h"
#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"
#include "gateway/oadr_link.h"
#include "gateway/site.h"
#include "gateway/store.h"

/* One tick: the site's readings for the reports, the link's exchanges, the site driven by the
 * events in force (a 2.0b link has no fatal error: it keeps trying). */
static const char *oadr_tick(void *link, gw_site_t *site, double now)
{
    gw_oadr_link_t *l = link;
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    size_t n = 0;

    gw_site_device(site, &caps, &tel);
    gw_oadr_link_sample(l, now, &caps, &tel);
    gw_oadr_link_pump(l, now);
    memset(&in, 0, sizeof(in));
    if (gw_oadr_link_setpoint(l, now, &sp))
        in.utility = &sp;
    in.simple_level = -1;
    if (gw_oadr_link_control(l, now, &in.simple_level, &in.has_price, &in.price, controls,
                             GW_STATUS_MAX_CONTROLS, &n) == 0) {
        in.controls = controls;
        in.n_controls = n;
    }
    in.server_time = gw_oadr_link_server_time(l, now);
    gw_site_tick(site, now, &in);
    return NULL;
}

typedef struct oadr_run {
    gw_client_run_t run;
    gw_oadr_opts_t *oo;
} oadr_run_t;

static int oadr_link_new(gw_client_run_t *r, struct event_base *base, gw_store_t *store, char *err, size_t errlen)
{
    oadr_run_t *orun = (oadr_run_t *)r;
    gw_oadr_link_t *l = NULL;
    int rc;

    orun->oo->store = store;
    rc = gw_oadr_link_new(&l, base, orun->oo, err, errlen);
    r->link = l;
    return rc;
}

static void oadr_link_free(void *link)
{
    gw_oadr_link_free(link);
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
        { "push-bind", required_argument, NULL, 'B' },   { "push-cert", required_argument, NULL, 'p' },
        { "push-key", required_argument, NULL, 'q' },    { "resource-id", required_argument, NULL, 'R' },
        { "group-id", required_argument, NULL, 'G' },    { "party-id", required_argument, NULL, 'Y' },
        { "sign", no_argument, NULL, 'X' },             { "base-price", required_argument, NULL, 'b' },
        { "unavailable", required_argument, NULL, 'U' },
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
    oadr_run_t run;
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
        case 'X': oo.sign = 1; break; /* 2.0b XML signatures: sign ours, require the VTN's */
        case 'b':
            /* 2.0b: the tariff priceRelative / priceMultiplier signals apply to */
            errno = 0;
            oo.base_price = strtod(optarg, &end);
            if (errno || *end || !*optarg || !isfinite(oo.base_price) || fabs(oo.base_price) > 1000)
                return gw_usage_error(cmd, "--base-price needs a price per kWh (-1000 to 1000), not '%s'", optarg);
            oo.has_base_price = 1;
            break;
        case 'p': oo.push_cert_file = optarg; break;
        case 'q': oo.push_key_file = optarg; break;
        case 'R':
        case 'G':
        case 'Y':
            /* 2.0b eiTarget: the identities the VEN answers to besides its venID */
            if (oo.n_targets == OADR_MAX_TARGETS)
                return gw_usage_error(cmd, "at most %d --resource-id/--group-id/--party-id", OADR_MAX_TARGETS);
            if (!*optarg || strlen(optarg) >= OADR_ID_MAX)
                return gw_usage_error(cmd, "--%s needs an id (1 to %d characters)",
                                      c == 'R' ? "resource-id" : c == 'G' ? "group-id" : "party-id", OADR_ID_MAX - 1);
            oo.targets[oo.n_targets].kind = c == 'R' ? OADR_TARGET_RESOURCE : c == 'G' ? OADR_TARGET_GROUP
                                                                                     : OADR_TARGET_PARTY;
            oo.targets[oo.n_targets++].id = optarg;
            break;
        case 'O':
            /* 2.0b extension: the home owner opts out of this event (answered optOut, not acted on) */
            if (oo.n_opt_out == GW_OADR_MAX_OPT_OUTS)
                return gw_usage_error(cmd, "at most %d --opt-out", GW_OADR_MAX_OPT_OUTS);
            if (!*optarg || strlen(optarg) >= OADR_ID_MAX)
                return gw_usage_error(cmd, "--opt-out needs an eventID (1 to %d characters)", OADR_ID_MAX - 1);
            oo.opt_out[oo.n_opt_out++] = optarg;
            break;
        case 'U': {
            /* 2.0b: the home is not available in START/DURATION (an EiOpt schedule, optOut) */
            char why[200];
            size_t n = 0;
            if (gw_config_parse_windows(optarg, oo.unavailable + oo.n_unavailable,
                                        GW_CONFIG_WINDOWS_MAX - oo.n_unavailable, &n, why, sizeof(why)) < 0)
                return gw_usage_error(cmd, "--unavailable: %s", why);
            if (n == 0)
                return gw_usage_error(cmd, "--unavailable needs START/DURATION, e.g. 2026-12-01T18:00:00Z/PT2H");
            oo.n_unavailable += n;
            break;
        }
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
    if ((cert || key) && !(cert && key))
        return gw_usage_error(cmd, "--cert and --key go together");
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
    if ((ca || cert) && !(ca && cert))
        return gw_usage_error(cmd, "--ca, --cert and --key go together");
    if (strncmp(oo.url, "https://", 8) == 0 && !ca)
        return gw_usage_error(cmd, "an https:// VTN needs --ca, --cert and --key");
    if (oo.sign && !(ca && cert && key))
        return gw_usage_error(cmd, "--sign needs --ca (to verify the VTN's signatures), --cert and --key (to sign)");
    if (oo.push_bind && !oo.push)
        return gw_usage_error(cmd, "--push-bind goes with --push-port");
    if ((oo.push_cert_file || oo.push_key_file) && !(oo.push && oo.push_cert_file && oo.push_key_file && ca))
        return gw_usage_error(cmd, "--push-cert and --push-key go together, with --push-port and --ca/--cert/--key");
    oo.owner_dir = state_dir; /* STATE_DIR/owner.ini: the home owner's live choices */
    oo.ca_file = ca;
    oo.cert_file = cert;
    oo.key_file = key;
    if (verbose)
        log.level = GE_LOG_INFO;

    oo.log = &log;
    site_opts.adapter = adapter;
    site_opts.log = &log;
    memset(&run, 0, sizeof(run));
    run.oo = &oo;
    run.run.name = "oadr";
    run.run.state_dir = state_dir;
    run.run.site = &site_opts;
    run.run.duration = duration;
    run.run.log = &log;
    run.run.link_new = oadr_link_new;
    run.run.link_free = oadr_link_free;
    run.run.tick = oadr_tick;
    return gw_client_run(&run.run);
}
