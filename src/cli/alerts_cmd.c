/*
 * alerts_cmd.c — `maillog alerts`: the hourly suspicious-login reports and
 * forced password changes (alert/alert.h), and `--test-report --to ADDR`,
 * which mails a sample report to check the SMTP path, and `--history`, what
 * the runs did (the admin's summary, or one domain's reports with
 * --domain: the same rows as GET /v1/domains/{domain}/alerts).
 *
 * Exit status: 0 when everything due was sent (or nothing was due); 1 when a
 * report or notice could not be sent (it is retried by the next run), a
 * password command failed (the owner gets a notice), or the database failed;
 * 2 for bad usage. Test hook: MAILLOG_TEST_CRASH=<point> (alert.h) makes the
 * run kill itself at that point.
 */
#include "alert/alert.h"
#include "cli/commands.h"
#include "store/query.h"
#include "store/store.h"
#include "util/config.h"
#include "util/term.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void alerts_usage(FILE *out)
{
    fprintf(out, "usage: maillog alerts [--config FILE] [--now TIME]\n"
                 "       maillog alerts [--config FILE] --test-report --to ADDRESS\n"
                 "       maillog alerts [--config FILE] --history [--domain DOMAIN]\n"
                 "\n"
                 "Mails each domain owner (notify on) one report per complete hour with the\n"
                 "logins from countries that are not usual for the domain, catching up to\n"
                 "24 hours; with forced password change, sets the new passwords announced in\n"
                 "the report. Run hourly, a few minutes past the hour.\n"
                 "\n"
                 "  --config FILE   configuration (default " CONFIG_DEFAULT_FILE ")\n"
                 "  --now TIME      act as if it were TIME: seconds since the epoch or\n"
                 "                  YYYY-MM-DDTHH:MM[:SS]Z (UTC); for tests\n"
                 "  --test-report   send a sample report (no data, no password change)\n"
                 "  --to ADDRESS    recipient of the sample report\n"
                 "  --history       what the runs did: reports not accepted by the SMTP server\n"
                 "                  and passwords not set (all domains), or with --domain\n"
                 "                  each report of the domain and its password changes\n"
                 "                  (kept at least 9 days; times in the server's zone)\n");
}

/* Epoch seconds, or an ISO-8601 UTC time. */
static int parse_now(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;
    char *num_end;
    long long v;

    v = strtoll(s, &num_end, 10);
    if (num_end != s && *num_end == '\0' && v >= 0) {
        *out = (int64_t)v;
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (end == NULL)
        return -1;
    if (*end == ':') {
        end = strptime(end, ":%S", &tm);
        if (end == NULL)
            return -1;
    }
    if (*end == 'Z')
        end++;
    if (*end != '\0')
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

#define ALERTS_BUSY_MS 120000

static void print_problem(void *ctx, const char *text)
{
    (void)ctx;
    fprintf(stderr, "maillog alerts: %s\n", text);
}

/* The last hour is not examined because no ingest has read the logs past
 * its end (cron_enabled off, or the ingest is slow or failing): it is
 * examined by the first run after the ingest caught up. */
static void warn_log_behind(int64_t read_to)
{
    char when[64];
    time_t t = (time_t)read_to;
    struct tm tm;

    if (read_to <= 0) {
        fprintf(stderr, "maillog alerts: warning: no `maillog ingest` run has read the logs to "
                        "their end yet; hours are examined once it has\n");
        return;
    }
    if (localtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M %Z", &tm) == 0)
        snprintf(when, sizeof when, "%lld", (long long)read_to);
    fprintf(stderr,
            "maillog alerts: warning: the logs were last read to their end by the ingest of %s "
            "(is cron_enabled off?); later hours are examined once it has caught up, those of the "
            "last 24 hours by then\n",
            when);
}

static int run_alerts(const struct config *cfg, int64_t now)
{
    struct alert_options o = {0};
    struct alert_summary sum;
    const char *crash = getenv("MAILLOG_TEST_CRASH");
    struct store *st;
    struct err e;
    int rc;

    o.now = now;
    o.problem = print_problem;
    if (crash != NULL && crash[0] != '\0') {
        int c = alert_crash_from_name(crash);
        if (c < 0) {
            fprintf(stderr, "maillog alerts: MAILLOG_TEST_CRASH=%s: unknown point\n", crash);
            return 2;
        }
        o.crash = (enum alert_crash)c;
    }
    /* An ingest commits in batches that can take seconds on a busy server:
     * waiting for one beats giving up the hour's run for every domain. */
    st = store_open(cfg->db_path, ALERTS_BUSY_MS, &e);
    if (st == NULL) {
        fprintf(stderr, "maillog alerts: %s\n", e.text);
        return 1;
    }
    rc = alert_run(cfg, st, &o, &sum, &e);
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "maillog alerts: %s\n", e.text);
        return 1;
    }
    if (sum.log_behind && sum.domains > 0)
        warn_log_behind(sum.read_to);
    if (sum.reports_sent || sum.reports_unsent || sum.passwords_changed || sum.passwords_failed ||
        sum.notices_sent || sum.recovered)
        printf("maillog alerts: %d hours examined, %d reports sent, %d not sent (retried "
               "next run), %d passwords changed, %d password changes failed, %d notices "
               "sent, %d interrupted rows settled\n",
               sum.hours_examined, sum.reports_sent, sum.reports_unsent, sum.passwords_changed,
               sum.passwords_failed, sum.notices_sent, sum.recovered);
    return sum.reports_unsent || sum.passwords_failed || sum.unjudged ? 1 : 0;
}

/* "YYYY-MM-DD HH:MM" in the server's time zone (the hours reports cover). */
static void local_minute(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (localtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, size, "%lld", (long long)t);
}

/* Text from the database (log data, SMTP servers' answers) on the terminal
 * (util/term.h: nothing in it can drive the terminal). */
static void put_text(const char *text)
{
    term_put(stdout, text, 0);
}

static int print_report(void *ctx, const struct alert_history_report *r, struct err *e)
{
    char hour[32], end[32], at[32];

    (void)ctx;
    (void)e;
    local_minute(r->hour_start, hour, sizeof hour);
    local_minute(r->hour_start + 3600, end, sizeof end);
    local_minute(r->updated_at, at, sizeof at);
    /* the end's time of day only ("HH:MM"), when the end is a date at all */
    printf("%s-%s  %-8s attempts %d, last change %s\n", hour, strlen(end) > 11 ? end + 11 : end,
           r->state, r->attempts, at);
    if (r->error[0] != '\0') {
        fputs("    ", stdout);
        put_text(r->error);
        putchar('\n');
    }
    if (r->passwords_withheld)
        puts("    (no password was in the mail: the owner's address is one of these mailboxes)");
    for (int i = 0; i < r->password_count; i++) {
        fputs("    password of ", stdout);
        put_text(r->passwords[i].mailbox);
        printf(": %s\n", r->passwords[i].state);
    }
    if (r->password_total > r->password_count)
        printf("    and %d more password changes\n", r->password_total - r->password_count);
    return 0;
}

static int print_history(const struct config *cfg, const char *domain)
{
    struct alert_problems *p = NULL;
    struct store *st;
    struct err e;
    int rc = -1;

    st = store_open(cfg->db_path, ALERTS_BUSY_MS, &e);
    if (st == NULL)
        goto out;
    if (domain != NULL) {
        fputs("suspicious-login reports of ", stdout);
        put_text(domain);
        puts(", newest first (hours with nothing to report left out):");
        rc = store_alert_history(st, domain, ALERT_HISTORY_MAX, print_report, NULL, &e);
        goto out;
    }
    if ((p = malloc(sizeof *p)) == NULL) {
        err_set(&e, "out of memory");
        goto out;
    }
    if (store_alert_problems(st, p, &e) < 0)
        goto out;
    printf("%d domains with a report the SMTP server has not accepted; %d new passwords not "
           "surely set\n",
           p->failing_domains, p->passwords_not_set);
    if (p->newest.domain[0] != '\0') {
        char hour[32];

        local_minute(p->newest.hour_start, hour, sizeof hour);
        fputs("latest: ", stdout);
        put_text(p->newest.domain);
        printf(", hour of %s, %s: ", hour, p->newest.state);
        put_text(p->newest.error);
        putchar('\n');
    }
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "maillog alerts: %s\n", e.text);
    free(p);
    store_close(st);
    return rc < 0 ? 1 : 0;
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"now", required_argument, NULL, 'n'},
        {"test-report", no_argument, NULL, 't'},  {"to", required_argument, NULL, 'T'},
        {"history", no_argument, NULL, 'H'},      {"domain", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *to = NULL, *domain = NULL;
    int history = 0;
    int64_t now = (int64_t)time(NULL);
    int test_report = 0, c;
    struct config *cfg;
    struct err e;
    int rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'n':
            if (parse_now(optarg, &now) < 0) {
                fprintf(stderr, "maillog alerts: --now '%s': not a time\n", optarg);
                return 2;
            }
            break;
        case 't':
            test_report = 1;
            break;
        case 'T':
            to = optarg;
            break;
        case 'H':
            history = 1;
            break;
        case 'd':
            domain = optarg;
            break;
        case 'h':
            alerts_usage(stdout);
            return 0;
        default:
            alerts_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (test_report && to == NULL) || (!test_report && to != NULL) ||
        (history && test_report) || (!history && domain != NULL)) {
        alerts_usage(stderr);
        return 2;
    }
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        fprintf(stderr, "maillog alerts: out of memory\n");
        return 1;
    }
    config_defaults(cfg);
    if (config_load(cfg, config_path ? config_path : CONFIG_DEFAULT_FILE, config_path != NULL, &e) <
        0) {
        fprintf(stderr, "maillog alerts: %s\n", e.text);
        free(cfg);
        return 1;
    }
    if (history) {
        rc = print_history(cfg, domain);
    } else if (test_report) {
        rc = alert_send_test(cfg, to, &e) < 0 ? 1 : 0;
        if (rc)
            fprintf(stderr, "maillog alerts: test report: %s\n", e.text);
        else
            printf("maillog alerts: test report to %s accepted by the SMTP server\n", to);
    } else {
        rc = run_alerts(cfg, now);
    }
    free(cfg);
    return rc;
}
