/* daemon.h - what the long-running subcommands share: a log hook that writes to stderr, the event
 * loop's clock, and SIGTERM/SIGINT/SIGHUP handling on a libevent loop. */
#ifndef GATEWAY_DAEMON_H
#define GATEWAY_DAEMON_H

#include <gridedge/log.h>

struct event_base;
struct event;

/* stderr logging: "gridedge: MODULE: LEVEL: MESSAGE".  UD is unused. */
void gw_log_stderr(void *ud, ge_log_level level, const char *module, const char *msg);

/* Remove DIR and everything under it (scratch directories); 0 or -1. */
int gw_rm_tree(const char *dir);

/* Wall-clock now, unix seconds. */
double gw_now(void);

typedef struct gw_signals {
    struct event *term, *intr, *hup;
    volatile int stop;   /* SIGTERM or SIGINT seen */
    volatile int reload; /* SIGHUP seen (cleared by the caller) */
} gw_signals_t;

/* Catch SIGTERM/SIGINT (stop: break the loop) and SIGHUP (reload flag) on BASE; ignore SIGPIPE. */
int gw_signals_init(gw_signals_t *s, struct event_base *base);
void gw_signals_free(gw_signals_t *s);

#endif
