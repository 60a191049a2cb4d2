/* test_sched.c - the event scheduler, table-driven: events in; the controls in force and the
 * responses due out, at given times.  One row per 2030.5 rule and per CSIP test idea
 * (BASIC-016..026, CORE-021 randomization, CORE-023 supersession). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/sched.h>

#include "failmem.h"
#include "runner.h"

#define T INT64_C(1800000000)
/* control modes, as an engine would number them */
#define TGT 1u /* opModTargetW */
#define EXP 2u /* opModExpLimW */
#define CON 4u /* opModConnect */

#define MAX_EV 6
#define MAX_CHECK 6

typedef struct ev_row {
    const char *id;
    uint32_t program;
    uint8_t primacy;
    int64_t created;
    int64_t start;
    uint32_t duration;
    int32_t rs, rd;
    uint8_t status;
    int64_t status_time;
    uint32_t modes;
} ev_row_t;

typedef struct check_row {
    int64_t now;
    const char *active;    /* "id=modes ..." sorted; a default control is "*id=modes" */
    const char *responses; /* "id:status ..." in the order due */
} check_row_t;

typedef struct sched_case {
    const char *name;
    ev_row_t ev[MAX_EV];
    uint32_t default_modes; /* program 0's DefaultDERControl "d0" (0: none) */
    check_row_t checks[MAX_CHECK];
} sched_case_t;

#define SCHEDULED GE_EVENT_SCHEDULED
#define CANCELLED GE_EVENT_CANCELLED
#define CANCELLED_RANDOM GE_EVENT_CANCELLED_RANDOM
#define SUPERSEDED GE_EVENT_SUPERSEDED

static const sched_case_t cases[] = {
    { "BASIC-016: one event is received, started and completed",
      { { "e1", 0, 1, T - 60, T + 100, 300, 0, 0, SCHEDULED, T - 60, TGT } }, 0,
      { { T, "", "e1:1" }, { T + 100, "e1=1", "e1:2" }, { T + 399, "e1=1", "" },
        { T + 400, "", "e1:3" }, { T + 5000, "", "" } } },
    { "BASIC-017: an event in progress when discovered runs at once for what is left",
      { { "e1", 0, 1, T - 600, T - 100, 300, 0, 0, SCHEDULED, T - 600, TGT } }, 0,
      { { T, "e1=1", "e1:1 e1:2" }, { T + 199, "e1=1", "" }, { T + 200, "", "e1:3" } } },
    { "BASIC-018: an event that ended while offline is completed without being applied",
      { { "e1", 0, 1, T - 900, T - 500, 300, 0, 0, SCHEDULED, T - 900, TGT } }, 0,
      { { T, "", "e1:1 e1:3" }, { T + 10, "", "" } } },
    { "BASIC-019: the DefaultDERControl applies outside events, per mode",
      { { "e1", 0, 1, T - 60, T + 100, 300, 0, 0, SCHEDULED, T - 60, TGT } }, TGT | EXP,
      { { T, "*d0=3", "e1:1" }, { T + 100, "*d0=2 e1=1", "e1:2" }, { T + 400, "*d0=3", "e1:3" } } },
    { "BASIC-020: primacy across programs, the lower value wins while they overlap",
      { { "e1", 0, 2, T - 60, T, 600, 0, 0, SCHEDULED, T - 60, TGT },
        { "e2", 1, 1, T - 50, T + 100, 200, 0, 0, SCHEDULED, T - 50, TGT } }, 0,
      { { T + 50, "e1=1", "e1:1 e2:1 e1:2" }, { T + 150, "e2=1", "e2:2" },
        { T + 350, "e1=1", "e2:3" }, { T + 600, "", "e1:3" } } },
    { "BASIC-021: primacy beats a newer creationTime",
      { { "e1", 0, 1, T - 1000, T, 600, 0, 0, SCHEDULED, T - 1000, TGT },
        { "e2", 1, 2, T - 10, T, 600, 0, 0, SCHEDULED, T - 10, TGT } }, 0,
      { { T, "e1=1", "e1:1 e2:1 e1:2 e2:2" }, { T + 600, "", "e1:3 e2:3" } } },
    { "BASIC-022: equal primacy across programs, the newer event wins, the older resumes",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SCHEDULED, T - 100, TGT },
        { "e2", 1, 1, T - 50, T + 100, 100, 0, 0, SCHEDULED, T - 50, TGT } }, 0,
      { { T + 10, "e1=1", "e1:1 e2:1 e1:2" }, { T + 100, "e2=1", "e2:2" },
        { T + 200, "e1=1", "e2:3" }, { T + 600, "", "e1:3" } } },
    { "CORE-023: a newer overlapping event of the same program supersedes the older",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SCHEDULED, T - 100, TGT },
        { "e2", 0, 1, T - 50, T + 300, 600, 0, 0, SCHEDULED, T - 50, TGT } }, 0,
      { { T + 10, "e1=1", "e1:1 e2:1 e1:2" }, { T + 300, "e2=1", "e1:7 e2:2" },
        { T + 599, "e2=1", "" }, { T + 900, "", "e2:3" } } },
    { "BASIC-023: superseded before it starts, an event never runs",
      { { "e1", 0, 1, T - 100, T + 100, 300, 0, 0, SCHEDULED, T - 100, TGT },
        { "e2", 0, 1, T - 50, T + 50, 600, 0, 0, SCHEDULED, T - 50, TGT } }, 0,
      { { T, "", "e1:1 e2:1" }, { T + 50, "e2=1", "e1:7 e2:2" }, { T + 150, "e2=1", "" },
        { T + 650, "", "e2:3" } } },
    { "BASIC-024: events of one program setting different modes coexist",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SCHEDULED, T - 100, TGT },
        { "e2", 0, 1, T - 50, T + 100, 200, 0, 0, SCHEDULED, T - 50, EXP } }, 0,
      { { T + 150, "e1=1 e2=2", "e1:1 e2:1 e1:2 e2:2" }, { T + 300, "e1=1", "e2:3" },
        { T + 600, "", "e1:3" } } },
    { "BASIC-025: partly shared modes, the newer wins the shared one, the older keeps the rest",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SCHEDULED, T - 100, TGT | EXP },
        { "e2", 0, 1, T - 50, T + 100, 200, 0, 0, SCHEDULED, T - 50, EXP } }, 0,
      { { T + 150, "e1=1 e2=2", "e1:1 e2:1 e1:2 e2:2" }, { T + 300, "e1=3", "e2:3" },
        { T + 600, "", "e1:3" } } },
    { "BASIC-026: a newer event setting more modes supersedes an older one it covers",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SCHEDULED, T - 100, EXP },
        { "e2", 0, 1, T - 50, T + 100, 200, 0, 0, SCHEDULED, T - 50, EXP | CON } }, 0,
      { { T + 50, "e1=2", "e1:1 e2:1 e1:2" }, { T + 100, "e2=6", "e1:7 e2:2" },
        { T + 300, "", "e2:3" }, { T + 700, "", "" } } },
    { "cancelled while active: ends at Status.dateTime, response cancelled",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, CANCELLED, T + 200, TGT } }, 0,
      { { T + 100, "e1=1", "e1:1 e1:2" }, { T + 200, "", "e1:6" }, { T + 700, "", "" } } },
    { "cancelled before its start: never runs",
      { { "e1", 0, 1, T - 100, T + 100, 600, 0, 0, CANCELLED, T - 10, TGT } }, 0,
      { { T, "", "e1:1 e1:6" }, { T + 150, "", "" } } },
    { "cancelled with randomization: ends within the randomization window",
      { { "e1", 0, 1, T - 100, T, 600, 0, 120, CANCELLED_RANDOM, T + 200, TGT } }, 0,
      { { T + 100, "e1=1", "e1:1 e1:2" }, { T + 321, "", "e1:6" } } },
    { "server-marked superseded: terminates at its Status.dateTime",
      { { "e1", 0, 1, T - 100, T, 600, 0, 0, SUPERSEDED, T + 100, TGT } }, 0,
      { { T + 50, "e1=1", "e1:1 e1:2" }, { T + 100, "", "e1:7" } } },
    { "an older event of another program is not superseded (no response 7)",
      { { "e1", 0, 1, T - 100, T, 300, 0, 0, SCHEDULED, T - 100, TGT },
        { "e2", 1, 1, T - 50, T + 100, 100, 0, 0, SCHEDULED, T - 50, TGT } }, 0,
      { { T + 150, "e2=1", "e1:1 e2:1 e1:2 e2:2" }, { T + 300, "", "e2:3 e1:3" } } },
};

/* --- the table runner --------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void format_active(const ge_sched_result_t *r, char *out, size_t cap)
{
    char items[GE_SCHED_MAX_ACTIVE][80];
    char *ptrs[GE_SCHED_MAX_ACTIVE];
    for (size_t i = 0; i < r->n_active; i++) {
        snprintf(items[i], sizeof(items[i]), "%s%s=%u", r->active[i].is_default ? "*" : "",
                 r->active[i].id, (unsigned)r->active[i].modes);
        ptrs[i] = items[i];
    }
    qsort(ptrs, r->n_active, sizeof(ptrs[0]), cmp_str);
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < r->n_active && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "", ptrs[i]);
}

static void format_responses(const ge_sched_result_t *r, char *out, size_t cap)
{
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < r->n_responses && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s:%d", i ? " " : "",
                                r->responses[i].id, r->responses[i].status);
}

static void put_rows(ge_sched_t *s, const ev_row_t *rows)
{
    for (int i = 0; i < MAX_EV && rows[i].id; i++) {
        ge_sched_event_t ev;
        memset(&ev, 0, sizeof(ev));
        snprintf(ev.id, sizeof(ev.id), "%s", rows[i].id);
        ev.program = rows[i].program;
        ev.primacy = rows[i].primacy;
        ev.creation_time = rows[i].created;
        ev.start = rows[i].start;
        ev.duration = rows[i].duration;
        ev.randomize_start = rows[i].rs;
        ev.randomize_duration = rows[i].rd;
        ev.status = rows[i].status;
        ev.status_time = rows[i].status_time;
        ev.modes = rows[i].modes;
        ev.respond = 1;
        CU_ASSERT_EQUAL_FATAL(ge_sched_put(s, &ev), 0);
    }
}

static void test_rules_table(void)
{
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const sched_case_t *tc = &cases[c];
        ge_sched_t *s;
        CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 42), 0);
        put_rows(s, tc->ev);
        if (tc->default_modes)
            CU_ASSERT_EQUAL(ge_sched_set_default(s, 0, 1, tc->default_modes, "d0", NULL), 0);
        for (int k = 0; k < MAX_CHECK && tc->checks[k].active; k++) {
            const check_row_t *ck = &tc->checks[k];
            ge_sched_response_t resp[16];
            ge_sched_result_t r;
            memset(&r, 0, sizeof(r));
            r.responses = resp;
            r.responses_cap = 16;
            CU_ASSERT_EQUAL_FATAL(ge_sched_eval(s, ck->now, &r), 0);
            char act[512], rs[512];
            format_active(&r, act, sizeof(act));
            format_responses(&r, rs, sizeof(rs));
            int ok = strcmp(act, ck->active) == 0 && strcmp(rs, ck->responses) == 0;
            if (!ok)
                fprintf(stderr, "\n%s @T%+lld: active '%s' (want '%s'), responses '%s' (want '%s')\n",
                        tc->name, (long long)(ck->now - T), act, ck->active, rs, ck->responses);
            CU_ASSERT(ok);
            /* the engine sends them: each is due exactly once */
            for (size_t i = 0; i < r.n_responses; i++)
                CU_ASSERT_EQUAL(ge_sched_mark_sent(s, r.responses[i].id, r.responses[i].status), 0);
        }
        ge_sched_free(s);
    }
}

/* --- randomization (CORE-021) ----------------------------------------------------------------- */

static void put_simple(ge_sched_t *s, const char *id, int64_t start, uint32_t dur, int32_t rs, int32_t rd)
{
    ge_sched_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    ev.primacy = 1;
    ev.creation_time = T - 1000;
    ev.start = start;
    ev.duration = dur;
    ev.randomize_start = rs;
    ev.randomize_duration = rd;
    ev.modes = TGT;
    ev.respond = 1;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
}

static void test_randomization_is_seeded_and_bounded(void)
{
    ge_sched_t *a, *b, *c;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&a, NULL, 7), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&b, NULL, 7), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&c, NULL, 8), 0);
    int differ = 0, spread_lo = 0, spread_hi = 0;
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%03d", i);
        /* far apart, so they never overlap */
        int32_t rs = (i % 2) ? 600 : -600;
        put_simple(a, id, T + i * 10000, 1200, rs, 300);
        put_simple(b, id, T + i * 10000, 1200, rs, 300);
        put_simple(c, id, T + i * 10000, 1200, rs, 300);
    }
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%03d", i);
        int64_t sa, ea, sb, eb, sc, ec;
        int fa;
        CU_ASSERT_EQUAL(ge_sched_effective(a, id, &sa, &ea, &fa), 0);
        CU_ASSERT_EQUAL(ge_sched_effective(b, id, &sb, &eb, NULL), 0);
        CU_ASSERT_EQUAL(ge_sched_effective(c, id, &sc, &ec, NULL), 0);
        int64_t base = T + i * 10000;
        /* the same seed gives the same times (a restart changes nothing) */
        CU_ASSERT_EQUAL(sa, sb);
        CU_ASSERT_EQUAL(ea, eb);
        CU_ASSERT_EQUAL(fa, GE_RESP_COMPLETED);
        if (sa != sc || ea != ec)
            differ++;
        if (i % 2) {
            CU_ASSERT(sa >= base && sa <= base + 600);
        } else {
            CU_ASSERT(sa >= base - 600 && sa <= base);
        }
        CU_ASSERT(ea - sa >= 1200 && ea - sa <= 1500);
        if (sa - base < -300 || (sa - base > 0 && sa - base < 300))
            spread_lo++;
        if (sa - base > 300 || (sa - base < 0 && sa - base > -300))
            spread_hi++;
    }
    CU_ASSERT(differ > 150);
    CU_ASSERT(spread_lo > 40 && spread_hi > 40); /* the draws spread over the window */
    ge_sched_free(a);
    ge_sched_free(b);
    ge_sched_free(c);
}

static void test_randomized_start_is_obeyed(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 99), 0);
    put_simple(s, "rnd", T, 600, 900, 0);
    int64_t es, ee;
    CU_ASSERT_EQUAL(ge_sched_effective(s, "rnd", &es, &ee, NULL), 0);
    ge_sched_result_t r;
    ge_sched_response_t resp[4];
    memset(&r, 0, sizeof(r));
    r.responses = resp;
    r.responses_cap = 4;
    CU_ASSERT_EQUAL(ge_sched_eval(s, es - 1, &r), 0);
    CU_ASSERT_EQUAL(r.n_active, 0);
    CU_ASSERT_EQUAL(r.next_change, es);
    CU_ASSERT_EQUAL(ge_sched_eval(s, es, &r), 0);
    CU_ASSERT_EQUAL(r.n_active, 1);
    CU_ASSERT_EQUAL(r.next_change, ee);
    ge_sched_free(s);
}

/* --- responses: exactly once ------------------------------------------------------------------- */

static void test_responses_exactly_once(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    put_simple(s, "x", T, 600, 0, 0);
    ge_sched_response_t resp[4];
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    r.responses = resp;
    r.responses_cap = 1;
    /* due until sent; a small array gets them one at a time */
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 10, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 1);
    CU_ASSERT_EQUAL(r.responses[0].status, GE_RESP_RECEIVED);
    CU_ASSERT_TRUE(r.more_responses);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 10, &r), 0);
    CU_ASSERT_EQUAL(r.responses[0].status, GE_RESP_RECEIVED);
    ge_sched_mark_sent(s, "x", GE_RESP_RECEIVED);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 10, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 1);
    CU_ASSERT_EQUAL(r.responses[0].status, GE_RESP_STARTED);
    CU_ASSERT_FALSE(r.more_responses);
    ge_sched_mark_sent(s, "x", GE_RESP_STARTED);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 20, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 0);
    /* the server refreshes the event: nothing is repeated */
    put_simple(s, "x", T, 600, 0, 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 30, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 0);
    ge_sched_free(s);

    /* after a restart the engine restores the sent bits: nothing is repeated either */
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    ge_sched_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "x");
    ev.start = T;
    ev.duration = 600;
    ev.modes = TGT;
    ev.respond = 1;
    ev.sent = ge_sched_resp_bit(GE_RESP_RECEIVED) | ge_sched_resp_bit(GE_RESP_STARTED);
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    r.responses_cap = 4;
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 100, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 0);
    CU_ASSERT_EQUAL(r.n_active, 1);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 600, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 1);
    CU_ASSERT_EQUAL(r.responses[0].status, GE_RESP_COMPLETED);
    /* an event without responseRequired gets none */
    ev.respond = 0;
    snprintf(ev.id, sizeof(ev.id), "quiet");
    ev.sent = 0;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    ge_sched_mark_sent(s, "x", GE_RESP_COMPLETED);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 700, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 0);
    ge_sched_free(s);
}

static void test_bits_and_arguments(void)
{
    CU_ASSERT_EQUAL(ge_sched_resp_bit(GE_RESP_RECEIVED), 2u);
    CU_ASSERT_EQUAL(ge_sched_resp_bit(GE_RESP_EXPIRED), 1u << 31);
    CU_ASSERT_EQUAL(ge_sched_resp_bit(0), 0u);
    CU_ASSERT_EQUAL(ge_sched_resp_bit(100), 0u);
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    ge_sched_event_t ev;
    memset(&ev, 0, sizeof(ev));
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), GE_ERR_INVALID); /* no id */
    snprintf(ev.id, sizeof(ev.id), "a");
    ev.randomize_start = 3601;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), GE_ERR_RANGE);
    ev.randomize_start = 0;
    ev.status = 9;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), GE_ERR_INVALID);
    ev.status = 0;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    CU_ASSERT_EQUAL(ge_sched_count(s), 1);
    CU_ASSERT_PTR_NOT_NULL(ge_sched_get(s, "a"));
    CU_ASSERT_EQUAL(ge_sched_mark_sent(s, "zz", GE_RESP_RECEIVED), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(ge_sched_mark_sent(s, "a", 0), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(ge_sched_remove(s, "a"), 0);
    CU_ASSERT_EQUAL(ge_sched_remove(s, "a"), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(ge_sched_count(s), 0);
    CU_ASSERT_PTR_NULL(ge_sched_get(s, "a"));
    CU_ASSERT_EQUAL(ge_sched_clear_default(s, 3), GE_ERR_NOTFOUND);
    ge_sched_free(s);
}

/* --- many events: the indexes against a plain scan ----------------------------------------------- */

static void test_many_events_match_a_scan(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 5), 0);
    enum { N = 3000 };
    static ge_sched_event_t evs[N];
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        ge_sched_event_t *ev = &evs[i];
        memset(ev, 0, sizeof(*ev));
        snprintf(ev->id, sizeof(ev->id), "ev%05d", i);
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ev->program = (uint32_t)(x >> 60) % 10;
        ev->primacy = (uint8_t)(ev->program % 4);
        ev->creation_time = T + i;
        ev->start = T + (int64_t)((x >> 20) % 200000);
        ev->duration = 60 + (uint32_t)((x >> 40) % 3000);
        ev->modes = 1u << ((x >> 8) % 3);
        ev->program += 100 * (uint32_t)i; /* one program per event: no supersession to model */
        CU_ASSERT_EQUAL(ge_sched_put(s, ev), 0);
    }
    /* and remove some, to exercise compaction */
    for (int i = 0; i < N; i += 7)
        CU_ASSERT_EQUAL(ge_sched_remove(s, evs[i].id), 0);
    for (int64_t now = T - 100; now < T + 205000; now += 997) {
        ge_sched_result_t r;
        memset(&r, 0, sizeof(r));
        CU_ASSERT_EQUAL_FATAL(ge_sched_eval(s, now, &r), 0);
        for (uint32_t b = 0; b < 3; b++) {
            int best = -1;
            for (int i = 0; i < N; i++) {
                const ge_sched_event_t *e = &evs[i];
                if (i % 7 == 0 || !(e->modes & (1u << b)) || now < e->start ||
                    now >= e->start + (int64_t)e->duration)
                    continue;
                if (best < 0 || e->primacy < evs[best].primacy ||
                    (e->primacy == evs[best].primacy && e->creation_time > evs[best].creation_time))
                    best = i;
            }
            const char *got = NULL;
            for (size_t j = 0; j < r.n_active; j++)
                if (r.active[j].modes & (1u << b))
                    got = r.active[j].id;
            if (best < 0) {
                CU_ASSERT_PTR_NULL(got);
            } else {
                CU_ASSERT(got && strcmp(got, evs[best].id) == 0);
            }
        }
    }
    ge_sched_free(s);
}

/* Random event sets against a direct transcription of the rules (no randomization, so the
 * expected times are plain arithmetic): cancellation, supersession, primacy, per mode. */
typedef struct ref_ev {
    ge_sched_event_t ev;
    int64_t e_raw, end;
    int final;
} ref_ev_t;

static void test_random_sets_match_the_rules(void)
{
    enum { N = 60, ROUNDS = 40 };
    static ref_ev_t r[N];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
#define RND(n) (x = x * 6364136223846793005ULL + 1442695040888963407ULL, (int64_t)((x >> 33) % (n)))
    for (int round = 0; round < ROUNDS; round++) {
        ge_sched_t *s;
        CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, (uint64_t)round), 0);
        for (int i = 0; i < N; i++) {
            ge_sched_event_t *e = &r[i].ev;
            memset(e, 0, sizeof(*e));
            snprintf(e->id, sizeof(e->id), "m%02d", i);
            e->program = (uint32_t)RND(3);
            e->primacy = (uint8_t)(e->program == 2 ? 0 : 1); /* programs 0 and 1 tie */
            e->creation_time = T - 10000 + RND(5000);
            e->start = T + RND(20000);
            e->duration = (uint32_t)(1 + RND(3000));
            e->modes = (uint32_t)(1 + RND(7));
            e->status = RND(6) == 0 ? GE_EVENT_CANCELLED : GE_EVENT_SCHEDULED;
            e->status_time = e->status ? e->start + RND(4000) - 1000 : 0;
            e->respond = 1;
            CU_ASSERT_EQUAL(ge_sched_put(s, e), 0);
        }
        /* the rules, written out */
        for (int i = 0; i < N; i++) {
            const ge_sched_event_t *e = &r[i].ev;
            int64_t ee = e->start + e->duration;
            r[i].e_raw = ee;
            r[i].final = GE_RESP_COMPLETED;
            if (e->status == GE_EVENT_CANCELLED && e->status_time < ee) {
                r[i].e_raw = e->status_time <= e->start ? e->start : e->status_time;
                r[i].final = GE_RESP_CANCELLED;
            }
        }
        for (int i = 0; i < N; i++) {
            const ge_sched_event_t *e = &r[i].ev;
            int64_t sup = INT64_MAX;
            for (int j = 0; j < N && r[i].e_raw > e->start; j++) {
                const ge_sched_event_t *f = &r[j].ev;
                if (j == i || f->program != e->program || f->creation_time <= e->creation_time ||
                    (e->modes & ~f->modes) || r[j].e_raw <= f->start)
                    continue;
                if (f->start < r[i].e_raw && e->start < r[j].e_raw && f->start < sup)
                    sup = f->start;
            }
            r[i].end = r[i].e_raw;
            if (sup < r[i].e_raw) {
                r[i].end = sup > e->start ? sup : e->start;
                r[i].final = GE_RESP_SUPERSEDED;
            }
            int64_t es, end;
            int fin;
            CU_ASSERT_EQUAL(ge_sched_effective(s, e->id, &es, &end, &fin), 0);
            CU_ASSERT_EQUAL(es, e->start);
            if (r[i].end > e->start)
                CU_ASSERT_EQUAL(end, r[i].end);
            CU_ASSERT_EQUAL(fin, r[i].final);
        }
        for (int64_t now = T - 10; now < T + 25000; now += 37) {
            ge_sched_result_t res;
            memset(&res, 0, sizeof(res));
            CU_ASSERT_EQUAL_FATAL(ge_sched_eval(s, now, &res), 0);
            for (int b = 0; b < 3; b++) {
                int best = -1;
                for (int i = 0; i < N; i++) {
                    const ge_sched_event_t *e = &r[i].ev;
                    if (!(e->modes & (1u << b)) || now < e->start || now >= r[i].end)
                        continue;
                    const ge_sched_event_t *w = best < 0 ? NULL : &r[best].ev;
                    if (!w || e->primacy < w->primacy ||
                        (e->primacy == w->primacy && (e->creation_time > w->creation_time ||
                         (e->creation_time == w->creation_time && strcmp(e->id, w->id) < 0))))
                        best = i;
                }
                const char *got = NULL;
                for (size_t j = 0; j < res.n_active; j++)
                    if (res.active[j].modes & (1u << b))
                        got = res.active[j].id;
                if (best < 0) {
                    CU_ASSERT_PTR_NULL(got);
                } else {
                    CU_ASSERT(got && strcmp(got, r[best].ev.id) == 0);
                }
            }
        }
        ge_sched_free(s);
    }
#undef RND
}

/* An event superseded before it was seen running is not reported started; when the superseding
 * event goes away, the older one runs again and is. */
static void test_unsuperseded_event_starts(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    ev_row_t rows[] = { { "a", 0, 1, T - 100, T, 1000, 0, 0, SCHEDULED, 0, TGT },
                        { "x", 0, 1, T - 50, T + 100, 1000, 0, 0, SCHEDULED, 0, TGT },
                        { NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } };
    put_rows(s, rows);
    ge_sched_response_t resp[8];
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    r.responses = resp;
    r.responses_cap = 8;
    char rs[256];
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 200, &r), 0);
    format_responses(&r, rs, sizeof(rs));
    CU_ASSERT_STRING_EQUAL(rs, "a:1 x:1 a:7 x:2");
    for (size_t i = 0; i < r.n_responses; i++)
        CU_ASSERT_EQUAL(ge_sched_mark_sent(s, r.responses[i].id, r.responses[i].status), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 200, &r), 0);
    CU_ASSERT_EQUAL(r.n_responses, 0);
    CU_ASSERT_EQUAL(ge_sched_remove(s, "x"), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 200, &r), 0);
    format_responses(&r, rs, sizeof(rs));
    CU_ASSERT_STRING_EQUAL(rs, "a:2");
    CU_ASSERT(r.n_active == 1 && strcmp(r.active[0].id, "a") == 0);
    ge_sched_free(s);
}

/* Between change points an evaluation reuses the last pick; a change at the edge of that window,
 * or a refreshed payload, must still show at once. */
static void test_changes_show_at_once(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    int p1, p2;
    ge_sched_event_t ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "e1");
    ev.primacy = 1;
    ev.start = T + 100;
    ev.duration = 100;
    ev.modes = TGT;
    ev.payload = &p1;
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(ge_sched_eval(s, T, &r), 0);
    CU_ASSERT_EQUAL(r.next_change, T + 100);
    CU_ASSERT_EQUAL(ge_sched_remove(s, "e1"), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T, &r), 0);
    CU_ASSERT_EQUAL(r.next_change, INT64_MAX);
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 150, &r), 0);
    CU_ASSERT(r.n_active == 1 && r.active[0].payload == &p1);
    ev.payload = &p2; /* the same event refreshed: the new payload is handed out */
    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T + 150, &r), 0);
    CU_ASSERT(r.n_active == 1 && r.active[0].payload == &p2);
    ge_sched_free(s);
}

/* The work per change grows like log n: index nodes visited per change (a moved event, then an
 * evaluation at the client's clock) with 32 times more events. */
static double visits_per_change(size_t n)
{
    ge_sched_t *s;
    if (ge_sched_new(&s, NULL, 3) < 0)
        return -1;
    ge_sched_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.modes = TGT;
    for (size_t i = 0; i < n; i++) {
        snprintf(ev.id, sizeof(ev.id), "%032zx", i);
        ev.program = (uint32_t)(i % 10);
        ev.primacy = (uint8_t)(ev.program / 2);
        ev.creation_time = T - 86400 + (int64_t)i;
        ev.start = T + (int64_t)(i / 10) * 600;
        ev.duration = 300 + (uint32_t)(i * 7919 % 1200);
        ev.modes = 1u << (i % 3);
        CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
    }
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    int64_t now = T + (int64_t)(n / 20) * 600;
    CU_ASSERT_EQUAL(ge_sched_eval(s, now, &r), 0);
    /* the first fill is one bulk build: a few nodes per event */
    CU_ASSERT(ge_sched_nodes_visited(s) < 8 * n);
    uint64_t v0 = ge_sched_nodes_visited(s);
    enum { CHANGES = 300 };
    for (int k = 0; k < CHANGES; k++) {
        size_t i = (size_t)((uint64_t)(k + 1) * 2654435761u % n);
        snprintf(ev.id, sizeof(ev.id), "%032zx", i);
        ev.program = (uint32_t)(i % 10);
        ev.primacy = (uint8_t)(ev.program / 2);
        ev.creation_time = T - 86400 + (int64_t)i;
        ev.start = T + (int64_t)(i / 10) * 600 + (k % 2 ? 120 : -120);
        ev.duration = 300 + (uint32_t)(k % 5) * 60;
        ev.modes = 1u << (i % 3);
        CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
        CU_ASSERT_EQUAL(ge_sched_eval(s, now, &r), 0);
    }
    double v = (double)(ge_sched_nodes_visited(s) - v0) / CHANGES;
    ge_sched_free(s);
    return v;
}

static void test_change_cost_is_logarithmic(void)
{
    double small = visits_per_change(1000), big = visits_per_change(32000);
    CU_ASSERT(small > 0 && big > 0);
    /* log n predicts 1.5x, a rebuild per change 32x */
    CU_ASSERT(big < 2.5 * small);
    CU_ASSERT(big < 400);
}

/* --- the fast indexes against a reference model ------------------------------------------------- */

/* A direct, quadratic transcription of the rules over the events the scheduler holds, driven by
 * random puts, changes, refreshes, removals, sent marks, default controls and evaluations (mostly
 * forward in time, sometimes back).  Batches of changes of every size between evaluations take
 * the scheduler's one-by-one updates and its bulk rebuild alike.  The draws of randomized events
 * come from a scheduler holding that event alone (no supersession there), so the model's times are
 * the rules' arithmetic on them. */
enum { DM_MAX = 400, DM_PROGRAMS = 6 };

typedef struct dm_ev {
    int used;
    ge_sched_event_t ev;
    int64_t es, e_raw, ssup, term0_time; /* from the event alone */
    int term0;
    int64_t end, term_time; /* after supersession */
    int term;
} dm_ev_t;

typedef struct dm {
    dm_ev_t ev[DM_MAX];
    uint64_t seed, x;
    uint32_t def_modes[DM_PROGRAMS]; /* 0: no default */
    uint8_t def_primacy[DM_PROGRAMS];
    int serial;
} dm_t;

static int64_t dm_rnd(dm_t *m, int64_t n)
{
    m->x = m->x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int64_t)((m->x >> 33) % (uint64_t)n);
}

/* Times of the event alone, from a scheduler that holds nothing else. */
static void dm_alone(dm_t *m, dm_ev_t *d)
{
    ge_sched_t *one;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&one, NULL, m->seed), 0);
    ge_sched_event_t ev = d->ev;
    ev.status = ev.status == GE_EVENT_SUPERSEDED ? GE_EVENT_SCHEDULED : ev.status;
    CU_ASSERT_EQUAL_FATAL(ge_sched_put(one, &ev), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sched_effective(one, ev.id, &d->es, &d->e_raw, &d->term0), 0);
    ge_sched_free(one);
    int cancelled = ev.status == GE_EVENT_CANCELLED || ev.status == GE_EVENT_CANCELLED_RANDOM;
    d->term0_time = cancelled && d->term0 == GE_RESP_CANCELLED && ev.status_time <= d->es ? ev.status_time
                                                                                          : d->e_raw;
    d->ssup = d->ev.status == GE_EVENT_SUPERSEDED && d->ev.status_time < d->e_raw ? d->ev.status_time
                                                                                  : INT64_MAX;
}

static void dm_random_event(dm_t *m, ge_sched_event_t *e)
{
    e->program = (uint32_t)dm_rnd(m, DM_PROGRAMS);
    e->primacy = (uint8_t)(e->program / 2); /* programs 0 and 1 tie, and so on */
    e->creation_time = T - 10000 + dm_rnd(m, 3000);
    e->start = T + dm_rnd(m, 40000);
    e->duration = (uint32_t)dm_rnd(m, 3000);
    int r = (int)dm_rnd(m, 4);
    e->randomize_start = r == 0 ? (int32_t)dm_rnd(m, 1201) - 600 : 0;
    e->randomize_duration = r == 1 ? (int32_t)dm_rnd(m, 1201) - 600 : 0;
    e->modes = (uint32_t)dm_rnd(m, 8); /* 0 too: never in force, still answered */
    int st = (int)dm_rnd(m, 10);
    e->status = st < 6 ? GE_EVENT_SCHEDULED : st < 8 ? GE_EVENT_CANCELLED
              : st < 9 ? GE_EVENT_CANCELLED_RANDOM : GE_EVENT_SUPERSEDED;
    e->status_time = e->start + dm_rnd(m, 4000) - 1000;
    e->respond = dm_rnd(m, 5) != 0;
}

/* The rules, over every held event. */
static void dm_settle(dm_t *m)
{
    for (int i = 0; i < DM_MAX; i++) {
        dm_ev_t *a = &m->ev[i];
        if (!a->used)
            continue;
        int64_t sup = a->ssup;
        for (int j = 0; j < DM_MAX && a->e_raw > a->es; j++) {
            const dm_ev_t *f = &m->ev[j];
            if (j == i || !f->used || f->ev.program != a->ev.program || f->e_raw <= f->es ||
                f->ev.creation_time <= a->ev.creation_time || (a->ev.modes & ~f->ev.modes))
                continue;
            if (f->es < a->e_raw && a->es < f->e_raw && f->es < sup)
                sup = f->es;
        }
        a->end = a->e_raw;
        a->term = a->term0;
        a->term_time = a->term0_time;
        if (sup < a->e_raw) {
            a->end = sup > a->es ? sup : a->es;
            a->term = GE_RESP_SUPERSEDED;
            a->term_time = sup;
        }
    }
}

static int dm_wins(const dm_ev_t *a, const dm_ev_t *b)
{
    if (a->ev.primacy != b->ev.primacy)
        return a->ev.primacy < b->ev.primacy;
    if (a->ev.creation_time != b->ev.creation_time)
        return a->ev.creation_time > b->ev.creation_time;
    return strcmp(a->ev.id, b->ev.id) < 0;
}

typedef struct dm_resp {
    int64_t t;
    int order; /* received 0, final 1, started 2 */
    const dm_ev_t *e;
    int status;
} dm_resp_t;

static int dm_resp_cmp(const void *pa, const void *pb)
{
    const dm_resp_t *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->order != b->order)
        return a->order - b->order;
    return strcmp(a->e->ev.id, b->e->ev.id);
}

/* Evaluate both at NOW and compare everything a caller sees; mark some responses sent. */
static int dm_eval(dm_t *m, ge_sched_t *s, int64_t now)
{
    int bad = 0;
    /* the model's answer */
    const dm_ev_t *best[3] = { NULL, NULL, NULL };
    int64_t next = INT64_MAX;
    static dm_resp_t due[3 * DM_MAX];
    size_t ndue = 0;
    for (int i = 0; i < DM_MAX; i++) {
        const dm_ev_t *e = &m->ev[i];
        if (!e->used)
            continue;
        int runs = e->end > e->es;
        if (runs && e->es > now && e->es < next)
            next = e->es;
        if (runs && e->end > now && e->end < next)
            next = e->end;
        if (runs && e->es <= now && now < e->end)
            for (int b = 0; b < 3; b++)
                if ((e->ev.modes & (1u << b)) && (!best[b] || dm_wins(e, best[b])))
                    best[b] = e;
        if (!e->ev.respond)
            continue;
        dm_resp_t ms[3] = { { INT64_MIN, 0, e, GE_RESP_RECEIVED }, { e->term_time, 1, e, e->term },
                            { e->es, 2, e, GE_RESP_STARTED } };
        for (int k = 0; k < (runs ? 3 : 2); k++) {
            if (e->ev.sent & ge_sched_resp_bit(ms[k].status))
                continue;
            if (ms[k].t > now) {
                if (ms[k].t < next)
                    next = ms[k].t;
                continue;
            }
            if (ms[k].status == GE_RESP_STARTED && now >= e->end)
                continue; /* ended unseen: only completed */
            due[ndue++] = ms[k];
        }
    }
    qsort(due, ndue, sizeof(due[0]), dm_resp_cmp);
    char want[1024] = "", got[1024];
    size_t len = 0;
    uint32_t def_taken = 0;
    for (int b = 0; b < 3; b++) {
        if (best[b]) {
            len += (size_t)snprintf(want + len, sizeof(want) - len, "%s:%d ", best[b]->ev.id, b);
            continue;
        }
        int w = -1;
        for (int p = 0; p < DM_PROGRAMS; p++)
            if ((m->def_modes[p] & (1u << b)) &&
                (w < 0 || m->def_primacy[p] < m->def_primacy[w]))
                w = p;
        if (w >= 0) {
            len += (size_t)snprintf(want + len, sizeof(want) - len, "*d%d:%d ", w, b);
            def_taken |= 1u << b;
        }
    }
    /* the scheduler's */
    ge_sched_response_t resp[8];
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    r.responses = resp;
    r.responses_cap = 1 + (size_t)dm_rnd(m, 8);
    CU_ASSERT_EQUAL_FATAL(ge_sched_eval(s, now, &r), 0);
    len = 0;
    got[0] = '\0';
    for (int b = 0; b < 3; b++)
        for (size_t j = 0; j < r.n_active; j++)
            if (r.active[j].modes & (1u << b))
                len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s:%d ",
                                        r.active[j].is_default ? "*" : "", r.active[j].id, b);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "\nat T%+lld: in force '%s', the rules say '%s'\n", (long long)(now - T), got, want);
        bad = 1;
    }
    for (size_t j = 0; j < r.n_active && !r.active[j].is_default; j++) {
        const dm_ev_t *e = NULL;
        for (int i = 0; i < DM_MAX && !e; i++)
            if (m->ev[i].used && strcmp(m->ev[i].ev.id, r.active[j].id) == 0)
                e = &m->ev[i];
        if (!e || r.active[j].start != e->es || r.active[j].end != e->end ||
            r.active[j].payload != e->ev.payload)
            bad = 1;
    }
    if (r.next_change != next) {
        fprintf(stderr, "\nat T%+lld: next change %lld, the rules say %lld\n", (long long)(now - T),
                (long long)r.next_change, (long long)next);
        bad = 1;
    }
    size_t expect = ndue < r.responses_cap ? ndue : r.responses_cap;
    if (r.n_responses != expect || r.more_responses != (ndue > r.responses_cap))
        bad = 1;
    for (size_t k = 0; k < r.n_responses && k < expect; k++)
        if (strcmp(r.responses[k].id, due[k].e->ev.id) != 0 || r.responses[k].status != due[k].status ||
            r.responses[k].due != due[k].t)
            bad = 1;
    /* the engine sends most of what is due */
    for (size_t k = 0; k < r.n_responses; k++)
        if (dm_rnd(m, 3) == 0) {
            CU_ASSERT_EQUAL(ge_sched_mark_sent(s, r.responses[k].id, r.responses[k].status), 0);
            for (int i = 0; i < DM_MAX; i++)
                if (m->ev[i].used && strcmp(m->ev[i].ev.id, r.responses[k].id) == 0)
                    m->ev[i].ev.sent |= ge_sched_resp_bit(r.responses[k].status);
        }
    return bad;
}

static void test_differential_against_model(void)
{
    static dm_t m;
    long mismatches = 0, evals = 0;
    for (int round = 0; round < 8; round++) {
        memset(&m, 0, sizeof(m));
        m.seed = 1000 + (uint64_t)round;
        m.x = 0x51afd7ed558ccdULL * (uint64_t)(round + 1);
        ge_sched_t *s;
        CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, m.seed), 0);
        int64_t now = T - 500;
        for (int step = 0; step < 220; step++) {
            /* a batch of changes: usually a few, sometimes a flood (a first fill, a big refresh) */
            int batch = dm_rnd(&m, 10) == 0 ? 50 + (int)dm_rnd(&m, 300) : 1 + (int)dm_rnd(&m, 3);
            for (int c = 0; c < batch; c++) {
                dm_ev_t *d = &m.ev[dm_rnd(&m, DM_MAX)];
                int op = (int)dm_rnd(&m, 10);
                if (!d->used || op < 4) { /* a new event, or a changed one */
                    if (!d->used) {
                        memset(d, 0, sizeof(*d));
                        snprintf(d->ev.id, sizeof(d->ev.id), "%032x", m.serial++);
                        d->ev.payload = d;
                    }
                    uint32_t sent = d->ev.sent;
                    dm_random_event(&m, &d->ev);
                    d->ev.sent = sent;
                    d->used = 1;
                    dm_alone(&m, d);
                    CU_ASSERT_EQUAL(ge_sched_put(s, &d->ev), 0);
                } else if (op < 6) { /* refreshed from the server: same schedule, bits restored */
                    ge_sched_event_t ev = d->ev;
                    ev.sent = dm_rnd(&m, 3) == 0 ? ge_sched_resp_bit(GE_RESP_RECEIVED) : 0;
                    d->ev.sent |= ev.sent;
                    CU_ASSERT_EQUAL(ge_sched_put(s, &ev), 0);
                } else if (op < 8) {
                    CU_ASSERT_EQUAL(ge_sched_remove(s, d->ev.id), 0);
                    d->used = 0;
                } else if (op < 9) {
                    int p = (int)dm_rnd(&m, DM_PROGRAMS);
                    char id[16];
                    snprintf(id, sizeof(id), "d%d", p);
                    m.def_modes[p] = (uint32_t)dm_rnd(&m, 8);
                    m.def_primacy[p] = (uint8_t)(p / 2);
                    if (m.def_modes[p]) {
                        CU_ASSERT_EQUAL(ge_sched_set_default(s, (uint32_t)p, m.def_primacy[p],
                                                             m.def_modes[p], id, NULL), 0);
                    } else {
                        ge_sched_clear_default(s, (uint32_t)p);
                    }
                } else { /* a sent mark the scheduler did not ask for */
                    static const int st[] = { GE_RESP_RECEIVED, GE_RESP_STARTED, GE_RESP_COMPLETED };
                    int status = st[dm_rnd(&m, 3)];
                    CU_ASSERT_EQUAL(ge_sched_mark_sent(s, d->ev.id, status), 0);
                    d->ev.sent |= ge_sched_resp_bit(status);
                }
            }
            dm_settle(&m);
            for (int k = 0; k < 4; k++) {
                now += dm_rnd(&m, 5) == 0 ? -dm_rnd(&m, 8000) : dm_rnd(&m, 2500);
                mismatches += dm_eval(&m, s, now);
                evals++;
            }
            /* every held event's times, as ge_sched_effective() tells them */
            for (int i = 0; i < DM_MAX; i++) {
                const dm_ev_t *h = &m.ev[i];
                int64_t es, end;
                int fin;
                if (!h->used)
                    continue;
                CU_ASSERT_EQUAL(ge_sched_effective(s, h->ev.id, &es, &end, &fin), 0);
                if (es != h->es || end != h->end || fin != h->term)
                    mismatches++;
            }
            size_t held = 0;
            for (int i = 0; i < DM_MAX; i++)
                held += m.ev[i].used;
            CU_ASSERT_EQUAL(ge_sched_count(s), held);
        }
        ge_sched_free(s);
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(evals > 5000);
}

/* N events over 3 programs, a default, a removal and an evaluation: what the allocation tests run. */
static int sched_fill_some(ge_sched_t *s, int n)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        ge_sched_event_t ev;
        memset(&ev, 0, sizeof(ev));
        snprintf(ev.id, sizeof(ev.id), "f%d", i);
        ev.program = (uint32_t)(i % 3);
        ev.start = T + i * 100;
        ev.duration = 250;
        ev.creation_time = i;
        ev.modes = TGT;
        ev.respond = 1;
        rc = ge_sched_put(s, &ev);
    }
    if (rc == 0)
        rc = ge_sched_set_default(s, 0, 1, TGT | EXP, "d", NULL);
    if (rc == 0)
        rc = ge_sched_remove(s, "f3");
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    if (rc == 0)
        rc = ge_sched_eval(s, T + 1000, &r);
    return rc;
}

static int sched_alloc_op(void *ud, const ge_mem_t *mem)
{
    (void)ud;
    ge_sched_t *s;
    int rc = ge_sched_new(&s, mem, 3);
    if (rc < 0)
        return rc;
    rc = sched_fill_some(s, 40);
    ge_sched_free(s);
    return rc;
}

static void test_allocation_failures(void)
{
    long bad = -1;
    CU_ASSERT(failmem_sweep(sched_alloc_op, NULL, &bad) > 5);
    CU_ASSERT_EQUAL(bad, -1);
}

/* ge_sched_reserve(): events up to the reservation take no allocation (puts, the index build,
 * evaluations), the schedule is the same as without it, and past it the scheduler grows as usual. */
static void test_reserve_takes_the_allocations(void)
{
    enum { N = 2000 };
    failmem_t fm;
    ge_sched_t *a, *b;

    failmem_init(&fm, -1);
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&a, &fm.mem, 9), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&b, NULL, 9), 0);
    CU_ASSERT_EQUAL(ge_sched_reserve(a, N), 0);
    CU_ASSERT_EQUAL(ge_sched_reserve(a, N / 2), 0); /* less than held: nothing to do */
    long before = fm.count;
    for (int round = 0; round < 2; round++) { /* the second round replaces every event */
        for (int i = 0; i < N; i++) {
            ge_sched_event_t ev;
            memset(&ev, 0, sizeof(ev));
            snprintf(ev.id, sizeof(ev.id), "r%04d", i);
            ev.program = (uint32_t)(i % 6);
            ev.primacy = (uint8_t)(i % 3);
            ev.creation_time = T - N + i + round;
            ev.start = T + (i / 6) * 60 + round * 30;
            ev.duration = 90 + (uint32_t)(i % 7) * 10;
            ev.modes = 1u << (i % 3);
            ev.respond = i % 2;
            CU_ASSERT_EQUAL(ge_sched_put(a, &ev), 0);
            CU_ASSERT_EQUAL(ge_sched_put(b, &ev), 0);
        }
        for (int64_t now = T - 10; now < T + (N / 6) * 60 + 200; now += 37) {
            ge_sched_response_t ra[64], rb[64];
            ge_sched_result_t xa, xb;
            memset(&xa, 0, sizeof(xa));
            memset(&xb, 0, sizeof(xb));
            xa.responses = ra;
            xa.responses_cap = 64;
            xb.responses = rb;
            xb.responses_cap = 64;
            CU_ASSERT_EQUAL_FATAL(ge_sched_eval(a, now, &xa), 0);
            CU_ASSERT_EQUAL_FATAL(ge_sched_eval(b, now, &xb), 0);
            CU_ASSERT_EQUAL(xa.modes, xb.modes);
            CU_ASSERT_EQUAL(xa.n_active, xb.n_active);
            CU_ASSERT_EQUAL(xa.n_responses, xb.n_responses);
            CU_ASSERT_EQUAL(xa.next_change, xb.next_change);
            for (size_t j = 0; j < xa.n_active && j < xb.n_active; j++)
                CU_ASSERT_STRING_EQUAL(xa.active[j].id, xb.active[j].id);
        }
    }
    CU_ASSERT_EQUAL(fm.count, before);
    /* past the reservation: more room, as without one */
    for (int i = 0; i < 100; i++) {
        ge_sched_event_t ev;
        memset(&ev, 0, sizeof(ev));
        snprintf(ev.id, sizeof(ev.id), "x%03d", i);
        ev.start = T;
        ev.duration = 60;
        ev.modes = 1;
        CU_ASSERT_EQUAL(ge_sched_put(a, &ev), 0);
    }
    CU_ASSERT(fm.count > before);
    CU_ASSERT_EQUAL(ge_sched_count(a), N + 100);
    CU_ASSERT_EQUAL(ge_sched_reserve(NULL, 10), GE_ERR_INVALID);
    if (sizeof(size_t) > 4)
        CU_ASSERT_EQUAL(ge_sched_reserve(a, ((size_t)1 << 31) + 1), GE_ERR_RANGE);
    ge_sched_free(a);
    ge_sched_free(b);
    CU_ASSERT_EQUAL(fm.live, 0);
}

static int sched_reserve_op(void *ud, const ge_mem_t *mem)
{
    (void)ud;
    ge_sched_t *s;
    int rc = ge_sched_new(&s, mem, 3);
    if (rc < 0)
        return rc;
    rc = ge_sched_reserve(s, 300);
    if (rc == 0)
        rc = sched_fill_some(s, 40);
    ge_sched_free(s);
    return rc;
}

static void test_reserve_allocation_failures(void)
{
    long bad = -1;
    CU_ASSERT(failmem_sweep(sched_reserve_op, NULL, &bad) > 3);
    CU_ASSERT_EQUAL(bad, -1);
}

/* DefaultDERControls of several programs: per mode, the lowest primacy; clearing falls back. */
static void test_defaults_by_primacy(void)
{
    ge_sched_t *s;
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
    int p1, p2;
    CU_ASSERT_EQUAL(ge_sched_set_default(s, 1, 5, TGT | EXP, "dA", &p1), 0);
    CU_ASSERT_EQUAL(ge_sched_set_default(s, 2, 2, EXP | CON, "dB", &p2), 0);
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    char act[256];
    CU_ASSERT_EQUAL(ge_sched_eval(s, T, &r), 0);
    format_active(&r, act, sizeof(act));
    CU_ASSERT_STRING_EQUAL(act, "*dA=1 *dB=6");
    CU_ASSERT_EQUAL(r.next_change, INT64_MAX);
    for (size_t i = 0; i < r.n_active; i++)
        CU_ASSERT_PTR_EQUAL(r.active[i].payload, strcmp(r.active[i].id, "dA") == 0 ? (void *)&p1 : (void *)&p2);
    /* replacing a program's default, then clearing the other */
    CU_ASSERT_EQUAL(ge_sched_set_default(s, 1, 1, EXP, "dA2", NULL), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T, &r), 0);
    format_active(&r, act, sizeof(act));
    CU_ASSERT_STRING_EQUAL(act, "*dA2=2 *dB=4");
    CU_ASSERT_EQUAL(ge_sched_clear_default(s, 1), 0);
    CU_ASSERT_EQUAL(ge_sched_eval(s, T, &r), 0);
    format_active(&r, act, sizeof(act));
    CU_ASSERT_STRING_EQUAL(act, "*dB=6");
    ge_sched_free(s);
}

/* After an allocation fails, the scheduler is still usable: the next evaluation is right. */
static void test_recovers_after_allocation_failure(void)
{
    for (long n = 0; n < 80; n++) {
        failmem_t fm;
        failmem_init(&fm, n);
        ge_sched_t *s;
        if (ge_sched_new(&s, &fm.mem, 3) < 0)
            continue;
        int ok = 1;
        for (int i = 0; i < 20; i++) {
            ge_sched_event_t ev;
            memset(&ev, 0, sizeof(ev));
            snprintf(ev.id, sizeof(ev.id), "g%d", i);
            ev.program = (uint32_t)i;
            ev.primacy = (uint8_t)i;
            ev.start = T + i * 100;
            ev.duration = 1000;
            ev.modes = TGT;
            ev.respond = 1;
            if (ge_sched_put(s, &ev) < 0)
                ok = 0;
        }
        ge_sched_result_t r;
        memset(&r, 0, sizeof(r));
        ge_sched_remove(s, "g0");
        if (ge_sched_eval(s, T + 950, &r) < 0)
            CU_ASSERT_EQUAL(ge_sched_eval(s, T + 950, &r), 0);
        /* g1 (primacy 1) wins whenever it was stored */
        if (ok) {
            CU_ASSERT_EQUAL(r.n_active, 1);
            CU_ASSERT(r.n_active == 1 && strcmp(r.active[0].id, "g1") == 0);
        }
        ge_sched_free(s);
        CU_ASSERT_EQUAL(fm.live, 0);
    }
}

/* --- the ways to the same schedule ---------------------------------------------------------------- */

/* However a set of events arrives (in one fill, which rebuilds every index at once, one evaluation
 * per event, batches, refreshes, removals that leave a rebuild no put reserved memory for, a put
 * whose memory ran out), the schedule is the one computed by a scheduler given the final set at
 * once (a rebuild) and by one given it an evaluation per event (linked one by one): the same
 * effective times and final responses, the same controls, next change and responses due. */
typedef struct path_row {
    const char *name;
    int n;         /* events in the final set */
    int batches;   /* they arrive in this many evaluated batches */
    int unevaluated; /* then this many of those that stay change, not evaluated before... */
    int removed;   /* ...events are removed (ids 0, 3, 6, ..., then 1, 4, ..., then 2, 5, ...) */
    int refresh;   /* every event is put again with a later start (all changed at once) */
    int changes;   /* then this many single events change (one evaluation each) */
    int respond;
    int fail_each; /* run once per allocation, failing each in turn; the put that meets it is retried */
} path_row_t;

static const path_row_t path_rows[] = {
    { "one fill, one rebuild", 600, 1, 0, 0, 0, 0, 1, 0 },
    { "one evaluation per event", 150, 150, 0, 0, 0, 0, 1, 0 },
    { "batches, rebuilt and linked one by one", 400, 7, 0, 0, 0, 0, 1, 0 },
    { "no responses wanted", 500, 3, 0, 0, 0, 0, 0, 0 },
    { "removals among similar ids (the id table's deletions)", 300, 4, 0, 450, 0, 0, 1, 0 },
    { "removals leave a rebuild no put reserved for", 200, 1, 60, 900, 0, 0, 1, 0 },
    { "a refresh of every event, then single changes", 300, 2, 0, 0, 1, 40, 1, 0 },
    { "each allocation fails in turn", 90, 1, 0, 0, 1, 5, 1, 1 },
};

static void path_event(uint64_t *x, int i, int respond, ge_sched_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->id, sizeof(ev->id), "%032x", (unsigned)i); /* long shared prefixes */
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t r = *x >> 16;
    ev->program = (uint32_t)(r % 5);
    ev->primacy = (uint8_t)(ev->program / 2);
    ev->creation_time = T - 5000 + (int64_t)((r >> 4) % 4000);
    ev->start = T + (int64_t)((r >> 16) % 20000);
    ev->duration = 300 + (uint32_t)((r >> 32) % 2700);
    ev->randomize_start = (r >> 44) % 4 == 0 ? 120 : 0;
    ev->randomize_duration = (r >> 46) % 5 == 0 ? -60 : 0;
    ev->modes = 1u + (uint32_t)((r >> 8) % 7);
    switch ((r >> 40) % 10) {
    case 0:
        ev->status = GE_EVENT_CANCELLED;
        ev->status_time = ev->start + (int64_t)((r >> 12) % 600) - 300;
        break;
    case 1:
        ev->status = GE_EVENT_SUPERSEDED;
        ev->status_time = ev->start + 100;
        break;
    default:
        ev->status = GE_EVENT_SCHEDULED;
    }
    ev->respond = respond;
}

/* Put EV into S; a put that meets the failing allocation must store nothing, and is retried. */
static void path_put(ge_sched_t *s, const ge_sched_event_t *ev)
{
    size_t before = ge_sched_count(s);
    int known = ge_sched_get(s, ev->id) != NULL;
    int rc = ge_sched_put(s, ev);
    if (rc < 0) {
        CU_ASSERT_EQUAL(rc, GE_ERR_NOMEM);
        CU_ASSERT_EQUAL(ge_sched_count(s), before);
        CU_ASSERT_EQUAL(ge_sched_get(s, ev->id) != NULL, known);
        rc = ge_sched_put(s, ev);
    }
    CU_ASSERT_EQUAL(rc, 0);
}

static void path_eval(ge_sched_t *s, int64_t now)
{
    ge_sched_result_t r;
    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(ge_sched_eval(s, now, &r), 0);
}

/* ROW with allocation FAIL_AT failing (-1: none); how many allocations were made. */
static long path_run(const path_row_t *row, uint64_t seed, long fail_at)
{
    enum { NMAX = 1200 };
    static ge_sched_event_t evs[NMAX];
    int total = row->n + row->removed;
    CU_ASSERT_FATAL(total <= NMAX);
    failmem_t fm;
    failmem_init(&fm, fail_at);
    ge_sched_t *s, *ref, *each;
    if (ge_sched_new(&s, &fm.mem, 9) < 0) {
        CU_ASSERT_EQUAL(fail_at, 0);
        return fm.count;
    }
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&ref, NULL, 9), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sched_new(&each, NULL, 9), 0);
    uint64_t x = seed;
    for (int i = 0; i < total; i++)
        path_event(&x, i, row->respond, &evs[i]);
    int per = (total + row->batches - 1) / row->batches;
    for (int i = 0; i < total; i++) {
        path_put(s, &evs[i]);
        if ((i + 1) % per == 0 || i + 1 == total)
            path_eval(s, T - 20000);
    }
    for (int i = total - 1, k = 0; i >= 0 && k < row->unevaluated; i--)
        if (i % 3 == 2) {
            evs[i].duration += 30;
            path_put(s, &evs[i]);
            k++;
        }
    int gone = 0;
    for (int i = 0; gone < row->removed && i < total; i += 3, gone++)
        CU_ASSERT_EQUAL(ge_sched_remove(s, evs[i].id), 0);
    for (int i = 1; gone < row->removed && i < total; i += 3, gone++)
        CU_ASSERT_EQUAL(ge_sched_remove(s, evs[i].id), 0);
    for (int i = 2; gone < row->removed && i < total; i += 3, gone++)
        CU_ASSERT_EQUAL(ge_sched_remove(s, evs[i].id), 0);
    path_eval(s, T - 20000);
    if (row->refresh)
        for (int i = 0; i < total; i++) {
            evs[i].start += 45;
            if (ge_sched_get(s, evs[i].id))
                path_put(s, &evs[i]);
        }
    path_eval(s, T - 20000);
    for (int k = 0; k < row->changes; k++) {
        int i = (int)((uint64_t)(k + 1) * 2654435761u % (uint64_t)total);
        if (!ge_sched_get(s, evs[i].id))
            continue;
        evs[i].start += (k % 2 ? 400 : -400);
        evs[i].duration += 60;
        path_put(s, &evs[i]);
        path_eval(s, T - 20000);
    }
    /* the references: the final set at once (one rebuild), and one evaluation per event (each
     * linked by itself once there are a few) */
    for (int i = 0; i < total; i++)
        if (ge_sched_get(s, evs[i].id)) {
            CU_ASSERT_EQUAL(ge_sched_put(ref, &evs[i]), 0);
            CU_ASSERT_EQUAL(ge_sched_put(each, &evs[i]), 0);
            path_eval(each, T - 20000);
        }
    ge_sched_t *all[3] = { s, ref, each };
    int same = 1;
    for (int k = 0; k < 3; k++)
        CU_ASSERT_EQUAL(ge_sched_count(all[k]), (size_t)row->n);
    for (int i = 0; i < total; i++) {
        int64_t a0, a1, b0, b1;
        int af, bf;
        if (ge_sched_effective(s, evs[i].id, &a0, &a1, &af) < 0)
            continue;
        for (int k = 1; k < 3; k++) {
            CU_ASSERT_EQUAL(ge_sched_effective(all[k], evs[i].id, &b0, &b1, &bf), 0);
            same &= a0 == b0 && a1 == b1 && af == bf;
        }
    }
    for (int64_t now = T - 600; now < T + 24000; now += 293) {
        ge_sched_response_t resp[3][64];
        ge_sched_result_t r[3];
        char act[3][1024], rs[3][4096];
        for (int k = 0; k < 3; k++) {
            memset(&r[k], 0, sizeof(r[k]));
            r[k].responses = resp[k];
            r[k].responses_cap = 64;
            CU_ASSERT_EQUAL_FATAL(ge_sched_eval(all[k], now, &r[k]), 0);
            format_active(&r[k], act[k], sizeof(act[k]));
            format_responses(&r[k], rs[k], sizeof(rs[k]));
        }
        for (int k = 1; k < 3; k++)
            same &= strcmp(act[0], act[k]) == 0 && strcmp(rs[0], rs[k]) == 0 &&
                r[0].next_change == r[k].next_change &&
                r[0].more_responses == r[k].more_responses;
        for (size_t i = 0; i < r[1].n_responses; i++)
            for (int k = 0; k < 3; k++)
                CU_ASSERT_EQUAL(ge_sched_mark_sent(all[k], resp[1][i].id, resp[1][i].status), 0);
    }
    if (!same)
        fprintf(stderr, "\n%s: the schedule differs from the one given at once or one by one\n",
                row->name);
    CU_ASSERT(same);
    ge_sched_free(each);
    ge_sched_free(s);
    ge_sched_free(ref);
    CU_ASSERT_EQUAL(fm.live, 0);
    return fm.count;
}

static void test_paths_to_one_schedule(void)
{
    for (size_t c = 0; c < sizeof(path_rows) / sizeof(path_rows[0]); c++) {
        const path_row_t *row = &path_rows[c];
        if (!row->fail_each) {
            path_run(row, 77 + c, -1);
            continue;
        }
        long runs = 0; /* until a run meets no failure */
        for (long fail_at = 0; path_run(row, 77 + c, fail_at) > fail_at; fail_at++)
            runs++;
        CU_ASSERT(runs > 10);
    }
}

/* A fill builds balanced trees: right after one, a pick that passes a change point (a stabbing
 * query and the search for the next start, each a descent of about log2 n levels, with one event
 * in force) visits at most 3 log2 n + 4 nodes.  Random priorities give trees about 1.4 times as
 * deep, whose worst picks pass that bound at each of these sizes. */
static void test_fill_builds_balanced_trees(void)
{
    static const struct {
        int log2n;
        int programs;
    } rows[] = { { 10, 1 }, { 13, 4 }, { 15, 10 } };
    for (size_t c = 0; c < sizeof(rows) / sizeof(rows[0]); c++) {
        int n = 1 << rows[c].log2n;
        ge_sched_t *s;
        CU_ASSERT_EQUAL_FATAL(ge_sched_new(&s, NULL, 1), 0);
        for (int i = 0; i < n; i++) {
            ge_sched_event_t ev;
            memset(&ev, 0, sizeof(ev));
            snprintf(ev.id, sizeof(ev.id), "b%d", i);
            ev.program = (uint32_t)(i % rows[c].programs);
            ev.primacy = 1;
            ev.creation_time = i;
            ev.start = T + (int64_t)i * 100; /* one at a time: 50 s on, 50 s off */
            ev.duration = 50;
            ev.modes = TGT;
            CU_ASSERT_EQUAL_FATAL(ge_sched_put(s, &ev), 0);
        }
        ge_sched_result_t r;
        memset(&r, 0, sizeof(r));
        CU_ASSERT_EQUAL(ge_sched_eval(s, T - 1, &r), 0); /* the fill's rebuild */
        uint64_t worst = 0;
        for (int64_t now = T + 25; now < T + (int64_t)n * 100; now += 97 * 100) {
            uint64_t v0 = ge_sched_nodes_visited(s);
            CU_ASSERT_EQUAL(ge_sched_eval(s, now, &r), 0);
            CU_ASSERT_EQUAL(r.n_active, 1);
            uint64_t v = ge_sched_nodes_visited(s) - v0;
            worst = v > worst ? v : worst;
        }
        CU_ASSERT(worst > 0);
        CU_ASSERT(worst <= (uint64_t)(3 * rows[c].log2n + 4));
        ge_sched_free(s);
    }
}

int test_register(void)
{
    static const test_case_t tcs[] = {
        { "2030.5 / CSIP rules (table)", test_rules_table },
        { "CORE-021: randomization is seeded and bounded", test_randomization_is_seeded_and_bounded },
        { "randomized start is obeyed", test_randomized_start_is_obeyed },
        { "responses are due exactly once", test_responses_exactly_once },
        { "status bits and argument checks", test_bits_and_arguments },
        { "3000 events: indexes agree with a scan", test_many_events_match_a_scan },
        { "random sets agree with the rules written out", test_random_sets_match_the_rules },
        { "allocation failures are clean", test_allocation_failures },
        { "a reservation takes the allocations", test_reserve_takes_the_allocations },
        { "a reservation fails cleanly", test_reserve_allocation_failures },
        { "usable after an allocation failure", test_recovers_after_allocation_failure },
        { "default controls by primacy", test_defaults_by_primacy },
        { "an event no longer superseded is started", test_unsuperseded_event_starts },
        { "changes show at once between change points", test_changes_show_at_once },
        { "the work per change grows like log n", test_change_cost_is_logarithmic },
        { "random changes: the indexes agree with the rules over thousands of events",
          test_differential_against_model },
        { "every way to a set of events gives the same schedule (table)", test_paths_to_one_schedule },
        { "a fill builds balanced trees (table)", test_fill_builds_balanced_trees },
        { NULL, NULL },
    };
    return test_add_suite("sched", tcs);
}
