/*
 * ingest_cmd.c — `maillog ingest` (the analysis cron) and `maillog purge`.
 *
 * ingest: takes an exclusive lock (DB.lock) so two runs never write at once,
 * opens the database, refreshes the domains table from the domains file,
 * then feeds each configured log from its saved position through the
 * tracker into the store. Every checkpoint (at most --checkpoint-lines
 * lines) flushes the tracker, saves the log position and commits, in one
 * transaction: a run killed at any point and run again gives the same
 * database as one uninterrupted run. When every log was read to its end,
 * the read mark moves to the run's start time (`maillog alerts` examines only
 * hours that end before it). Ends with the retention purge.
 * SIGTERM, SIGINT or SIGHUP (unless ignored by the caller) stops the run at
 * the next line: what the last checkpoint committed stays, the rest is read
 * again by the next run; the run says so and then dies of the same signal
 * (so cron and shells see it).
 * Exit codes: 0 done (also: cron disabled, another ingest running), 1 failure,
 * 2 usage.
 */
#include "cli/commands.h"
#include "geo/geo.h"
#include "reader/reader.h"
#include "store/query.h"
#include "store/store.h"
#include "track/track.h"
#include "util/config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_MS 3000

struct ingest_opts {
    const char *config_path;
    struct config cfg;
    bool backfill;
    bool quiet;
    int checkpoint_lines;
    /* --log named other logs than the configuration's (a one-off import):
     * reading them says nothing of whether the server's log was read, so
     * the read mark the alert run waits for does not move */
    bool logs_chosen;
};

static void ingest_usage(FILE *out)
{
    fprintf(out,
            "usage: maillog ingest [--config FILE] [--db PATH] [--log PATH]... [--domains FILE]\n"
            "                      [--geoip FILE] [--backfill] [--quiet]\n"
            "  Reads the new lines of the mail log(s) into the database; run it from cron\n"
            "  every few minutes. Resumes where the last run stopped, follows log rotation\n"
            "  (.1, -YYYYMMDD, .gz), and deletes records older than retention_days.\n"
            "  --config FILE     INI file (default %s)\n"
            "  --db PATH         database (default %s/maillog.db)\n"
            "  --log PATH        a log to read, repeatable (default /var/log/maillog, else\n"
            "                    /var/log/mail.log)\n"
            "  --domains FILE    hosted domains, JSON [{name, owner_email, client, reseller, "
            "sysuser_uid}]\n"
            "  --geoip FILE      country database (.mmdb); missing: no countries\n"
            "  --backfill        first run only: also read rotated logs inside the retention\n"
            "  --checkpoint-lines N  commit every N lines (default 50000)\n"
            "  --quiet           no summary line\n",
            CONFIG_DEFAULT_FILE, CONFIG_DEFAULT_DIR);
}

static void purge_usage(FILE *out)
{
    fprintf(out, "usage: maillog purge [--config FILE] [--db PATH]\n"
                 "  Deletes records older than the retention_days setting, in small\n"
                 "  transactions (ingest also does this at the end of each run).\n");
}

/* ---- lock ---------------------------------------------------------------------- */

/* An exclusive flock on DB.lock: 1 held, 0 busy after waiting, -1 error. */
static int take_lock(const char *db_path, int *fd_out, struct err *e)
{
    char path[CONFIG_PATH_MAX + 8];
    int fd;

    snprintf(path, sizeof path, "%s.lock", db_path);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_sys(e, "lock %s", path);
    for (int waited = 0;; waited += 100) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            *fd_out = fd;
            return 1;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            err_sys(e, "lock %s", path);
            close(fd);
            return -1;
        }
        if (waited >= LOCK_WAIT_MS) {
            close(fd);
            return 0;
        }
        usleep(100 * 1000);
    }
}

/* ---- the run ---------------------------------------------------------------------- */

/* The signal that asked the run to stop, 0 if none. The one piece of state
 * outside the run's structs: a signal handler has nowhere else to write. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* A signal the caller ignores (nohup, a background job of sh) stays ignored. */
static void catch_stop_signals(void)
{
    static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa, old;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART; /* a second signal kills at once */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        if (sigaction(stop_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(stop_signals[i], &sa, NULL);
}

/* After a run the stop signal cut short: dies of it, as an uncaught signal
 * would. (A signal after the last line lets the run finish: it exits 0.) */
static void die_of_stop_signal(void)
{
    int sig = stop_signal;

    if (sig == 0)
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

struct ingest {
    struct store *store;
    struct tracker *tracker;
    bool quiet;
};

static int on_file(void *ctx, const char *path, int64_t mtime, struct err *e)
{
    struct ingest *in = ctx;

    (void)path, (void)e;
    track_set_reference_time(in->tracker, mtime);
    return 0;
}

static int on_line(void *ctx, const char *line, size_t len, struct err *e)
{
    struct ingest *in = ctx;

    if (stop_signal != 0)
        return err_set(e,
                       "stopped by %s; the database keeps what the last checkpoint saved, "
                       "the next run reads the rest",
                       strsignal(stop_signal));
    return track_line(in->tracker, line, len, e);
}

/* The rows of the lines so far and the position after them, in one commit. */
static int on_checkpoint(void *ctx, const struct log_state *st, struct err *e)
{
    struct ingest *in = ctx;

    if (track_flush(in->tracker, e) < 0 || store_log_state_put(in->store, st, e) < 0 ||
        store_commit(in->store, e) < 0)
        return -1;
    return store_begin(in->store, e);
}

static void on_warning(void *ctx, const char *text)
{
    (void)ctx;
    fprintf(stderr, "maillog ingest: warning: %s\n", text);
}

/* The configured logs; with the built-in candidates, the first that exists. */
static int pick_logs(const struct config *c, const char **logs, int *count, struct err *e)
{
    *count = 0;
    if (!c->log_auto) {
        for (int i = 0; i < c->log_count; i++)
            logs[(*count)++] = c->log_paths[i];
        return 0;
    }
    for (int i = 0; i < c->log_count; i++)
        if (access(c->log_paths[i], F_OK) == 0) {
            logs[(*count)++] = c->log_paths[i];
            return 0;
        }
    return err_set(e, "no mail log found (tried %s and %s); name one with --log", c->log_paths[0],
                   c->log_paths[1]);
}

/* A new database gets the [defaults] of the config as its admin settings. */
static int seed_settings(struct store *s, const struct config *c, struct err *e)
{
    sqlite3_stmt *q;
    struct settings st;
    int any = 1;

    if (c->defaults_count == 0)
        return 0;
    if (sqlite3_prepare_v2(store_handle(s), "SELECT EXISTS(SELECT 1 FROM settings)", -1, &q,
                           NULL) != SQLITE_OK)
        return err_set(e, "database: %s", sqlite3_errmsg(store_handle(s)));
    if (sqlite3_step(q) == SQLITE_ROW)
        any = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (any)
        return 0;
    settings_defaults(&st);
    for (int i = 0; i < c->defaults_count; i++)
        if (settings_set_text(&st, c->defaults[i].key, c->defaults[i].value, e) < 0)
            return err_prefix(e, "config [defaults]");
    return store_settings_set(s, &st, e);
}

/* Where the last run stopped in the tracker: the links it saved (see
 * src/track/state.c). Bytes that do not decode only cost those links. */
static int restore_tracker(struct store *s, struct tracker *t, struct err *e)
{
    void *data;
    size_t len;
    struct err we;
    int rc;

    if ((rc = store_track_state_get(s, &data, &len, e)) <= 0)
        return rc;
    rc = track_restore(t, data, len, &we);
    free(data);
    if (rc < 0) {
        *e = we;
        return -1;
    }
    if (rc == 1)
        fprintf(stderr,
                "maillog ingest: warning: the tracker state saved by the last run is unreadable "
                "(%s); a mail whose lines straddle that run's end may lose its link\n",
                we.text);
    return 0;
}

static int ingest_log(struct ingest *in, const char *path, const struct reader_options *ro,
                      struct reader_stats *total, struct err *e)
{
    struct reader_callbacks cb = {in, on_file, on_line, on_checkpoint, on_warning};
    struct reader_stats rs;
    struct log_state st;
    int have;

    memset(&st, 0, sizeof st);
    if (store_begin(in->store, e) < 0)
        return -1;
    if ((have = store_log_state_get(in->store, path, &st, e)) < 0 ||
        reader_run(path, &st, have == 1, ro, &cb, &rs, e) < 0) {
        store_rollback(in->store);
        return -1;
    }
    if (store_commit(in->store, e) < 0)
        return -1;
    total->lines += rs.lines;
    total->bytes += rs.bytes;
    total->files += rs.files;
    return 0;
}

static int parse_ingest_args(int argc, char **argv, struct ingest_opts *o, bool purge)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"db", required_argument, NULL, 'd'},
                                             {"log", required_argument, NULL, 'l'},
                                             {"domains", required_argument, NULL, 'D'},
                                             {"geoip", required_argument, NULL, 'g'},
                                             {"backfill", no_argument, NULL, 'b'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"checkpoint-lines", required_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct err e;
    int ch;
    /* flags are applied after the config file: remember them first */
    const char *db = NULL, *domains = NULL, *geoip = NULL;
    const char *logs[CONFIG_LOGS_MAX];
    int nlogs = 0;

    memset(o, 0, sizeof *o);
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (purge && ch != 'c' && ch != 'd' && ch != 'h')
            ch = '?';
        switch (ch) {
        case 'c':
            o->config_path = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'l':
            if (nlogs == CONFIG_LOGS_MAX) {
                fprintf(stderr, "maillog %s: at most %d --log\n", argv[0], CONFIG_LOGS_MAX);
                return 2;
            }
            logs[nlogs++] = optarg;
            break;
        case 'D':
            domains = optarg;
            break;
        case 'g':
            geoip = optarg;
            break;
        case 'b':
            o->backfill = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'n':
            o->checkpoint_lines = atoi(optarg);
            break;
        case 'h':
            (purge ? purge_usage : ingest_usage)(stdout);
            return 0;
        default:
            (purge ? purge_usage : ingest_usage)(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "maillog %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return 2;
    }
    config_defaults(&o->cfg);
    if (config_load(&o->cfg, o->config_path ? o->config_path : CONFIG_DEFAULT_FILE,
                    o->config_path != NULL, &e) < 0) {
        fprintf(stderr, "maillog %s: %s\n", argv[0], e.text);
        return 1;
    }
    if (db)
        snprintf(o->cfg.db_path, sizeof o->cfg.db_path, "%s", db);
    if (domains)
        snprintf(o->cfg.domains_path, sizeof o->cfg.domains_path, "%s", domains);
    if (geoip)
        snprintf(o->cfg.geoip_path, sizeof o->cfg.geoip_path, "%s", geoip);
    if (nlogs > 0) {
        const char *configured[CONFIG_LOGS_MAX];
        int nconfigured;

        /* what the configuration would read: its logs, or the first of
         * the built-in candidates that exists */
        if (pick_logs(&o->cfg, configured, &nconfigured, &e) < 0)
            nconfigured = 0;
        o->logs_chosen = nconfigured != nlogs;
        for (int i = 0; i < nlogs && !o->logs_chosen; i++)
            o->logs_chosen = strcmp(configured[i], logs[i]) != 0;
        o->cfg.log_auto = true; /* the flags replace the file's logs */
        for (int i = 0; i < nlogs; i++)
            if (config_add_log(&o->cfg, logs[i], &e) < 0) {
                fprintf(stderr, "maillog %s: %s\n", argv[0], e.text);
                return 2;
            }
    }
    return -1; /* go on */
}

static void print_report(const struct reader_stats *rs, const struct track_counts *c, long purged,
                         double secs)
{
    uint64_t dl = 0;

    for (int i = 0; i < DELIVERY_STATUS_COUNT; i++)
        dl += c->deliveries[i];
    fprintf(stderr,
            "maillog ingest: %llu lines (%llu bytes, %d files) in %.2f s; %llu messages, "
            "%llu delivery attempts, %llu logins; %ld old rows purged\n",
            (unsigned long long)rs->lines, (unsigned long long)rs->bytes, rs->files, secs,
            (unsigned long long)c->messages, (unsigned long long)dl,
            (unsigned long long)(c->access_ok + c->access_failed), purged);
}

static int run_ingest(struct ingest_opts *o, struct store *s, struct err *e)
{
    struct ingest in = {s, NULL, o->quiet};
    struct reader_options ro;
    struct reader_stats total = {0, 0, 0};
    struct settings st;
    struct track_sink sink;
    struct geo *geo = NULL;
    struct err we;
    struct timespec t0, t1;
    const char *logs[CONFIG_LOGS_MAX];
    int nlogs, rc = -1;
    long purged;

    int64_t started = (int64_t)time(NULL); /* everything logged before it gets read */

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (seed_settings(s, &o->cfg, e) < 0 || store_settings_get(s, &st, e) < 0)
        return -1;
    if (!st.cron_enabled) {
        /* the retention still holds: what is stored stays no longer than
         * the admin set, analysed or not */
        if ((purged = store_purge(s, (int64_t)time(NULL), 0, e)) < 0)
            return -1;
        fprintf(stderr,
                "maillog ingest: log analysis is disabled (cron_enabled is off); no log read, "
                "%ld record(s) past the retention deleted\n",
                purged);
        return 0;
    }
    if (pick_logs(&o->cfg, logs, &nlogs, e) < 0)
        return -1;
    if ((geo = geo_open(o->cfg.geoip_path, &we)) == NULL)
        fprintf(stderr, "maillog ingest: warning: %s; countries stay empty\n", we.text);
    store_set_geo(s, geo);
    if (access(o->cfg.domains_path, F_OK) == 0 ||
        strcmp(o->cfg.domains_path, CONFIG_DEFAULT_DIR "/domains.json")) {
        if (store_load_domains(s, o->cfg.domains_path, &we) < 0) {
            /* a bad file keeps the old list; a database error stops the run */
            if (strncmp(we.text, "domains file", 12) != 0) {
                *e = we;
                goto done;
            }
            fprintf(stderr, "maillog ingest: warning: %s; keeping the previous domain list\n",
                    we.text);
        }
    }
    store_sink(s, &sink);
    if ((in.tracker = track_new(&sink)) == NULL) {
        err_set(e, "out of memory");
        goto done;
    }
    /* The tracker state of these logs: a one-off import of another log
     * neither continues the server's nor replaces it. */
    if (store_track_logs(s, logs, nlogs, e) < 0 || restore_tracker(s, in.tracker, e) < 0)
        goto done;
    memset(&ro, 0, sizeof ro);
    ro.checkpoint_lines = o->checkpoint_lines;
    ro.backfill_days = o->backfill ? st.retention_days : 0;
    for (int i = 0; i < nlogs; i++)
        if (ingest_log(&in, logs[i], &ro, &total, e) < 0)
            goto done;
    if (o->logs_chosen) {
        if (!o->quiet)
            fprintf(stderr, "maillog ingest: logs named by --log: the alert run is not told that "
                            "the configured logs were read\n");
    } else {
        if (store_begin(s, e) < 0)
            goto done;
        if (store_read_mark_put(s, started, e) < 0 || store_commit(s, e) < 0) {
            store_rollback(s);
            goto done;
        }
    }
    if ((purged = store_purge(s, (int64_t)time(NULL), 0, e)) < 0 || store_maintain(s, e) < 0)
        goto done;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!o->quiet)
        print_report(&total, track_counts(in.tracker), purged,
                     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    rc = 0;
done:
    track_free(in.tracker);
    store_set_geo(s, NULL);
    geo_close(geo);
    return rc;
}

static int open_locked(const char *cmd, struct ingest_opts *o, struct store **s, int *lock_fd)
{
    struct err e;
    int got = take_lock(o->cfg.db_path, lock_fd, &e);

    if (got < 0) {
        fprintf(stderr, "maillog %s: %s\n", cmd, e.text);
        return 1;
    }
    if (got == 0) {
        fprintf(stderr, "maillog %s: another ingest or purge is running on %s; nothing done\n", cmd,
                o->cfg.db_path);
        return 0;
    }
    if ((*s = store_open(o->cfg.db_path, 0, &e)) == NULL) {
        fprintf(stderr, "maillog %s: %s\n", cmd, e.text);
        close(*lock_fd);
        return 1;
    }
    return -1;
}

int cmd_ingest(int argc, char **argv)
{
    struct ingest_opts *o = malloc(sizeof *o);
    struct store *s = NULL;
    struct err e;
    int rc, lock_fd = -1;

    if (o == NULL) {
        fprintf(stderr, "maillog ingest: out of memory\n");
        return 1;
    }
    if ((rc = parse_ingest_args(argc, argv, o, false)) >= 0 ||
        (rc = open_locked("ingest", o, &s, &lock_fd)) >= 0) {
        free(o);
        return rc;
    }
    rc = 0;
    catch_stop_signals();
    if (run_ingest(o, s, &e) < 0) {
        fprintf(stderr, "maillog ingest: %s\n", e.text);
        rc = 1;
    }
    store_close(s);
    close(lock_fd);
    free(o);
    if (rc != 0)
        die_of_stop_signal();
    return rc;
}

int cmd_purge(int argc, char **argv)
{
    struct ingest_opts *o = malloc(sizeof *o);
    struct store *s = NULL;
    struct err e;
    long n;
    int rc, lock_fd = -1;

    if (o == NULL) {
        fprintf(stderr, "maillog purge: out of memory\n");
        return 1;
    }
    if ((rc = parse_ingest_args(argc, argv, o, true)) >= 0 ||
        (rc = open_locked("purge", o, &s, &lock_fd)) >= 0) {
        free(o);
        return rc;
    }
    rc = 0;
    if ((n = store_purge(s, (int64_t)time(NULL), 0, &e)) < 0) {
        fprintf(stderr, "maillog purge: %s\n", e.text);
        rc = 1;
    } else {
        printf("%ld rows deleted\n", n);
    }
    store_close(s);
    close(lock_fd);
    free(o);
    return rc;
}
