/*
 * route_settings.c — GET|PUT /v1/domains/{domain}/settings, GET|PUT
 * /v1/settings (admin) and POST /v1/alerts/test (admin: a sample report
 * through the configured SMTP server; 502 with the server's answer when it
 * is refused). The test mail is sent by the `maillog` program beside this
 * one (`maillog alerts --test-report`, argv only, no shell, empty
 * environment, killed after a minute), so the CGI does not link libcurl and
 * its ~30 libraries, which would cost every request several milliseconds.
 *
 * A PUT body is typed field by field into a patch (unknown keys and wrong
 * types → 422 naming the field) before the database is touched; the patch
 * is applied over the stored settings, the result validated as a whole by
 * the store's rules (→ 422 naming the field) and written in one transaction.
 * Who may see and change domain settings: the admin always; resellers and
 * clients only their own domains, and only as the admin's "config tab
 * visibility" allows (hidden → 403, readonly → 403 on PUT). Resellers follow
 * the clients' rule: Plesk has only the one setting.
 */
#include "api/routes.h"
#include "alert/mailmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_MAIL_TIMEOUT_MS 60000
#define TEST_MAIL_ERR_MAX 400

static int bad_setting(struct api *a, const char *field, const char *what)
{
    return reply_fail(a->reply, 422, "invalid_setting", field, "%s: %s", field, what);
}

static int json_to_bool(struct api *a, json_t *v, const char *field, bool *out)
{
    if (!json_is_boolean(v))
        return bad_setting(a, field, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

/* An array of at most max strings, each 1..len-1 bytes of valid UTF-8 text
 * without control characters, into out[max][len]. */
static int json_to_list(struct api *a, json_t *v, const char *field, char *out, size_t max,
                        size_t len, int *count)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v))
        return bad_setting(a, field, "must be a list of strings");
    if (json_array_size(v) > max) {
        char what[64];
        snprintf(what, sizeof what, "at most %zu entries", max);
        return bad_setting(a, field, what);
    }
    json_array_foreach(v, i, item)
    {
        const char *s = json_string_value(item);
        size_t n = s ? json_string_length(item) : 0;
        if (s == NULL || n == 0 || n >= len || !utf8_valid(s, n))
            return bad_setting(a, field, "entries must be non-empty text of limited length");
        memcpy(out + i * len, s, n + 1);
    }
    *count = (int)json_array_size(v);
    return 0;
}

/* ---- per-domain settings -------------------------------------------- */

struct domain_patch {
    struct domain_settings v;
    bool countries, notify, force, ips;
};

static int parse_domain_patch(struct api *a, json_t *body, struct domain_patch *p)
{
    const char *key;
    json_t *v;

    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "usual_countries") == 0) {
            if (json_to_list(a, v, key, &p->v.usual_countries[0][0], SETTINGS_COUNTRIES_MAX, 3,
                             &p->v.usual_countries_count) < 0)
                return -1;
            for (int i = 0; i < p->v.usual_countries_count; i++)
                for (int j = 0; j < 2; j++)
                    if (p->v.usual_countries[i][j] >= 'a' && p->v.usual_countries[i][j] <= 'z')
                        p->v.usual_countries[i][j] = (char)(p->v.usual_countries[i][j] - 32);
            p->countries = true;
        } else if (strcmp(key, "notify") == 0) {
            if (json_to_bool(a, v, key, &p->v.notify) < 0)
                return -1;
            p->notify = true;
        } else if (strcmp(key, "force_password_change") == 0) {
            if (json_to_bool(a, v, key, &p->v.force_password_change) < 0)
                return -1;
            p->force = true;
        } else if (strcmp(key, "ip_exceptions") == 0) {
            if (json_to_list(a, v, key, &p->v.ip_exceptions[0][0], SETTINGS_IPS_MAX,
                             SETTINGS_IP_LEN, &p->v.ip_exceptions_count) < 0)
                return -1;
            p->ips = true;
        } else if (strcmp(key, "domain") == 0) {
            const char *s = json_string_value(v);
            if (s == NULL || strcasecmp(s, a->domain) != 0)
                return bad_setting(a, "domain", "does not match the domain in the URL");
        } else if (strcmp(key, "editable") != 0 && strcmp(key, "notify_to") != 0) {
            /* editable and notify_to are what GET says, not settings: a GET
             * document PUT back as it is must be taken */
            return reply_fail(a->reply, 422, "invalid_setting", NULL, "unknown setting");
        }
    }
    return 0;
}

static void apply_domain_patch(struct domain_settings *cur, const struct domain_patch *p)
{
    if (p->countries) {
        memcpy(cur->usual_countries, p->v.usual_countries, sizeof cur->usual_countries);
        cur->usual_countries_count = p->v.usual_countries_count;
    }
    if (p->notify)
        cur->notify = p->v.notify;
    if (p->force)
        cur->force_password_change = p->v.force_password_change;
    if (p->ips) {
        memcpy(cur->ip_exceptions, p->v.ip_exceptions, sizeof cur->ip_exceptions);
        cur->ip_exceptions_count = p->v.ip_exceptions_count;
    }
}

/* Maps a settings validation error "field: …" to 422 naming the field. */
static int settings_error(struct api *a, const struct err *e, const char *const *fields, size_t n)
{
    size_t len = strcspn(e->text, ":");

    for (size_t i = 0; i < n; i++)
        if (strlen(fields[i]) == len && strncmp(e->text, fields[i], len) == 0)
            return reply_fail(a->reply, 422, "invalid_setting", fields[i], "%s", e->text);
    return reply_fail(a->reply, 422, "invalid_setting", NULL, "%s", e->text);
}

/* Where the domain's reports go: the owner's address from the domains
 * file, or NULL when it has none the alert run could send to. */
static int report_recipient(struct api *a, char *out, size_t size, bool *usable)
{
    struct domain_row *row = malloc(sizeof *row);
    struct err e;
    int rc;

    *usable = false;
    if (row == NULL)
        return reply_internal(a->reply, "out of memory");
    rc = store_domain_get(a->store, a->domain, row, &e);
    if (rc < 0) {
        free(row);
        return reply_internal(a->reply, e.text);
    }
    if (rc == 1 && mail_addr_ok(row->owner_email)) {
        snprintf(out, size, "%s", row->owner_email);
        *usable = true;
    }
    free(row);
    return 0;
}

static json_t *domain_settings_json(const struct domain_settings *ds, bool editable,
                                    const char *notify_to)
{
    json_t *o = json_object(), *list;

    json_set_text(o, "domain", ds->domain);
    list = json_array();
    for (int i = 0; i < ds->usual_countries_count; i++)
        json_array_append_new(list, api_json_text(ds->usual_countries[i]));
    json_object_set_new(o, "usual_countries", list);
    json_object_set_new(o, "notify", json_boolean(ds->notify));
    json_object_set_new(o, "force_password_change", json_boolean(ds->force_password_change));
    list = json_array();
    for (int i = 0; i < ds->ip_exceptions_count; i++)
        json_array_append_new(list, api_json_text(ds->ip_exceptions[i]));
    json_object_set_new(o, "ip_exceptions", list);
    json_object_set_new(o, "editable", json_boolean(editable));
    json_object_set_new(o, "notify_to", notify_to ? api_json_text(notify_to) : json_null());
    return o;
}

enum config_visibility api_config_visibility(const struct api *a)
{
    return identity_is_admin(&a->id) ? VISIBILITY_EDITABLE : a->settings->client_config_visibility;
}

int api_config_mode(struct api *a, enum config_visibility *mode)
{
    *mode = api_config_visibility(a);
    if (*mode == VISIBILITY_HIDDEN)
        return reply_fail(a->reply, 403, "forbidden", NULL,
                          "the configuration is not shown to you on this server");
    return 0;
}

static int domain_settings_act(struct api *a, const struct domain_patch *patch, bool put)
{
    static const char *const fields[] = {"usual_countries", "notify", "force_password_change",
                                         "ip_exceptions"};
    enum config_visibility mode;
    struct domain_settings *ds;
    char notify_to[RECORD_ADDR_MAX];
    bool usable;
    struct err e;
    int rc = -1;

    if (api_open(a) < 0 || api_known_domain(a, a->domain) < 0 || api_config_mode(a, &mode) < 0)
        return -1;
    if (put && mode != VISIBILITY_EDITABLE)
        return reply_fail(a->reply, 403, "forbidden", NULL,
                          "the configuration is read-only for you on this server");
    ds = malloc(sizeof *ds);
    if (ds == NULL)
        return reply_internal(a->reply, "out of memory");
    if (store_domain_settings_get(a->store, a->domain, ds, &e) < 0) {
        reply_internal(a->reply, e.text);
        goto out;
    }
    if (put) {
        apply_domain_patch(ds, patch);
        if (domain_settings_validate(ds, &e) < 0) {
            settings_error(a, &e, fields, sizeof fields / sizeof fields[0]);
            goto out;
        }
        if (store_domain_settings_set(a->store, ds, &e) < 0) {
            reply_internal(a->reply, e.text);
            goto out;
        }
        if (store_domain_settings_get(a->store, a->domain, ds, &e) < 0) {
            reply_internal(a->reply, e.text);
            goto out;
        }
    }
    if (report_recipient(a, notify_to, sizeof notify_to, &usable) < 0)
        goto out;
    rc = reply_json(
        a->reply, domain_settings_json(ds, mode == VISIBILITY_EDITABLE, usable ? notify_to : NULL));
out:
    free(ds);
    return rc;
}

int route_domain_settings(struct api *a)
{
    struct domain_patch *patch = NULL;
    bool put = a->req->method == METHOD_PUT;
    int rc = -1;

    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_has_domain(&a->id, a->domain))
        return reply_fail(a->reply, 403, "forbidden", "domain", "domain: not one of your domains");
    if (put) {
        json_t *body = api_body_object(a);
        if (body == NULL)
            return -1;
        patch = calloc(1, sizeof *patch);
        if (patch == NULL) {
            json_decref(body);
            return reply_internal(a->reply, "out of memory");
        }
        rc = parse_domain_patch(a, body, patch);
        json_decref(body);
        if (rc < 0)
            goto out;
    }
    rc = domain_settings_act(a, patch, put);
out:
    free(patch);
    return rc;
}

/* ---- admin settings ---------------------------------------------------- */

struct settings_patch {
    struct settings v;
    bool retention, cron, imap, smtp, hide_clients, hide_resellers, visibility, ips;
};

static int parse_visibility(const char *s, enum config_visibility *out)
{
    for (int v = VISIBILITY_HIDDEN; v <= VISIBILITY_EDITABLE; v++)
        if (s != NULL && strcmp(s, config_visibility_name((enum config_visibility)v)) == 0) {
            *out = (enum config_visibility)v;
            return 0;
        }
    return -1;
}

static int parse_settings_patch(struct api *a, json_t *body, struct settings_patch *p)
{
    const char *key;
    json_t *v;

    json_object_foreach(body, key, v)
    {
        int rc = 0;
        if (strcmp(key, "retention_days") == 0) {
            json_int_t n = json_integer_value(v);
            if (!json_is_integer(v))
                return bad_setting(a, key, "must be a whole number of days");
            if (n < 1 || n > 3650) /* the store's bounds (settings.c) */
                return bad_setting(a, key, "must be from 1 to 3650 days");
            p->v.retention_days = (int)n;
            p->retention = true;
        } else if (strcmp(key, "cron_enabled") == 0) {
            rc = json_to_bool(a, v, key, &p->v.cron_enabled);
            p->cron = true;
        } else if (strcmp(key, "hide_from_clients") == 0) {
            rc = json_to_bool(a, v, key, &p->v.hide_from_clients);
            p->hide_clients = true;
        } else if (strcmp(key, "hide_from_resellers") == 0) {
            rc = json_to_bool(a, v, key, &p->v.hide_from_resellers);
            p->hide_resellers = true;
        } else if (strcmp(key, "ignore_terms_imap") == 0) {
            rc = json_to_list(a, v, key, &p->v.ignore_terms_imap[0][0], SETTINGS_TERMS_MAX,
                              SETTINGS_TERM_LEN, &p->v.ignore_terms_imap_count);
            p->imap = true;
        } else if (strcmp(key, "ignore_terms_smtp") == 0) {
            rc = json_to_list(a, v, key, &p->v.ignore_terms_smtp[0][0], SETTINGS_TERMS_MAX,
                              SETTINGS_TERM_LEN, &p->v.ignore_terms_smtp_count);
            p->smtp = true;
        } else if (strcmp(key, "excluded_ips") == 0) {
            rc = json_to_list(a, v, key, &p->v.excluded_ips[0][0], SETTINGS_IPS_MAX,
                              SETTINGS_IP_LEN, &p->v.excluded_ips_count);
            p->ips = true;
        } else if (strcmp(key, "client_config_visibility") == 0) {
            if (parse_visibility(json_string_value(v), &p->v.client_config_visibility) < 0)
                return bad_setting(a, key, "must be hidden, readonly or editable");
            p->visibility = true;
        } else {
            return reply_fail(a->reply, 422, "invalid_setting", NULL, "unknown setting");
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void apply_settings_patch(struct settings *s, const struct settings_patch *p)
{
    if (p->retention)
        s->retention_days = p->v.retention_days;
    if (p->cron)
        s->cron_enabled = p->v.cron_enabled;
    if (p->hide_clients)
        s->hide_from_clients = p->v.hide_from_clients;
    if (p->hide_resellers)
        s->hide_from_resellers = p->v.hide_from_resellers;
    if (p->visibility)
        s->client_config_visibility = p->v.client_config_visibility;
    if (p->imap) {
        memcpy(s->ignore_terms_imap, p->v.ignore_terms_imap, sizeof s->ignore_terms_imap);
        s->ignore_terms_imap_count = p->v.ignore_terms_imap_count;
    }
    if (p->smtp) {
        memcpy(s->ignore_terms_smtp, p->v.ignore_terms_smtp, sizeof s->ignore_terms_smtp);
        s->ignore_terms_smtp_count = p->v.ignore_terms_smtp_count;
    }
    if (p->ips) {
        memcpy(s->excluded_ips, p->v.excluded_ips, sizeof s->excluded_ips);
        s->excluded_ips_count = p->v.excluded_ips_count;
    }
}

static json_t *text_list(const char *items, size_t len, int count)
{
    json_t *list = json_array();

    for (int i = 0; i < count; i++)
        json_array_append_new(list, api_json_text(items + (size_t)i * len));
    return list;
}

static json_t *settings_json(const struct settings *s)
{
    json_t *o = json_object();

    json_set_int(o, "retention_days", s->retention_days);
    json_object_set_new(o, "cron_enabled", json_boolean(s->cron_enabled));
    json_object_set_new(
        o, "ignore_terms_imap",
        text_list(&s->ignore_terms_imap[0][0], SETTINGS_TERM_LEN, s->ignore_terms_imap_count));
    json_object_set_new(
        o, "ignore_terms_smtp",
        text_list(&s->ignore_terms_smtp[0][0], SETTINGS_TERM_LEN, s->ignore_terms_smtp_count));
    json_object_set_new(o, "hide_from_clients", json_boolean(s->hide_from_clients));
    json_object_set_new(o, "hide_from_resellers", json_boolean(s->hide_from_resellers));
    json_set_text(o, "client_config_visibility",
                  config_visibility_name(s->client_config_visibility));
    json_object_set_new(o, "excluded_ips",
                        text_list(&s->excluded_ips[0][0], SETTINGS_IP_LEN, s->excluded_ips_count));
    return o;
}

int route_settings(struct api *a)
{
    static const char *const fields[] = {
        "retention_days",    "cron_enabled",        "ignore_terms_imap",        "ignore_terms_smtp",
        "hide_from_clients", "hide_from_resellers", "client_config_visibility", "excluded_ips"};
    struct settings_patch *patch = NULL;
    struct err e;
    int rc = -1;

    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_is_admin(&a->id))
        return reply_fail(a->reply, 403, "forbidden", NULL, "admin settings: admin only");
    if (a->req->method == METHOD_PUT) {
        json_t *body = api_body_object(a);
        if (body == NULL)
            return -1;
        patch = calloc(1, sizeof *patch);
        if (patch == NULL) {
            json_decref(body);
            return reply_internal(a->reply, "out of memory");
        }
        rc = parse_settings_patch(a, body, patch);
        json_decref(body);
        if (rc < 0)
            goto out;
        rc = -1;
    }
    if (api_open(a) < 0)
        goto out;
    if (patch != NULL) {
        apply_settings_patch(a->settings, patch);
        if (settings_validate(a->settings, &e) < 0) {
            settings_error(a, &e, fields, sizeof fields / sizeof fields[0]);
            goto out;
        }
        if (store_settings_set(a->store, a->settings, &e) < 0 ||
            store_settings_get(a->store, a->settings, &e) < 0) {
            reply_internal(a->reply, e.text);
            goto out;
        }
    }
    rc = reply_json(a->reply, settings_json(a->settings));
out:
    free(patch);
    return rc;
}

/* ---- test mail ----------------------------------------------------------- */

/* A plausible single mail address: local@domain, printable ASCII local part
 * without spaces, quotes, angle brackets or commas; a DNS domain. */
static int valid_address(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    char domain[DOMAIN_MAX + 1];

    if (at == NULL || at == s || (size_t)(at - s) > 64 || len > 254)
        return 0;
    for (const char *c = s; c < at; c++)
        if (*c <= ' ' || *c > '~' || strchr("\"<>(),;:\\[]@", *c) != NULL)
            return 0;
    return domain_normalize(at + 1, len - (size_t)(at + 1 - s), domain) == 0;
}

/* The `maillog` program in the directory of the running executable. */
static int sibling_cli(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    char *slash;

    if (n <= 0 || (size_t)n >= size - 1)
        return -1;
    out[n] = '\0';
    slash = strrchr(out, '/');
    if (slash == NULL || (size_t)(slash - out) + sizeof "/maillog" > size)
        return -1;
    memcpy(slash, "/maillog", sizeof "/maillog");
    return 0;
}

/* Reads the child's stderr into err (bounded) until EOF (0) or the
 * deadline (-1). */
static int read_child_errors(int fd, char *err, size_t size)
{
    struct timespec start, now;
    size_t len = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char chunk[512];
        long left;
        ssize_t n;
        int rc;
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = TEST_MAIL_TIMEOUT_MS -
               (long)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0)
            return -1;
        rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        if (len + 1 < size) {
            size_t take = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
            memcpy(err + len, chunk, take);
            len += take;
            err[len] = '\0';
        }
    }
}

/* Runs `maillog alerts [--config F] --test-report --to=ADDR`; 0 when the
 * SMTP server accepted the mail, else -1 with its explanation in e. */
static int send_test_mail(struct api *a, const char *to, struct err *e)
{
    static const char prefix[] = "maillog alerts: test report: ";
    char cli[CONFIG_PATH_MAX], config_arg[CONFIG_PATH_MAX + 16], to_arg[300];
    char err[TEST_MAIL_ERR_MAX + 1] = "";
    char *argv[8], *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    int fds[2], status, argc = 0;
    pid_t pid;

    if (sibling_cli(cli, sizeof cli) < 0)
        return err_set(e, "cannot locate the maillog program");
    snprintf(to_arg, sizeof to_arg, "--to=%s", to);
    argv[argc++] = cli;
    argv[argc++] = "alerts";
    if (a->env->maillog_config != NULL) {
        snprintf(config_arg, sizeof config_arg, "--config=%s", a->env->maillog_config);
        argv[argc++] = config_arg;
    }
    argv[argc++] = "--test-report";
    argv[argc++] = to_arg;
    argv[argc] = NULL;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_sys(e, "pipe");
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_sys(e, "fork");
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fds[1], 2) < 0)
            _exit(127);
        execve(cli, argv, envp);
        _exit(127);
    }
    close(fds[1]);
    if (read_child_errors(fds[0], err, sizeof err) < 0) {
        close(fds[0]);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return err_set(e, "the SMTP server did not answer within %d s",
                       TEST_MAIL_TIMEOUT_MS / 1000);
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_sys(e, "waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    err[strcspn(err, "\n")] = '\0';
    if (strncmp(err, prefix, sizeof prefix - 1) == 0)
        return err_set(e, "%s", err + sizeof prefix - 1);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return err_set(e, "%s: cannot run", cli);
    return err_set(e, "test mail not sent: %s", err[0] ? err : "maillog alerts failed");
}

int route_alert_test(struct api *a)
{
    json_t *body, *to;
    const char *key;
    json_t *v;
    char addr[256];
    struct err e;

    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_is_admin(&a->id))
        return reply_fail(a->reply, 403, "forbidden", NULL, "test mail: admin only");
    body = api_body_object(a);
    if (body == NULL)
        return -1;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "to") != 0) {
            json_decref(body);
            return reply_fail(a->reply, 422, "invalid_setting", NULL, "unknown field");
        }
    }
    to = json_object_get(body, "to");
    if (!json_is_string(to) || !valid_address(json_string_value(to), json_string_length(to))) {
        json_decref(body);
        return bad_setting(a, "to", "must be one mail address");
    }
    snprintf(addr, sizeof addr, "%s", json_string_value(to));
    json_decref(body);
    if (api_open(a) < 0)
        return -1;
    if (send_test_mail(a, addr, &e) < 0)
        return reply_fail(a->reply, 502, "bad_gateway", NULL, "%s", e.text);
    return reply_json(a->reply, json_pack("{s:b}", "sent", 1));
}
