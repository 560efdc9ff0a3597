/*
 * identity.h — who is asking, and which domains they may see (DESIGN.md §6).
 *
 * Plesk mode: the PHP bridge sets MAILLOG_ROLE (admin|reseller|client),
 * MAILLOG_USER and MAILLOG_DOMAINS (comma-separated); a browser cannot set
 * these, so they are trusted, but still checked (bad domain names are
 * dropped with a note on the log stream). Standalone mode: the web server
 * authenticated REMOTE_USER, which the config's [users] section maps to a
 * role and domains. Neither → 401; an authenticated user the config does not
 * know → 403.
 *
 * The anti-CSRF token of the standalone mode is stateless: the hex
 * HMAC-SHA-256 of the user name under a 32-byte random secret kept in the
 * file `csrf.secret` beside the database (created 0600 on first use).
 */
#ifndef MAILLOG_API_IDENTITY_H
#define MAILLOG_API_IDENTITY_H

#include "api/reply.h"
#include "api/request.h"
#include "store/query.h"
#include "util/config.h"

#include <stdbool.h>
#include <stdio.h>

#define IDENTITY_USER_MAX 255 /* the Plesk bridge passes at most 255 bytes */
/* The Plesk bridge (Bridge.php) refuses a longer list than these: at most
 * IDENTITY_DOMAINS_MAX names in CGI_DOMAIN_PARTS variables of 100000 bytes. */
#define IDENTITY_DOMAINS_MAX 50000
#define IDENTITY_DOMAINS_TEXT_MAX (CGI_DOMAIN_PARTS * 100000)
#define CSRF_TOKEN_LEN 64 /* hex characters */

struct identity {
    enum user_role role;
    char user[IDENTITY_USER_MAX + 1];
    bool plesk;     /* from the bridge: Plesk checks CSRF itself */
    char **domains; /* lower-case, sorted, unique; heap */
    size_t domain_count;
};

/* Fills id from env (and cfg's users). On failure reply holds 401/403/500. */
int identity_resolve(const struct cgi_env *env, const struct config *cfg, FILE *log,
                     struct identity *id, struct reply *reply);
void identity_free(struct identity *id);

bool identity_is_admin(const struct identity *id);
/* True when the (normalised) domain is one of the caller's; admin: always. */
bool identity_has_domain(const struct identity *id, const char *domain);
/* The query scope: all for admin, else the caller's domains (borrowed). */
void identity_scope(const struct identity *id, struct query_scope *scope);
const char *identity_role_name(enum user_role role);

/* The token for user, from the secret beside db_path (created when missing).
 * out gets CSRF_TOKEN_LEN hex digits + NUL. */
int csrf_token(const char *db_path, const char *user, char out[CSRF_TOKEN_LEN + 1], struct err *e);
/* Constant-time comparison of the expected token with the one given. */
bool csrf_equal(const char *expected, const char *given);

#endif
