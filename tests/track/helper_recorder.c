/*
 * recorder.c — the in-memory test sink of recorder.h.
 */
#include "recorder.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_message(void *ctx, struct mail_message *m, struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    r->put_message_calls++;
    if (m->id == 0) {
        ck_assert_uint_lt(r->message_count, RECORDER_MAX);
        m->id = (int64_t)++r->message_count;
        r->lines[m->id - 1][0] = '\0';
    }
    r->messages[m->id - 1] = *m;
    r->messages[m->id - 1].new_lines = NULL;
    r->messages[m->id - 1].new_lines_len = 0;
    if (m->new_lines_len > 0) {
        size_t used = strlen(r->lines[m->id - 1]);
        size_t room = RECORD_LINES_MAX - 1 - used;
        size_t n = m->new_lines_len < room ? m->new_lines_len : room;
        memcpy(r->lines[m->id - 1] + used, m->new_lines, n);
        r->lines[m->id - 1][used + n] = '\0';
    }
    return 0;
}

static int put_delivery(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                        struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    ck_assert_int_eq(d->message_id, m->id);
    ck_assert_int_gt(m->id, 0);
    for (size_t i = 0; i < r->delivery_count; i++) {
        struct mail_delivery *old = &r->deliveries[i];
        if (old->message_id == d->message_id && strcmp(old->recipient, d->recipient) == 0) {
            int attempts = old->attempts + 1;
            *old = *d;
            old->attempts = attempts;
            return 0;
        }
    }
    ck_assert_uint_lt(r->delivery_count, RECORDER_MAX);
    r->deliveries[r->delivery_count++] = *d;
    return 0;
}

static int put_access(void *ctx, const struct access_event *a, struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    ck_assert_uint_lt(r->access_count, RECORDER_MAX);
    r->access[r->access_count++] = *a;
    return 0;
}

/* Like the store: an unclosed message of that host/queue id, latest first. */
static int find_open(void *ctx, const char *host, const char *queue_id, struct mail_message *m,
                     struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    for (size_t i = r->message_count; i-- > 0;) {
        const struct mail_message *x = &r->messages[i];
        if (!x->closed && strcmp(x->host, host) == 0 && strcmp(x->queue_id, queue_id) == 0) {
            *m = *x;
            return 1;
        }
    }
    return 0;
}

static int save_state(void *ctx, const void *data, size_t len, struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    ck_assert_uint_le(len, sizeof r->state);
    memcpy(r->state, data, len);
    r->state_len = len;
    return 0;
}

static int load_message(void *ctx, int64_t id, struct mail_message *m, struct err *e)
{
    struct recorder *r = ctx;
    (void)e;
    if (id < 1 || (size_t)id > r->message_count)
        return 0;
    *m = r->messages[id - 1];
    return 1;
}

struct track_sink recorder_sink(struct recorder *r)
{
    struct track_sink sink = {.ctx = r,
                              .put_message = put_message,
                              .put_delivery = put_delivery,
                              .put_access = put_access,
                              .find_open_message = find_open,
                              .save_state = save_state,
                              .load_message = load_message};
    return sink;
}

struct track_counts recorder_run_file(struct recorder *r, const char *path, int64_t reference)
{
    char full[4096], line[70000];
    const char *dir = getenv("MAILLOG_SRCDIR");
    struct track_sink sink = recorder_sink(r);
    struct tracker *t = track_new(&sink);
    struct track_counts counts;
    struct err e;
    FILE *f;

    snprintf(full, sizeof full, "%s/%s", dir ? dir : ".", path);
    f = fopen(full, "r");
    ck_assert_msg(f != NULL, "cannot open %s", full);
    ck_assert_ptr_nonnull(t);
    track_set_reference_time(t, reference);
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        ck_assert_msg(track_line(t, line, len, &e) == 0, "%s: %s", path, e.text);
    }
    fclose(f);
    ck_assert_msg(track_flush(t, &e) == 0, "flush: %s", e.text);
    counts = *track_counts(t);
    track_free(t);
    return counts;
}

const struct mail_message *recorder_message_by_msgid(const struct recorder *r, const char *msgid)
{
    for (size_t i = 0; i < r->message_count; i++)
        if (strcmp(r->messages[i].message_id, msgid) == 0)
            return &r->messages[i];
    return NULL;
}

const struct mail_message *recorder_message_by_qid(const struct recorder *r, const char *qid,
                                                   int nth)
{
    for (size_t i = 0; i < r->message_count; i++)
        if (strcmp(r->messages[i].queue_id, qid) == 0 && nth-- == 0)
            return &r->messages[i];
    return NULL;
}

const struct mail_message *recorder_message(const struct recorder *r, int64_t id)
{
    return id >= 1 && (size_t)id <= r->message_count ? &r->messages[id - 1] : NULL;
}

const struct mail_delivery *recorder_delivery(const struct recorder *r, int64_t message_id,
                                              const char *recipient)
{
    for (size_t i = 0; i < r->delivery_count; i++)
        if (r->deliveries[i].message_id == message_id &&
            strcmp(r->deliveries[i].recipient, recipient) == 0)
            return &r->deliveries[i];
    return NULL;
}
