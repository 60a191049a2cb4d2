/* headend.h - the conformance head-end: serves one case to the client under test over HTTP(S) on
 * 127.0.0.1 (answers from conformance/serve.c), records every exchange as evidence, runs the
 * client and samples its status file, then judges the case (conformance/verdict.c). */
#ifndef CONFORMANCE_HEADEND_H
#define CONFORMANCE_HEADEND_H

#include <stdio.h>

#include <gridedge/log.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"

typedef enum cf_result { CF_PASS = 0, CF_FAIL = 1, CF_SKIP = 2 } cf_result;

/* What one case came to, with its evidence. */
typedef struct cf_outcome {
    cf_result result;
    char detail[512];
    char *evidence_json; /* a JSON array of the exchanged messages (malloc'd), or NULL */
} cf_outcome_t;

/* Settings of a whole run (one per `gridedge conformance run`). */
typedef struct cf_run_opts {
    const char *suite;      /* csip, csip-aus, oadr20b, oadr3 */
    char **client_argv;     /* the client under test, with {placeholders} */
    const char *work_dir;   /* scratch dir: PKI, per-case state dirs and logs */
    double grace_s;         /* extra time after the case's duration before the client is stopped */
    const ge_log_t *log;
} cf_run_opts_t;

/* Run case C of the suite (catalogue entry INFO) against the client; fills OUT. */
int cf_run_case(const cf_run_opts_t *opts, const cf_case_info_t *info, const cf_case_t *c, cf_outcome_t *out);

void cf_outcome_free(cf_outcome_t *out);

#endif
