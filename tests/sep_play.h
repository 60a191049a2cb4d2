/* sep_play.h - the 2030.5 engine plays a conformance case in simulated time: the case's resources
 * are served by the head-end's own serve logic (conformance/serve.c), the engine's setpoint drives an
 * ideal device, and the case's expectations are judged by conformance/verdict.c on the exchanges and
 * the device's status - the same cases `gridedge conformance run` plays over the network, in
 * milliseconds.  Shared by the engine's tests (tests/test_sep*.c). */
#ifndef TESTS_SEP_PLAY_H
#define TESTS_SEP_PLAY_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/mem.h>
#include <gridedge/sep.h>

#include "conformance/case.h"
#include "conformance/verdict.h"

#define SEP_PLAY_T0 1800000000.0
#define SEP_PLAY_LFDI "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
#define SEP_PLAY_SFDI 167261211391ULL
#define SEP_PLAY_NMI "4123456789" /* the CSIP-AUS connection point (NMI) the client is given */
#define SEP_PLAY_MAX_EX 4000
#define SEP_PLAY_MAX_SAMPLES 1000

/* A site limit of the ideal device moving to a new value (see ideal_device()). */
typedef struct sep_play_limit {
    int on;
    double target_w, from_w, t0, dur_s;
} sep_play_limit_t;

/* An ideal device: the battery moves to its setpoint at once, or over the ramp time a control asks
 * for (as the simulated site does); PV gives 3 kW unless limited; the house takes 1 kW.  It obeys the
 * CSIP-AUS export, import, generation and load limits as the simulated site does (a new export or
 * import limit moves over the ramp, from the site's flow then or the old limit: CSIP-AUS ALL-28), and
 * reports itself disconnected while a control disconnects or de-energizes it.  From ALARM_AT (absolute local time) on,
 * it reports the alarms ALARM; and the faults the case's `at T fault-file` lines name, from T on (as
 * the simulated site does with fault_file=): the DER alarms, and the PV or the battery switched off or
 * tripped ("pv_off", "battery_fault", ...: 0 W, its state reported).  Its ratings are the simulated
 * site's: a 5 kW PV inverter and a 5 kW battery inverter, described as one DER rated for their totals. */
typedef struct sep_play_device {
    double battery_w, from_w, target_w, t_change, ramp_s, grad_pct_s;
    double site_w;                     /* the site's power at the last step */
    sep_play_limit_t exp_lim, imp_lim; /* the export and import limits in force */
    double alarm_at;
    uint32_t alarm;
    uint32_t faults;
    uint32_t devices;                  /* ge_sim_device_fault bits: devices switched off or tripped */
    int demand_response;               /* the client runs with demand response on (sep run --demand-response) */
} sep_play_device_t;

/* What one play saw: the exchanges and the status samples. */
typedef struct sep_play_run {
    cf_exchange_t ex[SEP_PLAY_MAX_EX];
    char *bodies[SEP_PLAY_MAX_EX];
    size_t n_ex;
    cf_sample_t samples[SEP_PLAY_MAX_SAMPLES];
    size_t n_samples;
    char lfdi_buf[48];
} sep_play_run_t;

/* Play case C to a fresh engine and DEV (NULL: an ideal device without alarms); fill R (zeroed by
 * the caller).  Returns the engine's stats. */
sep_client_stats_t sep_play(const cf_case_t *c, sep_play_run_t *r, const ge_mem_t *mem, const sep_play_device_t *dev);
void sep_play_run_free(sep_play_run_t *r);

/* An aggregator's own sites (`sep run --aggregator --register-edev LFDI:NMI`): the EndDevices it
 * registers in band, and each one's connection point (nmi[i], NULL: none). */
typedef struct sep_play_sites {
    const sep_end_device_t *reg;
    const char *const *nmi;
    size_t n;
} sep_play_sites_t;

/* Play case C to an aggregator, as `gridedge sep run --aggregator` runs: an engine that reads the
 * EndDeviceList (config.aggregator, registering SITES when not NULL) and an engine acting for each
 * EndDevice listed, each driving an ideal device of its own; the status samples sum the devices and
 * list each under "devices". */
void sep_play_agg(const cf_case_t *c, sep_play_run_t *r, const sep_play_sites_t *sites);

/* Judge every expectation of C on R; print the failures (unless ID is NULL).  Returns the number failed. */
int sep_play_judge(const char *id, const cf_case_t *c, const sep_play_run_t *r);
/* The same, silently: the number of expectations of C that R fails. */
int sep_play_failures(const cf_case_t *c, const sep_play_run_t *r);

/* Play the cases IDS of SUITE; each must pass, and every body the client sent must validate
 * against XSD_FILE (a path under the official schema dir, when the tests have it).  CUnit
 * assertions.  Returns the number of bodies validated. */
size_t sep_play_suite(const char *suite, const char *const *ids, size_t n, const char *xsd_file);
/* The same, against DEV (NULL: the ideal device, as sep_play_suite()). */
size_t sep_play_suite_dev(const char *suite, const char *const *ids, size_t n, const char *xsd_file,
                          const sep_play_device_t *dev);
/* The same, to an aggregator (sep_play_agg()). */
size_t sep_play_suite_agg(const char *suite, const char *const *ids, size_t n, const char *xsd_file,
                          const sep_play_sites_t *sites);
/* The cases IDS of SUITE each fail against a DER client (the ideal device): CUnit assertions. */
void sep_play_suite_fails(const char *suite, const char *const *ids, size_t n);

#endif
