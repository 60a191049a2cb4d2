/* sched.c - the event scheduler (gridedge/sched.h): effective times, supersession, the winning
 * controls and the responses due.  Pure: no clock, no random source, no I/O.
 *
 * The indexes are updated in place, so a change costs O(log n) plus the events of its program
 * that it overlaps:
 *   - events live in 64-event chunks (a pool with a free list: no allocation per event, stable
 *     addresses), found by id through an open-addressing table of (pool slot, 32 hash bits);
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
 * every tree from radix-sorted arrays when much changed (a first fill), as balanced trees.  The
 * last pick is kept until the next change point or a change within its window.  The treaps'
 * priorities come from a counter through a mixer, so a schedule is the same on every run.
 *
 * Memory is what a large fill costs where fresh pages are dear (bench/bench_sched): an event is
 * 384 bytes, 64-aligned so that a visit of either tree reads one cache line; what follows from
 * others' times (the final response, a Superseded status's end) is derived, not stored; the bulk
 * build's scratch (32 bytes an event, 48 when all want responses) is reserved without being copied
 * and given back after it. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/sched.h>

#define TIME_LIMIT (INT64_C(1) << 60) /* keeps start + duration + randomization from overflowing */
#define NO_TIME INT64_MAX
#define CHUNK_SHIFT 6                 /* events per pool chunk: 64 (24 KB; a few events cost little) */
#define CHUNK (1u << CHUNK_SHIFT)

/* An intrusive treap node; its owner is found with container_of.  The bytes after the priority
 * would be padding: the milestones keep their small fields there. */
typedef struct tnode {
    struct tnode *l, *r;
    uint32_t prio;
    uint8_t order;   /* milestones: MS_*, also the node's index in its event's ms[] */
    uint8_t linked;  /* milestones: in the milestone tree */
    uint16_t status; /* milestones: the response */
} tnode_t;

#define OWNER(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

enum { MS_RECEIVED, MS_FINAL, MS_STARTED, MS_KINDS }; /* the order at one instant: received, final, started */

typedef struct sev sev_t;

/* A node of an interval tree, keyed by (its event's es, slot), knowing the latest end in its
 * subtree.  The key and the end are read from the event: they do not change while it is linked
 * (refresh() puts the old end back while it unlinks). */
typedef struct inode {
    tnode_t n;
    int64_t max;
} inode_t;

/* A response not yet sent, keyed by (t, order, id); its event is found through n.order. */
typedef struct msnode {
    tnode_t n;
    int64_t t;
} msnode_t;

/* An event: 384 bytes, 64-aligned, so that a visit of either tree reads one cache line. */
struct sev {
    /* line 0: the timeline and picking a winner */
    _Alignas(64) inode_t tn; /* timeline: (es, end) */
    int64_t es;        /* effective start */
    int64_t end;       /* final effective end (<= es: never runs) */
    int64_t creation;
    uint32_t modes;
    uint8_t primacy;
    uint8_t in_time, in_prog;
    uint8_t pending;   /* on the list of changes, in no tree */
    /* line 1: its program's tree and supersession */
    inode_t pn;        /* its program's tree: (pes, e_raw) */
    int64_t pes;       /* es, where the program tree reads it */
    int64_t e_raw;     /* effective end after cancellation, before supersession */
    int64_t psup;      /* a newer covering event of the program starts here (NO_TIME: none) */
    uint32_t program;
    uint32_t slot;     /* pool index: the last key of every tree, so keys are unique */
    /* the rest */
    uint64_t idhash;   /* fnv1a of the id: the hash table's key and the draws' */
    uint32_t pprev, pnext; /* the list of events changed since the last evaluation (slot + 1) */
    uint8_t live;      /* holds an event (not on the pool's free list) */
    uint8_t cancelled; /* its status cancels it before its end */
    msnode_t ms[MS_KINDS];
    ge_sched_event_t ev;
};

/* A sort key of the bulk build. */
typedef struct bkey {
    int64_t es;
    uint32_t program;
    uint32_t slot;
} bkey_t;

typedef struct defctl {
    uint32_t program;
    uint8_t primacy;
    uint32_t modes;
    char id[GE_SCHED_ID_MAX];
    void *payload;
} defctl_t;

struct hslot {
    uint32_t slot1; /* the event's pool slot + 1 (0: empty) */
    uint32_t h32;   /* hash_key() of the id: most probes never touch the event */
};

struct ge_sched {
    ge_mem_t mem;
    uint64_t seed;
    /* the pool */
    struct chunk {
        sev_t *ev; /* CHUNK events, aligned */
        void *mem; /* as allocated */
    } *chunks;
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
    uint32_t pending; /* events put since the last evaluation, not yet in the trees (slot + 1) */
    size_t npending;
    size_t nrespond;  /* live events that want responses (the bulk build's milestones: 3 each) */
    void *scratch;    /* the next bulk build's, reserved by the puts that call for one */
    size_t scratch_cap;
    size_t scratch_kept; /* what ge_sched_reserve() asked for: a scratch that large is kept */
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
    int (*held)(const tnode_t *n, const tnode_t *gone); /* the summary may have come from GONE */
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
    if (op->held(root, n)) /* else it stands: reading the other child would be a cache miss */
        op->fix(root);
    return root;
}

static uint32_t next_prio(ge_sched_t *s)
{
    return (uint32_t)mix64(s->seed ^ ++s->prio_counter);
}

/* the timeline, keyed by (es, slot) with the latest end below, and the program trees, keyed the
 * same with the latest raw end below; both read the key from the event */

static int64_t sub_max(const tnode_t *pn)
{
    return pn ? OWNER(pn, inode_t, n)->max : INT64_MIN;
}

static void sub_absorb(tnode_t *pn, const tnode_t *added)
{
    inode_t *e = OWNER(pn, inode_t, n);
    e->max = max64(e->max, OWNER(added, inode_t, n)->max);
}

/* The trees' key order: (effective start, slot). */
static int key_less(int64_t es_a, uint32_t slot_a, int64_t es_b, uint32_t slot_b)
{
    return es_a < es_b || (es_a == es_b && slot_a < slot_b);
}

static int64_t children_max(const tnode_t *pn)
{
    return max64(sub_max(pn->l), sub_max(pn->r));
}

static int time_less(const tnode_t *pa, const tnode_t *pb)
{
    const sev_t *a = OWNER(pa, sev_t, tn.n), *b = OWNER(pb, sev_t, tn.n);
    return key_less(a->es, a->slot, b->es, b->slot);
}

static void time_fix(tnode_t *pn)
{
    sev_t *e = OWNER(pn, sev_t, tn.n);
    e->tn.max = max64(e->end, children_max(pn));
}

static int prog_less(const tnode_t *pa, const tnode_t *pb)
{
    const sev_t *a = OWNER(pa, sev_t, pn.n), *b = OWNER(pb, sev_t, pn.n);
    return key_less(a->pes, a->slot, b->pes, b->slot);
}

static void prog_fix(tnode_t *pn)
{
    sev_t *e = OWNER(pn, sev_t, pn.n);
    e->pn.max = max64(e->e_raw, children_max(pn));
}

/* An ancestor's latest end can only have come from a removed node that ended as late. */
static int time_held(const tnode_t *n, const tnode_t *gone)
{
    return OWNER(n, inode_t, n)->max <= OWNER(gone, sev_t, tn.n)->end;
}

static int prog_held(const tnode_t *n, const tnode_t *gone)
{
    return OWNER(n, inode_t, n)->max <= OWNER(gone, sev_t, pn.n)->e_raw;
}

static const tree_ops_t time_ops = { time_less, time_fix, sub_absorb, time_held };
static const tree_ops_t prog_ops = { prog_less, prog_fix, sub_absorb, prog_held };

/* N, ready to be linked. */
static tnode_t *inode_set(ge_sched_t *s, inode_t *n)
{
    n->n.prio = next_prio(s);
    return &n->n;
}

/* milestones: key (t, order, id) */
static sev_t *ms_owner(const msnode_t *m)
{
    return OWNER(m - m->n.order, sev_t, ms);
}

static int ms_cmp(const msnode_t *a, const msnode_t *b)
{
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->n.order != b->n.order)
        return a->n.order < b->n.order ? -1 : 1;
    return strcmp(ms_owner(a)->ev.id, ms_owner(b)->ev.id);
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

static int no_held(const tnode_t *n, const tnode_t *gone)
{
    (void)n;
    (void)gone;
    return 0;
}

static const tree_ops_t ms_ops = { ms_less, no_fix, no_absorb, no_held };

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

static int prog_grow(ge_sched_t *s, size_t cap);

/* PROGRAM in the table of program trees (kept at most half full).  A failure changes nothing. */
static int prog_reserve(ge_sched_t *s, uint32_t program)
{
    if (s->prcap && s->proots[prog_slot(s, program)].used)
        return 0;
    if ((s->nprog + 1) * 2 <= s->prcap) {
        prog_root(s, program);
        return 0;
    }
    int rc = prog_grow(s, s->prcap ? s->prcap * 2 : 16);
    if (rc < 0)
        return rc;
    prog_root(s, program);
    return 0;
}

/* The table of program trees rehashed into CAP slots (a power of two, larger than the present). */
static int prog_grow(ge_sched_t *s, size_t cap)
{
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
    return 0;
}

/* --- id hash and pool ----------------------------------------------------------------------------- */

static sev_t *slot_ev(const ge_sched_t *s, uint32_t slot)
{
    return &s->chunks[slot >> CHUNK_SHIFT].ev[slot & (CHUNK - 1)];
}

/* The id hash's 32 bits kept in the table: its slots' homes and most mismatches are found without
 * touching the events (fnv1a alone clusters similar ids, hence the mixer). */
static uint32_t hash_key(uint64_t idhash)
{
    return (uint32_t)(mix64(idhash) >> 32);
}

static size_t hash_slot(const ge_sched_t *s, const char *id, uint32_t hk)
{
    size_t mask = s->hcap - 1, i = hk & mask;
    while (s->hash[i].slot1 &&
           (s->hash[i].h32 != hk || strcmp(slot_ev(s, s->hash[i].slot1 - 1)->ev.id, id) != 0))
        i = (i + 1) & mask;
    return i;
}

/* The event with ID, whose fnv1a is H. */
static sev_t *find_h(const ge_sched_t *s, const char *id, uint64_t h)
{
    if (!s->hcap)
        return NULL;
    const struct hslot *x = &s->hash[hash_slot(s, id, hash_key(h))];
    return x->slot1 ? slot_ev(s, x->slot1 - 1) : NULL;
}

static sev_t *find(const ge_sched_t *s, const char *id)
{
    return find_h(s, id, fnv1a(id));
}

/* Room for one more id, kept at most three quarters full (linear probing's probes stay few: the
 * table holds 8 bytes per slot, so they rarely leave a cache line) and at most 2^31 events, so
 * that a slot and the table's index fit in 32 bits.  A failure changes nothing. */
static int hash_grow(ge_sched_t *s, size_t cap);

static int hash_reserve(ge_sched_t *s)
{
    if ((s->n + 1) * 4 <= s->hcap * 3)
        return 0;
    if (s->n >= (size_t)1 << 31)
        return GE_ERR_NOMEM;
    return hash_grow(s, s->hcap ? s->hcap * 2 : 64);
}

/* The id table rehashed into CAP slots (a power of two, larger than the present one). */
static int hash_grow(ge_sched_t *s, size_t cap)
{
    struct hslot *h = s->mem.malloc(cap * sizeof(*h), s->mem.ud);
    if (!h)
        return GE_ERR_NOMEM;
    memset(h, 0, cap * sizeof(*h));
    struct hslot *old = s->hash;
    size_t oldcap = s->hcap;
    s->hash = h;
    s->hcap = cap;
    for (size_t k = 0; k < oldcap; k++)
        if (old[k].slot1) {
            size_t i = old[k].h32 & (cap - 1);
            while (h[i].slot1) /* the ids are distinct: no need to compare them */
                i = (i + 1) & (cap - 1);
            h[i] = old[k];
        }
    s->mem.free(old, s->mem.ud);
    return 0;
}

/* Linear probing's deletion: shift later members of the cluster back into the hole. */
static void hash_delete(ge_sched_t *s, const sev_t *e)
{
    size_t mask = s->hcap - 1, i = hash_slot(s, e->ev.id, hash_key(e->idhash));
    s->hash[i].slot1 = 0;
    for (size_t j = (i + 1) & mask; s->hash[j].slot1; j = (j + 1) & mask) {
        size_t home = s->hash[j].h32 & mask;
        /* J may move to the hole I unless its home lies cyclically in (I, J] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->hash[i] = s->hash[j];
            s->hash[j].slot1 = 0;
            i = j;
        }
    }
}

/* A free event slot, taken out of the pool only by pool_take(). */
static int pool_grow(ge_sched_t *s);
static size_t scratch_size(size_t n, size_t nrespond);

static int pool_reserve(ge_sched_t *s)
{
    if (s->freelist || s->used < s->nchunks * CHUNK)
        return 0;
    return pool_grow(s);
}

/* One more chunk of CHUNK events in the pool. */
static int pool_grow(ge_sched_t *s)
{
    if (s->nchunks == s->chunkcap) {
        size_t nc = s->chunkcap ? s->chunkcap * 2 : 8;
        struct chunk *c = s->mem.realloc(s->chunks, nc * sizeof(*c), s->mem.ud);
        if (!c)
            return GE_ERR_NOMEM;
        s->chunks = c;
        s->chunkcap = nc;
    }
    /* the allocator promises less alignment than an event's */
    void *mem = s->mem.malloc(CHUNK * sizeof(sev_t) + _Alignof(sev_t) - 1, s->mem.ud);
    if (!mem)
        return GE_ERR_NOMEM;
    size_t pad = (size_t)(-(uintptr_t)mem & (_Alignof(sev_t) - 1));
    s->chunks[s->nchunks++] = (struct chunk){ (sev_t *)(void *)((char *)mem + pad), mem };
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
        e = slot_ev(s, slot);
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
        s->mem.free(s->chunks[k].mem, s->mem.ud);
    s->mem.free(s->chunks, s->mem.ud);
    s->mem.free(s->hash, s->mem.ud);
    s->mem.free(s->proots, s->mem.ud);
    s->mem.free(s->defs, s->mem.ud);
    s->mem.free(s->scratch, s->mem.ud);
    s->mem.free(s, s->mem.ud);
}

size_t ge_sched_count(const ge_sched_t *s)
{
    return s ? s->n : 0;
}

int ge_sched_reserve(ge_sched_t *s, size_t n)
{
    if (!s)
        return GE_ERR_INVALID;
    if (n > (size_t)1 << 31)
        return GE_ERR_RANGE;
    /* the pool, written once so that its pages are the process's before any event comes */
    while (s->nchunks * CHUNK < n) {
        int rc = pool_grow(s);
        if (rc < 0)
            return rc;
        memset(s->chunks[s->nchunks - 1].ev, 0, CHUNK * sizeof(sev_t));
    }
    /* the table of program trees, for the first 8 programs */
    if (!s->prcap) {
        int rc = prog_grow(s, 16);
        if (rc < 0)
            return rc;
    }
    /* the id table, never more than three quarters full */
    size_t cap = s->hcap ? s->hcap : 64;
    while (n * 4 > cap * 3)
        cap *= 2;
    if (cap > s->hcap) {
        int rc = hash_grow(s, cap);
        if (rc < 0)
            return rc;
    }
    /* the bulk build's scratch for N events that all want responses, kept after the builds */
    size_t need = scratch_size(n, n);
    if (need > s->scratch_cap) {
        void *x = s->mem.malloc(need, s->mem.ud);
        if (!x)
            return GE_ERR_NOMEM;
        memset(x, 0, need);
        s->mem.free(s->scratch, s->mem.ud);
        s->scratch = x;
        s->scratch_cap = need;
    }
    s->scratch_kept = need > s->scratch_kept ? need : s->scratch_kept;
    return 0;
}

/* --- one event's times ------------------------------------------------------------------------------ */

/* Randomization and cancellation: everything about the event that does not depend on others. */
static void effective_times(const ge_sched_t *s, sev_t *e)
{
    const ge_sched_event_t *v = &e->ev;
    e->es = e->pes = v->start + draw(s->seed, e->idhash, 0, v->randomize_start);
    int64_t dur = (int64_t)v->duration + draw(s->seed, e->idhash, 1, v->randomize_duration);
    int64_t ee = e->es + (dur > 0 ? dur : 0);
    e->e_raw = ee;
    e->psup = NO_TIME;
    e->cancelled = (v->status == GE_EVENT_CANCELLED || v->status == GE_EVENT_CANCELLED_RANDOM) &&
                   v->status_time < ee;
    if (e->cancelled) {
        if (v->status_time <= e->es) {
            e->e_raw = e->es; /* cancelled before it began: it never runs */
        } else {
            int64_t at = v->status_time;
            if (v->status == GE_EVENT_CANCELLED_RANDOM) {
                int64_t rs = v->randomize_start < 0 ? -(int64_t)v->randomize_start : v->randomize_start;
                int64_t rd = v->randomize_duration < 0 ? -(int64_t)v->randomize_duration
                                                       : v->randomize_duration;
                at += draw(s->seed, e->idhash, 2, rs > rd ? rs : rd);
            }
            e->e_raw = at < ee ? at : ee;
        }
    }
    e->modes = v->modes;
    e->primacy = v->primacy;
    e->creation = v->creation_time;
    e->program = v->program;
}

/* When E's supersession starts if a newer event of its program covering it starts at PSUP: the
 * earlier of that and a server-marked Superseded status (NO_TIME: never). */
static int64_t sup_of(const sev_t *e, int64_t psup)
{
    const ge_sched_event_t *v = &e->ev;
    if (v->status == GE_EVENT_SUPERSEDED && v->status_time < e->e_raw && v->status_time < psup)
        return v->status_time;
    return psup;
}

/* E's final response and when it is due, with PSUP as its supersession by its program: superseded,
 * else cancelled (at Status.dateTime when before its start), else completed. */
static int final_of(const sev_t *e, int64_t psup, int64_t *t)
{
    int64_t sup = sup_of(e, psup);
    if (sup < e->e_raw) {
        *t = sup;
        return GE_RESP_SUPERSEDED;
    }
    *t = e->cancelled && e->ev.status_time <= e->es ? e->ev.status_time : e->e_raw;
    return e->cancelled ? GE_RESP_CANCELLED : GE_RESP_COMPLETED;
}

/* The final end from the supersession times. */
static void derive_end(sev_t *e)
{
    int64_t sup = sup_of(e, e->psup);
    e->end = sup < e->e_raw ? (sup > e->es ? sup : e->es) : e->e_raw;
}

/* --- milestones -------------------------------------------------------------------------------------- */

static void ms_unlink(ge_sched_t *s, msnode_t *m)
{
    if (!m->n.linked)
        return;
    if (s->cursor == m)
        s->cursor = ms_next(s, m);
    s->ms_root = t_erase(s, s->ms_root, &m->n, &ms_ops);
    m->n.linked = 0;
}

/* M may have become unresolved (it is new, or its event's end moved): the cursor must not be
 * past it. */
static void ms_touch(ge_sched_t *s, msnode_t *m)
{
    if (m->n.linked && (!s->cursor || ms_cmp(m, s->cursor) < 0))
        s->cursor = m;
}

static void ms_link(ge_sched_t *s, msnode_t *m)
{
    m->n.prio = next_prio(s);
    s->ms_root = t_insert(s, s->ms_root, &m->n, &ms_ops);
    m->n.linked = 1;
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
        *status = final_of(e, e->psup, t);
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
    m->n.status = (uint16_t)status;
    m->n.order = (uint8_t)k;
}

/* Put E's milestones in the tree as its times and sent bits say. */
static void ms_sync(ge_sched_t *s, sev_t *e)
{
    for (int k = 0; k < MS_KINDS; k++) {
        msnode_t *m = &e->ms[k];
        int64_t t;
        int status;
        int in = ms_wanted(e, k, &t, &status);
        if (m->n.linked && in && m->t == t && m->n.status == status)
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
        e->ms[k].n.linked = 1;
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
    s->time_root = t_insert(s, s->time_root, inode_set(s, &e->tn), &time_ops);
    e->in_time = 1;
    pick_touch(s, e);
}

static void time_unlink(ge_sched_t *s, sev_t *e)
{
    s->time_root = t_erase(s, s->time_root, &e->tn.n, &time_ops);
    e->in_time = 0;
    pick_touch(s, e);
}

/* E's supersession by its program moved from OLD_PSUP: recompute its derived end and move it in the
 * timeline and the milestones if anything moved. */
static void refresh(ge_sched_t *s, sev_t *e, int64_t old_psup)
{
    int64_t end = e->end, tt, now_tt;
    int ts = final_of(e, old_psup, &tt), now_ts = final_of(e, e->psup, &now_tt);
    derive_end(e);
    if (end == e->end && tt == now_tt && ts == now_ts)
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
                int64_t old = f->psup;
                f->psup = x->es;
                refresh(q->s, f, old);
            }
        } else if (supersedes(f, x) && f->es < *acc) {
            *acc = f->es;
        }
        break;
    case OV_UNLINK: /* X is gone: what it superseded looks again */
        if (supersedes(x, f) && f->psup == x->es) {
            int64_t old = f->psup;
            f->psup = psup_of(q->s, f);
            refresh(q->s, f, old);
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
        if (f->pes >= x->e_raw)
            return; /* this one and everything after it starts after X is over */
        if (f != x && f->e_raw > x->es)
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
        *root = t_insert(s, *root, inode_set(s, &e->pn), &prog_ops);
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
        *root = t_erase(s, *root, &e->pn.n, &prog_ops);
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
    e->pprev = 0;
    e->pnext = s->pending;
    if (s->pending)
        slot_ev(s, s->pending - 1)->pprev = e->slot + 1;
    s->pending = e->slot + 1;
    s->npending++;
}

static void pending_del(ge_sched_t *s, sev_t *e)
{
    if (e->pprev)
        slot_ev(s, e->pprev - 1)->pnext = e->pnext;
    else
        s->pending = e->pnext;
    if (e->pnext)
        slot_ev(s, e->pnext - 1)->pprev = e->pprev;
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

/* The priority of the I-th of M nodes of a bulk build: a balanced tree's, where a node's depth
 * follows the trailing zeros of I + 1 (a ruler), so that the tree is about log2 M deep, not the
 * 1.4 log2 M of random priorities.  The priority still sits where a random one would at that depth
 * (about 2^d of the M nodes are above depth d), so that later inserts, with random priorities,
 * find their places as in any treap. */
static uint32_t bulk_prio(ge_sched_t *s, size_t i, size_t m)
{
    int top = 0;
    while (((size_t)2 << top) <= m)
        top++; /* floor(log2 m): the root's trailing zeros */
    int z = 0;
    while (z < top && !(((i + 1) >> z) & 1))
        z++;
    double u = (double)(next_prio(s) >> 8) / (double)(1u << 24); /* in [0, 1) */
    /* the share of the nodes above: 2^d to 2^(d+1) of M + 1, d = top - z */
    double frac = (1.0 + u) * (double)((uint64_t)1 << (top - z)) / ((double)m + 1.0);
    return frac >= 1.0 ? 0 : (uint32_t)((1.0 - frac) * 4294967295.0);
}

/* The treap of the M nodes that AT(CTX, i) gives in key order, with bulk_prio()'s priorities: a
 * Cartesian tree.  Its right spine, deepest first, is a list through the right links (no stack):
 * a node gets its real right child, the spine node popped before it, when it leaves the spine. */
static tnode_t *t_build(ge_sched_t *s, tnode_t *(*at)(void *, size_t), void *ctx, size_t m,
                        const tree_ops_t *op)
{
    tnode_t *top = NULL, *last;
    s->visits += m;
    for (size_t i = 0; i < m; i++) {
        tnode_t *x = at(ctx, i);
        x->prio = bulk_prio(s, i, m);
        for (last = NULL; top && top->prio < x->prio;) {
            tnode_t *up = top->r;
            top->r = last;
            op->fix(top); /* its subtrees are complete */
            last = top;
            top = up;
        }
        x->l = last;
        x->r = top;
        top = x;
    }
    for (last = NULL; top;) {
        tnode_t *up = top->r;
        top->r = last;
        op->fix(top);
        last = top;
        top = up;
    }
    return last;
}

/* The nodes of the bulk build, from its sorted keys or milestone pointers. */
typedef struct build_ctx {
    ge_sched_t *s;
    const bkey_t *keys;
    tnode_t **ms;
} build_ctx_t;

static tnode_t *prog_at(void *ctx, size_t i)
{
    build_ctx_t *c = ctx;
    sev_t *e = slot_ev(c->s, c->keys[i].slot);
    e->in_prog = 1;
    return &e->pn.n;
}

static tnode_t *time_at(void *ctx, size_t i)
{
    build_ctx_t *c = ctx;
    sev_t *e = slot_ev(c->s, c->keys[i].slot);
    e->in_time = 1;
    return &e->tn.n;
}

static tnode_t *ms_at(void *ctx, size_t i)
{
    build_ctx_t *c = ctx;
    return c->ms[i];
}

/* The M milestone nodes at A in key order: a bottom-up merge sort through TMP (M more), in the
 * scratch rather than qsort(), which may take its buffer from malloc behind the caller's back. */
static void ms_sort(tnode_t **a, tnode_t **tmp, size_t m)
{
    tnode_t **src = a, **dst = tmp;
    for (size_t w = 1; w < m; w *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * w) {
            size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = ms_cmp(OWNER(src[j], msnode_t, n), OWNER(src[i], msnode_t, n)) < 0 ? src[j++]
                                                                                             : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        tnode_t **x = src;
        src = dst;
        dst = x;
    }
    if (src != a)
        memcpy(a, src, m * sizeof(*a));
}

/* The bulk build's scratch, in bytes, for N events of which NRESPOND want responses: a sort key per
 * event and the radix sort's buffer, later the milestones' pointers and the merge sort's. */
static size_t scratch_size(size_t n, size_t nrespond)
{
    size_t keys = 2 * n * sizeof(bkey_t), ms = 2 * MS_KINDS * nrespond * sizeof(tnode_t *);
    return keys > ms ? keys : ms;
}

/* When the next evaluation will rebuild everything (N events, NPENDING of them changed), its
 * scratch, so that it never allocates.  Nothing is copied, so the pages are first touched by the
 * build; the build gives them back.  A failure changes nothing but the scratch. */
static int scratch_reserve(ge_sched_t *s, size_t n, size_t nrespond, size_t npending)
{
    size_t need = scratch_size(n, nrespond);
    if (npending * 4 < n || need <= s->scratch_cap)
        return 0;
    size_t cap = need > 2 * s->scratch_cap ? need : 2 * s->scratch_cap;
    s->mem.free(s->scratch, s->mem.ud);
    s->scratch = s->mem.malloc(cap, s->mem.ud);
    s->scratch_cap = s->scratch ? cap : 0;
    return s->scratch ? 0 : GE_ERR_NOMEM;
}

/* Every tree from scratch; SCRATCH has scratch_size() bytes. */
static void bulk_build(ge_sched_t *s, void *scratch)
{
    bkey_t *keys = scratch;
    s->pick.ok = 0;
    s->time_root = s->ms_root = NULL;
    for (size_t k = 0; k < s->prcap; k++)
        s->proots[k].root = NULL;
    s->cursor = NULL;
    s->pending = 0;
    s->npending = 0;
    size_t m = 0;
    for (size_t c = 0; c < s->nchunks; c++) {
        size_t lim = s->used - c * CHUNK < CHUNK ? s->used - c * CHUNK : CHUNK;
        for (size_t i = 0; i < lim; i++) {
            sev_t *e = &s->chunks[c].ev[i];
            if (!e->live)
                continue;
            e->pending = e->in_time = e->in_prog = 0;
            for (int k = 0; k < MS_KINDS; k++)
                e->ms[k].n.linked = 0;
            effective_times(s, e);
            if (e->e_raw > e->es)
                keys[m++] = (bkey_t){ e->es, e->program, e->slot };
        }
    }
    /* supersession: a sweep over each program's events by start, keeping those still running (in
     * the radix sort's buffer, free again: a pointer per key fits) */
    radix_keys(keys, keys + m, m, 1);
    sev_t **act = (sev_t **)(void *)(keys + m);
    size_t na = 0;
    for (size_t i = 0; i < m; i++) {
        sev_t *x = slot_ev(s, keys[i].slot);
        if (i > 0 && keys[i - 1].program != x->program)
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
    build_ctx_t bc = { s, keys, NULL };
    for (size_t i = 0, first = 0; i < m; i++)
        if (i + 1 == m || keys[i + 1].program != keys[i].program) { /* the program's last */
            bc.keys = keys + first;
            *prog_root(s, keys[i].program) = t_build(s, prog_at, &bc, i + 1 - first, &prog_ops);
            first = i + 1;
        }
    /* the timeline */
    size_t mt = 0;
    for (size_t c = 0; c < s->nchunks; c++) {
        size_t lim = s->used - c * CHUNK < CHUNK ? s->used - c * CHUNK : CHUNK;
        for (size_t i = 0; i < lim; i++) {
            sev_t *e = &s->chunks[c].ev[i];
            if (!e->live)
                continue;
            derive_end(e);
            if (e->end > e->es)
                keys[mt++] = (bkey_t){ e->es, 0, e->slot };
        }
    }
    radix_keys(keys, keys + mt, mt, 0);
    bc.keys = keys;
    s->time_root = t_build(s, time_at, &bc, mt, &time_ops);
    /* the milestones (the keys are done with) */
    if (!s->nrespond)
        return;
    size_t mm = 0;
    bc.ms = scratch;
    for (size_t c = 0; c < s->nchunks; c++) {
        size_t lim = s->used - c * CHUNK < CHUNK ? s->used - c * CHUNK : CHUNK;
        for (size_t i = 0; i < lim; i++) {
            sev_t *e = &s->chunks[c].ev[i];
            if (e->live && e->ev.respond)
                mm += ms_want(e, bc.ms + mm);
        }
    }
    if (mm) {
        ms_sort(bc.ms, bc.ms + mm, mm);
        s->ms_root = t_build(s, ms_at, &bc, mm, &ms_ops);
        s->cursor = ms_first(s);
    }
}

/* Bring the trees up to date with the puts since the last evaluation: one by one, or all at once
 * when many changed (and the puts reserved the scratch: removals since may call for a rebuild no
 * put reserved for; one by one needs no memory). */
static void flush(ge_sched_t *s)
{
    if (!s->npending)
        return;
    if (s->npending * 4 >= s->n && s->scratch_cap >= scratch_size(s->n, s->nrespond)) {
        bulk_build(s, s->scratch);
        if (s->scratch_cap > s->scratch_kept) { /* ge_sched_reserve() keeps its own */
            s->mem.free(s->scratch, s->mem.ud);
            s->scratch = NULL;
            s->scratch_cap = 0;
        }
        return;
    }
    while (s->pending) {
        sev_t *e = slot_ev(s, s->pending - 1);
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
        size_t nresp = s->nrespond + (ev->respond != 0) - (e->ev.respond != 0);
        if ((rc = scratch_reserve(s, s->n, nresp, s->npending + !e->pending)) < 0)
            return rc;
        if (!e->pending) {
            unlink_event(s, e);
            pending_add(s, e);
        }
        s->nrespond = nresp;
        e->ev = *ev;
        e->ev.sent = sent;
        return 0;
    }
    if ((rc = hash_reserve(s)) < 0 || (rc = pool_reserve(s)) < 0 ||
        (rc = scratch_reserve(s, s->n + 1, s->nrespond + (ev->respond != 0), s->npending + 1)) < 0)
        return rc;
    e = pool_take(s);
    e->ev = *ev;
    e->idhash = idhash;
    uint32_t hk = hash_key(idhash);
    struct hslot *h = &s->hash[hash_slot(s, ev->id, hk)];
    h->slot1 = e->slot + 1;
    h->h32 = hk;
    s->n++;
    s->nrespond += ev->respond != 0;
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
    s->nrespond -= e->ev.respond != 0;
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
    if (final_status) {
        int64_t t;
        *final_status = final_of(e, e->psup, &t);
    }
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
        const sev_t *e = ms_owner(m);
        /* an event that ended unseen is not reported as started, only completed */
        if (m->n.status == GE_RESP_STARTED && now >= e->end) {
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
            (ge_sched_response_t){ e->ev.id, e->ev.payload, m->n.status, m->t };
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
