/*
 * fuzz_track.c — libFuzzer target for the line parser and the tracker.
 *
 * The input is cut into lines at '\n' and fed to a tracker whose sink
 * checks the tracker's side of the contract (record.h / track.h): ids are
 * given before deliveries, every string is NUL-terminated inside its array,
 * enum values are in range, raw-line deltas are within the cap. The lines
 * are read in two runs, as the ingest would: the first half by one tracker,
 * whose saved state (src/track/state.c) a second one restores, its messages
 * reloaded from the sink's copies, and reads the rest; its own state must
 * restore. The input is also given to track_restore() as saved bytes, which
 * must be refused or taken without harm. Crashes, sanitizer reports and
 * broken invariants are findings.
 */
#include "track/track.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int64_t next_id;

/* What a store would keep of the messages, for load_message(). */
#define KEPT_MAX 2048
static struct mail_message kept[KEPT_MAX];
static unsigned char saved[1 << 20];
static size_t saved_len;

#define TERMINATED(array) (memchr((array), '\0', sizeof(array)) != NULL)

static int put_message(void *ctx, struct mail_message *m, struct err *e)
{
    (void)ctx, (void)e;
    if (!TERMINATED(m->host) || !TERMINATED(m->queue_id) || !TERMINATED(m->sender) ||
        !TERMINATED(m->message_id) || !TERMINATED(m->client_ip) || !TERMINATED(m->client_host) ||
        !TERMINATED(m->sasl_username) || !TERMINATED(m->sasl_method))
        abort();
    if ((unsigned)m->origin >= ORIGIN_COUNT || m->new_lines_len > RECORD_LINES_MAX)
        abort();
    if (m->new_lines_len > 0 && m->new_lines[m->new_lines_len - 1] != '\n')
        abort();
    if (m->id == 0)
        m->id = ++next_id;
    if (m->id <= KEPT_MAX) {
        kept[m->id - 1] = *m;
        kept[m->id - 1].new_lines = NULL;
        kept[m->id - 1].new_lines_len = 0;
    }
    return 0;
}

static int put_delivery(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                        struct err *e)
{
    (void)ctx, (void)e;
    if (m->id == 0 || d->message_id != m->id)
        abort();
    if ((unsigned)d->status >= DELIVERY_STATUS_COUNT || !TERMINATED(d->recipient) ||
        !TERMINATED(d->status_text) || !TERMINATED(d->relay) || !TERMINATED(d->dsn) ||
        !TERMINATED(d->orig_to) || !TERMINATED(d->service))
        abort();
    return 0;
}

static int put_access(void *ctx, const struct access_event *a, struct err *e)
{
    (void)ctx, (void)e;
    if ((unsigned)a->protocol >= PROTO_COUNT || !TERMINATED(a->user) || !TERMINATED(a->ip) ||
        !TERMINATED(a->detail) || !TERMINATED(a->method) || !TERMINATED(a->host))
        abort();
    return 0;
}

static int find_open(void *ctx, const char *host, const char *queue_id, struct mail_message *m,
                     struct err *e)
{
    (void)ctx, (void)host, (void)queue_id, (void)m, (void)e;
    return 0;
}

static int save_state(void *ctx, const void *data, size_t len, struct err *e)
{
    (void)ctx, (void)e;
    if (len > sizeof saved)
        abort(); /* the state is bounded well below this */
    memcpy(saved, data, len);
    saved_len = len;
    return 0;
}

static int load_message(void *ctx, int64_t id, struct mail_message *m, struct err *e)
{
    (void)ctx, (void)e;
    if (id < 1 || id > next_id || id > KEPT_MAX)
        return 0;
    *m = kept[id - 1];
    return 1;
}

/* Lines of [p, end) to t. */
static void feed(struct tracker *t, const char *p, const char *end)
{
    struct err e;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (track_line(t, p, len, &e) != 0)
            abort(); /* this sink never fails, so neither may the tracker */
        p += len + 1;
    }
    if (track_flush(t, &e) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct track_sink sink = {.ctx = NULL,
                              .put_message = put_message,
                              .put_delivery = put_delivery,
                              .put_access = put_access,
                              .find_open_message = find_open,
                              .save_state = save_state,
                              .load_message = load_message};
    const char *p = (const char *)data, *end = p + size, *half;
    struct tracker *t;
    struct err e;

    next_id = 0;
    saved_len = 0;
    /* the first run: up to the line boundary nearest the middle */
    half = memchr(p + size / 2, '\n', (size_t)(end - (p + size / 2)));
    half = half ? half + 1 : end;
    if ((t = track_new(&sink)) == NULL)
        return 0;
    track_set_reference_time(t, 1732543200);
    feed(t, p, half);
    track_free(t);
    /* the second run, from what the first one saved */
    if ((t = track_new(&sink)) == NULL)
        return 0;
    if (saved_len > 0 && track_restore(t, saved, saved_len, &e) != 0)
        abort(); /* its own bytes */
    track_set_reference_time(t, 1732543200);
    feed(t, half, end);
    track_free(t);
    /* the input as saved bytes (another version, damaged): refused or taken */
    if ((t = track_new(&sink)) == NULL)
        return 0;
    if (track_restore(t, data, size, &e) < 0)
        abort();   /* this sink never fails */
    feed(t, p, p); /* a flush of whatever was restored */
    track_free(t);
    return 0;
}
