/*
 * reader.c — incremental, rotation-aware log reading (see reader.h).
 *
 * One read buffer of READ_BUF bytes serves every file; lines are split in
 * place and handed over without copies. Compressed rotated files are read
 * through zlib; their offsets count uncompressed bytes, like the plain file
 * they were made from.
 */
#include "reader/reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define READ_BUF (1024 * 1024)
#define CANDIDATES_MAX 64

uint64_t reader_line_hash(const char *line, size_t len)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)line[i];
        h *= 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}

/* ---- sources: a plain file or a gzip file ----------------------------------- */

struct source {
    const char *path;
    int fd;
    gzFile gz;
};

static int source_open(struct source *src, const char *path, bool gz, struct err *e)
{
    src->path = path;
    src->gz = NULL;
    src->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0)
        return err_sys(e, "%s", path);
    if (gz) {
        src->gz = gzdopen(src->fd, "rb");
        if (src->gz == NULL) {
            close(src->fd);
            return err_set(e, "%s: cannot read gzip data", path);
        }
        gzbuffer(src->gz, 128 * 1024);
    }
    return 0;
}

static void source_close(struct source *src)
{
    if (src->gz != NULL)
        gzclose(src->gz); /* closes fd */
    else if (src->fd >= 0)
        close(src->fd);
    src->gz = NULL;
    src->fd = -1;
}

static ssize_t source_read(struct source *src, char *buf, size_t n, struct err *e)
{
    ssize_t got;

    if (src->gz != NULL) {
        int r = gzread(src->gz, buf, (unsigned)n);
        int zerr;

        if (r < 0) {
            const char *msg = gzerror(src->gz, &zerr);
            err_set(e, "%s: %s", src->path, msg ? msg : "gzip error");
            return -1;
        }
        return r;
    }
    do
        got = read(src->fd, buf, n);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        err_sys(e, "%s", src->path);
    return got;
}

/* Skips to uncompressed byte offset. */
static int source_seek(struct source *src, uint64_t offset, struct err *e)
{
    if (offset == 0)
        return 0;
    if (src->gz != NULL) {
        if (gzseek(src->gz, (z_off_t)offset, SEEK_SET) < 0)
            return err_set(e, "%s: cannot skip to offset %llu", src->path,
                           (unsigned long long)offset);
        return 0;
    }
    if (lseek(src->fd, (off_t)offset, SEEK_SET) < 0)
        return err_sys(e, "%s", src->path);
    return 0;
}

/* The hash of the first complete line (0 when there is none yet). */
static int first_line_hash(const char *path, bool gz, uint64_t *hash, uint32_t *len, struct err *e)
{
    struct source src;
    char *buf = malloc(READER_LINE_MAX);
    size_t have = 0;
    ssize_t n;
    char *nl = NULL;

    *hash = 0;
    *len = 0;
    if (buf == NULL)
        return err_set(e, "out of memory");
    if (source_open(&src, path, gz, e) < 0) {
        free(buf);
        return -1;
    }
    while (have < READER_LINE_MAX && (nl = memchr(buf, '\n', have)) == NULL) {
        n = source_read(&src, buf + have, READER_LINE_MAX - have, e);
        if (n < 0) {
            source_close(&src);
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    if (nl == NULL)
        nl = memchr(buf, '\n', have);
    if (nl != NULL) {
        *len = (uint32_t)(nl - buf);
        *hash = reader_line_hash(buf, *len);
    } else if (have == READER_LINE_MAX) {
        *len = READER_LINE_MAX;
        *hash = reader_line_hash(buf, have);
    }
    source_close(&src);
    free(buf);
    return 0;
}

/* ---- reading one file ---------------------------------------------------------- */

struct run {
    const struct reader_callbacks *cb;
    const struct reader_options *opt;
    struct reader_stats *stats;
    struct log_state *st;
    char *buf;
    int since_checkpoint;
};

static int checkpoint(struct run *r, struct err *e)
{
    r->since_checkpoint = 0;
    return r->cb->on_checkpoint(r->cb->ctx, r->st, e);
}

static int emit(struct run *r, const char *line, size_t len, uint64_t consumed, struct err *e)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > READER_LINE_MAX)
        len = READER_LINE_MAX;
    if (r->cb->on_line(r->cb->ctx, line, len, e) < 0)
        return -1;
    r->st->offset += consumed;
    r->stats->lines++;
    r->stats->bytes += consumed;
    if (++r->since_checkpoint >= r->opt->checkpoint_lines)
        return checkpoint(r, e);
    return 0;
}

/* Reads src from st->offset (already positioned) to its end. final: the file
 * will not grow (rotated), so a last line without '\n' is read too. */
static int read_lines(struct run *r, struct source *src, bool final, struct err *e)
{
    size_t have = 0;
    bool skipping = false; /* inside an over-long line already handed over */
    uint64_t skipped = 0;

    for (;;) {
        ssize_t n = source_read(src, r->buf + have, READ_BUF - have, e);
        char *p = r->buf, *end, *nl;

        if (n < 0)
            return -1;
        if (n == 0) {
            if (final && have > 0 && !skipping && emit(r, r->buf, have, have, e) < 0)
                return -1;
            return 0;
        }
        have += (size_t)n;
        end = r->buf + have;
        if (skipping) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (nl == NULL) {
                skipped += have;
                have = 0;
                continue;
            }
            skipped += (size_t)(nl + 1 - p);
            r->st->offset += skipped;
            r->stats->bytes += skipped;
            skipped = 0;
            skipping = false;
            p = nl + 1;
        }
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (emit(r, p, (size_t)(nl - p), (uint64_t)(nl + 1 - p), e) < 0)
                return -1;
            p = nl + 1;
        }
        have = (size_t)(end - p);
        if (have == READ_BUF) {
            /* One line fills the buffer: hand over its start, skip the rest. The
             * offset moves when its end is reached. */
            if (r->cb->on_line(r->cb->ctx, r->buf, READER_LINE_MAX, e) < 0)
                return -1;
            r->stats->lines++;
            skipping = true;
            skipped = have;
            have = 0;
        } else if (p != r->buf && have > 0) {
            memmove(r->buf, p, have);
        }
    }
}

static bool is_gz_name(const char *path)
{
    size_t n = strlen(path);

    return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

/* Reads the whole of path (or from st's offset when resume) and leaves st at its end. */
static int read_file(struct run *r, const char *path, const struct stat *sb, bool final,
                     bool resume, struct err *e)
{
    struct source src;
    bool gz = is_gz_name(path);
    uint64_t hash;
    uint32_t hlen;

    if (first_line_hash(path, gz, &hash, &hlen, e) < 0)
        return -1;
    if (!resume) {
        r->st->offset = 0;
        r->st->first_hash = hash;
        r->st->first_len = hlen;
    } else if (r->st->first_hash == 0) {
        r->st->first_hash = hash;
        r->st->first_len = hlen;
    }
    r->st->device = (uint64_t)sb->st_dev;
    r->st->inode = (uint64_t)sb->st_ino;
    if (source_open(&src, path, gz, e) < 0)
        return -1;
    if (source_seek(&src, r->st->offset, e) < 0 ||
        r->cb->on_file(r->cb->ctx, path, (int64_t)sb->st_mtime, e) < 0 ||
        read_lines(r, &src, final, e) < 0) {
        source_close(&src);
        return -1;
    }
    source_close(&src);
    r->stats->files++;
    /* The file's first line may have completed during this run. */
    if (r->st->first_hash == 0 &&
        first_line_hash(path, gz, &r->st->first_hash, &r->st->first_len, e) < 0)
        return -1;
    return checkpoint(r, e);
}

/* ---- rotated files ------------------------------------------------------------------ */

struct candidate {
    char path[1024 + 64];
    struct stat sb;
};

/* NAME.N, NAME.N.gz, NAME-YYYYMMDD, NAME-YYYYMMDD.gz (also NAME-YYYYMMDDHH…). */
static bool rotated_name(const char *base, const char *name)
{
    size_t bl = strlen(base);
    const char *p;
    size_t digits;

    if (strncmp(name, base, bl) != 0 || (name[bl] != '.' && name[bl] != '-'))
        return false;
    p = name + bl + 1;
    digits = strspn(p, "0123456789");
    if (digits == 0 || (name[bl] == '-' && digits < 8))
        return false;
    p += digits;
    return *p == '\0' || strcmp(p, ".gz") == 0;
}

static int cmp_candidates(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;

    if (x->sb.st_mtime != y->sb.st_mtime)
        return x->sb.st_mtime < y->sb.st_mtime ? -1 : 1;
    return strcmp(y->path, x->path); /* maillog.2 before maillog.1 */
}

/* The rotated siblings of path, oldest first. */
static int list_candidates(const char *path, struct candidate *out, int *count, struct err *e)
{
    char tmp[1024], dir[1024], base[1024];
    DIR *d;
    struct dirent *de;

    /* dirname() and basename() may modify their argument: work on copies */
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(dir, sizeof dir, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(base, sizeof base, "%s", basename(tmp));
    *count = 0;
    if ((d = opendir(dir)) == NULL)
        return err_sys(e, "%s", dir);
    while ((de = readdir(d)) != NULL && *count < CANDIDATES_MAX) {
        struct candidate *c = &out[*count];

        if (!rotated_name(base, de->d_name))
            continue;
        snprintf(c->path, sizeof c->path, "%s/%s", dir, de->d_name);
        if (stat(c->path, &c->sb) == 0 && S_ISREG(c->sb.st_mode))
            (*count)++;
    }
    closedir(d);
    qsort(out, (size_t)*count, sizeof *out, cmp_candidates);
    return 0;
}

/* The index of the candidate holding the saved position, or -1. */
static int find_rotated(const struct candidate *c, int count, const struct log_state *st,
                        struct err *e)
{
    int by_hash = -1;

    for (int i = count - 1; i >= 0; i--) {
        bool gz = is_gz_name(c[i].path);
        uint64_t hash;
        uint32_t hlen;

        if (first_line_hash(c[i].path, gz, &hash, &hlen, e) < 0)
            continue; /* unreadable: not ours */
        if (st->first_hash != 0 && hash != st->first_hash)
            continue;
        if (!gz && (uint64_t)c[i].sb.st_ino == st->inode && (uint64_t)c[i].sb.st_dev == st->device)
            return i;
        if (st->first_hash != 0 && by_hash < 0)
            by_hash = i;
    }
    return by_hash;
}

static void warn_lost_rotation(struct run *r, const char *path)
{
    char text[1200];

    if (r->cb->on_warning == NULL)
        return;
    snprintf(text, sizeof text,
             "%s: rotated, and the rotated file was not found next to it: reading the new file "
             "from its start",
             path);
    r->cb->on_warning(r->cb->ctx, text);
}

/* ---- the run --------------------------------------------------------------------------- */

/* The file at path is the one st describes, and has not shrunk below offset. */
static int same_file(const char *path, const struct stat *sb, const struct log_state *st,
                     bool *same, struct err *e)
{
    uint64_t hash;
    uint32_t hlen;

    *same = false;
    if ((uint64_t)sb->st_ino != st->inode || (uint64_t)sb->st_dev != st->device ||
        (uint64_t)sb->st_size < st->offset)
        return 0;
    if (st->first_hash == 0) {
        *same = st->offset == 0;
        return 0;
    }
    if (first_line_hash(path, false, &hash, &hlen, e) < 0)
        return -1;
    *same = hash == st->first_hash;
    return 0;
}

static int run_rotation(struct run *r, const char *path, struct candidate *cands, int count,
                        int from, bool resume_first, struct err *e)
{
    for (int i = from; i < count; i++) {
        if (read_file(r, cands[i].path, &cands[i].sb, true, resume_first && i == from, e) < 0)
            return -1;
    }
    (void)path;
    return 0;
}

int reader_run(const char *path, struct log_state *st, bool have_state,
               const struct reader_options *opt_in, const struct reader_callbacks *cb,
               struct reader_stats *stats, struct err *e)
{
    struct reader_options opt = *opt_in;
    struct candidate *cands = NULL;
    struct stat sb;
    struct run r;
    int count = 0, rc = -1;
    bool same = false;

    memset(stats, 0, sizeof *stats);
    if (opt.checkpoint_lines <= 0)
        opt.checkpoint_lines = 50000;
    if (opt.now == 0)
        opt.now = (int64_t)time(NULL);
    if (stat(path, &sb) < 0)
        return err_sys(e, "%s", path);
    if (!S_ISREG(sb.st_mode))
        return err_set(e, "%s: not a regular file", path);
    if (access(path, R_OK) < 0)
        return err_sys(e, "%s", path);
    memset(&r, 0, sizeof r);
    r.cb = cb;
    r.opt = &opt;
    r.stats = stats;
    r.st = st;
    snprintf(st->path, sizeof st->path, "%s", path);
    if ((r.buf = malloc(READ_BUF)) == NULL ||
        (cands = calloc(CANDIDATES_MAX, sizeof *cands)) == NULL) {
        err_set(e, "out of memory");
        goto done;
    }
    if (have_state && same_file(path, &sb, st, &same, e) < 0)
        goto done;
    if (same) {
        rc = read_file(&r, path, &sb, false, true, e);
        goto done;
    }
    if (list_candidates(path, cands, &count, e) < 0)
        goto done;
    if (have_state) {
        int i = find_rotated(cands, count, st, e);

        if (i >= 0) {
            if (run_rotation(&r, path, cands, count, i, true, e) < 0)
                goto done;
        } else if (st->offset > 0) {
            warn_lost_rotation(&r, path);
        }
    } else if (opt.backfill_days > 0) {
        int first = count;

        for (int i = 0; i < count; i++)
            if ((int64_t)cands[i].sb.st_mtime >= opt.now - (int64_t)opt.backfill_days * 86400) {
                first = i;
                break;
            }
        if (run_rotation(&r, path, cands, count, first, false, e) < 0)
            goto done;
    }
    /* The log itself may have been rotated while we read the old one: stat again. */
    if (stat(path, &sb) < 0) {
        err_sys(e, "%s", path);
        goto done;
    }
    rc = read_file(&r, path, &sb, false, false, e);
done:
    free(r.buf);
    free(cands);
    return rc;
}
