/*
 * fuzz_request.c — libFuzzer target for the CGI request reader
 * (api/request.h): the input is split at NUL bytes into REQUEST_METHOD,
 * PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH, the CSRF header, and
 * the rest is the body on stdin. Every accepted request must satisfy the
 * reader's promises: bounded, decoded, valid UTF-8, no parameter twice.
 */
#include "api/request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A necessary condition for UTF-8: lead bytes followed by the right number
 * of continuation bytes (the reader itself is stricter). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t extra;

        if (c < 0x80)
            extra = 0;
        else if ((c & 0xE0) == 0xC0)
            extra = 1;
        else if ((c & 0xF0) == 0xE0)
            extra = 2;
        else if ((c & 0xF8) == 0xF0)
            extra = 3;
        else
            return 0;
        if (i + extra >= n && extra > 0)
            return 0;
        for (size_t k = 1; k <= extra; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += extra + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    const char *fields[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    char *p = copy, *end;
    struct cgi_env env;
    struct request req;
    struct reply reply;
    FILE *body;
    int i;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    end = copy + size;
    for (i = 0; i < 6 && p < end; i++) {
        size_t n = strlen(p);
        fields[i] = p;
        p += n + 1;
    }
    if (p > end)
        p = end;
    memset(&env, 0, sizeof env);
    env.request_method = fields[0];
    env.path_info = fields[1];
    env.query_string = fields[2];
    env.content_type = fields[3];
    env.content_length = fields[4];
    env.http_csrf = fields[5];
    body = fmemopen(p, (size_t)(end - p) + 1, "r");
    if (body == NULL) {
        free(copy);
        return 0;
    }
    memset(&req, 0, sizeof req);
    reply_init(&reply);
    if (request_read(&env, body, &req, &reply) == 0) {
        if (strlen(req.path) > API_PATH_MAX || req.param_count > API_PARAMS_MAX)
            abort();
        for (i = 0; i < req.param_count; i++) {
            const struct param *q = &req.params[i];
            if (q->len > API_VALUE_MAX || strlen(q->value) != q->len ||
                !valid_utf8((const unsigned char *)q->value, q->len))
                abort();
            for (int j = 0; j < i; j++)
                if (strcmp(req.params[j].name, q->name) == 0)
                    abort();
        }
        if (req.body != NULL && req.body_len > API_BODY_MAX)
            abort();
    }
    request_free(&req);
    reply_free(&reply);
    fclose(body);
    free(copy);
    return 0;
}
