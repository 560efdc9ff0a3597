/*
 * reason.h — why a mail was not delivered, in words a mailbox owner reads:
 * "The recipient's mailbox is full." beside "452 4.2.2 <a@b>: over quota".
 *
 * delivery_reason() looks first for well-known phrases in the server's text
 * (Postfix's status text, a NOQUEUE reject, or a remote server's reply that
 * Postfix quotes), then at the enhanced status code (RFC 3463): the dsn
 * Postfix logged, else the first code in the text. It returns a sentence
 * from a fixed table (static storage; never built from log data), or NULL for
 * a delivered mail and when nothing can be said beyond the status word.
 *
 * The sentence is a reading of words other servers chose, so the callers
 * show it beside the server's text, never instead of it. Only the first
 * REASON_TEXT_MAX bytes of the text are read.
 */
#ifndef MAILLOG_TRACK_REASON_H
#define MAILLOG_TRACK_REASON_H

#include "track/record.h"

#define REASON_TEXT_MAX RECORD_TEXT_MAX

/* status: a delivery_status_name() ("sent", "deferred", …); dsn: "5.1.1" or
 * "" (NULL taken as ""); status_text: as stored (NULL taken as ""). */
const char *delivery_reason(const char *status, const char *dsn, const char *status_text);

#endif
