/* test_mailmsg.c — alert mail composition: QP line lengths and round trip,
 * RFC 2047 subjects, cleaning and escaping of untrusted text, headers. */
#include "alert/mailmsg.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Decodes quoted-printable (soft breaks, =XX, CRLF → LF) for round trips. */
static char *qp_decode(const char *in)
{
    char *out = malloc(strlen(in) + 1);
    size_t o = 0;

    for (size_t i = 0; in[i]; i++) {
        if (in[i] == '=' && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 2;
        } else if (in[i] == '=') {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else if (in[i] == '\r' && in[i + 1] == '\n') {
            out[o++] = '\n';
            i++;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
    return out;
}

static size_t b64_decode(const char *in, size_t n, unsigned char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0, bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n && in[i] != '='; i++) {
        v = (v << 6) | (unsigned)(strchr(tab, in[i]) - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return o;
}

static void assert_lines_at_most(const char *s, size_t max)
{
    const char *line = s;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            ck_assert_msg(p > s && p[-1] == '\r', "bare LF");
            ck_assert_uint_le((size_t)(p - line), max + 1);
            line = p + 1;
        }
    }
}

START_TEST(qp_round_trips_and_bounds_lines)
{
    struct mbuf b = {0};
    char in[600];
    size_t n = 0;
    const char *chunk = "Zürich = ünusual ";
    char *dec;

    while (n + strlen(chunk) < 400) {
        memcpy(in + n, chunk, strlen(chunk));
        n += strlen(chunk);
    }
    memcpy(in + n, "\n.leading dot\nFrom here\ntrailing space \n", 40);
    n += 40;
    in[n] = '\0';
    mail_qp_encode(&b, in, n);
    assert_lines_at_most(b.data, 76);
    ck_assert_ptr_null(strstr(b.data, "\r\n.")); /* dot-stuffing never needed */
    ck_assert_ptr_null(strstr(b.data, "\r\nFrom "));
    ck_assert_ptr_null(strstr(b.data, " \r\n"));
    for (size_t i = 0; i < b.len; i++)
        ck_assert_int_lt((unsigned char)b.data[i], 127);
    dec = qp_decode(b.data);
    ck_assert_str_eq(dec, in);
    free(dec);
    mbuf_free(&b);
}
END_TEST

START_TEST(subject_plain_ascii_stays_plain)
{
    struct mbuf b = {0};
    mail_subject_header(&b, "Suspicious logins on example.com");
    ck_assert_str_eq(b.data, "Subject: Suspicious logins on example.com\r\n");
    mbuf_free(&b);
}
END_TEST

START_TEST(subject_utf8_is_encoded_in_words_on_char_boundaries)
{
    struct mbuf b = {0};
    /* 30 × "é–" = 150 bytes of multi-byte characters */
    char subject[200] = "Logins ";
    for (int i = 0; i < 30; i++)
        strcat(subject, "\xc3\xa9\xe2\x80\x93");
    mail_subject_header(&b, subject);
    ck_assert(strncmp(b.data, "Subject: =?UTF-8?B?", 19) == 0);
    assert_lines_at_most(b.data, 78);
    /* every encoded word ≤ 75 chars, every decoded word valid on its own */
    for (const char *w = strstr(b.data, "=?"); w; w = strstr(w + 2, "=?UTF")) {
        const char *end = strstr(w, "?=");
        ck_assert_ptr_nonnull(end);
        ck_assert_uint_le((size_t)(end + 2 - w), 75);
        /* each word decodes to whole UTF-8 characters: it never starts or
         * ends inside one */
        {
            unsigned char dec[64];
            size_t n = b64_decode(w + 10, (size_t)(end - (w + 10)), dec);
            ck_assert_uint_gt(n, 0);
            ck_assert_msg((dec[0] & 0xC0) != 0x80, "word starts inside a character");
            ck_assert_msg(dec[n - 1] < 0x80 || dec[n - 1] == 0xA9 || dec[n - 1] == 0x93,
                          "word ends inside a character");
        }
    }
    mbuf_free(&b);
}
END_TEST

START_TEST(clean_and_html_escape_untrusted_text)
{
    struct mbuf b = {0};
    mbuf_put_clean(&b, "a\r\nb\x1b[31m\xff\xc3(\xe2\x80\xaeZ\xc3\xa9", 64);
    ck_assert_str_eq(b.data, "a??b?[31m?"
                             "?(?Z\xc3\xa9");
    b.len = 0;
    mbuf_put_html(&b, "<script>alert('x')</script>&\"", 64);
    ck_assert_str_eq(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
    mbuf_free(&b);
}
END_TEST

START_TEST(addresses_with_header_injection_are_refused)
{
    ck_assert(mail_addr_ok("owner@example.com"));
    ck_assert(!mail_addr_ok("owner@example.com\r\nBcc: x@evil.test"));
    ck_assert(!mail_addr_ok("a@b@c"));
    ck_assert(!mail_addr_ok("<a@b>"));
    ck_assert(!mail_addr_ok("no-at-sign"));
    ck_assert(!mail_addr_ok(""));
}
END_TEST

START_TEST(compose_has_the_headers_and_both_parts)
{
    struct mbuf b = {0};
    struct err e;
    struct mail_head h = {"mail-log@host.example", "owner@example.com", "Test \xe2\x80\x93 report",
                          1764082800};
    const char *sep;

    ck_assert_int_eq(mail_compose(&h, "plain text\n", "<p>html</p>\n", &b, &e), 0);
    sep = strstr(b.data, "\r\n\r\n");
    ck_assert_ptr_nonnull(sep);
    ck_assert_ptr_nonnull(strstr(b.data, "Date: Tue, 25 Nov 2025 15:00:00 +0000\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\r\nMessage-ID: <"));
    ck_assert_ptr_nonnull(strstr(b.data, "@host.example>\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "To: <owner@example.com>\r\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "Subject: =?UTF-8?B?"));
    ck_assert_ptr_nonnull(strstr(b.data, "Content-Type: text/plain; charset=UTF-8"));
    ck_assert_ptr_nonnull(strstr(b.data, "Content-Type: text/html; charset=UTF-8"));
    ck_assert_ptr_nonnull(strstr(b.data, "plain text\r\n"));
    assert_lines_at_most(b.data, 78);
    h.to = "x@y\nBcc: z@w";
    ck_assert_int_eq(mail_compose(&h, "t", "h", &b, &e), -1);
    mbuf_free(&b);
}
END_TEST

Suite *suite_alert_mailmsg(void);
Suite *suite_alert_mailmsg(void)
{
    Suite *s = suite_create("alert/mailmsg");
    TCase *tc = tcase_create("mailmsg");
    tcase_add_test(tc, qp_round_trips_and_bounds_lines);
    tcase_add_test(tc, subject_plain_ascii_stays_plain);
    tcase_add_test(tc, subject_utf8_is_encoded_in_words_on_char_boundaries);
    tcase_add_test(tc, clean_and_html_escape_untrusted_text);
    tcase_add_test(tc, addresses_with_header_injection_are_refused);
    tcase_add_test(tc, compose_has_the_headers_and_both_parts);
    suite_add_tcase(s, tc);
    return s;
}
