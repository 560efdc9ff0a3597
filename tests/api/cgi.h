/*
 * cgi.h — the harness of the API tests (build/asan/test_api, `make
 * check-api`): a fixture world written by the test (config, domains file,
 * GeoIP database, a mail log generated from an in-memory model), ingested by
 * the real `maillog ingest`, and the real maillog.cgi run as a CGI/1.1
 * program with a chosen environment — no web server. Expectations are
 * computed from the model, never from the program's output.
 */
#ifndef MAILLOG_TESTS_API_CGI_H
#define MAILLOG_TESTS_API_CGI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the world ---- */

#define NDOMAINS 3
extern const char *const model_domains[NDOMAINS]; /* example.com, example.org, example.net */

enum mkind { MK_RECEIVED, MK_SENT, MK_REJECTED };

struct mmsg {
    enum mkind kind;
    int64_t t;
    char qid[16];
    char sender[96];
    char rcpt[96];
    const char *status; /* sent, bounced, deferred, rejected */
    char status_text[200];
    const char *reason_word; /* a word the "reason" must contain, for what status_text says;
                                NULL: no reason (delivered, or nothing to add) */
    long size;               /* -1 for rejections */
    char msgid[96];
    char ip[48];
};

struct mlogin {
    int64_t t;
    char user[96];
    char ip[48];
    const char *protocol; /* imap, pop3, submission */
    bool ok;
    const char *country; /* from the fixture GeoIP data */
    bool smtp;           /* the SASL login of a sent mail (not a Dovecot line) */
};

struct model {
    struct mmsg msgs[400];
    int nmsgs;
    struct mlogin logins[200];
    int nlogins;
    int64_t t0;
    int seq;    /* next event number, for times and queue ids */
    bool grown; /* world_grow() was called */
};

struct world {
    char dir[256];
    char config[300];
    char db[300];
    char log[300];
    char cgi[512];
    char cli[512];
    struct model m;
};

/* Builds the world in a new temp dir and ingests it. 0 ok, -1 with a message
 * on stderr, 1 when `maillog ingest` is still the placeholder of the CLI
 * (the suite is then skipped, saying so). */
int world_create(struct world *w);
/* Appends n more received mails for domain (newest times) to the log and the
 * model, and runs ingest again. */
int world_grow(struct world *w, const char *domain, int n);
/* Appends raw log text (not in the model: tests that run after it must not
 * compare with the model) and runs ingest again. */
int world_append_text(struct world *w, const char *text);
/* A log time stamp as the world's lines carry them. */
void world_stamp(int64_t t, char out[40]);
void world_destroy(struct world *w);

/* The domain of an address (after '@'). */
const char *addr_domain(const char *addr);
/* The country fixture GeoIP gives an address. */
const char *model_country(const char *ip);

/* ---- running the CGI ---- */

struct call {
    const char *method; /* default GET */
    const char *path;
    const char *query;        /* may be NULL */
    const char *body;         /* may be NULL */
    const char *content_type; /* default application/json when there is a body */
    const char *csrf;
    const char *const *who;   /* identity: "K=V" entries, NULL-terminated */
    const char *const *extra; /* more "K=V" entries, may be NULL */
};

struct resp {
    int status;
    char type[128];
    char headers[1024];
    char *raw;  /* whole stdout */
    char *body; /* into raw */
    size_t body_len;
    json_t *json;   /* NULL unless the body parsed as JSON */
    char *err;      /* stderr */
    int exit_code;  /* -1 when killed by a signal */
    bool sanitizer; /* ASan/UBSan/LSan wrote a report */
};

void cgi_call(const struct world *w, const struct call *c, struct resp *r);
void resp_free(struct resp *r);

/* Identities. */
extern const char *const WHO_ADMIN[];    /* Plesk admin */
extern const char *const WHO_RES1[];     /* Plesk reseller of example.com, example.org */
extern const char *const WHO_CLI1[];     /* Plesk client of example.com */
extern const char *const WHO_CLI2[];     /* Plesk client of example.net */
extern const char *const WHO_SA_ADMIN[]; /* standalone REMOTE_USER=admin */
extern const char *const WHO_SA_CLI1[];  /* standalone REMOTE_USER=cli1 */
extern const char *const WHO_NOBODY[];   /* nothing */

#endif
