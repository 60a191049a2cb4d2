/* gridedge/policy.h - local price response: pure functions that merge the utility's control, an
 * OpenADR SIMPLE level, the price, the backup reserve, the EV's departure and the site limits into
 * one setpoint for the adapter, with a short reason a person can read.
 *
 * Order of precedence (first match decides the battery):
 *   1. an active utility control that commands the battery (2030.5 opModTargetW/opModFixedW, or
 *      connect/energize false): copied as is, never overridden;
 *   2. OpenADR SIMPLE level >= 2: discharge at the maximum while SoC > reserve;
 *      level 1: the battery covers the house load (site near 0 W);
 *   3. price above the discharge threshold (default 0.30/kWh): discharge at the maximum while SoC >
 *      reserve; price below the charge threshold (default 0.10/kWh): charge at the maximum while
 *      SoC < 100 %;
 *   4. otherwise self-consumption (store PV surplus, cover the load above the reserve), or idle.
 * Limits are always merged, the tighter one winning: the utility control's export/import/
 * generation/load limits and the site's configured ones; the battery decision is trimmed so the
 * predicted site power stays inside them.  The EV charges at full power unless the price is high
 * and waiting still meets its departure time. */
#ifndef GRIDEDGE_POLICY_H
#define GRIDEDGE_POLICY_H

#include <stddef.h>

#include <gridedge/adapter.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ge_policy_config {
    double charge_below;        /* price per kWh; default 0.10 */
    double discharge_above;     /* price per kWh; default 0.30 */
    double reserve_soc_pct;     /* backup reserve kept for outages; default 10 */
    int self_consumption;       /* without signals, store PV surplus and cover the load; default 1 */
    int has_export_limit;       /* the site's own connection limits (from the config) */
    double export_limit_w;
    int has_import_limit;
    double import_limit_w;
    double ev_margin;           /* keep this share of slack when deferring EV charging; default 0.25 */
} ge_policy_config_t;

typedef struct ge_policy_input {
    double now;                   /* unix seconds */
    int has_price;
    double price;                 /* per kWh */
    int simple_level;             /* OpenADR SIMPLE signal level 0..3; -1 = no event */
    const ge_setpoint_t *utility; /* the active utility control in device terms; NULL = none */
    ge_telemetry_t tel;           /* the site now (soc, house, pv, ev connected/need/departure) */
    ge_der_caps_t caps;           /* ratings */
} ge_policy_input_t;

/* What the policy is doing, for the status page and the logs. */
typedef enum ge_policy_action {
    GE_POLICY_UTILITY = 0,  /* following the utility control */
    GE_POLICY_EVENT_SHED,   /* SIMPLE >= 2: discharging */
    GE_POLICY_EVENT_COVER,  /* SIMPLE 1: covering the house load */
    GE_POLICY_PRICE_HIGH,   /* discharging on price */
    GE_POLICY_PRICE_LOW,    /* charging on price */
    GE_POLICY_SELF,         /* self-consumption */
    GE_POLICY_IDLE
} ge_policy_action;

/* The action as the status file's gateway.mode says it ("utility control", "event: discharging",
 * "event: covering load", "discharging", "charging", "self-consumption", "idle"). */
const char *ge_policy_action_name(ge_policy_action a);

typedef struct ge_policy_output {
    ge_setpoint_t sp;
    ge_policy_action action;
    char reason[96];  /* e.g. "charging: price 0.08 below 0.10" */
} ge_policy_output_t;

void ge_policy_config_default(ge_policy_config_t *cfg);

/* Decide.  CFG NULL = defaults.  Pure: the same input gives the same output. */
int ge_policy_decide(const ge_policy_config_t *cfg, const ge_policy_input_t *in, ge_policy_output_t *out);

#ifdef __cplusplus
}
#endif
#endif
