/*
 * err.h — the one error-reporting convention of the project.
 *
 * A function that can fail returns 0 on success and -1 on failure, and on
 * failure writes a one-line, human-readable explanation into the `struct err`
 * its caller passed (never NULL). The explanation names the thing that failed
 * ("/var/log/maillog: Permission denied", "retention_days: must be 1..365").
 * Only the outermost caller (a command's main, a request handler) reports it,
 * once: to stderr for the CLI, as a JSON error for the API. Lower layers never
 * print. A caller that adds context does so with err_prefix().
 */
#ifndef MAILLOG_UTIL_ERR_H
#define MAILLOG_UTIL_ERR_H

#include <stddef.h>

struct err {
    char text[512];
};

/* Formats the explanation into e and returns -1, so a failing path can say
 * `return err_set(e, "…: %s", what);`. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like err_set, with ": strerror(errno)" appended (errno read at call time). */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the explanation already in e; returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
