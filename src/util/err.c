/*
 * err.c — formatting for struct err (see err.h for the convention).
 */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
    int saved_errno = errno;
    va_list ap;
    size_t used;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    used = strlen(e->text);
    snprintf(e->text + used, sizeof e->text - used, ": %s", strerror(saved_errno));
    return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    char prefix[256];
    char old[sizeof e->text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t used;

    memcpy(old, e->text, sizeof old);
    /* Truncation is acceptable: the explanation stays readable, just shorter. */
    used = (size_t)snprintf(e->text, sizeof e->text, "%s: ", prefix);
    if (used < sizeof e->text)
        snprintf(e->text + used, sizeof e->text - used, "%s", old);
    return -1;
}
