/* bench.c - shared timing helpers (see bench.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_compare(double (*subject)(void *), double (*baseline)(void *), void *ud, int rounds,
                   double *subject_ns, double *baseline_ns)
{
    double *s = calloc((size_t)rounds, sizeof(double));
    double *b = calloc((size_t)rounds, sizeof(double));

    if (!s || !b) {
        free(s);
        free(b);
        *subject_ns = *baseline_ns = 0;
        return;
    }
    subject(ud); /* warm up both */
    baseline(ud);
    for (int i = 0; i < rounds; i++) {
        s[i] = subject(ud);
        b[i] = baseline(ud);
    }
    *subject_ns = median(s, rounds);
    *baseline_ns = median(b, rounds);
    free(s);
    free(b);
}

long bench_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}
