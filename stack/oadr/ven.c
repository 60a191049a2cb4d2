/* ven.c - the OpenADR 2.0b VEN engine: registration, polling, events and their oadrCreatedEvent
 * answers (see gridedge/oadr.h).  No I/O: requests go out through oadr_ven_next_request() and
 * answers come in through oadr_ven_response(). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/sched.h>
#include <gridedge/xml.h>

#include "stack/oadr/oadr_internal.h"

#define RETRY_MIN 2.0
#define RETRY_MAX 60.0
#define MAX_REPLIES 8          /* answers to VTN-initiated payloads waiting to go out */
#define OPEN_ENDED 0x7fffffffu /* a duration of PT0S: the event runs until cancelled (§8.3.1) */
#define MODE_SIMPLE 1u         /* our scheduler mode bits: which signal an event sets */
#define MODE_PRICE 2u

typedef enum reg_state { REG_NONE, REG_QUERIED, REG_DONE } reg_state;

typedef enum ev_status { EV_NONE, EV_FAR, EV_NEAR, EV_ACTIVE, EV_COMPLETED, EV_CANCELLED } ev_status;

typedef struct sig_interval {
    int64_t off;   /* seconds after the event's start */
    int64_t dur;   /* 0: to the end of the event */
    double value;
} sig_interval_t;

typedef struct ven_event {
    int used;
    char id[OADR_ID_MAX];
    uint32_t mod;
    ev_status status;
    int respond;              /* oadrResponseRequired always */
    int responded;            /* the oadrCreatedEvent for MOD has gone out */
    char request_id[128];     /* of the oadrDistributeEvent that carried it: the answer quotes it */
    int64_t start;
    int64_t duration;         /* OPEN_ENDED for open-ended */
    int test;                 /* testEvent: acknowledged, never acted on */
    uint32_t program;         /* the scheduler's program number for this event */
    unsigned gen;
    size_t n_simple, n_price;
    sig_interval_t simple[OADR_MAX_INTERVALS];
    sig_interval_t price[OADR_MAX_INTERVALS];
} ven_event_t;

typedef struct reply {
    int used;
    oadr_msg_kind kind;       /* OADR_MSG_RESPONSE or OADR_MSG_CANCELED_PARTY_REGISTRATION */
    char service[24];         /* EiRegisterParty, EiReport, EiOpt, EiEvent */
    char code[4];
    char description[64];
    char request_id[128];
} reply_t;

struct oadr_ven {
    oadr_ven_config_t cfg;
    const ge_mem_t *mem;
    char base[OADR_PATH_MAX];
    char ven_name[OADR_ID_MAX * 2];
    char ven_id[OADR_ID_MAX];
    char registration_id[OADR_ID_MAX];
    char vtn_id[OADR_ID_MAX];
    reg_state reg;
    int need_request_event;
    double reg_next;          /* local time the next registration step may go */
    double reg_backoff;
    unsigned poll_s;
    double next_poll;
    double poll_backoff;
    double offset;
    ge_sched_t *sched;
    ge_xml_decoder_t *dec;
    ge_arena_t *arena;
    ven_event_t events[OADR_MAX_EVENTS];
    uint32_t next_program;
    unsigned gen;
    reply_t replies[MAX_REPLIES];
    /* the one request outstanding */
    int inflight;
    uint32_t inflight_id;
    oadr_msg_kind inflight_kind;
    int inflight_event;       /* index, for a created event */
    char path[OADR_PATH_MAX + 32];
    ge_buf_t body;
    uint32_t next_id;
    unsigned long request_no;
    oadr_ven_stats_t stats;
};

/* ---- helpers ------------------------------------------------------------------------------------------ */

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Text of an xs:string/token field, trimmed of the whitespace a pretty-printed VTN adds. */
static void copy_trim(char *dst, size_t size, const char *src)
{
    const char *e;

    if (!src) {
        dst[0] = '\0';
        return;
    }
    while (*src == ' ' || *src == '\t' || *src == '\n' || *src == '\r')
        src++;
    e = src + strlen(src);
    while (e > src && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    if ((size_t)(e - src) >= size)
        e = src + size - 1;
    memcpy(dst, src, (size_t)(e - src));
    dst[e - src] = '\0';
}

static int trimmed_eq(const char *s, const char *want)
{
    char buf[64];

    copy_trim(buf, sizeof(buf), s);
    return strcmp(buf, want) == 0;
}

static int64_t server_now(const oadr_ven_t *v, double now)
{
    return (int64_t)floor(now + v->offset);
}

static void new_request_id(oadr_ven_t *v, char *out, size_t size)
{
    v->request_no++;
    snprintf(out, size, "ge-%08llx-%lu", (unsigned long long)(v->cfg.seed & 0xffffffffu), v->request_no);
}

static double backoff(double cur, double cap)
{
    double b = cur > 0 ? cur * 2 : RETRY_MIN;
    return b > cap ? cap : b;
}

/* ---- creation ----------------------------------------------------------------------------------------- */

int oadr_ven_new(oadr_ven_t **out, const oadr_ven_config_t *cfg)
{
    const ge_mem_t *mem = cfg && cfg->mem ? cfg->mem : ge_mem_default();
    oadr_ven_t *v;
    int rc;

    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!cfg || !cfg->base_path || cfg->base_path[0] != '/' || strlen(cfg->base_path) >= OADR_PATH_MAX ||
        !cfg->ven_name || !*cfg->ven_name || strlen(cfg->ven_name) >= OADR_ID_MAX * 2 ||
        (cfg->ven_id && strlen(cfg->ven_id) >= OADR_ID_MAX) ||
        (cfg->registration_id && strlen(cfg->registration_id) >= OADR_ID_MAX))
        return GE_ERR_INVALID;
    v = mem->malloc(sizeof(*v), mem->ud);
    if (!v)
        return GE_ERR_NOMEM;
    memset(v, 0, sizeof(*v));
    v->cfg = *cfg;
    v->mem = mem;
    copy_str(v->base, sizeof(v->base), cfg->base_path);
    /* a trailing slash would double up in the service paths */
    if (strlen(v->base) > 1 && v->base[strlen(v->base) - 1] == '/')
        v->base[strlen(v->base) - 1] = '\0';
    copy_str(v->ven_name, sizeof(v->ven_name), cfg->ven_name);
    copy_str(v->ven_id, sizeof(v->ven_id), cfg->ven_id);
    copy_str(v->registration_id, sizeof(v->registration_id), cfg->registration_id);
    v->cfg.ven_id = v->cfg.registration_id = NULL;
    if (!v->cfg.default_poll_s)
        v->cfg.default_poll_s = 60;
    if (!v->cfg.min_poll_s)
        v->cfg.min_poll_s = 1;
    v->poll_s = v->cfg.default_poll_s;
    v->next_id = 1;
    v->next_program = 1;
    ge_buf_init(&v->body, mem, 256 * 1024);
    if ((rc = ge_sched_new(&v->sched, mem, cfg->seed)) < 0 || (rc = ge_xml_decoder_new(&v->dec, mem, NULL, cfg->log)) < 0 ||
        (rc = ge_arena_new(&v->arena, mem, 16384, 8u << 20)) < 0) {
        oadr_ven_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void oadr_ven_free(oadr_ven_t *v)
{
    if (!v)
        return;
    ge_buf_free(&v->body);
    ge_sched_free(v->sched);
    ge_xml_decoder_free(v->dec);
    ge_arena_free(v->arena);
    v->mem->free(v, v->mem->ud);
}

/* ---- events ------------------------------------------------------------------------------------------- */

static ven_event_t *event_find(oadr_ven_t *v, const char *id)
{
    for (int i = 0; i < OADR_MAX_EVENTS; i++)
        if (v->events[i].used && strcmp(v->events[i].id, id) == 0)
            return &v->events[i];
    return NULL;
}

static void event_drop(oadr_ven_t *v, ven_event_t *e)
{
    ge_sched_remove(v->sched, e->id);
    e->used = 0;
    v->stats.events_known--;
}

static void events_clear(oadr_ven_t *v)
{
    for (int i = 0; i < OADR_MAX_EVENTS; i++)
        if (v->events[i].used)
            event_drop(v, &v->events[i]);
}

static ev_status parse_status(const char *s)
{
    static const struct { const char *name; ev_status st; } map[] = {
        { "none", EV_NONE }, { "far", EV_FAR }, { "near", EV_NEAR },
        { "active", EV_ACTIVE }, { "completed", EV_COMPLETED }, { "cancelled", EV_CANCELLED },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (trimmed_eq(s, map[i].name))
            return map[i].st;
    return EV_NONE;
}

/* The intervals of one signal into OUT (at most OADR_MAX_INTERVALS): each starts where the one
 * before it ends (§8.3.1: interval durations are relative, starting at the event's dtstart).
 * The count, or -1 with WHY filled for an impossible interval. */
static int take_intervals(const oadr_strm_intervals_t *in, sig_interval_t *out, char *why, size_t why_len)
{
    int64_t off = 0;
    size_t n = 0;

    if (!in)
        return 0;
    for (size_t i = 0; i < in->interval_count && n < OADR_MAX_INTERVALS; i++) {
        const oadr_ei_IntervalType_t *iv = in->interval[i];
        int64_t dur = 0;
        if (iv->duration && iv->duration->duration && oadr_parse_duration(iv->duration->duration, &dur) < 0) {
            snprintf(why, why_len, "interval %zu: bad duration '%.40s'", i + 1, iv->duration->duration);
            return -1;
        }
        if (dur < 0) {
            snprintf(why, why_len, "interval %zu: negative duration", i + 1);
            return -1;
        }
        if (iv->signalPayload_count < 1 || !iv->signalPayload[0]->payloadFloat) {
            off += dur;
            continue; /* no value: nothing asked for that interval */
        }
        out[n].off = off;
        out[n].dur = dur;
        out[n].value = iv->signalPayload[0]->payloadFloat->value;
        n++;
        off += dur;
    }
    return (int)n;
}

static void schedule(oadr_ven_t *v, ven_event_t *e, int64_t created, uint32_t priority, int32_t startafter)
{
    ge_sched_event_t ev;

    if (e->test || e->status == EV_CANCELLED || e->status == EV_COMPLETED || (!e->n_simple && !e->n_price)) {
        ge_sched_remove(v->sched, e->id);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    copy_str(ev.id, sizeof(ev.id), e->id);
    ev.program = e->program;
    /* priority: lower number wins; 0 means none, the lowest (EiEvent eventDescriptor). */
    ev.primacy = priority == 0 || priority > 254 ? 255 : (uint8_t)priority;
    ev.creation_time = created;
    ev.start = e->start;
    ev.duration = e->duration >= OPEN_ENDED ? OPEN_ENDED : (uint32_t)e->duration;
    ev.randomize_start = startafter;
    ev.status = e->status == EV_ACTIVE ? GE_EVENT_ACTIVE : GE_EVENT_SCHEDULED;
    ev.modes = (e->n_simple ? MODE_SIMPLE : 0) | (e->n_price ? MODE_PRICE : 0);
    ev.payload = e;
    if (ge_sched_put(v->sched, &ev) < 0)
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s could not be scheduled", e->id);
}

/* One oadrEvent of a distribute.  Returns 0, or -1 when it was refused (logged). */
static int take_event(oadr_ven_t *v, const oadr_oadrDistributeEventType_oadrEvent_t *oe, const char *request_id)
{
    const oadr_ei_eiEventType_t *ev = oe->eiEvent;
    const oadr_ei_eventDescriptorType_t *d = ev->eventDescriptor;
    const oadr_xcal_properties_t *props = ev->eiActivePeriod ? ev->eiActivePeriod->properties : NULL;
    char id[OADR_ID_MAX + 1], why[160];
    int64_t start = 0, dur = 0, created = 0, startafter = 0;
    ven_event_t *e, tmp;
    size_t len;

    copy_trim(id, sizeof(id), d->eventID);
    len = strlen(id);
    if (!len || len >= OADR_ID_MAX) {
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "an event with %s eventID ignored", len ? "a too long" : "an empty");
        return -1;
    }
    if (!props || !props->dtstart || !props->dtstart->date_time ||
        oadr_parse_datetime(props->dtstart->date_time, &start) < 0 || !props->duration ||
        !props->duration->duration || oadr_parse_duration(props->duration->duration, &dur) < 0 || dur < 0) {
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s: eiActivePeriod has no valid dtstart and duration; ignored",
               id);
        return -1;
    }
    if (d->createdDateTime)
        oadr_parse_datetime(d->createdDateTime, &created);
    if (props->tolerance && props->tolerance->tolerate && props->tolerance->tolerate->startafter &&
        oadr_parse_duration(props->tolerance->tolerate->startafter, &startafter) == 0)
        startafter = startafter < 0 ? 0 : startafter > 3600 ? 3600 : startafter;
    else
        startafter = 0;

    e = event_find(v, id);
    if (e && d->modificationNumber < e->mod) {
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s: modificationNumber %u is older than %u; ignored", id,
               (unsigned)d->modificationNumber, (unsigned)e->mod);
        e->gen = v->gen;
        return -1;
    }
    /* build the new version aside, so a refused one leaves the last good one in place */
    memset(&tmp, 0, sizeof(tmp));
    copy_str(tmp.id, sizeof(tmp.id), id);
    tmp.used = 1;
    tmp.mod = d->modificationNumber;
    tmp.status = parse_status(d->eventStatus);
    tmp.respond = !oe->oadrResponseRequired || !trimmed_eq(oe->oadrResponseRequired, "never");
    tmp.start = start;
    tmp.duration = dur == 0 ? OPEN_ENDED : dur;
    tmp.test = d->testEvent && !trimmed_eq(d->testEvent, "false") && !trimmed_eq(d->testEvent, "");
    tmp.gen = v->gen;
    copy_str(tmp.request_id, sizeof(tmp.request_id), request_id);
    for (size_t i = 0; ev->eiEventSignals && i < ev->eiEventSignals->eiEventSignal_count; i++) {
        const oadr_ei_eiEventSignalType_t *s = ev->eiEventSignals->eiEventSignal[i];
        int n;
        if (trimmed_eq(s->signalName, "simple") || trimmed_eq(s->signalName, "SIMPLE")) {
            if (tmp.n_simple)
                continue;
            n = take_intervals(s->intervals, tmp.simple, why, sizeof(why));
            if (n >= 0)
                tmp.n_simple = (size_t)n;
        } else if (trimmed_eq(s->signalName, "ELECTRICITY_PRICE")) {
            if (tmp.n_price)
                continue;
            n = take_intervals(s->intervals, tmp.price, why, sizeof(why));
            if (n >= 0)
                tmp.n_price = (size_t)n;
        } else {
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s: signal %s not acted on", id,
                   s->signalName ? s->signalName : "?");
            continue;
        }
        if (n < 0) {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s signal %s: %s; event ignored", id, s->signalName, why);
            if (e)
                e->gen = v->gen;
            return -1;
        }
    }
    if (!e) {
        for (int i = 0; i < OADR_MAX_EVENTS && !e; i++)
            if (!v->events[i].used)
                e = &v->events[i];
        if (!e) {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "more than %d events; %s ignored", OADR_MAX_EVENTS, id);
            return -1;
        }
        tmp.program = v->next_program++;
        v->stats.events_known++;
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s (modification %u, %s) received", id, (unsigned)tmp.mod,
               d->eventStatus ? d->eventStatus : "?");
    } else {
        tmp.program = e->program;
        /* the same modification again: its answer is not due again (§8.3.3: once per modification) */
        tmp.responded = e->mod == tmp.mod ? e->responded : 0;
        if (e->mod != tmp.mod)
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s modified (%u -> %u, %s)", id, (unsigned)e->mod,
                   (unsigned)tmp.mod, d->eventStatus ? d->eventStatus : "?");
        else if (e->status != tmp.status)
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s is now %s", id, d->eventStatus ? d->eventStatus : "?");
        if (e->mod == tmp.mod)
            copy_str(tmp.request_id, sizeof(tmp.request_id), e->request_id);
    }
    *e = tmp;
    schedule(v, e, created, d->has_priority ? d->priority : 0, (int32_t)startafter);
    return 0;
}

static void on_distribute(oadr_ven_t *v, const oadr_oadrDistributeEventType_t *de)
{
    char request_id[128];

    copy_trim(request_id, sizeof(request_id), de->requestID);
    if (v->vtn_id[0] && de->vtnID && !trimmed_eq(de->vtnID, v->vtn_id))
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "oadrDistributeEvent from vtnID %s, registered with %s", de->vtnID,
               v->vtn_id);
    v->gen++;
    for (size_t i = 0; i < de->oadrEvent_count; i++)
        take_event(v, de->oadrEvent[i], request_id);
    /* §8.3.1: the distribute lists every event the VTN holds for us; one no longer listed is
     * cancelled implicitly. */
    for (int i = 0; i < OADR_MAX_EVENTS; i++) {
        ven_event_t *e = &v->events[i];
        if (e->used && e->gen != v->gen) {
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s no longer listed by the VTN: cancelled", e->id);
            event_drop(v, e);
        }
    }
}

/* ---- registration ------------------------------------------------------------------------------------- */

static reply_t *reply_add(oadr_ven_t *v, oadr_msg_kind kind, const char *service, const char *code,
                          const char *description, const char *request_id)
{
    for (int i = 0; i < MAX_REPLIES; i++) {
        reply_t *r = &v->replies[i];
        if (r->used)
            continue;
        memset(r, 0, sizeof(*r));
        r->used = 1;
        r->kind = kind;
        copy_str(r->service, sizeof(r->service), service);
        copy_str(r->code, sizeof(r->code), code);
        copy_str(r->description, sizeof(r->description), description);
        copy_trim(r->request_id, sizeof(r->request_id), request_id);
        return r;
    }
    ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "too many answers waiting; one to %s dropped", service);
    return NULL;
}

static void on_created_registration(oadr_ven_t *v, const oadr_oadrCreatedPartyRegistrationType_t *r, double now,
                                    int was_create)
{
    char code[8];
    int64_t freq = 0;

    copy_trim(code, sizeof(code), r->eiResponse ? r->eiResponse->responseCode : NULL);
    if (code[0] != '2') {
        v->stats.errors++;
        v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
        v->reg_next = now + v->reg_backoff;
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "the VTN refused the %s (responseCode %s); again in %.0f s",
               was_create ? "registration" : "registration query", code, v->reg_backoff);
        if (was_create)
            v->reg = REG_NONE;
        return;
    }
    copy_trim(v->vtn_id, sizeof(v->vtn_id), r->vtnID);
    if (r->oadrRequestedOadrPollFreq && r->oadrRequestedOadrPollFreq->duration &&
        oadr_parse_duration(r->oadrRequestedOadrPollFreq->duration, &freq) == 0 && freq > 0)
        v->poll_s = freq < v->cfg.min_poll_s ? v->cfg.min_poll_s : freq > 86400 ? 86400 : (unsigned)freq;
    v->reg_backoff = 0;
    v->reg_next = now;
    if (!was_create) {
        /* §8.2.2: a registered VEN's query is answered with its venID and registrationID */
        if (r->registrationID && r->venID) {
            copy_trim(v->registration_id, sizeof(v->registration_id), r->registrationID);
            copy_trim(v->ven_id, sizeof(v->ven_id), r->venID);
        }
        v->reg = REG_QUERIED;
        return;
    }
    if (!r->registrationID || !r->venID || !r->registrationID[0] || !r->venID[0]) {
        v->stats.errors++;
        v->reg = REG_NONE;
        v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
        v->reg_next = now + v->reg_backoff;
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "oadrCreatedPartyRegistration without venID/registrationID");
        return;
    }
    copy_trim(v->registration_id, sizeof(v->registration_id), r->registrationID);
    copy_trim(v->ven_id, sizeof(v->ven_id), r->venID);
    v->reg = REG_DONE;
    v->need_request_event = 1;
    v->next_poll = now + v->poll_s;
    ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "registered with VTN %s: venID %s, registrationID %s, poll every %u s",
           v->vtn_id, v->ven_id, v->registration_id, v->poll_s);
}

/* ---- payloads from the VTN ---------------------------------------------------------------------------- */

static void handle_payload(oadr_ven_t *v, const oadr_oadrSignedObject_t *so, double now)
{
    if (so->oadrCreatedPartyRegistration) {
        /* only as the answer to our query or registration; anywhere else it means nothing */
        if (v->inflight_kind == OADR_MSG_QUERY_REGISTRATION || v->inflight_kind == OADR_MSG_CREATE_PARTY_REGISTRATION)
            on_created_registration(v, so->oadrCreatedPartyRegistration, now,
                                    v->inflight_kind == OADR_MSG_CREATE_PARTY_REGISTRATION);
    } else if (so->oadrDistributeEvent) {
        if (v->reg == REG_DONE)
            on_distribute(v, so->oadrDistributeEvent);
    } else if (so->oadrRequestReregistration) {
        /* §8.2.5: acknowledge, then register again with the same identity */
        reply_add(v, OADR_MSG_RESPONSE, "EiRegisterParty", "200", "OK", "");
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "the VTN asks us to register again");
        v->reg = REG_QUERIED;
        v->reg_next = now;
    } else if (so->oadrCancelPartyRegistration) {
        const oadr_oadrCancelPartyRegistrationType_t *c = so->oadrCancelPartyRegistration;
        char reg_id[OADR_ID_MAX + 1];
        int ours;
        copy_trim(reg_id, sizeof(reg_id), c->registrationID);
        ours = strcmp(reg_id, v->registration_id) == 0;
        reply_t *r = reply_add(v, OADR_MSG_CANCELED_PARTY_REGISTRATION, "EiRegisterParty", ours ? "200" : "452", "",
                               c->requestID);
        if (r && !ours)
            copy_str(r->description, sizeof(r->description), "unknown registrationID");
        if (!r && ours)
            v->ven_id[0] = v->registration_id[0] = '\0';
        if (ours) {
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "the VTN cancelled our registration %s", reg_id);
            /* the answer quotes the ids; they are cleared once it has gone (see next_reply) */
            v->reg = REG_NONE;
            v->need_request_event = 0;
            events_clear(v);
            v->reg_next = now + RETRY_MIN;
        } else {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "oadrCancelPartyRegistration for registrationID %s, not ours",
                   reg_id);
        }
    } else if (so->oadrCreateReport || so->oadrRegisterReport || so->oadrCancelReport || so->oadrUpdateReport) {
        const char *rid = so->oadrCreateReport ? so->oadrCreateReport->requestID
                          : so->oadrRegisterReport ? so->oadrRegisterReport->requestID
                          : so->oadrCancelReport ? so->oadrCancelReport->requestID
                                                 : so->oadrUpdateReport->requestID;
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "a report request from the VTN: EiReport is not implemented yet");
        reply_add(v, OADR_MSG_RESPONSE, "EiReport", "501", "EiReport not implemented", rid);
    } else if (so->oadrResponse) {
        char code[8];
        copy_trim(code, sizeof(code), so->oadrResponse->eiResponse ? so->oadrResponse->eiResponse->responseCode : NULL);
        if (code[0] && code[0] != '2')
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "the VTN answered with responseCode %s%s%s", code,
                   so->oadrResponse->eiResponse->responseDescription ? ": " : "",
                   so->oadrResponse->eiResponse->responseDescription ? so->oadrResponse->eiResponse->responseDescription
                                                                     : "");
    }
}

/* ---- requests out, answers in ------------------------------------------------------------------------- */

static void set_path(oadr_ven_t *v, const char *service)
{
    snprintf(v->path, sizeof(v->path), "%s/%s", v->base, service);
}

static void fill(oadr_ven_t *v, oadr_msg_kind kind, oadr_request_t *req)
{
    v->inflight = 1;
    v->inflight_id = v->next_id++;
    if (v->next_id == 0)
        v->next_id = 1;
    v->inflight_kind = kind;
    memset(req, 0, sizeof(*req));
    req->id = v->inflight_id;
    req->kind = kind;
    req->method = "POST";
    req->path = v->path;
    req->content_type = "application/xml";
    req->body = v->body.data;
    req->body_len = v->body.len;
    v->stats.requests++;
}

static int next_reply(oadr_ven_t *v, oadr_request_t *req)
{
    for (int i = 0; i < MAX_REPLIES; i++) {
        reply_t *r = &v->replies[i];
        char rid[128];
        int rc;
        if (!r->used)
            continue;
        r->used = 0;
        ge_buf_clear(&v->body);
        if (!r->request_id[0])
            new_request_id(v, rid, sizeof(rid));
        else
            copy_str(rid, sizeof(rid), r->request_id);
        if (r->kind == OADR_MSG_CANCELED_PARTY_REGISTRATION) {
            rc = oadr__canceled_party_registration_xml(&v->body, r->code, rid, v->registration_id, v->ven_id);
            if (r->code[0] == '2' && v->reg == REG_NONE)
                v->ven_id[0] = v->registration_id[0] = '\0';
        } else {
            rc = oadr__response_xml(&v->body, r->code, r->description, rid, v->ven_id);
        }
        if (rc < 0) {
            ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the answer to %s: %s", r->service, ge_strerror(rc));
            continue;
        }
        set_path(v, r->service);
        v->inflight_event = -1;
        fill(v, r->kind, req);
        return 1;
    }
    return 0;
}

static int next_created_event(oadr_ven_t *v, oadr_request_t *req)
{
    for (int i = 0; i < OADR_MAX_EVENTS; i++) {
        ven_event_t *e = &v->events[i];
        char rid[128];
        if (!e->used || !e->respond || e->responded)
            continue;
        ge_buf_clear(&v->body);
        if (e->request_id[0])
            copy_str(rid, sizeof(rid), e->request_id);
        else
            new_request_id(v, rid, sizeof(rid));
        if (oadr__created_event_xml(&v->body, rid, v->ven_id, e->id, e->mod, "200", "optIn") < 0) {
            ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the oadrCreatedEvent for %s", e->id);
            e->responded = 1;
            continue;
        }
        /* decided now: the caller's outbox delivers it, exactly once per modification */
        e->responded = 1;
        set_path(v, "EiEvent");
        v->inflight_event = i;
        fill(v, OADR_MSG_CREATED_EVENT, req);
        copy_str(req->event_id, sizeof(req->event_id), e->id);
        req->modification = e->mod;
        v->stats.created_events++;
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "oadrCreatedEvent optIn for %s (modification %u)", e->id,
               (unsigned)e->mod);
        return 1;
    }
    return 0;
}

int oadr_ven_next_request(oadr_ven_t *v, double now, oadr_request_t *req)
{
    char rid[128];
    int rc;

    if (!v || !req)
        return GE_ERR_INVALID;
    if (v->inflight)
        return 0;
    if (next_reply(v, req))
        return 1;
    if (v->reg == REG_DONE && next_created_event(v, req))
        return 1;
    ge_buf_clear(&v->body);
    if (v->reg != REG_DONE) {
        if (now < v->reg_next)
            return 0;
        new_request_id(v, rid, sizeof(rid));
        if (v->reg == REG_NONE) {
            rc = oadr__query_registration_xml(&v->body, rid);
            set_path(v, "EiRegisterParty");
            if (rc < 0)
                goto fail;
            fill(v, OADR_MSG_QUERY_REGISTRATION, req);
        } else {
            rc = oadr__create_party_registration_xml(&v->body, rid, v->ven_id, v->registration_id, v->ven_name);
            set_path(v, "EiRegisterParty");
            if (rc < 0)
                goto fail;
            fill(v, OADR_MSG_CREATE_PARTY_REGISTRATION, req);
        }
        return 1;
    }
    if (v->need_request_event) {
        new_request_id(v, rid, sizeof(rid));
        if ((rc = oadr__request_event_xml(&v->body, rid, v->ven_id)) < 0)
            goto fail;
        set_path(v, "EiEvent");
        fill(v, OADR_MSG_REQUEST_EVENT, req);
        return 1;
    }
    if (now < v->next_poll)
        return 0;
    if ((rc = oadr__poll_xml(&v->body, v->ven_id)) < 0)
        goto fail;
    set_path(v, "OadrPoll");
    v->next_poll = now + v->poll_s;
    v->stats.polls++;
    fill(v, OADR_MSG_POLL, req);
    return 1;
fail:
    ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode a request: %s", ge_strerror(rc));
    v->reg_next = now + RETRY_MAX;
    v->next_poll = now + v->poll_s;
    return 0;
}

int oadr_ven_response(oadr_ven_t *v, uint32_t id, int status, const void *body, size_t len, double now)
{
    oadr_msg_kind kind;
    ge_xml_msg_t msg;
    int ok = status >= 200 && status < 300;
    int rc;

    if (!v)
        return GE_ERR_INVALID;
    if (!v->inflight || v->inflight_id != id)
        return GE_ERR_NOTFOUND;
    v->inflight = 0;
    kind = v->inflight_kind;
    v->stats.responses++;
    if (!ok) {
        v->stats.errors++;
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "POST %s: %s%d", v->path, status ? "HTTP " : "no answer ", status);
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION) {
            v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
            v->reg_next = now + v->reg_backoff;
        } else if (kind == OADR_MSG_POLL || kind == OADR_MSG_REQUEST_EVENT) {
            /* keep the last good state; poll again sooner than the period, backing off */
            v->poll_backoff = backoff(v->poll_backoff, v->poll_s);
            v->next_poll = now + v->poll_backoff;
            v->need_request_event = 0;
        }
        /* created events and answers: the caller's outbox retries them */
        return 0;
    }
    if (kind == OADR_MSG_POLL || kind == OADR_MSG_REQUEST_EVENT) {
        v->poll_backoff = 0;
        if (kind == OADR_MSG_REQUEST_EVENT)
            v->need_request_event = 0;
    }
    if (!body || len == 0) {
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION) {
            v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
            v->reg_next = now + v->reg_backoff;
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "POST %s: empty answer; again in %.0f s", v->path, v->reg_backoff);
        }
        return 0;
    }
    ge_arena_reset(v->arena);
    rc = ge_xml_decode(v->dec, &ge_xml_schema_oadr20b, v->arena, body, len, &msg);
    if (rc < 0 || msg.root != ge_xml_root_find(&ge_xml_schema_oadr20b, "oadrPayload") ||
        !((const oadr_oadrPayload_t *)msg.value)->oadrSignedObject) {
        const ge_xml_error_t *e = ge_xml_decoder_error(v->dec);
        v->stats.bad_documents++;
        if (rc < 0)
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "%s:%lu:%lu: %s; keeping the last good state", v->path, e->line,
                   e->col, e->msg);
        else
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "%s: the answer is not an oadrPayload; keeping the last good state",
                   v->path);
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION) {
            v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
            v->reg_next = now + v->reg_backoff;
        }
        return 0;
    }
    handle_payload(v, ((const oadr_oadrPayload_t *)msg.value)->oadrSignedObject, now);
    return 0;
}

int oadr_ven_mark_sent(oadr_ven_t *v, const char *event_id, uint32_t modification)
{
    ven_event_t *e;

    if (!v || !event_id)
        return GE_ERR_INVALID;
    e = event_find(v, event_id);
    if (!e)
        return GE_ERR_NOTFOUND;
    if (e->mod == modification)
        e->responded = 1;
    return 0;
}

void oadr_ven_set_time_offset(oadr_ven_t *v, double offset)
{
    v->offset = offset;
}

double oadr_ven_server_time(const oadr_ven_t *v, double now)
{
    return now + v->offset;
}

/* The value of the interval of SIG in force ELAPSED seconds after the event's (effective) start. */
static int interval_value(const sig_interval_t *sig, size_t n, int64_t elapsed, double *out)
{
    for (size_t i = 0; i < n; i++) {
        int last = i + 1 == n;
        if (elapsed >= sig[i].off && (elapsed < sig[i].off + sig[i].dur || (last && sig[i].dur == 0))) {
            *out = sig[i].value;
            return 1;
        }
    }
    return 0;
}

int oadr_ven_control(oadr_ven_t *v, double now, oadr_control_t *out)
{
    ge_sched_result_t res;
    int64_t snow;
    int rc;

    if (!v || !out)
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (v->reg != REG_DONE)
        return 0;
    snow = server_now(v, now);
    memset(&res, 0, sizeof(res));
    if ((rc = ge_sched_eval(v->sched, snow, &res)) < 0)
        return rc;
    for (size_t i = 0; i < res.n_active; i++) {
        const ge_sched_active_t *a = &res.active[i];
        const ven_event_t *e = a->payload;
        oadr_active_event_t *o = NULL;
        double val;
        if (!e)
            continue;
        for (size_t k = 0; k < out->n_active; k++)
            if (strcmp(out->active[k].id, e->id) == 0)
                o = &out->active[k];
        if (!o && out->n_active < OADR_MAX_ACTIVE) {
            o = &out->active[out->n_active++];
            copy_str(o->id, sizeof(o->id), e->id);
            o->start = a->start;
            o->end = e->duration >= OPEN_ENDED ? INT64_MAX : a->end;
        }
        if ((a->modes & MODE_SIMPLE) && interval_value(e->simple, e->n_simple, snow - a->start, &val)) {
            out->has_level = 1;
            out->level = val;
            if (o) {
                o->has_level = 1;
                o->level = val;
            }
        }
        if ((a->modes & MODE_PRICE) && interval_value(e->price, e->n_price, snow - a->start, &val)) {
            out->has_price = 1;
            out->price = val;
            if (o) {
                o->has_price = 1;
                o->price = val;
            }
        }
    }
    return 0;
}

double oadr_ven_next_wakeup(const oadr_ven_t *v, double now)
{
    double t = now + 60;

    if (v->inflight)
        return t;
    for (int i = 0; i < MAX_REPLIES; i++)
        if (v->replies[i].used)
            return now;
    if (v->reg != REG_DONE)
        t = v->reg_next < t ? v->reg_next : t;
    else if (v->need_request_event)
        t = now;
    else if (v->next_poll < t)
        t = v->next_poll;
    /* events start and end on the VTN's clock: look again every second */
    if (v->stats.events_known)
        t = t < now + 1 ? t : now + 1;
    return t < now ? now : t;
}

void oadr_ven_stats(const oadr_ven_t *v, oadr_ven_stats_t *out)
{
    *out = v->stats;
    out->registered = v->reg == REG_DONE;
    out->poll_s = v->poll_s;
    copy_str(out->ven_id, sizeof(out->ven_id), v->ven_id);
    copy_str(out->registration_id, sizeof(out->registration_id), v->registration_id);
    copy_str(out->vtn_id, sizeof(out->vtn_id), v->vtn_id);
}
