/*
 * cgi_world.c — the API tests' fixture world and CGI runner (see cgi.h).
 */
#include "cgi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const model_domains[NDOMAINS] = {"example.com", "example.org", "example.net"};
static const char *const mailboxes[] = {"info", "bob", "sales.team"};

const char *const WHO_ADMIN[] = {"MAILLOG_ROLE=admin", "MAILLOG_USER=admin",
                                 "MAILLOG_DOMAINS=", NULL};
const char *const WHO_RES1[] = {"MAILLOG_ROLE=reseller", "MAILLOG_USER=res1",
                                "MAILLOG_DOMAINS=example.com,example.org", NULL};
const char *const WHO_CLI1[] = {"MAILLOG_ROLE=client", "MAILLOG_USER=cli1",
                                "MAILLOG_DOMAINS=example.com", NULL};
const char *const WHO_CLI2[] = {"MAILLOG_ROLE=client", "MAILLOG_USER=cli2",
                                "MAILLOG_DOMAINS=example.net", NULL};
const char *const WHO_SA_ADMIN[] = {"REMOTE_USER=admin", NULL};
const char *const WHO_SA_CLI1[] = {"REMOTE_USER=cli1", NULL};
const char *const WHO_NOBODY[] = {NULL};

/* Fixture GeoIP: 198.51.100/24 DE, 203.0.113/24 FR, 192.0.2/24 US. */
static const char geo_tsv[] = "198.51.100.0/24\tDE\n203.0.113.0/24\tFR\n192.0.2.0/24\tUS\n";

const char *model_country(const char *ip)
{
    if (strncmp(ip, "198.51.100.", 11) == 0)
        return "DE";
    if (strncmp(ip, "203.0.113.", 10) == 0)
        return "FR";
    if (strncmp(ip, "192.0.2.", 8) == 0)
        return "US";
    return "";
}

const char *addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

static int write_file(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void stamp(int64_t t, char out[40])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 40, "%Y-%m-%dT%H:%M:%S.000000+00:00", &tm);
}

static struct mmsg *new_msg(struct model *m, enum mkind kind)
{
    struct mmsg *g = &m->msgs[m->nmsgs++];
    int n = ++m->seq;

    memset(g, 0, sizeof *g);
    g->kind = kind;
    /* Pairs of events share a second, so sorting has ties to break. */
    g->t = m->t0 + (n / 2) * 37;
    snprintf(g->qid, sizeof g->qid, "%X%05X", 0xA0 + (int)kind, n);
    return g;
}

static void add_received(struct model *m, const char *domain, int i)
{
    static const char *const statuses[] = {"sent", "sent", "bounced", "sent", "deferred"};
    struct mmsg *g = new_msg(m, MK_RECEIVED);

    snprintf(g->rcpt, sizeof g->rcpt, "%s@%s", mailboxes[i % 3], domain);
    if (i == 3)
        snprintf(g->sender, sizeof g->sender, "=2+3@remote%d.test", i % 4);
    else if (i == 4)
        snprintf(g->sender, sizeof g->sender, "-dash%d@remote%d.test", i, i % 4);
    else
        snprintf(g->sender, sizeof g->sender, "sender%d@remote%d.test", m->seq, i % 4);
    g->status = statuses[i % 5];
    if (strcmp(g->status, "sent") == 0)
        snprintf(g->status_text, sizeof g->status_text, "delivered to maildir");
    else if (strcmp(g->status, "bounced") == 0)
    /* Log bytes are not always UTF-8: 0xFF must come out as U+FFFD. */
    {
        snprintf(g->status_text, sizeof g->status_text, "mailbox full, \"over quota\" %d \xff", i);
        g->reason_word = "mailbox is full";
    } else {
        snprintf(g->status_text, sizeof g->status_text, "mailbox busy, try later");
        /* the line's dsn=4.2.1: RFC 3463's "mailbox disabled", temporary */
        g->reason_word = "not taking mail for the moment";
    }
    g->size = 1000 + (m->seq * 7919) % 50000;
    snprintf(g->msgid, sizeof g->msgid, "r%d.%s@remote.test", m->seq, g->qid);
    snprintf(g->ip, sizeof g->ip, "198.51.100.%d", 10 + i % 50);
}

static void add_sent(struct model *m, const char *domain, int i)
{
    struct mmsg *g = new_msg(m, MK_SENT);

    snprintf(g->sender, sizeof g->sender, "%s@%s", mailboxes[i % 3], domain);
    snprintf(g->rcpt, sizeof g->rcpt, "rcpt%d@far%d.test", m->seq, i % 3);
    g->status = i % 4 == 3 ? "bounced" : "sent";
    if (strcmp(g->status, "sent") == 0)
        snprintf(g->status_text, sizeof g->status_text, "250 2.0.0 Ok: accepted %d", m->seq);
    else {
        snprintf(g->status_text, sizeof g->status_text,
                 "host mx.far.test[192.0.2.20] said: 550 5.1.1 <%s>: \"User unknown\", try "
                 "later (in reply to RCPT TO command)",
                 g->rcpt);
        g->reason_word = "does not exist";
    }
    g->size = 2000 + (m->seq * 104729) % 90000;
    snprintf(g->msgid, sizeof g->msgid, "s%d.%s@%s", m->seq, g->qid, domain);
    snprintf(g->ip, sizeof g->ip, "203.0.113.%d", 5 + i % 40);
    /* SMTP AUTH on the submission service is a mailbox access too. */
    {
        struct mlogin *l = &m->logins[m->nlogins++];
        memset(l, 0, sizeof *l);
        l->t = g->t;
        snprintf(l->user, sizeof l->user, "%s", g->sender);
        snprintf(l->ip, sizeof l->ip, "%s", g->ip);
        l->protocol = "submission";
        l->ok = true;
        l->country = model_country(l->ip);
        l->smtp = true;
    }
}

static void add_rejected(struct model *m, const char *domain, int i)
{
    struct mmsg *g = new_msg(m, MK_REJECTED);

    g->qid[0] = '\0';
    snprintf(g->rcpt, sizeof g->rcpt, "nobody%d@%s", i, domain);
    snprintf(g->sender, sizeof g->sender, "spam%d@bulk.test", m->seq);
    g->status = "rejected";
    snprintf(g->status_text, sizeof g->status_text,
             "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table",
             g->rcpt);
    g->reason_word = "does not exist";
    g->size = -1;
    snprintf(g->ip, sizeof g->ip, "198.51.100.%d", 200 + i % 50);
}

static void add_login(struct model *m, const char *domain, int i)
{
    struct mlogin *l = &m->logins[m->nlogins++];
    int n = ++m->seq;

    memset(l, 0, sizeof *l);
    l->t = m->t0 + (n / 2) * 37;
    snprintf(l->user, sizeof l->user, "%s@%s", mailboxes[i % 3], domain);
    snprintf(l->ip, sizeof l->ip, "%s.%d",
             i % 3 == 0   ? "198.51.100"
             : i % 3 == 1 ? "203.0.113"
                          : "192.0.2",
             30 + i);
    l->protocol = i % 2 ? "pop3" : "imap";
    l->ok = i % 4 != 1;
    l->country = model_country(l->ip);
}

/* The log lines of one model record. */
static void print_msg(FILE *f, const struct mmsg *g, int pid)
{
    char ts[40];

    stamp(g->t, ts);
    if (g->kind == MK_REJECTED) {
        fprintf(f,
                "%s mx postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: %s; "
                "from=<%s> to=<%s> proto=ESMTP helo=<bulk.test>\n",
                ts, pid, g->ip, g->status_text, g->sender, g->rcpt);
        return;
    }
    if (g->kind == MK_RECEIVED)
        fprintf(f, "%s mx postfix/smtpd[%d]: %s: client=mail.remote.test[%s]\n", ts, pid, g->qid,
                g->ip);
    else
        fprintf(f,
                "%s mx postfix/submission/smtpd[%d]: %s: client=unknown[%s], sasl_method=PLAIN, "
                "sasl_username=%s\n",
                ts, pid, g->qid, g->ip, g->sender);
    fprintf(f, "%s mx postfix/cleanup[%d]: %s: message-id=<%s>\n", ts, pid + 1, g->qid, g->msgid);
    fprintf(f, "%s mx postfix/qmgr[900]: %s: from=<%s>, size=%ld, nrcpt=1 (queue active)\n", ts,
            g->qid, g->sender, g->size);
    if (g->kind == MK_RECEIVED)
        fprintf(f,
                "%s mx postfix/virtual[%d]: %s: to=<%s>, relay=virtual, delay=0.12, "
                "delays=0.05/0.01/0/0.06, dsn=%s, status=%s (%s)\n",
                ts, pid + 2, g->qid, g->rcpt,
                g->status[0] == 's'   ? "2.0.0"
                : g->status[0] == 'b' ? "5.2.2"
                                      : "4.2.1",
                g->status, g->status_text);
    else
        fprintf(f,
                "%s mx postfix/smtp[%d]: %s: to=<%s>, relay=mx.far.test[192.0.2.20]:25, "
                "delay=1.2, delays=0.1/0/0.5/0.6, dsn=%s, status=%s (%s)\n",
                ts, pid + 2, g->qid, g->rcpt, g->status[0] == 's' ? "2.0.0" : "5.1.1", g->status,
                g->status_text);
    if (strcmp(g->status, "deferred") != 0)
        fprintf(f, "%s mx postfix/qmgr[900]: %s: removed\n", ts, g->qid);
}

static void print_login(FILE *f, const struct mlogin *l, int pid)
{
    char ts[40];

    if (l->smtp)
        return; /* logged by smtpd with its mail */
    stamp(l->t, ts);
    if (l->ok)
        fprintf(f,
                "%s mx dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, "
                "lip=192.0.2.1, mpid=%d, TLS, session=<s%d>\n",
                ts, l->protocol, l->user, l->ip, pid, pid);
    else
        fprintf(f,
                "%s mx dovecot: %s-login: Disconnected (auth failed, 1 attempts in 2 secs): "
                "user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, TLS, session=<s%d>\n",
                ts, l->protocol, l->user, l->ip, pid);
}

/* Writes records [from_msg..) and [from_login..) in time order. */
static int append_log(struct world *w, int from_msg, int from_login)
{
    FILE *f = fopen(w->log, "a");
    int i = from_msg, j = from_login;

    if (f == NULL)
        return -1;
    while (i < w->m.nmsgs || j < w->m.nlogins) {
        bool take_msg = j >= w->m.nlogins || (i < w->m.nmsgs && w->m.msgs[i].t <= w->m.logins[j].t);
        if (take_msg) {
            print_msg(f, &w->m.msgs[i], 1000 + 4 * i);
            i++;
        } else {
            print_login(f, &w->m.logins[j], 5000 + j);
            j++;
        }
    }
    return fclose(f);
}

static int run_ingest(struct world *w)
{
    char cmd[1400];

    snprintf(cmd, sizeof cmd, "%s ingest --config %s >%s/ingest.out 2>&1", w->cli, w->config,
             w->dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "grep -q 'not built yet' %s/ingest.out", w->dir);
        if (system(cmd) == 0)
            return 1; /* the placeholder of the CLI: ingest has not landed */
        snprintf(cmd, sizeof cmd, "cat %s/ingest.out >&2", w->dir);
        fprintf(stderr, "maillog ingest failed:\n");
        if (system(cmd) != 0)
            return -1;
        return -1;
    }
    return 0;
}

static void build_model(struct model *m)
{
    /* Interleaved so every domain has records all over the time range. */
    for (int i = 0; i < 20; i++)
        for (int d = 0; d < NDOMAINS; d++) {
            add_received(m, model_domains[d], i);
            if (i < 15)
                add_sent(m, model_domains[d], i);
            if (i < 3)
                add_rejected(m, model_domains[d], i);
            add_login(m, model_domains[d], i);
        }
}

int world_create(struct world *w)
{
    const char *src = getenv("MAILLOG_SRCDIR") ? getenv("MAILLOG_SRCDIR") : ".";
    const char *build = getenv("MAILLOG_TEST_BUILD") ? getenv("MAILLOG_TEST_BUILD") : "build/asan";
    char path[600], text[4096], cmd[1400];

    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/maillog-api-XXXXXX");
    if (mkdtemp(w->dir) == NULL)
        return -1;
    snprintf(w->config, sizeof w->config, "%s/maillog.ini", w->dir);
    snprintf(w->db, sizeof w->db, "%s/maillog.db", w->dir);
    snprintf(w->log, sizeof w->log, "%s/mail.log", w->dir);
    snprintf(w->cgi, sizeof w->cgi, "%s/%s/maillog.cgi", src, build);
    snprintf(w->cli, sizeof w->cli, "%s/%s/maillog", src, build);
    snprintf(path, sizeof path, "%s/geo.tsv", w->dir);
    if (write_file(path, geo_tsv, "w") < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "perl %s/tests/fixtures/geo/make-mmdb.pl %s %s/country.mmdb", src,
             path, w->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make-mmdb.pl failed\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/domains.json", w->dir);
    if (write_file(path,
                   "[{\"name\":\"example.com\",\"owner_email\":\"owner@example.com\",\"client\":"
                   "\"cli1\",\"reseller\":\"res1\",\"sysuser_uid\":10042},\n"
                   " {\"name\":\"example.org\",\"owner_email\":\"owner@example.org\",\"client\":"
                   "\"cli3\",\"reseller\":\"res1\",\"sysuser_uid\":10044,\"main\":true},\n"
                   " {\"name\":\"example.net\",\"owner_email\":\"owner@example.net\",\"client\":"
                   "\"cli2\",\"reseller\":\"\",\"sysuser_uid\":10044}]\n",
                   "w") < 0)
        return -1;
    snprintf(text, sizeof text,
             "# written by tests/api (check-api)\n[maillog]\ndb = %s\nlog = %s\n"
             "domains = %s/domains.json\ngeoip = %s/country.mmdb\nmax_lines = 25\n"
             "[smtp]\nurl = smtp://127.0.0.1:9\n"
             "[users]\nadmin = admin\nres1 = reseller:example.com,example.org\n"
             "cli1 = client:example.com\ncli2 = client:example.net\n",
             w->db, w->log, w->dir, w->dir);
    if (write_file(w->config, text, "w") < 0)
        return -1;
    w->m.t0 = (int64_t)time(NULL) - 2 * 86400;
    build_model(&w->m);
    if (append_log(w, 0, 0) < 0)
        return -1;
    return run_ingest(w);
}

int world_grow(struct world *w, const char *domain, int n)
{
    int first = w->m.nmsgs;

    if (!w->m.grown) /* well after everything else, then in order */
        w->m.seq += 1000;
    w->m.grown = true;
    for (int i = 0; i < n && w->m.nmsgs < (int)(sizeof w->m.msgs / sizeof w->m.msgs[0]); i++)
        add_received(&w->m, domain, i);
    if (append_log(w, first, w->m.nlogins) < 0)
        return -1;
    return run_ingest(w);
}

int world_append_text(struct world *w, const char *text)
{
    FILE *f = fopen(w->log, "a");

    if (f == NULL)
        return -1;
    fputs(text, f);
    if (fclose(f) != 0)
        return -1;
    return run_ingest(w);
}

void world_stamp(int64_t t, char out[40])
{
    stamp(t, out);
}

void world_destroy(struct world *w)
{
    char cmd[400];

    if (w->dir[0] != '\0' && getenv("MAILLOG_KEEP_TEST") == NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", w->dir);
    }
}

/* ---- running the CGI ---- */

static char *slurp(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t n;

    lseek(fd, 0, SEEK_SET);
    while (buf != NULL && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

static int temp_fd(const struct world *w, const char *name)
{
    char path[400];
    int fd;

    snprintf(path, sizeof path, "%s/%s.XXXXXX", w->dir, name);
    fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void parse_response(struct resp *r)
{
    char *end = strstr(r->raw, "\r\n\r\n");
    const char *s, *t;
    size_t hl;

    r->status = -1;
    if (end == NULL)
        return;
    hl = (size_t)(end - r->raw);
    snprintf(r->headers, sizeof r->headers, "%.*s", (int)hl, r->raw);
    r->body = end + 4;
    r->body_len = strlen(r->body);
    s = strstr(r->headers, "Status: ");
    if (s == NULL || s != r->headers)
        return;
    r->status = atoi(s + 8);
    t = strstr(r->headers, "Content-Type: ");
    if (t != NULL)
        snprintf(r->type, sizeof r->type, "%.*s", (int)strcspn(t + 14, "\r"), t + 14);
    if (strncmp(r->type, "application/json", 16) == 0)
        r->json = json_loadb(r->body, r->body_len, 0, NULL);
}

void cgi_call(const struct world *w, const struct call *c, struct resp *r)
{
    char *envp[64];
    int n = 0, in = temp_fd(w, "in"), out = temp_fd(w, "out"), err = temp_fd(w, "err");
    int status;
    pid_t pid;

#define ENV(...) (asprintf(&envp[n], __VA_ARGS__) < 0 ? abort() : (void)0, n++)
    memset(r, 0, sizeof *r);
    ENV("GATEWAY_INTERFACE=CGI/1.1");
    ENV("SERVER_PROTOCOL=HTTP/1.1");
    ENV("REQUEST_METHOD=%s", c->method ? c->method : "GET");
    if (c->path)
        ENV("PATH_INFO=%s", c->path);
    ENV("QUERY_STRING=%s", c->query ? c->query : "");
    ENV("MAILLOG_CONFIG=%s", w->config);
    ENV("MAILLOG_DB=%s", w->db);
    ENV("ASAN_OPTIONS=detect_leaks=1:exitcode=86");
    ENV("UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87");
    if (c->body) {
        ENV("CONTENT_LENGTH=%zu", strlen(c->body));
        ENV("CONTENT_TYPE=%s", c->content_type ? c->content_type : "application/json");
        if (write(in, c->body, strlen(c->body)) < 0)
            abort();
        lseek(in, 0, SEEK_SET);
    }
    if (c->csrf)
        ENV("HTTP_X_MAILLOG_CSRF=%s", c->csrf);
    for (int i = 0; c->who && c->who[i]; i++)
        ENV("%s", c->who[i]);
    for (int i = 0; c->extra && c->extra[i]; i++)
        ENV("%s", c->extra[i]);
    envp[n] = NULL;
#undef ENV
    pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)w->cgi, NULL};
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        alarm(60);
        execve(w->cgi, argv, envp);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    for (int i = 0; i < n; i++)
        free(envp[i]);
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->raw = slurp(out);
    r->err = slurp(err);
    close(in);
    close(out);
    close(err);
    r->sanitizer = strstr(r->err, "Sanitizer") != NULL || strstr(r->err, "runtime error") != NULL ||
                   r->exit_code == 86 || r->exit_code == 87 || r->exit_code == -1;
    parse_response(r);
}

void resp_free(struct resp *r)
{
    json_decref(r->json);
    free(r->raw);
    free(r->err);
    memset(r, 0, sizeof *r);
}
