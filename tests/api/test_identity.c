/* test_identity.c — who is asking: the Plesk bridge's variables, the
 * standalone [users] mapping, domain lists (normalised, sorted, unique,
 * malformed entries dropped), scope, and the stateless CSRF token. */
#include "api/identity.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int resolve(const struct cgi_env *env, const struct config *cfg, struct identity *id,
                   int *status)
{
    struct reply r;
    FILE *log = fopen("/dev/null", "w");
    int rc;

    reply_init(&r);
    rc = identity_resolve(env, cfg, log, id, &r);
    *status = r.status;
    reply_free(&r);
    fclose(log);
    return rc;
}

START_TEST(plesk_identity_and_domains)
{
    struct cgi_env env = {.maillog_role = "reseller",
                          .maillog_user = "res1",
                          .maillog_domains = {"Example.ORG, example.com,bad_domain,,example.com"}};
    struct config cfg = {0};
    struct identity id;
    struct query_scope scope;
    int status;

    ck_assert_int_eq(resolve(&env, &cfg, &id, &status), 0);
    ck_assert(id.plesk);
    ck_assert_int_eq(id.role, ROLE_RESELLER);
    ck_assert_uint_eq(id.domain_count, 2);
    ck_assert_str_eq(id.domains[0], "example.com");
    ck_assert_str_eq(id.domains[1], "example.org");
    ck_assert(identity_has_domain(&id, "example.org"));
    ck_assert(!identity_has_domain(&id, "example.net"));
    ck_assert(!identity_has_domain(&id, "bad_domain"));
    identity_scope(&id, &scope);
    ck_assert(!scope.all);
    ck_assert_uint_eq(scope.count, 2);
    identity_free(&id);

    env.maillog_role = "root";
    ck_assert_int_eq(resolve(&env, &cfg, &id, &status), -1);
    ck_assert_int_eq(status, 500); /* the trusted bridge is broken: a fault */
    identity_free(&id);
    env.maillog_role = "admin";
    env.maillog_user = "";
    ck_assert_int_eq(resolve(&env, &cfg, &id, &status), -1);
    identity_free(&id);
    env.maillog_user = "admin";
    ck_assert_int_eq(resolve(&env, &cfg, &id, &status), 0);
    ck_assert(identity_has_domain(&id, "anything.example"));
    identity_scope(&id, &scope);
    ck_assert(scope.all);
    identity_free(&id);
}
END_TEST

/* A reseller's list: names separated by white space alone all count, and a
 * list too long for one environment string comes in parts that add up. */
START_TEST(domain_lists_in_parts_and_with_spaces)
{
    static char part2[120000];
    struct cgi_env env = {.maillog_role = "reseller",
                          .maillog_user = "res1",
                          .maillog_domains = {"a.test b.test\tc.test", NULL, part2}};
    struct config cfg = {0};
    struct identity id;
    size_t len = 0;
    int status;

    for (int i = 0; i < 6000; i++)
        len +=
            (size_t)snprintf(part2 + len, sizeof part2 - len, "%sd%04d.example", i ? "," : "", i);
    ck_assert_int_eq(resolve(&env, &cfg, &id, &status), 0);
    ck_assert_uint_eq(id.domain_count, 3 + 6000);
    ck_assert(identity_has_domain(&id, "b.test"));
    ck_assert(identity_has_domain(&id, "c.test"));
    ck_assert(identity_has_domain(&id, "d0000.example"));
    ck_assert(identity_has_domain(&id, "d5999.example"));
    identity_free(&id);
}
END_TEST

START_TEST(standalone_users)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    struct cgi_env env = {.remote_user = "cli1"};
    struct identity id;
    int status;

    snprintf(cfg->users[0].name, sizeof cfg->users[0].name, "cli1");
    cfg->users[0].role = ROLE_CLIENT;
    snprintf(cfg->users[0].domains, sizeof cfg->users[0].domains, "example.com");
    cfg->user_count = 1;
    ck_assert_int_eq(resolve(&env, cfg, &id, &status), 0);
    ck_assert(!id.plesk);
    ck_assert_int_eq(id.role, ROLE_CLIENT);
    ck_assert_uint_eq(id.domain_count, 1);
    identity_free(&id);
    env.remote_user = "mallory";
    ck_assert_int_eq(resolve(&env, cfg, &id, &status), -1);
    ck_assert_int_eq(status, 403);
    identity_free(&id);
    env.remote_user = NULL;
    ck_assert_int_eq(resolve(&env, cfg, &id, &status), -1);
    ck_assert_int_eq(status, 401);
    identity_free(&id);
    env.remote_user = "cli1\n";
    ck_assert_int_eq(resolve(&env, cfg, &id, &status), -1);
    identity_free(&id);
    free(cfg);
}
END_TEST

START_TEST(csrf_token_is_stable_per_user)
{
    char dir[] = "/tmp/maillog-csrf-XXXXXX", db[64], secret[80];
    char a1[CSRF_TOKEN_LEN + 1], a2[CSRF_TOKEN_LEN + 1], b[CSRF_TOKEN_LEN + 1];
    struct stat st;
    struct err e;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/maillog.db", dir);
    snprintf(secret, sizeof secret, "%s/csrf.secret", dir);
    ck_assert_int_eq(csrf_token(db, "alice", a1, &e), 0);
    ck_assert_int_eq(stat(secret, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(st.st_size, 32);
    ck_assert_int_eq(csrf_token(db, "alice", a2, &e), 0);
    ck_assert_int_eq(csrf_token(db, "bob", b, &e), 0);
    ck_assert_str_eq(a1, a2);
    ck_assert_str_ne(a1, b);
    ck_assert_uint_eq(strspn(a1, "0123456789abcdef"), CSRF_TOKEN_LEN);
    ck_assert(csrf_equal(a1, a2));
    ck_assert(!csrf_equal(a1, b));
    ck_assert(!csrf_equal(a1, ""));
    a2[10] ^= 1;
    ck_assert(!csrf_equal(a1, a2));
    /* A new secret (another installation) gives other tokens. */
    unlink(secret);
    ck_assert_int_eq(csrf_token(db, "alice", a2, &e), 0);
    ck_assert_str_ne(a1, a2);
    unlink(secret);
    rmdir(dir);
}
END_TEST

Suite *suite_api_identity(void);
Suite *suite_api_identity(void)
{
    Suite *s = suite_create("api/identity");
    TCase *tc = tcase_create("identity");
    tcase_add_test(tc, plesk_identity_and_domains);
    tcase_add_test(tc, domain_lists_in_parts_and_with_spaces);
    tcase_add_test(tc, standalone_users);
    tcase_add_test(tc, csrf_token_is_stable_per_user);
    suite_add_tcase(s, tc);
    return s;
}
