/*
 * identity.c — caller identity, domain scope and the CSRF token (see
 * identity.h).
 */
#include "api/identity.h"
#include "api/sha256.h"
#include "api/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Between the names of a domain list: commas and white space. */
#define DOMAIN_SEPARATORS ", \t\n"

#define CSRF_SECRET_LEN 32
#define CSRF_SECRET_FILE "csrf.secret"

const char *identity_role_name(enum user_role role)
{
    switch (role) {
    case ROLE_ADMIN:
        return "admin";
    case ROLE_RESELLER:
        return "reseller";
    case ROLE_CLIENT:
        return "client";
    }
    return "client";
}

static int role_from_name(const char *name, enum user_role *out)
{
    if (strcmp(name, "admin") == 0)
        *out = ROLE_ADMIN;
    else if (strcmp(name, "reseller") == 0)
        *out = ROLE_RESELLER;
    else if (strcmp(name, "client") == 0)
        *out = ROLE_CLIENT;
    else
        return -1;
    return 0;
}

/* A user name: 1..IDENTITY_USER_MAX printable, valid UTF-8 bytes. */
static int copy_user(const char *name, char out[IDENTITY_USER_MAX + 1])
{
    size_t len = strlen(name);

    if (len == 0 || len > IDENTITY_USER_MAX || !utf8_valid(name, len))
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F)
            return -1;
    memcpy(out, name, len + 1);
    return 0;
}

static int cmp_domain(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text on commas and white space into id->domains (normalised,
 * sorted, unique). Entries that are not domain names are dropped with a
 * note on log. -1 only when out of memory. */
/* The number of names text may hold: separators + 1. */
static size_t count_names(const char *text)
{
    size_t count = 1;

    for (const char *p = text; *p != '\0'; p++)
        count += strchr(DOMAIN_SEPARATORS, *p) != NULL;
    return count;
}

/* Adds the names of text, separated by commas and white space, to id. */
static int add_domains(const char *text, size_t slots, FILE *log, struct identity *id)
{
    const char *p = text, *end = text + strlen(text);

    while (p < end && id->domain_count < slots) {
        size_t n = strcspn(p, DOMAIN_SEPARATORS);
        char name[DOMAIN_MAX + 1];
        if (n > 0) {
            if (domain_normalize(p, n, name) < 0) {
                fprintf(log, "maillog.cgi: ignoring a malformed domain in the identity of %s\n",
                        id->user);
            } else {
                id->domains[id->domain_count] = strdup(name);
                if (id->domains[id->domain_count] == NULL)
                    return -1;
                id->domain_count++;
            }
        }
        p += n + (p + n < end);
    }
    return 0;
}

/* id->domains from the texts of parts (NULL ones skipped): sorted, unique,
 * at most IDENTITY_DOMAINS_MAX. */
static int parse_domains(const char *const *parts, size_t part_count, FILE *log,
                         struct identity *id)
{
    size_t count = 0, out = 0;

    for (size_t i = 0; i < part_count; i++)
        if (parts[i] != NULL)
            count += count_names(parts[i]);
    if (count > IDENTITY_DOMAINS_MAX) {
        fprintf(log,
                "maillog.cgi: the identity of %s names more than %d domains; the rest are"
                " left out\n",
                id->user, IDENTITY_DOMAINS_MAX);
        count = IDENTITY_DOMAINS_MAX;
    }
    id->domains = calloc(count > 0 ? count : 1, sizeof *id->domains);
    if (id->domains == NULL)
        return -1;
    for (size_t i = 0; i < part_count; i++)
        if (parts[i] != NULL && add_domains(parts[i], count, log, id) < 0)
            return -1;
    qsort(id->domains, id->domain_count, sizeof *id->domains, cmp_domain);
    for (size_t i = 0; i < id->domain_count; i++) {
        if (out > 0 && strcmp(id->domains[out - 1], id->domains[i]) == 0) {
            free(id->domains[i]);
            continue;
        }
        id->domains[out++] = id->domains[i];
    }
    id->domain_count = out;
    return 0;
}

static int resolve_plesk(const struct cgi_env *env, FILE *log, struct identity *id,
                         struct reply *reply)
{
    size_t domains_len = 0;

    /* The bridge is trusted: a malformed identity is a deployment fault. */
    if (role_from_name(env->maillog_role, &id->role) < 0)
        return reply_internal(reply, "MAILLOG_ROLE: must be admin, reseller or client");
    if (env->maillog_user == NULL || copy_user(env->maillog_user, id->user) < 0)
        return reply_internal(reply, "MAILLOG_USER: missing or malformed");
    for (size_t i = 0; i < CGI_DOMAIN_PARTS; i++)
        domains_len += env->maillog_domains[i] ? strlen(env->maillog_domains[i]) : 0;
    if (domains_len > IDENTITY_DOMAINS_TEXT_MAX)
        return reply_internal(reply, "MAILLOG_DOMAINS: too long");
    id->plesk = true;
    if (id->role != ROLE_ADMIN &&
        parse_domains(env->maillog_domains, CGI_DOMAIN_PARTS, log, id) < 0)
        return reply_internal(reply, "out of memory");
    return 0;
}

static int resolve_standalone(const struct cgi_env *env, const struct config *cfg, FILE *log,
                              struct identity *id, struct reply *reply)
{
    const struct config_user *u = NULL;

    if (env->remote_user == NULL || env->remote_user[0] == '\0')
        return reply_fail(reply, 401, "unauthenticated", NULL, "not logged in");
    if (copy_user(env->remote_user, id->user) < 0)
        return reply_fail(reply, 403, "forbidden", NULL, "unknown user");
    for (int i = 0; i < cfg->user_count; i++)
        if (strcmp(cfg->users[i].name, id->user) == 0)
            u = &cfg->users[i];
    if (u == NULL)
        return reply_fail(reply, 403, "forbidden", NULL,
                          "this user has no access to Mail log (not in the [users] section)");
    id->role = u->role;
    if (id->role != ROLE_ADMIN && parse_domains((const char *const[]){u->domains}, 1, log, id) < 0)
        return reply_internal(reply, "out of memory");
    return 0;
}

int identity_resolve(const struct cgi_env *env, const struct config *cfg, FILE *log,
                     struct identity *id, struct reply *reply)
{
    memset(id, 0, sizeof *id);
    if (env->maillog_role != NULL)
        return resolve_plesk(env, log, id, reply);
    return resolve_standalone(env, cfg, log, id, reply);
}

void identity_free(struct identity *id)
{
    for (size_t i = 0; i < id->domain_count; i++)
        free(id->domains[i]);
    free(id->domains);
    id->domains = NULL;
    id->domain_count = 0;
}

bool identity_is_admin(const struct identity *id)
{
    return id->role == ROLE_ADMIN;
}

bool identity_has_domain(const struct identity *id, const char *domain)
{
    if (identity_is_admin(id))
        return true;
    return bsearch(&domain, id->domains, id->domain_count, sizeof *id->domains, cmp_domain) != NULL;
}

void identity_scope(const struct identity *id, struct query_scope *scope)
{
    scope->all = identity_is_admin(id);
    scope->domains = (const char *const *)id->domains;
    scope->count = id->domain_count;
}

/* The directory part of path ("." when there is none) + "/" + name. */
static int sibling_path(const char *path, const char *name, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    int n;

    if (slash == NULL)
        n = snprintf(out, size, "%s", name);
    else
        n = snprintf(out, size, "%.*s/%s", (int)(slash - path), path, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int read_secret(const char *file, unsigned char secret[CSRF_SECRET_LEN], struct err *e)
{
    int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return err_sys(e, "%s", file);
    n = read(fd, secret, CSRF_SECRET_LEN);
    close(fd);
    if (n != CSRF_SECRET_LEN)
        return err_set(e, "%s: not a %d-byte secret", file, CSRF_SECRET_LEN);
    return 0;
}

/* Creates the secret with O_EXCL; a concurrent creator wins and its secret
 * is read instead. The file is written under a temporary name and linked, so
 * a reader never sees it half-written. */
static int create_secret(const char *file, unsigned char secret[CSRF_SECRET_LEN], struct err *e)
{
    char tmp[CONFIG_PATH_MAX + 32];
    int fd;

    if (getrandom(secret, CSRF_SECRET_LEN, 0) != CSRF_SECRET_LEN)
        return err_sys(e, "getrandom");
    snprintf(tmp, sizeof tmp, "%s.%ld", file, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_sys(e, "%s", tmp);
    if (write(fd, secret, CSRF_SECRET_LEN) != CSRF_SECRET_LEN || fsync(fd) < 0) {
        err_sys(e, "%s", tmp);
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (link(tmp, file) < 0) {
        int saved = errno;
        unlink(tmp);
        if (saved == EEXIST)
            return read_secret(file, secret, e);
        errno = saved;
        return err_sys(e, "%s", file);
    }
    unlink(tmp);
    return 0;
}

int csrf_token(const char *db_path, const char *user, char out[CSRF_TOKEN_LEN + 1], struct err *e)
{
    static const char hex[] = "0123456789abcdef";
    static const char label[] = "maillog-csrf-v1:";
    unsigned char secret[CSRF_SECRET_LEN], mac[SHA256_LEN];
    char file[CONFIG_PATH_MAX + 16], msg[sizeof label + IDENTITY_USER_MAX];
    int rc;

    if (sibling_path(db_path, CSRF_SECRET_FILE, file, sizeof file) < 0)
        return err_set(e, "csrf secret: path too long");
    if (access(file, F_OK) == 0)
        rc = read_secret(file, secret, e);
    else
        rc = create_secret(file, secret, e);
    if (rc < 0)
        return -1;
    snprintf(msg, sizeof msg, "%s%s", label, user);
    hmac_sha256(secret, sizeof secret, msg, strlen(msg), mac);
    for (int i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[CSRF_TOKEN_LEN] = '\0';
    return 0;
}

bool csrf_equal(const char *expected, const char *given)
{
    unsigned char diff = 0;

    if (strlen(given) != CSRF_TOKEN_LEN || strlen(expected) != CSRF_TOKEN_LEN)
        return false;
    for (int i = 0; i < CSRF_TOKEN_LEN; i++)
        diff |= (unsigned char)(expected[i] ^ given[i]);
    return diff == 0;
}
