/* client.c - the IEEE 2030.5 (CSIP) client engine: which resources to read and when, what they
 * mean, and what to send back (see gridedge/sep.h).  No I/O: requests go out through
 * sep_client_next_request() and answers come in through sep_client_response(). */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>
#include <gridedge/sched.h>
#include <gridedge/sep.h>
#include <gridedge/xml.h>
#include <gridedge/xml_sep.h>

#include "stack/sep/sep_internal.h"

#define MAX_WATCH 64        /* resources followed at once */
#define MAX_PROGRAMS 16
#define MAX_CONTROLS 256
#define MAX_INFLIGHT 4
#define MAX_CURVES 32       /* DERCurves followed at once */
#define MAX_LOGEVENTS 16    /* DER LogEvents waiting to be posted */
#define PAGE_LIMIT 25       /* list items asked for per GET (the l query parameter) */
#define DEFAULT_POLL 900    /* 2030.5 default pollRate, seconds */
#define RETRY_MIN 2.0       /* first retry after a failed GET, doubling up to the poll rate */
#define SUB_RETRY_MIN 60.0  /* a refused Subscription is tried again after this, doubling ... */
#define SUB_RETRY_MAX 3600.0 /* ... up to an hour; polling covers the resource meanwhile */
#define MAX_UNSUB 8         /* Subscriptions waiting to be DELETEd */
#define NOTIFY_URI_MAX 512

typedef enum rkind {
    R_DCAP, R_TIME, R_EDEV_LIST, R_EDEV, R_REG, R_FSA_LIST, R_DERP_LIST, R_DERC_LIST, R_DDERC, R_DER_LIST,
    R_MUP_LIST, R_CURVE, R_SUB_LIST,
    R_TP_LIST, R_TTI_LIST, R_RC_LIST, R_RC, R_RT, /* pricing (pricing.c interprets them) */
    R_PUT_DERCAP, R_PUT_DERG, R_PUT_DERS, R_PUT_DERA, R_PUT_CP
} rkind;

static const char *const kind_root[] = {
    "DeviceCapability", "Time", "EndDeviceList", "EndDevice", "Registration", "FunctionSetAssignmentsList",
    "DERProgramList", "DERControlList", "DefaultDERControl", "DERList", "MirrorUsagePointList", "DERCurve",
    "SubscriptionList", "TariffProfileList", "TimeTariffIntervalList", "RateComponentList", "RateComponent",
    "ReadingType",
    "DERCapability", "DERSettings", "DERStatus", "DERAvailability", "ConnectionPoint"
};

/* Our subscription to a followed resource (2030.5 §5.5.4). */
typedef enum sub_state {
    SUB_NONE,      /* not subscribable, or no notification server */
    SUB_WANTED,    /* the server offers it: POST a Subscription at sub_next */
    SUB_POSTING,   /* the POST is out */
    SUB_ACTIVE     /* the server holds it (at sub_href when it told us where) */
} sub_state;

typedef struct watch {
    int used;
    rkind kind;
    char href[SEP_PATH_MAX];
    uint32_t poll_s;      /* how often to read (or PUT) it */
    double next;          /* local time it is due */
    double backoff;       /* after a failure */
    int inflight;
    int put_again;        /* PUTs: what it describes changed while a PUT was out (demand response) */
    uint32_t page_start;  /* lists: the s of the page being read */
    unsigned gen;         /* lists: refresh generation, to find items that disappeared */
    int program;          /* R_DERC_LIST, R_DDERC: index into programs */
    int parent;           /* R_DERP_LIST: the FunctionSetAssignmentsList that names it (-1: none) */
    unsigned parent_gen;  /* ... in its refresh generation parent_gen */
    sub_state sub;
    char sub_href[SEP_PATH_MAX]; /* the server's Subscription resource */
    double sub_next, sub_backoff;
} watch_t;

typedef struct program {
    int used;
    char href[SEP_PATH_MAX];
    char mrid[SEP_MRID_HEX + 1];
    uint8_t primacy;
    uint32_t no;          /* the scheduler's program number */
    unsigned gen;         /* DERProgramList generation that last listed it */
    int list;             /* that DERProgramList (watch index; -1 when restored and not read since) */
    char list_href[SEP_PATH_MAX]; /* ... its href (to find it again after a restart) */
    uint32_t poll_s;      /* from the DERProgramList */
    sep_ctl_t dflt;       /* its DefaultDERControl, when dflt.used */
    unsigned set_grad_w;  /* its setGradW (0: none) */
} program_t;

typedef struct inflight {
    int used;
    uint32_t id;
    int watch;            /* index, or -1 for a Response POST, -2 for a metering mirror POST, -3 for a LogEvent,
                           * -4 for our EndDevice (in-band registration), -5 for a Subscription POST,
                           * -6 for a Subscription DELETE, WK_REQUEST for GET /.well-known/csipaus (its
                           * answer is gathered in BODY) */
    int ref;              /* -2: the mirror; -5: the watch subscribing (-1 once unfollowed) */
    char method[8];
    char path[SEP_PATH_MAX + 32];
    ge_buf_t body;
    char subject[SEP_MRID_HEX + 1];
    int status;
    /* The answer's document, decoded as its bytes arrive (sep_client_body()); the decoder and the
     * arena belong to the slot and are reused by every request that takes it. */
    ge_xml_decoder_t *dec;
    ge_arena_t *arena;
    int doc;              /* DOC_* */
} inflight_t;

#define WK_REQUEST (-7)

/* CSIP-AUS version negotiation (gridedge/sep.h): before the DeviceCapability is first read. */
enum {
    WK_DONE,              /* negotiated, not wanted (profile CSIP), or given up: discovery goes on */
    WK_WANTED,            /* GET /.well-known/csipaus is due */
    WK_OUT                /* ... and out */
};

/* Where the decoding of an answer's body stands. */
enum {
    DOC_IDLE,             /* no byte of it yet */
    DOC_OPEN,             /* bytes fed, no error so far */
    DOC_BAD,              /* the decoder failed: the rest of the body is dropped */
    DOC_NOSTART           /* the decoder could not start (out of memory) */
};

/* A DERCurve that a control's curve mode names (2030.5 §10.10: opModVoltVar etc. link to DERCurves). */
typedef struct curve {
    int used;
    char href[SEP_PATH_MAX];
    int known;            /* read and valid */
    int type;             /* its curveType */
    ge_curve_t c;
} curve_t;

/* A MirrorUsagePoint we keep on the server (2030.5 §10.10 metering mirror): the site meter and the DER. */
typedef struct mirror {
    int which;            /* SEP_MIRROR_SITE or SEP_MIRROR_DER */
    char mrid[SEP_MRID_HEX + 1];
    char href[SEP_PATH_MAX]; /* the server's MirrorUsagePoint, once created */
    int creating;         /* the create POST is out */
    int posting;          /* a POST (create or readings) is out: one at a time */
    double next_post;
    double backoff;
} mirror_t;

/* The EndDevices an aggregator has read in an EndDeviceList. */
typedef struct edev_set {
    sep_end_device_t dev[SEP_MAX_END_DEVICES];
    size_t n;
    size_t dropped;       /* more than there is room for */
} edev_set_t;

/* An aggregator's state: the EndDevices listed, and those it registers in band (cfg.agg_register). */
typedef struct agg_state {
    edev_set_t walk;      /* read so far this round */
    edev_set_t done;      /* the last complete read */
    struct {
        sep_end_device_t d;
        int registered;   /* the server took it (2xx with a Location): never POSTed again */
        int seen, listed; /* in the pages read so far this round; in the last complete read */
        double next, backoff;
    } reg[SEP_MAX_END_DEVICES];
    size_t n_reg;
    int reg_out;          /* 1 + the index of the one POSTed, 0: none */
    char list[SEP_PATH_MAX]; /* the EndDeviceList they are POSTed to (once read whole) */
} agg_state_t;

struct sep_client {
    sep_client_config_t cfg;
    const ge_mem_t *mem;
    char lfdi[41];
    char dcap_path[SEP_PATH_MAX];
    int wk;               /* WK_*: version negotiation */
    int csipaus_version;  /* SEP_CSIPAUS_* it settled on (0: none negotiated) */
    int kept_version;     /* what was negotiated before a restart (the saved state): kept when the
                             well-known resource gives no answer */
    char kept_dcap[SEP_PATH_MAX];
    const ge_xml_schema_t *schema; /* what we send is written with: ge_xml_schema_sep, or _alt for v1.3 */
    ge_sched_t *sched;
    ge_xml_decoder_t *dec; /* Notifications (answers have a decoder per inflight slot) */
    ge_arena_t *arena;
    watch_t watch[MAX_WATCH];
    program_t programs[MAX_PROGRAMS];
    uint32_t next_program_no;
    sep_ctl_t *controls[MAX_CONTROLS]; /* allocated as the server's lists name them */
    curve_t curves[MAX_CURVES];
    inflight_t inflight[MAX_INFLIGHT];
    uint32_t next_id;
    double offset;        /* server clock - local clock */
    int time_known;
    int registered;
    int pin_rejected;
    char edev_href[SEP_PATH_MAX];
    ge_der_caps_t caps;
    ge_telemetry_t tel;
    int have_device;
    char mup_list[SEP_PATH_MAX]; /* the MirrorUsagePointList, once DeviceCapability names it */
    mirror_t mirrors[2];
    uint32_t post_rate;   /* readings every this many seconds (EndDevice postRate, default 300) */
    unsigned set_grad_w;  /* the DefaultDERControl's setGradW in force (0: none), for DERSettings */
    char lel_href[SEP_PATH_MAX]; /* our EndDevice's LogEventList */
    struct { int bit; int64_t when; } logq[MAX_LOGEVENTS]; /* faults raised, oldest first */
    size_t n_logq;
    int log_posting;      /* the head of logq is out */
    double log_next;      /* when to try again after a failure */
    double log_backoff;
    uint16_t log_id;
    uint32_t last_alarms;
    int csip_aus;         /* CSIP-AUS mode (configured, or detected from the server's resources) */
    int edev_seen;        /* our EndDevice was in the EndDeviceList pages read this round */
    char edev_list[SEP_PATH_MAX]; /* the list to POST our EndDevice to when it is not there */
    int edev_posting;
    double edev_next;
    double edev_backoff;
    unsigned long sig_caps, sig_status; /* what the last PUTs described, to PUT again on change */
    char notify_uri[NOTIFY_URI_MAX]; /* where our notification server listens ("" = no subscriptions) */
    char sub_list[SEP_PATH_MAX]; /* our EndDevice's SubscriptionList */
    char unsub[MAX_UNSUB][SEP_PATH_MAX]; /* Subscriptions to DELETE, oldest first */
    size_t n_unsub;
    int unsub_out;        /* the DELETE of unsub[0] is out */
    double unsub_next, unsub_backoff;
    unsigned long state_gen; /* moves with what sep_client_save() writes */
    int restored;         /* a saved control state is in force (until the server's PIN check fails) */
    sep_pricing_t *prc;   /* the pricing function set's documents (pricing.c) */
    int drm;              /* demand response: the DRM in force (SEP_DRM_NONE: none) */
    agg_state_t *agg;     /* an aggregator's EndDevices (NULL unless cfg.aggregator) */
    unsigned long agg_gen;
    sep_client_stats_t stats;
};

/* ---- small helpers ---------------------------------------------------------------------------------- */

void sep__hex_upper(const ge_xml_bytes_t *b, char *out, size_t size)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t k = 0;

    for (size_t i = 0; b->data && i < b->len && k + 2 < size; i++) {
        out[k++] = digits[b->data[i] >> 4];
        out[k++] = digits[b->data[i] & 15];
    }
    out[k] = '\0';
}

void sep__copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= size)
        n = size - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Bytes of hex string S into OUT (at most MAX); the count, or -1 if S is not hex. */
static int hex_bytes(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);

    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = ge_hex_digit(s[2 * i]), lo = ge_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

double sep__power_w(const sep_ActivePower_t *p)
{
    return p ? (double)p->value * pow(10.0, p->multiplier) : 0;
}

static watch_t *watch_find(sep_client_t *c, rkind kind, const char *href)
{
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && c->watch[i].kind == kind && strcmp(c->watch[i].href, href) == 0)
            return &c->watch[i];
    return NULL;
}

/* The path of a Location header (it may be an absolute URL); NULL if it has none. */
static const char *location_path(const char *location)
{
    const char *p;

    if (!location || !location[0])
        return NULL;
    p = strstr(location, "://");
    p = p ? strchr(p + 3, '/') : location;
    return p && *p == '/' ? p : NULL;
}

/* The followed resource at HREF (a path, or an absolute URI whose path is compared). */
static watch_t *watch_at(sep_client_t *c, const char *href)
{
    const char *p = href ? location_path(href) : NULL;

    if (!p)
        return NULL;
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && c->watch[i].kind < R_PUT_DERCAP && strcmp(c->watch[i].href, p) == 0)
            return &c->watch[i];
    return NULL;
}

/* Follow HREF as KIND (polled every POLL_S), or update the poll rate of the one already followed. */
static watch_t *follow(sep_client_t *c, rkind kind, const char *href, uint32_t poll_s, int program, double now)
{
    watch_t *w;

    if (!href || !*href || strlen(href) >= SEP_PATH_MAX)
        return NULL;
    w = watch_find(c, kind, href);
    if (w) {
        w->poll_s = poll_s;
        w->program = program;
        return w;
    }
    for (int i = 0; i < MAX_WATCH; i++) {
        if (c->watch[i].used)
            continue;
        w = &c->watch[i];
        memset(w, 0, sizeof(*w));
        w->used = 1;
        w->kind = kind;
        snprintf(w->href, sizeof(w->href), "%s", href);
        w->poll_s = poll_s;
        w->next = now;
        w->program = program;
        w->parent = -1;
        return w;
    }
    ge_log(c->cfg.log, GE_LOG_WARN, "sep", "more than %d resources to follow; ignoring %s", MAX_WATCH, href);
    return NULL;
}

/* A Subscription the server holds for something we no longer follow: DELETE it. */
static void unsubscribe(sep_client_t *c, const char *href)
{
    if (!href[0])
        return;
    if (c->n_unsub == MAX_UNSUB) { /* its notifications will find nothing to change */
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%d Subscriptions wait to be deleted; %s is left to the server",
               MAX_UNSUB, href);
        return;
    }
    sep__copy_str(c->unsub[c->n_unsub++], sizeof(c->unsub[0]), href);
}

static void unfollow(sep_client_t *c, watch_t *w)
{
    int wi = (int)(w - c->watch);

    for (int i = 0; i < MAX_INFLIGHT; i++) {
        inflight_t *f = &c->inflight[i];
        if (f->used && f->watch == wi)
            f->watch = -1; /* its answer is dropped */
        if (f->used && f->watch == -5 && f->ref == wi)
            f->ref = -1;   /* ... and a Subscription it brings is deleted */
    }
    if (w->sub == SUB_ACTIVE)
        unsubscribe(c, w->sub_href);
    w->used = 0;
}

static uint32_t poll_of(uint32_t v, int has)
{
    return has && v > 0 ? v : DEFAULT_POLL;
}

/* ---- pricing's reads (pricing.c asks, the watches read) ------------------------------------------------ */

static const rkind prc_kind[] = { R_TP_LIST, R_TTI_LIST, R_RC_LIST, R_RC, R_RT };

/* Pricing asks for HREF as WHAT: a poll rate learned from the resource itself is kept (POLL_S 0:
 * keep it, or the default for a new one); DUE: read it now. */
static void prc_follow(void *ud, int what, const char *href, uint32_t poll_s, int due, double now)
{
    sep_client_t *c = ud;
    watch_t *w = watch_find(c, prc_kind[what], href);

    if (!w)
        w = follow(c, prc_kind[what], href, poll_s ? poll_s : DEFAULT_POLL, -1, now);
    else if (poll_s)
        w->poll_s = poll_s;
    if (w && due && !w->inflight && w->page_start == 0)
        w->next = now;
}

static void prc_unfollow(void *ud, int what, const char *href)
{
    sep_client_t *c = ud;
    watch_t *w = watch_find(c, prc_kind[what], href);

    if (w)
        unfollow(c, w);
}

/* ---- creation --------------------------------------------------------------------------------------- */

/* The LFDI SRC (40 hex digits) into DST in upper case (DST is not terminated); -1 when it is not one. */
static int lfdi_upper(char *dst, const char *src)
{
    for (int i = 0; i < 40; i++) {
        if (ge_hex_digit(src[i]) < 0)
            return -1;
        dst[i] = (char)(src[i] >= 'a' ? src[i] - 32 : src[i]);
    }
    return 0;
}

int sep_client_new(sep_client_t **out, const sep_client_config_t *cfg)
{
    sep_client_t *c;
    const ge_mem_t *mem = cfg && cfg->mem ? cfg->mem : ge_mem_default();
    int rc;

    if (!out || !cfg || !cfg->dcap_path || cfg->dcap_path[0] != '/' || strlen(cfg->dcap_path) >= SEP_PATH_MAX ||
        !cfg->lfdi || strlen(cfg->lfdi) != 40)
        return GE_ERR_INVALID;
    *out = NULL;
    c = mem->malloc(sizeof(*c), mem->ud);
    if (!c)
        return GE_ERR_NOMEM;
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    c->mem = mem;
    if (lfdi_upper(c->lfdi, cfg->lfdi) < 0) {
        mem->free(c, mem->ud);
        return GE_ERR_INVALID;
    }
    snprintf(c->dcap_path, sizeof(c->dcap_path), "%s", cfg->dcap_path);
    if (cfg->notify_uri && strlen(cfg->notify_uri) >= sizeof(c->notify_uri)) {
        mem->free(c, mem->ud);
        return GE_ERR_INVALID;
    }
    if (cfg->aggregator) {
        if (cfg->n_agg_register > SEP_MAX_END_DEVICES || (cfg->n_agg_register && !cfg->agg_register)) {
            mem->free(c, mem->ud);
            return GE_ERR_INVALID;
        }
        c->agg = mem->malloc(sizeof(*c->agg), mem->ud);
        if (!c->agg) {
            mem->free(c, mem->ud);
            return GE_ERR_NOMEM;
        }
        memset(c->agg, 0, sizeof(*c->agg));
        for (size_t i = 0; i < cfg->n_agg_register; i++) {
            if (lfdi_upper(c->agg->reg[i].d.lfdi, cfg->agg_register[i].lfdi) < 0) {
                mem->free(c->agg, mem->ud);
                mem->free(c, mem->ud);
                return GE_ERR_INVALID;
            }
            c->agg->reg[i].d.sfdi = cfg->agg_register[i].sfdi;
        }
        c->agg->n_reg = cfg->n_agg_register;
    }
    c->cfg.agg_register = NULL; /* copied */
    snprintf(c->notify_uri, sizeof(c->notify_uri), "%s", cfg->notify_uri ? cfg->notify_uri : "");
    c->cfg.notify_uri = c->notify_uri;
    if (!c->cfg.min_poll_s)
        c->cfg.min_poll_s = 1;
    c->next_id = 1;
    c->next_program_no = 1;
    c->csip_aus = cfg->profile == SEP_PROFILE_CSIP_AUS;
    c->drm = SEP_DRM_NONE;
    c->schema = &ge_xml_schema_sep;
    /* CSIP-AUS v1.3: ask which versions the server speaks before reading the DeviceCapability */
    c->wk = cfg->profile == SEP_PROFILE_CSIP ? WK_DONE : WK_WANTED;
    for (int i = 0; i < MAX_INFLIGHT; i++)
        ge_buf_init(&c->inflight[i].body, mem, 64 * 1024);
    sep_prc_hooks_t hooks = { prc_follow, prc_unfollow, c, cfg->log };
    if ((rc = sep__prc_new(&c->prc, mem, &hooks)) < 0 ||
        (rc = ge_sched_new(&c->sched, mem, cfg->seed)) < 0 ||
        (rc = ge_xml_decoder_new(&c->dec, mem, NULL, cfg->log)) < 0 ||
        (rc = ge_arena_new(&c->arena, mem, 16384, 8u << 20)) < 0) {
        sep_client_free(c);
        return rc;
    }
    /* A decoder and an arena per request in flight: their blocks are taken at the first answer
     * and kept, so answers streamed side by side need no heap in steady state. */
    for (int i = 0; i < MAX_INFLIGHT; i++) {
        if ((rc = ge_xml_decoder_new(&c->inflight[i].dec, mem, NULL, cfg->log)) < 0 ||
            (rc = ge_arena_new(&c->inflight[i].arena, mem, 16384, 8u << 20)) < 0) {
            sep_client_free(c);
            return rc;
        }
    }
    /* our MirrorUsagePoints' mRIDs: from the LFDI, so a restart finds them on the server again */
    for (int k = 0; k < 2; k++) {
        c->mirrors[k].which = k == 0 ? SEP_MIRROR_SITE : SEP_MIRROR_DER;
        snprintf(c->mirrors[k].mrid, sizeof(c->mirrors[k].mrid), "%.28s%04X", c->lfdi, 0x0100u * (unsigned)(k + 1));
    }
    if (c->wk == WK_DONE && !follow(c, R_DCAP, c->dcap_path, DEFAULT_POLL, -1, 0)) {
        sep_client_free(c);
        return GE_ERR_INTERNAL;
    }
    *out = c;
    return 0;
}

void sep_client_free(sep_client_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < MAX_INFLIGHT; i++) {
        ge_buf_free(&c->inflight[i].body);
        ge_xml_decoder_free(c->inflight[i].dec);
        ge_arena_free(c->inflight[i].arena);
    }
    for (int i = 0; i < MAX_CONTROLS; i++)
        if (c->controls[i])
            c->mem->free(c->controls[i], c->mem->ud);
    ge_sched_free(c->sched);
    sep__prc_free(c->prc, c->mem);
    ge_xml_decoder_free(c->dec);
    ge_arena_free(c->arena);
    if (c->agg)
        c->mem->free(c->agg, c->mem->ud);
    c->mem->free(c, c->mem->ud);
}

/* ---- programs and controls -------------------------------------------------------------------------- */

static program_t *program_get(sep_client_t *c, const char *href)
{
    program_t *free_slot = NULL;

    for (int i = 0; i < MAX_PROGRAMS; i++) {
        if (c->programs[i].used && strcmp(c->programs[i].href, href) == 0)
            return &c->programs[i];
        if (!c->programs[i].used && !free_slot)
            free_slot = &c->programs[i];
    }
    if (!free_slot || strlen(href) >= SEP_PATH_MAX) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "more than %d DERPrograms; ignoring %s", MAX_PROGRAMS, href);
        return NULL;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    snprintf(free_slot->href, sizeof(free_slot->href), "%s", href);
    free_slot->no = c->next_program_no++;
    c->stats.programs++;
    return free_slot;
}

static sep_ctl_t *control_get(sep_client_t *c, const char *mrid)
{
    int free_slot = -1;
    sep_ctl_t *ctl;

    for (int i = 0; i < MAX_CONTROLS; i++) {
        if (c->controls[i] && strcmp(c->controls[i]->mrid, mrid) == 0)
            return c->controls[i];
        if (!c->controls[i] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "more than %d DERControls known; ignoring %s", MAX_CONTROLS, mrid);
        return NULL;
    }
    ctl = c->mem->malloc(sizeof(*ctl), c->mem->ud);
    if (!ctl) {
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "out of memory for DERControl %s; ignored", mrid);
        return NULL;
    }
    memset(ctl, 0, sizeof(*ctl));
    ctl->used = 1;
    snprintf(ctl->mrid, sizeof(ctl->mrid), "%s", mrid);
    c->controls[free_slot] = ctl;
    c->stats.controls_known++;
    return ctl;
}

/* Forget control I (the scheduler forgets it first: it hands out no pointer to it after that). */
static void control_drop(sep_client_t *c, int i)
{
    ge_sched_remove(c->sched, c->controls[i]->mrid);
    c->mem->free(c->controls[i], c->mem->ud);
    c->controls[i] = NULL;
    c->stats.controls_known--;
}

static void update_grad(sep_client_t *c);

static void drop_program(sep_client_t *c, program_t *p)
{
    for (int i = 0; i < MAX_CONTROLS; i++)
        if (c->controls[i] && c->controls[i]->program_no == p->no)
            control_drop(c, i);
    ge_sched_clear_default(c->sched, p->no);
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && c->watch[i].program == (int)(p - c->programs) &&
            (c->watch[i].kind == R_DERC_LIST || c->watch[i].kind == R_DDERC))
            unfollow(c, &c->watch[i]);
    p->used = 0;
    update_grad(c);
    c->stats.programs--;
}

/* The server speaks CSIP-AUS (WHY): describe the DER with the CSIP-AUS extensions from now on. */
static void use_csip_aus(sep_client_t *c, const char *why)
{
    if (c->csip_aus || c->cfg.profile == SEP_PROFILE_CSIP)
        return;
    c->csip_aus = 1;
    ge_log(c->cfg.log, GE_LOG_INFO, "sep", "CSIP-AUS server (%s): DERCapability and DERSettings carry the "
           "csipaus DOE modes", why);
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && (c->watch[i].kind == R_PUT_DERCAP || c->watch[i].kind == R_PUT_DERG))
            c->watch[i].next = 0;
}

/* Is curve slot K named by a known control or default? */
static int curve_in_use(const sep_client_t *c, int k)
{
    for (int i = 0; i < MAX_CONTROLS; i++)
        for (int ct = 0; c->controls[i] && ct < GE_CURVE_TYPES; ct++)
            if (c->controls[i]->curve[ct] == k + 1)
                return 1;
    for (int i = 0; i < MAX_PROGRAMS; i++)
        for (int ct = 0; c->programs[i].used && c->programs[i].dflt.used && ct < GE_CURVE_TYPES; ct++)
            if (c->programs[i].dflt.curve[ct] == k + 1)
                return 1;
    return 0;
}

/* The curve slot (index + 1) for HREF, followed at POLL_S; 0 if there is no room. */
static int curve_ref(sep_client_t *c, const char *href, uint32_t poll_s, double now)
{
    int free_slot = -1;

    if (strlen(href) >= SEP_PATH_MAX)
        return 0;
    for (int k = 0; k < MAX_CURVES; k++) {
        if (c->curves[k].used && strcmp(c->curves[k].href, href) == 0) {
            follow(c, R_CURVE, href, poll_s, -1, now);
            return k + 1;
        }
        if (!c->curves[k].used && free_slot < 0)
            free_slot = k;
    }
    if (free_slot < 0) /* full: let go of the curves no control names any more */
        for (int k = 0; k < MAX_CURVES; k++)
            if (!curve_in_use(c, k)) {
                watch_t *w = watch_find(c, R_CURVE, c->curves[k].href);
                if (w)
                    unfollow(c, w);
                c->curves[k].used = 0;
                if (free_slot < 0)
                    free_slot = k;
            }
    if (free_slot < 0 || !follow(c, R_CURVE, href, poll_s, -1, now)) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "more than %d DERCurves in use; ignoring %s", MAX_CURVES, href);
        return 0;
    }
    memset(&c->curves[free_slot], 0, sizeof(c->curves[free_slot]));
    c->curves[free_slot].used = 1;
    sep__copy_str(c->curves[free_slot].href, sizeof(c->curves[free_slot].href), href);
    return free_slot + 1;
}

/* Follow the DERCurves that B's curve modes name, and remember them in CTL. */
static void take_curves(sep_client_t *c, const sep_DERControlBase_t *b, sep_ctl_t *ctl, uint32_t poll_s, double now)
{
    const sep_DERCurveLink_t *links[GE_CURVE_TYPES];

    sep__curve_links(b, links);
    for (int ct = 0; ct < GE_CURVE_TYPES; ct++)
        ctl->curve[ct] = (int16_t)(links[ct] ? curve_ref(c, links[ct]->href, poll_s, now) : 0);
}

/* The curves of CTL that are known, into SP (a curve mode whose curve is not read yet, or is not of
 * the kind the mode needs, decides nothing on the device yet). */
static void put_curves(const sep_client_t *c, const sep_ctl_t *ctl, ge_setpoint_t *sp)
{
    for (int ct = 0; ct < GE_CURVE_TYPES; ct++) {
        const curve_t *cv = ctl->curve[ct] ? &c->curves[ctl->curve[ct] - 1] : NULL;
        if (!cv)
            continue;
        if (cv->used && cv->known && cv->type == ct) {
            *sep__curve_slot(sp, ct) = cv->c;
            sp->set |= sep__curve_mode(ct);
        } else {
            sp->set &= ~sep__curve_mode(ct);
        }
    }
}

static void on_curve(sep_client_t *c, watch_t *w, const sep_DERCurve_t *d)
{
    char why[128];
    ge_curve_t cv;
    int type;

    for (int k = 0; k < MAX_CURVES; k++) {
        curve_t *slot = &c->curves[k];
        if (!slot->used || strcmp(slot->href, w->href) != 0)
            continue;
        type = sep__curve_read(d, &cv, why, sizeof(why));
        if (type < 0) {
            c->stats.bad_documents++;
            ge_log(c->cfg.log, GE_LOG_WARN, "sep", "DERCurve %s: %s; keeping the last good curve", w->href, why);
            return;
        }
        for (int i = 0; i < MAX_CONTROLS; i++) /* a curve linked from the wrong mode is not applied */
            if (c->controls[i] && c->controls[i]->curve[type] != k + 1)
                for (int ct = 0; ct < GE_CURVE_TYPES; ct++)
                    if (c->controls[i]->curve[ct] == k + 1)
                        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "DERCurve %s has curveType %d but DERControl %s "
                               "links it for curve type %d; not applied", w->href, type, c->controls[i]->mrid, ct);
        slot->c = cv;
        slot->type = type;
        slot->known = 1;
        return;
    }
}

static void take_control(sep_client_t *c, const sep_DERControl_t *dc, program_t *p, unsigned gen, double now)
{
    char mrid[SEP_MRID_HEX + 1];
    ge_sched_event_t ev;
    sep_ctl_t *ctl;

    sep__hex_upper(&dc->mRID, mrid, sizeof(mrid));
    if (!mrid[0] || !dc->interval || !dc->EventStatus || !dc->DERControlBase)
        return;
    ctl = control_get(c, mrid);
    if (!ctl)
        return;
    ctl->program_no = p->no;
    ctl->gen = gen;
    sep__control_base(dc->DERControlBase, ctl);
    take_curves(c, dc->DERControlBase, ctl, p->poll_s, now);
    if (ctl->csip_aus)
        use_csip_aus(c, "a DERControl with a csipaus mode");
    snprintf(ctl->reply_to, sizeof(ctl->reply_to), "%s", dc->replyTo ? dc->replyTo : "");
    ctl->response_required = dc->responseRequired.data && dc->responseRequired.len ? dc->responseRequired.data[0] : 0;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "%s", mrid);
    ev.program = p->no;
    ev.primacy = p->primacy;
    ev.creation_time = dc->creationTime;
    ev.start = dc->interval->start;
    ev.duration = dc->interval->duration;
    ev.randomize_start = dc->has_randomizeStart ? dc->randomizeStart : 0;
    ev.randomize_duration = dc->has_randomizeDuration ? dc->randomizeDuration : 0;
    ev.status = dc->EventStatus->currentStatus <= GE_EVENT_SUPERSEDED ? dc->EventStatus->currentStatus : 0;
    ev.status_time = dc->EventStatus->dateTime;
    ev.modes = ctl->modes;
    ev.respond = ctl->response_required != 0 && ctl->reply_to[0] != '\0';
    ev.payload = ctl;
    if (ge_sched_put(c->sched, &ev) < 0)
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "DERControl %s: could not be scheduled", mrid);
}

/* ---- handling documents ------------------------------------------------------------------------------ */

static void list_paging(watch_t *w, uint32_t all, uint32_t results, double now)
{
    if (results > 0 && w->page_start + results < all) {
        w->page_start += results;
        w->next = now; /* the next page at once */
    } else {
        w->page_start = 0;
        w->next = now + w->poll_s;
    }
}

static int list_done(const watch_t *w)
{
    return w->page_start == 0;
}

static void on_dcap(sep_client_t *c, watch_t *w, const sep_DeviceCapability_t *d, double now)
{
    w->poll_s = poll_of(d->pollRate, d->has_pollRate);
    if (d->TimeLink)
        follow(c, R_TIME, d->TimeLink->href, DEFAULT_POLL, -1, now);
    if (d->EndDeviceListLink)
        follow(c, R_EDEV_LIST, d->EndDeviceListLink->href, DEFAULT_POLL, -1, now);
    if (c->cfg.aggregator) /* it reports nothing of its own: its EndDevices' clients do */
        return;
    if (d->MirrorUsagePointListLink && d->MirrorUsagePointListLink->href &&
        strlen(d->MirrorUsagePointListLink->href) < sizeof(c->mup_list)) {
        sep__copy_str(c->mup_list, sizeof(c->mup_list), d->MirrorUsagePointListLink->href);
        follow(c, R_MUP_LIST, c->mup_list, DEFAULT_POLL, -1, now);
    }
}

/* The server's post rate for readings: a new one takes effect at once (the next post is due by
 * then at the latest), not after the post already scheduled at the old rate. */
static void set_post_rate(sep_client_t *c, uint32_t rate, double now)
{
    if (!rate || rate == c->post_rate)
        return;
    c->post_rate = rate;
    for (int k = 0; k < 2; k++)
        if (c->mirrors[k].next_post > now + rate)
            c->mirrors[k].next_post = now + rate;
}

/* Ours already on the server (from an earlier run)?  Then post readings there, do not create. */
static void on_mup_list(sep_client_t *c, watch_t *w, const sep_MirrorUsagePointList_t *l, double now)
{
    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    if (w->page_start == 0)
        w->gen++;
    for (size_t i = 0; i < l->MirrorUsagePoint_count; i++) {
        const sep_MirrorUsagePoint_t *m = l->MirrorUsagePoint[i];
        char mrid[SEP_MRID_HEX + 1];
        sep__hex_upper(&m->mRID, mrid, sizeof(mrid));
        for (int k = 0; k < 2; k++)
            if (strcmp(mrid, c->mirrors[k].mrid) == 0 && m->href && !c->mirrors[k].href[0]) {
                sep__copy_str(c->mirrors[k].href, sizeof(c->mirrors[k].href), m->href);
                if (m->has_postRate)
                    set_post_rate(c, m->postRate, now);
            }
    }
    list_paging(w, l->all, l->results, now);
}

static void on_time(sep_client_t *c, watch_t *w, const sep_Time_t *t, double now)
{
    w->poll_s = poll_of(t->pollRate, t->has_pollRate);
    /* currentTime is whole seconds, truncated: half a second is the unbiased guess */
    c->offset = (double)t->currentTime + 0.5 - now;
    if (!c->time_known)
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "server time %lld, offset %+.0f s", (long long)t->currentTime,
               c->offset);
    c->time_known = 1;
}

static void on_edev(sep_client_t *c, const sep_EndDevice_t *e, double now, uint32_t poll)
{
    if (e->has_postRate)
        set_post_rate(c, e->postRate, now);
    if (e->RegistrationLink && c->cfg.pin)
        follow(c, R_REG, e->RegistrationLink->href, poll, -1, now);
    else
        c->registered = 1;
    if (e->FunctionSetAssignmentsListLink)
        follow(c, R_FSA_LIST, e->FunctionSetAssignmentsListLink->href, poll, -1, now);
    if (e->DERListLink)
        follow(c, R_DER_LIST, e->DERListLink->href, poll, -1, now);
    if (e->href && !c->edev_href[0])
        sep__copy_str(c->edev_href, sizeof(c->edev_href), e->href);
    if (e->LogEventListLink && e->LogEventListLink->href)
        sep__copy_str(c->lel_href, sizeof(c->lel_href), e->LogEventListLink->href);
    if (e->SubscriptionListLink && e->SubscriptionListLink->href && c->notify_uri[0]) {
        sep__copy_str(c->sub_list, sizeof(c->sub_list), e->SubscriptionListLink->href);
        follow(c, R_SUB_LIST, c->sub_list, DEFAULT_POLL, -1, now);
    }
    if (e->ConnectionPointLink && e->ConnectionPointLink->href) {
        use_csip_aus(c, "the EndDevice has a ConnectionPointLink");
        if (c->cfg.connection_point_id && c->cfg.connection_point_id[0])
            follow(c, R_PUT_CP, e->ConnectionPointLink->href, poll, -1, now);
    }
}

/* Is this EndDevice ours?  By LFDI when it has one, else by SFDI (2030.5 §6.3). */
static int edev_is_ours(const sep_client_t *c, const sep_EndDevice_t *e)
{
    char lfdi[41];

    if (e->lFDI.data) {
        sep__hex_upper(&e->lFDI, lfdi, sizeof(lfdi));
        return strcmp(lfdi, c->lfdi) == 0;
    }
    return e->sFDI == c->cfg.sfdi;
}

/* An aggregator's read of the EndDeviceList: every EndDevice with an LFDI but our own, in order;
 * a complete read (the last page) replaces the set, which moves the generation if it changed. */
static void agg_edev_list(sep_client_t *c, watch_t *w, const sep_EndDeviceList_t *l, double now)
{
    edev_set_t *walk = &c->agg->walk, *done = &c->agg->done;

    if (w->page_start == 0) {
        walk->n = walk->dropped = 0;
        for (size_t r = 0; r < c->agg->n_reg; r++)
            c->agg->reg[r].seen = 0;
    }
    for (size_t i = 0; i < l->EndDevice_count; i++) {
        const sep_EndDevice_t *e = l->EndDevice[i];
        sep_end_device_t d;
        size_t k;

        if (e->lFDI.data) { /* one of ours to register, listed (even beyond what we keep) */
            char lfdi[41];
            sep__hex_upper(&e->lFDI, lfdi, sizeof(lfdi));
            for (size_t r = 0; r < c->agg->n_reg; r++)
                c->agg->reg[r].seen |= strcmp(c->agg->reg[r].d.lfdi, lfdi) == 0;
        }
        if (!e->href || !e->lFDI.data || strlen(e->href) >= sizeof(d.href)) {
            ge_log(c->cfg.log, GE_LOG_WARN, "sep", "EndDevice %s in %s: %s; not acting for it",
                   e->href ? e->href : "(no href)", w->href,
                   e->href && e->lFDI.data ? "its href is too long" : "it has no href or no lFDI");
            continue;
        }
        memset(&d, 0, sizeof(d)); /* the sets are compared whole */
        sep__hex_upper(&e->lFDI, d.lfdi, sizeof(d.lfdi));
        if (strcmp(d.lfdi, c->lfdi) == 0)
            continue;
        for (k = 0; k < walk->n && strcmp(walk->dev[k].lfdi, d.lfdi) != 0; k++)
            ;
        if (k < walk->n)
            continue; /* listed twice (a page that moved under us): the first one stands */
        if (walk->n == SEP_MAX_END_DEVICES) {
            walk->dropped++;
            continue;
        }
        d.sfdi = e->sFDI;
        sep__copy_str(d.href, sizeof(d.href), e->href);
        walk->dev[walk->n++] = d;
    }
    list_paging(w, l->all, l->results, now);
    if (!list_done(w))
        return;
    if (walk->dropped)
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s lists %zu EndDevices more than the %d an aggregator keeps; "
               "not acting for them", w->href, walk->dropped, SEP_MAX_END_DEVICES);
    sep__copy_str(c->agg->list, sizeof(c->agg->list), w->href);
    for (size_t r = 0; r < c->agg->n_reg; r++)
        c->agg->reg[r].listed = c->agg->reg[r].seen;
    if (walk->n != done->n || memcmp(walk->dev, done->dev, walk->n * sizeof(walk->dev[0])) != 0 || !c->agg_gen) {
        *done = *walk;
        c->agg_gen++;
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "aggregator: %zu EndDevices in %s", done->n, w->href);
    }
}

size_t sep_client_end_devices(const sep_client_t *c, sep_end_device_t *out, size_t max, unsigned long *gen)
{
    size_t n = c->agg ? c->agg->done.n : 0;

    if (gen)
        *gen = c->agg_gen;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = c->agg->done.dev[i];
    return n;
}

static void on_edev_list(sep_client_t *c, watch_t *w, const sep_EndDeviceList_t *l, double now)
{
    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    if (c->cfg.aggregator) {
        agg_edev_list(c, w, l, now);
        return;
    }
    if (w->page_start == 0)
        c->edev_seen = 0;
    for (size_t i = 0; i < l->EndDevice_count; i++)
        if (edev_is_ours(c, l->EndDevice[i])) {
            on_edev(c, l->EndDevice[i], now, w->poll_s);
            c->edev_seen = 1;
            break;
        }
    list_paging(w, l->all, l->results, now);
    /* Not in the list and not registered in band yet: register ourselves (2030.5 §6.3 EndDevice
     * POST; CSIP-AUS in-band registration) */
    if (list_done(w) && !c->edev_seen && !c->edev_href[0] && !c->edev_list[0] && !c->cfg.acts_for) {
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "our EndDevice is not in %s; registering it there", w->href);
        sep__copy_str(c->edev_list, sizeof(c->edev_list), w->href);
        c->edev_next = now;
    }
}

static void on_reg(sep_client_t *c, watch_t *w, const sep_Registration_t *r)
{
    w->poll_s = poll_of(r->pollRate, r->has_pollRate);
    if (r->pIN == c->cfg.pin) {
        c->registered = 1;
        return;
    }
    /* CSIP-AUS ALL-03-REJ: a PIN that does not match means this is not our registration. */
    if (c->registered || !c->pin_rejected)
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "Registration %s: PIN %u does not match the configured PIN; "
               "not acting on this server's controls", w->href, (unsigned)r->pIN);
    c->pin_rejected = 1;
    c->registered = 0;
}

static void on_fsa_list(sep_client_t *c, watch_t *w, const sep_FunctionSetAssignmentsList_t *l, double now)
{
    int wi = (int)(w - c->watch);

    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    if (w->page_start == 0)
        w->gen++;
    for (size_t i = 0; i < l->FunctionSetAssignments_count; i++) {
        const sep_FunctionSetAssignments_t *f = l->FunctionSetAssignments[i];
        if (f->DERProgramListLink) {
            watch_t *pl = follow(c, R_DERP_LIST, f->DERProgramListLink->href, w->poll_s, -1, now);
            if (pl) {
                pl->parent = wi;
                pl->parent_gen = w->gen;
            }
        }
        if (f->TimeLink)
            follow(c, R_TIME, f->TimeLink->href, DEFAULT_POLL, -1, now);
        /* pricing as CSIP-AUS v1.3 defines it (a v1.2 server's tariffs are not read) */
        if (f->TariffProfileListLink && c->csipaus_version == SEP_CSIPAUS_V13)
            prc_follow(c, SEP_PRC_TP_LIST, f->TariffProfileListLink->href, 0, 0, now);
    }
    list_paging(w, l->all, l->results, now);
    if (!list_done(w))
        return;
    /* A group that is gone takes its DERPrograms (and their controls) with it (2030.5 §10.10.3). */
    for (int k = 0; k < MAX_WATCH; k++) {
        watch_t *pl = &c->watch[k];
        if (!pl->used || pl->kind != R_DERP_LIST || pl->parent != wi || pl->parent_gen == w->gen)
            continue;
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "FunctionSetAssignments with %s is gone", pl->href);
        for (int i = 0; i < MAX_PROGRAMS; i++)
            if (c->programs[i].used && c->programs[i].list == k)
                drop_program(c, &c->programs[i]);
        unfollow(c, pl);
    }
}

static void on_derp_list(sep_client_t *c, watch_t *w, const sep_DERProgramList_t *l, double now)
{
    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    if (w->page_start == 0)
        w->gen++;
    for (size_t i = 0; i < l->DERProgram_count; i++) {
        const sep_DERProgram_t *d = l->DERProgram[i];
        program_t *p = d->href ? program_get(c, d->href) : NULL;
        int pi;
        if (!p)
            continue;
        pi = (int)(p - c->programs);
        sep__hex_upper(&d->mRID, p->mrid, sizeof(p->mrid));
        if (p->primacy != d->primacy) {
            p->primacy = d->primacy;
            /* re-put the program's events with the new primacy */
            for (int k = 0; k < MAX_WATCH; k++)
                if (c->watch[k].used && c->watch[k].program == pi)
                    c->watch[k].next = now;
        }
        p->gen = w->gen;
        p->list = (int)(w - c->watch);
        sep__copy_str(p->list_href, sizeof(p->list_href), w->href);
        p->poll_s = w->poll_s;
        if (d->DERControlListLink)
            follow(c, R_DERC_LIST, d->DERControlListLink->href, w->poll_s, pi, now);
        if (d->DefaultDERControlLink)
            follow(c, R_DDERC, d->DefaultDERControlLink->href, w->poll_s, pi, now);
    }
    list_paging(w, l->all, l->results, now);
    if (list_done(w))
        for (int i = 0; i < MAX_PROGRAMS; i++)
            if (c->programs[i].used && c->programs[i].gen != w->gen &&
                (c->programs[i].list == (int)(w - c->watch) ||
                 (c->programs[i].list < 0 && strcmp(c->programs[i].list_href, w->href) == 0))) {
                ge_log(c->cfg.log, GE_LOG_INFO, "sep", "DERProgram %s is gone", c->programs[i].href);
                drop_program(c, &c->programs[i]);
            }
}

static void on_derc_list(sep_client_t *c, watch_t *w, const sep_DERControlList_t *l, double now)
{
    program_t *p = w->program >= 0 ? &c->programs[w->program] : NULL;

    if (!p || !p->used)
        return;
    if (w->page_start == 0)
        w->gen++;
    for (size_t i = 0; i < l->DERControl_count; i++)
        take_control(c, l->DERControl[i], p, w->gen, now);
    list_paging(w, l->all, l->results, now);
    if (list_done(w))
        for (int i = 0; i < MAX_CONTROLS; i++) {
            sep_ctl_t *ctl = c->controls[i];
            if (ctl && ctl->program_no == p->no && ctl->gen != w->gen) {
                /* Gone from the server's list: it no longer applies (a server cancels by status,
                 * but a removed event must not stay in force either). */
                ge_log(c->cfg.log, GE_LOG_INFO, "sep", "DERControl %s removed from %s", ctl->mrid, w->href);
                control_drop(c, i);
            }
        }
}

/* DERSettings.setGradW follows the setGradW of the highest-priority program's default that has
 * one: PUT DERSettings again when that changes (CSIP-AUS ALL-13). */
static void update_grad(sep_client_t *c)
{
    unsigned grad = 0;
    int best = 256;

    for (int i = 0; i < MAX_PROGRAMS; i++) {
        const program_t *p = &c->programs[i];
        if (p->used && p->dflt.used && p->set_grad_w && p->primacy < best) {
            best = p->primacy;
            grad = p->set_grad_w;
        }
    }
    if (grad == c->set_grad_w)
        return;
    c->set_grad_w = grad;
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && c->watch[i].kind == R_PUT_DERG)
            c->watch[i].next = 0;
}

static void on_dderc(sep_client_t *c, watch_t *w, const sep_DefaultDERControl_t *d, double now)
{
    program_t *p = w->program >= 0 ? &c->programs[w->program] : NULL;

    if (!p || !p->used || !d->DERControlBase)
        return;
    memset(&p->dflt, 0, sizeof(p->dflt));
    p->dflt.used = 1;
    sep__hex_upper(&d->mRID, p->dflt.mrid, sizeof(p->dflt.mrid));
    p->dflt.program_no = p->no;
    sep__control_base(d->DERControlBase, &p->dflt);
    take_curves(c, d->DERControlBase, &p->dflt, p->poll_s, now);
    if (p->dflt.csip_aus)
        use_csip_aus(c, "a DefaultDERControl with a csipaus mode");
    /* setGradW (hundredths of a percent of setMaxW per second) is the default ramp when no rampTms
     * says otherwise (CSIP: the ramp rate is set only in DefaultDERControl) */
    if (d->has_setGradW && d->setGradW > 0 && !(p->dflt.sp.set & GE_SP_RAMP)) {
        p->dflt.sp.ramp_grad_pct_s = d->setGradW / 100.0;
        p->dflt.sp.set |= GE_SP_RAMP;
        p->dflt.modes |= GE_SP_RAMP;
    }
    p->set_grad_w = d->has_setGradW ? d->setGradW : 0;
    ge_sched_set_default(c->sched, p->no, p->primacy, p->dflt.modes, p->dflt.mrid, &p->dflt);
    update_grad(c);
}

static void on_der_list(sep_client_t *c, watch_t *w, const sep_DERList_t *l, double now)
{
    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    /* CSIP: one DER per EndDevice; we describe the whole site as that DER. */
    if (l->DER_count > 0) {
        const sep_DER_t *d = l->DER[0];
        if (d->DERCapabilityLink)
            follow(c, R_PUT_DERCAP, d->DERCapabilityLink->href, w->poll_s, -1, now);
        if (d->DERSettingsLink)
            follow(c, R_PUT_DERG, d->DERSettingsLink->href, w->poll_s, -1, now);
        if (d->DERStatusLink)
            follow(c, R_PUT_DERS, d->DERStatusLink->href, w->poll_s, -1, now);
        if (d->DERAvailabilityLink)
            follow(c, R_PUT_DERA, d->DERAvailabilityLink->href, w->poll_s, -1, now);
    }
    list_paging(w, l->all, l->results, now);
}

/* What the server holds for us from an earlier run: a Subscription with our notificationURI for a
 * resource we follow is ours again (no second one is made; a second one is deleted); one with any
 * other notificationURI points at a server of ours that is gone, and is deleted. */
static void on_sub_list(sep_client_t *c, watch_t *w, const sep_SubscriptionList_t *l, double now)
{
    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    for (size_t i = 0; i < l->Subscription_count; i++) {
        const sep_Subscription_t *sub = l->Subscription[i];
        const char *href = sub->href ? location_path(sub->href) : NULL;
        watch_t *r;
        if (!href)
            continue;
        if (strcmp(sub->notificationURI, c->notify_uri) != 0) {
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Subscription %s notifies %s, not us: deleting it", href,
                   sub->notificationURI);
            unsubscribe(c, href);
            continue;
        }
        r = watch_at(c, sub->subscribedResource);
        if (!r)
            continue;
        if (r->sub == SUB_NONE || r->sub == SUB_WANTED) {
            r->sub = SUB_ACTIVE;
            sep__copy_str(r->sub_href, sizeof(r->sub_href), href);
        } else if (r->sub == SUB_ACTIVE && strcmp(r->sub_href, href) != 0) {
            unsubscribe(c, href); /* a duplicate */
        }
    }
    list_paging(w, l->all, l->results, now);
}

/* Pricing's documents (pricing.c keeps and interprets them). */
static void on_tp_list(sep_client_t *c, watch_t *w, const sep_TariffProfileList_t *l, double now)
{
    int first = w->page_start == 0;

    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    if (w->poll_s < c->cfg.min_poll_s)
        w->poll_s = c->cfg.min_poll_s;
    list_paging(w, l->all, l->results, now);
    sep__prc_on_tp_list(c->prc, w->href, l, w->poll_s, first, list_done(w), now);
}

static void on_tti_list(sep_client_t *c, watch_t *w, const sep_TimeTariffIntervalList_t *l, double now)
{
    int first = w->page_start == 0;

    w->poll_s = poll_of(l->pollRate, l->has_pollRate);
    list_paging(w, l->all, l->results, now);
    sep__prc_on_tti_list(c->prc, w->href, l, first, list_done(w), now);
}

static void on_rc_list(sep_client_t *c, watch_t *w, const sep_RateComponentList_t *l, double now)
{
    int first = w->page_start == 0;

    list_paging(w, l->all, l->results, now); /* no pollRate of its own: read with the TariffProfileList */
    sep__prc_on_rc_list(c->prc, w->href, l, first, list_done(w), now);
}

/* The subscribable attribute of a resource of KIND (0 for kinds we do not subscribe to). */
static int subscribable(rkind kind, const void *v)
{
    switch (kind) {
    case R_EDEV_LIST: return ((const sep_EndDeviceList_t *)v)->subscribable;
    case R_FSA_LIST: return ((const sep_FunctionSetAssignmentsList_t *)v)->subscribable;
    case R_DERP_LIST: return ((const sep_DERProgramList_t *)v)->subscribable;
    case R_DERC_LIST: return ((const sep_DERControlList_t *)v)->subscribable;
    case R_DDERC: return ((const sep_DefaultDERControl_t *)v)->subscribable;
    default: return 0;
    }
}

/* VALUE, a document of W's kind that was read (or came in a Notification), takes effect. */
static void take_document(sep_client_t *c, watch_t *w, const void *value, double now)
{
    w->backoff = 0;
    w->next = now + w->poll_s; /* lists may ask for the next page at once */
    if (w->kind == R_DERP_LIST || w->kind == R_DERC_LIST || w->kind == R_DDERC || w->kind == R_CURVE ||
        w->kind == R_TP_LIST || w->kind == R_TTI_LIST || w->kind == R_RC_LIST || w->kind == R_RC || w->kind == R_RT)
        c->state_gen++;
    switch (w->kind) {
    case R_DCAP: on_dcap(c, w, value, now); break;
    case R_TIME: on_time(c, w, value, now); break;
    case R_EDEV_LIST: on_edev_list(c, w, value, now); break;
    case R_EDEV: on_edev(c, value, now, w->poll_s); break;
    case R_REG: on_reg(c, w, value); break;
    case R_FSA_LIST: on_fsa_list(c, w, value, now); break;
    case R_DERP_LIST: on_derp_list(c, w, value, now); break;
    case R_DERC_LIST: on_derc_list(c, w, value, now); break;
    case R_DDERC: on_dderc(c, w, value, now); break;
    case R_CURVE: on_curve(c, w, value); break;
    case R_DER_LIST: on_der_list(c, w, value, now); break;
    case R_MUP_LIST: on_mup_list(c, w, value, now); break;
    case R_SUB_LIST: on_sub_list(c, w, value, now); break;
    case R_TP_LIST: on_tp_list(c, w, value, now); break;
    case R_TTI_LIST: on_tti_list(c, w, value, now); break;
    case R_RC_LIST: on_rc_list(c, w, value, now); break;
    case R_RC: /* read once and kept */
        sep__prc_on_rc(c->prc, w->href, value, now);
        unfollow(c, w);
        break;
    case R_RT:
        sep__prc_on_rt(c->prc, w->href, value);
        unfollow(c, w);
        break;
    default: break;
    }
    if (w->poll_s < c->cfg.min_poll_s)
        w->poll_s = c->cfg.min_poll_s;
    if (w->next > now + w->poll_s)
        w->next = now + w->poll_s;
    /* offered for subscription, and we have somewhere to be notified: subscribe */
    if (w->sub == SUB_NONE && c->notify_uri[0] && subscribable(w->kind, value) > 0) {
        w->sub = SUB_WANTED;
        w->sub_next = now;
    }
}

static void handle_document(sep_client_t *c, watch_t *w, const ge_xml_msg_t *m, double now)
{
    const char *want = kind_root[w->kind];

    if (strcmp(m->root->name, want) != 0) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s: expected %s, got %s; ignored", w->href, want, m->root->name);
        c->stats.bad_documents++;
        w->next = now + w->poll_s;
        return;
    }
    take_document(c, w, m->value, now);
}

/* ---- requests out, answers in ------------------------------------------------------------------------ */

/* Response STATUS for event ID is sent (or not wanted): never again. */
static int mark_sent(sep_client_t *c, const char *id, int status)
{
    c->state_gen++;
    return ge_sched_mark_sent(c->sched, id, status);
}

static inflight_t *inflight_slot(sep_client_t *c)
{
    for (int i = 0; i < MAX_INFLIGHT; i++)
        if (!c->inflight[i].used)
            return &c->inflight[i];
    return NULL;
}

static void fill_request(sep_client_t *c, inflight_t *f, sep_request_t *req)
{
    f->used = 1;
    f->doc = DOC_IDLE;
    f->id = c->next_id++;
    if (c->next_id == 0)
        c->next_id = 1;
    memset(req, 0, sizeof(*req));
    req->id = f->id;
    req->method = f->method;
    req->path = f->path;
    req->accept = f->watch == WK_REQUEST ? "application/json" : NULL;
    if (f->body.len) {
        req->content_type = "application/sep+xml";
        req->body = f->body.data;
        req->body_len = f->body.len;
    }
    sep__copy_str(req->response_subject, sizeof(req->response_subject), f->subject);
    req->response_status = f->status;
    c->stats.requests++;
}

/* Send F as a POST of its body to PATH, answered to the handler for KIND (an inflight watch code);
 * for a Response, SUBJECT and STATUS say which ("" and 0 otherwise). */
static void post(sep_client_t *c, inflight_t *f, int kind, const char *path, const char *subject, int status,
                 sep_request_t *req)
{
    f->watch = kind;
    sep__copy_str(f->subject, sizeof(f->subject), subject);
    f->status = status;
    snprintf(f->method, sizeof(f->method), "POST");
    sep__copy_str(f->path, sizeof(f->path), path);
    fill_request(c, f, req);
}


/* A PriceResponse that is due (pricing.c says which), if a slot is free. */
static int next_price_response(sep_client_t *c, int64_t snow, sep_request_t *req)
{
    char mrid[SEP_MRID_HEX + 1], reply_to[SEP_PATH_MAX];
    int status;
    inflight_t *f;

    while (inflight_slot(c) && sep__prc_next_response(c->prc, mrid, &status, reply_to)) {
        f = inflight_slot(c);
        ge_buf_clear(&f->body);
        /* never decided again by this engine, nor after a restart (the saved state has it; the
         * caller's outbox knows it was sent) */
        sep__prc_mark_sent(c->prc, mrid, status);
        c->state_gen++;
        if (sep__response_xml(c->schema, &f->body, "PriceResponse", c->lfdi, mrid, status, snow) < 0) {
            ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode the PriceResponse for %s", mrid);
            continue;
        }
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "PriceResponse %d for %s to %s", status, mrid, reply_to);
        post(c, f, -1, reply_to, mrid, status, req);
        return 1;
    }
    return 0;
}

/* CSIP-AUS Annex C: the AS/NZS 4755 DRM the controls in force at NOW command: 0 while one that
 * wins opModConnect says false, else the DRM of the opModFixedW of the one that wins the battery's
 * power (an opModTargetW winning it is no DRM); SEP_DRM_NONE when neither applies. */
static int drm_in_force(sep_client_t *c, double now)
{
    ge_sched_result_t res;
    int drm = SEP_DRM_NONE;

    if (!(c->time_known && c->registered) && !(c->restored && !c->pin_rejected)) /* as sep_client_control() */
        return SEP_DRM_NONE;
    memset(&res, 0, sizeof(res));
    if (ge_sched_eval(c->sched, (int64_t)floor(now + c->offset), &res) < 0)
        return SEP_DRM_NONE;
    for (size_t i = 0; i < res.n_active; i++) {
        const sep_ctl_t *ctl = res.active[i].payload;
        if (!ctl)
            continue;
        if ((res.active[i].modes & GE_SP_CONNECT) && (ctl->sp.set & GE_SP_CONNECT) && !ctl->sp.connect)
            return 0;
        if ((res.active[i].modes & GE_SP_BATTERY_W) && ctl->fixed_w)
            drm = sep__drm_of_fixed_w((int)lround(ctl->fixed_pct * 100));
    }
    return drm;
}

/* Demand response: a new DRM goes to the server in the next DERStatus and DERSettings, at once
 * ("on the next update to DERStatus", CSIP-AUS Annex C), not at the DER list's poll rate. */
static void track_drm(sep_client_t *c, double now)
{
    int drm;

    if (!c->cfg.demand_response || (drm = drm_in_force(c, now)) == c->drm)
        return;
    if (drm == SEP_DRM_NONE)
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "demand response: DRM%d ended, no DRM in force", c->drm);
    else
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "demand response: DRM%d in force", drm);
    c->drm = drm;
    for (int i = 0; i < MAX_WATCH; i++) {
        watch_t *w = &c->watch[i];
        if (w->used && (w->kind == R_PUT_DERS || w->kind == R_PUT_DERG)) {
            w->next = 0;
            w->put_again = w->inflight; /* the one out says the old DRM */
        }
    }
}

/* A Response POST that is due, if any slot is free. */
static int next_response(sep_client_t *c, double now, sep_request_t *req)
{
    ge_sched_response_t due[8];
    ge_sched_result_t res;
    int64_t snow = (int64_t)floor(now + c->offset);

    if (!c->time_known || !c->registered)
        return 0;
    memset(&res, 0, sizeof(res));
    res.responses = due;
    res.responses_cap = sizeof(due) / sizeof(due[0]);
    if (ge_sched_eval(c->sched, snow, &res) < 0)
        return 0;
    for (size_t i = 0; i < res.n_responses; i++) {
        const sep_ctl_t *ctl = due[i].payload;
        inflight_t *f;
        /* responseRequired bit 0: "received"; bit 1: the specific responses (2030.5 Table 27). */
        int wanted = ctl && ctl->reply_to[0] &&
                     (due[i].status == GE_RESP_RECEIVED ? (ctl->response_required & 1) : (ctl->response_required & 2));
        if (!wanted) {
            mark_sent(c, due[i].id, due[i].status);
            continue;
        }
        f = inflight_slot(c);
        if (!f)
            return 0;
        ge_buf_clear(&f->body);
        if (sep__response_xml(c->schema, &f->body, "DERControlResponse", c->lfdi, ctl->mrid, due[i].status, snow) < 0) {
            ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode the Response for %s", ctl->mrid);
            mark_sent(c, due[i].id, due[i].status);
            continue;
        }
        mark_sent(c, due[i].id, due[i].status);
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Response %d for %s to %s", due[i].status, ctl->mrid, ctl->reply_to);
        post(c, f, -1, ctl->reply_to, ctl->mrid, due[i].status, req);
        return 1;
    }
    return next_price_response(c, snow, req);
}

/* The CSIP-AUS v1.3 storage extension applies: v1.3 negotiated (a v1.2 server knows none of it) and
 * a DER with a battery. */
static int storage_ext(const sep_client_t *c)
{
    return c->csipaus_version == SEP_CSIPAUS_V13 && c->caps.rtg_max_wh > 0;
}

static int build_put(sep_client_t *c, watch_t *w, ge_buf_t *body, double now)
{
    int64_t snow = (int64_t)floor(now + c->offset);

    switch (w->kind) {
    case R_PUT_DERCAP: return sep__dercap_xml(c->schema, body, &c->caps, c->csip_aus, storage_ext(c));
    case R_PUT_DERG:
        return sep__derg_xml(c->schema, body, &c->caps, snow, c->csip_aus, c->set_grad_w, storage_ext(c));
    case R_PUT_CP: return sep__connection_point_xml(c->schema, body, c->cfg.connection_point_id);
    case R_PUT_DERS:
        return sep__ders_xml(c->schema, body, &c->caps, &c->tel, snow, c->cfg.demand_response ? c->drm : SEP_DRM_OFF);
    case R_PUT_DERA: return sep__dera_xml(c->schema, body, &c->caps, &c->tel, snow);
    default: return GE_ERR_INTERNAL;
    }
}

static unsigned long hash_bytes(const char *s, size_t n)
{
    unsigned long h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)s[i];
    return h;
}

/* The metering mirror: create our MirrorUsagePoints once the list is known and the list has been
 * read (so one left from an earlier run is reused), then post readings at the post rate. */
static int next_mirror(sep_client_t *c, double now, sep_request_t *req)
{
    watch_t *lw;
    int64_t snow = (int64_t)floor(now + c->offset);

    if (!c->mup_list[0] || !c->have_device || !c->time_known || !c->registered)
        return 0;
    lw = watch_find(c, R_MUP_LIST, c->mup_list);
    if (!lw || lw->gen == 0 || lw->inflight)
        return 0; /* not read yet */
    for (int k = 0; k < 2; k++) {
        mirror_t *m = &c->mirrors[k];
        inflight_t *f;
        int rc;
        if (m->posting || m->next_post > now)
            continue;
        if (!(f = inflight_slot(c)))
            return 0;
        ge_buf_clear(&f->body);
        if (!m->href[0]) {
            rc = sep__mirror_xml(c->schema, &f->body, m->which, c->lfdi, m->mrid, &c->tel, snow, 1, storage_ext(c));
            m->creating = 1;
        } else {
            rc = sep__mirror_xml(c->schema, &f->body, m->which, c->lfdi, m->mrid, &c->tel, snow, 0, storage_ext(c));
        }
        if (rc < 0) {
            ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode the MirrorUsagePoint: %s", ge_strerror(rc));
            m->creating = 0;
            m->next_post = now + 60;
            continue;
        }
        f->ref = k;
        m->posting = 1;
        post(c, f, -2, m->href[0] ? m->href : c->mup_list, "", 0, req);
        return 1;
    }
    return 0;
}

static void mirror_answer(sep_client_t *c, inflight_t *f, int status, const char *location, double now)
{
    mirror_t *m = &c->mirrors[f->ref];
    int was_create = m->creating;

    m->creating = 0;
    m->posting = 0;
    if (status >= 200 && status < 300) {
        m->backoff = 0;
        if (was_create) {
            if (!location || location[0] == '\0') {
                ge_log(c->cfg.log, GE_LOG_WARN, "sep", "MirrorUsagePoint created without a Location; asking the list");
                m->next_post = now + 60;
                return;
            }
            const char *p = location_path(location);
            sep__copy_str(m->href, sizeof(m->href), p ? p : location);
            m->next_post = now; /* first readings at once */
            return;
        }
        m->next_post = now + (c->post_rate ? c->post_rate : 300);
        return;
    }
    if (status == 404 && !was_create)
        m->href[0] = '\0'; /* the server dropped it: create it again */
    m->backoff = m->backoff ? fmin(m->backoff * 2, 300) : RETRY_MIN;
    m->next_post = now + m->backoff;
}

/* DER LogEvents (2030.5 §10.10.4.1 alarms): each raised fault POSTed once to our LogEventList, in
 * order, retried with backoff until the server takes it. */
static int next_logevent(sep_client_t *c, double now, sep_request_t *req)
{
    inflight_t *f;

    if (!c->n_logq || c->log_posting || !c->lel_href[0] || !c->time_known || !c->registered || c->log_next > now)
        return 0;
    if (!(f = inflight_slot(c)))
        return 0;
    ge_buf_clear(&f->body);
    if (sep__logevent_xml(c->schema, &f->body, c->logq[0].bit, c->log_id, c->logq[0].when) < 0) {
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode a LogEvent; dropped");
        memmove(&c->logq[0], &c->logq[1], --c->n_logq * sizeof(c->logq[0]));
        return 0;
    }
    c->log_posting = 1;
    post(c, f, -3, c->lel_href, "", 0, req);
    return 1;
}

/* An aggregator's in-band registration: POST the first of its sites' EndDevices that the last
 * complete read of the EndDeviceList lacked. */
static int next_agg_register(sep_client_t *c, double now, sep_request_t *req)
{
    agg_state_t *a = c->agg;
    inflight_t *f;
    size_t r;

    if (!a->list[0] || a->reg_out || !c->time_known)
        return 0;
    for (r = 0; r < a->n_reg; r++)
        if (!a->reg[r].listed && !a->reg[r].registered && a->reg[r].next <= now)
            break;
    if (r == a->n_reg || !(f = inflight_slot(c)))
        return 0;
    ge_buf_clear(&f->body);
    if (sep__end_device_xml(c->schema, &f->body, a->reg[r].d.lfdi, a->reg[r].d.sfdi, (int64_t)floor(now + c->offset),
                            0) < 0) {
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode the EndDevice of %s", a->reg[r].d.lfdi);
        a->reg[r].next = now + 60;
        return 0;
    }
    ge_log(c->cfg.log, GE_LOG_INFO, "sep", "aggregator: EndDevice %s is not in %s; registering it there",
           a->reg[r].d.lfdi, a->list);
    a->reg_out = (int)r + 1;
    post(c, f, -4, a->list, "", 0, req);
    return 1;
}

static void agg_register_answer(sep_client_t *c, int status, const char *location, double now)
{
    agg_state_t *a = c->agg;
    size_t r = (size_t)a->reg_out - 1;
    const char *p = location_path(location);

    a->reg_out = 0;
    if (status >= 200 && status < 300 && p) {
        a->reg[r].registered = 1;
        a->reg[r].backoff = 0;
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "aggregator: registered EndDevice %s in band as %s", a->reg[r].d.lfdi,
               p);
        for (int i = 0; i < MAX_WATCH; i++) /* read the list again now: the new EndDevice is in it */
            if (c->watch[i].used && c->watch[i].kind == R_EDEV_LIST && !c->watch[i].inflight &&
                c->watch[i].page_start == 0)
                c->watch[i].next = now;
        return;
    }
    c->stats.errors++;
    a->reg[r].backoff = a->reg[r].backoff ? fmin(a->reg[r].backoff * 2, 300) : RETRY_MIN;
    a->reg[r].next = now + a->reg[r].backoff;
    ge_log(c->cfg.log, GE_LOG_WARN, "sep", "aggregator: registering EndDevice %s at %s: HTTP %d%s; retry in %.0f s",
           a->reg[r].d.lfdi, a->list, status, status >= 200 && status < 300 ? " without a Location" : "",
           a->reg[r].backoff);
}

/* In-band registration: POST our EndDevice to the EndDeviceList that lacks it. */
static int next_register(sep_client_t *c, double now, sep_request_t *req)
{
    inflight_t *f;

    if (c->agg)
        return next_agg_register(c, now, req);
    if (!c->edev_list[0] || c->edev_href[0] || c->edev_posting || c->edev_next > now || !c->time_known)
        return 0;
    /* demand response: the EndDevice names its deviceCategory, so it waits for the device's ratings */
    if (c->cfg.demand_response && !c->have_device)
        return 0;
    if (!(f = inflight_slot(c)))
        return 0;
    ge_buf_clear(&f->body);
    if (sep__end_device_xml(c->schema, &f->body, c->lfdi, c->cfg.sfdi, (int64_t)floor(now + c->offset),
                            c->cfg.demand_response ? sep__device_category(&c->caps) : 0) < 0) {
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode our EndDevice");
        c->edev_next = now + 60;
        return 0;
    }
    c->edev_posting = 1;
    post(c, f, -4, c->edev_list, "", 0, req);
    return 1;
}

static void register_answer(sep_client_t *c, int status, const char *location, double now)
{
    const char *p = location_path(location);

    c->edev_posting = 0;
    if (status >= 200 && status < 300 && p) {
        if (follow(c, R_EDEV, p, DEFAULT_POLL, -1, now)) {
            sep__copy_str(c->edev_href, sizeof(c->edev_href), p);
            c->edev_backoff = 0;
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "registered in band as %s", p);
            return;
        }
    }
    c->stats.errors++;
    c->edev_backoff = c->edev_backoff ? fmin(c->edev_backoff * 2, 300) : RETRY_MIN;
    c->edev_next = now + c->edev_backoff;
    ge_log(c->cfg.log, GE_LOG_WARN, "sep", "EndDevice registration at %s: HTTP %d%s; retry in %.0f s", c->edev_list,
           status, status >= 200 && status < 300 ? " without a Location" : "", c->edev_backoff);
}

static void logevent_answer(sep_client_t *c, int status, double now)
{
    c->log_posting = 0;
    if (status >= 200 && status < 300) {
        c->log_id++;
        c->log_backoff = 0;
        memmove(&c->logq[0], &c->logq[1], --c->n_logq * sizeof(c->logq[0]));
        return;
    }
    c->stats.errors++;
    c->log_backoff = c->log_backoff ? fmin(c->log_backoff * 2, 300) : RETRY_MIN;
    c->log_next = now + c->log_backoff;
}

/* Subscriptions (2030.5 §5.5.4): POSTed to our EndDevice's SubscriptionList, one at a time. */
static int next_subscribe(sep_client_t *c, double now, sep_request_t *req)
{
    inflight_t *f;

    if (!c->sub_list[0] || !c->registered || !c->time_known)
        return 0;
    for (int i = 0; i < MAX_WATCH; i++) {
        watch_t *w = &c->watch[i];
        if (!w->used || w->sub != SUB_WANTED || w->sub_next > now)
            continue;
        if (!(f = inflight_slot(c)))
            return 0;
        ge_buf_clear(&f->body);
        if (sep__subscription_xml(c->schema, &f->body, w->href, c->notify_uri, PAGE_LIMIT) < 0) {
            ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode a Subscription to %s; polling it", w->href);
            w->sub_next = now + SUB_RETRY_MAX;
            continue;
        }
        w->sub = SUB_POSTING;
        f->ref = i;
        post(c, f, -5, c->sub_list, "", 0, req);
        return 1;
    }
    return 0;
}

static void subscribe_answer(sep_client_t *c, inflight_t *f, int status, const char *location, double now)
{
    const char *p = location_path(location);
    watch_t *w;

    if (f->ref < 0) { /* we stopped following it meanwhile */
        if (status >= 200 && status < 300 && p)
            unsubscribe(c, p);
        return;
    }
    w = &c->watch[f->ref];
    if (status >= 200 && status < 300) {
        w->sub = SUB_ACTIVE;
        w->sub_backoff = 0;
        sep__copy_str(w->sub_href, sizeof(w->sub_href), p ? p : "");
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "subscribed to %s%s%s", w->href, p ? " as " : "", p ? p : "");
        return;
    }
    c->stats.errors++;
    w->sub = SUB_WANTED;
    w->sub_backoff = w->sub_backoff ? fmin(w->sub_backoff * 2, SUB_RETRY_MAX) : SUB_RETRY_MIN;
    w->sub_next = now + w->sub_backoff;
    ge_log(c->cfg.log, GE_LOG_WARN, "sep", "Subscription to %s: %s%d; polling it, subscribing again in %.0f s",
           w->href, status ? "HTTP " : "no answer ", status, w->sub_backoff);
}

/* Subscriptions for resources we no longer follow: DELETE them, oldest first. */
static int next_unsubscribe(sep_client_t *c, double now, sep_request_t *req)
{
    inflight_t *f;

    if (!c->n_unsub || c->unsub_out || c->unsub_next > now || !(f = inflight_slot(c)))
        return 0;
    ge_buf_clear(&f->body);
    f->watch = -6;
    f->subject[0] = '\0';
    f->status = 0;
    snprintf(f->method, sizeof(f->method), "DELETE");
    sep__copy_str(f->path, sizeof(f->path), c->unsub[0]);
    c->unsub_out = 1;
    fill_request(c, f, req);
    return 1;
}

static void unsubscribe_answer(sep_client_t *c, int status, double now)
{
    c->unsub_out = 0;
    /* gone (2xx), or not there (404), or refused (other 4xx): either way nothing to retry */
    if (status >= 200 && status < 500) {
        c->unsub_backoff = 0;
        memmove(&c->unsub[0], &c->unsub[1], --c->n_unsub * sizeof(c->unsub[0]));
        return;
    }
    c->stats.errors++;
    c->unsub_backoff = c->unsub_backoff ? fmin(c->unsub_backoff * 2, 300) : RETRY_MIN;
    c->unsub_next = now + c->unsub_backoff;
}

/* ---- CSIP-AUS version negotiation ------------------------------------------------------------------ */

/* GET /.well-known/csipaus once, first: nothing else goes out until it is answered. */
static int next_well_known(sep_client_t *c, sep_request_t *req)
{
    inflight_t *f;

    if (c->wk != WK_WANTED || !(f = inflight_slot(c)))
        return 0;
    ge_buf_clear(&f->body);
    f->watch = WK_REQUEST;
    f->subject[0] = '\0';
    f->status = 0;
    snprintf(f->method, sizeof(f->method), "GET");
    sep__copy_str(f->path, sizeof(f->path), SEP_CSIPAUS_WELL_KNOWN);
    c->wk = WK_OUT;
    fill_request(c, f, req);
    return 1;
}

/* Speak CSIP-AUS VERSION from now on, the DeviceCapability at DCAP; HOW says why, for the log. */
static void settle_version(sep_client_t *c, int version, const char *dcap, const char *how)
{
    c->csipaus_version = version;
    sep__copy_str(c->dcap_path, sizeof(c->dcap_path), dcap);
    if (version == SEP_CSIPAUS_V13)
        c->schema = &ge_xml_schema_sep_alt; /* https://csipaus.org/ns/v1.3 in what we send */
    ge_log(c->cfg.log, GE_LOG_INFO, "sep", "CSIP-AUS v1.%d %s (%s): DeviceCapability at %s", version - 10, how,
           SEP_CSIPAUS_WELL_KNOWN, c->dcap_path);
    use_csip_aus(c, "version negotiated");
}

/* The answer to GET /.well-known/csipaus (its body gathered in F): the version and DeviceCapability
 * to go on with; whatever goes wrong, discovery starts from cfg.dcap_path as a v1.2 client's does. */
static void well_known_answer(sep_client_t *c, inflight_t *f, int status, double now)
{
    sep_csipaus_choice_t ch;
    char why[200];
    int rc;

    c->wk = WK_DONE;
    memset(&ch, 0, sizeof(ch));
    if (status == 0 && c->kept_version) {
        /* the server is out of reach, not without versions: as it said before the restart */
        settle_version(c, c->kept_version, c->kept_dcap, "kept from before the restart (no answer)");
    } else if (status < 200 || status >= 300) {
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "GET %s: %s%d: no CSIP-AUS version negotiated; DeviceCapability at %s",
               SEP_CSIPAUS_WELL_KNOWN, status ? "HTTP " : "no answer ", status, c->dcap_path);
    } else if (f->doc == DOC_BAD) {
        c->stats.bad_documents++;
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s: the answer is larger than %zu bytes; DeviceCapability at %s",
               SEP_CSIPAUS_WELL_KNOWN, SEP_CSIPAUS_WELL_KNOWN_MAX, c->dcap_path);
    } else if ((rc = sep_csipaus_versions_parse(f->body.data, f->body.len, &ch, why, sizeof(why))) < 0) {
        c->stats.bad_documents++;
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s: %s; DeviceCapability at %s", SEP_CSIPAUS_WELL_KNOWN, why,
               c->dcap_path);
    } else if (ch.version == SEP_CSIPAUS_NONE) {
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "%s: %s; DeviceCapability at %s", SEP_CSIPAUS_WELL_KNOWN, why,
               c->dcap_path);
    } else {
        settle_version(c, ch.version, ch.dcap_path, "negotiated");
    }
    ge_buf_clear(&f->body);
    if (!follow(c, R_DCAP, c->dcap_path, DEFAULT_POLL, -1, now)) {
        c->stats.errors++;
        ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot follow %s", c->dcap_path);
    }
}

int sep_client_next_request(sep_client_t *c, double now, sep_request_t *req)
{
    inflight_t *f;

    if (!c || !req)
        return GE_ERR_INVALID;
    if (c->wk != WK_DONE)
        return next_well_known(c, req);
    track_drm(c, now);
    if (next_response(c, now, req))
        return 1;
    if (next_register(c, now, req))
        return 1;
    if (next_logevent(c, now, req))
        return 1;
    if (next_subscribe(c, now, req) || next_unsubscribe(c, now, req))
        return 1;
    if (next_mirror(c, now, req))
        return 1;
    for (int i = 0; i < MAX_WATCH; i++) {
        watch_t *w = &c->watch[i];
        int is_put;
        if (!w->used || w->inflight || w->next > now)
            continue;
        is_put = w->kind >= R_PUT_DERCAP;
        /* nothing about the device goes to a server that is not ours (Registration PIN) */
        if (is_put && (!c->have_device || !c->registered))
            continue;
        if (!(f = inflight_slot(c)))
            return 0;
        ge_buf_clear(&f->body);
        f->watch = i;
        f->subject[0] = '\0';
        f->status = 0;
        if (is_put) {
            w->put_again = 0;
            if (build_put(c, w, &f->body, now) < 0) {
                ge_log(c->cfg.log, GE_LOG_ERROR, "sep", "cannot encode %s for %s", kind_root[w->kind], w->href);
                w->next = now + w->poll_s;
                continue;
            }
            snprintf(f->method, sizeof(f->method), "PUT");
            sep__copy_str(f->path, sizeof(f->path), w->href);
        } else {
            char path[sizeof(f->path)];
            snprintf(f->method, sizeof(f->method), "GET");
            if (w->kind == R_EDEV_LIST || w->kind == R_FSA_LIST || w->kind == R_DERP_LIST ||
                w->kind == R_DERC_LIST || w->kind == R_DER_LIST || w->kind == R_MUP_LIST ||
                w->kind == R_SUB_LIST || w->kind == R_TP_LIST || w->kind == R_TTI_LIST || w->kind == R_RC_LIST)
                snprintf(path, sizeof(path), "%s%ss=%u&l=%u", w->href, strchr(w->href, '?') ? "&" : "?",
                         (unsigned)w->page_start, PAGE_LIMIT);
            else
                snprintf(path, sizeof(path), "%s", w->href);
            sep__copy_str(f->path, sizeof(f->path), path);
        }
        w->inflight = 1;
        fill_request(c, f, req);
        return 1;
    }
    return 0;
}

/* The request ID is waiting for, or NULL. */
static inflight_t *inflight_find(sep_client_t *c, uint32_t id)
{
    for (int i = 0; i < MAX_INFLIGHT; i++)
        if (c->inflight[i].used && c->inflight[i].id == id)
            return &c->inflight[i];
    return NULL;
}

/* Does F's answer carry a document we read (a GET of a followed resource)? */
static int reads_document(const sep_client_t *c, const inflight_t *f)
{
    return f->watch >= 0 && c->watch[f->watch].kind < R_PUT_DERCAP;
}

/* LEN more bytes of F's answer into its decoder (FINAL: the last of them).  The one way a body is
 * decoded, whether it comes whole or in pieces.  After an error the rest is dropped; the error
 * waits in the decoder until the status says whether it matters. */
static void body_feed(sep_client_t *c, inflight_t *f, const void *data, size_t len, int final)
{
    if (f->watch == WK_REQUEST) {
        /* JSON, read whole once it is complete; the buffer's cap (64 KiB) bounds it */
        if (f->doc != DOC_BAD && len && ge_buf_append(&f->body, data, len) < 0)
            f->doc = DOC_BAD;
        return;
    }
    if (!reads_document(c, f) || f->doc == DOC_BAD || f->doc == DOC_NOSTART)
        return;
    if (f->doc == DOC_IDLE) {
        ge_arena_reset(f->arena);
        if (ge_xml_decoder_reset(f->dec, &ge_xml_schema_sep, f->arena) < 0) {
            f->doc = DOC_NOSTART;
            return;
        }
        f->doc = DOC_OPEN;
    }
    if (ge_xml_decoder_feed(f->dec, data, len, final != 0) < 0)
        f->doc = DOC_BAD;
}

int sep_client_body(sep_client_t *c, uint32_t id, const void *data, size_t len)
{
    inflight_t *f;

    if (!c || (!data && len))
        return GE_ERR_INVALID;
    if (!(f = inflight_find(c, id)))
        return GE_ERR_NOTFOUND;
    if (len)
        body_feed(c, f, data, len, 0);
    return 0;
}

/* A GET answer with a 2xx status: the document fed so far, complete now, takes effect; a bad one
 * is logged with its position and W keeps its last good state. */
static void document_answer(sep_client_t *c, watch_t *w, inflight_t *f, double now)
{
    ge_xml_msg_t msg;

    body_feed(c, f, NULL, 0, 1);
    if (f->doc != DOC_OPEN || ge_xml_decoder_result(f->dec, &msg) < 0) {
        const ge_xml_error_t *e = ge_xml_decoder_error(f->dec);
        c->stats.bad_documents++;
        if (f->doc == DOC_NOSTART)
            ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s: cannot start decoding (%s); keeping the last good state",
                   w->href, ge_strerror(GE_ERR_NOMEM));
        else
            ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s:%lu:%lu: %s; keeping the last good state", w->href, e->line,
                   e->col, e->msg);
        w->page_start = 0;
        w->backoff = w->backoff ? w->backoff * 2 : RETRY_MIN;
        if (w->backoff > w->poll_s)
            w->backoff = w->poll_s;
        w->next = now + w->backoff;
        return;
    }
    handle_document(c, w, &msg, now);
}

int sep_client_response(sep_client_t *c, uint32_t id, int status, const char *location, const void *body,
                        size_t len, double now)
{
    inflight_t *f;
    watch_t *w;

    if (!c || (!body && len))
        return GE_ERR_INVALID;
    if (!(f = inflight_find(c, id)))
        return GE_ERR_NOTFOUND;
    f->used = 0;
    c->stats.responses++;
    if (f->watch == -2) {
        mirror_answer(c, f, status, location, now);
        return 0;
    }
    if (f->watch == -3) {
        logevent_answer(c, status, now);
        return 0;
    }
    if (f->watch == -4) {
        if (c->agg)
            agg_register_answer(c, status, location, now);
        else
            register_answer(c, status, location, now);
        return 0;
    }
    if (f->watch == -5) {
        subscribe_answer(c, f, status, location, now);
        return 0;
    }
    if (f->watch == -6) {
        unsubscribe_answer(c, status, now);
        return 0;
    }
    if (f->watch == WK_REQUEST) {
        if (len)
            body_feed(c, f, body, len, 1);
        well_known_answer(c, f, status, now);
        return 0;
    }
    if (f->watch < 0) {
        /* A Response POST: the caller's outbox retries it until acknowledged. */
        if (status < 200 || status >= 300)
            c->stats.errors++;
        return 0;
    }
    w = &c->watch[f->watch];
    w->inflight = 0;
    if (status < 200 || status >= 300) {
        /* whatever part of a body came is dropped with the decoder's state */
        c->stats.errors++;
        if (status == 404 && (w->kind == R_RC || w->kind == R_RT)) {
            /* a RateComponent or ReadingType that is gone: its prices are not used, and it is not
             * asked for again */
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "%s is gone (404)", w->href);
            sep__prc_gone(c->prc, w->kind == R_RC ? SEP_PRC_RC : SEP_PRC_RT, w->href);
            unfollow(c, w);
            return 0;
        }
        if (status == 404 && w->kind != R_DCAP) {
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "%s is gone (404)", w->href);
            w->page_start = 0;
            w->next = now + w->poll_s;
            return 0;
        }
        /* connection trouble, 5xx, or a 4xx: keep the last good state, retry with backoff (2030.5
         * leaves controls in force while the server is away) */
        w->backoff = w->backoff ? w->backoff * 2 : RETRY_MIN;
        if (w->backoff > w->poll_s)
            w->backoff = w->poll_s;
        w->next = now + w->backoff;
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%s %s: %s%d; retry in %.0f s", f->method, w->href,
               status ? "HTTP " : "no answer ", status, w->backoff);
        return 0;
    }
    if (w->kind >= R_PUT_DERCAP) {
        w->next = w->put_again ? now : now + w->poll_s;
        return 0;
    }
    if (len)
        body_feed(c, f, body, len, 0);
    document_answer(c, w, f, now);
    return 0;
}

/* ---- notifications ------------------------------------------------------------------------------------ */


/* The resource a Notification carries, if it is a whole document of W's kind: a list counts only
 * when it holds every item (a list cut to the subscription's limit is read again instead). */
static const void *notified_document(const watch_t *w, const sep_Notification_t *n)
{
    const char *type = n->Resource_xsi ? n->Resource_xsi->name : NULL;

    if (!n->Resource || !type || strncmp(type, "sep:", 4) != 0 || strcmp(type + 4, kind_root[w->kind]) != 0)
        return NULL;
    switch (w->kind) {
#define WHOLE(T) (((const T *)n->Resource)->results >= ((const T *)n->Resource)->all)
    case R_EDEV_LIST: return WHOLE(sep_EndDeviceList_t) ? n->Resource : NULL;
    case R_FSA_LIST: return WHOLE(sep_FunctionSetAssignmentsList_t) ? n->Resource : NULL;
    case R_DERP_LIST: return WHOLE(sep_DERProgramList_t) ? n->Resource : NULL;
    case R_DERC_LIST: return WHOLE(sep_DERControlList_t) ? n->Resource : NULL;
#undef WHOLE
    default: return n->Resource;
    }
}

static void take_notification(sep_client_t *c, const sep_Notification_t *n, double now)
{
    watch_t *w = watch_at(c, n->subscribedResource);
    const void *doc;

    c->stats.notifications++;
    if (!w) {
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Notification for %s, which we do not follow; ignored",
               n->subscribedResource);
        return;
    }
    switch (n->status) {
    case 0: /* the resource changed: take it as carried, or read it */
        doc = notified_document(w, n);
        if (doc && !w->inflight && w->page_start == 0) {
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Notification: %s changed", w->href);
            take_document(c, w, doc, now);
        } else {
            ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Notification: %s changed; reading it", w->href);
            w->page_start = w->inflight ? w->page_start : 0;
            w->next = now;
        }
        return;
    case 1: /* the server cancelled our subscription */
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "the server cancelled our subscription to %s", w->href);
        w->sub = SUB_NONE; /* offered again at the next read: subscribe again then */
        w->sub_href[0] = '\0';
        w->next = now;
        return;
    default: /* 2 moved, 3 definition changed, 4 deleted: what a read now shows */
        ge_log(c->cfg.log, GE_LOG_INFO, "sep", "Notification: %s %s; reading it", w->href,
               n->status == 2 ? "moved" : n->status == 3 ? "changed its definition" : "was deleted");
        w->next = now;
        return;
    }
}

int sep_client_notification(sep_client_t *c, const void *body, size_t len, double now)
{
    ge_xml_msg_t msg;

    if (!c || (!body && len))
        return GE_ERR_INVALID;
    ge_arena_reset(c->arena);
    if (ge_xml_decode(c->dec, &ge_xml_schema_sep, c->arena, body, len, &msg) < 0) {
        const ge_xml_error_t *e = ge_xml_decoder_error(c->dec);
        c->stats.bad_documents++;
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "Notification:%lu:%lu: %s; ignored", e->line, e->col, e->msg);
        return 400;
    }
    if (strcmp(msg.root->name, "Notification") == 0) {
        take_notification(c, msg.value, now);
    } else if (strcmp(msg.root->name, "NotificationList") == 0) {
        const sep_NotificationList_t *l = msg.value;
        for (size_t i = 0; i < l->Notification_count; i++)
            take_notification(c, l->Notification[i], now);
    } else {
        c->stats.bad_documents++;
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "a %s was posted to our notification address; ignored",
               msg.root->name);
        return 400;
    }
    return 201;
}

/* ---- device, time, control ---------------------------------------------------------------------------- */

int sep_client_set_device(sep_client_t *c, const ge_der_caps_t *caps, const ge_telemetry_t *tel)
{
    unsigned long sig_caps, sig_status;
    uint32_t pv_state, battery_state;
    char sig[128];
    int n;

    if (!c || !caps || !tel)
        return GE_ERR_INVALID;
    c->caps = *caps;
    c->tel = *tel;
    c->have_device = 1;
    /* DER faults that were just raised become LogEvents (stamped in server time) */
    for (int b = 0; b < GE_ALARM_SEP_BITS; b++) {
        uint32_t bit = GE_ALARM_SEP(b);
        if (!(tel->alarms & bit) || (c->last_alarms & bit))
            continue;
        if (c->n_logq == MAX_LOGEVENTS) { /* DERStatus.alarmStatus still shows it */
            ge_log(c->cfg.log, GE_LOG_WARN, "sep", "%d LogEvents wait for the server; alarm bit %d not logged",
                   MAX_LOGEVENTS, b);
            continue;
        }
        c->logq[c->n_logq].bit = b;
        c->logq[c->n_logq].when = (int64_t)floor(tel->time + c->offset);
        c->n_logq++;
    }
    c->last_alarms = tel->alarms;
    /* PUT again when what the resources say changes (whole percent of SoC, mode, connection,
     * alarms, a device's state), not for every watt */
    n = snprintf(sig, sizeof(sig), "%u %.0f %.0f %.0f %.0f %.0f", (unsigned)caps->modes, caps->rtg_max_w,
                 caps->rtg_max_charge_rate_w, caps->rtg_max_discharge_rate_w, caps->rtg_max_wh, caps->rtg_max_va);
    sig_caps = hash_bytes(sig, (size_t)n);
    ge_telemetry_states(caps, tel, &pv_state, &battery_state, NULL);
    n = snprintf(sig, sizeof(sig), "%d %d %u %d %u %u", (int)tel->soc_pct,
                 tel->battery_w > 1 ? 1 : tel->battery_w < -1 ? -1 : 0, (unsigned)tel->alarms, tel->ev_connected,
                 (unsigned)pv_state, (unsigned)battery_state);
    sig_status = hash_bytes(sig, (size_t)n);
    for (int i = 0; i < MAX_WATCH; i++) {
        watch_t *w = &c->watch[i];
        if (!w->used)
            continue;
        if ((sig_caps != c->sig_caps && (w->kind == R_PUT_DERCAP || w->kind == R_PUT_DERG)) ||
            (sig_status != c->sig_status && (w->kind == R_PUT_DERS || w->kind == R_PUT_DERA)))
            w->next = 0;
    }
    c->sig_caps = sig_caps;
    c->sig_status = sig_status;
    return 0;
}

int sep_client_mark_sent(sep_client_t *c, const char *mrid, int status)
{
    int rc;

    if (!c || !mrid)
        return GE_ERR_INVALID;
    rc = mark_sent(c, mrid, status);
    /* not a DERControl: a TimeTariffInterval's PriceResponse */
    if (rc == GE_ERR_NOTFOUND || rc == GE_ERR_INVALID)
        rc = sep__prc_mark_sent(c->prc, mrid, status) == 0 ? 0 : rc;
    return rc;
}

int sep_client_price(sep_client_t *c, double now, sep_price_t *out)
{
    if (!c || !out)
        return GE_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!(c->time_known && c->registered) && !(c->restored && !c->pin_rejected)) /* as sep_client_control() */
        return 0;
    sep__prc_price(c->prc, (int64_t)floor(now + c->offset), out);
    return 0;
}

double sep_client_server_time(const sep_client_t *c, double now)
{
    return now + c->offset;
}

double sep_client_time_offset(const sep_client_t *c)
{
    return c->offset;
}

void sep_client_set_time_offset(sep_client_t *c, double offset)
{
    c->offset = offset;
}

int sep_client_control(sep_client_t *c, double now, sep_control_t *out)
{
    ge_sched_result_t res;
    int rc;

    memset(out, 0, sizeof(*out));
    ge_setpoint_init(&out->setpoint);
    /* Until we know the server's clock and that the server is ours, nothing applies - but what a
     * saved state restored does: it was the server's word when we last heard it. */
    if (!(c->time_known && c->registered) && !(c->restored && !c->pin_rejected))
        return 0;
    memset(&res, 0, sizeof(res));
    rc = ge_sched_eval(c->sched, (int64_t)floor(now + c->offset), &res);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < res.n_active && out->n_active < SEP_MAX_ACTIVE; i++) {
        const ge_sched_active_t *a = &res.active[i];
        const sep_ctl_t *ctl = a->payload;
        sep_active_control_t *o = &out->active[out->n_active++];
        ge_setpoint_t sp;
        if (!ctl)
            continue;
        sep__control_setpoint(ctl, &c->caps, &sp);
        put_curves(c, ctl, &sp);
        ge_setpoint_merge(&out->setpoint, &sp, a->modes);
        sep__copy_str(o->mrid, sizeof(o->mrid), ctl->mrid);
        o->is_default = a->is_default;
        o->primacy = a->primacy;
        o->modes = a->modes;
        o->end = a->end;
    }
    return 0;
}

double sep_client_next_wakeup(const sep_client_t *c, double now)
{
    double t = now + 60;

    if (c->wk == WK_WANTED)
        return now;
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && !c->watch[i].inflight && c->watch[i].next < t)
            t = c->watch[i].next;
    /* controls start and end on the server's clock: look again every second */
    if (c->stats.controls_known || c->stats.programs)
        t = t < now + 1 ? t : now + 1;
    return t < now ? now : t;
}

void sep_client_stats(const sep_client_t *c, sep_client_stats_t *out)
{
    *out = c->stats;
    out->registered = c->registered;
    out->csip_aus = c->csip_aus;
    out->csipaus_version = c->csipaus_version;
    out->time_known = c->time_known;
    sep__prc_counts(c->prc, &out->tariff_intervals, &out->rate_components);
    out->subscriptions = 0;
    for (int i = 0; i < MAX_WATCH; i++)
        if (c->watch[i].used && c->watch[i].sub == SUB_ACTIVE)
            out->subscriptions++;
}

/* ---- the control state across a restart ------------------------------------------------------------ */

/* The save format: one record per line, fields separated by one space, strings never empty ("-"
 * stands for ""; hrefs and mRIDs hold no space).  A control's or curve's values are the engine's
 * own structure as bytes (hex, a run of zero bytes as "_N."), so the first line carries the sizes
 * of those structures: a state written by a build whose layout differs is refused, not misread.
 *   S 1 sizeof(sep_ctl_t) sizeof(curve_t)
 *   N version dcap_path                                          the CSIP-AUS version negotiated
 *   P slot no primacy set_grad_w list_href href mrid             a DERProgram
 *   D slot CTL                                                   its DefaultDERControl
 *   V slot type href CURVE                                       a DERCurve that was read
 *   C id program primacy creation start duration rs rd status status_time modes respond sent CTL
 * and the pricing documents read (pricing.c, sep__prc_save()), after a line with their own sizes:
 *   Q L sizeof(tp) sizeof(rc) sizeof(rt) sizeof(tti)                 (another build's are skipped)
 *   Q T|R|Y|I slot BYTES                  a TariffProfile, RateComponent, ReadingType, interval */
#define SAVE_VERSION 1

int sep__put_bytes(ge_buf_t *out, const void *data, size_t n)
{
    const unsigned char *b = data;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0;) {
        size_t run = 0;
        while (i + run < n && b[i + run] == 0)
            run++;
        if (run >= 3) {
            rc = ge_buf_printf(out, "_%zu.", run);
            i += run;
        } else {
            rc = ge_buf_printf(out, "%02x", b[i]);
            i++;
        }
    }
    return rc;
}

int sep__get_bytes(const char *text, void *out, size_t n)
{
    unsigned char *b = out;
    size_t i = 0;

    while (*text) {
        if (*text == '_') {
            char *end;
            unsigned long run = strtoul(text + 1, &end, 10);
            if (end == text + 1 || *end != '.' || run > n - i)
                return -1;
            memset(b + i, 0, run);
            i += run;
            text = end + 1;
        } else {
            int hi = ge_hex_digit(text[0]), lo = hi < 0 ? -1 : ge_hex_digit(text[1]);
            if (lo < 0 || i == n)
                return -1;
            b[i++] = (unsigned char)(hi << 4 | lo);
            text += 2;
        }
    }
    return i == n ? 0 : -1;
}

/* " S": "-" for the empty string; escaped (ge_buf_put_escaped), a leading '-' too. */
static int put_str(ge_buf_t *out, const char *s)
{
    int rc = ge_buf_putc(out, ' ');

    if (!s || !s[0])
        return rc ? rc : ge_buf_putc(out, '-');
    if (rc == 0 && s[0] == '-') {
        rc = ge_buf_puts(out, "%2D");
        s++;
    }
    return rc ? rc : ge_buf_put_escaped(out, s);
}

/* A field put_str() wrote, decoded in place; 0, or -1 for a bad escape. */
static int get_str(char *f)
{
    if (strcmp(f, "-") == 0) {
        *f = '\0';
        return 0;
    }
    return ge_unescape(f);
}

int sep_client_save(const sep_client_t *c, ge_buf_t *out)
{
    int rc;

    if (!c || !out)
        return GE_ERR_INVALID;
    rc = ge_buf_printf(out, "S %d %zu %zu\n", SAVE_VERSION, sizeof(sep_ctl_t), sizeof(curve_t));
    if (rc == 0 && (c->csipaus_version || c->kept_version)) {
        int v = c->csipaus_version ? c->csipaus_version : c->kept_version;
        rc = ge_buf_printf(out, "N %d", v);
        if (rc == 0)
            rc = put_str(out, c->csipaus_version ? c->dcap_path : c->kept_dcap);
        if (rc == 0)
            rc = ge_buf_putc(out, '\n');
    }
    for (int i = 0; i < MAX_PROGRAMS && rc == 0; i++) {
        const program_t *p = &c->programs[i];
        if (!p->used)
            continue;
        rc = ge_buf_printf(out, "P %d %u %u %u", i, (unsigned)p->no, (unsigned)p->primacy, p->set_grad_w);
        if (rc == 0)
            rc = put_str(out, p->list_href);
        if (rc == 0)
            rc = put_str(out, p->href);
        if (rc == 0)
            rc = put_str(out, p->mrid);
        if (rc == 0 && p->dflt.used) {
            rc = ge_buf_printf(out, "\nD %d ", i);
            if (rc == 0)
                rc = sep__put_bytes(out, &p->dflt, sizeof(p->dflt));
        }
        if (rc == 0)
            rc = ge_buf_putc(out, '\n');
    }
    for (int k = 0; k < MAX_CURVES && rc == 0; k++) {
        const curve_t *cv = &c->curves[k];
        if (!cv->used || !cv->known)
            continue;
        rc = ge_buf_printf(out, "V %d %d", k, cv->type);
        if (rc == 0)
            rc = put_str(out, cv->href);
        if (rc == 0)
            rc = ge_buf_putc(out, ' ');
        if (rc == 0)
            rc = sep__put_bytes(out, cv, sizeof(*cv));
        if (rc == 0)
            rc = ge_buf_putc(out, '\n');
    }
    for (int i = 0; i < MAX_CONTROLS && rc == 0; i++) {
        const sep_ctl_t *ctl = c->controls[i];
        const ge_sched_event_t *ev = ctl ? ge_sched_get(c->sched, ctl->mrid) : NULL;
        sep_ctl_t kept;
        if (!ev)
            continue;
        kept = *ctl;
        kept.gen = 0; /* which refresh of its list carried it means nothing after a restart */
        rc = ge_buf_printf(out, "C %s %u %u %lld %lld %u %d %d %u %lld %u %d %u ", ev->id, (unsigned)ev->program,
                           (unsigned)ev->primacy, (long long)ev->creation_time, (long long)ev->start,
                           (unsigned)ev->duration, (int)ev->randomize_start, (int)ev->randomize_duration,
                           (unsigned)ev->status, (long long)ev->status_time, (unsigned)ev->modes, ev->respond,
                           (unsigned)ev->sent);
        if (rc == 0)
            rc = sep__put_bytes(out, &kept, sizeof(kept));
        if (rc == 0)
            rc = ge_buf_putc(out, '\n');
    }
    return rc == 0 ? sep__prc_save(c->prc, out) : rc;
}

unsigned long sep_client_state_gen(const sep_client_t *c)
{
    return c ? c->state_gen : 0;
}

/* What a saved state holds, parsed before any of it takes effect. */
typedef struct saved {
    program_t programs[MAX_PROGRAMS];
    curve_t curves[MAX_CURVES];
    sep_ctl_t *ctl[MAX_CONTROLS];
    ge_sched_event_t ev[MAX_CONTROLS];
    size_t n_ctl;
    sep_pricing_t *prc; /* the pricing documents (pricing.c's tables, staged) */
    int version;        /* the CSIP-AUS version negotiated, and its DeviceCapability */
    char dcap[SEP_PATH_MAX];
} saved_t;

static void saved_free(sep_client_t *c, saved_t *sv)
{
    for (size_t i = 0; i < sv->n_ctl; i++)
        c->mem->free(sv->ctl[i], c->mem->ud);
    sep__prc_free(sv->prc, c->mem);
    c->mem->free(sv, c->mem->ud);
}

/* One record LINE (NUL-terminated, no newline) into SV; 0, or -1 with WHY. */
static int restore_line(sep_client_t *c, saved_t *sv, char *line, const char **why)
{
    char *f[20], *save = NULL;
    size_t n = 0;

    for (char *t = strtok_r(line, " ", &save); t && n < 20; t = strtok_r(NULL, " ", &save))
        f[n++] = t;
    if (n == 0)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (get_str(f[i]) < 0)
            return *why = "bad escape", -1;
    if (strcmp(f[0], "Q") == 0)
        return sep__prc_restore_line(sv->prc, f, n, why);
    if (strcmp(f[0], "S") == 0) {
        if (n != 4 || strtol(f[1], NULL, 10) != SAVE_VERSION)
            return *why = "unknown version", -1;
        if (strtoul(f[2], NULL, 10) != sizeof(sep_ctl_t) || strtoul(f[3], NULL, 10) != sizeof(curve_t))
            return *why = "written by a build with another layout", -1;
        return 0;
    }
    if (strcmp(f[0], "N") == 0 && n == 3) {
        long v = strtol(f[1], NULL, 10);
        if ((v != SEP_CSIPAUS_V12 && v != SEP_CSIPAUS_V13) || f[2][0] != '/' || strlen(f[2]) >= SEP_PATH_MAX)
            return *why = "bad CSIP-AUS version", -1;
        sv->version = (int)v;
        sep__copy_str(sv->dcap, sizeof(sv->dcap), f[2]);
        return 0;
    }
    if (strcmp(f[0], "P") == 0 && n == 8) {
        long slot = strtol(f[1], NULL, 10);
        program_t *p;
        if (slot < 0 || slot >= MAX_PROGRAMS || strlen(f[5]) >= SEP_PATH_MAX || !f[5][0] ||
            strlen(f[6]) >= SEP_PATH_MAX || strlen(f[7]) > SEP_MRID_HEX)
            return *why = "bad DERProgram", -1;
        p = &sv->programs[slot];
        memset(p, 0, sizeof(*p));
        p->used = 1;
        p->no = (uint32_t)strtoul(f[2], NULL, 10);
        p->primacy = (uint8_t)strtoul(f[3], NULL, 10);
        p->set_grad_w = (unsigned)strtoul(f[4], NULL, 10);
        p->list = -1;
        sep__copy_str(p->list_href, sizeof(p->list_href), f[5]);
        sep__copy_str(p->href, sizeof(p->href), f[6]);
        sep__copy_str(p->mrid, sizeof(p->mrid), f[7]);
        return 0;
    }
    if (strcmp(f[0], "D") == 0 && n == 3) {
        long slot = strtol(f[1], NULL, 10);
        if (slot < 0 || slot >= MAX_PROGRAMS || !sv->programs[slot].used ||
            sep__get_bytes(f[2], &sv->programs[slot].dflt, sizeof(sep_ctl_t)) < 0)
            return *why = "bad DefaultDERControl", -1;
        return 0;
    }
    if (strcmp(f[0], "V") == 0 && n == 5) {
        long slot = strtol(f[1], NULL, 10);
        if (slot < 0 || slot >= MAX_CURVES || sep__get_bytes(f[4], &sv->curves[slot], sizeof(curve_t)) < 0 ||
            !sv->curves[slot].used)
            return *why = "bad DERCurve", -1;
        return 0;
    }
    if (strcmp(f[0], "C") == 0 && n == 15) {
        ge_sched_event_t *ev = &sv->ev[sv->n_ctl];
        sep_ctl_t *ctl;
        if (sv->n_ctl == MAX_CONTROLS || strlen(f[1]) >= sizeof(ev->id))
            return *why = "bad DERControl", -1;
        if (!(ctl = c->mem->malloc(sizeof(*ctl), c->mem->ud)))
            return *why = "out of memory", -1;
        if (sep__get_bytes(f[14], ctl, sizeof(*ctl)) < 0 || strcmp(ctl->mrid, f[1]) != 0) {
            c->mem->free(ctl, c->mem->ud);
            return *why = "bad DERControl", -1;
        }
        memset(ev, 0, sizeof(*ev));
        sep__copy_str(ev->id, sizeof(ev->id), f[1]);
        ev->program = (uint32_t)strtoul(f[2], NULL, 10);
        ev->primacy = (uint8_t)strtoul(f[3], NULL, 10);
        ev->creation_time = strtoll(f[4], NULL, 10);
        ev->start = strtoll(f[5], NULL, 10);
        ev->duration = (uint32_t)strtoul(f[6], NULL, 10);
        ev->randomize_start = (int32_t)strtol(f[7], NULL, 10);
        ev->randomize_duration = (int32_t)strtol(f[8], NULL, 10);
        ev->status = (uint8_t)strtoul(f[9], NULL, 10);
        ev->status_time = strtoll(f[10], NULL, 10);
        ev->modes = (uint32_t)strtoul(f[11], NULL, 10);
        ev->respond = (int)strtol(f[12], NULL, 10);
        ev->sent = (uint32_t)strtoul(f[13], NULL, 10);
        ctl->gen = UINT_MAX; /* not listed since: the next full read of its list decides */
        ev->payload = ctl;
        sv->ctl[sv->n_ctl++] = ctl;
        return 0;
    }
    return *why = "unknown record", -1;
}

int sep_client_restore(sep_client_t *c, const char *text, size_t len)
{
    saved_t *sv;
    const char *p = text, *end = text + len, *why = NULL;
    unsigned line = 0;
    int rc = 0, csip_aus = 0, intervals;

    if (!c || (!text && len))
        return GE_ERR_INVALID;
    if (!len)
        return 0;
    if (len < 2 || memcmp(text, "S ", 2) != 0) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "saved control state: line 1: not a saved state; not restored");
        return GE_ERR_PARSE;
    }
    if (!(sv = c->mem->malloc(sizeof(*sv), c->mem->ud)))
        return GE_ERR_NOMEM;
    memset(sv, 0, sizeof(*sv));
    if ((rc = sep__prc_new(&sv->prc, c->mem, &(sep_prc_hooks_t){ 0 })) < 0) {
        c->mem->free(sv, c->mem->ud);
        return rc;
    }
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char *buf = c->mem->malloc(n + 1, c->mem->ud);
        line++;
        if (!buf) {
            rc = GE_ERR_NOMEM;
            break;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (restore_line(c, sv, buf, &why) < 0)
            rc = GE_ERR_PARSE;
        c->mem->free(buf, c->mem->ud);
        p = nl ? nl + 1 : end;
    }
    if (rc < 0) {
        ge_log(c->cfg.log, GE_LOG_WARN, "sep", "saved control state: line %u: %s; not restored", line,
               why ? why : "out of memory");
        saved_free(c, sv);
        return rc;
    }
    /* in force from now on, until the server's lists say otherwise */
    for (int i = 0; i < MAX_PROGRAMS; i++) {
        program_t *pg = &sv->programs[i];
        if (!pg->used || c->programs[i].used)
            continue;
        c->programs[i] = *pg;
        if (pg->no >= c->next_program_no)
            c->next_program_no = pg->no + 1;
        c->stats.programs++;
        if (pg->dflt.used) {
            c->programs[i].dflt.used = 1;
            csip_aus |= pg->dflt.csip_aus;
            ge_sched_set_default(c->sched, pg->no, pg->primacy, pg->dflt.modes, c->programs[i].dflt.mrid,
                                 &c->programs[i].dflt);
        }
    }
    for (int k = 0; k < MAX_CURVES; k++)
        if (sv->curves[k].used && !c->curves[k].used)
            c->curves[k] = sv->curves[k];
    for (size_t i = 0; i < sv->n_ctl; i++) {
        int slot = -1;
        for (int k = 0; k < MAX_CONTROLS && slot < 0; k++)
            if (!c->controls[k])
                slot = k;
        if (slot < 0 || ge_sched_get(c->sched, sv->ev[i].id) || ge_sched_put(c->sched, &sv->ev[i]) < 0)
            continue; /* already known (the state was restored after the server spoke), or no room */
        c->controls[slot] = sv->ctl[i];
        sv->ctl[i] = NULL;
        csip_aus |= c->controls[slot]->csip_aus;
        c->stats.controls_known++;
    }
    for (size_t i = 0; i < sv->n_ctl; i++)
        if (sv->ctl[i])
            c->mem->free(sv->ctl[i], c->mem->ud);
    sv->n_ctl = 0;
    intervals = sep__prc_restore(c->prc, sv->prc);
    if (sv->version && !c->csipaus_version && c->cfg.profile != SEP_PROFILE_CSIP) {
        c->kept_version = sv->version;
        sep__copy_str(c->kept_dcap, sizeof(c->kept_dcap), sv->dcap);
    }
    saved_free(c, sv);
    update_grad(c);
    c->restored = 1;
    if (csip_aus)
        use_csip_aus(c, "the saved controls use csipaus modes");
    ge_log(c->cfg.log, GE_LOG_INFO, "sep", "saved control state restored: %lu DERPrograms, %lu DERControls, "
           "%d TimeTariffIntervals", c->stats.programs, c->stats.controls_known, intervals);
    return 0;
}

/* ---- used by messages.c ------------------------------------------------------------------------------- */

int sep__hex_bytes(const char *s, uint8_t *out, size_t max)
{
    return hex_bytes(s, out, max);
}
