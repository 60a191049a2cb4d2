/* gridedge/error.h - the library's error codes.  Every function that can fail returns 0 or one
 * of these negative codes; ge_strerror() names it.  Codes at or below GE_ERR_FATAL_THRESHOLD mean
 * the object that returned them can no longer be used (as in nghttp2); the others are recoverable. */
#ifndef GRIDEDGE_ERROR_H
#define GRIDEDGE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ge_err {
    GE_OK = 0,
    /* recoverable */
    GE_ERR_INVALID = -1,     /* an argument is invalid */
    GE_ERR_RANGE = -2,       /* a value is outside its allowed range */
    GE_ERR_LIMIT = -3,       /* a configured cap (size, depth, count) was reached */
    GE_ERR_AGAIN = -4,       /* not ready yet: call again with more input or later */
    GE_ERR_PARSE = -5,       /* input is not well-formed */
    GE_ERR_SCHEMA = -6,      /* input is well-formed but breaks the schema */
    GE_ERR_NOTFOUND = -7,    /* the named thing does not exist */
    GE_ERR_EXISTS = -8,      /* the named thing already exists */
    GE_ERR_STATE = -9,       /* the call is not allowed in the object's current state */
    GE_ERR_UNSUPPORTED = -10, /* a feature that is not built in or not implemented */
    GE_ERR_IO = -11,         /* an operating-system I/O error */
    GE_ERR_TIMEOUT = -12,    /* a deadline passed */
    GE_ERR_CLOSED = -13,     /* the peer closed the connection */
    GE_ERR_TLS = -14,        /* a TLS handshake or record error */
    GE_ERR_CERT = -15,       /* a certificate failed verification or a profile rule */
    GE_ERR_HTTP = -16,       /* malformed HTTP or an unexpected status */
    GE_ERR_PROTOCOL = -17,   /* the peer broke the application protocol */
    GE_ERR_CONFIG = -18,     /* a configuration value is invalid */
    GE_ERR_STORAGE = -19,    /* persistent storage failed */
    GE_ERR_DEVICE = -20,     /* a device driver failed or returned garbage */
    GE_ERR_OVERFLOW = -21,   /* an output buffer is too small */
    /* fatal: the object must be freed */
    GE_ERR_FATAL_THRESHOLD = -900,
    GE_ERR_NOMEM = -901,     /* an allocation failed */
    GE_ERR_INTERNAL = -902   /* a broken invariant inside the library */
} ge_err;

/* A short English description of ERR (never NULL; unknown codes give "unknown error"). */
const char *ge_strerror(int err);

/* Non-zero when ERR is fatal for the object that returned it. */
int ge_err_is_fatal(int err);

#ifdef __cplusplus
}
#endif
#endif
