/* messages.c - the OpenADR 2.0b payloads the VEN sends (oadrQueryRegistration,
 * oadrCreatePartyRegistration, oadrRequestEvent, oadrPoll, oadrCreatedEvent, oadrResponse,
 * oadrCanceledPartyRegistration), built as typed codec structs and written by the generated
 * encoder, so they are schema-valid by construction; and the xcal time values events carry. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gridedge/arena.h>
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

/* RESP as an eiResponse: CODE, DESCRIPTION (NULL or "" for none) and REQUEST_ID. */
static oadr_ei_EiResponseType_t *ei_response(oadr_ei_EiResponseType_t *resp, const char *code, const char *description,
                                             const char *request_id)
{
    memset(resp, 0, sizeof(*resp));
    resp->responseCode = (char *)code;
    resp->responseDescription = description && *description ? (char *)description : NULL;
    resp->requestID = (char *)request_id;
    return resp;
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
                                        const char *registration_id, const char *ven_name,
                                        const char *transport_address, int xml_signature)
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
    r.oadrXmlSignature = xml_signature != 0;
    r.oadrVenName = ven_name && *ven_name ? (char *)ven_name : NULL;
    /* push (§9.2): the VTN POSTs to oadrTransportAddress */
    r.oadrTransportAddress = transport_address && *transport_address ? (char *)transport_address : NULL;
    r.oadrHttpPullModel = r.oadrTransportAddress == NULL;
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
    memset(&list, 0, sizeof(list));
    memset(&one, 0, sizeof(one));
    memset(&q, 0, sizeof(q));
    /* §8.3.3: eiResponse is about the oadrDistributeEvent as a whole, eventResponse about one
     * event at its modificationNumber; both carry the distribute's requestID. */
    q.eventID = (char *)event_id;
    q.modificationNumber = modification;
    one.responseCode = (char *)code;
    one.requestID = (char *)request_id;
    one.qualifiedEventID = &q;
    one.optType = (char *)opt;
    list.eventResponse = ones;
    list.eventResponse_count = 1;
    ev.eiResponse = ei_response(&resp, "200", "OK", request_id);
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
    r.eiResponse = ei_response(&resp, code, description, request_id);
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrResponse = &r;
    return encode(out, &so);
}

int oadr__cancel_party_registration_xml(ge_buf_t *out, const char *request_id, const char *registration_id,
                                        const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCancelPartyRegistrationType_t r;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    r.requestID = (char *)request_id;
    r.registrationID = (char *)registration_id;
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCancelPartyRegistration = &r;
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
    r.eiResponse = ei_response(&resp, code, NULL, request_id);
    r.registrationID = registration_id && *registration_id ? (char *)registration_id : NULL;
    r.venID = ven_id && *ven_id ? (char *)ven_id : NULL;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCanceledPartyRegistration = &r;
    return encode(out, &so);
}

/* ---- EiReport ----------------------------------------------------------------------------------------- */

void oadr__format_datetime(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

void oadr__format_duration(int64_t s, char out[32])
{
    snprintf(out, 32, "PT%lldS", (long long)(s < 0 ? 0 : s));
}

/* What the VEN offers: the site meter's real power (W) and imported energy (Wh) as telemetry, its
 * availability as status, and the energy register's history (Profile Specification §8.4: the
 * METADATA reports a B-profile VEN registers). */
static const oadr__point_t usage_points[] = { { "site_power", OADR__M_POWER }, { "site_energy", OADR__M_ENERGY } };
static const oadr__point_t status_points[] = { { "site_status", OADR__M_STATUS } };
static const oadr__point_t history_points[] = { { "site_energy_history", OADR__M_ENERGY } };

const oadr__report_def_t oadr__reports[OADR__RPT_COUNT] = {
    { "TELEMETRY_USAGE", "GE-TELEMETRY_USAGE", usage_points, 2 },
    { "TELEMETRY_STATUS", "GE-TELEMETRY_STATUS", status_points, 1 },
    { "HISTORY_USAGE", "GE-HISTORY_USAGE", history_points, 1 },
};

int oadr__report_find(const char *spec)
{
    for (int r = 0; r < OADR__RPT_COUNT; r++)
        if (spec && strcmp(oadr__reports[r].spec_id, spec) == 0)
            return r;
    return -1;
}

int oadr__point_find(int r, const char *rid)
{
    if (r < 0 || r >= OADR__RPT_COUNT || !rid)
        return -1;
    for (size_t i = 0; i < oadr__reports[r].n_points; i++)
        if (strcmp(oadr__reports[r].points[i].rid, rid) == 0)
            return (int)i;
    return -1;
}

#define ZALLOC(a, type) ((type *)ge_arena_zalloc((a), sizeof(type)))

static char *adup(ge_arena_t *a, const char *s)
{
    return s ? ge_arena_strndup(a, s, strlen(s)) : NULL;
}

static oadr_xcal_dtstart_t *mk_dtstart(ge_arena_t *a, int64_t t)
{
    oadr_xcal_dtstart_t *d = ZALLOC(a, oadr_xcal_dtstart_t);
    char buf[32];

    if (!d)
        return NULL;
    oadr__format_datetime(t, buf);
    d->date_time = adup(a, buf);
    return d->date_time ? d : NULL;
}

static oadr_xcal_DurationPropType_t *mk_duration(ge_arena_t *a, int64_t s)
{
    oadr_xcal_DurationPropType_t *d = ZALLOC(a, oadr_xcal_DurationPropType_t);
    char buf[32];

    if (!d)
        return NULL;
    oadr__format_duration(s, buf);
    d->duration = adup(a, buf);
    return d->duration ? d : NULL;
}

static oadr_oadrReportDescriptionType_t *mk_description(ge_arena_t *a, const oadr__point_t *p, double hz,
                                                        double volts)
{
    oadr_oadrReportDescriptionType_t *d = ZALLOC(a, oadr_oadrReportDescriptionType_t);
    oadr_ei_EiTargetType_t *src = ZALLOC(a, oadr_ei_EiTargetType_t);
    oadr_oadrSamplingRateType_t *rate = ZALLOC(a, oadr_oadrSamplingRateType_t);
    char **res = ge_arena_zalloc(a, sizeof(char *));

    if (!d || !src || !rate || !res)
        return NULL;
    d->rID = (char *)p->rid;
    res[0] = (char *)"site";
    src->resourceID = res;
    src->resourceID_count = 1;
    d->reportDataSource = src;
    rate->oadrMinPeriod = (char *)"PT1S";
    rate->oadrMaxPeriod = (char *)"PT1H";
    rate->oadrOnChange = false;
    d->oadrSamplingRate = rate;
    if (p->what == OADR__M_STATUS) {
        d->reportType = (char *)"x-resourceStatus";
        d->readingType = (char *)"x-notApplicable";
        return d;
    }
    d->reportType = (char *)"usage";
    d->readingType = (char *)"Direct Read";
    if (p->what == OADR__M_POWER) {
        oadr_power_PowerRealType_t *pw = ZALLOC(a, oadr_power_PowerRealType_t);
        oadr_power_PowerAttributesType_t *at = ZALLOC(a, oadr_power_PowerAttributesType_t);
        if (!pw || !at)
            return NULL;
        pw->itemDescription = (char *)"RealPower";
        pw->itemUnits = (char *)"W";
        pw->siScaleCode = (char *)"none";
        at->hertz = hz;
        at->voltage = volts;
        at->ac = true;
        pw->powerAttributes = at;
        d->powerReal = pw;
    } else {
        oadr_power_EnergyRealType_t *en = ZALLOC(a, oadr_power_EnergyRealType_t);
        if (!en)
            return NULL;
        en->itemDescription = (char *)"RealEnergy";
        en->itemUnits = (char *)"Wh";
        en->siScaleCode = (char *)"none";
        d->energyReal = en;
    }
    return d;
}

int oadr__register_report_xml(ge_buf_t *out, ge_arena_t *a, const char *request_id, const char *ven_id,
                              const char *report_request_id, int64_t created, double hz, double volts)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrRegisterReportType_t rr;
    oadr_oadrReportType_t **reps = ge_arena_zalloc(a, OADR__RPT_COUNT * sizeof(*reps));
    char when[32], name[64];

    if (!reps)
        return GE_ERR_NOMEM;
    oadr__format_datetime(created, when);
    for (int r = 0; r < OADR__RPT_COUNT; r++) {
        const oadr__report_def_t *def = &oadr__reports[r];
        oadr_oadrReportType_t *rep = ZALLOC(a, oadr_oadrReportType_t);
        oadr_oadrReportDescriptionType_t **ds = ge_arena_zalloc(a, def->n_points * sizeof(*ds));
        if (!rep || !ds)
            return GE_ERR_NOMEM;
        for (size_t i = 0; i < def->n_points; i++)
            if (!(ds[i] = mk_description(a, &def->points[i], hz, volts)))
                return GE_ERR_NOMEM;
        snprintf(name, sizeof(name), "METADATA_%s", def->name);
        /* how far back the history goes (what the VEN keeps); telemetry has no duration */
        if (r == OADR__RPT_HISTORY_USAGE && !(rep->duration = mk_duration(a, 86400)))
            return GE_ERR_NOMEM;
        rep->eiReportID = adup(a, def->spec_id);
        rep->oadrReportDescription = ds;
        rep->oadrReportDescription_count = def->n_points;
        rep->reportRequestID = (char *)report_request_id;
        rep->reportSpecifierID = (char *)def->spec_id;
        rep->reportName = adup(a, name);
        rep->createdDateTime = adup(a, when);
        if (!rep->reportName || !rep->createdDateTime || !rep->eiReportID)
            return GE_ERR_NOMEM;
        reps[r] = rep;
    }
    memset(&so, 0, sizeof(so));
    memset(&rr, 0, sizeof(rr));
    rr.requestID = (char *)request_id;
    rr.oadrReport = reps;
    rr.oadrReport_count = OADR__RPT_COUNT;
    rr.venID = (char *)ven_id;
    rr.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrRegisterReport = &rr;
    return encode(out, &so);
}

int oadr__update_report_xml(ge_buf_t *out, ge_arena_t *a, const char *request_id, const char *ven_id,
                            const oadr__update_t *u)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrUpdateReportType_t ur;
    oadr_oadrReportType_t rep, *reps[1] = { &rep };
    oadr_strm_intervals_t ivs;
    char when[32];

    memset(&rep, 0, sizeof(rep));
    memset(&ivs, 0, sizeof(ivs));
    if (u->n_iv) {
        ivs.interval = ge_arena_zalloc(a, u->n_iv * sizeof(*ivs.interval));
        if (!ivs.interval)
            return GE_ERR_NOMEM;
        ivs.interval_count = u->n_iv;
        rep.intervals = &ivs;
    }
    for (size_t i = 0; i < u->n_iv; i++) {
        const oadr__interval_t *src = &u->iv[i];
        oadr_ei_IntervalType_t *iv = ZALLOC(a, oadr_ei_IntervalType_t);
        oadr_oadrReportPayloadType_t **ps = ge_arena_zalloc(a, (src->n ? src->n : 1) * sizeof(*ps));
        if (!iv || !ps || !(iv->dtstart = mk_dtstart(a, src->start)) || !(iv->duration = mk_duration(a, src->dur)))
            return GE_ERR_NOMEM;
        for (size_t k = 0; k < src->n; k++) {
            const oadr__value_t *val = &u->vals[src->first + k];
            oadr_oadrReportPayloadType_t *p = ZALLOC(a, oadr_oadrReportPayloadType_t);
            if (!p)
                return GE_ERR_NOMEM;
            p->rID = (char *)val->rid;
            if (val->what == OADR__M_STATUS) {
                oadr_oadrPayloadResourceStatusType_t *st = ZALLOC(a, oadr_oadrPayloadResourceStatusType_t);
                if (!st)
                    return GE_ERR_NOMEM;
                st->oadrOnline = val->online != 0;
                st->oadrManualOverride = val->manual_override != 0;
                if (val->has_soc) {
                    oadr_oadrLoadControlStateType_t *lc = ZALLOC(a, oadr_oadrLoadControlStateType_t);
                    oadr_oadrLoadControlStateTypeType_t *cap = ZALLOC(a, oadr_oadrLoadControlStateTypeType_t);
                    if (!lc || !cap)
                        return GE_ERR_NOMEM;
                    /* the battery's state of charge as its capacity in use, 0..100 % */
                    cap->oadrMin = 0;
                    cap->has_oadrMin = true;
                    cap->oadrMax = 100;
                    cap->has_oadrMax = true;
                    cap->oadrCurrent = val->soc_pct;
                    lc->oadrCapacity = cap;
                    st->oadrLoadControlState = lc;
                }
                p->oadrPayloadResourceStatus = st;
            } else {
                oadr_ei_PayloadFloatType_t *f = ZALLOC(a, oadr_ei_PayloadFloatType_t);
                if (!f)
                    return GE_ERR_NOMEM;
                f->value = val->good ? val->value : 0;
                p->payloadFloat = f;
            }
            p->oadrDataQuality = (char *)(val->good ? "Quality Good - Non Specific" : "No Quality - No Value");
            ps[k] = p;
        }
        iv->oadrReportPayload = ps;
        iv->oadrReportPayload_count = src->n;
        ivs.interval[i] = iv;
    }
    oadr__format_datetime(u->created, when);
    if (!(rep.dtstart = mk_dtstart(a, u->start)) || !(rep.duration = mk_duration(a, u->dur)))
        return GE_ERR_NOMEM;
    rep.eiReportID = (char *)u->report_id;
    rep.reportRequestID = (char *)u->report_request_id;
    rep.reportSpecifierID = (char *)oadr__reports[u->report].spec_id;
    rep.reportName = (char *)oadr__reports[u->report].name;
    rep.createdDateTime = when;
    memset(&so, 0, sizeof(so));
    memset(&ur, 0, sizeof(ur));
    ur.requestID = (char *)request_id;
    ur.oadrReport = reps;
    ur.oadrReport_count = 1;
    ur.venID = (char *)ven_id;
    ur.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrUpdateReport = &ur;
    return encode(out, &so);
}

int oadr__created_report_xml(ge_buf_t *out, int canceled, const char *code, const char *description,
                             const char *request_id, const char *ven_id, const char *const *pending, size_t n_pending)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCreatedReportType_t cr;
    oadr_oadrCanceledReportType_t xr;
    oadr_ei_EiResponseType_t resp;
    oadr_oadrPendingReportsType_t pend;

    memset(&so, 0, sizeof(so));
    memset(&pend, 0, sizeof(pend));
    ei_response(&resp, code, description, request_id);
    pend.reportRequestID = (char **)pending;
    pend.reportRequestID_count = n_pending;
    if (canceled) {
        memset(&xr, 0, sizeof(xr));
        xr.eiResponse = &resp;
        xr.oadrPendingReports = &pend;
        xr.venID = (char *)ven_id;
        xr.schemaVersion = (char *)OADR__SCHEMA_VERSION;
        so.oadrCanceledReport = &xr;
    } else {
        memset(&cr, 0, sizeof(cr));
        cr.eiResponse = &resp;
        cr.oadrPendingReports = &pend;
        cr.venID = (char *)ven_id;
        cr.schemaVersion = (char *)OADR__SCHEMA_VERSION;
        so.oadrCreatedReport = &cr;
    }
    return encode(out, &so);
}

int oadr__registered_report_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                                const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrRegisteredReportType_t r;
    oadr_ei_EiResponseType_t resp;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    r.eiResponse = ei_response(&resp, code, description, request_id);
    r.venID = (char *)ven_id;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrRegisteredReport = &r;
    return encode(out, &so);
}

int oadr__updated_report_xml(ge_buf_t *out, const char *code, const char *description, const char *request_id,
                             const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrUpdatedReportType_t r;
    oadr_ei_EiResponseType_t resp;

    memset(&so, 0, sizeof(so));
    memset(&r, 0, sizeof(r));
    r.eiResponse = ei_response(&resp, code, description, request_id);
    r.venID = (char *)ven_id;
    r.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrUpdatedReport = &r;
    return encode(out, &so);
}

/* ---- EiOpt -------------------------------------------------------------------------------------------- */

int oadr__create_opt_xml(ge_buf_t *out, ge_arena_t *a, const oadr__opt_t *o)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCreateOptType_t co;
    oadr_ei_EiTargetType_t target;
    oadr_ei_QualifiedEventIDType_t q;
    char *vens[1] = { (char *)o->ven_id };
    char when[32];

    memset(&so, 0, sizeof(so));
    memset(&co, 0, sizeof(co));
    memset(&target, 0, sizeof(target));
    oadr__format_datetime(o->created, when);
    co.optID = (char *)o->opt_id;
    co.optType = (char *)o->opt_type;
    co.optReason = (char *)o->opt_reason;
    co.venID = (char *)o->ven_id;
    co.createdDateTime = when;
    co.requestID = (char *)o->request_id;
    if (o->event_id) {
        memset(&q, 0, sizeof(q));
        q.eventID = (char *)o->event_id;
        q.modificationNumber = o->modification;
        co.qualifiedEventID = &q;
    }
    if (o->n_windows) {
        oadr_xcal_VavailabilityType_t *va = ZALLOC(a, oadr_xcal_VavailabilityType_t);
        oadr_xcal_ArrayOfVavailabilityContainedComponents_t *comps =
            ZALLOC(a, oadr_xcal_ArrayOfVavailabilityContainedComponents_t);
        oadr_xcal_AvailableType_t **av = ge_arena_zalloc(a, o->n_windows * sizeof(*av));
        if (!va || !comps || !av)
            return GE_ERR_NOMEM;
        for (size_t i = 0; i < o->n_windows; i++) {
            oadr_xcal_AvailableType_t *one = ZALLOC(a, oadr_xcal_AvailableType_t);
            oadr_xcal_properties_t *props = ZALLOC(a, oadr_xcal_properties_t);
            if (!one || !props || !(props->dtstart = mk_dtstart(a, o->starts[i])) ||
                !(props->duration = mk_duration(a, o->durs[i])))
                return GE_ERR_NOMEM;
            one->properties = props;
            av[i] = one;
        }
        comps->available = av;
        comps->available_count = o->n_windows;
        va->components = comps;
        co.vavailability = va;
    }
    target.venID = vens;
    target.venID_count = 1;
    co.eiTarget = &target;
    co.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCreateOpt = &co;
    return encode(out, &so);
}

int oadr__cancel_opt_xml(ge_buf_t *out, const char *request_id, const char *opt_id, const char *ven_id)
{
    oadr_oadrSignedObject_t so;
    oadr_oadrCancelOptType_t c;

    memset(&so, 0, sizeof(so));
    memset(&c, 0, sizeof(c));
    c.requestID = (char *)request_id;
    c.optID = (char *)opt_id;
    c.venID = (char *)ven_id;
    c.schemaVersion = (char *)OADR__SCHEMA_VERSION;
    so.oadrCancelOpt = &c;
    return encode(out, &so);
}
