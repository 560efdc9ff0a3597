/*
 * term.h — text from logs and from other servers, printed on a terminal.
 *
 * Log lines, mail addresses and SMTP answers are written by whoever sent the
 * mail or logged in: printed raw, an escape sequence in them could drive the
 * admin's terminal (set its title, rewrite what is on screen). term_put()
 * prints a well-formed UTF-8 character as it is and everything else that a
 * terminal could act on as '?': C0 controls, DEL, C1 controls (U+0080 to
 * U+009F: CSI is U+009B) and bytes that are not UTF-8.
 */
#ifndef MAILLOG_UTIL_TERM_H
#define MAILLOG_UTIL_TERM_H

#include <stddef.h>
#include <stdio.h>

/* Prints text to out, at most max_chars characters (0: all), and returns
 * how many it printed (a '?' counts as one), for padding columns. */
size_t term_put(FILE *out, const char *text, size_t max_chars);

#endif
