/*
 * report.c — the trace of one message, chart statistics and the database
 * summary (see query.h). Scope rules are the tabs': a message or a count is
 * only reached through a domain the caller may see.
 */
#include "store/query.h"

#include "store/ignore.h"
#include "store/sqlbuf.h"
#include "store/store_impl.h"
#include "track/reason.h"
#include "util/slice.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const status_names[DELIVERY_STATUS_COUNT] = {"sent",    "deferred", "bounced",
                                                                "expired", "rejected", "discarded"};
static const char *const origin_names[ORIGIN_COUNT] = {"remote", "sasl", "local"};

static const char *status_name(int status)
{
    return status >= 0 && status < DELIVERY_STATUS_COUNT ? status_names[status] : "";
}

/* JSON array text of the scope's domains (heap), for json_each(). */
static char *scope_json(const struct query_scope *sc)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; i < sc->count; i++)
        if (sc->domains[i] != NULL)
            json_array_append_new(arr, json_string(sc->domains[i]));
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* ---- trace ---------------------------------------------------------------------- */

/* What a caller who is not the admin may see of a message: the tabs' rule.
 * A delivery is visible when its recipient's domain is in scope (Received)
 * or it was sent from the scope (sent_domain: the SMTP AUTH login's domain,
 * STORE_SENT_DOMAIN_SQL: Sent). A message is visible when one of its
 * deliveries is, or it was sent from the scope and has none yet; or through
 * its family (the content-filter parent or re-injected child), so that both
 * halves of a filtered mail open. The envelope sender of mail from outside,
 * or of an SMTP AUTH login with a domain, never counts: it is whatever the
 * sending client claimed. Local mail (sendmail, a web site's script) is the
 * domain of the subscription whose system user submitted it (pickup's uid=,
 * the domains file's sysuser_uid); of another user, only its envelope sender
 * goes by. */
#define TRACE_DELIVERY_VISIBLE                                                                     \
    "(recipient_domain IN (SELECT value FROM json_each(?2))"                                       \
    " OR sent_domain IN (SELECT value FROM json_each(?2)))"

_Static_assert(ORIGIN_SASL == 1 && ORIGIN_LOCAL == 2, "STORE_SENT_DOMAIN_SQL names the origins");

/* Runs sql, a yes/no question about message ?1 and scope list ?2 (a JSON
 * array): 1 yes, 0 no (also when there is no such message), -1 error. */
static int scope_test(struct store *s, const char *sql, int64_t id, const char *list, struct err *e)
{
    sqlite3_stmt *st;
    int rc, yes = 0;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        yes = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? yes : store_sql_error(s, e);
}

/* 1 when message id is visible to scope list (a JSON array), 0 not, -1 error. */
static int trace_in_scope(struct store *s, int64_t id, const char *list, struct err *e)
{
    // clang-format off
    static const char sql[] =
        "WITH family(id) AS (SELECT ?1 UNION SELECT parent_id FROM messages WHERE id = ?1"
        " AND parent_id <> 0 UNION SELECT id FROM messages WHERE parent_id = ?1 AND parent_id <> 0)"
        " SELECT EXISTS(SELECT 1 FROM messages m JOIN family f ON m.id = f.id"
        "  WHERE " STORE_SENT_DOMAIN_SQL("m") " IN (SELECT value FROM json_each(?2)))"
        " OR EXISTS(SELECT 1 FROM deliveries d JOIN family f ON d.message_id = f.id"
        "  WHERE " TRACE_DELIVERY_VISIBLE ")";
    // clang-format on

    return scope_test(s, sql, id, list, e);
}

static int trace_message(struct store *s, int64_t id, struct trace *t, struct err *e)
{
    static const char sql[] =
        "SELECT m.id, host, queue_id, first_seen, last_seen, client_host, client_ip,"
        " client_country, sasl_username, origin, msgid, sender, size, l.lines"
        " FROM messages m LEFT JOIN message_lines l ON l.message_id = m.id WHERE m.id = ?1";
    struct trace_message *m = &t->message;
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int origin = sqlite3_column_int(st, 9);
        int n = sqlite3_column_bytes(st, 13);
        const void *blob = sqlite3_column_blob(st, 13);

        m->id = sqlite3_column_int64(st, 0);
        store_column_text(st, 1, m->host, sizeof m->host);
        store_column_text(st, 2, m->queue_id, sizeof m->queue_id);
        m->date = sqlite3_column_int64(st, 3);
        m->last_seen = sqlite3_column_int64(st, 4);
        store_column_text(st, 5, m->client_host, sizeof m->client_host);
        store_column_text(st, 6, m->client_ip, sizeof m->client_ip);
        store_column_text(st, 7, m->country, sizeof m->country);
        store_column_text(st, 8, m->sasl_username, sizeof m->sasl_username);
        m->origin = origin >= 0 && origin < ORIGIN_COUNT ? origin_names[origin] : "";
        store_column_text(st, 10, m->msgid, sizeof m->msgid);
        store_column_text(st, 11, m->sender, sizeof m->sender);
        m->size = sqlite3_column_int64(st, 12);
        t->lines_len = n > 0 ? (size_t)n : 0;
        t->lines = malloc(t->lines_len + 1);
        if (t->lines == NULL) {
            sqlite3_finalize(st);
            return err_set(e, "out of memory");
        }
        if (t->lines_len > 0)
            memcpy(t->lines, blob, t->lines_len);
        t->lines[t->lines_len] = '\0';
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW ? 1 : 0;
}

/* The message's deliveries; with a scope list, only those visible to it
 * (recipients in other domains are not the caller's to see: a Bcc). */
static int trace_deliveries(struct store *s, int64_t id, const char *list, struct trace *t,
                            struct err *e)
{
    static const char sql[] =
        "SELECT recipient, orig_to, relay, service, time, delay, dsn, status, status_text,"
        " attempts, is_hop FROM deliveries WHERE message_id = ?1"
        " AND (?2 IS NULL OR " TRACE_DELIVERY_VISIBLE ") ORDER BY time, id LIMIT ?3";
    static const char hidden_sql[] = "SELECT count(*) FROM deliveries WHERE message_id = ?1"
                                     " AND NOT " TRACE_DELIVERY_VISIBLE;
    sqlite3_stmt *st;
    int rc;

    t->deliveries = calloc(TRACE_DELIVERIES_MAX, sizeof *t->deliveries);
    if (t->deliveries == NULL)
        return err_set(e, "out of memory");
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, id);
    if (list != NULL)
        sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, TRACE_DELIVERIES_MAX);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct trace_delivery *d = &t->deliveries[t->delivery_count++];

        store_column_text(st, 0, d->recipient, sizeof d->recipient);
        store_column_text(st, 1, d->orig_to, sizeof d->orig_to);
        store_column_text(st, 2, d->relay, sizeof d->relay);
        store_column_text(st, 3, d->service, sizeof d->service);
        d->date = sqlite3_column_int64(st, 4);
        d->delay = sqlite3_column_double(st, 5);
        store_column_text(st, 6, d->dsn, sizeof d->dsn);
        d->status = status_name(sqlite3_column_int(st, 7));
        store_column_text(st, 8, d->status_text, sizeof d->status_text);
        d->reason = delivery_reason(d->status, d->dsn, d->status_text);
        d->attempts = sqlite3_column_int(st, 9);
        d->is_hop = sqlite3_column_int(st, 10) != 0;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, e);
    if (list == NULL)
        return 0;
    /* counted apart: the page above stops at TRACE_DELIVERIES_MAX */
    if (sqlite3_prepare_v2(s->db, hidden_sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        t->deliveries_hidden = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_sql_error(s, e);
}

/* The address of the first "key<…>" field of line (key "to=" not part of
 * "orig_to="), or false. */
static bool line_field(const char *line, size_t len, const char *key, struct slice *out)
{
    const char *end = line + len, *p = line;
    size_t key_len = strlen(key);

    while ((p = memmem(p, (size_t)(end - p), key, key_len)) != NULL) {
        const char *address = p + key_len;
        const char *close;

        if (strcmp(key, "to=<") == 0 && p - line >= 5 && memcmp(p - 5, "orig_", 5) == 0) {
            p = address;
            continue;
        }
        close = memchr(address, '>', (size_t)(end - address));
        if (close == NULL)
            return false;
        *out = slice_make(address, (size_t)(close - address));
        return true;
    }
    return false;
}

static bool slice_equals_text(struct slice a, const char *text)
{
    return strlen(text) == a.len && strncasecmp(text, a.ptr, a.len) == 0;
}

/* True when line is about a delivery the caller does not see: its to=<X>
 * (with orig_to=<Y>, if the line has one) is not a visible delivery's
 * recipient (and that delivery's original recipient). A line that cannot be
 * read to its '>' counts as hidden. */
static bool line_names_hidden_recipient(const struct trace *t, const char *line, size_t len)
{
    struct slice to, orig_to;
    bool has_to = line_field(line, len, "to=<", &to);
    bool has_orig = line_field(line, len, "orig_to=<", &orig_to);

    if (!has_to && !has_orig)
        return memmem(line, len, "to=<", 4) != NULL; /* an unreadable one */
    for (size_t i = 0; i < t->delivery_count; i++) {
        const struct trace_delivery *d = &t->deliveries[i];

        if ((!has_to || slice_equals_text(to, d->recipient)) &&
            (!has_orig || slice_equals_text(orig_to, d->orig_to)))
            return false;
    }
    return true;
}

/* Drops, in place, the raw lines for which hidden() is true, counting them
 * in lines_hidden. */
static void trace_drop_lines(struct trace *t,
                             bool (*hidden)(const struct trace *t, const char *line, size_t len))
{
    size_t in = 0, out = 0;

    while (in < t->lines_len) {
        const char *nl = memchr(t->lines + in, '\n', t->lines_len - in);
        size_t len = nl ? (size_t)(nl - (t->lines + in)) + 1 : t->lines_len - in;

        if (!hidden(t, t->lines + in, len)) {
            memmove(t->lines + out, t->lines + in, len);
            out += len;
        } else {
            t->lines_hidden++;
        }
        in += len;
    }
    t->lines_len = out;
    t->lines[out] = '\0';
}

/* 1 when message id was sent by one of the domains of scope list, 0 not,
 * -1 error. */
static int trace_sent_in_scope(struct store *s, int64_t id, const char *list, struct err *e)
{
    static const char sql[] = "SELECT " STORE_SENT_DOMAIN_SQL(
        "m") " IN (SELECT value FROM json_each(?2)) FROM messages m WHERE m.id = ?1";

    return scope_test(s, sql, id, list, e);
}

/* A line naming an SMTP AUTH login (smtpd's client= line). */
static bool line_names_login(const struct trace *t, const char *line, size_t len)
{
    (void)t;
    return memmem(line, len, "sasl_username=", 14) != NULL;
}

/* The linked messages; with a scope list, only those visible to it. */
static int trace_chain(struct store *s, int64_t id, const char *list, struct trace *t,
                       struct err *e)
{
    static const char sql[] =
        "SELECT p.id, p.queue_id, 'parent' FROM messages m JOIN messages p ON p.id = m.parent_id"
        " WHERE m.id = ?1"
        " UNION ALL SELECT id, queue_id, 'child' FROM messages WHERE parent_id = ?1 AND parent_id "
        "<> 0"
        " UNION ALL SELECT o.id, o.queue_id, 'dsn_of' FROM messages m JOIN messages o"
        " ON o.id = m.dsn_of WHERE m.id = ?1"
        " UNION ALL SELECT id, queue_id, 'dsn' FROM messages WHERE dsn_of = ?1 AND dsn_of <> 0"
        " LIMIT ?2";
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, TRACE_CHAIN_MAX);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct trace_link *l = &t->chain[t->chain_count++];
        const char *rel = (const char *)sqlite3_column_text(st, 2);

        l->id = sqlite3_column_int64(st, 0);
        store_column_text(st, 1, l->queue_id, sizeof l->queue_id);
        l->relation = strcmp(rel, "parent") == 0  ? "parent"
                      : strcmp(rel, "child") == 0 ? "child"
                      : strcmp(rel, "dsn") == 0   ? "dsn"
                                                  : "dsn_of";
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, e);
    if (list == NULL)
        return 0;
    size_t kept = 0;
    for (size_t i = 0; i < t->chain_count; i++) {
        int in = trace_in_scope(s, t->chain[i].id, list, e);

        if (in < 0)
            return -1;
        if (in)
            t->chain[kept++] = t->chain[i];
    }
    t->chain_count = kept;
    return 0;
}

int store_trace(struct store *s, int64_t id, const struct query_scope *scope, struct trace *t,
                struct err *e)
{
    char *list = NULL; /* the scope as a JSON array; NULL: the admin's, everything */
    int rc;

    memset(t, 0, sizeof *t);
    if (id <= 0 || (!scope->all && scope->count == 0))
        return 0;
    if (!scope->all && (list = scope_json(scope)) == NULL)
        return err_set(e, "out of memory");
    if (list != NULL && (rc = trace_in_scope(s, id, list, e)) <= 0)
        goto done;
    if ((rc = trace_message(s, id, t, e)) <= 0)
        goto done;
    if (trace_deliveries(s, id, list, t, e) < 0 || trace_chain(s, id, list, t, e) < 0) {
        rc = -1;
        goto done;
    }
    /* the lines about recipients the caller does not see (only when
     * deliveries were hidden: else every recipient in them is one of the
     * message's deliveries) */
    if (t->deliveries_hidden > 0)
        trace_drop_lines(t, line_names_hidden_recipient);
    if (list != NULL && t->message.sasl_username[0] != '\0') {
        int sent_by_caller = trace_sent_in_scope(s, id, list, e);

        if (sent_by_caller < 0) {
            rc = -1;
            goto done;
        }
        /* a recipient's view of mail another customer sent: that customer's
         * login name is not theirs to see (it is in no header of the mail
         * either) */
        if (!sent_by_caller) {
            t->message.sasl_username[0] = '\0';
            trace_drop_lines(t, line_names_login);
        }
    }
    rc = 1;
done:
    if (rc <= 0)
        trace_free(t);
    free(list);
    return rc;
}

void trace_free(struct trace *t)
{
    free(t->deliveries);
    free(t->lines);
    t->deliveries = NULL;
    t->lines = NULL;
    t->delivery_count = 0;
    t->lines_len = 0;
}

/* ---- statistics ------------------------------------------------------------------ */

/* " AND (col IN scope)"; all: the domains table unless it is empty. */
static void stats_scope(struct sqlbuf *b, const struct stats_query *sq, const char *list,
                        bool any_domains, const char *column, bool access)
{
    if (sq->domain[0] != '\0') {
        sqlbuf_add(b, " AND ");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " = ");
        sqlbuf_text(b, sq->domain);
    } else if (!sq->scope.all) {
        sqlbuf_add(b, " AND ");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " IN (SELECT value FROM json_each(");
        sqlbuf_text(b, list);
        sqlbuf_add(b, "))");
    } else if (any_domains && !access) {
        sqlbuf_add(b, " AND ");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " IN (SELECT name FROM domains)");
    }
}

static int run_count(struct store *s, struct sqlbuf *b, uint64_t *out, struct err *e)
{
    sqlite3_stmt *st = sqlbuf_prepare(b, s->db, e);
    int rc;

    if (st == NULL)
        return -1;
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_sql_error(s, e);
}

static int stats_totals(struct store *s, const struct stats_query *sq, const char *list, bool any,
                        int64_t from, int64_t to, const struct ignore_terms *ignore,
                        struct sqlbuf *b, struct stats_result *r, struct err *e)
{
    static const struct {
        const char *cond, *column;
        size_t offset;
    } parts[] = {
        {"is_hop = 0", "recipient_domain", offsetof(struct stats_totals, received)},
        {"is_hop = 0 AND sent_domain <> ''", "sent_domain", offsetof(struct stats_totals, sent)},
        {"is_hop = 0 AND status <> 0", "recipient_domain",
         offsetof(struct stats_totals, not_received)},
        {"is_hop = 0 AND sent_domain <> '' AND status <> 0", "sent_domain",
         offsetof(struct stats_totals, not_sent)},
    };

    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        sqlbuf_init(b);
        sqlbuf_add(b, "SELECT count(*) FROM deliveries WHERE ");
        sqlbuf_add(b, parts[i].cond);
        stats_scope(b, sq, list, any, parts[i].column, false);
        sqlbuf_add(b, " AND time >= ");
        sqlbuf_int(b, from);
        sqlbuf_add(b, " AND time < ");
        sqlbuf_int(b, to);
        ignore_add(b, ignore, false);
        if (run_count(s, b, (uint64_t *)((char *)&r->totals + parts[i].offset), e) < 0)
            return -1;
    }
    return 0;
}

/* Adds the (bucket, status, count) rows of one statement to r. */
static int stats_accumulate(struct store *s, struct sqlbuf *b, int64_t size, struct stats_result *r,
                            struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = sqlbuf_prepare(b, s->db, e)) == NULL)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 0) * size;
        int status = sqlite3_column_int(st, 1);
        size_t k;

        /* rows come sorted by t; the second statement merges into the first's */
        for (k = r->bucket_count; k > 0 && r->buckets[k - 1].t > t; k--)
            ;
        if (k == 0 || r->buckets[k - 1].t != t) {
            if (r->bucket_count == STATS_BUCKETS_MAX)
                continue;
            memmove(&r->buckets[k + 1], &r->buckets[k],
                    (r->bucket_count - k) * sizeof r->buckets[0]);
            memset(&r->buckets[k], 0, sizeof r->buckets[0]);
            r->buckets[k].t = t;
            r->bucket_count++;
            k++;
        }
        if (status >= 0 && status < DELIVERY_STATUS_COUNT)
            r->buckets[k - 1].by_status[status] += (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

/* Deliveries per bucket and status: those received in scope (one walk of the
 * recipient-domain index), plus those sent from scope to elsewhere (one walk
 * of the sender-domain index), so internal mail counts once. */
static int stats_buckets(struct store *s, const struct stats_query *sq, const char *list, bool any,
                         int64_t from, int64_t to, const struct ignore_terms *ignore,
                         struct sqlbuf *b, struct stats_result *r, struct err *e)
{
    int64_t size = sq->by_day ? 86400 : 3600;

    if ((r->buckets = calloc(STATS_BUCKETS_MAX + 1, sizeof *r->buckets)) == NULL)
        return err_set(e, "out of memory");
    for (int part = 0; part < 2; part++) {
        bool everything = sq->scope.all && !any && sq->domain[0] == '\0';

        if (everything && part == 1)
            break;
        sqlbuf_init(b);
        sqlbuf_add(b, "SELECT (time / ");
        sqlbuf_int(b, size);
        sqlbuf_add(b, ") AS t, status, count(*) FROM deliveries WHERE is_hop = 0");
        if (part == 1)
            sqlbuf_add(b, " AND sent_domain <> ''");
        sqlbuf_add(b, " AND time >= ");
        sqlbuf_int(b, from);
        sqlbuf_add(b, " AND time < ");
        sqlbuf_int(b, to);
        stats_scope(b, sq, list, any, part == 0 ? "recipient_domain" : "sent_domain", false);
        if (part == 1 && !everything) {
            sqlbuf_add(b, " AND NOT (1");
            stats_scope(b, sq, list, any, "recipient_domain", false);
            sqlbuf_add(b, ")");
        }
        ignore_add(b, ignore, false);
        sqlbuf_add(b, " GROUP BY t, status ORDER BY t");
        if (stats_accumulate(s, b, size, r, e) < 0)
            return -1;
    }
    return 0;
}

static int stats_countries(struct store *s, const struct stats_query *sq, const char *list,
                           int64_t from, int64_t to, const struct ignore_terms *ignore,
                           struct sqlbuf *b, struct stats_result *r, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    sqlbuf_init(b);
    sqlbuf_add(b,
               "SELECT country, sum(success), sum(1 - success) FROM access_events WHERE time >= ");
    sqlbuf_int(b, from);
    sqlbuf_add(b, " AND time < ");
    sqlbuf_int(b, to);
    stats_scope(b, sq, list, false, "user_domain", true);
    ignore_add(b, ignore, true);
    sqlbuf_add(b, " GROUP BY country ORDER BY count(*) DESC, country LIMIT ");
    sqlbuf_int(b, STATS_COUNTRIES_MAX);
    if ((st = sqlbuf_prepare(b, s->db, e)) == NULL)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct stats_country *c = &r->countries[r->country_count++];

        store_column_text(st, 0, c->country, sizeof c->country);
        c->ok = (uint64_t)sqlite3_column_int64(st, 1);
        c->failed = (uint64_t)sqlite3_column_int64(st, 2);
        r->totals.access_ok += c->ok;
        r->totals.access_failed += c->failed;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

int store_stats(struct store *s, const struct stats_query *sq, struct stats_result *r,
                struct err *e)
{
    struct sqlbuf *b;
    struct ignore_terms *ignore = NULL;
    char *list = NULL;
    int64_t to = sq->to > 0 ? sq->to : (int64_t)time(NULL) + 1;
    int64_t from = sq->from > 0 ? sq->from : to - 7 * 86400;
    sqlite3_stmt *st;
    bool any = false;
    int rc = -1;

    memset(r, 0, sizeof *r);
    /* every bucket of the range fits (one at each end may be partial): the
     * newest must not be the ones left out */
    if ((to - from) / (sq->by_day ? 86400 : 3600) + 2 > STATS_BUCKETS_MAX)
        return err_set(e, "bucket: the range holds more than %d %ss; ask for a shorter range%s",
                       STATS_BUCKETS_MAX - 2, sq->by_day ? "day" : "hour",
                       sq->by_day ? "" : " or bucket=day");
    if (sq->domain[0] != '\0' && !sq->scope.all) {
        bool found = false;

        for (size_t i = 0; i < sq->scope.count; i++)
            if (sq->scope.domains[i] && strcmp(sq->scope.domains[i], sq->domain) == 0)
                found = true;
        if (!found)
            return err_set(e, "domain: not in your domains");
    }
    if ((b = malloc(sizeof *b)) == NULL || (ignore = malloc(sizeof *ignore)) == NULL) {
        free(b);
        return err_set(e, "out of memory");
    }
    if (!sq->scope.all && (list = scope_json(&sq->scope)) == NULL) {
        free(ignore);
        free(b);
        return err_set(e, "out of memory");
    }
    if (sqlite3_prepare_v2(s->db, "SELECT EXISTS(SELECT 1 FROM domains)", -1, &st, NULL) ==
        SQLITE_OK) {
        any = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (ignore_terms_load(s, ignore, e) < 0 ||
        stats_buckets(s, sq, list, any, from, to, ignore, b, r, e) < 0 ||
        stats_countries(s, sq, list, from, to, ignore, b, r, e) < 0 ||
        stats_totals(s, sq, list, any, from, to, ignore, b, r, e) < 0) {
        stats_result_free(r);
        goto done;
    }
    rc = 0;
done:
    free(list);
    free(ignore);
    free(b);
    return rc;
}

void stats_result_free(struct stats_result *r)
{
    free(r->buckets);
    r->buckets = NULL;
    r->bucket_count = 0;
}

/* ---- summary ----------------------------------------------------------------------- */

int store_summary(struct store *s, struct store_summary *sum, struct err *e)
{
    static const char sql[] =
        "SELECT 0, 0, count(*) FROM messages"
        " UNION ALL SELECT 1, status, count(*) FROM deliveries WHERE is_hop = 0 GROUP BY status"
        " UNION ALL SELECT 2, success, count(*) FROM access_events GROUP BY success"
        " UNION ALL SELECT 3, 0, min(time) FROM deliveries"
        " UNION ALL SELECT 3, 1, max(time) FROM deliveries"
        " UNION ALL SELECT 3, 0, min(time) FROM access_events"
        " UNION ALL SELECT 3, 1, max(time) FROM access_events";
    sqlite3_stmt *st;
    int rc;

    memset(sum, 0, sizeof *sum);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(st, 0), k = sqlite3_column_int(st, 1);
        int64_t n = sqlite3_column_int64(st, 2);

        if (kind == 0)
            sum->messages = (uint64_t)n;
        else if (kind == 1 && k >= 0 && k < DELIVERY_STATUS_COUNT)
            sum->deliveries[k] = (uint64_t)n;
        else if (kind == 2)
            *(k ? &sum->access_ok : &sum->access_failed) = (uint64_t)n;
        else if (kind == 3 && sqlite3_column_type(st, 2) != SQLITE_NULL) {
            if (k == 0 && (sum->oldest == 0 || n < sum->oldest))
                sum->oldest = n;
            if (k == 1 && n > sum->newest)
                sum->newest = n;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, e);
    sum->db_bytes = store_db_bytes(s);
    return 0;
}
