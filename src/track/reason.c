/*
 * reason.c — the sentences of reason.h and the four tables that choose one.
 *
 * A server's text is matched in this order, the first hit winning:
 *   1. specific phrases ("over quota", "blocked using"): they name the cause;
 *   2. the exact enhanced status code ("5.1.1"), class ignored;
 *   3. generic phrases ("access denied", "spam"): a cause, vaguely named;
 *   4. the code's subject alone ("5.7.x": security or policy).
 * A specific phrase beats the code because servers often send a generic code
 * with a precise text ("550 5.7.1 … Mailbox does not exist"), and the code
 * beats a generic phrase for the same reason the other way round.
 * Phrases are matched in lower case, as substrings, in the text without
 * its host names, addresses and URLs (words that contain '@', '<', '[',
 * "://" or a dot between letters are blanked first): those are of other
 * people's choosing ("mx1.dmarc.example", "<virus-reports@…>", an
 * "antispam" relay) and must not pass for a cause.
 */
#include "track/reason.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The sentences, each said once. */
static const char no_such_mailbox[] =
    "The recipient's address does not exist on the receiving server: check it for typos.";
static const char mailbox_moved[] =
    "The recipient has a new address; the server's answer may name it.";
static const char mailbox_disabled[] = "The recipient's mailbox is disabled.";
static const char mailbox_full[] = "The recipient's mailbox is full.";
static const char server_storage[] = "The receiving mail server is short of disk space.";
static const char too_big[] = "The mail is larger than the receiving server accepts.";
static const char virus[] = "A virus was found in the mail.";
static const char filter_fault[] =
    "A mail filter (a virus or spam scanner) failed while checking the mail; the mail is "
    "tried again.";
static const char sender_refused[] =
    "The receiving server refused the sender's address: it does not exist or cannot receive "
    "answers (a no-reply sender, for instance).";
static const char sender_not_owned[] =
    "The sender's address is not one the logged-in mailbox may send as.";
static const char relay_login_failed[] =
    "This server could not log in to the mail server it passes mail on to (its relay's login or "
    "settings); the server's administrator has to check them.";
static const char poor_reputation[] =
    "The receiving server distrusts the sending server's IP address (its reputation for spam "
    "or complaints), and refuses or delays its mail.";
static const char mailbox_busy[] = "The recipient's mailbox is not taking mail for the moment.";
static const char banned_attachment[] =
    "The mail has an attachment of a type that is not accepted (a program, a script).";
static const char incomplete_address[] =
    "An address of the mail is incomplete: it lacks a domain (name@example.com).";
static const char blocklisted[] =
    "The sending server's IP address is on a spam blocklist, so the mail was refused. The "
    "sending server's administrator has to have it removed from the list.";
static const char greylisted[] =
    "Greylisting: the receiving server asks senders it does not know to try again later. The "
    "mail normally gets through within the hour.";
static const char spf_failed[] =
    "The sender's domain does not allow the sending server to send its mail (SPF check).";
static const char dmarc_failed[] =
    "The mail failed the authentication checks of the sender's domain (DMARC: it passed "
    "neither SPF nor DKIM for that domain).";
static const char dkim_failed[] = "The mail's DKIM signature did not verify.";
static const char bad_helo[] =
    "The sending server introduced itself (HELO) with a name that is not a valid host name, a "
    "common sign of spam software.";
static const char no_reverse_dns[] =
    "The sending server's IP address has no proper host name in DNS (reverse DNS), which the "
    "receiving server requires.";
static const char relay_denied[] =
    "Relaying refused: the refusing server does not handle the recipient's domain, and passes "
    "on mail only for senders who log in.";
static const char sender_domain_unknown[] =
    "The sender's domain does not exist in DNS, so no answer could ever reach it.";
static const char address_verify[] =
    "The receiving server is checking that the address exists (address verification); a "
    "genuine sending server tries again and the mail gets through.";
static const char recipient_domain_unknown[] =
    "The recipient's domain could not be found in DNS: it is misspelt, has expired, or its DNS "
    "is failing.";
static const char unreachable[] =
    "The receiving mail server could not be reached, or broke off the connection.";
static const char rate_limited[] =
    "The receiving server is limiting how much mail it takes (too many messages or "
    "connections).";
static const char tls_required[] =
    "The receiving server requires an encrypted (TLS) connection, and none could be made.";
static const char auth_required[] =
    "The server accepts this mail only from senders who log in (SMTP authentication).";
static const char mail_loop[] =
    "The mail went round in a loop between servers (a forwarding or DNS set-up problem).";
static const char local_fault[] =
    "A part of this mail server is misconfigured or not running; its administrator should "
    "look at the mail log.";
static const char judged_spam[] = "The receiving server judged the mail to be spam.";
static const char policy[] = "Refused by a rule of the receiving server (an access or policy "
                             "setting).";
static const char address_problem[] = "Something is wrong with the sender's or the recipient's "
                                      "address.";
static const char mailbox_problem[] = "A problem with the recipient's mailbox.";
static const char system_problem[] = "A problem of the receiving mail system.";
static const char network_problem[] =
    "A network or routing problem between the sending and the receiving server.";
static const char protocol_problem[] =
    "The two mail servers did not understand each other (an SMTP protocol error).";
static const char content_problem[] = "A problem with the mail's content or format.";

#define PHRASES_MAX 16

struct phrase_rule {
    const char *phrases[PHRASES_MAX]; /* lower case; the unused ones NULL */
    const char *sentence;
};

/* Tier 1: the cause named. Order matters where phrases overlap: blocklist
 * texts name "spamhaus" (so before spam), a HELO or sender domain "not
 * found" is not the recipient's domain, "insufficient system storage" is
 * not a full mailbox, "refused to talk to me: 421 too many" is a limit. */
static const struct phrase_rule specific_rules[] = {
    {{"virus_scan failed", "scanners failed", "scanner failed", "error in processing"},
     filter_fault},
    {{"infected", "virus", "malware"}, virus},
    {{"banned:", "banned attachment", "attachment type", "file type", "attachment is not allowed"},
     banned_attachment},
    {{"blocked using", "blacklist", "blocklist", "black list", "block list", "listed at ",
      "listed on ", "spamhaus", "spamcop", "barracudacentral", "dnsbl"},
     blocklisted},
    {{"banned sending ip", "reputation", "user complaints", "tss04"}, poor_reputation},
    {{"greylist", "graylist", "grey-list", "gray-list"}, greylisted},
    {{"sender policy framework", "spf check", "spf fail", "spf=fail", "failed spf",
      "spf validation", "spf record", "spf softfail"},
     spf_failed},
    {{"mail loops back", "too many hops", "loop detected", "mail loop"}, mail_loop},
    {{"helo command rejected", "fully-qualified hostname", "invalid helo", "bad helo", "helo name",
      "ehlo command rejected"},
     bad_helo},
    {{"cannot find your hostname", "cannot find your reverse hostname", "reverse dns",
      "reverse hostname", "ptr record", "no ptr"},
     no_reverse_dns},
    {{"sender address rejected: domain not found", "sender domain does not exist",
      "sender domain not found"},
     sender_domain_unknown},
    {{"not owned by user", "not owned by"}, sender_not_owned},
    {{"sender address rejected: undeliverable", "sender address rejected: user unknown",
      "sender address rejected: unknown user", "sender address rejected: address does not exist",
      "sender address rejected: not found", "sender address rejected: no such user"},
     sender_refused},
    {{"fully-qualified address", "fully qualified address"}, incomplete_address},
    {{"address verification in progress", "unverified address", "sender verify",
      "callout verification"},
     address_verify},
    {{"sasl authentication failed", "authentication unsuccessful", "smtpclientauthentication",
      "authentication credentials invalid", "username and password not accepted"},
     relay_login_failed},
    {{"host or domain name not found", "name service error", "domain not found",
      "domain does not exist", "no mx", "nxdomain", "host not found"},
     recipient_domain_unknown},
    {{"insufficient system storage", "insufficient disk space", "out of disk"}, server_storage},
    {{"over quota", "quota exceeded", "exceeded quota", "exceeds quota", "mailbox full",
      "mailbox is full", "mailbox size limit", "out of storage space", "storage quota",
      "full mailbox", "inbox is full"},
     mailbox_full},
    {{"message size exceeds", "message too large", "message too big", "message file too big",
      "exceeds size limit", "size limit exceeded", "too large"},
     too_big},
    {{"user unknown", "unknown user", "no such user", "does not exist", "recipient unknown",
      "unknown recipient", "no such recipient", "invalid recipient", "mailbox not found",
      "no mailbox", "unrouteable address", "address unknown", "recipientnotfound",
      "recipient not found"},
     no_such_mailbox},
    {{"dmarc"}, dmarc_failed},
    {{"dkim"}, dkim_failed},
    {{"has moved"}, mailbox_moved},
    {{"account that you tried to reach is disabled", "account is disabled", "mailbox is disabled",
      "account disabled", "account has been disabled", "mailbox disabled", "user disabled",
      "account is inactive", "mailbox is inactive"},
     mailbox_disabled},
    {{"relay access denied", "relaying denied", "relay not permitted", "not permitted to relay",
      "relaying not allowed", "unable to relay", "relay denied"},
     relay_denied},
    {{"too many", "rate limit", "ratelimit", "throttl", "too much mail", "intrusion prevention",
      "sending rate", "receiving mail at a rate", "unexpected volume"},
     rate_limited},
    {{"must issue a starttls", "tls is required", "starttls is required", "encryption required",
      "tls required", "cannot start tls", "tls handshake"},
     tls_required},
    {{"authentication required", "must authenticate", "authentication is required",
      "not authenticated"},
     auth_required},
    /* "refused to talk to me" is not here: the server answered, and what it
     * answered (its code and words) says why */
    {{"connection timed out", "connection refused", "no route to host", "network is unreachable",
      "lost connection", "conversation with", "timed out while", "connection reset", "connect to "},
     unreachable},
    /* a recipient check of the receiving server that failed, after the
     * reasons it can have (unreachable, blocked) */
    {{"undeliverable address"}, no_such_mailbox},
    {{"mail transport unavailable", "mail system configuration error",
      "server configuration problem", "server configuration error", "unknown mail transport"},
     local_fault},
    {{"spam", "unsolicited", "content rejected", "junk mail"}, judged_spam},
};

/* Tier 3: a cause vaguely named. */
static const struct phrase_rule generic_rules[] = {
    {{"access denied", "administrative prohibition", "not allowed", "policy", "prohibited",
      "blocked"},
     policy},
};

/* Tier 2: the exact code, class ignored ("1.1" is 4.1.1 and 5.1.1). Not
 * x.4.1 ("no answer from host"): Microsoft answers 5.4.1 to an unknown
 * recipient, and Postfix's own timeouts say so in words (tier 1). */
static const struct {
    const char *subject_detail;
    char class_only; /* '4' or '5': for that class only; 0 any */
    const char *sentence;
} code_rules[] = {
    {"1.1", 0, no_such_mailbox},
    {"1.2", 0, recipient_domain_unknown},
    {"1.6", 0, mailbox_moved},
    {"1.8", 0, sender_domain_unknown},
    {"2.1", '4', mailbox_busy},
    {"2.1", 0, mailbox_disabled},
    {"2.2", 0, mailbox_full},
    {"2.3", 0, too_big},
    {"3.1", 0, server_storage},
    {"3.4", 0, too_big},
    {"4.3", 0, recipient_domain_unknown},
    {"4.4", 0, recipient_domain_unknown},
    {"4.6", 0, mail_loop},
    {"7.23", 0, spf_failed},
    {"7.25", 0, no_reverse_dns},
    {"7.26", 0, dmarc_failed},
    {"7.1", 0, policy},
    {"7.57", 0, auth_required},
};

/* Tier 4: the subject digit, 0–7; 0 ("other") says nothing. */
static const char *const subject_rules[8] = {NULL,
                                             address_problem,
                                             mailbox_problem,
                                             system_problem,
                                             network_problem,
                                             protocol_problem,
                                             content_problem,
                                             policy};

/* Whether the word [w, w + n) names a host, an address or a URL. */
static bool names_a_place(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '@' || w[i] == '<' || w[i] == '[')
            return true;
        if (w[i] == '.' && i > 0 && i + 1 < n && isalpha((unsigned char)w[i - 1]) &&
            isalpha((unsigned char)w[i + 1]))
            return true;
        if (w[i] == ':' && i + 2 < n && w[i + 1] == '/' && w[i + 2] == '/')
            return true;
    }
    return false;
}

/* text into low (size bytes, cut at size - 1): lower case, its words that
 * name a place each one space. */
static void readable_copy(char *low, size_t size, const char *text)
{
    size_t out = 0;
    const char *p = text;

    while (*p != '\0' && out + 1 < size) {
        size_t n = 0;

        if (isspace((unsigned char)*p)) {
            low[out++] = ' ';
            p++;
            continue;
        }
        while (p[n] != '\0' && !isspace((unsigned char)p[n]))
            n++;
        if (names_a_place(p, n)) {
            low[out++] = ' ';
        } else {
            for (size_t i = 0; i < n && out + 1 < size; i++)
                low[out++] = (char)tolower((unsigned char)p[i]);
        }
        p += n;
    }
    low[out] = '\0';
}

static const char *match_phrases(const struct phrase_rule *rules, size_t count, const char *low)
{
    for (size_t r = 0; r < count; r++)
        for (size_t p = 0; p < PHRASES_MAX && rules[r].phrases[p] != NULL; p++)
            if (strstr(low, rules[r].phrases[p]) != NULL)
                return rules[r].sentence;
    return NULL;
}

/* The digits of one "d.ddd.ddd" field at s: its length, 0 if none. */
static size_t digit_run(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && isdigit((unsigned char)s[n]))
        n++;
    return n;
}

/* Whether s starts an enhanced status code "c.s.d" with c one of 2, 4, 5, s
 * 1–3 digits and d 1–3 digits; *subject_at and *end say where the subject
 * starts and the code ends. */
static bool code_at(const char *s, const char **subject_at, const char **end)
{
    size_t n;

    if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return false;
    n = digit_run(s + 2, 4);
    if (n == 0 || n > 3 || s[2 + n] != '.')
        return false;
    *subject_at = s + 2;
    s += 3 + n;
    n = digit_run(s, 4);
    if (n == 0 || n > 3)
        return false;
    *end = s + n;
    return **end != '.' && !isdigit((unsigned char)**end);
}

/* The code's "subject.detail" into out (at most 7 bytes + NUL) and its
 * class ('2', '4', '5') into *class_digit; "" and 0 if there is no code: the
 * dsn when it is one, else the first in the text. */
static void find_code(const char *dsn, const char *low, char out[8], char *class_digit)
{
    const char *subject = NULL;
    const char *end = NULL;

    out[0] = '\0';
    *class_digit = '\0';
    if (!code_at(dsn, &subject, &end) || *end != '\0') {
        subject = NULL;
        for (const char *p = low; *p != '\0'; p++) {
            bool starts_word = p == low || !(isdigit((unsigned char)p[-1]) || p[-1] == '.');
            if (starts_word && code_at(p, &subject, &end))
                break;
            subject = NULL;
        }
    }
    if (subject != NULL && (size_t)(end - subject) < 8) {
        memcpy(out, subject, (size_t)(end - subject));
        out[end - subject] = '\0';
        *class_digit = subject[-2];
    }
}

const char *delivery_reason(const char *status, const char *dsn, const char *status_text)
{
    char low[REASON_TEXT_MAX];
    char code[8], class_digit;
    const char *sentence;

    if (status == NULL || strcmp(status, "sent") == 0)
        return NULL;
    readable_copy(low, sizeof low, status_text != NULL ? status_text : "");
    if ((sentence =
             match_phrases(specific_rules, sizeof specific_rules / sizeof specific_rules[0], low)))
        return sentence;
    find_code(dsn != NULL ? dsn : "", low, code, &class_digit);
    for (size_t i = 0; code[0] != '\0' && i < sizeof code_rules / sizeof code_rules[0]; i++)
        if (strcmp(code, code_rules[i].subject_detail) == 0 &&
            (code_rules[i].class_only == '\0' || code_rules[i].class_only == class_digit))
            return code_rules[i].sentence;
    if ((sentence =
             match_phrases(generic_rules, sizeof generic_rules / sizeof generic_rules[0], low)))
        return sentence;
    if (code[0] >= '0' && code[0] <= '7' && code[1] == '.')
        return subject_rules[code[0] - '0'];
    return NULL;
}
