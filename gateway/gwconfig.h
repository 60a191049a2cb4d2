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
#include <gridedge/oadr.h>

#define GW_CONFIG_PATH_MAX 512
#define GW_CONFIG_STR_MAX 256
#define GW_CONFIG_OPT_OUT_MAX 32
#define GW_CONFIG_WINDOWS_MAX 8
#define GW_CONFIG_WINDOW_MAX_S (366 * 86400) /* the longest availability window */

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
    char sep_notify[64];                    /* notification server "ADDR[:PORT]", "off"; "" = automatic */
    int sep_demand_response;                /* CSIP-AUS Annex C DRM reporting (sep run --demand-response) */

    /* [oadr] OpenADR VEN */
    int oadr_enabled;
    gw_oadr_version_t oadr_version;         /* default 2.0b */
    char oadr_vtn[GW_CONFIG_PATH_MAX];
    char oadr_ven_name[GW_CONFIG_STR_MAX];
    char oadr_token[GW_CONFIG_STR_MAX];
    char oadr_client_id[GW_CONFIG_STR_MAX], oadr_client_secret[GW_CONFIG_STR_MAX];
    char oadr_ca[GW_CONFIG_PATH_MAX], oadr_cert[GW_CONFIG_PATH_MAX], oadr_key[GW_CONFIG_PATH_MAX];
    int oadr_poll_s;
    int oadr_push;                          /* 2.0b push: the VEN serves, the VTN POSTs (default 0: pull) */
    int oadr_push_port;                     /* its port (0: any free one) */
    char oadr_push_bind[64];                /* its address ("" = 127.0.0.1) */
    char oadr_push_cert[GW_CONFIG_PATH_MAX], oadr_push_key[GW_CONFIG_PATH_MAX]; /* https push: "" = cert/key */
    int oadr_sign;                          /* 2.0b XML signatures: sign ours, require the VTN's (needs ca/cert/key) */
    size_t oadr_n_opt_out;                  /* events the household opted out of */
    char oadr_opt_out[GW_CONFIG_OPT_OUT_MAX][128];
    size_t oadr_n_unavailable;              /* 2.0b: windows the home is not available (EiOpt schedule) */
    oadr_opt_window_t oadr_unavailable[GW_CONFIG_WINDOWS_MAX]; /* VTN time */
    int oadr_registered;                    /* 0: the household leaves the program (default 1) */

    /* [policy] local price response */
    double charge_below;                    /* price per kWh; default 0.10 */
    double discharge_above;                 /* default 0.30 */
    double base_price;                      /* the tariff relative OpenADR 2.0b prices apply to; NAN = none */
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

/* The home owner's file (STATE_DIR/owner.ini, see gateway/owner.h): the same syntax and value
 * checks, but only the owner's keys - [oadr] unavailable, opt_out and registered; any other key is
 * an error.  OUT gets the defaults and those keys.  As gw_config_load() / _parse_string(). */
int gw_config_load_owner(gw_config_t *out, const char *path, gw_config_errors_t *errs);
int gw_config_parse_owner_string(gw_config_t *out, const char *name, const char *text,
                                 gw_config_errors_t *errs);

/* A list of availability windows "START/DURATION, ..." (START an ISO 8601 date-time such as
 * 2026-12-01T18:00:00Z, DURATION an xcal duration such as PT2H; commas or blanks between) into W
 * (up to MAX; *N the count).  0, or GE_ERR_PARSE / GE_ERR_LIMIT with WHY saying which window and
 * what is wrong with it.  The [oadr] unavailable key and `oadr run --unavailable` use it. */
int gw_config_parse_windows(const char *text, oadr_opt_window_t *w, size_t max, size_t *n, char *why,
                            size_t whylen);

/* "FILE:LINE: error: MESSAGE" for error I into BUF; returns BUF. */
const char *gw_config_error_format(const gw_config_errors_t *errs, size_t i, char *buf, size_t size);

/* Log every error through LOG (module "config"). */
void gw_config_errors_log(const gw_config_errors_t *errs, const ge_log_t *log);

#endif
