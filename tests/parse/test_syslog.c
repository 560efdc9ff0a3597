/*
 * test_syslog.c — the line header: timestamps (classic with year inference,
 * RFC3339, RFC 5424, TAI64N), host/severity columns, program names and pids.
 */
#include "parse/syslog.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct syslog_header h;

static int parse(struct syslog_clock *clock, const char *line)
{
    memset(&h, 0, sizeof h);
    return syslog_parse(clock, line, strlen(line), &h);
}

static void setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

START_TEST(classic_year_from_reference)
{
    struct syslog_clock clock;
    /* reference 2024-03-01 00:00 UTC */
    syslog_clock_init(&clock, 1709251200);
    ck_assert_int_eq(parse(&clock, "Feb 29 23:59:59 mx postfix/qmgr[1]: x"), 0);
    ck_assert_int_eq(h.time, 1709251199); /* 2024 is a leap year */
}
END_TEST

START_TEST(classic_december_read_in_january)
{
    struct syslog_clock clock;
    /* reference 2025-01-01 00:30 UTC: a "Dec 31" line is from 2024 */
    syslog_clock_init(&clock, 1735691400);
    ck_assert_int_eq(parse(&clock, "Dec 31 23:59:00 mx dovecot: imap-login: x"), 0);
    ck_assert_int_eq(h.time, 1735689540);
    /* and a "Jan  1" line from the same file is 2025 */
    ck_assert_int_eq(parse(&clock, "Jan  1 00:01:00 mx dovecot: imap-login: x"), 0);
    ck_assert_int_eq(h.time, 1735689660);
}
END_TEST

START_TEST(classic_local_time_zone)
{
    struct syslog_clock clock;
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    syslog_clock_init(&clock, 1719792000); /* 2024-07-01 */
    ck_assert_int_eq(parse(&clock, "Jun 30 12:00:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1719741600); /* 10:00 UTC in summer time */
    setenv("TZ", "UTC", 1);
    tzset();
}
END_TEST

/* The night summer time ends, 02:00-03:00 local happens twice: lines of
 * the second pass are an hour later in UTC, also when one run reads both.
 * (A POSIX TZ string: no time zone database needed.) */
START_TEST(classic_repeated_hour_when_summer_time_ends)
{
    struct syslog_clock clock;
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    syslog_clock_init(&clock, 1730073600); /* 2024-10-28 00:00 UTC */
    ck_assert_int_eq(parse(&clock, "Oct 27 01:59:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729987140); /* 23:59 UTC the day before, summer time */
    ck_assert_int_eq(parse(&clock, "Oct 27 02:30:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729989000); /* 00:30 UTC: the first 02:30 */
    ck_assert_int_eq(parse(&clock, "Oct 27 02:59:59 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729990799);
    ck_assert_int_eq(parse(&clock, "Oct 27 02:59:58 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729990798); /* a second out of order: still the first pass */
    ck_assert_int_eq(parse(&clock, "Oct 27 02:00:05 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729990805); /* 01:00:05 UTC: the clock went back */
    ck_assert_int_eq(parse(&clock, "Oct 27 02:30:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729992600); /* the second 02:30 */
    ck_assert_int_eq(parse(&clock, "Oct 27 03:00:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729994400); /* 02:00 UTC, winter time */
    /* a relay whose clock is minutes behind, in the first pass: not the
     * clock going back */
    syslog_clock_init(&clock, 1730073600);
    ck_assert_int_eq(parse(&clock, "Oct 27 02:30:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(parse(&clock, "Oct 27 02:27:00 relay postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729988820); /* 00:27 UTC */
    ck_assert_int_eq(parse(&clock, "Oct 27 02:31:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729989060);
    /* a run that starts in the second pass, with nothing before: the first */
    syslog_clock_init(&clock, 1730073600);
    ck_assert_int_eq(parse(&clock, "Oct 27 02:10:00 mx postfix/smtpd[2]: x"), 0);
    ck_assert_int_eq(h.time, 1729987800);
    setenv("TZ", "UTC", 1);
    tzset();
}
END_TEST

START_TEST(classic_day_padding_variants)
{
    struct syslog_clock clock;
    syslog_clock_init(&clock, 1717200000); /* 2024-06-01 */
    ck_assert_int_eq(parse(&clock, "May  5 00:00:03 mail dovecot: x"), 0);
    int64_t padded = h.time;
    ck_assert_int_eq(parse(&clock, "May 05 00:00:03 mail dovecot: x"), 0);
    ck_assert_int_eq(h.time, padded);
    ck_assert_int_eq(parse(&clock, "May 5 00:00:03 mail dovecot: x"), 0);
    ck_assert_int_eq(h.time, padded);
}
END_TEST

START_TEST(rfc3339_offsets_fractions_and_z)
{
    struct syslog_clock clock;
    syslog_clock_init(&clock, 0);
    ck_assert_int_eq(
        parse(&clock, "2023-03-14T00:00:31.185246+01:00 helga postfix/smtpd[297535]: m"), 0);
    ck_assert_int_eq(h.time, 1678748431);
    ck_assert(slice_eq(h.host, "helga"));
    /* same hour again: served from the per-hour cache, must agree */
    ck_assert_int_eq(parse(&clock, "2023-03-14T00:59:59.000001+01:00 helga postfix/smtpd[1]: m"),
                     0);
    ck_assert_int_eq(h.time, 1678751999);
    ck_assert_int_eq(parse(&clock, "2022-04-14T00:36:03.150Z host sshd[1]: m"), 0);
    ck_assert_int_eq(h.time, 1649896563);
    ck_assert_int_eq(parse(&clock, "2024-02-14T14:47:24-0800 host x: m"), 0);
    ck_assert_int_eq(h.time, 1707950844);
}
END_TEST

/* rsyslog's RSYSLOG_SyslogProtocol23Format (RFC 5424). */
START_TEST(rfc5424_lines)
{
    struct syslog_clock clock;
    syslog_clock_init(&clock, 0);
    ck_assert_int_eq(
        parse(
            &clock,
            "<22>1 2023-03-14T00:00:31.185246+01:00 helga postfix/smtpd 297535 - - connect from x"),
        0);
    ck_assert_int_eq(h.time, 1678748431);
    ck_assert(slice_eq(h.host, "helga"));
    ck_assert(slice_eq(h.daemon, "smtpd"));
    ck_assert(slice_eq(h.syslog_name, "postfix"));
    ck_assert_int_eq(h.pid, 297535);
    ck_assert(slice_eq(h.message, "connect from x"));

    /* structured data, with an escaped ']' in a value; no pid */
    ck_assert_int_eq(parse(&clock, "<30>1 2022-04-14T00:36:03.150Z mx dovecot - - [meta seq=\"1\" "
                                   "n=\"a \\] b\"][x y=\"2\"] imap-login: Login"),
                     0);
    ck_assert_int_eq(h.time, 1649896563);
    ck_assert(slice_eq(h.program, "dovecot"));
    ck_assert_int_eq(h.pid, -1);
    ck_assert(slice_eq(h.message, "imap-login: Login"));

    /* no host, a BOM before the message */
    ck_assert_int_eq(
        parse(&clock, "<22>1 2022-04-14T00:36:03Z - postfix/qmgr 3 ID47 - \xEF\xBB\xBFm"), 0);
    ck_assert_uint_eq(h.host.len, 0);
    ck_assert(slice_eq(h.daemon, "qmgr"));
    ck_assert(slice_eq(h.message, "m"));

    static const char *const bad[] = {
        "<22>2 2022-04-14T00:36:03Z h p 1 - - m",      /* another version */
        "<22>1 2022-04-14T00:36:03Z h - 1 - - m",      /* no program */
        "<22>1 2022-04-14T00:36:03Z h p 1 - [x y=\"]", /* structured data never ends */
        "<>1 2022-04-14T00:36:03Z h p 1 - - m",
        "<22>1 yesterday h p 1 - - m",
        "<22>1 2022-04-14T00:36:03Z h p",
        "<2222>1 2022-04-14T00:36:03Z h p 1 - - m",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(&clock, bad[i]) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(tai64n)
{
    struct syslog_clock clock;
    syslog_clock_init(&clock, 0);
    ck_assert_int_eq(parse(&clock, "@400000004c91b044077a9e94 imap-login: Info: x"), 0);
    ck_assert_int_eq(h.time, 0x4c91b044 - 10);
    ck_assert(slice_eq(h.program, "imap-login"));
}
END_TEST

START_TEST(programs_and_pids)
{
    struct syslog_clock clock;
    syslog_clock_init(&clock, 1717200000);
    ck_assert_int_eq(parse(&clock, "Jun 1 10:00:00 mx postfix/submission/smtpd[42]: hello"), 0);
    ck_assert(slice_eq(h.program, "postfix/submission/smtpd"));
    ck_assert(slice_eq(h.daemon, "smtpd"));
    ck_assert(slice_eq(h.syslog_name, "postfix/submission"));
    ck_assert_int_eq(h.pid, 42);
    ck_assert(slice_eq(h.message, "hello"));

    ck_assert_int_eq(parse(&clock, "Jun 1 10:00:00 mx /usr/lib64/plesk-9.0/psa-pc-remote[7]: PASS"),
                     0);
    ck_assert(slice_eq(h.daemon, "psa-pc-remote"));

    ck_assert_int_eq(parse(&clock, "Jun 1 10:00:00 mx dovecot: imap-login: Login"), 0);
    ck_assert_int_eq(h.pid, -1);
    ck_assert(slice_eq(h.message, "imap-login: Login"));

    /* empty host field (double space) */
    ck_assert_int_eq(parse(&clock, "Aug 30 12:00:00  dovecot: last message repeated 2 times"), 0);
    ck_assert_uint_eq(h.host.len, 0);
    ck_assert(slice_eq(h.program, "dovecot"));

    /* facility.severity column before the host */
    ck_assert_int_eq(parse(&clock, "2024-02-14T14:47:25-08:00 mail.info mx postfix/qmgr[3]: m"), 0);
    ck_assert(slice_eq(h.host, "mx"));
    ck_assert(slice_eq(h.daemon, "qmgr"));

    /* Dovecot's own log: a '/' inside the session id is not a path */
    ck_assert_int_eq(parse(&clock, "Jun 14 12:01:53 lda(u@d)<7><bv/2Dio8s>: Info: saved"), 0);
    ck_assert(slice_eq(h.daemon, "lda(u@d)<7><bv/2Dio8s>"));
}
END_TEST

START_TEST(garbage_is_refused)
{
    struct syslog_clock clock;
    static const char *const bad[] = {"",
                                      "x",
                                      "Foo 12 10:00:00 h p: m",
                                      "Jun 1 25:00:00 h p: m",
                                      "Jun 1 10:00:00",
                                      "Jun 1 10:00:00 host",
                                      "2024-13-01T00:00:00Z h p: m",
                                      "@4000",
                                      "ir/)",
                                      "Jun 32 10:00:00 h p: m"};
    syslog_clock_init(&clock, 1717200000);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(&clock, bad[i]) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(days_from_civil)
{
    ck_assert_int_eq(syslog_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(syslog_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(syslog_days_from_civil(2024, 2, 29), 19782);
}
END_TEST

Suite *suite_parse_syslog(void);
Suite *suite_parse_syslog(void)
{
    Suite *s = suite_create("parse/syslog");
    TCase *tc = tcase_create("header");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, classic_year_from_reference);
    tcase_add_test(tc, classic_december_read_in_january);
    tcase_add_test(tc, classic_local_time_zone);
    tcase_add_test(tc, classic_repeated_hour_when_summer_time_ends);
    tcase_add_test(tc, classic_day_padding_variants);
    tcase_add_test(tc, rfc3339_offsets_fractions_and_z);
    tcase_add_test(tc, rfc5424_lines);
    tcase_add_test(tc, tai64n);
    tcase_add_test(tc, programs_and_pids);
    tcase_add_test(tc, garbage_is_refused);
    tcase_add_test(tc, days_from_civil);
    suite_add_tcase(s, tc);
    return s;
}
