/* gridedge/adapter.h - the device driver interface (our port layer for devices) and the built-in
 * simulated home.
 *
 * A device maker implements one ge_adapter_ops_t for their hardware (docs/porting.md walks through
 * an example).  The stack never talks to a device any other way: it reads telemetry, applies the
 * setpoint the utility control and the local policy decided, and asks for the ratings.
 *
 * Units and signs, everywhere in this header:
 *   power W, reactive power var, energy Wh, state of charge %, voltage V, frequency Hz, time s
 *   (unix seconds as double, always the caller's `now`: drivers never read a clock themselves).
 *   site (grid meter) power:  import positive, export negative
 *   battery power:            discharge positive, charge negative
 *   PV power:                 generation, >= 0
 *   EV charger power:         charging, >= 0
 *   so at every instant  site = house + ev - pv - battery.
 * Errors are negative ge_err codes (GE_ERR_DEVICE for a device that fails or returns garbage). */
#ifndef GRIDEDGE_ADAPTER_H
#define GRIDEDGE_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>
#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- setpoints ------------------------------------------------------------------------------ */

/* Which fields of a ge_setpoint_t carry a value (bits of ge_setpoint_t.set, and of
 * ge_der_caps_t.modes for what a driver can apply).  The names follow the IEEE 2030.5-2018
 * DERControlBase (and CSIP-AUS) modes they come from. */
enum ge_sp_field {
    GE_SP_BATTERY_W = 1u << 0,    /* battery_w: opModTargetW / opModFixedW resolved to W */
    GE_SP_MAX_LIM = 1u << 1,      /* max_lim_pct: opModMaxLimW, cap on PV + battery discharge */
    GE_SP_CONNECT = 1u << 2,      /* connect: opModConnect */
    GE_SP_ENERGIZE = 1u << 3,     /* energize: opModEnergize */
    GE_SP_EXPORT_LIM = 1u << 4,   /* export_limit_w: CSIP-AUS opModExpLimW */
    GE_SP_IMPORT_LIM = 1u << 5,   /* import_limit_w: CSIP-AUS opModImpLimW */
    GE_SP_GEN_LIM = 1u << 6,      /* gen_limit_w: CSIP-AUS opModGenLimW (PV + discharge) */
    GE_SP_LOAD_LIM = 1u << 7,     /* load_limit_w: CSIP-AUS opModLoadLimW (charge + EV) */
    GE_SP_RAMP = 1u << 8,         /* ramp_s: rampTms, or ramp_grad_pct_s: setGradW */
    GE_SP_EV_LIM = 1u << 9,       /* ev_limit_w: EV charge limit */
    GE_SP_PV_CAP = 1u << 10,      /* pv_cap_w: PV curtailment cap in W */
    GE_SP_PF_INJECT = 1u << 11,   /* pf_inject: opModFixedPFInjectW */
    GE_SP_PF_ABSORB = 1u << 12,   /* pf_absorb: opModFixedPFAbsorbW */
    GE_SP_VOLT_VAR = 1u << 13,    /* volt_var curve: opModVoltVar */
    GE_SP_VOLT_WATT = 1u << 14,   /* volt_watt curve: opModVoltWatt */
    GE_SP_FREQ_WATT = 1u << 15,   /* freq_watt curve: opModFreqWatt */
    GE_SP_WATT_PF = 1u << 16,     /* watt_pf curve: opModWattPF */
    GE_SP_FIXED_VAR = 1u << 17,   /* fixed_var_pct, fixed_var_ref: opModFixedVar */
    GE_SP_TARGET_VAR = 1u << 18,  /* target_var: opModTargetVar */
    GE_SP_WATT_VAR = 1u << 19,    /* watt_var curve: opModWattVar */
    GE_SP_FREQ_DROOP = 1u << 20,  /* freq_droop: opModFreqDroop */
    /* bits 21..30: the ride-through curves, one bit each, in 2030.5 DERCurveType order
     * (GE_SP_RIDE_THROUGH(ct) for curveType ct = 1 HFRTMayTrip .. 10 LVRTMustTrip) */
    GE_SP_RIDE_THROUGH_ALL = 0x3ffu << 21
};

/* 2030.5 DERCurveType values (sep.xsd): the curve kinds a DERCurve can hold. */
enum ge_curve_type {
    GE_CURVE_FREQ_WATT = 0, GE_CURVE_HFRT_MAY_TRIP = 1, GE_CURVE_HFRT_MUST_TRIP = 2,
    GE_CURVE_HVRT_MAY_TRIP = 3, GE_CURVE_HVRT_MOMENTARY_CESSATION = 4, GE_CURVE_HVRT_MUST_TRIP = 5,
    GE_CURVE_LFRT_MAY_TRIP = 6, GE_CURVE_LFRT_MUST_TRIP = 7, GE_CURVE_LVRT_MAY_TRIP = 8,
    GE_CURVE_LVRT_MOMENTARY_CESSATION = 9, GE_CURVE_LVRT_MUST_TRIP = 10, GE_CURVE_VOLT_VAR = 11,
    GE_CURVE_VOLT_WATT = 12, GE_CURVE_WATT_PF = 13, GE_CURVE_WATT_VAR = 14, GE_CURVE_TYPES = 15
};

/* The setpoint bit of ride-through curve type CT (GE_CURVE_HFRT_MAY_TRIP .. GE_CURVE_LVRT_MUST_TRIP). */
#define GE_SP_RIDE_THROUGH(ct) (1u << (20 + (ct)))
#define GE_RIDE_THROUGH_CURVES 10

/* 2030.5 DERCurve carries at most 10 CurveData points (sep.xsd, DERCurve.CurveData maxOccurs 10). */
#define GE_CURVE_MAX_POINTS 10

typedef struct ge_curve_point {
    double x; /* e.g. voltage in % of nominal, frequency in Hz, active power in % */
    double y; /* e.g. var in % of rating, W in % of rating, power factor */
} ge_curve_point_t;

typedef struct ge_curve {
    unsigned n; /* points used, 0..GE_CURVE_MAX_POINTS, x ascending */
    ge_curve_point_t pt[GE_CURVE_MAX_POINTS];
    int y_ref;  /* what y is a percentage of: 2030.5 DERUnitRefType (1 %setMaxW, 2 %setMaxVar, ...), 0 n/a */
    double v_ref_pct;     /* volt-var reference voltage, % of nominal (0: nominal) */
    double open_loop_s;   /* open-loop response time (0: the device's default) */
} ge_curve_t;

/* opModFreqDroop (2030.5 FreqDroopType): frequency-watt as parameters instead of a curve. */
typedef struct ge_freq_droop {
    double db_of_hz, db_uf_hz; /* dead bands above and below nominal frequency */
    double k_of, k_uf;         /* per-unit frequency change per per-unit power change */
    double open_loop_s;
} ge_freq_droop_t;

/* What the utility control and the local policy decided, in device terms.  A field counts only
 * when its GE_SP_* bit is set in `set`; an absent field means "no such limit / no command"
 * (a battery without GE_SP_BATTERY_W idles at 0 W).  Each ge_adapter_apply() replaces the whole
 * previous setpoint. */
typedef struct ge_setpoint {
    uint32_t set;          /* GE_SP_* bits */
    double battery_w;      /* battery power target, discharge positive */
    double max_lim_pct;    /* PV + battery discharge <= max_lim_pct % of rtg_max_w */
    int connect;           /* 0: disconnect from the grid (PV and battery at 0 W) */
    int energize;          /* 0: de-energize (PV and battery at 0 W) */
    double export_limit_w; /* site power >= -export_limit_w (>= 0) */
    double import_limit_w; /* site power <= import_limit_w (>= 0) */
    double gen_limit_w;    /* PV + battery discharge <= gen_limit_w */
    double load_limit_w;   /* battery charge + EV <= load_limit_w */
    double ramp_s;         /* time to move from the present power to the new target; default 1 s */
    double ev_limit_w;     /* EV charging <= ev_limit_w */
    double pv_cap_w;       /* PV generation <= pv_cap_w */
    double pf_inject;      /* displacement power factor while injecting, 0..1 */
    double pf_absorb;      /* displacement power factor while absorbing, 0..1 */
    ge_curve_t volt_var, volt_watt, freq_watt, watt_pf;
    double fixed_var_pct;  /* opModFixedVar: reactive power, % of what fixed_var_ref names */
    int fixed_var_ref;     /* 2030.5 DERUnitRefType of fixed_var_pct */
    double target_var;     /* opModTargetVar: reactive power in var, injected positive */
    ge_curve_t watt_var;
    ge_freq_droop_t freq_droop;
    /* ride_through[ct - 1] for DERCurveType ct = 1..10, when GE_SP_RIDE_THROUGH(ct) is set: x is
     * the duration in seconds, y the voltage (% of nominal) or frequency (Hz) limit */
    ge_curve_t ride_through[GE_RIDE_THROUGH_CURVES];
    double ramp_grad_pct_s; /* GE_SP_RAMP with this > 0: instead of ramp_s, move at this rate (% of
                             * the DER's rtg_max_w per second: a default's setGradW), however far */
} ge_setpoint_t;

/* --- ratings and telemetry ------------------------------------------------------------------ */

/* Ratings, in IEEE 2030.5 DERCapability terms (the field names say which one). */
typedef struct ge_der_caps {
    uint32_t modes;                 /* GE_SP_* the driver applies; others are reported unsupported */
    double rtg_max_w;               /* rtgMaxW: PV + battery discharge at the point of connection */
    double rtg_max_va;              /* rtgMaxVA */
    double rtg_max_var;             /* rtgMaxVar */
    double rtg_max_charge_rate_w;   /* rtgMaxChargeRateW */
    double rtg_max_discharge_rate_w; /* rtgMaxDischargeRateW */
    double rtg_max_wh;              /* rtgMaxWh: usable battery energy */
    double rtg_min_pf;              /* rtgMinPFOverExcited, 0..1 */
    double rtg_v_nom;               /* rtgVNom */
    double pv_peak_w;               /* PV array peak (0: none) */
    double ev_max_w;                /* EV charger rating (0: none) */
} ge_der_caps_t;

/* Alarm bits of ge_telemetry_t.alarms (reported upstream as 2030.5 DERStatus / LogEvents). */
enum ge_alarm {
    GE_ALARM_SOC_EMPTY = 1u << 0,     /* battery at 0 % while discharge was asked */
    GE_ALARM_SOC_FULL = 1u << 1,      /* battery at 100 % while charge was asked */
    GE_ALARM_LIMITED = 1u << 2,       /* a limit cut the battery or PV below the target */
    GE_ALARM_DISCONNECTED = 1u << 3,  /* disconnected / de-energized by control */
    GE_ALARM_COMMS = 1u << 4,         /* the driver lost its device */
    /* the DER faults of 2030.5 DERStatus.alarmStatus / DER LogEvents */
    GE_ALARM_OVER_CURRENT = 1u << 5,
    GE_ALARM_OVER_VOLTAGE = 1u << 6,
    GE_ALARM_UNDER_VOLTAGE = 1u << 7,
    GE_ALARM_OVER_FREQUENCY = 1u << 8,
    GE_ALARM_UNDER_FREQUENCY = 1u << 9,
    GE_ALARM_VOLTAGE_IMBALANCE = 1u << 10,
    GE_ALARM_CURRENT_IMBALANCE = 1u << 11,
    GE_ALARM_EMERGENCY_LOCAL = 1u << 12,
    GE_ALARM_EMERGENCY_REMOTE = 1u << 13,
    GE_ALARM_LOW_POWER_INPUT = 1u << 14,
    GE_ALARM_PHASE_ROTATION = 1u << 15
};
/* GE_ALARM_OVER_CURRENT.. in 2030.5 alarmStatus bit order: bit b of alarmStatus is GE_ALARM_SEP(b). */
#define GE_ALARM_SEP(b) (1u << (5 + (b)))
#define GE_ALARM_SEP_BITS 11

/* The 2030.5 DER alarms by name, as tests and fault files write them: "over_current",
 * "over_voltage", "under_voltage", "over_frequency", "under_frequency", "voltage_imbalance",
 * "current_imbalance", "local_emergency", "remote_emergency", "low_input_power", "phase_rotation".
 * The alarm bits the words of TEXT (separated by spaces, tabs, newlines or commas) name into *BITS;
 * returns how many words are not such names (the first one into UNKNOWN, cut to UNKNOWN_SIZE, when
 * UNKNOWN is not NULL). */
int ge_alarms_parse(const char *text, uint32_t *bits, char *unknown, size_t unknown_size);

typedef struct ge_telemetry {
    double time;            /* the `now` of the last step */
    double pv_w;            /* >= 0 */
    double battery_w;       /* discharge positive */
    double soc_pct;         /* 0..100 */
    double stored_wh;       /* energy in the battery */
    double ev_w;            /* >= 0 */
    int ev_connected;       /* an EV is plugged in */
    double ev_need_wh;      /* energy the plugged-in EV still wants */
    double ev_departure;    /* when it leaves (unix s), 0 if unknown */
    double house_w;         /* house load (without EV), >= 0 */
    double site_w;          /* import positive = house + ev - pv - battery */
    double voltage_v;
    double frequency_hz;
    double reactive_var;    /* injected positive */
    double import_wh;       /* cumulative, site meter */
    double export_wh;       /* cumulative, site meter */
    /* cumulative flows, for energy accounting */
    double pv_wh, house_wh, ev_wh;
    double battery_charge_wh;    /* AC energy into the battery */
    double battery_discharge_wh; /* AC energy out of the battery */
    uint32_t alarms;        /* ge_alarm bits */
    /* Each device's own state (ge_device_state bits), for a site whose one DER stands for several
     * devices (CSIP-AUS MUL-01: DERStatus aggregates them).  A driver that knows a device's state
     * sets it with GE_DEV_REPORTED; one left 0 is derived by the stack (ge_telemetry_states()). */
    uint32_t pv_state, battery_state, ev_state;
} ge_telemetry_t;

/* Bits of a device's state (ge_telemetry_t.pv_state ...), those of IEEE 2030.5 ConnectStatusType
 * (Table 11) plus GE_DEV_REPORTED.  A device switched off is GE_DEV_REPORTED alone. */
enum ge_device_state {
    GE_DEV_CONNECTED = 1u << 0, /* connected to the grid */
    GE_DEV_AVAILABLE = 1u << 1, /* able to connect and operate */
    GE_DEV_OPERATING = 1u << 2, /* producing or consuming power */
    GE_DEV_TEST = 1u << 3,      /* in test mode */
    GE_DEV_FAULT = 1u << 4,     /* in fault */
    GE_DEV_REPORTED = 1u << 7   /* the driver set this state: the stack takes it as it is */
};
#define GE_DEV_BITS 0x1fu       /* the ConnectStatusType bits of a state */

/* The states of the PV, the battery and the EV charger of TEL, without GE_DEV_REPORTED, into *PV,
 * *BATTERY and *EV (each may be NULL): a state the driver reported as it is; one it left 0 derived
 * from CAPS and TEL: 0 for a device CAPS has not (the battery: rtg_max_wh and the charge and
 * discharge rates 0; the PV: pv_peak_w 0 while there is a battery; the EV charger: ev_max_w 0), else
 * available, connected unless GE_ALARM_DISCONNECTED, operating while connected with more than 1 W
 * flowing, in fault while a 2030.5 DER fault alarm is raised. */
void ge_telemetry_states(const ge_der_caps_t *caps, const ge_telemetry_t *tel, uint32_t *pv, uint32_t *battery,
                         uint32_t *ev);

/* --- the driver interface ------------------------------------------------------------------- */

/* What a device maker implements.  STATE is the driver's own object, created by open().
 * Ownership: the stack never frees STATE except through close(). */
typedef struct ge_adapter_ops {
    const char *name; /* "sim", "sunspec", ... */
    /* Create the driver's state from CONFIG (driver-specific "key=value" pairs separated by
     * spaces or commas; may be NULL).  MEM may be NULL (malloc); LOG may be NULL. */
    int (*open)(void **state, const ge_mem_t *mem, const ge_log_t *log, const char *config);
    void (*close)(void *state);
    int (*capabilities)(void *state, ge_der_caps_t *out);
    int (*read)(void *state, ge_telemetry_t *out);
    /* Apply SP.  Fields whose bits the device cannot apply are ignored and their bits are put in
     * *UNSUPPORTED (may be NULL); that is not an error. */
    int (*apply)(void *state, const ge_setpoint_t *sp, uint32_t *unsupported);
    /* Advance to NOW (unix seconds).  NULL for drivers of real devices that need no clock. */
    int (*step)(void *state, double now);
} ge_adapter_ops_t;

/* A driver bound to its state (caller-allocated). */
typedef struct ge_adapter {
    const ge_adapter_ops_t *ops;
    void *state;
} ge_adapter_t;

/* The built-in drivers by name ("sim"); NULL if unknown. */
const ge_adapter_ops_t *ge_adapter_find(const char *name);

/* Thin wrappers that check arguments and the driver's output (telemetry with NaN or impossible
 * signs gives GE_ERR_DEVICE, so garbage from a driver never reaches the protocol engines). */
int ge_adapter_open(ge_adapter_t *ad, const ge_adapter_ops_t *ops, const ge_mem_t *mem,
                    const ge_log_t *log, const char *config);
void ge_adapter_close(ge_adapter_t *ad);
int ge_adapter_capabilities(const ge_adapter_t *ad, ge_der_caps_t *out);
int ge_adapter_read(const ge_adapter_t *ad, ge_telemetry_t *out);
int ge_adapter_apply(const ge_adapter_t *ad, const ge_setpoint_t *sp, uint32_t *unsupported);
int ge_adapter_step(const ge_adapter_t *ad, double now);

/* An empty setpoint (nothing set: battery idle, no limits). */
void ge_setpoint_init(ge_setpoint_t *sp);

/* Copy into DST the fields of SRC whose bits are in MODES and set in SRC, and set those bits in
 * DST.  With GE_SP_* bits as the scheduler's modes, merging each active control's setpoint with
 * the modes it won (ge_sched_active_t.modes) gives the utility's combined control. */
void ge_setpoint_merge(ge_setpoint_t *dst, const ge_setpoint_t *src, uint32_t modes);

/* --- the simulated home ("sim") ------------------------------------------------------------- */

/* Defaults are the numbers of CLI-CONTRACT.md: PV 5 kW peak, battery 13.5 kWh / 5 kW charge and
 * discharge starting at 50 %, EV charger 7.2 kW, house load around 1 kW. */
typedef struct ge_sim_config {
    uint64_t seed;          /* clouds, EV arrivals, load noise */
    double latitude_deg;    /* default 37.8 */
    double longitude_deg;   /* default -122.3; sets local solar time */
    double utc_offset_s;    /* local clock - UTC for the house and EV habits; default from longitude */
    double pv_peak_w;       /* 5000 */
    double battery_wh;      /* 13500 */
    double battery_max_w;   /* 5000 (charge and discharge) */
    double soc_start_pct;   /* 50 */
    double round_trip_eff;  /* 0.90 */
    double ev_max_w;        /* 7200 */
    double house_mean_w;    /* about 1000 */
    double ev_probability;  /* chance an EV comes home on a given day, 0.8 */
} ge_sim_config_t;

typedef struct ge_sim ge_sim_t;

void ge_sim_config_default(ge_sim_config_t *cfg);
/* Set one option by name ("seed", "latitude", "longitude", "soc", ...) from text. */
int ge_sim_config_set(ge_sim_config_t *cfg, const char *key, const char *value);

int ge_sim_new(ge_sim_t **out, const ge_mem_t *mem, const ge_sim_config_t *cfg);
void ge_sim_free(ge_sim_t *sim);
/* The first step sets the clock; later ones integrate from the previous `now` to NOW (a NOW
 * before the previous one restarts the clock there without integrating). */
int ge_sim_step(ge_sim_t *sim, double now);
int ge_sim_apply(ge_sim_t *sim, const ge_setpoint_t *sp, uint32_t *unsupported);
int ge_sim_read(const ge_sim_t *sim, ge_telemetry_t *out);
int ge_sim_capabilities(const ge_sim_t *sim, ge_der_caps_t *out);

/* The simulated site's devices switched off or tripped (ge_sim_set_devices()), as its fault file
 * names them: "pv_off", "battery_off", "ev_off" (switched off: 0 W, neither connected nor
 * available) and "pv_fault", "battery_fault", "ev_fault" (tripped on a fault of its own: 0 W, in
 * fault). */
enum ge_sim_device_fault {
    GE_SIM_PV_OFF = 1u << 0,
    GE_SIM_BATTERY_OFF = 1u << 1,
    GE_SIM_EV_OFF = 1u << 2,
    GE_SIM_PV_FAULT = 1u << 3,
    GE_SIM_BATTERY_FAULT = 1u << 4,
    GE_SIM_EV_FAULT = 1u << 5
};

/* The words of a fault file (separated as for ge_alarms_parse): the 2030.5 DER alarms into *ALARMS,
 * the device words above into *DEVICES.  Returns how many words are neither (the first one into
 * UNKNOWN, cut to UNKNOWN_SIZE, when UNKNOWN is not NULL). */
int ge_sim_faults_parse(const char *text, uint32_t *alarms, uint32_t *devices, char *unknown, size_t unknown_size);

/* Switch the devices DEVICES names (ge_sim_device_fault bits) off or trip them, and the others back
 * on, from the next step on. */
int ge_sim_set_devices(ge_sim_t *sim, uint32_t devices);

/* The clear-sky-times-clouds PV power available at NOW (before any control), for tests/plots. */
double ge_sim_pv_available(const ge_sim_t *sim, double now);

/* The sim as a driver: config "seed=42 latitude=37.8 soc=50 ..." (keys of ge_sim_config_set). */
const ge_adapter_ops_t *ge_sim_adapter(void);

/* The SunSpec Modbus TCP driver (builds with libmodbus; docs/sunspec.md): config
 * "host=10.0.0.5 port=502 unit=1 timeout_ms=1000 [base=40000] [lazy=1]". */
const ge_adapter_ops_t *ge_sunspec_adapter(void);

#ifdef __cplusplus
}
#endif
#endif
