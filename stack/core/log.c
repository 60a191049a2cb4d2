/* log.c - formats messages for the caller's log hook (see gridedge/log.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <gridedge/log.h>

void ge_logv(const ge_log_t *log, ge_log_level level, const char *module, const char *fmt, va_list ap)
{
    char msg[GE_LOG_MAX];
    int n;

    if (!log || !log->fn || level > log->level)
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    /* One message is one line: a newline from untrusted text must not forge another entry. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    log->fn(log->ud, level, module ? module : "", msg);
}

void ge_log(const ge_log_t *log, ge_log_level level, const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ge_logv(log, level, module, fmt, ap);
    va_end(ap);
}

const char *ge_log_level_name(ge_log_level level)
{
    switch (level) {
    case GE_LOG_ERROR: return "error";
    case GE_LOG_WARN: return "warn";
    case GE_LOG_INFO: return "info";
    case GE_LOG_DEBUG: return "debug";
    }
    return "?";
}
