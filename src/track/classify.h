/*
 * classify.h — which tabs a delivery belongs to (DESIGN.md §4), given the
 * set of domains hosted here:
 *   received      the recipient's domain is hosted here, or the recipient is
 *                 elsewhere and a hosted address forwarded it (orig_to)
 *   sent          the mail originated here (SASL-authenticated, pickup/sendmail,
 *                 or a loopback client) and the domain that sent it is hosted:
 *                 the SMTP AUTH login's domain; for local mail of a
 *                 subscription's system user (its uid), that subscription;
 *                 else the envelope sender's domain
 * (the store's rules for the tabs, src/store/store.c).
 *   not received  received, with a status other than sent
 *   not sent      sent, with a status other than sent
 * A delivery can be in two tabs (internal mail is both sent and received).
 * Hops to a content filter are in none.
 *
 * The domain set is loaded from the domains file: a JSON array of
 * {"name", "owner_email", "client", "reseller", "sysuser_uid"} objects
 * (extra keys ignored).
 */
#ifndef MAILLOG_TRACK_CLASSIFY_H
#define MAILLOG_TRACK_CLASSIFY_H

#include "track/record.h"
#include "util/err.h"

#include <stdbool.h>
#include <stddef.h>

enum tab_bits {
    TAB_RECEIVED = 1 << 0,
    TAB_SENT = 1 << 1,
    TAB_NOT_RECEIVED = 1 << 2,
    TAB_NOT_SENT = 1 << 3
};

#define DOMAIN_NAME_MAX 254

struct domain_info {
    char name[DOMAIN_NAME_MAX + 1]; /* lower case */
    char owner_email[RECORD_ADDR_MAX];
    char client[128];
    char reseller[128];
    long sysuser_uid; /* the subscription's system user, -1 none */
};

struct domain_set {
    struct domain_info *items; /* sorted by name */
    size_t count;
};

/* Loads path into set (replacing its contents). Names are lower-cased and
 * validated as host names; a bad entry is an error naming it. */
int domain_set_load(struct domain_set *set, const char *path, struct err *e);
void domain_set_free(struct domain_set *set);
const struct domain_info *domain_set_find(const struct domain_set *set, const char *domain);

/* The domain part of an address, lower-cased into out ("" when none). */
void address_domain(const char *address, char *out, size_t size);

/* Tab bits of delivery d of message m. */
unsigned classify_delivery(const struct domain_set *set, const struct mail_message *m,
                           const struct mail_delivery *d);

#endif
