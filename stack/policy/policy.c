/* policy.c - local price response (gridedge/policy.h): one pure function from the utility's
 * control, the OpenADR SIMPLE level, the price, the reserve, the EV and the site limits to the
 * adapter's setpoint and a reason. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/policy.h>

void ge_policy_config_default(ge_policy_config_t *c)
{
    if (!c)
        return;
    memset(c, 0, sizeof(*c));
    c->charge_below = 0.10;
    c->discharge_above = 0.30;
    c->reserve_soc_pct = 10;
    c->self_consumption = 1;
    c->ev_margin = 0.25;
}

const char *ge_policy_action_name(ge_policy_action a)
{
    switch (a) {
    case GE_POLICY_UTILITY: return "utility control";
    case GE_POLICY_EVENT_SHED: return "event: discharging";
    case GE_POLICY_EVENT_COVER: return "event: covering load";
    case GE_POLICY_PRICE_HIGH: return "discharging";
    case GE_POLICY_PRICE_LOW: return "charging";
    case GE_POLICY_SELF: return "self-consumption";
    case GE_POLICY_IDLE: return "idle";
    }
    return "idle";
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Battery power that makes the site's net load zero, within ratings and SoC. */
static double cover(double net, double maxc, double maxd, double soc, double reserve)
{
    double b = clampd(net, -maxc, maxd);
    if (b > 0 && soc <= reserve)
        b = 0;
    if (b < 0 && soc >= 100)
        b = 0;
    return b;
}

/* The tighter of the utility's limit and the site's own. */
static void merge_limit(ge_setpoint_t *sp, uint32_t bit, double *field, const ge_setpoint_t *u,
                        double u_value, int has_site, double site_value)
{
    int has_u = u && (u->set & bit);
    if (!has_u && !has_site)
        return;
    double v = has_u ? u_value : site_value;
    if (has_u && has_site)
        v = fmin(u_value, site_value);
    sp->set |= bit;
    *field = fmax(v, 0);
}

int ge_policy_decide(const ge_policy_config_t *cfg, const ge_policy_input_t *in, ge_policy_output_t *out)
{
    if (!in || !out)
        return GE_ERR_INVALID;
    ge_policy_config_t defaults;
    if (!cfg) {
        ge_policy_config_default(&defaults);
        cfg = &defaults;
    }
    const ge_telemetry_t *t = &in->tel;
    if (!isfinite(t->soc_pct) || !isfinite(t->house_w) || !isfinite(t->pv_w) ||
        !isfinite(in->now) || (in->has_price && !isfinite(in->price)))
        return GE_ERR_RANGE;

    memset(out, 0, sizeof(*out));
    ge_setpoint_t *sp = &out->sp;
    ge_setpoint_init(sp);
    const ge_setpoint_t *u = in->utility;
    if (u) {
        /* everything the utility set passes through; the battery and limits are decided below */
        *sp = *u;
        sp->set &= ~(GE_SP_EXPORT_LIM | GE_SP_IMPORT_LIM);
    }
    merge_limit(sp, GE_SP_EXPORT_LIM, &sp->export_limit_w, u, u ? u->export_limit_w : 0,
                cfg->has_export_limit, cfg->export_limit_w);
    merge_limit(sp, GE_SP_IMPORT_LIM, &sp->import_limit_w, u, u ? u->import_limit_w : 0,
                cfg->has_import_limit, cfg->import_limit_w);

    double maxc = fmax(in->caps.rtg_max_charge_rate_w, 0);
    double maxd = fmax(in->caps.rtg_max_discharge_rate_w, 0);
    double soc = t->soc_pct, reserve = cfg->reserve_soc_pct;
    int price_high = in->has_price && in->price > cfg->discharge_above;
    int price_low = in->has_price && in->price < cfg->charge_below;

    /* the EV: full power, unless the price is high and waiting still meets the departure */
    double ev_plan = 0;
    int ev_deferred = 0;
    if (t->ev_connected && t->ev_need_wh > 0) {
        double full = in->caps.ev_max_w > 0 ? in->caps.ev_max_w : t->ev_w;
        if (sp->set & GE_SP_EV_LIM)
            full = fmin(full, fmax(sp->ev_limit_w, 0));
        /* a high price, or an OpenADR event asking for less load (SIMPLE 1 and up; a demand
         * charge is a SIMPLE 1): charge later, when the departure leaves the time for it */
        if ((price_high || in->simple_level >= 1) && t->ev_departure > in->now && full > 0) {
            double hours_left = (t->ev_departure - in->now) / 3600.0;
            double hours_needed = t->ev_need_wh / full * (1.0 + cfg->ev_margin);
            ev_deferred = hours_left > hours_needed;
        }
        ev_plan = ev_deferred ? 0 : full;
        if (ev_deferred) {
            sp->set |= GE_SP_EV_LIM;
            sp->ev_limit_w = 0;
        }
    }
    double net = t->house_w + ev_plan - t->pv_w; /* site power with the battery idle */

    double b = 0, net_import = net;
    int decide_battery = 1;
    const size_t rl = sizeof(out->reason);
    if (u && (u->set & GE_SP_BATTERY_W)) {
        out->action = GE_POLICY_UTILITY;
        b = u->battery_w;
        snprintf(out->reason, rl, "utility control: battery %.0f W", u->battery_w);
        /* the utility's battery target comes before the EV: against the import limit the EV is
         * held back first, and it takes what is left */
        net_import = t->house_w - t->pv_w;
    } else if (u && (((u->set & GE_SP_CONNECT) && !u->connect) ||
                     ((u->set & GE_SP_ENERGIZE) && !u->energize))) {
        out->action = GE_POLICY_UTILITY;
        decide_battery = 0;
        snprintf(out->reason, rl, "utility control: %s", (u->set & GE_SP_CONNECT) && !u->connect
                                                              ? "disconnected" : "de-energized");
    } else if (in->simple_level >= 2 || price_high) {
        out->action = in->simple_level >= 2 ? GE_POLICY_EVENT_SHED : GE_POLICY_PRICE_HIGH;
        if (soc > reserve) {
            b = maxd;
            if (in->simple_level >= 2)
                snprintf(out->reason, rl, "discharging: OpenADR SIMPLE level %d", in->simple_level);
            else
                snprintf(out->reason, rl, "discharging: price %.2f above %.2f", in->price, cfg->discharge_above);
        } else {
            snprintf(out->reason, rl, "holding: SoC %.0f%% at the %.0f%% reserve", soc, reserve);
        }
    } else if (in->simple_level == 1) {
        out->action = GE_POLICY_EVENT_COVER;
        b = cover(net, maxc, maxd, soc, reserve);
        snprintf(out->reason, rl, "covering the house load: OpenADR SIMPLE level 1");
    } else if (price_low) {
        out->action = GE_POLICY_PRICE_LOW;
        if (soc < 100) {
            b = -maxc;
            snprintf(out->reason, rl, "charging: price %.2f below %.2f", in->price, cfg->charge_below);
        } else {
            snprintf(out->reason, rl, "full: price %.2f below %.2f", in->price, cfg->charge_below);
        }
    } else if (cfg->self_consumption) {
        out->action = GE_POLICY_SELF;
        b = cover(net, maxc, maxd, soc, reserve);
        snprintf(out->reason, rl, "self-consumption");
    } else {
        out->action = GE_POLICY_IDLE;
        snprintf(out->reason, rl, "idle");
    }

    if (decide_battery) {
        /* keep the predicted site power (net - b) inside the limits, a utility target included:
         * soak a PV surplus rather than export past the limit; cut charging (or discharge) rather
         * than import past it.  A utility target is cut, never passed: a discharge (or 0 W) target
         * is cut down to 0 W at most and a charge target not deepened, and what the battery then
         * does not soak the driver takes off the PV (the export limit is in the setpoint too). */
        if (sp->set & GE_SP_EXPORT_LIM) {
            double hi = net + sp->export_limit_w;
            if (b > hi) {
                double lowest = out->action == GE_POLICY_UTILITY ? fmax(fmin(b, 0), -maxc) : -maxc;
                b = fmax(hi, lowest);
                if (b < 0 && soc >= 100)
                    b = 0;
                snprintf(out->reason + strlen(out->reason), rl - strlen(out->reason),
                         ", export limit %.0f W", sp->export_limit_w);
            }
        }
        if (sp->set & GE_SP_IMPORT_LIM) {
            double lo = net_import - sp->import_limit_w;
            if (b < lo) {
                b = fmin(lo, maxd);
                if (b > 0 && soc <= reserve)
                    b = 0;
                snprintf(out->reason + strlen(out->reason), rl - strlen(out->reason),
                         ", import limit %.0f W", sp->import_limit_w);
            }
        }
        sp->set |= GE_SP_BATTERY_W;
        sp->battery_w = b;
    }

    /* the EV takes what the import limit leaves */
    if ((sp->set & GE_SP_IMPORT_LIM) && ev_plan > 0) {
        double batt = (sp->set & GE_SP_BATTERY_W) ? sp->battery_w : 0;
        double room = sp->import_limit_w + t->pv_w + batt - t->house_w;
        if (room < ev_plan) {
            sp->set |= GE_SP_EV_LIM;
            sp->ev_limit_w = fmax(room, 0);
        }
    }
    if (ev_deferred)
        snprintf(out->reason + strlen(out->reason), rl - strlen(out->reason), "; EV waits for %s",
                 in->simple_level >= 1 ? "the event's end" : "a lower price");
    return 0;
}
