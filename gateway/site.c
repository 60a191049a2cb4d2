/* site.c - adapter + policy + status snapshot (see site.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>

#include "gateway/site.h"

#define STATUS_PERIOD_S 0.5
#define FAULT_LOG_PERIOD_S 60.0  /* a device that keeps failing is reported again this often */

struct gw_site {
    gw_site_opts_t opts;
    ge_adapter_t ad;
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    gw_status_t status;
    ge_setpoint_t last_sp;     /* the last setpoint decided on valid telemetry */
    int has_last_sp;
    int device_fault;          /* the last read failed: holding LAST_SP */
    int have_caps;             /* the device has answered since start (its ratings are known) */
    double unavailable_logged; /* when "not answering yet" was last reported */
    double fault_logged;       /* when the fault was last reported */
    char fault[64];            /* why, for the status */
    double now;                /* the last tick */
    int status_failed;         /* the last status file write failed (e.g. a full disk) */
    double status_fail_logged;
    double last_status_write;
    char status_file[1024];
};

/* The device is not there (yet): the driver cannot reach it, rather than refusing what it found. */
static int device_absent(int rc)
{
    return rc == GE_ERR_DEVICE || rc == GE_ERR_TIMEOUT || rc == GE_ERR_IO;
}

int gw_site_new(gw_site_t **out, const gw_site_opts_t *opts, double now, char *err, size_t errlen)
{
    const ge_adapter_ops_t *ops = ge_adapter_find(opts->adapter ? opts->adapter : "sim");
    gw_site_t *s;
    int rc;

    *out = NULL;
    if (!ops) {
        snprintf(err, errlen, "unknown adapter '%s'", opts->adapter);
        return GE_ERR_NOTFOUND;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    s->opts = *opts;
    if (opts->status_file) {
        if (strlen(opts->status_file) >= sizeof(s->status_file)) {
            free(s);
            snprintf(err, errlen, "status file path too long");
            return GE_ERR_INVALID;
        }
        snprintf(s->status_file, sizeof(s->status_file), "%s", opts->status_file);
        s->opts.status_file = s->status_file;
    }
    rc = ge_adapter_open(&s->ad, ops, NULL, opts->log, opts->adapter_config);
    if (rc == 0) {
        int rc2 = ge_adapter_step(&s->ad, now);
        if (rc2 == 0)
            rc2 = ge_adapter_capabilities(&s->ad, &s->caps);
        if (rc2 == 0)
            rc2 = ge_adapter_read(&s->ad, &s->tel);
        s->have_caps = rc2 == 0;
        /* a device that is away (switched off, still booting, its link down) is waited for: the
         * driver retries with backoff and gw_site_tick() takes it up when it answers.  Anything
         * else (e.g. a device with nothing we can drive) is an error now. */
        if (rc2 < 0 && !device_absent(rc2))
            rc = rc2;
        else if (rc2 < 0) {
            snprintf(s->fault, sizeof(s->fault), "not answering (%s)", ge_strerror(rc2));
            ge_log(opts->log, GE_LOG_WARN, "site", "device: %s; starting without it, keeping everything idle "
                   "until it answers", s->fault);
            s->unavailable_logged = now;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "adapter '%s': %s", ops->name, ge_strerror(rc));
        ge_adapter_close(&s->ad);
        free(s);
        return rc;
    }
    s->last_status_write = -1e18;
    *out = s;
    return 0;
}

void gw_site_free(gw_site_t *s)
{
    if (!s)
        return;
    ge_adapter_close(&s->ad);
    free(s);
}

/* A device that does not answer, or answers garbage (the adapter layer refuses out-of-range or
 * non-finite readings): decide nothing on a reading we do not have.  The device keeps the last
 * setpoint decided on valid telemetry, which is sent again every tick (a device that restarted, or
 * whose link came back, gets it at once); the fault is logged when it starts, every minute while
 * it lasts, and when it ends. */
static void device_failed(gw_site_t *s, double now, int rc, const char *what)
{
    if (!s->device_fault || now - s->fault_logged >= FAULT_LOG_PERIOD_S) {
        ge_log(s->opts.log, GE_LOG_ERROR, "site", "device: %s %s; holding the last valid setpoint, retrying", what,
               ge_strerror(rc));
        s->fault_logged = now;
    }
    if (!s->device_fault)
        snprintf(s->fault, sizeof(s->fault), "%s %s", what, ge_strerror(rc));
    s->device_fault = 1;
}

int gw_site_tick(gw_site_t *s, double now, const gw_site_input_t *in)
{
    ge_policy_input_t pin;
    ge_policy_output_t pout;
    uint32_t unsupported = 0;
    int rc;

    s->now = now;
    rc = ge_adapter_step(&s->ad, now);
    if (rc == 0 && !s->have_caps) {
        /* never answered since start: its ratings first (the driver backs off between attempts) */
        rc = ge_adapter_capabilities(&s->ad, &s->caps);
        if (rc == 0) {
            s->have_caps = 1;
            ge_log(s->opts.log, GE_LOG_INFO, "site", "device: answering now (it was %s)", s->fault);
        } else if (now - s->unavailable_logged >= FAULT_LOG_PERIOD_S) {
            ge_log(s->opts.log, GE_LOG_WARN, "site", "device: still not answering (%s); retrying", ge_strerror(rc));
            s->unavailable_logged = now;
        }
    }
    if (rc == 0)
        rc = ge_adapter_read(&s->ad, &s->tel);
    memset(&pout, 0, sizeof(pout));
    pout.action = GE_POLICY_IDLE;
    if (!s->have_caps) {
        /* nothing to decide for a device we have never seen: nothing is applied */
    } else if (rc < 0) {
        device_failed(s, now, rc, "reading failed:");
        if (s->has_last_sp)
            ge_adapter_apply(&s->ad, &s->last_sp, &unsupported);
    } else {
        memset(&pin, 0, sizeof(pin));
        pin.now = now;
        pin.has_price = in->has_price;
        pin.price = in->price;
        pin.simple_level = in->simple_level;
        pin.utility = in->utility && in->utility->set ? in->utility : NULL;
        pin.tel = s->tel;
        pin.caps = s->caps;
        if (ge_policy_decide(&s->opts.policy, &pin, &pout) == 0) {
            s->last_sp = pout.sp;
            s->has_last_sp = 1;
            rc = ge_adapter_apply(&s->ad, &pout.sp, &unsupported);
            if (rc < 0) {
                device_failed(s, now, rc, "refused the setpoint:");
            } else if (s->device_fault) {
                ge_log(s->opts.log, GE_LOG_INFO, "site", "device: answering again after %s", s->fault);
                s->device_fault = 0;
            }
        }
    }

    gw_status_t *st = &s->status;
    memset(st, 0, sizeof(*st));
    st->time = in->server_time ? in->server_time : (int64_t)floor(now);
    st->site_w = s->tel.site_w;
    st->pv_w = s->tel.pv_w;
    st->battery_w = s->tel.battery_w;
    st->soc_pct = s->tel.soc_pct;
    st->ev_w = s->tel.ev_w;
    st->house_w = s->tel.house_w;
    st->n_controls = in->n_controls < GW_STATUS_MAX_CONTROLS ? in->n_controls : GW_STATUS_MAX_CONTROLS;
    if (st->n_controls)
        memcpy(st->controls, in->controls, st->n_controls * sizeof(st->controls[0]));
    st->has_price = in->has_price;
    st->price = in->price;
    if (!s->have_caps) {
        snprintf(st->mode, sizeof(st->mode), "device unavailable");
        snprintf(st->reason, sizeof(st->reason), "the device is %s; retrying, nothing applied until it answers",
                 s->fault);
    } else if (s->device_fault) {
        snprintf(st->mode, sizeof(st->mode), "device fault");
        snprintf(st->reason, sizeof(st->reason), "device %s; holding the last valid setpoint", s->fault);
    } else {
        snprintf(st->mode, sizeof(st->mode), "%s", ge_policy_action_name(pout.action));
        snprintf(st->reason, sizeof(st->reason), "%s", pout.reason);
    }
    if (s->opts.status_file && now - s->last_status_write >= STATUS_PERIOD_S) {
        s->last_status_write = now;
        gw_site_flush(s);
    }
    return 0;
}

int gw_site_device_ready(const gw_site_t *s)
{
    return s->have_caps;
}

void gw_site_device(const gw_site_t *s, ge_der_caps_t *caps, ge_telemetry_t *tel)
{
    *caps = s->caps;
    *tel = s->tel;
}

const gw_status_t *gw_site_status(const gw_site_t *s)
{
    return &s->status;
}

int gw_site_flush(gw_site_t *s)
{
    /* a write that keeps failing (a full disk) is reported once a minute, not twice a second */
    int quiet = s->status_failed && s->now - s->status_fail_logged < FAULT_LOG_PERIOD_S;
    int rc;

    if (!s->opts.status_file)
        return 0;
    rc = gw_status_write_file(&s->status, s->opts.status_file, quiet ? NULL : s->opts.log);
    if (rc < 0 && !quiet)
        s->status_fail_logged = s->now;
    if (rc == 0 && s->status_failed)
        ge_log(s->opts.log, GE_LOG_INFO, "site", "status file %s written again", s->opts.status_file);
    s->status_failed = rc < 0;
    return rc;
}
