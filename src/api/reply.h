/*
 * reply.h — what a request handler answers, and how it goes out.
 *
 * A handler fills a struct reply: a JSON body (status 200) or a CSV body, or
 * an error through reply_fail() (status, code from docs/API.md, optional
 * field, message). reply_write() prints the CGI response: `Status:`,
 * `Content-Type`, `Cache-Control: no-store`, `X-Content-Type-Options:
 * nosniff`, then the body. A 500's message is replaced by a generic one on
 * the wire; the real explanation goes to the log stream (stderr) instead.
 */
#ifndef MAILLOG_API_REPLY_H
#define MAILLOG_API_REPLY_H

#include "api/csv.h"

#include <jansson.h>
#include <stdio.h>

struct reply {
    int status;       /* 200 unless an error was set */
    const char *code; /* error code (static string), NULL on success */
    char field[64];   /* "" when no single input is at fault */
    char message[512];
    const char *allow;    /* for 405: the methods the route accepts */
    json_t *json;         /* success body, owned */
    struct buf csv;       /* success body when csv_name is set */
    const char *csv_name; /* download file name (static string) */
    int head_only;        /* HEAD: headers without a body */
};

void reply_init(struct reply *r);
void reply_free(struct reply *r);

/* Sets the error (replacing any success body) and returns -1. field may be
 * NULL. The message must not contain request bytes that were not validated. */
int reply_fail(struct reply *r, int status, const char *code, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* Shorthands. */
int reply_bad_param(struct reply *r, const char *field, const char *what);
int reply_internal(struct reply *r, const char *what);

/* Takes ownership of body (may be NULL = out of memory → 500). Returns 0. */
int reply_json(struct reply *r, json_t *body);

/* Writes the whole response to out; 500s also log their message to log. */
void reply_write(const struct reply *r, FILE *out, FILE *log);

#endif
