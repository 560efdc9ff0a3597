/*
 * parse_cmd.c — `maillog parse`: the parser and tracker without a database.
 * Streams deliveries, access events and messages as JSON lines, or prints a
 * summary object. Used to look at a log, by the corpus tests, and by the
 * parser benchmark.
 */
#include "cli/commands.h"
#include "track/classify.h"
#include "track/track.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum parse_format { FORMAT_SUMMARY, FORMAT_JSONL };

struct parse_sink {
    enum parse_format format;
    const struct domain_set *domains;
    int64_t next_id;
    FILE *out;
};

static void print_json(struct parse_sink *s, json_t *object)
{
    char *text = json_dumps(object, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text != NULL) {
        fputs(text, s->out);
        fputc('\n', s->out);
        free(text);
    }
    json_decref(object);
}

static int sink_put_message(void *ctx, struct mail_message *m, struct err *e)
{
    struct parse_sink *s = ctx;

    (void)e;
    if (m->id == 0)
        m->id = ++s->next_id;
    if (s->format != FORMAT_JSONL || !m->closed)
        return 0;
    print_json(s, json_pack("{s:s, s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
                            "s:i}",
                            "type", "message", "id", (json_int_t)m->id, "host", m->host, "queue_id",
                            m->queue_id, "first_seen", (json_int_t)m->first_seen, "client_ip",
                            m->client_ip, "sasl_username", m->sasl_username, "sender", m->sender,
                            "message_id", m->message_id, "origin", message_origin_name(m->origin),
                            "size", (json_int_t)m->size, "parent_id", (json_int_t)m->parent_id,
                            "dsn_of", (json_int_t)m->dsn_of, "nrcpt", m->nrcpt));
    return 0;
}

static int sink_put_delivery(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                             struct err *e)
{
    struct parse_sink *s = ctx;
    unsigned tabs;
    json_t *tab_list;

    (void)e;
    if (s->format != FORMAT_JSONL)
        return 0;
    tabs = classify_delivery(s->domains, m, d);
    tab_list = json_array();
    if (tabs & TAB_RECEIVED)
        json_array_append_new(tab_list, json_string("received"));
    if (tabs & TAB_SENT)
        json_array_append_new(tab_list, json_string("sent"));
    if (tabs & TAB_NOT_RECEIVED)
        json_array_append_new(tab_list, json_string("not-received"));
    if (tabs & TAB_NOT_SENT)
        json_array_append_new(tab_list, json_string("not-sent"));
    print_json(s, json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}",
                            "type", "delivery", "message", (json_int_t)d->message_id, "queue_id",
                            m->queue_id, "time", (json_int_t)d->time, "sender", m->sender,
                            "recipient", d->recipient, "orig_to", d->orig_to, "relay", d->relay,
                            "service", d->service, "status", delivery_status_name(d->status),
                            "status_text", d->status_text, "hop", d->is_hop, "tabs", tab_list));
    return 0;
}

static int sink_put_access(void *ctx, const struct access_event *a, struct err *e)
{
    struct parse_sink *s = ctx;

    (void)e;
    if (s->format != FORMAT_JSONL)
        return 0;
    print_json(s,
               json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "access", "time",
                         (json_int_t)a->time, "user", a->user, "ip", a->ip, "protocol",
                         access_protocol_name(a->protocol), "result", a->success ? "ok" : "failed",
                         "method", a->method, "detail", a->detail));
    return 0;
}

static int sink_find_open(void *ctx, const char *host, const char *queue_id, struct mail_message *m,
                          struct err *e)
{
    (void)ctx, (void)host, (void)queue_id, (void)m, (void)e;
    return 0; /* no store: nothing outlives the run */
}

static void print_summary(const struct track_counts *c)
{
    json_t *deliveries = json_object(), *unknown = json_object();

    for (int i = 0; i < DELIVERY_STATUS_COUNT; i++)
        json_object_set_new(deliveries, delivery_status_name((enum delivery_status)i),
                            json_integer((json_int_t)c->deliveries[i]));
    for (int i = 0; i < c->unknown_programs; i++)
        json_object_set_new(unknown, c->unknown_by_program[i].program,
                            json_integer((json_int_t)c->unknown_by_program[i].count));
    json_t *summary = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I}, s:o}", "lines", (json_int_t)c->lines, "hops",
        (json_int_t)c->hops, "lines_mail", (json_int_t)c->lines_mail, "lines_unrecognized",
        (json_int_t)c->lines_unrecognized, "messages", (json_int_t)c->messages, "deliveries",
        deliveries, "access", "ok", (json_int_t)c->access_ok, "failed",
        (json_int_t)c->access_failed, "unrecognized_by_program", unknown);
    char *text = json_dumps(summary, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text != NULL) {
        puts(text);
        free(text);
    }
    json_decref(summary);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: maillog parse --log FILE|- [--domains FILE] [--format jsonl|summary]\n"
                 "  Parses a mail log without a database. jsonl streams deliveries (with the\n"
                 "  tabs they belong to, given --domains), access events and finished\n"
                 "  messages, one JSON object a line; a message is printed again when a later\n"
                 "  line links it (a filter's hand-over, a bounce): the last line for an id\n"
                 "  wins. summary prints the counts as one JSON object.\n");
}

/* Feeds every line of fd to the tracker, reading 1 MiB at a time. A line
 * longer than the buffer is cut at LINE_MAX_BYTES and the rest skipped; a
 * last line without a newline is parsed too (this is a one-shot reader). */
#define READ_CHUNK (1 << 20)
#define LINE_MAX_BYTES 65536

/* The length of a line as the tracker gets it: without the '\r' of a CRLF
 * log (as ingest's reader does), cut at LINE_MAX_BYTES. */
static size_t line_length(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return len > LINE_MAX_BYTES ? LINE_MAX_BYTES : len;
}

static int feed(struct tracker *t, int fd, struct err *e)
{
    char *buf = malloc(READ_CHUNK);
    size_t have = 0;
    bool skipping = false;

    if (buf == NULL)
        return err_set(e, "out of memory");
    for (;;) {
        ssize_t n = read(fd, buf + have, READ_CHUNK - have);
        char *p = buf, *end, *nl;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            return err_sys(e, "read");
        }
        if (n == 0)
            break;
        end = buf + have + n;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            size_t len = (size_t)(nl - p);
            if (!skipping && track_line(t, p, line_length(p, len), e) != 0) {
                free(buf);
                return -1;
            }
            skipping = false;
            p = nl + 1;
        }
        have = (size_t)(end - p);
        if (have == READ_CHUNK) {
            /* one line fills the buffer: keep its start, drop the rest */
            if (!skipping && track_line(t, buf, LINE_MAX_BYTES, e) != 0) {
                free(buf);
                return -1;
            }
            skipping = true;
            have = 0;
        } else {
            memmove(buf, p, have);
        }
    }
    if (have > 0 && !skipping && track_line(t, buf, line_length(buf, have), e) != 0) {
        free(buf);
        return -1;
    }
    free(buf);
    return track_flush(t, e);
}

int cmd_parse(int argc, char **argv)
{
    static const struct option options[] = {{"log", required_argument, NULL, 'l'},
                                            {"domains", required_argument, NULL, 'd'},
                                            {"format", required_argument, NULL, 'f'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *log_path = NULL, *domains_path = NULL;
    struct parse_sink sink_ctx = {FORMAT_SUMMARY, NULL, 0, stdout};
    struct domain_set domains = {NULL, 0};
    struct track_sink sink = {.ctx = &sink_ctx,
                              .put_message = sink_put_message,
                              .put_delivery = sink_put_delivery,
                              .put_access = sink_put_access,
                              .find_open_message = sink_find_open};
    struct tracker *t;
    struct err e;
    int fd, opt, rc = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "l:d:f:h", options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            log_path = optarg;
            break;
        case 'd':
            domains_path = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "jsonl") == 0)
                sink_ctx.format = FORMAT_JSONL;
            else if (strcmp(optarg, "summary") == 0)
                sink_ctx.format = FORMAT_SUMMARY;
            else {
                fprintf(stderr, "maillog parse: --format must be jsonl or summary\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (log_path == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (domains_path != NULL && domain_set_load(&domains, domains_path, &e) != 0) {
        fprintf(stderr, "maillog parse: %s\n", e.text);
        return 1;
    }
    sink_ctx.domains = &domains;
    if (strcmp(log_path, "-") == 0)
        fd = STDIN_FILENO;
    else if ((fd = open(log_path, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "maillog parse: %s: %s\n", log_path, strerror(errno));
        domain_set_free(&domains);
        return 1;
    }
    t = track_new(&sink);
    if (t == NULL) {
        fprintf(stderr, "maillog parse: out of memory\n");
        rc = 1;
    } else {
        struct stat st;
        if (fd != STDIN_FILENO && fstat(fd, &st) == 0)
            track_set_reference_time(t, (int64_t)st.st_mtime);
        if (feed(t, fd, &e) != 0) {
            fprintf(stderr, "maillog parse: %s: %s\n", log_path, e.text);
            rc = 1;
        } else if (sink_ctx.format == FORMAT_SUMMARY) {
            print_summary(track_counts(t));
        }
        track_free(t);
    }
    if (fd != STDIN_FILENO)
        close(fd);
    domain_set_free(&domains);
    return rc;
}
