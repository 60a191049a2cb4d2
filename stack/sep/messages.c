/* messages.c - what 2030.5 DERControlBase fields mean for the device, and the documents the client
 * sends (Response, PriceResponse, DERCapability, DERSettings, DERStatus, DERAvailability), built as
 * typed structs and written by the generated encoder, so they are schema-valid by construction. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/xml.h>

#include "stack/sep/sep_internal.h"

/* ---- DERControlBase -> setpoint ----------------------------------------------------------------------- */

static double pf_value(const sep_PowerFactorWithExcitation_t *pf)
{
    return (double)pf->displacement * pow(10.0, pf->multiplier);
}

void sep__control_base(const sep_DERControlBase_t *b, sep_ctl_t *ctl)
{
    ge_setpoint_t *sp = &ctl->sp;

    ge_setpoint_init(sp);
    ctl->modes = 0;
    ctl->fixed_w = 0;
    if (b->has_opModConnect) {
        sp->connect = b->opModConnect;
        sp->set |= GE_SP_CONNECT;
    }
    if (b->has_opModEnergize) {
        sp->energize = b->opModEnergize;
        sp->set |= GE_SP_ENERGIZE;
    }
    /* opModTargetW is watts at the point of connection; opModFixedW a share (hundredths of a percent,
     * SignedPerCent) of the rating.  Both command the battery; the explicit watts win. */
    /* CSIP-AUS v1.3 opModStorageTargetW: "a target aggregate output, in Watts, for one or more storage
     * components" (csipaus-core-v1.3.xsd), so discharge positive, as the battery setpoint is; aimed at
     * the storage itself, it wins over a whole-DER opModTargetW in the same control. */
    if (b->opModStorageTargetW) {
        sp->battery_w = sep__power_w(b->opModStorageTargetW);
        sp->set |= GE_SP_BATTERY_W;
    } else if (b->opModTargetW) {
        sp->battery_w = sep__power_w(b->opModTargetW);
        sp->set |= GE_SP_BATTERY_W;
    } else if (b->has_opModFixedW) {
        ctl->fixed_w = 1;
        ctl->fixed_pct = b->opModFixedW / 100.0;
        sp->set |= GE_SP_BATTERY_W;
    }
    if (b->has_opModMaxLimW) { /* PerCent: hundredths of a percent of setMaxW */
        sp->max_lim_pct = b->opModMaxLimW / 100.0;
        sp->set |= GE_SP_MAX_LIM;
    }
    ctl->csip_aus = b->opModExpLimW || b->opModImpLimW || b->opModGenLimW || b->opModLoadLimW || b->opModStorageTargetW;
    if (b->opModExpLimW) {
        sp->export_limit_w = sep__power_w(b->opModExpLimW);
        sp->set |= GE_SP_EXPORT_LIM;
    }
    if (b->opModImpLimW) {
        sp->import_limit_w = sep__power_w(b->opModImpLimW);
        sp->set |= GE_SP_IMPORT_LIM;
    }
    if (b->opModGenLimW) {
        sp->gen_limit_w = sep__power_w(b->opModGenLimW);
        sp->set |= GE_SP_GEN_LIM;
    }
    if (b->opModLoadLimW) {
        sp->load_limit_w = sep__power_w(b->opModLoadLimW);
        sp->set |= GE_SP_LOAD_LIM;
    }
    if (b->has_rampTms) { /* hundredths of a second */
        sp->ramp_s = b->rampTms / 100.0;
        sp->set |= GE_SP_RAMP;
    }
    if (b->opModFixedPFInjectW) {
        sp->pf_inject = pf_value(b->opModFixedPFInjectW);
        sp->set |= GE_SP_PF_INJECT;
    }
    if (b->opModFixedPFAbsorbW) {
        sp->pf_absorb = pf_value(b->opModFixedPFAbsorbW);
        sp->set |= GE_SP_PF_ABSORB;
    }
    if (b->opModFixedVar) { /* SignedPerCent: hundredths of a percent of what refType names */
        sp->fixed_var_pct = b->opModFixedVar->value / 100.0;
        sp->fixed_var_ref = b->opModFixedVar->refType;
        sp->set |= GE_SP_FIXED_VAR;
    }
    if (b->opModTargetVar) {
        sp->target_var = (double)b->opModTargetVar->value * pow(10.0, b->opModTargetVar->multiplier);
        sp->set |= GE_SP_TARGET_VAR;
    }
    if (b->opModFreqDroop) { /* dead bands in mHz, k in thousandths, open loop in hundredths of s */
        sp->freq_droop.db_of_hz = b->opModFreqDroop->dBOF / 1000.0;
        sp->freq_droop.db_uf_hz = b->opModFreqDroop->dBUF / 1000.0;
        sp->freq_droop.k_of = b->opModFreqDroop->kOF / 1000.0;
        sp->freq_droop.k_uf = b->opModFreqDroop->kUF / 1000.0;
        sp->freq_droop.open_loop_s = b->opModFreqDroop->openLoopTms / 100.0;
        sp->set |= GE_SP_FREQ_DROOP;
    }
    /* The curve modes (opModVoltVar, opModVoltWatt, opModFreqWatt, opModWattPF, opModWattVar) and
     * the ride-through curves name DERCurve resources: the client follows them (sep__curve_links)
     * and the mode decides from the start, while its curve takes effect once fetched. */
    ctl->modes = sp->set;
    {
        const sep_DERCurveLink_t *links[GE_CURVE_TYPES];
        sep__curve_links(b, links);
        for (int ct = 0; ct < GE_CURVE_TYPES; ct++)
            if (links[ct])
                ctl->modes |= sep__curve_mode(ct);
    }
}

/* CSIP-AUS Annex C maps the AS/NZS 4755 demand response modes onto opModFixedW: DRM1..4 on the load
 * side (-0.01 %, -50 %, -75 %, -100 %), DRM5..8 on the generation side (0 %, 50 %, 75 %, 100 %).  A
 * value between two of these points takes the DRM of the nearer one; a tie goes to the point nearer
 * 0 % (the more restrictive mode), and values beyond +-100 % to DRM4 / DRM8. */
int sep__drm_of_fixed_w(int fixed_w)
{
    /* ordered from 0 % outwards, so that on a tie the first (nearer 0 %) wins */
    static const struct { int hundredths, drm; } points[] = {
        { 0, 5 }, { -1, 1 }, { 5000, 6 }, { -5000, 2 }, { 7500, 7 }, { -7500, 3 }, { 10000, 8 }, { -10000, 4 },
    };
    int best = points[0].drm;
    long best_d = labs((long)fixed_w - points[0].hundredths);

    for (size_t i = 1; i < sizeof(points) / sizeof(points[0]); i++) {
        long d = labs((long)fixed_w - points[i].hundredths);
        if (d < best_d) {
            best_d = d;
            best = points[i].drm;
        }
    }
    return best;
}

void sep__curve_links(const sep_DERControlBase_t *b, const sep_DERCurveLink_t *out[GE_CURVE_TYPES])
{
    out[GE_CURVE_FREQ_WATT] = b->opModFreqWatt;
    out[GE_CURVE_HFRT_MAY_TRIP] = b->opModHFRTMayTrip;
    out[GE_CURVE_HFRT_MUST_TRIP] = b->opModHFRTMustTrip;
    out[GE_CURVE_HVRT_MAY_TRIP] = b->opModHVRTMayTrip;
    out[GE_CURVE_HVRT_MOMENTARY_CESSATION] = b->opModHVRTMomentaryCessation;
    out[GE_CURVE_HVRT_MUST_TRIP] = b->opModHVRTMustTrip;
    out[GE_CURVE_LFRT_MAY_TRIP] = b->opModLFRTMayTrip;
    out[GE_CURVE_LFRT_MUST_TRIP] = b->opModLFRTMustTrip;
    out[GE_CURVE_LVRT_MAY_TRIP] = b->opModLVRTMayTrip;
    out[GE_CURVE_LVRT_MOMENTARY_CESSATION] = b->opModLVRTMomentaryCessation;
    out[GE_CURVE_LVRT_MUST_TRIP] = b->opModLVRTMustTrip;
    out[GE_CURVE_VOLT_VAR] = b->opModVoltVar;
    out[GE_CURVE_VOLT_WATT] = b->opModVoltWatt;
    out[GE_CURVE_WATT_PF] = b->opModWattPF;
    out[GE_CURVE_WATT_VAR] = b->opModWattVar;
    for (int ct = 0; ct < GE_CURVE_TYPES; ct++)
        if (out[ct] && (!out[ct]->href || !out[ct]->href[0]))
            out[ct] = NULL;
}

uint32_t sep__curve_mode(int ct)
{
    switch (ct) {
    case GE_CURVE_FREQ_WATT: return GE_SP_FREQ_WATT;
    case GE_CURVE_VOLT_VAR: return GE_SP_VOLT_VAR;
    case GE_CURVE_VOLT_WATT: return GE_SP_VOLT_WATT;
    case GE_CURVE_WATT_PF: return GE_SP_WATT_PF;
    case GE_CURVE_WATT_VAR: return GE_SP_WATT_VAR;
    default: return ct >= GE_CURVE_HFRT_MAY_TRIP && ct <= GE_CURVE_LVRT_MUST_TRIP ? GE_SP_RIDE_THROUGH(ct) : 0;
    }
}

ge_curve_t *sep__curve_slot(ge_setpoint_t *sp, int ct)
{
    switch (ct) {
    case GE_CURVE_FREQ_WATT: return &sp->freq_watt;
    case GE_CURVE_VOLT_VAR: return &sp->volt_var;
    case GE_CURVE_VOLT_WATT: return &sp->volt_watt;
    case GE_CURVE_WATT_PF: return &sp->watt_pf;
    case GE_CURVE_WATT_VAR: return &sp->watt_var;
    default:
        return ct >= GE_CURVE_HFRT_MAY_TRIP && ct <= GE_CURVE_LVRT_MUST_TRIP ? &sp->ride_through[ct - 1] : NULL;
    }
}

int sep__curve_read(const sep_DERCurve_t *d, ge_curve_t *out, char *why, size_t why_size)
{
    double xm = pow(10.0, d->xMultiplier), ym = pow(10.0, d->yMultiplier);

    memset(out, 0, sizeof(*out));
    if (d->curveType >= GE_CURVE_TYPES) {
        snprintf(why, why_size, "curveType %u is reserved", (unsigned)d->curveType);
        return GE_ERR_INVALID;
    }
    if (d->CurveData_count == 0 || d->CurveData_count > GE_CURVE_MAX_POINTS) {
        snprintf(why, why_size, "%zu CurveData points (1..%d allowed)", d->CurveData_count, GE_CURVE_MAX_POINTS);
        return GE_ERR_INVALID;
    }
    for (size_t i = 0; i < d->CurveData_count; i++) {
        out->pt[i].x = d->CurveData[i]->xvalue * xm;
        out->pt[i].y = d->CurveData[i]->yvalue * ym;
        /* volt-var and watt-PF points mark absorbing (under-excited) var with excitation=true */
        if (d->CurveData[i]->has_excitation && d->CurveData[i]->excitation && d->curveType == GE_CURVE_WATT_PF)
            out->pt[i].y = -out->pt[i].y;
        if (i > 0 && out->pt[i].x < out->pt[i - 1].x) {
            snprintf(why, why_size, "CurveData %zu: x %g is below the previous point's %g", i + 1, out->pt[i].x,
                     out->pt[i - 1].x);
            memset(out, 0, sizeof(*out));
            return GE_ERR_INVALID;
        }
    }
    out->n = (unsigned)d->CurveData_count;
    out->y_ref = d->yRefType;
    out->v_ref_pct = d->has_vRef ? d->vRef / 100.0 : 0;
    out->open_loop_s = d->has_openLoopTms ? d->openLoopTms / 100.0 : 0;
    return d->curveType;
}

void sep__control_setpoint(const sep_ctl_t *ctl, const ge_der_caps_t *caps, ge_setpoint_t *out)
{
    *out = ctl->sp;
    if (ctl->fixed_w) {
        double rating = caps && caps->rtg_max_discharge_rate_w > 0 ? caps->rtg_max_discharge_rate_w : 5000.0;
        out->battery_w = rating * ctl->fixed_pct / 100.0;
    }
}

/* ---- documents ---------------------------------------------------------------------------------------- */

/* VALUE as ROOT_NAME in SCHEMA's namespace URIs (ge_xml_schema_sep or, for CSIP-AUS v1.3,
 * ge_xml_schema_sep_alt: the same tables). */
static int encode(const ge_xml_schema_t *schema, ge_buf_t *out, const char *root_name, const void *value)
{
    const ge_xml_root_t *root = ge_xml_root_find(schema, root_name);
    ge_xml_error_t err;

    if (!root)
        return GE_ERR_INTERNAL;
    return ge_xml_encode(out, schema, root, value, &err);
}

/* V as a value that fits LIMIT (32767 for an Int16, 65535 for a UInt16) with a power-of-ten
 * multiplier M: V = returned * 10^M. */
static long scaled(double v, double limit, int8_t *m)
{
    *m = 0;
    while (fabs(v) > limit && *m < 9) {
        v /= 10;
        ++*m;
    }
    return lround(v);
}

/* VALUE watts as an ActivePower (Int16 value with a power-of-ten multiplier). */
static void active_power(sep_ActivePower_t *p, double w)
{
    p->value = (int16_t)scaled(w, 32767, &p->multiplier);
}

static void apparent_power(sep_ApparentPower_t *p, double va)
{
    p->value = (uint16_t)scaled(va > 0 ? va : 0, 65535, &p->multiplier);
}

static void reactive_power(sep_ReactivePower_t *p, double var)
{
    p->value = (int16_t)scaled(var, 32767, &p->multiplier);
}

/* A displacement power factor 0..1 in hundredths. */
static void power_factor(sep_PowerFactor_t *p, double pf)
{
    p->displacement = (uint16_t)lround(fmin(fmax(pf, 0), 1) * 100);
    p->multiplier = -2;
}

/* The ratings the CSIP-AUS v1.3 storage procedures (STO-02, STO-05) read besides rtgMaxW: apparent
 * and reactive power both ways, and the minimum power factors. */
typedef struct ratings {
    sep_ApparentPower_t va;
    sep_ReactivePower_t var, var_neg;
    sep_PowerFactor_t pf;
} ratings_t;

static void ratings(ratings_t *r, const ge_der_caps_t *caps)
{
    apparent_power(&r->va, caps->rtg_max_va > 0 ? caps->rtg_max_va : caps->rtg_max_w);
    reactive_power(&r->var, caps->rtg_max_var);
    reactive_power(&r->var_neg, caps->rtg_max_var);
    power_factor(&r->pf, caps->rtg_min_pf > 0 ? caps->rtg_min_pf : 1.0);
}

/* CSIP-AUS v1.3 VPPControlType bits (vppModesSupported / vppModesEnabled): bit 0 opModStorageTargetW,
 * which a driver that takes a battery setpoint applies. */
static uint8_t vpp_bits(uint32_t modes)
{
    return (uint8_t)(modes & GE_SP_BATTERY_W ? 1u << 0 : 0);
}

static void watt_hours(sep_WattHour_t *p, double wh)
{
    p->value = (uint16_t)scaled(wh > 0 ? wh : 0, 65535, &p->multiplier);
}

/* DERControlResponse and PriceResponse add nothing to Response: one struct fills either root */
_Static_assert(sizeof(sep_DERControlResponse_t) == sizeof(sep_Response_t) &&
                   sizeof(sep_PriceResponse_t) == sizeof(sep_Response_t),
               "Response types differ");

int sep__response_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *root, const char *lfdi, const char *mrid,
                      int status, int64_t created)
{
    sep_Response_t r;
    uint8_t lf[20], subj[16];
    int nl = sep__hex_bytes(lfdi, lf, sizeof(lf)), ns = sep__hex_bytes(mrid, subj, sizeof(subj));

    if (nl != 20 || ns <= 0)
        return GE_ERR_INVALID;
    memset(&r, 0, sizeof(r));
    r.createdDateTime = created;
    r.has_createdDateTime = true;
    r.endDeviceLFDI.data = lf;
    r.endDeviceLFDI.len = 20;
    r.status = (uint8_t)status;
    r.has_status = true;
    r.subject.data = subj;
    r.subject.len = (size_t)ns;
    return encode(schema, out, root, &r);
}

/* 2030.5 DERControlType bits (modesSupported / modesEnabled) for what the driver applies. */
static uint32_t control_type_bits(uint32_t modes)
{
    uint32_t bits = 0;

    if (modes & GE_SP_BATTERY_W)
        bits |= 1u << 0 | 1u << 1 | 1u << 7 | 1u << 22; /* charge, discharge, opModFixedW, opModTargetW */
    if (modes & GE_SP_CONNECT)
        bits |= 1u << 2;
    if (modes & GE_SP_ENERGIZE)
        bits |= 1u << 3;
    if (modes & GE_SP_PF_ABSORB)
        bits |= 1u << 4;
    if (modes & GE_SP_PF_INJECT)
        bits |= 1u << 5;
    if (modes & GE_SP_FREQ_WATT)
        bits |= 1u << 9;
    if (modes & GE_SP_MAX_LIM)
        bits |= 1u << 20;
    if (modes & GE_SP_VOLT_VAR)
        bits |= 1u << 23;
    if (modes & GE_SP_VOLT_WATT)
        bits |= 1u << 24;
    if (modes & GE_SP_WATT_PF)
        bits |= 1u << 25;
    return bits;
}

static void bits32(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* CSIP-AUS DOEControlType bits (doeModesSupported / doeModesEnabled). */
static uint8_t doe_bits(uint32_t modes)
{
    return (uint8_t)((modes & GE_SP_EXPORT_LIM ? 1u << 0 : 0) | (modes & GE_SP_IMPORT_LIM ? 1u << 1 : 0) |
                     (modes & GE_SP_GEN_LIM ? 1u << 2 : 0) | (modes & GE_SP_LOAD_LIM ? 1u << 3 : 0));
}

int sep__dercap_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int csip_aus, int storage)
{
    sep_DERCapability_t d;
    sep_ActivePower_t max_w, chg, dis;
    sep_WattHour_t wh;
    ratings_t rt;
    uint8_t modes[4], doe = doe_bits(caps->modes), vpp = vpp_bits(caps->modes);

    memset(&d, 0, sizeof(d));
    bits32(modes, control_type_bits(caps->modes));
    d.modesSupported.data = modes;
    d.modesSupported.len = 4;
    if (csip_aus) { /* required by CSIP-AUS (csipaus-core.xsd) */
        d.doeModesSupported.data = &doe;
        d.doeModesSupported.len = 1;
    }
    if (storage) {
        ratings(&rt, caps);
        d.rtgMaxVA = &rt.va;
        d.rtgMaxVar = &rt.var;
        d.rtgMaxVarNeg = &rt.var_neg;
        d.rtgMinPFOverExcited = &rt.pf;
        d.rtgMinPFUnderExcited = &rt.pf;
        d.vppModesSupported.data = &vpp;
        d.vppModesSupported.len = 1;
    }
    active_power(&max_w, caps->rtg_max_w);
    d.rtgMaxW = &max_w;
    if (caps->rtg_max_charge_rate_w > 0) {
        active_power(&chg, caps->rtg_max_charge_rate_w);
        d.rtgMaxChargeRateW = &chg;
    }
    if (caps->rtg_max_discharge_rate_w > 0) {
        active_power(&dis, caps->rtg_max_discharge_rate_w);
        d.rtgMaxDischargeRateW = &dis;
    }
    if (caps->rtg_max_wh > 0) {
        watt_hours(&wh, caps->rtg_max_wh);
        d.rtgMaxWh = &wh;
    }
    d.type = caps->pv_peak_w > 0 && caps->rtg_max_wh > 0 ? 83 /* combined PV and storage */
             : caps->rtg_max_wh > 0                       ? 80 /* other storage system */
                                                          : 4; /* photovoltaic system */
    return encode(schema, out, "DERCapability", &d);
}

int sep__derg_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int64_t now, int csip_aus,
                  unsigned set_grad_w, int storage)
{
    sep_DERSettings_t d;
    sep_ActivePower_t max_w, chg, dis;
    sep_WattHour_t wh, min_wh;
    ratings_t rt;
    uint8_t modes[4], doe = doe_bits(caps->modes), vpp = vpp_bits(caps->modes);

    memset(&d, 0, sizeof(d));
    bits32(modes, control_type_bits(caps->modes));
    d.modesEnabled.data = modes;
    d.modesEnabled.len = 4;
    if (csip_aus) {
        d.doeModesEnabled.data = &doe;
        d.doeModesEnabled.len = 1;
    }
    if (storage) { /* the settings in force are the ratings: nothing is derated locally */
        ratings(&rt, caps);
        d.setMaxVA = &rt.va;
        d.setMaxVar = &rt.var;
        d.setMaxVarNeg = &rt.var_neg;
        d.setMinPFOverExcited = &rt.pf;
        d.setMinPFUnderExcited = &rt.pf;
        d.vppModesEnabled.data = &vpp;
        d.vppModesEnabled.len = 1;
        watt_hours(&min_wh, 0); /* the driver uses the battery's whole usable range (rtgMaxWh) */
        d.setMinWh = &min_wh;
    }
    /* hundredths of a percent of setMaxW per second: the utility's default, else full power in 1 s */
    d.setGradW = (uint16_t)(set_grad_w ? set_grad_w : 10000);
    active_power(&max_w, caps->rtg_max_w);
    d.setMaxW = &max_w;
    if (caps->rtg_max_charge_rate_w > 0) {
        active_power(&chg, caps->rtg_max_charge_rate_w);
        d.setMaxChargeRateW = &chg;
    }
    if (caps->rtg_max_discharge_rate_w > 0) {
        active_power(&dis, caps->rtg_max_discharge_rate_w);
        d.setMaxDischargeRateW = &dis;
    }
    if (caps->rtg_max_wh > 0) {
        watt_hours(&wh, caps->rtg_max_wh);
        d.setMaxWh = &wh;
    }
    d.updatedTime = now;
    return encode(schema, out, "DERSettings", &d);
}

int sep__ders_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, const ge_telemetry_t *tel,
                  int64_t now, int drm)
{
    sep_DERStatus_t d;
    sep_ConnectStatusType_t gen, stor;
    sep_OperationalModeStatusType_t op;
    sep_StateOfChargeStatusType_t soc;
    sep_StorageModeStatusType_t stor_mode;
    uint32_t pv, battery;
    uint8_t gen_bits, stor_bits, alarm[4];

    memset(&d, 0, sizeof(d));
    d.readingTime = now;
    /* One DER stands for the site's PV inverter and battery inverter (CSIP-AUS MUL-01; SA Power
     * Networks' handbook 8.4): each ConnectStatusType bit (0 connected, 1 available, 2 operating,
     * 3 test, 4 fault; 2030.5 Table 11) is set when it is set for any device that generates (PV
     * and battery) or stores (the battery), and the DER is off only when every device is. */
    ge_telemetry_states(caps, tel, &pv, &battery, NULL);
    gen_bits = (uint8_t)((pv | battery) & GE_DEV_BITS);
    stor_bits = (uint8_t)(battery & GE_DEV_BITS);
    gen.dateTime = now;
    gen.value.data = &gen_bits;
    gen.value.len = 1;
    d.genConnectStatus = &gen;
    stor.dateTime = now;
    stor.value.data = &stor_bits;
    stor.value.len = 1;
    d.storConnectStatus = &stor;
    op.dateTime = now;
    if (drm == SEP_DRM_OFF) {
        op.value = (pv | battery) & GE_DEV_CONNECTED ? 2 : 1; /* 2 operational mode, 1 off */
        d.operationalModeStatus = &op;
    } else if (drm >= 0) { /* CSIP-AUS Annex C: 100 + the DRM in force; none in force: left out */
        op.value = (uint8_t)(SEP_DRM_STATUS_BASE + drm);
        d.operationalModeStatus = &op;
    }
    soc.dateTime = now;
    soc.value = (uint16_t)lround(fmin(fmax(tel->soc_pct, 0), 100) * 100); /* hundredths of a percent */
    d.stateOfChargeStatus = &soc;
    stor_mode.dateTime = now;
    stor_mode.value = tel->battery_w < -1 ? 0 : tel->battery_w > 1 ? 1 : 2; /* charging, discharging, holding */
    d.storageModeStatus = &stor_mode;
    if (tel->alarms & SEP_FAULT_ALARMS) { /* alarmStatus bit b is GE_ALARM_SEP(b) */
        bits32(alarm, (tel->alarms & SEP_FAULT_ALARMS) >> 5);
        d.alarmStatus.data = alarm;
        d.alarmStatus.len = 4;
    } else if (drm != SEP_DRM_OFF) { /* demand response reports "no alarm" explicitly */
        bits32(alarm, 0);
        d.alarmStatus.data = alarm;
        d.alarmStatus.len = 4;
    }
    return encode(schema, out, "DERStatus", &d);
}

int sep__dera_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, const ge_telemetry_t *tel, int64_t now)
{
    sep_DERAvailability_t d;
    sep_ActivePower_t w_avail;
    double dis = caps->rtg_max_discharge_rate_w;

    memset(&d, 0, sizeof(d));
    d.readingTime = now;
    /* How long the battery can keep discharging at full power, and the power it can give now. */
    if (dis > 0 && tel->stored_wh > 0) {
        double s = tel->stored_wh / dis * 3600.0;
        d.availabilityDuration = s > 4e9 ? 4000000000u : (uint32_t)s;
        d.has_availabilityDuration = true;
    }
    active_power(&w_avail, tel->soc_pct > 0 ? dis : 0);
    d.statWAvail = &w_avail;
    return encode(schema, out, "DERAvailability", &d);
}

/* ---- metering mirror ------------------------------------------------------------------------------------ */

/* One reading of a mirror: what it measures (2030.5 ReadingType codes) and where its value comes from. */
typedef struct reading_def {
    const char *description;
    uint8_t uom;            /* 38 W, 63 var, 29 V, 33 Hz, 72 Wh */
    uint8_t kind;           /* 37 power, 12 energy, 0 not applicable */
    uint8_t accumulation;   /* 12 instantaneous, 3 cumulative */
    uint8_t flow;           /* 1 forward (delivered to the site), 19 reverse (received from it), 0 n/a */
    int8_t multiplier;      /* value = quantity / 10^multiplier */
    int8_t qualifier;       /* dataQualifier, -1: none given */
} reading_def_t;

static const reading_def_t site_readings[] = {
    { "Site real power", 38, 37, 12, 1, 0, -1 },
    { "Site reactive power", 63, 37, 12, 1, 0, -1 },
    { "Site voltage", 29, 0, 12, 0, -1, -1 },
    { "Site frequency", 33, 0, 12, 0, -2, -1 },
    { "Site energy imported", 72, 12, 3, 1, 0, -1 },
    { "Site energy exported", 72, 12, 3, 19, 0, -1 },
};

/* The last one only with the CSIP-AUS v1.3 storage extension: the energy in the battery now (Wh,
 * kind energy, instantaneous, dataQualifier 0 "not applicable": a level, not an average). */
static const reading_def_t der_readings[] = {
    { "DER real power", 38, 37, 12, 19, 0, -1 },
    { "DER reactive power", 63, 37, 12, 19, 0, -1 },
    { "DER energy delivered", 72, 12, 3, 19, 0, -1 },
    { "DER stored energy", 72, 12, 12, 0, 0, 0 },
};
#define DER_STORED_ENERGY 3

static double reading_quantity(int which, size_t i, const ge_telemetry_t *t)
{
    if (which == SEP_MIRROR_SITE) {
        switch (i) {
        case 0: return t->site_w;
        case 1: return t->reactive_var;
        case 2: return t->voltage_v;
        case 3: return t->frequency_hz;
        case 4: return t->import_wh;
        default: return t->export_wh;
        }
    }
    switch (i) {
    case 0: return t->pv_w + t->battery_w;
    case 1: return t->reactive_var;
    case 2: return t->pv_wh + t->battery_discharge_wh;
    default: return t->stored_wh;
    }
}

#define MIRROR_MAX_READINGS 6

int sep__mirror_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int which, const char *lfdi, const char *mrid, const ge_telemetry_t *tel,
                    int64_t now, int create, int storage)
{
    const reading_def_t *defs = which == SEP_MIRROR_SITE ? site_readings : der_readings;
    size_t n = which == SEP_MIRROR_SITE ? sizeof(site_readings) / sizeof(site_readings[0])
               : storage                ? sizeof(der_readings) / sizeof(der_readings[0])
                                        : DER_STORED_ENERGY;
    sep_MirrorUsagePoint_t m;
    sep_MirrorMeterReading_t mmr[MIRROR_MAX_READINGS], *ptrs[MIRROR_MAX_READINGS];
    sep_ReadingType_t rt[MIRROR_MAX_READINGS];
    sep_Reading_t rd[MIRROR_MAX_READINGS];
    uint8_t mup_id[16], rd_id[MIRROR_MAX_READINGS][16], lf[20];
    uint8_t role[2] = { 0, (uint8_t)(which == SEP_MIRROR_SITE ? 0x03 : 0x49) }; /* isMirror + aggregation / DER */
    char hex[SEP_MRID_HEX + 1];

    if (sep__hex_bytes(mrid, mup_id, sizeof(mup_id)) != 16 || sep__hex_bytes(lfdi, lf, sizeof(lf)) != 20)
        return GE_ERR_INVALID;
    memset(&m, 0, sizeof(m));
    m.mRID.data = mup_id;
    m.mRID.len = 16;
    m.description = which == SEP_MIRROR_SITE ? "Site meter" : "DER";
    m.roleFlags.data = role;
    m.roleFlags.len = 2;
    m.serviceCategoryKind = 0; /* electricity */
    m.status = 1;              /* on */
    m.deviceLFDI.data = lf;
    m.deviceLFDI.len = 20;
    for (size_t i = 0; i < n; i++) {
        double q = reading_quantity(which, i, tel) * pow(10.0, -defs[i].multiplier);
        memset(&mmr[i], 0, sizeof(mmr[i]));
        memset(&rt[i], 0, sizeof(rt[i]));
        memset(&rd[i], 0, sizeof(rd[i]));
        snprintf(hex, sizeof(hex), "%.28s%02X%02X", mrid, (unsigned)which + 1, (unsigned)i + 1);
        sep__hex_bytes(hex, rd_id[i], 16);
        mmr[i].mRID.data = rd_id[i];
        mmr[i].mRID.len = 16;
        mmr[i].description = (char *)defs[i].description;
        if (create) {
            rt[i].accumulationBehaviour = defs[i].accumulation;
            rt[i].has_accumulationBehaviour = true;
            rt[i].commodity = 1; /* electricity, secondary metered */
            rt[i].has_commodity = true;
            if (defs[i].flow) {
                rt[i].flowDirection = defs[i].flow;
                rt[i].has_flowDirection = true;
            }
            if (defs[i].qualifier >= 0) {
                rt[i].dataQualifier = (uint8_t)defs[i].qualifier;
                rt[i].has_dataQualifier = true;
            }
            rt[i].kind = defs[i].kind;
            rt[i].has_kind = true;
            rt[i].phase = 0;
            rt[i].has_phase = true;
            rt[i].powerOfTenMultiplier = defs[i].multiplier;
            rt[i].has_powerOfTenMultiplier = true;
            rt[i].uom = defs[i].uom;
            rt[i].has_uom = true;
            mmr[i].ReadingType = &rt[i];
        }
        mmr[i].lastUpdateTime = now;
        mmr[i].has_lastUpdateTime = true;
        rd[i].value = (int64_t)llround(fmax(fmin(q, 140737488355327.0), -140737488355327.0));
        rd[i].has_value = true;
        mmr[i].Reading = &rd[i];
        ptrs[i] = &mmr[i];
    }
    m.MirrorMeterReading = ptrs;
    m.MirrorMeterReading_count = n;
    return encode(schema, out, "MirrorUsagePoint", &m);
}

int sep__connection_point_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *id)
{
    sep_csipaus_ConnectionPoint_t cp;

    memset(&cp, 0, sizeof(cp));
    cp.connectionPointId = (char *)id;
    return encode(schema, out, "ConnectionPoint", &cp);
}

uint32_t sep__device_category(const ge_der_caps_t *caps)
{
    uint32_t bits = 0;

    /* 2030.5 DeviceCategoryType bits: 17 EVSE, 21 PV system, 23 combined PV and storage, 25 other storage */
    if (caps->pv_peak_w > 0 && caps->rtg_max_wh > 0)
        bits |= 1u << 23;
    else if (caps->rtg_max_wh > 0)
        bits |= 1u << 25;
    else if (caps->pv_peak_w > 0)
        bits |= 1u << 21;
    if (caps->ev_max_w > 0)
        bits |= 1u << 17;
    return bits;
}

int sep__end_device_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *lfdi, uint64_t sfdi, int64_t now,
                        uint32_t device_category)
{
    sep_EndDevice_t e;
    uint8_t lf[20], category[4];

    if (sep__hex_bytes(lfdi, lf, sizeof(lf)) != 20)
        return GE_ERR_INVALID;
    memset(&e, 0, sizeof(e));
    e.lFDI.data = lf;
    e.lFDI.len = 20;
    e.sFDI = sfdi;
    e.changedTime = now;
    if (device_category) {
        bits32(category, device_category);
        e.deviceCategory.data = category;
        e.deviceCategory.len = 4;
    }
    return encode(schema, out, "EndDevice", &e);
}

int sep__logevent_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int bit, uint16_t id, int64_t created)
{
    static const char *const what[GE_ALARM_SEP_BITS] = {
        "over current", "over voltage", "under voltage", "over frequency", "under frequency",
        "voltage imbalance", "current imbalance", "local emergency", "remote emergency", "low input power",
        "phase rotation",
    };
    sep_LogEvent_t e;

    if (bit < 0 || bit >= GE_ALARM_SEP_BITS)
        return GE_ERR_INVALID;
    memset(&e, 0, sizeof(e));
    e.createdDateTime = created;
    e.details = (char *)what[bit];
    e.functionSet = 11;      /* Distributed Energy Resources */
    e.logEventCode = (uint8_t)bit; /* the DER LogEvent codes follow the alarmStatus bits */
    e.logEventID = id;
    e.logEventPEN = SEP_IEEE_PEN;
    e.profileID = 2;         /* IEEE 2030.5 */
    return encode(schema, out, "LogEvent", &e);
}

/* A Subscription to RESOURCE (2030.5 §5.5.4 subscription/notification): notifications in
 * application/sep+xml (encoding 0) to NOTIFY_URI, lists with at most LIMIT items. */
int sep__subscription_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *resource, const char *notify_uri, uint32_t limit)
{
    sep_Subscription_t s;

    memset(&s, 0, sizeof(s));
    s.subscribedResource = (char *)resource;
    s.encoding = 0;
    s.level = (char *)"+S1";
    s.limit = limit;
    s.notificationURI = (char *)notify_uri;
    return encode(schema, out, "Subscription", &s);
}

/* ---- describing controls ------------------------------------------------------------------------------ */

int sep_describe_control(uint32_t modes, const ge_setpoint_t *sp, const char **kind, double *value)
{
    static const char *const rt_names[GE_RIDE_THROUGH_CURVES] = {
        "opModHFRTMayTrip", "opModHFRTMustTrip", "opModHVRTMayTrip", "opModHVRTMomentaryCessation",
        "opModHVRTMustTrip", "opModLFRTMayTrip", "opModLFRTMustTrip", "opModLVRTMayTrip",
        "opModLVRTMomentaryCessation", "opModLVRTMustTrip",
    };
    static const struct { uint32_t bit; const char *name; } names[] = {
        { GE_SP_CONNECT, "opModConnect" }, { GE_SP_ENERGIZE, "opModEnergize" }, { GE_SP_BATTERY_W, "opModTargetW" },
        { GE_SP_MAX_LIM, "opModMaxLimW" }, { GE_SP_EXPORT_LIM, "opModExpLimW" }, { GE_SP_IMPORT_LIM, "opModImpLimW" },
        { GE_SP_GEN_LIM, "opModGenLimW" }, { GE_SP_LOAD_LIM, "opModLoadLimW" },
        { GE_SP_PF_INJECT, "opModFixedPFInjectW" }, { GE_SP_PF_ABSORB, "opModFixedPFAbsorbW" },
        { GE_SP_FIXED_VAR, "opModFixedVar" }, { GE_SP_TARGET_VAR, "opModTargetVar" },
        { GE_SP_FREQ_DROOP, "opModFreqDroop" }, { GE_SP_VOLT_VAR, "opModVoltVar" },
        { GE_SP_VOLT_WATT, "opModVoltWatt" }, { GE_SP_FREQ_WATT, "opModFreqWatt" }, { GE_SP_WATT_PF, "opModWattPF" },
        { GE_SP_WATT_VAR, "opModWattVar" }, { GE_SP_RAMP, "rampTms" },
    };
    const ge_curve_t *cv = NULL;

    *kind = "";
    *value = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(modes & names[i].bit))
            continue;
        *kind = names[i].name;
        if (!(sp->set & names[i].bit))
            return 0; /* decided, but not in effect yet (a curve not read yet) */
        switch (names[i].bit) {
        case GE_SP_CONNECT: *value = sp->connect; break;
        case GE_SP_ENERGIZE: *value = sp->energize; break;
        case GE_SP_BATTERY_W: *value = sp->battery_w; break;
        case GE_SP_MAX_LIM: *value = sp->max_lim_pct; break;
        case GE_SP_EXPORT_LIM: *value = sp->export_limit_w; break;
        case GE_SP_IMPORT_LIM: *value = sp->import_limit_w; break;
        case GE_SP_GEN_LIM: *value = sp->gen_limit_w; break;
        case GE_SP_LOAD_LIM: *value = sp->load_limit_w; break;
        case GE_SP_PF_INJECT: *value = sp->pf_inject; break;
        case GE_SP_PF_ABSORB: *value = sp->pf_absorb; break;
        case GE_SP_FIXED_VAR: *value = sp->fixed_var_pct; break;
        case GE_SP_TARGET_VAR: *value = sp->target_var; break;
        case GE_SP_FREQ_DROOP: *value = sp->freq_droop.k_of; break;
        case GE_SP_VOLT_VAR: cv = &sp->volt_var; break;
        case GE_SP_VOLT_WATT: cv = &sp->volt_watt; break;
        case GE_SP_FREQ_WATT: cv = &sp->freq_watt; break;
        case GE_SP_WATT_PF: cv = &sp->watt_pf; break;
        case GE_SP_WATT_VAR: cv = &sp->watt_var; break;
        default: /* GE_SP_RAMP: a default's setGradW (hundredths of a percent per second), or rampTms */
            if (sp->ramp_grad_pct_s > 0) {
                *kind = "setGradW";
                *value = sp->ramp_grad_pct_s * 100.0;
            } else {
                *value = sp->ramp_s;
            }
            break;
        }
        if (cv)
            *value = cv->n; /* a curve: how many points it has */
        return 1;
    }
    for (int ct = GE_CURVE_HFRT_MAY_TRIP; ct <= GE_CURVE_LVRT_MUST_TRIP; ct++)
        if (modes & GE_SP_RIDE_THROUGH(ct)) {
            *kind = rt_names[ct - 1];
            if (!(sp->set & GE_SP_RIDE_THROUGH(ct)))
                return 0;
            *value = sp->ride_through[ct - 1].n;
            return 1;
        }
    return 0;
}
