/* oadr3_link.h - the OpenADR 3.0 VEN as the program runs it: the sans-I/O engine (gridedge/oadr3.h)
 * wired to the HTTP client on the event loop (http, or https with the "modern" TLS profile; the
 * bearer token on every request), the subscription
 * webhook (a small HTTP server on 127.0.0.1), and the site: the engine's SIMPLE level, prices and
 * capacity limits drive it, its telemetry feeds the reports. */
#ifndef GATEWAY_OADR3_LINK_H
#define GATEWAY_OADR3_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/adapter.h>
#include <gridedge/log.h>
#include <gridedge/oadr3.h>

#include "gateway/status.h"

struct event_base;

typedef struct gw_oadr3_link gw_oadr3_link_t;

typedef struct gw_oadr3_opts {
    const char *url;           /* the VTN's REST base, e.g. https://host:port/openadr3 */
    const char *ca_file;       /* https: trust anchors for the VTN (PEM); NULL: the system's */
    const char *cert_file;     /* https: our client certificate and key (PEM), optional */
    const char *key_file;
    const char *ven_name;
    const char *token;         /* a fixed bearer token, or */
    const char *client_id;     /* OAuth2 client credentials */
    const char *client_secret;
    int webhook;               /* 1: subscribe with a webhook on 127.0.0.1; 0: poll only */
    unsigned poll_s;           /* 0: the engine's default */
    uint64_t seed;
    const ge_log_t *log;
} gw_oadr3_opts_t;

int gw_oadr3_link_new(gw_oadr3_link_t **out, struct event_base *base, const gw_oadr3_opts_t *opts, char *err,
                      size_t errlen);
void gw_oadr3_link_free(gw_oadr3_link_t *l);

/* Send what the engine wants sent at NOW. */
void gw_oadr3_link_pump(gw_oadr3_link_t *l, double now);

/* Why the link must stop (the VTN's certificate was rejected: not our VTN), or NULL. */
const char *gw_oadr3_link_fatal(const gw_oadr3_link_t *l);

/* What the site does now, for the reports. */
void gw_oadr3_link_telemetry(gw_oadr3_link_t *l, const gw_status_t *st);

/* What the VTN's events ask at NOW: SIMPLE level (-1: none), price, capacity limits as a utility
 * setpoint (SP->set 0: none), and status entries for the events in force (up to MAX). */
int gw_oadr3_link_control(gw_oadr3_link_t *l, double now, int *simple_level, int *has_price, double *price,
                          ge_setpoint_t *sp, gw_status_control_t *controls, size_t max, size_t *n);

int64_t gw_oadr3_link_server_time(const gw_oadr3_link_t *l, double now);

/* Begin stopping (delete the subscriptions); 1 once nothing is left to send. */
void gw_oadr3_link_shutdown(gw_oadr3_link_t *l);
int gw_oadr3_link_done(const gw_oadr3_link_t *l);

const oadr3_ven_t *gw_oadr3_link_engine(const gw_oadr3_link_t *l);

/* `gridedge oadr run --version 3.0`: the options gateway/cmd_oadr.c parsed. */
typedef struct gw_oadr3_run_opts {
    const char *url, *ven_name, *token, *client_id, *client_secret;
    const char *ca, *cert, *key;
    const char *adapter, *adapter_config, *state_dir, *status_file;
    double duration;           /* 0: until SIGTERM/SIGINT */
    int verbose;
    uint64_t seed;
} gw_oadr3_run_opts_t;

/* Runs the VEN; returns the process exit code. */
int gw_cmd_oadr3_run(const gw_oadr3_run_opts_t *o);

#endif
