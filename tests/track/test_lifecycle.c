/*
 * test_lifecycle.c — the tracker on tests/fixtures/parse/lifecycle.log, a log
 * written by hand from Postfix/Dovecot/Courier/Plesk documentation shapes.
 * Every expectation below comes from reading that file (see the comments).
 */
#include "recorder.h"
#include "track/classify.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/parse/lifecycle.log"
/* the fixture's lines are from Nov 24/25; its "mtime" is Nov 25 2024 14:00 UTC */
#define REFERENCE 1732543200

static struct recorder *rec;
static struct track_counts counts;

static void setup(void)
{
    setenv("TZ", "UTC", 1);
    rec = calloc(1, sizeof *rec);
    counts = recorder_run_file(rec, FIXTURE, REFERENCE);
}

static void teardown(void)
{
    free(rec);
}

static const struct mail_delivery *delivery_of(const char *msgid, const char *recipient)
{
    const struct mail_message *m = recorder_message_by_msgid(rec, msgid);
    ck_assert_msg(m != NULL, "no message %s", msgid);
    return recorder_delivery(rec, m->id, recipient);
}

START_TEST(counts_match_the_fixture)
{
    /* sent: bob (1A2B), dave (2B3C), bob via plesk_virtual (5E6F), webmaster (DSN),
     * ivan (local), bob (AB12 first life) */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_SENT], 6);
    /* deferred attempts: dave once, erin twice */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_DEFERRED], 3);
    ck_assert_uint_eq(counts.deliveries[DELIVERY_BOUNCED], 2);   /* grace, judy */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_EXPIRED], 1);   /* erin */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_REJECTED], 2);  /* NOQUEUE nobody, milter bob */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_DISCARDED], 1); /* junk */
    /* 11 queue-id lives (AB12CD34EF twice) + NOQUEUE + the DSN A3B4C5D6E7 */
    ck_assert_uint_eq(counts.messages, 13);
    /* ok: carol SASL (once for two mails in one connection), imap bob, imap carol,
     * managesieve carol, courier ivan; failed: 2 SASL, pop3 bob, courier pop3 */
    ck_assert_uint_eq(counts.access_ok, 5);
    ck_assert_uint_eq(counts.access_failed, 4);
    ck_assert_uint_eq(counts.lines, 85);
    ck_assert_uint_eq(counts.lines_unrecognized, 0);
}
END_TEST

START_TEST(deferred_then_sent_is_one_row)
{
    const struct mail_delivery *d =
        delivery_of("deferred-then-sent@hosted.test", "dave@remote.test");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->status, DELIVERY_SENT);
    ck_assert_int_eq(d->attempts, 2);
    ck_assert_str_eq(d->dsn, "2.0.0");
    ck_assert_double_eq_tol(d->delay, 842, 0.001);
    /* "queued as" at a remote MX is not a re-injection */
    ck_assert(!d->is_hop);
}
END_TEST

START_TEST(deferred_then_expired)
{
    const struct mail_message *m =
        recorder_message_by_msgid(rec, "deferred-then-expired@hosted.test");
    const struct mail_delivery *d =
        delivery_of("deferred-then-expired@hosted.test", "erin@unreachable.test");
    const struct mail_message *dsn = recorder_message_by_qid(rec, "A3B4C5D6E7", 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->status, DELIVERY_EXPIRED);
    ck_assert_int_eq(d->attempts, 3);
    ck_assert_ptr_nonnull(strstr(d->status_text, "Connection refused"));
    ck_assert(m->closed);
    ck_assert_ptr_nonnull(dsn);
    ck_assert_int_eq(dsn->dsn_of, m->id);
}
END_TEST

START_TEST(content_filter_reinjection_is_one_mail)
{
    const struct mail_message *parent = recorder_message_by_qid(rec, "4D5E6F7081", 0);
    const struct mail_message *child = recorder_message_by_qid(rec, "5E6F708192", 0);
    const struct mail_delivery *hop = recorder_delivery(rec, parent->id, "bob@hosted.test");
    const struct mail_delivery *final = recorder_delivery(rec, child->id, "bob@hosted.test");
    struct domain_set hosted = {NULL, 0};
    struct domain_info one = {.name = "hosted.test"};

    ck_assert(hop->is_hop);
    ck_assert(!final->is_hop);
    ck_assert_str_eq(final->relay, "plesk_virtual");
    ck_assert_int_eq(final->status, DELIVERY_SENT);
    ck_assert_int_eq(child->parent_id, parent->id);
    ck_assert_str_eq(child->parent_queue_id, "4D5E6F7081");
    /* the child describes the mail as it arrived, not as amavis re-sent it */
    ck_assert_str_eq(child->client_ip, "203.0.113.30");
    ck_assert_int_eq(child->origin, ORIGIN_REMOTE);
    hosted.items = &one;
    hosted.count = 1;
    ck_assert_uint_eq(classify_delivery(&hosted, parent, hop), 0);
    ck_assert_uint_eq(classify_delivery(&hosted, child, final), TAB_RECEIVED);
}
END_TEST

START_TEST(rejections)
{
    const struct mail_message *noqueue = NULL;
    const struct mail_delivery *d;

    for (size_t i = 0; i < rec->message_count; i++)
        if (rec->messages[i].queue_id[0] == '\0')
            noqueue = &rec->messages[i];
    ck_assert_ptr_nonnull(noqueue);
    ck_assert(noqueue->closed);
    ck_assert_str_eq(noqueue->sender, "spam@spammer.test");
    ck_assert_str_eq(noqueue->client_ip, "203.0.113.66");
    d = recorder_delivery(rec, noqueue->id, "nobody@hosted.test");
    ck_assert_int_eq(d->status, DELIVERY_REJECTED);
    ck_assert_ptr_nonnull(strstr(d->status_text, "User unknown in virtual mailbox table"));
    ck_assert_ptr_null(strstr(d->status_text, "from=<"));

    d = delivery_of("spam-1@spammer.test", "bob@hosted.test");
    ck_assert_int_eq(d->status, DELIVERY_REJECTED);
    ck_assert_str_eq(d->status_text, "5.7.1 Spam message rejected");
}
END_TEST

START_TEST(bounce_and_dsn)
{
    const struct mail_message *original = recorder_message_by_msgid(rec, "form-1@hosted.test");
    const struct mail_delivery *d = delivery_of("form-1@hosted.test", "grace@remote.test");
    const struct mail_message *dsn = recorder_message_by_qid(rec, "8192A3B4C5", 0);

    ck_assert_int_eq(d->status, DELIVERY_BOUNCED);
    ck_assert_str_eq(d->dsn, "5.1.1");
    ck_assert_int_eq(original->origin, ORIGIN_LOCAL); /* pickup */
    ck_assert_int_eq(original->local_uid, 10021);     /* its uid=: the web site's user */
    ck_assert_str_eq(original->sender, "webmaster@hosted.test");
    ck_assert_int_eq(dsn->dsn_of, original->id);
    ck_assert_str_eq(dsn->sender, "");
    ck_assert_int_eq(recorder_delivery(rec, dsn->id, "webmaster@hosted.test")->status,
                     DELIVERY_SENT);
}
END_TEST

START_TEST(queue_id_reuse_gives_two_messages)
{
    const struct mail_message *first = recorder_message_by_qid(rec, "AB12CD34EF", 0);
    const struct mail_message *second = recorder_message_by_qid(rec, "AB12CD34EF", 1);

    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(second);
    ck_assert_int_ne(first->id, second->id);
    ck_assert_str_eq(first->sender, "first@reuse.test");
    ck_assert_str_eq(second->sender, "second@reuse.test");
    ck_assert_int_eq(recorder_delivery(rec, first->id, "bob@hosted.test")->status, DELIVERY_SENT);
    ck_assert_int_eq(recorder_delivery(rec, second->id, "judy@hosted.test")->status,
                     DELIVERY_BOUNCED);
    ck_assert_ptr_null(recorder_delivery(rec, first->id, "judy@hosted.test"));
}
END_TEST

START_TEST(ipv6_client_local_and_discard)
{
    const struct mail_message *m = recorder_message_by_msgid(rec, "v6@sender.test");
    const struct mail_delivery *ivan = delivery_of("v6@sender.test", "ivan@hosted.test");

    ck_assert_str_eq(m->client_ip, "2001:db8:5::25");
    ck_assert_int_eq(m->nrcpt, 2);
    ck_assert_int_eq(m->size, 1200);
    ck_assert_str_eq(ivan->orig_to, "postmaster@hosted.test");
    ck_assert_str_eq(ivan->service, "local");
    ck_assert_int_eq(delivery_of("v6@sender.test", "junk@hosted.test")->status, DELIVERY_DISCARDED);
}
END_TEST

START_TEST(sasl_sender_is_sent_tab)
{
    const struct mail_message *m = recorder_message_by_msgid(rec, "deferred-then-sent@hosted.test");
    struct domain_info one = {.name = "hosted.test"};
    struct domain_set hosted = {&one, 1};
    const struct mail_delivery *d =
        delivery_of("deferred-then-sent@hosted.test", "dave@remote.test");

    ck_assert_int_eq(m->origin, ORIGIN_SASL);
    ck_assert_str_eq(m->sasl_username, "carol@hosted.test");
    ck_assert_uint_eq(classify_delivery(&hosted, m, d), TAB_SENT);
    d = delivery_of("deferred-then-expired@hosted.test", "erin@unreachable.test");
    ck_assert_uint_eq(classify_delivery(&hosted, recorder_message(rec, d->message_id), d),
                      TAB_SENT | TAB_NOT_SENT);
}
END_TEST

/* The tabs of `maillog parse` follow the store's rules: the login's domain
 * sent SMTP AUTH mail, a subscription's system user its web site's mail,
 * and a hosted address the mail it forwarded off the server. */
START_TEST(tabs_follow_the_store_rules)
{
    const struct mail_message *form = recorder_message_by_msgid(rec, "form-1@hosted.test");
    const struct mail_delivery *d = delivery_of("form-1@hosted.test", "grace@remote.test");
    struct domain_info other = {.name = "other.test", .sysuser_uid = 10021};
    struct domain_info one = {.name = "hosted.test", .sysuser_uid = -1};
    struct domain_set by_uid = {&other, 1}, by_sender = {&one, 1};
    struct mail_message m;
    struct mail_delivery forwarded;

    /* pickup uid=10021, sender webmaster@hosted.test */
    ck_assert_int_eq(form->local_uid, 10021);
    ck_assert_uint_eq(classify_delivery(&by_uid, form, d) & TAB_SENT, TAB_SENT);
    ck_assert_uint_eq(classify_delivery(&by_sender, form, d) & TAB_SENT, TAB_SENT);
    other.sysuser_uid = -1;
    ck_assert_uint_eq(classify_delivery(&by_uid, form, d) & TAB_SENT, 0);
    /* a login of another domain claiming a hosted sender */
    m = *form;
    m.origin = ORIGIN_SASL;
    snprintf(m.sasl_username, sizeof m.sasl_username, "mallory@other.test");
    ck_assert_uint_eq(classify_delivery(&by_sender, &m, d) & TAB_SENT, 0);
    /* forwarded off the server by a hosted address */
    forwarded = *d;
    snprintf(forwarded.orig_to, sizeof forwarded.orig_to, "info@hosted.test");
    ck_assert_uint_eq(classify_delivery(&by_sender, &m, &forwarded) & TAB_RECEIVED, TAB_RECEIVED);
    ck_assert_uint_eq(classify_delivery(&by_sender, &m, d) & TAB_RECEIVED, 0);
}
END_TEST

static const struct access_event *access_at(size_t i)
{
    ck_assert_uint_lt(i, rec->access_count);
    return &rec->access[i];
}

START_TEST(access_events)
{
    /* in log order: SASL carol, SASL fail x2, imap bob, pop3 fail, imap carol,
     * managesieve carol, courier imap ivan, courier pop3 fail */
    ck_assert_uint_eq(rec->access_count, 9);
    ck_assert_str_eq(access_at(0)->user, "carol@hosted.test");
    ck_assert_int_eq(access_at(0)->protocol, PROTO_SUBMISSION);
    ck_assert_str_eq(access_at(0)->ip, "198.51.100.20");
    ck_assert(access_at(0)->success);
    ck_assert_str_eq(access_at(1)->user, "carol@hosted.test");
    ck_assert_str_eq(access_at(1)->method, "LOGIN");
    ck_assert(!access_at(1)->success);
    ck_assert_int_eq(access_at(1)->protocol, PROTO_SMTP);
    ck_assert_str_eq(access_at(2)->user, "");
    ck_assert_str_eq(access_at(2)->ip, "198.51.100.77");
    ck_assert_int_eq(access_at(3)->protocol, PROTO_IMAP);
    ck_assert_str_eq(access_at(3)->ip, "203.0.113.5");
    ck_assert_int_eq(access_at(4)->protocol, PROTO_POP3);
    ck_assert_str_eq(access_at(4)->ip, "2001:db8:77::9");
    ck_assert_str_eq(access_at(4)->detail, "Disconnected (auth failed, 1 attempts in 2 secs)");
    ck_assert_str_eq(access_at(5)->ip, "198.51.100.20"); /* ::ffff: removed */
    ck_assert_int_eq(access_at(6)->protocol, PROTO_MANAGESIEVE);
    ck_assert_str_eq(access_at(7)->user, "ivan@hosted.test");
    ck_assert_str_eq(access_at(7)->ip, "203.0.113.7");
    ck_assert(access_at(7)->success);
    ck_assert_int_eq(access_at(8)->protocol, PROTO_POP3);
    ck_assert_str_eq(access_at(8)->ip, "2001:db8:88::1");
    ck_assert(!access_at(8)->success);
    /* classic stamps are local time (TZ=UTC here): Nov 24 2024 09:51:00 */
    ck_assert_int_eq(access_at(3)->time, 1732441860);
}
END_TEST

START_TEST(raw_lines_follow_the_message)
{
    const struct mail_message *m = recorder_message_by_qid(rec, "1A2B3C4D5E", 0);
    const char *lines = rec->lines[m->id - 1];
    int count = 0;

    for (const char *p = lines; (p = strchr(p, '\n')) != NULL; p++)
        count++;
    ck_assert_int_eq(count, 5); /* client, message-id, from, to, removed */
    ck_assert_ptr_nonnull(strstr(lines, "1A2B3C4D5E: removed\n"));
}
END_TEST

Suite *suite_track_lifecycle(void);
Suite *suite_track_lifecycle(void)
{
    Suite *s = suite_create("track/lifecycle");
    TCase *tc = tcase_create("fixture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_match_the_fixture);
    tcase_add_test(tc, deferred_then_sent_is_one_row);
    tcase_add_test(tc, deferred_then_expired);
    tcase_add_test(tc, content_filter_reinjection_is_one_mail);
    tcase_add_test(tc, rejections);
    tcase_add_test(tc, bounce_and_dsn);
    tcase_add_test(tc, queue_id_reuse_gives_two_messages);
    tcase_add_test(tc, ipv6_client_local_and_discard);
    tcase_add_test(tc, sasl_sender_is_sent_tab);
    tcase_add_test(tc, tabs_follow_the_store_rules);
    tcase_add_test(tc, access_events);
    tcase_add_test(tc, raw_lines_follow_the_message);
    suite_add_tcase(s, tc);
    return s;
}
