/* test_oadr.c - the OpenADR 2.0b VEN engine.  The engine is sans-I/O, so the tests play the built-in
 * oadr20b conformance cases to it in simulated time: the VTN's replies are served by the head-end's
 * own serve logic (conformance/serve.c), the engine's SIMPLE level and price drive the real price
 * policy (gridedge/policy.h) on an ideal device, and the case's expectations are judged by
 * conformance/verdict.c - the same cases `gridedge conformance run` plays over the network.  Every
 * message the VEN sends is validated against the official OpenADR 2.0b XSD. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/policy.h>

#include "conformance/case.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "failmem.h"
#include "runner.h"
#include "xsd.h"

#define T0 1800000000.0
#define BASE "/OpenADR2/Simple/2.0b"
#define STEP 0.25
#define MAX_EX 2000
#define MAX_SAMPLES 1000

/* ---- xcal values, table-driven ------------------------------------------------------------------------ */

static void test_xcal_values(void)
{
    static const struct { const char *text; int ok; int64_t want; } dt[] = {
        { "2027-01-15T08:00:00Z", 1, 1800000000 },
        { "1970-01-01T00:00:00Z", 1, 0 },
        { "2000-02-29T12:30:15Z", 1, 951827415 },
        { "2027-01-15T08:00:00.250Z", 1, 1800000000 },
        { "2027-01-15T10:00:00+02:00", 1, 1800000000 },
        { "2027-01-15T03:00:00-05:00", 1, 1800000000 },
        { " 2027-01-15T08:00:00Z\n", 1, 1800000000 },
        { "2027-01-15T08:00:00", 1, 1800000000 }, /* no zone: UTC */
        { "2027-13-15T08:00:00Z", 0, 0 },
        { "2027-01-15 08:00:00Z", 0, 0 },
        { "2027-01-15T08:00Z", 0, 0 },
        { "", 0, 0 },
        { "2027-01-15T08:00:00Zjunk", 0, 0 },
    };
    static const struct { const char *text; int ok; int64_t want; } du[] = {
        { "PT1H", 1, 3600 },      { "PT0S", 1, 0 },          { "PT90M", 1, 5400 },
        { "P1DT2H30M", 1, 95400 }, { "-PT5M", 1, -300 },      { "P1W", 1, 604800 },
        { "PT1.5S", 1, 1 },       { " PT10S ", 1, 10 },      { "P", 0, 0 },
        { "PT", 0, 0 },           { "1H", 0, 0 },            { "PT1D", 0, 0 },
        { "P1H", 0, 0 },          { "PTH", 0, 0 },           { "PT1H1", 0, 0 },
    };
    for (size_t i = 0; i < sizeof(dt) / sizeof(dt[0]); i++) {
        int64_t v = -1;
        int rc = oadr_parse_datetime(dt[i].text, &v);
        if ((rc == 0) != dt[i].ok || (dt[i].ok && v != dt[i].want))
            fprintf(stderr, "datetime '%s': rc %d value %lld\n", dt[i].text, rc, (long long)v);
        CU_ASSERT_EQUAL(rc == 0, dt[i].ok);
        if (dt[i].ok)
            CU_ASSERT_EQUAL(v, dt[i].want);
    }
    for (size_t i = 0; i < sizeof(du) / sizeof(du[0]); i++) {
        int64_t v = -1;
        int rc = oadr_parse_duration(du[i].text, &v);
        if ((rc == 0) != du[i].ok || (du[i].ok && v != du[i].want))
            fprintf(stderr, "duration '%s': rc %d value %lld\n", du[i].text, rc, (long long)v);
        CU_ASSERT_EQUAL(rc == 0, du[i].ok);
        if (du[i].ok)
            CU_ASSERT_EQUAL(v, du[i].want);
    }
}

static void test_config_checked(void)
{
    oadr_ven_t *v = NULL;
    oadr_ven_config_t cfg = { BASE, "ven", NULL, NULL, 0, 0, 1, NULL, NULL };
    CU_ASSERT_EQUAL(oadr_ven_new(&v, &cfg), 0);
    oadr_ven_free(v);
    cfg.base_path = "OpenADR2";
    CU_ASSERT_EQUAL(oadr_ven_new(&v, &cfg), GE_ERR_INVALID);
    cfg.base_path = BASE;
    cfg.ven_name = "";
    CU_ASSERT_EQUAL(oadr_ven_new(&v, &cfg), GE_ERR_INVALID);
    cfg.ven_name = NULL;
    CU_ASSERT_EQUAL(oadr_ven_new(&v, &cfg), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(oadr_ven_new(&v, NULL), GE_ERR_INVALID);
}

/* ---- playing cases ------------------------------------------------------------------------------------ */

typedef struct sim_run {
    cf_exchange_t ex[MAX_EX];
    char *bodies[MAX_EX];
    size_t n_ex;
    cf_sample_t samples[MAX_SAMPLES];
    size_t n_samples;
    unsigned kinds_sent;  /* bit per oadr_msg_kind */
    oadr_ven_stats_t stats;
} sim_run_t;

static void run_free(sim_run_t *r)
{
    for (size_t i = 0; i < r->n_ex; i++) {
        free(r->bodies[i]);
        free((char *)r->ex[i].path);
    }
    for (size_t i = 0; i < r->n_samples; i++)
        free((char *)r->samples[i].json);
}

/* The site as the real price policy drives an ideal device (the battery at its setpoint at once;
 * night: no PV), rendered as the status file's JSON. */
static char *status_json(double server_time, const oadr_control_t *ctl)
{
    ge_policy_input_t in;
    ge_policy_output_t out;
    char buf[4096];
    size_t n;
    double bat = 0, site;

    memset(&in, 0, sizeof(in));
    in.now = server_time;
    in.has_price = ctl->has_price;
    in.price = ctl->price;
    in.simple_level = ctl->has_level ? (int)lround(ctl->level) : -1;
    in.tel.soc_pct = 50;
    in.tel.stored_wh = 6750;
    in.tel.house_w = 1000;
    in.tel.pv_w = 0;
    in.caps.modes = GE_SP_BATTERY_W;
    in.caps.rtg_max_w = 5000;
    in.caps.rtg_max_charge_rate_w = 5000;
    in.caps.rtg_max_discharge_rate_w = 5000;
    in.caps.rtg_max_wh = 13500;
    if (ge_policy_decide(NULL, &in, &out) == 0 && (out.sp.set & GE_SP_BATTERY_W))
        bat = fmax(-5000, fmin(5000, out.sp.battery_w));
    site = in.tel.house_w - bat;
    n = (size_t)snprintf(buf, sizeof(buf),
                         "{\"time\":%.0f,\"site\":{\"power_w\":%.1f},\"pv\":{\"power_w\":0},"
                         "\"battery\":{\"power_w\":%.1f,\"soc_pct\":50},\"ev\":{\"power_w\":0},\"active_controls\":[",
                         floor(server_time), site, bat);
    for (size_t i = 0; i < ctl->n_active && n < sizeof(buf) - 200; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"id\":\"%s\",\"source\":\"oadr\"}", i ? "," : "",
                              ctl->active[i].id);
    if (ctl->has_price)
        snprintf(buf + n, sizeof(buf) - n, "],\"price\":%.4f}", ctl->price);
    else
        snprintf(buf + n, sizeof(buf) - n, "],\"price\":null}");
    return strdup(buf);
}

static void vars_init(cf_vars_t *vars, const cf_case_t *c)
{
    memset(vars, 0, sizeof(*vars));
    vars->start = T0 + c->time_offset;
    vars->base = "http://127.0.0.1:1";
    vars->ven_name = "gridedge-ven";
    vars->ven_id = "VEN-1";
    vars->registration_id = "REG-1";
}

/* Play case C to a fresh engine; fill R.  Returns 0, or the engine's creation error. */
static int play(const cf_case_t *c, sim_run_t *r, const ge_mem_t *mem)
{
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, mem, NULL };
    oadr_ven_t *v = NULL;
    unsigned *fired = calloc(c->n_actions + 1, sizeof(unsigned));
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(fired);
    vars_init(&vars, c);
    if ((rc = oadr_ven_new(&v, &cfg)) < 0) {
        free(fired);
        return rc;
    }
    for (double t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = T0 + t;
        oadr_request_t req;
        oadr_control_t ctl;
        int guard = 0;

        vars.now = now + c->time_offset;
        while (oadr_ven_next_request(v, now, &req) == 1 && guard++ < 64) {
            cf_answer_t ans;
            ge_buf_t out;
            CU_ASSERT_STRING_EQUAL(req.method, "POST");
            CU_ASSERT_STRING_EQUAL(req.content_type, "application/xml");
            r->kinds_sent |= 1u << req.kind;
            ge_buf_init(&out, NULL, 1 << 20);
            cf_serve(c, &ss, &vars, t, req.method, req.path, req.body, "application/xml", &ans, &out);
            if (r->n_ex < MAX_EX) {
                cf_exchange_t *x = &r->ex[r->n_ex];
                r->bodies[r->n_ex] = strndup(req.body, req.body_len);
                x->t = t;
                x->method = "POST";
                x->path = strdup(req.path);
                x->body = r->bodies[r->n_ex];
                x->status = ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status;
                r->n_ex++;
            }
            if (ans.kind == CF_ANSWER_CLOSE)
                oadr_ven_response(v, req.id, 0, NULL, 0, now);
            else
                oadr_ven_response(v, req.id, ans.status, out.data, out.len, now);
            ge_buf_free(&out);
        }
        CU_ASSERT(guard < 64); /* the VEN never floods the VTN */
        CU_ASSERT(oadr_ven_next_wakeup(v, now) >= now);
        oadr_ven_control(v, now, &ctl);
        if (r->n_samples < MAX_SAMPLES) {
            r->samples[r->n_samples].t = t;
            r->samples[r->n_samples].json = status_json(oadr_ven_server_time(v, now), &ctl);
            r->n_samples++;
        }
    }
    oadr_ven_stats(v, &r->stats);
    oadr_ven_free(v);
    free(fired);
    return 0;
}

/* Judge every expectation; print the failures.  Returns the number failed. */
static int judge(const char *id, const cf_case_t *c, const sim_run_t *r)
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
        if (!cf_expect_check(&e, &obs, detail, sizeof(detail))) {
            fprintf(stderr, "  %s line %u: %s\n", id, e.line, detail);
            failed++;
        }
        for (unsigned k = 0; k < e.n_has; k++)
            ge_buf_free(&has[k]);
    }
    return failed;
}

static void dump_traffic(const char *id, const sim_run_t *r)
{
    fprintf(stderr, "%s: the VEN sent:\n", id);
    for (size_t k = 0; k < r->n_ex; k++)
        fprintf(stderr, "    %.2f POST %s -> %d %.200s\n", r->ex[k].t, r->ex[k].path, r->ex[k].status,
                r->ex[k].body);
}

/* The oadr20b cases whose features the engine has; each must pass in simulated time.  (N1_0020
 * also asks for oadrRegisterReport: it passes once EiReport lands.) */
static const char *const supported[] = {
    "N1_0010", "N1_0040", "N1_0050", "E1_1010", "E1_1020", "E1_1030", "E1_1040",
    "E1_1060", "A_E1_0130", "A_E1_0210", "A_E1_0230", "A_E1_0240",
};

static void test_cases_in_simulated_time(void)
{
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    size_t validated = 0;
    unsigned kinds = 0;

    if (xsd_dir()) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(xsd);
    } else {
        printf("(no official schemas found: the XSD checks are skipped) ");
    }
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++) {
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        static sim_run_t r;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load("oadr20b", supported[i], NULL, a, &c, err, sizeof(err));
        if (rc)
            fprintf(stderr, "%s: %s\n", supported[i], err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        memset(&r, 0, sizeof(r));
        CU_ASSERT_EQUAL(play(&c, &r, NULL), 0);
        CU_ASSERT_TRUE(r.stats.registered);
        CU_ASSERT_STRING_EQUAL(r.stats.ven_id, "VEN-1");
        CU_ASSERT_STRING_EQUAL(r.stats.registration_id, "REG-1");
        kinds |= r.kinds_sent;
        int failed = judge(supported[i], &c, &r);
        if (failed)
            dump_traffic(supported[i], &r);
        CU_ASSERT_EQUAL(failed, 0);
        for (size_t k = 0; xsd && k < r.n_ex; k++) {
            char why[600];
            int ok = xsd_valid(xsd, r.ex[k].body, strlen(r.ex[k].body), why, sizeof(why));
            if (!ok)
                fprintf(stderr, "%s: POST %s sent an invalid body: %s\n%s\n", supported[i], r.ex[k].path, why,
                        r.ex[k].body);
            CU_ASSERT_TRUE(ok);
            validated += ok;
        }
        run_free(&r);
        ge_arena_free(a);
    }
    /* every kind of message the VEN sends was sent (and so validated) at least once */
    for (int k = OADR_MSG_QUERY_REGISTRATION; k <= OADR_MSG_CANCELED_PARTY_REGISTRATION; k++) {
        if (!(kinds & (1u << k)))
            fprintf(stderr, "message kind %d never sent\n", k);
        CU_ASSERT_TRUE(kinds & (1u << k));
    }
    if (xsd) {
        CU_ASSERT(validated > 100);
        printf("(%zu messages the VEN sent validated against the official 2.0b XSD) ", validated);
    }
    xsd_free(xsd);
}

/* The VTN's own documents in the oadr20b cases are valid 2.0b (so the cases test the VEN, not a
 * sloppy VTN). */
static void test_vtn_scripts_valid(void)
{
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    size_t validated = 0;
    static const char *const all[] = {
        "N1_0010", "N1_0020", "N1_0040", "N1_0050", "E1_1010", "E1_1020", "E1_1030", "E1_1040",
        "E1_1060", "A_E1_0130", "A_E1_0210", "A_E1_0230", "A_E1_0240",
    };

    if (!xsd) {
        printf("(no official schemas found: skipped) ");
        CU_PASS("no schemas");
        return;
    }
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        ge_arena_t *a;
        cf_case_t c;
        cf_vars_t vars;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", all[i], NULL, a, &c, err, sizeof(err)), 0);
        vars_init(&vars, &c);
        vars.now = T0;
        for (size_t k = 0; k < c.n_actions; k++) {
            ge_buf_t doc;
            char why[600];
            if (!c.actions[k].body_len)
                continue;
            ge_buf_init(&doc, NULL, 0);
            CU_ASSERT_EQUAL(cf_substitute(c.actions[k].body, c.actions[k].body_len, &vars, &doc), 0);
            int ok = xsd_valid(xsd, doc.data, doc.len, why, sizeof(why));
            if (!ok)
                fprintf(stderr, "%s line %u: %s\n", all[i], c.actions[k].line, why);
            CU_ASSERT_TRUE(ok);
            validated += ok;
            ge_buf_free(&doc);
        }
        ge_arena_free(a);
    }
    CU_ASSERT(validated >= 40);
    xsd_free(xsd);
}

/* E1_1020 with the VTN's answers to polls going bad from 9 s on (FAULT): the VEN keeps its last
 * good state - the event stays in force to its end - and goes on polling. */
static void play_with_fault(cf_fault_kind fault)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sim_run_t r;
    cf_action_t *acts;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "E1_1020", NULL, a, &c, err, sizeof(err)), 0);
    acts = calloc(c.n_actions + 1, sizeof(*acts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(acts);
    acts[0].kind = CF_ACT_FAULT;
    acts[0].path = BASE "/OadrPoll";
    acts[0].fault = fault;
    acts[0].status = 500;
    acts[0].from = 9;
    acts[0].until = -1;
    memcpy(acts + 1, c.actions, c.n_actions * sizeof(*acts));
    c.actions = acts;
    c.n_actions++;
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(play(&c, &r, NULL), 0);
    int failed = judge("E1_1020 + fault", &c, &r);
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT(r.stats.bad_documents > 0 || r.stats.errors > 0);
    size_t late_polls = 0;
    for (size_t k = 0; k < r.n_ex; k++)
        late_polls += r.ex[k].t > 12 && strstr(r.ex[k].path, "OadrPoll") != NULL;
    CU_ASSERT(late_polls >= 2);
    run_free(&r);
    free(acts);
    ge_arena_free(a);
}

static void test_bad_answers_keep_last_good_state(void)
{
    play_with_fault(CF_FAULT_GARBAGE);
    play_with_fault(CF_FAULT_STATUS);
    play_with_fault(CF_FAULT_CLOSE);
}

/* The engine survives each allocation failing in turn while it plays a case with events: no crash,
 * nothing leaked (creation reports the failure; later failures are logged and survived). */
static void test_failmalloc(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sim_run_t r;
    long n;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "E1_1040", NULL, a, &c, err, sizeof(err)), 0);
    c.duration = 8;
    for (n = 0; n < 2000; n++) {
        failmem_t fm;
        failmem_init(&fm, n);
        memset(&r, 0, sizeof(r));
        play(&c, &r, &fm.mem);
        run_free(&r);
        CU_ASSERT_EQUAL(fm.live, 0);
        if (fm.live != 0)
            fprintf(stderr, "failmalloc: allocation %ld failing leaked %ld block(s)\n", n, fm.live);
        if (fm.count <= n)
            break;
    }
    CU_ASSERT(n > 3 && n < 2000);
    ge_arena_free(a);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "xcal values", test_xcal_values },
        { "config checked", test_config_checked },
        { "VTN scripts are valid 2.0b", test_vtn_scripts_valid },
        { "oadr20b cases in simulated time", test_cases_in_simulated_time },
        { "bad answers keep the last good state", test_bad_answers_keep_last_good_state },
        { "failmalloc", test_failmalloc },
        { NULL, NULL },
    };
    return test_add_suite("oadr", cases);
}
