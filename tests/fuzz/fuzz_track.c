/*
 * fuzz_track.c — libFuzzer target for the line parser and the tracker.
 *
 * The input is cut into lines at '\n' and fed to one tracker whose sink
 * checks the tracker's side of the contract (record.h / track.h): ids are
 * given before deliveries, every string is NUL-terminated inside its array,
 * enum values are in range, raw-line deltas are within the cap. Crashes,
 * sanitizer reports and broken invariants are findings.
 */
#include "track/track.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int64_t next_id;

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct track_sink sink = {.ctx = NULL,
                              .put_message = put_message,
                              .put_delivery = put_delivery,
                              .put_access = put_access,
                              .find_open_message = find_open};
    struct tracker *t = track_new(&sink);
    const char *p = (const char *)data, *end = p + size;
    struct err e;

    if (t == NULL)
        return 0;
    track_set_reference_time(t, 1732543200);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (track_line(t, p, len, &e) != 0)
            abort(); /* this sink never fails, so neither may the tracker */
        p += len + 1;
    }
    if (track_flush(t, &e) != 0)
        abort();
    track_free(t);
    return 0;
}
