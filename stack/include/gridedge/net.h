/* gridedge/net.h - run the transport (gridedge/http.h) from your own event loop.
 *
 * The HTTP client and server run on a libevent `struct event_base`.  A program that already has
 * a libevent loop passes its own base.  A device maker with another loop (poll, select, an RTOS
 * socket layer with a poll-like call) creates a ge_net_loop_t instead and, in their loop:
 *
 *     n = ge_net_loop_fds(loop, fds, max, &timeout_ms);   what to wait for, and for how long
 *     poll(fds, n, timeout_ms);                           their own wait, with their own fds too
 *     ge_net_loop_process(loop);                          do what is due, never blocking
 *
 * as libcoap's coap_io_prepare_io()/coap_io_do_io() work.  The clients and servers are created on
 * ge_net_loop_base(loop); their callbacks run inside ge_net_loop_process().
 *
 * One thread: the loop and everything on it are used from the thread that calls these functions.
 * Signal events (evsignal_new) are not supported on such a base.  A client URL with a host name
 * is resolved by the system resolver in a short-lived worker thread of the library's; its answer
 * arrives through a pipe that is among the fds reported here (an IP address is not resolved). */
#ifndef GRIDEDGE_NET_H
#define GRIDEDGE_NET_H

#include <stddef.h>

#include <gridedge/log.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct pollfd;

typedef struct ge_net_loop ge_net_loop_t;

/* A loop of its own (an event_base the library owns and never blocks in).  LOG may be NULL. */
int ge_net_loop_new(ge_net_loop_t **out, const ge_log_t *log);

/* Free the loop.  Free the clients and servers made on it first.  NULL is a no-op. */
void ge_net_loop_free(ge_net_loop_t *loop);

/* The base to hand to ge_http_client_new() / ge_http_server_new() (owned by LOOP). */
struct event_base *ge_net_loop_base(ge_net_loop_t *loop);

/* What the transport waits for now: one pollfd per socket (events POLLIN and/or POLLOUT,
 * revents 0) into OUT[0..MAX), and in *TIMEOUT_MS how long the caller may wait at most before
 * calling ge_net_loop_process() even if no fd became ready: -1 = no timer is pending, 0 = work
 * is due now.  Returns how many fds there are (when that is more than MAX, only MAX were
 * written: call again with a larger array), or a negative ge_err.  The set changes after every
 * ge_net_loop_process() (connections open and close): ask again before each wait. */
int ge_net_loop_fds(ge_net_loop_t *loop, struct pollfd *out, size_t max, int *timeout_ms);

/* Do what is due: read and write the sockets that are ready, run expired timers and the
 * callbacks that follow (request handlers, on_body, on_done).  Never blocks.  Call it after the
 * wait returns, whether an fd became ready or the timeout passed; readiness is checked again
 * here, so it does not matter which of the caller's fds woke the wait.  Returns 0 or a
 * negative ge_err. */
int ge_net_loop_process(ge_net_loop_t *loop);

#ifdef __cplusplus
}
#endif
#endif
