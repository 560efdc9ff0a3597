/* test_term.c — untrusted text on a terminal: UTF-8 kept, controls masked. */
#include "util/term.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* What term_put() prints for text (heap, caller frees) and its count. */
static char *printed(const char *text, size_t max, size_t *chars)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    *chars = term_put(f, text, max);
    fclose(f);
    return buf;
}

START_TEST(controls_become_question_marks)
{
    size_t n;
    char *s = printed("a\x1b]0;title\x07"
                      "b\x7f"
                      "c\r\n",
                      0, &n);

    ck_assert_str_eq(s, "a?]0;title?b?c??");
    ck_assert_uint_eq(n, 16);
    free(s);
}
END_TEST

START_TEST(utf8_kept_c1_and_bad_bytes_masked)
{
    size_t n;
    /* é (2 bytes), € (3), 😀 (4) kept; U+009B (CSI) one '?'; a lone 0x9b, a
     * cut sequence and an overlong lead byte each a '?' */
    char *s = printed(
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x9b[31m \x9b \xe2\x82 \xc0\xaf", 0, &n);

    ck_assert_str_eq(s, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ?[31m ? ?? ??");
    free(s);
}
END_TEST

START_TEST(at_most_max_characters)
{
    size_t n;
    char *s = printed("\xc3\xa9\xc3\xa9\xc3\xa9"
                      "abc",
                      4, &n);

    ck_assert_str_eq(s, "\xc3\xa9\xc3\xa9\xc3\xa9"
                        "a");
    ck_assert_uint_eq(n, 4);
    free(s);
    s = printed("", 3, &n);
    ck_assert_str_eq(s, "");
    ck_assert_uint_eq(n, 0);
    free(s);
}
END_TEST

Suite *suite_util_term(void);
Suite *suite_util_term(void)
{
    Suite *s = suite_create("util/term");
    TCase *tc = tcase_create("term");
    tcase_add_test(tc, controls_become_question_marks);
    tcase_add_test(tc, utf8_kept_c1_and_bad_bytes_masked);
    tcase_add_test(tc, at_most_max_characters);
    suite_add_tcase(s, tc);
    return s;
}
