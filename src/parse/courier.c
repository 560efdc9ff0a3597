/*
 * courier.c — Courier-IMAP logins:
 *   "imapd: LOGIN, user=u@d, ip=[::ffff:1.2.3.4], port=[51234], protocol=IMAP"
 *   "pop3d-ssl: LOGIN FAILED, user=u@d, ip=[2001:db8::1]"   (also method=… first)
 *   "courieresmtpd: error,relay=::ffff:1.2.3.4,msg=\"535 Authentication failed.\",cmd: AUTH …"
 * LOGOUT and other session lines are recognised and ignored.
 */
#include "parse/event.h"
#include "parse/fields.h"

static enum access_protocol protocol_of(struct slice daemon)
{
    if (slice_starts(daemon, "pop3") || slice_starts(daemon, "courierpop3"))
        return PROTO_POP3;
    return PROTO_IMAP;
}

/* "ip=[…]" → the address inside the brackets. */
static void find_bracket_ip(struct slice s, struct slice *ip)
{
    struct slice value;

    if (find_field(s, "ip", &value) && value.len >= 2 && value.ptr[0] == '[') {
        const char *close = memchr(value.ptr, ']', value.len);
        if (close != NULL)
            *ip = slice_make(value.ptr + 1, (size_t)(close - value.ptr - 1));
    }
}

static void parse_esmtpd(struct event *ev, struct slice s)
{
    struct slice relay;
    long comma;

    ev->kind = EV_IGNORED;
    if (!take_prefix(&s, "error,relay=") || slice_find(s, "535 Authentication failed") < 0)
        return;
    relay = s;
    comma = slice_find(s, ",");
    if (comma >= 0)
        relay.len = (size_t)comma;
    ev->kind = EV_LOGIN;
    ev->protocol = PROTO_SMTP;
    ev->success = 0;
    ev->ip = relay;
    ev->text = slice_make("535 Authentication failed", 25);
}

void parse_courier(struct event *ev)
{
    struct slice s = ev->header.message;

    if (slice_starts(ev->header.daemon, "courieresmtpd")) {
        parse_esmtpd(ev, s);
        return;
    }
    if (take_prefix(&s, "LOGIN FAILED, ")) {
        ev->success = 0;
        ev->text = slice_make("LOGIN FAILED", 12);
    } else if (take_prefix(&s, "LOGIN, ")) {
        ev->success = 1;
    } else {
        ev->kind = EV_IGNORED; /* LOGOUT, DISCONNECTED, Connection, TIMEOUT */
        return;
    }
    ev->kind = EV_LOGIN;
    ev->protocol = protocol_of(ev->header.daemon);
    find_field(s, "user", &ev->user);
    find_field(s, "method", &ev->method);
    find_bracket_ip(s, &ev->ip);
    {
        struct slice proto;
        if (find_field(s, "protocol", &proto) && slice_starts(proto, "POP3"))
            ev->protocol = PROTO_POP3;
    }
}
