/* oadr3_internal.h - what the OpenADR 3.0 engine (ven3.c) and its message code (msg3.c) share:
 * programs and events as the engine keeps them, and the JSON readers and writers. */
#ifndef STACK_OADR_OADR3_INTERNAL_H
#define STACK_OADR_OADR3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <gridedge/oadr3.h>

/* The payload types the engine acts on. */
enum { O3_PT_SIMPLE, O3_PT_PRICE, O3_PT_EXPORT_PRICE, O3_PT_IMPORT_CAP, O3_PT_EXPORT_CAP, O3_PT_N };

#define O3_MAX_RD 4 /* report descriptors kept per event */

typedef struct o3_program {
    char id[OADR3_ID_MAX];
} o3_program_t;

typedef struct o3_interval {
    int64_t start, end;      /* VTN time; end INT64_MAX: open-ended */
    int has[O3_PT_N];
    double val[O3_PT_N];     /* capacity limits in W */
} o3_interval_t;

typedef struct o3_event {
    char id[OADR3_ID_MAX];
    char program_id[OADR3_ID_MAX];
    char modified[40];       /* modificationDateTime as sent */
    int priority;            /* INT32_MAX: none (the lowest) */
    int64_t start, end;      /* span of all intervals */
    o3_interval_t iv[OADR3_MAX_INTERVALS];
    size_t n_iv;
    char rd[O3_MAX_RD][40];  /* reportDescriptors' payloadTypes */
    size_t n_rd;
    /* report state (the engine's) */
    char report_id[OADR3_ID_MAX];
    int report_state;
    int report_started;
    double report_next;
} o3_event_t;

int oadr__v3_valid_id(const char *s);
const char *oadr__v3_payload_name(int pt);

/* Readers: 0, or GE_ERR_PARSE with WHY naming the JSON path and the fault. */
int oadr__v3_parse_program(json_t *j, o3_program_t *out, char *why, size_t whylen);
int oadr__v3_parse_event(json_t *j, o3_event_t *out, uint64_t seed, char *why, size_t whylen);
int oadr__v3_parse_token(json_t *j, char **token, double *expires_in, char *why, size_t whylen);

/* The id of a created object: the answer's "id", else the Location's last segment; NULL if none. */
const char *oadr__v3_created_id(json_t *j, const char *location);

/* The interval of E in force at NOW, or NULL. */
const o3_interval_t *oadr__v3_interval_at(const o3_event_t *e, int64_t now);

/* Writers (new references; NULL when out of memory, or for a report with nothing to report). */
json_t *oadr__v3_ven_json(const char *ven_name);
json_t *oadr__v3_resource_json(const char *name, const char *ven_id);
json_t *oadr__v3_subscription_json(const char *client_name, const char *program_id, const char *callback,
                             const char *token);
json_t *oadr__v3_report_json(const o3_event_t *e, const char *client_name, const oadr3_telemetry_t *tel, int64_t now);

#endif
