/* oadr_link.c - the OpenADR 2.0b VEN engine on the event loop: simple HTTP (pull, or push to our
 * own server) to the VTN over TLS or not, the outbox for oadrCreatedEvent, the registration, report
 * requests and opts kept in the store, the site's telemetry and setpoints (see oadr_link.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/oadr_sig.h>
#include <gridedge/tls.h>

#include "gateway/daemon.h"
#include "gateway/oadr_link.h"
#include "gateway/url.h"

#define BODY_CAP (4u << 20)
#define STATE_CAP (64u << 10) /* the engine's saved report requests and opts */
#define STATE_KEY "ven_state"
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
    ge_tls_ctx_t *tls;
    ge_tls_ctx_t *push_tls;  /* push mode over TLS: the server side */
    ge_http_server_t *push;  /* push mode: where the VTN POSTs */
    oadr_sig_t *sig;         /* --sign: signs what we send, verifies what the VTN sends; or NULL */
    oadr_ven_t *eng;
    gw_store_t *store;
    const ge_log_t *log;
    double now;
    int outbox_busy;
    ge_der_caps_t caps;    /* the latest ratings and telemetry (gw_oadr_link_sample) */
    ge_telemetry_t tel;
    int have_tel;
    char stored_ven_id[OADR_ID_MAX], stored_reg_id[OADR_ID_MAX];
    ge_buf_t state;        /* the engine's state as last stored */
    double (*clock)(void *ud);
    void *clock_ud;
    gw_owner_t owner;      /* the home owner's file */
    oadr_opt_window_t unavailable[GW_CONFIG_WINDOWS_MAX]; /* the configured windows */
    size_t n_unavailable;
    int leave_cfg;         /* the config says: leave the program */
    int leaving;           /* the owner's cancellation of our registration was started */
};

static double wall_clock(void *ud)
{
    (void)ud;
    return gw_now();
}

int gw_oadr_cert_fingerprint(const char *path, char out[32])
{
    FILE *f = fopen(path, "r");
    X509 *x;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok;

    if (!f)
        return GE_ERR_IO;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return GE_ERR_CERT;
    ok = X509_digest(x, EVP_sha256(), md, &n) == 1 && n >= 10;
    X509_free(x);
    if (!ok)
        return GE_ERR_CERT;
    for (unsigned i = 0; i < 10; i++)
        snprintf(out + i * 3, 4, "%02X%s", md[n - 10 + i], i < 9 ? ":" : "");
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

/* With --sign: 1 if BODY (from the VTN, for WHAT) carries a valid signature, else 0 (logged with
 * the reason).  An empty body carries nothing to act on and passes.  Signatures are checked here,
 * not in the engine: it stays free of crypto and I/O, and a payload that fails never reaches it. */
static int vtn_payload_ok(gw_oadr_link_t *l, const void *body, size_t len, const char *what)
{
    char why[256];

    if (!l->sig || len == 0)
        return 1;
    if (oadr_sig_verify(l->sig, body, len, l->clock(l->clock_ud), OADR_SIG_DEFAULT_SKEW_S, why, sizeof(why)) == 0)
        return 1;
    ge_log(l->log, GE_LOG_WARN, "oadr", "ignored the VTN's %s: XML signature check failed: %s", what, why);
    return 0;
}

/* With --sign: BODY signed into OUT (0), or a negative ge_err, logged, naming WHAT was not signed. */
static int sign_payload(gw_oadr_link_t *l, const void *body, size_t len, ge_buf_t *out, const char *what)
{
    char why[256];
    int rc = oadr_sig_sign(l->sig, body, len, l->clock(l->clock_ud), out, why, sizeof(why));

    if (rc < 0)
        ge_log(l->log, GE_LOG_ERROR, "oadr", "cannot sign %s: %s", what, why);
    return rc;
}

/* The owner's file, if it changed (looked at once a second, or NOW when FORCE): its choices go to
 * the engine. */
static void owner_update(gw_oadr_link_t *l, double now, int force)
{
    if (force ? gw_owner_poll_now(&l->owner, now) : gw_owner_poll(&l->owner, now))
        gw_owner_apply(l->eng, l->unavailable, l->n_unavailable, gw_owner_choices(&l->owner), l->log);
}

static void on_engine_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_oadr_link_t *l = p->link;
    int status = resp->err ? 0 : resp->status;

    if (resp->err)
        ge_log(l->log, GE_LOG_WARN, "oadr", "request failed: %s", resp->errmsg ? resp->errmsg : ge_strerror(resp->err));
    /* an unsigned or badly signed answer counts as no answer: the engine retries as after a failure */
    if (status && !vtn_payload_ok(l, p->body.data, p->body.len, "answer"))
        status = 0;
    if (l->eng) {
        double now = l->clock(l->clock_ud);
        if (status)
            owner_update(l, now, 1); /* the events in it are answered as the owner's file says now */
        oadr_ven_response(l->eng, p->id, status, status ? p->body.data : NULL, status ? p->body.len : 0, now);
        if (l->kick)
            event_active(l->kick, 0, 0);
    }
    pending_free(p);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_oadr_link_t *l = arg;
    gw_oadr_link_pump(l, l->clock(l->clock_ud));
}

static void on_outbox_done(void *ud, const ge_http_response_t *resp)
{
    pending_t *p = ud;
    gw_oadr_link_t *l = p->link;

    l->outbox_busy = 0;
    if (l->store) {
        if (!resp->err && resp->status >= 200 && resp->status < 300 &&
            vtn_payload_ok(l, p->body.data, p->body.len, "answer to an oadrCreatedEvent")) {
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
    pending_t *p;
    ge_http_request_t req;
    ge_buf_t signed_body;
    int rc;

    ge_buf_init(&signed_body, NULL, BODY_CAP);
    if (l->sig && len) {
        if ((rc = sign_payload(l, body, len, &signed_body, path)) < 0) {
            ge_buf_free(&signed_body);
            return rc;
        }
        body = signed_body.data;
        len = signed_body.len;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        ge_buf_free(&signed_body);
        return GE_ERR_NOMEM;
    }
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
    rc = ge_http_client_request(l->http, &req); /* copies the body */
    ge_buf_free(&signed_body);
    if (rc < 0)
        pending_free(p);
    return rc;
}

/* Push mode: the VTN POSTs a payload; the engine's answer goes back in the exchange. */
static void on_push(void *ud, ge_http_exchange_t *ex)
{
    gw_oadr_link_t *l = ud;
    size_t len = 0;
    const void *body = ge_http_body(ex, &len);
    ge_buf_t ans, signed_ans;
    const void *out;
    size_t out_len;
    double now;
    int status;

    if (strcmp(ge_http_method(ex), "POST") != 0) {
        ge_http_reply(ex, 405, NULL, NULL, 0);
        return;
    }
    if (!vtn_payload_ok(l, body, len, "push")) {
        ge_http_reply(ex, 403, NULL, NULL, 0); /* not from a VTN we trust: refused, nothing looked at */
        return;
    }
    now = l->clock(l->clock_ud);
    owner_update(l, now, 1); /* an event is answered as the owner's file says now, not a second ago */
    ge_buf_init(&ans, NULL, BODY_CAP);
    ge_buf_init(&signed_ans, NULL, BODY_CAP);
    status = oadr_ven_push(l->eng, body, len, now, &ans);
    if (status < 0)
        status = 500;
    out = ans.data;
    out_len = ans.len;
    if (l->sig && ans.len) {
        if (sign_payload(l, ans.data, ans.len, &signed_ans, "the answer to a push") < 0) {
            status = 500;
            out_len = 0;
        } else {
            out = signed_ans.data;
            out_len = signed_ans.len;
        }
    }
    ge_http_reply(ex, status, out_len ? MEDIA_XML : NULL, out, out_len);
    ge_buf_free(&ans);
    ge_buf_free(&signed_ans);
    if (l->kick)
        event_active(l->kick, 0, 0); /* what follows (an oadrCreatedEvent, reports) goes out now */
}

/* The report requests and opts an earlier run stored, into the fresh engine. */
static void restore_state(gw_oadr_link_t *l)
{
    char *text;

    if (!l->store || !(text = malloc(STATE_CAP)))
        return;
    if (gw_store_reg_get(l->store, GW_SOURCE_OADR, STATE_KEY, text, STATE_CAP) == 0 &&
        oadr_ven_restore(l->eng, text, strlen(text)) == 0)
        ge_buf_append(&l->state, text, strlen(text));
    free(text);
}

/* The engine's report requests and opts into the store when they changed. */
static void keep_state(gw_oadr_link_t *l)
{
    ge_buf_t now;

    if (!l->store)
        return;
    ge_buf_init(&now, NULL, STATE_CAP);
    if (oadr_ven_save(l->eng, &now) == 0 &&
        (now.len != l->state.len || (now.len && memcmp(now.data, l->state.data, now.len) != 0)) &&
        gw_store_reg_set(l->store, GW_SOURCE_OADR, STATE_KEY, ge_buf_str(&now)) == 0) {
        ge_buf_clear(&l->state);
        ge_buf_append(&l->state, now.data, now.len);
    }
    ge_buf_free(&now);
}

int gw_oadr_link_new(gw_oadr_link_t **out, struct event_base *base, const gw_oadr_opts_t *o, char *err,
                     size_t errlen)
{
    gw_oadr_link_t *l;
    char path[OADR_PATH_MAX], fingerprint[32] = "", transport[OADR_PATH_MAX] = "";
    gw_url_t url;
    ge_http_client_opts_t hopts;
    oadr_ven_config_t cfg;
    int rc;

    *out = NULL;
    if (!o->url || gw_url_parse(o->url, &url) < 0 || strlen(url.path) >= sizeof(path)) {
        snprintf(err, errlen, "--vtn must be an http:// or https:// URL of the VTN's OpenADR 2.0b base");
        return GE_ERR_INVALID;
    }
    snprintf(path, sizeof(path), "%s", url.path[0] && strcmp(url.path, "/") != 0 ? url.path : "/OpenADR2/Simple/2.0b");
    if (strncmp(o->url, "https://", 8) == 0 && !(o->ca_file && o->cert_file && o->key_file)) {
        snprintf(err, errlen, "an https:// VTN needs --ca, --cert and --key (OpenADR 2.0b uses client certificates)");
        return GE_ERR_INVALID;
    }
    if (o->sign && !(o->ca_file && o->cert_file && o->key_file)) {
        snprintf(err, errlen, "XML signatures need --ca (to verify the VTN's), --cert and --key (to sign ours)");
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
    ge_buf_init(&l->state, NULL, STATE_CAP);
    l->n_unavailable = o->n_unavailable < GW_CONFIG_WINDOWS_MAX ? o->n_unavailable : GW_CONFIG_WINDOWS_MAX;
    memcpy(l->unavailable, o->unavailable, l->n_unavailable * sizeof(l->unavailable[0]));
    l->leave_cfg = o->leave;
    if (gw_owner_init(&l->owner, o->owner_dir, o->log) < 0) {
        snprintf(err, errlen, "the state dir's path is too long for its owner file");
        rc = GE_ERR_INVALID;
        goto fail;
    }
    l->kick = event_new(base, -1, 0, on_kick, l);
    if (!l->kick) {
        snprintf(err, errlen, "out of memory");
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    if (strncmp(o->url, "https://", 8) == 0) {
        ge_tls_opts_t to;
        memset(&to, 0, sizeof(to));
        to.ca_file = o->ca_file;
        to.cert_file = o->cert_file;
        to.key_file = o->key_file;
        to.log = o->log;
        rc = ge_tls_ctx_new(&l->tls, ge_tls_profile_find("oadr20b"), GE_TLS_CLIENT, &to);
        if (rc < 0) {
            snprintf(err, errlen, "TLS (OpenADR 2.0b profile) with %s / %s: %s", o->cert_file, o->key_file,
                     ge_strerror(rc));
            goto fail;
        }
    }
    if (o->sign) {
        char why[400];
        if ((rc = oadr_sig_new(&l->sig, o->cert_file, o->key_file, o->ca_file, why, sizeof(why))) < 0) {
            snprintf(err, errlen, "XML signatures: %s", why);
            goto fail;
        }
    }
    if (o->cert_file && (rc = gw_oadr_cert_fingerprint(o->cert_file, fingerprint)) < 0) {
        snprintf(err, errlen, "cannot read the certificate %s: %s", o->cert_file, ge_strerror(rc));
        goto fail;
    }
    memset(&hopts, 0, sizeof(hopts));
    hopts.url = url.base;
    hopts.tls = l->tls;
    hopts.connect_timeout_ms = 5000;
    hopts.read_timeout_ms = 15000;
    hopts.total_timeout_ms = 30000;
    hopts.max_body_bytes = BODY_CAP;
    hopts.log = o->log;
    rc = ge_http_client_new(&l->http, base, &hopts);
    if (rc < 0) {
        snprintf(err, errlen, "HTTP client for %s: %s", url.base, ge_strerror(rc));
        goto fail;
    }
    if (o->push && o->ca_file && o->cert_file && o->key_file) {
        /* the VTN's POSTs come over TLS too, and only from a VTN whose certificate verifies */
        ge_tls_opts_t to;
        memset(&to, 0, sizeof(to));
        to.ca_file = o->ca_file;
        to.cert_file = o->push_cert_file ? o->push_cert_file : o->cert_file;
        to.key_file = o->push_key_file ? o->push_key_file : o->key_file;
        to.log = o->log;
        rc = ge_tls_ctx_new(&l->push_tls, ge_tls_profile_find("oadr20b"), GE_TLS_SERVER, &to);
        if (rc < 0) {
            snprintf(err, errlen, "TLS for the push server (OpenADR 2.0b profile) with %s: %s", to.cert_file,
                     ge_strerror(rc));
            goto fail;
        }
    }
    if (o->push) {
        ge_http_server_opts_t so;
        memset(&so, 0, sizeof(so));
        so.tls = l->push_tls;
        so.address = o->push_bind;
        so.port = o->push_port;
        so.handler = on_push;
        so.ud = l;
        so.log = o->log;
        so.idle_timeout_s = 30;
        if ((rc = ge_http_server_new(&l->push, base, &so)) < 0) {
            snprintf(err, errlen, "cannot listen for the VTN's pushes on %s:%u: %s",
                     o->push_bind ? o->push_bind : "127.0.0.1", (unsigned)o->push_port, ge_strerror(rc));
            goto fail;
        }
        snprintf(transport, sizeof(transport), "%s://%s:%u/OpenADR2/Simple/2.0b", l->push_tls ? "https" : "http",
                 o->push_bind ? o->push_bind : "127.0.0.1", (unsigned)ge_http_server_port(l->push));
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.transport_address = transport[0] ? transport : NULL;
    cfg.base_path = path;
    cfg.ven_name = o->ven_name;
    cfg.seed = o->seed;
    cfg.log = o->log;
    cfg.xml_signature = l->sig != NULL;
    cfg.has_base_price = o->has_base_price;
    cfg.base_price = o->base_price;
    /* a VEN registered in an earlier run registers again with the same identity (§8.2) */
    if (l->store && gw_store_reg_get(l->store, GW_SOURCE_OADR, "ven_id", l->stored_ven_id,
                                     sizeof(l->stored_ven_id)) == 0 &&
        gw_store_reg_get(l->store, GW_SOURCE_OADR, "registration_id", l->stored_reg_id, sizeof(l->stored_reg_id)) == 0) {
        cfg.ven_id = l->stored_ven_id;
        cfg.registration_id = l->stored_reg_id;
    } else {
        l->stored_ven_id[0] = l->stored_reg_id[0] = '\0';
        /* §8.2 / the 2.0b security profile: a VEN with a certificate is known by its fingerprint */
        if (fingerprint[0])
            cfg.ven_id = fingerprint;
    }
    rc = oadr_ven_new(&l->eng, &cfg);
    if (rc < 0) {
        snprintf(err, errlen, "OpenADR 2.0b engine: %s", ge_strerror(rc));
        goto fail;
    }
    for (size_t i = 0; i < o->n_targets; i++)
        if ((rc = oadr_ven_add_target(l->eng, o->targets[i].kind, o->targets[i].id)) < 0) {
            snprintf(err, errlen, "cannot take target id '%.80s': %s", o->targets[i].id, ge_strerror(rc));
            goto fail;
        }
    restore_state(l);
    for (size_t i = 0; i < o->n_opt_out; i++)
        if ((rc = oadr_ven_opt_out(l->eng, o->opt_out[i])) < 0) {
            snprintf(err, errlen, "cannot opt out of event '%.80s': %s", o->opt_out[i], ge_strerror(rc));
            goto fail;
        }
    /* the owner's file as it is now, and the configured windows (a window no longer listed in
     * either is withdrawn: the engine's stored opts came back with restore_state); what the engine
     * cannot take is logged, the VEN runs on */
    gw_owner_poll(&l->owner, l->clock(l->clock_ud));
    gw_owner_apply(l->eng, l->unavailable, l->n_unavailable, gw_owner_choices(&l->owner), o->log);
    if (fingerprint[0])
        ge_log(o->log, GE_LOG_INFO, "oadr", "certificate fingerprint (venID) %s", fingerprint);
    ge_log(o->log, GE_LOG_INFO, "oadr", "VEN %s, VTN %s%s%s%s%s", o->ven_name, url.base, path,
           transport[0] ? ", push to " : "", transport, l->sig ? ", XML signatures required both ways" : "");
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
    ge_http_server_free(l->push);
    ge_http_client_free(l->http);
    ge_tls_ctx_free(l->tls);
    ge_tls_ctx_free(l->push_tls);
    oadr_ven_free(l->eng);
    oadr_sig_free(l->sig);
    ge_buf_free(&l->state);
    gw_owner_free(&l->owner);
    free(l);
}

/* An oadrCreatedEvent the engine decided on: into the outbox, once per (event, modification). */
static void queue_created_event(gw_oadr_link_t *l, const oadr_request_t *r)
{
    gw_outbox_msg_t m;
    char subject[OADR_ID_MAX + 16], key[OADR_ID_MAX + 32];
    int sent = 0, rc;

    if (!l->store) {
        send_http(l, r->path, r->body, r->body_len, 0, 0);
        return;
    }
    snprintf(subject, sizeof(subject), "%s#%u", r->event_id, (unsigned)r->modification);
    /* status 1: optIn, 2: optOut, by the store's numbering */
    if (gw_store_response_sent(l->store, GW_SOURCE_OADR, subject, r->opt_out ? 2 : 1, &sent) == 0 && sent)
        return;
    snprintf(key, sizeof(key), "oadr:%s%s", subject, r->opt_out ? ":optOut" : "");
    memset(&m, 0, sizeof(m));
    m.url = r->path;
    m.method = r->method;
    m.content_type = r->content_type;
    m.body = r->body;
    m.body_len = r->body_len;
    m.dedupe_key = key;
    rc = gw_store_outbox_enqueue(l->store, &m, (int64_t)l->now, NULL);
    if (rc < 0 && rc != GE_ERR_EXISTS) {
        /* the state dir is full or broken: send it now, unrecorded (a repeat after a restart is
         * better than a loss) */
        ge_log(l->log, GE_LOG_ERROR, "oadr", "cannot queue the oadrCreatedEvent for %s (%s); sending it unqueued",
               subject, ge_strerror(rc));
        send_http(l, r->path, r->body, r->body_len, 0, 0);
        return;
    }
    gw_store_response_record(l->store, GW_SOURCE_OADR, subject, r->opt_out ? 2 : 1, (int64_t)l->now);
}

static void pump_outbox(gw_oadr_link_t *l)
{
    gw_outbox_item_t it;

    if (!l->store || l->outbox_busy)
        return;
    memset(&it, 0, sizeof(it));
    /* the outbox is shared with the 2030.5 link: our own queue, in order */
    if (gw_store_outbox_peek_queue(l->store, "oadr:", (int64_t)l->now, &it) == 0) {
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
        ge_buf_clear(&l->state);                             /* what is left of the state is stored again */
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
    owner_update(l, now, 0);
    if (!l->leaving && (l->leave_cfg || (gw_owner_choices(&l->owner) &&
                                         !gw_owner_choices(&l->owner)->oadr_registered))) {
        oadr_ven_stats_t st;
        l->leaving = gw_owner_leave(l->eng, l->log);
        oadr_ven_stats(l->eng, &st);
        /* out of the program: no new registration (a stored one is taken up, then cancelled) */
        if (!l->leaving && !st.registered && !l->stored_ven_id[0])
            guard = 32;
    }
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
    keep_state(l);
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
    if (ctl.has_demand_charge && ctl.demand_charge > 0 && *simple_level < 1)
        *simple_level = 1; /* no peak drawn from the grid while it costs per kW */
    if (ctl.has_price) {
        *has_price = 1;
        *price = ctl.price;
    }
    if (ctl.has_bid && (!*has_price || ctl.bid_price > *price)) {
        *has_price = 1;
        *price = ctl.bid_price;
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
        } else if (a->has_dispatch) {
            snprintf(o->kind, sizeof(o->kind), "LOAD_DISPATCH");
            o->has_value = 1;
            o->value = a->dispatch_w;
        } else if (a->has_charge) {
            snprintf(o->kind, sizeof(o->kind), "CHARGE_STATE");
            o->has_value = 1;
            o->value = a->charge_pct;
        } else if (a->load_control) {
            snprintf(o->kind, sizeof(o->kind), "LOAD_CONTROL");
            o->has_value = 1;
            o->value = a->load_control_value;
        } else if (a->has_bid) {
            snprintf(o->kind, sizeof(o->kind), "BID_PRICE");
            o->has_value = 1;
            o->value = a->bid_price;
        } else if (a->has_demand_charge) {
            snprintf(o->kind, sizeof(o->kind), "DEMAND_CHARGE");
            o->has_value = 1;
            o->value = a->demand_charge;
        }
    }
    return 0;
}

void gw_oadr_link_sample(gw_oadr_link_t *l, double now, const ge_der_caps_t *caps, const ge_telemetry_t *tel)
{
    oadr_sample_t s;

    l->caps = *caps;
    l->tel = *tel;
    l->have_tel = 1;

    memset(&s, 0, sizeof(s));
    s.power_w = tel->site_w;
    s.energy_wh = tel->import_wh;
    s.online = !(tel->alarms & GE_ALARM_COMMS);
    s.has_soc = 1;
    s.soc_pct = tel->soc_pct;
    s.hz = tel->frequency_hz;
    s.volts = tel->voltage_v;
    if (oadr_ven_sample(l->eng, now, &s) < 0)
        ge_log(l->log, GE_LOG_WARN, "oadr", "telemetry not usable for reports (not a number)");
}

int gw_oadr_link_setpoint(gw_oadr_link_t *l, double now, ge_setpoint_t *sp)
{
    oadr_control_t ctl;

    memset(sp, 0, sizeof(*sp));
    if (oadr_ven_control(l->eng, now, &ctl) < 0 || (!ctl.has_dispatch && !ctl.has_charge && !ctl.load_control))
        return 0;
    if (ctl.has_dispatch && !ctl.dispatch_delta) {
        sp->set |= GE_SP_IMPORT_LIM;
        sp->import_limit_w = ctl.dispatch_w > 0 ? ctl.dispatch_w : 0;
    } else if (ctl.has_dispatch) {
        sp->set |= GE_SP_BATTERY_W;
        sp->battery_w = -ctl.dispatch_w;
    } else if (ctl.load_control) {
        double house = l->have_tel && l->tel.house_w > 0 ? l->tel.house_w : 0, x = ctl.load_control_value;
        switch (ctl.load_control) {
        case OADR_LC_CAPACITY:
            sp->set |= GE_SP_BATTERY_W;
            sp->battery_w = (1 - x) * house;
            break;
        case OADR_LC_PERCENT_OFFSET:
            sp->set |= GE_SP_BATTERY_W;
            sp->battery_w = -x / 100 * house;
            break;
        case OADR_LC_LEVEL_OFFSET:
            if (x >= 1 || x <= -1) {
                sp->set |= GE_SP_BATTERY_W;
                sp->battery_w = x >= 2 ? l->caps.rtg_max_discharge_rate_w
                                : x >= 1 ? house : -l->caps.rtg_max_charge_rate_w;
            }
            break;
        case OADR_LC_SETPOINT:
            sp->set |= GE_SP_IMPORT_LIM;
            sp->import_limit_w = x > 0 ? x : 0;
            break;
        case OADR_LC_NONE: break;
        }
    }
    if (ctl.has_charge && !(sp->set & GE_SP_BATTERY_W)) {
        double rate = l->caps.rtg_max_charge_rate_w > 0 ? l->caps.rtg_max_charge_rate_w : 0;
        sp->set |= GE_SP_BATTERY_W;
        sp->battery_w = l->have_tel && l->tel.soc_pct < ctl.charge_pct ? -rate : 0;
    }
    return 1;
}

int gw_oadr_link_opt_out(gw_oadr_link_t *l, const char *event_id)
{
    return oadr_ven_opt_out(l->eng, event_id);
}

int64_t gw_oadr_link_server_time(const gw_oadr_link_t *l, double now)
{
    return (int64_t)floor(oadr_ven_server_time(l->eng, now));
}

const oadr_ven_t *gw_oadr_link_engine(const gw_oadr_link_t *l)
{
    return l->eng;
}
