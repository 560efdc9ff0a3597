/*
 * query.c — the five tabs (see query.h): parameter parsing, scope, keyset
 * pagination, search and the ignore terms, as one SQL statement per page
 * built from fixed fragments with every value bound (sqlbuf.h).
 *
 * Index use: a tab for one domain sorted by date walks one partial index
 * (deliveries_rcpt[_fail], deliveries_sent[_fail], access_domain) backwards
 * from the cursor; the WHERE clause repeats the partial indexes' conditions
 * literally so that SQLite can use them. A search text of 3 bytes or more
 * goes through the FTS5 trigram tables; shorter ones are filtered row by row
 * inside the domain's index walk. The trigram index answers a superset
 * (rows holding every trigram of the text); each candidate is checked with
 * instr() on the searched columns.
 */
#include "store/query.h"

#include "store/ignore.h"
#include "store/sqlbuf.h"
#include "store/store_impl.h"
#include "track/reason.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const tab_names[TAB_COUNT] = {"access", "received", "sent", "not-received",
                                                 "not-sent"};
static const char *const sort_names[SORT_COUNT] = {"date",     "mailbox", "ip",     "country",
                                                   "protocol", "result",  "sender", "recipient",
                                                   "size",     "status",  "msgid"};
static const char *const status_names[DELIVERY_STATUS_COUNT] = {"sent",    "deferred", "bounced",
                                                                "expired", "rejected", "discarded"};
static const char *const protocol_names[PROTO_COUNT] = {"imap", "pop3", "smtp", "submission",
                                                        "managesieve"};

const char *query_tab_name(enum query_tab tab)
{
    return (unsigned)tab < TAB_COUNT ? tab_names[tab] : NULL;
}

int query_tab_from_name(const char *name)
{
    for (int i = 0; i < TAB_COUNT; i++)
        if (strcmp(name, tab_names[i]) == 0)
            return i;
    if (strcmp(name, "not_received") == 0)
        return TAB_NOT_RECEIVED;
    if (strcmp(name, "not_sent") == 0)
        return TAB_NOT_SENT;
    return -1;
}

const char *query_sort_name(enum query_sort sort)
{
    return (unsigned)sort < SORT_COUNT ? sort_names[sort] : NULL;
}

static bool sort_valid(enum query_tab tab, enum query_sort sort)
{
    switch (sort) {
    case SORT_DATE:
    case SORT_MAILBOX:
        return true;
    case SORT_IP:
    case SORT_COUNTRY:
    case SORT_PROTOCOL:
    case SORT_RESULT:
        return tab == TAB_ACCESS;
    case SORT_SENDER:
        return tab == TAB_RECEIVED || tab == TAB_NOT_RECEIVED;
    case SORT_RECIPIENT:
        return tab == TAB_SENT || tab == TAB_NOT_SENT;
    case SORT_SIZE:
    case SORT_STATUS:
    case SORT_MSGID:
        return tab != TAB_ACCESS;
    default:
        return false;
    }
}

int query_sort_from_name(enum query_tab tab, const char *name)
{
    for (int i = 0; i < SORT_COUNT; i++)
        if (strcmp(name, sort_names[i]) == 0)
            return sort_valid(tab, (enum query_sort)i) ? i : -1;
    return -1;
}

void query_init(struct query *q, enum query_tab tab)
{
    memset(q, 0, sizeof *q);
    q->tab = tab;
    q->status = -1;
    q->sort = SORT_DATE;
    q->limit = QUERY_LIMIT_DEFAULT;
}

/* ---- parameter parsing -------------------------------------------------- */

/* True when text is valid UTF-8 without control characters. */
static bool text_clean(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;

    while (*p != '\0') {
        int n;

        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (*p < 0x80)
            n = 0;
        else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
            n = 1;
        else if ((*p & 0xf0) == 0xe0)
            n = 2;
        else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
            n = 3;
        else
            return false;
        p++;
        for (int k = 0; k < n; k++, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

static int parse_int(const char *field, const char *value, int64_t lo, int64_t hi, int64_t *out,
                     struct err *e)
{
    char *end;
    long long v;

    if (value[0] == '\0' || strlen(value) > 20)
        return err_set(e, "%s: must be a number", field);
    v = strtoll(value, &end, 10);
    if (*end != '\0')
        return err_set(e, "%s: must be a number", field);
    if (v < lo || v > hi)
        return err_set(e, "%s: must be %lld..%lld", field, (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

/* Epoch seconds, or YYYY-MM-DD[THH:MM[:SS]][Z] read as UTC. */
static int parse_time(const char *field, const char *value, int64_t *out, struct err *e)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    size_t n = strlen(value);

    if (n > 0 && n <= 11 && strspn(value, "0123456789") == n)
        return parse_int(field, value, 0, 99999999999LL, out, e);
    if (sscanf(value, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3)
        return err_set(e, "%s: must be epoch seconds or YYYY-MM-DD[THH:MM[:SS]]", field);
    if (value[used] == 'T' || value[used] == ' ') {
        int more = 0;

        if (sscanf(value + used + 1, "%2d:%2d%n", &h, &mi, &more) != 2)
            return err_set(e, "%s: bad time of day", field);
        used += 1 + more;
        if (value[used] == ':') {
            if (sscanf(value + used + 1, "%2d%n", &sec, &more) != 1)
                return err_set(e, "%s: bad seconds", field);
            used += 1 + more;
        }
    }
    if (value[used] == 'Z')
        used++;
    if (value[used] != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h > 23 || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
        return err_set(e, "%s: must be epoch seconds or YYYY-MM-DD[THH:MM[:SS]]", field);
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int parse_domain(const char *value, char *out, size_t size, struct err *e)
{
    size_t n = strlen(value);

    if (n == 0)
        return (out[0] = '\0', 0);
    if (n >= size)
        return err_set(e, "domain: too long");
    for (size_t i = 0; i <= n; i++) {
        char c = value[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c != '\0' && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                                c == '-' || c == '_'))
            return err_set(e, "domain: not a domain name");
        out[i] = c;
    }
    return 0;
}

int query_param(struct query *q, const char *name, const char *value, struct err *e)
{
    int64_t v;
    int k;

    if (!text_clean(value))
        return err_set(e, "%s: invalid characters", name);
    if (strcmp(name, "tab") == 0) {
        if ((k = query_tab_from_name(value)) < 0)
            return err_set(e, "tab: must be access, received, sent, not-received or not-sent");
        q->tab = (enum query_tab)k;
    } else if (strcmp(name, "domain") == 0) {
        return parse_domain(value, q->domain, sizeof q->domain, e);
    } else if (strcmp(name, "q") == 0) {
        if (strlen(value) > QUERY_Q_MAX)
            return err_set(e, "q: at most %d bytes", QUERY_Q_MAX);
        snprintf(q->q, sizeof q->q, "%s", value);
    } else if (strcmp(name, "from") == 0) {
        return value[0] == '\0' ? (q->from = 0, 0) : parse_time("from", value, &q->from, e);
    } else if (strcmp(name, "to") == 0) {
        return value[0] == '\0' ? (q->to = 0, 0) : parse_time("to", value, &q->to, e);
    } else if (strcmp(name, "status") == 0) {
        if (value[0] == '\0')
            q->status = -1;
        else if (q->tab == TAB_ACCESS) {
            if (strcmp(value, "ok") == 0)
                q->status = 0;
            else if (strcmp(value, "failed") == 0)
                q->status = 1;
            else
                return err_set(e, "status: must be ok or failed");
        } else {
            for (k = 0; k < DELIVERY_STATUS_COUNT; k++)
                if (strcmp(value, status_names[k]) == 0)
                    break;
            if (k == DELIVERY_STATUS_COUNT)
                return err_set(e, "status: must be sent, deferred, bounced, expired, rejected "
                                  "or discarded");
            if (k == DELIVERY_SENT && (q->tab == TAB_NOT_RECEIVED || q->tab == TAB_NOT_SENT))
                return err_set(e, "status: the %s tab has no sent mail", tab_names[q->tab]);
            q->status = k;
        }
    } else if (strcmp(name, "sort") == 0) {
        if ((k = query_sort_from_name(q->tab, value)) < 0)
            return err_set(e, "sort: not a column of the %s tab", tab_names[q->tab]);
        q->sort = (enum query_sort)k;
    } else if (strcmp(name, "order") == 0) {
        if (strcmp(value, "asc") == 0)
            q->ascending = true;
        else if (strcmp(value, "desc") == 0)
            q->ascending = false;
        else
            return err_set(e, "order: must be asc or desc");
    } else if (strcmp(name, "limit") == 0) {
        if (parse_int("limit", value, 1, QUERY_LIMIT_MAX, &v, e) < 0)
            return -1;
        q->limit = (int)v;
    } else if (strcmp(name, "cursor") == 0) {
        if (strlen(value) >= sizeof q->cursor ||
            strspn(value, "0123456789abcdefit.-") != strlen(value))
            return err_set(e, "cursor: not a cursor of this list");
        snprintf(q->cursor, sizeof q->cursor, "%s", value);
    } else {
        return err_set(e, "%s: unknown parameter", name);
    }
    return 0;
}

/* ---- scope ---------------------------------------------------------------- */

static bool scope_has(const struct query_scope *sc, const char *domain)
{
    if (sc->all)
        return true;
    for (size_t i = 0; i < sc->count; i++)
        if (sc->domains[i] != NULL && strcasecmp(sc->domains[i], domain) == 0)
            return true;
    return false;
}

static int domains_table_state(struct store *s, const char *name, int *exists, int *any,
                               struct err *e)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT EXISTS(SELECT 1 FROM domains WHERE name = ?1),"
                           " EXISTS(SELECT 1 FROM domains)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_sql_error(s, e);
    }
    *exists = sqlite3_column_int(st, 0);
    *any = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    return 0;
}

/* What the domain condition of a query is, resolved once. */
struct scope_sql {
    const char *domain; /* one domain */
    char *list_json;    /* heap: JSON array of the scope's domains */
    size_t list_count;  /* domains in list_json */
    bool hosted_table;  /* scope all: the domains table */
    bool nothing;       /* empty scope: no rows */
    bool everything;    /* scope all with an empty domains table */
};

static int scope_resolve(struct store *s, const struct query_scope *sc, const char *domain,
                         struct scope_sql *out, struct err *e)
{
    int exists = 0, any = 0;

    memset(out, 0, sizeof *out);
    if (domain[0] != '\0') {
        if (!scope_has(sc, domain))
            return err_set(e, "domain: not in your domains");
        if (sc->all) {
            if (domains_table_state(s, domain, &exists, &any, e) < 0)
                return -1;
            if (any && !exists)
                return err_set(e, "domain: unknown domain");
        }
        out->domain = domain;
        return 0;
    }
    if (sc->all) {
        if (domains_table_state(s, "", &exists, &any, e) < 0)
            return -1;
        out->hosted_table = any != 0;
        out->everything = any == 0;
        return 0;
    }
    if (sc->count == 0) {
        out->nothing = true;
        return 0;
    }
    {
        json_t *arr = json_array();

        for (size_t i = 0; i < sc->count; i++)
            if (sc->domains[i] != NULL)
                json_array_append_new(arr, json_string(sc->domains[i]));
        out->list_count = json_array_size(arr);
        out->list_json = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (out->list_json == NULL)
            return err_set(e, "out of memory");
    }
    return 0;
}

static void scope_free(struct scope_sql *sq)
{
    free(sq->list_json);
    sq->list_json = NULL;
}

/* Up to this many domains, a list is read domain by domain through the
 * domain index and sorted; more (and "all") walk the time index newest first
 * and test the domain, which finds a page without sorting everything. */
#define SCOPE_SEEK_MAX 8

/* Appends " AND <column in scope>"; access with scope all is unrestricted.
 * A leading '+' keeps SQLite from the domain index (see SCOPE_SEEK_MAX). */
static void scope_add(struct sqlbuf *b, const struct scope_sql *sq, const char *column,
                      bool hosted_only)
{
    if (sq->nothing) {
        sqlbuf_add(b, " AND 0");
    } else if (sq->domain != NULL) {
        sqlbuf_add(b, " AND ");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " = ");
        sqlbuf_text(b, sq->domain);
    } else if (sq->list_json != NULL) {
        sqlbuf_add(b, sq->list_count > SCOPE_SEEK_MAX ? " AND +" : " AND ");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " IN (SELECT value FROM json_each(");
        sqlbuf_text(b, sq->list_json);
        sqlbuf_add(b, "))");
    } else if (sq->hosted_table && hosted_only) {
        sqlbuf_add(b, " AND +");
        sqlbuf_add(b, column);
        sqlbuf_add(b, " IN (SELECT name FROM domains)");
    }
}

/* ---- the listing ------------------------------------------------------------ */

struct tab_sql {
    const char *table;
    const char *domain_column;
    const char *conditions; /* the partial index's WHERE, repeated literally */
    const char *fts;
    const char *fallback_columns[5]; /* the searched columns, for the exact test */
};

static const struct tab_sql tab_sql[TAB_COUNT] = {
    [TAB_ACCESS] = {"access_events",
                    "user_domain",
                    "1",
                    "access_fts",
                    {"user", "ip", "detail", "search_extra", NULL}},
    [TAB_RECEIVED] = {"deliveries",
                      "recipient_domain",
                      "is_hop = 0",
                      "deliveries_fts",
                      {"sender", "recipient", "msgid", "status_text", "queue_id"}},
    [TAB_SENT] = {"deliveries",
                  "sent_domain",
                  "is_hop = 0 AND sent_domain <> ''",
                  "deliveries_fts",
                  {"sender", "recipient", "msgid", "status_text", "queue_id"}},
    [TAB_NOT_RECEIVED] = {"deliveries",
                          "recipient_domain",
                          "is_hop = 0 AND status <> 0",
                          "deliveries_fts",
                          {"sender", "recipient", "msgid", "status_text", "queue_id"}},
    [TAB_NOT_SENT] = {"deliveries",
                      "sent_domain",
                      "is_hop = 0 AND sent_domain <> '' AND status <> 0",
                      "deliveries_fts",
                      {"sender", "recipient", "msgid", "status_text", "queue_id"}},
};

/* The SQL expression a sort column stands for in tab. */
static const char *sort_column(enum query_tab tab, enum query_sort sort)
{
    bool sent_tab = tab == TAB_SENT || tab == TAB_NOT_SENT;

    switch (sort) {
    case SORT_DATE:
        return "time";
    case SORT_MAILBOX:
        return tab == TAB_ACCESS ? "user" : sent_tab ? "sender" : "recipient";
    case SORT_IP:
        return "ip";
    case SORT_COUNTRY:
        return "country";
    case SORT_PROTOCOL:
        return "protocol";
    case SORT_RESULT:
        return "success";
    case SORT_SENDER:
        return "sender";
    case SORT_RECIPIENT:
        return "recipient";
    case SORT_SIZE:
        return "size";
    case SORT_STATUS:
        return "status";
    case SORT_MSGID:
        return "msgid";
    default:
        return "time";
    }
}

static bool sort_is_text(enum query_sort sort)
{
    return !(sort == SORT_DATE || sort == SORT_PROTOCOL || sort == SORT_RESULT ||
             sort == SORT_SIZE || sort == SORT_STATUS);
}

/* A decoded cursor: the sort value and id of the last row of a page. */
struct cursor {
    int64_t id;
    int64_t ival;
    char tval[RECORD_TEXT_MAX];
};

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "i<int>.<id>" or "t<hex>.<id>". */
static int cursor_decode(const char *text, bool is_text, struct cursor *c, struct err *e)
{
    const char *dot = strchr(text, '.');
    char *end;

    memset(c, 0, sizeof *c);
    if (dot == NULL || text[0] != (is_text ? 't' : 'i'))
        return err_set(e, "cursor: not a cursor of this list");
    errno = 0;
    c->id = strtoll(dot + 1, &end, 10);
    if (*end != '\0' || dot[1] == '\0' || c->id <= 0 || errno == ERANGE)
        return err_set(e, "cursor: not a cursor of this list");
    if (is_text) {
        size_t n = (size_t)(dot - text - 1);

        if (n % 2 != 0 || n / 2 >= sizeof c->tval)
            return err_set(e, "cursor: not a cursor of this list");
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexval(text[1 + 2 * i]), lo = hexval(text[2 + 2 * i]);

            if (hi < 0 || lo < 0)
                return err_set(e, "cursor: not a cursor of this list");
            c->tval[i] = (char)(hi * 16 + lo);
        }
        c->tval[n / 2] = '\0';
    } else {
        errno = 0;
        c->ival = strtoll(text + 1, &end, 10);
        if (end != dot || dot == text + 1 || errno == ERANGE)
            return err_set(e, "cursor: not a cursor of this list");
    }
    return 0;
}

static void cursor_encode(char *out, size_t size, bool is_text, const char *tval, int64_t ival,
                          int64_t id)
{
    size_t n = 0;

    if (!is_text) {
        snprintf(out, size, "i%lld.%lld", (long long)ival, (long long)id);
        return;
    }
    out[n++] = 't';
    for (const unsigned char *p = (const unsigned char *)tval; *p && n + 3 < size - 24; p++)
        n += (size_t)snprintf(out + n, size - n, "%02x", *p);
    snprintf(out + n, size - n, ".%lld", (long long)id);
}

#define MATCH_TRIGRAMS_MAX 24

/* The FTS5 query for a substring on a trigram index without positions: the
 * AND of the text's trigrams (by UTF-8 character; at most MATCH_TRIGRAMS_MAX,
 * spread over the text, first and last included), each quoted. Rows matching
 * it contain every trigram: a superset that the caller checks exactly.
 * Returns false when the text has fewer than 3 characters. */
static bool fts_trigrams(const char *q, char *out, size_t size)
{
    size_t starts[QUERY_Q_MAX + 1], nchars = 0, n = 0, len = strlen(q);
    size_t count, pick;

    for (size_t i = 0; i < len; i++)
        if (((unsigned char)q[i] & 0xc0) != 0x80)
            starts[nchars++] = i;
    if (nchars < 3)
        return false;
    starts[nchars] = len;
    count = nchars - 2;
    pick = count < MATCH_TRIGRAMS_MAX ? count : MATCH_TRIGRAMS_MAX;
    out[0] = '\0';
    for (size_t k = 0; k < pick; k++) {
        size_t t = pick == 1 ? 0 : k * (count - 1) / (pick - 1);
        size_t a = starts[t], z = starts[t + 3];

        if (n + 2 * (z - a) + 8 >= size)
            break;
        if (k > 0) {
            memcpy(out + n, " AND ", 5);
            n += 5;
        }
        out[n++] = '"';
        for (size_t i = a; i < z; i++) {
            if (q[i] == '"')
                out[n++] = '"';
            out[n++] = q[i];
        }
        out[n++] = '"';
        out[n] = '\0';
    }
    return true;
}

/* Everything after FROM that the page and the total share. */
struct where_ctx {
    const struct query *q;
    const struct scope_sql *scope;
    const struct ignore_terms *ignore;
    char phrase[MATCH_TRIGRAMS_MAX * 32];
    char qlower[QUERY_Q_MAX + 1];
    bool skip_fts;    /* the text is common: walk the list's index, test each row */
    char *candidates; /* heap JSON array of the trigram candidates, or NULL */
};

/* A search text matching more rows than this is "common": a page is found
 * faster by walking the tab's index and testing rows than by collecting
 * every match from the trigram index first. */
#define FTS_PROBE_MAX 20000

/* Asks the trigram index for the candidates of the search text once: fewer
 * than FTS_PROBE_MAX are kept as a JSON array of ids (w->candidates, heap)
 * for the page and the total; more set w->skip_fts. */
static int fts_probe(struct store *s, struct where_ctx *w, struct err *e)
{
    const struct tab_sql *t = &tab_sql[w->q->tab];
    char sql[256];
    sqlite3_stmt *st;
    size_t cap = 4096, len = 0;
    int rc, n = 0;

    w->skip_fts = false;
    if (!fts_trigrams(w->q->q, w->phrase, sizeof w->phrase))
        return 0;
    snprintf(sql, sizeof sql, "SELECT rowid FROM %s WHERE %s MATCH ?1 LIMIT %d", t->fts, t->fts,
             FTS_PROBE_MAX);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_text(st, 1, w->phrase, -1, SQLITE_STATIC);
    if ((w->candidates = malloc(cap)) == NULL) {
        sqlite3_finalize(st);
        return err_set(e, "out of memory");
    }
    w->candidates[len++] = '[';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len + 24 > cap) {
            char *more = realloc(w->candidates, cap * 2);

            if (more == NULL) {
                sqlite3_finalize(st);
                return err_set(e, "out of memory");
            }
            w->candidates = more;
            cap *= 2;
        }
        len += (size_t)snprintf(w->candidates + len, cap - len, "%s%lld", n ? "," : "",
                                (long long)sqlite3_column_int64(st, 0));
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, e);
    w->candidates[len++] = ']';
    w->candidates[len] = '\0';
    if (n >= FTS_PROBE_MAX) {
        w->skip_fts = true;
        free(w->candidates);
        w->candidates = NULL;
    }
    return 0;
}

static void where_add(struct sqlbuf *b, struct where_ctx *w)
{
    const struct query *q = w->q;
    const struct tab_sql *t = &tab_sql[q->tab];

    sqlbuf_add(b, " FROM ");
    sqlbuf_add(b, t->table);
    sqlbuf_add(b, " WHERE ");
    sqlbuf_add(b, t->conditions);
    scope_add(b, w->scope, t->domain_column, q->tab != TAB_ACCESS);
    if (q->from > 0) {
        sqlbuf_add(b, " AND time >= ");
        sqlbuf_int(b, q->from);
    }
    if (q->to > 0) {
        sqlbuf_add(b, " AND time < ");
        sqlbuf_int(b, q->to);
    }
    if (q->status >= 0) {
        if (q->tab == TAB_ACCESS) {
            sqlbuf_add(b, " AND success = ");
            sqlbuf_int(b, q->status == 0 ? 1 : 0);
        } else {
            sqlbuf_add(b, " AND status = ");
            sqlbuf_int(b, q->status);
        }
    }
    if (q->q[0] != '\0') {
        size_t i;

        for (i = 0; q->q[i]; i++)
            w->qlower[i] =
                (q->q[i] >= 'A' && q->q[i] <= 'Z') ? (char)(q->q[i] - 'A' + 'a') : q->q[i];
        w->qlower[i] = '\0';
        if (w->candidates != NULL) {
            sqlbuf_add(b, " AND id IN (SELECT value FROM json_each(");
            sqlbuf_text(b, w->candidates);
            sqlbuf_add(b, "))");
        } else if (!w->skip_fts && fts_trigrams(q->q, w->phrase, sizeof w->phrase)) {
            sqlbuf_add(b, " AND id IN (SELECT rowid FROM ");
            sqlbuf_add(b, t->fts);
            sqlbuf_add(b, " WHERE ");
            sqlbuf_add(b, t->fts);
            sqlbuf_add(b, " MATCH ");
            sqlbuf_text(b, w->phrase);
            sqlbuf_add(b, ")");
        }
        /* the exact test (for short texts, the only one) */
        sqlbuf_add(b, " AND (0");
        for (i = 0; i < 5 && t->fallback_columns[i]; i++) {
            sqlbuf_add(b, " OR instr(lower(");
            sqlbuf_add(b, t->fallback_columns[i]);
            sqlbuf_add(b, "), ");
            sqlbuf_text(b, w->qlower);
            sqlbuf_add(b, ") > 0");
        }
        sqlbuf_add(b, ")");
    }
    ignore_add(b, w->ignore, q->tab == TAB_ACCESS);
}

static int64_t total_cap(const struct query *q)
{
    return q->q[0] != '\0' ? QUERY_SEARCH_TOTAL_MAX : QUERY_TOTAL_MAX;
}

static int count_rows(struct store *s, struct where_ctx *w, int64_t *total, struct err *e)
{
    struct sqlbuf *b = malloc(sizeof *b);
    sqlite3_stmt *st;
    int rc;

    if (b == NULL)
        return err_set(e, "out of memory");
    sqlbuf_init(b);
    sqlbuf_add(b, "SELECT count(*) FROM (SELECT 1");
    where_add(b, w);
    sqlbuf_add(b, " LIMIT ");
    sqlbuf_int(b, total_cap(w->q) + 1);
    sqlbuf_add(b, ")");
    st = sqlbuf_prepare(b, s->db, e);
    free(b);
    if (st == NULL)
        return -1;
    rc = sqlite3_step(st);
    *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : store_sql_error(s, e);
}

static void row_fill(sqlite3_stmt *st, enum query_tab tab, struct query_row *r)
{
    memset(r, 0, offsetof(struct query_row, mailbox));
    r->mailbox[0] = r->ip[0] = r->country[0] = r->method[0] = r->detail[0] = '\0';
    r->sender[0] = r->recipient[0] = r->status_text[0] = r->msgid[0] = r->orig_to[0] = '\0';
    r->protocol = r->result = r->status = "";
    r->reason = NULL;
    r->size = -1;
    r->id = sqlite3_column_int64(st, 0);
    r->date = sqlite3_column_int64(st, 1);
    if (tab == TAB_ACCESS) {
        int proto = sqlite3_column_int(st, 5);

        store_column_text(st, 2, r->mailbox, sizeof r->mailbox);
        store_column_text(st, 3, r->ip, sizeof r->ip);
        store_column_text(st, 4, r->country, sizeof r->country);
        r->protocol = proto >= 0 && proto < PROTO_COUNT ? protocol_names[proto] : "";
        r->result = sqlite3_column_int(st, 6) ? "ok" : "failed";
        store_column_text(st, 7, r->method, sizeof r->method);
        store_column_text(st, 8, r->detail, sizeof r->detail);
    } else {
        int status = sqlite3_column_int(st, 6);
        char dsn[16];

        r->message_id = sqlite3_column_int64(st, 2);
        store_column_text(st, 3, r->sender, sizeof r->sender);
        store_column_text(st, 4, r->recipient, sizeof r->recipient);
        r->size = sqlite3_column_int64(st, 5);
        r->status = status >= 0 && status < DELIVERY_STATUS_COUNT ? status_names[status] : "";
        store_column_text(st, 7, r->status_text, sizeof r->status_text);
        store_column_text(st, 8, r->msgid, sizeof r->msgid);
        store_column_text(st, 9, r->orig_to, sizeof r->orig_to);
        store_column_text(st, 10, dsn, sizeof dsn);
        r->reason = delivery_reason(r->status, dsn, r->status_text);
        r->login[0] = '\0';
        if (tab == TAB_SENT || tab == TAB_NOT_SENT)
            store_column_text(st, 11, r->login, sizeof r->login);
        snprintf(r->mailbox, sizeof r->mailbox, "%s",
                 (tab == TAB_SENT || tab == TAB_NOT_SENT) ? r->sender : r->recipient);
    }
}

struct page_ctx {
    struct sqlbuf b;
    struct where_ctx w;
    struct cursor cur;
    struct query_row row;
    struct ignore_terms ignore;
};

/* The SQL of one page into p->b. */
static int build_page(struct page_ctx *p, struct err *e)
{
    const struct query *q = p->w.q;
    const char *col = sort_column(q->tab, q->sort);
    bool is_text = sort_is_text(q->sort);
    const char *cmp = q->ascending ? " > " : " < ";
    const char *dir = q->ascending ? " ASC" : " DESC";

    sqlbuf_init(&p->b);
    sqlbuf_add(&p->b, q->tab == TAB_ACCESS
                          ? "SELECT id, time, user, ip, country, protocol, success, method, detail"
                          : "SELECT id, time, message_id, sender, recipient, size, status,"
                            " status_text, msgid, orig_to, dsn");
    /* Sent tabs: the login that sent the mail (the envelope sender is only a
     * claim), a key lookup for each row of the page. Only there: on a
     * received tab it would be another customer's login. */
    if (q->tab == TAB_SENT || q->tab == TAB_NOT_SENT)
        sqlbuf_add(&p->b, ", (SELECT CASE m.origin WHEN 1 THEN m.sasl_username ELSE '' END"
                          " FROM messages m WHERE m.id = deliveries.message_id)");
    where_add(&p->b, &p->w);
    if (q->cursor[0] != '\0') {
        if (cursor_decode(q->cursor, is_text, &p->cur, e) < 0)
            return -1;
        /* (col, id) beyond the cursor; the plain bound lets an index on col serve. */
        sqlbuf_add(&p->b, " AND ");
        sqlbuf_add(&p->b, col);
        sqlbuf_add(&p->b, q->ascending ? " >= " : " <= ");
        if (is_text)
            sqlbuf_text(&p->b, p->cur.tval);
        else
            sqlbuf_int(&p->b, p->cur.ival);
        sqlbuf_add(&p->b, " AND (");
        sqlbuf_add(&p->b, col);
        sqlbuf_add(&p->b, cmp);
        if (is_text)
            sqlbuf_text(&p->b, p->cur.tval);
        else
            sqlbuf_int(&p->b, p->cur.ival);
        sqlbuf_add(&p->b, " OR id");
        sqlbuf_add(&p->b, cmp);
        sqlbuf_int(&p->b, p->cur.id);
        sqlbuf_add(&p->b, ")");
    }
    sqlbuf_add(&p->b, " ORDER BY ");
    sqlbuf_add(&p->b, col);
    sqlbuf_add(&p->b, dir);
    sqlbuf_add(&p->b, ", id");
    sqlbuf_add(&p->b, dir);
    sqlbuf_add(&p->b, " LIMIT ");
    sqlbuf_int(&p->b, q->limit + 1);
    return 0;
}

static int run_page(struct store *s, struct page_ctx *p, query_row_fn fn, void *ctx,
                    struct query_result *res, struct err *e)
{
    const struct query *q = p->w.q;
    bool is_text = sort_is_text(q->sort);
    sqlite3_stmt *st;
    int rc, n = 0;

    if (build_page(p, e) < 0)
        return -1;
    if ((st = sqlbuf_prepare(&p->b, s->db, e)) == NULL)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == q->limit) {
            /* One more row exists: the page ends at the previous one. */
            cursor_encode(res->next_cursor, sizeof res->next_cursor, is_text, p->cur.tval,
                          p->cur.ival, p->row.id);
            break;
        }
        row_fill(st, q->tab, &p->row);
        {
            int idx = -1;
            /* The sort value of this row, for the next cursor. */
            switch (q->sort) {
            case SORT_DATE:
                p->cur.ival = p->row.date;
                break;
            case SORT_SIZE:
                p->cur.ival = p->row.size;
                break;
            case SORT_STATUS:
                for (idx = 0; idx < DELIVERY_STATUS_COUNT; idx++)
                    if (strcmp(status_names[idx], p->row.status) == 0)
                        break;
                p->cur.ival = idx;
                break;
            case SORT_PROTOCOL:
                p->cur.ival = sqlite3_column_int64(st, 5);
                break;
            case SORT_RESULT:
                p->cur.ival = sqlite3_column_int64(st, 6);
                break;
            default: {
                const char *v = p->row.mailbox;

                if (q->sort == SORT_IP)
                    v = p->row.ip;
                else if (q->sort == SORT_COUNTRY)
                    v = p->row.country;
                else if (q->sort == SORT_SENDER)
                    v = p->row.sender;
                else if (q->sort == SORT_RECIPIENT)
                    v = p->row.recipient;
                else if (q->sort == SORT_MSGID)
                    v = p->row.msgid;
                snprintf(p->cur.tval, sizeof p->cur.tval, "%s", v);
            }
            }
        }
        if (fn(ctx, &p->row, e) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
        n++;
        res->rows++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sql_error(s, e);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

int store_query(struct store *s, const struct query *q, query_row_fn fn, void *ctx,
                struct query_result *res, struct err *e)
{
    struct page_ctx *p;
    struct scope_sql scope;
    int rc = -1;

    res->rows = 0;
    res->next_cursor[0] = '\0';
    res->total = -1;
    res->total_capped = false;
    if ((unsigned)q->tab >= TAB_COUNT)
        return err_set(e, "tab: unknown tab");
    if (!sort_valid(q->tab, q->sort))
        return err_set(e, "sort: not a column of the %s tab", tab_names[q->tab]);
    if (q->limit < 1 || q->limit > QUERY_LIMIT_MAX)
        return err_set(e, "limit: must be 1..%d", QUERY_LIMIT_MAX);
    if (scope_resolve(s, &q->scope, q->domain, &scope, e) < 0)
        return -1;
    if ((p = calloc(1, sizeof *p)) == NULL) {
        scope_free(&scope);
        return err_set(e, "out of memory");
    }
    p->w.q = q;
    p->w.scope = &scope;
    p->w.ignore = &p->ignore;
    if (ignore_terms_load(s, &p->ignore, e) < 0)
        goto done;
    if (q->q[0] != '\0' && fts_probe(s, &p->w, e) < 0)
        goto done;
    if (run_page(s, p, fn, ctx, res, e) < 0)
        goto done;
    /* the total stops at a cap: the walk stays bounded */
    if (q->want_total && count_rows(s, &p->w, &res->total, e) < 0)
        goto done;
    if (res->total > total_cap(q)) {
        res->total = total_cap(q);
        res->total_capped = true;
    }
    rc = 0;
done:
    free(p->w.candidates);
    scope_free(&scope);
    free(p);
    return rc;
}

int store_query_plan(struct store *s, const struct query *q, char *out, size_t size, struct err *e)
{
    struct page_ctx *p;
    struct scope_sql scope;
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    int rc = -1;

    out[0] = '\0';
    if (scope_resolve(s, &q->scope, q->domain, &scope, e) < 0)
        return -1;
    if ((p = calloc(1, sizeof *p)) == NULL) {
        scope_free(&scope);
        return err_set(e, "out of memory");
    }
    p->w.q = q;
    p->w.scope = &scope;
    p->w.ignore = &p->ignore;
    if (ignore_terms_load(s, &p->ignore, e) < 0 || build_page(p, e) < 0)
        goto done;
    if (p->b.len + 20 > sizeof p->b.text) {
        err_set(e, "query too complex");
        goto done;
    }
    memmove(p->b.text + 19, p->b.text, p->b.len + 1);
    memcpy(p->b.text, "EXPLAIN QUERY PLAN ", 19);
    p->b.len += 19;
    if ((st = sqlbuf_prepare(&p->b, s->db, e)) == NULL)
        goto done;
    while (sqlite3_step(st) == SQLITE_ROW && used + 2 < size)
        used += (size_t)snprintf(out + used, size - used, "%s;",
                                 (const char *)sqlite3_column_text(st, 3));
    rc = 0;
done:
    sqlite3_finalize(st);
    scope_free(&scope);
    free(p);
    return rc;
}
