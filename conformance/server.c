/* server.c - the head-end's HTTP(S) server for one case (see server.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/tls.h>

#include "conformance/server.h"

#define MAX_EXCHANGES 20000 /* a flooding client cannot make the evidence unbounded */
#define REPLY_EVIDENCE_MAX 4096

typedef struct delayed {
    struct cf_server *srv;
    ge_http_exchange_t *ex;
    struct event *ev;
    int status;
    const char *type;
    char *body;
    size_t len;
    struct delayed *next;
} delayed_t;

struct cf_server {
    cf_server_opts_t opts;
    struct event_base *base;
    ge_http_server_t *http;
    ge_tls_ctx_t *tls;
    cf_serve_state_t st;
    cf_vars_t vars;
    double t0;              /* clock at t = 0 */
    cf_exchange_t *ex;      /* method, path and body are owned (malloc'd) */
    char **replies;
    size_t n_ex, cap_ex, dropped;
    delayed_t *delayed;
    char base_url[64];
    char url[128];
};

static double wall_clock(void *ud)
{
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static const char *suite_path(const char *suite)
{
    if (strcmp(suite, "oadr20b") == 0)
        return "/OpenADR2/Simple/2.0b";
    if (strcmp(suite, "oadr3") == 0)
        return "/openadr3";
    return "/dcap";
}

static const char *suite_type(const char *suite)
{
    if (strcmp(suite, "oadr20b") == 0)
        return "application/xml";
    if (strcmp(suite, "oadr3") == 0)
        return "application/json";
    return GE_MEDIA_SEP_XML;
}

static const char *suite_profile(const char *suite)
{
    if (strcmp(suite, "csip") == 0 || strcmp(suite, "csip-aus") == 0)
        return suite;
    if (strcmp(suite, "oadr20b") == 0)
        return "oadr20b";
    return "modern";
}

static void record(cf_server_t *s, double t, const char *method, const char *path, const char *body, size_t blen,
                   int status, const char *reply, size_t rlen)
{
    cf_exchange_t *x;
    char *m, *p, *b, *r;

    if (s->n_ex == MAX_EXCHANGES) {
        s->dropped++;
        return;
    }
    if (s->n_ex == s->cap_ex) {
        size_t cap = s->cap_ex ? s->cap_ex * 2 : 64;
        cf_exchange_t *nx = realloc(s->ex, cap * sizeof(*nx));
        if (!nx) {
            s->dropped++;
            return;
        }
        s->ex = nx;
        char **nr = realloc(s->replies, cap * sizeof(*nr));
        if (!nr) {
            s->dropped++;
            return;
        }
        s->replies = nr;
        s->cap_ex = cap;
    }
    m = dup_n(method, strlen(method));
    p = dup_n(path, strlen(path));
    b = dup_n(body ? body : "", body ? blen : 0);
    r = dup_n(reply ? reply : "", reply ? (rlen < REPLY_EVIDENCE_MAX ? rlen : REPLY_EVIDENCE_MAX) : 0);
    if (!m || !p || !b || !r) {
        free(m);
        free(p);
        free(b);
        free(r);
        s->dropped++;
        return;
    }
    x = &s->ex[s->n_ex];
    x->t = t;
    x->method = m;
    x->path = p;
    x->body = b;
    x->status = status;
    s->replies[s->n_ex] = r;
    s->n_ex++;
}

static void drop_delayed(cf_server_t *s, delayed_t *d)
{
    for (delayed_t **pp = &s->delayed; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    event_free(d->ev);
    free(d->body);
    free(d);
}

static void send_delayed(evutil_socket_t fd, short what, void *arg)
{
    delayed_t *d = arg;
    (void)fd;
    (void)what;

    ge_http_reply(d->ex, d->status, d->type, d->body, d->len);
    drop_delayed(d->srv, d);
}

static void handle(void *ud, ge_http_exchange_t *ex)
{
    cf_server_t *s = ud;
    double now = s->opts.clock(s->opts.clock_ud);
    double t = now - s->t0;
    const char *method = ge_http_method(ex), *path = ge_http_path(ex);
    size_t blen = 0;
    const char *b = ge_http_body(ex, &blen);
    char *body = dup_n(b ? b : "", b ? blen : 0);
    cf_answer_t ans;
    ge_buf_t out;
    int rc;

    ge_buf_init(&out, NULL, 4u * 1024u * 1024u);
    s->vars.now = now + s->opts.c->time_offset;
    rc = body ? cf_serve(s->opts.c, &s->st, &s->vars, t, method, path, body, suite_type(s->opts.suite), &ans, &out)
              : GE_ERR_NOMEM;
    if (rc < 0) {
        ge_http_reply(ex, 500, NULL, NULL, 0);
        record(s, t, method, path, body, blen, 500, NULL, 0);
        goto done;
    }
    record(s, t, method, path, body, blen, ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status, out.data, out.len);
    if (ans.kind == CF_ANSWER_CLOSE) {
        ge_http_abort(ex);
        goto done;
    }
    if (ans.location[0])
        ge_http_set_header(ex, "Location", ans.location);
    if (ans.delay_ms > 0) {
        delayed_t *d = calloc(1, sizeof(*d));
        struct timeval tv = { ans.delay_ms / 1000, (ans.delay_ms % 1000) * 1000 };
        if (d && (d->ev = evtimer_new(s->base, send_delayed, d)) != NULL) {
            d->srv = s;
            d->ex = ex;
            d->status = ans.status;
            d->type = ans.type;
            d->len = out.len;
            d->body = out.len ? dup_n(out.data, out.len) : NULL;
            d->next = s->delayed;
            s->delayed = d;
            evtimer_add(d->ev, &tv);
            goto done;
        }
        free(d);
    }
    ge_http_reply(ex, ans.status, out.len ? ans.type : NULL, out.data, out.len);
done:
    free(body);
    ge_buf_free(&out);
}

int cf_server_new(cf_server_t **out, struct event_base *base, const cf_server_opts_t *opts, char *err, size_t errlen)
{
    cf_server_t *s = calloc(1, sizeof(*s));
    ge_http_server_opts_t so;
    int rc;

    *out = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return GE_ERR_NOMEM;
    }
    s->opts = *opts;
    if (!s->opts.clock)
        s->opts.clock = wall_clock;
    s->base = base;
    s->st.fired = calloc(opts->c->n_actions ? opts->c->n_actions : 1, sizeof(unsigned));
    if (!s->st.fired) {
        rc = GE_ERR_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (opts->https) {
        char ca[600], cert[600], key[600];
        ge_tls_opts_t to;
        snprintf(ca, sizeof(ca), "%s/ca.pem", opts->pki_dir);
        snprintf(cert, sizeof(cert), "%s/server.pem", opts->pki_dir);
        snprintf(key, sizeof(key), "%s/server.key", opts->pki_dir);
        memset(&to, 0, sizeof(to));
        to.ca_file = ca;
        to.cert_file = cert;
        to.key_file = key;
        to.log = opts->log;
        rc = ge_tls_ctx_new(&s->tls, ge_tls_profile_find(suite_profile(opts->suite)), GE_TLS_SERVER, &to);
        if (rc < 0) {
            snprintf(err, errlen, "TLS server set-up: %s", ge_strerror(rc));
            goto fail;
        }
    }
    memset(&so, 0, sizeof(so));
    so.tls = s->tls;
    so.handler = handle;
    so.ud = s;
    so.log = opts->log;
    so.idle_timeout_s = 10;
    rc = ge_http_server_new(&s->http, base, &so);
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1: %s", ge_strerror(rc));
        goto fail;
    }
    snprintf(s->base_url, sizeof(s->base_url), "%s://127.0.0.1:%u", opts->https ? "https" : "http",
             (unsigned)ge_http_server_port(s->http));
    snprintf(s->url, sizeof(s->url), "%s%s", s->base_url, suite_path(opts->suite));
    s->vars.base = s->base_url;
    cf_server_start(s);
    *out = s;
    return 0;
fail:
    cf_server_free(s);
    return rc;
}

void cf_server_free(cf_server_t *s)
{
    if (!s)
        return;
    while (s->delayed) {
        ge_http_reply(s->delayed->ex, 503, NULL, NULL, 0);
        drop_delayed(s, s->delayed);
    }
    ge_http_server_free(s->http);
    ge_tls_ctx_free(s->tls);
    for (size_t i = 0; i < s->n_ex; i++) {
        free((char *)s->ex[i].method);
        free((char *)s->ex[i].path);
        free((char *)s->ex[i].body);
        free(s->replies[i]);
    }
    free(s->ex);
    free(s->replies);
    free(s->st.fired);
    free(s);
}

void cf_server_start(cf_server_t *s)
{
    s->t0 = s->opts.clock(s->opts.clock_ud);
    s->vars.start = s->t0 + s->opts.c->time_offset;
    s->vars.now = s->vars.start;
}

double cf_server_elapsed(const cf_server_t *s)
{
    return s->opts.clock(s->opts.clock_ud) - s->t0;
}

double cf_server_start_time(const cf_server_t *s)
{
    return s->vars.start;
}

cf_vars_t *cf_server_vars(cf_server_t *s)
{
    return &s->vars;
}

const char *cf_server_base_url(const cf_server_t *s)
{
    return s->base_url;
}

const char *cf_server_url(const cf_server_t *s)
{
    return s->url;
}

const cf_exchange_t *cf_server_exchanges(const cf_server_t *s, size_t *n, size_t *dropped)
{
    *n = s->n_ex;
    if (dropped)
        *dropped = s->dropped;
    return s->ex;
}

const char *cf_server_reply(const cf_server_t *s, size_t i)
{
    return i < s->n_ex ? s->replies[i] : "";
}
