/*
 * csv.c — bounded buffer and CSV fields (see csv.h).
 */
#include "api/csv.h"
#include "api/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int buf_add(struct buf *b, const char *s, size_t n)
{
    if (n > b->max - b->len)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

static bool needs_quotes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

static bool looks_like_formula(const char *s)
{
    return s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
}

static int csv_write_field(struct buf *b, const char *s, size_t len)
{
    bool quote = needs_quotes(s, len);

    if (quote && buf_add(b, "\"", 1) < 0)
        return -1;
    if (looks_like_formula(s) && buf_add(b, "'", 1) < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' && buf_add(b, "\"", 1) < 0)
            return -1;
        if (buf_add(b, s + i, 1) < 0)
            return -1;
    }
    if (quote && buf_add(b, "\"", 1) < 0)
        return -1;
    return 0;
}

int csv_field(struct buf *b, const char *s, bool first)
{
    size_t len;
    char *copy = NULL;
    int rc;

    if (!first && buf_add(b, ",", 1) < 0)
        return -1;
    if (s == NULL)
        s = "";
    len = strlen(s);
    if (!utf8_valid(s, len)) {
        copy = utf8_lossy_dup(s, &len);
        if (copy == NULL)
            return -1;
        s = copy;
    }
    rc = csv_write_field(b, s, len);
    free(copy);
    return rc;
}

int csv_field_int(struct buf *b, long long v, bool first)
{
    char text[32];

    snprintf(text, sizeof text, "%lld", v);
    if (!first && buf_add(b, ",", 1) < 0)
        return -1;
    return buf_add(b, text, strlen(text));
}

int csv_end_row(struct buf *b)
{
    return buf_add(b, "\r\n", 2);
}
