/* gridedge/sep.h - the IEEE 2030.5 (CSIP) client engine, sans I/O.
 *
 * The engine never touches a socket, a clock, a file or a random source.  The caller drives it:
 *
 *   sep_client_next_request()  asks what HTTP request to send now (GETs of the resources it
 *                              follows, PUTs of DER information, POSTs of Responses);
 *   sep_client_body()          hands over the body of an answer as it arrives, piece by piece;
 *   sep_client_response()      ends the answer to one of them (status, Location, the body or its
 *                              last piece);
 *   sep_client_set_device()    tells it the DER's ratings and latest telemetry;
 *   sep_client_control()       gives the setpoint the utility's controls ask for now, and which
 *                              controls are in force;
 *   sep_client_next_wakeup()   says when to call again at the latest.
 *
 * `now` is always the caller's clock (unix seconds, double).  The engine learns the offset to the
 * server's clock from the Time resource and schedules everything in server time (2030.5 §11.2).
 *
 * What it does: CSIP-AUS v1.3 version negotiation (/.well-known/csipaus, below), then
 * discovery from DeviceCapability (§6), following links and list paging (s, l query
 * parameters, §7.7) and honouring every resource's pollRate; finding its EndDevice by LFDI/SFDI;
 * the Registration PIN check; FunctionSetAssignments -> DERPrograms -> DERControls and
 * DefaultDERControl from every program, scheduled by gridedge/sched.h (primacy, supersession,
 * cancellation, randomization); Responses to replyTo as responseRequired asks (Table 27 status
 * codes), each once per event and status; PUTs of DERCapability, DERSettings, DERStatus and
 * DERAvailability; and, once CSIP-AUS v1.3 is negotiated, the pricing function set (below:
 * sep_client_price()). */
#ifndef GRIDEDGE_SEP_H
#define GRIDEDGE_SEP_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/adapter.h>
#include <gridedge/buf.h>
#include <gridedge/log.h>
#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEP_PATH_MAX 256
#define SEP_MRID_HEX 32 /* an mRID is 128 bits */

typedef struct sep_client sep_client_t;

/* An EndDevice an aggregator may act for. */
typedef struct sep_end_device {
    char lfdi[41];            /* 40 upper-case hex digits */
    uint64_t sfdi;
    char href[SEP_PATH_MAX];
} sep_end_device_t;

#define SEP_MAX_END_DEVICES 32 /* an aggregator client keeps at most this many */

typedef struct sep_client_config {
    const char *dcap_path;  /* the DeviceCapability resource on the server, e.g. "/dcap" */
    const char *lfdi;       /* our LFDI, 40 hex digits (from our certificate, or configured) */
    uint64_t sfdi;          /* our SFDI (36 bits + check digit) */
    uint32_t pin;           /* the Registration PIN expected (0: do not check) */
    uint64_t seed;          /* seeds randomizeStart/randomizeDuration draws */
    unsigned min_poll_s;    /* never poll faster than this (default 1 s) */
    const ge_mem_t *mem;    /* NULL: malloc */
    const ge_log_t *log;    /* NULL: silent */
    /* CSIP-AUS: the connection point (NMI) PUT to the EndDevice's csipaus:ConnectionPointLink
     * (NULL: none).  CSIP-AUS mode itself is detected: a ConnectionPointLink, or a control using a
     * csipaus mode, switches the client to it (doeModesSupported/doeModesEnabled in DERCapability and
     * DERSettings); profile SEP_PROFILE_CSIP_AUS starts in it. */
    const char *connection_point_id;
    int profile;
    /* Subscription/Notification (2030.5 §5.5.4): where our notification server listens, e.g.
     * "https://192.0.2.7:8443/ntfy".  When set, the client subscribes (through our EndDevice's
     * SubscriptionListLink) to every subscribable EndDeviceList, FunctionSetAssignmentsList,
     * DERProgramList, DERControlList and DefaultDERControl it follows, and the caller hands the
     * Notifications POSTed there to sep_client_notification().  Polling goes on regardless: a
     * notification only makes a change take effect sooner.  NULL: polling only. */
    const char *notify_uri;
    /* CSIP-AUS Annex C demand response (AS/NZS 4755 DRMs): while a control with opModConnect false
     * (DRM 0) or opModFixedW (DRM 1..8, the nearest of the documented points) is in force,
     * DERStatus.operationalModeStatus reports 100 + the DRM (left out while none is), alarmStatus
     * is always reported (0: none), a change of DRM PUTs DERStatus and DERSettings at once, and an
     * EndDevice POSTed in band carries the DER's deviceCategory.  0: none of this. */
    int demand_response;
    /* CSIP aggregator: the identity (certificate) is an aggregator's, which acts for the EndDevices
     * of several DERs.  Such a client reads the DeviceCapability, the Time and every page of the
     * EndDeviceList, and lists the EndDevices there (sep_client_end_devices()); it looks for no
     * EndDevice of its own, registers none and reports nothing.  The caller runs one client per
     * listed EndDevice, with that EndDevice's lfdi/sfdi and acts_for set. */
    int aggregator;
    /* An aggregator's own sites: EndDevices (lfdi and sfdi; href unused) it registers in band (CSIP-AUS
     * in-band registration by an aggregator client): each one a complete read of the EndDeviceList
     * lacks is POSTed there, once (as a DER client registers itself; the list is read again at once
     * after the server's 2xx with a Location), a refused one again after a backoff.  At most
     * SEP_MAX_END_DEVICES, not the aggregator's own LFDI; copied by sep_client_new(). */
    const sep_end_device_t *agg_register;
    size_t n_agg_register;
    /* The lfdi/sfdi are an EndDevice's the server lists for an aggregator, not the certificate's:
     * the client never registers it in band (it acts for it while the server lists it). */
    int acts_for;
} sep_client_config_t;

enum { SEP_PROFILE_AUTO = 0, SEP_PROFILE_CSIP = 1, SEP_PROFILE_CSIP_AUS = 2 };

/* CSIP-AUS version negotiation (CSIP-AUS v1.3).  Before its first GET of the DeviceCapability, a
 * client of profile SEP_PROFILE_AUTO or SEP_PROFILE_CSIP_AUS GETs SEP_CSIPAUS_WELL_KNOWN (Accept:
 * application/json) from the same server.  When the answer lists a DeviceCapability for v1.3 it
 * reads that one and writes CSIP-AUS v1.3's namespace in everything it sends; else for v1.2, that
 * one; else (404, 410, no answer, a bad or useless document) cfg.dcap_path, as a v1.2 client does. */
#define SEP_CSIPAUS_WELL_KNOWN "/.well-known/csipaus"
#define SEP_CSIPAUS_WELL_KNOWN_MAX ((size_t)64 << 10) /* larger answers are refused */
#define SEP_CSIPAUS_NS_V12 "https://csipaus.org/ns"
#define SEP_CSIPAUS_NS_V13 "https://csipaus.org/ns/v1.3"
enum { SEP_CSIPAUS_NONE = 0, SEP_CSIPAUS_V12 = 12, SEP_CSIPAUS_V13 = 13 };

typedef struct sep_csipaus_choice {
    int version;                  /* SEP_CSIPAUS_V13, _V12, or _NONE (no version we speak is usable) */
    char dcap_path[SEP_PATH_MAX]; /* the first usable DeviceCapability path listed for it */
} sep_csipaus_choice_t;

/* Read the JSON answer to GET /.well-known/csipaus (LEN bytes) into *OUT: the newest version we
 * speak that lists at least one usable DeviceCapability path (absolute, printable ASCII, shorter
 * than SEP_PATH_MAX).  Unknown versions and entries of the wrong shape are ignored.  0 (with
 * version SEP_CSIPAUS_NONE and WHY saying so when nothing is usable); GE_ERR_PARSE when it is not
 * JSON or has no "supportedSchemaVersions" object, GE_ERR_LIMIT when larger than
 * SEP_CSIPAUS_WELL_KNOWN_MAX; WHY (may be NULL) then says why, with LINE:COL for bad JSON. */
int sep_csipaus_versions_parse(const void *json, size_t len, sep_csipaus_choice_t *out, char *why,
                               size_t why_size);

/* One HTTP request the engine wants sent.  Strings and the body belong to the engine and stay
 * valid until sep_client_response() for the same id (or sep_client_free()). */
typedef struct sep_request {
    uint32_t id;
    const char *method;       /* "GET", "PUT", "POST" */
    const char *path;         /* with query, e.g. "/derp/1/derc?s=0&l=25" */
    const char *content_type; /* of the body, NULL for none */
    const char *body;
    size_t body_len;
    /* For a POST of a Response: the event and the status it reports (so the caller can keep it in
     * its outbox and tell the engine after a restart that it was already sent). */
    char response_subject[SEP_MRID_HEX + 1];
    int response_status;
    const char *accept;       /* the media type to ask for (Accept); NULL: application/sep+xml */
} sep_request_t;

/* One control in force (for status reporting). */
typedef struct sep_active_control {
    char mrid[SEP_MRID_HEX + 1];
    int is_default;           /* a DefaultDERControl */
    uint8_t primacy;
    uint32_t modes;           /* GE_SP_* bits it decides */
    int64_t end;              /* server time it ends (INT64_MAX for a default) */
} sep_active_control_t;

#define SEP_MAX_ACTIVE 16

typedef struct sep_control {
    ge_setpoint_t setpoint;   /* merged from the controls in force (set == 0: none) */
    sep_active_control_t active[SEP_MAX_ACTIVE];
    size_t n_active;
} sep_control_t;

/* Counters for tests and the status page. */
typedef struct sep_client_stats {
    unsigned long requests, responses, errors, bad_documents;
    unsigned long controls_known, programs;
    int registered;           /* EndDevice found (and PIN matched, when checked) */
    int csip_aus;             /* speaking CSIP-AUS (configured or detected) */
    int time_known;           /* the server's clock has been read */
    unsigned long subscriptions;  /* subscriptions the server holds for us now */
    unsigned long notifications;  /* Notifications taken */
    int csipaus_version;      /* SEP_CSIPAUS_V13 / _V12 when /.well-known/csipaus negotiated it, else 0 */
    unsigned long tariff_intervals; /* TimeTariffIntervals known (pricing) */
    unsigned long rate_components;  /* RateComponents known, with their ReadingType */
} sep_client_stats_t;

int sep_client_new(sep_client_t **out, const sep_client_config_t *cfg);
void sep_client_free(sep_client_t *c);

/* The next request to send at NOW: 1 and *REQ filled, or 0 when nothing is due.  At most a few
 * requests are outstanding at a time; the rest wait for their answers. */
int sep_client_next_request(sep_client_t *c, double now, sep_request_t *req);

/* LEN bytes of the body of the answer to request ID, as they arrive (pieces of any size, in
 * order; the caller keeps DATA, the engine copies nothing of it).  The engine decodes them at once
 * with a resumable decoder of its own for that request (2030.5 documents it reads), holding only
 * the decoded part, or drops them (answers to PUTs and POSTs).  The answer ends with
 * sep_client_response().  Returns 0 (also when the bytes make the document bad: that is reported
 * when the answer ends), GE_ERR_NOTFOUND if ID is not waiting for an answer (unknown, or already
 * answered: the bytes are ignored), GE_ERR_INVALID for a NULL DATA with LEN > 0. */
int sep_client_body(sep_client_t *c, uint32_t id, const void *data, size_t len);

/* The answer to request ID ends: HTTP STATUS (0 if none came: connection failure or timeout), its
 * Location header (may be NULL), and BODY: the whole body, or the last piece of one whose earlier
 * pieces went through sep_client_body(), or NULL with LEN 0 when all of it did (or there is
 * none).  With a 2xx status the document is finished and takes effect; with any other status the
 * part that came is dropped.  A malformed or truncated document is logged with its position
 * (line:col) and ignored: the engine keeps the last good state of that resource.  Returns 0,
 * GE_ERR_NOTFOUND if ID is not waiting for an answer, GE_ERR_INVALID for a NULL BODY with LEN > 0. */
int sep_client_response(sep_client_t *c, uint32_t id, int status, const char *location, const void *body,
                        size_t len, double now);

/* A Notification (or NotificationList) POSTed to our notify_uri: BODY of LEN bytes, at local
 * time NOW.  Returns the HTTP status to answer with: 201 when it was taken (a notification for a
 * resource we no longer follow is taken and ignored), 400 when the body is not a valid
 * Notification (logged with its position; nothing we hold changes). */
int sep_client_notification(sep_client_t *c, const void *body, size_t len, double now);

/* The DER's ratings and its latest telemetry (PUT upstream as DERCapability, DERSettings,
 * DERStatus, DERAvailability when they change and at least at the server's poll rate). */
int sep_client_set_device(sep_client_t *c, const ge_der_caps_t *caps, const ge_telemetry_t *tel);

/* After a restart: response STATUS for event MRID (hex) was already sent (from the caller's
 * outbox/state), so it is never sent again. */
int sep_client_mark_sent(sep_client_t *c, const char *mrid, int status);

/* The control state (DERPrograms with their DefaultDERControls, the DERControls with the
 * responses already sent, the DERCurves they use) as text appended to OUT, for the caller to keep
 * across a restart; sep_client_state_gen() moves whenever it may have changed.  0 or a ge_err. */
int sep_client_save(const sep_client_t *c, ge_buf_t *out);
unsigned long sep_client_state_gen(const sep_client_t *c);
/* After a restart, before the server is heard from: the state sep_client_save() wrote (LEN bytes)
 * takes effect, so that the last controls and defaults stay in force while the server is
 * unreachable (CSIP); the server's lists replace it when read.  A state that is malformed or
 * written by a build with another layout is logged and refused whole (GE_ERR_PARSE): nothing of
 * it is used. */
int sep_client_restore(sep_client_t *c, const char *text, size_t len);

/* The server's clock at local time NOW, and the learned offset (server - local, seconds). */
double sep_client_server_time(const sep_client_t *c, double now);
double sep_client_time_offset(const sep_client_t *c);
/* Restore a learned offset (e.g. from storage) until the Time resource is read again. */
void sep_client_set_time_offset(sep_client_t *c, double offset);

/* What the utility's controls ask for at NOW. */
int sep_client_control(sep_client_t *c, double now, sep_control_t *out);

/* Pricing (2030.5 §10.6, as CSIP-AUS v1.3 streamlines it; only once v1.3 is negotiated): the client
 * follows every FunctionSetAssignments' TariffProfileList (at its pollRate), each TariffProfile's
 * csipaus:CombinedTimeTariffIntervalListLink (every TimeTariffInterval of the profile, with its
 * ConsumptionTariffIntervals inline, at that list's own pollRate) - or, for a profile without one,
 * each RateComponent's TimeTariffIntervalList - and the RateComponentList, read again with the
 * TariffProfileList.  Each RateComponent a TimeTariffInterval links and the list does not hold is
 * read once, and each ReadingType once: both are kept.  Each TimeTariffInterval gets a PriceResponse
 * at its replyTo as responseRequired asks: status 1 (received) once, and 6 (cancelled) once when its
 * EventStatus says cancelled; they come out of sep_client_next_request() as Responses do
 * (response_subject = the interval's mRID), so the caller's outbox keeps them and
 * sep_client_mark_sent() applies.
 *
 * What a price means: ConsumptionTariffInterval.price x 10^TariffProfile.pricePowerOfTenMultiplier
 * in the profile's currency, per unit of the RateComponent's ReadingType (uom x
 * 10^powerOfTenMultiplier): uom 72 (Wh) gives a price per kWh, imported (flowDirection 1, or none)
 * or exported (19); uom 195 a fixed charge per day, which changes no per-kWh price.  Of several
 * consumption blocks, the first (startValue 0) is the price of the next kWh: the client does not
 * meter consumption against the blocks.  Negative prices are credits.  Where several intervals of
 * the same direction are in force, the profile of the lowest primacy value wins, then the latest
 * start.  An interval cancelled or superseded (currentStatus 2, 3, 4) no longer prices anything. */
typedef struct sep_price {
    int has_import;                      /* an import price is in force */
    double import_kwh;                   /* currency per kWh imported (negative: a credit) */
    char import_id[SEP_MRID_HEX + 1];    /* the TimeTariffInterval it comes from */
    int64_t import_end;                  /* server time it ends */
    int has_export;                      /* an export price is in force */
    double export_kwh;                   /* currency per kWh exported, as the tariff states it */
    char export_id[SEP_MRID_HEX + 1];
    int64_t export_end;
    int has_daily;                       /* fixed charges per day (uom 195) in force, summed */
    double daily_charge;
    uint16_t currency;                   /* ISO 4217 number of the import price's profile (0: not given) */
} sep_price_t;

/* The prices in force at local time NOW (server time through the learned offset) into *OUT (all
 * zero when none is known: v1.2, no tariff, the server's clock not read yet).  0, or GE_ERR_INVALID. */
int sep_client_price(sep_client_t *c, double now, sep_price_t *out);

/* Call sep_client_next_request() again by this local time at the latest. */
double sep_client_next_wakeup(const sep_client_t *c, double now);

void sep_client_stats(const sep_client_t *c, sep_client_stats_t *out);

/* An aggregator client's EndDevices (config.aggregator): those of its last complete read of the
 * EndDeviceList (every page), in the list's order, the client's own LFDI left out; up to MAX into
 * OUT.  Returns how many there are (at most SEP_MAX_END_DEVICES: the rest are logged and left).
 * *GEN (when not NULL) moves whenever the set changes; 0 until the first complete read. */
size_t sep_client_end_devices(const sep_client_t *c, sep_end_device_t *out, size_t max, unsigned long *gen);

/* For status reports: the first 2030.5 mode (DERControlBase element name, e.g. "opModExpLimW",
 * "opModVoltVar", "rampTms") of MODES into *KIND, and its value in SP into *VALUE (W, %, power
 * factor, var; for a curve mode the number of curve points).  1 if the value is in effect, 0 if
 * not (no mode, or a curve mode whose DERCurve is not read yet). */
int sep_describe_control(uint32_t modes, const ge_setpoint_t *sp, const char **kind, double *value);

#ifdef __cplusplus
}
#endif
#endif
