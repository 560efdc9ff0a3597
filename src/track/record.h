/*
 * record.h — what the tracker hands to the store: messages, deliveries and
 * mailbox access events. This is the contract between src/track and
 * src/store; it has no behaviour of its own.
 *
 * A message is one life of one Postfix queue id on one host (from its first
 * line to `removed`), or one NOQUEUE rejection. Its deliveries are one row per
 * recipient whose status changes as attempts happen (deferred -> sent,
 * deferred -> expired). The tracker owns the structs; the store copies what it
 * needs during the call. All strings are NUL-terminated, UTF-8 or raw bytes
 * exactly as logged (never trusted: the store and the API escape on output),
 * truncated to the array size. Times are UTC seconds since the epoch.
 */
#ifndef MAILLOG_TRACK_RECORD_H
#define MAILLOG_TRACK_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define RECORD_ADDR_MAX 256    /* envelope address, sasl user, mailbox */
#define RECORD_HOST_MAX 128    /* host names (client, relay) */
#define RECORD_IP_MAX 48       /* textual IPv4/IPv6, without brackets or ::ffff: */
#define RECORD_QID_MAX 24      /* Postfix queue ids are at most ~20 chars */
#define RECORD_MSGID_MAX 256   /* Message-ID header, without <> */
#define RECORD_TEXT_MAX 512    /* status text / reject reason */
#define RECORD_LINES_MAX 16384 /* raw log bytes kept per message for the trace */

enum delivery_status {
    DELIVERY_SENT = 0,
    DELIVERY_DEFERRED,
    DELIVERY_BOUNCED,
    DELIVERY_EXPIRED,
    DELIVERY_REJECTED,
    DELIVERY_DISCARDED,
    DELIVERY_STATUS_COUNT
};

/* Stable lower-case names ("sent", "deferred", …) used in the database, the
 * API and the CLI; NULL for an out-of-range value. */
const char *delivery_status_name(enum delivery_status status);
/* The reverse; returns -1 for an unknown name. */
int delivery_status_from_name(const char *name);

/* How a message entered this server: what decides the "sent" tabs. */
enum message_origin {
    ORIGIN_REMOTE = 0, /* SMTP from a non-local, unauthenticated client */
    ORIGIN_SASL,       /* SMTP AUTH: a mailbox of ours sent it */
    ORIGIN_LOCAL,      /* pickup (sendmail), or an SMTP client on loopback */
    ORIGIN_COUNT
};
const char *message_origin_name(enum message_origin origin);

struct mail_message {
    int64_t id;                    /* the store's row id; 0 until first stored */
    char host[RECORD_HOST_MAX];    /* syslog host that logged it */
    char queue_id[RECORD_QID_MAX]; /* "" for a NOQUEUE rejection */
    int64_t first_seen;
    int64_t last_seen;
    char client_host[RECORD_HOST_MAX]; /* smtpd client= name, "" if none */
    char client_ip[RECORD_IP_MAX];
    char sasl_method[16];
    char sasl_username[RECORD_ADDR_MAX];
    char message_id[RECORD_MSGID_MAX];
    char sender[RECORD_ADDR_MAX]; /* envelope from; "" for the null sender <> */
    int64_t size;                 /* bytes, from qmgr; -1 unknown */
    int nrcpt;                    /* from qmgr; -1 unknown */
    enum message_origin origin;   /* for reinjected mail: the root's origin */
    long local_uid;    /* mail submitted by pickup (sendmail): the submitting user's uid= (a web
                          site's system user), for reinjected mail the root's; -1 unknown. 0
                          (root) is no customer's either */
    int64_t parent_id; /* store id of the message that was re-injected as this one (content filter),
                          0 if none */
    char parent_queue_id[RECORD_QID_MAX]; /* that message's queue id, "" if none: a search for
                                             the queue id the sender was given finds this one */
    int64_t dsn_of; /* store id of the message this is a bounce/delay notification for, 0 if none */
    bool closed;    /* `removed` seen (or a NOQUEUE rejection): this life is over */
    bool stored;    /* the sink has it: set by the tracker after put_message() and when
                       find_open_message() found it; an id can come before (reserve_message_id) */
    /* Raw log lines of this message not yet handed to the sink, each ending in
     * '\n', oldest first; owned by the tracker. The store APPENDS them to the
     * lines it already has for this message (the trace). The tracker stops
     * adding after RECORD_LINES_MAX bytes in all. NULL when new_lines_len is 0. */
    const char *new_lines;
    uint32_t new_lines_len;
};

struct mail_delivery {
    int64_t message_id;              /* store id of the owning message (set by the tracker) */
    int64_t time;                    /* time of the latest attempt */
    char recipient[RECORD_ADDR_MAX]; /* to= (final address) */
    char orig_to[RECORD_ADDR_MAX];   /* orig_to=, "" if not logged */
    char relay[RECORD_HOST_MAX];     /* relay= as logged, e.g. "mx.example.com[192.0.2.1]:25",
                                        "dovecot", "none" */
    char service[16]; /* the Postfix daemon: smtp, lmtp, local, virtual, pipe, error, discard,
                         smtpd, cleanup */
    double delay;     /* delay= seconds; -1 unknown */
    char dsn[16];     /* "2.0.0" etc., "" unknown */
    enum delivery_status status;
    char status_text[RECORD_TEXT_MAX]; /* the text in parentheses after status=, or the reject
                                          reason */
    int attempts;                      /* attempts seen for this recipient so far (>= 1) */
    bool is_hop; /* a hand-over to a content filter that re-injected the mail: not shown as a
                    delivery */
};

enum access_protocol {
    PROTO_IMAP = 0,
    PROTO_POP3,
    PROTO_SMTP,       /* SMTP AUTH on port 25 / smtps */
    PROTO_SUBMISSION, /* SMTP AUTH on a submission instance, or Dovecot submission-login */
    PROTO_MANAGESIEVE,
    PROTO_COUNT
};
const char *access_protocol_name(enum access_protocol protocol);
int access_protocol_from_name(const char *name);

struct access_event {
    int64_t time;
    char host[RECORD_HOST_MAX]; /* syslog host */
    char user[RECORD_ADDR_MAX]; /* mailbox / login name as given; "" when unknown */
    char ip[RECORD_IP_MAX];     /* remote address, normalised (no ::ffff:) */
    enum access_protocol protocol;
    bool success;
    char method[16];              /* PLAIN, LOGIN, CRAM-MD5, … ; "" unknown */
    char detail[RECORD_TEXT_MAX]; /* failure reason as logged, "" on success */
};

#endif
