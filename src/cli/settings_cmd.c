/*
 * settings_cmd.c — `maillog settings`: prints the admin settings (or one
 * domain's settings with --domain) as JSON, after applying any --set
 * key=value. The shapes are docs/API.md's GET /v1/settings and
 * /v1/domains/{domain}/settings. The Plesk PHP calls `maillog settings
 * --get` to learn hide_from_clients / hide_from_resellers. A bad value
 * changes nothing and exits 2 naming the key.
 */
#include "cli/commands.h"
#include "store/query.h"
#include "util/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETS_MAX 32

static void settings_usage(FILE *out)
{
    fprintf(out,
            "usage: maillog settings [--get] [--set KEY=VALUE]... [--domain D]\n"
            "                        [--config FILE] [--db PATH]\n"
            "  Prints the admin settings as JSON; --set changes them first (all or none).\n"
            "  Admin keys: retention_days, cron_enabled, ignore_terms_imap, ignore_terms_smtp,\n"
            "  hide_from_clients, hide_from_resellers, client_config_visibility\n"
            "  (hidden|readonly|editable), excluded_ips. Lists are comma-separated.\n"
            "  With --domain: usual_countries, notify, force_password_change, ip_exceptions.\n");
}

static json_t *list_json(const char *items, size_t len, int count)
{
    json_t *a = json_array();

    for (int i = 0; i < count; i++)
        json_array_append_new(a, json_string_nocheck(items + (size_t)i * len));
    return a;
}

static json_t *settings_json(const struct settings *st)
{
    return json_pack(
        "{s:i, s:b, s:o, s:o, s:b, s:b, s:s, s:o}", "retention_days", st->retention_days,
        "cron_enabled", st->cron_enabled, "ignore_terms_imap",
        list_json(&st->ignore_terms_imap[0][0], SETTINGS_TERM_LEN, st->ignore_terms_imap_count),
        "ignore_terms_smtp",
        list_json(&st->ignore_terms_smtp[0][0], SETTINGS_TERM_LEN, st->ignore_terms_smtp_count),
        "hide_from_clients", st->hide_from_clients, "hide_from_resellers", st->hide_from_resellers,
        "client_config_visibility", config_visibility_name(st->client_config_visibility),
        "excluded_ips",
        list_json(&st->excluded_ips[0][0], SETTINGS_IP_LEN, st->excluded_ips_count));
}

static json_t *domain_json(const struct domain_settings *ds)
{
    return json_pack("{s:s, s:o, s:b, s:b, s:o}", "domain", ds->domain, "usual_countries",
                     list_json(&ds->usual_countries[0][0], 3, ds->usual_countries_count), "notify",
                     ds->notify, "force_password_change", ds->force_password_change,
                     "ip_exceptions",
                     list_json(&ds->ip_exceptions[0][0], SETTINGS_IP_LEN, ds->ip_exceptions_count));
}

/* Splits "key=value" into key (copied into kbuf) and value. */
static int split_set(const char *arg, char *kbuf, size_t ksize, const char **value)
{
    const char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= ksize)
        return -1;
    memcpy(kbuf, arg, (size_t)(eq - arg));
    kbuf[eq - arg] = '\0';
    *value = eq + 1;
    return 0;
}

static int apply_sets(struct store *s, const char *domain, char **sets, int nsets, json_t **out,
                      struct err *e)
{
    char key[64];
    const char *value;

    if (domain != NULL) {
        struct domain_settings *ds = malloc(sizeof *ds);
        int rc = -1;

        if (ds == NULL)
            return err_set(e, "out of memory");
        if (store_domain_settings_get(s, domain, ds, e) < 0)
            goto dfail;
        for (int i = 0; i < nsets; i++) {
            if (split_set(sets[i], key, sizeof key, &value) < 0) {
                err_set(e, "--set: expected KEY=VALUE, got '%s'", sets[i]);
                goto dfail;
            }
            if (domain_settings_set_text(ds, key, value, e) < 0)
                goto dfail;
        }
        if (nsets > 0 && store_domain_settings_set(s, ds, e) < 0)
            goto dfail;
        *out = domain_json(ds);
        rc = 0;
    dfail:
        free(ds);
        return rc;
    }
    {
        struct settings *st = malloc(sizeof *st);
        int rc = -1;

        if (st == NULL)
            return err_set(e, "out of memory");
        if (store_settings_get(s, st, e) < 0)
            goto fail;
        for (int i = 0; i < nsets; i++) {
            if (split_set(sets[i], key, sizeof key, &value) < 0) {
                err_set(e, "--set: expected KEY=VALUE, got '%s'", sets[i]);
                goto fail;
            }
            if (settings_set_text(st, key, value, e) < 0)
                goto fail;
        }
        if (nsets > 0 && store_settings_set(s, st, e) < 0)
            goto fail;
        *out = settings_json(st);
        rc = 0;
    fail:
        free(st);
        return rc;
    }
}

int cmd_settings(int argc, char **argv)
{
    static const struct option longopts[] = {{"get", no_argument, NULL, 'g'},
                                             {"set", required_argument, NULL, 's'},
                                             {"domain", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"db", required_argument, NULL, 'D'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char *sets[SETS_MAX];
    const char *config_path = NULL, *db = NULL, *domain = NULL;
    struct config *c;
    struct store *s;
    struct err e;
    json_t *out = NULL;
    int ch, nsets = 0, rc = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            settings_usage(stdout);
            return 0;
        case 'g':
            break;
        case 's':
            if (nsets == SETS_MAX) {
                fprintf(stderr, "maillog settings: at most %d --set\n", SETS_MAX);
                return 2;
            }
            sets[nsets++] = optarg;
            break;
        case 'd':
            domain = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'D':
            db = optarg;
            break;
        default:
            settings_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        settings_usage(stderr);
        return 2;
    }
    if ((c = malloc(sizeof *c)) == NULL)
        return 1;
    config_defaults(c);
    if (config_load(c, config_path ? config_path : CONFIG_DEFAULT_FILE, config_path != NULL, &e) <
        0) {
        fprintf(stderr, "maillog settings: %s\n", e.text);
        free(c);
        return 1;
    }
    if (db != NULL)
        snprintf(c->db_path, sizeof c->db_path, "%s", db);
    s = store_open(c->db_path, 0, &e);
    free(c);
    if (s == NULL) {
        fprintf(stderr, "maillog settings: %s\n", e.text);
        return 1;
    }
    if (apply_sets(s, domain, sets, nsets, &out, &e) < 0) {
        fprintf(stderr, "maillog settings: %s\n", e.text);
        rc = strncmp(e.text, "database", 8) == 0 ? 1 : 2;
    } else {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(out);
    }
    store_close(s);
    return rc;
}
