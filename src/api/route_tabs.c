/*
 * route_tabs.c — the read routes over the records: GET /v1/{tab} (JSON or
 * CSV), GET /v1/messages/{id}, GET /v1/stats. Every query gets the caller's
 * scope from the identity; a `domain` parameter only narrows it.
 */
#include "api/routes.h"
#include "api/text.h"
#include "geo/geo.h"
#include "util/ipnet.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CSV_ROWS_MAX 100000
#define CSV_BYTES_MAX (64u << 20)

/* The parameters query_param() types for us, in the order it needs them. */
static const char *const tab_params[] = {"q",    "from",  "to",    "status",
                                         "sort", "order", "limit", "cursor"};

static const char *const access_columns[] = {"id",      "date",         "mailbox",  "ip",
                                             "country", "country_name", "protocol", "result",
                                             "method",  "detail"};
static const char *const received_columns[] = {"id",      "message_id", "date",   "sender",
                                               "mailbox", "size",       "status", "status_text",
                                               "reason",  "msgid",      "orig_to"};
static const char *const sent_columns[] = {"id",        "message_id", "date",   "mailbox",
                                           "recipient", "size",       "status", "status_text",
                                           "reason",    "msgid",      "login"};

/* What the tabs call a login's country: the English name of its ISO code;
 * without one, "local" for a private, loopback or link-local address and
 * "unknown" for one the GeoIP data does not place. */
static const char *country_text(const char *iso, const char *ip)
{
    struct ip_addr addr;
    const char *name;

    if (iso[0] != '\0')
        return (name = country_name(iso)) != NULL ? name : "";
    if (ip[0] == '\0')
        return "";
    return ip_parse(ip, strlen(ip), &addr) == 0 && ip_is_local(&addr) ? "local" : "unknown";
}

static bool is_received(enum query_tab tab)
{
    return tab == TAB_RECEIVED || tab == TAB_NOT_RECEIVED;
}

static json_t *size_json(int64_t size)
{
    return size < 0 ? json_null() : json_integer(size);
}

static json_t *row_json(enum query_tab tab, const struct query_row *r)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    json_set_int(o, "id", r->id);
    if (tab == TAB_ACCESS) {
        json_set_int(o, "date", r->date);
        json_set_text(o, "mailbox", r->mailbox);
        json_set_text(o, "ip", r->ip);
        json_set_text(o, "country", r->country);
        json_set_text(o, "country_name", country_text(r->country, r->ip));
        json_set_text(o, "protocol", r->protocol);
        json_set_text(o, "result", r->result);
        json_set_text(o, "method", r->method);
        json_set_text(o, "detail", r->detail);
        return o;
    }
    json_set_int(o, "message_id", r->message_id);
    json_set_int(o, "date", r->date);
    if (is_received(tab)) {
        json_set_text(o, "sender", r->sender);
        json_set_text(o, "mailbox", r->mailbox);
    } else {
        json_set_text(o, "mailbox", r->mailbox);
        json_set_text(o, "recipient", r->recipient);
    }
    json_object_set_new(o, "size", size_json(r->size));
    json_set_text(o, "status", r->status);
    json_set_text(o, "status_text", r->status_text);
    json_object_set_new(o, "reason", r->reason != NULL ? json_string(r->reason) : json_null());
    json_set_text(o, "msgid", r->msgid);
    if (is_received(tab))
        json_set_text(o, "orig_to", r->orig_to);
    else
        json_set_text(o, "login", r->login);
    return o;
}

static int json_row(void *ctx, const struct query_row *r, struct err *e)
{
    struct api *a = ctx;
    json_t *rows = json_object_get(a->reply->json, "rows");

    if (json_array_append_new(rows, row_json(a->tab, r)) < 0)
        return err_set(e, "out of memory");
    return 0;
}

/* CSV: the same columns as the JSON rows, in the same order, and after
 * "date" (epoch seconds) "date_utc", the same time as a spreadsheet reads
 * it ("2026-11-30 14:05:09"). */
static int csv_header(struct buf *b, enum query_tab tab)
{
    const char *const *cols = tab == TAB_ACCESS  ? access_columns
                              : is_received(tab) ? received_columns
                                                 : sent_columns;
    size_t n = tab == TAB_ACCESS  ? sizeof access_columns / sizeof access_columns[0]
               : is_received(tab) ? sizeof received_columns / sizeof received_columns[0]
                                  : sizeof sent_columns / sizeof sent_columns[0];

    for (size_t i = 0; i < n; i++) {
        if (csv_field(b, cols[i], i == 0) < 0)
            return -1;
        if (strcmp(cols[i], "date") == 0 && csv_field(b, "date_utc", false) < 0)
            return -1;
    }
    return csv_end_row(b);
}

/* The "date" and "date_utc" cells of t. */
static int csv_date(struct buf *b, int64_t t)
{
    char text[32] = "";
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) != NULL)
        strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return csv_field_int(b, t, false) | csv_field(b, text, false);
}

static int csv_row_fields(struct buf *b, enum query_tab tab, const struct query_row *r)
{
    if (csv_field_int(b, r->id, true) < 0)
        return -1;
    if (tab == TAB_ACCESS) {
        return csv_date(b, r->date) | csv_field(b, r->mailbox, false) | csv_field(b, r->ip, false) |
               csv_field(b, r->country, false) |
               csv_field(b, country_text(r->country, r->ip), false) |
               csv_field(b, r->protocol, false) | csv_field(b, r->result, false) |
               csv_field(b, r->method, false) | csv_field(b, r->detail, false);
    }
    if (csv_field_int(b, r->message_id, false) < 0 || csv_date(b, r->date) < 0)
        return -1;
    if (is_received(tab)) {
        if (csv_field(b, r->sender, false) < 0 || csv_field(b, r->mailbox, false) < 0)
            return -1;
    } else if (csv_field(b, r->mailbox, false) < 0 || csv_field(b, r->recipient, false) < 0)
        return -1;
    if ((r->size < 0 ? csv_field(b, "", false) : csv_field_int(b, r->size, false)) < 0)
        return -1;
    return csv_field(b, r->status, false) | csv_field(b, r->status_text, false) |
           csv_field(b, r->reason != NULL ? r->reason : "", false) | csv_field(b, r->msgid, false) |
           csv_field(b, is_received(tab) ? r->orig_to : r->login, false);
}

static int csv_row(void *ctx, const struct query_row *r, struct err *e)
{
    struct api *a = ctx;

    if (csv_row_fields(&a->reply->csv, a->tab, r) < 0 || csv_end_row(&a->reply->csv) < 0)
        return err_set(e, "csv: the download is larger than %u bytes", CSV_BYTES_MAX);
    return 0;
}

static const char *csv_name(enum query_tab tab)
{
    switch (tab) {
    case TAB_ACCESS:
        return "maillog-access.csv";
    case TAB_RECEIVED:
        return "maillog-received.csv";
    case TAB_SENT:
        return "maillog-sent.csv";
    case TAB_NOT_RECEIVED:
        return "maillog-not-received.csv";
    default:
        return "maillog-not-sent.csv";
    }
}

/* format=csv: without a limit, every matching row (up to CSV_ROWS_MAX), page
 * by page; with one, that page. */
static int tab_csv(struct api *a, struct query *q, bool paged)
{
    struct query_result res;
    size_t rows = 0;
    struct err e;

    buf_init(&a->reply->csv, CSV_BYTES_MAX);
    if (csv_header(&a->reply->csv, a->tab) < 0)
        return reply_internal(a->reply, "out of memory");
    if (!paged)
        q->limit = QUERY_LIMIT_MAX;
    q->want_total = false;
    do {
        if (store_query(a->store, q, csv_row, a, &res, &e) < 0) {
            if (strncmp(e.text, "csv:", 4) == 0)
                return reply_fail(a->reply, 413, "too_large", NULL, "%s (narrow the search)",
                                  e.text);
            return api_store_error(a, &e);
        }
        rows += res.rows;
        memcpy(q->cursor, res.next_cursor, sizeof q->cursor);
    } while (!paged && res.next_cursor[0] != '\0' && rows < CSV_ROWS_MAX);
    a->reply->csv_name = csv_name(a->tab);
    return 0;
}

int route_tab(struct api *a)
{
    struct query *q = malloc(sizeof *q);
    const struct param *format, *limit = NULL;
    bool csv = false;
    struct query_result res;
    struct err e;
    json_t *doc;
    int rc = -1;

    if (q == NULL)
        return reply_internal(a->reply, "out of memory");
    query_init(q, a->tab);
    if (api_domain_param(a, true, a->domain) < 0)
        goto out;
    memcpy(q->domain, a->domain, strlen(a->domain) + 1);
    for (size_t i = 0; i < sizeof tab_params / sizeof tab_params[0]; i++) {
        const struct param *p = request_param(a->req, tab_params[i]);
        if (p == NULL)
            continue;
        if (strcmp(tab_params[i], "limit") == 0)
            limit = p;
        if (query_param(q, tab_params[i], p->value, &e) < 0) {
            reply_fail(a->reply, 400, "bad_parameter", tab_params[i], "%s", e.text);
            goto out;
        }
    }
    format = request_param(a->req, "format");
    if (format != NULL) {
        if (strcmp(format->value, "csv") == 0)
            csv = true;
        else if (strcmp(format->value, "json") != 0) {
            reply_bad_param(a->reply, "format", "must be json or csv");
            goto out;
        }
    }
    if (request_check_unused(a->req, a->reply) < 0 || api_open(a) < 0 ||
        api_known_domain(a, q->domain) < 0)
        goto out;
    identity_scope(&a->id, &q->scope);
    if (csv) {
        rc = tab_csv(a, q, limit != NULL);
        goto out;
    }
    /* Counted up to QUERY_TOTAL_MAX (QUERY_SEARCH_TOTAL_MAX for a search), then total_capped. */
    q->want_total = true;
    doc = json_pack("{s:[]}", "rows");
    if (reply_json(a->reply, doc) < 0)
        goto out;
    if (store_query(a->store, q, json_row, a, &res, &e) < 0) {
        api_store_error(a, &e);
        goto out;
    }
    json_object_set_new(doc, "next_cursor",
                        res.next_cursor[0] ? api_json_text(res.next_cursor) : json_null());
    json_set_int(doc, "total", res.total);
    json_object_set_new(doc, "total_capped", json_boolean(res.total_capped));
    rc = 0;
out:
    free(q);
    return rc;
}

static json_t *trace_message_json(const struct trace_message *m)
{
    json_t *o = json_object();

    json_set_int(o, "id", m->id);
    json_set_text(o, "host", m->host);
    json_set_text(o, "queue_id", m->queue_id);
    json_set_int(o, "date", m->date);
    json_set_text(o, "client_host", m->client_host);
    json_set_text(o, "client_ip", m->client_ip);
    json_set_text(o, "country", m->country);
    json_set_text(o, "country_name", country_text(m->country, m->client_ip));
    json_set_text(o, "sasl_username", m->sasl_username);
    json_set_text(o, "origin", m->origin);
    json_set_text(o, "msgid", m->msgid);
    json_set_text(o, "sender", m->sender);
    json_object_set_new(o, "size", size_json(m->size));
    return o;
}

static json_t *trace_delivery_json(const struct trace_delivery *d)
{
    json_t *o = json_object();

    json_set_text(o, "recipient", d->recipient);
    json_set_text(o, "orig_to", d->orig_to);
    json_set_text(o, "relay", d->relay);
    json_set_text(o, "service", d->service);
    json_set_int(o, "date", d->date);
    json_object_set_new(o, "delay", d->delay < 0 ? json_null() : json_real(d->delay));
    json_set_text(o, "dsn", d->dsn);
    json_set_text(o, "status", d->status);
    json_set_text(o, "status_text", d->status_text);
    json_object_set_new(o, "reason", d->reason != NULL ? json_string(d->reason) : json_null());
    json_set_int(o, "attempts", d->attempts);
    json_object_set_new(o, "is_hop", json_boolean(d->is_hop));
    return o;
}

static json_t *trace_lines_json(const char *text, size_t len)
{
    json_t *list = json_array();
    const char *p = text, *end = text + len;

    while (list != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = strndup(p, n);
        if (line != NULL)
            json_array_append_new(list, api_json_text(line));
        free(line);
        p += n + 1;
    }
    return list;
}

int route_message(struct api *a)
{
    struct query_scope scope;
    struct trace t;
    struct err e;
    json_t *doc, *list;
    int rc;

    if (request_check_unused(a->req, a->reply) < 0 || api_open(a) < 0)
        return -1;
    identity_scope(&a->id, &scope);
    memset(&t, 0, sizeof t);
    rc = store_trace(a->store, a->message_id, &scope, &t, &e);
    if (rc < 0)
        return reply_internal(a->reply, e.text);
    if (rc == 0)
        return reply_fail(a->reply, 404, "not_found", NULL, "no such message");
    doc = json_object();
    if (reply_json(a->reply, doc) == 0) {
        json_object_set_new(doc, "message", trace_message_json(&t.message));
        list = json_array();
        json_object_set_new(doc, "deliveries", list);
        for (size_t i = 0; i < t.delivery_count; i++)
            json_array_append_new(list, trace_delivery_json(&t.deliveries[i]));
        list = json_array();
        json_object_set_new(doc, "chain", list);
        for (size_t i = 0; i < t.chain_count; i++) {
            json_t *l = json_object();
            json_set_int(l, "id", t.chain[i].id);
            json_set_text(l, "queue_id", t.chain[i].queue_id);
            json_set_text(l, "relation", t.chain[i].relation);
            json_array_append_new(list, l);
        }
        json_object_set_new(doc, "lines", trace_lines_json(t.lines ? t.lines : "", t.lines_len));
        json_set_int(doc, "deliveries_hidden", (int64_t)t.deliveries_hidden);
        json_set_int(doc, "lines_hidden", (int64_t)t.lines_hidden);
    }
    trace_free(&t);
    return 0;
}

/* from/to through query_param(), so they take the same forms as the tabs. */
static int stats_time(struct api *a, const char *name, int64_t *out)
{
    const struct param *p = request_param(a->req, name);
    struct query scratch;
    struct err e;

    *out = 0;
    if (p == NULL)
        return 0;
    query_init(&scratch, TAB_RECEIVED);
    if (query_param(&scratch, name, p->value, &e) < 0)
        return reply_fail(a->reply, 400, "bad_parameter", name, "%s", e.text);
    *out = name[0] == 'f' ? scratch.from : scratch.to;
    return 0;
}

static json_t *stats_json(const struct stats_result *r)
{
    json_t *doc = json_object(), *list = json_array(), *totals;

    json_object_set_new(doc, "buckets", list);
    for (size_t i = 0; i < r->bucket_count; i++) {
        json_t *b = json_object();
        json_set_int(b, "t", r->buckets[i].t);
        for (int s = 0; s < DELIVERY_STATUS_COUNT; s++)
            json_set_int(b, delivery_status_name((enum delivery_status)s),
                         (long long)r->buckets[i].by_status[s]);
        json_array_append_new(list, b);
    }
    list = json_array();
    json_object_set_new(doc, "logins_by_country", list);
    for (size_t i = 0; i < r->country_count; i++) {
        const struct stats_country *c = &r->countries[i];
        const char *name = c->country[0] ? country_name(c->country) : NULL;
        json_t *o = json_object();
        json_set_text(o, "country", c->country);
        json_set_text(o, "country_name", name ? name : "");
        json_set_int(o, "ok", (long long)c->ok);
        json_set_int(o, "failed", (long long)c->failed);
        json_array_append_new(list, o);
    }
    totals = json_object();
    json_set_int(totals, "received", (long long)r->totals.received);
    json_set_int(totals, "sent", (long long)r->totals.sent);
    json_set_int(totals, "not_received", (long long)r->totals.not_received);
    json_set_int(totals, "not_sent", (long long)r->totals.not_sent);
    json_set_int(totals, "access_ok", (long long)r->totals.access_ok);
    json_set_int(totals, "access_failed", (long long)r->totals.access_failed);
    json_object_set_new(doc, "totals", totals);
    return doc;
}

/* For the admin: why the configured GeoIP database cannot be used (the
 * ingest then stores no countries and the alert run waits), or null. */
static json_t *geoip_problem(struct api *a)
{
    struct err e;

    return geo_check(a->cfg->geoip_path, &e) < 0 ? api_json_text(e.text) : json_null();
}

int route_stats(struct api *a)
{
    struct stats_query sq;
    struct stats_result *r;
    const struct param *bucket;
    struct err e;
    int64_t read_to = 0;
    int rc;

    memset(&sq, 0, sizeof sq);
    if (api_domain_param(a, false, a->domain) < 0 || stats_time(a, "from", &sq.from) < 0 ||
        stats_time(a, "to", &sq.to) < 0)
        return -1;
    if (sq.from != 0 && sq.to != 0 && sq.to <= sq.from)
        return reply_bad_param(a->reply, "to", "must be after from");
    bucket = request_param(a->req, "bucket");
    if (bucket != NULL) {
        if (strcmp(bucket->value, "day") == 0)
            sq.by_day = true;
        else if (strcmp(bucket->value, "hour") != 0)
            return reply_bad_param(a->reply, "bucket", "must be hour or day");
    }
    if (request_check_unused(a->req, a->reply) < 0 || api_open(a) < 0 ||
        api_known_domain(a, a->domain) < 0)
        return -1;
    memcpy(sq.domain, a->domain, strlen(a->domain) + 1);
    identity_scope(&a->id, &sq.scope);
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return reply_internal(a->reply, "out of memory");
    rc = store_stats(a->store, &sq, r, &e);
    if (rc >= 0 && store_read_mark_get(a->store, &read_to, &e) < 0)
        rc = -1;
    if (rc < 0) {
        api_store_error(a, &e);
    } else {
        json_t *doc = stats_json(r);

        /* how current the counts are: null before any complete ingest run */
        json_object_set_new(doc, "log_read_to",
                            read_to > 0 ? json_integer((json_int_t)read_to) : json_null());
        if (identity_is_admin(&a->id)) {
            json_t *alerts = api_alert_problems(a, &e);

            json_object_set_new(doc, "geoip_problem", geoip_problem(a));
            if (alerts == NULL) {
                json_decref(doc);
                stats_result_free(r);
                free(r);
                return reply_internal(a->reply, e.text);
            }
            json_object_set_new(doc, "alert_problems", alerts);
        }
        reply_json(a->reply, doc);
    }
    stats_result_free(r);
    free(r);
    return rc;
}
