/* test_sep.c - the 2030.5 client engine.  The engine is sans-I/O, so the tests play the built-in
 * conformance cases to it in simulated time (tests/sep_play.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/sep.h>

#include "conformance/case.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "failmem.h"
#include "sep_play.h"
#include "runner.h"
#include "stack/sep/sep_internal.h"
#include "xsd.h"

#define T0 SEP_PLAY_T0
#define LFDI SEP_PLAY_LFDI
#define SFDI SEP_PLAY_SFDI

/* The csip cases whose features the engine has; each must pass in simulated time. */
static const char *const supported[] = {
    "COMM-002", "CORE-003", "CORE-005", "CORE-006", "CORE-012", "CORE-013", "CORE-014", "CORE-021",
    "CORE-022", "CORE-023", "BASIC-009", "BASIC-010", "BASIC-013", "BASIC-014", "BASIC-016", "BASIC-017",
    "BASIC-018", "BASIC-020", "BASIC-022", "BASIC-024", "BASIC-028", "BASIC-029", "ERR-001", "GE-SEP-002", "GE-SEP-004",
    "GE-SEP-005", "GE-SEP-006", "BASIC-004", "BASIC-005", "BASIC-006", "BASIC-007", "BASIC-008", "BASIC-011",
    "BASIC-012", "BASIC-015", "BASIC-001", "BASIC-019", "BASIC-021", "BASIC-023", "BASIC-025", "BASIC-026",
    "GE-SEP-001", "BASIC-002", "BASIC-003", "COMM-003", "CORE-018", "CORE-019", "GE-SEP-007", "BASIC-027",
    "CORE-009", "CORE-010", "CORE-011",
};

static void test_cases_in_simulated_time(void)
{
    /* everything the client sends must validate against the official IEEE 2030.5 XSD */
    size_t validated = sep_play_suite("csip", supported, sizeof(supported) / sizeof(supported[0]), "sep/sep.xsd");
    if (xsd_dir()) {
        CU_ASSERT(validated > 100);
        printf("(%zu documents the client sent validated against the official XSDs) ", validated);
    }
}

/* The engine survives each allocation failing in turn while it plays a case with controls: no
 * crash, nothing leaked (it degrades, logs and goes on; a failed creation is reported). */
static void test_failmalloc(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sep_play_run_t r;
    long n;
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("csip", "CORE-022", NULL, a, &c, err, sizeof(err)), 0);
    c.duration = 12;
    for (n = 0; n < 2000; n++) {
        failmem_t fm;
        failmem_init(&fm, n);
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, &fm.mem, NULL);
        sep_play_run_free(&r);
        CU_ASSERT_EQUAL(fm.live, 0);
        if (fm.live != 0)
            fprintf(stderr, "failmalloc: allocation %ld failing leaked %ld block(s)\n", n, fm.live);
        if (fm.count <= n)
            break;
    }
    CU_ASSERT(n > 3 && n < 2000);
    ge_arena_free(a);
}

/* The aggregator's cases (UTIL-002..004, AGG-001..012, MAINT-001/003/004/005, ERR-002) pass against
 * an aggregator in simulated time (an engine reading the EndDeviceList, one acting for each
 * EndDevice it lists, as `sep run --aggregator`), what it sends valid; a DER client fails each. */
static void test_aggregator_cases(void)
{
    static const char *const ids[] = { "UTIL-002", "UTIL-003", "UTIL-004", "AGG-001", "AGG-002", "AGG-003",
                                       "AGG-004", "AGG-005", "AGG-006", "AGG-007", "AGG-008", "AGG-009",
                                       "AGG-010", "AGG-011", "AGG-012", "MAINT-001", "MAINT-003", "MAINT-004",
                                       "MAINT-005", "ERR-002" };
    size_t validated = sep_play_suite_agg("csip", ids, sizeof(ids) / sizeof(ids[0]), "sep/sep.xsd", NULL);

    if (xsd_dir())
        CU_ASSERT(validated > 100);
    sep_play_suite_fails("csip", ids, sizeof(ids) / sizeof(ids[0]));
}

/* An aggregator's EndDevices: every page of the EndDeviceList, its own LFDI and an EndDevice without
 * an lFDI left out, a device listed twice kept once; the set follows the list as it changes. */
/* Parse the case TEXT (named ID) into a new arena (*A; the caller frees it) and play it to an
 * aggregator registering SITES (NULL: none) into R; every expectation must hold. */
static void play_agg_text(const char *id, const char *text, const sep_play_sites_t *sites, ge_arena_t **a,
                          sep_play_run_t *r)
{
    cf_case_t c;
    char err[512];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse(id, text, strlen(text), *a, NULL, NULL, &c, err, sizeof(err)), 0);
    memset(r, 0, sizeof(*r));
    sep_play_agg(&c, r, sites);
    CU_ASSERT_EQUAL(sep_play_judge(id, &c, r), 0);
}

/* An aggregator registering its own sites in band (config.agg_register): one the server lists already
 * is not POSTed; a refused POST (503) is tried again after a backoff; after a 201 the list is read
 * again at once; each is POSTed until the server takes it, then never again. */
static void test_aggregator_registers_sites(void)
{
#define EDEV(N, LFDI) \
    "<EndDevice href=\"/edev/" #N "\"><lFDI>" LFDI "</lFDI><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>"
#define L_A "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21"
#define L_B "C47E0B9D3A6F5128E0D4B7A92C1F6E83D5B0A974"
#define L_C "7D29E6A04C8B135F9E72D0A6B4C3F1E8A2905D6B"
#define LIST(ALL) "<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev\" all=\"" #ALL "\" results=\"" #ALL "\" pollRate=\"4\">"
    static const char text[] =
        "case GE-T-AGG-REG\nduration 12\n"
        "resource /dcap\n<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\"><TimeLink href=\"/tm\"/>"
        "<EndDeviceListLink href=\"/edev\" all=\"1\"/></DeviceCapability>\nend\n"
        "resource /tm\n<Time xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/tm\" pollRate=\"900\"><currentTime>{now}</currentTime>"
        "<dstEndTime>0</dstEndTime><dstOffset>0</dstOffset><dstStartTime>0</dstStartTime><localTime>{now}</localTime>"
        "<quality>4</quality><tzOffset>0</tzOffset></Time>\nend\n"
        "resource /edev\n" LIST(1) EDEV(1, L_A) "</EndDeviceList>\nend\n"
        "reply POST /edev status 503 if-has \"" L_B "\" times 1\nend\n"
        "reply POST /edev status 201 if-has \"" L_B "\" location /edev/2\nend\n"
        "reply POST /edev status 201 if-has \"" L_C "\" location /edev/3\nend\n"
        "at 5 resource /edev\n" LIST(3) EDEV(1, L_A) EDEV(2, L_B) EDEV(3, L_C) "</EndDeviceList>\nend\n"
        "expect no-request POST /edev has \"" L_A "\"\n"
        "expect request POST /edev has \"<lFDI>" L_B "</lFDI>\" count 2 2\n"
        "expect request POST /edev has \"<lFDI>" L_C "</lFDI>\" count 1 1\n"
        "expect status devices.# = 1 during 1 4\n"
        "expect status devices.# = 3 during 10 12\n";
#undef EDEV
#undef LIST
    static const sep_end_device_t own[] = { { L_A, 1, "" }, { L_B, 2, "" }, { L_C, 3, "" } };
    sep_play_sites_t sites = { own, NULL, 3 };
    static sep_play_run_t r;
    ge_arena_t *a;

    play_agg_text("GE-T-AGG-REG", text, &sites, &a, &r);
    /* the refused one again only after the backoff; after each 201 the list is read at once */
    double refused = -1, accepted = -1;
    int reread = 0;
    for (size_t i = 0; i < r.n_ex; i++) {
        const cf_exchange_t *x = &r.ex[i];
        if (strcmp(x->method, "POST") == 0 && strstr(x->body, L_B))
            *(x->status == 503 ? &refused : &accepted) = x->t;
        if (strcmp(x->method, "POST") == 0 && x->status == 201)
            for (size_t k = i + 1; k < r.n_ex; k++)
                if (strcmp(r.ex[k].method, "GET") == 0 && strncmp(r.ex[k].path, "/edev", 5) == 0) {
                    reread += r.ex[k].t - x->t <= 0.5;
                    break;
                }
    }
    CU_ASSERT(refused >= 0 && accepted - refused >= 2.0 - 1e-9);
    CU_ASSERT_EQUAL(reread, 2);
    sep_play_run_free(&r);
    ge_arena_free(a);
#undef L_A
#undef L_B
#undef L_C
}

static void test_aggregator_end_devices(void)
{
#define EDEV(N, LFDI) \
    "<EndDevice href=\"/edev/" #N "\"><lFDI>" LFDI "</lFDI><sFDI>1</sFDI><changedTime>0</changedTime></EndDevice>"
#define L_A "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21"
#define L_B "C47E0B9D3A6F5128E0D4B7A92C1F6E83D5B0A974"
#define L_C "7D29E6A04C8B135F9E72D0A6B4C3F1E8A2905D6B"
#define LIST(ALL, N) "<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev\" all=\"" #ALL "\" results=\"" #N "\" pollRate=\"2\">"
    static const char text[] =
        "case GE-T-AGG\nduration 12\n"
        "resource /dcap\n<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\">"
        "<EndDeviceListLink href=\"/edev\" all=\"5\"/></DeviceCapability>\nend\n"
        "resource /edev?s=0*\n" LIST(5, 3) EDEV(9, "{lfdi}") EDEV(1, L_A)
        "<EndDevice href=\"/edev/7\"><sFDI>5</sFDI><changedTime>0</changedTime></EndDevice></EndDeviceList>\nend\n"
        "resource /edev?s=3*\n" LIST(5, 2) EDEV(1, L_A) EDEV(2, L_B) "</EndDeviceList>\nend\n"
        "at 6 resource /edev?s=3*\n" LIST(5, 2) EDEV(3, L_C) EDEV(2, L_B) "</EndDeviceList>\nend\n"
        "expect status devices.# = 2 during 3 6\n"
        "expect status devices.0.lfdi = \"" L_A "\" during 3 6\n"
        "expect status devices.1.lfdi = \"" L_B "\" during 3 6\n"
        "expect status devices.1.edev = \"/edev/2\" during 3 6\n"
        "expect status devices.# = 3 during 10 12\n"
        "expect status devices.1.lfdi = \"" L_C "\" during 10 12\n"
        "expect status devices.2.lfdi = \"" L_B "\" during 10 12\n";
#undef EDEV
#undef LIST
    static sep_play_run_t r;
    ge_arena_t *a;

    play_agg_text("GE-T-AGG", text, NULL, &a, &r);
    /* the aggregator registers no EndDevice of its own */
    for (size_t i = 0; i < r.n_ex; i++)
        CU_ASSERT(strcmp(r.ex[i].method, "POST") != 0 || strcmp(r.ex[i].path, "/edev") != 0);
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* A DER fault the device raises becomes one LogEvent on the EndDevice's LogEventList (2030.5 DER
 * LogEvent: profile 2030.5, function set 11, code = the alarmStatus bit), and DERStatus.alarmStatus
 * shows it; an alarm that is not a 2030.5 fault (battery empty) is not logged. */
static void test_logevents(void)
{
    xsd_t *xsd = xsd_dir() ? xsd_load("sep/sep.xsd") : NULL;
    sep_play_device_t dev = { 0 };
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sep_play_run_t r;
    int posts = 0, status_shows = 0;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("csip", "CORE-014", NULL, a, &c, err, sizeof(err)), 0);
    dev.alarm_at = T0 + 8;
    dev.alarm = GE_ALARM_OVER_VOLTAGE | GE_ALARM_SOC_EMPTY;
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, &dev);
    for (size_t k = 0; k < r.n_ex; k++) {
        const char *b = r.ex[k].body;
        if (strcmp(r.ex[k].method, "POST") == 0 && strcmp(r.ex[k].path, "/edev/1/lel") == 0) {
            posts++;
            CU_ASSERT(r.ex[k].t >= 8);
            CU_ASSERT_PTR_NOT_NULL(strstr(b, "<functionSet>11</functionSet>"));
            CU_ASSERT_PTR_NOT_NULL(strstr(b, "<logEventCode>1</logEventCode>"));
            CU_ASSERT_PTR_NOT_NULL(strstr(b, "<logEventPEN>40732</logEventPEN>"));
            CU_ASSERT_PTR_NOT_NULL(strstr(b, "<profileID>2</profileID>"));
            if (xsd) {
                char why[600];
                int ok = xsd_valid(xsd, b, strlen(b), why, sizeof(why));
                if (!ok)
                    fprintf(stderr, "LogEvent invalid: %s\n%s\n", why, b);
                CU_ASSERT_TRUE(ok);
            }
        }
        if (strcmp(r.ex[k].method, "PUT") == 0 && strstr(r.ex[k].path, "/ders") && r.ex[k].t >= 8 &&
            strstr(b, "<alarmStatus>00000002</alarmStatus>"))
            status_shows++;
    }
    CU_ASSERT_EQUAL(posts, 1);
    CU_ASSERT(status_shows >= 1);
    sep_play_run_free(&r);
    ge_arena_free(a);
    xsd_free(xsd);
}

/* A client that is not in the EndDeviceList registers itself there (POST EndDevice, then follows
 * the Location); a CSIP-AUS server (a ConnectionPointLink) switches it to CSIP-AUS, so its
 * DERCapability carries csipaus:doeModesSupported and validates against the CSIP-AUS schema. */
static const char inband_case[] =
    "case GE-T-INBAND\n"
    "duration 12\n"
    "include csip-base\n"
    "resource /edev\n"
    "<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev\" all=\"0\" results=\"0\" pollRate=\"300\"/>\n"
    "end\n"
    "reply POST /edev status 201 location /edev/7\n"
    "end\n"
    "resource /edev/7\n"
    "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\" href=\"/edev/7\">"
    "<DERListLink href=\"/edev/1/der\" all=\"1\"/><lFDI>{lfdi}</lFDI><sFDI>{sfdi}</sFDI>"
    "<changedTime>{start}</changedTime><FunctionSetAssignmentsListLink href=\"/edev/1/fsa\" all=\"1\"/>"
    "<RegistrationLink href=\"/edev/1/rg\"/><csipaus:ConnectionPointLink href=\"/edev/7/cp\"/></EndDevice>\n"
    "end\n"
    "expect request POST /edev has \"<sFDI>{sfdi}</sFDI>\" has \"<lFDI>{lfdi}</lFDI>\" count 1 1\n"
    "expect request GET /edev/7 within 0 4\n"
    "expect request GET /edev/1/fsa* within 0 6\n"
    "expect request PUT /edev/1/der/1/dercap has \"doeModesSupported\" within 0 12\n";

/* Load case ID of SUITE from TEXT (written to a temporary dir, with the built-in fragments it
 * includes) into *C; returns the arena holding it. */
static ge_arena_t *load_inline_case_of(const char *suite, const char *id, const char *text, cf_case_t *c)
{
    char dir[] = "/tmp/ge-test-sep-XXXXXX", path[128], err[512];
    ge_arena_t *a;
    FILE *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/%s.case", dir, id);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    int rc = cf_case_load(suite, id, dir, a, c, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    remove(path);
    rmdir(dir);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return a;
}

/* The same for a case of the csip suite. */
static ge_arena_t *load_inline_case(const char *id, const char *text, cf_case_t *c)
{
    return load_inline_case_of("csip", id, text, c);
}

/* One DER for the site's PV and battery (CSIP-AUS MUL-01): DERStatus ORs the devices' ConnectStatusType
 * bits for genConnectStatus, reports the battery's as storConnectStatus, and says operationalModeStatus
 * 2 while any device is on.  The rig here leaves the battery idle (opModTargetW 0), the played device's
 * PV gives 3 kW, and the fault file switches devices off and raises a DER alarm (in fault: bit 4). */
static const char mul_case[] =
    "case GE-T-MUL\n"
    "duration 30\n"
    "include csipaus-base\n"
    "resource /edev/1/derp/9/dderc\n"
    "<DefaultDERControl xmlns=\"urn:ieee:std:2030.5:ns\" xmlns:csipaus=\"https://csipaus.org/ns\" "
    "href=\"/edev/1/derp/9/dderc\" subscribable=\"0\"><mRID>D0000000000000000000000000000A09</mRID>"
    "<description>Test rig: battery idle</description><DERControlBase>"
    "<opModTargetW><multiplier>0</multiplier><value>0</value></opModTargetW></DERControlBase></DefaultDERControl>\n"
    "end\n"
    "at 6 fault-file \"pv_off\"\n"
    "at 12 fault-file \"pv_off over_voltage\"\n"
    "at 18 fault-file \"battery_off over_voltage\"\n"
    "at 24 fault-file \"\"\n";

/* The text of BODY's ELEMENT's <value>, into OUT (empty if it has none). */
static void status_value(const char *body, const char *element, char *out, size_t size)
{
    char open[64];
    const char *p, *v, *e;

    out[0] = '\0';
    snprintf(open, sizeof(open), "<%s>", element);
    if (!(p = strstr(body, open)) || !(v = strstr(p, "<value>")) || !(e = strstr(v, "</value>")))
        return;
    v += strlen("<value>");
    snprintf(out, size, "%.*s", (int)(e - v), v);
}

static void test_der_status_aggregates_devices(void)
{
    static const struct {
        double until;
        const char *gen, *stor, *mode;
    } phases[] = {
        { 6, "07", "03", "2" },  /* PV operating, battery idle: connected and available */
        { 12, "03", "03", "2" }, /* PV off: the idle battery keeps the DER on */
        { 18, "13", "13", "2" }, /* a DER alarm: the battery in fault */
        { 24, "17", "00", "2" }, /* battery off: the PV's state alone, in fault */
        { 30, "07", "03", "2" }, /* all back */
    };
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;

    a = load_inline_case_of("csip-aus", "GE-T-MUL", mul_case, &c);
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        const char *last = NULL;
        char gen[8], stor[8], mode[8];
        /* what the DER said last in the phase */
        for (size_t k = 0; k < r.n_ex; k++)
            if (strcmp(r.ex[k].method, "PUT") == 0 && strcmp(r.ex[k].path, "/edev/1/der/1/ders") == 0 &&
                r.ex[k].t < phases[i].until)
                last = r.ex[k].body;
        CU_ASSERT_PTR_NOT_NULL_FATAL(last);
        status_value(last, "genConnectStatus", gen, sizeof(gen));
        status_value(last, "storConnectStatus", stor, sizeof(stor));
        status_value(last, "operationalModeStatus", mode, sizeof(mode));
        if (strcmp(gen, phases[i].gen) || strcmp(stor, phases[i].stor) || strcmp(mode, phases[i].mode))
            fprintf(stderr, "before %.0f s: gen %s stor %s mode %s, expected %s %s %s\n", phases[i].until, gen, stor,
                    mode, phases[i].gen, phases[i].stor, phases[i].mode);
        CU_ASSERT_STRING_EQUAL(gen, phases[i].gen);
        CU_ASSERT_STRING_EQUAL(stor, phases[i].stor);
        CU_ASSERT_STRING_EQUAL(mode, phases[i].mode);
    }
    sep_play_run_free(&r);
    ge_arena_free(a);
}

static void test_inband_registration_csip_aus(void)
{
    xsd_t *xsd = xsd_dir() ? xsd_load("csipaus/csipaus-core.xsd") : NULL;
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;
    int dercaps = 0;

    a = load_inline_case("GE-T-INBAND", inband_case, &c);
    memset(&r, 0, sizeof(r));
    sep_client_stats_t st = sep_play(&c, &r, NULL, NULL);
    CU_ASSERT_TRUE(st.csip_aus);
    CU_ASSERT_TRUE(st.registered);
    CU_ASSERT_EQUAL(sep_play_judge("GE-T-INBAND", &c, &r), 0);
    for (size_t k = 0; k < r.n_ex; k++)
        if (strcmp(r.ex[k].method, "PUT") == 0 && strstr(r.ex[k].path, "/dercap")) {
            dercaps++;
            if (xsd) {
                char why[600];
                int ok = xsd_valid(xsd, r.ex[k].body, strlen(r.ex[k].body), why, sizeof(why));
                if (!ok)
                    fprintf(stderr, "DERCapability invalid for CSIP-AUS: %s\n%s\n", why, r.ex[k].body);
                CU_ASSERT_TRUE(ok);
            }
        }
    CU_ASSERT(dercaps >= 1);
    sep_play_run_free(&r);
    ge_arena_free(a);
    xsd_free(xsd);
}

/* Notifications that are not XML, not a Notification, or for a resource the client does not
 * follow: answered (400, 400, 201), logged, and nothing the client holds changes. */
static void test_notification_bad_input(void)
{
    static const char garbage[] = "<Notification xmlns=\"urn:ieee:std:2030.5:ns\"><status>0</sta";
    static const char wrong_root[] = "<Time xmlns=\"urn:ieee:std:2030.5:ns\"><currentTime>1</currentTime>"
                                     "<dstEndTime>0</dstEndTime><dstOffset>0</dstOffset><dstStartTime>0</dstStartTime>"
                                     "<quality>7</quality><tzOffset>0</tzOffset></Time>";
    static const char elsewhere[] = "<Notification xmlns=\"urn:ieee:std:2030.5:ns\">"
                                    "<subscribedResource>/derp/9/derc</subscribedResource><status>0</status>"
                                    "<subscriptionURI>/edev/1/sub/9</subscriptionURI></Notification>";
    /* profile csip: DeviceCapability first (no CSIP-AUS version negotiation) */
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = LFDI, .sfdi = SFDI,
                                .notify_uri = "http://127.0.0.1:9/ntfy", .profile = SEP_PROFILE_CSIP };
    sep_client_t *c = NULL;
    sep_client_stats_t st;
    sep_request_t req;

    CU_ASSERT_EQUAL_FATAL(sep_client_new(&c, &cfg), 0);
    CU_ASSERT_EQUAL(sep_client_notification(c, garbage, sizeof(garbage) - 1, T0), 400);
    CU_ASSERT_EQUAL(sep_client_notification(c, wrong_root, sizeof(wrong_root) - 1, T0), 400);
    CU_ASSERT_EQUAL(sep_client_notification(c, elsewhere, sizeof(elsewhere) - 1, T0), 201);
    CU_ASSERT_EQUAL(sep_client_notification(c, NULL, 0, T0), 400);
    sep_client_stats(c, &st);
    CU_ASSERT_EQUAL(st.bad_documents, 3);
    CU_ASSERT_EQUAL(st.notifications, 1);
    CU_ASSERT_EQUAL(st.subscriptions, 0);
    /* and it goes on as before: the first thing it does is read DeviceCapability */
    CU_ASSERT_EQUAL_FATAL(sep_client_next_request(c, T0, &req), 1);
    CU_ASSERT_STRING_EQUAL(req.method, "GET");
    CU_ASSERT_STRING_EQUAL(req.path, "/dcap");
    sep_client_free(c);
}

/* CSIP-AUS version negotiation: the answer to GET /.well-known/csipaus (SDVN-01's, and worse). */
#define WK_SDVN "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v99.99\": {\"dcap\": [\"/x99/dcap\"]}, " \
                "\"null\": {\"dcap\": [\"/xnull/dcap\"]}, \"https://csipaus.org/ns/v1.2\": {\"dcap\": []}, " \
                "\"https://csipaus.org/ns/v1.3\": {\"dcap\": [\"/v13/dcap\"]}}}"
#define WK_V12 "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns\": {\"dcap\": [\"/d12\"]}}}"

static void test_version_parse(void)
{
    static const struct {
        const char *json;
        int rc, version;
        const char *path;
    } t[] = {
        { WK_SDVN, 0, SEP_CSIPAUS_V13, "/v13/dcap" },
        { WK_V12, 0, SEP_CSIPAUS_V12, "/d12" },
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.2\": {\"dcap\": [\"/d12v\"]}}}", 0, SEP_CSIPAUS_V12, "/d12v" },
        /* v1.3 lists nothing usable: not a string, a network-path, relative, a space, a fragment, non-ASCII,
         * too long */
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.3\": {\"dcap\": [7, null, \"//h/x\", \"x\", "
          "\"/a b\", \"/a#b\", \"/\\u00e9\", \"/" "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789\"]}, "
          "\"https://csipaus.org/ns\": {\"dcap\": [\"/d12\"]}}}", 0, SEP_CSIPAUS_V12, "/d12" },
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.3\": {\"dcap\": [\"bad\", \"/ok\", \"/ok2\"]}}, "
          "\"other\": [1, 2]}", 0, SEP_CSIPAUS_V13, "/ok" },
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.3\": {\"dcap\": []}}}", 0, SEP_CSIPAUS_NONE, "" },
        { "{\"supportedSchemaVersions\": {}}", 0, SEP_CSIPAUS_NONE, "" },
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.3\": [\"/x\"], "
          "\"https://csipaus.org/ns\": {\"dcap\": \"/y\"}, \"https://csipaus.org/ns/v1.2\": 5}}", 0, SEP_CSIPAUS_NONE, "" },
        { "{\"supportedSchemaVersions\": {", GE_ERR_PARSE, 0, "" },
        { "", GE_ERR_PARSE, 0, "" },
        { "<DeviceCapability/>", GE_ERR_PARSE, 0, "" },
        { "[]", GE_ERR_PARSE, 0, "" },
        { "{\"supportedSchemaVersions\": []}", GE_ERR_PARSE, 0, "" },
        { "{\"supportedSchemaVersions\": {}, \"supportedSchemaVersions\": {}}", GE_ERR_PARSE, 0, "" },
        /* a NUL in a string is refused with the document */
        { "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.3\": {\"dcap\": [\"/a\\u0000b\"]}}}", GE_ERR_PARSE, 0, "" },
    };
    sep_csipaus_choice_t ch;
    char why[200];
    char *big;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int rc = sep_csipaus_versions_parse(t[i].json, strlen(t[i].json), &ch, why, sizeof(why));
        if (rc != t[i].rc || ch.version != t[i].version)
            fprintf(stderr, "\ncase %zu: rc %d version %d (%s)\n", i, rc, ch.version, why);
        CU_ASSERT_EQUAL(rc, t[i].rc);
        CU_ASSERT_EQUAL(ch.version, t[i].version);
        CU_ASSERT_STRING_EQUAL(ch.dcap_path, t[i].path);
        /* a version picked needs no excuse; anything else says why */
        CU_ASSERT_EQUAL(why[0] == '\0', rc == 0 && t[i].version != SEP_CSIPAUS_NONE);
    }
    /* bad JSON: where */
    CU_ASSERT_EQUAL(sep_csipaus_versions_parse("{\n  \"a\": tru }", 15, &ch, why, sizeof(why)), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(strncmp(why, "2:", 2), 0);
    CU_ASSERT_EQUAL(sep_csipaus_versions_parse(NULL, 0, &ch, NULL, 0), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(sep_csipaus_versions_parse(NULL, 3, &ch, why, sizeof(why)), GE_ERR_INVALID);
    big = calloc(1, SEP_CSIPAUS_WELL_KNOWN_MAX + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', SEP_CSIPAUS_WELL_KNOWN_MAX + 1);
    CU_ASSERT_EQUAL(sep_csipaus_versions_parse(big, SEP_CSIPAUS_WELL_KNOWN_MAX + 1, &ch, why, sizeof(why)), GE_ERR_LIMIT);
    free(big);
}

/* A client of profile auto or csip-aus asks /.well-known/csipaus first (and nothing else meanwhile),
 * then walks from the DeviceCapability of the version it settled on, or from its URL's when the
 * server has no answer, a bad one, or none it can use; profile csip does not ask. */
static void test_version_negotiation(void)
{
    static char huge[(64 << 10) + 10];
    static const struct {
        int profile, status;
        const char *body;
        const char *dcap;
        int version, bad;
    } t[] = {
        { SEP_PROFILE_AUTO, 200, WK_SDVN, "/v13/dcap", SEP_CSIPAUS_V13, 0 },
        { SEP_PROFILE_CSIP_AUS, 200, WK_SDVN, "/v13/dcap", SEP_CSIPAUS_V13, 0 },
        { SEP_PROFILE_AUTO, 200, WK_V12, "/d12", SEP_CSIPAUS_V12, 0 },
        { SEP_PROFILE_AUTO, 404, NULL, "/dcap", 0, 0 },
        { SEP_PROFILE_CSIP_AUS, 410, NULL, "/dcap", 0, 0 },
        { SEP_PROFILE_AUTO, 0, NULL, "/dcap", 0, 0 },
        { SEP_PROFILE_AUTO, 500, WK_SDVN, "/dcap", 0, 0 },
        { SEP_PROFILE_AUTO, 200, "{\"supportedSchemaVersions\": 1", "/dcap", 0, 1 },
        { SEP_PROFILE_AUTO, 200, "{\"supportedSchemaVersions\": {\"https://csipaus.org/ns/v1.4\": {\"dcap\": [\"/d\"]}}}",
          "/dcap", 0, 0 },
        { SEP_PROFILE_AUTO, 200, huge, "/dcap", 0, 1 },
        { SEP_PROFILE_CSIP, 0, NULL, "/dcap", 0, 0 },
    };

    memset(huge, ' ', sizeof(huge) - 1);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = LFDI, .sfdi = SFDI, .profile = t[i].profile };
        sep_client_t *c = NULL;
        sep_client_stats_t st;
        sep_request_t req;
        size_t len = t[i].body ? strlen(t[i].body) : 0;

        CU_ASSERT_EQUAL_FATAL(sep_client_new(&c, &cfg), 0);
        CU_ASSERT_EQUAL(sep_client_next_wakeup(c, T0), T0);
        CU_ASSERT_EQUAL_FATAL(sep_client_next_request(c, T0, &req), 1);
        CU_ASSERT_STRING_EQUAL(req.method, "GET");
        if (t[i].profile != SEP_PROFILE_CSIP) {
            CU_ASSERT_STRING_EQUAL(req.path, "/.well-known/csipaus");
            CU_ASSERT_PTR_NOT_NULL_FATAL(req.accept);
            CU_ASSERT_STRING_EQUAL(req.accept, "application/json");
            /* nothing else until it is answered */
            CU_ASSERT_EQUAL(sep_client_next_request(c, T0, &(sep_request_t){ 0 }), 0);
            /* the body in pieces, the last with the status */
            for (size_t off = 0; off + 7 < len; off += 7)
                CU_ASSERT_EQUAL(sep_client_body(c, req.id, t[i].body + off, 7), 0);
            CU_ASSERT_EQUAL(sep_client_response(c, req.id, t[i].status, NULL, len ? t[i].body + len - len % 7 : NULL,
                                                len % 7, T0 + 0.1), 0);
            CU_ASSERT_EQUAL_FATAL(sep_client_next_request(c, T0 + 0.1, &req), 1);
            CU_ASSERT_STRING_EQUAL(req.method, "GET");
        }
        CU_ASSERT_PTR_NULL(req.accept);
        CU_ASSERT_STRING_EQUAL(req.path, t[i].dcap);
        sep_client_stats(c, &st);
        CU_ASSERT_EQUAL(st.csipaus_version, t[i].version);
        CU_ASSERT_EQUAL(st.bad_documents, (unsigned long)t[i].bad);
        if (t[i].version)
            CU_ASSERT_TRUE(st.csip_aus);
        if (st.csipaus_version != t[i].version || strcmp(req.path, t[i].dcap) != 0)
            fprintf(stderr, "\nnegotiation case %zu: v%d, %s\n", i, st.csipaus_version, req.path);
        sep_client_free(c);
    }
}

/* Restarted while the server is unreachable, the client keeps the control it had (its saved
 * state); once the server answers again, its list decides: the control it no longer lists goes. */
static const char restore_case[] =
    "case GE-T-RESTORE\n"
    "duration 26\n"
    "include csip-base\n"
    "resource /derp/1/derc\n"
    "<DERControlList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/derp/1/derc\" subscribable=\"0\" all=\"1\" results=\"1\">"
    "<DERControl href=\"/derp/1/derc/1\" subscribable=\"0\"><mRID>B0000000000000000000000000000099</mRID>"
    "<description>Discharge 1 kW</description><creationTime>{start-60}</creationTime>"
    "<EventStatus><currentStatus>0</currentStatus><dateTime>{start-60}</dateTime>"
    "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
    "<interval><duration>600</duration><start>{start-30}</start></interval>"
    "<DERControlBase><opModTargetW><multiplier>0</multiplier><value>1000</value></opModTargetW></DERControlBase>"
    "</DERControl></DERControlList>\n"
    "end\n"
    "fault /* close from 4 until 10\n"
    "at 6 restart\n"
    "at 8 resource /derp/1/derc\n"
    "<DERControlList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/derp/1/derc\" subscribable=\"0\" all=\"0\" "
    "results=\"0\"/>\n"
    "end\n"
    "expect status active_controls.0.id = \"B0000000000000000000000000000099\" during 2 4\n"
    "expect status active_controls.0.id = \"B0000000000000000000000000000099\" during 6.5 9.5\n"
    "expect status active_controls.# = 0 during 22 26\n";

static void test_saved_state(void)
{
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = LFDI, .sfdi = SFDI };
    static sep_play_run_t r;
    sep_client_t *c = NULL;
    sep_client_stats_t st;
    ge_buf_t state, text;
    ge_arena_t *a;
    cf_case_t cs;

    /* the case: restored while unreachable, then replaced by the server's list */
    a = load_inline_case("GE-T-RESTORE", restore_case, &cs);
    memset(&r, 0, sizeof(r));
    sep_play(&cs, &r, NULL, NULL);
    CU_ASSERT_EQUAL(sep_play_judge("GE-T-RESTORE", &cs, &r), 0);
    sep_play_run_free(&r);
    ge_arena_free(a);

    /* bad saved states are refused whole: nothing of them is used */
    CU_ASSERT_EQUAL_FATAL(sep_client_new(&c, &cfg), 0);
    ge_buf_init(&state, NULL, 0);
    ge_buf_init(&text, NULL, 0);
    CU_ASSERT_EQUAL(sep_client_save(c, &state), 0); /* a fresh engine: the header lines alone */
    CU_ASSERT_EQUAL(strncmp(ge_buf_str(&state), "S 1 ", 4), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&state), "\nQ L "));
    CU_ASSERT_EQUAL(sep_client_restore(c, "hello", 5), GE_ERR_PARSE);
    CU_ASSERT_EQUAL(sep_client_restore(c, "S 1 1 1\n", 8), GE_ERR_PARSE); /* another layout */
    /* the pricing records: bad ones refuse the state; another build's tables are skipped */
    ge_buf_printf(&text, "%sQ I 0 zz\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE);
    ge_buf_clear(&text);
    ge_buf_printf(&text, "S 1 %zu %zu\nQ I 0 _4.\n", strtoul(ge_buf_str(&state) + 4, NULL, 10),
                  strtoul(strchr(ge_buf_str(&state) + 4, ' ') + 1, NULL, 10));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE); /* before its layout */
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sQ X 0 _4.\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE); /* an unknown table */
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sQ L 1 2 3 4\nQ I 0 _4.\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), 0); /* another build's: skipped */
    ge_buf_clear(&text);
    /* the CSIP-AUS version negotiated: v1.2 or v1.3 and an absolute path */
    ge_buf_printf(&text, "%sN 14 /dcap\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE);
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sN 13 dcap\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE);
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sP 0 1 1 0 /edev/1/fsa/1/derp /derp/1 -\nD 0 zz\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE);
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sP 0 1 1 0 /edev/1/fsa/1/derp /derp/1 -\nC 12 1 1 0 0 60 0 0 0 0 1 0 0 _4.\n",
                  ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), GE_ERR_PARSE); /* the control's bytes */
    sep_client_stats(c, &st);
    CU_ASSERT_EQUAL(st.programs, 0);
    CU_ASSERT_EQUAL(st.controls_known, 0);
    /* a good one takes effect; an href with a space survives the round trip */
    ge_buf_clear(&text);
    ge_buf_printf(&text, "%sP 3 5 2 0 /edev/1/fsa/1/derp /derp/a%%20b A1\n", ge_buf_str(&state));
    CU_ASSERT_EQUAL(sep_client_restore(c, text.data, text.len), 0);
    sep_client_stats(c, &st);
    CU_ASSERT_EQUAL(st.programs, 1);
    ge_buf_clear(&state);
    CU_ASSERT_EQUAL(sep_client_save(c, &state), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&state), "P 3 5 2 0 /edev/1/fsa/1/derp /derp/a%20b A1\n"));
    ge_buf_free(&state);
    ge_buf_free(&text);
    sep_client_free(c);
}

/* The battery power of the status sample nearest T (NAN if none). */
static double battery_at(const sep_play_run_t *r, double t)
{
    double best = 1e9, w = NAN;

    for (size_t i = 0; i < r->n_samples; i++) {
        const char *b = strstr(r->samples[i].json, "\"battery\":{\"power_w\":");
        if (b && fabs(r->samples[i].t - t) < best) {
            best = fabs(r->samples[i].t - t);
            w = strtod(b + 21, NULL);
        }
    }
    return w;
}

/* In the bodies of C's actions: each FROM becomes WITH (new bodies in A). */
static void replace_text(ge_arena_t *a, cf_case_t *c, const char *from, const char *with)
{
    size_t nf = strlen(from), nw = strlen(with);

    for (size_t k = 0; k < c->n_actions; k++) {
        const char *b = c->actions[k].body, *v;
        ge_buf_t out;
        char *body;
        if (!b || !strstr(b, from))
            continue;
        ge_buf_init(&out, NULL, 0);
        while ((v = strstr(b, from)) != NULL) {
            CU_ASSERT_EQUAL(ge_buf_append(&out, b, (size_t)(v - b)), 0);
            CU_ASSERT_EQUAL(ge_buf_append(&out, with, nw), 0);
            b = v + nf;
        }
        CU_ASSERT_EQUAL(ge_buf_puts(&out, b), 0);
        body = ge_arena_zalloc(a, out.len + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(body);
        memcpy(body, out.data, out.len);
        c->actions[k].body = body;
        c->actions[k].body_len = out.len;
        ge_buf_free(&out);
    }
}

/* CSIP-AUS v1.3 storage extension (STO-01..03): once v1.3 is negotiated the client reports the
 * storage fields (vppModesSupported/Enabled bit 0, setMinWh, the VA/var/PF ratings), mirrors the
 * battery's stored energy (Wh, instantaneous, dataQualifier 0) with the DER, and a DERControl's
 * opModStorageTargetW drives the battery, discharge positive and charge negative; with v1.2 (no
 * negotiation) none of it is sent. */
static void test_storage_extension(void)
{
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    int dercap = 0, derg = 0, created = 0, stored = 0;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("csip-aus", "STO-03", NULL, a, &c, err, sizeof(err)), 0);
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT_EQUAL(sep_play_judge("STO-03", &c, &r), 0);
    for (size_t k = 0; k < r.n_ex; k++) {
        const char *b = r.ex[k].body ? r.ex[k].body : "";
        if (strcmp(r.ex[k].path, "/edev/1/der/1/dercap") == 0)
            dercap += strstr(b, "<csipaus:vppModesSupported>01</csipaus:vppModesSupported>") && strstr(b, "<rtgMaxVA>") &&
                      strstr(b, "<rtgMinPFUnderExcited>");
        if (strcmp(r.ex[k].path, "/edev/1/der/1/derg") == 0)
            derg += strstr(b, "<csipaus:vppModesEnabled>01</csipaus:vppModesEnabled>") &&
                    strstr(b, "<csipaus:setMinWh><multiplier>0</multiplier><value>0</value></csipaus:setMinWh>") != NULL;
        if (strcmp(r.ex[k].path, "/mup") == 0 && strstr(b, "<roleFlags>0049</roleFlags>")) {
            const char *m = strstr(b, "<description>DER stored energy</description>");
            created++;
            CU_ASSERT_PTR_NOT_NULL(m);
            if (m) /* instantaneous Wh, dataQualifier 0 ("not applicable"), the battery's 6750 Wh */
                CU_ASSERT_PTR_NOT_NULL(strstr(m, "<accumulationBehaviour>12</accumulationBehaviour><commodity>1</commodity>"
                                                 "<dataQualifier>0</dataQualifier><kind>12</kind>"));
        }
        if (strncmp(r.ex[k].path, "/mup/", 5) == 0 && strstr(b, "<description>DER stored energy</description>"))
            stored += strstr(strstr(b, "DER stored energy"), "<value>6750</value>") != NULL;
    }
    CU_ASSERT(dercap >= 1);
    CU_ASSERT(derg >= 1);
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT(stored >= 4);
    CU_ASSERT(fabs(battery_at(&r, 4) - 0) < 1);
    CU_ASSERT(fabs(battery_at(&r, 14) - 5000) < 1);
    sep_play_run_free(&r);

    /* a negative target charges the battery (with the rig's load limit of 0 W lifted) */
    replace_text(a, &c, "<value>5000</value></csipaus:opModStorageTargetW>",
                 "<value>-3000</value></csipaus:opModStorageTargetW>");
    replace_text(a, &c, "<value>0</value></csipaus:opModLoadLimW>", "<value>9000</value></csipaus:opModLoadLimW>");
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(fabs(battery_at(&r, 14) + 3000) < 1);
    CU_ASSERT(fabs(battery_at(&r, 26) - 0) < 1);
    sep_play_run_free(&r);
    ge_arena_free(a);

    /* CSIP-AUS v1.2 (ALL-06, ALL-09: no /.well-known/csipaus): nothing of the storage extension */
    static const char *const v12[] = { "ALL-06", "ALL-09" };
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load("csip-aus", v12[i], NULL, a, &c, err, sizeof(err)), 0);
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, NULL, NULL);
        for (size_t k = 0; k < r.n_ex; k++) {
            const char *b = r.ex[k].body ? r.ex[k].body : "";
            CU_ASSERT_PTR_NULL(strstr(b, "vppModes"));
            CU_ASSERT_PTR_NULL(strstr(b, "setMinWh"));
            CU_ASSERT_PTR_NULL(strstr(b, "stored energy"));
            CU_ASSERT_PTR_NULL(strstr(b, "<rtgMaxVA>"));
        }
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
}

/* The status sample at T (the first at or after it) holds "KEY":VALUE (NAN: null or none). */
static double sample_num(const sep_play_run_t *r, double t, const char *key)
{
    char k[40];
    size_t kl = (size_t)snprintf(k, sizeof(k), "\"%s\":", key);

    for (size_t i = 0; i < r->n_samples; i++) {
        const char *p;
        if (r->samples[i].t + 1e-9 < t)
            continue;
        p = strstr(r->samples[i].json, k);
        if (!p || strncmp(p + kl, "null", 4) == 0)
            return NAN;
        return strtod(p + kl, NULL);
    }
    return NAN;
}

static double price_at(const sep_play_run_t *r, double t)
{
    return sample_num(r, t, "price");
}


/* Play pricing case ID (CSIP-AUS v1.3) into R (zeroed here); its expectations all hold. */
static void play_prc(const char *id, sep_play_run_t *r, ge_arena_t **a, cf_case_t *c)
{
    char err[512];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("csip-aus", id, NULL, *a, c, err, sizeof(err)), 0);
    memset(r, 0, sizeof(*r));
    sep_play(c, r, NULL, NULL);
    CU_ASSERT_EQUAL(sep_play_judge(id, c, r), 0);
}

/* Count the requests METHOD PATH (a prefix when it ends in '*') whose body holds HAS (NULL: any). */
static int count_requests(const sep_play_run_t *r, const char *method, const char *path, const char *has)
{
    size_t n = strlen(path);
    int k = 0, prefix = n && path[n - 1] == '*';

    for (size_t i = 0; i < r->n_ex; i++) {
        const char *p = r->ex[i].path;
        size_t pl = strcspn(p, "?");
        if (strcmp(r->ex[i].method, method) != 0)
            continue;
        if (prefix ? strncmp(p, path, n - 1) != 0 : (pl != n || strncmp(p, path, n) != 0))
            continue;
        if (!has || strstr(r->ex[i].body, has))
            k++;
    }
    return k;
}

/* CSIP-AUS v1.3 pricing (PRC-01): the streamlined flow reads each RateComponent and ReadingType
 * once, answers every interval with PriceResponse 1, and prices a kWh as the tariff says. */
static void test_pricing_flow(void)
{
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;

    play_prc("PRC-01", &r, &a, &c);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/fsa/1/tp", NULL), 1);
    CU_ASSERT(count_requests(&r, "GET", "/edev/1/tp/1/ctti", NULL) >= 5);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/rc*", NULL), 1); /* the list only */
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/rt/imp", NULL), 1);
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<PriceResponse"), 3);
    CU_ASSERT(fabs(price_at(&r, 5) - 0.25) < 1e-9);
    CU_ASSERT(fabs(price_at(&r, 20) - 0.35) < 1e-9);
    CU_ASSERT(fabs(battery_at(&r, 20) - 5000) < 1);
    sep_play_run_free(&r);

    /* a profile without the combined list: its intervals are read from the RateComponent's own
     * TimeTariffIntervalList (here rc/1's holds them all) */
    replace_text(a, &c, "<csipaus:CombinedTimeTariffIntervalListLink href=\"/edev/1/tp/1/ctti\" all=\"1\"/>", "");
    for (size_t k = 0; k < c.n_actions; k++)
        if (c.actions[k].path && strcmp(c.actions[k].path, "/edev/1/tp/1/ctti") == 0)
            c.actions[k].path = "/edev/1/tp/1/rc/1/tti";
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/ctti", NULL), 0);
    CU_ASSERT(count_requests(&r, "GET", "/edev/1/tp/1/rc/1/tti", NULL) >= 1);
    CU_ASSERT(count_requests(&r, "GET", "/edev/1/tp/1/rc/2/tti", NULL) >= 1); /* 404: nothing there */
    CU_ASSERT(fabs(price_at(&r, 5) - 0.25) < 1e-9);
    CU_ASSERT(fabs(price_at(&r, 20) - 0.35) < 1e-9);
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<status>1</status>"), 3);
    sep_play_run_free(&r);

    /* no CSIP-AUS v1.3 (the server offers only a version we do not speak): no tariff is read */
    replace_text(a, &c, "https://csipaus.org/ns/v1.3\": {", "https://csipaus.org/ns/v9.9\": {");
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(count_requests(&r, "GET", "/edev/1/fsa", NULL) >= 1);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/fsa/1/tp", NULL), 0);
    CU_ASSERT(isnan(price_at(&r, 20)));
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* PRC-03: the TariffProfileList at its pollRate with the RateComponentList, the combined list at
 * its own; PRC-04: PriceResponse 6 for the cancelled interval only, and its price gone. */
static void test_pricing_polls_and_cancel(void)
{
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;

    play_prc("PRC-03", &r, &a, &c);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/fsa/1/tp", NULL), 6); /* 0, 6, .. 30 s */
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/rc*", NULL), 6);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/ctti", NULL), 3);
    sep_play_run_free(&r);
    ge_arena_free(a);

    play_prc("PRC-04", &r, &a, &c);
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<status>6</status>"), 1);
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<status>1</status>"), 3);
    CU_ASSERT(fabs(price_at(&r, 10) - 0.45) < 1e-9);
    CU_ASSERT(fabs(price_at(&r, 20) - 0.05) < 1e-9);
    sep_play_run_free(&r);

    /* a bad combined list (an EventStatus out of its type's range) is refused: the last good one
     * holds - the price stays, no PriceResponse 6 */
    replace_text(a, &c, "<currentStatus>2</currentStatus>", "<currentStatus>x</currentStatus>");
    memset(&r, 0, sizeof(r));
    sep_client_stats_t st = sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(st.bad_documents >= 1);
    CU_ASSERT_EQUAL(st.tariff_intervals, 3);
    CU_ASSERT(fabs(price_at(&r, 20) - 0.45) < 1e-9);
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<status>6</status>"), 0);
    sep_play_run_free(&r);

    /* a client that keeps the cancelled interval's price fails the case */
    replace_text(a, &c, "<currentStatus>x</currentStatus>", "<currentStatus>0</currentStatus>");
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(sep_play_failures(&c, &r) > 0);
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* PRC-02: what the prices mean - blocks, credits, export, a daily charge, cancellation, and the
 * ReadingType's power of ten; PRC-05: new RateComponents read once, the deleted one never. */
static void test_pricing_interpretation(void)
{
    static sep_play_run_t r;
    ge_arena_t *a;
    cf_case_t c;

    play_prc("PRC-02", &r, &a, &c);
    CU_ASSERT(fabs(price_at(&r, 5) - 0.05) < 1e-9);     /* the first block */
    CU_ASSERT(fabs(price_at(&r, 15) - 0.45) < 1e-9);
    CU_ASSERT(fabs(price_at(&r, 25) + 0.10) < 1e-9);    /* a credit */
    CU_ASSERT(isnan(price_at(&r, 35)));                 /* cancelled: no price */
    CU_ASSERT(fabs(sample_num(&r, 15, "export") - 0.08) < 1e-9);
    CU_ASSERT(fabs(sample_num(&r, 15, "daily") - 1.00) < 1e-9);
    CU_ASSERT(fabs(battery_at(&r, 25) + 5000) < 1);     /* paid to import: charge */
    CU_ASSERT_EQUAL(count_requests(&r, "POST", "/rsp/prc", "<status>6</status>"), 1);
    sep_play_run_free(&r);

    /* a ReadingType in Wh (powerOfTenMultiplier 0): the same numbers are per Wh, 1000 times the
     * price per kWh; and a pricePowerOfTenMultiplier of -3 (mills) a tenth of it */
    replace_text(a, &c, "<flowDirection>1</flowDirection>\n  <kind>12</kind>\n  <powerOfTenMultiplier>3",
                 "<flowDirection>1</flowDirection>\n  <kind>12</kind>\n  <powerOfTenMultiplier>0");
    replace_text(a, &c, "<pricePowerOfTenMultiplier>-2<", "<pricePowerOfTenMultiplier>-3<");
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(fabs(price_at(&r, 5) - 5.0) < 1e-9);      /* 5 x 10^-3 per Wh */
    CU_ASSERT(fabs(sample_num(&r, 15, "export") - 0.008) < 1e-9);
    sep_play_run_free(&r);
    ge_arena_free(a);

    play_prc("PRC-05", &r, &a, &c);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/rc/*", NULL), 2);
    CU_ASSERT_EQUAL(count_requests(&r, "GET", "/edev/1/tp/1/rc/2", NULL), 0);
    CU_ASSERT(fabs(price_at(&r, 20) - 0.45) < 1e-9);
    CU_ASSERT(fabs(sample_num(&r, 20, "export") - 0.10) < 1e-9);
    sep_play_run_free(&r);
    ge_arena_free(a);
}

static void test_config_checked(void)
{
    sep_client_t *c = NULL;
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = LFDI, .sfdi = SFDI, .seed = 1 };
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), 0);
    sep_client_free(c);
    cfg.lfdi = "XYZ";
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
    cfg.lfdi = LFDI;
    cfg.dcap_path = "dcap";
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
    {
        char uri[1024];
        memset(uri, 'a', sizeof(uri) - 1);
        uri[sizeof(uri) - 1] = '\0';
        cfg.dcap_path = "/dcap";
        cfg.notify_uri = uri; /* longer than any notificationURI we could be given */
        CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
    }
    /* an aggregator's sites: LFDIs of 40 hex digits, at most SEP_MAX_END_DEVICES of them */
    {
        static sep_end_device_t sites[SEP_MAX_END_DEVICES + 1];
        for (size_t i = 0; i < SEP_MAX_END_DEVICES + 1; i++)
            snprintf(sites[i].lfdi, sizeof(sites[i].lfdi), "%040zx", i + 1);
        cfg.notify_uri = NULL;
        cfg.aggregator = 1;
        cfg.agg_register = sites;
        cfg.n_agg_register = SEP_MAX_END_DEVICES;
        CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), 0);
        sep_client_free(c);
        cfg.n_agg_register = SEP_MAX_END_DEVICES + 1;
        CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
        cfg.n_agg_register = 1;
        sites[0].lfdi[7] = 'g';
        CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
        cfg.agg_register = NULL;
        CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
    }
}

/* CSIP-AUS Annex C: opModFixedW to AS/NZS 4755 DRM.  The nine documented points (DRM0 is
 * opModConnect false, below) exactly; in between, the nearest point, a tie going to the one nearer
 * 0 % (the more restrictive mode); beyond +-100 %, DRM4 / DRM8. */
static void test_drm_of_fixed_w(void)
{
    static const struct { int fixed_w, drm; } t[] = {
        /* the documented points (hundredths of a percent) */
        { -1, 1 }, { -5000, 2 }, { -7500, 3 }, { -10000, 4 },
        { 0, 5 }, { 5000, 6 }, { 7500, 7 }, { 10000, 8 },
        /* between them */
        { -2, 1 }, { -2500, 1 }, { -2501, 2 }, { -6250, 2 }, { -6251, 3 }, { -8750, 3 }, { -8751, 4 },
        { 1, 5 }, { 2500, 5 }, { 2501, 6 }, { 6250, 6 }, { 6251, 7 }, { 8750, 7 }, { 8751, 8 },
        /* beyond */
        { -10001, 4 }, { -32768, 4 }, { 10001, 8 }, { 32767, 8 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int drm = sep__drm_of_fixed_w(t[i].fixed_w);
        if (drm != t[i].drm)
            fprintf(stderr, "opModFixedW %d: DRM%d, expected DRM%d\n", t[i].fixed_w, drm, t[i].drm);
        CU_ASSERT_EQUAL(drm, t[i].drm);
    }
}

/* DERStatus with demand response: operationalModeStatus 100 + DRM while one is in force, left out
 * while none is, alarmStatus always (0 without an alarm); without demand response as before (2 or 1,
 * alarmStatus only with an alarm).  Each one valid against the official XSD. */
static void test_der_status_drm(void)
{
    static const struct {
        int drm;
        uint32_t alarms;
        const char *mode;   /* operationalModeStatus value, "" = left out */
        const char *alarm;  /* alarmStatus, NULL = left out */
    } t[] = {
        { SEP_DRM_OFF, 0, "2", NULL },
        { SEP_DRM_OFF, GE_ALARM_OVER_VOLTAGE, "2", "00000002" },
        { SEP_DRM_NONE, 0, "", "00000000" },
        { 0, 0, "100", "00000000" },
        { 1, 0, "101", "00000000" },
        { 3, 0, "103", "00000000" },
        { 5, 0, "105", "00000000" },
        { 8, 0, "108", "00000000" },
        { 4, GE_ALARM_OVER_VOLTAGE, "104", "00000002" },
    };
    xsd_t *xsd = xsd_dir() ? xsd_load("sep/sep.xsd") : NULL;
    ge_der_caps_t caps;
    ge_telemetry_t tel;

    memset(&caps, 0, sizeof(caps));
    caps.modes = GE_SP_BATTERY_W | GE_SP_CONNECT;
    caps.rtg_max_w = 5000;
    caps.rtg_max_wh = 13500;
    caps.rtg_max_charge_rate_w = caps.rtg_max_discharge_rate_w = 5000;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ge_buf_t b;
        char mode[8];
        const char *p;
        memset(&tel, 0, sizeof(tel));
        tel.soc_pct = 50;
        tel.battery_w = 2000;
        tel.alarms = t[i].alarms;
        ge_buf_init(&b, NULL, 0);
        CU_ASSERT_EQUAL_FATAL(sep__ders_xml(&ge_xml_schema_sep, &b, &caps, &tel, 1800000000, t[i].drm), 0);
        const char *body = ge_buf_str(&b);
        status_value(body, "operationalModeStatus", mode, sizeof(mode));
        CU_ASSERT_STRING_EQUAL(mode, t[i].mode);
        p = strstr(body, "<alarmStatus>");
        if (!t[i].alarm) {
            CU_ASSERT_PTR_NULL(p);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(p);
            CU_ASSERT_EQUAL(strncmp(p + strlen("<alarmStatus>"), t[i].alarm, 8), 0);
        }
        if (xsd) {
            char why[600];
            int ok = xsd_valid(xsd, body, strlen(body), why, sizeof(why));
            if (!ok)
                fprintf(stderr, "DERStatus invalid: %s\n%s\n", why, body);
            CU_ASSERT_TRUE(ok);
        }
        ge_buf_free(&b);
    }
    xsd_free(xsd);
}

/* Demand response in the engine: the operator's DefaultDERControl with opModFixedW -50 % is DRM2
 * (102); a control of the same program with opModTargetW wins the battery, and no DRM is in force
 * (operationalModeStatus left out); one with opModConnect false is DRM0 (100) over the default's
 * DRM2.  Each change is PUT at once, not at the DER list's poll rate (60 s). */
static const char drm_case[] =
    "case GE-T-DRM\n"
    "duration 30\n"
    "include csipaus-base\n"
    "resource /edev/1/derp/1/dderc\n"
    "<DefaultDERControl xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/1/derp/1/dderc\" subscribable=\"0\">"
    "<mRID>D0000000000000000000000000000A01</mRID><description>DRM2</description>"
    "<DERControlBase><opModFixedW>-5000</opModFixedW></DERControlBase></DefaultDERControl>\n"
    "end\n"
    "resource /edev/1/derp/1/derc\n"
    "<DERControlList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev/1/derp/1/derc\" subscribable=\"0\" all=\"2\" "
    "results=\"2\"><DERControl href=\"/edev/1/derp/1/derc/1\" subscribable=\"0\">"
    "<mRID>DD000000000000000000000000000001</mRID><description>target</description>"
    "<creationTime>{start-60}</creationTime><EventStatus><currentStatus>0</currentStatus><dateTime>{start-60}</dateTime>"
    "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
    "<interval><duration>6</duration><start>{start+8}</start></interval><DERControlBase>"
    "<opModTargetW><multiplier>0</multiplier><value>1000</value></opModTargetW></DERControlBase></DERControl>"
    "<DERControl href=\"/edev/1/derp/1/derc/2\" subscribable=\"0\">"
    "<mRID>DD000000000000000000000000000002</mRID><description>disconnect</description>"
    "<creationTime>{start-60}</creationTime><EventStatus><currentStatus>0</currentStatus><dateTime>{start-60}</dateTime>"
    "<potentiallySuperseded>false</potentiallySuperseded></EventStatus>"
    "<interval><duration>6</duration><start>{start+20}</start></interval><DERControlBase>"
    "<opModConnect>false</opModConnect></DERControlBase></DERControl></DERControlList>\n"
    "end\n";

static void test_drm_in_force(void)
{
    static const struct {
        double from, until;
        const char *mode;
    } phases[] = {
        { 0, 7.5, "102" }, { 8, 13.5, "" }, { 14, 19.5, "102" }, { 20, 25.5, "100" }, { 26, 30, "102" },
    };
    static sep_play_run_t r;
    sep_play_device_t dev = { 0 };
    ge_arena_t *a;
    cf_case_t c;

    dev.demand_response = 1;
    a = load_inline_case_of("csip-aus", "GE-T-DRM", drm_case, &c);
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, &dev);
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        const char *last = NULL;
        char mode[8];
        /* what the DER said last in the phase, said within it */
        for (size_t k = 0; k < r.n_ex; k++)
            if (strcmp(r.ex[k].method, "PUT") == 0 && strcmp(r.ex[k].path, "/edev/1/der/1/ders") == 0 &&
                r.ex[k].t < phases[i].until)
                last = r.ex[k].t >= phases[i].from - 1 ? r.ex[k].body : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(last);
        status_value(last, "operationalModeStatus", mode, sizeof(mode));
        if (strcmp(mode, phases[i].mode))
            fprintf(stderr, "before %.1f s: operationalModeStatus '%s', expected '%s'\n", phases[i].until, mode,
                    phases[i].mode);
        CU_ASSERT_STRING_EQUAL(mode, phases[i].mode);
        CU_ASSERT_PTR_NOT_NULL(strstr(last, "<alarmStatus>00000000</alarmStatus>"));
    }
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* The EndDevice POSTed in band names the DER's DeviceCategoryType when asked to, and only then. */
static void test_end_device_category(void)
{
    ge_der_caps_t caps;
    ge_buf_t b;

    memset(&caps, 0, sizeof(caps));
    caps.pv_peak_w = 5000;
    caps.rtg_max_wh = 13500;
    caps.ev_max_w = 7200;
    CU_ASSERT_EQUAL(sep__device_category(&caps), (1u << 23) | (1u << 17)); /* combined PV and storage, EVSE */
    caps.pv_peak_w = 0;
    caps.ev_max_w = 0;
    CU_ASSERT_EQUAL(sep__device_category(&caps), 1u << 25); /* other storage */
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(sep__end_device_xml(&ge_xml_schema_sep, &b, LFDI, SFDI, 1800000000, 1u << 23), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "<deviceCategory>00800000</deviceCategory>"));
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL_FATAL(sep__end_device_xml(&ge_xml_schema_sep, &b, LFDI, SFDI, 1800000000, 0), 0);
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&b), "deviceCategory"));
    ge_buf_free(&b);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "config checked", test_config_checked },
        { "csip cases in simulated time", test_cases_in_simulated_time },
        { "aggregator cases", test_aggregator_cases },
        { "aggregator EndDevices", test_aggregator_end_devices },
        { "aggregator registers its sites in band", test_aggregator_registers_sites },
        { "failmalloc", test_failmalloc },
        { "DER faults become LogEvents", test_logevents },
        { "DERStatus aggregates the site's devices", test_der_status_aggregates_devices },
        { "demand response: opModFixedW to DRM", test_drm_of_fixed_w },
        { "demand response: DERStatus operationalModeStatus and alarmStatus", test_der_status_drm },
        { "demand response: the EndDevice's deviceCategory", test_end_device_category },
        { "demand response: the DRM in force, from defaults and controls", test_drm_in_force },
        { "in-band registration, CSIP-AUS detected", test_inband_registration_csip_aus },
        { "bad Notifications", test_notification_bad_input },
        { "CSIP-AUS version negotiation: the /.well-known/csipaus answer", test_version_parse },
        { "CSIP-AUS version negotiation: what the client asks, then reads", test_version_negotiation },
        { "saved control state across a restart", test_saved_state },
        { "CSIP-AUS v1.3 storage extension (v1.3 only)", test_storage_extension },
        { "CSIP-AUS v1.3 pricing: the streamlined flow (PRC-01)", test_pricing_flow },
        { "CSIP-AUS v1.3 pricing: poll rates, cancellation (PRC-03, PRC-04)", test_pricing_polls_and_cancel },
        { "CSIP-AUS v1.3 pricing: interpretation, new components (PRC-02, PRC-05)", test_pricing_interpretation },
        { NULL, NULL },
    };
    return test_add_suite("sep", cases);
}
