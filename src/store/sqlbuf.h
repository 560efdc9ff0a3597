/*
 * sqlbuf.h — building one SQL statement from fixed fragments plus bound
 * values, for the store's listing queries. User text never enters the SQL
 * text: every value is a `?` bound at prepare time. Bounded: a statement
 * longer than SQLBUF_TEXT_MAX or with more than SQLBUF_BINDS_MAX values is an
 * error reported by sqlbuf_prepare().
 */
#ifndef MAILLOG_STORE_SQLBUF_H
#define MAILLOG_STORE_SQLBUF_H

#include "util/err.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define SQLBUF_TEXT_MAX 16384
#define SQLBUF_BINDS_MAX 128

struct sqlbuf_bind {
    bool is_text;
    int64_t i;
    const char *t; /* caller-owned, lives until the statement is finalized */
};

struct sqlbuf {
    char text[SQLBUF_TEXT_MAX];
    size_t len;
    bool overflow;
    struct sqlbuf_bind binds[SQLBUF_BINDS_MAX];
    int nbinds;
};

void sqlbuf_init(struct sqlbuf *b);
/* Appends SQL text (a fixed fragment, never user input). */
void sqlbuf_add(struct sqlbuf *b, const char *fragment);
/* Appends "?" and records the value to bind. */
void sqlbuf_int(struct sqlbuf *b, int64_t v);
void sqlbuf_text(struct sqlbuf *b, const char *v);
/* Prepares and binds; NULL with e set. */
sqlite3_stmt *sqlbuf_prepare(struct sqlbuf *b, sqlite3 *db, struct err *e);

#endif
