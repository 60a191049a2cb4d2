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
int sep__response_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *lfdi, const char *mrid, int status, int64_t created);
/* STORAGE (CSIP-AUS v1.3 negotiated, a DER with a battery): also the storage extension's fields
 * (vppModesSupported/Enabled, setMinWh) and the ratings the storage procedures read (VA, var, PF). */
int sep__dercap_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int csip_aus, int storage);
/* SET_GRAD_W: the default ramp rate in force (hundredths of a percent of setMaxW per second; 0: ours). */
int sep__derg_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, int64_t now, int csip_aus,
                  unsigned set_grad_w, int storage);
/* CSIP-AUS ConnectionPoint with connectionPointId ID; our EndDevice for in-band registration. */
int sep__connection_point_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *id);
int sep__end_device_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *lfdi, uint64_t sfdi, int64_t now);
int sep__ders_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_telemetry_t *tel, int64_t now);
int sep__dera_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const ge_der_caps_t *caps, const ge_telemetry_t *tel, int64_t now);

/* Metering mirror (2030.5 §10.10): the site meter, or the DER. */
enum { SEP_MIRROR_SITE = 0, SEP_MIRROR_DER = 1 };

/* A MirrorUsagePoint for WHICH with mRID MRID (hex): with each MirrorMeterReading's ReadingType when
 * CREATE (the POST to the list), and with the readings of TEL taken at NOW.  STORAGE: the DER's
 * mirror also carries the energy stored in its battery (CSIP-AUS v1.3 storage extension). */
int sep__mirror_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int which, const char *lfdi, const char *mrid, const ge_telemetry_t *tel,
                    int64_t now, int create, int storage);

int sep__hex_bytes(const char *s, uint8_t *out, size_t max);

/* The adapter alarms that are 2030.5 DER faults (DERStatus alarmStatus, DER LogEvents). */
#define SEP_FAULT_ALARMS (((1u << GE_ALARM_SEP_BITS) - 1) << 5)
/* The IEEE 2030.5 Private Enterprise Number (logEventPEN of the 2030.5-defined LogEvents). */
#define SEP_IEEE_PEN 40732u

/* A DER LogEvent for alarmStatus bit BIT (a fault that was raised), with logEventID ID. */
int sep__logevent_xml(const ge_xml_schema_t *schema, ge_buf_t *out, int bit, uint16_t id, int64_t created);

/* A Subscription to RESOURCE with notifications to NOTIFY_URI (lists: at most LIMIT items). */
int sep__subscription_xml(const ge_xml_schema_t *schema, ge_buf_t *out, const char *resource, const char *notify_uri, uint32_t limit);

#endif
