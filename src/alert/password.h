/*
 * password.h — forced password changes: generating a new mailbox password
 * and running the configured command that sets it.
 *
 * Passwords come from getrandom(): PASSWORD_LEN characters drawn uniformly
 * from an alphabet without look-alikes (no 0/O, 1/l/I) and without quoting
 * or shell characters, with at least one upper-case letter, one lower-case
 * letter, one digit and one symbol — what Plesk's "strong" password policy
 * accepts.
 *
 * The command is a template from the configuration, split into argv like a
 * shell would split words but without any shell: whitespace separates
 * words, '…' and "…" group (so "" is an empty argument), backslash escapes
 * the next character outside single quotes. The word {mailbox} (a whole
 * word, nothing else) is replaced by the mailbox; it must appear once. The
 * new password is passed only in the environment variable PSA_PASSWORD of
 * the child — never on argv (visible to every user in ps), never logged,
 * never written anywhere. Default (Plesk):
 *   /usr/sbin/plesk bin mail --update {mailbox} -passwd ""
 */
#ifndef MAILLOG_ALERT_PASSWORD_H
#define MAILLOG_ALERT_PASSWORD_H

#include "util/err.h"

#include <stddef.h>

#define PASSWORD_LEN 16
#define PASSWORD_COMMAND_DEFAULT "/usr/sbin/plesk bin mail --update {mailbox} -passwd \"\""
#define PASSWORD_ARGV_MAX 32
#define PASSWORD_TIMEOUT_S 60

/* Writes PASSWORD_LEN characters + NUL into out. -1 only if getrandom fails. */
int password_generate(char out[PASSWORD_LEN + 1], struct err *e);

/* Splits tmpl into argv (NULL-terminated, at most PASSWORD_ARGV_MAX - 1
 * words) with the words stored in storage[size]; {mailbox} becomes mailbox.
 * Returns the word count, or -1 with e set for an empty template, unbalanced
 * quotes, too many or too long words, or {mailbox} missing / not a whole word. */
int password_argv(const char *tmpl, const char *mailbox, char *storage, size_t size,
                  char *argv[PASSWORD_ARGV_MAX], struct err *e);

/* True for a mailbox we are willing to pass to the command: local@domain,
 * printable ASCII without spaces, quotes or shell characters, not starting
 * with '-', at most 254 bytes. */
int password_mailbox_ok(const char *mailbox);

/* Runs the command for mailbox with PSA_PASSWORD=password added to the
 * environment, stdin from /dev/null, output captured (bounded) for the error
 * text. 0 when it exited with status 0 within timeout_s seconds; otherwise
 * e says why (exit status, signal, timeout — the child is killed — and its
 * last output, with any occurrence of the password masked) and the result
 * is -1 when the password was not set (it exited with an error, or never
 * ran), PASSWORD_UNSURE when it may have been (killed before it exited). */
#define PASSWORD_UNSURE (-2)
int password_apply(const char *tmpl, const char *mailbox, const char *password, int timeout_s,
                   struct err *e);

#endif
