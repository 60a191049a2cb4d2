/* store.h - the gateway's persistent state: one SQLite database, STATE_DIR/gridedge.db.
 *
 * What lives here is what the gateway must not forget across a crash or a `kill -9` (DESIGN.md,
 * "Nothing lost"): the utility's events, the responses already sent (so a restart does not send
 * them twice), the OUTBOX of messages not yet acknowledged by the server, the learned offset to
 * the server's clock, registration data, and a history of the site's power for the status page.
 *
 * Durability: WAL journal, synchronous=FULL, so once a call returns 0 its change survives the
 * process being killed (and a power cut).  The history is the one exception: it is written with
 * synchronous=NORMAL because a lost sample costs nothing.
 *
 * Every call returns 0 or a negative ge_err; SQLite failures are GE_ERR_STORAGE with SQLite's
 * message sent to the caller's ge_log_t (module "store").  A failed call leaves the database as it
 * was and the handle usable (a full disk is an error for that call, not for the process).
 *
 * Strings handed to callbacks are valid only for the duration of the callback. */
#ifndef GATEWAY_STORE_H
#define GATEWAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <gridedge/error.h>
#include <gridedge/log.h>
#include <gridedge/mem.h>

typedef struct gw_store gw_store_t;

/* Which protocol an event, response or registration entry belongs to. */
typedef enum gw_source {
    GW_SOURCE_SEP = 0,  /* IEEE 2030.5 */
    GW_SOURCE_OADR = 1  /* OpenADR 2.0b / 3.0 */
} gw_source_t;

/* "sep" / "oadr" (the status file's spelling); NULL for anything else. */
const char *gw_source_name(gw_source_t source);

/* The schema version this build writes (PRAGMA user_version). */
#define GW_STORE_SCHEMA_VERSION 1

/* The database's file name inside the state dir. */
#define GW_STORE_FILE "gridedge.db"

/* Open (creating if needed) STATE_DIR/gridedge.db.  STATE_DIR itself is created (mode 0700) if
 * it is missing and its parent exists.  MEM may be NULL (malloc); LOG may be NULL.  Both must
 * outlive the store.  A database written by a newer schema is refused (GE_ERR_STORAGE). */
int gw_store_open(gw_store_t **out, const char *state_dir, const ge_mem_t *mem, const ge_log_t *log);

/* Close the store (checkpointing the WAL).  NULL is a no-op. */
void gw_store_close(gw_store_t *st);

/* Run PRAGMA integrity_check: 0 when the database is consistent, GE_ERR_STORAGE otherwise. */
int gw_store_check(gw_store_t *st);

/* The schema version of the open database. */
int gw_store_schema_version(gw_store_t *st, int *version);

/* --- events ------------------------------------------------------------------------------------ */

/* An event or control received from the utility: the raw message as received plus the fields the
 * scheduler needs without decoding it again.  Times are server time, unix seconds. */
typedef struct gw_event {
    gw_source_t source;
    const char *id;             /* mRID (2030.5) or eventID (OpenADR); unique per source */
    const char *program;        /* DERProgram href / OpenADR program (marketContext); may be NULL */
    const void *raw;            /* the message as received; may be NULL */
    size_t raw_len;
    const char *raw_type;       /* its media type, e.g. "application/sep+xml"; may be NULL */
    int64_t start;              /* interval start */
    int64_t duration;           /* seconds */
    int64_t randomize_start;    /* seconds, as 2030.5 randomizeStart / OpenADR startafter */
    int64_t randomize_duration;
    int64_t priority;           /* lower is more important (2030.5 primacy / OpenADR priority) */
    int64_t version;            /* creationTime or modificationNumber: newer replaces older */
    const char *status;         /* ours: "received", "scheduled", "active", "completed", ... */
    int64_t received;           /* local time it was received */
} gw_event_t;

/* Insert the event, or replace the stored one with the same (source, id). */
int gw_store_event_put(gw_store_t *st, const gw_event_t *ev);

/* Change an event's status; GE_ERR_NOTFOUND if there is no such event. */
int gw_store_event_set_status(gw_store_t *st, gw_source_t source, const char *id, const char *status);

/* Remove an event; GE_ERR_NOTFOUND if there is no such event. */
int gw_store_event_delete(gw_store_t *st, gw_source_t source, const char *id);

/* Call FN for each stored event of SOURCE (or of both when SOURCE is -1), ordered by start time
 * then id.  A non-zero return from FN stops the walk and is returned. */
typedef int (*gw_event_fn)(void *ud, const gw_event_t *ev);
int gw_store_event_foreach(gw_store_t *st, int source, gw_event_fn fn, void *ud);

/* Fetch one event; GE_ERR_NOTFOUND if absent. */
int gw_store_event_get(gw_store_t *st, gw_source_t source, const char *id, gw_event_fn fn, void *ud);

/* Delete events that ended (start + duration) before BEFORE; *REMOVED (may be NULL) gets the count. */
int gw_store_event_prune(gw_store_t *st, int64_t before, size_t *removed);

/* --- responses already sent (de-duplication) --------------------------------------------------- */

/* Record that a response with STATUS (the protocol's code, e.g. 2030.5 Response.status 1 =
 * "event received", OpenADR optIn = 1 / optOut = 2 by our numbering) was sent for EVENT_ID at AT.
 * Returns GE_ERR_EXISTS if that very response was already recorded (the caller must not send it
 * again). */
int gw_store_response_record(gw_store_t *st, gw_source_t source, const char *event_id, int status,
                             int64_t at);

/* *SENT = 1 if the response was recorded, else 0. */
int gw_store_response_sent(gw_store_t *st, gw_source_t source, const char *event_id, int status,
                           int *sent);

/* --- the outbox -------------------------------------------------------------------------------- */

/* A message to send.  Every outbound message is written here first and deleted only when the
 * server acknowledges it, so a crash between "decided to send" and "server has it" re-sends. */
typedef struct gw_outbox_msg {
    const char *url;           /* destination */
    const char *method;        /* "POST", "PUT", ... */
    const char *content_type;  /* may be NULL */
    const void *body;          /* may be NULL when BODY_LEN is 0 */
    size_t body_len;
    const char *dedupe_key;    /* NULL, or a key no other queued message may have */
} gw_outbox_msg_t;

/* A queued message as peeked.  Its strings and body belong to the item: free them with
 * gw_outbox_item_clear() (using the store's allocator). */
typedef struct gw_outbox_item {
    int64_t id;              /* queue position: increasing in the order of enqueue */
    char *url;
    char *method;
    char *content_type;      /* "" when none was given */
    char *body;              /* NUL-terminated after BODY_LEN bytes for convenience */
    size_t body_len;
    char *dedupe_key;        /* "" when none */
    int attempts;            /* failed attempts so far */
    int64_t next_try;        /* when it is due (local time, unix seconds) */
    int64_t created;
} gw_outbox_item_t;

/* Retry backoff after the Nth failed attempt: GW_OUTBOX_BACKOFF_MIN * 2^(N-1) seconds, at most
 * GW_OUTBOX_BACKOFF_MAX.  (The sans-I/O engines add any protocol-mandated jitter themselves.) */
#define GW_OUTBOX_BACKOFF_MIN 2
#define GW_OUTBOX_BACKOFF_MAX 3600

/* The delay gw_store_outbox_fail() uses after ATTEMPTS failed attempts. */
int64_t gw_outbox_backoff(int attempts);

/* Queue MSG, due at NOW.  *ID (may be NULL) gets its queue id.  If DEDUPE_KEY is set and a message
 * with that key is queued already, nothing is added, *ID is the queued one's and the result is
 * GE_ERR_EXISTS. */
int gw_store_outbox_enqueue(gw_store_t *st, const gw_outbox_msg_t *msg, int64_t now, int64_t *id);

/* The head of the queue (messages go out strictly in order, so a message backing off holds the
 * ones behind it).  0 with ITEM filled when the head is due at NOW; GE_ERR_AGAIN with ITEM filled
 * when it is not due yet (see item->next_try); GE_ERR_NOTFOUND when the queue is empty (ITEM
 * zeroed). */
int gw_store_outbox_peek(gw_store_t *st, int64_t now, gw_outbox_item_t *item);

/* The same for one sender's queue: only the messages whose DEDUPE_KEY starts with PREFIX (e.g.
 * "sep:" or "oadr:").  Each protocol link keeps its own strict order this way, and a server that
 * refuses one link's messages does not hold up another link's. */
int gw_store_outbox_peek_queue(gw_store_t *st, const char *prefix, int64_t now, gw_outbox_item_t *item);

/* Free what a peek put in ITEM and zero it. */
void gw_outbox_item_clear(gw_store_t *st, gw_outbox_item_t *item);

/* The server acknowledged message ID: delete it.  GE_ERR_NOTFOUND if it is not queued. */
int gw_store_outbox_ack(gw_store_t *st, int64_t id);

/* Sending message ID failed at NOW: count the attempt and reschedule it with backoff.  *NEXT_TRY
 * (may be NULL) gets the new due time.  GE_ERR_NOTFOUND if it is not queued. */
int gw_store_outbox_fail(gw_store_t *st, int64_t id, int64_t now, int64_t *next_try);

/* Messages queued. */
int gw_store_outbox_count(gw_store_t *st, size_t *count);

/* --- server time offset ------------------------------------------------------------------------ */

/* The learned offset: server time = local time + OFFSET (seconds), learned at local time AT. */
int gw_store_time_offset_set(gw_store_t *st, int64_t offset, int64_t at);

/* GE_ERR_NOTFOUND when none was ever learned.  AT may be NULL. */
int gw_store_time_offset_get(gw_store_t *st, int64_t *offset, int64_t *at);

/* --- registration data ------------------------------------------------------------------------- */

/* A key/value per protocol: e.g. the 2030.5 EndDevice href and PIN, the OpenADR venID and
 * registrationID. */
int gw_store_reg_set(gw_store_t *st, gw_source_t source, const char *key, const char *value);

/* Copy the value into BUF (NUL-terminated).  GE_ERR_NOTFOUND if unset, GE_ERR_OVERFLOW if BUF is
 * too small (BUF then holds nothing). */
int gw_store_reg_get(gw_store_t *st, gw_source_t source, const char *key, char *buf, size_t size);

/* Forget KEY (or every key of SOURCE when KEY is NULL), e.g. after the server dropped us. */
int gw_store_reg_delete(gw_store_t *st, gw_source_t source, const char *key);

/* --- site power history ------------------------------------------------------------------------ */

/* One sample; sign conventions as the status file (site import +, battery discharge +). */
typedef struct gw_history_sample {
    int64_t time;     /* unix seconds */
    double pv_w;
    double battery_w;
    double ev_w;
    double house_w;
    double site_w;
    double soc_pct;
} gw_history_sample_t;

/* Add (or replace the one at the same time). */
int gw_store_history_add(gw_store_t *st, const gw_history_sample_t *s);

/* Call FN for samples with FROM <= time < TO, oldest first.  STEP > 1 averages the samples in
 * each STEP-second bucket into one (time = the bucket's start) so a chart of a day gets a few
 * hundred points however often samples were taken.  A non-zero return from FN stops the walk. */
typedef int (*gw_history_fn)(void *ud, const gw_history_sample_t *s);
int gw_store_history_query(gw_store_t *st, int64_t from, int64_t to, int64_t step, gw_history_fn fn,
                           void *ud);

/* The last 24 h before NOW in 5-minute buckets (288 points at most). */
#define GW_HISTORY_DAY_STEP 300
int gw_store_history_last24h(gw_store_t *st, int64_t now, gw_history_fn fn, void *ud);

/* Delete samples older than BEFORE; *REMOVED (may be NULL) gets the count. */
int gw_store_history_prune(gw_store_t *st, int64_t before, size_t *removed);

#endif
