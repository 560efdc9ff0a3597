/*
 * store.h — the SQLite database of Mail log: opening (with forward schema
 * migrations), the ingest side (the tracker's sink, the reader's saved state,
 * batched transactions, the domains file, retention) and the handle other
 * stages use for their own SQL. The reading side (tabs, trace, settings,
 * stats) is query.h.
 *
 * Contract:
 *   - store_open() creates or migrates the schema (PRAGMA user_version) and
 *     sets WAL, busy_timeout and a bounded page cache. One struct store per
 *     process; not shared between threads.
 *   - Ingest writes happen between store_begin() and store_commit(): the rows
 *     the tracker produced (through the sink from store_sink()) and the log
 *     offsets saved with store_log_state_put() commit together or not at all.
 *   - Every function returns 0 (or a documented count), or -1 with e filled.
 *
 * Tables (schema version 1): messages, message_lines, deliveries,
 * access_events (+ FTS5 trigram indexes deliveries_fts, access_fts),
 * log_state, settings, domain_settings, domains, alert_reports,
 * password_changes. Column meanings are documented in store.c's schema.
 */
#ifndef MAILLOG_STORE_STORE_H
#define MAILLOG_STORE_STORE_H

#include "geo/geo.h"
#include "track/track.h"
#include "util/err.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct store; /* opaque: the connection + its prepared statements */

/* Opens (creating it and its directory's file when missing) the database at
 * path and brings its schema up to date. NULL with e set on failure ("path:
 * …"). busy_ms: how long a statement waits for a lock (0: 5000 ms). */
struct store *store_open(const char *path, int busy_ms, struct err *e);
void store_close(struct store *s); /* s may be NULL */

/* The connection, for other stages' own SQL (the alerts' tables). Valid until
 * store_close(). Use prepared statements; do not change PRAGMAs. */
sqlite3 *store_handle(struct store *s);

/* Countries for message client IPs and access events; g may be NULL (no
 * countries). The store does not own g. */
void store_set_geo(struct store *s, struct geo *g);

/* ---- ingest side ---------------------------------------------------- */

/* The sink the tracker writes through (see track.h); ctx is s. */
void store_sink(struct store *s, struct track_sink *out);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. The sink must write between
 * store_begin() and store_commit(): new rows reach the search indexes when
 * store_commit() runs, just before the COMMIT. */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
int store_rollback(struct store *s);

/* The reader's saved position in one configured log path. */
struct log_state {
    char path[1024];
    uint64_t device;
    uint64_t inode;
    uint64_t offset;     /* bytes of the file already read (whole lines) */
    uint64_t first_hash; /* hash of the file's first line, 0 when empty */
    uint32_t first_len;  /* bytes the hash covers (the first line, capped) */
};

/* Reads the state of path: 1 found (st filled), 0 none. */
int store_log_state_get(struct store *s, const char *path, struct log_state *st, struct err *e);
int store_log_state_put(struct store *s, const struct log_state *st, struct err *e);

/* The read mark: the start time of the last ingest run that read every
 * configured log to its end, so everything logged before it is stored
 * (`maillog alerts` judges only the hours that end before it). put replaces
 * it; get: 1 found, 0 never set (*read_to = 0), -1 error. */
int store_read_mark_put(struct store *s, int64_t read_to, struct err *e);
int store_read_mark_get(struct store *s, int64_t *read_to, struct err *e);

/* The tracker's saved links (track_restore()) are kept per set of logs read
 * together: store_track_logs() names this run's (in the order read) before
 * the sink saves any and before get; -1 when they do not fit. get: 1 and
 * *data (malloc'ed, *len bytes), 0 none saved for these logs, -1 error. */
int store_track_logs(struct store *s, const char *const *logs, int count, struct err *e);
int store_track_state_get(struct store *s, void **data, size_t *len, struct err *e);

/* Replaces the domains table with the JSON array in the file at path
 * ([{name, owner_email, client, reseller, sysuser_uid, main}, …]; names
 * lower-cased; sysuser_uid and main, optional: the subscription's system
 * user, and whether this is the subscription's main domain). Returns
 * the number of domains. In its own transaction. */
int store_load_domains(struct store *s, const char *path, struct err *e);

/* Deletes records older than now - retention_days (messages by last_seen with
 * their deliveries and lines, access events by time, done alert rows) in
 * transactions of at most chunk rows (0: 5000). Returns rows deleted (capped
 * at INT32_MAX) or -1. The alert rows stay at least STORE_ALERT_KEEP_HOURS,
 * whatever the retention: the alert run looks back that far. */
#define STORE_ALERT_KEEP_HOURS (9 * 24)
long store_purge(struct store *s, int64_t now, int chunk, struct err *e);

/* Bounded housekeeping after an ingest run: merges some segments of the
 * search indexes (at most a few MB of work) in its own transaction. */
int store_maintain(struct store *s, struct err *e);

/* Database file size in bytes (page_count * page_size). */
int64_t store_db_bytes(struct store *s);

/* Lower-cased domain of an address ("User@Example.COM" → "example.com") into
 * out; "" when there is no '@'. */
void store_addr_domain(const char *addr, char *out, size_t size);

#endif
