/* proc.h - run a program for a test: argv in, exit status and captured stdout/stderr out, with a
 * hard time bound (the child is killed when it passes). */
#ifndef TESTS_PROC_H
#define TESTS_PROC_H

#include <stddef.h>

typedef struct proc_result {
    int status;        /* exit status, or 128+signal if killed by a signal, or -1 if it could not run */
    int timed_out;
    char *out;         /* NUL-terminated, malloc'd; the caller frees with proc_result_free */
    size_t out_len;
    char *err;
    size_t err_len;
} proc_result_t;

/* Run ARGV (argv[0] is a path) with STDIN_DATA (may be NULL) on its standard input; wait at most
 * TIMEOUT_MS. */
int proc_run(char *const argv[], const char *stdin_data, int timeout_ms, proc_result_t *res);
void proc_result_free(proc_result_t *res);

/* The gridedge program under test: $GRIDEDGE, or ../gridedge relative to the test's directory. */
const char *proc_gridedge(void);

/* CUnit checks.  `gridedge ARGS...` (ARGS NULL-terminated, at most 30) must exit 2 with a usage
 * message. */
void proc_expect_usage(const char *const *args);

/* ARGV, a `gridedge conformance run`, must exit 0 within TIMEOUT_MS with "PASS ID " for each of
 * the N IDS and the closing line "conformance: N passed, 0 failed, 0 skipped"; on failure its
 * output is printed.  Returns the result for further checks (the caller frees it). */
proc_result_t proc_expect_passes(char *const *argv, const char *const *ids, size_t n, int timeout_ms);

#endif
