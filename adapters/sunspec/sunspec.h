/* sunspec.h - the SunSpec Modbus TCP driver ("sunspec") and its point-decoding rules, internal to
 * the library (the program and the tests include it; the public way in is ge_adapter_find() once
 * the registry knows the name, see docs/sunspec.md).
 *
 * Config (ge_adapter_ops_t.open): "host=127.0.0.1 port=502 unit=1 base=auto timeout_ms=1000
 * backoff_ms=500 backoff_max_ms=60000 lazy=0" - key=value pairs separated by spaces or commas;
 * every key is optional except host.  lazy=1 lets open() succeed while the device is away. */
#ifndef GE_ADAPTERS_SUNSPEC_H
#define GE_ADAPTERS_SUNSPEC_H

#include <stdint.h>

#include <gridedge/adapter.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The SunSpec driver's vtable (name "sunspec"). */
const ge_adapter_ops_t *ge_sunspec_adapter(void);

/* SunSpec point types that carry numbers (SunSpec Information Model Specification, "Data
 * types": each has its own "not implemented" value). */
typedef enum ge__ss_type {
    GE__SS_INT16,   /* not implemented: 0x8000 */
    GE__SS_UINT16,  /* 0xFFFF */
    GE__SS_ACC16,   /* 0 */
    GE__SS_ENUM16,  /* 0xFFFF */
    GE__SS_BITFIELD16, /* 0xFFFF */
    GE__SS_INT32,   /* 0x80000000 */
    GE__SS_UINT32,  /* 0xFFFFFFFF */
    GE__SS_ACC32,   /* 0 */
    GE__SS_UINT64,  /* 0xFFFFFFFFFFFFFFFF */
    GE__SS_ACC64,   /* 0 */
    GE__SS_FLOAT32  /* NaN (0x7FC00000) */
} ge__ss_type;

/* Registers a point of TYPE takes (1, 2 or 4). */
unsigned ge__ss_type_regs(ge__ss_type type);

/* Decode the point of TYPE at REGS (big-endian register order, as Modbus sends it) scaled by the
 * sunssf register value SF_RAW (pass 0 for an unscaled point; float32 points ignore it).
 * Returns 1 and the value in *OUT, 0 when the point or its scale factor says "not implemented",
 * or GE_ERR_DEVICE when the scale factor is outside -10..10 (the sunssf range) or the value is
 * not a number. */
int ge__ss_decode(const uint16_t *regs, ge__ss_type type, uint16_t sf_raw, double *out);

/* Encode VALUE into TYPE scaled by SF_RAW (rounded to the nearest step; out-of-range values are
 * clamped into the type's range, never onto its "not implemented" value).  GE_ERR_DEVICE when the
 * scale factor is not implemented or out of range, GE_ERR_INVALID for a non-finite VALUE. */
int ge__ss_encode(double value, ge__ss_type type, uint16_t sf_raw, uint16_t *regs);

#ifdef __cplusplus
}
#endif
#endif
