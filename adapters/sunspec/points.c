/* points.c - SunSpec point decoding and encoding: register order, "not implemented" values and
 * sunssf scale factors (SunSpec Information Model Specification, "Data types" and "Scale
 * factors": value = raw * 10^sf, sf an int16 in -10..10, 0x8000 when not implemented).  Pure
 * functions, no I/O, so the rules are tested on their own. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gridedge/error.h>

#include "adapters/sunspec/sunspec.h"

#define SF_NI 0x8000u
#define SF_MIN (-10)
#define SF_MAX 10

unsigned ge__ss_type_regs(ge__ss_type type)
{
    switch (type) {
    case GE__SS_INT32:
    case GE__SS_UINT32:
    case GE__SS_ACC32:
    case GE__SS_FLOAT32:
        return 2;
    case GE__SS_UINT64:
    case GE__SS_ACC64:
        return 4;
    default:
        return 1;
    }
}

/* 10^sf for sf in range; 1 when the point is not scaled.  Returns 0, 1 (not implemented) or
 * GE_ERR_DEVICE. */
static int scale_of(uint16_t sf_raw, double *mul)
{
    if (sf_raw == SF_NI)
        return 1;
    int sf = (int16_t)sf_raw;
    if (sf < SF_MIN || sf > SF_MAX)
        return GE_ERR_DEVICE;
    *mul = pow(10.0, sf);
    return 0;
}

int ge__ss_decode(const uint16_t *r, ge__ss_type type, uint16_t sf_raw, double *out)
{
    if (!r || !out)
        return GE_ERR_INVALID;
    double raw;
    switch (type) {
    case GE__SS_INT16:
        if (r[0] == 0x8000u)
            return 0;
        raw = (int16_t)r[0];
        break;
    case GE__SS_UINT16:
    case GE__SS_ENUM16:
    case GE__SS_BITFIELD16:
        if (r[0] == 0xFFFFu)
            return 0;
        raw = r[0];
        break;
    case GE__SS_ACC16:
        if (r[0] == 0)
            return 0;
        raw = r[0];
        break;
    case GE__SS_INT32: {
        uint32_t v = ((uint32_t)r[0] << 16) | r[1];
        if (v == 0x80000000u)
            return 0;
        raw = (int32_t)v;
        break;
    }
    case GE__SS_UINT32:
    case GE__SS_ACC32: {
        uint32_t v = ((uint32_t)r[0] << 16) | r[1];
        if ((type == GE__SS_UINT32 && v == 0xFFFFFFFFu) || (type == GE__SS_ACC32 && v == 0))
            return 0;
        raw = v;
        break;
    }
    case GE__SS_UINT64:
    case GE__SS_ACC64: {
        uint64_t v = ((uint64_t)r[0] << 48) | ((uint64_t)r[1] << 32) | ((uint64_t)r[2] << 16) | r[3];
        if ((type == GE__SS_UINT64 && v == UINT64_MAX) || (type == GE__SS_ACC64 && v == 0))
            return 0;
        raw = (double)v;
        break;
    }
    case GE__SS_FLOAT32: {
        uint32_t v = ((uint32_t)r[0] << 16) | r[1];
        float f;
        memcpy(&f, &v, sizeof(f));
        if (isnan(f))
            return 0; /* 0x7FC00000 and every other NaN: not implemented */
        if (!isfinite(f))
            return GE_ERR_DEVICE;
        *out = f;
        return 1;
    }
    default:
        return GE_ERR_INVALID;
    }
    if (type == GE__SS_ENUM16 || type == GE__SS_BITFIELD16) {
        *out = raw;
        return 1;
    }
    double mul = 1.0;
    int rc = scale_of(sf_raw, &mul);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0; /* a value without its scale factor means nothing */
    *out = raw * mul;
    return 1;
}

int ge__ss_encode(double value, ge__ss_type type, uint16_t sf_raw, uint16_t *r)
{
    if (!r)
        return GE_ERR_INVALID;
    if (!isfinite(value))
        return GE_ERR_INVALID;
    if (type == GE__SS_FLOAT32) {
        float f = (float)value;
        uint32_t v;
        memcpy(&v, &f, sizeof(v));
        r[0] = (uint16_t)(v >> 16);
        r[1] = (uint16_t)v;
        return 0;
    }
    double mul = 1.0;
    int rc = scale_of(sf_raw, &mul);
    if (rc != 0)
        return GE_ERR_DEVICE;
    double raw = nearbyint(value / mul);
    switch (type) {
    case GE__SS_INT16:
        raw = fmin(fmax(raw, -32767.0), 32767.0);
        r[0] = (uint16_t)(int16_t)raw;
        return 0;
    case GE__SS_UINT16:
    case GE__SS_ENUM16:
    case GE__SS_BITFIELD16:
        raw = fmin(fmax(raw, 0.0), 65534.0);
        r[0] = (uint16_t)raw;
        return 0;
    case GE__SS_INT32: {
        raw = fmin(fmax(raw, -2147483647.0), 2147483647.0);
        uint32_t v = (uint32_t)(int32_t)raw;
        r[0] = (uint16_t)(v >> 16);
        r[1] = (uint16_t)v;
        return 0;
    }
    case GE__SS_UINT32: {
        raw = fmin(fmax(raw, 0.0), 4294967294.0);
        uint32_t v = (uint32_t)raw;
        r[0] = (uint16_t)(v >> 16);
        r[1] = (uint16_t)v;
        return 0;
    }
    default:
        return GE_ERR_INVALID; /* accumulators and 64-bit points are never written */
    }
}
