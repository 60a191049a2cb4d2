/* sim.c - the simulated home behind `--adapter sim`: PV following the sun with seeded clouds, a
 * battery with SoC, limits, efficiency and ramp, an EV that comes and goes with an energy need,
 * a house load profile, and the site meter.  Sans-I/O: time only advances through ge_sim_step().
 *
 * Randomness is a pure function of (seed, what, slot) (a splitmix64 hash), not a PRNG stream:
 * the weather and the EV's habits at a given time do not depend on how the caller stepped, so a
 * coarse and a fine simulation of the same day see the same sky. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gridedge/adapter.h>
#include <gridedge/error.h>

#define SIM_SUBSTEP_S 60.0    /* longest interval integrated with constant power */
#define CLOUD_SLOT_S 900.0    /* clouds change every 15 min */
#define LOAD_SLOT_S 300.0     /* house-load noise every 5 min */
#define DAY_S 86400.0
#define PI 3.14159265358979323846

/* A site limit (export or import) moving to a new value: the limit in force goes linearly from
 * FROM_W at T0 to TARGET_W at T0 + DUR_S (DUR_S 0: at once). */
typedef struct sim_limit_ramp {
    int on;                   /* the limit is set */
    double target_w, from_w, t0, dur_s;
} sim_limit_ramp_t;

struct ge_sim {
    ge_mem_t mem;
    ge_sim_config_t cfg;
    double eta;               /* one-way efficiency, sqrt(round trip) */
    double load_norm;         /* mean of the unscaled daily profile */
    int started;              /* the clock is set */
    ge_setpoint_t sp;
    double ramp_from_w;       /* battery power when the present setpoint was applied */
    double ramp_t0;           /* when it was applied */
    sim_limit_ramp_t exp_ramp, imp_ramp; /* the site's export and import limits in force */
    long ev_session;          /* local day of the EV visit in progress, LONG_MIN if none */
    double ev_depart;
    uint32_t devices;         /* ge_sim_device_fault bits: devices switched off or tripped */
    ge_telemetry_t t;         /* the state after the last step */
};

/* --- deterministic noise --------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Uniform in [0, 1) for (seed, stream, slot). */
static double u01(uint64_t seed, uint64_t stream, long long slot)
{
    uint64_t h = splitmix64(seed ^ splitmix64(stream * 0x100000001b3ULL ^ (uint64_t)slot));
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* --- environment ----------------------------------------------------------------------------- */

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Sine of the sun's elevation at unix time T (declination and hour angle; the equation of time
 * is left out, a few minutes do not matter here). */
static double sun_sin_elevation(const ge_sim_t *s, double t)
{
    double days = (t - 946728000.0) / DAY_S; /* since 2000-01-01 12:00 UTC */
    double doy = fmod(days, 365.2422);
    if (doy < 0)
        doy += 365.2422;
    double decl = -23.44 * PI / 180.0 * cos(2.0 * PI * (doy + 10.0) / 365.2422);
    double solar_h = fmod(t / 3600.0 + s->cfg.longitude_deg / 15.0, 24.0);
    if (solar_h < 0)
        solar_h += 24.0;
    double ha = (solar_h - 12.0) * 15.0 * PI / 180.0;
    double lat = s->cfg.latitude_deg * PI / 180.0;
    return sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(ha);
}

static double cloud_slot_factor(const ge_sim_t *s, long long slot)
{
    long long day = (long long)floor(slot * CLOUD_SLOT_S / DAY_S);
    double day_cloud = u01(s->cfg.seed, 1, day);
    day_cloud *= day_cloud; /* mostly clear days, some overcast ones */
    return 1.0 - day_cloud * (0.3 + 0.6 * u01(s->cfg.seed, 2, slot));
}

double ge_sim_pv_available(const ge_sim_t *s, double t)
{
    if (!s)
        return 0;
    double se = sun_sin_elevation(s, t);
    if (se <= 0)
        return 0;
    double slot = floor(t / CLOUD_SLOT_S), frac = t / CLOUD_SLOT_S - slot;
    double c = cloud_slot_factor(s, (long long)slot) * (1 - frac) +
               cloud_slot_factor(s, (long long)slot + 1) * frac;
    /* the exponent stands for air mass: a low sun gives disproportionately little */
    return s->cfg.pv_peak_w * pow(se, 1.2) * c;
}

/* Daily house profile: base load, a morning and a larger evening peak, a small midday bump. */
static const struct { double amp, mu_h, sigma_h; } load_bumps[] = {
    { 0.45, 7.5, 1.0 }, { 1.10, 19.5, 1.8 }, { 0.15, 13.0, 2.0 },
};
#define LOAD_BASE 0.55

static double load_shape(double h)
{
    double v = LOAD_BASE;
    for (size_t i = 0; i < sizeof(load_bumps) / sizeof(load_bumps[0]); i++) {
        double d = fabs(h - load_bumps[i].mu_h);
        if (d > 12)
            d = 24 - d;
        d /= load_bumps[i].sigma_h;
        v += load_bumps[i].amp * exp(-0.5 * d * d);
    }
    return v;
}

static double house_w(const ge_sim_t *s, double t)
{
    double local = t + s->cfg.utc_offset_s;
    double h = fmod(local / 3600.0, 24.0);
    if (h < 0)
        h += 24;
    double doy = fmod(local / DAY_S, 365.2422);
    double season = 1.0 + 0.15 * cos(2 * PI * doy / 365.2422); /* more in winter (north) */
    /* the noise moves smoothly from one slot's value to the next, as the clouds do: a step would
     * leave a controller that follows the load a tick behind at every slot edge */
    double slot = floor(t / LOAD_SLOT_S), frac = t / LOAD_SLOT_S - slot;
    double noise = 0.85 + 0.3 * (u01(s->cfg.seed, 7, (long long)slot) * (1 - frac) +
                                 u01(s->cfg.seed, 7, (long long)slot + 1) * frac);
    return s->cfg.house_mean_w * load_shape(h) / s->load_norm * season * noise;
}

/* The EV visit that starts on local day D: present?, arrival, departure, need. */
static int ev_visit(const ge_sim_t *s, long d, double *arrive, double *depart, double *need)
{
    if (u01(s->cfg.seed, 3, d) >= s->cfg.ev_probability)
        return 0;
    double day0 = (double)d * DAY_S - s->cfg.utc_offset_s;
    *arrive = day0 + (17.0 + 3.0 * u01(s->cfg.seed, 4, d)) * 3600.0;
    *depart = day0 + DAY_S + (6.5 + 2.0 * u01(s->cfg.seed, 5, d)) * 3600.0;
    *need = 4000.0 + 20000.0 * u01(s->cfg.seed, 6, d);
    return 1;
}

/* Plug the EV in or out for time T. */
static void ev_update(ge_sim_t *s, double t)
{
    long today = (long)floor((t + s->cfg.utc_offset_s) / DAY_S);
    for (long d = today - 1; d <= today; d++) {
        double a, dep, need;
        if (ev_visit(s, d, &a, &dep, &need) && a <= t && t < dep) {
            if (!s->t.ev_connected || s->ev_session != d) {
                s->ev_session = d;
                s->t.ev_connected = 1;
                s->t.ev_need_wh = need;
                s->t.ev_departure = dep;
            }
            return;
        }
    }
    s->t.ev_connected = 0;
    s->t.ev_need_wh = 0;
    s->t.ev_departure = 0;
}

/* --- configuration --------------------------------------------------------------------------- */

void ge_sim_config_default(ge_sim_config_t *c)
{
    if (!c)
        return;
    memset(c, 0, sizeof(*c));
    c->seed = 1;
    c->latitude_deg = 37.8;
    c->longitude_deg = -122.3;
    c->utc_offset_s = -8 * 3600.0;
    c->pv_peak_w = 5000;
    c->battery_wh = 13500;
    c->battery_max_w = 5000;
    c->soc_start_pct = 50;
    c->round_trip_eff = 0.90;
    c->ev_max_w = 7200;
    c->house_mean_w = 1000;
    c->ev_probability = 0.8;
}

static int parse_double(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi)
        return GE_ERR_CONFIG;
    *out = d;
    return 0;
}

int ge_sim_config_set(ge_sim_config_t *c, const char *key, const char *value)
{
    if (!c || !key || !value)
        return GE_ERR_INVALID;
    if (strcmp(key, "seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-')
            return GE_ERR_CONFIG;
        c->seed = v;
        return 0;
    }
    static const struct { const char *key; size_t off; double lo, hi; } keys[] = {
        { "latitude", offsetof(ge_sim_config_t, latitude_deg), -90, 90 },
        { "longitude", offsetof(ge_sim_config_t, longitude_deg), -180, 180 },
        { "utc_offset", offsetof(ge_sim_config_t, utc_offset_s), -14 * 3600, 14 * 3600 },
        { "pv_peak_w", offsetof(ge_sim_config_t, pv_peak_w), 0, 1e6 },
        { "battery_wh", offsetof(ge_sim_config_t, battery_wh), 0, 1e7 },
        { "battery_max_w", offsetof(ge_sim_config_t, battery_max_w), 0, 1e6 },
        { "soc", offsetof(ge_sim_config_t, soc_start_pct), 0, 100 },
        { "efficiency", offsetof(ge_sim_config_t, round_trip_eff), 0.01, 1 },
        { "ev_max_w", offsetof(ge_sim_config_t, ev_max_w), 0, 1e6 },
        { "house_w", offsetof(ge_sim_config_t, house_mean_w), 0, 1e6 },
        { "ev_probability", offsetof(ge_sim_config_t, ev_probability), 0, 1 },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i].key) == 0)
            return parse_double(value, keys[i].lo, keys[i].hi,
                                (double *)(void *)((char *)c + keys[i].off));
    return GE_ERR_CONFIG;
}

/* --- life cycle ------------------------------------------------------------------------------ */

int ge_sim_new(ge_sim_t **out, const ge_mem_t *mem, const ge_sim_config_t *cfg)
{
    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    ge_sim_config_t c;
    if (cfg)
        c = *cfg;
    else
        ge_sim_config_default(&c);
    if (c.battery_wh < 0 || c.battery_max_w < 0 || c.pv_peak_w < 0 || c.ev_max_w < 0 ||
        c.soc_start_pct < 0 || c.soc_start_pct > 100 || !(c.round_trip_eff > 0) ||
        c.round_trip_eff > 1 || c.house_mean_w < 0)
        return GE_ERR_RANGE;
    if (!mem)
        mem = ge_mem_default();
    ge_sim_t *s = mem->malloc(sizeof(*s), mem->ud);
    if (!s)
        return GE_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->mem = *mem;
    s->cfg = c;
    s->eta = sqrt(c.round_trip_eff);
    s->load_norm = LOAD_BASE;
    for (size_t i = 0; i < sizeof(load_bumps) / sizeof(load_bumps[0]); i++)
        s->load_norm += load_bumps[i].amp * load_bumps[i].sigma_h * sqrt(2 * PI) / 24.0;
    ge_setpoint_init(&s->sp);
    s->t.stored_wh = c.battery_wh * c.soc_start_pct / 100.0;
    s->t.soc_pct = c.soc_start_pct;
    s->t.voltage_v = 240.0;
    s->t.frequency_hz = 60.0;
    *out = s;
    return 0;
}

void ge_sim_free(ge_sim_t *s)
{
    if (s)
        s->mem.free(s, s->mem.ud);
}

int ge_sim_capabilities(const ge_sim_t *s, ge_der_caps_t *o)
{
    if (!s || !o)
        return GE_ERR_INVALID;
    memset(o, 0, sizeof(*o));
    /* AC-coupled: a PV inverter and a battery inverter behind one meter, described as one DER whose
     * ratings are the totals over the two (CSIP-AUS MUL-03; SA Power Networks' handbook 8.4), each
     * inverter rated for its full power in VA and 0.9 PF at full power (0.44 var per VA) */
    double pv_va = s->cfg.pv_peak_w, battery_va = s->cfg.battery_max_w;
    o->modes = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_CONNECT | GE_SP_ENERGIZE |
               GE_SP_EXPORT_LIM | GE_SP_IMPORT_LIM | GE_SP_GEN_LIM | GE_SP_LOAD_LIM | GE_SP_RAMP |
               GE_SP_EV_LIM | GE_SP_PV_CAP | GE_SP_PF_INJECT | GE_SP_PF_ABSORB;
    o->rtg_max_w = s->cfg.pv_peak_w + s->cfg.battery_max_w;
    o->rtg_max_va = pv_va + battery_va;
    o->rtg_max_var = 0.44 * pv_va + 0.44 * battery_va;
    o->rtg_max_charge_rate_w = s->cfg.battery_max_w;
    o->rtg_max_discharge_rate_w = s->cfg.battery_max_w;
    o->rtg_max_wh = s->cfg.battery_wh;
    o->rtg_min_pf = 0.9;
    o->rtg_v_nom = 240.0;
    o->pv_peak_w = s->cfg.pv_peak_w;
    o->ev_max_w = s->cfg.ev_max_w;
    return 0;
}

/* The battery power SP asks for: its target, or 0 while it keeps the DER off the grid. */
static double effective_target(const ge_setpoint_t *sp)
{
    if (((sp->set & GE_SP_CONNECT) && !sp->connect) || ((sp->set & GE_SP_ENERGIZE) && !sp->energize))
        return 0;
    return (sp->set & GE_SP_BATTERY_W) ? sp->battery_w : 0;
}

/* How long the move from FROM_W to TARGET_W takes under SP: rampTms, or at setGradW of RATING_W. */
static double ramp_time(const ge_setpoint_t *sp, double from_w, double target_w, double rating_w)
{
    if (!(sp->set & GE_SP_RAMP))
        return 1.0;
    if (sp->ramp_grad_pct_s > 0 && rating_w > 0)
        return fabs(target_w - from_w) / (sp->ramp_grad_pct_s / 100.0 * rating_w);
    return sp->ramp_s;
}

/* The limit in force at T: where the ramp R has got to. */
static double limit_in_force(const sim_limit_ramp_t *r, double t)
{
    if (r->dur_s > 0 && t - r->t0 < r->dur_s)
        return r->from_w + (r->target_w - r->from_w) * clamp((t - r->t0) / r->dur_s, 0, 1);
    return r->target_w;
}

/* A site limit set to VALUE_W (HAS: set at all) by SP, with FLOW_W the site's present power in the
 * limit's direction (export or import, >= 0).  A device does not jump to a new limit when a ramp is
 * asked for (rampTms, or a default's setGradW: CSIP-AUS ALL-28): the limit in force moves linearly
 * from where the site was held - the present flow, or the old limit in force if that was lower - to
 * the new value, over the ramp time or at the gradient of RATING_W.  A new ramp rate alone restarts
 * a ramp under way from where it has got to.  No ramp asked for, or a limit lifted: at once. */
static void limit_apply(sim_limit_ramp_t *r, const ge_setpoint_t *sp, int has, double value_w, double flow_w,
                        int ramp_changed, double now, double rating_w)
{
    double v = fmax(value_w, 0);
    if (!has) {
        r->on = 0;
        return;
    }
    double cur = r->on ? limit_in_force(r, now) : INFINITY;
    int moving = r->on && r->dur_s > 0 && now - r->t0 < r->dur_s;
    if (r->on && fabs(v - r->target_w) < 0.5 && !(ramp_changed && moving))
        return;
    r->from_w = r->on && fabs(v - r->target_w) < 0.5 ? cur : fmin(cur, fmax(flow_w, 0));
    r->target_w = v;
    r->t0 = now;
    r->dur_s = (sp->set & GE_SP_RAMP) ? ramp_time(sp, r->from_w, v, rating_w) : 0;
    r->on = 1;
}

int ge_sim_apply(ge_sim_t *s, const ge_setpoint_t *sp, uint32_t *unsupported)
{
    if (unsupported)
        *unsupported = 0;
    if (!s || !sp)
        return GE_ERR_INVALID;
    const double nums[] = { sp->battery_w, sp->max_lim_pct, sp->export_limit_w, sp->import_limit_w,
                            sp->gen_limit_w, sp->load_limit_w, sp->ramp_s, sp->ramp_grad_pct_s, sp->ev_limit_w,
                            sp->pv_cap_w, sp->pf_inject, sp->pf_absorb };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (!isfinite(nums[i]))
            return GE_ERR_RANGE;
    ge_der_caps_t caps;
    ge_sim_capabilities(s, &caps);
    if (unsupported)
        *unsupported = sp->set & ~caps.modes;
    /* the gateway re-applies its decision every tick, following the house load by a few watts:
     * only a new target (a step of more than 1 % of the rating) starts a new ramp; smaller moves
     * retarget the ramp under way, or apply at once after it */
    double old_target = effective_target(&s->sp), new_target = effective_target(sp);
    int ramp_changed = (s->sp.set & GE_SP_RAMP) != (sp->set & GE_SP_RAMP) || s->sp.ramp_s != sp->ramp_s ||
                       s->sp.ramp_grad_pct_s != sp->ramp_grad_pct_s;
    /* a new ramp rate (or a reconnection) starts from where the battery is, not where the last
     * ramp started */
    if (fabs(old_target - new_target) > 0.01 * s->cfg.battery_max_w || ramp_changed) {
        s->ramp_from_w = s->t.battery_w;
        s->ramp_t0 = s->t.time;
    }
    double rating = s->cfg.pv_peak_w + s->cfg.battery_max_w;
    limit_apply(&s->exp_ramp, sp, (sp->set & GE_SP_EXPORT_LIM) != 0, sp->export_limit_w, -s->t.site_w, ramp_changed,
                s->t.time, rating);
    limit_apply(&s->imp_ramp, sp, (sp->set & GE_SP_IMPORT_LIM) != 0, sp->import_limit_w, s->t.site_w, ramp_changed,
                s->t.time, rating);
    s->sp = *sp;
    return 0;
}

int ge_sim_read(const ge_sim_t *s, ge_telemetry_t *out)
{
    if (!s || !out)
        return GE_ERR_INVALID;
    *out = s->t;
    return 0;
}

/* --- physics ----------------------------------------------------------------------------------- */

/* The state a device reports when DEVICES switch it off (OFF) or trip it (FAULT); 0 (derived by the
 * stack) while it runs. */
static uint32_t device_state(uint32_t devices, uint32_t off, uint32_t fault)
{
    if (devices & fault)
        return GE_DEV_REPORTED | GE_DEV_FAULT;
    return devices & off ? GE_DEV_REPORTED : 0;
}

int ge_sim_set_devices(ge_sim_t *s, uint32_t devices)
{
    const uint32_t battery = GE_SIM_BATTERY_OFF | GE_SIM_BATTERY_FAULT;

    if (!s)
        return GE_ERR_INVALID;
    /* a battery back on moves to its target from 0 W over the ramp, as after a new setpoint */
    if ((s->devices & battery) && !(devices & battery)) {
        s->ramp_from_w = 0;
        s->ramp_t0 = s->t.time;
    }
    s->devices = devices;
    return 0;
}

/* Powers for the interval ending at T1 of length DT (DT 0: the instant T1). */
static void compute_flows(ge_sim_t *s, double t1, double dt)
{
    const ge_setpoint_t *sp = &s->sp;
    ge_telemetry_t *t = &s->t;
    double maxw = s->cfg.battery_max_w, cap_wh = s->cfg.battery_wh;
    uint32_t alarms = 0;

    ev_update(s, t1);
    double house = house_w(s, t1);
    double pv_avail = ge_sim_pv_available(s, t1);
    double pv = pv_avail;

    double target = (sp->set & GE_SP_BATTERY_W) ? clamp(sp->battery_w, -maxw, maxw) : 0.0;
    double ramp = ramp_time(sp, s->ramp_from_w, target, s->cfg.pv_peak_w + maxw);
    double batt = target;
    if (ramp > 0 && t1 - s->ramp_t0 < ramp)
        batt = s->ramp_from_w + (target - s->ramp_from_w) * clamp((t1 - s->ramp_t0) / ramp, 0, 1);

    if (((sp->set & GE_SP_CONNECT) && !sp->connect) || ((sp->set & GE_SP_ENERGIZE) && !sp->energize)) {
        pv = 0;
        batt = 0;
        alarms |= GE_ALARM_DISCONNECTED;
    }
    if (sp->set & GE_SP_PV_CAP)
        pv = fmin(pv, fmax(sp->pv_cap_w, 0));
    /* a device switched off or tripped gives nothing (and is not "limited") */
    if (s->devices & (GE_SIM_PV_OFF | GE_SIM_PV_FAULT))
        pv = pv_avail = 0;
    if (s->devices & (GE_SIM_BATTERY_OFF | GE_SIM_BATTERY_FAULT))
        batt = target = 0;

    /* generation caps: trim the battery's discharge first (stored energy keeps), then PV */
    double gen_cap = INFINITY;
    if (sp->set & GE_SP_MAX_LIM)
        gen_cap = fmax(sp->max_lim_pct, 0) / 100.0 * (s->cfg.pv_peak_w + maxw);
    if (sp->set & GE_SP_GEN_LIM)
        gen_cap = fmin(gen_cap, fmax(sp->gen_limit_w, 0));
    if (pv + fmax(batt, 0) > gen_cap) {
        double excess = pv + fmax(batt, 0) - gen_cap;
        double cut = fmin(excess, fmax(batt, 0));
        batt -= cut;
        pv = fmax(pv - (excess - cut), 0);
    }

    /* the battery's energy bounds over this interval */
    if (dt > 0) {
        double max_out = t->stored_wh * s->eta * 3600.0 / dt;
        double max_in = (cap_wh - t->stored_wh) / s->eta * 3600.0 / dt;
        if (batt > max_out) {
            batt = max_out;
            alarms |= GE_ALARM_SOC_EMPTY;
        }
        if (-batt > max_in) {
            batt = -max_in;
            alarms |= GE_ALARM_SOC_FULL;
        }
    } else {
        if (batt > 0 && t->stored_wh <= 0) {
            batt = 0;
            alarms |= GE_ALARM_SOC_EMPTY;
        }
        if (batt < 0 && t->stored_wh >= cap_wh) {
            batt = 0;
            alarms |= GE_ALARM_SOC_FULL;
        }
    }

    double ev = 0;
    if (t->ev_connected && t->ev_need_wh > 0 && !(s->devices & (GE_SIM_EV_OFF | GE_SIM_EV_FAULT))) {
        ev = s->cfg.ev_max_w;
        if (sp->set & GE_SP_EV_LIM)
            ev = fmin(ev, fmax(sp->ev_limit_w, 0));
        if (dt > 0)
            ev = fmin(ev, t->ev_need_wh * 3600.0 / dt);
    }

    /* consumption caps: battery charge first, then the EV */
    if ((sp->set & GE_SP_LOAD_LIM) && fmax(-batt, 0) + ev > fmax(sp->load_limit_w, 0)) {
        double excess = fmax(-batt, 0) + ev - fmax(sp->load_limit_w, 0);
        double cut = fmin(excess, fmax(-batt, 0));
        batt += cut;
        ev = fmax(ev - (excess - cut), 0);
    }

    /* site limits (CSIP-AUS opModExpLimW / opModImpLimW), as far as a ramp has moved them */
    double exp_lim = limit_in_force(&s->exp_ramp, t1), imp_lim = limit_in_force(&s->imp_ramp, t1);
    double site = house + ev - pv - batt;
    if ((sp->set & GE_SP_EXPORT_LIM) && site < -exp_lim) {
        double excess = -exp_lim - site;
        double cut = fmin(excess, fmax(batt, 0));
        batt -= cut;
        pv = fmax(pv - (excess - cut), 0);
    }
    site = house + ev - pv - batt;
    if ((sp->set & GE_SP_IMPORT_LIM) && site > imp_lim) {
        double excess = site - imp_lim;
        double cut = fmin(excess, fmax(-batt, 0));
        batt += cut;
        ev = fmax(ev - (excess - cut), 0);
    }
    if (fabs(batt - target) > 1e-6 && !(alarms & (GE_ALARM_SOC_EMPTY | GE_ALARM_SOC_FULL)) &&
        !(ramp > 0 && t1 - s->ramp_t0 < ramp))
        alarms |= GE_ALARM_LIMITED;
    if (pv < pv_avail - 1e-6 && !(alarms & GE_ALARM_DISCONNECTED))
        alarms |= GE_ALARM_LIMITED;

    t->house_w = house;
    t->pv_w = pv;
    t->battery_w = batt;
    t->ev_w = ev;
    t->site_w = house + ev - pv - batt;
    /* a simple feeder: export lifts the voltage at the meter */
    t->voltage_v = 240.0 - t->site_w / 2000.0;
    t->frequency_hz = 60.0;
    double p_out = pv + batt;
    double pf = 1.0;
    if (p_out > 0 && (sp->set & GE_SP_PF_INJECT))
        pf = clamp(sp->pf_inject, 0.1, 1.0);
    else if (p_out < 0 && (sp->set & GE_SP_PF_ABSORB))
        pf = clamp(sp->pf_absorb, 0.1, 1.0);
    /* fixed PF is used to absorb vars and hold the voltage down */
    t->reactive_var = -fabs(p_out) * tan(acos(pf));
    t->alarms = alarms;
    /* the devices switched off or tripped say so; the stack derives the others' states */
    t->pv_state = device_state(s->devices, GE_SIM_PV_OFF, GE_SIM_PV_FAULT);
    t->battery_state = device_state(s->devices, GE_SIM_BATTERY_OFF, GE_SIM_BATTERY_FAULT);
    t->ev_state = device_state(s->devices, GE_SIM_EV_OFF, GE_SIM_EV_FAULT);
}

static void integrate(ge_sim_t *s, double dt)
{
    ge_telemetry_t *t = &s->t;
    double h = dt / 3600.0;
    if (t->battery_w > 0) {
        t->battery_discharge_wh += t->battery_w * h;
        t->stored_wh -= t->battery_w * h / s->eta;
    } else {
        t->battery_charge_wh += -t->battery_w * h;
        t->stored_wh += -t->battery_w * h * s->eta;
    }
    t->stored_wh = clamp(t->stored_wh, 0, s->cfg.battery_wh);
    t->pv_wh += t->pv_w * h;
    t->house_wh += t->house_w * h;
    t->ev_wh += t->ev_w * h;
    t->ev_need_wh = fmax(t->ev_need_wh - t->ev_w * h, 0);
    if (t->site_w > 0)
        t->import_wh += t->site_w * h;
    else
        t->export_wh += -t->site_w * h;
    t->soc_pct = s->cfg.battery_wh > 0 ? 100.0 * t->stored_wh / s->cfg.battery_wh : 0;
}

int ge_sim_step(ge_sim_t *s, double now)
{
    if (!s || !isfinite(now))
        return GE_ERR_INVALID;
    if (!s->started || now < s->t.time) {
        s->started = 1;
        s->t.time = now;
        s->ramp_t0 = fmin(s->ramp_t0, now);
        compute_flows(s, now, 0);
        return 0;
    }
    while (s->t.time < now) {
        double t1 = fmin(now, s->t.time + SIM_SUBSTEP_S);
        double dt = t1 - s->t.time;
        compute_flows(s, t1, dt);
        integrate(s, dt);
        s->t.time = t1;
    }
    return 0;
}

/* --- the driver vtable ------------------------------------------------------------------------- */

int ge_sim_faults_parse(const char *text, uint32_t *alarms, uint32_t *devices, char *unknown, size_t unknown_size)
{
    static const struct { const char *name; uint32_t bit; } words[] = {
        { "pv_off", GE_SIM_PV_OFF },     { "battery_off", GE_SIM_BATTERY_OFF },     { "ev_off", GE_SIM_EV_OFF },
        { "pv_fault", GE_SIM_PV_FAULT }, { "battery_fault", GE_SIM_BATTERY_FAULT }, { "ev_fault", GE_SIM_EV_FAULT },
    };
    static const char seps[] = " \t\r\n,";
    int bad = 0;

    if (!text || !alarms || !devices)
        return GE_ERR_INVALID;
    *alarms = *devices = 0;
    for (const char *p = text + strspn(text, seps); *p; p += strspn(p, seps)) {
        size_t n = strcspn(p, seps), i;
        char word[33];
        uint32_t bit = 0;
        for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (strlen(words[i].name) == n && memcmp(words[i].name, p, n) == 0)
                break;
        if (n < sizeof(word)) { /* else no name of either kind */
            memcpy(word, p, n);
            word[n] = '\0';
            if (ge_alarms_parse(word, &bit, NULL, 0) != 0)
                bit = 0;
        }
        if (i < sizeof(words) / sizeof(words[0])) {
            *devices |= words[i].bit;
        } else if (bit) {
            *alarms |= bit;
        } else if (bad++ == 0 && unknown && unknown_size) {
            size_t k = n < unknown_size - 1 ? n : unknown_size - 1;
            memcpy(unknown, p, k);
            unknown[k] = '\0';
        }
        p += n;
    }
    return bad;
}

/* The driver: the simulated home, plus device faults raised from a file for tests (fault_file=PATH:
 * the file holds the names of the faults in force, e.g. "over_voltage under_frequency", and of the
 * devices switched off or tripped, e.g. "battery_off" (ge_sim_faults_parse()); empty or missing:
 * none).  The file is read again whenever its size or time changes. */
typedef struct sim_drv {
    ge_sim_t *sim;
    ge_mem_t mem;
    const ge_log_t *log;
    char fault_file[256];
    struct timespec fault_mtime;
    off_t fault_size;
    int fault_seen;
    uint32_t faults;
} sim_drv_t;

static void read_faults(sim_drv_t *d)
{
    struct stat st;
    char buf[1024], word[33];
    uint32_t devices = 0;
    size_t n = 0;
    FILE *f;

    if (stat(d->fault_file, &st) < 0) {
        d->faults = 0;
        d->fault_seen = 0;
        ge_sim_set_devices(d->sim, 0);
        return;
    }
    if (d->fault_seen && st.st_size == d->fault_size && st.st_mtim.tv_sec == d->fault_mtime.tv_sec &&
        st.st_mtim.tv_nsec == d->fault_mtime.tv_nsec)
        return;
    d->fault_seen = 1;
    d->fault_size = st.st_size;
    d->fault_mtime = st.st_mtim;
    if ((f = fopen(d->fault_file, "r")) != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    if (ge_sim_faults_parse(buf, &d->faults, &devices, word, sizeof(word)) > 0)
        ge_log(d->log, GE_LOG_WARN, "sim", "%s: unknown fault '%s' ignored (known: over_current, over_voltage, "
               "under_voltage, over_frequency, ..., pv_off, battery_off, ev_off, pv_fault, battery_fault, ev_fault)",
               d->fault_file, word);
    ge_sim_set_devices(d->sim, devices);
}

static int drv_open(void **state, const ge_mem_t *mem, const ge_log_t *log, const char *config)
{
    ge_sim_config_t c;
    sim_drv_t *d;
    int rc;

    if (!mem)
        mem = ge_mem_default();
    d = mem->malloc(sizeof(*d), mem->ud);
    if (!d)
        return GE_ERR_NOMEM;
    memset(d, 0, sizeof(*d));
    d->mem = *mem;
    d->log = log;
    ge_sim_config_default(&c);
    if (config) {
        /* "key=value" pairs separated by spaces or commas */
        const char *p = config;
        while (*p) {
            while (*p == ' ' || *p == ',' || *p == '\t')
                p++;
            if (!*p)
                break;
            const char *tok = p;
            while (*p && *p != ' ' && *p != ',' && *p != '\t')
                p++;
            char buf[300];
            size_t len = (size_t)(p - tok);
            char *eq;
            rc = GE_ERR_CONFIG;
            if (len >= sizeof(buf))
                goto fail;
            memcpy(buf, tok, len);
            buf[len] = '\0';
            if (!(eq = strchr(buf, '=')))
                goto fail;
            *eq = '\0';
            if (strcmp(buf, "fault_file") == 0) {
                if (!eq[1] || strlen(eq + 1) >= sizeof(d->fault_file))
                    goto fail;
                snprintf(d->fault_file, sizeof(d->fault_file), "%s", eq + 1);
            } else if ((rc = ge_sim_config_set(&c, buf, eq + 1)) < 0) {
                goto fail;
            }
        }
    }
    if ((rc = ge_sim_new(&d->sim, mem, &c)) < 0)
        goto fail;
    *state = d;
    return 0;
fail:
    d->mem.free(d, d->mem.ud);
    return rc;
}

static void drv_close(void *st)
{
    sim_drv_t *d = st;

    if (!d)
        return;
    ge_sim_free(d->sim);
    d->mem.free(d, d->mem.ud);
}

static int drv_caps(void *st, ge_der_caps_t *o)
{
    return ge_sim_capabilities(((sim_drv_t *)st)->sim, o);
}

static int drv_read(void *st, ge_telemetry_t *o)
{
    sim_drv_t *d = st;
    int rc = ge_sim_read(d->sim, o);

    if (rc == 0)
        o->alarms |= d->faults;
    return rc;
}

static int drv_apply(void *st, const ge_setpoint_t *sp, uint32_t *unsupported)
{
    return ge_sim_apply(((sim_drv_t *)st)->sim, sp, unsupported);
}

static int drv_step(void *st, double now)
{
    sim_drv_t *d = st;

    if (d->fault_file[0])
        read_faults(d);
    return ge_sim_step(d->sim, now);
}

static const ge_adapter_ops_t sim_ops = {
    "sim", drv_open, drv_close, drv_caps, drv_read, drv_apply, drv_step,
};

const ge_adapter_ops_t *ge_sim_adapter(void)
{
    return &sim_ops;
}
