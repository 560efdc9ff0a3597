/* test_err.c — the error convention: -1 returned, text formatted, prefixes. */
#include "util/err.h"

#include <check.h>
#include <errno.h>
#include <string.h>

START_TEST(err_set_returns_minus_one_and_formats)
{
    struct err e;
    ck_assert_int_eq(err_set(&e, "%s: must be %d..%d", "retention_days", 1, 365), -1);
    ck_assert_str_eq(e.text, "retention_days: must be 1..365");
}
END_TEST

START_TEST(err_sys_appends_strerror)
{
    struct err e;
    errno = ENOENT;
    err_sys(&e, "/nonexistent");
    ck_assert_str_eq(e.text, "/nonexistent: No such file or directory");
}
END_TEST

START_TEST(err_prefix_adds_context)
{
    struct err e;
    err_set(&e, "disk full");
    err_prefix(&e, "ingest %s", "/var/log/maillog");
    ck_assert_str_eq(e.text, "ingest /var/log/maillog: disk full");
}
END_TEST

Suite *suite_util_err(void);
Suite *suite_util_err(void)
{
    Suite *s = suite_create("util/err");
    TCase *tc = tcase_create("err");
    tcase_add_test(tc, err_set_returns_minus_one_and_formats);
    tcase_add_test(tc, err_sys_appends_strerror);
    tcase_add_test(tc, err_prefix_adds_context);
    suite_add_tcase(s, tc);
    return s;
}
