/*
 * password.c — new mailbox passwords and the command that sets them (see
 * password.h). The child is started with fork/execvpe; everything it needs
 * (argv, environment) is built before fork so the child only calls
 * async-signal-safe functions.
 */
#include "alert/password.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 64 characters, so a random byte & 63 picks one without bias. */
static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
                               "abcdefghijkmnpqrstuvwxyz"
                               "23456789"
                               "!#%+-=?_";

static bool password_strong(const char *p)
{
    bool upper = false, lower = false, digit = false, symbol = false;

    for (; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            upper = true;
        else if (*p >= 'a' && *p <= 'z')
            lower = true;
        else if (*p >= '0' && *p <= '9')
            digit = true;
        else
            symbol = true;
    }
    return upper && lower && digit && symbol;
}

int password_generate(char out[PASSWORD_LEN + 1], struct err *e)
{
    unsigned char raw[PASSWORD_LEN];

    _Static_assert(sizeof alphabet - 1 == 64, "alphabet must have 64 characters");
    /* Draw until every class is present (about 1 in 4 draws misses one). */
    for (int tries = 0; tries < 1000; tries++) {
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            return err_sys(e, "getrandom");
        for (size_t i = 0; i < PASSWORD_LEN; i++)
            out[i] = alphabet[raw[i] & 63];
        out[PASSWORD_LEN] = '\0';
        if (password_strong(out)) {
            explicit_bzero(raw, sizeof raw);
            return 0;
        }
    }
    return err_set(e, "password generation failed"); /* unreachable in practice */
}

int password_mailbox_ok(const char *mailbox)
{
    size_t n = strnlen(mailbox, 256);
    const char *at = strchr(mailbox, '@');

    if (n == 0 || n > 254 || mailbox[0] == '-' || at == NULL || at == mailbox || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)mailbox[i];
        if (c <= 32 || c >= 127 || strchr("\"'`$\\;&|<>(){}[]*?!~#,", c) != NULL)
            return 0;
    }
    return 1;
}

int password_argv(const char *tmpl, const char *mailbox, char *storage, size_t size,
                  char *argv[PASSWORD_ARGV_MAX], struct err *e)
{
    const char *p = tmpl;
    size_t used = 0;
    int argc = 0, substituted = 0;

    for (;;) {
        char *word = storage + used;
        bool quoted = false;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (argc >= PASSWORD_ARGV_MAX - 1)
            return err_set(e, "password command: more than %d words", PASSWORD_ARGV_MAX - 1);
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            char quote = 0;
            if (*p == '\'' || *p == '"') {
                quote = *p++;
                quoted = true;
                while (*p != '\0' && *p != quote) {
                    if (quote == '"' && *p == '\\' && p[1] != '\0')
                        p++;
                    if (used + 1 >= size)
                        return err_set(e, "password command: too long");
                    storage[used++] = *p++;
                }
                if (*p != quote)
                    return err_set(e, "password command: unbalanced %c", quote);
                p++;
                continue;
            }
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (used + 1 >= size)
                return err_set(e, "password command: too long");
            storage[used++] = *p++;
        }
        storage[used++] = '\0';
        if (!quoted && strcmp(word, "{mailbox}") == 0) {
            size_t n = strlen(mailbox) + 1;
            if (used - 10 + n > size)
                return err_set(e, "password command: too long");
            used -= 10; /* strlen("{mailbox}") + 1 */
            memcpy(storage + used, mailbox, n);
            word = storage + used;
            used += n;
            substituted++;
        } else if (strstr(word, "{mailbox}") != NULL) {
            return err_set(e, "password command: {mailbox} must be a word of its own");
        }
        argv[argc++] = word;
    }
    argv[argc] = NULL;
    if (argc == 0)
        return err_set(e, "password command: empty");
    if (substituted != 1)
        return err_set(e, "password command: must contain the word {mailbox} once");
    return argc;
}

/* ---- running the command -------------------------------------------- */

#define ENV_MAX 512
#define OUTPUT_KEEP 1024

struct child_output {
    char text[OUTPUT_KEEP + 1];
    size_t len;
};

/* Keeps the last OUTPUT_KEEP bytes the child wrote. */
static void output_add(struct child_output *o, const char *buf, size_t n)
{
    if (n > OUTPUT_KEEP) {
        buf += n - OUTPUT_KEEP;
        n = OUTPUT_KEEP;
    }
    if (o->len + n > OUTPUT_KEEP) {
        size_t drop = o->len + n - OUTPUT_KEEP;
        memmove(o->text, o->text + drop, o->len - drop);
        o->len -= drop;
    }
    memcpy(o->text + o->len, buf, n);
    o->len += n;
    o->text[o->len] = '\0';
}

/* One line for an error message: the password masked, controls flattened. */
static void output_summary(struct child_output *o, const char *password)
{
    size_t plen = strlen(password);
    char *hit;

    for (size_t i = 0; i < o->len; i++)
        if ((unsigned char)o->text[i] < 32 || o->text[i] == 127)
            o->text[i] = ' ';
    o->text[o->len] = '\0';
    while (plen > 0 && (hit = strstr(o->text, password)) != NULL)
        memset(hit, '*', plen);
    /* A password cut by the OUTPUT_KEEP window: mask any tail of it at the start. */
    for (size_t k = plen > 1 ? plen - 1 : 0; k >= 4 && k < plen; k--)
        if (o->len >= k && memcmp(o->text, password + plen - k, k) == 0) {
            memset(o->text, '*', k);
            break;
        }
}

/* environ without any PSA_PASSWORD, plus ours; NULL-terminated. */
static int build_env(char **env, char *pw_entry, struct err *e)
{
    extern char **environ;
    int n = 0;

    for (char **v = environ; v != NULL && *v != NULL; v++) {
        if (strncmp(*v, "PSA_PASSWORD=", 13) == 0)
            continue;
        if (n >= ENV_MAX - 2)
            return err_set(e, "password command: environment too large");
        env[n++] = *v;
    }
    env[n++] = pw_entry;
    env[n] = NULL;
    return 0;
}

static void child_exec(char **argv, char **env, int out_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);

    setpgid(0, 0);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execvpe(argv[0], argv, env);
    _exit(127);
}

/* Reads the child's output until EOF or the deadline. 0 at EOF, 1 on timeout. */
static int collect_output(int fd, time_t deadline, struct child_output *o)
{
    char buf[512];

    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        time_t left = deadline - time(NULL);
        ssize_t n;
        int r;

        if (left <= 0)
            return 1;
        r = poll(&pfd, 1, (int)(left > 1000 ? 1000000 : left * 1000));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue; /* the loop re-checks the deadline */
        if (r < 0)
            return 1;
        n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        output_add(o, buf, (size_t)n);
    }
}

/* Waits for the child to exit (it closed its output but may still run).
 * 0 when it exited (status filled), 1 at the deadline. */
static int wait_until(pid_t pid, time_t deadline, int *status)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return 0;
        if (time(NULL) >= deadline)
            return 1;
        nanosleep(&tick, NULL);
    }
}

int password_apply(const char *tmpl, const char *mailbox, const char *password, int timeout_s,
                   struct err *e)
{
    char storage[2048], pw_entry[64 + PASSWORD_LEN];
    char *argv[PASSWORD_ARGV_MAX];
    char *env[ENV_MAX];
    struct child_output out = {{0}, 0};
    int pipefd[2], status = 0, timed_out;
    time_t deadline;
    pid_t pid;

    if (!password_mailbox_ok(mailbox))
        return err_set(e, "mailbox '%.100s': not a mailbox name the command may get", mailbox);
    if (strlen(password) >= sizeof pw_entry - 14)
        return err_set(e, "password too long");
    if (password_argv(tmpl[0] ? tmpl : PASSWORD_COMMAND_DEFAULT, mailbox, storage, sizeof storage,
                      argv, e) < 0)
        return -1;
    snprintf(pw_entry, sizeof pw_entry, "PSA_PASSWORD=%s", password);
    if (build_env(env, pw_entry, e) < 0) {
        explicit_bzero(pw_entry, sizeof pw_entry);
        return -1;
    }
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        explicit_bzero(pw_entry, sizeof pw_entry);
        return err_sys(e, "password command: pipe");
    }
    pid = fork();
    if (pid == 0)
        child_exec(argv, env, pipefd[1]);
    explicit_bzero(pw_entry, sizeof pw_entry);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        return err_sys(e, "password command: fork");
    }
    setpgid(pid, pid); /* also done in the child; whichever runs first */
    deadline = time(NULL) + (timeout_s > 0 ? timeout_s : 1);
    timed_out = collect_output(pipefd[0], deadline, &out);
    close(pipefd[0]);
    if (!timed_out)
        timed_out = wait_until(pid, deadline, &status);
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    output_summary(&out, password);
    /* Ended before it said how it went: it may have set the password. */
    if (timed_out) {
        err_set(e, "%s for %s: no answer within %d s (killed)", argv[0], mailbox, timeout_s);
        return PASSWORD_UNSURE;
    }
    if (WIFSIGNALED(status)) {
        err_set(e, "%s for %s: killed by signal %d: %.300s", argv[0], mailbox, WTERMSIG(status),
                out.text);
        return PASSWORD_UNSURE;
    }
    if (WEXITSTATUS(status) == 127 && out.len == 0)
        return err_set(e, "%s: cannot be run", argv[0]);
    if (WEXITSTATUS(status) != 0)
        return err_set(e, "%s for %s: exit status %d: %.300s", argv[0], mailbox,
                       WEXITSTATUS(status), out.text);
    return 0;
}
