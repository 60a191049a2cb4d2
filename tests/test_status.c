/* test_status.c - the status JSON (exactly the shape CLI-CONTRACT.md fixes), its atomic file (a
 * reader never sees part of one), /history.json, the status page's request function, and the
 * page itself rendered by headless Chromium when it is installed (screenshot kept as
 * tests/statuspage.png in the build dir). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <math.h>

#include <jansson.h>

#include "gateway/status.h"
#include "gateway/store.h"
#include "proc.h"
#include "runner.h"

#ifndef GE_PYTHON3
#define GE_PYTHON3 "python3"
#endif

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A site in the evening: exporting under a 2030.5 export limit while an OpenADR event runs. */
static void sample_status(gw_status_t *s)
{
    memset(s, 0, sizeof(*s));
    s->time = 1790000000;
    s->site_w = -1500.04;
    s->pv_w = 4200;
    s->battery_w = 2500;
    s->soc_pct = 72;
    s->ev_w = 3700;
    s->house_w = 1499.96;
    s->n_controls = 2;
    snprintf(s->controls[0].id, sizeof(s->controls[0].id), "ctl-export-limit-1");
    s->controls[0].source = GW_SOURCE_SEP;
    snprintf(s->controls[0].kind, sizeof(s->controls[0].kind), "opModExpLimW");
    s->controls[0].has_value = 1;
    s->controls[0].value = 1500;
    s->controls[0].start = 1789999000;
    s->controls[0].end = 1790003600;
    snprintf(s->controls[1].id, sizeof(s->controls[1].id), "evt-peak-7");
    s->controls[1].source = GW_SOURCE_OADR;
    snprintf(s->controls[1].kind, sizeof(s->controls[1].kind), "SIMPLE");
    s->controls[1].has_value = 1;
    s->controls[1].value = 2;
    s->has_price = 1;
    s->price = 0.42;
    snprintf(s->mode, sizeof(s->mode), "discharging");
    snprintf(s->reason, sizeof(s->reason),
             "Evening peak event evt-peak-7: the battery covers the house, export held at 1.5 kW.");
}

/* --- the JSON ---------------------------------------------------------------------------------- */

static json_t *render_parse(const gw_status_t *s)
{
    ge_buf_t b;
    json_error_t je;
    json_t *j;

    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL(gw_status_render(s, &b), 0);
    CU_ASSERT(b.len > 0 && b.data[b.len - 1] == '\n');
    CU_ASSERT_PTR_NULL(memchr(b.data, '\n', b.len - 1)); /* one line */
    j = json_loads(ge_buf_str(&b), 0, &je);
    ge_buf_free(&b);
    return j;
}

/* Each contract path and the JSON type it must have. */
static const struct {
    const char *obj, *key;
    json_type type;
} contract[] = {
    { NULL, "time", JSON_INTEGER },
    { "site", "power_w", JSON_REAL },
    { "pv", "power_w", JSON_REAL },
    { "battery", "power_w", JSON_REAL },
    { "battery", "soc_pct", JSON_REAL },
    { "ev", "power_w", JSON_REAL },
    { NULL, "active_controls", JSON_ARRAY },
    { NULL, "price", JSON_REAL },
};

static void test_json_shape(void)
{
    gw_status_t s;
    json_t *j, *v;

    sample_status(&s);
    j = render_parse(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(json_is_object(j));
    for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
        json_t *o = contract[i].obj ? json_object_get(j, contract[i].obj) : j;
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        v = json_object_get(o, contract[i].key);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v && json_typeof(v) != contract[i].type)
            fprintf(stderr, "\n  %s.%s has type %d\n", contract[i].obj ? contract[i].obj : "",
                    contract[i].key, (int)json_typeof(v));
        CU_ASSERT(v && json_typeof(v) == contract[i].type);
    }
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "time")), 1790000000);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(json_object_get(j, "site"), "power_w")),
                           -1500.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(json_object_get(j, "battery"),
                                                           "soc_pct")), 72, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(j, "price")), 0.42, 1e-12);

    json_t *ac = json_object_get(j, "active_controls");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ac), 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ac, 0), "id")),
                           "ctl-export-limit-1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ac, 0), "source")), "sep");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ac, 1), "source")), "oadr");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(ac, 0), "kind")),
                           "opModExpLimW");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(ac, 0), "end")), 1790003600);
    CU_ASSERT_PTR_NULL(json_object_get(json_array_get(ac, 1), "end")); /* unknown: left out */

    /* our extras */
    json_t *gw = json_object_get(j, "gateway");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(gw, "mode")), "discharging");
    CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(gw, "reason")), "evt-peak-7"));
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(json_object_get(j, "house"), "power_w")),
                           1500.0, 1e-9);
    json_decref(j);
}

static void test_json_no_price_no_controls(void)
{
    gw_status_t s;
    json_t *j;

    memset(&s, 0, sizeof(s));
    s.time = 5;
    s.battery_w = -0.01; /* rounds to zero: printed as 0.0, never -0.0 */
    j = render_parse(&s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(json_is_null(json_object_get(j, "price")));
    CU_ASSERT(json_is_array(json_object_get(j, "active_controls")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "active_controls")), 0);
    json_decref(j);

    ge_buf_t b;
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL(gw_status_render(&s, &b), 0);
    CU_ASSERT_PTR_NULL(strstr(ge_buf_str(&b), "-0.0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "\"price\":null"));
    ge_buf_free(&b);

    /* an id that is not UTF-8 is refused, not written as garbage */
    s.n_controls = 1;
    memcpy(s.controls[0].id, "bad\xff", 5);
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL(gw_status_render(&s, &b), GE_ERR_INVALID);
    ge_buf_free(&b);
    /* a buffer too small is GE_ERR_LIMIT */
    sample_status(&s);
    ge_buf_init(&b, NULL, 64);
    CU_ASSERT_EQUAL(gw_status_render(&s, &b), GE_ERR_LIMIT);
    ge_buf_free(&b);
}

/* --- the file ---------------------------------------------------------------------------------- */

typedef struct logcap {
    ge_log_t log;
    char last[GE_LOG_MAX];
} logcap_t;

static void logcap_fn(void *ud, ge_log_level level, const char *module, const char *msg)
{
    (void)level; (void)module;
    snprintf(((logcap_t *)ud)->last, GE_LOG_MAX, "%s", msg);
}

static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    char *buf;
    size_t n = 0, size = 65536;
    ssize_t r;

    if (fd < 0)
        return NULL;
    if (!(buf = malloc(size))) {
        close(fd);
        return NULL;
    }
    while ((r = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void test_write_file(void)
{
    char dir[] = "/tmp/gw-status-XXXXXX", path[128], bad[160];
    gw_status_t s;
    logcap_t lc;
    size_t len;
    char *text;
    json_t *j;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/status.json", dir);
    sample_status(&s);
    CU_ASSERT_EQUAL(gw_status_write_file(&s, path, NULL), 0);
    text = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    j = json_loads(text, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(j);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "time")), s.time);
    json_decref(j);
    free(text);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0644);

    /* a directory that does not exist: a clear error, nothing left behind */
    memset(&lc, 0, sizeof(lc));
    lc.log.fn = logcap_fn;
    lc.log.ud = &lc;
    lc.log.level = GE_LOG_DEBUG;
    snprintf(bad, sizeof(bad), "%s/nodir/status.json", dir);
    CU_ASSERT_EQUAL(gw_status_write_file(&s, bad, &lc.log), GE_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "No such file or directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, bad));
    /* the target is a directory: rename fails, the temporary file is removed */
    snprintf(bad, sizeof(bad), "%s/adir", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(bad, 0700), 0);
    CU_ASSERT_EQUAL(gw_status_write_file(&s, bad, &lc.log), GE_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "renaming"));
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "%s/adir.tmp.%ld", dir, (long)getpid());
    CU_ASSERT_NOT_EQUAL(access(cmd, F_OK), 0);
    CU_ASSERT_EQUAL(gw_status_write_file(&s, "", NULL), GE_ERR_INVALID);
    rm_tree(dir);
}

/* A writer rewrites the file as fast as it can with two contents of different lengths; a reader
 * reads it over and over.  Every read must be one whole, valid JSON document. */
static void test_reader_never_sees_partial_file(void)
{
    char dir[] = "/tmp/gw-status-XXXXXX", path[128];
    pid_t pid;
    int status;
    long reads = 0, bad = 0, seen_long = 0, seen_short = 0;
    struct timespec t0, t;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/status.json", dir);
    {
        gw_status_t s;
        sample_status(&s);
        CU_ASSERT_EQUAL_FATAL(gw_status_write_file(&s, path, NULL), 0);
    }
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        gw_status_t a, b;
        struct timespec w0, w;
        sample_status(&a);
        sample_status(&b);
        memset(b.reason, 'x', sizeof(b.reason) - 1); /* a much longer file */
        b.reason[sizeof(b.reason) - 1] = '\0';
        b.n_controls = 0;
        clock_gettime(CLOCK_MONOTONIC, &w0);
        for (long i = 0;; i++) {
            if (gw_status_write_file(i % 2 ? &a : &b, path, NULL))
                _exit(1);
            clock_gettime(CLOCK_MONOTONIC, &w);
            if (w.tv_sec - w0.tv_sec >= 2)
                break;
        }
        _exit(0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        size_t len;
        char *text = slurp(path, &len);
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        reads++;
        if (!j) {
            bad++;
        } else {
            const char *r = json_string_value(json_object_get(json_object_get(j, "gateway"), "reason"));
            if (r && r[0] == 'x')
                seen_long++;
            else
                seen_short++;
        }
        json_decref(j);
        free(text);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 2 || (t.tv_sec - t0.tv_sec == 2 && t.tv_nsec < t0.tv_nsec));
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fprintf(stderr, "\n  %ld reads, %ld long, %ld short, %ld partial\n", reads, seen_long,
            seen_short, bad);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(reads > 100);
    CU_ASSERT(seen_long > 0 && seen_short > 0); /* the reader really raced the writer */
    rm_tree(dir);
}

/* --- history and the page ---------------------------------------------------------------------- */

/* A sunny day in 1-minute samples ending at NOW, with the evening event of sample_status(). */
static void fill_day(gw_store_t *st, int64_t now)
{
    for (int64_t t = now - 86400 + 60; t <= now; t += 60) {
        double h = (double)((t % 86400) / 3600.0); /* UTC hour */
        gw_history_sample_t s = { t, 0, 0, 0, 900, 0, 50 };
        s.pv_w = h > 6 && h < 19 ? 5000 * sin((h - 6) / 13 * 3.14159265) : 0;
        s.battery_w = h < 6 ? 0 : h < 13 ? -2000 : h >= 17 && h < 21 ? 2500 : 0;
        s.ev_w = h >= 18 && h < 21 ? 3700 : 0;
        s.house_w = 700 + 500 * (h >= 17 && h < 22);
        s.site_w = s.house_w + s.ev_w - s.pv_w - s.battery_w;
        s.soc_pct = h < 6 ? 30 : h < 13 ? 30 + (h - 6) * 9 : h < 17 ? 93 : h < 21 ? 93 - (h - 17) * 15 : 33;
        CU_ASSERT_EQUAL_FATAL(gw_store_history_add(st, &s), 0);
    }
}

static void test_history_json(void)
{
    char dir[] = "/tmp/gw-status-XXXXXX", state[64];
    gw_store_t *st;
    ge_buf_t b;
    json_t *j;
    const int64_t now = 1790000000 - 1790000000 % 300;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(state, sizeof(state), "%s/state", dir);
    CU_ASSERT_EQUAL_FATAL(gw_store_open(&st, state, NULL, NULL), 0);
    fill_day(st, now);
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL(gw_history_render(st, now, &b), 0);
    j = json_loads(ge_buf_str(&b), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT(json_array_size(j) >= 287 && json_array_size(j) <= 289);
    static const char *const keys[] = { "time", "site_w", "pv_w", "battery_w", "ev_w", "house_w",
                                        "soc_pct" };
    json_t *first = json_array_get(j, 0);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CU_ASSERT(json_is_number(json_object_get(first, keys[i])));
    CU_ASSERT_EQUAL(json_object_size(first), 7);
    json_decref(j);
    /* without a store: an empty array */
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_history_render(NULL, now, &b), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&b), "[]\n");
    ge_buf_free(&b);
    gw_store_close(st);
    rm_tree(dir);
}

/* The opt-out action records what it was given, as the gateway's link would take it. */
typedef struct opt_outs {
    char ids[4][128];
    int n;
    int rc;
} opt_outs_t;

static int record_opt_out(void *ud, const char *event_id)
{
    opt_outs_t *o = ud;
    if (o->rc < 0)
        return o->rc;
    snprintf(o->ids[o->n++ % 4], sizeof(o->ids[0]), "%s", event_id);
    return 0;
}

/* POST /opt-out: the event ID form-decoded and handed on; refused without the action header, for a
 * missing, empty, badly encoded or control-byte ID, on another path, without a 2.0b VEN, and when
 * the VEN has no room; every answer is JSON saying what happened. */
static void test_page_opt_out(void)
{
    opt_outs_t o = { .n = 0 };
    ge_buf_t b;
    static const struct {
        const char *path, *action, *body;
        int status;
        const char *says;
    } rows[] = {
        { "/opt-out", "opt-out", "event=EV-1", 200, "\"opted_out\":\"EV-1\"" },
        { "/opt-out", "opt-out", "x=1&event=EV%202+b&y=2", 200, "\"opted_out\":\"EV 2 b\"" },
        { "/opt-out?from=page", "opt-out", "event=E%C3%A9", 200, "\"opted_out\":\"E\xc3\xa9\"" },
        { "/opt-out", NULL, "event=EV-1", 403, "X-Gridedge-Action" },
        { "/opt-out", "other", "event=EV-1", 403, "X-Gridedge-Action" },
        { "/opt-out", "opt-out", "event=", 400, "event=ID" },
        { "/opt-out", "opt-out", "evt=EV-1", 400, "event=ID" },
        { "/opt-out", "opt-out", "event=EV%2", 400, "event=ID" },
        { "/opt-out", "opt-out", "event=EV%0A1", 400, "event=ID" },
        { "/opt-out", "opt-out", "event=EV%DA%CA", 400, "UTF-8" },
        { "/opt-outs", "opt-out", "event=EV-1", 404, "no such action" },
        { "/status.json", "opt-out", "event=EV-1", 404, "no such action" },
    };
    char big[300];

    ge_buf_init(&b, NULL, 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ge_buf_clear(&b);
        int st = gw_statuspage_post(rows[i].path, rows[i].action, rows[i].body, strlen(rows[i].body),
                                    record_opt_out, &o, &b);
        if (st != rows[i].status || !strstr(ge_buf_str(&b), rows[i].says))
            fprintf(stderr, "row %zu: %d %s\n", i, st, ge_buf_str(&b));
        CU_ASSERT_EQUAL(st, rows[i].status);
        CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), rows[i].says));
    }
    CU_ASSERT_EQUAL(o.n, 3); /* only the accepted ones reached the VEN */
    CU_ASSERT_STRING_EQUAL(o.ids[1], "EV 2 b");
    /* an ID longer than any eventID */
    memset(big, 'A', sizeof(big));
    memcpy(big, "event=", 6);
    big[sizeof(big) - 1] = '\0';
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_post("/opt-out", "opt-out", big, strlen(big), record_opt_out, &o, &b), 400);
    /* no 2.0b VEN; a VEN without room */
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_post("/opt-out", "opt-out", "event=EV-1", 10, NULL, NULL, &b), 409);
    o.rc = GE_ERR_LIMIT;
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_post("/opt-out", "opt-out", "event=EV-1", 10, record_opt_out, &o, &b), 507);
    CU_ASSERT_EQUAL(o.n, 3);
    ge_buf_free(&b);
}

static void test_page_requests(void)
{
    gw_status_t s;
    ge_buf_t b;
    const char *ct = NULL;
    size_t n = 0;

    sample_status(&s);
    ge_buf_init(&b, NULL, 0);
    CU_ASSERT_EQUAL(gw_statuspage_get("/", &s, NULL, 0, &b, &ct), 0);
    CU_ASSERT_STRING_EQUAL(ct, "text/html; charset=utf-8");
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "<svg id=\"flow\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "app.js"));
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_get("/status.json?t=1", &s, NULL, 0, &b, &ct), 0);
    CU_ASSERT_STRING_EQUAL(ct, "application/json");
    CU_ASSERT_PTR_NOT_NULL(strstr(ge_buf_str(&b), "\"ctl-export-limit-1\""));
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_get("/history.json", &s, NULL, 0, &b, &ct), 0);
    CU_ASSERT_STRING_EQUAL(ge_buf_str(&b), "[]\n");
    static const char *const missing[] = { "/nope", "/../etc/passwd", "/index.htm", "", "status.json",
                                           "/app.js/", "//" };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
        CU_ASSERT_EQUAL(gw_statuspage_get(missing[i], &s, NULL, 0, &b, &ct), GE_ERR_NOTFOUND);
    ge_buf_free(&b);

    /* self-contained: no asset names anything outside the gateway (the one URL allowed is the
     * SVG namespace, an identifier that is never fetched) */
    for (const gw_statuspage_asset_t *a = gw_statuspage_assets; a->path; a++, n++) {
        const char *p = (const char *)a->data;
        CU_ASSERT_EQUAL(strlen(p), a->len);
        for (const char *u = p; (u = strstr(u, "//")); u += 2) {
            if (u > p && u[-1] == ':' ) {
                int ns = strncmp(u - 5, "http://www.w3.org/", 18) == 0;
                if (!ns)
                    fprintf(stderr, "\n  %s names an outside URL: %.40s\n", a->path, u - 6);
                CU_ASSERT(ns);
            }
        }
        CU_ASSERT_PTR_NULL(strstr(p, "@import"));
        CU_ASSERT_PTR_NULL(strstr(p, "@font-face"));
    }
    CU_ASSERT_EQUAL(n, 3);
}

/* --- rendering in a browser -------------------------------------------------------------------- */

static const char *find_chromium(void)
{
    static const char *const candidates[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser",
                                              "/usr/bin/google-chrome" };
    const char *env = getenv("GE_CHROMIUM");

    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int wait_listening(int port, int ms)
{
    struct sockaddr_in a;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    for (int waited = 0; waited < ms; waited += 50) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return 0;
        usleep(50000);
    }
    return -1;
}

static void write_buf(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_page_renders_in_chromium(void)
{
    const char *chromium = find_chromium();
    char dir[] = "/tmp/gw-page-XXXXXX", state[64], www[64], profile[64], url[96], shot[1024];
    char port_s[16], udd[96], shot_arg[1100];
    gw_store_t *st;
    gw_status_t s;
    ge_buf_t b;
    const char *ct;
    pid_t server;
    int port, status;
    proc_result_t res;
    struct timespec t0, t1;
    const int64_t now = 1790000000 - 1790000000 % 300;

    if (!chromium) {
        printf("\n  note: chromium is not installed (apt-get install chromium); page not rendered ");
        CU_PASS("chromium missing: render skipped");
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(state, sizeof(state), "%s/state", dir);
    snprintf(www, sizeof(www), "%s/www", dir);
    snprintf(profile, sizeof(profile), "%s/profile", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(www, 0700), 0);

    /* the page as the gateway serves it: every asset, the status and a day of history */
    CU_ASSERT_EQUAL_FATAL(gw_store_open(&st, state, NULL, NULL), 0);
    fill_day(st, now);
    sample_status(&s);
    s.time = now;
    ge_buf_init(&b, NULL, 0);
    for (const gw_statuspage_asset_t *a = gw_statuspage_assets; a->path; a++)
        write_buf(www, a->path + 1, a->data, a->len);
    CU_ASSERT_EQUAL(gw_statuspage_get("/status.json", &s, st, now, &b, &ct), 0);
    write_buf(www, "status.json", b.data, b.len);
    ge_buf_clear(&b);
    CU_ASSERT_EQUAL(gw_statuspage_get("/history.json", &s, st, now, &b, &ct), 0);
    write_buf(www, "history.json", b.data, b.len);
    ge_buf_free(&b);
    gw_store_close(st);

    port = free_port();
    CU_ASSERT_FATAL(port > 0);
    snprintf(port_s, sizeof(port_s), "%d", port);
    fflush(NULL);
    server = fork();
    CU_ASSERT_FATAL(server >= 0);
    if (server == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp(GE_PYTHON3, GE_PYTHON3, "-m", "http.server", port_s, "--bind", "127.0.0.1",
               "--directory", www, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_EQUAL_FATAL(wait_listening(port, 10000), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html", port);
    snprintf(udd, sizeof(udd), "--user-data-dir=%s", profile);

    /* 1: the DOM after the page's scripts ran and fetched status.json and history.json */
    char *dom_argv[] = { (char *)chromium, "--headless", "--no-sandbox", "--disable-gpu",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", udd,
                         "--window-size=1200,900", "--virtual-time-budget=4000", "--dump-dom", url,
                         NULL };
    CU_ASSERT_EQUAL(proc_run(dom_argv, NULL, 90000, &res), 0);
    CU_ASSERT_EQUAL(res.status, 0);
    CU_ASSERT_FALSE(res.timed_out);
    static const char *const shown[] = {
        "4.2 kW",                 /* PV */
        "1.5 kW",                 /* grid, exporting */
        "Grid \xc2\xb7 export",
        "2.5 kW",                 /* battery discharging */
        "3.7 kW",                 /* EV */
        "72%",                    /* SoC */
        "ctl-export-limit-1",     /* the 2030.5 control */
        "Export limit 1.5 kW",
        "evt-peak-7",             /* the OpenADR event */
        "Demand response level 2",
        "discharging",            /* the gateway's mode and reason */
        "the battery covers the house",
        "0.420",                  /* price */
        "class=\"series pv\"",    /* the chart was drawn from history.json */
        "class=\"conn live\"",
    };
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        int found = res.out && strstr(res.out, shown[i]) != NULL;
        if (!found)
            fprintf(stderr, "\n  the rendered page does not show \"%s\"", shown[i]);
        CU_ASSERT(found);
    }
    proc_result_free(&res);

    /* 2: the screenshot, kept in the build dir for a human to look at */
    snprintf(shot, sizeof(shot), "%s/tests/statuspage.png", GE_BUILDDIR);
    unlink(shot);
    snprintf(shot_arg, sizeof(shot_arg), "--screenshot=%s", shot);
    char *shot_argv[] = { (char *)chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", udd,
                          "--window-size=1200,900", "--virtual-time-budget=4000",
                          "--hide-scrollbars", "--force-prefers-reduced-motion", shot_arg, url,
                          NULL };
    CU_ASSERT_EQUAL(proc_run(shot_argv, NULL, 90000, &res), 0);
    CU_ASSERT_EQUAL(res.status, 0);
    proc_result_free(&res);
    struct stat sb;
    CU_ASSERT_EQUAL(stat(shot, &sb), 0);
    CU_ASSERT(sb.st_size > 20000); /* a blank page compresses to far less */

    kill(server, SIGTERM);
    waitpid(server, &status, 0);
    rm_tree(dir);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "\n  rendered with %s in %.1f s; screenshot: %s\n", chromium,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, shot);
}

int test_register(void)
{
    static const test_case_t json_cases[] = {
        { "the contract's shape and values", test_json_shape },
        { "no price is null, no controls is []", test_json_no_price_no_controls },
        { NULL, NULL }
    };
    static const test_case_t file_cases[] = {
        { "write, errors", test_write_file },
        { "a reader never sees a partial file", test_reader_never_sees_partial_file },
        { NULL, NULL }
    };
    static const test_case_t page_cases[] = {
        { "/history.json", test_history_json },
        { "requests and a self-contained page", test_page_requests },
        { "the opt-out action", test_page_opt_out },
        { "the page renders in headless Chromium", test_page_renders_in_chromium },
        { NULL, NULL }
    };
    int err;

    if ((err = test_add_suite("status: json", json_cases)) ||
        (err = test_add_suite("status: file", file_cases)))
        return err;
    return test_add_suite("status: page", page_cases);
}
