/* pricing.c - the 2030.5 pricing function set as CSIP-AUS v1.3 streamlines it (gridedge/sep.h,
 * sep_client_price()): what the TariffProfiles, RateComponents, ReadingTypes and TimeTariffIntervals
 * read so far say, which of them to read next, the PriceResponses due, and the price in force at a
 * given server time.  The client's watch machinery (client.c) does the reading; this file only
 * keeps and interprets the documents, through the small interface in sep_internal.h. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/log.h>

#include "stack/sep/sep_internal.h"

#define MAX_TP 8          /* TariffProfiles kept */
#define MAX_RC 16         /* RateComponents kept (those gone included, so they are not read again) */
#define MAX_RT 16         /* ReadingTypes kept */
#define MAX_TTI 64        /* TimeTariffIntervals kept */
#define MAX_LISTS 16      /* lists whose refresh generation is tracked */
#define ONCE_POLL 86400   /* a RateComponent or ReadingType read singly: read once (the client unfollows it) */

#define UOM_WH 72         /* 2030.5 UomType: watt-hours */
#define UOM_DAY 195       /* CSIP-AUS: a fixed charge per day */
#define FLOW_REVERSE 19   /* 2030.5 FlowDirectionType: reverse (export); 1 forward (import) */

/* Response statuses of a TimeTariffInterval (2030.5 Table 27), and their bits in sent. */
#define ST_RECEIVED 1
#define ST_CANCELLED 6

typedef struct tp {
    int used;
    char key[SEP_PATH_MAX];      /* its href (or the list's href and its mRID when it has none) */
    char list[SEP_PATH_MAX];     /* the TariffProfileList that names it */
    unsigned gen;
    char mrid[SEP_MRID_HEX + 1];
    uint8_t primacy;
    int8_t pow10;                /* pricePowerOfTenMultiplier */
    uint16_t currency;
    char ctti[SEP_PATH_MAX];     /* csipaus:CombinedTimeTariffIntervalListLink ("" none) */
    char rcl[SEP_PATH_MAX];      /* RateComponentListLink ("" none) */
} tp_t;

typedef struct rc {
    int used;
    char href[SEP_PATH_MAX];
    char list[SEP_PATH_MAX];     /* the RateComponentList that held it ("" read singly) */
    unsigned gen;
    int read;                    /* its document is known */
    int asked;                   /* read singly: the client follows it until it is read */
    int gone;                    /* the server answered 404: its intervals price nothing */
    char rt[SEP_PATH_MAX];       /* ReadingTypeLink */
    char ttil[SEP_PATH_MAX];     /* TimeTariffIntervalListLink */
} rc_t;

typedef struct rt {
    int used;
    char href[SEP_PATH_MAX];
    int read, gone;
    uint8_t flow, uom;
    int8_t pow10;
} rt_t;

typedef struct tti {
    int used;
    char mrid[SEP_MRID_HEX + 1];
    char list[SEP_PATH_MAX];     /* the TimeTariffIntervalList that holds it */
    unsigned gen;
    int tp;                      /* its TariffProfile's slot (-1: not known) */
    char rc[SEP_PATH_MAX];       /* its RateComponent */
    int64_t start;
    uint32_t duration;
    uint8_t status;              /* EventStatus currentStatus */
    int has_price;
    int32_t price;               /* of its first consumption block */
    char reply_to[SEP_PATH_MAX];
    uint8_t response_required;
    uint32_t sent;               /* 1 << status for each Response sent (or not wanted) */
} tti_t;

typedef struct list_gen {
    char href[SEP_PATH_MAX];
    unsigned gen;
} list_gen_t;

struct sep_pricing {
    sep_prc_hooks_t hooks;
    tp_t tp[MAX_TP];
    rc_t rc[MAX_RC];
    rt_t rt[MAX_RT];
    tti_t tti[MAX_TTI];
    list_gen_t lists[MAX_LISTS];
    int restore_layout;          /* a staging copy (sep__prc_restore_line): 1 the saved tables' layout is
                                    ours, -1 another build's, 0 not seen yet */
};

/* ---- helpers ------------------------------------------------------------------------------------------ */

static int fits(const char *href)
{
    return href && href[0] && strlen(href) < SEP_PATH_MAX;
}

/* The href of a link L (of any Link type: they all start with it) that fits, else "". */
#define LINK_HREF(l) ((l) && fits((l)->href) ? (l)->href : "")

/* The refresh generation of list HREF: moved on by its first page (FIRST).  0 when there is no
 * room to track it (then nothing is dropped from it). */
static unsigned list_gen(sep_pricing_t *p, const char *href, int first)
{
    list_gen_t *slot = NULL;

    for (int i = 0; i < MAX_LISTS; i++) {
        if (p->lists[i].href[0] && strcmp(p->lists[i].href, href) == 0) {
            slot = &p->lists[i];
            break;
        }
        if (!p->lists[i].href[0] && !slot)
            slot = &p->lists[i];
    }
    if (!slot)
        return 0;
    if (!slot->href[0]) {
        sep__copy_str(slot->href, sizeof(slot->href), href);
        slot->gen = 0;
    }
    if (first && ++slot->gen == 0)
        slot->gen = 1;
    return slot->gen;
}

static void follow(sep_pricing_t *p, int what, const char *href, uint32_t poll_s, int due, double now)
{
    if (p->hooks.follow && fits(href))
        p->hooks.follow(p->hooks.ud, what, href, poll_s, due, now);
}

static void unfollow(sep_pricing_t *p, int what, const char *href)
{
    if (p->hooks.unfollow && href[0])
        p->hooks.unfollow(p->hooks.ud, what, href);
}

/* The slot of the RateComponent at HREF, or -1. */
static int rc_index(const sep_pricing_t *p, const char *href)
{
    for (int i = 0; i < MAX_RC; i++)
        if (p->rc[i].used && strcmp(p->rc[i].href, href) == 0)
            return i;
    return -1;
}

static rc_t *rc_find(sep_pricing_t *p, const char *href)
{
    int i = rc_index(p, href);

    return i < 0 ? NULL : &p->rc[i];
}

static rc_t *rc_new(sep_pricing_t *p, const char *href)
{
    for (int i = 0; i < MAX_RC; i++)
        if (!p->rc[i].used) {
            memset(&p->rc[i], 0, sizeof(p->rc[i]));
            p->rc[i].used = 1;
            sep__copy_str(p->rc[i].href, sizeof(p->rc[i].href), href);
            return &p->rc[i];
        }
    ge_log(p->hooks.log, GE_LOG_WARN, "sep", "more than %d RateComponents; ignoring %s", MAX_RC, href);
    return NULL;
}

/* The slot of the ReadingType at HREF, or -1. */
static int rt_index(const sep_pricing_t *p, const char *href)
{
    for (int i = 0; i < MAX_RT; i++)
        if (p->rt[i].used && strcmp(p->rt[i].href, href) == 0)
            return i;
    return -1;
}

static const rt_t *rt_find(const sep_pricing_t *p, const char *href)
{
    int i = rt_index(p, href);

    return i < 0 ? NULL : &p->rt[i];
}

/* The ReadingType at HREF: known or being read (read once, then kept). */
static void want_rt(sep_pricing_t *p, const char *href, double now)
{
    if (!fits(href) || rt_find(p, href))
        return;
    for (int i = 0; i < MAX_RT; i++)
        if (!p->rt[i].used) {
            memset(&p->rt[i], 0, sizeof(p->rt[i]));
            p->rt[i].used = 1;
            sep__copy_str(p->rt[i].href, sizeof(p->rt[i].href), href);
            follow(p, SEP_PRC_RT, href, ONCE_POLL, 1, now);
            return;
        }
    ge_log(p->hooks.log, GE_LOG_WARN, "sep", "more than %d ReadingTypes; ignoring %s", MAX_RT, href);
}

/* What RateComponent document R says, into RC. */
static void rc_take(sep_pricing_t *p, rc_t *rc, const sep_RateComponent_t *r, double now)
{
    rc->read = 1;
    rc->gone = 0;
    sep__copy_str(rc->rt, sizeof(rc->rt), LINK_HREF(r->ReadingTypeLink));
    sep__copy_str(rc->ttil, sizeof(rc->ttil), LINK_HREF(r->TimeTariffIntervalListLink));
    if (!rc->rt[0])
        ge_log(p->hooks.log, GE_LOG_WARN, "sep", "RateComponent %s has no ReadingTypeLink: its prices are not used",
               rc->href);
    want_rt(p, rc->rt, now);
}

/* The RateComponent at HREF, which an interval links: known, or read once (singly). */
static void want_rc(sep_pricing_t *p, const char *href, double now)
{
    rc_t *rc = rc_find(p, href);

    if (!rc && !(rc = rc_new(p, href)))
        return;
    if (rc->read || rc->gone || rc->asked)
        return;
    rc->asked = 1;
    follow(p, SEP_PRC_RC, href, ONCE_POLL, 1, now);
}

static tp_t *tp_by(sep_pricing_t *p, int ctti, const char *href)
{
    for (int i = 0; i < MAX_TP; i++)
        if (p->tp[i].used && strcmp(ctti ? p->tp[i].ctti : p->tp[i].rcl, href) == 0)
            return &p->tp[i];
    return NULL;
}

static void tti_drop_of_tp(sep_pricing_t *p, int tp)
{
    for (int i = 0; i < MAX_TTI; i++)
        if (p->tti[i].used && p->tti[i].tp == tp)
            p->tti[i].used = 0;
}

/* ---- creation ----------------------------------------------------------------------------------------- */

int sep__prc_new(sep_pricing_t **out, const ge_mem_t *mem, const sep_prc_hooks_t *hooks)
{
    sep_pricing_t *p = mem->malloc(sizeof(*p), mem->ud);

    *out = NULL;
    if (!p)
        return GE_ERR_NOMEM;
    memset(p, 0, sizeof(*p));
    p->hooks = *hooks;
    *out = p;
    return 0;
}

void sep__prc_free(sep_pricing_t *p, const ge_mem_t *mem)
{
    if (p)
        mem->free(p, mem->ud);
}

/* ---- documents ---------------------------------------------------------------------------------------- */

void sep__prc_on_tp_list(sep_pricing_t *p, const char *href, const sep_TariffProfileList_t *l, uint32_t poll_s,
                         int first, int last, double now)
{
    unsigned gen = list_gen(p, href, first);

    for (size_t i = 0; i < l->TariffProfile_count; i++) {
        const sep_TariffProfile_t *t = l->TariffProfile[i];
        char key[SEP_PATH_MAX], mrid[SEP_MRID_HEX + 1];
        tp_t *tp = NULL;
        sep__hex_upper(&t->mRID, mrid, sizeof(mrid));
        if (fits(t->href))
            sep__copy_str(key, sizeof(key), t->href);
        else
            snprintf(key, sizeof(key), "%.200s#%s", href, mrid);
        for (int k = 0; k < MAX_TP && !tp; k++)
            if (p->tp[k].used && strcmp(p->tp[k].key, key) == 0)
                tp = &p->tp[k];
        for (int k = 0; k < MAX_TP && !tp; k++)
            if (!p->tp[k].used) {
                tp = &p->tp[k];
                memset(tp, 0, sizeof(*tp));
                tp->used = 1;
                sep__copy_str(tp->key, sizeof(tp->key), key);
            }
        if (!tp) {
            ge_log(p->hooks.log, GE_LOG_WARN, "sep", "more than %d TariffProfiles; ignoring %s", MAX_TP, key);
            continue;
        }
        sep__copy_str(tp->list, sizeof(tp->list), href);
        sep__copy_str(tp->mrid, sizeof(tp->mrid), mrid);
        tp->gen = gen;
        tp->primacy = t->primacy;
        tp->pow10 = t->has_pricePowerOfTenMultiplier ? t->pricePowerOfTenMultiplier : 0;
        tp->currency = t->has_currency ? t->currency : 0;
        sep__copy_str(tp->ctti, sizeof(tp->ctti), LINK_HREF(t->CombinedTimeTariffIntervalListLink));
        sep__copy_str(tp->rcl, sizeof(tp->rcl), LINK_HREF(t->RateComponentListLink));
        /* every interval of the profile at the combined list's own rate; the RateComponentList read
         * again with the TariffProfileList (a new component is listed there) */
        if (tp->ctti[0])
            follow(p, SEP_PRC_TTI_LIST, tp->ctti, 0, 0, now);
        if (tp->rcl[0])
            follow(p, SEP_PRC_RC_LIST, tp->rcl, poll_s, 1, now);
        if (!tp->ctti[0] && !tp->rcl[0])
            ge_log(p->hooks.log, GE_LOG_WARN, "sep", "TariffProfile %s links neither a "
                   "csipaus:CombinedTimeTariffIntervalList nor a RateComponentList: no prices from it", key);
    }
    if (!last || gen == 0)
        return;
    for (int k = 0; k < MAX_TP; k++) {
        tp_t *tp = &p->tp[k];
        if (!tp->used || strcmp(tp->list, href) != 0 || tp->gen == gen)
            continue;
        ge_log(p->hooks.log, GE_LOG_INFO, "sep", "TariffProfile %s is gone from %s", tp->key, href);
        tti_drop_of_tp(p, k);
        unfollow(p, SEP_PRC_TTI_LIST, tp->ctti);
        unfollow(p, SEP_PRC_RC_LIST, tp->rcl);
        tp->used = 0;
    }
}

void sep__prc_on_rc_list(sep_pricing_t *p, const char *href, const sep_RateComponentList_t *l, int first, int last,
                         double now)
{
    unsigned gen = list_gen(p, href, first);
    const tp_t *tp = tp_by(p, 0, href);

    for (size_t i = 0; i < l->RateComponent_count; i++) {
        const sep_RateComponent_t *r = l->RateComponent[i];
        rc_t *rc;
        if (!fits(r->href)) {
            ge_log(p->hooks.log, GE_LOG_WARN, "sep", "%s: a RateComponent without an href; ignored", href);
            continue;
        }
        rc = rc_find(p, r->href);
        if (!rc && !(rc = rc_new(p, r->href)))
            continue;
        sep__copy_str(rc->list, sizeof(rc->list), href);
        rc->gen = gen;
        if (rc->asked) { /* the list holds it: no need to read it singly */
            unfollow(p, SEP_PRC_RC, rc->href);
            rc->asked = 0;
        }
        rc_take(p, rc, r, now);
        /* a profile without the combined list: its intervals are under each component */
        if (tp && !tp->ctti[0] && rc->ttil[0])
            follow(p, SEP_PRC_TTI_LIST, rc->ttil, 0, 0, now);
    }
    if (!last || gen == 0)
        return;
    for (int k = 0; k < MAX_RC; k++) {
        rc_t *rc = &p->rc[k];
        if (!rc->used || strcmp(rc->list, href) != 0 || rc->gen == gen)
            continue;
        ge_log(p->hooks.log, GE_LOG_INFO, "sep", "RateComponent %s is gone from %s", rc->href, href);
        if (tp && !tp->ctti[0])
            unfollow(p, SEP_PRC_TTI_LIST, rc->ttil);
        rc->used = 0;
    }
    /* the components the profile's intervals link that the list does not hold: read each once */
    for (int k = 0; tp && k < MAX_TTI; k++)
        if (p->tti[k].used && p->tti[k].tp == (int)(tp - p->tp))
            want_rc(p, p->tti[k].rc, now);
}

void sep__prc_on_rc(sep_pricing_t *p, const char *href, const sep_RateComponent_t *r, double now)
{
    rc_t *rc = rc_find(p, href);

    if (!rc && !(rc = rc_new(p, href)))
        return;
    rc->asked = 0;
    rc_take(p, rc, r, now);
}

void sep__prc_on_rt(sep_pricing_t *p, const char *href, const sep_ReadingType_t *r)
{
    int i = rt_index(p, href);
    rt_t *rt;

    if (i < 0)
        return;
    rt = &p->rt[i];
    rt->read = 1;
    rt->gone = 0;
    rt->flow = r->has_flowDirection ? r->flowDirection : 0;
    rt->uom = r->has_uom ? r->uom : 0;
    rt->pow10 = r->has_powerOfTenMultiplier ? r->powerOfTenMultiplier : 0;
    if (rt->uom != UOM_WH && rt->uom != UOM_DAY)
        ge_log(p->hooks.log, GE_LOG_INFO, "sep", "ReadingType %s: uom %u is neither energy (72) nor a daily "
               "charge (195): its prices are not used", href, (unsigned)rt->uom);
}

void sep__prc_gone(sep_pricing_t *p, int what, const char *href)
{
    if (what == SEP_PRC_RC) {
        rc_t *rc = rc_find(p, href);
        if (rc) {
            rc->gone = 1;
            rc->read = 0;
            rc->asked = 0;
        }
    } else if (what == SEP_PRC_RT) {
        int i = rt_index(p, href);
        if (i >= 0) {
            p->rt[i].gone = 1;
            p->rt[i].read = 0;
        }
    }
}

/* Interval T of list HREF, whose TariffProfile is TP (-1: not known) and whose RateComponent is DFLT_RC
 * when it links none. */
static void take_tti(sep_pricing_t *p, const char *href, const sep_TimeTariffInterval_t *t, int tp, const char *dflt_rc,
                     unsigned gen, double now)
{
    char mrid[SEP_MRID_HEX + 1];
    const char *rc_href;
    tti_t *x = NULL;
    uint64_t best = UINT64_MAX;

    sep__hex_upper(&t->mRID, mrid, sizeof(mrid));
    if (!mrid[0] || !t->interval || !t->EventStatus) {
        ge_log(p->hooks.log, GE_LOG_WARN, "sep", "%s: a TimeTariffInterval without mRID, interval or EventStatus; "
               "ignored", href);
        return;
    }
    rc_href = t->RateComponentLink && fits(t->RateComponentLink->href) ? t->RateComponentLink->href : dflt_rc;
    if (!rc_href || !rc_href[0]) {
        ge_log(p->hooks.log, GE_LOG_WARN, "sep", "%s: TimeTariffInterval %s has no RateComponentLink; ignored", href,
               mrid);
        return;
    }
    for (int i = 0; i < MAX_TTI && !x; i++)
        if (p->tti[i].used && strcmp(p->tti[i].mrid, mrid) == 0)
            x = &p->tti[i];
    for (int i = 0; i < MAX_TTI && !x; i++)
        if (!p->tti[i].used) {
            x = &p->tti[i];
            memset(x, 0, sizeof(*x));
            x->used = 1;
            sep__copy_str(x->mrid, sizeof(x->mrid), mrid);
        }
    if (!x) {
        ge_log(p->hooks.log, GE_LOG_WARN, "sep", "more than %d TimeTariffIntervals; ignoring %s", MAX_TTI, mrid);
        return;
    }
    sep__copy_str(x->list, sizeof(x->list), href);
    x->gen = gen;
    x->tp = tp;
    sep__copy_str(x->rc, sizeof(x->rc), rc_href);
    x->start = t->interval->start;
    x->duration = t->interval->duration;
    x->status = t->EventStatus->currentStatus;
    x->has_price = 0;
    /* the first block (the lowest startValue: 0) prices the next kWh */
    if (t->ConsumptionTariffIntervalListSummary) {
        const sep_csipaus_ConsumptionTariffIntervalListSummary_t *s = t->ConsumptionTariffIntervalListSummary;
        for (size_t k = 0; k < s->ConsumptionTariffInterval_count; k++) {
            const sep_ConsumptionTariffInterval_t *cti = s->ConsumptionTariffInterval[k];
            if (cti->startValue < best) {
                best = cti->startValue;
                x->has_price = cti->has_price;
                x->price = cti->price;
            }
        }
    } else {
        ge_log(p->hooks.log, GE_LOG_INFO, "sep", "%s: TimeTariffInterval %s has no "
               "csipaus:ConsumptionTariffIntervalListSummary: no price from it", href, mrid);
    }
    sep__copy_str(x->reply_to, sizeof(x->reply_to), t->replyTo && fits(t->replyTo) ? t->replyTo : "");
    x->response_required = t->responseRequired.data && t->responseRequired.len ? t->responseRequired.data[0] : 0;
    /* its RateComponent: known, or read once - after the profile's RateComponentList, which
     * likely holds it, has been read */
    if (tp < 0 || !p->tp[tp].rcl[0] || list_gen(p, p->tp[tp].rcl, 0) > 0)
        want_rc(p, rc_href, now);
    else if (!rc_find(p, rc_href))
        rc_new(p, rc_href);
}

void sep__prc_on_tti_list(sep_pricing_t *p, const char *href, const sep_TimeTariffIntervalList_t *l, int first,
                          int last, double now)
{
    unsigned gen = list_gen(p, href, first);
    const tp_t *tp = tp_by(p, 1, href);
    const char *dflt_rc = NULL;
    int tpi = tp ? (int)(tp - p->tp) : -1;

    if (!tp) { /* a RateComponent's own TimeTariffIntervalList */
        for (int i = 0; i < MAX_RC; i++)
            if (p->rc[i].used && strcmp(p->rc[i].ttil, href) == 0) {
                const tp_t *owner = tp_by(p, 0, p->rc[i].list);
                dflt_rc = p->rc[i].href;
                tpi = owner ? (int)(owner - p->tp) : -1;
                break;
            }
    }
    for (size_t i = 0; i < l->TimeTariffInterval_count; i++)
        take_tti(p, href, l->TimeTariffInterval[i], tpi, dflt_rc, gen, now);
    if (!last || gen == 0)
        return;
    for (int k = 0; k < MAX_TTI; k++) {
        tti_t *x = &p->tti[k];
        if (x->used && strcmp(x->list, href) == 0 && x->gen != gen) {
            ge_log(p->hooks.log, GE_LOG_INFO, "sep", "TimeTariffInterval %s removed from %s", x->mrid, href);
            x->used = 0;
        }
    }
}

/* ---- responses ---------------------------------------------------------------------------------------- */

static int cancelled(uint8_t status)
{
    return status == 2 || status == 3; /* cancelled, cancelled with randomization */
}

/* The next Response interval X owes (received first, then cancelled), or 0. */
static int owed(const tti_t *x)
{
    if (!(x->sent & (1u << ST_RECEIVED)))
        return ST_RECEIVED;
    if (cancelled(x->status) && !(x->sent & (1u << ST_CANCELLED)))
        return ST_CANCELLED;
    return 0;
}

int sep__prc_next_response(sep_pricing_t *p, char mrid[SEP_MRID_HEX + 1], int *status, char reply_to[SEP_PATH_MAX])
{
    for (int i = 0; i < MAX_TTI; i++) {
        tti_t *x = &p->tti[i];
        int st;
        while (x->used && (st = owed(x)) != 0) {
            /* responseRequired bit 0: "received"; bit 1: the specific responses (2030.5 Table 27) */
            if (x->reply_to[0] && (st == ST_RECEIVED ? (x->response_required & 1) : (x->response_required & 2))) {
                sep__copy_str(mrid, SEP_MRID_HEX + 1, x->mrid);
                sep__copy_str(reply_to, SEP_PATH_MAX, x->reply_to);
                *status = st;
                return 1;
            }
            x->sent |= 1u << st; /* not asked for: never sent */
        }
    }
    return 0;
}

int sep__prc_mark_sent(sep_pricing_t *p, const char *mrid, int status)
{
    if (status <= 0 || status > 31)
        return GE_ERR_INVALID;
    for (int i = 0; i < MAX_TTI; i++)
        if (p->tti[i].used && strcmp(p->tti[i].mrid, mrid) == 0) {
            p->tti[i].sent |= 1u << status;
            return 0;
        }
    return GE_ERR_NOTFOUND;
}

/* ---- kept across restarts ----------------------------------------------------------------------------- */

/* Each entry saved is a line "Q <table> <slot> <bytes>" (T TariffProfiles, R RateComponents, Y
 * ReadingTypes, I TimeTariffIntervals): the documents read, without the lists' refresh generations
 * and the reads under way, which mean nothing after a restart (so a state restored and saved again
 * is the same text). */
_Static_assert(offsetof(tp_t, used) == 0 && offsetof(rc_t, used) == 0 && offsetof(rt_t, used) == 0 &&
                   offsetof(tti_t, used) == 0,
               "a saved entry starts with its used flag");

static int put_entry(ge_buf_t *out, char table, int slot, const void *entry, size_t size)
{
    int rc = ge_buf_printf(out, "Q %c %d ", table, slot);

    if (rc == 0)
        rc = sep__put_bytes(out, entry, size);
    return rc ? rc : ge_buf_putc(out, '\n');
}

int sep__prc_save(const sep_pricing_t *p, ge_buf_t *out)
{
    int rc = ge_buf_printf(out, "Q L %zu %zu %zu %zu\n", sizeof(tp_t), sizeof(rc_t), sizeof(rt_t), sizeof(tti_t));

    for (int i = 0; i < MAX_TP && rc == 0; i++)
        if (p->tp[i].used) {
            tp_t kept = p->tp[i];
            kept.gen = 0;
            rc = put_entry(out, 'T', i, &kept, sizeof(kept));
        }
    for (int i = 0; i < MAX_RC && rc == 0; i++)
        if (p->rc[i].used) {
            rc_t kept = p->rc[i];
            kept.gen = 0;
            kept.asked = 0;
            rc = put_entry(out, 'R', i, &kept, sizeof(kept));
        }
    for (int i = 0; i < MAX_RT && rc == 0; i++)
        if (p->rt[i].used)
            rc = put_entry(out, 'Y', i, &p->rt[i], sizeof(p->rt[i]));
    for (int i = 0; i < MAX_TTI && rc == 0; i++)
        if (p->tti[i].used) {
            tti_t kept = p->tti[i];
            kept.gen = 0;
            rc = put_entry(out, 'I', i, &kept, sizeof(kept));
        }
    return rc;
}

/* The entry of line fields SLOT and BYTES into TABLE (MAX entries of SIZE bytes); 0 or -1. */
static int get_entry(const char *slot, const char *bytes, void *table, size_t size, int max)
{
    char *end;
    long i = strtol(slot, &end, 10);
    unsigned char *e;
    int used;

    if (end == slot || *end || i < 0 || i >= max)
        return -1;
    e = (unsigned char *)table + (size_t)i * size;
    if (sep__get_bytes(bytes, e, size) < 0)
        return -1;
    memcpy(&used, e, sizeof(used));
    return used ? 0 : -1;
}

int sep__prc_restore_line(sep_pricing_t *stage, char *const *f, size_t n, const char **why)
{
    int rc;

    if (n == 6 && strcmp(f[1], "L") == 0) {
        stage->restore_layout = strtoul(f[2], NULL, 10) == sizeof(tp_t) && strtoul(f[3], NULL, 10) == sizeof(rc_t) &&
                                strtoul(f[4], NULL, 10) == sizeof(rt_t) && strtoul(f[5], NULL, 10) == sizeof(tti_t)
                                    ? 1
                                    : -1;
        return 0;
    }
    if (n != 4 || strlen(f[1]) != 1)
        return *why = "bad pricing record", -1;
    if (stage->restore_layout < 0) /* another build's tables: the tariffs are read again */
        return 0;
    if (stage->restore_layout == 0)
        return *why = "pricing record before its layout", -1;
    switch (f[1][0]) {
    case 'T': rc = get_entry(f[2], f[3], stage->tp, sizeof(tp_t), MAX_TP); break;
    case 'R': rc = get_entry(f[2], f[3], stage->rc, sizeof(rc_t), MAX_RC); break;
    case 'Y': rc = get_entry(f[2], f[3], stage->rt, sizeof(rt_t), MAX_RT); break;
    case 'I': rc = get_entry(f[2], f[3], stage->tti, sizeof(tti_t), MAX_TTI); break;
    default: return *why = "unknown pricing record", -1;
    }
    if (rc < 0)
        return *why = "bad pricing record", -1;
    return 0;
}

/* A saved state is a file that may have been damaged: every string of a restored entry ends in its
 * array. */
#define TERMINATE(s) ((s)[sizeof(s) - 1] = '\0')

int sep__prc_restore(sep_pricing_t *p, const sep_pricing_t *stage)
{
    int n = 0;

    for (int i = 0; i < MAX_TP; i++)
        if (p->tp[i].used)
            return 0; /* the server was heard from since start: what it said stands */
    for (int i = 0; i < MAX_TP; i++) {
        tp_t *t = &p->tp[i];
        if (!(*t = stage->tp[i]).used)
            continue;
        t->gen = UINT_MAX; /* not listed since: the next full read of its list decides */
        TERMINATE(t->key), TERMINATE(t->list), TERMINATE(t->mrid), TERMINATE(t->ctti), TERMINATE(t->rcl);
    }
    for (int i = 0; i < MAX_RC; i++) {
        rc_t *r = &p->rc[i];
        if (!(*r = stage->rc[i]).used)
            continue;
        r->gen = UINT_MAX;
        r->asked = 0; /* no read of it is under way */
        TERMINATE(r->href), TERMINATE(r->list), TERMINATE(r->rt), TERMINATE(r->ttil);
    }
    for (int i = 0; i < MAX_RT; i++)
        if ((p->rt[i] = stage->rt[i]).used)
            TERMINATE(p->rt[i].href);
    for (int i = 0; i < MAX_TTI; i++) {
        tti_t *x = &p->tti[i];
        if (!(*x = stage->tti[i]).used)
            continue;
        x->gen = UINT_MAX;
        if (x->tp < -1 || x->tp >= MAX_TP || (x->tp >= 0 && !p->tp[x->tp].used))
            x->tp = -1;
        TERMINATE(x->mrid), TERMINATE(x->list), TERMINATE(x->rc), TERMINATE(x->reply_to);
        n++;
    }
    return n;
}

/* ---- the price in force ------------------------------------------------------------------------------- */

/* Does interval A (of profile primacy PA) win over B (PB) for the same direction? */
static int wins(const tti_t *a, int pa, const tti_t *b, int pb)
{
    if (!b)
        return 1;
    if (pa != pb)
        return pa < pb;
    return a->start > b->start;
}

void sep__prc_price(const sep_pricing_t *p, int64_t snow, sep_price_t *out)
{
    const tti_t *imp = NULL, *exp = NULL;
    int imp_pri = 0, exp_pri = 0;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < MAX_TTI; i++) {
        const tti_t *x = &p->tti[i];
        const tp_t *tp;
        const rc_t *rc;
        const rt_t *rt;
        double v;
        int k;
        if (!x->used || !x->has_price || x->tp < 0 || cancelled(x->status) || x->status == 4)
            continue;
        if (snow < x->start || snow >= x->start + (int64_t)x->duration)
            continue;
        tp = &p->tp[x->tp];
        k = rc_index(p, x->rc);
        rc = k < 0 ? NULL : &p->rc[k];
        rt = rc && rc->read ? rt_find(p, rc->rt) : NULL;
        if (!tp->used || !rt || !rt->read)
            continue;
        /* currency per (uom x 10^pow10): per kWh is that x 10^(3 - pow10) */
        v = (double)x->price * pow(10.0, tp->pow10);
        if (rt->uom == UOM_DAY) {
            out->has_daily = 1;
            out->daily_charge += v * pow(10.0, -rt->pow10);
        } else if (rt->uom == UOM_WH) {
            v *= pow(10.0, 3 - rt->pow10);
            if (rt->flow == FLOW_REVERSE) {
                if (wins(x, tp->primacy, exp, exp_pri)) {
                    exp = x;
                    exp_pri = tp->primacy;
                    out->export_kwh = v;
                }
            } else if (wins(x, tp->primacy, imp, imp_pri)) {
                imp = x;
                imp_pri = tp->primacy;
                out->import_kwh = v;
                out->currency = tp->currency;
            }
        }
    }
    if (imp) {
        out->has_import = 1;
        sep__copy_str(out->import_id, sizeof(out->import_id), imp->mrid);
        out->import_end = imp->start + (int64_t)imp->duration;
    }
    if (exp) {
        out->has_export = 1;
        sep__copy_str(out->export_id, sizeof(out->export_id), exp->mrid);
        out->export_end = exp->start + (int64_t)exp->duration;
    }
}

void sep__prc_counts(const sep_pricing_t *p, unsigned long *intervals, unsigned long *rate_components)
{
    *intervals = *rate_components = 0;
    for (int i = 0; i < MAX_TTI; i++)
        *intervals += p->tti[i].used != 0;
    for (int i = 0; i < MAX_RC; i++) {
        const rt_t *rt = p->rc[i].used && p->rc[i].read ? rt_find(p, p->rc[i].rt) : NULL;
        *rate_components += rt && rt->read;
    }
}
