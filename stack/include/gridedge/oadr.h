/* gridedge/oadr.h - the OpenADR 2.0b VEN engine (B profile, simple HTTP pull), sans I/O.
 *
 * The engine never touches a socket, a clock, a file or a random source.  The caller drives it,
 * as it drives the IEEE 2030.5 client (gridedge/sep.h):
 *
 *   oadr_ven_next_request()  asks what to POST now (every 2.0b message is an oadrPayload POSTed to
 *                            one of the VTN's services: EiRegisterParty, OadrPoll, EiEvent, EiReport,
 *                            EiOpt);
 *   oadr_ven_response()      hands back the VTN's answer to one of them (status and body);
 *   oadr_ven_control()       gives the SIMPLE level and the price in force now, and the events;
 *   oadr_ven_next_wakeup()   says when to call again at the latest.
 *
 * What it does (OpenADR 2.0b Profile Specification §8 and §9): registration (oadrQueryRegistration,
 * then oadrCreatePartyRegistration for profile 2.0b over simpleHttp, pull; the VTN's
 * oadrCreatedPartyRegistration gives venID, registrationID and oadrRequestedOadrPollFreq), then
 * oadrRequestEvent once and oadrPoll at the requested frequency.  Every payload a poll returns is
 * handled: oadrResponse (nothing to do), oadrDistributeEvent (events: far, near, active, completed,
 * cancelled; modificationNumber; SIMPLE, ELECTRICITY_PRICE / ENERGY_PRICE, DEMAND_CHARGE, BID_PRICE,
 * LOAD_DISPATCH (setpoint or delta, W), LOAD_CONTROL (capacity, level or percent offset, setpoint)
 * and CHARGE_STATE (setpoint, %) signals with their xcal intervals; eiTarget (oadr_ven_add_target);
 * x-eiRampUp / x-eiRecovery; tolerance/startafter drawn from the seed;
 * responseRequired always -> one oadrCreatedEvent per (eventID, modificationNumber), optIn unless the
 * owner opted out, never -> none; events no longer in the VTN's list are cancelled locally), oadrRequestReregistration
 * (oadrResponse, then register again) and oadrCancelPartyRegistration (oadrCanceledPartyRegistration,
 * then register afresh), the EiReport payloads (below) and oadrResponse.  EiOpt: the owner's
 * opt-outs and availability schedules (below).  Push mode: see oadr_ven_push().
 *
 * Time: event times are the VTN's (xcal dtstart in UTC).  2.0b has no time service, so the
 * engine schedules in `now + offset` where the offset is 0 unless the caller sets one
 * (oadr_ven_set_time_offset), e.g. from an NTP check. */
#ifndef GRIDEDGE_OADR_H
#define GRIDEDGE_OADR_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/buf.h>
#include <gridedge/log.h>
#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OADR_PATH_MAX 256
#define OADR_ID_MAX 64        /* eventID, venID, registrationID kept (longer ones are refused) */
#define OADR_MAX_EVENTS 32    /* events known at once */
#define OADR_MAX_INTERVALS 48 /* intervals per signal */
#define OADR_MAX_ACTIVE 8

typedef struct oadr_ven oadr_ven_t;

typedef struct oadr_ven_config {
    const char *base_path;   /* the VTN's 2.0b base, e.g. "/OpenADR2/Simple/2.0b" */
    const char *ven_name;    /* oadrVenName */
    const char *ven_id;      /* from an earlier registration (may be NULL) */
    const char *registration_id; /* likewise */
    unsigned default_poll_s; /* when the VTN requests no poll frequency (default 60 s) */
    unsigned min_poll_s;     /* never poll faster than this (default 1 s) */
    uint64_t seed;           /* requestIDs and tolerance (startafter) draws */
    const ge_mem_t *mem;     /* NULL: malloc */
    const ge_log_t *log;     /* NULL: silent */
    /* push mode: the URL the VTN POSTs to (oadrTransportAddress, oadrHttpPullModel false); the
     * VEN then never polls and the caller hands each POST to oadr_ven_push().  NULL: pull. */
    const char *transport_address;
    /* The caller signs what the VEN sends and verifies what the VTN sends (XML signatures, see
     * gridedge/oadr_sig.h): the registration says so (oadrXmlSignature true).  The engine itself
     * neither signs nor verifies: payloads reach it verified and leave it unsigned. */
    int xml_signature;
    /* The household's tariff per kWh: the base price an ELECTRICITY_PRICE or ENERGY_PRICE signal
     * of signalType priceRelative adds its value to, and one of priceMultiplier multiplies.
     * HAS_BASE_PRICE 0: there is none, and such a signal is logged (once per event modification)
     * and not acted on; it is never taken as an absolute price.  Relative DEMAND_CHARGE and
     * BID_PRICE signals are never acted on (the engine knows no base for them). */
    int has_base_price;
    double base_price;
} oadr_ven_config_t;

/* What a request carries. */
typedef enum oadr_msg_kind {
    OADR_MSG_QUERY_REGISTRATION = 1,
    OADR_MSG_CREATE_PARTY_REGISTRATION,
    OADR_MSG_REQUEST_EVENT,
    OADR_MSG_POLL,
    OADR_MSG_CREATED_EVENT,
    OADR_MSG_RESPONSE,
    OADR_MSG_CANCELED_PARTY_REGISTRATION,
    OADR_MSG_REGISTER_REPORT,   /* the VEN's METADATA (EiReport) */
    OADR_MSG_REGISTERED_REPORT, /* answer to the VTN's oadrRegisterReport */
    OADR_MSG_CREATED_REPORT,    /* answer to oadrCreateReport (or to report requests in oadrRegisteredReport) */
    OADR_MSG_UPDATE_REPORT,     /* report data */
    OADR_MSG_CANCELED_REPORT,   /* answer to oadrCancelReport */
    OADR_MSG_UPDATED_REPORT,    /* answer to the VTN's oadrUpdateReport */
    OADR_MSG_CREATE_OPT,        /* EiOpt: an availability schedule or an opt-out of one event */
    OADR_MSG_CANCEL_OPT,
    OADR_MSG_CANCEL_PARTY_REGISTRATION /* the VEN leaves (oadr_ven_cancel_registration) */
} oadr_msg_kind;
#define OADR_MSG_KIND_LAST OADR_MSG_CANCEL_PARTY_REGISTRATION

/* One POST the engine wants sent.  Strings and the body belong to the engine and stay valid until
 * oadr_ven_response() for the same id (or oadr_ven_free()). */
typedef struct oadr_request {
    uint32_t id;
    oadr_msg_kind kind;
    const char *method;       /* always "POST" */
    const char *path;         /* e.g. "/OpenADR2/Simple/2.0b/OadrPoll" */
    const char *content_type; /* "application/xml" */
    const char *body;
    size_t body_len;
    /* OADR_MSG_CREATED_EVENT: the event and modification it answers (so the caller can keep it
     * in an outbox and tell the engine after a restart that it was sent: oadr_ven_mark_sent). */
    char event_id[OADR_ID_MAX];
    uint32_t modification;
    int opt_out;              /* OADR_MSG_CREATED_EVENT: the answer is optOut (else optIn) */
} oadr_request_t;

/* LOAD_CONTROL signal types (2.0b Profile Specification, signal table). */
typedef enum oadr_load_control {
    OADR_LC_NONE = 0,
    OADR_LC_CAPACITY,         /* x-loadControlCapacity: the load runs at this share (0..1) of its capacity */
    OADR_LC_LEVEL_OFFSET,     /* x-loadControlLevelOffset: levels from normal (0); + sheds more, as SIMPLE */
    OADR_LC_PERCENT_OFFSET,   /* x-loadControlPercentOffset: % change of the load (-20: 20 % less) */
    OADR_LC_SETPOINT          /* x-loadControlSetpoint: the load's setpoint, W (power units only) */
} oadr_load_control;

/* Where an event in force is (EiEvent x-eiRampUp / x-eiRecovery). */
typedef enum oadr_phase {
    OADR_PHASE_ACTIVE = 0,    /* between its (randomized) start and its end */
    OADR_PHASE_RAMP_UP,       /* x-eiRampUp before the start: the load shed comes in */
    OADR_PHASE_RECOVERY       /* x-eiRecovery after the end: the load shed goes out */
} oadr_phase;

/* One event in force now (for status reporting). */
typedef struct oadr_active_event {
    char id[OADR_ID_MAX];
    int has_level;
    double level;             /* SIMPLE level of the current interval */
    int has_price;
    double price;             /* ELECTRICITY_PRICE or ENERGY_PRICE of the current interval */
    int has_dispatch;
    double dispatch_w;        /* LOAD_DISPATCH in W (kW/MW scaled) */
    int dispatch_delta;       /* signalType delta: change of the site's load (else setpoint: the load) */
    int has_charge;
    double charge_pct;        /* CHARGE_STATE setpoint: battery state of charge to reach, % */
    int64_t start, end;       /* VTN time, unix s (end INT64_MAX: open-ended); ramp-up and recovery included */
    int has_demand_charge;
    double demand_charge;     /* DEMAND_CHARGE, per kW of peak demand */
    int has_bid;
    double bid_price;         /* BID_PRICE, per kWh of load reduced */
    oadr_load_control load_control; /* LOAD_CONTROL in force (OADR_LC_NONE: none) */
    double load_control_value;
    oadr_phase phase;
    double ramp;              /* share of the load shed in force: 1 while active, 0..1 in ramp-up/recovery */
} oadr_active_event_t;

/* What the events in force ask now.  In ramp-up and recovery only the load-shed signals are in
 * force, scaled by the ramp (SIMPLE level and LOAD_CONTROL level offset rounded, LOAD_DISPATCH
 * delta and LOAD_CONTROL percent offset scaled, LOAD_CONTROL capacity moved from 1 toward its
 * value); prices and setpoints hold only between start and end. */
typedef struct oadr_control {
    int has_level;            /* a SIMPLE signal is in force */
    double level;             /* 0..3 */
    int has_price;
    double price;             /* per kWh */
    int has_dispatch;         /* LOAD_DISPATCH in force */
    double dispatch_w;
    int dispatch_delta;
    int has_charge;           /* CHARGE_STATE in force */
    double charge_pct;
    oadr_active_event_t active[OADR_MAX_ACTIVE];
    size_t n_active;
    int has_demand_charge;    /* DEMAND_CHARGE in force */
    double demand_charge;
    int has_bid;              /* BID_PRICE in force */
    double bid_price;
    oadr_load_control load_control;
    double load_control_value;
} oadr_control_t;

typedef struct oadr_ven_stats {
    unsigned long requests, responses, errors, bad_documents;
    unsigned long polls, created_events, events_known;
    unsigned long reports_registered; /* oadrRegisterReport acknowledged by the VTN */
    unsigned long report_requests;    /* report requests in force now */
    unsigned long updates_sent;       /* oadrUpdateReport acknowledged */
    unsigned long opts_pending;       /* oadrCreateOpt / oadrCancelOpt not acknowledged yet */
    int registered;
    unsigned poll_s;          /* the poll period in use */
    char ven_id[OADR_ID_MAX];
    char registration_id[OADR_ID_MAX];
    char vtn_id[OADR_ID_MAX];
} oadr_ven_stats_t;

int oadr_ven_new(oadr_ven_t **out, const oadr_ven_config_t *cfg);
void oadr_ven_free(oadr_ven_t *v);

/* The next request to send at NOW: 1 and *REQ filled, or 0 when nothing is due.  One request is
 * outstanding at a time (a pull VEN's exchanges are sequential). */
int oadr_ven_next_request(oadr_ven_t *v, double now, oadr_request_t *req);

/* The VTN's answer to request ID: HTTP STATUS (0 if none came) and BODY (may be NULL or empty).
 * A malformed body is logged with its position and ignored: the VEN keeps its last good state. */
int oadr_ven_response(oadr_ven_t *v, uint32_t id, int status, const void *body, size_t len, double now);

/* Push mode: the VTN POSTed BODY to the VEN.  The answer that goes back in the same HTTP
 * exchange is appended to ANSWER (oadrResponse for oadrDistributeEvent and
 * oadrRequestReregistration, oadrCreatedReport, oadrCanceledReport, oadrRegisteredReport,
 * oadrUpdatedReport, oadrCanceledPartyRegistration for those payloads); what follows (an
 * oadrCreatedEvent, report updates) goes out through oadr_ven_next_request().  Returns the HTTP
 * status to answer with: 200, or 400 for a body that is not an oadrPayload (logged with its
 * position; nothing changes). */
int oadr_ven_push(oadr_ven_t *v, const void *body, size_t len, double now, ge_buf_t *answer);

/* The VEN leaves the VTN: oadrCancelPartyRegistration, and once the VTN's
 * oadrCanceledPartyRegistration has come, no registration, no events, no reports, and no new
 * registration either (a new engine registers afresh).  GE_ERR_STATE when not registered. */
int oadr_ven_cancel_registration(oadr_ven_t *v);

/* eiTarget: besides its venID, the VEN answers to these resourceIDs, groupIDs and partyIDs.  An
 * event (or one signal of it) whose eiTarget names venIDs, resourceIDs, groupIDs or partyIDs and
 * none of ours is not for this VEN: it is answered optOut (if a response is required) and never
 * acted on; an eiTarget naming none of these (empty, or only other kinds) targets every VEN.
 * 0, GE_ERR_INVALID, GE_ERR_LIMIT (more than OADR_MAX_TARGETS). */
#define OADR_MAX_TARGETS 16
typedef enum oadr_target_kind { OADR_TARGET_RESOURCE = 1, OADR_TARGET_GROUP, OADR_TARGET_PARTY } oadr_target_kind;
int oadr_ven_add_target(oadr_ven_t *v, oadr_target_kind kind, const char *id);

/* Persistence of what a restart must not lose besides the registration: the VTN's report
 * requests (with how far each has been reported), the opts the VEN created that the VTN has not
 * seen the end of (availability schedules, per-event opts) and the owner's opt-outs.
 * oadr_ven_save() appends a text form of them to OUT (the caller stores it when it differs from
 * the last one stored); oadr_ven_restore() takes such a text into a fresh engine, before it has
 * registered.  A text that does not parse changes nothing: GE_ERR_PARSE, logged with its line. */
int oadr_ven_save(const oadr_ven_t *v, ge_buf_t *out);
int oadr_ven_restore(oadr_ven_t *v, const char *text, size_t len);

/* After a restart: the oadrCreatedEvent for (EVENT_ID, MODIFICATION) was already sent. */
int oadr_ven_mark_sent(oadr_ven_t *v, const char *event_id, uint32_t modification);

/* The VTN's clock is the local clock plus OFFSET seconds (default 0). */
void oadr_ven_set_time_offset(oadr_ven_t *v, double offset);
double oadr_ven_server_time(const oadr_ven_t *v, double now);

/* The SIMPLE level and price in force at NOW and the events that set them. */
int oadr_ven_control(oadr_ven_t *v, double now, oadr_control_t *out);

/* Call oadr_ven_next_request() again by this local time at the latest. */
double oadr_ven_next_wakeup(const oadr_ven_t *v, double now);

void oadr_ven_stats(const oadr_ven_t *v, oadr_ven_stats_t *out);

/* ---- EiReport: what the VEN measures ---------------------------------------------------------------------
 * The VEN offers three reports (its METADATA, sent as oadrRegisterReport after registering):
 * TELEMETRY_USAGE (rID site_power: the site's real power in W, import positive; rID site_energy:
 * the imported energy register in Wh), TELEMETRY_STATUS (rID site_status: online, manual override,
 * battery state of charge as oadrCapacity 0..100) and HISTORY_USAGE (rID site_energy_history: the
 * energy register over the last 24 h).  The caller feeds the readings; the engine keeps the last
 * hour second by second and the last day minute by minute, and answers the VTN's report requests
 * (oadrCreateReport) with oadrUpdateReport at the requested granularity every reportBackDuration. */
typedef struct oadr_sample {
    double power_w;       /* real power at the point of connection, import positive */
    double energy_wh;     /* cumulative imported energy */
    int online;           /* the resource is available for control */
    int manual_override;
    int has_soc;
    double soc_pct;       /* battery state of charge, 0..100 */
    double hz, volts;     /* the AC supply (0: unknown; the metadata then says 60 Hz, 240 V) */
} oadr_sample_t;

/* The readings at NOW (call every second or so). */
int oadr_ven_sample(oadr_ven_t *v, double now, const oadr_sample_t *s);

/* ---- EiOpt ------------------------------------------------------------------------------------------------
 * oadr_ven_opt_out: the home owner opts out of event EVENT_ID, known yet or not.  Its
 * oadrCreatedEvent says optOut, and if it already went out as optIn an oadrCreateOpt (optOut,
 * qualifiedEventID, reason notParticipating) follows; the event is not acted on.
 * oadr_ven_create_opt: an availability schedule (vavailability): OPT_IN 0 means the VEN is not
 * available in those windows - events overlapping one are answered optOut and not acted on.
 * oadr_ven_cancel_opt: withdraws a schedule (oadrCancelOpt).  0, GE_ERR_INVALID, GE_ERR_LIMIT (too
 * many), GE_ERR_NOTFOUND (cancel: no such optID). */
#define OADR_MAX_OPTS 16
#define OADR_MAX_WINDOWS 8
#define OADR_MAX_OPT_OUTS 16

typedef struct oadr_opt_window {
    int64_t start;        /* VTN time, unix s */
    int64_t duration;     /* s, > 0 */
} oadr_opt_window_t;

int oadr_ven_opt_out(oadr_ven_t *v, const char *event_id);
int oadr_ven_create_opt(oadr_ven_t *v, const char *opt_id, int opt_in, const char *reason,
                        const oadr_opt_window_t *windows, size_t n);
int oadr_ven_cancel_opt(oadr_ven_t *v, const char *opt_id);
/* The optIDs of the availability schedules in force (created, not cancelled; per-event opts not
 * counted) into IDS (up to MAX; IDS may be NULL).  Returns how many there are. */
size_t oadr_ven_schedules(const oadr_ven_t *v, char (*ids)[OADR_ID_MAX], size_t max);

/* xs:dateTime (as xcal date-time) -> unix seconds; xs:duration (xcal, "PT1H", "-P1DT2M") ->
 * seconds.  0, or GE_ERR_PARSE. */
int oadr_parse_datetime(const char *s, int64_t *out);
int oadr_parse_duration(const char *s, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
