/*
 * track.h — queue-id correlation: parsed events in, messages, per-recipient
 * deliveries and access events out (see record.h and DESIGN.md §4).
 *
 * The tracker keeps the messages whose queue id is still alive in memory (a
 * bounded cache) and hands every change to a sink, which is the store in the
 * product and a JSON printer for `maillog parse`. Contract with the sink:
 *   - put_message() is called before the first put_delivery() of a message
 *     and must set m->id on first store; it is called again (same id) when
 *     the message changed, at the latest by track_flush().
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

struct track_sink {
    void *ctx;
    int (*put_message)(void *ctx, struct mail_message *m, struct err *e);
    int (*put_delivery)(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                        struct err *e);
    int (*put_access)(void *ctx, const struct access_event *a, struct err *e);
    int (*find_open_message)(void *ctx, const char *host, const char *queue_id,
                             struct mail_message *m, struct err *e);
};

#endif
