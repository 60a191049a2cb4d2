/* test_oadr3.c - the OpenADR 3.0 VEN engine.  Rules table-driven (events' intervals, payloads and
 * priorities; what is refused and why), the OAuth2 token's life, notifications, and the built-in
 * oadr3 conformance cases played to the engine in simulated time: the VTN's answers come from the
 * head-end's own serve logic (conformance/serve.c), the engine's control drives the real price
 * policy on an ideal device, and conformance/verdict.c judges - the same cases
 * `gridedge conformance run --suite oadr3` plays over the network. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/oadr3.h>
#include <gridedge/policy.h>

#include "conformance/case.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "runner.h"
#include "site_model.h"

#define T0 1800000000.0 /* 2027-01-15T08:00:00Z */
#define STEP 0.25
#define MAX_EX 4000
#define MAX_SAMPLES 1000

/* ---- events: what is taken, what is refused and why ------------------------------------------- */

#define EV_HEAD "{\"id\":\"e1\",\"programID\":\"p1\","

static void test_event_checks(void)
{
    static const struct {
        const char *json;
        const char *why; /* NULL: accepted; else a part of the reason */
    } cases[] = {
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[1]}]}]}", NULL },
        { EV_HEAD "\"intervals\":[]}", NULL },
        { EV_HEAD "\"intervals\":[{\"id\":0,\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\"},"
                  "\"payloads\":[{\"type\":\"X_PRIVATE\",\"values\":[\"any\",{\"x\":1}]}]}]}", NULL },
        { "{\"id\":\"e1\",\"programID\":\"p1\",\"intervals\":[", "malformed JSON" },
        { "[1,2]", "must be a JSON object" },
        { "{\"programID\":\"p1\",\"intervals\":[]}", "id: missing" },
        { "{\"id\":7,\"programID\":\"p1\",\"intervals\":[]}", "id: must be a string" },
        { "{\"id\":\"a b\",\"programID\":\"p1\",\"intervals\":[]}", "id: not an objectID" },
        { "{\"id\":\"e1\",\"intervals\":[]}", "programID: missing" },
        { EV_HEAD "\"objectType\":\"PROGRAM\",\"intervals\":[]}", "objectType" },
        { EV_HEAD "\"intervals\":{}}", "intervals: must be an array" },
        { EV_HEAD "\"priority\":-1,\"intervals\":[]}", "priority" },
        { EV_HEAD "\"priority\":\"high\",\"intervals\":[]}", "priority" },
        { EV_HEAD "\"modificationDateTime\":\"yesterday\",\"intervals\":[]}", "modificationDateTime" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"tomorrow\"},\"intervals\":[]}", "intervalPeriod.start: not a date-time" },
        { EV_HEAD "\"intervalPeriod\":{\"duration\":\"PT1H\"},\"intervals\":[]}", "intervalPeriod.start: missing" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"-PT1H\"},\"intervals\":[]}",
          "intervalPeriod.duration: negative" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"1 hour\"},\"intervals\":[]}",
          "not an ISO 8601 duration" },
        { EV_HEAD "\"intervals\":[{\"id\":0,\"payloads\":[]}]}", "intervals[0]: no intervalPeriod" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\"},\"intervals\":[{\"id\":\"0\",\"payloads\":[]}]}",
          "intervals[0].id: must be an integer" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\"},\"intervals\":[{\"id\":0}]}",
          "intervals[0].payloads: missing" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[\"two\"]}]}]}",
          "intervals[0].payloads[0].values[0]: SIMPLE needs a number" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[7]}]}]}",
          "SIMPLE level 7 is not 0..3" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[{\"values\":[1]}]}]}",
          "intervals[0].payloads[0].type: missing" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"EXPORT_CAPACITY_LIMIT\",\"values\":[-3]}]}]}",
          "capacity limit cannot be negative" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[]},{\"id\":1,\"payloads\":[]}]}",
          "intervals[1]: follows an open-ended interval" },
        { EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\",\"duration\":\"PT1H\"},"
                  "\"intervals\":[{\"id\":0,\"payloads\":[]},"
                  "{\"id\":1,\"intervalPeriod\":{\"start\":\"2027-01-15T08:30:00Z\"},\"payloads\":[]}]}",
          "intervals[1]: overlaps intervals[0]" },
        { EV_HEAD "\"reportDescriptors\":[{\"units\":\"W\"}],\"intervals\":[]}", "reportDescriptors[0].payloadType" },
        { EV_HEAD "\"payloadDescriptors\":[{\"payloadType\":\"PRICE\",\"units\":5}],\"intervals\":[]}",
          "payloadDescriptors[0].units" },
    };
    char why[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        why[0] = '\0';
        rc = oadr3_check_event(cases[i].json, strlen(cases[i].json), why, sizeof(why));
        if (!cases[i].why) {
            if (rc != 0)
                fprintf(stderr, "case %zu refused: %s\n", i, why);
            CU_ASSERT_EQUAL(rc, 0);
        } else {
            CU_ASSERT_EQUAL(rc, GE_ERR_PARSE);
            if (!strstr(why, cases[i].why))
                fprintf(stderr, "case %zu: want \"%s\" in \"%s\"\n", i, cases[i].why, why);
            CU_ASSERT_PTR_NOT_NULL(strstr(why, cases[i].why));
        }
    }
    /* too many intervals */
    {
        char big[16384];
        size_t n = (size_t)snprintf(big, sizeof(big), EV_HEAD "\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:00Z\","
                                                          "\"duration\":\"PT1M\"},\"intervals\":[");
        for (int i = 0; i <= OADR3_MAX_INTERVALS; i++)
            n += (size_t)snprintf(big + n, sizeof(big) - n, "%s{\"id\":%d,\"payloads\":[]}", i ? "," : "", i);
        snprintf(big + n, sizeof(big) - n, "]}");
        CU_ASSERT_EQUAL(oadr3_check_event(big, strlen(big), why, sizeof(why)), GE_ERR_PARSE);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "more than"));
    }
}

/* ---- a tiny scripted VTN for the rule tests --------------------------------------------------- */

/* Drive V at NOW against a VTN that gives a token, an existing VEN, one program "p1" and EVENTS
 * (a JSON array) for it; every other call succeeds.  Returns how many requests were made. */
static int serve_round(oadr3_ven_t *v, double now, const char *events)
{
    oadr3_request_t r;
    int n = 0;

    while (n < 64 && oadr3_ven_next_request(v, now, &r) == 1) {
        const char *body = "";
        int status = 200;
        n++;
        if (r.kind == OADR3_REQ_TOKEN)
            body = "{\"access_token\":\"t1\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
        else if (r.kind == OADR3_REQ_FIND_VEN)
            body = "[{\"id\":\"v1\",\"venName\":\"ven\"}]";
        else if (r.kind == OADR3_REQ_LIST_RESOURCES)
            body = "[]";
        else if (r.kind == OADR3_REQ_PROGRAMS)
            body = "[{\"id\":\"p1\",\"programName\":\"p\"}]";
        else if (r.kind == OADR3_REQ_EVENTS)
            body = events;
        else if (r.kind == OADR3_REQ_SUBSCRIBE || r.kind == OADR3_REQ_CREATE_REPORT) {
            status = 201;
            body = "{\"id\":\"x1\"}";
        }
        CU_ASSERT_EQUAL(oadr3_ven_response(v, r.id, status, NULL, body, strlen(body), now), 0);
    }
    return n;
}

static oadr3_ven_t *new_ven(const char *callback)
{
    oadr3_ven_config_t cfg;
    oadr3_ven_t *v = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = "/openadr3";
    cfg.ven_name = "ven";
    cfg.token = "fixed";
    cfg.callback_url = callback;
    cfg.callback_token = callback ? "cb" : NULL;
    cfg.seed = 1;
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_new(&v, &cfg), 0);
    return v;
}

/* The payload in force at offsets from T0, for events given as one JSON array. */
static void test_interval_rules(void)
{
    static const struct {
        const char *events;
        double t;           /* seconds after T0 */
        int has_level;
        double level;
        int has_price;
        double price;
        double export_w;    /* < 0: no export limit */
        double import_w;
    } rules[] = {
        /* sequential intervals from the event's intervalPeriod */
        { "[{\"id\":\"a\",\"programID\":\"p1\",\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:10Z\",\"duration\":\"PT10S\"},"
          "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[1]}]},"
          "{\"id\":1,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[3]}]}]}]", 5, 0, 0, 0, 0, -1, -1 },
        { NULL, 12, 1, 1, 0, 0, -1, -1 },
        { NULL, 25, 1, 3, 0, 0, -1, -1 },
        { NULL, 30, 0, 0, 0, 0, -1, -1 },
        /* an interval's own intervalPeriod; PT0S = open-ended; PRICE and export price */
        { "[{\"id\":\"b\",\"programID\":\"p1\",\"intervals\":[{\"id\":0,\"intervalPeriod\":{\"start\":\"2027-01-15T08:00:20Z\","
          "\"duration\":\"PT0S\"},\"payloads\":[{\"type\":\"PRICE\",\"values\":[0.42]},{\"type\":\"EXPORT_PRICE\",\"values\":[0.1]}]}]}]",
          19, 0, 0, 0, 0, -1, -1 },
        { NULL, 20, 0, 0, 1, 0.42, -1, -1 },
        { NULL, 99999, 0, 0, 1, 0.42, -1, -1 },
        /* priorities: lower number wins, no priority is the lowest; capacity limits in KW (default) and W */
        { "[{\"id\":\"lo\",\"programID\":\"p1\",\"intervalPeriod\":{\"start\":\"2027-01-15T07:00:00Z\",\"duration\":\"PT2H\"},"
          "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[1]},{\"type\":\"EXPORT_CAPACITY_LIMIT\",\"values\":[2.5]}]}]},"
          "{\"id\":\"hi\",\"programID\":\"p1\",\"priority\":0,\"intervalPeriod\":{\"start\":\"2027-01-15T07:00:00Z\",\"duration\":\"PT2H\"},"
          "\"payloadDescriptors\":[{\"payloadType\":\"IMPORT_CAPACITY_LIMIT\",\"units\":\"W\"}],"
          "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[2]},{\"type\":\"IMPORT_CAPACITY_LIMIT\",\"values\":[3000]}]}]}]",
          60, 1, 2, 0, 0, 2500, 3000 },
    };
    oadr3_ven_t *v = NULL;
    double last = 0;

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        oadr3_control_t c;
        double now = T0 + rules[i].t;
        if (rules[i].events) {
            oadr3_ven_free(v);
            v = new_ven(NULL);
            last = T0 - 100;
            CU_ASSERT(serve_round(v, last, rules[i].events) >= 4);
        }
        CU_ASSERT_EQUAL(oadr3_ven_control(v, now, &c), 0);
        CU_ASSERT_EQUAL(c.has_level, rules[i].has_level);
        if (c.has_level && rules[i].has_level)
            CU_ASSERT_DOUBLE_EQUAL(c.level, rules[i].level, 1e-9);
        CU_ASSERT_EQUAL(c.has_price, rules[i].has_price);
        if (c.has_price && rules[i].has_price)
            CU_ASSERT_DOUBLE_EQUAL(c.price, rules[i].price, 1e-9);
        CU_ASSERT_EQUAL(c.has_export_limit, rules[i].export_w >= 0);
        if (c.has_export_limit)
            CU_ASSERT_DOUBLE_EQUAL(c.export_limit_w, rules[i].export_w, 1e-6);
        CU_ASSERT_EQUAL(c.has_import_limit, rules[i].import_w >= 0);
        if (c.has_import_limit)
            CU_ASSERT_DOUBLE_EQUAL(c.import_limit_w, rules[i].import_w, 1e-6);
        if (i == 7) {
            CU_ASSERT_EQUAL(c.n_active, 2);
        }
    }
    oadr3_ven_free(v);
}

/* A changed event replaces the old; a bad new version keeps the old; an unlisted one goes. */
static void test_event_lifecycle(void)
{
    const char *v1 = "[{\"id\":\"e\",\"programID\":\"p1\",\"modificationDateTime\":\"2027-01-15T07:00:00Z\","
                     "\"intervalPeriod\":{\"start\":\"2027-01-15T07:00:00Z\",\"duration\":\"PT2H\"},"
                     "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[1]}]}]}]";
    const char *v2 = "[{\"id\":\"e\",\"programID\":\"p1\",\"modificationDateTime\":\"2027-01-15T07:30:00Z\","
                     "\"intervalPeriod\":{\"start\":\"2027-01-15T07:00:00Z\",\"duration\":\"PT2H\"},"
                     "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[2]}]}]}]";
    const char *bad = "[{\"id\":\"e\",\"programID\":\"p1\",\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\","
                      "\"values\":[true]}]}]}]";
    oadr3_ven_t *v = new_ven(NULL);
    oadr3_control_t c;
    oadr3_ven_stats_t st;
    double now = T0;

    serve_round(v, now, v1);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 1);
    now += 11;
    serve_round(v, now, v2);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 2);
    now += 11;
    serve_round(v, now, bad);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 2); /* last good version kept */
    now += 11;
    serve_round(v, now, "[{\"id\":\"e\",");
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 2);
    now += 11;
    serve_round(v, now, "{\"not\":\"a list\"}");
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 2);
    oadr3_ven_stats(v, &st);
    CU_ASSERT(st.bad_documents >= 3);
    now += 11;
    serve_round(v, now, "[]");
    oadr3_ven_control(v, now, &c);
    CU_ASSERT_FALSE(c.has_level);
    CU_ASSERT_EQUAL(c.n_active, 0);
    oadr3_ven_free(v);
}

/* OAuth2: the token request, the bearer header, expiry and 401/403, a bad token answer. */
static void test_token_life(void)
{
    oadr3_ven_config_t cfg;
    oadr3_ven_t *v = NULL;
    oadr3_request_t r;
    oadr3_ven_stats_t st;
    const char *tok1 = "{\"access_token\":\"A1\",\"token_type\":\"Bearer\",\"expires_in\":100}";
    const char *tok2 = "{\"access_token\":\"A2\",\"token_type\":\"bearer\"}";
    double now = T0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = "/vtn/";
    cfg.ven_name = "my ven";
    cfg.client_id = "id&1";
    cfg.client_secret = "s=cret";
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_new(&v, &cfg), 0);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_TOKEN);
    CU_ASSERT_STRING_EQUAL(r.method, "POST");
    CU_ASSERT_STRING_EQUAL(r.path, "/vtn/auth/token");
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/x-www-form-urlencoded");
    CU_ASSERT_STRING_EQUAL(r.body, "grant_type=client_credentials&client_id=id%261&client_secret=s%3Dcret");
    CU_ASSERT_PTR_NULL(r.authorization);
    CU_ASSERT_EQUAL(oadr3_ven_next_request(v, now, &r), 0); /* one at a time */
    /* a bad answer: no token, retried after a backoff */
    oadr3_ven_response(v, r.id, 200, NULL, "{\"token_type\":\"Bearer\"}", 23, now);
    CU_ASSERT_EQUAL(oadr3_ven_next_request(v, now, &r), 0);
    CU_ASSERT(oadr3_ven_next_wakeup(v, now) > now);
    now += 2.5;
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_TOKEN);
    oadr3_ven_response(v, r.id, 200, NULL, tok1, strlen(tok1), now);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_FIND_VEN);
    CU_ASSERT_STRING_EQUAL(r.path, "/vtn/vens?venName=my%20ven");
    CU_ASSERT_STRING_EQUAL(r.authorization, "Bearer A1");
    /* 401: the token is dropped, a new one fetched, the same step again with it */
    oadr3_ven_response(v, r.id, 401, NULL, NULL, 0, now);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now + 1, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_TOKEN);
    oadr3_ven_response(v, r.id, 200, NULL, tok2, strlen(tok2), now + 1);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now + 1, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_FIND_VEN);
    CU_ASSERT_STRING_EQUAL(r.authorization, "Bearer A2");
    oadr3_ven_response(v, r.id, 200, NULL, "[]", 2, now + 1);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now + 1, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_CREATE_VEN);
    CU_ASSERT_STRING_EQUAL(r.path, "/vtn/vens");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"venName\":\"my ven\""));
    CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
    oadr3_ven_response(v, r.id, 201, "/vtn/vens/v-9", "", 0, now + 1);
    oadr3_ven_stats(v, &st);
    CU_ASSERT_STRING_EQUAL(st.ven_id, "v-9");
    CU_ASSERT_EQUAL(st.tokens, 2);
    oadr3_ven_free(v);

    /* expiry: a token good for 100 s is renewed before it runs out */
    cfg.ven_name = "ven";
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_new(&v, &cfg), 0);
    now = T0;
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now, &r), 1);
    oadr3_ven_response(v, r.id, 200, NULL, tok1, strlen(tok1), now);
    serve_round(v, now, "[]");
    CU_ASSERT_EQUAL(oadr3_ven_next_request(v, now + 89, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_PROGRAMS);
    oadr3_ven_response(v, r.id, 200, NULL, "[]", 2, now + 89);
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_next_request(v, now + 100, &r), 1);
    CU_ASSERT_EQUAL(r.kind, OADR3_REQ_TOKEN);
    oadr3_ven_free(v);

    /* bad configurations */
    cfg.client_secret = NULL;
    CU_ASSERT_EQUAL(oadr3_ven_new(&v, &cfg), GE_ERR_INVALID);
    cfg.client_secret = "s";
    cfg.base_path = "no-slash";
    CU_ASSERT_EQUAL(oadr3_ven_new(&v, &cfg), GE_ERR_INVALID);
}

/* Subscriptions and notifications: the webhook's events apply at once; DELETE ends them. */
static void test_notifications(void)
{
    oadr3_ven_t *v = new_ven("http://127.0.0.1:9/hook");
    oadr3_request_t r;
    oadr3_control_t c;
    oadr3_ven_stats_t st;
    double now = T0;
    int subscribed = 0;
    const char *ev = "{\"objectType\":\"EVENT\",\"operation\":\"POST\",\"object\":{\"id\":\"n1\",\"programID\":\"p1\","
                     "\"intervalPeriod\":{\"start\":\"2027-01-15T07:00:00Z\",\"duration\":\"PT2H\"},"
                     "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\",\"values\":[3]}]}]}}";
    const char *other = "{\"objectType\":\"EVENT\",\"operation\":\"PUT\",\"object\":{\"id\":\"n2\",\"programID\":\"zz\","
                        "\"intervals\":[]}}";
    const char *del = "{\"objectType\":\"EVENT\",\"operation\":\"DELETE\",\"object\":{\"id\":\"n1\",\"programID\":\"p1\","
                      "\"intervals\":[]}}";

    serve_round(v, now, "[]");
    /* the subscription went out after the program list */
    oadr3_ven_stats(v, &st);
    CU_ASSERT_EQUAL(st.subscriptions, 1);
    CU_ASSERT_EQUAL(oadr3_ven_notification(v, ev, strlen(ev), now), 200);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT(c.has_level && c.level == 3);
    CU_ASSERT_EQUAL(oadr3_ven_notification(v, other, strlen(other), now), 200);
    CU_ASSERT_EQUAL(oadr3_ven_notification(v, "{bad", 4, now), 400);
    CU_ASSERT_EQUAL(oadr3_ven_notification(v, "{\"operation\":\"POST\"}", 20, now), 400);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT_EQUAL(c.n_active, 1);
    CU_ASSERT_EQUAL(oadr3_ven_notification(v, del, strlen(del), now), 200);
    oadr3_ven_control(v, now, &c);
    CU_ASSERT_FALSE(c.has_level);
    /* stopping deletes the subscription, then nothing more */
    oadr3_ven_shutdown(v);
    CU_ASSERT_FALSE(oadr3_ven_done(v));
    while (oadr3_ven_next_request(v, now, &r) == 1) {
        CU_ASSERT_EQUAL(r.kind, OADR3_REQ_UNSUBSCRIBE);
        CU_ASSERT_STRING_EQUAL(r.method, "DELETE");
        CU_ASSERT_STRING_EQUAL(r.path, "/openadr3/subscriptions/x1");
        subscribed++;
        oadr3_ven_response(v, r.id, 204, NULL, NULL, 0, now);
    }
    CU_ASSERT_EQUAL(subscribed, 1);
    CU_ASSERT(oadr3_ven_done(v));
    oadr3_ven_free(v);
}

/* ---- the oadr3 cases in simulated time -------------------------------------------------------- */

typedef struct sim_run {
    cf_exchange_t ex[MAX_EX];
    char *bodies[MAX_EX];
    char *headers[MAX_EX];
    cf_sample_t samples[MAX_SAMPLES];
    size_t n_ex, n_samples;
} sim_run_t;

static void run_free(sim_run_t *r)
{
    for (size_t i = 0; i < r->n_ex; i++) {
        free(r->bodies[i]);
        free((char *)r->ex[i].path);
        free(r->headers[i]);
    }
    for (size_t i = 0; i < r->n_samples; i++)
        free((char *)r->samples[i].json);
    memset(r, 0, sizeof(*r));
}

/* The site as the program shows it for the engine's controls CTL at T (tests/site_model.h): the
 * status file sample appended to R. */
static void site_sample(site_model_t *m, sim_run_t *r, double t, double server_time, const oadr3_control_t *ctl)
{
    char controls[3000];
    size_t n = 0;

    n += (size_t)snprintf(controls, sizeof(controls), "[");
    for (size_t i = 0; i < ctl->n_active && n < sizeof(controls) - 300; i++)
        n += (size_t)snprintf(controls + n, sizeof(controls) - n,
                              "%s{\"id\":\"%s\",\"source\":\"oadr\",\"kind\":\"%s\",\"value\":%g}", i ? "," : "",
                              ctl->active[i].id, ctl->active[i].kind, ctl->active[i].value);
    snprintf(controls + n, sizeof(controls) - n, "]");
    site_model_input_t in = { t, server_time, ctl->has_price, ctl->price, ctl->has_level ? (int)lround(ctl->level) : -1,
                              controls };
    site_model_step(m, &in, r->samples, &r->n_samples, MAX_SAMPLES);
}

static void vars_init(cf_vars_t *vars, const cf_case_t *c)
{
    memset(vars, 0, sizeof(*vars));
    vars->start = T0 + c->time_offset;
    vars->now = vars->start;
    vars->base = "http://127.0.0.1:1";
    vars->ven_name = "gridedge-ven";
    vars->client_id = "ven-client";
    vars->client_secret = "ven-secret";
}

static void exchange(const cf_case_t *c, cf_serve_state_t *ss, cf_vars_t *vars, sim_run_t *r, oadr3_ven_t *v,
                     const oadr3_request_t *req, double t, double now)
{
    char headers[4400];
    cf_answer_t ans;
    ge_buf_t out;

    snprintf(headers, sizeof(headers), "%s%s%s%s%s", req->authorization ? "Authorization: " : "",
             req->authorization ? req->authorization : "", req->authorization ? "\n" : "",
             req->content_type ? "Content-Type: " : "", req->content_type ? req->content_type : "");
    if (req->content_type)
        strncat(headers, "\n", sizeof(headers) - strlen(headers) - 1);
    ge_buf_init(&out, NULL, 1 << 20);
    cf_serve_req(c, ss, vars, t, req->method, req->path, headers, req->body ? req->body : "", "application/json",
                 &ans, &out);
    if (r->n_ex < MAX_EX) {
        cf_exchange_t *x = &r->ex[r->n_ex];
        r->bodies[r->n_ex] = req->body ? strndup(req->body, req->body_len) : strdup("");
        x->t = t;
        x->method = req->method; /* a string literal of the engine's */
        x->path = strdup(req->path);
        x->body = r->bodies[r->n_ex];
        r->headers[r->n_ex] = strdup(headers);
        x->status = ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status;
        r->n_ex++;
    }
    if (ans.kind == CF_ANSWER_CLOSE)
        oadr3_ven_response(v, req->id, 0, NULL, NULL, 0, now);
    else
        oadr3_ven_response(v, req->id, ans.status, ans.location[0] ? ans.location : NULL, out.data, out.len, now);
    ge_buf_free(&out);
}

/* Play case C to a fresh engine (client credentials, a webhook) and fill R. */
static void play(const cf_case_t *c, sim_run_t *r)
{
    static const char *const res[] = { "pv", "battery", "ev" };
    oadr3_ven_config_t cfg;
    oadr3_ven_t *v = NULL;
    unsigned *fired = calloc(c->n_actions + 1, sizeof(unsigned));
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars;
    site_model_t site;
    double t;

    CU_ASSERT_PTR_NOT_NULL_FATAL(fired);
    memset(&site, 0, sizeof(site));
    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = "/openadr3";
    cfg.ven_name = "gridedge-ven";
    cfg.client_id = "ven-client";
    cfg.client_secret = "ven-secret";
    cfg.callback_url = "http://127.0.0.1:9/oadr3/notify";
    cfg.callback_token = "cb";
    cfg.resources = res;
    cfg.n_resources = 3;
    cfg.seed = 7;
    CU_ASSERT_EQUAL_FATAL(oadr3_ven_new(&v, &cfg), 0);
    vars_init(&vars, c);
    for (t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = T0 + t;
        oadr3_request_t req;
        oadr3_control_t ctl;
        int guard = 0;

        vars.now = now + c->time_offset;
        if (t + STEP > c->duration + 1e-9)
            oadr3_ven_shutdown(v); /* --duration is over: the goodbyes */
        while (oadr3_ven_next_request(v, now, &req) == 1 && guard++ < 256)
            exchange(c, &ss, &vars, r, v, &req, t, now);
        CU_ASSERT(guard < 256); /* the VEN never floods the VTN */
        CU_ASSERT(oadr3_ven_next_wakeup(v, now) >= now);
        oadr3_ven_control(v, now, &ctl);
        site_sample(&site, r, t, oadr3_ven_server_time(v, now), &ctl);
    }
    CU_ASSERT(oadr3_ven_done(v));
    oadr3_ven_free(v);
    free(fired);
}

/* Judge every expectation of C against R; print the failures; the number failed. */
static int judge(const cf_case_t *c, const sim_run_t *r, int quiet)
{
    cf_observed_t obs = { r->ex, r->n_ex, r->samples, r->n_samples, c->duration, T0 + c->time_offset };
    cf_vars_t vars;
    int failed = 0;

    vars_init(&vars, c);
    for (size_t i = 0; i < c->n_expects; i++) {
        cf_expect_t e = c->expects[i];
        ge_buf_t has[CF_MAX_HAS];
        char detail[400];
        for (unsigned k = 0; k < e.n_has; k++) {
            ge_buf_init(&has[k], NULL, 0);
            cf_substitute(e.has[k], strlen(e.has[k]), &vars, &has[k]);
            e.has[k] = ge_buf_str(&has[k]);
        }
        if (!cf_expect_check_headers(&e, &obs, (const char *const *)r->headers, r->n_ex, detail, sizeof(detail))) {
            if (!quiet)
                fprintf(stderr, "  %s line %u: %s\n", c->id, e.line, detail);
            failed++;
        }
        for (unsigned k = 0; k < e.n_has; k++)
            ge_buf_free(&has[k]);
    }
    {
        char detail[400];
        if (!cf_wire_check("oadr3", &obs, (const char *const *)r->headers, r->n_ex, detail, sizeof(detail))) {
            if (!quiet)
                fprintf(stderr, "  %s: %s\n", c->id, detail);
            failed++;
        }
    }
    return failed;
}

static const char *const case_ids[] = {
    "GE-OADR3-AUTH-001", "GE-OADR3-AUTH-002", "GE-OADR3-PROG-001", "GE-OADR3-EVT-001",
    "GE-OADR3-EVT-002",  "GE-OADR3-EVT-003",  "GE-OADR3-PRICE-001", "GE-OADR3-RPT-001",
    "GE-OADR3-VEN-001",  "GE-OADR3-SUB-001",  "GE-OADR3-ERR-001",
};

static void test_cases_in_simulated_time(void)
{
    for (size_t i = 0; i < sizeof(case_ids) / sizeof(case_ids[0]); i++) {
        static sim_run_t r;
        ge_arena_t *arena = NULL;
        cf_case_t c;
        char err[256];
        int failed;

        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 16u << 20), 0);
        if (cf_case_load("oadr3", case_ids[i], NULL, arena, &c, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: %s\n", case_ids[i], err);
            CU_FAIL("case does not load");
            ge_arena_free(arena);
            continue;
        }
        CU_ASSERT(c.n_expects > 0);
        play(&c, &r);
        failed = judge(&c, &r, 0);
        if (failed) {
            fprintf(stderr, "%s: the VEN sent:\n", case_ids[i]);
            for (size_t k = 0; k < r.n_ex; k++)
                fprintf(stderr, "    %.2f %s %s -> %d %.160s\n", r.ex[k].t, r.ex[k].method, r.ex[k].path,
                        r.ex[k].status, r.ex[k].body);
        }
        CU_ASSERT_EQUAL(failed, 0);
        run_free(&r);
        /* a client that does nothing fails the case: no request, a status file that never changes */
        {
            static sim_run_t idle;
            for (double t = 0; t <= c.duration && idle.n_samples < MAX_SAMPLES; t += 1) {
                idle.samples[idle.n_samples].t = t;
                idle.samples[idle.n_samples].json =
                    strdup("{\"time\":0,\"site\":{\"power_w\":1000},\"pv\":{\"power_w\":0},\"battery\":{\"power_w\":0,"
                           "\"soc_pct\":50},\"ev\":{\"power_w\":0},\"active_controls\":[],\"price\":null}");
                idle.n_samples++;
            }
            CU_ASSERT(judge(&c, &idle, 1) > 0);
            run_free(&idle);
        }
        ge_arena_free(arena);
    }
}

/* The case format's oadr3 additions: has-header, json SCHEMA, if-header / unless-header. */
static void test_case_extensions(void)
{
    static const char text[] =
        "case X\n"
        "fault /a* status 401 unless-header \"Authorization: Bearer ok\"\n"
        "reply POST /b if-header \"Content-Type: application/json\" status 201\n"
        "{\"id\":\"b1\"}\n"
        "end\n"
        "expect request POST /b has-header \"Authorization: Bearer ok\" json report\n";
    ge_arena_t *arena = NULL;
    cf_case_t c;
    char err[256];
    unsigned fired[4] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars;
    cf_answer_t ans;
    ge_buf_t out;
    cf_exchange_t x;
    const char *hdr;
    cf_observed_t obs;
    char detail[300];
    const char *report = "{\"programID\":\"p\",\"eventID\":\"e\",\"clientName\":\"c\",\"resources\":[{\"resourceName\":"
                         "\"r\",\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"DEMAND\",\"values\":[1]}]}]}]}";

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 1u << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("x.case", text, strlen(text), arena, NULL, NULL, &c, err, sizeof(err)), 0);
    memset(&vars, 0, sizeof(vars));
    ge_buf_init(&out, NULL, 4096);
    cf_serve_req(&c, &ss, &vars, 1, "GET", "/a/x", "Authorization: Bearer no\n", "", "application/json", &ans, &out);
    CU_ASSERT_EQUAL(ans.status, 401);
    cf_serve_req(&c, &ss, &vars, 1, "GET", "/a/x", "Authorization: Bearer ok\n", "", "application/json", &ans, &out);
    CU_ASSERT_EQUAL(ans.status, 404);
    cf_serve_req(&c, &ss, &vars, 1, "POST", "/b", "Content-Type: text/plain\n", "", "application/json", &ans, &out);
    CU_ASSERT_EQUAL(ans.status, 201); /* the default answer to a POST, not the reply */
    CU_ASSERT_EQUAL(out.len, 0);
    cf_serve_req(&c, &ss, &vars, 1, "POST", "/b", "Content-Type: application/json\n", "", "application/json", &ans,
                 &out);
    CU_ASSERT_EQUAL(ans.status, 201);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&out), "{\"id\":\"b1\"}");
    ge_buf_free(&out);

    memset(&x, 0, sizeof(x));
    x.t = 1;
    x.method = "POST";
    x.path = "/b";
    x.body = report;
    hdr = "Content-Type: application/json\nAuthorization: Bearer ok\n";
    memset(&obs, 0, sizeof(obs));
    obs.ex = &x;
    obs.n_ex = 1;
    obs.end = 10;
    CU_ASSERT_EQUAL(cf_expect_check_headers(&c.expects[0], &obs, &hdr, 1, detail, sizeof(detail)), 1);
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[0], &obs, detail, sizeof(detail)), 0); /* no headers known */
    hdr = "Authorization: Bearer nope\n";
    CU_ASSERT_EQUAL(cf_expect_check_headers(&c.expects[0], &obs, &hdr, 1, detail, sizeof(detail)), 0);
    hdr = "Authorization: Bearer ok\n";
    x.body = "{\"programID\":\"p\",\"eventID\":\"e\",\"clientName\":\"c\",\"resources\":[{\"intervals\":[]}]}";
    CU_ASSERT_EQUAL(cf_expect_check_headers(&c.expects[0], &obs, &hdr, 1, detail, sizeof(detail)), 0); /* no resourceName */
    CU_ASSERT_EQUAL(cf_json_conforms("any", "[1]"), 1);
    CU_ASSERT_EQUAL(cf_json_conforms("any", "[1"), 0);
    CU_ASSERT_EQUAL(cf_json_conforms("ven", "{\"venName\":\"v\"}"), 1);
    CU_ASSERT_EQUAL(cf_json_conforms("ven", "{\"venName\":3}"), 0);
    CU_ASSERT_EQUAL(cf_json_conforms("subscription",
                                     "{\"clientName\":\"c\",\"programID\":\"p\",\"objectOperations\":[{\"objects\":"
                                     "[\"EVENT\"],\"operations\":[\"CREATE\"],\"callbackUrl\":\"http://x\"}]}"),
                    1);
    CU_ASSERT_EQUAL(cf_json_conforms("nosuch", "{}"), 0);
    ge_arena_free(arena);

    /* and their errors */
    {
        static const char *const bad[] = {
            "case X\nexpect request GET /a json\n",
            "case X\nexpect request GET /a json nosuch\n",
            "case X\nexpect request GET /a has-header\n",
            "case X\nfault /a status 401 if-header\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 1u << 20), 0);
            CU_ASSERT_EQUAL(cf_case_parse("x.case", bad[i], strlen(bad[i]), arena, NULL, NULL, &c, err, sizeof(err)),
                            GE_ERR_PARSE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "x.case:"));
            ge_arena_free(arena);
        }
    }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "events: taken or refused, with the reason", test_event_checks },
        { "intervals, payloads and priorities drive the control", test_interval_rules },
        { "modified, bad and deleted events", test_event_lifecycle },
        { "OAuth2 token: request, bearer, expiry, 401", test_token_life },
        { "subscriptions and notifications", test_notifications },
        { "case format: has-header, json, if-header", test_case_extensions },
        { "the oadr3 cases in simulated time", test_cases_in_simulated_time },
        { NULL, NULL },
    };
    return test_add_suite("oadr3", cases);
}
