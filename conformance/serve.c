/* serve.c - the head-end's answers as a pure function of case, time and request (see serve.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gridedge/error.h>

#include "conformance/serve.h"
#include "conformance/verdict.h"

static int put_var(const char *name, size_t n, const cf_vars_t *v, ge_buf_t *out)
{
    static const char *const names[] = { "lfdi", "sfdi", "base", "ven_name", "ven_id", "registration_id",
                                         "client_id", "client_secret" };
    const char *vals[] = { v->lfdi, v->sfdi, v->base, v->ven_name, v->ven_id, v->registration_id, v->client_id,
                           v->client_secret };
    int iso = 0;
    char *end;
    long delta = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0 && vals[i])
            return ge_buf_puts(out, vals[i]) < 0 ? GE_ERR_LIMIT : 1;
    for (size_t i = 0; v->captures && i < CF_MAX_CAPTURES; i++)
        if (v->captures->name[i] && v->captures->value[i] && strlen(v->captures->name[i]) == n &&
            memcmp(v->captures->name[i], name, n) == 0)
            return ge_buf_puts(out, v->captures->value[i]) < 0 ? GE_ERR_LIMIT : 1;
    double base;

    if (n >= 6 && memcmp(name, "isonow", 6) == 0) {
        iso = 1;
        base = v->now;
        name += 6;
        n -= 6;
    } else if (n >= 3 && memcmp(name, "now", 3) == 0) {
        base = v->now;
        name += 3;
        n -= 3;
    } else if (n >= 8 && memcmp(name, "isostart", 8) == 0) {
        iso = 1;
        base = v->start;
        name += 8;
        n -= 8;
    } else if (n >= 5 && memcmp(name, "start", 5) == 0) {
        base = v->start;
        name += 5;
        n -= 5;
    } else {
        return 0;
    }
    if (n) {
        char num[24];
        if ((name[0] != '+' && name[0] != '-') || n >= sizeof(num))
            return 0;
        memcpy(num, name, n);
        num[n] = '\0';
        delta = strtol(num, &end, 10);
        if (*end || end == num + 1)
            return 0;
    }
    long long when = (long long)base + delta;
    if (!iso)
        return ge_buf_printf(out, "%lld", when) < 0 ? GE_ERR_LIMIT : 1;
    time_t tt = (time_t)when;
    struct tm tm;
    char iso_s[32];
    if (!gmtime_r(&tt, &tm) || !strftime(iso_s, sizeof(iso_s), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return 0;
    return ge_buf_puts(out, iso_s) < 0 ? GE_ERR_LIMIT : 1;
}

int cf_substitute(const char *text, size_t len, const cf_vars_t *vars, ge_buf_t *out)
{
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *open = memchr(p, '{', (size_t)(end - p));
        const char *close;
        int r;

        if (!open)
            return ge_buf_append(out, p, (size_t)(end - p));
        if (ge_buf_append(out, p, (size_t)(open - p)) < 0)
            return GE_ERR_LIMIT;
        close = memchr(open, '}', (size_t)(end - open));
        if (!close || close - open > 40) {
            if (ge_buf_putc(out, '{') < 0)
                return GE_ERR_LIMIT;
            p = open + 1;
            continue;
        }
        r = put_var(open + 1, (size_t)(close - open - 1), vars, out);
        if (r < 0)
            return r;
        if (r == 0) {
            /* not a placeholder (e.g. a JSON object): keep the brace and look inside it */
            if (ge_buf_putc(out, '{') < 0)
                return GE_ERR_LIMIT;
            p = open + 1;
            continue;
        }
        p = close + 1;
    }
    return 0;
}

/* The action's if-header / unless-header conditions against the request's HEADERS. */
static int headers_allow(const cf_action_t *a, const char *headers)
{
    int has_if = a->if_header && headers && strstr(headers, a->if_header);
    int has_unless = a->unless_header && headers && strstr(headers, a->unless_header);

    return (!a->if_header || has_if) && (!a->unless_header || !has_unless);
}

static int fault_applies(const cf_action_t *a, unsigned fired, double t, const char *path, const char *headers)
{
    return a->kind == CF_ACT_FAULT && cf_path_matches(a->path, path) && t >= a->from &&
           (a->until < 0 || t < a->until) && (a->times == 0 || fired < a->times) && headers_allow(a, headers);
}

int cf_serve(const cf_case_t *c, cf_serve_state_t *st, const cf_vars_t *vars, double t, const char *method,
             const char *path, const char *body, const char *default_type, cf_answer_t *ans, ge_buf_t *body_out)
{
    return cf_serve_req(c, st, vars, t, method, path, NULL, body, default_type, ans, body_out);
}

void cf_captures_clear(cf_captures_t *caps)
{
    for (size_t i = 0; i < CF_MAX_CAPTURES; i++) {
        free(caps->value[i]);
        caps->value[i] = NULL;
        caps->name[i] = NULL;
    }
}

/* The case's capture lines that match this request take their value from its body. */
static void take_captures(const cf_case_t *c, cf_captures_t *caps, const char *method, const char *path,
                          const char *body)
{
    size_t k = 0;

    for (size_t i = 0; i < c->n_actions && k < CF_MAX_CAPTURES; i++) {
        const cf_action_t *a = &c->actions[i];
        const char *from, *to;
        char *val;
        if (a->kind != CF_ACT_CAPTURE)
            continue;
        k++;
        if (strcmp(a->method, method) != 0 || !cf_path_matches(a->path, path) || !body ||
            !(from = strstr(body, a->after)))
            continue;
        from += strlen(a->after);
        if (!(to = strstr(from, a->before)) || to - from > 2048)
            continue;
        if (!(val = malloc((size_t)(to - from) + 1)))
            continue;
        memcpy(val, from, (size_t)(to - from));
        val[to - from] = '\0';
        free(caps->value[k - 1]);
        caps->value[k - 1] = val;
        caps->name[k - 1] = a->name;
    }
}

/* A reply's or send's body, placeholders filled, into OUT; with vars->signer an oadrPayload is
 * XML-signed (a body that is not one, e.g. a case's deliberately broken payload, goes as written). */
static int render_body(const char *text, size_t len, const cf_vars_t *vars, ge_buf_t *out)
{
    ge_buf_t plain;
    char why[256];
    int rc;

    if (!vars->signer || !len || !strstr(text, "oadrPayload"))
        return cf_substitute(text, len, vars, out);
    ge_buf_init(&plain, NULL, CF_CASE_MAX_BODY * 4);
    rc = cf_substitute(text, len, vars, &plain);
    if (rc == 0 && oadr_sig_sign(vars->signer, plain.data, plain.len, vars->now - vars->time_offset, out, why,
                                 sizeof(why)) < 0)
        rc = ge_buf_append(out, plain.data, plain.len);
    ge_buf_free(&plain);
    return rc;
}

int cf_send_render(const cf_action_t *a, const cf_vars_t *vars, ge_buf_t *url, ge_buf_t *body)
{
    int rc;

    if ((rc = cf_substitute(a->path, strlen(a->path), vars, url)) < 0 ||
        (rc = render_body(a->body, a->body_len, vars, body)) < 0)
        return rc;
    if (!url->data || strchr(url->data, '{'))
        return GE_ERR_NOTFOUND;
    return 0;
}

int cf_serve_req(const cf_case_t *c, cf_serve_state_t *st, const cf_vars_t *vars, double t, const char *method,
                 const char *path, const char *headers, const char *body, const char *default_type, cf_answer_t *ans,
                 ge_buf_t *body_out)
{
    const cf_action_t *best = NULL;
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

    memset(ans, 0, sizeof(*ans));
    ans->kind = CF_ANSWER_HTTP;
    if (vars->captures && !is_get)
        take_captures(c, vars->captures, method, path, body);

    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        if (!fault_applies(a, st->fired[i], t, path, headers))
            continue;
        st->fired[i]++;
        ans->by = a;
        switch (a->fault) {
        case CF_FAULT_CLOSE:
            ans->kind = CF_ANSWER_CLOSE;
            return 0;
        case CF_FAULT_GARBAGE:
            ans->kind = CF_ANSWER_GARBAGE;
            ans->status = 200;
            ans->type = default_type;
            return ge_buf_puts(body_out, "<<garbage & not xml\x01") < 0 ? GE_ERR_LIMIT : 0;
        case CF_FAULT_STATUS:
            ans->status = a->status;
            return 0;
        case CF_FAULT_DELAY:
            ans->delay_ms = a->delay_ms;
            break; /* then answer normally */
        }
        break;
    }

    if (is_get) {
        /* the latest resource or delete for this exact path that has taken effect by T */
        for (size_t i = 0; i < c->n_actions; i++) {
            const cf_action_t *a = &c->actions[i];
            if ((a->kind != CF_ACT_RESOURCE && a->kind != CF_ACT_DELETE) || a->at > t ||
                !cf_path_matches(a->path, path))
                continue;
            if (!best || a->at >= best->at)
                best = a;
        }
        if (!best || best->kind == CF_ACT_DELETE) {
            ans->status = 404;
            ans->by = best;
            return 0;
        }
        ans->by = best;
        ans->status = best->status;
        ans->type = best->type ? best->type : default_type;
        return cf_substitute(best->body, best->body_len, vars, body_out);
    }

    for (size_t i = 0; i < c->n_actions; i++) {
        const cf_action_t *a = &c->actions[i];
        if (a->kind != CF_ACT_REPLY || strcmp(a->method, method) != 0 || !cf_path_matches(a->path, path) ||
            (a->match && (!body || !strstr(body, a->match))) || (a->times && st->fired[i] >= a->times) ||
            t < a->from || (a->until >= 0 && t >= a->until) || !headers_allow(a, headers))
            continue;
        st->fired[i]++;
        ans->by = a;
        ans->status = a->status;
        ans->type = a->body_len ? (a->type ? a->type : default_type) : NULL;
        if (a->location)
            snprintf(ans->location, sizeof(ans->location), "%s", a->location);
        return render_body(a->body, a->body_len, vars, body_out);
    }

    /* No script for it: accept as a 2030.5 server does (POST creates, PUT/DELETE succeed). */
    if (strcmp(method, "POST") == 0) {
        size_t plen = strcspn(path, "?");
        ans->status = 201;
        snprintf(ans->location, sizeof(ans->location), "%.*s/%u", (int)(plen < 500 ? plen : 500), path, ++st->posts);
    } else {
        ans->status = 204;
    }
    return 0;
}
