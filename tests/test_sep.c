/* test_sep.c - the 2030.5 client engine.  The engine is sans-I/O, so the tests play the built-in
 * conformance cases to it in simulated time: the case's resources are served by the head-end's own
 * serve logic (conformance/serve.c), the engine's setpoint drives an ideal device, and the case's
 * expectations are judged by conformance/verdict.c on the exchanges and the device's status - the
 * same cases `gridedge conformance run` plays over the network, in milliseconds. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/sep.h>

#include "conformance/case.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "failmem.h"
#include "runner.h"
#include "xsd.h"

#define T0 1800000000.0
#define LFDI "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
#define SFDI 167261211391ULL
#define STEP 0.25
#define MAX_EX 4000
#define MAX_SAMPLES 1000

/* An ideal device: the battery is at its setpoint at once; PV gives 3 kW unless limited. */
static void ideal_device(const sep_control_t *ctl, ge_der_caps_t *caps, ge_telemetry_t *tel)
{
    const ge_setpoint_t *sp = &ctl->setpoint;
    double bat = sp->set & GE_SP_BATTERY_W ? sp->battery_w : 0, pv = 3000;

    memset(caps, 0, sizeof(*caps));
    caps->modes = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_CONNECT | GE_SP_ENERGIZE | GE_SP_EXPORT_LIM;
    caps->rtg_max_w = 5000;
    caps->rtg_max_charge_rate_w = 5000;
    caps->rtg_max_discharge_rate_w = 5000;
    caps->rtg_max_wh = 13500;
    caps->pv_peak_w = 5000;
    bat = fmax(-5000, fmin(5000, bat));
    if (((sp->set & GE_SP_CONNECT) && !sp->connect) || ((sp->set & GE_SP_ENERGIZE) && !sp->energize))
        bat = pv = 0;
    if (sp->set & GE_SP_MAX_LIM) {
        double cap = sp->max_lim_pct / 100.0 * caps->rtg_max_w;
        pv = fmin(pv, cap);
        if (bat > cap - pv)
            bat = cap - pv;
    }
    memset(tel, 0, sizeof(*tel));
    tel->battery_w = bat;
    tel->pv_w = pv;
    tel->soc_pct = 50;
    tel->stored_wh = 6750;
    tel->house_w = 1000;
    tel->site_w = tel->house_w - pv - bat;
}

typedef struct sim_run {
    cf_exchange_t ex[MAX_EX];
    char *bodies[MAX_EX];
    size_t n_ex;
    cf_sample_t samples[MAX_SAMPLES];
    size_t n_samples;
    char lfdi_buf[48];
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

static char *status_json(double server_time, const sep_control_t *ctl, const ge_telemetry_t *tel)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf),
                                "{\"time\":%.0f,\"site\":{\"power_w\":%.1f},\"pv\":{\"power_w\":%.1f},"
                                "\"battery\":{\"power_w\":%.1f,\"soc_pct\":50},\"ev\":{\"power_w\":0},"
                                "\"active_controls\":[",
                                floor(server_time), tel->site_w, tel->pv_w, tel->battery_w);
    for (size_t i = 0; i < ctl->n_active && n < sizeof(buf) - 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"id\":\"%s\",\"source\":\"sep\"}", i ? "," : "",
                              ctl->active[i].mrid);
    snprintf(buf + n, sizeof(buf) - n, "],\"price\":null}");
    return strdup(buf);
}

/* Play case C to a fresh engine; fill R.  Returns the engine's stats. */
static sep_client_stats_t play(const cf_case_t *c, sim_run_t *r, const ge_mem_t *mem)
{
    sep_client_config_t cfg = { "/dcap", LFDI, SFDI, 111115, 7, 1, mem, NULL };
    sep_client_t *eng = NULL;
    sep_client_stats_t st;
    unsigned fired[CF_CASE_MAX_ACTIONS] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    char sfdi[32];
    cf_vars_t vars = { 0 };

    memset(&st, 0, sizeof(st));
    snprintf(sfdi, sizeof(sfdi), "%llu", SFDI);
    vars.start = T0 + c->time_offset;
    vars.lfdi = LFDI;
    vars.sfdi = sfdi;
    vars.base = "http://127.0.0.1:1";
    if (sep_client_new(&eng, &cfg) < 0)
        return st;
    for (double t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = T0 + t;
        sep_request_t req;
        sep_control_t ctl;
        ge_der_caps_t caps;
        ge_telemetry_t tel;
        int guard = 0;

        vars.now = now + c->time_offset;
        while (sep_client_next_request(eng, now, &req) == 1 && guard++ < 64) {
            cf_answer_t ans;
            ge_buf_t out;
            ge_buf_init(&out, NULL, 1 << 20);
            cf_serve(c, &ss, &vars, t, req.method, req.path, req.body ? req.body : "", "application/sep+xml", &ans,
                     &out);
            if (r->n_ex < MAX_EX) {
                cf_exchange_t *x = &r->ex[r->n_ex];
                r->bodies[r->n_ex] = strndup(req.body ? req.body : "", req.body_len);
                x->t = t;
                x->method = req.method[0] == 'G' ? "GET" : req.method[1] == 'U' ? "PUT" : "POST";
                x->path = strdup(req.path);
                x->body = r->bodies[r->n_ex];
                x->status = ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status;
                r->n_ex++;
            }
            if (ans.kind == CF_ANSWER_CLOSE)
                sep_client_response(eng, req.id, 0, NULL, NULL, 0, now);
            else
                sep_client_response(eng, req.id, ans.status, ans.location[0] ? ans.location : NULL, out.data, out.len,
                                    now);
            ge_buf_free(&out);
        }
        CU_ASSERT(guard < 64); /* the engine never floods the server */
        sep_client_control(eng, now, &ctl);
        ideal_device(&ctl, &caps, &tel);
        sep_client_set_device(eng, &caps, &tel);
        if (r->n_samples < MAX_SAMPLES) {
            r->samples[r->n_samples].t = t;
            r->samples[r->n_samples].json = status_json(sep_client_server_time(eng, now), &ctl, &tel);
            r->n_samples++;
        }
    }
    sep_client_stats(eng, &st);
    sep_client_free(eng);
    return st;
}

/* Judge every expectation; print the failures.  Returns the number failed. */
static int judge(const char *id, const cf_case_t *c, const sim_run_t *r)
{
    cf_observed_t obs = { r->ex, r->n_ex, r->samples, r->n_samples, c->duration, T0 + c->time_offset };
    cf_vars_t vars = { 0 };
    char sfdi[32];
    int failed = 0;

    snprintf(sfdi, sizeof(sfdi), "%llu", SFDI);
    vars.lfdi = LFDI;
    vars.sfdi = sfdi;
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

/* The csip cases whose features the engine has; each must pass in simulated time. */
static const char *const supported[] = {
    "COMM-002", "CORE-003", "CORE-005", "CORE-006", "CORE-012", "CORE-013", "CORE-014", "CORE-021",
    "CORE-022", "CORE-023", "BASIC-009", "BASIC-010", "BASIC-013", "BASIC-014", "BASIC-016", "BASIC-017",
    "BASIC-018", "BASIC-020", "BASIC-022", "BASIC-024", "BASIC-028", "BASIC-029", "ERR-001", "GE-SEP-002", "GE-SEP-004",
    "GE-SEP-005", "GE-SEP-006",
};

static void test_cases_in_simulated_time(void)
{
    /* everything the client sends must validate against the official IEEE 2030.5 XSD (the CSIP
     * profile; CSIP-AUS adds required elements of its own) */
    xsd_t *xsd = xsd_dir() ? xsd_load("sep/sep.xsd") : NULL;
    size_t validated = 0;
    if (xsd_dir())
        CU_ASSERT_PTR_NOT_NULL_FATAL(xsd);
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++) {
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        static sim_run_t r;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load("csip", supported[i], NULL, a, &c, err, sizeof(err));
        if (rc)
            fprintf(stderr, "%s: %s\n", supported[i], err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        memset(&r, 0, sizeof(r));
        sep_client_stats_t st = play(&c, &r, NULL);
        CU_ASSERT_TRUE(st.time_known);
        int failed = judge(supported[i], &c, &r);
        if (failed) {
            fprintf(stderr, "%s: %d expectation(s) failed; the client sent:\n", supported[i], failed);
            for (size_t k = 0; k < r.n_ex; k++)
                if (strcmp(r.ex[k].method, "GET") != 0)
                    fprintf(stderr, "    %.2f %s %s -> %d %.300s\n", r.ex[k].t, r.ex[k].method, r.ex[k].path,
                            r.ex[k].status, r.ex[k].body);
        }
        CU_ASSERT_EQUAL(failed, 0);
        for (size_t k = 0; xsd && k < r.n_ex; k++) {
            char why[600];
            if (!r.ex[k].body[0])
                continue;
            int ok = xsd_valid(xsd, r.ex[k].body, strlen(r.ex[k].body), why, sizeof(why));
            if (!ok)
                fprintf(stderr, "%s: %s %s sent an invalid body: %s\n%s\n", supported[i], r.ex[k].method,
                        r.ex[k].path, why, r.ex[k].body);
            CU_ASSERT_TRUE(ok);
            validated += ok;
        }
        run_free(&r);
        ge_arena_free(a);
    }
    if (xsd) {
        CU_ASSERT(validated > 100);
        printf("(%zu documents the client sent validated against the official XSDs) ", validated);
    }
    xsd_free(xsd);
}

/* The engine survives every allocation failing in turn while it plays a case with controls. */
/* The engine survives each allocation failing in turn while it plays a case with controls: no
 * crash, nothing leaked (it degrades, logs and goes on; a failed creation is reported). */
static void test_failmalloc(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sim_run_t r;
    long n;
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("csip", "CORE-022", NULL, a, &c, err, sizeof(err)), 0);
    c.duration = 12;
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

static void test_config_checked(void)
{
    sep_client_t *c = NULL;
    sep_client_config_t cfg = { "/dcap", LFDI, SFDI, 0, 1, 0, NULL, NULL };
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), 0);
    sep_client_free(c);
    cfg.lfdi = "XYZ";
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
    cfg.lfdi = LFDI;
    cfg.dcap_path = "dcap";
    CU_ASSERT_EQUAL(sep_client_new(&c, &cfg), GE_ERR_INVALID);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "config checked", test_config_checked },
        { "csip cases in simulated time", test_cases_in_simulated_time },
        { "failmalloc", test_failmalloc },
        { NULL, NULL },
    };
    return test_add_suite("sep", cases);
}
