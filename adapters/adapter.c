/* adapter.c - the driver interface's wrappers: argument checks, the registry of built-in drivers,
 * and the sanity check that keeps a driver's garbage away from the protocol engines. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gridedge/adapter.h>
#include <gridedge/error.h>

int ge_alarms_parse(const char *text, uint32_t *bits, char *unknown, size_t unknown_size)
{
    static const char *const names[GE_ALARM_SEP_BITS] = {
        "over_current", "over_voltage", "under_voltage", "over_frequency", "under_frequency", "voltage_imbalance",
        "current_imbalance", "local_emergency", "remote_emergency", "low_input_power", "phase_rotation",
    };
    static const char seps[] = " \t\r\n,";
    int bad = 0;

    *bits = 0;
    for (const char *p = text + strspn(text, seps); *p; p += strspn(p, seps)) {
        size_t n = strcspn(p, seps);
        int b;
        for (b = 0; b < GE_ALARM_SEP_BITS && !(strlen(names[b]) == n && memcmp(names[b], p, n) == 0); b++)
            ;
        if (b < GE_ALARM_SEP_BITS) {
            *bits |= GE_ALARM_SEP(b);
        } else if (bad++ == 0 && unknown && unknown_size) {
            size_t k = n < unknown_size - 1 ? n : unknown_size - 1;
            memcpy(unknown, p, k);
            unknown[k] = '\0';
        }
        p += n;
    }
    return bad;
}

/* One device's state: as the driver reported it, or derived (see ge_telemetry_states()) for a device
 * that is there (PRESENT) with POWER_W flowing. */
static uint32_t device_state(uint32_t reported, int present, double power_w, uint32_t alarms)
{
    /* the DER faults of alarmStatus (GE_ALARM_OVER_CURRENT ..) */
    const uint32_t faults = ((1u << GE_ALARM_SEP_BITS) - 1) << 5;
    uint32_t st;

    if (reported & GE_DEV_REPORTED)
        return reported & GE_DEV_BITS;
    if (!present)
        return 0;
    st = GE_DEV_AVAILABLE;
    if (!(alarms & GE_ALARM_DISCONNECTED)) {
        st |= GE_DEV_CONNECTED;
        if (fabs(power_w) > 1.0)
            st |= GE_DEV_OPERATING;
    }
    if (alarms & faults)
        st |= GE_DEV_FAULT;
    return st;
}

void ge_telemetry_states(const ge_der_caps_t *caps, const ge_telemetry_t *tel, uint32_t *pv, uint32_t *battery,
                         uint32_t *ev)
{
    if (!caps || !tel)
        return;
    int storage = caps->rtg_max_wh > 0 || caps->rtg_max_charge_rate_w > 0 || caps->rtg_max_discharge_rate_w > 0;
    /* a DER whose ratings name neither PV nor storage is a generator: counted as the PV */
    if (pv)
        *pv = device_state(tel->pv_state, caps->pv_peak_w > 0 || !storage, tel->pv_w, tel->alarms);
    if (battery)
        *battery = device_state(tel->battery_state, storage, tel->battery_w, tel->alarms);
    if (ev)
        *ev = device_state(tel->ev_state, caps->ev_max_w > 0, tel->ev_w, tel->alarms);
}

const ge_adapter_ops_t *ge_adapter_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "sim") == 0)
        return ge_sim_adapter();
#ifdef GE_HAVE_LIBMODBUS
    if (strcmp(name, "sunspec") == 0)
        return ge_sunspec_adapter();
#endif
    return NULL;
}

void ge_setpoint_init(ge_setpoint_t *sp)
{
    if (!sp)
        return;
    memset(sp, 0, sizeof(*sp));
    sp->connect = 1;
    sp->energize = 1;
    sp->ramp_s = 1.0;
}

void ge_setpoint_merge(ge_setpoint_t *dst, const ge_setpoint_t *src, uint32_t modes)
{
    if (!dst || !src)
        return;
    uint32_t m = modes & src->set;
    if (m & GE_SP_BATTERY_W)
        dst->battery_w = src->battery_w;
    if (m & GE_SP_MAX_LIM)
        dst->max_lim_pct = src->max_lim_pct;
    if (m & GE_SP_CONNECT)
        dst->connect = src->connect;
    if (m & GE_SP_ENERGIZE)
        dst->energize = src->energize;
    if (m & GE_SP_EXPORT_LIM)
        dst->export_limit_w = src->export_limit_w;
    if (m & GE_SP_IMPORT_LIM)
        dst->import_limit_w = src->import_limit_w;
    if (m & GE_SP_GEN_LIM)
        dst->gen_limit_w = src->gen_limit_w;
    if (m & GE_SP_LOAD_LIM)
        dst->load_limit_w = src->load_limit_w;
    if (m & GE_SP_RAMP) {
        dst->ramp_s = src->ramp_s;
        dst->ramp_grad_pct_s = src->ramp_grad_pct_s;
    }
    if (m & GE_SP_EV_LIM)
        dst->ev_limit_w = src->ev_limit_w;
    if (m & GE_SP_PV_CAP)
        dst->pv_cap_w = src->pv_cap_w;
    if (m & GE_SP_PF_INJECT)
        dst->pf_inject = src->pf_inject;
    if (m & GE_SP_PF_ABSORB)
        dst->pf_absorb = src->pf_absorb;
    if (m & GE_SP_VOLT_VAR)
        dst->volt_var = src->volt_var;
    if (m & GE_SP_VOLT_WATT)
        dst->volt_watt = src->volt_watt;
    if (m & GE_SP_FREQ_WATT)
        dst->freq_watt = src->freq_watt;
    if (m & GE_SP_WATT_PF)
        dst->watt_pf = src->watt_pf;
    if (m & GE_SP_FIXED_VAR) {
        dst->fixed_var_pct = src->fixed_var_pct;
        dst->fixed_var_ref = src->fixed_var_ref;
    }
    if (m & GE_SP_TARGET_VAR)
        dst->target_var = src->target_var;
    if (m & GE_SP_WATT_VAR)
        dst->watt_var = src->watt_var;
    if (m & GE_SP_FREQ_DROOP)
        dst->freq_droop = src->freq_droop;
    for (int ct = GE_CURVE_HFRT_MAY_TRIP; ct <= GE_CURVE_LVRT_MUST_TRIP; ct++)
        if (m & GE_SP_RIDE_THROUGH(ct))
            dst->ride_through[ct - 1] = src->ride_through[ct - 1];
    dst->set |= m;
}

int ge_adapter_open(ge_adapter_t *ad, const ge_adapter_ops_t *ops, const ge_mem_t *mem,
                    const ge_log_t *log, const char *config)
{
    if (!ad || !ops || !ops->open || !ops->close || !ops->read || !ops->apply || !ops->capabilities)
        return GE_ERR_INVALID;
    ad->ops = NULL;
    ad->state = NULL;
    void *st = NULL;
    int rc = ops->open(&st, mem, log, config);
    if (rc < 0)
        return rc;
    ad->ops = ops;
    ad->state = st;
    return 0;
}

void ge_adapter_close(ge_adapter_t *ad)
{
    if (!ad || !ad->ops)
        return;
    ad->ops->close(ad->state);
    ad->ops = NULL;
    ad->state = NULL;
}

int ge_adapter_capabilities(const ge_adapter_t *ad, ge_der_caps_t *out)
{
    if (!ad || !ad->ops || !out)
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    int rc = ad->ops->capabilities(ad->state, out);
    if (rc < 0)
        return rc;
    if (!isfinite(out->rtg_max_w) || out->rtg_max_w < 0 || !isfinite(out->rtg_max_wh) ||
        out->rtg_max_wh < 0 || !isfinite(out->rtg_max_charge_rate_w) ||
        !isfinite(out->rtg_max_discharge_rate_w))
        return GE_ERR_DEVICE;
    return 0;
}

/* A reading is garbage when a number is not finite or breaks the header's sign conventions;
 * a little slack absorbs meter noise. */
static int telemetry_sane(const ge_telemetry_t *t)
{
    const double v[] = { t->time, t->pv_w, t->battery_w, t->soc_pct, t->stored_wh, t->ev_w,
                         t->house_w, t->site_w, t->voltage_v, t->frequency_hz, t->reactive_var,
                         t->import_wh, t->export_wh };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!isfinite(v[i]))
            return 0;
    if (t->pv_w < -1.0 || t->ev_w < -1.0 || t->soc_pct < -0.5 || t->soc_pct > 100.5 ||
        t->stored_wh < -1.0 || t->import_wh < 0 || t->export_wh < 0)
        return 0;
    return 1;
}

int ge_adapter_read(const ge_adapter_t *ad, ge_telemetry_t *out)
{
    if (!ad || !ad->ops || !out)
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    int rc = ad->ops->read(ad->state, out);
    if (rc < 0)
        return rc;
    return telemetry_sane(out) ? 0 : GE_ERR_DEVICE;
}

int ge_adapter_apply(const ge_adapter_t *ad, const ge_setpoint_t *sp, uint32_t *unsupported)
{
    if (unsupported)
        *unsupported = 0;
    if (!ad || !ad->ops || !sp)
        return GE_ERR_INVALID;
    return ad->ops->apply(ad->state, sp, unsupported);
}

int ge_adapter_step(const ge_adapter_t *ad, double now)
{
    if (!ad || !ad->ops || !isfinite(now))
        return GE_ERR_INVALID;
    if (!ad->ops->step)
        return 0;
    return ad->ops->step(ad->state, now);
}
