/* test_oadr3_run.c - `gridedge oadr run --version 3.0` end to end: the real program against our own
 * conformance head-end playing an OpenADR 3.0 VTN on 127.0.0.1, a client that does nothing
 * against the same cases, webhook delivery (a small VTN in this test takes the VEN's
 * subscription and POSTs an event notification to its callback URL), and an https VTN (a case of
 * the suite played with `scheme https`). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include <gridedge/http.h>

#include "proc.h"
#include "runner.h"

static const char *const oadr3_client[] = { "oadr", "run", "--version", "3.0", "--vtn", "{url}", "--ven-name",
                                            "{ven_name}", "--client-id", "{client_id}", "--client-secret",
                                            "{client_secret}", "--state-dir", "{state_dir}", "--status-file",
                                            "{status_file}", "--duration", "{duration}", NULL };

/* Token renewal, paging, reports and subscriptions over the network (the other cases are played
 * in simulated time by test_oadr3). */
static void test_oadr3_cases(void)
{
    static const char *const ids[] = { "GE-OADR3-AUTH-002", "GE-OADR3-PROG-001", "GE-OADR3-RPT-001",
                                       "GE-OADR3-SUB-001" };
    char *argv[64] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr3" };
    size_t n = 5;
    proc_result_t r;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        argv[n++] = "--case";
        argv[n++] = (char *)ids[i];
    }
    argv[n++] = "--";
    argv[n++] = (char *)proc_gridedge();
    for (size_t i = 0; oadr3_client[i]; i++)
        argv[n++] = (char *)oadr3_client[i];
    argv[n] = NULL;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 300000, &r), 0);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "PASS %s ", ids[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 4 passed, 0 failed, 0 skipped\n"));
    proc_result_free(&r);
}

/* A client that does nothing fails every oadr3 case. */
static void test_idle_client_fails(void)
{
    char *argv[] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr3", "--", "true", NULL };
    proc_result_t r;

    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 120000, &r), 0);
    CU_ASSERT_NOT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "conformance: 0 passed, 11 failed, 0 skipped\n"));
    proc_result_free(&r);
}

/* ---- webhook delivery ------------------------------------------------------------------------- */

typedef struct vtn {
    struct event_base *base;
    ge_http_server_t *srv;
    char callback[256];
    char bearer[128];
    int listed;          /* the event is in GET /events from now on */
    int deleted;         /* DELETE /subscriptions/s1 seen */
    unsigned requests;
} vtn_t;

#define HOOK_EVENT                                                                                                \
    "{\"id\":\"evt-hook\",\"objectType\":\"EVENT\",\"programID\":\"prog-1\",\"intervalPeriod\":{\"start\":"    \
    "\"2020-01-01T00:00:00Z\",\"duration\":\"PT0S\"},\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"SIMPLE\"," \
    "\"values\":[2]}]}]}"

static void vtn_handle(void *ud, ge_http_exchange_t *ex)
{
    vtn_t *v = ud;
    const char *m = ge_http_method(ex), *p = ge_http_path(ex), *auth = ge_http_header(ex, "Authorization");
    const char *body = NULL;
    int status = 200;

    v->requests++;
    if (strcmp(p, "/openadr3/auth/token") == 0) {
        body = "{\"access_token\":\"T\",\"token_type\":\"Bearer\"}";
    } else if (!auth || strcmp(auth, "Bearer T") != 0) {
        status = 401;
    } else if (strncmp(p, "/openadr3/vens/v1/resources", 27) == 0) {
        body = "[{\"id\":\"r1\",\"resourceName\":\"pv\"},{\"id\":\"r2\",\"resourceName\":\"battery\"},"
               "{\"id\":\"r3\",\"resourceName\":\"ev\"}]";
    } else if (strncmp(p, "/openadr3/vens", 14) == 0) {
        body = "[{\"id\":\"v1\",\"venName\":\"ven-hook\"}]";
    } else if (strncmp(p, "/openadr3/programs", 18) == 0) {
        body = "[{\"id\":\"prog-1\",\"programName\":\"p\"}]";
    } else if (strncmp(p, "/openadr3/events", 16) == 0) {
        body = v->listed ? "[" HOOK_EVENT "]" : "[]";
    } else if (strcmp(m, "POST") == 0 && strcmp(p, "/openadr3/subscriptions") == 0) {
        size_t len = 0;
        const char *b = ge_http_body(ex, &len);
        json_t *j = b ? json_loadb(b, len, 0, NULL) : NULL;
        json_t *op = json_array_get(json_object_get(j, "objectOperations"), 0);
        const char *cb = json_string_value(json_object_get(op, "callbackUrl"));
        const char *bt = json_string_value(json_object_get(op, "bearerToken"));
        if (cb && bt) {
            snprintf(v->callback, sizeof(v->callback), "%s", cb);
            snprintf(v->bearer, sizeof(v->bearer), "%s", bt);
        }
        json_decref(j);
        status = 201;
        body = "{\"id\":\"s1\",\"clientName\":\"ven-hook\",\"programID\":\"prog-1\",\"objectOperations\":[]}";
    } else if (strcmp(m, "DELETE") == 0 && strcmp(p, "/openadr3/subscriptions/s1") == 0) {
        v->deleted = 1;
        status = 204;
    } else {
        status = 404;
    }
    ge_http_reply(ex, status, body ? "application/json" : NULL, body, body ? strlen(body) : 0);
}

/* POST BODY to the VEN's webhook URL with "Authorization: Bearer TOKEN"; the HTTP status. */
static int notify(const char *url, const char *token, const char *body)
{
    unsigned port = 0;
    char path[128], req[4096], resp[512];
    struct sockaddr_in sa;
    int fd, status = -1;
    ssize_t n;

    if (sscanf(url, "http://127.0.0.1:%u%127s", &port, path) != 2)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    n = snprintf(req, sizeof(req),
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\nContent-Type: application/json"
                 "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 path, port, token, strlen(body), body);
    if (write(fd, req, (size_t)n) == n && (n = read(fd, resp, sizeof(resp) - 1)) > 0) {
        resp[n] = '\0';
        sscanf(resp, "HTTP/1.%*d %d", &status);
    }
    close(fd);
    return status;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(65536);
    size_t n = 0;

    if (f && buf)
        n = fread(buf, 1, 65535, f);
    if (f)
        fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_loop_for(vtn_t *v, double s)
{
    struct timeval tv = { (long)s, (long)((s - (long)s) * 1e6) };
    event_base_loopexit(v->base, &tv);
    event_base_dispatch(v->base);
}

static void test_webhook_delivery(void)
{
    char dir[] = "/tmp/ge-oadr3-hook-XXXXXX", status_file[600], url[128], note[2048];
    ge_http_server_opts_t so;
    vtn_t v;
    pid_t pid;
    double t0;
    int st = 0, seen = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(status_file, sizeof(status_file), "%s/status.json", dir);
    memset(&v, 0, sizeof(v));
    v.base = event_base_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(v.base);
    memset(&so, 0, sizeof(so));
    so.handler = vtn_handle;
    so.ud = &v;
    CU_ASSERT_EQUAL_FATAL(ge_http_server_new(&v.srv, v.base, &so), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/openadr3", (unsigned)ge_http_server_port(v.srv));
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        execl(proc_gridedge(), proc_gridedge(), "oadr", "run", "--version", "3.0", "--vtn", url, "--ven-name",
              "ven-hook", "--client-id", "c", "--client-secret", "s", "--status-file", status_file, "--duration", "8",
              (char *)NULL);
        _exit(127);
    }
    /* the VEN subscribes with its webhook */
    t0 = mono();
    while (!v.callback[0] && mono() - t0 < 5)
        run_loop_for(&v, 0.1);
    CU_ASSERT_FATAL(v.callback[0] != '\0');
    CU_ASSERT_PTR_NOT_NULL(strstr(v.callback, "http://127.0.0.1:"));
    /* a notification without the bearer token it gave is refused; with it, the event applies at once
     * (the next poll is 10 s away) */
    snprintf(note, sizeof(note), "{\"objectType\":\"EVENT\",\"operation\":\"POST\",\"object\":%s}", HOOK_EVENT);
    CU_ASSERT_EQUAL(notify(v.callback, "wrong", note), 401);
    v.listed = 1;
    CU_ASSERT_EQUAL(notify(v.callback, v.bearer, note), 200);
    CU_ASSERT_EQUAL(notify(v.callback, v.bearer, "{\"objectType\":"), 400);
    t0 = mono();
    while (!seen && mono() - t0 < 4) {
        char *s;
        run_loop_for(&v, 0.25);
        s = slurp(status_file);
        seen = s && strstr(s, "\"id\":\"evt-hook\"") != NULL;
        free(s);
    }
    CU_ASSERT(seen);
    /* at the end of --duration the VEN deletes its subscription and exits 0 */
    t0 = mono();
    while (waitpid(pid, &st, WNOHANG) == 0 && mono() - t0 < 15)
        run_loop_for(&v, 0.1);
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT(v.deleted);
    ge_http_server_free(v.srv);
    event_base_free(v.base);
    unlink(status_file);
    rmdir(dir);
}

static void test_usage(void)
{
    static const char *bad[][12] = {
        { "oadr", "run", "--version", "3.0", "--vtn", "http://127.0.0.1:1/openadr3", NULL },
        { "oadr", "run", "--version", "3.0", "--vtn", "http://127.0.0.1:1/openadr3", "--ven-name", "v", "--client-id",
          "c", NULL },
        { "oadr", "run", "--version", "3.0", "--vtn", "http://127.0.0.1:1/openadr3", "--ven-name", "v", "--token", "t",
          "--client-id", NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[14] = { (char *)proc_gridedge() };
        proc_result_t r;
        for (int k = 0; bad[i][k]; k++)
            argv[k + 1] = (char *)bad[i][k];
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        proc_result_free(&r);
    }
    /* a certificate without its key is a usage error; a CA file that cannot be read says so, exit 1 */
    {
        char *argv[] = { (char *)proc_gridedge(), "oadr", "run", "--version", "3.0", "--vtn", "https://127.0.0.1:1/x",
                         "--ven-name", "v", "--cert", "/nonexistent/c.pem", NULL };
        proc_result_t r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--cert and --key go together"));
        proc_result_free(&r);
    }
    {
        char *argv[] = { (char *)proc_gridedge(), "oadr", "run", "--version", "3.0", "--vtn", "https://127.0.0.1:1/x",
                         "--ven-name", "v", "--ca", "/nonexistent/ca.pem", "--duration", "1", NULL };
        proc_result_t r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "TLS (modern profile) with CA /nonexistent/ca.pem"));
        proc_result_free(&r);
    }
}

/* ---- https: an oadr3 case with the head-end serving TLS (the "modern" profile) ------------------ */

static const char *srcdir(void)
{
    const char *s = getenv("GE_SRCDIR");
    return s && *s ? s : GE_SRCDIR;
}

/* DIR gets a copy of the built-in case ID with "scheme https" and TLS evidence expectations added. */
static int https_case(const char *dir, const char *id)
{
    char src[1024], dst[1024];
    char *text;
    FILE *f;
    int ok;

    snprintf(src, sizeof(src), "%s/conformance/cases/oadr3/%s.case", srcdir(), id);
    snprintf(dst, sizeof(dst), "%s/%s.case", dir, id);
    if (!(text = slurp(src)) || !(f = fopen(dst, "w"))) {
        free(text);
        return -1;
    }
    ok = fprintf(f, "%s\nscheme https\nexpect handshake completed has \"TLSv1.3\"\n"
                    "expect no-handshake refused\nexpect no-handshake failed\n", text) > 0;
    ok = fclose(f) == 0 && ok;
    free(text);
    return ok ? 0 : -1;
}

/* Play the https copy of GE-OADR3-VEN-001 in DIR against the VEN with CA_ARGS (up to two
 * arguments, NULL-ended) for its trust. */
static void run_https_case(const char *dir, const char *const *ca_args, proc_result_t *r)
{
    char *argv[40] = { (char *)proc_gridedge(), "conformance", "run", "--suite", "oadr3", "--case-dir", (char *)dir,
                       "--case", "GE-OADR3-VEN-001", "--", (char *)proc_gridedge(), "oadr", "run", "--version",
                       "3.0", "--vtn", "{url}", "--ven-name", "{ven_name}", "--client-id", "{client_id}",
                       "--client-secret", "{client_secret}", "--status-file", "{status_file}", "--duration",
                       "{duration}" };
    size_t n = 0;

    while (argv[n])
        n++;
    for (size_t i = 0; ca_args[i] && i < 2; i++)
        argv[n++] = (char *)ca_args[i];
    argv[n] = NULL;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 120000, r), 0);
}

/* The VEN against an https VTN, the modern profile: with the head-end's CA alone (no client
 * certificate) it registers as over http, over TLS 1.3; with a CA that did not issue the VTN's
 * certificate, or with only the system's trust store (which does not know the test CA), it sends
 * nothing and exits 1. */
static void test_https_vtn(void)
{
    char dir[] = "/tmp/ge-oadr3-tls-XXXXXX", other[1100], ca[1200];
    const char *with_ca[] = { "--ca", "{ca}", NULL }, *with_other[] = { "--ca", ca, NULL }, *system[] = { NULL };
    const char *const *refused[] = { with_other, system };
    proc_result_t r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_EQUAL_FATAL(https_case(dir, "GE-OADR3-VEN-001"), 0);
    run_https_case(dir, with_ca, &r);
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "PASS GE-OADR3-VEN-001 "));
    proc_result_free(&r);
    snprintf(other, sizeof(other), "%s/other", dir);
    {
        char *pki[] = { (char *)proc_gridedge(), "pki", "init", other, NULL };
        CU_ASSERT_EQUAL_FATAL(proc_run(pki, NULL, 30000, &r), 0);
        CU_ASSERT_EQUAL(r.status, 0);
        proc_result_free(&r);
    }
    snprintf(ca, sizeof(ca), "%s/ca.pem", other);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        run_https_case(dir, refused[i], &r);
        CU_ASSERT_EQUAL(r.status, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "FAIL GE-OADR3-VEN-001 "));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "the client exited with status 1 without a request"));
        proc_result_free(&r);
    }
    {
        char *rm[] = { "/bin/rm", "-rf", dir, NULL };
        proc_run(rm, NULL, 10000, &r);
        proc_result_free(&r);
    }
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "usage", test_usage },
        { "webhook delivery", test_webhook_delivery },
        { "a client that does nothing fails", test_idle_client_fails },
        { "oadr3 cases against the head-end", test_oadr3_cases },
        { "an https VTN (modern TLS profile)", test_https_vtn },
        { NULL, NULL },
    };
    return test_add_suite("oadr run 3.0", cases);
}
