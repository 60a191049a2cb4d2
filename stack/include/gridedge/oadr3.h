/* gridedge/oadr3.h - the OpenADR 3.0 VEN engine (REST/JSON, OpenADR 3.0.1 API), sans I/O.
 *
 * Like the 2.0b engine (gridedge/oadr.h) it never touches a socket, a clock, a file or a random
 * source.  The caller drives it:
 *
 *   oadr3_ven_next_request()  what to send now (method, path, body, the Authorization header);
 *   oadr3_ven_response()      the VTN's answer to it (HTTP status and JSON body);
 *   oadr3_ven_notification()  a subscription callback the VTN POSTed to our webhook;
 *   oadr3_ven_control()       the SIMPLE level, prices and capacity limits in force now;
 *   oadr3_ven_next_wakeup()   when to call again at the latest.
 *
 * What it does (OpenADR 3.0.1 API):
 *  - auth: an OAuth2 client-credentials token (POST BASE/auth/token, form-encoded grant_type,
 *    client_id, client_secret) or a fixed token, sent as "Authorization: Bearer TOKEN"; fetched
 *    again before expires_in runs out and whenever the VTN answers 401 or 403;
 *  - registration: GET /vens?venName=NAME, else POST /vens; then the VEN's resources
 *    (GET /vens/{id}/resources, POST those missing);
 *  - polling: GET /programs?skip=&limit= page by page, then GET /events?programID=&skip=&limit= for
 *    each program, until a page comes back shorter than the limit; a completed round replaces
 *    what is known (an event no longer listed stops applying, a changed one replaces the old);
 *  - events: intervals (event intervalPeriod as the default, each interval's own intervalPeriod
 *    overriding; intervals without one follow each other), payloads SIMPLE, PRICE, EXPORT_PRICE,
 *    IMPORT_CAPACITY_LIMIT, EXPORT_CAPACITY_LIMIT (others logged, not acted on); priority (lower
 *    wins); randomizeStart drawn from (seed, eventID);
 *  - reports: for an event with reportDescriptors, POST /reports once the event has started, then
 *    PUT /reports/{id} each poll period while it runs and once after it ends;
 *  - subscriptions (when a callback URL is configured): POST /subscriptions per program with the
 *    webhook; notifications update events at once; a refused subscription falls back to polling;
 *    oadr3_ven_shutdown() deletes them.
 * Bad input (malformed JSON, wrong types, impossible intervals) is logged naming the request and
 * the JSON path, and ignored: the last good state is kept. */
#ifndef GRIDEDGE_OADR3_H
#define GRIDEDGE_OADR3_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OADR3_ID_MAX 129        /* objectID: at most 128 characters */
#define OADR3_PATH_MAX 1024
#define OADR3_MAX_PROGRAMS 64
#define OADR3_MAX_EVENTS 64
#define OADR3_MAX_INTERVALS 48
#define OADR3_MAX_ACTIVE 8
#define OADR3_MAX_RESOURCES 8

typedef struct oadr3_ven oadr3_ven_t;

typedef struct oadr3_ven_config {
    const char *base_path;      /* the VTN's REST base path, e.g. "/openadr3" */
    const char *ven_name;       /* venName (and clientName of reports and subscriptions) */
    const char *client_id;      /* OAuth2 client credentials, or */
    const char *client_secret;
    const char *token;          /* a fixed bearer token (NULL with neither: no Authorization) */
    const char *token_path;     /* NULL: BASE/auth/token */
    const char *callback_url;   /* webhook for subscriptions; NULL: poll only */
    const char *callback_token; /* the bearerToken the VTN is to present to the webhook (may be NULL) */
    const char *target_type;    /* optional query filter: targetType=..&targetValues=.. */
    const char *target_values;  /* comma-separated */
    const char *const *resources; /* resource names to register under the VEN */
    size_t n_resources;
    unsigned poll_s;            /* 0: 10 s */
    unsigned page_limit;        /* 0: 50 (the API's maximum) */
    uint64_t seed;              /* randomizeStart draws */
    const ge_log_t *log;        /* NULL: silent */
} oadr3_ven_config_t;

typedef enum oadr3_req_kind {
    OADR3_REQ_TOKEN = 1,
    OADR3_REQ_FIND_VEN,
    OADR3_REQ_CREATE_VEN,
    OADR3_REQ_LIST_RESOURCES,
    OADR3_REQ_CREATE_RESOURCE,
    OADR3_REQ_PROGRAMS,
    OADR3_REQ_EVENTS,
    OADR3_REQ_SUBSCRIBE,
    OADR3_REQ_UNSUBSCRIBE,
    OADR3_REQ_CREATE_REPORT,
    OADR3_REQ_UPDATE_REPORT
} oadr3_req_kind;

/* One request the engine wants sent.  Strings belong to the engine and stay valid until
 * oadr3_ven_response() for the same id (or oadr3_ven_free()). */
typedef struct oadr3_request {
    uint32_t id;
    oadr3_req_kind kind;
    const char *method;         /* GET, POST, PUT, DELETE */
    const char *path;           /* with the query string */
    const char *content_type;   /* of BODY, or NULL without one */
    const char *authorization;  /* the Authorization header's value, or NULL */
    const char *body;
    size_t body_len;
} oadr3_request_t;

/* What the site is doing, for reports. */
typedef struct oadr3_telemetry {
    double site_w, pv_w, battery_w, soc_pct, ev_w;
} oadr3_telemetry_t;

typedef struct oadr3_active_event {
    char id[OADR3_ID_MAX];
    char kind[32];              /* the payload type acted on: SIMPLE, PRICE, ... */
    double value;
    int64_t start, end;         /* the interval in force (VTN time; end INT64_MAX: open) */
} oadr3_active_event_t;

typedef struct oadr3_control {
    int has_level;
    double level;               /* SIMPLE 0..3 */
    int has_price;
    double price;               /* PRICE per kWh */
    int has_export_price;
    double export_price;
    int has_import_limit;
    double import_limit_w;      /* IMPORT_CAPACITY_LIMIT in W */
    int has_export_limit;
    double export_limit_w;      /* EXPORT_CAPACITY_LIMIT in W */
    oadr3_active_event_t active[OADR3_MAX_ACTIVE];
    size_t n_active;
} oadr3_control_t;

typedef struct oadr3_ven_stats {
    unsigned long requests, responses, errors, bad_documents, tokens, polls, reports, notifications;
    size_t programs, events, subscriptions;
    int have_token;
    char ven_id[OADR3_ID_MAX];
} oadr3_ven_stats_t;

int oadr3_ven_new(oadr3_ven_t **out, const oadr3_ven_config_t *cfg);
void oadr3_ven_free(oadr3_ven_t *v);

/* The next request at NOW (local clock, unix s): 1 and *REQ filled, or 0.  One at a time. */
int oadr3_ven_next_request(oadr3_ven_t *v, double now, oadr3_request_t *req);

/* The answer to request ID: STATUS (0: none came), BODY (JSON, may be NULL) and the Location
 * header (may be NULL). */
int oadr3_ven_response(oadr3_ven_t *v, uint32_t id, int status, const char *location, const void *body,
                       size_t len, double now);

/* A notification POSTed to the webhook: the HTTP status to answer (200, or 400 for a bad one). */
int oadr3_ven_notification(oadr3_ven_t *v, const void *body, size_t len, double now);

/* Stop: delete the subscriptions (next_request yields the DELETEs, then nothing). */
void oadr3_ven_shutdown(oadr3_ven_t *v);
/* 1 once nothing is left to send after oadr3_ven_shutdown(). */
int oadr3_ven_done(const oadr3_ven_t *v);

void oadr3_ven_set_telemetry(oadr3_ven_t *v, const oadr3_telemetry_t *t);

/* The VTN's clock is the local clock plus OFFSET (default 0). */
void oadr3_ven_set_time_offset(oadr3_ven_t *v, double offset);
double oadr3_ven_server_time(const oadr3_ven_t *v, double now);

int oadr3_ven_control(oadr3_ven_t *v, double now, oadr3_control_t *out);
double oadr3_ven_next_wakeup(const oadr3_ven_t *v, double now);
void oadr3_ven_stats(const oadr3_ven_t *v, oadr3_ven_stats_t *out);

/* Parse one event object (JSON text) as the engine would: 0, or GE_ERR_PARSE with WHY filled
 * ("intervals[1].intervalPeriod.start: not a date-time").  For tests and tools. */
int oadr3_check_event(const char *json, size_t len, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
