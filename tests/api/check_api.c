/*
 * check_api.c — the API tests (`make check-api`): the real maillog.cgi
 * (ASan+UBSan build) run as a CGI program against a database the real
 * `maillog ingest` made from a generated log (cgi_world.c). Every expected
 * value comes from the model that generated the log.
 *
 * Suites: routes per role, sort and search, pagination during ingest, CSV,
 * settings and CSRF, and a matrix of bad requests (none may give a 5xx, a
 * crash, a sanitizer report, or another customer's data).
 */
#include "api/logtail.h"
#include "store/query.h"
#include "cgi.h"

#include <check.h>
#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct world W;

/* ---- helpers ------------------------------------------------------------ */

static void call(const char *const *who, const char *method, const char *path, const char *query,
                 const char *body, struct resp *r)
{
    struct call c = {.method = method, .path = path, .query = query, .body = body, .who = who};
    cgi_call(&W, &c, r);
    ck_assert_msg(!r->sanitizer, "sanitizer report for %s %s?%s:\n%s", method, path,
                  query ? query : "", r->err);
}

static void get(const char *const *who, const char *path, const char *query, struct resp *r)
{
    call(who, "GET", path, query, NULL, r);
}

/* GET expecting status; returns the JSON (owned by r). */
static json_t *get_ok(const char *const *who, const char *path, const char *query, int status,
                      struct resp *r)
{
    get(who, path, query, r);
    ck_assert_msg(r->status == status, "%s?%s: status %d, want %d: %s", path, query ? query : "",
                  r->status, status, r->body ? r->body : "");
    ck_assert_msg(r->json != NULL, "%s: no JSON body", path);
    return r->json;
}

static void url_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out[o++] = (char)c;
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* What the API shows for raw log text: each 0xFF byte (the only non-UTF-8
 * byte the model writes) as U+FFFD. Static buffer: one use at a time. */
static const char *shown(const char *raw)
{
    static char out[1024];
    size_t o = 0;

    for (; *raw && o + 4 < sizeof out; raw++) {
        if ((unsigned char)*raw == 0xFF) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else
            out[o++] = *raw;
    }
    out[o] = '\0';
    return out;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    ck_assert_msg(s != NULL, "no string %s", key);
    return s;
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "no integer %s", key);
    return json_integer_value(v);
}

/* Every row of a listing, following next_cursor; *total from the first page. */
static json_t *fetch_all(const char *const *who, const char *tab, const char *extra, int limit,
                         long long *total)
{
    json_t *all = json_array();
    char cursor[2100] = "", query[3000], path[64];
    int pages = 0;

    snprintf(path, sizeof path, "/v1/%s", tab);
    for (;;) {
        struct resp r;
        json_t *doc, *next;
        bool more;
        snprintf(query, sizeof query, "%s%slimit=%d%s%s", extra ? extra : "", extra ? "&" : "",
                 limit, cursor[0] ? "&cursor=" : "", cursor);
        doc = get_ok(who, path, query, 200, &r);
        if (pages == 0)
            ck_assert(json_is_false(json_object_get(doc, "total_capped"))); /* < 10000 rows */
        if (pages == 0 && total != NULL)
            *total = json_is_null(json_object_get(doc, "total")) ? -1 : jint(doc, "total");
        json_array_extend(all, json_object_get(doc, "rows"));
        next = json_object_get(doc, "next_cursor");
        ck_assert(json_is_null(next) || json_is_string(next));
        more = json_is_string(next);
        if (more)
            url_encode(json_string_value(next), cursor, sizeof cursor);
        resp_free(&r);
        ck_assert_int_lt(++pages, 1000);
        if (!more)
            break;
    }
    return all;
}

/* ---- the model's answers ---------------------------------------------- */

static bool in_tab(const struct mmsg *g, const char *tab, const char *domain)
{
    bool received = g->kind != MK_SENT && (!domain || strcmp(addr_domain(g->rcpt), domain) == 0);
    bool sent = g->kind == MK_SENT && (!domain || strcmp(addr_domain(g->sender), domain) == 0);
    bool ok = strcmp(g->status, "sent") == 0;

    if (strcmp(tab, "received") == 0)
        return received;
    if (strcmp(tab, "not-received") == 0)
        return received && !ok;
    if (strcmp(tab, "sent") == 0)
        return sent;
    if (strcmp(tab, "not-sent") == 0)
        return sent && !ok;
    return false;
}

static long long model_count(const char *tab, const char *domain)
{
    long long n = 0;

    if (strcmp(tab, "access") == 0) {
        for (int i = 0; i < W.m.nlogins; i++)
            n += !domain || strcmp(addr_domain(W.m.logins[i].user), domain) == 0;
        return n;
    }
    for (int i = 0; i < W.m.nmsgs; i++)
        n += in_tab(&W.m.msgs[i], tab, domain);
    return n;
}

/* The model message a mail-tab row shows (by recipient + sender). */
static const struct mmsg *model_msg(json_t *row, const char *tab)
{
    bool received = strstr(tab, "received") != NULL;
    const char *sender = received ? jstr(row, "sender") : jstr(row, "mailbox");
    const char *rcpt = received ? jstr(row, "mailbox") : jstr(row, "recipient");

    for (int i = 0; i < W.m.nmsgs; i++)
        if (strcmp(W.m.msgs[i].sender, sender) == 0 && strcmp(W.m.msgs[i].rcpt, rcpt) == 0 &&
            in_tab(&W.m.msgs[i], tab, NULL))
            return &W.m.msgs[i];
    return NULL;
}

static const struct mlogin *model_login(json_t *row)
{
    for (int i = 0; i < W.m.nlogins; i++)
        if (strcmp(W.m.logins[i].user, jstr(row, "mailbox")) == 0 &&
            strcmp(W.m.logins[i].ip, jstr(row, "ip")) == 0 && W.m.logins[i].t == jint(row, "date"))
            return &W.m.logins[i];
    return NULL;
}

static void check_row(json_t *row, const char *tab)
{
    if (strcmp(tab, "access") == 0) {
        const struct mlogin *l = model_login(row);
        ck_assert_msg(l != NULL, "access row not in the model: %s %s", jstr(row, "mailbox"),
                      jstr(row, "ip"));
        ck_assert_str_eq(jstr(row, "protocol"), l->protocol);
        ck_assert_str_eq(jstr(row, "result"), l->ok ? "ok" : "failed");
        ck_assert_str_eq(jstr(row, "country"), l->country);
        if (strcmp(l->country, "DE") == 0)
            ck_assert_str_eq(jstr(row, "country_name"), "Germany");
    } else {
        const struct mmsg *g = model_msg(row, tab);
        ck_assert_msg(g != NULL, "%s row not in the model", tab);
        ck_assert_int_eq(jint(row, "date"), g->t);
        ck_assert_str_eq(jstr(row, "status"), g->status);
        ck_assert_str_eq(jstr(row, "status_text"), shown(g->status_text));
        if (g->reason_word == NULL)
            ck_assert(json_is_null(json_object_get(row, "reason")));
        else
            ck_assert_msg(strstr(jstr(row, "reason"), g->reason_word) != NULL,
                          "reason \"%s\" for \"%s\"", jstr(row, "reason"), g->status_text);
        if (g->size >= 0)
            ck_assert_int_eq(jint(row, "size"), g->size);
        if (g->kind != MK_REJECTED)
            ck_assert_str_eq(jstr(row, "msgid"), g->msgid);
        ck_assert_int_gt(jint(row, "message_id"), 0);
    }
    ck_assert_int_gt(jint(row, "id"), 0);
}

static const char *const tabs[] = {"access", "received", "sent", "not-received", "not-sent"};

/* ---- routes per role ----------------------------------------------------- */

START_TEST(me_per_role)
{
    struct resp r;
    json_t *me;

    me = get_ok(WHO_ADMIN, "/v1/me", NULL, 200, &r);
    ck_assert_str_eq(jstr(me, "role"), "admin");
    ck_assert(json_is_true(json_object_get(me, "admin")));
    ck_assert_int_eq(json_array_size(json_object_get(me, "domains")), NDOMAINS);
    ck_assert_int_eq(json_array_size(json_object_get(me, "tabs")), 6);
    ck_assert_str_eq(jstr(me, "config_mode"), "editable");
    ck_assert(json_is_true(json_object_get(me, "log_tail_enabled")));
    ck_assert_str_eq(r.headers + strlen(r.headers) - strlen("nosniff"), "nosniff");
    ck_assert_ptr_nonnull(strstr(r.headers, "Cache-Control: no-store"));
    resp_free(&r);

    me = get_ok(WHO_RES1, "/v1/me", NULL, 200, &r);
    ck_assert_str_eq(jstr(me, "role"), "reseller");
    ck_assert_int_eq(json_array_size(json_object_get(me, "domains")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(me, "domains"), 0)),
                     "example.com");
    ck_assert_ptr_null(json_object_get(me, "admin"));
    ck_assert(json_is_false(json_object_get(me, "log_tail_enabled")));
    resp_free(&r);

    me = get_ok(WHO_CLI2, "/v1/me", NULL, 200, &r);
    ck_assert_str_eq(jstr(me, "user"), "cli2");
    ck_assert_int_eq(json_array_size(json_object_get(me, "domains")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(me, "domains"), 0)),
                     "example.net");
    resp_free(&r);

    me = get_ok(WHO_SA_CLI1, "/v1/me", NULL, 200, &r);
    ck_assert_str_eq(jstr(me, "role"), "client");
    ck_assert_int_eq(strlen(jstr(me, "csrf_token")), 64);
    resp_free(&r);

    get(WHO_NOBODY, "/v1/me", NULL, &r);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "code"), "unauthenticated");
    resp_free(&r);
    {
        const char *const stranger[] = {"REMOTE_USER=mallory", NULL};
        get(stranger, "/v1/me", NULL, &r);
        ck_assert_int_eq(r.status, 403);
        resp_free(&r);
    }
}
END_TEST

START_TEST(countries_list)
{
    struct resp r;
    json_t *list = json_object_get(get_ok(WHO_CLI1, "/v1/countries", NULL, 200, &r), "countries");
    bool de = false;

    ck_assert_int_gt(json_array_size(list), 240);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        ck_assert_int_eq(strlen(jstr(c, "code")), 2);
        if (i > 0)
            ck_assert_int_lt(strcmp(jstr(json_array_get(list, i - 1), "code"), jstr(c, "code")), 0);
        if (strcmp(jstr(c, "code"), "DE") == 0)
            de = strcmp(jstr(c, "name"), "Germany") == 0;
    }
    ck_assert(de);
    resp_free(&r);
}
END_TEST

/* Every tab, every role, every domain of theirs: the model's rows, exactly. */
START_TEST(tabs_per_role_match_the_model)
{
    static const struct {
        const char *const *who;
        const char *domains[NDOMAINS];
    } roles[] = {
        {WHO_ADMIN, {"example.com", "example.org", "example.net"}},
        {WHO_RES1, {"example.com", "example.org", NULL}},
        {WHO_CLI1, {"example.com", NULL, NULL}},
        {WHO_CLI2, {"example.net", NULL, NULL}},
        {WHO_SA_CLI1, {"example.com", NULL, NULL}},
    };

    for (size_t ri = 0; ri < sizeof roles / sizeof roles[0]; ri++)
        for (int d = 0; d < NDOMAINS && roles[ri].domains[d]; d++)
            for (size_t t = 0; t < 5; t++) {
                char q[80];
                long long total = -1;
                json_t *rows;
                snprintf(q, sizeof q, "domain=%s", roles[ri].domains[d]);
                rows = fetch_all(roles[ri].who, tabs[t], q, 500, &total);
                ck_assert_msg(total == model_count(tabs[t], roles[ri].domains[d]),
                              "%s %s: total %lld, model %lld", tabs[t], roles[ri].domains[d], total,
                              model_count(tabs[t], roles[ri].domains[d]));
                ck_assert_int_eq((long long)json_array_size(rows), total);
                for (size_t i = 0; i < json_array_size(rows); i++)
                    check_row(json_array_get(rows, i), tabs[t]);
                json_decref(rows);
            }
}
END_TEST

START_TEST(admin_without_domain_sees_all)
{
    for (size_t t = 0; t < 5; t++) {
        long long total = -1;
        json_t *rows = fetch_all(WHO_ADMIN, tabs[t], NULL, 500, &total);
        ck_assert_int_eq(total, model_count(tabs[t], NULL));
        ck_assert_int_eq((long long)json_array_size(rows), total);
        json_decref(rows);
    }
}
END_TEST

/* A client naming someone else's domain gets 403 and nothing else. */
static void assert_no_data(const struct resp *r, const char *foreign)
{
    char needle[64];

    ck_assert_msg(r->status == 403 || r->status == 404 || r->status == 400,
                  "status %d for a foreign domain", r->status);
    ck_assert_ptr_nonnull(r->json);
    ck_assert_int_eq(json_object_size(r->json), 1);
    ck_assert_ptr_nonnull(json_object_get(r->json, "error"));
    snprintf(needle, sizeof needle, "@%s", foreign);
    ck_assert_ptr_null(strstr(r->body, needle));
}

START_TEST(foreign_domain_is_forbidden)
{
    struct resp r;

    for (size_t t = 0; t < 5; t++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/%s", tabs[t]);
        get(WHO_CLI1, path, "domain=example.net", &r);
        ck_assert_int_eq(r.status, 403);
        assert_no_data(&r, "example.net");
        resp_free(&r);
        get(WHO_CLI1, path, "domain=EXAMPLE.NET&format=csv", &r);
        ck_assert_int_eq(r.status, 403);
        assert_no_data(&r, "example.net");
        resp_free(&r);
        get(WHO_RES1, path, "domain=example.net", &r);
        ck_assert_int_eq(r.status, 403);
        resp_free(&r);
        get(WHO_CLI1, path, NULL, &r); /* domain is required for clients */
        ck_assert_int_eq(r.status, 400);
        resp_free(&r);
    }
    get(WHO_CLI1, "/v1/stats", "domain=example.net", &r);
    ck_assert_int_eq(r.status, 403);
    assert_no_data(&r, "example.net");
    resp_free(&r);
    get(WHO_CLI1, "/v1/domains/example.net/settings", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get(WHO_ADMIN, "/v1/received", "domain=unknown.example", &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
}
END_TEST

/* The trace says in plain words why a delivery failed, and nothing for a
 * delivered one. */
START_TEST(message_trace_says_why)
{
    static const char *const statuses[] = {"bounced", "sent"};
    struct resp r;

    for (int i = 0; i < 2; i++) {
        char query[64], path[64];
        json_t *rows, *doc, *delivery;
        const struct mmsg *g;

        snprintf(query, sizeof query, "domain=example.com&status=%s", statuses[i]);
        rows = fetch_all(WHO_CLI1, "received", query, 5, NULL);
        g = model_msg(json_array_get(rows, 0), "received");
        ck_assert_ptr_nonnull(g);
        snprintf(path, sizeof path, "/v1/messages/%lld",
                 jint(json_array_get(rows, 0), "message_id"));
        doc = get_ok(WHO_CLI1, path, NULL, 200, &r);
        delivery = json_array_get(json_object_get(doc, "deliveries"), 0);
        if (g->reason_word == NULL)
            ck_assert(json_is_null(json_object_get(delivery, "reason")));
        else
            ck_assert_ptr_nonnull(strstr(jstr(delivery, "reason"), g->reason_word));
        ck_assert_int_eq(i == 0, g->reason_word != NULL);
        resp_free(&r);
        json_decref(rows);
    }
}
END_TEST

/* The trace: in scope for its domain's owner and the admin, 404 for others. */
START_TEST(message_trace_is_scoped)
{
    struct resp r;
    json_t *rows = fetch_all(WHO_CLI1, "received", "domain=example.com&status=sent", 5, NULL);
    json_t *row = json_array_get(rows, 0), *doc;
    const struct mmsg *g = model_msg(row, "received");
    char path[64];

    ck_assert_ptr_nonnull(g);
    snprintf(path, sizeof path, "/v1/messages/%lld", jint(row, "message_id"));
    doc = get_ok(WHO_CLI1, path, NULL, 200, &r);
    ck_assert_str_eq(jstr(json_object_get(doc, "message"), "msgid"), g->msgid);
    ck_assert_str_eq(jstr(json_object_get(doc, "message"), "sender"), g->sender);
    ck_assert_str_eq(jstr(json_object_get(doc, "message"), "queue_id"), g->qid);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(doc, "deliveries"), 0), "recipient"),
                     g->rcpt);
    ck_assert_int_ge(json_array_size(json_object_get(doc, "lines")), 4);
    ck_assert_int_eq(jint(doc, "deliveries_hidden"), 0); /* one recipient, in scope */
    ck_assert_int_eq(jint(doc, "lines_hidden"), 0);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_array_get(json_object_get(doc, "lines"), 0)), g->qid));
    resp_free(&r);
    get_ok(WHO_ADMIN, path, NULL, 200, &r);
    resp_free(&r);
    get(WHO_CLI2, path, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    assert_no_data(&r, "example.com");
    ck_assert_ptr_null(strstr(r.body, g->msgid));
    resp_free(&r);
    get(WHO_CLI1, "/v1/messages/999999999", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    json_decref(rows);
}
END_TEST

START_TEST(stats_match_the_model)
{
    struct resp r;
    json_t *doc = get_ok(WHO_CLI1, "/v1/stats", "domain=example.com&bucket=day", 200, &r);
    json_t *totals = json_object_get(doc, "totals"), *list;
    long long sum = 0, ok = 0, failed = 0, want_ok = 0, want_failed = 0;

    /* the world's ingest read the whole log after the model's last record */
    ck_assert_int_ge(jint(doc, "log_read_to"), (long long)W.m.t0);
    ck_assert_int_le(jint(doc, "log_read_to"), (long long)time(NULL));
    ck_assert_int_eq(jint(totals, "received"), model_count("received", "example.com"));
    ck_assert_int_eq(jint(totals, "sent"), model_count("sent", "example.com"));
    ck_assert_int_eq(jint(totals, "not_received"), model_count("not-received", "example.com"));
    ck_assert_int_eq(jint(totals, "not_sent"), model_count("not-sent", "example.com"));
    for (int i = 0; i < W.m.nlogins; i++)
        if (strcmp(addr_domain(W.m.logins[i].user), "example.com") == 0)
            W.m.logins[i].ok ? want_ok++ : want_failed++;
    ck_assert_int_eq(jint(totals, "access_ok"), want_ok);
    ck_assert_int_eq(jint(totals, "access_failed"), want_failed);
    list = json_object_get(doc, "buckets");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *b = json_array_get(list, i);
        ck_assert_int_eq(jint(b, "t") % 86400, 0);
        sum += jint(b, "sent") + jint(b, "deferred") + jint(b, "bounced") + jint(b, "expired") +
               jint(b, "rejected") + jint(b, "discarded");
    }
    ck_assert_int_eq(sum,
                     model_count("received", "example.com") + model_count("sent", "example.com"));
    list = json_object_get(doc, "logins_by_country");
    for (size_t i = 0; i < json_array_size(list); i++) {
        ok += jint(json_array_get(list, i), "ok");
        failed += jint(json_array_get(list, i), "failed");
    }
    ck_assert_int_eq(ok, want_ok);
    ck_assert_int_eq(failed, want_failed);
    resp_free(&r);
    get(WHO_CLI1, "/v1/stats", "domain=example.com&bucket=week", &r);
    ck_assert_int_eq(r.status, 400);
    resp_free(&r);
    /* 100 days by hour is 2400 buckets: refused, not cut short */
    get(WHO_CLI1, "/v1/stats", "domain=example.com&from=1000000000&to=1008640000&bucket=hour", &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"bucket\""));
    resp_free(&r);
    get_ok(WHO_CLI1, "/v1/stats", "domain=example.com&from=1000000000&to=1008640000&bucket=day",
           200, &r);
    resp_free(&r);
}
END_TEST

/* The admin is told when the GeoIP database cannot be used (no countries,
 * alert runs waiting); nobody else sees the server's paths. */
START_TEST(stats_tell_the_admin_of_a_missing_geoip_database)
{
    char path[600], moved[620];
    struct resp r;
    json_t *doc = get_ok(WHO_ADMIN, "/v1/stats", NULL, 200, &r);

    ck_assert(json_is_null(json_object_get(doc, "geoip_problem")));
    resp_free(&r);
    snprintf(path, sizeof path, "%s/country.mmdb", W.dir);
    snprintf(moved, sizeof moved, "%s.away", path);
    ck_assert_int_eq(rename(path, moved), 0);
    doc = get_ok(WHO_ADMIN, "/v1/stats", NULL, 200, &r);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "geoip_problem")));
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(doc, "geoip_problem")), "country.mmdb"));
    resp_free(&r);
    doc = get_ok(WHO_CLI1, "/v1/stats", "domain=example.com", 200, &r);
    ck_assert_ptr_null(json_object_get(doc, "geoip_problem"));
    resp_free(&r);
    ck_assert_int_eq(rename(moved, path), 0);
}
END_TEST

/* The last lines of the configured log, as the file has them. */
START_TEST(log_tail_is_the_end_of_the_log)
{
    struct resp r;
    FILE *f = fopen(W.log, "r");
    char *lines[4096], buf[2048];
    int n = 0;
    json_t *list;
    const char *const nolines[] = {"MAILLOG_MAX_LINES=0", NULL};
    const char *const five[] = {"MAILLOG_MAX_LINES=5", NULL};
    const char *const million[] = {"MAILLOG_MAX_LINES=1000000", NULL};

    ck_assert_ptr_nonnull(f);
    while (n < 4096 && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        lines[n++] = strdup(buf);
    }
    fclose(f);
    list = json_object_get(get_ok(WHO_ADMIN, "/v1/log-tail", NULL, 200, &r), "lines");
    ck_assert_int_eq(json_array_size(list), 25); /* max_lines of the config */
    for (int i = 0; i < 25; i++)
        ck_assert_str_eq(json_string_value(json_array_get(list, (size_t)i)),
                         shown(lines[n - 25 + i]));
    ck_assert_int_eq(jint(r.json, "max_lines"), 25);
    resp_free(&r);
    list = json_object_get(get_ok(WHO_ADMIN, "/v1/log-tail", "lines=3", 200, &r), "lines");
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert_str_eq(json_string_value(json_array_get(list, 2)), shown(lines[n - 1]));
    resp_free(&r);
    {
        struct call c = {.path = "/v1/log-tail", .who = WHO_ADMIN, .extra = nolines};
        cgi_call(&W, &c, &r);
        ck_assert_int_eq(r.status, 404);
        resp_free(&r);
        c.extra = five;
        c.query = "lines=100";
        cgi_call(&W, &c, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "lines")), 5);
        resp_free(&r);
        /* panel.ini may say more than the view ever shows: the page is told
         * the real limit */
        c.extra = million;
        c.query = NULL;
        cgi_call(&W, &c, &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(jint(r.json, "max_lines"), LOGTAIL_LINES_MAX);
        resp_free(&r);
    }
    get(WHO_CLI1, "/v1/log-tail", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get(WHO_RES1, "/v1/log-tail", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    for (int i = 0; i < n; i++)
        free(lines[i]);
}
END_TEST

/* ---- settings, visibility, CSRF ------------------------------------------ */

static int put(const char *const *who, const char *path, const char *body, const char *csrf,
               struct resp *r)
{
    struct call c = {.method = "PUT", .path = path, .body = body, .who = who, .csrf = csrf};
    cgi_call(&W, &c, r);
    ck_assert_msg(!r->sanitizer, "sanitizer: %s", r->err);
    return r->status;
}

static void admin_set(const char *body)
{
    struct resp r;
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/settings", body, NULL, &r), 200);
    resp_free(&r);
}

START_TEST(domain_settings_round_trip)
{
    struct resp r;
    json_t *doc;

    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert_str_eq(jstr(doc, "domain"), "example.com");
    ck_assert(json_is_true(json_object_get(doc, "editable")));
    resp_free(&r);
    ck_assert_int_eq(put(WHO_CLI1, "/v1/domains/example.com/settings",
                         "{\"notify\":true,\"usual_countries\":[\"de\",\"AT\"],"
                         "\"ip_exceptions\":[\"192.0.2.0/24\",\"2001:db8::1\"]}",
                         NULL, &r),
                     200);
    resp_free(&r);
    doc = get_ok(WHO_RES1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert(json_is_true(json_object_get(doc, "notify")));
    ck_assert_int_eq(json_array_size(json_object_get(doc, "usual_countries")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "ip_exceptions")), 2);
    resp_free(&r);
    /* force without notify: refused, naming the field; nothing changed. */
    ck_assert_int_eq(put(WHO_CLI1, "/v1/domains/example.com/settings",
                         "{\"notify\":false,\"force_password_change\":true}", NULL, &r),
                     422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "force_password_change");
    resp_free(&r);
    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert(json_is_true(json_object_get(doc, "notify")));
    resp_free(&r);
    /* notify with no usual country would report nothing: refused. */
    ck_assert_int_eq(put(WHO_CLI1, "/v1/domains/example.com/settings",
                         "{\"usual_countries\":[],\"notify\":true}", NULL, &r),
                     422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "usual_countries");
    resp_free(&r);
    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "usual_countries")), 2);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_CLI1, "/v1/domains/example.com/settings",
                         "{\"usual_countries\":[\"XX\"]}", NULL, &r),
                     422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "usual_countries");
    resp_free(&r);
    ck_assert_int_eq(put(WHO_CLI1, "/v1/domains/example.com/settings",
                         "{\"ip_exceptions\":[\"192.0.2.1/24\"]}", NULL, &r),
                     422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "ip_exceptions");
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_CLI1, "/v1/domains/example.com/settings", "{\"notify\":\"yes\"}", NULL, &r), 422);
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_CLI1, "/v1/domains/example.net/settings", "{\"notify\":true}", NULL, &r), 403);
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_CLI1, "/v1/domains/example.com/settings", "{\"notify\":false}", NULL, &r), 200);
    resp_free(&r);
}
END_TEST

START_TEST(visibility_rules)
{
    struct resp r;
    json_t *doc;

    admin_set("{\"client_config_visibility\":\"readonly\"}");
    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert(json_is_false(json_object_get(doc, "editable")));
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_CLI1, "/v1/domains/example.com/settings", "{\"notify\":true}", NULL, &r), 403);
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_RES1, "/v1/domains/example.com/settings", "{\"notify\":true}", NULL, &r), 403);
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_ADMIN, "/v1/domains/example.com/settings", "{\"notify\":false}", NULL, &r), 200);
    resp_free(&r);
    admin_set("{\"client_config_visibility\":\"hidden\"}");
    get(WHO_CLI1, "/v1/domains/example.com/settings", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get(WHO_CLI1, "/v1/domains/example.com/alerts", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get(WHO_RES1, "/v1/domains/example.com/alerts", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get_ok(WHO_ADMIN, "/v1/domains/example.com/alerts", NULL, 200, &r);
    resp_free(&r);
    doc = get_ok(WHO_CLI1, "/v1/me", NULL, 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "tabs")), 5);
    ck_assert_str_eq(jstr(doc, "config_mode"), "hidden");
    resp_free(&r);
    admin_set("{\"client_config_visibility\":\"editable\",\"hide_from_clients\":true}");
    get(WHO_CLI1, "/v1/received", "domain=example.com", &r);
    ck_assert_int_eq(r.status, 403);
    assert_no_data(&r, "example.com");
    resp_free(&r);
    get(WHO_CLI1, "/v1/me", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get_ok(WHO_RES1, "/v1/received", "domain=example.com", 200, &r);
    resp_free(&r);
    admin_set("{\"hide_from_clients\":false,\"hide_from_resellers\":true}");
    get(WHO_RES1, "/v1/sent", "domain=example.com", &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get_ok(WHO_CLI1, "/v1/sent", "domain=example.com", 200, &r);
    resp_free(&r);
    admin_set("{\"hide_from_resellers\":false}");
}
END_TEST

/* Runs sql on the world's database, as another process (the alert run) would. */
static void world_sql(const char *sql)
{
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(W.db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The notification history under ASan: every field of a report and its
 * password changes, long error text cut whole, quiet hours left out, the
 * admin's summary; the alert run's side is tests/alert/alerts_test.py. */
START_TEST(alert_history_route)
{
    struct resp r;
    json_t *doc, *reports, *rep, *pw;
    char sql[4096], longer[1200];

    memset(longer, 'e', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    snprintf(
        sql, sizeof sql,
        "INSERT INTO alert_reports(domain, hour_start, state, attempts, last_error, updated_at)"
        " VALUES ('example.com', 7200, 'sent', 1, '', 11000),"
        " ('example.com', 10800, 'none', 0, '', 14700),"
        " ('example.com', 14400, 'pending', 3, '%s', 18500),"
        " ('example.org', 14400, 'failed', 168, 'no owner', 18600);"
        "INSERT INTO password_changes(domain, hour_start, mailbox, state, updated_at)"
        " VALUES ('example.com', 7200, 'b@example.com', 'unsure_unnotified', 11001),"
        " ('example.com', 7200, 'a@example.com', 'changed', 11000);",
        longer);
    world_sql(sql);
    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/alerts", NULL, 200, &r);
    reports = json_object_get(doc, "reports");
    ck_assert_int_eq(json_array_size(reports), 2);
    rep = json_array_get(reports, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "hour_start")), 14400);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "hour_end")), 18000);
    ck_assert_str_eq(jstr(rep, "state"), "pending");
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "attempts")), 3);
    ck_assert_uint_eq(strlen(jstr(rep, "error")), ALERT_HISTORY_ERROR - 1);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "passwords")), 0);
    rep = json_array_get(reports, 1);
    ck_assert_str_eq(jstr(rep, "state"), "sent");
    ck_assert(json_is_null(json_object_get(rep, "error")));
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "updated_at")), 11000);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "passwords_total")), 2);
    pw = json_object_get(rep, "passwords");
    ck_assert_str_eq(jstr(json_array_get(pw, 0), "mailbox"), "a@example.com");
    ck_assert_str_eq(jstr(json_array_get(pw, 0), "state"), "changed");
    ck_assert_str_eq(jstr(json_array_get(pw, 1), "mailbox"), "b@example.com");
    ck_assert_str_eq(jstr(json_array_get(pw, 1), "state"), "unsure_unnotified");
    resp_free(&r);
    get(WHO_CLI1, "/v1/domains/example.org/alerts", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    assert_no_data(&r, "no owner");
    resp_free(&r);
    doc = get_ok(WHO_ADMIN, "/v1/stats", NULL, 200, &r);
    rep = json_object_get(doc, "alert_problems");
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "failing_domains")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "passwords_not_set")), 1);
    ck_assert_str_eq(jstr(json_object_get(rep, "newest"), "domain"), "example.org");
    ck_assert_str_eq(jstr(json_object_get(rep, "newest"), "error"), "no owner");
    resp_free(&r);
    doc = get_ok(WHO_RES1, "/v1/stats", NULL, 200, &r);
    ck_assert_ptr_null(json_object_get(doc, "alert_problems"));
    resp_free(&r);
    world_sql("DELETE FROM alert_reports; DELETE FROM password_changes;");
    doc = get_ok(WHO_ADMIN, "/v1/stats", NULL, 200, &r);
    ck_assert(json_is_null(json_object_get(doc, "alert_problems")));
    resp_free(&r);
}
END_TEST

/* The bounds (50 reports, 20 password changes a report, with the total),
 * a report being sent (pending, no error yet: not a failure), and one that
 * went to one of its own mailboxes (no password was in it). */
START_TEST(alert_history_bounds_and_states)
{
    struct resp r;
    json_t *doc, *reports, *rep;
    char sql[256];

    world_sql("DELETE FROM alert_reports; DELETE FROM password_changes;");
    for (int i = 0; i < 55; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO alert_reports VALUES ('example.com', %d, 'sent', 1, '', %d)",
                 3600 * (i + 1), 3600 * (i + 2));
        world_sql(sql);
    }
    for (int i = 0; i < 25; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO password_changes VALUES ('example.com', %d, 'box%02d@example.com',"
                 " 'changed', 1)",
                 3600 * 55, i);
        world_sql(sql);
    }
    world_sql("INSERT INTO password_changes VALUES ('example.com', 3600 * 54, 'owner@example.com',"
              " 'changed', 1);"
              "INSERT INTO alert_reports VALUES ('example.org', 3600, 'pending', 1, '', 7200)");
    doc = get_ok(WHO_ADMIN, "/v1/domains/example.com/alerts", NULL, 200, &r);
    reports = json_object_get(doc, "reports");
    ck_assert_int_eq(json_array_size(reports), ALERT_HISTORY_MAX);
    rep = json_array_get(reports, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "hour_start")), 3600 * 55);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "passwords")), ALERT_HISTORY_PASSWORDS);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "passwords_total")), 25);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(rep, "passwords"), 19), "mailbox"),
                     "box19@example.com");
    ck_assert(json_is_false(json_object_get(rep, "passwords_withheld")));
    rep = json_array_get(reports, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "hour_start")), 3600 * 54);
    ck_assert(json_is_true(json_object_get(rep, "passwords_withheld")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(reports, 49), "hour_start")),
                     3600 * 6);
    resp_free(&r);
    doc = get_ok(WHO_ADMIN, "/v1/stats", NULL, 200, &r);
    ck_assert(json_is_null(json_object_get(doc, "alert_problems"))); /* being sent is no failure */
    resp_free(&r);
    world_sql("DELETE FROM alert_reports; DELETE FROM password_changes;");
}
END_TEST

/* The admin's table of every domain's notifications: settings, where the
 * reports go, the newest report (a newer hour with nothing to report does
 * not hide it); admin only. */
START_TEST(alert_domains_overview)
{
    struct resp r;
    json_t *doc, *list, *org = NULL;

    ck_assert_int_eq(put(WHO_ADMIN, "/v1/domains/example.org/settings",
                         "{\"usual_countries\":[\"DE\",\"FR\"],\"notify\":true,"
                         "\"force_password_change\":true}",
                         NULL, &r),
                     200);
    resp_free(&r);
    world_sql("DELETE FROM alert_reports; DELETE FROM password_changes;"
              "INSERT INTO alert_reports VALUES ('example.org', 3600, 'sent', 1, '', 7500),"
              " ('example.org', 7200, 'failed', 168, 'no way', 9000),"
              " ('example.org', 10800, 'none', 0, '', 14500)");
    doc = get_ok(WHO_ADMIN, "/v1/alerts/domains", NULL, 200, &r);
    list = json_object_get(doc, "domains");
    ck_assert_int_eq(jint(doc, "total"), 3);
    ck_assert_int_eq(json_array_size(list), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *d = json_array_get(list, i);
        char owner[64];

        ck_assert_str_eq(jstr(d, "domain"), i == 0   ? "example.com"
                                            : i == 1 ? "example.net"
                                                     : "example.org");
        snprintf(owner, sizeof owner, "owner@%s", jstr(d, "domain"));
        ck_assert_str_eq(jstr(d, "notify_to"), owner);
        if (strcmp(jstr(d, "domain"), "example.org") == 0)
            org = d;
    }
    ck_assert(json_is_true(json_object_get(org, "notify")));
    ck_assert(json_is_true(json_object_get(org, "force_password_change")));
    ck_assert_int_eq(json_array_size(json_object_get(org, "usual_countries")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(org, "usual_countries"), 1)),
                     "FR");
    ck_assert_int_eq(jint(json_object_get(org, "last_report"), "hour_start"), 7200);
    ck_assert_str_eq(jstr(json_object_get(org, "last_report"), "state"), "failed");
    ck_assert_str_eq(jstr(json_object_get(org, "last_report"), "error"), "no way");
    ck_assert(json_is_null(json_object_get(json_array_get(list, 1), "last_report")));
    resp_free(&r);
    get(WHO_RES1, "/v1/alerts/domains", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    get(WHO_CLI1, "/v1/alerts/domains", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    assert_no_data(&r, "example.org");
    resp_free(&r);
    world_sql("DELETE FROM alert_reports;");
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/domains/example.org/settings",
                         "{\"notify\":false,\"force_password_change\":false}", NULL, &r),
                     200);
    resp_free(&r);
}
END_TEST

/* Where the reports go, beside the notify switch: the owner's address from
 * the domains file, null when it is missing or not an address. */
START_TEST(settings_name_the_report_recipient)
{
    struct resp r;
    json_t *doc;

    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert_str_eq(jstr(doc, "notify_to"), "owner@example.com");
    resp_free(&r);
    world_sql("UPDATE domains SET owner_email = 'not an address' WHERE name = 'example.com'");
    doc = get_ok(WHO_CLI1, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert(json_is_null(json_object_get(doc, "notify_to")));
    resp_free(&r);
    world_sql("UPDATE domains SET owner_email = '' WHERE name = 'example.com'");
    doc = get_ok(WHO_ADMIN, "/v1/domains/example.com/settings", NULL, 200, &r);
    ck_assert(json_is_null(json_object_get(doc, "notify_to")));
    resp_free(&r);
    world_sql("UPDATE domains SET owner_email = 'owner@example.com' WHERE name = 'example.com'");
}
END_TEST

/* Mail sent with an SMTP AUTH login is the login's domain's, whatever
 * envelope sender it claims: a mailbox of example.net sending as
 * ceo@example.com to a partner and to a mailbox of example.com. Runs last:
 * the mail is not in the model. Also the upgrade of rows stored before. */
/* The mail sent one by a web site (sendmail, PHP's mail()): Postfix's pickup
 * names the submitting user by uid, the domains file the subscriptions'
 * system users. The site's mail is its subscription's, whatever sender it
 * claims; another local user's goes by its envelope sender. */
START_TEST(local_mail_belongs_to_the_submitting_subscription)
{
    static const char *const who_cli3[] = {"MAILLOG_ROLE=client", "MAILLOG_USER=cli3",
                                           "MAILLOG_DOMAINS=example.org", NULL};
    const struct {
        const char *uid, *from, *tag;
        const char *const *owner;
        const char *owner_domain;
        const char *const *other;
        const char *other_domain;
    } cases[] = {
        /* PHP's default sender: a bare user name */
        {"10042", "www-data", "form1", WHO_CLI1, "example.com", WHO_CLI2, "example.net"},
        /* example.com's site claiming an example.net address */
        {"10042", "ceo@example.net", "form2", WHO_CLI1, "example.com", WHO_CLI2, "example.net"},
        /* a user who is no subscription's (uid 33): the envelope sender decides */
        {"33", "info@example.net", "form3", WHO_CLI2, "example.net", WHO_CLI1, "example.com"},
        /* a subscription of two domains (uid 10044): its main domain, not
         * the first by name... */
        {"10044", "exorg_web", "form4", who_cli3, "example.org", WHO_CLI2, "example.net"},
        /* ...unless the sender is at one of its other domains */
        {"10044", "billing@example.net", "form5", WHO_CLI2, "example.net", who_cli3, "example.org"},
    };
    char ts[40], text[2048], query[64];
    struct resp r;

    world_stamp(W.m.t0 + 3 * 86400 / 2, ts);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 "%s mx postfix/pickup[8001]: LOC000000%zu: uid=%s from=<%s>\n"
                 "%s mx postfix/cleanup[8002]: LOC000000%zu: message-id=<%s@web.server.test>\n"
                 "%s mx postfix/qmgr[900]: LOC000000%zu: from=<%s>, size=700, nrcpt=1"
                 " (queue active)\n"
                 "%s mx postfix/smtp[8003]: LOC000000%zu: to=<customer@partner.test>,"
                 " relay=mx.partner.test[192.0.2.30]:25, delay=1, delays=0.1/0/0.4/0.5,"
                 " dsn=2.0.0, status=sent (250 ok)\n"
                 "%s mx postfix/qmgr[900]: LOC000000%zu: removed\n",
                 ts, i, cases[i].uid, cases[i].from, ts, i, cases[i].tag, ts, i, cases[i].from, ts,
                 i, ts, i);
        ck_assert_int_eq(world_append_text(&W, text), 0);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *doc, *rows;
        char path[64];

        snprintf(query, sizeof query, "domain=%s&q=%s", cases[i].owner_domain, cases[i].tag);
        doc = get_ok(cases[i].owner, "/v1/sent", query, 200, &r);
        rows = json_object_get(doc, "rows");
        ck_assert_msg(json_array_size(rows) == 1, "%s: not in %s's Sent tab", cases[i].tag,
                      cases[i].owner_domain);
        ck_assert_str_eq(jstr(json_array_get(rows, 0), "mailbox"), cases[i].from);
        snprintf(path, sizeof path, "/v1/messages/%lld",
                 jint(json_array_get(rows, 0), "message_id"));
        resp_free(&r);
        get_ok(cases[i].owner, path, NULL, 200, &r);
        resp_free(&r);
        /* nor listed or traceable by the other customer */
        snprintf(query, sizeof query, "domain=%s&q=%s", cases[i].other_domain, cases[i].tag);
        doc = get_ok(cases[i].other, "/v1/sent", query, 200, &r);
        ck_assert_msg(json_array_size(json_object_get(doc, "rows")) == 0, "%s: in %s's Sent tab",
                      cases[i].tag, cases[i].other_domain);
        resp_free(&r);
        get(cases[i].other, path, NULL, &r);
        ck_assert_int_eq(r.status, 404);
        resp_free(&r);
    }
}
END_TEST

START_TEST(sent_mail_belongs_to_the_login)
{
    static const char *const who_cli3[] = {"MAILLOG_ROLE=client", "MAILLOG_USER=cli3",
                                           "MAILLOG_DOMAINS=example.org", NULL};
    char ts[40], text[2048];
    struct resp r;
    json_t *doc, *rows;
    int64_t id;

    world_stamp(W.m.t0 + 3 * 86400 / 2, ts);
    snprintf(text, sizeof text,
             "%s mx postfix/submission/smtpd[7001]: SPF0000001: client=home.dsl.test[203.0.113.77],"
             " sasl_method=PLAIN, sasl_username=Mallory@Example.NET\n"
             "%s mx postfix/cleanup[7002]: SPF0000001: message-id=<spoof1@example.net>\n"
             "%s mx postfix/qmgr[900]: SPF0000001: from=<ceo@example.org>, size=900, nrcpt=2"
             " (queue active)\n"
             "%s mx postfix/smtp[7003]: SPF0000001: to=<victim@partner.test>,"
             " relay=mx.partner.test[192.0.2.30]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0,"
             " status=sent (250 ok)\n"
             "%s mx postfix/virtual[7004]: SPF0000001: to=<alice@example.com>, relay=virtual,"
             " delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)\n"
             "%s mx postfix/qmgr[900]: SPF0000001: removed\n",
             ts, ts, ts, ts, ts, ts);
    ck_assert_int_eq(world_append_text(&W, text), 0);
    /* not the claimed sender's domain's mail: neither listed nor traceable */
    doc = get_ok(who_cli3, "/v1/sent", "domain=example.org&q=spoof1", 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "rows")), 0);
    resp_free(&r);
    /* but the login's domain's (whatever its case) */
    doc = get_ok(WHO_CLI2, "/v1/sent", "domain=example.net&q=spoof1", 200, &r);
    rows = json_object_get(doc, "rows");
    ck_assert_int_eq(json_array_size(rows), 2);
    id = json_integer_value(json_object_get(json_array_get(rows, 0), "message_id"));
    /* the row says which login sent it, beside the sender it claimed */
    ck_assert_str_eq(jstr(json_array_get(rows, 0), "mailbox"), "ceo@example.org");
    ck_assert_str_eq(jstr(json_array_get(rows, 0), "login"), "Mallory@Example.NET");
    resp_free(&r);
    /* the recipient's Received tab carries no login */
    doc = get_ok(WHO_CLI1, "/v1/received", "domain=example.com&q=spoof1", 200, &r);
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(doc, "rows"), 0), "login"));
    ck_assert_ptr_null(strstr(r.body, "Mallory"));
    resp_free(&r);
    snprintf(text, sizeof text, "/v1/messages/%lld", (long long)id);
    get(who_cli3, text, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    assert_no_data(&r, "Mallory");
    resp_free(&r);
    /* the recipient's domain sees the mail it received, not the sender's login */
    doc = get_ok(WHO_CLI1, "/v1/received", "domain=example.com&q=spoof1", 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "rows")), 1);
    resp_free(&r);
    doc = get_ok(WHO_CLI1, text, NULL, 200, &r);
    ck_assert_str_eq(jstr(json_object_get(doc, "message"), "sasl_username"), "");
    ck_assert_ptr_null(strstr(r.body, "Mallory"));
    ck_assert_ptr_null(strstr(r.body, "victim@partner.test"));
    ck_assert_int_ge(json_integer_value(json_object_get(doc, "lines_hidden")), 2);
    resp_free(&r);
    doc = get_ok(WHO_CLI2, text, NULL, 200, &r);
    ck_assert_str_eq(jstr(json_object_get(doc, "message"), "sasl_username"), "Mallory@Example.NET");
    ck_assert_ptr_nonnull(strstr(r.body, "sasl_username=Mallory@Example.NET"));
    resp_free(&r);
    /* a database written before: the copies are corrected by the upgrade
     * (what v13 adds undone, so that it can be added again) */
    world_sql("UPDATE deliveries SET sent_domain = 'example.org'"
              " WHERE msgid = '<spoof1@example.net>' OR msgid = 'spoof1@example.net';"
              "DROP INDEX domains_uid; DROP INDEX alert_reports_real;"
              "ALTER TABLE domains DROP COLUMN sysuser_uid;"
              "ALTER TABLE domains DROP COLUMN is_main;"
              "ALTER TABLE messages DROP COLUMN local_domain;"
              "ALTER TABLE messages DROP COLUMN local_uid;"
              "PRAGMA user_version = 11;");
    doc = get_ok(who_cli3, "/v1/sent", "domain=example.org&q=spoof1", 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "rows")), 0);
    resp_free(&r);
    doc = get_ok(WHO_CLI2, "/v1/sent", "domain=example.net&q=spoof1", 200, &r);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "rows")), 2);
    resp_free(&r);
}
END_TEST

START_TEST(admin_settings_round_trip)
{
    struct resp r;
    json_t *doc;

    doc = get_ok(WHO_ADMIN, "/v1/settings", NULL, 200, &r);
    ck_assert_int_eq(jint(doc, "retention_days"), 7);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/settings",
                         "{\"retention_days\":30,\"ignore_terms_smtp\":[\"over quota\"],"
                         "\"excluded_ips\":[\"10.0.0.0/8\",\"203.0.113.7\"]}",
                         NULL, &r),
                     200);
    resp_free(&r);
    doc = get_ok(WHO_ADMIN, "/v1/settings", NULL, 200, &r);
    ck_assert_int_eq(jint(doc, "retention_days"), 30);
    ck_assert_int_eq(json_array_size(json_object_get(doc, "excluded_ips")), 2);
    resp_free(&r);
    /* everyone's lists say how far back they go */
    doc = get_ok(WHO_CLI1, "/v1/me", NULL, 200, &r);
    ck_assert_int_eq(jint(doc, "retention_days"), 30);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/settings", "{\"retention_days\":0}", NULL, &r), 422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "retention_days");
    ck_assert_ptr_nonnull(strstr(jstr(json_object_get(r.json, "error"), "message"), "1 to 3650"));
    resp_free(&r);
    /* over the store's limit: refused at the door, not a 500 from the store */
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/settings", "{\"retention_days\":5000}", NULL, &r), 422);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_ADMIN, "/v1/settings", "{\"excluded_ips\":[\"300.1.1.1\"]}", NULL, &r),
                     422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "excluded_ips");
    resp_free(&r);
    ck_assert_int_eq(
        put(WHO_ADMIN, "/v1/settings", "{\"client_config_visibility\":\"maybe\"}", NULL, &r), 422);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_CLI1, "/v1/settings", "{\"retention_days\":1}", NULL, &r), 403);
    resp_free(&r);
    get(WHO_RES1, "/v1/settings", NULL, &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    admin_set("{\"retention_days\":7,\"ignore_terms_smtp\":[],\"excluded_ips\":[]}");
}
END_TEST

START_TEST(standalone_csrf)
{
    struct resp r;
    char token[80];
    const char *body = "{\"notify\":false}";

    get_ok(WHO_SA_CLI1, "/v1/me", NULL, 200, &r);
    snprintf(token, sizeof token, "%s", jstr(r.json, "csrf_token"));
    resp_free(&r);
    ck_assert_int_eq(put(WHO_SA_CLI1, "/v1/domains/example.com/settings", body, NULL, &r), 403);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_SA_CLI1, "/v1/domains/example.com/settings", body,
                         "0000000000000000000000000000000000000000000000000000000000000000", &r),
                     403);
    resp_free(&r);
    /* The admin's token is not the client's. */
    get_ok(WHO_SA_ADMIN, "/v1/me", NULL, 200, &r);
    ck_assert_str_ne(jstr(r.json, "csrf_token"), token);
    resp_free(&r);
    ck_assert_int_eq(put(WHO_SA_CLI1, "/v1/domains/example.com/settings", body, token, &r), 200);
    resp_free(&r);
    /* Stateless and stable: the same token again. */
    get_ok(WHO_SA_CLI1, "/v1/me", NULL, 200, &r);
    ck_assert_str_eq(jstr(r.json, "csrf_token"), token);
    resp_free(&r);
}
END_TEST

START_TEST(alert_test_route)
{
    struct resp r;

    call(WHO_ADMIN, "POST", "/v1/alerts/test", NULL, "{\"to\":\"not an address\"}", &r);
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "to");
    resp_free(&r);
    call(WHO_CLI1, "POST", "/v1/alerts/test", NULL, "{\"to\":\"a@example.com\"}", &r);
    ck_assert_int_eq(r.status, 403);
    resp_free(&r);
    /* Nothing listens on the configured SMTP port (9, discard): the
     * server's failure comes back as 502 with its explanation. */
    call(WHO_ADMIN, "POST", "/v1/alerts/test", NULL, "{\"to\":\"admin@example.com\"}", &r);
    ck_assert_int_eq(r.status, 502);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "code"), "bad_gateway");
    ck_assert_ptr_nonnull(strstr(jstr(json_object_get(r.json, "error"), "message"), "127.0.0.1"));
    resp_free(&r);
    call(WHO_ADMIN, "GET", "/v1/alerts/test", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_ptr_nonnull(strstr(r.headers, "Allow: POST"));
    resp_free(&r);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------ */

/* A minimal RFC 4180 reader: rows of fields, into a JSON array of arrays. */
static json_t *csv_parse(const char *s, size_t len)
{
    json_t *rows = json_array(), *row = json_array();
    char *field = malloc(len + 1);
    size_t f = 0, i = 0;

    while (i < len) {
        if (s[i] == '"') {
            for (i++; i < len; i++) {
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                    field[f++] = s[i++];
                else if (s[i] == '"')
                    break;
                else
                    field[f++] = s[i];
            }
            i++;
            continue;
        }
        if (s[i] == ',' || (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')) {
            json_array_append_new(row, json_stringn(field, f));
            f = 0;
            if (s[i] == '\r') {
                json_array_append_new(rows, row);
                row = json_array();
                i++;
            }
            i++;
            continue;
        }
        field[f++] = s[i++];
    }
    json_decref(row);
    free(field);
    return rows;
}

START_TEST(csv_download_escapes)
{
    struct resp r;
    json_t *rows, *header;
    long long total = -1;
    json_t *all = fetch_all(WHO_CLI1, "received", "domain=example.com", 500, &total);
    int formula = 0, quoted = 0;

    get(WHO_CLI1, "/v1/received", "domain=example.com&format=csv", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "text/csv; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.headers, "attachment; filename=\"maillog-received.csv\""));
    rows = csv_parse(r.body, r.body_len);
    header = json_array_get(rows, 0);
    ck_assert_int_eq(json_array_size(header), 12);
    ck_assert_str_eq(json_string_value(json_array_get(header, 11)), "orig_to");
    ck_assert_str_eq(json_string_value(json_array_get(header, 9)), "reason");
    ck_assert_str_eq(json_string_value(json_array_get(header, 3)), "date_utc");
    ck_assert_str_eq(json_string_value(json_array_get(header, 4)), "sender");
    ck_assert_int_eq((long long)json_array_size(rows), total + 1);
    for (size_t i = 1; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        const char *sender = json_string_value(json_array_get(row, 4));
        const char *text = json_string_value(json_array_get(row, 8));
        time_t when = (time_t)atoll(json_string_value(json_array_get(row, 2)));
        char utc[32];
        const struct mmsg *g = NULL;
        ck_assert_int_eq(json_array_size(row), 12);
        strftime(utc, sizeof utc, "%Y-%m-%d %H:%M:%S", gmtime(&when));
        ck_assert_str_eq(json_string_value(json_array_get(row, 3)), utc);
        for (int k = 0; k < W.m.nmsgs; k++) {
            const char *s = W.m.msgs[k].sender;
            if (strcmp(s, sender) == 0 ||
                (sender[0] == '\'' && strchr("=+-@", s[0]) && strcmp(s, sender + 1) == 0))
                if (strcmp(W.m.msgs[k].rcpt, json_string_value(json_array_get(row, 5))) == 0)
                    g = &W.m.msgs[k];
        }
        ck_assert_msg(g != NULL, "csv row %zu: sender %s not in the model", i, sender);
        if (g == NULL)
            continue; /* not reached: for the analyser */
        if (strchr("=+-@", g->sender[0])) {
            ck_assert_int_eq(sender[0], '\'');
            formula++;
        }
        ck_assert_str_eq(text, shown(g->status_text)); /* commas and quotes survive */
        quoted += strchr(text, '"') != NULL && strchr(text, ',') != NULL;
    }
    ck_assert_int_ge(formula, 2);
    ck_assert_int_ge(quoted, 1);
    json_decref(rows);
    json_decref(all);
    resp_free(&r);
}
END_TEST

/* ---- sort and search ---------------------------------------------------- */

static const char *const access_sorts[] = {"date",     "mailbox", "ip", "country",
                                           "protocol", "result",  NULL};
static const char *const received_sorts[] = {"date",   "sender", "mailbox", "size",
                                             "status", "msgid",  NULL};
static const char *const sent_sorts[] = {"date",   "mailbox", "recipient", "size",
                                         "status", "msgid",   NULL};

static const char *const *sorts_of(const char *tab)
{
    return strcmp(tab, "access") == 0 ? access_sorts
           : strstr(tab, "received")  ? received_sorts
                                      : sent_sorts;
}

/* status, protocol and result sort in their documented order (docs/API.md),
 * not alphabetically. */
static int rank(const char *col, const char *value)
{
    static const char *const statuses[] = {"sent",     "deferred",  "bounced", "expired",
                                           "rejected", "discarded", NULL};
    static const char *const protocols[] = {"imap",       "pop3",        "smtp",
                                            "submission", "managesieve", NULL};
    static const char *const results[] = {"failed", "ok", NULL};
    const char *const *order = strcmp(col, "status") == 0     ? statuses
                               : strcmp(col, "protocol") == 0 ? protocols
                               : strcmp(col, "result") == 0   ? results
                                                              : NULL;

    for (int i = 0; order && order[i]; i++)
        if (strcmp(order[i], value) == 0)
            return i;
    return -1;
}

static int cmp_col(json_t *a, json_t *b, const char *col)
{
    json_t *x = json_object_get(a, col), *y = json_object_get(b, col);

    if (json_is_integer(x) && json_is_integer(y))
        return json_integer_value(x) < json_integer_value(y)   ? -1
               : json_integer_value(x) > json_integer_value(y) ? 1
                                                               : 0;
    if (json_is_null(x) || json_is_null(y))
        return json_is_null(x) - json_is_null(y) ? (json_is_null(x) ? -1 : 1) : 0;
    if (rank(col, json_string_value(x)) >= 0)
        return rank(col, json_string_value(x)) - rank(col, json_string_value(y));
    return strcmp(json_string_value(x), json_string_value(y));
}

START_TEST(sort_on_every_column)
{
    const char *tab = tabs[_i];
    const char *const *cols = sorts_of(tab);

    for (int c = 0; cols[c]; c++)
        for (int o = 0; o < 2; o++) {
            char q[128];
            long long total;
            json_t *rows;
            snprintf(q, sizeof q, "domain=example.com&sort=%s&order=%s", cols[c],
                     o ? "asc" : "desc");
            rows = fetch_all(WHO_CLI1, tab, q, 7, &total);
            ck_assert_int_eq((long long)json_array_size(rows), model_count(tab, "example.com"));
            for (size_t i = 1; i < json_array_size(rows); i++) {
                int d = cmp_col(json_array_get(rows, i - 1), json_array_get(rows, i), cols[c]);
                ck_assert_msg(o ? d <= 0 : d >= 0, "%s sort=%s order=%s: row %zu out of order", tab,
                              cols[c], o ? "asc" : "desc", i);
                ck_assert_int_ne(jint(json_array_get(rows, i - 1), "id"),
                                 jint(json_array_get(rows, i), "id"));
            }
            json_decref(rows);
        }
}
END_TEST

static bool row_contains(json_t *row, const char *needle)
{
    const char *key;
    json_t *v;

    json_object_foreach(row, key, v)
    {
        if (json_is_string(v) && strcasestr(json_string_value(v), needle))
            return true;
    }
    return false;
}

/* q=<a piece from the middle of a column's value> finds that row, and only
 * rows containing it. */
static void search_finds(const char *tab, const char *col, json_t *target)
{
    const char *value = jstr(target, col);
    size_t len = strlen(value);
    char piece[64], enc[200], q[300];
    size_t from = len > 6 ? 1 : 0, n = len > 6 ? len - 2 : len;
    long long total;
    json_t *rows;
    bool found = false;

    if (n > 20)
        from = n / 3, n = 12;
    snprintf(piece, sizeof piece, "%.*s", (int)n, value + from);
    url_encode(piece, enc, sizeof enc);
    snprintf(q, sizeof q, "domain=example.com&q=%s", enc);
    rows = fetch_all(WHO_CLI1, tab, q, 500, &total);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        found |= jint(row, "id") == jint(target, "id");
        ck_assert_msg(row_contains(row, piece), "%s q=%s: a row without it", tab, piece);
    }
    ck_assert_msg(found, "%s: q=%s (from column %s) did not find its row", tab, piece, col);
    json_decref(rows);
}

START_TEST(search_each_visible_column)
{
    const char *tab = tabs[_i];
    /* The visible text columns (docs/API.md, MANUAL: the status text is the
     * "status error" column of the not- tabs); protocol, country, status and
     * dates are filters, not text. */
    static const char *const access_cols[] = {"mailbox", "ip", NULL};
    static const char *const received_cols[] = {"sender", "mailbox", "msgid", NULL};
    static const char *const sent_cols[] = {"mailbox", "recipient", "msgid", NULL};
    static const char *const not_received_cols[] = {"sender", "mailbox", "status_text", "msgid",
                                                    NULL};
    static const char *const not_sent_cols[] = {"mailbox", "recipient", "status_text", "msgid",
                                                NULL};
    const char *const *cols = strcmp(tab, "access") == 0         ? access_cols
                              : strcmp(tab, "received") == 0     ? received_cols
                              : strcmp(tab, "sent") == 0         ? sent_cols
                              : strcmp(tab, "not-received") == 0 ? not_received_cols
                                                                 : not_sent_cols;
    json_t *rows = fetch_all(WHO_CLI1, tab, "domain=example.com", 500, NULL);

    ck_assert_int_ge(json_array_size(rows), 2);
    for (int c = 0; cols[c]; c++) {
        /* A different row for each column, with a value to search. */
        size_t k = (size_t)(c * 3) % json_array_size(rows);
        while (jstr(json_array_get(rows, k), cols[c])[0] == '\0')
            k = (k + 1) % json_array_size(rows);
        search_finds(tab, cols[c], json_array_get(rows, k));
    }
    json_decref(rows);
}
END_TEST

/* ---- pagination while ingesting ------------------------------------------ */

/* Pages through one domain's received mail while new mail (of that domain
 * and another) is ingested between pages. Newest first, the new rows sort
 * before the first page and are not visited; oldest first, they sort after
 * the last and are visited. Either way every row that existed is visited
 * exactly once. */
static void paginate_while_ingesting(const char *order)
{
    long long total;
    json_t *before = fetch_all(WHO_CLI1, "received", "domain=example.com", 500, &total);
    char cursor[2100] = "", query[2300];
    int seen_count = 0, pages = 0, added = 0;
    int64_t *seen = calloc(1000, sizeof *seen);

    for (;;) {
        struct resp r;
        json_t *doc, *rows, *next;
        snprintf(query, sizeof query, "domain=example.com&order=%s&limit=6%s%s", order,
                 cursor[0] ? "&cursor=" : "", cursor);
        doc = get_ok(WHO_CLI1, "/v1/received", query, 200, &r);
        rows = json_object_get(doc, "rows");
        for (size_t i = 0; i < json_array_size(rows); i++) {
            int64_t id = jint(json_array_get(rows, i), "id");
            for (int k = 0; k < seen_count; k++)
                ck_assert_msg(seen[k] != id, "row %lld seen twice", (long long)id);
            ck_assert_int_lt(seen_count, 1000);
            seen[seen_count++] = id;
        }
        next = json_object_get(doc, "next_cursor");
        cursor[0] = '\0';
        if (json_is_string(next))
            url_encode(json_string_value(next), cursor, sizeof cursor);
        resp_free(&r);
        if (!cursor[0])
            break;
        /* New mail arrives between pages (every other page, 6 at most). */
        if (pages++ % 2 == 0 && pages < 12) {
            bool ours = pages % 4 == 1;
            ck_assert_int_eq(world_grow(&W, ours ? "example.com" : "example.org", 3), 0);
            added += ours ? 3 : 0;
        }
    }
    for (size_t i = 0; i < json_array_size(before); i++) {
        int64_t id = jint(json_array_get(before, i), "id");
        bool found = false;
        for (int k = 0; k < seen_count; k++)
            found |= seen[k] == id;
        ck_assert_msg(found, "row %lld that existed before was never visited", (long long)id);
    }
    ck_assert_int_gt(added, 0);
    ck_assert_int_eq(seen_count,
                     (int)json_array_size(before) + (strcmp(order, "asc") == 0 ? added : 0));
    json_decref(before);
    free(seen);
}

START_TEST(pagination_during_ingest)
{
    paginate_while_ingesting("desc");
    paginate_while_ingesting("asc");
}
END_TEST

/* ---- the bad-input matrix ------------------------------------------------ */

struct bad {
    const char *method, *path, *query, *body, *type;
    int lo, hi; /* accepted status range */
};

static const struct bad bad_inputs[] = {
    /* routes and methods */
    {"GET", "/", NULL, NULL, NULL, 404, 404},
    {"GET", "/v2/me", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/me/", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/../../etc/passwd", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/received/../sent", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/RECEIVED", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/not_received", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/received%00", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/0", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/-1", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/1e3", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/99999999999999999999", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/messages/1;DROP", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/domains/example.com", NULL, NULL, NULL, 404, 404},
    {"GET", "/v1/domains//settings", NULL, NULL, NULL, 400, 404},
    {"GET", "/v1/domains/exa_mple.com/settings", NULL, NULL, NULL, 400, 400},
    {"GET", "/v1/domains/-x.com/settings", NULL, NULL, NULL, 400, 400},
    {"GET", "/v1/domains/example.net/settings", NULL, NULL, NULL, 403, 403},
    {"GET", "/v1/domains/example.net/alerts", NULL, NULL, NULL, 403, 403},
    {"GET", "/v1/alerts/domains", NULL, NULL, NULL, 403, 403},
    {"PUT", "/v1/alerts/domains", NULL, "{}", NULL, 405, 405},
    /* numbers out of range in a cursor are not saturated into a valid one */
    {"GET", "/v1/received", "domain=example.com&cursor=i1.99999999999999999999", NULL, NULL, 400,
     400},
    {"GET", "/v1/received", "domain=example.com&cursor=i99999999999999999999.1", NULL, NULL, 400,
     400},
    {"GET", "/v1/domains/exa_mple.com/alerts", NULL, NULL, NULL, 400, 400},
    {"GET", "/v1/domains/example.com/alerts", "limit=5", NULL, NULL, 400, 400},
    {"GET", "/v1/domains/example.com/alerts/", NULL, NULL, NULL, 404, 404},
    {"PUT", "/v1/domains/example.com/alerts", NULL, "{}", NULL, 405, 405},
    {"DELETE", "/v1/me", NULL, NULL, NULL, 405, 405},
    {"PATCH", "/v1/settings", NULL, "{}", NULL, 405, 405},
    {"OPTIONS", "/v1/received", NULL, NULL, NULL, 405, 405},
    {"TRACE", "/v1/me", NULL, NULL, NULL, 405, 405},
    {"get", "/v1/me", NULL, NULL, NULL, 405, 405},
    {"PUT", "/v1/me", NULL, "{}", NULL, 405, 405},
    {"POST", "/v1/received", "domain=example.com", "{}", NULL, 405, 405},
    {"PUT", "/v1/countries", NULL, "{}", NULL, 405, 405},
    /* tab parameters */
    {"GET", "/v1/received", "domain=example.com&limit=0", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=501", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=-5", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=abc", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=99999999999999999999", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=1e2", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&sort=password", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&sort=recipient", NULL, NULL, 400, 400},
    {"GET", "/v1/access", "domain=example.com&sort=size", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&sort=date;DROP%20TABLE%20deliveries", NULL, NULL,
     400, 400},
    {"GET", "/v1/received", "domain=example.com&sort=date%20desc,id", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&order=sideways", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&order=asc%00", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&status=ok", NULL, NULL, 400, 400},
    {"GET", "/v1/access", "domain=example.com&status=sent", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&status=sent'%20OR%20'1'='1", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&from=yesterday", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&from=-1", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&to=1;select", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&from=99999999999999999999999", NULL, NULL, 400,
     400},
    {"GET", "/v1/received", "domain=example.com&cursor=garbage", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&cursor=%27%29%20OR%201%3D1--", NULL, NULL, 400,
     400},
    {"GET", "/v1/received", "domain=example.com&cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
     NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&format=xml", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&format=csv%0d%0aX-Evil:1", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&debug=1", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&tab=sent", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&limit=5&limit=500", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&domain=example.net", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.net", NULL, NULL, 403, 403},
    {"GET", "/v1/received", "domain=example.com%00.example.net", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com%2cexample.net", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=%25", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=*", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com'--", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=.com", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.co%ff", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%ff%fe", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%c0%80", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%ed%a0%80", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=a%0d%0ab", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%1b%5b2J", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%g1", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q=%", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&Q=x", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&q[]=x", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&%71=x", NULL, NULL, 400, 400},
    {"GET", "/v1/received", "domain=example.com&=x", NULL, NULL, 400, 400},
    {"GET", "/v1/received",
     "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16"
     "&r=17",
     NULL, NULL, 400, 400},
    /* SQL meta characters where text is allowed: fine, but never an error or a leak */
    {"GET", "/v1/received", "domain=example.com&q=%27%20OR%20%271%27%3D%271", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=%25", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=_", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=%22", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=%5C", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=a%22%20OR%20%22b", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=NEAR(a%20b)", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=*", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=example.net", NULL, NULL, 200, 200},
    {"GET", "/v1/access", "domain=example.com&q=%3B%20DROP%20TABLE%20access_events%3B--", NULL,
     NULL, 200, 200},
    {"GET", "/v1/sent", "domain=example.com&q=x%27)%20UNION%20SELECT%20*%20FROM%20deliveries--",
     NULL, NULL, 200, 200},
    {"GET", "/v1/not-sent", "domain=example.com&q=%E2%80%AE", NULL, NULL, 200, 200},
    {"GET", "/v1/received", "domain=example.com&q=%F0%9F%98%80", NULL, NULL, 200, 200},
    /* stats, log tail */
    {"GET", "/v1/stats", "bucket=minute", NULL, NULL, 400, 400},
    {"GET", "/v1/stats", "domain=example.com&from=5&to=4", NULL, NULL, 400, 400},
    {"GET", "/v1/stats", "domain=example.com&from=abc", NULL, NULL, 400, 400},
    {"GET", "/v1/stats", "domain=example.net", NULL, NULL, 403, 403},
    {"GET", "/v1/stats", "domain=example.com&sort=date", NULL, NULL, 400, 400},
    {"GET", "/v1/log-tail", "lines=10", NULL, NULL, 403, 403},
    {"GET", "/v1/me", "x=1", NULL, NULL, 400, 400},
    {"GET", "/v1/countries", "lang=de", NULL, NULL, 400, 400},
    {"GET", "/v1/settings", NULL, NULL, NULL, 403, 403},
    /* bodies */
    {"PUT", "/v1/domains/example.com/settings", NULL, "", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "[]", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "null", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "\"notify\"", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":true}", "text/plain", 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":true}",
     "application/x-www-form-urlencoded", 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":true,\"notify\":false}", NULL,
     400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":1}", NULL, 422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":null}", NULL, 422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"admin\":true}", NULL, 422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"domain\":\"example.net\"}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"usual_countries\":\"DE\"}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"usual_countries\":[1,2]}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"usual_countries\":[\"DEU\"]}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"usual_countries\":[\"\"]}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"usual_countries\":[\"D\\u0000\"]}", NULL,
     400, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"ip_exceptions\":[\"1.2.3.4/33\"]}", NULL,
     422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"ip_exceptions\":[\"'; DROP TABLE x\"]}",
     NULL, 422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"ip_exceptions\":[[\"1.2.3.4\"]]}", NULL,
     422, 422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"ip_exceptions\":{\"a\":1}}", NULL, 422,
     422},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":tru}", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":true} trailing", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"n\xff\":true}", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", NULL, "{\"notify\":\"\xc0\xaf\"}", NULL, 400, 400},
    {"PUT", "/v1/domains/example.com/settings", "x=1", "{\"notify\":true}", NULL, 400, 400},
    {"PUT", "/v1/domains/example.net/settings", NULL, "{\"notify\":true}", NULL, 403, 403},
    {"PUT", "/v1/settings", NULL, "{\"retention_days\":1}", NULL, 403, 403},
    {"POST", "/v1/alerts/test", NULL, "{\"to\":\"a@example.com\"}", NULL, 403, 403},
};

/* Deeply nested and oversized bodies, built at run time. */
START_TEST(bad_input_matrix)
{
    size_t n = sizeof bad_inputs / sizeof bad_inputs[0];
    const char *const *who[] = {WHO_CLI1, WHO_SA_CLI1};

    ck_assert_int_ge(n, 100);
    for (size_t w = 0; w < 2; w++)
        for (size_t i = 0; i < n; i++) {
            const struct bad *b = &bad_inputs[i];
            struct call c = {.method = b->method,
                             .path = b->path,
                             .query = b->query,
                             .body = b->body,
                             .content_type = b->type,
                             .who = who[w]};
            struct resp r;
            char token[80] = "";
            if (w == 1 && b->body != NULL) { /* standalone: send the right token */
                struct resp me;
                get_ok(WHO_SA_CLI1, "/v1/me", NULL, 200, &me);
                snprintf(token, sizeof token, "%s", jstr(me.json, "csrf_token"));
                resp_free(&me);
                c.csrf = token;
            }
            cgi_call(&W, &c, &r);
            ck_assert_msg(!r.sanitizer, "#%zu %s %s?%s: sanitizer report:\n%s", i, b->method,
                          b->path, b->query ? b->query : "", r.err);
            ck_assert_msg(r.status >= b->lo && r.status <= b->hi,
                          "#%zu %s %s?%s: status %d, want %d..%d: %s", i, b->method, b->path,
                          b->query ? b->query : "", r.status, b->lo, b->hi, r.body);
            ck_assert_msg(r.exit_code == 0, "#%zu: exit %d", i, r.exit_code);
            ck_assert_ptr_null(strstr(r.body, "@example.net"));
            ck_assert_ptr_null(strstr(r.body, "@example.org"));
            ck_assert_ptr_nonnull(strstr(r.headers, "Cache-Control: no-store"));
            if (r.status >= 400) {
                ck_assert_ptr_nonnull(r.json);
                ck_assert_ptr_nonnull(jstr(json_object_get(r.json, "error"), "code"));
            }
            resp_free(&r);
        }
}
END_TEST

START_TEST(oversize_inputs)
{
    struct resp r;
    size_t big = 70000;
    char *s = malloc(big + 64);
    struct call c = {.path = "/v1/received", .who = WHO_CLI1};

    /* A query string over the cap: 413. */
    strcpy(s, "domain=example.com&q=");
    memset(s + strlen(s), 'a', 5000);
    s[21 + 5000] = '\0';
    c.query = s;
    cgi_call(&W, &c, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert(!r.sanitizer);
    resp_free(&r);
    /* A search text over 200 bytes: 400 naming q. */
    s[21 + 201] = '\0';
    cgi_call(&W, &c, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(jstr(json_object_get(r.json, "error"), "field"), "q");
    resp_free(&r);
    /* A body over 64 KiB: 413. */
    memset(s, ' ', big);
    s[0] = '{';
    s[big - 1] = '}';
    s[big] = '\0';
    c.method = "PUT";
    c.path = "/v1/domains/example.com/settings";
    c.query = NULL;
    c.body = s;
    cgi_call(&W, &c, &r);
    ck_assert_int_eq(r.status, 413);
    ck_assert(!r.sanitizer);
    resp_free(&r);
    /* Nesting 20000 deep within the cap: 400, no stack overflow. */
    for (size_t i = 0; i < 20000; i++)
        s[i] = '[';
    s[20000] = '\0';
    cgi_call(&W, &c, &r);
    ck_assert_int_eq(r.status, 400);
    ck_assert(!r.sanitizer);
    resp_free(&r);
    /* A huge list of countries: 422, not a crash. */
    {
        size_t o = (size_t)sprintf(s, "{\"usual_countries\":[\"DE\"");
        for (int i = 1; i < 3000; i++)
            o += (size_t)sprintf(s + o, ",\"DE\"");
        sprintf(s + o, "]}");
    }
    cgi_call(&W, &c, &r);
    ck_assert_int_eq(r.status, 422);
    ck_assert(!r.sanitizer);
    resp_free(&r);
    free(s);
}
END_TEST

/* Random bytes (fixed seed) as query strings, paths and bodies of every
 * route: 4xx or 200, never a 5xx, a crash or a sanitizer report. */
START_TEST(random_requests)
{
    static const char *const paths[] = {
        "/v1/me",       "/v1/received",  "/v1/access",    "/v1/not-sent",
        "/v1/stats",    "/v1/log-tail",  "/v1/countries", "/v1/domains/example.com/settings",
        "/v1/settings", "/v1/messages/1"};
    static const char alphabet[] = "=&%+;,'\"<>()*_-.:/\\ \t0123456789abcdefqslimtorgdn\xff\xc3";
    unsigned seed = 20261125;

    for (int i = 0; i < 150; i++) {
        char q[200], body[200];
        int n = (int)(rand_r(&seed) % 120), m = (int)(rand_r(&seed) % 120);
        struct call c = {.path = paths[rand_r(&seed) % 10],
                         .who = i % 3 == 0 ? WHO_ADMIN : WHO_CLI1};
        struct resp r;
        for (int k = 0; k < n; k++)
            q[k] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        q[n] = '\0';
        for (int k = 0; k < m; k++)
            body[k] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
        body[m] = '\0';
        c.query = q;
        if (i % 4 == 1) {
            c.method = "PUT";
            c.body = body;
        }
        cgi_call(&W, &c, &r);
        ck_assert_msg(!r.sanitizer, "#%d %s?%s: sanitizer report:\n%s", i, c.path, q, r.err);
        ck_assert_msg(r.status >= 200 && r.status < 500, "#%d %s?%s: status %d: %s", i, c.path, q,
                      r.status, r.body ? r.body : "");
        if (c.who == WHO_CLI1)
            ck_assert_ptr_null(strstr(r.body, "@example.net"));
        resp_free(&r);
    }
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api (maillog.cgi)");
    TCase *tc = tcase_create("routes");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, me_per_role);
    tcase_add_test(tc, countries_list);
    tcase_add_test(tc, tabs_per_role_match_the_model);
    tcase_add_test(tc, admin_without_domain_sees_all);
    tcase_add_test(tc, foreign_domain_is_forbidden);
    tcase_add_test(tc, message_trace_is_scoped);
    tcase_add_test(tc, message_trace_says_why);
    tcase_add_test(tc, stats_match_the_model);
    tcase_add_test(tc, stats_tell_the_admin_of_a_missing_geoip_database);
    tcase_add_test(tc, log_tail_is_the_end_of_the_log);
    tcase_add_test(tc, domain_settings_round_trip);
    tcase_add_test(tc, visibility_rules);
    tcase_add_test(tc, alert_history_route);
    tcase_add_test(tc, alert_history_bounds_and_states);
    tcase_add_test(tc, alert_domains_overview);
    tcase_add_test(tc, settings_name_the_report_recipient);
    tcase_add_test(tc, admin_settings_round_trip);
    tcase_add_test(tc, standalone_csrf);
    tcase_add_test(tc, alert_test_route);
    tcase_add_test(tc, csv_download_escapes);
    tcase_add_loop_test(tc, sort_on_every_column, 0, 5);
    tcase_add_loop_test(tc, search_each_visible_column, 0, 5);
    tcase_add_test(tc, bad_input_matrix);
    tcase_add_test(tc, oversize_inputs);
    tcase_add_test(tc, random_requests);
    /* Last: it adds rows to the world. */
    tcase_add_test(tc, pagination_during_ingest);
    /* last: outside the model */
    tcase_add_test(tc, local_mail_belongs_to_the_submitting_subscription);
    tcase_add_test(tc, sent_mail_belongs_to_the_login);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    switch (world_create(&W)) {
    case 0:
        break;
    case 1:
        fprintf(stderr, "check-api: SKIPPED: `maillog ingest` is not built yet\n");
        world_destroy(&W);
        return 0;
    default:
        fprintf(stderr, "check-api: could not build the test world in %s\n", W.dir);
        return 1;
    }
    sr = srunner_create(api_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        world_destroy(&W);
    else
        fprintf(stderr, "check-api: the test world is kept in %s\n", W.dir);
    return failed == 0 ? 0 : 1;
}
