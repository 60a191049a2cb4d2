/* oadr3_link.c - the OpenADR 3.0 VEN engine on the event loop (see oadr3_link.h).
 *
 * Requests go out through the project's HTTP client (gridedge/http.h), one keep-alive connection
 * to the VTN, over TLS with the "modern" profile for an https:// VTN; the engine's bearer token
 * rides on each request as an extra header field.  The engine keeps one request in flight, so
 * one body buffer is enough. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/tls.h>

#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"
#include "gateway/url.h"

#define BODY_CAP (4u << 20)
#define MEDIA_JSON "application/json"
#define NOTIFY_PATH "/oadr3/notify"
#define DEFAULT_BASE "/openadr3"

static const char *const resource_names[] = { "pv", "battery", "ev" };

struct gw_oadr3_link {
    struct event_base *base;
    struct event *kick;
    ge_tls_ctx_t *tls;            /* https: the "modern" profile's client context, or NULL */
    ge_http_client_t *http;
    int busy;                     /* a request is in flight */
    uint32_t req_id;              /* its engine id */
    ge_buf_t body;                /* its answer so far */
    int fatal;                    /* the VTN's certificate was rejected */
    char fatal_msg[256];
    ge_http_server_t *hook;       /* the subscription webhook, or NULL */
    oadr3_ven_t *eng;
    const ge_log_t *log;
    char callback_url[128];
    char callback_auth[80];       /* "Bearer " + the token the VTN presents to the webhook */
};

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_oadr3_link_pump(arg, gw_now());
}

static int on_body(void *ud, const void *data, size_t len)
{
    gw_oadr3_link_t *l = ud;

    return ge_buf_append(&l->body, data, len);
}

static void on_done(void *ud, const ge_http_response_t *resp)
{
    gw_oadr3_link_t *l = ud;
    uint32_t id = l->req_id;
    int status = resp->err ? 0 : resp->status;

    l->busy = 0;
    l->req_id = 0;
    if (resp->err && l->kick) /* (no kick: the link is being freed and the request cut short) */
        ge_log(l->log, GE_LOG_WARN, "oadr3", "no answer from the VTN: %s",
               resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    /* a VTN whose certificate does not verify is not our VTN: stop rather than retry */
    if (resp->err == GE_ERR_CERT && !l->fatal) {
        l->fatal = 1;
        snprintf(l->fatal_msg, sizeof(l->fatal_msg), "the VTN's certificate was rejected: %s",
                 resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    }
    oadr3_ven_response(l->eng, id, status, status ? resp->location : NULL, status ? l->body.data : NULL,
                       status ? l->body.len : 0, gw_now());
    ge_buf_clear(&l->body);
    if (l->kick)
        event_active(l->kick, 0, 0);
}

static int send_request(gw_oadr3_link_t *l, const oadr3_request_t *r)
{
    ge_http_field_t auth = { "Authorization", r->authorization };
    ge_http_request_t rq;
    int rc;

    memset(&rq, 0, sizeof(rq));
    rq.method = r->method;
    rq.path = r->path;
    rq.accept = MEDIA_JSON;
    rq.content_type = r->content_type;
    rq.body = r->body_len ? r->body : NULL;
    rq.body_len = r->body_len;
    rq.on_body = on_body;
    rq.on_done = on_done;
    rq.ud = l;
    if (r->authorization) {
        rq.fields = &auth;
        rq.nfields = 1;
    }
    if ((rc = ge_http_client_request(l->http, &rq)) < 0)
        return rc;
    l->busy = 1;
    l->req_id = r->id;
    return 0;
}

/* The webhook: the VTN POSTs notifications of the subscribed objects here. */
static void on_hook(void *ud, ge_http_exchange_t *ex)
{
    gw_oadr3_link_t *l = ud;
    const char *auth = ge_http_header(ex, "Authorization");
    size_t len = 0;
    const void *body = ge_http_body(ex, &len);
    int status;

    if (strcmp(ge_http_method(ex), "POST") != 0) {
        ge_http_reply(ex, 405, NULL, NULL, 0);
        return;
    }
    if (strncmp(ge_http_path(ex), NOTIFY_PATH, strlen(NOTIFY_PATH)) != 0) {
        ge_http_reply(ex, 404, NULL, NULL, 0);
        return;
    }
    if (!auth || strcmp(auth, l->callback_auth) != 0) {
        ge_log(l->log, GE_LOG_WARN, "oadr3", "webhook: a notification without our bearer token; refused (401)");
        ge_http_reply(ex, 401, NULL, NULL, 0);
        return;
    }
    status = oadr3_ven_notification(l->eng, body, len, gw_now());
    ge_http_reply(ex, status, NULL, NULL, 0);
    event_active(l->kick, 0, 0);
}

static int start_webhook(gw_oadr3_link_t *l, char *token, size_t toklen)
{
    ge_http_server_opts_t so;
    unsigned char rnd[16];
    int rc;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return GE_ERR_INTERNAL;
    for (size_t i = 0; i < sizeof(rnd) && 2 * i + 2 < toklen; i++)
        snprintf(token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(l->callback_auth, sizeof(l->callback_auth), "Bearer %s", token);
    memset(&so, 0, sizeof(so));
    so.address = "127.0.0.1";
    so.handler = on_hook;
    so.ud = l;
    so.log = l->log;
    so.max_body_bytes = 1u << 20;
    if ((rc = ge_http_server_new(&l->hook, l->base, &so)) < 0)
        return rc;
    snprintf(l->callback_url, sizeof(l->callback_url), "http://127.0.0.1:%u%s", (unsigned)ge_http_server_port(l->hook),
             NOTIFY_PATH);
    return 0;
}

/* https: a client context of the "modern" profile (OpenADR 3.0 / web TLS).  The VTN is verified
 * against CA, or the system's trust store without one; our certificate is optional. */
static int make_tls(gw_oadr3_link_t *l, const gw_oadr3_opts_t *o, char *err, size_t errlen)
{
    ge_tls_opts_t to;
    int rc;

    memset(&to, 0, sizeof(to));
    to.ca_file = o->ca_file;
    to.cert_file = o->cert_file;
    to.key_file = o->key_file;
    to.log = o->log;
    rc = ge_tls_ctx_new(&l->tls, ge_tls_profile_find("modern"), GE_TLS_CLIENT, &to);
    if (rc < 0)
        snprintf(err, errlen, "TLS (modern profile) with CA %s%s%s: %s", o->ca_file ? o->ca_file : "(system trust)",
                 o->cert_file ? ", certificate " : "", o->cert_file ? o->cert_file : "", ge_strerror(rc));
    return rc;
}

int gw_oadr3_link_new(gw_oadr3_link_t **out, struct event_base *base, const gw_oadr3_opts_t *o, char *err,
                      size_t errlen)
{
    gw_oadr3_link_t *l;
    char token[40] = "";
    const char *path;
    ge_http_client_opts_t hopts;
    oadr3_ven_config_t cfg;
    gw_url_t vtn;
    int https, rc;

    *out = NULL;
    if (gw_url_parse(o->url, &vtn) < 0) {
        snprintf(err, errlen, "--vtn must be an http:// or https:// URL of the VTN's OpenADR 3.0 REST base");
        return GE_ERR_INVALID;
    }
    https = vtn.https;
    path = vtn.path[0] && vtn.path[1] ? vtn.path : DEFAULT_BASE; /* the client takes the authority */
    if (strlen(path) >= OADR3_PATH_MAX / 2) {
        snprintf(err, errlen, "the VTN's base path is too long (at most %d characters)", OADR3_PATH_MAX / 2 - 1);
        return GE_ERR_INVALID;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    l->base = base;
    l->log = o->log;
    ge_buf_init(&l->body, NULL, BODY_CAP);
    l->kick = event_new(base, -1, 0, on_kick, l);
    if (!l->kick) {
        snprintf(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    if (https && (rc = make_tls(l, o, err, errlen)) < 0)
        goto fail;
    memset(&hopts, 0, sizeof(hopts));
    hopts.url = o->url;
    hopts.tls = l->tls;
    hopts.connect_timeout_ms = 5000;
    hopts.read_timeout_ms = 15000;
    hopts.total_timeout_ms = 30000;
    hopts.max_body_bytes = BODY_CAP;
    hopts.log = o->log;
    if ((rc = ge_http_client_new(&l->http, base, &hopts)) < 0) {
        snprintf(err, errlen, "cannot set up the HTTP client for %s: %s", o->url, ge_strerror(rc));
        goto fail;
    }
    if (o->webhook && (rc = start_webhook(l, token, sizeof(token))) < 0) {
        snprintf(err, errlen, "cannot start the subscription webhook on 127.0.0.1: %s", ge_strerror(rc));
        goto fail;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = path;
    cfg.ven_name = o->ven_name;
    cfg.token = o->token;
    cfg.client_id = o->client_id;
    cfg.client_secret = o->client_secret;
    cfg.callback_url = l->hook ? l->callback_url : NULL;
    cfg.callback_token = l->hook ? token : NULL;
    cfg.resources = resource_names;
    cfg.n_resources = sizeof(resource_names) / sizeof(resource_names[0]);
    cfg.poll_s = o->poll_s;
    cfg.seed = o->seed;
    cfg.log = o->log;
    if ((rc = oadr3_ven_new(&l->eng, &cfg)) < 0) {
        snprintf(err, errlen, "OpenADR 3.0 engine: %s", ge_strerror(rc));
        goto fail;
    }
    ge_log(o->log, GE_LOG_INFO, "oadr3", "VEN %s, VTN %s%s%s%s", o->ven_name, o->url, https ? " (TLS, modern)" : "",
           l->hook ? ", webhook " : "", l->hook ? l->callback_url : "");
    *out = l;
    return 0;
fail:
    gw_oadr3_link_free(l);
    return rc;
}

void gw_oadr3_link_free(gw_oadr3_link_t *l)
{
    if (!l)
        return;
    /* a request in flight ends now and its answer (none) still reaches the engine: free it last */
    if (l->kick)
        event_free(l->kick);
    l->kick = NULL;
    ge_http_client_free(l->http);
    ge_tls_ctx_free(l->tls);
    ge_http_server_free(l->hook);
    oadr3_ven_free(l->eng);
    ge_buf_free(&l->body);
    free(l);
}

void gw_oadr3_link_pump(gw_oadr3_link_t *l, double now)
{
    oadr3_request_t r;
    int rc;

    if (l->busy)
        return;
    if (oadr3_ven_next_request(l->eng, now, &r) != 1)
        return;
    if ((rc = send_request(l, &r)) < 0) {
        ge_log(l->log, GE_LOG_WARN, "oadr3", "%s %s: cannot send: %s", r.method, r.path, ge_strerror(rc));
        oadr3_ven_response(l->eng, r.id, 0, NULL, NULL, 0, now);
    }
}

const char *gw_oadr3_link_fatal(const gw_oadr3_link_t *l)
{
    return l->fatal ? l->fatal_msg : NULL;
}

void gw_oadr3_link_telemetry(gw_oadr3_link_t *l, const gw_status_t *st)
{
    oadr3_telemetry_t t;

    t.site_w = st->site_w;
    t.pv_w = st->pv_w;
    t.battery_w = st->battery_w;
    t.soc_pct = st->soc_pct;
    t.ev_w = st->ev_w;
    oadr3_ven_set_telemetry(l->eng, &t);
}

int gw_oadr3_link_control(gw_oadr3_link_t *l, double now, int *simple_level, int *has_price, double *price,
                          ge_setpoint_t *sp, gw_status_control_t *controls, size_t max, size_t *n)
{
    oadr3_control_t ctl;
    int rc = oadr3_ven_control(l->eng, now, &ctl);

    *n = 0;
    *simple_level = -1;
    *has_price = 0;
    memset(sp, 0, sizeof(*sp));
    if (rc < 0)
        return rc;
    if (ctl.has_level)
        *simple_level = (int)lround(ctl.level);
    if (ctl.has_price) {
        *has_price = 1;
        *price = ctl.price;
    }
    if (ctl.has_import_limit) {
        sp->set |= GE_SP_IMPORT_LIM;
        sp->import_limit_w = ctl.import_limit_w;
    }
    if (ctl.has_export_limit) {
        sp->set |= GE_SP_EXPORT_LIM;
        sp->export_limit_w = ctl.export_limit_w;
    }
    for (size_t i = 0; i < ctl.n_active && *n < max; i++) {
        const oadr3_active_event_t *a = &ctl.active[i];
        gw_status_control_t *c = &controls[(*n)++];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", a->id);
        snprintf(c->kind, sizeof(c->kind), "%s", a->kind);
        c->source = GW_SOURCE_OADR;
        c->has_value = 1;
        c->value = a->value;
        c->start = a->start;
        c->end = a->end == INT64_MAX ? 0 : a->end;
    }
    return 0;
}

int64_t gw_oadr3_link_server_time(const gw_oadr3_link_t *l, double now)
{
    return (int64_t)floor(oadr3_ven_server_time(l->eng, now));
}

void gw_oadr3_link_shutdown(gw_oadr3_link_t *l)
{
    oadr3_ven_shutdown(l->eng);
    event_active(l->kick, 0, 0);
}

int gw_oadr3_link_done(const gw_oadr3_link_t *l)
{
    return !l->busy && oadr3_ven_done(l->eng);
}

const oadr3_ven_t *gw_oadr3_link_engine(const gw_oadr3_link_t *l)
{
    return l->eng;
}
