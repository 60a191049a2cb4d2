/* verdict.c - evaluate case expectations against observed traffic and status samples. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <gridedge/arena.h>
#include <gridedge/xml.h>

#include "conformance/verdict.h"

int cf_path_matches(const char *pattern, const char *path)
{
    size_t plen = strlen(pattern);
    size_t qlen;

    if (plen && pattern[plen - 1] == '*')
        return strncmp(pattern, path, plen - 1) == 0;
    if (strchr(pattern, '?'))
        return strcmp(pattern, path) == 0;
    qlen = strcspn(path, "?");
    return qlen == plen && strncmp(pattern, path, plen) == 0;
}

static double window_end(const cf_expect_t *e, const cf_observed_t *obs)
{
    return e->to < 0 ? obs->end : e->to;
}

/* Does V (and, through "a[]" steps, every element) have the JSON TYPE at PATH? */
static int json_rule(json_t *v, const char *path, char type)
{
    char part[64];
    size_t n;
    int each;

    if (!*path) {
        switch (type) {
        case 's': return json_is_string(v);
        case 'i': return json_is_integer(v);
        case 'n': return json_is_number(v);
        case 'a': return json_is_array(v);
        case 'o': return json_is_object(v);
        }
        return 0;
    }
    n = strcspn(path, ".");
    if (n >= sizeof(part))
        return 0;
    memcpy(part, path, n);
    part[n] = '\0';
    path += n + (path[n] == '.');
    each = n > 2 && strcmp(part + n - 2, "[]") == 0;
    if (each)
        part[n - 2] = '\0';
    v = json_object_get(v, part);
    if (!each)
        return v && json_rule(v, path, type);
    if (!json_is_array(v))
        return 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_rule(json_array_get(v, i), path, type))
            return 0;
    return 1;
}

int cf_json_conforms(const char *name, const char *body)
{
    const char *const *rules = cf_json_schema_rules(name);
    json_error_t jerr;
    json_t *root;
    int ok = 1;

    if (!rules || !body || !(root = json_loads(body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)))
        return 0;
    for (; *rules && ok; rules++) {
        const char *colon = strrchr(*rules, ':');
        char path[128];
        size_t n = colon ? (size_t)(colon - *rules) : 0;
        if (!colon || n >= sizeof(path))
            break;
        memcpy(path, *rules, n);
        path[n] = '\0';
        ok = json_rule(root, path, colon[1]);
    }
    json_decref(root);
    return ok;
}

/* BODY holds an element NAME (any namespace prefix) whose text is a hex bit map with every bit of
 * MASK set (ANY: at least one of them); the first such element decides. */
static int body_has_bits(const char *body, const char *name, unsigned long long mask, int any)
{
    size_t n = strlen(name);

    for (const char *p = body; p && (p = strstr(p, name)) != NULL; p += n) {
        char *end;
        unsigned long long v;
        if (p == body || (p[-1] != '<' && p[-1] != ':') || p[n] != '>')
            continue;
        if (p[-1] == ':') { /* a prefix: it must open an element, not close one */
            const char *q = p - 1;
            while (q > body && q[-1] != '<' && q[-1] != '/' && q[-1] != '>' && q[-1] != ' ')
                q--;
            if (q == body || q[-1] != '<')
                continue;
        }
        if (!isxdigit((unsigned char)p[n + 1]))
            return 0;
        v = strtoull(p + n + 1, &end, 16);
        return *end == '<' && (any ? (v & mask) != 0 : (v & mask) == mask);
    }
    return 0;
}

static int request_matches(const cf_expect_t *e, const cf_exchange_t *x, const char *headers, double to)
{
    const char *method = x->method;

    if (x->t < e->from || x->t > to)
        return 0;
    /* the head-end's own sends are recorded as "SEND METHOD", with the client's answer as body */
    if (e->kind == CF_EXP_ANSWER) {
        if (strncmp(method, "SEND ", 5) != 0)
            return 0;
        method += 5;
    }
    if (strcmp(e->method, method) != 0 || !cf_path_matches(e->path, x->path) || (e->status && x->status != e->status))
        return 0;
    for (unsigned i = 0; i < e->n_has; i++)
        if (!x->body || !strstr(x->body, e->has[i]))
            return 0;
    for (unsigned i = 0; i < e->n_has_bits; i++)
        if (!x->body || !body_has_bits(x->body, e->has_bits_elem[i], e->has_bits_mask[i], e->has_bits_any[i]))
            return 0;
    for (unsigned i = 0; i < e->n_has_header; i++)
        if (!headers || !strstr(headers, e->has_header[i]))
            return 0;
    if (e->json && !cf_json_conforms(e->json, x->body))
        return 0;
    return 1;
}

/* The JSON value at dotted KEY inside ROOT; "#" as the last part gives an array's length in *LEN. */
static json_t *lookup(json_t *root, const char *key, int *is_len, size_t *len)
{
    char part[64];
    json_t *v = root;

    *is_len = 0;
    while (*key && v) {
        size_t n = strcspn(key, ".");
        if (n == 0 || n >= sizeof(part))
            return NULL;
        memcpy(part, key, n);
        part[n] = '\0';
        key += n + (key[n] == '.');
        if (strcmp(part, "#") == 0 && !*key) {
            if (!json_is_array(v) && !json_is_object(v))
                return NULL;
            *is_len = 1;
            *len = json_is_array(v) ? json_array_size(v) : json_object_size(v);
            return v;
        }
        if (json_is_array(v)) {
            char *end;
            long idx = strtol(part, &end, 10);
            if (*end || idx < 0)
                return NULL;
            v = json_array_get(v, (size_t)idx);
        } else if (json_is_object(v)) {
            v = json_object_get(v, part);
        } else {
            return NULL;
        }
    }
    return v;
}

static int compare_number(const cf_expect_t *e, double x, double want)
{
    switch (e->op) {
    case CF_OP_EQ: return fabs(x - want) <= e->tolerance;
    case CF_OP_LE: return x <= want;
    case CF_OP_GE: return x >= want;
    }
    return 0;
}

int cf_status_holds(const cf_expect_t *e, const char *json, double server_time)
{
    double want = e->vkind == CF_VAL_SERVER_TIME ? server_time : e->number;
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    json_t *v;
    int is_len = 0, rc = -1;
    size_t len = 0;

    if (!root)
        return -1;
    v = lookup(root, e->key, &is_len, &len);
    if (v) {
        if (is_len)
            rc = e->vkind == CF_VAL_NUMBER ? compare_number(e, (double)len, want) : 0;
        else if (e->vkind == CF_VAL_NULL)
            rc = json_is_null(v);
        else if (e->vkind == CF_VAL_BOOL)
            rc = json_is_boolean(v) && json_is_true(v) == e->boolean;
        else if (e->vkind == CF_VAL_STRING)
            rc = json_is_string(v) && strcmp(json_string_value(v), e->string) == 0;
        else
            rc = json_is_number(v) && compare_number(e, json_number_value(v), want);
    }
    json_decref(root);
    return rc;
}

static int check_status(const cf_expect_t *e, const cf_observed_t *obs, char *detail, size_t dlen)
{
    double to = window_end(e, obs);
    size_t seen = 0, held = 0, missing = 0;
    double first_bad = -1;

    for (size_t i = 0; i < obs->n_samples; i++) {
        const cf_sample_t *s = &obs->samples[i];
        int r;
        if (s->t < e->from || s->t > to)
            continue;
        seen++;
        r = cf_status_holds(e, s->json, obs->start + s->t);
        if (r == 1)
            held++;
        else if (first_bad < 0)
            first_bad = s->t;
        if (r < 0)
            missing++;
    }
    if (seen == 0) {
        snprintf(detail, dlen, "no status file sample between %g s and %g s", e->from, to);
        return 0;
    }
    if (e->eventually ? held > 0 : held == seen) {
        snprintf(detail, dlen, "%s held in %zu of %zu samples", e->key, held, seen);
        return 1;
    }
    if (missing == seen)
        snprintf(detail, dlen, "%s missing from the status file (or not JSON) in all %zu samples", e->key, seen);
    else if (e->eventually)
        snprintf(detail, dlen, "%s never held between %g s and %g s (%zu samples)", e->key, e->from, to, seen);
    else
        snprintf(detail, dlen, "%s did not hold at %.1f s (%zu of %zu samples held)", e->key, first_bad, held, seen);
    return 0;
}

/* ---- expect reading: the metering mirror's active power readings against the status file ---- */

#define READING_MRIDS 64

typedef struct mirror_reading {
    char mrid[64];
    unsigned role;  /* the MirrorUsagePoint's roleFlags */
    int uom, flow, mult, accum;
} mirror_reading_t;

/* The text of the first <TAG>...</TAG> in [P, END) of a NUL-terminated body into OUT (cut to its size);
 * 1 if found. */
static int xml_text(const char *p, const char *end, const char *tag, char *out, size_t outlen)
{
    char open[48], close[48];
    const char *a, *b;
    size_t n;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    /* the bodies are NUL-terminated: search on, then keep to [P, END) */
    a = strstr(p, open);
    if (!a || a >= end)
        return 0;
    a += strlen(open);
    b = strstr(a, close);
    if (!b || b > end)
        return 0;
    n = (size_t)(b - a) < outlen - 1 ? (size_t)(b - a) : outlen - 1;
    memcpy(out, a, n);
    out[n] = '\0';
    return 1;
}

/* The integer in <TAG> within [P, END), or DFLT when the element is missing or not a number. */
static long xml_int(const char *p, const char *end, const char *tag, long dflt)
{
    char buf[32], *stop;
    long v;

    if (!xml_text(p, end, tag, buf, sizeof(buf)))
        return dflt;
    v = strtol(buf, &stop, 10);
    return stop == buf || *stop != '\0' ? dflt : v;
}

/* The status file's value of KEY ("a.b" or a sum "a.b+c.d") in JSON; 0 if some part is missing. */
static int status_sum(const char *json, const char *key, double *out)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    char part[128];
    int ok = root != NULL;

    *out = 0;
    while (ok && *key) {
        size_t n = strcspn(key, "+"), len;
        int is_len;
        json_t *v;
        if (n == 0 || n >= sizeof(part)) {
            ok = 0;
            break;
        }
        memcpy(part, key, n);
        part[n] = '\0';
        key += n + (key[n] == '+');
        v = lookup(root, part, &is_len, &len);
        ok = v && !is_len && json_is_number(v);
        if (ok)
            *out += json_number_value(v);
    }
    json_decref(root);
    return ok;
}

/* A reading of W at T agrees with E: with NUMBER, or with the status file as a sample within 1.5 s of T
 * had it (the file is rewritten every half second), or lies between two samples in a row there (a
 * value the site passed through in a ramp, between two writes); *SAID gets the nearest sample's value. */
static int reading_agrees(const cf_expect_t *e, const cf_observed_t *obs, double t, double w, double *said)
{
    double best = 1e9, prev = NAN;
    int ok = 0;

    if (!e->key) {
        *said = e->number;
        return compare_number(e, w, e->number);
    }
    *said = NAN;
    for (size_t i = 0; i < obs->n_samples; i++) {
        double v;
        if (fabs(obs->samples[i].t - t) > 1.5 || !status_sum(obs->samples[i].json, e->key, &v)) {
            prev = NAN;
            continue;
        }
        if (fabs(obs->samples[i].t - t) < best) {
            best = fabs(obs->samples[i].t - t);
            *said = v;
        }
        ok |= compare_number(e, w, v);
        if (!isnan(prev) && w >= fmin(prev, v) && w <= fmax(prev, v))
            ok = 1;
        prev = v;
    }
    return ok;
}

/* expect reading site|der: follow the MirrorMeterReadings the client POSTs (their ReadingType and the
 * roleFlags of their MirrorUsagePoint, by mRID, from the first post that names them); every active power
 * reading (uom 38) of the mirror with the role bit (site: isPremisesAggregationPoint, der: isDER), taken
 * to the status file's signs (site: import positive, DER: output positive) and scaled by its
 * powerOfTenMultiplier, must agree.  der-stored: the DER mirror's stored energy instead (CSIP-AUS v1.3
 * storage extension, CACTUS "readings-der-stored-energy"): uom 72 (Wh), instantaneous (accumulation
 * 12), as it is. */
static int check_reading(const cf_expect_t *e, const cf_observed_t *obs, char *detail, size_t dlen)
{
    mirror_reading_t known[READING_MRIDS];
    size_t n_known = 0, count = 0;
    unsigned want = strcmp(e->path, "site") == 0 ? 0x02 : 0x08;
    int stored = strcmp(e->path, "der-stored") == 0;
    const char *what = stored ? "stored energy" : "active power", *unit = stored ? "Wh" : "W";
    double to = window_end(e, obs);

    for (size_t i = 0; i < obs->n_ex; i++) {
        const cf_exchange_t *x = &obs->ex[i];
        const char *p = x->body, *first;
        char buf[64];
        unsigned role = 0;
        if (strcmp(x->method, "POST") != 0 || !p || !(first = strstr(p, "<MirrorMeterReading")))
            continue;
        if (xml_text(p, first, "roleFlags", buf, sizeof(buf)))
            role = (unsigned)strtoul(buf, NULL, 16);
        for (const char *m = first; m; m = strstr(m + 1, "<MirrorMeterReading")) {
            const char *mend = strstr(m, "</MirrorMeterReading>"), *rd;
            mirror_reading_t *r = NULL;
            if (m[19] != '>' && m[19] != ' ')
                continue; /* <MirrorMeterReadingList> */
            if (!mend || !xml_text(m, mend, "mRID", buf, sizeof(buf)))
                break;
            for (size_t k = 0; k < n_known && !r; k++)
                if (strcmp(known[k].mrid, buf) == 0)
                    r = &known[k];
            if (!r && n_known < READING_MRIDS) {
                r = &known[n_known++];
                memset(r, 0, sizeof(*r));
                snprintf(r->mrid, sizeof(r->mrid), "%s", buf);
                r->uom = -1;
            }
            if (!r)
                continue;
            if (role)
                r->role = role;
            if (strstr(m, "<ReadingType>") && strstr(m, "<ReadingType>") < mend) {
                const char *rt = strstr(m, "<ReadingType>");
                r->uom = (int)xml_int(rt, mend, "uom", -1);
                r->flow = (int)xml_int(rt, mend, "flowDirection", 0);
                r->mult = (int)xml_int(rt, mend, "powerOfTenMultiplier", 0);
                r->accum = (int)xml_int(rt, mend, "accumulationBehaviour", 0);
            }
            for (rd = strstr(m, "<Reading"); rd && rd[8] != '>' && rd[8] != ' '; rd = strstr(rd + 1, "<Reading"))
                ; /* not <ReadingType> */
            if (!rd || rd > mend || !(r->role & want) || x->t < e->from || x->t > to ||
                (stored ? r->uom != 72 || r->accum != 12 : r->uom != 38) ||
                !xml_text(rd, mend, "value", buf, sizeof(buf)))
                continue;
            {
                /* site: forward (1) is import, the status's positive; DER: reverse (19) is output */
                double w = strtod(buf, NULL) * pow(10.0, r->mult), said;
                if (!stored && ((want == 0x02 && r->flow == 19) || (want == 0x08 && r->flow == 1)))
                    w = -w;
                if (!reading_agrees(e, obs, x->t, w, &said)) {
                    snprintf(detail, dlen, "the %s reading posted at %.1f s says %.0f %s, but %s was %.0f (+- %g)",
                             e->path, x->t, w, unit, e->key ? e->key : "the case wants", said, e->tolerance);
                    return 0;
                }
                count++;
            }
        }
    }
    if (count < e->count_min || (e->count_max && count > e->count_max)) {
        snprintf(detail, dlen, "expected %u..%u %s %s reading(s) between %g s and %g s (0: no limit), "
                 "saw %zu", e->count_min, e->count_max, e->path, what, e->from, to, count);
        return 0;
    }
    snprintf(detail, dlen, "%zu %s %s reading(s), each agreeing", count, e->path, what);
    return 1;
}

const char *cf_tls_outcome_name(cf_tls_outcome o)
{
    return o == CF_TLS_COMPLETED ? "completed" : o == CF_TLS_FAILED ? "failed" : "refused";
}

/* expect handshake OUTCOME: count the client's TLS handshakes that ended so (PATH holds OUTCOME). */
static int check_handshake(const cf_expect_t *e, const cf_observed_t *obs, const cf_handshake_t *hs, size_t n_hs,
                           char *detail, size_t dlen)
{
    double to = window_end(e, obs), first = -1;
    size_t count = 0;
    const char *any_detail = "";

    for (size_t i = 0; i < n_hs; i++) {
        const cf_handshake_t *h = &hs[i];
        int ok = h->t >= e->from && h->t <= to &&
                 (strcmp(e->path, "any") == 0 || strcmp(e->path, cf_tls_outcome_name(h->outcome)) == 0);
        for (unsigned k = 0; ok && k < e->n_has; k++)
            ok = strstr(h->detail, e->has[k]) != NULL;
        if (!ok)
            continue;
        if (first < 0) {
            first = h->t;
            any_detail = h->detail;
        }
        count++;
    }
    if (e->kind == CF_EXP_NO_HANDSHAKE) {
        if (count == 0)
            snprintf(detail, dlen, "no TLS handshake %s, as required (%zu begun)", e->path, n_hs);
        else
            snprintf(detail, dlen, "TLS handshake %s %zu time(s), first at %.1f s, but must not be", e->path, count,
                     first);
        return count == 0;
    }
    if (count < e->count_min) {
        snprintf(detail, dlen, "expected a TLS handshake %s%s between %g s and %g s at least %u time(s), saw %zu "
                 "(of %zu handshake(s) begun)", strcmp(e->path, "any") == 0 ? "begun" : e->path,
                 e->n_has ? " (with the required detail)" : "", e->from, to, e->count_min, count, n_hs);
        return 0;
    }
    if (e->count_max && count > e->count_max) {
        snprintf(detail, dlen, "TLS handshake %s %zu times between %g s and %g s, at most %u allowed", e->path, count,
                 e->from, to, e->count_max);
        return 0;
    }
    snprintf(detail, dlen, "TLS handshake %s %zu time(s), first at %.1f s%s%s", e->path, count, first,
             any_detail[0] ? ": " : "", any_detail);
    return 1;
}

int cf_expect_check_tls(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers, size_t n_headers,
                        const cf_handshake_t *hs, size_t n_hs, char *detail, size_t dlen)
{
    if (e->kind == CF_EXP_HANDSHAKE || e->kind == CF_EXP_NO_HANDSHAKE)
        return check_handshake(e, obs, hs, n_hs, detail, dlen);
    return cf_expect_check_headers(e, obs, headers, n_headers, detail, dlen);
}

int cf_expect_check(const cf_expect_t *e, const cf_observed_t *obs, char *detail, size_t dlen)
{
    return cf_expect_check_headers(e, obs, NULL, 0, detail, dlen);
}

int cf_expect_check_signed(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers,
                           size_t n_headers, oadr_sig_t *sig, double real_start, char *detail, size_t dlen)
{
    double to = window_end(e, obs);
    size_t count = 0;

    for (size_t i = 0; i < obs->n_ex; i++) {
        const cf_exchange_t *x = &obs->ex[i];
        char why[256] = "the head-end has no verifier";
        if (!request_matches(e, x, headers && i < n_headers ? headers[i] : NULL, to))
            continue;
        if (!sig || oadr_sig_verify(sig, x->body, strlen(x->body), real_start + x->t, OADR_SIG_DEFAULT_SKEW_S, why,
                                    sizeof(why)) < 0) {
            snprintf(detail, dlen, "%s %s at %.1f s is not validly signed: %s", e->method, x->path, x->t, why);
            return 0;
        }
        count++;
    }
    if (count < e->count_min || (e->count_max && count > e->count_max)) {
        snprintf(detail, dlen, "expected %u..%u signed %s %s between %g s and %g s, saw %zu", e->count_min,
                 e->count_max, e->method, e->path, e->from, to, count);
        return 0;
    }
    snprintf(detail, dlen, "%s %s: %zu request(s), each validly signed", e->method, e->path, count);
    return 1;
}

int cf_expect_check_headers(const cf_expect_t *e, const cf_observed_t *obs, const char *const *headers,
                            size_t n_headers, char *detail, size_t dlen)
{
    double to;
    size_t count = 0;
    double first = -1;

    if (e->kind == CF_EXP_SIGNED)
        return cf_expect_check_signed(e, obs, headers, n_headers, NULL, 0, detail, dlen);
    if (e->kind == CF_EXP_STATUS)
        return check_status(e, obs, detail, dlen);
    if (e->kind == CF_EXP_READING)
        return check_reading(e, obs, detail, dlen);
    if (e->kind == CF_EXP_HANDSHAKE || e->kind == CF_EXP_NO_HANDSHAKE)
        return check_handshake(e, obs, NULL, 0, detail, dlen);
    to = window_end(e, obs);
    for (size_t i = 0; i < obs->n_ex; i++)
        if (request_matches(e, &obs->ex[i], headers && i < n_headers ? headers[i] : NULL, to)) {
            if (first < 0)
                first = obs->ex[i].t;
            count++;
        }
    if (e->kind == CF_EXP_NO_REQUEST) {
        if (count == 0) {
            snprintf(detail, dlen, "no %s %s, as required", e->method, e->path);
            return 1;
        }
        snprintf(detail, dlen, "%s %s sent %zu time(s), first at %.1f s, but must not be", e->method, e->path,
                 count, first);
        return 0;
    }
    if (count < e->count_min) {
        snprintf(detail, dlen, "expected %s %s%s between %g s and %g s at least %u time(s), saw %zu", e->method,
                 e->path, e->n_has || e->n_has_bits || e->n_has_header || e->json ? " (with the required content)" : "",
                 e->from, to, e->count_min, count);
        return 0;
    }
    if (e->count_max && count > e->count_max) {
        snprintf(detail, dlen, "%s %s sent %zu times between %g s and %g s, at most %u allowed", e->method, e->path,
                 count, e->from, to, e->count_max);
        return 0;
    }
    snprintf(detail, dlen, "%s %s seen %zu time(s), first at %.1f s", e->method, e->path, count, first);
    return 1;
}

/* ---- what every request must be ------------------------------------------------------------------- */

/* The value of header NAME in LINES ("Name: value\n" each), its length in *LEN; NULL if absent. */
static const char *header_value(const char *lines, const char *name, size_t *len)
{
    size_t nl = strlen(name);

    for (const char *p = lines; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < p + ll && (*v == ' ' || *v == '\t'))
                v++;
            *len = (size_t)(p + ll - v);
            return v;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/* Is the media type (VALUE, LEN bytes, parameters allowed after ';') WANT? */
static int media_is(const char *value, size_t len, const char *want)
{
    size_t wl = strlen(want), n = 0;

    while (n < len && value[n] != ';' && value[n] != ' ' && value[n] != '\t')
        n++;
    return n == wl && strncasecmp(value, want, wl) == 0;
}

/* Does PATH (its query left out) end with SUFFIX? */
static int path_ends(const char *path, const char *suffix)
{
    size_t n = strcspn(path, "?"), sl = strlen(suffix);
    return n >= sl && strncmp(path + n - sl, suffix, sl) == 0;
}

int cf_wire_check(const char *suite, const cf_observed_t *obs, const char *const *headers, size_t n_headers,
                  char *detail, size_t detail_len)
{
    int json = strcmp(suite, "oadr3") == 0;
    const ge_xml_schema_t *schema = json ? NULL : ge_xml_schema_find(strcmp(suite, "oadr20b") == 0 ? "oadr20b" : "sep");
    const char *media = json ? "application/json" : schema == &ge_xml_schema_oadr20b ? "application/xml"
                                                                                      : "application/sep+xml";
    const char *what = json ? "JSON" : schema == &ge_xml_schema_oadr20b ? "OpenADR 2.0b" : "IEEE 2030.5";
    ge_xml_decoder_t *dec = NULL;
    ge_arena_t *arena = NULL;
    int ok = 1;

    if (!json && (!schema || ge_xml_decoder_new(&dec, NULL, NULL, NULL) < 0 ||
                  ge_arena_new(&arena, NULL, 0, (size_t)16 << 20) < 0)) {
        snprintf(detail, detail_len, "wire: cannot set up the %s decoder", what);
        ge_xml_decoder_free(dec);
        return 0;
    }
    for (size_t i = 0; ok && i < obs->n_ex; i++) {
        const cf_exchange_t *x = &obs->ex[i];
        int request = strcmp(x->method, "POST") == 0 || strcmp(x->method, "PUT") == 0;
        int answer = strncmp(x->method, "SEND ", 5) == 0 && x->status >= 200 && x->status < 300;
        size_t blen = strlen(x->body);
        char why[300] = "";

        /* OpenADR 3.0's token request (fetchToken) is a form, not JSON */
        int form = json && request && path_ends(x->path, "/auth/token");
        const char *want = form ? "application/x-www-form-urlencoded" : media;

        if ((!request && !answer) || blen == 0)
            continue;
        if (request && headers && i < n_headers && headers[i]) {
            size_t vl = 0;
            const char *v = header_value(headers[i], "Content-Type", &vl);
            if (!v)
                snprintf(why, sizeof(why), "no Content-Type (the body needs %s)", want);
            else if (!media_is(v, vl, want))
                snprintf(why, sizeof(why), "Content-Type %.*s, not %s", (int)(vl < 80 ? vl : 80), v, want);
        }
        if (!why[0] && json && !form) {
            json_error_t je;
            json_t *j = json_loadb(x->body, blen, 0, &je);
            if (!j)
                snprintf(why, sizeof(why), "not JSON: %d:%d: %s", je.line, je.column, je.text);
            json_decref(j);
        } else if (!why[0] && !json) {
            ge_xml_msg_t msg;
            ge_arena_reset(arena);
            if (ge_xml_decode(dec, schema, arena, x->body, blen, &msg) < 0) {
                const ge_xml_error_t *e = ge_xml_decoder_error(dec);
                snprintf(why, sizeof(why), "not a valid %s document: %lu:%lu: %s", what, e->line, e->col, e->msg);
            }
        }
        if (why[0]) {
            ok = 0;
            if (answer) /* "SEND POST": the head-end's send, the client's answer */
                snprintf(detail, detail_len, "wire: the answer to %s %s at %.1f s: %s", x->method + 5, x->path, x->t,
                         why);
            else
                snprintf(detail, detail_len, "wire: %s %s at %.1f s: %s", x->method, x->path, x->t, why);
        }
    }
    ge_xml_decoder_free(dec);
    ge_arena_free(arena);
    return ok;
}
