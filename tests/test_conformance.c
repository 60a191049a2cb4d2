/* test_conformance.c - the conformance catalogues and `gridedge conformance list`. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>

#include <gridedge/error.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <gridedge/sep_dnssd.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "conformance/dnssd.h"
#include "conformance/serve.h"
#include "conformance/verdict.h"
#include "proc.h"
#include "runner.h"
#include "xsd.h"

/* Every suite's built-in catalogue parses, and holds the known certification IDs. */
static void test_builtin_catalogues(void)
{
    static const struct { const char *suite; size_t min; const char *ids[4]; } want[] = {
        { "csip", 82, { "CORE-005", "BASIC-029", "AGG-012", "GE-SEP-001" } },
        { "csip-aus", 83, { "ALL-01", "GEN-13", "STO-06", "SDVN-01" } },
        { "oadr20b", 184, { "N1_0010", "E0_6080", "A_E0_0295", "R1_3190" } },
        { "oadr3", 5, { "GE-OADR3-AUTH-001", "GE-OADR3-SUB-001", "GE-OADR3-RPT-001", "GE-OADR3-ERR-001" } },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cf_catalogue_t cat;
        char err[256] = "";
        CU_ASSERT_EQUAL_FATAL(cf_catalogue_load(want[i].suite, &cat, err, sizeof(err)), 0);
        CU_ASSERT(cat.n >= want[i].min);
        for (int k = 0; k < 4; k++) {
            const cf_case_info_t *c = cf_catalogue_find(&cat, want[i].ids[k]);
            CU_ASSERT_PTR_NOT_NULL(c);
            if (c)
                CU_ASSERT(strlen(c->title) > 5);
        }
        cf_catalogue_free(&cat);
    }
    cf_catalogue_t cat;
    char err[256];
    CU_ASSERT_EQUAL(cf_catalogue_load("nope", &cat, err, sizeof(err)), GE_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown suite"));
}

static void test_parse_errors_name_the_line(void)
{
    static const struct { const char *text; const char *err; } bad[] = {
        { "# c\nA-1\tok\nA-1\tagain\n", "t:3: duplicate case ID" },
        { "A-1\n", "t:1: expected ID<TAB>TITLE" },
        { "\n\nlower\ttitle\n", "t:3: case ID must be" },
        { "A\tb\tc\td\te\n", "t:1: more than four" },
        { "A\tb\tc\t\n", "t:1: empty reason" },
        { "A\t\n", "t:1: expected ID<TAB>TITLE" },
        { "A\tti\001tle\n", "t:1: title, note or reason" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_catalogue_t cat;
        char err[256] = "";
        CU_ASSERT_EQUAL(cf_catalogue_parse("t", bad[i].text, strlen(bad[i].text), &cat, err, sizeof(err)),
                        GE_ERR_PARSE);
        CU_ASSERT_EQUAL(strncmp(err, bad[i].err, strlen(bad[i].err)), 0);
        CU_ASSERT_EQUAL(cat.n, 0);
        CU_ASSERT_PTR_NULL(cat.cases);
    }
    cf_catalogue_t cat;
    char err[256];
    const char *good = "# x\r\nX-1\tFirst\tnote\r\nX-2\tSecond\nX-3\tThird\t\tnot for us\n";
    CU_ASSERT_EQUAL_FATAL(cf_catalogue_parse("t", good, strlen(good), &cat, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(cat.n, 3);
    CU_ASSERT_STRING_EQUAL(cat.cases[0].note, "note");
    CU_ASSERT_STRING_EQUAL(cat.cases[0].unscripted, "");
    CU_ASSERT_STRING_EQUAL(cat.cases[1].title, "Second");
    CU_ASSERT_STRING_EQUAL(cat.cases[2].note, "");
    CU_ASSERT_STRING_EQUAL(cat.cases[2].unscripted, "not for us");
    cf_catalogue_free(&cat);
}

static void test_list_command(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "list", "--suite", "oadr20b", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "N1_0010\tVEN queries its registration"));
    size_t lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 191); /* the 184 harness IDs and GE-OADR20B-001..007 */
    proc_result_free(&r);

    char *bad[][6] = {
        { (char *)proc_gridedge(), "conformance", "list", NULL },
        { (char *)proc_gridedge(), "conformance", "list", "--suite", "ieee", NULL },
        { (char *)proc_gridedge(), "conformance", "list", "--bogus", NULL },
        { (char *)proc_gridedge(), "conformance", "frob", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(proc_run(bad[i], NULL, 10000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
        proc_result_free(&r);
    }
}

static const char sample_case[] =
    "# a comment\n"
    "case GE-TEST-1\n"
    "duration 30\n"
    "time-offset -3600\n"
    "resource /tm type application/sep+xml\n"
    "<Time href=\"/tm\">\n"
    "  <currentTime>{now}</currentTime>\n"
    "</Time>\n"
    "end\n"
    "at 10 resource /derp/1/derc status 200\n"
    "end\n"
    "at 12 delete /derp/1/derc\n"
    "fault /dcap status 503 times 2 from 0 until 5\n"
    "fault /tm close\n"
    "reply POST /rsp status 201 if-has \"<status>1</status>\" location /rsp/1 times 3\n"
    "end\n"
    "expect request GET /tm within 0 10 count 1 4\n"
    "expect no-request PUT /edev/1 has \"a \\\"quoted\\\" word\"\n"
    "expect status battery.power_w = 2000 +- 250 during 12 20\n"
    "expect status price = null eventually 0 10\n"
    "expect status active_controls.0.id = \"ctl 1\" eventually 0 30\n";

static void test_case_parse(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    int rc = cf_case_parse("s.case", sample_case, strlen(sample_case), a, NULL, NULL, &c, err, sizeof(err));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(c.id, "GE-TEST-1");
    CU_ASSERT_DOUBLE_EQUAL(c.duration, 30, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(c.time_offset, -3600, 1e-9);
    CU_ASSERT_EQUAL_FATAL(c.n_actions, 6);
    CU_ASSERT_EQUAL(c.actions[0].kind, CF_ACT_RESOURCE);
    CU_ASSERT_STRING_EQUAL(c.actions[0].type, "application/sep+xml");
    CU_ASSERT_STRING_EQUAL(c.actions[0].body, "<Time href=\"/tm\">\n  <currentTime>{now}</currentTime>\n</Time>");
    CU_ASSERT_EQUAL(c.actions[0].body_len, strlen(c.actions[0].body));
    CU_ASSERT_DOUBLE_EQUAL(c.actions[1].at, 10, 1e-9);
    CU_ASSERT_STRING_EQUAL(c.actions[1].body, "");
    CU_ASSERT_EQUAL(c.actions[2].kind, CF_ACT_DELETE);
    CU_ASSERT_EQUAL(c.actions[3].kind, CF_ACT_FAULT);
    CU_ASSERT_EQUAL(c.actions[3].fault, CF_FAULT_STATUS);
    CU_ASSERT_EQUAL(c.actions[3].status, 503);
    CU_ASSERT_EQUAL(c.actions[3].times, 2);
    CU_ASSERT_DOUBLE_EQUAL(c.actions[3].until, 5, 1e-9);
    CU_ASSERT_EQUAL(c.actions[4].fault, CF_FAULT_CLOSE);
    CU_ASSERT(c.actions[4].until < 0);
    CU_ASSERT_EQUAL(c.actions[5].kind, CF_ACT_REPLY);
    CU_ASSERT_STRING_EQUAL(c.actions[5].match, "<status>1</status>");
    CU_ASSERT_STRING_EQUAL(c.actions[5].location, "/rsp/1");
    CU_ASSERT_EQUAL(c.actions[5].status, 201);
    CU_ASSERT_EQUAL_FATAL(c.n_expects, 5);
    CU_ASSERT_EQUAL(c.expects[0].kind, CF_EXP_REQUEST);
    CU_ASSERT_EQUAL(c.expects[0].count_min, 1);
    CU_ASSERT_EQUAL(c.expects[0].count_max, 4);
    CU_ASSERT_EQUAL(c.expects[1].kind, CF_EXP_NO_REQUEST);
    CU_ASSERT_STRING_EQUAL(c.expects[1].has[0], "a \"quoted\" word");
    CU_ASSERT_EQUAL(c.expects[2].op, CF_OP_EQ);
    CU_ASSERT_DOUBLE_EQUAL(c.expects[2].tolerance, 250, 1e-9);
    CU_ASSERT_FALSE(c.expects[2].eventually);
    CU_ASSERT_EQUAL(c.expects[3].vkind, CF_VAL_NULL);
    CU_ASSERT_TRUE(c.expects[3].eventually);
    CU_ASSERT_EQUAL(c.expects[4].vkind, CF_VAL_STRING);
    CU_ASSERT_STRING_EQUAL(c.expects[4].string, "ctl 1");
    ge_arena_free(a);
}

static void test_case_parse_errors(void)
{
    static const struct { const char *text; const char *err; } bad[] = {
        { "duration 5\n", "b:1: error: no 'case ID' line" },
        { "case X\nresource /a\n<x/>\n", "b:2: error: the body that starts here has no 'end' line" },
        { "case X\nresource a\nend\n", "b:2: error: a path starts with '/'" },
        { "case X\nduration -1\n", "b:2: error: duration must be a number" },
        { "case X\nfault /a explode\n", "b:2: error: unknown fault 'explode'" },
        { "case X\nexpect request FETCH /a\n", "b:2: error: unknown HTTP method 'FETCH'" },
        { "case X\nexpect request GET /a within 9 3\n", "b:2: error: the window ends (3) before it starts (9)" },
        { "case X\nexpect status a.b ~ 3 during 0 1\n", "b:2: error: unknown comparison '~'" },
        { "case X\nexpect status a <= null during 0 1\n", "b:2: error: only numbers compare" },
        { "case X\nexpect request GET /a has \"open\n", "b:2: error: unterminated quoted string" },
        { "case X\ncase Y\n", "b:2: error: a second 'case' line" },
        { "case X\nfrobnicate\n", "b:2: error: unknown directive 'frobnicate'" },
        { "case X\nat 5 fault /a close\n", "b:2: error: after 'at T' comes resource or delete" },
        { "case X\nreply POST /a bogus 1\nend\n", "b:2: error: unknown option 'bogus'" },
        { "case X\nat 5 restart signal HUP\n", "b:2: error: at T restart [signal TERM|KILL]" },
        { "case X\nat 5 restart now\n", "b:2: error: at T restart [signal TERM|KILL]" },
        { "case X\ndnssd dcap\n", "b:2: error: dnssd [dcap PATH]" },
        { "case X\ndnssd dcap nopath\n", "b:2: error: a path starts with '/'" },
        { "case X\nexpect dnssd-query within 3\n", "b:2: error: 'within' needs two times" },
        { "case X\nat 2 fault-file over_voltage\n", "b:2: error: at T fault-file \"TEXT\"" },
        { "case X\nat 2 fault-file \"a\" \"b\"\n", "b:2: error: at T fault-file \"TEXT\"" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ge_arena_t *a;
        cf_case_t c;
        char err[256] = "";
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
        CU_ASSERT(cf_case_parse("b", bad[i].text, strlen(bad[i].text), a, NULL, NULL, &c, err, sizeof(err)) < 0);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, bad[i].err);
        CU_ASSERT_EQUAL(strncmp(err, bad[i].err, strlen(bad[i].err)), 0);
        ge_arena_free(a);
    }
    /* caps: too many expectations, and a tiny arena gives NOMEM rather than a crash */
    ge_arena_t *a;
    cf_case_t c;
    char err[256];
    char big[20000] = "case X\n";
    for (int i = 0; i < 200; i++)
        strncat(big, "expect no-request GET /a\n", sizeof(big) - strlen(big) - 1);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL(cf_case_parse("b", big, strlen(big), a, NULL, NULL, &c, err, sizeof(err)), GE_ERR_LIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many expectations"));
    ge_arena_free(a);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 64, 256), 0);
    CU_ASSERT_EQUAL(cf_case_parse("s", sample_case, strlen(sample_case), a, NULL, NULL, &c, err, sizeof(err)), GE_ERR_NOMEM);
    ge_arena_free(a);
}

/* A comment line of any number of words, and directive lines of more than 24 words, parse; the new
 * directives dnssd, at T restart and expect dnssd-query parse into what the engine plays. */
static void test_case_parse_long_lines_and_new_directives(void)
{
    char text[8192] = "# ";
    for (int i = 0; i < 300; i++)
        strncat(text, "word ", sizeof(text) - strlen(text) - 1);
    strncat(text,
            "\n  # an indented comment: a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f\n"
            "case X\ndnssd dcap /sep/dcap\nat 5 restart\nat 6.5 restart signal KILL\nat 7 fault-file \"over_voltage\"\n"
            "expect dnssd-query within 0 4 has \"_smartenergy\" count 1 3\n"
            "expect request POST /rsp within 0 9 has \"a\" has \"b\" has \"c\" has \"d\" has-header \"A: 1\" "
            "has-header \"B: 2\" has-header \"C: 3\" has-header \"D: 4\" count 1 2\n",
            sizeof(text) - strlen(text) - 1);
    ge_arena_t *a;
    cf_case_t c;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    int rc = cf_case_parse("l.case", text, strlen(text), a, NULL, NULL, &c, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(c.id, "X");
    CU_ASSERT_EQUAL(c.dnssd, 1);
    CU_ASSERT_STRING_EQUAL(c.dnssd_dcap, "/sep/dcap");
    CU_ASSERT_EQUAL_FATAL(c.n_actions, 3);
    CU_ASSERT_EQUAL(c.actions[2].kind, CF_ACT_FAULT_FILE);
    CU_ASSERT_STRING_EQUAL(c.actions[2].body, "over_voltage");
    CU_ASSERT_EQUAL(c.actions[0].kind, CF_ACT_RESTART);
    CU_ASSERT_DOUBLE_EQUAL(c.actions[0].at, 5, 1e-9);
    CU_ASSERT_EQUAL(c.actions[0].signal, SIGTERM);
    CU_ASSERT_EQUAL(c.actions[1].signal, SIGKILL);
    CU_ASSERT_DOUBLE_EQUAL(c.actions[1].at, 6.5, 1e-9);
    CU_ASSERT_EQUAL_FATAL(c.n_expects, 2);
    CU_ASSERT_EQUAL(c.expects[0].kind, CF_EXP_REQUEST);
    CU_ASSERT_STRING_EQUAL(c.expects[0].method, "DNS");
    CU_ASSERT_STRING_EQUAL(c.expects[0].has[0], "_smartenergy");
    CU_ASSERT_EQUAL(c.expects[0].count_max, 3);
    CU_ASSERT_EQUAL(c.expects[1].n_has, 4);
    CU_ASSERT_EQUAL(c.expects[1].n_has_header, 4);
    ge_arena_free(a);

    /* a directive line can still not hold unbounded words */
    char many[2048] = "case X\nexpect request GET /a";
    for (int i = 0; i < 70; i++)
        strncat(many, " has x", sizeof(many) - strlen(many) - 1);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT(cf_case_parse("b", many, strlen(many), a, NULL, NULL, &c, err, sizeof(err)) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "b:2: error: too many words on one line"));
    ge_arena_free(a);
}

static const cf_dnssd_service_t test_svc = { NULL, NULL, NULL, { 127, 0, 0, 1 }, 4443, 1, "/dcap" };

/* The responder's answer to our own client's query is what the client's parser turns into the
 * head-end's URL; questions about other names get no answer; subtypes and direct SRV/A questions do. */
static void test_dnssd_answer(void)
{
    uint8_t q[512], ans[CF_DNSSD_MAX_MSG];
    char qname[300], why[128];
    sep_dnssd_result_t res;
    int qlen = sep_dnssd_query(q, sizeof(q), 0x1234, NULL);
    CU_ASSERT_FATAL(qlen > 0);
    int n = cf_dnssd_answer(q, (size_t)qlen, &test_svc, ans, sizeof(ans), qname, sizeof(qname), why, sizeof(why));
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT(n <= 512);
    CU_ASSERT_STRING_EQUAL(qname, "PTR _smartenergy._tcp.local");
    CU_ASSERT_EQUAL(ans[0], 0x12);
    CU_ASSERT_EQUAL(ans[1], 0x34);
    CU_ASSERT(ans[2] & 0x80);
    memset(&res, 0, sizeof(res));
    CU_ASSERT_EQUAL_FATAL(sep_dnssd_parse(ans, (size_t)n, NULL, &res, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL_FATAL(res.n, 1);
    CU_ASSERT_STRING_EQUAL(res.servers[0].url, "https://127.0.0.1:4443/dcap");
    CU_ASSERT_EQUAL(res.servers[0].port, 4443);
    CU_ASSERT_STRING_EQUAL(res.servers[0].instance, "gridedge head-end._smartenergy._tcp.local");

    /* a plain-HTTP head-end with another dcap path: no https= key, http:// URL */
    cf_dnssd_service_t plain = test_svc;
    plain.https = 0;
    plain.dcap = "/sep/dcap";
    n = cf_dnssd_answer(q, (size_t)qlen, &plain, ans, sizeof(ans), NULL, 0, NULL, 0);
    memset(&res, 0, sizeof(res));
    CU_ASSERT_EQUAL_FATAL(sep_dnssd_parse(ans, (size_t)n, NULL, &res, why, sizeof(why)), 0);
    CU_ASSERT_STRING_EQUAL(res.servers[0].url, "http://127.0.0.1:4443/sep/dcap");

    /* a subtype is answered; another service is not */
    qlen = sep_dnssd_query(q, sizeof(q), 7, "_edev._sub._smartenergy._tcp.local");
    CU_ASSERT(cf_dnssd_answer(q, (size_t)qlen, &test_svc, ans, sizeof(ans), NULL, 0, NULL, 0) > 0);
    qlen = sep_dnssd_query(q, sizeof(q), 7, "_http._tcp.local");
    CU_ASSERT_EQUAL(cf_dnssd_answer(q, (size_t)qlen, &test_svc, ans, sizeof(ans), qname, sizeof(qname), NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(qname, "PTR _http._tcp.local");

    /* SRV about the instance (type 33) gets the SRV among the answers */
    qlen = sep_dnssd_query(q, sizeof(q), 9, "gridedge head-end._smartenergy._tcp.local");
    q[qlen - 3] = 33;
    n = cf_dnssd_answer(q, (size_t)qlen, &test_svc, ans, sizeof(ans), qname, sizeof(qname), NULL, 0);
    CU_ASSERT(n > 0);
    CU_ASSERT_STRING_EQUAL(qname, "SRV gridedge head-end._smartenergy._tcp.local");
    CU_ASSERT(ans[7] >= 2); /* SRV and TXT in the answer section */

    /* too small an output buffer: an error, not an overflow */
    qlen = sep_dnssd_query(q, sizeof(q), 1, NULL);
    CU_ASSERT_EQUAL(cf_dnssd_answer(q, (size_t)qlen, &test_svc, ans, 60, NULL, 0, NULL, 0), GE_ERR_LIMIT);
}

/* Malformed datagrams are refused with a reason, never answered, never read past their end. */
static void test_dnssd_garbage(void)
{
    uint8_t q[512], ans[CF_DNSSD_MAX_MSG], junk[600];
    char why[128];
    int qlen = sep_dnssd_query(q, sizeof(q), 1, NULL);
    CU_ASSERT_FATAL(qlen > 0);
    /* every truncation of a good query */
    for (int len = 0; len < qlen; len++) {
        uint8_t *cut = malloc(len ? (size_t)len : 1); /* exact size: ASan sees any over-read */
        CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
        memcpy(cut, q, (size_t)len);
        CU_ASSERT_EQUAL(cf_dnssd_answer(cut, (size_t)len, &test_svc, ans, sizeof(ans), NULL, 0, why, sizeof(why)),
                        GE_ERR_PARSE);
        free(cut);
    }
    /* a response, a compressed question name, two questions */
    uint8_t bad[512];
    memcpy(bad, q, (size_t)qlen);
    bad[2] |= 0x80;
    CU_ASSERT_EQUAL(cf_dnssd_answer(bad, (size_t)qlen, &test_svc, ans, sizeof(ans), NULL, 0, why, sizeof(why)),
                    GE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "response"));
    memcpy(bad, q, (size_t)qlen);
    bad[12] = 0xC0;
    bad[13] = 12;
    CU_ASSERT_EQUAL(cf_dnssd_answer(bad, (size_t)qlen, &test_svc, ans, sizeof(ans), NULL, 0, why, sizeof(why)),
                    GE_ERR_PARSE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "compressed"));
    memcpy(bad, q, (size_t)qlen);
    bad[5] = 2;
    CU_ASSERT_EQUAL(cf_dnssd_answer(bad, (size_t)qlen, &test_svc, ans, sizeof(ans), NULL, 0, why, sizeof(why)),
                    GE_ERR_PARSE);
    /* seeded random bytes, and random bytes behind a valid header */
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(junk));
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t)rand_r(&seed);
        if (i % 2 && len >= 12) {
            memcpy(junk, q, 12);
        }
        int n = cf_dnssd_answer(junk, len, &test_svc, ans, sizeof(ans), NULL, 0, why, sizeof(why));
        CU_ASSERT(n <= 512);
    }
}

static void dnssd_seen(void *ud, const char *qname, int status, const char *why)
{
    int *counts = ud;
    (void)qname;
    (void)why;
    counts[status + 1]++;
}

/* The responder on a UDP socket: garbage datagrams first, then a real query is still answered. */
static void test_dnssd_responder(void)
{
    struct event_base *base = event_base_new();
    cf_dnssd_responder_t *r;
    int counts[3] = { 0, 0, 0 };
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    CU_ASSERT_EQUAL_FATAL(cf_dnssd_responder_new(&r, base, &test_svc, dnssd_seen, counts), 0);
    CU_ASSERT(cf_dnssd_responder_port(r) > 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons(cf_dnssd_responder_port(r));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint8_t junk[700], q[512], ans[CF_DNSSD_MAX_MSG];
    unsigned seed = 7;
    for (int i = 0; i < 50; i++) {
        size_t len = (size_t)(rand_r(&seed) % (int)sizeof(junk));
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t)rand_r(&seed);
        sendto(fd, junk, len, 0, (struct sockaddr *)&to, sizeof(to));
    }
    int qlen = sep_dnssd_query(q, sizeof(q), 0xBEEF, NULL);
    sendto(fd, q, (size_t)qlen, 0, (struct sockaddr *)&to, sizeof(to));
    /* serve until the answer arrives (bounded: 5 s) */
    ssize_t n = -1;
    for (int i = 0; i < 50 && n < 0; i++) {
        struct timeval tv = { 0, 100000 };
        struct pollfd p = { fd, POLLIN, 0 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        if (poll(&p, 1, 0) == 1)
            n = recv(fd, ans, sizeof(ans), 0);
    }
    CU_ASSERT_FATAL(n > 0);
    sep_dnssd_result_t res;
    char why[128];
    memset(&res, 0, sizeof(res));
    CU_ASSERT_EQUAL(sep_dnssd_parse(ans, (size_t)n, NULL, &res, why, sizeof(why)), 0);
    CU_ASSERT_STRING_EQUAL(res.servers[0].url, "https://127.0.0.1:4443/dcap");
    CU_ASSERT_EQUAL(counts[1], 1); /* one answered */
    CU_ASSERT_EQUAL(counts[0] + counts[1] + counts[2], 51);
    close(fd);
    cf_dnssd_responder_free(r);
    event_base_free(base);
}

static void test_verdict(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[256], detail[256];
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("s", sample_case, strlen(sample_case), a, NULL, NULL, &c, err, sizeof(err)), 0);

    const cf_exchange_t ex[] = {
        { 0.5, "GET", "/dcap", "", 200 },
        { 1.0, "GET", "/tm?x=1", "", 200 },
        { 11.0, "GET", "/tm", "", 200 },
        { 13.0, "PUT", "/edev/1", "<x>a \"quoted\" word</x>", 204 },
    };
    const cf_sample_t samples[] = {
        { 11.0, "{\"battery\":{\"power_w\":0},\"price\":0.2,\"active_controls\":[]}" },
        { 13.0, "{\"battery\":{\"power_w\":1900},\"price\":null,\"active_controls\":[{\"id\":\"ctl 1\"}]}" },
        { 16.0, "{\"battery\":{\"power_w\":2100},\"price\":null,\"active_controls\":[{\"id\":\"ctl 1\"}]}" },
        { 19.0, "{\"battery\":{\"power_w\":1000},\"price\":null}" },
    };
    cf_observed_t obs = { ex, 4, samples, 4, 30, 1800000000 };

    /* GET /tm once inside 0..10 (the query is ignored): within count 1..4 */
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[0], &obs, detail, sizeof(detail)), 1);
    /* the forbidden PUT with the quoted word happened */
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[1], &obs, detail, sizeof(detail)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "first at 13.0 s"));
    /* battery 2000 +- 250 during 12..20 fails at 19 s */
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[2], &obs, detail, sizeof(detail)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "did not hold at 19.0 s (2 of 3 samples held)"));
    /* price null eventually in 0..10: no sample in that window */
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[3], &obs, detail, sizeof(detail)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "no status file sample"));
    /* active_controls.0.id eventually "ctl 1" */
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[4], &obs, detail, sizeof(detail)), 1);

    /* a client that did nothing fails the request expectation */
    cf_observed_t none = { NULL, 0, NULL, 0, 30, 0 };
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[0], &none, detail, sizeof(detail)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(detail, "saw 0"));

    /* path patterns */
    CU_ASSERT_TRUE(cf_path_matches("/derp/*", "/derp/1/derc?s=0&l=5"));
    CU_ASSERT_FALSE(cf_path_matches("/derp", "/derp/1"));
    CU_ASSERT_TRUE(cf_path_matches("/a?s=1", "/a?s=1"));
    CU_ASSERT_FALSE(cf_path_matches("/a?s=1", "/a?s=2"));

    /* array length and missing keys */
    cf_expect_t len = { .kind = CF_EXP_STATUS, .key = "active_controls.#", .op = CF_OP_GE, .number = 1 };
    CU_ASSERT_EQUAL(cf_status_holds(&len, samples[1].json, 0), 1);
    CU_ASSERT_EQUAL(cf_status_holds(&len, samples[0].json, 0), 0);
    CU_ASSERT_EQUAL(cf_status_holds(&len, samples[3].json, 0), -1);
    CU_ASSERT_EQUAL(cf_status_holds(&len, "not json", 0), -1);
    /* {server-time}: the status file's time must track the server clock of each sample */
    cf_expect_t st = { .kind = CF_EXP_STATUS, .key = "time", .op = CF_OP_EQ, .vkind = CF_VAL_SERVER_TIME,
                       .tolerance = 2 };
    CU_ASSERT_EQUAL(cf_status_holds(&st, "{\"time\": 1800000011}", 1800000010.2), 1);
    CU_ASSERT_EQUAL(cf_status_holds(&st, "{\"time\": 1800000014}", 1800000010.2), 0);
    ge_arena_free(a);
}

/* `has-bits` / `has-any-bits`: a hex bit map in the body's element, with or without a namespace prefix. */
static void test_has_bits(void)
{
    static const char text[] =
        "case B\n"
        "expect request PUT /derg has-bits modesEnabled 80\n"
        "expect request PUT /derg has-bits modesEnabled 00400080\n"
        "expect request POST /edev has-any-bits deviceCategory 03FFFFFF\n"
        "expect request PUT /dercap has-bits doeModesSupported 0F\n"
        "expect no-request PUT /derg has-bits modesEnabled 100\n";
    static const char *const bad[] = {
        "case B\nexpect request PUT /x has-bits modesEnabled\n",
        "case B\nexpect request PUT /x has-bits modesEnabled 0\n",
        "case B\nexpect request PUT /x has-bits modesEnabled 8G\n",
        "case B\nexpect request PUT /x has-bits modesEnabled 11112222333344445\n",
        "case B\nexpect status battery.power_w = 0 during 0 1 has-bits x 1\n",
    };
    ge_arena_t *a;
    cf_case_t c;
    char err[256], detail[256];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("b.case", text, strlen(text), a, NULL, NULL, &c, err, sizeof(err)), 0);
    const cf_exchange_t ex[] = {
        { 1.0, "PUT", "/derg", "<DERSettings><modesEnabled>0040008F</modesEnabled></DERSettings>", 204 },
        { 1.0, "POST", "/edev", "<EndDevice><lFDI>AB</lFDI><deviceCategory>00800000</deviceCategory></EndDevice>", 201 },
        { 1.0, "PUT", "/dercap", "<DERCapability><csipaus:doeModesSupported>0F</csipaus:doeModesSupported></DERCapability>", 204 },
    };
    cf_observed_t obs = { ex, 3, NULL, 0, 10, 1800000000 };
    for (size_t i = 0; i < c.n_expects; i++) {
        int ok = cf_expect_check(&c.expects[i], &obs, detail, sizeof(detail));
        if (!ok)
            fprintf(stderr, "line %u: %s\n", c.expects[i].line, detail);
        CU_ASSERT_EQUAL(ok, 1);
    }
    /* bit 7 clear, or no such element, or not hex: no match */
    const cf_exchange_t off[] = {
        { 1.0, "PUT", "/derg", "<DERSettings><modesEnabled>0040000F</modesEnabled></DERSettings>", 204 },
        { 1.0, "POST", "/edev", "<EndDevice><lFDI>AB</lFDI><deviceCategory>FC000000</deviceCategory></EndDevice>", 201 },
        { 1.0, "PUT", "/dercap", "<DERCapability><doeModesSupportedX>0F</doeModesSupportedX></DERCapability>", 204 },
    };
    cf_observed_t obs_off = { off, 3, NULL, 0, 10, 1800000000 };
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(cf_expect_check(&c.expects[i], &obs_off, detail, sizeof(detail)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_case_t b;
        CU_ASSERT(cf_case_parse("b.case", bad[i], strlen(bad[i]), a, NULL, NULL, &b, err, sizeof(err)) < 0);
    }
    ge_arena_free(a);
}

/* `expect answer ... status N`: the client's answer to a head-end's send had that HTTP status. */
static void test_answer_status(void)
{
    static const char text[] =
        "case S\n"
        "expect answer POST /ntfy within 0 5 status 400 count 1 1\n"
        "expect answer POST /ntfy status 201 count 2 2\n"
        "expect answer POST /ntfy count 3 3\n"
        "expect answer POST /ntfy within 6 8 status 400\n"; /* the last: not so */
    static const char *const bad[] = {
        "case S\nexpect answer POST /ntfy status\n",
        "case S\nexpect answer POST /ntfy status 99\n",
        "case S\nexpect answer POST /ntfy status 600\n",
        "case S\nexpect answer POST /ntfy status 2x1\n",
        "case S\nexpect request POST /ntfy status 201\n", /* the head-end's own answer is not checked so */
    };
    const cf_exchange_t ex[] = {
        { 1.0, "SEND POST", "/ntfy", "", 400 },
        { 6.0, "SEND POST", "/ntfy", "", 201 },
        { 7.0, "SEND POST", "/ntfy", "", 201 },
        { 7.5, "POST", "/ntfy", "", 500 }, /* a request of the client's, not an answer */
    };
    cf_observed_t obs = { ex, 4, NULL, 0, 10, 1800000000 };
    ge_arena_t *a;
    cf_case_t c;
    char err[256], detail[256];

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("s.case", text, strlen(text), a, NULL, NULL, &c, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL_FATAL(c.n_expects, 4);
    CU_ASSERT_EQUAL(c.expects[0].status, 400);
    CU_ASSERT_EQUAL(c.expects[2].status, 0);
    for (size_t i = 0; i < 3; i++) {
        int ok = cf_expect_check(&c.expects[i], &obs, detail, sizeof(detail));
        if (!ok)
            fprintf(stderr, "line %u: %s\n", c.expects[i].line, detail);
        CU_ASSERT_EQUAL(ok, 1);
    }
    CU_ASSERT_EQUAL(cf_expect_check(&c.expects[3], &obs, detail, sizeof(detail)), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_case_t b;
        CU_ASSERT(cf_case_parse("s.case", bad[i], strlen(bad[i]), a, NULL, NULL, &b, err, sizeof(err)) < 0);
    }
    ge_arena_free(a);
}

static void test_serve(void)
{
    ge_arena_t *a;
    cf_case_t c;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("s", sample_case, strlen(sample_case), a, NULL, NULL, &c, err, sizeof(err)), 0);
    unsigned fired[16] = { 0 };
    cf_serve_state_t st = { fired, 0 };
    cf_vars_t v = { .now = 1800000000, .start = 1799999990, .lfdi = "ABCD", .sfdi = "123", .base = "http://127.0.0.1:1" };
    cf_answer_t ans;
    ge_buf_t body;
    ge_buf_init(&body, NULL, 0);

    /* /dcap: 503 twice inside 0..5 s, then 404 (the case serves no /dcap) */
    CU_ASSERT_EQUAL(cf_serve(&c, &st, &v, 1, "GET", "/dcap", NULL, "application/sep+xml", &ans, &body), 0);
    CU_ASSERT_EQUAL(ans.status, 503);
    cf_serve(&c, &st, &v, 2, "GET", "/dcap", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 503);
    cf_serve(&c, &st, &v, 3, "GET", "/dcap", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 404);
    /* /tm: closed every time */
    cf_serve(&c, &st, &v, 3, "GET", "/tm", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.kind, CF_ANSWER_CLOSE);
    /* /derp/1/derc appears at 10 s and is gone at 12 s; placeholders are not in it */
    cf_serve(&c, &st, &v, 9.9, "GET", "/derp/1/derc", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 404);
    ge_buf_clear(&body);
    cf_serve(&c, &st, &v, 10, "GET", "/derp/1/derc?s=0&l=10", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 200);
    CU_ASSERT_STRING_EQUAL(ans.type, "application/sep+xml");
    cf_serve(&c, &st, &v, 12, "GET", "/derp/1/derc", NULL, "application/sep+xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 404);
    /* scripted reply only for a body with status 1, three times; otherwise the default 201 */
    ge_buf_clear(&body);
    cf_serve(&c, &st, &v, 5, "POST", "/rsp", "<status>1</status>", NULL, &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 201);
    CU_ASSERT_STRING_EQUAL(ans.location, "/rsp/1");
    CU_ASSERT_PTR_NOT_NULL(ans.by);
    cf_serve(&c, &st, &v, 5, "POST", "/rsp", "<status>2</status>", NULL, &ans, &body);
    CU_ASSERT_PTR_NULL(ans.by);
    CU_ASSERT_STRING_EQUAL(ans.location, "/rsp/1");
    cf_serve(&c, &st, &v, 5, "PUT", "/edev/1/ders", "<x/>", NULL, &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 204);

    /* placeholders */
    ge_buf_clear(&body);
    const char *tpl = "<t>{now}</t><s>{now+60}</s><i>{isonow-1}</i><l>{lfdi}</l>{unknown}{ {now+x}{start+10}";
    CU_ASSERT_EQUAL(cf_substitute(tpl, strlen(tpl), &v, &body), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&body),
                           "<t>1800000000</t><s>1800000060</s><i>2027-01-15T07:59:59Z</i><l>ABCD</l>{unknown}{ {now+x}1800000000");
    ge_buf_free(&body);
    ge_arena_free(a);
}

/* Every built-in case parses, names its catalogue ID, expects something of the client, and serves
 * only documents that the official XSDs accept (CSIP suites: 2030.5 with the CSIP-AUS extensions). */
/* capture / send / expect answer: a value taken from a client's request fills a send's URL and
 * body; the client's answers to sends are judged apart from its own requests; a send whose URL
 * was never captured cannot be rendered; a reply limited to a window answers only inside it. */
static void test_capture_and_send(void)
{
    static const char text[] =
        "case GE-X\n"
        "capture hook POST /reg after \"<addr>\" before \"</addr>\"\n"
        "at 5 send POST {hook}/notify type application/xml\n"
        "<n at=\"{now}\">{hook}</n>\n"
        "end\n"
        "reply POST /poll from 4 until 6\n"
        "<late/>\n"
        "end\n"
        "expect answer POST /notify has \"<ok/>\" count 1 1\n"
        "expect request POST /reg\n";
    ge_arena_t *a;
    cf_case_t c;
    char err[256], detail[300];
    unsigned fired[8] = { 0 };
    cf_serve_state_t st = { fired, 0 };
    cf_captures_t caps;
    cf_vars_t v = { .now = 1800000000, .start = 1800000000, .base = "http://127.0.0.1:1" };
    cf_answer_t ans;
    ge_buf_t body, url, sbody;
    const cf_action_t *send = NULL;

    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 1 << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_parse("x.case", text, strlen(text), a, NULL, NULL, &c, err, sizeof(err)), 0);
    for (size_t i = 0; i < c.n_actions; i++)
        if (c.actions[i].kind == CF_ACT_SEND)
            send = &c.actions[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(send);
    CU_ASSERT_DOUBLE_EQUAL(send->at, 5, 1e-9);
    CU_ASSERT_STRING_EQUAL(send->type, "application/xml");
    memset(&caps, 0, sizeof(caps));
    v.captures = &caps;
    ge_buf_init(&body, NULL, 0);
    ge_buf_init(&url, NULL, 0);
    ge_buf_init(&sbody, NULL, 0);
    /* nothing captured yet: the send cannot go */
    CU_ASSERT_EQUAL(cf_send_render(send, &v, &url, &sbody), GE_ERR_NOTFOUND);
    ge_buf_clear(&url);
    ge_buf_clear(&sbody);
    /* the client's registration carries its address */
    cf_serve(&c, &st, &v, 1, "POST", "/reg", "<r><addr>http://127.0.0.1:7/ven</addr></r>", "application/xml", &ans,
             &body);
    CU_ASSERT_EQUAL(cf_send_render(send, &v, &url, &sbody), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&url), "http://127.0.0.1:7/ven/notify");
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&sbody), "<n at=\"1800000000\">http://127.0.0.1:7/ven</n>");
    /* the windowed reply */
    ge_buf_clear(&body);
    cf_serve(&c, &st, &v, 3, "POST", "/poll", "", "application/xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 201); /* no script before 4 s: accepted as created */
    ge_buf_clear(&body);
    cf_serve(&c, &st, &v, 5, "POST", "/poll", "", "application/xml", &ans, &body);
    CU_ASSERT_EQUAL(ans.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&body), "<late/>"));
    /* the verdict: a send's answer is not a request and vice versa */
    {
        cf_exchange_t ex[2];
        memset(ex, 0, sizeof(ex));
        ex[0].t = 1;
        ex[0].method = "POST";
        ex[0].path = "/reg";
        ex[0].body = "<r/>";
        ex[0].status = 201;
        ex[1].t = 5;
        ex[1].method = "SEND POST";
        ex[1].path = "/ven/notify";
        ex[1].body = "<ok/>";
        ex[1].status = 200;
        cf_observed_t obs = { ex, 2, NULL, 0, 10, 1800000000 };
        cf_expect_t ans_e = c.expects[0], req_e = c.expects[1];
        ans_e.path = "/ven/notify";
        CU_ASSERT_TRUE(cf_expect_check(&ans_e, &obs, detail, sizeof(detail)));
        CU_ASSERT_TRUE(cf_expect_check(&req_e, &obs, detail, sizeof(detail)));
        ex[1].body = "<error/>";
        CU_ASSERT_FALSE(cf_expect_check(&ans_e, &obs, detail, sizeof(detail)));
        req_e.path = "/ven/notify";
        CU_ASSERT_FALSE(cf_expect_check(&req_e, &obs, detail, sizeof(detail))); /* a send is not a request */
    }
    /* parse errors name the line */
    {
        static const char *const bad[] = {
            "case X\ncapture Hook POST /r after \"a\" before \"b\"\n",
            "case X\ncapture h POST /r after \"a\"\n",
            "case X\nat 1 send POST ftp://x/\nend\n",
            "case X\nat 1 send POST {h} colour red\nend\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            cf_case_t b;
            CU_ASSERT(cf_case_parse("b.case", bad[i], strlen(bad[i]), a, NULL, NULL, &b, err, sizeof(err)) < 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "b.case:2: error:"));
        }
    }
    cf_captures_clear(&caps);
    ge_buf_free(&body);
    ge_buf_free(&url);
    ge_buf_free(&sbody);
    ge_arena_free(a);
}

static void test_builtin_cases(void)
{
    /* csip: plain 2030.5; csip-aus: with the CSIP-AUS extensions */
    xsd_t *xsd = xsd_dir() ? xsd_load("sep/sep.xsd") : NULL;
    xsd_t *xsd_aus = xsd_dir() ? xsd_load("csipaus/csipaus-core.xsd") : NULL;
    xsd_t *xsd_aus13 = xsd_dir() ? xsd_load("csipaus/csipaus-core-v1.3.xsd") : NULL;
    size_t scripted = 0, validated = 0;

    if (xsd_dir())
        CU_ASSERT_FATAL(xsd && xsd_aus && xsd_aus13);
    cf_vars_t v = { .now = 1800000000, .start = 1799999990, .lfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5",
                    .sfdi = "167261211391", .base = "https://127.0.0.1:1" };
    for (const char *const *suite = cf_suites; *suite; suite++) {
        cf_catalogue_t cat;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(cf_catalogue_load(*suite, &cat, err, sizeof(err)), 0);
        for (size_t i = 0; i < cat.n; i++) {
            ge_arena_t *a;
            cf_case_t c;
            CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
            int rc = cf_case_load(*suite, cat.cases[i].id, NULL, a, &c, err, sizeof(err));
            /* a case has a script exactly when the catalogue gives no reason for having none */
            if (rc == GE_ERR_NOTFOUND || cat.cases[i].unscripted[0])
                CU_ASSERT(rc == GE_ERR_NOTFOUND && cat.cases[i].unscripted[0]);
            if (rc == GE_ERR_NOTFOUND) {
                if (!cat.cases[i].unscripted[0])
                    fprintf(stderr, "%s %s: no script and no reason in the catalogue\n", *suite, cat.cases[i].id);
                ge_arena_free(a);
                continue;
            }
            if (rc != 0)
                fprintf(stderr, "%s\n", err);
            CU_ASSERT_EQUAL(rc, 0);
            scripted++;
            if (rc == 0) {
                CU_ASSERT(c.n_expects > 0);
                xsd_t *x = strcmp(*suite, "csip") == 0 ? xsd : strcmp(*suite, "csip-aus") == 0 ? xsd_aus : NULL;
                for (size_t k = 0; k < c.n_actions && x; k++) {
                    const cf_action_t *act = &c.actions[k];
                    if (act->body_len == 0)
                        continue;
                    /* a body that is not markup at all is garbage on purpose (e.g. a broken
                     * Notification the client must survive): nothing to validate */
                    if (act->body[strspn(act->body, " \t\r\n")] != '<')
                        continue;
                    ge_buf_t doc;
                    ge_buf_init(&doc, NULL, 0);
                    CU_ASSERT_EQUAL(cf_substitute(act->body, act->body_len, &v, &doc), 0);
                    char why[600];
                    /* CSIP-AUS v1.3's namespace (SDVN-01): v1.3's XSDs */
                    xsd_t *xv = x == xsd_aus && strstr(ge_buf_str(&doc), "https://csipaus.org/ns/v1.3") ? xsd_aus13 : x;
                    int ok = xsd_valid(xv, doc.data, doc.len, why, sizeof(why));
                    if (!ok)
                        fprintf(stderr, "%s %s line %u: the body of %s does not validate: %s\n", *suite,
                                cat.cases[i].id, act->line, act->path, why);
                    CU_ASSERT_TRUE(ok);
                    validated += ok;
                    ge_buf_free(&doc);
                }
            }
            ge_arena_free(a);
        }
        cf_catalogue_free(&cat);
    }
    /* the demo's day is served by the same head-end */
    {
        ge_arena_t *a;
        cf_case_t c;
        char err[512];
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        CU_ASSERT_EQUAL(cf_case_load("csip", "DEMO-DAY", NULL, a, &c, err, sizeof(err)), 0);
        for (size_t k = 0; xsd && k < c.n_actions; k++) {
            ge_buf_t doc;
            char why[600];
            if (!c.actions[k].body_len)
                continue;
            ge_buf_init(&doc, NULL, 0);
            cf_substitute(c.actions[k].body, c.actions[k].body_len, &v, &doc);
            CU_ASSERT_TRUE(xsd_valid(xsd, doc.data, doc.len, why, sizeof(why)));
            ge_buf_free(&doc);
        }
        ge_arena_free(a);
    }
    CU_ASSERT(scripted >= 20);
    if (xsd)
        CU_ASSERT(validated >= 100);
    xsd_free(xsd);
    xsd_free(xsd_aus);
    xsd_free(xsd_aus13);
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, plen) == 0;
    return n;
}

/* A client that does nothing fails every scripted case of every suite; the rest are skipped. */
static void test_run_idle_client_fails(void)
{
    for (const char *const *suite = cf_suites; *suite; suite++) {
        char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", (char *)*suite, "--", "/bin/true",
                         "{url}", NULL };
        proc_result_t r;
        /* each case starts on a whole second: up to a second each, 190 cases in oadr20b */
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 600000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 1 - (count_lines_starting(r.out, "FAIL ") == 0));
        CU_ASSERT_EQUAL(count_lines_starting(r.out, "PASS "), 0);
        cf_catalogue_t cat;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(cf_catalogue_load(*suite, &cat, err, sizeof(err)), 0);
        size_t fails = count_lines_starting(r.out, "FAIL "), skips = count_lines_starting(r.out, "SKIP ");
        CU_ASSERT_EQUAL(fails + skips, cat.n);
        char summary[128];
        snprintf(summary, sizeof(summary), "conformance: 0 passed, %zu failed, %zu skipped\n", fails, skips);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, summary));
        if (strcmp(*suite, "csip") == 0)
            CU_ASSERT(fails >= 20);
        if (strcmp(*suite, "oadr20b") == 0) /* a SKIP says why */
            CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "SKIP A_E0_0295 Push VEN accepting events from several VTNs: "
                                                 "not scripted: conditional (a VEN that may take events from "
                                                 "several VTNs)"));
        cf_catalogue_free(&cat);
        proc_result_free(&r);
    }
}

/* A client that acts passes what it does and fails what it does not, with evidence and JUnit. */
static void test_run_scripted_client(void)
{
    char dir[1024], script[1200], report[] = "/tmp/ge-conf-report-XXXXXX", junit[] = "/tmp/ge-conf-junit-XXXXXX";
    const char *src = getenv("GE_SRCDIR") ? getenv("GE_SRCDIR") : GE_SRCDIR;
    snprintf(dir, sizeof(dir), "%s/tests/data/conformance", src);
    snprintf(script, sizeof(script), "%s/test_client.py", dir);
    int fd1 = mkstemp(report), fd2 = mkstemp(junit);
    CU_ASSERT_FATAL(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir,
                     "--case", "CORE-005", "--case", "COMM-002", "--report", report, "--junit", junit, "--",
                     "python3", script, "{url}", "{status_file}", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS CORE-005 Basic time: read the Time resource and synchronise to it\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL COMM-002 Basic discovery"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "expected GET /edev between 0 s and 3 s at least 1 time(s), saw 0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 1 passed, 1 failed, 0 skipped\n"));
    if (r.status != 1)
        fprintf(stderr, "%s%s", r.out, r.err);
    proc_result_free(&r);

    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(rep, "suite")), "csip");
    json_t *cases = json_object_get(rep, "cases");
    CU_ASSERT_EQUAL(json_array_size(cases), 2);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *res = json_string_value(json_object_get(c, "result"));
        CU_ASSERT_STRING_EQUAL(res, strcmp(id, "CORE-005") == 0 ? "pass" : "fail");
        json_t *ev = json_object_get(c, "evidence");
        CU_ASSERT(json_array_size(ev) >= 2);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "path")), "/dcap");
        CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(json_array_get(ev, 0), "reply")),
                                      "<DeviceCapability"));
    }
    json_decref(rep);
    xmlDocPtr d = xmlReadFile(junit, NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    xmlNodePtr root = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL((const char *)root->name, "testsuite");
    xmlChar *fails = xmlGetProp(root, (const xmlChar *)"failures");
    CU_ASSERT_STRING_EQUAL((const char *)fails, "1");
    xmlFree(fails);
    xmlFreeDoc(d);
    unlink(report);
    unlink(junit);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* What every request must be (cf_wire_check): the suite's media type, a valid document of its schema;
 * a client's 2xx answer to a send, a valid document too; the rest is not judged. */
static void test_wire_check(void)
{
#define RSP_OK "<Response xmlns=\"urn:ieee:std:2030.5:ns\"><createdDateTime>1</createdDateTime>" \
               "<endDeviceLFDI>0123456789ABCDEF0123456789ABCDEF01234567</endDeviceLFDI><status>1</status>" \
               "<subject>0123456789ABCDEF0123456789ABCDEF</subject></Response>"
#define RSP_BAD "<Response xmlns=\"urn:ieee:std:2030.5:ns\"><endDeviceLFDI>0123456789ABCDEF0123456789ABCDEF01234567" \
                "</endDeviceLFDI><createdDateTime>1</createdDateTime><status>1</status>" \
                "<subject>0123456789ABCDEF0123456789ABCDEF</subject></Response>"
#define POLL "<oadrPayload xmlns=\"http://openadr.org/oadr-2.0b/2012/07\"><oadrSignedObject><oadrPoll " \
             "ei:schemaVersion=\"2.0b\" xmlns:ei=\"http://docs.oasis-open.org/ns/energyinterop/201110\">" \
             "<ei:venID>VEN-1</ei:venID></oadrPoll></oadrSignedObject></oadrPayload>"
    static const struct {
        const char *suite;
        cf_exchange_t x;
        const char *headers; /* NULL: none kept */
        const char *breach;  /* NULL: fine; else text the detail holds */
    } t[] = {
        { "csip", { 1.0, "POST", "/rsp", RSP_OK, 201 }, "Content-Type: application/sep+xml\n", NULL },
        { "csip-aus", { 1.0, "POST", "/rsp", RSP_OK, 201 }, "Content-Type: Application/SEP+XML; charset=utf-8\n",
          NULL },
        { "csip", { 1.0, "POST", "/rsp", RSP_OK, 201 }, NULL, NULL }, /* the media type not known */
        { "csip", { 1.5, "PUT", "/rsp", RSP_OK, 204 }, "Content-Type: application/xml\n",
          "wire: PUT /rsp at 1.5 s: Content-Type application/xml, not application/sep+xml" },
        { "csip", { 1.0, "POST", "/rsp", RSP_OK, 201 }, "Accept: application/sep+xml\n",
          "no Content-Type (the body needs application/sep+xml)" },
        { "csip", { 2.0, "POST", "/rsp", RSP_BAD, 201 }, "Content-Type: application/sep+xml\n",
          "wire: POST /rsp at 2.0 s: not a valid IEEE 2030.5 document: 1:" },
        { "csip", { 2.0, "POST", "/rsp", "not xml", 201 }, NULL, "not a valid IEEE 2030.5 document" },
        { "csip", { 2.0, "POST", "/rsp", POLL, 201 }, NULL, "not a valid IEEE 2030.5 document" },
        { "csip", { 3.0, "SEND POST", "/ntfy", "<<garbage", 200 }, NULL,
          "wire: the answer to POST /ntfy at 3.0 s: not a valid IEEE 2030.5 document" },
        { "csip", { 3.0, "SEND POST", "/ntfy", "bad request", 400 }, NULL, NULL }, /* an error answer */
        { "csip", { 3.0, "GET", "/dcap", "ignored", 200 }, NULL, NULL },
        { "csip", { 3.0, "RESTART", "TERM", "", 0 }, NULL, NULL },
        { "csip", { 3.0, "POST", "/edev/1/sub", "", 201 }, "Content-Type: text/plain\n", NULL }, /* no body */
        { "oadr20b", { 1.0, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", POLL, 200 }, "Content-Type: application/xml\n",
          NULL },
        { "oadr20b", { 1.0, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", POLL, 200 }, "Content-Type: text/xml\n",
          "Content-Type text/xml, not application/xml" },
        { "oadr20b", { 1.0, "POST", "/OpenADR2/Simple/2.0b/OadrPoll", RSP_OK, 200 }, NULL,
          "not a valid OpenADR 2.0b document" },
        { "oadr3", { 1.0, "POST", "/openadr3/auth/token", "grant_type=client_credentials", 200 },
          "Content-Type: application/x-www-form-urlencoded\n", NULL },
        { "oadr3", { 1.0, "POST", "/openadr3/auth/token", "{}", 200 }, "Content-Type: application/json\n",
          "not application/x-www-form-urlencoded" },
        { "oadr3", { 1.0, "POST", "/openadr3/reports", "{\"a\": 1}", 201 }, "Content-Type: application/json\n", NULL },
        { "oadr3", { 1.0, "PUT", "/openadr3/reports/1", "{\"a\": ", 200 }, "Content-Type: application/json\n",
          "wire: PUT /openadr3/reports/1 at 1.0 s: not JSON: 1:" },
    };
#undef RSP_OK
#undef RSP_BAD
#undef POLL
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cf_observed_t obs = { &t[i].x, 1, NULL, 0, 10, 0 };
        const char *headers[1] = { t[i].headers };
        char d[400] = "";
        int ok = cf_wire_check(t[i].suite, &obs, headers, 1, d, sizeof(d));
        if (ok != !t[i].breach || (t[i].breach && !strstr(d, t[i].breach)))
            fprintf(stderr, "\n  case %zu: %d %s\n", i, ok, d);
        CU_ASSERT_EQUAL(ok, !t[i].breach);
        if (t[i].breach)
            CU_ASSERT_PTR_NOT_NULL(strstr(d, t[i].breach));
    }
    /* the first breach of several is the one told */
    {
        cf_exchange_t x[2] = { { 1.0, "POST", "/a", "x", 201 }, { 2.0, "POST", "/b", "y", 201 } };
        cf_observed_t obs = { x, 2, NULL, 0, 10, 0 };
        char d[400];
        CU_ASSERT_EQUAL(cf_wire_check("csip", &obs, NULL, 0, d, sizeof(d)), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(d, "POST /a at 1.0 s"));
    }
}

/* A client that does what CORE-005 asks but PUTs a document that is not valid 2030.5, or one with
 * the wrong media type, fails it: the head-end checks every request on the wire. */
static void test_run_wire_breach(void)
{
    static const struct { const char *type, *detail; } t[] = {
        { "application/sep+xml", "wire: PUT /edev/1/der/1/ders at " },
        { "text/plain", "Content-Type text/plain, not application/sep+xml" },
    };
    const char *src = getenv("GE_SRCDIR") ? getenv("GE_SRCDIR") : GE_SRCDIR;
    char dir[1024], script[1200];
    snprintf(dir, sizeof(dir), "%s/tests/data/conformance", src);
    snprintf(script, sizeof(script), "%s/test_client.py", dir);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir, "--case",
                         "CORE-005", "--", "python3", script, "{url}", "{status_file}", "{duration}",
                         (char *)t[i].type, NULL };
        proc_result_t r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL CORE-005 "));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, t[i].detail));
        if (i == 0)
            CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "not a valid IEEE 2030.5 document: 1:71: element 'sep:alarmStatus'"));
        if (r.status != 1 || !strstr(r.out, t[i].detail))
            fprintf(stderr, "%s%s", r.out, r.err);
        proc_result_free(&r);
    }
}

/* A client that sends garbage, floods or hangs (tests/data/conformance/hostile_client.py), ignores
 * SIGTERM and would outlive the run: each case still ends in its time bound with a FAIL, the next case
 * runs, the report is written with the evidence capped, and the client is gone afterwards. */
static void test_run_hostile_client(void)
{
    static const char *const modes[] = { "garbage", "flood", "hang" };
    const char *src = getenv("GE_SRCDIR") ? getenv("GE_SRCDIR") : GE_SRCDIR;
    char dir[1024], script[1200], tmp[] = "/tmp/ge-conf-hostile-XXXXXX", report[300], pids[300], work[300];
    snprintf(dir, sizeof(dir), "%s/tests/data/conformance", src);
    snprintf(script, sizeof(script), "%s/hostile_client.py", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
    snprintf(report, sizeof(report), "%s/report.json", tmp);
    snprintf(pids, sizeof(pids), "%s/pids", tmp);
    snprintf(work, sizeof(work), "%s/work", tmp);

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir,
                         "--case", "CORE-005", "--case", "COMM-002", "--report", report, "--work-dir", work, "--",
                         "python3", script, (char *)modes[m], "{url}", "60", pids, NULL };
        struct timespec t0, t1;
        proc_result_t r;
        remove(pids);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 90000, &r), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* two cases of 4 s, each with its grace and a client that needs SIGKILL: well under the 60 s
         * the client would run on its own */
        CU_ASSERT(took < 40.0);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL CORE-005 "));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL COMM-002 "));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 0 passed, 2 failed, 0 skipped\n"));
        if (r.status != 1 || took >= 40.0)
            fprintf(stderr, "\n%s: %.1f s\n%s%s", modes[m], took, r.out, r.err);
        proc_result_free(&r);

        json_error_t jerr;
        json_t *rep = json_load_file(report, 0, &jerr);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
        json_t *cases = json_object_get(rep, "cases");
        CU_ASSERT_EQUAL(json_array_size(cases), 2);
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(c, "result")), "fail");
            CU_ASSERT(json_array_size(json_object_get(c, "evidence")) <= 20000);
        }
        json_decref(rep);

        /* started once per case, and each of them stopped (reaped: no such process any more) */
        FILE *f = fopen(pids, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        int pid, n = 0;
        while (fscanf(f, "%d", &pid) == 1) {
            n++;
            CU_ASSERT(kill(pid, 0) == -1 && errno == ESRCH);
        }
        fclose(f);
        CU_ASSERT_EQUAL(n, 2);
    }
    char *rm[] = { "/bin/rm", "-rf", tmp, NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL(proc_run(rm, NULL, 10000, &r), 0);
    proc_result_free(&r);
}

/* `at T restart`: the engine stops the client (TERM, then KILL) and starts it again with the same
 * command line and state dir, keeping the case's clock; the restarts are in the evidence. */
static void test_run_restart(void)
{
    char dir[] = "/tmp/ge-conf-restart-XXXXXX", path[256], report[300], work[300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/GE-SEP-003.case", dir);
    write_file(path, "case GE-SEP-003\nduration 5\nscheme http\nat 1 restart\nat 2.5 restart signal KILL\n");
    snprintf(report, sizeof(report), "%s/report.json", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    /* the client appends a line per start to a file in its state dir, then waits */
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir, "--case",
                     "GE-SEP-003", "--report", report, "--work-dir", work, "--", "sh", "-c",
                     "echo start >> \"$1/starts\"; exec sleep 60", "client", "{state_dir}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS GE-SEP-003"));
    proc_result_free(&r);

    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    json_t *ev = json_object_get(json_array_get(json_object_get(rep, "cases"), 0), "evidence");
    CU_ASSERT_EQUAL(json_array_size(ev), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "method")), "RESTART");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "path")), "TERM");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 1), "path")), "KILL");
    CU_ASSERT(json_real_value(json_object_get(json_array_get(ev, 1), "t")) >= 2.5);
    json_decref(rep);

    /* started three times: once, then after each restart, in the same state dir */
    char starts[400], buf[256] = "";
    snprintf(starts, sizeof(starts), "%s/work/GE-SEP-003/starts", dir);
    FILE *f = fopen(starts, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    CU_ASSERT_STRING_EQUAL(buf, "start\nstart\nstart\n");
    char *rm[] = { "/bin/rm", "-rf", dir, NULL };
    CU_ASSERT_EQUAL(proc_run(rm, NULL, 10000, &r), 0);
    proc_result_free(&r);
}

/* `at T fault-file "TEXT"`: {fault_file} exists (empty) when the client starts, holds TEXT from T on
 * (replaced whole, never seen half-written), and each write is in the evidence. */
static void test_run_fault_file(void)
{
    char dir[] = "/tmp/ge-conf-faults-XXXXXX", path[256], report[300], work[300], seen[400], buf[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/GE-SEP-003.case", dir);
    write_file(path, "case GE-SEP-003\nduration 4\nscheme http\nat 1 fault-file \"over_voltage under_frequency\"\n"
                     "at 2.5 fault-file \"\"\n");
    snprintf(report, sizeof(report), "%s/report.json", dir);
    snprintf(work, sizeof(work), "%s/work", dir);
    /* the client copies the file at start and at 1.8 s */
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case-dir", dir, "--case",
                     "GE-SEP-003", "--report", report, "--work-dir", work, "--", "sh", "-c",
                     "cp \"$1\" \"$2/at0\"; sleep 1.8; cp \"$1\" \"$2/at1.8\"; exec sleep 60", "client",
                     "{fault_file}", "{state_dir}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 60000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    static const struct { const char *name, *want; } files[] = {
        { "at0", "" }, { "at1.8", "over_voltage under_frequency\n" }, { "faults", "" } };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(seen, sizeof(seen), "%s/GE-SEP-003/%s", work, files[i].name);
        FILE *f = fopen(seen, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        CU_ASSERT_STRING_EQUAL(buf, files[i].want);
    }
    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    json_t *ev = json_object_get(json_array_get(json_object_get(rep, "cases"), 0), "evidence");
    CU_ASSERT_EQUAL(json_array_size(ev), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "method")), "FAULT-FILE");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "request")),
                           "over_voltage under_frequency");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(ev, 1), "status")), 0);
    json_decref(rep);
    char *rm[] = { "/bin/rm", "-rf", dir, NULL };
    CU_ASSERT_EQUAL(proc_run(rm, NULL, 10000, &r), 0);
    proc_result_free(&r);
}

/* Our own client passes the cases the engine's DNS-SD responder and restarts serve: it discovers the
 * head-end from {dnssd} although the suite's command line names --server {url} (COMM-001), and a
 * SIGKILL mid-case neither loses nor repeats a Response (GE-SEP-003); without its state dir, the
 * same client repeats one, and the case says so. */
static void test_run_our_client_dnssd_restart(void)
{
    char report[] = "/tmp/ge-conf-ours-XXXXXX";
    int fd = mkstemp(report);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case", "COMM-001", "--case",
                     "GE-SEP-003", "--report", report, "--", (char *)proc_gridedge(), "sep", "run", "--server", "{url}",
                     "--dnssd", "{dnssd}", "--ca", "{ca}", "--cert", "{cert}", "--key", "{key}", "--state-dir",
                     "{state_dir}", "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 180000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS COMM-001 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS GE-SEP-003 "));
    proc_result_free(&r);
    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    json_t *ev = json_object_get(json_array_get(json_object_get(rep, "cases"), 0), "evidence");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "method")), "DNS");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ev, 0), "path")),
                           "_smartenergy._tcp.local");
    json_decref(rep);
    unlink(report);

    char *lossy[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "csip", "--case", "GE-SEP-003", "--",
                      (char *)proc_gridedge(), "sep", "run", "--server", "{url}", "--ca", "{ca}", "--cert", "{cert}",
                      "--key", "{key}", "--status-file", "{status_file}", "--duration", "{duration}", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(lossy, NULL, 180000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL GE-SEP-003 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "at most 1 allowed"));
    proc_result_free(&r);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "built-in catalogues", test_builtin_catalogues },
        { "parse errors name the line", test_parse_errors_name_the_line },
        { "list command", test_list_command },
        { "case parse", test_case_parse },
        { "case parse errors", test_case_parse_errors },
        { "case parse: long lines, new directives", test_case_parse_long_lines_and_new_directives },
        { "DNS-SD responder: answers", test_dnssd_answer },
        { "DNS-SD responder: garbage", test_dnssd_garbage },
        { "DNS-SD responder: on UDP", test_dnssd_responder },
        { "verdict", test_verdict },
        { "has-bits and has-any-bits", test_has_bits },
        { "expect answer status", test_answer_status },
        { "what every request must be (media type, schema)", test_wire_check },
        { "serve", test_serve },
        { "capture, send, expect answer", test_capture_and_send },
        { "built-in cases", test_builtin_cases },
        { "run: an idle client fails", test_run_idle_client_fails },
        { "run: a scripted client", test_run_scripted_client },
        { "run: a request not valid on the wire fails the case", test_run_wire_breach },
        { "run: a client that sends garbage, floods or hangs", test_run_hostile_client },
        { "run: at T restart", test_run_restart },
        { "run: at T fault-file", test_run_fault_file },
        { "run: our client, COMM-001 and GE-SEP-003", test_run_our_client_dnssd_restart },
        { NULL, NULL },
    };
    return test_add_suite("conformance", cases);
}
