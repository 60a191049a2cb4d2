/* sep_link.h - the IEEE 2030.5 client as the program runs it: the sans-I/O engine (stack/sep)
 * wired to the HTTP(S) client on the daemon's event loop, with the persistent outbox and state
 * (learned time offset, responses sent) in the store. */
#ifndef GATEWAY_SEP_LINK_H
#define GATEWAY_SEP_LINK_H

#include <gridedge/log.h>
#include <gridedge/sep.h>

#include "gateway/site.h"
#include "gateway/status.h"
#include "gateway/store.h"

struct event_base;

typedef struct gw_sep_link gw_sep_link_t;

typedef struct gw_sep_opts {
    const char *url;       /* the DeviceCapability URL: https://host:port/dcap (or http:// for tests) */
    const char *ca, *cert, *key; /* required for https */
    const char *lfdi;      /* identity over http (40 hex); over https it comes from the certificate */
    uint32_t pin;          /* Registration PIN to check (0: none) */
    const char *nmi;       /* CSIP-AUS connection point id to register (NULL: none) */
    int profile;           /* SEP_PROFILE_AUTO / _CSIP / _CSIP_AUS */
    uint64_t seed;
    /* Our notification server for 2030.5 subscriptions: "ADDR[:PORT]" to listen on; NULL = the
     * address we reach the server from, a free port; "off" = no subscriptions (polling only). */
    const char *notify;
    int demand_response;   /* CSIP-AUS Annex C DRM reporting (sep_client_config_t.demand_response) */
    /* CSIP aggregator (sep_client_config_t.aggregator): this link only reads the server's list of
     * EndDevices (gw_sep_link_end_devices()); gateway/sep_agg.c runs a link for each. */
    int aggregator;
    /* A link of an aggregator's, acting for the EndDevice with this LFDI (40 hex) and SFDI rather
     * than for the certificate's identity (sep_client_config_t.acts_for).  NULL: the identity's. */
    const char *acts_for_lfdi;
    uint64_t acts_for_sfdi;
    /* An aggregator's own sites: the EndDevices it registers in band when the server does not list
     * them (sep_client_config_t.agg_register; with aggregator), and each one's CSIP-AUS connection
     * point id (agg_register_nmi[i], NULL: none; gateway/sep_agg.c gives it to that EndDevice's link). */
    const sep_end_device_t *agg_register;
    const char *const *agg_register_nmi;
    size_t n_agg_register;
    gw_store_t *store;     /* may be NULL: then nothing survives a restart */
    const ge_log_t *log;
    /* The clock (unix seconds); NULL = the wall clock.  The demo runs a faster one. */
    double (*clock)(void *ud);
    void *clock_ud;
} gw_sep_opts_t;

int gw_sep_link_new(gw_sep_link_t **out, struct event_base *base, const gw_sep_opts_t *opts, char *err,
                    size_t errlen);
void gw_sep_link_free(gw_sep_link_t *l);

/* Send what the engine wants sent (and what the outbox holds) at NOW. */
void gw_sep_link_pump(gw_sep_link_t *l, double now);

/* The device as the engine should describe it upstream. */
void gw_sep_link_set_device(gw_sep_link_t *l, const ge_der_caps_t *caps, const ge_telemetry_t *tel);

/* The utility's controls in force at NOW: the setpoint and status entries (up to MAX). */
int gw_sep_link_control(gw_sep_link_t *l, double now, ge_setpoint_t *sp, gw_status_control_t *controls,
                        size_t max, size_t *n);

/* The server's clock at local time NOW (0 until it is known). */
int64_t gw_sep_link_server_time(const gw_sep_link_t *l, double now);

/* Non-NULL (why) once something happened that must stop the client: the server's certificate
 * did not verify against the CA. */
const char *gw_sep_link_fatal(const gw_sep_link_t *l);

/* A tick's share of the link: pumped at NOW, then IN given the utility's controls in force (SP and
 * CONTROLS, up to MAX, hold them), the server's time, and the 2030.5 import price per kWh in force
 * (has_price/price, CSIP-AUS v1.3 pricing; left as they were when there is none); the rest of IN
 * is the caller's.  Returns
 * gw_sep_link_fatal()'s message (stop), or NULL. */
const char *gw_sep_link_step(gw_sep_link_t *l, double now, gw_site_input_t *in, ge_setpoint_t *sp,
                             gw_status_control_t *controls, size_t max);

/* One tick of a site driven by this link alone (`sep run`): the link's step, SITE ticked with the
 * controls in force, the device's state handed back for DERStatus and the mirror readings.
 * Returns gw_sep_link_step()'s fatal message, or NULL. */
const char *gw_sep_link_drive(gw_sep_link_t *l, gw_site_t *site, double now);

/* An aggregator link's EndDevices (sep_client_end_devices()). */
size_t gw_sep_link_end_devices(const gw_sep_link_t *l, sep_end_device_t *out, size_t max, unsigned long *gen);

/* Our identity (the EndDevice's for a link that acts for one). */
const char *gw_sep_link_lfdi(const gw_sep_link_t *l);
uint64_t gw_sep_link_sfdi(const gw_sep_link_t *l);

#endif
