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
    oadr_ven_config_t cfg = { BASE, "ven", NULL, NULL, 0, 0, 1, NULL, NULL, NULL };
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
static char *status_json(double server_time, const oadr_control_t *ctl, double *site_w)
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
    *site_w = site;
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

/* What the home owner does during a case (EiOpt), by case: at T, opt out of EVENT, or create
 * (OPT_IN 0: unavailable) or cancel the availability schedule OPT_ID with one window. */
typedef enum { OWNER_OPT_OUT, OWNER_CREATE, OWNER_CANCEL, OWNER_LEAVE } owner_what;
typedef struct owner_action {
    const char *case_id;
    double t;
    owner_what what;
    const char *id;
    int opt_in;
    double win_start, win_dur; /* seconds after the case's start */
} owner_action_t;

static const owner_action_t owner_actions[] = {
    { "E1_1050", 0, OWNER_OPT_OUT, "EV-1050-B", 0, 0, 0 },
    { "P1_2010", 3, OWNER_CREATE, "OPT-2010", 0, 6, 8 },
    { "P1_2020", 3, OWNER_CREATE, "OPT-2020", 0, 6, 20 },
    { "P1_2020", 9, OWNER_CANCEL, "OPT-2020", 0, 0, 0 },
    { "P1_2015", 6, OWNER_OPT_OUT, "EV-2015", 0, 0, 0 },
    { "N1_0030", 5, OWNER_LEAVE, NULL, 0, 0, 0 },
};

static void owner_act(oadr_ven_t *v, const cf_case_t *c, double t_prev, double t)
{
    for (size_t i = 0; i < sizeof(owner_actions) / sizeof(owner_actions[0]); i++) {
        const owner_action_t *a = &owner_actions[i];
        oadr_opt_window_t w;
        if (!c->id || strcmp(a->case_id, c->id) != 0 || !(a->t >= t_prev && a->t < t))
            continue;
        switch (a->what) {
        case OWNER_OPT_OUT: CU_ASSERT_EQUAL(oadr_ven_opt_out(v, a->id), 0); break;
        case OWNER_CREATE:
            w.start = (int64_t)(T0 + c->time_offset + a->win_start);
            w.duration = (int64_t)a->win_dur;
            CU_ASSERT_EQUAL(oadr_ven_create_opt(v, a->id, a->opt_in, NULL, &w, 1), 0);
            break;
        case OWNER_CANCEL: CU_ASSERT_EQUAL(oadr_ven_cancel_opt(v, a->id), 0); break;
        case OWNER_LEAVE: CU_ASSERT_EQUAL(oadr_ven_cancel_registration(v), 0); break;
        }
    }
}

#define PUSH_URL "http://127.0.0.1:9/OpenADR2/Simple/2.0b"

static void record_exchange(sim_run_t *r, double t, const char *method, const char *path, const char *body,
                            size_t len, int status)
{
    if (r->n_ex < MAX_EX) {
        cf_exchange_t *x = &r->ex[r->n_ex];
        r->bodies[r->n_ex] = strndup(body ? body : "", body ? len : 0);
        x->t = t;
        x->method = method;
        x->path = strdup(path);
        x->body = r->bodies[r->n_ex];
        x->status = status;
        r->n_ex++;
    }
}

/* The case's `send` lines due in (T - STEP, T]: POSTed to the push VEN; its answers recorded as
 * the head-end records them ("SEND POST", the answer as the body). */
static void play_sends(const cf_case_t *c, cf_serve_state_t *ss, const cf_vars_t *vars, oadr_ven_t *v, double t,
                       double now, sim_run_t *r)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        ge_buf_t url, body, ans;
        int status = 0;
        if (a->kind != CF_ACT_SEND || ss->fired[i] || a->at > t + 1e-9)
            continue;
        ss->fired[i] = 1;
        ge_buf_init(&url, NULL, 0);
        ge_buf_init(&body, NULL, 0);
        ge_buf_init(&ans, NULL, 0);
        if (cf_send_render(a, vars, &url, &body) == 0 && strncmp(url.data, PUSH_URL, strlen(PUSH_URL)) == 0) {
            status = oadr_ven_push(v, body.data, body.len, now, &ans);
            record_exchange(r, t, "SEND POST", url.data + strlen("http://127.0.0.1:9"), ans.data, ans.len, status);
        } else {
            record_exchange(r, t, "SEND POST", url.data ? url.data : a->path, NULL, 0, 0);
        }
        ge_buf_free(&url);
        ge_buf_free(&body);
        ge_buf_free(&ans);
    }
}

static int has_sends(const cf_case_t *c)
{
    for (size_t i = 0; i < c->n_actions; i++)
        if (c->actions[i].kind == CF_ACT_SEND)
            return 1;
    return 0;
}

/* Play case C to a fresh engine (a push VEN when the case sends to it); fill R.  Returns 0, or the
 * engine's creation error. */
static int play(const cf_case_t *c, sim_run_t *r, const ge_mem_t *mem)
{
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, mem, NULL, has_sends(c) ? PUSH_URL : NULL };
    cf_captures_t caps;
    oadr_ven_t *v = NULL;
    unsigned *fired = calloc(c->n_actions + 1, sizeof(unsigned));
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars;
    double site_w = 1000, energy_wh = 12000;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(fired);
    vars_init(&vars, c);
    memset(&caps, 0, sizeof(caps));
    vars.captures = &caps;
    if ((rc = oadr_ven_new(&v, &cfg)) < 0) {
        free(fired);
        return rc;
    }
    for (double t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = T0 + t;
        oadr_request_t req;
        oadr_control_t ctl;
        oadr_sample_t smp;
        int guard = 0;

        vars.now = now + c->time_offset;
        owner_act(v, c, t - STEP + 1e-9, t + 1e-9);
        /* the meter: the site's power of the last step, its energy integrated */
        memset(&smp, 0, sizeof(smp));
        smp.power_w = site_w;
        energy_wh += site_w > 0 ? site_w * STEP / 3600.0 : 0;
        smp.energy_wh = energy_wh;
        smp.online = 1;
        smp.has_soc = 1;
        smp.soc_pct = 50;
        smp.hz = 50;
        smp.volts = 230;
        CU_ASSERT_EQUAL(oadr_ven_sample(v, now, &smp), 0);
        while (oadr_ven_next_request(v, now, &req) == 1 && guard++ < 64) {
            cf_answer_t ans;
            ge_buf_t out;
            CU_ASSERT_STRING_EQUAL(req.method, "POST");
            CU_ASSERT_STRING_EQUAL(req.content_type, "application/xml");
            r->kinds_sent |= 1u << req.kind;
            ge_buf_init(&out, NULL, 1 << 20);
            cf_serve(c, &ss, &vars, t, req.method, req.path, req.body, "application/xml", &ans, &out);
            record_exchange(r, t, "POST", req.path, req.body, req.body_len,
                            ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status);
            if (ans.kind == CF_ANSWER_CLOSE)
                oadr_ven_response(v, req.id, 0, NULL, 0, now);
            else
                oadr_ven_response(v, req.id, ans.status, out.data, out.len, now);
            ge_buf_free(&out);
        }
        CU_ASSERT(guard < 64); /* the VEN never floods the VTN */
        play_sends(c, &ss, &vars, v, t, now, r);
        CU_ASSERT(oadr_ven_next_wakeup(v, now) >= now);
        oadr_ven_control(v, now, &ctl);
        if (r->n_samples < MAX_SAMPLES) {
            r->samples[r->n_samples].t = t;
            r->samples[r->n_samples].json = status_json(oadr_ven_server_time(v, now), &ctl, &site_w);
            r->n_samples++;
        }
    }
    oadr_ven_stats(v, &r->stats);
    oadr_ven_free(v);
    cf_captures_clear(&caps);
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

/* The oadr20b cases; each must pass in simulated time. */
static const char *const supported[] = {
    "N1_0010", "N1_0020", "N1_0040", "N1_0050", "E1_1010", "E1_1020", "E1_1030", "E1_1040",
    "E1_1060", "A_E1_0130", "A_E1_0210", "A_E1_0230", "A_E1_0240", "R1_3010", "R1_3040", "R1_3045",
    "R1_3070", "R1_3090", "R1_3140", "R1_3150", "R1_3180", "R1_3030", "E1_1050", "P1_2010", "P1_2015",
    "P1_2020", "E1_1025", "E0_6020", "R0_8010", "N0_5040", "N1_0030",
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
        if (strcmp(supported[i], "N1_0030") == 0) {
            CU_ASSERT_FALSE(r.stats.registered); /* it left */
        } else {
            CU_ASSERT_TRUE(r.stats.registered);
            CU_ASSERT_STRING_EQUAL(r.stats.ven_id, "VEN-1");
            CU_ASSERT_STRING_EQUAL(r.stats.registration_id, "REG-1");
        }
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
    for (int k = OADR_MSG_QUERY_REGISTRATION; k <= OADR_MSG_KIND_LAST; k++) {
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
    /* played over the network only (tests/test_oadr_run.c): TLS, and the signals the gateway's
     * site turns into setpoints */
    static const char *const all[] = { "G1_4010", "E1_1027" };

    if (!xsd) {
        printf("(no official schemas found: skipped) ");
        CU_PASS("no schemas");
        return;
    }
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]) + sizeof(all) / sizeof(all[0]); i++) {
        const char *id = i < sizeof(supported) / sizeof(supported[0]) ? supported[i]
                                                                       : all[i - sizeof(supported) / sizeof(supported[0])];
        ge_arena_t *a;
        cf_case_t c;
        cf_vars_t vars;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", id, NULL, a, &c, err, sizeof(err)), 0);
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
                fprintf(stderr, "%s line %u: %s\n", id, c.actions[k].line, why);
            CU_ASSERT_TRUE(ok);
            validated += ok;
            ge_buf_free(&doc);
        }
        ge_arena_free(a);
    }
    CU_ASSERT(validated >= 100);
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

    /* events; reports and their updates; a push VEN */
    static const char *const ids[] = { "E1_1040", "R1_3010", "E0_6020" };

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", ids[i], NULL, a, &c, err, sizeof(err)), 0);
        c.duration = 8;
        for (n = 0; n < 2000; n++) {
            failmem_t fm;
            failmem_init(&fm, n);
            memset(&r, 0, sizeof(r));
            play(&c, &r, &fm.mem);
            run_free(&r);
            CU_ASSERT_EQUAL(fm.live, 0);
            if (fm.live != 0)
                fprintf(stderr, "failmalloc %s: allocation %ld failing leaked %ld block(s)\n", ids[i], n, fm.live);
            if (fm.count <= n)
                break;
        }
        CU_ASSERT(n > 3 && n < 2000);
        ge_arena_free(a);
    }
}

/* ---- bad input, table-driven ------------------------------------------------------------------------- */

#define NS "xmlns=\"http://openadr.org/oadr-2.0b/2012/07\" xmlns:ei=\"http://docs.oasis-open.org/ns/energyinterop/201110\" " \
           "xmlns:pyld=\"http://docs.oasis-open.org/ns/energyinterop/201110/payloads\" " \
           "xmlns:xcal=\"urn:ietf:params:xml:ns:icalendar-2.0\""
#define PAYLOAD(x) "<oadrPayload " NS "><oadrSignedObject>" x "</oadrSignedObject></oadrPayload>"
#define SPEC(spec, rid) \
    "<ei:reportSpecifier><ei:reportSpecifierID>" spec "</ei:reportSpecifierID><xcal:granularity><xcal:duration>PT1S" \
    "</xcal:duration></xcal:granularity><ei:reportBackDuration><xcal:duration>PT2S</xcal:duration>" \
    "</ei:reportBackDuration><ei:specifierPayload><ei:rID>" rid "</ei:rID><ei:readingType>Direct Read</ei:readingType>" \
    "</ei:specifierPayload></ei:reportSpecifier>"
#define CREATE_REPORT(ven, spec, rid) \
    PAYLOAD("<oadrCreateReport ei:schemaVersion=\"2.0b\"><pyld:requestID>CR-X</pyld:requestID><oadrReportRequest>" \
            "<ei:reportRequestID>RR-X</ei:reportRequestID>" SPEC(spec, rid) "</oadrReportRequest><ei:venID>" ven \
            "</ei:venID></oadrCreateReport>")

/* A registered engine (N1_0010's VTN), its poll pending: returns the poll's request id.  With
 * PUSH_URL, a push VEN: it returns once registered (it never polls); REG_BODY (may be NULL) gets its
 * oadrCreatePartyRegistration. */
static oadr_ven_t *registered_engine_mode(uint32_t *poll_id, double *now, const char *push_url, char **reg_body)
{
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 3, NULL, NULL, push_url };
    oadr_ven_t *v = NULL;
    ge_arena_t *a;
    cf_case_t c;
    char err[256];
    cf_vars_t vars;
    unsigned fired[64] = { 0 };
    cf_serve_state_t ss = { fired, 0 };

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "N1_0010", NULL, a, &c, err, sizeof(err)), 0);
    CU_ASSERT_FATAL(c.n_actions < 64);
    CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&v, &cfg), 0);
    vars_init(&vars, &c);
    for (double t = 0; t < 30; t += STEP) {
        oadr_request_t req;
        *now = T0 + t;
        vars.now = *now;
        while (oadr_ven_next_request(v, *now, &req) == 1) {
            cf_answer_t ans;
            ge_buf_t out;
            if (req.kind == OADR_MSG_POLL) {
                *poll_id = req.id;
                ge_arena_free(a);
                return v;
            }
            if (req.kind == OADR_MSG_CREATE_PARTY_REGISTRATION && reg_body)
                *reg_body = strndup(req.body, req.body_len);
            ge_buf_init(&out, NULL, 1 << 20);
            cf_serve(&c, &ss, &vars, t, req.method, req.path, req.body, "application/xml", &ans, &out);
            oadr_ven_response(v, req.id, ans.status, out.data, out.len, *now);
            ge_buf_free(&out);
        }
        if (push_url && t > 5) {
            ge_arena_free(a);
            return v;
        }
    }
    CU_FAIL("the engine did not get to polling");
    ge_arena_free(a);
    return v;
}

static oadr_ven_t *registered_engine(uint32_t *poll_id, double *now)
{
    return registered_engine_mode(poll_id, now, NULL, NULL);
}

/* Push mode: the VEN registers with its transport address and oadrHttpPullModel false, never
 * polls, answers what the VTN POSTs in the same exchange, and sends what follows on its own. */
static void test_push_engine(void)
{
    static const char distribute[] = PAYLOAD(
        "<oadrDistributeEvent ei:schemaVersion=\"2.0b\"><pyld:requestID>DE-PUSH</pyld:requestID><ei:vtnID>GE-VTN"
        "</ei:vtnID><oadrEvent><ei:eiEvent><ei:eventDescriptor><ei:eventID>EV-P</ei:eventID><ei:modificationNumber>0"
        "</ei:modificationNumber><ei:eiMarketContext><marketContext xmlns=\"http://docs.oasis-open.org/ns/emix/2011/06\">"
        "http://mc</marketContext></ei:eiMarketContext><ei:createdDateTime>2027-01-15T07:00:00Z</ei:createdDateTime>"
        "<ei:eventStatus>far</ei:eventStatus></ei:eventDescriptor><ei:eiActivePeriod><xcal:properties><xcal:dtstart>"
        "<xcal:date-time>2027-01-15T08:00:10Z</xcal:date-time></xcal:dtstart><xcal:duration><xcal:duration>PT60S"
        "</xcal:duration></xcal:duration></xcal:properties><xcal:components/></ei:eiActivePeriod><ei:eiEventSignals>"
        "<ei:eiEventSignal><strm:intervals xmlns:strm=\"urn:ietf:params:xml:ns:icalendar-2.0:stream\"><ei:interval>"
        "<xcal:duration><xcal:duration>PT60S</xcal:duration></xcal:duration><ei:signalPayload><ei:payloadFloat>"
        "<ei:value>2</ei:value></ei:payloadFloat></ei:signalPayload></ei:interval></strm:intervals><ei:signalName>simple"
        "</ei:signalName><ei:signalType>level</ei:signalType><ei:signalID>S</ei:signalID></ei:eiEventSignal>"
        "</ei:eiEventSignals><ei:eiTarget/></ei:eiEvent><oadrResponseRequired>always</oadrResponseRequired></oadrEvent>"
        "</oadrDistributeEvent>");
    static const char create_report[] = CREATE_REPORT("VEN-1", "GE-TELEMETRY_USAGE", "site_power");
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    double now = 0;
    uint32_t poll = 0;
    char *reg = NULL, why[600];
    oadr_request_t req;
    oadr_control_t ctl;
    ge_buf_t ans;
    oadr_ven_t *v = registered_engine_mode(&poll, &now, "http://127.0.0.1:9/ven/OpenADR2/Simple/2.0b", &reg);
    oadr_ven_stats_t st;

    oadr_ven_stats(v, &st);
    CU_ASSERT_TRUE(st.registered);
    CU_ASSERT_EQUAL(st.polls, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
    CU_ASSERT_PTR_NOT_NULL(strstr(reg, "<oadrTransportAddress>http://127.0.0.1:9/ven/OpenADR2/Simple/2.0b</oadrTransportAddress>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reg, "<oadrHttpPullModel>false</oadrHttpPullModel>"));
    if (xsd)
        CU_ASSERT_TRUE(xsd_valid(xsd, reg, strlen(reg), why, sizeof(why)));
    free(reg);
    /* an event pushed: oadrResponse in the exchange, then the oadrCreatedEvent on its own */
    ge_buf_init(&ans, NULL, 1 << 20);
    CU_ASSERT_EQUAL(oadr_ven_push(v, distribute, strlen(distribute), now, &ans), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "oadrResponse"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<pyld:requestID>DE-PUSH</pyld:requestID>"));
    if (xsd)
        CU_ASSERT_TRUE(xsd_valid(xsd, ans.data, ans.len, why, sizeof(why)));
    CU_ASSERT_EQUAL_FATAL(oadr_ven_next_request(v, now, &req), 1);
    CU_ASSERT_EQUAL(req.kind, OADR_MSG_CREATED_EVENT);
    CU_ASSERT_STRING_EQUAL(req.path, BASE "/EiEvent");
    CU_ASSERT_STRING_EQUAL(req.event_id, "EV-P");
    oadr_ven_response(v, req.id, 200, NULL, 0, now);
    oadr_ven_control(v, T0 + 20, &ctl);
    CU_ASSERT_TRUE(ctl.has_level);
    CU_ASSERT_DOUBLE_EQUAL(ctl.level, 2, 1e-9);
    /* a report request pushed: oadrCreatedReport in the exchange */
    ge_buf_clear(&ans);
    CU_ASSERT_EQUAL(oadr_ven_push(v, create_report, strlen(create_report), now, &ans), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "oadrCreatedReport"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<ei:reportRequestID>RR-X</ei:reportRequestID>"));
    if (xsd)
        CU_ASSERT_TRUE(xsd_valid(xsd, ans.data, ans.len, why, sizeof(why)));
    oadr_ven_stats(v, &st);
    CU_ASSERT_EQUAL(st.report_requests, 1);
    /* garbage: 400, nothing changes */
    ge_buf_clear(&ans);
    CU_ASSERT_EQUAL(oadr_ven_push(v, "<oadrPayload", 12, now, &ans), 400);
    CU_ASSERT_EQUAL(ans.len, 0);
    oadr_ven_stats(v, &st);
    CU_ASSERT_TRUE(st.registered);
    CU_ASSERT_EQUAL(st.report_requests, 1);
    CU_ASSERT_EQUAL(st.polls, 0);
    ge_buf_free(&ans);
    oadr_ven_free(v);
    xsd_free(xsd);
}

static void test_bad_input_answered(void)
{
    static const struct {
        const char *what, *payload;
        const char *answer; /* what the next request must hold ("" = no answer at all) */
        const char *path;
    } rows[] = {
        { "unknown reportSpecifierID", CREATE_REPORT("VEN-1", "NOT-OURS", "site_power"),
          "<ei:responseCode>452</ei:responseCode>", BASE "/EiReport" },
        { "unknown rID", CREATE_REPORT("VEN-1", "GE-TELEMETRY_USAGE", "no_such_point"),
          "<ei:responseCode>452</ei:responseCode>", BASE "/EiReport" },
        { "another VEN's report request", CREATE_REPORT("SOMEONE-ELSE", "GE-TELEMETRY_USAGE", "site_power"),
          "<ei:responseDescription>unknown venID</ei:responseDescription>", BASE "/EiReport" },
        { "cancel of an unknown report request",
          PAYLOAD("<oadrCancelReport ei:schemaVersion=\"2.0b\"><pyld:requestID>XR-X</pyld:requestID><ei:reportRequestID>"
                  "NOPE</ei:reportRequestID><pyld:reportToFollow>false</pyld:reportToFollow></oadrCancelReport>"),
          "<ei:responseCode>452</ei:responseCode>", BASE "/EiReport" },
        { "cancel of another registration",
          PAYLOAD("<oadrCancelPartyRegistration ei:schemaVersion=\"2.0b\"><pyld:requestID>CP-X</pyld:requestID>"
                  "<ei:registrationID>REG-OTHER</ei:registrationID></oadrCancelPartyRegistration>"),
          "<ei:responseCode>452</ei:responseCode>", BASE "/EiRegisterParty" },
        { "malformed XML", "<oadrPayload " NS "><oadrSignedObject><oadrResponse>", "", NULL },
        { "not an oadrPayload", "<foo/>", "", NULL },
    };
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double now = 0;
        uint32_t poll = 0;
        oadr_request_t req;
        oadr_ven_stats_t before, after;
        oadr_ven_t *v = registered_engine(&poll, &now);
        oadr_ven_stats(v, &before);
        CU_ASSERT_TRUE(before.registered);
        CU_ASSERT_EQUAL(oadr_ven_response(v, poll, 200, rows[i].payload, strlen(rows[i].payload), now), 0);
        int got = oadr_ven_next_request(v, now, &req);
        if (rows[i].answer[0]) {
            CU_ASSERT_EQUAL(got, 1);
            if (got == 1) {
                char why[600];
                if (!strstr(req.body, rows[i].answer))
                    fprintf(stderr, "%s: answered %.*s\n", rows[i].what, (int)req.body_len, req.body);
                CU_ASSERT_PTR_NOT_NULL(strstr(req.body, rows[i].answer));
                CU_ASSERT_STRING_EQUAL(req.path, rows[i].path);
                if (xsd)
                    CU_ASSERT_TRUE(xsd_valid(xsd, req.body, req.body_len, why, sizeof(why)));
                oadr_ven_response(v, req.id, 200, NULL, 0, now);
            }
        } else {
            CU_ASSERT(got == 0 || req.kind == OADR_MSG_POLL);
        }
        /* the VEN keeps its state: still registered with the same identity, no report requests */
        oadr_ven_stats(v, &after);
        CU_ASSERT_TRUE(after.registered);
        CU_ASSERT_STRING_EQUAL(after.ven_id, "VEN-1");
        CU_ASSERT_STRING_EQUAL(after.registration_id, "REG-1");
        CU_ASSERT_EQUAL(after.report_requests, 0);
        if (!rows[i].answer[0])
            CU_ASSERT_EQUAL(after.bad_documents, before.bad_documents + 1);
        oadr_ven_free(v);
    }
    xsd_free(xsd);
}

/* LOAD_DISPATCH (kW scaled to W, setpoint or delta) and CHARGE_STATE reach oadr_ven_control in
 * their interval; a CHARGE_STATE setpoint that is not a percentage refuses the event. */
static void test_dispatch_and_charge_signals(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[256];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "E1_1027", NULL, a, &c, err, sizeof(err)), 0);
    {
        oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, NULL, NULL, NULL };
        oadr_ven_t *v = NULL;
        unsigned *fired = calloc(c.n_actions + 1, sizeof(unsigned));
        cf_serve_state_t ss = { fired, 0 };
        cf_vars_t vars;
        int saw_dispatch = 0, saw_charge = 0;
        CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&v, &cfg), 0);
        vars_init(&vars, &c);
        for (double t = 0; t <= c.duration; t += STEP) {
            double now = T0 + t;
            oadr_request_t req;
            oadr_control_t ctl;
            vars.now = now;
            while (oadr_ven_next_request(v, now, &req) == 1) {
                cf_answer_t ans;
                ge_buf_t out;
                ge_buf_init(&out, NULL, 1 << 20);
                cf_serve(&c, &ss, &vars, t, req.method, req.path, req.body, "application/xml", &ans, &out);
                oadr_ven_response(v, req.id, ans.status, out.data, out.len, now);
                ge_buf_free(&out);
            }
            oadr_ven_control(v, now, &ctl);
            if (t >= 4.5 && t < 8.5) {
                CU_ASSERT_TRUE(ctl.has_dispatch);
                CU_ASSERT_TRUE(ctl.dispatch_delta);
                CU_ASSERT_DOUBLE_EQUAL(ctl.dispatch_w, -3000, 1e-6);
                saw_dispatch++;
            }
            if (t >= 11.5 && t < 15.5) {
                CU_ASSERT_FALSE(ctl.has_dispatch);
                CU_ASSERT_TRUE(ctl.has_charge);
                CU_ASSERT_DOUBLE_EQUAL(ctl.charge_pct, 95, 1e-6);
                saw_charge++;
            }
            if (t >= 17) {
                CU_ASSERT_FALSE(ctl.has_dispatch);
                CU_ASSERT_FALSE(ctl.has_charge);
            }
        }
        CU_ASSERT(saw_dispatch > 10 && saw_charge > 10);
        oadr_ven_free(v);
        free(fired);
    }
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
        { "bad input answered, state kept", test_bad_input_answered },
        { "LOAD_DISPATCH and CHARGE_STATE", test_dispatch_and_charge_signals },
        { "push mode (engine)", test_push_engine },
        { "failmalloc", test_failmalloc },
        { NULL, NULL },
    };
    return test_add_suite("oadr", cases);
}
