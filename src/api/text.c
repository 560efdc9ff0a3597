/*
 * text.c — UTF-8 validation, percent-decoding, domain names and lossy JSON
 * strings for the API (see text.h).
 */
#include "api/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 when the bytes
 * there do not start one. Table 3-7 of the Unicode standard. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

static bool is_bad_control(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7F;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0 || (n == 1 && is_bad_control(p[i])))
            return false;
        i += n;
    }
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long pct_decode(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= len)
                return -1;
            h = hex_value(s[i + 1]);
            l = hex_value(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+')
            c = ' ';
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    if (size == 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

int domain_normalize(const char *s, size_t len, char out[DOMAIN_MAX + 1])
{
    size_t label = 0;

    if (len == 0 || len > DOMAIN_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return -1;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if (c == '-' && label == 0)
                return -1;
            if (++label > 63)
                return -1;
        } else
            return -1;
        out[i] = c;
    }
    if (label == 0 || s[len - 1] == '-')
        return -1;
    out[len] = '\0';
    return 0;
}

char *utf8_lossy_dup(const char *s, size_t *out_len)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;
    /* Worst case: every byte becomes three. */
    char *buf = malloc(len * 3 + 1);

    if (buf == NULL)
        return NULL;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0) {
            memcpy(buf + o, replacement, 3);
            o += 3;
            i++;
        } else {
            /* Controls are kept: the JSON and CSV writers escape them. */
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
        }
    }
    buf[o] = '\0';
    *out_len = o;
    return buf;
}

json_t *api_json_text(const char *s)
{
    size_t len;
    char *copy;
    json_t *j;

    if (s == NULL)
        return json_string("");
    len = strlen(s);
    if (utf8_valid(s, len))
        return json_stringn(s, len);
    copy = utf8_lossy_dup(s, &len);
    if (copy == NULL)
        return NULL;
    j = json_stringn(copy, len);
    free(copy);
    return j;
}
