/* test_sunspec.c - the SunSpec Modbus TCP driver against our SunSpec device simulator on
 * 127.0.0.1: discovery, scale factors, telemetry units and signs, setpoints landing in the
 * device's registers, unsupported models, reconnects, timeouts, garbage and failed allocations. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gridedge/adapter.h>
#include <gridedge/error.h>

#include "adapters/sunspec/sunspec.h"
#include "failmem.h"
#include "runner.h"
#include "sunspec_sim.h"

#define TOL 1e-6

/* --- helpers ---------------------------------------------------------------------------------- */

typedef struct logcap {
    char text[8192];
    size_t n;
} logcap_t;

static void cap_log(void *ud, ge_log_level level, const char *module, const char *msg)
{
    logcap_t *c = ud;
    (void)level;
    int w = snprintf(c->text + c->n, sizeof(c->text) - c->n, "%s: %s\n", module, msg);
    if (w > 0 && (size_t)w < sizeof(c->text) - c->n)
        c->n += (size_t)w;
}

static logcap_t g_log;
static const ge_log_t g_logger = { cap_log, &g_log, GE_LOG_DEBUG };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static sunspec_sim_t *start_sim(int variant, int base)
{
    ssim_opts_t o;
    ssim_opts_default(&o);
    o.variant = variant;
    o.base = base;
    sunspec_sim_t *s = NULL;
    CU_ASSERT_FATAL(ssim_start(&s, &o) == 0);
    return s;
}

static int open_drv(ge_adapter_t *ad, sunspec_sim_t *sim, const char *extra, const ge_mem_t *mem)
{
    char cfg[256];
    snprintf(cfg, sizeof(cfg), "host=127.0.0.1 port=%d timeout_ms=500 backoff_ms=200 %s",
             ssim_port(sim), extra ? extra : "");
    g_log.n = 0;
    g_log.text[0] = '\0';
    return ge_adapter_open(ad, ge_sunspec_adapter(), mem, &g_logger, cfg);
}

static int16_t sreg(sunspec_sim_t *s, unsigned id, unsigned off)
{
    return (int16_t)ssim_get(s, id, off);
}

/* --- point decoding: table-driven -------------------------------------------------------------- */

static void test_decode_rules(void)
{
    static const struct {
        uint16_t r[4];
        ge__ss_type type;
        uint16_t sf;
        int rc;
        double v;
    } cases[] = {
        { { 1234 }, GE__SS_INT16, 0, 1, 1234 },
        { { (uint16_t)-1234 }, GE__SS_INT16, (uint16_t)-1, 1, -123.4 },
        { { 2400 }, GE__SS_UINT16, (uint16_t)-1, 1, 240.0 },
        { { 6001 }, GE__SS_UINT16, (uint16_t)-2, 1, 60.01 },
        { { 1350 }, GE__SS_UINT16, 1, 1, 13500 },
        { { 5 }, GE__SS_UINT16, 3, 1, 5000 },
        { { 0x8000 }, GE__SS_INT16, 0, 0, 0 },           /* int16 not implemented */
        { { 0xFFFF }, GE__SS_UINT16, 0, 0, 0 },          /* uint16 not implemented */
        { { 0 }, GE__SS_ACC16, 0, 0, 0 },                /* accumulator not implemented */
        { { 0xFFFF }, GE__SS_ENUM16, 0, 0, 0 },
        { { 3 }, GE__SS_ENUM16, 0x8000, 1, 3 },          /* enums are never scaled */
        { { 0x7FFF }, GE__SS_INT16, 0, 1, 32767 },       /* the largest int16, a real value */
        { { 100 }, GE__SS_INT16, 0x8000, 0, 0 },         /* scale factor not implemented */
        { { 100 }, GE__SS_INT16, 11, GE_ERR_DEVICE, 0 }, /* sunssf outside -10..10 */
        { { 100 }, GE__SS_INT16, (uint16_t)-11, GE_ERR_DEVICE, 0 },
        { { 0x0001, 0x0000 }, GE__SS_INT32, 0, 1, 65536 },
        { { 0xFFFF, 0xFFFE }, GE__SS_INT32, 0, 1, -2 },
        { { 0x8000, 0x0000 }, GE__SS_INT32, 0, 0, 0 },
        { { 0x0000, 0xEA60 }, GE__SS_UINT32, (uint16_t)-3, 1, 60.0 },
        { { 0xFFFF, 0xFFFF }, GE__SS_UINT32, 0, 0, 0 },
        { { 0, 0 }, GE__SS_ACC32, 0, 0, 0 },
        { { 0x00BC, 0x614E }, GE__SS_ACC32, 0, 1, 12345678 },
        { { 0, 0, 0x0040, 0x16A0 }, GE__SS_UINT64, 0, 1, 4200096 },
        { { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF }, GE__SS_UINT64, 0, 0, 0 },
        { { 0x4370, 0x0000 }, GE__SS_FLOAT32, 0, 1, 240.0 },
        { { 0x7FC0, 0x0000 }, GE__SS_FLOAT32, 0, 0, 0 },             /* NaN: not implemented */
        { { 0x7F80, 0x0000 }, GE__SS_FLOAT32, 0, GE_ERR_DEVICE, 0 }, /* +inf: garbage */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double v = -999;
        int rc = ge__ss_decode(cases[i].r, cases[i].type, cases[i].sf, &v);
        if (rc != cases[i].rc)
            printf("\ncase %zu: rc %d, want %d\n", i, rc, cases[i].rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (cases[i].rc == 1)
            CU_ASSERT_DOUBLE_EQUAL(v, cases[i].v, 1e-9 * fmax(1, fabs(cases[i].v)));
    }
}

static void test_encode_rules(void)
{
    static const struct {
        double v;
        ge__ss_type type;
        uint16_t sf;
        uint16_t r0, r1;
        int rc;
    } cases[] = {
        { 50.0, GE__SS_UINT16, (uint16_t)-1, 500, 0, 0 },
        { 50.04, GE__SS_UINT16, (uint16_t)-1, 500, 0, 0 },   /* nearest step */
        { 0.95, GE__SS_INT16, (uint16_t)-3, 950, 0, 0 },
        { -20.0, GE__SS_INT16, (uint16_t)-2, (uint16_t)-2000, 0, 0 },
        { 5000, GE__SS_UINT16, 1, 500, 0, 0 },
        { 1e9, GE__SS_UINT16, 0, 65534, 0, 0 },              /* clamped, never 0xFFFF */
        { -1e9, GE__SS_INT16, 0, (uint16_t)-32767, 0, 0 },   /* never 0x8000 */
        { -3000, GE__SS_INT32, 0, 0xFFFF, 0xF448, 0 },
        { 10, GE__SS_UINT16, 0x8000, 0, 0, GE_ERR_DEVICE },  /* no scale factor */
        { NAN, GE__SS_UINT16, 0, 0, 0, GE_ERR_INVALID },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint16_t r[2] = { 0, 0 };
        int rc = ge__ss_encode(cases[i].v, cases[i].type, cases[i].sf, r);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (rc == 0) {
            CU_ASSERT_EQUAL(r[0], cases[i].r0);
            if (ge__ss_type_regs(cases[i].type) == 2)
                CU_ASSERT_EQUAL(r[1], cases[i].r1);
        }
    }
}

/* --- discovery --------------------------------------------------------------------------------- */

static void test_discovery_each_base(void)
{
    static const struct { int base; const char *cfg; } cases[] = {
        { 40000, NULL }, { 50000, NULL }, { 0, NULL },
        { 40000, "base=40000" }, { 50000, "base=50000" }, { 0, "base=0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sunspec_sim_t *sim = start_sim(SSIM_HYBRID, cases[i].base);
        ge_adapter_t ad;
        CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, cases[i].cfg, NULL), 0);
        char want[64];
        snprintf(want, sizeof(want), "at base %d: models 1,103,120,121,123,124", cases[i].base);
        CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "GridEdge SimHybrid 5K (serial SIM-0001"));
        ge_telemetry_t t;
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
        ge_adapter_close(&ad);
        ssim_stop(sim);
    }
    /* a configured base where the device has no map */
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 50000);
    ge_adapter_t ad;
    CU_ASSERT_EQUAL(open_drv(&ad, sim, "base=40000", NULL), GE_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "no 'SunS' marker"));
    ssim_stop(sim);
}

static void test_capabilities(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ge_adapter_t ad;
    ge_der_caps_t c;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &c), 0);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_va, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_var, 3000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_wh, 13500, TOL);            /* WHRtg 1350, SF +1 */
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_charge_rate_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_discharge_rate_w, 5000, TOL); /* 500, SF +1 */
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_min_pf, 0.80, TOL);             /* 80, SF -2 */
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_v_nom, 240, TOL);               /* 2400, SF -1 */
    CU_ASSERT_DOUBLE_EQUAL(c.pv_peak_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.ev_max_w, 0, TOL);
    uint32_t want = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_GEN_LIM | GE_SP_CONNECT |
                    GE_SP_ENERGIZE | GE_SP_PF_INJECT;
    CU_ASSERT_EQUAL(c.modes, want);
    ge_adapter_close(&ad);
    ssim_stop(sim);

    sim = start_sim(SSIM_DER7XX, 40000);
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "models 1,701,702,703,704,713"));
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &c), 0);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_w, 5000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_var, 2500, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_wh, 13500, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_min_pf, 0.85, TOL);             /* 850, SF -3 */
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_v_nom, 240, TOL);
    CU_ASSERT_EQUAL(c.modes, want | GE_SP_PF_ABSORB);
    ge_adapter_close(&ad);
    ssim_stop(sim);
}

/* --- telemetry ---------------------------------------------------------------------------------- */

static void test_telemetry_hybrid(void)
{
    static const int variants[] = { SSIM_HYBRID, SSIM_HYBRID_FLOAT };
    for (size_t i = 0; i < 2; i++) {
        sunspec_sim_t *sim = start_sim(variants[i], 40000);
        ge_adapter_t ad;
        ge_telemetry_t t;
        CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
        CU_ASSERT_EQUAL(ge_adapter_step(&ad, 1782000000.0), 0);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.time, 1782000000.0, TOL); /* the caller's clock */
        CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.site_w, -3000, TOL);        /* export is negative */
        CU_ASSERT_DOUBLE_EQUAL(t.voltage_v, 240.0, 1e-3);
        CU_ASSERT_DOUBLE_EQUAL(t.frequency_hz, 60.0, 1e-3);
        CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 50.0, TOL);         /* ChaState 500, SF -1 */
        CU_ASSERT_DOUBLE_EQUAL(t.stored_wh, 6750, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.export_wh, 12345678, 1);
        CU_ASSERT_EQUAL(t.alarms, 0);
        CU_ASSERT_DOUBLE_EQUAL(t.site_w, t.house_w + t.ev_w - t.pv_w - t.battery_w, TOL);
        /* discharge adds to the export, charging takes from it */
        ge_setpoint_t sp;
        ge_setpoint_init(&sp);
        sp.set = GE_SP_BATTERY_W;
        sp.battery_w = 2000;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 2000, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.site_w, -5000, TOL);
        sp.battery_w = -1500;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, -1500, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.site_w, -1500, TOL);
        ge_adapter_close(&ad);
        ssim_stop(sim);
    }
}

static void test_telemetry_der7xx(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_DER7XX, 40000);
    ge_adapter_t ad;
    ge_telemetry_t t;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 50, TOL);         /* 5000, Pct_SF -2 */
    CU_ASSERT_DOUBLE_EQUAL(t.stored_wh, 6750, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.voltage_v, 240.0, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(t.frequency_hz, 60.0, 1e-6); /* 60000, Hz_SF -3 (uint32) */
    CU_ASSERT_DOUBLE_EQUAL(t.export_wh, 4200000, TOL);  /* uint64 TotWhInj */
    CU_ASSERT_DOUBLE_EQUAL(t.import_wh, 5100000, TOL);
    ge_setpoint_t sp;
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W;
    sp.battery_w = -2000;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, -2000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.site_w, 2000, TOL); /* charging from the grid imports */
    ge_adapter_close(&ad);
    ssim_stop(sim);
}

/* The measured W under each scale factor, negative ones included. */
static void test_scale_factors_w(void)
{
    static const struct { int variant, w_sf; double pv; } cases[] = {
        { SSIM_HYBRID, -2, 300.25 }, { SSIM_HYBRID, -1, 2999.5 }, { SSIM_HYBRID, 0, 3000 },
        { SSIM_HYBRID, 1, 3000 }, { SSIM_HYBRID, 2, 4900 }, { SSIM_DER7XX, -1, 0 },
        { SSIM_DER7XX, 1, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ssim_opts_t o;
        ssim_opts_default(&o);
        o.variant = cases[i].variant;
        o.w_sf = cases[i].w_sf;
        o.pv_w = cases[i].pv;
        sunspec_sim_t *sim = NULL;
        CU_ASSERT_FATAL(ssim_start(&sim, &o) == 0);
        ge_adapter_t ad;
        ge_telemetry_t t;
        CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
        double step = pow(10, cases[i].w_sf), want = cases[i].pv;
        if (cases[i].variant == SSIM_DER7XX) {
            ge_setpoint_t sp;
            ge_setpoint_init(&sp);
            sp.set = GE_SP_BATTERY_W;
            sp.battery_w = want = 1234; /* WSet_SF 0: whole watts */
            CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        }
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.pv_w + t.battery_w, want, step / 2 + TOL);
        ge_adapter_close(&ad);
        ssim_stop(sim);
    }
}

/* --- setpoints land in the device's registers ---------------------------------------------------- */

static void test_setpoints_123_124(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ge_adapter_t ad;
    ge_telemetry_t t;
    ge_setpoint_t sp;
    uint32_t unsup = 99;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);

    /* WMaxLimPct 50 % of WMax 5000: 500 at SF -1, enabled; the device caps its W */
    ge_setpoint_init(&sp);
    sp.set = GE_SP_MAX_LIM;
    sp.max_lim_pct = 50;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, &unsup), 0);
    CU_ASSERT_EQUAL(unsup, 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 3), 500);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 7), 1);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 2500, TOL);

    /* a generation limit in W becomes the same control, the tighter one wins */
    sp.set = GE_SP_MAX_LIM | GE_SP_GEN_LIM;
    sp.max_lim_pct = 90;
    sp.gen_limit_w = 2000;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 3), 400);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 2000, TOL);

    /* fixed power factor: OutPFSet 0.95 at SF -3, enabled */
    ge_setpoint_init(&sp);
    sp.set = GE_SP_PF_INJECT;
    sp.pf_inject = 0.95;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 8), 950);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 12), 1);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 7), 0); /* the limit went with the previous setpoint */
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.reactive_var, 3000 * tan(acos(0.95)), 1.0);

    /* discharge 2500 W = 50 % of WChaMax: OutWRte 5000 at SF -2, StorCtl_Mod DISCHARGE */
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W;
    sp.battery_w = 2500;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(sreg(sim, 124, 10), 5000);
    CU_ASSERT_EQUAL(sreg(sim, 124, 11), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 124, 3), 2);
    /* charge 1000 W: InWRte 20 %, StorCtl_Mod CHARGE */
    sp.battery_w = -1000;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(sreg(sim, 124, 10), 0);
    CU_ASSERT_EQUAL(sreg(sim, 124, 11), 2000);
    CU_ASSERT_EQUAL(ssim_get(sim, 124, 3), 1);
    /* more than the device can: clamped to its rating (100 %) */
    sp.battery_w = -9000;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(sreg(sim, 124, 11), 10000);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.battery_w, -5000, TOL);

    /* disconnect: Conn 0; the device stops and says so */
    ge_setpoint_init(&sp);
    sp.set = GE_SP_CONNECT;
    sp.connect = 0;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 2), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 124, 3), 3); /* no battery command: idle, both rates 0 */
    CU_ASSERT_EQUAL(sreg(sim, 124, 11), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 0, TOL);
    CU_ASSERT(t.alarms & GE_ALARM_DISCONNECTED);
    /* de-energize means the same for this device */
    ge_setpoint_init(&sp);
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 2), 1);
    sp.set = GE_SP_ENERGIZE;
    sp.energize = 0;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 2), 0);

    /* an empty setpoint releases everything */
    ge_setpoint_init(&sp);
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 2), 1);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 7), 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 12), 0);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
    CU_ASSERT_EQUAL(t.alarms, 0);

    /* the caller's nonsense never reaches the device */
    sp.set = GE_SP_MAX_LIM;
    sp.max_lim_pct = 150;
    long before = ssim_requests(sim);
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), GE_ERR_INVALID);
    sp.set = GE_SP_PF_INJECT;
    sp.pf_inject = 1.5;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(ssim_requests(sim), before);

    /* modes the device lacks are reported, the rest is applied */
    ge_setpoint_init(&sp);
    sp.set = GE_SP_MAX_LIM | GE_SP_EXPORT_LIM | GE_SP_PF_ABSORB | GE_SP_VOLT_VAR;
    sp.max_lim_pct = 70;
    sp.export_limit_w = 1000;
    sp.pf_absorb = 0.9;
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, &unsup), 0);
    CU_ASSERT_EQUAL(unsup, GE_SP_EXPORT_LIM | GE_SP_PF_ABSORB | GE_SP_VOLT_VAR);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 3), 700);
    ge_adapter_close(&ad);
    ssim_stop(sim);
}

static void test_setpoints_704(void)
{
    static const int lens[] = { 69, 65 };
    for (size_t i = 0; i < 2; i++) {
        ssim_opts_t o;
        ssim_opts_default(&o);
        o.variant = SSIM_DER7XX;
        o.m704_len = lens[i];
        sunspec_sim_t *sim = NULL;
        CU_ASSERT_FATAL(ssim_start(&sim, &o) == 0);
        int old = lens[i] == 65, g = old ? 57 : 61;
        ge_adapter_t ad;
        ge_telemetry_t t;
        ge_setpoint_t sp;
        CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);

        ge_setpoint_init(&sp);
        sp.set = GE_SP_BATTERY_W;
        sp.battery_w = 3000;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 20), 1); /* WSetEna */
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 21), 2); /* WSetMod WATTS */
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 22), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 23), 3000);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 3000, TOL);
        CU_ASSERT_DOUBLE_EQUAL(t.site_w, -3000, TOL);

        /* WMaxLimPct 40 % (SF -1) caps the discharge at 2000 W */
        sp.set = GE_SP_BATTERY_W | GE_SP_MAX_LIM;
        sp.max_lim_pct = 40;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 12), 1);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 13), 400);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.battery_w, 2000, TOL);

        /* fixed PF while injecting and while absorbing (PF_SF -3) */
        sp.set = GE_SP_BATTERY_W | GE_SP_PF_INJECT | GE_SP_PF_ABSORB;
        sp.pf_inject = 0.9;
        sp.pf_absorb = 0.95;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 0), 1);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, (unsigned)g), 900);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 6), 1);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, (unsigned)g + 4), 950);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 12), 0);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT_DOUBLE_EQUAL(t.reactive_var, 3000 * tan(acos(0.9)), 1.0);

        /* disconnect through 703 ES (permit service) */
        ge_setpoint_init(&sp);
        sp.set = GE_SP_CONNECT;
        sp.connect = 0;
        CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 703, 0), 0);
        CU_ASSERT_EQUAL(ssim_get(sim, 704, 23), 0); /* idle */
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
        CU_ASSERT(t.alarms & GE_ALARM_DISCONNECTED);
        ge_adapter_close(&ad);
        ssim_stop(sim);
    }
}

/* --- unsupported devices ------------------------------------------------------------------------- */

static void test_unsupported(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_PV_ONLY, 40000);
    ge_adapter_t ad;
    ge_der_caps_t c;
    ge_telemetry_t t;
    ge_setpoint_t sp;
    uint32_t unsup = 0;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &c), 0);
    CU_ASSERT_EQUAL(c.modes, 0);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_wh, 0, TOL);
    CU_ASSERT_DOUBLE_EQUAL(c.pv_peak_w, 5000, TOL);
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_CONNECT;
    sp.battery_w = 1000;
    sp.max_lim_pct = 10;
    sp.connect = 0;
    long before = ssim_requests(sim);
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, &unsup), 0);
    CU_ASSERT_EQUAL(unsup, GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_CONNECT);
    CU_ASSERT_EQUAL(ssim_requests(sim), before); /* nothing to write */
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
    CU_ASSERT_DOUBLE_EQUAL(t.soc_pct, 0, TOL);
    ge_adapter_close(&ad);
    ssim_stop(sim);

    /* a SunSpec device with no model the driver can read */
    sim = start_sim(SSIM_NO_INVERTER, 40000);
    CU_ASSERT_EQUAL(open_drv(&ad, sim, NULL, NULL), GE_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "no inverter model"));
    ssim_stop(sim);
}

/* --- the link ------------------------------------------------------------------------------------ */

static void test_reconnect_after_drop(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ge_adapter_t ad;
    ge_telemetry_t t;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
    CU_ASSERT_EQUAL(ssim_connections(sim), 1);
    /* the device closes the connection instead of answering: the driver reconnects and the
     * caller gets its reading */
    ssim_fault(sim, SSIM_FAULT_DROP, 1);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
    CU_ASSERT_EQUAL(ssim_connections(sim), 2);

    /* the device goes away: errors come fast, and within the backoff without even trying */
    ssim_set_online(sim, 0);
    double t0 = now_s();
    int rc = ge_adapter_read(&ad, &t);
    CU_ASSERT(rc == GE_ERR_DEVICE || rc == GE_ERR_TIMEOUT);
    CU_ASSERT(now_s() - t0 < 1.2);
    t0 = now_s();
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
    CU_ASSERT(now_s() - t0 < 0.1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "retrying in 200 ms"));
    /* the next failed attempt waits twice as long */
    sleep_ms(250);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "retrying in 400 ms"));
    /* it comes back: after the backoff the driver reconnects and rediscovers */
    ssim_set_online(sim, 1);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) { /* bounded: 40 x 100 ms */
        sleep_ms(100);
        ok = ge_adapter_read(&ad, &t) == 0;
    }
    CU_ASSERT(ok);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 3000, TOL);
    CU_ASSERT_EQUAL(ssim_connections(sim), 3);
    ge_adapter_close(&ad);
    ssim_stop(sim);
}

static void test_lazy_open(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ge_adapter_t ad;
    ge_telemetry_t t;
    ge_der_caps_t c;
    ssim_set_online(sim, 0);
    CU_ASSERT(open_drv(&ad, sim, NULL, NULL) < 0);
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, "lazy=1", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "not reachable yet"));
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
    CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &c), GE_ERR_DEVICE);
    ssim_set_online(sim, 1);
    /* the first call after the device appears may be a setpoint: it is applied as asked,
     * not as "nothing supported" */
    ge_setpoint_t sp;
    ge_setpoint_init(&sp);
    sp.set = GE_SP_MAX_LIM;
    sp.max_lim_pct = 30;
    uint32_t unsup = 0;
    int rc = GE_ERR_DEVICE;
    for (int i = 0; i < 40 && rc != 0; i++) { /* bounded: 40 x 100 ms */
        sleep_ms(100);
        rc = ge_adapter_apply(&ad, &sp, &unsup);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(unsup, 0);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 3), 300);
    CU_ASSERT_EQUAL(ssim_get(sim, 123, 7), 1);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) { /* bounded: 40 x 100 ms */
        sleep_ms(100);
        ok = ge_adapter_capabilities(&ad, &c) == 0;
    }
    CU_ASSERT(ok);
    CU_ASSERT_DOUBLE_EQUAL(c.rtg_max_w, 5000, TOL);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_DOUBLE_EQUAL(t.pv_w, 1500, TOL); /* 30 % of 5000 */
    ge_adapter_close(&ad);
    ssim_stop(sim);
}

static void test_timeout_and_exception(void)
{
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ge_adapter_t ad;
    ge_telemetry_t t;
    ge_setpoint_t sp;
    CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, "timeout_ms=300", NULL), 0);
    /* a device that stops answering costs the caller its timeout, no more */
    ssim_fault(sim, SSIM_FAULT_SILENT, -1);
    double t0 = now_s();
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_TIMEOUT);
    double dt = now_s() - t0;
    CU_ASSERT(dt >= 0.25 && dt < 0.8);
    ge_setpoint_init(&sp);
    sp.set = GE_SP_BATTERY_W;
    sp.battery_w = 1000;
    t0 = now_s();
    CU_ASSERT_EQUAL(ge_adapter_apply(&ad, &sp, NULL), GE_ERR_TIMEOUT);
    CU_ASSERT(now_s() - t0 < 0.8);
    /* the failed reconnect inside apply() started the backoff: the device is back after it */
    ssim_fault(sim, SSIM_FAULT_NONE, 0);
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) { /* bounded: 20 x 100 ms */
        sleep_ms(100);
        ok = ge_adapter_read(&ad, &t) == 0;
    }
    CU_ASSERT(ok);
    /* an exception answer: a device error, the connection stays */
    long conns = ssim_connections(sim);
    ssim_fault(sim, SSIM_FAULT_EXCEPTION, 1);
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "exception"));
    CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0);
    CU_ASSERT_EQUAL(ssim_connections(sim), conns);
    ge_adapter_close(&ad);
    ssim_stop(sim);

    /* a device that accepts the connection and never answers: open gives up in time */
    sim = start_sim(SSIM_HYBRID, 40000);
    ssim_fault(sim, SSIM_FAULT_SILENT, -1);
    t0 = now_s();
    CU_ASSERT_EQUAL(open_drv(&ad, sim, "timeout_ms=300", NULL), GE_ERR_TIMEOUT);
    dt = now_s() - t0;
    CU_ASSERT(dt >= 0.25 && dt < 0.8);
    ssim_stop(sim);

    /* nobody listening at all: open fails within its timeout */
    sim = start_sim(SSIM_HYBRID, 40000);
    ssim_set_online(sim, 0);
    t0 = now_s();
    CU_ASSERT(open_drv(&ad, sim, NULL, NULL) < 0);
    CU_ASSERT(now_s() - t0 < 1.0);
    ssim_stop(sim);
}

/* --- garbage from the device: table-driven ------------------------------------------------------- */

static void test_garbage_rejected(void)
{
    static const struct {
        int variant;
        unsigned model, off;
        uint16_t value;
        const char *log;
    } cases[] = {
        { SSIM_HYBRID, 103, 13, 25, "model 103 point W: garbage" },      /* W_SF 25 */
        { SSIM_HYBRID, 103, 13, (uint16_t)-30, "point W: garbage" },     /* W_SF -30 */
        { SSIM_HYBRID, 103, 12, 0x8000, "W (mandatory) is not implemented" },
        { SSIM_HYBRID, 103, 12, 32000, "point W = 32000 is outside" },  /* 32 kW from 5 kW */
        { SSIM_HYBRID, 103, 14, 9000, "point Hz = 90 is outside" },
        { SSIM_HYBRID, 103, 8, 60000, "point PhVphA = 6000 is outside" },
        { SSIM_HYBRID, 124, 6, 1500, "point ChaState = 150 is outside" },
        { SSIM_HYBRID, 124, 20, 0x7FFF, "point ChaState: garbage" },
        { SSIM_HYBRID_FLOAT, 113, 20, 0x7F80, "point W: garbage" },      /* +inf */
        { SSIM_DER7XX, 701, 114, 12, "model 701 point W: garbage" },
        { SSIM_DER7XX, 713, 2, 20000, "point SoC = 200 is outside" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sunspec_sim_t *sim = start_sim(cases[i].variant, 40000);
        ge_adapter_t ad;
        ge_telemetry_t t;
        CU_ASSERT_EQUAL_FATAL(open_drv(&ad, sim, NULL, NULL), 0);
        uint16_t keep = ssim_get(sim, cases[i].model, cases[i].off);
        uint16_t keep2 = ssim_get(sim, cases[i].model, cases[i].off + 1);
        ssim_set(sim, cases[i].model, cases[i].off, cases[i].value);
        if (cases[i].variant == SSIM_HYBRID_FLOAT) /* a float takes two registers */
            ssim_set(sim, cases[i].model, cases[i].off + 1, 0);
        memset(&t, 0x5a, sizeof(t));
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), GE_ERR_DEVICE);
        if (!strstr(g_log.text, cases[i].log))
            printf("\ncase %zu: no '%s' in:\n%s", i, cases[i].log, g_log.text);
        CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, cases[i].log));
        ssim_set(sim, cases[i].model, cases[i].off, keep);
        ssim_set(sim, cases[i].model, cases[i].off + 1, keep2);
        CU_ASSERT_EQUAL(ge_adapter_read(&ad, &t), 0); /* and the next good reading is fine */
        ge_adapter_close(&ad);
        ssim_stop(sim);
    }
    /* a garbage rating makes the device unusable from the start */
    sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
    ssim_set(sim, 120, 18, 0x7FFF);
    ge_adapter_t ad;
    CU_ASSERT_EQUAL(open_drv(&ad, sim, NULL, NULL), GE_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, "point WHRtg: garbage"));
    ssim_stop(sim);
}

/* A broken model map: each case corrupts one register and expects OPEN_RC and a log line. */
static void test_broken_map(void)
{
    enum { MARKER, LAST_LEN, STOR_LEN, END_MARK, COMMON_ID };
    static const struct { int what; uint16_t value; int open_rc; const char *log; } cases[] = {
        { MARKER, 0x5375, GE_ERR_DEVICE, "no 'SunS' marker" },             /* "SuSu" */
        { LAST_LEN, 0xFFF0, GE_ERR_DEVICE, "past the address space" },
        { STOR_LEN, 10, 0, "model 124 has length 10, shorter than the 24" },
        { END_MARK, 0x0001, 0, "models 1,103,120,121,123,124" }, /* chain ends in an exception */
        { COMMON_ID, 2, GE_ERR_DEVICE, "the first model is not the common model" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sunspec_sim_t *sim = start_sim(SSIM_HYBRID, 40000);
        int addr = 0;
        switch (cases[i].what) {
        case MARKER: addr = 40001; break;
        case LAST_LEN: addr = ssim_model_addr(sim, 124) - 1; break;
        case STOR_LEN: addr = ssim_model_addr(sim, 124) - 1; break;
        case END_MARK: addr = ssim_model_addr(sim, 124) + 24; break;
        default: addr = 40002; break;
        }
        ssim_set_raw(sim, addr, cases[i].value);
        if (cases[i].what == END_MARK)
            ssim_set_raw(sim, addr + 1, 0); /* "model 1, length 0" at the very end of the map */
        if (cases[i].what == STOR_LEN) /* the last model ends early, and so does the map */
            ssim_set_raw(sim, addr + 1 + 10, 0xFFFF);
        ge_adapter_t ad;
        int rc = open_drv(&ad, sim, NULL, NULL);
        CU_ASSERT_EQUAL(rc, cases[i].open_rc);
        if (!strstr(g_log.text, cases[i].log))
            printf("\ncase %zu: no '%s' in:\n%s", i, cases[i].log, g_log.text);
        CU_ASSERT_PTR_NOT_NULL(strstr(g_log.text, cases[i].log));
        if (rc == 0) {
            ge_der_caps_t c;
            CU_ASSERT_EQUAL(ge_adapter_capabilities(&ad, &c), 0);
            /* without a usable 124 the device takes no battery commands */
            CU_ASSERT_EQUAL((c.modes & GE_SP_BATTERY_W) != 0, cases[i].what != STOR_LEN);
            CU_ASSERT(c.modes & GE_SP_MAX_LIM);
            ge_adapter_close(&ad);
        }
        ssim_stop(sim);
    }
}

static void test_config_errors(void)
{
    static const char *bad[] = {
        "", "port=502", "host=127.0.0.1 port=0", "host=127.0.0.1 port=70000",
        "host=127.0.0.1 base=1234", "host=127.0.0.1 colour=blue", "host=127.0.0.1 timeout_ms=x",
        "host=127.0.0.1 unit", "host=127.0.0.1 lazy=2", "host=inverter.local", "host=127.0.0.1.5", NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        ge_adapter_t ad;
        CU_ASSERT_EQUAL(ge_adapter_open(&ad, ge_sunspec_adapter(), NULL, NULL, bad[i]),
                        GE_ERR_CONFIG);
    }
    CU_ASSERT_EQUAL(ge_adapter_open(NULL, ge_sunspec_adapter(), NULL, NULL, "host=x"),
                    GE_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(ge_sunspec_adapter()->name, "sunspec");
}

/* --- failed allocations -------------------------------------------------------------------------- */

static int fm_op(void *ud, const ge_mem_t *mem)
{
    sunspec_sim_t *sim = ud;
    ge_adapter_t ad;
    ge_telemetry_t t;
    ge_setpoint_t sp;
    int rc = open_drv(&ad, sim, NULL, mem);
    if (rc < 0)
        return rc;
    rc = ge_adapter_read(&ad, &t);
    if (rc == 0) {
        ge_setpoint_init(&sp);
        sp.set = GE_SP_BATTERY_W | GE_SP_MAX_LIM;
        sp.battery_w = 500;
        sp.max_lim_pct = 80;
        rc = ge_adapter_apply(&ad, &sp, NULL);
    }
    ge_adapter_close(&ad);
    return rc;
}

static void test_failmalloc(void)
{
    static const int variants[] = { SSIM_HYBRID, SSIM_DER7XX };
    for (size_t i = 0; i < 2; i++) {
        sunspec_sim_t *sim = start_sim(variants[i], 40000);
        long bad = -1;
        long runs = failmem_sweep(fm_op, sim, &bad);
        if (runs < 0)
            printf("\nfailmalloc: bad run %ld\n", bad);
        CU_ASSERT(runs > 1);
        ssim_stop(sim);
    }
}

int test_register(void)
{
    static const test_case_t points[] = {
        { "decode: types, sentinels, scale factors", test_decode_rules },
        { "encode: rounding, clamping, scale factors", test_encode_rules },
        { NULL, NULL },
    };
    static const test_case_t device[] = {
        { "discovery at 40000, 50000 and 0", test_discovery_each_base },
        { "capabilities from 120/121/124 and 702/713", test_capabilities },
        { "telemetry of a hybrid inverter (103 and 113)", test_telemetry_hybrid },
        { "telemetry of a 700-series battery", test_telemetry_der7xx },
        { "measured W under negative and positive scale factors", test_scale_factors_w },
        { "setpoints through 123 and 124", test_setpoints_123_124 },
        { "setpoints through 703 and 704 (both revisions)", test_setpoints_704 },
        { "unsupported models and modes", test_unsupported },
        { "reconnect after a drop and an outage", test_reconnect_after_drop },
        { "lazy open of a device that is away", test_lazy_open },
        { "timeouts and exception answers", test_timeout_and_exception },
        { "garbage values are rejected", test_garbage_rejected },
        { "a broken model map", test_broken_map },
        { "configuration errors", test_config_errors },
        { "failmalloc over open, read, apply, close", test_failmalloc },
        { NULL, NULL },
    };
    int rc = test_add_suite("sunspec points", points);
    if (rc == 0)
        rc = test_add_suite("sunspec driver", device);
    return rc;
}
