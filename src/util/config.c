/*
 * config.c — the deployment configuration file (see config.h for the format
 * and the contract). A small INI reader: sections, key = value, '#'/';'
 * comments at line start or after blanks, trimmed values; unknown keys in
 * known sections are errors (a typo must not silently fall back to a
 * default), unknown sections are ignored.
 */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void config_defaults(struct config *c)
{
    char host[256] = "localhost";

    memset(c, 0, sizeof *c);
    snprintf(c->db_path, sizeof c->db_path, "%s/maillog.db", CONFIG_DEFAULT_DIR);
    snprintf(c->log_paths[0], sizeof c->log_paths[0], "/var/log/maillog");
    snprintf(c->log_paths[1], sizeof c->log_paths[1], "/var/log/mail.log");
    c->log_count = 2;
    c->log_auto = true;
    snprintf(c->domains_path, sizeof c->domains_path, "%s/domains.json", CONFIG_DEFAULT_DIR);
    snprintf(c->geoip_path, sizeof c->geoip_path, "%s/country.mmdb", CONFIG_DEFAULT_DIR);
    c->max_lines = 10000;
    snprintf(c->smtp_url, sizeof c->smtp_url, "smtp://127.0.0.1:25");
    snprintf(c->smtp_tls, sizeof c->smtp_tls, "none");
    if (gethostname(host, sizeof host - 1) < 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(c->smtp_from, sizeof c->smtp_from, "mail-log@%s", host);
    snprintf(c->password_command, sizeof c->password_command,
             "/usr/sbin/plesk bin mail --update {mailbox} -passwd \"\"");
}

int config_add_log(struct config *c, const char *path, struct err *e)
{
    if (c->log_auto) {
        c->log_auto = false;
        c->log_count = 0;
    }
    if (c->log_count >= CONFIG_LOGS_MAX)
        return err_set(e, "log: at most %d logs", CONFIG_LOGS_MAX);
    if (path[0] == '\0' || strlen(path) >= CONFIG_PATH_MAX)
        return err_set(e, "log: bad path");
    snprintf(c->log_paths[c->log_count++], CONFIG_PATH_MAX, "%s", path);
    return 0;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Copies value into out[size]; too long is an error naming the key. */
static int set_str(char *out, size_t size, const char *key, const char *value, struct err *e)
{
    if (strlen(value) >= size)
        return err_set(e, "%s: longer than %zu bytes", key, size - 1);
    memcpy(out, value, strlen(value) + 1);
    return 0;
}

static int set_maillog(struct config *c, const char *key, const char *value, struct err *e)
{
    if (strcasecmp(key, "db") == 0)
        return set_str(c->db_path, sizeof c->db_path, key, value, e);
    if (strcasecmp(key, "log") == 0)
        return config_add_log(c, value, e);
    if (strcasecmp(key, "domains") == 0)
        return set_str(c->domains_path, sizeof c->domains_path, key, value, e);
    if (strcasecmp(key, "geoip") == 0)
        return set_str(c->geoip_path, sizeof c->geoip_path, key, value, e);
    if (strcasecmp(key, "max_lines") == 0) {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 1000000)
            return err_set(e, "max_lines: must be 0..1000000");
        c->max_lines = v;
        return 0;
    }
    return err_set(e, "%s: unknown key in [maillog]", key);
}

static int set_smtp(struct config *c, const char *key, const char *value, struct err *e)
{
    if (strcasecmp(key, "url") == 0)
        return set_str(c->smtp_url, sizeof c->smtp_url, key, value, e);
    if (strcasecmp(key, "tls") == 0) {
        if (strcmp(value, "none") != 0 && strcmp(value, "starttls") != 0 &&
            strcmp(value, "tls") != 0)
            return err_set(e, "tls: must be none, starttls or tls");
        return set_str(c->smtp_tls, sizeof c->smtp_tls, key, value, e);
    }
    if (strcasecmp(key, "user") == 0)
        return set_str(c->smtp_user, sizeof c->smtp_user, key, value, e);
    if (strcasecmp(key, "password") == 0)
        return set_str(c->smtp_password, sizeof c->smtp_password, key, value, e);
    if (strcasecmp(key, "from") == 0)
        return set_str(c->smtp_from, sizeof c->smtp_from, key, value, e);
    return err_set(e, "%s: unknown key in [smtp]", key);
}

/* "admin", "reseller:a.com,b.com", "client:a.com". */
static int set_user(struct config *c, const char *key, const char *value, struct err *e)
{
    struct config_user *u;
    const char *colon = strchr(value, ':');
    size_t rlen = colon ? (size_t)(colon - value) : strlen(value);

    if (c->user_count >= CONFIG_USERS_MAX)
        return err_set(e, "[users]: at most %d users", CONFIG_USERS_MAX);
    u = &c->users[c->user_count];
    memset(u, 0, sizeof *u);
    if (set_str(u->name, sizeof u->name, key, key, e) < 0)
        return -1;
    if (rlen == 5 && strncmp(value, "admin", 5) == 0)
        u->role = ROLE_ADMIN;
    else if (rlen == 8 && strncmp(value, "reseller", 8) == 0)
        u->role = ROLE_RESELLER;
    else if (rlen == 6 && strncmp(value, "client", 6) == 0)
        u->role = ROLE_CLIENT;
    else
        return err_set(e, "%s: role must be admin, reseller:DOMAINS or client:DOMAINS", key);
    if (u->role != ROLE_ADMIN) {
        if (colon == NULL || colon[1] == '\0')
            return err_set(e, "%s: a %s needs domains (role:a.com,b.com)", key,
                           u->role == ROLE_CLIENT ? "client" : "reseller");
        if (set_str(u->domains, sizeof u->domains, key, trim((char *)colon + 1), e) < 0)
            return -1;
        for (char *p = u->domains; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    c->user_count++;
    return 0;
}

static int set_default(struct config *c, const char *key, const char *value, struct err *e)
{
    if (c->defaults_count >= CONFIG_DEFAULTS_MAX)
        return err_set(e, "[defaults]: at most %d keys", CONFIG_DEFAULTS_MAX);
    if (set_str(c->defaults[c->defaults_count].key, sizeof c->defaults[0].key, key, key, e) < 0 ||
        set_str(c->defaults[c->defaults_count].value, sizeof c->defaults[0].value, key, value, e) <
            0)
        return -1;
    c->defaults_count++;
    return 0;
}

static int config_line(struct config *c, char *section, size_t ssize, char *line, struct err *e)
{
    char *s = trim(line), *eq, *key, *value;

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']');

        if (end == NULL)
            return err_set(e, "missing ']'");
        *end = '\0';
        snprintf(section, ssize, "%s", trim(s + 1));
        return 0;
    }
    if ((eq = strchr(s, '=')) == NULL)
        return err_set(e, "expected key = value");
    *eq = '\0';
    key = trim(s);
    value = eq + 1;
    /* a comment after the value: " ;" or " #" */
    for (char *p = value; *p; p++)
        if ((*p == ';' || *p == '#') && p > value && isspace((unsigned char)p[-1])) {
            *p = '\0';
            break;
        }
    value = trim(value);
    if (*key == '\0')
        return err_set(e, "empty key");
    if (strcasecmp(section, "maillog") == 0)
        return set_maillog(c, key, value, e);
    if (strcasecmp(section, "smtp") == 0)
        return set_smtp(c, key, value, e);
    if (strcasecmp(section, "password") == 0) {
        if (strcasecmp(key, "command") != 0)
            return err_set(e, "%s: unknown key in [password]", key);
        return set_str(c->password_command, sizeof c->password_command, key, value, e);
    }
    if (strcasecmp(section, "users") == 0)
        return set_user(c, key, value, e);
    if (strcasecmp(section, "defaults") == 0)
        return set_default(c, key, value, e);
    return 0; /* other sections belong to others */
}

int config_load(struct config *c, const char *path, bool required, struct err *e)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    char section[64] = "maillog";
    int lineno = 0;

    if (f == NULL) {
        if (!required && errno == ENOENT)
            return 0;
        return err_sys(e, "config %s", path);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            fclose(f);
            return err_set(e, "config %s:%d: line too long", path, lineno);
        }
        if (config_line(c, section, sizeof section, line, e) < 0) {
            fclose(f);
            return err_prefix(e, "config %s:%d", path, lineno);
        }
    }
    if (ferror(f)) {
        fclose(f);
        return err_sys(e, "config %s", path);
    }
    fclose(f);
    return 0;
}
