/* test_csipaus.c - the csip-aus conformance suite played to the 2030.5 engine in simulated time
 * (tests/sep_play.h): the cases whose features the engine has must pass, everything the client sends
 * must validate against the CSIP-AUS schema (2030.5 with the csipaus extensions), and a client that
 * does nothing fails every scripted case.  The subscription cases (classes S-L, S-G) pass only with
 * the Notifications: without them the client's polling misses what they change. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "conformance/verdict.h"
#include "runner.h"
#include "sep_play.h"
#include "xsd.h"

#define SUITE "csip-aus"

/* The csip-aus cases the engine passes. */
static const char *const supported[] = {
    "ALL-01", "ALL-02", "ALL-03", "ALL-04", "ALL-05", "ALL-06", "ALL-07", "ALL-08", "ALL-09", "ALL-11",
    "ALL-12", "ALL-18", "ALL-19", "ALL-20", "ALL-21", "ALL-22", "ALL-23", "ALL-24", "ALL-25", "GEN-01",
    "GEN-02", "GEN-03", "GEN-04", "GEN-09", "GEN-10", "GEN-11", "GEN-12", "GEN-13", "LOA-01", "LOA-02",
    "LOA-03", "LOA-04", "LOA-09", "LOA-10", "LOA-11", "LOA-12", "LOA-13", "ALL-03-REJ", "ALL-10", "ALL-13",
    "ALL-26", "ALL-27", "ALL-29", "ALL-30", "ALT-ALL-29", "ALT-LOA-13", "P-02", "P-03",
    "ALL-25-EXT", "ALL-28", "MUL-01", "MUL-02",
};

/* The subscription cases (classes S-L, S-G) the engine passes: what changes reaches it by Notification. */
static const char *const subscribing[] = {
    "ALL-14", "ALL-15", "ALL-16", "ALL-17", "GEN-05", "GEN-06", "GEN-07", "GEN-08", "LOA-05", "LOA-06", "LOA-07", "LOA-08",
};

/* The cases in CSIP-AUS v1.3's namespace (version negotiation through /.well-known/csipaus; the
 * storage extension's STO-*; pricing's PRC-*; MUL-03, whose ratings come with the storage
 * extension): what the client sends there is checked against v1.3's XSDs. */
static const char *const negotiating[] = {
    "SDVN-01", "STO-01", "STO-02", "STO-03", "STO-04", "STO-05", "STO-06", "PRC-01", "PRC-02", "PRC-03", "PRC-04", "PRC-05",
    "GE-CSIPAUS-001",
    "MUL-03",
};

/* The demand response cases (CSIP-AUS Annex C, AS/NZS 4755 DRMs): they pass with demand response
 * on (sep run --demand-response). */
static const char *const demand_response[] = { "DRA-01", "DRA-02", "DRD-01", "DRG-01", "DRL-01" };

/* The aggregator's cases: they pass against an aggregator (sep run --aggregator; tests/test_sep.c
 * plays them as one, and as a DER client, which fails them). */
static const char *const aggregating[] = { "P-01" };

/* An aggregator that registers its own sites' EndDevices in band (sep run --aggregator
 * --register-edev LFDI:NMI ...): the LFDIs, SFDIs and NMIs GE-CSIPAUS-002 expects. */
static const char *const registering[] = { "GE-CSIPAUS-002" };
static const sep_end_device_t own_sites[] = { { "5A1C3D7E92B04F6681A7C3E5D2F0918B7C6E4A21", 241888030493ull, "" },
                                               { "C47E0B9D3A6F5128E0D4B7A92C1F6E83D5B0A974", 527455175234ull, "" } };
static const char *const own_nmis[] = { "4123456701", "4123456702" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int listed(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* Case ID of the suite into C, in a new arena (the caller frees it); NULL (and a message) if it does not
 * load. */
static ge_arena_t *load(const char *id, cf_case_t *c)
{
    ge_arena_t *a;
    char err[512] = "";

    if (ge_arena_new(&a, NULL, 0, 4 << 20) < 0)
        return NULL;
    if (cf_case_load(SUITE, id, NULL, a, c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        ge_arena_free(a);
        return NULL;
    }
    return a;
}

static void test_supported_cases_pass(void)
{
    size_t validated = sep_play_suite(SUITE, supported, N_OF(supported), "csipaus/csipaus-core.xsd");
    if (xsd_dir()) {
        CU_ASSERT(validated > 100);
        printf("(%zu documents the client sent validated against the CSIP-AUS XSD) ", validated);
    }
}

static void test_v13_cases_pass(void)
{
    size_t validated = sep_play_suite(SUITE, negotiating, N_OF(negotiating), "csipaus/csipaus-core-v1.3.xsd");
    if (xsd_dir()) {
        CU_ASSERT(validated >= 4);
        printf("(%zu documents the client sent validated against the CSIP-AUS v1.3 XSD) ", validated);
    }
}

static void test_demand_response_cases_pass(void)
{
    sep_play_device_t dev = { 0 };

    dev.demand_response = 1;
    size_t validated = sep_play_suite_dev(SUITE, demand_response, N_OF(demand_response), "csipaus/csipaus-core.xsd", &dev);
    if (xsd_dir())
        CU_ASSERT(validated > 0);
}

/* P-01 passes against an aggregator (its EndDevices share the operator's controls), what it sends
 * valid; a DER client fails it. */
static void test_aggregator_case(void)
{
    size_t validated = sep_play_suite_agg(SUITE, aggregating, N_OF(aggregating), "csipaus/csipaus-core.xsd", NULL);

    if (xsd_dir())
        CU_ASSERT(validated > 0);
    sep_play_suite_fails(SUITE, aggregating, N_OF(aggregating));
}

/* GE-CSIPAUS-002 passes against an aggregator that registers its sites (each POSTed once, valid, then
 * acted for with its NMI); one that registers nothing, or only one of them, and a DER client fail it. */
static void test_aggregator_registers_its_sites(void)
{
    sep_play_sites_t sites = { own_sites, own_nmis, N_OF(own_sites) }, one = { own_sites, own_nmis, 1 };
    static sep_play_run_t r;
    cf_case_t c;
    ge_arena_t *a;
    size_t validated = sep_play_suite_agg(SUITE, registering, N_OF(registering), "csipaus/csipaus-core.xsd", &sites);

    if (xsd_dir())
        CU_ASSERT(validated > 0);
    sep_play_suite_fails(SUITE, registering, N_OF(registering));
    a = load(registering[0], &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    memset(&r, 0, sizeof(r));
    sep_play_agg(&c, &r, NULL);
    CU_ASSERT(sep_play_failures(&c, &r) > 0);
    sep_play_run_free(&r);
    memset(&r, 0, sizeof(r));
    sep_play_agg(&c, &r, &one);
    CU_ASSERT(sep_play_failures(&c, &r) > 0);
    size_t posts = 0;
    for (size_t k = 0; k < r.n_ex; k++)
        posts += strcmp(r.ex[k].method, "POST") == 0 && strcmp(r.ex[k].path, "/edev") == 0;
    CU_ASSERT_EQUAL(posts, 1); /* the one it registers, once */
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* Without demand response the client reports no DRM (operationalModeStatus 2 or 1, no alarmStatus,
 * no deviceCategory): it fails every demand response case, in the expectations about what it
 * reports, while the DER itself still follows the controls. */
static void test_demand_response_cases_need_it(void)
{
    static sep_play_run_t r;
    static cf_expect_t physical[256];

    for (size_t i = 0; i < N_OF(demand_response); i++) {
        cf_case_t c, only_status;
        size_t n = 0;
        ge_arena_t *a = load(demand_response[i], &c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_FATAL(c.n_expects <= N_OF(physical));
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, NULL, NULL);
        int failed = sep_play_failures(&c, &r);
        if (failed < 1)
            fprintf(stderr, "%s: passes without demand response\n", demand_response[i]);
        CU_ASSERT(failed >= 1);
        /* what fails is the reporting: the status file's expectations hold all the same */
        for (size_t k = 0; k < c.n_expects; k++)
            if (c.expects[k].kind == CF_EXP_STATUS)
                physical[n++] = c.expects[k];
        only_status = c;
        only_status.expects = physical;
        only_status.n_expects = n;
        CU_ASSERT_EQUAL(sep_play_failures(&only_status, &r), 0);
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
}

static void test_subscription_cases_pass(void)
{
    size_t validated = sep_play_suite(SUITE, subscribing, N_OF(subscribing), "csipaus/csipaus-core.xsd");
    if (xsd_dir()) {
        CU_ASSERT(validated > 12); /* the Subscriptions among them */
        printf("(%zu documents validated) ", validated);
    }
}

/* Drop C's actions for which DROP is true; how many were dropped. */
static size_t drop_actions(cf_case_t *c, bool (*drop)(const cf_action_t *))
{
    size_t n = 0, dropped = 0;

    for (size_t k = 0; k < c->n_actions; k++)
        if (drop(&c->actions[k]))
            dropped++;
        else
            c->actions[n++] = c->actions[k];
    c->n_actions = n;
    return dropped;
}

static bool is_send(const cf_action_t *a)
{
    return a->kind == CF_ACT_SEND;
}

static bool is_fault_file(const cf_action_t *a)
{
    return a->kind == CF_ACT_FAULT_FILE;
}

/* P-02's change of the FunctionSetAssignmentsList. */
static bool is_fsa_change(const cf_action_t *a)
{
    return a->kind == CF_ACT_RESOURCE && a->at > 0 && strcmp(a->path, "/edev/1/fsa") == 0;
}

/* The subscription cases need their Notifications: played without the head-end's sends (a client that
 * does not subscribe, or whose notification server is unreachable, and keeps polling), the DER's
 * behaviour in each case fails, not only the expectations about Subscriptions and answers. */
static void test_subscription_cases_need_notifications(void)
{
    static sep_play_run_t r;

    for (size_t i = 0; i < N_OF(subscribing); i++) {
        cf_case_t c;
        size_t n = 0, sends;
        ge_arena_t *a = load(subscribing[i], &c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        sends = drop_actions(&c, is_send);
        for (size_t k = 0; k < c.n_expects; k++)
            if (c.expects[k].kind == CF_EXP_STATUS)
                c.expects[n++] = c.expects[k];
        c.n_expects = n;
        CU_ASSERT(sends > 0);
        CU_ASSERT(n > 0);
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, NULL, NULL);
        int failed = sep_play_failures(&c, &r);
        if (!failed)
            fprintf(stderr, "%s: the DER behaves as required without the Notifications\n", subscribing[i]);
        CU_ASSERT(failed > 0);
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
}

/* MUL-01 and MUL-02 need the site's devices switched off and on: a client whose device simulator
 * ignores the fault file (the cases played without their `at T fault-file` lines) fails each, in its
 * DERStatus and in its readings and status file. */
static void test_multi_der_needs_devices_switched(void)
{
    static const char *const ids[] = { "MUL-01", "MUL-02" };
    static sep_play_run_t r;

    for (size_t i = 0; i < N_OF(ids); i++) {
        cf_case_t c;
        ge_arena_t *a = load(ids[i], &c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT(drop_actions(&c, is_fault_file) >= 3);
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, NULL, NULL);
        int failed = sep_play_failures(&c, &r);
        if (failed < 3)
            fprintf(stderr, "%s: %d expectation(s) fail with the devices never switched\n", ids[i], failed);
        CU_ASSERT(failed >= 3);
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
}

/* P-02: a client that keeps following the program of a FunctionSetAssignments that left its list (the
 * case played without the list's change) fails it. */
static void test_fsa_change_needed(void)
{
    static sep_play_run_t r;
    cf_case_t c;
    size_t dropped;
    ge_arena_t *a = load("P-02", &c);

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    dropped = drop_actions(&c, is_fsa_change);
    CU_ASSERT_EQUAL(dropped, 1);
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    CU_ASSERT(sep_play_failures(&c, &r) > 0);
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* `expect reading`: the telemetry cases' readings agree with the status file; shifted by 300 W (more
 * than the 100 W accuracy limit) in the status file, every reading expectation that compares with it
 * fails, and one that counts more readings than were posted fails too. */
static void test_readings_judged(void)
{
    static sep_play_run_t r;
    cf_case_t c;
    ge_arena_t *a = load("ALL-29", &c);
    cf_observed_t obs;
    size_t judged = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    memset(&r, 0, sizeof(r));
    sep_play(&c, &r, NULL, NULL);
    obs = (cf_observed_t){ .ex = r.ex, .n_ex = r.n_ex, .samples = r.samples, .n_samples = r.n_samples,
                           .end = c.duration, .start = SEP_PLAY_T0 };
    for (size_t k = 0; k < c.n_expects; k++) {
        cf_expect_t e = c.expects[k];
        char d[400];
        if (e.kind != CF_EXP_READING)
            continue;
        CU_ASSERT_TRUE(cf_expect_check(&e, &obs, d, sizeof(d)));
        e.count_min = 1000;
        CU_ASSERT_FALSE(cf_expect_check(&e, &obs, d, sizeof(d)));
        judged++;
    }
    CU_ASSERT_EQUAL(judged, 2);
    for (size_t i = 0; i < r.n_samples; i++) {
        /* every power in the status file 300 W higher: the meter disagrees with the readings */
        char buf[4096];
        size_t o = 0;
        for (const char *p = r.samples[i].json; *p && o < sizeof(buf) - 32;) {
            const char *q = strstr(p, "_w\":");
            if (!q) {
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", p);
                break;
            }
            q += 4;
            memcpy(buf + o, p, (size_t)(q - p));
            o += (size_t)(q - p);
            char *end;
            double v = strtod(q, &end);
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%.1f", v + 300);
            p = end;
        }
        free((char *)r.samples[i].json);
        r.samples[i].json = strdup(buf);
    }
    for (size_t k = 0; k < c.n_expects; k++) {
        char d[400];
        if (c.expects[k].kind == CF_EXP_READING)
            CU_ASSERT_FALSE(cf_expect_check(&c.expects[k], &obs, d, sizeof(d)));
    }
    sep_play_run_free(&r);
    ge_arena_free(a);
}

/* A reading taken while the site ramps, between two writes of the status file, agrees with the
 * file when it lies between the two samples; one outside them (by more than the tolerance) does not. */
static void test_reading_in_a_ramp(void)
{
    static const char *const samples_json[] = { "{\"site\":{\"power_w\":-1000}}", "{\"site\":{\"power_w\":-1100}}",
                                                "{\"site\":{\"power_w\":-2200}}", "{\"site\":{\"power_w\":-2200}}" };
    static const double samples_t[] = { 5.75, 6.25, 6.75, 7.25 };
    static const struct {
        const char *value;
        int agrees;
    } posts[] = { { "1575", 1 }, { "2250", 1 }, { "1060", 1 }, { "2600", 0 }, { "700", 0 } };
    char text[256], err[256] = "";
    cf_sample_t samples[4];
    ge_arena_t *a;
    cf_case_t c;
    int n = snprintf(text, sizeof(text), "case X\nexpect reading site = site.power_w +- 100 within 0 10 count 1\n");

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("t.case", text, (size_t)n, a, NULL, NULL, &c, err, sizeof(err)), 0);
    for (size_t i = 0; i < 4; i++)
        samples[i] = (cf_sample_t){ samples_t[i], samples_json[i] };
    for (size_t i = 0; i < N_OF(posts); i++) {
        char body[600], d[400];
        /* the site's mirror: export (flowDirection 19) of 1575 W is -1575 W in the status file */
        snprintf(body, sizeof(body),
                 "<MirrorUsagePoint><roleFlags>03</roleFlags><MirrorMeterReading><mRID>AA01</mRID>"
                 "<Reading><value>%s</value></Reading><ReadingType><flowDirection>19</flowDirection>"
                 "<powerOfTenMultiplier>0</powerOfTenMultiplier><uom>38</uom></ReadingType>"
                 "</MirrorMeterReading></MirrorUsagePoint>", posts[i].value);
        cf_exchange_t ex = { 6.6, "POST", "/mup", body, 201 };
        cf_observed_t obs = { .ex = &ex, .n_ex = 1, .samples = samples, .n_samples = 4, .end = 10, .start = 0 };
        int ok = cf_expect_check(&c.expects[0], &obs, d, sizeof(d));
        if (ok != posts[i].agrees)
            fprintf(stderr, "reading %s: %s\n", posts[i].value, d);
        CU_ASSERT_EQUAL(ok, posts[i].agrees);
    }
    ge_arena_free(a);
}

/* `expect reading` lines: what parses and what is refused, with the line named. */
static void test_reading_lines_parse(void)
{
    static const struct {
        const char *line;
        int ok;
    } lines[] = {
        { "expect reading site = site.power_w +- 100 within 3 40 count 8", 1 },
        { "expect reading der = pv.power_w+battery.power_w +- 100", 1 },
        { "expect reading der >= 4500 within 1 2 count 1 3", 1 },
        { "expect reading der-stored >= 6000 within 0 34 count 4", 1 },
        { "expect reading der-energy >= 6000", 0 },
        { "expect reading meter = 0", 0 },
        { "expect reading der <= site.power_w", 0 },
        { "expect reading der >= 10 +- 5", 0 },
        { "expect reading site ~ 0", 0 },
        { "expect reading site = 0 within 5 2", 0 },
        { "expect reading site = 0 every 2", 0 },
    };
    for (size_t i = 0; i < N_OF(lines); i++) {
        char text[256], err[256] = "";
        ge_arena_t *a;
        cf_case_t c;
        int n = snprintf(text, sizeof(text), "case X\n%s\n", lines[i].line);
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
        int rc = cf_case_parse("t.case", text, (size_t)n, a, NULL, NULL, &c, err, sizeof(err));
        if ((rc == 0) != lines[i].ok)
            fprintf(stderr, "'%s': %s\n", lines[i].line, rc ? err : "parsed");
        CU_ASSERT_EQUAL(rc == 0, lines[i].ok);
        if (rc == 0) {
            CU_ASSERT_EQUAL(c.expects[0].kind, CF_EXP_READING);
            CU_ASSERT(c.expects[0].count_min >= 1);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.case:2: error: "));
        }
        ge_arena_free(a);
    }
}

/* Every scripted case is classified, and every case a list names is scripted. */
static void test_every_case_classified(void)
{
    cf_catalogue_t cat;
    char err[512];
    size_t scripted = 0;

    CU_ASSERT_EQUAL_FATAL(cf_catalogue_load(SUITE, &cat, err, sizeof(err)), 0);
    for (size_t i = 0; i < cat.n; i++) {
        ge_arena_t *a;
        cf_case_t c;
        const char *id = cat.cases[i].id;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load(SUITE, id, NULL, a, &c, err, sizeof(err));
        ge_arena_free(a);
        if (rc == GE_ERR_NOTFOUND)
            continue;
        CU_ASSERT_EQUAL(rc, 0);
        scripted++;
        int in = listed(supported, N_OF(supported), id) || listed(subscribing, N_OF(subscribing), id) ||
                 listed(negotiating, N_OF(negotiating), id) || listed(demand_response, N_OF(demand_response), id) ||
                 listed(aggregating, N_OF(aggregating), id) || listed(registering, N_OF(registering), id);
        if (!in)
            fprintf(stderr, "%s: scripted but not in the supported list\n", id);
        CU_ASSERT_EQUAL(in, 1);
    }
    for (size_t i = 0; i < N_OF(supported); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, supported[i]));
    for (size_t i = 0; i < N_OF(subscribing); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, subscribing[i]));
    for (size_t i = 0; i < N_OF(negotiating); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, negotiating[i]));
    for (size_t i = 0; i < N_OF(demand_response); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, demand_response[i]));
    for (size_t i = 0; i < N_OF(aggregating); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, aggregating[i]));
    for (size_t i = 0; i < N_OF(registering); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, registering[i]));
    CU_ASSERT_EQUAL(scripted, N_OF(supported) + N_OF(subscribing) + N_OF(negotiating) + N_OF(demand_response) +
                                  N_OF(aggregating) + N_OF(registering));
    cf_catalogue_free(&cat);
}

/* A client that does nothing fails every scripted case: neither with no status file at all, nor with
 * a status file showing a site that runs by itself (battery idle, PV 3 kW, house 1 kW, no controls). */
static void test_idle_client_fails_every_case(void)
{
    static const char *const *const lists[] = { supported, subscribing, negotiating, demand_response };
    const size_t counts[] = { N_OF(supported), N_OF(subscribing), N_OF(negotiating), N_OF(demand_response) };
    static sep_play_run_t r;

    for (size_t l = 0; l < N_OF(lists); l++)
        for (size_t i = 0; i < counts[l]; i++) {
            cf_case_t c;
            ge_arena_t *a = load(lists[l][i], &c);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            memset(&r, 0, sizeof(r));
            int silent = sep_play_failures(&c, &r);
            for (double t = 0; t <= c.duration && r.n_samples < SEP_PLAY_MAX_SAMPLES; t += 0.25) {
                char json[300];
                snprintf(json, sizeof(json),
                         "{\"time\":%.0f,\"site\":{\"power_w\":-2000},\"pv\":{\"power_w\":3000},"
                         "\"battery\":{\"power_w\":0,\"soc_pct\":50},\"ev\":{\"power_w\":0},"
                         "\"active_controls\":[],\"price\":null}",
                         SEP_PLAY_T0 + c.time_offset + t);
                r.samples[r.n_samples].t = t;
                r.samples[r.n_samples].json = strdup(json);
                r.n_samples++;
            }
            int lazy = sep_play_failures(&c, &r);
            if (!silent || !lazy)
                fprintf(stderr, "%s: a client that does nothing passes it (%s)\n", lists[l][i],
                        !silent ? "no status file" : "a site running by itself");
            CU_ASSERT(silent > 0);
            CU_ASSERT(lazy > 0);
            sep_play_run_free(&r);
            ge_arena_free(a);
        }
}


/* Demand response changes what DERStatus says outside a DRM (operationalModeStatus left out, as
 * CSIP-AUS Annex C has it, instead of 2 or 1), so with it on the two cases that check that value
 * while no DRM is in force (ALL-08, MUL-01) fail; every other case passes as without it. */
static void test_demand_response_and_the_other_cases(void)
{
    static const char *const *const lists[] = { supported, subscribing, negotiating };
    const size_t counts[] = { N_OF(supported), N_OF(subscribing), N_OF(negotiating) };
    static const char *const need_off[] = { "ALL-08", "MUL-01" };
    static sep_play_run_t r;
    sep_play_device_t dev = { 0 };

    dev.demand_response = 1;
    for (size_t l = 0; l < N_OF(lists); l++)
        for (size_t i = 0; i < counts[l]; i++) {
            cf_case_t c;
            ge_arena_t *a = load(lists[l][i], &c);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            memset(&r, 0, sizeof(r));
            sep_play(&c, &r, NULL, &dev);
            int off = listed(need_off, N_OF(need_off), lists[l][i]);
            int failed = sep_play_judge(off ? NULL : lists[l][i], &c, &r);
            if (off) {
                CU_ASSERT(failed > 0);
            } else {
                CU_ASSERT_EQUAL(failed, 0);
            }
            sep_play_run_free(&r);
            ge_arena_free(a);
        }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "every scripted case classified", test_every_case_classified },
        { "supported csip-aus cases pass in simulated time", test_supported_cases_pass },
        { "subscription cases pass in simulated time", test_subscription_cases_pass },
        { "CSIP-AUS v1.3 cases (SDVN-01, storage STO-01..06, pricing PRC-01..05, MUL-03) pass in simulated time",
          test_v13_cases_pass },
        { "subscription cases need their Notifications", test_subscription_cases_need_notifications },
        { "demand response cases (DRA-01, DRA-02, DRD-01, DRG-01, DRL-01) pass with demand response on",
          test_demand_response_cases_pass },
        { "demand response cases fail without it", test_demand_response_cases_need_it },
        { "a client that does nothing fails every case", test_idle_client_fails_every_case },
        { "P-02 needs the FSA list's change followed", test_fsa_change_needed },
        { "P-01 passes against an aggregator, not a DER client", test_aggregator_case },
        { "GE-CSIPAUS-002: an aggregator registers its sites in band", test_aggregator_registers_its_sites },
        { "MUL-01 and MUL-02 need the devices switched", test_multi_der_needs_devices_switched },
        { "readings judged against the status file", test_readings_judged },
        { "a reading taken in a ramp", test_reading_in_a_ramp },
        { "expect reading lines parse", test_reading_lines_parse },
        { "with demand response on, all but ALL-08 and MUL-01 pass", test_demand_response_and_the_other_cases },
        { NULL, NULL },
    };
    return test_add_suite("csip-aus", cases);
}
