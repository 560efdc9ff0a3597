/*
 * ipnet.c — IP address parsing/formatting and CIDR matching (see ipnet.h).
 *
 * Parsing copies the text into a bounded local buffer and hands it to
 * inet_pton(), which is strict (dotted quad, no leading zeros, no zone ids).
 * IPv4-mapped IPv6 addresses are folded to IPv4 so each address has one form.
 */
#include "util/ipnet.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Longest address text we accept, brackets included. */
#define IP_INPUT_MAX 64
/* Longest list entry ("ffff:…/128" plus slack) we accept. */
#define CIDR_TEXT_MAX 80

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int ip_parse(const char *text, size_t len, struct ip_addr *out)
{
    char buf[IP_INPUT_MAX];
    uint8_t raw[16];

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) /* embedded NUL: not an address */
        return -1;

    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, raw) == 1) {
        out->family = AF_INET;
        memcpy(out->bytes, raw, 4);
        return 0;
    }
    if (inet_pton(AF_INET6, buf, raw) == 1) {
        if (memcmp(raw, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
            out->family = AF_INET;
            memcpy(out->bytes, raw + 12, 4);
        } else {
            out->family = AF_INET6;
            memcpy(out->bytes, raw, 16);
        }
        return 0;
    }
    return -1;
}

int ip_format(const struct ip_addr *ip, char *out, size_t size)
{
    if (size == 0 || (ip->family != AF_INET && ip->family != AF_INET6))
        return -1;
    if (size > (size_t)IP_TEXT_MAX * 2)
        size = (size_t)IP_TEXT_MAX * 2; /* socklen_t is an int */
    if (inet_ntop(ip->family, ip->bytes, out, (socklen_t)size) == NULL) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int ip_normalize(const char *text, size_t len, char *out, size_t size)
{
    struct ip_addr ip;

    if (ip_parse(text, len, &ip) < 0)
        return -1;
    return ip_format(&ip, out, size);
}

/* True when the first `bits` bits of a and b are equal. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

struct local_net {
    uint8_t bytes[16];
    unsigned prefix;
};

static const struct local_net local_v4[] = {
    {{0}, 8},                   /* 0.0.0.0/8 "this network", incl. unspecified */
    {{10}, 8},                  /* RFC 1918 */
    {{100, 64}, 10},            /* CGNAT, RFC 6598 */
    {{127}, 8},                 /* loopback */
    {{169, 254}, 16},           /* link-local */
    {{172, 16}, 12},            /* RFC 1918 */
    {{192, 168}, 16},           /* RFC 1918 */
    {{255, 255, 255, 255}, 32}, /* limited broadcast */
};

static const struct local_net local_v6[] = {
    {{0}, 128},                                              /* :: unspecified */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}, /* ::1 loopback */
    {{0xfc}, 7},                                             /* ULA fc00::/7 */
    {{0xfe, 0x80}, 10},                                      /* link-local fe80::/10 */
};

bool ip_is_local(const struct ip_addr *ip)
{
    const struct local_net *nets;
    size_t count;

    if (ip->family == AF_INET) {
        nets = local_v4;
        count = sizeof local_v4 / sizeof local_v4[0];
    } else if (ip->family == AF_INET6) {
        nets = local_v6;
        count = sizeof local_v6 / sizeof local_v6[0];
    } else {
        return false;
    }
    for (size_t i = 0; i < count; i++)
        if (prefix_equal(ip->bytes, nets[i].bytes, nets[i].prefix))
            return true;
    return false;
}

/* Parses the decimal prefix length text[0..len) into *out (≤ max). */
static int parse_prefix(const char *text, size_t len, unsigned max, unsigned *out)
{
    unsigned value = 0;

    if (len == 0 || len > 3)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (unsigned)(text[i] - '0');
    }
    if (len > 1 && text[0] == '0') /* "/024" is a typo, not a prefix */
        return -1;
    if (value > max)
        return -1;
    *out = value;
    return 0;
}

/* True when any bit after the first `prefix` bits of ip is set. */
static bool host_bits_set(const struct ip_addr *ip, unsigned prefix)
{
    unsigned total = ip->family == AF_INET ? 32 : 128;

    for (unsigned bit = prefix; bit < total; bit++)
        if (ip->bytes[bit / 8] & (0x80 >> (bit % 8)))
            return true;
    return false;
}

int cidr_parse(const char *text, size_t len, struct cidr *out, struct err *e)
{
    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash ? (size_t)(slash - text) : len;
    int shown = len > CIDR_TEXT_MAX ? CIDR_TEXT_MAX : (int)len;
    const char *dots = len > CIDR_TEXT_MAX ? "…" : "";
    bool mapped;

    memset(out, 0, sizeof *out);
    if (ip_parse(text, addr_len, &out->net) < 0)
        return err_set(e, "'%.*s%s': not an IP address or network", shown, text, dots);
    /* "::ffff:a.b.c.d" became IPv4: its prefix counts the 96 mapped bits. */
    mapped = out->net.family == AF_INET && memchr(text, ':', addr_len) != NULL;

    unsigned max = out->net.family == AF_INET && !mapped ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        const char *ptext = slash + 1;
        size_t plen = len - addr_len - 1;
        if (parse_prefix(ptext, plen, max, &prefix) < 0)
            return err_set(e, "'%.*s%s': prefix length must be 0..%u", shown, text, dots, max);
    }
    if (mapped) {
        if (prefix < 96)
            return err_set(e, "'%.*s%s': an IPv4-mapped network needs a prefix of 96..128", shown,
                           text, dots);
        prefix -= 96;
    }
    if (host_bits_set(&out->net, prefix))
        return err_set(e, "'%.*s%s': host bits set after the /%u prefix", shown, text, dots,
                       mapped ? prefix + 96 : prefix);
    out->prefix = prefix;
    return 0;
}

bool cidr_match(const struct cidr *c, const struct ip_addr *ip)
{
    return c->net.family == ip->family && prefix_equal(c->net.bytes, ip->bytes, c->prefix);
}

static bool is_separator(char ch)
{
    return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
           ch == '\v';
}

int cidr_list_parse(const char *text, struct cidr_list *out, struct err *e)
{
    const char *p = text;

    out->count = 0;
    for (;;) {
        while (*p != '\0' && is_separator(*p))
            p++;
        if (*p == '\0')
            return 0;
        const char *start = p;
        while (*p != '\0' && !is_separator(*p))
            p++;
        if (out->count == CIDR_LIST_MAX) {
            out->count = 0;
            return err_set(e, "more than %d addresses or networks in the list", CIDR_LIST_MAX);
        }
        if (cidr_parse(start, (size_t)(p - start), &out->items[out->count], e) < 0) {
            out->count = 0;
            return -1;
        }
        out->count++;
    }
}

bool cidr_list_match(const struct cidr_list *list, const struct ip_addr *ip)
{
    for (size_t i = 0; i < list->count; i++)
        if (cidr_match(&list->items[i], ip))
            return true;
    return false;
}
