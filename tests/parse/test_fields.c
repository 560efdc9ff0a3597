/*
 * test_fields.c — the value readers of log fields (delay=, size=, …).
 */
#include "parse/fields.h"

#include <check.h>
#include <string.h>

static double seconds(const char *text)
{
    return slice_to_seconds(slice_make(text, strlen(text)));
}

/* A delay reads as the double nearest to what the log says, so it prints as
 * the log says it (0.6, not 0.6000000000000001 from summing tenths). */
START_TEST(delays_read_as_written)
{
    ck_assert(seconds("0.6") == 0.6);
    ck_assert(seconds("0.7") == 0.7);
    ck_assert(seconds("0.3") == 0.3);
    ck_assert(seconds("1.25") == 1.25);
    ck_assert(seconds("842") == 842.0);
    ck_assert(seconds("12.") == 12.0);
    ck_assert(seconds(".5") == 0.5);
    ck_assert(seconds("") == -1);
    ck_assert(seconds("1.2.3") == -1);
    ck_assert(seconds("0,6") == -1);
    ck_assert(seconds("-1") == -1);
}
END_TEST

Suite *suite_parse_fields(void);
Suite *suite_parse_fields(void)
{
    Suite *s = suite_create("parse/fields");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, delays_read_as_written);
    suite_add_tcase(s, tc);
    return s;
}
