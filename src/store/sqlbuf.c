/*
 * sqlbuf.c — SQL text from fixed fragments with bound values (see sqlbuf.h).
 */
#include "store/sqlbuf.h"

#include <string.h>

void sqlbuf_init(struct sqlbuf *b)
{
    b->len = 0;
    b->text[0] = '\0';
    b->overflow = false;
    b->nbinds = 0;
}

void sqlbuf_add(struct sqlbuf *b, const char *fragment)
{
    size_t n = strlen(fragment);

    if (b->len + n + 1 > sizeof b->text) {
        b->overflow = true;
        return;
    }
    memcpy(b->text + b->len, fragment, n + 1);
    b->len += n;
}

static struct sqlbuf_bind *next_bind(struct sqlbuf *b)
{
    if (b->nbinds >= SQLBUF_BINDS_MAX) {
        b->overflow = true;
        return NULL;
    }
    sqlbuf_add(b, "?");
    return &b->binds[b->nbinds++];
}

void sqlbuf_int(struct sqlbuf *b, int64_t v)
{
    struct sqlbuf_bind *bd = next_bind(b);

    if (bd != NULL) {
        bd->is_text = false;
        bd->i = v;
    }
}

void sqlbuf_text(struct sqlbuf *b, const char *v)
{
    struct sqlbuf_bind *bd = next_bind(b);

    if (bd != NULL) {
        bd->is_text = true;
        bd->t = v;
    }
}

sqlite3_stmt *sqlbuf_prepare(struct sqlbuf *b, sqlite3 *db, struct err *e)
{
    sqlite3_stmt *st;

    if (b->overflow) {
        err_set(e, "query too complex");
        return NULL;
    }
    if (sqlite3_prepare_v2(db, b->text, (int)b->len, &st, NULL) != SQLITE_OK) {
        err_set(e, "database: %s", sqlite3_errmsg(db));
        return NULL;
    }
    for (int i = 0; i < b->nbinds; i++) {
        if (b->binds[i].is_text)
            sqlite3_bind_text(st, i + 1, b->binds[i].t, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, i + 1, b->binds[i].i);
    }
    return st;
}
