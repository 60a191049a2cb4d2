/* bench_sched.c - the event scheduler with 10, 1,000 and 100,000 events across 10 programs:
 *  - fill: putting every event into a new scheduler and the first index build (includes the
 *    operating system handing out fresh memory);
 *  - change: one event changes and the indexes are rebuilt (the steady state of a client whose
 *    server edits an event); ns per event held, goal < 1 us at 100,000;
 *  - pick: the controls in force at a tick, against a naive scan of every event per tick measured
 *    in the same run (ratio = scan time / scheduler time; above 1 means the indexes win). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/sched.h>

#include "bench.h"

#define T0 INT64_C(1800000000)
#define PROGRAMS 10
#define TICKS 256
#define MODES 3

typedef struct run {
    ge_sched_t *s;
    size_t n;
    ge_sched_event_t *ev;
    int64_t *es, *ee; /* effective times, for the scan */
    int64_t horizon;
    volatile uint32_t sink;
} run_t;

static void make_events(ge_sched_event_t *ev, size_t n)
{
    uint64_t x = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < n; i++) {
        memset(&ev[i], 0, sizeof(ev[i]));
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        snprintf(ev[i].id, sizeof(ev[i].id), "%032zx", i);
        ev[i].program = (uint32_t)(i % PROGRAMS);
        ev[i].primacy = (uint8_t)(ev[i].program / 2);
        ev[i].creation_time = T0 - 86400 + (int64_t)i;
        /* each program has an event every 10 min lasting 5..25 min: some overlap, some supersede */
        ev[i].start = T0 + (int64_t)(i / PROGRAMS) * 600;
        ev[i].duration = 300 + (uint32_t)(x % 1200);
        ev[i].randomize_start = (x >> 20) % 4 == 0 ? 120 : 0;
        ev[i].modes = 1u << ((x >> 32) % MODES);
    }
}

static double run_build(run_t *r)
{
    ge_sched_free(r->s);
    r->s = NULL;
    double t0 = bench_now_ns();
    if (ge_sched_new(&r->s, NULL, 1) < 0)
        abort();
    for (size_t i = 0; i < r->n; i++)
        if (ge_sched_put(r->s, &r->ev[i]) < 0)
            abort();
    ge_sched_result_t res;
    memset(&res, 0, sizeof(res));
    if (ge_sched_eval(r->s, T0, &res) < 0) /* the first evaluation builds the indexes */
        abort();
    return bench_now_ns() - t0;
}

/* One event's duration changes; the next evaluation rebuilds the indexes. */
static double run_change(run_t *r, int k)
{
    ge_sched_event_t ev = r->ev[r->n / 2];
    ev.duration += (uint32_t)(k % 2 + 1);
    double t0 = bench_now_ns();
    if (ge_sched_put(r->s, &ev) < 0)
        abort();
    ge_sched_result_t res;
    memset(&res, 0, sizeof(res));
    if (ge_sched_eval(r->s, T0, &res) < 0)
        abort();
    return bench_now_ns() - t0;
}

static double tick_sched(void *ud)
{
    run_t *r = ud;
    ge_sched_result_t res;
    memset(&res, 0, sizeof(res));
    double t0 = bench_now_ns();
    for (int k = 0; k < TICKS; k++) {
        int64_t now = T0 + r->horizon * k / TICKS;
        if (ge_sched_eval(r->s, now, &res) < 0)
            abort();
        r->sink += res.modes + (uint32_t)res.n_active;
    }
    return bench_now_ns() - t0;
}

/* The naive baseline: every tick looks at every event. */
static double tick_scan(void *ud)
{
    run_t *r = ud;
    double t0 = bench_now_ns();
    for (int k = 0; k < TICKS; k++) {
        int64_t now = T0 + r->horizon * k / TICKS;
        long best[MODES] = { -1, -1, -1 };
        for (size_t i = 0; i < r->n; i++) {
            if (now < r->es[i] || now >= r->ee[i])
                continue;
            const ge_sched_event_t *e = &r->ev[i];
            for (int b = 0; b < MODES; b++) {
                if (!(e->modes & (1u << b)))
                    continue;
                const ge_sched_event_t *w = best[b] < 0 ? NULL : &r->ev[best[b]];
                if (!w || e->primacy < w->primacy ||
                    (e->primacy == w->primacy && e->creation_time > w->creation_time))
                    best[b] = (long)i;
            }
        }
        r->sink += (uint32_t)(best[0] + best[1] + best[2]);
    }
    return bench_now_ns() - t0;
}

int main(void)
{
    static const size_t sizes[] = { 10, 1000, 100000 };
    int failed = 0;
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        run_t r;
        memset(&r, 0, sizeof(r));
        r.n = sizes[z];
        r.ev = calloc(r.n, sizeof(*r.ev));
        r.es = calloc(r.n, sizeof(*r.es));
        r.ee = calloc(r.n, sizeof(*r.ee));
        if (!r.ev || !r.es || !r.ee)
            return 1;
        make_events(r.ev, r.n);
        r.horizon = (int64_t)(r.n / PROGRAMS + 1) * 600;

        int rounds = r.n >= 100000 ? 5 : 15;
        double build = 1e300;
        for (int k = 0; k < rounds; k++) {
            double t = run_build(&r);
            if (t < build)
                build = t;
        }
        double change = 1e300;
        for (int k = 0; k < rounds; k++) {
            double t = run_change(&r, k);
            if (t < change)
                change = t;
        }
        /* put the middle event back as it was, for the scan's copy of the times */
        if (ge_sched_put(r.s, &r.ev[r.n / 2]) < 0)
            return 1;
        for (size_t i = 0; i < r.n; i++)
            if (ge_sched_effective(r.s, r.ev[i].id, &r.es[i], &r.ee[i], NULL) < 0)
                return 1;
        double sched_ns, scan_ns;
        bench_compare(tick_sched, tick_scan, &r, rounds, &sched_ns, &scan_ns);
        double per_event = change / (double)r.n;
        printf("%6zu events / %d programs: fill %.0f ns/event; change + re-index %.0f ns/event "
               "(goal < 1000); pick %.0f ns/tick vs naive scan %.0f ns/tick: ratio %.1fx\n", r.n,
               PROGRAMS, build / (double)r.n, per_event, sched_ns / TICKS, scan_ns / TICKS,
               scan_ns / sched_ns);
        if (r.n == 100000 && per_event >= 1000)
            failed = 1;
        ge_sched_free(r.s);
        free(r.ev);
        free(r.es);
        free(r.ee);
    }
    if (failed)
        printf("sched: goal missed at 100,000 events\n");
    return 0;
}
