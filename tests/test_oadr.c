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
#include <time.h>
#include <unistd.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/oadr_sig.h>
#include <gridedge/pki.h>
#include <gridedge/policy.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "failmem.h"
#include "gateway/owner.h"
#include "stack/oadr/oadr_internal.h"
#include "runner.h"
#include "site_model.h"
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
    oadr_ven_config_t cfg = { BASE, "ven", NULL, NULL, 0, 0, 1, NULL, NULL, NULL, 0, 0, 0 };
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

/* The site as the program shows it for the engine's controls CTL at T (tests/site_model.h): the
 * status file sample appended to R; the site's power now in *SITE_W. */
static void site_sample(site_model_t *m, sim_run_t *r, double t, double server_time, const oadr_control_t *ctl,
                        double *site_w)
{
    char controls[3000];
    size_t n = 0;

    n += (size_t)snprintf(controls, sizeof(controls), "[");
    for (size_t i = 0; i < ctl->n_active && n < sizeof(controls) - 200; i++)
        n += (size_t)snprintf(controls + n, sizeof(controls) - n, "%s{\"id\":\"%s\",\"source\":\"oadr\"}",
                              i ? "," : "", ctl->active[i].id);
    snprintf(controls + n, sizeof(controls) - n, "]");
    site_model_input_t in = { t, server_time, ctl->has_price, ctl->price, ctl->has_level ? (int)lround(ctl->level) : -1,
                              controls };
    *site_w = site_model_step(m, &in, r->samples, &r->n_samples, MAX_SAMPLES);
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

/* The case's `at T owner` lines due in (T - STEP, T]: the body, placeholders filled, is read as the
 * owner file (gateway/owner.c, the gateway config's parser) and becomes the owner's choices in
 * force, applied to the engine as the program applies them. */
typedef struct owner_play {
    gw_config_t choices;
    int have;
    int leaving;
} owner_play_t;

static void owner_act(oadr_ven_t *v, const cf_case_t *c, cf_serve_state_t *ss, const cf_vars_t *vars, double t,
                      owner_play_t *op)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        gw_config_errors_t errs;
        ge_buf_t text;
        if (a->kind != CF_ACT_OWNER || ss->fired[i] || a->at > t + 1e-9)
            continue;
        ss->fired[i] = 1;
        ge_buf_init(&text, NULL, 0);
        CU_ASSERT_EQUAL(cf_substitute(a->body, a->body_len, vars, &text), 0);
        if (gw_config_parse_owner_string(&op->choices, "owner.ini", ge_buf_str(&text), &errs) == 0) {
            op->have = 1;
        } else {
            char line[300];
            fprintf(stderr, "  %s: %s\n", c->id, gw_config_error_format(&errs, 0, line, sizeof(line)));
            CU_FAIL("a case's owner file does not parse");
        }
        ge_buf_free(&text);
    }
    if (!op->have)
        return;
    CU_ASSERT_EQUAL(gw_owner_apply(v, NULL, 0, &op->choices, NULL), 0);
    if (!op->choices.oadr_registered && !op->leaving)
        op->leaving = gw_owner_leave(v, NULL);
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

/* The case's `at T restart` due in (T - STEP, T]: the engine is dropped and a new one made from
 * what the program keeps in its store - the registration (CFG's venID, registrationID) and the
 * saved state (oadr_ven_save).  Returns 0, or the new engine's creation error (*V then NULL). */
static int play_restarts(const cf_case_t *c, cf_serve_state_t *ss, const oadr_ven_config_t *cfg, oadr_ven_t **v,
                         double t)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        oadr_ven_config_t again = *cfg;
        oadr_ven_stats_t st;
        ge_buf_t saved;
        int rc;
        if (a->kind != CF_ACT_RESTART || ss->fired[i] || a->at > t + 1e-9)
            continue;
        ss->fired[i] = 1;
        ge_buf_init(&saved, cfg->mem, 1 << 16);
        oadr_ven_stats(*v, &st);
        rc = oadr_ven_save(*v, &saved);
        oadr_ven_free(*v);
        *v = NULL;
        if (rc < 0) {
            ge_buf_free(&saved);
            return rc;
        }
        again.ven_id = st.ven_id[0] ? st.ven_id : NULL;
        again.registration_id = st.registration_id[0] ? st.registration_id : NULL;
        rc = oadr_ven_new(v, &again);
        if (rc == 0)
            rc = oadr_ven_restore(*v, saved.data, saved.len);
        ge_buf_free(&saved);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int has_sends(const cf_case_t *c)
{
    for (size_t i = 0; i < c->n_actions; i++)
        if (c->actions[i].kind == CF_ACT_SEND)
            return 1;
    return 0;
}

/* Play case C to a fresh engine (a push VEN when PUSH or when the case sends to it); fill R.
 * Returns 0, or the engine's creation error. */
static int play_mode(const cf_case_t *c, sim_run_t *r, const ge_mem_t *mem, int push)
{
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, mem, NULL,
                              push || has_sends(c) ? PUSH_URL : NULL, 0, 0, 0 };
    cf_captures_t caps;
    oadr_ven_t *v = NULL;
    unsigned *fired = calloc(c->n_actions + 1, sizeof(unsigned));
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars;
    owner_play_t owner;
    site_model_t site;
    double site_w = 1000, energy_wh = 12000;
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(fired);
    vars_init(&vars, c);
    memset(&caps, 0, sizeof(caps));
    memset(&owner, 0, sizeof(owner));
    memset(&site, 0, sizeof(site));
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
        if ((rc = play_restarts(c, &ss, &cfg, &v, t)) < 0) {
            oadr_ven_free(v);
            cf_captures_clear(&caps);
            free(fired);
            return rc;
        }
        owner_act(v, c, &ss, &vars, t, &owner);
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
        site_sample(&site, r, t, oadr_ven_server_time(v, now), &ctl, &site_w);
    }
    oadr_ven_stats(v, &r->stats);
    oadr_ven_free(v);
    cf_captures_clear(&caps);
    free(fired);
    return 0;
}

static int play(const cf_case_t *c, sim_run_t *r, const ge_mem_t *mem)
{
    return play_mode(c, r, mem, 0);
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
    {
        char detail[400];
        if (!cf_wire_check("oadr20b", &obs, NULL, 0, detail, sizeof(detail))) { /* what the head-end checks */
            fprintf(stderr, "  %s: %s\n", id, detail);
            failed++;
        }
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

/* The scripted oadr20b cases played over the network only (tests/test_oadr_run.c): TLS, XML
 * signatures, and the signals the gateway's site turns into setpoints. */
static const char *const network_only[] = { "G1_4010", "G0_9010", "E1_1027", "E0_6027", "GE-OADR20B-001", "GE-OADR20B-003",
                                            "GE-OADR20B-005", "GE-OADR20B-006", "GE-OADR20B-007" };

static int network_only_case(const char *id)
{
    for (size_t i = 0; i < sizeof(network_only) / sizeof(network_only[0]); i++)
        if (strcmp(network_only[i], id) == 0)
            return 1;
    return 0;
}

/* Every case of the oadr20b catalogue that has a script, in catalogue order: its ID and its
 * transport note ("pull", "push" or ""). */
typedef struct scripted {
    char id[CF_ID_MAX];
    int push;
} scripted_t;

static size_t scripted_cases(scripted_t *out, size_t max)
{
    cf_catalogue_t cat;
    char err[256] = "";
    size_t n = 0;

    CU_ASSERT_EQUAL_FATAL(cf_catalogue_load("oadr20b", &cat, err, sizeof(err)), 0);
    for (size_t i = 0; i < cat.n && n < max; i++) {
        ge_arena_t *a;
        cf_case_t c;
        char why[512];
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load("oadr20b", cat.cases[i].id, NULL, a, &c, why, sizeof(why));
        if (rc != GE_ERR_NOTFOUND) {
            if (rc)
                fprintf(stderr, "%s: %s\n", cat.cases[i].id, why);
            CU_ASSERT_EQUAL(rc, 0);
            snprintf(out[n].id, sizeof(out[n].id), "%s", cat.cases[i].id);
            out[n++].push = strstr(cat.cases[i].note, "push") != NULL;
        }
        ge_arena_free(a);
    }
    cf_catalogue_free(&cat);
    return n;
}

#define MAX_SCRIPTED 256

/* Does the home owner leave the program in case C (an `owner` body with registered = no)? */
static int owner_leaves(const cf_case_t *c)
{
    for (size_t k = 0; k < c->n_actions; k++)
        if (c->actions[k].kind == CF_ACT_OWNER && c->actions[k].body &&
            strstr(c->actions[k].body, "registered = no"))
            return 1;
    return 0;
}

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
    static scripted_t cases[MAX_SCRIPTED];
    size_t n_cases = scripted_cases(cases, MAX_SCRIPTED), played = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const char *id = cases[i].id;
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        static sim_run_t r;
        if (network_only_case(id))
            continue;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load("oadr20b", id, NULL, a, &c, err, sizeof(err));
        if (rc)
            fprintf(stderr, "%s: %s\n", id, err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        memset(&r, 0, sizeof(r));
        CU_ASSERT_EQUAL(play_mode(&c, &r, NULL, cases[i].push), 0);
        played++;
        if (owner_leaves(&c)) {
            CU_ASSERT_FALSE(r.stats.registered); /* it left */
        } else {
            /* registered with what the VTN gave: VEN-1/REG-1 (oadr-base), or the case's own (its
             * expectations check the VEN uses it) */
            CU_ASSERT_TRUE(r.stats.registered);
            CU_ASSERT(strlen(r.stats.ven_id) > 0 && strlen(r.stats.registration_id) > 0);
            if (strlen(r.stats.ven_id) < 10)
                CU_ASSERT_STRING_EQUAL(r.stats.ven_id, "VEN-1");
        }
        kinds |= r.kinds_sent;
        int failed = judge(id, &c, &r);
        if (failed)
            dump_traffic(id, &r);
        CU_ASSERT_EQUAL(failed, 0);
        for (size_t k = 0; xsd && k < r.n_ex; k++) {
            char why[600];
            int ok = xsd_valid(xsd, r.ex[k].body, strlen(r.ex[k].body), why, sizeof(why));
            if (!ok)
                fprintf(stderr, "%s: POST %s sent an invalid body: %s\n%s\n", id, r.ex[k].path, why,
                        r.ex[k].body);
            CU_ASSERT_TRUE(ok);
            validated += ok;
        }
        run_free(&r);
        ge_arena_free(a);
    }
    CU_ASSERT(played >= 30);
    printf("(%zu scripted cases played) ", played);
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
    static scripted_t cases[MAX_SCRIPTED];
    size_t n_cases;

    if (!xsd) {
        printf("(no official schemas found: skipped) ");
        CU_PASS("no schemas");
        return;
    }
    n_cases = scripted_cases(cases, MAX_SCRIPTED);
    for (size_t i = 0; i < n_cases; i++) {
        const char *id = cases[i].id;
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
            if (c.actions[k].kind == CF_ACT_OWNER) {
                /* not a VTN document: the home owner's file, which must be one the program takes */
                static gw_config_t owner;
                gw_config_errors_t errs;
                ge_buf_init(&doc, NULL, 0);
                CU_ASSERT_EQUAL(cf_substitute(c.actions[k].body, c.actions[k].body_len, &vars, &doc), 0);
                if (gw_config_parse_owner_string(&owner, "owner.ini", ge_buf_str(&doc), &errs) < 0) {
                    fprintf(stderr, "%s line %u: %s\n", id, c.actions[k].line,
                            gw_config_error_format(&errs, 0, why, sizeof(why)));
                    CU_FAIL("a case's owner file does not parse");
                }
                ge_buf_free(&doc);
                continue;
            }
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

    /* events; reports and their updates; a push VEN; a restart from the saved state */
    static const char *const ids[] = { "E1_1040", "R1_3010", "E0_6020", "GE-OADR20B-004" };

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
static oadr_ven_t *registered_engine_cfg(uint32_t *poll_id, double *now, const oadr_ven_config_t *cfg,
                                        char **reg_body)
{
    const char *push_url = cfg->transport_address;
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
    CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&v, cfg), 0);
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

static oadr_ven_t *registered_engine_mode(uint32_t *poll_id, double *now, const char *push_url, char **reg_body)
{
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 3, NULL, NULL, push_url, 0, 0, 0 };
    return registered_engine_cfg(poll_id, now, &cfg, reg_body);
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

/* A push VEN with no active registration (N0_5080) takes nothing but EiRegisterParty: a pushed
 * event or report request is answered oadrResponse 463 (not registered) and not acted on. */
static void test_push_unregistered(void)
{
    static const char distribute[] = PAYLOAD("<oadrDistributeEvent ei:schemaVersion=\"2.0b\"><pyld:requestID>DE-NR"
                                             "</pyld:requestID><ei:vtnID>GE-VTN</ei:vtnID></oadrDistributeEvent>");
    static const char create_report[] = CREATE_REPORT("VEN-1", "GE-TELEMETRY_USAGE", "site_power");
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, NULL, NULL, PUSH_URL, 0, 0, 0 };
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    oadr_ven_t *v = NULL;
    oadr_ven_stats_t st;
    oadr_request_t req;
    ge_buf_t ans;
    char why[600];

    CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&v, &cfg), 0);
    ge_buf_init(&ans, NULL, 1 << 20);
    CU_ASSERT_EQUAL(oadr_ven_push(v, distribute, strlen(distribute), T0, &ans), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<ei:responseCode>463</ei:responseCode>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<pyld:requestID>DE-NR</pyld:requestID>"));
    if (xsd)
        CU_ASSERT_TRUE(xsd_valid(xsd, ans.data, ans.len, why, sizeof(why)));
    ge_buf_clear(&ans);
    CU_ASSERT_EQUAL(oadr_ven_push(v, create_report, strlen(create_report), T0, &ans), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<ei:responseCode>463</ei:responseCode>"));
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&ans), "oadrCreatedReport"));
    oadr_ven_stats(v, &st);
    CU_ASSERT_FALSE(st.registered);
    CU_ASSERT_EQUAL(st.report_requests, 0);
    /* and it goes on registering first */
    CU_ASSERT_EQUAL_FATAL(oadr_ven_next_request(v, T0, &req), 1);
    CU_ASSERT_EQUAL(req.kind, OADR_MSG_QUERY_REGISTRATION);
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
        oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 7, NULL, NULL, NULL, 0, 0, 0 };
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

/* ---- signals, targets, ramp-up and recovery, randomization: table-driven ----------------------------- */

#define EV_T0 100   /* the events below start this long after the engine registered */
#define EV_DUR 100

static void iso(double t, char out[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An oadrDistributeEvent with event ID (modification MOD, STATUS) from START for DUR s: one
 * signal NAME/TYPE with one interval of VALUE (UNITS: an itemBase element or ""), the event's
 * eiTarget TARGET (its inner XML), PROPS after the duration in xcal:properties (tolerance,
 * x-eiRampUp, x-eiRecovery) and SIG_TARGET inside the signal (an eiTarget element or ""). */
static char *distribute(const char *id, unsigned mod, const char *status, double start, int dur, const char *name,
                        const char *type, double value, const char *units, const char *target, const char *props,
                        const char *sig_target)
{
    char st[32], cr[32], *out = malloc(8192);
    iso(start, st);
    iso(start - 3600, cr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    snprintf(out, 8192,
             PAYLOAD("<oadrDistributeEvent ei:schemaVersion=\"2.0b\"><pyld:requestID>DE-T</pyld:requestID>"
                     "<ei:vtnID>GE-VTN</ei:vtnID><oadrEvent><ei:eiEvent><ei:eventDescriptor><ei:eventID>%s</ei:eventID>"
                     "<ei:modificationNumber>%u</ei:modificationNumber><ei:eiMarketContext><marketContext "
                     "xmlns=\"http://docs.oasis-open.org/ns/emix/2011/06\">http://mc</marketContext></ei:eiMarketContext>"
                     "<ei:createdDateTime>%s</ei:createdDateTime><ei:eventStatus>%s</ei:eventStatus></ei:eventDescriptor>"
                     "<ei:eiActivePeriod><xcal:properties><xcal:dtstart><xcal:date-time>%s</xcal:date-time></xcal:dtstart>"
                     "<xcal:duration><xcal:duration>PT%dS</xcal:duration></xcal:duration>%s</xcal:properties>"
                     "<xcal:components/></ei:eiActivePeriod><ei:eiEventSignals><ei:eiEventSignal>"
                     "<strm:intervals xmlns:strm=\"urn:ietf:params:xml:ns:icalendar-2.0:stream\"><ei:interval>"
                     "<xcal:duration><xcal:duration>PT%dS</xcal:duration></xcal:duration><ei:signalPayload>"
                     "<ei:payloadFloat><ei:value>%g</ei:value></ei:payloadFloat></ei:signalPayload></ei:interval>"
                     "</strm:intervals>%s<ei:signalName>%s</ei:signalName><ei:signalType>%s</ei:signalType>"
                     "<ei:signalID>S</ei:signalID>%s</ei:eiEventSignal></ei:eiEventSignals><ei:eiTarget>%s</ei:eiTarget>"
                     "</ei:eiEvent><oadrResponseRequired>always</oadrResponseRequired></oadrEvent></oadrDistributeEvent>"),
             id, mod, cr, status, st, dur, props, dur, value, sig_target, name, type, units, target);
    return out;
}

/* Hand BODY to V as the answer to its next poll (POLL_ID, or the next one it sends from *NOW on);
 * the answers it sends before are acknowledged. */
static void deliver(oadr_ven_t *v, double *now, uint32_t poll_id, const char *body)
{
    for (int guard = 0; !poll_id && guard < 400; guard++, *now += STEP) {
        oadr_request_t req;
        while (!poll_id && oadr_ven_next_request(v, *now, &req) == 1) {
            if (req.kind == OADR_MSG_POLL)
                poll_id = req.id;
            else
                oadr_ven_response(v, req.id, 200, NULL, 0, *now);
        }
    }
    CU_ASSERT_FATAL(poll_id != 0);
    CU_ASSERT_EQUAL(oadr_ven_response(v, poll_id, 200, body, strlen(body), *now), 0);
}

/* The oadrCreatedEvent the engine sends next: 1 optOut, 0 optIn, -1 none. */
static int created_opt(oadr_ven_t *v, double now, xsd_t *xsd)
{
    oadr_request_t req;
    char why[600];

    while (oadr_ven_next_request(v, now, &req) == 1) {
        int kind = req.kind, opt = req.opt_out;
        if (xsd)
            CU_ASSERT_TRUE(xsd_valid(xsd, req.body, req.body_len, why, sizeof(why)));
        oadr_ven_response(v, req.id, 200, NULL, 0, now);
        if (kind == OADR_MSG_CREATED_EVENT)
            return opt;
    }
    return -1;
}

enum { F_LEVEL, F_PRICE, F_DEMAND, F_BID, F_DISPATCH, F_LC };

/* Field F of what is in force: 1 and *X, or 0. */
static int field(const oadr_control_t *c, int f, double *x, oadr_load_control *lc)
{
    switch (f) {
    case F_LEVEL: *x = c->level; return c->has_level;
    case F_PRICE: *x = c->price; return c->has_price;
    case F_DEMAND: *x = c->demand_charge; return c->has_demand_charge;
    case F_BID: *x = c->bid_price; return c->has_bid;
    case F_DISPATCH: *x = c->dispatch_w; return c->has_dispatch;
    default: *x = c->load_control_value; *lc = c->load_control; return c->load_control != OADR_LC_NONE;
    }
}

#define KW "<power:powerReal xmlns:power=\"http://docs.oasis-open.org/ns/emix/2011/06/power\" " \
           "xmlns:scale=\"http://docs.oasis-open.org/ns/emix/2011/06/siscale\"><power:itemDescription>RealPower" \
           "</power:itemDescription><power:itemUnits>W</power:itemUnits><scale:siScaleCode>k</scale:siScaleCode>" \
           "<power:powerAttributes><power:hertz>60</power:hertz><power:voltage>240</power:voltage><power:ac>true" \
           "</power:ac></power:powerAttributes></power:powerReal>"
#define RAMP "<ei:x-eiRampUp><xcal:duration>PT20S</xcal:duration></ei:x-eiRampUp>" \
             "<ei:x-eiRecovery><xcal:duration>PT20S</xcal:duration></ei:x-eiRecovery>"
#define VEN_ONLY "<ei:venID>VEN-1</ei:venID>"

/* E1_1070, E1_1080: an event with no signal we support is answered 460 (Signal not supported)
 * optOut; a distribute from a vtnID not the registered one (IDs are case-sensitive) is answered
 * 452 (Invalid ID) optOut, once although repeated, is never acted on and cancels none of ours; a
 * push of it is answered 452 in the exchange. */
static void test_created_event_codes(void)
{
    static const char *const want[] = { "460", "200", "452", NULL };
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    double now = 0, t0;
    uint32_t poll = 0;
    oadr_ven_t *v = registered_engine(&poll, &now);
    oadr_control_t ctl;
    char *body[4], *p, why[600];
    ge_buf_t ans;

    t0 = now;
    body[0] = distribute("EV-X", 0, "far", t0 + EV_T0, EV_DUR, "x-CUSTOM_SIGNAL", "level", 1, "", VEN_ONLY, "", "");
    body[1] = distribute("EV-G", 0, "far", t0 + EV_T0, EV_DUR, "simple", "level", 2, "", VEN_ONLY, "", "");
    body[2] = distribute("EV-W", 0, "far", t0 + EV_T0, EV_DUR, "simple", "level", 3, "", VEN_ONLY, "", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p = strstr(body[2], "<ei:vtnID>GE-VTN"));
    memcpy(p + strlen("<ei:vtnID>"), "ge-vtn", 6);
    body[3] = strdup(body[2]); /* the refused one again: not answered again */
    for (int i = 0; i < 4; i++) {
        oadr_request_t req;
        char code[64];
        int n = 0;
        deliver(v, &now, i ? 0 : poll, body[i]);
        snprintf(code, sizeof(code), "<ei:responseCode>%s</ei:responseCode>", want[i] ? want[i] : "");
        while (oadr_ven_next_request(v, now, &req) == 1) {
            char *b = strndup(req.body, req.body_len);
            if (req.kind == OADR_MSG_CREATED_EVENT) {
                n++;
                CU_ASSERT_PTR_NOT_NULL(strstr(b, code));
                CU_ASSERT_EQUAL(req.opt_out, i != 1);
                CU_ASSERT_PTR_NULL(strstr(b, i == 1 ? "<ei:responseCode>4" : "optIn"));
                if (xsd)
                    CU_ASSERT_TRUE(xsd_valid(xsd, req.body, req.body_len, why, sizeof(why)));
            }
            free(b);
            oadr_ven_response(v, req.id, 200, NULL, 0, now);
        }
        CU_ASSERT_EQUAL(n, want[i] ? 1 : 0);
        /* nothing of EV-X nor EV-W is in force; EV-G (level 2) is from the second on */
        CU_ASSERT_EQUAL(oadr_ven_control(v, t0 + EV_T0 + 50, &ctl), 0);
        CU_ASSERT_EQUAL(ctl.has_level, i > 0);
        if (i > 0)
            CU_ASSERT_DOUBLE_EQUAL(ctl.level, 2, 1e-9);
    }
    oadr_ven_free(v);
    /* push: the refused distribute is answered 452 in the exchange, then 452 optOut on its own */
    v = registered_engine_mode(&poll, &now, "http://127.0.0.1:9/OpenADR2/Simple/2.0b", NULL);
    ge_buf_init(&ans, NULL, 1 << 20);
    CU_ASSERT_EQUAL(oadr_ven_push(v, body[2], strlen(body[2]), now, &ans), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "oadrResponse"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<ei:responseCode>452</ei:responseCode>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ans), "<pyld:requestID>DE-T</pyld:requestID>"));
    if (xsd)
        CU_ASSERT_TRUE(xsd_valid(xsd, ans.data, ans.len, why, sizeof(why)));
    ge_buf_free(&ans);
    CU_ASSERT_EQUAL(created_opt(v, now, xsd), 1);
    CU_ASSERT_EQUAL(oadr_ven_control(v, t0 + EV_T0 + 50, &ctl), 0);
    CU_ASSERT_FALSE(ctl.has_level);
    oadr_ven_free(v);
    for (int i = 0; i < 4; i++)
        free(body[i]);
    xsd_free(xsd);
}

static void test_signals_targets_ramps(void)
{
    static const struct {
        const char *what, *name, *type;
        double value;
        const char *units, *target, *props, *sig_target;
        int opt_out;            /* the oadrCreatedEvent says optOut (-1: the event is refused, no answer) */
        int f;                  /* F_*: the field checked */
        oadr_load_control lc;   /* F_LC: the type expected */
        struct { double t; int has; double x; } at[5]; /* seconds after the registration */
    } rows[] = {
        { "DEMAND_CHARGE", "DEMAND_CHARGE", "price", 12.5, "", VEN_ONLY, "", "", 0, F_DEMAND, 0,
          { { 99, 0, 0 }, { 101, 1, 12.5 }, { 199, 1, 12.5 }, { 201, 0, 0 }, { -1, 0, 0 } } },
        { "BID_PRICE", "BID_PRICE", "price", 0.45, "", VEN_ONLY, "", "", 0, F_BID, 0,
          { { 99, 0, 0 }, { 150, 1, 0.45 }, { 201, 0, 0 }, { -1, 0, 0 } } },
        { "prices do not ramp", "ELECTRICITY_PRICE", "price", 0.4, "", VEN_ONLY, RAMP, "", 0, F_PRICE, 0,
          { { 90, 0, 0 }, { 150, 1, 0.4 }, { 210, 0, 0 }, { -1, 0, 0 } } },
        { "capacity", "LOAD_CONTROL", "x-loadControlCapacity", 0.4, "", VEN_ONLY, "", "", 0, F_LC, OADR_LC_CAPACITY,
          { { 99, 0, 0 }, { 150, 1, 0.4 }, { 201, 0, 0 }, { -1, 0, 0 } } },
        { "capacity ramps", "LOAD_CONTROL", "x-loadControlCapacity", 0.4, "", VEN_ONLY, RAMP, "", 0, F_LC,
          OADR_LC_CAPACITY, { { 79, 0, 0 }, { 90, 1, 0.7 }, { 150, 1, 0.4 }, { 210, 1, 0.7 }, { 221, 0, 0 } } },
        { "percent offset ramps", "LOAD_CONTROL", "x-loadControlPercentOffset", -30, "", VEN_ONLY, RAMP, "", 0, F_LC,
          OADR_LC_PERCENT_OFFSET, { { 79, 0, 0 }, { 90, 1, -15 }, { 150, 1, -30 }, { 215, 1, -7.5 }, { 221, 0, 0 } } },
        { "level offset ramps", "LOAD_CONTROL", "x-loadControlLevelOffset", 2, "", VEN_ONLY, RAMP, "", 0, F_LC,
          OADR_LC_LEVEL_OFFSET, { { 90, 1, 1 }, { 150, 1, 2 }, { 218, 1, 0 }, { 221, 0, 0 }, { -1, 0, 0 } } },
        { "setpoint in kW", "LOAD_CONTROL", "x-loadControlSetpoint", 2, KW, VEN_ONLY, RAMP, "", 0, F_LC,
          OADR_LC_SETPOINT, { { 90, 0, 0 }, { 150, 1, 2000 }, { 210, 0, 0 }, { -1, 0, 0 } } },
        { "setpoint without power units", "LOAD_CONTROL", "x-loadControlSetpoint", 21, "", VEN_ONLY, "", "", 0, F_LC,
          0, { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "SIMPLE ramps", "simple", "level", 2, "", VEN_ONLY, RAMP, "", 0, F_LEVEL, 0,
          { { 79, 0, 0 }, { 82, 1, 0 }, { 90, 1, 1 }, { 150, 1, 2 }, { 221, 0, 0 } } },
        { "LOAD_DISPATCH delta ramps", "LOAD_DISPATCH", "delta", -4, KW, VEN_ONLY, RAMP, "", 0, F_DISPATCH, 0,
          { { 90, 1, -2000 }, { 150, 1, -4000 }, { 215, 1, -1000 }, { -1, 0, 0 } } },
        { "capacity out of 0..1", "LOAD_CONTROL", "x-loadControlCapacity", 1.5, "", VEN_ONLY, "", "", -1, F_LC, 0,
          { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "SIMPLE level 7", "simple", "level", 7, "", VEN_ONLY, "", "", -1, F_LEVEL, 0, { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "target: another venID", "simple", "level", 2, "", "<ei:venID>VEN-OTHER</ei:venID>", "", "", 1, F_LEVEL, 0,
          { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "target: our resourceID", "simple", "level", 2, "", "<ei:resourceID>RES-1</ei:resourceID>", "", "", 0,
          F_LEVEL, 0, { { 150, 1, 2 }, { -1, 0, 0 } } },
        { "target: our groupID among others", "simple", "level", 2, "",
          "<ei:groupID>G-OTHER</ei:groupID><ei:groupID>GROUP-A</ei:groupID>", "", "", 0, F_LEVEL, 0,
          { { 150, 1, 2 }, { -1, 0, 0 } } },
        { "target: another group and party", "simple", "level", 2, "",
          "<ei:groupID>G-OTHER</ei:groupID><ei:partyID>P-OTHER</ei:partyID>", "", "", 1, F_LEVEL, 0,
          { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "target: our partyID", "simple", "level", 2, "", "<ei:partyID>PARTY-7</ei:partyID>", "", "", 0, F_LEVEL, 0,
          { { 150, 1, 2 }, { -1, 0, 0 } } },
        { "target: us and another resource", "simple", "level", 2, "",
          "<ei:resourceID>RES-OTHER</ei:resourceID><ei:venID>VEN-1</ei:venID>", "", "", 0, F_LEVEL, 0,
          { { 150, 1, 2 }, { -1, 0, 0 } } },
        { "target: empty (every VEN)", "simple", "level", 2, "", "", "", "", 0, F_LEVEL, 0, { { 150, 1, 2 }, { -1, 0, 0 } } },
        { "signal targets another resource", "simple", "level", 2, "", VEN_ONLY, "",
          "<ei:eiTarget><ei:resourceID>RES-OTHER</ei:resourceID></ei:eiTarget>", 0, F_LEVEL, 0,
          { { 150, 0, 0 }, { -1, 0, 0 } } },
        { "signal targets our resource", "simple", "level", 2, "", VEN_ONLY, "",
          "<ei:eiTarget><ei:resourceID>RES-1</ei:resourceID></ei:eiTarget>", 0, F_LEVEL, 0,
          { { 150, 1, 2 }, { -1, 0, 0 } } },
    };
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double now = 0, t0;
        uint32_t poll = 0;
        oadr_ven_t *v = registered_engine(&poll, &now);
        oadr_ven_stats_t st;
        char why[600];
        CU_ASSERT_EQUAL(oadr_ven_add_target(v, OADR_TARGET_RESOURCE, "RES-1"), 0);
        CU_ASSERT_EQUAL(oadr_ven_add_target(v, OADR_TARGET_GROUP, "GROUP-A"), 0);
        CU_ASSERT_EQUAL(oadr_ven_add_target(v, OADR_TARGET_PARTY, "PARTY-7"), 0);
        t0 = now;
        char *body = distribute("EV-T", 0, "far", t0 + EV_T0, EV_DUR, rows[i].name, rows[i].type, rows[i].value,
                                rows[i].units, rows[i].target, rows[i].props, rows[i].sig_target);
        if (xsd && !xsd_valid(xsd, body, strlen(body), why, sizeof(why)))
            fprintf(stderr, "%s: the test's event is not valid 2.0b: %s\n", rows[i].what, why);
        deliver(v, &now, poll, body);
        int opt = created_opt(v, now, xsd);
        if (opt != rows[i].opt_out)
            fprintf(stderr, "%s: oadrCreatedEvent %d, expected %d\n", rows[i].what, opt, rows[i].opt_out);
        CU_ASSERT_EQUAL(opt, rows[i].opt_out);
        oadr_ven_stats(v, &st);
        CU_ASSERT_EQUAL(st.events_known, rows[i].opt_out < 0 ? 0u : 1u);
        for (int k = 0; k < 5 && rows[i].at[k].t >= 0; k++) {
            oadr_control_t c;
            double x = 0;
            oadr_load_control lc = OADR_LC_NONE;
            CU_ASSERT_EQUAL(oadr_ven_control(v, t0 + rows[i].at[k].t, &c), 0);
            int has = field(&c, rows[i].f, &x, &lc);
            if (has != rows[i].at[k].has || (has && fabs(x - rows[i].at[k].x) > 1e-6))
                fprintf(stderr, "%s at +%g s: %s %g, expected %s %g\n", rows[i].what, rows[i].at[k].t,
                        has ? "in force" : "none", x, rows[i].at[k].has ? "in force" : "none", rows[i].at[k].x);
            CU_ASSERT_EQUAL(has, rows[i].at[k].has);
            if (has && rows[i].at[k].has) {
                CU_ASSERT_DOUBLE_EQUAL(x, rows[i].at[k].x, 1e-6);
                if (rows[i].f == F_LC)
                    CU_ASSERT_EQUAL(lc, rows[i].lc);
                CU_ASSERT_EQUAL(c.n_active, 1);
                CU_ASSERT_STRING_EQUAL(c.active[0].id, "EV-T");
                oadr_phase want = rows[i].at[k].t < EV_T0 ? OADR_PHASE_RAMP_UP
                                  : rows[i].at[k].t >= EV_T0 + EV_DUR ? OADR_PHASE_RECOVERY : OADR_PHASE_ACTIVE;
                CU_ASSERT_EQUAL(c.active[0].phase, want);
            }
        }
        free(body);
        oadr_ven_free(v);
    }
    xsd_free(xsd);
}

static void count_not_acted(void *ud, ge_log_level level, const char *module, const char *msg)
{
    (void)module;
    if (level == GE_LOG_WARN && strstr(msg, "not acted on"))
        ++*(int *)ud;
}

/* ELECTRICITY_PRICE / ENERGY_PRICE of signalType priceRelative add to the configured base price,
 * priceMultiplier multiply it; without a base price such a signal is not acted on (never taken as
 * an absolute price) and says so once per modification, not at each poll repeating it. */
static void test_relative_prices(void)
{
    static const struct {
        const char *what, *name, *type;
        double value;
        int has_base;
        double base;
        int f, has;             /* F_*: the field checked at +150 s, in force (else logged as not acted on) */
        double x;
    } rows[] = {
        { "priceRelative up", "ELECTRICITY_PRICE", "priceRelative", 0.15, 1, 0.20, F_PRICE, 1, 0.35 },
        { "priceRelative down", "ELECTRICITY_PRICE", "priceRelative", -0.12, 1, 0.20, F_PRICE, 1, 0.08 },
        { "priceMultiplier", "ELECTRICITY_PRICE", "priceMultiplier", 2, 1, 0.20, F_PRICE, 1, 0.40 },
        { "priceMultiplier of a free base", "ELECTRICITY_PRICE", "priceMultiplier", 3, 1, 0, F_PRICE, 1, 0 },
        { "ENERGY_PRICE priceRelative", "ENERGY_PRICE", "priceRelative", 0.1, 1, 0.20, F_PRICE, 1, 0.30 },
        { "an absolute price stays", "ELECTRICITY_PRICE", "price", 0.45, 1, 0.20, F_PRICE, 1, 0.45 },
        { "priceMultiplier without a base", "ELECTRICITY_PRICE", "priceMultiplier", 2, 0, 0, F_PRICE, 0, 0 },
        { "priceRelative without a base", "ENERGY_PRICE", "priceRelative", 0.3, 0, 0, F_PRICE, 0, 0 },
        { "relative DEMAND_CHARGE", "DEMAND_CHARGE", "priceRelative", 5, 1, 0.20, F_DEMAND, 0, 0 },
        { "relative BID_PRICE", "BID_PRICE", "priceMultiplier", 1.5, 1, 0.20, F_BID, 0, 0 },
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int said = 0;
        ge_log_t log = { count_not_acted, &said, GE_LOG_DEBUG };
        oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, 3, NULL, &log, NULL, 0, rows[i].has_base,
                                  rows[i].base };
        double now = 0, t0, x = 0;
        uint32_t poll = 0;
        oadr_ven_t *v = registered_engine_cfg(&poll, &now, &cfg, NULL);
        oadr_load_control lc = OADR_LC_NONE;
        oadr_control_t c;

        t0 = now;
        char *body = distribute("EV-R", 0, "far", t0 + EV_T0, EV_DUR, rows[i].name, rows[i].type, rows[i].value, "",
                                VEN_ONLY, "", "");
        deliver(v, &now, poll, body);
        CU_ASSERT_EQUAL(created_opt(v, now, NULL), 0);
        deliver(v, &now, 0, body); /* the next poll brings the same event again */
        CU_ASSERT_EQUAL(said, rows[i].has ? 0 : 1);
        CU_ASSERT_EQUAL(oadr_ven_control(v, t0 + 99, &c), 0);
        CU_ASSERT_FALSE(field(&c, rows[i].f, &x, &lc));
        CU_ASSERT_EQUAL(oadr_ven_control(v, t0 + 150, &c), 0);
        int has = field(&c, rows[i].f, &x, &lc);
        if (has != rows[i].has || (has && fabs(x - rows[i].x) > 1e-9))
            fprintf(stderr, "%s: %s %g, expected %s %g\n", rows[i].what, has ? "in force" : "none", x,
                    rows[i].has ? "in force" : "none", rows[i].x);
        CU_ASSERT_EQUAL(has, rows[i].has);
        if (has)
            CU_ASSERT_DOUBLE_EQUAL(x, rows[i].x, 1e-9);
        free(body);
        /* a modification of the event is news: said again */
        body = distribute("EV-R", 1, "far", t0 + EV_T0, EV_DUR, rows[i].name, rows[i].type, rows[i].value, "",
                          VEN_ONLY, "", "");
        deliver(v, &now, 0, body);
        CU_ASSERT_EQUAL(said, rows[i].has ? 0 : 2);
        free(body);
        oadr_ven_free(v);
    }
}

/* tolerance/startafter: the start is drawn in [dtstart, dtstart + startafter] from the seed and the
 * eventID - the same seed gives the same start, seeds spread it; a cancellation of such an event
 * ends it at a time drawn the same way after the cancellation (A_E1_0267). */
static void test_randomized_start_and_cancel(void)
{
    int64_t first[8];
    int spread = 0;

    for (int round = 0; round < 2; round++)
        for (uint64_t seed = 1; seed <= 8; seed++) {
            oadr_ven_config_t cfg = { BASE, "gridedge-ven", NULL, NULL, 0, 0, seed, NULL, NULL, NULL, 0, 0, 0 };
            double now = 0, t0;
            uint32_t poll = 0;
            oadr_ven_t *v = registered_engine_cfg(&poll, &now, &cfg, NULL);
            oadr_control_t c;
            int64_t start = 0;
            t0 = now;
            char *body = distribute("EV-R", 0, "far", t0 + EV_T0, EV_DUR, "simple", "level", 2, "", VEN_ONLY,
                                    "<xcal:tolerance><xcal:tolerate><xcal:startafter>PT60S</xcal:startafter>"
                                    "</xcal:tolerate></xcal:tolerance>", "");
            deliver(v, &now, poll, body);
            free(body);
            CU_ASSERT_EQUAL(created_opt(v, now, NULL), 0);
            oadr_ven_control(v, t0 + EV_T0 - 1, &c);
            CU_ASSERT_FALSE(c.has_level);
            oadr_ven_control(v, t0 + EV_T0 + 61, &c);
            CU_ASSERT_TRUE(c.has_level);
            if (c.n_active == 1)
                start = c.active[0].start;
            CU_ASSERT(start >= (int64_t)(t0 + EV_T0) && start <= (int64_t)(t0 + EV_T0 + 60));
            if (round == 0)
                first[seed - 1] = start - (int64_t)t0;
            else
                CU_ASSERT_EQUAL(start - (int64_t)t0, first[seed - 1]); /* seedable: the same draw again */
            spread |= first[seed - 1] != first[0];
            /* cancelled at +170: in force no longer than 60 s after that, and never before it */
            now = t0 + 170;
            body = distribute("EV-R", 1, "cancelled", t0 + EV_T0, EV_DUR, "simple", "level", 2, "", VEN_ONLY,
                              "<xcal:tolerance><xcal:tolerate><xcal:startafter>PT60S</xcal:startafter>"
                              "</xcal:tolerate></xcal:tolerance>", "");
            deliver(v, &now, 0, body);
            free(body);
            CU_ASSERT_EQUAL(created_opt(v, now, NULL), 0);
            oadr_ven_control(v, now - 1, &c);
            CU_ASSERT_TRUE(c.has_level);
            oadr_ven_control(v, now + 61, &c);
            CU_ASSERT_FALSE(c.has_level);
            oadr_ven_free(v);
        }
    CU_ASSERT_TRUE(spread);
}

/* The saved state: report requests (and how far they are reported), opts and opt-outs go into the
 * text and come back into a fresh engine, which goes on where the first stopped; a text that does
 * not parse is refused whole and changes nothing. */
static void test_saved_state(void)
{
    static const char create_report[] = CREATE_REPORT("VEN-1", "GE-TELEMETRY_USAGE", "site_power");
    static const char *const bad[] = {
        "R RR-X 0 1 1 2 -1 100 0\nQ what\n",          /* an unknown line kind */
        "R RR-X 9 1 1 2 -1 100 0\n",                  /* no report 9 */
        "R RR-X 0 64 1 2 -1 100 0\n",                 /* a point the report has not */
        "R RR-X 0 1 1 2 -1 100\n",                    /* a field short */
        "R RR-X 0 1 1 2 -1 100 0 7\n",                /* one too many */
        "O OPT-1 1 0 0 0 x-schedule - 0\n",           /* a schedule without windows */
        "O OPT-1 1 0 0 0 x-schedule - 1 100 0\n",     /* an empty window */
        "O OPT-1 7 0 0 0 x-schedule - 1 100 60\n",    /* no such state */
        "X %00\n",                                    /* a NUL in an id */
        "X\n",
    };
    double now = 0;
    uint32_t poll = 0;
    oadr_ven_t *v = registered_engine(&poll, &now), *w = NULL;
    oadr_opt_window_t win = { (int64_t)now + 600, 3600 };
    oadr_ven_config_t cfg = { BASE, "gridedge-ven", "VEN-1", "REG-1", 0, 0, 3, NULL, NULL, NULL, 0, 0, 0 };
    oadr_ven_stats_t st;
    ge_buf_t a, b;

    ge_buf_init(&a, NULL, 1 << 16);
    ge_buf_init(&b, NULL, 1 << 16);
    CU_ASSERT_EQUAL(oadr_ven_response(v, poll, 200, create_report, strlen(create_report), now), 0);
    CU_ASSERT_EQUAL(oadr_ven_opt_out(v, "EV with space%"), 0);
    CU_ASSERT_EQUAL(oadr_ven_create_opt(v, "OPT-S", 0, NULL, &win, 1), 0);
    CU_ASSERT_EQUAL(oadr_ven_save(v, &a), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&a), "R RR-X 0 1 1 2 -1 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&a), "X EV%20with%20space%25\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&a), "O OPT-S 1 0 0 0 x-schedule - 1 "));
    /* a new engine (the restart): the same state, and it goes on */
    CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&w, &cfg), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ge_buf_clear(&b);
        CU_ASSERT_EQUAL(oadr_ven_restore(w, bad[i], strlen(bad[i])), GE_ERR_PARSE);
        CU_ASSERT_EQUAL(oadr_ven_save(w, &b), 0);
        CU_ASSERT_EQUAL(b.len, 0); /* nothing taken from a bad text */
    }
    CU_ASSERT_EQUAL(oadr_ven_restore(w, a.data, a.len), 0);
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(oadr_ven_save(w, &b), 0);
    CU_ASSERT_EQUAL(b.len, a.len);
    CU_ASSERT_EQUAL(memcmp(a.data, b.data, a.len), 0);
    oadr_ven_stats(w, &st);
    CU_ASSERT_EQUAL(st.report_requests, 1);
    CU_ASSERT_EQUAL(st.opts_pending, 1);
    oadr_ven_free(w);
    oadr_ven_free(v);
    ge_buf_free(&a);
    ge_buf_free(&b);
}

/* The head-end's side of XML signatures: with `sign-payloads` a reply goes out signed (it verifies
 * and still validates against the XSD); `expect signed` takes a request signed under the run's CA
 * and refuses an unsigned one, or one whose certificate is under another CA, saying which check
 * failed; a bad `sign-payloads` line is a parse error. */
static void test_headend_signatures(void)
{
    char dir[] = "/tmp/ge-oadr-hesig-XXXXXX", ca[600], cert[600], key[600], err[512];
    xsd_t *xsd = xsd_dir() ? xsd_load("oadr20b/oadr_20b.xsd") : NULL;
    ge_arena_t *a;
    cf_case_t c;
    cf_vars_t vars;
    cf_serve_state_t ss;
    cf_answer_t ans;
    oadr_sig_t *head = NULL, *ven = NULL;
    ge_buf_t out, req, plain;
    const cf_expect_t *signed_e = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_EQUAL_FATAL(ge_pki_init(dir, NULL, NULL, NULL), 0);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    CU_ASSERT_EQUAL_FATAL(oadr_sig_new(&head, cert, key, ca, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(oadr_sig_set_nonce_memory(head, 0), 0); /* as the head-end: it re-checks recordings */
    snprintf(cert, sizeof(cert), "%s/client.pem", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    CU_ASSERT_EQUAL_FATAL(oadr_sig_new(&ven, cert, key, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "GE-OADR20B-005", NULL, a, &c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(c.sign_payloads, 1);
    for (size_t i = 0; i < c.n_expects; i++)
        if (c.expects[i].kind == CF_EXP_SIGNED)
            signed_e = &c.expects[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(signed_e);

    /* the poll's answer (an event), signed by the head-end */
    vars_init(&vars, &c);
    vars.now = (double)time(NULL);
    vars.signer = head;
    memset(&ss, 0, sizeof(ss));
    ss.fired = calloc(c.n_actions, sizeof(unsigned));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ss.fired);
    ge_buf_init(&out, NULL, 1u << 22);
    CU_ASSERT_EQUAL(cf_serve(&c, &ss, &vars, 1, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", "<oadrPayload/>",
                             "application/xml", &ans, &out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "EV-GE5"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&out), "<ds:Signature"));
    CU_ASSERT_EQUAL(oadr_sig_verify(head, out.data, out.len, vars.now, OADR_SIG_DEFAULT_SKEW_S, err, sizeof(err)), 0);
    if (xsd)
        CU_ASSERT_EQUAL(xsd_valid(xsd, out.data, out.len, err, sizeof(err)), 1);

    /* the VEN's requests, judged */
    ge_buf_init(&plain, NULL, 1u << 20);
    ge_buf_init(&req, NULL, 1u << 22);
    CU_ASSERT_EQUAL_FATAL(oadr__poll_xml(&plain, "VEN-1"), 0);
    CU_ASSERT_EQUAL_FATAL(oadr_sig_sign(ven, plain.data, plain.len, vars.now + 2, &req, err, sizeof(err)), 0);
    {
        cf_exchange_t ex[4] = {
            { 1, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", ge_buf_str(&req), 200 },
            { 2, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", ge_buf_str(&req), 200 },
            { 3, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", ge_buf_str(&req), 200 },
            { 4, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", ge_buf_str(&req), 200 },
        };
        cf_observed_t obs = { ex, 4, NULL, 0, 14, vars.now };
        char d[400];
        CU_ASSERT_EQUAL(cf_expect_check_signed(signed_e, &obs, NULL, 0, head, vars.now, d, sizeof(d)), 1);
        /* only three of the four at least */
        obs.n_ex = 3;
        CU_ASSERT_EQUAL(cf_expect_check_signed(signed_e, &obs, NULL, 0, head, vars.now, d, sizeof(d)), 0);
        /* one unsigned */
        obs.n_ex = 4;
        ex[2].body = ge_buf_str(&plain);
        CU_ASSERT_EQUAL(cf_expect_check_signed(signed_e, &obs, NULL, 0, head, vars.now, d, sizeof(d)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(d, "at 3.0 s is not validly signed: the payload is not signed"));
        /* no verifier: nothing counts as signed */
        ex[2].body = ge_buf_str(&req);
        CU_ASSERT_EQUAL(cf_expect_check(signed_e, &obs, d, sizeof(d)), 0);
    }
    CU_ASSERT(cf_case_parse("b", "case X\nsign-payloads now\n", 25, a, NULL, NULL, &c, err, sizeof(err)) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sign-payloads (no arguments)"));

    ge_buf_free(&plain);
    ge_buf_free(&req);
    ge_buf_free(&out);
    free(ss.fired);
    ge_arena_free(a);
    oadr_sig_free(head);
    oadr_sig_free(ven);
    xsd_free(xsd);
    {
        char rm[700];
        static const char *const files[] = { "ca.pem", "ca.key", "server.pem", "server.key", "client.pem",
                                             "client.key" };
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(rm, sizeof(rm), "%s/%s", dir, files[i]);
            unlink(rm);
        }
        rmdir(dir);
    }
}

/* The owner file (gateway/owner.c): re-read when it changes and at most once a second; a bad file
 * keeps the choices in force; applied to the engine, windows added become schedules and windows
 * taken away are cancelled, those of the config stay. */
static void write_text(const char *path, const char *text)
{
    char tmp[600];
    FILE *f;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static void test_owner_file(void)
{
    char dir[] = "/tmp/test_owner_XXXXXX", path[600], ids[OADR_MAX_OPTS][OADR_ID_MAX], id[OADR_ID_MAX];
    oadr_ven_config_t cfg = { BASE, "ven", NULL, NULL, 0, 0, 1, NULL, NULL, NULL, 0, 0, 0 };
    oadr_opt_window_t fixed = { 1796148000, 3600 };
    oadr_ven_t *v = NULL;
    gw_owner_t o;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/owner.ini", dir);
    CU_ASSERT_EQUAL_FATAL(oadr_ven_new(&v, &cfg), 0);
    CU_ASSERT_EQUAL_FATAL(gw_owner_init(&o, dir, NULL), 0);
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 100), 0); /* no file: nothing chosen */
    CU_ASSERT_PTR_NULL(gw_owner_choices(&o));
    CU_ASSERT_EQUAL(gw_owner_apply(v, &fixed, 1, NULL, NULL), 0);
    CU_ASSERT_EQUAL(oadr_ven_schedules(v, ids, OADR_MAX_OPTS), 1);
    gw_owner_opt_id(&fixed, id);
    CU_ASSERT_STRING_EQUAL(id, "GE-UNAV-20261201T180000Z-3600");
    CU_ASSERT_STRING_EQUAL(ids[0], id);

    write_text(path, "[oadr]\nunavailable = 2026-12-02T18:00:00Z/PT2H, 2026-12-03T18:00:00Z/PT2H\nopt_out = EV-9\n");
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 100.5), 0); /* within the second: not looked at */
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 101), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw_owner_choices(&o));
    CU_ASSERT_EQUAL(gw_owner_choices(&o)->oadr_n_unavailable, 2);
    CU_ASSERT_EQUAL(gw_owner_apply(v, &fixed, 1, gw_owner_choices(&o), NULL), 0);
    CU_ASSERT_EQUAL(oadr_ven_schedules(v, NULL, 0), 3);
    CU_ASSERT_EQUAL(gw_owner_apply(v, &fixed, 1, gw_owner_choices(&o), NULL), 0); /* again: no change */
    CU_ASSERT_EQUAL(oadr_ven_schedules(v, NULL, 0), 3);
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 102), 0); /* unchanged */

    /* a bad file: the choices in force stay */
    write_text(path, "[oadr]\nunavailable = 2026-12-02T18:00:00Z\n");
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 103), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw_owner_choices(&o));
    CU_ASSERT_EQUAL(gw_owner_choices(&o)->oadr_n_unavailable, 2);

    /* one window taken away: its schedule is cancelled, the config's stays */
    write_text(path, "[oadr]\nunavailable = 2026-12-03T18:00:00Z/PT2H\nregistered = no\n");
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 104), 1);
    CU_ASSERT_EQUAL(gw_owner_choices(&o)->oadr_registered, 0);
    CU_ASSERT_EQUAL(gw_owner_apply(v, &fixed, 1, gw_owner_choices(&o), NULL), 0);
    CU_ASSERT_EQUAL(oadr_ven_schedules(v, ids, OADR_MAX_OPTS), 2);
    CU_ASSERT(strcmp(ids[0], id) == 0 || strcmp(ids[1], id) == 0);
    CU_ASSERT_EQUAL(gw_owner_leave(v, NULL), 0); /* not registered: nothing to cancel */

    /* the file removed: the owner's choices no longer apply */
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(gw_owner_poll(&o, 105), 1);
    CU_ASSERT_PTR_NULL(gw_owner_choices(&o));
    CU_ASSERT_EQUAL(gw_owner_apply(v, &fixed, 1, NULL, NULL), 0);
    CU_ASSERT_EQUAL(oadr_ven_schedules(v, ids, OADR_MAX_OPTS), 1);
    CU_ASSERT_STRING_EQUAL(ids[0], id);

    gw_owner_free(&o);
    oadr_ven_free(v);
    rmdir(dir);
}

/* R1_3100 with a VTN that refuses every oadrRegisterReport: the VEN sends it again at growing
 * intervals (2, 4, 8, 16 s), not every 2 s for ever. */
static void test_register_report_refused_backs_off(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[512];
    static sim_run_t r;
    double at[40];
    size_t n = 0, refusals = 0;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", "R1_3100", NULL, a, &c, err, sizeof(err)), 0);
    for (size_t k = 0; k < c.n_actions; k++) {
        cf_action_t *x = &c.actions[k];
        if (x->kind == CF_ACT_REPLY && x->match && strcmp(x->match, "oadrRegisterReport") == 0 &&
            strstr(x->body, "<ei:responseCode>452</ei:responseCode>")) {
            x->times = 0; /* the refusal, now without its limit */
            refusals++;
        }
    }
    CU_ASSERT_EQUAL_FATAL(refusals, 1);
    c.duration = 30;
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(play(&c, &r, NULL), 0);
    for (size_t k = 0; k < r.n_ex && n < 40; k++)
        if (strcmp(r.ex[k].method, "POST") == 0 && strstr(r.ex[k].path, "EiReport") &&
            strstr(r.ex[k].body, "oadrRegisterReport"))
            at[n++] = r.ex[k].t;
    /* at 0, 2, 6, 14 and 30 s */
    CU_ASSERT(n >= 4 && n <= 5);
    for (size_t k = 2; k < n; k++)
        CU_ASSERT(at[k] - at[k - 1] >= 1.5 * (at[k - 1] - at[k - 2]));
    run_free(&r);
    ge_arena_free(a);
}

/* The owner's actions are what the opt cases test: played without them (a VEN whose owner does
 * nothing, or that ignores the file), each of these cases fails. */
static void test_owner_cases_need_the_owner(void)
{
    static const char *const ids[] = { "E1_1050", "N1_0030", "N0_5030", "P1_2010", "P1_2015", "P1_2020",
                                       "P1_2030", "P1_2040", "P1_2050", "P0_7030", "E0_6050", "E1_1065",
                                       "E0_6065" };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        static sim_run_t r;
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        size_t n = 0, owners = 0;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", ids[i], NULL, a, &c, err, sizeof(err)), 0);
        for (size_t k = 0; k < c.n_actions; k++) {
            if (c.actions[k].kind == CF_ACT_OWNER)
                owners++;
            else
                c.actions[n++] = c.actions[k];
        }
        c.n_actions = n;
        CU_ASSERT(owners > 0);
        memset(&r, 0, sizeof(r));
        CU_ASSERT_EQUAL(play_mode(&c, &r, NULL, ids[i][1] == '0'), 0);
        fprintf(stderr, "  (without its owner actions, expected to fail:)\n");
        CU_ASSERT(judge(ids[i], &c, &r) > 0);
        run_free(&r);
        ge_arena_free(a);
    }
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
        { "oadrCreatedEvent 460 and 452 (E1_1070, E1_1080)", test_created_event_codes },
        { "push while not registered: 463", test_push_unregistered },
        { "signals, targets, ramp-up and recovery", test_signals_targets_ramps },
        { "priceRelative and priceMultiplier against the base price", test_relative_prices },
        { "randomized start and cancellation", test_randomized_start_and_cancel },
        { "saved state across a restart", test_saved_state },
        { "failmalloc", test_failmalloc },
        { "head-end XML signatures (sign-payloads, expect signed)", test_headend_signatures },
        { "a refused oadrRegisterReport is sent again, backing off", test_register_report_refused_backs_off },
        { "the home owner's file", test_owner_file },
        { "the opt cases fail without the owner's actions", test_owner_cases_need_the_owner },
        { NULL, NULL },
    };
    return test_add_suite("oadr", cases);
}
