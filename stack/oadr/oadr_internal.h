/* oadr_internal.h - what the OpenADR 2.0b VEN's files share inside the library: the payload
 * writers of messages.c (each appends one oadrPayload to OUT; 0 or a negative ge_err). */
#ifndef STACK_OADR_INTERNAL_H
#define STACK_OADR_INTERNAL_H

#include <stdint.h>

#include <gridedge/buf.h>
#include <gridedge/xml_oadr20b.h>

#define OADR__SCHEMA_VERSION "2.0b"

int oadr__query_registration_xml(ge_buf_t *out, const char *request_id);
int oadr__create_party_registration_xml(ge_buf_t *out, const char *request_id, const char *ven_id,
                                        const char *registration_id, const char *ven_name);
int oadr__request_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id);
int oadr__poll_xml(ge_buf_t *out, const char *ven_id);
int oadr__created_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id, const char *event_id,
                            uint32_t modification, const char *code, const char *opt);
int oadr__response_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                       const char *ven_id);
int oadr__canceled_party_registration_xml(ge_buf_t *out, const char *code, const char *request_id,
                                          const char *registration_id, const char *ven_id);

#endif
