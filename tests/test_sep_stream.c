/* test_sep_stream.c - the 2030.5 engine takes the body of an answer as it arrives
 * (sep_client_body(), then sep_client_response() without a body).  The conformance cases' resources
 * are served by the head-end's own serve logic in simulated time and their bodies handed over whole,
 * one byte at a time, in random pieces, and interleaved between the requests in flight: the engine
 * must end up doing exactly the same.  Broken, cut-off and unanswered bodies leave the last good
 * state, and the engine keeps no copy of a body. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/arena.h>
#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/sep.h>
#include <gridedge/xml.h>

#include "conformance/serve.h"
#include "runner.h"
#include "sep_play.h"

#define T0 SEP_PLAY_T0
#define STEP 0.25
#define MAX_BATCH 8

/* ---- a ge_mem_t that counts the bytes live and their peak ------------------------------------------ */

typedef struct counting {
    ge_mem_t mem;
    size_t live, peak;
    unsigned long allocs; /* malloc and realloc calls */
} counting_t;

typedef union block_head {
    size_t size;
    max_align_t align;
} block_head_t;

static void *cm_malloc(size_t size, void *ud)
{
    counting_t *cm = ud;
    block_head_t *h = malloc(sizeof(*h) + size);

    cm->allocs++;
    if (!h)
        return NULL;
    h->size = size;
    cm->live += size;
    if (cm->live > cm->peak)
        cm->peak = cm->live;
    return h + 1;
}

static void cm_free(void *ptr, void *ud)
{
    counting_t *cm = ud;
    block_head_t *h = ptr ? (block_head_t *)ptr - 1 : NULL;

    if (!h)
        return;
    cm->live -= h->size;
    free(h);
}

static void *cm_realloc(void *ptr, size_t size, void *ud)
{
    counting_t *cm = ud;
    block_head_t *h = ptr ? (block_head_t *)ptr - 1 : NULL, *n;

    if (!h)
        return cm_malloc(size, ud);
    cm->allocs++;
    n = realloc(h, sizeof(*n) + size);
    if (!n)
        return NULL;
    cm->live = cm->live - n->size + size;
    n->size = size;
    if (cm->live > cm->peak)
        cm->peak = cm->live;
    return n + 1;
}

static void counting_init(counting_t *cm)
{
    memset(cm, 0, sizeof(*cm));
    cm->mem.malloc = cm_malloc;
    cm->mem.realloc = cm_realloc;
    cm->mem.free = cm_free;
    cm->mem.ud = cm;
}

/* ---- the player ----------------------------------------------------------------------------------- */

/* How an answer's body reaches the engine. */
typedef enum feed_mode {
    FEED_WHOLE,   /* sep_client_response() with the body */
    FEED_BYTES,   /* sep_client_body() one byte at a time */
    FEED_RANDOM,  /* sep_client_body() in pieces of random size; sometimes the last with the status */
    FEED_FIXED    /* sep_client_body() in pieces of `piece` bytes */
} feed_mode;

typedef struct play play_t;

/* Change the answer to GET PATH at T (status and body) before it is fed. */
typedef void (*tamper_fn)(play_t *p, double t, const char *path, int *status, ge_buf_t *body);

struct play {
    const cf_case_t *c;
    feed_mode mode;
    size_t piece;         /* FEED_FIXED */
    int batch;            /* take every request due, then answer them together, their bodies interleaved */
    uint64_t rng;
    tamper_fn tamper;
    counting_t *cm;       /* when set: the engine's allocator, and the streaming is measured */
    ge_buf_t log;         /* what the engine logged */
    ge_buf_t trace;       /* what the engine did: requests, answers' statuses, controls in force */
    size_t most_side_by_side; /* bodies streamed interleaved at once, at most */
    size_t biggest_body, biggest_growth; /* the largest body streamed, and the engine's heap growth meanwhile */
    unsigned repeats;     /* bodies as large streamed after it ... */
    unsigned long repeat_allocs; /* ... and the engine's allocations while the last of them came */
    sep_client_stats_t stats;
};

static uint32_t rnd(play_t *p, uint32_t n)
{
    /* xorshift64*: a fixed sequence per seed, so a failure can be replayed */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return (uint32_t)((p->rng * 2685821657736338717ULL) >> 33) % n;
}

static void log_hook(void *ud, ge_log_level level, const char *module, const char *msg)
{
    play_t *p = ud;
    (void)level;
    (void)module;
    ge_buf_printf(&p->log, "%s\n", msg);
}

/* The size of the next piece of a body with LEFT bytes to go. */
static size_t next_piece(play_t *p, size_t left)
{
    size_t n = p->mode == FEED_BYTES ? 1 : p->mode == FEED_FIXED ? p->piece : 1 + rnd(p, rnd(p, 8) ? 97 : 2000);
    return n < left ? n : left;
}

typedef struct answer {
    uint32_t id;
    int status;
    char location[600];
    ge_buf_t body;
    size_t fed;
} answer_t;

/* Hand the bodies of the N answers A to the engine in the player's pieces, round robin, then end
 * them in order. */
static void deliver(play_t *p, sep_client_t *eng, answer_t *a, size_t n, double now)
{
    size_t streaming = 0, busy;

    if (p->mode == FEED_WHOLE) {
        for (size_t i = 0; i < n; i++)
            CU_ASSERT_EQUAL(sep_client_response(eng, a[i].id, a[i].status, a[i].location[0] ? a[i].location : NULL,
                                                a[i].body.data, a[i].body.len, now), 0);
        return;
    }
    for (size_t i = 0; i < n; i++)
        streaming += a[i].body.len > 0;
    if (streaming > p->most_side_by_side)
        p->most_side_by_side = streaming;
    if (p->cm)
        p->cm->peak = p->cm->live;
    size_t base = p->cm ? p->cm->live : 0, total = 0;
    unsigned long allocs = p->cm ? p->cm->allocs : 0;
    do {
        busy = 0;
        for (size_t i = 0; i < n; i++) {
            size_t left = a[i].body.len - a[i].fed, k = next_piece(p, left);
            /* FEED_RANDOM keeps the last piece for the status, now and then */
            if (!left || (p->mode == FEED_RANDOM && k == left && rnd(p, 2)))
                continue;
            CU_ASSERT_EQUAL(sep_client_body(eng, a[i].id, a[i].body.data + a[i].fed, k), 0);
            a[i].fed += k;
            busy++;
        }
    } while (busy);
    for (size_t i = 0; i < n; i++)
        total = a[i].body.len > total ? a[i].body.len : total;
    if (p->cm && total > p->biggest_body) {
        p->biggest_body = total;
        p->biggest_growth = p->cm->peak - base;
    } else if (p->cm && total == p->biggest_body) {
        p->repeats++;
        p->repeat_allocs = p->cm->allocs - allocs;
    }
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(sep_client_response(eng, a[i].id, a[i].status, a[i].location[0] ? a[i].location : NULL,
                                            a[i].body.data + a[i].fed, a[i].body.len - a[i].fed, now), 0);
}

/* Serve REQ as the case says at T into A. */
static void serve(play_t *p, cf_serve_state_t *ss, const cf_vars_t *vars, double t, const sep_request_t *req,
                  answer_t *a)
{
    cf_answer_t ans;

    a->id = req->id;
    a->fed = 0;
    ge_buf_init(&a->body, NULL, 8 << 20);
    cf_serve(p->c, ss, vars, t, req->method, req->path, req->body ? req->body : "", "application/sep+xml", &ans,
             &a->body);
    a->status = ans.kind == CF_ANSWER_CLOSE ? 0 : ans.status;
    snprintf(a->location, sizeof(a->location), "%s", ans.location);
    if (p->tamper && strcmp(req->method, "GET") == 0)
        p->tamper(p, t, req->path, &a->status, &a->body);
    ge_buf_printf(&p->trace, "%.2f %s %s %d\n%.*s\n", t, req->method, req->path, a->status, (int)req->body_len,
                  req->body ? req->body : "");
}

static void trace_control(play_t *p, sep_client_t *eng, double t, double now)
{
    sep_control_t ctl;

    CU_ASSERT_EQUAL(sep_client_control(eng, now, &ctl), 0);
    ge_buf_printf(&p->trace, "%.2f control set=%x battery_w=%g", t, (unsigned)ctl.setpoint.set, ctl.setpoint.battery_w);
    for (size_t i = 0; i < ctl.n_active; i++)
        ge_buf_printf(&p->trace, " %s/%u", ctl.active[i].mrid, (unsigned)ctl.active[i].modes);
    ge_buf_printf(&p->trace, "\n");
}

/* Play P's case to a fresh engine; P's trace, log and stats say what it did. */
static void play(play_t *p)
{
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = SEP_PLAY_LFDI, .sfdi = SEP_PLAY_SFDI, .pin = 111115,
                                .seed = 7, .min_poll_s = 1, .connection_point_id = SEP_PLAY_NMI };
    ge_log_t log = { log_hook, p, GE_LOG_DEBUG };
    unsigned fired[CF_CASE_MAX_ACTIONS] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars = { 0 };
    char sfdi[32];
    sep_client_t *eng = NULL;
    ge_der_caps_t caps;
    ge_telemetry_t tel;

    ge_buf_init(&p->log, NULL, 16 << 20);
    ge_buf_init(&p->trace, NULL, 16 << 20);
    cfg.log = &log;
    cfg.mem = p->cm ? &p->cm->mem : NULL;
    snprintf(sfdi, sizeof(sfdi), "%llu", SEP_PLAY_SFDI);
    vars.start = T0 + p->c->time_offset;
    vars.lfdi = SEP_PLAY_LFDI;
    vars.sfdi = sfdi;
    vars.base = "http://127.0.0.1:1";
    CU_ASSERT_EQUAL_FATAL(sep_client_new(&eng, &cfg), 0);
    memset(&caps, 0, sizeof(caps));
    caps.modes = GE_SP_BATTERY_W | GE_SP_MAX_LIM | GE_SP_EXPORT_LIM;
    caps.rtg_max_w = caps.rtg_max_charge_rate_w = caps.rtg_max_discharge_rate_w = 5000;
    caps.rtg_max_wh = 13500;
    memset(&tel, 0, sizeof(tel));
    tel.soc_pct = 50;
    for (double t = 0; t <= p->c->duration + 1e-9; t += STEP) {
        double now = T0 + t;
        answer_t a[MAX_BATCH];
        sep_request_t req;
        size_t n = 0;
        int guard = 0;

        vars.now = now + p->c->time_offset;
        while (guard++ < 64 && sep_client_next_request(eng, now, &req) == 1) {
            serve(p, &ss, &vars, t, &req, &a[n++]);
            if (!p->batch || n == MAX_BATCH) {
                deliver(p, eng, a, n, now);
                while (n)
                    ge_buf_free(&a[--n].body);
            }
        }
        deliver(p, eng, a, n, now);
        while (n)
            ge_buf_free(&a[--n].body);
        trace_control(p, eng, t, now);
        {
            sep_price_t pr;
            CU_ASSERT_EQUAL(sep_client_price(eng, now, &pr), 0);
            if (pr.has_import || pr.has_export)
                ge_buf_printf(&p->trace, "%.2f price %d %.6g %s %d %.6g %s\n", t, pr.has_import, pr.import_kwh,
                              pr.import_id, pr.has_export, pr.export_kwh, pr.export_id);
        }
        tel.time = now;
        sep_client_set_device(eng, &caps, &tel);
    }
    sep_client_stats(eng, &p->stats);
    ge_buf_printf(&p->trace, "stats %lu %lu %lu %lu %lu %lu %d %d %lu %lu\n", p->stats.requests, p->stats.responses,
                  p->stats.errors, p->stats.bad_documents, p->stats.controls_known, p->stats.programs,
                  p->stats.registered, p->stats.time_known, p->stats.tariff_intervals, p->stats.rate_components);
    sep_client_free(eng);
}

static void play_done(play_t *p)
{
    ge_buf_free(&p->log);
    ge_buf_free(&p->trace);
}

/* Case ID of the csip suite, or "SUITE/ID" of another. */
static void load_case(const char *id, ge_arena_t **arena, cf_case_t *c)
{
    char err[512], suite[16] = "csip";
    const char *slash = strchr(id, '/');
    int rc;

    if (slash && (size_t)(slash - id) < sizeof(suite)) {
        snprintf(suite, sizeof(suite), "%.*s", (int)(slash - id), id);
        id = slash + 1;
    }
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(arena, NULL, 0, 4 << 20), 0);
    rc = cf_case_load(suite, id, NULL, *arena, c, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* Are the texts A and B the same?  If not, say where they part (for the failure message). */
static int same_text(const char *what, const ge_buf_t *a, const ge_buf_t *b)
{
    const char *x = ge_buf_str(a), *y = ge_buf_str(b);
    size_t i = 0, line = 1, back;

    while (x[i] && x[i] == y[i])
        line += x[i++] == '\n';
    if (a->len == b->len && i == a->len)
        return 1;
    back = i > 40 ? 40 : i;
    fprintf(stderr, "\n%s: differs at line %zu:\n  %.120s\n  %.120s\n", what, line, x + i - back, y + i - back);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------------------ */

/* Cases with controls, curves, retries, garbage and dropped connections (no Notifications: this
 * player does not post them). */
static const char *const cases[] = {
    "CORE-003", "CORE-005", "CORE-006", "CORE-012", "CORE-013", "CORE-014", "CORE-021", "CORE-022", "CORE-023",
    "ERR-001", "BASIC-001", "BASIC-002", "BASIC-004", "BASIC-009", "BASIC-011", "BASIC-013", "BASIC-016",
    "BASIC-020", "BASIC-024", "BASIC-027", "BASIC-029", "COMM-002", "GE-SEP-001", "GE-SEP-004", "GE-SEP-005",
    "GE-SEP-006", "CORE-009", "CORE-010", "CORE-011",
    /* CSIP-AUS v1.3 pricing: tariff lists, intervals with their blocks inline, PriceResponses */
    "csip-aus/PRC-01", "csip-aus/PRC-04",
};

/* Every case: whole bodies, one byte at a time and random pieces give the same requests, the same
 * controls at every step and the same counters; and the same again with the requests in flight
 * answered together, their bodies interleaved piece by piece. */
static void test_same_engine_whole_bytes_random(void)
{
    size_t docs = 0, side_by_side = 0;

    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        ge_arena_t *arena;
        cf_case_t c;
        load_case(cases[k], &arena, &c);
        for (int batch = 0; batch < 2; batch++) {
            play_t ref = { .c = &c, .mode = FEED_WHOLE, .batch = batch };
            play(&ref);
            CU_ASSERT(ref.stats.responses > 10);
            if (strncmp(cases[k], "csip-aus/PRC", 12) == 0) { /* the tariff was read and priced */
                CU_ASSERT(ref.stats.tariff_intervals >= 3);
                CU_ASSERT_EQUAL(ref.stats.rate_components, 2);
                CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&ref.trace), " price 1 "));
            }
            docs += ref.stats.responses;
            for (int m = FEED_BYTES; m <= FEED_RANDOM; m++) {
                for (uint64_t seed = 1; seed <= (m == FEED_RANDOM ? 3u : 1u); seed++) {
                    play_t p = { .c = &c, .mode = (feed_mode)m, .batch = batch, .rng = seed * 0x9E3779B97F4A7C15ULL };
                    play(&p);
                    char what[96];
                    snprintf(what, sizeof(what), "%s mode %d batch %d seed %llu", cases[k], m, batch,
                             (unsigned long long)seed);
                    CU_ASSERT_TRUE(same_text(what, &ref.trace, &p.trace));
                    CU_ASSERT_TRUE(same_text(what, &ref.log, &p.log)); /* errors at the same line:col too */
                    if (batch && p.most_side_by_side > side_by_side)
                        side_by_side = p.most_side_by_side;
                    play_done(&p);
                }
            }
            play_done(&ref);
        }
        ge_arena_free(arena);
    }
    /* the interleaved runs did stream several bodies side by side */
    CU_ASSERT(side_by_side >= 2);
    printf("(%zu answers per mode, up to %zu bodies interleaved) ", docs, side_by_side);
}

/* CORE-022's control list, changed to discharge 3 kW instead of 1 kW: what a partial or unanswered
 * read must never put in force. */
static void changed_list(ge_buf_t *body)
{
    char *v = strstr(body->data, "<value>1000</value>");

    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    v[7] = '3';
}

static void tamper_broken(play_t *p, double t, const char *path, int *status, ge_buf_t *body)
{
    (void)p;
    (void)status;
    if (t < 2 || strncmp(path, "/derp/1/derc?", 13) != 0)
        return;
    changed_list(body);
    /* after the new value, a closing tag that does not match */
    char *end = strstr(body->data, "</DERControl>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    end[11] = 'X';
}

/* The control in force at T (s after the start) in P's trace: its battery_w, or -1 if none. */
static double battery_at(const play_t *p, double t)
{
    char key[40];
    const char *s;
    unsigned set;
    double w;

    snprintf(key, sizeof(key), "\n%.2f control set=", t);
    s = strstr(ge_buf_str(&p->trace), key);
    if (!s || sscanf(s + strlen(key), "%x battery_w=%lf", &set, &w) != 2)
        return -1;
    return set & GE_SP_BATTERY_W ? w : -1;
}

/* A list broken in the middle of a piece: the error is logged with the line and column the whole
 * document gives, and the control read before stays in force, unchanged. */
static void test_broken_mid_piece(void)
{
    ge_arena_t *arena, *da;
    ge_xml_decoder_t *dec;
    ge_xml_msg_t msg;
    cf_case_t c;
    char want[400];
    ge_buf_t doc;
    cf_answer_t ans;
    unsigned fired[CF_CASE_MAX_ACTIONS] = { 0 };
    cf_serve_state_t ss = { fired, 0 };
    cf_vars_t vars = { .now = T0, .start = T0, .lfdi = SEP_PLAY_LFDI, .sfdi = "0", .base = "http://127.0.0.1:1" };
    const ge_xml_error_t *e;
    size_t bad;

    load_case("CORE-022", &arena, &c);
    /* where the decoder puts the break, from the broken list decoded whole */
    ge_buf_init(&doc, NULL, 1 << 20);
    CU_ASSERT_EQUAL_FATAL(cf_serve(&c, &ss, &vars, 3, "GET", "/derp/1/derc?s=0&l=25", "", "application/sep+xml", &ans,
                                   &doc), 0);
    play_t probe = { .c = &c };
    tamper_broken(&probe, 3, "/derp/1/derc?s=0&l=25", &ans.status, &doc);
    bad = (size_t)(strstr(doc.data, "</DERControX>") - doc.data);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&dec, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&da, NULL, 0, 0), 0);
    CU_ASSERT(ge_xml_decode(dec, &ge_xml_schema_sep, da, doc.data, doc.len, &msg) < 0);
    e = ge_xml_decoder_error(dec);
    CU_ASSERT(e->line > 1);
    snprintf(want, sizeof(want), "/derp/1/derc:%lu:%lu: %s", e->line, e->col, e->msg);

    /* in pieces of 100 bytes, the break falls inside one */
    CU_ASSERT(bad % 100 != 0 && bad % 100 < 90);
    play_t p = { .c = &c, .mode = FEED_FIXED, .piece = 100, .tamper = tamper_broken };
    play(&p);
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&p.log), want));
    if (!strstr(ge_buf_str(&p.log), want))
        fprintf(stderr, "\nwanted \"%s\" in the log:\n%s\n", want, ge_buf_str(&p.log));
    CU_ASSERT(p.stats.bad_documents >= 2); /* the list is read again at its poll rate, still broken */
    CU_ASSERT_EQUAL(p.stats.controls_known, 1);
    CU_ASSERT_DOUBLE_EQUAL(battery_at(&p, 12), 1000, 1e-9);  /* the control read at the start: 1 kW */
    CU_ASSERT_DOUBLE_EQUAL(battery_at(&p, 4), 0, 1e-9);      /* before it starts: the default (idle) */
    play_done(&p);
    ge_xml_decoder_free(dec);
    ge_arena_free(da);
    ge_buf_free(&doc);
    ge_arena_free(arena);
}

/* The changed list streamed whole and valid, but the answer ends without a status (the connection
 * broke: 0) or with 503: dropped.  From t = 10 on it comes with 200 and takes effect, through the
 * same decoder that dropped the others. */
static void tamper_unanswered(play_t *p, double t, const char *path, int *status, ge_buf_t *body)
{
    (void)p;
    if (t < 2 || strncmp(path, "/derp/1/derc?", 13) != 0)
        return;
    changed_list(body);
    *status = t < 6 ? 0 : t < 10 ? 503 : 200;
}

static void test_body_then_no_answer(void)
{
    ge_arena_t *arena;
    cf_case_t c;

    load_case("CORE-022", &arena, &c);
    for (int m = FEED_BYTES; m <= FEED_RANDOM; m++) {
        play_t p = { .c = &c, .mode = (feed_mode)m, .rng = 42, .tamper = tamper_unanswered };
        play(&p);
        CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&p.log), "GET /derp/1/derc: no answer 0"));
        CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&p.log), "GET /derp/1/derc: HTTP 503"));
        CU_ASSERT_EQUAL(p.stats.bad_documents, 0);
        CU_ASSERT_DOUBLE_EQUAL(battery_at(&p, 9), 1000, 1e-9); /* in force from 8: still the 1 kW read first */
        CU_ASSERT_DOUBLE_EQUAL(battery_at(&p, 16), 3000, 1e-9); /* the list answered with 200 */
        play_done(&p);
    }
    ge_arena_free(arena);
}

/* Bodies for requests the engine is not waiting for are refused without harm; a body for a PUT is
 * taken and dropped; bad arguments are refused. */
static void test_unknown_and_finished_ids(void)
{
    /* profile csip: the first request is the DeviceCapability's (no CSIP-AUS version negotiation) */
    sep_client_config_t cfg = { .dcap_path = "/dcap", .lfdi = SEP_PLAY_LFDI, .sfdi = SEP_PLAY_SFDI,
                                .profile = SEP_PROFILE_CSIP };
    static const char dcap[] = "<DeviceCapability xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/dcap\">"
                               "<TimeLink href=\"/tm\"/></DeviceCapability>";
    sep_client_t *c = NULL;
    sep_client_stats_t st;
    sep_request_t req;
    uint32_t id;

    CU_ASSERT_EQUAL_FATAL(sep_client_new(&c, &cfg), 0);
    CU_ASSERT_EQUAL(sep_client_body(c, 12345, "<x/>", 4), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL_FATAL(sep_client_next_request(c, T0, &req), 1);
    id = req.id;
    CU_ASSERT_EQUAL(sep_client_body(c, id, NULL, 3), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(sep_client_body(NULL, id, dcap, 3), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(sep_client_body(c, id, NULL, 0), 0);
    CU_ASSERT_EQUAL(sep_client_body(c, id, dcap, 10), 0);
    CU_ASSERT_EQUAL(sep_client_body(c, id, dcap + 10, sizeof(dcap) - 11), 0);
    CU_ASSERT_EQUAL(sep_client_response(c, id, 200, NULL, NULL, 0, T0), 0);
    /* finished: a late piece and a second ending are refused */
    CU_ASSERT_EQUAL(sep_client_body(c, id, dcap, 4), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sep_client_response(c, id, 200, NULL, dcap, sizeof(dcap) - 1, T0), GE_ERR_NOTFOUND);
    sep_client_stats(c, &st);
    CU_ASSERT_EQUAL(st.responses, 1);
    CU_ASSERT_EQUAL(st.bad_documents, 0);
    /* the DeviceCapability was taken: the Time resource is read next */
    CU_ASSERT_EQUAL_FATAL(sep_client_next_request(c, T0, &req), 1);
    CU_ASSERT_STRING_EQUAL(req.path, "/tm");
    sep_client_free(c);
}

/* A DERControlList of N past events (each read and kept by the engine), laid out as servers do:
 * indented (INDENT), or with no whitespace at all. */
static void big_list(ge_buf_t *out, unsigned n, int indent)
{
    const char *nl = indent ? "\n" : "", *in1 = indent ? "  " : "", *in2 = indent ? "    " : "",
               *in3 = indent ? "      " : "", *in4 = indent ? "        " : "";

    ge_buf_printf(out, "<DERControlList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/derp/1/derc\" subscribable=\"0\" "
                       "all=\"%u\" results=\"%u\">%s", n, n, nl);
    for (unsigned i = 0; i < n; i++) {
        double created = T0 - 86400, start = created + 600.0 * i;
        ge_buf_printf(out, "%s<DERControl href=\"/derp/1/derc/%u\" replyTo=\"/rsp\" responseRequired=\"00\" "
                           "subscribable=\"0\">%s", in1, i + 1, nl);
        ge_buf_printf(out, "%s<mRID>B00000000000000000000000%08X</mRID>%s", in2, i + 1, nl);
        ge_buf_printf(out, "%s<description>Evening peak: discharge %u W</description>%s", in2, 1000 + i, nl);
        ge_buf_printf(out, "%s<creationTime>%.0f</creationTime>%s%s<EventStatus>%s", in2, created, nl, in2, nl);
        ge_buf_printf(out, "%s<currentStatus>0</currentStatus>%s%s<dateTime>%.0f</dateTime>%s", in3, nl, in3,
                      created, nl);
        ge_buf_printf(out, "%s<potentiallySuperseded>false</potentiallySuperseded>%s%s</EventStatus>%s", in3, nl,
                      in2, nl);
        ge_buf_printf(out, "%s<interval>%s%s<duration>600</duration>%s%s<start>%.0f</start>%s%s</interval>%s", in2,
                      nl, in3, nl, in3, start, nl, in2, nl);
        ge_buf_printf(out, "%s<DERControlBase>%s%s<opModTargetW>%s%s<multiplier>0</multiplier>%s", in2, nl, in3, nl,
                      in4, nl);
        ge_buf_printf(out, "%s<value>%u</value>%s%s</opModTargetW>%s%s</DERControlBase>%s%s</DERControl>%s", in4,
                      1000 + i, nl, in3, nl, in2, nl, in1, nl);
    }
    ge_buf_printf(out, "</DERControlList>%s", nl);
}

static int big_indent;

static void tamper_big(play_t *p, double t, const char *path, int *status, ge_buf_t *body)
{
    (void)p;
    (void)t;
    (void)status;
    if (strncmp(path, "/derp/1/derc?", 13) != 0)
        return;
    ge_buf_clear(body);
    big_list(body, 200, big_indent);
}

/* A 200-event list streamed in 1 KB pieces, laid out compact (about 110 KB) and indented (about
 * 135 KB).  While it comes in, the engine's heap grows by what the decoded events take and the
 * decoder's bounded scratch: less than the text, by the same for both layouts, and never by a copy
 * of the text.  Every event is read.  Read again, it costs no allocation. */
static void test_no_copy_of_the_body(void)
{
    ge_arena_t *arena, *da;
    ge_xml_decoder_t *dec;
    ge_xml_msg_t msg;
    cf_case_t c;
    size_t growth[2], len[2], decoded = 0;

    load_case("CORE-022", &arena, &c);
    CU_ASSERT_EQUAL_FATAL(ge_xml_decoder_new(&dec, NULL, NULL, NULL), 0);
    for (big_indent = 0; big_indent < 2; big_indent++) {
        counting_t cm;
        ge_buf_t doc;
        /* what the decoded list takes in an arena like the engine's */
        ge_buf_init(&doc, NULL, 0);
        big_list(&doc, 200, big_indent);
        CU_ASSERT_EQUAL_FATAL(ge_arena_new(&da, NULL, 16384, 0), 0);
        CU_ASSERT_EQUAL_FATAL(ge_xml_decode(dec, &ge_xml_schema_sep, da, doc.data, doc.len, &msg), 0);
        decoded = ge_arena_reserved(da);
        ge_arena_free(da);

        counting_init(&cm);
        play_t p = { .c = &c, .mode = FEED_FIXED, .piece = 1024, .tamper = tamper_big, .cm = &cm };
        play(&p);
        CU_ASSERT_EQUAL(p.biggest_body, doc.len);
        CU_ASSERT_EQUAL(p.stats.controls_known, 200);
        CU_ASSERT_EQUAL(p.stats.bad_documents, 0);
        /* a copy of the text would come on top of the decoded list */
        CU_ASSERT(p.biggest_growth < decoded + 16384);
        /* read again at its poll rate: the decoder and the arena are reused, no allocation at all */
        CU_ASSERT(p.repeats >= 2);
        CU_ASSERT_EQUAL(p.repeat_allocs, 0);
        CU_ASSERT_EQUAL(cm.live, 0); /* and the engine freed it all */
        growth[big_indent] = p.biggest_growth;
        len[big_indent] = doc.len;
        play_done(&p);
        ge_buf_free(&doc);
    }
    CU_ASSERT(len[1] > len[0] + 20000);
    CU_ASSERT(growth[0] < len[0] && growth[1] < len[1]);
    CU_ASSERT(growth[1] <= growth[0] + 4096 && growth[0] <= growth[1] + 4096);
    printf("(200 events in 1 KB pieces: %zu bytes compact, %zu indented; the engine's heap grew by %zu and %zu "
           "while they came, the decoded list alone takes %zu) ",
           len[0], len[1], growth[0], growth[1], decoded);
    ge_xml_decoder_free(dec);
    ge_arena_free(arena);
}

int test_register(void)
{
    static const test_case_t tests[] = {
        { "whole, byte by byte, random pieces, interleaved: the same engine", test_same_engine_whole_bytes_random },
        { "a list broken in the middle of a piece", test_broken_mid_piece },
        { "a body, then no answer or 503: dropped", test_body_then_no_answer },
        { "bodies for unknown and finished requests", test_unknown_and_finished_ids },
        { "the engine keeps no copy of a body", test_no_copy_of_the_body },
        { NULL, NULL },
    };
    return test_add_suite("sep stream", tests);
}
