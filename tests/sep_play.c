/* sep_play.c - plays a conformance case to the 2030.5 engine in simulated time (see sep_play.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#include <jansson.h>

#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "runner.h"
#include "sep_play.h"
#include "site_model.h"
#include "xsd.h"

#define STEP 0.25
#define PV_DOWN (GE_SIM_PV_OFF | GE_SIM_PV_FAULT)
#define BATTERY_DOWN (GE_SIM_BATTERY_OFF | GE_SIM_BATTERY_FAULT)
#define NOTIFY_URI "http://127.0.0.1:9/ntfy"

/* The CSIP-AUS limits, in the order the simulated site applies them: a generation limit on PV plus
 * discharge and a load limit on charging (the battery gives way first, then PV), then the site's export
 * and import limits at the connection point (house load HOUSE, no EV). */
static void ideal_limits(const ge_setpoint_t *sp, double house, double *pv, double *bat)
{
    if ((sp->set & GE_SP_GEN_LIM) && *pv + fmax(*bat, 0) > fmax(sp->gen_limit_w, 0)) {
        double excess = *pv + fmax(*bat, 0) - fmax(sp->gen_limit_w, 0), cut = fmin(excess, fmax(*bat, 0));
        *bat -= cut;
        *pv = fmax(*pv - (excess - cut), 0);
    }
    if ((sp->set & GE_SP_LOAD_LIM) && -*bat > fmax(sp->load_limit_w, 0))
        *bat = -fmax(sp->load_limit_w, 0);
    if ((sp->set & GE_SP_EXPORT_LIM) && house - *pv - *bat < -fmax(sp->export_limit_w, 0)) {
        double excess = -fmax(sp->export_limit_w, 0) - (house - *pv - *bat), cut = fmin(excess, fmax(*bat, 0));
        *bat -= cut;
        *pv = fmax(*pv - (excess - cut), 0);
    }
    if ((sp->set & GE_SP_IMPORT_LIM) && house - *pv - *bat > fmax(sp->import_limit_w, 0))
        *bat += fmin(house - *pv - *bat - fmax(sp->import_limit_w, 0), fmax(-*bat, 0));
}

/* Where limit L has got to at T. */
static double ideal_limit_at(const sep_play_limit_t *l, double t)
{
    if (l->dur_s > 0 && t - l->t0 < l->dur_s)
        return l->from_w + (l->target_w - l->from_w) * (t - l->t0) / l->dur_s;
    return l->target_w;
}

/* As the simulated site: a limit set or changed moves linearly from the site's flow in its direction
 * FLOW (or the old limit in force, if lower) to the new value V, over RAMP_S or at GRAD % of RATING
 * per second (neither: at once); a new ramp alone restarts a ramp under way from where it is; a
 * limit lifted goes at once. */
static void ideal_limit_set(sep_play_limit_t *l, int has, double v, double flow, int ramp_changed, double ramp_s,
                            double grad, double rating, double t)
{
    v = fmax(v, 0);
    if (!has) {
        l->on = 0;
        return;
    }
    double cur = l->on ? ideal_limit_at(l, t) : INFINITY;
    int same = l->on && fabs(v - l->target_w) < 0.5, moving = l->on && l->dur_s > 0 && t - l->t0 < l->dur_s;
    if (same && !(ramp_changed && moving))
        return;
    l->from_w = same ? cur : fmin(cur, fmax(flow, 0));
    l->target_w = v;
    l->t0 = t;
    l->dur_s = grad > 0 ? fabs(v - l->from_w) / (grad / 100.0 * rating) : ramp_s;
    l->on = 1;
}

/* As the simulated site: a device switched off (OFF) or tripped (FAULT) reports so; the stack derives
 * the state of one that runs. */
static uint32_t device_state(uint32_t devices, uint32_t off, uint32_t fault)
{
    if (devices & fault)
        return GE_DEV_REPORTED | GE_DEV_FAULT;
    return devices & off ? GE_DEV_REPORTED : 0;
}

static void ideal_device(sep_play_device_t *d, double t, const sep_control_t *ctl, const sep_price_t *price,
                         ge_der_caps_t *caps, ge_telemetry_t *tel)
{
    const ge_setpoint_t *sp = &ctl->setpoint;
    const double rating = 10000; /* caps->rtg_max_w below */
    int off = ((sp->set & GE_SP_CONNECT) && !sp->connect) || ((sp->set & GE_SP_ENERGIZE) && !sp->energize);
    double bat = !off && (sp->set & GE_SP_BATTERY_W) ? sp->battery_w : 0, house = 1000;
    double pv = d->devices & PV_DOWN ? 0 : 3000;
    /* outside a control of the battery, the gateway's price policy at its defaults (CLI contract):
     * charge at full power below 0.10 per kWh imported, discharge at full power above 0.30 */
    if (!off && !(sp->set & GE_SP_BATTERY_W) && price && price->has_import)
        bat = price->import_kwh < 0.10 ? -5000 : price->import_kwh > 0.30 ? 5000 : 0;
    double ramp_s = sp->set & GE_SP_RAMP ? sp->ramp_s : 0, grad = sp->set & GE_SP_RAMP ? sp->ramp_grad_pct_s : 0;

    int ramp_changed = ramp_s != d->ramp_s || grad != d->grad_pct_s;
    ideal_limit_set(&d->exp_lim, (sp->set & GE_SP_EXPORT_LIM) != 0, sp->export_limit_w, -d->site_w, ramp_changed,
                    ramp_s, grad, rating, t);
    ideal_limit_set(&d->imp_lim, (sp->set & GE_SP_IMPORT_LIM) != 0, sp->import_limit_w, d->site_w, ramp_changed,
                    ramp_s, grad, rating, t);
    /* as the simulated site: a new target or ramp starts a ramp from where the battery is (off the
     * grid it is at 0 W: a reconnection ramps up from there) */
    if (off)
        d->battery_w = 0;
    /* the battery moves over 1 s when no ramp is asked for, as the simulated one */
    double bat_ramp_s = sp->set & GE_SP_RAMP ? ramp_s : 1.0;
    if (bat != d->target_w || bat_ramp_s != d->ramp_s || grad != d->grad_pct_s) {
        d->from_w = d->battery_w;
        d->target_w = bat;
        d->t_change = t;
        d->ramp_s = bat_ramp_s;
        d->grad_pct_s = grad;
    }
    double dur = d->grad_pct_s > 0 ? fabs(d->target_w - d->from_w) / (d->grad_pct_s / 100.0 * rating) : d->ramp_s;
    if (dur > 0 && t - d->t_change < dur)
        bat = d->from_w + (d->target_w - d->from_w) * (t - d->t_change) / dur;
    if (d->devices & BATTERY_DOWN)
        bat = 0;
    d->battery_w = bat;

    memset(caps, 0, sizeof(*caps));
    caps->modes = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_CONNECT | GE_SP_ENERGIZE | GE_SP_EXPORT_LIM |
                  GE_SP_IMPORT_LIM | GE_SP_GEN_LIM | GE_SP_LOAD_LIM;
    caps->rtg_max_w = 5000 + 5000;
    caps->rtg_max_va = 5000 + 5000;
    caps->rtg_max_var = 0.44 * 5000 + 0.44 * 5000;
    caps->rtg_min_pf = 0.9;
    caps->rtg_max_charge_rate_w = 5000;
    caps->rtg_max_discharge_rate_w = 5000;
    caps->rtg_max_wh = 13500;
    caps->pv_peak_w = 5000;
    bat = fmax(-5000, fmin(5000, bat));
    memset(tel, 0, sizeof(*tel));
    if (((sp->set & GE_SP_CONNECT) && !sp->connect) || ((sp->set & GE_SP_ENERGIZE) && !sp->energize)) {
        bat = pv = 0;
        tel->alarms |= GE_ALARM_DISCONNECTED;
    }
    if (sp->set & GE_SP_MAX_LIM) {
        double cap = sp->max_lim_pct / 100.0 * caps->rtg_max_w;
        pv = fmin(pv, cap);
        if (bat > cap - pv)
            bat = cap - pv;
    }
    ge_setpoint_t lim = *sp; /* the limits as far as their ramps have moved them */
    lim.export_limit_w = ideal_limit_at(&d->exp_lim, t);
    lim.import_limit_w = ideal_limit_at(&d->imp_lim, t);
    ideal_limits(&lim, house, &pv, &bat);
    tel->battery_w = bat;
    tel->pv_w = pv;
    tel->soc_pct = 50;
    tel->stored_wh = 6750;
    tel->house_w = house;
    tel->site_w = tel->house_w - pv - bat;
    d->site_w = tel->site_w;
    tel->time = t;
    if (d->alarm && t >= d->alarm_at)
        tel->alarms |= d->alarm;
    tel->alarms |= d->faults;
    tel->pv_state = device_state(d->devices, GE_SIM_PV_OFF, GE_SIM_PV_FAULT);
    tel->battery_state = device_state(d->devices, GE_SIM_BATTERY_OFF, GE_SIM_BATTERY_FAULT);
}



void sep_play_run_free(sep_play_run_t *r)
{
    for (size_t i = 0; i < r->n_ex; i++) {
        free(r->bodies[i]);
        free((char *)r->ex[i].path);
    }
    for (size_t i = 0; i < r->n_samples; i++)
        free((char *)r->samples[i].json);
}

static char *status_json(double server_time, const sep_control_t *ctl, const sep_price_t *price, const ge_telemetry_t *tel)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf),
                                "{\"time\":%.0f,\"site\":{\"power_w\":%.1f},\"pv\":{\"power_w\":%.1f},"
                                "\"battery\":{\"power_w\":%.1f,\"soc_pct\":50},\"ev\":{\"power_w\":0},"
                                "\"active_controls\":[",
                                floor(server_time), tel->site_w, tel->pv_w, tel->battery_w);
    for (size_t i = 0; i < ctl->n_active && n < sizeof(buf) - 200; i++) {
        const char *kind;
        double value;
        int has = sep_describe_control(ctl->active[i].modes, &ctl->setpoint, &kind, &value);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"id\":\"%s\",\"source\":\"sep\",\"kind\":\"%s\"",
                              i ? "," : "", ctl->active[i].mrid, kind);
        n += (size_t)(has ? snprintf(buf + n, sizeof(buf) - n, ",\"value\":%g}", value)
                          : snprintf(buf + n, sizeof(buf) - n, "}"));
    }
    /* the engine's export price and daily charges too, for the tests (the status file has no place
     * for them) */
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "],\"sep_price\":{\"export\":");
    n += (size_t)(price->has_export ? snprintf(buf + n, sizeof(buf) - n, "%.6g", price->export_kwh)
                                    : snprintf(buf + n, sizeof(buf) - n, "null"));
    n += (size_t)(price->has_daily ? snprintf(buf + n, sizeof(buf) - n, ",\"daily\":%.6g}", price->daily_charge)
                                   : snprintf(buf + n, sizeof(buf) - n, ",\"daily\":null}"));
    if (price->has_import)
        snprintf(buf + n, sizeof(buf) - n, ",\"price\":%.6g}", price->import_kwh);
    else
        snprintf(buf + n, sizeof(buf) - n, ",\"price\":null}");
    return strdup(buf);
}

static const char *method_name(const char *m)
{
    static const char *const names[] = { "GET", "PUT", "POST", "DELETE" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(m, names[i]) == 0)
            return names[i];
    return "?";
}

/* The case's sends that fell due by T: a POST to the client's notification address goes to the
 * engine as a Notification; each is recorded as the head-end records its sends ("SEND METHOD", the
 * URL's path, the client's answer as the body). */
/* The engine whose notification address is URL (NULL: none). */
typedef sep_client_t *(*route_fn)(void *ud, const char *url);

static void play_sends(const cf_case_t *c, unsigned *fired, const cf_vars_t *vars, route_fn route, void *ud, double t,
                       double now, sep_play_run_t *r)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        ge_buf_t url, body;
        int status = 0;
        if (a->kind != CF_ACT_SEND || fired[i] || a->at > t)
            continue;
        fired[i] = 1;
        ge_buf_init(&url, NULL, 4096);
        ge_buf_init(&body, NULL, 1 << 20);
        if (cf_send_render(a, vars, &url, &body) == 0 && strcmp(a->method, "POST") == 0) {
            sep_client_t *eng = route(ud, ge_buf_str(&url));
            if (eng)
                status = sep_client_notification(eng, body.data, body.len, now);
        }
        if (r->n_ex < SEP_PLAY_MAX_EX) {
            cf_exchange_t *x = &r->ex[r->n_ex];
            const char *u = ge_buf_str(&url), *p = strstr(u, "://");
            p = p ? strchr(p + 3, '/') : NULL;
            r->bodies[r->n_ex] = strdup("");
            x->t = t;
            x->method = strcmp(a->method, "POST") == 0 ? "SEND POST" : "SEND";
            x->path = strdup(p ? p : u);
            x->body = r->bodies[r->n_ex];
            x->status = status;
            r->n_ex++;
        }
        ge_buf_free(&url);
        ge_buf_free(&body);
    }
}

/* The case's fault-file lines that fell due by T: the device raises the faults they name. */
static void play_fault_files(const cf_case_t *c, unsigned *fired, double t, sep_play_device_t *d)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        if (a->kind != CF_ACT_FAULT_FILE || fired[i] || a->at > t)
            continue;
        fired[i] = 1;
        uint32_t was = d->devices;
        CU_ASSERT_EQUAL(ge_sim_faults_parse(a->body, &d->faults, &d->devices, NULL, 0), 0);
        /* a battery back on moves to its target from 0 W over the ramp, as the simulated one */
        if ((was & BATTERY_DOWN) && !(d->devices & BATTERY_DOWN)) {
            d->from_w = 0;
            d->t_change = SEP_PLAY_T0 + t;
        }
    }
}

/* The case's restart lines that fell due by T: the client is stopped and started again with the
 * same state, as `gridedge sep run --state-dir` keeps it (the control state and the server's clock
 * offset). */
static void play_restarts(const cf_case_t *c, unsigned *fired, double t, const sep_client_config_t *cfg,
                          sep_client_t **eng)
{
    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        ge_buf_t state;
        double offset;
        if (a->kind != CF_ACT_RESTART || fired[i] || a->at > t)
            continue;
        fired[i] = 1;
        ge_buf_init(&state, NULL, 0);
        CU_ASSERT_EQUAL(sep_client_save(*eng, &state), 0);
        offset = sep_client_time_offset(*eng);
        sep_client_free(*eng);
        *eng = NULL;
        CU_ASSERT_EQUAL_FATAL(sep_client_new(eng, cfg), 0);
        sep_client_set_time_offset(*eng, offset);
        CU_ASSERT_EQUAL(sep_client_restore(*eng, state.data, state.len), 0);
        { /* what was restored is saved again as the same text */
            ge_buf_t again;
            ge_buf_init(&again, NULL, 0);
            CU_ASSERT_EQUAL(sep_client_save(*eng, &again), 0);
            CU_ASSERT(again.len == state.len && memcmp(again.data, state.data, state.len) == 0);
            ge_buf_free(&again);
        }
        ge_buf_free(&state);
    }
}

/* ENG's requests at NOW (T into case C) answered as the head-end serves C, each recorded in R. */
static void exchange(const cf_case_t *c, cf_serve_state_t *ss, const cf_vars_t *vars, sep_client_t *eng, double t,
                     double now, sep_play_run_t *r)
{
    sep_request_t req;
    int guard = 0;

    while (sep_client_next_request(eng, now, &req) == 1 && guard++ < 64) {
        cf_answer_t ans;
        ge_buf_t out;
        ge_buf_init(&out, NULL, 1 << 20);
        cf_serve(c, ss, vars, t, req.method, req.path, req.body ? req.body : "", "application/sep+xml", &ans, &out);
        if (r->n_ex < SEP_PLAY_MAX_EX) {
            cf_exchange_t *x = &r->ex[r->n_ex];
            r->bodies[r->n_ex] = strndup(req.body ? req.body : "", req.body_len);
            x->t = t;
            x->method = method_name(req.method);
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
}

/* The head-end's placeholders for a play of C: the client's identity, the case's start. */
static void play_vars(const cf_case_t *c, cf_vars_t *vars, char *sfdi, size_t sfdi_size, cf_captures_t *captures)
{
    snprintf(sfdi, sfdi_size, "%llu", SEP_PLAY_SFDI);
    vars->start = SEP_PLAY_T0 + c->time_offset;
    vars->lfdi = SEP_PLAY_LFDI;
    vars->sfdi = sfdi;
    vars->base = "http://127.0.0.1:1";
    vars->captures = captures;
}

static sep_client_t *route_one(void *ud, const char *url)
{
    return strcmp(url, NOTIFY_URI) == 0 ? ud : NULL;
}

/* Play case C to a fresh engine and DEV (NULL: an ideal device without alarms); fill R.  Returns the
 * engine's stats. */
sep_client_stats_t sep_play(const cf_case_t *c, sep_play_run_t *r, const ge_mem_t *mem, const sep_play_device_t *dev)
{
    sep_play_device_t d = { 0 };
    /* the connection point is PUT only where an EndDevice has a csipaus:ConnectionPointLink */
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = SEP_PLAY_LFDI, .sfdi = SEP_PLAY_SFDI, .pin = 111115,
                                .seed = 7, .min_poll_s = 1, .mem = mem, .connection_point_id = SEP_PLAY_NMI,
                                .notify_uri = NOTIFY_URI };
    sep_client_t *eng = NULL;
    sep_client_stats_t st;
    unsigned fired[CF_CASE_MAX_ACTIONS] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    char sfdi[32];
    cf_vars_t vars = { 0 };
    cf_captures_t captures = { 0 };

    memset(&st, 0, sizeof(st));
    play_vars(c, &vars, sfdi, sizeof(sfdi), &captures);
    cfg.demand_response = dev ? dev->demand_response : 0;
    if (sep_client_new(&eng, &cfg) < 0)
        return st;
    if (dev)
        d = *dev;
    for (double t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = SEP_PLAY_T0 + t;
        sep_control_t ctl;
        sep_price_t price;
        ge_der_caps_t caps;
        ge_telemetry_t tel;

        vars.now = now + c->time_offset;
        play_sends(c, fired, &vars, route_one, eng, t, now, r);
        play_fault_files(c, fired, t, &d);
        play_restarts(c, fired, t, &cfg, &eng);
        exchange(c, &ss, &vars, eng, t, now, r);
        sep_client_control(eng, now, &ctl);
        sep_client_price(eng, now, &price);
        ideal_device(&d, now, &ctl, &price, &caps, &tel);
        sep_client_set_device(eng, &caps, &tel);
        if (r->n_samples < SEP_PLAY_MAX_SAMPLES) {
            r->samples[r->n_samples].t = t + SITE_MODEL_LAG_S;
            r->samples[r->n_samples].json = status_json(sep_client_server_time(eng, now), &ctl, &price, &tel);
            r->n_samples++;
        }
    }
    sep_client_stats(eng, &st);
    sep_client_free(eng);
    cf_captures_clear(&captures);
    return st;
}

/* ---- an aggregator ------------------------------------------------------------------------------- */

#define AGG_MAX 8

typedef struct agg_dev {
    sep_end_device_t ed;
    sep_client_t *eng;
    sep_play_device_t d;
    char uri[64];         /* its notification address */
} agg_dev_t;

typedef struct agg_play {
    agg_dev_t dev[AGG_MAX];
    size_t n;
    unsigned next_uri;
    const sep_play_sites_t *sites;
} agg_play_t;

static sep_client_t *route_agg(void *ud, const char *url)
{
    agg_play_t *a = ud;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(url, a->dev[i].uri) == 0)
            return a->dev[i].eng;
    return NULL;
}

/* The EndDevices LIST (N): keep the engines of those still listed, free the others, make the new
 * ones (as gateway/sep_agg.c does: the list's order, an engine acting for each). */
static void agg_sync(agg_play_t *a, const sep_end_device_t *list, size_t n)
{
    agg_play_t old = *a;

    a->n = 0;
    for (size_t i = 0; i < n && a->n < AGG_MAX; i++) {
        agg_dev_t *d = &a->dev[a->n++];
        size_t k;
        for (k = 0; k < old.n && (!old.dev[k].eng || strcmp(old.dev[k].ed.lfdi, list[i].lfdi) != 0); k++)
            ;
        if (k < old.n) {
            *d = old.dev[k];
            old.dev[k].eng = NULL;
            continue;
        }
        memset(d, 0, sizeof(*d));
        d->ed = list[i];
        snprintf(d->uri, sizeof(d->uri), "http://127.0.0.1:%u/ntfy", 9000 + ++a->next_uri);
        sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = d->ed.lfdi, .sfdi = d->ed.sfdi, .acts_for = 1,
                                    .seed = 7 ^ (d->ed.sfdi * 0x9E3779B97F4A7C15ull), .min_poll_s = 1,
                                    .notify_uri = d->uri };
        for (size_t s = 0; a->sites && s < a->sites->n; s++) /* one of its own sites: its connection point */
            if (strcmp(a->sites->reg[s].lfdi, d->ed.lfdi) == 0 && a->sites->nmi)
                cfg.connection_point_id = a->sites->nmi[s];
        CU_ASSERT_EQUAL_FATAL(sep_client_new(&d->eng, &cfg), 0);
    }
    for (size_t k = 0; k < old.n; k++)
        sep_client_free(old.dev[k].eng);
}

/* The status JSON of `sep run --aggregator`: the devices summed, each under "devices". */
static char *agg_status(json_t *devices, double server_time)
{
    json_t *o = json_object(), *controls = json_array();
    double sums[3] = { 0, 0, 0 };
    static const char *const keys[] = { "site", "pv", "battery" };
    size_t i;
    json_t *dj;
    char *text;

    json_array_foreach(devices, i, dj) {
        size_t k;
        json_t *cj;
        for (int q = 0; q < 3; q++)
            sums[q] += json_real_value(json_object_get(json_object_get(dj, keys[q]), "power_w"));
        json_array_foreach(json_object_get(dj, "active_controls"), k, cj) {
            size_t m;
            json_t *have;
            const char *id = json_string_value(json_object_get(cj, "id"));
            json_array_foreach(controls, m, have)
                if (strcmp(json_string_value(json_object_get(have, "id")), id) == 0)
                    break;
            if (m == json_array_size(controls))
                json_array_append(controls, cj);
        }
    }
    json_object_set_new(o, "time", json_integer((json_int_t)floor(server_time)));
    for (int q = 0; q < 3; q++)
        json_object_set_new(o, keys[q], json_pack("{s:f}", "power_w", sums[q]));
    json_object_set_new(o, "active_controls", controls);
    json_object_set_new(o, "price", json_null());
    json_object_set(o, "devices", devices);
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

void sep_play_agg(const cf_case_t *c, sep_play_run_t *r, const sep_play_sites_t *sites)
{
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = SEP_PLAY_LFDI, .sfdi = SEP_PLAY_SFDI, .aggregator = 1,
                                .seed = 7, .min_poll_s = 1, .agg_register = sites ? sites->reg : NULL,
                                .n_agg_register = sites ? sites->n : 0 };
    sep_client_t *list = NULL;
    static agg_play_t a;
    unsigned fired[CF_CASE_MAX_ACTIONS] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    unsigned long gen = 0;
    char sfdi[32];
    cf_vars_t vars = { 0 };
    cf_captures_t captures = { 0 };

    memset(&a, 0, sizeof(a));
    a.sites = sites;
    play_vars(c, &vars, sfdi, sizeof(sfdi), &captures);
    CU_ASSERT_EQUAL_FATAL(sep_client_new(&list, &cfg), 0);
    for (double t = 0; t <= c->duration + 1e-9; t += STEP) {
        double now = SEP_PLAY_T0 + t;
        sep_end_device_t eds[SEP_MAX_END_DEVICES];
        unsigned long g;
        size_t n;
        json_t *devices = json_array();

        vars.now = now + c->time_offset;
        play_sends(c, fired, &vars, route_agg, &a, t, now, r);
        exchange(c, &ss, &vars, list, t, now, r);
        n = sep_client_end_devices(list, eds, SEP_MAX_END_DEVICES, &g);
        if (g != gen) {
            agg_sync(&a, eds, n);
            gen = g;
        }
        for (size_t i = 0; i < a.n; i++) {
            agg_dev_t *d = &a.dev[i];
            sep_control_t ctl;
            sep_price_t price;
            ge_der_caps_t caps;
            ge_telemetry_t tel;
            char *text;
            json_t *dj;

            exchange(c, &ss, &vars, d->eng, t, now, r);
            sep_client_control(d->eng, now, &ctl);
            sep_client_price(d->eng, now, &price);
            ideal_device(&d->d, now, &ctl, &price, &caps, &tel);
            sep_client_set_device(d->eng, &caps, &tel);
            text = status_json(sep_client_server_time(d->eng, now), &ctl, &price, &tel);
            dj = json_loads(text, 0, NULL);
            free(text);
            CU_ASSERT_PTR_NOT_NULL_FATAL(dj);
            json_object_set_new(dj, "lfdi", json_string(d->ed.lfdi));
            json_object_set_new(dj, "edev", json_string(d->ed.href));
            json_array_append_new(devices, dj);
        }
        if (r->n_samples < SEP_PLAY_MAX_SAMPLES) {
            r->samples[r->n_samples].t = t + SITE_MODEL_LAG_S;
            r->samples[r->n_samples].json = agg_status(devices, sep_client_server_time(list, now));
            r->n_samples++;
        }
        json_decref(devices);
    }
    agg_sync(&a, NULL, 0);
    sep_client_free(list);
    cf_captures_clear(&captures);
}

/* Judge every expectation; print the failures when ID is not NULL.  Returns the number failed. */
int sep_play_judge(const char *id, const cf_case_t *c, const sep_play_run_t *r)
{
    cf_observed_t obs = { .ex = r->ex, .n_ex = r->n_ex, .samples = r->samples, .n_samples = r->n_samples,
                          .end = c->duration, .start = SEP_PLAY_T0 + c->time_offset };
    cf_vars_t vars = { 0 };
    char sfdi[32];
    int failed = 0;

    snprintf(sfdi, sizeof(sfdi), "%llu", SEP_PLAY_SFDI);
    vars.lfdi = SEP_PLAY_LFDI;
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
            if (id)
                fprintf(stderr, "  %s line %u: %s\n", id, e.line, detail);
            failed++;
        }
        for (unsigned k = 0; k < e.n_has; k++)
            ge_buf_free(&has[k]);
    }
    {
        char detail[400];
        if (!cf_wire_check("csip", &obs, NULL, 0, detail, sizeof(detail))) { /* what the head-end checks */
            if (id)
                fprintf(stderr, "  %s: %s\n", id, detail);
            failed++;
        }
    }
    return failed;
}

int sep_play_failures(const cf_case_t *c, const sep_play_run_t *r)
{
    return sep_play_judge(NULL, c, r);
}

size_t sep_play_suite(const char *suite, const char *const *ids, size_t n, const char *xsd_file)
{
    return sep_play_suite_dev(suite, ids, n, xsd_file, NULL);
}

/* Play the cases IDS of SUITE to the engine (AGG: as an aggregator, else a DER client with DEV), as
 * sep_play_suite() says. */
static size_t play_suite(const char *suite, const char *const *ids, size_t n, const char *xsd_file,
                         const sep_play_device_t *dev, int agg, const sep_play_sites_t *sites)
{
    xsd_t *xsd = xsd_dir() ? xsd_load(xsd_file) : NULL;
    size_t validated = 0;
    if (xsd_dir())
        CU_ASSERT_PTR_NOT_NULL_FATAL(xsd);
    for (size_t i = 0; i < n; i++) {
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        static sep_play_run_t r;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load(suite, ids[i], NULL, a, &c, err, sizeof(err));
        if (rc)
            fprintf(stderr, "%s: %s\n", ids[i], err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        memset(&r, 0, sizeof(r));
        if (agg) {
            sep_play_agg(&c, &r, sites);
        } else {
            sep_client_stats_t st = sep_play(&c, &r, NULL, dev);
            CU_ASSERT_TRUE(st.time_known);
        }
        int failed = sep_play_judge(ids[i], &c, &r);
        if (failed) {
            fprintf(stderr, "%s: %d expectation(s) failed; the client sent:\n", ids[i], failed);
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
                fprintf(stderr, "%s: %s %s sent an invalid body: %s\n%s\n", ids[i], r.ex[k].method,
                        r.ex[k].path, why, r.ex[k].body);
            CU_ASSERT_TRUE(ok);
            validated += ok;
        }
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
    xsd_free(xsd);
    return validated;
}

size_t sep_play_suite_dev(const char *suite, const char *const *ids, size_t n, const char *xsd_file,
                          const sep_play_device_t *dev)
{
    return play_suite(suite, ids, n, xsd_file, dev, 0, NULL);
}

size_t sep_play_suite_agg(const char *suite, const char *const *ids, size_t n, const char *xsd_file,
                          const sep_play_sites_t *sites)
{
    return play_suite(suite, ids, n, xsd_file, NULL, 1, sites);
}

void sep_play_suite_fails(const char *suite, const char *const *ids, size_t n)
{
    static sep_play_run_t r;

    for (size_t i = 0; i < n; i++) {
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL_FATAL(cf_case_load(suite, ids[i], NULL, a, &c, err, sizeof(err)), 0);
        memset(&r, 0, sizeof(r));
        sep_play(&c, &r, NULL, NULL);
        if (sep_play_failures(&c, &r) == 0)
            fprintf(stderr, "%s: a DER client passes it\n", ids[i]);
        CU_ASSERT(sep_play_failures(&c, &r) > 0);
        sep_play_run_free(&r);
        ge_arena_free(a);
    }
}
