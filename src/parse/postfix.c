/*
 * postfix.c — Postfix lines: smtpd, postscreen, cleanup, qmgr, pickup,
 * bounce, postsuper and the delivery agents (smtp, lmtp, local, virtual,
 * pipe, error, retry, discard). Sets ev->kind and the fields listed for that
 * kind in event.h. Known noise (TLS, anvil, connection chatter, warnings we
 * have no use for) is EV_IGNORED; a line of a shape we parse that does not
 * parse, or a shape we have never seen, is EV_UNKNOWN.
 */
#include "parse/event.h"
#include "parse/fields.h"

/* Postfix noise that tells nothing about a message's fate. */
static const struct word smtpd_noise[] = {WORD("disconnect from "),
                                          WORD("lost connection "),
                                          WORD("timeout after "),
                                          WORD("Anonymous TLS "),
                                          WORD("Trusted TLS "),
                                          WORD("Untrusted TLS "),
                                          WORD("Verified TLS "),
                                          WORD("improper command pipelining"),
                                          WORD("too many errors"),
                                          WORD("SSL_accept error"),
                                          WORD("SSL_read error"),
                                          WORD("setting up TLS"),
                                          WORD("TLS "),
                                          WORD("warning: "),
                                          WORD("error: "),
                                          WORD("fatal: "),
                                          WORD("panic: "),
                                          WORD("statistics: "),
                                          WORD("NOQUEUE: filter:"),
                                          WORD("NOQUEUE: reject_warning:"),
                                          WORD("NOQUEUE: hold:"),
                                          WORD("NOQUEUE: warn:"),
                                          WORD("NOQUEUE: info:"),
                                          WORD("proxy-accept:"),
                                          WORD("discarding EHLO"),
                                          WORD("non-SMTP command"),
                                          WORD("connect to "),
                                          WORD("too many "),
                                          WORD("Connection "),
                                          WORD("mail_queue_enter"),
                                          WORD("hostname "),
                                          WORD("table "),
                                          WORD("cannot "),
                                          WORD("message repeated"),
                                          WORD("daemon started"),
                                          WORD("SASL "),
                                          WORD("idle timeout"),
                                          WORD("NOQUEUE: lost connection"),
                                          WORD("dict_"),
                                          WORD("match_"),
                                          WORD("generic_checks"),
                                          WORD("send attr"),
                                          WORD("smtp_get"),
                                          WORD("smtp_stream"),
                                          WORD("> "),
                                          WORD("< "),
                                          WORD("xsasl_"),
                                          WORD("name_mask"),
                                          WORD("watchdog_"),
                                          WORD("input attribute"),
                                          WORD("private/"),
                                          WORD("public/"),
                                          WORD("vstream_"),
                                          WORD("master_"),
                                          WORD("server_"),
                                          WORD("auto_clnt"),
                                          WORD("rewrite_clnt"),
                                          WORD("resolve_clnt"),
                                          WORD("event_"),
                                          WORD("connection established"),
                                          WORD("ctable_"),
                                          WORD("maps_find"),
                                          WORD("mynetworks"),
                                          WORD("permit_"),
                                          WORD("reject_"),
                                          WORD("check_"),
                                          WORD("smtpd_"),
                                          WORD("sasl_"),
                                          WORD("end "),
                                          WORD("xclient"),
                                          WORD("xforward"),
                                          WORD("ehlo_"),
                                          WORD("flush_"),
                                          WORD("defer_"),
                                          WORD("report:"),
                                          WORD(">>>"),
                                          WORD("input attribute"),
                                          WORD("connection "),
                                          WORD("process "),
                                          WORD("Run-time"),
                                          WORD("Compiled"),
                                          WORD("idle "),
                                          WORD("before "),
                                          WORD("after "),
                                          WORD("unverified_"),
                                          WORD("unknown_"),
                                          WORD("bare <LF>"),
                                          {NULL, 0}};

/* Verbose mode (-v) traces: "function_name: …" in lower case. */
static bool is_verbose_trace(struct slice s)
{
    size_t i = 0;

    while (i < s.len && i < 48 &&
           ((s.ptr[i] >= 'a' && s.ptr[i] <= 'z') || s.ptr[i] == '_' || s.ptr[i] == '/' ||
            (s.ptr[i] >= '0' && s.ptr[i] <= '9')))
        i++;
    return i > 2 && i + 1 < s.len && s.ptr[i] == ':' && s.ptr[i + 1] == ' ';
}

static void set_client(struct event *ev, struct slice *s)
{
    take_client(s, &ev->client_host, &ev->client_ip);
}

/* "from=<a> to=<b> proto=ESMTP helo=<h>" after a reject reason. */
static void take_envelope(struct event *ev, struct slice s)
{
    find_angle_field(s, "from", &ev->from);
    find_angle_field(s, "to", &ev->to);
    find_angle_field(s, "helo", &ev->helo);
}

/* Where the envelope Postfix appends to a reject reason starts ("; from=<a>
 * to=<b> proto=P helo=<h>", each part only when known: a reject at HELO
 * has just "; proto=P helo=<h>"), or -1. */
static long envelope_start(struct slice text)
{
    static const char *const markers[] = {"; from=<", "; to=<", "; proto=", "; helo=<"};
    long start = -1;

    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        long at = slice_find(text, markers[i]);
        if (at >= 0 && (start < 0 || at < start))
            start = at;
    }
    return start;
}

/*
 * "reject: RCPT from host[ip]: 554 5.7.1 <x>: text; from=<a> to=<b> proto=… helo=<h>"
 * "milter-reject: END-OF-MESSAGE from host[ip]: 5.7.1 text; from=…"
 * cleanup: "reject: header Subject: … from host[ip]; from=<a> to=<b> proto=… helo=<h>: 5.7.1 text"
 */
static void parse_reject(struct event *ev, struct slice s, enum delivery_status status)
{
    long from_at = slice_find(s, " from ");
    long envelope_at;
    struct slice after;

    ev->kind = EV_REJECT;
    ev->status = status;
    if (from_at < 0) {
        ev->text = s;
        return;
    }
    after = slice_skip(s, (size_t)from_at + 6);
    set_client(ev, &after);
    envelope_at = envelope_start(after);
    if (take_prefix(&after, ": ")) {
        envelope_at = envelope_start(after);
        ev->text = envelope_at >= 0 ? slice_make(after.ptr, (size_t)envelope_at) : after;
    }
    if (envelope_at >= 0) {
        struct slice envelope = slice_skip(after, (size_t)envelope_at + 2);
        long helo_end = slice_find(envelope, ">: ");
        take_envelope(ev, envelope);
        /* cleanup header/body rejects put the reason after the envelope */
        if (ev->text.len == 0 && helo_end >= 0)
            ev->text = slice_skip(envelope, (size_t)helo_end + 3);
    }
}

/* Reject-like actions after "NOQUEUE: " or "QID: ". Returns true when handled. */
static bool parse_action(struct event *ev, struct slice s)
{
    if (take_prefix(&s, "reject: ") || take_prefix(&s, "milter-reject: ") ||
        take_prefix(&s, "proxy-reject: ")) {
        parse_reject(ev, s, DELIVERY_REJECTED);
        return true;
    }
    if (take_prefix(&s, "discard: ") || take_prefix(&s, "milter-discard: ")) {
        parse_reject(ev, s, DELIVERY_DISCARDED);
        return true;
    }
    return false;
}

/* "client=host[ip], sasl_method=PLAIN, sasl_username=u@d" */
static void parse_client(struct event *ev, struct slice s)
{
    struct slice rest = s;

    ev->kind = EV_CLIENT;
    /* SASL fields only after a well-formed client: a name with ", " in it
     * is not one Postfix would log */
    if (!take_client(&rest, &ev->client_host, &ev->client_ip))
        return;
    find_field(rest, "sasl_method", &ev->sasl_method);
    find_field(rest, "sasl_username", &ev->sasl_username);
}

/* smtpd "warning: host[ip]: SASL LOGIN authentication failed: …[, sasl_username=u]" */
static bool parse_sasl_failure(struct event *ev, struct slice s)
{
    long at;
    struct slice rest = s, method;

    if (!take_client(&rest, &ev->client_host, &ev->client_ip) || !take_prefix(&rest, ": SASL "))
        return false;
    at = slice_find(rest, " authentication failed");
    if (at < 0)
        return false;
    method = slice_make(rest.ptr, (size_t)at);
    if (memchr(method.ptr, ' ', method.len) != NULL)
        return false;
    ev->kind = EV_LOGIN;
    ev->success = 0;
    ev->method = method;
    ev->ip = ev->client_ip;
    rest = slice_skip(rest, (size_t)at + 22);
    if (!take_prefix(&rest, ": "))
        take_prefix(&rest, ":"); /* "…authentication failed:" and nothing after */
    ev->text = rest;
    if (find_field(rest, "sasl_username", &ev->user)) {
        long comma = slice_find(rest, ", sasl_username=");
        if (comma >= 0)
            ev->text = slice_make(rest.ptr, (size_t)comma);
    }
    return true;
}

static void parse_smtpd(struct event *ev, struct slice s)
{
    struct slice qid;

    if (take_prefix(&s, "connect from ")) {
        ev->kind = EV_CONNECT;
        set_client(ev, &s);
        return;
    }
    if (take_prefix(&s, "NOQUEUE: ")) {
        if (!parse_action(ev, s))
            ev->kind = slice_starts_any_word(s, smtpd_noise) || slice_starts(s, "filter")
                           ? EV_IGNORED
                           : EV_UNKNOWN;
        return;
    }
    if (take_prefix(&s, "warning: ")) {
        if (!parse_sasl_failure(ev, s))
            ev->kind = EV_IGNORED;
        return;
    }
    if (take_queue_id(&s, &qid)) {
        ev->queue_id = qid;
        if (take_prefix(&s, "client="))
            parse_client(ev, s);
        else if (!parse_action(ev, s))
            ev->kind = EV_IGNORED; /* hold:, filter:, warning:, reject_warning:, … */
        return;
    }
    ev->kind =
        slice_starts_any_word(s, smtpd_noise) || is_verbose_trace(s) ? EV_IGNORED : EV_UNKNOWN;
}

static void parse_cleanup(struct event *ev, struct slice s)
{
    struct slice qid;

    if (!take_queue_id(&s, &qid)) {
        ev->kind = EV_IGNORED; /* warnings, statistics */
        return;
    }
    ev->queue_id = qid;
    if (take_prefix(&s, "message-id=")) {
        ev->kind = EV_MESSAGE_ID;
        if (s.len >= 2 && s.ptr[0] == '<' && s.ptr[s.len - 1] == '>')
            s = slice_make(s.ptr + 1, s.len - 2);
        ev->message_id = s;
        return;
    }
    if (!parse_action(ev, s))
        ev->kind = EV_IGNORED; /* warning/info/hold/redirect/prepend/resent-message-id */
}

static bool status_from_word(struct slice word, enum delivery_status *status)
{
    if (slice_eq(word, "sent"))
        *status = DELIVERY_SENT;
    else if (slice_eq(word, "deferred") || slice_eq(word, "SOFTBOUNCE"))
        *status = DELIVERY_DEFERRED;
    else if (slice_eq(word, "bounced"))
        *status = DELIVERY_BOUNCED;
    else if (slice_eq(word, "expired"))
        *status = DELIVERY_EXPIRED;
    else
        return false;
    return true;
}

/* The id after "queued as " / "forwarded as " in a status text. */
static void find_new_queue_id(struct event *ev)
{
    static const char *const markers[] = {"queued as ", "forwarded as "};

    for (size_t m = 0; m < 2; m++) {
        long at = slice_find(ev->text, markers[m]);
        if (at >= 0) {
            struct slice rest = slice_skip(ev->text, (size_t)at + strlen(markers[m]));
            size_t i = 0;
            while (i < rest.len && i < 24 &&
                   ((rest.ptr[i] >= '0' && rest.ptr[i] <= '9') ||
                    (rest.ptr[i] >= 'A' && rest.ptr[i] <= 'Z') ||
                    (rest.ptr[i] >= 'a' && rest.ptr[i] <= 'z')))
                i++;
            if (i >= 5)
                ev->new_queue_id = slice_make(rest.ptr, i);
            return;
        }
    }
}

/* "to=<a>, orig_to=<b>, relay=r, delay=1.2, delays=…, dsn=2.0.0, status=sent (text)" */
static void parse_delivery(struct event *ev, struct slice s)
{
    struct slice rest = s, word, value;
    long status_at;

    ev->kind = EV_UNKNOWN;
    if (!take_prefix(&rest, "to=") || !take_angle(&rest, &ev->to))
        return;
    status_at = slice_find(rest, "status=");
    if (status_at < 0)
        return;
    {
        struct slice fields = slice_make(rest.ptr, (size_t)status_at);
        find_angle_field(fields, "orig_to", &ev->orig_to);
        find_field(fields, "relay", &ev->relay);
        find_field(fields, "dsn", &ev->dsn);
        if (find_field(fields, "delay", &value))
            ev->delay = slice_to_seconds(value);
    }
    rest = slice_skip(rest, (size_t)status_at + 7);
    word = rest;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.ptr[i] == ' ' || rest.ptr[i] == ',') {
            word = slice_make(rest.ptr, i);
            break;
        }
    if (slice_starts(word, "deliverable") || slice_starts(word, "undeliverable")) {
        ev->kind = EV_IGNORED; /* address verification probes, not mail */
        return;
    }
    if (!status_from_word(word, &ev->status))
        return;
    rest = slice_skip(rest, word.len);
    if (take_prefix(&rest, " (")) {
        if (rest.len > 0 && rest.ptr[rest.len - 1] == ')')
            rest.len--;
        ev->text = rest;
    } else if (take_prefix(&rest, ", ")) {
        ev->text = rest;
    }
    if (ev->status == DELIVERY_SENT) {
        if (ev->postfix_daemon == PD_DISCARD || slice_find(ev->text, "Ok, discarded") >= 0)
            ev->status = DELIVERY_DISCARDED;
        find_new_queue_id(ev);
    }
    ev->kind = EV_DELIVERY;
}

static void parse_agent(struct event *ev, struct slice s)
{
    struct slice qid;

    if (!take_queue_id(&s, &qid)) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->queue_id = qid;
    if (slice_starts(s, "to="))
        parse_delivery(ev, s);
    else
        ev->kind = EV_IGNORED; /* "host … said", "lost connection", "conversation … timed out" */
}

static void parse_qmgr(struct event *ev, struct slice s)
{
    struct slice qid, value;

    if (!take_queue_id(&s, &qid)) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->queue_id = qid;
    if (slice_eq(s, "removed")) {
        ev->kind = EV_REMOVED;
        return;
    }
    if (slice_starts(s, "to=")) {
        parse_delivery(ev, s);
        return;
    }
    if (take_prefix(&s, "from=")) {
        if (!take_angle(&s, &ev->from)) {
            ev->kind = EV_UNKNOWN;
            return;
        }
        if (slice_find(s, "status=expired") >= 0) {
            ev->kind = EV_EXPIRED;
            return;
        }
        ev->kind = EV_QUEUED;
        if (find_field(s, "size", &value))
            ev->size = slice_to_int(value);
        if (find_field(s, "nrcpt", &value)) {
            long sp = slice_find(value, " ");
            if (sp >= 0)
                value.len = (size_t)sp;
            ev->nrcpt = (long)slice_to_int(value);
        }
        return;
    }
    ev->kind = EV_IGNORED; /* skipped, still being delivered; warnings */
}

static void parse_pickup(struct event *ev, struct slice s)
{
    struct slice qid, value;

    if (!take_queue_id(&s, &qid)) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->queue_id = qid;
    if (!take_prefix(&s, "uid=")) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->kind = EV_PICKUP;
    value = s;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] == ' ') {
            value = slice_make(s.ptr, i);
            break;
        }
    ev->uid = (long)slice_to_int(value);
    find_angle_field(s, "from", &ev->from);
}

static void parse_bounce(struct event *ev, struct slice s)
{
    struct slice qid;
    long at;

    if (!take_queue_id(&s, &qid)) {
        ev->kind = EV_IGNORED;
        return;
    }
    ev->queue_id = qid;
    at = slice_find(s, " notification: ");
    if (at < 0) {
        ev->kind = EV_IGNORED;
        return;
    }
    s = slice_skip(s, (size_t)at + 15);
    {
        /* the new id ends the line */
        size_t i = 0;
        while (i < s.len && i < 24 && s.ptr[i] != ' ')
            i++;
        if (i < 5) {
            ev->kind = EV_UNKNOWN;
            return;
        }
        ev->new_queue_id = slice_make(s.ptr, i);
    }
    ev->kind = EV_NOTIFY;
}

static void parse_postsuper(struct event *ev, struct slice s)
{
    struct slice qid;

    ev->kind = EV_IGNORED;
    if (take_queue_id(&s, &qid) && slice_eq(s, "removed")) {
        ev->queue_id = qid;
        ev->kind = EV_REMOVED;
    }
}

void parse_postfix(struct event *ev)
{
    struct slice s = ev->header.message;

    switch (ev->postfix_daemon) {
    case PD_SMTPD:
        parse_smtpd(ev, s);
        break;
    case PD_CLEANUP:
        parse_cleanup(ev, s);
        break;
    case PD_QMGR:
    case PD_OQMGR:
        parse_qmgr(ev, s);
        break;
    case PD_SMTP:
    case PD_LMTP:
    case PD_LOCAL:
    case PD_VIRTUAL:
    case PD_PIPE:
    case PD_ERROR:
    case PD_RETRY:
    case PD_DISCARD:
        parse_agent(ev, s);
        break;
    case PD_PICKUP:
        parse_pickup(ev, s);
        break;
    case PD_BOUNCE:
    case PD_DEFER:
    case PD_TRACE:
        parse_bounce(ev, s);
        break;
    case PD_POSTSUPER:
        parse_postsuper(ev, s);
        break;
    case PD_POSTSCREEN:
        if (!(take_prefix(&s, "NOQUEUE: ") && parse_action(ev, s)))
            ev->kind = EV_IGNORED;
        break;
    default:
        ev->kind = EV_IGNORED;
        break;
    }
}
