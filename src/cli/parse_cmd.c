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
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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
                            "type", "message", "id", (json_int_t)m->id, "host", m->host,
                            "queue_id", m->queue_id, "first_seen", (json_int_t)m->first_seen,
                            "client_ip", m->client_ip, "sasl_username", m->sasl_username,
                            "sender", m->sender, "message_id", m->message_id, "origin",
                            message_origin_name(m->origin), "size", (json_int_t)m->size,
                            "parent_id", (json_int_t)m->parent_id, "dsn_of",
                            (json_int_t)m->dsn_of, "nrcpt", m->nrcpt));
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
    print_json(s, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "access", "time",
                            (json_int_t)a->time, "user", a->user, "ip", a->ip, "protocol",
                            access_protocol_name(a->protocol), "result",
                            a->success ? "ok" : "failed", "method", a->method, "detail",
                            a->detail));
    return 0;
}

static int sink_find_open(void *ctx, const char *host, const char *queue_id,
                          struct mail_message *m, struct err *e)
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
        "{s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I}, s:o}", "lines", (json_int_t)c->lines,
        "lines_mail", (json_int_t)c->lines_mail, "lines_unrecognized",
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
                 "  Parses a mail log without a database. jsonl streams deliveries, access\n"
                 "  events and finished messages; summary prints the counts.\n");
}

/* Feeds every line of in to the tracker. Long lines are cut at 64 KiB. */
static int feed(struct tracker *t, FILE *in, struct err *e)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len--;
        if (len > 65536)
            len = 65536;
        if (track_line(t, line, len, e) != 0) {
            free(line);
            return -1;
        }
    }
    free(line);
    if (ferror(in))
        return err_sys(e, "read");
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
    struct track_sink sink = {&sink_ctx, sink_put_message, sink_put_delivery, sink_put_access,
                              sink_find_open};
    struct tracker *t;
    struct err e;
    FILE *in;
    int opt, rc = 0;

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
        in = stdin;
    else if ((in = fopen(log_path, "r")) == NULL) {
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
        if (in != stdin && fstat(fileno(in), &st) == 0)
            track_set_reference_time(t, (int64_t)st.st_mtime);
        if (feed(t, in, &e) != 0) {
            fprintf(stderr, "maillog parse: %s: %s\n", log_path, e.text);
            rc = 1;
        } else if (sink_ctx.format == FORMAT_SUMMARY) {
            print_summary(track_counts(t));
        }
        track_free(t);
    }
    if (in != stdin)
        fclose(in);
    domain_set_free(&domains);
    return rc;
}
