/*
 * test_agents.c — tests/fixtures/parse/agents.log: the Postfix programs and
 * statuses lifecycle.log leaves out (postscreen reject, error and qmgr
 * deferrals, a delay DSN, postsuper removal, smtpd discard, SOFTBOUNCE,
 * virtual bounce) and login shapes (rsyslog "message repeated", Courier
 * pop3/esmtpd, Dovecot submission over IPv6).
 */
#include "recorder.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct recorder *rec;
static struct track_counts counts;

static void setup(void)
{
    setenv("TZ", "UTC", 1);
    rec = calloc(1, sizeof *rec);
    counts = recorder_run_file(rec, "tests/fixtures/parse/agents.log", 1732543200);
}

static void teardown(void)
{
    free(rec);
}

START_TEST(statuses_and_counts)
{
    /* rejected: postscreen; discarded: smtpd discard; deferred: error, qmgr, SOFTBOUNCE;
     * bounced: virtual; sent: the delay DSN delivered locally */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_REJECTED], 1);
    ck_assert_uint_eq(counts.deliveries[DELIVERY_DISCARDED], 1);
    ck_assert_uint_eq(counts.deliveries[DELIVERY_DEFERRED], 3);
    ck_assert_uint_eq(counts.deliveries[DELIVERY_BOUNCED], 1);
    ck_assert_uint_eq(counts.deliveries[DELIVERY_SENT], 1);
    ck_assert_uint_eq(counts.lines_unrecognized, 0);
    /* ok: courier pop3, dovecot submission; failed: dovecot imap 1 + repeated 2, courier esmtpd */
    ck_assert_uint_eq(counts.access_ok, 2);
    ck_assert_uint_eq(counts.access_failed, 4);
}
END_TEST

START_TEST(delay_notification_and_postsuper)
{
    const struct mail_message *cron = recorder_message_by_msgid(rec, "cron-1@mx1.hosted.test");
    const struct mail_message *dsn = recorder_message_by_qid(rec, "4B4B4B4B4B", 0);
    const struct mail_delivery *d = recorder_delivery(rec, cron->id, "admin@broken.test");

    ck_assert_int_eq(d->status, DELIVERY_DEFERRED);
    ck_assert_int_eq(d->attempts, 2);
    ck_assert_str_eq(d->service, "qmgr");
    ck_assert_int_eq(dsn->dsn_of, cron->id);
    ck_assert(cron->closed); /* postsuper removed it */
    ck_assert_int_eq(cron->origin, ORIGIN_LOCAL);
}
END_TEST

START_TEST(postscreen_reject_and_smtpd_discard)
{
    const struct mail_message *m = recorder_message_by_qid(rec, "5C5C5C5C5C", 0);
    const struct mail_delivery *trap = recorder_delivery(rec, m->id, "trap@hosted.test");
    const struct mail_delivery *soft = recorder_delivery(rec, m->id, "far@remote.test");
    const struct mail_delivery *full = recorder_delivery(rec, m->id, "box@hosted.test");
    const struct mail_delivery *screen = NULL;

    for (size_t i = 0; i < rec->delivery_count; i++)
        if (strcmp(rec->deliveries[i].recipient, "info@hosted.test") == 0)
            screen = &rec->deliveries[i];
    ck_assert_ptr_nonnull(screen);
    ck_assert_int_eq(screen->status, DELIVERY_REJECTED);
    ck_assert_ptr_nonnull(strstr(screen->status_text, "zen.spamhaus.org"));
    ck_assert_int_eq(trap->status, DELIVERY_DISCARDED);
    ck_assert_int_eq(soft->status, DELIVERY_DEFERRED);
    ck_assert_int_eq(full->status, DELIVERY_BOUNCED);
    ck_assert_str_eq(full->status_text, "mailbox full");
}
END_TEST

START_TEST(login_shapes)
{
    ck_assert_uint_eq(rec->access_count, 6);
    /* the two repeats copy the failure before them */
    ck_assert_str_eq(rec->access[1].ip, "198.51.100.9");
    ck_assert_str_eq(rec->access[2].ip, "198.51.100.9");
    ck_assert(!rec->access[2].success);
    ck_assert_int_eq(rec->access[3].protocol, PROTO_POP3);
    ck_assert_str_eq(rec->access[3].ip, "198.51.100.10");
    ck_assert(rec->access[3].success);
    ck_assert_int_eq(rec->access[4].protocol, PROTO_SMTP);
    ck_assert_str_eq(rec->access[4].ip, "198.51.100.11");
    ck_assert_int_eq(rec->access[5].protocol, PROTO_SUBMISSION);
    ck_assert_str_eq(rec->access[5].ip, "2001:db8::10");
}
END_TEST

/* Texts as a user should read them: a reject without a sender keeps no
 * envelope tail, a SASL failure with nothing after "failed:" has no detail. */
START_TEST(reject_and_sasl_texts_without_their_tails)
{
    static const char *const lines[] = {
        "Nov 24 12:00:00 mx1 postfix/smtpd[20]: NOQUEUE: reject: RCPT from baffle.example"
        "[192.0.2.50]: 452 4.3.1 Insufficient system storage; proto=ESMTP helo=<baffle.example>",
        "Nov 24 12:00:01 mx1 postfix/smtpd[21]: NOQUEUE: reject: RCPT from baffle.example"
        "[192.0.2.50]: 450 4.7.1 Client host rejected; to=<a@hosted.test> proto=ESMTP"
        " helo=<baffle.example>",
        "Nov 24 12:00:02 mx1 postfix/smtpd[22]: warning: unknown[192.0.2.51]: SASL LOGIN"
        " authentication failed:"};
    struct recorder *r = calloc(1, sizeof *r);
    struct track_sink sink = recorder_sink(r);
    struct tracker *t = track_new(&sink);
    struct err e;

    track_set_reference_time(t, 1732543200);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_int_eq(track_line(t, lines[i], strlen(lines[i]), &e), 0);
    ck_assert_int_eq(track_flush(t, &e), 0);
    track_free(t);
    ck_assert_uint_eq(r->delivery_count, 2);
    ck_assert_str_eq(r->deliveries[0].status_text, "452 4.3.1 Insufficient system storage");
    ck_assert_str_eq(r->deliveries[1].status_text, "450 4.7.1 Client host rejected");
    ck_assert_str_eq(r->deliveries[1].recipient, "a@hosted.test");
    ck_assert_uint_eq(r->access_count, 1);
    ck_assert(!r->access[0].success);
    ck_assert_str_eq(r->access[0].method, "LOGIN");
    ck_assert_str_eq(r->access[0].detail, "");
    free(r);
}
END_TEST

Suite *suite_track_agents(void);
Suite *suite_track_agents(void)
{
    Suite *s = suite_create("track/agents");
    TCase *tc = tcase_create("fixture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, statuses_and_counts);
    tcase_add_test(tc, delay_notification_and_postsuper);
    tcase_add_test(tc, postscreen_reject_and_smtpd_discard);
    tcase_add_test(tc, login_shapes);
    tcase_add_test(tc, reject_and_sasl_texts_without_their_tails);
    suite_add_tcase(s, tc);
    return s;
}
