/* messages.c - the OpenADR 2.0b payloads the VEN sends (oadrQueryRegistration,
 * oadrCreatePartyRegistration, oadrRequestEvent, oadrPoll, oadrCreatedEvent, oadrResponse,
 * oadrCanceledPartyRegistration), built as typed codec structs and written by the generated
 * encoder, so they are schema-valid by construction; and the xcal time values events carry. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gridedge/error.h>
#include <gridedge/oadr.h>
#include <gridedge/xml.h>

#include "stack/oadr/oadr_internal.h"

/* ---- xcal values ------------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil-days algorithm,
 * a public-domain formula). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* N digits at *P into *OUT; advances *P. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* xs:dateTime: YYYY-MM-DDThh:mm:ss[.fff][Z|(+|-)hh:mm]; no zone is taken as UTC (2.0b sends UTC,
 * Profile Specification §8.3.1 "dtstart ... in UTC"). */
int oadr_parse_datetime(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h, mi, se, zh = 0, zm = 0, sign = 0;

    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0 ||
        *p++ != 'T' || digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
        digits(&p, 2, &se) < 0)
        return GE_ERR_PARSE;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return GE_ERR_PARSE;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &zh) < 0 || *p++ != ':' || digits(&p, 2, &zm) < 0 || zh > 14 || zm > 59)
            return GE_ERR_PARSE;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60)
        return GE_ERR_PARSE;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
           sign * (zh * 3600 + zm * 60);
    return 0;
}

/* xs:duration as xcal uses it: [-]P[nY][nM][nW][nD][T[nH][nM][n[.f]S]].  Years and months are
 * taken as 365 and 30 days (events never use them in practice). */
int oadr_parse_duration(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0, in_time = 0, any = 0;
    int64_t total = 0;

    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p++ != 'P')
        return GE_ERR_PARSE;
    while (*p && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
        int64_t n = 0;
        int nd = 0;
        if (*p == 'T') {
            if (in_time)
                return GE_ERR_PARSE;
            in_time = 1;
            p++;
            continue;
        }
        while (*p >= '0' && *p <= '9') {
            if (n > 100000000)
                return GE_ERR_PARSE;
            n = n * 10 + (*p++ - '0');
            nd++;
        }
        if (*p == '.' && in_time) { /* fractional seconds: dropped */
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p != 'S')
                return GE_ERR_PARSE;
        }
        if (!nd)
            return GE_ERR_PARSE;
        switch (*p) {
        case 'Y': if (in_time) return GE_ERR_PARSE; total += n * 365 * 86400; break;
        case 'M': total += in_time ? n * 60 : n * 30 * 86400; break;
        case 'W': if (in_time) return GE_ERR_PARSE; total += n * 7 * 86400; break;
        case 'D': if (in_time) return GE_ERR_PARSE; total += n * 86400; break;
        case 'H': if (!in_time) return GE_ERR_PARSE; total += n * 3600; break;
        case 'S': if (!in_time) return GE_ERR_PARSE; total += n; break;
        default: return GE_ERR_PARSE;
        }
        p++;
        any = 1;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p || !any)
        return GE_ERR_PARSE;
    *out = neg ? -total : total;
    return 0;
}

/* ---- payloads ----------------------------------------------------------------------------------------- */

/* Wrap SO (one message set) in an oadrPayload and encode it. */
static int encode(ge_buf_t *out, oadr_oadrSignedObject_t *so)
{
    const ge_xml_root_t *root = ge_xml_root_find(&ge_xml_schema_oadr20b, "oadrPayload");
    oadr_oadrPayload_t p;
    ge_xml_error_t err;

    if (!root)
        return GE_ERR_INTERNAL;
    memset(&p, 0, sizeof(p));
    p.oadrSignedObject = so;
    return ge_xml_encode(out, &ge_xml_schema_oadr20b, root, &p, &err);
}

int oadr__query_registration_xml(ge_buf_t *out, const char *request_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrQueryRegistrationType_t q;

    memset(&so, 0, sizeof(so));
    memset(&q, 0, sizeof(q));
    q.requestID = (char *)request_id;
    q.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrQueryRegistration = &q;
    return encode(out, &so);
}

int oadr__create_party_registration_xml(ge_buf_t *out, const char *request_id, const char *ven_id,
                                        const char *registration_id, const char *ven_name)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCreatePartyRegistrationType_t r;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    r.requestID = (char *)request_id;
    r.registrationID = registration_id && *registration_id ? (char *)registration_id : NULL;
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.oadrProfileName = (char *)"2.0b";
    r.oadrTransportName = (char *)"simpleHttp";
    r.oadrReportOnly = false;
    r.oadrXmlSignature = false;
    r.oadrVenName = ven_name && *ven_name ? (char *)ven_name : NULL;
    r.oadrHttpPullModel = true;
    r.has_oadrHttpPullModel = true;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCreatePartyRegistration = &r;
    return encode(out, &so);
}

int oadr__request_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrRequestEventType_t r;
    oadr_pyld_eiRequestEvent_t e;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    memset(&e, 0, sizeof(e));
    e.requestID = (char *)request_id;
    e.venID = (char *)ven_id;
    r.eiRequestEvent = &e;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrRequestEvent = &r;
    return encode(out, &so);
}

int oadr__poll_xml(ge_buf_t *out, const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrPollType_t p;

    memset(&so, 0, sizeof(so));
    memset(&p, 0, sizeof(p));
    p.venID = (char *)ven_id;
    p.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrPoll = &p;
    return encode(out, &so);
}

int oadr__created_event_xml(ge_buf_t *out, const char *request_id, const char *ven_id, const char *event_id,
                            uint32_t modification, const char *code, const char *opt)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCreatedEventType_t ce;
    oadr_pyld_eiCreatedEvent_t ev;
    oadr_ei_EiResponseType_t resp;
    oadr_ei_eventResponses_t list;
    oadr_ei_eventResponses_eventResponse_t one, *ones[1] = { &one };
    oadr_ei_QualifiedEventIDType_t q;

    memset(&so, 0, sizeof(so));
    memset(&ce, 0, sizeof(ce));
    memset(&ev, 0, sizeof(ev));
    memset(&resp, 0, sizeof(resp));
    memset(&list, 0, sizeof(list));
    memset(&one, 0, sizeof(one));
    memset(&q, 0, sizeof(q));
    /* §8.3.3: eiResponse is about the oadrDistributeEvent as a whole, eventResponse about one
     * event at its modificationNumber; both carry the distribute's requestID. */
    resp.responseCode = (char *)"200";
    resp.responseDescription = (char *)"OK";
    resp.requestID = (char *)request_id;
    q.eventID = (char *)event_id;
    q.modificationNumber = modification;
    one.responseCode = (char *)code;
    one.requestID = (char *)request_id;
    one.qualifiedEventID = &q;
    one.optType = (char *)opt;
    list.eventResponse = ones;
    list.eventResponse_count = 1;
    ev.eiResponse = &resp;
    ev.eventResponses = &list;
    ev.venID = (char *)ven_id;
    ce.eiCreatedEvent = &ev;
    ce.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCreatedEvent = &ce;
    return encode(out, &so);
}

int oadr__response_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                       const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrResponseType_t r;
    oadr_ei_EiResponseType_t resp;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    memset(&resp, 0, sizeof(resp));
    resp.responseCode = (char *)code;
    resp.responseDescription = description && *description ? (char *)description : NULL;
    resp.requestID = (char *)request_id;
    r.eiResponse = &resp;
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrResponse = &r;
    return encode(out, &so);
}

int oadr__canceled_party_registration_xml(ge_buf_t *out, const char *code, const char *request_id,
                                          const char *registration_id, const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCanceledPartyRegistrationType_t r;
    oadr_ei_EiResponseType_t resp;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    memset(&resp, 0, sizeof(resp));
    resp.responseCode = (char *)code;
    resp.requestID = (char *)request_id;
    r.eiResponse = &resp;
    r.registrationID = registration_id && *registration_id ? (char *)registration_id : NULL;
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCanceledPartyRegistration = &r;
    return encode(out, &so);
}
