/* cmd_sep.c - `gridedge sep run`: the IEEE 2030.5 (CSIP) client driving a site (CLI-CONTRACT.md). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/error.h>
#include <gridedge/pki.h>

#include "gateway/cli.h"
#include "gateway/client_run.h"
#include "gateway/daemon.h"
#include "gateway/dnssd_probe.h"
#include "gateway/sep_agg.h"
#include "gateway/sep_link.h"
#include "gateway/site.h"
#include "gateway/store.h"
#include "gateway/url.h"

static const char *sep_tick(void *link, gw_site_t *site, double now)
{
    return gw_sep_link_drive(link, site, now);
}

typedef struct sep_run {
    gw_client_run_t run;
    gw_sep_opts_t *so;
    const gw_site_opts_t *agg_site; /* --aggregator: each EndDevice's site */
} sep_run_t;

static int sep_link_new(gw_client_run_t *r, struct event_base *base, gw_store_t *store, char *err, size_t errlen)
{
    sep_run_t *sr = (sep_run_t *)r;
    gw_sep_link_t *l = NULL;
    int rc;

    sr->so->store = store;
    rc = gw_sep_link_new(&l, base, sr->so, err, errlen);
    r->link = l;
    return rc;
}

static void sep_link_free(void *link)
{
    gw_sep_link_free(link);
}

/* --aggregator: the link is an aggregator's, with a site per EndDevice (the run has none). */
static int agg_new(gw_client_run_t *r, struct event_base *base, gw_store_t *store, char *err, size_t errlen)
{
    sep_run_t *sr = (sep_run_t *)r;
    gw_sep_agg_t *a = NULL;
    int rc;

    sr->so->store = store; /* the aggregator's own link's (its clock); each EndDevice has its own */
    rc = gw_sep_agg_new(&a, base, sr->so, sr->agg_site, r->state_dir, err, errlen);
    r->link = a;
    return rc;
}

static void agg_free(void *link)
{
    gw_sep_agg_free(link);
}

static const char *agg_tick(void *link, gw_site_t *site, double now)
{
    (void)site;
    return gw_sep_agg_tick(link, now);
}

/* `gridedge sep discover [--dnssd ADDR:PORT] [--timeout S]`: list the 2030.5 servers DNS-SD finds. */
static int sep_discover(const gw_command_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = { { "dnssd", required_argument, NULL, 'D' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { "verbose", no_argument, NULL, 'v' },
                                          { NULL, 0, NULL, 0 } };
    ge_log_t log = { gw_log_stderr, NULL, GE_LOG_WARN };
    const char *dest = NULL;
    double timeout = 3;
    sep_dnssd_result_t res;
    size_t shown = 0;
    char *end;
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'D': dest = optarg; break;
        case 'v': log.level = GE_LOG_INFO; break;
        case 't':
            errno = 0;
            timeout = strtod(optarg, &end);
            if (errno || *end || !(timeout > 0) || timeout > 600)
                return gw_usage_error(cmd, "--timeout needs a number of seconds, not '%s'", optarg);
            break;
        default: return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (gw_dnssd_discover(dest, timeout, &res, &log) < 0)
        return gw_usage_error(cmd, "--dnssd needs IPV4:PORT, not '%s'", dest ? dest : "");
    for (size_t i = 0; i < res.n; i++)
        if (res.servers[i].url[0]) {
            printf("%s\t%s\n", res.servers[i].url, res.servers[i].instance);
            shown++;
        }
    if (!shown) {
        fprintf(stderr, "gridedge sep: no IEEE 2030.5 server answered for %s within %.0f s\n", SEP_DNSSD_SERVICE,
                timeout);
        return GW_EXIT_FAIL;
    }
    return GW_EXIT_OK;
}

int gw_cmd_sep(int argc, char **argv)
{
    static const struct option opts[] = {
        { "server", required_argument, NULL, 's' },     { "ca", required_argument, NULL, 'a' },
        { "cert", required_argument, NULL, 'c' },       { "key", required_argument, NULL, 'k' },
        { "lfdi", required_argument, NULL, 'l' },       { "adapter", required_argument, NULL, 'A' },
        { "state-dir", required_argument, NULL, 'S' },  { "duration", required_argument, NULL, 'd' },
        { "status-file", required_argument, NULL, 'f' }, { "verbose", no_argument, NULL, 'v' },
        { "pin", required_argument, NULL, 'p' },        { "seed", required_argument, NULL, 'r' },
        { "adapter-config", required_argument, NULL, 'C' }, { "nmi", required_argument, NULL, 'n' },
        { "profile", required_argument, NULL, 'P' },     { "dnssd", required_argument, NULL, 'D' },
        { "notify", required_argument, NULL, 'N' },     { "demand-response", no_argument, NULL, 'R' },
        { "aggregator", no_argument, NULL, 'G' },       { "register-edev", required_argument, NULL, 'E' },
        { NULL, 0, NULL, 0 }
    };
    const gw_command_t *cmd = gw_command_find("sep");
    gw_sep_opts_t so;
    gw_site_opts_t site_opts;
    const char *state_dir = NULL, *adapter = "sim", *dnssd = NULL;
    sep_dnssd_result_t found;
    double duration = 0;
    int verbose = 0, aggregator = 0, c;
    ge_log_t log = { gw_log_stderr, NULL, GE_LOG_WARN };
    sep_run_t run;
    sep_end_device_t reg[SEP_MAX_END_DEVICES];
    char reg_nmi_text[SEP_MAX_END_DEVICES][33];
    const char *reg_nmi[SEP_MAX_END_DEVICES];
    size_t n_reg = 0;
    char *end;

    if (argc >= 2 && strcmp(argv[1], "discover") == 0)
        return sep_discover(cmd, argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "run") != 0)
        return gw_usage_error(cmd, argc < 2 ? "missing action: run" : "unknown action '%s'", argv[argc < 2 ? 0 : 1]);
    argc--;
    argv++;
    memset(&so, 0, sizeof(so));
    memset(&site_opts, 0, sizeof(site_opts));
    ge_policy_config_default(&site_opts.policy);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 's': so.url = optarg; break;
        case 'a': so.ca = optarg; break;
        case 'c': so.cert = optarg; break;
        case 'k': so.key = optarg; break;
        case 'l': so.lfdi = optarg; break;
        case 'A': adapter = optarg; break;
        case 'D': dnssd = optarg; break;
        case 'N': {
            char addr[64];
            unsigned port;
            if (strcmp(optarg, "off") != 0 && gw_notify_addr_parse(optarg, addr, sizeof(addr), &port) < 0)
                return gw_usage_error(cmd, "--notify needs IPADDR[:PORT], [IPV6]:PORT or off, not '%s'", optarg);
            so.notify = optarg;
            break;
        }
        case 'n':
            if (!*optarg || strlen(optarg) > 32)
                return gw_usage_error(cmd, "--nmi needs a connection point id of 1 to 32 characters");
            so.nmi = optarg;
            break;
        case 'P':
            if (strcmp(optarg, "auto") == 0)
                so.profile = SEP_PROFILE_AUTO;
            else if (strcmp(optarg, "csip") == 0)
                so.profile = SEP_PROFILE_CSIP;
            else if (strcmp(optarg, "csip-aus") == 0)
                so.profile = SEP_PROFILE_CSIP_AUS;
            else
                return gw_usage_error(cmd, "--profile must be auto, csip or csip-aus, not '%s'", optarg);
            break;
        case 'C': site_opts.adapter_config = optarg; break;
        case 'R': so.demand_response = 1; break;
        case 'G': aggregator = 1; break;
        case 'E': {
            const char *colon = strchr(optarg, ':');
            size_t len = colon ? (size_t)(colon - optarg) : strlen(optarg);
            if (n_reg == SEP_MAX_END_DEVICES)
                return gw_usage_error(cmd, "--register-edev: at most %d EndDevices", SEP_MAX_END_DEVICES);
            memset(&reg[n_reg], 0, sizeof(reg[n_reg]));
            if (len != 40)
                return gw_usage_error(cmd, "--register-edev needs LFDI[:NMI] with an LFDI of 40 hex digits, not '%s'",
                                      optarg);
            for (int i = 0; i < 40; i++) {
                if (!isxdigit((unsigned char)optarg[i]))
                    return gw_usage_error(cmd, "--register-edev: '%.40s' is not an LFDI of 40 hex digits", optarg);
                reg[n_reg].lfdi[i] = (char)toupper((unsigned char)optarg[i]);
            }
            if (ge_sfdi_from_lfdi(reg[n_reg].lfdi, &reg[n_reg].sfdi) < 0)
                return gw_usage_error(cmd, "--register-edev: '%.40s' is not an LFDI of 40 hex digits", optarg);
            if (colon && (!colon[1] || strlen(colon + 1) > 32))
                return gw_usage_error(cmd, "--register-edev: the NMI after ':' needs 1 to 32 characters");
            snprintf(reg_nmi_text[n_reg], sizeof(reg_nmi_text[n_reg]), "%s", colon ? colon + 1 : "");
            reg_nmi[n_reg] = colon ? reg_nmi_text[n_reg] : NULL;
            n_reg++;
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
        case 'p':
            errno = 0;
            so.pin = (uint32_t)strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg)
                return gw_usage_error(cmd, "--pin needs a number, not '%s'", optarg);
            break;
        case 'r':
            errno = 0;
            so.seed = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg)
                return gw_usage_error(cmd, "--seed needs a number, not '%s'", optarg);
            break;
        default: return gw_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return gw_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (verbose)
        log.level = GE_LOG_INFO;
    if (!so.url) { /* 2030.5 §6.5: find the server with DNS-SD */
        const sep_dnssd_server_t *best;
        if (gw_dnssd_discover(dnssd, 5, &found, &log) < 0)
            return gw_usage_error(cmd, "--dnssd needs IPV4:PORT, not '%s'", dnssd ? dnssd : "");
        if (!(best = sep_dnssd_best(&found))) {
            fprintf(stderr, "gridedge sep: no --server given and no IEEE 2030.5 server answered DNS-SD (%s) on %s\n",
                    SEP_DNSSD_SERVICE, dnssd ? dnssd : GW_DNSSD_MDNS);
            return GW_EXIT_FAIL;
        }
        so.url = best->url;
        ge_log(&log, GE_LOG_INFO, "sep", "DNS-SD: %s at %s", best->instance, best->url);
    }
    if (strncmp(so.url, "https://", 8) == 0 && (!so.ca || !so.cert || !so.key))
        return gw_usage_error(cmd, "https:// needs --ca, --cert and --key");
    if (strncmp(so.url, "http://", 7) == 0 && !so.lfdi && !so.cert)
        return gw_usage_error(cmd, "http:// needs --lfdi (the identity is not in a certificate)");
    if (strncmp(so.url, "http://", 7) != 0 && strncmp(so.url, "https://", 8) != 0)
        return gw_usage_error(cmd, "--server must be an http:// or https:// URL");
    if (aggregator && so.nmi)
        return gw_usage_error(cmd, "--nmi names one site's connection point; an aggregator's EndDevices have their own");
    if (n_reg && !aggregator)
        return gw_usage_error(cmd, "--register-edev names an aggregator's sites: it needs --aggregator");
    so.agg_register = reg;
    so.agg_register_nmi = reg_nmi;
    so.n_agg_register = n_reg;

    so.log = &log;
    site_opts.adapter = adapter;
    site_opts.log = &log;
    memset(&run, 0, sizeof(run));
    run.so = &so;
    run.run.name = "sep";
    run.run.state_dir = state_dir;
    run.run.site = &site_opts;
    run.run.duration = duration;
    run.run.log = &log;
    run.run.link_new = sep_link_new;
    run.run.link_free = sep_link_free;
    run.run.tick = sep_tick;
    if (aggregator) {
        run.agg_site = &site_opts;
        run.run.site = NULL;
        run.run.link_new = agg_new;
        run.run.link_free = agg_free;
        run.run.tick = agg_tick;
    }
    return gw_client_run(&run.run);
}
