/*
 * track.h — queue-id correlation: parsed events in, messages, per-recipient
 * deliveries and access events out (see record.h and DESIGN.md §4).
 *
 * The tracker keeps the messages whose queue id is still alive in memory (a
 * bounded cache) and hands every change to a sink, which is the store in the
 * product and a JSON printer for `maillog parse`. Contract with the sink:
 *   - Every message gets its id before its first put_delivery() (and before
 *     another message refers to it): from reserve_message_id() when the sink
 *     has one, else from put_message(), which must then set m->id on first
 *     store. put_message() is called again (same id, m->stored set) when the
 *     message changed, at the latest by track_flush(); a message with a
 *     reserved id is put (m->stored clear) by track_flush() at the latest, so
 *     a sink can write each message once instead of once per delivery.
 *   - put_delivery() is an upsert keyed by (message id, recipient); the sink
 *     counts attempts.
 *   - find_open_message() lets the tracker continue a message it no longer
 *     has in memory (evicted, or left open by an earlier run): it fills m
 *     (id, fields, closed == false) and returns 1, or returns 0.
 * Every sink function returns 0, or -1 with e filled; the tracker stops and
 * passes the error up.
 *
 * Crash safety is the caller's: call track_flush() before committing the
 * store transaction that also saves the log offset.
 */
#ifndef MAILLOG_TRACK_TRACK_H
#define MAILLOG_TRACK_TRACK_H

#include "track/record.h"
#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

struct track_sink {
    void *ctx;
    int (*put_message)(void *ctx, struct mail_message *m, struct err *e);
    int (*put_delivery)(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                        struct err *e);
    int (*put_access)(void *ctx, const struct access_event *a, struct err *e);
    int (*find_open_message)(void *ctx, const char *host, const char *queue_id,
                             struct mail_message *m, struct err *e);
    /* optional (NULL: put_message() gives the id) */
    int (*reserve_message_id)(void *ctx, int64_t *id, struct err *e);
    /* optional: the latest message (host, queue_id) last seen at or after
     * since, open or closed: 1 and m filled, 0 none, -1 error */
    int (*find_recent_message)(void *ctx, const char *host, const char *queue_id, int64_t since,
                               struct mail_message *m, struct err *e);
    /* optional: every delivery of message m still deferred (hops left out),
     * stored by this run or earlier ones, gives up at time: it becomes
     * expired. The number of deliveries changed, or -1. */
    int (*expire_deferred)(void *ctx, const struct mail_message *m, int64_t time, struct err *e);
    /* optional: message m's final deliveries ("sent") to relay turn out to
     * be hand-overs to a filter that re-injected the mail (is_hop) */
    int (*mark_hops)(void *ctx, const struct mail_message *m, const char *relay, struct err *e);
    /* optional: the links between messages a later run may need, as bytes
     * for track_restore(); called by track_flush(), to be committed with the
     * rows. A sink without it forgets them at the end of the run. */
    int (*save_state)(void *ctx, const void *data, size_t len, struct err *e);
    /* optional, for track_restore(): the message with store id id, open or
     * closed: 1 and m filled, 0 none (purged), -1 error */
    int (*load_message)(void *ctx, int64_t id, struct mail_message *m, struct err *e);
};

/* Counters of one tracker's life, for `maillog parse --format summary`,
 * ingest's report and the corpus tests. */
#define TRACK_PROGRAMS_MAX 24

struct track_counts {
    uint64_t lines;      /* lines given to track_line() */
    uint64_t lines_mail; /* lines of a mail program we parse (postfix, dovecot, courier, plesk) */
    uint64_t lines_unrecognized; /* of those, lines no rule understood */
    uint64_t messages;           /* messages created (queue-id lives + NOQUEUE rejections) */
    uint64_t deliveries[DELIVERY_STATUS_COUNT]; /* delivery attempts by status (hops excluded) */
    uint64_t hops; /* hand-overs to a content filter or another instance */
    uint64_t access_ok;
    uint64_t access_failed;
    /* unrecognised lines per program (daemon name; "-" for lines without a
     * syslog header); the first TRACK_PROGRAMS_MAX programs seen, then "other" */
    struct {
        char program[32];
        uint64_t count;
    } unknown_by_program[TRACK_PROGRAMS_MAX];
    int unknown_programs;
};

struct tracker;

/* A tracker writing to sink (copied). Returns NULL only when out of memory. */
struct tracker *track_new(const struct track_sink *sink);
void track_free(struct tracker *t);

/* Classic syslog timestamps have no year: they are read as the latest time
 * not after reference + 1 day, where reference is the log file's mtime (UTC
 * seconds). Call once per file before its lines; default: now. */
void track_set_reference_time(struct tracker *t, int64_t reference);

/* One log line without its '\n' (any bytes; long lines are truncated). */
int track_line(struct tracker *t, const char *line, size_t len, struct err *e);

/* Hands every changed in-memory message to the sink, then the links a
 * later run needs (save_state; see the crash-safety note above). Open
 * messages stay open and in memory. */
int track_flush(struct tracker *t, struct err *e);

/* Before the first line: the links an earlier run saved (save_state), with
 * the messages they name reloaded through load_message(), so that this run
 * goes on where that one stopped. 0 restored; 1 when the bytes are not
 * readable (another version, damaged: e says why, and the tracker is as
 * new); -1 on a sink error. */
int track_restore(struct tracker *t, const void *data, size_t len, struct err *e);

const struct track_counts *track_counts(const struct tracker *t);

/* Messages currently held in memory (at most TRACK_OPEN_MAX; the rest live
 * in the store until their queue id shows up again). */
#define TRACK_OPEN_MAX 10000
size_t track_open_count(const struct tracker *t);

#endif
