/* sep_agg.h - the CSIP aggregator client (`gridedge sep run --aggregator`): one identity (an
 * aggregator's certificate) acting for the EndDevices of several DERs.  A link of its own reads the
 * server's EndDeviceList; every EndDevice listed there (the aggregator's own LFDI aside) gets a
 * 2030.5 link acting for it (its controls, Responses with its LFDI, its DER's status, its mirror
 * readings, its subscriptions) and a site of its own (the adapter, e.g. one simulated home per
 * EndDevice).  An EndDevice that appears later is taken up; one the server no longer lists is
 * left.  The status file sums the sites and lists each under "devices". */
#ifndef GATEWAY_SEP_AGG_H
#define GATEWAY_SEP_AGG_H

#include "gateway/sep_link.h"
#include "gateway/site.h"

struct event_base;

typedef struct gw_sep_agg gw_sep_agg_t;

/* OPTS as for one link (their identity is the aggregator's; nmi must be NULL; their store, if any, is
 * the aggregator's own link's), SITE the options of each EndDevice's site (its status_file is the
 * aggregate's), STATE_DIR (may be NULL) holds a store per EndDevice, in "edev-LFDI" under it.  0, or
 * < 0 with a message in ERR. */
int gw_sep_agg_new(gw_sep_agg_t **out, struct event_base *base, const gw_sep_opts_t *opts,
                   const gw_site_opts_t *site, const char *state_dir, char *err, size_t errlen);
void gw_sep_agg_free(gw_sep_agg_t *a);

/* One tick at NOW: the EndDeviceList's link, the set of EndDevices, each EndDevice's link and
 * site, the status file when due.  A fatal error's message (stop), or NULL. */
const char *gw_sep_agg_tick(gw_sep_agg_t *a, double now);

#endif
