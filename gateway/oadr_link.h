/* oadr_link.h - the OpenADR 2.0b VEN as the program runs it: the sans-I/O engine (stack/oadr)
 * wired to the HTTP client on the daemon's event loop (simple HTTP pull), with its
 * oadrCreatedEvent answers in the persistent outbox (exactly once per event modification, across
 * restarts) and its registration (venID, registrationID) in the store. */
#ifndef GATEWAY_OADR_LINK_H
#define GATEWAY_OADR_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>
#include <gridedge/oadr.h>

#include "gateway/status.h"
#include "gateway/store.h"

struct event_base;

typedef struct gw_oadr_link gw_oadr_link_t;

typedef struct gw_oadr_opts {
    const char *url;       /* the VTN's 2.0b base, e.g. http://host:port/OpenADR2/Simple/2.0b */
    const char *ven_name;
    uint64_t seed;
    gw_store_t *store;     /* may be NULL: then nothing survives a restart */
    const ge_log_t *log;
} gw_oadr_opts_t;

int gw_oadr_link_new(gw_oadr_link_t **out, struct event_base *base, const gw_oadr_opts_t *opts, char *err,
                     size_t errlen);
void gw_oadr_link_free(gw_oadr_link_t *l);

/* Send what the engine wants sent (and what the outbox holds) at NOW. */
void gw_oadr_link_pump(gw_oadr_link_t *l, double now);

/* What the VTN's events ask at NOW: the SIMPLE level (-1: none) and price (*HAS_PRICE 0: none),
 * and status entries for the events in force (up to MAX). */
int gw_oadr_link_control(gw_oadr_link_t *l, double now, int *simple_level, int *has_price, double *price,
                         gw_status_control_t *controls, size_t max, size_t *n);

/* The VTN's clock at local time NOW. */
int64_t gw_oadr_link_server_time(const gw_oadr_link_t *l, double now);

const oadr_ven_t *gw_oadr_link_engine(const gw_oadr_link_t *l);

#endif
