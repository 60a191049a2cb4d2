/* verdict.h - judge a case's expectations against what the head-end observed: the HTTP exchanges
 * with the client under test and the samples of its status file.  Pure: no I/O, no clock. */
#ifndef CONFORMANCE_VERDICT_H
#define CONFORMANCE_VERDICT_H

#include <stddef.h>

#include "conformance/case.h"

typedef struct cf_exchange {
    double t;               /* seconds after the client started */
    const char *method;
    const char *path;       /* request target as sent (with any query) */
    const char *body;       /* request body, NUL-terminated (may be "") */
    int status;             /* the head-end's answer */
} cf_exchange_t;

typedef struct cf_sample {
    double t;
    const char *json;       /* the status file's content at T */
} cf_sample_t;

typedef struct cf_observed {
    const cf_exchange_t *ex;
    size_t n_ex;
    const cf_sample_t *samples;
    size_t n_samples;
    double end;             /* when the run ended (the window end for "until the end") */
    double start;           /* the server's clock when the client started ({server-time} at t = 0) */
} cf_observed_t;

/* Non-zero when PATH (a request target) matches PATTERN: equal without the query string, or, for a
 * pattern ending in '*', starting with the pattern's prefix; a pattern holding '?' compares the
 * query too. */
int cf_path_matches(const char *pattern, const char *path);

/* 1 if E holds for OBS, 0 if not; DETAIL gets one line saying why, either way. */
int cf_expect_check(const cf_expect_t *e, const cf_observed_t *obs, char *detail, size_t detail_len);

/* Look up KEY (dotted: battery.power_w, active_controls.0.id, active_controls.# for a length) in
 * JSON text and compare it as E says; SERVER_TIME is what {server-time} stands for in this sample.
 * 1 holds, 0 does not, -1 the key is missing or JSON is bad. */
int cf_status_holds(const cf_expect_t *e, const char *json, double server_time);

#endif
