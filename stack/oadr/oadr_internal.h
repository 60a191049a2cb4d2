/* oadr_internal.h - what the OpenADR 2.0b VEN's files share inside the library: the payload
 * writers of messages.c (each appends one oadrPayload to OUT; 0 or a negative ge_err). */
#ifndef STACK_OADR_INTERNAL_H
#define STACK_OADR_INTERNAL_H

#include <stdint.h>

#include <gridedge/arena.h>
#include <gridedge/buf.h>
#include <gridedge/xml_oadr20b.h>

#define OADR__SCHEMA_VERSION "2.0b"

int oadr__query_registration_xml(ge_buf_t *out, const char *request_id);
int oadr__create_party_registration_xml(ge_buf_t *out, const char *request_id, const char *ven_id,
                                        const char *registration_id, const char *ven_name,
                                        const char *transport_address, int xml_signature);
int oadr__request_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id);
int oadr__poll_xml(ge_buf_t *out, const char *ven_id);
int oadr__created_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id, const char *event_id,
                            uint32_t modification, const char *code, const char *opt);
int oadr__response_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                       const char *ven_id);
int oadr__cancel_party_registration_xml(ge_buf_t *out, const char *request_id, const char *registration_id,
                                        const char *ven_id);
int oadr__canceled_party_registration_xml(ge_buf_t *out, const char *code, const char *request_id,
                                          const char *registration_id, const char *ven_id);

/* ---- EiReport: what the VEN offers (its METADATA) ------------------------------------------------------ */

/* What a data point measures. */
typedef enum oadr__measure { OADR__M_POWER, OADR__M_ENERGY, OADR__M_STATUS } oadr__measure;

typedef struct oadr__point {
    const char *rid;
    oadr__measure what;
} oadr__point_t;

/* The reports the VEN offers, by index: OADR__RPT_*. */
enum { OADR__RPT_TELEMETRY_USAGE, OADR__RPT_TELEMETRY_STATUS, OADR__RPT_HISTORY_USAGE, OADR__RPT_COUNT };

typedef struct oadr__report_def {
    const char *name;     /* reportName of the data, e.g. TELEMETRY_USAGE (METADATA_ prefixed in metadata) */
    const char *spec_id;  /* our reportSpecifierID */
    const oadr__point_t *points;
    size_t n_points;
} oadr__report_def_t;

extern const oadr__report_def_t oadr__reports[OADR__RPT_COUNT];

/* Index of the report with reportSpecifierID SPEC, or -1; of point RID in report R, or -1. */
int oadr__report_find(const char *spec);
int oadr__point_find(int r, const char *rid);

/* One value of an oadrUpdateReport interval. */
typedef struct oadr__value {
    const char *rid;
    oadr__measure what;
    int good;             /* 0: no value for that interval (oadrDataQuality says so) */
    double value;         /* power W, energy Wh */
    int online, manual_override;
    int has_soc;
    double soc_pct;
} oadr__value_t;

typedef struct oadr__interval {
    int64_t start, dur;
    size_t first, n;      /* its values: vals[first .. first + n) */
} oadr__interval_t;

typedef struct oadr__update {
    int report;           /* OADR__RPT_* */
    const char *report_request_id, *report_id;
    int64_t created, start, dur;
    const oadr__interval_t *iv;
    size_t n_iv;
    const oadr__value_t *vals;
} oadr__update_t;

/* unix seconds -> xcal date-time (UTC, "Z"); seconds -> xs:duration ("PT90S"). */
void oadr__format_datetime(int64_t t, char out[32]);
void oadr__format_duration(int64_t s, char out[32]);

/* The VEN's METADATA reports (all of oadr__reports) answering REPORT_REQUEST_ID ("0" unasked);
 * HZ and VOLTS describe the site's AC supply. */
int oadr__register_report_xml(ge_buf_t *out, ge_arena_t *a, const char *request_id, const char *ven_id,
                              const char *report_request_id, int64_t created, double hz, double volts);
int oadr__update_report_xml(ge_buf_t *out, ge_arena_t *a, const char *request_id, const char *ven_id,
                            const oadr__update_t *u);
/* oadrCreatedReport / oadrCanceledReport: the answer and the report requests still pending. */
int oadr__created_report_xml(ge_buf_t *out, int canceled, const char *code, const char *description,
                             const char *request_id, const char *ven_id, const char *const *pending, size_t n_pending);
int oadr__registered_report_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                                const char *ven_id);
int oadr__updated_report_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                             const char *ven_id);

/* ---- EiOpt --------------------------------------------------------------------------------------------- */

typedef struct oadr__opt {
    const char *opt_id, *opt_type, *opt_reason, *request_id, *ven_id;
    int64_t created;
    const char *event_id;     /* per-event opt (qualifiedEventID), or NULL */
    uint32_t modification;
    const int64_t *starts, *durs; /* availability windows (vavailability), N_WINDOWS of them */
    size_t n_windows;
} oadr__opt_t;

int oadr__create_opt_xml(ge_buf_t *out, ge_arena_t *a, const oadr__opt_t *o);
int oadr__cancel_opt_xml(ge_buf_t *out, const char *request_id, const char *opt_id, const char *ven_id);

#endif
