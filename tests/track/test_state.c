/*
 * test_state.c — src/track/state.c: the links a run saves for the next one.
 *
 * A fixture read in two runs, cut after every line (a new tracker for the
 * second part, given the first one's saved state), must give the records
 * one run gives. Saved bytes that are cut short, damaged or of another
 * version are refused whole and leave a tracker as new.
 */
#include "recorder.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINES_MAX 256

struct fixture_lines {
    char *line[LINES_MAX];
    size_t count;
};

static void read_lines(const char *path, struct fixture_lines *fl)
{
    char full[4096], buf[8192];
    const char *dir = getenv("MAILLOG_SRCDIR");
    FILE *f;

    snprintf(full, sizeof full, "%s/%s", dir ? dir : ".", path);
    f = fopen(full, "r");
    ck_assert_msg(f != NULL, "cannot open %s", full);
    fl->count = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        ck_assert_uint_lt(fl->count, LINES_MAX);
        buf[strcspn(buf, "\n")] = '\0';
        fl->line[fl->count++] = strdup(buf);
    }
    fclose(f);
}

static void free_lines(struct fixture_lines *fl)
{
    for (size_t i = 0; i < fl->count; i++)
        free(fl->line[i]);
}

/* As the store does it: every deferral of m, stored by any run, expires.
 * (Without it the expiry would depend on the tracker's own copies, which
 * are not part of the saved state.) */
static int expire_deferred(void *ctx, const struct mail_message *m, int64_t time, struct err *e)
{
    struct recorder *r = ctx;
    int n = 0;

    (void)e;
    for (size_t i = 0; i < r->delivery_count; i++) {
        struct mail_delivery *d = &r->deliveries[i];
        if (d->message_id == m->id && d->status == DELIVERY_DEFERRED && !d->is_hop) {
            d->status = DELIVERY_EXPIRED;
            d->time = time;
            d->attempts++;
            n++;
        }
    }
    return n;
}

/* Lines [from, to) in one run of a new tracker writing to r, which starts
 * from r's saved state when restore is set. The run's own counts never
 * wrap below zero (a run cannot take back what an earlier one counted). */
static void run_part(struct recorder *r, const struct fixture_lines *fl, size_t from, size_t to,
                     bool restore, int64_t reference)
{
    const struct track_counts *c;
    struct track_sink sink = recorder_sink(r);
    struct tracker *t;
    struct err e;

    sink.expire_deferred = expire_deferred;
    t = track_new(&sink);
    ck_assert_ptr_nonnull(t);
    if (restore)
        ck_assert_msg(track_restore(t, r->state, r->state_len, &e) == 0, "restore: %s", e.text);
    track_set_reference_time(t, reference);
    for (size_t i = from; i < to; i++)
        ck_assert_msg(track_line(t, fl->line[i], strlen(fl->line[i]), &e) == 0, "%s", e.text);
    ck_assert_msg(track_flush(t, &e) == 0, "flush: %s", e.text);
    c = track_counts(t);
    for (int s = 0; s < DELIVERY_STATUS_COUNT; s++)
        ck_assert_uint_le(c->deliveries[s], c->lines);
    ck_assert_uint_le(c->hops, c->lines);
    track_free(t);
}

/* What the tabs show of r, one line per record, into buf. */
static void describe(const struct recorder *r, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < r->message_count; i++) {
        const struct mail_message *m = &r->messages[i];
        used += (size_t)snprintf(buf + used, size - used, "M %s %s %s %s %d %lld %d\n", m->queue_id,
                                 m->client_ip, m->sasl_username, m->sender, m->origin,
                                 (long long)m->parent_id, m->closed);
        ck_assert_uint_lt(used, size);
    }
    for (size_t i = 0; i < r->delivery_count; i++) {
        const struct mail_delivery *d = &r->deliveries[i];
        used += (size_t)snprintf(buf + used, size - used, "D %lld %s %d %d %d\n",
                                 (long long)d->message_id, d->recipient, d->status, d->attempts,
                                 d->is_hop);
        ck_assert_uint_lt(used, size);
    }
    for (size_t i = 0; i < r->access_count; i++) {
        used += (size_t)snprintf(buf + used, size - used, "A %s %s\n", r->access[i].user,
                                 r->access[i].ip);
        ck_assert_uint_lt(used, size);
    }
}

/* path read in one run, and in two cut after each line, give the same
 * records; first, when not NULL, is a line put before the file's. */
static void two_runs_equal_one_after(const char *first, const char *path, int64_t reference)
{
    struct fixture_lines fl;
    struct recorder *one = calloc(1, sizeof *one), *two = calloc(1, sizeof *two);
    static char want[1 << 16], got[1 << 16];

    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(two);
    read_lines(path, &fl);
    if (first != NULL) {
        ck_assert_uint_lt(fl.count, LINES_MAX);
        memmove(fl.line + 1, fl.line, fl.count * sizeof fl.line[0]);
        fl.line[0] = strdup(first);
        fl.count++;
    }
    run_part(one, &fl, 0, fl.count, false, reference);
    describe(one, want, sizeof want);
    ck_assert_uint_gt(one->message_count, 1);
    for (size_t cut = 1; cut < fl.count; cut++) {
        memset(two, 0, sizeof *two);
        run_part(two, &fl, 0, cut, false, reference);
        run_part(two, &fl, cut, fl.count, true, reference);
        describe(two, got, sizeof got);
        ck_assert_msg(strcmp(want, got) == 0, "%s cut after line %zu:\n%s\n-- one run:\n%s", path,
                      cut, got, want);
    }
    free_lines(&fl);
    free(one);
    free(two);
}

static void two_runs_equal_one(const char *path, int64_t reference)
{
    two_runs_equal_one_after(NULL, path, reference);
}

START_TEST(a_filter_copy_named_before_its_first_line)
{
    two_runs_equal_one("tests/fixtures/parse/hop-before-child.log", 1795602706);
}
END_TEST

START_TEST(pipe_filter_copies_and_a_sieve_redirect)
{
    two_runs_equal_one("tests/fixtures/parse/pipe-filter-sieve.log", 1795602706);
}
END_TEST

START_TEST(pipe_filter_and_second_instance)
{
    two_runs_equal_one("tests/fixtures/parse/rfc3339-pipe-filter.log", 1735700000);
}
END_TEST

START_TEST(one_smtp_auth_connection_is_one_login)
{
    two_runs_equal_one("tests/fixtures/ingest/split-edges.log", 1764100000);
}
END_TEST

/* A host whose clock is a year ahead logs one line: the links between the
 * other lines still hold across the run's end. */
START_TEST(a_line_stamped_in_the_future_keeps_the_links)
{
    two_runs_equal_one_after("2027-06-01T00:00:00+00:00 clock postfix/qmgr[9]: 0A0A0A0A0A: removed",
                             "tests/fixtures/parse/hop-before-child.log", 1795602706);
    two_runs_equal_one_after("2027-06-01T00:00:00+00:00 clock postfix/qmgr[9]: 0A0A0A0A0A: removed",
                             "tests/fixtures/parse/pipe-filter-sieve.log", 1795602706);
}
END_TEST

/* The night summer time ends, a run ends in the first pass of the repeated
 * hour and the next starts in its second: the next run's stamps are the
 * second pass (an hour later in UTC), not read as the first again. */
START_TEST(the_repeated_hour_across_two_runs)
{
    struct recorder *r = calloc(1, sizeof *r);
    struct fixture_lines fl;

    ck_assert_ptr_nonnull(r);
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    fl.count = 2;
    fl.line[0] = strdup("Oct 27 02:50:00 mx postfix/smtpd[5]: AAAA000001: client=a[198.51.100.1]");
    fl.line[1] = strdup("Oct 27 02:10:00 mx postfix/smtpd[6]: BBBB000002: client=b[198.51.100.2]");
    run_part(r, &fl, 0, 1, false, 1730073600);
    run_part(r, &fl, 1, 2, true, 1730073600);
    ck_assert_int_eq(recorder_message_by_qid(r, "AAAA000001", 0)->first_seen,
                     1729990200); /* 00:50 UTC, summer time */
    ck_assert_int_eq(recorder_message_by_qid(r, "BBBB000002", 0)->first_seen,
                     1729991400); /* 01:10 UTC, the second 02:10 */
    free_lines(&fl);
    setenv("TZ", "UTC", 1);
    tzset();
    free(r);
}
END_TEST

/* The state the first lines of the sieve fixture leave: links of every kind. */
static void saved_state(struct recorder *r)
{
    struct fixture_lines fl;

    read_lines("tests/fixtures/parse/pipe-filter-sieve.log", &fl);
    run_part(r, &fl, 0, fl.count / 2, false, 1795602706);
    free_lines(&fl);
    ck_assert_uint_gt(r->state_len, 64);
}

static int restore_fresh(struct recorder *r, const unsigned char *data, size_t len,
                         size_t *open_after)
{
    struct track_sink sink = recorder_sink(r);
    struct tracker *t = track_new(&sink);
    struct err e;
    int rc;

    ck_assert_ptr_nonnull(t);
    rc = track_restore(t, data, len, &e);
    *open_after = track_open_count(t);
    track_free(t);
    return rc;
}

START_TEST(cut_short_or_too_long_is_refused_whole)
{
    struct recorder *r = calloc(1, sizeof *r);
    unsigned char *copy;
    size_t open_after;

    ck_assert_ptr_nonnull(r);
    saved_state(r);
    copy = malloc(r->state_len + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, r->state, r->state_len);
    ck_assert_int_eq(restore_fresh(r, copy, r->state_len, &open_after), 0);
    ck_assert_uint_gt(open_after, 0); /* the messages the links name came back */
    for (size_t len = 0; len < r->state_len; len++) {
        ck_assert_int_eq(restore_fresh(r, copy, len, &open_after), 1);
        ck_assert_uint_eq(open_after, 0);
    }
    copy[r->state_len] = 0;
    ck_assert_int_eq(restore_fresh(r, copy, r->state_len + 1, &open_after), 1);
    ck_assert_uint_eq(open_after, 0);
    free(copy);
    free(r);
}
END_TEST

START_TEST(another_version_or_damaged_bytes_are_refused)
{
    struct recorder *r = calloc(1, sizeof *r);
    unsigned char *copy;
    size_t open_after;

    ck_assert_ptr_nonnull(r);
    saved_state(r);
    copy = malloc(r->state_len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, r->state, r->state_len);
    copy[8] ^= 0x02; /* the version */
    ck_assert_int_eq(restore_fresh(r, copy, r->state_len, &open_after), 1);
    ck_assert_uint_eq(open_after, 0);
    /* Any byte set to 0xff: refused, or read as other values in range;
     * never read past the end (the sanitizers watch). */
    for (size_t i = 0; i < r->state_len; i++) {
        int rc;
        memcpy(copy, r->state, r->state_len);
        copy[i] = 0xff;
        rc = restore_fresh(r, copy, r->state_len, &open_after);
        ck_assert_int_ge(rc, 0);
        if (rc == 1)
            ck_assert_uint_eq(open_after, 0);
    }
    free(copy);
    free(r);
}
END_TEST

/* A message listed twice in the bytes comes back once: two entries for one
 * queue ID would each be linked and stored. */
START_TEST(a_message_listed_twice_comes_back_once)
{
    struct recorder *r = calloc(1, sizeof *r);
    struct fixture_lines fl;
    unsigned char *twice;
    size_t open_after, head, entry = 13 * 8; /* a message's entry without filter names */

    ck_assert_ptr_nonnull(r);
    read_lines("tests/fixtures/parse/lifecycle.log", &fl);
    run_part(r, &fl, 0, 2, false, 1732543200); /* one message in memory */
    free_lines(&fl);
    ck_assert_int_eq(restore_fresh(r, r->state, r->state_len, &open_after), 0);
    ck_assert_uint_eq(open_after, 1);
    /* the bytes end with the message count (1) and its entry */
    head = r->state_len - entry - 8;
    ck_assert_uint_eq(r->state[head], 1);
    twice = malloc(r->state_len + entry);
    ck_assert_ptr_nonnull(twice);
    memcpy(twice, r->state, r->state_len);
    twice[head] = 2;
    memcpy(twice + r->state_len, r->state + head + 8, entry);
    ck_assert_int_eq(restore_fresh(r, twice, r->state_len + entry, &open_after), 0);
    ck_assert_uint_eq(open_after, 1);
    free(twice);
    free(r);
}
END_TEST

/* A sink that has none of the messages (all purged since), and leaves its
 * output as it found it: garbage here, without a NUL anywhere. */
static int load_none(void *ctx, int64_t id, struct mail_message *m, struct err *e)
{
    (void)ctx, (void)id, (void)e;
    memset(m, 'A', sizeof *m);
    return 0;
}

START_TEST(messages_purged_since_are_skipped)
{
    struct recorder *r = calloc(1, sizeof *r);
    struct track_sink sink;
    struct tracker *t;
    struct err e;

    ck_assert_ptr_nonnull(r);
    saved_state(r);
    sink = recorder_sink(r);
    sink.load_message = load_none;
    t = track_new(&sink);
    ck_assert_int_eq(track_restore(t, r->state, r->state_len, &e), 0);
    ck_assert_uint_eq(track_open_count(t), 0);
    track_free(t);
    free(r);
}
END_TEST

START_TEST(restore_after_the_first_line_is_an_error)
{
    struct recorder *r = calloc(1, sizeof *r);
    struct track_sink sink;
    struct tracker *t;
    struct err e;
    const char *line = "Nov 25 10:00:00 vm postfix/qmgr[702]: 5A1000000A: removed";

    ck_assert_ptr_nonnull(r);
    saved_state(r);
    sink = recorder_sink(r);
    t = track_new(&sink);
    ck_assert_int_eq(track_line(t, line, strlen(line), &e), 0);
    ck_assert_int_eq(track_restore(t, r->state, r->state_len, &e), -1);
    track_free(t);
    free(r);
}
END_TEST

Suite *suite_track_state(void);
Suite *suite_track_state(void)
{
    Suite *s = suite_create("track/state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_filter_copy_named_before_its_first_line);
    tcase_add_test(tc, pipe_filter_copies_and_a_sieve_redirect);
    tcase_add_test(tc, pipe_filter_and_second_instance);
    tcase_add_test(tc, one_smtp_auth_connection_is_one_login);
    tcase_add_test(tc, a_line_stamped_in_the_future_keeps_the_links);
    tcase_add_test(tc, the_repeated_hour_across_two_runs);
    tcase_add_test(tc, a_message_listed_twice_comes_back_once);
    tcase_add_test(tc, messages_purged_since_are_skipped);
    tcase_add_test(tc, cut_short_or_too_long_is_refused_whole);
    tcase_add_test(tc, another_version_or_damaged_bytes_are_refused);
    tcase_add_test(tc, restore_after_the_first_line_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
