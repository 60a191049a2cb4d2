/* site.h - the site: the device adapter, the local price policy and the status file, stepped by
 * the daemon's clock.  The protocol links (2030.5, OpenADR) hand it what the utility asks; it
 * merges that with local price response, drives the devices, and snapshots the site for the
 * status file and the status page. */
#ifndef GATEWAY_SITE_H
#define GATEWAY_SITE_H

#include <gridedge/adapter.h>
#include <gridedge/log.h>
#include <gridedge/policy.h>

#include "gateway/status.h"

typedef struct gw_site gw_site_t;

typedef struct gw_site_opts {
    const char *adapter;        /* "sim" (default) or another built-in driver */
    const char *adapter_config; /* the driver's "key=value ..." options, may be NULL */
    const char *status_file;    /* rewritten atomically about every half second; NULL = none */
    ge_policy_config_t policy;
    const ge_log_t *log;
} gw_site_opts_t;

/* What the utility asks at this tick (all optional). */
typedef struct gw_site_input {
    const ge_setpoint_t *utility;        /* the controls in force, in device terms; NULL = none */
    const gw_status_control_t *controls; /* for the status file */
    size_t n_controls;
    int has_price;
    double price;
    int simple_level;                    /* OpenADR SIMPLE level, -1 = none */
    int64_t server_time;                 /* the utility's clock (0: not known yet, use ours) */
} gw_site_input_t;

/* A device that does not answer at start (the driver cannot reach it: GE_ERR_DEVICE, _TIMEOUT,
 * _IO) is not an error: the site starts with status mode "device unavailable", applies nothing,
 * and takes the device up on the tick it first answers (a lazy driver retries with backoff). */
int gw_site_new(gw_site_t **out, const gw_site_opts_t *opts, double now, char *err, size_t errlen);
void gw_site_free(gw_site_t *s);

/* Step the devices to NOW, decide and apply the setpoint, refresh the snapshot (and the status
 * file when due).  A failing driver is logged; the site keeps its last safe setpoint. */
int gw_site_tick(gw_site_t *s, double now, const gw_site_input_t *in);

/* 1 once the device has answered since start (its ratings and telemetry are real), else 0. */
int gw_site_device_ready(const gw_site_t *s);

/* The latest ratings and telemetry. */
void gw_site_device(const gw_site_t *s, ge_der_caps_t *caps, ge_telemetry_t *tel);

/* The latest snapshot. */
const gw_status_t *gw_site_status(const gw_site_t *s);

/* Write the status file now (e.g. when stopping). */
int gw_site_flush(gw_site_t *s);

#endif
