/* test_store.c - the gateway's SQLite state (gateway/store.c): every API, persistence across
 * reopen, errors a site would meet (state dir unusable, full disk, a newer database), and crash
 * safety: a child killed with SIGKILL at a random moment loses nothing it had acknowledged. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "failmem.h"
#include "gateway/store.h"
#include "runner.h"

/* --- helpers ----------------------------------------------------------------------------------- */

typedef struct logcap {
    ge_log_t log;
    char last[GE_LOG_MAX];
    int errors;
} logcap_t;

static void logcap_fn(void *ud, ge_log_level level, const char *module, const char *msg)
{
    logcap_t *c = ud;

    (void)module;
    if (level == GE_LOG_ERROR) {
        c->errors++;
        snprintf(c->last, sizeof(c->last), "%s", msg);
    }
}

static void logcap_init(logcap_t *c)
{
    memset(c, 0, sizeof(*c));
    c->log.fn = logcap_fn;
    c->log.ud = c;
    c->log.level = GE_LOG_DEBUG;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory; the state dir is DIR/state (created by the store itself). */
static void tmp_dirs(char *dir, size_t dsize, char *state, size_t ssize)
{
    snprintf(dir, dsize, "/tmp/gw-store-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(state, ssize, "%s/state", dir);
}

static gw_store_t *open_ok(const char *state, logcap_t *lc)
{
    gw_store_t *st = NULL;
    int err = gw_store_open(&st, state, NULL, lc ? &lc->log : NULL);

    if (err)
        fprintf(stderr, "gw_store_open(%s): %s %s\n", state, ge_strerror(err), lc ? lc->last : "");
    CU_ASSERT_EQUAL_FATAL(err, 0);
    return st;
}

/* --- opening, schema --------------------------------------------------------------------------- */

static void test_open_creates_dir_and_schema(void)
{
    char dir[64], state[96], db[128];
    gw_store_t *st;
    int v = -1;
    struct stat sb;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(stat(state, &sb), 0);
    CU_ASSERT(S_ISDIR(sb.st_mode));
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0700);
    snprintf(db, sizeof(db), "%s/gridedge.db", state);
    CU_ASSERT_EQUAL(stat(db, &sb), 0);
    CU_ASSERT_EQUAL(gw_store_schema_version(st, &v), 0);
    CU_ASSERT_EQUAL(v, GW_STORE_SCHEMA_VERSION);
    CU_ASSERT_EQUAL(gw_store_check(st), 0);
    gw_store_close(st);

    /* the journal mode is persistent: another program opening the file sees WAL */
    sqlite3 *raw;
    sqlite3_stmt *stmt;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(db, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(stmt), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(raw);

    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_schema_version(st, &v), 0);
    CU_ASSERT_EQUAL(v, GW_STORE_SCHEMA_VERSION);
    gw_store_close(st);
    rm_tree(dir);
}

static void test_newer_schema_refused(void)
{
    char dir[64], state[96], db[128];
    gw_store_t *st = NULL;
    logcap_t lc;
    sqlite3 *raw;

    logcap_init(&lc);
    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    gw_store_close(open_ok(state, NULL));
    snprintf(db, sizeof(db), "%s/gridedge.db", state);
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(db, &raw), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    CU_ASSERT_EQUAL(gw_store_open(&st, state, NULL, &lc.log), GE_ERR_STORAGE);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "newer"));
    rm_tree(dir);
}

static void test_unusable_state_dir(void)
{
    char dir[64], state[96], file[128];
    gw_store_t *st = NULL;
    logcap_t lc;
    int fd;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    /* the state dir is a regular file */
    snprintf(file, sizeof(file), "%s/afile", dir);
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    logcap_init(&lc);
    CU_ASSERT_EQUAL(gw_store_open(&st, file, NULL, &lc.log), GE_ERR_STORAGE);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "not a directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, file));

    /* its parent does not exist */
    snprintf(file, sizeof(file), "%s/no/such/dir", dir);
    logcap_init(&lc);
    CU_ASSERT_EQUAL(gw_store_open(&st, file, NULL, &lc.log), GE_ERR_STORAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "No such file"));

    /* the database file is garbage */
    snprintf(file, sizeof(file), "%s/state", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(file, 0700), 0);
    snprintf(file, sizeof(file), "%s/state/gridedge.db", dir);
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    for (int i = 0; i < 64; i++)
        CU_ASSERT_EQUAL(write(fd, "this is not a database!!", 24), 24);
    close(fd);
    logcap_init(&lc);
    CU_ASSERT_EQUAL(gw_store_open(&st, state, NULL, &lc.log), GE_ERR_STORAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(lc.last, "damaged"));
    CU_ASSERT_EQUAL(gw_store_open(NULL, state, NULL, NULL), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(gw_store_open(&st, "", NULL, NULL), GE_ERR_INVALID);
    rm_tree(dir);
}

typedef struct sweep_ctx {
    const char *state;
} sweep_ctx_t;

static int open_close_op(void *ud, const ge_mem_t *mem)
{
    sweep_ctx_t *c = ud;
    gw_store_t *st;
    gw_outbox_item_t item;
    gw_outbox_msg_t m = { "http://127.0.0.1/rsp", "POST", "text/plain", "hello", 5, NULL };
    int err = gw_store_open(&st, c->state, mem, NULL);

    if (err)
        return err;
    err = gw_store_outbox_enqueue(st, &m, 0, NULL);
    if (!err)
        err = gw_store_outbox_peek(st, 10, &item);
    if (!err) {
        err = gw_store_outbox_ack(st, item.id);
        gw_outbox_item_clear(st, &item);
    }
    gw_store_close(st);
    return err;
}

static void test_allocation_failures(void)
{
    char dir[64], state[96];
    sweep_ctx_t c;
    long bad = -1;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    c.state = state;
    CU_ASSERT(failmem_sweep(open_close_op, &c, &bad) > 5);
    CU_ASSERT_EQUAL(bad, -1);
    rm_tree(dir);
}

/* --- events ------------------------------------------------------------------------------------ */

typedef struct ev_seen {
    int n;
    char ids[8][32];
    char status[8][32];
    int64_t start[8];
    char raw[64];
    size_t raw_len;
    int stop_after;
} ev_seen_t;

static int ev_collect(void *ud, const gw_event_t *ev)
{
    ev_seen_t *s = ud;

    if (s->n < 8) {
        snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s:%s", gw_source_name(ev->source), ev->id);
        snprintf(s->status[s->n], sizeof(s->status[0]), "%s", ev->status);
        s->start[s->n] = ev->start;
        if (ev->raw && ev->raw_len < sizeof(s->raw)) {
            memcpy(s->raw, ev->raw, ev->raw_len);
            s->raw_len = ev->raw_len;
        }
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 42 : 0;
}

static void test_events(void)
{
    char dir[64], state[96];
    gw_store_t *st;
    ev_seen_t s;
    size_t removed;
    static const char raw[] = "<DERControl><mRID>A1</mRID></DERControl>";
    gw_event_t ev = { GW_SOURCE_SEP, "A1", "/derp/1", raw, sizeof(raw) - 1, "application/sep+xml",
                      2000, 600, 0, 0, 1, 100, "received", 1990 };

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_event_put(st, &ev), 0);
    ev.id = "B2"; ev.start = 1000; ev.raw = NULL; ev.raw_len = 0;
    CU_ASSERT_EQUAL(gw_store_event_put(st, &ev), 0);
    ev.source = GW_SOURCE_OADR; ev.id = "evt-7"; ev.start = 1500; ev.program = NULL;
    CU_ASSERT_EQUAL(gw_store_event_put(st, &ev), 0);

    /* all, ordered by start */
    memset(&s, 0, sizeof(s));
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, -1, ev_collect, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    CU_ASSERT_STRING_EQUAL(s.ids[0], "sep:B2");
    CU_ASSERT_STRING_EQUAL(s.ids[1], "oadr:evt-7");
    CU_ASSERT_STRING_EQUAL(s.ids[2], "sep:A1");

    /* one source; a callback's non-zero return stops the walk and comes back */
    memset(&s, 0, sizeof(s));
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, GW_SOURCE_OADR, ev_collect, &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, -1, ev_collect, &s), 42);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, 7, ev_collect, &s), GE_ERR_INVALID);

    /* get keeps the raw message byte for byte */
    memset(&s, 0, sizeof(s));
    CU_ASSERT_EQUAL(gw_store_event_get(st, GW_SOURCE_SEP, "A1", ev_collect, &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_EQUAL(s.raw_len, sizeof(raw) - 1);
    CU_ASSERT_EQUAL(memcmp(s.raw, raw, sizeof(raw) - 1), 0);
    CU_ASSERT_EQUAL(gw_store_event_get(st, GW_SOURCE_OADR, "A1", ev_collect, &s), GE_ERR_NOTFOUND);

    /* status, replace, delete */
    CU_ASSERT_EQUAL(gw_store_event_set_status(st, GW_SOURCE_SEP, "A1", "active"), 0);
    CU_ASSERT_EQUAL(gw_store_event_set_status(st, GW_SOURCE_SEP, "nope", "active"), GE_ERR_NOTFOUND);
    ev.source = GW_SOURCE_SEP; ev.id = "B2"; ev.start = 5000; ev.status = "superseded";
    CU_ASSERT_EQUAL(gw_store_event_put(st, &ev), 0);
    gw_store_close(st);

    st = open_ok(state, NULL);
    memset(&s, 0, sizeof(s));
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, GW_SOURCE_SEP, ev_collect, &s), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.ids[0], "sep:A1");
    CU_ASSERT_STRING_EQUAL(s.status[0], "active");
    CU_ASSERT_STRING_EQUAL(s.ids[1], "sep:B2");
    CU_ASSERT_EQUAL(s.start[1], 5000);
    CU_ASSERT_STRING_EQUAL(s.status[1], "superseded");

    CU_ASSERT_EQUAL(gw_store_event_delete(st, GW_SOURCE_SEP, "B2"), 0);
    CU_ASSERT_EQUAL(gw_store_event_delete(st, GW_SOURCE_SEP, "B2"), GE_ERR_NOTFOUND);
    /* prune: A1 ends at 2600, evt-7 at 2100 */
    CU_ASSERT_EQUAL(gw_store_event_prune(st, 2200, &removed), 0);
    CU_ASSERT_EQUAL(removed, 1);
    memset(&s, 0, sizeof(s));
    CU_ASSERT_EQUAL(gw_store_event_foreach(st, -1, ev_collect, &s), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    CU_ASSERT_STRING_EQUAL(s.ids[0], "sep:A1");
    ev.id = NULL;
    CU_ASSERT_EQUAL(gw_store_event_put(st, &ev), GE_ERR_INVALID);
    gw_store_close(st);
    rm_tree(dir);
}

/* --- responses --------------------------------------------------------------------------------- */

static void test_response_dedupe_survives_reopen(void)
{
    char dir[64], state[96];
    gw_store_t *st;
    int sent = -1;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_response_sent(st, GW_SOURCE_SEP, "A1", 1, &sent), 0);
    CU_ASSERT_EQUAL(sent, 0);
    CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_SEP, "A1", 1, 100), 0);
    CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_SEP, "A1", 1, 101), GE_ERR_EXISTS);
    CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_SEP, "A1", 2, 102), 0);
    CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_OADR, "A1", 1, 103), 0);
    gw_store_close(st);

    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_SEP, "A1", 1, 200), GE_ERR_EXISTS);
    CU_ASSERT_EQUAL(gw_store_response_sent(st, GW_SOURCE_SEP, "A1", 2, &sent), 0);
    CU_ASSERT_EQUAL(sent, 1);
    CU_ASSERT_EQUAL(gw_store_response_sent(st, GW_SOURCE_SEP, "A1", 3, &sent), 0);
    CU_ASSERT_EQUAL(sent, 0);
    CU_ASSERT_EQUAL(gw_store_response_sent(st, GW_SOURCE_OADR, "A1", 1, &sent), 0);
    CU_ASSERT_EQUAL(sent, 1);
    gw_store_close(st);
    rm_tree(dir);
}

/* --- outbox ------------------------------------------------------------------------------------ */

static void test_backoff_table(void)
{
    static const struct { int attempts; int64_t delay; } rows[] = {
        { 0, 2 }, { 1, 2 }, { 2, 4 }, { 3, 8 }, { 4, 16 }, { 10, 1024 }, { 11, 2048 },
        { 12, 3600 }, { 40, 3600 }, { 1000000, 3600 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        CU_ASSERT_EQUAL(gw_outbox_backoff(rows[i].attempts), rows[i].delay);
}

static void test_outbox_order_ack_fail(void)
{
    char dir[64], state[96], body[32], key[16];
    gw_store_t *st;
    gw_outbox_item_t item;
    int64_t ids[5], id, next;
    size_t n;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_outbox_peek(st, 0, &item), GE_ERR_NOTFOUND);
    for (int i = 0; i < 5; i++) {
        gw_outbox_msg_t m = { "https://127.0.0.1:8443/rsp", "POST", "application/sep+xml", body, 0,
                              key };
        m.body_len = (size_t)snprintf(body, sizeof(body), "<Response>%d</Response>", i);
        snprintf(key, sizeof(key), "rsp-%d", i);
        CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &m, 1000 + i, &ids[i]), 0);
        if (i)
            CU_ASSERT(ids[i] > ids[i - 1]);
    }
    /* dedupe: the same key again adds nothing and names the queued one */
    gw_outbox_msg_t dup = { "https://127.0.0.1:8443/rsp", "POST", NULL, "x", 1, "rsp-3" };
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &dup, 2000, &id), GE_ERR_EXISTS);
    CU_ASSERT_EQUAL(id, ids[3]);
    CU_ASSERT_EQUAL(gw_store_outbox_count(st, &n), 0);
    CU_ASSERT_EQUAL(n, 5);

    /* the head is due at its enqueue time, not before */
    CU_ASSERT_EQUAL(gw_store_outbox_peek(st, 999, &item), GE_ERR_AGAIN);
    CU_ASSERT_EQUAL(item.id, ids[0]);
    CU_ASSERT_EQUAL(item.next_try, 1000);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek(st, 1000, &item), 0);
    CU_ASSERT_EQUAL(item.id, ids[0]);
    CU_ASSERT_STRING_EQUAL(item.url, "https://127.0.0.1:8443/rsp");
    CU_ASSERT_STRING_EQUAL(item.method, "POST");
    CU_ASSERT_STRING_EQUAL(item.content_type, "application/sep+xml");
    CU_ASSERT_STRING_EQUAL(item.body, "<Response>0</Response>");
    CU_ASSERT_EQUAL(item.body_len, strlen("<Response>0</Response>"));
    CU_ASSERT_STRING_EQUAL(item.dedupe_key, "rsp-0");
    CU_ASSERT_EQUAL(item.attempts, 0);
    gw_outbox_item_clear(st, &item);

    /* failures back off exponentially and hold the queue (order is kept) */
    CU_ASSERT_EQUAL(gw_store_outbox_fail(st, ids[0], 1100, &next), 0);
    CU_ASSERT_EQUAL(next, 1102);
    CU_ASSERT_EQUAL(gw_store_outbox_fail(st, ids[0], 1102, &next), 0);
    CU_ASSERT_EQUAL(next, 1106);
    CU_ASSERT_EQUAL(gw_store_outbox_fail(st, ids[0], 1106, &next), 0);
    CU_ASSERT_EQUAL(next, 1114);
    CU_ASSERT_EQUAL(gw_store_outbox_peek(st, 1110, &item), GE_ERR_AGAIN);
    CU_ASSERT_EQUAL(item.id, ids[0]);
    CU_ASSERT_EQUAL(item.attempts, 3);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL(gw_store_outbox_fail(st, 12345, 1106, &next), GE_ERR_NOTFOUND);
    gw_store_close(st);

    /* everything survives a reopen, attempts included */
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek(st, 1114, &item), 0);
    CU_ASSERT_EQUAL(item.id, ids[0]);
    CU_ASSERT_EQUAL(item.attempts, 3);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &dup, 3000, &id), GE_ERR_EXISTS);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek(st, 5000, &item), 0);
        CU_ASSERT_EQUAL(item.id, ids[i]);
        snprintf(body, sizeof(body), "<Response>%d</Response>", i);
        CU_ASSERT_STRING_EQUAL(item.body, body);
        CU_ASSERT_EQUAL(gw_store_outbox_ack(st, item.id), 0);
        CU_ASSERT_EQUAL(gw_store_outbox_ack(st, item.id), GE_ERR_NOTFOUND);
        gw_outbox_item_clear(st, &item);
    }
    CU_ASSERT_EQUAL(gw_store_outbox_peek(st, 5000, &item), GE_ERR_NOTFOUND);
    /* once acknowledged, the key is free again */
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &dup, 6000, &id), 0);
    CU_ASSERT(id > ids[4]);
    /* an empty body is fine; a missing URL is not */
    gw_outbox_msg_t empty = { "http://127.0.0.1/x", "DELETE", NULL, NULL, 0, NULL };
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &empty, 6000, NULL), 0);
    empty.url = NULL;
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &empty, 6000, NULL), GE_ERR_INVALID);
    CU_ASSERT_EQUAL(gw_store_outbox_count(st, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    gw_store_close(st);
    rm_tree(dir);
}

/* Two links share the outbox; each keeps its own order, and one backing off does not hold up the
 * other. */
static void test_outbox_queues(void)
{
    char dir[64], state[96];
    gw_store_t *st;
    gw_outbox_item_t item;
    int64_t sep1, sep2, oadr1, next;
    gw_outbox_msg_t m = { "/rsp", "POST", NULL, "a", 1, "sep:A:1" };

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_outbox_peek_queue(st, "sep:", 0, &item), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &m, 100, &sep1), 0);
    m.dedupe_key = "oadr:EV-1#0";
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &m, 100, &oadr1), 0);
    m.dedupe_key = "sep:A:2";
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &m, 100, &sep2), 0);
    m.dedupe_key = "sep%_"; /* LIKE's wildcards are plain characters here */
    CU_ASSERT_EQUAL(gw_store_outbox_enqueue(st, &m, 100, NULL), 0);
    /* the 2030.5 server refuses: its head backs off, and holds its own queue only */
    CU_ASSERT_EQUAL(gw_store_outbox_fail(st, sep1, 100, &next), 0);
    CU_ASSERT_EQUAL(gw_store_outbox_peek_queue(st, "sep:", 101, &item), GE_ERR_AGAIN);
    CU_ASSERT_EQUAL(item.id, sep1);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek_queue(st, "oadr:", 101, &item), 0);
    CU_ASSERT_EQUAL(item.id, oadr1);
    CU_ASSERT_STRING_EQUAL(item.dedupe_key, "oadr:EV-1#0");
    CU_ASSERT_EQUAL(gw_store_outbox_ack(st, item.id), 0);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL(gw_store_outbox_peek_queue(st, "oadr:", 101, &item), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek_queue(st, "sep:", next, &item), 0);
    CU_ASSERT_EQUAL(item.id, sep1);
    CU_ASSERT_EQUAL(gw_store_outbox_ack(st, item.id), 0);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL_FATAL(gw_store_outbox_peek_queue(st, "sep:", next, &item), 0);
    CU_ASSERT_EQUAL(item.id, sep2);
    gw_outbox_item_clear(st, &item);
    CU_ASSERT_EQUAL(gw_store_outbox_peek_queue(st, NULL, next, &item), GE_ERR_INVALID);
    gw_store_close(st);
    rm_tree(dir);
}

/* --- time offset, registration ----------------------------------------------------------------- */

static void test_time_offset_and_registration(void)
{
    char dir[64], state[96], buf[64], small[4];
    gw_store_t *st;
    int64_t off = 0, at = 0;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_time_offset_get(st, &off, &at), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_time_offset_set(st, -3600, 100), 0);
    CU_ASSERT_EQUAL(gw_store_time_offset_set(st, 42, 200), 0);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "edev", buf, sizeof(buf)), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_reg_set(st, GW_SOURCE_SEP, "edev", "/edev/3"), 0);
    CU_ASSERT_EQUAL(gw_store_reg_set(st, GW_SOURCE_SEP, "pin", "111115"), 0);
    CU_ASSERT_EQUAL(gw_store_reg_set(st, GW_SOURCE_OADR, "venID", "ven-9"), 0);
    CU_ASSERT_EQUAL(gw_store_reg_set(st, GW_SOURCE_OADR, "venID", "ven-10"), 0);
    gw_store_close(st);

    st = open_ok(state, NULL);
    CU_ASSERT_EQUAL(gw_store_time_offset_get(st, &off, &at), 0);
    CU_ASSERT_EQUAL(off, 42);
    CU_ASSERT_EQUAL(at, 200);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "edev", buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "/edev/3");
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_OADR, "venID", buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "ven-10");
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_OADR, "edev", buf, sizeof(buf)), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "edev", small, sizeof(small)), GE_ERR_OVERFLOW);
    CU_ASSERT_STRING_EQUAL(small, "");
    CU_ASSERT_EQUAL(gw_store_reg_delete(st, GW_SOURCE_SEP, "pin"), 0);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "pin", buf, sizeof(buf)), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "edev", buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(gw_store_reg_delete(st, GW_SOURCE_SEP, NULL), 0);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_SEP, "edev", buf, sizeof(buf)), GE_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(gw_store_reg_get(st, GW_SOURCE_OADR, "venID", buf, sizeof(buf)), 0);
    gw_store_close(st);
    rm_tree(dir);
}

/* --- history ----------------------------------------------------------------------------------- */

typedef struct hist_seen {
    int n;
    gw_history_sample_t s[400];
} hist_seen_t;

static int hist_collect(void *ud, const gw_history_sample_t *s)
{
    hist_seen_t *h = ud;

    if (h->n < 400)
        h->s[h->n] = *s;
    h->n++;
    return 0;
}

static void test_history(void)
{
    char dir[64], state[96];
    gw_store_t *st;
    hist_seen_t *h = calloc(1, sizeof(*h));
    size_t removed;
    const int64_t now = 1800000000; /* a multiple of 300 */

    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    st = open_ok(state, NULL);
    /* 26 hours of one sample a minute */
    for (int64_t t = now - 26 * 3600; t <= now; t += 60) {
        gw_history_sample_t s = { t, 1000, -500, 0, 800, 300, 50 };
        s.pv_w = (double)((t / 60) % 5) * 100; /* 0,100,200,300,400 within each 5 minutes */
        CU_ASSERT_EQUAL_FATAL(gw_store_history_add(st, &s), 0);
    }
    /* raw query: exact samples */
    CU_ASSERT_EQUAL(gw_store_history_query(st, now - 600, now, 1, hist_collect, h), 0);
    CU_ASSERT_EQUAL(h->n, 10);
    CU_ASSERT_EQUAL(h->s[0].time, now - 600);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].battery_w, -500, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].site_w, 300, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].soc_pct, 50, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].house_w, 800, 1e-9);

    /* the last day: 5-minute buckets averaging 5 samples each */
    memset(h, 0, sizeof(*h));
    CU_ASSERT_EQUAL(gw_store_history_last24h(st, now, hist_collect, h), 0);
    CU_ASSERT(h->n >= 288 && h->n <= 289);
    CU_ASSERT_EQUAL(h->s[0].time, now - 86400);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].pv_w, 200, 1e-9);
    for (int i = 1; i < h->n && i < 400; i++)
        CU_ASSERT_EQUAL(h->s[i].time - h->s[i - 1].time, 300);
    CU_ASSERT_EQUAL(h->s[h->n - 1].time, now);

    /* a sample at the same time replaces the old one */
    gw_history_sample_t again = { now, 4000, 0, 7200, 900, 0, 80 };
    CU_ASSERT_EQUAL(gw_store_history_add(st, &again), 0);
    memset(h, 0, sizeof(*h));
    CU_ASSERT_EQUAL(gw_store_history_query(st, now, now + 1, 1, hist_collect, h), 0);
    CU_ASSERT_EQUAL_FATAL(h->n, 1);
    CU_ASSERT_DOUBLE_EQUAL(h->s[0].ev_w, 7200, 1e-9);

    /* prune what is older than a day */
    CU_ASSERT_EQUAL(gw_store_history_prune(st, now - 86400, &removed), 0);
    CU_ASSERT_EQUAL(removed, 120);
    memset(h, 0, sizeof(*h));
    CU_ASSERT_EQUAL(gw_store_history_query(st, 0, now + 1, 1, hist_collect, h), 0);
    CU_ASSERT_EQUAL(h->n, 24 * 60 + 1);
    CU_ASSERT_EQUAL(gw_store_history_query(st, 10, 5, 1, hist_collect, h), GE_ERR_INVALID);
    gw_store_close(st);
    free(h);
    rm_tree(dir);
}

/* --- a full disk ------------------------------------------------------------------------------- */

/* Run in a child so the file-size limit cannot touch the test's own log.  Exit codes say what
 * went wrong. */
static int full_disk_child(const char *state)
{
    gw_store_t *st;
    logcap_t lc;
    struct rlimit rl, old;
    static char body[16384];
    int ok = 0, err = 0;
    size_t n;

    logcap_init(&lc);
    memset(body, 'x', sizeof(body));
    if (gw_store_open(&st, state, NULL, &lc.log))
        return 10;
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead of killing us */
    getrlimit(RLIMIT_FSIZE, &old);
    rl = old;
    rl.rlim_cur = 512 * 1024;
    if (setrlimit(RLIMIT_FSIZE, &rl))
        return 11;
    for (int i = 0; i < 1000; i++) {
        gw_outbox_msg_t m = { "http://127.0.0.1/x", "POST", NULL, body, sizeof(body), NULL };
        if ((err = gw_store_outbox_enqueue(st, &m, i, NULL)) != 0)
            break;
        ok++;
    }
    if (err != GE_ERR_STORAGE)
        return 12;
    /* a full disk (ENOSPC) and a file size limit (EFBIG, what this test can cause without
     * root) take the same path through SQLite; both must be named */
    if (!strstr(lc.last, "disk is full") && !strstr(lc.last, "file size limit")) {
        fprintf(stderr, "full-disk child: logged \"%s\"\n", lc.last);
        return 13;
    }
    /* history and reads keep working or fail cleanly; the handle stays usable */
    setrlimit(RLIMIT_FSIZE, &old);
    if (gw_store_outbox_count(st, &n) || n != (size_t)ok)
        return 14;
    gw_outbox_msg_t small = { "http://127.0.0.1/x", "POST", NULL, "ok", 2, NULL };
    if (gw_store_outbox_enqueue(st, &small, 0, NULL))
        return 15;
    gw_store_close(st);
    if (gw_store_open(&st, state, NULL, &lc.log))
        return 16;
    if (gw_store_check(st) || gw_store_outbox_count(st, &n) || n != (size_t)ok + 1)
        return 17;
    gw_store_close(st);
    return 0;
}

static void test_full_disk_is_an_error_not_a_crash(void)
{
    char dir[64], state[96];
    pid_t pid;
    int status;

    tmp_dirs(dir, sizeof(dir), state, sizeof(state));
    fflush(NULL);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        _exit(full_disk_child(state));
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "full-disk child: status %d\n", status);
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    rm_tree(dir);
}

/* --- crash safety ------------------------------------------------------------------------------ */

/* What the child reports through the pipe after each call returned 0. */
typedef struct report {
    char kind;   /* 'E' enqueued, 'A' acknowledged, 'R' response recorded, 'V' event stored,
                    'T' time offset stored */
    int32_t i;
} report_t;

#define CRASH_MAX 100000

static void crash_child(const char *state, int fd, int32_t base)
{
    gw_store_t *st;
    char key[32], body[64], id[32];

    if (gw_store_open(&st, state, NULL, NULL))
        _exit(3);
    for (int32_t i = base; i < base + CRASH_MAX; i++) {
        report_t r;
        int64_t qid;
        gw_outbox_msg_t m = { "http://127.0.0.1/rsp", "POST", "text/plain", body, 0, key };

        snprintf(key, sizeof(key), "k%d", (int)i);
        m.body_len = (size_t)snprintf(body, sizeof(body), "body of message %d", (int)i);
        if (gw_store_outbox_enqueue(st, &m, i, &qid))
            _exit(4);
        r.kind = 'E'; r.i = i;
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(5);
        snprintf(id, sizeof(id), "ev%d", (int)i);
        if (gw_store_response_record(st, GW_SOURCE_OADR, id, 1, i))
            _exit(6);
        r.kind = 'R';
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(5);
        gw_event_t ev = { GW_SOURCE_SEP, id, NULL, body, m.body_len, NULL, i, 60, 0, 0, 0, 0,
                          "received", i };
        if (gw_store_event_put(st, &ev))
            _exit(7);
        r.kind = 'V';
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(5);
        if (gw_store_time_offset_set(st, i, i))
            _exit(9);
        r.kind = 'T';
        if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
            _exit(5);
        if (i % 2 == 0) {
            if (gw_store_outbox_ack(st, qid))
                _exit(8);
            r.kind = 'A';
            if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
                _exit(5);
        }
    }
    gw_store_close(st);
    _exit(0);
}

typedef struct crash_ctx {
    unsigned char *enq, *ack, *rsp, *evt;
} crash_ctx_t;

static int count_evt(void *ud, const gw_event_t *ev)
{
    crash_ctx_t *c = ud;
    long i = strtol(ev->id + 2, NULL, 10);

    if (i >= 0 && i < 4 * CRASH_MAX)
        c->evt[i] = 2; /* seen */
    return 0;
}

static void test_kill9_loses_nothing_acknowledged(void)
{
    char dir[64], state[96];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    crash_ctx_t c;
    int32_t base = 0;
    int rounds = 5;

    fprintf(stderr, "\n  crash test seed %u\n", seed);
    srand(seed);
    c.enq = calloc(4 * CRASH_MAX, 1);
    c.ack = calloc(4 * CRASH_MAX, 1);
    c.rsp = calloc(4 * CRASH_MAX, 1);
    c.evt = calloc(4 * CRASH_MAX, 1);
    CU_ASSERT_FATAL(c.enq && c.ack && c.rsp && c.evt);
    tmp_dirs(dir, sizeof(dir), state, sizeof(state));

    for (int round = 0; round < rounds; round++) {
        int fds[2], status;
        pid_t pid;
        report_t r;
        int32_t last_t = -1, max_i = base - 1;
        long reports = 0;
        struct timespec ts;
        gw_store_t *st;
        gw_outbox_item_t item;
        int64_t prev = -1, off;

        CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
        fflush(NULL);
        pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(state, fds[1], base);
        }
        close(fds[1]);
        /* wait for its first acknowledged operation (a slow start, e.g. under ASan, must not
         * make the round vacuous), then kill it 0 to 300 ms later, mid-transaction as likely
         * as not */
        report_t first;
        int have_first = read(fds[0], &first, sizeof(first)) == (ssize_t)sizeof(first);
        long ms = rand() % 300;
        ts.tv_sec = 0;
        ts.tv_nsec = ms * 1000000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        while (have_first || read(fds[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
            if (have_first) {
                r = first;
                have_first = 0;
            }
            reports++;
            if (r.i < 0 || r.i >= 4 * CRASH_MAX)
                continue;
            if (r.i > max_i)
                max_i = r.i;
            switch (r.kind) {
            case 'E': c.enq[r.i] = 1; break;
            case 'A': c.ack[r.i] = 1; break;
            case 'R': c.rsp[r.i] = 1; break;
            case 'V': c.evt[r.i] = 1; break;
            case 'T': last_t = r.i; break;
            default: break;
            }
        }
        close(fds[0]);
        CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
        CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        fprintf(stderr, "  round %d: killed %ld ms after its first commit, %ld acknowledged "
                "operations\n", round, ms, reports);
        CU_ASSERT(reports > 0); /* otherwise the round proved nothing */

        st = open_ok(state, NULL);
        CU_ASSERT_EQUAL(gw_store_check(st), 0);
        /* every reported response is there */
        for (int32_t i = base; i <= max_i; i++)
            if (c.rsp[i]) {
                char id[32];
                snprintf(id, sizeof(id), "ev%d", (int)i);
                CU_ASSERT_EQUAL(gw_store_response_record(st, GW_SOURCE_OADR, id, 1, 0), GE_ERR_EXISTS);
            }
        /* every reported event is there */
        CU_ASSERT_EQUAL(gw_store_event_foreach(st, GW_SOURCE_SEP, count_evt, &c), 0);
        for (int32_t i = base; i <= max_i; i++)
            if (c.evt[i] == 1) {
                fprintf(stderr, "  event %d lost\n", (int)i);
                CU_FAIL("an acknowledged event was lost");
            }
        /* the time offset is at least the last one reported (maybe one newer, unreported) */
        if (last_t >= 0) {
            CU_ASSERT_EQUAL(gw_store_time_offset_get(st, &off, NULL), 0);
            CU_ASSERT(off >= last_t);
        }
        /* the outbox: in order, every enqueued-and-not-acked one present, no acked one back */
        unsigned char *present = calloc(4 * CRASH_MAX, 1);
        CU_ASSERT_FATAL(present != NULL);
        int32_t prev_i = -1;
        while (gw_store_outbox_peek(st, INT64_MAX, &item) == 0) {
            long i = strtol(item.dedupe_key + 1, NULL, 10);
            CU_ASSERT(item.id > prev);
            CU_ASSERT(i > prev_i);
            prev = item.id;
            prev_i = (int32_t)i;
            if (i >= 0 && i < 4 * CRASH_MAX)
                present[i] = 1;
            CU_ASSERT_EQUAL(gw_store_outbox_ack(st, item.id), 0);
            gw_outbox_item_clear(st, &item);
        }
        for (int32_t i = base; i <= max_i; i++) {
            /* the child may have died between committing the ack of its last message and
             * reporting it: that message may be gone without an 'A' */
            int ack_in_flight = i == max_i && i % 2 == 0;
            if (c.enq[i] && !c.ack[i] && !present[i] && !ack_in_flight) {
                fprintf(stderr, "  outbox message %d lost\n", (int)i);
                CU_FAIL("an acknowledged enqueue was lost");
            }
            if (c.ack[i] && present[i]) {
                fprintf(stderr, "  outbox message %d came back after its ack\n", (int)i);
                CU_FAIL("an acknowledged ack was lost");
            }
        }
        free(present);
        CU_ASSERT_EQUAL(gw_store_check(st), 0);
        gw_store_close(st);
        base = max_i + 2;
        if (base >= 3 * CRASH_MAX)
            break;
    }
    free(c.enq); free(c.ack); free(c.rsp); free(c.evt);
    rm_tree(dir);
}

int test_register(void)
{
    static const test_case_t open_cases[] = {
        { "open creates the state dir and schema, WAL", test_open_creates_dir_and_schema },
        { "a newer schema is refused", test_newer_schema_refused },
        { "an unusable state dir is a clear error", test_unusable_state_dir },
        { "allocation failures", test_allocation_failures },
        { "one outbox, one queue per link", test_outbox_queues },
        { "a full disk is an error, not a crash", test_full_disk_is_an_error_not_a_crash },
        { NULL, NULL }
    };
    static const test_case_t data_cases[] = {
        { "events", test_events },
        { "responses de-duplicate across reopen", test_response_dedupe_survives_reopen },
        { "outbox backoff table", test_backoff_table },
        { "outbox order, ack, fail, dedupe, reopen", test_outbox_order_ack_fail },
        { "time offset and registration", test_time_offset_and_registration },
        { "history", test_history },
        { NULL, NULL }
    };
    static const test_case_t crash_cases[] = {
        { "kill -9 loses nothing acknowledged", test_kill9_loses_nothing_acknowledged },
        { NULL, NULL }
    };
    int err;

    if ((err = test_add_suite("store: open", open_cases)) ||
        (err = test_add_suite("store: data", data_cases)))
        return err;
    return test_add_suite("store: crash safety", crash_cases);
}
