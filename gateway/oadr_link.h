/* oadr_link.h - the OpenADR 2.0b VEN as the program runs it: the sans-I/O engine (stack/oadr)
 * wired to the HTTP client on the daemon's event loop (simple HTTP pull, or push with its own HTTP
 * server; TLS per the 2.0b profile), fed the site's telemetry for its reports, with its
 * oadrCreatedEvent answers in the persistent outbox (exactly once per event modification, across
 * restarts) and its registration (venID, registrationID), the VTN's report requests and its opts
 * in the store. */
#ifndef GATEWAY_OADR_LINK_H
#define GATEWAY_OADR_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/adapter.h>
#include <gridedge/log.h>
#include <gridedge/oadr.h>

#include "gateway/owner.h"
#include "gateway/status.h"
#include "gateway/store.h"

struct event_base;

typedef struct gw_oadr_link gw_oadr_link_t;

#define GW_OADR_MAX_OPT_OUTS 16

typedef struct gw_oadr_opts {
    const char *url;       /* the VTN's 2.0b base, e.g. http://host:port/OpenADR2/Simple/2.0b or https:// */
    const char *ven_name;
    /* https: TLS per the OpenADR 2.0b profile (TLS 1.2, client certificate); without a stored
     * registration the venID offered is the certificate's fingerprint */
    const char *ca_file, *cert_file, *key_file;
    const char *opt_out[GW_OADR_MAX_OPT_OUTS]; /* eventIDs the home owner opted out of */
    size_t n_opt_out;
    /* windows the home is not available (VTN time): an EiOpt schedule each, sent once registered */
    oadr_opt_window_t unavailable[GW_CONFIG_WINDOWS_MAX];
    size_t n_unavailable;
    int leave;             /* the household leaves the program ([oadr] registered = no) */
    /* STATE_DIR/owner.ini holds the home owner's live choices (gateway/owner.h): watched, and
     * applied on top of the above; NULL: no owner file */
    const char *owner_dir;
    /* push mode: the VEN's HTTP server on PUSH_BIND (NULL: 127.0.0.1) port PUSH_PORT (0: any free
     * one); it registers with oadrHttpPullModel false and http://BIND:PORT/OpenADR2/Simple/2.0b as
     * oadrTransportAddress, and never polls.  With CA/CERT/KEY the server is https (the OpenADR
     * 2.0b TLS profile: the VTN must present a client certificate that verifies against CA_FILE),
     * presenting PUSH_CERT_FILE/PUSH_KEY_FILE (NULL: CERT_FILE/KEY_FILE). */
    int push;
    const char *push_bind;
    unsigned short push_port;
    const char *push_cert_file, *push_key_file;
    /* XML signatures (OpenADR 2.0b profile, gridedge/oadr_sig.h): every payload sent is signed with
     * CERT_FILE/KEY_FILE, and every payload the VTN sends (answers and pushes) must carry a valid
     * signature by a certificate that chains to CA_FILE; one that does not is logged with the
     * reason and ignored (the engine never sees it).  Needs CA/CERT/KEY. */
    int sign;
    /* The household's tariff per kWh (HAS_BASE_PRICE): what ELECTRICITY_PRICE / ENERGY_PRICE
     * signals of signalType priceRelative add to and priceMultiplier multiply; without it such
     * signals are logged and not acted on (see oadr_ven_config_t). */
    int has_base_price;
    double base_price;
    /* eiTarget: the resourceIDs, groupIDs and partyID the VEN answers to besides its venID */
    struct {
        oadr_target_kind kind;
        const char *id;
    } targets[OADR_MAX_TARGETS];
    size_t n_targets;
    uint64_t seed;
    gw_store_t *store;     /* may be NULL: then nothing survives a restart */
    const ge_log_t *log;
    /* The clock (unix seconds); NULL = the wall clock.  The demo runs a faster one. */
    double (*clock)(void *ud);
    void *clock_ud;
} gw_oadr_opts_t;

int gw_oadr_link_new(gw_oadr_link_t **out, struct event_base *base, const gw_oadr_opts_t *opts, char *err,
                     size_t errlen);
void gw_oadr_link_free(gw_oadr_link_t *l);

/* Send what the engine wants sent (and what the outbox holds) at NOW. */
void gw_oadr_link_pump(gw_oadr_link_t *l, double now);

/* What the VTN's events ask at NOW, for the price policy: the SIMPLE level (-1: none) and price
 * (*HAS_PRICE 0: none), and status entries for the events in force (up to MAX).  The price-like
 * signals go the same way: a BID_PRICE (what the utility pays per kWh not drawn) counts as the
 * price when it is higher; a DEMAND_CHARGE in force asks for no peak from the grid, which the
 * policy's SIMPLE level 1 does (the battery covers the house load). */
int gw_oadr_link_control(gw_oadr_link_t *l, double now, int *simple_level, int *has_price, double *price,
                         gw_status_control_t *controls, size_t max, size_t *n);

/* The site's ratings and telemetry at NOW: for the VEN's reports (site power and import register,
 * status) and for turning LOAD_DISPATCH / CHARGE_STATE into setpoints. */
void gw_oadr_link_sample(gw_oadr_link_t *l, double now, const ge_der_caps_t *caps, const ge_telemetry_t *tel);

/* What LOAD_DISPATCH, LOAD_CONTROL and CHARGE_STATE signals in force at NOW ask of the devices: 1
 * and *SP filled, or 0 when none is in force.  LOAD_DISPATCH setpoint X W: the site imports at
 * most X (X >= 0); delta D W: the battery makes up the change (D < 0: discharges |D|, D > 0:
 * charges D).  LOAD_CONTROL, the house load H being the load: x-loadControlCapacity C -> the
 * battery covers (1 - C) H; x-loadControlPercentOffset P -> the battery makes up P % of H
 * (P = -30: discharges 0.3 H); x-loadControlLevelOffset L -> L >= 2 discharges at the maximum, 1
 * covers H, <= -1 charges at the maximum; x-loadControlSetpoint X W -> the site imports at most X.
 * CHARGE_STATE setpoint P %: the battery charges at its maximum until its SoC reaches P, then holds.
 * LOAD_DISPATCH wins over LOAD_CONTROL, both over CHARGE_STATE. */
int gw_oadr_link_setpoint(gw_oadr_link_t *l, double now, ge_setpoint_t *sp);

/* The home owner opts out of event EVENT_ID (from the config or the status page). */
int gw_oadr_link_opt_out(gw_oadr_link_t *l, const char *event_id);

/* The OpenADR fingerprint of the PEM certificate at PATH: the last 10 bytes of its SHA-256, as
 * upper-case hex pairs joined by ':' (what 2.0b VTNs take as the venID).  0 or a negative ge_err. */
int gw_oadr_cert_fingerprint(const char *path, char out[32]);

/* The VTN's clock at local time NOW. */
int64_t gw_oadr_link_server_time(const gw_oadr_link_t *l, double now);

const oadr_ven_t *gw_oadr_link_engine(const gw_oadr_link_t *l);

#endif
