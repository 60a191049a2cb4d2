/* sched.c - the event scheduler (gridedge/sched.h): effective times, supersession, the timeline of
 * winning controls and the responses due.  Pure: no clock, no random source, no I/O.
 *
 * Layout: events live in an array with an id hash.  A change marks the set dirty; the next
 * evaluation "compiles" it:
 *   1. effective times (randomization drawn from (seed, id), cancellation);
 *   2. supersession within each program, by a sweep over events sorted by effective start;
 *   3. the timeline: the sorted start/end points cut time into intervals, and for each interval
 *      the winner of every mode (primacy, creationTime, id) is stored;
 *   4. response milestones sorted by time.
 * An evaluation is then a binary search in the intervals (O(log n)) plus a cursor over the
 * milestones that only moves past responses already sent. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/sched.h>

#define TIME_LIMIT (INT64_C(1) << 60) /* keeps start + duration + randomization from overflowing */
#define NO_TIME INT64_MAX
#define TOP_STRIDE 64 /* intervals per entry of the search's top level */

typedef struct sev {
    ge_sched_event_t ev;
    uint64_t idhash;   /* fnv1a of the id: the hash table's key and the draws' */
    int removed;
    int64_t es;        /* effective start */
    int64_t e_raw;     /* effective end after cancellation, before supersession */
    int64_t sup;       /* superseded at (NO_TIME: not) */
    int64_t end;       /* final effective end (<= es: never runs) */
    int64_t term_time; /* when the final response is due */
    int term_status;   /* GE_RESP_COMPLETED / CANCELLED / SUPERSEDED */
} sev_t;

typedef struct bpoint {
    int64_t t;
    uint32_t idx;
    int is_start;
} bpoint_t;

typedef struct interval {
    int64_t t; /* the interval runs from t to the next interval's t */
    uint32_t off, cnt;
} interval_t;

typedef struct entry {
    uint32_t idx;
    uint32_t modes;
} entry_t;

typedef struct milestone {
    int64_t t;
    uint32_t idx;
    int order; /* received 0, final 1, started 2: at one instant one event ends before the next starts */
    int status;
    const char *id;
} milestone_t;

typedef struct defctl {
    uint32_t program;
    uint8_t primacy;
    uint32_t modes;
    char id[GE_SCHED_ID_MAX];
    void *payload;
} defctl_t;

struct ge_sched {
    ge_mem_t mem;
    uint64_t seed;
    sev_t *ev;
    size_t n, cap, n_removed;
    struct hslot {
        uint32_t idx1; /* index + 1, 0 = empty */
        uint32_t h32;  /* low bits of the id's hash: most probes never touch the event */
    } *hash;           /* open addressing, linear probing */
    size_t hcap;
    defctl_t *defs;
    size_t ndefs, defcap;
    int dirty;
    /* compiled */
    interval_t *iv;
    size_t niv, ivcap;
    int64_t *ivt; /* the intervals' start times alone: the binary search touches few cache lines */
    size_t ivtcap;
    int64_t *top; /* every TOP_STRIDE-th of them: small enough to stay in cache */
    size_t ntop, topcap;
    entry_t *ent;
    size_t nent, entcap;
    milestone_t *ms;
    size_t nms, mscap;
    int def_win[32];
    size_t cursor;
    int64_t last_now;
    int has_last;
    /* scratch */
    bpoint_t *bp;
    size_t bpcap;
    struct pkey *keys;
    uint32_t *act;
    size_t keycap, actcap;
    int32_t *pos;
    size_t poscap;
    struct tact {
        uint32_t idx, modes;
        int64_t creation;
        uint8_t primacy;
    } *tact; /* the timeline's active set, with what picking a winner needs */
    size_t tactcap;
};

/* --- helpers ------------------------------------------------------------------------------------ */

static int grow(const ge_mem_t *mem, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return GE_ERR_NOMEM;
        nc *= 2;
    }
    void *q = mem->realloc(*p, nc * elem, mem->ud);
    if (!q)
        return GE_ERR_NOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

#define GROW(s, field, capfield, need) \
    grow(&(s)->mem, (void **)&(s)->field, &(s)->capfield, (need), sizeof(*(s)->field))

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* A draw in [0, bound] (or [bound, 0]) keyed by (seed, id, salt): the same after a restart.
 * IDHASH is fnv1a(id). */
static int64_t draw(uint64_t seed, uint64_t idhash, unsigned salt, int64_t bound)
{
    if (bound == 0)
        return 0;
    uint64_t h = mix64(seed ^ mix64(idhash + salt * 0x632be59bd9b4e019ULL));
    uint64_t span = (uint64_t)(bound < 0 ? -bound : bound) + 1;
    int64_t v = (int64_t)(h % span);
    return bound < 0 ? -v : v;
}

uint32_t ge_sched_resp_bit(int status)
{
    if (status >= 1 && status <= 28)
        return 1u << status;
    if (status >= 252 && status <= 254)
        return 1u << (status - 252 + 29);
    return 0;
}

static size_t id_len(const char *id)
{
    size_t n = 0;
    while (n < GE_SCHED_ID_MAX && id[n])
        n++;
    return n;
}

/* --- id hash ------------------------------------------------------------------------------------ */

/* The slot holding ID (whose fnv1a is H), or the empty slot where it would go. */
static size_t hash_slot(const ge_sched_t *s, const char *id, uint64_t h)
{
    size_t mask = s->hcap - 1, i = (size_t)mix64(h) & mask; /* fnv1a alone clusters similar ids */
    while (s->hash[i].idx1 && (s->hash[i].h32 != (uint32_t)h ||
                               strcmp(s->ev[s->hash[i].idx1 - 1].ev.id, id) != 0))
        i = (i + 1) & mask;
    return i;
}

/* A table for WANT entries; the old one stays until hash_fill() so a failure changes nothing. */
static struct hslot *hash_alloc(ge_sched_t *s, size_t want, size_t *cap_out)
{
    size_t cap = 16;
    while (cap < want * 2)
        cap *= 2;
    struct hslot *h = s->mem.malloc(cap * sizeof(*h), s->mem.ud);
    if (h)
        memset(h, 0, cap * sizeof(*h));
    *cap_out = cap;
    return h;
}

static void hash_fill(ge_sched_t *s, struct hslot *h, size_t cap)
{
    s->mem.free(s->hash, s->mem.ud);
    s->hash = h;
    s->hcap = cap;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = hash_slot(s, s->ev[k].ev.id, s->ev[k].idhash);
        s->hash[i].idx1 = (uint32_t)k + 1;
        s->hash[i].h32 = (uint32_t)s->ev[k].idhash;
    }
}

static int hash_rebuild(ge_sched_t *s, size_t want)
{
    size_t cap;
    struct hslot *h = hash_alloc(s, want, &cap);
    if (!h)
        return GE_ERR_NOMEM;
    hash_fill(s, h, cap);
    return 0;
}

static sev_t *find(const ge_sched_t *s, const char *id)
{
    if (!s->hcap)
        return NULL;
    uint32_t v = s->hash[hash_slot(s, id, fnv1a(id))].idx1;
    return v ? &s->ev[v - 1] : NULL;
}

/* --- life cycle --------------------------------------------------------------------------------- */

int ge_sched_new(ge_sched_t **out, const ge_mem_t *mem, uint64_t seed)
{
    if (!out)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!mem)
        mem = ge_mem_default();
    ge_sched_t *s = mem->malloc(sizeof(*s), mem->ud);
    if (!s)
        return GE_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->mem = *mem;
    s->seed = seed;
    s->dirty = 1;
    *out = s;
    return 0;
}

void ge_sched_free(ge_sched_t *s)
{
    if (!s)
        return;
    void *blocks[] = { s->ev, s->hash, s->defs, s->iv, s->ent, s->ms, s->bp, s->keys, s->act, s->pos, s->ivt, s->tact, s->top };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        s->mem.free(blocks[i], s->mem.ud);
    s->mem.free(s, s->mem.ud);
}

size_t ge_sched_count(const ge_sched_t *s)
{
    return s ? s->n - s->n_removed : 0;
}

/* --- changes ------------------------------------------------------------------------------------ */

static int same_schedule(const ge_sched_event_t *a, const ge_sched_event_t *b)
{
    return a->program == b->program && a->primacy == b->primacy &&
           a->creation_time == b->creation_time && a->start == b->start &&
           a->duration == b->duration && a->randomize_start == b->randomize_start &&
           a->randomize_duration == b->randomize_duration && a->status == b->status &&
           a->status_time == b->status_time && a->modes == b->modes && a->respond == b->respond;
}

int ge_sched_put(ge_sched_t *s, const ge_sched_event_t *ev)
{
    if (!s || !ev)
        return GE_ERR_INVALID;
    size_t len = id_len(ev->id);
    if (len == 0 || len >= GE_SCHED_ID_MAX || ev->status > GE_EVENT_SUPERSEDED)
        return GE_ERR_INVALID;
    if (ev->randomize_start < -3600 || ev->randomize_start > 3600 ||
        ev->randomize_duration < -3600 || ev->randomize_duration > 3600 ||
        ev->start <= -TIME_LIMIT || ev->start >= TIME_LIMIT || ev->status_time <= -TIME_LIMIT ||
        ev->status_time >= TIME_LIMIT)
        return GE_ERR_RANGE;
    sev_t *e = find(s, ev->id);
    if (e) {
        uint32_t sent = e->ev.sent | ev->sent;
        if (!e->removed && same_schedule(&e->ev, ev)) {
            e->ev.sent = sent;
            e->ev.payload = ev->payload;
            return 0;
        }
        if (e->removed) {
            e->removed = 0;
            s->n_removed--;
        }
        e->ev = *ev;
        e->ev.sent = sent;
        s->dirty = 1;
        return 0;
    }
    if ((s->n + 1) * 2 > s->hcap) {
        int rc = hash_rebuild(s, 2 * (s->n + 1)); /* double, so a put costs O(1) amortized */
        if (rc < 0)
            return rc;
    }
    int rc = GROW(s, ev, cap, s->n + 1);
    if (rc < 0)
        return rc;
    sev_t *ne = &s->ev[s->n];
    ne->ev = *ev;
    ne->idhash = fnv1a(ev->id);
    ne->removed = 0;
    size_t slot = hash_slot(s, ev->id, ne->idhash);
    s->hash[slot].idx1 = (uint32_t)s->n + 1;
    s->hash[slot].h32 = (uint32_t)ne->idhash;
    s->n++;
    s->dirty = 1;
    return 0;
}

int ge_sched_remove(ge_sched_t *s, const char *id)
{
    if (!s || !id)
        return GE_ERR_INVALID;
    sev_t *e = find(s, id);
    if (!e || e->removed)
        return GE_ERR_NOTFOUND;
    e->removed = 1;
    s->n_removed++;
    s->dirty = 1;
    return 0;
}

const ge_sched_event_t *ge_sched_get(const ge_sched_t *s, const char *id)
{
    if (!s || !id)
        return NULL;
    const sev_t *e = find(s, id);
    return e && !e->removed ? &e->ev : NULL;
}

int ge_sched_mark_sent(ge_sched_t *s, const char *id, int status)
{
    if (!s || !id || !ge_sched_resp_bit(status))
        return GE_ERR_INVALID;
    sev_t *e = find(s, id);
    if (!e || e->removed)
        return GE_ERR_NOTFOUND;
    e->ev.sent |= ge_sched_resp_bit(status);
    return 0;
}

int ge_sched_set_default(ge_sched_t *s, uint32_t program, uint8_t primacy, uint32_t modes,
                         const char *id, void *payload)
{
    if (!s || !id || id_len(id) >= GE_SCHED_ID_MAX)
        return GE_ERR_INVALID;
    size_t k;
    for (k = 0; k < s->ndefs && s->defs[k].program != program; k++)
        ;
    if (k == s->ndefs) {
        int rc = GROW(s, defs, defcap, s->ndefs + 1);
        if (rc < 0)
            return rc;
        s->ndefs++;
    }
    defctl_t *d = &s->defs[k];
    d->program = program;
    d->primacy = primacy;
    d->modes = modes;
    memcpy(d->id, id, id_len(id) + 1);
    d->payload = payload;
    s->dirty = 1;
    return 0;
}

int ge_sched_clear_default(ge_sched_t *s, uint32_t program)
{
    if (!s)
        return GE_ERR_INVALID;
    for (size_t k = 0; k < s->ndefs; k++)
        if (s->defs[k].program == program) {
            s->defs[k] = s->defs[--s->ndefs];
            s->dirty = 1;
            return 0;
        }
    return GE_ERR_NOTFOUND;
}

/* --- compile -------------------------------------------------------------------------------------- */

static void effective_times(const ge_sched_t *s, sev_t *e)
{
    const ge_sched_event_t *v = &e->ev;
    e->es = v->start + draw(s->seed, e->idhash, 0, v->randomize_start);
    int64_t dur = (int64_t)v->duration + draw(s->seed, e->idhash, 1, v->randomize_duration);
    int64_t ee = e->es + (dur > 0 ? dur : 0);
    e->e_raw = ee;
    e->term_status = GE_RESP_COMPLETED;
    e->term_time = ee;
    e->sup = NO_TIME;
    if ((v->status == GE_EVENT_CANCELLED || v->status == GE_EVENT_CANCELLED_RANDOM) &&
        v->status_time < ee) {
        e->term_status = GE_RESP_CANCELLED;
        if (v->status_time <= e->es) {
            /* cancelled before it began: it never runs */
            e->e_raw = e->es;
            e->term_time = v->status_time;
        } else {
            int64_t at = v->status_time;
            if (v->status == GE_EVENT_CANCELLED_RANDOM) {
                int64_t rs = v->randomize_start < 0 ? -(int64_t)v->randomize_start : v->randomize_start;
                int64_t rd = v->randomize_duration < 0 ? -(int64_t)v->randomize_duration
                                                       : v->randomize_duration;
                at += draw(s->seed, e->idhash, 2, rs > rd ? rs : rd);
            }
            e->e_raw = at < ee ? at : ee;
            e->term_time = e->e_raw;
        }
    }
    if (v->status == GE_EVENT_SUPERSEDED && v->status_time < e->e_raw)
        e->sup = v->status_time;
}

/* Sort keys kept beside the index, so the sort never touches the (large) events.  Ties in
 * (program, start) may go either way: the sweep below gives the same result in both orders. */
typedef struct pkey {
    int64_t es;
    uint32_t program;
    uint32_t idx;
} pkey_t;

/* LSD radix sorts (11-bit digits, only as many passes as the key range needs): the index build
 * sorts 2n points per change, and a comparison sort through qsort's function pointer was most of
 * its cost.  Both are stable, which the (program, start) sort relies on. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

#define SMALL_SORT 48 /* below this an insertion sort beats the counting passes */

static void radix_bpoints(bpoint_t *a, bpoint_t *tmp, size_t n)
{
    if (n < SMALL_SORT) {
        for (size_t i = 1; i < n; i++) {
            bpoint_t x = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1].t > x.t; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    int64_t lo = a[0].t, hi = a[0].t;
    for (size_t i = 1; i < n; i++) {
        lo = a[i].t < lo ? a[i].t : lo;
        hi = a[i].t > hi ? a[i].t : hi;
    }
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    bpoint_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += RADIX_BITS) {
        size_t count[RADIX_SIZE] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)src[i].t - (uint64_t)lo) >> shift) & (RADIX_SIZE - 1)]++;
        size_t sum = 0;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(((uint64_t)src[i].t - (uint64_t)lo) >> shift) & (RADIX_SIZE - 1)]++] = src[i];
        bpoint_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

/* By start, then (stably) by program: sorted by (program, start). */
static void radix_pkeys(pkey_t *a, pkey_t *tmp, size_t n)
{
    if (n < SMALL_SORT) {
        for (size_t i = 1; i < n; i++) {
            pkey_t x = a[i];
            size_t j = i;
            for (; j > 0 && (a[j - 1].program > x.program ||
                             (a[j - 1].program == x.program && a[j - 1].es > x.es)); j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    int64_t lo = a[0].es, hi = a[0].es;
    uint32_t plo = a[0].program, phi = a[0].program;
    for (size_t i = 1; i < n; i++) {
        lo = a[i].es < lo ? a[i].es : lo;
        hi = a[i].es > hi ? a[i].es : hi;
        plo = a[i].program < plo ? a[i].program : plo;
        phi = a[i].program > phi ? a[i].program : phi;
    }
    pkey_t *src = a, *dst = tmp;
    for (int field = 0; field < 2; field++) {
        uint64_t range = field == 0 ? (uint64_t)hi - (uint64_t)lo : (uint64_t)(phi - plo);
        for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += RADIX_BITS) {
            size_t count[RADIX_SIZE] = { 0 };
#define PKEY_DIGIT(k) ((field == 0 ? (uint64_t)(k).es - (uint64_t)lo : (uint64_t)((k).program - plo)) \
                       >> shift & (RADIX_SIZE - 1))
            for (size_t i = 0; i < n; i++)
                count[PKEY_DIGIT(src[i])]++;
            size_t sum = 0;
            for (size_t d = 0; d < RADIX_SIZE; d++) {
                size_t c = count[d];
                count[d] = sum;
                sum += c;
            }
            for (size_t i = 0; i < n; i++)
                dst[count[PKEY_DIGIT(src[i])]++] = src[i];
#undef PKEY_DIGIT
            pkey_t *x = src;
            src = dst;
            dst = x;
        }
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

/* 2030.5 supersession within a program: a newer overlapping event that sets every mode of an
 * older one supersedes it from the newer one's effective start. */
static int supersession(ge_sched_t *s)
{
    size_t m = 0;
    int rc = GROW(s, keys, keycap, 2 * s->n + 1);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < s->n; k++)
        if (s->ev[k].e_raw > s->ev[k].es)
            s->keys[m++] = (pkey_t){ s->ev[k].es, s->ev[k].ev.program, (uint32_t)k };
    radix_pkeys(s->keys, s->keys + m, m);
    rc = GROW(s, act, actcap, s->n + 1);
    if (rc < 0)
        return rc;
    size_t na = 0;
    for (size_t i = 0; i < m; i++) {
        sev_t *x = &s->ev[s->keys[i].idx];
        if (i > 0 && s->keys[i - 1].program != s->keys[i].program)
            na = 0;
        size_t keep = 0;
        for (size_t j = 0; j < na; j++) {
            sev_t *a = &s->ev[s->act[j]];
            if (a->e_raw <= x->es)
                continue; /* over before x starts */
            s->act[keep++] = s->act[j];
            if (x->ev.creation_time > a->ev.creation_time && !(a->ev.modes & ~x->ev.modes)) {
                if (x->es < a->sup)
                    a->sup = x->es;
            } else if (a->ev.creation_time > x->ev.creation_time && !(x->ev.modes & ~a->ev.modes)) {
                if (a->es < x->sup)
                    x->sup = a->es;
            }
        }
        na = keep;
        s->act[na++] = s->keys[i].idx;
    }
    for (size_t k = 0; k < s->n; k++) {
        sev_t *e = &s->ev[k];
        e->end = e->e_raw;
        if (e->sup < e->e_raw) {
            e->end = e->sup > e->es ? e->sup : e->es;
            e->term_status = GE_RESP_SUPERSEDED;
            e->term_time = e->sup;
        }
    }
    return 0;
}


static int timeline(ge_sched_t *s)
{
    size_t np = 0;
    int rc = GROW(s, bp, bpcap, 4 * s->n + 1);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < s->n; k++) {
        if (s->ev[k].end <= s->ev[k].es)
            continue;
        s->bp[np++] = (bpoint_t){ s->ev[k].es, (uint32_t)k, 1 };
        s->bp[np++] = (bpoint_t){ s->ev[k].end, (uint32_t)k, 0 };
    }
    radix_bpoints(s->bp, s->bp + np, np);
    if ((rc = GROW(s, pos, poscap, s->n + 1)) < 0 || (rc = GROW(s, tact, tactcap, s->n + 1)) < 0 ||
        (rc = GROW(s, iv, ivcap, np + 1)) < 0)
        return rc;
    s->niv = s->nent = 0;
    s->iv[s->niv++] = (interval_t){ INT64_MIN, 0, 0 };
    size_t na = 0, i = 0;
    while (i < np) {
        int64_t t = s->bp[i].t;
        for (; i < np && s->bp[i].t == t; i++) {
            uint32_t k = s->bp[i].idx;
            if (s->bp[i].is_start) {
                const sev_t *e = &s->ev[k];
                s->pos[k] = (int32_t)na;
                s->tact[na++] = (struct tact){ k, e->ev.modes, e->ev.creation_time, e->ev.primacy };
            } else {
                struct tact last = s->tact[--na];
                s->tact[s->pos[k]] = last;
                s->pos[last.idx] = s->pos[k];
            }
        }
        int32_t best[32];
        for (int b = 0; b < 32; b++)
            best[b] = -1;
        for (size_t j = 0; j < na; j++) {
            const struct tact *a = &s->tact[j];
            for (uint32_t m = a->modes; m; m &= m - 1) {
                int b = __builtin_ctz(m);
                if (best[b] < 0) {
                    best[b] = (int32_t)j;
                    continue;
                }
                const struct tact *w = &s->tact[best[b]];
                /* the mode goes to the lower primacy, then the newer, then the smaller id */
                if (a->primacy < w->primacy ||
                    (a->primacy == w->primacy &&
                     (a->creation > w->creation ||
                      (a->creation == w->creation &&
                       strcmp(s->ev[a->idx].ev.id, s->ev[w->idx].ev.id) < 0))))
                    best[b] = (int32_t)j;
            }
        }
        for (int b = 0; b < 32; b++)
            if (best[b] >= 0)
                best[b] = (int32_t)s->tact[best[b]].idx;
        uint32_t off = (uint32_t)s->nent, cnt = 0;
        for (int b = 0; b < 32; b++) {
            if (best[b] < 0)
                continue;
            uint32_t c;
            for (c = 0; c < cnt && s->ent[off + c].idx != (uint32_t)best[b]; c++)
                ;
            if (c == cnt) {
                if ((rc = GROW(s, ent, entcap, s->nent + 1)) < 0)
                    return rc;
                s->ent[s->nent++] = (entry_t){ (uint32_t)best[b], 0 };
                cnt++;
            }
            s->ent[off + c].modes |= 1u << b;
        }
        s->iv[s->niv++] = (interval_t){ t, off, cnt };
    }
    if ((rc = GROW(s, ivt, ivtcap, s->niv)) < 0)
        return rc;
    for (size_t k = 0; k < s->niv; k++)
        s->ivt[k] = s->iv[k].t;
    s->ntop = (s->niv + TOP_STRIDE - 1) / TOP_STRIDE;
    if ((rc = GROW(s, top, topcap, s->ntop)) < 0)
        return rc;
    for (size_t k = 0; k < s->ntop; k++)
        s->top[k] = s->ivt[k * TOP_STRIDE];
    return 0;
}

static int cmp_milestone(const void *pa, const void *pb)
{
    const milestone_t *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->order != b->order)
        return a->order - b->order;
    return strcmp(a->id, b->id);
}

static int milestones(ge_sched_t *s)
{
    int rc = GROW(s, ms, mscap, 3 * s->n + 1);
    if (rc < 0)
        return rc;
    s->nms = 0;
    for (size_t k = 0; k < s->n; k++) {
        const sev_t *e = &s->ev[k];
        if (!e->ev.respond)
            continue;
        s->ms[s->nms++] = (milestone_t){ INT64_MIN, (uint32_t)k, 0, GE_RESP_RECEIVED, e->ev.id };
        if (e->end > e->es)
            s->ms[s->nms++] = (milestone_t){ e->es, (uint32_t)k, 2, GE_RESP_STARTED, e->ev.id };
        s->ms[s->nms++] = (milestone_t){ e->term_time, (uint32_t)k, 1, e->term_status, e->ev.id };
    }
    qsort(s->ms, s->nms, sizeof(*s->ms), cmp_milestone);
    return 0;
}

static int compile(ge_sched_t *s)
{
    if (s->n_removed) {
        size_t cap;
        struct hslot *h = hash_alloc(s, 2 * (s->n - s->n_removed) + 1, &cap);
        if (!h)
            return GE_ERR_NOMEM;
        size_t w = 0;
        for (size_t k = 0; k < s->n; k++)
            if (!s->ev[k].removed)
                s->ev[w++] = s->ev[k];
        s->n = w;
        s->n_removed = 0;
        hash_fill(s, h, cap);
    }
    for (size_t k = 0; k < s->n; k++)
        effective_times(s, &s->ev[k]);
    int rc;
    if ((rc = supersession(s)) < 0 || (rc = timeline(s)) < 0 || (rc = milestones(s)) < 0)
        return rc;
    for (int b = 0; b < 32; b++) {
        s->def_win[b] = -1;
        for (size_t k = 0; k < s->ndefs; k++) {
            const defctl_t *d = &s->defs[k];
            if (!(d->modes & (1u << b)))
                continue;
            int w = s->def_win[b];
            if (w < 0 || d->primacy < s->defs[w].primacy ||
                (d->primacy == s->defs[w].primacy && d->program < s->defs[w].program))
                s->def_win[b] = (int)k;
        }
    }
    s->cursor = 0;
    s->has_last = 0;
    s->dirty = 0;
    return 0;
}

/* --- evaluation ----------------------------------------------------------------------------------- */

int ge_sched_effective(ge_sched_t *s, const char *id, int64_t *start, int64_t *end, int *final_status)
{
    if (!s || !id)
        return GE_ERR_INVALID;
    if (s->dirty) {
        int rc = compile(s);
        if (rc < 0)
            return rc;
    }
    const sev_t *e = find(s, id);
    if (!e || e->removed)
        return GE_ERR_NOTFOUND;
    if (start)
        *start = e->es;
    if (end)
        *end = e->end;
    if (final_status)
        *final_status = e->term_status;
    return 0;
}

int ge_sched_eval(ge_sched_t *s, int64_t now, ge_sched_result_t *res)
{
    if (!s || !res || (res->responses_cap && !res->responses))
        return GE_ERR_INVALID;
    res->n_active = 0;
    res->modes = 0;
    res->n_responses = 0;
    res->more_responses = 0;
    res->next_change = INT64_MAX;
    if (s->dirty) {
        int rc = compile(s);
        if (rc < 0)
            return rc;
    }

    /* the interval holding now: the last one starting at or before now.  Two levels: the top
     * array picks a block of TOP_STRIDE intervals, the block is searched in ivt */
    size_t lo = 0, hi = s->ntop;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->top[mid] <= now)
            lo = mid;
        else
            hi = mid;
    }
    lo *= TOP_STRIDE;
    hi = lo + TOP_STRIDE < s->niv ? lo + TOP_STRIDE : s->niv;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ivt[mid] <= now)
            lo = mid;
        else
            hi = mid;
    }
    const interval_t *iv = &s->iv[lo];
    if (lo + 1 < s->niv)
        res->next_change = s->iv[lo + 1].t;
    for (uint32_t c = 0; c < iv->cnt; c++) {
        const entry_t *en = &s->ent[iv->off + c];
        const sev_t *e = &s->ev[en->idx];
        ge_sched_active_t *a = &res->active[res->n_active++];
        *a = (ge_sched_active_t){ e->ev.id, e->ev.payload, e->ev.program, e->ev.primacy,
                                  en->modes, 0, e->es, e->end };
        res->modes |= en->modes;
    }
    /* modes no event sets: the default controls */
    for (int b = 0; b < 32; b++) {
        if ((res->modes & (1u << b)) || s->def_win[b] < 0)
            continue;
        const defctl_t *d = &s->defs[s->def_win[b]];
        size_t j;
        for (j = 0; j < res->n_active; j++)
            if (res->active[j].is_default && res->active[j].program == d->program)
                break;
        if (j == res->n_active) {
            if (res->n_active == GE_SCHED_MAX_ACTIVE)
                return GE_ERR_INTERNAL; /* cannot happen: each entry holds a distinct bit */
            res->active[res->n_active++] = (ge_sched_active_t){
                d->id, d->payload, d->program, d->primacy, 0, 1, INT64_MIN, INT64_MAX };
        }
        res->active[j].modes |= 1u << b;
    }
    for (size_t j = 0; j < res->n_active; j++)
        res->modes |= res->active[j].modes;

    /* responses: milestones up to now that were not sent */
    if (s->has_last && now < s->last_now)
        s->cursor = 0;
    s->last_now = now;
    s->has_last = 1;
    lo = s->cursor;
    hi = s->nms;
    while (lo < hi) { /* first milestone after now */
        size_t mid = lo + (hi - lo) / 2;
        if (s->ms[mid].t <= now)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t stop = lo;
    if (stop < s->nms && s->ms[stop].t < res->next_change)
        res->next_change = s->ms[stop].t;
    int contiguous = 1;
    for (size_t k = s->cursor; k < stop; k++) {
        const milestone_t *m = &s->ms[k];
        const sev_t *e = &s->ev[m->idx];
        int resolved = (e->ev.sent & ge_sched_resp_bit(m->status)) != 0;
        /* an event that ended unseen is not reported as started, only completed */
        if (!resolved && m->status == GE_RESP_STARTED && now >= e->end)
            resolved = 1;
        if (resolved) {
            if (contiguous)
                s->cursor = k + 1;
            continue;
        }
        contiguous = 0;
        if (res->n_responses == res->responses_cap) {
            res->more_responses = 1;
            break;
        }
        res->responses[res->n_responses++] =
            (ge_sched_response_t){ e->ev.id, e->ev.payload, m->status, m->t };
    }
    return 0;
}
