/*
 * bench_query.c — query latency of the store on a large database.
 *
 *   bench_query DB [DELIVERIES ACCESS]
 *
 * Makes DB when it does not exist yet: the real schema (store_open), 1000
 * hosted domains, DELIVERIES/2 messages with two deliveries each (default
 * 10M deliveries) and ACCESS logins (default 5M) over 7 days, generated in
 * SQL with the secondary indexes and FTS indexes dropped during the load and
 * rebuilt after it (as the store's own migration would create them). Then
 * times, through the query layer the CLI and the API use, the first page of
 * every tab for one domain, later pages, the totals, substring searches,
 * the admin's all-domains pages, a sort without index, a trace and the
 * charts, and prints the database's bytes per delivery.
 */
#include "store/query.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T0 1700000000LL
#define SPAN (7 * 86400LL)
#define RUNS 21

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_query: %s\n  in: %.200s\n", msg, sql);
        exit(1);
    }
}

/* Drops the secondary indexes and triggers of the big tables; their SQL goes
 * to saved (to be run again after the load). */
static void drop_secondary(sqlite3 *db, char *saved, size_t size)
{
    sqlite3_stmt *st;
    char drop[256];
    size_t used = 0;

    saved[0] = '\0';
    if (sqlite3_prepare_v2(db,
                           "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index',"
                           " 'trigger') AND sql IS NOT NULL AND tbl_name IN ('messages',"
                           " 'deliveries', 'access_events')",
                           -1, &st, NULL) != SQLITE_OK)
        exit(1);
    while (sqlite3_step(st) == SQLITE_ROW) {
        used += (size_t)snprintf(saved + used, size - used, "%s;\n",
                                 (const char *)sqlite3_column_text(st, 2));
        snprintf(drop, sizeof drop, "DROP %s %s", (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1));
        /* not while reading sqlite_master: noted here, dropped below */
        used += (size_t)snprintf(saved + used, size - used, "-- %s\n", drop);
    }
    sqlite3_finalize(st);
    /* second pass: execute the drops noted above */
    for (char *p = saved; (p = strstr(p, "-- DROP ")) != NULL; p += 3) {
        char *end = strchr(p, '\n');
        char sql[256];

        snprintf(sql, sizeof sql, "%.*s", (int)(end - p - 3), p + 3);
        exec_or_die(db, sql);
    }
}

static void generate(const char *path, long deliveries, long logins)
{
    struct err e;
    struct store *s = store_open(path, 0, &e);
    sqlite3 *db;
    char *saved = malloc(65536);
    char sql[4096];
    long messages = deliveries / 2;
    double t = now_ms();

    if (s == NULL || saved == NULL) {
        fprintf(stderr, "bench_query: %s\n", s ? "out of memory" : e.text);
        exit(1);
    }
    db = store_handle(s);
    exec_or_die(db, "PRAGMA cache_size=-262144; PRAGMA synchronous=OFF");
    drop_secondary(db, saved, 65536);
    exec_or_die(db, "BEGIN");
    exec_or_die(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)"
                    " INSERT INTO domains(name, owner_email) SELECT printf('d%03d.example', i),"
                    " printf('owner@d%03d.example', i) FROM n");
    /* even messages: a mailbox of ours sent it (SASL); odd: from outside */
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld)"
             " INSERT INTO messages(id, host, queue_id, first_seen, last_seen, client_ip,"
             " sasl_username, msgid, sender, sender_domain, size, nrcpt, origin, closed)"
             " SELECT i, 'mx', printf('%%010X', i), %lld + i * %lld / %ld,"
             " %lld + i * %lld / %ld + 2,"
             " printf('%%d.%%d.%%d.%%d', 1 + i %% 223, i / 7 %% 256, i / 11 %% 256, 1 + i %% 250),"
             " CASE i %% 2 WHEN 0 THEN printf('u%%d@d%%03d.example', i / 2 %% 50, i %% 1000)"
             "  ELSE '' END,"
             " printf('%%x.%%d@mail.example', i * 2654435761 %% 4294967296, i %% 977),"
             " CASE i %% 2 WHEN 0 THEN printf('u%%d@d%%03d.example', i / 2 %% 50, i %% 1000)"
             "  ELSE printf('s%%d@remote%%d.net', i %% 100000, i %% 5000) END,"
             " CASE i %% 2 WHEN 0 THEN printf('d%%03d.example', i %% 1000)"
             "  ELSE printf('remote%%d.net', i %% 5000) END,"
             " 1000 + i * 7919 %% 200000, 2, CASE i %% 2 WHEN 0 THEN 1 ELSE 0 END, 1 FROM n",
             messages, T0, SPAN, messages, T0, SPAN, messages);
    exec_or_die(db, sql);
    exec_or_die(db, "COMMIT");
    fprintf(stderr, "bench_query: %ld messages in %.0f s\n", messages, (now_ms() - t) / 1e3);
    exec_or_die(db, "BEGIN");
    snprintf(
        sql, sizeof sql,
        "WITH RECURSIVE r(j) AS (SELECT 0 UNION ALL SELECT 1),"
        " x AS (SELECT m.id AS i, r.j AS j, m.first_seen AS t, m.sender AS sender,"
        "  m.sender_domain AS sd, m.origin AS origin, m.size AS size, m.msgid AS msgid,"
        "  (m.id * 2654435761 + r.j * 40503) %% 1000003 %% 100 AS roll FROM messages m, r)"
        " INSERT INTO deliveries(message_id, time, recipient, recipient_domain, relay,"
        " service, delay, dsn, status, status_text, attempts, is_hop, sender, sender_domain,"
        " sent_domain, size, msgid)"
        " SELECT i, t + 1 + j,"
        "  CASE WHEN origin = 1 AND j = 0 THEN printf('r%%d@ext%%d.com', i %% 200000, i %% 3000)"
        "   ELSE printf('u%%d@d%%03d.example', (i + j) %% 50, (i * 7 + j * 13) %% 1000) END,"
        "  CASE WHEN origin = 1 AND j = 0 THEN printf('ext%%d.com', i %% 3000)"
        "   ELSE printf('d%%03d.example', (i * 7 + j * 13) %% 1000) END,"
        "  'mx.example.net[192.0.2.1]:25', 'smtp', 1.5, '2.0.0',"
        "  CASE WHEN roll < 85 THEN 0 WHEN roll < 90 THEN 1 WHEN roll < 95 THEN 2 ELSE 4 END,"
        "  CASE WHEN roll < 85 THEN printf('250 2.0.0 OK %%x queued', i * 40503 %% 16777216)"
        "   WHEN roll < 90 THEN 'connect to mx.example.net[192.0.2.1]:25: Connection timed out'"
        "   WHEN roll < 95 THEN '550 5.1.1 <user> Recipient address rejected: User unknown'"
        "   ELSE '554 5.7.1 Relay access denied' END,"
        "  1, 0, sender, sd, CASE origin WHEN 1 THEN sd ELSE '' END, size, msgid FROM x");
    exec_or_die(db, sql);
    exec_or_die(db, "COMMIT");
    fprintf(stderr, "bench_query: %ld deliveries at %.0f s\n", deliveries, (now_ms() - t) / 1e3);
    exec_or_die(db, "BEGIN");
    snprintf(
        sql, sizeof sql,
        "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < %ld)"
        " INSERT INTO access_events(time, host, user, user_domain, ip, country, protocol,"
        " success, method, detail)"
        " SELECT %lld + k * %lld / %ld, 'mx', printf('u%%d@d%%03d.example', k %% 50, k %% 1000),"
        " printf('d%%03d.example', k %% 1000),"
        " printf('%%d.%%d.%%d.%%d', 1 + k %% 223, k / 7 %% 256, k / 11 %% 256, 1 + k %% 250),"
        " substr('DEATFRUSCNBRNLGBITES', 1 + 2 * (k %% 10), 2), k %% 4,"
        " CASE WHEN k %% 10 = 0 THEN 0 ELSE 1 END, 'PLAIN',"
        " CASE WHEN k %% 10 = 0 THEN 'auth failed, 1 attempts in 2 secs' ELSE '' END FROM n",
        logins, T0, SPAN, logins);
    exec_or_die(db, sql);
    exec_or_die(db, "COMMIT");
    fprintf(stderr, "bench_query: %ld logins at %.0f s; indexing\n", logins, (now_ms() - t) / 1e3);
    /* indexes and triggers back, then the FTS indexes from the content */
    for (char *p = saved; *p;) {
        char *end = strchr(p, '\n');

        *end = '\0';
        if (strncmp(p, "-- ", 3) != 0 && strstr(p, "TRIGGER") == NULL)
            exec_or_die(db, p);
        p = end + 1;
    }
    fprintf(stderr, "bench_query: indexes at %.0f s\n", (now_ms() - t) / 1e3);
    /* as the store indexes them (store.c, schema v4), with the mark of v6 */
    exec_or_die(db, "INSERT INTO deliveries_fts(rowid, sender, recipient, msgid, status_text)"
                    " SELECT id, sender, recipient, msgid,"
                    " CASE status WHEN 0 THEN '' ELSE status_text END FROM deliveries;"
                    "INSERT INTO access_fts(rowid, user, ip, detail)"
                    " SELECT id, user, ip, detail FROM access_events;"
                    "UPDATE fts_state SET indexed_max = CASE tbl"
                    " WHEN 1 THEN (SELECT max(id) FROM deliveries)"
                    " ELSE (SELECT max(id) FROM access_events) END;");
    fprintf(stderr, "bench_query: FTS at %.0f s\n", (now_ms() - t) / 1e3);
    /* triggers are multi-statement: re-create them from the saved text */
    for (char *p = saved; (p = strstr(p, "CREATE TRIGGER")) != NULL;) {
        char *end = strstr(p, "END;");

        end[4] = '\0';
        exec_or_die(db, p);
        p = end + 5;
    }
    exec_or_die(db, "PRAGMA synchronous=NORMAL; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)");
    fprintf(stderr, "bench_query: generated in %.0f s\n", (now_ms() - t) / 1e3);
    free(saved);
    store_close(s);
}

/* ---- timing --------------------------------------------------------------------- */

static int count_row(void *ctx, const struct query_row *r, struct err *e)
{
    (void)r, (void)e;
    (*(int *)ctx)++;
    return 0;
}

static int first_message(void *ctx, const struct query_row *r, struct err *e)
{
    (void)e;
    if (*(int64_t *)ctx == 0)
        *(int64_t *)ctx = r->message_id;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *const one_domain[] = {"d042.example"};

/* Runs q RUNS times; prints the median and the slowest. */
static void time_query(struct store *s, const char *label, struct query *q)
{
    double ms[RUNS];
    struct query_result res;
    struct err e;
    int rows = 0;

    for (int i = 0; i < RUNS; i++) {
        double t = now_ms();

        rows = 0;
        if (store_query(s, q, count_row, &rows, &res, &e) < 0) {
            fprintf(stderr, "bench_query: %s: %s\n", label, e.text);
            exit(1);
        }
        ms[i] = now_ms() - t;
    }
    qsort(ms, RUNS, sizeof ms[0], cmp_double);
    printf("  %-58s %8.2f ms  (max %7.2f, %d rows", label, ms[RUNS / 2], ms[RUNS - 1], rows);
    if (res.total >= 0)
        printf(", total %lld", (long long)res.total);
    printf(")\n");
}

static void tab_query(struct query *q, enum query_tab tab, bool all)
{
    query_init(q, tab);
    if (all)
        q->scope.all = true;
    else {
        q->scope.domains = one_domain;
        q->scope.count = 1;
        snprintf(q->domain, sizeof q->domain, "d042.example");
    }
}

static void run_timings(struct store *s)
{
    struct query q;
    struct query_result res;
    struct err e;
    char label[128];
    int rows;

    printf("query latency (median of %d warm runs, limit 50):\n", RUNS);
    for (int tab = 0; tab < TAB_COUNT; tab++) {
        tab_query(&q, (enum query_tab)tab, false);
        snprintf(label, sizeof label, "%s, one domain, first page by date", query_tab_name(tab));
        time_query(s, label, &q);
    }
    for (int tab = 0; tab < TAB_COUNT; tab++) {
        tab_query(&q, (enum query_tab)tab, false);
        if (store_query(s, &q, count_row, &rows, &res, &e) < 0)
            exit(1);
        snprintf(q.cursor, sizeof q.cursor, "%s", res.next_cursor);
        snprintf(label, sizeof label, "%s, one domain, second page (cursor)", query_tab_name(tab));
        time_query(s, label, &q);
    }
    tab_query(&q, TAB_RECEIVED, false);
    q.want_total = true;
    time_query(s, "received, one domain, first page + total", &q);
    tab_query(&q, TAB_ACCESS, false);
    q.want_total = true;
    time_query(s, "access, one domain, first page + total", &q);
    tab_query(&q, TAB_RECEIVED, false);
    query_param(&q, "sort", "size", &e);
    time_query(s, "received, one domain, sorted by size (no index)", &q);
    tab_query(&q, TAB_RECEIVED, false);
    snprintf(q.q, sizeof q.q, "%s", "User unknown");
    time_query(s, "received, one domain, search 'User unknown' (5%)", &q);
    tab_query(&q, TAB_SENT, false);
    snprintf(q.q, sizeof q.q, "%s", "r1042@ext");
    time_query(s, "sent, one domain, search 'r1042@ext' (rare)", &q);
    tab_query(&q, TAB_RECEIVED, true);
    time_query(s, "received, all domains (admin), first page", &q);
    tab_query(&q, TAB_ACCESS, true);
    time_query(s, "access, all domains (admin), first page", &q);
    tab_query(&q, TAB_RECEIVED, true);
    q.want_total = true;
    time_query(s, "received, all domains, first page + total (capped)", &q);
    tab_query(&q, TAB_RECEIVED, false);
    snprintf(q.q, sizeof q.q, "%s", "User unknown");
    q.want_total = true;
    time_query(s, "received, one domain, search 'User unknown' + total", &q);
    tab_query(&q, TAB_RECEIVED, true);
    snprintf(q.q, sizeof q.q, "%s", "s4243@remote");
    time_query(s, "received, all domains, search 's4243@remote' (rare)", &q);
    tab_query(&q, TAB_RECEIVED, true);
    snprintf(q.q, sizeof q.q, "%s", "Relay access");
    time_query(s, "received, all domains, search 'Relay access' (5%)", &q);
    tab_query(&q, TAB_ACCESS, true);
    snprintf(q.q, sizeof q.q, "%s", "77.12.");
    time_query(s, "access, all domains, search '77.12.' (ip)", &q);

    {
        const struct query_scope sc = {false, one_domain, 1};
        struct trace t;
        double t0;
        int found;
        int64_t id = 0;

        tab_query(&q, TAB_RECEIVED, false);
        if (store_query(s, &q, first_message, &id, &res, &e) < 0)
            exit(1);
        t0 = now_ms();
        found = store_trace(s, id, &sc, &t, &e);

        printf("  %-58s %8.2f ms  (found %d)\n", "trace of one message", now_ms() - t0, found);
        if (found == 1)
            trace_free(&t);
    }
    {
        struct stats_query sq;
        struct stats_result r;
        double t0;

        memset(&sq, 0, sizeof sq);
        sq.scope.domains = one_domain;
        sq.scope.count = 1;
        snprintf(sq.domain, sizeof sq.domain, "d042.example");
        sq.from = T0;
        sq.to = T0 + SPAN + 86400;
        t0 = now_ms();
        if (store_stats(s, &sq, &r, &e) < 0)
            exit(1);
        printf("  %-58s %8.2f ms  (%zu buckets)\n", "stats, one domain, 8 days by hour",
               now_ms() - t0, r.bucket_count);
        stats_result_free(&r);
    }
}

int main(int argc, char **argv)
{
    struct store *s;
    struct store_summary sum;
    struct err e;
    long deliveries = argc > 2 ? atol(argv[2]) : 10000000L;
    long logins = argc > 3 ? atol(argv[3]) : 5000000L;
    uint64_t total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_query DB [DELIVERIES LOGINS]\n");
        return 2;
    }
    if (access(argv[1], F_OK) != 0)
        generate(argv[1], deliveries, logins);
    if ((s = store_open(argv[1], 0, &e)) == NULL) {
        fprintf(stderr, "bench_query: %s\n", e.text);
        return 1;
    }
    if (store_summary(s, &sum, &e) < 0)
        return 1;
    for (int i = 0; i < DELIVERY_STATUS_COUNT; i++)
        total += sum.deliveries[i];
    printf("database: %llu deliveries, %llu logins, %llu messages, %.2f GB, %.0f bytes per "
           "delivery (all tables and indexes / deliveries)\n",
           (unsigned long long)total, (unsigned long long)(sum.access_ok + sum.access_failed),
           (unsigned long long)sum.messages, (double)sum.db_bytes / 1e9,
           total ? (double)sum.db_bytes / (double)total : 0.0);
    run_timings(s);
    store_close(s);
    return 0;
}
