/* status.h - what the gateway shows of itself: the status JSON of CLI-CONTRACT.md built from a
 * plain snapshot struct, the status file written atomically, /history.json from the store, and
 * the status page's assets (gateway/statuspage/, compiled in) behind one request function that an
 * HTTP server calls.
 *
 * The status JSON (contract keys first, our extras after):
 *   {"time": <server time, unix s>, "site": {"power_w"}, "pv": {"power_w"},
 *    "battery": {"power_w", "soc_pct"}, "ev": {"power_w"},
 *    "active_controls": [{"id", "source": "sep"|"oadr", "kind", "value", "start", "end"}],
 *    "price": <number> | null,
 *    "house": {"power_w"}, "gateway": {"mode", "reason"}}
 * Signs: site import +, battery discharge +; so site + pv + battery = house + ev. */
#ifndef GATEWAY_STATUS_H
#define GATEWAY_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <gridedge/buf.h>
#include <gridedge/http.h>
#include <gridedge/log.h>

#include "gateway/store.h"

#define GW_STATUS_MAX_CONTROLS 8

/* One utility control or event in force now. */
typedef struct gw_status_control {
    char id[128];          /* mRID or eventID */
    gw_source_t source;
    char kind[48];         /* what it asks, e.g. "opModExpLimW", "SIMPLE", "opModConnect"; "" = none */
    int has_value;
    double value;          /* in the kind's unit (W, level, %) */
    int64_t start;         /* server time, unix s; 0 = unknown */
    int64_t end;
} gw_status_control_t;

/* A snapshot of the site, taken by the daemon once a second. */
typedef struct gw_status {
    int64_t time;          /* the utility's time (local clock + learned offset) */
    double site_w;         /* import positive, export negative */
    double pv_w;           /* >= 0 */
    double battery_w;      /* discharge positive, charge negative */
    double soc_pct;        /* 0..100 */
    double ev_w;           /* >= 0 */
    double house_w;        /* the household's own load, >= 0 */
    size_t n_controls;
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    int has_price;
    double price;          /* per kWh */
    char mode[32];         /* what the gateway is doing: "idle", "charging", "discharging", ... */
    char reason[256];      /* why, in words for the household */
} gw_status_t;

/* The status as a jansson object (new reference in *OUT). */
int gw_status_to_json(const gw_status_t *s, json_t **out);

/* The status JSON, one line ending in "\n", appended to OUT. */
int gw_status_render(const gw_status_t *s, ge_buf_t *out);

/* Write the status JSON to PATH atomically: a temporary file in the same directory, fsync,
 * rename over PATH, so a reader sees the old file or the new one, never part of one.
 * GE_ERR_IO (logged through LOG, module "status") if any step fails; no temporary file is left. */
int gw_status_write_file(const gw_status_t *s, const char *path, const ge_log_t *log);

/* The same for a status JSON the caller built (gw_status_to_json() with keys of its own added). */
int gw_status_write_json(json_t *j, const char *path, const ge_log_t *log);

/* /history.json: the last 24 h before NOW from the store, in 5-minute buckets, as
 * [{"time", "site_w", "pv_w", "battery_w", "ev_w", "house_w", "soc_pct"}, ...], appended to OUT. */
int gw_history_render(gw_store_t *st, int64_t now, ge_buf_t *out);

/* One status page request.  PATH is the request target ("/", "/status.json", "/history.json",
 * or an asset such as "/app.js"; a query string is ignored).  The body is appended to BODY and
 * *CONTENT_TYPE names its media type.  GE_ERR_NOTFOUND for any other path (the server answers
 * 404).  ST may be NULL (then /history.json is an empty array). */
int gw_statuspage_get(const char *path, const gw_status_t *s, gw_store_t *st, int64_t now,
                      ge_buf_t *body, const char **content_type);

/* The household's opt-out of OpenADR event EVENT_ID (0, or a ge_err: GE_ERR_LIMIT when no more
 * opt-outs can be held). */
typedef int (*gw_opt_out_fn)(void *ud, const char *event_id);

#define GW_STATUSPAGE_ACTION_HEADER "X-Gridedge-Action"

/* One action of the status page (a POST).  "/opt-out" with the form body "event=ID" opts the
 * household out of OpenADR 2.0b event ID through OPT_OUT (NULL: no 2.0b VEN runs here).  The
 * request must carry the header X-Gridedge-Action: opt-out, given as ACTION (NULL if absent): a page
 * of another site cannot add it to a request, so it cannot act for the household.  The JSON answer
 * ({"opted_out": ID} or {"error": WHY}) goes to REPLY; returns the HTTP status: 200, 400 (no or a
 * bad event ID), 403 (no action header), 404 (another path), 409 (no 2.0b VEN), 507 (no room). */
int gw_statuspage_post(const char *path, const char *action, const void *body, size_t len, gw_opt_out_fn opt_out,
                       void *ud, ge_buf_t *reply);

/* Answer one request EX of the status page's server: GET as gw_statuspage_get() (404 for what it
 * does not know), POST as gw_statuspage_post(), 405 for any other method. */
void gw_statuspage_serve(ge_http_exchange_t *ex, const gw_status_t *s, gw_store_t *st, int64_t now,
                         gw_opt_out_fn opt_out, void *ud);

/* The compiled-in assets of the status page (generated from gateway/statuspage/ at build time). */
typedef struct gw_statuspage_asset {
    const char *path;          /* "/index.html", "/app.js", ... */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} gw_statuspage_asset_t;

/* Ends with an entry whose path is NULL. */
extern const gw_statuspage_asset_t gw_statuspage_assets[];

#endif
