/*
 * recorder.h — a track_sink for tests that keeps everything in memory the
 * way the store would: messages by id (updated in place), deliveries
 * upserted by (message id, recipient) with attempts counted, access events
 * in order. Also a helper that runs a fixture file through a tracker.
 */
#ifndef MAILLOG_TESTS_RECORDER_H
#define MAILLOG_TESTS_RECORDER_H

#include "track/track.h"

#include <stddef.h>

#define RECORDER_MAX 4096

struct recorder {
    struct mail_message messages[RECORDER_MAX]; /* index = id - 1 */
    char lines[RECORDER_MAX][RECORD_LINES_MAX];
    size_t message_count;
    struct mail_delivery deliveries[RECORDER_MAX];
    size_t delivery_count;
    struct access_event access[RECORDER_MAX];
    size_t access_count;
    int put_message_calls;
    unsigned char state[1 << 21]; /* the tracker's last save_state() */
    size_t state_len;
};

struct track_sink recorder_sink(struct recorder *r);

/* Runs path (relative to MAILLOG_SRCDIR or the cwd) through a new tracker
 * writing to r; reference is the "file mtime" for year inference.
 * Returns the tracker's counts (copied). Fails the test on error. */
struct track_counts recorder_run_file(struct recorder *r, const char *path, int64_t reference);

/* Lookups; NULL when absent. */
const struct mail_message *recorder_message_by_msgid(const struct recorder *r, const char *msgid);
const struct mail_message *recorder_message_by_qid(const struct recorder *r, const char *qid,
                                                   int nth);
const struct mail_message *recorder_message(const struct recorder *r, int64_t id);
const struct mail_delivery *recorder_delivery(const struct recorder *r, int64_t message_id,
                                              const char *recipient);

#endif
