/* test_reason.c — plain words for a failed delivery: which cause a server's
 * text names, which code decides when the words are vague, and when nothing
 * is said. The expectations are what the quoted server texts mean (each
 * checked by a word of the sentence), not copies of the sentences. */
#include "track/reason.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Fails unless delivery_reason() says something containing word. */
static void says(const char *status, const char *dsn, const char *text, const char *word)
{
    const char *reason = delivery_reason(status, dsn, text);

    ck_assert_msg(reason != NULL, "no reason for \"%s\"", text);
    ck_assert_msg(strstr(reason, word) != NULL, "\"%s\" gave \"%s\", expected \"%s\" in it", text,
                  reason, word);
}

static void says_not(const char *status, const char *dsn, const char *text, const char *word)
{
    const char *reason = delivery_reason(status, dsn, text);

    ck_assert_msg(reason == NULL || strstr(reason, word) == NULL, "\"%s\" gave \"%s\"", text,
                  reason);
}

START_TEST(delivered_and_unexplained_say_nothing)
{
    ck_assert_ptr_null(delivery_reason("sent", "2.0.0", "250 2.0.0 Ok: queued as 4F1"));
    /* Exchange's acceptance has a content code (x.6.x): still nothing to say */
    ck_assert_ptr_null(delivery_reason("sent", "2.6.0",
                                       "250 2.6.0 <a@b.example> [InternalId=1] Queued mail for "
                                       "delivery"));
    ck_assert_ptr_null(delivery_reason("deferred", "4.0.0",
                                       "host mx.example[192.0.2.7] said: 451 Temporary local "
                                       "problem - please try later (in reply to RCPT TO command)"));
    ck_assert_ptr_null(delivery_reason("bounced", NULL, NULL));
    ck_assert_ptr_null(delivery_reason(NULL, "5.1.1", "User unknown"));
}
END_TEST

START_TEST(the_cause_named_in_the_text)
{
    says("deferred", "4.2.2",
         "host alt1.gmail-smtp-in.l.google.com[108.177.8.26] said: 452-4.2.2 The email account "
         "that you tried to reach is over quota.",
         "mailbox is full");
    says("rejected", "",
         "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.spamhaus.org",
         "blocklist");
    says("rejected", "", "450 4.7.1 <mail.nx.example>: Helo command rejected: Host not found",
         "HELO");
    says("rejected", "", "450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found",
         "sender's domain");
    says("bounced", "5.4.4",
         "Host or domain name not found. Name service error for name=nx.example type=MX: Host "
         "not found",
         "recipient's domain");
    says("rejected", "", "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.4]",
         "reverse DNS");
    says("rejected", "", "454 4.7.1 <a@elsewhere.example>: Relay access denied", "Relaying");
    says("deferred", "4.2.0",
         "450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted, see "
         "http://postgrey.schweikert.ch/help/b.example.html",
         "Greylisting");
    says("discarded", "2.7.0", "250 2.7.0 Ok, discarded, id=1 - INFECTED: Eicar-Test-Signature",
         "virus");
    says("bounced", "5.7.23",
         "host mx.example[192.0.2.1] said: 550 5.7.23 <a@b.example>: Message rejected due to: "
         "SPF fail - not authorized",
         "SPF");
    says("bounced", "5.7.1",
         "host mx.example[192.0.2.1] said: 550 5.7.1 Unauthenticated email from b.example is not "
         "accepted due to domain's DMARC policy",
         "DMARC");
    says("bounced", "",
         "host gmail-smtp-in.l.google.com[192.0.2.8] said: 550-5.7.26 This mail is "
         "unauthenticated, which poses a security risk to the sender and Gmail users",
         "DMARC");
    /* words in any case */
    says("bounced", "", "550 USER UNKNOWN", "does not exist");
}
END_TEST

START_TEST(an_expired_mail_is_explained_by_its_last_error)
{
    says("expired", "4.4.1",
         "expired, returned to sender (last: connect to mx.nx.example[192.0.2.1]:25: Connection "
         "timed out)",
         "could not be reached");
    says("deferred", "4.7.1",
         "delivery temporarily suspended: host mx.example[192.0.2.2] refused to talk to me: 421 "
         "4.7.1 Too many connections",
         "limiting");
}
END_TEST

START_TEST(precise_words_beat_the_code_and_the_code_beats_vague_words)
{
    /* a generic policy code with a precise text */
    says("bounced", "5.7.1",
         "host mx.example[192.0.2.3] said: 550 5.7.1 <a@b.example>: Recipient address rejected: "
         "Mailbox does not exist",
         "does not exist");
    /* a precise code with a vague text */
    says("rejected", "", "550 5.1.1 <a@b.example>: Recipient address rejected: Access denied",
         "does not exist");
    /* the code Postfix logged counts when the text has none */
    says("bounced", "5.1.1", "host mx.example[192.0.2.3] said: 550 No thanks", "does not exist");
    says("bounced", "5.2.2", "host mx.example[192.0.2.3] said: 552 sorry", "full");
    /* Microsoft's 5.4.1 is a refusal, not a host that did not answer */
    says_not("bounced", "5.4.1",
             "host b-example.mail.protection.outlook.com[192.0.2.5] said: 550 5.4.1 "
             "[a@b.example]: Recipient address rejected: Access denied",
             "reached");
    /* vague words alone, and a code's subject alone */
    says("bounced", "", "host mx.example[192.0.2.3] said: 550 Administrative prohibition", "rule");
    says("bounced", "", "554 5.6.7 Non-ASCII addresses not permitted", "content");
}
END_TEST

/* Answers whose words name something else than the cause: another address
 * than the recipient's, a host name, the server's own troubles. */
START_TEST(the_cause_not_the_words_around_it)
{
    /* the partner checked the SENDER (a contact form's no-reply address) */
    says("bounced", "5.1.7",
         "host mx.partner.example[192.0.2.1] said: 550 5.1.7 <noreply@shop.example>: Sender "
         "address rejected: undeliverable address: host mx.shop.example[192.0.2.2] said: 550 "
         "5.1.1 <noreply@shop.example>: User unknown",
         "sender's address");
    says_not("bounced", "",
             "550 5.1.0 <noreply@shop.example>: Sender address rejected: User "
             "unknown in virtual mailbox table",
             "recipient");
    /* a recipient check that could not reach the recipient's server */
    says("deferred", "",
         "450 4.1.1 <a@b.example>: Recipient address rejected: undeliverable address: connect to "
         "mx.b.example[192.0.2.3]:25: Connection timed out",
         "could not be reached");
    /* host names and addresses are no cause */
    says("bounced", "5.1.1",
         "host mx1.dmarc.postmark.example[192.0.2.4] said: 550 5.1.1 "
         "<re+abc@dmarc.postmark.example>: "
         "Recipient address rejected: User unknown",
         "does not exist");
    says_not("deferred", "4.4.2",
             "host mx1.spamexperts.example[192.0.2.5] said: 421 4.4.2 Service not available",
             "spam");
    says_not("deferred", "4.7.0", "host mx.virusfree.example[192.0.2.6] said: 421 4.7.0 Try later",
             "virus");
    /* a server that refused to talk still said why */
    says("bounced", "",
         "host b.mail.protection.outlook.com[192.0.2.7] refused to talk to me: 550 5.7.606 Access "
         "denied, banned sending IP [192.0.2.8]",
         "distrusts");
    /* the scanner failed, no virus was found */
    says("deferred", "4.5.0",
         "host 127.0.0.1[127.0.0.1] said: 451 4.5.0 Error in processing, id=1234-01, virus_scan "
         "FAILED: AV: ALL VIRUS SCANNERS FAILED",
         "filter");
    /* this server's login at its relay, not a disabled mailbox */
    says("deferred", "",
         "SASL authentication failed; server smtp.office365.com[192.0.2.9] said: 535 5.7.139 "
         "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant",
         "log in");
    /* a temporary x.2.1 is a busy mailbox, a permanent one a disabled one */
    says("deferred", "4.2.1", "host mx.example[192.0.2.1] said: 450 sorry", "for the moment");
    says("bounced", "5.2.1", "host mx.example[192.0.2.1] said: 550 sorry", "disabled");
    says("deferred", "4.2.1",
         "host gmail-smtp-in.l.google.com[192.0.2.10] said: 450-4.2.1 The user you are trying to "
         "contact is receiving mail at a rate that prevents additional messages from being "
         "delivered",
         "limiting");
    /* "try again later" is in nearly every temporary answer: no limit by itself */
    says_not("deferred", "4.3.0",
             "host gmail-smtp-in.l.google.com[192.0.2.10] said: 421-4.3.0 Temporary System "
             "Problem. Try again later",
             "limiting");
    says("bounced", "5.3.4", "host mx.example[192.0.2.1] said: 552 5.3.4 Message content too large",
         "larger");
    says("bounced", "5.1.10",
         "host b.mail.protection.outlook.com[192.0.2.7] said: 550 5.1.10 "
         "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
         "does not exist");
    says("rejected", "",
         "553 5.7.1 <ceo@other.example>: Sender address rejected: not owned by user "
         "info@example.com",
         "may send as");
}
END_TEST

START_TEST(only_well_formed_codes_count)
{
    /* a longer detail is another code: only its subject (address) is known */
    says("bounced", "", "550 5.1.10 Recipient refused", "address");
    says_not("bounced", "", "550 5.1.10 Recipient refused", "does not exist");
    /* digits inside an IP address or a version are no code */
    ck_assert_ptr_null(
        delivery_reason("bounced", "", "host mx[10.5.1.1] said: 550 go away (version 2.5.1.1)"));
    /* a malformed dsn is ignored, the text's code is used */
    says("bounced", "5.x.1", "550 5.2.2 sorry", "full");
}
END_TEST

START_TEST(only_the_first_bytes_are_read)
{
    char text[REASON_TEXT_MAX + 64];

    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    memcpy(text + REASON_TEXT_MAX + 10, "over quota", 10);
    ck_assert_ptr_null(delivery_reason("deferred", "", text));
    memcpy(text, "over quota", 10);
    says("deferred", "", text, "full");
}
END_TEST

Suite *suite_track_reason(void);
Suite *suite_track_reason(void)
{
    Suite *s = suite_create("track/reason");
    TCase *tc = tcase_create("reason");
    tcase_add_test(tc, delivered_and_unexplained_say_nothing);
    tcase_add_test(tc, the_cause_named_in_the_text);
    tcase_add_test(tc, an_expired_mail_is_explained_by_its_last_error);
    tcase_add_test(tc, precise_words_beat_the_code_and_the_code_beats_vague_words);
    tcase_add_test(tc, the_cause_not_the_words_around_it);
    tcase_add_test(tc, only_well_formed_codes_count);
    tcase_add_test(tc, only_the_first_bytes_are_read);
    suite_add_tcase(s, tc);
    return s;
}
