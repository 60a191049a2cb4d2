/* sched.c - the event scheduler (gridedge/sched.h): effective times, supersession, the winning
 * controls and the responses due.  Pure: no clock, no random source, no I/O.
 *
 * The indexes are updated in place, so a change costs O(log n) plus the events of its program
 * that it overlaps:
 *   - events live in 1,024-event chunks (a pool with a free list: no allocation per event, stable
 *     addresses), found by id through an open-addressing hash table;
 *   - treaps with intrusive nodes, all inside the event:
 *       timeline:  events that run (end > start), keyed by effective start, each node holding the
 *                  latest end in its subtree: the events in force at `now` are a stabbing query;
 *       programs:  one tree per program, of the events whose interval is not empty before
 *                  supersession, holding the latest raw end: the program's events that overlap
 *                  one, which supersession needs, are a range query;
 *       milestones: the responses not yet sent, keyed by (due, order, id), walked from a cursor.
 * Supersession is pairwise (it depends on the events' intervals before supersession, never on
 * whether the superseder is itself superseded), so a change only revisits the events it overlaps.
 * A put only records the event; the next evaluation links what changed one by one, or rebuilds
 * every tree from radix-sorted arrays when much changed (a first fill).  The last pick is kept
 * until the next change point or a change within its window.  The treaps' priorities come from a
 * counter through a mixer, so a schedule is the same on every run. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/sched.h>

#define TIME_LIMIT (INT64_C(1) << 60) /* keeps start + duration + randomization from overflowing */
#define NO_TIME INT64_MAX
#define CHUNK_SHIFT 6                 /* events per pool chunk: 64 (about 30 KB; a few events cost little) */
#define CHUNK (1u << CHUNK_SHIFT)

/* An intrusive treap node; its owner is found with container_of. */
typedef struct tnode {
    struct tnode *l, *r;
    uint32_t prio;
} tnode_t;

#define OWNER(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

enum { MS_RECEIVED, MS_FINAL, MS_STARTED, MS_KINDS }; /* the order at one instant: received, final, started */

typedef struct sev sev_t;

/* A node of an interval tree, keyed by (lo, slot), knowing the latest hi in its subtree.  It holds
 * copies of its event's times, set when it is linked (they do not change while it is). */
typedef struct inode {
    tnode_t n;
    int64_t lo, hi, max;
    uint32_t slot;
} inode_t;

typedef struct msnode {
    tnode_t n;
    int64_t t;
    sev_t *owner;
    uint8_t order;  /* MS_*: at one instant one event ends before the next starts */
    uint8_t linked; /* in the milestone tree */
    uint16_t status;
} msnode_t;

struct sev {
    /* hot: what the timeline query and picking a winner read */
    inode_t tn;        /* timeline: (es, end) */
    int64_t es;        /* effective start */
    int64_t end;       /* final effective end (<= es: never runs) */
    uint32_t modes;
    uint8_t primacy;
    uint8_t in_time, in_prog;
    int64_t creation;
    /* supersession */
    inode_t pn;        /* its program's tree: (es, e_raw) */
    int64_t e_raw;     /* effective end after cancellation, before supersession */
    int64_t ssup;      /* a server-marked Superseded status ends it here (NO_TIME: not) */
    int64_t psup;      /* a newer covering event of the program starts here (NO_TIME: none) */
    uint32_t program;
    uint32_t slot;     /* pool index: the last key of every tree, so keys are unique */
    int64_t term0_time; /* completed or cancelled, before supersession */
    int term0_status;
    int64_t term_time; /* when the final response is due */
    int term_status;   /* GE_RESP_COMPLETED / CANCELLED / SUPERSEDED */
    msnode_t ms[MS_KINDS];
    uint64_t idhash;   /* fnv1a of the id: the hash table's key and the draws' */
    struct sev *pprev, *pnext; /* the list of events changed since the last evaluation */
    uint8_t pending;   /* on that list, in no tree */
    uint8_t live;      /* holds an event (not on the pool's free list) */
    ge_sched_event_t ev;
};

/* A sort key of the bulk build. */
typedef struct bkey {
    int64_t es;
    uint32_t program;
    sev_t *e;
} bkey_t;

typedef struct defctl {
    uint32_t program;
    uint8_t primacy;
    uint32_t modes;
    char id[GE_SCHED_ID_MAX];
    void *payload;
} defctl_t;

struct hslot {
    sev_t *e;     /* NULL: empty */
    uint32_t h32; /* low bits of the id's hash: most probes never touch the event */
};

struct ge_sched {
    ge_mem_t mem;
    uint64_t seed;
    /* the pool */
    sev_t **chunks;
    size_t nchunks, chunkcap;
    size_t used;     /* slots handed out from the chunks so far */
    sev_t *freelist; /* released slots, linked through tn.n.l */
    size_t n;        /* live events */
    /* the id index */
    struct hslot *hash;
    size_t hcap;
    /* the trees */
    tnode_t *time_root, *ms_root;
    struct proot {
        tnode_t *root;
        uint32_t program;
        int used;
    } *proots;       /* one program tree per program, by open addressing */
    size_t prcap, nprog;
    uint32_t prio_counter;
    uint64_t visits;  /* tree nodes visited: the work done, whatever the machine */
    msnode_t *cursor; /* every milestone before it is resolved (NULL: all are) */
    sev_t *pending;   /* events put since the last evaluation, not yet in the trees */
    size_t npending;
    /* scratch of the bulk build */
    bkey_t *keys;
    size_t keycap;
    tnode_t **nodes, **stack;
    size_t nodecap, stackcap;
    int64_t last_now;
    int has_last;
    /* default controls */
    defctl_t *defs;
    size_t ndefs, defcap;
    int def_win[32];
    int defs_dirty;
    /* the last pick, good until the next change point or the next change (lazy re-evaluation) */
    struct pick_cache {
        ge_sched_active_t active[GE_SCHED_MAX_ACTIVE];
        size_t n;
        uint32_t modes;
        int64_t from, until;
        int ok;
    } pick;
};

/* --- helpers ------------------------------------------------------------------------------------ */

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

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* --- treaps ------------------------------------------------------------------------------------- */

typedef struct tree_ops {
    int (*less)(const tnode_t *a, const tnode_t *b); /* keys are unique */
    void (*fix)(tnode_t *n);                          /* recompute the subtree summary */
    void (*absorb)(tnode_t *n, const tnode_t *added); /* the summary after ADDED joined the subtree */
} tree_ops_t;

static tnode_t *t_merge(ge_sched_t *s, tnode_t *a, tnode_t *b, const tree_ops_t *op)
{
    if (!a)
        return b;
    if (!b)
        return a;
    s->visits++;
    if (a->prio > b->prio) {
        a->r = t_merge(s, a->r, b, op);
        op->fix(a);
        return a;
    }
    b->l = t_merge(s, a, b->l, op);
    op->fix(b);
    return b;
}

/* Split T into the keys below KEY and the keys above it. */
static void t_split(ge_sched_t *s, tnode_t *t, const tnode_t *key, tnode_t **lo, tnode_t **hi,
                    const tree_ops_t *op)
{
    if (!t) {
        *lo = *hi = NULL;
        return;
    }
    s->visits++;
    if (op->less(t, key)) {
        t_split(s, t->r, key, &t->r, hi, op);
        *lo = t;
    } else {
        t_split(s, t->l, key, lo, &t->l, op);
        *hi = t;
    }
    op->fix(t);
}

static tnode_t *t_insert(ge_sched_t *s, tnode_t *root, tnode_t *n, const tree_ops_t *op)
{
    if (!root || n->prio > root->prio) {
        t_split(s, root, n, &n->l, &n->r, op);
        op->fix(n);
        return n;
    }
    s->visits++;
    if (op->less(n, root))
        root->l = t_insert(s, root->l, n, op);
    else
        root->r = t_insert(s, root->r, n, op);
    op->absorb(root, n); /* no need to look at the other child */
    return root;
}

/* N must be in the tree. */
static tnode_t *t_erase(ge_sched_t *s, tnode_t *root, tnode_t *n, const tree_ops_t *op)
{
    s->visits++;
    if (root == n)
        return t_merge(s, n->l, n->r, op);
    if (op->less(n, root))
        root->l = t_erase(s, root->l, n, op);
    else
        root->r = t_erase(s, root->r, n, op);
    op->fix(root);
    return root;
}

static uint32_t next_prio(ge_sched_t *s)
{
    return (uint32_t)mix64(s->seed ^ ++s->prio_counter);
}

/* the timeline and the program trees */
static int inode_less(const tnode_t *pa, const tnode_t *pb)
{
    const inode_t *a = OWNER(pa, inode_t, n), *b = OWNER(pb, inode_t, n);
    return a->lo < b->lo || (a->lo == b->lo && a->slot < b->slot);
}

static void inode_fix(tnode_t *pn)
{
    inode_t *e = OWNER(pn, inode_t, n);
    int64_t m = e->hi;
    if (pn->l)
        m = max64(m, OWNER(pn->l, inode_t, n)->max);
    if (pn->r)
        m = max64(m, OWNER(pn->r, inode_t, n)->max);
    e->max = m;
}

static void inode_absorb(tnode_t *pn, const tnode_t *added)
{
    inode_t *e = OWNER(pn, inode_t, n);
    e->max = max64(e->max, OWNER(added, inode_t, n)->max);
}

static const tree_ops_t interval_ops = { inode_less, inode_fix, inode_absorb };

/* Set up N for linking, with the interval [LO, HI). */
static tnode_t *inode_set(ge_sched_t *s, inode_t *n, int64_t lo, int64_t hi, uint32_t slot)
{
    n->lo = lo;
    n->hi = hi;
    n->slot = slot;
    n->n.prio = next_prio(s);
    return &n->n;
}

/* milestones: key (t, order, id) */
static int ms_cmp(const msnode_t *a, const msnode_t *b)
{
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return strcmp(a->owner->ev.id, b->owner->ev.id);
}

static int ms_less(const tnode_t *a, const tnode_t *b)
{
    return ms_cmp(OWNER(a, msnode_t, n), OWNER(b, msnode_t, n)) < 0;
}

static void no_fix(tnode_t *n)
{
    (void)n;
}

static void no_absorb(tnode_t *n, const tnode_t *added)
{
    (void)n;
    (void)added;
}

static const tree_ops_t ms_ops = { ms_less, no_fix, no_absorb };

static msnode_t *ms_first(const ge_sched_t *s)
{
    tnode_t *n = s->ms_root;
    while (n && n->l)
        n = n->l;
    return n ? OWNER(n, msnode_t, n) : NULL;
}

/* The milestone after M (which need not be in the tree), or NULL. */
static msnode_t *ms_next(ge_sched_t *s, const msnode_t *m)
{
    msnode_t *best = NULL;
    for (tnode_t *n = s->ms_root; n;) {
        msnode_t *x = OWNER(n, msnode_t, n);
        s->visits++;
        if (ms_cmp(m, x) < 0) {
            best = x;
            n = n->l;
        } else {
            n = n->r;
        }
    }
    return best;
}

/* When the first unsent response after NOW falls due (NO_TIME: none). */
static int64_t ms_due_after(ge_sched_t *s, int64_t now)
{
    int64_t t = NO_TIME;
    for (const tnode_t *n = s->ms_root; n;) {
        const msnode_t *x = OWNER(n, msnode_t, n);
        s->visits++;
        if (x->t > now) {
            t = x->t;
            n = n->l;
        } else {
            n = n->r;
        }
    }
    return t;
}

/* --- program trees -------------------------------------------------------------------------------- */

static size_t prog_slot(const ge_sched_t *s, uint32_t program)
{
    size_t mask = s->prcap - 1, i = (size_t)mix64(program) & mask;
    while (s->proots[i].used && s->proots[i].program != program)
        i = (i + 1) & mask;
    return i;
}

/* The root of PROGRAM's tree; prog_reserve() entered it. */
static tnode_t **prog_root(ge_sched_t *s, uint32_t program)
{
    struct proot *r = &s->proots[prog_slot(s, program)];
    if (!r->used) {
        r->used = 1;
        r->program = program;
        r->root = NULL;
        s->nprog++;
    }
    return &r->root;
}

/* PROGRAM in the table of program trees (kept at most half full).  A failure changes nothing. */
static int prog_reserve(ge_sched_t *s, uint32_t program)
{
    if (s->prcap && s->proots[prog_slot(s, program)].used)
        return 0;
    if ((s->nprog + 1) * 2 <= s->prcap) {
        prog_root(s, program);
        return 0;
    }
    size_t cap = s->prcap ? s->prcap * 2 : 16;
    struct proot *t = s->mem.malloc(cap * sizeof(*t), s->mem.ud);
    if (!t)
        return GE_ERR_NOMEM;
    memset(t, 0, cap * sizeof(*t));
    struct proot *old = s->proots;
    size_t oldcap = s->prcap;
    s->proots = t;
    s->prcap = cap;
    for (size_t k = 0; k < oldcap; k++)
        if (old[k].used)
            s->proots[prog_slot(s, old[k].program)] = old[k];
    s->mem.free(old, s->mem.ud);
    prog_root(s, program);
    return 0;
}

/* --- id hash and pool ----------------------------------------------------------------------------- */

static size_t hash_home(const ge_sched_t *s, uint64_t h)
{
    return (size_t)mix64(h) & (s->hcap - 1); /* fnv1a alone clusters similar ids */
}

static size_t hash_slot(const ge_sched_t *s, const char *id, uint64_t h)
{
    size_t mask = s->hcap - 1, i = hash_home(s, h);
    while (s->hash[i].e && (s->hash[i].h32 != (uint32_t)h || strcmp(s->hash[i].e->ev.id, id) != 0))
        i = (i + 1) & mask;
    return i;
}

/* The event with ID, whose fnv1a is H. */
static sev_t *find_h(const ge_sched_t *s, const char *id, uint64_t h)
{
    if (!s->hcap)
        return NULL;
    return s->hash[hash_slot(s, id, h)].e;
}

static sev_t *find(const ge_sched_t *s, const char *id)
{
    return find_h(s, id, fnv1a(id));
}

/* Room for one more id, kept at most half full.  A failure changes nothing. */
static int hash_reserve(ge_sched_t *s)
{
    if ((s->n + 1) * 2 <= s->hcap)
        return 0;
    size_t cap = s->hcap ? s->hcap * 2 : 64;
    struct hslot *h = s->mem.malloc(cap * sizeof(*h), s->mem.ud);
    if (!h)
        return GE_ERR_NOMEM;
    memset(h, 0, cap * sizeof(*h));
    struct hslot *old = s->hash;
    size_t oldcap = s->hcap;
    s->hash = h;
    s->hcap = cap;
    for (size_t k = 0; k < oldcap; k++)
        if (old[k].e)
            s->hash[hash_slot(s, old[k].e->ev.id, old[k].e->idhash)] = old[k];
    s->mem.free(old, s->mem.ud);
    return 0;
}

/* Linear probing's deletion: shift later members of the cluster back into the hole. */
static void hash_delete(ge_sched_t *s, const sev_t *e)
{
    size_t mask = s->hcap - 1, i = hash_slot(s, e->ev.id, e->idhash);
    s->hash[i].e = NULL;
    for (size_t j = (i + 1) & mask; s->hash[j].e; j = (j + 1) & mask) {
        size_t home = hash_home(s, s->hash[j].e->idhash);
        /* J may move to the hole I unless its home lies cyclically in (I, J] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->hash[i] = s->hash[j];
            s->hash[j].e = NULL;
            i = j;
        }
    }
}

/* A free event slot, taken out of the pool only by pool_take(). */
static int pool_reserve(ge_sched_t *s)
{
    if (s->freelist || s->used < s->nchunks * CHUNK)
        return 0;
    if (s->nchunks == s->chunkcap) {
        size_t nc = s->chunkcap ? s->chunkcap * 2 : 8;
        sev_t **c = s->mem.realloc(s->chunks, nc * sizeof(*c), s->mem.ud);
        if (!c)
            return GE_ERR_NOMEM;
        s->chunks = c;
        s->chunkcap = nc;
    }
    sev_t *chunk = s->mem.malloc(CHUNK * sizeof(*chunk), s->mem.ud);
    if (!chunk)
        return GE_ERR_NOMEM;
    s->chunks[s->nchunks++] = chunk;
    return 0;
}

static sev_t *pool_take(ge_sched_t *s)
{
    sev_t *e;
    uint32_t slot;
    if (s->freelist) {
        e = s->freelist;
        s->freelist = e->tn.n.l ? OWNER(e->tn.n.l, sev_t, tn.n) : NULL;
        slot = e->slot;
    } else {
        slot = (uint32_t)s->used++;
        e = &s->chunks[slot >> CHUNK_SHIFT][slot & (CHUNK - 1)];
    }
    memset(e, 0, sizeof(*e));
    e->slot = slot;
    return e;
}

static void pool_release(ge_sched_t *s, sev_t *e)
{
    e->live = 0;
    e->tn.n.l = s->freelist ? &s->freelist->tn.n : NULL;
    s->freelist = e;
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
    s->defs_dirty = 1;
    *out = s;
    return 0;
}

void ge_sched_free(ge_sched_t *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->nchunks; k++)
        s->mem.free(s->chunks[k], s->mem.ud);
    s->mem.free(s->chunks, s->mem.ud);
    s->mem.free(s->hash, s->mem.ud);
    s->mem.free(s->proots, s->mem.ud);
    s->mem.free(s->defs, s->mem.ud);
    s->mem.free(s->keys, s->mem.ud);
    s->mem.free(s->nodes, s->mem.ud);
    s->mem.free(s->stack, s->mem.ud);
    s->mem.free(s, s->mem.ud);
}

size_t ge_sched_count(const ge_sched_t *s)
{
    return s ? s->n : 0;
}

/* --- one event's times ------------------------------------------------------------------------------ */

/* Randomization and cancellation: everything about the event that does not depend on others. */
static void effective_times(const ge_sched_t *s, sev_t *e)
{
    const ge_sched_event_t *v = &e->ev;
    e->es = v->start + draw(s->seed, e->idhash, 0, v->randomize_start);
    int64_t dur = (int64_t)v->duration + draw(s->seed, e->idhash, 1, v->randomize_duration);
    int64_t ee = e->es + (dur > 0 ? dur : 0);
    e->e_raw = ee;
    e->term0_status = GE_RESP_COMPLETED;
    e->term0_time = ee;
    e->ssup = NO_TIME;
    e->psup = NO_TIME;
    if ((v->status == GE_EVENT_CANCELLED || v->status == GE_EVENT_CANCELLED_RANDOM) &&
        v->status_time < ee) {
        e->term0_status = GE_RESP_CANCELLED;
        if (v->status_time <= e->es) {
            /* cancelled before it began: it never runs */
            e->e_raw = e->es;
            e->term0_time = v->status_time;
        } else {
            int64_t at = v->status_time;
            if (v->status == GE_EVENT_CANCELLED_RANDOM) {
                int64_t rs = v->randomize_start < 0 ? -(int64_t)v->randomize_start : v->randomize_start;
                int64_t rd = v->randomize_duration < 0 ? -(int64_t)v->randomize_duration
                                                       : v->randomize_duration;
                at += draw(s->seed, e->idhash, 2, rs > rd ? rs : rd);
            }
            e->e_raw = at < ee ? at : ee;
            e->term0_time = e->e_raw;
        }
    }
    if (v->status == GE_EVENT_SUPERSEDED && v->status_time < e->e_raw)
        e->ssup = v->status_time;
    e->modes = v->modes;
    e->primacy = v->primacy;
    e->creation = v->creation_time;
    e->program = v->program;
}

/* The final end and response from the supersession times. */
static void derive_end(sev_t *e)
{
    int64_t sup = e->ssup < e->psup ? e->ssup : e->psup;
    e->end = e->e_raw;
    e->term_status = e->term0_status;
    e->term_time = e->term0_time;
    if (sup < e->e_raw) {
        e->end = sup > e->es ? sup : e->es;
        e->term_status = GE_RESP_SUPERSEDED;
        e->term_time = sup;
    }
}

/* --- milestones -------------------------------------------------------------------------------------- */

static void ms_unlink(ge_sched_t *s, msnode_t *m)
{
    if (!m->linked)
        return;
    if (s->cursor == m)
        s->cursor = ms_next(s, m);
    s->ms_root = t_erase(s, s->ms_root, &m->n, &ms_ops);
    m->linked = 0;
}

/* M may have become unresolved (it is new, or its event's end moved): the cursor must not be
 * past it. */
static void ms_touch(ge_sched_t *s, msnode_t *m)
{
    if (m->linked && (!s->cursor || ms_cmp(m, s->cursor) < 0))
        s->cursor = m;
}

static void ms_link(ge_sched_t *s, msnode_t *m)
{
    m->n.prio = next_prio(s);
    s->ms_root = t_insert(s, s->ms_root, &m->n, &ms_ops);
    m->linked = 1;
    ms_touch(s, m);
}

/* Whether E's milestone K belongs in the tree (an unsent response of an event that wants them)
 * and its time and status. */
static int ms_wanted(const sev_t *e, int k, int64_t *t, int *status)
{
    switch (k) {
    case MS_RECEIVED:
        *t = INT64_MIN;
        *status = GE_RESP_RECEIVED;
        break;
    case MS_FINAL:
        *t = e->term_time;
        *status = e->term_status;
        break;
    default:
        *t = e->es;
        *status = GE_RESP_STARTED;
        if (e->end <= e->es)
            return 0; /* it never runs */
        break;
    }
    return e->ev.respond && !(e->ev.sent & ge_sched_resp_bit(*status));
}

static void ms_set(sev_t *e, int k, int64_t t, int status)
{
    msnode_t *m = &e->ms[k];
    m->t = t;
    m->status = (uint16_t)status;
    m->order = (uint8_t)k;
    m->owner = e;
}

/* Put E's milestones in the tree as its times and sent bits say. */
static void ms_sync(ge_sched_t *s, sev_t *e)
{
    for (int k = 0; k < MS_KINDS; k++) {
        msnode_t *m = &e->ms[k];
        int64_t t;
        int status;
        int in = ms_wanted(e, k, &t, &status);
        if (m->linked && in && m->t == t && m->status == status)
            continue;
        ms_unlink(s, m);
        if (!in)
            continue;
        ms_set(e, k, t, status);
        ms_link(s, m);
    }
}

/* For the bulk build: E's wanted milestones, set up and marked linked, into OUT; how many. */
static size_t ms_want(sev_t *e, tnode_t **out)
{
    size_t n = 0;
    for (int k = 0; k < MS_KINDS; k++) {
        int64_t t;
        int status;
        if (!ms_wanted(e, k, &t, &status))
            continue;
        ms_set(e, k, t, status);
        e->ms[k].linked = 1;
        out[n++] = &e->ms[k].n;
    }
    return n;
}

/* --- supersession ------------------------------------------------------------------------------------ */

/* Older event A is superseded by newer event F of its program when F sets every mode A sets
 * and their intervals overlap (2030.5 §12.1.3.2; the caller checks the overlap). */
static int supersedes(const sev_t *f, const sev_t *a)
{
    return f->creation > a->creation && !(a->modes & ~f->modes);
}

/* The last pick stays good unless an event running or starting within its window [from, until]
 * comes or goes (the ends are closed: a start at `until` may be the change point it names). */
static void pick_touch(ge_sched_t *s, const sev_t *e)
{
    if (s->pick.ok && e->es <= s->pick.until && e->end >= s->pick.from)
        s->pick.ok = 0;
}

static void time_link(ge_sched_t *s, sev_t *e)
{
    s->time_root = t_insert(s, s->time_root, inode_set(s, &e->tn, e->es, e->end, e->slot), &interval_ops);
    e->in_time = 1;
    pick_touch(s, e);
}

static void time_unlink(ge_sched_t *s, sev_t *e)
{
    s->time_root = t_erase(s, s->time_root, &e->tn.n, &interval_ops);
    e->in_time = 0;
    pick_touch(s, e);
}

/* Recompute E's derived end and move it in the timeline and the milestones if anything moved. */
static void refresh(ge_sched_t *s, sev_t *e)
{
    int64_t end = e->end, tt = e->term_time;
    int ts = e->term_status;
    derive_end(e);
    if (end == e->end && tt == e->term_time && ts == e->term_status)
        return;
    if (e->in_time) {
        int64_t now_end = e->end;
        e->end = end; /* its place in the timeline's summaries, and the window it leaves */
        time_unlink(s, e);
        e->end = now_end;
    }
    if (e->end > e->es)
        time_link(s, e);
    ms_sync(s, e);
    ms_touch(s, &e->ms[MS_STARTED]); /* whether it is still due depends on the end */
}

typedef struct overlap_q {
    ge_sched_t *s;
    const sev_t *x; /* the event whose program and raw interval are asked about */
    int mode;
} overlap_q_t;

enum { OV_LINK, OV_UNLINK, OV_MIN };

static void overlap_visit(overlap_q_t *q, const sev_t *x, tnode_t *n, int64_t *acc);

/* The earliest start of a newer event of A's program that covers A and overlaps it. */
static int64_t psup_of(ge_sched_t *s, const sev_t *a)
{
    int64_t acc = NO_TIME;
    overlap_q_t q = { s, a, OV_MIN };
    if (a->in_prog)
        overlap_visit(&q, a, *prog_root(s, a->program), &acc);
    return acc;
}

/* One event F of X's program that overlaps X's raw interval. */
static void overlap_one(overlap_q_t *q, sev_t *f, int64_t *acc)
{
    const sev_t *x = q->x;
    switch (q->mode) {
    case OV_MIN: /* X's psup */
        if (supersedes(f, x) && f->es < *acc)
            *acc = f->es;
        break;
    case OV_LINK: /* X is new: it may supersede F, or F it */
        if (supersedes(x, f)) {
            if (x->es < f->psup) {
                f->psup = x->es;
                refresh(q->s, f);
            }
        } else if (supersedes(f, x) && f->es < *acc) {
            *acc = f->es;
        }
        break;
    case OV_UNLINK: /* X is gone: what it superseded looks again */
        if (supersedes(x, f) && f->psup == x->es) {
            f->psup = psup_of(q->s, f);
            refresh(q->s, f);
        }
        break;
    }
}

/* The events of X's program in subtree N whose raw interval overlaps X's, X itself excepted.
 * Nothing here changes the program tree (refresh() touches the timeline and milestones only). */
static void overlap_visit(overlap_q_t *q, const sev_t *x, tnode_t *n, int64_t *acc)
{
    while (n) {
        sev_t *f = OWNER(n, sev_t, pn.n);
        q->s->visits++;
        if (f->pn.max <= x->es)
            return; /* everything here is over before X starts */
        overlap_visit(q, x, n->l, acc);
        if (f->pn.lo >= x->e_raw)
            return; /* this one and everything after it starts after X is over */
        if (f != x && f->pn.hi > x->es)
            overlap_one(q, f, acc);
        n = n->r;
    }
}

/* Put E (times computed) into the structures, superseding or superseded by its neighbours. */
static void link_event(ge_sched_t *s, sev_t *e)
{
    effective_times(s, e);
    if (e->e_raw > e->es) {
        int64_t acc = NO_TIME;
        overlap_q_t q = { s, e, OV_LINK };
        tnode_t **root = prog_root(s, e->program);
        overlap_visit(&q, e, *root, &acc);
        e->psup = acc;
        *root = t_insert(s, *root, inode_set(s, &e->pn, e->es, e->e_raw, e->slot), &interval_ops);
        e->in_prog = 1;
    }
    derive_end(e);
    if (e->end > e->es)
        time_link(s, e);
    ms_sync(s, e);
}

/* Take E out of the structures; the events it superseded get their times back. */
static void unlink_event(ge_sched_t *s, sev_t *e)
{
    if (e->in_time)
        time_unlink(s, e);
    for (int k = 0; k < MS_KINDS; k++)
        ms_unlink(s, &e->ms[k]);
    if (e->in_prog) {
        tnode_t **root = prog_root(s, e->program);
        *root = t_erase(s, *root, &e->pn.n, &interval_ops);
        e->in_prog = 0;
        int64_t acc = NO_TIME;
        overlap_q_t q = { s, e, OV_UNLINK };
        overlap_visit(&q, e, *root, &acc);
    }
}

/* --- changes since the last evaluation ------------------------------------------------------------ */

/* Puts only store the event; the next evaluation links what changed, one by one when few did
 * (O(log n) each), or rebuilds the trees from sorted arrays when many did (a first fill, a large
 * refresh): linear after a radix sort, and the same trees either way. */
static void pending_add(ge_sched_t *s, sev_t *e)
{
    e->pending = 1;
    e->pprev = NULL;
    e->pnext = s->pending;
    if (s->pending)
        s->pending->pprev = e;
    s->pending = e;
    s->npending++;
}

static void pending_del(ge_sched_t *s, sev_t *e)
{
    if (e->pprev)
        e->pprev->pnext = e->pnext;
    else
        s->pending = e->pnext;
    if (e->pnext)
        e->pnext->pprev = e->pprev;
    e->pending = 0;
    s->npending--;
}

/* LSD radix sort of bulk keys by es, then (stably) by program when BY_PROGRAM: 11-bit digits,
 * only as many passes as the key range needs.  TMP has room for N. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

static void radix_keys(bkey_t *a, bkey_t *tmp, size_t n, int by_program)
{
    if (n < 2)
        return;
    int64_t lo = a[0].es, hi = a[0].es;
    uint32_t plo = a[0].program, phi = a[0].program;
    for (size_t i = 1; i < n; i++) {
        lo = a[i].es < lo ? a[i].es : lo;
        hi = a[i].es > hi ? a[i].es : hi;
        plo = a[i].program < plo ? a[i].program : plo;
        phi = a[i].program > phi ? a[i].program : phi;
    }
    bkey_t *src = a, *dst = tmp;
    for (int field = 0; field < (by_program ? 2 : 1); field++) {
        uint64_t range = field == 0 ? (uint64_t)hi - (uint64_t)lo : (uint64_t)(phi - plo);
        for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += RADIX_BITS) {
            size_t count[RADIX_SIZE] = { 0 };
#define DIGIT(k) ((field == 0 ? (uint64_t)(k).es - (uint64_t)lo : (uint64_t)((k).program - plo)) >> shift & \
                  (RADIX_SIZE - 1))
            for (size_t i = 0; i < n; i++)
                count[DIGIT(src[i])]++;
            size_t sum = 0;
            for (size_t d = 0; d < RADIX_SIZE; d++) {
                size_t c = count[d];
                count[d] = sum;
                sum += c;
            }
            for (size_t i = 0; i < n; i++)
                dst[count[DIGIT(src[i])]++] = src[i];
#undef DIGIT
            bkey_t *x = src;
            src = dst;
            dst = x;
        }
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

/* The treap of the M nodes in key order (priorities set): a Cartesian tree, built with a stack. */
static tnode_t *t_build(ge_sched_t *s, tnode_t **nodes, size_t m, tnode_t **stack, const tree_ops_t *op)
{
    size_t top = 0;
    s->visits += m;
    for (size_t i = 0; i < m; i++) {
        tnode_t *x = nodes[i], *last = NULL;
        while (top && stack[top - 1]->prio < x->prio) {
            last = stack[--top];
            op->fix(last); /* its subtrees are complete */
        }
        x->l = last;
        x->r = NULL;
        if (top)
            stack[top - 1]->r = x;
        stack[top++] = x;
    }
    while (top > 1)
        op->fix(stack[--top]);
    if (top)
        op->fix(stack[0]);
    return top ? stack[0] : NULL;
}

static int ms_sort_cmp(const void *pa, const void *pb)
{
    const tnode_t *a = *(tnode_t *const *)pa, *b = *(tnode_t *const *)pb;
    return ms_cmp(OWNER(a, msnode_t, n), OWNER(b, msnode_t, n));
}

static int grow(const ge_mem_t *mem, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
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

/* Room in the bulk build's scratch for N events: reserved by the puts, so that an evaluation
 * never allocates (and never fails). */
static int scratch_reserve(ge_sched_t *s, size_t n)
{
    int rc;
    if ((rc = GROW(s, keys, keycap, 2 * n)) < 0 || (rc = GROW(s, nodes, nodecap, 3 * n)) < 0 ||
        (rc = GROW(s, stack, stackcap, 3 * n)) < 0)
        return rc;
    return 0;
}

/* Every tree from scratch. */
static void bulk_build(ge_sched_t *s)
{
    s->pick.ok = 0;
    s->time_root = s->ms_root = NULL;
    for (size_t k = 0; k < s->prcap; k++)
        s->proots[k].root = NULL;
    s->cursor = NULL;
    s->pending = NULL;
    s->npending = 0;
    size_t m = 0;
    for (size_t c = 0; c < s->nchunks; c++) {
        size_t lim = s->used - c * CHUNK < CHUNK ? s->used - c * CHUNK : CHUNK;
        for (size_t i = 0; i < lim; i++) {
            sev_t *e = &s->chunks[c][i];
            if (!e->live)
                continue;
            e->pending = e->in_time = e->in_prog = 0;
            for (int k = 0; k < MS_KINDS; k++)
                e->ms[k].linked = 0;
            effective_times(s, e);
            if (e->e_raw > e->es)
                s->keys[m++] = (bkey_t){ e->es, e->program, e };
        }
    }
    /* supersession: a sweep over each program's events by start, keeping those still running */
    radix_keys(s->keys, s->keys + m, m, 1);
    sev_t **act = (sev_t **)(void *)s->stack;
    size_t na = 0;
    for (size_t i = 0; i < m; i++) {
        sev_t *x = s->keys[i].e;
        if (i > 0 && s->keys[i - 1].program != x->program)
            na = 0;
        size_t keep = 0;
        for (size_t j = 0; j < na; j++) {
            sev_t *a = act[j];
            if (a->e_raw <= x->es)
                continue; /* over before x starts */
            act[keep++] = a;
            if (supersedes(x, a)) {
                if (x->es < a->psup)
                    a->psup = x->es;
            } else if (supersedes(a, x) && a->es < x->psup) {
                x->psup = a->es;
            }
        }
        na = keep;
        act[na++] = x;
    }
    for (size_t i = 0, first = 0; i < m; i++) {
        sev_t *e = s->keys[i].e;
        e->in_prog = 1;
        s->nodes[i] = inode_set(s, &e->pn, e->es, e->e_raw, e->slot);
        if (i + 1 == m || s->keys[i + 1].program != e->program) { /* the program's last */
            *prog_root(s, e->program) = t_build(s, s->nodes + first, i + 1 - first, s->stack, &interval_ops);
            first = i + 1;
        }
    }
    /* the timeline and the milestones */
    size_t mt = 0, mm = 0;
    for (size_t c = 0; c < s->nchunks; c++) {
        size_t lim = s->used - c * CHUNK < CHUNK ? s->used - c * CHUNK : CHUNK;
        for (size_t i = 0; i < lim; i++) {
            sev_t *e = &s->chunks[c][i];
            if (!e->live)
                continue;
            derive_end(e);
            if (e->end > e->es)
                s->keys[mt++] = (bkey_t){ e->es, 0, e };
            if (e->ev.respond)
                mm += ms_want(e, s->nodes + mm);
        }
    }
    if (mm) {
        qsort(s->nodes, mm, sizeof(*s->nodes), ms_sort_cmp);
        for (size_t i = 0; i < mm; i++)
            s->nodes[i]->prio = next_prio(s);
        s->ms_root = t_build(s, s->nodes, mm, s->stack, &ms_ops);
        s->cursor = OWNER(s->nodes[0], msnode_t, n);
    }
    radix_keys(s->keys, s->keys + mt, mt, 0);
    for (size_t i = 0; i < mt; i++) {
        sev_t *e = s->keys[i].e;
        e->in_time = 1;
        s->nodes[i] = inode_set(s, &e->tn, e->es, e->end, e->slot);
    }
    s->time_root = t_build(s, s->nodes, mt, s->stack, &interval_ops);
}

/* Bring the trees up to date with the puts since the last evaluation. */
static void flush(ge_sched_t *s)
{
    if (!s->npending)
        return;
    if (s->npending * 4 >= s->n) {
        bulk_build(s);
        return;
    }
    while (s->pending) {
        sev_t *e = s->pending;
        pending_del(s, e);
        link_event(s, e);
    }
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
    int rc = prog_reserve(s, ev->program);
    if (rc < 0)
        return rc;
    uint64_t idhash = fnv1a(ev->id);
    sev_t *e = find_h(s, ev->id, idhash);
    if (e) {
        uint32_t sent = e->ev.sent | ev->sent;
        if (same_schedule(&e->ev, ev)) {
            e->ev.sent = sent;
            e->ev.payload = ev->payload;
            if (e->in_time)
                pick_touch(s, e); /* the payload it hands out */
            if (!e->pending)
                ms_sync(s, e);
            return 0;
        }
        if (!e->pending) {
            unlink_event(s, e);
            pending_add(s, e);
        }
        e->ev = *ev;
        e->ev.sent = sent;
        return 0;
    }
    if ((rc = hash_reserve(s)) < 0 || (rc = pool_reserve(s)) < 0 || (rc = scratch_reserve(s, s->n + 1)) < 0)
        return rc;
    e = pool_take(s);
    e->ev = *ev;
    e->idhash = idhash;
    struct hslot *h = &s->hash[hash_slot(s, ev->id, idhash)];
    h->e = e;
    h->h32 = (uint32_t)e->idhash;
    s->n++;
    e->live = 1;
    pending_add(s, e);
    return 0;
}

int ge_sched_remove(ge_sched_t *s, const char *id)
{
    if (!s || !id)
        return GE_ERR_INVALID;
    sev_t *e = find(s, id);
    if (!e)
        return GE_ERR_NOTFOUND;
    if (e->pending)
        pending_del(s, e);
    else
        unlink_event(s, e);
    hash_delete(s, e);
    pool_release(s, e);
    s->n--;
    return 0;
}

const ge_sched_event_t *ge_sched_get(const ge_sched_t *s, const char *id)
{
    if (!s || !id)
        return NULL;
    const sev_t *e = find(s, id);
    return e ? &e->ev : NULL;
}

int ge_sched_mark_sent(ge_sched_t *s, const char *id, int status)
{
    if (!s || !id || !ge_sched_resp_bit(status))
        return GE_ERR_INVALID;
    sev_t *e = find(s, id);
    if (!e)
        return GE_ERR_NOTFOUND;
    e->ev.sent |= ge_sched_resp_bit(status);
    if (!e->pending)
        ms_sync(s, e);
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
    if (k == s->defcap) {
        size_t nc = s->defcap ? s->defcap * 2 : 8;
        defctl_t *d = s->mem.realloc(s->defs, nc * sizeof(*d), s->mem.ud);
        if (!d)
            return GE_ERR_NOMEM;
        s->defs = d;
        s->defcap = nc;
    }
    if (k == s->ndefs)
        s->ndefs++;
    defctl_t *d = &s->defs[k];
    d->program = program;
    d->primacy = primacy;
    d->modes = modes;
    memcpy(d->id, id, id_len(id) + 1);
    d->payload = payload;
    s->defs_dirty = 1;
    s->pick.ok = 0;
    return 0;
}

int ge_sched_clear_default(ge_sched_t *s, uint32_t program)
{
    if (!s)
        return GE_ERR_INVALID;
    for (size_t k = 0; k < s->ndefs; k++)
        if (s->defs[k].program == program) {
            s->defs[k] = s->defs[--s->ndefs];
            s->defs_dirty = 1;
            s->pick.ok = 0;
            return 0;
        }
    return GE_ERR_NOTFOUND;
}

/* --- evaluation ----------------------------------------------------------------------------------- */

int ge_sched_effective(ge_sched_t *s, const char *id, int64_t *start, int64_t *end, int *final_status)
{
    if (!s || !id)
        return GE_ERR_INVALID;
    flush(s);
    const sev_t *e = find(s, id);
    if (!e)
        return GE_ERR_NOTFOUND;
    if (start)
        *start = e->es;
    if (end)
        *end = e->end;
    if (final_status)
        *final_status = e->term_status;
    return 0;
}

/* Does A win a mode over B: the lower primacy, then the newer, then the smaller id. */
static int wins(const sev_t *a, const sev_t *b)
{
    if (a->primacy != b->primacy)
        return a->primacy < b->primacy;
    if (a->creation != b->creation)
        return a->creation > b->creation;
    return strcmp(a->ev.id, b->ev.id) < 0;
}

typedef struct pick {
    int64_t now;
    int64_t next;     /* the earliest end among the events in force */
    uint64_t visits;
    const sev_t *best[32];
} pick_t;

/* The events in force at P->now in subtree N: started at or before it, ending after it. */
static void pick_visit(pick_t *p, const tnode_t *n)
{
    while (n) {
        const sev_t *e = OWNER(n, sev_t, tn.n);
        p->visits++;
        if (e->tn.max <= p->now)
            return;
        pick_visit(p, n->l);
        if (e->es > p->now)
            return;
        if (e->end > p->now) {
            if (e->end < p->next)
                p->next = e->end;
            for (uint32_t m = e->modes; m; m &= m - 1) {
                int b = __builtin_ctz(m);
                if (!p->best[b] || wins(e, p->best[b]))
                    p->best[b] = e;
            }
        }
        n = n->r;
    }
}

/* The first effective start after NOW. */
static int64_t next_start(ge_sched_t *s, int64_t now)
{
    int64_t t = NO_TIME;
    for (const tnode_t *n = s->time_root; n;) {
        const sev_t *e = OWNER(n, sev_t, tn.n);
        s->visits++;
        if (e->es > now) {
            t = e->es;
            n = n->l;
        } else {
            n = n->r;
        }
    }
    return t;
}

static void default_winners(ge_sched_t *s)
{
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
    s->defs_dirty = 0;
}

/* The controls in force at NOW into PC, and until when they stay so. */
static int pick(ge_sched_t *s, int64_t now, struct pick_cache *pc)
{
    if (s->defs_dirty)
        default_winners(s);
    /* the winner of every mode among the events in force; the next time the set changes is the
     * first end among them or the first start after now */
    pick_t p;
    p.now = now;
    p.next = NO_TIME;
    p.visits = 0;
    memset(p.best, 0, sizeof(p.best));
    pick_visit(&p, s->time_root);
    s->visits += p.visits;
    int64_t ns = next_start(s, now);
    pc->ok = 0;
    pc->n = 0;
    pc->modes = 0;
    for (int b = 0; b < 32; b++) {
        const sev_t *e = p.best[b];
        if (!e)
            continue;
        size_t j;
        for (j = 0; j < pc->n && pc->active[j].id != e->ev.id; j++)
            ;
        if (j == pc->n)
            pc->active[pc->n++] = (ge_sched_active_t){
                e->ev.id, e->ev.payload, e->program, e->primacy, 0, 0, e->es, e->end };
        pc->active[j].modes |= 1u << b;
        pc->modes |= 1u << b;
    }
    /* modes no event sets: the default controls */
    for (int b = 0; b < 32; b++) {
        if ((pc->modes & (1u << b)) || s->def_win[b] < 0)
            continue;
        const defctl_t *d = &s->defs[s->def_win[b]];
        size_t j;
        for (j = 0; j < pc->n; j++)
            if (pc->active[j].is_default && pc->active[j].program == d->program)
                break;
        if (j == pc->n) {
            if (pc->n == GE_SCHED_MAX_ACTIVE)
                return GE_ERR_INTERNAL; /* cannot happen: each entry holds a distinct bit */
            pc->active[pc->n++] = (ge_sched_active_t){
                d->id, d->payload, d->program, d->primacy, 0, 1, INT64_MIN, INT64_MAX };
        }
        pc->active[j].modes |= 1u << b;
    }
    for (size_t j = 0; j < pc->n; j++)
        pc->modes |= pc->active[j].modes;
    pc->from = now;
    pc->until = ns < p.next ? ns : p.next;
    pc->ok = 1;
    return 0;
}

int ge_sched_eval(ge_sched_t *s, int64_t now, ge_sched_result_t *res)
{
    if (!s || !res || (res->responses_cap && !res->responses))
        return GE_ERR_INVALID;
    res->n_responses = 0;
    res->more_responses = 0;
    flush(s);
    struct pick_cache *pc = &s->pick;
    if (!pc->ok || now < pc->from || now >= pc->until) {
        int rc = pick(s, now, pc);
        if (rc < 0)
            return rc;
    }
    memcpy(res->active, pc->active, pc->n * sizeof(pc->active[0]));
    res->n_active = pc->n;
    res->modes = pc->modes;
    res->next_change = pc->until;

    /* responses: unsent milestones up to now, from the cursor */
    if (s->has_last && now < s->last_now)
        s->cursor = ms_first(s);
    s->last_now = now;
    s->has_last = 1;
    int contiguous = 1;
    const msnode_t *m = s->cursor;
    for (; m && m->t <= now; m = ms_next(s, m)) {
        const sev_t *e = m->owner;
        /* an event that ended unseen is not reported as started, only completed */
        if (m->status == GE_RESP_STARTED && now >= e->end) {
            if (contiguous)
                s->cursor = ms_next(s, m);
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
    int64_t t = ms_due_after(s, now);
    if (t < res->next_change)
        res->next_change = t;
    return 0;
}

uint64_t ge_sched_nodes_visited(const ge_sched_t *s)
{
    return s ? s->visits : 0;
}
