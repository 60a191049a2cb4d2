/* headend.c - serve one conformance case over HTTP(S) on 127.0.0.1 to a client under test, record
 * the exchanges, sample the client's status file, and judge (see headend.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/http.h>
#include <gridedge/oadr_sig.h>
#include <gridedge/pki.h>
#include <gridedge/tls.h>

#include "conformance/dnssd.h"
#include "conformance/headend.h"
#include "conformance/server.h"
#include "gateway/daemon.h"

#define MAX_SAMPLES 4000
#define EVIDENCE_BODY_MAX 4096
#define SAMPLE_PERIOD_S 0.25
#define RESTART_KILL_AFTER_S 5.0 /* a client that ignores the restart's SIGTERM this long gets SIGKILL */

typedef struct headend {
    const cf_run_opts_t *opts;
    const cf_case_t *c;
    struct event_base *base;
    cf_server_t *srv;
    cf_sample_t *samples;
    size_t n_samples, cap_samples;
    pid_t child;
    int child_status;
    int child_done;
    char status_file[600];
    struct event *tick;
    double end_t;             /* stop serving at this time */
    char **argv;              /* the client's command line (placeholders filled), for restarts */
    const char *log_path;
    unsigned char *done;      /* per case action: its `at T restart` / `at T fault-file` was done */
    char fault_file[600];     /* {fault_file} */
    char owner_file[600];     /* {state_dir}/owner.ini: the home owner's choices (`at T owner`) */
    int restarting;           /* the client was signalled by a restart and is not reaped yet */
    double restart_kill_t;    /* ... and gets SIGKILL at this time */
    cf_dnssd_responder_t *dnssd;
    oadr_sig_t *sig;          /* OpenADR XML signatures: signs (`sign-payloads`), verifies (`expect signed`) */
} headend_t;

static void sample_status(headend_t *he, double t)
{
    FILE *f;
    char *buf;
    size_t n;

    if (!he->status_file[0] || he->n_samples == MAX_SAMPLES)
        return;
    f = fopen(he->status_file, "rb");
    if (!f)
        return;
    buf = malloc(256 * 1024);
    if (!buf) {
        fclose(f);
        return;
    }
    n = fread(buf, 1, 256 * 1024 - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (he->n_samples == he->cap_samples) {
        size_t cap = he->cap_samples ? he->cap_samples * 2 : 64;
        cf_sample_t *s = realloc(he->samples, cap * sizeof(*s));
        if (!s) {
            free(buf);
            return;
        }
        he->samples = s;
        he->cap_samples = cap;
    }
    he->samples[he->n_samples].t = t;
    he->samples[he->n_samples].json = buf;
    he->n_samples++;
}

static int spawn(headend_t *he, char **argv, const char *log_path, int append);

/* `at T restart`: signal the client now; on_tick starts it again once it is reaped. */
static void restarts_due(headend_t *he, double t)
{
    for (size_t i = 0; i < he->c->n_actions; i++) {
        const cf_action_t *a = &he->c->actions[i];
        if (a->kind != CF_ACT_RESTART || he->done[i] || a->at > t || he->child_done || he->restarting)
            continue;
        he->done[i] = 1;
        he->restarting = 1;
        he->restart_kill_t = t + RESTART_KILL_AFTER_S;
        cf_server_record(he->srv, "RESTART", a->signal == SIGKILL ? "KILL" : "TERM", "", 0,
                         "the head-end stopped the client to start it again");
        kill(-he->child, a->signal);
    }
}

/* Replace PATH's content with TEXT (a line, unless TEXT is empty): a temporary file renamed over
 * it, so a reader sees the old content or the new, never a part.  0 or GE_ERR_IO. */
static int write_atomic(const char *path, const char *text)
{
    char tmp[700];
    FILE *f;
    int ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return GE_ERR_IO;
    ok = fputs(text, f) >= 0 && (!text[0] || fputc('\n', f) != EOF);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return GE_ERR_IO;
    }
    return 0;
}

/* `at T fault-file "TEXT"`: what a device simulator of the client under test reads to raise faults. */
static void fault_files_due(headend_t *he, double t)
{
    for (size_t i = 0; i < he->c->n_actions; i++) {
        const cf_action_t *a = &he->c->actions[i];
        if (a->kind != CF_ACT_FAULT_FILE || he->done[i] || a->at > t)
            continue;
        he->done[i] = 1;
        cf_server_record(he->srv, "FAULT-FILE", he->fault_file, a->body, write_atomic(he->fault_file, a->body),
                         "the head-end wrote the text to {fault_file}");
    }
}

/* `at T owner`: the home owner's choices, written as a home app would, into the client's state dir
 * (placeholders filled at T, as in a send's body). */
/* {start+N} and {isostart+N} name whole seconds: the case starts on one, so an event a case puts
 * at {isostart+N} comes at t = N, not up to a second before (the expectations' windows are in t). */
static void start_on_a_second(void)
{
    struct timespec now;

    if (clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_nsec > 0) {
        struct timespec rest = { 0, 1000000000L - now.tv_nsec };
        while (nanosleep(&rest, &rest) < 0 && errno == EINTR)
            ;
    }
}

static void owner_files_due(headend_t *he, double t)
{
    for (size_t i = 0; i < he->c->n_actions; i++) {
        const cf_action_t *a = &he->c->actions[i];
        cf_vars_t *vars = cf_server_vars(he->srv);
        ge_buf_t text;
        int rc;
        if (a->kind != CF_ACT_OWNER || he->done[i] || a->at > t)
            continue;
        he->done[i] = 1;
        ge_buf_init(&text, NULL, 0);
        vars->now = cf_server_start_time(he->srv) + t;
        rc = cf_substitute(a->body, a->body_len, vars, &text);
        if (rc == 0)
            rc = write_atomic(he->owner_file, ge_buf_str(&text));
        cf_server_record(he->srv, "OWNER", he->owner_file, rc == 0 ? ge_buf_str(&text) : a->body, rc,
                         "the head-end wrote the home owner's choices to {state_dir}/owner.ini");
        ge_buf_free(&text);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    headend_t *he = arg;
    double t = cf_server_elapsed(he->srv);
    (void)fd;
    (void)what;

    sample_status(he, t);
    if (!he->child_done) {
        int st;
        pid_t r = waitpid(he->child, &st, WNOHANG);
        if (r == he->child && he->restarting) {
            he->restarting = 0;
            if (spawn(he, he->argv, he->log_path, 1) < 0) {
                he->child_done = 1;
                he->child_status = st;
            }
        } else if (r == he->child) {
            he->child_done = 1;
            he->child_status = st;
        } else if (he->restarting && t >= he->restart_kill_t) {
            kill(-he->child, SIGKILL);
            he->restart_kill_t = he->end_t + 3600;
        }
    }
    restarts_due(he, t);
    fault_files_due(he, t);
    owner_files_due(he, t);
    /* A client that has exited sends nothing more: judge now rather than wait out the case. */
    if (t >= he->end_t || he->child_done)
        event_base_loopexit(he->base, NULL);
}

static void stop_child(headend_t *he)
{
    if (he->child <= 0 || he->child_done)
        return;
    kill(-he->child, SIGTERM);
    for (int i = 0; i < 50; i++) {
        int st;
        if (waitpid(he->child, &st, WNOHANG) == he->child) {
            he->child_done = 1;
            he->child_status = st;
            return;
        }
        if (he->base && he->srv) {
            /* keep serving while it stops: a client's goodbyes (e.g. deleting its subscriptions) are
             * part of what it does */
            struct timeval tv = { 0, 100000 };
            event_base_loopexit(he->base, &tv);
            event_base_dispatch(he->base);
        } else {
            usleep(100000);
        }
    }
    kill(-he->child, SIGKILL);
    waitpid(he->child, &he->child_status, 0);
    he->child_done = 1;
}

/* Replace the contract's placeholders in one argument. */
static char *subst_arg(const char *arg, const char *const *names, const char *const *values, size_t n)
{
    ge_buf_t b;
    const char *p = arg;

    ge_buf_init(&b, NULL, 64 * 1024);
    while (*p) {
        size_t k;
        if (*p == '{') {
            for (k = 0; k < n; k++) {
                size_t len = strlen(names[k]);
                if (strncmp(p + 1, names[k], len) == 0 && p[1 + len] == '}')
                    break;
            }
            if (k < n) {
                if (ge_buf_puts(&b, values[k]) < 0)
                    goto fail;
                p += strlen(names[k]) + 2;
                continue;
            }
        }
        if (ge_buf_putc(&b, *p++) < 0)
            goto fail;
    }
    if (!b.data && ge_buf_puts(&b, "") < 0)
        goto fail;
    return b.data;
fail:
    ge_buf_free(&b);
    return NULL;
}

static int spawn(headend_t *he, char **argv, const char *log_path, int append)
{
    pid_t pid = fork();

    if (pid < 0)
        return GE_ERR_IO;
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
        int null = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (null >= 0)
            dup2(null, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "conformance: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    he->child = pid;
    return 0;
}

static int ensure_pki(const char *dir, char lfdi[GE_LFDI_BUF], uint64_t *sfdi, const ge_log_t *log)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/client.pem", dir);
    if (access(path, R_OK) == 0)
        return ge_cert_file_ids(path, lfdi, sfdi);
    return ge_pki_init(dir, lfdi, sfdi, log);
}

/* A case's `server-chain SHAPE`: a chain of that shape under the PKI's root, in PKI/chain-SHAPE/ (new
 * keys every run); its server.pem and server.key paths into CERT and KEY. */
static int server_chain(const char *pki, const char *shape_name, char cert[700], char key[700], const ge_log_t *log)
{
    char dir[600], root[600], root_key[600];
    ge_pki_chain shape;

    if (ge_pki_chain_parse(shape_name, &shape) < 0)
        return GE_ERR_INVALID;
    snprintf(dir, sizeof(dir), "%s/chain-%s", pki, shape_name);
    snprintf(root, sizeof(root), "%s/ca.pem", pki);
    snprintf(root_key, sizeof(root_key), "%s/ca.key", pki);
    snprintf(cert, 700, "%s/server.pem", dir);
    snprintf(key, 700, "%s/server.key", dir);
    return ge_pki_issue_chain(shape, root, root_key, dir, NULL, log);
}

static int suite_https(const char *suite, int scheme)
{
    if (scheme != CF_SCHEME_DEFAULT)
        return scheme == CF_SCHEME_HTTPS;
    return strcmp(suite, "csip") == 0 || strcmp(suite, "csip-aus") == 0;
}

static char *evidence(const headend_t *he)
{
    json_t *arr = json_array();
    size_t n;
    const cf_exchange_t *ex = cf_server_exchanges(he->srv, &n, NULL);
    char *s;

    if (!arr)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t blen = strlen(ex[i].body);
        json_t *o = json_pack("{s:f, s:s, s:s, s:i, s:s%, s:s}", "t", ex[i].t, "method", ex[i].method, "path",
                              ex[i].path, "status", ex[i].status, "request", ex[i].body,
                              blen < EVIDENCE_BODY_MAX ? blen : (size_t)EVIDENCE_BODY_MAX, "reply",
                              cf_server_reply(he->srv, i));
        if (o)
            json_array_append_new(arr, o);
    }
    {
        /* then the TLS handshakes the client began: the trace of the certificate-path cases */
        const cf_handshake_t *hs = cf_server_handshakes(he->srv, &n);
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_pack("{s:f, s:s, s:s, s:s, s:s}", "t", hs[i].t, "method", "TLS", "path", "handshake",
                                  "outcome", cf_tls_outcome_name(hs[i].outcome), "detail", hs[i].detail);
            if (o)
                json_array_append_new(arr, o);
        }
    }
    s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

/* What {dnssd} stands for in a case without `dnssd`: the mDNS group, i.e. "discover as usual". */
#define CF_MDNS_GROUP "224.0.0.251:5353"

/* Each DNS-SD datagram becomes an exchange: "DNS" with the question's name as the path and "TYPE
 * name" as the body (status 0 answered, 3 not ours), or "DNS-MALFORMED" with why. */
static void on_dnssd(void *ud, const char *qname, int status, const char *why)
{
    headend_t *he = ud;
    const char *sp = strchr(qname, ' ');

    if (status < 0)
        cf_server_record(he->srv, "DNS-MALFORMED", "-", why, -1, "ignored");
    else
        cf_server_record(he->srv, "DNS", sp ? sp + 1 : qname, qname, status == 0 ? 0 : 3,
                         status == 0 ? "answered with PTR, SRV, TXT and A" : "not about our service: no answer");
}

/* `dnssd`: a responder announcing this head-end (its port, TLS or not, the case's dcap path). */
static int start_dnssd(headend_t *he, char *err, size_t errlen)
{
    const char *base = cf_server_base_url(he->srv), *url = cf_server_url(he->srv);
    const char *colon = strrchr(base, ':');
    cf_dnssd_service_t svc;
    int rc;

    memset(&svc, 0, sizeof(svc));
    svc.ipv4[0] = 127;
    svc.ipv4[3] = 1;
    svc.port = (uint16_t)(colon ? strtoul(colon + 1, NULL, 10) : 0);
    svc.https = strncmp(base, "https:", 6) == 0;
    svc.dcap = he->c->dnssd_dcap ? he->c->dnssd_dcap : url + strlen(base);
    if (!svc.dcap[0])
        svc.dcap = "/dcap";
    if ((rc = cf_dnssd_responder_new(&he->dnssd, he->base, &svc, on_dnssd, he)) < 0)
        snprintf(err, errlen, "cannot start the DNS-SD responder on 127.0.0.1: %s", ge_strerror(rc));
    return rc;
}

static void judge(headend_t *he, cf_outcome_t *out)
{
    cf_observed_t obs = { NULL, 0, he->samples, he->n_samples, cf_server_elapsed(he->srv),
                          cf_server_start_time(he->srv) };
    size_t passed = 0;

    obs.ex = cf_server_exchanges(he->srv, &obs.n_ex, NULL);
    out->result = CF_PASS;
    for (size_t i = 0; i < he->c->n_expects; i++) {
        /* `has` strings may name the run's identity ({lfdi}, {sfdi}, ...): fill them in first */
        cf_expect_t e = he->c->expects[i];
        ge_buf_t has[CF_MAX_HAS];
        char d[400];
        int ok;
        for (unsigned k = 0; k < e.n_has; k++) {
            ge_buf_init(&has[k], NULL, 4096);
            if (cf_substitute(e.has[k], strlen(e.has[k]), cf_server_vars(he->srv), &has[k]) == 0 && has[k].data)
                e.has[k] = has[k].data;
        }
        {
            size_t n_headers;
            const char *const *headers = cf_server_headers(he->srv, &n_headers);
            size_t n_hs;
            const cf_handshake_t *hs = cf_server_handshakes(he->srv, &n_hs);
            if (e.kind == CF_EXP_SIGNED) /* against the real clock: the client signs with it */
                ok = cf_expect_check_signed(&e, &obs, headers, n_headers, he->sig,
                                            cf_server_start_time(he->srv) - he->c->time_offset, d, sizeof(d));
            else
                ok = cf_expect_check_tls(&e, &obs, headers, n_headers, hs, n_hs, d, sizeof(d));
        }
        for (unsigned k = 0; k < e.n_has; k++)
            ge_buf_free(&has[k]);
        if (ok)
            passed++;
        else if (out->result == CF_PASS) {
            out->result = CF_FAIL;
            snprintf(out->detail, sizeof(out->detail), "line %u: %s", he->c->expects[i].line, d);
        }
    }
    {
        size_t n_headers;
        const char *const *headers = cf_server_headers(he->srv, &n_headers);
        char d[400];
        if (!cf_wire_check(he->opts->suite, &obs, headers, n_headers, d, sizeof(d)) && out->result == CF_PASS) {
            out->result = CF_FAIL;
            snprintf(out->detail, sizeof(out->detail), "%s", d);
        }
    }
    if (out->result == CF_PASS)
        snprintf(out->detail, sizeof(out->detail), "%zu expectation(s) met, %zu exchange(s)", passed, obs.n_ex);
    else if (obs.n_ex == 0 && he->child_done && WIFEXITED(he->child_status))
        snprintf(out->detail + strlen(out->detail), sizeof(out->detail) - strlen(out->detail),
                 " (the client exited with status %d without a request)", WEXITSTATUS(he->child_status));
}

static void headend_cleanup(headend_t *he)
{
    cf_dnssd_responder_free(he->dnssd);
    free(he->done);
    if (he->tick)
        event_free(he->tick);
    cf_server_free(he->srv);
    if (he->base)
        event_base_free(he->base);
    for (size_t i = 0; i < he->n_samples; i++)
        free((char *)he->samples[i].json);
    free(he->samples);
    oadr_sig_free(he->sig);
}

/* `sign-payloads` / `expect signed`: the head-end's signer (its server certificate) and verifier
 * (the run's CA, which issued the client's certificate too). */
static int make_signer(headend_t *he, const char *pki, char *err, size_t errlen)
{
    char cert[600], key[600], ca[600], why[300];
    int wanted = he->c->sign_payloads, rc;

    for (size_t i = 0; i < he->c->n_expects; i++)
        wanted |= he->c->expects[i].kind == CF_EXP_SIGNED;
    if (!wanted)
        return 0;
    snprintf(cert, sizeof(cert), "%s/server.pem", pki);
    snprintf(key, sizeof(key), "%s/server.key", pki);
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
    if ((rc = oadr_sig_new(&he->sig, cert, key, ca, why, sizeof(why))) < 0)
        snprintf(err, errlen, "XML signatures: %s", why);
    else /* each `expect signed` re-checks the recorded requests: no nonce memory across them */
        oadr_sig_set_nonce_memory(he->sig, 0);
    return rc;
}

int cf_run_case(const cf_run_opts_t *opts, const cf_case_info_t *info, const cf_case_t *c, cf_outcome_t *out)
{
    headend_t he;
    char pki[512], ca[600], cert[600], key[600], state_dir[512], log_path[600];
    char lfdi[GE_LFDI_BUF], sfdi_s[32], duration_s[32], chain_cert[700], chain_key[700], dnssd_s[32];
    uint64_t sfdi = 0;
    int rc;
    size_t argc = 0, dropped = 0;
    char **argv = NULL;
    struct timeval period = { 0, (long)(SAMPLE_PERIOD_S * 1e6) };
    cf_server_opts_t so;
    cf_vars_t *vars;

    memset(&he, 0, sizeof(he));
    memset(out, 0, sizeof(*out));
    he.opts = opts;
    he.c = c;
    if (strlen(opts->work_dir) > 400) {
        out->result = CF_FAIL;
        snprintf(out->detail, sizeof(out->detail), "the work directory's path is too long");
        return GE_ERR_INVALID;
    }
    snprintf(pki, sizeof(pki), "%s/pki", opts->work_dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
    snprintf(cert, sizeof(cert), "%s/client.pem", pki);
    snprintf(key, sizeof(key), "%s/client.key", pki);
    snprintf(state_dir, sizeof(state_dir), "%s/%s", opts->work_dir, info->id);
    snprintf(he.status_file, sizeof(he.status_file), "%s/status.json", state_dir);
    snprintf(he.fault_file, sizeof(he.fault_file), "%s/faults", state_dir);
    snprintf(he.owner_file, sizeof(he.owner_file), "%s/owner.ini", state_dir);
    snprintf(log_path, sizeof(log_path), "%s/client.log", state_dir);
    /* every case starts from a client with no state: what an earlier run left (a registration,
     * events already answered) would change what it does */
    gw_rm_tree(state_dir);
    if (mkdir(state_dir, 0700) < 0) {
        snprintf(out->detail, sizeof(out->detail), "cannot create %.300s: %s", state_dir, strerror(errno));
        out->result = CF_FAIL;
        return GE_ERR_IO;
    }
    if ((rc = ensure_pki(pki, lfdi, &sfdi, opts->log)) < 0) {
        snprintf(out->detail, sizeof(out->detail), "cannot make the test PKI in %.300s: %s", pki, ge_strerror(rc));
        out->result = CF_FAIL;
        return rc;
    }
    snprintf(sfdi_s, sizeof(sfdi_s), "%llu", (unsigned long long)sfdi);
    snprintf(duration_s, sizeof(duration_s), "%.0f", c->duration);
    if ((rc = make_signer(&he, pki, out->detail, sizeof(out->detail))) < 0) {
        out->result = CF_FAIL;
        return rc;
    }

    he.base = event_base_new();
    if (!he.base) {
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    memset(&so, 0, sizeof(so));
    so.suite = opts->suite;
    so.c = c;
    so.https = suite_https(opts->suite, c->scheme);
    so.pki_dir = pki;
    so.log = opts->log;
    if (c->server_chain && (rc = server_chain(pki, c->server_chain, chain_cert, chain_key, opts->log)) < 0) {
        snprintf(out->detail, sizeof(out->detail), "cannot issue the %s server chain in %.300s: %s", c->server_chain,
                 pki, ge_strerror(rc));
        goto fail;
    }
    if (c->server_chain) {
        so.cert_file = chain_cert;
        so.key_file = chain_key;
    }
    if ((rc = cf_server_new(&he.srv, he.base, &so, out->detail, sizeof(out->detail))) < 0)
        goto fail;
    vars = cf_server_vars(he.srv);
    vars->lfdi = lfdi;
    vars->sfdi = sfdi_s;
    vars->ven_name = "gridedge-ven";
    vars->ven_id = "VEN-1";
    vars->registration_id = "REG-1";
    vars->client_id = "ven-client";
    vars->client_secret = "ven-secret";
    vars->signer = c->sign_payloads ? he.sig : NULL;
    vars->time_offset = c->time_offset;
    if (c->dnssd && (rc = start_dnssd(&he, out->detail, sizeof(out->detail))) < 0)
        goto fail;
    snprintf(dnssd_s, sizeof(dnssd_s), "127.0.0.1:%u", (unsigned)cf_dnssd_responder_port(he.dnssd));
    {
        static const char *const names[] = { "url", "ca", "cert", "key", "lfdi", "sfdi", "ven_name", "client_id",
                                             "client_secret", "state_dir", "status_file", "duration", "dnssd",
                                             "fault_file" };
        const char *values[] = { cf_server_url(he.srv), ca, cert, key, lfdi, sfdi_s, "gridedge-ven", vars->client_id,
                                 vars->client_secret, state_dir, he.status_file, duration_s,
                                 he.dnssd ? dnssd_s : CF_MDNS_GROUP, he.fault_file };
        size_t n_in = 0;
        while (opts->client_argv[n_in])
            n_in++;
        argv = calloc(n_in + 1, sizeof(*argv));
        if (!argv) {
            rc = GE_ERR_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < n_in; i++) {
            const char *in = opts->client_argv[i];
            if (c->dnssd && strstr(in, "{url}")) {
                /* a DNS-SD case: the client is not told where the server is.  "--server {url}" goes
                 * as a pair, "--server={url}" or "{url}" alone as one argument. */
                const char *prev = i > 0 ? opts->client_argv[i - 1] : "";
                if (argc > 0 && prev[0] == '-' && !strchr(prev, '=') && !strchr(prev, '{'))
                    free(argv[--argc]);
                argv[argc] = NULL;
                continue;
            }
            if (!(argv[argc] = subst_arg(in, names, values, sizeof(names) / sizeof(names[0])))) {
                rc = GE_ERR_NOMEM;
                goto fail;
            }
            argc++;
        }
    }
    if (c->n_actions && !(he.done = calloc(c->n_actions, 1))) {
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    /* {fault_file} exists (empty: no fault) before the client starts */
    if (write_atomic(he.fault_file, "") < 0) {
        snprintf(out->detail, sizeof(out->detail), "cannot write %.300s: %s", he.fault_file, strerror(errno));
        rc = GE_ERR_IO;
        goto fail;
    }
    he.tick = event_new(he.base, -1, EV_PERSIST, on_tick, &he);
    if (!he.tick) {
        rc = GE_ERR_NOMEM;
        goto fail;
    }
    he.end_t = c->duration + opts->grace_s;
    start_on_a_second();
    cf_server_start(he.srv);
    he.argv = argv;
    he.log_path = log_path;
    owner_files_due(&he, 0); /* the choices made before the client starts */
    if ((rc = spawn(&he, argv, log_path, 0)) < 0)
        goto fail;
    event_add(he.tick, &period);
    event_base_dispatch(he.base);
    stop_child(&he);
    judge(&he, out);
    {
        size_t n_ex;
        cf_server_exchanges(he.srv, &n_ex, &dropped);
    }
    if (dropped)
        snprintf(out->detail + strlen(out->detail), sizeof(out->detail) - strlen(out->detail),
                 " (%zu exchanges beyond the evidence cap)", dropped);
    out->evidence_json = evidence(&he);
    rc = 0;
    goto done;
fail:
    out->result = CF_FAIL;
    if (!out->detail[0])
        snprintf(out->detail, sizeof(out->detail), "head-end set-up failed: %s", ge_strerror(rc));
    stop_child(&he);
done:
    for (size_t i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
    headend_cleanup(&he);
    return rc;
}

void cf_outcome_free(cf_outcome_t *out)
{
    free(out->evidence_json);
    out->evidence_json = NULL;
}
