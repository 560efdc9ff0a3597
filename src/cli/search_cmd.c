/*
 * search_cmd.c — `maillog search` (one tab of the database on a terminal, as
 * an admin sees it: every domain unless --domain) and `maillog stats` (the
 * database summary as JSON, with the keys of `maillog parse --format summary`
 * plus db_bytes). Both go through the query layer the JSON API uses.
 */
#include "cli/commands.h"
#include "geo/geo.h"
#include "store/query.h"
#include "util/config.h"
#include "util/ipnet.h"
#include "util/term.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

static void search_usage(FILE *out)
{
    fprintf(out, "usage: maillog search --tab TAB [--domain D] [--q TEXT] [--from T] [--to T]\n"
                 "                      [--status S] [--sort COL] [--order asc|desc] [--limit N]\n"
                 "                      [--cursor C] [--total] [--format table|json|csv]\n"
                 "                      [--config FILE] [--db PATH]\n"
                 "  Lists a tab: access, received, sent, not-received, not-sent (all domains\n"
                 "  unless --domain). T: epoch seconds or YYYY-MM-DD[THH:MM[:SS]] (UTC).\n"
                 "  Pages: pass the printed next cursor as --cursor.\n");
}

static void stats_usage(FILE *out)
{
    fprintf(out, "usage: maillog stats [--format json] [--config FILE] [--db PATH]\n"
                 "  Counts of the database: messages, deliveries by status, logins, size.\n");
}

/* Loads the config and applies --db; opens the database only if it exists. */
static struct store *open_existing(const char *cmd, const char *config_path, const char *db,
                                   int *rc)
{
    struct config *c = malloc(sizeof *c);
    struct store *s = NULL;
    struct err e;

    *rc = 1;
    if (c == NULL)
        return NULL;
    config_defaults(c);
    if (config_load(c, config_path ? config_path : CONFIG_DEFAULT_FILE, config_path != NULL, &e) <
        0) {
        fprintf(stderr, "maillog %s: %s\n", cmd, e.text);
        free(c);
        return NULL;
    }
    if (db != NULL)
        snprintf(c->db_path, sizeof c->db_path, "%s", db);
    if (access(c->db_path, F_OK) != 0)
        fprintf(stderr, "maillog %s: database %s does not exist (run maillog ingest first)\n", cmd,
                c->db_path);
    else if ((s = store_open(c->db_path, 0, &e)) == NULL)
        fprintf(stderr, "maillog %s: %s\n", cmd, e.text);
    free(c);
    return s;
}

/* ---- output ------------------------------------------------------------------------ */

struct printer {
    enum out_format format;
    enum query_tab tab;
    json_t *rows;
};

static void csv_field(const char *v, bool last)
{
    bool quote =
        strpbrk(v, ",\"\r\n") != NULL || v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@';

    if (quote) {
        putchar('"');
        if (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')
            putchar('\''); /* no formulas in spreadsheets */
        for (; *v; v++) {
            if (*v == '"')
                putchar('"');
            putchar(*v);
        }
        putchar('"');
    } else {
        fputs(v, stdout);
    }
    putchar(last ? '\n' : ',');
}

/* A column of the terminal table: log data printed safely (util/term.h),
 * cut to width characters and padded. */
static void table_field(const char *v, int width, bool last)
{
    size_t n = term_put(stdout, v, width > 0 ? (size_t)width : 0);

    if (!last)
        for (; n < (size_t)width + 1; n++)
            putchar(' ');
    else
        putchar('\n');
}

static void date_text(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *row_json(enum query_tab tab, const struct query_row *r)
{
    if (tab == TAB_ACCESS) {
        const char *name = r->country[0] ? country_name(r->country) : NULL;

        return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                         (json_int_t)r->id, "date", (json_int_t)r->date, "mailbox", r->mailbox,
                         "ip", r->ip, "country", r->country, "country_name", name ? name : "",
                         "protocol", r->protocol, "result", r->result, "method", r->method,
                         "detail", r->detail);
    }
    if (tab == TAB_RECEIVED || tab == TAB_NOT_RECEIVED)
        return json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:s, s:s, s:s?, s:s}", "id",
                         (json_int_t)r->id, "message_id", (json_int_t)r->message_id, "date",
                         (json_int_t)r->date, "sender", r->sender, "mailbox", r->mailbox, "size",
                         (json_int_t)r->size, "status", r->status, "status_text", r->status_text,
                         "reason", r->reason, "msgid", r->msgid);
    return json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:s, s:s, s:s?, s:s}", "id", (json_int_t)r->id,
                     "message_id", (json_int_t)r->message_id, "date", (json_int_t)r->date,
                     "mailbox", r->mailbox, "recipient", r->recipient, "size", (json_int_t)r->size,
                     "status", r->status, "status_text", r->status_text, "reason", r->reason,
                     "msgid", r->msgid);
}

static void print_header(const struct printer *p)
{
    static const char *const access_cols[] = {"date",     "mailbox", "ip",    "country",
                                              "protocol", "result",  "detail"};
    static const char *const recv_cols[] = {"date",   "sender",      "mailbox", "size",
                                            "status", "status_text", "msgid",   "message_id"};
    static const char *const sent_cols[] = {"date",   "mailbox",     "recipient", "size",
                                            "status", "status_text", "msgid",     "message_id"};
    static const int access_w[] = {19, 32, 39, 2, 11, 6, 0};
    static const int mail_w[] = {19, 32, 32, 9, 9, 40, 30, 0};
    const char *const *cols = p->tab == TAB_ACCESS                                     ? access_cols
                              : (p->tab == TAB_RECEIVED || p->tab == TAB_NOT_RECEIVED) ? recv_cols
                                                                                       : sent_cols;
    int n = p->tab == TAB_ACCESS ? 7 : 8;

    for (int i = 0; i < n; i++) {
        if (p->format == OUT_CSV)
            csv_field(cols[i], i == n - 1);
        else
            table_field(cols[i], p->tab == TAB_ACCESS ? access_w[i] : mail_w[i], i == n - 1);
    }
}

/* A login's country as the tables show it: "local" for a private,
 * loopback or link-local address, "-" for one the GeoIP data does not know. */
static const char *country_text(const struct query_row *r)
{
    struct ip_addr ip;

    if (r->country[0] != '\0')
        return r->country;
    return ip_parse(r->ip, strlen(r->ip), &ip) == 0 && ip_is_local(&ip) ? "local" : "-";
}

static int print_row(void *ctx, const struct query_row *r, struct err *e)
{
    struct printer *p = ctx;
    char date[32], size[24], mid[24];

    (void)e;
    if (p->format == OUT_JSON) {
        json_array_append_new(p->rows, row_json(p->tab, r));
        return 0;
    }
    date_text(r->date, date, sizeof date);
    if (p->tab == TAB_ACCESS) {
        const char *v[] = {date,        r->mailbox, r->ip,    country_text(r),
                           r->protocol, r->result,  r->detail};
        static const int w[] = {19, 32, 39, 2, 11, 6, 0};

        for (int i = 0; i < 7; i++) {
            if (p->format == OUT_CSV)
                csv_field(v[i], i == 6);
            else
                table_field(v[i], w[i], i == 6);
        }
        return 0;
    }
    snprintf(size, sizeof size, "%lld", (long long)r->size);
    snprintf(mid, sizeof mid, "%lld", (long long)r->message_id);
    {
        bool recv = p->tab == TAB_RECEIVED || p->tab == TAB_NOT_RECEIVED;
        const char *v[] = {date,
                           recv ? r->sender : r->mailbox,
                           recv ? r->mailbox : r->recipient,
                           size,
                           r->status,
                           r->status_text,
                           r->msgid,
                           mid};
        static const int w[] = {19, 32, 32, 9, 9, 40, 30, 0};

        for (int i = 0; i < 8; i++) {
            if (p->format == OUT_CSV)
                csv_field(v[i], i == 7);
            else
                table_field(v[i], w[i], i == 7);
        }
    }
    return 0;
}

/* ---- search ------------------------------------------------------------------------ */

static int search_args(int argc, char **argv, struct query *q, const char **config, const char **db,
                       enum out_format *format)
{
    static const struct option longopts[] = {
        {"tab", required_argument, NULL, 't'},    {"domain", required_argument, NULL, 'd'},
        {"q", required_argument, NULL, 'q'},      {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 'T'},     {"status", required_argument, NULL, 's'},
        {"sort", required_argument, NULL, 'S'},   {"order", required_argument, NULL, 'o'},
        {"limit", required_argument, NULL, 'l'},  {"cursor", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'F'}, {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'D'},     {"total", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *names[] = {
        ['t'] = "tab",    ['d'] = "domain", ['q'] = "q",     ['f'] = "from",  ['T'] = "to",
        ['s'] = "status", ['S'] = "sort",   ['o'] = "order", ['l'] = "limit", ['C'] = "cursor"};
    /* tab first: sort and status depend on it */
    const char *deferred[128] = {0};
    bool have_tab = false;
    struct err e;
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            search_usage(stdout);
            return 0;
        case 'c':
            *config = optarg;
            break;
        case 'D':
            *db = optarg;
            break;
        case 'n':
            q->want_total = true;
            break;
        case 'F':
            if (strcmp(optarg, "table") == 0)
                *format = OUT_TABLE;
            else if (strcmp(optarg, "json") == 0)
                *format = OUT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                *format = OUT_CSV;
            else {
                fprintf(stderr, "maillog search: --format must be table, json or csv\n");
                return 2;
            }
            break;
        case 't':
            have_tab = true;
            /* fall through */
        case 'd':
        case 'q':
        case 'f':
        case 'T':
        case 's':
        case 'S':
        case 'o':
        case 'l':
        case 'C':
            deferred[ch] = optarg;
            break;
        default:
            search_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || !have_tab) {
        fprintf(stderr, "maillog search: %s\n",
                have_tab ? "unexpected argument" : "--tab is required");
        search_usage(stderr);
        return 2;
    }
    if (query_param(q, "tab", deferred['t'], &e) < 0) {
        fprintf(stderr, "maillog search: %s\n", e.text);
        return 2;
    }
    for (int k = 0; k < 128; k++)
        if (deferred[k] != NULL && k != 't' && query_param(q, names[k], deferred[k], &e) < 0) {
            fprintf(stderr, "maillog search: %s\n", e.text);
            return 2;
        }
    return -1;
}

int cmd_search(int argc, char **argv)
{
    struct query *q = malloc(sizeof *q);
    struct query_result res;
    struct printer p;
    struct store *s;
    struct err e;
    const char *config = NULL, *db = NULL;
    enum out_format format = OUT_TABLE;
    int rc;

    if (q == NULL)
        return 1;
    query_init(q, TAB_RECEIVED);
    if ((rc = search_args(argc, argv, q, &config, &db, &format)) >= 0) {
        free(q);
        return rc;
    }
    q->scope.all = true;
    if ((s = open_existing("search", config, db, &rc)) == NULL) {
        free(q);
        return rc;
    }
    p.format = format;
    p.tab = q->tab;
    p.rows = json_array();
    if (format != OUT_JSON)
        print_header(&p);
    rc = store_query(s, q, print_row, &p, &res, &e);
    if (rc < 0) {
        fprintf(stderr, "maillog search: %s\n", e.text);
        rc = strchr(e.text, ':') && strncmp(e.text, "database", 8) != 0 ? 2 : 1;
    } else if (format == OUT_JSON) {
        json_t *out = json_pack("{s:O, s:s?, s:I, s:b}", "rows", p.rows, "next_cursor",
                                res.next_cursor[0] ? res.next_cursor : NULL, "total",
                                (json_int_t)res.total, "total_capped", res.total_capped);
        json_dumpf(out, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(out);
    } else if (format == OUT_TABLE) {
        if (res.next_cursor[0])
            fprintf(stderr, "next page: --cursor %s\n", res.next_cursor);
        if (res.total >= 0)
            fprintf(stderr, "total: %lld%s\n", (long long)res.total, res.total_capped ? "+" : "");
    }
    json_decref(p.rows);
    store_close(s);
    free(q);
    return rc;
}

/* ---- stats ------------------------------------------------------------------------ */

int cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, 'F'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"db", required_argument, NULL, 'D'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static const char *const status_names[DELIVERY_STATUS_COUNT] = {
        "sent", "deferred", "bounced", "expired", "rejected", "discarded"};
    const char *config = NULL, *db = NULL;
    struct store_summary sum;
    struct store *s;
    struct err e;
    json_t *out, *dl;
    int ch, rc;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            stats_usage(stdout);
            return 0;
        case 'c':
            config = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "json") == 0)
                break;
            /* fall through */
        default:
            stats_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        stats_usage(stderr);
        return 2;
    }
    if ((s = open_existing("stats", config, db, &rc)) == NULL)
        return rc;
    if (store_summary(s, &sum, &e) < 0) {
        fprintf(stderr, "maillog stats: %s\n", e.text);
        store_close(s);
        return 1;
    }
    dl = json_object();
    for (int i = 0; i < DELIVERY_STATUS_COUNT; i++)
        json_object_set_new(dl, status_names[i], json_integer((json_int_t)sum.deliveries[i]));
    out = json_pack("{s:I, s:o, s:{s:I, s:I}, s:I, s:I, s:I}", "messages", (json_int_t)sum.messages,
                    "deliveries", dl, "access", "ok", (json_int_t)sum.access_ok, "failed",
                    (json_int_t)sum.access_failed, "db_bytes", (json_int_t)sum.db_bytes, "oldest",
                    (json_int_t)sum.oldest, "newest", (json_int_t)sum.newest);
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(out);
    store_close(s);
    return 0;
}
