/*
 * text.h — the byte-level checks and conversions of the API's input and
 * output: strict UTF-8 validation, percent-decoding of a query string
 * component, domain-name validation, and a JSON string constructor that never
 * fails on the raw (untrusted, possibly non-UTF-8) bytes of the log.
 *
 * Nothing here allocates except api_json_text(); every function works on
 * caller-owned buffers with explicit sizes.
 */
#ifndef MAILLOG_API_TEXT_H
#define MAILLOG_API_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) and contains no NUL and no C0 control
 * other than TAB, nor DEL. */
bool utf8_valid(const char *s, size_t len);

/* Decodes one application/x-www-form-urlencoded component s[0..len) ("+" is
 * a space, "%XX" a byte) into out[size], NUL-terminated. Returns the decoded
 * length, or -1 when a "%" is not followed by two hex digits or the result
 * (with its NUL) does not fit. The result is bytes: validate it afterwards. */
long pct_decode(const char *s, size_t len, char *out, size_t size);

/* Longest domain name (RFC 1035, without the trailing dot). */
#define DOMAIN_MAX 253

/* Checks that s[0..len) is a DNS name of letters, digits and '-' in labels of
 * 1..63 characters separated by single dots (IDNs in their xn-- form), at
 * most DOMAIN_MAX long, and writes it lower-cased into out[DOMAIN_MAX + 1].
 * Returns 0, or -1 when it is not such a name. */
int domain_normalize(const char *s, size_t len, char out[DOMAIN_MAX + 1]);

/* A malloc'd copy of s (NUL-terminated) with every byte sequence that is
 * not valid UTF-8 replaced by U+FFFD; *out_len gets its length. NULL only
 * when out of memory. */
char *utf8_lossy_dup(const char *s, size_t *out_len);

/* A JSON string of s (NUL-terminated), with every byte sequence that is not
 * valid UTF-8 (and NUL-free) replaced by U+FFFD, so log bytes are always
 * representable. NULL only when out of memory. s == NULL gives "". */
json_t *api_json_text(const char *s);

#endif
