/* test_comm004.c - the CSIP certificate-path cases COMM-004 and COMM-004A..G: the case directives they
 * use (`server-chain`, `expect handshake`, `expect no-handshake`) parsed and judged on their own, then
 * `gridedge conformance run` end to end: our client (`gridedge sep run`) passes all eight, a client
 * that does nothing fails all eight, and a client that does not validate the server's chain (when
 * the openssl program is there to play it) fails the four refusals. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#include "conformance/case.h"
#include "conformance/verdict.h"
#include "proc.h"
#include "runner.h"

static const char *const g_cases[] = { "COMM-004", "COMM-004A", "COMM-004B", "COMM-004C",
                                       "COMM-004D", "COMM-004E", "COMM-004F", "COMM-004G" };
#define N_CASES (sizeof(g_cases) / sizeof(g_cases[0]))

static int parse(const char *text, ge_arena_t *arena, cf_case_t *c, char *err, size_t errlen)
{
    return cf_case_parse("t.case", text, strlen(text), arena, NULL, NULL, c, err, errlen);
}

static void test_parse_directives(void)
{
    static const char ok[] = "case X-1\n"
                             "server-chain bad-policy-mapping\n"
                             "expect handshake refused within 0 6 has \"alert\" count 1 3\n"
                             "expect no-handshake completed\n"
                             "expect handshake any\n";
    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "case X\nserver-chain depth5\n", "t.case:2: error: server-chain depth2|depth3|depth4|" },
        { "case X\nserver-chain\n", "t.case:2: error: server-chain " },
        { "case X\nexpect handshake maybe\n", "t.case:2: error: expect handshake completed|refused|failed|any" },
        { "case X\nexpect handshake\n", "t.case:2: error: expect handshake " },
        { "case X\nexpect no-handshake completed count 1\n", "t.case:2: error: unknown option 'count'" },
        { "case X\nexpect handshake refused has-header \"A: b\"\n", "t.case:2: error: unknown option 'has-header'" },
    };
    ge_arena_t *arena;
    cf_case_t c;
    char err[256];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(parse(ok, arena, &c, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(c.server_chain, "bad-policy-mapping");
    CU_ASSERT_EQUAL_FATAL(c.n_expects, 3);
    CU_ASSERT_EQUAL(c.expects[0].kind, CF_EXP_HANDSHAKE);
    CU_ASSERT_STRING_EQUAL(c.expects[0].path, "refused");
    CU_ASSERT_EQUAL(c.expects[0].count_min, 1);
    CU_ASSERT_EQUAL(c.expects[0].count_max, 3);
    CU_ASSERT_EQUAL(c.expects[0].n_has, 1);
    CU_ASSERT_EQUAL(c.expects[1].kind, CF_EXP_NO_HANDSHAKE);
    CU_ASSERT_STRING_EQUAL(c.expects[1].path, "completed");
    CU_ASSERT_EQUAL(c.expects[2].count_min, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ge_arena_reset(arena);
        err[0] = '\0';
        CU_ASSERT_TRUE(parse(bad[i].text, arena, &c, err, sizeof(err)) < 0);
        if (strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0)
            printf("\n  got: %s\n  expected: %s\n", err, bad[i].msg);
        CU_ASSERT_EQUAL(strncmp(err, bad[i].msg, strlen(bad[i].msg)), 0);
    }
    ge_arena_free(arena);
}

/* The handshake expectations against handshakes as the head-end records them. */
static void test_verdict(void)
{
    static const char text[] = "case X\n"
                               "expect handshake refused within 0 6\n"      /* 0 */
                               "expect no-handshake completed\n"             /* 1 */
                               "expect handshake refused has \"unknown CA\"\n" /* 2 */
                               "expect handshake any count 1 1\n"            /* 3 */
                               "expect handshake failed\n";                  /* 4 */
    const cf_handshake_t refused[] = { { 0.5, CF_TLS_REFUSED, "the client sent a fatal alert: unknown CA" },
                                       { 2.5, CF_TLS_UNFINISHED, "the client stopped before the handshake finished" } };
    const cf_handshake_t done[] = { { 0.4, CF_TLS_COMPLETED, "TLSv1.2 ECDHE-ECDSA-AES128-CCM8" } };
    cf_observed_t obs = { NULL, 0, NULL, 0, 6, 0 };
    ge_arena_t *arena;
    cf_case_t c;
    char err[256], d[400];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&arena, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(parse(text, arena, &c, err, sizeof(err)), 0);
    /* a client that refused (twice: an alert, then a hang-up) */
    CU_ASSERT_TRUE(cf_expect_check_tls(&c.expects[0], &obs, NULL, 0, refused, 2, d, sizeof(d)));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "refused 2 time(s), first at 0.5 s: the client sent a fatal alert: unknown CA"));
    CU_ASSERT_TRUE(cf_expect_check_tls(&c.expects[1], &obs, NULL, 0, refused, 2, d, sizeof(d)));
    CU_ASSERT_TRUE(cf_expect_check_tls(&c.expects[2], &obs, NULL, 0, refused, 2, d, sizeof(d)));
    CU_ASSERT_FALSE(cf_expect_check_tls(&c.expects[3], &obs, NULL, 0, refused, 2, d, sizeof(d)));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "at most 1 allowed"));
    CU_ASSERT_FALSE(cf_expect_check_tls(&c.expects[4], &obs, NULL, 0, refused, 2, d, sizeof(d)));
    /* a client that accepted */
    CU_ASSERT_FALSE(cf_expect_check_tls(&c.expects[0], &obs, NULL, 0, done, 1, d, sizeof(d)));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "saw 0 (of 1 handshake(s) begun)"));
    CU_ASSERT_FALSE(cf_expect_check_tls(&c.expects[1], &obs, NULL, 0, done, 1, d, sizeof(d)));
    CU_ASSERT_PTR_NOT_NULL(strstr(d, "completed 1 time(s), first at 0.4 s, but must not be"));
    CU_ASSERT_TRUE(cf_expect_check_tls(&c.expects[3], &obs, NULL, 0, done, 1, d, sizeof(d)));
    /* a client that never connected; and the judges without handshakes see none */
    CU_ASSERT_FALSE(cf_expect_check_tls(&c.expects[0], &obs, NULL, 0, NULL, 0, d, sizeof(d)));
    CU_ASSERT_FALSE(cf_expect_check(&c.expects[0], &obs, d, sizeof(d)));
    CU_ASSERT_TRUE(cf_expect_check(&c.expects[1], &obs, d, sizeof(d)));
    ge_arena_free(arena);
}

/* Run the eight cases with CLIENT (NULL-terminated argv after "--"); REPORT gets the JSON report. */
static int run_cases(const char *const *client, const char *report, proc_result_t *r)
{
    char *argv[64];
    size_t n = 0;

    argv[n++] = (char *)proc_gridedge();
    argv[n++] = "conformance";
    argv[n++] = "run";
    argv[n++] = "--suite";
    argv[n++] = "csip";
    for (size_t i = 0; i < N_CASES; i++) {
        argv[n++] = "--case";
        argv[n++] = (char *)g_cases[i];
    }
    argv[n++] = "--report";
    argv[n++] = (char *)report;
    argv[n++] = "--";
    while (*client && n < sizeof(argv) / sizeof(argv[0]) - 1)
        argv[n++] = (char *)*client++;
    argv[n] = NULL;
    return proc_run(argv, NULL, 180000, r);
}

static json_t *case_of(json_t *rep, const char *id)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(rep, "cases"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
            return c;
    return NULL;
}

/* The TLS handshake records of a case's evidence: how many ended with OUTCOME. */
static size_t handshakes(json_t *c, const char *outcome)
{
    size_t i, n = 0;
    json_t *e;

    json_array_foreach(json_object_get(c, "evidence"), i, e)
        if (json_is_string(json_object_get(e, "outcome")) &&
            strcmp(json_string_value(json_object_get(e, "method")), "TLS") == 0 &&
            strcmp(json_string_value(json_object_get(e, "outcome")), outcome) == 0)
            n++;
    return n;
}

static void test_our_client_passes(void)
{
    static const char *const client[] = { "gridedge", "sep", "run", "--server", "{url}", "--ca", "{ca}",
                                          "--cert", "{cert}", "--key", "{key}", "--state-dir", "{state_dir}",
                                          "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    char report[] = "/tmp/ge-comm004-XXXXXX";
    const char *argv[sizeof(client) / sizeof(client[0])];
    proc_result_t r;
    json_t *rep;
    int fd = mkstemp(report);

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    memcpy(argv, client, sizeof(client));
    argv[0] = proc_gridedge();
    CU_ASSERT_EQUAL_FATAL(run_cases(argv, report, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 8 passed, 0 failed, 0 skipped\n"));
    proc_result_free(&r);
    rep = json_load_file(report, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    for (size_t i = 0; i < N_CASES; i++) {
        json_t *c = case_of(rep, g_cases[i]);
        int refuse = g_cases[i][8] >= 'D';

        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "result")), "pass");
        /* the trace: accepted chains end in Finished, refused ones in the client's fatal alert */
        CU_ASSERT(handshakes(c, refuse ? "refused" : "completed") >= 1);
        CU_ASSERT_EQUAL(handshakes(c, refuse ? "completed" : "refused"), 0);
    }
    /* the alerts say why (unknown CA for the self-signed certificate) */
    {
        char *ev = json_dumps(json_object_get(case_of(rep, "COMM-004G"), "evidence"), 0);
        CU_ASSERT_PTR_NOT_NULL(ev && strstr(ev, "the client sent a fatal alert: unknown CA"));
        free(ev);
    }
    json_decref(rep);
    unlink(report);
}

/* Every case from FROM on fails, saying WHY; COMPLETED: the client finished a handshake in each
 * (it took the chain), else it began none. */
static void expect_all_fail(const char *const *client, size_t from, const char *why, int completed)
{
    char report[] = "/tmp/ge-comm004-XXXXXX";
    char summary[128];
    proc_result_t r;
    json_t *rep;
    int fd = mkstemp(report);

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(run_cases(client, report, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    rep = json_load_file(report, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    for (size_t i = from; i < N_CASES; i++) {
        json_t *c = case_of(rep, g_cases[i]);
        const char *detail = c ? json_string_value(json_object_get(c, "detail")) : "";

        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "result")), "fail");
        if (!strstr(detail, why))
            printf("\n  %s: %s\n", g_cases[i], detail);
        CU_ASSERT_PTR_NOT_NULL(strstr(detail, why));
        if (completed) {
            CU_ASSERT(handshakes(c, "completed") >= 1);
        } else {
            CU_ASSERT_EQUAL(json_array_size(json_object_get(c, "evidence")), 0);
        }
    }
    if (from == 0) {
        snprintf(summary, sizeof(summary), "conformance: 0 passed, %zu failed, 0 skipped\n", N_CASES);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, summary));
    }
    proc_result_free(&r);
    json_decref(rep);
    unlink(report);
}

static void test_idle_client_fails(void)
{
    static const char *const client[] = { "/bin/sh", "-c", "sleep {duration}", NULL };

    expect_all_fail(client, 0, "expected a TLS handshake", 0);
}

/* A client that takes any chain: openssl s_client without verification, then GET /dcap. */
static void test_lax_client_fails_refusals(void)
{
    static const char *const client[] = {
        "/bin/sh", "-c",
        "hp=$(echo {url} | sed 's|^https://||; s|/.*||'); "
        "printf 'GET /dcap HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' \"$hp\" | "
        "timeout 4 openssl s_client -quiet -connect \"$hp\" -cert {cert} -key {key} -tls1_2 "
        "-cipher ECDHE-ECDSA-AES128-CCM8 >/dev/null 2>&1; sleep 1",
        NULL
    };
    proc_result_t r;
    char *probe[] = { "/bin/sh", "-c", "command -v openssl", NULL };

    if (proc_run(probe, NULL, 5000, &r) != 0 || r.status != 0) {
        printf("(no openssl program: skipped) ");
        proc_result_free(&r);
        return;
    }
    proc_result_free(&r);
    expect_all_fail(client, 4, "expected a TLS handshake refused", 1);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "server-chain and handshake directives", test_parse_directives },
        { "handshake verdicts", test_verdict },
        { "run: gridedge sep run passes COMM-004, 004A..G", test_our_client_passes },
        { "run: an idle client fails them all", test_idle_client_fails },
        { "run: a client that takes any chain fails 004D..G", test_lax_client_fails_refusals },
        { NULL, NULL },
    };
    return test_add_suite("COMM-004 certificate paths", cases);
}
