/* test_policy.c - local price response, table-driven: signals and the site's state in; the battery
 * setpoint, limits, action and reason out.  A second test drives the simulated home with the
 * policy for a day and checks what a household would see. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gridedge/adapter.h>
#include <gridedge/error.h>
#include <gridedge/policy.h>

#include "runner.h"

#define NOW 1800000000.0
#define NONE (-1.0)

enum utility_kind { U_NONE, U_BATTERY, U_DISCONNECT, U_EXPORT_LIMIT, U_DEENERGIZE };

typedef struct policy_row {
    const char *name;
    /* signals */
    int has_price;
    double price;
    int level;             /* SIMPLE level, -1 none */
    int utility;           /* utility_kind */
    double utility_value;  /* battery W or export limit W */
    /* site */
    double soc, house, pv;
    double ev_need_wh, ev_hours_left; /* 0 need: no EV */
    /* config */
    int self_consumption;
    double site_export_limit, site_import_limit; /* NONE: not configured */
    /* expected */
    double battery_w;      /* NAN: the policy sets no battery setpoint */
    int action;
    const char *reason;    /* a substring of the reason */
    double export_limit;   /* NONE: no export limit in the setpoint */
    double ev_limit;       /* NONE: no EV limit */
} policy_row_t;

static const policy_row_t rows[] = {
    { "no signal: self-consumption stores the PV surplus", 0, 0, -1, U_NONE, 0, 50, 1000, 3000, 0, 0,
      1, NONE, NONE, -2000, GE_POLICY_SELF, "self-consumption", NONE, NONE },
    { "no signal: self-consumption covers the load", 0, 0, -1, U_NONE, 0, 50, 1800, 300, 0, 0,
      1, NONE, NONE, 1500, GE_POLICY_SELF, "self-consumption", NONE, NONE },
    { "no signal: self-consumption keeps the reserve", 0, 0, -1, U_NONE, 0, 10, 1800, 300, 0, 0,
      1, NONE, NONE, 0, GE_POLICY_SELF, "self-consumption", NONE, NONE },
    { "no signal, self-consumption off: idle", 0, 0, -1, U_NONE, 0, 50, 1000, 3000, 0, 0,
      0, NONE, NONE, 0, GE_POLICY_IDLE, "idle", NONE, NONE },
    { "cheap price: charge at the maximum", 1, 0.08, -1, U_NONE, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, -5000, GE_POLICY_PRICE_LOW, "charging: price 0.08 below 0.10", NONE, NONE },
    { "cheap price, battery full: hold", 1, 0.08, -1, U_NONE, 0, 100, 1000, 0, 0, 0,
      1, NONE, NONE, 0, GE_POLICY_PRICE_LOW, "full: price 0.08", NONE, NONE },
    { "price at the threshold is not cheap", 1, 0.10, -1, U_NONE, 0, 50, 1000, 0, 0, 0,
      0, NONE, NONE, 0, GE_POLICY_IDLE, "idle", NONE, NONE },
    { "expensive price: discharge at the maximum", 1, 0.35, -1, U_NONE, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, 5000, GE_POLICY_PRICE_HIGH, "discharging: price 0.35 above 0.30", NONE, NONE },
    { "expensive price at the reserve: hold", 1, 0.35, -1, U_NONE, 0, 10, 1000, 0, 0, 0,
      1, NONE, NONE, 0, GE_POLICY_PRICE_HIGH, "holding: SoC 10% at the 10% reserve", NONE, NONE },
    { "SIMPLE 2: discharge at the maximum", 0, 0, 2, U_NONE, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, 5000, GE_POLICY_EVENT_SHED, "OpenADR SIMPLE level 2", NONE, NONE },
    { "SIMPLE 3 beats a cheap price", 1, 0.05, 3, U_NONE, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, 5000, GE_POLICY_EVENT_SHED, "SIMPLE level 3", NONE, NONE },
    { "SIMPLE 1: the battery covers the house load", 0, 0, 1, U_NONE, 0, 50, 1500, 200, 0, 0,
      1, NONE, NONE, 1300, GE_POLICY_EVENT_COVER, "covering the house load", NONE, NONE },
    { "SIMPLE 1 with PV surplus: site near 0 by charging", 0, 0, 1, U_NONE, 0, 50, 1000, 3000, 0, 0,
      1, NONE, NONE, -2000, GE_POLICY_EVENT_COVER, "SIMPLE level 1", NONE, NONE },
    { "utility battery command wins over price and SIMPLE", 1, 0.35, 2, U_BATTERY, -3000, 50, 1000, 0,
      0, 0, 1, NONE, NONE, -3000, GE_POLICY_UTILITY, "utility control: battery -3000 W", NONE, NONE },
    { "utility charge target at night, import limit 500: the EV waits, the battery covers the house", 0, 0,
      -1, U_BATTERY, -5000, 50, 2100, 0, 20000, 8, 1, NONE, 500, 1600, GE_POLICY_UTILITY,
      "utility control: battery -5000 W, import limit 500 W", NONE, 0 },
    { "utility charge target by day, import limit 500: the battery charges less, the EV waits", 0, 0,
      -1, U_BATTERY, -5000, 50, 1000, 4000, 20000, 8, 1, NONE, 500, -3500, GE_POLICY_UTILITY,
      "import limit 500 W", NONE, 0 },
    { "utility charge target inside the import limit: kept, the EV takes the rest", 0, 0, -1, U_BATTERY,
      -2000, 50, 1000, 0, 20000, 8, 1, NONE, 5000, -2000, GE_POLICY_UTILITY,
      "utility control: battery -2000 W", NONE, 2000 },
    { "utility discharge target, export limit 1000: trimmed, the EV's load counted", 0, 0, -1, U_BATTERY,
      5000, 50, 1000, 0, 20000, 8, 1, 1000, NONE, 5000, GE_POLICY_UTILITY, "utility control: battery 5000 W",
      1000, NONE },
    { "utility discharge target, export limit 0 and no EV: trimmed to the house load", 0, 0, -1, U_BATTERY,
      5000, 50, 1000, 0, 0, 0, 1, 0, NONE, 1000, GE_POLICY_UTILITY, "battery 5000 W, export limit 0 W",
      0, NONE },
    { "utility target 0 W, export limit 0, a PV surplus: the battery stays idle (the PV is cut)", 0, 0, -1,
      U_BATTERY, 0, 50, 1000, 1250, 0, 0, 1, 0, NONE, 0, GE_POLICY_UTILITY, "utility control: battery 0 W", 0,
      NONE },
    { "utility charge target -2000 W, export limit 0, a 3000 W surplus: not deepened", 0, 0, -1, U_BATTERY,
      -2000, 50, 1000, 4000, 0, 0, 1, 0, NONE, -2000, GE_POLICY_UTILITY, "utility control: battery -2000 W", 0,
      NONE },
    { "utility disconnect wins", 0, 0, 2, U_DISCONNECT, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, NAN, GE_POLICY_UTILITY, "disconnected", NONE, NONE },
    { "utility de-energize wins", 1, 0.05, -1, U_DEENERGIZE, 0, 50, 1000, 0, 0, 0,
      1, NONE, NONE, NAN, GE_POLICY_UTILITY, "de-energized", NONE, NONE },
    { "utility export limit 0: soak the PV surplus instead of discharging", 1, 0.35, -1,
      U_EXPORT_LIMIT, 0, 50, 1000, 4000, 0, 0, 1, NONE, NONE, -3000, GE_POLICY_PRICE_HIGH,
      "export limit 0 W", 0, NONE },
    { "the tighter export limit wins (site 2000 vs utility 5000)", 1, 0.35, -1, U_EXPORT_LIMIT, 5000,
      50, 1000, 0, 0, 0, 1, 2000, NONE, 3000, GE_POLICY_PRICE_HIGH, "export limit 2000 W", 2000, NONE },
    { "import limit trims cheap charging", 1, 0.05, -1, U_NONE, 0, 50, 1000, 0, 0, 0,
      1, NONE, 3000, -2000, GE_POLICY_PRICE_LOW, "import limit 3000 W", NONE, NONE },
    { "SIMPLE 1 (a demand charge), EV leaves in 10 h: the EV waits, the battery covers the house", 0, 0,
      1, U_NONE, 0, 50, 2000, 0, 10000, 10, 1, NONE, NONE, 2000, GE_POLICY_EVENT_COVER,
      "covering the house load: OpenADR SIMPLE level 1; EV waits for the event's end", NONE, 0 },
    { "SIMPLE 1, EV leaves in 1 h: the EV charges, the battery covers what it can", 0, 0, 1, U_NONE, 0, 50,
      2000, 0, 10000, 1, 1, NONE, NONE, 5000, GE_POLICY_EVENT_COVER, "covering the house load", NONE, NONE },
    { "expensive price, EV leaves in 10 h: EV waits", 1, 0.40, -1, U_NONE, 0, 50, 1000, 0, 10000, 10,
      1, NONE, NONE, 5000, GE_POLICY_PRICE_HIGH, "EV waits", NONE, 0 },
    { "expensive price, EV leaves in 4 h needing 40 kWh: EV charges", 1, 0.40, -1, U_NONE, 0, 50,
      1000, 0, 40000, 4, 1, NONE, NONE, 5000, GE_POLICY_PRICE_HIGH, "discharging", NONE, NONE },
    { "cheap price, EV and an import limit: the battery helps the EV", 1, 0.05, -1, U_NONE, 0, 50,
      1000, 0, 20000, 8, 1, NONE, 5000, 3200, GE_POLICY_PRICE_LOW, "import limit 5000 W", NONE, NONE },
    { "import limit at the reserve: the EV is slowed", 1, 0.05, -1, U_NONE, 0, 10, 1000, 0, 20000, 8,
      1, NONE, 5000, 0, GE_POLICY_PRICE_LOW, "import limit", NONE, 4000 },
};

static void default_caps(ge_der_caps_t *caps)
{
    memset(caps, 0, sizeof(*caps));
    caps->rtg_max_w = 10000;
    caps->rtg_max_charge_rate_w = 5000;
    caps->rtg_max_discharge_rate_w = 5000;
    caps->rtg_max_wh = 13500;
    caps->ev_max_w = 7200;
}

static void test_policy_table(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const policy_row_t *r = &rows[i];
        ge_policy_config_t cfg;
        ge_policy_config_default(&cfg);
        cfg.self_consumption = r->self_consumption;
        if (r->site_export_limit != NONE) {
            cfg.has_export_limit = 1;
            cfg.export_limit_w = r->site_export_limit;
        }
        if (r->site_import_limit != NONE) {
            cfg.has_import_limit = 1;
            cfg.import_limit_w = r->site_import_limit;
        }
        ge_setpoint_t u;
        ge_setpoint_init(&u);
        switch (r->utility) {
        case U_BATTERY: u.set = GE_SP_BATTERY_W; u.battery_w = r->utility_value; break;
        case U_DISCONNECT: u.set = GE_SP_CONNECT; u.connect = 0; break;
        case U_DEENERGIZE: u.set = GE_SP_ENERGIZE; u.energize = 0; break;
        case U_EXPORT_LIMIT: u.set = GE_SP_EXPORT_LIM; u.export_limit_w = r->utility_value; break;
        default: break;
        }
        ge_policy_input_t in;
        memset(&in, 0, sizeof(in));
        in.now = NOW;
        in.has_price = r->has_price;
        in.price = r->price;
        in.simple_level = r->level;
        in.utility = r->utility == U_NONE ? NULL : &u;
        in.tel.soc_pct = r->soc;
        in.tel.house_w = r->house;
        in.tel.pv_w = r->pv;
        if (r->ev_need_wh > 0) {
            in.tel.ev_connected = 1;
            in.tel.ev_need_wh = r->ev_need_wh;
            in.tel.ev_departure = NOW + r->ev_hours_left * 3600;
        }
        default_caps(&in.caps);
        ge_policy_output_t out;
        CU_ASSERT_EQUAL_FATAL(ge_policy_decide(&cfg, &in, &out), 0);
        int ok = 1;
        if (isnan(r->battery_w))
            ok &= !(out.sp.set & GE_SP_BATTERY_W);
        else
            ok &= (out.sp.set & GE_SP_BATTERY_W) && fabs(out.sp.battery_w - r->battery_w) < 1e-6;
        ok &= (int)out.action == r->action;
        ok &= strstr(out.reason, r->reason) != NULL;
        if (r->export_limit == NONE)
            ok &= !(out.sp.set & GE_SP_EXPORT_LIM);
        else
            ok &= (out.sp.set & GE_SP_EXPORT_LIM) && fabs(out.sp.export_limit_w - r->export_limit) < 1e-6;
        if (r->ev_limit == NONE)
            ok &= !(out.sp.set & GE_SP_EV_LIM);
        else
            ok &= (out.sp.set & GE_SP_EV_LIM) && fabs(out.sp.ev_limit_w - r->ev_limit) < 1e-6;
        /* a utility control is never altered */
        if (r->utility == U_DISCONNECT)
            ok &= (out.sp.set & GE_SP_CONNECT) && !out.sp.connect;
        if (r->utility == U_DEENERGIZE)
            ok &= (out.sp.set & GE_SP_ENERGIZE) && !out.sp.energize;
        if (!ok)
            fprintf(stderr, "\nrow '%s': battery %s%.1f action %d reason '%s' exp %s%.0f ev %s%.0f\n",
                    r->name, (out.sp.set & GE_SP_BATTERY_W) ? "" : "(unset)", out.sp.battery_w,
                    (int)out.action, out.reason, (out.sp.set & GE_SP_EXPORT_LIM) ? "" : "(unset)",
                    out.sp.export_limit_w, (out.sp.set & GE_SP_EV_LIM) ? "" : "(unset)",
                    out.sp.ev_limit_w);
        CU_ASSERT(ok);
    }
}

static void test_policy_arguments(void)
{
    CU_ASSERT_STRING_EQUAL(ge_policy_action_name(GE_POLICY_SELF), "self-consumption");
    CU_ASSERT_STRING_EQUAL(ge_policy_action_name(GE_POLICY_EVENT_SHED), "event: discharging");
    CU_ASSERT_STRING_EQUAL(ge_policy_action_name((ge_policy_action)99), "idle");
    ge_policy_input_t in;
    ge_policy_output_t out;
    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    CU_ASSERT_EQUAL(ge_policy_decide(NULL, NULL, &out), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(ge_policy_decide(NULL, &in, NULL), GE_ERR_INVALID);
    in.tel.soc_pct = NAN;
    CU_ASSERT_EQUAL(ge_policy_decide(NULL, &in, &out), GE_ERR_RANGE);
    in.tel.soc_pct = 50;
    in.has_price = 1;
    in.price = INFINITY;
    CU_ASSERT_EQUAL(ge_policy_decide(NULL, &in, &out), GE_ERR_RANGE);
    in.price = 0.2;
    CU_ASSERT_EQUAL(ge_policy_decide(NULL, &in, &out), 0); /* NULL config: defaults */
}

/* The policy driving the simulated home through a day with a cheap morning and an expensive
 * evening: the battery ends the cheap hours fuller and the expensive ones emptier, and the site
 * never passes a configured export limit. */
static void test_policy_drives_the_sim(void)
{
    ge_sim_t *sim;
    ge_sim_config_t sc;
    ge_sim_config_default(&sc);
    sc.seed = 3;
    CU_ASSERT_EQUAL_FATAL(ge_sim_new(&sim, NULL, &sc), 0);
    ge_policy_config_t cfg;
    ge_policy_config_default(&cfg);
    cfg.has_export_limit = 1;
    cfg.export_limit_w = 1000;
    ge_policy_input_t in;
    memset(&in, 0, sizeof(in));
    ge_sim_capabilities(sim, &in.caps);
    const double day = 1782000000.0 + 8 * 3600; /* local midnight (UTC-8), 21 June */
    double soc_after_cheap = 0, soc_before_peak = 0, soc_after_peak = 0;
    for (double now = day; now < day + 86400; now += 60) {
        double h = (now - day) / 3600.0;
        ge_sim_step(sim, now);
        ge_sim_read(sim, &in.tel);
        CU_ASSERT(in.tel.site_w >= -1000 - 1e-6);
        in.now = now;
        in.simple_level = -1;
        in.has_price = 1;
        in.price = h < 5 ? 0.06 : (h >= 17 && h < 21) ? 0.45 : 0.20;
        ge_policy_output_t out;
        CU_ASSERT_EQUAL_FATAL(ge_policy_decide(&cfg, &in, &out), 0);
        CU_ASSERT_EQUAL(ge_sim_apply(sim, &out.sp, NULL), 0);
        if (fabs(h - 5.0) < 1e-9)
            soc_after_cheap = in.tel.soc_pct;
        if (fabs(h - 17.0) < 1e-9)
            soc_before_peak = in.tel.soc_pct;
        if (fabs(h - 21.0) < 1e-9)
            soc_after_peak = in.tel.soc_pct;
    }
    printf("\n  soc: after cheap %.1f, before peak %.1f, after peak %.1f\n", soc_after_cheap, soc_before_peak, soc_after_peak);
    CU_ASSERT(soc_after_cheap > 95);
    CU_ASSERT(soc_after_peak < soc_before_peak - 30);
    CU_ASSERT(soc_after_peak >= cfg.reserve_soc_pct - 1);
    ge_sim_free(sim);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "price / SIMPLE / utility / limits (table)", test_policy_table },
        { "argument checks", test_policy_arguments },
        { "a day of the sim driven by the policy", test_policy_drives_the_sim },
        { NULL, NULL },
    };
    return test_add_suite("policy", cases);
}
