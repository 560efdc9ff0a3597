/*
 * mailmsg.c — composing the alert mails (see mailmsg.h).
 */
#include "alert/mailmsg.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- bounded buffer ------------------------------------------------- */

static bool mbuf_reserve(struct mbuf *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (b->overflow)
        return false;
    if (more > MBUF_MAX || b->len + more + 1 > MBUF_MAX) {
        b->overflow = true;
        return false;
    }
    need = b->len + more + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > MBUF_MAX)
        cap = MBUF_MAX;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->overflow = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void mbuf_append(struct mbuf *b, const char *data, size_t len)
{
    if (!mbuf_reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void mbuf_puts(struct mbuf *b, const char *s)
{
    mbuf_append(b, s, strlen(s));
}

void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    mbuf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void mbuf_free(struct mbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- cleaning untrusted text ---------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n) and its code point, or 0
 * when the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1Fu, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0Fu, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* Control characters and the bidirectional overrides that could make a
 * mailbox name display as something else. */
static bool cp_unsafe(uint32_t c)
{
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

static void put_clean(struct mbuf *b, const char *s, size_t max_bytes, bool html)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, max_bytes);
    size_t i = 0;

    while (i < n) {
        uint32_t c;
        size_t len = utf8_decode(p + i, n - i, &c);

        if (len == 0 || cp_unsafe(c)) {
            mbuf_append(b, "?", 1);
            i += len ? len : 1;
            continue;
        }
        if (html && c == '&')
            mbuf_puts(b, "&amp;");
        else if (html && c == '<')
            mbuf_puts(b, "&lt;");
        else if (html && c == '>')
            mbuf_puts(b, "&gt;");
        else if (html && c == '"')
            mbuf_puts(b, "&quot;");
        else if (html && c == '\'')
            mbuf_puts(b, "&#39;");
        else
            mbuf_append(b, (const char *)p + i, len);
        i += len;
    }
}

void mbuf_put_clean(struct mbuf *b, const char *s, size_t max_bytes)
{
    put_clean(b, s, max_bytes, false);
}

void mbuf_put_html(struct mbuf *b, const char *s, size_t max_bytes)
{
    put_clean(b, s, max_bytes, true);
}

/* ---- quoted-printable ----------------------------------------------- */

#define QP_LINE_MAX 76

static const char hex_upper[] = "0123456789ABCDEF";

/* Emits one input line (without its line break) as QP lines. */
static void qp_line(struct mbuf *out, const unsigned char *s, size_t n)
{
    size_t col = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        char enc[3];
        size_t w;
        bool last = i + 1 == n;
        bool encode = c == '=' || c > 126 || (c < 32 && c != '\t') ||
                      ((c == ' ' || c == '\t') && last) || (i == 0 && c == '.') ||
                      (i == 0 && c == 'F' && n >= 5 && memcmp(s, "From ", 5) == 0);

        if (encode) {
            enc[0] = '=';
            enc[1] = hex_upper[c >> 4];
            enc[2] = hex_upper[c & 15];
            w = 3;
        } else {
            enc[0] = (char)c;
            w = 1;
        }
        /* Keep room for a soft break '=' unless this is the line's end. */
        if (col + w > (last ? QP_LINE_MAX : QP_LINE_MAX - 1)) {
            mbuf_puts(out, "=\r\n");
            col = 0;
        }
        mbuf_append(out, enc, w);
        col += w;
    }
    mbuf_puts(out, "\r\n");
}

void mail_qp_encode(struct mbuf *out, const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t start = 0;

    while (start < len) {
        const unsigned char *nl = memchr(s + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - s) : len;
        size_t line_end = end;

        if (line_end > start && s[line_end - 1] == '\r')
            line_end--;
        qp_line(out, s + start, line_end - start);
        start = nl ? end + 1 : len;
    }
}

/* ---- headers -------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_append(struct mbuf *out, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        char q[4];

        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        q[0] = b64chars[(v >> 18) & 63];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64chars[v & 63] : '=';
        mbuf_append(out, q, 4);
    }
}

/* 39 bytes → 52 base64 characters → a 64-character encoded word (≤ 75),
 * so "Subject: " + the first word stays under 78 columns. */
#define EW_BYTES_MAX 39

void mail_subject_header(struct mbuf *out, const char *subject)
{
    const unsigned char *s = (const unsigned char *)subject;
    size_t n = strlen(subject);
    bool plain = n <= 66;
    size_t i = 0;

    for (size_t k = 0; k < n && plain; k++)
        if (s[k] < 32 || s[k] > 126)
            plain = false;
    if (plain) {
        mbuf_printf(out, "Subject: %s\r\n", subject);
        return;
    }
    mbuf_puts(out, "Subject:");
    while (i < n) {
        size_t take = 0;

        /* Whole UTF-8 characters only, up to EW_BYTES_MAX bytes. */
        while (i + take < n) {
            uint32_t c;
            size_t len = utf8_decode(s + i + take, n - i - take, &c);
            if (len == 0)
                len = 1; /* callers pass clean text; never loop forever */
            if (take + len > EW_BYTES_MAX)
                break;
            take += len;
        }
        mbuf_puts(out, i == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?");
        base64_append(out, s + i, take);
        mbuf_puts(out, "?=");
        i += take;
    }
    mbuf_puts(out, "\r\n");
}

bool mail_addr_ok(const char *addr)
{
    size_t n = strnlen(addr, 256);
    const char *at = strrchr(addr, '@');

    if (n == 0 || n > 254 || at == NULL || at == addr || at[1] == '\0')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c <= 32 || c >= 127 || strchr("<>\"(),;:\\[]", c) != NULL)
            return false;
    }
    return strchr(addr, '@') == at; /* exactly one '@' */
}

static void date_header(struct mbuf *out, time_t t)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;

    gmtime_r(&t, &tm);
    mbuf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int random_hex(char *out, size_t bytes, struct err *e)
{
    unsigned char raw[16];

    if (bytes > sizeof raw)
        bytes = sizeof raw;
    if (getrandom(raw, bytes, 0) != (ssize_t)bytes)
        return err_sys(e, "getrandom");
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = hex_upper[raw[i] >> 4];
        out[2 * i + 1] = hex_upper[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
    return 0;
}

int mail_compose(const struct mail_head *h, const char *text, const char *html, struct mbuf *out,
                 struct err *e)
{
    char id[33], boundary[33];

    if (!mail_addr_ok(h->from))
        return err_set(e, "sender address '%.200s' is not usable", h->from);
    if (!mail_addr_ok(h->to))
        return err_set(e, "recipient address '%.200s' is not usable", h->to);
    if (random_hex(id, 16, e) < 0 || random_hex(boundary, 12, e) < 0)
        return -1;

    out->len = 0;
    out->overflow = false;
    mbuf_printf(out, "From: Mail log <%s>\r\n", h->from);
    mbuf_printf(out, "To: <%s>\r\n", h->to);
    mail_subject_header(out, h->subject);
    date_header(out, h->date);
    mbuf_printf(out, "Message-ID: <%s.%lld@%s>\r\n", id, (long long)h->date,
                strrchr(h->from, '@') + 1);
    mbuf_puts(out, "MIME-Version: 1.0\r\n"
                   "Auto-Submitted: auto-generated\r\n"
                   "X-Auto-Response-Suppress: All\r\n");
    mbuf_printf(out, "Content-Type: multipart/alternative;\r\n boundary=\"=_ml_%s\"\r\n", boundary);
    mbuf_puts(out, "\r\nThis is a MIME message: a plain-text and an HTML version.\r\n");

    mbuf_printf(out, "\r\n--=_ml_%s\r\n", boundary);
    mbuf_puts(out, "Content-Type: text/plain; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    mail_qp_encode(out, text, strlen(text));

    mbuf_printf(out, "\r\n--=_ml_%s\r\n", boundary);
    mbuf_puts(out, "Content-Type: text/html; charset=UTF-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    mail_qp_encode(out, html, strlen(html));
    mbuf_printf(out, "\r\n--=_ml_%s--\r\n", boundary);

    if (out->overflow)
        return err_set(e, "mail to %s: message too large", h->to);
    return 0;
}
