/*
 * query.h — the reading side of the store, shared by `maillog search|stats|
 * settings` and the JSON API (docs/API.md): the five tabs with keyset
 * pagination, the trace of one message, global and per-domain settings, and
 * chart statistics.
 *
 * Contract:
 *   - Callers fill a plain struct of parameters; query_param() parses one
 *     textual parameter (as it comes from a URL or the command line) into it
 *     and rejects bad values with an explanation that starts with the field
 *     name ("limit: must be 1..500"), so the API can return `field`.
 *   - Scope is always explicit: either all domains (admin) or a list of
 *     domains the caller may see. A single `domain` must be inside the scope
 *     (else -1, "domain: not in your domains"). Nothing outside the scope is
 *     ever returned or counted.
 *   - Classification (DESIGN.md §4): received = the recipient's domain is in
 *     scope; sent = the message was sent by a domain in scope: its SMTP AUTH
 *     login's domain (a bare login name, or local mail: the envelope
 *     sender's domain); not-received / not-sent = the same with status other
 *     than sent. For scope "all", "in scope" means listed in the domains table
 *     (every domain when that table is empty); the access tab with scope all
 *     shows every login. Content-filter hops are never shown. The admin's
 *     ignore terms hide rows at query time (imap terms: access detail/result;
 *     smtp terms: delivery status text), case-insensitively.
 *   - Rows come through a callback in order; the row struct is only valid
 *     during the call. Strings are raw bytes as logged: escape on output.
 *   - Functions return 0, or -1 with e filled (also when the callback fails).
 */
#ifndef MAILLOG_STORE_QUERY_H
#define MAILLOG_STORE_QUERY_H

#include "store/store.h"
#include "track/record.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum query_tab {
    TAB_ACCESS = 0,
    TAB_RECEIVED,
    TAB_SENT,
    TAB_NOT_RECEIVED,
    TAB_NOT_SENT,
    TAB_COUNT
};

/* "access", "received", "sent", "not-received", "not-sent"; NULL if out of
 * range. from_name accepts those (and "not_received"/"not_sent"); -1 unknown. */
const char *query_tab_name(enum query_tab tab);
int query_tab_from_name(const char *name);

/* Sort columns, named as docs/API.md: access: date, mailbox, ip, country,
 * protocol, result; mail tabs: date, sender, mailbox, recipient, size,
 * status, msgid (received tabs: no recipient; sent tabs: no sender). */
enum query_sort {
    SORT_DATE = 0,
    SORT_MAILBOX,
    SORT_IP,
    SORT_COUNTRY,
    SORT_PROTOCOL,
    SORT_RESULT,
    SORT_SENDER,
    SORT_RECIPIENT,
    SORT_SIZE,
    SORT_STATUS,
    SORT_MSGID,
    SORT_COUNT
};
const char *query_sort_name(enum query_sort sort);
/* -1 when name is not a sort column of tab. */
int query_sort_from_name(enum query_tab tab, const char *name);

#define QUERY_DOMAIN_MAX 256
#define QUERY_Q_MAX 200 /* bytes of the search text */
#define QUERY_LIMIT_MAX 500
#define QUERY_LIMIT_DEFAULT 50
#define QUERY_CURSOR_MAX 700  /* opaque cursor text incl. NUL */
#define QUERY_TOTAL_MAX 10000 /* totals are counted up to this: a bounded walk */
/* A search's total is counted up to this: each candidate row is tested
 * against the text, so a common text would walk ten times more rows. */
#define QUERY_SEARCH_TOTAL_MAX 1000

/* Which domains the caller may see. The strings are the caller's, lower-case
 * domain names; they must outlive the call. all == true ignores the list. */
struct query_scope {
    bool all;
    const char *const *domains;
    size_t count;
};

struct query {
    enum query_tab tab;
    struct query_scope scope;
    char domain[QUERY_DOMAIN_MAX]; /* "" = the whole scope */
    char q[QUERY_Q_MAX + 1];       /* substring, "" = none; case-insensitive (ASCII); searched
                                      in mail tabs: sender, recipient, msgid, queue ID, and the
                                      status text of rows not delivered (sent rows' "250 …
                                      queued as" texts are not indexed); access: mailbox, ip,
                                      detail, protocol and country name */
    int64_t from;                  /* time >= from; 0 = no bound */
    int64_t to;                    /* time < to; 0 = no bound */
    int status;                    /* -1 any; mail tabs: enum delivery_status;
                                      access: 0 ok, 1 failed */
    enum query_sort sort;          /* default SORT_DATE */
    bool ascending;                /* default false (newest first) */
    int limit;                     /* 1..QUERY_LIMIT_MAX */
    char cursor[QUERY_CURSOR_MAX]; /* "" = first page; else a next_cursor */
    bool want_total; /* count matching rows, up to QUERY_TOTAL_MAX, or QUERY_SEARCH_TOTAL_MAX
                        with a search text (then total_capped) */
};

/* Defaults: tab, empty scope (caller must set), status -1, date desc, limit 50. */
void query_init(struct query *q, enum query_tab tab);

/* Parses one textual parameter into q: "tab", "domain", "q", "from", "to"
 * (epoch seconds or YYYY-MM-DD[THH:MM[:SS]][Z] UTC), "status", "sort",
 * "order" (asc|desc), "limit", "cursor". Set "tab" before "sort"/"status".
 * Unknown name → -1 "NAME: unknown parameter". Invalid UTF-8, over-long or
 * control characters → -1 naming the field. */
int query_param(struct query *q, const char *name, const char *value, struct err *e);

/* One row of a tab. For received tabs mailbox == recipient (ours); for sent
 * tabs mailbox == sender (ours). Access rows use the access fields. */
struct query_row {
    int64_t id;         /* delivery id or access event id */
    int64_t message_id; /* mail tabs: the message, for store_trace(); 0 for access */
    int64_t date;
    char mailbox[RECORD_ADDR_MAX];
    /* access */
    char ip[RECORD_IP_MAX];
    char country[3];      /* ISO code; "" local/unknown */
    const char *protocol; /* "imap", "pop3", "smtp", "submission", "managesieve" */
    const char *result;   /* "ok" | "failed" */
    char method[16];
    char detail[RECORD_TEXT_MAX];
    /* mail */
    char sender[RECORD_ADDR_MAX];
    char recipient[RECORD_ADDR_MAX];
    int64_t size;       /* -1 unknown */
    const char *status; /* "sent", "deferred", … */
    char status_text[RECORD_TEXT_MAX];
    const char *reason; /* delivery_reason() of status, dsn and status_text: plain words,
                           static; NULL when none (delivered, or nothing to add) */
    char msgid[RECORD_MSGID_MAX];
    char orig_to[RECORD_ADDR_MAX]; /* the address the mail was sent to, when an alias or a
                                      forward made it another recipient; else "" */
    char login[RECORD_ADDR_MAX];   /* sent tabs: the SMTP AUTH login that sent it (whose
                                      domain's mail it is), "" for local mail; else "" */
};

typedef int (*query_row_fn)(void *ctx, const struct query_row *row, struct err *e);

struct query_result {
    size_t rows;                        /* rows handed to the callback */
    char next_cursor[QUERY_CURSOR_MAX]; /* "" when this was the last page */
    int64_t total;                      /* matching rows; -1 unless want_total */
    bool total_capped;                  /* more than QUERY_TOTAL_MAX match: total is the cap
                                           (show "10000+") */
};

/* Runs q: at most q->limit rows through fn, in order. A bad cursor, a domain
 * outside the scope etc. give -1 with the field named. */
int store_query(struct store *s, const struct query *q, query_row_fn fn, void *ctx,
                struct query_result *res, struct err *e);

/* The EXPLAIN QUERY PLAN of q's page query, details joined with ';' into
 * out (for the tests that check index use, and for diagnosis). */
int store_query_plan(struct store *s, const struct query *q, char *out, size_t size, struct err *e);

/* ---- trace of one message ------------------------------------------- */

struct trace_message {
    int64_t id;
    char host[RECORD_HOST_MAX];
    char queue_id[RECORD_QID_MAX];
    int64_t date; /* first_seen */
    int64_t last_seen;
    char client_host[RECORD_HOST_MAX];
    char client_ip[RECORD_IP_MAX];
    char country[3];
    char sasl_username[RECORD_ADDR_MAX];
    const char *origin; /* "remote" | "sasl" | "local" */
    char msgid[RECORD_MSGID_MAX];
    char sender[RECORD_ADDR_MAX];
    int64_t size;
};

struct trace_delivery {
    char recipient[RECORD_ADDR_MAX];
    char orig_to[RECORD_ADDR_MAX];
    char relay[RECORD_HOST_MAX];
    char service[16];
    int64_t date;
    double delay; /* -1 unknown */
    char dsn[16];
    const char *status;
    char status_text[RECORD_TEXT_MAX];
    const char *reason; /* as in query_row */
    int attempts;
    bool is_hop;
};

struct trace_link {
    int64_t id;
    char queue_id[RECORD_QID_MAX];
    const char *relation; /* "parent" | "child" | "dsn" (a notification for this one) | "dsn_of" */
};

#define TRACE_DELIVERIES_MAX 1000
#define TRACE_CHAIN_MAX 64

struct trace {
    struct trace_message message;
    struct trace_delivery *deliveries; /* heap, at most TRACE_DELIVERIES_MAX */
    size_t delivery_count;
    struct trace_link chain[TRACE_CHAIN_MAX];
    size_t chain_count;
    char *lines; /* heap: raw log lines, '\n'-separated; "" if none */
    size_t lines_len;
    size_t deliveries_hidden; /* left out: recipients outside the caller's domains */
    size_t lines_hidden;      /* left out: lines naming such a recipient, or another
                               * domain's SMTP AUTH login */
};

/* Fills t with message id: 1 found, 0 when it does not exist or is outside
 * scope (the caller answers 404 for both), -1 error. A message is in scope
 * as in the tabs: one of its (or its content-filter parent's or child's)
 * recipients' domains is, or it was sent from the scope by SMTP AUTH or
 * locally; an envelope sender alone, which any client can claim, does not
 * count. Outside the admin's scope, deliveries to other domains, the raw
 * lines naming them and linked messages outside the scope are left out
 * (counted in deliveries_hidden, lines_hidden). Free with trace_free() after
 * a 1. */
int store_trace(struct store *s, int64_t id, const struct query_scope *scope, struct trace *t,
                struct err *e);
void trace_free(struct trace *t);

/* ---- settings ---------------------------------------------------------- */

#define SETTINGS_TERMS_MAX 32
#define SETTINGS_TERM_LEN 128 /* incl. NUL */
#define SETTINGS_IPS_MAX 256
#define SETTINGS_IP_LEN 64 /* an address or CIDR text incl. NUL */
#define SETTINGS_COUNTRIES_MAX 250

enum config_visibility { VISIBILITY_HIDDEN = 0, VISIBILITY_READONLY, VISIBILITY_EDITABLE };
const char *config_visibility_name(enum config_visibility v);

/* The admin settings (DESIGN.md §5). */
struct settings {
    int retention_days; /* 1..3650, default 7 */
    bool cron_enabled;  /* default true */
    char ignore_terms_imap[SETTINGS_TERMS_MAX][SETTINGS_TERM_LEN];
    int ignore_terms_imap_count;
    char ignore_terms_smtp[SETTINGS_TERMS_MAX][SETTINGS_TERM_LEN];
    int ignore_terms_smtp_count;
    bool hide_from_clients;
    bool hide_from_resellers;
    enum config_visibility client_config_visibility; /* default editable */
    char excluded_ips[SETTINGS_IPS_MAX][SETTINGS_IP_LEN];
    int excluded_ips_count;
};

void settings_defaults(struct settings *st);

/* Parses key=value text into st (the CLI's --set and the config file's
 * [defaults]): booleans 1/0/true/false/on/off/yes/no; lists comma-separated.
 * Errors name the key ("retention_days: must be 1..3650"). */
int settings_set_text(struct settings *st, const char *key, const char *value, struct err *e);

/* Checks every field (terms non-empty, ≤ limits, valid UTF-8; IPs/CIDRs
 * valid); the error names the field. */
int settings_validate(const struct settings *st, struct err *e);

/* get: the stored settings over the defaults. set: validates, then replaces
 * all of them atomically. */
int store_settings_get(struct store *s, struct settings *st, struct err *e);
int store_settings_set(struct store *s, const struct settings *st, struct err *e);

struct domain_settings {
    char domain[QUERY_DOMAIN_MAX];
    char usual_countries[SETTINGS_COUNTRIES_MAX][3]; /* ISO codes, upper case */
    int usual_countries_count;
    bool notify;
    bool force_password_change; /* only with notify */
    char ip_exceptions[SETTINGS_IPS_MAX][SETTINGS_IP_LEN];
    int ip_exceptions_count;
    int64_t notify_since; /* read only: when notify was last switched on, 0 unknown */
};

/* Keys: usual_countries, notify, force_password_change, ip_exceptions. */
int domain_settings_set_text(struct domain_settings *ds, const char *key, const char *value,
                             struct err *e);
/* Known country codes, valid IPs/CIDRs, "force_password_change: needs
 * notify on" when force is on without notify, and at least one usual country
 * when notify is on. */
int domain_settings_validate(const struct domain_settings *ds, struct err *e);

/* get: defaults (nothing usual, notify off) when never set. set: validates
 * and replaces atomically; notify_since becomes now when notify goes from off
 * (or on without a usual country, as older versions allowed) to on, stays
 * while notify stays on, and 0 when it goes off. The domain name is
 * lower-cased. */
int store_domain_settings_get(struct store *s, const char *domain, struct domain_settings *ds,
                              struct err *e);
int store_domain_settings_set(struct store *s, const struct domain_settings *ds, struct err *e);

/* ---- domains ---------------------------------------------------------- */

struct domain_row {
    char name[QUERY_DOMAIN_MAX];
    char owner_email[RECORD_ADDR_MAX];
    char client[128];
    char reseller[128];
};

/* 1 and r filled when name is in the domains table, 0 when not. */
int store_domain_get(struct store *s, const char *name, struct domain_row *r, struct err *e);

/* Every domain of the table, by name. */
int store_domain_each(struct store *s,
                      int (*fn)(void *ctx, const struct domain_row *r, struct err *e), void *ctx,
                      struct err *e);

/* ---- what the alert run did (alert_history.c) ----------------------------- */

#define ALERT_HISTORY_MAX 50       /* reports listed for one domain */
#define ALERT_HISTORY_PASSWORDS 20 /* password changes listed for one report */
#define ALERT_HISTORY_ERROR 512    /* bytes of an error kept, incl. NUL */

struct alert_history_password {
    char mailbox[RECORD_ADDR_MAX];
    char state[24]; /* as in password_changes (alert.h): changed, failed_notified, … */
};

/* One suspicious-login report of a domain: the hour it covers and how
 * sending it went (alert.h: pending, sending, sent, failed). */
struct alert_history_report {
    int64_t hour_start; /* the server's clock hour, UTC seconds */
    char state[16];
    int attempts;                    /* SMTP attempts so far */
    char error[ALERT_HISTORY_ERROR]; /* the last failure, or a note; "" none */
    int64_t updated_at;
    struct alert_history_password passwords[ALERT_HISTORY_PASSWORDS]; /* by mailbox */
    int password_count;                                               /* listed */
    int password_total; /* the report's password changes, listed or not */
    /* The owner's address (as the domains file has it now) is one of the
     * mailboxes: the report carried no password at all (alert.h). */
    bool passwords_withheld;
};

/* The domain's reports (hours with nothing to report left out), newest hour
 * first, at most max (1..ALERT_HISTORY_MAX); fn is called for each. The
 * domain name is lower-cased. The caller checks the domain against the
 * caller's scope. */
int store_alert_history(struct store *s, const char *domain, int max,
                        int (*fn)(void *ctx, const struct alert_history_report *r, struct err *e),
                        void *ctx, struct err *e);

/* What went wrong among the kept alert rows, for the admin: domains with a
 * report the SMTP server has not accepted (given up, or refused and retried
 * each run; not one being sent); new passwords that were not (surely) set;
 * the most recently failed report (newest.domain "" when none). */
struct alert_problems {
    int failing_domains;
    int passwords_not_set;
    struct {
        char domain[QUERY_DOMAIN_MAX];
        int64_t hour_start;
        char state[16];
        char error[ALERT_HISTORY_ERROR];
        int64_t updated_at;
    } newest;
};
int store_alert_problems(struct store *s, struct alert_problems *p, struct err *e);

/* The admin's view of every domain's notifications: each domain of the
 * domains file (and any with settings but no longer in it), by name, at most
 * max (1..ALERT_DOMAINS_MAX); *total counts them all. last.state "" when the
 * domain has had no report in the kept rows. */
#define ALERT_DOMAINS_MAX 2000
struct alert_domain {
    char domain[QUERY_DOMAIN_MAX];
    char owner_email[RECORD_ADDR_MAX]; /* as in the domains file, may be unusable */
    bool notify, force_password_change;
    char usual_countries[SETTINGS_COUNTRIES_MAX * 3]; /* "DE,AT" */
    struct {
        int64_t hour_start;
        char state[16];
        char error[ALERT_HISTORY_ERROR];
    } last;
};
int store_alert_domains(struct store *s, int max,
                        int (*fn)(void *ctx, const struct alert_domain *d, struct err *e),
                        void *ctx, int *total, struct err *e);

/* ---- statistics -------------------------------------------------------- */

#define STATS_BUCKETS_MAX 2000
#define STATS_COUNTRIES_MAX 260

struct stats_query {
    struct query_scope scope;
    char domain[QUERY_DOMAIN_MAX]; /* "" = whole scope */
    int64_t from, to;              /* 0 = last 7 days / now */
    bool by_day;                   /* bucket size: day, else hour */
};

struct stats_bucket {
    int64_t t; /* bucket start (UTC) */
    uint64_t by_status[DELIVERY_STATUS_COUNT];
};

struct stats_country {
    char country[3]; /* "" = local/unknown */
    uint64_t ok, failed;
};

struct stats_totals {
    uint64_t received, sent, not_received, not_sent, access_ok, access_failed;
};

struct stats_result {
    struct stats_bucket *buckets; /* heap, sorted by t, only non-empty ones */
    size_t bucket_count;
    struct stats_country countries[STATS_COUNTRIES_MAX]; /* by ok+failed desc */
    size_t country_count;
    struct stats_totals totals;
};

/* Charts: deliveries (received or sent in scope, hops excluded, ignore terms
 * applied) per bucket per status; logins per country; tab totals. */
int store_stats(struct store *s, const struct stats_query *sq, struct stats_result *r,
                struct err *e);
void stats_result_free(struct stats_result *r);

/* `maillog stats`: whole-database counts, like `maillog parse --format summary`. */
struct store_summary {
    uint64_t messages;
    uint64_t deliveries[DELIVERY_STATUS_COUNT]; /* rows by current status, hops excluded */
    uint64_t access_ok, access_failed;
    int64_t db_bytes;
    int64_t oldest, newest; /* record times, 0 when empty */
};
int store_summary(struct store *s, struct store_summary *sum, struct err *e);

#endif
