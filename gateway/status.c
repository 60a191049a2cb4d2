/* status.c - the status JSON (CLI-CONTRACT.md), its atomic file, /history.json and the status
 * page's request function (see status.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/status.h"

#define MOD "status"

/* Reals are printed with this many significant digits: enough for W to 0.1 and prices to 0.0001,
 * short enough that 0.3 stays "0.3". */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

/* Watts to one decimal: the meter's resolution; also keeps the file stable between samples. */
static double tenth(double v)
{
    if (!isfinite(v))
        return 0;
    v = round(v * 10) / 10;
    return v == 0 ? 0 : v; /* no "-0.0" */
}

/* json_object_set_new() that reports a failed allocation of VALUE or of the slot. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}

static json_t *power(double w)
{
    json_t *o = json_object();

    if (o && put(o, "power_w", json_real(tenth(w)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *control_json(const gw_status_control_t *c)
{
    json_t *o = json_object();
    const char *src = gw_source_name(c->source);
    int bad;

    if (!o)
        return NULL;
    bad = put(o, "id", json_string(c->id)) |
          put(o, "source", json_string(src ? src : "sep"));
    if (c->kind[0])
        bad |= put(o, "kind", json_string(c->kind));
    if (c->has_value && isfinite(c->value))
        bad |= put(o, "value", json_real(c->value));
    if (c->start)
        bad |= put(o, "start", json_integer(c->start));
    if (c->end)
        bad |= put(o, "end", json_integer(c->end));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int gw_status_to_json(const gw_status_t *s, json_t **out)
{
    json_t *o, *bat, *controls, *gw;
    int bad;

    if (!s || !out)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!(o = json_object()))
        return GE_ERR_NOMEM;
    bad = put(o, "time", json_integer(s->time)) |
          put(o, "site", power(s->site_w)) |
          put(o, "pv", power(s->pv_w));
    if ((bat = power(s->battery_w)) && put(bat, "soc_pct", json_real(tenth(s->soc_pct)))) {
        json_decref(bat);
        bat = NULL;
    }
    bad |= put(o, "battery", bat) | put(o, "ev", power(s->ev_w));
    if ((controls = json_array())) {
        for (size_t i = 0; i < s->n_controls && i < GW_STATUS_MAX_CONTROLS; i++)
            if (json_array_append_new(controls, control_json(&s->controls[i])))
                bad = -1;
    }
    bad |= put(o, "active_controls", controls);
    bad |= put(o, "price", s->has_price && isfinite(s->price) ? json_real(s->price) : json_null());
    /* ours, after the contract's keys */
    bad |= put(o, "house", power(s->house_w));
    if ((gw = json_object()) &&
        (put(gw, "mode", json_string(s->mode)) | put(gw, "reason", json_string(s->reason)))) {
        json_decref(gw);
        gw = NULL;
    }
    bad |= put(o, "gateway", gw);
    if (bad) {
        json_decref(o);
        /* json_string() also fails on invalid UTF-8: a garbage id must not pass as "no memory" */
        return GE_ERR_INVALID;
    }
    *out = o;
    return 0;
}

static int dump_into(json_t *j, ge_buf_t *out)
{
    char *text = json_dumps(j, JSON_FLAGS);
    int err;

    if (!text)
        return GE_ERR_NOMEM;
    err = ge_buf_puts(out, text);
    if (!err)
        err = ge_buf_putc(out, '\n');
    free(text);
    return err;
}

int gw_status_render(const gw_status_t *s, ge_buf_t *out)
{
    json_t *j;
    int err;

    if (!out)
        return GE_ERR_INVALID;
    if ((err = gw_status_to_json(s, &j)))
        return err;
    err = dump_into(j, out);
    json_decref(j);
    return err;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write BUF to PATH atomically (see gw_status_write_file()). */
static int write_atomic(const ge_buf_t *buf, const char *path, const ge_log_t *log)
{
    ge_buf_t tmp;
    int err, fd;
    const char *step;

    ge_buf_init(&tmp, NULL, 4096);
    /* same directory as PATH, so rename() is atomic (one file system) */
    if ((err = ge_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()))) {
        ge_buf_free(&tmp);
        return err;
    }
    int e = 0;

    step = "creating";
    fd = open(ge_buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        e = errno;
    else {
        step = "writing";
        if (write_all(fd, buf->data, buf->len) == 0) {
            /* fsync before rename: otherwise a power cut can leave the new name on empty data */
            step = "syncing";
            if (fsync(fd) == 0)
                step = NULL;
        }
        if (step)
            e = errno;
        if (close(fd) != 0 && !step) {
            e = errno;
            step = "closing";
        }
        if (!step && rename(ge_buf_str(&tmp), path) != 0) {
            e = errno;
            step = "renaming";
        }
    }
    if (step) {
        ge_log(log, GE_LOG_ERROR, MOD, "status file %s: %s %s: %s", path, step, ge_buf_str(&tmp),
               strerror(e));
        if (fd >= 0)
            unlink(ge_buf_str(&tmp));
        err = GE_ERR_IO;
    }
    ge_buf_free(&tmp);
    return err;
}

int gw_status_write_file(const gw_status_t *s, const char *path, const ge_log_t *log)
{
    json_t *j;
    int err;

    if (!s || !path || !*path)
        return GE_ERR_INVALID;
    if ((err = gw_status_to_json(s, &j)))
        return err;
    err = gw_status_write_json(j, path, log);
    json_decref(j);
    return err;
}

int gw_status_write_json(json_t *j, const char *path, const ge_log_t *log)
{
    ge_buf_t buf;
    int err;

    if (!j || !path || !*path)
        return GE_ERR_INVALID;
    ge_buf_init(&buf, NULL, 0);
    if (!(err = dump_into(j, &buf)))
        err = write_atomic(&buf, path, log);
    ge_buf_free(&buf);
    return err;
}

/* --- /history.json ----------------------------------------------------------------------------- */

static int history_one(void *ud, const gw_history_sample_t *s)
{
    json_t *arr = ud, *o = json_object();
    int bad;

    if (!o)
        return GE_ERR_NOMEM;
    bad = put(o, "time", json_integer(s->time)) |
          put(o, "site_w", json_real(tenth(s->site_w))) |
          put(o, "pv_w", json_real(tenth(s->pv_w))) |
          put(o, "battery_w", json_real(tenth(s->battery_w))) |
          put(o, "ev_w", json_real(tenth(s->ev_w))) |
          put(o, "house_w", json_real(tenth(s->house_w))) |
          put(o, "soc_pct", json_real(tenth(s->soc_pct)));
    if (bad) {
        json_decref(o);
        return GE_ERR_NOMEM;
    }
    return json_array_append_new(arr, o) ? GE_ERR_NOMEM : 0;
}

int gw_history_render(gw_store_t *st, int64_t now, ge_buf_t *out)
{
    json_t *arr;
    int err = 0;

    if (!out)
        return GE_ERR_INVALID;
    if (!(arr = json_array()))
        return GE_ERR_NOMEM;
    if (st)
        err = gw_store_history_last24h(st, now, history_one, arr);
    if (!err)
        err = dump_into(arr, out);
    json_decref(arr);
    return err;
}

/* --- the page ---------------------------------------------------------------------------------- */

int gw_statuspage_get(const char *path, const gw_status_t *s, gw_store_t *st, int64_t now,
                      ge_buf_t *body, const char **content_type)
{
    size_t len;

    if (!path || !body || !content_type)
        return GE_ERR_INVALID;
    len = strcspn(path, "?#");
    if (len == 1 && path[0] == '/') {
        path = "/index.html";
        len = strlen(path);
    }
    if (len == strlen("/status.json") && !strncmp(path, "/status.json", len)) {
        if (!s)
            return GE_ERR_NOTFOUND;
        *content_type = "application/json";
        return gw_status_render(s, body);
    }
    if (len == strlen("/history.json") && !strncmp(path, "/history.json", len)) {
        *content_type = "application/json";
        return gw_history_render(st, now, body);
    }
    for (const gw_statuspage_asset_t *a = gw_statuspage_assets; a->path; a++)
        if (strlen(a->path) == len && !strncmp(a->path, path, len)) {
            *content_type = a->content_type;
            return ge_buf_append(body, a->data, a->len);
        }
    return GE_ERR_NOTFOUND;
}

/* --- the page's actions ------------------------------------------------------------------------- */

/* The value of field NAME in the form body BODY (application/x-www-form-urlencoded), decoded into
 * OUT: 0, or -1 when it is missing, empty, too long, badly encoded or holds a control byte. */
static int form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);

    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > nlen && body[i + nlen] == '=' && memcmp(body + i, name, nlen) == 0) {
            size_t n = 0;
            for (size_t k = i + nlen + 1; k < end; k++) {
                int c = (unsigned char)body[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi = k + 2 < end ? ge_hex_digit((unsigned char)body[k + 1]) : -1;
                    int lo = hi < 0 ? -1 : ge_hex_digit((unsigned char)body[k + 2]);
                    if (lo < 0)
                        return -1;
                    c = hi << 4 | lo;
                    k += 2;
                }
                if (c < 0x20 || c == 0x7f || n + 1 >= size)
                    return -1;
                out[n++] = (char)c;
            }
            out[n] = '\0';
            return n ? 0 : -1;
        }
        i = end + 1;
    }
    return -1;
}

static int answer(ge_buf_t *reply, int status, const char *key, const char *value)
{
    json_t *j = json_pack("{s:s}", key, value);

    if (!j || dump_into(j, reply) < 0)
        ge_buf_puts(reply, "{\"error\":\"out of memory\"}\n");
    json_decref(j);
    return status;
}

int gw_statuspage_post(const char *path, const char *action, const void *body, size_t len, gw_opt_out_fn opt_out,
                       void *ud, ge_buf_t *reply)
{
    char id[128];
    json_t *probe;
    int rc;

    if (!path || strncmp(path, "/opt-out", 8) != 0 || (path[8] && path[8] != '?'))
        return answer(reply, 404, "error", "no such action");
    if (!action || strcmp(action, "opt-out") != 0)
        return answer(reply, 403, "error", "the request lacks the header " GW_STATUSPAGE_ACTION_HEADER ": opt-out");
    if (!body || form_field(body, len, "event", id, sizeof(id)) < 0 || !(probe = json_string(id)))
        return answer(reply, 400, "error", "the body must be event=ID: an OpenADR eventID of 1 to 127 characters "
                                           "(UTF-8)");
    json_decref(probe);
    if (!opt_out)
        return answer(reply, 409, "error", "no OpenADR 2.0b VEN runs in this gateway");
    rc = opt_out(ud, id);
    if (rc == GE_ERR_LIMIT)
        return answer(reply, 507, "error", "no room for another opt-out");
    if (rc < 0)
        return answer(reply, 400, "error", ge_strerror(rc));
    return answer(reply, 200, "opted_out", id);
}

void gw_statuspage_serve(ge_http_exchange_t *ex, const gw_status_t *s, gw_store_t *st, int64_t now,
                         gw_opt_out_fn opt_out, void *ud)
{
    const char *method = ge_http_method(ex), *type = NULL;
    ge_buf_t body;

    ge_buf_init(&body, NULL, 4u << 20);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        if (gw_statuspage_get(ge_http_path(ex), s, st, now, &body, &type) == 0)
            ge_http_reply(ex, 200, type, body.data, body.len);
        else
            ge_http_reply(ex, 404, "text/plain", "not found\n", 10);
    } else if (strcmp(method, "POST") == 0) {
        size_t len = 0;
        const void *data = ge_http_body(ex, &len);
        int status = gw_statuspage_post(ge_http_path(ex), ge_http_header(ex, GW_STATUSPAGE_ACTION_HEADER), data, len,
                                        opt_out, ud, &body);
        ge_http_reply(ex, status, "application/json", body.data, body.len);
    } else {
        ge_http_reply(ex, 405, "text/plain", "method not allowed\n", 19);
    }
    ge_buf_free(&body);
}
