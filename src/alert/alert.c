/*
 * alert.c — the hourly run: which hours to examine, what is suspicious, and
 * the state machine that makes every report happen exactly once and never
 * sets a password the owner was not told (see alert.h for the states).
 *
 * All SQL here is on the alert tables plus reads of access_events, domains
 * and domain_settings, through store_handle(); settings are read with the
 * query layer. Each state change is its own committed statement or
 * transaction, made before the step it protects.
 */
#include "alert/alert.h"

#include "alert/mailmsg.h"
#include "alert/password.h"
#include "alert/report.h"
#include "alert/smtp.h"
#include "geo/geo.h"
#include "store/query.h"
#include "util/ipnet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

struct run {
    const struct config *cfg;
    struct store *st;
    sqlite3 *db;
    const struct alert_options *o;
    struct alert_summary *sum;
    struct cidr_list *excluded;   /* server-wide excluded_ips */
    struct cidr_list *exceptions; /* the current domain's ip_exceptions */
    struct alert_findings *f;     /* the current report */
    int64_t read_to;              /* the read mark: hours ending after it are not read yet */
    /* Countries of logins the ingest stored without one (it had no GeoIP
     * database, or an older one): looked up here. geo == NULL: no database
     * now either (geo_error says why); such logins cannot be judged. */
    struct geo *geo;
    char geo_error[sizeof(struct err){0}.text];
    int unjudged;       /* logins of the current hour left without a country */
    bool unjudged_told; /* said once a run */
    char from[300];
    char host[256];
    bool command_crashed_once;
};

_Static_assert(STORE_ALERT_KEEP_HOURS >= ALERT_RETRY_HOURS + ALERT_CATCHUP_HOURS + 1,
               "the purge keeps the alert rows as long as an alert run looks back");
static const char *const crash_names[] = {
    [ALERT_CRASH_BEFORE_SEND] = "before-send",     [ALERT_CRASH_BEFORE_END] = "before-end",
    [ALERT_CRASH_AFTER_ACCEPT] = "after-accept",   [ALERT_CRASH_AFTER_SENT] = "after-sent",
    [ALERT_CRASH_AFTER_COMMAND] = "after-command",
};

int alert_crash_from_name(const char *name)
{
    for (size_t i = 1; i < sizeof crash_names / sizeof crash_names[0]; i++)
        if (strcmp(name, crash_names[i]) == 0)
            return (int)i;
    return -1;
}

static void crash_point(const struct run *r, enum alert_crash at)
{
    if (r->o->crash == at && at != ALERT_CRASH_NONE)
        raise(SIGKILL);
}

/* ---- small SQL helpers ------------------------------------------------ */

static int db_err(struct run *r, struct err *e, const char *what)
{
    return err_set(e, "alerts: %s: %s", what, sqlite3_errmsg(r->db));
}

static int prepare(struct run *r, const char *sql, sqlite3_stmt **stmt, struct err *e)
{
    if (sqlite3_prepare_v2(r->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_err(r, e, "prepare");
    return 0;
}

/* Runs a statement that returns no rows; finalizes it. */
static int step_done(struct run *r, sqlite3_stmt *stmt, struct err *e)
{
    int rc = sqlite3_step(stmt);

    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_err(r, e, "write");
    return 0;
}

static int report_get(struct run *r, const char *domain, int64_t hour, char *state, size_t size,
                      struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    if (prepare(r, "SELECT state FROM alert_reports WHERE domain = ?1 AND hour_start = ?2", &q, e) <
        0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hour);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        snprintf(state, size, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(r, e, "read alert_reports");
    return rc == SQLITE_ROW;
}

/* 1 when a row of the domain covers part of the hour starting at `hour`:
 * rows made while the hours were aligned differently (UTC hours, before
 * reports followed the server's clock hours; a half-hour time zone), whose
 * logins were examined already. */
static int hour_overlaps(struct run *r, const char *domain, int64_t hour, struct err *e)
{
    sqlite3_stmt *q;
    int rc, found = 0;

    if (prepare(r,
                "SELECT EXISTS(SELECT 1 FROM alert_reports WHERE domain = ?1"
                " AND hour_start > ?2 - 3600 AND hour_start < ?2 + 3600 AND hour_start <> ?2)",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hour);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        found = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? found : db_err(r, e, "read alert_reports");
}

/* Sets the state of (domain, hour), creating the row; bump adds an attempt. */
static int report_set(struct run *r, const char *domain, int64_t hour, const char *state, bool bump,
                      const char *error, struct err *e)
{
    sqlite3_stmt *q;

    if (prepare(r,
                "INSERT INTO alert_reports(domain, hour_start, state, attempts, last_error,"
                " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                " ON CONFLICT(domain, hour_start) DO UPDATE SET state = excluded.state,"
                " attempts = attempts + excluded.attempts, last_error = excluded.last_error,"
                " updated_at = excluded.updated_at",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hour);
    sqlite3_bind_text(q, 3, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, bump ? 1 : 0);
    sqlite3_bind_text(q, 5, error ? error : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, r->o->now);
    return step_done(r, q, e);
}

static int password_row_set(struct run *r, const char *domain, int64_t hour, const char *mailbox,
                            const char *state, struct err *e)
{
    sqlite3_stmt *q;

    if (prepare(r,
                "INSERT INTO password_changes(domain, hour_start, mailbox, state, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(domain, hour_start, mailbox)"
                " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hour);
    sqlite3_bind_text(q, 3, mailbox, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, r->o->now);
    return step_done(r, q, e);
}

static int password_rows_delete(struct run *r, const char *domain, int64_t hour, struct err *e)
{
    sqlite3_stmt *q;

    if (prepare(r, "DELETE FROM password_changes WHERE domain = ?1 AND hour_start = ?2", &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, hour);
    return step_done(r, q, e);
}

static int exec_sql(struct run *r, const char *sql, struct err *e)
{
    sqlite3_stmt *q;

    if (prepare(r, sql, &q, e) < 0)
        return -1;
    if (step_done(r, q, e) < 0)
        return -1;
    r->sum->recovered += sqlite3_changes(r->db);
    return 0;
}

/* ---- recovery of an interrupted earlier run --------------------------- */

/* Settles what a run that died left behind (alert.h has the reasoning). */
static int recover(struct run *r, struct err *e)
{
    if (store_begin(r->st, e) < 0)
        return -1;
    if (exec_sql(r,
                 "UPDATE password_changes SET state = 'abandoned' WHERE state = 'pending'"
                 " AND EXISTS (SELECT 1 FROM alert_reports a WHERE a.domain ="
                 " password_changes.domain AND a.hour_start = password_changes.hour_start"
                 " AND a.state IN ('sending', 'sent'))",
                 e) < 0 ||
        exec_sql(r, "UPDATE password_changes SET state = 'unsure' WHERE state = 'changing'", e) <
            0 ||
        exec_sql(r,
                 "UPDATE alert_reports SET state = 'sent', last_error = 'the run that sent it"
                 " was interrupted as the server answered; taken as delivered'"
                 " WHERE state = 'sending'",
                 e) < 0 ||
        /* Left: passwords of reports that were never accepted — nobody was told. */
        exec_sql(r, "DELETE FROM password_changes WHERE state = 'pending'", e) < 0) {
        store_rollback(r->st);
        return -1;
    }
    return store_commit(r->st, e);
}

/* Runs sql, an UPDATE of what the retries gave up on: ?1 the oldest hour
 * still retried (ALERT_RETRY_HOURS before now), ?2 now. */
static int give_up(struct run *r, const char *sql, struct err *e)
{
    sqlite3_stmt *q;

    if (prepare(r, sql, &q, e) < 0)
        return -1;
    sqlite3_bind_int64(q, 1, r->o->now - (int64_t)ALERT_RETRY_HOURS * 3600);
    sqlite3_bind_int64(q, 2, r->o->now);
    return step_done(r, q, e);
}

/* Reports not accepted within ALERT_RETRY_HOURS of their hour become
 * `failed`, for every domain: also those of a domain whose notifications
 * were turned off meanwhile, which are no longer retried (they would stay
 * "pending" for good, and the admin's overview would count them as failing
 * until the purge). */
static int give_up_old_reports(struct run *r, struct err *e)
{
    return give_up(r,
                   "UPDATE alert_reports SET state = 'failed', updated_at = ?2, last_error ="
                   " 'not accepted by the SMTP server within the retry period: ' || last_error"
                   " WHERE state = 'pending' AND hour_start < ?1",
                   e);
}

/* ---- what is suspicious ------------------------------------------------ */

static bool country_usual(const struct alert_findings *f, const char *code)
{
    for (int i = 0; i < f->usual_count; i++)
        if (strcmp(f->usual[i], code) == 0)
            return true;
    return false;
}

static bool ip_excepted(const struct run *r, const char *ip_text)
{
    struct ip_addr ip;

    if (ip_parse(ip_text, strlen(ip_text), &ip) < 0)
        return false; /* not an address we understand: flag it */
    return cidr_list_match(r->excluded, &ip) || cidr_list_match(r->exceptions, &ip);
}

static void text_col(sqlite3_stmt *q, int col, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

/* Mailbox whose password the report may change: valid for the command and
 * of this domain; each mailbox once. */
static void consider_password(struct alert_findings *f, const char *mailbox)
{
    const char *at = strrchr(mailbox, '@');

    if (!password_mailbox_ok(mailbox) || at == NULL || strcasecmp(at + 1, f->domain) != 0)
        return;
    for (int i = 0; i < f->password_count; i++)
        if (strcasecmp(f->passwords[i].mailbox, mailbox) == 0)
            return;
    if (f->password_count >= ALERT_MAILBOXES_MAX) {
        f->passwords_over++;
        return;
    }
    /* Mail names are case-insensitive; panels and passwd-files keep them lower-case. */
    char *box = f->passwords[f->password_count].mailbox;
    snprintf(box, sizeof f->passwords[0].mailbox, "%s", mailbox);
    for (; *box; box++)
        if (*box >= 'A' && *box <= 'Z')
            *box = (char)(*box - 'A' + 'a');
    f->password_count++;
}

/* A login's country, as stored or looked up now. False when it has none
 * that can be judged: a local address (never suspicious), or a public one
 * with no match; with no database at all the login is counted as unjudged
 * (the hour waits for one). */
static bool login_country(struct run *r, const char *ip_text, char country[3])
{
    struct ip_addr ip;

    if (country[0] != '\0')
        return true;
    if (ip_parse(ip_text, strlen(ip_text), &ip) < 0 || ip_is_local(&ip))
        return false;
    if (r->geo == NULL) {
        r->unjudged++;
        return false;
    }
    return geo_country(r->geo, ip_text, country) == 1;
}

static int collect_logins(struct run *r, bool force, struct err *e)
{
    struct alert_findings *f = r->f;
    sqlite3_stmt *q;
    int rc;

    if (prepare(r,
                "SELECT time, user, ip, country, protocol FROM access_events"
                " WHERE user_domain = ?1 AND time >= ?2 AND time < ?3 AND success = 1"
                " ORDER BY time, id",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, f->domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->hour_start);
    sqlite3_bind_int64(q, 3, f->hour_start + 3600);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct alert_login l;

        l.time = sqlite3_column_int64(q, 0);
        text_col(q, 1, l.mailbox, sizeof l.mailbox);
        text_col(q, 2, l.ip, sizeof l.ip);
        text_col(q, 3, l.country, sizeof l.country);
        l.protocol = sqlite3_column_int(q, 4);
        if (ip_excepted(r, l.ip) || !login_country(r, l.ip, l.country) ||
            country_usual(f, l.country))
            continue;
        f->logins_total++;
        if (f->login_count < ALERT_LOGINS_MAX)
            f->logins[f->login_count++] = l;
        if (force)
            consider_password(f, l.mailbox);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_err(r, e, "read access_events");
    return 0;
}

static int collect_bursts(struct run *r, struct err *e)
{
    struct alert_findings *f = r->f;
    sqlite3_stmt *q;
    int rc;

    if (prepare(r,
                "SELECT ip, country, COUNT(*), MIN(time), MAX(time), MIN(user),"
                " COUNT(DISTINCT user) FROM access_events"
                " WHERE user_domain = ?1 AND time >= ?2 AND time < ?3 AND success = 0"
                " GROUP BY ip, country HAVING COUNT(*) >= ?4"
                " ORDER BY COUNT(*) DESC, ip",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, f->domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->hour_start);
    sqlite3_bind_int64(q, 3, f->hour_start + 3600);
    sqlite3_bind_int(q, 4, ALERT_BURST_MIN);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct alert_burst b;

        text_col(q, 0, b.ip, sizeof b.ip);
        text_col(q, 1, b.country, sizeof b.country);
        b.failures = sqlite3_column_int(q, 2);
        b.first = sqlite3_column_int64(q, 3);
        b.last = sqlite3_column_int64(q, 4);
        text_col(q, 5, b.mailbox, sizeof b.mailbox);
        b.mailboxes = sqlite3_column_int(q, 6);
        if (ip_excepted(r, b.ip) || !login_country(r, b.ip, b.country) ||
            country_usual(f, b.country))
            continue;
        f->bursts_total++;
        if (f->burst_count < ALERT_BURSTS_MAX)
            f->bursts[f->burst_count++] = b;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return db_err(r, e, "read access_events");
    return 0;
}

/* ---- sending ------------------------------------------------------------ */

struct end_ctx {
    struct run *r;
    const char *domain;
    int64_t hour;
    struct err *e;
};

/* The last moment before the end-of-data marker: record `sending`. */
static int before_end(void *arg)
{
    struct end_ctx *c = arg;

    crash_point(c->r, ALERT_CRASH_BEFORE_END);
    return report_set(c->r, c->domain, c->hour, "sending", false, NULL, c->e);
}

static void wipe_passwords(struct alert_findings *f)
{
    for (int i = 0; i < f->password_count; i++)
        explicit_bzero(f->passwords[i].password, sizeof f->passwords[i].password);
}

static void fill_host(struct run *r)
{
    snprintf(r->f->host, sizeof r->f->host, "%s", r->host);
}

/* Renders (report or notice), composes and sends; 0 accepted, -1 not (e). */
static int send_mail(struct run *r, const char *to, bool notice, struct end_ctx *ctx, struct err *e)
{
    struct mbuf text = {0}, html = {0}, msg = {0};
    char subject[700];
    struct mail_head h;
    int rc;

    fill_host(r);
    if (notice)
        notice_render(r->f, subject, sizeof subject, &text, &html);
    else
        report_render(r->f, subject, sizeof subject, &text, &html);
    h.from = r->from;
    h.to = to;
    h.subject = subject;
    h.date = (time_t)r->o->now;
    rc = mail_compose(&h, text.data ? text.data : "", html.data ? html.data : "", &msg, e);
    if (text.data != NULL)
        explicit_bzero(text.data, text.cap);
    if (html.data != NULL)
        explicit_bzero(html.data, html.cap);
    mbuf_free(&text);
    mbuf_free(&html);
    if (rc == 0)
        rc = smtp_send(r->cfg, to, msg.data, msg.len, ctx ? before_end : NULL, ctx, e);
    if (msg.data != NULL)
        explicit_bzero(msg.data, msg.cap);
    mbuf_free(&msg);
    return rc;
}

/* A per-item failure: recorded and retried by the caller of this; told to
 * the run's caller once, here. */
static void report_error(const struct run *r, const char *what, const struct err *e)
{
    char line[sizeof e->text + 300];

    if (r->o->problem == NULL)
        return;
    snprintf(line, sizeof line, "%s: %s", what, e->text);
    r->o->problem(r->o->problem_ctx, line);
}

/* Steps after acceptance: one command per mailbox, each recorded before and
 * after it runs. */
static int change_passwords(struct run *r, struct err *e)
{
    struct alert_findings *f = r->f;
    int timeout = r->o->command_timeout_s > 0 ? r->o->command_timeout_s : PASSWORD_TIMEOUT_S;

    for (int i = 0; i < f->password_count; i++) {
        struct alert_password *p = &f->passwords[i];
        struct err ce;
        int rc;

        if (password_row_set(r, f->domain, f->hour_start, p->mailbox, "changing", e) < 0)
            return -1;
        rc = password_apply(r->cfg->password_command, p->mailbox, p->password, timeout, &ce);
        explicit_bzero(p->password, sizeof p->password);
        if (!r->command_crashed_once) {
            r->command_crashed_once = true;
            crash_point(r, ALERT_CRASH_AFTER_COMMAND);
        }
        if (password_row_set(r, f->domain, f->hour_start, p->mailbox,
                             rc == 0                 ? "changed"
                             : rc == PASSWORD_UNSURE ? "unsure"
                                                     : "failed",
                             e) < 0)
            return -1;
        if (rc == 0) {
            r->sum->passwords_changed++;
        } else {
            r->sum->passwords_failed++;
            report_error(r, p->mailbox, &ce);
        }
    }
    return 0;
}

/* True when the owner's address is one of the report's mailboxes. */
static bool owner_is_flagged(const struct alert_findings *f, const char *owner)
{
    for (int i = 0; i < f->password_count; i++)
        if (strcasecmp(f->passwords[i].mailbox, owner) == 0)
            return true;
    return false;
}

/* One report with findings: the whole exactly-once sequence. */
static int send_report(struct run *r, const char *owner, struct err *e)
{
    struct alert_findings *f = r->f;
    struct end_ctx ctx = {r, f->domain, f->hour_start, e};
    struct err se;

    if (!mail_addr_ok(owner)) {
        err_set(&se, "%s: no usable owner address ('%.100s') in the domains file", f->domain,
                owner);
        report_error(r, "report", &se);
        r->sum->reports_unsent++;
        return report_set(r, f->domain, f->hour_start, "pending", true, se.text, e);
    }
    /* The owner's own address among the mailboxes used from abroad: the
     * intruder may read this mail, so no new password is in it (every
     * password is still replaced: that stops the intruder). */
    bool withheld = owner_is_flagged(f, owner);
    for (int i = 0; i < f->password_count; i++) {
        f->passwords[i].withheld = withheld;
        if (password_generate(f->passwords[i].password, e) < 0)
            return -1;
    }

    if (store_begin(r->st, e) < 0)
        return -1;
    if (report_set(r, f->domain, f->hour_start, "pending", true, NULL, e) < 0 ||
        password_rows_delete(r, f->domain, f->hour_start, e) < 0)
        goto rollback;
    for (int i = 0; i < f->password_count; i++)
        if (password_row_set(r, f->domain, f->hour_start, f->passwords[i].mailbox, "pending", e) <
            0)
            goto rollback;
    if (store_commit(r->st, e) < 0)
        return -1;
    crash_point(r, ALERT_CRASH_BEFORE_SEND);

    if (send_mail(r, owner, false, &ctx, &se) < 0) {
        wipe_passwords(f);
        report_error(r, f->domain, &se);
        r->sum->reports_unsent++;
        if (store_begin(r->st, e) < 0)
            return -1;
        if (report_set(r, f->domain, f->hour_start, "pending", false, se.text, e) < 0 ||
            password_rows_delete(r, f->domain, f->hour_start, e) < 0)
            goto rollback;
        return store_commit(r->st, e);
    }
    crash_point(r, ALERT_CRASH_AFTER_ACCEPT);
    if (report_set(r, f->domain, f->hour_start, "sent", false, NULL, e) < 0) {
        wipe_passwords(f);
        return -1;
    }
    r->sum->reports_sent++;
    crash_point(r, ALERT_CRASH_AFTER_SENT);
    return change_passwords(r, e);

rollback:
    wipe_passwords(f);
    store_rollback(r->st);
    return -1;
}

/* Collects the findings of one hour of one domain into r->f: 1 when there
 * is something to report, 0 when not, -1 on error. */
static int collect_hour(struct run *r, const struct domain_settings *ds, int64_t hour,
                        struct err *e)
{
    struct alert_findings *f = r->f;

    memset(f, 0, sizeof *f);
    snprintf(f->domain, sizeof f->domain, "%s", ds->domain);
    f->hour_start = hour;
    for (int i = 0; i < ds->usual_countries_count && i < SETTINGS_COUNTRIES_MAX; i++)
        memcpy(f->usual[i], ds->usual_countries[i], 3);
    f->usual_count = ds->usual_countries_count;
    r->unjudged = 0;
    if (collect_logins(r, ds->force_password_change, e) < 0 || collect_bursts(r, e) < 0)
        return -1;
    return f->logins_total > 0 || f->bursts_total > 0;
}

/* Logins of the hour just collected that could not be judged (the ingest
 * stored no country and this run has no GeoIP database): counted, and said
 * once a run. What can be judged is reported all the same; an hour with
 * nothing else to report is left unsettled, so a run that has a database
 * within ALERT_CATCHUP_HOURS judges it. True when there were any. */
static bool tell_unjudged(struct run *r)
{
    struct err we;

    if (r->unjudged == 0)
        return false;
    r->sum->unjudged += r->unjudged;
    if (!r->unjudged_told) {
        err_set(&we,
                "%s: %d login(s) from public addresses have no country, and the GeoIP "
                "database cannot be read (%s): they are not judged; an hour with nothing "
                "else to report is examined again for up to %d hours",
                r->f->domain, r->unjudged, r->geo_error, ALERT_CATCHUP_HOURS);
        report_error(r, "alerts", &we);
        r->unjudged_told = true;
    }
    return true;
}

/* The settings' validated IP/CIDR texts as one list. */
static int parse_ip_list(const char (*items)[SETTINGS_IP_LEN], int count, struct cidr_list *out,
                         struct err *e)
{
    char joined[SETTINGS_IPS_MAX * SETTINGS_IP_LEN];
    size_t used = 0;

    joined[0] = '\0';
    for (int i = 0; i < count && i < SETTINGS_IPS_MAX; i++)
        used += (size_t)snprintf(joined + used, sizeof joined - used, "%s ", items[i]);
    return cidr_list_parse(joined, out, e);
}

/* How late a line may reach the log file after the time it carries
 * (syslog daemons buffer, remote hosts forward): an hour counts as read once
 * the read mark is this far past its end. */
#define READ_MARK_LAG_S 60

/* The start of the last hour that is complete: ALERT_GRACE_S past its end
 * and read by the ingest, READ_MARK_LAG_S to spare (an hour the ingest has
 * not read to its end would look quiet and be settled as such for good). */
static int64_t last_complete_hour(const struct run *r)
{
    int64_t by_clock = alert_hour_start(r->o->now - ALERT_GRACE_S) - 3600;
    int64_t by_log = r->read_to > READ_MARK_LAG_S
                         ? alert_hour_start(r->read_to - READ_MARK_LAG_S) - 3600
                         : -1; /* never read to the end: no hour is complete */

    return by_log < by_clock ? by_log : by_clock;
}

/* The hours of one domain due for a look: older unsent reports still within
 * ALERT_RETRY_HOURS (older ones are given up), then the complete hours of
 * the last ALERT_CATCHUP_HOURS without a settled row, from the hour notify
 * was switched on. */
static int due_hours(struct run *r, const struct domain_settings *ds, int64_t *hours, int *n,
                     struct err *e)
{
    const char *domain = ds->domain;
    int64_t clock_last = alert_hour_start(r->o->now - ALERT_GRACE_S) - 3600;
    int64_t first = clock_last - (ALERT_CATCHUP_HOURS - 1) * 3600;
    int64_t last = last_complete_hour(r);
    sqlite3_stmt *q;
    int step;

    *n = 0;
    if (prepare(r,
                "SELECT hour_start FROM alert_reports WHERE domain = ?1 AND state = 'pending'"
                " AND hour_start < ?2 ORDER BY hour_start",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, first);
    while ((step = sqlite3_step(q)) == SQLITE_ROW && *n < ALERT_RETRY_HOURS) {
        int64_t hour = sqlite3_column_int64(q, 0);
        if (hour >= r->o->now - (int64_t)ALERT_RETRY_HOURS * 3600)
            hours[(*n)++] = hour;
    }
    sqlite3_finalize(q);
    /* hours before notify went on are not examined (a report still pending
     * from an earlier time notify was on is retried all the same) */
    int64_t since = ds->notify_since > 0 ? alert_hour_start(ds->notify_since) : 0;
    for (int64_t hour = first; hour <= last; hour += 3600) {
        char state[16] = "";
        int found = report_get(r, domain, hour, state, sizeof state, e);

        if (found < 0)
            return -1;
        if (found && strcmp(state, "pending") == 0) {
            hours[(*n)++] = hour;
        } else if (!found && hour >= since) {
            int overlaps = hour_overlaps(r, domain, hour, e);

            if (overlaps < 0)
                return -1;
            if (!overlaps) /* else examined already, in a window aligned differently */
                hours[(*n)++] = hour;
        }
    }
    return 0;
}

/* The mailboxes a run already gave a new password to, in one domain. Full,
 * it stops recording: a mailbox may then get a second password in the run
 * (each report says the newest counts). */
#define GIVEN_MAX (4 * ALERT_MAILBOXES_MAX)
struct given_passwords {
    char mailbox[GIVEN_MAX][RECORD_ADDR_MAX];
    int count;
};

/* Removes from f the mailboxes in given. */
static void drop_given_passwords(struct alert_findings *f, const struct given_passwords *given)
{
    int kept = 0;

    for (int i = 0; i < f->password_count; i++) {
        bool seen = false;

        for (int k = 0; k < given->count && !seen; k++)
            seen = strcmp(given->mailbox[k], f->passwords[i].mailbox) == 0;
        if (seen)
            continue;
        if (kept != i)
            f->passwords[kept] = f->passwords[i];
        kept++;
    }
    f->password_count = kept;
}

/* Adds f's mailboxes to given: their report was accepted (only then is a
 * password set; an older report of the run may still carry one if not). */
static void remember_given_passwords(const struct alert_findings *f, struct given_passwords *given)
{
    for (int i = 0; i < f->password_count && given->count < GIVEN_MAX; i++)
        snprintf(given->mailbox[given->count++], RECORD_ADDR_MAX, "%s", f->passwords[i].mailbox);
}

/* One domain: every due hour is examined in one transaction that records
 * the quiet ones; then each hour with findings is reported, with the
 * commits of the exactly-once sequence. */
static int run_domain(struct run *r, const char *domain, const char *owner, struct err *e)
{
    struct domain_settings *ds = calloc(1, sizeof *ds);
    struct given_passwords *given = NULL;
    int64_t hours[ALERT_RETRY_HOURS + ALERT_CATCHUP_HOURS];
    int nhours = 0, nsend = 0, rc = -1;

    if (ds == NULL)
        return err_set(e, "alerts: out of memory");
    if (store_domain_settings_get(r->st, domain, ds, e) < 0)
        goto out;
    if (ds->usual_countries_count == 0) {
        rc = 0; /* nothing is "unusual" before the owner said what is usual */
        goto out;
    }
    if (parse_ip_list(ds->ip_exceptions, ds->ip_exceptions_count, r->exceptions, e) < 0) {
        err_prefix(e, "%s: ip_exceptions", domain);
        goto out;
    }
    if (store_begin(r->st, e) < 0)
        goto out;
    if (due_hours(r, ds, hours, &nhours, e) < 0)
        goto rollback;
    for (int i = 0; i < nhours; i++) {
        int found = collect_hour(r, ds, hours[i], e);

        r->sum->hours_examined++;
        if (found < 0)
            goto rollback;
        if (tell_unjudged(r) && !found)
            continue; /* nothing to report yet: a later run may judge them */
        if (found)
            hours[nsend++] = hours[i]; /* nsend <= i: compacting in place */
        else if (report_set(r, domain, hours[i], "none", false, NULL, e) < 0)
            goto rollback;
    }
    if (store_commit(r->st, e) < 0)
        goto out;
    /* Newest hour first, and a mailbox gets one new password per run: in
     * the newest report that names it (several hours caught up at once
     * would otherwise change it once per report). */
    if ((given = calloc(1, sizeof *given)) == NULL) {
        err_set(e, "alerts: out of memory");
        goto out;
    }
    for (int i = nsend - 1; i >= 0; i--) {
        int found = collect_hour(r, ds, hours[i], e);
        int accepted_before = r->sum->reports_sent;

        if (found < 0)
            goto out;
        if (found == 0)
            continue;
        drop_given_passwords(r->f, given);
        if (send_report(r, owner, e) < 0)
            goto out;
        if (r->sum->reports_sent > accepted_before)
            remember_given_passwords(r->f, given);
    }
    rc = 0;
out:
    free(given);
    free(ds);
    return rc;
rollback:
    store_rollback(r->st);
    goto out;
}

/* ---- notices for passwords that were not changed ----------------------- */

static int owner_of(struct run *r, const char *domain, char *out, size_t size, struct err *e)
{
    sqlite3_stmt *q;
    int rc;

    out[0] = '\0';
    if (prepare(r, "SELECT owner_email FROM domains WHERE name = ?1", &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        text_col(q, 0, out, size);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(r, e, "read domains");
}

static int notice_one(struct run *r, struct err *e)
{
    struct alert_findings *f = r->f;
    char owner[RECORD_ADDR_MAX];
    struct err se;
    sqlite3_stmt *q;
    int step;

    if (owner_of(r, f->domain, owner, sizeof owner, e) < 0)
        return -1;
    if (!mail_addr_ok(owner)) {
        err_set(&se, "%s: no usable owner address for the password notice", f->domain);
        report_error(r, "notice", &se);
        r->sum->reports_unsent++;
        return 0;
    }
    /* The report left its passwords out when it went to one of its own
     * mailboxes: the notice must not refer to them. */
    if (prepare(r,
                "SELECT 1 FROM password_changes WHERE domain = ?1 AND hour_start = ?2"
                " AND mailbox = lower(?3)",
                &q, e) < 0)
        return -1;
    sqlite3_bind_text(q, 1, f->domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, f->hour_start);
    sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
    step = sqlite3_step(q);
    sqlite3_finalize(q);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_err(r, e, "read password_changes");
    for (int i = 0; i < f->password_count; i++)
        f->passwords[i].withheld = step == SQLITE_ROW;
    if (send_mail(r, owner, true, NULL, &se) < 0) {
        report_error(r, f->domain, &se);
        r->sum->reports_unsent++;
        return 0; /* still owed: next run */
    }
    r->sum->notices_sent++;
    for (int i = 0; i < f->password_count; i++) {
        char state[40];
        snprintf(state, sizeof state, "%s_notified", f->passwords[i].state);
        if (password_row_set(r, f->domain, f->hour_start, f->passwords[i].mailbox, state, e) < 0)
            return -1;
    }
    return 0;
}

/* One notice per (domain, hour) with password rows that owe one. */
static int send_notices(struct run *r, struct err *e)
{
    sqlite3_stmt *q;
    int step;
    bool have = false;

    memset(r->f, 0, sizeof *r->f);
    /* Notices that could not be delivered for ALERT_RETRY_HOURS are given up. */
    if (give_up(r,
                "UPDATE password_changes SET state = state || '_unnotified', updated_at = ?2"
                " WHERE state IN ('failed', 'abandoned', 'unsure') AND hour_start < ?1",
                e) < 0)
        return -1;
    if (prepare(r,
                "SELECT domain, hour_start, mailbox, state FROM password_changes"
                " WHERE state IN ('failed', 'abandoned', 'unsure')"
                " ORDER BY domain, hour_start, mailbox",
                &q, e) < 0)
        return -1;
    /* Collect everything first: sending writes to the same table. */
    struct notice_row {
        char domain[256];
        int64_t hour;
        char mailbox[RECORD_ADDR_MAX];
        char state[24];
    } *rows = NULL;
    size_t n = 0, cap = 0;
    while ((step = sqlite3_step(q)) == SQLITE_ROW && n < 10000) {
        if (n == cap) {
            struct notice_row *p = realloc(rows, (cap ? cap * 2 : 16) * sizeof *rows);
            if (p == NULL)
                break;
            rows = p;
            cap = cap ? cap * 2 : 16;
        }
        text_col(q, 0, rows[n].domain, sizeof rows[n].domain);
        rows[n].hour = sqlite3_column_int64(q, 1);
        text_col(q, 2, rows[n].mailbox, sizeof rows[n].mailbox);
        text_col(q, 3, rows[n].state, sizeof rows[n].state);
        n++;
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n; i++) {
        struct alert_findings *f = r->f;
        if (have && (strcmp(f->domain, rows[i].domain) != 0 || f->hour_start != rows[i].hour)) {
            if (notice_one(r, e) < 0)
                goto fail;
            memset(f, 0, sizeof *f);
            have = false;
        }
        if (!have) {
            snprintf(f->domain, sizeof f->domain, "%s", rows[i].domain);
            f->hour_start = rows[i].hour;
            have = true;
        }
        if (f->password_count < ALERT_MAILBOXES_MAX) {
            struct alert_password *p = &f->passwords[f->password_count++];
            snprintf(p->mailbox, sizeof p->mailbox, "%s", rows[i].mailbox);
            snprintf(p->state, sizeof p->state, "%s", rows[i].state);
        }
    }
    if (have && notice_one(r, e) < 0)
        goto fail;
    free(rows);
    return 0;
fail:
    free(rows);
    return -1;
}

/* ---- the run ------------------------------------------------------------ */

static int lock_run(const struct config *cfg, int *fd, struct err *e)
{
    char path[CONFIG_PATH_MAX + 16];

    snprintf(path, sizeof path, "%s.alerts-lock", cfg->db_path);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return err_sys(e, "%s", path);
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int busy = errno == EWOULDBLOCK;
        close(*fd);
        *fd = -1;
        if (busy)
            return err_set(e, "another `maillog alerts` is running (%s)", path);
        return err_sys(e, "%s: lock", path);
    }
    return 0;
}

static int run_domains(struct run *r, struct err *e)
{
    sqlite3_stmt *q;
    int step;
    struct dom {
        char name[256];
        char owner[RECORD_ADDR_MAX];
    } *doms = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (prepare(r,
                "SELECT s.domain, COALESCE(d.owner_email, '') FROM domain_settings s"
                " LEFT JOIN domains d ON d.name = s.domain WHERE s.notify = 1 ORDER BY s.domain",
                &q, e) < 0)
        return -1;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            struct dom *p = realloc(doms, (cap ? cap * 2 : 16) * sizeof *doms);
            if (p == NULL) {
                rc = err_set(e, "alerts: out of memory");
                break;
            }
            doms = p;
            cap = cap ? cap * 2 : 16;
        }
        text_col(q, 0, doms[n].name, sizeof doms[n].name);
        text_col(q, 1, doms[n].owner, sizeof doms[n].owner);
        n++;
    }
    sqlite3_finalize(q);
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_err(r, e, "read domain_settings");
    r->sum->domains = (int)n;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = run_domain(r, doms[i].name, doms[i].owner, e);
    free(doms);
    return rc;
}

int alert_run(const struct config *cfg, struct store *st, const struct alert_options *o,
              struct alert_summary *sum, struct err *e)
{
    struct run r = {0};
    struct settings *settings = NULL;
    int lock_fd = -1, rc = -1;

    memset(sum, 0, sizeof *sum);
    r.cfg = cfg;
    r.st = st;
    r.db = store_handle(st);
    r.o = o;
    r.sum = sum;
    smtp_sender(cfg, r.from, sizeof r.from);
    if (gethostname(r.host, sizeof r.host) != 0)
        snprintf(r.host, sizeof r.host, "localhost");
    r.host[sizeof r.host - 1] = '\0';
    if (lock_run(cfg, &lock_fd, e) < 0)
        return -1;
    settings = calloc(1, sizeof *settings);
    r.excluded = calloc(1, sizeof *r.excluded);
    r.exceptions = calloc(1, sizeof *r.exceptions);
    r.f = calloc(1, sizeof *r.f);
    if (settings == NULL || r.excluded == NULL || r.exceptions == NULL || r.f == NULL) {
        err_set(e, "alerts: out of memory");
        goto out;
    }
    if (store_settings_get(st, settings, e) < 0)
        goto out;
    if (parse_ip_list(settings->excluded_ips, settings->excluded_ips_count, r.excluded, e) < 0) {
        err_prefix(e, "excluded_ips");
        goto out;
    }
    if (store_read_mark_get(st, &r.read_to, e) < 0)
        goto out;
    {
        struct err ge;
        if ((r.geo = geo_open(cfg->geoip_path, &ge)) == NULL)
            snprintf(r.geo_error, sizeof r.geo_error, "%s", ge.text);
    }
    sum->read_to = r.read_to;
    sum->log_behind = last_complete_hour(&r) < alert_hour_start(o->now - ALERT_GRACE_S) - 3600;
    if (recover(&r, e) < 0 || give_up_old_reports(&r, e) < 0 || run_domains(&r, e) < 0 ||
        send_notices(&r, e) < 0)
        goto out;
    rc = 0;
out:
    if (r.f != NULL) {
        wipe_passwords(r.f);
        free(r.f);
    }
    geo_close(r.geo);
    free(r.exceptions);
    free(r.excluded);
    free(settings);
    close(lock_fd);
    return rc;
}

int alert_send_test(const struct config *cfg, const char *to, struct err *e)
{
    struct alert_findings *f = calloc(1, sizeof *f);
    struct mbuf text = {0}, html = {0}, msg = {0};
    struct mail_head h;
    char subject[700], from[300];
    int rc;

    if (f == NULL)
        return err_set(e, "alerts: out of memory");
    report_sample(f, (int64_t)time(NULL));
    if (gethostname(f->host, sizeof f->host) != 0)
        snprintf(f->host, sizeof f->host, "localhost");
    f->host[sizeof f->host - 1] = '\0';
    report_render(f, subject, sizeof subject, &text, &html);
    free(f);
    smtp_sender(cfg, from, sizeof from);
    h.from = from;
    h.to = to;
    h.subject = subject;
    h.date = time(NULL);
    rc = mail_compose(&h, text.data ? text.data : "", html.data ? html.data : "", &msg, e);
    mbuf_free(&text);
    mbuf_free(&html);
    if (rc == 0)
        rc = smtp_send(cfg, to, msg.data, msg.len, NULL, NULL, e);
    mbuf_free(&msg);
    return rc;
}
