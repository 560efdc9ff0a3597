/*
 * fields.c — the scanners declared in fields.h. They trust nothing: every
 * read is bounded by the slice, and odd input simply fails the match.
 */
#include "parse/fields.h"

#include <stdbool.h>

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool take_queue_id(struct slice *s, struct slice *qid)
{
    size_t i = 0;
    bool has_digit = false, all_hex_upper = true;

    while (i < s->len && i < 24 && is_alnum(s->ptr[i])) {
        char c = s->ptr[i];
        if (c >= '0' && c <= '9')
            has_digit = true;
        else if (!(c >= 'A' && c <= 'F'))
            all_hex_upper = false;
        i++;
    }
    /* Short ids are upper-case hex, long ids mix in digits; words such as
     * "warning" or "NOQUEUE" are neither. */
    if (i < 5 || i + 1 >= s->len || s->ptr[i] != ':' || s->ptr[i + 1] != ' ')
        return false;
    if (!has_digit && !(all_hex_upper && i >= 8))
        return false;
    *qid = slice_make(s->ptr, i);
    *s = slice_skip(*s, i + 2);
    return true;
}

bool take_client(struct slice *s, struct slice *host, struct slice *ip)
{
    const char *open = memchr(s->ptr, '[', s->len);
    const char *close;
    size_t used;

    if (open == NULL)
        return false;
    close = memchr(open, ']', s->len - (size_t)(open - s->ptr));
    if (close == NULL)
        return false;
    /* a host name has no spaces; anything else is not a client field */
    if (memchr(s->ptr, ' ', (size_t)(open - s->ptr)) != NULL)
        return false;
    *host = slice_make(s->ptr, (size_t)(open - s->ptr));
    *ip = slice_make(open + 1, (size_t)(close - open - 1));
    used = (size_t)(close + 1 - s->ptr);
    if (used < s->len && s->ptr[used] == ':') {
        size_t j = used + 1;
        while (j < s->len && s->ptr[j] >= '0' && s->ptr[j] <= '9')
            j++;
        if (j > used + 1)
            used = j;
    }
    *s = slice_skip(*s, used);
    return true;
}

static bool ends_value(const struct slice *s, size_t i)
{
    char c;
    if (i + 1 >= s->len)
        return true;
    c = s->ptr[i + 1];
    return c == ' ' || c == ',' || c == ';' || c == ':';
}

bool take_angle(struct slice *s, struct slice *addr)
{
    size_t i;

    if (s->len == 0)
        return false;
    if (s->ptr[0] != '<') {
        for (i = 0; i < s->len && s->ptr[i] != ',' && s->ptr[i] != ' '; i++)
            ;
        *addr = slice_make(s->ptr, i);
        *s = slice_skip(*s, i);
        return true;
    }
    for (i = 1; i < s->len; i++)
        if (s->ptr[i] == '>' && ends_value(s, i))
            break;
    if (i >= s->len)
        return false;
    *addr = slice_make(s->ptr + 1, i - 1);
    *s = slice_skip(*s, i + 1);
    return true;
}

/* Position just after "key=" where key starts the slice or follows ' ' or ','. */
static long locate_key(struct slice s, const char *key)
{
    size_t n = strlen(key);
    const char *p = s.ptr, *end = s.ptr + s.len;

    while (p + n + 1 <= end) {
        const char *hit = memmem(p, (size_t)(end - p), key, n);
        if (hit == NULL || hit + n >= end)
            return -1;
        if (hit[n] == '=' && (hit == s.ptr || hit[-1] == ' ' || hit[-1] == ','))
            return (long)(hit + n + 1 - s.ptr);
        p = hit + 1;
    }
    return -1;
}

bool find_field(struct slice s, const char *key, struct slice *value)
{
    long at = locate_key(s, key);
    const char *start, *comma;

    if (at < 0)
        return false;
    start = s.ptr + at;
    comma = memmem(start, s.len - (size_t)at, ", ", 2);
    *value = slice_make(start, comma ? (size_t)(comma - start) : s.len - (size_t)at);
    return true;
}

bool find_angle_field(struct slice s, const char *key, struct slice *value)
{
    long at = locate_key(s, key);
    struct slice rest;

    if (at < 0)
        return false;
    rest = slice_skip(s, (size_t)at);
    return take_angle(&rest, value);
}

int64_t slice_to_int(struct slice s)
{
    int64_t v = 0;

    if (s.len == 0 || s.len > 18)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return -1;
        v = v * 10 + (s.ptr[i] - '0');
    }
    return v;
}

double slice_to_seconds(struct slice s)
{
    /* Whole and fraction digits as integers, one division at the end: a sum
     * of digit × 0.1 gives 0.6000000000000001 for "0.6", and the nearest
     * double to what the log says prints as the log says it. */
    double whole = 0, fraction = 0, scale = 1;
    bool in_fraction = false;

    if (s.len == 0 || s.len > 24)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '.' && !in_fraction) {
            in_fraction = true;
        } else if (c >= '0' && c <= '9') {
            if (in_fraction) {
                fraction = fraction * 10 + (c - '0');
                scale *= 10;
            } else {
                whole = whole * 10 + (c - '0');
            }
        } else {
            return -1;
        }
    }
    return whole + fraction / scale;
}
