/* store.c - the gateway's SQLite state (see store.h): schema and migrations, events, sent
 * responses, the outbox, the server time offset, registration data and the power history. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "gateway/store.h"

struct gw_store {
    sqlite3 *db;
    const ge_mem_t *mem;
    const ge_log_t *log;
};

#define MOD "store"

/* Each entry brings the schema from version i to i + 1; append, never edit a shipped one. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE events ("
    " source INTEGER NOT NULL, id TEXT NOT NULL, program TEXT,"
    " raw BLOB, raw_type TEXT,"
    " start INTEGER NOT NULL, duration INTEGER NOT NULL,"
    " randomize_start INTEGER NOT NULL DEFAULT 0, randomize_duration INTEGER NOT NULL DEFAULT 0,"
    " priority INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL, received INTEGER NOT NULL,"
    " PRIMARY KEY (source, id));"
    "CREATE TABLE responses ("
    " source INTEGER NOT NULL, event_id TEXT NOT NULL, status INTEGER NOT NULL,"
    " sent INTEGER NOT NULL, PRIMARY KEY (source, event_id, status));"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, method TEXT NOT NULL,"
    " content_type TEXT NOT NULL DEFAULT '', body BLOB NOT NULL,"
    " dedupe_key TEXT UNIQUE, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " offset INTEGER NOT NULL, learned INTEGER NOT NULL);"
    "CREATE TABLE registration (source INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY (source, key));"
    "CREATE TABLE history (time INTEGER PRIMARY KEY, pv REAL NOT NULL, battery REAL NOT NULL,"
    " ev REAL NOT NULL, house REAL NOT NULL, site REAL NOT NULL, soc REAL NOT NULL);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == GW_STORE_SCHEMA_VERSION,
               "one migration per schema version");

const char *gw_source_name(gw_source_t source)
{
    switch (source) {
    case GW_SOURCE_SEP: return "sep";
    case GW_SOURCE_OADR: return "oadr";
    }
    return NULL;
}

/* Turn an SQLite result into a ge_err, logging what SQLite said.  A full disk and a read-only
 * database get words a site operator understands. */
static int fail(gw_store_t *st, int rc, const char *what)
{
    int os_errno = errno; /* first: SQLite keeps the OS error only sometimes */
    const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    int sys = st->db ? sqlite3_system_errno(st->db) : 0;
    const char *hint = "";

    if (!sys && (rc & 0xff) == SQLITE_IOERR)
        sys = os_errno;
    switch (rc & 0xff) {
    case SQLITE_FULL: hint = " (the state dir's disk is full)"; break;
    case SQLITE_READONLY: hint = " (the state dir or database is read-only)"; break;
    case SQLITE_CANTOPEN: hint = " (cannot open the database file in the state dir)"; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: hint = " (the database file is damaged)"; break;
    case SQLITE_IOERR:
        /* SQLite reports most failed writes as a generic I/O error; the OS error says why. */
        if (sys == ENOSPC || sys == EDQUOT)
            hint = " (the state dir's disk is full)";
        else if (sys == EFBIG)
            hint = " (the database reached the file size limit)";
        else if (sys == EROFS)
            hint = " (the state dir is on a read-only file system)";
        break;
    default: break;
    }
    if ((rc & 0xff) == SQLITE_IOERR && sys)
        ge_log(st->log, GE_LOG_ERROR, MOD, "%s: %s: %s%s", what, msg, strerror(sys), hint);
    else
        ge_log(st->log, GE_LOG_ERROR, MOD, "%s: %s%s", what, msg, hint);
    return GE_ERR_STORAGE;
}

static int exec(gw_store_t *st, const char *sql, const char *what)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(st, rc, what);
}

static int prepare(gw_store_t *st, sqlite3_stmt **stmt, const char *sql, const char *what)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return fail(st, rc, what);
    }
    return 0;
}

/* Step a statement that returns no rows and finalize it. */
static int run(gw_store_t *st, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    int err = 0;

    if (rc != SQLITE_DONE)
        err = fail(st, rc, what);
    sqlite3_finalize(stmt);
    return err;
}

static int bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i);
}

static int rollback(gw_store_t *st, int err)
{
    /* ROLLBACK may fail when SQLite already rolled back (e.g. after SQLITE_FULL); nothing to do. */
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

static int migrate(gw_store_t *st)
{
    sqlite3_stmt *stmt;
    int version, err;

    if ((err = prepare(st, &stmt, "PRAGMA user_version", "reading the schema version")))
        return err;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        err = fail(st, sqlite3_errcode(st->db), "reading the schema version");
        sqlite3_finalize(stmt);
        return err;
    }
    version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    if (version > GW_STORE_SCHEMA_VERSION) {
        ge_log(st->log, GE_LOG_ERROR, MOD,
               "the database has schema version %d, newer than this program's %d; "
               "refusing to touch it", version, GW_STORE_SCHEMA_VERSION);
        return GE_ERR_STORAGE;
    }
    for (; version < GW_STORE_SCHEMA_VERSION; version++) {
        char setv[64];

        /* Each step and its version bump commit together, so a crash mid-migration re-runs
         * exactly the step that did not finish. */
        if ((err = exec(st, "BEGIN IMMEDIATE", "starting a migration")))
            return err;
        snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", version + 1);
        if ((err = exec(st, migrations[version], "migrating the schema")) ||
            (err = exec(st, setv, "migrating the schema")) ||
            (err = exec(st, "COMMIT", "migrating the schema")))
            return rollback(st, err);
        ge_log(st->log, GE_LOG_INFO, MOD, "database schema migrated to version %d", version + 1);
    }
    return 0;
}

int gw_store_open(gw_store_t **out, const char *state_dir, const ge_mem_t *mem, const ge_log_t *log)
{
    gw_store_t *st;
    char *path;
    size_t n;
    int rc, err;
    struct stat sb;

    if (!out || !state_dir || !*state_dir)
        return GE_ERR_INVALID;
    *out = NULL;
    if (!mem)
        mem = ge_mem_default();
    if (stat(state_dir, &sb) != 0) {
        if (errno != ENOENT || mkdir(state_dir, 0700) != 0) {
            ge_log(log, GE_LOG_ERROR, MOD, "state dir %s: %s", state_dir, strerror(errno));
            return GE_ERR_STORAGE;
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        ge_log(log, GE_LOG_ERROR, MOD, "state dir %s: not a directory", state_dir);
        return GE_ERR_STORAGE;
    }
    n = strlen(state_dir) + sizeof("/" GW_STORE_FILE);
    if (!(st = mem->malloc(sizeof(*st), mem->ud)))
        return GE_ERR_NOMEM;
    if (!(path = mem->malloc(n, mem->ud))) {
        mem->free(st, mem->ud);
        return GE_ERR_NOMEM;
    }
    snprintf(path, n, "%s/%s", state_dir, GW_STORE_FILE);
    st->db = NULL;
    st->mem = mem;
    st->log = log;
    rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                         SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ge_log(log, GE_LOG_ERROR, MOD, "opening %s: %s", path,
               st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        mem->free(path, mem->ud);
        gw_store_close(st);
        return GE_ERR_STORAGE;
    }
    mem->free(path, mem->ud);
    sqlite3_extended_result_codes(st->db, 1);
    /* Another process (a second gateway, the sqlite3 shell) may hold a lock briefly. */
    sqlite3_busy_timeout(st->db, 5000);
    /* WAL: readers do not block the writer and a commit is one append; synchronous=FULL syncs
     * the WAL at every commit, so an acknowledged change survives a power cut, not only a crash. */
    if ((err = exec(st, "PRAGMA journal_mode=WAL", "setting WAL mode")) ||
        (err = exec(st, "PRAGMA synchronous=FULL", "setting synchronous mode")) ||
        (err = exec(st, "PRAGMA foreign_keys=ON", "enabling foreign keys")) ||
        (err = migrate(st))) {
        gw_store_close(st);
        return err;
    }
    *out = st;
    return 0;
}

void gw_store_close(gw_store_t *st)
{
    if (!st)
        return;
    if (st->db)
        sqlite3_close_v2(st->db); /* the last connection's close checkpoints the WAL */
    st->mem->free(st, st->mem->ud);
}

int gw_store_check(gw_store_t *st)
{
    sqlite3_stmt *stmt;
    int err, rc, ok = 0, rows = 0;

    if (!st)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "PRAGMA integrity_check", "checking integrity")))
        return err;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(stmt, 0);
        rows++;
        if (s && strcmp(s, "ok") == 0)
            ok = 1;
        else
            ge_log(st->log, GE_LOG_ERROR, MOD, "integrity check: %s", s ? s : "?");
    }
    if (rc != SQLITE_DONE)
        err = fail(st, rc, "checking integrity");
    else if (!(ok && rows == 1))
        err = GE_ERR_STORAGE;
    sqlite3_finalize(stmt);
    return err;
}

int gw_store_schema_version(gw_store_t *st, int *version)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !version)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "PRAGMA user_version", "reading the schema version")))
        return err;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *version = sqlite3_column_int(stmt, 0);
    else
        err = fail(st, sqlite3_errcode(st->db), "reading the schema version");
    sqlite3_finalize(stmt);
    return err;
}

/* Did the last statement change a row? (for GE_ERR_NOTFOUND on updates and deletes) */
static int changed(gw_store_t *st, int err)
{
    if (err)
        return err;
    return sqlite3_changes(st->db) > 0 ? 0 : GE_ERR_NOTFOUND;
}

static int valid_source(int source)
{
    return source == GW_SOURCE_SEP || source == GW_SOURCE_OADR;
}

/* --- events ------------------------------------------------------------------------------------ */

int gw_store_event_put(gw_store_t *st, const gw_event_t *ev)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !ev || !valid_source(ev->source) || !ev->id || !ev->status ||
        (ev->raw_len && !ev->raw))
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt,
                       "INSERT OR REPLACE INTO events (source, id, program, raw, raw_type, start,"
                       " duration, randomize_start, randomize_duration, priority, version, status,"
                       " received) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                       "storing an event")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)ev->source);
    bind_text(stmt, 2, ev->id);
    bind_text(stmt, 3, ev->program);
    if (ev->raw)
        sqlite3_bind_blob64(stmt, 4, ev->raw, ev->raw_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, 4);
    bind_text(stmt, 5, ev->raw_type);
    sqlite3_bind_int64(stmt, 6, ev->start);
    sqlite3_bind_int64(stmt, 7, ev->duration);
    sqlite3_bind_int64(stmt, 8, ev->randomize_start);
    sqlite3_bind_int64(stmt, 9, ev->randomize_duration);
    sqlite3_bind_int64(stmt, 10, ev->priority);
    sqlite3_bind_int64(stmt, 11, ev->version);
    bind_text(stmt, 12, ev->status);
    sqlite3_bind_int64(stmt, 13, ev->received);
    return run(st, stmt, "storing an event");
}

int gw_store_event_set_status(gw_store_t *st, gw_source_t source, const char *id, const char *status)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !valid_source(source) || !id || !status)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "UPDATE events SET status = ?3 WHERE source = ?1 AND id = ?2",
                       "updating an event")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, id);
    bind_text(stmt, 3, status);
    return changed(st, run(st, stmt, "updating an event"));
}

int gw_store_event_delete(gw_store_t *st, gw_source_t source, const char *id)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !valid_source(source) || !id)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "DELETE FROM events WHERE source = ?1 AND id = ?2",
                       "deleting an event")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, id);
    return changed(st, run(st, stmt, "deleting an event"));
}

#define EVENT_COLUMNS "source, id, program, raw, raw_type, start, duration, randomize_start," \
    " randomize_duration, priority, version, status, received"

static int event_walk(gw_store_t *st, sqlite3_stmt *stmt, gw_event_fn fn, void *ud, int *rows)
{
    int rc, err = 0;

    *rows = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        gw_event_t ev;

        memset(&ev, 0, sizeof(ev));
        ev.source = (gw_source_t)sqlite3_column_int(stmt, 0);
        ev.id = (const char *)sqlite3_column_text(stmt, 1);
        ev.program = (const char *)sqlite3_column_text(stmt, 2);
        ev.raw = sqlite3_column_blob(stmt, 3);
        ev.raw_len = (size_t)sqlite3_column_bytes(stmt, 3);
        ev.raw_type = (const char *)sqlite3_column_text(stmt, 4);
        ev.start = sqlite3_column_int64(stmt, 5);
        ev.duration = sqlite3_column_int64(stmt, 6);
        ev.randomize_start = sqlite3_column_int64(stmt, 7);
        ev.randomize_duration = sqlite3_column_int64(stmt, 8);
        ev.priority = sqlite3_column_int64(stmt, 9);
        ev.version = sqlite3_column_int64(stmt, 10);
        ev.status = (const char *)sqlite3_column_text(stmt, 11);
        ev.received = sqlite3_column_int64(stmt, 12);
        if (!ev.id || !ev.status) {
            err = GE_ERR_NOMEM; /* sqlite3_column_text fails only on allocation */
            break;
        }
        (*rows)++;
        if ((err = fn(ud, &ev)) != 0)
            break;
    }
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = fail(st, rc, "reading events");
    sqlite3_finalize(stmt);
    return err;
}

int gw_store_event_foreach(gw_store_t *st, int source, gw_event_fn fn, void *ud)
{
    sqlite3_stmt *stmt;
    int err, rows;

    if (!st || !fn || (source != -1 && !valid_source(source)))
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt,
                       "SELECT " EVENT_COLUMNS " FROM events WHERE ?1 = -1 OR source = ?1"
                       " ORDER BY start, source, id", "reading events")))
        return err;
    sqlite3_bind_int(stmt, 1, source);
    return event_walk(st, stmt, fn, ud, &rows);
}

int gw_store_event_get(gw_store_t *st, gw_source_t source, const char *id, gw_event_fn fn, void *ud)
{
    sqlite3_stmt *stmt;
    int err, rows;

    if (!st || !fn || !valid_source(source) || !id)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt,
                       "SELECT " EVENT_COLUMNS " FROM events WHERE source = ?1 AND id = ?2",
                       "reading an event")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, id);
    err = event_walk(st, stmt, fn, ud, &rows);
    return err ? err : rows ? 0 : GE_ERR_NOTFOUND;
}

static int prune(gw_store_t *st, const char *sql, int64_t before, size_t *removed, const char *what)
{
    sqlite3_stmt *stmt;
    int err;

    if (removed)
        *removed = 0;
    if ((err = prepare(st, &stmt, sql, what)))
        return err;
    sqlite3_bind_int64(stmt, 1, before);
    if ((err = run(st, stmt, what)) == 0 && removed)
        *removed = (size_t)sqlite3_changes(st->db);
    return err;
}

int gw_store_event_prune(gw_store_t *st, int64_t before, size_t *removed)
{
    if (!st)
        return GE_ERR_INVALID;
    return prune(st, "DELETE FROM events WHERE start + duration < ?1", before, removed,
                 "pruning events");
}

/* --- responses --------------------------------------------------------------------------------- */

int gw_store_response_record(gw_store_t *st, gw_source_t source, const char *event_id, int status,
                             int64_t at)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !valid_source(source) || !event_id)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt,
                       "INSERT OR IGNORE INTO responses (source, event_id, status, sent)"
                       " VALUES (?1, ?2, ?3, ?4)", "recording a response")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, event_id);
    sqlite3_bind_int(stmt, 3, status);
    sqlite3_bind_int64(stmt, 4, at);
    if ((err = run(st, stmt, "recording a response")))
        return err;
    return sqlite3_changes(st->db) > 0 ? 0 : GE_ERR_EXISTS;
}

int gw_store_response_sent(gw_store_t *st, gw_source_t source, const char *event_id, int status,
                           int *sent)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (!st || !valid_source(source) || !event_id || !sent)
        return GE_ERR_INVALID;
    *sent = 0;
    if ((err = prepare(st, &stmt,
                       "SELECT 1 FROM responses WHERE source = ?1 AND event_id = ?2 AND status = ?3",
                       "reading responses")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, event_id);
    sqlite3_bind_int(stmt, 3, status);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *sent = 1;
    else if (rc != SQLITE_DONE)
        err = fail(st, rc, "reading responses");
    sqlite3_finalize(stmt);
    return err;
}

/* --- outbox ------------------------------------------------------------------------------------ */

int64_t gw_outbox_backoff(int attempts)
{
    int64_t d = GW_OUTBOX_BACKOFF_MIN;

    for (int i = 1; i < attempts && d < GW_OUTBOX_BACKOFF_MAX; i++)
        d *= 2;
    return d < GW_OUTBOX_BACKOFF_MAX ? d : GW_OUTBOX_BACKOFF_MAX;
}

int gw_store_outbox_enqueue(gw_store_t *st, const gw_outbox_msg_t *msg, int64_t now, int64_t *id)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (id)
        *id = 0;
    if (!st || !msg || !msg->url || !msg->method || (msg->body_len && !msg->body))
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt,
                       "INSERT INTO outbox (url, method, content_type, body, dedupe_key, next_try,"
                       " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", "queueing a message")))
        return err;
    bind_text(stmt, 1, msg->url);
    bind_text(stmt, 2, msg->method);
    bind_text(stmt, 3, msg->content_type ? msg->content_type : "");
    sqlite3_bind_blob64(stmt, 4, msg->body ? msg->body : "", msg->body_len, SQLITE_TRANSIENT);
    bind_text(stmt, 5, msg->dedupe_key);
    sqlite3_bind_int64(stmt, 6, now);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(stmt);
        if (id)
            *id = sqlite3_last_insert_rowid(st->db);
        return 0;
    }
    if (rc != SQLITE_CONSTRAINT_UNIQUE || !msg->dedupe_key) {
        err = fail(st, rc, "queueing a message"); /* before finalize, which resets the errno */
        sqlite3_finalize(stmt);
        return err;
    }
    sqlite3_finalize(stmt);
    /* Already queued under this key: tell the caller which one. */
    if ((err = prepare(st, &stmt, "SELECT id FROM outbox WHERE dedupe_key = ?1",
                       "queueing a message")))
        return err;
    bind_text(stmt, 1, msg->dedupe_key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && id)
        *id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_ROW)
        err = fail(st, rc, "queueing a message");
    sqlite3_finalize(stmt);
    return err ? err : GE_ERR_EXISTS;
}

static char *dup_column(const ge_mem_t *mem, sqlite3_stmt *stmt, int col, size_t *len_out)
{
    const void *p = sqlite3_column_blob(stmt, col);
    size_t len = (size_t)sqlite3_column_bytes(stmt, col);
    char *s = mem->malloc(len + 1, mem->ud);

    if (!s)
        return NULL;
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    if (len_out)
        *len_out = len;
    return s;
}

void gw_outbox_item_clear(gw_store_t *st, gw_outbox_item_t *item)
{
    const ge_mem_t *mem = st ? st->mem : ge_mem_default();

    if (!item)
        return;
    mem->free(item->url, mem->ud);
    mem->free(item->method, mem->ud);
    mem->free(item->content_type, mem->ud);
    mem->free(item->body, mem->ud);
    mem->free(item->dedupe_key, mem->ud);
    memset(item, 0, sizeof(*item));
}

/* The head of the messages whose key starts with PREFIX (NULL: of all). */
static int outbox_head(gw_store_t *st, const char *prefix, int64_t now, gw_outbox_item_t *item)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (!st || !item)
        return GE_ERR_INVALID;
    memset(item, 0, sizeof(*item));
    /* substr() rather than LIKE: a key may hold '%' or '_' */
    if ((err = prepare(st, &stmt,
                       "SELECT id, url, method, content_type, body, coalesce(dedupe_key, ''),"
                       " attempts, next_try, created FROM outbox"
                       " WHERE ?1 IS NULL OR substr(dedupe_key, 1, length(?1)) = ?1 ORDER BY id LIMIT 1",
                       "reading the outbox")))
        return err;
    bind_text(stmt, 1, prefix);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(stmt);
        return GE_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        err = fail(st, rc, "reading the outbox");
        sqlite3_finalize(stmt);
        return err;
    }
    item->id = sqlite3_column_int64(stmt, 0);
    item->url = dup_column(st->mem, stmt, 1, NULL);
    item->method = dup_column(st->mem, stmt, 2, NULL);
    item->content_type = dup_column(st->mem, stmt, 3, NULL);
    item->body = dup_column(st->mem, stmt, 4, &item->body_len);
    item->dedupe_key = dup_column(st->mem, stmt, 5, NULL);
    item->attempts = sqlite3_column_int(stmt, 6);
    item->next_try = sqlite3_column_int64(stmt, 7);
    item->created = sqlite3_column_int64(stmt, 8);
    sqlite3_finalize(stmt);
    if (!item->url || !item->method || !item->content_type || !item->body || !item->dedupe_key) {
        gw_outbox_item_clear(st, item);
        return GE_ERR_NOMEM;
    }
    return item->next_try <= now ? 0 : GE_ERR_AGAIN;
}

int gw_store_outbox_peek(gw_store_t *st, int64_t now, gw_outbox_item_t *item)
{
    return outbox_head(st, NULL, now, item);
}

int gw_store_outbox_peek_queue(gw_store_t *st, const char *prefix, int64_t now, gw_outbox_item_t *item)
{
    if (!prefix)
        return GE_ERR_INVALID;
    return outbox_head(st, prefix, now, item);
}

int gw_store_outbox_ack(gw_store_t *st, int64_t id)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "DELETE FROM outbox WHERE id = ?1", "acknowledging a message")))
        return err;
    sqlite3_bind_int64(stmt, 1, id);
    return changed(st, run(st, stmt, "acknowledging a message"));
}

int gw_store_outbox_fail(gw_store_t *st, int64_t id, int64_t now, int64_t *next_try)
{
    sqlite3_stmt *stmt;
    int err, rc, attempts;
    int64_t when;

    if (!st)
        return GE_ERR_INVALID;
    if ((err = exec(st, "BEGIN IMMEDIATE", "rescheduling a message")))
        return err;
    if ((err = prepare(st, &stmt, "SELECT attempts FROM outbox WHERE id = ?1",
                       "rescheduling a message")))
        return rollback(st, err);
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    attempts = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return rollback(st, GE_ERR_NOTFOUND);
    if (rc != SQLITE_ROW)
        return rollback(st, fail(st, rc, "rescheduling a message"));
    if (attempts < 1000000)
        attempts++;
    when = now + gw_outbox_backoff(attempts);
    if ((err = prepare(st, &stmt, "UPDATE outbox SET attempts = ?2, next_try = ?3 WHERE id = ?1",
                       "rescheduling a message")))
        return rollback(st, err);
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int(stmt, 2, attempts);
    sqlite3_bind_int64(stmt, 3, when);
    if ((err = run(st, stmt, "rescheduling a message")) ||
        (err = exec(st, "COMMIT", "rescheduling a message")))
        return rollback(st, err);
    if (next_try)
        *next_try = when;
    return 0;
}

static int count_rows(gw_store_t *st, const char *sql, size_t *count, const char *what)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !count)
        return GE_ERR_INVALID;
    *count = 0;
    if ((err = prepare(st, &stmt, sql, what)))
        return err;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *count = (size_t)sqlite3_column_int64(stmt, 0);
    else
        err = fail(st, sqlite3_errcode(st->db), what);
    sqlite3_finalize(stmt);
    return err;
}

int gw_store_outbox_count(gw_store_t *st, size_t *count)
{
    return count_rows(st, "SELECT count(*) FROM outbox", count, "counting the outbox");
}

/* --- time offset ------------------------------------------------------------------------------- */

int gw_store_time_offset_set(gw_store_t *st, int64_t offset, int64_t at)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "INSERT OR REPLACE INTO clock (id, offset, learned)"
                       " VALUES (1, ?1, ?2)", "storing the time offset")))
        return err;
    sqlite3_bind_int64(stmt, 1, offset);
    sqlite3_bind_int64(stmt, 2, at);
    return run(st, stmt, "storing the time offset");
}

int gw_store_time_offset_get(gw_store_t *st, int64_t *offset, int64_t *at)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (!st || !offset)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "SELECT offset, learned FROM clock WHERE id = 1",
                       "reading the time offset")))
        return err;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *offset = sqlite3_column_int64(stmt, 0);
        if (at)
            *at = sqlite3_column_int64(stmt, 1);
    } else {
        err = rc == SQLITE_DONE ? GE_ERR_NOTFOUND : fail(st, rc, "reading the time offset");
    }
    sqlite3_finalize(stmt);
    return err;
}

/* --- registration ------------------------------------------------------------------------------ */

int gw_store_reg_set(gw_store_t *st, gw_source_t source, const char *key, const char *value)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !valid_source(source) || !key || !value)
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "INSERT OR REPLACE INTO registration (source, key, value)"
                       " VALUES (?1, ?2, ?3)", "storing registration data")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, key);
    bind_text(stmt, 3, value);
    return run(st, stmt, "storing registration data");
}

int gw_store_reg_get(gw_store_t *st, gw_source_t source, const char *key, char *buf, size_t size)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (!st || !valid_source(source) || !key || !buf || !size)
        return GE_ERR_INVALID;
    buf[0] = '\0';
    if ((err = prepare(st, &stmt, "SELECT value FROM registration WHERE source = ?1 AND key = ?2",
                       "reading registration data")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, key);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(stmt, 0);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
        if (!v)
            err = GE_ERR_NOMEM;
        else if (len >= size)
            err = GE_ERR_OVERFLOW;
        else
            memcpy(buf, v, len + 1);
    } else {
        err = rc == SQLITE_DONE ? GE_ERR_NOTFOUND : fail(st, rc, "reading registration data");
    }
    sqlite3_finalize(stmt);
    return err;
}

int gw_store_reg_delete(gw_store_t *st, gw_source_t source, const char *key)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !valid_source(source))
        return GE_ERR_INVALID;
    if ((err = prepare(st, &stmt, "DELETE FROM registration WHERE source = ?1"
                       " AND (?2 IS NULL OR key = ?2)", "deleting registration data")))
        return err;
    sqlite3_bind_int(stmt, 1, (int)source);
    bind_text(stmt, 2, key);
    return run(st, stmt, "deleting registration data");
}

/* --- history ----------------------------------------------------------------------------------- */

int gw_store_history_add(gw_store_t *st, const gw_history_sample_t *s)
{
    sqlite3_stmt *stmt;
    int err;

    if (!st || !s)
        return GE_ERR_INVALID;
    /* A sample lost in a power cut costs nothing, so spare the flash an fsync per sample; the
     * database stays consistent either way (WAL). */
    if ((err = exec(st, "PRAGMA synchronous=NORMAL", "storing history")))
        return err;
    if ((err = prepare(st, &stmt, "INSERT OR REPLACE INTO history (time, pv, battery, ev, house,"
                       " site, soc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", "storing history")) == 0) {
        sqlite3_bind_int64(stmt, 1, s->time);
        sqlite3_bind_double(stmt, 2, s->pv_w);
        sqlite3_bind_double(stmt, 3, s->battery_w);
        sqlite3_bind_double(stmt, 4, s->ev_w);
        sqlite3_bind_double(stmt, 5, s->house_w);
        sqlite3_bind_double(stmt, 6, s->site_w);
        sqlite3_bind_double(stmt, 7, s->soc_pct);
        err = run(st, stmt, "storing history");
    }
    /* Back to FULL for everything that is acknowledged to someone. */
    int err2 = exec(st, "PRAGMA synchronous=FULL", "storing history");
    return err ? err : err2;
}

int gw_store_history_query(gw_store_t *st, int64_t from, int64_t to, int64_t step, gw_history_fn fn,
                           void *ud)
{
    sqlite3_stmt *stmt;
    int err, rc;

    if (!st || !fn || to < from)
        return GE_ERR_INVALID;
    if (step < 1)
        step = 1;
    /* Buckets are aligned to multiples of STEP from FROM, so a chart's points do not wander
     * as samples arrive. */
    if ((err = prepare(st, &stmt,
                       "SELECT ?1 + ((time - ?1) / ?3) * ?3 AS b, avg(pv), avg(battery), avg(ev),"
                       " avg(house), avg(site), avg(soc) FROM history"
                       " WHERE time >= ?1 AND time < ?2 GROUP BY b ORDER BY b",
                       "reading history")))
        return err;
    sqlite3_bind_int64(stmt, 1, from);
    sqlite3_bind_int64(stmt, 2, to);
    sqlite3_bind_int64(stmt, 3, step);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        gw_history_sample_t s;

        s.time = sqlite3_column_int64(stmt, 0);
        s.pv_w = sqlite3_column_double(stmt, 1);
        s.battery_w = sqlite3_column_double(stmt, 2);
        s.ev_w = sqlite3_column_double(stmt, 3);
        s.house_w = sqlite3_column_double(stmt, 4);
        s.site_w = sqlite3_column_double(stmt, 5);
        s.soc_pct = sqlite3_column_double(stmt, 6);
        if ((err = fn(ud, &s)) != 0)
            break;
    }
    if (!err && rc != SQLITE_DONE)
        err = fail(st, rc, "reading history");
    sqlite3_finalize(stmt);
    return err;
}

int gw_store_history_last24h(gw_store_t *st, int64_t now, gw_history_fn fn, void *ud)
{
    /* Start on a bucket boundary so the same sample lands in the same bucket on every poll. */
    int64_t from = now - 86400;

    from -= ((from % GW_HISTORY_DAY_STEP) + GW_HISTORY_DAY_STEP) % GW_HISTORY_DAY_STEP;
    return gw_store_history_query(st, from, now + 1, GW_HISTORY_DAY_STEP, fn, ud);
}

int gw_store_history_prune(gw_store_t *st, int64_t before, size_t *removed)
{
    if (!st)
        return GE_ERR_INVALID;
    return prune(st, "DELETE FROM history WHERE time < ?1", before, removed, "pruning history");
}
