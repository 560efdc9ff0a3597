/*
 * ignore.c — the admin's ignore terms as SQL conditions (see ignore.h).
 */
#include "store/ignore.h"

#include "store/store_impl.h"

#include <string.h>

/* The settings value: one term per line. */
static void ignore_list_parse(const char *text, struct ignore_list *l)
{
    l->count = 0;
    while (*text != '\0' && l->count < SETTINGS_TERMS_MAX) {
        size_t n = strcspn(text, "\n");

        if (n > 0 && n < SETTINGS_TERM_LEN) {
            for (size_t i = 0; i < n; i++)
                l->terms[l->count][i] =
                    (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] - 'A' + 'a') : text[i];
            l->terms[l->count++][n] = '\0';
        }
        text += n;
        if (*text == '\n')
            text++;
    }
}

int ignore_terms_load(struct store *s, struct ignore_terms *it, struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    it->imap.count = 0;
    it->smtp.count = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT key, value FROM settings"
                           " WHERE key IN ('ignore_terms_imap', 'ignore_terms_smtp')",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *value = (const char *)sqlite3_column_text(st, 1);

        if (key != NULL && value != NULL)
            ignore_list_parse(value, strcmp(key, "ignore_terms_imap") == 0 ? &it->imap : &it->smtp);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}

/* A login's searchable outcome: its detail and "ok"/"failed", joined by a
 * newline (which no term contains, so no term matches across the two). */
#define ACCESS_STATUS                                                                              \
    "instr(lower(detail) || char(10) || CASE success WHEN 1 THEN 'ok' ELSE 'failed' END, "

/* The protocols whose logins Postfix logs (SMTP AUTH, submission). */
#define ACCESS_SMTP_PROTOCOLS "(2, 3)"
_Static_assert(PROTO_SMTP == 2 && PROTO_SUBMISSION == 3, "ACCESS_SMTP_PROTOCOLS");

void ignore_add(struct sqlbuf *b, const struct ignore_terms *it, bool access)
{
    if (!access) {
        for (int i = 0; i < it->smtp.count; i++) {
            sqlbuf_add(b, " AND instr(lower(status_text), ");
            sqlbuf_text(b, it->smtp.terms[i]);
            sqlbuf_add(b, ") = 0");
        }
        return;
    }
    for (int i = 0; i < it->imap.count; i++) {
        sqlbuf_add(b, " AND (protocol IN " ACCESS_SMTP_PROTOCOLS " OR " ACCESS_STATUS);
        sqlbuf_text(b, it->imap.terms[i]);
        sqlbuf_add(b, ") = 0)");
    }
    for (int i = 0; i < it->smtp.count; i++) {
        sqlbuf_add(b, " AND (protocol NOT IN " ACCESS_SMTP_PROTOCOLS " OR " ACCESS_STATUS);
        sqlbuf_text(b, it->smtp.terms[i]);
        sqlbuf_add(b, ") = 0)");
    }
}
