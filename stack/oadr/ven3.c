/* ven3.c - the OpenADR 3.0 VEN engine, sans I/O (see gridedge/oadr3.h).
 *
 * Every exchange is a REST call on the VTN's base path with a JSON body (OpenADR 3.0.1 API).  The
 * engine keeps one request in flight and decides the next one from its state: a token when it has
 * none, the VEN's registration, the reports due, the subscriptions, and a polling round (programs,
 * then each program's events, page by page).  JSON is read with jansson; the messages' shapes live
 * in msg3.c. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/oadr3.h>

#include "stack/oadr/oadr3_internal.h"

#define MOD "oadr3"
#define MEDIA_JSON "application/json"
#define MEDIA_FORM "application/x-www-form-urlencoded"
#define RETRY_MAX_S 60.0

enum { RD_NONE = 0, RD_POSTED, RD_FINAL };

struct oadr3_ven {
    oadr3_ven_config_t cfg;
    char base[OADR3_PATH_MAX / 2], token_path[OADR3_PATH_MAX], ven_name[OADR3_ID_MAX];
    char *client_id, *client_secret, *callback_url, *callback_token, *target_q;
    char (*resources)[OADR3_ID_MAX];
    size_t n_resources;
    unsigned poll_s, limit;
    double offset;
    oadr3_telemetry_t tel;

    /* auth */
    char *token;
    char auth_header[4200];
    double token_exp;        /* local time; 0: never */
    double auth_retry;       /* no token request before */
    double auth_backoff;
    int fixed_token;

    /* registration */
    char ven_id[OADR3_ID_MAX];
    int ven_found_none;      /* the search found no VEN of our name: create it */
    int res_listed;
    unsigned char res_have[OADR3_MAX_RESOURCES];
    int reg_done;
    double reg_retry;

    /* known state */
    o3_program_t progs[OADR3_MAX_PROGRAMS];
    size_t n_progs;
    o3_event_t *events[OADR3_MAX_EVENTS];
    size_t n_events;

    /* the polling round in progress */
    int round;               /* 0 none, 1 programs, 2 events */
    unsigned skip;
    size_t prog_idx;
    o3_program_t next_progs[OADR3_MAX_PROGRAMS];
    size_t n_next_progs;
    o3_event_t *next_events[OADR3_MAX_EVENTS];
    size_t n_next_events;
    double next_poll;

    /* subscriptions: one per program, by program id */
    struct { char program[OADR3_ID_MAX]; char id[OADR3_ID_MAX]; int state; double retry; } subs[OADR3_MAX_PROGRAMS];
    size_t n_subs;
    int shutting_down;

    /* the request in flight */
    uint32_t next_id, inflight;
    oadr3_req_kind inflight_kind;
    const char *method;      /* of the request in flight */
    char ctx[OADR3_ID_MAX];  /* the event, resource or program the request is about */
    char path[OADR3_PATH_MAX];
    char *body;
    oadr3_ven_stats_t stats;
};

/* --- small helpers ------------------------------------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static char *dup_s(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Percent-encode S (RFC 3986 unreserved kept) onto the end of DST. */
static void url_append(char *dst, size_t n, const char *s)
{
    size_t k = strlen(dst);
    static const char hex[] = "0123456789ABCDEF";

    for (; *s && k + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            dst[k++] = (char)c;
        } else {
            dst[k++] = '%';
            dst[k++] = hex[c >> 4];
            dst[k++] = hex[c & 15];
        }
    }
    dst[k] = '\0';
}

static int64_t server_now(const oadr3_ven_t *v, double now)
{
    return (int64_t)floor(now + v->offset);
}

static void free_events(o3_event_t **ev, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free(ev[i]);
    *n = 0;
}

static o3_event_t *find_event(o3_event_t **ev, size_t n, const char *id, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i]->id, id) == 0) {
            if (at)
                *at = i;
            return ev[i];
        }
    return NULL;
}

static int program_known(const oadr3_ven_t *v, const char *id)
{
    for (size_t i = 0; i < v->n_progs; i++)
        if (strcmp(v->progs[i].id, id) == 0)
            return 1;
    return 0;
}

/* --- lifecycle ----------------------------------------------------------------------------- */

int oadr3_ven_new(oadr3_ven_t **out, const oadr3_ven_config_t *cfg)
{
    oadr3_ven_t *v;
    size_t bl;

    *out = NULL;
    if (!cfg || !cfg->ven_name || !*cfg->ven_name || strlen(cfg->ven_name) >= OADR3_ID_MAX || !cfg->base_path ||
        cfg->base_path[0] != '/' || strlen(cfg->base_path) >= OADR3_PATH_MAX / 2 ||
        (!cfg->client_id != !cfg->client_secret) || cfg->n_resources > OADR3_MAX_RESOURCES)
        return GE_ERR_INVALID;
    v = calloc(1, sizeof(*v));
    if (!v)
        return GE_ERR_NOMEM;
    v->cfg = *cfg;
    copy_str(v->base, sizeof(v->base), cfg->base_path);
    bl = strlen(v->base);
    while (bl > 1 && v->base[bl - 1] == '/')
        v->base[--bl] = '\0';
    if (cfg->token_path)
        copy_str(v->token_path, sizeof(v->token_path), cfg->token_path);
    else
        snprintf(v->token_path, sizeof(v->token_path), "%s/auth/token", v->base);
    copy_str(v->ven_name, sizeof(v->ven_name), cfg->ven_name);
    v->poll_s = cfg->poll_s ? cfg->poll_s : 10;
    v->limit = cfg->page_limit ? (cfg->page_limit > 50 ? 50 : cfg->page_limit) : 50;
    v->client_id = dup_s(cfg->client_id);
    v->client_secret = dup_s(cfg->client_secret);
    v->callback_url = dup_s(cfg->callback_url);
    v->callback_token = dup_s(cfg->callback_token);
    v->resources = cfg->n_resources ? calloc(cfg->n_resources, sizeof(*v->resources)) : NULL;
    if ((cfg->client_id && (!v->client_id || !v->client_secret)) || (cfg->callback_url && !v->callback_url) ||
        (cfg->callback_token && !v->callback_token) ||
        (cfg->n_resources && !v->resources))
        goto nomem;
    v->n_resources = cfg->n_resources;
    for (size_t i = 0; i < cfg->n_resources; i++)
        copy_str(v->resources[i], sizeof(v->resources[i]), cfg->resources[i]);
    if (cfg->target_type && cfg->target_values) {
        char q[OADR3_PATH_MAX] = "&targetType=";
        const char *p = cfg->target_values;
        url_append(q, sizeof(q), cfg->target_type);
        while (*p) {
            size_t n = strcspn(p, ",");
            char one[OADR3_ID_MAX];
            snprintf(one, sizeof(one), "%.*s", (int)(n < sizeof(one) - 1 ? n : sizeof(one) - 1), p);
            strncat(q, "&targetValues=", sizeof(q) - strlen(q) - 1);
            url_append(q, sizeof(q), one);
            p += n + (p[n] == ',');
        }
        if (!(v->target_q = strdup(q)))
            goto nomem;
    }
    if (cfg->token) {
        if (strlen(cfg->token) > 4096 || !(v->token = strdup(cfg->token)))
            goto nomem;
        v->fixed_token = 1;
        snprintf(v->auth_header, sizeof(v->auth_header), "Bearer %s", v->token);
    }
    v->next_id = 1;
    *out = v;
    return 0;
nomem:
    oadr3_ven_free(v);
    return GE_ERR_NOMEM;
}

void oadr3_ven_free(oadr3_ven_t *v)
{
    if (!v)
        return;
    free_events(v->events, &v->n_events);
    free_events(v->next_events, &v->n_next_events);
    free(v->client_id);
    free(v->client_secret);
    free(v->callback_url);
    free(v->callback_token);
    free(v->target_q);
    free(v->resources);
    free(v->token);
    free(v->body);
    free(v);
}

void oadr3_ven_set_telemetry(oadr3_ven_t *v, const oadr3_telemetry_t *t)
{
    v->tel = *t;
}

void oadr3_ven_set_time_offset(oadr3_ven_t *v, double offset)
{
    v->offset = offset;
}

double oadr3_ven_server_time(const oadr3_ven_t *v, double now)
{
    return now + v->offset;
}

/* --- requests ------------------------------------------------------------------------------ */

static int need_token(const oadr3_ven_t *v, double now)
{
    if (!v->client_id)
        return 0;
    return !v->token || (v->token_exp > 0 && now >= v->token_exp);
}

static int emit(oadr3_ven_t *v, oadr3_request_t *req, oadr3_req_kind kind, const char *method, char *body,
                const char *ctype, const char *ctx)
{
    free(v->body);
    v->body = body;
    memset(req, 0, sizeof(*req));
    req->id = v->next_id++;
    if (v->next_id == 0)
        v->next_id = 1;
    req->kind = kind;
    req->method = method;
    req->path = v->path;
    req->body = body;
    req->body_len = body ? strlen(body) : 0;
    req->content_type = body ? ctype : NULL;
    req->authorization = kind != OADR3_REQ_TOKEN && v->token ? v->auth_header : NULL;
    v->inflight = req->id;
    v->inflight_kind = kind;
    v->method = method;
    copy_str(v->ctx, sizeof(v->ctx), ctx);
    v->stats.requests++;
    return 1;
}

static int emit_json(oadr3_ven_t *v, oadr3_request_t *req, oadr3_req_kind kind, const char *method, json_t *body,
                     const char *ctx)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (!text)
        return GE_ERR_NOMEM;
    return emit(v, req, kind, method, text, MEDIA_JSON, ctx);
}

static int token_request(oadr3_ven_t *v, oadr3_request_t *req)
{
    size_t n = strlen(v->client_id) * 3 + strlen(v->client_secret) * 3 + 80;
    char *body = malloc(n);

    if (!body)
        return GE_ERR_NOMEM;
    snprintf(body, n, "grant_type=client_credentials&client_id=");
    url_append(body, n, v->client_id);
    strncat(body, "&client_secret=", n - strlen(body) - 1);
    url_append(body, n, v->client_secret);
    copy_str(v->path, sizeof(v->path), v->token_path);
    return emit(v, req, OADR3_REQ_TOKEN, "POST", body, MEDIA_FORM, NULL);
}

static void page_path(oadr3_ven_t *v, const char *what, const char *program)
{
    snprintf(v->path, sizeof(v->path), "%s/%s?", v->base, what);
    if (program) {
        strncat(v->path, "programID=", sizeof(v->path) - strlen(v->path) - 1);
        url_append(v->path, sizeof(v->path), program);
        strncat(v->path, "&", sizeof(v->path) - strlen(v->path) - 1);
    }
    snprintf(v->path + strlen(v->path), sizeof(v->path) - strlen(v->path), "skip=%u&limit=%u%s", v->skip, v->limit,
             v->target_q ? v->target_q : "");
}

static int registration_request(oadr3_ven_t *v, oadr3_request_t *req)
{
    if (!v->ven_id[0]) {
        if (!v->ven_found_none) {
            snprintf(v->path, sizeof(v->path), "%s/vens?venName=", v->base);
            url_append(v->path, sizeof(v->path), v->ven_name);
            return emit(v, req, OADR3_REQ_FIND_VEN, "GET", NULL, NULL, NULL);
        }
        snprintf(v->path, sizeof(v->path), "%s/vens", v->base);
        return emit_json(v, req, OADR3_REQ_CREATE_VEN, "POST", oadr__v3_ven_json(v->ven_name), NULL);
    }
    if (!v->res_listed) {
        snprintf(v->path, sizeof(v->path), "%s/vens/", v->base);
        url_append(v->path, sizeof(v->path), v->ven_id);
        strncat(v->path, "/resources", sizeof(v->path) - strlen(v->path) - 1);
        return emit(v, req, OADR3_REQ_LIST_RESOURCES, "GET", NULL, NULL, NULL);
    }
    for (size_t i = 0; i < v->n_resources; i++) {
        if (v->res_have[i])
            continue;
        snprintf(v->path, sizeof(v->path), "%s/vens/", v->base);
        url_append(v->path, sizeof(v->path), v->ven_id);
        strncat(v->path, "/resources", sizeof(v->path) - strlen(v->path) - 1);
        return emit_json(v, req, OADR3_REQ_CREATE_RESOURCE, "POST", oadr__v3_resource_json(v->resources[i], v->ven_id),
                         v->resources[i]);
    }
    v->reg_done = 1;
    return 0;
}

static int report_request(oadr3_ven_t *v, double now, oadr3_request_t *req)
{
    int64_t snow = server_now(v, now);

    for (size_t i = 0; i < v->n_events; i++) {
        o3_event_t *e = v->events[i];
        int final;
        json_t *body;
        if (!e->n_rd || e->report_state == RD_FINAL || e->n_iv == 0 || snow < e->start || now < e->report_next)
            continue;
        final = e->end != INT64_MAX && snow >= e->end;
        if (e->report_state == RD_NONE && final && !e->report_started) {
            e->report_state = RD_FINAL; /* ended before we could report on it: nothing to say */
            continue;
        }
        body = oadr__v3_report_json(e, v->ven_name, &v->tel, snow);
        if (!body) {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "event %s asks for reports of %s%s: not a kind we report (DEMAND, "
                   "READING, USAGE, STORAGE_CHARGE_LEVEL, SIMPLE_LEVEL, SETPOINT); none sent", e->id, e->rd[0],
                   e->n_rd > 1 ? ", ..." : "");
            e->report_state = RD_FINAL;
            continue;
        }
        if (e->report_state == RD_NONE || !e->report_id[0]) {
            snprintf(v->path, sizeof(v->path), "%s/reports", v->base);
            return emit_json(v, req, OADR3_REQ_CREATE_REPORT, "POST", body, e->id);
        }
        snprintf(v->path, sizeof(v->path), "%s/reports/", v->base);
        url_append(v->path, sizeof(v->path), e->report_id);
        return emit_json(v, req, OADR3_REQ_UPDATE_REPORT, "PUT", body, e->id);
    }
    return 0;
}

static int subscription_request(oadr3_ven_t *v, double now, oadr3_request_t *req)
{
    if (!v->callback_url)
        return 0;
    for (size_t i = 0; i < v->n_subs; i++) {
        if (v->subs[i].state != 0 || now < v->subs[i].retry)
            continue;
        snprintf(v->path, sizeof(v->path), "%s/subscriptions", v->base);
        return emit_json(v, req, OADR3_REQ_SUBSCRIBE, "POST",
                         oadr__v3_subscription_json(v->ven_name, v->subs[i].program, v->callback_url,
                                                    v->callback_token),
                         v->subs[i].program);
    }
    return 0;
}

static int unsubscribe_request(oadr3_ven_t *v, oadr3_request_t *req)
{
    for (size_t i = 0; i < v->n_subs; i++) {
        if (v->subs[i].state != 1 || !v->subs[i].id[0])
            continue;
        v->subs[i].state = 3; /* asked once, whatever the answer */
        snprintf(v->path, sizeof(v->path), "%s/subscriptions/", v->base);
        url_append(v->path, sizeof(v->path), v->subs[i].id);
        return emit(v, req, OADR3_REQ_UNSUBSCRIBE, "DELETE", NULL, NULL, v->subs[i].program);
    }
    return 0;
}

int oadr3_ven_next_request(oadr3_ven_t *v, double now, oadr3_request_t *req)
{
    int rc;

    if (!v || !req)
        return GE_ERR_INVALID;
    if (v->inflight)
        return 0;
    if (need_token(v, now)) {
        if (now < v->auth_retry)
            return 0;
        return token_request(v, req);
    }
    if (v->fixed_token && now < v->auth_retry)
        return 0; /* the VTN refused our fixed token: wait before trying again */
    if (v->shutting_down)
        return unsubscribe_request(v, req);
    if (!v->reg_done && now >= v->reg_retry && (rc = registration_request(v, req)) != 0)
        return rc;
    if ((rc = report_request(v, now, req)) != 0)
        return rc;
    if ((rc = subscription_request(v, now, req)) != 0)
        return rc;
    if (!v->round && now >= v->next_poll) {
        v->round = 1;
        v->skip = 0;
        v->n_next_progs = 0;
        free_events(v->next_events, &v->n_next_events);
        v->stats.polls++;
    }
    if (v->round == 1) {
        page_path(v, "programs", NULL);
        return emit(v, req, OADR3_REQ_PROGRAMS, "GET", NULL, NULL, NULL);
    }
    if (v->round == 2) {
        page_path(v, "events", v->next_progs[v->prog_idx].id);
        return emit(v, req, OADR3_REQ_EVENTS, "GET", NULL, NULL, v->next_progs[v->prog_idx].id);
    }
    return 0;
}

/* --- answers ------------------------------------------------------------------------------- */

static void backoff(double *b)
{
    *b = *b < 1 ? 2 : (*b * 2 > RETRY_MAX_S ? RETRY_MAX_S : *b * 2);
}

/* The JSON body, or NULL (logged as a bad document) when it is not JSON. */
static json_t *parse_body(oadr3_ven_t *v, const char *what, const void *body, size_t len)
{
    json_error_t je;
    json_t *j;

    if (!body || !len) {
        ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: empty answer where JSON was expected; ignored", what);
        v->stats.bad_documents++;
        return NULL;
    }
    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s:%d:%d: malformed JSON: %s; ignored, last good state kept", what,
               je.line, je.column, je.text);
        v->stats.bad_documents++;
    }
    return j;
}

static void end_round(oadr3_ven_t *v, double now, int ok)
{
    v->round = 0;
    v->next_poll = now + v->poll_s; /* notifications come on top: a VTN may not deliver them */
    if (!ok) {
        free_events(v->next_events, &v->n_next_events);
        return;
    }
    /* the round is complete: its programs and events are what the VTN has for us now */
    for (size_t i = 0; i < v->n_events; i++) {
        o3_event_t *old = v->events[i];
        if (!find_event(v->next_events, v->n_next_events, old->id, NULL))
            ge_log(v->cfg.log, GE_LOG_INFO, MOD, "event %s is no longer listed: it stops applying", old->id);
    }
    free_events(v->events, &v->n_events);
    memcpy(v->events, v->next_events, v->n_next_events * sizeof(v->events[0]));
    v->n_events = v->n_next_events;
    v->n_next_events = 0;
    memcpy(v->progs, v->next_progs, v->n_next_progs * sizeof(v->progs[0]));
    v->n_progs = v->n_next_progs;
    v->stats.programs = v->n_progs;
    v->stats.events = v->n_events;
    /* a subscription per program (kept for programs still listed) */
    for (size_t i = 0; i < v->n_progs && v->callback_url; i++) {
        size_t k;
        for (k = 0; k < v->n_subs; k++)
            if (strcmp(v->subs[k].program, v->progs[i].id) == 0)
                break;
        if (k == v->n_subs && v->n_subs < OADR3_MAX_PROGRAMS) {
            memset(&v->subs[k], 0, sizeof(v->subs[k]));
            copy_str(v->subs[k].program, sizeof(v->subs[k].program), v->progs[i].id);
            v->n_subs++;
        }
    }
}

/* Carry the report state of an event we knew into its new version. */
static void carry_state(o3_event_t *to, const o3_event_t *from)
{
    copy_str(to->report_id, sizeof(to->report_id), from->report_id);
    to->report_state = from->report_state;
    to->report_next = from->report_next;
    to->report_started = from->report_started;
}

static void take_programs(oadr3_ven_t *v, json_t *arr, double now)
{
    size_t i, n = json_array_size(arr);
    json_t *p;

    json_array_foreach(arr, i, p) {
        o3_program_t prog;
        char why[256];
        if (oadr__v3_parse_program(p, &prog, why, sizeof(why)) < 0) {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: [%zu]%s; program ignored", v->path, i, why);
            v->stats.bad_documents++;
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < v->n_next_progs; k++)
            dup |= strcmp(v->next_progs[k].id, prog.id) == 0;
        if (dup)
            continue;
        if (v->n_next_progs == OADR3_MAX_PROGRAMS) {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "more than %d programs; program %s ignored", OADR3_MAX_PROGRAMS,
                   prog.id);
            continue;
        }
        v->next_progs[v->n_next_progs++] = prog;
    }
    if (n >= v->limit && n > 0) {
        v->skip += (unsigned)n;
        return; /* a full page: there may be more */
    }
    v->skip = 0;
    v->prog_idx = 0;
    if (v->n_next_progs == 0)
        end_round(v, now, 1);
    else
        v->round = 2;
}

/* Parse one event of a list or notification into a new object; NULL when it is refused (logged
 * with WHERE, the request and the element). */
static o3_event_t *take_event(oadr3_ven_t *v, json_t *j, const char *where)
{
    o3_event_t *e = calloc(1, sizeof(*e));
    char why[256];
    const char *id;

    if (!e)
        return NULL;
    if (oadr__v3_parse_event(j, e, v->cfg.seed, why, sizeof(why)) < 0) {
        id = json_string_value(json_object_get(j, "id"));
        ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: event %s: %s; ignored, last good version kept", where,
               id ? id : "(no id)", why);
        v->stats.bad_documents++;
        free(e);
        return NULL;
    }
    return e;
}

static void keep_old(oadr3_ven_t *v, json_t *j)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    o3_event_t *old = id ? find_event(v->events, v->n_events, id, NULL) : NULL, *copy;

    if (!old || find_event(v->next_events, v->n_next_events, id, NULL) || v->n_next_events == OADR3_MAX_EVENTS)
        return;
    if ((copy = malloc(sizeof(*copy))) != NULL) {
        *copy = *old;
        v->next_events[v->n_next_events++] = copy;
    }
}

static void take_events(oadr3_ven_t *v, json_t *arr, double now)
{
    size_t i, n = json_array_size(arr);
    json_t *j;
    char where[OADR3_PATH_MAX + 32];

    json_array_foreach(arr, i, j) {
        o3_event_t *e, *old;
        snprintf(where, sizeof(where), "%s: [%zu]", v->path, i);
        if (!(e = take_event(v, j, where))) {
            keep_old(v, j);
            continue;
        }
        if (strcmp(e->program_id, v->next_progs[v->prog_idx].id) != 0) {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: event %s belongs to program %s, not %s; ignored", where, e->id,
                   e->program_id, v->next_progs[v->prog_idx].id);
            free(e);
            continue;
        }
        if (find_event(v->next_events, v->n_next_events, e->id, NULL) || v->n_next_events == OADR3_MAX_EVENTS) {
            free(e);
            continue;
        }
        if ((old = find_event(v->events, v->n_events, e->id, NULL)) != NULL) {
            carry_state(e, old);
            if (strcmp(old->modified, e->modified) != 0)
                ge_log(v->cfg.log, GE_LOG_INFO, MOD, "event %s modified (%s): the new version replaces the old",
                       e->id, e->modified[0] ? e->modified : "no modificationDateTime");
        }
        v->next_events[v->n_next_events++] = e;
    }
    if (n >= v->limit && n > 0) {
        v->skip += (unsigned)n;
        return;
    }
    v->skip = 0;
    if (++v->prog_idx >= v->n_next_progs)
        end_round(v, now, 1);
}

static void on_token(oadr3_ven_t *v, int status, json_t *j, double now)
{
    char why[200];
    char *tok = NULL;
    double expires = 0;

    if (status < 200 || status > 299 || !j || oadr__v3_parse_token(j, &tok, &expires, why, sizeof(why)) < 0) {
        if (status >= 200 && status <= 299 && j) {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: token answer refused: %s", v->token_path, why);
            v->stats.bad_documents++;
        } else {
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: no token (HTTP %d)", v->token_path, status);
        }
        backoff(&v->auth_backoff);
        v->auth_retry = now + v->auth_backoff;
        return;
    }
    free(v->token);
    v->token = tok;
    snprintf(v->auth_header, sizeof(v->auth_header), "Bearer %s", tok);
    v->auth_backoff = 0;
    v->stats.tokens++;
    /* fetch a new one before this one runs out */
    v->token_exp = expires > 0 ? now + (expires > 20 ? expires - 10 : expires * 0.5) : 0;
}

static void on_rejected(oadr3_ven_t *v, int status, double now)
{
    ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s %s: HTTP %d: the VTN refused our token", v->method, v->path, status);
    if (v->client_id) {
        free(v->token);
        v->token = NULL; /* fetch a new one, then the same request again */
        if (now < v->auth_retry)
            return;
        if (v->stats.tokens && v->auth_backoff < 1)
            v->auth_backoff = 0.5; /* a fresh token refused at once: don't hammer the token endpoint */
        else if (v->auth_backoff >= 1)
            backoff(&v->auth_backoff);
        v->auth_retry = now + (v->auth_backoff >= 1 ? v->auth_backoff : 0);
    } else {
        backoff(&v->auth_backoff);
        v->auth_retry = now + v->auth_backoff;
    }
}

static void on_registration(oadr3_ven_t *v, int status, const char *location, json_t *j, double now)
{
    switch (v->inflight_kind) {
    case OADR3_REQ_FIND_VEN:
        if (status == 200 && j && json_is_array(j)) {
            size_t i;
            json_t *x;
            json_array_foreach(j, i, x) {
                const char *name = json_string_value(json_object_get(x, "venName"));
                const char *id = json_string_value(json_object_get(x, "id"));
                if (name && id && strcmp(name, v->ven_name) == 0 && oadr__v3_valid_id(id)) {
                    copy_str(v->ven_id, sizeof(v->ven_id), id);
                    copy_str(v->stats.ven_id, sizeof(v->stats.ven_id), id);
                    ge_log(v->cfg.log, GE_LOG_INFO, MOD, "VEN %s is registered as %s", v->ven_name, id);
                    return;
                }
            }
            v->ven_found_none = 1;
            return;
        }
        if (status == 200)
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: not a list of VENs; ignored", v->path);
        break;
    case OADR3_REQ_CREATE_VEN:
    case OADR3_REQ_CREATE_RESOURCE:
        if (status >= 200 && status <= 299) {
            const char *id = oadr__v3_created_id(j, location);
            if (v->inflight_kind == OADR3_REQ_CREATE_RESOURCE) {
                for (size_t i = 0; i < v->n_resources; i++)
                    if (strcmp(v->resources[i], v->ctx) == 0)
                        v->res_have[i] = 1;
                return;
            }
            if (!id) {
                ge_log(v->cfg.log, GE_LOG_WARN, MOD, "POST %s: the answer names no VEN id; searching again", v->path);
                v->ven_found_none = 0;
                break;
            }
            copy_str(v->ven_id, sizeof(v->ven_id), id);
            copy_str(v->stats.ven_id, sizeof(v->stats.ven_id), id);
            ge_log(v->cfg.log, GE_LOG_INFO, MOD, "VEN %s registered as %s", v->ven_name, id);
            return;
        }
        if (status == 409 && v->inflight_kind == OADR3_REQ_CREATE_VEN) {
            v->ven_found_none = 0; /* someone made it meanwhile: look it up */
            return;
        }
        break;
    case OADR3_REQ_LIST_RESOURCES:
        if (status == 200 && j && json_is_array(j)) {
            size_t i;
            json_t *x;
            json_array_foreach(j, i, x) {
                const char *name = json_string_value(json_object_get(x, "resourceName"));
                for (size_t k = 0; name && k < v->n_resources; k++)
                    if (strcmp(v->resources[k], name) == 0)
                        v->res_have[k] = 1;
            }
            v->res_listed = 1;
            return;
        }
        break;
    default:
        break;
    }
    ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s %s: HTTP %d; registration retried in %.0f s (polling goes on)", v->method,
           v->path, status, RETRY_MAX_S);
    v->reg_retry = now + RETRY_MAX_S;
}

static void on_report(oadr3_ven_t *v, int status, const char *location, json_t *j, double now)
{
    o3_event_t *e = find_event(v->events, v->n_events, v->ctx, NULL);
    int64_t snow = server_now(v, now);

    if (!e)
        return;
    if (status < 200 || status > 299) {
        ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: report for event %s not taken (HTTP %d); retried", v->path, e->id,
               status);
        if (status == 404 && v->inflight_kind == OADR3_REQ_UPDATE_REPORT)
            e->report_id[0] = '\0'; /* the VTN lost it: create it again */
        e->report_next = now + v->poll_s;
        return;
    }
    v->stats.reports++;
    e->report_started = 1;
    if (v->inflight_kind == OADR3_REQ_CREATE_REPORT) {
        const char *id = oadr__v3_created_id(j, location);
        if (id)
            copy_str(e->report_id, sizeof(e->report_id), id);
        else
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "POST %s: the answer names no report id; later updates POST again",
                   v->path);
    }
    if (e->end != INT64_MAX && snow >= e->end) {
        e->report_state = RD_FINAL;
    } else {
        e->report_state = RD_POSTED;
        e->report_next = now + v->poll_s;
        if (e->end != INT64_MAX && e->report_next > e->end - v->offset)
            e->report_next = (double)e->end - v->offset; /* the final one right at the end */
    }
}

static void on_subscription(oadr3_ven_t *v, int status, const char *location, json_t *j, double now)
{
    for (size_t i = 0; i < v->n_subs; i++) {
        if (strcmp(v->subs[i].program, v->ctx) != 0)
            continue;
        if (v->inflight_kind == OADR3_REQ_UNSUBSCRIBE) {
            if (status < 200 || status > 299)
                ge_log(v->cfg.log, GE_LOG_WARN, MOD, "DELETE %s: HTTP %d", v->path, status);
            return;
        }
        const char *id = status >= 200 && status <= 299 ? oadr__v3_created_id(j, location) : NULL;
        if (id) {
            v->subs[i].state = 1;
            copy_str(v->subs[i].id, sizeof(v->subs[i].id), id);
            ge_log(v->cfg.log, GE_LOG_INFO, MOD, "subscribed to program %s (%s)", v->subs[i].program, id);
        } else {
            v->subs[i].state = 0;
            v->subs[i].retry = now + 10.0 * v->poll_s;
            ge_log(v->cfg.log, GE_LOG_WARN, MOD, "POST %s for program %s: HTTP %d%s; polling instead", v->path,
                   v->subs[i].program, status, status >= 200 && status <= 299 ? " without an id" : "");
        }
        return;
    }
}

int oadr3_ven_response(oadr3_ven_t *v, uint32_t id, int status, const char *location, const void *body,
                       size_t len, double now)
{
    json_t *j = NULL;
    char what[OADR3_PATH_MAX + 16];

    if (!v || id == 0 || id != v->inflight)
        return GE_ERR_INVALID;
    v->inflight = 0;
    v->stats.responses++;
    snprintf(what, sizeof(what), "%s", v->path);
    if (status == 0 || status >= 500)
        v->stats.errors++;
    if ((status == 401 || status == 403) && v->inflight_kind != OADR3_REQ_TOKEN) {
        on_rejected(v, status, now);
        return 0; /* the same step comes again with a new token */
    }
    if (status >= 200 && status <= 299 && len > 0 &&
        (v->inflight_kind == OADR3_REQ_TOKEN || v->inflight_kind == OADR3_REQ_PROGRAMS ||
         v->inflight_kind == OADR3_REQ_EVENTS || v->inflight_kind == OADR3_REQ_FIND_VEN ||
         v->inflight_kind == OADR3_REQ_LIST_RESOURCES || v->inflight_kind == OADR3_REQ_CREATE_VEN ||
         v->inflight_kind == OADR3_REQ_CREATE_REPORT || v->inflight_kind == OADR3_REQ_SUBSCRIBE))
        j = parse_body(v, what, body, len);

    switch (v->inflight_kind) {
    case OADR3_REQ_TOKEN:
        on_token(v, status, j, now);
        break;
    case OADR3_REQ_FIND_VEN:
    case OADR3_REQ_CREATE_VEN:
    case OADR3_REQ_LIST_RESOURCES:
    case OADR3_REQ_CREATE_RESOURCE:
        on_registration(v, status, location, j, now);
        break;
    case OADR3_REQ_PROGRAMS:
    case OADR3_REQ_EVENTS:
        if (status != 200 || !j || !json_is_array(j)) {
            if (status == 200 && j)
                ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: expected a JSON array; ignored, last good state kept", what);
            else if (status != 200)
                ge_log(v->cfg.log, GE_LOG_WARN, MOD, "%s: HTTP %d; last good state kept", what, status);
            if (status == 200)
                v->stats.bad_documents += j != NULL;
            end_round(v, now, 0);
            break;
        }
        if (v->inflight_kind == OADR3_REQ_PROGRAMS)
            take_programs(v, j, now);
        else
            take_events(v, j, now);
        break;
    case OADR3_REQ_CREATE_REPORT:
    case OADR3_REQ_UPDATE_REPORT:
        on_report(v, status, location, j, now);
        break;
    case OADR3_REQ_SUBSCRIBE:
    case OADR3_REQ_UNSUBSCRIBE:
        on_subscription(v, status, location, j, now);
        break;
    }
    json_decref(j);
    return 0;
}

int oadr3_ven_notification(oadr3_ven_t *v, const void *body, size_t len, double now)
{
    json_t *j = parse_body(v, "notification", body, len), *obj;
    const char *type, *op, *id;
    o3_event_t *e, *old;
    size_t at;

    (void)now;
    if (!j)
        return 400;
    v->stats.notifications++;
    type = json_string_value(json_object_get(j, "objectType"));
    op = json_string_value(json_object_get(j, "operation"));
    obj = json_object_get(j, "object");
    if (!type || !op || !json_is_object(obj)) {
        ge_log(v->cfg.log, GE_LOG_WARN, MOD, "notification: objectType, operation and object are required; ignored");
        v->stats.bad_documents++;
        json_decref(j);
        return 400;
    }
    if (strcmp(type, "EVENT") != 0) {
        if (strcmp(type, "PROGRAM") == 0)
            v->next_poll = 0; /* programs changed: look again now */
        json_decref(j);
        return 200;
    }
    id = json_string_value(json_object_get(obj, "id"));
    if (strcmp(op, "DELETE") == 0) {
        if (id && (old = find_event(v->events, v->n_events, id, &at)) != NULL) {
            ge_log(v->cfg.log, GE_LOG_INFO, MOD, "notification: event %s deleted: it stops applying", id);
            free(old);
            v->events[at] = v->events[--v->n_events];
        }
        json_decref(j);
        return 200;
    }
    if (!(e = take_event(v, obj, "notification"))) {
        json_decref(j);
        return 400;
    }
    if (!program_known(v, e->program_id)) {
        ge_log(v->cfg.log, GE_LOG_INFO, MOD, "notification: event %s of program %s we do not follow; ignored", e->id,
               e->program_id);
        free(e);
        json_decref(j);
        return 200;
    }
    if ((old = find_event(v->events, v->n_events, e->id, &at)) != NULL) {
        carry_state(e, old);
        free(old);
        v->events[at] = e;
    } else if (v->n_events < OADR3_MAX_EVENTS) {
        v->events[v->n_events++] = e;
    } else {
        free(e);
    }
    v->stats.events = v->n_events;
    json_decref(j);
    return 200;
}

void oadr3_ven_shutdown(oadr3_ven_t *v)
{
    v->shutting_down = 1;
}

int oadr3_ven_done(const oadr3_ven_t *v)
{
    if (v->inflight)
        return 0;
    for (size_t i = 0; i < v->n_subs; i++)
        if (v->subs[i].state == 1 && v->subs[i].id[0])
            return 0;
    return 1;
}

/* --- control ------------------------------------------------------------------------------- */

int oadr3_ven_control(oadr3_ven_t *v, double now, oadr3_control_t *out)
{
    int64_t snow;
    int64_t best_prio[O3_PT_N];
    int *has[O3_PT_N];
    double *val[O3_PT_N];

    if (!v || !out)
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    snow = server_now(v, now);
    has[O3_PT_SIMPLE] = &out->has_level;
    val[O3_PT_SIMPLE] = &out->level;
    has[O3_PT_PRICE] = &out->has_price;
    val[O3_PT_PRICE] = &out->price;
    has[O3_PT_EXPORT_PRICE] = &out->has_export_price;
    val[O3_PT_EXPORT_PRICE] = &out->export_price;
    has[O3_PT_IMPORT_CAP] = &out->has_import_limit;
    val[O3_PT_IMPORT_CAP] = &out->import_limit_w;
    has[O3_PT_EXPORT_CAP] = &out->has_export_limit;
    val[O3_PT_EXPORT_CAP] = &out->export_limit_w;
    for (int k = 0; k < O3_PT_N; k++)
        best_prio[k] = INT64_MAX;
    for (size_t i = 0; i < v->n_events; i++) {
        const o3_event_t *e = v->events[i];
        const o3_interval_t *iv = oadr__v3_interval_at(e, snow);
        oadr3_active_event_t *a = NULL;
        if (!iv)
            continue;
        for (int k = 0; k < O3_PT_N; k++) {
            if (!iv->has[k])
                continue;
            /* lower priority number wins; equal: the first listed keeps it */
            if (e->priority < best_prio[k]) {
                best_prio[k] = e->priority;
                *has[k] = 1;
                *val[k] = iv->val[k];
            }
            if (!a && out->n_active < OADR3_MAX_ACTIVE) {
                a = &out->active[out->n_active++];
                copy_str(a->id, sizeof(a->id), e->id);
                copy_str(a->kind, sizeof(a->kind), oadr__v3_payload_name(k));
                a->value = iv->val[k];
                a->start = iv->start;
                a->end = iv->end;
            }
        }
    }
    return 0;
}

double oadr3_ven_next_wakeup(const oadr3_ven_t *v, double now)
{
    double t = now + 60;

    if (v->inflight)
        return t;
    if (v->shutting_down)
        t = now;
    else if (need_token(v, now))
        t = v->auth_retry;
    else if (v->round)
        t = now;
    else if (v->next_poll < t)
        t = v->next_poll;
    for (size_t i = 0; i < v->n_events; i++)
        if (v->events[i]->n_rd && v->events[i]->report_state != RD_FINAL && v->events[i]->report_next < t)
            t = v->events[i]->report_next;
    if (v->n_events)
        t = t < now + 1 ? t : now + 1; /* intervals start and end on the VTN's clock */
    return t < now ? now : t;
}

void oadr3_ven_stats(const oadr3_ven_t *v, oadr3_ven_stats_t *out)
{
    *out = v->stats;
    out->have_token = v->token != NULL;
    out->programs = v->n_progs;
    out->events = v->n_events;
    out->subscriptions = 0;
    for (size_t i = 0; i < v->n_subs; i++)
        out->subscriptions += v->subs[i].state == 1;
    copy_str(out->ven_id, sizeof(out->ven_id), v->ven_id);
}
