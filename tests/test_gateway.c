/* test_gateway.c - `gridedge gateway --config FILE` end to end: config errors, the daemon running
 * the simulated home with its status file and status page, SIGHUP with a bad file (kept running),
 * SIGTERM (clean exit), and `kill -9` at several moments against our head-end (2030.5 and OpenADR
 * on 127.0.0.1) without losing or repeating anything acknowledged. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include <gridedge/arena.h>
#include <gridedge/pki.h>

#include "conformance/case.h"
#include "conformance/server.h"
#include "proc.h"
#include "runner.h"
#ifdef GE_HAVE_LIBMODBUS
#include "sunspec_sim.h"
#endif

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* Start `gridedge gateway --config CFG`: stdout and stderr appended to LOG (NULL: dropped),
 * $NOTIFY_SOCKET set to NOTIFY (may be NULL), and with LIMIT (may be NULL) as its file size limit
 * (SIGXFSZ ignored, so that a write past it fails with EFBIG as on a full disk). */
static pid_t spawn_gateway(const char *cfg, const char *log, const char *notify, const struct rlimit *limit)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (notify)
            setenv("NOTIFY_SOCKET", notify, 1);
        if (limit) {
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, limit);
        }
        execl(proc_gridedge(), proc_gridedge(), "gateway", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_FATAL(pid > 0);
    return pid;
}

/* SIGTERM, then wait up to 10 s (SIGKILL after that); 1 if it exited by itself with status 0. */
static int stop_gateway(pid_t pid)
{
    int st = 0, done = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && !done; i++) {
        usleep(50000);
        done = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    return done && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* End of a daemon test: show the daemon's LOG if the test failed since FAILURES0, remove DIR. */
static void finish(unsigned failures0, const char *log, const char *dir)
{
    proc_result_t r;
    if (log && CU_get_number_of_failures() > failures0) {
        char *cat[] = { "/bin/cat", (char *)log, NULL };
        if (proc_run(cat, NULL, 10000, &r) == 0)
            fprintf(stderr, "--- gateway log ---\n%s", r.out);
        proc_result_free(&r);
    }
    char *rm[] = { "/bin/rm", "-rf", (char *)dir, NULL };
    proc_run(rm, NULL, 10000, &r);
    proc_result_free(&r);
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* REQUEST (a whole HTTP/1.1 request) to 127.0.0.1:PORT; the whole response (headers and body) in BUF. */
static int http_exchange(int port, const char *req, char *buf, size_t size)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    struct timeval tv = { 5, 0 };

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == size - 1)
            break;
    }
    buf[got] = '\0';
    close(fd);
    return (int)got;
}

/* GET PATH from 127.0.0.1:PORT; the whole response in BUF. */
static int http_get(int port, const char *path, char *buf, size_t size)
{
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    return http_exchange(port, req, buf, size);
}

/* POST the form BODY to PATH with the status page's action header ACTION (NULL: none). */
static int http_post(int port, const char *path, const char *action, const char *body, char *buf, size_t size)
{
    char req[512];
    snprintf(req, sizeof(req),
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             path, action ? "X-Gridedge-Action: " : "", action ? action : "", action ? "\r\n" : "", strlen(body), body);
    return http_exchange(port, req, buf, size);
}

static void test_config_error_exit_2(void)
{
    char path[] = "/tmp/ge-gw-bad-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    write_file(path, "[gateway]\nstate_dir = /tmp\n\n[policy]\ncharge_below = cheap\n");
    char *argv[] = { (char *)proc_gridedge(), "gateway", "--config", path, NULL };
    proc_result_t r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    char want[128];
    snprintf(want, sizeof(want), "%s:5: error: ", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, want));
    proc_result_free(&r);
    unlink(path);
    char *missing[] = { (char *)proc_gridedge(), "gateway", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(missing, NULL, 10000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    proc_result_free(&r);
}

/* systemd's side of sd_notify: a datagram socket the daemon finds in $NOTIFY_SOCKET. */
static int notify_socket(const char *path)
{
    struct sockaddr_un a;
    struct timeval tv = { 10, 0 };
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* The next notification holds TEXT (a message may carry several lines). */
static int notified(int fd, const char *text)
{
    char msg[512];
    ssize_t n;
    if (fd < 0)
        return 0;
    n = recv(fd, msg, sizeof(msg) - 1, 0);
    if (n <= 0)
        return 0;
    msg[n] = '\0';
    return strstr(msg, text) != NULL;
}

static void test_daemon(void)
{
    char dir[] = "/tmp/ge-gw-XXXXXX", cfg[1100], conf_text[2048], status[1100], buf[65536], notify[1100];
    int port = free_port(), nfd;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_FATAL(port > 0);
    snprintf(notify, sizeof(notify), "%s/notify", dir);
    nfd = notify_socket(notify);
    CU_ASSERT(nfd >= 0);
    snprintf(cfg, sizeof(cfg), "%s/gridedge.ini", dir);
    snprintf(status, sizeof(status), "%s/status.json", dir);
    snprintf(conf_text, sizeof(conf_text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = %d\nlog_level = info\nadapter = sim\n"
             "[policy]\ncharge_below = 0.10\ndischarge_above = 0.30\n[sim]\nseed = 7\n",
             dir, status, port);
    write_file(cfg, conf_text);

    pid_t pid = spawn_gateway(cfg, NULL, notify, NULL);
#ifdef GE_HAVE_SYSTEMD
    /* Type=notify: ready once the state is open and the parts run */
    CU_ASSERT(notified(nfd, "READY=1"));
#endif
    /* the status file appears and has the contract's shape */
    json_t *j = NULL;
    for (int i = 0; i < 100 && !j; i++) {
        usleep(100000);
        j = json_load_file(status, 0, NULL);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_TRUE(json_is_integer(json_object_get(j, "time")) || json_is_real(json_object_get(j, "time")));
    CU_ASSERT_TRUE(json_is_number(json_object_get(json_object_get(j, "battery"), "soc_pct")));
    CU_ASSERT_TRUE(json_is_number(json_object_get(json_object_get(j, "site"), "power_w")));
    CU_ASSERT_TRUE(json_is_array(json_object_get(j, "active_controls")));
    json_decref(j);
    /* the status page and /status.json are served on 127.0.0.1 */
    CU_ASSERT(http_get(port, "/status.json", buf, sizeof(buf)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"battery\""));
    CU_ASSERT(http_get(port, "/", buf, sizeof(buf)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<html"));
    /* its opt-out action: refused without the action header (another site's page cannot send it),
     * and here there is no OpenADR 2.0b VEN to opt out with */
    CU_ASSERT(http_post(port, "/opt-out", NULL, "event=EV-1", buf, sizeof(buf)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 403"));
    CU_ASSERT(http_post(port, "/opt-out", "opt-out", "event=EV-1", buf, sizeof(buf)) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 409"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "no OpenADR 2.0b VEN"));

    /* SIGHUP with a broken file: reported, the daemon keeps running as it was */
    write_file(cfg, "[gateway]\nstatus_port = lots\n");
    kill(pid, SIGHUP);
#ifdef GE_HAVE_SYSTEMD
    CU_ASSERT(notified(nfd, "RELOADING=1"));
    CU_ASSERT(notified(nfd, "READY=1"));
#endif
    usleep(800000);
    int st;
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(http_get(port, "/status.json", buf, sizeof(buf)) > 0);

    /* SIGHUP with a good file: the new settings are used (the status page moves) */
    int port2 = free_port();
    CU_ASSERT_FATAL(port2 > 0 && port2 != port);
    snprintf(conf_text, sizeof(conf_text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = %d\nlog_level = info\nadapter = sim\n"
             "[policy]\ncharge_below = 0.10\ndischarge_above = 0.30\n[sim]\nseed = 7\n",
             dir, status, port2);
    write_file(cfg, conf_text);
    kill(pid, SIGHUP);
#ifdef GE_HAVE_SYSTEMD
    CU_ASSERT(notified(nfd, "RELOADING=1"));
    CU_ASSERT(notified(nfd, "READY=1"));
#endif
    int moved = 0;
    for (int i = 0; i < 50 && !moved; i++) {
        usleep(100000);
        moved = http_get(port2, "/status.json", buf, sizeof(buf)) > 0 && strstr(buf, "\"battery\"");
    }
    CU_ASSERT_TRUE(moved);
    CU_ASSERT(http_get(port, "/status.json", buf, sizeof(buf)) < 0);

    /* SIGTERM: a clean exit with status 0, the status file flushed */
    CU_ASSERT_TRUE(stop_gateway(pid));
#ifdef GE_HAVE_SYSTEMD
    CU_ASSERT(notified(nfd, "STOPPING=1"));
#endif
    if (nfd >= 0)
        close(nfd);
    finish(0, NULL, dir);
}

/* --- kill -9 ------------------------------------------------------------------------------------ */

static const char *srcdir(void)
{
    const char *s = getenv("GE_SRCDIR");
    return s && *s ? s : GE_SRCDIR;
}

#define K9_MAX_KILLS 8
#define K9_MAX_KEYS 16
#define K9_KEY 96

/* What one kill left behind: when (on each server's clock) and the messages still queued. */
typedef struct k9_kill {
    double t_sep, t_vtn;
    char queued[K9_MAX_KEYS][K9_KEY];
    size_t n_queued;
} k9_kill_t;

#define HEADS_LFDI "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"

/* The daemon in a temporary dir against two in-process head-ends: a 2030.5 server and a 2.0b VTN. */
typedef struct k9 {
    struct event_base *base;
    cf_server_t *sep, *vtn;
    ge_arena_t *arena;
    cf_case_t sep_case, vtn_case;
    char dir[64], cfg[128], db[128], log[128], sfdi[32];
    pid_t pid;
    k9_kill_t kills[K9_MAX_KILLS];
    size_t n_kills;
} k9_t;

/* Set K up in a new dir made from TEMPLATE: case ID of tests/data/gateway/SEP_SUITE served as the
 * 2030.5 server for HEADS_LFDI, and of tests/data/gateway/oadr20b as the VTN for VEN_NAME (venID VEN-1,
 * registrationID REG-1).  Neither is started. */
static void heads_open(k9_t *k, const char *template, const char *sep_suite, const char *id, const char *ven_name)
{
    char dir_sep[1024], dir_vtn[1024], err[512];
    uint64_t sfdi = 0;
    cf_server_opts_t so;
    static const ge_log_t quiet = { NULL, NULL, GE_LOG_ERROR };

    memset(k, 0, sizeof(*k));
    snprintf(k->dir, sizeof(k->dir), "%s", template);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(k->dir));
    snprintf(k->cfg, sizeof(k->cfg), "%s/gridedge.ini", k->dir);
    snprintf(k->db, sizeof(k->db), "%s/state/gridedge.db", k->dir);
    snprintf(k->log, sizeof(k->log), "%s/gateway.log", k->dir);
    snprintf(dir_sep, sizeof(dir_sep), "%s/tests/data/gateway/%s", srcdir(), sep_suite);
    snprintf(dir_vtn, sizeof(dir_vtn), "%s/tests/data/gateway/oadr20b", srcdir());
    CU_ASSERT_EQUAL_FATAL(ge_arena_new(&k->arena, NULL, 0, 4u << 20), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load(sep_suite, id, dir_sep, k->arena, &k->sep_case, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL_FATAL(cf_case_load("oadr20b", id, dir_vtn, k->arena, &k->vtn_case, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL_FATAL(ge_sfdi_from_lfdi(HEADS_LFDI, &sfdi), 0);
    snprintf(k->sfdi, sizeof(k->sfdi), "%llu", (unsigned long long)sfdi);
    k->base = event_base_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(k->base);
    memset(&so, 0, sizeof(so));
    so.suite = sep_suite;
    so.c = &k->sep_case;
    so.log = &quiet;
    CU_ASSERT_EQUAL_FATAL(cf_server_new(&k->sep, k->base, &so, err, sizeof(err)), 0);
    so.suite = "oadr20b";
    so.c = &k->vtn_case;
    CU_ASSERT_EQUAL_FATAL(cf_server_new(&k->vtn, k->base, &so, err, sizeof(err)), 0);
    cf_server_vars(k->sep)->lfdi = HEADS_LFDI;
    cf_server_vars(k->sep)->sfdi = k->sfdi;
    cf_server_vars(k->vtn)->ven_name = ven_name;
    cf_server_vars(k->vtn)->ven_id = "VEN-1";
    cf_server_vars(k->vtn)->registration_id = "REG-1";
}

/* Free what heads_open() made, then finish() the test. */
static void heads_close(k9_t *k, unsigned failures0)
{
    cf_server_free(k->sep);
    cf_server_free(k->vtn);
    event_base_free(k->base);
    ge_arena_free(k->arena);
    finish(failures0, k->log, k->dir);
}

/* Run the head-ends' loop for MS milliseconds. */
static void serve_ms(k9_t *k, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(k->base, &tv);
    event_base_dispatch(k->base);
}

/* The text between OPEN and CLOSE in BODY, into OUT; 0 or -1. */
static int between(const char *body, const char *open, const char *close, char *out, size_t size)
{
    const char *a = strstr(body, open), *b;
    if (!a)
        return -1;
    a += strlen(open);
    b = strstr(a, close);
    if (!b || (size_t)(b - a) >= size)
        return -1;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return 0;
}

/* The identity of an acknowledged-once message: "sep:SUBJECT:STATUS" for a 2030.5 Response,
 * "oadr:EVENT#MODIFICATION" for an oadrCreatedEvent; 0, or -1 for any other message. */
static int message_key(const char *body, char *key, size_t size)
{
    char a[64], b[16];
    if (strstr(body, "Response xmlns=") && between(body, "<subject>", "</subject>", a, sizeof(a)) == 0 &&
        between(body, "<status>", "</status>", b, sizeof(b)) == 0) {
        snprintf(key, size, "sep:%s:%s", a, b);
        return 0;
    }
    if (strstr(body, "oadrCreatedEvent") && between(body, "<ei:eventID>", "</ei:eventID>", a, sizeof(a)) == 0 &&
        between(body, "<ei:modificationNumber>", "</ei:modificationNumber>", b, sizeof(b)) == 0) {
        snprintf(key, size, "oadr:%s#%s", a, b);
        return 0;
    }
    return -1;
}

static sqlite3 *db_open(const k9_t *k)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(k->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The keys of the messages in the outbox; -1 if the database cannot be read. */
static int outbox_keys(const k9_t *k, char keys[][K9_KEY], size_t max, size_t *n)
{
    sqlite3 *db = db_open(k);
    sqlite3_stmt *st;
    *n = 0;
    if (!db)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT body FROM outbox ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW && *n < max) {
        const char *body = (const char *)sqlite3_column_text(st, 0);
        if (body && message_key(body, keys[*n], K9_KEY) == 0)
            (*n)++;
        else if (getenv("GE_TEST_VERBOSE"))
            fprintf(stderr, "unknown message in the outbox: %.300s\n", body ? body : "(null)");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}

static int key_queued(const k9_t *k, const char *key)
{
    char keys[K9_MAX_KEYS][K9_KEY];
    size_t n;
    if (outbox_keys(k, keys, K9_MAX_KEYS, &n) < 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

/* One text value of SQL (a single-row query) into OUT; 0 or -1. */
static int db_text(const k9_t *k, const char *sql, char *out, size_t size)
{
    sqlite3 *db = db_open(k);
    sqlite3_stmt *st;
    int rc = -1;
    out[0] = '\0';
    if (!db)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
            rc = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* Exchanges with a key, answered 2xx (OK = 1) or otherwise (OK = 0), optionally only KEY's. */
static size_t count_keyed(cf_server_t *s, const char *key, int ok)
{
    size_t n, dropped, c = 0;
    const cf_exchange_t *ex = cf_server_exchanges(s, &n, &dropped);
    char k[K9_KEY];
    for (size_t i = 0; i < n; i++)
        if (message_key(ex[i].body, k, sizeof(k)) == 0 && (!key || strcmp(k, key) == 0) &&
            (ex[i].status >= 200 && ex[i].status < 300) == ok)
            c++;
    return c;
}

static void k9_start(k9_t *k)
{
    k->pid = spawn_gateway(k->cfg, k->log, NULL, NULL);
}

/* SIGKILL the daemon, let the head-ends answer what it had already sent, then note what the
 * state dir kept: the database must be consistent. */
static void k9_kill(k9_t *k)
{
    k9_kill_t *x = &k->kills[k->n_kills];
    char ok[64];
    int st;

    CU_ASSERT_FATAL(k->n_kills < K9_MAX_KILLS);
    CU_ASSERT_EQUAL(waitpid(k->pid, &st, WNOHANG), 0); /* still running when killed */
    kill(k->pid, SIGKILL);
    waitpid(k->pid, &st, 0);
    serve_ms(k, 100);
    x->t_sep = cf_server_elapsed(k->sep);
    x->t_vtn = cf_server_elapsed(k->vtn);
    if (access(k->db, F_OK) == 0) {
        char version[16];
        /* killed before its schema was committed: a database with nothing in it is fine */
        CU_ASSERT_EQUAL(db_text(k, "PRAGMA user_version", version, sizeof(version)), 0);
        if (strcmp(version, "0") != 0)
            CU_ASSERT_EQUAL(outbox_keys(k, x->queued, K9_MAX_KEYS, &x->n_queued), 0);
        CU_ASSERT_EQUAL(db_text(k, "PRAGMA integrity_check", ok, sizeof(ok)), 0);
        CU_ASSERT_STRING_EQUAL(ok, "ok");
    }
    if (getenv("GE_TEST_VERBOSE"))
        fprintf(stderr, "kill %zu at %.2f s: %zu queued\n", k->n_kills, x->t_sep, x->n_queued);
    k->n_kills++;
}

/* Serve until COND holds (checked every 5 ms) or MS pass; 1 if it held. */
static int serve_until(k9_t *k, int (*cond)(k9_t *), int ms)
{
    for (int waited = 0; waited < ms; waited += 5) {
        if (cond(k))
            return 1;
        serve_ms(k, 5);
    }
    return cond(k);
}

static int outbox_holds_both(k9_t *k)
{
    char keys[K9_MAX_KEYS][K9_KEY], v[128];
    size_t n, sep = 0, oadr = 0;
    if (outbox_keys(k, keys, K9_MAX_KEYS, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        sep += strncmp(keys[i], "sep:", 4) == 0;
        oadr += strncmp(keys[i], "oadr:", 5) == 0;
    }
    /* ... after a refusal, with the registration and the clock offset stored */
    return sep && oadr && count_keyed(k->sep, NULL, 0) &&
           db_text(k, "SELECT value FROM registration WHERE key = 'registration_id'", v, sizeof(v)) == 0 &&
           db_text(k, "SELECT offset FROM clock", v, sizeof(v)) == 0;
}

/* A message the head-end answered 2xx whose removal from the outbox is committed: the moment
 * right after an acknowledgement. */
static char k9_acked[K9_KEY];
static int just_acknowledged(k9_t *k)
{
    cf_server_t *servers[2] = { k->sep, k->vtn };
    for (int s = 0; s < 2; s++) {
        size_t n, dropped;
        const cf_exchange_t *ex = cf_server_exchanges(servers[s], &n, &dropped);
        char key[K9_KEY];
        for (size_t i = 0; i < n; i++) {
            int seen_before = 0;
            if (ex[i].status < 200 || ex[i].status >= 300 || message_key(ex[i].body, key, sizeof(key)) < 0 ||
                strcmp(key, k9_acked) == 0)
                continue;
            for (size_t j = 0; j < k->n_kills; j++)
                seen_before |= (s ? k->kills[j].t_vtn : k->kills[j].t_sep) > ex[i].t;
            if (!seen_before && !key_queued(k, key)) {
                snprintf(k9_acked, sizeof(k9_acked), "%s", key);
                return 1;
            }
        }
    }
    return 0;
}

static int all_delivered(k9_t *k)
{
    char keys[K9_MAX_KEYS][K9_KEY];
    size_t n;
    /* received, started and completed for the 2030.5 control; optIn for the OpenADR event */
    return outbox_keys(k, keys, K9_MAX_KEYS, &n) == 0 && n == 0 &&
           count_keyed(k->sep, "sep:C0000000000000000000000000000009:3", 1) &&
           count_keyed(k->vtn, "oadr:EV-K9#0", 1);
}

/* Judge one server's evidence against the kills: a key acknowledged (answered 2xx, and no longer
 * queued after the kill that followed) is never sent again; a key still queued after a kill is
 * delivered after it; two 2xx answers for one key need a kill between them that found it queued
 * (the daemon died between the server's answer and its own commit: at least once, as designed). */
static void k9_judge(k9_t *k, cf_server_t *s, int vtn, size_t *acked_keys)
{
    size_t n, dropped;
    const cf_exchange_t *ex = cf_server_exchanges(s, &n, &dropped);
    char key[K9_KEY], other[K9_KEY];

    CU_ASSERT_EQUAL(dropped, 0);
    for (size_t i = 0; i < n; i++) {
        int ok = ex[i].status >= 200 && ex[i].status < 300;
        if (!ok || message_key(ex[i].body, key, sizeof(key)) < 0)
            continue;
        (*acked_keys)++;
        for (size_t j = i + 1; j < n; j++) {
            int legit = 0;
            if (message_key(ex[j].body, other, sizeof(other)) < 0 || strcmp(key, other) != 0)
                continue;
            for (size_t q = 0; q < k->n_kills; q++) {
                double t = vtn ? k->kills[q].t_vtn : k->kills[q].t_sep;
                int queued = 0;
                for (size_t m = 0; m < k->kills[q].n_queued; m++)
                    queued |= strcmp(k->kills[q].queued[m], key) == 0;
                legit |= t > ex[i].t && t < ex[j].t && queued;
            }
            if (!legit)
                fprintf(stderr, "%s acknowledged at %.2f s and sent again at %.2f s\n", key, ex[i].t, ex[j].t);
            CU_ASSERT_TRUE(legit);
            break; /* the next pair is judged from j */
        }
    }
    /* everything queued at a kill is delivered after it */
    for (size_t q = 0; q < k->n_kills; q++)
        for (size_t m = 0; m < k->kills[q].n_queued; m++) {
            const char *qk = k->kills[q].queued[m];
            double t = vtn ? k->kills[q].t_vtn : k->kills[q].t_sep;
            int delivered = 0;
            if (strncmp(qk, vtn ? "oadr:" : "sep:", vtn ? 5 : 4) != 0)
                continue;
            for (size_t i = 0; i < n; i++)
                delivered |= ex[i].t > t && ex[i].status >= 200 && ex[i].status < 300 &&
                             message_key(ex[i].body, key, sizeof(key)) == 0 && strcmp(key, qk) == 0;
            if (!delivered)
                fprintf(stderr, "%s was queued at the kill at %.2f s and never delivered\n", qk, t);
            CU_ASSERT_TRUE(delivered);
        }
}

static void test_kill9(void)
{
    unsigned failures0 = CU_get_number_of_failures();
    k9_t k;
    char text[2048], v[128];

    heads_open(&k, "/tmp/ge-gw-k9-XXXXXX", "csip", "GW-KILL9", "ven-k9");
    snprintf(text, sizeof(text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s/status.json\nstatus_port = 0\nadapter = sim\n"
             "[sep]\nenabled = true\nserver = %s\nlfdi = %s\n"
             "[oadr]\nenabled = true\nvtn = %s\nven_name = ven-k9\n",
             k.dir, k.dir, cf_server_url(k.sep), HEADS_LFDI, cf_server_url(k.vtn));
    write_file(k.cfg, text);

    cf_server_start(k.sep);
    cf_server_start(k.vtn);
    /* 1. at a moment of nobody's choosing: during start-up (schema creation, first requests) */
    k9_start(&k);
    serve_ms(&k, 300);
    k9_kill(&k);
    k9_start(&k);
    /* 2. while both Responses wait in the outbox (the head-ends refuse them for 5 s) */
    CU_ASSERT(serve_until(&k, outbox_holds_both, 4500));
    k9_kill(&k);
    CU_ASSERT(k.kills[1].n_queued >= 2);
    CU_ASSERT_EQUAL(db_text(&k, "SELECT value FROM registration WHERE key = 'ven_id'", v, sizeof(v)), 0);
    CU_ASSERT_STRING_EQUAL(v, "VEN-1");
    CU_ASSERT_EQUAL(db_text(&k, "SELECT offset FROM clock", v, sizeof(v)), 0);
    CU_ASSERT(labs(atol(v) - 3600) <= 2);
    k9_start(&k);
    /* 3. twice right after an acknowledgement was committed */
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(serve_until(&k, just_acknowledged, 20000));
        k9_kill(&k);
        k9_start(&k);
    }
    /* 4. a few more at arbitrary moments while the control runs */
    for (int i = 0; i < 3; i++) {
        serve_ms(&k, 700 + 450 * i);
        k9_kill(&k);
        k9_start(&k);
    }
    /* the rest is delivered; then a clean stop */
    CU_ASSERT(serve_until(&k, all_delivered, 25000));
    serve_ms(&k, 1500); /* anything repeated would show now */
    CU_ASSERT_TRUE(stop_gateway(k.pid));

    {
        size_t acked_sep = 0, acked_vtn = 0;
        k9_judge(&k, k.sep, 0, &acked_sep);
        k9_judge(&k, k.vtn, 1, &acked_vtn);
        /* received, started, completed; and the optIn */
        CU_ASSERT(acked_sep >= 3);
        CU_ASSERT(acked_vtn >= 1);
        CU_ASSERT_EQUAL(count_keyed(k.sep, "sep:C0000000000000000000000000000009:1", 1) >= 1, 1);
        CU_ASSERT_EQUAL(count_keyed(k.vtn, "oadr:EV-K9#0", 0) >= 1, 1); /* was refused, then queued */
    }
    /* what survived every kill: registration, clock offset, history, a consistent file */
    CU_ASSERT_EQUAL(db_text(&k, "SELECT value FROM registration WHERE key = 'registration_id'", v, sizeof(v)), 0);
    CU_ASSERT_STRING_EQUAL(v, "REG-1");
    CU_ASSERT_EQUAL(db_text(&k, "SELECT offset FROM clock", v, sizeof(v)), 0);
    CU_ASSERT(labs(atol(v) - 3600) <= 2);
    CU_ASSERT_EQUAL(db_text(&k, "SELECT count(*) FROM history", v, sizeof(v)), 0);
    CU_ASSERT(atol(v) >= 1);
    CU_ASSERT_EQUAL(db_text(&k, "PRAGMA integrity_check", v, sizeof(v)), 0);
    CU_ASSERT_STRING_EQUAL(v, "ok");
    heads_close(&k, failures0);
}

/* --- prices from both protocols ----------------------------------------------------------------- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The status file's price (NAN when null) and battery power; 0, or -1 if it cannot be read. */
static int status_price(const char *path, double *price, double *battery)
{
    json_t *j = json_load_file(path, 0, NULL), *p;
    if (!j)
        return -1;
    p = json_object_get(j, "price");
    *price = json_is_number(p) ? json_number_value(p) : NAN;
    *battery = json_number_value(json_object_get(json_object_get(j, "battery"), "power_w"));
    json_decref(j);
    return 0;
}

#define PRICE_SAMPLES 400

/* The gateway with [sep] on a CSIP-AUS v1.3 tariff (import 0.05 per kWh all along) and [oadr] on a
 * VTN whose event prices 0.45 from 10 s to 20 s (both head-ends' time): the OpenADR price stands for
 * the tariff's while the event lasts (docs/gateway.md), then the tariff's is back; the price policy
 * charges the battery at 0.05 and discharges it at 0.45; both servers get their answers. */
static void test_tariff_and_openadr_price(void)
{
    unsigned failures0 = CU_get_number_of_failures();
    k9_t k;
    char text[2048], status[160];
    struct {
        double t, price, battery;
    } smp[PRICE_SAMPLES];
    size_t n = 0;
    double t0;
    unsigned before = 0, during = 0, after = 0, bad = 0;

    heads_open(&k, "/tmp/ge-gw-pr-XXXXXX", "csip-aus", "GW-PRICES", "ven-prices");
    snprintf(status, sizeof(status), "%s/status.json", k.dir);
    snprintf(text, sizeof(text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = 0\nadapter = sim\n"
             "[policy]\ncharge_below = 0.10\ndischarge_above = 0.30\n"
             "[sep]\nenabled = true\nserver = %s\nlfdi = %s\nprofile = csip-aus\nnmi = 4123456789\n"
             "[oadr]\nenabled = true\nvtn = %s\nven_name = ven-prices\n",
             k.dir, status, cf_server_url(k.sep), HEADS_LFDI, cf_server_url(k.vtn));
    write_file(k.cfg, text);

    t0 = mono_s(); /* the head-ends' {start} is at or after T0 */
    cf_server_start(k.sep);
    cf_server_start(k.vtn);
    k9_start(&k);
    while (n < PRICE_SAMPLES && mono_s() - t0 < 27) {
        serve_ms(&k, 100);
        if (status_price(status, &smp[n].price, &smp[n].battery) == 0)
            smp[n++].t = mono_s() - t0;
    }
    CU_ASSERT_TRUE(stop_gateway(k.pid));
    /* each window begins 3 s after its change on T0's clock (a policy tick, the battery's 1 s ramp,
     * the status file's half second, the VEN's 1 s poll, the head-ends' start a little after T0) and
     * ends 1.5 s before the next (the event's times are whole seconds: up to 1 s early); the tariff's
     * price is known within 5 s */
    for (size_t i = 0; i < n; i++) {
        double t = smp[i].t, p = smp[i].price, b = smp[i].battery;
        int tariff = fabs(p - 0.05) < 1e-6 && b <= -4000, peak = fabs(p - 0.45) < 1e-6 && b >= 4000;
        if (t >= 5 && t < 8.5)
            before += tariff, bad += !tariff;
        else if (t >= 13 && t < 18.5)
            during += peak, bad += !peak;
        else if (t >= 23)
            after += tariff, bad += !tariff;
    }
    if (bad)
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%5.1f s: price %g, battery %.0f W\n", smp[i].t, smp[i].price, smp[i].battery);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(before >= 20);
    CU_ASSERT(during >= 30);
    CU_ASSERT(after >= 20);
    /* the interval answered (PriceResponse received), the event opted into */
    {
        size_t ne, dropped, prsp = 0, created = 0;
        const cf_exchange_t *ex = cf_server_exchanges(k.sep, &ne, &dropped);
        for (size_t i = 0; i < ne; i++)
            prsp += strcmp(ex[i].path, "/rsp/prc") == 0 && strstr(ex[i].body, "7D000000000000000000000000000001") &&
                    strstr(ex[i].body, "<status>1</status>");
        ex = cf_server_exchanges(k.vtn, &ne, &dropped);
        for (size_t i = 0; i < ne; i++)
            created += strstr(ex[i].body, "oadrCreatedEvent") && strstr(ex[i].body, "EV-PEAK") &&
                       strstr(ex[i].body, "optIn");
        CU_ASSERT_EQUAL(prsp, 1);
        CU_ASSERT(created >= 1);
    }
    heads_close(&k, failures0);
}

/* --- a device that fails ------------------------------------------------------------------------ */

/* The status file's gateway.mode into MODE and its time; 0 or -1. */
static int status_mode(const char *path, char *mode, size_t size, double *t)
{
    json_t *j = json_load_file(path, 0, NULL);
    const char *m;
    if (!j)
        return -1;
    m = json_string_value(json_object_get(json_object_get(j, "gateway"), "mode"));
    snprintf(mode, size, "%s", m ? m : "");
    *t = json_number_value(json_object_get(j, "time"));
    json_decref(j);
    return 0;
}

/* Wait up to MS for the mode to be (WANT = 1) or not be (WANT = 0) MODE. */
static int wait_mode(const char *path, const char *mode, int want, int ms)
{
    char m[64];
    double t;
    for (int waited = 0; waited <= ms; waited += 100) {
        if (status_mode(path, m, sizeof(m), &t) == 0 && m[0] && (strcmp(m, mode) == 0) == want)
            return 1;
        usleep(100000);
    }
    return 0;
}

static int file_has(const char *path, const char *text)
{
    char *cat[] = { "/bin/cat", (char *)path, NULL };
    proc_result_t r;
    int has = proc_run(cat, NULL, 10000, &r) == 0 && strstr(r.out, text) != NULL;
    proc_result_free(&r);
    return has;
}

/* --- a full state dir --------------------------------------------------------------------------- */

/* The state dir refuses writes (the daemon may not grow a file past the size its write-ahead log
 * has: SQLite meets EFBIG exactly as it meets ENOSPC on a full disk, and this needs no root): the
 * daemon says why, keeps running and controlling the home, does not flood the log, and stores
 * again once writes work. */
static void test_full_state_dir(void)
{
    unsigned failures0 = CU_get_number_of_failures();
    char dir[] = "/tmp/ge-gw-full-XXXXXX", cfg[128], status[128], log[128], text[1024], mode[64];
    double t1, t2;
    struct rlimit small = { 0, RLIM_INFINITY }, lifted;
    struct stat sb;
    int st;
    pid_t pid;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(cfg, sizeof(cfg), "%s/gridedge.ini", dir);
    snprintf(status, sizeof(status), "%s/status.json", dir);
    snprintf(log, sizeof(log), "%s/gateway.log", dir);
    snprintf(text, sizeof(text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = 0\nadapter = sim\n", dir, status);
    write_file(cfg, text);
    /* a first run leaves a database whose write-ahead log is longer than the limit */
    for (int run = 0; run < 2; run++) {
        unlink(status);
        pid = spawn_gateway(cfg, log, NULL, run ? &small : NULL);
        CU_ASSERT(wait_mode(status, "", 0, 10000));
        if (run == 0) {
            char wal[160];
            usleep(300000);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            /* the log is there to be recovered from, and the next write would append to it */
            snprintf(wal, sizeof(wal), "%s/state/gridedge.db-wal", dir);
            CU_ASSERT_EQUAL_FATAL(stat(wal, &sb), 0);
            small.rlim_cur = (rlim_t)sb.st_size + 64;
            CU_ASSERT(sb.st_size >= 32768); /* the shared-memory index must fit too */
        }
    }
    usleep(1000000);
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(file_has(log, "the database reached the file size limit"));
    CU_ASSERT(file_has(log, "still controlling the devices, retrying every"));
    /* the home is still being run: the status file keeps coming */
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t1), 0);
    usleep(6000000);
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t2), 0);
    CU_ASSERT(t2 > t1 + 3);
    CU_ASSERT_STRING_NOT_EQUAL(mode, "device fault");
    {
        /* a failed write is retried every 5 s: a handful of lines, not one per tick */
        char *grep[] = { "/bin/grep", "-c", "storing history", log, NULL };
        proc_result_t r;
        CU_ASSERT_EQUAL(proc_run(grep, NULL, 10000, &r), 0);
        CU_ASSERT(atoi(r.out) >= 1 && atoi(r.out) <= 4);
        proc_result_free(&r);
    }
    /* space again: the next retry stores */
    lifted.rlim_cur = lifted.rlim_max = RLIM_INFINITY;
    CU_ASSERT_EQUAL(prlimit(pid, RLIMIT_FSIZE, &lifted, NULL), 0);
    for (int i = 0; i < 80 && !file_has(log, "the state dir takes writes again"); i++)
        usleep(100000);
    CU_ASSERT(file_has(log, "the state dir takes writes again; history stored"));
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT_TRUE(stop_gateway(pid));

    /* full from the start (the database cannot even be opened): the home is run all the same,
     * without the state, until it opens */
    small.rlim_cur = 8192;
    unlink(status);
    pid = spawn_gateway(cfg, log, NULL, &small);
    CU_ASSERT(wait_mode(status, "", 0, 10000));
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(file_has(log, "controlling the devices without it (nothing is kept across a restart)"));
    CU_ASSERT_EQUAL(prlimit(pid, RLIMIT_FSIZE, &lifted, NULL), 0);
    for (int i = 0; i < 80 && !file_has(log, "/state is open now"); i++)
        usleep(100000);
    CU_ASSERT(file_has(log, "/state is open now"));
    CU_ASSERT_TRUE(stop_gateway(pid));
    finish(failures0, log, dir);
}

#ifdef GE_HAVE_LIBMODBUS
/* A gateway in DIR (gridedge.ini, state/) driving the SunSpec device SIM; its status file and log
 * are DIR/status.json and DIR/gateway.log (into STATUS and LOG, 128 bytes each). */
static pid_t spawn_sunspec_gateway(const char *dir, sunspec_sim_t *sim, char *status, char *log)
{
    char cfg[128], text[1024];

    snprintf(cfg, sizeof(cfg), "%s/gridedge.ini", dir);
    snprintf(status, 128, "%s/status.json", dir);
    snprintf(log, 128, "%s/gateway.log", dir);
    snprintf(text, sizeof(text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = 0\nadapter = sunspec\n"
             "[sunspec]\nhost = 127.0.0.1\nport = %d\ntimeout_ms = 300\n",
             dir, status, ssim_port(sim));
    write_file(cfg, text);
    return spawn_gateway(cfg, log, NULL, NULL);
}

/* The storage controls the driver wrote (model 124: StorCtl_Mod, OutWRte, InWRte). */
static void storage_controls(sunspec_sim_t *sim, uint16_t out[3])
{
    out[0] = ssim_get(sim, 124, 3);
    out[1] = ssim_get(sim, 124, 10);
    out[2] = ssim_get(sim, 124, 11);
}

/* A SunSpec device that answers garbage, then stops answering: each is logged with the reason, the
 * daemon keeps running and writing its status ("device fault"), the device keeps the last valid
 * setpoint (sent again, never a decision made on a reading we do not have), and when the device
 * is back the gateway carries on. */
static void test_device_faults(void)
{
    unsigned failures0 = CU_get_number_of_failures();
    char dir[] = "/tmp/ge-gw-dev-XXXXXX", status[128], log[128], mode[64];
    sunspec_sim_t *sim = NULL;
    ssim_opts_t o;
    uint16_t before[3], again[3], during[3], chastate;
    double t1, t2;
    long requests;
    int st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    ssim_opts_default(&o);
    CU_ASSERT_EQUAL_FATAL(ssim_start(&sim, &o), 0);
    pid_t pid = spawn_sunspec_gateway(dir, sim, status, log);
    CU_ASSERT(wait_mode(status, "device fault", 0, 10000));
    usleep(1500000);
    storage_controls(sim, before);
    usleep(1000000);
    storage_controls(sim, again);
    CU_ASSERT(memcmp(before, again, sizeof(before)) == 0); /* a steady setpoint to hold */

    /* garbage: a state of charge of 3276.7 % */
    chastate = ssim_get(sim, 124, 20);
    ssim_set(sim, 124, 20, 0x7FFF);
    CU_ASSERT(wait_mode(status, "device fault", 1, 5000));
    requests = ssim_requests(sim);
    usleep(1500000);
    storage_controls(sim, during);
    CU_ASSERT(memcmp(before, during, sizeof(before)) == 0);
    CU_ASSERT(ssim_requests(sim) > requests); /* retried */
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(file_has(log, "point ChaState: garbage"));
    CU_ASSERT(file_has(log, "device: reading failed: device error; holding the last valid setpoint, retrying"));
    ssim_set(sim, 124, 20, chastate);
    CU_ASSERT(wait_mode(status, "device fault", 0, 10000));
    CU_ASSERT(file_has(log, "device: answering again"));

    /* silence: every request times out */
    ssim_fault(sim, SSIM_FAULT_SILENT, -1);
    CU_ASSERT(wait_mode(status, "device fault", 1, 5000));
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t1), 0);
    usleep(2500000);
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t2), 0);
    CU_ASSERT_STRING_EQUAL(mode, "device fault");
    CU_ASSERT(t2 > t1); /* still running, still writing its status */
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(file_has(log, "device: reading failed: timed out"));
    ssim_fault(sim, SSIM_FAULT_NONE, 0);
    CU_ASSERT(wait_mode(status, "device fault", 0, 20000));
    storage_controls(sim, again);
    CU_ASSERT(memcmp(before, again, sizeof(before)) == 0);

    CU_ASSERT_TRUE(stop_gateway(pid));
    ssim_stop(sim);
    finish(failures0, log, dir);
}

/* The SunSpec device is away when the gateway starts: the gateway starts all the same, says
 * "device unavailable" in its status, applies nothing, and takes the device up when it appears
 * (the driver retries with backoff); a device that goes away mid-run is reconnected to. */
static void test_device_absent_at_start(void)
{
    unsigned failures0 = CU_get_number_of_failures();
    char dir[] = "/tmp/ge-gw-absent-XXXXXX", status[128], log[128], mode[64];
    sunspec_sim_t *sim = NULL;
    ssim_opts_t o;
    double t1, t2;
    long requests, conns;
    int st;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    ssim_opts_default(&o);
    CU_ASSERT_EQUAL_FATAL(ssim_start(&sim, &o), 0);
    ssim_set_online(sim, 0); /* its port is known, nothing listens on it yet */
    pid_t pid = spawn_sunspec_gateway(dir, sim, status, log);
    CU_ASSERT(wait_mode(status, "device unavailable", 1, 10000));
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t1), 0);
    usleep(2500000);
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t2), 0);
    CU_ASSERT_STRING_EQUAL(mode, "device unavailable");
    CU_ASSERT(t2 > t1); /* running, writing its status */
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(file_has(log, "starting without it, keeping everything idle until it answers"));
    CU_ASSERT_EQUAL(ssim_requests(sim), 0); /* nothing reached a device that is not there */
    {
        json_t *j = json_load_file(status, 0, NULL);
        const char *why = json_string_value(json_object_get(json_object_get(j, "gateway"), "reason"));
        CU_ASSERT_PTR_NOT_NULL(why ? strstr(why, "not answering") : NULL);
        json_decref(j);
    }

    /* the device appears: within the backoff (at most 10 s) the gateway drives it */
    ssim_set_online(sim, 1);
    CU_ASSERT(wait_mode(status, "device unavailable", 0, 15000));
    CU_ASSERT_EQUAL(status_mode(status, mode, sizeof(mode), &t1), 0);
    CU_ASSERT_STRING_NOT_EQUAL(mode, "device fault");
    CU_ASSERT(file_has(log, "device: answering now"));
    requests = ssim_requests(sim);
    usleep(1500000);
    CU_ASSERT(ssim_requests(sim) > requests); /* read and driven every tick */
    /* StorCtl_Mod (0 at power-up): the gateway's decision is written now */
    CU_ASSERT(ssim_get(sim, 124, 3) >= 1 && ssim_get(sim, 124, 3) <= 3);

    /* it goes away mid-run: a device fault, the gateway keeps running; back: reconnected */
    conns = ssim_connections(sim);
    ssim_set_online(sim, 0);
    CU_ASSERT(wait_mode(status, "device fault", 1, 5000));
    usleep(2000000);
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    ssim_set_online(sim, 1);
    CU_ASSERT(wait_mode(status, "device fault", 0, 15000));
    CU_ASSERT(ssim_connections(sim) > conns);
    CU_ASSERT(file_has(log, "device: answering again"));

    CU_ASSERT_TRUE(stop_gateway(pid));
    ssim_stop(sim);
    finish(failures0, log, dir);
}
#endif

int test_register(void)
{
    static const test_case_t cases[] = {
        { "config error exits 2", test_config_error_exit_2 },
        { "daemon", test_daemon },
        { "kill -9 loses and repeats nothing acknowledged", test_kill9 },
        { "prices from a CSIP-AUS v1.3 tariff and an OpenADR event together", test_tariff_and_openadr_price },
        { "a full state dir: logged, still controlling, stored later", test_full_state_dir },
#ifdef GE_HAVE_LIBMODBUS
        { "a device that answers garbage or times out", test_device_faults },
        { "a device away at start, then gone and back", test_device_absent_at_start },
#endif
        { NULL, NULL },
    };
    return test_add_suite("gateway", cases);
}
