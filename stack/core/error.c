/* error.c - names of the ge_err codes. */
#include "config.h"

#include <gridedge/error.h>

const char *ge_strerror(int err)
{
    switch ((ge_err)err) {
    case GE_OK: return "success";
    case GE_ERR_INVALID: return "invalid argument";
    case GE_ERR_RANGE: return "value out of range";
    case GE_ERR_LIMIT: return "limit reached";
    case GE_ERR_AGAIN: return "try again";
    case GE_ERR_PARSE: return "malformed input";
    case GE_ERR_SCHEMA: return "schema violation";
    case GE_ERR_NOTFOUND: return "not found";
    case GE_ERR_EXISTS: return "already exists";
    case GE_ERR_STATE: return "invalid state for this call";
    case GE_ERR_UNSUPPORTED: return "not supported";
    case GE_ERR_IO: return "I/O error";
    case GE_ERR_TIMEOUT: return "timed out";
    case GE_ERR_CLOSED: return "connection closed";
    case GE_ERR_TLS: return "TLS error";
    case GE_ERR_CERT: return "certificate rejected";
    case GE_ERR_HTTP: return "HTTP error";
    case GE_ERR_PROTOCOL: return "protocol error";
    case GE_ERR_CONFIG: return "invalid configuration";
    case GE_ERR_STORAGE: return "storage error";
    case GE_ERR_DEVICE: return "device error";
    case GE_ERR_OVERFLOW: return "output buffer too small";
    case GE_ERR_FATAL_THRESHOLD: break;
    case GE_ERR_NOMEM: return "out of memory";
    case GE_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int ge_err_is_fatal(int err)
{
    return err <= GE_ERR_FATAL_THRESHOLD;
}
