/* test_password.c — new passwords (length, classes, alphabet, randomness),
 * the command template split without a shell, and the command runner: the
 * password reaches the child only through PSA_PASSWORD, failures and
 * timeouts are reported, the password never appears in an error text. */
#include "alert/password.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

START_TEST(generated_passwords_are_strong_and_differ)
{
    char a[PASSWORD_LEN + 1], b[PASSWORD_LEN + 1];
    struct err e;

    for (int i = 0; i < 200; i++) {
        int up = 0, lo = 0, di = 0, sy = 0;
        ck_assert_int_eq(password_generate(a, &e), 0);
        ck_assert_uint_eq(strlen(a), PASSWORD_LEN);
        for (const char *p = a; *p; p++) {
            ck_assert_msg(strchr("0O1lIo\"'`\\$ &<>;|", *p) == NULL, "bad char %c", *p);
            up += *p >= 'A' && *p <= 'Z';
            lo += *p >= 'a' && *p <= 'z';
            di += *p >= '0' && *p <= '9';
            sy += strchr("!#%+-=?_", *p) != NULL;
        }
        ck_assert(up && lo && di && sy);
        ck_assert_int_eq(up + lo + di + sy, PASSWORD_LEN);
    }
    ck_assert_int_eq(password_generate(b, &e), 0);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(default_template_splits_without_shell)
{
    char st[512];
    char *argv[PASSWORD_ARGV_MAX];
    struct err e;

    ck_assert_int_eq(
        password_argv(PASSWORD_COMMAND_DEFAULT, "info@example.com", st, sizeof st, argv, &e), 7);
    ck_assert_str_eq(argv[0], "/usr/sbin/plesk");
    ck_assert_str_eq(argv[3], "--update");
    ck_assert_str_eq(argv[4], "info@example.com");
    ck_assert_str_eq(argv[5], "-passwd");
    ck_assert_str_eq(argv[6], "");
    ck_assert_ptr_null(argv[7]);

    ck_assert_int_eq(
        password_argv("/bin/x 'a b' \"c\\\"d\" e\\ f {mailbox}", "m@d", st, sizeof st, argv, &e),
        5);
    ck_assert_str_eq(argv[1], "a b");
    ck_assert_str_eq(argv[2], "c\"d");
    ck_assert_str_eq(argv[3], "e f");
    ck_assert_str_eq(argv[4], "m@d");
    /* shell syntax is just text */
    ck_assert_int_eq(password_argv("/bin/x $(id) ; {mailbox}", "m@d", st, sizeof st, argv, &e), 4);
    ck_assert_str_eq(argv[1], "$(id)");
    ck_assert_str_eq(argv[2], ";");
}
END_TEST

START_TEST(bad_templates_are_refused)
{
    char st[512];
    char *argv[PASSWORD_ARGV_MAX];
    struct err e;

    ck_assert_int_eq(password_argv("", "m@d", st, sizeof st, argv, &e), -1);
    ck_assert_int_eq(password_argv("/bin/x 'open {mailbox}", "m@d", st, sizeof st, argv, &e), -1);
    ck_assert_int_eq(password_argv("/bin/x --user={mailbox}", "m@d", st, sizeof st, argv, &e), -1);
    ck_assert_int_eq(password_argv("/bin/x", "m@d", st, sizeof st, argv, &e), -1);
    ck_assert_int_eq(password_argv("/bin/x {mailbox} {mailbox}", "m@d", st, sizeof st, argv, &e),
                     -1);
}
END_TEST

START_TEST(untrusted_mailboxes_are_refused)
{
    ck_assert(password_mailbox_ok("info@example.com"));
    ck_assert(!password_mailbox_ok("-passwd@example.com"));
    ck_assert(!password_mailbox_ok("a b@example.com"));
    ck_assert(!password_mailbox_ok("a;rm@example.com"));
    ck_assert(!password_mailbox_ok("nodomain"));
    ck_assert(!password_mailbox_ok("a@b@c"));
}
END_TEST

/* A temporary directory with an executable cmd.sh running body ($D is the
 * directory). */
static void make_script(char *dir, char *script, size_t size, const char *body)
{
    FILE *f;

    strcpy(dir, "/tmp/maillog-pw-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(script, size, "%s/cmd.sh", dir);
    f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\nD=%s\n%s", dir, body);
    fclose(f);
    chmod(script, 0700);
}

static char *slurp(const char *dir, const char *name)
{
    static char buf[4096];
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(password_reaches_the_command_only_through_its_environment)
{
    char dir[64], script[256], tmpl[600];
    const char *pw = "Ab3#Ab3#Ab3#Ab3#";
    struct err e;
    char *argv_rec, *env_rec;

    make_script(dir, script, sizeof script,
                "for a in \"$@\"; do printf '[%s]' \"$a\"; done > $D/argv\n"
                "printf '%s' \"$PSA_PASSWORD\" > $D/env\n"
                "cat /proc/$$/cmdline | tr '\\0' ' ' > $D/cmdline\n");
    snprintf(tmpl, sizeof tmpl, "%s --update {mailbox} -passwd \"\"", script);
    setenv("PSA_PASSWORD", "inherited-must-not-leak", 1);
    ck_assert_int_eq(password_apply(tmpl, "info@example.com", pw, 10, &e), 0);
    unsetenv("PSA_PASSWORD");
    argv_rec = strdup(slurp(dir, "argv"));
    env_rec = strdup(slurp(dir, "env"));
    ck_assert_str_eq(argv_rec, "[--update][info@example.com][-passwd][]");
    ck_assert_str_eq(env_rec, pw);
    ck_assert_ptr_null(strstr(slurp(dir, "cmdline"), pw));
    free(argv_rec);
    free(env_rec);
    rm_dir(dir);
}
END_TEST

START_TEST(failing_command_is_reported_without_the_password)
{
    char dir[64], script[256], tmpl[600];
    const char *pw = "Zx9!Zx9!Zx9!Zx9!";
    struct err e;

    make_script(dir, script, sizeof script,
                "echo \"cannot set $PSA_PASSWORD for $1\" >&2\nexit 3\n");
    snprintf(tmpl, sizeof tmpl, "%s {mailbox}", script);
    ck_assert_int_eq(password_apply(tmpl, "info@example.com", pw, 10, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.text, "exit status 3"));
    ck_assert_ptr_nonnull(strstr(e.text, "cannot set"));
    ck_assert_ptr_null(strstr(e.text, pw));
    ck_assert_ptr_null(strstr(e.text, "Zx9!"));
    rm_dir(dir);

    ck_assert_int_eq(password_apply("/nonexistent/cmd {mailbox}", "info@example.com", pw, 10, &e),
                     -1);
    ck_assert_ptr_nonnull(strstr(e.text, "cannot be run"));
    ck_assert_int_eq(password_apply("/bin/true {mailbox}", "-x@example.com", pw, 10, &e), -1);
}
END_TEST

START_TEST(hanging_command_is_killed_at_the_timeout)
{
    char dir[64], script[256], tmpl[600];
    struct err e;
    time_t t0 = time(NULL);

    make_script(dir, script, sizeof script, "exec >/dev/null 2>&1\nsleep 30\n");
    snprintf(tmpl, sizeof tmpl, "%s {mailbox}", script);
    ck_assert_int_eq(password_apply(tmpl, "info@example.com", "Ab3#Ab3#Ab3#Ab3#", 1, &e),
                     PASSWORD_UNSURE);
    ck_assert_ptr_nonnull(strstr(e.text, "killed"));
    ck_assert_int_le(time(NULL) - t0, 5);
    rm_dir(dir);
}
END_TEST

Suite *suite_alert_password(void);
Suite *suite_alert_password(void)
{
    Suite *s = suite_create("alert/password");
    TCase *tc = tcase_create("password");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, generated_passwords_are_strong_and_differ);
    tcase_add_test(tc, default_template_splits_without_shell);
    tcase_add_test(tc, bad_templates_are_refused);
    tcase_add_test(tc, untrusted_mailboxes_are_refused);
    tcase_add_test(tc, password_reaches_the_command_only_through_its_environment);
    tcase_add_test(tc, failing_command_is_reported_without_the_password);
    tcase_add_test(tc, hanging_command_is_killed_at_the_timeout);
    suite_add_tcase(s, tc);
    return s;
}
