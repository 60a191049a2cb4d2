/* sunspec_sim.h - a SunSpec device of our own for the driver's tests: a libmodbus TCP server on
 * 127.0.0.1 (an ephemeral port) in its own thread, holding a realistic register map, reacting
 * to the controls the driver writes, and injecting faults on request. */
#ifndef TESTS_SUNSPEC_SIM_H
#define TESTS_SUNSPEC_SIM_H

#include <stdint.h>

typedef struct sunspec_sim sunspec_sim_t;

enum ssim_variant {
    SSIM_HYBRID,       /* 1, 103, 120, 121, 123, 124: a 5 kW hybrid inverter with a battery */
    SSIM_HYBRID_FLOAT, /* the same with 113 (float) instead of 103 */
    SSIM_DER7XX,       /* 1, 701, 702, 703, 704, 713: an AC-coupled 5 kW battery */
    SSIM_PV_ONLY,      /* 1, 103, 120: a PV inverter without controls */
    SSIM_NO_INVERTER   /* 1, 160, 64001: nothing the driver can drive */
};

enum ssim_fault {
    SSIM_FAULT_NONE,
    SSIM_FAULT_EXCEPTION, /* answer with exception 4 (server device failure) */
    SSIM_FAULT_SILENT,    /* read the request, never answer */
    SSIM_FAULT_DROP       /* close the connection instead of answering */
};

typedef struct ssim_opts {
    int base;        /* 0, 40000 (default) or 50000 */
    int variant;     /* enum ssim_variant */
    int w_sf;        /* scale factor of the measured W (default 0) */
    double pv_w;     /* PV power available (default 3000) */
    double soc_pct;  /* battery state of charge (default 50) */
    int m704_len;    /* model 704 revision: 69 (default) or 65 */
} ssim_opts_t;

void ssim_opts_default(ssim_opts_t *o);
/* Start serving; 0 or -1. */
int ssim_start(sunspec_sim_t **out, const ssim_opts_t *o);
void ssim_stop(sunspec_sim_t *s);
int ssim_port(const sunspec_sim_t *s);

/* Register of model ID's first point (after ID and L), -1 if the map has no such model. */
int ssim_model_addr(sunspec_sim_t *s, unsigned id);
/* Read / overwrite one register of model ID at OFF (a write does not re-run the physics, so a
 * test can plant garbage that stays). */
uint16_t ssim_get(sunspec_sim_t *s, unsigned id, unsigned off);
void ssim_set(sunspec_sim_t *s, unsigned id, unsigned off, uint16_t v);
/* The same by absolute register address (the 'SunS' marker, model headers). */
void ssim_set_raw(sunspec_sim_t *s, int addr, uint16_t v);
/* Change the available PV power and re-run the physics. */
void ssim_set_pv(sunspec_sim_t *s, double w);

/* Apply FAULT to the next COUNT requests (-1: until changed). */
void ssim_fault(sunspec_sim_t *s, int fault, int count);
/* Stop listening and drop the client (0) or listen again on the same port (1); returns when
 * the server thread has done it. */
void ssim_set_online(sunspec_sim_t *s, int online);

long ssim_requests(sunspec_sim_t *s);    /* requests answered or faulted */
long ssim_connections(sunspec_sim_t *s); /* connections accepted */

#endif
