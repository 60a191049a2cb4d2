/* oadr3_link.c - the OpenADR 3.0 VEN engine on the event loop (see oadr3_link.h).
 *
 * Requests go out through libevent's HTTP client directly: every 3.0 request carries an
 * "Authorization: Bearer" header, which ge_http_request_t has no field for yet.  The engine keeps
 * one request in flight, so one connection and one pending slot are enough. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>

#include <gridedge/error.h>
#include <gridedge/http.h>

#include "gateway/daemon.h"
#include "gateway/oadr3_link.h"

#define BODY_CAP (4u << 20)
#define MEDIA_JSON "application/json"
#define NOTIFY_PATH "/oadr3/notify"

static const char *const resource_names[] = { "pv", "battery", "ev" };

struct gw_oadr3_link {
    struct event_base *base;
    struct event *kick;
    struct evhttp_connection *conn;
    struct evhttp_request *req;   /* the one in flight, or NULL */
    uint32_t req_id;
    oadr3_request_t cur;          /* what it carries (the engine's strings, valid until the answer) */
    int retried;                  /* it was sent a second time already */
    ge_http_server_t *hook;       /* the subscription webhook, or NULL */
    oadr3_ven_t *eng;
    const ge_log_t *log;
    char host[256];
    unsigned short port;
    char callback_url[128];
    char callback_auth[80];       /* "Bearer " + the token the VTN presents to the webhook */
};

/* Split "http://host[:port]/path" into host, port and path. */
static int split_url(const char *url, char *host, size_t hostlen, unsigned short *port, char *path, size_t pathlen)
{
    const char *h, *p, *colon;
    size_t n;
    long pt = 80;

    if (strncmp(url, "http://", 7) != 0)
        return GE_ERR_INVALID;
    h = url + 7;
    p = strchr(h, '/');
    n = p ? (size_t)(p - h) : strlen(h);
    colon = memchr(h, ':', n);
    if (colon) {
        char *end;
        pt = strtol(colon + 1, &end, 10);
        if (end != h + n || pt < 1 || pt > 65535)
            return GE_ERR_INVALID;
        n = (size_t)(colon - h);
    }
    if (n == 0 || n >= hostlen || (p && strlen(p) >= pathlen))
        return GE_ERR_INVALID;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (unsigned short)pt;
    snprintf(path, pathlen, "%s", p && p[1] ? p : "/openadr3");
    return 0;
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_oadr3_link_pump(arg, gw_now());
}

static int send_request(gw_oadr3_link_t *l, const oadr3_request_t *r);

static void on_done(struct evhttp_request *req, void *arg)
{
    gw_oadr3_link_t *l = arg;
    struct evbuffer *in;
    const char *location = NULL;
    unsigned char *body = NULL;
    size_t len = 0;
    int status = 0;
    uint32_t id = l->req_id;

    l->req = NULL;
    l->req_id = 0;
    if (req) {
        status = evhttp_request_get_response_code(req);
        location = evhttp_find_header(evhttp_request_get_input_headers(req), "Location");
        in = evhttp_request_get_input_buffer(req);
        len = evbuffer_get_length(in);
        if (len > BODY_CAP) {
            ge_log(l->log, GE_LOG_WARN, "oadr3", "answer of %zu bytes is over the %u byte cap; dropped", len, BODY_CAP);
            len = 0;
            status = 0;
        }
        body = len ? evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
    }
    if (status == 0 && !l->retried) {
        /* most often a kept-alive connection the VTN closed as we reused it: once more, afresh */
        l->retried = 1;
        if (send_request(l, &l->cur) == 0)
            return;
    }
    if (status == 0)
        ge_log(l->log, GE_LOG_WARN, "oadr3", "no answer from the VTN (connection failed or timed out)");
    oadr3_ven_response(l->eng, id, status, location, body, len, gw_now());
    event_active(l->kick, 0, 0);
}

static int send_request(gw_oadr3_link_t *l, const oadr3_request_t *r)
{
    struct evhttp_request *req = evhttp_request_new(on_done, l);
    struct evkeyvalq *h;
    char hostport[300];
    enum evhttp_cmd_type cmd = strcmp(r->method, "POST") == 0   ? EVHTTP_REQ_POST
                               : strcmp(r->method, "PUT") == 0    ? EVHTTP_REQ_PUT
                               : strcmp(r->method, "DELETE") == 0 ? EVHTTP_REQ_DELETE
                                                                  : EVHTTP_REQ_GET;

    if (!req)
        return GE_ERR_NOMEM;
    h = evhttp_request_get_output_headers(req);
    snprintf(hostport, sizeof(hostport), "%s:%u", l->host, (unsigned)l->port);
    if (evhttp_add_header(h, "Host", hostport) != 0 || evhttp_add_header(h, "Accept", MEDIA_JSON) != 0 ||
        (r->content_type && evhttp_add_header(h, "Content-Type", r->content_type) != 0) ||
        (r->authorization && evhttp_add_header(h, "Authorization", r->authorization) != 0) ||
        (r->body_len && evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len) != 0)) {
        evhttp_request_free(req);
        return GE_ERR_INVALID;
    }
    l->req = req;
    l->req_id = r->id;
    if (evhttp_make_request(l->conn, req, cmd, r->path) != 0) {
        l->req = NULL;
        l->req_id = 0;
        return GE_ERR_IO;
    }
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

int gw_oadr3_link_new(gw_oadr3_link_t **out, struct event_base *base, const gw_oadr3_opts_t *o, char *err,
                      size_t errlen)
{
    gw_oadr3_link_t *l;
    char path[OADR3_PATH_MAX / 2], token[40] = "";
    oadr3_ven_config_t cfg;
    int rc;

    *out = NULL;
    l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    l->base = base;
    l->log = o->log;
    if (!o->url || split_url(o->url, l->host, sizeof(l->host), &l->port, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "--vtn must be an http:// URL of the VTN's OpenADR 3.0 REST base (TLS comes later)");
        rc = GE_ERR_INVALID;
        goto fail;
    }
    l->kick = event_new(base, -1, 0, on_kick, l);
    l->conn = evhttp_connection_base_new(base, NULL, l->host, l->port);
    if (!l->kick || !l->conn) {
        snprintf(err, errlen, "cannot set up the HTTP client for %s", o->url);
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    evhttp_connection_set_timeout(l->conn, 15);
    evhttp_connection_set_retries(l->conn, 0);
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
    ge_log(o->log, GE_LOG_INFO, "oadr3", "VEN %s, VTN http://%s:%u%s%s%s", o->ven_name, l->host, (unsigned)l->port,
           path, l->hook ? ", webhook " : "", l->hook ? l->callback_url : "");
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
    /* freeing the connection frees a request in flight without calling on_done */
    if (l->conn)
        evhttp_connection_free(l->conn);
    if (l->kick)
        event_free(l->kick);
    ge_http_server_free(l->hook);
    oadr3_ven_free(l->eng);
    free(l);
}

void gw_oadr3_link_pump(gw_oadr3_link_t *l, double now)
{
    oadr3_request_t r;

    if (l->req)
        return;
    if (oadr3_ven_next_request(l->eng, now, &r) != 1)
        return;
    l->cur = r;
    l->retried = 0;
    if (send_request(l, &l->cur) < 0) {
        ge_log(l->log, GE_LOG_WARN, "oadr3", "%s %s: cannot send", r.method, r.path);
        oadr3_ven_response(l->eng, r.id, 0, NULL, NULL, 0, now);
    }
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
    return !l->req && oadr3_ven_done(l->eng);
}

const oadr3_ven_t *gw_oadr3_link_engine(const gw_oadr3_link_t *l)
{
    return l->eng;
}
