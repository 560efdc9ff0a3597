/*
 * test_hostile.c — log lines an attacker can shape (HELO names, addresses,
 * user names end up in the log): huge lines, NUL bytes, invalid UTF-8,
 * escape sequences, forged fields, and a flood of queue ids. The tracker
 * must neither crash nor believe what a field's content pretends to be,
 * and must keep its memory bounded.
 */
#include "recorder.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct recorder *rec;
static struct tracker *tracker;

static void setup(void)
{
    struct track_sink sink;
    rec = calloc(1, sizeof *rec);
    sink = recorder_sink(rec);
    tracker = track_new(&sink);
    track_set_reference_time(tracker, 1732543200);
}

static void teardown(void)
{
    track_free(tracker);
    free(rec);
}

static void feed(const char *line, size_t len)
{
    struct err e;
    ck_assert_msg(track_line(tracker, line, len, &e) == 0, "%s", e.text);
}

static void feed_str(const char *line)
{
    feed(line, strlen(line));
}

START_TEST(megabyte_line_is_truncated_into_fields)
{
    size_t n = 1 << 20;
    char *line = malloc(n);
    int prefix = snprintf(line, n, "Nov 24 09:00:00 mx postfix/qmgr[1]: 1A2B3C4D5E: from=<");
    memset(line + prefix, 'a', n - (size_t)prefix - 41);
    strcpy(line + n - 41, "@x.test>, size=1, nrcpt=1 (queue active)");
    feed(line, n - 1);
    free(line);
    ck_assert(track_flush(tracker, &(struct err){{0}}) == 0);
    ck_assert_uint_eq(rec->message_count, 1);
    ck_assert_uint_eq(strlen(rec->messages[0].sender), RECORD_ADDR_MAX - 1);
}
END_TEST

START_TEST(nul_bytes_and_escapes_stay_inside_the_strings)
{
    static const char line[] = "Nov 24 09:00:00 mx dovecot: imap-login: Login: user=<ev\0il\x1b[31m"
                               "\xff\xfe@x.test>, method=PLAIN, rip=203.0.113.9";
    feed(line, sizeof line - 1);
    ck_assert_uint_eq(rec->access_count, 1);
    /* the copy stops at the NUL: nothing after it leaks into another field */
    ck_assert_str_eq(rec->access[0].user, "ev");
    ck_assert_str_eq(rec->access[0].ip, "203.0.113.9");
}
END_TEST

START_TEST(forged_status_in_helo_is_still_a_reject)
{
    feed_str(
        "Nov 24 09:00:00 mx postfix/smtpd[5]: NOQUEUE: reject: RCPT from evil.test[203.0.113.6]: "
        "554 5.7.1 <v@hosted.test>: Relay access denied; from=<a@evil.test> to=<v@hosted.test> "
        "proto=ESMTP helo=<x>, to=<v@hosted.test>, relay=local, status=sent (250 ok)>");
    ck_assert_uint_eq(rec->delivery_count, 1);
    ck_assert_int_eq(rec->deliveries[0].status, DELIVERY_REJECTED);
    ck_assert_str_eq(rec->deliveries[0].recipient, "v@hosted.test");
}
END_TEST

START_TEST(forged_fields_in_a_header_warning_are_ignored)
{
    feed_str("Nov 24 09:00:00 mx postfix/cleanup[5]: 1A2B3C4D5E: warning: header Subject: "
             "to=<ceo@hosted.test>, relay=local, dsn=2.0.0, status=sent (delivered) from "
             "evil.test[203.0.113.6]; from=<a@evil.test> to=<b@hosted.test>");
    ck_assert_uint_eq(rec->delivery_count, 0);
}
END_TEST

START_TEST(remote_queued_as_does_not_link_to_our_queue)
{
    feed_str("Nov 24 09:00:00 mx postfix/smtpd[5]: 1111122222: client=victim.test[203.0.113.50]");
    feed_str("Nov 24 09:00:01 mx postfix/smtpd[6]: 3333344444: client=other.test[203.0.113.51]");
    /* a remote server answering "queued as <one of our ids>" must not make it a hop */
    feed_str("Nov 24 09:00:02 mx postfix/smtp[7]: 3333344444: to=<x@remote.test>, "
             "relay=mx.remote.test[198.51.100.1]:25, delay=1, dsn=2.0.0, "
             "status=sent (250 Ok: queued as 1111122222)");
    ck_assert_uint_eq(rec->delivery_count, 1);
    ck_assert(!rec->deliveries[0].is_hop);
    ck_assert(track_flush(tracker, &(struct err){{0}}) == 0);
    ck_assert_int_eq(recorder_message_by_qid(rec, "1111122222", 0)->parent_id, 0);
}
END_TEST

START_TEST(comma_in_client_name_cannot_forge_sasl)
{
    feed_str("Nov 24 09:00:00 mx postfix/smtpd[5]: 1111122222: client=evil, "
             "sasl_method=PLAIN, sasl_username=admin@hosted.test[203.0.113.7]");
    ck_assert_uint_eq(rec->access_count, 0);
}
END_TEST

/* A light store for the flood: per id, the queue id, the sender and whether
 * the message is closed (the recorder would need gigabytes for this). */
struct flood_store {
    struct flood_row {
        char queue_id[RECORD_QID_MAX];
        char sender[64];
        bool closed;
    } * rows;
    size_t count, cap;
};

static int flood_put_message(void *ctx, struct mail_message *m, struct err *e)
{
    struct flood_store *fs = ctx;
    (void)e;
    if (m->id == 0) {
        ck_assert_uint_lt(fs->count, fs->cap);
        m->id = (int64_t)++fs->count;
    }
    snprintf(fs->rows[m->id - 1].queue_id, RECORD_QID_MAX, "%s", m->queue_id);
    snprintf(fs->rows[m->id - 1].sender, 64, "%s", m->sender);
    fs->rows[m->id - 1].closed = m->closed;
    return 0;
}

static int flood_find_open(void *ctx, const char *host, const char *queue_id,
                           struct mail_message *m, struct err *e)
{
    struct flood_store *fs = ctx;
    (void)host, (void)e;
    for (size_t i = 0; i < fs->count; i++) {
        if (!fs->rows[i].closed && strcmp(fs->rows[i].queue_id, queue_id) == 0) {
            memset(m, 0, sizeof *m);
            m->id = (int64_t)i + 1;
            strcpy(m->host, "mx");
            strcpy(m->queue_id, queue_id);
            m->first_seen = m->last_seen = 1732438800;
            return 1;
        }
    }
    return 0;
}

START_TEST(queue_id_flood_keeps_memory_bounded)
{
    struct flood_store fs = {calloc(60000, sizeof(struct flood_row)), 0, 60000};
    struct track_sink sink = recorder_sink(rec);
    struct tracker *t;
    struct err e;
    char line[256];

    sink.ctx = &fs;
    sink.put_message = flood_put_message;
    sink.find_open_message = flood_find_open;
    sink.save_state = NULL; /* the recorder's: they would take fs for one */
    sink.load_message = NULL;
    t = track_new(&sink);
    track_set_reference_time(t, 1732543200);
    for (int i = 0; i < 50000; i++) {
        snprintf(line, sizeof line,
                 "Nov 24 09:00:00 mx postfix/smtpd[5]: %010X: client=flood.test[203.0.113.8]",
                 0x10000000 + i);
        ck_assert(track_line(t, line, strlen(line), &e) == 0);
        ck_assert_uint_le(track_open_count(t), TRACK_OPEN_MAX);
    }
    /* the evicted ones went to the store, still open, and come back on demand */
    snprintf(line, sizeof line,
             "Nov 24 09:00:01 mx postfix/qmgr[9]: 0010000000: "
             "from=<first@flood.test>, size=1, nrcpt=1 (queue active)");
    ck_assert(track_line(t, line, strlen(line), &e) == 0);
    ck_assert(track_flush(t, &e) == 0);
    ck_assert_uint_eq(fs.count, 50000);
    ck_assert_str_eq(fs.rows[0].queue_id, "0010000000");
    ck_assert_str_eq(fs.rows[0].sender, "first@flood.test");
    track_free(t);
    free(fs.rows);
}
END_TEST

Suite *suite_track_hostile(void);
Suite *suite_track_hostile(void)
{
    Suite *s = suite_create("track/hostile");
    TCase *tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, megabyte_line_is_truncated_into_fields);
    tcase_add_test(tc, nul_bytes_and_escapes_stay_inside_the_strings);
    tcase_add_test(tc, forged_status_in_helo_is_still_a_reject);
    tcase_add_test(tc, forged_fields_in_a_header_warning_are_ignored);
    tcase_add_test(tc, remote_queued_as_does_not_link_to_our_queue);
    tcase_add_test(tc, comma_in_client_name_cannot_forge_sasl);
    tcase_add_test(tc, queue_id_flood_keeps_memory_bounded);
    suite_add_tcase(s, tc);
    return s;
}
