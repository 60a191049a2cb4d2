/* case.c - parse conformance case files (format in case.h and docs/conformance.md). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/pki.h>

#include "conformance/case.h"

/* Words on one directive line (comment lines are not split into words). */
#define MAX_TOKENS 64

typedef struct parser {
    const char *name;
    ge_arena_t *arena;
    unsigned line;
    char *err;
    size_t errlen;
    cf_case_t *c;
    size_t cap_actions, cap_expects;
    int rc; /* the code of the last error reported */
    cf_include_fn include;
    void *include_ud;
    int depth;
} parser_t;

typedef struct token {
    const char *s; /* NUL-terminated, in the arena */
    int quoted;
} token_t;

static int perr(parser_t *ps, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(parser_t *ps, int rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    ps->rc = rc;
    if (!ps->err || ps->errlen == 0)
        return rc;
    n = snprintf(ps->err, ps->errlen, "%s:%u: error: ", ps->name, ps->line);
    if (n >= 0 && (size_t)n < ps->errlen) {
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int nomem(parser_t *ps)
{
    return perr(ps, GE_ERR_NOMEM, "out of memory (the case is too big)");
}

/* Split [p, end) into tokens; double-quoted tokens may hold spaces, \" and \\. */
static int tokenize(parser_t *ps, const char *p, const char *end, token_t *tok, int *ntok)
{
    int n = 0;

    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p >= end)
            break;
        if (n == MAX_TOKENS)
            return perr(ps, GE_ERR_PARSE, "too many words on one line (at most %d)", MAX_TOKENS);
        if (*p == '"') {
            char *out = ge_arena_alloc(ps->arena, (size_t)(end - p), 1);
            size_t k = 0;
            if (!out)
                return nomem(ps);
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
                    p++;
                out[k++] = *p;
            }
            if (p >= end)
                return perr(ps, GE_ERR_PARSE, "unterminated quoted string");
            out[k] = '\0';
            p++;
            tok[n].s = out;
            tok[n].quoted = 1;
        } else {
            const char *s = p;
            while (p < end && *p != ' ' && *p != '\t')
                p++;
            tok[n].s = ge_arena_strndup(ps->arena, s, (size_t)(p - s));
            if (!tok[n].s)
                return nomem(ps);
            tok[n].quoted = 0;
        }
        n++;
    }
    *ntok = n;
    return 0;
}

static int number(parser_t *ps, const char *what, const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return perr(ps, GE_ERR_PARSE, "%s must be a number from %g to %g, not '%s'", what, min, max, s);
    *out = v;
    return 0;
}

static int integer(parser_t *ps, const char *what, const char *s, int min, int max, int *out)
{
    double v;
    int rc = number(ps, what, s, min, max, &v);

    if (rc)
        return rc;
    if (v != (double)(int)v)
        return perr(ps, GE_ERR_PARSE, "%s must be a whole number, not '%s'", what, s);
    *out = (int)v;
    return 0;
}

static int valid_path(parser_t *ps, const char *s)
{
    if (s[0] != '/' || strlen(s) > 512)
        return perr(ps, GE_ERR_PARSE, "a path starts with '/' and has at most 512 characters, not '%s'", s);
    return 0;
}

/* What `expect request ... json NAME` checks: the required properties (and their JSON types) of the
 * OpenAPI component NAME of the OpenADR 3.0.1 API, as "path:type" rules; "a[]" steps into every
 * element of array a; types: s string, i integer, n number, a array, o object. */
static const struct {
    const char *name;
    const char *rules[12];
} json_schemas[] = {
    { "any", { NULL } },
    { "ven", { ":o", "venName:s", NULL } },
    { "resource", { ":o", "resourceName:s", NULL } },
    { "report", { ":o", "programID:s", "eventID:s", "clientName:s", "resources:a", "resources[]:o",
                  "resources[].resourceName:s", "resources[].intervals:a", "resources[].intervals[].id:i",
                  "resources[].intervals[].payloads[].type:s", "resources[].intervals[].payloads[].values:a", NULL } },
    { "subscription", { ":o", "clientName:s", "programID:s", "objectOperations:a", "objectOperations[].objects:a",
                        "objectOperations[].operations:a", "objectOperations[].callbackUrl:s", NULL } },
};

const char *const *cf_json_schema_rules(const char *name)
{
    for (size_t i = 0; i < sizeof(json_schemas) / sizeof(json_schemas[0]); i++)
        if (strcmp(json_schemas[i].name, name) == 0)
            return json_schemas[i].rules;
    return NULL;
}

static int valid_method(parser_t *ps, const char *s)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "HEAD", NULL };
    for (const char *const *m = methods; *m; m++)
        if (strcmp(*m, s) == 0)
            return 0;
    return perr(ps, GE_ERR_PARSE, "unknown HTTP method '%s'", s);
}

static cf_action_t *new_action(parser_t *ps, cf_action_kind kind)
{
    cf_case_t *c = ps->c;
    cf_action_t *a;

    if (c->n_actions == CF_CASE_MAX_ACTIONS) {
        perr(ps, GE_ERR_LIMIT, "too many resources, faults and replies (at most %u)", CF_CASE_MAX_ACTIONS);
        return NULL;
    }
    if (c->n_actions == ps->cap_actions) {
        size_t cap = ps->cap_actions ? ps->cap_actions * 2 : 16;
        cf_action_t *na = ge_arena_alloc(ps->arena, cap * sizeof(*na), 0);
        if (!na) {
            nomem(ps);
            return NULL;
        }
        if (c->n_actions)
            memcpy(na, c->actions, c->n_actions * sizeof(*na));
        c->actions = na;
        ps->cap_actions = cap;
    }
    a = &c->actions[c->n_actions++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    a->line = ps->line;
    a->until = -1;
    a->body = "";
    return a;
}

static cf_expect_t *new_expect(parser_t *ps, cf_expect_kind kind, const char *text)
{
    cf_case_t *c = ps->c;
    cf_expect_t *e;

    if (c->n_expects == CF_CASE_MAX_EXPECTS) {
        perr(ps, GE_ERR_LIMIT, "too many expectations (at most %u)", CF_CASE_MAX_EXPECTS);
        return NULL;
    }
    if (c->n_expects == ps->cap_expects) {
        size_t cap = ps->cap_expects ? ps->cap_expects * 2 : 16;
        cf_expect_t *ne = ge_arena_alloc(ps->arena, cap * sizeof(*ne), 0);
        if (!ne) {
            nomem(ps);
            return NULL;
        }
        if (c->n_expects)
            memcpy(ne, c->expects, c->n_expects * sizeof(*ne));
        c->expects = ne;
        ps->cap_expects = cap;
    }
    e = &c->expects[c->n_expects++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->line = ps->line;
    e->text = text;
    e->to = -1;
    e->count_min = kind == CF_EXP_REQUEST || kind == CF_EXP_ANSWER || kind == CF_EXP_HANDSHAKE ||
                           kind == CF_EXP_SIGNED || kind == CF_EXP_READING
                       ? 1
                       : 0;
    return e;
}

/* Options after "resource PATH" / "reply METHOD PATH": status N, type T, if-has S, times N, location P,
 * from T, until T (a reply only in that window). */
static int block_options(parser_t *ps, cf_action_t *a, const token_t *t, int i, int n)
{
    int rc = 0;

    for (; i < n && rc == 0; i += 2) {
        const char *k = t[i].s;
        if (i + 1 >= n)
            return perr(ps, GE_ERR_PARSE, "'%s' needs a value", k);
        if (strcmp(k, "status") == 0) {
            rc = integer(ps, "status", t[i + 1].s, 100, 599, &a->status);
        } else if (strcmp(k, "type") == 0) {
            a->type = t[i + 1].s;
        } else if (strcmp(k, "if-has") == 0 && a->kind == CF_ACT_REPLY) {
            a->match = t[i + 1].s;
        } else if (strcmp(k, "location") == 0 && a->kind == CF_ACT_REPLY) {
            rc = valid_path(ps, t[i + 1].s);
            a->location = t[i + 1].s;
        } else if (strcmp(k, "from") == 0 && a->kind == CF_ACT_REPLY) {
            rc = number(ps, "from", t[i + 1].s, 0, 86400, &a->from);
        } else if (strcmp(k, "until") == 0 && a->kind == CF_ACT_REPLY) {
            rc = number(ps, "until", t[i + 1].s, 0, 86400, &a->until);
        } else if (strcmp(k, "if-header") == 0 && a->kind == CF_ACT_REPLY) {
            a->if_header = t[i + 1].s;
        } else if (strcmp(k, "unless-header") == 0 && a->kind == CF_ACT_REPLY) {
            a->unless_header = t[i + 1].s;
        } else if (strcmp(k, "times") == 0 && a->kind == CF_ACT_REPLY) {
            int v;
            rc = integer(ps, "times", t[i + 1].s, 1, 1000000, &v);
            a->times = (unsigned)v;
        } else {
            return perr(ps, GE_ERR_PARSE, "unknown option '%s'", k);
        }
    }
    return rc;
}

static int parse_fault(parser_t *ps, const token_t *t, int n)
{
    cf_action_t *a;
    int i = 3, rc;

    if (n < 3)
        return perr(ps, GE_ERR_PARSE, "fault PATH status N|close|garbage|delay MS [times N] [from T] [until T]");
    if ((rc = valid_path(ps, t[1].s)))
        return rc;
    if (!(a = new_action(ps, CF_ACT_FAULT)))
        return ps->rc;
    a->path = t[1].s;
    if (strcmp(t[2].s, "close") == 0) {
        a->fault = CF_FAULT_CLOSE;
    } else if (strcmp(t[2].s, "garbage") == 0) {
        a->fault = CF_FAULT_GARBAGE;
    } else if (strcmp(t[2].s, "status") == 0 || strcmp(t[2].s, "delay") == 0) {
        if (n < 4)
            return perr(ps, GE_ERR_PARSE, "'%s' needs a value", t[2].s);
        if (t[2].s[0] == 's') {
            a->fault = CF_FAULT_STATUS;
            rc = integer(ps, "status", t[3].s, 100, 599, &a->status);
        } else {
            a->fault = CF_FAULT_DELAY;
            rc = integer(ps, "delay", t[3].s, 0, 600000, &a->delay_ms);
        }
        if (rc)
            return rc;
        i = 4;
    } else {
        return perr(ps, GE_ERR_PARSE, "unknown fault '%s' (status, close, garbage, delay)", t[2].s);
    }
    for (; i < n; i += 2) {
        if (i + 1 >= n)
            return perr(ps, GE_ERR_PARSE, "'%s' needs a value", t[i].s);
        if (strcmp(t[i].s, "times") == 0) {
            int v;
            if ((rc = integer(ps, "times", t[i + 1].s, 1, 1000000, &v)))
                return rc;
            a->times = (unsigned)v;
        } else if (strcmp(t[i].s, "from") == 0) {
            if ((rc = number(ps, "from", t[i + 1].s, 0, 86400, &a->from)))
                return rc;
        } else if (strcmp(t[i].s, "until") == 0) {
            if ((rc = number(ps, "until", t[i + 1].s, 0, 86400, &a->until)))
                return rc;
        } else if (strcmp(t[i].s, "if-header") == 0) {
            a->if_header = t[i + 1].s;
        } else if (strcmp(t[i].s, "unless-header") == 0) {
            a->unless_header = t[i + 1].s;
        } else {
            return perr(ps, GE_ERR_PARSE, "unknown option '%s'", t[i].s);
        }
    }
    return 0;
}

static int parse_window(parser_t *ps, const token_t *t, int i, int n, double *from, double *to)
{
    int rc;

    if (i + 2 >= n)
        return perr(ps, GE_ERR_PARSE, "'%s' needs two times, FROM and TO", t[i].s);
    if ((rc = number(ps, "window start", t[i + 1].s, 0, 86400, from)) ||
        (rc = number(ps, "window end", t[i + 2].s, 0, 86400, to)))
        return rc;
    if (*to < *from)
        return perr(ps, GE_ERR_PARSE, "the window ends (%g) before it starts (%g)", *to, *from);
    return 0;
}

/* `count MIN [MAX]` at T[*I]: sets E's bounds and moves *I past them. */
static int parse_count(parser_t *ps, cf_expect_t *e, const token_t *t, int *i, int n)
{
    int lo, hi = 0, rc;

    if (*i + 1 >= n)
        return perr(ps, GE_ERR_PARSE, "'count' needs MIN [MAX]");
    if ((rc = integer(ps, "count", t[*i + 1].s, 0, 1000000, &lo)))
        return rc;
    *i += 2;
    if (*i < n && t[*i].s[0] >= '0' && t[*i].s[0] <= '9') {
        if ((rc = integer(ps, "count maximum", t[*i].s, lo > 1 ? lo : 1, 1000000, &hi)))
            return rc;
        (*i)++;
    }
    e->count_min = (unsigned)lo;
    e->count_max = (unsigned)hi;
    return 0;
}

static int parse_expect_request(parser_t *ps, cf_expect_t *e, const token_t *t, int n)
{
    int rc, i = 4;

    if (e->kind == CF_EXP_HANDSHAKE || e->kind == CF_EXP_NO_HANDSHAKE) {
        /* expect [no-]handshake OUTCOME ...: the outcome stands where a request has its path */
        static const char *const outcomes[] = { "completed", "refused", "failed", "any" };
        size_t k = 0;
        while (n >= 3 && k < sizeof(outcomes) / sizeof(outcomes[0]) && strcmp(t[2].s, outcomes[k]) != 0)
            k++;
        if (n < 3 || k == sizeof(outcomes) / sizeof(outcomes[0]))
            return perr(ps, GE_ERR_PARSE, "expect %s completed|refused|failed|any [within T1 T2] [has \"TEXT\"]%s",
                        t[1].s, e->kind == CF_EXP_HANDSHAKE ? " [count MIN [MAX]]" : "");
        e->method = "TLS";
        e->path = outcomes[k];
        i = 3;
    } else if (strcmp(t[1].s, "dnssd-query") == 0) {
        /* the DNS-SD questions the client asked are exchanges "DNS", path: "TYPE name" */
        e->method = "DNS";
        e->path = "*";
        i = 2;
    } else if (n < 4) {
        return perr(ps, GE_ERR_PARSE, "expect %s METHOD PATH ...", t[1].s);
    } else {
        if ((rc = valid_method(ps, t[2].s)) || (rc = valid_path(ps, t[3].s)))
            return rc;
        e->method = t[2].s;
        e->path = t[3].s;
    }
    for (; i < n;) {
        const char *k = t[i].s;
        if (strcmp(k, "within") == 0) {
            if ((rc = parse_window(ps, t, i, n, &e->from, &e->to)))
                return rc;
            i += 3;
        } else if (strcmp(k, "has") == 0) {
            if (i + 1 >= n)
                return perr(ps, GE_ERR_PARSE, "'has' needs a string");
            if (e->n_has == CF_MAX_HAS)
                return perr(ps, GE_ERR_PARSE, "at most %d 'has' per expectation", CF_MAX_HAS);
            e->has[e->n_has++] = t[i + 1].s;
            i += 2;
        } else if ((strcmp(k, "has-bits") == 0 || strcmp(k, "has-any-bits") == 0) && e->kind != CF_EXP_HANDSHAKE &&
                   e->kind != CF_EXP_NO_HANDSHAKE && e->kind != CF_EXP_STATUS) {
            char *end;
            if (i + 2 >= n)
                return perr(ps, GE_ERR_PARSE, "'%s' needs an element name and a hex mask", k);
            if (e->n_has_bits == CF_MAX_HAS)
                return perr(ps, GE_ERR_PARSE, "at most %d 'has-bits' and 'has-any-bits' per expectation", CF_MAX_HAS);
            unsigned long long mask = strtoull(t[i + 2].s, &end, 16);
            if (!*t[i + 1].s || !isxdigit((unsigned char)t[i + 2].s[0]) || *end || strlen(t[i + 2].s) > 16 || mask == 0)
                return perr(ps, GE_ERR_PARSE, "'%s %s' needs a non-zero hex mask of at most 16 digits, not '%s'", k,
                            t[i + 1].s, t[i + 2].s);
            e->has_bits_any[e->n_has_bits] = strcmp(k, "has-any-bits") == 0;
            e->has_bits_elem[e->n_has_bits] = t[i + 1].s;
            e->has_bits_mask[e->n_has_bits++] = mask;
            i += 3;
        } else if (strcmp(k, "has-header") == 0 && e->kind != CF_EXP_HANDSHAKE && e->kind != CF_EXP_NO_HANDSHAKE) {
            if (i + 1 >= n)
                return perr(ps, GE_ERR_PARSE, "'has-header' needs a string");
            if (e->n_has_header == CF_MAX_HAS)
                return perr(ps, GE_ERR_PARSE, "at most %d 'has-header' per expectation", CF_MAX_HAS);
            e->has_header[e->n_has_header++] = t[i + 1].s;
            i += 2;
        } else if (strcmp(k, "json") == 0 && e->kind == CF_EXP_REQUEST) {
            if (i + 1 >= n || !cf_json_schema_rules(t[i + 1].s))
                return perr(ps, GE_ERR_PARSE, "'json' needs a schema name (any, ven, resource, report, subscription)%s%s",
                            i + 1 < n ? ", not " : "", i + 1 < n ? t[i + 1].s : "");
            e->json = t[i + 1].s;
            i += 2;
        } else if (strcmp(k, "count") == 0 && e->kind != CF_EXP_NO_REQUEST && e->kind != CF_EXP_NO_HANDSHAKE) {
            if ((rc = parse_count(ps, e, t, &i, n)))
                return rc;
        } else if (strcmp(k, "status") == 0 && e->kind == CF_EXP_ANSWER) {
            if (i + 1 >= n)
                return perr(ps, GE_ERR_PARSE, "'status' needs an HTTP status (100..599)");
            if ((rc = integer(ps, "status", t[i + 1].s, 100, 599, &e->status)))
                return rc;
            i += 2;
        } else {
            return perr(ps, GE_ERR_PARSE, "unknown option '%s'", k);
        }
    }
    return 0;
}

static int parse_expect_status(parser_t *ps, cf_expect_t *e, const token_t *t, int n)
{
    int rc, i = 5;

    /* expect status KEY OP VALUE [+- TOL] (during|eventually) FROM TO */
    if (n < 8)
        return perr(ps, GE_ERR_PARSE, "expect status KEY =|<=|>= VALUE [+- TOL] during|eventually FROM TO");
    e->key = t[2].s;
    if (strcmp(t[3].s, "=") == 0)
        e->op = CF_OP_EQ;
    else if (strcmp(t[3].s, "<=") == 0)
        e->op = CF_OP_LE;
    else if (strcmp(t[3].s, ">=") == 0)
        e->op = CF_OP_GE;
    else
        return perr(ps, GE_ERR_PARSE, "unknown comparison '%s' (=, <=, >=)", t[3].s);
    if (t[4].quoted) {
        e->vkind = CF_VAL_STRING;
        e->string = t[4].s;
    } else if (strcmp(t[4].s, "null") == 0) {
        e->vkind = CF_VAL_NULL;
    } else if (strcmp(t[4].s, "{server-time}") == 0) {
        e->vkind = CF_VAL_SERVER_TIME;
    } else if (strcmp(t[4].s, "true") == 0 || strcmp(t[4].s, "false") == 0) {
        e->vkind = CF_VAL_BOOL;
        e->boolean = t[4].s[0] == 't';
    } else {
        e->vkind = CF_VAL_NUMBER;
        if ((rc = number(ps, "value", t[4].s, -1e12, 1e12, &e->number)))
            return rc;
    }
    if (e->vkind != CF_VAL_NUMBER && e->vkind != CF_VAL_SERVER_TIME && e->op != CF_OP_EQ)
        return perr(ps, GE_ERR_PARSE, "only numbers compare with <= and >=");
    if (strcmp(t[5].s, "+-") == 0) {
        if ((e->vkind != CF_VAL_NUMBER && e->vkind != CF_VAL_SERVER_TIME) || e->op != CF_OP_EQ)
            return perr(ps, GE_ERR_PARSE, "a tolerance goes with '= NUMBER' only");
        if ((rc = number(ps, "tolerance", t[6].s, 0, 1e12, &e->tolerance)))
            return rc;
        i = 7;
    }
    if (strcmp(t[i].s, "during") == 0)
        e->eventually = 0;
    else if (strcmp(t[i].s, "eventually") == 0)
        e->eventually = 1;
    else
        return perr(ps, GE_ERR_PARSE, "expected 'during' or 'eventually', not '%s'", t[i].s);
    if ((rc = parse_window(ps, t, i, n, &e->from, &e->to)))
        return rc;
    if (i + 3 != n)
        return perr(ps, GE_ERR_PARSE, "unexpected '%s' after the window", t[i + 3].s);
    return 0;
}

/* expect reading site|der|der-stored =|<=|>= VALUE|KEY[+KEY] [+- TOL] [within T1 T2] [count MIN [MAX]] */
static int parse_expect_reading(parser_t *ps, cf_expect_t *e, const token_t *t, int n)
{
    static const char usage[] =
        "expect reading site|der|der-stored =|<=|>= VALUE|KEY[+KEY] [+- TOL] [within T1 T2] [count MIN [MAX]]";
    int rc, i = 5;

    if (n < 5 || (strcmp(t[2].s, "site") != 0 && strcmp(t[2].s, "der") != 0 && strcmp(t[2].s, "der-stored") != 0))
        return perr(ps, GE_ERR_PARSE, "%s", usage);
    e->method = "POST";
    e->path = t[2].s;
    e->op = strcmp(t[3].s, "=") == 0 ? CF_OP_EQ : strcmp(t[3].s, "<=") == 0 ? CF_OP_LE : CF_OP_GE;
    if (e->op == CF_OP_GE && strcmp(t[3].s, ">=") != 0)
        return perr(ps, GE_ERR_PARSE, "unknown comparison '%s' (=, <=, >=)", t[3].s);
    e->vkind = CF_VAL_NUMBER;
    if ((t[4].s[0] >= 'a' && t[4].s[0] <= 'z') && !t[4].quoted) {
        if (e->op != CF_OP_EQ)
            return perr(ps, GE_ERR_PARSE, "a reading compares with a status key by '=' only");
        e->key = t[4].s;
    } else if ((rc = number(ps, "value", t[4].s, -1e9, 1e9, &e->number))) {
        return rc;
    }
    if (i + 1 < n && strcmp(t[i].s, "+-") == 0) {
        if (e->op != CF_OP_EQ)
            return perr(ps, GE_ERR_PARSE, "a tolerance goes with '=' only");
        if ((rc = number(ps, "tolerance", t[i + 1].s, 0, 1e9, &e->tolerance)))
            return rc;
        i += 2;
    }
    while (i < n) {
        if (strcmp(t[i].s, "within") == 0) {
            if ((rc = parse_window(ps, t, i, n, &e->from, &e->to)))
                return rc;
            i += 3;
        } else if (strcmp(t[i].s, "count") == 0) {
            if ((rc = parse_count(ps, e, t, &i, n)))
                return rc;
        } else {
            return perr(ps, GE_ERR_PARSE, "unknown option '%s' (%s)", t[i].s, usage);
        }
    }
    return 0;
}

static int parse_expect(parser_t *ps, const token_t *t, int n, const char *text)
{
    cf_expect_t *e;

    if (n < 2)
        return perr(ps, GE_ERR_PARSE,
                    "expect request|no-request|status|answer|handshake|no-handshake|dnssd-query|signed|reading ...");
    if (strcmp(t[1].s, "request") == 0 || strcmp(t[1].s, "dnssd-query") == 0)
        e = new_expect(ps, CF_EXP_REQUEST, text);
    else if (strcmp(t[1].s, "answer") == 0)
        e = new_expect(ps, CF_EXP_ANSWER, text);
    else if (strcmp(t[1].s, "no-request") == 0)
        e = new_expect(ps, CF_EXP_NO_REQUEST, text);
    else if (strcmp(t[1].s, "status") == 0)
        e = new_expect(ps, CF_EXP_STATUS, text);
    else if (strcmp(t[1].s, "handshake") == 0)
        e = new_expect(ps, CF_EXP_HANDSHAKE, text);
    else if (strcmp(t[1].s, "no-handshake") == 0)
        e = new_expect(ps, CF_EXP_NO_HANDSHAKE, text);
    else if (strcmp(t[1].s, "signed") == 0)
        e = new_expect(ps, CF_EXP_SIGNED, text);
    else if (strcmp(t[1].s, "reading") == 0)
        e = new_expect(ps, CF_EXP_READING, text);
    else
        return perr(ps, GE_ERR_PARSE, "unknown expectation '%s' (request, no-request, status, answer, handshake, "
                    "no-handshake, dnssd-query, signed, reading)",
                    t[1].s);
    if (!e)
        return ps->rc;
    if (e->kind == CF_EXP_READING)
        return parse_expect_reading(ps, e, t, n);
    return e->kind == CF_EXP_STATUS ? parse_expect_status(ps, e, t, n) : parse_expect_request(ps, e, t, n);
}

static int parse_text(parser_t *ps, const char *text, size_t len);

static int parse_include(parser_t *ps, const token_t *t, int n)
{
    const char *text, *saved_name = ps->name;
    unsigned saved_line = ps->line;
    size_t len;
    int rc;

    if (n != 2)
        return perr(ps, GE_ERR_PARSE, "include NAME");
    if (!ps->include)
        return perr(ps, GE_ERR_UNSUPPORTED, "include is not available here");
    if (ps->depth == CF_INCLUDE_DEPTH)
        return perr(ps, GE_ERR_LIMIT, "includes nested deeper than %d", CF_INCLUDE_DEPTH);
    if (ps->include(ps->include_ud, t[1].s, &text, &len) < 0)
        return perr(ps, GE_ERR_NOTFOUND, "no fragment called '%s' to include", t[1].s);
    ps->depth++;
    ps->name = t[1].s;
    ps->line = 0;
    rc = parse_text(ps, text, len);
    ps->depth--;
    if (rc == 0) {
        ps->name = saved_name;
        ps->line = saved_line;
    }
    return rc;
}

/* capture NAME METHOD PATH after "TEXT" before "TEXT" */
static int parse_capture(parser_t *ps, const token_t *t, int n)
{
    cf_action_t *a;
    size_t count = 0;
    int rc;

    if (n != 8 || strcmp(t[4].s, "after") != 0 || strcmp(t[6].s, "before") != 0 || !t[5].s[0] || !t[7].s[0])
        return perr(ps, GE_ERR_PARSE, "capture NAME METHOD PATH after \"TEXT\" before \"TEXT\"");
    for (const char *p = t[1].s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return perr(ps, GE_ERR_PARSE, "a capture's NAME is lower-case letters, digits and '_', not '%s'", t[1].s);
    if (strlen(t[1].s) > 32)
        return perr(ps, GE_ERR_PARSE, "capture NAME '%s' is longer than 32 characters", t[1].s);
    for (size_t i = 0; i < ps->c->n_actions; i++)
        if (ps->c->actions[i].kind == CF_ACT_CAPTURE) {
            count++;
            if (strcmp(ps->c->actions[i].name, t[1].s) == 0)
                return perr(ps, GE_ERR_PARSE, "capture '%s' is defined twice", t[1].s);
        }
    if (count == CF_MAX_CAPTURES)
        return perr(ps, GE_ERR_LIMIT, "at most %d captures", CF_MAX_CAPTURES);
    if ((rc = valid_method(ps, t[2].s)) || (rc = valid_path(ps, t[3].s)))
        return rc;
    if (!(a = new_action(ps, CF_ACT_CAPTURE)))
        return ps->rc;
    a->name = t[1].s;
    a->method = t[2].s;
    a->path = t[3].s;
    a->after = t[5].s;
    a->before = t[7].s;
    return 0;
}

/* at T send METHOD URL [type MEDIA] ... end */
static int parse_send(parser_t *ps, const token_t *t, int n, double at, cf_action_t **block)
{
    cf_action_t *a;
    int rc;

    if (n < 3 || (n - 3) % 2)
        return perr(ps, GE_ERR_PARSE, "at T send METHOD URL [type MEDIA]");
    if ((rc = valid_method(ps, t[1].s)))
        return rc;
    if (t[2].s[0] != '{' && strncmp(t[2].s, "http://", 7) != 0 && strncmp(t[2].s, "https://", 8) != 0)
        return perr(ps, GE_ERR_PARSE, "send needs an http:// URL or a {placeholder} one, not '%s'", t[2].s);
    if (!(a = new_action(ps, CF_ACT_SEND)))
        return ps->rc;
    a->at = at;
    a->method = t[1].s;
    a->path = t[2].s;
    for (int i = 3; i < n; i += 2) {
        if (strcmp(t[i].s, "type") != 0)
            return perr(ps, GE_ERR_PARSE, "unknown option '%s' (send takes type MEDIA)", t[i].s);
        a->type = t[i + 1].s;
    }
    *block = a;
    return 0;
}

/* at T restart [signal TERM|KILL] */
static int parse_restart(parser_t *ps, const token_t *t, int n, double at)
{
    cf_action_t *a;
    int sig = SIGTERM;

    if (n == 3 && strcmp(t[1].s, "signal") == 0 && (strcmp(t[2].s, "TERM") == 0 || strcmp(t[2].s, "KILL") == 0))
        sig = t[2].s[0] == 'K' ? SIGKILL : SIGTERM;
    else if (n != 1)
        return perr(ps, GE_ERR_PARSE, "at T restart [signal TERM|KILL]");
    if (!(a = new_action(ps, CF_ACT_RESTART)))
        return ps->rc;
    a->at = at;
    a->path = ""; /* no resource: the client process itself */
    a->signal = sig;
    return 0;
}

/* `dnssd [dcap PATH]` */
static int parse_dnssd(parser_t *ps, const token_t *t, int n)
{
    int rc;

    if (n != 1 && (n != 3 || strcmp(t[1].s, "dcap") != 0))
        return perr(ps, GE_ERR_PARSE, "dnssd [dcap PATH]");
    if (n == 3) {
        if ((rc = valid_path(ps, t[2].s)))
            return rc;
        if (strlen(t[2].s) > 200 || strpbrk(t[2].s, " \t"))
            return perr(ps, GE_ERR_PARSE, "the dcap path '%s' is too long for a TXT record", t[2].s);
        ps->c->dnssd_dcap = t[2].s;
    }
    ps->c->dnssd = 1;
    return 0;
}

/* One directive line.  *BLOCK is set when a body follows (up to a line "end"). */
static int parse_line(parser_t *ps, const char *p, const char *end, cf_action_t **block)
{
    token_t t[MAX_TOKENS];
    int n = 0, rc;
    double at = 0;
    const char *text;

    {
        const char *s = p;
        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s < end && *s == '#') /* a comment: any length, any words */
            return 0;
    }
    if ((rc = tokenize(ps, p, end, t, &n)))
        return rc;
    if (n == 0)
        return 0;
    text = ge_arena_strndup(ps->arena, p, (size_t)(end - p));
    if (!text)
        return nomem(ps);
    if (strcmp(t[0].s, "case") == 0) {
        if (n != 2)
            return perr(ps, GE_ERR_PARSE, "case ID");
        if (ps->c->id)
            return perr(ps, GE_ERR_PARSE, "a second 'case' line");
        ps->c->id = t[1].s;
        return 0;
    }
    if (strcmp(t[0].s, "duration") == 0 || strcmp(t[0].s, "time-offset") == 0) {
        if (n != 2)
            return perr(ps, GE_ERR_PARSE, "%s SECONDS", t[0].s);
        if (t[0].s[0] == 'd')
            return number(ps, "duration", t[1].s, 1, 86400, &ps->c->duration);
        return number(ps, "time-offset", t[1].s, -86400.0 * 366, 86400.0 * 366, &ps->c->time_offset);
    }
    if (strcmp(t[0].s, "include") == 0)
        return parse_include(ps, t, n);
    if (strcmp(t[0].s, "scheme") == 0) {
        if (n != 2 || (strcmp(t[1].s, "http") != 0 && strcmp(t[1].s, "https") != 0))
            return perr(ps, GE_ERR_PARSE, "scheme http|https");
        ps->c->scheme = t[1].s[4] == 's' ? CF_SCHEME_HTTPS : CF_SCHEME_HTTP;
        return 0;
    }
    if (strcmp(t[0].s, "server-chain") == 0) {
        ge_pki_chain shape;
        if (n != 2 || ge_pki_chain_parse(t[1].s, &shape) < 0)
            return perr(ps, GE_ERR_PARSE, "server-chain depth2|depth3|depth4|bad-eku-critical|bad-name-ext|"
                        "bad-policy-mapping|self-signed");
        ps->c->server_chain = t[1].s;
        return 0;
    }
    if (strcmp(t[0].s, "expect") == 0)
        return parse_expect(ps, t, n, text);
    if (strcmp(t[0].s, "sign-payloads") == 0) {
        if (n != 1)
            return perr(ps, GE_ERR_PARSE, "sign-payloads (no arguments)");
        ps->c->sign_payloads = 1;
        return 0;
    }
    if (strcmp(t[0].s, "dnssd") == 0)
        return parse_dnssd(ps, t, n);
    if (strcmp(t[0].s, "fault") == 0)
        return parse_fault(ps, t, n);
    if (strcmp(t[0].s, "at") == 0) {
        if (n < 3)
            return perr(ps, GE_ERR_PARSE, "at T resource|delete PATH");
        if ((rc = number(ps, "time", t[1].s, 0, 86400, &at)))
            return rc;
        memmove(t, t + 2, (size_t)(n - 2) * sizeof(t[0]));
        n -= 2;
        if (strcmp(t[0].s, "delete") == 0) {
            cf_action_t *a;
            if (n != 2)
                return perr(ps, GE_ERR_PARSE, "at T delete PATH");
            if ((rc = valid_path(ps, t[1].s)))
                return rc;
            if (!(a = new_action(ps, CF_ACT_DELETE)))
                return ps->rc;
            a->at = at;
            a->path = t[1].s;
            return 0;
        }
        if (strcmp(t[0].s, "send") == 0)
            return parse_send(ps, t, n, at, block);
        if (strcmp(t[0].s, "restart") == 0)
            return parse_restart(ps, t, n, at);
        if (strcmp(t[0].s, "owner") == 0) {
            /* the home owner's choices, the body up to `end` */
            cf_action_t *a;
            if (n != 1)
                return perr(ps, GE_ERR_PARSE, "at T owner (then the file's lines, then end)");
            if (!(a = new_action(ps, CF_ACT_OWNER)))
                return ps->rc;
            a->at = at;
            a->path = "";
            *block = a;
            return 0;
        }
        if (strcmp(t[0].s, "fault-file") == 0) {
            cf_action_t *a;
            if (n != 2 || !t[1].quoted)
                return perr(ps, GE_ERR_PARSE, "at T fault-file \"TEXT\"");
            if (!(a = new_action(ps, CF_ACT_FAULT_FILE)))
                return ps->rc;
            a->at = at;
            a->path = "";
            a->body = t[1].s;
            a->body_len = strlen(t[1].s);
            return 0;
        }
        if (strcmp(t[0].s, "resource") != 0)
            return perr(ps, GE_ERR_PARSE, "after 'at T' comes resource or delete (or send, restart, fault-file, owner), "
                        "not '%s'", t[0].s);
    }
    if (strcmp(t[0].s, "capture") == 0)
        return parse_capture(ps, t, n);
    if (strcmp(t[0].s, "resource") == 0) {
        cf_action_t *a;
        if (n < 2)
            return perr(ps, GE_ERR_PARSE, "resource PATH [status N] [type MEDIA]");
        if ((rc = valid_path(ps, t[1].s)))
            return rc;
        if (!(a = new_action(ps, CF_ACT_RESOURCE)))
            return ps->rc;
        a->at = at;
        a->path = t[1].s;
        a->status = 200;
        *block = a;
        return block_options(ps, a, t, 2, n);
    }
    if (strcmp(t[0].s, "reply") == 0) {
        cf_action_t *a;
        if (n < 3)
            return perr(ps, GE_ERR_PARSE,
                        "reply METHOD PATH [status N] [if-has S] [times N] [location P] [from T] [until T]");
        if ((rc = valid_method(ps, t[1].s)) || (rc = valid_path(ps, t[2].s)))
            return rc;
        if (!(a = new_action(ps, CF_ACT_REPLY)))
            return ps->rc;
        a->method = t[1].s;
        a->path = t[2].s;
        a->status = 200;
        *block = a;
        return block_options(ps, a, t, 3, n);
    }
    return perr(ps, GE_ERR_PARSE, "unknown directive '%s'", t[0].s);
}

static int parse_text(parser_t *ps, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    cf_action_t *block = NULL;
    const char *body_start = NULL;
    unsigned block_line = 0;
    int rc = 0;

    if (len > CF_CASE_MAX_BYTES)
        return perr(ps, GE_ERR_LIMIT, "the case file is larger than %u bytes", CF_CASE_MAX_BYTES);
    while (p < end && rc == 0) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *ce = le > p && le[-1] == '\r' ? le - 1 : le;

        ps->line++;
        if ((size_t)(ce - p) > CF_CASE_MAX_LINE) {
            rc = perr(ps, GE_ERR_LIMIT, "line longer than %u bytes", CF_CASE_MAX_LINE);
            break;
        }
        if (memchr(p, '\0', (size_t)(ce - p))) {
            rc = perr(ps, GE_ERR_PARSE, "NUL byte in the case file");
            break;
        }
        if (block) {
            const char *s = p, *e = ce;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (e - s == 3 && memcmp(s, "end", 3) == 0) {
                size_t blen = body_start ? (size_t)(p - body_start) : 0;
                /* the body is the lines between, without the last newline */
                if (blen && body_start[blen - 1] == '\n')
                    blen--;
                if (blen && body_start[blen - 1] == '\r')
                    blen--;
                if (blen > CF_CASE_MAX_BODY) {
                    rc = perr(ps, GE_ERR_LIMIT, "body longer than %u bytes", CF_CASE_MAX_BODY);
                    break;
                }
                block->body = blen ? ge_arena_strndup(ps->arena, body_start, blen) : "";
                block->body_len = blen;
                if (!block->body)
                    rc = nomem(ps);
                block = NULL;
                body_start = NULL;
            } else if (!body_start) {
                body_start = p;
            }
        } else {
            rc = parse_line(ps, p, ce, &block);
            block_line = ps->line;
        }
        p = eol ? eol + 1 : end;
    }
    if (rc == 0 && block) {
        ps->line = block_line;
        rc = perr(ps, GE_ERR_PARSE, "the body that starts here has no 'end' line");
    }
    return rc;
}

int cf_case_parse(const char *name, const char *text, size_t len, ge_arena_t *arena, cf_include_fn include,
                  void *include_ud, cf_case_t *out, char *err, size_t errlen)
{
    parser_t ps;
    int rc;

    memset(&ps, 0, sizeof(ps));
    ps.name = name;
    ps.arena = arena;
    ps.err = err;
    ps.errlen = errlen;
    ps.c = out;
    ps.include = include;
    ps.include_ud = include_ud;
    memset(out, 0, sizeof(*out));
    out->duration = 20;
    rc = parse_text(&ps, text, len);
    if (rc == 0 && !out->id) {
        ps.line = 1;
        rc = perr(&ps, GE_ERR_PARSE, "no 'case ID' line");
    }
    return rc;
}
