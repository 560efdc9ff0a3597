/*
 * settings.c — admin settings, per-domain settings and the domains table
 * (see query.h). Settings are rows of key → text in `settings`; lists are
 * stored one item a line. Every set validates first and replaces the whole
 * group in one transaction, so readers see the old or the new settings.
 */
#include "store/query.h"

#include "geo/geo.h"
#include "store/store_impl.h"
#include "util/ipnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const visibility_names[] = {"hidden", "readonly", "editable"};

const char *config_visibility_name(enum config_visibility v)
{
    return (unsigned)v <= VISIBILITY_EDITABLE ? visibility_names[v] : NULL;
}

void settings_defaults(struct settings *st)
{
    memset(st, 0, sizeof *st);
    st->retention_days = 7;
    st->cron_enabled = true;
    st->client_config_visibility = VISIBILITY_EDITABLE;
}

/* ---- text → values ------------------------------------------------------------ */

static int parse_bool(const char *key, const char *v, bool *out, struct err *e)
{
    static const char *const yes[] = {"1", "true", "on", "yes"};
    static const char *const no[] = {"0", "false", "off", "no"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return (*out = true, 0);
        if (strcasecmp(v, no[i]) == 0)
            return (*out = false, 0);
    }
    return err_set(e, "%s: must be on or off", key);
}

/* Splits a comma-separated list into items[max][len], trimming blanks. */
static int parse_list(const char *key, const char *v, char *items, int max, size_t len, int *count,
                      struct err *e)
{
    *count = 0;
    while (*v != '\0') {
        size_t n = strcspn(v, ",");
        const char *a = v, *z = v + n;

        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (z > a) {
            if (*count >= max)
                return err_set(e, "%s: at most %d items", key, max);
            if ((size_t)(z - a) >= len)
                return err_set(e, "%s: item longer than %zu bytes", key, len - 1);
            memcpy(items + (size_t)*count * len, a, (size_t)(z - a));
            items[(size_t)*count * len + (size_t)(z - a)] = '\0';
            (*count)++;
        }
        v += n;
        if (*v == ',')
            v++;
    }
    return 0;
}

int settings_set_text(struct settings *st, const char *key, const char *value, struct err *e)
{
    if (strcmp(key, "retention_days") == 0) {
        char *end;
        long v = strtol(value, &end, 10);

        if (*value == '\0' || *end != '\0' || v < 1 || v > 3650)
            return err_set(e, "retention_days: must be 1..3650");
        st->retention_days = (int)v;
        return 0;
    }
    if (strcmp(key, "cron_enabled") == 0)
        return parse_bool(key, value, &st->cron_enabled, e);
    if (strcmp(key, "hide_from_clients") == 0)
        return parse_bool(key, value, &st->hide_from_clients, e);
    if (strcmp(key, "hide_from_resellers") == 0)
        return parse_bool(key, value, &st->hide_from_resellers, e);
    if (strcmp(key, "client_config_visibility") == 0) {
        for (int i = 0; i <= VISIBILITY_EDITABLE; i++)
            if (strcmp(value, visibility_names[i]) == 0)
                return (st->client_config_visibility = (enum config_visibility)i, 0);
        return err_set(e, "client_config_visibility: must be hidden, readonly or editable");
    }
    if (strcmp(key, "ignore_terms_imap") == 0)
        return parse_list(key, value, &st->ignore_terms_imap[0][0], SETTINGS_TERMS_MAX,
                          SETTINGS_TERM_LEN, &st->ignore_terms_imap_count, e);
    if (strcmp(key, "ignore_terms_smtp") == 0)
        return parse_list(key, value, &st->ignore_terms_smtp[0][0], SETTINGS_TERMS_MAX,
                          SETTINGS_TERM_LEN, &st->ignore_terms_smtp_count, e);
    if (strcmp(key, "excluded_ips") == 0)
        return parse_list(key, value, &st->excluded_ips[0][0], SETTINGS_IPS_MAX, SETTINGS_IP_LEN,
                          &st->excluded_ips_count, e);
    return err_set(e, "%s: unknown setting", key);
}

/* ---- validation ------------------------------------------------------------------ */

static bool utf8_clean(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;

    while (*p != '\0') {
        int n;

        if (*p < 0x20 || *p == 0x7f)
            return false;
        n = *p < 0x80                           ? 0
            : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1
            : (*p & 0xf0) == 0xe0               ? 2
            : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 3
                                                : -1;
        if (n < 0)
            return false;
        for (p++; n > 0; n--, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

static int validate_terms(const char *key, const char (*terms)[SETTINGS_TERM_LEN], int count,
                          struct err *e)
{
    if (count < 0 || count > SETTINGS_TERMS_MAX)
        return err_set(e, "%s: at most %d terms", key, SETTINGS_TERMS_MAX);
    for (int i = 0; i < count; i++) {
        size_t n = strnlen(terms[i], SETTINGS_TERM_LEN);

        if (n == 0 || n >= SETTINGS_TERM_LEN)
            return err_set(e, "%s: terms must be 1..%d bytes", key, SETTINGS_TERM_LEN - 1);
        if (!utf8_clean(terms[i]))
            return err_set(e, "%s: invalid characters in a term", key);
    }
    return 0;
}

static int validate_ips(const char *key, const char (*ips)[SETTINGS_IP_LEN], int count,
                        struct err *e)
{
    struct cidr c;

    if (count < 0 || count > SETTINGS_IPS_MAX)
        return err_set(e, "%s: at most %d entries", key, SETTINGS_IPS_MAX);
    for (int i = 0; i < count; i++) {
        size_t n = strnlen(ips[i], SETTINGS_IP_LEN);

        if (n == 0 || n >= SETTINGS_IP_LEN || cidr_parse(ips[i], n, &c, e) < 0)
            return err_set(e, "%s: '%.64s' is not an IP address or network", key,
                           n < SETTINGS_IP_LEN ? ips[i] : "");
    }
    return 0;
}

int settings_validate(const struct settings *st, struct err *e)
{
    if (st->retention_days < 1 || st->retention_days > 3650)
        return err_set(e, "retention_days: must be 1..3650");
    if ((unsigned)st->client_config_visibility > VISIBILITY_EDITABLE)
        return err_set(e, "client_config_visibility: must be hidden, readonly or editable");
    if (validate_terms("ignore_terms_imap", st->ignore_terms_imap, st->ignore_terms_imap_count, e) <
            0 ||
        validate_terms("ignore_terms_smtp", st->ignore_terms_smtp, st->ignore_terms_smtp_count, e) <
            0)
        return -1;
    return validate_ips("excluded_ips", st->excluded_ips, st->excluded_ips_count, e);
}

/* ---- storage ------------------------------------------------------------------------ */

/* Items joined one a line into out (heap). */
static char *join_lines(const char *items, size_t len, int count)
{
    size_t total = 1;
    char *out, *p;

    for (int i = 0; i < count; i++)
        total += strnlen(items + (size_t)i * len, len) + 1;
    if ((out = malloc(total)) == NULL)
        return NULL;
    p = out;
    for (int i = 0; i < count; i++) {
        size_t n = strnlen(items + (size_t)i * len, len);

        memcpy(p, items + (size_t)i * len, n);
        p += n;
        if (i + 1 < count)
            *p++ = '\n';
    }
    *p = '\0';
    return out;
}

static void split_lines(const char *text, char *items, int max, size_t len, int *count)
{
    *count = 0;
    while (text != NULL && *text != '\0' && *count < max) {
        size_t n = strcspn(text, "\n");

        if (n > 0 && n < len) {
            memcpy(items + (size_t)*count * len, text, n);
            items[(size_t)*count * len + n] = '\0';
            (*count)++;
        }
        text += n;
        if (*text == '\n')
            text++;
    }
}

int store_settings_get(struct store *s, struct settings *st, struct err *e)
{
    sqlite3_stmt *q;
    struct err ignored;

    settings_defaults(st);
    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM settings", -1, &q, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(q, 0);
        const char *value = (const char *)sqlite3_column_text(q, 1);

        if (key == NULL || value == NULL)
            continue;
        if (strcmp(key, "ignore_terms_imap") == 0)
            split_lines(value, &st->ignore_terms_imap[0][0], SETTINGS_TERMS_MAX, SETTINGS_TERM_LEN,
                        &st->ignore_terms_imap_count);
        else if (strcmp(key, "ignore_terms_smtp") == 0)
            split_lines(value, &st->ignore_terms_smtp[0][0], SETTINGS_TERMS_MAX, SETTINGS_TERM_LEN,
                        &st->ignore_terms_smtp_count);
        else if (strcmp(key, "excluded_ips") == 0)
            split_lines(value, &st->excluded_ips[0][0], SETTINGS_IPS_MAX, SETTINGS_IP_LEN,
                        &st->excluded_ips_count);
        else
            settings_set_text(st, key, value, &ignored); /* a bad stored value keeps the default */
    }
    sqlite3_finalize(q);
    return 0;
}

static int put_setting(sqlite3_stmt *st, const char *key, const char *value)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
}

int store_settings_set(struct store *s, const struct settings *st, struct err *e)
{
    sqlite3_stmt *put = NULL;
    char num[16];
    char *lists[3];
    int rc = -1;

    if (settings_validate(st, e) < 0)
        return -1;
    lists[0] =
        join_lines(&st->ignore_terms_imap[0][0], SETTINGS_TERM_LEN, st->ignore_terms_imap_count);
    lists[1] =
        join_lines(&st->ignore_terms_smtp[0][0], SETTINGS_TERM_LEN, st->ignore_terms_smtp_count);
    lists[2] = join_lines(&st->excluded_ips[0][0], SETTINGS_IP_LEN, st->excluded_ips_count);
    if (lists[0] == NULL || lists[1] == NULL || lists[2] == NULL) {
        err_set(e, "out of memory");
        goto done;
    }
    if (store_begin(s, e) < 0)
        goto done;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO settings(key, value) VALUES (?1, ?2)", -1,
                           &put, NULL) != SQLITE_OK)
        goto fail;
    snprintf(num, sizeof num, "%d", st->retention_days);
    if (put_setting(put, "retention_days", num) < 0 ||
        put_setting(put, "cron_enabled", st->cron_enabled ? "1" : "0") < 0 ||
        put_setting(put, "hide_from_clients", st->hide_from_clients ? "1" : "0") < 0 ||
        put_setting(put, "hide_from_resellers", st->hide_from_resellers ? "1" : "0") < 0 ||
        put_setting(put, "client_config_visibility",
                    visibility_names[st->client_config_visibility]) < 0 ||
        put_setting(put, "ignore_terms_imap", lists[0]) < 0 ||
        put_setting(put, "ignore_terms_smtp", lists[1]) < 0 ||
        put_setting(put, "excluded_ips", lists[2]) < 0)
        goto fail;
    sqlite3_finalize(put);
    put = NULL;
    rc = store_commit(s, e);
    goto done;
fail:
    store_sql_error(s, e);
    sqlite3_finalize(put);
    store_rollback(s);
done:
    for (int i = 0; i < 3; i++)
        free(lists[i]);
    return rc;
}

/* ---- domain settings --------------------------------------------------------------- */

int domain_settings_set_text(struct domain_settings *ds, const char *key, const char *value,
                             struct err *e)
{
    if (strcmp(key, "notify") == 0)
        return parse_bool(key, value, &ds->notify, e);
    if (strcmp(key, "force_password_change") == 0)
        return parse_bool(key, value, &ds->force_password_change, e);
    if (strcmp(key, "usual_countries") == 0) {
        if (parse_list(key, value, &ds->usual_countries[0][0], SETTINGS_COUNTRIES_MAX, 3,
                       &ds->usual_countries_count, e) < 0)
            return -1;
        for (int i = 0; i < ds->usual_countries_count; i++)
            for (int k = 0; ds->usual_countries[i][k]; k++)
                if (ds->usual_countries[i][k] >= 'a' && ds->usual_countries[i][k] <= 'z')
                    ds->usual_countries[i][k] = (char)(ds->usual_countries[i][k] - 'a' + 'A');
        return 0;
    }
    if (strcmp(key, "ip_exceptions") == 0)
        return parse_list(key, value, &ds->ip_exceptions[0][0], SETTINGS_IPS_MAX, SETTINGS_IP_LEN,
                          &ds->ip_exceptions_count, e);
    return err_set(e, "%s: unknown setting", key);
}

int domain_settings_validate(const struct domain_settings *ds, struct err *e)
{
    if (ds->usual_countries_count < 0 || ds->usual_countries_count > SETTINGS_COUNTRIES_MAX)
        return err_set(e, "usual_countries: at most %d countries", SETTINGS_COUNTRIES_MAX);
    for (int i = 0; i < ds->usual_countries_count; i++) {
        if (strnlen(ds->usual_countries[i], 3) != 2 || country_name(ds->usual_countries[i]) == NULL)
            return err_set(e, "usual_countries: '%.2s' is not an ISO 3166 country code",
                           ds->usual_countries[i]);
        for (int k = 0; k < i; k++)
            if (strcmp(ds->usual_countries[k], ds->usual_countries[i]) == 0)
                return err_set(e, "usual_countries: %s listed twice", ds->usual_countries[i]);
    }
    if (ds->force_password_change && !ds->notify)
        return err_set(e, "force_password_change: needs notify on");
    /* with nothing usual nothing is unusual: notify on would report nothing */
    if (ds->notify && ds->usual_countries_count == 0)
        return err_set(e, "usual_countries: choose at least one before turning notify on");
    return validate_ips("ip_exceptions", ds->ip_exceptions, ds->ip_exceptions_count, e);
}

void store_lower_domain(const char *in, char *out, size_t size)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < size; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
    out[i] = '\0';
}

int store_domain_settings_get(struct store *s, const char *domain, struct domain_settings *ds,
                              struct err *e)
{
    sqlite3_stmt *st;
    int rc;

    memset(ds, 0, sizeof *ds);
    store_lower_domain(domain, ds->domain, sizeof ds->domain);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT usual_countries, notify, force_password_change, ip_exceptions,"
                           " notify_since FROM domain_settings WHERE domain = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_text(st, 1, ds->domain, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        split_lines((const char *)sqlite3_column_text(st, 0), &ds->usual_countries[0][0],
                    SETTINGS_COUNTRIES_MAX, 3, &ds->usual_countries_count);
        ds->notify = sqlite3_column_int(st, 1) != 0;
        ds->force_password_change = sqlite3_column_int(st, 2) != 0;
        split_lines((const char *)sqlite3_column_text(st, 3), &ds->ip_exceptions[0][0],
                    SETTINGS_IPS_MAX, SETTINGS_IP_LEN, &ds->ip_exceptions_count);
        ds->notify_since = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return 0;
}

int store_domain_settings_set(struct store *s, const struct domain_settings *ds, struct err *e)
{
    sqlite3_stmt *st;
    char domain[QUERY_DOMAIN_MAX];
    char *countries, *ips;
    int rc = -1;

    if (domain_settings_validate(ds, e) < 0)
        return -1;
    store_lower_domain(ds->domain, domain, sizeof domain);
    if (domain[0] == '\0')
        return err_set(e, "domain: missing");
    countries = join_lines(&ds->usual_countries[0][0], 3, ds->usual_countries_count);
    ips = join_lines(&ds->ip_exceptions[0][0], SETTINGS_IP_LEN, ds->ip_exceptions_count);
    if (countries == NULL || ips == NULL) {
        err_set(e, "out of memory");
        goto done;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO domain_settings(domain, usual_countries,"
                           " notify, force_password_change, ip_exceptions, updated_at,"
                           " notify_since)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, strftime('%s','now'),"
                           " CASE WHEN ?3 = 0 THEN 0 ELSE coalesce((SELECT notify_since FROM"
                           " domain_settings WHERE domain = ?1 AND notify = 1"
                           " AND usual_countries <> ''), strftime('%s','now')) END)",
                           -1, &st, NULL) != SQLITE_OK) {
        store_sql_error(s, e);
        goto done;
    }
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, countries, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, ds->notify);
    sqlite3_bind_int(st, 4, ds->force_password_change);
    sqlite3_bind_text(st, 5, ips, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : store_sql_error(s, e);
    sqlite3_finalize(st);
done:
    free(countries);
    free(ips);
    return rc;
}

/* ---- domains ---------------------------------------------------------------------------- */

static void domain_row_fill(sqlite3_stmt *st, struct domain_row *r)
{
    static const size_t sizes[4] = {sizeof r->name, sizeof r->owner_email, sizeof r->client,
                                    sizeof r->reseller};
    char *outs[4] = {r->name, r->owner_email, r->client, r->reseller};

    for (int i = 0; i < 4; i++) {
        const unsigned char *v = sqlite3_column_text(st, i);

        snprintf(outs[i], sizes[i], "%s", v ? (const char *)v : "");
    }
}

int store_domain_get(struct store *s, const char *name, struct domain_row *r, struct err *e)
{
    sqlite3_stmt *st;
    char lname[QUERY_DOMAIN_MAX];
    int rc;

    store_lower_domain(name, lname, sizeof lname);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, owner_email, client, reseller FROM domains WHERE name=?1",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    sqlite3_bind_text(st, 1, lname, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        domain_row_fill(st, r);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_error(s, e);
    return rc == SQLITE_ROW ? 1 : 0;
}

int store_domain_each(struct store *s,
                      int (*fn)(void *ctx, const struct domain_row *r, struct err *e), void *ctx,
                      struct err *e)
{
    sqlite3_stmt *st;
    struct domain_row r;
    int rc;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, owner_email, client, reseller FROM domains ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sql_error(s, e);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        domain_row_fill(st, &r);
        if (fn(ctx, &r, e) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, e);
}
