/*
 * route_misc.c — GET /v1/me, GET /v1/countries, GET /v1/log-tail.
 */
#include "api/logtail.h"
#include "api/routes.h"
#include "geo/geo.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ME_DOMAINS_MAX 10000

static int add_domain(void *ctx, const struct domain_row *r, struct err *e)
{
    json_t *list = ctx;

    (void)e;
    if (json_array_size(list) < ME_DOMAINS_MAX)
        json_array_append_new(list, api_json_text(r->name));
    return 0;
}

/* MaxLines: the Plesk bridge's MAILLOG_MAX_LINES (panel.ini) over the
 * config's max_lines; a malformed value counts as the default. */
static long max_lines(const struct api *a)
{
    const char *v = a->env->maillog_max_lines;
    long n = 0;

    if (v == NULL || v[0] == '\0' || strlen(v) > 7)
        return a->cfg->max_lines < 0 ? 0 : a->cfg->max_lines;
    for (const char *c = v; *c; c++) {
        if (*c < '0' || *c > '9')
            return a->cfg->max_lines < 0 ? 0 : a->cfg->max_lines;
        n = n * 10 + (*c - '0');
    }
    return n;
}

int route_me(struct api *a)
{
    static const char *const tabs[] = {"access", "received", "sent", "not-received", "not-sent"};
    char token[CSRF_TOKEN_LEN + 1] = "";
    json_t *me, *list;
    struct err e;
    enum config_visibility mode;

    if (request_check_unused(a->req, a->reply) < 0 || api_open(a) < 0)
        return -1;
    if (csrf_token(a->cfg->db_path, a->id.user, token, &e) < 0) {
        if (!a->id.plesk)
            return reply_internal(a->reply, e.text);
        token[0] = '\0'; /* Plesk checks CSRF itself */
    }
    mode = api_config_visibility(a);
    me = json_object();
    if (me == NULL)
        return reply_internal(a->reply, "out of memory");
    reply_json(a->reply, me);
    json_set_text(me, "user", a->id.user);
    json_set_text(me, "role", identity_role_name(a->id.role));
    list = json_array();
    json_object_set_new(me, "domains", list);
    if (identity_is_admin(&a->id)) {
        if (store_domain_each(a->store, add_domain, list, &e) < 0)
            return reply_internal(a->reply, e.text);
    } else {
        for (size_t i = 0; i < a->id.domain_count; i++)
            json_array_append_new(list, api_json_text(a->id.domains[i]));
    }
    list = json_array();
    json_object_set_new(me, "tabs", list);
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++)
        json_array_append_new(list, json_string(tabs[i]));
    if (mode != VISIBILITY_HIDDEN)
        json_array_append_new(list, json_string("config"));
    json_set_text(me, "config_mode", config_visibility_name(mode));
    json_set_text(me, "csrf_token", token);
    json_set_text(me, "version", MAILLOG_VERSION);
    /* how far back the tabs can go: "no records" means none in these days */
    json_set_int(me, "retention_days", a->settings->retention_days);
    json_object_set_new(me, "log_tail_enabled",
                        json_boolean(identity_is_admin(&a->id) && max_lines(a) > 0));
    if (identity_is_admin(&a->id))
        json_object_set_new(me, "admin", json_true());
    return 0;
}

int route_countries(struct api *a)
{
    json_t *list, *doc;

    if (request_check_unused(a->req, a->reply) < 0 || api_open(a) < 0)
        return -1;
    list = json_array();
    doc = json_pack("{s:o}", "countries", list);
    if (reply_json(a->reply, doc) < 0)
        return -1;
    for (size_t i = 0; i < country_count(); i++) {
        const struct country *c = country_at(i);
        json_array_append_new(list, json_pack("{s:s, s:s}", "code", c->code, "name", c->name));
    }
    return 0;
}

/* The first configured log that exists, or NULL. */
static const char *log_path(const struct api *a)
{
    for (int i = 0; i < a->cfg->log_count; i++)
        if (access(a->cfg->log_paths[i], F_OK) == 0)
            return a->cfg->log_paths[i];
    return NULL;
}

int route_log_tail(struct api *a)
{
    const struct param *p = request_param(a->req, "lines");
    long limit = max_lines(a), lines = limit;
    struct logtail t;
    const char *path;
    json_t *doc, *list;
    struct err e;

    if (p != NULL) {
        char *end;
        if (p->len == 0 || p->len > 7 || p->value[0] < '0' || p->value[0] > '9')
            return reply_bad_param(a->reply, "lines", "must be a number 1..1000000");
        lines = strtol(p->value, &end, 10);
        if (*end != '\0' || lines < 1)
            return reply_bad_param(a->reply, "lines", "must be a number 1..1000000");
    }
    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_is_admin(&a->id))
        return reply_fail(a->reply, 403, "forbidden", NULL, "the log is shown to the admin only");
    if (api_open(a) < 0)
        return -1;
    if (limit <= 0)
        return reply_fail(a->reply, 404, "not_found", NULL,
                          "the log view is disabled (MaxLines = 0)");
    if (limit > LOGTAIL_LINES_MAX)
        limit = LOGTAIL_LINES_MAX; /* what is shown at most, whatever panel.ini says */
    if (lines > limit)
        lines = limit;
    path = log_path(a);
    if (path == NULL)
        return reply_fail(a->reply, 404, "not_found", NULL, "no configured mail log exists");
    if (logtail_read(path, (size_t)lines, &t, &e) < 0) {
        logtail_free(&t);
        return reply_internal(a->reply, e.text);
    }
    list = json_array();
    doc = json_pack("{s:o, s:I, s:s}", "lines", list, "max_lines", (json_int_t)limit, "path", "");
    if (reply_json(a->reply, doc) == 0) {
        json_set_text(doc, "path", path);
        for (size_t i = 0; i < t.count; i++)
            json_array_append_new(list, api_json_text(t.lines[i]));
    }
    logtail_free(&t);
    return 0;
}
