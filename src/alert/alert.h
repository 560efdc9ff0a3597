/*
 * alert.h — suspicious-login reports and forced password changes
 * (DESIGN.md §7), run hourly by `maillog alerts`.
 *
 * For each domain with notify on (and at least one usual country), every
 * complete hour of the last ALERT_CATCHUP_HOURS (from the hour notify was
 * switched on) that has no report row yet is examined: successful logins (imap, pop3, smtp,
 * submission, managesieve) of the domain's mailboxes from a country that is not usual for the
 * domain, from an IP neither in the server's excluded_ips nor the domain's ip_exceptions (CIDR).
 * Logins from local addresses are never flagged; a login the ingest stored without a country gets
 * one from this run's GeoIP database, and with none it is not judged (said, exit status 1; an
 * hour with nothing else to report stays unsettled for a later run). Failed logins from
 * unusual countries are grouped per IP; an IP with ALERT_BURST_MIN or more failures in the hour is
 * a burst and is listed in the report (bursts alone also cause a report). Hours are the
 * server's clock hours (alert_hour_start: local time, also in half-hour time zones; an hour
 * partly covered by a row of another alignment, from before the upgrade that brought this, is
 * taken as examined). An hour is complete
 * ALERT_GRACE_S seconds after its end, so a run at 10:09 covers 9:00-10:00, and once an ingest that
 * started after its end has read every log to the end (the read mark, store_read_mark_get): an hour
 * the ingest has not read yet waits for it rather than being judged quiet.
 *
 * One mail per domain and hour goes to the domain owner (domains.owner_email).
 * With force_password_change, every mailbox with a suspicious successful
 * login gets a new password, listed in that report (unless the owner's
 * address is one of those mailboxes: then none is shown, since the intruder
 * may read the report), and set only after the SMTP server accepted the
 * report; a command killed before it exits leaves the change "unsure". When one
 * run reports several hours of a domain (after missed runs), the newest hour
 * goes first and a mailbox gets one new password per run, in the newest
 * report that lists it.
 *
 * Exactly once. alert_reports(domain, hour_start).state:
 *   none     examined, nothing to report
 *   pending  to be sent (again): not yet accepted by the SMTP server; retried
 *            every run (while notify is on) until ALERT_RETRY_HOURS after its
 *            hour, then `failed` (notify on or off). last_error says why the
 *            last attempt failed; "" while an attempt is under way
 *   sending  the whole mail was handed over and the end-of-data marker is on
 *            its way: the outcome is known one reply later. Found by a later
 *            run, the previous one died in that instant; the mail is taken as
 *            delivered (never sent twice) and becomes `sent`
 *   sent     accepted by the SMTP server
 *   failed   gave up (last_error says why)
 * password_changes(domain, hour_start, mailbox).state:
 *   pending  generated, in the report being sent; the password exists only
 *            in the running process's memory
 *   changing the report was accepted and the command is being run
 *   changed  the command succeeded: the password in the report is in force
 *   failed / abandoned / unsure   a notice is owed to the owner: the command
 *            failed; or the run died before the command ran (the password
 *            was lost with it); or it died while the command ran
 *   failed_notified / abandoned_notified / unsure_notified   notice accepted
 *   failed_unnotified / …   the notice was not accepted for ALERT_RETRY_HOURS
 * Order for one report: generate → record pending → send (accepted) → record
 * sent → per mailbox: record changing → run command → record changed/failed
 * → notice for anything not changed. A password is never set unless the
 * report carrying it was accepted; a report that was accepted is never sent
 * again; a report that was not accepted is sent again (with new passwords)
 * on the next run. A server that takes the data but never answers has not
 * accepted it: the report is sent again, with new passwords (the owner may
 * then hold two reports; the newer one's passwords are the ones set, and the
 * report says the newest counts). Overlapping runs are excluded with a lock file beside
 * the database.
 */
#ifndef MAILLOG_ALERT_ALERT_H
#define MAILLOG_ALERT_ALERT_H

#include "store/store.h"
#include "util/config.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>

#define ALERT_CATCHUP_HOURS 24  /* how far back never-examined hours are caught up */
#define ALERT_RETRY_HOURS 168   /* how long an unsent report is retried */
#define ALERT_GRACE_S 300       /* an hour is complete 5 minutes after its end */
#define ALERT_BURST_MIN 5       /* failures from one IP in an hour that make a burst */
#define ALERT_LOGINS_MAX 500    /* logins listed in one report (the rest counted) */
#define ALERT_BURSTS_MAX 200    /* failure IPs listed in one report */
#define ALERT_MAILBOXES_MAX 100 /* password changes in one report */

/* Test hooks: the run kills itself (SIGKILL) at that point, so tests can check
 * recovery from a crash between two steps. */
enum alert_crash {
    ALERT_CRASH_NONE = 0,
    ALERT_CRASH_BEFORE_SEND,   /* report recorded pending, nothing sent */
    ALERT_CRASH_BEFORE_END,    /* whole mail handed over, end-of-data not sent */
    ALERT_CRASH_AFTER_ACCEPT,  /* SMTP server accepted, not yet recorded */
    ALERT_CRASH_AFTER_SENT,    /* recorded sent, no password command run */
    ALERT_CRASH_AFTER_COMMAND, /* command ran for the first mailbox, not recorded */
};

/* Parses a MAILLOG_TEST_CRASH value ("before-send", "before-end",
 * "after-accept", "after-sent", "after-command"); -1 for anything else. */
int alert_crash_from_name(const char *name);

/* Called for each problem the run records and carries on after (a report
 * or notice not accepted, a password command that failed): the caller
 * decides how to show it. text is one line, without the password. */
typedef void (*alert_problem_fn)(void *ctx, const char *text);

struct alert_options {
    int64_t now;              /* the run's clock: time(NULL), or --now */
    alert_problem_fn problem; /* may be NULL */
    void *problem_ctx;
    int command_timeout_s;  /* per password command; 0 = PASSWORD_TIMEOUT_S */
    enum alert_crash crash; /* tests only */
};

struct alert_summary {
    int hours_examined;
    int reports_sent;
    int reports_unsent; /* SMTP or address problems: retried next run */
    int passwords_changed;
    int passwords_failed; /* command failed (a notice is owed or was sent) */
    int notices_sent;
    int recovered;   /* rows of an interrupted earlier run settled */
    int unjudged;    /* logins without a country, and no GeoIP database to give one */
    int domains;     /* domains with notify on */
    int64_t read_to; /* the read mark (store_read_mark_get), 0 never */
    bool log_behind; /* the last complete hour waits for the ingest to read it */
};

/* One run (see above). -1 with e set only for database/lock failures; mail
 * and command failures are recorded, counted in sum and retried/notified. */
int alert_run(const struct config *cfg, struct store *st, const struct alert_options *o,
              struct alert_summary *sum, struct err *e);

/* Sends a sample report (clearly marked as a test, fictitious data, no
 * password changed) to `to` through the configured SMTP server, so an admin
 * can check the mail path. 0 when the server accepted it. Used by
 * `maillog alerts --test-report --to ADDR` and POST /v1/alerts/test. */
int alert_send_test(const struct config *cfg, const char *to, struct err *e);

#endif
