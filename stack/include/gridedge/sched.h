/* gridedge/sched.h - the event scheduler: a pure function of (events, now, seed) -> the controls in
 * force now and the responses due.
 *
 * Both protocol engines feed it: the IEEE 2030.5 client its DERControls (one "program" per
 * DERProgram, with the program's primacy) and DefaultDERControls, the OpenADR VEN its events.  It
 * never reads a clock or a random source: the caller passes `now` (utility/server time, unix
 * seconds) and a seed; randomized times are drawn from (seed, event id), so a restart with the
 * same seed gives the same times.
 *
 * Rules (IEEE 2030.5-2018 §12.1.3 event rules as applied to the DER function set, and the CSIP
 * interpretation):
 *  - Effective start = start + a draw in [0, randomizeStart]; effective duration = duration + a
 *    draw in [0, randomizeDuration] (either bound may be negative).
 *  - Primacy across programs: for each control mode, the event of the program with the lowest
 *    primacy value wins; equal primacy: the newer creationTime, then the smaller id.
 *  - Supersession within a program: an event is superseded by a newer (creationTime) overlapping
 *    event of the same program that sets every mode it sets; it ends at the newer one's effective
 *    start (or never starts).  Events of a program setting different modes coexist (CSIP
 *    BASIC-024..026); where modes are only partly shared, the newer wins the shared modes.
 *    A server-marked Superseded status ends the event at its Status.dateTime.
 *  - Cancelled: ends at Status.dateTime; Cancelled with Randomization: at Status.dateTime plus a
 *    draw in [0, max(|randomizeStart|, |randomizeDuration|)].
 *  - An event already in progress when first seen runs at once for what is left of it; an event
 *    that ended before `now` without having been started is never applied (it is completed).
 *  - Modes no event sets fall to the DefaultDERControl of the lowest-primacy program that has one.
 *  - Responses (2030.5 Table 27 status codes) are due once per (event, status): received at once,
 *    started at the effective start (only while the event still runs), then exactly one of
 *    completed, cancelled or superseded.  The caller tells which were sent (ge_sched_mark_sent or
 *    the event's `sent` bits, e.g. restored from storage) and they are not due again.
 *
 * Cost: the indexes (balanced trees) are updated in place.  A remove, or a put that changes a
 * known event, takes it out in O(log n) plus the events of its program it overlaps; the next
 * evaluation links the new and changed events in O(log n) each, plus those overlaps (or, when more
 * than a quarter of the events changed, e.g. the first fill, rebuilds everything from sorted
 * arrays in linear time after a radix sort).  An evaluation is O(log n)
 * plus the events in force, and O(1) while nothing changed and no change point was passed; a
 * response marked sent is O(log n).  No evaluation allocates: puts reserve what they need.
 * Memory: about 400 bytes an event (its copy is 136), and 32-48 more during a rebuild.
 * bench/bench_sched measures fill, change and pick against baselines. */
#ifndef GRIDEDGE_SCHED_H
#define GRIDEDGE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GE_SCHED_ID_MAX 64     /* longest id + 1 (a 2030.5 mRID is 32 hex digits) */
#define GE_SCHED_MAX_ACTIVE 32 /* one entry per winning event or default; 32 mode bits at most */

/* EventStatus.currentStatus (2030.5). */
typedef enum ge_event_status {
    GE_EVENT_SCHEDULED = 0,
    GE_EVENT_ACTIVE = 1,
    GE_EVENT_CANCELLED = 2,
    GE_EVENT_CANCELLED_RANDOM = 3,
    GE_EVENT_SUPERSEDED = 4
} ge_event_status;

/* Response.status (2030.5-2018 Table 27, Response Types by Function Set). */
typedef enum ge_response_status {
    GE_RESP_RECEIVED = 1,
    GE_RESP_STARTED = 2,
    GE_RESP_COMPLETED = 3,
    GE_RESP_OPT_OUT = 4,
    GE_RESP_OPT_IN = 5,
    GE_RESP_CANCELLED = 6,
    GE_RESP_SUPERSEDED = 7,
    GE_RESP_PARTIAL_OPT_OUT = 8,
    GE_RESP_PARTIAL_OPT_IN = 9,
    GE_RESP_COMPLETED_NO_PARTICIPATION = 10,
    GE_RESP_ACKNOWLEDGE = 11,
    GE_RESP_NO_DISPLAY = 12,
    GE_RESP_ABORTED_SERVER = 13,
    GE_RESP_ABORTED_PROGRAM = 14,
    GE_RESP_NOT_APPLICABLE = 252,
    GE_RESP_INVALID = 253,
    GE_RESP_EXPIRED = 254
} ge_response_status;

/* The bit of a response status in a `sent` mask (0 for codes without one). */
uint32_t ge_sched_resp_bit(int status);

/* One event, as the engines describe it.  The scheduler copies it. */
typedef struct ge_sched_event {
    char id[GE_SCHED_ID_MAX]; /* mRID (hex) or OpenADR eventID; unique */
    uint32_t program;         /* the caller's program number */
    uint8_t primacy;          /* the program's primacy: lower wins */
    int64_t creation_time;
    int64_t start;            /* interval start, unix seconds */
    uint32_t duration;        /* seconds */
    int32_t randomize_start;  /* seconds, -3600..3600 (OneHourRangeType) */
    int32_t randomize_duration;
    uint8_t status;           /* ge_event_status */
    int64_t status_time;      /* EventStatus.dateTime */
    uint32_t modes;           /* control modes the event sets (the caller's bits; use GE_SP_* so
                                 ge_setpoint_merge() combines the winners); an event with no
                                 mode bit is never in force but still gets its responses */
    int respond;              /* responses wanted (2030.5 responseRequired != 0) */
    uint32_t sent;            /* ge_sched_resp_bit()s of responses already sent */
    void *payload;            /* the caller's, handed back untouched */
} ge_sched_event_t;

/* A control in force now: an event, or a program's default control. */
typedef struct ge_sched_active {
    const char *id;
    void *payload;
    uint32_t program;
    uint8_t primacy;
    uint32_t modes;   /* the modes it wins now */
    int is_default;
    int64_t start;    /* effective interval (defaults: INT64_MIN, INT64_MAX) */
    int64_t end;
} ge_sched_active_t;

typedef struct ge_sched_response {
    const char *id;   /* the event's id: Response.subject */
    void *payload;
    int status;       /* ge_response_status */
    int64_t due;      /* when it became due (INT64_MIN: at once) */
} ge_sched_response_t;

typedef struct ge_sched_result {
    ge_sched_active_t active[GE_SCHED_MAX_ACTIVE];
    size_t n_active;
    uint32_t modes;                 /* union of the active entries' modes */
    ge_sched_response_t *responses; /* caller's array (may be NULL with cap 0) */
    size_t responses_cap;
    size_t n_responses;             /* filled */
    int more_responses;             /* more were due than fitted */
    int64_t next_change;            /* evaluate again by then at the latest (INT64_MAX: never) */
} ge_sched_result_t;

typedef struct ge_sched ge_sched_t;

/* MEM may be NULL (malloc).  SEED keys every randomized time. */
int ge_sched_new(ge_sched_t **out, const ge_mem_t *mem, uint64_t seed);
void ge_sched_free(ge_sched_t *s);

/* Add an event, or replace the one with the same id (its sent bits are kept and OR-ed with
 * EV->sent, so refreshing an event from the server never repeats a response).  Pointers handed
 * out by ge_sched_eval() / ge_sched_get() are invalid after put/remove. */
int ge_sched_put(ge_sched_t *s, const ge_sched_event_t *ev);
int ge_sched_remove(ge_sched_t *s, const char *id);
const ge_sched_event_t *ge_sched_get(const ge_sched_t *s, const char *id);
size_t ge_sched_count(const ge_sched_t *s);

/* Room for N events made now (at start-up, say), so that events arriving later take no
 * allocation and no page fault until there are more than N (or more than 8 programs, or default
 * controls): the event pool, the id table, the program table and the index build's scratch are
 * allocated and written once.  GE_ERR_NOMEM leaves what was reserved
 * before; GE_ERR_RANGE above 2^31 events. */
int ge_sched_reserve(ge_sched_t *s, size_t n);

/* Record that response STATUS for event ID was sent. */
int ge_sched_mark_sent(ge_sched_t *s, const char *id, int status);

/* The program's default control (2030.5 DefaultDERControl); replaces an earlier one. */
int ge_sched_set_default(ge_sched_t *s, uint32_t program, uint8_t primacy, uint32_t modes,
                         const char *id, void *payload);
int ge_sched_clear_default(ge_sched_t *s, uint32_t program);

/* What is in force at NOW and which responses are due (see the rules above). */
int ge_sched_eval(ge_sched_t *s, int64_t now, ge_sched_result_t *res);

/* The event's effective interval after randomization, cancellation and supersession (end <= start:
 * it never runs) and the final response it will get (completed, cancelled or superseded). */
int ge_sched_effective(ge_sched_t *s, const char *id, int64_t *start, int64_t *end, int *final_status);

/* Index nodes visited so far (searches, inserts, removals, rebuilds): the scheduler's work as a
 * count that does not depend on the machine, for benchmarks and tests. */
uint64_t ge_sched_nodes_visited(const ge_sched_t *s);

#ifdef __cplusplus
}
#endif
#endif
