/* test_ipnet.c — IP parsing/formatting, local ranges, CIDR parsing and lists. */
#include "util/ipnet.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct ip_addr must_parse(const char *text)
{
    struct ip_addr ip;
    ck_assert_msg(ip_parse(text, strlen(text), &ip) == 0, "'%s' should parse", text);
    return ip;
}

static bool parses(const char *text)
{
    struct ip_addr ip;
    return ip_parse(text, strlen(text), &ip) == 0;
}

static struct cidr must_cidr(const char *text)
{
    struct cidr c;
    struct err e = {{0}};
    ck_assert_msg(cidr_parse(text, strlen(text), &c, &e) == 0, "'%s': %s", text, e.text);
    return c;
}

START_TEST(parses_ipv4_bytes)
{
    struct ip_addr ip = must_parse("192.0.2.33");
    ck_assert_int_eq(ip.family, AF_INET);
    ck_assert_int_eq(ip.bytes[0], 192);
    ck_assert_int_eq(ip.bytes[1], 0);
    ck_assert_int_eq(ip.bytes[2], 2);
    ck_assert_int_eq(ip.bytes[3], 33);
    for (int i = 4; i < 16; i++)
        ck_assert_int_eq(ip.bytes[i], 0);
}
END_TEST

START_TEST(parses_ipv6_and_brackets)
{
    struct ip_addr a = must_parse("2001:db8::1");
    struct ip_addr b = must_parse("[2001:0DB8:0:0:0:0:0:0001]");
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert_int_eq(a.bytes[0], 0x20);
    ck_assert_int_eq(a.bytes[1], 0x01);
    ck_assert_int_eq(a.bytes[2], 0x0d);
    ck_assert_int_eq(a.bytes[3], 0xb8);
    ck_assert_int_eq(a.bytes[15], 1);
    ck_assert_mem_eq(&a, &b, sizeof a);
    struct ip_addr v4 = must_parse("[198.51.100.2]");
    ck_assert_int_eq(v4.family, AF_INET);
    ck_assert_int_eq(v4.bytes[3], 2);
}
END_TEST

START_TEST(mapped_ipv6_becomes_ipv4)
{
    struct ip_addr m = must_parse("::ffff:203.0.113.9");
    struct ip_addr plain = must_parse("203.0.113.9");
    ck_assert_int_eq(m.family, AF_INET);
    ck_assert_mem_eq(&m, &plain, sizeof m);
    struct ip_addr hex = must_parse("[::FFFF:cb00:7109]"); /* same address in hex */
    ck_assert_mem_eq(&hex, &plain, sizeof m);
    /* ::203.0.113.9 (IPv4-compatible, deprecated) is not mapped: stays IPv6. */
    ck_assert_int_eq(must_parse("::203.0.113.9").family, AF_INET6);
}
END_TEST

START_TEST(length_is_respected)
{
    struct ip_addr ip;
    const char *text = "192.0.2.1234"; /* only the first 9 characters are the IP */
    ck_assert_int_eq(ip_parse(text, 9, &ip), 0);
    ck_assert_int_eq(ip.bytes[3], 1);
    ck_assert_int_eq(ip_parse(text, strlen(text), &ip), -1);
    ck_assert_int_eq(ip_parse("192.0.2.1", 0, &ip), -1);
}
END_TEST

START_TEST(rejects_garbage)
{
    static const char *bad[] = {
        "",
        "[]",
        "[",
        "]",
        "localhost",
        "192.0.2",
        "192.0.2.256",
        "192.0.2.1.5",
        "01.2.3.4",
        " 192.0.2.1",
        "192.0.2.1 ",
        "192.0.2.-1",
        "2001:db8::1::2",
        "2001:db8:::1",
        "fe80::1%eth0",
        "[fe80::1%25eth0]",
        "[2001:db8::1",
        "2001:db8::1]",
        "12345::",
        "1:2:3:4:5:6:7:8:9",
        "::ffff:192.0.2.300",
        "0x7f.0.0.1",
        "unknown",
        "192.0.2.1/24",
        "gggg::1",
        "0000000000000000000000000000000000000000000000000000000000000000000000::1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!parses(bad[i]), "'%s' must not parse", bad[i]);
    struct ip_addr ip;
    ck_assert_int_eq(ip_parse("192.0\0.2.1", 10, &ip), -1); /* embedded NUL */
}
END_TEST

START_TEST(format_and_normalize_are_canonical)
{
    char out[IP_TEXT_MAX];
    ck_assert_int_eq(ip_normalize("2001:DB8:0:0::0:1", 17, out, sizeof out), 0);
    ck_assert_str_eq(out, "2001:db8::1");
    ck_assert_int_eq(ip_normalize("[::ffff:192.0.2.7]", 18, out, sizeof out), 0);
    ck_assert_str_eq(out, "192.0.2.7");
    ck_assert_int_eq(ip_normalize("nope", 4, out, sizeof out), -1);
    /* Too small a buffer is an error, not a truncated address. */
    struct ip_addr ip = must_parse("198.51.100.200");
    char small[8];
    ck_assert_int_eq(ip_format(&ip, small, sizeof small), -1);
    ck_assert_int_eq(ip_format(&ip, out, sizeof out), 0);
    ck_assert_str_eq(out, "198.51.100.200");
    /* Every byte round-trips through format → parse. */
    struct ip_addr v6 = must_parse("fd12:3456:789a:1::ffee");
    ck_assert_int_eq(ip_format(&v6, out, sizeof out), 0);
    struct ip_addr back = must_parse(out);
    ck_assert_mem_eq(&back, &v6, sizeof v6);
}
END_TEST

START_TEST(local_ranges)
{
    static const char *local[] = {
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "10.255.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "192.168.255.255",
        "169.254.1.1",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "::",
        "::1",
        "fc00::1",
        "fd00:1::2",
        "fe80::1",
        "febf:ffff::1",
        "::ffff:10.1.2.3",
        "[::1]",
    };
    static const char *public[] = {
        "192.0.2.1",      "198.51.100.1",
        "203.0.113.1",    "2001:db8::1",
        "8.8.8.8",        "172.15.255.255",
        "172.32.0.0",     "192.169.0.1",
        "100.63.255.255", "100.128.0.0",
        "11.0.0.1",       "126.255.255.255",
        "128.0.0.1",      "169.253.255.255",
        "fe00::1",        "fec0::1",
        "fbff::1",        "::2",
        "2a00:1450::1",   "::ffff:198.51.100.1",
    };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        struct ip_addr ip = must_parse(local[i]);
        ck_assert_msg(ip_is_local(&ip), "%s should be local", local[i]);
    }
    for (size_t i = 0; i < sizeof public / sizeof public[0]; i++) {
        struct ip_addr ip = must_parse(public[i]);
        ck_assert_msg(!ip_is_local(&ip), "%s should not be local", public[i]);
    }
}
END_TEST

START_TEST(cidr_edges)
{
    struct cidr c = must_cidr("0.0.0.0/0");
    ck_assert_uint_eq(c.prefix, 0);
    struct ip_addr any4 = must_parse("255.1.2.3");
    struct ip_addr any6 = must_parse("2001:db8::1");
    ck_assert(cidr_match(&c, &any4));
    ck_assert(!cidr_match(&c, &any6)); /* /0 of IPv4 is all of IPv4 only */

    c = must_cidr("::/0");
    ck_assert(cidr_match(&c, &any6));
    ck_assert(!cidr_match(&c, &any4));

    c = must_cidr("192.0.2.7/32");
    struct ip_addr same = must_parse("192.0.2.7"), next = must_parse("192.0.2.6");
    ck_assert(cidr_match(&c, &same));
    ck_assert(!cidr_match(&c, &next));

    c = must_cidr("198.51.100.9"); /* bare address = /32 */
    ck_assert_uint_eq(c.prefix, 32);
    c = must_cidr("2001:db8::5"); /* bare address = /128 */
    ck_assert_uint_eq(c.prefix, 128);
    struct ip_addr five = must_parse("2001:db8::5"), four = must_parse("2001:db8::4");
    ck_assert(cidr_match(&c, &five));
    ck_assert(!cidr_match(&c, &four));

    c = must_cidr("2001:db8::/32");
    struct ip_addr in = must_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
    struct ip_addr out = must_parse("2001:db9::");
    ck_assert(cidr_match(&c, &in));
    ck_assert(!cidr_match(&c, &out));

    /* An odd prefix: 203.0.113.128/25 holds .128-.255 and not .127. */
    c = must_cidr("203.0.113.128/25");
    struct ip_addr hi = must_parse("203.0.113.255"), lo = must_parse("203.0.113.127");
    ck_assert(cidr_match(&c, &hi));
    ck_assert(!cidr_match(&c, &lo));

    /* An IPv4-mapped network is the IPv4 network. */
    c = must_cidr("::ffff:192.0.2.0/120");
    ck_assert_int_eq(c.net.family, AF_INET);
    ck_assert_uint_eq(c.prefix, 24);
    struct ip_addr v4 = must_parse("192.0.2.200");
    ck_assert(cidr_match(&c, &v4));
    c = must_cidr("[2001:db8::]/48");
    ck_assert_uint_eq(c.prefix, 48);
}
END_TEST

START_TEST(cidr_errors_name_the_value)
{
    static const char *bad[] = {
        "192.0.2.1/24",
        "192.0.2.0/33",
        "2001:db8::/129",
        "192.0.2.0/",
        "192.0.2.0/x",
        "192.0.2.0/-1",
        "192.0.2.0/024",
        "example.com/24",
        "/24",
        "",
        "2001:db8::1/32",
        "::ffff:192.0.2.0/64",
        "0.0.0.1/0",
        "192.0.2.0/24/24",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cidr c;
        struct err e = {{0}};
        ck_assert_msg(cidr_parse(bad[i], strlen(bad[i]), &c, &e) == -1, "'%s' must fail", bad[i]);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        ck_assert_msg(strstr(e.text, quoted) != NULL, "message '%s' names %s", e.text, quoted);
    }
    struct cidr c;
    struct err e = {{0}};
    cidr_parse("192.0.2.1/24", 12, &c, &e);
    ck_assert_msg(strstr(e.text, "host bits") != NULL, "%s", e.text);
}
END_TEST

START_TEST(list_parsing)
{
    struct cidr_list *list = malloc(sizeof *list);
    struct err e = {{0}};
    ck_assert_ptr_nonnull(list);

    ck_assert_int_eq(cidr_list_parse("", list, &e), 0);
    ck_assert_uint_eq(list->count, 0);
    ck_assert_int_eq(cidr_list_parse(" ,, \n\t ", list, &e), 0);
    ck_assert_uint_eq(list->count, 0);

    ck_assert_int_eq(
        cidr_list_parse("192.0.2.1, 198.51.100.0/24,2001:db8::/32\n203.0.113.5", list, &e), 0);
    ck_assert_uint_eq(list->count, 4);
    ck_assert_uint_eq(list->items[0].prefix, 32);
    ck_assert_uint_eq(list->items[1].prefix, 24);
    ck_assert_int_eq(list->items[2].net.family, AF_INET6);
    ck_assert_uint_eq(list->items[2].prefix, 32);

    /* A bad entry fails the list, names the entry, and leaves it empty. */
    ck_assert_int_eq(cidr_list_parse("192.0.2.1, 10.0.0.300, 198.51.100.1", list, &e), -1);
    ck_assert_msg(strstr(e.text, "'10.0.0.300'") != NULL, "%s", e.text);
    ck_assert_uint_eq(list->count, 0);
    free(list);
}
END_TEST

START_TEST(list_limit)
{
    struct cidr_list *list = malloc(sizeof *list);
    size_t size = (CIDR_LIST_MAX + 1) * 16 + 1;
    char *text = malloc(size);
    struct err e = {{0}};
    size_t used = 0;
    ck_assert_ptr_nonnull(list);
    ck_assert_ptr_nonnull(text);

    for (int i = 0; i < CIDR_LIST_MAX; i++)
        used += (size_t)snprintf(text + used, size - used, "10.%d.%d.0/24,", i / 256, i % 256);
    ck_assert_int_eq(cidr_list_parse(text, list, &e), 0);
    ck_assert_uint_eq(list->count, CIDR_LIST_MAX);
    struct ip_addr last = must_parse("10.3.255.77"); /* entry 1023 */
    ck_assert(cidr_list_match(list, &last));

    snprintf(text + used, size - used, "192.0.2.1");
    ck_assert_int_eq(cidr_list_parse(text, list, &e), -1);
    ck_assert_msg(strstr(e.text, "1024") != NULL, "%s", e.text);
    free(text);
    free(list);
}
END_TEST

START_TEST(list_matching_never_crosses_families)
{
    struct cidr_list *list = malloc(sizeof *list);
    struct err e = {{0}};
    ck_assert_ptr_nonnull(list);

    ck_assert_int_eq(cidr_list_parse("0.0.0.0/0", list, &e), 0);
    struct ip_addr v6zero = must_parse("::"), v6 = must_parse("2001:db8::1");
    struct ip_addr v4 = must_parse("192.0.2.1"), mapped = must_parse("::ffff:192.0.2.1");
    ck_assert(!cidr_list_match(list, &v6zero));
    ck_assert(!cidr_list_match(list, &v6));
    ck_assert(cidr_list_match(list, &v4));
    ck_assert(cidr_list_match(list, &mapped)); /* mapped is IPv4 */

    /* ::/96 holds the bytes of every IPv4 address in an IPv6 layout, but an
     * IPv4 address is not inside it. */
    ck_assert_int_eq(cidr_list_parse("::/96 2001:db8::/32", list, &e), 0);
    ck_assert(!cidr_list_match(list, &v4));
    ck_assert(cidr_list_match(list, &v6));
    struct ip_addr other = must_parse("2001:db9::1");
    ck_assert(!cidr_list_match(list, &other));

    ck_assert_int_eq(cidr_list_parse("", list, &e), 0);
    ck_assert(!cidr_list_match(list, &v4));
    free(list);
}
END_TEST

Suite *suite_util_ipnet(void);
Suite *suite_util_ipnet(void)
{
    Suite *s = suite_create("util/ipnet");
    TCase *tc = tcase_create("ipnet");
    tcase_add_test(tc, parses_ipv4_bytes);
    tcase_add_test(tc, parses_ipv6_and_brackets);
    tcase_add_test(tc, mapped_ipv6_becomes_ipv4);
    tcase_add_test(tc, length_is_respected);
    tcase_add_test(tc, rejects_garbage);
    tcase_add_test(tc, format_and_normalize_are_canonical);
    tcase_add_test(tc, local_ranges);
    tcase_add_test(tc, cidr_edges);
    tcase_add_test(tc, cidr_errors_name_the_value);
    tcase_add_test(tc, list_parsing);
    tcase_add_test(tc, list_limit);
    tcase_add_test(tc, list_matching_never_crosses_families);
    suite_add_tcase(s, tc);
    return s;
}
