/*
 * ipnet.h — IP address parsing, formatting and CIDR matching.
 *
 * Used by geo (local addresses have no country), the store, the API's input
 * validation and the alerts (excluded IPs). Nothing here allocates; every
 * function works on caller-owned fixed-size structs.
 *
 * An address is IPv4 or IPv6. IPv4-mapped IPv6 text ("::ffff:192.0.2.1") is
 * parsed as the IPv4 address it carries, so one address has one form and an
 * IPv4 list entry matches it. IPv4 and IPv6 never match each other otherwise.
 */
#ifndef MAILLOG_UTIL_IPNET_H
#define MAILLOG_UTIL_IPNET_H

#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest canonical text ip_format() writes, with the NUL (INET6_ADDRSTRLEN). */
#define IP_TEXT_MAX 46

struct ip_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* network order; IPv4 in bytes[0..3], the rest zero */
};

/* Parses text[0..len) (not necessarily NUL-terminated). Accepts dotted IPv4,
 * IPv6, either inside "[...]", and "::ffff:a.b.c.d" (→ AF_INET). Rejects
 * IPv6 zone ids ("fe80::1%eth0"), surrounding spaces, anything else.
 * Returns 0, or -1 when the text is not an IP address. */
int ip_parse(const char *text, size_t len, struct ip_addr *out);

/* Canonical text (inet_ntop form) into out[size]; 0, or -1 if it does not fit. */
int ip_format(const struct ip_addr *ip, char *out, size_t size);

/* ip_parse + ip_format: "2001:DB8:0::1" → "2001:db8::1"; -1 if not an IP. */
int ip_normalize(const char *text, size_t len, char *out, size_t size);

/* True for addresses that are not on the public Internet: unspecified,
 * loopback (127/8, ::1), RFC 1918, link-local (169.254/16, fe80::/10),
 * CGNAT 100.64/10, 0/8, IPv6 ULA fc00::/7. The documentation ranges
 * (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32) are NOT local:
 * tests use them as public addresses. */
bool ip_is_local(const struct ip_addr *ip);

struct cidr {
    struct ip_addr net; /* host bits zero */
    unsigned prefix;    /* 0..32 for AF_INET, 0..128 for AF_INET6 */
};

/* Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (= /32, /128).
 * Host bits set ("192.0.2.1/24"), a bad prefix or a bad address give -1 and
 * an explanation in e naming the value. An IPv4-mapped network
 * ("::ffff:192.0.2.0/120") becomes the IPv4 network. */
int cidr_parse(const char *text, size_t len, struct cidr *out, struct err *e);

/* True when ip lies inside c (same family only). */
bool cidr_match(const struct cidr *c, const struct ip_addr *ip);

#define CIDR_LIST_MAX 1024

/* A fixed-size list (about 21 KiB): keep it on the heap or in a long-lived
 * struct rather than on a small stack. */
struct cidr_list {
    struct cidr items[CIDR_LIST_MAX];
    size_t count;
};

/* Parses a comma and/or whitespace separated list; empty text (or only
 * separators) is the empty list. More than CIDR_LIST_MAX entries, or any bad
 * entry, gives -1 with e naming it. out is reset first. */
int cidr_list_parse(const char *text, struct cidr_list *out, struct err *e);

/* True when any entry of list contains ip. */
bool cidr_list_match(const struct cidr_list *list, const struct ip_addr *ip);

#endif
