/* site_model.h - the site as the conformance head-end sees our program show it, for the tests that
 * play cases in simulated time.  For the OpenADR cases the real price policy decides for a home at
 * night (house 1 kW, no PV, a 5 kW / 13.5 kWh battery at 50 %); tests/sep_play.c has its own
 * device for the 2030.5 controls and the same lag.  The timing of the real program is kept, so a
 * case whose status windows leave it too little time fails here as it would over the network:
 *   - the site applies a decision at its next tick (0.25 s, gateway/client_run.c);
 *   - the simulated battery moves to a new target over 1 s (adapters/sim: no ramp asked for);
 *   - the status file is written every 0.5 s (gateway/site.c), and the timer of a loaded machine
 *     runs a tick late: the head-end's sample shows the site as it was up to SITE_MODEL_LAG_S
 *     before.
 * So a battery target is seen in full 2 s after the control that sets it. */
#ifndef TESTS_SITE_MODEL_H
#define TESTS_SITE_MODEL_H

#include "conformance/verdict.h"

#define SITE_MODEL_LAG_S 0.75

typedef struct site_model {
    double target_w, from_w, t0; /* the battery moves from FROM_W at T0 to TARGET_W */
    int started;
} site_model_t;

/* What the client's controls say at T (case time): a price (HAS_PRICE), a SIMPLE level (< 0:
 * none), the active controls as the status file's JSON array, the policy's clock SERVER_TIME. */
typedef struct site_model_input {
    double t, server_time;
    int has_price;
    double price;
    int level;
    const char *controls_json;
} site_model_input_t;

/* Decide on IN; append the status file the head-end will read for it to SAMPLES (at most MAX,
 * counted in *N; the JSON is malloc'd).  Returns the site's power now (W, import > 0), for the
 * client's meter. */
double site_model_step(site_model_t *m, const site_model_input_t *in, cf_sample_t *samples, size_t *n, size_t max);

#endif
