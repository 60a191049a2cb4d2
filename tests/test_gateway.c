/* test_gateway.c - `gridedge gateway --config FILE` end to end: config errors, the daemon running
 * the simulated home with its status file and status page, SIGHUP with a bad file (kept running),
 * SIGTERM (clean exit). */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "runner.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
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

/* GET PATH from 127.0.0.1:PORT; the whole response (headers and body) in BUF. */
static int http_get(int port, const char *path, char *buf, size_t size)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    char req[256];
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
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
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

static void test_daemon(void)
{
    char dir[] = "/tmp/ge-gw-XXXXXX", cfg[1100], conf_text[2048], status[1100], buf[65536];
    int port = free_port();
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    CU_ASSERT_FATAL(port > 0);
    snprintf(cfg, sizeof(cfg), "%s/gridedge.ini", dir);
    snprintf(status, sizeof(status), "%s/status.json", dir);
    snprintf(conf_text, sizeof(conf_text),
             "[gateway]\nstate_dir = %s/state\nstatus_file = %s\nstatus_port = %d\nlog_level = info\nadapter = sim\n"
             "[policy]\ncharge_below = 0.10\ndischarge_above = 0.30\n[sim]\nseed = 7\n",
             dir, status, port);
    write_file(cfg, conf_text);

    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(proc_gridedge(), proc_gridedge(), "gateway", "--config", cfg, (char *)NULL);
        _exit(127);
    }
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

    /* SIGHUP with a broken file: reported, the daemon keeps running as it was */
    write_file(cfg, "[gateway]\nstatus_port = lots\n");
    kill(pid, SIGHUP);
    usleep(800000);
    int st;
    CU_ASSERT_EQUAL(waitpid(pid, &st, WNOHANG), 0);
    CU_ASSERT(http_get(port, "/status.json", buf, sizeof(buf)) > 0);

    /* SIGTERM: a clean exit with status 0, the status file flushed */
    kill(pid, SIGTERM);
    int done = 0;
    for (int i = 0; i < 100 && !done; i++) {
        usleep(50000);
        done = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    CU_ASSERT_TRUE(done);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *rm[] = { "/bin/rm", "-rf", dir, NULL };
    proc_result_t r;
    proc_run(rm, NULL, 10000, &r);
    proc_result_free(&r);
}

int test_register(void)
{
    static const test_case_t cases[] = {
        { "config error exits 2", test_config_error_exit_2 },
        { "daemon", test_daemon },
        { NULL, NULL },
    };
    return test_add_suite("gateway", cases);
}
