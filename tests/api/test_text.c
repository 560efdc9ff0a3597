/* test_text.c — UTF-8 validation, percent-decoding, domain names, lossy JSON
 * strings, SHA-256/HMAC (published test vectors) and the CSV writer. */
#include "api/csv.h"
#include "api/sha256.h"
#include "api/text.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid(const char *s)
{
    return utf8_valid(s, strlen(s));
}

START_TEST(utf8_accepts_well_formed_text)
{
    ck_assert(valid("plain ascii"));
    ck_assert(valid("M\xc3\xbcller"));    /* ü */
    ck_assert(valid("\xe2\x82\xac"));     /* € */
    ck_assert(valid("\xf0\x9f\x98\x80")); /* U+1F600 */
    ck_assert(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    ck_assert(valid("tab\there"));
    ck_assert(valid(""));
}
END_TEST

START_TEST(utf8_rejects_malformed_and_controls)
{
    ck_assert(!valid("\xc0\xaf"));         /* overlong '/' */
    ck_assert(!valid("\xe0\x80\xaf"));     /* overlong */
    ck_assert(!valid("\xed\xa0\x80"));     /* surrogate D800 */
    ck_assert(!valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
    ck_assert(!valid("\xf5\x80\x80\x80"));
    ck_assert(!valid("\x80"));      /* lone continuation */
    ck_assert(!valid("\xc3"));      /* truncated */
    ck_assert(!valid("a\xe2\x82")); /* truncated at end */
    ck_assert(!valid("\xff"));
    ck_assert(!valid("line\nbreak"));
    ck_assert(!valid("cr\r"));
    ck_assert(!valid("esc\x1b[31m"));
    ck_assert(!valid("del\x7f"));
    ck_assert(!utf8_valid("nul\0x", 5));
}
END_TEST

START_TEST(pct_decode_decodes_and_bounds)
{
    char out[16];

    ck_assert_int_eq(pct_decode("a%20b+c", 7, out, sizeof out), 5);
    ck_assert_str_eq(out, "a b c");
    ck_assert_int_eq(pct_decode("%41%6a%2B", 9, out, sizeof out), 3);
    ck_assert_str_eq(out, "Aj+");
    ck_assert_int_eq(pct_decode("%00", 3, out, sizeof out), 1); /* decoded; utf8_valid rejects */
    ck_assert_int_eq(pct_decode("%", 1, out, sizeof out), -1);
    ck_assert_int_eq(pct_decode("%4", 2, out, sizeof out), -1);
    ck_assert_int_eq(pct_decode("%zz", 3, out, sizeof out), -1);
    ck_assert_int_eq(pct_decode("abc%4", 5, out, sizeof out), -1);
    ck_assert_int_eq(pct_decode("0123456789abcdef", 16, out, sizeof out), -1); /* no room for NUL */
    ck_assert_int_eq(pct_decode("", 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

static int dom(const char *s, char out[DOMAIN_MAX + 1])
{
    return domain_normalize(s, strlen(s), out);
}

START_TEST(domain_names_are_checked_and_lowercased)
{
    char out[DOMAIN_MAX + 1], big[300];

    ck_assert_int_eq(dom("Example.COM", out), 0);
    ck_assert_str_eq(out, "example.com");
    ck_assert_int_eq(dom("xn--mller-kva.de", out), 0);
    ck_assert_int_eq(dom("a-b.c0", out), 0);
    ck_assert_int_eq(dom("localhost", out), 0);
    ck_assert_int_eq(dom("", out), -1);
    ck_assert_int_eq(dom(".example.com", out), -1);
    ck_assert_int_eq(dom("example.com.", out), -1);
    ck_assert_int_eq(dom("exa..mple", out), -1);
    ck_assert_int_eq(dom("-a.com", out), -1);
    ck_assert_int_eq(dom("a-.com", out), -1);
    ck_assert_int_eq(dom("a_b.com", out), -1);
    ck_assert_int_eq(dom("x' OR '1'='1", out), -1);
    ck_assert_int_eq(dom("ex%61mple.com", out), -1);
    ck_assert_int_eq(dom("m\xc3\xbcller.de", out), -1);
    memset(big, 'a', 64);
    strcpy(big + 64, ".com");
    ck_assert_int_eq(dom(big, out), -1); /* label of 64 */
    for (int i = 0; i < 300; i += 2)
        big[i] = 'a', big[i + 1] = '.';
    big[253] = '\0';
    ck_assert_int_eq(dom(big, out), 0); /* 253 = the maximum */
    big[253] = 'a';
    big[254] = '\0';
    ck_assert_int_eq(dom(big, out), -1);
}
END_TEST

START_TEST(json_text_replaces_invalid_bytes)
{
    json_t *j = api_json_text("a\xff"
                              "b\xc3\xbc\xed\xa0\x80");
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(j), "a\xef\xbf\xbd"
                                           "b\xc3\xbc\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    j = api_json_text("ctl\x01");
    ck_assert_str_eq(json_string_value(j), "ctl\x01"); /* kept: JSON escapes it */
    json_decref(j);
    j = api_json_text(NULL);
    ck_assert_str_eq(json_string_value(j), "");
    json_decref(j);
}
END_TEST

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

START_TEST(sha256_matches_fips_vectors)
{
    unsigned char d[SHA256_LEN];
    char h[65];
    struct sha256 c;
    char million[1000];

    sha256_init(&c);
    sha256_update(&c, "abc", 3);
    sha256_final(&c, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_init(&c);
    sha256_update(&c, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
    sha256_final(&c, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(million, 'a', sizeof million);
    sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        sha256_update(&c, million, sizeof million);
    sha256_final(&c, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(hmac_sha256_matches_rfc4231)
{
    unsigned char key[131], d[SHA256_LEN];
    char h[65];

    memset(key, 0x0b, 20);
    hmac_sha256(key, 20, "Hi There", 8, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof key); /* test case 6: a key longer than the block */
    hmac_sha256(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
    hex(d, sizeof d, h);
    ck_assert_str_eq(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

static char *csv_of(const char *const *fields, size_t n)
{
    struct buf b;
    char *s;

    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(csv_field(&b, fields[i], i == 0), 0);
    ck_assert_int_eq(csv_end_row(&b), 0);
    s = strndup(b.data, b.len);
    buf_free(&b);
    return s;
}

START_TEST(csv_quotes_and_guards_formulas)
{
    const char *const plain[] = {"a", "b c", ""};
    const char *const special[] = {"x,y", "say \"hi\"", "two\nlines", "cr\rx"};
    const char *const formulas[] = {"=1+1", "+49 30", "-2", "@SUM(A1)", "\tx", "a=b"};
    const char *const bad[] = {"\xff"};
    char *s;

    s = csv_of(plain, 3);
    ck_assert_str_eq(s, "a,b c,\r\n");
    free(s);
    s = csv_of(special, 4);
    ck_assert_str_eq(s, "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rx\"\r\n");
    free(s);
    s = csv_of(formulas, 6);
    ck_assert_str_eq(s, "'=1+1,'+49 30,'-2,'@SUM(A1),'\tx,a=b\r\n");
    free(s);
    s = csv_of(bad, 1);
    ck_assert_str_eq(s, "\xef\xbf\xbd\r\n");
    free(s);
}
END_TEST

START_TEST(buf_refuses_to_pass_its_bound)
{
    struct buf b;

    buf_init(&b, 10);
    ck_assert_int_eq(buf_add(&b, "0123456789", 10), 0);
    ck_assert_int_eq(buf_add(&b, "x", 1), -1);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_int_eq(csv_field(&b, "y", false), -1);
    buf_free(&b);
}
END_TEST

Suite *suite_api_text(void);
Suite *suite_api_text(void)
{
    Suite *s = suite_create("api/text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, utf8_accepts_well_formed_text);
    tcase_add_test(tc, utf8_rejects_malformed_and_controls);
    tcase_add_test(tc, pct_decode_decodes_and_bounds);
    tcase_add_test(tc, domain_names_are_checked_and_lowercased);
    tcase_add_test(tc, json_text_replaces_invalid_bytes);
    tcase_add_test(tc, sha256_matches_fips_vectors);
    tcase_add_test(tc, hmac_sha256_matches_rfc4231);
    tcase_add_test(tc, csv_quotes_and_guards_formulas);
    tcase_add_test(tc, buf_refuses_to_pass_its_bound);
    suite_add_tcase(s, tc);
    return s;
}
