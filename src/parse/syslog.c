/*
 * syslog.c — splitting a log line into time, host, program, pid and message.
 * See syslog.h for the shapes accepted. Written for speed: one pass, no
 * allocation, mktime() only once per local hour.
 */
#include "parse/syslog.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n decimal digits at p, or -1. */
static int read_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int64_t syslog_days_from_civil(int year, int month, int day)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void syslog_clock_init(struct syslog_clock *clock, int64_t reference)
{
    time_t ref = (time_t)reference;
    struct tm tm;

    memset(clock, 0, sizeof *clock);
    clock->reference = reference;
    localtime_r(&ref, &tm);
    clock->reference_year = tm.tm_year + 1900;
    clock->reference_month = tm.tm_mon + 1;
}

/* UTC of local time year-month-day hour:00:00 (DST resolved by mktime). */
static int64_t local_hour_any(int year, int month, int day, int hour)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

/* True when UTC time t is local hour `hour` of day `day`. */
static bool is_local_hour(int64_t t, int day, int hour)
{
    time_t tt = (time_t)t;
    struct tm tm;

    return localtime_r(&tt, &tm) != NULL && tm.tm_mday == day && tm.tm_hour == hour;
}

/* UTC of local time year-month-day hour:00:00: its first occurrence, and in
 * *repeat its second one when the clock was set back over it (the same
 * local hour an hour later or earlier in UTC), else 0. Two localtime()
 * probes: mktime with a DST flag that does not hold searches (slowly). */
static int64_t local_hour_to_utc(int year, int month, int day, int hour, int64_t *repeat)
{
    int64_t t = local_hour_any(year, month, day, hour);

    *repeat = 0;
    if (is_local_hour(t + 3600, day, hour)) {
        *repeat = t + 3600;
        return t;
    }
    if (is_local_hour(t - 3600, day, hour)) {
        *repeat = t;
        return t - 3600;
    }
    return t;
}

/* "Mmm dd HH:MM:SS" (day space- or zero-padded, or unpadded). Returns bytes used or 0. */
static size_t parse_classic(struct syslog_clock *clock, const char *p, size_t len, int64_t *out)
{
    const char *m;
    size_t i = 4;
    int month, day, hour, minute, second;
    char key[9];

    if (len < 14 || p[3] != ' ')
        return 0;
    m = memmem(month_names, 36, p, 3);
    if (m == NULL || (m - month_names) % 3 != 0)
        return 0;
    month = (int)(m - month_names) / 3 + 1;
    if (p[i] == ' ')
        i++;
    if (!digit(p[i]))
        return 0;
    day = p[i++] - '0';
    if (digit(p[i]))
        day = day * 10 + (p[i++] - '0');
    if (day < 1 || day > 31 || i + 9 > len || p[i] != ' ' || p[i + 3] != ':' || p[i + 6] != ':')
        return 0;
    hour = read_digits(p + i + 1, 2);
    minute = read_digits(p + i + 4, 2);
    second = read_digits(p + i + 7, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return 0;

    key[0] = p[0], key[1] = p[1], key[2] = p[2];
    key[3] = (char)('0' + day / 10), key[4] = (char)('0' + day % 10);
    key[5] = (char)('0' + hour / 10), key[6] = (char)('0' + hour % 10);
    key[7] = '\0';
    if (memcmp(key, clock->classic_key, 8) != 0) {
        int year = clock->reference_year;
        int64_t t = local_hour_to_utc(year, month, day, hour, &clock->classic_hour_repeat);
        /* A stamp more than a day after the reference is from the year before. */
        if (t > clock->reference + 86400)
            t = local_hour_to_utc(year - 1, month, day, hour, &clock->classic_hour_repeat);
        memcpy(clock->classic_key, key, 8);
        clock->classic_hour_utc = t;
    }
    *out = clock->classic_hour_utc + minute * 60 + second;
    /* The repeated hour: its second pass starts where the stamps go back by
     * half an hour or more (lines a few minutes out of order, from a relay
     * whose clock is behind, are not it). The last stamp may be of an
     * earlier file or run: see track_set_reference_time(). */
    if (clock->classic_hour_repeat != 0 && clock->classic_last > *out + 1800 &&
        clock->classic_last < clock->classic_hour_repeat + 3600 + 1800) {
        *out += clock->classic_hour_repeat - clock->classic_hour_utc;
        clock->classic_hour_utc = clock->classic_hour_repeat;
        clock->classic_hour_repeat = 0;
    }
    clock->classic_last = *out;
    i += 9;
    /* Some syslogs add fractions to classic stamps: "Nov 25 14:38:27.123". */
    if (i < len && p[i] == '.') {
        i++;
        while (i < len && digit(p[i]))
            i++;
    }
    return i;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm|+hhmm]" or with ' ' for 'T'. Returns bytes used or 0. */
static size_t parse_iso_slow(const char *p, size_t len, int64_t *out);

/* Lines of one hour share "YYYY-MM-DDTHH" and the offset: reuse that hour's UTC. */
static size_t parse_iso(struct syslog_clock *clock, const char *p, size_t len, int64_t *out)
{
    size_t i = 19, used;
    int minute, second;

    if (len >= 32 && memcmp(p, clock->iso_key, 13) == 0 && p[13] == ':' && p[16] == ':') {
        minute = read_digits(p + 14, 2);
        second = read_digits(p + 17, 2);
        if (p[i] == '.') {
            i++;
            while (i < len && digit(p[i]))
                i++;
        }
        if (minute >= 0 && minute < 60 && second >= 0 && second <= 60 && i + 6 <= len &&
            memcmp(p + i, clock->iso_offset, 6) == 0) {
            *out = clock->iso_hour_utc + minute * 60 + second;
            return i + 6;
        }
    }
    used = parse_iso_slow(p, len, out);
    /* remember the hour when the stamp has a "+hh:mm" offset */
    if (used >= 25 && used <= len && p[used - 3] == ':' &&
        (p[used - 6] == '+' || p[used - 6] == '-')) {
        memcpy(clock->iso_key, p, 13);
        memcpy(clock->iso_offset, p + used - 6, 6);
        clock->iso_hour_utc = *out - read_digits(p + 14, 2) * 60 - read_digits(p + 17, 2);
    }
    return used;
}

static size_t parse_iso_slow(const char *p, size_t len, int64_t *out)
{
    int year, month, day, hour, minute, second;
    size_t i = 19;
    int64_t offset = 0;
    int has_offset = 0;

    if (len < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ') || p[13] != ':' ||
        p[16] != ':')
        return 0;
    year = read_digits(p, 4);
    month = read_digits(p + 5, 2);
    day = read_digits(p + 8, 2);
    hour = read_digits(p + 11, 2);
    minute = read_digits(p + 14, 2);
    second = read_digits(p + 17, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second < 0 || second > 60)
        return 0;
    if (i < len && p[i] == '.') {
        i++;
        while (i < len && digit(p[i]))
            i++;
    }
    if (i < len && p[i] == 'Z') {
        i++;
        has_offset = 1;
    } else if (i + 5 <= len && (p[i] == '+' || p[i] == '-')) {
        int oh = read_digits(p + i + 1, 2), om;
        size_t used = 6;
        if (p[i + 3] == ':')
            om = i + 6 <= len ? read_digits(p + i + 4, 2) : -1;
        else
            om = read_digits(p + i + 3, 2), used = 5;
        if (oh >= 0 && om >= 0 && oh < 24 && om < 60) {
            offset = (oh * 3600 + om * 60) * (p[i] == '-' ? -1 : 1);
            i += used;
            has_offset = 1;
        }
    }
    if (has_offset)
        *out = syslog_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
               second - offset;
    else /* local time without an offset: the repeated hour is not told apart */
        *out = local_hour_any(year, month, day, hour) + minute * 60 + second;
    return i;
}

/* A severity or facility.severity column some syslog templates add. */
static int is_severity(struct slice tok)
{
    /* most lines have a host here: reject by first letter before comparing */
    switch (tok.len ? tok.ptr[0] | 0x20 : 0) {
    case 'e':
    case 'a':
    case 'c':
    case 'w':
    case 'n':
    case 'i':
    case 'd':
    case 'm':
    case 'l':
        break;
    default:
        return 0;
    }
    static const char *const names[] = {"emerg",   "alert", "crit",   "err",  "error",
                                        "warning", "warn",  "notice", "info", "debug"};
    const char *dot = memchr(tok.ptr, '.', tok.len);

    if (dot != NULL)
        tok = slice_make(dot + 1, tok.len - (size_t)(dot + 1 - tok.ptr));
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (tok.len == strlen(names[i]) && strncasecmp(tok.ptr, names[i], tok.len) == 0)
            return 1;
    return 0;
}

static struct slice next_token(const char **p, const char *end)
{
    const char *start, *space;

    while (*p < end && **p == ' ')
        (*p)++;
    start = *p;
    space = memchr(start, ' ', (size_t)(end - start));
    *p = space ? space : end;
    return slice_make(start, (size_t)(*p - start));
}

/* Fills program, daemon and syslog_name from a program name ("postfix/smtpd"). */
static void set_program(struct slice program, struct syslog_header *h)
{
    const char *end = program.ptr + program.len;
    const char *slash;

    h->program = program;
    {
        /* Dovecot's "lda(user)<pid><session/id>": a '/' inside is not a path */
        const char *paren = memchr(h->program.ptr, '(', h->program.len);
        size_t scan = paren ? (size_t)(paren - h->program.ptr) : h->program.len;
        slash = scan ? memrchr(h->program.ptr, '/', scan) : NULL;
    }
    if (slash != NULL) {
        h->daemon = slice_make(slash + 1, (size_t)(end - slash - 1));
        h->syslog_name = slice_make(program.ptr, (size_t)(slash - program.ptr));
    } else {
        h->daemon = h->program;
        h->syslog_name = slice_make(program.ptr, 0);
    }
}

/* Fills program/pid/daemon/syslog_name from a "prog[pid]:" token (colon included). */
static void split_program(struct slice tok, struct syslog_header *h)
{
    const char *end = tok.ptr + tok.len - 1; /* at ':' */
    const char *bracket = NULL;

    h->pid = -1;
    if (end > tok.ptr && end[-1] == ']')
        bracket = memchr(tok.ptr, '[', tok.len);
    if (bracket != NULL) {
        long pid = 0;
        const char *q = bracket + 1;
        while (q < end - 1 && digit(*q) && pid < 100000000)
            pid = pid * 10 + (*q++ - '0');
        if (q == end - 1 && q > bracket + 1)
            h->pid = pid;
        end = bracket;
    }
    set_program(slice_make(tok.ptr, (size_t)(end - tok.ptr)), h);
}

static int is_program_token(struct slice tok)
{
    return tok.len >= 2 && tok.ptr[tok.len - 1] == ':';
}

/* daemontools "@4000000063a1b2c3xxxxxxxx" (TAI64N): 16 hex digits of TAI seconds + 8 of
 * nanoseconds. */
static size_t parse_tai64n(const char *p, size_t len, int64_t *out)
{
    uint64_t tai = 0;

    if (len < 25 || p[0] != '@')
        return 0;
    for (size_t i = 1; i < 25; i++) {
        char c = p[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return 0;
        if (i <= 16)
            tai = tai * 16 + (uint64_t)v;
    }
    /* TAI label 2^62 + 10 s is 1970-01-01 UTC (leap seconds since then ignored). */
    if (tai < 4611686018427387914ULL)
        return 0;
    *out = (int64_t)(tai - 4611686018427387914ULL);
    return 25;
}

/* Skips RFC 5424 structured data at p: "-" or "[id k=\"v\" …]…" (a ']' or
 * '"' inside a value is escaped with '\\'). Returns the end, or NULL. */
static const char *skip_structured_data(const char *p, const char *end)
{
    bool quoted = false;

    if (p < end && *p == '-')
        return p + 1;
    if (p == end || *p != '[')
        return NULL;
    for (; p < end; p++) {
        if (*p == '\\' && quoted && p + 1 < end)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == ']' && !quoted && (p + 1 == end || p[1] != '['))
            return p + 1;
    }
    return NULL;
}

/* RFC 5424, as rsyslog's RSYSLOG_SyslogProtocol23Format writes it:
 * "<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID STRUCTURED-DATA MSG", each
 * field "-" when absent. */
static int parse_rfc5424(struct syslog_clock *clock, const char *line, size_t len,
                         struct syslog_header *h)
{
    const char *p = line + 1, *end = line + len;
    struct slice host, app, procid, msgid;
    size_t used;

    while (p < end && digit(*p) && p - line <= 3)
        p++;
    if (p == line + 1 || end - p < 3 || memcmp(p, ">1 ", 3) != 0)
        return -1;
    p += 3;
    if ((used = parse_iso(clock, p, (size_t)(end - p), &h->time)) == 0)
        return -1;
    p += used;
    host = next_token(&p, end);
    app = next_token(&p, end);
    procid = next_token(&p, end);
    msgid = next_token(&p, end);
    if (msgid.len == 0 || (app.len == 1 && app.ptr[0] == '-'))
        return -1;
    while (p < end && *p == ' ')
        p++;
    if ((p = skip_structured_data(p, end)) == NULL)
        return -1;
    if (p < end && *p == ' ')
        p++;
    if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 BOM before MSG */
        p += 3;
    h->host = host.len == 1 && host.ptr[0] == '-' ? slice_make(host.ptr, 0) : host;
    h->pid = -1;
    if (procid.len > 0 && procid.len <= 9) {
        long pid = 0;
        size_t i = 0;
        while (i < procid.len && digit(procid.ptr[i]))
            pid = pid * 10 + (procid.ptr[i++] - '0');
        if (i == procid.len)
            h->pid = pid;
    }
    set_program(app, h);
    h->message = slice_make(p, (size_t)(end - p));
    return 0;
}

int syslog_parse(struct syslog_clock *clock, const char *line, size_t len, struct syslog_header *h)
{
    const char *p, *end = line + len;
    size_t used;
    struct slice tok;

    if (len > 0 && line[0] == '<')
        return parse_rfc5424(clock, line, len, h);
    if (len > 0 && line[0] == '@')
        used = parse_tai64n(line, len, &h->time);
    else if (len > 0 && digit(line[0]))
        used = parse_iso(clock, line, len, &h->time);
    else
        used = parse_classic(clock, line, len, &h->time);
    if (used == 0)
        return -1;
    p = line + used;
    h->host = slice_make(p, 0);

    /* Up to three columns before the program: [severity] [host] [severity]. */
    for (int column = 0; column < 3; column++) {
        tok = next_token(&p, end);
        if (tok.len == 0)
            return -1;
        if (is_program_token(tok)) {
            split_program(tok, h);
            if (p < end && *p == ' ')
                p++;
            h->message = slice_make(p, (size_t)(end - p));
            return 0;
        }
        if (h->host.len == 0 && !is_severity(tok))
            h->host = tok;
    }
    return -1;
}
