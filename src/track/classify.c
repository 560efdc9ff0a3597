/*
 * classify.c — the domain set and the tab rules of classify.h.
 */
#include "track/classify.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const struct domain_info *)a)->name, ((const struct domain_info *)b)->name);
}

static bool valid_domain_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > DOMAIN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80))
            return false;
    }
    return name[0] != '.' && name[n - 1] != '.';
}

static void copy_lower(char *dst, size_t size, const char *src)
{
    size_t i;
    for (i = 0; i + 1 < size && src[i] != '\0'; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

static const char *string_member(json_t *object, const char *key)
{
    json_t *v = json_object_get(object, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

int domain_set_load(struct domain_set *set, const char *path, struct err *e)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    struct domain_info *items;
    size_t n;

    if (root == NULL)
        return err_set(e, "%s: line %d: %s", path, jerr.line, jerr.text);
    if (!json_is_array(root)) {
        json_decref(root);
        return err_set(e, "%s: expected a JSON array of domain objects", path);
    }
    n = json_array_size(root);
    items = calloc(n ? n : 1, sizeof *items);
    if (items == NULL) {
        json_decref(root);
        return err_set(e, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *entry = json_array_get(root, i);
        const char *name =
            json_is_string(entry) ? json_string_value(entry) : string_member(entry, "name");
        if (!valid_domain_name(name)) {
            err_set(e, "%s: entry %zu: '%.100s' is not a domain name", path, i + 1, name);
            free(items);
            json_decref(root);
            return -1;
        }
        copy_lower(items[i].name, sizeof items[i].name, name);
        if (json_is_object(entry)) {
            snprintf(items[i].owner_email, sizeof items[i].owner_email, "%s",
                     string_member(entry, "owner_email"));
            snprintf(items[i].client, sizeof items[i].client, "%s", string_member(entry, "client"));
            snprintf(items[i].reseller, sizeof items[i].reseller, "%s",
                     string_member(entry, "reseller"));
        }
        items[i].sysuser_uid = -1;
        if (json_is_object(entry)) {
            json_t *uid = json_object_get(entry, "sysuser_uid");
            /* root (0) is no customer's; a bad value, as the store: none */
            if (json_is_integer(uid) && json_integer_value(uid) > 0 &&
                json_integer_value(uid) <= 0x7fffffff)
                items[i].sysuser_uid = (long)json_integer_value(uid);
        }
    }
    json_decref(root);
    qsort(items, n, sizeof *items, compare_names);
    domain_set_free(set);
    set->items = items;
    set->count = n;
    return 0;
}

void domain_set_free(struct domain_set *set)
{
    free(set->items);
    set->items = NULL;
    set->count = 0;
}

/* bsearch() comparator: a lower-case name against an entry. */
static int compare_name_to_entry(const void *name, const void *entry)
{
    return strcmp(name, ((const struct domain_info *)entry)->name);
}

const struct domain_info *domain_set_find(const struct domain_set *set, const char *domain)
{
    char name[DOMAIN_NAME_MAX + 1];

    if (set == NULL || set->count == 0 || domain[0] == '\0')
        return NULL;
    copy_lower(name, sizeof name, domain);
    return bsearch(name, set->items, set->count, sizeof set->items[0], compare_name_to_entry);
}

void address_domain(const char *address, char *out, size_t size)
{
    const char *at = strrchr(address, '@');
    copy_lower(out, size, at ? at + 1 : "");
}

/* Whether a hosted domain sent m (classify.h's "sent"). */
static bool sent_by_hosted(const struct domain_set *set, const struct mail_message *m)
{
    char domain[DOMAIN_NAME_MAX + 1];

    if (m->origin == ORIGIN_REMOTE)
        return false;
    if (m->origin == ORIGIN_SASL && strchr(m->sasl_username, '@') != NULL) {
        address_domain(m->sasl_username, domain, sizeof domain);
        return domain_set_find(set, domain) != NULL;
    }
    if (m->origin == ORIGIN_LOCAL && m->local_uid > 0)
        for (size_t i = 0; i < set->count; i++)
            if (set->items[i].sysuser_uid == m->local_uid)
                return true;
    address_domain(m->sender, domain, sizeof domain);
    return domain_set_find(set, domain) != NULL;
}

/* Whether a hosted domain received d (classify.h's "received"). */
static bool received_by_hosted(const struct domain_set *set, const struct mail_delivery *d)
{
    char domain[DOMAIN_NAME_MAX + 1];

    address_domain(d->recipient, domain, sizeof domain);
    if (domain_set_find(set, domain) != NULL)
        return true;
    address_domain(d->orig_to, domain, sizeof domain);
    return domain[0] != '\0' && domain_set_find(set, domain) != NULL;
}

unsigned classify_delivery(const struct domain_set *set, const struct mail_message *m,
                           const struct mail_delivery *d)
{
    unsigned tabs = 0;

    if (d->is_hop)
        return 0;
    if (received_by_hosted(set, d))
        tabs |= TAB_RECEIVED;
    if (sent_by_hosted(set, m))
        tabs |= TAB_SENT;
    if (d->status != DELIVERY_SENT) {
        if (tabs & TAB_RECEIVED)
            tabs |= TAB_NOT_RECEIVED;
        if (tabs & TAB_SENT)
            tabs |= TAB_NOT_SENT;
    }
    return tabs;
}
