/*
 * store.c — opening the database, the schema and its migrations, and the
 * ingest side: the tracker's sink, the reader's saved state, the domains
 * file and retention (see store.h for the contract).
 *
 * Deliveries carry copies of the message fields the tabs show and sort by
 * (sender, sender_domain, size, msgid, and sent_domain = the SMTP AUTH
 * login's domain, or the sender's domain for a bare login name or local
 * mail, else '': sent_domain_of()), so every tab is a
 * single-table walk of one index. put_message() keeps those copies in step.
 * FTS5 trigram tables with external content (kept by triggers) serve the
 * substring search.
 */
#include "store/store_impl.h"

#include "util/ipnet.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema ------------------------------------------------------------ */

static const char schema_v1[] =
    "CREATE TABLE messages("
    " id INTEGER PRIMARY KEY,"
    " host TEXT NOT NULL, queue_id TEXT NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " client_host TEXT NOT NULL DEFAULT '', client_ip TEXT NOT NULL DEFAULT '',"
    " client_country TEXT NOT NULL DEFAULT '',"
    " sasl_method TEXT NOT NULL DEFAULT '', sasl_username TEXT NOT NULL DEFAULT '',"
    " msgid TEXT NOT NULL DEFAULT '', sender TEXT NOT NULL DEFAULT '',"
    " sender_domain TEXT NOT NULL DEFAULT '',"
    " size INTEGER NOT NULL DEFAULT -1, nrcpt INTEGER NOT NULL DEFAULT -1,"
    " origin INTEGER NOT NULL DEFAULT 0,"
    " parent_id INTEGER NOT NULL DEFAULT 0, dsn_of INTEGER NOT NULL DEFAULT 0,"
    " closed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX messages_open ON messages(host, queue_id) WHERE closed = 0;"
    "CREATE INDEX messages_last ON messages(last_seen);"
    "CREATE INDEX messages_parent ON messages(parent_id) WHERE parent_id <> 0;"
    "CREATE INDEX messages_dsn ON messages(dsn_of) WHERE dsn_of <> 0;"
    "CREATE TABLE message_lines(message_id INTEGER PRIMARY KEY, lines BLOB NOT NULL);"
    "CREATE TABLE deliveries("
    " id INTEGER PRIMARY KEY,"
    " message_id INTEGER NOT NULL, time INTEGER NOT NULL,"
    " recipient TEXT NOT NULL, recipient_domain TEXT NOT NULL,"
    " orig_to TEXT NOT NULL DEFAULT '', relay TEXT NOT NULL DEFAULT '',"
    " service TEXT NOT NULL DEFAULT '', delay REAL NOT NULL DEFAULT -1,"
    " dsn TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL,"
    " status_text TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 1,"
    " is_hop INTEGER NOT NULL DEFAULT 0,"
    " sender TEXT NOT NULL DEFAULT '', sender_domain TEXT NOT NULL DEFAULT '',"
    " sent_domain TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT -1,"
    " msgid TEXT NOT NULL DEFAULT '',"
    " UNIQUE(message_id, recipient));"
    "CREATE INDEX deliveries_rcpt ON deliveries(recipient_domain, time) WHERE is_hop = 0;"
    "CREATE INDEX deliveries_rcpt_fail ON deliveries(recipient_domain, time)"
    " WHERE is_hop = 0 AND status <> 0;"
    "CREATE INDEX deliveries_sent ON deliveries(sent_domain, time)"
    " WHERE is_hop = 0 AND sent_domain <> '';"
    "CREATE INDEX deliveries_sent_fail ON deliveries(sent_domain, time)"
    " WHERE is_hop = 0 AND sent_domain <> '' AND status <> 0;"
    "CREATE INDEX deliveries_time ON deliveries(time);"
    "CREATE VIRTUAL TABLE deliveries_fts USING fts5(sender, recipient, msgid, status_text,"
    " content='deliveries', content_rowid='id', tokenize='trigram');"
    "CREATE TRIGGER deliveries_ai AFTER INSERT ON deliveries BEGIN"
    " INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " VALUES (new.id, new.sender, new.recipient, new.msgid, new.status_text); END;"
    "CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient, old.msgid, old.status_text); END;"
    "CREATE TRIGGER deliveries_au AFTER UPDATE OF sender, recipient, msgid, status_text"
    " ON deliveries BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient, old.msgid, old.status_text);"
    " INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " VALUES (new.id, new.sender, new.recipient, new.msgid, new.status_text); END;"
    "CREATE TABLE access_events("
    " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " host TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT '',"
    " user_domain TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '',"
    " country TEXT NOT NULL DEFAULT '', protocol INTEGER NOT NULL,"
    " success INTEGER NOT NULL, method TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX access_domain ON access_events(user_domain, time);"
    "CREATE INDEX access_time ON access_events(time);"
    "CREATE VIRTUAL TABLE access_fts USING fts5(user, ip, detail,"
    " content='access_events', content_rowid='id', tokenize='trigram');"
    "CREATE TRIGGER access_ai AFTER INSERT ON access_events BEGIN"
    " INSERT INTO access_fts(rowid, user, ip, detail) VALUES (new.id, new.user, new.ip,"
    " new.detail); END;"
    "CREATE TRIGGER access_ad AFTER DELETE ON access_events BEGIN"
    " INSERT INTO access_fts(access_fts, rowid, user, ip, detail)"
    " VALUES ('delete', old.id, old.user, old.ip, old.detail); END;"
    "CREATE TABLE log_state("
    " path TEXT PRIMARY KEY, device INTEGER NOT NULL, inode INTEGER NOT NULL,"
    " offset INTEGER NOT NULL, first_hash INTEGER NOT NULL, first_len INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE domain_settings("
    " domain TEXT PRIMARY KEY, usual_countries TEXT NOT NULL DEFAULT '',"
    " notify INTEGER NOT NULL DEFAULT 0, force_password_change INTEGER NOT NULL DEFAULT 0,"
    " ip_exceptions TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE domains("
    " name TEXT PRIMARY KEY, owner_email TEXT NOT NULL DEFAULT '',"
    " client TEXT NOT NULL DEFAULT '', reseller TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE alert_reports("
    " domain TEXT NOT NULL, hour_start INTEGER NOT NULL, state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    " updated_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(domain, hour_start));"
    "CREATE TABLE password_changes("
    " domain TEXT NOT NULL, hour_start INTEGER NOT NULL, mailbox TEXT NOT NULL,"
    " state TEXT NOT NULL, updated_at INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(domain, hour_start, mailbox));";

/* v2: new rows reach the FTS indexes in batches. Insert triggers only note
 * the row in fts_pending; store_commit() indexes the pending rows before
 * committing (one INSERT … SELECT per table instead of one FTS insert per
 * row, and no delete + reinsert while an upsert changes a new row). Update
 * and delete triggers only touch rows that are already indexed. */
static const char schema_v2[] =
    "DROP TRIGGER deliveries_ai; DROP TRIGGER deliveries_ad; DROP TRIGGER deliveries_au;"
    "DROP TRIGGER access_ai; DROP TRIGGER access_ad;"
    "CREATE TABLE fts_pending(tbl INTEGER NOT NULL, id INTEGER NOT NULL,"
    " PRIMARY KEY(tbl, id)) WITHOUT ROWID;"
    "CREATE TRIGGER deliveries_ai AFTER INSERT ON deliveries BEGIN"
    " INSERT INTO fts_pending(tbl, id) VALUES (1, new.id); END;"
    "CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " SELECT 'delete', old.id, old.sender, old.recipient, old.msgid, old.status_text"
    " WHERE NOT EXISTS(SELECT 1 FROM fts_pending WHERE tbl = 1 AND id = old.id);"
    " DELETE FROM fts_pending WHERE tbl = 1 AND id = old.id; END;"
    "CREATE TRIGGER deliveries_au AFTER UPDATE OF sender, recipient, msgid, status_text"
    " ON deliveries WHEN NOT EXISTS(SELECT 1 FROM fts_pending WHERE tbl = 1 AND id = old.id)"
    " BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient, old.msgid, old.status_text);"
    " INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " VALUES (new.id, new.sender, new.recipient, new.msgid, new.status_text); END;"
    "CREATE TRIGGER access_ai AFTER INSERT ON access_events BEGIN"
    " INSERT INTO fts_pending(tbl, id) VALUES (2, new.id); END;"
    "CREATE TRIGGER access_ad AFTER DELETE ON access_events BEGIN"
    " INSERT INTO access_fts(access_fts, rowid, user, ip, detail)"
    " SELECT 'delete', old.id, old.user, old.ip, old.detail"
    " WHERE NOT EXISTS(SELECT 1 FROM fts_pending WHERE tbl = 2 AND id = old.id);"
    " DELETE FROM fts_pending WHERE tbl = 2 AND id = old.id; END;";

/* v3: the FTS indexes without positions (detail=none): half the indexing
 * work and a smaller file. A search becomes the AND of the text's trigrams
 * (a superset), checked exactly against the columns (query.c). */
static const char schema_v3[] =
    "DROP TABLE deliveries_fts; DROP TABLE access_fts;"
    "CREATE VIRTUAL TABLE deliveries_fts USING fts5(sender, recipient, msgid, status_text,"
    " content='deliveries', content_rowid='id', tokenize='trigram', detail='none');"
    "CREATE VIRTUAL TABLE access_fts USING fts5(user, ip, detail,"
    " content='access_events', content_rowid='id', tokenize='trigram', detail='none');"
    "INSERT INTO deliveries_fts(deliveries_fts) VALUES ('rebuild');"
    "INSERT INTO access_fts(access_fts) VALUES ('rebuild');"
    "DELETE FROM fts_pending;";

/* v4: contentless FTS tables, and the status text of delivered (sent) rows
 * left out of the index: "250 2.0.0 Ok: queued as …" was three quarters of
 * the indexing work and is not what people search for; error texts stay
 * searchable. The triggers give 'delete' exactly the values indexed. */
#define DLV_FTS_STATUS(row) "CASE " row ".status WHEN 0 THEN '' ELSE " row ".status_text END"
static const char schema_v4[] =
    "DROP TABLE deliveries_fts; DROP TABLE access_fts;"
    "DROP TRIGGER deliveries_ad; DROP TRIGGER deliveries_au; DROP TRIGGER access_ad;"
    "CREATE VIRTUAL TABLE deliveries_fts USING fts5(sender, recipient, msgid, status_text,"
    " content='', tokenize='trigram', detail='none');"
    "CREATE VIRTUAL TABLE access_fts USING fts5(user, ip, detail,"
    " content='', tokenize='trigram', detail='none');"
    "INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " SELECT id, sender, recipient, msgid, " DLV_FTS_STATUS(
        "deliveries") " FROM deliveries"
                      " WHERE id NOT IN (SELECT id FROM fts_pending WHERE tbl = 1);"
                      "INSERT INTO access_fts(rowid, user, ip, detail) SELECT id, user, ip, detail"
                      " FROM access_events WHERE id NOT IN (SELECT id FROM fts_pending WHERE tbl = "
                      "2);"
                      "CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries BEGIN"
                      " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, "
                      "msgid, status_text)"
                      " SELECT 'delete', old.id, old.sender, old.recipient, "
                      "old.msgid, " DLV_FTS_STATUS(
                          "old") " WHERE NOT EXISTS(SELECT 1 FROM fts_pending WHERE tbl = 1 AND id "
                                 "= old.id);"
                                 " DELETE FROM fts_pending WHERE tbl = 1 AND id = old.id; END;"
                                 "CREATE TRIGGER deliveries_au AFTER UPDATE OF sender, recipient, "
                                 "msgid, status, status_text"
                                 " ON deliveries WHEN NOT EXISTS(SELECT 1 FROM fts_pending WHERE "
                                 "tbl = 1 AND id = old.id)"
                                 " BEGIN"
                                 " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, "
                                 "recipient, msgid, status_text)"
                                 " VALUES ('delete', old.id, old.sender, old.recipient, "
                                 "old.msgid, " DLV_FTS_STATUS(
                                     "old") ");"
                                            " INSERT INTO deliveries_fts(rowid, sender, recipient, "
                                            "msgid, status_text)"
                                            " VALUES (new.id, new.sender, new.recipient, "
                                            "new.msgid, " DLV_FTS_STATUS(
                                                "new") "); END;"
                                                       "CREATE TRIGGER access_ad AFTER DELETE ON "
                                                       "access_events BEGIN"
                                                       " INSERT INTO access_fts(access_fts, rowid, "
                                                       "user, ip, detail)"
                                                       " SELECT 'delete', old.id, old.user, "
                                                       "old.ip, old.detail"
                                                       " WHERE NOT EXISTS(SELECT 1 FROM "
                                                       "fts_pending WHERE tbl = 2 AND id = old.id);"
                                                       " DELETE FROM fts_pending WHERE tbl = 2 AND "
                                                       "id = old.id; END;";

/* v5: fewer FTS segment merges during ingest (automerge 16, crisismerge 64:
 * -18% CPU on a delivery-dense log); store_maintain() merges a bounded
 * amount at the end of each run instead. */
static const char schema_v5[] =
    "INSERT INTO deliveries_fts(deliveries_fts, rank) VALUES ('automerge', 16);"
    "INSERT INTO deliveries_fts(deliveries_fts, rank) VALUES ('crisismerge', 64);"
    "INSERT INTO access_fts(access_fts, rank) VALUES ('automerge', 16);"
    "INSERT INTO access_fts(access_fts, rank) VALUES ('crisismerge', 64);";

/* v6: no insert triggers. Every statement with a trigger runs with a
 * statement journal (a copy of each page it touches), which made a third of
 * the ingest time. fts_state.indexed_max is now the mark between indexed
 * rows and new ones: store_commit() indexes the rows above it and moves it.
 * The store gives new rows their ids (above the mark, never reused: see
 * next_ids()), so a row above the mark is always one not yet indexed, and
 * the update and delete triggers act only on rows below it. Rows must come in
 * through the store: one inserted with SQLite's own id can land at or below
 * the mark after a purge, and is then never indexed. */
static const char schema_v6[] =
    "INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " SELECT d.id, d.sender, d.recipient, d.msgid, CASE d.status WHEN 0 THEN '' ELSE"
    " d.status_text END FROM fts_pending p JOIN deliveries d ON d.id = p.id WHERE p.tbl = 1;"
    "INSERT INTO access_fts(rowid, user, ip, detail) SELECT a.id, a.user, a.ip, a.detail"
    " FROM fts_pending p JOIN access_events a ON a.id = p.id WHERE p.tbl = 2;"
    "DROP TRIGGER deliveries_ai; DROP TRIGGER deliveries_ad; DROP TRIGGER deliveries_au;"
    "DROP TRIGGER access_ai; DROP TRIGGER access_ad; DROP TABLE fts_pending;"
    "CREATE TABLE fts_state(tbl INTEGER PRIMARY KEY, indexed_max INTEGER NOT NULL);"
    "INSERT INTO fts_state VALUES (1, (SELECT coalesce(max(id), 0) FROM deliveries)),"
    " (2, (SELECT coalesce(max(id), 0) FROM access_events));"
    "CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries"
    " WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 1) BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient, old.msgid,"
    " CASE old.status WHEN 0 THEN '' ELSE old.status_text END); END;"
    "CREATE TRIGGER deliveries_au AFTER UPDATE OF sender, recipient, msgid, status, status_text"
    " ON deliveries WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 1) BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient, old.msgid,"
    " CASE old.status WHEN 0 THEN '' ELSE old.status_text END);"
    " INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " VALUES (new.id, new.sender, new.recipient, new.msgid,"
    " CASE new.status WHEN 0 THEN '' ELSE new.status_text END); END;"
    "CREATE TRIGGER access_ad AFTER DELETE ON access_events"
    " WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 2) BEGIN"
    " INSERT INTO access_fts(access_fts, rowid, user, ip, detail)"
    " VALUES ('delete', old.id, old.user, old.ip, old.detail); END;";

/* v7: what the hourly alert run needs to know about time.
 * read_mark.read_to is the start of the last ingest run that read every log
 * to its end: everything logged before it is in the database, so an hour
 * ending before it is complete (an alert run must not judge an hour the
 * ingest has not read yet: it would be marked quiet and never looked at
 * again). domain_settings.notify_since is when notify was last switched on
 * (0: before this column existed): hours before it are not reported, so
 * switching notify on does not bring a day of old logins at once. */
static const char schema_v7[] =
    "CREATE TABLE read_mark(id INTEGER PRIMARY KEY CHECK (id = 1), read_to INTEGER NOT NULL);"
    "ALTER TABLE domain_settings ADD COLUMN notify_since INTEGER NOT NULL DEFAULT 0;"
    /* notify on without a usual country never reported anything: it counts
     * as switched on when a country is added, not as on for long */
    "UPDATE domain_settings SET notify_since = CAST(strftime('%s','now') AS INTEGER)"
    " WHERE notify = 1 AND usual_countries = '';";

/* v8: a delivery carries its message's queue ID, indexed with the
 * message-ID (the FTS text of msgid becomes "msgid queue_id"), so that a
 * queue ID from a bounce or a grep of the log finds its deliveries. Rows
 * from before have no queue ID and keep exactly the text they were indexed
 * with, so nothing is re-indexed. */
/* The indexed text of column col followed by column extra, or col alone
 * while extra is empty: rows stored before extra existed keep exactly the
 * text they were indexed with (contentless deletes must repeat it). */
#define FTS_TEXT_PLUS(row, col, extra)                                                             \
    "CASE " row "." extra " WHEN '' THEN " row "." col " ELSE " row "." col " || ' ' || " row      \
    "." extra " END"
#define DLV_FTS_MSGID(row) FTS_TEXT_PLUS(row, "msgid", "queue_id")
/* The SQL reads best one clause a line. */
// clang-format off
static const char schema_v8[] =
    "ALTER TABLE deliveries ADD COLUMN queue_id TEXT NOT NULL DEFAULT '';"
    "DROP TRIGGER deliveries_ad; DROP TRIGGER deliveries_au;"
    "CREATE TRIGGER deliveries_ad AFTER DELETE ON deliveries"
    " WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 1) BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient,"
    " " DLV_FTS_MSGID("old") ", " DLV_FTS_STATUS("old") "); END;"
    "CREATE TRIGGER deliveries_au"
    " AFTER UPDATE OF sender, recipient, msgid, status, status_text, queue_id ON deliveries"
    " WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 1) BEGIN"
    " INSERT INTO deliveries_fts(deliveries_fts, rowid, sender, recipient, msgid, status_text)"
    " VALUES ('delete', old.id, old.sender, old.recipient,"
    " " DLV_FTS_MSGID("old") ", " DLV_FTS_STATUS("old") ");"
    " INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
    " VALUES (new.id, new.sender, new.recipient,"
    " " DLV_FTS_MSGID("new") ", " DLV_FTS_STATUS("new") "); END;";
// clang-format on

/* v9: a login's protocol and country name ("pop3 Nigeria") are searchable
 * in the Access tab: stored in access_events.search_extra at insert and
 * indexed after the detail. Rows from before have none and keep the text
 * they were indexed with. */
#define ACCESS_FTS_DETAIL(row) FTS_TEXT_PLUS(row, "detail", "search_extra")
// clang-format off
static const char schema_v9[] =
    "ALTER TABLE access_events ADD COLUMN search_extra TEXT NOT NULL DEFAULT '';"
    "DROP TRIGGER access_ad;"
    "CREATE TRIGGER access_ad AFTER DELETE ON access_events"
    " WHEN old.id <= (SELECT indexed_max FROM fts_state WHERE tbl = 2) BEGIN"
    " INSERT INTO access_fts(access_fts, rowid, user, ip, detail)"
    " VALUES ('delete', old.id, old.user, old.ip, " ACCESS_FTS_DETAIL("old") "); END;";
// clang-format on

/* v10: the tracker's links between messages that the next run needs (a
 * filter's "queued as" before its copy's first line, a pipe filter's
 * hand-over before the copy comes back, an SMTP AUTH connection's user):
 * bytes of src/track/state.c's format, saved with every checkpoint, one row
 * per set of logs read together (a one-off import of another log keeps its
 * own, and leaves the server's). */
static const char schema_v10[] =
    "CREATE TABLE track_state(logs TEXT PRIMARY KEY, data BLOB NOT NULL);";

/* v11: the admin's overview asks on every load which domains' reports are
 * failing (alert_history.c): without an index that read every alert row
 * (~140 ms with 5,000 domains kept 9 days); failing rows are few. */
static const char schema_v11[] = "CREATE INDEX alert_reports_failing ON alert_reports(updated_at)"
                                 " WHERE " STORE_ALERT_FAILING ";";

/* v12: mail sent with an SMTP AUTH login is its login's domain's, not its
 * envelope sender's: a customer's mailbox sending as another customer's
 * address (or any address) put the mail, its login and its recipients in
 * that other customer's Sent tabs. The stored copies are corrected: only the
 * deliveries of messages that came in by SMTP AUTH are read, through the
 * (message_id, recipient) index. */
/* The rule as v12 had it (STORE_SENT_DOMAIN_SQL before local_domain): a
 * migration runs on the schema of its version, and must not change. */
#define SENT_DOMAIN_V12_SQL                                                                        \
    "(CASE WHEN m.origin = 1 AND instr(m.sasl_username, '@') > 0"                                  \
    " THEN lower(replace(m.sasl_username, rtrim(m.sasl_username,"                                  \
    " replace(m.sasl_username, '@', '')), ''))"                                                    \
    " WHEN m.origin IN (1, 2) THEN m.sender_domain ELSE '' END)"
// clang-format off
static const char schema_v12[] =
    "UPDATE deliveries SET sent_domain = (SELECT " SENT_DOMAIN_V12_SQL
    " FROM messages m WHERE m.id = deliveries.message_id)"
    " WHERE message_id IN (SELECT id FROM messages"
    " WHERE origin = 1 AND instr(sasl_username, '@') > 0)"
    " AND sent_domain IS NOT (SELECT " SENT_DOMAIN_V12_SQL
    " FROM messages m WHERE m.id = deliveries.message_id);";
// clang-format on

/* v13: local mail (sendmail, a web site's mail()) is the domain of the
 * hosting subscription whose system user submitted it, when the domains
 * file names the subscriptions' system users (sysuser_uid): a contact form
 * sends as www-data@server or as any address, and was in no customer's or
 * the wrong customer's Sent tab. messages.local_uid is pickup's uid= (-1
 * unknown), local_domain the domain it was filed under ('' none);
 * domains.is_main marks a subscription's main domain (preferred);
 * alert_reports_real indexes the reports that are not 'none'. Rows
 * stored before keep their filing (added columns, no rewrite). */
static const char schema_v13[] =
    "ALTER TABLE messages ADD COLUMN local_uid INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE messages ADD COLUMN local_domain TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE domains ADD COLUMN sysuser_uid INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE domains ADD COLUMN is_main INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX domains_uid ON domains(sysuser_uid) WHERE sysuser_uid >= 0;"
    /* the newest real report of each domain (the admin's overview, a
     * domain's history) without walking its quiet hours: 0.25 s → 8 ms for
     * 5,000 domains × 216 hours, most of them 'none' */
    "CREATE INDEX alert_reports_real ON alert_reports(domain, hour_start)"
    " WHERE state <> 'none';";

/* Forward migrations: migrations[i] brings user_version i to i + 1. */
static const char *const migrations[] = {schema_v1,  schema_v2,  schema_v3, schema_v4, schema_v5,
                                         schema_v6,  schema_v7,  schema_v8, schema_v9, schema_v10,
                                         schema_v11, schema_v12, schema_v13};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements -------------------------------------------------------- */

/* What the tracker continues a message from (message_from_row(): columns
 * 0-16; STMT_FIND_ID adds host and queue_id as 17 and 18). */
#define FIND_COLUMNS                                                                               \
    "id, first_seen, last_seen, client_host, client_ip, sasl_method, sasl_username, msgid,"        \
    " sender, size, nrcpt, origin, parent_id, dsn_of,"                                             \
    " (SELECT p.queue_id FROM messages p WHERE p.id = messages.parent_id), closed, local_uid"

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_MSG_INSERT] =
        "INSERT INTO messages(host, queue_id, first_seen, last_seen, client_host, client_ip,"
        " client_country, sasl_method, sasl_username, msgid, sender, sender_domain, size, nrcpt,"
        " origin, parent_id, dsn_of, closed, id, local_uid, local_domain)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)",
    [STMT_MSG_UPDATE] =
        "UPDATE messages SET host=?1, queue_id=?2, first_seen=?3, last_seen=?4, client_host=?5,"
        " client_ip=?6, client_country=?7, sasl_method=?8, sasl_username=?9, msgid=?10,"
        " sender=?11, sender_domain=?12, size=?13, nrcpt=?14, origin=?15, parent_id=?16,"
        " dsn_of=?17, closed=?18, local_uid=?20, local_domain=?21 WHERE id=?19",
    [STMT_MSG_COUNTRY] = "SELECT client_ip, client_country FROM messages WHERE id=?1",
    [STMT_DOMAIN_HOSTED] = "SELECT 1 FROM domains WHERE name=?1",
    /* the subscription of system user ?1: the envelope sender's domain ?2
     * when it is one of its domains, else its main domain, else its first
     * by name */
    [STMT_DOMAIN_OF_UID] = "SELECT name FROM domains WHERE sysuser_uid=?1 AND ?1 >= 0"
                           " ORDER BY name <> ?2, is_main DESC, name LIMIT 1",
    [STMT_LINES_PUT] = "INSERT INTO message_lines(message_id, lines) VALUES (?1, ?2)"
                       " ON CONFLICT(message_id) DO UPDATE SET lines = CAST(lines || excluded.lines"
                       " AS BLOB)",
    [STMT_DLV_COPY] =
        "UPDATE deliveries SET sender=?2, sender_domain=?3, sent_domain=?4, size=?5, msgid=?6,"
        " queue_id=?7 WHERE message_id=?1 AND (sender IS NOT ?2 OR sent_domain IS NOT ?4"
        " OR size IS NOT ?5 OR msgid IS NOT ?6 OR queue_id IS NOT ?7)",
    /* Two statements, not an upsert: an upsert would carry the update
     * trigger, and with it a statement journal, into every insert. */
    [STMT_DLV_INSERT] =
        "INSERT INTO deliveries(message_id, time, recipient, recipient_domain, orig_to, relay,"
        " service, delay, dsn, status, status_text, attempts, is_hop, sender, sender_domain,"
        " sent_domain, size, msgid, id, queue_id)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,1,?12,?13,?14,?15,?16,?17,?18,?19)"
        " ON CONFLICT(message_id, recipient) DO NOTHING",
    [STMT_DLV_RETRY] =
        "UPDATE deliveries SET time=?2, orig_to=?5, relay=?6, service=?7, delay=?8, dsn=?9,"
        " status=?10, status_text=?11, attempts=attempts+1, is_hop=?12"
        " WHERE message_id=?1 AND recipient=?3",
    [STMT_ACCESS_INSERT] =
        "INSERT INTO access_events(time, host, user, user_domain, ip, country, protocol,"
        " success, method, detail, id, search_extra)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [STMT_FIND_OPEN] = "SELECT " FIND_COLUMNS " FROM messages WHERE host=?1 AND queue_id=?2"
                       " AND closed=0 ORDER BY id DESC LIMIT 1",
    /* for a message seen in the last minutes (the time index: there is no
     * index on closed messages' queue IDs) */
    [STMT_FIND_RECENT] = "SELECT " FIND_COLUMNS " FROM messages INDEXED BY messages_last"
                         " WHERE last_seen >= ?3 AND host=?1 AND queue_id=?2"
                         " ORDER BY id DESC LIMIT 1",
    [STMT_FIND_ID] = "SELECT " FIND_COLUMNS ", host, queue_id FROM messages WHERE id=?1",
    [STMT_TRACK_STATE_PUT] = "INSERT OR REPLACE INTO track_state(logs, data) VALUES (?2, ?1)",
    [STMT_DLV_MARK_HOPS] = "UPDATE deliveries SET is_hop=1 WHERE message_id=?1 AND relay=?2"
                           " AND status=0 AND is_hop=0",
    /* the text as the tracker writes it when it expires deliveries itself */
    [STMT_DLV_EXPIRE] = "UPDATE deliveries SET status=3, time=?2, attempts=attempts+1,"
                        " status_text='expired, returned to sender (last: ' || status_text || ')'"
                        " WHERE message_id=?1 AND status=1 AND is_hop=0",
    [STMT_STATE_GET] = "SELECT device, inode, offset, first_hash, first_len FROM log_state"
                       " WHERE path=?1",
    [STMT_FTS_DELIVERIES] =
        "INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
        " SELECT id, sender, recipient, " DLV_FTS_MSGID("deliveries") ", " DLV_FTS_STATUS(
            "deliveries") " FROM deliveries WHERE id > (SELECT indexed_max FROM fts_state"
                          " WHERE tbl = 1)",
    [STMT_FTS_ACCESS] =
        "INSERT INTO access_fts(rowid, user, ip, detail)"
        " SELECT id, user, ip, " ACCESS_FTS_DETAIL(
            "access_events") " FROM access_events"
                             " WHERE id > (SELECT indexed_max FROM fts_state WHERE tbl = 2)",
    [STMT_FTS_MARK] =
        "UPDATE fts_state SET indexed_max = max(indexed_max, coalesce(CASE tbl"
        " WHEN 1 THEN (SELECT max(id) FROM deliveries) ELSE (SELECT max(id) FROM access_events)"
        " END, 0))",
    [STMT_NEXT_IDS] = "SELECT max(coalesce((SELECT max(id) FROM deliveries), 0),"
                      " (SELECT indexed_max FROM fts_state WHERE tbl = 1)),"
                      " max(coalesce((SELECT max(id) FROM access_events), 0),"
                      " (SELECT indexed_max FROM fts_state WHERE tbl = 2)),"
                      " coalesce((SELECT max(id) FROM messages), 0)",
    [STMT_STATE_PUT] = "INSERT OR REPLACE INTO log_state(path, device, inode, offset, first_hash,"
                       " first_len, updated_at) VALUES (?1,?2,?3,?4,?5,?6,strftime('%s','now'))",
};

static int exec_sql(struct store *s, const char *sql, struct err *e)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, "database %s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_sql_error(struct store *s, struct err *e)
{
    return err_set(e, "database %s: %s", s->path, sqlite3_errmsg(s->db));
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which, struct err *e)
{
    if (s->stmts[which] == NULL &&
        sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[which],
                           NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        return NULL;
    }
    sqlite3_reset(s->stmts[which]);
    sqlite3_clear_bindings(s->stmts[which]);
    return s->stmts[which];
}

static int get_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int refuse_newer(struct store *s, struct err *e)
{
    int version;

    if (get_user_version(s->db, &version) < 0)
        return store_sql_error(s, e);
    if (version > SCHEMA_VERSION)
        return err_set(e, "database %s: schema version %d is newer than this program (%d)", s->path,
                       version, SCHEMA_VERSION);
    return 0;
}

static int migrate(struct store *s, struct err *e)
{
    int version;
    char sql[64];

    if (get_user_version(s->db, &version) < 0)
        return store_sql_error(s, e);
    if (version == SCHEMA_VERSION)
        return 0;
    if (version > SCHEMA_VERSION)
        return refuse_newer(s, e);
    if (exec_sql(s, "BEGIN IMMEDIATE", e) < 0)
        return -1;
    /* Another process may have migrated while we waited for the lock. */
    if (get_user_version(s->db, &version) < 0)
        goto fail_sql;
    for (; version < SCHEMA_VERSION; version++) {
        if (exec_sql(s, migrations[version], e) < 0)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
        if (exec_sql(s, sql, e) < 0)
            goto fail;
    }
    if (exec_sql(s, "COMMIT", e) < 0)
        goto fail;
    return 0;
fail_sql:
    store_sql_error(s, e);
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return err_prefix(e, "migrating the schema");
}

struct store *store_open(const char *path, int busy_ms, struct err *e)
{
    struct store *s = calloc(1, sizeof *s);

    if (s == NULL) {
        err_sys(e, "database %s", path);
        return NULL;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    /* one connection per process, used by one thread: no mutexes */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, busy_ms > 0 ? busy_ms : 5000);
    /* A newer program's database is refused before anything is written to
     * it (switching the journal mode would be). */
    if (refuse_newer(s, e) < 0)
        goto fail;
    /* WAL + NORMAL: a killed process never corrupts or loses a commit; the
     * page cache is bounded (32 MiB; peak RSS stays under 64 MiB) whatever the
     * database size. */
    if (exec_sql(s,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 " PRAGMA cache_size=-32768; PRAGMA temp_store=FILE; PRAGMA foreign_keys=OFF;",
                 e) < 0)
        goto fail;
    if (migrate(s, e) < 0)
        goto fail;
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < STMT_COUNT; i++) {
        sqlite3_finalize(s->stmts[i]);
    }
    free(s->reserved);
    sqlite3_close(s->db);
    free(s);
}

sqlite3 *store_handle(struct store *s)
{
    return s->db;
}

void store_set_geo(struct store *s, struct geo *g)
{
    s->geo = g;
}

/* The next ids are read again when next needed (see struct store). */
static void forget_ids(struct store *s)
{
    s->next_delivery_id = s->next_access_id = s->next_message_id = 0;
    s->reserved_count = s->reserved_unwritten = 0;
}

int store_begin(struct store *s, struct err *e)
{
    /* Nested: the outer transaction decides (settings set during a test's
     * transaction, purge called by a caller that holds one). */
    if (s->depth > 0) {
        s->depth++;
        return 0;
    }
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    s->depth = 1;
    forget_ids(s); /* another process may have written since */
    return 0;
}

/* Indexes the rows above the mark and moves it (see schema_v6). */
static int fts_flush(struct store *s, struct err *e)
{
    static const enum store_stmt steps[] = {STMT_FTS_DELIVERIES, STMT_FTS_ACCESS, STMT_FTS_MARK};
    sqlite3_stmt *st;

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if ((st = store_stmt(s, steps[i], e)) == NULL)
            return -1;
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sql_error(s, e);
        sqlite3_reset(st);
    }
    return 0;
}

int store_commit(struct store *s, struct err *e)
{
    if (s->depth > 1) {
        s->depth--;
        return 0;
    }
    if (s->reserved_unwritten > 0) {
        err_set(e, "database %s: %zu messages have an id but no row (the tracker was not flushed)",
                s->path, s->reserved_unwritten);
        store_rollback(s);
        return -1;
    }
    if (fts_flush(s, e) < 0) {
        store_rollback(s);
        return -1;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        store_rollback(s);
        return -1;
    }
    s->depth = 0;
    return 0;
}

int store_rollback(struct store *s)
{
    s->depth = 0;
    memset(s->copies, 0, sizeof s->copies); /* may describe rolled-back rows */
    forget_ids(s);
    if (sqlite3_get_autocommit(s->db))
        return 0;
    return sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_maintain(struct store *s, struct err *e)
{
    if (store_begin(s, e) < 0)
        return -1;
    if (exec_sql(s,
                 "INSERT INTO deliveries_fts(deliveries_fts, rank) VALUES ('merge', 2000);"
                 "INSERT INTO access_fts(access_fts, rank) VALUES ('merge', 1000);",
                 e) < 0) {
        store_rollback(s);
        return err_prefix(e, "database %s: merging the search index", s->path);
    }
    return store_commit(s, e);
}

int64_t store_db_bytes(struct store *s)
{
    sqlite3_stmt *st;
    int64_t bytes = -1;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT page_count * page_size FROM pragma_page_count(), "
                           "pragma_page_size()",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        bytes = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return bytes;
}

void store_addr_domain(const char *addr, char *out, size_t size)
{
    const char *at = strrchr(addr, '@');
    size_t n = 0;

    if (size == 0)
        return;
    if (at != NULL)
        for (const char *p = at + 1; *p != '\0' && n + 1 < size; p++)
            out[n++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    out[n] = '\0';
}

/* ---- the tracker's sink -------------------------------------------------- */

/* Reads the ids the next new rows get (see struct store). */
static int next_ids(struct store *s, struct err *e)
{
    sqlite3_stmt *st = store_stmt(s, STMT_NEXT_IDS, e);

    if (st == NULL)
        return -1;
    if (sqlite3_step(st) != SQLITE_ROW)
        return store_sql_error(s, e);
    s->next_delivery_id = sqlite3_column_int64(st, 0) + 1;
    s->next_access_id = sqlite3_column_int64(st, 1) + 1;
    s->next_message_id = sqlite3_column_int64(st, 2) + 1;
    sqlite3_reset(st);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* The domain of the hosting subscription whose system user submitted local
 * mail m (pickup's uid=, the domains file's sysuser_uid) into out: the
 * envelope sender's domain when it is one of that subscription's, else the
 * subscription's first by name; "" when m is not local mail or its user is
 * no subscription's (root's cron, a shared www-data: the envelope sender
 * is then the only hint). */
static int local_domain_of(struct store *s, const struct mail_message *m, const char *sender_domain,
                           char *out, size_t size, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    out[0] = '\0';
    if (m->origin != ORIGIN_LOCAL || m->local_uid < 0)
        return 0;
    if ((st = store_stmt(s, STMT_DOMAIN_OF_UID, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, m->local_uid);
    bind_text(st, 2, sender_domain);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        store_column_text(st, 0, out, size);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

/* The domain whose Sent tabs list m's deliveries (STORE_SENT_DOMAIN_SQL is
 * the same rule in SQL): its SMTP AUTH login's domain; for local mail, the
 * submitting subscription's (local_domain, from local_domain_of()); with a
 * bare login name, or for local mail of no subscription, its envelope
 * sender's domain (sender_domain); "" for mail from outside. */
static void sent_domain_of(const struct mail_message *m, const char *sender_domain,
                           const char *local_domain, char *out, size_t size)
{
    if (m->origin == ORIGIN_SASL && strchr(m->sasl_username, '@') != NULL)
        store_addr_domain(m->sasl_username, out, size);
    else if (m->origin == ORIGIN_LOCAL && local_domain[0] != '\0')
        snprintf(out, size, "%s", local_domain);
    else if (m->origin == ORIGIN_SASL || m->origin == ORIGIN_LOCAL)
        snprintf(out, size, "%s", sender_domain);
    else if (size > 0)
        out[0] = '\0';
}

/* The client's country: looked up once per message (again only when the
 * client address changed since it was stored). */
static int message_country(struct store *s, const struct mail_message *m, char iso[3],
                           struct err *e)
{
    sqlite3_stmt *st;

    iso[0] = '\0';
    if (m->client_ip[0] == '\0' || s->geo == NULL)
        return 0;
    if (m->stored) {
        if ((st = store_stmt(s, STMT_MSG_COUNTRY, e)) == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, m->id);
        if (sqlite3_step(st) == SQLITE_ROW &&
            strcmp((const char *)sqlite3_column_text(st, 0), m->client_ip) == 0) {
            snprintf(iso, 3, "%s", (const char *)sqlite3_column_text(st, 1));
            sqlite3_reset(st);
            return 0;
        }
        sqlite3_reset(st);
    }
    geo_country(s->geo, m->client_ip, iso);
    return 0;
}

/* The fingerprint of the message fields deliveries carry copies of. */
static uint64_t copy_fingerprint(const struct mail_message *m)
{
    uint64_t h = 14695981039346656037ULL;
    const char *parts[4] = {m->sender, m->message_id, m->parent_queue_id, m->sasl_username};

    for (int k = 0; k < 4; k++) {
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    h ^= (uint64_t)m->size * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)(m->origin + 1) * 0x5555;
    h ^= (uint64_t)(m->local_uid + 2) * 0xff51afd7ed558ccdULL;
    return h | 1;
}

static struct copy_slot *copy_slot(struct store *s, int64_t id)
{
    return &s->copies[(uint64_t)id % COPY_CACHE_SLOTS];
}

/* copy_fingerprint() values are odd: this one says "deliveries differ" */
#define RESERVED_FP_MIXED 2

/* The reservation of message id, or NULL when it was not reserved in this
 * transaction. */
static struct reserved_message *reserved_message(struct store *s, int64_t id)
{
    if (s->reserved_count == 0 || id < s->first_reserved ||
        id - s->first_reserved >= (int64_t)s->reserved_count)
        return NULL;
    return &s->reserved[id - s->first_reserved];
}

/* An id for a message whose row comes later (see track.h): deliveries can
 * refer to it at once, and the message is written once, when the tracker
 * is done with it or flushes, instead of inserted now and updated then. */
static int sink_reserve_message_id(void *ctx, int64_t *id, struct err *e)
{
    struct store *s = ctx;

    if (s->next_message_id == 0 && next_ids(s, e) < 0)
        return -1;
    if (s->reserved_count == 0)
        s->first_reserved = s->next_message_id;
    if (s->reserved_count == s->reserved_cap) {
        size_t cap = s->reserved_cap ? s->reserved_cap * 2 : 1024;
        struct reserved_message *more = realloc(s->reserved, cap * sizeof *more);

        if (more == NULL)
            return err_set(e, "store: out of memory");
        s->reserved = more;
        s->reserved_cap = cap;
    }
    s->reserved[s->reserved_count++] = (struct reserved_message){0, false};
    s->reserved_unwritten++;
    *id = s->next_message_id++;
    return 0;
}

/* Keeps the deliveries' copies of the message fields (see the top of this
 * file) in step with m; `written` says which copies they may carry. */
/* What a delivery stores as queue_id: its message's, then the one its
 * message had before a content filter re-injected it (so that either finds
 * it). */
static void delivery_queue_ids(const struct mail_message *m, char *out, size_t size)
{
    if (m->parent_queue_id[0] != '\0')
        snprintf(out, size, "%s %s", m->queue_id, m->parent_queue_id);
    else
        snprintf(out, size, "%s", m->queue_id);
}

static int sync_delivery_copies(struct store *s, const struct mail_message *m,
                                const char *sender_domain, const char *local_domain,
                                uint64_t written, struct err *e)
{
    uint64_t fp = copy_fingerprint(m);
    char queue_ids[2 * RECORD_QID_MAX];
    char sent_domain[RECORD_ADDR_MAX];
    sqlite3_stmt *st;

    if (written != fp) {
        if ((st = store_stmt(s, STMT_DLV_COPY, e)) == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, m->id);
        bind_text(st, 2, m->sender);
        bind_text(st, 3, sender_domain);
        sent_domain_of(m, sender_domain, local_domain, sent_domain, sizeof sent_domain);
        bind_text(st, 4, sent_domain);
        sqlite3_bind_int64(st, 5, m->size);
        bind_text(st, 6, m->message_id);
        delivery_queue_ids(m, queue_ids, sizeof queue_ids);
        bind_text(st, 7, queue_ids);
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sql_error(s, e);
    }
    *copy_slot(s, m->id) = (struct copy_slot){m->id, fp};
    return 0;
}

static int sink_put_message(void *ctx, struct mail_message *m, struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    char sender_domain[RECORD_ADDR_MAX];
    char local_domain[RECORD_ADDR_MAX];
    char iso[3];
    struct reserved_message *r = NULL;
    struct copy_slot *slot;

    if (!m->stored) {
        if (m->id == 0 && sink_reserve_message_id(s, &m->id, e) < 0)
            return -1;
        if ((r = reserved_message(s, m->id)) == NULL || r->written)
            return err_set(e, "store: message %lld was not reserved in this transaction",
                           (long long)m->id);
    }
    store_addr_domain(m->sender, sender_domain, sizeof sender_domain);
    if (message_country(s, m, iso, e) < 0 ||
        local_domain_of(s, m, sender_domain, local_domain, sizeof local_domain, e) < 0)
        return -1;
    if ((st = store_stmt(s, r != NULL ? STMT_MSG_INSERT : STMT_MSG_UPDATE, e)) == NULL)
        return -1;
    bind_text(st, 1, m->host);
    bind_text(st, 2, m->queue_id);
    sqlite3_bind_int64(st, 3, m->first_seen);
    sqlite3_bind_int64(st, 4, m->last_seen);
    bind_text(st, 5, m->client_host);
    bind_text(st, 6, m->client_ip);
    bind_text(st, 7, iso);
    bind_text(st, 8, m->sasl_method);
    bind_text(st, 9, m->sasl_username);
    bind_text(st, 10, m->message_id);
    bind_text(st, 11, m->sender);
    bind_text(st, 12, sender_domain);
    sqlite3_bind_int64(st, 13, m->size);
    sqlite3_bind_int(st, 14, m->nrcpt);
    sqlite3_bind_int(st, 15, (int)m->origin);
    sqlite3_bind_int64(st, 16, m->parent_id);
    sqlite3_bind_int64(st, 17, m->dsn_of);
    sqlite3_bind_int(st, 18, m->closed ? 1 : 0);
    sqlite3_bind_int64(st, 19, m->id);
    sqlite3_bind_int64(st, 20, m->local_uid);
    bind_text(st, 21, local_domain);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    if (r != NULL) {
        r->written = true;
        s->reserved_unwritten--;
        /* no delivery yet, or all with the fields m has now: nothing to update */
        if (sync_delivery_copies(s, m, sender_domain, local_domain,
                                 r->fp ? r->fp : copy_fingerprint(m), e) < 0)
            return -1;
    } else {
        slot = copy_slot(s, m->id);
        if (sync_delivery_copies(s, m, sender_domain, local_domain,
                                 slot->id == m->id ? slot->fp : 0, e) < 0)
            return -1;
    }
    if (m->new_lines_len == 0 || m->new_lines == NULL)
        return 0;
    if ((st = store_stmt(s, STMT_LINES_PUT, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_blob(st, 2, m->new_lines, (int)m->new_lines_len, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    return 0;
}

/* Binds ?1..?17 of STMT_DLV_INSERT; STMT_DLV_RETRY uses ?1..?12 (binding
 * past its last parameter is a harmless SQLITE_RANGE). The strings must
 * last until the statement has run. */
static void bind_delivery(sqlite3_stmt *st, int64_t message_id, const struct mail_message *m,
                          const struct mail_delivery *d, const char *rcpt_domain,
                          const char *sender_domain, const char *sent_domain)
{
    sqlite3_bind_int64(st, 1, message_id);
    sqlite3_bind_int64(st, 2, d->time);
    bind_text(st, 3, d->recipient);
    bind_text(st, 4, rcpt_domain);
    bind_text(st, 5, d->orig_to);
    bind_text(st, 6, d->relay);
    bind_text(st, 7, d->service);
    sqlite3_bind_double(st, 8, d->delay);
    bind_text(st, 9, d->dsn);
    sqlite3_bind_int(st, 10, (int)d->status);
    bind_text(st, 11, d->status_text);
    sqlite3_bind_int(st, 12, d->is_hop ? 1 : 0);
    bind_text(st, 13, m->sender);
    bind_text(st, 14, sender_domain);
    bind_text(st, 15, sent_domain);
    sqlite3_bind_int64(st, 16, m->size);
    bind_text(st, 17, m->message_id);
}

/* 1 when domain is in the domains table, 0 not, -1 error. */
static int domain_is_hosted(struct store *s, const char *domain, struct err *e)
{
    sqlite3_stmt *st = store_stmt(s, STMT_DOMAIN_HOSTED, e);
    int rc;

    if (st == NULL)
        return -1;
    bind_text(st, 1, domain);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW;
}

/* The domain whose Received and Not received tabs list delivery d: its
 * recipient's, except for mail a hosted address forwards out of the server
 * (to=<x@gmail.com>, orig_to=<info@hosted>): that is the forwarding
 * domain's mail, whose owner asks whether it arrived. A forward to another
 * hosted domain stays with the mailbox that received it. */
static int delivery_domain(struct store *s, const struct mail_delivery *d, char *out, size_t size,
                           struct err *e)
{
    char orig_domain[RECORD_ADDR_MAX];
    int hosted;

    store_addr_domain(d->recipient, out, size);
    if (d->orig_to[0] == '\0')
        return 0;
    store_addr_domain(d->orig_to, orig_domain, sizeof orig_domain);
    if (orig_domain[0] == '\0' || strcmp(orig_domain, out) == 0)
        return 0;
    if ((hosted = domain_is_hosted(s, out, e)) != 0)
        return hosted < 0 ? -1 : 0;
    if ((hosted = domain_is_hosted(s, orig_domain, e)) < 0)
        return -1;
    if (hosted)
        snprintf(out, size, "%s", orig_domain);
    return 0;
}

static int sink_put_delivery(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                             struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    char rcpt_domain[RECORD_ADDR_MAX];
    char sender_domain[RECORD_ADDR_MAX];
    char local_domain[RECORD_ADDR_MAX];
    char sent_domain[RECORD_ADDR_MAX];
    char queue_ids[2 * RECORD_QID_MAX];
    int64_t message_id = d->message_id != 0 ? d->message_id : m->id;

    if (message_id == 0)
        return err_set(e, "store: delivery to %s before its message was stored", d->recipient);
    if (!m->stored && message_id == m->id) {
        struct reserved_message *r = reserved_message(s, message_id);
        uint64_t fp = copy_fingerprint(m);

        /* written before its message: remember which copies it carries */
        if (r != NULL && !r->written)
            r->fp = r->fp == 0 || r->fp == fp ? fp : RESERVED_FP_MIXED;
    } else {
        struct copy_slot *slot = copy_slot(s, message_id);

        /* this delivery carries m's fields: the slot stays exact only if they match */
        if (slot->id != message_id || message_id != m->id || slot->fp != copy_fingerprint(m))
            *slot = (struct copy_slot){message_id, 0};
    }
    if (delivery_domain(s, d, rcpt_domain, sizeof rcpt_domain, e) < 0)
        return -1;
    store_addr_domain(m->sender, sender_domain, sizeof sender_domain);
    if (local_domain_of(s, m, sender_domain, local_domain, sizeof local_domain, e) < 0)
        return -1;
    sent_domain_of(m, sender_domain, local_domain, sent_domain, sizeof sent_domain);
    if (s->next_delivery_id == 0 && next_ids(s, e) < 0)
        return -1;
    if ((st = store_stmt(s, STMT_DLV_INSERT, e)) == NULL)
        return -1;
    bind_delivery(st, message_id, m, d, rcpt_domain, sender_domain, sent_domain);
    sqlite3_bind_int64(st, 18, s->next_delivery_id);
    delivery_queue_ids(m, queue_ids, sizeof queue_ids);
    bind_text(st, 19, queue_ids);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    if (sqlite3_changes(s->db) == 1) {
        s->next_delivery_id++;
        return 0;
    }
    /* another attempt at a recipient already stored */
    if ((st = store_stmt(s, STMT_DLV_RETRY, e)) == NULL)
        return -1;
    bind_delivery(st, message_id, m, d, rcpt_domain, sender_domain, sent_domain);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    return 0;
}

static bool address_is_local(const char *text)
{
    struct ip_addr ip;

    return ip_parse(text, strlen(text), &ip) == 0 && ip_is_local(&ip);
}

static int sink_put_access(void *ctx, const struct access_event *a, struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    char domain[RECORD_ADDR_MAX];
    char iso[3] = "";
    char extra[96];
    const char *protocol, *country;

    store_addr_domain(a->user, domain, sizeof domain);
    if (a->ip[0] != '\0')
        geo_country(s->geo, a->ip, iso);
    /* what the Access tab shows as words, for the search: "pop3 Nigeria",
     * "imap local" (a private, loopback or link-local address), "smtp …
     * unknown user" (a failed SMTP AUTH that names no user) */
    protocol = access_protocol_name(a->protocol);
    country = iso[0] != '\0' ? country_name(iso) : address_is_local(a->ip) ? "local" : NULL;
    snprintf(extra, sizeof extra, "%s%s%s%s", protocol ? protocol : "", country ? " " : "",
             country ? country : "", a->user[0] == '\0' ? " unknown user" : "");
    if (s->next_access_id == 0 && next_ids(s, e) < 0)
        return -1;
    if ((st = store_stmt(s, STMT_ACCESS_INSERT, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 11, s->next_access_id);
    sqlite3_bind_int64(st, 1, a->time);
    bind_text(st, 2, a->host);
    bind_text(st, 3, a->user);
    bind_text(st, 4, domain);
    bind_text(st, 5, a->ip);
    bind_text(st, 6, iso);
    sqlite3_bind_int(st, 7, (int)a->protocol);
    sqlite3_bind_int(st, 8, a->success ? 1 : 0);
    bind_text(st, 9, a->method);
    bind_text(st, 10, a->detail);
    bind_text(st, 12, extra);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    s->next_access_id++;
    return 0;
}

void store_column_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(st, col);

    snprintf(out, size, "%s", text ? (const char *)text : "");
}

/* m from a row of FIND_COLUMNS. */
static void message_from_row(sqlite3_stmt *st, const char *host, const char *queue_id,
                             struct mail_message *m)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    snprintf(m->host, sizeof m->host, "%s", host);
    snprintf(m->queue_id, sizeof m->queue_id, "%s", queue_id);
    m->first_seen = sqlite3_column_int64(st, 1);
    m->last_seen = sqlite3_column_int64(st, 2);
    store_column_text(st, 3, m->client_host, sizeof m->client_host);
    store_column_text(st, 4, m->client_ip, sizeof m->client_ip);
    store_column_text(st, 5, m->sasl_method, sizeof m->sasl_method);
    store_column_text(st, 6, m->sasl_username, sizeof m->sasl_username);
    store_column_text(st, 7, m->message_id, sizeof m->message_id);
    store_column_text(st, 8, m->sender, sizeof m->sender);
    m->size = sqlite3_column_int64(st, 9);
    m->nrcpt = sqlite3_column_int(st, 10);
    m->origin = (enum message_origin)sqlite3_column_int(st, 11);
    m->parent_id = sqlite3_column_int64(st, 12);
    m->dsn_of = sqlite3_column_int64(st, 13);
    store_column_text(st, 14, m->parent_queue_id, sizeof m->parent_queue_id);
    m->closed = sqlite3_column_int(st, 15) != 0;
    m->local_uid = (long)sqlite3_column_int64(st, 16);
    m->stored = true;
}

/* The latest message (host, queue_id) by statement which, STMT_FIND_OPEN
 * (open ones) or STMT_FIND_RECENT (open or closed, last seen at or after
 * since): 1 and m filled, 0 none, -1 error. */
static int find_message(struct store *s, enum store_stmt which, const char *host,
                        const char *queue_id, int64_t since, struct mail_message *m, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, which, e)) == NULL)
        return -1;
    bind_text(st, 1, host);
    bind_text(st, 2, queue_id);
    if (which == STMT_FIND_RECENT)
        sqlite3_bind_int64(st, 3, since);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        message_from_row(st, host, queue_id, m);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW ? 1 : 0;
}

static int sink_find_recent_message(void *ctx, const char *host, const char *queue_id,
                                    int64_t since, struct mail_message *m, struct err *e)
{
    return find_message(ctx, STMT_FIND_RECENT, host, queue_id, since, m, e);
}

static int sink_find_open_message(void *ctx, const char *host, const char *queue_id,
                                  struct mail_message *m, struct err *e)
{
    return find_message(ctx, STMT_FIND_OPEN, host, queue_id, 0, m, e);
}

static int sink_load_message(void *ctx, int64_t id, struct mail_message *m, struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, STMT_FIND_ID, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        char host[RECORD_HOST_MAX], queue_id[RECORD_QID_MAX];
        store_column_text(st, 17, host, sizeof host);
        store_column_text(st, 18, queue_id, sizeof queue_id);
        message_from_row(st, host, queue_id, m);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW ? 1 : 0;
}

static int sink_save_state(void *ctx, const void *data, size_t len, struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, STMT_TRACK_STATE_PUT, e)) == NULL)
        return -1;
    sqlite3_bind_blob64(st, 1, data, len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s->track_logs, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* data is the caller's */
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

_Static_assert(DELIVERY_DEFERRED == 1 && DELIVERY_EXPIRED == 3,
               "STMT_DLV_EXPIRE names the deferred and expired statuses");

static int sink_expire_deferred(void *ctx, const struct mail_message *m, int64_t time,
                                struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, STMT_DLV_EXPIRE, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_int64(st, 2, time);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? sqlite3_changes(s->db) : store_sql_error(s, e);
}

static int sink_mark_hops(void *ctx, const struct mail_message *m, const char *relay, struct err *e)
{
    struct store *s = ctx;
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, STMT_DLV_MARK_HOPS, e)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, m->id);
    sqlite3_bind_text(st, 2, relay, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

void store_sink(struct store *s, struct track_sink *out)
{
    out->ctx = s;
    out->put_message = sink_put_message;
    out->put_delivery = sink_put_delivery;
    out->put_access = sink_put_access;
    out->find_open_message = sink_find_open_message;
    out->find_recent_message = sink_find_recent_message;
    out->reserve_message_id = sink_reserve_message_id;
    out->expire_deferred = sink_expire_deferred;
    out->mark_hops = sink_mark_hops;
    out->save_state = sink_save_state;
    out->load_message = sink_load_message;
}

int store_track_logs(struct store *s, const char *const *logs, int count, struct err *e)
{
    size_t used = 0;

    s->track_logs[0] = '\0';
    for (int i = 0; i < count; i++) {
        int n = snprintf(s->track_logs + used, sizeof s->track_logs - used, "%s%s", i ? "\n" : "",
                         logs[i]);
        if (n < 0 || (size_t)n >= sizeof s->track_logs - used)
            return err_set(e, "too many or too long log paths");
        used += (size_t)n;
    }
    return 0;
}

int store_track_state_get(struct store *s, void **data, size_t *len, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    *data = NULL;
    *len = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT data FROM track_state WHERE logs = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_text(st, 1, s->track_logs, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 0); /* before its size: see SQLite's docs */
        int bytes = sqlite3_column_bytes(st, 0);
        if (blob != NULL && bytes > 0) {
            if ((*data = malloc((size_t)bytes)) == NULL) {
                sqlite3_finalize(st);
                return err_set(e, "out of memory");
            }
            memcpy(*data, blob, (size_t)bytes);
            *len = (size_t)bytes;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return *data != NULL;
}

/* ---- the reader's state ------------------------------------------------------ */

int store_log_state_get(struct store *s, const char *path, struct log_state *lst, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = store_stmt(s, STMT_STATE_GET, e)) == NULL)
        return -1;
    bind_text(st, 1, path);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return store_sql_error(s, e);
    memset(lst, 0, sizeof *lst);
    snprintf(lst->path, sizeof lst->path, "%s", path);
    lst->device = (uint64_t)sqlite3_column_int64(st, 0);
    lst->inode = (uint64_t)sqlite3_column_int64(st, 1);
    lst->offset = (uint64_t)sqlite3_column_int64(st, 2);
    lst->first_hash = (uint64_t)sqlite3_column_int64(st, 3);
    lst->first_len = (uint32_t)sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    return 1;
}

int store_log_state_put(struct store *s, const struct log_state *lst, struct err *e)
{
    sqlite3_stmt *st;

    if ((st = store_stmt(s, STMT_STATE_PUT, e)) == NULL)
        return -1;
    bind_text(st, 1, lst->path);
    sqlite3_bind_int64(st, 2, (int64_t)lst->device);
    sqlite3_bind_int64(st, 3, (int64_t)lst->inode);
    sqlite3_bind_int64(st, 4, (int64_t)lst->offset);
    sqlite3_bind_int64(st, 5, (int64_t)lst->first_hash);
    sqlite3_bind_int64(st, 6, (int64_t)lst->first_len);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    return 0;
}

int store_read_mark_put(struct store *s, int64_t read_to, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, read_to);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_sql_error(s, e);
    sqlite3_finalize(st);
    return rc;
}

int store_read_mark_get(struct store *s, int64_t *read_to, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    *read_to = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT read_to FROM read_mark WHERE id = 1", -1, &st, NULL) !=
        SQLITE_OK)
        return store_sql_error(s, e);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *read_to = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW;
}

/* ---- domains file ------------------------------------------------------------- */

static const char *json_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : "";
}

static int insert_domain(struct store *s, sqlite3_stmt *st, json_t *item, size_t i,
                         const char *path, struct err *e)
{
    char name[256];
    const char *raw;
    size_t n;
    json_t *uid = json_object_get(item, "sysuser_uid");
    json_int_t sysuser_uid = -1;

    if (!json_is_object(item) || !json_is_string(json_object_get(item, "name")))
        return err_set(e, "domains file %s: entry %zu: not an object with a \"name\"", path, i);
    /* the subscription's system user, whose local mail is this domain's;
     * absent or null: unknown. Root (0) is no customer. */
    if (uid != NULL && !json_is_null(uid)) {
        if (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
            json_integer_value(uid) > 0x7fffffff)
            return err_set(e, "domains file %s: entry %zu: sysuser_uid is not a user id", path, i);
        sysuser_uid = json_integer_value(uid) > 0 ? json_integer_value(uid) : -1;
    }
    raw = json_field(item, "name");
    n = strlen(raw);
    if (n == 0 || n >= sizeof name)
        return err_set(e, "domains file %s: entry %zu: bad domain name", path, i);
    for (size_t k = 0; k <= n; k++)
        name[k] = (raw[k] >= 'A' && raw[k] <= 'Z') ? (char)(raw[k] - 'A' + 'a') : raw[k];
    sqlite3_reset(st);
    bind_text(st, 1, name);
    bind_text(st, 2, json_field(item, "owner_email"));
    bind_text(st, 3, json_field(item, "client"));
    bind_text(st, 4, json_field(item, "reseller"));
    sqlite3_bind_int64(st, 5, sysuser_uid);
    sqlite3_bind_int(st, 6, json_is_true(json_object_get(item, "main")) ? 1 : 0);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sql_error(s, e);
    return 0;
}

int store_load_domains(struct store *s, const char *path, struct err *e)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    sqlite3_stmt *st = NULL;
    size_t i, count = 0;

    if (root == NULL)
        return err_set(e, "domains file %s: %s", path, jerr.text);
    if (!json_is_array(root)) {
        json_decref(root);
        return err_set(e, "domains file %s: not a JSON array", path);
    }
    if (store_begin(s, e) < 0)
        goto fail_nortx;
    if (exec_sql(s, "DELETE FROM domains", e) < 0)
        goto fail;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO domains(name, owner_email, client, reseller,"
                           " sysuser_uid, is_main) VALUES (?1,?2,?3,?4,?5,?6)",
                           -1, &st, NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        goto fail;
    }
    for (i = 0; i < json_array_size(root); i++) {
        if (insert_domain(s, st, json_array_get(root, i), i, path, e) < 0)
            goto fail;
        count++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (store_commit(s, e) < 0)
        goto fail_nortx;
    json_decref(root);
    return (int)count;
fail:
    sqlite3_finalize(st);
    store_rollback(s);
fail_nortx:
    json_decref(root);
    return -1;
}

/* ---- retention ---------------------------------------------------------------- */

/* Deletes up to chunk rows of `sql_ids` (a SELECT of ids bound with ?1 cutoff,
 * ?2 limit) with `del` statements bound to the id; returns rows deleted. */
static long purge_messages_chunk(struct store *s, int64_t cutoff, int chunk, struct err *e)
{
    static const char *const del_sql[] = {
        "DELETE FROM deliveries WHERE message_id = ?1",
        "DELETE FROM message_lines WHERE message_id = ?1",
        "DELETE FROM messages WHERE id = ?1",
    };
    sqlite3_stmt *ids = NULL, *del[3] = {NULL, NULL, NULL};
    long deleted = 0;

    if (sqlite3_prepare_v2(s->db, "SELECT id FROM messages WHERE last_seen < ?1 LIMIT ?2", -1, &ids,
                           NULL) != SQLITE_OK)
        goto fail_sql;
    for (int k = 0; k < 3; k++)
        if (sqlite3_prepare_v2(s->db, del_sql[k], -1, &del[k], NULL) != SQLITE_OK)
            goto fail_sql;
    sqlite3_bind_int64(ids, 1, cutoff);
    sqlite3_bind_int(ids, 2, chunk);
    while (sqlite3_step(ids) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(ids, 0);

        for (int k = 0; k < 3; k++) {
            sqlite3_reset(del[k]);
            sqlite3_bind_int64(del[k], 1, id);
            if (sqlite3_step(del[k]) != SQLITE_DONE)
                goto fail_sql;
            deleted += sqlite3_changes(s->db);
        }
    }
    if (sqlite3_errcode(s->db) != SQLITE_OK && sqlite3_errcode(s->db) != SQLITE_DONE &&
        sqlite3_errcode(s->db) != SQLITE_ROW)
        goto fail_sql;
    sqlite3_finalize(ids);
    for (int k = 0; k < 3; k++)
        sqlite3_finalize(del[k]);
    return deleted;
fail_sql:
    store_sql_error(s, e);
    sqlite3_finalize(ids);
    for (int k = 0; k < 3; k++)
        sqlite3_finalize(del[k]);
    return -1;
}

static long purge_simple_chunk(struct store *s, const char *sql, int64_t cutoff, int chunk,
                               struct err *e)
{
    sqlite3_stmt *st;
    long n;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, chunk);
    if (sqlite3_step(st) != SQLITE_DONE) {
        store_sql_error(s, e);
        sqlite3_finalize(st);
        return -1;
    }
    n = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return n;
}

static int purge_retention_days(struct store *s, struct err *e)
{
    sqlite3_stmt *st;
    int days = 7;

    if (sqlite3_prepare_v2(s->db, "SELECT value FROM settings WHERE key = 'retention_days'", -1,
                           &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    if (sqlite3_step(st) == SQLITE_ROW)
        days = atoi((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return days >= 1 ? days : 7;
}

long store_purge(struct store *s, int64_t now, int chunk, struct err *e)
{
    static const char *const simple[] = {
        "DELETE FROM access_events WHERE id IN"
        " (SELECT id FROM access_events WHERE time < ?1 LIMIT ?2)",
        "DELETE FROM alert_reports WHERE rowid IN"
        " (SELECT rowid FROM alert_reports WHERE hour_start < ?1 LIMIT ?2)",
        "DELETE FROM password_changes WHERE rowid IN"
        " (SELECT rowid FROM password_changes WHERE hour_start < ?1 LIMIT ?2)",
    };
    int days = purge_retention_days(s, e);
    int64_t cutoff;
    long total = 0, n;

    if (days < 0)
        return -1;
    if (chunk <= 0)
        chunk = 5000;
    cutoff = now - (int64_t)days * 86400;
    for (size_t k = 0; k <= sizeof simple / sizeof simple[0]; k++) {
        /* The alert run's own records outlive a short retention: without
         * them it would examine an hour again (a second report, a second
         * new password) or forget a report it still has to send. */
        int64_t before = k >= 2 && cutoff > now - STORE_ALERT_KEEP_HOURS * 3600
                             ? now - STORE_ALERT_KEEP_HOURS * 3600
                             : cutoff;
        do {
            if (store_begin(s, e) < 0)
                return -1;
            n = k == 0 ? purge_messages_chunk(s, before, chunk, e)
                       : purge_simple_chunk(s, simple[k - 1], before, chunk, e);
            if (n < 0) {
                store_rollback(s);
                return -1;
            }
            if (store_commit(s, e) < 0)
                return -1;
            if (total < INT32_MAX - n)
                total += n;
        } while (n > 0);
    }
    return total;
}
