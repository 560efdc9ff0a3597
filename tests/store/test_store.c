/*
 * test_store.c — the store with synthetic records written through its
 * tracker sink: upserts and attempts, classification into the five tabs,
 * hops, keyset pagination, search, ignore terms, index use of every tab's
 * first page, settings validation, retention and the trace's scope.
 */
#include "store/query.h"
#include "store/store.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char dbpath[128];
static struct store *st;
static struct track_sink sink;

static void setup(void)
{
    struct err e;

    snprintf(dir, sizeof dir, "/tmp/maillog-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(dbpath, sizeof dbpath, "%s/t.db", dir);
    st = store_open(dbpath, 0, &e);
    ck_assert_msg(st != NULL, "%s", e.text);
    store_sink(st, &sink);
    ck_assert_int_eq(store_begin(st, &e), 0); /* the sink writes inside a transaction */
}

/* Commits what the sink wrote (new rows reach the search index at commit). */
static void commit_and_continue(void)
{
    struct err e;

    ck_assert_msg(store_commit(st, &e) == 0, "%s", e.text);
    ck_assert_int_eq(store_begin(st, &e), 0);
}

static void teardown(void)
{
    char cmd[160];
    struct err e;

    ck_assert_int_eq(store_commit(st, &e), 0);
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A closed message of 1000 bytes with the raw lines given. */
static int64_t put_msg_lines(const char *qid, const char *sender, enum message_origin origin,
                             int64_t t, const char *lines)
{
    struct mail_message m;
    struct err e;

    memset(&m, 0, sizeof m);
    snprintf(m.host, sizeof m.host, "mx");
    snprintf(m.queue_id, sizeof m.queue_id, "%s", qid);
    snprintf(m.sender, sizeof m.sender, "%s", sender);
    snprintf(m.message_id, sizeof m.message_id, "<%s@id>", qid);
    m.first_seen = m.last_seen = t;
    m.size = 1000;
    m.nrcpt = 1;
    m.origin = origin;
    m.closed = true;
    m.new_lines = lines;
    m.new_lines_len = (uint32_t)strlen(lines);
    ck_assert_msg(sink.put_message(sink.ctx, &m, &e) == 0, "%s", e.text);
    ck_assert_int_gt(m.id, 0);
    return m.id;
}

static int64_t put_msg(const char *qid, const char *sender, enum message_origin origin, int64_t t)
{
    return put_msg_lines(qid, sender, origin, t, "line one\n");
}

/* A delivery of message mid, whose queue ID is qid. */
static void put_dlv_q(int64_t mid, const char *qid, const char *sender, enum message_origin origin,
                      const char *rcpt, enum delivery_status status, const char *text, int64_t t,
                      bool hop)
{
    struct mail_message m;
    struct mail_delivery d;
    struct err e;

    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.id = mid;
    snprintf(m.queue_id, sizeof m.queue_id, "%s", qid);
    snprintf(m.sender, sizeof m.sender, "%s", sender);
    m.origin = origin;
    m.size = 1000;
    d.message_id = mid;
    d.time = t;
    snprintf(d.recipient, sizeof d.recipient, "%s", rcpt);
    d.status = status;
    snprintf(d.status_text, sizeof d.status_text, "%s", text);
    d.is_hop = hop;
    d.delay = 1.5;
    ck_assert_msg(sink.put_delivery(sink.ctx, &m, &d, &e) == 0, "%s", e.text);
}

static void put_dlv(int64_t mid, const char *sender, enum message_origin origin, const char *rcpt,
                    enum delivery_status status, const char *text, int64_t t, bool hop)
{
    put_dlv_q(mid, "", sender, origin, rcpt, status, text, t, hop);
}

struct collect {
    int n;
    int64_t ids[600];
    int64_t dates[600];
    char last_mailbox[256];
    char last_orig_to[256];
};

static int collect_row(void *ctx, const struct query_row *r, struct err *e)
{
    struct collect *c = ctx;

    (void)e;
    c->ids[c->n] = r->id;
    c->dates[c->n++] = r->date;
    snprintf(c->last_mailbox, sizeof c->last_mailbox, "%s", r->mailbox);
    snprintf(c->last_orig_to, sizeof c->last_orig_to, "%s", r->orig_to);
    return 0;
}

static const char *const example_only[] = {"example.com"};

static int run(enum query_tab tab, const char *domain, const char *q, struct collect *c,
               struct query_result *res)
{
    struct query qu;
    struct err e;

    commit_and_continue();
    query_init(&qu, tab);
    qu.scope.domains = example_only;
    qu.scope.count = 1;
    snprintf(qu.domain, sizeof qu.domain, "%s", domain);
    snprintf(qu.q, sizeof qu.q, "%s", q);
    qu.want_total = true;
    memset(c, 0, sizeof *c);
    if (store_query(st, &qu, collect_row, c, res, &e) < 0)
        ck_abort_msg("%s", e.text);
    return c->n;
}

START_TEST(tabs_classify_deliveries)
{
    struct collect c;
    struct query_result res;
    /* inbound from outside to us: received */
    int64_t a = put_msg("A1", "x@remote.org", ORIGIN_REMOTE, 1000);
    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "Bob@Example.COM", DELIVERY_SENT, "ok", 1001, false);
    /* our user sending out by SASL: sent; and one deferred then bounced */
    int64_t b = put_msg("B1", "alice@example.com", ORIGIN_SASL, 2000);
    put_dlv(b, "alice@example.com", ORIGIN_SASL, "z@far.net", DELIVERY_SENT, "250 ok", 2001, false);
    put_dlv(b, "alice@example.com", ORIGIN_SASL, "y@far.net", DELIVERY_DEFERRED, "timeout", 2002,
            false);
    put_dlv(b, "alice@example.com", ORIGIN_SASL, "y@far.net", DELIVERY_BOUNCED, "550 no user", 2003,
            false);
    /* spoofed: our domain as sender from a remote client: not sent */
    int64_t s = put_msg("S1", "alice@example.com", ORIGIN_REMOTE, 3000);
    put_dlv(s, "alice@example.com", ORIGIN_REMOTE, "q@far.net", DELIVERY_SENT, "250", 3001, false);
    /* a content-filter hop: never shown */
    int64_t h = put_msg("H1", "x@remote.org", ORIGIN_REMOTE, 4000);
    put_dlv(h, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_SENT, "queued as H2",
            4001, true);
    /* rejected to us */
    int64_t r = put_msg("", "spam@bad.biz", ORIGIN_REMOTE, 5000);
    put_dlv(r, "spam@bad.biz", ORIGIN_REMOTE, "bob@example.com", DELIVERY_REJECTED,
            "554 Relay access denied", 5000, false);

    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "", &c, &res), 2);
    ck_assert_int_eq(c.ids[0] > 0, 1);
    ck_assert_int_eq(c.dates[0], 5000); /* newest first */
    ck_assert_int_eq(c.dates[1], 1001);
    ck_assert_str_eq(c.last_mailbox, "Bob@Example.COM");
    ck_assert_int_eq(res.total, 2);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 5000);
    ck_assert_int_eq(run(TAB_SENT, "example.com", "", &c, &res), 2);
    ck_assert_int_eq(c.dates[0], 2003); /* the upserted y@far.net row carries its latest time */
    ck_assert_int_eq(run(TAB_NOT_SENT, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(run(TAB_SENT, "", "", &c, &res), 2); /* whole scope */
    ck_assert_int_eq(run(TAB_RECEIVED, "", "relay access", &c, &res), 1);
    ck_assert_int_eq(run(TAB_RECEIVED, "", "no-such-text", &c, &res), 0);
    ck_assert_int_eq(run(TAB_SENT, "", "no", &c, &res), 1); /* short text: no FTS */

    /* charts: every visible delivery of the domain once, by status */
    struct stats_query sq;
    struct stats_result sr;
    struct err e;
    uint64_t n = 0, rejected = 0;

    memset(&sq, 0, sizeof sq);
    sq.scope.domains = example_only;
    sq.scope.count = 1;
    sq.from = 1;
    sq.to = 10000;
    ck_assert_msg(store_stats(st, &sq, &sr, &e) == 0, "%s", e.text);
    for (size_t i = 0; i < sr.bucket_count; i++)
        for (int k = 0; k < DELIVERY_STATUS_COUNT; k++) {
            n += sr.buckets[i].by_status[k];
            if (k == DELIVERY_REJECTED)
                rejected += sr.buckets[i].by_status[k];
        }
    ck_assert_int_eq((int)n, 4); /* 2 received + 2 sent; hop and spoofed not */
    ck_assert_int_eq((int)rejected, 1);
    ck_assert_int_eq((int)sr.totals.received, 2);
    ck_assert_int_eq((int)sr.totals.sent, 2);
    ck_assert_int_eq((int)sr.totals.not_received, 1);
    ck_assert_int_eq((int)sr.totals.not_sent, 1);
    stats_result_free(&sr);

    /* attempts are counted by the store */
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st),
                                        "SELECT attempts, status FROM deliveries WHERE recipient ="
                                        " 'y@far.net'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(q, 0), 2);
    ck_assert_int_eq(sqlite3_column_int(q, 1), DELIVERY_BOUNCED);
    sqlite3_finalize(q);
}
END_TEST

START_TEST(scope_is_enforced)
{
    struct query qu;
    struct query_result res;
    struct collect c;
    struct err e;
    struct trace t;
    struct query_scope other = {false, example_only, 0};
    struct query_scope mine = {false, example_only, 1};
    int64_t a = put_msg("A1", "x@remote.org", ORIGIN_REMOTE, 1000);

    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_SENT, "ok", 1001, false);
    query_init(&qu, TAB_RECEIVED);
    qu.scope.domains = example_only;
    qu.scope.count = 1;
    snprintf(qu.domain, sizeof qu.domain, "other.com");
    ck_assert_int_eq(store_query(st, &qu, collect_row, &c, &res, &e), -1);
    ck_assert_msg(strncmp(e.text, "domain:", 7) == 0, "%s", e.text);
    qu.domain[0] = '\0';
    qu.scope.count = 0; /* nobody's domains: nothing */
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(store_query(st, &qu, collect_row, &c, &res, &e), 0);
    ck_assert_int_eq(c.n, 0);
    ck_assert_int_eq(store_trace(st, a, &other, &t, &e), 0);
    ck_assert_int_eq(store_trace(st, a, &mine, &t, &e), 1);
    ck_assert_str_eq(t.message.queue_id, "A1");
    ck_assert_int_eq((int)t.delivery_count, 1);
    ck_assert_str_eq(t.lines, "line one\n");
    trace_free(&t);
}
END_TEST

/* The trace shows a customer what the tabs show them: a sender address any
 * client can claim does not open a message, and a message that does open
 * hides the recipients (and their log lines) in other customers' domains. */
START_TEST(trace_shows_only_what_the_scope_may_see)
{
    struct query_scope mine = {false, example_only, 1};
    struct query_scope everything = {true, NULL, 0};
    struct trace t;
    struct err e;
    static const char lines[] = "Q2: client=a[203.0.113.1], sasl_username=bob@other.org\n"
                                "Q2: from=<bob@other.org>, size=10, nrcpt=2 (queue active)\n"
                                "Q2: to=<x@example.com>, relay=local, status=sent (ok)\n"
                                "Q2: to=<hidden@secret.org>, orig_to=<alias@secret.org>,"
                                " relay=mx, status=sent (ok)\n"
                                "Q2: to=<y@example.com>, orig_to=<fwd@secret.org>,"
                                " relay=local, status=sent (ok)\n"
                                "Q2: to=<fwd@secret.org>, relay=local, status=bounced (quota)\n"
                                "Q2: removed\n";
    /* forged: a client on the internet claims a sender of example.com */
    int64_t forged = put_msg("Q1", "ceo@example.com", ORIGIN_REMOTE, 1000);
    int64_t bcc = put_msg_lines("Q2", "bob@other.org", ORIGIN_SASL, 2000, lines);
    int64_t mine_sent = put_msg("Q3", "me@example.com", ORIGIN_SASL, 3000);
    int64_t bounce = put_msg("Q4", "", ORIGIN_LOCAL, 4000);

    put_dlv(forged, "ceo@example.com", ORIGIN_REMOTE, "secret@other.org", DELIVERY_SENT, "ok", 1001,
            false);
    put_dlv(bcc, "bob@other.org", ORIGIN_SASL, "x@example.com", DELIVERY_SENT, "ok", 2001, false);
    put_dlv(bcc, "bob@other.org", ORIGIN_SASL, "hidden@secret.org", DELIVERY_SENT, "ok", 2002,
            false);
    /* an alias of secret.org that keeps a copy and forwards one to example.com */
    put_dlv(bcc, "bob@other.org", ORIGIN_SASL, "y@example.com", DELIVERY_SENT, "ok", 2003, false);
    put_dlv(bcc, "bob@other.org", ORIGIN_SASL, "fwd@secret.org", DELIVERY_BOUNCED, "quota", 2004,
            false);
    /* a bounce to other.org for the Bcc message: linked, but not mine */
    put_dlv(bounce, "", ORIGIN_LOCAL, "bob@other.org", DELIVERY_SENT, "ok", 4001, false);
    commit_and_continue();
    ck_assert_int_eq(sqlite3_exec(store_handle(st),
                                  "UPDATE messages SET dsn_of = (SELECT id FROM messages WHERE"
                                  " queue_id = 'Q2') WHERE queue_id = 'Q4';"
                                  " UPDATE deliveries SET orig_to = 'fwd@secret.org'"
                                  " WHERE recipient = 'y@example.com'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);

    ck_assert_int_eq(store_trace(st, forged, &mine, &t, &e), 0);
    ck_assert_int_eq(store_trace(st, forged, &everything, &t, &e), 1);
    trace_free(&t);
    /* sent from my domain by SMTP AUTH, no delivery yet: mine */
    ck_assert_int_eq(store_trace(st, mine_sent, &mine, &t, &e), 1);
    trace_free(&t);

    ck_assert_int_eq(store_trace(st, bcc, &mine, &t, &e), 1);
    ck_assert_int_eq((int)t.delivery_count, 2);
    ck_assert_str_eq(t.deliveries[0].recipient, "x@example.com");
    ck_assert_str_eq(t.deliveries[1].recipient, "y@example.com");
    ck_assert_int_eq((int)t.deliveries_hidden, 2);
    /* y's line names fwd@secret.org as its original recipient: y's own */
    ck_assert_ptr_nonnull(strstr(t.lines, "to=<y@example.com>, orig_to=<fwd@secret.org>"));
    ck_assert_ptr_null(strstr(t.lines, "Q2: to=<hidden@"));
    ck_assert_ptr_null(strstr(t.lines, "Q2: to=<fwd@"));
    ck_assert_ptr_null(strstr(t.lines, "quota"));
    ck_assert_ptr_nonnull(strstr(t.lines, "to=<x@example.com>"));
    ck_assert_ptr_nonnull(strstr(t.lines, "Q2: removed\n"));
    ck_assert_int_eq((int)t.lines_hidden, 2);
    ck_assert_int_eq((int)t.chain_count, 0); /* the bounce went to other.org */
    trace_free(&t);

    ck_assert_int_eq(store_trace(st, bcc, &everything, &t, &e), 1);
    ck_assert_int_eq((int)t.delivery_count, 4);
    ck_assert_int_eq((int)t.deliveries_hidden, 0);
    ck_assert_str_eq(t.lines, lines);
    ck_assert_int_eq((int)t.chain_count, 1);
    ck_assert_int_eq((int)t.chain[0].id, (int)bounce);
    trace_free(&t);
}
END_TEST

/* Mail a hosted address forwards out of the server is the forwarding
 * domain's (its owner asks whether it arrived); a forward to another hosted
 * domain stays with the mailbox that received it. */
START_TEST(forwarded_mail_belongs_to_the_forwarding_domain)
{
    struct collect c;
    struct query_result res;
    struct mail_message m;
    struct mail_delivery d;
    struct err e;
    static const char *const rcpts[][2] = {{"x@gmail.test", "info@example.com"},
                                           {"bob@other.com", "sales@example.com"},
                                           {"y@gmail.test", ""}};
    int64_t id = put_msg("F1", "z@remote.org", ORIGIN_REMOTE, 5000);

    ck_assert_int_eq(sqlite3_exec(store_handle(st),
                                  "INSERT INTO domains(name) VALUES ('example.com'), ('other.com')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    memset(&m, 0, sizeof m);
    m.id = id;
    m.origin = ORIGIN_REMOTE;
    snprintf(m.sender, sizeof m.sender, "z@remote.org");
    for (size_t i = 0; i < 3; i++) {
        memset(&d, 0, sizeof d);
        d.message_id = id;
        d.time = 5001 + (int64_t)i;
        snprintf(d.recipient, sizeof d.recipient, "%s", rcpts[i][0]);
        snprintf(d.orig_to, sizeof d.orig_to, "%s", rcpts[i][1]);
        d.status = i == 0 ? DELIVERY_BOUNCED : DELIVERY_SENT;
        ck_assert_msg(sink.put_delivery(sink.ctx, &m, &d, &e) == 0, "%s", e.text);
    }
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "", &c, &res), 1);
    ck_assert_str_eq(c.last_mailbox, "x@gmail.test");
    ck_assert_str_eq(c.last_orig_to, "info@example.com"); /* the row says whose it was */
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "", &c, &res), 1);
    {
        sqlite3_stmt *q;
        ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st),
                                            "SELECT group_concat(recipient_domain, ' ') FROM"
                                            " (SELECT recipient_domain FROM deliveries"
                                            " WHERE message_id = ?1 ORDER BY time)",
                                            -1, &q, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(q, 1, id);
        ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(q, 0),
                         "example.com other.com gmail.test");
        sqlite3_finalize(q);
    }
}
END_TEST

START_TEST(keyset_pages_cover_everything_once)
{
    struct query qu;
    struct query_result res;
    struct collect c, all;
    struct err e;
    int pages = 0;

    for (int i = 0; i < 130; i++) {
        char qid[16], rcpt[64];
        snprintf(qid, sizeof qid, "Q%d", i);
        snprintf(rcpt, sizeof rcpt, "u%d@example.com", i % 7);
        /* many equal times: the id breaks ties */
        int64_t m = put_msg(qid, "x@remote.org", ORIGIN_REMOTE, 100 + i / 10);
        put_dlv(m, "x@remote.org", ORIGIN_REMOTE, rcpt, DELIVERY_SENT, "ok", 100 + i / 10, false);
    }
    commit_and_continue();
    for (int sort = 0; sort < 2; sort++) {
        memset(&all, 0, sizeof all);
        query_init(&qu, TAB_RECEIVED);
        qu.scope.domains = example_only;
        qu.scope.count = 1;
        qu.limit = 50;
        ck_assert_int_eq(query_param(&qu, "sort", sort ? "mailbox" : "date", &e), 0);
        ck_assert_int_eq(query_param(&qu, "order", sort ? "asc" : "desc", &e), 0);
        pages = 0;
        do {
            memset(&c, 0, sizeof c);
            ck_assert_msg(store_query(st, &qu, collect_row, &c, &res, &e) == 0, "%s", e.text);
            for (int i = 0; i < c.n; i++)
                all.ids[all.n++] = c.ids[i];
            snprintf(qu.cursor, sizeof qu.cursor, "%s", res.next_cursor);
            pages++;
        } while (res.next_cursor[0] != '\0' && pages < 10);
        ck_assert_int_eq(pages, 3);
        ck_assert_int_eq(all.n, 130);
        for (int i = 0; i < all.n; i++)
            for (int k = i + 1; k < all.n; k++)
                ck_assert_int_ne(all.ids[i], all.ids[k]);
    }
    ck_assert_int_eq(query_param(&qu, "cursor", "zz", &e), -1);
    ck_assert_int_eq(query_param(&qu, "limit", "501", &e), -1);
    ck_assert_str_eq(e.text, "limit: must be 1..500");
    ck_assert_int_eq(query_param(&qu, "sort", "ip", &e), -1);
    ck_assert_int_eq(query_param(&qu, "q", "\xff\xfe", &e), -1);
}
END_TEST

/* Every tab's first page for one domain, newest first, must walk an index
 * without sorting: the plan of the query store_query() runs names an index
 * and no temporary B-tree. */
START_TEST(first_pages_use_an_index)
{
    for (int tab = 0; tab < TAB_COUNT; tab++) {
        struct query qu;
        struct err e;
        char plan[2048];

        query_init(&qu, (enum query_tab)tab);
        qu.scope.domains = example_only;
        qu.scope.count = 1;
        snprintf(qu.domain, sizeof qu.domain, "example.com");
        ck_assert_msg(store_query_plan(st, &qu, plan, sizeof plan, &e) == 0, "%s", e.text);
        ck_assert_msg(strstr(plan, "USING INDEX") != NULL && strstr(plan, "TEMP B-TREE") == NULL,
                      "tab %d: %s", tab, plan);
        /* the next page too */
        snprintf(qu.cursor, sizeof qu.cursor, "i1000.55");
        ck_assert_msg(store_query_plan(st, &qu, plan, sizeof plan, &e) == 0, "%s", e.text);
        ck_assert_msg(strstr(plan, "USING INDEX") != NULL && strstr(plan, "TEMP B-TREE") == NULL,
                      "tab %d page 2: %s", tab, plan);
        /* a search goes through the trigram index */
        qu.cursor[0] = '\0';
        snprintf(qu.q, sizeof qu.q, "needle");
        ck_assert_msg(store_query_plan(st, &qu, plan, sizeof plan, &e) == 0, "%s", e.text);
        ck_assert_msg(strstr(plan, "VIRTUAL TABLE INDEX") != NULL, "tab %d q: %s", tab, plan);
    }
    /* the admin's all-domains pages walk the time index, never sort the table */
    ck_assert_int_eq(sqlite3_exec(store_handle(st),
                                  "INSERT INTO domains(name) VALUES ('example.com'), ('b.org')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (int tab = 0; tab < TAB_COUNT; tab++) {
        struct query qu;
        struct err e;
        char plan[2048];

        query_init(&qu, (enum query_tab)tab);
        qu.scope.all = true;
        ck_assert_msg(store_query_plan(st, &qu, plan, sizeof plan, &e) == 0, "%s", e.text);
        ck_assert_msg(strstr(plan, "_time") != NULL && strstr(plan, "TEMP B-TREE") == NULL,
                      "all domains, tab %d: %s", tab, plan);
    }
}
END_TEST

/* The overview of example.com over the test's times: received deliveries
 * and failed logins, as the charts and the tab totals count them. */
static void expect_stats(uint64_t received, uint64_t access_failed)
{
    struct stats_query sq;
    struct stats_result r;
    struct err e;

    memset(&sq, 0, sizeof sq);
    sq.scope.domains = example_only;
    sq.scope.count = 1;
    snprintf(sq.domain, sizeof sq.domain, "example.com");
    sq.from = 1;
    sq.to = 100000;
    ck_assert_msg(store_stats(st, &sq, &r, &e) == 0, "%s", e.text);
    ck_assert_uint_eq(r.totals.received, received);
    ck_assert_uint_eq(r.totals.access_failed, access_failed);
    stats_result_free(&r);
}

START_TEST(ignore_terms_hide_and_unhide)
{
    struct settings s;
    struct collect c;
    struct query_result res;
    struct err e;
    struct access_event a;
    int64_t m = put_msg("A1", "x@remote.org", ORIGIN_REMOTE, 1000);

    put_dlv(m, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_SENT,
            "250 2.0.0 Ok: queued as ABC via AMAVIS", 1001, false);
    memset(&a, 0, sizeof a);
    a.time = 50;
    snprintf(a.user, sizeof a.user, "bob@example.com");
    snprintf(a.ip, sizeof a.ip, "192.0.2.7");
    a.success = false;
    snprintf(a.detail, sizeof a.detail, "auth failed, 1 attempts");
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    /* the same failure over SMTP AUTH: a Postfix record, not a POP/IMAP one */
    a.time = 60;
    a.protocol = PROTO_SMTP;
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "", &c, &res), 2);
    expect_stats(1, 2);
    ck_assert_int_eq(store_settings_get(st, &s, &e), 0);
    ck_assert_int_eq(settings_set_text(&s, "ignore_terms_smtp", "amavis, other", &e), 0);
    ck_assert_int_eq(settings_set_text(&s, "ignore_terms_imap", "AUTH FAILED", &e), 0);
    ck_assert_int_eq(store_settings_set(st, &s, &e), 0);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "", &c, &res), 0);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 60); /* the SMTP AUTH one stays */
    expect_stats(0, 1);               /* hidden records are not counted either */
    /* an SMTP term hides the SMTP AUTH failure, not the IMAP one */
    ck_assert_int_eq(settings_set_text(&s, "ignore_terms_smtp", "auth failed", &e), 0);
    ck_assert_int_eq(settings_set_text(&s, "ignore_terms_imap", "", &e), 0);
    ck_assert_int_eq(store_settings_set(st, &s, &e), 0);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 50);
    expect_stats(1, 1);
    ck_assert_int_eq(settings_set_text(&s, "ignore_terms_smtp", "", &e), 0);
    ck_assert_int_eq(store_settings_set(st, &s, &e), 0);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "", &c, &res), 1);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "", &c, &res), 2);
    expect_stats(1, 2);
}
END_TEST

START_TEST(settings_are_validated)
{
    struct settings s;
    struct domain_settings ds;
    struct err e;

    ck_assert_int_eq(store_settings_get(st, &s, &e), 0);
    ck_assert_int_eq(s.retention_days, 7);
    ck_assert(s.cron_enabled);
    ck_assert_int_eq(s.client_config_visibility, VISIBILITY_EDITABLE);
    ck_assert_int_eq(settings_set_text(&s, "retention_days", "0", &e), -1);
    ck_assert_str_eq(e.text, "retention_days: must be 1..3650");
    ck_assert_int_eq(settings_set_text(&s, "excluded_ips", "10.0.0.0/8, 2001:db8::1", &e), 0);
    ck_assert_int_eq(s.excluded_ips_count, 2);
    ck_assert_int_eq(settings_set_text(&s, "retention_days", "30", &e), 0);
    ck_assert_int_eq(store_settings_set(st, &s, &e), 0);
    ck_assert_int_eq(settings_set_text(&s, "excluded_ips", "10.0.0.300", &e), 0);
    ck_assert_int_eq(store_settings_set(st, &s, &e), -1);
    ck_assert_msg(strncmp(e.text, "excluded_ips:", 13) == 0, "%s", e.text);
    ck_assert_int_eq(store_settings_get(st, &s, &e), 0); /* the failed set changed nothing */
    ck_assert_int_eq(s.retention_days, 30);
    ck_assert_int_eq(s.excluded_ips_count, 2);
    ck_assert_str_eq(s.excluded_ips[1], "2001:db8::1");

    ck_assert_int_eq(store_domain_settings_get(st, "Example.com", &ds, &e), 0);
    ck_assert(!ds.notify);
    ck_assert_int_eq(domain_settings_set_text(&ds, "force_password_change", "on", &e), 0);
    ck_assert_int_eq(store_domain_settings_set(st, &ds, &e), -1);
    ck_assert_msg(strncmp(e.text, "force_password_change:", 22) == 0, "%s", e.text);
    ck_assert_int_eq(domain_settings_set_text(&ds, "notify", "on", &e), 0);
    ck_assert_int_eq(domain_settings_set_text(&ds, "usual_countries", "de,AT", &e), 0);
    ck_assert_int_eq(store_domain_settings_set(st, &ds, &e), 0);
    ck_assert_int_eq(domain_settings_set_text(&ds, "usual_countries", "XX", &e), 0);
    ck_assert_int_eq(store_domain_settings_set(st, &ds, &e), -1);
    ck_assert_int_eq(store_domain_settings_get(st, "example.com", &ds, &e), 0);
    ck_assert(ds.notify && ds.force_password_change);
    ck_assert_int_eq(ds.usual_countries_count, 2);
    ck_assert_str_eq(ds.usual_countries[0], "DE");
}
END_TEST

START_TEST(purge_deletes_exactly_the_old)
{
    struct err e;
    struct store_summary sum;
    struct access_event a;
    int64_t now = 100 * 86400, cutoff = now - 7 * 86400;

    for (int i = -3; i <= 3; i++) {
        char qid[16];
        snprintf(qid, sizeof qid, "P%d", i + 3);
        int64_t m = put_msg(qid, "x@remote.org", ORIGIN_REMOTE, cutoff + i);
        put_dlv(m, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_SENT, "ok",
                cutoff + i, false);
        memset(&a, 0, sizeof a);
        a.time = cutoff + i;
        snprintf(a.user, sizeof a.user, "bob@example.com");
        a.success = true;
        ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    }
    ck_assert_int_gt(store_purge(st, now, 2, &e), 0);
    ck_assert_int_eq(store_summary(st, &sum, &e), 0);
    ck_assert_int_eq((int)sum.messages, 4); /* cutoff + 0..3 stay */
    ck_assert_int_eq((int)sum.deliveries[DELIVERY_SENT], 4);
    ck_assert_int_eq((int)sum.access_ok, 4);
    ck_assert_int_eq(sum.oldest, cutoff);
    ck_assert_int_eq(store_purge(st, now, 2, &e), 0);
}
END_TEST

START_TEST(open_messages_are_found_again)
{
    struct mail_message m, back;
    struct err e;

    memset(&m, 0, sizeof m);
    snprintf(m.host, sizeof m.host, "mx");
    snprintf(m.queue_id, sizeof m.queue_id, "OPEN1");
    snprintf(m.sender, sizeof m.sender, "a@example.com");
    m.size = 42;
    m.origin = ORIGIN_SASL;
    ck_assert_int_eq(sink.put_message(sink.ctx, &m, &e), 0);
    ck_assert_int_eq(sink.find_open_message(sink.ctx, "mx", "OPEN1", &back, &e), 1);
    ck_assert_int_eq(back.id, m.id);
    ck_assert_int_eq(back.size, 42);
    ck_assert_int_eq(back.origin, ORIGIN_SASL);
    ck_assert(!back.closed);
    ck_assert(back.stored);
    m.stored = true; /* as the tracker marks it after the first put */
    m.closed = true;
    ck_assert_int_eq(sink.put_message(sink.ctx, &m, &e), 0);
    ck_assert_int_eq(sink.find_open_message(sink.ctx, "mx", "OPEN1", &back, &e), 0);
}
END_TEST

/* A delivery written before its message's row (the id was reserved) gets the
 * message's fields as they are when the row is written. */
START_TEST(deliveries_before_their_message_follow_it)
{
    struct mail_message m;
    struct mail_delivery d;
    struct collect c;
    struct query_result res;
    struct err e;

    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    snprintf(m.host, sizeof m.host, "mx");
    snprintf(m.queue_id, sizeof m.queue_id, "EARLY1");
    m.origin = ORIGIN_REMOTE;
    m.size = -1;
    ck_assert_int_eq(sink.reserve_message_id(sink.ctx, &m.id, &e), 0);
    ck_assert_int_gt(m.id, 0);
    d.message_id = m.id;
    d.time = 500;
    snprintf(d.recipient, sizeof d.recipient, "z@far.net");
    d.status = DELIVERY_SENT;
    ck_assert_int_eq(sink.put_delivery(sink.ctx, &m, &d, &e), 0);
    /* the SASL login and sender were learnt after the delivery was written */
    snprintf(m.sender, sizeof m.sender, "alice@example.com");
    m.origin = ORIGIN_SASL;
    m.size = 2048;
    m.closed = true;
    ck_assert_int_eq(sink.put_message(sink.ctx, &m, &e), 0);
    ck_assert_int_eq(run(TAB_SENT, "example.com", "", &c, &res), 1);
    ck_assert_str_eq(c.last_mailbox, "alice@example.com");
}
END_TEST

/* A message that got an id but never a row stops the commit. */
START_TEST(commit_refuses_a_reserved_message_without_row)
{
    int64_t id;
    struct err e;

    ck_assert_int_eq(sink.reserve_message_id(sink.ctx, &id, &e), 0);
    ck_assert_int_eq(store_commit(st, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.text, "no row"));
    ck_assert_int_eq(store_begin(st, &e), 0);
}
END_TEST

/* The search index follows what the rows say: a retry of a recipient stored
 * in an earlier commit replaces its indexed text, a retry within one commit
 * is indexed once with its last text, and a purged newest row does not leave
 * its id to a later row that would then never be indexed. */
START_TEST(search_index_follows_retries_and_purges)
{
    struct collect c;
    struct query_result res;
    struct err e;
    int64_t now = 100 * 86400;
    int64_t a = put_msg("R1", "x@remote.org", ORIGIN_REMOTE, now - 100);

    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_DEFERRED,
            "451 try later qzx1", now - 100, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx1", &c, &res), 1);
    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_BOUNCED,
            "550 no such user qzx2", now - 90, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx1", &c, &res), 0);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx2", &c, &res), 1);

    /* deferred then bounced before the commit: one row, two attempts */
    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "carol@example.com", DELIVERY_DEFERRED,
            "451 greylisted qzx3", now - 80, false);
    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "carol@example.com", DELIVERY_BOUNCED,
            "550 mailbox full qzx4", now - 70, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx3", &c, &res), 0);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx4", &c, &res), 1);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx", &c, &res), 2);

    /* the newest row is the oldest mail (a backfilled log): purged */
    int64_t old = put_msg("R2", "x@remote.org", ORIGIN_REMOTE, now - 30 * 86400);
    put_dlv(old, "x@remote.org", ORIGIN_REMOTE, "dave@example.com", DELIVERY_BOUNCED,
            "550 gone qzx5", now - 30 * 86400, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx5", &c, &res), 1);
    ck_assert_int_gt(store_purge(st, now, 100, &e), 0);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx5", &c, &res), 0);
    /* the next row gets a new id and is found */
    put_dlv(a, "x@remote.org", ORIGIN_REMOTE, "erin@example.com", DELIVERY_BOUNCED,
            "550 unknown qzx6", now - 10, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx6", &c, &res), 1);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "qzx", &c, &res), 3);
}
END_TEST

/* Rows of the search index `table` matching the FTS5 query `match`. */
static int fts_count(const char *table, const char *match)
{
    sqlite3_stmt *q;
    char sql[128];
    int n = -1;

    commit_and_continue();
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s MATCH ?1", table, table);
    ck_assert_int_eq(sqlite3_prepare_v2(store_handle(st), sql, -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, match, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Rows of deliveries_fts holding the trigram `tri` (any column). */
static int fts_rows(const char *tri)
{
    char match[32];

    snprintf(match, sizeof match, "\"%s\"", tri);
    return fts_count("deliveries_fts", match);
}

/* A queue ID (from a bounce, a customer's forwarded error, a grep of the
 * log) finds its deliveries, whole or in part, in any case; the search
 * index follows a retry and a purge of such rows exactly. */
START_TEST(queue_id_search_finds_deliveries)
{
    struct collect c;
    struct query_result res;
    struct err e;
    int64_t now = 100 * 86400;
    int64_t a = put_msg("4F2A9C01B7", "x@remote.org", ORIGIN_REMOTE, now - 30 * 86400);
    int64_t b = put_msg("7D00E1A2C4", "y@remote.org", ORIGIN_REMOTE, now - 100);

    put_dlv_q(a, "4F2A9C01B7", "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_DEFERRED,
              "451 later", now - 30 * 86400, false);
    put_dlv_q(b, "7D00E1A2C4", "y@remote.org", ORIGIN_REMOTE, "ann@example.com", DELIVERY_SENT,
              "250 ok", now - 90, false);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "4F2A9C01B7", &c, &res), 1);
    ck_assert_str_eq(c.last_mailbox, "bob@example.com");
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "4f2a9c01b7", &c, &res), 1);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "2A9C01", &c, &res), 1);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "7D00E1A2C4", &c, &res), 1);
    ck_assert_str_eq(c.last_mailbox, "ann@example.com");
    /* retried after the commit: the update trigger re-indexes the same text */
    put_dlv_q(a, "4F2A9C01B7", "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_BOUNCED,
              "550 no such user", now - 30 * 86400 + 60, false);
    ck_assert_int_eq(run(TAB_NOT_RECEIVED, "example.com", "4F2A9C01B7", &c, &res), 1);
    ck_assert_int_eq(fts_rows("F2A"), 1);
    /* purged: its queue ID leaves the index with it, no stale entry */
    ck_assert_int_gt(store_purge(st, now, 100, &e), 0);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "4F2A9C01B7", &c, &res), 0);
    ck_assert_int_eq(fts_rows("F2A"), 0);
    ck_assert_int_eq(fts_rows("D00"), 1);
}
END_TEST

/* A mail re-injected by a content filter: its deliveries are found by the
 * queue id the sender was given (the parent's) too, also when the link is
 * made after they were stored and indexed. */
START_TEST(parent_queue_id_finds_the_reinjected_copy)
{
    struct collect c;
    struct query_result res;
    struct mail_message m;
    struct err e;
    int64_t now = 100 * 86400;
    int64_t child = put_msg("5A0B1C2D3E", "x@remote.org", ORIGIN_REMOTE, now - 100);

    put_dlv_q(child, "5A0B1C2D3E", "x@remote.org", ORIGIN_REMOTE, "bob@example.com", DELIVERY_SENT,
              "250 ok", now - 90, false);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "6F0A1B2C3D", &c, &res), 0);
    /* the tracker links it to its parent later: the message is stored again */
    memset(&m, 0, sizeof m);
    m.id = child;
    m.stored = true;
    snprintf(m.host, sizeof m.host, "mx");
    snprintf(m.queue_id, sizeof m.queue_id, "5A0B1C2D3E");
    snprintf(m.parent_queue_id, sizeof m.parent_queue_id, "6F0A1B2C3D");
    snprintf(m.sender, sizeof m.sender, "x@remote.org");
    snprintf(m.message_id, sizeof m.message_id, "<5A0B1C2D3E@id>");
    m.first_seen = m.last_seen = now - 100;
    m.size = 1000;
    m.nrcpt = 1;
    m.origin = ORIGIN_REMOTE;
    m.closed = true;
    ck_assert_msg(sink.put_message(sink.ctx, &m, &e) == 0, "%s", e.text);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "6F0A1B2C3D", &c, &res), 1);
    ck_assert_int_eq(run(TAB_RECEIVED, "example.com", "5A0B1C2D3E", &c, &res), 1);
    ck_assert_int_eq(fts_rows("F0A"), 1);
    /* purged: no stale entry of either id */
    ck_assert_int_gt(store_purge(st, now + 30 * 86400, 100, &e), 0);
    ck_assert_int_eq(fts_rows("F0A"), 0);
    ck_assert_int_eq(fts_rows("A0B"), 0);
}
END_TEST

/* The Access tab's search finds a login by its protocol's name, and a
 * purged login leaves no entry in the index. */
START_TEST(access_search_finds_protocol_names)
{
    struct collect c;
    struct query_result res;
    struct access_event a;
    struct err e;

    memset(&a, 0, sizeof a);
    a.time = 86400;
    snprintf(a.user, sizeof a.user, "bob@example.com");
    snprintf(a.ip, sizeof a.ip, "192.0.2.7");
    a.protocol = PROTO_MANAGESIEVE;
    a.success = true;
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    a.protocol = PROTO_IMAP;
    a.time = 86401;
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "managesieve", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 86400);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "IMAP", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 86401);
    /* a private address has no country: the tab shows it as "local" */
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "local", &c, &res), 0);
    snprintf(a.ip, sizeof a.ip, "10.1.2.3");
    a.time = 86402;
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    ck_assert_int_eq(run(TAB_ACCESS, "example.com", "local", &c, &res), 1);
    ck_assert_int_eq(c.dates[0], 86402);
    /* a failed SMTP AUTH that names no user (the admin's tab says "unknown
     * user"): indexed with those words */
    ck_assert_int_eq(fts_count("access_fts", "\"nkn\" AND \"ser\""), 0);
    a.user[0] = '\0';
    a.time = 86403;
    a.success = false;
    ck_assert_int_eq(sink.put_access(sink.ctx, &a, &e), 0);
    commit_and_continue();
    ck_assert_int_eq(fts_count("access_fts", "\"nkn\" AND \"ser\""), 1);
    ck_assert_int_gt(store_purge(st, 100 * 86400, 100, &e), 0);
    ck_assert_int_eq(fts_count("access_fts", "\"sie\" OR \"map\""), 0);
}
END_TEST

Suite *suite_store_store(void);
Suite *suite_store_store(void)
{
    Suite *s = suite_create("store/store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tabs_classify_deliveries);
    tcase_add_test(tc, scope_is_enforced);
    tcase_add_test(tc, trace_shows_only_what_the_scope_may_see);
    tcase_add_test(tc, forwarded_mail_belongs_to_the_forwarding_domain);
    tcase_add_test(tc, keyset_pages_cover_everything_once);
    tcase_add_test(tc, first_pages_use_an_index);
    tcase_add_test(tc, ignore_terms_hide_and_unhide);
    tcase_add_test(tc, settings_are_validated);
    tcase_add_test(tc, purge_deletes_exactly_the_old);
    tcase_add_test(tc, open_messages_are_found_again);
    tcase_add_test(tc, search_index_follows_retries_and_purges);
    tcase_add_test(tc, queue_id_search_finds_deliveries);
    tcase_add_test(tc, parent_queue_id_finds_the_reinjected_copy);
    tcase_add_test(tc, access_search_finds_protocol_names);
    tcase_add_test(tc, deliveries_before_their_message_follow_it);
    tcase_add_test(tc, commit_refuses_a_reserved_message_without_row);
    suite_add_tcase(s, tc);
    return s;
}
