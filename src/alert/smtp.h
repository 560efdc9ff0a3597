/*
 * smtp.h — handing one composed mail to an SMTP server with libcurl.
 *
 * The server, TLS mode, optional AUTH credentials and the envelope sender
 * come from the [smtp] section of the configuration (util/config.h); the
 * default is the local MTA at smtp://127.0.0.1:25 without TLS. tls=starttls
 * requires STARTTLS on a smtp:// URL, tls=tls (or an smtps:// URL) is
 * implicit TLS; certificates are verified.
 *
 * Contract: smtp_send() returns 0 only when the server answered the end of
 * the message with a 2xx reply, i.e. accepted responsibility for it. Any
 * other outcome (connection refused, TLS failure, 4xx/5xx at any step, a
 * timeout) is -1 with e saying what happened; the server then has not
 * accepted the mail. The optional before_end callback runs once, just before
 * the last bytes of the message are handed to libcurl (so before the
 * end-of-data marker is sent): the last moment at which the mail can still
 * be abandoned (a -1 from it aborts the transaction, the server discards the
 * partial mail).
 */
#ifndef MAILLOG_ALERT_SMTP_H
#define MAILLOG_ALERT_SMTP_H

#include "util/config.h"
#include "util/err.h"

#include <stddef.h>

typedef int (*smtp_before_end_fn)(void *ctx);

/* The envelope sender: cfg->smtp_from, or "mail-log@<hostname>" when it is
 * empty. */
void smtp_sender(const struct config *cfg, char *out, size_t size);

int smtp_send(const struct config *cfg, const char *rcpt, const char *msg, size_t len,
              smtp_before_end_fn before_end, void *ctx, struct err *e);

#endif
