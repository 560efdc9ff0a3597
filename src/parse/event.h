/*
 * event.h — one parsed log line: what the parser hands to the tracker.
 *
 * An event is a tagged struct. Which fields are meaningful depends on kind
 * (listed per kind below); all text fields are slices into the line and are
 * valid only until the next line is parsed. The parser never allocates.
 */
#ifndef MAILLOG_PARSE_EVENT_H
#define MAILLOG_PARSE_EVENT_H

#include "parse/syslog.h"
#include "track/record.h"
#include "util/slice.h"

#include <stdint.h>

/* Which software wrote the line. FAMILY_OTHER lines are not counted as
 * unrecognised: they are simply not ours (amavis, opendkim, sendmail, …). */
enum event_family {
    FAMILY_NONE = 0, /* no syslog header at all */
    FAMILY_POSTFIX,
    FAMILY_DOVECOT,
    FAMILY_COURIER,
    FAMILY_PLESK,
    FAMILY_OTHER
};

/* The Postfix daemon that wrote a FAMILY_POSTFIX line (set once, dispatched on). */
enum postfix_daemon {
    PD_NONE = 0,
    PD_SMTPD,
    PD_POSTSCREEN,
    PD_CLEANUP,
    PD_QMGR,
    PD_SMTP,
    PD_LMTP,
    PD_LOCAL,
    PD_VIRTUAL,
    PD_PIPE,
    PD_PICKUP,
    PD_BOUNCE,
    PD_ERROR,
    PD_RETRY,
    PD_DISCARD,
    PD_DEFER,
    PD_TRACE,
    PD_OQMGR,
    PD_POSTSUPER,
    PD_QUIET /* anvil, scache, master, …: recognised, nothing to keep */
};

enum event_kind {
    EV_UNKNOWN = 0, /* a line of our families that no rule understood */
    EV_IGNORED,     /* understood, carries nothing we keep (TLS, anvil, postscreen PASS, …) */
    EV_CONNECT,     /* smtpd "connect from": client */
    EV_CLIENT,      /* smtpd "QID: client=": queue_id, client, sasl_method, sasl_username */
    EV_REJECT,      /* smtpd/cleanup reject, milter-reject, discard: queue_id (empty for NOQUEUE),
                       client, status (REJECTED or DISCARDED), text, from, to, helo */
    EV_MESSAGE_ID,  /* cleanup "QID: message-id=<…>": queue_id, message_id */
    EV_QUEUED,      /* qmgr "QID: from=<…>, size=N, nrcpt=N": queue_id, from, size, nrcpt */
    EV_REMOVED,     /* qmgr/postsuper "QID: removed": queue_id */
    EV_EXPIRED,     /* qmgr "QID: from=<…>, status=expired, returned to sender": queue_id, from */
    EV_DELIVERY, /* "QID: to=<…>, … status=X (text)": queue_id, to, orig_to, relay, delay, dsn,
                    status, text, new_queue_id ("queued as"/"forwarded as" in text) */
    EV_NOTIFY, /* bounce "QID: sender non-delivery notification: NEWQID": queue_id, new_queue_id */
    EV_PICKUP, /* pickup "QID: uid=N from=<…>": queue_id, from, uid */
    EV_LOGIN,  /* mailbox login or failed login: protocol, success, user, ip, method, text */
    EV_REPEATED, /* "last message repeated N times" / "message repeated N times: [ … ]": count */
};

struct event {
    enum event_family family;
    enum event_kind kind;
    enum postfix_daemon postfix_daemon;
    struct syslog_header header;

    struct slice queue_id;
    struct slice client_host;
    struct slice client_ip; /* without brackets; may still be "::ffff:…" (normalised later) */
    struct slice sasl_method;
    struct slice sasl_username;
    struct slice from; /* without <>; empty for <> */
    struct slice to;
    struct slice orig_to;
    struct slice relay;
    struct slice dsn;
    struct slice text; /* status text in (), reject reason, login failure reason */
    struct slice helo;
    struct slice message_id; /* without <> */
    struct slice new_queue_id;
    enum delivery_status status;
    int64_t size; /* -1 unknown */
    long nrcpt;   /* -1 unknown */
    double delay; /* -1 unknown */
    long uid;
    long count; /* EV_REPEATED */

    enum access_protocol protocol; /* EV_LOGIN */
    int success;                   /* EV_LOGIN */
    struct slice user;             /* EV_LOGIN */
    struct slice ip;               /* EV_LOGIN: remote IP */
    struct slice method;           /* EV_LOGIN */
};

/* Parse state that lives across lines (only the clock for now). */
struct parser {
    struct syslog_clock clock;
};

void parser_init(struct parser *p, int64_t reference_time);

/* Parses one line (no trailing newline) into ev. Never fails: a line without
 * a header gets FAMILY_NONE, one of ours that no rule matches EV_UNKNOWN. */
void parse_line(struct parser *p, const char *line, size_t len, struct event *ev);

/* Family parsers, called by parse_line() after the header (parse/postfix.c,
 * parse/dovecot.c, parse/courier.c). They set kind and the fields. */
void parse_postfix(struct event *ev);
void parse_dovecot(struct event *ev, struct slice message);
void parse_dovecot_service(struct event *ev, struct slice service, struct slice rest);
void parse_courier(struct event *ev);

#endif
