/*
 * report.c — the words of the alert mails (see report.h).
 */
#include "alert/report.h"

#include "geo/geo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define DASH "\xe2\x80\x93" /* – */

static void fmt_time(int64_t t, const char *fmt, char *out, size_t size)
    __attribute__((format(strftime, 2, 0)));

static void fmt_time(int64_t t, const char *fmt, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (strftime(out, size, fmt, &tm) == 0) /* fmt: literals of this file, checked */
        out[0] = '\0';
#pragma GCC diagnostic pop
}

int64_t alert_hour_start(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (localtime_r(&tt, &tm) == NULL)
        return t - ((t % 3600) + 3600) % 3600;
    return t - (int64_t)tm.tm_min * 60 - tm.tm_sec;
}

/* "2026-11-25 09:00–10:00 UTC" */
static void fmt_hour(int64_t hour_start, char *out, size_t size)
{
    char a[32], b[32];

    fmt_time(hour_start, "%Y-%m-%d %H:%M", a, sizeof a);
    fmt_time(hour_start + 3600, "%H:%M %Z", b, sizeof b);
    snprintf(out, size, "%s" DASH "%s", a, b);
}

/* "United States (US)", or "?" for an empty code. */
static void fmt_country(const char *code, char *out, size_t size)
{
    const char *name = code[0] ? country_name(code) : NULL;

    if (name != NULL)
        snprintf(out, size, "%s (%s)", name, code);
    else
        snprintf(out, size, "%s", code[0] ? code : "?");
}

static const char *proto_name(int p)
{
    static const char *const names[] = {"IMAP", "POP3", "SMTP", "submission", "ManageSieve"};
    return p >= 0 && p < (int)(sizeof names / sizeof names[0]) ? names[p] : "?";
}

/* Puts s both ways: cleaned into text, cleaned and escaped into html. */
static void put2(struct mbuf *text, struct mbuf *html, const char *s)
{
    mbuf_put_clean(text, s, 512);
    mbuf_put_html(html, s, 512);
}

static void render_usual(const struct alert_findings *f, struct mbuf *text, struct mbuf *html)
{
    char c[128];

    mbuf_puts(text, "Usual countries for this domain: ");
    mbuf_puts(html, "<p>Usual countries for this domain: ");
    for (int i = 0; i < f->usual_count; i++) {
        fmt_country(f->usual[i], c, sizeof c);
        if (i > 0)
            put2(text, html, ", ");
        put2(text, html, c);
    }
    mbuf_puts(text, ".\n\n");
    mbuf_puts(html, ".</p>\n");
}

static void render_logins(const struct alert_findings *f, struct mbuf *text, struct mbuf *html)
{
    char t[32], c[128];

    if (f->logins_total == 0)
        return;
    mbuf_printf(text, "Successful logins from other countries (%d):\n\n", f->logins_total);
    mbuf_printf(html,
                "<h3>Successful logins from other countries (%d)</h3>\n"
                "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n"
                "<tr><th>Time</th><th>Mailbox</th><th>IP</th><th>Country</th>"
                "<th>Protocol</th></tr>\n",
                f->logins_total);
    for (int i = 0; i < f->login_count; i++) {
        const struct alert_login *l = &f->logins[i];

        fmt_time(l->time, "%H:%M:%S", t, sizeof t);
        fmt_country(l->country, c, sizeof c);
        mbuf_printf(text, "  %s  ", t);
        mbuf_put_clean(text, l->mailbox, sizeof l->mailbox);
        mbuf_puts(text, "\n            from ");
        mbuf_put_clean(text, l->ip, sizeof l->ip);
        mbuf_printf(text, ", %s, %s\n", c, proto_name(l->protocol));
        mbuf_printf(html, "<tr><td>%s</td><td>", t);
        mbuf_put_html(html, l->mailbox, sizeof l->mailbox);
        mbuf_puts(html, "</td><td>");
        mbuf_put_html(html, l->ip, sizeof l->ip);
        mbuf_puts(html, "</td><td>");
        mbuf_put_html(html, c, sizeof c);
        mbuf_printf(html, "</td><td>%s</td></tr>\n", proto_name(l->protocol));
    }
    mbuf_puts(html, "</table>\n");
    if (f->logins_total > f->login_count) {
        mbuf_printf(text, "  … and %d more (see the Mail log access tab)\n",
                    f->logins_total - f->login_count);
        mbuf_printf(html, "<p>… and %d more (see the Mail log access tab).</p>\n",
                    f->logins_total - f->login_count);
    }
    mbuf_puts(text, "\n");
}

static void render_passwords(const struct alert_findings *f, struct mbuf *text, struct mbuf *html)
{
    if (f->password_count == 0)
        return;
    mbuf_puts(text, "The passwords of these mailboxes are being changed now. New passwords\n"
                    "(the old ones stop working; if a change fails you will get another\n"
                    "message saying so; after several reports the newest one counts):\n\n");
    mbuf_puts(html, "<h3>New passwords</h3>\n<p>The passwords of these mailboxes are being "
                    "changed now; the old ones stop working. If a change fails you will get "
                    "another message saying so. After several reports the newest one "
                    "counts.</p>\n<table border=\"1\" cellpadding=\"4\" "
                    "cellspacing=\"0\">\n<tr><th>Mailbox</th><th>New password</th></tr>\n");
    for (int i = 0; i < f->password_count; i++) {
        const struct alert_password *p = &f->passwords[i];
        mbuf_puts(text, "  ");
        mbuf_put_clean(text, p->mailbox, sizeof p->mailbox);
        mbuf_puts(html, "<tr><td>");
        mbuf_put_html(html, p->mailbox, sizeof p->mailbox);
        if (p->withheld) {
            /* whoever logged in to one of them from abroad may read this */
            mbuf_puts(text, "   (not shown: this message goes to one of these mailboxes; set a\n"
                            "   new password in the control panel)\n");
            mbuf_puts(html, "</td><td>not shown: this message goes to one of these mailboxes; "
                            "set a new password in the control panel</td></tr>\n");
            continue;
        }
        mbuf_printf(text, "   %s\n", p->password);
        mbuf_puts(html, "</td><td><code>");
        mbuf_put_html(html, p->password, sizeof p->password);
        mbuf_puts(html, "</code></td></tr>\n");
    }
    mbuf_puts(text, "\n");
    mbuf_puts(html, "</table>\n");
    if (f->passwords_over > 0) {
        mbuf_printf(text,
                    "More mailboxes were used from other countries than one report changes "
                    "(%d):\nthe passwords of the others listed above were NOT changed. Change "
                    "them in the\ncontrol panel.\n\n",
                    ALERT_MAILBOXES_MAX);
        mbuf_printf(html,
                    "<p><strong>More mailboxes were used from other countries than one report "
                    "changes (%d):</strong> the passwords of the others listed above were NOT "
                    "changed. Change them in the control panel.</p>\n",
                    ALERT_MAILBOXES_MAX);
    }
}

static void render_bursts(const struct alert_findings *f, struct mbuf *text, struct mbuf *html)
{
    char a[32], b[32], c[128];

    if (f->bursts_total == 0)
        return;
    mbuf_printf(text, "Repeated failed logins from other countries (%d or more per IP):\n\n",
                ALERT_BURST_MIN);
    mbuf_printf(html,
                "<h3>Repeated failed logins from other countries (%d or more per IP)</h3>\n"
                "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n"
                "<tr><th>IP</th><th>Country</th><th>Failed logins</th><th>Between</th>"
                "<th>Mailboxes tried</th></tr>\n",
                ALERT_BURST_MIN);
    for (int i = 0; i < f->burst_count; i++) {
        const struct alert_burst *u = &f->bursts[i];

        fmt_time(u->first, "%H:%M", a, sizeof a);
        fmt_time(u->last, "%H:%M", b, sizeof b);
        fmt_country(u->country, c, sizeof c);
        mbuf_puts(text, "  ");
        mbuf_put_clean(text, u->ip, sizeof u->ip);
        mbuf_printf(text, ", %s: %d failed logins, %s" DASH "%s, ", c, u->failures, a, b);
        mbuf_put_clean(text, u->mailbox, sizeof u->mailbox);
        if (u->mailboxes > 1)
            mbuf_printf(text, " and %d other mailboxes", u->mailboxes - 1);
        mbuf_puts(text, "\n");
        mbuf_puts(html, "<tr><td>");
        mbuf_put_html(html, u->ip, sizeof u->ip);
        mbuf_puts(html, "</td><td>");
        mbuf_put_html(html, c, sizeof c);
        mbuf_printf(html, "</td><td>%d</td><td>%s" DASH "%s</td><td>", u->failures, a, b);
        mbuf_put_html(html, u->mailbox, sizeof u->mailbox);
        if (u->mailboxes > 1)
            mbuf_printf(html, " and %d other mailboxes", u->mailboxes - 1);
        mbuf_puts(html, "</td></tr>\n");
    }
    mbuf_puts(html, "</table>\n");
    if (f->bursts_total > f->burst_count) {
        mbuf_printf(text, "  … and %d more IPs\n", f->bursts_total - f->burst_count);
        mbuf_printf(html, "<p>… and %d more IPs.</p>\n", f->bursts_total - f->burst_count);
    }
    mbuf_puts(text, "\n");
}

static void render_head(const struct alert_findings *f, const char *title, struct mbuf *text,
                        struct mbuf *html)
{
    mbuf_puts(html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    mbuf_put_html(html, title, 512);
    mbuf_puts(html, "</title></head>\n<body style=\"font-family: sans-serif\">\n");
    if (f->test) {
        mbuf_puts(text, "*** TEST REPORT: sample data, nothing happened, no password was "
                        "changed. ***\n\n");
        mbuf_puts(html, "<p><strong>TEST REPORT: sample data, nothing happened, no password "
                        "was changed.</strong></p>\n");
    }
    mbuf_put_clean(text, title, 512);
    mbuf_puts(text, "\n\n");
    mbuf_puts(html, "<h2>");
    mbuf_put_html(html, title, 512);
    mbuf_puts(html, "</h2>\n");
}

static void render_foot(const struct alert_findings *f, struct mbuf *text, struct mbuf *html)
{
    mbuf_puts(text, "-- \nMail log on ");
    mbuf_put_clean(text, f->host, sizeof f->host);
    mbuf_puts(text, "\n");
    mbuf_puts(html, "<hr><p style=\"color: #666\">Mail log on ");
    mbuf_put_html(html, f->host, sizeof f->host);
    mbuf_puts(html, "</p>\n</body></html>\n");
}

void report_render(const struct alert_findings *f, char *subject, size_t size, struct mbuf *text,
                   struct mbuf *html)
{
    char hour[80], title[600];
    struct mbuf clean = {0};

    fmt_hour(f->hour_start, hour, sizeof hour);
    mbuf_put_clean(&clean, f->domain, sizeof f->domain);
    snprintf(subject, size, "%sSuspicious logins: %s, %s", f->test ? "[TEST] " : "",
             clean.data ? clean.data : "", hour);
    snprintf(title, sizeof title, "Suspicious logins to mailboxes of %s, %s",
             clean.data ? clean.data : "", hour);
    mbuf_free(&clean);

    render_head(f, title, text, html);
    render_usual(f, text, html);
    render_logins(f, text, html);
    render_passwords(f, text, html);
    render_bursts(f, text, html);
    mbuf_puts(text, "If these logins were expected (travel, a new provider), add the country\n"
                    "to the usual countries of the domain, or the IP to its exceptions, in\n"
                    "Mail log's Configuration tab. Otherwise change the passwords of the\n"
                    "mailboxes concerned.\n\n");
    mbuf_puts(html, "<p>If these logins were expected (travel, a new provider), add the country "
                    "to the usual countries of the domain, or the IP to its exceptions, in Mail "
                    "log's Configuration tab. Otherwise change the passwords of the mailboxes "
                    "concerned.</p>\n");
    render_foot(f, text, html);
}

static const char *notice_reason(const char *state, bool withheld)
{
    if (withheld) /* the report did not show the new password */
        return strcmp(state, "unsure") == 0
                   ? "the change was interrupted and may or may not have happened: set a new "
                     "password in the control panel"
                   : "the change was NOT carried out, the old password is still valid: set a "
                     "new one in the control panel";
    if (strcmp(state, "unsure") == 0)
        return "the change was interrupted and may or may not have happened: try the new "
               "password from the report first; if it does not work, the old password is "
               "still valid";
    if (strcmp(state, "abandoned") == 0)
        return "the change was interrupted before it started: the new password from the "
               "report was NOT set, the old password is still valid";
    return "the change failed: the new password from the report was NOT set, the old "
           "password is still valid";
}

void notice_render(const struct alert_findings *f, char *subject, size_t size, struct mbuf *text,
                   struct mbuf *html)
{
    char hour[80], title[600];
    struct mbuf clean = {0};

    fmt_hour(f->hour_start, hour, sizeof hour);
    mbuf_put_clean(&clean, f->domain, sizeof f->domain);
    snprintf(subject, size, "Password NOT changed: %s, %s", clean.data ? clean.data : "", hour);
    snprintf(title, sizeof title, "Password change not carried out: %s, report of %s",
             clean.data ? clean.data : "", hour);
    mbuf_free(&clean);

    render_head(f, title, text, html);
    mbuf_puts(text, "The report on suspicious logins for this hour said new passwords were\n"
                    "being set. For these mailboxes:\n\n");
    mbuf_puts(html, "<p>The report on suspicious logins for this hour said new passwords were "
                    "being set. For these mailboxes:</p>\n<ul>\n");
    for (int i = 0; i < f->password_count; i++) {
        const struct alert_password *p = &f->passwords[i];
        mbuf_puts(text, "  ");
        mbuf_put_clean(text, p->mailbox, sizeof p->mailbox);
        mbuf_printf(text, ": %s.\n", notice_reason(p->state, p->withheld));
        mbuf_puts(html, "<li><strong>");
        mbuf_put_html(html, p->mailbox, sizeof p->mailbox);
        mbuf_printf(html, "</strong>: %s.</li>\n", notice_reason(p->state, p->withheld));
    }
    mbuf_puts(text, "\nPlease change these passwords yourself, in the control panel.\n\n");
    mbuf_puts(html, "</ul>\n<p>Please change these passwords yourself, in the control "
                    "panel.</p>\n");
    render_foot(f, text, html);
}

void report_sample(struct alert_findings *f, int64_t now)
{
    static const struct alert_login sample[] = {
        {0, "info@example.com", "203.0.113.45", "US", 0},
        {1200, "sales@example.com", "2001:db8::7", "BR", 3},
    };

    memset(f, 0, sizeof *f);
    f->test = true;
    snprintf(f->domain, sizeof f->domain, "example.com");
    f->hour_start = alert_hour_start(now) - 3600;
    snprintf(f->usual[0], sizeof f->usual[0], "DE");
    snprintf(f->usual[1], sizeof f->usual[1], "FR");
    f->usual_count = 2;
    for (size_t i = 0; i < sizeof sample / sizeof sample[0]; i++) {
        f->logins[i] = sample[i];
        f->logins[i].time = f->hour_start + 600 + sample[i].time;
    }
    f->login_count = f->logins_total = 2;
    snprintf(f->bursts[0].ip, sizeof f->bursts[0].ip, "198.51.100.23");
    snprintf(f->bursts[0].country, sizeof f->bursts[0].country, "CN");
    snprintf(f->bursts[0].mailbox, sizeof f->bursts[0].mailbox, "admin@example.com");
    f->bursts[0].failures = 37;
    f->bursts[0].mailboxes = 4;
    f->bursts[0].first = f->hour_start + 60;
    f->bursts[0].last = f->hour_start + 3500;
    f->burst_count = f->bursts_total = 1;
}
