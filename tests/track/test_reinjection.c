/*
 * test_reinjection.c — tests/fixtures/parse/rfc3339-pipe-filter.log: RFC3339
 * stamps across a new year, a pipe content filter (bogofilter) that
 * re-injects through pickup, a two-instance relay (postfix-in → postfix-out
 * on port 2525), long queue ids, and a severity column.
 */
#include "recorder.h"

#include <check.h>
#include <stdlib.h>

#define FIXTURE "tests/fixtures/parse/rfc3339-pipe-filter.log"

static struct recorder *rec;
static struct track_counts counts;

static void setup(void)
{
    rec = calloc(1, sizeof *rec);
    counts = recorder_run_file(rec, FIXTURE, 1735700000);
}

static void teardown(void)
{
    free(rec);
}

START_TEST(pipe_filter_is_a_hop_and_the_pickup_copy_is_its_child)
{
    const struct mail_message *parent = recorder_message_by_qid(rec, "4Pb9Ht2Xgzz9sW6", 0);
    const struct mail_message *child = recorder_message_by_qid(rec, "4Pb9Hv0Kkbz9sW7", 0);

    ck_assert(recorder_delivery(rec, parent->id, "lee@hosted.test")->is_hop);
    ck_assert(!recorder_delivery(rec, child->id, "lee@hosted.test")->is_hop);
    ck_assert_int_eq(child->parent_id, parent->id);
    ck_assert_str_eq(child->parent_queue_id, "4Pb9Ht2Xgzz9sW6");
    ck_assert_str_eq(parent->parent_queue_id, "");
    ck_assert_str_eq(child->client_ip, "192.0.2.50");
    ck_assert_int_eq(child->origin, ORIGIN_REMOTE);
    ck_assert_int_eq(child->local_uid, -1); /* not the filter's uid=1001 */
    /* one real delivery to lee, plus ned (twice: hop + final, the hop not counted) */
    ck_assert_uint_eq(counts.deliveries[DELIVERY_SENT], 2);
}
END_TEST

START_TEST(second_instance_relay_is_a_hop)
{
    const struct mail_message *in = recorder_message_by_qid(rec, "4Pb9J00000z9sW8", 0);
    const struct mail_message *out = recorder_message_by_qid(rec, "4Pb9J11111z9sW9", 0);

    ck_assert(recorder_delivery(rec, in->id, "ned@remote.test")->is_hop);
    ck_assert_int_eq(out->parent_id, in->id);
    ck_assert_str_eq(out->parent_queue_id, "4Pb9J00000z9sW8");
    ck_assert_str_eq(recorder_delivery(rec, out->id, "ned@remote.test")->relay,
                     "mx.remote.test[2001:db8:25::1]:25");
}
END_TEST

START_TEST(rfc3339_offsets_become_utc)
{
    const struct mail_message *parent = recorder_message_by_qid(rec, "4Pb9Ht2Xgzz9sW6", 0);
    const struct mail_message *sev = recorder_message_by_qid(rec, "7F00AA11BB", 0);

    /* 2024-12-31T23:59:59+01:00 = 2024-12-31T22:59:59Z */
    ck_assert_int_eq(parent->first_seen, 1735685999);
    /* 2024-02-14T14:47:24-08:00 = 2024-02-14T22:47:24Z; host column absent */
    ck_assert_int_eq(sev->first_seen, 1707950844);
    ck_assert_str_eq(sev->host, "");
    ck_assert_str_eq(sev->sender, "owen@sev.test");
}
END_TEST

/* The filtered copy's whole life (to `removed`) is logged before the
 * parent's "queued as" line: seen on real Postfix with a fast delivery. */
START_TEST(child_finished_before_the_hop_line_is_still_linked)
{
    struct recorder *r = calloc(1, sizeof *r);
    const struct mail_message *parent, *child, *reuse;

    recorder_run_file(r, "tests/fixtures/parse/hop-after-child-removed.log", 1795602706);
    parent = recorder_message_by_qid(r, "1C0FFEE001", 0);
    child = recorder_message_by_qid(r, "2C0FFEE002", 0);
    reuse = recorder_message_by_qid(r, "2C0FFEE002", 1);
    ck_assert(recorder_delivery(r, parent->id, "rcpt@remote.test")->is_hop);
    ck_assert_int_eq(child->parent_id, parent->id);
    ck_assert_str_eq(child->parent_queue_id, "1C0FFEE001");
    ck_assert_int_eq(child->origin, ORIGIN_SASL);
    ck_assert_str_eq(child->sasl_username, "alice@hosted.test");
    ck_assert(child->closed);
    /* the same id used again later is a new message, not the linked one */
    ck_assert_ptr_nonnull(reuse);
    ck_assert_int_eq(reuse->parent_id, 0);
    ck_assert_str_eq(reuse->parent_queue_id, "");
    ck_assert_str_eq(reuse->sender, "reuse@later.test");
    free(r);
}
END_TEST

/* The filter's "queued as" line comes before the re-injected copy's first
 * line (the link waits for it): the copy still knows its parent and the
 * queue id the sender was given. */
START_TEST(hop_line_before_the_child_is_linked_when_it_comes)
{
    struct recorder *r = calloc(1, sizeof *r);
    const struct mail_message *parent, *child;

    recorder_run_file(r, "tests/fixtures/parse/hop-before-child.log", 1795602706);
    parent = recorder_message_by_qid(r, "3D0FFEE003", 0);
    child = recorder_message_by_qid(r, "4E0FFEE004", 0);
    ck_assert_ptr_nonnull(parent);
    ck_assert_ptr_nonnull(child);
    ck_assert(recorder_delivery(r, parent->id, "bob@hosted.test")->is_hop);
    ck_assert(!recorder_delivery(r, child->id, "bob@hosted.test")->is_hop);
    ck_assert_int_eq(child->parent_id, parent->id);
    ck_assert_str_eq(child->parent_queue_id, "3D0FFEE003");
    /* the copy describes the mail as it arrived: the filter's connection
     * back from localhost, logged after the link, does not replace it */
    ck_assert_str_eq(child->client_ip, "203.0.113.41");
    ck_assert_int_eq(child->origin, ORIGIN_REMOTE);
    free(r);
}
END_TEST

/* A pipe filter run for each of two recipients; the first copy is
 * delivered by Dovecot, whose Sieve redirects it (pickup again, the same
 * Message-ID, another user) before the second run's copy comes back. */
START_TEST(a_sieve_redirect_is_not_a_filter_copy)
{
    struct recorder *r = calloc(1, sizeof *r);
    const struct mail_message *parent, *first, *redirect, *second;

    recorder_run_file(r, "tests/fixtures/parse/pipe-filter-sieve.log", 1795602706);
    parent = recorder_message_by_qid(r, "CF8D51D1C0D", 0);
    first = recorder_message_by_qid(r, "EC6261D1C16", 0);
    redirect = recorder_message_by_qid(r, "4B8771D1C0D", 0);
    second = recorder_message_by_qid(r, "5C9991D1C0E", 0);
    ck_assert_ptr_nonnull(parent);
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(redirect);
    ck_assert_ptr_nonnull(second);
    ck_assert_int_eq(first->parent_id, parent->id);
    ck_assert_int_eq(second->parent_id, parent->id);
    ck_assert_int_eq(second->origin, ORIGIN_REMOTE); /* the parent's: from the internet */
    /* the filter's copies come through pickup as the filter's user (uid=800):
     * they are the parent's mail, which no local user sent */
    ck_assert_int_eq(first->local_uid, -1);
    ck_assert_int_eq(second->local_uid, -1);
    ck_assert_int_eq(redirect->parent_id, 0);
    ck_assert_int_eq(redirect->origin, ORIGIN_LOCAL);
    ck_assert_int_eq(redirect->local_uid, 1000); /* Sieve's redirect, as the mailbox's user */
    free(r);
}
END_TEST

Suite *suite_track_reinjection(void);
Suite *suite_track_reinjection(void)
{
    Suite *s = suite_create("track/reinjection");
    TCase *tc = tcase_create("fixture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pipe_filter_is_a_hop_and_the_pickup_copy_is_its_child);
    tcase_add_test(tc, second_instance_relay_is_a_hop);
    tcase_add_test(tc, rfc3339_offsets_become_utc);
    tcase_add_test(tc, child_finished_before_the_hop_line_is_still_linked);
    tcase_add_test(tc, hop_line_before_the_child_is_linked_when_it_comes);
    tcase_add_test(tc, a_sieve_redirect_is_not_a_filter_copy);
    suite_add_tcase(s, tc);
    return s;
}
