/* msg3.c - OpenADR 3.0 JSON messages (OpenADR 3.0.1 API components): reading programs, events
 * and tokens with a clear reason for every refusal, and writing the VEN's own objects. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gridedge/error.h>
#include <gridedge/oadr.h>

#include "stack/oadr/oadr3_internal.h"

static const char *const pt_names[O3_PT_N] = { "SIMPLE", "PRICE", "EXPORT_PRICE", "IMPORT_CAPACITY_LIMIT",
                                               "EXPORT_CAPACITY_LIMIT" };

const char *oadr__v3_payload_name(int pt)
{
    return pt >= 0 && pt < O3_PT_N ? pt_names[pt] : "?";
}

static int fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return GE_ERR_PARSE;
}

/* objectID: ^[a-zA-Z0-9_-]*$, 1..128 characters. */
int oadr__v3_valid_id(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n < OADR3_ID_MAX;
}

static int get_id(json_t *obj, const char *key, char *out, size_t outlen, const char *at, char *why, size_t n)
{
    json_t *x = json_object_get(obj, key);

    if (!x)
        return fail(why, n, "%s%s: missing", at, key);
    if (!json_is_string(x))
        return fail(why, n, "%s%s: must be a string", at, key);
    if (!oadr__v3_valid_id(json_string_value(x)))
        return fail(why, n, "%s%s: not an objectID (1..128 of a-z A-Z 0-9 _ -)", at, key);
    snprintf(out, outlen, "%s", json_string_value(x));
    return 0;
}

int oadr__v3_parse_program(json_t *j, o3_program_t *out, char *why, size_t n)
{
    json_t *name;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(j))
        return fail(why, n, ": a program must be a JSON object");
    if (get_id(j, "id", out->id, sizeof(out->id), ".", why, n) < 0)
        return GE_ERR_PARSE;
    name = json_object_get(j, "programName");
    if (name && !json_is_string(name))
        return fail(why, n, ".programName: must be a string");
    return 0;
}

/* An optional duration (null or absent: DFLT); 1 set, 0 absent, <0 bad. */
static int get_duration(json_t *obj, const char *key, int64_t *out, const char *at, char *why, size_t n)
{
    json_t *x = json_object_get(obj, key);

    if (!x || json_is_null(x))
        return 0;
    if (!json_is_string(x) || oadr_parse_duration(json_string_value(x), out) < 0)
        return fail(why, n, "%s.%s: not an ISO 8601 duration", at, key);
    return 1;
}

/* intervalPeriod at AT: start required, duration and randomizeStart optional. */
static int get_period(json_t *p, int64_t *start, int64_t *dur, int *has_dur, int64_t *rnd, const char *at, char *why,
                      size_t n)
{
    json_t *s;
    int rc;

    if (!json_is_object(p))
        return fail(why, n, "%s: must be an object", at);
    s = json_object_get(p, "start");
    if (!s)
        return fail(why, n, "%s.start: missing", at);
    if (!json_is_string(s) || oadr_parse_datetime(json_string_value(s), start) < 0)
        return fail(why, n, "%s.start: not a date-time", at);
    if ((rc = get_duration(p, "duration", dur, at, why, n)) < 0)
        return rc;
    *has_dur = rc;
    if (*has_dur && *dur < 0)
        return fail(why, n, "%s.duration: negative", at);
    if (rnd && (rc = get_duration(p, "randomizeStart", rnd, at, why, n)) < 0)
        return rc;
    if (rnd && *rnd < 0)
        return fail(why, n, "%s.randomizeStart: negative", at);
    return 0;
}

static int payload_type(const char *s)
{
    for (int k = 0; k < O3_PT_N; k++)
        if (strcmp(s, pt_names[k]) == 0)
            return k;
    return -1;
}

/* Watts per unit of a capacity payload (payloadDescriptors' units; default KW). */
static double unit_scale(const char *units)
{
    if (!units || strcmp(units, "KW") == 0 || strcmp(units, "kW") == 0)
        return 1000.0;
    if (strcmp(units, "W") == 0)
        return 1.0;
    if (strcmp(units, "MW") == 0)
        return 1e6;
    return 1000.0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static int parse_payloads(json_t *arr, o3_interval_t *iv, const double *scale, const char *at, char *why, size_t n)
{
    size_t i;
    json_t *p;

    if (!json_is_array(arr))
        return fail(why, n, "%s.payloads: must be an array", at);
    json_array_foreach(arr, i, p) {
        json_t *type = json_object_get(p, "type"), *vals = json_object_get(p, "values"), *v0;
        int k;
        if (!json_is_object(p))
            return fail(why, n, "%s.payloads[%zu]: must be an object", at, i);
        if (!json_is_string(type))
            return fail(why, n, "%s.payloads[%zu].type: %s", at, i, type ? "must be a string" : "missing");
        if (!json_is_array(vals))
            return fail(why, n, "%s.payloads[%zu].values: %s", at, i, vals ? "must be an array" : "missing");
        k = payload_type(json_string_value(type));
        if (k < 0)
            continue; /* a type we do not act on */
        v0 = json_array_get(vals, 0);
        if (!json_is_number(v0))
            return fail(why, n, "%s.payloads[%zu].values[0]: %s needs a number", at, i, pt_names[k]);
        iv->has[k] = 1;
        iv->val[k] = json_number_value(v0) * (k == O3_PT_IMPORT_CAP || k == O3_PT_EXPORT_CAP ? scale[k] : 1.0);
        if (!isfinite(iv->val[k]))
            return fail(why, n, "%s.payloads[%zu].values[0]: not a finite number", at, i);
        if (k == O3_PT_SIMPLE && (iv->val[k] < 0 || iv->val[k] > 3))
            return fail(why, n, "%s.payloads[%zu].values[0]: SIMPLE level %g is not 0..3", at, i, iv->val[k]);
        if ((k == O3_PT_IMPORT_CAP || k == O3_PT_EXPORT_CAP) && iv->val[k] < 0)
            return fail(why, n, "%s.payloads[%zu].values[0]: a capacity limit cannot be negative", at, i);
    }
    return 0;
}

int oadr__v3_parse_event(json_t *j, o3_event_t *e, uint64_t seed, char *why, size_t n)
{
    json_t *x, *ivs, *iv;
    int64_t start0 = 0, dur0 = 0, rnd = 0, draw = 0;
    int has_start0 = 0, has_dur0 = 0, rc;
    double scale[O3_PT_N];
    size_t i;

    memset(e, 0, sizeof(*e));
    e->priority = INT32_MAX;
    for (int k = 0; k < O3_PT_N; k++)
        scale[k] = 1000.0;
    if (!json_is_object(j))
        return fail(why, n, "an event must be a JSON object");
    if (get_id(j, "id", e->id, sizeof(e->id), "", why, n) < 0 ||
        get_id(j, "programID", e->program_id, sizeof(e->program_id), "", why, n) < 0)
        return GE_ERR_PARSE;
    x = json_object_get(j, "objectType");
    if (x && !json_is_null(x) && (!json_is_string(x) || strcmp(json_string_value(x), "EVENT") != 0))
        return fail(why, n, "objectType: must be \"EVENT\"");
    x = json_object_get(j, "modificationDateTime");
    if (x && !json_is_null(x)) {
        int64_t t;
        if (!json_is_string(x) || oadr_parse_datetime(json_string_value(x), &t) < 0)
            return fail(why, n, "modificationDateTime: not a date-time");
        snprintf(e->modified, sizeof(e->modified), "%s", json_string_value(x));
    }
    x = json_object_get(j, "priority");
    if (x && !json_is_null(x)) {
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT32_MAX - 1)
            return fail(why, n, "priority: must be an integer >= 0");
        e->priority = (int)json_integer_value(x);
    }
    x = json_object_get(j, "payloadDescriptors");
    if (x && !json_is_null(x)) {
        json_t *d;
        if (!json_is_array(x))
            return fail(why, n, "payloadDescriptors: must be an array");
        json_array_foreach(x, i, d) {
            json_t *pt = json_object_get(d, "payloadType"), *u = json_object_get(d, "units");
            int k;
            if (!json_is_object(d) || !json_is_string(pt))
                return fail(why, n, "payloadDescriptors[%zu].payloadType: %s", i,
                            json_is_object(d) && !pt ? "missing" : "must be a string in an object");
            if (u && !json_is_null(u) && !json_is_string(u))
                return fail(why, n, "payloadDescriptors[%zu].units: must be a string", i);
            k = payload_type(json_string_value(pt));
            if (k >= 0)
                scale[k] = unit_scale(json_string_value(u));
        }
    }
    x = json_object_get(j, "reportDescriptors");
    if (x && !json_is_null(x)) {
        json_t *d;
        if (!json_is_array(x))
            return fail(why, n, "reportDescriptors: must be an array");
        json_array_foreach(x, i, d) {
            json_t *pt = json_object_get(d, "payloadType");
            if (!json_is_object(d) || !json_is_string(pt))
                return fail(why, n, "reportDescriptors[%zu].payloadType: %s", i,
                            json_is_object(d) && !pt ? "missing" : "must be a string in an object");
            if (e->n_rd < O3_MAX_RD)
                snprintf(e->rd[e->n_rd++], sizeof(e->rd[0]), "%.39s", json_string_value(pt));
        }
    }
    x = json_object_get(j, "intervalPeriod");
    if (x && !json_is_null(x)) {
        if ((rc = get_period(x, &start0, &dur0, &has_dur0, &rnd, "intervalPeriod", why, n)) < 0)
            return rc;
        has_start0 = 1;
        if (rnd > 0) { /* randomizeStart: a draw in [0, rnd] from (seed, eventID) */
            uint64_t h = seed;
            for (const char *p = e->id; *p; p++)
                h = mix(h ^ (unsigned char)*p);
            draw = (int64_t)(mix(h) % (uint64_t)(rnd + 1));
        }
    }
    ivs = json_object_get(j, "intervals");
    if (!ivs)
        return fail(why, n, "intervals: missing");
    if (!json_is_array(ivs))
        return fail(why, n, "intervals: must be an array");
    if (json_array_size(ivs) > OADR3_MAX_INTERVALS)
        return fail(why, n, "intervals: more than %d", OADR3_MAX_INTERVALS);
    e->start = INT64_MAX;
    e->end = INT64_MIN;
    json_array_foreach(ivs, i, iv) {
        o3_interval_t *o = &e->iv[e->n_iv];
        char at[48];
        json_t *id, *p;
        int64_t s = 0, d = dur0;
        snprintf(at, sizeof(at), "intervals[%zu]", i);
        if (!json_is_object(iv))
            return fail(why, n, "%s: must be an object", at);
        id = json_object_get(iv, "id");
        if (!json_is_integer(id))
            return fail(why, n, "%s.id: %s", at, id ? "must be an integer" : "missing");
        p = json_object_get(iv, "intervalPeriod");
        if (p && !json_is_null(p)) {
            char pat[64];
            int has_own_d = 0;
            int64_t own_d = 0;
            snprintf(pat, sizeof(pat), "%s.intervalPeriod", at);
            if ((rc = get_period(p, &s, &own_d, &has_own_d, NULL, pat, why, n)) < 0)
                return rc;
            if (has_own_d)
                d = own_d;
        } else if (i > 0) {
            if (e->iv[e->n_iv - 1].end == INT64_MAX)
                return fail(why, n, "%s: follows an open-ended interval (duration PT0S) and so never starts", at);
            s = e->iv[e->n_iv - 1].end - draw;
        } else if (has_start0) {
            s = start0;
        } else {
            return fail(why, n, "%s: no intervalPeriod, and the event has none either", at);
        }
        o->start = s + draw;
        o->end = d > 0 ? o->start + d : INT64_MAX; /* PT0S: until further notice */
        if ((rc = parse_payloads(json_object_get(iv, "payloads"), o, scale, at, why, n)) < 0) {
            if (!json_object_get(iv, "payloads"))
                return fail(why, n, "%s.payloads: missing", at);
            return rc;
        }
        for (size_t k = 0; k < e->n_iv; k++)
            if (o->start < e->iv[k].end && e->iv[k].start < o->end)
                return fail(why, n, "%s: overlaps intervals[%zu]", at, k);
        if (o->start < e->start)
            e->start = o->start;
        if (o->end > e->end)
            e->end = o->end;
        e->n_iv++;
    }
    if (e->n_iv == 0)
        e->start = e->end = 0;
    return 0;
}

int oadr__v3_parse_token(json_t *j, char **token, double *expires_in, char *why, size_t n)
{
    json_t *at = json_object_get(j, "access_token"), *tt = json_object_get(j, "token_type"),
           *ex = json_object_get(j, "expires_in");
    const char *s;

    if (!json_is_object(j))
        return fail(why, n, "not a JSON object");
    if (!json_is_string(at) || !*json_string_value(at) || strlen(json_string_value(at)) > 4096)
        return fail(why, n, "access_token: %s", at ? "must be a string of 1..4096 characters" : "missing");
    for (s = json_string_value(at); *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return fail(why, n, "access_token: holds a character not allowed in a bearer token");
    if (!json_is_string(tt) || strcasecmp(json_string_value(tt), "Bearer") != 0)
        return fail(why, n, "token_type: %s", tt ? "must be \"Bearer\"" : "missing");
    *expires_in = 0;
    if (ex && !json_is_null(ex)) {
        if (!json_is_integer(ex) || json_integer_value(ex) <= 0)
            return fail(why, n, "expires_in: must be a positive integer");
        *expires_in = (double)json_integer_value(ex);
    }
    if (!(*token = strdup(json_string_value(at))))
        return fail(why, n, "out of memory");
    return 0;
}

const char *oadr__v3_created_id(json_t *j, const char *location)
{
    const char *id = json_string_value(json_object_get(j, "id")), *slash;

    if (id && oadr__v3_valid_id(id))
        return id;
    if (location && (slash = strrchr(location, '/')) != NULL && oadr__v3_valid_id(slash + 1))
        return slash + 1;
    return NULL;
}

const o3_interval_t *oadr__v3_interval_at(const o3_event_t *e, int64_t now)
{
    for (size_t i = 0; i < e->n_iv; i++)
        if (now >= e->iv[i].start && now < e->iv[i].end)
            return &e->iv[i];
    return NULL;
}

/* --- writers ------------------------------------------------------------------------------- */

json_t *oadr__v3_ven_json(const char *ven_name)
{
    return json_pack("{s:s, s:s}", "objectType", "VEN", "venName", ven_name);
}

json_t *oadr__v3_resource_json(const char *name, const char *ven_id)
{
    return json_pack("{s:s, s:s, s:s}", "objectType", "RESOURCE", "resourceName", name, "venID", ven_id);
}

json_t *oadr__v3_subscription_json(const char *client_name, const char *program_id, const char *callback,
                                   const char *token)
{
    json_t *op = json_pack("{s:[s], s:[s,s,s], s:s}", "objects", "EVENT", "operations", "CREATE", "UPDATE", "DELETE",
                           "callbackUrl", callback);

    if (op && token)
        json_object_set_new(op, "bearerToken", json_string(token));
    return op ? json_pack("{s:s, s:s, s:s, s:[o]}", "objectType", "SUBSCRIPTION", "clientName", client_name,
                          "programID", program_id, "objectOperations", op)
              : NULL;
}

static void iso_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "1970-01-01T00:00:00Z");
}

/* The value of report payload type PT now, or 0 when we have no such reading. */
static int report_value(const char *pt, const o3_event_t *e, const oadr3_telemetry_t *tel, int64_t now, double *v,
                        const char **units)
{
    const o3_interval_t *iv = oadr__v3_interval_at(e, now);

    *units = "W";
    if (strcmp(pt, "DEMAND") == 0 || strcmp(pt, "READING") == 0 || strcmp(pt, "USAGE") == 0) {
        *v = tel->site_w;
        return 1;
    }
    if (strcmp(pt, "STORAGE_CHARGE_LEVEL") == 0) {
        *v = tel->soc_pct;
        *units = "PERCENT";
        return 1;
    }
    if (strcmp(pt, "SETPOINT") == 0) {
        *v = tel->battery_w;
        return 1;
    }
    if (strcmp(pt, "SIMPLE_LEVEL") == 0) {
        *v = iv && iv->has[O3_PT_SIMPLE] ? iv->val[O3_PT_SIMPLE] : 0;
        *units = NULL;
        return 1;
    }
    return 0;
}

json_t *oadr__v3_report_json(const o3_event_t *e, const char *client_name, const oadr3_telemetry_t *tel, int64_t now)
{
    json_t *r, *descs, *payloads;
    char ts[32], name[OADR3_ID_MAX + 16];

    descs = json_array();
    payloads = json_array();
    for (size_t i = 0; i < e->n_rd && descs && payloads; i++) {
        double v;
        const char *units;
        json_t *d;
        if (!report_value(e->rd[i], e, tel, now, &v, &units))
            continue;
        d = json_pack("{s:s, s:s, s:s}", "objectType", "REPORT_PAYLOAD_DESCRIPTOR", "payloadType", e->rd[i],
                      "readingType", "DIRECT_READ");
        if (d && units)
            json_object_set_new(d, "units", json_string(units));
        json_array_append_new(descs, d);
        json_array_append_new(payloads, json_pack("{s:s, s:[f]}", "type", e->rd[i], "values", round(v * 10) / 10));
    }
    if (!descs || !payloads || json_array_size(payloads) == 0) {
        json_decref(descs);
        json_decref(payloads);
        return NULL;
    }
    iso_time(now, ts, sizeof(ts));
    snprintf(name, sizeof(name), "report-%s", e->id);
    r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:[{s:s, s:{s:s, s:s}, s:[{s:i, s:o}]}]}", "objectType", "REPORT",
                  "programID", e->program_id, "eventID", e->id, "clientName", client_name, "reportName", name,
                  "payloadDescriptors", descs, "resources", "resourceName", "AGGREGATED_REPORT", "intervalPeriod",
                  "start", ts, "duration", "PT0S", "intervals", "id", 0, "payloads", payloads);
    return r;
}

int oadr3_check_event(const char *json, size_t len, char *why, size_t whylen)
{
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    o3_event_t *e;
    int rc;

    if (!j) {
        snprintf(why, whylen, "%d:%d: malformed JSON: %s", je.line, je.column, je.text);
        return GE_ERR_PARSE;
    }
    e = malloc(sizeof(*e));
    rc = e ? oadr__v3_parse_event(j, e, 0, why, whylen) : GE_ERR_NOMEM;
    free(e);
    json_decref(j);
    return rc;
}
