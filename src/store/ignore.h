/*
 * ignore.h — the admin's ignore terms as SQL conditions (internal to
 * src/store: query.c for the tabs, report.c for the charts and totals, so a
 * hidden record is hidden everywhere and counted nowhere).
 *
 * ignore_terms_smtp hides deliveries whose status text contains a term, and
 * SMTP AUTH / submission logins whose detail or outcome ("ok", "failed")
 * does; ignore_terms_imap hides IMAP, POP3 and ManageSieve logins the same
 * way. Matching is case-insensitive (terms are stored lower-cased here).
 * Applied at query time, so changing a term applies to existing records.
 */
#ifndef MAILLOG_STORE_IGNORE_H
#define MAILLOG_STORE_IGNORE_H

#include "store/query.h"
#include "store/sqlbuf.h"

#include <stdbool.h>

struct ignore_list {
    char terms[SETTINGS_TERMS_MAX][SETTINGS_TERM_LEN]; /* lower-cased */
    int count;
};

struct ignore_terms {
    struct ignore_list imap; /* ignore_terms_imap */
    struct ignore_list smtp; /* ignore_terms_smtp */
};

/* Loads both lists from the settings table. */
int ignore_terms_load(struct store *s, struct ignore_terms *it, struct err *e);

/* Appends " AND …" conditions that drop hidden rows: of access_events when
 * access, else of deliveries. One bound value per term. */
void ignore_add(struct sqlbuf *b, const struct ignore_terms *it, bool access);

#endif
