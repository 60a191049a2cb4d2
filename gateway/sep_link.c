/* sep_link.c - the 2030.5 engine on the event loop: HTTP(S) with the CSIP TLS profile, the outbox
 * for Responses, and the state that must survive a restart (see sep_link.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "gateway/daemon.h"
#include "gateway/sep_link.h"
#include "gateway/url.h"

#define BODY_CAP (4u << 20) /* an answer's body (the HTTP client's cap), and a Notification's */
#define NOTIFY_PATH "/ntfy"

typedef struct pending {
    gw_sep_link_t *link;
    uint32_t id;           /* engine request id, or 0 for an outbox message */
    int64_t outbox_id;
} pending_t;

struct gw_sep_link {
    struct event_base *base;
    struct event *kick;    /* pump again as soon as an answer came: follow-up requests go out at once */
    ge_tls_ctx_t *tls;
    ge_http_client_t *http;
    ge_tls_ctx_t *ntls;    /* our notification server's TLS (https) */
    ge_http_server_t *notify; /* where the server POSTs Notifications (NULL: polling only) */
    char notify_uri[300];
    sep_client_t *eng;
    gw_store_t *store;
    const ge_log_t *log;
    char lfdi[GE_LFDI_BUF];
    uint64_t sfdi;
    double now;            /* the time of the last pump, for answers arriving between pumps */
    int outbox_busy;
    double stored_offset;
    int offset_stored;
    unsigned long saved_gen; /* the engine's state generation last kept in the store */
    double (*clock)(void *ud);
    void *clock_ud;
    int fatal;             /* a security failure that must stop the client */
    char fatal_msg[256];
};

/* An answer's body goes to the engine's decoder as it arrives: nothing of it is kept here. */
static int on_body(void *ud, const void *data, size_t len)
{
    pending_t *p = ud;

    /* an id the engine no longer waits for (it was freed) is nothing to stop the transfer for */
    if (p->id && p->link->eng)
        sep_client_body(p->link->eng, p->id, data, len);
    return 0;
}

static void on_engine_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_sep_link_t *l = p->link;

    if (resp->err)
        ge_log(l->log, GE_LOG_WARN, "sep", "request failed: %s", resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    /* A server whose certificate does not verify is not our utility: stop rather than retry. */
    if (resp->err == GE_ERR_CERT && !l->fatal) {
        l->fatal = resp->err;
        snprintf(l->fatal_msg, sizeof(l->fatal_msg), "the server's certificate was rejected: %s",
                 resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    }
    if (l->eng) {
        sep_client_response(l->eng, p->id, resp->err ? 0 : resp->status, resp->location, NULL, 0,
                            l->clock(l->clock_ud));
        if (l->kick)
            event_active(l->kick, 0, 0);
    }
    free(p);
}

static double wall_clock(void *ud)
{
    (void)ud;
    return gw_now();
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_sep_link_t *l = arg;
    gw_sep_link_pump(l, l->clock(l->clock_ud));
}

static void on_outbox_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_sep_link_t *l = p->link;

    l->outbox_busy = 0;
    if (l->store) {
        if (!resp->err && resp->status >= 200 && resp->status < 300) {
            gw_store_outbox_ack(l->store, p->outbox_id);
        } else {
            int64_t next = 0;
            gw_store_outbox_fail(l->store, p->outbox_id, (int64_t)l->now, &next);
            ge_log(l->log, GE_LOG_WARN, "sep", "Response not delivered (%s); retry at %lld",
                   resp->err ? ge_strerror(resp->err) : "HTTP error", (long long)next);
        }
    }
    free(p);
}

static int send_http(gw_sep_link_t *l, const char *method, const char *path, const char *ctype, const void *body,
                     size_t len, uint32_t id, int64_t outbox_id, const char *accept)
{
    pending_t *p = calloc(1, sizeof(*p));
    ge_http_request_t req;
    int rc;

    if (!p)
        return GE_ERR_NOMEM;
    p->link = l;
    p->id = id;
    p->outbox_id = outbox_id;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.accept = accept ? accept : GE_MEDIA_SEP_XML;
    req.content_type = ctype;
    req.body = body;
    req.body_len = len;
    req.on_body = id ? on_body : NULL; /* the outbox needs only the status */
    req.on_done = id ? on_engine_done : on_outbox_done;
    req.ud = p;
    rc = ge_http_client_request(l->http, &req);
    if (rc < 0)
        free(p);
    return rc;
}

/* A CSIP TLS context for ROLE with the device's certificate, key and CA. */
static int csip_tls(ge_tls_ctx_t **out, const gw_sep_opts_t *o, ge_tls_role role)
{
    ge_tls_opts_t to;

    memset(&to, 0, sizeof(to));
    to.ca_file = o->ca;
    to.cert_file = o->cert;
    to.key_file = o->key;
    to.log = o->log;
    return ge_tls_ctx_new(out, ge_tls_profile_find("csip"), role, &to);
}

/* A Notification POSTed by the server: the engine takes it, the pump sends what follows at once. */
static void on_notify(void *ud, ge_http_exchange_t *ex)
{
    gw_sep_link_t *l = ud;
    const void *body;
    size_t len = 0;
    int status;

    if (strcmp(ge_http_method(ex), "POST") != 0) {
        ge_http_reply(ex, 405, NULL, NULL, 0);
        return;
    }
    if (strcmp(ge_http_path(ex), NOTIFY_PATH) != 0) {
        ge_http_reply(ex, 404, NULL, NULL, 0);
        return;
    }
    body = ge_http_body(ex, &len);
    status = l->eng ? sep_client_notification(l->eng, body, len, l->clock(l->clock_ud)) : 503;
    if (status < 0)
        status = 500;
    ge_http_reply(ex, status, NULL, NULL, 0);
    if (l->kick)
        event_active(l->kick, 0, 0);
}

/* The local address this host reaches HOST:PORT from (a connected UDP socket sends nothing), into
 * OUT; 0, or a negative ge_err. */
static int local_address_toward(const char *host, const char *port, char *out, size_t outlen)
{
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd, rc = GE_ERR_NOTFOUND;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return GE_ERR_NOTFOUND;
    fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                 : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (inet_ntop(ss.ss_family, a, out, (socklen_t)outlen))
            rc = 0;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

/* Our notification server (2030.5 §5.5.4): on O->notify ("ADDR[:PORT]"), or on the address we
 * reach SERVER ("scheme://host:port") from, any port; "off" = none.  Sets l->notify_uri. */
static int start_notify(gw_sep_link_t *l, const gw_sep_opts_t *o, const gw_url_t *server, char *err, size_t errlen)
{
    char addr[INET6_ADDRSTRLEN + 8] = "";
    int https = server->https;
    unsigned p = 0;
    ge_http_server_opts_t so;
    int rc;

    if (o->notify && strcmp(o->notify, "off") == 0)
        return 0;
    if (o->notify && *o->notify) {
        if (gw_notify_addr_parse(o->notify, addr, sizeof(addr), &p) < 0) {
            snprintf(err, errlen, "notification address '%s': expected IPADDR[:PORT] or [IPV6]:PORT", o->notify);
            return GE_ERR_INVALID;
        }
    } else if (local_address_toward(server->host, server->port, addr, sizeof(addr)) < 0) {
        ge_log(l->log, GE_LOG_WARN, "sep", "cannot tell our address toward %s; no subscriptions, polling only",
               server->host);
        return 0;
    }
    if (https && (rc = csip_tls(&l->ntls, o, GE_TLS_SERVER)) < 0) {
        snprintf(err, errlen, "TLS set-up of the notification server failed: %s", ge_strerror(rc));
        return rc;
    }
    memset(&so, 0, sizeof(so));
    so.address = addr;
    so.port = (unsigned short)p;
    so.tls = l->ntls;
    so.max_body_bytes = BODY_CAP;
    so.handler = on_notify;
    so.ud = l;
    so.log = o->log;
    if ((rc = ge_http_server_new(&l->notify, l->base, &so)) < 0) {
        snprintf(err, errlen, "cannot listen for notifications on %s:%u: %s", addr, p, ge_strerror(rc));
        return rc;
    }
    snprintf(l->notify_uri, sizeof(l->notify_uri), "%s://%s%s%s:%u%s", https ? "https" : "http",
             strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "",
             (unsigned)ge_http_server_port(l->notify), NOTIFY_PATH);
    return 0;
}

/* The engine's control state (programs, defaults, controls) kept in the store, so that after a
 * restart they are in force before the server answers - or while it does not (CSIP). */
#define STATE_KEY "control_state"
#define STATE_CAP (512u << 10)

static void restore_state(gw_sep_link_t *l)
{
    char *text = malloc(STATE_CAP);

    if (text && gw_store_reg_get(l->store, GW_SOURCE_SEP, STATE_KEY, text, STATE_CAP) == 0)
        sep_client_restore(l->eng, text, strlen(text)); /* refused whole (and logged) when bad */
    free(text);
    l->saved_gen = sep_client_state_gen(l->eng);
}

static void keep_state(gw_sep_link_t *l)
{
    unsigned long gen = sep_client_state_gen(l->eng);
    ge_buf_t text;

    if (gen == l->saved_gen)
        return;
    ge_buf_init(&text, NULL, 0);
    if (sep_client_save(l->eng, &text) < 0 || text.len >= STATE_CAP ||
        gw_store_reg_set(l->store, GW_SOURCE_SEP, STATE_KEY, ge_buf_str(&text)) < 0)
        ge_log(l->log, GE_LOG_WARN, "sep", "could not keep the control state in the store (%zu bytes); "
               "trying again at the next change", text.len);
    l->saved_gen = gen;
    ge_buf_free(&text);
}

int gw_sep_link_new(gw_sep_link_t **out, struct event_base *base, const gw_sep_opts_t *o, char *err, size_t errlen)
{
    gw_sep_link_t *l;
    gw_url_t server;
    const char *path;
    int https, rc;
    ge_http_client_opts_t hopts;
    sep_client_config_t cfg;

    *out = NULL;
    if (gw_url_parse(o->url, &server) < 0) {
        snprintf(err, errlen, "--server must be an http:// or https:// URL of the DeviceCapability resource");
        return GE_ERR_INVALID;
    }
    https = server.https;
    path = server.path[0] ? server.path : "/dcap";
    if (strlen(path) >= SEP_PATH_MAX) {
        snprintf(err, errlen, "the DeviceCapability path is too long (at most %d characters)", SEP_PATH_MAX - 1);
        return GE_ERR_INVALID;
    }
    if (https && (!o->ca || !o->cert || !o->key)) {
        snprintf(err, errlen, "https:// needs --ca, --cert and --key");
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
    l->clock = o->clock ? o->clock : wall_clock;
    l->clock_ud = o->clock_ud;
    l->kick = event_new(base, -1, 0, on_kick, l);
    if (!l->kick) {
        snprintf(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    if (https) {
        rc = csip_tls(&l->tls, o, GE_TLS_CLIENT);
        if (rc < 0) {
            snprintf(err, errlen, "TLS set-up with %s, %s, %s failed: %s", o->ca, o->cert, o->key, ge_strerror(rc));
            goto fail;
        }
        /* Our identity is our certificate's (IEEE 2030.5 §6.3.3). */
        rc = ge_cert_file_ids(o->cert, l->lfdi, &l->sfdi);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot read the certificate's LFDI: %s", o->cert, ge_strerror(rc));
            goto fail;
        }
    } else {
        if (!o->lfdi || strlen(o->lfdi) != 40 || ge_sfdi_from_lfdi(o->lfdi, &l->sfdi) < 0) {
            snprintf(err, errlen, "over http:// the identity comes from --lfdi (40 hex digits)");
            rc = GE_ERR_INVALID;
            goto fail;
        }
        for (int i = 0; i < 40; i++)
            l->lfdi[i] = (char)(o->lfdi[i] >= 'a' && o->lfdi[i] <= 'f' ? o->lfdi[i] - 32 : o->lfdi[i]);
        l->lfdi[40] = '\0';
    }
    if (o->acts_for_lfdi) {
        if (strlen(o->acts_for_lfdi) != 40) {
            snprintf(err, errlen, "an EndDevice to act for needs an LFDI of 40 hex digits");
            rc = GE_ERR_INVALID;
            goto fail;
        }
        snprintf(l->lfdi, sizeof(l->lfdi), "%s", o->acts_for_lfdi);
        l->sfdi = o->acts_for_sfdi;
    }
    memset(&hopts, 0, sizeof(hopts));
    hopts.url = server.base;
    hopts.tls = l->tls;
    hopts.connect_timeout_ms = 5000;
    hopts.read_timeout_ms = 15000;
    hopts.total_timeout_ms = 30000;
    hopts.max_body_bytes = BODY_CAP;
    hopts.log = o->log;
    rc = ge_http_client_new(&l->http, base, &hopts);
    if (rc < 0) {
        snprintf(err, errlen, "HTTP client for %s: %s", server.base, ge_strerror(rc));
        goto fail;
    }
    if ((rc = start_notify(l, o, &server, err, errlen)) < 0)
        goto fail;
    memset(&cfg, 0, sizeof(cfg));
    cfg.notify_uri = l->notify_uri[0] ? l->notify_uri : NULL;
    cfg.dcap_path = path;
    cfg.lfdi = l->lfdi;
    cfg.sfdi = l->sfdi;
    cfg.pin = o->pin;
    cfg.connection_point_id = o->nmi;
    cfg.profile = o->profile;
    /* an aggregator's EndDevices draw their randomizations apart */
    cfg.seed = o->acts_for_lfdi ? o->seed ^ (o->acts_for_sfdi * 0x9E3779B97F4A7C15ull) : o->seed;
    cfg.demand_response = o->demand_response;
    cfg.aggregator = o->aggregator;
    cfg.agg_register = o->agg_register;
    cfg.n_agg_register = o->n_agg_register;
    cfg.acts_for = o->acts_for_lfdi != NULL;
    cfg.log = o->log;
    rc = sep_client_new(&l->eng, &cfg);
    if (rc < 0) {
        snprintf(err, errlen, "2030.5 engine: %s", ge_strerror(rc));
        goto fail;
    }
    if (l->store) {
        int64_t off = 0, at = 0;
        if (gw_store_time_offset_get(l->store, &off, &at) == 0) {
            sep_client_set_time_offset(l->eng, (double)off);
            l->stored_offset = (double)off;
            l->offset_stored = 1;
        }
        restore_state(l);
    }
    ge_log(o->log, GE_LOG_INFO, "sep", "%s LFDI %s SFDI %llu, server %s%s%s%s",
           o->aggregator ? "aggregator" : o->acts_for_lfdi ? "acting for EndDevice" : "client", l->lfdi,
           (unsigned long long)l->sfdi, server.base, path, l->notify_uri[0] ? ", notifications to " : "", l->notify_uri);
    *out = l;
    return 0;
fail:
    gw_sep_link_free(l);
    return rc;
}

void gw_sep_link_free(gw_sep_link_t *l)
{
    if (!l)
        return;
    /* pending requests end now, and their answers still reach the engine: free it last */
    if (l->kick)
        event_free(l->kick);
    l->kick = NULL;
    ge_http_server_free(l->notify);
    ge_http_client_free(l->http);
    sep_client_free(l->eng);
    ge_tls_ctx_free(l->ntls);
    ge_tls_ctx_free(l->tls);
    free(l);
}

/* A Response the engine decided on: into the outbox (exactly once, across restarts too). */
static void queue_response(gw_sep_link_t *l, const sep_request_t *r)
{
    gw_outbox_msg_t m;
    char key[96];
    int sent = 0, rc;

    if (!l->store) {
        send_http(l, r->method, r->path, r->content_type, r->body, r->body_len, 0, 0, NULL);
        return;
    }
    if (gw_store_response_sent(l->store, GW_SOURCE_SEP, r->response_subject, r->response_status, &sent) == 0 && sent)
        return;
    snprintf(key, sizeof(key), "sep:%s:%d", r->response_subject, r->response_status);
    memset(&m, 0, sizeof(m));
    m.url = r->path;
    m.method = r->method;
    m.content_type = r->content_type;
    m.body = r->body;
    m.body_len = r->body_len;
    m.dedupe_key = key;
    rc = gw_store_outbox_enqueue(l->store, &m, (int64_t)l->now, NULL);
    if (rc < 0 && rc != GE_ERR_EXISTS) {
        /* the state dir is full or broken: send it now, unrecorded (after a restart the engine may
         * send it again: a repeat is better than a loss) */
        ge_log(l->log, GE_LOG_ERROR, "sep", "cannot queue the Response for %s (%s); sending it unqueued",
               r->response_subject, ge_strerror(rc));
        send_http(l, r->method, r->path, r->content_type, r->body, r->body_len, 0, 0, NULL);
        return;
    }
    gw_store_response_record(l->store, GW_SOURCE_SEP, r->response_subject, r->response_status, (int64_t)l->now);
}

static void pump_outbox(gw_sep_link_t *l)
{
    gw_outbox_item_t it;

    if (!l->store || l->outbox_busy)
        return;
    memset(&it, 0, sizeof(it));
    /* the outbox is shared with the OpenADR link: our own queue, in order */
    if (gw_store_outbox_peek_queue(l->store, "sep:", (int64_t)l->now, &it) == 0) {
        if (send_http(l, it.method, it.url, it.content_type[0] ? it.content_type : NULL, it.body, it.body_len, 0,
                      it.id, NULL) == 0)
            l->outbox_busy = 1;
    }
    gw_outbox_item_clear(l->store, &it);
}

void gw_sep_link_pump(gw_sep_link_t *l, double now)
{
    sep_request_t r;
    int guard = 0;

    l->now = now;
    while (guard++ < 32 && sep_client_next_request(l->eng, now, &r) == 1) {
        if (r.response_subject[0]) {
            queue_response(l, &r);
            /* the outbox owns delivery now */
            sep_client_response(l->eng, r.id, 201, NULL, NULL, 0, now);
            continue;
        }
        if (send_http(l, r.method, r.path, r.content_type, r.body, r.body_len, r.id, 0, r.accept) < 0)
            sep_client_response(l->eng, r.id, 0, NULL, NULL, 0, now);
    }
    pump_outbox(l);
    if (l->store) {
        sep_client_stats_t st;
        double off = sep_client_time_offset(l->eng);
        sep_client_stats(l->eng, &st);
        if (st.time_known && (!l->offset_stored || fabs(off - l->stored_offset) >= 1.0)) {
            if (gw_store_time_offset_set(l->store, (int64_t)llround(off), (int64_t)now) == 0) {
                l->stored_offset = off;
                l->offset_stored = 1;
            }
        }
        keep_state(l);
    }
}

void gw_sep_link_set_device(gw_sep_link_t *l, const ge_der_caps_t *caps, const ge_telemetry_t *tel)
{
    sep_client_set_device(l->eng, caps, tel);
}

/* The first mode a control decides, for the status file. */
static void describe(const sep_active_control_t *a, const ge_setpoint_t *sp, gw_status_control_t *o)
{
    const char *kind;
    double value;

    o->has_value = sep_describe_control(a->modes, sp, &kind, &value);
    o->value = value;
    snprintf(o->kind, sizeof(o->kind), "%s", kind);
}

int gw_sep_link_control(gw_sep_link_t *l, double now, ge_setpoint_t *sp, gw_status_control_t *controls, size_t max,
                        size_t *n)
{
    sep_control_t ctl;
    int rc = sep_client_control(l->eng, now, &ctl);

    *n = 0;
    if (rc < 0)
        return rc;
    *sp = ctl.setpoint;
    for (size_t i = 0; i < ctl.n_active && *n < max; i++) {
        gw_status_control_t *o = &controls[(*n)++];
        memset(o, 0, sizeof(*o));
        snprintf(o->id, sizeof(o->id), "%s", ctl.active[i].mrid);
        o->source = GW_SOURCE_SEP;
        o->end = ctl.active[i].end == INT64_MAX ? 0 : ctl.active[i].end;
        describe(&ctl.active[i], &ctl.setpoint, o);
    }
    return 0;
}

int64_t gw_sep_link_server_time(const gw_sep_link_t *l, double now)
{
    sep_client_stats_t st;
    sep_client_stats(l->eng, &st);
    return st.time_known ? (int64_t)floor(sep_client_server_time(l->eng, now)) : 0;
}

const char *gw_sep_link_fatal(const gw_sep_link_t *l)
{
    return l->fatal ? l->fatal_msg : NULL;
}

const char *gw_sep_link_step(gw_sep_link_t *l, double now, gw_site_input_t *in, ge_setpoint_t *sp,
                             gw_status_control_t *controls, size_t max)
{
    size_t n = 0;
    sep_price_t price;

    gw_sep_link_pump(l, now);
    if (l->fatal)
        return l->fatal_msg;
    ge_setpoint_init(sp);
    if (gw_sep_link_control(l, now, sp, controls, max, &n) == 0) {
        in->utility = sp;
        in->controls = controls;
        in->n_controls = n;
    }
    /* the 2030.5 import price per kWh goes to the price policy, as OpenADR's price does (a control
     * in force still decides the battery: the policy puts it first) */
    if (sep_client_price(l->eng, now, &price) == 0 && price.has_import) {
        in->has_price = 1;
        in->price = price.import_kwh;
    }
    in->server_time = gw_sep_link_server_time(l, now);
    return NULL;
}

const char *gw_sep_link_lfdi(const gw_sep_link_t *l)
{
    return l->lfdi;
}

uint64_t gw_sep_link_sfdi(const gw_sep_link_t *l)
{
    return l->sfdi;
}

size_t gw_sep_link_end_devices(const gw_sep_link_t *l, sep_end_device_t *out, size_t max, unsigned long *gen)
{
    return sep_client_end_devices(l->eng, out, max, gen);
}

const char *gw_sep_link_drive(gw_sep_link_t *l, gw_site_t *site, double now)
{
    gw_status_control_t controls[GW_STATUS_MAX_CONTROLS];
    gw_site_input_t in;
    ge_setpoint_t sp;
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    const char *fatal;

    memset(&in, 0, sizeof(in));
    in.simple_level = -1;
    if ((fatal = gw_sep_link_step(l, now, &in, &sp, controls, GW_STATUS_MAX_CONTROLS)) != NULL)
        return fatal;
    gw_site_tick(site, now, &in);
    gw_site_device(site, &caps, &tel);
    gw_sep_link_set_device(l, &caps, &tel);
    return NULL;
}
