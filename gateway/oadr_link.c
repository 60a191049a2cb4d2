/* oadr_link.c - the OpenADR 2.0b VEN engine on the event loop: simple HTTP pull to the VTN, the
 * outbox for oadrCreatedEvent, the registration kept in the store (see oadr_link.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>

#include "gateway/daemon.h"
#include "gateway/oadr_link.h"

#define BODY_CAP (4u << 20)
#define MEDIA_XML "application/xml" /* OpenADR 2.0b Profile Specification §9.1: simple HTTP */

typedef struct pending {
    gw_oadr_link_t *link;
    uint32_t id;           /* engine request id, or 0 for an outbox message */
    int64_t outbox_id;
    ge_buf_t body;
} pending_t;

struct gw_oadr_link {
    struct event_base *base;
    struct event *kick;    /* pump again as soon as an answer came */
    ge_http_client_t *http;
    oadr_ven_t *eng;
    gw_store_t *store;
    const ge_log_t *log;
    double now;
    int outbox_busy;
    char stored_ven_id[OADR_ID_MAX], stored_reg_id[OADR_ID_MAX];
};

/* Split URL into "http://host:port" and the path. */
static int split_url(const char *url, char *base, size_t base_len, char *path, size_t path_len)
{
    const char *p;
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return GE_ERR_INVALID;
    p = strchr(url + 7, '/');
    n = p ? (size_t)(p - url) : strlen(url);
    if (n >= base_len || n <= 7 || (p && strlen(p) >= path_len))
        return GE_ERR_INVALID;
    memcpy(base, url, n);
    base[n] = '\0';
    snprintf(path, path_len, "%s", p && p[1] ? p : "/OpenADR2/Simple/2.0b");
    return 0;
}

static int on_body(void *ud, const void *data, size_t len)
{
    pending_t *p = ud;
    return ge_buf_append(&p->body, data, len);
}

static void pending_free(pending_t *p)
{
    ge_buf_free(&p->body);
    free(p);
}

static void on_engine_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_oadr_link_t *l = p->link;

    if (resp->err)
        ge_log(l->log, GE_LOG_WARN, "oadr", "request failed: %s", resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    if (l->eng) {
        oadr_ven_response(l->eng, p->id, resp->err ? 0 : resp->status, p->body.data, p->body.len, gw_now());
        if (l->kick)
            event_active(l->kick, 0, 0);
    }
    pending_free(p);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_oadr_link_pump(arg, gw_now());
}

static void on_outbox_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_oadr_link_t *l = p->link;

    l->outbox_busy = 0;
    if (l->store) {
        if (!resp->err && resp->status >= 200 && resp->status < 300) {
            gw_store_outbox_ack(l->store, p->outbox_id);
        } else {
            int64_t next = 0;
            gw_store_outbox_fail(l->store, p->outbox_id, (int64_t)l->now, &next);
            ge_log(l->log, GE_LOG_WARN, "oadr", "oadrCreatedEvent not delivered (%s); retry at %lld",
                   resp->err ? ge_strerror(resp->err) : "HTTP error", (long long)next);
        }
    }
    pending_free(p);
}

static int send_http(gw_oadr_link_t *l, const char *path, const void *body, size_t len, uint32_t id,
                     int64_t outbox_id)
{
    pending_t *p = calloc(1, sizeof(*p));
    ge_http_request_t req;
    int rc;

    if (!p)
        return GE_ERR_NOMEM;
    p->link = l;
    p->id = id;
    p->outbox_id = outbox_id;
    ge_buf_init(&p->body, NULL, BODY_CAP);
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = path;
    req.accept = MEDIA_XML;
    req.content_type = MEDIA_XML;
    req.body = body;
    req.body_len = len;
    req.on_body = on_body;
    req.on_done = id ? on_engine_done : on_outbox_done;
    req.ud = p;
    rc = ge_http_client_request(l->http, &req);
    if (rc < 0)
        pending_free(p);
    return rc;
}

int gw_oadr_link_new(gw_oadr_link_t **out, struct event_base *base, const gw_oadr_opts_t *o, char *err,
                     size_t errlen)
{
    gw_oadr_link_t *l;
    char server[256], path[OADR_PATH_MAX];
    ge_http_client_opts_t hopts;
    oadr_ven_config_t cfg;
    int rc;

    *out = NULL;
    if (!o->url || split_url(o->url, server, sizeof(server), path, sizeof(path)) < 0) {
        snprintf(err, errlen, "--vtn must be an http:// URL of the VTN's OpenADR 2.0b base (TLS comes later)");
        return GE_ERR_INVALID;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    l->base = base;
    l->store = o->store;
    l->log = o->log;
    l->kick = event_new(base, -1, 0, on_kick, l);
    if (!l->kick) {
        snprintf(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    memset(&hopts, 0, sizeof(hopts));
    hopts.url = server;
    hopts.connect_timeout_ms = 5000;
    hopts.read_timeout_ms = 15000;
    hopts.total_timeout_ms = 30000;
    hopts.max_body_bytes = BODY_CAP;
    hopts.log = o->log;
    rc = ge_http_client_new(&l->http, base, &hopts);
    if (rc < 0) {
        snprintf(err, errlen, "HTTP client for %s: %s", server, ge_strerror(rc));
        goto fail;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.base_path = path;
    cfg.ven_name = o->ven_name;
    cfg.seed = o->seed;
    cfg.log = o->log;
    /* a VEN registered in an earlier run registers again with the same identity (§8.2) */
    if (l->store && gw_store_reg_get(l->store, GW_SOURCE_OADR, "ven_id", l->stored_ven_id,
                                     sizeof(l->stored_ven_id)) == 0 &&
        gw_store_reg_get(l->store, GW_SOURCE_OADR, "registration_id", l->stored_reg_id, sizeof(l->stored_reg_id)) == 0) {
        cfg.ven_id = l->stored_ven_id;
        cfg.registration_id = l->stored_reg_id;
    } else {
        l->stored_ven_id[0] = l->stored_reg_id[0] = '\0';
    }
    rc = oadr_ven_new(&l->eng, &cfg);
    if (rc < 0) {
        snprintf(err, errlen, "OpenADR 2.0b engine: %s", ge_strerror(rc));
        goto fail;
    }
    ge_log(o->log, GE_LOG_INFO, "oadr", "VEN %s, VTN %s%s", o->ven_name, server, path);
    *out = l;
    return 0;
fail:
    gw_oadr_link_free(l);
    return rc;
}

void gw_oadr_link_free(gw_oadr_link_t *l)
{
    if (!l)
        return;
    /* pending requests end now, and their answers still reach the engine: free it last */
    if (l->kick)
        event_free(l->kick);
    l->kick = NULL;
    ge_http_client_free(l->http);
    oadr_ven_free(l->eng);
    free(l);
}

/* An oadrCreatedEvent the engine decided on: into the outbox, once per (event, modification). */
static void queue_created_event(gw_oadr_link_t *l, const oadr_request_t *r)
{
    gw_outbox_msg_t m;
    char subject[OADR_ID_MAX + 16], key[OADR_ID_MAX + 32];
    int sent = 0;

    if (!l->store) {
        send_http(l, r->path, r->body, r->body_len, 0, 0);
        return;
    }
    snprintf(subject, sizeof(subject), "%s#%u", r->event_id, (unsigned)r->modification);
    /* status 1: optIn, by the store's numbering */
    if (gw_store_response_sent(l->store, GW_SOURCE_OADR, subject, 1, &sent) == 0 && sent)
        return;
    snprintf(key, sizeof(key), "oadr:%s", subject);
    memset(&m, 0, sizeof(m));
    m.url = r->path;
    m.method = r->method;
    m.content_type = r->content_type;
    m.body = r->body;
    m.body_len = r->body_len;
    m.dedupe_key = key;
    if (gw_store_outbox_enqueue(l->store, &m, (int64_t)l->now, NULL) < 0)
        ge_log(l->log, GE_LOG_ERROR, "oadr", "cannot queue the oadrCreatedEvent for %s", subject);
    gw_store_response_record(l->store, GW_SOURCE_OADR, subject, 1, (int64_t)l->now);
}

static void pump_outbox(gw_oadr_link_t *l)
{
    gw_outbox_item_t it;

    if (!l->store || l->outbox_busy)
        return;
    memset(&it, 0, sizeof(it));
    if (gw_store_outbox_peek(l->store, (int64_t)l->now, &it) == 0 && strncmp(it.dedupe_key, "oadr:", 5) == 0) {
        if (send_http(l, it.url, it.body, it.body_len, 0, it.id) == 0)
            l->outbox_busy = 1;
    }
    gw_outbox_item_clear(l->store, &it);
}

static void keep_registration(gw_oadr_link_t *l)
{
    oadr_ven_stats_t st;

    if (!l->store)
        return;
    oadr_ven_stats(l->eng, &st);
    if (strcmp(st.ven_id, l->stored_ven_id) == 0 && strcmp(st.registration_id, l->stored_reg_id) == 0)
        return;
    if (!st.ven_id[0] || !st.registration_id[0]) {
        if (st.registered || !l->stored_ven_id[0])
            return;
        gw_store_reg_delete(l->store, GW_SOURCE_OADR, NULL); /* the VTN cancelled us */
    } else if (!st.registered ||
               gw_store_reg_set(l->store, GW_SOURCE_OADR, "ven_id", st.ven_id) < 0 ||
               gw_store_reg_set(l->store, GW_SOURCE_OADR, "registration_id", st.registration_id) < 0) {
        return;
    }
    snprintf(l->stored_ven_id, sizeof(l->stored_ven_id), "%s", st.ven_id);
    snprintf(l->stored_reg_id, sizeof(l->stored_reg_id), "%s", st.registration_id);
}

void gw_oadr_link_pump(gw_oadr_link_t *l, double now)
{
    oadr_request_t r;
    int guard = 0;

    l->now = now;
    while (guard++ < 32 && oadr_ven_next_request(l->eng, now, &r) == 1) {
        if (r.kind == OADR_MSG_CREATED_EVENT) {
            queue_created_event(l, &r);
            /* the outbox owns delivery now */
            oadr_ven_response(l->eng, r.id, 200, NULL, 0, now);
            continue;
        }
        if (send_http(l, r.path, r.body, r.body_len, r.id, 0) < 0)
            oadr_ven_response(l->eng, r.id, 0, NULL, 0, now);
    }
    pump_outbox(l);
    keep_registration(l);
}

int gw_oadr_link_control(gw_oadr_link_t *l, double now, int *simple_level, int *has_price, double *price,
                         gw_status_control_t *controls, size_t max, size_t *n)
{
    oadr_control_t ctl;
    int rc = oadr_ven_control(l->eng, now, &ctl);

    *n = 0;
    *simple_level = -1;
    *has_price = 0;
    if (rc < 0)
        return rc;
    if (ctl.has_level)
        *simple_level = (int)lround(ctl.level);
    if (ctl.has_price) {
        *has_price = 1;
        *price = ctl.price;
    }
    for (size_t i = 0; i < ctl.n_active && *n < max; i++) {
        const oadr_active_event_t *a = &ctl.active[i];
        gw_status_control_t *o = &controls[(*n)++];
        memset(o, 0, sizeof(*o));
        snprintf(o->id, sizeof(o->id), "%s", a->id);
        o->source = GW_SOURCE_OADR;
        o->start = a->start;
        o->end = a->end == INT64_MAX ? 0 : a->end;
        if (a->has_level) {
            snprintf(o->kind, sizeof(o->kind), "SIMPLE");
            o->has_value = 1;
            o->value = a->level;
        } else if (a->has_price) {
            snprintf(o->kind, sizeof(o->kind), "ELECTRICITY_PRICE");
            o->has_value = 1;
            o->value = a->price;
        }
    }
    return 0;
}

int64_t gw_oadr_link_server_time(const gw_oadr_link_t *l, double now)
{
    return (int64_t)floor(oadr_ven_server_time(l->eng, now));
}

const oadr_ven_t *gw_oadr_link_engine(const gw_oadr_link_t *l)
{
    return l->eng;
}
