/* proc.c - run a child process with captured output and a time bound (see proc.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "proc.h"

const char *proc_gridedge(void)
{
    const char *p = getenv("GRIDEDGE");
    return p && *p ? p : "./gridedge";
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int append(char **buf, size_t *len, const char *data, size_t n)
{
    char *p = realloc(*buf, *len + n + 1);
    if (!p)
        return -1;
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
    return 0;
}

int proc_run(char *const argv[], const char *stdin_data, int timeout_ms, proc_result_t *res)
{
    int in[2], out[2], err[2];
    pid_t pid;
    long deadline = now_ms() + timeout_ms;
    size_t in_off = 0, in_len = stdin_data ? strlen(stdin_data) : 0;
    int wstatus = 0;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    res->out = calloc(1, 1);
    res->err = calloc(1, 1);
    if (!res->out || !res->err)
        return -1;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (in_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    signal(SIGPIPE, SIG_IGN);
    while (out[0] >= 0 || err[0] >= 0) {
        struct pollfd fds[3] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 }, { in[1], POLLOUT, 0 } };
        long left = deadline - now_ms();
        if (left <= 0) {
            res->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 3, (int)left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                char chunk[4096];
                ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
                if (n > 0) {
                    if (i == 0)
                        append(&res->out, &res->out_len, chunk, (size_t)n);
                    else
                        append(&res->err, &res->err_len, chunk, (size_t)n);
                } else if (n == 0 || errno != EINTR) {
                    close(fds[i].fd);
                    if (i == 0)
                        out[0] = -1;
                    else
                        err[0] = -1;
                }
            }
        }
        if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in[1], stdin_data + in_off, in_len - in_off);
            if (n > 0)
                in_off += (size_t)n;
            if (n < 0 || in_off == in_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    if (out[0] >= 0)
        close(out[0]);
    if (err[0] >= 0)
        close(err[0]);
    if (in[1] >= 0)
        close(in[1]);
    if (waitpid(pid, &wstatus, 0) < 0)
        return -1;
    if (WIFEXITED(wstatus))
        res->status = WEXITSTATUS(wstatus);
    else if (WIFSIGNALED(wstatus))
        res->status = 128 + WTERMSIG(wstatus);
    return 0;
}

void proc_result_free(proc_result_t *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

void proc_expect_usage(const char *const *args)
{
    char *argv[32] = { (char *)proc_gridedge() };
    proc_result_t r;
    size_t n = 1;

    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, NULL, 10000, &r), 0);
    if (r.status != 2 || !strstr(r.err, "usage:")) {
        fprintf(stderr, "gridedge");
        for (size_t i = 1; i < n; i++)
            fprintf(stderr, " '%s'", argv[i]);
        fprintf(stderr, ": exit %d, not 2 with a usage message: %s\n", r.status, r.err);
    }
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "usage:"));
    proc_result_free(&r);
}

proc_result_t proc_expect_passes(char *const *argv, const char *const *ids, size_t n, int timeout_ms)
{
    proc_result_t r;
    char want[96];

    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(proc_run(argv, NULL, timeout_ms, &r), 0);
    if (!r.out || !r.err) {
        r.status = -1;
        return r;
    }
    if (r.status != 0)
        fprintf(stderr, "%s%s", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(want, sizeof(want), "PASS %s ", ids[i]);
        if (!strstr(r.out, want))
            fprintf(stderr, "missing: %s\n", want);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    }
    snprintf(want, sizeof(want), "conformance: %zu passed, 0 failed, 0 skipped\n", n);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    return r;
}
