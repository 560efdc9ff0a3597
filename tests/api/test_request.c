/* test_request.c — reading a CGI request: methods, paths, query strings
 * (caps, decoding, UTF-8, duplicates), bodies (Content-Length, type, cap);
 * and the log tail read backwards. */
#include "api/logtail.h"
#include "api/request.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct outcome {
    int rc;
    int status;
    char code[32];
    char field[64];
    struct request req;
};

static void run(struct cgi_env *env, const char *body, struct outcome *o)
{
    struct reply reply;
    FILE *in = fmemopen((void *)(body ? body : ""), body ? strlen(body) + 1 : 1, "r");

    reply_init(&reply);
    o->rc = request_read(env, in, &o->req, &reply);
    o->status = reply.status;
    snprintf(o->code, sizeof o->code, "%s", reply.code ? reply.code : "");
    snprintf(o->field, sizeof o->field, "%s", reply.field);
    reply_free(&reply);
    fclose(in);
}

static void get(const char *query, struct outcome *o)
{
    struct cgi_env env = {.request_method = "GET", .path_info = "/v1/sent", .query_string = query};
    run(&env, NULL, o);
}

START_TEST(query_parameters_are_decoded)
{
    struct outcome o;
    const struct param *p;

    get("domain=Example.com&q=a%40b+c&limit=5&&", &o);
    ck_assert_int_eq(o.rc, 0);
    ck_assert_int_eq(o.req.param_count, 3);
    p = request_param(&o.req, "q");
    ck_assert_str_eq(p->value, "a@b c");
    ck_assert_int_eq(request_check_unused(&o.req, &(struct reply){0}),
                     -1); /* domain, limit unused */
    request_param(&o.req, "domain");
    request_param(&o.req, "limit");
    ck_assert_int_eq(request_check_unused(&o.req, &(struct reply){0}), 0);
    request_free(&o.req);
}
END_TEST

START_TEST(query_abuse_is_refused)
{
    static const struct {
        const char *query;
        int status;
        const char *field;
    } cases[] = {
        {"q=%ff", 400, "q"},    /* invalid UTF-8 */
        {"q=%c0%af", 400, "q"}, /* overlong */
        {"q=a%00b", 400, "q"},  /* NUL */
        {"q=a%0ab", 400, "q"},  /* newline */
        {"q=%zz", 400, "q"},    /* bad escape */
        {"q=%4", 400, "q"},
        {"q=1&q=2", 400, "q"}, /* twice */
        {"Q=1", 400, ""},      /* names are lower case */
        {"a%20b=1", 400, ""},
        {"=1", 400, ""},
        {"name.with.dots=1", 400, ""},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", 400, ""}, /* 33-byte name */
    };
    struct outcome o;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        get(cases[i].query, &o);
        ck_assert_msg(o.rc == -1 && o.status == cases[i].status, "%s: %d", cases[i].query,
                      o.status);
        ck_assert_str_eq(o.field, cases[i].field);
        request_free(&o.req);
    }
}
END_TEST

START_TEST(query_caps_hold)
{
    char *q = malloc(API_QUERY_MAX + 64);
    struct outcome o;
    size_t n = 0;

    /* 17 parameters: one too many. */
    for (int i = 0; i < API_PARAMS_MAX + 1; i++)
        n += (size_t)sprintf(q + n, "%sp%c=1", i ? "&" : "", 'a' + i);
    get(q, &o);
    ck_assert_int_eq(o.status, 400);
    request_free(&o.req);
    /* A value of API_VALUE_MAX + 1 bytes. */
    strcpy(q, "q=");
    memset(q + 2, 'x', API_VALUE_MAX + 1);
    q[2 + API_VALUE_MAX + 1] = '\0';
    get(q, &o);
    ck_assert_int_eq(o.status, 400);
    ck_assert_str_eq(o.field, "q");
    request_free(&o.req);
    q[2 + API_VALUE_MAX] = '\0'; /* exactly the cap: accepted */
    get(q, &o);
    ck_assert_int_eq(o.rc, 0);
    request_free(&o.req);
    /* A query string over the cap. */
    memset(q, 'x', API_QUERY_MAX + 1);
    q[API_QUERY_MAX + 1] = '\0';
    get(q, &o);
    ck_assert_int_eq(o.status, 413);
    request_free(&o.req);
    free(q);
}
END_TEST

START_TEST(methods_and_paths_are_checked)
{
    struct cgi_env env = {.request_method = "DELETE", .path_info = "/v1/me"};
    struct outcome o;

    run(&env, NULL, &o);
    ck_assert_int_eq(o.status, 405);
    request_free(&o.req);
    env.request_method = NULL;
    run(&env, NULL, &o);
    ck_assert_int_eq(o.status, 405);
    request_free(&o.req);
    env.request_method = "GET";
    env.path_info = "/v1/../etc/passwd%00";
    run(&env, NULL, &o);
    ck_assert_int_eq(o.status, 404);
    request_free(&o.req);
    env.path_info = NULL;
    run(&env, NULL, &o);
    ck_assert_int_eq(o.status, 404);
    request_free(&o.req);
}
END_TEST

START_TEST(bodies_are_bounded_and_typed)
{
    struct cgi_env env = {.request_method = "PUT",
                          .path_info = "/v1/settings",
                          .content_type = "application/json; charset=utf-8",
                          .content_length = "7"};
    struct outcome o;
    char big[32];

    run(&env, "{\"a\":1}", &o);
    ck_assert_int_eq(o.rc, 0);
    ck_assert_uint_eq(o.req.body_len, 7);
    ck_assert_str_eq(o.req.body, "{\"a\":1}");
    request_free(&o.req);
    env.content_length = "70"; /* the body is shorter */
    run(&env, "{\"a\":1}", &o);
    ck_assert_int_eq(o.status, 400);
    request_free(&o.req);
    snprintf(big, sizeof big, "%d", API_BODY_MAX + 1);
    env.content_length = big;
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 413);
    request_free(&o.req);
    env.content_length = "99999999999999999999999999";
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 413);
    request_free(&o.req);
    env.content_length = "-1";
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 400);
    request_free(&o.req);
    env.content_length = "2";
    env.content_type = "text/plain";
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 400);
    ck_assert_str_eq(o.code, "bad_json");
    request_free(&o.req);
    env.content_type = "application/jsonx";
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 400);
    request_free(&o.req);
    env.content_length = NULL;
    env.content_type = "application/json";
    run(&env, "{}", &o);
    ck_assert_int_eq(o.status, 400);
    request_free(&o.req);
}
END_TEST

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/maillog-logtail-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

START_TEST(logtail_returns_the_last_lines)
{
    char *path = write_temp("one\ntwo\nthree\nfour\n");
    struct logtail t;
    struct err e;

    ck_assert_int_eq(logtail_read(path, 2, &t, &e), 0);
    ck_assert_uint_eq(t.count, 2);
    ck_assert_str_eq(t.lines[0], "three");
    ck_assert_str_eq(t.lines[1], "four");
    logtail_free(&t);
    ck_assert_int_eq(logtail_read(path, 10, &t, &e), 0);
    ck_assert_uint_eq(t.count, 4);
    ck_assert_str_eq(t.lines[0], "one");
    logtail_free(&t);
    unlink(path);
    free(path);
    path = write_temp("a\nb\npartial");
    ck_assert_int_eq(logtail_read(path, 2, &t, &e), 0);
    ck_assert_uint_eq(t.count, 2);
    ck_assert_str_eq(t.lines[0], "b");
    ck_assert_str_eq(t.lines[1], "partial");
    logtail_free(&t);
    unlink(path);
    free(path);
    path = write_temp("");
    ck_assert_int_eq(logtail_read(path, 5, &t, &e), 0);
    ck_assert_uint_eq(t.count, 0);
    logtail_free(&t);
    unlink(path);
    free(path);
    ck_assert_int_eq(logtail_read("/nonexistent/maillog", 5, &t, &e), -1);
    logtail_free(&t);
}
END_TEST

START_TEST(logtail_reads_only_the_end_of_a_big_file)
{
    /* 200k lines of ~20 bytes (4 MB), numbered: the last 3 must be exact and
     * lines crossing the 64 KiB block edges must come out whole. */
    char path[] = "/tmp/maillog-logtail-big-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct logtail t;
    struct err e;

    for (int i = 0; i < 200000; i++)
        fprintf(f, "line %08d padding\n", i);
    fclose(f);
    ck_assert_int_eq(logtail_read(path, 3, &t, &e), 0);
    ck_assert_uint_eq(t.count, 3);
    ck_assert_str_eq(t.lines[0], "line 00199997 padding");
    ck_assert_str_eq(t.lines[2], "line 00199999 padding");
    logtail_free(&t);
    ck_assert_int_eq(logtail_read(path, 10000, &t, &e), 0);
    ck_assert_uint_eq(t.count, 10000);
    ck_assert_str_eq(t.lines[0], "line 00190000 padding");
    for (size_t i = 0; i < t.count; i++) {
        char want[32];
        snprintf(want, sizeof want, "line %08zu padding", 190000 + i);
        ck_assert_str_eq(t.lines[i], want);
    }
    logtail_free(&t);
    unlink(path);
}
END_TEST

Suite *suite_api_request(void);
Suite *suite_api_request(void)
{
    Suite *s = suite_create("api/request");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, query_parameters_are_decoded);
    tcase_add_test(tc, query_abuse_is_refused);
    tcase_add_test(tc, query_caps_hold);
    tcase_add_test(tc, methods_and_paths_are_checked);
    tcase_add_test(tc, bodies_are_bounded_and_typed);
    tcase_add_test(tc, logtail_returns_the_last_lines);
    tcase_add_test(tc, logtail_reads_only_the_end_of_a_big_file);
    suite_add_tcase(s, tc);
    return s;
}
