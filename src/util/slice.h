/*
 * slice.h — a view into bytes owned by someone else (usually the line being
 * parsed): pointer + length, never NUL-terminated, never freed. The parser
 * hands slices to the tracker so that parsing a line allocates nothing.
 */
#ifndef MAILLOG_UTIL_SLICE_H
#define MAILLOG_UTIL_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
    const char *ptr;
    size_t len;
};

static inline struct slice slice_make(const char *ptr, size_t len)
{
    struct slice s = {ptr, len};
    return s;
}

/* Equal to a string literal or C string. */
static inline bool slice_eq(struct slice s, const char *text)
{
    size_t n = strlen(text);
    return s.len == n && (n == 0 || memcmp(s.ptr, text, n) == 0);
}

static inline bool slice_starts(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && (n == 0 || memcmp(s.ptr, prefix, n) == 0);
}

/* Drops n bytes from the front (n <= s.len). */
static inline struct slice slice_skip(struct slice s, size_t n)
{
    return slice_make(s.ptr + n, s.len - n);
}

/* Position of the first occurrence of needle, or -1. */
static inline long slice_find(struct slice s, const char *needle)
{
    size_t n = strlen(needle);
    const char *hit = n <= s.len ? memmem(s.ptr, s.len, needle, n) : NULL;
    return hit ? (long)(hit - s.ptr) : -1;
}

/* Copies s into a NUL-terminated buffer of size `size`, truncating; returns dst. */
static inline char *slice_copy(char *dst, size_t size, struct slice s)
{
    size_t n = s.len < size - 1 ? s.len : size - 1;
    if (n > 0)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
    return dst;
}

/* A constant word with its length, for lists the parser scans on every line
 * (no strlen() per comparison). WORD("smtpd") builds one from a literal. */
struct word {
    const char *text;
    size_t len;
};
#define WORD(literal)                                                                              \
    {                                                                                              \
        literal, sizeof(literal) - 1                                                               \
    }

static inline bool slice_eq_word(struct slice s, const struct word *w)
{
    return s.len == w->len && (w->len == 0 || memcmp(s.ptr, w->text, w->len) == 0);
}

static inline bool slice_starts_word(struct slice s, const struct word *w)
{
    return s.len >= w->len && (w->len == 0 || memcmp(s.ptr, w->text, w->len) == 0);
}

/* Lists end with an entry whose text is NULL. */
static inline bool slice_in_words(struct slice s, const struct word *list)
{
    for (; list->text != NULL; list++)
        if (slice_eq_word(s, list))
            return true;
    return false;
}

static inline bool slice_starts_any_word(struct slice s, const struct word *list)
{
    for (; list->text != NULL; list++)
        if (slice_starts_word(s, list))
            return true;
    return false;
}

#endif
