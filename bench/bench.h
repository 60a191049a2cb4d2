/* bench.h - timing helpers for the benchmarks: each benchmark measures its subject and a baseline
 * in the same run, alternating them, and reports the ratio of their medians. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stddef.h>

/* Monotonic time in nanoseconds. */
double bench_now_ns(void);

/* Run SUBJECT and BASELINE alternately ROUNDS times (each call does one timed batch and returns
 * its nanoseconds); put the medians in *SUBJECT_NS and *BASELINE_NS. */
void bench_compare(double (*subject)(void *), double (*baseline)(void *), void *ud, int rounds,
                   double *subject_ns, double *baseline_ns);

/* Resident set size of this process in KiB (from /proc/self/status), or -1. */
long bench_rss_kib(void);

#endif
