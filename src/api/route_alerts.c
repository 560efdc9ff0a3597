/*
 * route_alerts.c — GET /v1/domains/{domain}/alerts: what the hourly alert
 * run did for a domain (its suspicious-login reports, newest first, and the
 * password changes each carried), and the admin's summary of failures that
 * GET /v1/stats includes; GET /v1/alerts/domains (admin): every domain's
 * notification setup and newest report, for the admin page.
 *
 * The history belongs to the domain's notification settings, so it is shown
 * to whoever may see them (api_config_mode()): the admin, and resellers and
 * clients for their own domains unless the admin hides the configuration
 * tab. It shows states and error texts, never a password (passwords are
 * never stored).
 */
#include "api/routes.h"
#include "alert/mailmsg.h"

#include <stdlib.h>
#include <string.h>

/* The seconds of a clock hour: a report covers [hour_start, +3600). */
#define HOUR_S 3600

static json_t *password_json(const struct alert_history_password *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "mailbox", api_json_text(p->mailbox));
    json_object_set_new(o, "state", api_json_text(p->state));
    return o;
}

static int history_row(void *ctx, const struct alert_history_report *r, struct err *e)
{
    json_t *reports = ctx, *o = json_object(), *list = json_array();

    if (o == NULL || list == NULL) {
        json_decref(o);
        json_decref(list);
        return err_set(e, "out of memory");
    }
    json_set_int(o, "hour_start", r->hour_start);
    json_set_int(o, "hour_end", r->hour_start + HOUR_S);
    json_object_set_new(o, "state", api_json_text(r->state));
    json_set_int(o, "attempts", r->attempts);
    json_object_set_new(o, "error", r->error[0] ? api_json_text(r->error) : json_null());
    json_set_int(o, "updated_at", r->updated_at);
    for (int i = 0; i < r->password_count; i++)
        json_array_append_new(list, password_json(&r->passwords[i]));
    json_object_set_new(o, "passwords", list);
    json_set_int(o, "passwords_total", r->password_total);
    json_object_set_new(o, "passwords_withheld", json_boolean(r->passwords_withheld));
    return json_array_append_new(reports, o) == 0 ? 0 : err_set(e, "out of memory");
}

int route_domain_alerts(struct api *a)
{
    enum config_visibility mode;
    json_t *doc, *reports;
    struct err e;

    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_has_domain(&a->id, a->domain))
        return reply_fail(a->reply, 403, "forbidden", "domain", "domain: not one of your domains");
    if (api_open(a) < 0 || api_known_domain(a, a->domain) < 0 || api_config_mode(a, &mode) < 0)
        return -1;
    reports = json_array();
    if (reports == NULL)
        return reply_internal(a->reply, "out of memory");
    if (store_alert_history(a->store, a->domain, ALERT_HISTORY_MAX, history_row, reports, &e) < 0) {
        json_decref(reports);
        return reply_internal(a->reply, e.text);
    }
    /* the array is filled before it is handed over: a failed set frees it */
    doc = json_object();
    if (doc == NULL || json_object_set_new(doc, "domain", api_json_text(a->domain)) < 0 ||
        json_object_set_new(doc, "reports", reports) < 0) {
        if (doc == NULL)
            json_decref(reports);
        json_decref(doc);
        return reply_internal(a->reply, "out of memory");
    }
    return reply_json(a->reply, doc);
}

json_t *api_alert_problems(struct api *a, struct err *e)
{
    struct alert_problems *p = malloc(sizeof *p);
    json_t *o;

    if (p == NULL) {
        err_set(e, "out of memory");
        return NULL;
    }
    if (store_alert_problems(a->store, p, e) < 0) {
        free(p);
        return NULL;
    }
    if (p->failing_domains == 0 && p->passwords_not_set == 0) {
        free(p);
        return json_null();
    }
    if ((o = json_object()) == NULL) {
        free(p);
        err_set(e, "out of memory");
        return NULL;
    }
    json_set_int(o, "failing_domains", p->failing_domains);
    json_set_int(o, "passwords_not_set", p->passwords_not_set);
    if (p->newest.domain[0] != '\0') {
        json_t *n = json_object();

        json_object_set_new(n, "domain", api_json_text(p->newest.domain));
        json_set_int(n, "hour_start", p->newest.hour_start);
        json_object_set_new(n, "state", api_json_text(p->newest.state));
        json_object_set_new(n, "error", api_json_text(p->newest.error));
        json_set_int(n, "updated_at", p->newest.updated_at);
        json_object_set_new(o, "newest", n);
    } else {
        json_object_set_new(o, "newest", json_null());
    }
    free(p);
    return o;
}

static int alert_domain_row(void *ctx, const struct alert_domain *d, struct err *e)
{
    json_t *list = ctx, *o = json_object(), *countries = json_array();
    const char *p = d->usual_countries;

    if (o == NULL || countries == NULL) {
        json_decref(o);
        json_decref(countries);
        return err_set(e, "out of memory");
    }
    while (*p != '\0') { /* "DE,AT": stored by the settings, two letters each */
        size_t n = strcspn(p, ",");
        char code[3] = "";

        if (n == 2) {
            memcpy(code, p, 2);
            json_array_append_new(countries, api_json_text(code));
        }
        p += n + (p[n] == ',');
    }
    json_object_set_new(o, "domain", api_json_text(d->domain));
    json_object_set_new(o, "notify", json_boolean(d->notify));
    json_object_set_new(o, "force_password_change", json_boolean(d->force_password_change));
    json_object_set_new(o, "usual_countries", countries);
    json_object_set_new(o, "notify_to",
                        mail_addr_ok(d->owner_email) ? api_json_text(d->owner_email) : json_null());
    if (d->last.state[0] != '\0') {
        json_t *last = json_object();

        json_set_int(last, "hour_start", d->last.hour_start);
        json_object_set_new(last, "state", api_json_text(d->last.state));
        json_object_set_new(last, "error",
                            d->last.error[0] ? api_json_text(d->last.error) : json_null());
        json_object_set_new(o, "last_report", last);
    } else {
        json_object_set_new(o, "last_report", json_null());
    }
    return json_array_append_new(list, o) == 0 ? 0 : err_set(e, "out of memory");
}

int route_alert_domains(struct api *a)
{
    json_t *doc, *list;
    struct err e;
    int total = 0;

    if (request_check_unused(a->req, a->reply) < 0)
        return -1;
    if (!identity_is_admin(&a->id))
        return reply_fail(a->reply, 403, "forbidden", NULL, "notification overview: admin only");
    if (api_open(a) < 0)
        return -1;
    if ((list = json_array()) == NULL)
        return reply_internal(a->reply, "out of memory");
    if (store_alert_domains(a->store, ALERT_DOMAINS_MAX, alert_domain_row, list, &total, &e) < 0) {
        json_decref(list);
        return reply_internal(a->reply, e.text);
    }
    doc = json_object();
    if (doc == NULL || json_object_set_new(doc, "domains", list) < 0) {
        if (doc == NULL)
            json_decref(list);
        json_decref(doc);
        return reply_internal(a->reply, "out of memory");
    }
    json_set_int(doc, "total", total);
    return reply_json(a->reply, doc);
}
