/*
 * test_corpus.c — every file of ../shared/corpus (real logs from public
 * projects; MAILLOG_CORPUS) through the tracker, under the sanitizers, with
 * the summary checked against tests/corpus/expected.tsv. How those figures
 * were checked against the logs is in tests/README.md.
 *
 * Unrecognised lines may fall but not rise, per file and in all (the share
 * among mail-program lines must stay under 0.1%). Without the corpus the
 * suite says it skipped and passes.
 */
#include "track/track.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct expected {
    char file[256];
    unsigned long lines, lines_mail, unrecognized_max, messages;
    unsigned long sent, deferred, bounced, expired, rejected, discarded, hops;
    unsigned long access_ok, access_failed;
};

static int64_t next_id;

static int put_message(void *ctx, struct mail_message *m, struct err *e)
{
    (void)ctx, (void)e;
    if (m->id == 0)
        m->id = ++next_id;
    return 0;
}
static int put_delivery(void *ctx, const struct mail_message *m, const struct mail_delivery *d,
                        struct err *e)
{
    (void)ctx, (void)m, (void)d, (void)e;
    return 0;
}
static int put_access(void *ctx, const struct access_event *a, struct err *e)
{
    (void)ctx, (void)a, (void)e;
    return 0;
}
static int find_open(void *ctx, const char *h, const char *q, struct mail_message *m, struct err *e)
{
    (void)ctx, (void)h, (void)q, (void)m, (void)e;
    return 0;
}

/* postfix-grok-patterns keeps only the message part: give it a header back. */
static const char *grok_program(const char *file)
{
    const char *base = strrchr(file, '/');
    static char program[64];

    if (strncmp(file, "postfix-grok-patterns/", 22) != 0)
        return NULL;
    snprintf(program, sizeof program, "%s", base + 1);
    *strrchr(program, '.') = '\0';
    if (strcmp(program, "script") == 0)
        return "postfix-script";
    if (strcmp(program, "trivial_rewrite") == 0)
        return "trivial-rewrite";
    if (strcmp(program, "tls_features") == 0)
        return "smtp";
    return program;
}

static struct track_counts run_file(const char *dir, const char *file)
{
    char path[1024], line[70000], prefixed[70100];
    struct track_sink sink = {.ctx = NULL,
                              .put_message = put_message,
                              .put_delivery = put_delivery,
                              .put_access = put_access,
                              .find_open_message = find_open};
    struct tracker *t = track_new(&sink);
    const char *program = grok_program(file);
    struct track_counts counts;
    struct stat st;
    struct err e;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    if (fstat(fileno(f), &st) == 0)
        track_set_reference_time(t, (int64_t)st.st_mtime);
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strcspn(line, "\n");
        const char *text = line;
        if (len > 0 && line[len - 1] == '\r') /* a CRLF log, read as ingest reads it */
            len--;
        line[len] = '\0';
        if (program != NULL) {
            len = (size_t)snprintf(prefixed, sizeof prefixed,
                                   "Jan  1 00:00:00 host postfix/%s[1]: %s", program, line);
            text = prefixed;
        }
        ck_assert_msg(track_line(t, text, len, &e) == 0, "%s: %s", file, e.text);
    }
    fclose(f);
    ck_assert(track_flush(t, &e) == 0);
    counts = *track_counts(t);
    track_free(t);
    return counts;
}

static size_t load_expected(struct expected *rows, size_t max)
{
    char path[1024], line[2048];
    const char *src = getenv("MAILLOG_SRCDIR");
    size_t n = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/tests/corpus/expected.tsv", src ? src : ".");
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    while (fgets(line, sizeof line, f) != NULL && n < max) {
        struct expected *x = &rows[n];
        if (line[0] == '#')
            continue;
        ck_assert_int_eq(sscanf(line, "%255s %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu",
                                x->file, &x->lines, &x->lines_mail, &x->unrecognized_max,
                                &x->messages, &x->sent, &x->deferred, &x->bounced, &x->expired,
                                &x->rejected, &x->discarded, &x->hops, &x->access_ok,
                                &x->access_failed),
                         14);
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(every_corpus_file_matches_its_expectations)
{
    static struct expected rows[256];
    const char *dir = getenv("MAILLOG_CORPUS");
    unsigned long total_mail = 0, total_unknown = 0;
    struct stat st;
    size_t n;

    if (dir == NULL || stat(dir, &st) != 0) {
        fprintf(stderr, "corpus: %s not found: corpus checks SKIPPED\n", dir ? dir : "(unset)");
        return;
    }
    n = load_expected(rows, 256);
    ck_assert_uint_ge(n, 100);
    for (size_t i = 0; i < n; i++) {
        const struct expected *x = &rows[i];
        struct track_counts c = run_file(dir, x->file);
#define SAME(field, value)                                                                         \
    ck_assert_msg((unsigned long)(value) == x->field, "%s: %s is %lu, expected %lu", x->file,      \
                  #field, (unsigned long)(value), x->field)
        SAME(lines, c.lines);
        SAME(lines_mail, c.lines_mail);
        SAME(messages, c.messages);
        SAME(sent, c.deliveries[DELIVERY_SENT]);
        SAME(deferred, c.deliveries[DELIVERY_DEFERRED]);
        SAME(bounced, c.deliveries[DELIVERY_BOUNCED]);
        SAME(expired, c.deliveries[DELIVERY_EXPIRED]);
        SAME(rejected, c.deliveries[DELIVERY_REJECTED]);
        SAME(discarded, c.deliveries[DELIVERY_DISCARDED]);
        SAME(hops, c.hops);
        SAME(access_ok, c.access_ok);
        SAME(access_failed, c.access_failed);
#undef SAME
        ck_assert_msg(c.lines_unrecognized <= x->unrecognized_max,
                      "%s: %lu unrecognised lines, at most %lu expected", x->file,
                      (unsigned long)c.lines_unrecognized, x->unrecognized_max);
        total_mail += (unsigned long)c.lines_mail;
        total_unknown += (unsigned long)c.lines_unrecognized;
    }
    ck_assert_msg(total_unknown * 1000 < total_mail, "unrecognised share %lu/%lu >= 0.1%%",
                  total_unknown, total_mail);
}
END_TEST

Suite *suite_corpus_corpus(void);
Suite *suite_corpus_corpus(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_corpus_file_matches_its_expectations);
    suite_add_tcase(s, tc);
    return s;
}
