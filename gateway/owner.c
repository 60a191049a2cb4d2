/* owner.c - the home owner's file (STATE_DIR/owner.ini): watched, parsed by the gateway config's
 * parser in its owner mode, and applied to the OpenADR 2.0b engine (see owner.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gridedge/error.h>

#include "gateway/owner.h"

int gw_owner_init(gw_owner_t *o, const char *state_dir, const ge_log_t *log)
{
    memset(o, 0, sizeof(*o));
    o->log = log;
    if (!state_dir)
        return 0;
    if (strlen(state_dir) >= GW_CONFIG_PATH_MAX)
        return GE_ERR_INVALID;
    snprintf(o->path, sizeof(o->path), "%s/%s", state_dir, GW_OWNER_FILE);
    return 0;
}

void gw_owner_free(gw_owner_t *o)
{
    free(o->choices);
    o->choices = NULL;
}

const gw_config_t *gw_owner_choices(const gw_owner_t *o)
{
    return o->choices;
}

/* Read the file anew: 1 when its content is good and now in force, 0 when it is bad (logged). */
static int reread(gw_owner_t *o)
{
    gw_config_t *c = malloc(sizeof(*c));
    gw_config_errors_t *errs = malloc(sizeof(*errs));
    char line[GW_CONFIG_PATH_MAX + 256];
    int ok = 0;

    if (!c || !errs) {
        ge_log(o->log, GE_LOG_ERROR, "owner", "%s: out of memory; the previous choices stay in force", o->path);
    } else if (gw_config_load_owner(c, o->path, errs) < 0) {
        gw_config_error_format(errs, 0, line, sizeof(line));
        ge_log(o->log, GE_LOG_ERROR, "owner", "%s%s; the home owner's previous choices stay in force", line,
               errs->total > 1 ? " (and more problems)" : "");
    } else {
        ge_log(o->log, GE_LOG_INFO, "owner", "%s: %zu unavailable window(s), %zu event opt-out(s), registered %s",
               o->path, c->oadr_n_unavailable, c->oadr_n_opt_out, c->oadr_registered ? "yes" : "no");
        free(o->choices);
        o->choices = c;
        c = NULL;
        ok = 1;
    }
    free(c);
    free(errs);
    return ok;
}

int gw_owner_poll(gw_owner_t *o, double now)
{
    struct stat st;

    if (!o->path[0] || now < o->next_check)
        return 0;
    o->next_check = now + 1;
    if (stat(o->path, &st) < 0) {
        if (errno != ENOENT || !o->seen)
            return 0;
        o->seen = 0;
        if (!o->choices)
            return 0;
        ge_log(o->log, GE_LOG_INFO, "owner", "%s is gone: the home owner's choices there no longer apply", o->path);
        free(o->choices);
        o->choices = NULL;
        return 1;
    }
    if (o->seen && o->mtime_s == (long long)st.st_mtim.tv_sec && o->mtime_ns == (long long)st.st_mtim.tv_nsec &&
        o->size == (long long)st.st_size && o->ino == (long long)st.st_ino)
        return 0;
    o->seen = 1;
    o->mtime_s = (long long)st.st_mtim.tv_sec;
    o->mtime_ns = (long long)st.st_mtim.tv_nsec;
    o->size = (long long)st.st_size;
    o->ino = (long long)st.st_ino;
    return reread(o);
}

int gw_owner_poll_now(gw_owner_t *o, double now)
{
    o->next_check = now;
    return gw_owner_poll(o, now);
}

void gw_owner_opt_id(const oadr_opt_window_t *w, char out[OADR_ID_MAX])
{
    time_t t = (time_t)w->start;
    struct tm tm;
    char when[32] = "?";

    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, OADR_ID_MAX, GW_OWNER_OPT_PREFIX "%s-%lld", when, (long long)w->duration);
}

static int listed(char (*ids)[OADR_ID_MAX], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

int gw_owner_apply(oadr_ven_t *v, const oadr_opt_window_t *fixed, size_t n_fixed, const gw_config_t *owner,
                   const ge_log_t *log)
{
    oadr_opt_window_t want[2 * GW_CONFIG_WINDOWS_MAX];
    char want_id[2 * GW_CONFIG_WINDOWS_MAX][OADR_ID_MAX], have[OADR_MAX_OPTS][OADR_ID_MAX];
    size_t n_want = 0, n_have, n_owner = owner ? owner->oadr_n_unavailable : 0;
    int first = 0, rc;

    if (n_fixed > GW_CONFIG_WINDOWS_MAX)
        n_fixed = GW_CONFIG_WINDOWS_MAX;
    for (size_t i = 0; i < n_fixed + n_owner; i++) {
        const oadr_opt_window_t *w = i < n_fixed ? &fixed[i] : &owner->oadr_unavailable[i - n_fixed];
        gw_owner_opt_id(w, want_id[n_want]);
        if (!listed(want_id, n_want, want_id[n_want]))
            want[n_want++] = *w;
    }
    n_have = oadr_ven_schedules(v, have, OADR_MAX_OPTS);
    if (n_have > OADR_MAX_OPTS)
        n_have = OADR_MAX_OPTS;
    for (size_t i = 0; i < n_have; i++) {
        if (strncmp(have[i], GW_OWNER_OPT_PREFIX, strlen(GW_OWNER_OPT_PREFIX)) != 0 ||
            listed(want_id, n_want, have[i]))
            continue;
        ge_log(log, GE_LOG_INFO, "owner", "the window of opt %s is withdrawn: oadrCancelOpt", have[i]);
        if ((rc = oadr_ven_cancel_opt(v, have[i])) < 0 && !first)
            first = rc;
    }
    for (size_t i = 0; i < n_want; i++) {
        if (listed(have, n_have, want_id[i]))
            continue;
        rc = oadr_ven_create_opt(v, want_id[i], 0, NULL, &want[i], 1);
        if (rc < 0) {
            ge_log(log, GE_LOG_ERROR, "owner", "cannot make the availability schedule %s: %s", want_id[i],
                   ge_strerror(rc));
            if (!first)
                first = rc;
        } else {
            ge_log(log, GE_LOG_INFO, "owner", "not available in the window of opt %s: oadrCreateOpt", want_id[i]);
        }
    }
    for (size_t i = 0; owner && i < owner->oadr_n_opt_out; i++)
        if ((rc = oadr_ven_opt_out(v, owner->oadr_opt_out[i])) < 0) {
            ge_log(log, GE_LOG_ERROR, "owner", "cannot opt out of event %s: %s", owner->oadr_opt_out[i],
                   ge_strerror(rc));
            if (!first)
                first = rc;
        }
    return first;
}

int gw_owner_leave(oadr_ven_t *v, const ge_log_t *log)
{
    oadr_ven_stats_t st;

    oadr_ven_stats(v, &st);
    if (!st.registered || oadr_ven_cancel_registration(v) < 0)
        return 0;
    ge_log(log, GE_LOG_INFO, "owner", "the home owner leaves the program: oadrCancelPartyRegistration");
    return 1;
}
