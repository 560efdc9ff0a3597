/*
 * api.c — the request pipeline of maillog.cgi: routing, configuration,
 * identity, CSRF, opening the store, and the helpers the handlers share
 * (see api.h and routes.h).
 */
#include "api/api.h"
#include "api/routes.h"

#include <stdlib.h>
#include <string.h>

typedef int (*route_fn)(struct api *a);

/* Which methods a route takes (HEAD goes with GET). */
enum { ALLOW_GET = 1, ALLOW_PUT = 2, ALLOW_POST = 4 };

static const char *allow_text(int allow)
{
    switch (allow) {
    case ALLOW_GET:
        return "GET, HEAD";
    case ALLOW_GET | ALLOW_PUT:
        return "GET, HEAD, PUT";
    case ALLOW_POST:
        return "POST";
    default:
        return "GET, HEAD";
    }
}

static int method_allowed(struct api *a, int allow)
{
    int m = a->req->method;
    int bit = (m == METHOD_GET || m == METHOD_HEAD) ? ALLOW_GET
              : m == METHOD_PUT                     ? ALLOW_PUT
                                                    : ALLOW_POST;

    if (allow & bit)
        return 0;
    a->reply->allow = allow_text(allow);
    return reply_fail(a->reply, 405, "method_not_allowed", NULL, "method not allowed here");
}

/* A message id in the path: 1..15 digits, no leading zero. */
static int parse_message_id(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    int64_t v = 0;

    if (len == 0 || len > 15 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Matches the path against the routes: the handler, or NULL with the reply
 * set (404, 405, 400 for a malformed domain in the path). */
static route_fn route_match(struct api *a)
{
    static const struct {
        const char *path;
        route_fn fn;
        int allow;
    } fixed[] = {
        {"me", route_me, ALLOW_GET},
        {"countries", route_countries, ALLOW_GET},
        {"log-tail", route_log_tail, ALLOW_GET},
        {"stats", route_stats, ALLOW_GET},
        {"settings", route_settings, ALLOW_GET | ALLOW_PUT},
        {"alerts/test", route_alert_test, ALLOW_POST},
        {"alerts/domains", route_alert_domains, ALLOW_GET},
    };
    const char *p = a->req->path;
    const char *rest;
    int tab;

    if (strncmp(p, "/v1/", 4) != 0) {
        reply_fail(a->reply, 404, "not_found", NULL, "no such route");
        return NULL;
    }
    p += 4;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(p, fixed[i].path) == 0)
            return method_allowed(a, fixed[i].allow) < 0 ? NULL : fixed[i].fn;
    if (strchr(p, '/') == NULL && (tab = query_tab_from_name(p)) >= 0 &&
        strcmp(query_tab_name((enum query_tab)tab), p) == 0) {
        a->tab = (enum query_tab)tab;
        return method_allowed(a, ALLOW_GET) < 0 ? NULL : route_tab;
    }
    if (strncmp(p, "messages/", 9) == 0 && parse_message_id(p + 9, &a->message_id) == 0)
        return method_allowed(a, ALLOW_GET) < 0 ? NULL : route_message;
    if (strncmp(p, "domains/", 8) == 0 && (rest = strchr(p + 8, '/')) != NULL &&
        (strcmp(rest, "/settings") == 0 || strcmp(rest, "/alerts") == 0)) {
        if (domain_normalize(p + 8, (size_t)(rest - (p + 8)), a->domain) < 0) {
            reply_bad_param(a->reply, "domain", "not a domain name");
            return NULL;
        }
        if (strcmp(rest, "/alerts") == 0)
            return method_allowed(a, ALLOW_GET) < 0 ? NULL : route_domain_alerts;
        return method_allowed(a, ALLOW_GET | ALLOW_PUT) < 0 ? NULL : route_domain_settings;
    }
    reply_fail(a->reply, 404, "not_found", NULL, "no such route");
    return NULL;
}

static int load_config(struct api *a)
{
    const char *path = a->env->maillog_config ? a->env->maillog_config : CONFIG_DEFAULT_FILE;
    struct err e;

    a->cfg = malloc(sizeof *a->cfg);
    if (a->cfg == NULL)
        return reply_internal(a->reply, "out of memory");
    config_defaults(a->cfg);
    if (config_load(a->cfg, path, a->env->maillog_config != NULL, &e) < 0)
        return reply_internal(a->reply, e.text);
    if (a->env->maillog_db != NULL) {
        size_t len = strlen(a->env->maillog_db);
        if (len == 0 || len >= sizeof a->cfg->db_path)
            return reply_internal(a->reply, "MAILLOG_DB: empty or too long");
        memcpy(a->cfg->db_path, a->env->maillog_db, len + 1);
    }
    return 0;
}

/* Standalone PUT/POST must carry the token /v1/me handed out. */
static int check_csrf(struct api *a)
{
    char expected[CSRF_TOKEN_LEN + 1];
    struct err e;

    if (a->id.plesk || (a->req->method != METHOD_PUT && a->req->method != METHOD_POST))
        return 0;
    if (a->req->csrf[0] == '\0')
        return reply_fail(a->reply, 403, "forbidden", NULL,
                          "missing X-Maillog-Csrf header (get the token from /v1/me)");
    if (csrf_token(a->cfg->db_path, a->id.user, expected, &e) < 0)
        return reply_internal(a->reply, e.text);
    if (!csrf_equal(expected, a->req->csrf))
        return reply_fail(a->reply, 403, "forbidden", NULL, "wrong X-Maillog-Csrf token");
    return 0;
}

int api_open(struct api *a)
{
    struct err e;

    if (a->store != NULL)
        return 0;
    a->settings = malloc(sizeof *a->settings);
    if (a->settings == NULL)
        return reply_internal(a->reply, "out of memory");
    a->store = store_open(a->cfg->db_path, 3000, &e);
    if (a->store == NULL)
        return reply_internal(a->reply, e.text);
    if (store_settings_get(a->store, a->settings, &e) < 0)
        return reply_internal(a->reply, e.text);
    if (a->id.role == ROLE_CLIENT && a->settings->hide_from_clients)
        return reply_fail(a->reply, 403, "forbidden", NULL,
                          "Mail log is not available to clients on this server");
    if (a->id.role == ROLE_RESELLER && a->settings->hide_from_resellers)
        return reply_fail(a->reply, 403, "forbidden", NULL,
                          "Mail log is not available to resellers on this server");
    return 0;
}

int api_domain_param(struct api *a, bool required, char out[DOMAIN_MAX + 1])
{
    const struct param *p = request_param(a->req, "domain");

    out[0] = '\0';
    if (p == NULL || p->len == 0) {
        if (required && !identity_is_admin(&a->id))
            return reply_bad_param(a->reply, "domain", "required");
        return 0;
    }
    if (domain_normalize(p->value, p->len, out) < 0)
        return reply_bad_param(a->reply, "domain", "not a domain name");
    if (!identity_has_domain(&a->id, out))
        return reply_fail(a->reply, 403, "forbidden", "domain", "domain: not one of your domains");
    return 0;
}

static int count_domain(void *ctx, const struct domain_row *r, struct err *e)
{
    (void)r;
    (void)e;
    ++*(size_t *)ctx;
    return 0;
}

int api_known_domain(struct api *a, const char *domain)
{
    struct domain_row row;
    struct err e;
    size_t count = 0;
    int rc;

    if (domain[0] == '\0' || !identity_is_admin(&a->id))
        return 0;
    rc = store_domain_get(a->store, domain, &row, &e);
    if (rc < 0)
        return reply_internal(a->reply, e.text);
    if (rc == 1)
        return 0;
    if (store_domain_each(a->store, count_domain, &count, &e) < 0)
        return reply_internal(a->reply, e.text);
    if (count == 0)
        return 0; /* no domains file: every domain is known */
    return reply_fail(a->reply, 404, "not_found", "domain", "domain: not hosted on this server");
}

int api_store_error(struct api *a, const struct err *e)
{
    static const char *const inputs[] = {"cursor", "q",     "from",  "to",  "status",
                                         "sort",   "order", "limit", "tab", "bucket"};
    size_t n = strcspn(e->text, ":");

    if (e->text[n] == ':') {
        if (n == 6 && strncmp(e->text, "domain", 6) == 0)
            return reply_fail(a->reply, 403, "forbidden", "domain",
                              "domain: not one of your domains");
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
            if (strlen(inputs[i]) == n && strncmp(e->text, inputs[i], n) == 0) {
                char field[16];
                snprintf(field, sizeof field, "%s", inputs[i]);
                return reply_fail(a->reply, 400, "bad_parameter", field, "%s", e->text);
            }
    }
    return reply_internal(a->reply, e->text);
}

json_t *api_body_object(struct api *a)
{
    json_error_t jerr;
    json_t *doc;

    if (a->req->body == NULL || a->req->body_len == 0) {
        reply_fail(a->reply, 400, "bad_json", NULL, "a JSON object is required");
        return NULL;
    }
    doc = json_loadb(a->req->body, a->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        reply_fail(a->reply, 400, "bad_json", NULL, "not valid JSON (line %d, column %d)",
                   jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        reply_fail(a->reply, 400, "bad_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

int json_set_text(json_t *obj, const char *key, const char *value)
{
    return json_object_set_new(obj, key, api_json_text(value));
}

int json_set_int(json_t *obj, const char *key, long long value)
{
    return json_object_set_new(obj, key, json_integer(value));
}

static void api_free(struct api *a)
{
    store_close(a->store);
    free(a->settings);
    identity_free(&a->id);
    free(a->cfg);
}

int api_run(const struct cgi_env *env, FILE *in, FILE *out, FILE *log)
{
    struct request req;
    struct reply reply;
    struct api a;
    route_fn fn;

    memset(&a, 0, sizeof a);
    a.env = env;
    a.log = log;
    a.req = &req;
    a.reply = &reply;
    reply_init(&reply);
    if (request_read(env, in, &req, &reply) == 0 && (fn = route_match(&a)) != NULL &&
        load_config(&a) == 0 && identity_resolve(env, a.cfg, log, &a.id, &reply) == 0 &&
        check_csrf(&a) == 0)
        fn(&a);
    reply_write(&reply, out, log);
    api_free(&a);
    request_free(&req);
    reply_free(&reply);
    return reply.status;
}
