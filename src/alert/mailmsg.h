/*
 * mailmsg.h — composing the alert mails: an RFC 5322 message with a
 * multipart/alternative body (text/plain + text/html, both UTF-8,
 * quoted-printable), Date, Message-ID, MIME-Version, Auto-Submitted and an
 * RFC 2047 encoded Subject. Everything that ends up in a mail comes from logs
 * written by strangers (mailbox names, IPs), so the helpers here clean text
 * to valid UTF-8 without control characters and escape it for HTML; the
 * caller builds the bodies with them.
 *
 * Contract: output lines end in CRLF and are at most 78 characters (headers
 * folded, bodies quoted-printable with soft breaks at 76), so the message can
 * be handed to SMTP as is. Buffers are bounded (MBUF_MAX): appending past the
 * bound fails instead of growing.
 */
#ifndef MAILLOG_ALERT_MAILMSG_H
#define MAILLOG_ALERT_MAILMSG_H

#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MBUF_MAX (4u << 20) /* no mail of ours is bigger than 4 MiB */

/* A growable, bounded, always NUL-terminated byte buffer. Zero-initialise
 * ({0}) before the first use; free with mbuf_free(). */
struct mbuf {
    char *data;
    size_t len;
    size_t cap;
    bool overflow; /* an append hit MBUF_MAX or malloc failed; later appends are no-ops */
};

void mbuf_append(struct mbuf *b, const char *data, size_t len);
void mbuf_puts(struct mbuf *b, const char *s);
void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mbuf_free(struct mbuf *b);

/* Appends s cleaned for display: invalid UTF-8 bytes and control characters
 * (C0, DEL, C1) become '?', at most max_bytes of input are taken. */
void mbuf_put_clean(struct mbuf *b, const char *s, size_t max_bytes);
/* Like mbuf_put_clean, then HTML-escaped (& < > " '). */
void mbuf_put_html(struct mbuf *b, const char *s, size_t max_bytes);

/* Quoted-printable (RFC 2045) of in[0..len): '\n' or "\r\n" become CRLF,
 * lines at most 76 characters with soft breaks, '=' and non-ASCII encoded,
 * trailing white space and a leading '.' or "From " made safe. */
void mail_qp_encode(struct mbuf *out, const char *in, size_t len);

/* "Subject: …" + CRLF: plain when printable ASCII and short, else RFC 2047
 * B-encoded UTF-8 words of at most 75 characters, never splitting a UTF-8
 * character, folded over lines. subject must be clean UTF-8. */
void mail_subject_header(struct mbuf *out, const char *subject);

/* True for an address we can put in a header and an SMTP envelope:
 * local@domain, printable ASCII, no spaces, quotes, angle brackets,
 * commas, parentheses or backslashes, at most 254 bytes. */
bool mail_addr_ok(const char *addr);

struct mail_head {
    const char *from;    /* envelope and header sender, mail_addr_ok */
    const char *to;      /* recipient, mail_addr_ok */
    const char *subject; /* clean UTF-8 */
    time_t date;
};

/* The whole message into out (reset first). 0, or -1 with e set when an
 * address is unusable, random bytes for the Message-ID are unavailable or
 * the message would exceed MBUF_MAX. */
int mail_compose(const struct mail_head *h, const char *text, const char *html, struct mbuf *out,
                 struct err *e);

#endif
