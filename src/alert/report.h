/*
 * report.h — what an alert mail says: the findings of one domain and hour
 * (suspicious logins, failure bursts, new passwords) and their rendering as
 * subject, plain text and HTML; the notice mail for password changes that
 * did not happen; and the sample report for the "send test report" action.
 *
 * Every string in the findings came from a log (untrusted): rendering cleans
 * it (valid UTF-8, no control characters) and escapes it for HTML. Times are
 * shown in the server's local time zone (TZ) with its abbreviation.
 */
#ifndef MAILLOG_ALERT_REPORT_H
#define MAILLOG_ALERT_REPORT_H

#include "alert/alert.h"
#include "alert/mailmsg.h"
#include "alert/password.h"
#include "store/query.h"
#include "track/record.h"

#include <stdbool.h>
#include <stdint.h>

struct alert_login {
    int64_t time;
    char mailbox[RECORD_ADDR_MAX];
    char ip[RECORD_IP_MAX];
    char country[3];
    int protocol; /* enum access_protocol */
};

struct alert_burst {
    char ip[RECORD_IP_MAX];
    char country[3];
    int failures;
    int64_t first, last;
    char mailbox[RECORD_ADDR_MAX]; /* one of the mailboxes tried */
    int mailboxes;                 /* distinct mailboxes tried */
};

struct alert_password {
    char mailbox[RECORD_ADDR_MAX];
    char password[PASSWORD_LEN + 1]; /* wiped as soon as it is not needed */
    char state[24];                  /* for notices: failed, abandoned, unsure */
    bool withheld; /* the report goes to this very mailbox: the new password is not in it */
};

struct alert_findings {
    char domain[256];
    char host[256]; /* this server's name, for the signature */
    int64_t hour_start;
    bool test;                             /* the sample report: says so everywhere */
    char usual[SETTINGS_COUNTRIES_MAX][3]; /* the domain's usual countries */
    int usual_count;
    struct alert_login logins[ALERT_LOGINS_MAX];
    int login_count;  /* listed */
    int logins_total; /* found */
    struct alert_burst bursts[ALERT_BURSTS_MAX];
    int burst_count;
    int bursts_total;
    struct alert_password passwords[ALERT_MAILBOXES_MAX];
    int password_count;
    int passwords_over; /* logins of mailboxes past ALERT_MAILBOXES_MAX: not changed, said so */
};

/* The start of the server's clock hour that contains t (local time, so a
 * report at 10:09 is about 9:00-10:00 also where the offset from UTC is not
 * a whole number of hours). Reports are about these hours. */
int64_t alert_hour_start(int64_t t);

/* The report: subject (clean UTF-8) into subject[size], bodies into text and
 * html (appended). */
void report_render(const struct alert_findings *f, char *subject, size_t size, struct mbuf *text,
                   struct mbuf *html);

/* The notice for f->passwords (their state says what happened; no
 * password is shown). */
void notice_render(const struct alert_findings *f, char *subject, size_t size, struct mbuf *text,
                   struct mbuf *html);

/* Fills f with a fictitious sample (documentation addresses) for now. */
void report_sample(struct alert_findings *f, int64_t now);

#endif
