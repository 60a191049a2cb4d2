/* gwconfig.h - the gateway's INI configuration (`gridedge gateway --config FILE`): the settings,
 * their defaults, and validation that reports every problem as "FILE:LINE: error: MESSAGE".
 *
 * The struct holds no pointers, so a reload is: parse into a new struct, and copy it over the live
 * one only when it is valid (gw_config_load() never touches OUT on failure).  The reference of every
 * key is docs/gateway.md; a commented sample is docs/gridedge.ini. */
#ifndef GATEWAY_GWCONFIG_H
#define GATEWAY_GWCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/error.h>
#include <gridedge/log.h>

#define GW_CONFIG_PATH_MAX 512
#define GW_CONFIG_STR_MAX 256
#define GW_CONFIG_OPT_OUT_MAX 32

typedef enum gw_adapter_kind {
    GW_ADAPTER_SIM = 0,
    GW_ADAPTER_SUNSPEC = 1
} gw_adapter_kind_t;

typedef enum gw_oadr_version {
    GW_OADR_20B = 0,
    GW_OADR_30 = 1
} gw_oadr_version_t;

typedef struct gw_config {
    /* [gateway] */
    char state_dir[GW_CONFIG_PATH_MAX];     /* default /var/lib/gridedge */
    char status_file[GW_CONFIG_PATH_MAX];   /* "" = none */
    int status_port;                        /* HTTP on 127.0.0.1; 0 = no status page; default 8080 */
    ge_log_level log_level;                 /* default info */
    gw_adapter_kind_t adapter;              /* default sim */
    char time_zone[64];                     /* for the policy's HH:MM times; default "UTC" */

    /* [sep] IEEE 2030.5 client */
    int sep_enabled;
    char sep_server[GW_CONFIG_PATH_MAX];    /* the DeviceCapability URL */
    char sep_ca[GW_CONFIG_PATH_MAX], sep_cert[GW_CONFIG_PATH_MAX], sep_key[GW_CONFIG_PATH_MAX];
    char sep_lfdi[41];                      /* 40 hex digits or "" */
    int sep_poll_s;                         /* default poll period when the server names none */
    int sep_timeout_s;                      /* HTTP request timeout */
    int sep_pin;                            /* Registration PIN to check (0: none) */
    int sep_profile;                        /* SEP_PROFILE_AUTO / _CSIP / _CSIP_AUS */
    char sep_nmi[33];                       /* CSIP-AUS connection point id, "" = none */

    /* [oadr] OpenADR VEN */
    int oadr_enabled;
    gw_oadr_version_t oadr_version;         /* default 2.0b */
    char oadr_vtn[GW_CONFIG_PATH_MAX];
    char oadr_ven_name[GW_CONFIG_STR_MAX];
    char oadr_token[GW_CONFIG_STR_MAX];
    char oadr_client_id[GW_CONFIG_STR_MAX], oadr_client_secret[GW_CONFIG_STR_MAX];
    char oadr_ca[GW_CONFIG_PATH_MAX], oadr_cert[GW_CONFIG_PATH_MAX], oadr_key[GW_CONFIG_PATH_MAX];
    int oadr_poll_s;
    size_t oadr_n_opt_out;                  /* events the household opted out of */
    char oadr_opt_out[GW_CONFIG_OPT_OUT_MAX][128];

    /* [policy] local price response */
    double charge_below;                    /* price per kWh; default 0.10 */
    double discharge_above;                 /* default 0.30 */
    double reserve_soc_pct;                 /* backup reserve; default 20 */
    int ev_departure_min;                   /* minutes after local midnight; -1 = none */
    double import_limit_w;                  /* -1 = no limit */
    double export_limit_w;                  /* -1 = no limit (0 is "zero export") */

    /* [sim] the simulated home (CLI-CONTRACT.md's numbers are the defaults) */
    uint64_t sim_seed;
    double sim_pv_peak_w, sim_battery_wh, sim_battery_max_w, sim_start_soc_pct;
    double sim_ev_charger_w, sim_house_w;

    /* [sunspec] Modbus TCP */
    char sunspec_host[GW_CONFIG_STR_MAX];
    int sunspec_port;                       /* default 502 */
    int sunspec_unit_id;                    /* default 1 */
    int sunspec_timeout_ms;                 /* default 1000 */
} gw_config_t;

/* One problem found in a config file. */
typedef struct gw_config_error {
    int line;             /* 1-based; 0 when the file could not be read at all */
    char msg[200];
} gw_config_error_t;

#define GW_CONFIG_ERRORS_MAX 32

/* Every problem found (the first GW_CONFIG_ERRORS_MAX; TOTAL counts all). */
typedef struct gw_config_errors {
    char file[GW_CONFIG_PATH_MAX];
    size_t count;
    size_t total;
    gw_config_error_t items[GW_CONFIG_ERRORS_MAX];
} gw_config_errors_t;

/* Fill C with the defaults. */
void gw_config_defaults(gw_config_t *c);

/* Parse and validate PATH.  On success OUT gets the settings and 0 is returned; otherwise OUT is
 * untouched, ERRS lists the problems in line order and GE_ERR_CONFIG is returned. */
int gw_config_load(gw_config_t *out, const char *path, gw_config_errors_t *errs);

/* As gw_config_load() on TEXT; NAME is the file name used in messages. */
int gw_config_parse_string(gw_config_t *out, const char *name, const char *text,
                           gw_config_errors_t *errs);

/* "FILE:LINE: error: MESSAGE" for error I into BUF; returns BUF. */
const char *gw_config_error_format(const gw_config_errors_t *errs, size_t i, char *buf, size_t size);

/* Log every error through LOG (module "config"). */
void gw_config_errors_log(const gw_config_errors_t *errs, const ge_log_t *log);

#endif
