/* site_model.c - the site as the conformance head-end sees `gridedge oadr run` show it (see
 * site_model.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/policy.h>

#include "site_model.h"

#define TICK_S 0.25  /* the site's tick: a decision is applied at the next one */
#define RAMP_S 1.0   /* the simulated battery's move to a new target */
#define HOUSE_W 1000.0
#define BATTERY_W 5000.0

static double battery_at(const site_model_t *m, double t)
{
    if (t <= m->t0)
        return m->from_w;
    if (t >= m->t0 + RAMP_S)
        return m->target_w;
    return m->from_w + (m->target_w - m->from_w) * (t - m->t0) / RAMP_S;
}

double site_model_step(site_model_t *m, const site_model_input_t *in, cf_sample_t *samples, size_t *n, size_t max)
{
    ge_policy_input_t pin;
    ge_policy_output_t out;
    char buf[4096];
    double target = 0, bat;
    size_t len;
    int decided;

    memset(&pin, 0, sizeof(pin));
    pin.now = in->server_time;
    pin.has_price = in->has_price;
    pin.price = in->price;
    pin.simple_level = in->level;
    pin.tel.soc_pct = 50;
    pin.tel.stored_wh = 6750;
    pin.tel.house_w = HOUSE_W;
    pin.caps.modes = GE_SP_BATTERY_W;
    pin.caps.rtg_max_w = BATTERY_W;
    pin.caps.rtg_max_charge_rate_w = BATTERY_W;
    pin.caps.rtg_max_discharge_rate_w = BATTERY_W;
    pin.caps.rtg_max_wh = 13500;
    decided = ge_policy_decide(NULL, &pin, &out) == 0;
    if (decided && (out.sp.set & GE_SP_BATTERY_W))
        target = fmax(-BATTERY_W, fmin(BATTERY_W, out.sp.battery_w));

    /* as the simulated battery: a new target (more than 1 % of the rating away) starts a ramp from
     * where the battery is, at the site's next tick */
    if (!m->started) {
        m->started = 1;
        m->from_w = target;
        m->t0 = in->t;
    } else if (fabs(target - m->target_w) > 0.01 * BATTERY_W) {
        m->from_w = battery_at(m, in->t + TICK_S);
        m->t0 = in->t + TICK_S;
    }
    m->target_w = target;
    bat = battery_at(m, in->t);

    if (*n < max) {
        len = (size_t)snprintf(buf, sizeof(buf),
                               "{\"time\":%.0f,\"site\":{\"power_w\":%.1f},\"pv\":{\"power_w\":0},"
                               "\"battery\":{\"power_w\":%.1f,\"soc_pct\":50},\"ev\":{\"power_w\":0},"
                               "\"active_controls\":%s,\"gateway\":{\"mode\":\"%s\"},",
                               floor(in->server_time), HOUSE_W - bat, bat, in->controls_json,
                               ge_policy_action_name(decided ? out.action : GE_POLICY_IDLE));
        if (len < sizeof(buf)) {
            if (in->has_price)
                snprintf(buf + len, sizeof(buf) - len, "\"price\":%.4f}", in->price);
            else
                snprintf(buf + len, sizeof(buf) - len, "\"price\":null}");
        }
        samples[*n].t = in->t + SITE_MODEL_LAG_S;
        samples[*n].json = strdup(buf);
        (*n)++;
    }
    return HOUSE_W - bat;
}
