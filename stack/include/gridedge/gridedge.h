/* gridedge/gridedge.h - the umbrella header of libgridedge and its version. */
#ifndef GRIDEDGE_GRIDEDGE_H
#define GRIDEDGE_GRIDEDGE_H

#include <gridedge/arena.h>
#include <gridedge/buf.h>
#include <gridedge/error.h>
#include <gridedge/log.h>
#include <gridedge/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, e.g. "0.1.0". */
const char *ge_version(void);

#ifdef __cplusplus
}
#endif
#endif
