/*
 * syslog.h — the header of one log line: time, host, program, pid, and the
 * message text that follows. Understands
 *   classic      "Nov 25 14:38:27 host prog[pid]: msg"   (local time, no year)
 *   RFC3339      "2023-03-14T00:00:31.185246+01:00 host prog[pid]: msg" (also Z)
 *   ISO-ish      "2019-10-15 08:08:52 prog: msg"
 *   RFC 5424     "<22>1 2023-03-14T00:00:31.185Z host prog 1234 - - msg"
 * with an optional severity or facility.severity column after the time, an
 * empty or missing host field, and programs without a pid. Nothing is
 * allocated: the fields are slices into the line.
 *
 * Classic timestamps are local time without a year. The year is chosen so
 * that the time is not more than one day after `reference` (the log file's
 * mtime): a December line read in January belongs to last year. Conversions
 * are cached per (day, hour) because mktime() is slow and lines come in order.
 * RFC3339 stamps carry their offset and need no time zone at all.
 */
#ifndef MAILLOG_PARSE_SYSLOG_H
#define MAILLOG_PARSE_SYSLOG_H

#include "util/slice.h"

#include <stdint.h>

struct syslog_clock {
    int64_t reference; /* UTC seconds; year inference for classic stamps */
    int reference_year;
    int reference_month; /* 1..12 */
    /* cache of the last classic stamp's local hour → UTC */
    char classic_key[9]; /* "Mmm dd HH" */
    int64_t classic_hour_utc;
    /* When that local hour happens twice (the clock set back at the end of
     * summer time): its second start, taken once the stamps go back in
     * time; 0 otherwise. */
    int64_t classic_hour_repeat;
    int64_t classic_last; /* UTC of the last classic stamp (kept by the tracker across
                             files and runs) */
    /* cache of the last RFC3339 stamp's "YYYY-MM-DDTHH" and offset → UTC of that hour */
    char iso_key[13];
    char iso_offset[6];
    int64_t iso_hour_utc;
};

struct syslog_header {
    int64_t time;      /* UTC seconds */
    struct slice host; /* may be empty */
    struct slice
        program; /* "postfix/submission/smtpd", "dovecot", "/usr/lib/plesk-9.0/psa-pc-remote" */
    struct slice daemon; /* last '/'-component of program: "smtpd", "dovecot", "psa-pc-remote" */
    struct slice syslog_name; /* program without "/daemon": "postfix/submission", "postfix-in";
                                 empty if no '/' */
    long pid;                 /* -1 when absent */
    struct slice message;     /* text after "program[pid]: " */
};

/* Sets the reference time (UTC seconds) for year inference. */
void syslog_clock_init(struct syslog_clock *clock, int64_t reference);

/* Splits line into h. Returns 0, or -1 when the line has no recognisable
 * timestamp and program (h is then unspecified). */
int syslog_parse(struct syslog_clock *clock, const char *line, size_t len, struct syslog_header *h);

/* Days since 1970-01-01 of a proleptic Gregorian date (for tests and callers). */
int64_t syslog_days_from_civil(int year, int month, int day);

#endif
