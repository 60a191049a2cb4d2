/* sep_internal.h - shared between the 2030.5 engine's files: a control as the engine keeps it, the
 * mapping of DERControlBase onto setpoints, and the messages the client sends. */
#ifndef STACK_SEP_INTERNAL_H
#define STACK_SEP_INTERNAL_H

#include <stdint.h>

#include <gridedge/adapter.h>
#include <gridedge/buf.h>
#include <gridedge/sep.h>
#include <gridedge/xml_sep.h>

/* A DERControl or DefaultDERControl, reduced to what the device needs. */
typedef struct sep_ctl {
    int used;
    char mrid[SEP_MRID_HEX + 1];
    uint32_t program_no;
    unsigned gen;                 /* list refresh that last carried it */
    uint32_t modes;               /* GE_SP_* bits it sets */
    ge_setpoint_t sp;             /* the values, in device terms (battery_w resolved later for opModFixedW) */
    int fixed_w;                  /* opModFixedW given: battery_w = fixed_pct % of the battery's rating */
    double fixed_pct;
    char reply_to[SEP_PATH_MAX];
    uint8_t response_required;    /* 2030.5 responseRequired bits */
    int16_t curve[GE_CURVE_TYPES]; /* the client's curve slot + 1 per DERCurveType (0: none) */
    int csip_aus;                 /* it uses a CSIP-AUS (csipaus namespace) mode */
} sep_ctl_t;

/* W of a 2030.5 ActivePower (value x 10^multiplier). */
double sep__power_w(const sep_ActivePower_t *p);

/* Read a DERControlBase into CTL's modes and setpoint. */
void sep__control_base(const sep_DERControlBase_t *b, sep_ctl_t *ctl);

/* CSIP-AUS Annex C (AS/NZS 4755 demand response): the DRM (1..8) that opModFixedW FIXED_W
 * (SignedPerCent, hundredths of a percent) commands: the nearest of the documented points.  An
 * opModConnect false is DRM 0.  DERStatus.operationalModeStatus reports SEP_DRM_STATUS_BASE + DRM. */
int sep__drm_of_fixed_w(int fixed_w);
#define SEP_DRM_STATUS_BASE 100
/* The DRM argument of sep__ders_xml() when no DRM is in force: demand response off (the device's
 * own operational mode, 1 or 2), or on with none in force (operationalModeStatus left out). */
enum { SEP_DRM_OFF = -2, SEP_DRM_NONE = -1 };

/* The DERCurve links of B by 2030.5 DERCurveType (NULL where none). */
void sep__curve_links(const sep_DERControlBase_t *b, const sep_DERCurveLink_t *out[GE_CURVE_TYPES]);
/* The GE_SP_* bit of curve type CT, and where a setpoint keeps that curve. */
uint32_t sep__curve_mode(int ct);
ge_curve_t *sep__curve_slot(ge_setpoint_t *sp, int ct);
/* A DERCurve as device values; its curveType, or GE_ERR_INVALID with WHY filled. */
int sep__curve_read(const sep_DERCurve_t *d, ge_curve_t *out, char *why, size_t why_size);

/* CTL's setpoint with what depends on the device's ratings resolved. */
void sep__control_setpoint(const sep_ctl_t *ctl, const ge_der_caps_t *caps, ge_setpoint_t *out);

/* The XML bodies the client sends (appended to OUT), in SCHEMA's namespace URIs: ge_xml_schema_sep,
 * or ge_xml_schema_sep_alt once CSIP-AUS v1.3 is negotiated. */
/* A Response with STATUS for MRID, as ROOT: "DERControlResponse" (to a DERControl) or "PriceResponse"
 * (2030.5 §10.6: to a TimeTariffInterval). */
int sep__response_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *root, const char *lfdi, const char *mrid,
                      int status, int64_t created);
/* STORAGE (CSIP-AUS v1.3 negotiated, a DER with a battery): also the storage extension's fields
 * (vppModesSupported/Enabled, setMinWh) and the ratings the storage procedures read (VA, var, PF). */
int sep__dercap_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int csip_aus, int storage);
/* SET_GRAD_W: the default ramp rate in force (hundredths of a percent of setMaxW per second; 0: ours). */
int sep__derg_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int64_t now, int csip_aus,
                  unsigned set_grad_w, int storage);
/* CSIP-AUS ConnectionPoint with connectionPointId ID; our EndDevice for in-band registration. */
int sep__connection_point_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *id);
/* DEVICE_CATEGORY: its deviceCategory bits (0: left out); sep__device_category() gives the DER's. */
int sep__end_device_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *lfdi, uint64_t sfdi, int64_t now,
                        uint32_t device_category);
uint32_t sep__device_category(const ge_der_caps_t *caps);
/* DRM: SEP_DRM_OFF (operationalModeStatus 1 or 2 from the devices, alarmStatus only when an alarm
 * is raised), or demand response on: SEP_DRM_NONE (operationalModeStatus left out) or the DRM 0..8
 * in force (operationalModeStatus 100 + DRM), and alarmStatus always (0: no alarm). */
int sep__ders_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, const ge_telemetry_t *tel,
                  int64_t now, int drm);
int sep__dera_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, const ge_telemetry_t *tel, int64_t now);

/* Metering mirror (2030.5 §10.10): the site meter, or the DER. */
enum { SEP_MIRROR_SITE = 0, SEP_MIRROR_DER = 1 };

/* A MirrorUsagePoint for WHICH with mRID MRID (hex): with each MirrorMeterReading's ReadingType when
 * CREATE (the POST to the list), and with the readings of TEL taken at NOW.  STORAGE: the DER's
 * mirror also carries the energy stored in its battery (CSIP-AUS v1.3 storage extension). */
int sep__mirror_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int which, const char *lfdi, const char *mrid, const ge_telemetry_t *tel,
                    int64_t now, int create, int storage);

int sep__hex_bytes(const char *s, uint8_t *out, size_t max);
/* B as uppercase hex into OUT (SIZE bytes, cut to fit). */
void sep__hex_upper(const ge_xml_bytes_t *b, char *out, size_t size);
/* SRC (NULL: "") into DST (SIZE bytes), cut to fit. */
void sep__copy_str(char *dst, size_t size, const char *src);

/* The adapter alarms that are 2030.5 DER faults (DERStatus alarmStatus, DER LogEvents). */
#define SEP_FAULT_ALARMS (((1u << GE_ALARM_SEP_BITS) - 1) << 5)
/* The IEEE 2030.5 Private Enterprise Number (logEventPEN of the 2030.5-defined LogEvents). */
#define SEP_IEEE_PEN 40732u

/* A DER LogEvent for alarmStatus bit BIT (a fault that was raised), with logEventID ID. */
int sep__logevent_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int bit, uint16_t id, int64_t created);

/* A Subscription to RESOURCE with notifications to NOTIFY_URI (lists: at most LIMIT items). */
int sep__subscription_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *resource, const char *notify_uri, uint32_t limit);

/* The save format's bytes of a structure (client.c): hex, a run of three or more zero bytes as "_N.".
 * GET reads TEXT into exactly N bytes at OUT: 0, or -1 (bad text, or not N bytes). */
int sep__put_bytes(ge_buf_t *out, const void *data, size_t n);
int sep__get_bytes(const char *text, void *out, size_t n);

/* ---- pricing (pricing.c): what the tariff documents say, kept between reads ----------------------- */

typedef struct sep_pricing sep_pricing_t;

/* What pricing asks the client to read (sep__prc_follow_fn): the resource kinds it owns. */
enum { SEP_PRC_TP_LIST, SEP_PRC_TTI_LIST, SEP_PRC_RC_LIST, SEP_PRC_RC, SEP_PRC_RT };

/* Follow HREF as WHAT (keeping the poll rate of one already followed; POLL_S for a new one); DUE:
 * read it now.  UNFOLLOW: stop reading it.  The client's watch machinery does the reading and
 * hands each document back through the sep__prc_on_* functions. */
typedef struct sep_prc_hooks {
    void (*follow)(void *ud, int what, const char *href, uint32_t poll_s, int due, double now);
    void (*unfollow)(void *ud, int what, const char *href);
    void *ud;
    const ge_log_t *log;
} sep_prc_hooks_t;

int sep__prc_new(sep_pricing_t **out, const ge_mem_t *mem, const sep_prc_hooks_t *hooks);
void sep__prc_free(sep_pricing_t *p, const ge_mem_t *mem);

/* A page of a list read at HREF (FIRST: its first page, LAST: its last; a full read of the list ends
 * with LAST), at local time NOW; POLL_S is the list's poll rate. */
void sep__prc_on_tp_list(sep_pricing_t *p, const char *href, const sep_TariffProfileList_t *l, uint32_t poll_s,
                         int first, int last, double now);
void sep__prc_on_rc_list(sep_pricing_t *p, const char *href, const sep_RateComponentList_t *l, int first, int last,
                         double now);
void sep__prc_on_tti_list(sep_pricing_t *p, const char *href, const sep_TimeTariffIntervalList_t *l, int first,
                          int last, double now);
void sep__prc_on_rc(sep_pricing_t *p, const char *href, const sep_RateComponent_t *rc, double now);
void sep__prc_on_rt(sep_pricing_t *p, const char *href, const sep_ReadingType_t *rt);
/* The resource WHAT at HREF answered 404: a RateComponent is gone (its intervals price nothing). */
void sep__prc_gone(sep_pricing_t *p, int what, const char *href);

/* A PriceResponse due at server time SNOW: 1 with the interval's mRID, the status and replyTo; 0 if
 * none.  Statuses not asked for (responseRequired) are marked sent here and never come out. */
int sep__prc_next_response(sep_pricing_t *p, char mrid[SEP_MRID_HEX + 1], int *status, char reply_to[SEP_PATH_MAX]);
/* Response STATUS for interval MRID is sent: never again.  0, or GE_ERR_NOTFOUND (no such interval). */
int sep__prc_mark_sent(sep_pricing_t *p, const char *mrid, int status);

/* Across restarts (sep_client_save(), sep_client_restore()): SAVE appends the documents read as
 * lines "Q ..." to OUT.  RESTORE_LINE reads one such line, split into fields F[0..N) (F[0] "Q", escapes
 * decoded), into STAGE, an empty sep_pricing_t from sep__prc_new(): 0, or -1 with WHY; lines written
 * by a build with other tables are skipped.  RESTORE takes STAGE's documents into P unless P has
 * read a TariffProfile since start; the number of TimeTariffIntervals taken. */
int sep__prc_save(const sep_pricing_t *p, ge_buf_t *out);
int sep__prc_restore_line(sep_pricing_t *stage, char *const *f, size_t n, const char **why);
int sep__prc_restore(sep_pricing_t *p, const sep_pricing_t *stage);

/* The prices in force at server time SNOW. */
void sep__prc_price(const sep_pricing_t *p, int64_t snow, sep_price_t *out);
void sep__prc_counts(const sep_pricing_t *p, unsigned long *intervals, unsigned long *rate_components);

#endif
