/*
 * reply.c — building and writing CGI responses (see reply.h).
 */
#include "api/reply.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void reply_init(struct reply *r)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    buf_init(&r->csv, 0);
}

void reply_free(struct reply *r)
{
    json_decref(r->json);
    r->json = NULL;
    buf_free(&r->csv);
    r->csv_name = NULL;
}

int reply_fail(struct reply *r, int status, const char *code, const char *field, const char *fmt,
               ...)
{
    va_list ap;

    reply_free(r);
    r->status = status;
    r->code = code;
    snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return -1;
}

int reply_bad_param(struct reply *r, const char *field, const char *what)
{
    return reply_fail(r, 400, "bad_parameter", field, "%s: %s", field, what);
}

int reply_internal(struct reply *r, const char *what)
{
    return reply_fail(r, 500, "internal", NULL, "%s", what);
}

int reply_json(struct reply *r, json_t *body)
{
    if (body == NULL)
        return reply_internal(r, "out of memory");
    json_decref(r->json);
    r->json = body;
    return 0;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void write_headers(FILE *out, int status, const char *type)
{
    fprintf(out,
            "Status: %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n",
            status, status_text(status), type);
}

static void write_error(const struct reply *r, FILE *out, FILE *log)
{
    json_t *err, *doc;
    char *text;
    const char *message = r->message;

    if (r->status >= 500 && r->status != 502) {
        fprintf(log, "maillog.cgi: %s\n", r->message);
        message = "internal error (details in the server's error log)";
    }
    err = json_pack("{s:s, s:s}", "code", r->code ? r->code : "internal", "message", message);
    if (err != NULL && r->field[0] != '\0')
        json_object_set_new(err, "field", json_string(r->field));
    doc = err ? json_pack("{s:o}", "error", err) : NULL;
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    write_headers(out, r->status, "application/json; charset=utf-8");
    if (r->status == 405 && r->allow != NULL)
        fprintf(out, "Allow: %s\r\n", r->allow);
    fputs("\r\n", out);
    if (!r->head_only)
        fprintf(out, "%s\n", text ? text : "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}");
    free(text);
    json_decref(doc);
}

void reply_write(const struct reply *r, FILE *out, FILE *log)
{
    if (r->code != NULL) {
        write_error(r, out, log);
    } else if (r->csv_name != NULL) {
        write_headers(out, 200, "text/csv; charset=utf-8");
        fprintf(out, "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n", r->csv_name);
        if (!r->head_only && r->csv.len > 0)
            fwrite(r->csv.data, 1, r->csv.len, out);
    } else {
        char *text = r->json ? json_dumps(r->json, JSON_COMPACT) : NULL;
        if (text == NULL) {
            struct reply fault;
            reply_init(&fault);
            reply_internal(&fault, "cannot serialise the response");
            write_error(&fault, out, log);
            return;
        }
        write_headers(out, 200, "application/json; charset=utf-8");
        fputs("\r\n", out);
        if (!r->head_only)
            fprintf(out, "%s\n", text);
        free(text);
    }
    fflush(out);
}
