/*
 * reader.h — incremental, rotation-aware reading of one configured log path.
 *
 * The position in a log is a struct log_state (store.h): device, inode,
 * byte offset of the first unread line, and a hash of the file's first line.
 * reader_run() hands every complete line after that position to the caller,
 * in order, exactly once over any sequence of runs, whatever happened to the
 * file in between:
 *   - same file (same inode, not shrunk, same first line): continue at offset;
 *   - rotated (inode changed, file shrank, or first line changed — rename +
 *     new file, copytruncate, compression of the old file): the rotated file
 *     is found next to the log (PATH.1, PATH.N.gz, PATH-YYYYMMDD[.gz]) by its
 *     inode or its first line, finished from the saved offset, followed by
 *     any newer rotated files, then the log from 0;
 *   - a partial last line (no '\n' yet) is left for a later run; in a rotated
 *     file, which is final, it is read as a line.
 * With no saved state the log is read from 0, after the rotated files of the
 * last backfill_days days (oldest first) when backfill_days > 0.
 *
 * The caller commits: on_checkpoint() gets the position after the lines
 * handed over so far (at most every checkpoint_lines lines, at the end of
 * each file and at the end); it must make those lines' effects and that
 * position durable together (track_flush, store_log_state_put, COMMIT).
 * on_file() is called before each file's first line with the file's mtime
 * (for years of syslog timestamps). Memory is bounded (one read buffer).
 */
#ifndef MAILLOG_READER_READER_H
#define MAILLOG_READER_READER_H

#include "store/store.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READER_LINE_MAX 16384 /* longer lines are cut (the rest is skipped) */

struct reader_callbacks {
    void *ctx;
    int (*on_file)(void *ctx, const char *path, int64_t mtime, struct err *e);
    int (*on_line)(void *ctx, const char *line, size_t len, struct err *e);
    int (*on_checkpoint)(void *ctx, const struct log_state *st, struct err *e);
    /* A non-fatal problem (a rotated file that cannot be found): may be NULL. */
    void (*on_warning)(void *ctx, const char *text);
};

struct reader_options {
    int checkpoint_lines; /* 0: 50000 */
    int backfill_days;    /* first run only; 0: no backfill */
    int64_t now;          /* for the backfill window; 0: time(NULL) */
};

struct reader_stats {
    uint64_t lines;
    uint64_t bytes;
    int files;
};

/* Reads path from the saved state st (have_state false: first run). st is
 * updated to the final position. Returns 0, or -1 with e set (an unreadable
 * log, a callback's failure). */
int reader_run(const char *path, struct log_state *st, bool have_state,
               const struct reader_options *opt, const struct reader_callbacks *cb,
               struct reader_stats *stats, struct err *e);

/* The hash of a first line as stored in log_state (FNV-1a 64, never 0). */
uint64_t reader_line_hash(const char *line, size_t len);

#endif
