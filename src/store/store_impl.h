/*
 * store_impl.h — the inside of struct store, shared by the store's own files
 * (store.c, query.c, settings.c). Nothing outside src/store includes it.
 */
#ifndef MAILLOG_STORE_STORE_IMPL_H
#define MAILLOG_STORE_STORE_IMPL_H

#include "store/store.h"
#include "util/config.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

enum store_stmt {
    STMT_MSG_INSERT = 0,
    STMT_MSG_UPDATE,
    STMT_MSG_COUNTRY,
    STMT_LINES_PUT,
    STMT_DLV_COPY,
    STMT_DLV_INSERT,
    STMT_DLV_RETRY,
    STMT_DLV_EXPIRE,
    STMT_DLV_MARK_HOPS,
    STMT_ACCESS_INSERT,
    STMT_FIND_OPEN,
    STMT_DOMAIN_HOSTED,
    STMT_DOMAIN_OF_UID,
    STMT_FIND_RECENT,
    STMT_FIND_ID,
    STMT_TRACK_STATE_PUT,
    STMT_STATE_GET,
    STMT_STATE_PUT,
    STMT_FTS_DELIVERIES,
    STMT_FTS_ACCESS,
    STMT_FTS_MARK,
    STMT_NEXT_IDS,
    STMT_COUNT
};

/* What the deliveries of a message carry as copies of its fields (a hash of
 * sender, origin, size, msgid), so that put_message() skips the copy update
 * when nothing changed. fp 0: unknown. Direct-mapped by message id. */
#define COPY_CACHE_SLOTS 4096
struct copy_slot {
    int64_t id;
    uint64_t fp;
};

struct store {
    sqlite3 *db;
    char path[1024];
    struct geo *geo; /* not owned; may be NULL */
    int depth;       /* store_begin() nesting; 0: no transaction */
    /* The ids the next new delivery and access event get: above every row
     * and above the FTS mark, so never an id that was indexed before (see
     * schema_v6 in store.c). 0: not known; read again at each outermost
     * store_begin() and after a rollback. */
    int64_t next_delivery_id;
    int64_t next_access_id;
    int64_t next_message_id;
    /* Message ids handed out by reserve_message_id() in this transaction,
     * first_reserved .. first_reserved + reserved_count - 1, whose rows are
     * written later (at the latest before the commit, which refuses while
     * one is missing). fp: the copy fingerprint of the deliveries written for
     * it so far (0 none yet, RESERVED_FP_MIXED when they differ). */
    int64_t first_reserved;
    struct reserved_message {
        uint64_t fp;
        bool written;
    } * reserved;
    size_t reserved_count, reserved_cap, reserved_unwritten;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct copy_slot copies[COPY_CACHE_SLOTS];
    /* the logs this run reads, '\n'-separated: the key of its tracker state */
    char track_logs[CONFIG_LOGS_MAX * (CONFIG_PATH_MAX + 1)];
};

/* The alert_reports rows that did not reach the SMTP server (given up, or
 * refused and to be retried: a failed attempt always leaves last_error),
 * as the partial index alert_reports_failing (schema v11) defines them: a
 * query must use this very text for SQLite to use the index. */
#define STORE_ALERT_FAILING "(state = 'failed' OR (state = 'pending' AND last_error <> ''))"

/* The domain a message was sent by, as SQL over a messages row `m` (the
 * rule of sent_domain_of() in store.c): the SMTP AUTH login's domain (after
 * its last '@'); for local mail whose submitting user (pickup's uid=) is a
 * hosting subscription's system user, that subscription's domain, as stored
 * in local_domain (schema v13); else for mail that came in by SMTP AUTH with
 * a bare login name or locally the envelope sender's domain (the only hint);
 * else ''. An envelope sender is a claim anyone authenticated can make: a
 * customer's login or web site sending as another customer's address is the
 * sending customer's mail. */
#define STORE_SENT_DOMAIN_SQL(m)                                                                   \
    "(CASE WHEN " m ".origin = 1 AND instr(" m ".sasl_username, '@') > 0"                          \
    " THEN lower(replace(" m ".sasl_username, rtrim(" m ".sasl_username,"                          \
    " replace(" m ".sasl_username, '@', '')), ''))"                                                \
    " WHEN " m ".origin = 2 AND " m ".local_domain <> '' THEN " m ".local_domain"                  \
    " WHEN " m ".origin IN (1, 2) THEN " m ".sender_domain ELSE '' END)"

/* Text column col of the current row into out ("" for NULL), cut to size. */
void store_column_text(sqlite3_stmt *st, int col, char *out, size_t size);

/* A domain name as the tables hold it: ASCII lower case, cut to size. */
void store_lower_domain(const char *in, char *out, size_t size);

/* The prepared statement `which`, reset and unbound; NULL with e set. */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which, struct err *e);

/* Fills e with "database PATH: <sqlite message>"; returns -1. */
int store_sql_error(struct store *s, struct err *e);

#endif
