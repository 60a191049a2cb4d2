/* owner.h - the home owner's live choices for the OpenADR 2.0b VEN: the file STATE_DIR/owner.ini
 * that a home app or the status page writes, with the gateway config's syntax and value checks
 * (gateway/gwconfig.c, only the owner's keys):
 *
 *   [oadr]
 *   unavailable = 2026-12-01T18:00:00Z/PT2H, 2026-12-02T18:00:00Z/PT2H   not available: EiOpt schedule
 *   opt_out = EV-1 EV-2                                                    per-event optOut
 *   registered = no                                                        leave the program
 *
 * It is re-read when it changes (its mtime, size or inode; checked at most once a second); a bad
 * file is logged once ("FILE:LINE: error: ...") and the choices in force stay.  Applied to the
 * engine: a window added -> oadrCreateOpt (optOut, vavailability) with an optID made from the
 * window (GE-UNAV-<start>-<seconds>), a window removed -> oadrCancelOpt of that opt; an event
 * listed -> optOut (an opt-out stands for the event: taking it off the list does not opt in
 * again); registered = no -> oadrCancelPartyRegistration once registered, and no new registration. */
#ifndef GATEWAY_OWNER_H
#define GATEWAY_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/log.h>
#include <gridedge/oadr.h>

#include "gateway/gwconfig.h"

#define GW_OWNER_FILE "owner.ini"
#define GW_OWNER_OPT_PREFIX "GE-UNAV-"

typedef struct gw_owner {
    char path[GW_CONFIG_PATH_MAX + 16];
    const ge_log_t *log;
    double next_check;          /* local clock */
    int seen;                   /* the file's identity below is known (it existed at the last look) */
    long long mtime_s, mtime_ns, size, ino;
    gw_config_t *choices;       /* the file's last good content, or NULL (no file, or none good yet) */
} gw_owner_t;

/* Watch STATE_DIR/owner.ini (STATE_DIR NULL: nothing to watch).  0 or GE_ERR_INVALID (path too long). */
int gw_owner_init(gw_owner_t *o, const char *state_dir, const ge_log_t *log);
void gw_owner_free(gw_owner_t *o);

/* At most once per second of NOW (any clock): re-read the file if it changed.  1 when the
 * choices in force changed (a good new content, or the file removed), else 0. */
int gw_owner_poll(gw_owner_t *o, double now);

/* As gw_owner_poll, but look now whatever the time of the last look: before a decision the
 * owner's latest choice must make (answering an event pushed to us). */
int gw_owner_poll_now(gw_owner_t *o, double now);

/* The file's choices in force, or NULL when there is no file (nothing chosen there). */
const gw_config_t *gw_owner_choices(const gw_owner_t *o);

/* The optID of the owner's availability window W: GE-UNAV-YYYYMMDDTHHMMSSZ-SECONDS. */
void gw_owner_opt_id(const oadr_opt_window_t *w, char out[OADR_ID_MAX]);

/* Make the engine's owner schedules those of FIXED (the config's, N_FIXED) and OWNER's
 * unavailable windows (OWNER may be NULL): create the missing ones, cancel the ones no longer
 * listed; opt out of OWNER's events.  0, or the first engine error (logged; the rest still done). */
int gw_owner_apply(oadr_ven_t *v, const oadr_opt_window_t *fixed, size_t n_fixed, const gw_config_t *owner,
                   const ge_log_t *log);

/* The owner wants the VEN out of the program: cancel its registration if it is registered now.
 * 1 when the cancellation was started, else 0. */
int gw_owner_leave(oadr_ven_t *v, const ge_log_t *log);

#endif
