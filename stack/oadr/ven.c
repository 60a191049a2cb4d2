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
#define MAX_RAMP 3600          /* x-eiRampUp / x-eiRecovery longer than an hour are cut to it */
#define MAX_SAVED_TIME 1000000000000ll /* the times and durations kept (and saved) are within these */
#define MAX_SAVED_DURATION (366ll * 86400)

/* The signals the VEN acts on; an event's scheduler mode bits are 1 << SIG_*. */
typedef enum sig_kind {
    SIG_SIMPLE, SIG_PRICE, SIG_DISPATCH, SIG_CHARGE, SIG_DEMAND, SIG_BID, SIG_LOADCTL, SIG_COUNT
} sig_kind;

typedef enum reg_state { REG_NONE, REG_QUERIED, REG_DONE, REG_LEAVING, REG_LEFT } reg_state;

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
    int opt_out;              /* answered (or to be answered) optOut: not acted on */
    int answered_opt_out;     /* what the oadrCreatedEvent that went out said */
    int64_t created;          /* createdDateTime, for the scheduler */
    uint32_t priority;
    int32_t startafter;
    uint32_t program;         /* the scheduler's program number for this event */
    unsigned gen;
    int64_t ramp_up, recovery; /* x-eiRampUp, x-eiRecovery: s before the start, after the end */
    int not_ours;             /* its eiTarget names others only: answered optOut, never acted on */
    int code;                 /* 0, or the eventResponse code refusing it (answered optOut, never acted on):
                               * 452 from a vtnID not ours, 460 no signal whose name we support */
    int cancel_seen;          /* cancelled while in force: the end was randomized from here */
    int64_t cancel_at;
    int dispatch_delta;       /* LOAD_DISPATCH signalType delta (else setpoint) */
    oadr_load_control lc;     /* LOAD_CONTROL signalType */
    /* per signal kind: its intervals (ELECTRICITY_PRICE or ENERGY_PRICE per kWh, LOAD_DISPATCH W,
     * CHARGE_STATE %, DEMAND_CHARGE per kW, BID_PRICE per kWh, LOAD_CONTROL as its type says) */
    size_t n_sig[SIG_COUNT];
    sig_interval_t sig[SIG_COUNT][OADR_MAX_INTERVALS];
} ven_event_t;

typedef struct reply {
    int used;
    oadr_msg_kind kind;       /* RESPONSE, CANCELED_PARTY_REGISTRATION or an EiReport answer */
    char service[24];         /* EiRegisterParty, EiReport, EiOpt, EiEvent */
    char code[4];
    char description[64];
    char request_id[128];
} reply_t;

/* A report request the VTN made (oadrCreateReport, or in oadrRegisteredReport), in server time. */
typedef struct rep_req {
    int used;
    char id[OADR_ID_MAX];     /* reportRequestID */
    int report;               /* OADR__RPT_* */
    unsigned points;          /* bit per point of the report */
    int64_t gran, back;       /* granularity and reportBackDuration, s (back 0: one report only) */
    int64_t end;              /* end of the report interval (INT64_MAX: until cancelled) */
    int64_t covered;          /* data sent up to here */
    int64_t retry_at;         /* after a failed update */
    int final;                /* cancelled with reportToFollow: one last update, then gone */
} rep_req_t;

typedef struct sample {
    int64_t t;                /* server time */
    double power, energy, soc;
    unsigned char online, override, has_soc;
} sample_t;

#define FINE_N 3600           /* a second apart: the last hour */
#define COARSE_N 1440         /* a minute apart (the minute's mean power): the last day */
#define MAX_REPORTS 8
#define MAX_UPDATE_INTERVALS 120

typedef enum opt_state { OPT_FREE, OPT_TO_CREATE, OPT_CREATED, OPT_TO_CANCEL } opt_state;

typedef struct opt_entry {
    opt_state state;
    int acked;                /* the VTN answered the create */
    char id[OADR_ID_MAX];
    int opt_in;
    char reason[32];
    char event_id[OADR_ID_MAX]; /* per-event opt, else "" */
    uint32_t mod;
    size_t n;
    int64_t start[OADR_MAX_WINDOWS], dur[OADR_MAX_WINDOWS];
} opt_entry_t;

struct oadr_ven {
    oadr_ven_config_t cfg;
    const ge_mem_t *mem;
    char base[OADR_PATH_MAX];
    char ven_name[OADR_ID_MAX * 2];
    char transport[OADR_PATH_MAX]; /* push: oadrTransportAddress ("" = pull) */
    int push_capture;         /* oadr_ven_push(): the answer goes back in the exchange */
    reply_t push_reply;
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
    ven_event_t scratch_event; /* an event's new version, built aside */
    uint32_t next_program;
    unsigned gen;
    reply_t replies[MAX_REPLIES];
    /* EiReport */
    int need_register_report;
    char register_report_rid[OADR_ID_MAX]; /* reportRequestID the METADATA answers ("0": unasked) */
    double rr_next, rr_backoff;
    rep_req_t reports[MAX_REPORTS];
    sample_t *fine, *coarse;
    size_t fine_head, fine_n, coarse_head, coarse_n;
    int64_t coarse_slot;
    double coarse_sum;
    unsigned coarse_cnt;
    double hz, volts;
    ge_arena_t *enc;          /* scratch for the payloads built from many parts */
    int inflight_report;      /* index of the update report in flight */
    int64_t inflight_upto;
    /* EiOpt */
    opt_entry_t opts[OADR_MAX_OPTS];
    char opt_outs[OADR_MAX_OPT_OUTS][OADR_ID_MAX];
    unsigned opt_seq;
    int inflight_opt;
    /* eiTarget: our other identities */
    struct { oadr_target_kind kind; char id[OADR_ID_MAX]; } targets[OADR_MAX_TARGETS];
    size_t n_targets;
    unsigned long state_gen;  /* moves with what oadr_ven_save() writes */
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
        (cfg->registration_id && strlen(cfg->registration_id) >= OADR_ID_MAX) ||
        (cfg->transport_address && strlen(cfg->transport_address) >= OADR_PATH_MAX))
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
    copy_str(v->transport, sizeof(v->transport), cfg->transport_address);
    v->cfg.ven_id = v->cfg.registration_id = v->cfg.transport_address = NULL;
    if (!v->cfg.default_poll_s)
        v->cfg.default_poll_s = 60;
    if (!v->cfg.min_poll_s)
        v->cfg.min_poll_s = 1;
    v->poll_s = v->cfg.default_poll_s;
    v->next_id = 1;
    v->next_program = 1;
    ge_buf_init(&v->body, mem, 256 * 1024);
    copy_str(v->register_report_rid, sizeof(v->register_report_rid), "0");
    v->inflight_report = v->inflight_opt = -1;
    v->fine = mem->malloc(FINE_N * sizeof(sample_t), mem->ud);
    v->coarse = mem->malloc(COARSE_N * sizeof(sample_t), mem->ud);
    if (!v->fine || !v->coarse) {
        oadr_ven_free(v);
        return GE_ERR_NOMEM;
    }
    if ((rc = ge_sched_new(&v->sched, mem, cfg->seed)) < 0 || (rc = ge_xml_decoder_new(&v->dec, mem, NULL, cfg->log)) < 0 ||
        (rc = ge_arena_new(&v->arena, mem, 16384, 8u << 20)) < 0 ||
        (rc = ge_arena_new(&v->enc, mem, 16384, 4u << 20)) < 0) {
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
    ge_arena_free(v->enc);
    if (v->fine)
        v->mem->free(v->fine, v->mem->ud);
    if (v->coarse)
        v->mem->free(v->coarse, v->mem->ud);
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

/* The owner opted out of E, or E overlaps a window in which the VEN said it is not available. */
static int event_opted_out(const oadr_ven_t *v, const ven_event_t *e)
{
    int64_t end = e->duration >= OPEN_ENDED ? INT64_MAX : e->start + e->duration;

    if (e->not_ours || e->code)
        return 1;
    for (int i = 0; i < OADR_MAX_OPT_OUTS; i++)
        if (v->opt_outs[i][0] && strcmp(v->opt_outs[i], e->id) == 0)
            return 1;
    for (int i = 0; i < OADR_MAX_OPTS; i++) {
        const opt_entry_t *o = &v->opts[i];
        if ((o->state != OPT_TO_CREATE && o->state != OPT_CREATED) || o->opt_in || o->event_id[0])
            continue;
        for (size_t k = 0; k < o->n; k++)
            if (o->start[k] < end && e->start < o->start[k] + o->dur[k])
                return 1;
    }
    return 0;
}

static void schedule(oadr_ven_t *v, ven_event_t *e)
{
    ge_sched_event_t ev;
    int64_t created = e->created;
    uint32_t priority = e->priority;
    int32_t startafter = e->startafter;

    uint32_t modes = 0;

    for (int k = 0; k < SIG_COUNT; k++)
        modes |= e->n_sig[k] ? 1u << k : 0;
    /* a cancelled event that was randomized ends at a random time after the cancellation
     * (A_E1_0267: the randomization of its start applies to its end too) */
    if (e->test || e->opt_out || e->not_ours || e->status == EV_COMPLETED || !modes ||
        (e->status == EV_CANCELLED && !e->cancel_seen)) {
        ge_sched_remove(v->sched, e->id);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    copy_str(ev.id, sizeof(ev.id), e->id);
    ev.program = e->program;
    /* priority: lower number wins; 0 means none, the lowest (EiEvent eventDescriptor). */
    ev.primacy = priority == 0 || priority > 254 ? 255 : (uint8_t)priority;
    ev.creation_time = created;
    /* in force from the ramp-up before dtstart to the recovery after the end */
    ev.start = e->start - e->ramp_up;
    ev.duration = e->duration >= OPEN_ENDED ? OPEN_ENDED : (uint32_t)(e->duration + e->ramp_up + e->recovery);
    ev.randomize_start = startafter;
    ev.status = e->status == EV_ACTIVE ? GE_EVENT_ACTIVE : GE_EVENT_SCHEDULED;
    if (e->status == EV_CANCELLED) {
        ev.status = GE_EVENT_CANCELLED_RANDOM;
        ev.status_time = e->cancel_at;
    }
    ev.modes = modes;
    ev.payload = e;
    if (ge_sched_put(v->sched, &ev) < 0)
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s could not be scheduled", e->id);
}

/* eiTarget: 1 when T names none of venID, resourceID, groupID, partyID (every VEN is meant) or
 * names one of ours. */
static int targets_us(const oadr_ven_t *v, const oadr_ei_EiTargetType_t *t)
{
    const struct { char **ids; size_t n; oadr_target_kind kind; } lists[] = {
        { t ? t->venID : NULL, t ? t->venID_count : 0, 0 },
        { t ? t->resourceID : NULL, t ? t->resourceID_count : 0, OADR_TARGET_RESOURCE },
        { t ? t->groupID : NULL, t ? t->groupID_count : 0, OADR_TARGET_GROUP },
        { t ? t->partyID : NULL, t ? t->partyID_count : 0, OADR_TARGET_PARTY },
    };
    int named = 0;

    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        for (size_t i = 0; i < lists[l].n; i++) {
            char id[OADR_ID_MAX + 1];
            copy_trim(id, sizeof(id), lists[l].ids[i]);
            if (!id[0])
                continue;
            named = 1;
            if (!lists[l].kind) {
                if (v->ven_id[0] && strcmp(id, v->ven_id) == 0)
                    return 1;
                continue;
            }
            for (size_t k = 0; k < v->n_targets; k++)
                if (v->targets[k].kind == lists[l].kind && strcmp(v->targets[k].id, id) == 0)
                    return 1;
        }
    }
    return !named;
}

int oadr_ven_add_target(oadr_ven_t *v, oadr_target_kind kind, const char *id)
{
    if (!v || !id || !*id || strlen(id) >= OADR_ID_MAX ||
        (kind != OADR_TARGET_RESOURCE && kind != OADR_TARGET_GROUP && kind != OADR_TARGET_PARTY))
        return GE_ERR_INVALID;
    if (v->n_targets == OADR_MAX_TARGETS)
        return GE_ERR_LIMIT;
    v->targets[v->n_targets].kind = kind;
    copy_str(v->targets[v->n_targets].id, OADR_ID_MAX, id);
    v->n_targets++;
    return 0;
}

/* Which of our signals S is (and, for LOAD_DISPATCH and LOAD_CONTROL, its type), or -1: one the
 * VEN does not act on. */
static int signal_kind(const oadr_ei_eiEventSignalType_t *s, int *delta, oadr_load_control *lc)
{
    static const struct { const char *type; oadr_load_control lc; } lc_types[] = {
        { "x-loadControlCapacity", OADR_LC_CAPACITY },
        { "x-loadControlLevelOffset", OADR_LC_LEVEL_OFFSET },
        { "x-loadControlPercentOffset", OADR_LC_PERCENT_OFFSET },
        { "x-loadControlSetpoint", OADR_LC_SETPOINT },
    };

    if (trimmed_eq(s->signalName, "simple") || trimmed_eq(s->signalName, "SIMPLE"))
        return SIG_SIMPLE;
    if (trimmed_eq(s->signalName, "ELECTRICITY_PRICE") || trimmed_eq(s->signalName, "ENERGY_PRICE"))
        return SIG_PRICE;
    if (trimmed_eq(s->signalName, "DEMAND_CHARGE"))
        return SIG_DEMAND;
    if (trimmed_eq(s->signalName, "BID_PRICE"))
        return SIG_BID;
    if (trimmed_eq(s->signalName, "LOAD_DISPATCH") &&
        (trimmed_eq(s->signalType, "setpoint") || trimmed_eq(s->signalType, "delta"))) {
        *delta = trimmed_eq(s->signalType, "delta");
        return SIG_DISPATCH;
    }
    if (trimmed_eq(s->signalName, "CHARGE_STATE") && trimmed_eq(s->signalType, "setpoint") && !s->energyReal)
        return SIG_CHARGE;
    if (trimmed_eq(s->signalName, "LOAD_CONTROL"))
        for (size_t i = 0; i < sizeof(lc_types) / sizeof(lc_types[0]); i++)
            /* a setpoint we can follow is a power; a thermostat's temperature is not ours */
            if (trimmed_eq(s->signalType, lc_types[i].type) &&
                (lc_types[i].lc != OADR_LC_SETPOINT || s->powerReal)) {
                *lc = lc_types[i].lc;
                return SIG_LOADCTL;
            }
    return -1;
}

/* S's signalName is one of those we act on (with some signalType): an event with none of them
 * is answered 460 (Signal not supported). */
static int known_signal_name(const oadr_ei_eiEventSignalType_t *s)
{
    static const char *const names[] = { "simple",        "SIMPLE",       "ELECTRICITY_PRICE", "ENERGY_PRICE",
                                         "DEMAND_CHARGE", "BID_PRICE",    "LOAD_DISPATCH",     "CHARGE_STATE",
                                         "LOAD_CONTROL" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (trimmed_eq(s->signalName, names[i]))
            return 1;
    return 0;
}

enum { PRICE_ABSOLUTE, PRICE_RELATIVE, PRICE_MULTIPLIER };

/* Signal S of KIND in event ID: PRICE_RELATIVE or PRICE_MULTIPLIER when its signalType says its
 * values are relative to the base price and we have one to apply them to, PRICE_ABSOLUTE when
 * its values stand as they are, -1 when they are relative to a base we do not have (logged when
 * SAY: once per event modification, not at each poll that repeats it). */
static int relative_price(const oadr_ven_t *v, const oadr_ei_eiEventSignalType_t *s, int kind, const char *id,
                          int say)
{
    int how = trimmed_eq(s->signalType, "priceRelative")     ? PRICE_RELATIVE
              : trimmed_eq(s->signalType, "priceMultiplier") ? PRICE_MULTIPLIER
                                                             : PRICE_ABSOLUTE;

    if (how == PRICE_ABSOLUTE || (kind == SIG_PRICE && v->cfg.has_base_price))
        return how;
    if (say)
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s: signal %s (%s) not acted on: %s", id, s->signalName,
               s->signalType,
               kind == SIG_PRICE ? "no base price (tariff) is configured to apply it to ([policy] base_price, "
                                   "--base-price)"
                                 : "its values are relative to a base price we do not know");
    return -1;
}

/* The power unit's scale: kW or MW values become W. */
static double power_scale(const oadr_ei_eiEventSignalType_t *s)
{
    if (!s->powerReal || !s->powerReal->siScaleCode)
        return 1;
    return trimmed_eq(s->powerReal->siScaleCode, "k") ? 1e3 : trimmed_eq(s->powerReal->siScaleCode, "M") ? 1e6 : 1;
}

/* The values of signal KIND in E that make no sense: WHY filled, -1. */
static int check_values(ven_event_t *e, int kind, char *why, size_t why_len)
{
    for (size_t j = 0; j < e->n_sig[kind]; j++) {
        double x = e->sig[kind][j].value;
        const char *bad = NULL;
        if (!isfinite(x))
            bad = "is not a number";
        else if (kind == SIG_CHARGE && (x < 0 || x > 100))
            bad = "is not a percentage (CHARGE_STATE)";
        else if (kind == SIG_LOADCTL && e->lc == OADR_LC_CAPACITY && (x < 0 || x > 1))
            bad = "is not a share of capacity 0..1 (x-loadControlCapacity)";
        else if (kind == SIG_LOADCTL && e->lc == OADR_LC_PERCENT_OFFSET && (x < -100 || x > 100))
            bad = "is not a percentage offset -100..100 (x-loadControlPercentOffset)";
        else if (kind == SIG_SIMPLE && (x < 0 || x > 3))
            bad = "is not a SIMPLE level 0..3";
        if (bad) {
            snprintf(why, why_len, "interval %zu: value %g %s", j + 1, x, bad);
            return -1;
        }
    }
    return 0;
}

/* x-eiRampUp / x-eiRecovery of PROPS (0 when absent; negative ones are taken as 0). */
static int64_t ramp_of(const oadr_ven_t *v, const char *id, const oadr_xcal_DurationPropType_t *p, const char *what)
{
    int64_t d = 0;

    if (!p || !p->duration)
        return 0;
    if (oadr_parse_duration(p->duration, &d) < 0 || d < 0) {
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s: %s '%.40s' is not a positive duration; none taken", id,
               what, p->duration);
        return 0;
    }
    return d > MAX_RAMP ? MAX_RAMP : d;
}

/* One oadrEvent of a distribute; REFUSE: 0, or 452 when the distribute came from a vtnID not ours
 * (a new event is then kept only to be answered 452 optOut, a known one is left as it was).
 * Returns 0, or -1 when it was refused (logged). */
static int take_event(oadr_ven_t *v, const oadr_oadrDistributeEventType_oadrEvent_t *oe, const char *request_id,
                      int64_t snow, int refuse)
{
    size_t n_known_names = 0;
    const oadr_ei_eiEventType_t *ev = oe->eiEvent;
    const oadr_ei_eventDescriptorType_t *d = ev->eventDescriptor;
    const oadr_xcal_properties_t *props = ev->eiActivePeriod ? ev->eiActivePeriod->properties : NULL;
    char id[OADR_ID_MAX + 1], why[160];
    int64_t start = 0, dur = 0, created = 0, startafter = 0;
    ven_event_t *e, *tmp = &v->scratch_event;
    size_t len;
    int existed;

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
    if (refuse && e && e->code != refuse) {
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s from another vtnID: the one we hold is kept", id);
        return -1;
    }
    /* build the new version aside, so a refused one leaves the last good one in place */
    memset(tmp, 0, sizeof(*tmp));
    copy_str(tmp->id, sizeof(tmp->id), id);
    tmp->used = 1;
    tmp->mod = d->modificationNumber;
    tmp->status = parse_status(d->eventStatus);
    tmp->respond = !oe->oadrResponseRequired || !trimmed_eq(oe->oadrResponseRequired, "never");
    tmp->start = start;
    tmp->duration = dur == 0 ? OPEN_ENDED : dur;
    tmp->test = d->testEvent && !trimmed_eq(d->testEvent, "false") && !trimmed_eq(d->testEvent, "");
    tmp->gen = v->gen;
    tmp->ramp_up = ramp_of(v, id, props->x_eiRampUp, "x-eiRampUp");
    tmp->recovery = ramp_of(v, id, props->x_eiRecovery, "x-eiRecovery");
    tmp->not_ours = !targets_us(v, ev->eiTarget);
    copy_str(tmp->request_id, sizeof(tmp->request_id), request_id);
    for (size_t i = 0; ev->eiEventSignals && i < ev->eiEventSignals->eiEventSignal_count; i++) {
        const oadr_ei_eiEventSignalType_t *s = ev->eiEventSignals->eiEventSignal[i];
        int delta = 0, n, kind, rel;
        oadr_load_control lc = OADR_LC_NONE;
        n_known_names += (size_t)known_signal_name(s);
        if ((kind = signal_kind(s, &delta, &lc)) < 0) {
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s: signal %s (%s) not acted on", id,
                   s->signalName ? s->signalName : "?", s->signalType ? s->signalType : "?");
            continue;
        }
        if (tmp->n_sig[kind])
            continue; /* one signal of a kind per event */
        rel = relative_price(v, s, kind, id, !e || e->mod != tmp->mod);
        if (rel < 0)
            continue;
        if (s->eiTarget && !targets_us(v, s->eiTarget)) {
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s: signal %s targets others; not acted on", id,
                   s->signalName);
            continue;
        }
        n = take_intervals(s->intervals, tmp->sig[kind], why, sizeof(why));
        if (n >= 0) {
            tmp->n_sig[kind] = (size_t)n;
            if (kind == SIG_DISPATCH)
                tmp->dispatch_delta = delta;
            if (kind == SIG_LOADCTL)
                tmp->lc = lc;
            if (kind == SIG_DISPATCH || (kind == SIG_LOADCTL && lc == OADR_LC_SETPOINT))
                for (int j = 0; j < n; j++)
                    tmp->sig[kind][j].value *= power_scale(s);
            for (int j = 0; rel && j < n; j++) /* the absolute price it stands for */
                tmp->sig[kind][j].value = rel == PRICE_RELATIVE ? v->cfg.base_price + tmp->sig[kind][j].value
                                                                : v->cfg.base_price * tmp->sig[kind][j].value;
            n = check_values(tmp, kind, why, sizeof(why));
        }
        if (n < 0) {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s signal %s: %s; event ignored", id, s->signalName, why);
            if (e)
                e->gen = v->gen;
            return -1;
        }
    }
    tmp->code = refuse;
    if (!refuse && ev->eiEventSignals && ev->eiEventSignals->eiEventSignal_count && !n_known_names) {
        tmp->code = 460;
        if (!e || e->mod != tmp->mod)
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "event %s: none of its signals is one we support; answered 460",
                   id);
    }
    existed = e != NULL;
    if (!e) {
        for (int i = 0; i < OADR_MAX_EVENTS && !e; i++)
            if (!v->events[i].used)
                e = &v->events[i];
        if (!e) {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "more than %d events; %s ignored", OADR_MAX_EVENTS, id);
            return -1;
        }
        tmp->program = v->next_program++;
        v->stats.events_known++;
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s (modification %u, %s) received%s", id, (unsigned)tmp->mod,
               d->eventStatus ? d->eventStatus : "?", tmp->not_ours ? "; its eiTarget is not us: not acted on" : "");
    } else {
        tmp->program = e->program;
        /* the same modification again: its answer is not due again (§8.3.3: once per modification) */
        tmp->responded = e->mod == tmp->mod ? e->responded : 0;
        if (e->mod != tmp->mod)
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s modified (%u -> %u, %s)", id, (unsigned)e->mod,
                   (unsigned)tmp->mod, d->eventStatus ? d->eventStatus : "?");
        else if (e->status != tmp->status)
            ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "event %s is now %s", id, d->eventStatus ? d->eventStatus : "?");
        if (e->mod == tmp->mod)
            copy_str(tmp->request_id, sizeof(tmp->request_id), e->request_id);
        tmp->cancel_seen = e->cancel_seen;
        tmp->cancel_at = e->cancel_at;
    }
    tmp->created = created;
    tmp->priority = d->has_priority ? d->priority : 0;
    tmp->startafter = (int32_t)startafter;
    if (tmp->status == EV_CANCELLED && startafter > 0 && !tmp->cancel_seen) {
        tmp->cancel_seen = 1;
        tmp->cancel_at = snow;
    }
    if (existed && e->mod == tmp->mod)
        tmp->answered_opt_out = e->answered_opt_out;
    *e = *tmp;
    e->opt_out = event_opted_out(v, e);
    schedule(v, e);
    return 0;
}

static reply_t *reply_add(oadr_ven_t *v, oadr_msg_kind kind, const char *service, const char *code,
                          const char *description, const char *request_id);

static void on_distribute(oadr_ven_t *v, const oadr_oadrDistributeEventType_t *de, double now)
{
    char request_id[128];

    copy_trim(request_id, sizeof(request_id), de->requestID);
    if (v->vtn_id[0] && de->vtnID && !trimmed_eq(de->vtnID, v->vtn_id)) {
        /* not from the VTN we registered with (IDs are case-sensitive): its events are answered
         * 452 (Invalid ID) optOut, never acted on, and it cancels none of ours; a push is
         * answered 452 in the exchange; said once, not at each poll that repeats it */
        unsigned long known = v->stats.events_known;
        int pushed = v->push_capture;
        if (pushed)
            reply_add(v, OADR_MSG_RESPONSE, "EiEvent", "452", "unknown vtnID", request_id);
        for (size_t i = 0; i < de->oadrEvent_count; i++)
            take_event(v, de->oadrEvent[i], request_id, server_now(v, now), 452);
        if (pushed || v->stats.events_known != known)
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr",
                   "oadrDistributeEvent from vtnID %.64s, registered with %s: refused, its events answered 452",
                   de->vtnID, v->vtn_id);
        return;
    }
    v->gen++;
    for (size_t i = 0; i < de->oadrEvent_count; i++)
        take_event(v, de->oadrEvent[i], request_id, server_now(v, now), 0);
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
    for (int i = v->push_capture ? -1 : 0; i < MAX_REPLIES; i++) {
        /* in a push exchange the first answer goes back in it */
        reply_t *r = i < 0 ? &v->push_reply : &v->replies[i];
        if (i < 0)
            v->push_capture = 0;
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
    /* §8.4: a registered VEN registers its reports (again after a re-registration) */
    v->need_register_report = 1;
    v->rr_next = now;
    v->rr_backoff = 0;
    copy_str(v->register_report_rid, sizeof(v->register_report_rid), "0");
    v->next_poll = now + v->poll_s;
    ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "registered with VTN %s: venID %s, registrationID %s, poll every %u s",
           v->vtn_id, v->ven_id, v->registration_id, v->poll_s);
}

/* ---- EiReport ----------------------------------------------------------------------------------------- */

int oadr_ven_sample(oadr_ven_t *v, double now, const oadr_sample_t *s)
{
    sample_t x;
    int64_t slot;

    if (!v || !s || !isfinite(s->power_w) || !isfinite(s->energy_wh) || (s->has_soc && !isfinite(s->soc_pct)))
        return GE_ERR_INVALID;
    memset(&x, 0, sizeof(x));
    x.t = server_now(v, now);
    x.power = s->power_w;
    x.energy = s->energy_wh;
    x.soc = s->has_soc ? s->soc_pct : 0;
    x.online = s->online != 0;
    x.override = s->manual_override != 0;
    x.has_soc = s->has_soc != 0;
    if (s->hz > 0 && isfinite(s->hz))
        v->hz = s->hz;
    if (s->volts > 0 && isfinite(s->volts))
        v->volts = s->volts;
    /* the fine ring: one a second (a later reading in the same second replaces the earlier) */
    if (v->fine_n && v->fine[(v->fine_head + FINE_N - 1) % FINE_N].t == x.t) {
        v->fine[(v->fine_head + FINE_N - 1) % FINE_N] = x;
    } else if (!v->fine_n || x.t > v->fine[(v->fine_head + FINE_N - 1) % FINE_N].t) {
        v->fine[v->fine_head] = x;
        v->fine_head = (v->fine_head + 1) % FINE_N;
        if (v->fine_n < FINE_N)
            v->fine_n++;
    }
    /* the coarse ring: one a minute, with the minute's mean power */
    slot = x.t >= 0 ? x.t / 60 : (x.t - 59) / 60;
    if (v->coarse_cnt && slot != v->coarse_slot) {
        v->coarse_cnt = 0;
        v->coarse_sum = 0;
    }
    if (!v->coarse_cnt) {
        if (v->coarse_n && v->coarse[(v->coarse_head + COARSE_N - 1) % COARSE_N].t / 60 >= slot)
            return 0; /* the clock went back: keep the ring ordered */
        v->coarse_head = (v->coarse_head + 1) % COARSE_N;
        if (v->coarse_n < COARSE_N)
            v->coarse_n++;
        v->coarse_slot = slot;
    }
    v->coarse_sum += x.power;
    v->coarse_cnt++;
    x.power = v->coarse_sum / v->coarse_cnt;
    v->coarse[(v->coarse_head + COARSE_N - 1) % COARSE_N] = x;
    return 0;
}

/* The latest reading at or before T (from the fine ring, else the coarse one), or NULL. */
static const sample_t *sample_at(const oadr_ven_t *v, int64_t t)
{
    for (size_t k = 0; k < v->fine_n; k++) {
        const sample_t *s = &v->fine[(v->fine_head + FINE_N - 1 - k) % FINE_N];
        if (s->t <= t)
            return s;
    }
    for (size_t k = 0; k < v->coarse_n; k++) {
        const sample_t *s = &v->coarse[(v->coarse_head + COARSE_N - 1 - k) % COARSE_N];
        if (s->t <= t)
            return s;
    }
    return NULL;
}

/* The mean power over [A, B): the readings in it, else the one in force at its start. */
static int power_mean(const oadr_ven_t *v, int64_t a, int64_t b, double *out)
{
    double sum = 0;
    size_t n = 0;
    const sample_t *s;

    for (size_t k = 0; k < v->fine_n; k++) {
        s = &v->fine[(v->fine_head + FINE_N - 1 - k) % FINE_N];
        if (s->t < a)
            break;
        if (s->t < b) {
            sum += s->power;
            n++;
        }
    }
    if (!n)
        for (size_t k = 0; k < v->coarse_n; k++) {
            s = &v->coarse[(v->coarse_head + COARSE_N - 1 - k) % COARSE_N];
            if (s->t < a)
                break;
            if (s->t < b) {
                sum += s->power;
                n++;
            }
        }
    if (n) {
        *out = sum / (double)n;
        return 1;
    }
    if ((s = sample_at(v, a)) != NULL) {
        *out = s->power;
        return 1;
    }
    return 0;
}

static rep_req_t *report_find(oadr_ven_t *v, const char *id)
{
    for (int i = 0; i < MAX_REPORTS; i++)
        if (v->reports[i].used && strcmp(v->reports[i].id, id) == 0)
            return &v->reports[i];
    return NULL;
}

static void report_drop(oadr_ven_t *v, rep_req_t *r)
{
    if (v->inflight && v->inflight_report == (int)(r - v->reports))
        v->inflight_report = -1;
    r->used = 0;
}

/* One report request of the VTN.  0, or an EiResponse code (452: an ID we do not know; 454: invalid
 * data; 469: too many, an other error) with WHY filled.  The METADATA specifier asks for our
 * metadata again. */
static int take_report_request(oadr_ven_t *v, const oadr_oadrReportRequestType_t *rq, double now, char *why,
                               size_t why_len)
{
    const oadr_ei_ReportSpecifierType_t *sp = rq->reportSpecifier;
    char id[OADR_ID_MAX + 1], spec[OADR_ID_MAX + 1], rid[OADR_ID_MAX + 1];
    int64_t gran = 0, back = 0, start, end = INT64_MAX, snow = server_now(v, now);
    unsigned points = 0;
    rep_req_t *r;
    int rep;

    copy_trim(id, sizeof(id), rq->reportRequestID);
    copy_trim(spec, sizeof(spec), sp ? sp->reportSpecifierID : NULL);
    if (!id[0] || strlen(id) >= OADR_ID_MAX) {
        snprintf(why, why_len, "reportRequestID %s", id[0] ? "too long" : "empty");
        return 454;
    }
    if (strcmp(spec, "METADATA") == 0) {
        v->need_register_report = 1;
        v->rr_next = now;
        copy_str(v->register_report_rid, sizeof(v->register_report_rid), id);
        return 0;
    }
    if ((rep = oadr__report_find(spec)) < 0) {
        snprintf(why, why_len, "reportSpecifierID %.64s is not one of ours", spec);
        return 452;
    }
    for (size_t i = 0; i < sp->specifierPayload_count; i++) {
        int p;
        copy_trim(rid, sizeof(rid), sp->specifierPayload[i]->rID);
        if ((p = oadr__point_find(rep, rid)) < 0) {
            snprintf(why, why_len, "rID %.64s is not in report %s", rid, spec);
            return 452;
        }
        points |= 1u << p;
    }
    if (!sp->granularity || !sp->granularity->duration || oadr_parse_duration(sp->granularity->duration, &gran) < 0 ||
        gran < 0 || !sp->reportBackDuration || !sp->reportBackDuration->duration ||
        oadr_parse_duration(sp->reportBackDuration->duration, &back) < 0 || back < 0) {
        snprintf(why, why_len, "report %s: bad granularity or reportBackDuration", id);
        return 454;
    }
    start = snow;
    if (sp->reportInterval && sp->reportInterval->properties) {
        const oadr_xcal_properties_t *p = sp->reportInterval->properties;
        int64_t dur = 0;
        if (!p->dtstart || !p->dtstart->date_time || oadr_parse_datetime(p->dtstart->date_time, &start) < 0 ||
            (p->duration && p->duration->duration && (oadr_parse_duration(p->duration->duration, &dur) < 0 || dur < 0))) {
            snprintf(why, why_len, "report %s: bad reportInterval", id);
            return 454;
        }
        end = dur > 0 ? start + dur : INT64_MAX;
    }
    if (rep == OADR__RPT_HISTORY_USAGE) {
        /* the past: [start, end) at once (or once END has passed); one report, then done */
        if (end == INT64_MAX)
            end = snow;
        if (start < snow - 86400)
            start = snow - 86400;
        if (start > end) {
            snprintf(why, why_len, "report %s: the reportInterval ends before it starts", id);
            return 454;
        }
        back = end - start;
    } else if (start < snow) {
        start = snow; /* telemetry reports what is measured from now on */
    }
    if (gran > 0 && back > 0 && gran > back)
        gran = back;
    if (gran > MAX_SAVED_DURATION || back > MAX_SAVED_DURATION) {
        snprintf(why, why_len, "report %s: granularity or reportBackDuration longer than a year", id);
        return 454;
    }
    if (end != INT64_MAX && end > MAX_SAVED_TIME)
        end = INT64_MAX;
    r = report_find(v, id);
    for (int i = 0; i < MAX_REPORTS && !r; i++)
        if (!v->reports[i].used)
            r = &v->reports[i];
    if (!r) {
        snprintf(why, why_len, "more than %d report requests", MAX_REPORTS);
        return 469;
    }
    memset(r, 0, sizeof(*r));
    r->used = 1;
    copy_str(r->id, sizeof(r->id), id);
    r->report = rep;
    r->points = points ? points : (1u << oadr__reports[rep].n_points) - 1;
    r->gran = gran;
    r->back = back;
    r->end = end;
    r->covered = start;
    ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "report request %s: %s every %lld s, granularity %lld s", id,
           oadr__reports[rep].name, (long long)back, (long long)gran);
    return 0;
}

/* The report requests of a payload (oadrCreateReport or oadrRegisteredReport), answered with one
 * oadrCreatedReport quoting REQUEST_ID. */
static void take_report_requests(oadr_ven_t *v, oadr_oadrReportRequestType_t *const *rqs, size_t n,
                                 const char *request_id, double now)
{
    char why[160] = "", first_why[160] = "";
    int code = 0;

    for (size_t i = 0; i < n; i++) {
        int c = take_report_request(v, rqs[i], now, why, sizeof(why));
        if (c) {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "report request refused (%d): %s", c, why);
            if (!code) {
                code = c;
                copy_str(first_why, sizeof(first_why), why);
            }
        }
    }
    char cs[16];
    snprintf(cs, sizeof(cs), "%d", code ? code : 200);
    reply_add(v, OADR_MSG_CREATED_REPORT, "EiReport", cs, code ? first_why : "OK", request_id);
}

static void on_cancel_report(oadr_ven_t *v, const oadr_oadrCancelReportType_t *c)
{
    char id[OADR_ID_MAX + 1], why[128] = "";
    int code = 200;

    for (size_t i = 0; i < c->reportRequestID_count; i++) {
        rep_req_t *r;
        copy_trim(id, sizeof(id), c->reportRequestID[i]);
        if (!(r = report_find(v, id))) {
            code = 452;
            snprintf(why, sizeof(why), "no report request %.64s", id);
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "oadrCancelReport for %s, which is not a report request of ours",
                   id);
            continue;
        }
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "report request %s cancelled%s", id,
               c->reportToFollow ? " (one report to follow)" : "");
        if (c->reportToFollow)
            r->final = 1;
        else
            report_drop(v, r);
    }
    reply_add(v, OADR_MSG_CANCELED_REPORT, "EiReport", code == 200 ? "200" : "452", code == 200 ? "OK" : why,
              c->requestID);
}

/* The values of report R's points for [A, A + DUR) into VALS (at most N_MAX); the count. */
static size_t report_values(const oadr_ven_t *v, const rep_req_t *r, int64_t a, int64_t dur, oadr__value_t *vals,
                            size_t n_max)
{
    const oadr__report_def_t *def = &oadr__reports[r->report];
    int64_t b = a + (dur > 0 ? dur : 1);
    size_t n = 0;

    for (size_t p = 0; p < def->n_points && n < n_max; p++) {
        oadr__value_t *x;
        const sample_t *s;
        if (!(r->points & (1u << p)))
            continue;
        x = &vals[n++];
        memset(x, 0, sizeof(*x));
        x->rid = def->points[p].rid;
        x->what = def->points[p].what;
        switch (x->what) {
        case OADR__M_POWER:
            x->good = power_mean(v, a, b, &x->value);
            break;
        case OADR__M_ENERGY:
            /* the register at the interval's end */
            if ((s = sample_at(v, b - 1)) != NULL) {
                x->good = 1;
                x->value = s->energy;
            }
            break;
        case OADR__M_STATUS:
            if ((s = sample_at(v, b - 1)) != NULL) {
                x->good = 1;
                x->online = s->online;
                x->manual_override = s->override;
                x->has_soc = s->has_soc;
                x->soc_pct = s->soc;
            }
            break;
        }
    }
    return n;
}

/* The update of report request R due at server time SNOW: 1 and the body built, or 0. */
static int build_update(oadr_ven_t *v, rep_req_t *r, int64_t snow)
{
    oadr__interval_t *iv;
    oadr__value_t *vals;
    oadr__update_t u;
    char rid[128], report_id[OADR_ID_MAX + 24];
    int64_t from = r->covered, upto, step;
    size_t n_iv = 0, n_vals = 0;
    int rc;

    if (snow < r->retry_at)
        return 0;
    if (r->report != OADR__RPT_HISTORY_USAGE && r->end != INT64_MAX && from >= r->end) {
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "report request %s complete (its interval is over)", r->id);
        r->used = 0;
        return 0;
    }
    if (r->report == OADR__RPT_HISTORY_USAGE) {
        if (snow < r->end)
            return 0;
        upto = r->end;
    } else if (r->back == 0 || r->final) {
        upto = snow; /* one report now: what was measured since the last */
        if (upto <= from)
            upto = from + (r->gran > 0 ? r->gran : 1);
        if (upto > snow && snow < from)
            return 0;
    } else {
        if (snow < from + r->back)
            return 0;
        upto = from + r->back;
    }
    if (r->end != INT64_MAX && upto > r->end && r->report != OADR__RPT_HISTORY_USAGE)
        upto = r->end;
    ge_arena_reset(v->enc);
    iv = ge_arena_zalloc(v->enc, MAX_UPDATE_INTERVALS * sizeof(*iv));
    vals = ge_arena_zalloc(v->enc, MAX_UPDATE_INTERVALS * 2 * sizeof(*vals));
    if (!iv || !vals) {
        r->retry_at = snow + (int64_t)RETRY_MIN;
        return 0;
    }
    step = r->gran > 0 ? r->gran : (upto - from > 0 ? upto - from : 1);
    for (int64_t a = from; a < upto && n_iv < MAX_UPDATE_INTERVALS; a += step) {
        int64_t d = a + step > upto ? upto - a : step;
        iv[n_iv].start = a;
        iv[n_iv].dur = d;
        iv[n_iv].first = n_vals;
        iv[n_iv].n = report_values(v, r, a, d, vals + n_vals, 2);
        n_vals += iv[n_iv].n;
        n_iv++;
    }
    if (!n_iv) {
        iv[0].start = from;
        iv[0].dur = 0;
        iv[0].first = 0;
        iv[0].n = report_values(v, r, from, 0, vals, 2);
        n_iv = 1;
    } else {
        upto = iv[n_iv - 1].start + iv[n_iv - 1].dur;
    }
    memset(&u, 0, sizeof(u));
    u.report = r->report;
    u.report_request_id = r->id;
    new_request_id(v, rid, sizeof(rid));
    snprintf(report_id, sizeof(report_id), "%s-%lld", r->id, (long long)from);
    u.report_id = report_id;
    u.created = snow;
    u.start = from;
    u.dur = upto - from;
    u.iv = iv;
    u.n_iv = n_iv;
    u.vals = vals;
    ge_buf_clear(&v->body);
    if ((rc = oadr__update_report_xml(&v->body, v->enc, rid, v->ven_id, &u)) < 0) {
        ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the oadrUpdateReport for %s: %s", r->id,
               ge_strerror(rc));
        r->retry_at = snow + (int64_t)RETRY_MAX;
        return 0;
    }
    v->inflight_report = (int)(r - v->reports);
    v->inflight_upto = upto;
    return 1;
}

/* After the VTN's answer to an update (OK or not). */
static void update_done(oadr_ven_t *v, int ok, int64_t snow)
{
    rep_req_t *r;

    if (v->inflight_report < 0)
        return;
    r = &v->reports[v->inflight_report];
    v->inflight_report = -1;
    if (!r->used)
        return;
    if (!ok) {
        /* nothing lost: the next update covers this window too */
        r->retry_at = snow + (int64_t)RETRY_MIN;
        return;
    }
    v->stats.updates_sent++;
    r->retry_at = 0;
    r->covered = v->inflight_upto;
    if (r->report == OADR__RPT_HISTORY_USAGE || r->back == 0 || r->final ||
        (r->end != INT64_MAX && r->covered >= r->end)) {
        if (r->covered < r->end && r->report == OADR__RPT_HISTORY_USAGE)
            return; /* more history than one update holds */
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "report request %s complete", r->id);
        r->used = 0;
    }
}

static void reports_clear(oadr_ven_t *v)
{
    for (int i = 0; i < MAX_REPORTS; i++)
        v->reports[i].used = 0;
    v->inflight_report = -1;
}

/* The report requests pending now (for oadrCreatedReport / oadrCanceledReport). */
static size_t pending_reports(const oadr_ven_t *v, const char **ids)
{
    size_t n = 0;
    for (int i = 0; i < MAX_REPORTS; i++)
        if (v->reports[i].used)
            ids[n++] = v->reports[i].id;
    return n;
}

/* ---- EiOpt -------------------------------------------------------------------------------------------- */

static opt_entry_t *opt_slot(oadr_ven_t *v)
{
    for (int i = 0; i < OADR_MAX_OPTS; i++)
        if (v->opts[i].state == OPT_FREE)
            return &v->opts[i];
    return NULL;
}

static void reconsider_events(oadr_ven_t *v)
{
    for (int i = 0; i < OADR_MAX_EVENTS; i++) {
        ven_event_t *e = &v->events[i];
        int was;
        if (!e->used)
            continue;
        was = e->opt_out;
        e->opt_out = event_opted_out(v, e);
        if (e->opt_out == was)
            continue;
        schedule(v, e);
        /* the VTN was told otherwise: tell it again (§8.3.3: the VEN may change its mind by oadrCreateOpt) */
        if (e->responded && e->respond && e->answered_opt_out != e->opt_out) {
            opt_entry_t *o = opt_slot(v);
            if (!o) {
                ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "too many opts in flight; the change for %s is not sent", e->id);
                continue;
            }
            memset(o, 0, sizeof(*o));
            o->state = OPT_TO_CREATE;
            snprintf(o->id, sizeof(o->id), "GE-OPT-%u", ++v->opt_seq);
            o->opt_in = !e->opt_out;
            copy_str(o->reason, sizeof(o->reason), e->opt_out ? "notParticipating" : "participating");
            copy_str(o->event_id, sizeof(o->event_id), e->id);
            o->mod = e->mod;
            e->answered_opt_out = e->opt_out;
        }
    }
}

int oadr_ven_opt_out(oadr_ven_t *v, const char *event_id)
{
    int free_slot = -1;

    if (!v || !event_id || !*event_id || strlen(event_id) >= OADR_ID_MAX)
        return GE_ERR_INVALID;
    for (int i = 0; i < OADR_MAX_OPT_OUTS; i++) {
        if (strcmp(v->opt_outs[i], event_id) == 0)
            return 0;
        if (!v->opt_outs[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return GE_ERR_LIMIT;
    copy_str(v->opt_outs[free_slot], OADR_ID_MAX, event_id);
    ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "opted out of event %s", event_id);
    reconsider_events(v);
    return 0;
}

int oadr_ven_create_opt(oadr_ven_t *v, const char *opt_id, int opt_in, const char *reason,
                        const oadr_opt_window_t *windows, size_t n)
{
    opt_entry_t *o;

    if (!v || !opt_id || !*opt_id || strlen(opt_id) >= OADR_ID_MAX || !windows || n == 0 || n > OADR_MAX_WINDOWS ||
        (reason && strlen(reason) >= sizeof(o->reason)))
        return GE_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (windows[i].duration <= 0 || windows[i].duration > MAX_SAVED_DURATION || windows[i].start > MAX_SAVED_TIME ||
            windows[i].start < -MAX_SAVED_TIME)
            return GE_ERR_INVALID;
    for (int i = 0; i < OADR_MAX_OPTS; i++)
        if (v->opts[i].state != OPT_FREE && strcmp(v->opts[i].id, opt_id) == 0)
            return GE_ERR_INVALID;
    if (!(o = opt_slot(v)))
        return GE_ERR_LIMIT;
    memset(o, 0, sizeof(*o));
    o->state = OPT_TO_CREATE;
    copy_str(o->id, sizeof(o->id), opt_id);
    o->opt_in = opt_in != 0;
    copy_str(o->reason, sizeof(o->reason), reason && *reason ? reason : "x-schedule");
    o->n = n;
    for (size_t i = 0; i < n; i++) {
        o->start[i] = windows[i].start;
        o->dur[i] = windows[i].duration;
    }
    reconsider_events(v);
    return 0;
}

int oadr_ven_cancel_opt(oadr_ven_t *v, const char *opt_id)
{
    if (!v || !opt_id)
        return GE_ERR_INVALID;
    for (int i = 0; i < OADR_MAX_OPTS; i++) {
        opt_entry_t *o = &v->opts[i];
        if (o->state == OPT_FREE || strcmp(o->id, opt_id) != 0)
            continue;
        if (o->state == OPT_TO_CREATE && v->inflight_opt != i)
            o->state = OPT_FREE; /* never sent: nothing to cancel at the VTN */
        else
            o->state = OPT_TO_CANCEL;
        reconsider_events(v);
        return 0;
    }
    return GE_ERR_NOTFOUND;
}

size_t oadr_ven_schedules(const oadr_ven_t *v, char (*ids)[OADR_ID_MAX], size_t max)
{
    size_t n = 0;

    for (int i = 0; v && i < OADR_MAX_OPTS; i++) {
        const opt_entry_t *o = &v->opts[i];
        if ((o->state != OPT_TO_CREATE && o->state != OPT_CREATED) || o->event_id[0])
            continue;
        if (ids && n < max)
            copy_str(ids[n], OADR_ID_MAX, o->id);
        n++;
    }
    return n;
}

static void opt_done(oadr_ven_t *v, int ok)
{
    opt_entry_t *o;

    if (v->inflight_opt < 0)
        return;
    o = &v->opts[v->inflight_opt];
    v->inflight_opt = -1;
    if (!ok) {
        /* sent again at the next turn */
        if (o->state == OPT_CREATED && !o->acked)
            o->state = OPT_TO_CREATE;
        return;
    }
    if (o->state == OPT_TO_CANCEL && o->acked) {
        o->state = OPT_FREE;
    } else if (o->state == OPT_CREATED) {
        o->acked = 1;
        if (o->event_id[0])
            o->state = OPT_FREE; /* an event's opt is said once */
    }
}

/* ---- persistence -------------------------------------------------------------------------------------- */

/* The state text: one line per item, fields separated by spaces, ids with bytes <= ' ', '%' and
 * DEL written as %XX:
 *   R ID REPORT POINTS GRANULARITY BACK END COVERED FINAL     a report request (server time)
 *   O ID STATE ACKED OPT_IN MOD REASON EVENT N START DUR...   an opt (EVENT "-" for a schedule)
 *   X EVENTID                                                 the owner opted out of this event */

int oadr_ven_save(const oadr_ven_t *v, ge_buf_t *out)
{
    int rc = 0;

    if (!v || !out)
        return GE_ERR_INVALID;
    for (int i = 0; i < MAX_REPORTS && rc == 0; i++) {
        const rep_req_t *r = &v->reports[i];
        if (!r->used)
            continue;
        rc = ge_buf_printf(out, "R ");
        if (rc == 0)
            rc = ge_buf_put_escaped(out, r->id);
        if (rc == 0)
            rc = ge_buf_printf(out, " %d %u %lld %lld %lld %lld %d\n", r->report, r->points, (long long)r->gran,
                               (long long)r->back, (long long)(r->end == INT64_MAX ? -1 : r->end),
                               (long long)r->covered, r->final);
    }
    for (int i = 0; i < OADR_MAX_OPTS && rc == 0; i++) {
        const opt_entry_t *o = &v->opts[i];
        if (o->state == OPT_FREE)
            continue;
        rc = ge_buf_printf(out, "O ");
        if (rc == 0)
            rc = ge_buf_put_escaped(out, o->id);
        /* a create the VTN never acknowledged is to be sent again */
        if (rc == 0)
            rc = ge_buf_printf(out, " %d %d %d %u ", (int)(o->state == OPT_CREATED && !o->acked ? OPT_TO_CREATE : o->state),
                               o->acked, o->opt_in, (unsigned)o->mod);
        if (rc == 0)
            rc = ge_buf_put_escaped(out, o->reason);
        /* EVENT "-": a schedule (an eventID "-" itself is written %2D) */
        if (rc == 0)
            rc = !o->event_id[0] ? ge_buf_printf(out, " -")
                 : strcmp(o->event_id, "-") == 0 ? ge_buf_printf(out, " %%2D") : ge_buf_printf(out, " ");
        if (rc == 0 && o->event_id[0] && strcmp(o->event_id, "-") != 0)
            rc = ge_buf_put_escaped(out, o->event_id);
        if (rc == 0)
            rc = ge_buf_printf(out, " %zu", o->n);
        for (size_t k = 0; k < o->n && rc == 0; k++)
            rc = ge_buf_printf(out, " %lld %lld", (long long)o->start[k], (long long)o->dur[k]);
        if (rc == 0)
            rc = ge_buf_printf(out, "\n");
    }
    for (int i = 0; i < OADR_MAX_OPT_OUTS && rc == 0; i++) {
        if (!v->opt_outs[i][0])
            continue;
        rc = ge_buf_printf(out, "X ");
        if (rc == 0)
            rc = ge_buf_put_escaped(out, v->opt_outs[i]);
        if (rc == 0)
            rc = ge_buf_printf(out, "\n");
    }
    return rc;
}

/* The next space-separated field of [*P, END) into OUT (%XX decoded); 0, or -1 when there is none,
 * it does not fit, or it decodes to an empty string. */
static int get_id(const char **p, const char *end, char *out, size_t size)
{
    size_t n = 0;

    while (*p < end && **p == ' ')
        (*p)++;
    while (*p < end && **p != ' ') {
        unsigned c = (unsigned char)**p;
        if (c == '%') {
            int hi = end - *p < 3 ? -1 : ge_hex_digit((unsigned char)(*p)[1]);
            int lo = end - *p < 3 ? -1 : ge_hex_digit((unsigned char)(*p)[2]);
            if (hi < 0 || lo < 0 || (c = (unsigned)(hi * 16 + lo)) == 0)
                return -1;
            *p += 2;
        }
        if (n + 1 >= size)
            return -1;
        out[n++] = (char)c;
        (*p)++;
    }
    out[n] = '\0';
    return n ? 0 : -1;
}

/* The next number field of [*P, END); 0, or -1. */
static int get_num(const char **p, const char *end, long long *out)
{
    char tok[32], *e;

    if (get_id(p, end, tok, sizeof(tok)) < 0)
        return -1;
    *out = strtoll(tok, &e, 10);
    return *e ? -1 : 0;
}

/* One line of the state text into the tables of T (a copy of the engine's); 0 or -1. */
static int restore_line(oadr_ven_t *t, const char *p, const char *end)
{
    long long x[8];
    char id[OADR_ID_MAX];

    if (end - p < 2 || p[1] != ' ')
        return -1;
    if (p[0] == 'X') {
        p += 2;
        for (int i = 0; i < OADR_MAX_OPT_OUTS; i++)
            if (!t->opt_outs[i][0])
                return get_id(&p, end, t->opt_outs[i], OADR_ID_MAX) < 0 || p != end ? -1 : 0;
        return -1;
    }
    if (p[0] == 'R') {
        rep_req_t *r = NULL;
        p += 2;
        for (int i = 0; i < MAX_REPORTS && !r; i++)
            if (!t->reports[i].used)
                r = &t->reports[i];
        if (!r || get_id(&p, end, id, sizeof(id)) < 0)
            return -1;
        for (int k = 0; k < 7; k++)
            if (get_num(&p, end, &x[k]) < 0)
                return -1;
        /* times within the unix seconds of +-30000 years, durations within a year: no overflow later */
        if (p != end || x[0] < 0 || x[0] >= OADR__RPT_COUNT || x[1] <= 0 || x[1] >= 1ll << oadr__reports[x[0]].n_points ||
            x[2] < 0 || x[2] > MAX_SAVED_DURATION || x[3] < 0 || x[3] > MAX_SAVED_DURATION || x[4] < -1 ||
            x[4] > MAX_SAVED_TIME || x[5] < -MAX_SAVED_TIME || x[5] > MAX_SAVED_TIME || (x[6] != 0 && x[6] != 1))
            return -1;
        memset(r, 0, sizeof(*r));
        r->used = 1;
        copy_str(r->id, sizeof(r->id), id);
        r->report = (int)x[0];
        r->points = (unsigned)x[1];
        r->gran = x[2];
        r->back = x[3];
        r->end = x[4] < 0 ? INT64_MAX : x[4];
        r->covered = x[5];
        r->final = (int)x[6];
        return 0;
    }
    if (p[0] == 'O') {
        opt_entry_t o, *slot = opt_slot(t);
        char ev[OADR_ID_MAX];
        const char *ev_at;
        int schedule;
        p += 2;
        memset(&o, 0, sizeof(o));
        if (!slot || get_id(&p, end, o.id, sizeof(o.id)) < 0)
            return -1;
        for (int k = 0; k < 4; k++)
            if (get_num(&p, end, &x[k]) < 0)
                return -1;
        if (get_id(&p, end, o.reason, sizeof(o.reason)) < 0)
            return -1;
        while (p < end && *p == ' ')
            p++;
        ev_at = p;
        if (get_id(&p, end, ev, sizeof(ev)) < 0 || get_num(&p, end, &x[4]) < 0)
            return -1;
        schedule = strcmp(ev, "-") == 0 && ev_at[0] != '%';
        if (x[0] < OPT_TO_CREATE || x[0] > OPT_TO_CANCEL || (x[1] | x[2]) & ~1ll || x[3] < 0 || x[3] > UINT32_MAX ||
            x[4] < 0 || x[4] > OADR_MAX_WINDOWS || (x[4] == 0 && schedule))
            return -1;
        o.state = (opt_state)x[0];
        o.acked = (int)x[1];
        o.opt_in = (int)x[2];
        o.mod = (uint32_t)x[3];
        if (!schedule)
            copy_str(o.event_id, sizeof(o.event_id), ev);
        o.n = (size_t)x[4];
        for (size_t k = 0; k < o.n; k++) {
            long long s, d;
            if (get_num(&p, end, &s) < 0 || get_num(&p, end, &d) < 0 || d <= 0 || d > MAX_SAVED_DURATION ||
                s < -MAX_SAVED_TIME || s > MAX_SAVED_TIME)
                return -1;
            o.start[k] = s;
            o.dur[k] = d;
        }
        if (p != end)
            return -1;
        /* a create the VTN never acknowledged is sent again */
        if (o.state == OPT_CREATED && !o.acked)
            o.state = OPT_TO_CREATE;
        *slot = o;
        return 0;
    }
    return -1;
}

int oadr_ven_restore(oadr_ven_t *v, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    unsigned line = 0;
    rep_req_t reports[MAX_REPORTS];
    opt_entry_t opts[OADR_MAX_OPTS];
    char opt_outs[OADR_MAX_OPT_OUTS][OADR_ID_MAX];

    if (!v || (!text && len))
        return GE_ERR_INVALID;
    /* parse into the live tables, and put the old ones back if a line is bad */
    memcpy(reports, v->reports, sizeof(reports));
    memcpy(opts, v->opts, sizeof(opts));
    memcpy(opt_outs, v->opt_outs, sizeof(opt_outs));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        if (le > p && restore_line(v, p, le) < 0) {
            ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "saved state:%u: not understood; nothing restored", line);
            memcpy(v->reports, reports, sizeof(reports));
            memcpy(v->opts, opts, sizeof(opts));
            memcpy(v->opt_outs, opt_outs, sizeof(opt_outs));
            return GE_ERR_PARSE;
        }
        p = nl ? nl + 1 : end;
    }
    {
        const char *ids[MAX_REPORTS];
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "restored %zu report request(s) and the opts from the saved state",
               pending_reports(v, ids));
    }
    reconsider_events(v);
    return 0;
}

/* ---- payloads from the VTN ---------------------------------------------------------------------------- */

/* A payload naming a venID that is not ours is refused with 452 (Invalid ID) and changes nothing. */
static int ven_id_ok(oadr_ven_t *v, const char *ven_id, const char *service, oadr_msg_kind answer,
                     const char *request_id)
{
    char id[OADR_ID_MAX + 1];

    if (!ven_id)
        return 1;
    copy_trim(id, sizeof(id), ven_id);
    if (!id[0] || strcmp(id, v->ven_id) == 0)
        return 1;
    ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "a %s payload for venID %.64s, not ours (%s); refused with 452", service,
           id, v->ven_id);
    reply_add(v, answer, service, "452", "unknown venID", request_id);
    return 0;
}

static void handle_payload(oadr_ven_t *v, const oadr_oadrSignedObject_t *so, double now)
{
    if (so->oadrCreatedPartyRegistration) {
        /* only as the answer to our query or registration; anywhere else it means nothing */
        if (v->inflight_kind == OADR_MSG_QUERY_REGISTRATION || v->inflight_kind == OADR_MSG_CREATE_PARTY_REGISTRATION)
            on_created_registration(v, so->oadrCreatedPartyRegistration, now,
                                    v->inflight_kind == OADR_MSG_CREATE_PARTY_REGISTRATION);
    } else if (so->oadrDistributeEvent) {
        if (v->reg == REG_DONE)
            on_distribute(v, so->oadrDistributeEvent, now);
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
            v->need_register_report = 0;
            events_clear(v);
            reports_clear(v);
            v->reg_next = now + RETRY_MIN;
        } else {
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "oadrCancelPartyRegistration for registrationID %s, not ours",
                   reg_id);
        }
    } else if (so->oadrCanceledPartyRegistration) {
        /* the answer to our leaving (§8.2.4) */
        const oadr_oadrCanceledPartyRegistrationType_t *c = so->oadrCanceledPartyRegistration;
        char code[8];
        copy_trim(code, sizeof(code), c->eiResponse ? c->eiResponse->responseCode : NULL);
        if (v->reg == REG_LEAVING && v->inflight_kind == OADR_MSG_CANCEL_PARTY_REGISTRATION) {
            if (code[0] == '2') {
                ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "registration %s cancelled", v->registration_id);
                v->reg = REG_LEFT;
                v->ven_id[0] = v->registration_id[0] = '\0';
                v->need_request_event = v->need_register_report = 0;
                events_clear(v);
                reports_clear(v);
            } else {
                v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
                v->reg_next = now + v->reg_backoff;
                ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "the VTN refused to cancel our registration (responseCode %s)",
                       code);
            }
        }
    } else if (so->oadrCreateReport) {
        const oadr_oadrCreateReportType_t *c = so->oadrCreateReport;
        if (!ven_id_ok(v, c->venID, "EiReport", OADR_MSG_CREATED_REPORT, c->requestID))
            return;
        take_report_requests(v, c->oadrReportRequest, c->oadrReportRequest_count, c->requestID, now);
    } else if (so->oadrRegisteredReport) {
        const oadr_oadrRegisteredReportType_t *r = so->oadrRegisteredReport;
        char code[8];
        copy_trim(code, sizeof(code), r->eiResponse ? r->eiResponse->responseCode : NULL);
        if (v->inflight_kind == OADR_MSG_REGISTER_REPORT) {
            if (code[0] == '2') {
                ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "the VTN registered our reports");
                v->rr_backoff = 0;
            } else {
                v->stats.reports_registered--;
                v->need_register_report = 1;
                v->rr_backoff = backoff(v->rr_backoff, RETRY_MAX);
                v->rr_next = now + v->rr_backoff;
                ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "the VTN refused our reports (responseCode %s); again in %.0f s",
                       code, v->rr_backoff);
            }
        }
        /* §8.4: report requests may ride on the oadrRegisteredReport; oadrCreatedReport answers them */
        if (r->oadrReportRequest_count)
            take_report_requests(v, r->oadrReportRequest, r->oadrReportRequest_count,
                                 r->eiResponse ? r->eiResponse->requestID : NULL, now);
    } else if (so->oadrRegisterReport) {
        /* the VTN's own METADATA: acknowledged; the VEN asks for none of its reports */
        const oadr_oadrRegisterReportType_t *r = so->oadrRegisterReport;
        reply_add(v, OADR_MSG_REGISTERED_REPORT, "EiReport", "200", "OK", r->requestID);
    } else if (so->oadrCancelReport) {
        const oadr_oadrCancelReportType_t *c = so->oadrCancelReport;
        if (!ven_id_ok(v, c->venID, "EiReport", OADR_MSG_CANCELED_REPORT, c->requestID))
            return;
        on_cancel_report(v, c);
    } else if (so->oadrUpdateReport) {
        reply_add(v, OADR_MSG_UPDATED_REPORT, "EiReport", "200", "OK", so->oadrUpdateReport->requestID);
    } else if (so->oadrUpdatedReport) {
        const oadr_oadrUpdatedReportType_t *u = so->oadrUpdatedReport;
        if (u->oadrCancelReport)
            on_cancel_report(v, u->oadrCancelReport);
    } else if (so->oadrCreatedOpt || so->oadrCanceledOpt) {
        const oadr_ei_EiResponseType_t *er = so->oadrCreatedOpt ? so->oadrCreatedOpt->eiResponse
                                                                 : so->oadrCanceledOpt->eiResponse;
        char code[8];
        copy_trim(code, sizeof(code), er ? er->responseCode : NULL);
        if (code[0] && code[0] != '2')
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "the VTN answered an opt with responseCode %s", code);
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

/* The answer R into OUT. */
static int encode_reply(oadr_ven_t *v, const reply_t *r, ge_buf_t *out)
{
    char rid[128];
    int rc;

    if (!r->request_id[0])
        new_request_id(v, rid, sizeof(rid));
    else
        copy_str(rid, sizeof(rid), r->request_id);
    if (r->kind == OADR_MSG_CANCELED_PARTY_REGISTRATION) {
        rc = oadr__canceled_party_registration_xml(out, r->code, rid, v->registration_id, v->ven_id);
        if (r->code[0] == '2' && v->reg == REG_NONE)
            v->ven_id[0] = v->registration_id[0] = '\0';
    } else if (r->kind == OADR_MSG_CREATED_REPORT || r->kind == OADR_MSG_CANCELED_REPORT) {
        const char *pending[MAX_REPORTS];
        size_t n = pending_reports(v, pending);
        rc = oadr__created_report_xml(out, r->kind == OADR_MSG_CANCELED_REPORT, r->code, r->description, rid,
                                      v->ven_id, pending, n);
    } else if (r->kind == OADR_MSG_REGISTERED_REPORT) {
        rc = oadr__registered_report_xml(out, r->code, r->description, rid, v->ven_id);
    } else if (r->kind == OADR_MSG_UPDATED_REPORT) {
        rc = oadr__updated_report_xml(out, r->code, r->description, rid, v->ven_id);
    } else {
        rc = oadr__response_xml(out, r->code, r->description, rid, v->ven_id);
    }
    if (rc < 0)
        ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the answer to %s: %s", r->service, ge_strerror(rc));
    return rc;
}

static int next_reply(oadr_ven_t *v, oadr_request_t *req)
{
    for (int i = 0; i < MAX_REPLIES; i++) {
        reply_t *r = &v->replies[i];
        if (!r->used)
            continue;
        r->used = 0;
        ge_buf_clear(&v->body);
        if (encode_reply(v, r, &v->body) < 0)
            continue;
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
        if (oadr__created_event_xml(&v->body, rid, v->ven_id, e->id, e->mod,
                                    e->code == 452 ? "452" : e->code == 460 ? "460" : "200",
                                    e->opt_out ? "optOut" : "optIn") < 0) {
            ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the oadrCreatedEvent for %s", e->id);
            e->responded = 1;
            continue;
        }
        /* decided now: the caller's outbox delivers it, exactly once per modification */
        e->responded = 1;
        e->answered_opt_out = e->opt_out;
        set_path(v, "EiEvent");
        v->inflight_event = i;
        fill(v, OADR_MSG_CREATED_EVENT, req);
        copy_str(req->event_id, sizeof(req->event_id), e->id);
        req->modification = e->mod;
        req->opt_out = e->opt_out;
        v->stats.created_events++;
        ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "oadrCreatedEvent %s for %s (modification %u)",
               e->opt_out ? "optOut" : "optIn", e->id, (unsigned)e->mod);
        return 1;
    }
    return 0;
}

static int next_opt(oadr_ven_t *v, double now, oadr_request_t *req)
{
    for (int i = 0; i < OADR_MAX_OPTS; i++) {
        opt_entry_t *o = &v->opts[i];
        char rid[128];
        int rc;
        if (o->state != OPT_TO_CREATE && o->state != OPT_TO_CANCEL)
            continue;
        new_request_id(v, rid, sizeof(rid));
        ge_buf_clear(&v->body);
        if (o->state == OPT_TO_CREATE) {
            oadr__opt_t x;
            memset(&x, 0, sizeof(x));
            x.opt_id = o->id;
            x.opt_type = o->opt_in ? "optIn" : "optOut";
            x.opt_reason = o->reason;
            x.request_id = rid;
            x.ven_id = v->ven_id;
            x.created = server_now(v, now);
            x.event_id = o->event_id[0] ? o->event_id : NULL;
            x.modification = o->mod;
            x.starts = o->start;
            x.durs = o->dur;
            x.n_windows = o->n;
            ge_arena_reset(v->enc);
            rc = oadr__create_opt_xml(&v->body, v->enc, &x);
            o->state = OPT_CREATED;
        } else if (!o->acked && v->inflight_opt != i) {
            /* never acknowledged by the VTN: nothing to cancel there */
            o->state = OPT_FREE;
            continue;
        } else {
            rc = oadr__cancel_opt_xml(&v->body, rid, o->id, v->ven_id);
        }
        if (rc < 0) {
            ge_log(v->cfg.log, GE_LOG_ERROR, "oadr", "cannot encode the opt %s: %s", o->id, ge_strerror(rc));
            o->state = OPT_FREE;
            continue;
        }
        set_path(v, "EiOpt");
        v->inflight_opt = i;
        fill(v, o->state == OPT_CREATED ? OADR_MSG_CREATE_OPT : OADR_MSG_CANCEL_OPT, req);
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
    if (v->reg == REG_LEFT)
        return 0;
    if (v->reg == REG_LEAVING) {
        if (now < v->reg_next)
            return 0;
        new_request_id(v, rid, sizeof(rid));
        if ((rc = oadr__cancel_party_registration_xml(&v->body, rid, v->registration_id, v->ven_id)) < 0)
            goto fail;
        set_path(v, "EiRegisterParty");
        fill(v, OADR_MSG_CANCEL_PARTY_REGISTRATION, req);
        return 1;
    }
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
            rc = oadr__create_party_registration_xml(&v->body, rid, v->ven_id, v->registration_id, v->ven_name,
                                                     v->transport, v->cfg.xml_signature);
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
    if (v->need_register_report && now >= v->rr_next) {
        new_request_id(v, rid, sizeof(rid));
        ge_arena_reset(v->enc);
        if ((rc = oadr__register_report_xml(&v->body, v->enc, rid, v->ven_id, v->register_report_rid,
                                            server_now(v, now), v->hz > 0 ? v->hz : 60, v->volts > 0 ? v->volts : 240)) < 0)
            goto fail;
        set_path(v, "EiReport");
        fill(v, OADR_MSG_REGISTER_REPORT, req);
        return 1;
    }
    if (next_opt(v, now, req))
        return 1;
    for (int i = 0; i < MAX_REPORTS; i++) {
        if (!v->reports[i].used || !build_update(v, &v->reports[i], server_now(v, now)))
            continue;
        set_path(v, "EiReport");
        fill(v, OADR_MSG_UPDATE_REPORT, req);
        return 1;
    }
    ge_buf_clear(&v->body);
    if (now < v->next_poll || v->transport[0])
        return 0; /* push: the VTN POSTs to us, nothing to poll */
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

/* BODY as an oadrPayload's signed object (in v->arena), or NULL (logged, counted) when it is not one. */
static const oadr_oadrSignedObject_t *decode_payload(oadr_ven_t *v, const void *body, size_t len, const char *where)
{
    ge_xml_msg_t msg;
    int rc;

    ge_arena_reset(v->arena);
    rc = ge_xml_decode(v->dec, &ge_xml_schema_oadr20b, v->arena, body, len, &msg);
    if (rc < 0 || msg.root != ge_xml_root_find(&ge_xml_schema_oadr20b, "oadrPayload") ||
        !((const oadr_oadrPayload_t *)msg.value)->oadrSignedObject) {
        const ge_xml_error_t *e = ge_xml_decoder_error(v->dec);
        v->stats.bad_documents++;
        if (rc < 0)
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "%s:%lu:%lu: %s; keeping the last good state", where, e->line,
                   e->col, e->msg);
        else
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "%s: not an oadrPayload; keeping the last good state", where);
        return NULL;
    }
    return ((const oadr_oadrPayload_t *)msg.value)->oadrSignedObject;
}

int oadr_ven_response(oadr_ven_t *v, uint32_t id, int status, const void *body, size_t len, double now)
{
    oadr_msg_kind kind;
    const oadr_oadrSignedObject_t *so;
    int ok = status >= 200 && status < 300;

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
        if (kind == OADR_MSG_UPDATE_REPORT)
            update_done(v, 0, server_now(v, now));
        else if (kind == OADR_MSG_CREATE_OPT || kind == OADR_MSG_CANCEL_OPT)
            opt_done(v, 0);
        else if (kind == OADR_MSG_REGISTER_REPORT) {
            v->rr_backoff = backoff(v->rr_backoff, RETRY_MAX);
            v->rr_next = now + v->rr_backoff;
        }
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION ||
            kind == OADR_MSG_CANCEL_PARTY_REGISTRATION) {
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
    } else if (kind == OADR_MSG_UPDATE_REPORT) {
        update_done(v, 1, server_now(v, now));
    } else if (kind == OADR_MSG_CREATE_OPT || kind == OADR_MSG_CANCEL_OPT) {
        opt_done(v, 1);
    } else if (kind == OADR_MSG_REGISTER_REPORT) {
        /* delivered; an oadrRegisteredReport refusing it sends it again, backing off (rr_backoff is
         * reset once the VTN accepts them) */
        v->need_register_report = 0;
        v->stats.reports_registered++;
    }
    if (!body || len == 0) {
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION) {
            v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
            v->reg_next = now + v->reg_backoff;
            ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "POST %s: empty answer; again in %.0f s", v->path, v->reg_backoff);
        }
        return 0;
    }
    if (!(so = decode_payload(v, body, len, v->path))) {
        if (kind == OADR_MSG_QUERY_REGISTRATION || kind == OADR_MSG_CREATE_PARTY_REGISTRATION) {
            v->reg_backoff = backoff(v->reg_backoff, RETRY_MAX);
            v->reg_next = now + v->reg_backoff;
        }
        return 0;
    }
    handle_payload(v, so, now);
    return 0;
}

int oadr_ven_push(oadr_ven_t *v, const void *body, size_t len, double now, ge_buf_t *answer)
{
    const oadr_oadrSignedObject_t *so;
    char rid[128] = "";

    if (!v || !answer)
        return GE_ERR_INVALID;
    if (!body || !len || !(so = decode_payload(v, body, len, "push")))
        return 400;
    if (so->oadrDistributeEvent)
        copy_trim(rid, sizeof(rid), so->oadrDistributeEvent->requestID);
    if (v->reg != REG_DONE && v->reg != REG_LEAVING && !so->oadrCancelPartyRegistration &&
        !so->oadrRequestReregistration) {
        /* no active registration: nothing but EiRegisterParty is taken; 463 (not registered) */
        ge_log(v->cfg.log, GE_LOG_WARN, "oadr", "a push payload while not registered; refused with 463");
        if (!rid[0])
            new_request_id(v, rid, sizeof(rid));
        return oadr__response_xml(answer, "463", "not registered", rid, v->ven_id) < 0 ? 500 : 200;
    }
    memset(&v->push_reply, 0, sizeof(v->push_reply));
    v->push_capture = 1;
    handle_payload(v, so, now);
    v->push_capture = 0;
    if (v->push_reply.used) {
        v->push_reply.used = 0;
        if (encode_reply(v, &v->push_reply, answer) < 0)
            return 500;
        return 200;
    }
    /* nothing asked of us but an acknowledgement (§9.2: oadrDistributeEvent -> oadrResponse) */
    if (!rid[0])
        new_request_id(v, rid, sizeof(rid));
    return oadr__response_xml(answer, "200", "OK", rid, v->ven_id) < 0 ? 500 : 200;
}

int oadr_ven_cancel_registration(oadr_ven_t *v)
{
    if (!v)
        return GE_ERR_INVALID;
    if (v->reg != REG_DONE)
        return GE_ERR_STATE;
    ge_log(v->cfg.log, GE_LOG_INFO, "oadr", "cancelling our registration %s", v->registration_id);
    v->reg = REG_LEAVING;
    v->reg_next = 0;
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

/* Signal KIND's value X as it holds with share RAMP of the load shed in force (1: all of it); 0
 * when the signal does not hold in ramp-up or recovery. */
static int ramped(int kind, oadr_load_control lc, int dispatch_delta, double ramp, double *x)
{
    if (ramp >= 1)
        return 1;
    switch (kind) {
    case SIG_SIMPLE: *x = floor(*x * ramp + 0.5); return 1;
    case SIG_DISPATCH:
        if (!dispatch_delta)
            return 0;
        *x *= ramp;
        return 1;
    case SIG_LOADCTL:
        if (lc == OADR_LC_CAPACITY)
            *x = 1 - ramp * (1 - *x);
        else if (lc == OADR_LC_PERCENT_OFFSET)
            *x *= ramp;
        else if (lc == OADR_LC_LEVEL_OFFSET)
            *x = *x < 0 ? -floor(-*x * ramp + 0.5) : floor(*x * ramp + 0.5);
        else
            return 0;
        return 1;
    default: return 0;
    }
}

/* Signal KIND's value X, of event E, into its entry D. */
static void put_value(oadr_active_event_t *d, const ven_event_t *e, int kind, double x)
{
    switch (kind) {
    case SIG_SIMPLE: d->has_level = 1; d->level = x; break;
    case SIG_PRICE: d->has_price = 1; d->price = x; break;
    case SIG_DISPATCH: d->has_dispatch = 1; d->dispatch_w = x; d->dispatch_delta = e->dispatch_delta; break;
    case SIG_CHARGE: d->has_charge = 1; d->charge_pct = x; break;
    case SIG_DEMAND: d->has_demand_charge = 1; d->demand_charge = x; break;
    case SIG_BID: d->has_bid = 1; d->bid_price = x; break;
    case SIG_LOADCTL: d->load_control = e->lc; d->load_control_value = x; break;
    }
}

/* What the entries ask, into OUT's summary (each signal kind has one winner, so one entry). */
static void summarize(oadr_control_t *out)
{
    for (size_t i = 0; i < out->n_active; i++) {
        const oadr_active_event_t *a = &out->active[i];
        if (a->has_level) {
            out->has_level = 1;
            out->level = a->level;
        }
        if (a->has_price) {
            out->has_price = 1;
            out->price = a->price;
        }
        if (a->has_dispatch) {
            out->has_dispatch = 1;
            out->dispatch_w = a->dispatch_w;
            out->dispatch_delta = a->dispatch_delta;
        }
        if (a->has_charge) {
            out->has_charge = 1;
            out->charge_pct = a->charge_pct;
        }
        if (a->has_demand_charge) {
            out->has_demand_charge = 1;
            out->demand_charge = a->demand_charge;
        }
        if (a->has_bid) {
            out->has_bid = 1;
            out->bid_price = a->bid_price;
        }
        if (a->load_control) {
            out->load_control = a->load_control;
            out->load_control_value = a->load_control_value;
        }
    }
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
        int64_t s0, e0, at;
        double ramp = 1;
        oadr_phase phase = OADR_PHASE_ACTIVE;
        if (!e)
            continue;
        /* the scheduler's window holds the ramp-up before the start and the recovery after the end */
        s0 = a->start + e->ramp_up;
        e0 = e->duration >= OPEN_ENDED || a->end == INT64_MAX ? INT64_MAX : a->end - e->recovery;
        at = snow - s0;
        if (snow < s0) {
            phase = OADR_PHASE_RAMP_UP;
            ramp = (double)(snow - a->start) / (double)e->ramp_up;
            at = 0;
        } else if (snow >= e0) {
            phase = OADR_PHASE_RECOVERY;
            ramp = e->recovery > 0 ? 1 - (double)(snow - e0) / (double)e->recovery : 0;
            at = e0 - 1 - s0;
            if (at < 0)
                at = 0;
        }
        for (size_t k = 0; k < out->n_active; k++)
            if (strcmp(out->active[k].id, e->id) == 0)
                o = &out->active[k];
        if (!o && out->n_active < OADR_MAX_ACTIVE) {
            o = &out->active[out->n_active++];
            copy_str(o->id, sizeof(o->id), e->id);
            o->start = a->start;
            o->end = e->duration >= OPEN_ENDED ? INT64_MAX : a->end;
            o->phase = phase;
            o->ramp = ramp;
        }
        if (!o)
            continue;
        for (int kind = 0; kind < SIG_COUNT; kind++) {
            double val;
            if (!(a->modes & (1u << kind)) || !interval_value(e->sig[kind], e->n_sig[kind], at, &val) ||
                !ramped(kind, e->lc, e->dispatch_delta, ramp, &val))
                continue;
            put_value(o, e, kind, val);
        }
    }
    summarize(out);
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
    if (v->reg == REG_LEFT)
        ; /* nothing more to say to the VTN */
    else if (v->reg != REG_DONE)
        t = v->reg_next < t ? v->reg_next : t;
    else if (v->need_request_event)
        t = now;
    else if (v->next_poll < t && !v->transport[0])
        t = v->next_poll;
    if (v->reg == REG_DONE && v->need_register_report && v->rr_next < t)
        t = v->rr_next;
    for (int i = 0; i < OADR_MAX_OPTS && v->reg == REG_DONE; i++)
        if (v->opts[i].state == OPT_TO_CREATE || v->opts[i].state == OPT_TO_CANCEL)
            t = now;
    /* report updates fall due on the VTN's clock: look again every second while any is pending */
    for (int i = 0; i < MAX_REPORTS; i++)
        if (v->reports[i].used)
            t = t < now + 1 ? t : now + 1;
    /* events start and end on the VTN's clock: look again every second */
    if (v->stats.events_known)
        t = t < now + 1 ? t : now + 1;
    return t < now ? now : t;
}

void oadr_ven_stats(const oadr_ven_t *v, oadr_ven_stats_t *out)
{
    *out = v->stats;
    out->registered = v->reg == REG_DONE;
    out->report_requests = 0;
    for (int i = 0; i < MAX_REPORTS; i++)
        out->report_requests += v->reports[i].used != 0;
    out->opts_pending = 0;
    for (int i = 0; i < OADR_MAX_OPTS; i++)
        out->opts_pending += v->opts[i].state == OPT_TO_CREATE || v->opts[i].state == OPT_TO_CANCEL ||
                             (v->opts[i].state == OPT_CREATED && !v->opts[i].acked);
    out->poll_s = v->poll_s;
    copy_str(out->ven_id, sizeof(out->ven_id), v->ven_id);
    copy_str(out->registration_id, sizeof(out->registration_id), v->registration_id);
    copy_str(out->vtn_id, sizeof(out->vtn_id), v->vtn_id);
}
