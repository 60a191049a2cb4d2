/* case.h - a conformance case as data: what the head-end serves over time, the faults it injects,
 * the replies it gives to the client's POSTs, and what it expects the client to do.  The file
 * format is line-based (docs/conformance.md has the full reference):
 *
 *   case CORE-012                       the ID; must match the catalogue
 *   include csip-base                   the lines of a shared fragment (resolved by the caller)
 *   duration 30                         seconds the client under test runs
 *   time-offset 7200                    server clock minus real clock, seconds
 *   scheme https                        http or https (default: https for 2030.5 suites)
 *   resource /derp/1/derc [status 200] [type application/sep+xml]
 *   <DERControlList ...> ... {now+60} ...
 *   end
 *   at 10 resource PATH ... end         replace (or add) a resource at t = 10 s
 *   at 12 delete PATH                   remove a resource (GET then gives 404)
 *   fault PATH status 503|close|garbage|delay MS [times N] [from T] [until T]
 *   reply POST /rsp [status 201] [if-has "TEXT"] [times N] [location PATH] [type MEDIA] [from T] [until T]
 *   ...optional body... end
 *   expect request POST /rsp [within T1 T2] [has "TEXT"]... [count MIN [MAX]]
 *          [has-header "Authorization: Bearer t"]... [json any|ven|resource|report|subscription]
 *   fault/reply ... [if-header "TEXT"] [unless-header "TEXT"]   only for requests whose headers do / don't hold TEXT
 *   expect no-request PUT /edev/1 [within T1 T2] [has "TEXT"]...
 *   capture NAME POST /reg after "<addr>" before "</addr>"   {NAME} := that text of the request's body
 *   at 8 send POST {NAME}/EiEvent [type MEDIA] ... end      the head-end POSTs the body to a client
 *   expect answer POST /EiEvent [within T1 T2] [has "TEXT"]... [count MIN [MAX]]   the client's answers
 *   expect status battery.power_w = 2000 +- 250 during 12 20
 *   expect status price = null eventually 0 10
 *   expect status time = {server-time} +- 2 during 5 15
 *   expect handshake refused|completed|failed|any [within T1 T2] [has "TEXT"]... [count MIN [MAX]]
 *   expect no-handshake completed|refused|failed|any [within T1 T2] [has "TEXT"]...
 *   server-chain depth2|depth3|depth4|bad-eku-critical|bad-name-ext|bad-policy-mapping|self-signed
 *                                       https: the server certificate chain the head-end presents
 *   dnssd [dcap PATH]                   answer DNS-SD for _smartenergy._tcp on 127.0.0.1:{dnssd} with
 *                                       the head-end's port; the client's argument holding {url} (and
 *                                       the option before it) is left out: it must discover the server
 *   expect dnssd-query [within T1 T2] [has "TEXT"]... [count MIN [MAX]]   the client asked ({dnssd})
 *   at 8 restart [signal TERM|KILL]     stop the client (default TERM) and start it again: same
 *                                       command line, state dir and status file
 *   at 8 fault-file "TEXT"              replace the content of the file {fault_file} with TEXT (a
 *                                       device simulator reads faults to raise from it; "" clears)
 *   at 8 owner ... end                  write the body (placeholders filled, as a send's) to
 *                                       {state_dir}/owner.ini: the home owner's choices (an INI file,
 *                                       gateway/owner.h); at 0: before the client starts
 *   sign-payloads                       OpenADR 2.0b: the head-end signs every payload it answers or
 *                                       sends with its own certificate (XML signature, oadr_sig.h)
 *   expect reading site|der = KEY[+KEY]|VALUE [+- TOL] [within T1 T2] [count MIN [MAX]]   (also <=, >= VALUE)
 *                                       the active power readings the client posts for its site / DER
 *                                       mirror agree with the status file (or VALUE); der-stored: the
 *                                       DER's stored energy readings (Wh, CSIP-AUS v1.3 storage)
 *   expect signed POST /EiEvent [within T1 T2] [has "TEXT"]... [count MIN [MAX]]   every such request
 *                                       carries a valid XML signature by a certificate under {ca},
 *                                       and there are MIN..MAX of them (default at least 1)
 *
 * Times are seconds after the client under test was started.  Bodies keep {placeholders}; the
 * head-end substitutes them when it serves.  Everything a case holds lives in one arena. */
#ifndef CONFORMANCE_CASE_H
#define CONFORMANCE_CASE_H

#include <stddef.h>

#include <gridedge/arena.h>

#define CF_MAX_HAS 8

typedef enum cf_action_kind {
    CF_ACT_RESOURCE, /* serve BODY at PATH from time AT on */
    CF_ACT_DELETE,   /* PATH is gone from time AT on */
    CF_ACT_FAULT,    /* requests to PATH get FAULT between FROM and UNTIL, at most TIMES times */
    CF_ACT_REPLY,    /* a METHOD to PATH (whose body has MATCH) is answered with STATUS and BODY */
    CF_ACT_CAPTURE,  /* NAME := the text between AFTER and BEFORE in the body of a METHOD to PATH */
    CF_ACT_SEND,     /* at AT the head-end sends BODY with METHOD to the URL PATH (placeholders filled) */
    CF_ACT_RESTART,  /* at AT the head-end stops the client with SIGNAL and starts it again, same command */
    CF_ACT_FAULT_FILE, /* at AT the head-end writes BODY (+ "\n" unless empty) to {fault_file}, atomically */
    CF_ACT_OWNER     /* at AT the head-end writes BODY (placeholders filled) to {state_dir}/owner.ini, atomically */
} cf_action_kind;

#define CF_MAX_CAPTURES 8

typedef enum cf_fault_kind {
    CF_FAULT_STATUS,  /* answer with HTTP status STATUS and no body */
    CF_FAULT_CLOSE,   /* close the connection without answering */
    CF_FAULT_GARBAGE, /* answer 200 with a malformed body */
    CF_FAULT_DELAY    /* answer normally after DELAY_MS */
} cf_fault_kind;

typedef struct cf_action {
    cf_action_kind kind;
    unsigned line;
    double at;              /* resource/delete: from this time on */
    const char *method;     /* reply */
    const char *path;
    int status;             /* resource/reply: 200/201...; fault: the status for CF_FAULT_STATUS */
    const char *type;       /* media type of BODY (NULL = the suite's default) */
    const char *body;       /* NUL-terminated; may be empty */
    size_t body_len;
    const char *match;      /* reply: only when the request body contains this (NULL = any) */
    const char *location;   /* reply: Location header */
    cf_fault_kind fault;
    int delay_ms;
    unsigned times;         /* fault/reply: at most this many times (0 = no limit) */
    double from, until;     /* fault, reply: active window (until < 0: no end) */
    const char *name;       /* capture: the placeholder it defines ({NAME}) */
    const char *after, *before; /* capture: the text around the value */
    const char *if_header;  /* fault/reply: only when the request's headers hold this ("Name: value") */
    const char *unless_header; /* fault/reply: only when they do not */
    int signal;             /* restart: SIGTERM or SIGKILL */
} cf_action_t;

typedef enum cf_expect_kind {
    CF_EXP_REQUEST,    /* the client sends such a request, COUNT_MIN..COUNT_MAX times */
    CF_EXP_NO_REQUEST, /* the client never sends such a request */
    CF_EXP_STATUS,     /* the client's status file satisfies a condition */
    CF_EXP_ANSWER,     /* the client answered the head-end's sends to PATH (HAS: in its answer) */
    CF_EXP_HANDSHAKE,  /* the client began TLS handshakes ending as PATH says: "completed", "refused"
                        * (it aborted: refused our chain), "failed" (we aborted) or "any"; COUNT_MIN..MAX */
    CF_EXP_NO_HANDSHAKE, /* no TLS handshake of the client ended as PATH says */
    CF_EXP_SIGNED,     /* every such request carries a valid OpenADR XML signature; COUNT_MIN..MAX of them */
    CF_EXP_READING     /* the active power readings (W) the client posts to its metering mirror of PATH ("site"
                        * or "der"): COUNT_MIN..MAX of them, each agreeing with NUMBER or, when KEY is set, with
                        * the status file at the time ("pv.power_w+battery.power_w": a sum) within TOLERANCE;
                        * PATH "der-stored": the DER mirror's stored energy readings (Wh) instead */
} cf_expect_kind;

typedef enum cf_op { CF_OP_EQ, CF_OP_LE, CF_OP_GE } cf_op;
/* CF_VAL_SERVER_TIME: the server's clock at the moment of each sample (`{server-time}`), a number. */
typedef enum cf_value_kind { CF_VAL_NUMBER, CF_VAL_STRING, CF_VAL_NULL, CF_VAL_BOOL, CF_VAL_SERVER_TIME } cf_value_kind;

typedef struct cf_expect {
    cf_expect_kind kind;
    unsigned line;
    const char *text;       /* the line as written, for reports */
    const char *method;
    const char *path;       /* a trailing '*' matches any suffix; the query is ignored otherwise */
    double from, to;        /* window (to < 0: until the end) */
    const char *has[CF_MAX_HAS];
    unsigned n_has;
    unsigned count_min, count_max; /* count_max 0 = no upper bound */
    const char *key;        /* status: dotted path, e.g. battery.power_w, active_controls.0.id, active_controls.# */
    cf_op op;
    cf_value_kind vkind;
    double number, tolerance;
    const char *string;
    int boolean;
    int eventually;         /* status: 1 = some sample in the window, 0 = every sample (and at least one) */
    const char *has_header[CF_MAX_HAS]; /* request: its headers ("Name: value" lines) hold each */
    unsigned n_has_header;
    const char *json;       /* request: the body is JSON of this OpenAPI component ("any": any JSON) */
    /* request: the body's element has_bits_elem[i] (any namespace prefix) holds a hex bit map with
     * every bit (has_bits_any[i]: at least one bit) of has_bits_mask[i] set (2030.5 HexBinary:
     * modesSupported, deviceCategory, ...): `has-bits NAME MASK`, `has-any-bits NAME MASK` */
    const char *has_bits_elem[CF_MAX_HAS];
    unsigned long long has_bits_mask[CF_MAX_HAS];
    int has_bits_any[CF_MAX_HAS];
    unsigned n_has_bits;
    int status;             /* answer: the client's HTTP status must be this (`status N`; 0: any) */
} cf_expect_t;

enum { CF_SCHEME_DEFAULT = 0, CF_SCHEME_HTTP = 1, CF_SCHEME_HTTPS = 2 };

typedef struct cf_case {
    const char *id;
    double duration;        /* seconds (default 20) */
    double time_offset;     /* seconds */
    int scheme;             /* CF_SCHEME_* */
    cf_action_t *actions;
    size_t n_actions;
    cf_expect_t *expects;
    size_t n_expects;
    const char *server_chain; /* `server-chain SHAPE` (a ge_pki_chain name), or NULL: the PKI's server.pem */
    int dnssd;              /* `dnssd`: answer DNS-SD on {dnssd} and withhold {url} from the client */
    const char *dnssd_dcap; /* `dnssd dcap PATH`: the path the TXT record names (NULL: the suite's) */
    int sign_payloads;      /* `sign-payloads`: OpenADR 2.0b payloads the head-end serves are XML-signed */
} cf_case_t;

/* Caps on what a case file may hold. */
#define CF_CASE_MAX_BYTES (512u * 1024u)
#define CF_CASE_MAX_LINE 16384u
#define CF_CASE_MAX_ACTIONS 256u
#define CF_CASE_MAX_EXPECTS 128u
#define CF_CASE_MAX_BODY (64u * 1024u)

/* Finds the fragment an `include NAME` line names: sets *TEXT and *LEN (owned by the resolver, alive
 * until parsing ends) and returns 0, or returns GE_ERR_NOTFOUND. */
typedef int (*cf_include_fn)(void *ud, const char *name, const char **text, size_t *len);

#define CF_INCLUDE_DEPTH 4

/* Parse case file TEXT (LEN bytes) called NAME into OUT, allocating from ARENA; INCLUDE (may be
 * NULL: then `include` is an error) resolves fragments.  On error returns a negative ge_err and
 * writes "FILE:LINE: error: MESSAGE" into ERR, FILE being the case or the fragment at fault. */
int cf_case_parse(const char *name, const char *text, size_t len, ge_arena_t *arena, cf_include_fn include,
                  void *include_ud, cf_case_t *out, char *err, size_t errlen);

/* The rules `json NAME` checks ("path:type", NULL-terminated), or NULL for an unknown NAME. */
const char *const *cf_json_schema_rules(const char *name);

/* Load and parse case ID of SUITE (with its includes): from CASE_DIR/ID.case when CASE_DIR is not
 * NULL, else the built-in case ID of SUITE (conformance/cases).  GE_ERR_NOTFOUND when there is no such
 * case script (ERR untouched); other errors are described in ERR. */
int cf_case_load(const char *suite, const char *id, const char *case_dir, ge_arena_t *arena, cf_case_t *out,
                 char *err, size_t errlen);

#endif
