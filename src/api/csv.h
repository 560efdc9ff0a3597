/*
 * csv.h — a bounded output buffer and an RFC 4180 CSV writer for the tab
 * downloads (format=csv).
 *
 * Fields are quoted when they contain a comma, a quote, CR or LF (quotes
 * doubled); rows end with CRLF. A field that a spreadsheet would take for a
 * formula (first character = + - @ TAB CR) gets a leading apostrophe
 * (OWASP "CSV injection"). Bytes that are not UTF-8 become U+FFFD.
 */
#ifndef MAILLOG_API_CSV_H
#define MAILLOG_API_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer that refuses to grow past max bytes. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Appends s[0..n); -1 (buffer unchanged) when it would pass max or when out
 * of memory. */
int buf_add(struct buf *b, const char *s, size_t n);
void buf_free(struct buf *b);

/* Appends one field (a separator first unless it is the row's first). */
int csv_field(struct buf *b, const char *s, bool first);
/* Appends an integer field. */
int csv_field_int(struct buf *b, long long v, bool first);
/* Ends the row with CRLF. */
int csv_end_row(struct buf *b);

#endif
