/* gridedge/oadr.h - the OpenADR 2.0b VEN engine (B profile, simple HTTP pull), sans I/O.
 *
 * The engine never touches a socket, a clock, a file or a random source.  The caller drives it,
 * as it drives the IEEE 2030.5 client (gridedge/sep.h):
 *
 *   oadr_ven_next_request()  asks what to POST now (every 2.0b message is an oadrPayload POSTed to
 *                            one of the VTN's services: EiRegisterParty, OadrPoll, EiEvent);
 *   oadr_ven_response()      hands back the VTN's answer to one of them (status and body);
 *   oadr_ven_control()       gives the SIMPLE level and the price in force now, and the events;
 *   oadr_ven_next_wakeup()   says when to call again at the latest.
 *
 * What it does (OpenADR 2.0b Profile Specification §8 and §9): registration (oadrQueryRegistration,
 * then oadrCreatePartyRegistration for profile 2.0b over simpleHttp, pull; the VTN's
 * oadrCreatedPartyRegistration gives venID, registrationID and oadrRequestedOadrPollFreq), then
 * oadrRequestEvent once and oadrPoll at the requested frequency.  Every payload a poll returns is
 * handled: oadrResponse (nothing to do), oadrDistributeEvent (events: far, near, active, completed,
 * cancelled; modificationNumber; SIMPLE and ELECTRICITY_PRICE signals with their xcal intervals;
 * responseRequired always -> one oadrCreatedEvent optIn per (eventID, modificationNumber), never ->
 * none; events no longer in the VTN's list are cancelled locally), oadrRequestReregistration
 * (oadrResponse, then register again) and oadrCancelPartyRegistration (oadrCanceledPartyRegistration,
 * then register afresh).  Report payloads (oadrCreateReport, oadrRegisterReport, ...) are answered
 * with an oadrResponse 501 to EiReport: EiReport, EiOpt, push mode and TLS come later.
 *
 * Time: event times are the VTN's (xcal dtstart in UTC).  2.0b has no time service, so the
 * engine schedules in `now + offset` where the offset is 0 unless the caller sets one
 * (oadr_ven_set_time_offset), e.g. from an NTP check. */
#ifndef GRIDEDGE_OADR_H
#define GRIDEDGE_OADR_H

#include <stddef.h>
#include <stdint.h>

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
} oadr_ven_config_t;

/* What a request carries. */
typedef enum oadr_msg_kind {
    OADR_MSG_QUERY_REGISTRATION = 1,
    OADR_MSG_CREATE_PARTY_REGISTRATION,
    OADR_MSG_REQUEST_EVENT,
    OADR_MSG_POLL,
    OADR_MSG_CREATED_EVENT,
    OADR_MSG_RESPONSE,
    OADR_MSG_CANCELED_PARTY_REGISTRATION
} oadr_msg_kind;

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
} oadr_request_t;

/* One event in force now (for status reporting). */
typedef struct oadr_active_event {
    char id[OADR_ID_MAX];
    int has_level;
    double level;             /* SIMPLE level of the current interval */
    int has_price;
    double price;             /* ELECTRICITY_PRICE of the current interval */
    int64_t start, end;       /* VTN time, unix s (end INT64_MAX: open-ended) */
} oadr_active_event_t;

typedef struct oadr_control {
    int has_level;            /* a SIMPLE signal is in force */
    double level;             /* 0..3 */
    int has_price;
    double price;             /* per kWh */
    oadr_active_event_t active[OADR_MAX_ACTIVE];
    size_t n_active;
} oadr_control_t;

typedef struct oadr_ven_stats {
    unsigned long requests, responses, errors, bad_documents;
    unsigned long polls, created_events, events_known;
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

/* xs:dateTime (as xcal date-time) -> unix seconds; xs:duration (xcal, "PT1H", "-P1DT2M") ->
 * seconds.  0, or GE_ERR_PARSE. */
int oadr_parse_datetime(const char *s, int64_t *out);
int oadr_parse_duration(const char *s, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
