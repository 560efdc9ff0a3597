/*
 * request.h — one CGI/1.1 request, read and checked before anything acts on
 * it (RFC 3875). The CGI's environment is copied into struct cgi_env by
 * main(); request_read() turns it (and at most API_BODY_MAX bytes of stdin)
 * into a struct request whose every string is bounded, percent-decoded and
 * valid UTF-8, or fails with the status and the error code the client gets.
 *
 * Caps: query string API_QUERY_MAX bytes, API_PARAMS_MAX parameters, each
 * value API_VALUE_MAX bytes decoded, parameter names [a-z_]{1,32}, no
 * parameter twice; PATH_INFO API_PATH_MAX bytes of [A-Za-z0-9._/-];
 * body API_BODY_MAX bytes, only for PUT and POST, with a CONTENT_LENGTH.
 */
#ifndef MAILLOG_API_REQUEST_H
#define MAILLOG_API_REQUEST_H

#include "api/reply.h"

#include <stdio.h>

#define API_QUERY_MAX 4096
#define API_PARAMS_MAX 16
#define API_NAME_MAX 32
#define API_VALUE_MAX 1024
#define API_PATH_MAX 512
#define API_BODY_MAX 65536
#define API_HEADER_MAX 256

/* The CGI variables the API reads, as the web server (or the Plesk bridge)
 * set them; NULL when unset. Only these are ever consulted. */
#define CGI_DOMAIN_PARTS 8

struct cgi_env {
    const char *request_method;
    const char *path_info;
    const char *query_string;
    const char *content_type;
    const char *content_length;
    const char *http_csrf;    /* HTTP_X_MAILLOG_CSRF */
    const char *remote_user;  /* standalone identity */
    const char *maillog_role; /* Plesk bridge identity */
    const char *maillog_user;
    /* MAILLOG_DOMAINS, then MAILLOG_DOMAINS_2 … _8: a long list comes in
     * parts, as Linux refuses to start a program with one environment string
     * over 128 KiB (a reseller with thousands of domains); NULL = unset */
    const char *maillog_domains[CGI_DOMAIN_PARTS];
    const char *maillog_max_lines; /* Plesk bridge: panel.ini MaxLines */
    const char *maillog_config;    /* config file path (not settable by a browser) */
    const char *maillog_db;        /* database path override (tests) */
};

enum http_method { METHOD_GET = 0, METHOD_HEAD, METHOD_PUT, METHOD_POST };

struct param {
    char name[API_NAME_MAX + 1];
    char *value; /* decoded, NUL-terminated, valid UTF-8; owned by the request */
    size_t len;
    int used; /* set by the handler that consumed it: leftovers are unknown */
};

struct request {
    enum http_method method;
    char path[API_PATH_MAX + 1];
    struct param params[API_PARAMS_MAX];
    int param_count;
    char *body; /* NUL-terminated copy of the body, NULL when none */
    size_t body_len;
    char csrf[API_HEADER_MAX + 1];
};

/* Reads and checks the request; body bytes come from in. On failure, r is
 * still safe to request_free() and reply holds the error. */
int request_read(const struct cgi_env *env, FILE *in, struct request *req, struct reply *reply);

void request_free(struct request *req);

/* The value of parameter name (and marks it used), or NULL when absent. */
const struct param *request_param(struct request *req, const char *name);

/* Fails with 400 naming the first parameter no handler consumed. */
int request_check_unused(const struct request *req, struct reply *reply);

#endif
