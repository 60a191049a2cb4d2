/* gridedge/log.h - the logging hook.  The library never prints: every object that logs takes a
 * ge_log_t from its caller and hands each message to the caller's function. */
#ifndef GRIDEDGE_LOG_H
#define GRIDEDGE_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ge_log_level {
    GE_LOG_ERROR = 0,
    GE_LOG_WARN = 1,
    GE_LOG_INFO = 2,
    GE_LOG_DEBUG = 3
} ge_log_level;

/* MODULE names the part of the stack ("xml", "net", "sep", ...); MSG is one line, no newline. */
typedef void (*ge_log_fn)(void *ud, ge_log_level level, const char *module, const char *msg);

typedef struct ge_log {
    ge_log_fn fn;       /* NULL: discard everything */
    void *ud;
    ge_log_level level; /* messages above this level are dropped before formatting */
} ge_log_t;

/* Longest message handed to the hook; longer ones are cut and end in "...". */
#define GE_LOG_MAX 1024

/* Format and deliver one message.  LOG may be NULL. */
void ge_log(const ge_log_t *log, ge_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ge_logv(const ge_log_t *log, ge_log_level level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* "error", "warn", "info", "debug". */
const char *ge_log_level_name(ge_log_level level);

#ifdef __cplusplus
}
#endif
#endif
