/* test_sim.c - the driver interface and the simulated home: the contract's numbers, how controls
 * drive the site, physical consistency, and energy that balances over a simulated year. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gridedge/adapter.h>
#include <gridedge/error.h>

#include "failmem.h"
#include "runner.h"

#define SUMMER_MIDNIGHT 1782000000.0 /* 2026-06-21 00:00 UTC */
#define WINTER_MIDNIGHT 1797811200.0 /* 2026-12-21 00:00 UTC */
#define YEAR_START 1767225600.0      /* 2026-01-01 00:00 UTC */
/* solar noon at the default longitude -122.3: 12:00 + 8 h 9 min 12 s UTC */
#define SOLAR_NOON_OFFSET (20 * 3600.0 + 9 * 60.0 + 12.0)
#define SUMMER_NOON (SUMMER_MIDNIGHT + SOLAR_NOON_OFFSET)
#define TOL 1e-6

static ge_sim_t *new_sim(uint64_t seed)
{
    ge_sim_config_t c;
    ge_sim_config_default(&c);
    c.seed = seed;
    ge_sim_t *s = NULL;
    CU_ASSERT_EQUAL(ge_sim_new(&s, NULL, &c), 0);
    return s;
}

static ge_setpoint_t battery_sp(double w)
{
    ge_setpoint_t sp;
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W;
    sp.battery_w = w;
    return sp;
}

static void check_consistent(const ge_telemetry_t *t)
{
    CU_ASSERT_DOUBLE_EQUAL(t->site_w, t->house_w + t->ev_w - t->pv_w - t->battery_w, TOL);
    CU_ASSERT(t->pv_w >= 0 && t->pv_w <= 5000 + TOL);
    CU_ASSERT(t->ev_w >= 0 && t->ev_w <= 7200 + TOL);
    CU_ASSERT(fabs(t->battery_w) <= 5000 + TOL);
    CU_ASSERT(t->soc_pct >= 0 && t->soc_pct <= 100);
    CU_ASSERT(t->house_w > 0);
}

/* --- the contract's numbers ----------------------------------------------------------------- */

static void test_defaults_match_contract(void)
{
    ge_sim_t *s = new_sim(1);
    ge_der_caps_t caps;
    ge_telemetry_t t;
    CU_ASSERT_EQUAL(ge_sim_capabilities(s, &caps), 0);
    CU_ASSERT_DOUBLE_EQUAL(caps.pv_peak_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_wh, 13500, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_charge_rate_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_discharge_rate_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.ev_max_w, 7200, TOL);
    CU_ASSERT_EQUAL(ge_sim_step(s, SUMMER_NOON), 0);
    CU_ASSERT_EQUAL(ge_sim_read(s, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 50, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.stored_wh, 6750, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.time, SUMMER_NOON, TOL);
    /* house load "around 1 kW": the mean over a week */
    double sum = 0;
    int n = 0;
    for (double now = SUMMER_NOON; now < SUMMER_NOON + 7 * 86400; now += 300, n++) {
        ge_sim_step(s, now);
        ge_sim_read(s, &t);
        sum += t.house_w;
    }
    CU_ASSERT(sum / n > 800 && sum / n < 1250);
    ge_sim_free(s);
}

static void test_pv_follows_sun_and_season(void)
{
    ge_sim_t *s = new_sim(7);
    /* night is dark, summer noon is bright on most days, winter days give less energy */
    CU_ASSERT_DOUBLE_EQUAL(ge_sim_pv_available(s, SUMMER_NOON + 12 * 3600), 0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(ge_sim_pv_available(s, WINTER_MIDNIGHT + SOLAR_NOON_OFFSET + 12 * 3600), 0, TOL);
    double best = 0, summer_wh = 0, winter_wh = 0;
    for (int d = 0; d < 10; d++) {
        best = fmax(best, ge_sim_pv_available(s, SUMMER_NOON + d * 86400));
        for (double x = 0; x < 86400; x += 300) {
            summer_wh += ge_sim_pv_available(s, SUMMER_MIDNIGHT + d * 86400 + x) * 300 / 3600;
            winter_wh += ge_sim_pv_available(s, WINTER_MIDNIGHT + d * 86400 + x) * 300 / 3600;
        }
    }
    CU_ASSERT(best > 4000 && best <= 5000);
    CU_ASSERT(summer_wh > 1.5 * winter_wh);
    /* the morning ramps up: 2 h after sunrise < noon */
    CU_ASSERT(ge_sim_pv_available(s, SUMMER_NOON - 5 * 3600) < best);
    ge_sim_free(s);
}

static void test_clouds_are_seeded(void)
{
    ge_sim_t *a = new_sim(11), *b = new_sim(11), *c = new_sim(12);
    int differ = 0;
    for (int i = 0; i < 30 * 48; i++) {
        double now = SUMMER_MIDNIGHT + i * 1800.0;
        CU_ASSERT_DOUBLE_EQUAL(ge_sim_pv_available(a, now), ge_sim_pv_available(b, now), 0);
        if (fabs(ge_sim_pv_available(a, now) - ge_sim_pv_available(c, now)) > 1)
            differ++;
    }
    CU_ASSERT(differ > 10);
    /* coarse and fine stepping see the same weather and the same house at the same time */
    ge_telemetry_t ta, tb;
    for (double now = SUMMER_NOON; now <= SUMMER_NOON + 3600; now += 10)
        ge_sim_step(a, now);
    ge_sim_step(b, SUMMER_NOON);
    ge_sim_step(b, SUMMER_NOON + 3600);
    ge_sim_read(a, &ta);
    ge_sim_read(b, &tb);
    CU_ASSERT_DOUBLE_EQUAL(ta.pv_w, tb.pv_w, TOL);
    CU_ASSERT_DOUBLE_EQUAL(ta.house_w, tb.house_w, TOL);
    ge_sim_free(a);
    ge_sim_free(b);
    ge_sim_free(c);
}

/* --- controls --------------------------------------------------------------------------------- */

static void test_setpoint_reached_within_one_second(void)
{
    ge_sim_t *s = new_sim(3);
    ge_telemetry_t t;
    ge_sim_step(s, SUMMER_NOON);
    ge_setpoint_t sp = battery_sp(3000);
    CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
    ge_sim_step(s, SUMMER_NOON + 1);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 3000, TOL);
    check_consistent(&t);
    /* a charge setpoint beyond the rating is held at the rating */
    sp = battery_sp(-9000);
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 2);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, -5000, TOL);
    ge_sim_free(s);
}

static void test_slow_ramp(void)
{
    ge_sim_t *s = new_sim(3);
    ge_telemetry_t t;
    ge_sim_step(s, SUMMER_NOON);
    ge_setpoint_t sp = battery_sp(4000);
    sp.set |= GE_SP_RAMP;
    sp.ramp_s = 10;
    ge_sim_apply(s, &sp, NULL);
    /* the gateway re-applies the same decision every second: the ramp goes on, linear */
    for (int k = 1; k <= 5; k++) {
        ge_sim_step(s, SUMMER_NOON + k);
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
    }
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 2000, TOL);
    ge_sim_step(s, SUMMER_NOON + 10);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4000, TOL);
    ge_sim_free(s);
}

/* The gateway follows the house load by a few watts each tick: such moves retarget the ramp under
 * way (it still ends on time) and apply at once after it, instead of starting a new ramp each tick. */
static void test_small_moves_retarget_the_ramp(void)
{
    ge_sim_t *s = new_sim(3);
    ge_telemetry_t t;
    ge_sim_step(s, SUMMER_NOON);
    ge_setpoint_t sp = battery_sp(4000);
    sp.set |= GE_SP_RAMP;
    sp.ramp_s = 10;
    ge_sim_apply(s, &sp, NULL);
    for (int k = 1; k <= 10; k++) {
        ge_sim_step(s, SUMMER_NOON + k);
        sp.battery_w = 4000 + k; /* a 1 W move each second */
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
    }
    ge_sim_step(s, SUMMER_NOON + 10.1);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4010, TOL);
    sp.battery_w = 4030;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 10.2);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4030, TOL);
    /* a real step (more than 1 % of the 5 kW rating) ramps again */
    sp.battery_w = 2030;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 15.2);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 3030, TOL);
    ge_sim_free(s);
}

/* A default's setGradW: a move takes as long as its size at that rate of the DER's rating.  A new
 * rate never re-runs the ramp that ended long ago (the battery stays where it is), and after a
 * reconnection the battery comes back at that rate instead of jumping. */
static void test_gradient_ramp(void)
{
    ge_sim_t *s = new_sim(3);
    ge_telemetry_t t;
    ge_der_caps_t caps;
    ge_sim_step(s, SUMMER_NOON);
    ge_sim_capabilities(s, &caps);
    ge_setpoint_t sp = battery_sp(4000);
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 2);
    sp.set |= GE_SP_RAMP;
    sp.ramp_grad_pct_s = 0.27;
    for (int k = 3; k <= 6; k++) { /* re-applied every second */
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
        ge_sim_step(s, SUMMER_NOON + k);
        ge_sim_read(s, &t);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4000, TOL);
    }
    sp.set |= GE_SP_CONNECT;
    sp.connect = 0;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 7);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0, TOL);
    sp.connect = 1;
    for (int k = 8; k <= 18; k++) {
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
        ge_sim_step(s, SUMMER_NOON + k);
    }
    ge_sim_read(s, &t);
    /* reconnected as of the sim's time then (7 s): 11 s of ramp at 0.27 %/s */
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0.0027 * caps.rtg_max_w * 11, 1.0);
    ge_sim_free(s);
}

/* The rig the limit ramps start from: summer noon, the battery discharging 5 kW, so the site exports
 * several kW and an export limit below that binds. */
static ge_sim_t *exporting_site(ge_telemetry_t *t, ge_setpoint_t *sp)
{
    ge_sim_t *s = new_sim(5);
    *sp = battery_sp(5000);
    ge_sim_step(s, SUMMER_NOON);
    ge_sim_apply(s, sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 2);
    ge_sim_read(s, t);
    CU_ASSERT(t->site_w < -4000);
    return s;
}

/* A control's rampTms moves the site's export limit, not only the battery: from the export the site
 * had (not from "no limit") to the new limit, linearly over the ramp time, re-applied every tick
 * without restarting; then down to a lower one over the same time; without a ramp a limit is at once. */
static void test_limit_ramp_time(void)
{
    ge_telemetry_t t;
    ge_setpoint_t sp;
    ge_sim_t *s = exporting_site(&t, &sp);
    double x0 = -t.site_w;

    sp.set |= GE_SP_EXPORT_LIM | GE_SP_RAMP;
    sp.export_limit_w = 1000;
    sp.ramp_s = 10;
    for (int k = 3; k <= 7; k++) {
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
        ge_sim_step(s, SUMMER_NOON + k);
    }
    /* 5 s of 10: half way from the export it had */
    ge_sim_read(s, &t);
    check_consistent(&t);
    CU_ASSERT_DOUBLE_EQUAL(-t.site_w, x0 + (1000 - x0) * 0.5, 1.0);
    ge_sim_step(s, SUMMER_NOON + 12.5);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, -1000, 1.0);
    /* up again, to 3000 W, over 10 s from the 1000 W in force */
    sp.export_limit_w = 3000;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 15);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, -1500, 1.0);
    ge_sim_step(s, SUMMER_NOON + 23);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, -3000, 1.0);
    /* no ramp asked for: a new limit holds at once */
    sp.set &= ~GE_SP_RAMP;
    sp.export_limit_w = 500;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 23.25);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, -500, 1.0);
    ge_sim_free(s);
}

/* A default's setGradW moves a limit at that rate of the DER's rating, however far: a limit that
 * never bound starts from the site's present flow; a new rate restarts a ramp under way from where
 * it has got to; an import limit ramps the same way. */
static void test_limit_ramp_gradient(void)
{
    ge_telemetry_t t;
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_sim_t *s = exporting_site(&t, &sp);
    ge_sim_capabilities(s, &caps);
    double rate = 0.01 * caps.rtg_max_w; /* setGradW 100: 1 %/s */
    double x0 = -t.site_w;

    sp.set |= GE_SP_EXPORT_LIM | GE_SP_RAMP;
    sp.export_limit_w = 0;
    sp.ramp_grad_pct_s = 1;
    for (int k = 3; k <= 6; k++) {
        CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, NULL), 0);
        ge_sim_step(s, SUMMER_NOON + k);
    }
    /* 4 s at 1 %/s (applied as of the sim's time then, 2 s) */
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(-t.site_w, x0 - 4 * rate, 1.0);
    /* twice the rate from 6 s on: the rest of the way at 2 %/s, from where the limit is */
    sp.ramp_grad_pct_s = 2;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + 7);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(-t.site_w, x0 - 6 * rate, 1.0);
    double done = 6 + (x0 - 4 * rate) / (2 * rate);
    ge_sim_step(s, SUMMER_NOON + done - 0.5);
    ge_sim_read(s, &t);
    CU_ASSERT(t.site_w < -rate * 0.9);
    ge_sim_step(s, SUMMER_NOON + done + 0.1);
    ge_sim_read(s, &t);
    CU_ASSERT(t.site_w >= -TOL);
    /* the same rate, re-applied after the ramp: nothing moves */
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, SUMMER_NOON + done + 1);
    ge_sim_read(s, &t);
    CU_ASSERT(t.site_w >= -TOL);
    ge_sim_free(s);

    /* import: the night, the battery charging 5 kW; a 2000 W import limit at 1 %/s */
    const double night = SUMMER_NOON + 12 * 3600;
    s = new_sim(5);
    sp = battery_sp(-5000);
    ge_sim_step(s, night);
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, night + 2);
    ge_sim_read(s, &t);
    double m0 = t.site_w;
    CU_ASSERT(m0 > 5000);
    sp.set |= GE_SP_IMPORT_LIM | GE_SP_RAMP;
    sp.import_limit_w = 2000;
    sp.ramp_grad_pct_s = 1;
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, night + 12);
    ge_sim_read(s, &t);
    check_consistent(&t);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, m0 - 10 * rate, 30.0); /* the house load moves a little */
    ge_sim_step(s, night + 2 + (m0 - 2000) / rate - 2);
    ge_sim_read(s, &t);
    CU_ASSERT(t.site_w > 2000 + rate);
    ge_sim_step(s, night + 2 + (m0 - 2000) / rate + 1);
    ge_sim_read(s, &t);
    CU_ASSERT(t.site_w <= 2000 + TOL);
    ge_sim_free(s);
}

typedef struct control_row {
    const char *name;
    double when;          /* offset from summer solar noon */
    ge_setpoint_t sp;     /* set, battery_w, max_lim_pct, connect, energize, export, import, gen, load */
    double site_min, site_max; /* expected site power range */
    double gen_max;       /* pv + battery discharge at most */
    int pv_zero, batt_zero;
} control_row_t;

static void test_controls_table(void)
{
    static const control_row_t rows[] = {
        { "discharge at noon exports", 0,
          { GE_SP_BATTERY_W, 5000, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1e9, -2000, 1e9, 0, 0 },
        { "export limit 0 holds the site at >= 0", 0,
          { GE_SP_BATTERY_W | GE_SP_EXPORT_LIM, 5000, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -TOL, 1e9, 1e9, 0, 0 },
        { "export limit 1500", 0,
          { GE_SP_EXPORT_LIM, 0, 0, 1, 1, 1500, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1500 - TOL, 1e9, 1e9, 0, 0 },
        { "opModMaxLimW 20 % caps PV + discharge", 0,
          { GE_SP_BATTERY_W | GE_SP_MAX_LIM, 5000, 20, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1e9, 1e9, 2000 + TOL, 0, 0 },
        { "opModGenLimW 1000", 0,
          { GE_SP_GEN_LIM, 0, 0, 1, 1, 0, 0, 1000, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1e9, 1e9, 1000 + TOL, 0, 0 },
        { "connect false: PV and battery at 0", 0,
          { GE_SP_BATTERY_W | GE_SP_CONNECT, 5000, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          0, 1e9, 1e9, 1, 1 },
        { "energize false: PV and battery at 0", 0,
          { GE_SP_BATTERY_W | GE_SP_ENERGIZE, -5000, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          0, 1e9, 1e9, 1, 1 },
        { "import limit 2000 trims night charging", 12 * 3600,
          { GE_SP_BATTERY_W | GE_SP_IMPORT_LIM, -5000, 0, 1, 1, 0, 2000, 0, 0, 1, 0, 0, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1e9, 2000 + TOL, 1e9, 1, 0 },
        { "PV cap 500 W", 0,
          { GE_SP_PV_CAP, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 500, 0, 0, {0}, {0}, {0}, {0}, 0, 0, 0, {0}, {0, 0, 0, 0, 0}, {{0}}, 0 },
          -1e9, 1e9, 500 + TOL, 0, 1 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const control_row_t *r = &rows[i];
        ge_sim_t *s = new_sim(5);
        ge_telemetry_t t;
        /* a clear day: pick seed 5 and check the sun is up and strong */
        CU_ASSERT_EQUAL(ge_sim_step(s, SUMMER_NOON + r->when), 0);
        CU_ASSERT_EQUAL(ge_sim_apply(s, &r->sp, NULL), 0);
        for (int k = 1; k <= 5; k++)
            ge_sim_step(s, SUMMER_NOON + r->when + k);
        ge_sim_read(s, &t);
        check_consistent(&t);
        int ok = t.site_w >= r->site_min && t.site_w <= r->site_max &&
                 t.pv_w + fmax(t.battery_w, 0) <= r->gen_max && (!r->pv_zero || t.pv_w == 0) &&
                 (!r->batt_zero || t.battery_w == 0);
        if (!ok)
            fprintf(stderr, "row '%s': site %.1f pv %.1f batt %.1f\n", r->name, t.site_w, t.pv_w,
                    t.battery_w);
        CU_ASSERT(ok);
        ge_sim_free(s);
    }
}

static void test_unsupported_modes_reported(void)
{
    ge_sim_t *s = new_sim(1);
    ge_setpoint_t sp = battery_sp(100);
    uint32_t unsup = 0;
    sp.set |= GE_SP_VOLT_VAR | GE_SP_FREQ_WATT;
    sp.volt_var.n = 2;
    CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, &unsup), 0);
    CU_ASSERT_EQUAL(unsup, GE_SP_VOLT_VAR | GE_SP_FREQ_WATT);
    sp.battery_w = NAN;
    CU_ASSERT_EQUAL(ge_sim_apply(s, &sp, &unsup), GE_ERR_RANGE);
    ge_sim_free(s);
}

static void test_soc_stays_in_bounds(void)
{
    ge_sim_t *s = new_sim(2);
    ge_telemetry_t t;
    double now = SUMMER_MIDNIGHT;
    ge_sim_step(s, now);
    ge_setpoint_t sp = battery_sp(5000);
    ge_sim_apply(s, &sp, NULL);
    /* 50 % of 13.5 kWh at 5 kW with losses: empty well within 2 h */
    for (int i = 0; i < 3 * 3600; i += 30) {
        now += 30;
        ge_sim_step(s, now);
        ge_sim_read(s, &t);
        check_consistent(&t);
    }
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0, 1e-6);
    CU_ASSERT(t.alarms & GE_ALARM_SOC_EMPTY);
    double out_wh = t.battery_discharge_wh;
    /* 0.5 * 13500 Wh stored gives sqrt(0.9) of it at the AC side */
    CU_ASSERT_DOUBLE_EQUAL(out_wh, 6750 * sqrt(0.9), 1e-3);
    sp = battery_sp(-5000);
    ge_sim_apply(s, &sp, NULL);
    for (int i = 0; i < 4 * 3600; i += 30) {
        now += 30;
        ge_sim_step(s, now);
        ge_sim_read(s, &t);
        check_consistent(&t);
    }
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 100, 1e-9);
    CU_ASSERT(t.alarms & GE_ALARM_SOC_FULL);
    /* a full cycle 0 -> 100 -> 0 returns 90 % (round-trip efficiency) */
    double in_wh = t.battery_charge_wh;
    double out0 = t.battery_discharge_wh;
    sp = battery_sp(5000);
    ge_sim_apply(s, &sp, NULL);
    for (int i = 0; i < 4 * 3600; i += 30) {
        now += 30;
        ge_sim_step(s, now);
    }
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL((t.battery_discharge_wh - out0) / in_wh, 0.90, 1e-6);
    ge_sim_free(s);
}

static void test_ev_comes_and_goes(void)
{
    ge_sim_t *s = new_sim(9);
    ge_telemetry_t t;
    int sessions = 0, was = 0;
    double charged = 0, need_at_arrival = 0, needs = 0;
    for (double now = SUMMER_MIDNIGHT; now < SUMMER_MIDNIGHT + 20 * 86400; now += 60) {
        ge_sim_step(s, now);
        ge_sim_read(s, &t);
        check_consistent(&t);
        if (t.ev_connected && !was) {
            sessions++;
            /* the step that saw it arrive already charged for its last minute */
            need_at_arrival = t.ev_need_wh + t.ev_w * 60 / 3600;
            needs += need_at_arrival;
            CU_ASSERT(t.ev_departure > now);
            CU_ASSERT(need_at_arrival >= 4000 && need_at_arrival <= 24000);
        }
        if (!t.ev_connected)
            CU_ASSERT_DOUBLE_EQUAL(t.ev_w, 0, 0);
        was = t.ev_connected;
    }
    charged = t.ev_wh;
    CU_ASSERT(sessions >= 10 && sessions <= 20);
    /* 7.2 kW overnight meets every need; the last visit may still be charging */
    CU_ASSERT(charged <= needs + TOL);
    CU_ASSERT(charged >= needs - need_at_arrival - TOL);
    ge_sim_free(s);
}

/* --- energy over a year ----------------------------------------------------------------------- */

static void test_energy_balances_over_a_year(void)
{
    ge_sim_t *s = new_sim(2026);
    ge_telemetry_t t, t0;
    const double step = 900;
    ge_sim_step(s, YEAR_START);
    ge_sim_read(s, &t0);
    long steps = 0;
    for (double now = YEAR_START + step; now <= YEAR_START + 365 * 86400.0; now += step, steps++) {
        /* a daily pattern that uses the whole battery: charge midday, discharge evening */
        double h = fmod((now - 8 * 3600) / 3600.0, 24.0);
        ge_setpoint_t sp = battery_sp(h >= 10 && h < 15 ? -4000 : h >= 17 && h < 22 ? 4500 : 0);
        if (steps % 97 == 0) {
            sp.set |= GE_SP_EXPORT_LIM;
            sp.export_limit_w = 1000;
        }
        ge_sim_apply(s, &sp, NULL);
        CU_ASSERT_EQUAL_FATAL(ge_sim_step(s, now), 0);
        ge_sim_read(s, &t);
        check_consistent(&t);
    }
    /* site meter: import - export = house + ev - pv - battery (discharge - charge) */
    double lhs = t.import_wh - t.export_wh;
    double rhs = t.house_wh + t.ev_wh - t.pv_wh - (t.battery_discharge_wh - t.battery_charge_wh);
    CU_ASSERT_DOUBLE_EQUAL(lhs, rhs, 1e-6 * (t.import_wh + t.export_wh));
    /* battery: stored change = charge * eta - discharge / eta */
    double eta = sqrt(0.9);
    CU_ASSERT_DOUBLE_EQUAL(t.stored_wh - t0.stored_wh,
                           t.battery_charge_wh * eta - t.battery_discharge_wh / eta, 1e-3);
    /* plausible yearly totals for 5 kWp at 37.8 N and a 1 kW house */
    CU_ASSERT(t.pv_wh > 5.0e6 && t.pv_wh < 10.0e6);
    CU_ASSERT(t.house_wh > 7.5e6 && t.house_wh < 10.5e6);
    CU_ASSERT(t.ev_wh > 1.0e6);
    CU_ASSERT(t.battery_discharge_wh > 200 * 13500 * 0.5);
    printf("\n  year: pv %.0f kWh, house %.0f kWh, ev %.0f kWh, import %.0f kWh, export %.0f kWh, "
           "battery out %.0f kWh\n", t.pv_wh / 1000, t.house_wh / 1000, t.ev_wh / 1000,
           t.import_wh / 1000, t.export_wh / 1000, t.battery_discharge_wh / 1000);
    ge_sim_free(s);
}

/* --- the driver interface --------------------------------------------------------------------- */

static void test_adapter_vtable_sim(void)
{
    const ge_adapter_ops_t *ops = ge_adapter_find("sim");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
    CU_ASSERT_PTR_NULL(ge_adapter_find("nope"));
    ge_adapter_t ad;
    CU_ASSERT_EQUAL_FATAL(ge_adapter_open(&ad, ops, NULL, NULL, "seed=4, soc=80 latitude=-33.9"), 0);
    ge_der_caps_t caps;
    ge_telemetry_t t;
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &caps), 0);
    CU_ASSERT(caps.modes & GE_SP_EXPORT_LIM);
    CU_ASSERT_EQUAL(ge_adapter_step(&ad, SUMMER_NOON), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 80, TOL);
    ge_setpoint_t sp = battery_sp(-2000);
    uint32_t unsup = 1;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, &unsup), 0);
    CU_ASSERT_EQUAL(unsup, 0);
    CU_ASSERT_EQUAL(ge_adapter_step(&ad, SUMMER_NOON + 1), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, -2000, TOL);
    ge_adapter_close(&ad);
    /* bad configuration */
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, ops, NULL, NULL, "soc=150"), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, ops, NULL, NULL, "colour=blue"), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, ops, NULL, NULL, "seed"), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, ops, NULL, NULL, "seed=-1"), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, NULL, NULL, NULL, NULL), GE_ERR_INVALID);
}

/* fault_file=PATH: the faults the file names are in the telemetry's alarms while it names them. */
static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_adapter_fault_file(void)
{
    char path[64], cfg[128];
    ge_adapter_t ad;
    ge_telemetry_t t;
    double now = SUMMER_NOON;

    snprintf(path, sizeof(path), "test_sim-faults-%d.txt", (int)getpid());
    snprintf(cfg, sizeof(cfg), "seed=4 fault_file=%s", path);
    remove(path);
    CU_ASSERT_EQUAL_FATAL(ge_adapter_open(&ad, ge_adapter_find("sim"), NULL, NULL, cfg), 0);
    static const struct { const char *text; uint32_t alarms; } rows[] = {
        { NULL, 0 },                                            /* no file: no fault */
        { "over_voltage\n", GE_ALARM_OVER_VOLTAGE },
        { "under_frequency, phase_rotation", GE_ALARM_UNDER_FREQUENCY | GE_ALARM_PHASE_ROTATION },
        { "smoke over_current", GE_ALARM_OVER_CURRENT },         /* an unknown word is ignored */
        { "", 0 },                                              /* emptied: cleared */
        { "local_emergency", GE_ALARM_EMERGENCY_LOCAL },
        { "battery_off over_voltage", GE_ALARM_OVER_VOLTAGE },  /* and the battery off */
        { NULL, 0 },                                            /* removed: cleared */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].text)
            write_text(path, rows[i].text);
        else
            remove(path);
        now += 1;
        CU_ASSERT_EQUAL(ge_adapter_step(&ad, now), 0);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_EQUAL(t.alarms & (((1u << GE_ALARM_SEP_BITS) - 1) << 5), rows[i].alarms); /* the 2030.5 ones */
        CU_ASSERT_EQUAL(t.battery_state, rows[i].text && strstr(rows[i].text, "battery_off") ? GE_DEV_REPORTED : 0);
    }
    ge_adapter_close(&ad);
    /* a fault_file with no name is a configuration error */
    CU_ASSERT_EQUAL(ge_adapter_open(&ad, ge_adapter_find("sim"), NULL, NULL, "fault_file="), GE_ERR_CONFIG);
}

/* The devices of the simulated site switched off or tripped (a fault file's "battery_off",
 * "pv_fault", ...): the device gives 0 W and reports its state; the others run on and the stack
 * derives their states; a battery back on ramps up to its target again. */
static void test_devices_off_and_tripped(void)
{
    uint32_t alarms, devices, pv, bat, ev;
    char unknown[16];
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_telemetry_t t;
    ge_sim_t *s = new_sim(4);
    double now = SUMMER_NOON;

    /* the fault file's words: the DER alarms and the devices, anything else counted and named */
    CU_ASSERT_EQUAL(ge_sim_faults_parse("battery_off, over_voltage\npv_fault", &alarms, &devices, NULL, 0), 0);
    CU_ASSERT_EQUAL(alarms, GE_ALARM_OVER_VOLTAGE);
    CU_ASSERT_EQUAL(devices, GE_SIM_BATTERY_OFF | GE_SIM_PV_FAULT);
    CU_ASSERT_EQUAL(ge_sim_faults_parse("ev_off smoke battery_offline ev_fault", &alarms, &devices, unknown,
                                        sizeof(unknown)), 2);
    CU_ASSERT_STRING_EQUAL(unknown, "smoke");
    CU_ASSERT_EQUAL(alarms, 0);
    CU_ASSERT_EQUAL(devices, GE_SIM_EV_OFF | GE_SIM_EV_FAULT);
    CU_ASSERT_EQUAL(ge_sim_faults_parse("", &alarms, &devices, NULL, 0), 0);
    CU_ASSERT_EQUAL(devices, 0);

    ge_sim_capabilities(s, &caps);
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W;
    sp.battery_w = 4000;
    ge_sim_step(s, now);
    ge_sim_apply(s, &sp, NULL);
    ge_sim_step(s, now += 2);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4000, 1);
    CU_ASSERT(t.pv_w > 1000);
    CU_ASSERT_EQUAL(t.pv_state | t.battery_state, 0); /* running: left to the stack */
    ge_telemetry_states(&caps, &t, &pv, &bat, &ev);
    CU_ASSERT_EQUAL(pv, GE_DEV_CONNECTED | GE_DEV_AVAILABLE | GE_DEV_OPERATING);
    CU_ASSERT_EQUAL(bat, GE_DEV_CONNECTED | GE_DEV_AVAILABLE | GE_DEV_OPERATING);

    /* the battery switched off: 0 W, neither connected nor available; the PV runs on */
    CU_ASSERT_EQUAL(ge_sim_set_devices(s, GE_SIM_BATTERY_OFF), 0);
    ge_sim_step(s, now += 0.25);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0, TOL);
    CU_ASSERT(t.pv_w > 1000);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, t.house_w + t.ev_w - t.pv_w, TOL);
    CU_ASSERT_EQUAL(t.alarms & GE_ALARM_LIMITED, 0);
    CU_ASSERT_EQUAL(t.battery_state, GE_DEV_REPORTED);
    ge_telemetry_states(&caps, &t, &pv, &bat, NULL);
    CU_ASSERT_EQUAL(bat, 0);
    CU_ASSERT_EQUAL(pv, GE_DEV_CONNECTED | GE_DEV_AVAILABLE | GE_DEV_OPERATING);
    double soc = t.soc_pct;
    ge_sim_step(s, now += 600);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, soc, TOL); /* nothing flows out of a battery that is off */

    /* the PV tripped: 0 W, in fault; the battery back on ramps from 0 W to its target over 1 s */
    ge_sim_set_devices(s, GE_SIM_PV_FAULT);
    ge_sim_step(s, now += 0.5);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 0, TOL);
    CU_ASSERT_EQUAL(t.pv_state, GE_DEV_REPORTED | GE_DEV_FAULT);
    CU_ASSERT_EQUAL(t.battery_state, 0);
    CU_ASSERT(t.battery_w > 1000 && t.battery_w < 3000);
    ge_sim_step(s, now += 1);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 4000, 1);
    ge_telemetry_states(&caps, &t, &pv, &bat, NULL);
    CU_ASSERT_EQUAL(pv, GE_DEV_FAULT);

    /* the EV charger off */
    ge_sim_set_devices(s, GE_SIM_EV_OFF);
    ge_sim_step(s, now += 1);
    ge_sim_read(s, &t);
    CU_ASSERT_DOUBLE_EQUAL(t.ev_w, 0, TOL);
    CU_ASSERT_EQUAL(t.ev_state, GE_DEV_REPORTED);
    CU_ASSERT_EQUAL(ge_sim_set_devices(NULL, 0), GE_ERR_INVALID);
    ge_sim_free(s);
}

/* The states the stack derives for the devices a driver does not report on: absent (not in the
 * ratings; a DER rated for neither PV nor storage is a generator: its PV) 0; available; connected
 * unless disconnected by control; operating with more than 1 W either way; in fault with a 2030.5
 * DER alarm.  A reported state is taken as it is. */
static void test_derived_device_states(void)
{
    const uint32_t on = GE_DEV_CONNECTED | GE_DEV_AVAILABLE, run = on | GE_DEV_OPERATING;
    const struct {
        double pv_peak_w, battery_wh, pv_w, battery_w;
        uint32_t alarms, battery_state;
        uint32_t pv, battery;
    } rows[] = {
        { 5000, 13500, 3000, 0, 0, 0, run, on },
        { 5000, 13500, 0.5, -3000, 0, 0, on, run },
        { 0, 13500, 0, 2000, 0, 0, 0, run },
        { 5000, 0, 100, 0, 0, 0, run, 0 },
        /* ratings that name neither PV nor storage: a generator, counted as the PV */
        { 0, 0, 2000, 0, 0, 0, run, 0 },
        { 5000, 13500, 0, 0, GE_ALARM_DISCONNECTED, 0, GE_DEV_AVAILABLE, GE_DEV_AVAILABLE },
        { 5000, 13500, 0, 0, GE_ALARM_DISCONNECTED | GE_ALARM_UNDER_FREQUENCY, 0, GE_DEV_AVAILABLE | GE_DEV_FAULT,
          GE_DEV_AVAILABLE | GE_DEV_FAULT },
        { 5000, 13500, 0, 0, GE_ALARM_SOC_EMPTY | GE_ALARM_LIMITED, 0, on, on }, /* not DER faults */
        { 5000, 13500, 200, 0, GE_ALARM_OVER_CURRENT, GE_DEV_REPORTED, run | GE_DEV_FAULT, 0 },
        { 5000, 13500, 200, 0, 0, GE_DEV_REPORTED | GE_DEV_TEST | GE_DEV_CONNECTED, run,
          GE_DEV_TEST | GE_DEV_CONNECTED },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ge_der_caps_t caps = { 0 };
        ge_telemetry_t t = { 0 };
        uint32_t pv = 99, bat = 99, ev = 99;
        caps.pv_peak_w = rows[i].pv_peak_w;
        caps.rtg_max_wh = rows[i].battery_wh;
        t.pv_w = rows[i].pv_w;
        t.battery_w = rows[i].battery_w;
        t.alarms = rows[i].alarms;
        t.battery_state = rows[i].battery_state;
        ge_telemetry_states(&caps, &t, &pv, &bat, &ev);
        if (pv != rows[i].pv || bat != rows[i].battery)
            fprintf(stderr, "row %zu: pv %02x battery %02x\n", i, (unsigned)pv, (unsigned)bat);
        CU_ASSERT_EQUAL(pv, rows[i].pv);
        CU_ASSERT_EQUAL(bat, rows[i].battery);
        CU_ASSERT_EQUAL(ev, 0); /* no EV charger in the ratings */
    }
}

/* The site's one DER is rated for the totals over its PV inverter and battery inverter. */
static void test_ratings_are_totals(void)
{
    ge_sim_config_t c;
    ge_der_caps_t caps;
    ge_sim_t *s = NULL;

    ge_sim_config_default(&c);
    c.pv_peak_w = 3000;
    c.battery_max_w = 4000;
    CU_ASSERT_EQUAL_FATAL(ge_sim_new(&s, NULL, &c), 0);
    CU_ASSERT_EQUAL(ge_sim_capabilities(s, &caps), 0);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_w, 7000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_va, 7000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_var, 0.44 * 7000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_charge_rate_w, 4000, TOL); /* the battery's own */
    CU_ASSERT_DOUBLE_EQUAL(caps.rtg_max_discharge_rate_w, 4000, TOL);
    ge_sim_free(s);
}

/* A driver whose device answers with garbage: the wrapper must refuse the reading. */
static int garbage_open(void **st, const ge_mem_t *m, const ge_log_t *l, const char *c)
{
    (void)m, (void)l, (void)c;
    *st = NULL;
    return 0;
}
static void garbage_close(void *st) { (void)st; }
static int garbage_caps(void *st, ge_der_caps_t *o) { (void)st; o->rtg_max_w = NAN; return 0; }
static int garbage_read(void *st, ge_telemetry_t *o) { (void)st; o->soc_pct = 140; return 0; }
static int garbage_apply(void *st, const ge_setpoint_t *sp, uint32_t *u)
{
    (void)st, (void)sp, (void)u;
    return GE_ERR_TIMEOUT;
}

static void test_adapter_rejects_garbage(void)
{
    static const ge_adapter_ops_t ops = { "garbage", garbage_open, garbage_close, garbage_caps,
                                          garbage_read, garbage_apply, NULL };
    ge_adapter_t ad;
    ge_der_caps_t caps;
    ge_telemetry_t t;
    ge_setpoint_t sp;
    ge_setpoint_init(&sp);
    CU_ASSERT_EQUAL_FATAL(ge_adapter_open(&ad, &ops, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &caps), GE_ERR_DEVICE);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), GE_ERR_TIMEOUT);
    CU_ASSERT_EQUAL(ge_adapter_step(&ad, 1.0), 0); /* no step function: nothing to do */
    ge_adapter_close(&ad);
}

static void test_setpoint_merge(void)
{
    ge_setpoint_t a, b, dst;
    ge_setpoint_init(&a);
    ge_setpoint_init(&b);
    ge_setpoint_init(&dst);
    a.set = GE_SP_BATTERY_W | GE_SP_EXPORT_LIM;
    a.battery_w = 1500;
    a.export_limit_w = 300;
    b.set = GE_SP_EXPORT_LIM | GE_SP_CONNECT | GE_SP_VOLT_VAR;
    b.export_limit_w = 0;
    b.connect = 0;
    b.volt_var.n = 4;
    /* a won the battery mode, b the export limit and connect (and volt-var) */
    ge_setpoint_merge(&dst, &a, GE_SP_BATTERY_W);
    ge_setpoint_merge(&dst, &b, GE_SP_EXPORT_LIM | GE_SP_CONNECT | GE_SP_VOLT_VAR | GE_SP_RAMP);
    CU_ASSERT_EQUAL(dst.set, GE_SP_BATTERY_W | GE_SP_EXPORT_LIM | GE_SP_CONNECT | GE_SP_VOLT_VAR);
    CU_ASSERT_DOUBLE_EQUAL(dst.battery_w, 1500, 0);
    CU_ASSERT_DOUBLE_EQUAL(dst.export_limit_w, 0, 0);
    CU_ASSERT_EQUAL(dst.connect, 0);
    CU_ASSERT_EQUAL(dst.volt_var.n, 4);
    CU_ASSERT_DOUBLE_EQUAL(dst.ramp_s, 1.0, 0); /* b did not set a ramp: the default stays */
}

static int sim_alloc_op(void *ud, const ge_mem_t *mem)
{
    (void)ud;
    ge_sim_t *s;
    int rc = ge_sim_new(&s, mem, NULL);
    if (rc < 0)
        return rc;
    rc = ge_sim_step(s, SUMMER_NOON);
    ge_sim_free(s);
    return rc;
}

static void test_sim_allocation_failure(void)
{
    long bad = -1;
    CU_ASSERT(failmem_sweep(sim_alloc_op, NULL, &bad) >= 1);
    CU_ASSERT_EQUAL(bad, -1);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "defaults match the CLI contract", test_defaults_match_contract },
        { "PV follows the sun and the season", test_pv_follows_sun_and_season },
        { "clouds are seeded and step-independent", test_clouds_are_seeded },
        { "battery setpoint reached within 1 s", test_setpoint_reached_within_one_second },
        { "rampTms slows the battery", test_slow_ramp },
        { "small moves retarget the ramp", test_small_moves_retarget_the_ramp },
        { "setGradW: a rate, no glitch, back after a reconnection", test_gradient_ramp },
        { "rampTms moves the site's limits", test_limit_ramp_time },
        { "setGradW moves the site's limits at its rate", test_limit_ramp_gradient },
        { "controls drive the site (table)", test_controls_table },
        { "unsupported modes are reported", test_unsupported_modes_reported },
        { "SoC stays within 0..100, 90 % round trip", test_soc_stays_in_bounds },
        { "EV arrives and leaves with a need", test_ev_comes_and_goes },
        { "energy balances over a year", test_energy_balances_over_a_year },
        { "adapter vtable drives the sim", test_adapter_vtable_sim },
        { "devices switched off or tripped", test_devices_off_and_tripped },
        { "device states derived for the stack", test_derived_device_states },
        { "the DER's ratings are the inverters' totals", test_ratings_are_totals },
        { "faults raised from a file", test_adapter_fault_file },
        { "adapter refuses garbage from a driver", test_adapter_rejects_garbage },
        { "allocation failures are clean", test_sim_allocation_failure },
        { "setpoints merge per mode", test_setpoint_merge },
        { NULL, NULL },
    };
    return test_add_suite("sim", cases);
}
