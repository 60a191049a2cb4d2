/* test_config.c - the gateway's INI configuration (gateway/gwconfig.c): good files give the
 * settings a user wrote, bad ones give "FILE:LINE: error: MESSAGE" pointing at the right line,
 * all errors are collected, and a failed load leaves the previous settings in place (reload). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gridedge/sep.h>

#include "gateway/gwconfig.h"
#include "runner.h"

/* --- good configs ------------------------------------------------------------------------------ */

static void test_defaults_from_empty_file(void)
{
    gw_config_t c, d;
    gw_config_errors_t e;

    memset(&c, 0xAA, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(gw_config_parse_string(&c, "empty.ini", "", &e), 0);
    CU_ASSERT_EQUAL(e.count, 0);
    gw_config_defaults(&d);
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof(c)), 0);
    /* the contract's numbers */
    CU_ASSERT_DOUBLE_EQUAL(c.charge_below, 0.10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.discharge_above, 0.30, 1e-12);
    CU_ASSERT_TRUE(isnan(c.base_price)); /* no tariff unless configured */
    CU_ASSERT_DOUBLE_EQUAL(c.sim_pv_peak_w, 5000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_battery_wh, 13500, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_battery_max_w, 5000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_start_soc_pct, 50, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_ev_charger_w, 7200, 1e-9);
    CU_ASSERT_EQUAL(c.sep_enabled, 0);
    CU_ASSERT_EQUAL(c.oadr_enabled, 0);
    CU_ASSERT_EQUAL(c.ev_departure_min, -1);
    CU_ASSERT(c.export_limit_w < 0);
}

static const char full_ini[] =
    "; a complete site\n"
    "[gateway]\n"
    "state_dir = /tmp/gw-state\n"
    "status_file = /run/gridedge/status.json\n"
    "status_port = 8088\n"
    "log_level = debug\n"
    "adapter = sunspec\n"
    "time_zone = Australia/Adelaide\n"
    "\n"
    "[sep]\n"
    "enabled = yes\n"
    "server = https://127.0.0.1:8443/dcap\n"
    "ca = /etc/gridedge/ca.pem\n"
    "cert = /etc/gridedge/client.pem\n"
    "key = /etc/gridedge/client.key   ; inline comment\n"
    "lfdi = 3E4F45AB31EDFE5B67E343E5E4562E31984E23E5\n"
    "poll_interval = 300\n"
    "pin = 111115\n"
    "profile = csip-aus\n"
    "nmi = 4102345678\n"
    "demand_response = yes\n"
    "\n"
    "[oadr]\n"
    "enabled = true\n"
    "version = 3.0\n"
    "vtn = http://127.0.0.1:8081/openadr3\n"
    "ven_name = home-42\n"
    "client_id = ven42\n"
    "client_secret = s3cret\n"
    "opt_out = evt-1, evt-2 evt-3\n"
    "\n"
    "[policy]\n"
    "charge_below = 0.05\n"
    "discharge_above = 0.45\n"
    "base_price = 0.22\n"
    "reserve_soc_pct = 30\n"
    "ev_departure = 07:30\n"
    "import_limit_w = 15000\n"
    "export_limit_w = 0\n"
    "\n"
    "[sim]\n"
    "seed = 12345678901\n"
    "pv_peak_w = 6600\n"
    "\n"
    "[sunspec]\n"
    "host = 127.0.0.1\n"
    "port = 1502\n"
    "unit_id = 3\n";

static void test_full_config(void)
{
    gw_config_t c;
    gw_config_errors_t e;
    char buf[512];

    int err = gw_config_parse_string(&c, "site.ini", full_ini, &e);
    for (size_t i = 0; i < e.count; i++)
        fprintf(stderr, "%s\n", gw_config_error_format(&e, i, buf, sizeof(buf)));
    CU_ASSERT_EQUAL_FATAL(err, 0);
    CU_ASSERT_STRING_EQUAL(c.state_dir, "/tmp/gw-state");
    CU_ASSERT_STRING_EQUAL(c.status_file, "/run/gridedge/status.json");
    CU_ASSERT_EQUAL(c.status_port, 8088);
    CU_ASSERT_EQUAL(c.log_level, GE_LOG_DEBUG);
    CU_ASSERT_EQUAL(c.adapter, GW_ADAPTER_SUNSPEC);
    CU_ASSERT_STRING_EQUAL(c.time_zone, "Australia/Adelaide");
    CU_ASSERT_EQUAL(c.sep_enabled, 1);
    CU_ASSERT_STRING_EQUAL(c.sep_server, "https://127.0.0.1:8443/dcap");
    CU_ASSERT_STRING_EQUAL(c.sep_key, "/etc/gridedge/client.key");
    CU_ASSERT_STRING_EQUAL(c.sep_lfdi, "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5");
    CU_ASSERT_EQUAL(c.sep_poll_s, 300);
    CU_ASSERT_EQUAL(c.sep_pin, 111115);
    CU_ASSERT_EQUAL(c.sep_profile, SEP_PROFILE_CSIP_AUS);
    CU_ASSERT_STRING_EQUAL(c.sep_nmi, "4102345678");
    CU_ASSERT_EQUAL(c.sep_demand_response, 1);
    CU_ASSERT_EQUAL(c.oadr_enabled, 1);
    CU_ASSERT_EQUAL(c.oadr_version, GW_OADR_30);
    CU_ASSERT_STRING_EQUAL(c.oadr_ven_name, "home-42");
    CU_ASSERT_EQUAL_FATAL(c.oadr_n_opt_out, 3);
    CU_ASSERT_STRING_EQUAL(c.oadr_opt_out[0], "evt-1");
    CU_ASSERT_STRING_EQUAL(c.oadr_opt_out[2], "evt-3");
    CU_ASSERT_DOUBLE_EQUAL(c.charge_below, 0.05, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.discharge_above, 0.45, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.base_price, 0.22, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(c.reserve_soc_pct, 30, 1e-12);
    CU_ASSERT_EQUAL(c.ev_departure_min, 7 * 60 + 30);
    CU_ASSERT_DOUBLE_EQUAL(c.import_limit_w, 15000, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.export_limit_w, 0, 1e-9);
    CU_ASSERT_EQUAL(c.sim_seed, 12345678901ULL);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_pv_peak_w, 6600, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.sim_battery_wh, 13500, 1e-9); /* untouched keys keep defaults */
    CU_ASSERT_STRING_EQUAL(c.sunspec_host, "127.0.0.1");
    CU_ASSERT_EQUAL(c.sunspec_port, 1502);
    CU_ASSERT_EQUAL(c.sunspec_unit_id, 3);
}

/* Good variants: each must load. */
static void test_good_table(void)
{
    static const char *const good[] = {
        "[sep]\nenabled = false\n",
        "[sep]\nenabled = on\nserver = http://127.0.0.1:8080/dcap\n",
        "[oadr]\nenabled=1\nvtn=http://127.0.0.1/OpenADR2/Simple/2.0b\nven_name=v\n",
        "[oadr]\nenabled=1\nversion=3.0\nvtn=https://vtn.example/openadr3\nven_name=v\n"
        "token=abc\nca=/ca.pem\n",
        "[oadr]\nenabled=1\nvtn=https://vtn/OpenADR2/Simple/2.0b\nven_name=v\nca=a\ncert=b\nkey=c\n",
        "[oadr]\nenabled=1\nvtn=https://vtn/OpenADR2/Simple/2.0b\nven_name=v\nca=a\ncert=b\nkey=c\npush=1\n"
        "push_port=8443\npush_bind=0.0.0.0\npush_cert=p.pem\npush_key=p.key\n",
        "[policy]\ncharge_below = -0.02\ndischarge_above = 0\n",
        "[policy]\nev_departure = 00:00\n",
        "[policy]\nev_departure = 23:59\n",
        "[gateway]\nstatus_port = 0\n",
        "[gateway]\nlog_level = error\n",
        "# hash comments too\n[sim]\nseed = 0\n",
        "\xEF\xBB\xBF[gateway]\nadapter = sim\n", /* a UTF-8 BOM from a Windows editor */
        "[gateway]\r\nstate_dir = /var/lib/x\r\n",
        "[sunspec]\nunit_id = 0\n[gateway]\nadapter=sunspec\n[sunspec]\nhost=10.0.0.2\n",
    };
    char buf[512];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        gw_config_t c;
        gw_config_errors_t e;
        int err = gw_config_parse_string(&c, "good.ini", good[i], &e);
        if (err) {
            fprintf(stderr, "\n  good[%zu] rejected: %s\n", i, gw_config_error_format(&e, 0, buf,
                    sizeof(buf)));
        }
        CU_ASSERT_EQUAL(err, 0);
    }
}

/* --- bad configs ------------------------------------------------------------------------------- */

/* Each bad file gives this as its first error line, exactly. */
static const struct {
    const char *text;
    const char *first;
} bad[] = {
    { "[gateway]\nstatus_port = 70000\n",
      "bad.ini:2: error: status_port must be between 0 and 65535, not 70000" },
    { "[gateway]\nstatus_port = 80a\n",
      "bad.ini:2: error: status_port must be a whole number, not '80a'" },
    { "[gateway]\n\nfrobnicate = 1\n",
      "bad.ini:3: error: unknown key 'frobnicate' in [gateway]" },
    { "[gateway]\n[heating]\nflow = 3\n",
      "bad.ini:2: error: unknown section [heating]" },
    { "state_dir = /x\n",
      "bad.ini:1: error: key 'state_dir' outside any [section]" },
    { "[gateway]\nthis line has no equals sign\n",
      "bad.ini:2: error: syntax error: expected [section] or key = value" },
    { "[gateway]\nadapter = modbus\n",
      "bad.ini:2: error: adapter must be sim or sunspec, not 'modbus'" },
    { "[gateway]\nlog_level = loud\n",
      "bad.ini:2: error: log_level must be error, warn, info or debug, not 'loud'" },
    { "[gateway]\nadapter = sunspec\n",
      "bad.ini:2: error: adapter is sunspec but [sunspec] host is not set" },
    { "[gateway]\ntime_zone = Europe/Berlin;rm\n",
      "bad.ini:2: error: time_zone is not a time zone name like Europe/Berlin: 'Europe/Berlin;rm'" },
    { "[sep]\nenabled = maybe\n",
      "bad.ini:2: error: enabled must be true or false, not 'maybe'" },
    { "[sep]\nprofile = csip-us\n",
      "bad.ini:2: error: profile must be auto, csip or csip-aus, not 'csip-us'" },
    { "# comment\n[sep]\nenabled = true\n",
      "bad.ini:2: error: [sep] is enabled but server (the DeviceCapability URL) is not set" },
    { "[sep]\nenabled = true\nserver = ftp://x/dcap\n",
      "bad.ini:3: error: server must be an http:// or https:// URL, not 'ftp://x/dcap'" },
    { "[sep]\nenabled = true\nserver = https://127.0.0.1:8443/dcap\nca = /ca.pem\n",
      "bad.ini:3: error: [sep] server is https:// but cert and key (the client's identity) are not "
      "both set" },
    { "[sep]\nenabled = true\ncert=c\nkey=k\nserver = https://127.0.0.1:8443/dcap\n",
      "bad.ini:5: error: [sep] server is https:// but ca (the CA that signs the server's "
      "certificate) is not set" },
    { "[sep]\nserver = https://127.0.0.1:99999/dcap\n",
      "bad.ini:2: error: server is not a valid URL (http[s]://host[:port][/path]): 'https://127.0.0.1:99999/dcap'" },
    { "[oadr]\nvtn = http://user@vtn/OpenADR2/Simple/2.0b\n",
      "bad.ini:2: error: vtn is not a valid URL (http[s]://host[:port][/path]): 'http://user@vtn/OpenADR2/Simple/2.0b'" },
    { "[sep]\nnotify = localhost:8080\n",
      "bad.ini:2: error: notify must be off or a numeric address with an optional port (ADDR[:PORT], [IPV6]:PORT), "
      "not 'localhost:8080'" },
    { "[sep]\nnotify = 127.0.0.1:70000\n",
      "bad.ini:2: error: notify must be off or a numeric address with an optional port (ADDR[:PORT], [IPV6]:PORT), "
      "not '127.0.0.1:70000'" },
    { "[sep]\nlfdi = 1234\n",
      "bad.ini:2: error: lfdi must be 40 hex digits, not 4" },
    { "[sep]\nlfdi = 3E4F45AB31EDFE5B67E343E5E4562E31984E23EZ\n",
      "bad.ini:2: error: lfdi must be 40 hex digits" },
    { "[sep]\npoll_interval = 0\n",
      "bad.ini:2: error: poll_interval must be between 1 and 86400, not 0" },
    { "[oadr]\nenabled = 1\nven_name = v\n",
      "bad.ini:1: error: [oadr] is enabled but vtn (the VTN URL) is not set" },
    { "[oadr]\nversion = 2.0a\n",
      "bad.ini:2: error: version must be 2.0b or 3.0, not '2.0a'" },
    { "[oadr]\nenabled=1\nversion=3.0\nvtn=http://127.0.0.1/openadr3\nven_name=v\n",
      "bad.ini:3: error: [oadr] version 3.0 needs token, or client_id and client_secret" },
    { "[oadr]\nclient_id = x\n",
      "bad.ini:2: error: client_id is set but client_secret is not" },
    { "[oadr]\nenabled=1\nvtn=https://vtn/OpenADR2/Simple/2.0b\nven_name=v\nca=a\n",
      "bad.ini:3: error: [oadr] vtn is https:// but cert and key (the client's identity) are not "
      "both set" },
    { "[oadr]\npush_port = 8080\n", "bad.ini:2: error: push_port, push_bind, push_cert and push_key go with push = true" },
    { "[oadr]\npush = yes\npush_cert = p.pem\n", "bad.ini:3: error: push_cert and push_key go together" },
    { "[oadr]\nenabled=1\nversion=3.0\nvtn=http://127.0.0.1/openadr3\nven_name=v\ntoken=t\npush=1\n",
      "bad.ini:7: error: push is an OpenADR 2.0b transport (3.0 uses webhooks)" },
    { "[oadr]\npush = 1\npush_port = 70000\n", "bad.ini:3: error: push_port must be between 0 and 65535, not 70000" },
    { "[policy]\ncharge_below = cheap\n",
      "bad.ini:2: error: charge_below must be a number, not 'cheap'" },
    { "[policy]\nbase_price = nan\n", "bad.ini:2: error: base_price must be a number, not 'nan'" },
    { "[policy]\nbase_price = 0.2 EUR\n", "bad.ini:2: error: base_price must be a number, not '0.2 EUR'" },
    { "[policy]\nbase_price = 2000\n", "bad.ini:2: error: base_price must be between -1000 and 1000, not 2000" },
    { "[policy]\ncharge_below = 0.40\n",
      "bad.ini:2: error: charge_below (0.4) must be lower than discharge_above (0.3)" },
    { "[policy]\nreserve_soc_pct = 101\n",
      "bad.ini:2: error: reserve_soc_pct must be between 0 and 100, not 101" },
    { "[policy]\nev_departure = 7:30\n",
      "bad.ini:2: error: ev_departure must be a time HH:MM (00:00 to 23:59), not '7:30'" },
    { "[policy]\nev_departure = 24:00\n",
      "bad.ini:2: error: ev_departure must be a time HH:MM (00:00 to 23:59), not '24:00'" },
    { "[policy]\nexport_limit_w = -5\n",
      "bad.ini:2: error: export_limit_w must be between 0 and 1e+07, not -5" },
    { "[policy]\nimport_limit_w = nan\n",
      "bad.ini:2: error: import_limit_w must be a number, not 'nan'" },
    { "[sim]\nseed = -1\n",
      "bad.ini:2: error: seed must be a whole number >= 0, not '-1'" },
    { "[sunspec]\nport = 0\n",
      "bad.ini:2: error: port must be between 1 and 65535, not 0" },
    { "[oadr]\nunavailable = 2026-12-01T18:00:00Z\n",
      "bad.ini:2: error: unavailable: the window '2026-12-01T18:00:00Z' is not START/DURATION (e.g. "
      "2026-12-01T18:00:00Z/PT2H)" },
    { "[oadr]\nunavailable = 2026-12-01T18:00:00Z/PT0S\n",
      "bad.ini:2: error: unavailable: the window '2026-12-01T18:00:00Z/PT0S': DURATION 'PT0S' is not a duration "
      "of 1 s to 366 days such as PT2H" },
    { "[oadr]\nunavailable = 2026-12-01T25:00:00Z/PT1H\n",
      "bad.ini:2: error: unavailable: the window '2026-12-01T25:00:00Z/PT1H': START '2026-12-01T25:00:00Z' is not "
      "an ISO 8601 date-time such as 2026-12-01T18:00:00Z" },
    { "[oadr]\nregistered = maybe\n", "bad.ini:2: error: registered must be true or false, not 'maybe'" },
    { "[gateway]\nstatus_port = 1\nstatus_port = 2\n",
      "bad.ini:3: error: status_port is set twice in [gateway] (first on line 2)" },
};

static void test_bad_table(void)
{
    char buf[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_config_t c;
        gw_config_errors_t e;

        gw_config_defaults(&c);
        c.status_port = 4242; /* a failed parse must leave this alone */
        CU_ASSERT_EQUAL(gw_config_parse_string(&c, "bad.ini", bad[i].text, &e), GE_ERR_CONFIG);
        CU_ASSERT_EQUAL(c.status_port, 4242);
        CU_ASSERT(e.count >= 1);
        gw_config_error_format(&e, 0, buf, sizeof(buf));
        if (strcmp(buf, bad[i].first) != 0)
            fprintf(stderr, "\n  bad[%zu]:\n    got  %s\n    want %s\n", i, buf, bad[i].first);
        CU_ASSERT_STRING_EQUAL(buf, bad[i].first);
    }
}

/* The availability windows ([oadr] unavailable, `oadr run --unavailable`) and the home owner's
 * file: the same parser, only the owner's keys. */
static void test_owner_keys(void)
{
    static const char owner[] = "[oadr]\n"
                                "unavailable = 2026-12-01T18:00:00Z/PT2H, 2026-12-02T06:30:00Z/PT30M\n"
                                "opt_out = EV-1\n"
                                "registered = no\n";
    oadr_opt_window_t w[GW_CONFIG_WINDOWS_MAX];
    gw_config_t c;
    gw_config_errors_t e;
    char buf[512], why[200];
    size_t n = 99;

    CU_ASSERT_EQUAL_FATAL(gw_config_parse_owner_string(&c, "owner.ini", owner, &e), 0);
    CU_ASSERT_EQUAL_FATAL(c.oadr_n_unavailable, 2);
    CU_ASSERT_EQUAL(c.oadr_unavailable[0].start, 1796148000);
    CU_ASSERT_EQUAL(c.oadr_unavailable[0].duration, 7200);
    CU_ASSERT_EQUAL(c.oadr_unavailable[1].start, 1796148000 + 12 * 3600 + 1800);
    CU_ASSERT_EQUAL(c.oadr_unavailable[1].duration, 1800);
    CU_ASSERT_EQUAL(c.oadr_n_opt_out, 1);
    CU_ASSERT_EQUAL(c.oadr_registered, 0);
    /* the same keys in the gateway's config */
    CU_ASSERT_EQUAL(gw_config_parse_string(&c, "gw.ini", owner, &e), 0);
    CU_ASSERT_EQUAL(c.oadr_n_unavailable, 2);
    CU_ASSERT_EQUAL(c.oadr_registered, 0);
    gw_config_defaults(&c);
    CU_ASSERT_EQUAL(c.oadr_registered, 1);
    CU_ASSERT_EQUAL(c.oadr_n_unavailable, 0);
    /* an empty owner file: no choices, still registered */
    CU_ASSERT_EQUAL(gw_config_parse_owner_string(&c, "owner.ini", "", &e), 0);
    CU_ASSERT_EQUAL(c.oadr_registered, 1);
    /* anything else is not the owner's to set, and a bad window is named */
    CU_ASSERT_EQUAL(gw_config_parse_owner_string(&c, "owner.ini", "[oadr]\nopt_out = A\n[gateway]\nstate_dir = /x\n",
                                                 &e), GE_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(gw_config_error_format(&e, 0, buf, sizeof(buf)),
                           "owner.ini:4: error: 'state_dir' in [gateway] is not the home owner's to set (the owner "
                           "file holds [oadr] unavailable, opt_out and registered)");
    CU_ASSERT_EQUAL(gw_config_parse_owner_string(&c, "owner.ini", "[oadr]\nvtn = http://x/y\n", &e), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL(e.items[0].line, 2);
    CU_ASSERT_EQUAL(gw_config_parse_owner_string(&c, "owner.ini", "[oadr]\nunavailable = tomorrow/PT1H\n", &e),
                    GE_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(gw_config_error_format(&e, 0, buf, sizeof(buf)), "START 'tomorrow'"));
    /* the list itself: blanks or commas, bounded */
    CU_ASSERT_EQUAL(gw_config_parse_windows(" 2026-12-01T18:00:00Z/PT1H\t2026-12-01T20:00:00Z/P1D ,", w, 8, &n, why,
                                            sizeof(why)), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(w[1].duration, 86400);
    CU_ASSERT_EQUAL(gw_config_parse_windows("2026-12-01T18:00:00Z/PT1H 2026-12-01T20:00:00Z/PT1H", w, 1, &n, why,
                                            sizeof(why)), GE_ERR_LIMIT);
    CU_ASSERT_EQUAL(gw_config_parse_windows("2026-12-01T18:00:00Z/P400D", w, 8, &n, why, sizeof(why)), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(gw_config_parse_windows("2026-12-01T18:00:00Z/-PT1H", w, 8, &n, why, sizeof(why)), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(gw_config_parse_windows("", w, 8, &n, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(n, 0);
}

static void test_all_errors_collected_in_line_order(void)
{
    static const char text[] =
        "[gateway]\n"              /* 1 */
        "status_port = x\n"        /* 2 */
        "[sep]\n"                  /* 3 */
        "enabled = true\n"         /* 4: no server -> reported at line 3 */
        "[policy]\n"               /* 5 */
        "charge_below = 0.5\n"     /* 6: >= discharge_above */
        "nope = 1\n";              /* 7 */
    gw_config_t c;
    gw_config_errors_t e;
    char buf[512];

    CU_ASSERT_EQUAL(gw_config_parse_string(&c, "many.ini", text, &e), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL_FATAL(e.count, 4);
    CU_ASSERT_EQUAL(e.total, 4);
    CU_ASSERT_EQUAL(e.items[0].line, 2);
    CU_ASSERT_EQUAL(e.items[1].line, 3);
    CU_ASSERT_EQUAL(e.items[2].line, 6);
    CU_ASSERT_EQUAL(e.items[3].line, 7);
    CU_ASSERT_STRING_EQUAL(gw_config_error_format(&e, 3, buf, sizeof(buf)),
                           "many.ini:7: error: unknown key 'nope' in [policy]");
}

static void test_long_line_and_many_errors(void)
{
    char *text = malloc(200000);
    gw_config_t c;
    gw_config_errors_t e;
    char buf[512];
    size_t n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    n += (size_t)snprintf(text + n, 200000 - n, "[gateway]\nstate_dir = ");
    memset(text + n, 'a', 5000);
    n += 5000;
    n += (size_t)snprintf(text + n, 200000 - n, "\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, 200000 - n, "bad%d = 1\n", i);
    CU_ASSERT_EQUAL(gw_config_parse_string(&c, "long.ini", text, &e), GE_ERR_CONFIG);
    /* the bound is inih's line buffer (198 characters in Debian's build), at most 1024 */
    CU_ASSERT_PTR_NOT_NULL(strstr(gw_config_error_format(&e, 0, buf, sizeof(buf)),
                                  "long.ini:2: error: line too long (more than "));
    /* the line count stayed right after the long line */
    CU_ASSERT_STRING_EQUAL(gw_config_error_format(&e, 1, buf, sizeof(buf)),
                           "long.ini:3: error: unknown key 'bad0' in [gateway]");
    CU_ASSERT_EQUAL(e.count, GW_CONFIG_ERRORS_MAX);
    CU_ASSERT_EQUAL(e.total, 101);
    free(text);
}

/* --- files and reload -------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_file_and_reload(void)
{
    char dir[] = "/tmp/gw-config-XXXXXX", path[128], buf[512];
    gw_config_t live;
    gw_config_errors_t e;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/gridedge.ini", dir);

    /* unreadable: line 0 and the OS's reason */
    CU_ASSERT_EQUAL(gw_config_load(&live, path, &e), GE_ERR_CONFIG);
    CU_ASSERT_EQUAL_FATAL(e.count, 1);
    snprintf(buf, sizeof(buf), "%s:0: error: cannot read the file: No such file or directory", path);
    char got[512];
    CU_ASSERT_STRING_EQUAL(gw_config_error_format(&e, 0, got, sizeof(got)), buf);

    write_file(path, "[gateway]\nstatus_port = 9000\n[policy]\nreserve_soc_pct = 15\n");
    CU_ASSERT_EQUAL_FATAL(gw_config_load(&live, path, &e), 0);
    CU_ASSERT_EQUAL(live.status_port, 9000);

    /* a reload with a bad line keeps the running settings */
    write_file(path, "[gateway]\nstatus_port = 9001\n[policy]\nreserve_soc_pct = 150\n");
    CU_ASSERT_EQUAL(gw_config_load(&live, path, &e), GE_ERR_CONFIG);
    snprintf(buf, sizeof(buf), "%s:4: error: reserve_soc_pct must be between 0 and 100, not 150", path);
    CU_ASSERT_STRING_EQUAL(gw_config_error_format(&e, 0, got, sizeof(got)), buf);
    CU_ASSERT_EQUAL(live.status_port, 9000);
    CU_ASSERT_DOUBLE_EQUAL(live.reserve_soc_pct, 15, 1e-9);

    /* a good reload replaces them */
    write_file(path, "[gateway]\nstatus_port = 9002\n");
    CU_ASSERT_EQUAL(gw_config_load(&live, path, &e), 0);
    CU_ASSERT_EQUAL(live.status_port, 9002);
    CU_ASSERT_DOUBLE_EQUAL(live.reserve_soc_pct, 20, 1e-9); /* back to the default */
    unlink(path);
    rmdir(dir);
}

/* The sample shipped in docs/ must load as it is. */
static void test_shipped_sample_loads(void)
{
    const char *src = getenv("GE_SRCDIR");
    char path[1024], buf[512];
    gw_config_t c;
    gw_config_errors_t e;

    snprintf(path, sizeof(path), "%s/docs/gridedge.ini", src ? src : GE_SRCDIR);
    int err = gw_config_load(&c, path, &e);
    for (size_t i = 0; i < e.count; i++)
        fprintf(stderr, "%s\n", gw_config_error_format(&e, i, buf, sizeof(buf)));
    CU_ASSERT_EQUAL(err, 0);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "an empty file gives the defaults", test_defaults_from_empty_file },
        { "a complete config", test_full_config },
        { "good variants load", test_good_table },
        { "bad configs: FILE:LINE: error: MESSAGE", test_bad_table },
        { "availability windows and the owner's file", test_owner_keys },
        { "all errors are collected in line order", test_all_errors_collected_in_line_order },
        { "long lines and many errors", test_long_line_and_many_errors },
        { "files, and a reload keeps the old settings on error", test_file_and_reload },
        { "docs/gridedge.ini loads", test_shipped_sample_loads },
        { NULL, NULL }
    };
    return test_add_suite("config", cases);
}
