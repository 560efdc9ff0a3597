/*
 * logtail.h — the last lines of the mail log for the admin page, read from
 * the end of the file backwards in blocks, so a multi-gigabyte log costs
 * only what is shown. At most max_lines lines and LOGTAIL_BYTES_MAX bytes
 * are read; a line longer than LOGTAIL_LINE_MAX is cut. A last line without
 * its newline (being written) is included.
 */
#ifndef MAILLOG_API_LOGTAIL_H
#define MAILLOG_API_LOGTAIL_H

#include "util/err.h"

#include <stddef.h>

#define LOGTAIL_LINES_MAX 100000
#define LOGTAIL_BYTES_MAX (32u << 20)
#define LOGTAIL_LINE_MAX 8192

struct logtail {
    char *buf;    /* the bytes read; lines point into it (NUL-terminated) */
    char **lines; /* oldest first */
    size_t count;
};

/* Reads the last max_lines (1..LOGTAIL_LINES_MAX) lines of the regular file
 * at path. Free with logtail_free() (also after a failure). */
int logtail_read(const char *path, size_t max_lines, struct logtail *t, struct err *e);
void logtail_free(struct logtail *t);

#endif
