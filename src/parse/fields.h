/*
 * fields.h — small scanners shared by the family parsers: queue ids,
 * "host[ip]" clients, "<address>" values and "key=value" lists. Each takes a
 * cursor slice, advances it past what it consumed, and reports success, so a
 * parser reads like the log line it expects.
 */
#ifndef MAILLOG_PARSE_FIELDS_H
#define MAILLOG_PARSE_FIELDS_H

#include "util/slice.h"

#include <stdbool.h>
#include <stdint.h>

/* "QID: " at the start of *s: sets qid, advances past ": ". */
bool take_queue_id(struct slice *s, struct slice *qid);

/* Literal prefix: advances past it when present. Inline so that the length
 * of a literal prefix is known at compile time. */
static inline bool take_prefix(struct slice *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (s->len < n || memcmp(s->ptr, prefix, n) != 0)
        return false;
    *s = slice_skip(*s, n);
    return true;
}

/* "host[ip]" (optionally followed by ":port"): advances past it. */
bool take_client(struct slice *s, struct slice *host, struct slice *ip);

/* "<addr>" ending at a '>' that is followed by end, ' ', ',' ';' or ':'; the
 * brackets are not part of addr. Also accepts a bare word up to ',' or ' '. */
bool take_angle(struct slice *s, struct slice *addr);

/* Finds " key=" / ", key=" / "key=" at the start, and returns the value up
 * to the next ", " (or end). Searches the whole slice; does not advance. */
bool find_field(struct slice s, const char *key, struct slice *value);

/* Like find_field for "<…>" values (key given without '=<'). */
bool find_angle_field(struct slice s, const char *key, struct slice *value);

/* Decimal integer / non-negative decimal number; -1 when not a number. */
int64_t slice_to_int(struct slice s);
double slice_to_seconds(struct slice s);

#endif
