/* test_csipaus.c - the csip-aus conformance suite played to the 2030.5 engine in simulated time
 * (tests/sep_play.h): the cases whose features the engine has must pass, everything the client sends
 * must validate against the CSIP-AUS schema (2030.5 with the csipaus extensions), and a client that
 * does nothing fails every scripted case. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/error.h>

#include "conformance/case.h"
#include "conformance/catalogue.h"
#include "conformance/verdict.h"
#include "runner.h"
#include "sep_play.h"
#include "xsd.h"

#define SUITE "csip-aus"

/* The csip-aus cases the engine passes. */
static const char *const supported[] = {
    "ALL-01", "ALL-02", "ALL-03", "ALL-04", "ALL-05", "ALL-06", "ALL-07", "ALL-08", "ALL-09", "ALL-11",
    "ALL-12", "ALL-18", "ALL-19", "ALL-20", "ALL-21", "ALL-22", "ALL-23", "ALL-24", "ALL-25", "GEN-01",
    "GEN-02", "GEN-03", "GEN-04", "GEN-09", "GEN-10", "GEN-11", "GEN-12", "GEN-13", "LOA-01", "LOA-02",
    "LOA-03", "LOA-04", "LOA-09", "LOA-10", "LOA-11", "LOA-12", "LOA-13", "ALL-03-REJ", "ALL-10", "ALL-13",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int listed(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* Case ID of the suite into C, in a new arena (the caller frees it); NULL (and a message) if it does not
 * load. */
static ge_arena_t *load(const char *id, cf_case_t *c)
{
    ge_arena_t *a;
    char err[512] = "";

    if (ge_arena_new(&a, NULL, 0, 4 << 20) < 0)
        return NULL;
    if (cf_case_load(SUITE, id, NULL, a, c, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        ge_arena_free(a);
        return NULL;
    }
    return a;
}

static void test_supported_cases_pass(void)
{
    size_t validated = sep_play_suite(SUITE, supported, N_OF(supported), "csipaus/csipaus-core.xsd");
    if (xsd_dir()) {
        CU_ASSERT(validated > 100);
        printf("(%zu documents the client sent validated against the CSIP-AUS XSD) ", validated);
    }
}

/* Every scripted case is classified, and every case a list names is scripted. */
static void test_every_case_classified(void)
{
    cf_catalogue_t cat;
    char err[512];
    size_t scripted = 0;

    CU_ASSERT_EQUAL_FATAL(cf_catalogue_load(SUITE, &cat, err, sizeof(err)), 0);
    for (size_t i = 0; i < cat.n; i++) {
        ge_arena_t *a;
        cf_case_t c;
        const char *id = cat.cases[i].id;
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&a, NULL, 0, 4 << 20), 0);
        int rc = cf_case_load(SUITE, id, NULL, a, &c, err, sizeof(err));
        ge_arena_free(a);
        if (rc == GE_ERR_NOTFOUND)
            continue;
        CU_ASSERT_EQUAL(rc, 0);
        scripted++;
        int in = listed(supported, N_OF(supported), id);
        if (!in)
            fprintf(stderr, "%s: scripted but not in the supported list\n", id);
        CU_ASSERT_EQUAL(in, 1);
    }
    for (size_t i = 0; i < N_OF(supported); i++)
        CU_ASSERT_PTR_NOT_NULL(cf_catalogue_find(&cat, supported[i]));
    CU_ASSERT_EQUAL(scripted, N_OF(supported));
    cf_catalogue_free(&cat);
}

/* A client that does nothing fails every scripted case: neither with no status file at all, nor with
 * a status file showing a site that runs by itself (battery idle, PV 3 kW, house 1 kW, no controls). */
static void test_idle_client_fails_every_case(void)
{
    static const char *const *const lists[] = { supported };
    const size_t counts[] = { N_OF(supported) };
    static sep_play_run_t r;

    for (size_t l = 0; l < N_OF(lists); l++)
        for (size_t i = 0; i < counts[l]; i++) {
            cf_case_t c;
            ge_arena_t *a = load(lists[l][i], &c);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            memset(&r, 0, sizeof(r));
            int silent = sep_play_failures(&c, &r);
            for (double t = 0; t <= c.duration && r.n_samples < SEP_PLAY_MAX_SAMPLES; t += 0.25) {
                char json[300];
                snprintf(json, sizeof(json),
                         "{\"time\":%.0f,\"site\":{\"power_w\":-2000},\"pv\":{\"power_w\":3000},"
                         "\"battery\":{\"power_w\":0,\"soc_pct\":50},\"ev\":{\"power_w\":0},"
                         "\"active_controls\":[],\"price\":null}",
                         SEP_PLAY_T0 + c.time_offset + t);
                r.samples[r.n_samples].t = t;
                r.samples[r.n_samples].json = strdup(json);
                r.n_samples++;
            }
            int lazy = sep_play_failures(&c, &r);
            if (!silent || !lazy)
                fprintf(stderr, "%s: a client that does nothing passes it (%s)\n", lists[l][i],
                        !silent ? "no status file" : "a site running by itself");
            CU_ASSERT(silent > 0);
            CU_ASSERT(lazy > 0);
            sep_play_run_free(&r);
            ge_arena_free(a);
        }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "every scripted case classified", test_every_case_classified },
        { "supported csip-aus cases pass in simulated time", test_supported_cases_pass },
        { "a client that does nothing fails every case", test_idle_client_fails_every_case },
        { NULL, NULL },
    };
    return test_add_suite("csip-aus", cases);
}
