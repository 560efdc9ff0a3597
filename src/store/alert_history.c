/*
 * alert_history.c — what the hourly alert run did, read back for people
 * (see query.h): a domain's recent suspicious-login reports with their
 * password changes, and the admin's count of what went wrong.
 *
 * Also the admin's table of every domain's notification setup
 * (store_alert_domains).
 *
 * Only reads. The rows are written by src/alert/alert.c, whose header
 * (alert.h) defines the states; rows in state `none` (an hour examined with
 * nothing to report) are not history anyone needs and are skipped. The
 * purge keeps these rows at least STORE_ALERT_KEEP_HOURS, so "recent" here
 * is the last nine days or more.
 */
#include "store/query.h"

#include "store/store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills r's password changes (up to ALERT_HISTORY_PASSWORDS, by mailbox)
 * and their total. */
static int history_passwords(struct store *s, sqlite3_stmt *st, const char *domain,
                             struct alert_history_report *r, struct err *e)
{
    int rc;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->hour_start);
    r->password_count = 0;
    r->password_total = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->password_count < ALERT_HISTORY_PASSWORDS) {
            struct alert_history_password *p = &r->passwords[r->password_count++];

            store_column_text(st, 0, p->mailbox, sizeof p->mailbox);
            store_column_text(st, 1, p->state, sizeof p->state);
        }
        r->password_total++;
    }
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

int store_alert_history(struct store *s, const char *domain, int max,
                        int (*fn)(void *ctx, const struct alert_history_report *r, struct err *e),
                        void *ctx, struct err *e)
{
    sqlite3_stmt *reports = NULL, *passwords = NULL;
    struct alert_history_report *r = NULL;
    char name[QUERY_DOMAIN_MAX];
    int rc = -1, step;

    store_lower_domain(domain, name, sizeof name);
    domain = name;

    if (max < 1 || max > ALERT_HISTORY_MAX)
        max = ALERT_HISTORY_MAX;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT hour_start, state, attempts, last_error, updated_at,"
                           " EXISTS(SELECT 1 FROM password_changes p JOIN domains d"
                           " ON d.name = p.domain WHERE p.domain = ?1"
                           " AND p.hour_start = alert_reports.hour_start"
                           " AND p.mailbox = lower(d.owner_email))"
                           " FROM alert_reports WHERE domain = ?1 AND state <> 'none'"
                           " ORDER BY hour_start DESC LIMIT ?2",
                           -1, &reports, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT mailbox, state FROM password_changes"
                           " WHERE domain = ?1 AND hour_start = ?2 ORDER BY mailbox",
                           -1, &passwords, NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        goto out;
    }
    /* a report with its password rows is ~10 KB: not on the stack */
    if ((r = malloc(sizeof *r)) == NULL) {
        err_set(e, "store: out of memory");
        goto out;
    }
    sqlite3_bind_text(reports, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int(reports, 2, max);
    while ((step = sqlite3_step(reports)) == SQLITE_ROW) {
        memset(r, 0, sizeof *r);
        r->hour_start = sqlite3_column_int64(reports, 0);
        store_column_text(reports, 1, r->state, sizeof r->state);
        r->attempts = sqlite3_column_int(reports, 2);
        store_column_text(reports, 3, r->error, sizeof r->error);
        r->updated_at = sqlite3_column_int64(reports, 4);
        r->passwords_withheld = sqlite3_column_int(reports, 5) != 0;
        if (history_passwords(s, passwords, domain, r, e) < 0 || fn(ctx, r, e) < 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        store_sql_error(s, e);
        goto out;
    }
    rc = 0;
out:
    free(r);
    sqlite3_finalize(reports);
    sqlite3_finalize(passwords);
    return rc;
}

/* A report that did not reach the SMTP server: given up, or refused and
 * waiting for the next run. A failed attempt always leaves its reason in
 * last_error and a new attempt clears it (alert.c), so a pending report
 * without one is being sent, or its run died before sending: not a failure.
 * The same expression as the partial index alert_reports_failing (store.c),
 * so that the admin's summary reads only the failing rows. */
#define REPORT_FAILING STORE_ALERT_FAILING
/* A new password that is not (surely) in force, whether or not the owner
 * has been told since. */
#define PASSWORD_NOT_SET "(state LIKE 'failed%' OR state LIKE 'abandoned%' OR state LIKE 'unsure%')"

int store_alert_problems(struct store *s, struct alert_problems *p, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    memset(p, 0, sizeof *p);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT count(DISTINCT domain) FROM alert_reports"
                           " WHERE " REPORT_FAILING "),"
                           " (SELECT count(*) FROM password_changes WHERE " PASSWORD_NOT_SET "),"
                           " domain, hour_start, state, last_error, updated_at"
                           " FROM (SELECT 1) LEFT JOIN (SELECT * FROM alert_reports"
                           " WHERE " REPORT_FAILING " ORDER BY updated_at DESC, hour_start DESC"
                           " LIMIT 1)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->failing_domains = sqlite3_column_int(st, 0);
        p->passwords_not_set = sqlite3_column_int(st, 1);
        store_column_text(st, 2, p->newest.domain, sizeof p->newest.domain);
        p->newest.hour_start = sqlite3_column_int64(st, 3);
        store_column_text(st, 4, p->newest.state, sizeof p->newest.state);
        store_column_text(st, 5, p->newest.error, sizeof p->newest.error);
        p->newest.updated_at = sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_sql_error(s, e);
}

int store_alert_domains(struct store *s, int max,
                        int (*fn)(void *ctx, const struct alert_domain *d, struct err *e),
                        void *ctx, int *total, struct err *e)
{
    /* Every domain of the domains file, and any with settings but gone from
     * it; the newest report other than `none` through the partial index
     * alert_reports_real (schema v13: the WHERE must read as its does). */
    static const char sql[] =
        "WITH names(name) AS (SELECT name FROM domains UNION SELECT domain FROM domain_settings)"
        " SELECT n.name, coalesce(d.owner_email, ''), coalesce(s.notify, 0),"
        " coalesce(s.force_password_change, 0),"
        " replace(coalesce(s.usual_countries, ''), char(10), ','),"
        " r.hour_start, coalesce(r.state, ''), coalesce(r.last_error, ''),"
        " (SELECT count(*) FROM names)"
        " FROM names n LEFT JOIN domains d ON d.name = n.name"
        " LEFT JOIN domain_settings s ON s.domain = n.name"
        " LEFT JOIN alert_reports r ON r.rowid = (SELECT rowid FROM alert_reports"
        "  WHERE domain = n.name AND state <> 'none' ORDER BY hour_start DESC LIMIT 1)"
        " ORDER BY n.name LIMIT ?1";
    struct alert_domain *d = malloc(sizeof *d);
    sqlite3_stmt *st = NULL;
    int rc = -1, step;

    *total = 0;
    if (d == NULL)
        return err_set(e, "store: out of memory");
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        goto out;
    }
    sqlite3_bind_int(st, 1, max < 1 || max > ALERT_DOMAINS_MAX ? ALERT_DOMAINS_MAX : max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        memset(d, 0, sizeof *d);
        store_column_text(st, 0, d->domain, sizeof d->domain);
        store_column_text(st, 1, d->owner_email, sizeof d->owner_email);
        d->notify = sqlite3_column_int(st, 2) != 0;
        d->force_password_change = sqlite3_column_int(st, 3) != 0;
        store_column_text(st, 4, d->usual_countries, sizeof d->usual_countries);
        d->last.hour_start = sqlite3_column_int64(st, 5);
        store_column_text(st, 6, d->last.state, sizeof d->last.state);
        store_column_text(st, 7, d->last.error, sizeof d->last.error);
        *total = sqlite3_column_int(st, 8);
        if (fn(ctx, d, e) < 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        store_sql_error(s, e);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    free(d);
    return rc;
}
