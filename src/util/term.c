/*
 * term.c — terminal-safe printing of untrusted text (see term.h).
 */
#include "util/term.h"

#include <stdbool.h>

/* The length of the UTF-8 sequence text starts with, 0 when it is not a
 * well-formed one (a stray continuation byte, a cut sequence, an overlong
 * lead byte 0xC0/0xC1, or above U+10FFFF). */
static size_t utf8_sequence(const unsigned char *p)
{
    size_t n = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
               : p[0] >= 0xe0 && p[0] <= 0xef ? 3
               : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                              : 0;

    for (size_t k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

size_t term_put(FILE *out, const char *text, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t chars = 0;

    while (*p != '\0' && (max_chars == 0 || chars < max_chars)) {
        size_t n = *p >= 0x80 ? utf8_sequence(p) : 1;
        bool c1 = n == 2 && p[0] == 0xc2 && p[1] <= 0x9f;

        if (n > 1 && !c1) {
            fwrite(p, 1, n, out);
        } else {
            putc(*p < 0x20 || *p >= 0x7f ? '?' : *p, out);
            n = n > 1 ? n : 1; /* a C1 character is one '?' */
        }
        p += n;
        chars++;
    }
    return chars;
}
