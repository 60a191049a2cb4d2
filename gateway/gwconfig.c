/* gwconfig.c - reads the gateway's INI file with inih, checks every key against one table, then
 * checks the rules between keys; every problem becomes "FILE:LINE: error: MESSAGE" (gwconfig.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include <gridedge/sep.h>

#include "gateway/gwconfig.h"
#include "gateway/url.h"

typedef enum kind {
    K_STR, K_BOOL, K_INT, K_U64, K_DOUBLE, K_ADAPTER, K_LOG_LEVEL, K_OADR_VERSION, K_SEP_PROFILE, K_HHMM,
    K_OPT_OUT, K_URL, K_HEX40, K_TZ, K_WINDOWS, K_LISTEN
} kind_t;

typedef struct key_spec {
    const char *section;
    const char *name;
    kind_t kind;
    size_t off;
    size_t size;      /* K_STR / K_URL / K_HEX40 / K_TZ / K_LISTEN: the array's size */
    double min, max;  /* K_INT / K_DOUBLE */
} key_spec_t;

#define F(field) offsetof(gw_config_t, field), sizeof(((gw_config_t *)0)->field)
#define N(field) offsetof(gw_config_t, field), 0

static const key_spec_t keys[] = {
    { "gateway", "state_dir", K_STR, F(state_dir), 0, 0 },
    { "gateway", "status_file", K_STR, F(status_file), 0, 0 },
    { "gateway", "status_port", K_INT, N(status_port), 0, 65535 },
    { "gateway", "log_level", K_LOG_LEVEL, N(log_level), 0, 0 },
    { "gateway", "adapter", K_ADAPTER, N(adapter), 0, 0 },
    { "gateway", "time_zone", K_TZ, F(time_zone), 0, 0 },

    { "sep", "enabled", K_BOOL, N(sep_enabled), 0, 0 },
    { "sep", "server", K_URL, F(sep_server), 0, 0 },
    { "sep", "ca", K_STR, F(sep_ca), 0, 0 },
    { "sep", "cert", K_STR, F(sep_cert), 0, 0 },
    { "sep", "key", K_STR, F(sep_key), 0, 0 },
    { "sep", "lfdi", K_HEX40, F(sep_lfdi), 0, 0 },
    /* 2030.5 servers set pollRate themselves; this is only the fallback (CSIP 5.2.1: 900 s). */
    { "sep", "poll_interval", K_INT, N(sep_poll_s), 1, 86400 },
    { "sep", "timeout", K_INT, N(sep_timeout_s), 1, 300 },
    { "sep", "pin", K_INT, N(sep_pin), 0, 999999 },
    { "sep", "profile", K_SEP_PROFILE, N(sep_profile), 0, 0 },
    { "sep", "nmi", K_STR, F(sep_nmi), 0, 0 },
    { "sep", "notify", K_LISTEN, F(sep_notify), 0, 0 },
    { "sep", "demand_response", K_BOOL, N(sep_demand_response), 0, 0 },

    { "oadr", "enabled", K_BOOL, N(oadr_enabled), 0, 0 },
    { "oadr", "version", K_OADR_VERSION, N(oadr_version), 0, 0 },
    { "oadr", "vtn", K_URL, F(oadr_vtn), 0, 0 },
    { "oadr", "ven_name", K_STR, F(oadr_ven_name), 0, 0 },
    { "oadr", "token", K_STR, F(oadr_token), 0, 0 },
    { "oadr", "client_id", K_STR, F(oadr_client_id), 0, 0 },
    { "oadr", "client_secret", K_STR, F(oadr_client_secret), 0, 0 },
    { "oadr", "ca", K_STR, F(oadr_ca), 0, 0 },
    { "oadr", "cert", K_STR, F(oadr_cert), 0, 0 },
    { "oadr", "key", K_STR, F(oadr_key), 0, 0 },
    { "oadr", "poll_interval", K_INT, N(oadr_poll_s), 1, 86400 },
    { "oadr", "opt_out", K_OPT_OUT, N(oadr_opt_out), 0, 0 },
    { "oadr", "unavailable", K_WINDOWS, N(oadr_unavailable), 0, 0 },
    { "oadr", "registered", K_BOOL, N(oadr_registered), 0, 0 },
    { "oadr", "push", K_BOOL, N(oadr_push), 0, 0 },
    { "oadr", "push_port", K_INT, N(oadr_push_port), 0, 65535 },
    { "oadr", "push_bind", K_STR, F(oadr_push_bind), 0, 0 },
    { "oadr", "push_cert", K_STR, F(oadr_push_cert), 0, 0 },
    { "oadr", "push_key", K_STR, F(oadr_push_key), 0, 0 },
    { "oadr", "sign", K_BOOL, N(oadr_sign), 0, 0 },

    { "policy", "charge_below", K_DOUBLE, N(charge_below), -1000, 1000 },
    { "policy", "discharge_above", K_DOUBLE, N(discharge_above), -1000, 1000 },
    { "policy", "base_price", K_DOUBLE, N(base_price), -1000, 1000 },
    { "policy", "reserve_soc_pct", K_DOUBLE, N(reserve_soc_pct), 0, 100 },
    { "policy", "ev_departure", K_HHMM, N(ev_departure_min), 0, 0 },
    { "policy", "import_limit_w", K_DOUBLE, N(import_limit_w), 0, 1e7 },
    { "policy", "export_limit_w", K_DOUBLE, N(export_limit_w), 0, 1e7 },

    { "sim", "seed", K_U64, N(sim_seed), 0, 0 },
    { "sim", "pv_peak_w", K_DOUBLE, N(sim_pv_peak_w), 0, 1e6 },
    { "sim", "battery_wh", K_DOUBLE, N(sim_battery_wh), 0, 1e7 },
    { "sim", "battery_max_w", K_DOUBLE, N(sim_battery_max_w), 0, 1e6 },
    { "sim", "start_soc_pct", K_DOUBLE, N(sim_start_soc_pct), 0, 100 },
    { "sim", "ev_charger_w", K_DOUBLE, N(sim_ev_charger_w), 0, 1e6 },
    { "sim", "house_w", K_DOUBLE, N(sim_house_w), 0, 1e6 },

    { "sunspec", "host", K_STR, F(sunspec_host), 0, 0 },
    { "sunspec", "port", K_INT, N(sunspec_port), 1, 65535 },
    { "sunspec", "unit_id", K_INT, N(sunspec_unit_id), 0, 255 }, /* Modbus unit ids are 0..255 */
    { "sunspec", "timeout_ms", K_INT, N(sunspec_timeout_ms), 10, 60000 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = { "gateway", "sep", "oadr", "policy", "sim", "sunspec" };
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* What the home owner's file (owner.ini) may set: all in [oadr]. */
static const char *const owner_keys[] = { "unavailable", "opt_out", "registered" };

/* The longest line we accept; longer lines are an error rather than silently split.  inih's own
 * line buffer (the NUM its reader is given, 200 bytes in Debian's build) is usually the bound. */
#define LINE_MAX_LEN 1024

typedef struct parse {
    gw_config_t cfg;
    gw_config_errors_t *errs;
    /* input: a FILE or a string */
    FILE *fp;
    const char *text;
    int line;                    /* the line the reader handed out last */
    int key_line[NKEYS];         /* where each key was set; 0 = not set */
    int section_line[NSECTIONS]; /* first header line of each known section; 0 = absent */
    int owner;                   /* the home owner's file: only owner_keys */
} parse_t;

static void add_error(gw_config_errors_t *errs, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(gw_config_errors_t *errs, int line, const char *fmt, ...)
{
    va_list ap;
    size_t i;

    errs->total++;
    if (errs->count >= GW_CONFIG_ERRORS_MAX)
        return;
    /* keep line order: errors from the checks after parsing point back at earlier lines */
    for (i = errs->count; i > 0 && errs->items[i - 1].line > line; i--)
        errs->items[i] = errs->items[i - 1];
    errs->items[i].line = line;
    va_start(ap, fmt);
    vsnprintf(errs->items[i].msg, sizeof(errs->items[i].msg), fmt, ap);
    va_end(ap);
    errs->count++;
}

void gw_config_defaults(gw_config_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/gridedge");
    c->status_port = 8080;
    c->log_level = GE_LOG_INFO;
    c->adapter = GW_ADAPTER_SIM;
    snprintf(c->time_zone, sizeof(c->time_zone), "UTC");
    c->sep_poll_s = 900;
    c->sep_timeout_s = 30;
    c->oadr_version = GW_OADR_20B;
    c->oadr_poll_s = 60;
    c->oadr_registered = 1;
    /* CLI-CONTRACT.md: charge below 0.10/kWh, discharge above 0.30/kWh */
    c->charge_below = 0.10;
    c->discharge_above = 0.30;
    c->base_price = NAN; /* no tariff: relative OpenADR prices are not acted on */
    c->reserve_soc_pct = 20;
    c->ev_departure_min = -1;
    c->import_limit_w = -1;
    c->export_limit_w = -1;
    c->sim_seed = 1;
    c->sim_pv_peak_w = 5000;
    c->sim_battery_wh = 13500;
    c->sim_battery_max_w = 5000;
    c->sim_start_soc_pct = 50;
    c->sim_ev_charger_w = 7200;
    c->sim_house_w = 1000;
    c->sunspec_port = 502;
    c->sunspec_unit_id = 1;
    c->sunspec_timeout_ms = 1000;
}

/* --- the reader: one physical line per call, so inih's line numbers are ours ------------------ */

static int next_char(parse_t *p)
{
    if (p->fp)
        return getc(p->fp);
    if (!*p->text)
        return EOF;
    return (unsigned char)*p->text++;
}

static void note_section(parse_t *p, const char *line)
{
    const char *s = line, *e;
    size_t len;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '[' || !(e = strchr(s, ']')))
        return; /* not a header, or a broken one inih reports */
    s++;
    len = (size_t)(e - s);
    for (size_t i = 0; i < NSECTIONS; i++)
        if (strlen(sections[i]) == len && memcmp(sections[i], s, len) == 0) {
            if (!p->section_line[i])
                p->section_line[i] = p->line;
            return;
        }
    add_error(p->errs, p->line, "unknown section [%.*s]", (int)(len > 64 ? 64 : len), s);
}

static char *reader(char *str, int num, void *stream)
{
    parse_t *p = stream;
    int c, n = 0, too_long = 0;

    c = next_char(p);
    if (c == EOF)
        return NULL;
    p->line++;
    for (; c != EOF && c != '\n'; c = next_char(p)) {
        if (n < num - 2 && n < LINE_MAX_LEN)
            str[n++] = (char)c;
        else
            too_long = 1;
    }
    if (too_long) {
        add_error(p->errs, p->line, "line too long (more than %d characters)",
                  (num - 2 < LINE_MAX_LEN ? num - 2 : LINE_MAX_LEN));
        n = 0; /* hand inih an empty line: the error is ours */
    }
    str[n++] = '\n';
    str[n] = '\0';
    note_section(p, str);
    return str;
}

/* --- values ------------------------------------------------------------------------------------ */

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

static int parse_long(const char *v, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(v, &end, 10);
    return (end == v || *end || errno) ? -1 : 0;
}

static int parse_double(const char *v, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(v, &end);
    return (end == v || *end || errno || !isfinite(*out)) ? -1 : 0;
}

static int set_str(parse_t *p, const key_spec_t *k, const char *v)
{
    char *dst = (char *)&p->cfg + k->off;

    if (strlen(v) >= k->size) {
        add_error(p->errs, p->line, "%s is too long (at most %zu characters)", k->name, k->size - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void set_value(parse_t *p, const key_spec_t *k, const char *v)
{
    void *dst = (char *)&p->cfg + k->off;
    long l;
    double d;
    int b;

    switch (k->kind) {
    case K_STR:
        set_str(p, k, v);
        return;
    case K_URL: {
        gw_url_t u;
        if (!starts_with(v, "http://") && !starts_with(v, "https://") ) {
            add_error(p->errs, p->line, "%s must be an http:// or https:// URL, not '%.64s'", k->name, v);
            return;
        }
        if (gw_url_parse(v, &u) < 0) {
            add_error(p->errs, p->line, "%s is not a valid URL (http[s]://host[:port][/path]): '%.64s'", k->name, v);
            return;
        }
        set_str(p, k, v);
        return;
    }
    case K_LISTEN: {
        char addr[64];
        unsigned port;
        if (strcmp(v, "off") != 0 && gw_notify_addr_parse(v, addr, sizeof(addr), &port) < 0) {
            add_error(p->errs, p->line,
                      "%s must be off or a numeric address with an optional port (ADDR[:PORT], [IPV6]:PORT), not '%.64s'",
                      k->name, v);
            return;
        }
        set_str(p, k, v);
        return;
    }
    case K_HEX40:
        /* IEEE 2030.5 6.3.4: the LFDI is the first 160 bits of the certificate's SHA-256
         * fingerprint, 40 hex digits. */
        for (size_t i = 0; v[i]; i++)
            if (!isxdigit((unsigned char)v[i])) {
                add_error(p->errs, p->line, "%s must be 40 hex digits", k->name);
                return;
            }
        if (strlen(v) != 40) {
            add_error(p->errs, p->line, "%s must be 40 hex digits, not %zu", k->name, strlen(v));
            return;
        }
        set_str(p, k, v);
        return;
    case K_TZ:
        for (size_t i = 0; v[i]; i++)
            if (!isalnum((unsigned char)v[i]) && !strchr("/_+-", v[i])) {
                add_error(p->errs, p->line, "%s is not a time zone name like Europe/Berlin: '%.64s'",
                          k->name, v);
                return;
            }
        if (!*v || v[0] == '/' || strstr(v, "..")) {
            add_error(p->errs, p->line, "%s is not a time zone name like Europe/Berlin", k->name);
            return;
        }
        set_str(p, k, v);
        return;
    case K_BOOL:
        if (parse_bool(v, &b))
            add_error(p->errs, p->line, "%s must be true or false, not '%.64s'", k->name, v);
        else
            *(int *)dst = b;
        return;
    case K_INT:
        if (parse_long(v, &l)) {
            add_error(p->errs, p->line, "%s must be a whole number, not '%.64s'", k->name, v);
        } else if ((double)l < k->min || (double)l > k->max) {
            add_error(p->errs, p->line, "%s must be between %.0f and %.0f, not %ld", k->name, k->min,
                      k->max, l);
        } else {
            *(int *)dst = (int)l;
        }
        return;
    case K_U64: {
        char *end;
        unsigned long long u;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
            add_error(p->errs, p->line, "%s must be a whole number >= 0, not '%.64s'", k->name, v);
        else
            *(uint64_t *)dst = (uint64_t)u;
        return;
    }
    case K_DOUBLE:
        if (parse_double(v, &d))
            add_error(p->errs, p->line, "%s must be a number, not '%.64s'", k->name, v);
        else if (d < k->min || d > k->max)
            add_error(p->errs, p->line, "%s must be between %g and %g, not %g", k->name, k->min,
                      k->max, d);
        else
            *(double *)dst = d;
        return;
    case K_ADAPTER:
        if (strcmp(v, "sim") == 0)
            p->cfg.adapter = GW_ADAPTER_SIM;
        else if (strcmp(v, "sunspec") == 0)
            p->cfg.adapter = GW_ADAPTER_SUNSPEC;
        else
            add_error(p->errs, p->line, "adapter must be sim or sunspec, not '%.64s'", v);
        return;
    case K_LOG_LEVEL:
        for (int lv = GE_LOG_ERROR; lv <= GE_LOG_DEBUG; lv++)
            if (strcmp(v, ge_log_level_name((ge_log_level)lv)) == 0) {
                p->cfg.log_level = (ge_log_level)lv;
                return;
            }
        add_error(p->errs, p->line, "log_level must be error, warn, info or debug, not '%.64s'", v);
        return;
    case K_OADR_VERSION:
        if (strcmp(v, "2.0b") == 0)
            p->cfg.oadr_version = GW_OADR_20B;
        else if (strcmp(v, "3.0") == 0)
            p->cfg.oadr_version = GW_OADR_30;
        else
            add_error(p->errs, p->line, "version must be 2.0b or 3.0, not '%.64s'", v);
        return;
    case K_SEP_PROFILE:
        if (strcmp(v, "auto") == 0)
            p->cfg.sep_profile = SEP_PROFILE_AUTO;
        else if (strcmp(v, "csip") == 0)
            p->cfg.sep_profile = SEP_PROFILE_CSIP;
        else if (strcmp(v, "csip-aus") == 0)
            p->cfg.sep_profile = SEP_PROFILE_CSIP_AUS;
        else
            add_error(p->errs, p->line, "profile must be auto, csip or csip-aus, not '%.64s'", v);
        return;
    case K_HHMM: {
        int h, m;
        char extra;
        if (sscanf(v, "%2d:%2d%c", &h, &m, &extra) != 2 || strlen(v) != 5 || h < 0 || h > 23 ||
            m < 0 || m > 59)
            add_error(p->errs, p->line, "%s must be a time HH:MM (00:00 to 23:59), not '%.64s'",
                      k->name, v);
        else
            p->cfg.ev_departure_min = h * 60 + m;
        return;
    }
    case K_OPT_OUT: {
        /* a comma- or space-separated list of event ids */
        char buf[LINE_MAX_LEN + 1], *save = NULL, *tok;
        snprintf(buf, sizeof(buf), "%s", v);
        p->cfg.oadr_n_opt_out = 0;
        for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
            if (p->cfg.oadr_n_opt_out >= GW_CONFIG_OPT_OUT_MAX) {
                add_error(p->errs, p->line, "opt_out lists more than %d events",
                          GW_CONFIG_OPT_OUT_MAX);
                return;
            }
            if (strlen(tok) >= sizeof(p->cfg.oadr_opt_out[0])) {
                add_error(p->errs, p->line, "opt_out event id '%.32s...' is too long", tok);
                return;
            }
            snprintf(p->cfg.oadr_opt_out[p->cfg.oadr_n_opt_out++], sizeof(p->cfg.oadr_opt_out[0]),
                     "%s", tok);
        }
        return;
    }
    case K_WINDOWS: {
        char why[160];
        if (gw_config_parse_windows(v, p->cfg.oadr_unavailable, GW_CONFIG_WINDOWS_MAX,
                                    &p->cfg.oadr_n_unavailable, why, sizeof(why)) < 0) {
            p->cfg.oadr_n_unavailable = 0;
            add_error(p->errs, p->line, "%s: %s", k->name, why);
        }
        return;
    }
    }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_t *p = user;
    int known_section = 0;

    for (size_t i = 0; i < NSECTIONS; i++)
        if (strcmp(sections[i], section) == 0)
            known_section = 1;
    if (!known_section) {
        if (!*section)
            add_error(p->errs, p->line, "key '%.64s' outside any [section]", name);
        /* keys of an unknown section: its header was reported already */
        return 1;
    }
    if (p->owner) {
        int mine = 0;
        for (size_t i = 0; i < sizeof(owner_keys) / sizeof(owner_keys[0]); i++)
            mine |= strcmp(section, "oadr") == 0 && strcmp(name, owner_keys[i]) == 0;
        if (!mine) {
            add_error(p->errs, p->line, "'%.64s' in [%s] is not the home owner's to set (the owner file holds "
                      "[oadr] unavailable, opt_out and registered)", name, section);
            return 1;
        }
    }
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) || strcmp(keys[i].name, name))
            continue;
        if (p->key_line[i]) {
            add_error(p->errs, p->line, "%s is set twice in [%s] (first on line %d)", name, section,
                      p->key_line[i]);
            return 1;
        }
        p->key_line[i] = p->line;
        set_value(p, &keys[i], value);
        return 1;
    }
    add_error(p->errs, p->line, "unknown key '%.64s' in [%s]", name, section);
    return 1; /* keep going: we collect every error ourselves */
}

/* --- rules between keys ------------------------------------------------------------------------ */

static int key_line(const parse_t *p, const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
            return p->key_line[i];
    return 0;
}

static int section_line(const parse_t *p, const char *section)
{
    for (size_t i = 0; i < NSECTIONS; i++)
        if (!strcmp(sections[i], section))
            return p->section_line[i];
    return 0;
}

/* The line of KEY if it was set, else of its section's header, else 1 (a missing section). */
static int where(const parse_t *p, const char *section, const char *name)
{
    int l = name ? key_line(p, section, name) : 0;
    if (!l)
        l = section_line(p, section);
    return l ? l : 1;
}

static void check_tls(parse_t *p, const char *section, const char *url_key, const char *url,
                      const char *ca, const char *cert, const char *key, int need_client_cert)
{
    if (!starts_with(url, "https://"))
        return;
    if (!*ca)
        add_error(p->errs, where(p, section, url_key),
                  "[%s] %s is https:// but ca (the CA that signs the server's certificate) is not set",
                  section, url_key);
    if (need_client_cert && (!*cert || !*key))
        add_error(p->errs, where(p, section, url_key),
                  "[%s] %s is https:// but cert and key (the client's identity) are not both set",
                  section, url_key);
}

static void check_rules(parse_t *p)
{
    gw_config_t *c = &p->cfg;

    if (!*c->state_dir)
        add_error(p->errs, where(p, "gateway", "state_dir"), "state_dir must not be empty");

    if (c->sep_enabled) {
        if (!*c->sep_server && !key_line(p, "sep", "server")) /* a bad one was reported */
            add_error(p->errs, where(p, "sep", NULL),
                      "[sep] is enabled but server (the DeviceCapability URL) is not set");
        /* CSIP / IEEE 2030.5 5.2: TLS with a client certificate; no certificate, no identity */
        check_tls(p, "sep", "server", c->sep_server, c->sep_ca, c->sep_cert, c->sep_key, 1);
    }
    if (c->oadr_enabled) {
        if (!*c->oadr_vtn && !key_line(p, "oadr", "vtn"))
            add_error(p->errs, where(p, "oadr", NULL), "[oadr] is enabled but vtn (the VTN URL) is not set");
        if (!*c->oadr_ven_name && !key_line(p, "oadr", "ven_name"))
            add_error(p->errs, where(p, "oadr", NULL), "[oadr] is enabled but ven_name is not set");
        /* 2.0b mandates client certificates over TLS; 3.0 authenticates with a bearer token, so
         * only the CA is needed there. */
        check_tls(p, "oadr", "vtn", c->oadr_vtn, c->oadr_ca, c->oadr_cert, c->oadr_key,
                  c->oadr_version == GW_OADR_20B);
        if (c->oadr_version == GW_OADR_30 && !*c->oadr_token && !*c->oadr_client_id)
            add_error(p->errs, where(p, "oadr", "version"),
                      "[oadr] version 3.0 needs token, or client_id and client_secret");
        if (c->oadr_push && c->oadr_version != GW_OADR_20B)
            add_error(p->errs, where(p, "oadr", "push"), "push is an OpenADR 2.0b transport (3.0 uses webhooks)");
        if (c->oadr_sign && c->oadr_version != GW_OADR_20B)
            add_error(p->errs, where(p, "oadr", "sign"), "sign (XML signatures) is an OpenADR 2.0b feature");
        else if (c->oadr_sign && !(*c->oadr_ca && *c->oadr_cert && *c->oadr_key))
            add_error(p->errs, where(p, "oadr", "sign"),
                      "sign = true needs ca (to verify the VTN's signatures), cert and key (to sign ours)");
    }
    if (!c->oadr_push && (key_line(p, "oadr", "push_port") || *c->oadr_push_bind || *c->oadr_push_cert ||
                          *c->oadr_push_key))
        add_error(p->errs, where(p, "oadr", *c->oadr_push_bind ? "push_bind" : *c->oadr_push_cert ? "push_cert"
                                             : *c->oadr_push_key ? "push_key" : "push_port"),
                  "push_port, push_bind, push_cert and push_key go with push = true");
    if (!*c->oadr_push_cert != !*c->oadr_push_key)
        add_error(p->errs, where(p, "oadr", *c->oadr_push_cert ? "push_cert" : "push_key"),
                  "push_cert and push_key go together");
    if (*c->oadr_client_id && !*c->oadr_client_secret)
        add_error(p->errs, where(p, "oadr", "client_id"), "client_id is set but client_secret is not");
    if (*c->oadr_client_secret && !*c->oadr_client_id)
        add_error(p->errs, where(p, "oadr", "client_secret"), "client_secret is set but client_id is not");
    if (*c->oadr_token && *c->oadr_client_id)
        add_error(p->errs, where(p, "oadr", "token"), "set token or client_id/client_secret, not both");

    if (c->charge_below >= c->discharge_above)
        add_error(p->errs, where(p, "policy", key_line(p, "policy", "discharge_above") ?
                                 "discharge_above" : "charge_below"),
                  "charge_below (%g) must be lower than discharge_above (%g)", c->charge_below,
                  c->discharge_above);
    if (c->adapter == GW_ADAPTER_SUNSPEC && !*c->sunspec_host)
        add_error(p->errs, where(p, "gateway", "adapter"),
                  "adapter is sunspec but [sunspec] host is not set");
    if (c->sim_start_soc_pct > 100)
        add_error(p->errs, where(p, "sim", "start_soc_pct"), "start_soc_pct must be at most 100");
}

/* --- entry points ------------------------------------------------------------------------------ */

static int parse(gw_config_t *out, parse_t *p)
{
    int rc;

    rc = ini_parse_stream(reader, p, handler, p);
    if (rc > 0)
        add_error(p->errs, rc, "syntax error: expected [section] or key = value");
    else if (rc < 0)
        add_error(p->errs, p->line, "out of memory while reading");
    if (!p->owner)
        check_rules(p);
    if (p->errs->total)
        return GE_ERR_CONFIG;
    *out = p->cfg;
    return 0;
}

static parse_t *parse_new(const char *name, gw_config_errors_t *errs)
{
    /* The state is a few kB: keep it off the (possibly small) stack of the daemon's loop. */
    parse_t *p = calloc(1, sizeof(*p));

    memset(errs, 0, sizeof(*errs));
    snprintf(errs->file, sizeof(errs->file), "%s", name ? name : "-");
    if (p) {
        gw_config_defaults(&p->cfg);
        p->errs = errs;
    }
    return p;
}

static int load(gw_config_t *out, const char *path, gw_config_errors_t *errs, int owner)
{
    parse_t *p;
    int err;

    if (!out || !path || !errs)
        return GE_ERR_INVALID;
    if (!(p = parse_new(path, errs)))
        return GE_ERR_NOMEM;
    p->owner = owner;
    if (!(p->fp = fopen(path, "r"))) {
        add_error(errs, 0, "cannot read the file: %s", strerror(errno));
        free(p);
        return GE_ERR_CONFIG;
    }
    err = parse(out, p);
    if (ferror(p->fp) && !err) {
        add_error(errs, p->line, "read error");
        err = GE_ERR_CONFIG;
    }
    fclose(p->fp);
    free(p);
    return err;
}

static int parse_string(gw_config_t *out, const char *name, const char *text, gw_config_errors_t *errs, int owner)
{
    parse_t *p;
    int err;

    if (!out || !text || !errs)
        return GE_ERR_INVALID;
    if (!(p = parse_new(name, errs)))
        return GE_ERR_NOMEM;
    p->text = text;
    p->owner = owner;
    err = parse(out, p);
    free(p);
    return err;
}

int gw_config_load(gw_config_t *out, const char *path, gw_config_errors_t *errs)
{
    return load(out, path, errs, 0);
}

int gw_config_parse_string(gw_config_t *out, const char *name, const char *text,
                           gw_config_errors_t *errs)
{
    return parse_string(out, name, text, errs, 0);
}

int gw_config_load_owner(gw_config_t *out, const char *path, gw_config_errors_t *errs)
{
    return load(out, path, errs, 1);
}

int gw_config_parse_owner_string(gw_config_t *out, const char *name, const char *text,
                                 gw_config_errors_t *errs)
{
    return parse_string(out, name, text, errs, 1);
}

int gw_config_parse_windows(const char *text, oadr_opt_window_t *w, size_t max, size_t *n, char *why,
                            size_t whylen)
{
    const char *p = text;

    *n = 0;
    while (p && *p) {
        char tok[128], start[96];
        const char *slash;
        size_t len = strcspn(p, ", \t");
        int64_t t, d;

        if (len == 0) {
            p++;
            continue;
        }
        if (len >= sizeof(tok)) {
            snprintf(why, whylen, "the window '%.40s...' is too long (START/DURATION, e.g. "
                     "2026-12-01T18:00:00Z/PT2H)", p);
            return GE_ERR_PARSE;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        p += len;
        if (*n == max) {
            snprintf(why, whylen, "more than %zu windows", max);
            return GE_ERR_LIMIT;
        }
        slash = strchr(tok, '/');
        if (!slash || (size_t)(slash - tok) >= sizeof(start)) {
            snprintf(why, whylen, "the window '%s' is not START/DURATION (e.g. 2026-12-01T18:00:00Z/PT2H)", tok);
            return GE_ERR_PARSE;
        }
        memcpy(start, tok, (size_t)(slash - tok));
        start[slash - tok] = '\0';
        if (oadr_parse_datetime(start, &t) < 0) {
            snprintf(why, whylen, "the window '%s': START '%s' is not an ISO 8601 date-time such as "
                     "2026-12-01T18:00:00Z", tok, start);
            return GE_ERR_PARSE;
        }
        if (oadr_parse_duration(slash + 1, &d) < 0 || d <= 0 || d > GW_CONFIG_WINDOW_MAX_S) {
            snprintf(why, whylen, "the window '%s': DURATION '%s' is not a duration of 1 s to 366 days "
                     "such as PT2H", tok, slash + 1);
            return GE_ERR_PARSE;
        }
        w[*n].start = t;
        w[*n].duration = d;
        (*n)++;
    }
    return 0;
}

const char *gw_config_error_format(const gw_config_errors_t *errs, size_t i, char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    if (!errs || i >= errs->count)
        snprintf(buf, size, "?");
    else
        snprintf(buf, size, "%s:%d: error: %s", errs->file, errs->items[i].line, errs->items[i].msg);
    return buf;
}

void gw_config_errors_log(const gw_config_errors_t *errs, const ge_log_t *log)
{
    char buf[GW_CONFIG_PATH_MAX + 256];

    for (size_t i = 0; errs && i < errs->count; i++)
        ge_log(log, GE_LOG_ERROR, "config", "%s", gw_config_error_format(errs, i, buf, sizeof(buf)));
    if (errs && errs->total > errs->count)
        ge_log(log, GE_LOG_ERROR, "config", "%s: %zu more errors", errs->file,
               errs->total - errs->count);
}
