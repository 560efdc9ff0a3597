/*
 * request.c — reading and checking one CGI request (see request.h).
 *
 * Order: method, path, query string (split, decode, validate each
 * parameter), then the body. Nothing is interpreted here beyond bytes and
 * bounds; the handlers type the values.
 */
#include "api/request.h"
#include "api/text.h"

#include <stdlib.h>
#include <string.h>

static int read_method(const char *m, enum http_method *out, struct reply *reply)
{
    static const struct {
        const char *name;
        enum http_method method;
    } methods[] = {
        {"GET", METHOD_GET}, {"HEAD", METHOD_HEAD}, {"PUT", METHOD_PUT}, {"POST", METHOD_POST}};

    if (m != NULL)
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcmp(m, methods[i].name) == 0) {
                *out = methods[i].method;
                return 0;
            }
    reply->allow = "GET, HEAD, PUT, POST";
    return reply_fail(reply, 405, "method_not_allowed", NULL, "method not allowed");
}

static bool path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/';
}

static int read_path(const char *p, char out[API_PATH_MAX + 1], struct reply *reply)
{
    size_t len;

    if (p == NULL || p[0] == '\0')
        return reply_fail(reply, 404, "not_found", NULL, "no such route");
    len = strlen(p);
    if (len > API_PATH_MAX)
        return reply_fail(reply, 404, "not_found", NULL, "no such route (path too long)");
    for (size_t i = 0; i < len; i++)
        if (!path_char(p[i]))
            return reply_fail(reply, 404, "not_found", NULL, "no such route");
    memcpy(out, p, len + 1);
    return 0;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

/* One "name=value" pair s[0..len) into a new parameter. */
static int read_param(struct request *req, const char *s, size_t len, struct reply *reply)
{
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq ? (size_t)(eq - s) : len;
    const char *v = eq ? eq + 1 : s + len;
    size_t v_len = eq ? len - name_len - 1 : 0;
    struct param *p;
    long n;

    if (name_len == 0 || name_len > API_NAME_MAX)
        return reply_fail(reply, 400, "bad_parameter", NULL, "malformed parameter name");
    for (size_t i = 0; i < name_len; i++)
        if (!name_char(s[i]))
            return reply_fail(reply, 400, "bad_parameter", NULL, "malformed parameter name");
    if (req->param_count == API_PARAMS_MAX)
        return reply_fail(reply, 400, "bad_parameter", NULL, "too many parameters (at most %d)",
                          API_PARAMS_MAX);
    p = &req->params[req->param_count];
    memcpy(p->name, s, name_len);
    p->name[name_len] = '\0';
    for (int i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].name, p->name) == 0)
            return reply_bad_param(reply, p->name, "given more than once");
    /* Decoding never lengthens: v_len + 1 bytes always suffice. */
    if (v_len > 3 * API_VALUE_MAX)
        return reply_fail(reply, 400, "bad_parameter", p->name, "%s: too long (at most %d bytes)",
                          p->name, API_VALUE_MAX);
    p->value = malloc(v_len + 1);
    if (p->value == NULL)
        return reply_internal(reply, "out of memory");
    req->param_count++;
    n = pct_decode(v, v_len, p->value, v_len + 1);
    if (n < 0)
        return reply_bad_param(reply, p->name, "bad percent-encoding");
    p->len = (size_t)n;
    if (p->len > API_VALUE_MAX)
        return reply_fail(reply, 400, "bad_parameter", p->name, "%s: too long (at most %d bytes)",
                          p->name, API_VALUE_MAX);
    if (!utf8_valid(p->value, p->len))
        return reply_bad_param(reply, p->name, "not valid UTF-8 text");
    return 0;
}

static int read_query(const char *q, struct request *req, struct reply *reply)
{
    size_t len;
    const char *end;

    if (q == NULL || q[0] == '\0')
        return 0;
    len = strlen(q);
    if (len > API_QUERY_MAX)
        return reply_fail(reply, 413, "too_large", NULL, "query string too long (at most %d bytes)",
                          API_QUERY_MAX);
    end = q + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = amp ? (size_t)(amp - q) : (size_t)(end - q);
        if (n > 0 && read_param(req, q, n, reply) < 0)
            return -1;
        q += n + (amp != NULL);
    }
    return 0;
}

static int read_header(const char *h, char out[API_HEADER_MAX + 1])
{
    size_t len = h ? strlen(h) : 0;

    out[0] = '\0';
    if (len == 0)
        return 0;
    if (len > API_HEADER_MAX)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (h[i] <= ' ' || h[i] > '~')
            return -1;
    memcpy(out, h, len);
    out[len] = '\0';
    return 0;
}

/* "application/json" with optional parameters (charset=utf-8). */
static bool is_json_type(const char *t)
{
    size_t n = strlen("application/json");

    if (t == NULL || strncasecmp(t, "application/json", n) != 0)
        return false;
    return t[n] == '\0' || t[n] == ';' || t[n] == ' ';
}

static int read_body(const struct cgi_env *env, FILE *in, struct request *req, struct reply *reply)
{
    const char *cl = env->content_length;
    size_t len = 0, got = 0;

    if (req->method != METHOD_PUT && req->method != METHOD_POST)
        return 0; /* a GET body is ignored, never read */
    if (cl == NULL || cl[0] == '\0')
        return reply_fail(reply, 400, "bad_json", NULL, "a JSON body is required");
    for (const char *c = cl; *c; c++) {
        if (*c < '0' || *c > '9')
            return reply_fail(reply, 400, "bad_json", NULL, "bad Content-Length");
        if (len > API_BODY_MAX)
            break;
        len = len * 10 + (size_t)(*c - '0');
    }
    if (len > API_BODY_MAX)
        return reply_fail(reply, 413, "too_large", NULL, "body too large (at most %d bytes)",
                          API_BODY_MAX);
    if (!is_json_type(env->content_type))
        return reply_fail(reply, 400, "bad_json", NULL, "Content-Type must be application/json");
    req->body = malloc(len + 1);
    if (req->body == NULL)
        return reply_internal(reply, "out of memory");
    while (got < len) {
        size_t n = fread(req->body + got, 1, len - got, in);
        if (n == 0)
            break;
        got += n;
    }
    if (got < len)
        return reply_fail(reply, 400, "bad_json", NULL, "body shorter than its Content-Length");
    req->body[len] = '\0';
    req->body_len = len;
    return 0;
}

int request_read(const struct cgi_env *env, FILE *in, struct request *req, struct reply *reply)
{
    memset(req, 0, sizeof *req);
    if (read_method(env->request_method, &req->method, reply) < 0)
        return -1;
    reply->head_only = req->method == METHOD_HEAD;
    if (read_path(env->path_info, req->path, reply) < 0)
        return -1;
    if (read_query(env->query_string, req, reply) < 0)
        return -1;
    if (read_header(env->http_csrf, req->csrf) < 0)
        req->csrf[0] = '\0'; /* a malformed token is a missing one */
    return read_body(env, in, req, reply);
}

void request_free(struct request *req)
{
    for (int i = 0; i < req->param_count; i++)
        free(req->params[i].value);
    req->param_count = 0;
    free(req->body);
    req->body = NULL;
}

const struct param *request_param(struct request *req, const char *name)
{
    for (int i = 0; i < req->param_count; i++)
        if (strcmp(req->params[i].name, name) == 0) {
            req->params[i].used = 1;
            return &req->params[i];
        }
    return NULL;
}

int request_check_unused(const struct request *req, struct reply *reply)
{
    for (int i = 0; i < req->param_count; i++)
        if (!req->params[i].used)
            return reply_fail(reply, 400, "bad_parameter", req->params[i].name,
                              "%s: unknown parameter", req->params[i].name);
    return 0;
}
