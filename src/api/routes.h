/*
 * routes.h — what the route handlers of the API share (internal to
 * src/api): the per-request context and its helpers. See api.h for the order
 * of work every handler follows: parse → request_check_unused → api_open →
 * act.
 */
#ifndef MAILLOG_API_ROUTES_H
#define MAILLOG_API_ROUTES_H

#include "api/identity.h"
#include "api/reply.h"
#include "api/request.h"
#include "api/text.h"
#include "store/query.h"
#include "store/store.h"
#include "util/config.h"

#include <jansson.h>
#include <stdio.h>

struct api {
    const struct cgi_env *env;
    FILE *log;
    struct config *cfg;
    struct identity id;
    struct request *req;
    struct reply *reply;
    struct store *store;       /* NULL until api_open() */
    struct settings *settings; /* the admin settings, loaded by api_open() */
    /* From the path: */
    enum query_tab tab;
    char domain[DOMAIN_MAX + 1];
    int64_t message_id;
};

/* Opens the database, loads the admin settings and refuses (403) a role the
 * admin hid the extension from. */
int api_open(struct api *a);

/* Reads the optional `domain` parameter (normalised into out, "" when
 * absent) and checks it against the caller's domains: 400 when malformed or
 * missing while required, 403 when not the caller's. */
int api_domain_param(struct api *a, bool required, char out[DOMAIN_MAX + 1]);

/* For an admin naming a domain: 404 when the domains table is not empty and
 * does not list it. Needs api_open(). */
int api_known_domain(struct api *a, const char *domain);

/* How the caller may see a domain's configuration (and its notification
 * history): the admin always edits; resellers and clients as the admin's
 * "config tab visibility" says. api_config_mode() also refuses hidden (403
 * and -1). Both need api_open(). */
enum config_visibility api_config_visibility(const struct api *a);
int api_config_mode(struct api *a, enum config_visibility *mode);

/* The admin's view of failing suspicious-login reports (GET /v1/stats):
 * null when nothing failed, else an object; NULL when the database could
 * not be read (e filled). */
json_t *api_alert_problems(struct api *a, struct err *e);

/* Maps a store error whose text starts with "NAME:" for one of the given
 * input names to 400 (403 for "domain"), anything else to 500. */
int api_store_error(struct api *a, const struct err *e);

/* The JSON body of a PUT/POST as an object: 400 bad_json otherwise. */
json_t *api_body_object(struct api *a);

/* Builders (return 0 or -1 out of memory). */
int json_set_text(json_t *obj, const char *key, const char *value);
int json_set_int(json_t *obj, const char *key, long long value);

/* Handlers. */
int route_me(struct api *a);
int route_countries(struct api *a);
int route_log_tail(struct api *a);
int route_tab(struct api *a);
int route_message(struct api *a);
int route_stats(struct api *a);
int route_domain_settings(struct api *a);
int route_domain_alerts(struct api *a);
int route_alert_domains(struct api *a);
int route_settings(struct api *a);
int route_alert_test(struct api *a);

#endif
