/* sunspec.c - the "sunspec" driver: a SunSpec device (inverter, hybrid inverter, battery) on
 * Modbus TCP through libmodbus.  It owns the connection (bounded timeouts, reconnect with
 * backoff), the discovery of the device's model map, and the mapping between SunSpec points and
 * the units and signs of gridedge/adapter.h.  Which points mean what is in docs/sunspec.md.
 *
 * Time: telemetry time is the caller's `now` (step()); the only clock read here is the monotonic
 * one that bounds network I/O, so one call never blocks longer than timeout_ms in total. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <modbus/modbus.h>

#include <gridedge/error.h>

#include "adapters/sunspec/sunspec.h"

#define MOD "sunspec"
#define MAX_MODELS 100        /* a real device has a dozen; more means a broken chain */
#define MAX_READ 125          /* Modbus read holding registers limit (Modbus spec 6.3) */
#define SUNS_HI 0x5375u       /* "Su" */
#define SUNS_LO 0x6e53u       /* "nS" */
#define END_ID 0xFFFFu        /* end-of-map model ID (SunSpec Information Model, "Device Models") */
#define NS_PER_MS 1000000ull

/* --- model layouts: offsets from the model's first point (after ID and L) ------------------- */

enum { M1_MN = 0, M1_MD = 16, M1_VR = 40, M1_SN = 48, M1_LEN = 65 };
/* 101-103: integer inverter models */
enum { I_PHVA = 8, I_V_SF = 11, I_W = 12, I_W_SF = 13, I_HZ = 14, I_HZ_SF = 15, I_VAR = 18,
       I_VAR_SF = 19, I_WH = 22, I_WH_SF = 24, I_DCW = 29, I_DCW_SF = 30, I_LEN = 50 };
/* 111-113: float inverter models */
enum { F_PHVA = 14, F_W = 20, F_HZ = 22, F_VAR = 26, F_WH = 30, F_DCW = 36, F_LEN = 60 };
/* 120 nameplate */
enum { NP_DERTYP = 0, NP_WRTG = 1, NP_WRTG_SF = 2, NP_VARTG = 3, NP_VARTG_SF = 4, NP_VARRTGQ1 = 5,
       NP_VARRTG_SF = 9, NP_PFRTGQ1 = 12, NP_PFRTG_SF = 16, NP_WHRTG = 17, NP_WHRTG_SF = 18,
       NP_MAXCHA = 21, NP_MAXCHA_SF = 22, NP_MAXDIS = 23, NP_MAXDIS_SF = 24, NP_LEN = 26 };
/* 121 basic settings */
enum { SET_WMAX = 0, SET_VREF = 1, SET_WMAX_SF = 20, SET_VREF_SF = 21, SET_LEN = 30 };
/* 123 immediate controls */
enum { CTL_CONN = 2, CTL_WMAXLIMPCT = 3, CTL_WMAXLIM_ENA = 7, CTL_OUTPFSET = 8,
       CTL_OUTPFSET_ENA = 12, CTL_WMAXLIMPCT_SF = 21, CTL_OUTPFSET_SF = 22, CTL_LEN = 24 };
/* 124 basic storage controls */
enum { ST_WCHAMAX = 0, ST_STORCTL_MOD = 3, ST_CHASTATE = 6, ST_OUTWRTE = 10, ST_INWRTE = 11,
       ST_WCHAMAX_SF = 16, ST_CHASTATE_SF = 20, ST_INOUTWRTE_SF = 23, ST_LEN = 24 };
/* 701 DER AC measurement */
enum { D1_CONNST = 3, D1_W = 8, D1_VAR = 10, D1_LLV = 13, D1_LNV = 14, D1_HZ = 15,
       D1_TOTWHINJ = 17, D1_TOTWHABS = 21, D1_V_SF = 112, D1_HZ_SF = 113, D1_W_SF = 114,
       D1_VAR_SF = 117, D1_TOTWH_SF = 118, D1_LEN = 121 };
/* 702 DER capacity */
enum { D2_WMAXRTG = 0, D2_VAMAXRTG = 5, D2_VARMAXINJRTG = 6, D2_WCHARTEMAXRTG = 8,
       D2_WDISCHARTEMAXRTG = 9, D2_VNOMRTG = 12, D2_PFOVREXTRTG = 16, D2_WMAX = 24, D2_W_SF = 43,
       D2_PF_SF = 44, D2_VA_SF = 45, D2_VAR_SF = 46, D2_V_SF = 47, D2_LEN = 50 };
/* 703 DER enter service: ES is IEEE 1547-2018 4.10 "permit service" */
enum { D3_ES = 0, D3_LEN = 17 };
/* 704 DER AC controls: the points up to WSet are where every published revision has them */
enum { D4_PFWINJENA = 0, D4_PFWABSENA = 6, D4_WMAXLIMPCTENA = 12, D4_WMAXLIMPCT = 13,
       D4_WSETENA = 20, D4_WSETMOD = 21, D4_WSET = 22 };
/* 713 DER storage capacity */
enum { D13_WHRTG = 0, D13_SOC = 2, D13_WH_SF = 5, D13_PCT_SF = 6, D13_LEN = 7 };

/* Model 704 was revised (WSetPct and friends widened to int32): the scale factors and the PF
 * groups move, and L tells which revision a device implements. */
typedef struct m704_layout {
    uint16_t len, pf_sf, wmaxlim_sf, wset_sf, pfwinj_pf, pfwabs_pf;
} m704_layout_t;
static const m704_layout_t m704_layouts[] = {
    { 65, 51, 52, 53, 57, 61 }, /* draft revision (int16 WSetPct, AntiIslEna) */
    { 69, 55, 56, 57, 61, 65 }, /* published revision */
};

enum slot { S_COMMON, S_INV, S_NP, S_SET, S_CTL, S_STOR, S_701, S_702, S_703, S_704, S_713, S_N };

typedef struct ss_model {
    uint16_t id, len;
    uint16_t addr; /* register of the model's first point */
} ss_model_t;

typedef struct ss {
    ge_mem_t mem;
    ge_log_t log;
    const ge_log_t *logp;
    char host[64];
    int port, unit, base_cfg; /* base_cfg -1: probe 40000, 50000, 0 */
    unsigned timeout_ms, backoff_ms, backoff_max_ms;
    modbus_t *mb;
    int connected;
    int discovered;  /* the map and ratings are known (they survive a dropped link) */
    int lazy;        /* open() does not need the device */
    uint64_t next_try_ns;
    unsigned backoff_cur_ms;
    double now;
    ss_model_t *models;
    size_t n_models, cap_models;
    int base;
    int slot[S_N];
    int inv_float;
    const m704_layout_t *l704;
    char mn[33], md[33], sn[33], vr[17];
    ge_der_caps_t caps;
} ss_t;

/* --- small helpers ---------------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *ss_alloc(const ge_mem_t *m, size_t n)
{
    return m->malloc(n, m->ud);
}

static const ss_model_t *model(const ss_t *s, enum slot k)
{
    return s->slot[k] >= 0 ? &s->models[s->slot[k]] : NULL;
}

/* Decode one point of model M (for the log line), SF_OFF < 0 for an unscaled point.
 * Returns 1 (value), 0 (not implemented) or GE_ERR_DEVICE with a log line. */
static int pt(const ss_t *s, const ss_model_t *m, const uint16_t *blk, unsigned off,
              ge__ss_type type, int sf_off, const char *name, double *out)
{
    uint16_t sf = sf_off >= 0 ? blk[sf_off] : 0;
    int rc = ge__ss_decode(blk + off, type, sf, out);
    if (rc < 0)
        ge_log(s->logp, GE_LOG_ERROR, MOD,
               "%s:%d: model %u point %s: garbage (raw 0x%04x, scale factor %d)", s->host,
               s->port, m->id, name, blk[off], (int)(int16_t)sf);
    return rc;
}

/* Check a decoded value against what a device of this kind can physically report. */
static int in_range(const ss_t *s, const ss_model_t *m, const char *name, double v, double lo,
                    double hi)
{
    if (v >= lo && v <= hi)
        return 0;
    ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: model %u point %s = %g is outside %g..%g",
           s->host, s->port, m->id, name, v, lo, hi);
    return GE_ERR_DEVICE;
}

static void copy_string(char *dst, size_t cap, const uint16_t *regs, unsigned nregs)
{
    size_t n = 0;
    for (unsigned i = 0; i < nregs && n + 2 < cap; i++) {
        char c[2] = { (char)(regs[i] >> 8), (char)(regs[i] & 0xFF) };
        for (int j = 0; j < 2; j++)
            if (c[j] >= 0x20 && c[j] < 0x7F)
                dst[n++] = c[j];
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

/* --- the link ---------------------------------------------------------------------------------- */

static void link_down(ss_t *s)
{
    if (s->connected)
        modbus_close(s->mb);
    s->connected = 0;
}

/* Give the next libmodbus call what is left of the caller's budget. */
static int io_prep(ss_t *s, uint64_t end)
{
    uint64_t t = mono_ns();
    if (t + NS_PER_MS >= end)
        return GE_ERR_TIMEOUT;
    uint64_t rem = end - t;
    uint32_t sec = (uint32_t)(rem / 1000000000ull), usec = (uint32_t)((rem % 1000000000ull) / 1000);
    modbus_set_response_timeout(s->mb, sec, usec);
    modbus_set_byte_timeout(s->mb, sec, usec);
    return 0;
}

/* Turn a failed libmodbus call into a ge_err.  An exception response leaves the link usable;
 * anything else (timeout, reset, a malformed frame) may leave stale bytes, so the link is
 * dropped and rebuilt. */
static int io_fail(ss_t *s, const char *what, int addr, int n)
{
    int e = errno;
    if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET) {
        ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: %s %d registers at %d: exception: %s", s->host,
               s->port, what, n, addr, modbus_strerror(e));
        return GE_ERR_DEVICE;
    }
    ge_log(s->logp, GE_LOG_WARN, MOD, "%s:%d: %s %d registers at %d: %s; dropping the connection",
           s->host, s->port, what, n, addr, modbus_strerror(e));
    link_down(s);
    return e == ETIMEDOUT ? GE_ERR_TIMEOUT : GE_ERR_DEVICE;
}

static int read_regs(ss_t *s, uint64_t end, int addr, int n, uint16_t *dst)
{
    while (n > 0) {
        int k = n > MAX_READ ? MAX_READ : n;
        int rc = io_prep(s, end);
        if (rc < 0) {
            link_down(s); /* a request may be in flight: its answer would confuse the next one */
            return rc;
        }
        if (modbus_read_registers(s->mb, addr, k, dst) != k)
            return io_fail(s, "reading", addr, k);
        addr += k;
        dst += k;
        n -= k;
    }
    return 0;
}

static int write_regs(ss_t *s, uint64_t end, int addr, int n, const uint16_t *src)
{
    int rc = io_prep(s, end);
    if (rc < 0) {
        link_down(s);
        return rc;
    }
    if (modbus_write_registers(s->mb, addr, n, src) != n)
        return io_fail(s, "writing", addr, n);
    return 0;
}

/* Read model M's points into BLK (at least M->len registers). */
static int read_model(ss_t *s, uint64_t end, const ss_model_t *m, uint16_t *blk)
{
    return read_regs(s, end, m->addr, m->len, blk);
}

/* --- discovery --------------------------------------------------------------------------------- */

static int add_model(ss_t *s, uint16_t id, uint16_t len, uint16_t addr)
{
    if (s->n_models == s->cap_models) {
        size_t cap = s->cap_models ? s->cap_models * 2 : 8;
        ss_model_t *p = s->mem.realloc(s->models, cap * sizeof(*p), s->mem.ud);
        if (!p)
            return GE_ERR_NOMEM;
        s->models = p;
        s->cap_models = cap;
    }
    s->models[s->n_models++] = (ss_model_t){ id, len, addr };
    return 0;
}

static uint16_t min_len(uint16_t id)
{
    switch (id) {
    case 1: return M1_LEN;
    case 101: case 102: case 103: return I_LEN;
    case 111: case 112: case 113: return F_LEN;
    case 120: return NP_LEN;
    case 121: return SET_LEN;
    case 123: return CTL_LEN;
    case 124: return ST_LEN;
    case 701: return D1_LEN;
    case 702: return D2_LEN;
    case 703: return D3_LEN;
    case 713: return D13_LEN;
    default: return 0;
    }
}

static int slot_of(uint16_t id)
{
    switch (id) {
    case 1: return S_COMMON;
    case 101: case 102: case 103: case 111: case 112: case 113: return S_INV;
    case 120: return S_NP;
    case 121: return S_SET;
    case 123: return S_CTL;
    case 124: return S_STOR;
    case 701: return S_701;
    case 702: return S_702;
    case 703: return S_703;
    case 704: return S_704;
    case 713: return S_713;
    default: return -1;
    }
}

/* Choose which discovered model serves each purpose; models too short for the points we use
 * are left out with a warning (a device bug, but the rest of it may still be useful). */
static void assign_slots(ss_t *s)
{
    for (int k = 0; k < S_N; k++)
        s->slot[k] = -1;
    s->l704 = NULL;
    for (size_t i = 0; i < s->n_models; i++) {
        const ss_model_t *m = &s->models[i];
        int k = slot_of(m->id);
        if (k < 0) {
            ge_log(s->logp, GE_LOG_DEBUG, MOD, "model %u (%u registers) at %u: not used", m->id,
                   m->len, m->addr);
            continue;
        }
        if (s->slot[k] >= 0)
            continue; /* the first instance serves */
        if (m->id == 704) {
            for (size_t j = 0; j < sizeof(m704_layouts) / sizeof(m704_layouts[0]); j++)
                if (m704_layouts[j].len == m->len)
                    s->l704 = &m704_layouts[j];
            if (!s->l704) {
                ge_log(s->logp, GE_LOG_WARN, MOD,
                       "model 704 with length %u is a revision this driver does not know: "
                       "its controls are not used", m->len);
                continue;
            }
        } else if (m->len < min_len(m->id)) {
            ge_log(s->logp, GE_LOG_WARN, MOD,
                   "model %u has length %u, shorter than the %u its points need: not used", m->id,
                   m->len, min_len(m->id));
            continue;
        }
        s->slot[k] = (int)i;
        if (k == S_INV)
            s->inv_float = m->id >= 111;
    }
}

/* Ratings and supported modes, from the nameplate/settings (120/121/124) or DER capacity
 * (702/713) models, which hold static values: read once per connection. */
static int read_ratings(ss_t *s, uint64_t end)
{
    uint16_t blk[MAX_READ];
    ge_der_caps_t c;
    memset(&c, 0, sizeof(c));
    const ss_model_t *m;
    double v;
    int rc;

    if ((m = model(s, S_702))) {
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        double wmaxrtg = 0, wmax = 0;
        if ((rc = pt(s, m, blk, D2_WMAXRTG, GE__SS_UINT16, D2_W_SF, "WMaxRtg", &wmaxrtg)) < 0 ||
            (rc = pt(s, m, blk, D2_WMAX, GE__SS_UINT16, D2_W_SF, "WMax", &wmax)) < 0)
            return rc;
        c.rtg_max_w = wmax > 0 ? wmax : wmaxrtg;
        if ((rc = pt(s, m, blk, D2_VAMAXRTG, GE__SS_UINT16, D2_VA_SF, "VAMaxRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_max_va = v;
        if ((rc = pt(s, m, blk, D2_VARMAXINJRTG, GE__SS_UINT16, D2_VAR_SF, "VarMaxInjRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_max_var = v;
        if ((rc = pt(s, m, blk, D2_WCHARTEMAXRTG, GE__SS_UINT16, D2_W_SF, "WChaRteMaxRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_max_charge_rate_w = v;
        if ((rc = pt(s, m, blk, D2_WDISCHARTEMAXRTG, GE__SS_UINT16, D2_W_SF, "WDisChaRteMaxRtg",
                     &v)) < 0)
            return rc;
        if (rc)
            c.rtg_max_discharge_rate_w = v;
        if ((rc = pt(s, m, blk, D2_VNOMRTG, GE__SS_UINT16, D2_V_SF, "VNomRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_v_nom = v;
        if ((rc = pt(s, m, blk, D2_PFOVREXTRTG, GE__SS_UINT16, D2_PF_SF, "PFOvrExtRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_min_pf = fabs(v);
    }
    if ((m = model(s, S_713))) {
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        if ((rc = pt(s, m, blk, D13_WHRTG, GE__SS_UINT16, D13_WH_SF, "WHRtg", &v)) < 0)
            return rc;
        if (rc)
            c.rtg_max_wh = v;
    }
    if ((m = model(s, S_NP))) {
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        double dertyp = 0;
        if ((rc = pt(s, m, blk, NP_DERTYP, GE__SS_ENUM16, -1, "DERTyp", &dertyp)) < 0)
            return rc;
        if ((rc = pt(s, m, blk, NP_WRTG, GE__SS_UINT16, NP_WRTG_SF, "WRtg", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_w <= 0)
            c.rtg_max_w = v;
        /* DERTyp 4 PV, 82 PV + storage (model 120 symbols) */
        if (rc && (dertyp == 4 || dertyp == 82))
            c.pv_peak_w = v;
        if ((rc = pt(s, m, blk, NP_VARTG, GE__SS_UINT16, NP_VARTG_SF, "VARtg", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_va <= 0)
            c.rtg_max_va = v;
        if ((rc = pt(s, m, blk, NP_VARRTGQ1, GE__SS_INT16, NP_VARRTG_SF, "VArRtgQ1", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_var <= 0)
            c.rtg_max_var = fabs(v);
        if ((rc = pt(s, m, blk, NP_PFRTGQ1, GE__SS_INT16, NP_PFRTG_SF, "PFRtgQ1", &v)) < 0)
            return rc;
        if (rc && c.rtg_min_pf <= 0)
            c.rtg_min_pf = fabs(v);
        if ((rc = pt(s, m, blk, NP_WHRTG, GE__SS_UINT16, NP_WHRTG_SF, "WHRtg", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_wh <= 0)
            c.rtg_max_wh = v;
        if ((rc = pt(s, m, blk, NP_MAXCHA, GE__SS_UINT16, NP_MAXCHA_SF, "MaxChaRte", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_charge_rate_w <= 0)
            c.rtg_max_charge_rate_w = v;
        if ((rc = pt(s, m, blk, NP_MAXDIS, GE__SS_UINT16, NP_MAXDIS_SF, "MaxDisChaRte", &v)) < 0)
            return rc;
        if (rc && c.rtg_max_discharge_rate_w <= 0)
            c.rtg_max_discharge_rate_w = v;
    }
    if ((m = model(s, S_SET))) {
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        /* WMax is the reference of WMaxLimPct (model 123), so it wins over WRtg */
        if ((rc = pt(s, m, blk, SET_WMAX, GE__SS_UINT16, SET_WMAX_SF, "WMax", &v)) < 0)
            return rc;
        if (rc && v > 0 && !model(s, S_702))
            c.rtg_max_w = v;
        if ((rc = pt(s, m, blk, SET_VREF, GE__SS_UINT16, SET_VREF_SF, "VRef", &v)) < 0)
            return rc;
        if (rc && c.rtg_v_nom <= 0)
            c.rtg_v_nom = v;
    }
    if ((m = model(s, S_STOR)) && c.rtg_max_charge_rate_w <= 0) {
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        if ((rc = pt(s, m, blk, ST_WCHAMAX, GE__SS_UINT16, ST_WCHAMAX_SF, "WChaMax", &v)) < 0)
            return rc;
        if (rc) {
            c.rtg_max_charge_rate_w = v;
            if (c.rtg_max_discharge_rate_w <= 0)
                c.rtg_max_discharge_rate_w = v;
        }
    }
    /* ratings a home device cannot have are garbage, not a very large inverter */
    const ss_model_t *rm = model(s, S_702) ? model(s, S_702) : model(s, S_NP);
    if (rm) {
        const struct { const char *n; double v; } chk[] = {
            { "W rating", c.rtg_max_w }, { "VA rating", c.rtg_max_va },
            { "var rating", c.rtg_max_var }, { "charge rating", c.rtg_max_charge_rate_w },
            { "discharge rating", c.rtg_max_discharge_rate_w }, { "Wh rating", c.rtg_max_wh },
            { "V rating", c.rtg_v_nom },
        };
        for (size_t i = 0; i < sizeof(chk) / sizeof(chk[0]); i++)
            if ((rc = in_range(s, rm, chk[i].n, chk[i].v, 0, 1e8)) < 0)
                return rc;
        if ((rc = in_range(s, rm, "PF rating", c.rtg_min_pf, 0, 1)) < 0)
            return rc;
    }

    int storage = model(s, S_STOR) || model(s, S_713);
    if (model(s, S_704)) {
        c.modes |= GE_SP_MAX_LIM | GE_SP_PF_INJECT | GE_SP_PF_ABSORB;
        if (c.rtg_max_w > 0)
            c.modes |= GE_SP_GEN_LIM;
        if (storage)
            c.modes |= GE_SP_BATTERY_W;
        if (model(s, S_703))
            c.modes |= GE_SP_CONNECT | GE_SP_ENERGIZE;
    } else {
        if (model(s, S_CTL)) {
            c.modes |= GE_SP_CONNECT | GE_SP_ENERGIZE | GE_SP_MAX_LIM | GE_SP_PF_INJECT;
            if (c.rtg_max_w > 0)
                c.modes |= GE_SP_GEN_LIM;
        }
        if (model(s, S_STOR))
            c.modes |= GE_SP_BATTERY_W;
    }
    if (!storage) {
        c.rtg_max_wh = 0;
        c.rtg_max_charge_rate_w = 0;
        c.rtg_max_discharge_rate_w = 0;
    }
    s->caps = c;
    return 0;
}

static int probe_base(ss_t *s, uint64_t end, int base, int *found)
{
    uint16_t hdr[2];
    *found = 0;
    int rc = read_regs(s, end, base, 2, hdr);
    if (rc == GE_ERR_DEVICE && s->connected)
        return 0; /* an exception: nothing there */
    if (rc < 0)
        return rc;
    *found = hdr[0] == SUNS_HI && hdr[1] == SUNS_LO;
    return 0;
}

/* Find the 'SunS' marker and walk the model headers to the end marker (SunSpec Information
 * Model Specification, "Device Models": base 40000, 50000 or 0; ID, L, then L registers). */
static int discover(ss_t *s, uint64_t end)
{
    static const int bases[] = { 40000, 50000, 0 };
    int found = 0, rc;
    s->n_models = 0;
    s->discovered = 0;
    for (int k = 0; k < S_N; k++)
        s->slot[k] = -1;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]) && !found; i++) {
        if (s->base_cfg >= 0 && bases[i] != s->base_cfg)
            continue;
        if ((rc = probe_base(s, end, bases[i], &found)) < 0)
            return rc;
        if (found)
            s->base = bases[i];
    }
    if (!found) {
        ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d unit %d: no 'SunS' marker at %s", s->host,
               s->port, s->unit, s->base_cfg >= 0 ? "the configured base" : "40000, 50000 or 0");
        return GE_ERR_DEVICE;
    }
    long addr = s->base + 2;
    for (;;) {
        uint16_t hdr[2];
        if (s->n_models >= MAX_MODELS || addr + 2 > 65536) {
            ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: the model chain has no end marker",
                   s->host, s->port);
            return GE_ERR_DEVICE;
        }
        rc = read_regs(s, end, (int)addr, 2, hdr);
        if (rc == GE_ERR_DEVICE && s->connected && s->n_models > 0)
            break; /* some devices end the map with an exception instead of 0xFFFF */
        if (rc < 0)
            return rc;
        if (hdr[0] == END_ID)
            break;
        if (addr + 2 + hdr[1] > 65536) {
            ge_log(s->logp, GE_LOG_ERROR, MOD,
                   "%s:%d: model %u at %ld claims %u registers, past the address space", s->host,
                   s->port, hdr[0], addr, hdr[1]);
            return GE_ERR_DEVICE;
        }
        if ((rc = add_model(s, hdr[0], hdr[1], (uint16_t)(addr + 2))) < 0)
            return rc;
        addr += 2 + hdr[1];
    }
    assign_slots(s);
    if (!model(s, S_COMMON) || s->models[0].id != 1) {
        ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: the first model is not the common model (1)",
               s->host, s->port);
        return GE_ERR_DEVICE;
    }
    if (!model(s, S_INV) && !model(s, S_701)) {
        ge_log(s->logp, GE_LOG_ERROR, MOD,
               "%s:%d: no inverter model (101-103, 111-113) and no DER AC measurement (701): "
               "nothing this driver can read", s->host, s->port);
        return GE_ERR_UNSUPPORTED;
    }
    uint16_t blk[MAX_READ];
    const ss_model_t *cm = model(s, S_COMMON);
    if ((rc = read_regs(s, end, cm->addr, M1_LEN, blk)) < 0)
        return rc;
    copy_string(s->mn, sizeof(s->mn), blk + M1_MN, 16);
    copy_string(s->md, sizeof(s->md), blk + M1_MD, 16);
    copy_string(s->vr, sizeof(s->vr), blk + M1_VR, 8);
    copy_string(s->sn, sizeof(s->sn), blk + M1_SN, 16);
    if ((rc = read_ratings(s, end)) < 0)
        return rc;
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (size_t i = 0; i < s->n_models && n < sizeof(list); i++) {
        int w = snprintf(list + n, sizeof(list) - n, "%s%u", i ? "," : "", s->models[i].id);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    ge_log(s->logp, GE_LOG_INFO, MOD, "%s:%d: %s %s (serial %s, version %s) at base %d: models %s",
           s->host, s->port, s->mn, s->md, s->sn, s->vr, s->base, list);
    s->discovered = 1;
    return 0;
}

/* Connect (or reconnect) and rediscover: a device that restarted may have another map.  A
 * failed attempt backs off exponentially; until the next attempt is due, calls fail at once. */
static int link_up(ss_t *s, uint64_t end)
{
    if (s->connected)
        return 0;
    uint64_t t = mono_ns();
    if (t < s->next_try_ns) {
        ge_log(s->logp, GE_LOG_DEBUG, MOD, "%s:%d: offline, next attempt in %llu ms", s->host,
               s->port, (unsigned long long)((s->next_try_ns - t) / NS_PER_MS));
        return GE_ERR_DEVICE;
    }
    int rc = io_prep(s, end);
    if (rc == 0) {
        if (modbus_connect(s->mb) == 0) {
            s->connected = 1;
            rc = discover(s, end);
        } else {
            int e = errno;
            ge_log(s->logp, GE_LOG_WARN, MOD, "%s:%d: connect: %s", s->host, s->port,
                   modbus_strerror(e));
            rc = (e == ETIMEDOUT || e == EINPROGRESS) ? GE_ERR_TIMEOUT : GE_ERR_DEVICE;
        }
    }
    if (rc < 0) {
        link_down(s);
        s->next_try_ns = mono_ns() + (uint64_t)s->backoff_cur_ms * NS_PER_MS;
        ge_log(s->logp, GE_LOG_WARN, MOD, "%s:%d: device unavailable (%s), retrying in %u ms",
               s->host, s->port, ge_strerror(rc), s->backoff_cur_ms);
        s->backoff_cur_ms = s->backoff_cur_ms * 2 > s->backoff_max_ms ? s->backoff_max_ms
                                                                     : s->backoff_cur_ms * 2;
        return rc;
    }
    s->backoff_cur_ms = s->backoff_ms;
    return 0;
}

/* Run OP over a live link within one timeout budget.  If a link that was up breaks under OP
 * (devices drop idle connections), reconnect once and run OP again, in the same budget. */
typedef int (*ss_op_fn)(ss_t *s, uint64_t end, void *arg);

static int with_link(ss_t *s, ss_op_fn op, void *arg)
{
    uint64_t end = mono_ns() + (uint64_t)s->timeout_ms * NS_PER_MS;
    int was_up = s->connected;
    int rc = link_up(s, end);
    if (rc < 0)
        return rc;
    rc = op(s, end, arg);
    if (rc < 0 && rc != GE_ERR_TIMEOUT && was_up && !s->connected && rc > GE_ERR_FATAL_THRESHOLD) {
        s->next_try_ns = 0;
        if ((rc = link_up(s, end)) == 0)
            rc = op(s, end, arg);
    }
    return rc;
}

static int op_none(ss_t *s, uint64_t end, void *arg)
{
    (void)s;
    (void)end;
    (void)arg;
    return 0;
}

/* --- telemetry --------------------------------------------------------------------------------- */

static int read_1xx(ss_t *s, uint64_t end, ge_telemetry_t *t)
{
    uint16_t blk[MAX_READ];
    const ss_model_t *m = model(s, S_INV);
    int rc;
    double w = 0, dcw = 0, hz = 0, v = 0, var = 0, wh = 0;
    int has_dcw = 0;
    if ((rc = read_model(s, end, m, blk)) < 0)
        return rc;
    if (s->inv_float) {
        if ((rc = pt(s, m, blk, F_W, GE__SS_FLOAT32, -1, "W", &w)) <= 0)
            goto no_w;
        if ((has_dcw = pt(s, m, blk, F_DCW, GE__SS_FLOAT32, -1, "DCW", &dcw)) < 0 ||
            (rc = pt(s, m, blk, F_HZ, GE__SS_FLOAT32, -1, "Hz", &hz)) < 0 ||
            (rc = pt(s, m, blk, F_PHVA, GE__SS_FLOAT32, -1, "PhVphA", &v)) < 0 ||
            (rc = pt(s, m, blk, F_VAR, GE__SS_FLOAT32, -1, "VAr", &var)) < 0 ||
            (rc = pt(s, m, blk, F_WH, GE__SS_FLOAT32, -1, "WH", &wh)) < 0)
            return GE_ERR_DEVICE;
    } else {
        if ((rc = pt(s, m, blk, I_W, GE__SS_INT16, I_W_SF, "W", &w)) <= 0)
            goto no_w;
        if ((has_dcw = pt(s, m, blk, I_DCW, GE__SS_INT16, I_DCW_SF, "DCW", &dcw)) < 0 ||
            (rc = pt(s, m, blk, I_HZ, GE__SS_UINT16, I_HZ_SF, "Hz", &hz)) < 0 ||
            (rc = pt(s, m, blk, I_PHVA, GE__SS_UINT16, I_V_SF, "PhVphA", &v)) < 0 ||
            (rc = pt(s, m, blk, I_VAR, GE__SS_INT16, I_VAR_SF, "VAr", &var)) < 0 ||
            (rc = pt(s, m, blk, I_WH, GE__SS_ACC32, I_WH_SF, "WH", &wh)) < 0)
            return GE_ERR_DEVICE;
    }
    double lim = s->caps.rtg_max_w > 0 ? 2 * s->caps.rtg_max_w : 1e6;
    if (in_range(s, m, "W", w, -lim, lim) < 0 || in_range(s, m, "DCW", dcw, -1.5 * lim, 1.5 * lim) < 0 ||
        (hz != 0 && in_range(s, m, "Hz", hz, 40, 70) < 0) || in_range(s, m, "PhVphA", v, 0, 1000) < 0 ||
        in_range(s, m, "VAr", var, -lim, lim) < 0 || in_range(s, m, "WH", wh, 0, 1e13) < 0)
        return GE_ERR_DEVICE;

    const ss_model_t *st = model(s, S_STOR);
    if (st) {
        double soc = 0;
        if ((rc = read_model(s, end, st, blk)) < 0)
            return rc;
        if ((rc = pt(s, st, blk, ST_CHASTATE, GE__SS_UINT16, ST_CHASTATE_SF, "ChaState", &soc)) < 0)
            return rc;
        if (in_range(s, st, "ChaState", soc, 0, 100) < 0)
            return GE_ERR_DEVICE;
        t->soc_pct = soc;
        t->stored_wh = soc / 100.0 * s->caps.rtg_max_wh;
        /* hybrid: DCW is the PV input, the rest of the AC output is the battery; without DCW
         * the storage is AC-coupled and the whole output is the battery */
        t->pv_w = has_dcw == 1 ? fmax(dcw, 0) : 0;
        t->battery_w = w - t->pv_w;
    } else {
        t->pv_w = fmax(w, 0);
        t->battery_w = 0;
    }
    const ss_model_t *cm = model(s, S_CTL);
    if (cm) {
        double conn = 1;
        if ((rc = read_model(s, end, cm, blk)) < 0)
            return rc;
        if ((rc = pt(s, cm, blk, CTL_CONN, GE__SS_ENUM16, -1, "Conn", &conn)) < 0)
            return rc;
        if (rc && conn == 0)
            t->alarms |= GE_ALARM_DISCONNECTED;
    }
    t->site_w = -(t->pv_w + t->battery_w);
    t->voltage_v = v;
    t->frequency_hz = hz;
    t->reactive_var = var;
    t->export_wh = wh;
    return 0;
no_w:
    if (rc == 0)
        ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: model %u: W (mandatory) is not implemented",
               s->host, s->port, m->id);
    return GE_ERR_DEVICE;
}

static int read_7xx(ss_t *s, uint64_t end, ge_telemetry_t *t)
{
    uint16_t blk[160];
    const ss_model_t *m = model(s, S_701);
    int rc;
    double w = 0, hz = 0, v = 0, var = 0, inj = 0, abs_ = 0, conn = 1;
    if ((rc = read_regs(s, end, m->addr, D1_LEN, blk)) < 0)
        return rc;
    if ((rc = pt(s, m, blk, D1_W, GE__SS_INT16, D1_W_SF, "W", &w)) <= 0) {
        if (rc == 0)
            ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: model 701: W is not implemented", s->host,
                   s->port);
        return GE_ERR_DEVICE;
    }
    if ((rc = pt(s, m, blk, D1_HZ, GE__SS_UINT32, D1_HZ_SF, "Hz", &hz)) < 0 ||
        (rc = pt(s, m, blk, D1_LNV, GE__SS_UINT16, D1_V_SF, "LNV", &v)) < 0 ||
        (rc == 0 && (rc = pt(s, m, blk, D1_LLV, GE__SS_UINT16, D1_V_SF, "LLV", &v)) < 0) ||
        (rc = pt(s, m, blk, D1_VAR, GE__SS_INT16, D1_VAR_SF, "Var", &var)) < 0 ||
        (rc = pt(s, m, blk, D1_TOTWHINJ, GE__SS_UINT64, D1_TOTWH_SF, "TotWhInj", &inj)) < 0 ||
        (rc = pt(s, m, blk, D1_TOTWHABS, GE__SS_UINT64, D1_TOTWH_SF, "TotWhAbs", &abs_)) < 0 ||
        (rc = pt(s, m, blk, D1_CONNST, GE__SS_ENUM16, -1, "ConnSt", &conn)) < 0)
        return GE_ERR_DEVICE;
    double lim = s->caps.rtg_max_w > 0 ? 2 * s->caps.rtg_max_w : 1e6;
    if (in_range(s, m, "W", w, -lim, lim) < 0 || (hz != 0 && in_range(s, m, "Hz", hz, 40, 70) < 0) ||
        in_range(s, m, "V", v, 0, 1000) < 0 || in_range(s, m, "Var", var, -lim, lim) < 0 ||
        in_range(s, m, "TotWhInj", inj, 0, 1e13) < 0 || in_range(s, m, "TotWhAbs", abs_, 0, 1e13) < 0)
        return GE_ERR_DEVICE;
    const ss_model_t *sm = model(s, S_713);
    if (sm) {
        double soc = 0;
        if ((rc = read_model(s, end, sm, blk)) < 0)
            return rc;
        if ((rc = pt(s, sm, blk, D13_SOC, GE__SS_UINT16, D13_PCT_SF, "SoC", &soc)) < 0)
            return rc;
        if (in_range(s, sm, "SoC", soc, 0, 100) < 0)
            return GE_ERR_DEVICE;
        t->soc_pct = soc;
        t->stored_wh = soc / 100.0 * s->caps.rtg_max_wh;
        t->battery_w = w; /* 701 W: injection positive, so discharge positive */
    } else {
        t->pv_w = fmax(w, 0);
    }
    if (conn == 0) /* ConnSt DISCONNECTED */
        t->alarms |= GE_ALARM_DISCONNECTED;
    t->site_w = -(t->pv_w + t->battery_w);
    t->voltage_v = v;
    t->frequency_hz = hz;
    t->reactive_var = var;
    t->export_wh = inj;
    t->import_wh = abs_;
    return 0;
}

static int op_read(ss_t *s, uint64_t end, void *arg)
{
    ge_telemetry_t *t = arg;
    memset(t, 0, sizeof(*t));
    t->time = s->now;
    return model(s, S_701) ? read_7xx(s, end, t) : read_1xx(s, end, t);
}

/* --- setpoints --------------------------------------------------------------------------------- */

/* One point to write: OFF within the model, N registers. */
typedef struct wr {
    uint16_t off, n;
    uint16_t v[2];
} wr_t;

#define MAX_WR 12

typedef struct wlist {
    wr_t w[MAX_WR];
    size_t n;
    int err;
} wlist_t;

static void wl_add(wlist_t *l, uint16_t off, ge__ss_type type, uint16_t sf, double value)
{
    if (l->err)
        return;
    if (l->n == MAX_WR) {
        l->err = GE_ERR_INTERNAL;
        return;
    }
    wr_t *w = &l->w[l->n];
    w->off = off;
    w->n = (uint16_t)ge__ss_type_regs(type);
    int rc = ge__ss_encode(value, type, sf, w->v);
    if (rc < 0) {
        l->err = rc;
        return;
    }
    l->n++;
}

/* Write L's points in order; a point that follows the previous one directly shares its write
 * request (one Modbus transaction for e.g. OutWRte + InWRte). */
static int wl_flush(ss_t *s, uint64_t end, const ss_model_t *m, const wlist_t *l)
{
    if (l->err) {
        ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: model %u: a scale factor makes a setpoint "
               "unwritable", s->host, s->port, m->id);
        return l->err == GE_ERR_INTERNAL ? l->err : GE_ERR_DEVICE;
    }
    size_t i = 0;
    while (i < l->n) {
        uint16_t buf[2 * MAX_WR];
        uint16_t start = l->w[i].off, n = 0;
        do {
            memcpy(buf + n, l->w[i].v, l->w[i].n * sizeof(uint16_t));
            n = (uint16_t)(n + l->w[i].n);
            i++;
        } while (i < l->n && l->w[i].off == start + n);
        if (start + n > m->len)
            return GE_ERR_INTERNAL;
        int rc = write_regs(s, end, m->addr + start, n, buf);
        if (rc < 0)
            return rc;
    }
    return 0;
}

typedef struct apply_req {
    const ge_setpoint_t *sp;
    uint32_t use; /* the setpoint's bits this device applies */
} apply_req_t;

/* What the limit-type fields ask for, as one percentage of the device's W reference. */
static int wanted_limit(const ss_t *s, const apply_req_t *a, double *pct)
{
    int on = 0;
    *pct = 100;
    if (a->use & GE_SP_MAX_LIM) {
        *pct = fmin(*pct, a->sp->max_lim_pct);
        on = 1;
    }
    if ((a->use & GE_SP_GEN_LIM) && s->caps.rtg_max_w > 0) {
        *pct = fmin(*pct, a->sp->gen_limit_w / s->caps.rtg_max_w * 100.0);
        on = 1;
    }
    return on;
}

static int wanted_connect(const apply_req_t *a)
{
    if ((a->use & GE_SP_CONNECT) && !a->sp->connect)
        return 0;
    if ((a->use & GE_SP_ENERGIZE) && !a->sp->energize)
        return 0;
    return 1;
}

static double wanted_battery(const ss_t *s, const apply_req_t *a)
{
    if (!(a->use & GE_SP_BATTERY_W))
        return 0; /* adapter.h: no battery command means idle */
    double w = a->sp->battery_w;
    if (w > 0 && s->caps.rtg_max_discharge_rate_w > 0)
        w = fmin(w, s->caps.rtg_max_discharge_rate_w);
    if (w < 0 && s->caps.rtg_max_charge_rate_w > 0)
        w = fmax(w, -s->caps.rtg_max_charge_rate_w);
    return w;
}

static int apply_1xx(ss_t *s, uint64_t end, const apply_req_t *a)
{
    uint16_t blk[MAX_READ];
    const ss_model_t *m;
    int rc;
    if ((m = model(s, S_CTL))) {
        wlist_t l = { .n = 0 };
        double pct;
        int lim_on = wanted_limit(s, a, &pct);
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        /* 123: Conn 0 disconnect / 1 connect; WMaxLimPct in % of WMax then WMaxLim_Ena */
        wl_add(&l, CTL_CONN, GE__SS_ENUM16, 0, wanted_connect(a));
        if (lim_on)
            wl_add(&l, CTL_WMAXLIMPCT, GE__SS_UINT16, blk[CTL_WMAXLIMPCT_SF], pct);
        wl_add(&l, CTL_WMAXLIM_ENA, GE__SS_ENUM16, 0, lim_on);
        if (a->use & GE_SP_PF_INJECT)
            wl_add(&l, CTL_OUTPFSET, GE__SS_INT16, blk[CTL_OUTPFSET_SF], a->sp->pf_inject);
        wl_add(&l, CTL_OUTPFSET_ENA, GE__SS_ENUM16, 0, (a->use & GE_SP_PF_INJECT) != 0);
        if ((rc = wl_flush(s, end, m, &l)) < 0)
            return rc;
    }
    if ((m = model(s, S_STOR))) {
        wlist_t l = { .n = 0 };
        double wcha = 0, w = wanted_battery(s, a);
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        if ((rc = pt(s, m, blk, ST_WCHAMAX, GE__SS_UINT16, ST_WCHAMAX_SF, "WChaMax", &wcha)) < 0)
            return rc;
        if (w != 0 && (rc == 0 || wcha <= 0)) {
            ge_log(s->logp, GE_LOG_ERROR, MOD, "%s:%d: model 124: WChaMax is %s: cannot express "
                   "a charge or discharge rate", s->host, s->port, rc ? "0" : "not implemented");
            return GE_ERR_DEVICE;
        }
        /* 124: OutWRte / InWRte are % of WChaMax; StorCtl_Mod bit 0 CHARGE, bit 1 DISCHARGE
         * (both set at 0 % holds the battery idle) */
        double pct = w != 0 ? fmin(fabs(w) / wcha * 100.0, 100.0) : 0;
        uint16_t sf = blk[ST_INOUTWRTE_SF];
        wl_add(&l, ST_OUTWRTE, GE__SS_INT16, sf, w > 0 ? pct : 0);
        wl_add(&l, ST_INWRTE, GE__SS_INT16, sf, w < 0 ? pct : 0);
        wl_add(&l, ST_STORCTL_MOD, GE__SS_BITFIELD16, 0, w > 0 ? 2 : w < 0 ? 1 : 3);
        if ((rc = wl_flush(s, end, m, &l)) < 0)
            return rc;
    }
    return 0;
}

static int apply_7xx(ss_t *s, uint64_t end, const apply_req_t *a)
{
    uint16_t blk[MAX_READ];
    const ss_model_t *m;
    int rc;
    if ((m = model(s, S_703))) {
        wlist_t l = { .n = 0 };
        wl_add(&l, D3_ES, GE__SS_ENUM16, 0, wanted_connect(a)); /* 0 disabled, 1 enabled */
        if ((rc = wl_flush(s, end, m, &l)) < 0)
            return rc;
    }
    if ((m = model(s, S_704))) {
        const m704_layout_t *ly = s->l704;
        wlist_t l = { .n = 0 };
        double pct;
        int lim_on = wanted_limit(s, a, &pct);
        if ((rc = read_model(s, end, m, blk)) < 0)
            return rc;
        if (lim_on)
            wl_add(&l, D4_WMAXLIMPCT, GE__SS_UINT16, blk[ly->wmaxlim_sf], pct);
        wl_add(&l, D4_WMAXLIMPCTENA, GE__SS_ENUM16, 0, lim_on);
        if (a->use & GE_SP_PF_INJECT)
            wl_add(&l, ly->pfwinj_pf, GE__SS_UINT16, blk[ly->pf_sf], a->sp->pf_inject);
        wl_add(&l, D4_PFWINJENA, GE__SS_ENUM16, 0, (a->use & GE_SP_PF_INJECT) != 0);
        if (a->use & GE_SP_PF_ABSORB)
            wl_add(&l, ly->pfwabs_pf, GE__SS_UINT16, blk[ly->pf_sf], a->sp->pf_absorb);
        wl_add(&l, D4_PFWABSENA, GE__SS_ENUM16, 0, (a->use & GE_SP_PF_ABSORB) != 0);
        if (s->caps.modes & GE_SP_BATTERY_W) {
            /* WSetMod 2 = WATTS; WSet injection positive (discharge), negative charges */
            wl_add(&l, D4_WSETMOD, GE__SS_ENUM16, 0, 2);
            wl_add(&l, D4_WSET, GE__SS_INT32, blk[ly->wset_sf], wanted_battery(s, a));
            wl_add(&l, D4_WSETENA, GE__SS_ENUM16, 0, 1);
        }
        if ((rc = wl_flush(s, end, m, &l)) < 0)
            return rc;
    }
    return 0;
}

static int op_apply(ss_t *s, uint64_t end, void *arg)
{
    apply_req_t *a = arg;
    a->use = a->sp->set & s->caps.modes;
    return model(s, S_704) ? apply_7xx(s, end, a) : apply_1xx(s, end, a);
}

/* --- the driver vtable ------------------------------------------------------------------------- */

static int parse_uint(const char *v, long lo, long hi, long *out)
{
    char *e;
    errno = 0;
    long x = strtol(v, &e, 10);
    if (errno || e == v || *e || x < lo || x > hi)
        return GE_ERR_CONFIG;
    *out = x;
    return 0;
}

static int config_set(ss_t *s, const char *key, const char *val)
{
    long x;
    if (strcmp(key, "host") == 0) {
        /* an IPv4 literal: resolving a name would block without a bound */
        struct in_addr a;
        size_t n = strlen(val);
        if (n == 0 || n >= sizeof(s->host) || inet_pton(AF_INET, val, &a) != 1)
            return GE_ERR_CONFIG;
        memcpy(s->host, val, n + 1);
        return 0;
    }
    if (strcmp(key, "lazy") == 0) {
        if (parse_uint(val, 0, 1, &x) < 0)
            return GE_ERR_CONFIG;
        s->lazy = (int)x;
        return 0;
    }
    if (strcmp(key, "base") == 0) {
        if (strcmp(val, "auto") == 0) {
            s->base_cfg = -1;
            return 0;
        }
        if (parse_uint(val, 0, 65535, &x) < 0 || (x != 0 && x != 40000 && x != 50000))
            return GE_ERR_CONFIG;
        s->base_cfg = (int)x;
        return 0;
    }
    static const struct { const char *key; long lo, hi; } keys[] = {
        { "port", 1, 65535 }, { "unit", 0, 255 }, { "timeout_ms", 10, 60000 },
        { "backoff_ms", 1, 3600000 }, { "backoff_max_ms", 1, 3600000 },
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key) != 0)
            continue;
        if (parse_uint(val, keys[i].lo, keys[i].hi, &x) < 0)
            return GE_ERR_CONFIG;
        switch (i) {
        case 0: s->port = (int)x; break;
        case 1: s->unit = (int)x; break;
        case 2: s->timeout_ms = (unsigned)x; break;
        case 3: s->backoff_ms = (unsigned)x; break;
        default: s->backoff_max_ms = (unsigned)x; break;
        }
        return 0;
    }
    return GE_ERR_CONFIG;
}

static int parse_config(ss_t *s, const char *config)
{
    const char *p = config ? config : "";
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *tok = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        char buf[128];
        size_t len = (size_t)(p - tok);
        if (len >= sizeof(buf)) {
            ge_log(s->logp, GE_LOG_ERROR, MOD, "config: option too long");
            return GE_ERR_CONFIG;
        }
        memcpy(buf, tok, len);
        buf[len] = '\0';
        char *eq = strchr(buf, '=');
        if (eq)
            *eq = '\0';
        if (!eq || config_set(s, buf, eq + 1) < 0) {
            ge_log(s->logp, GE_LOG_ERROR, MOD, "config: bad option '%.*s'", (int)len, tok);
            return GE_ERR_CONFIG;
        }
    }
    if (!s->host[0]) {
        ge_log(s->logp, GE_LOG_ERROR, MOD, "config: host= is required");
        return GE_ERR_CONFIG;
    }
    if (s->backoff_max_ms < s->backoff_ms)
        s->backoff_max_ms = s->backoff_ms;
    return 0;
}

static void drv_close(void *st)
{
    ss_t *s = st;
    if (!s)
        return;
    if (s->mb) {
        link_down(s);
        modbus_free(s->mb);
    }
    if (s->models)
        s->mem.free(s->models, s->mem.ud);
    s->mem.free(s, s->mem.ud);
}

static int drv_open(void **state, const ge_mem_t *mem, const ge_log_t *log, const char *config)
{
    if (!state)
        return GE_ERR_INVALID;
    *state = NULL;
    if (!mem)
        mem = ge_mem_default();
    ss_t *s = ss_alloc(mem, sizeof(*s));
    if (!s)
        return GE_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->mem = *mem;
    if (log) {
        s->log = *log;
        s->logp = &s->log;
    }
    s->port = 502;
    s->unit = 1;
    s->base_cfg = -1;
    s->timeout_ms = 1000;
    s->backoff_ms = 500;
    s->backoff_max_ms = 60000;
    for (int k = 0; k < S_N; k++)
        s->slot[k] = -1;
    int rc = parse_config(s, config);
    if (rc < 0)
        goto fail;
    s->backoff_cur_ms = s->backoff_ms;
    s->mb = modbus_new_tcp(s->host, s->port);
    if (!s->mb) {
        rc = errno == ENOMEM ? GE_ERR_NOMEM : GE_ERR_CONFIG;
        ge_log(s->logp, GE_LOG_ERROR, MOD, "modbus_new_tcp(%s, %d) failed", s->host, s->port);
        goto fail;
    }
    /* never MODBUS_ERROR_RECOVERY_LINK: libmodbus would sleep and retry inside our budget */
    modbus_set_error_recovery(s->mb, MODBUS_ERROR_RECOVERY_NONE);
    if (modbus_set_slave(s->mb, s->unit) < 0) {
        rc = GE_ERR_CONFIG;
        goto fail;
    }
    rc = link_up(s, mono_ns() + (uint64_t)s->timeout_ms * NS_PER_MS);
    if (rc < 0 && s->lazy) {
        /* e.g. a PV inverter whose Modbus server sleeps at night: read() will find it */
        ge_log(s->logp, GE_LOG_WARN, MOD, "%s:%d: not reachable yet (%s); will keep trying",
               s->host, s->port, ge_strerror(rc));
        rc = 0;
    }
    if (rc < 0)
        goto fail;
    *state = s;
    return 0;
fail:
    drv_close(s);
    return rc;
}

static int drv_caps(void *st, ge_der_caps_t *out)
{
    ss_t *s = st;
    if (!s || !out)
        return GE_ERR_INVALID;
    if (!s->discovered) { /* lazy open: the ratings come with the first connection */
        int rc = with_link(s, op_none, NULL);
        if (rc < 0)
            return rc;
    }
    *out = s->caps;
    return 0;
}

static int drv_read(void *st, ge_telemetry_t *out)
{
    ss_t *s = st;
    if (!s || !out)
        return GE_ERR_INVALID;
    ge_telemetry_t t;
    int rc = with_link(s, op_read, &t);
    if (rc < 0)
        return rc;
    *out = t;
    return 0;
}

static int drv_apply(void *st, const ge_setpoint_t *sp, uint32_t *unsupported)
{
    ss_t *s = st;
    if (unsupported)
        *unsupported = 0;
    if (!s || !sp)
        return GE_ERR_INVALID;
    /* the caller's numbers are checked before anything reaches the device */
    uint32_t set = sp->set;
    if (((set & GE_SP_MAX_LIM) && !(sp->max_lim_pct >= 0 && sp->max_lim_pct <= 100)) ||
        ((set & GE_SP_GEN_LIM) && !(sp->gen_limit_w >= 0 && isfinite(sp->gen_limit_w))) ||
        ((set & GE_SP_BATTERY_W) && !isfinite(sp->battery_w)) ||
        ((set & GE_SP_PF_INJECT) && !(sp->pf_inject > 0 && sp->pf_inject <= 1)) ||
        ((set & GE_SP_PF_ABSORB) && !(sp->pf_absorb > 0 && sp->pf_absorb <= 1)))
        return GE_ERR_INVALID;
    /* op_apply decides what to write from the capabilities as they are once the link is up
     * (a lazy open or a reconnect discovers the device inside with_link) */
    apply_req_t a = { sp, 0 };
    int rc = with_link(s, op_apply, &a);
    /* a reconnect may have rediscovered the device: report against what it is now */
    uint32_t unsup = set & ~s->caps.modes;
    if (unsup)
        ge_log(s->logp, GE_LOG_DEBUG, MOD, "%s:%d: setpoint bits 0x%x not supported by this device",
               s->host, s->port, (unsigned)unsup);
    if (unsupported)
        *unsupported = unsup;
    return rc;
}

static int drv_step(void *st, double now)
{
    ss_t *s = st;
    if (!s)
        return GE_ERR_INVALID;
    s->now = now;
    return 0;
}

static const ge_adapter_ops_t sunspec_ops = {
    "sunspec", drv_open, drv_close, drv_caps, drv_read, drv_apply, drv_step,
};

const ge_adapter_ops_t *ge_sunspec_adapter(void)
{
    return &sunspec_ops;
}
