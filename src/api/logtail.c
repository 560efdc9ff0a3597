/*
 * logtail.c — the end of a log file, read backwards (see logtail.h).
 */
#include "api/logtail.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGTAIL_BLOCK 65536

/* Reads backwards from the end until the window holds max_lines newlines
 * besides the file's final one (the first of them ends the line before the
 * first kept line), or reaches the file's start, or the byte cap. */
static int read_window(int fd, off_t size, size_t max_lines, struct logtail *t, size_t *len,
                       struct err *e, const char *path)
{
    size_t cap = size < (off_t)LOGTAIL_BYTES_MAX ? (size_t)size : LOGTAIL_BYTES_MAX;
    size_t have = 0, newlines = 0;

    t->buf = malloc(cap + 1);
    if (t->buf == NULL)
        return err_set(e, "%s: out of memory", path);
    /* The window is filled from its end: buf[cap - have, cap). */
    while (have < cap && newlines < max_lines) {
        size_t n = cap - have < LOGTAIL_BLOCK ? cap - have : LOGTAIL_BLOCK;
        off_t at = size - (off_t)have - (off_t)n;
        char *dst = t->buf + cap - have - n;
        ssize_t got = pread(fd, dst, n, at);
        if (got < 0)
            return err_sys(e, "%s", path);
        if ((size_t)got != n)
            return err_set(e, "%s: changed while being read", path);
        for (size_t i = 0; i < n; i++)
            newlines += dst[i] == '\n';
        /* The file's final newline ends the last line; it starts no line. */
        if (have == 0 && n > 0 && dst[n - 1] == '\n')
            newlines--;
        have += n;
    }
    memmove(t->buf, t->buf + cap - have, have);
    t->buf[have] = '\0';
    *len = have;
    return 0;
}

/* Splits buf[0..len) into at most max_lines last lines, in place. The first
 * piece is dropped when the window did not reach the file's start (it is a
 * partial line). */
static int split_lines(struct logtail *t, size_t len, size_t max_lines, int from_start)
{
    char *p = t->buf, *end = t->buf + len;
    size_t count = 0, skip;

    if (len > 0 && end[-1] == '\n')
        *--end = '\0';
    if (len == 0)
        return 0;
    for (char *c = p; c < end; c++)
        count += *c == '\n';
    count++;
    t->lines = calloc(count, sizeof *t->lines);
    if (t->lines == NULL)
        return -1;
    skip = from_start ? 0 : 1;
    if (count - skip > max_lines)
        skip = count - max_lines;
    for (size_t i = 0; i < count; i++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl != NULL)
            *nl = '\0';
        if (strlen(p) > LOGTAIL_LINE_MAX)
            p[LOGTAIL_LINE_MAX] = '\0';
        if (i >= skip)
            t->lines[t->count++] = p;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int logtail_read(const char *path, size_t max_lines, struct logtail *t, struct err *e)
{
    struct stat st;
    size_t len = 0;
    int fd, rc;

    memset(t, 0, sizeof *t);
    if (max_lines == 0 || max_lines > LOGTAIL_LINES_MAX)
        return err_set(e, "lines: must be 1..%d", LOGTAIL_LINES_MAX);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return err_sys(e, "%s", path);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, "%s: not a regular file", path);
    }
    rc = read_window(fd, st.st_size, max_lines, t, &len, e, path);
    close(fd);
    if (rc < 0)
        return -1;
    if (split_lines(t, len, max_lines, (off_t)len == st.st_size) < 0)
        return err_set(e, "%s: out of memory", path);
    return 0;
}

void logtail_free(struct logtail *t)
{
    free(t->lines);
    free(t->buf);
    memset(t, 0, sizeof *t);
}
